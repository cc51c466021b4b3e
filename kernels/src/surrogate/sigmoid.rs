use super::{Surrogate, SurrogateConstants, MAX_SURROGATE_CONSTANTS};
use crate::real::Real;

/// snnTorch's `sigmoid`: `S'(z) = slope · e / (e + 1)²` with
/// `e = exp(-slope · z)`, evaluated as `((g · slope) · e) / ((e + 1)(e + 1))`.
///
/// In binary16, `e` overflows for `z < -0.45` (slope 25) and saturates to
/// 65504, so the gradient there is `g · slope` rather than about zero: prefer
/// another surrogate for fp16 training.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sigmoid {
    /// Sharpness (snnTorch default 25).
    pub slope: f64,
}

impl Default for Sigmoid {
    fn default() -> Self {
        Sigmoid { slope: 25.0 }
    }
}

impl Surrogate for Sigmoid {
    const NAME: &'static str = "sigmoid";
    const CONSTANTS: &'static [&'static str] = &["slope"];

    fn constants(&self) -> [f64; MAX_SURROGATE_CONSTANTS] {
        [self.slope, 0.0, 0.0, 0.0]
    }

    #[cfg_attr(not(debug_assertions), inline(always))]
    fn grad<T: Real>(z: T, grad: T, c: &SurrogateConstants<T>, _noise: T) -> T {
        let e = (-c[0] * z).exp();
        let d = e + T::one();
        ((grad * c[0]) * e) / (d * d)
    }
}
