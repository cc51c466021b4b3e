use super::{Surrogate, SurrogateConstants, MAX_SURROGATE_CONSTANTS};
use crate::real::Real;

/// snnTorch's `SFS` (sparse fast sigmoid):
/// `S'(z) = 1 / (slope · abs(z) + 1)²` where `z > B`, else 0; evaluated as
/// `(g / (d · d)) · [z > B]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SparseFastSigmoid {
    /// Sharpness (snnTorch default 25).
    pub slope: f64,
    /// Lower bound below which no gradient flows (snnTorch default 1).
    pub b: f64,
}

impl Default for SparseFastSigmoid {
    fn default() -> Self {
        SparseFastSigmoid {
            slope: 25.0,
            b: 1.0,
        }
    }
}

impl Surrogate for SparseFastSigmoid {
    const NAME: &'static str = "sparse_fast_sigmoid";
    const CONSTANTS: &'static [&'static str] = &["slope", "b"];

    fn constants(&self) -> [f64; MAX_SURROGATE_CONSTANTS] {
        [self.slope, self.b, 0.0, 0.0]
    }

    #[cfg_attr(not(debug_assertions), inline(always))]
    fn grad<T: Real>(z: T, grad: T, c: &SurrogateConstants<T>, _noise: T) -> T {
        let d = c[0] * z.abs() + T::one();
        let above = T::select(z.gt(c[1]), T::one(), T::zero());
        (grad / (d * d)) * above
    }
}
