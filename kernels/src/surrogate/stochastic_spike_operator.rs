use super::{not_spiked, Surrogate, SurrogateConstants, MAX_SURROGATE_CONSTANTS};
use crate::real::Real;

/// The stochastic spike operator (`SSO`): `S'(z) = 1` where the neuron
/// spiked, else `(u - 0.5 + mean) · variance` with `u` uniform in `[0, 1)`;
/// evaluated as `g · H(z) + (g · (1 - H(z))) · (((u - 0.5) + mean) · variance)`.
///
/// `u` comes from the counter-based stream of [`crate::rng`], keyed by the
/// layer's seed, the time step and the element, so every backend draws the
/// same numbers (snnTorch uses `torch.rand_like`, which no other backend can
/// reproduce).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StochasticSpikeOperator {
    /// Offset of the noise (snnTorch default 0).
    pub mean: f64,
    /// Scale of the noise (snnTorch default 0.2).
    pub variance: f64,
}

impl Default for StochasticSpikeOperator {
    fn default() -> Self {
        StochasticSpikeOperator {
            mean: 0.0,
            variance: 0.2,
        }
    }
}

impl Surrogate for StochasticSpikeOperator {
    const NAME: &'static str = "stochastic_spike_operator";
    const CONSTANTS: &'static [&'static str] = &["mean", "variance"];
    const STOCHASTIC: bool = true;

    fn constants(&self) -> [f64; MAX_SURROGATE_CONSTANTS] {
        [self.mean, self.variance, 0.0, 0.0]
    }

    #[cfg_attr(not(debug_assertions), inline(always))]
    fn grad<T: Real>(z: T, grad: T, c: &SurrogateConstants<T>, noise: T) -> T {
        let perturbation = ((noise - T::constant(0.5)) + c[0]) * c[1];
        grad * z.heaviside() + (grad * not_spiked(z)) * perturbation
    }
}
