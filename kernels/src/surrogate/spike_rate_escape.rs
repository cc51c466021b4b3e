use super::{Surrogate, SurrogateConstants, MAX_SURROGATE_CONSTANTS};
use crate::real::Real;

/// snnTorch's `spike_rate_escape`: `S'(z) = slope · exp(-beta · abs(z - 1))`,
/// evaluated as `(g · slope) · exp((-beta) · abs(z - 1))`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SpikeRateEscape {
    /// Decay of the escape rate (snnTorch default 1).
    pub beta: f64,
    /// Scale (snnTorch default 25).
    pub slope: f64,
}

impl Default for SpikeRateEscape {
    fn default() -> Self {
        SpikeRateEscape {
            beta: 1.0,
            slope: 25.0,
        }
    }
}

impl Surrogate for SpikeRateEscape {
    const NAME: &'static str = "spike_rate_escape";
    const CONSTANTS: &'static [&'static str] = &["beta", "slope"];

    fn constants(&self) -> [f64; MAX_SURROGATE_CONSTANTS] {
        [self.beta, self.slope, 0.0, 0.0]
    }

    #[cfg_attr(not(debug_assertions), inline(always))]
    fn grad<T: Real>(z: T, grad: T, c: &SurrogateConstants<T>, _noise: T) -> T {
        (grad * c[1]) * (-c[0] * (z - T::one()).abs()).exp()
    }
}
