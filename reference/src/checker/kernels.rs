//! The kernels crate as a checker backend: a case is dispatched to the
//! native generic kernels instantiated for its model, surrogate and
//! precision.

use snn_kernels::layer::Layer;
use snn_kernels::model::{Model, Reset as KReset};
use snn_kernels::models as k;
use snn_kernels::surrogate as ks;
use snn_kernels::{F16Storage, Real, F16};

use super::passes::{as_params, param_values, run_case};
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
            Precision::F16Storage => run_kernels::<M, _, F16Storage>(model, surrogate, case),
        }
    }
}

/// Runs the fused forward and backward passes of the kernels on a case.
pub fn run_kernels<M: Model, S: ks::Surrogate, T: Real<Mask = bool> + Into<f64>>(
    model: M,
    surrogate: S,
    case: &Case,
) -> Result<Outcome, String> {
    let params = param_values::<T>(case);
    let layer = Layer::new(
        model,
        surrogate,
        case.batch,
        case.neurons,
        &as_params(&params),
    )
    .map_err(|e| e.to_string())?
    .with_chunk::<4>()
    .with_seed(case.seed);
    let err = |e: snn_kernels::Error| e.to_string();
    run_case(
        case,
        Box::new(|t, x, s0, spk, s| layer.forward(t, x, s0, spk, s).map_err(err)),
        Box::new(|t, saved, grads, out| layer.backward(t, saved, grads, out).map_err(err)),
    )
}
