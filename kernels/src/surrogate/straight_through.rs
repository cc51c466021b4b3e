use super::{Surrogate, SurrogateConstants};
use crate::real::Real;

/// snnTorch's `straight_through_estimator`: `S'(z) = 1`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StraightThrough;

impl Surrogate for StraightThrough {
    const NAME: &'static str = "straight_through";

    #[cfg_attr(not(debug_assertions), inline(always))]
    fn grad<T: Real>(_z: T, grad: T, _c: &SurrogateConstants<T>, _noise: T) -> T {
        grad
    }
}
