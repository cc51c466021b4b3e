use super::{Surrogate, SurrogateConstants, MAX_SURROGATE_CONSTANTS};
use crate::real::Real;

/// snnTorch's `fast_sigmoid`: `S'(z) = 1 / (slope · abs(z) + 1)²`,
/// evaluated as `g / (d · d)` with `d = slope · abs(z) + 1`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FastSigmoid {
    /// Sharpness (snnTorch default 25).
    pub slope: f64,
}

impl Default for FastSigmoid {
    fn default() -> Self {
        FastSigmoid { slope: 25.0 }
    }
}

impl Surrogate for FastSigmoid {
    const NAME: &'static str = "fast_sigmoid";
    const CONSTANTS: &'static [&'static str] = &["slope"];

    fn constants(&self) -> [f64; MAX_SURROGATE_CONSTANTS] {
        [self.slope, 0.0, 0.0, 0.0]
    }

    #[cfg_attr(not(debug_assertions), inline(always))]
    fn grad<T: Real>(z: T, grad: T, c: &SurrogateConstants<T>, _noise: T) -> T {
        let d = c[0] * z.abs() + T::one();
        grad / (d * d)
    }
}
