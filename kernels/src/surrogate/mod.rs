//! Surrogate gradients: the forward pass is always the Heaviside step
//! `H(z) = 1 if z > 0 else 0`; the backward pass multiplies the incoming
//! gradient by a smooth stand-in `S'(z)` for its derivative.
//!
//! A surrogate is a type implementing [`Surrogate`]: one generic function,
//! [`Surrogate::grad`], plus its name and the names of its constants. The
//! constants are computed once in `f64` from the user's parameters (as
//! snnTorch computes `pi/2*alpha` in Python floats) and rounded to the
//! kernel's precision; on the IPU they are vertex members set by the host.
//! A surrogate defined in another crate works everywhere the built-in ones
//! do: native kernels, generated codelets, the host emulator.
//!
//! | type | snnTorch | parameters (defaults) | `dL/dz` for incoming `g` |
//! | --- | --- | --- | --- |
//! | [`Atan`] | `atan` (the default) | alpha = 2 | `1/(1 + (pi/2 alpha z)²) · alpha/2 · g` |
//! | [`FastSigmoid`] | `fast_sigmoid` | slope = 25 | `g / (slope·abs(z) + 1)²` |
//! | [`Sigmoid`] | `sigmoid` | slope = 25 | `g·slope·e / (e + 1)²`, `e = exp(-slope·z)` |
//! | [`Triangular`] | `triangular` | threshold = 1 | `g·threshold`, negated where `z >= 0` |
//! | [`StraightThrough`] | `straight_through_estimator` | none | `g` |
//! | [`Heaviside`] | `heaviside` | none | `g·H(z)` |
//! | [`SpikeRateEscape`] | `spike_rate_escape` | beta = 1, slope = 25 | `g·slope·exp(-beta·abs(z - 1))` |
//! | [`SparseFastSigmoid`] | `SFS` | slope = 25, B = 1 | `g / (slope·abs(z) + 1)² · [z > B]` |
//! | [`LeakySpikeOperator`] | `LSO` | slope = 0.1 | `g·H(z) + (1 - H(z))·slope·g` |
//! | [`StochasticSpikeOperator`] | `SSO` | mean = 0, variance = 0.2 | `g·H(z) + g·(1 - H(z))·((u - 0.5 + mean)·variance)` |
//!
//! [`AnySurrogate`] is any of them chosen at run time (for tests and tools
//! that sweep the surrogates and care more about compile time than speed).
//!
//! Every formula is evaluated left to right with snnTorch's operation order
//! (for example `a / t` in PyTorch is `reciprocal(t) * a`).

mod any;
mod atan;
mod fast_sigmoid;
mod heaviside;
mod leaky_spike_operator;
mod sigmoid;
mod sparse_fast_sigmoid;
mod spike_rate_escape;
mod stochastic_spike_operator;
mod straight_through;
mod triangular;

pub use self::any::AnySurrogate;
pub use self::atan::Atan;
pub use self::fast_sigmoid::FastSigmoid;
pub use self::heaviside::Heaviside;
pub use self::leaky_spike_operator::LeakySpikeOperator;
pub use self::sigmoid::Sigmoid;
pub use self::sparse_fast_sigmoid::SparseFastSigmoid;
pub use self::spike_rate_escape::SpikeRateEscape;
pub use self::stochastic_spike_operator::StochasticSpikeOperator;
pub use self::straight_through::StraightThrough;
pub use self::triangular::Triangular;

use core::fmt::Debug;

use crate::real::Real;

/// How many constants a surrogate may use.
pub const MAX_SURROGATE_CONSTANTS: usize = 4;

/// A surrogate's constants in the kernel's precision, in the order of
/// [`Surrogate::CONSTANTS`] (unused entries are zero).
pub type SurrogateConstants<T> = [T; MAX_SURROGATE_CONSTANTS];

/// A surrogate gradient for the spike function `H(z)`.
///
/// Implement it in your own crate to add a surrogate; see the `custom_surrogate`
/// example. `grad` must be written with [`Real`] operations only.
pub trait Surrogate: Copy + Debug {
    /// The name used in generated vertex names and manifests
    /// (a C++ identifier, snake case: `atan`, `fast_sigmoid`).
    const NAME: &'static str;
    /// The names of the constants `grad` receives, in order (at most
    /// [`MAX_SURROGATE_CONSTANTS`]); they become IPU vertex members.
    const CONSTANTS: &'static [&'static str] = &[];
    /// True when `grad` uses its `noise` argument, a uniform random number
    /// in `[0, 1)` from the counter-based stream of [`crate::rng`].
    const STOCHASTIC: bool = false;

    /// The constants for this instance's parameters, computed in `f64`.
    fn constants(&self) -> [f64; MAX_SURROGATE_CONSTANTS] {
        [0.0; MAX_SURROGATE_CONSTANTS]
    }

    /// `dL/dz` given `grad = dL/dh`, where `h = H(z)` is the spike function's
    /// output, `c` the constants and `noise` uniform in `[0, 1)`.
    fn grad<T: Real>(z: T, grad: T, c: &SurrogateConstants<T>, noise: T) -> T;
}

/// A surrogate's constants rounded to `T`.
pub fn constants_in<T: Real, S: Surrogate>(surrogate: &S) -> SurrogateConstants<T> {
    surrogate.constants().map(T::constant)
}

/// The spike function of one layer in precision `T`: `H(z)` forward, the
/// surrogate `S` backward, with the constants and the current random number.
#[derive(Clone, Copy, Debug)]
pub struct SpikeFn<T> {
    /// The surrogate's constants.
    pub constants: SurrogateConstants<T>,
    /// The random number for this element and step (zero unless stochastic).
    pub noise: T,
}

impl<T: Real> SpikeFn<T> {
    /// A spike function with these constants and no noise.
    pub fn new(constants: SurrogateConstants<T>) -> Self {
        SpikeFn {
            constants,
            noise: T::zero(),
        }
    }

    /// `h = H(z)` (for dual numbers, with the surrogate as derivative).
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn fire<S: Surrogate>(&self, z: T) -> T {
        z.spike::<S>(&self.constants, self.noise)
    }

    /// `dL/dz` from `dL/dh`.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn grad<S: Surrogate>(&self, z: T, grad: T) -> T {
        T::surrogate_grad::<S>(z, grad, &self.constants, self.noise)
    }
}

/// `1 - H(z)` as a number: 1 where the neuron did not spike.
#[cfg_attr(not(debug_assertions), inline(always))]
fn not_spiked<T: Real>(z: T) -> T {
    T::select(z.gt(T::zero()), T::zero(), T::one())
}
