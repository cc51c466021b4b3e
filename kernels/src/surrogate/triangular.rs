use super::{Surrogate, SurrogateConstants, MAX_SURROGATE_CONSTANTS};
use crate::real::Real;

/// snnTorch's `triangular`, as snnTorch computes it: `g · threshold`,
/// negated where `z >= 0`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Triangular {
    /// Height (snnTorch default 1).
    pub threshold: f64,
}

impl Default for Triangular {
    fn default() -> Self {
        Triangular { threshold: 1.0 }
    }
}

impl Surrogate for Triangular {
    const NAME: &'static str = "triangular";
    const CONSTANTS: &'static [&'static str] = &["threshold"];

    fn constants(&self) -> [f64; MAX_SURROGATE_CONSTANTS] {
        [self.threshold, 0.0, 0.0, 0.0]
    }

    #[cfg_attr(not(debug_assertions), inline(always))]
    fn grad<T: Real>(z: T, grad: T, c: &SurrogateConstants<T>, _noise: T) -> T {
        let scaled = grad * c[0];
        T::select(z.ge(T::zero()), -scaled, scaled)
    }
}
