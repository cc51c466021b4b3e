//! The kernels crate as a checker backend: a case is dispatched to the
//! native generic kernels instantiated for its model, surrogate and
//! precision.

use snn_kernels::layer::{InputGrads, Layer, OutputGrads, Param, Saved};
use snn_kernels::model::{Model, Reset as KReset};
use snn_kernels::models as k;
use snn_kernels::surrogate as ks;
use snn_kernels::{Real, F16};

use super::Backend;
use crate::models::{Given, ModelSpec, Reset};
use crate::precision::Precision;
use crate::run::{Case, Outcome};
use crate::surrogates::Surrogate;

/// The native kernels (`snn-kernels`), run through their fused layer API.
#[derive(Clone, Copy, Debug, Default)]
pub struct KernelsBackend;

impl Backend for KernelsBackend {
    fn name(&self) -> &str {
        "kernels"
    }

    fn run(&self, case: &Case) -> Result<Outcome, String> {
        with_kernel_types(case, RunFused(case))
    }
}

fn reset(r: Reset) -> KReset {
    match r {
        Reset::Subtract => KReset::Subtract,
        Reset::Zero => KReset::Zero,
        Reset::None => KReset::None,
    }
}

/// Something to do with a case's model and surrogate as kernel types.
pub trait KernelVisitor {
    /// What it gives.
    type Output;
    /// Called with the case's model and surrogate as kernel values.
    fn visit<M: Model, S: ks::Surrogate>(self, model: M, surrogate: S) -> Self::Output;
}

/// Calls `visitor` with the kernels' model and surrogate for `case`.
pub fn with_kernel_types<V: KernelVisitor>(case: &Case, visitor: V) -> V::Output {
    match case.model {
        ModelSpec::Leaky {
            reset: r,
            reset_delay,
        } => with_surrogate(visitor, k::Leaky::new(reset(r), reset_delay), case),
        ModelSpec::Synaptic {
            reset: r,
            reset_delay,
        } => with_surrogate(visitor, k::Synaptic::new(reset(r), reset_delay), case),
        ModelSpec::Alpha { reset: r } => {
            with_surrogate(visitor, k::Alpha { reset: reset(r) }, case)
        }
        ModelSpec::Lapicque { reset: r, given } => {
            let given = match given {
                Given::Rc => k::LapicqueGiven::RC,
                Given::Beta => k::LapicqueGiven::Beta,
                Given::BetaR => k::LapicqueGiven::BetaR,
                Given::BetaC => k::LapicqueGiven::BetaC,
            };
            with_surrogate(
                visitor,
                k::Lapicque {
                    reset: reset(r),
                    given,
                },
                case,
            )
        }
        ModelSpec::RLeaky {
            reset: r,
            reset_delay,
            all_to_all: false,
        } => with_surrogate(visitor, k::RLeaky::new(reset(r), reset_delay), case),
        ModelSpec::RLeaky {
            reset: r,
            reset_delay,
            all_to_all: true,
        } => with_surrogate(visitor, k::RLeakyAllToAll::new(reset(r), reset_delay), case),
        ModelSpec::RSynaptic {
            reset: r,
            reset_delay,
            all_to_all: false,
        } => with_surrogate(visitor, k::RSynaptic::new(reset(r), reset_delay), case),
        ModelSpec::RSynaptic {
            reset: r,
            reset_delay,
            all_to_all: true,
        } => with_surrogate(
            visitor,
            k::RSynapticAllToAll::new(reset(r), reset_delay),
            case,
        ),
    }
}

fn with_surrogate<V: KernelVisitor, M: Model>(visitor: V, model: M, case: &Case) -> V::Output {
    match case.surrogate {
        Surrogate::Atan { alpha } => visitor.visit(model, ks::Atan { alpha }),
        Surrogate::FastSigmoid { slope } => visitor.visit(model, ks::FastSigmoid { slope }),
        Surrogate::Sigmoid { slope } => visitor.visit(model, ks::Sigmoid { slope }),
        Surrogate::Triangular { threshold } => visitor.visit(model, ks::Triangular { threshold }),
        Surrogate::StraightThrough => visitor.visit(model, ks::StraightThrough),
        Surrogate::Heaviside => visitor.visit(model, ks::Heaviside),
        Surrogate::SpikeRateEscape { beta, slope } => {
            visitor.visit(model, ks::SpikeRateEscape { beta, slope })
        }
        Surrogate::SparseFastSigmoid { slope, b } => {
            visitor.visit(model, ks::SparseFastSigmoid { slope, b })
        }
        Surrogate::LeakySpikeOperator { slope } => {
            visitor.visit(model, ks::LeakySpikeOperator { slope })
        }
        Surrogate::StochasticSpikeOperator { mean, variance } => {
            visitor.visit(model, ks::StochasticSpikeOperator { mean, variance })
        }
    }
}

/// Runs the fused layer in the case's precision.
struct RunFused<'a>(&'a Case);

impl KernelVisitor for RunFused<'_> {
    type Output = Result<Outcome, String>;
    fn visit<M: Model, S: ks::Surrogate>(self, model: M, surrogate: S) -> Self::Output {
        let case = self.0;
        // the kernels compiled once per model and precision, not once per
        // surrogate too: the surrogate is chosen at run time (same bits)
        let surrogate = ks::AnySurrogate::of(&surrogate).ok_or("not a built-in surrogate")?;
        match case.precision {
            Precision::F16 => run_kernels::<M, _, F16>(model, surrogate, case),
            Precision::F32 => run_kernels::<M, _, f32>(model, surrogate, case),
            Precision::F64 => run_kernels::<M, _, f64>(model, surrogate, case),
        }
    }
}

/// A case's parameters as the layer takes them: one value is a scalar,
/// more are per neuron.
pub(super) fn layer_params<T: Copy>(params: &[Vec<T>]) -> Vec<Param<'_, T>> {
    params.iter().map(|p| Param::from_values(p)).collect()
}

/// Runs the fused forward and backward passes of the kernels on a case.
pub fn run_kernels<M: Model, S: ks::Surrogate, T: Real<Mask = bool> + Into<f64>>(
    model: M,
    surrogate: S,
    case: &Case,
) -> Result<Outcome, String> {
    let convert = |v: &Vec<f64>| -> Vec<T> { v.iter().map(|&x| T::constant(x)).collect() };
    let back = |v: &[T]| -> Vec<f64> { v.iter().map(|&x| x.into()).collect() };
    let params_t: Vec<Vec<T>> = case.params.iter().map(convert).collect();
    let layer = Layer::new(
        model,
        surrogate,
        case.batch,
        case.neurons,
        &layer_params(&params_t),
    )
    .map_err(|e| e.to_string())?
    .with_chunk::<4>()
    .with_seed(case.seed);
    let inputs: Vec<Vec<T>> = case.inputs.iter().map(convert).collect();
    let initial: Vec<Vec<T>> = case.initial.iter().map(convert).collect();
    let input_refs: Vec<&[T]> = inputs.iter().map(|v| v.as_slice()).collect();
    let initial_refs: Vec<&[T]> = initial.iter().map(|v| v.as_slice()).collect();
    let len = case.steps * case.elements();
    let stored = case.stored_states();
    let mut spikes = vec![T::zero(); len];
    let mut states = vec![vec![T::zero(); len]; stored];
    {
        let mut refs: Vec<&mut [T]> = states.iter_mut().map(|v| v.as_mut_slice()).collect();
        layer
            .forward(
                case.steps,
                &input_refs,
                &initial_refs,
                &mut spikes,
                &mut refs,
            )
            .map_err(|e| e.to_string())?;
    }
    let grad_spikes = convert(&case.grad_spikes);
    let grad_states: Vec<Vec<T>> = case.grad_states.iter().map(convert).collect();
    let grad_state_refs: Vec<&[T]> = grad_states.iter().map(|v| v.as_slice()).collect();
    let mut grad_inputs = vec![vec![T::zero(); len]; inputs.len()];
    let mut grad_initial = vec![vec![T::zero(); case.elements()]; initial.len()];
    let mut grad_params: Vec<Vec<T>> = case
        .params
        .iter()
        .map(|p| vec![T::zero(); p.len()])
        .collect();
    {
        let state_refs: Vec<&[T]> = states.iter().map(|v| v.as_slice()).collect();
        let mut gi: Vec<&mut [T]> = grad_inputs.iter_mut().map(|v| v.as_mut_slice()).collect();
        let mut g0: Vec<&mut [T]> = grad_initial.iter_mut().map(|v| v.as_mut_slice()).collect();
        let mut gp: Vec<&mut [T]> = grad_params.iter_mut().map(|v| v.as_mut_slice()).collect();
        layer
            .backward(
                case.steps,
                Saved {
                    inputs: &input_refs,
                    initial: &initial_refs,
                    spikes: &spikes,
                    states: &state_refs,
                },
                OutputGrads {
                    spikes: &grad_spikes,
                    states: &grad_state_refs,
                },
                InputGrads {
                    inputs: &mut gi,
                    initial: &mut g0,
                    params: &mut gp,
                },
            )
            .map_err(|e| e.to_string())?;
    }
    Ok(Outcome {
        spikes: back(&spikes),
        states: states.iter().map(|v| back(v)).collect(),
        grad_inputs: grad_inputs.iter().map(|v| back(v)).collect(),
        grad_initial: grad_initial.iter().map(|v| back(v)).collect(),
        grad_params: grad_params.iter().map(|v| back(v)).collect(),
    })
}
