use super::{Surrogate, SurrogateConstants};
use crate::real::Real;

/// snnTorch's `heaviside`: `S'(z) = H(z)`, the gradient passes only where
/// the neuron spiked. Evaluated as `g · H(z)`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Heaviside;

impl Surrogate for Heaviside {
    const NAME: &'static str = "heaviside";

    #[cfg_attr(not(debug_assertions), inline(always))]
    fn grad<T: Real>(z: T, grad: T, _c: &SurrogateConstants<T>, _noise: T) -> T {
        grad * z.heaviside()
    }
}
