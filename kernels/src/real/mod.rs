//! The scalar trait every kernel is generic over, and its three companions:
//! [`Mask`] (what a comparison returns), [`Word`] (the unsigned integer that
//! holds a value's bits) and [`Format`] (the binary layout of a float).
//!
//! The trait is small on purpose. A kernel may use `+ - * /`, unary minus,
//! comparisons that return a mask, [`Real::select`], constants made with
//! [`Real::constant`], the bit casts [`Real::to_bits`]/[`Real::from_bits`], the
//! precision change [`Real::widen`]/[`Real::narrow`] and [`Real::detach`].
//! Everything else (`abs`, `exp`, `ln`, `atan`, the Heaviside step, the
//! spike function) is defined once in this crate on top of those operations,
//! so a type that records operations instead of performing them (the
//! generator's) sees every kernel as a straight-line program of primitives.

mod f16;
mod f16_lane;
mod f16_storage;
mod f32;
mod f64;

pub use self::f16::F16;
pub use self::f16_lane::{round_to_binary16, F16Lane};
pub use self::f16_storage::F16Storage;

use core::fmt::Debug;
use core::ops::{Add, BitAnd, BitOr, BitXor, Div, Mul, Neg, Shl, Shr, Sub};

use crate::surrogate::{Surrogate, SurrogateConstants};

/// The binary layout of an IEEE 754 format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Format {
    /// Total width in bits: 16, 32 or 64.
    pub bits: u32,
    /// Explicitly stored fraction bits: 10, 23 or 52.
    pub fraction_bits: u32,
    /// Exponent bias: 15, 127 or 1023.
    pub exponent_bias: u32,
}

impl Format {
    /// IEEE binary16.
    pub const BINARY16: Format = Format {
        bits: 16,
        fraction_bits: 10,
        exponent_bias: 15,
    };
    /// IEEE binary32.
    pub const BINARY32: Format = Format {
        bits: 32,
        fraction_bits: 23,
        exponent_bias: 127,
    };
    /// IEEE binary64.
    pub const BINARY64: Format = Format {
        bits: 64,
        fraction_bits: 52,
        exponent_bias: 1023,
    };

    /// The bit pattern of the sign bit.
    pub const fn sign_mask(self) -> u64 {
        1 << (self.bits - 1)
    }

    /// The bit pattern of `1.0`.
    pub const fn one_bits(self) -> u64 {
        (self.exponent_bias as u64) << self.fraction_bits
    }
}

/// The result of comparing two [`Real`] values: `bool` for numbers, a
/// recorded node for the generator.
pub trait Mask: Copy + Debug {
    /// Both masks hold.
    fn and(self, other: Self) -> Self;
    /// Either mask holds.
    fn or(self, other: Self) -> Self;
    /// The mask does not hold.
    fn not(self) -> Self;
}

impl Mask for bool {
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn and(self, other: Self) -> Self {
        self & other
    }
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn or(self, other: Self) -> Self {
        self | other
    }
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn not(self) -> Self {
        !self
    }
}

/// An unsigned machine word holding the bits of a [`Real`]: `u16`, `u32`,
/// `u64`, or a recorded integer for the generator. Arithmetic wraps.
pub trait Word:
    Copy
    + Debug
    + BitAnd<Output = Self>
    + BitOr<Output = Self>
    + BitXor<Output = Self>
    + Shl<u32, Output = Self>
    + Shr<u32, Output = Self>
{
    /// A constant, truncated to the word's width.
    fn lit(value: u64) -> Self;
    /// `self + other` modulo 2^bits.
    fn wrapping_add(self, other: Self) -> Self;
    /// `self - other` modulo 2^bits.
    fn wrapping_sub(self, other: Self) -> Self;
    /// `self * other` modulo 2^bits.
    fn wrapping_mul(self, other: Self) -> Self;
}

macro_rules! impl_word {
    ($($t:ty),*) => {$(
        impl Word for $t {
            #[cfg_attr(not(debug_assertions), inline(always))]
            fn lit(value: u64) -> Self {
                value as $t
            }
            #[cfg_attr(not(debug_assertions), inline(always))]
            fn wrapping_add(self, other: Self) -> Self {
                <$t>::wrapping_add(self, other)
            }
            #[cfg_attr(not(debug_assertions), inline(always))]
            fn wrapping_sub(self, other: Self) -> Self {
                <$t>::wrapping_sub(self, other)
            }
            #[cfg_attr(not(debug_assertions), inline(always))]
            fn wrapping_mul(self, other: Self) -> Self {
                <$t>::wrapping_mul(self, other)
            }
        }
    )*};
}
impl_word!(u16, u32, u64);

/// The scalar every kernel is written over.
///
/// Semantics for numbers: IEEE 754 round to nearest even, one rounding per
/// operation, no fused multiply-add, gradual underflow. Implementations:
/// `f32`, `f64` and [`F16`] (binary16 whose finite overflow saturates to
/// ±65504 as on the IPU; see its docs), and [`F16Storage`] (binary16
/// storage, whose layer passes compute in binary32).
pub trait Real:
    Copy
    + Debug
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
{
    /// What comparisons return.
    type Mask: Mask;
    /// The unsigned word holding this type's bits.
    type Bits: Word;
    /// The precision elementary functions are computed in: `f32` for `F16`
    /// and `f32`, `f64` for `f64`. Its own `Wide` is itself.
    type Wide: Real<Wide = Self::Wide>;
    /// The form the layer passes compute in. `Self` for `f32` and `f64`;
    /// for [`F16`], [`F16Lane`] (an `f32` holding the binary16 value, with
    /// [`F16`]'s arithmetic and bits), so that values are unpacked once per
    /// load and packed once per store instead of once per operation; for
    /// [`F16Storage`], `f32`: its passes compute in binary32 and round to
    /// binary16 only when a value is stored.
    type Lane: Real<Mask = Self::Mask, Wide = Self::Wide>;
    /// The binary layout.
    const FORMAT: Format;
    /// True for types that carry derivatives forward (dual numbers): the
    /// drivers then give the spike function its surrogate constants and
    /// random number in the forward pass too. False for plain numbers.
    const SURROGATE_IN_FORWARD: bool = false;
    /// True when a stored value is the step's exact result, so that the
    /// backward pass may take an intermediate value of a step from the
    /// stored states after it (the membrane before firing with a delayed
    /// reset is the stored membrane). False for [`F16Storage`], whose
    /// steps compute in binary32 and store binary16: its backward pass
    /// recomputes those values from the stored previous states and the
    /// inputs (`docs/semantics.md`, "f16-storage"), and the drivers load
    /// the inputs for every model ([`crate::model::BackIn::next_is_exact`]).
    const STORES_EXACT_STEP_RESULTS: bool = true;

    /// `c` rounded to this type (round to nearest even, directly from `f64`).
    fn constant(c: f64) -> Self;
    /// `self < other` (false when either is NaN).
    fn lt(self, other: Self) -> Self::Mask;
    /// `self <= other` (false when either is NaN).
    fn le(self, other: Self) -> Self::Mask;
    /// `self > other` (false when either is NaN).
    fn gt(self, other: Self) -> Self::Mask;
    /// `self >= other` (false when either is NaN).
    fn ge(self, other: Self) -> Self::Mask;
    /// `self == other` (false when either is NaN; `+0 == -0`).
    fn eq(self, other: Self) -> Self::Mask;
    /// `if mask { a } else { b }`, without a branch in generated code.
    fn select(mask: Self::Mask, a: Self, b: Self) -> Self;
    /// The value's bits.
    fn to_bits(self) -> Self::Bits;
    /// The value with these bits.
    fn from_bits(bits: Self::Bits) -> Self;
    /// Exact conversion to the wide type.
    fn widen(self) -> Self::Wide;
    /// The wide value rounded to this type (round to nearest even).
    fn narrow(wide: Self::Wide) -> Self;
    /// The value as a [`Real::Lane`] (exact).
    fn to_lane(self) -> Self::Lane;
    /// A [`Real::Lane`] value stored in this type: exact for every type
    /// whose lanes hold values of this type (`f32`, `f64`, [`F16`]); for
    /// [`F16Storage`], the one rounding to binary16.
    fn from_lane(lane: Self::Lane) -> Self;

    /// The lane value as it would be stored: `from_lane(lane).to_lane()`.
    /// The backward pass passes every value that crosses from one time step
    /// to the next without being stored in a caller's buffer (the state
    /// gradients carried back, the per-element sums of the parameter
    /// gradients) through it, so that the fused passes equal the
    /// single-step API, which stores those values, bit for bit. The
    /// identity for `f32`, `f64` and [`F16`]; binary16 rounding for
    /// [`F16Storage`].
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn store_lane(lane: Self::Lane) -> Self::Lane {
        Self::from_lane(lane).to_lane()
    }

    /// Runs a fused layer pass: `model.specialize(run)` (one copy per model
    /// configuration) compiled once, for the build's target, by default.
    /// [`F16`] compiles its copies for several instruction sets and picks
    /// the CPU's widest ([`crate::layer::specialize_for_cpu`]): its passes
    /// are compute-bound. Every choice gives the same bits.
    #[doc(hidden)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn specialize_fused<M: crate::model::Model, R: crate::model::Specialized>(
        model: M,
        run: R,
    ) -> R::Output
    where
        Self: Sized,
    {
        crate::layer::specialize_baseline(model, run)
    }

    /// Stops gradient flow: the identity for numbers, drops the tangent of a
    /// dual number. Used for snnTorch's detached reset signal.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn detach(self) -> Self {
        self
    }

    /// `0`.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn zero() -> Self {
        Self::constant(0.0)
    }

    /// `1`.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn one() -> Self {
        Self::constant(1.0)
    }

    /// `|x|`, by clearing the sign bit (exact, `abs(-0) = +0`, NaN stays NaN).
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn abs(self) -> Self {
        let magnitude = !Self::FORMAT.sign_mask() & (u64::MAX >> (64 - Self::FORMAT.bits));
        Self::from_bits(self.to_bits() & Self::Bits::lit(magnitude))
    }

    /// `x` clamped to `[lo, hi]`: `lo` if `x < lo`, `hi` if `x > hi`, else
    /// `x` (NaN stays NaN), as `torch.clamp`.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn clamp(self, lo: Self, hi: Self) -> Self {
        Self::select(self.lt(lo), lo, Self::select(self.gt(hi), hi, self))
    }

    /// `1` where `lo <= x <= hi`, else `0`: the derivative of [`Real::clamp`]
    /// as `torch.clamp` defines it (the bounds pass the gradient).
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn clamp_grad(self, lo: Self, hi: Self) -> Self {
        Self::select(self.ge(lo).and(self.le(hi)), Self::one(), Self::zero())
    }

    /// The Heaviside step `H(x) = 1 if x > 0 else 0` (`H(0) = H(NaN) = 0`).
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn heaviside(self) -> Self {
        Self::select(self.gt(Self::zero()), Self::one(), Self::zero())
    }

    /// The spike function: `H(z)` in value. Its derivative is the surrogate
    /// `S`; only types that carry derivatives forward override this.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn spike<S: Surrogate>(self, _constants: &SurrogateConstants<Self>, _noise: Self) -> Self {
        self.heaviside()
    }

    /// `dL/dz` of the surrogate `S` from `dL/dh`: `S::grad` for numbers.
    /// The kernels call surrogates only through this, so that the code
    /// generator can record a surrogate as one call (one C++ function per
    /// surrogate instead of one copy in every vertex).
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn surrogate_grad<S: Surrogate>(
        z: Self,
        grad: Self,
        constants: &SurrogateConstants<Self>,
        noise: Self,
    ) -> Self {
        S::grad(z, grad, constants, noise)
    }

    /// `e^x`, see [`crate::math::exp`].
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn exp(self) -> Self {
        crate::math::exp(self)
    }

    /// `ln x`, see [`crate::math::ln`].
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn ln(self) -> Self {
        crate::math::ln(self)
    }

    /// `sqrt x`, see [`crate::math::sqrt`].
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn sqrt(self) -> Self {
        crate::math::sqrt(self)
    }

    /// `atan x`, see [`crate::math::atan`].
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn atan(self) -> Self {
        crate::math::atan(self)
    }
}

/// `x` when `cond`, else `0` (a `select`, so NaN in the other arm never leaks).
#[cfg_attr(not(debug_assertions), inline(always))]
pub fn where_or_zero<T: Real>(cond: T::Mask, x: T) -> T {
    T::select(cond, x, T::zero())
}
