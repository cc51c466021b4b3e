//! [`F16Lane`]: a binary16 value unpacked into an `f32` register, the form
//! the fused layer loops compute [`F16`] arithmetic in.

use core::fmt;
use core::ops::{Add, Div, Mul, Neg, Sub};

use super::{Format, Real, F16};

/// A binary16 value held as the `f32` of the same value, with [`F16`]'s
/// arithmetic: every operation is computed in `f32` and rounded once to the
/// nearest binary16 value (ties to even), finite overflow saturating to
/// ±65504, the result kept as an `f32`.
///
/// It gives the same bits as [`F16`] for every operation (tested) and is
/// faster in loops: values are converted from and to binary16 once per load
/// and store instead of once per operation, and the rounding
/// ([`round_to_binary16`]) is a few integer operations on the `f32` bits that
/// vectorise. It is [`F16`]'s [`Real::Lane`]; users keep using [`F16`].
#[derive(Clone, Copy, Default, PartialEq, PartialOrd)]
#[repr(transparent)]
pub struct F16Lane(f32);

impl F16Lane {
    /// The value as an `f32` (exact).
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn to_f32(self) -> f32 {
        self.0
    }

    /// `x` rounded to binary16 as [`F16::from_f32`] rounds it.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn from_f32(x: f32) -> F16Lane {
        F16Lane(round_to_binary16(x))
    }
}

/// The `f32` value of `F16::from_f32(x)`: `x` rounded to the nearest
/// binary16 value (ties to even), subnormals kept, finite overflow
/// saturating to ±65504, infinities kept, NaN quieted with its payload cut
/// to binary16's 10 bits. Branch-free on the `f32` bits.
#[cfg_attr(not(debug_assertions), inline(always))]
pub fn round_to_binary16(x: f32) -> f32 {
    let bits = x.to_bits();
    let sign = bits & 0x8000_0000;
    let magnitude = bits & 0x7fff_ffff;
    // Normal results: round the 13 fraction bits binary16 does not keep to
    // nearest even (add 0xfff plus the lowest kept bit, then clear them); a
    // carry moves into the exponent, as it must.
    let normal = (magnitude + 0xfff + ((magnitude >> 13) & 1)) & !0x1fff;
    // Subnormal results (|x| < 2^-14): adding 0.5 makes the adder round |x|
    // to a multiple of 2^-24 (the ulp of [0.5, 1)), nearest even; taking 0.5
    // away again is exact.
    let subnormal = ((f32::from_bits(magnitude) + 0.5) - 0.5).to_bits();
    let rounded = if magnitude < 0x3880_0000 {
        subnormal
    } else {
        normal
    };
    // 65504 = 0x477f_e000; a finite value that rounds beyond it saturates.
    let finite = if rounded > 0x477f_e000 {
        0x477f_e000
    } else {
        rounded
    };
    // Infinity stays; NaN becomes quiet with the top 10 payload bits.
    let quiet = if magnitude > 0x7f80_0000 {
        0x0040_0000
    } else {
        0
    };
    let special = (magnitude | quiet) & !0x1fff;
    let result = if magnitude >= 0x7f80_0000 {
        special
    } else {
        finite
    };
    f32::from_bits(sign | result)
}

macro_rules! binary_op {
    ($trait:ident, $method:ident, $op:tt) => {
        impl $trait for F16Lane {
            type Output = F16Lane;
            #[cfg_attr(not(debug_assertions), inline(always))]
            fn $method(self, rhs: F16Lane) -> F16Lane {
                F16Lane::from_f32(self.0 $op rhs.0)
            }
        }
    };
}
binary_op!(Add, add, +);
binary_op!(Sub, sub, -);
binary_op!(Mul, mul, *);
binary_op!(Div, div, /);

impl Neg for F16Lane {
    type Output = F16Lane;
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn neg(self) -> F16Lane {
        F16Lane(-self.0)
    }
}

impl fmt::Debug for F16Lane {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl From<F16> for F16Lane {
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn from(value: F16) -> F16Lane {
        F16Lane(value.to_f32())
    }
}

impl From<F16Lane> for F16 {
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn from(value: F16Lane) -> F16 {
        F16::from_f32(value.0)
    }
}

impl Real for F16Lane {
    type Mask = bool;
    type Bits = u16;
    type Wide = f32;
    type Lane = F16Lane;
    const FORMAT: Format = Format::BINARY16;

    #[cfg_attr(not(debug_assertions), inline(always))]
    fn constant(c: f64) -> Self {
        F16::from_f64(c).into()
    }
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn lt(self, other: Self) -> bool {
        self.0 < other.0
    }
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn le(self, other: Self) -> bool {
        self.0 <= other.0
    }
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn gt(self, other: Self) -> bool {
        self.0 > other.0
    }
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn ge(self, other: Self) -> bool {
        self.0 >= other.0
    }
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn eq(self, other: Self) -> bool {
        self.0 == other.0
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
        F16::from(self).to_bits()
    }
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn from_bits(bits: u16) -> Self {
        F16::from_bits(bits).into()
    }
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn widen(self) -> f32 {
        self.0
    }
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn narrow(wide: f32) -> Self {
        F16Lane::from_f32(wide)
    }
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn to_lane(self) -> Self {
        self
    }
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn from_lane(lane: Self) -> Self {
        lane
    }
    /// Clears the sign bit of the `f32` (the same value as clearing
    /// binary16's).
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn abs(self) -> Self {
        F16Lane(f32::from_bits(self.0.to_bits() & 0x7fff_ffff))
    }
}
