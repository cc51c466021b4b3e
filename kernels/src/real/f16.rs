//! [`F16`]: IEEE binary16 with the IPU's overflow rule.

use core::fmt;
use core::ops::{Add, Div, Mul, Neg, Sub};

use super::{F16Lane, Format, Real};

/// IEEE binary16 arithmetic as the IPU performs it.
///
/// A `#[repr(transparent)]` wrapper around [`half::f16`]: slices convert both
/// ways at no cost ([`F16::from_half_slice`], [`F16::as_half_slice`], or
/// `bytemuck::cast_slice`). Storage is binary16 and every operation is
/// computed exactly in `f32` then rounded once to binary16 (round to nearest
/// even). For `+ - * /` this equals true binary16 arithmetic: `f32` has more
/// than `2 * 11 + 2` significand bits, so the double rounding is innocuous.
/// Subnormals are kept (gradual underflow).
///
/// **Overflow saturates.** A finite result whose rounded magnitude exceeds
/// 65504 becomes ±65504 (`F16::MAX`), which is what IPU hardware does with
/// its default floating-point behaviour (`nanoo` off). Infinite or NaN
/// results of infinite or NaN operands, and `x / 0`, follow IEEE 754. This
/// is why the crate does not use `half::f16`'s operators, which overflow to
/// infinity.
#[derive(Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(transparent)]
pub struct F16(pub half::f16);

impl F16 {
    /// The largest finite value, 65504.
    pub const MAX: F16 = F16(half::f16::MAX);
    /// Zero.
    pub const ZERO: F16 = F16(half::f16::ZERO);
    /// One.
    pub const ONE: F16 = F16(half::f16::ONE);

    /// `x` rounded to binary16 (nearest even); finite values beyond the range
    /// saturate to ±65504, infinities and NaN are kept (NaN as a quiet NaN).
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn from_f32(x: f32) -> F16 {
        F16::from_bits(f32_to_f16_bits(x))
    }

    /// `x` rounded directly to binary16 (one rounding, nearest even),
    /// saturating as [`F16::from_f32`]. (Not through `f32`: rounding twice
    /// can differ.)
    #[inline]
    pub fn from_f64(x: f64) -> F16 {
        F16::from_bits(f64_to_f16_bits(x))
    }

    /// The exact `f32` value.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn to_f32(self) -> f32 {
        f16_bits_to_f32(self.to_bits())
    }

    /// The exact `f64` value.
    #[inline]
    pub fn to_f64(self) -> f64 {
        self.0.to_f64()
    }

    /// The raw bits.
    #[inline]
    pub const fn to_bits(self) -> u16 {
        self.0.to_bits()
    }

    /// The value with these bits.
    #[inline]
    pub const fn from_bits(bits: u16) -> F16 {
        F16(half::f16::from_bits(bits))
    }

    /// True for NaN.
    #[inline]
    pub fn is_nan(self) -> bool {
        self.0.is_nan()
    }

    /// Views `half::f16` values as `F16` (no copy).
    pub fn from_half_slice(values: &[half::f16]) -> &[F16] {
        bytemuck::cast_slice(values)
    }

    /// Views `half::f16` values as `F16`, mutably (no copy).
    pub fn from_half_slice_mut(values: &mut [half::f16]) -> &mut [F16] {
        bytemuck::cast_slice_mut(values)
    }

    /// Views `F16` values as `half::f16` (no copy).
    pub fn as_half_slice(values: &[F16]) -> &[half::f16] {
        bytemuck::cast_slice(values)
    }
}

/// The binary16 bits nearest to `x` (ties to even), finite overflow
/// saturating to ±65504. Branch-free, so that loops of F16 arithmetic
/// vectorise; checked against `half`'s conversion in the tests.
#[cfg_attr(not(debug_assertions), inline(always))]
fn f32_to_f16_bits(x: f32) -> u16 {
    let bits = x.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let magnitude = bits & 0x7fff_ffff;
    // Normal results: rebias the exponent (127 -> 15) and round the 13
    // dropped fraction bits to nearest even by adding 0xfff plus the lowest
    // kept bit; a carry moves into the exponent, as it must.
    let lowest_kept = (magnitude >> 13) & 1;
    let normal = magnitude
        .wrapping_sub((127 - 15) << 23)
        .wrapping_add(0xfff + lowest_kept)
        >> 13;
    // Subnormal results (|x| < 2^-14): adding 0.5 (2^-1) makes the float
    // adder shift the value right and round it to nearest even at 2^-24,
    // the binary16 subnormal quantum; the low bits are then the result.
    let aligned = f32::from_bits(magnitude) + 0.5;
    let subnormal = aligned.to_bits() - 0.5f32.to_bits();
    let rounded = if magnitude < (127 - 14) << 23 {
        subnormal
    } else {
        normal
    };
    // Overflow (including rounding up past 65504) saturates; inf and NaN stay.
    let finite = magnitude < 0x7f80_0000;
    let result = if finite {
        if rounded >= 0x7c00 {
            0x7bff
        } else {
            rounded
        }
    } else if magnitude == 0x7f80_0000 {
        0x7c00
    } else {
        0x7e00 | ((magnitude >> 13) & 0x3ff)
    };
    sign | result as u16
}

/// The exact `f32` value of binary16 bits. Branch-free: the exponent and
/// fraction are moved into place and scaled by `2^112` (which also
/// normalises subnormals exactly); infinities and NaN are patched.
#[cfg_attr(not(debug_assertions), inline(always))]
fn f16_bits_to_f32(h: u16) -> f32 {
    let sign = ((h & 0x8000) as u32) << 16;
    let magnitude = (h & 0x7fff) as u32;
    let scaled = f32::from_bits(magnitude << 13) * f32::from_bits((127 + 112) << 23);
    let special = f32::from_bits(0x7f80_0000 | (magnitude << 13));
    let value = if magnitude >= 0x7c00 { special } else { scaled };
    f32::from_bits(value.to_bits() | sign)
}

/// The binary16 bits nearest to `x` (ties to even), rounding once from the
/// binary64 value; finite overflow saturates to ±65504.
fn f64_to_f16_bits(x: f64) -> u16 {
    let bits = x.to_bits();
    let sign = ((bits >> 48) & 0x8000) as u16;
    let magnitude = bits & 0x7fff_ffff_ffff_ffff;
    let result = if magnitude >= 0x7ff0_0000_0000_0000 {
        // infinity, or NaN (quiet, keeping the top of the payload)
        if magnitude == 0x7ff0_0000_0000_0000 {
            0x7c00
        } else {
            0x7e00 | ((magnitude >> 42) & 0x3ff) as u16
        }
    } else if magnitude < (1023 - 14) << 52 {
        // subnormal result: adding 2^28 rounds |x| to a multiple of 2^-24
        let aligned = f64::from_bits(magnitude) + 268_435_456.0;
        (aligned.to_bits() - 268_435_456.0f64.to_bits()) as u16
    } else {
        // normal: rebias the exponent and round the 42 dropped bits to even
        let lowest_kept = (magnitude >> 42) & 1;
        let rounded = (magnitude - ((1023 - 15) << 52) + ((1 << 41) - 1) + lowest_kept) >> 42;
        if rounded >= 0x7c00 {
            0x7bff
        } else {
            rounded as u16
        }
    };
    sign | result
}

macro_rules! binary_op {
    ($trait:ident, $method:ident, $op:tt) => {
        impl $trait for F16 {
            type Output = F16;
            #[cfg_attr(not(debug_assertions), inline(always))]
            fn $method(self, rhs: F16) -> F16 {
                F16::from_f32(self.to_f32() $op rhs.to_f32())
            }
        }
    };
}
binary_op!(Add, add, +);
binary_op!(Sub, sub, -);
binary_op!(Mul, mul, *);
binary_op!(Div, div, /);

impl Neg for F16 {
    type Output = F16;
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn neg(self) -> F16 {
        F16::from_bits(self.to_bits() ^ 0x8000)
    }
}

impl PartialEq for F16 {
    /// IEEE equality (`NaN != NaN`, `+0 == -0`).
    fn eq(&self, other: &F16) -> bool {
        self.0 == other.0
    }
}

impl PartialOrd for F16 {
    fn partial_cmp(&self, other: &F16) -> Option<core::cmp::Ordering> {
        self.0.partial_cmp(&other.0)
    }
}

impl fmt::Debug for F16 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for F16 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl From<half::f16> for F16 {
    fn from(value: half::f16) -> F16 {
        F16(value)
    }
}

impl From<F16> for half::f16 {
    fn from(value: F16) -> half::f16 {
        value.0
    }
}

impl From<F16> for f32 {
    fn from(value: F16) -> f32 {
        value.to_f32()
    }
}

impl From<F16> for f64 {
    fn from(value: F16) -> f64 {
        value.to_f64()
    }
}

impl Real for F16 {
    type Mask = bool;
    type Bits = u16;
    type Wide = f32;
    type Lane = F16Lane;
    const FORMAT: Format = Format::BINARY16;

    #[cfg_attr(not(debug_assertions), inline(always))]
    fn constant(c: f64) -> Self {
        F16::from_f64(c)
    }
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn lt(self, other: Self) -> bool {
        self.to_f32() < other.to_f32()
    }
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn le(self, other: Self) -> bool {
        self.to_f32() <= other.to_f32()
    }
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn gt(self, other: Self) -> bool {
        self.to_f32() > other.to_f32()
    }
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn ge(self, other: Self) -> bool {
        self.to_f32() >= other.to_f32()
    }
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn eq(self, other: Self) -> bool {
        self.to_f32() == other.to_f32()
    }
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn select(mask: bool, a: Self, b: Self) -> Self {
        if mask {
            a
        } else {
            b
        }
    }
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn to_bits(self) -> u16 {
        F16::to_bits(self)
    }
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn from_bits(bits: u16) -> Self {
        F16::from_bits(bits)
    }
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn widen(self) -> f32 {
        self.to_f32()
    }
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn narrow(wide: f32) -> Self {
        F16::from_f32(wide)
    }
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn to_lane(self) -> F16Lane {
        self.into()
    }
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn from_lane(lane: F16Lane) -> Self {
        lane.into()
    }
    /// The identity: lanes already hold binary16 values.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn store_lane(lane: F16Lane) -> F16Lane {
        lane
    }
    /// Compiled for several instruction sets (see `layer::simd`): binary16
    /// passes are compute-bound.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn specialize_fused<M: crate::model::Model, R: crate::model::Specialized>(
        model: M,
        run: R,
    ) -> R::Output {
        crate::layer::specialize_for_cpu(model, run)
    }
}
