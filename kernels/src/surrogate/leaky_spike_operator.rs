use super::{not_spiked, Surrogate, SurrogateConstants, MAX_SURROGATE_CONSTANTS};
use crate::real::Real;

/// The leaky spike operator (`LSO`): `S'(z) = 1` where the neuron spiked,
/// else `slope`; evaluated as `g · H(z) + ((1 - H(z)) · slope) · g`.
///
/// snnTorch 1.0's `LSO()` factory wrongly builds the stochastic operator;
/// this is the documented form (see `docs/semantics.md`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LeakySpikeOperator {
    /// Gradient factor where the neuron did not spike (snnTorch default 0.1).
    pub slope: f64,
}

impl Default for LeakySpikeOperator {
    fn default() -> Self {
        LeakySpikeOperator { slope: 0.1 }
    }
}

impl Surrogate for LeakySpikeOperator {
    const NAME: &'static str = "leaky_spike_operator";
    const CONSTANTS: &'static [&'static str] = &["slope"];

    fn constants(&self) -> [f64; MAX_SURROGATE_CONSTANTS] {
        [self.slope, 0.0, 0.0, 0.0]
    }

    #[cfg_attr(not(debug_assertions), inline(always))]
    fn grad<T: Real>(z: T, grad: T, c: &SurrogateConstants<T>, _noise: T) -> T {
        grad * z.heaviside() + (not_spiked(z) * c[0]) * grad
    }
}
