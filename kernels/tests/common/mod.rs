//! Test helpers shared by the kernel tests: a seeded random source, dual
//! numbers, independent binary16 and binary32, every built-in surrogate as
//! one type chosen at run time, and one problem generator and runner for
//! every model.
#![allow(dead_code)]

pub mod dual;
/// The arithmetic shared by the soft floats: a newtype over the exact `f64`
/// value, `+ - * /` computed in `f64` and rounded once by `$round`, exact
/// negation, and the `Real` methods that do not depend on the format
/// (`$rest` holds the format-specific ones).
macro_rules! soft_float {
    ($name:ident, $round:ident, { $($rest:tt)* }) => {
        macro_rules! soft_op {
            ($trait:ident, $method:ident, $op:tt) => {
                impl core::ops::$trait for $name {
                    type Output = $name;
                    fn $method(self, o: $name) -> $name {
                        $name($round(self.0 $op o.0))
                    }
                }
            };
        }
        soft_op!(Add, add, +);
        soft_op!(Sub, sub, -);
        soft_op!(Mul, mul, *);
        soft_op!(Div, div, /);

        impl core::ops::Neg for $name {
            type Output = $name;
            fn neg(self) -> $name {
                $name(-self.0)
            }
        }

        impl snn_kernels::real::Real for $name {
            type Mask = bool;
            $($rest)*

            fn constant(c: f64) -> Self {
                $name($round(c))
            }
            fn lt(self, o: Self) -> bool {
                self.0 < o.0
            }
            fn le(self, o: Self) -> bool {
                self.0 <= o.0
            }
            fn gt(self, o: Self) -> bool {
                self.0 > o.0
            }
            fn ge(self, o: Self) -> bool {
                self.0 >= o.0
            }
            fn eq(self, o: Self) -> bool {
                self.0 == o.0
            }
            fn select(mask: bool, a: Self, b: Self) -> Self {
                if mask {
                    a
                } else {
                    b
                }
            }
            type Lane = Self;
            fn to_lane(self) -> Self {
                self
            }
            fn from_lane(lane: Self) -> Self {
                lane
            }
        }
    };
}

pub mod any_surrogate;
pub mod soft_f16;
pub mod soft_f32;
pub mod ulp;

use snn_kernels::layer::{InputGrads, Layer, OutputGrads, Param, Saved};
use snn_kernels::model::Model;
use snn_kernels::surrogate::Surrogate;
use snn_kernels::Real;

/// xorshift64*: a small seeded source of test data.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn vec(&mut self, len: usize, lo: f64, hi: f64) -> Vec<f64> {
        (0..len).map(|_| self.range(lo, hi)).collect()
    }
}

/// The range test parameters are drawn from: inside the region where every
/// model is valid, away from clamping boundaries.
pub fn param_range(model: &str, param: &str) -> (f64, f64) {
    match (model, param) {
        ("alpha", "alpha") => (0.75, 0.95),
        ("alpha", "beta") => (0.2, 0.6),
        (_, "alpha") => (0.3, 0.95),
        (_, "beta") => (0.4, 0.95),
        (_, "threshold") => (0.6, 1.4),
        (_, "graded") => (0.5, 2.0),
        (_, "v") => (-0.6, 0.6),
        (_, "r") | (_, "c") => (0.6, 1.8),
        (_, "time_step") => (0.5, 1.5),
        _ => panic!("no test range for {model}.{param}"),
    }
}

/// Sizes and data of one layer run, in f64.
#[derive(Clone, Debug)]
pub struct Problem {
    pub steps: usize,
    pub batch: usize,
    pub neurons: usize,
    /// One `[T][B][M]` vector per input stream.
    pub inputs: Vec<Vec<f64>>,
    /// One `[B][M]` vector per state.
    pub initial: Vec<Vec<f64>>,
    /// One vector per parameter: 1 value (scalar) or `neurons` values.
    pub params: Vec<Vec<f64>>,
}

impl Problem {
    /// Random data for `M`; `per_neuron` selects per-neuron parameters.
    pub fn random<M: Model>(
        steps: usize,
        batch: usize,
        neurons: usize,
        per_neuron: bool,
        rng: &mut Rng,
    ) -> Problem {
        let len = steps * batch * neurons;
        let inputs = M::INPUTS.iter().map(|_| rng.vec(len, -0.4, 1.2)).collect();
        let initial = M::STATES
            .iter()
            .map(|name| {
                if *name == "spk" {
                    (0..batch * neurons)
                        .map(|_| (rng.below(2)) as f64)
                        .collect()
                } else {
                    rng.vec(batch * neurons, -0.5, 1.5)
                }
            })
            .collect();
        let params = M::PARAMS
            .iter()
            .map(|name| {
                let (lo, hi) = param_range(M::NAME, name);
                if per_neuron && *name != "time_step" {
                    rng.vec(neurons, lo, hi)
                } else {
                    vec![rng.range(lo, hi)]
                }
            })
            .collect();
        Problem {
            steps,
            batch,
            neurons,
            inputs,
            initial,
            params,
        }
    }

    pub fn len(&self) -> usize {
        self.steps * self.batch * self.neurons
    }

    pub fn elements(&self) -> usize {
        self.batch * self.neurons
    }

    /// The data converted to `T`.
    pub fn convert<T: Copy>(&self, f: impl Fn(f64) -> T) -> Converted<T> {
        let map = |v: &Vec<Vec<f64>>| {
            v.iter()
                .map(|s| s.iter().map(|&x| f(x)).collect())
                .collect()
        };
        Converted {
            inputs: map(&self.inputs),
            initial: map(&self.initial),
            params: map(&self.params),
        }
    }
}

/// A [`Problem`]'s data in another scalar type.
#[derive(Clone, Debug)]
pub struct Converted<T> {
    pub inputs: Vec<Vec<T>>,
    pub initial: Vec<Vec<T>>,
    pub params: Vec<Vec<T>>,
}

impl<T: Copy> Converted<T> {
    pub fn param_list(&self) -> Vec<Param<'_, T>> {
        self.params.iter().map(|p| Param::from_values(p)).collect()
    }

    pub fn input_refs(&self) -> Vec<&[T]> {
        self.inputs.iter().map(|v| v.as_slice()).collect()
    }

    pub fn initial_refs(&self) -> Vec<&[T]> {
        self.initial.iter().map(|v| v.as_slice()).collect()
    }
}

/// The names of the stored states (all but the spike state).
pub fn stored_states<M: Model>() -> usize {
    match M::SPIKE_STATE {
        Some(_) => M::STATES.len() - 1,
        None => M::STATES.len(),
    }
}

/// Everything the fused passes produce for one problem.
#[derive(Clone, Debug)]
pub struct Run<T> {
    pub spikes: Vec<T>,
    pub states: Vec<Vec<T>>,
    pub grad_inputs: Vec<Vec<T>>,
    pub grad_initial: Vec<Vec<T>>,
    pub grad_params: Vec<Vec<T>>,
}

/// Bits of a float for comparison, all NaNs equal.
pub trait Bits: Copy {
    /// Hex digits to show, with the `0x`.
    const HEX: usize;
    fn bits(self) -> u64;
    fn value(self) -> f64;

    fn key(self) -> u64 {
        if self.value().is_nan() {
            u64::MAX
        } else {
            self.bits()
        }
    }

    fn show(self) -> String {
        format!("{:e} ({:#0w$x})", self.value(), self.bits(), w = Self::HEX)
    }
}

impl Bits for f32 {
    const HEX: usize = 10;
    fn bits(self) -> u64 {
        self.to_bits().into()
    }
    fn value(self) -> f64 {
        self.into()
    }
}

impl Bits for f64 {
    const HEX: usize = 18;
    fn bits(self) -> u64 {
        self.to_bits()
    }
    fn value(self) -> f64 {
        self
    }
}

impl Bits for snn_kernels::F16 {
    const HEX: usize = 6;
    fn bits(self) -> u64 {
        self.to_bits().into()
    }
    fn value(self) -> f64 {
        self.to_f64()
    }
}

impl Bits for snn_kernels::F16Storage {
    const HEX: usize = 6;
    fn bits(self) -> u64 {
        self.to_bits().into()
    }
    fn value(self) -> f64 {
        self.to_f64()
    }
}

/// Asserts two slices are equal bit for bit (NaNs equal), naming the first
/// difference.
pub fn assert_bits_eq<A: Bits, B: Bits>(what: &str, expected: &[A], actual: &[B]) {
    assert_eq!(expected.len(), actual.len(), "{what}: lengths differ");
    for (i, (e, a)) in expected.iter().zip(actual).enumerate() {
        assert!(
            e.key() == a.key(),
            "{what}[{i}]: expected {}, got {}",
            e.show(),
            a.show()
        );
    }
}

/// Asserts that two runs are equal bit for bit (NaNs equal), naming the
/// first difference.
pub fn assert_runs_eq<A: Bits, B: Bits>(what: &str, expected: &Run<A>, actual: &Run<B>) {
    assert_bits_eq(&format!("{what}: spikes"), &expected.spikes, &actual.spikes);
    let lists = [
        ("state", &expected.states, &actual.states),
        ("input gradient", &expected.grad_inputs, &actual.grad_inputs),
        (
            "initial-state gradient",
            &expected.grad_initial,
            &actual.grad_initial,
        ),
        (
            "parameter gradient",
            &expected.grad_params,
            &actual.grad_params,
        ),
    ];
    for (name, e, a) in lists {
        assert_eq!(e.len(), a.len(), "{what}: {name} counts differ");
        for (k, (x, y)) in e.iter().zip(a.iter()).enumerate() {
            assert_bits_eq(&format!("{what}: {name} {k}"), x, y);
        }
    }
}

/// Calls `$f(model, args...)` for every configuration of every model (`$f`
/// a generic function).
#[macro_export]
macro_rules! for_each_model_config {
    ($f:ident $(, $arg:expr)*) => {{
        use snn_kernels::model::Model;
        use snn_kernels::models::*;
        fn each<M: Model>(f: &mut dyn FnMut(M)) {
            for i in 0..M::CONFIGURATIONS {
                f(M::from_config_index(i));
            }
        }
        each::<Leaky>(&mut |m| $f(m $(, $arg)*));
        each::<Synaptic>(&mut |m| $f(m $(, $arg)*));
        each::<Alpha>(&mut |m| $f(m $(, $arg)*));
        each::<Lapicque>(&mut |m| $f(m $(, $arg)*));
        each::<RLeaky>(&mut |m| $f(m $(, $arg)*));
        each::<RLeakyAllToAll>(&mut |m| $f(m $(, $arg)*));
        each::<RSynaptic>(&mut |m| $f(m $(, $arg)*));
        each::<RSynapticAllToAll>(&mut |m| $f(m $(, $arg)*));
    }};
}

/// The fused forward pass of a layer on a problem's data: the spikes and
/// the stored state trajectories.
pub fn forward<M: Model, S: Surrogate, T: Real<Mask = bool>, const C: usize>(
    layer: &Layer<'_, M, S, T, C>,
    steps: usize,
    data: &Converted<T>,
) -> (Vec<T>, Vec<Vec<T>>) {
    let len = steps * layer.elements();
    let mut spikes = vec![T::zero(); len];
    let mut states = vec![vec![T::zero(); len]; stored_states::<M>()];
    let mut refs: Vec<&mut [T]> = states.iter_mut().map(|v| v.as_mut_slice()).collect();
    layer
        .forward(
            steps,
            &data.input_refs(),
            &data.initial_refs(),
            &mut spikes,
            &mut refs,
        )
        .expect("forward");
    (spikes, states)
}

/// Runs the fused forward and backward passes of `model` on a problem, with
/// the given output gradients, on a layer that processes `C` neurons at a
/// time.
pub fn run<M: Model, S: Surrogate, T: Real<Mask = bool>, const C: usize>(
    model: M,
    surrogate: S,
    seed: u32,
    prob: &Problem,
    data: &Converted<T>,
    grad_spikes: &[T],
    grad_states: &[Vec<T>],
) -> Run<T> {
    let params = data.param_list();
    let layer = Layer::new(model, surrogate, prob.batch, prob.neurons, &params)
        .expect("valid layer")
        .with_chunk::<C>()
        .with_seed(seed);
    let (spikes, states) = forward(&layer, prob.steps, data);
    let (len, zero) = (prob.len(), T::zero());
    let mut grad_inputs = vec![vec![zero; len]; M::INPUTS.len()];
    let mut grad_initial = vec![vec![zero; prob.elements()]; M::STATES.len()];
    let mut grad_params: Vec<Vec<T>> = data.params.iter().map(|p| vec![zero; p.len()]).collect();
    {
        let state_refs: Vec<&[T]> = states.iter().map(|v| v.as_slice()).collect();
        let grad_state_refs: Vec<&[T]> = grad_states.iter().map(|v| v.as_slice()).collect();
        let mut gi: Vec<&mut [T]> = grad_inputs.iter_mut().map(|v| v.as_mut_slice()).collect();
        let mut g0: Vec<&mut [T]> = grad_initial.iter_mut().map(|v| v.as_mut_slice()).collect();
        let mut gp: Vec<&mut [T]> = grad_params.iter_mut().map(|v| v.as_mut_slice()).collect();
        layer
            .backward(
                prob.steps,
                Saved::new(
                    &data.input_refs(),
                    &data.initial_refs(),
                    &spikes,
                    &state_refs,
                ),
                OutputGrads::new(grad_spikes, &grad_state_refs),
                InputGrads::new(&mut gi, &mut g0, &mut gp),
            )
            .expect("backward");
    }
    Run {
        spikes,
        states,
        grad_inputs,
        grad_initial,
        grad_params,
    }
}
