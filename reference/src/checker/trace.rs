//! Finding the first operation where the kernels and the reference part.
//!
//! Both compute one time step of one element from the same state: the
//! reference on its tape, the kernels through their generic step function
//! instantiated with [`Traced`], a scalar that rounds like the case's
//! precision and records every arithmetic operation. The two sequences of
//! `+ - * /` and negations are walked together; the first pair of values
//! that differ names the operation.

use std::cell::RefCell;
use std::marker::PhantomData;
use std::ops::{Add, Div, Mul, Neg, Sub};

use snn_kernels::model::{zeros, Inputs, Model, Params, States, StepIn, MAX_STATES};
use snn_kernels::real::{Format, Real};
use snn_kernels::surrogate::{constants_in, SpikeFn, Surrogate as KernelSurrogate};

use super::kernels::{with_kernel_types, KernelVisitor};
use crate::precision::Precision;
use crate::run::{run, Case};
use crate::surrogates::noise;
use crate::tape::Tape;

thread_local! {
    static RECORD: RefCell<Vec<(&'static str, f64)>> = const { RefCell::new(Vec::new()) };
}

/// Takes the recorded operations (debugging aid).
pub fn take_record() -> Vec<(&'static str, f64)> {
    RECORD.with(|r| std::mem::take(&mut *r.borrow_mut()))
}

fn record(op: &'static str, value: f64) {
    RECORD.with(|r| r.borrow_mut().push((op, value)));
}

/// The binary format a [`Traced`] value rounds to.
pub trait TraceFormat: Copy + std::fmt::Debug + 'static {
    /// The precision.
    const PRECISION: Precision;
    /// The format's layout.
    const FORMAT: Format;
    /// Its bits.
    type Bits: snn_kernels::real::Word;
    /// The format elementary functions are computed in.
    type Wide: TraceFormat<Wide = Self::Wide>;
    /// Bits of a value.
    fn to_bits(v: f64) -> Self::Bits;
    /// Value of bits.
    fn from_bits(b: Self::Bits) -> f64;
}

macro_rules! trace_format {
    ($name:ident, $precision:expr, $format:expr, $bits:ty, $wide:ty) => {
        /// A [`TraceFormat`].
        #[derive(Clone, Copy, Debug)]
        pub struct $name;
        impl TraceFormat for $name {
            const PRECISION: Precision = $precision;
            const FORMAT: Format = $format;
            type Bits = $bits;
            type Wide = $wide;
            fn to_bits(v: f64) -> $bits {
                $precision.bits(v) as $bits
            }
            fn from_bits(b: $bits) -> f64 {
                $precision.from_bits(b as u64)
            }
        }
    };
}
trace_format!(Binary16, Precision::F16, Format::BINARY16, u16, Binary32);
trace_format!(Binary32, Precision::F32, Format::BINARY32, u32, Binary32);
trace_format!(Binary64, Precision::F64, Format::BINARY64, u64, Binary64);

/// A value that rounds like format `F` and records its arithmetic.
#[derive(Clone, Copy, Debug)]
pub struct Traced<F> {
    /// The value.
    pub value: f64,
    format: PhantomData<F>,
}

impl<F: TraceFormat> Traced<F> {
    /// A value of the format (rounded).
    pub fn new(value: f64) -> Self {
        Traced {
            value: F::PRECISION.round(value),
            format: PhantomData,
        }
    }
    fn op(name: &'static str, value: f64) -> Self {
        let t = Self::new(value);
        record(name, t.value);
        t
    }
}

macro_rules! traced_op {
    ($trait:ident, $method:ident, $op:tt, $name:expr) => {
        impl<F: TraceFormat> $trait for Traced<F> {
            type Output = Self;
            fn $method(self, o: Self) -> Self {
                Self::op($name, self.value $op o.value)
            }
        }
    };
}
traced_op!(Add, add, +, "add");
traced_op!(Sub, sub, -, "sub");
traced_op!(Mul, mul, *, "mul");
traced_op!(Div, div, /, "div");

impl<F: TraceFormat> Neg for Traced<F> {
    type Output = Self;
    fn neg(self) -> Self {
        Self::op("neg", -self.value)
    }
}

impl<F: TraceFormat> Real for Traced<F> {
    type Mask = bool;
    type Bits = F::Bits;
    type Wide = Traced<F::Wide>;
    type Lane = Self;
    const FORMAT: Format = F::FORMAT;

    fn constant(c: f64) -> Self {
        Self::new(c)
    }
    fn lt(self, o: Self) -> bool {
        self.value < o.value
    }
    fn le(self, o: Self) -> bool {
        self.value <= o.value
    }
    fn gt(self, o: Self) -> bool {
        self.value > o.value
    }
    fn ge(self, o: Self) -> bool {
        self.value >= o.value
    }
    fn eq(self, o: Self) -> bool {
        self.value == o.value
    }
    fn select(mask: bool, a: Self, b: Self) -> Self {
        if mask {
            a
        } else {
            b
        }
    }
    fn to_bits(self) -> F::Bits {
        F::to_bits(self.value)
    }
    fn from_bits(bits: F::Bits) -> Self {
        Self::new(F::from_bits(bits))
    }
    fn widen(self) -> Traced<F::Wide> {
        Traced::new(self.value)
    }
    fn narrow(wide: Traced<F::Wide>) -> Self {
        Self::new(wide.value)
    }
    fn to_lane(self) -> Self {
        self
    }
    fn from_lane(lane: Self) -> Self {
        lane
    }
}

/// Traces the kernels' prepare and one step: the prepared constants' values
/// and the step's operations.
struct TraceStep<'a> {
    case: &'a Case,
    raw: Vec<f64>,
    prev: Vec<f64>,
    inputs: Vec<f64>,
    noise: f64,
}

impl KernelVisitor for TraceStep<'_> {
    type Output = (Vec<f64>, Vec<(&'static str, f64)>);
    fn visit<M: Model, S: KernelSurrogate>(self, model: M, surrogate: S) -> Self::Output {
        match self.case.precision {
            Precision::F16 => self.trace::<M, S, Binary16>(model, surrogate),
            Precision::F32 => self.trace::<M, S, Binary32>(model, surrogate),
            Precision::F64 => self.trace::<M, S, Binary64>(model, surrogate),
            // a step of f16-storage computes in binary32 from binary16 values
            Precision::F16Storage => self.trace::<M, S, Binary32>(model, surrogate),
        }
    }
}

impl TraceStep<'_> {
    fn trace<M: Model, S: KernelSurrogate, F: TraceFormat>(
        &self,
        model: M,
        surrogate: S,
    ) -> (Vec<f64>, Vec<(&'static str, f64)>) {
        let mut raw: Params<Traced<F>> = zeros();
        for (slot, &v) in raw.iter_mut().zip(&self.raw) {
            *slot = Traced::new(v);
        }
        let p = model.prepare(&raw);
        let prepared = p[..M::PREPARED.len()].iter().map(|c| c.value).collect();
        RECORD.with(|r| r.borrow_mut().clear());
        let mut prev: States<Traced<F>> = zeros();
        for (slot, &v) in prev.iter_mut().zip(&self.prev).take(MAX_STATES) {
            *slot = Traced::new(v);
        }
        let mut inputs: Inputs<Traced<F>> = zeros();
        for (slot, &v) in inputs.iter_mut().zip(&self.inputs) {
            *slot = Traced::new(v);
        }
        let spike = SpikeFn {
            constants: constants_in(&surrogate),
            noise: Traced::new(self.noise),
        };
        let _ = model.step::<Traced<F>, S>(&StepIn::new(&p, &prev, &inputs, &spike));
        let step = RECORD.with(|r| std::mem::take(&mut *r.borrow_mut()));
        (prepared, step)
    }
}

/// Names the first arithmetic operation of step `t` of `element` where the
/// kernels and the reference part, computing from the reference's state
/// before the step. `None` when the two agree on that step.
pub fn first_parting_operation(case: &Case, t: usize, element: usize) -> Option<String> {
    let n = case.elements();
    let m = element % case.neurons;
    let reference = run(case);
    let states = case.model.states();
    let prev: Vec<f64> = (0..states.len())
        .map(|k| {
            if t == 0 {
                case.initial[k][element]
            } else if case.model.has_spike_state() && k == states.len() - 1 {
                reference.spikes[(t - 1) * n + element]
            } else {
                reference.states[k][(t - 1) * n + element]
            }
        })
        .collect();
    let raw: Vec<f64> = case
        .params
        .iter()
        .map(|p| if p.len() == 1 { p[0] } else { p[m] })
        .collect();
    let inputs: Vec<f64> = case.inputs.iter().map(|s| s[t * n + element]).collect();
    let u = if case.surrogate.is_stochastic() {
        noise(
            case.precision.arithmetic(),
            case.seed,
            t as u32,
            element as u32,
        )
    } else {
        0.0
    };

    // the reference: prepare and one step on a fresh tape
    let mut tape = Tape::new(case.precision);
    let raw_vars: Vec<_> = raw.iter().map(|&v| tape.leaf(v)).collect();
    let prepared = case.model.prepare(&mut tape, &raw_vars);
    let prepared_values: Vec<f64> = prepared.iter().map(|&v| tape.value(v)).collect();
    let step_start = tape.trace().len();
    let prev_vars: Vec<_> = prev.iter().map(|&v| tape.leaf(v)).collect();
    let input_vars: Vec<_> = inputs.iter().map(|&v| tape.leaf(v)).collect();
    let _ = case.model.step(
        &mut tape,
        case.surrogate,
        u,
        &prepared,
        &prev_vars,
        &input_vars,
    );
    let arithmetic = |name: &str| matches!(name, "add" | "sub" | "mul" | "div" | "neg");
    let expected: Vec<(&str, f64)> = tape.trace()[step_start..]
        .iter()
        .copied()
        .filter(|(name, _)| arithmetic(name))
        .collect();
    let (kernel_prepared, kernel_step) = with_kernel_types(
        case,
        TraceStep {
            case,
            raw,
            prev,
            inputs,
            noise: u,
        },
    );
    let actual: Vec<(&str, f64)> = kernel_step
        .into_iter()
        .filter(|(name, _)| arithmetic(name))
        .collect();

    // the constants the step uses come first
    for (k, (e, a)) in prepared_values.iter().zip(&kernel_prepared).enumerate() {
        if !super::same_bits(*e, *a) {
            let p = case.precision;
            return Some(format!(
                "the prepared constants part: constant #{k} of neuron {m}, reference {} ({e:e}), kernels {} ({a:e})",
                p.hex(*e),
                p.hex(*a)
            ));
        }
    }

    let p = case.precision;
    for (i, ((en, ev), (an, av))) in expected.iter().zip(&actual).enumerate() {
        if en != an || !super::same_bits(*ev, *av) {
            return Some(format!(
                "first operation where they part (step {t}): #{i} of the step's arithmetic, reference {en} = {} ({ev:e}), kernels {an} = {} ({av:e})",
                p.hex(*ev),
                p.hex(*av)
            ));
        }
    }
    if expected.len() != actual.len() {
        return Some(format!(
            "the step's operations agree as far as they go, but the reference does {} and the kernels {}",
            expected.len(),
            actual.len()
        ));
    }
    None
}
