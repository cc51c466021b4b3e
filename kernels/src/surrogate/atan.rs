use super::{Surrogate, SurrogateConstants, MAX_SURROGATE_CONSTANTS};
use crate::real::Real;

/// snnTorch's `atan` surrogate, the default:
/// `S'(z) = alpha/2 / (1 + (pi/2 · alpha · z)²)`.
///
/// Evaluated as `(1/(1 + (c1 z)(c1 z)) · c0) · g` with `c0 = alpha/2` and
/// `c1 = pi/2 · alpha` computed in `f64`, as snnTorch does.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Atan {
    /// Width parameter (snnTorch default 2.0).
    pub alpha: f64,
}

impl Default for Atan {
    fn default() -> Self {
        Atan { alpha: 2.0 }
    }
}

impl Surrogate for Atan {
    const NAME: &'static str = "atan";
    const CONSTANTS: &'static [&'static str] = &["half_alpha", "half_pi_alpha"];

    fn constants(&self) -> [f64; MAX_SURROGATE_CONSTANTS] {
        [
            self.alpha / 2.0,
            core::f64::consts::PI / 2.0 * self.alpha,
            0.0,
            0.0,
        ]
    }

    #[cfg_attr(not(debug_assertions), inline(always))]
    fn grad<T: Real>(z: T, grad: T, c: &SurrogateConstants<T>, _noise: T) -> T {
        let scaled = c[1] * z;
        (T::one() / (scaled * scaled + T::one())) * c[0] * grad
    }
}
