//! `f32` and `f64` as [`Real`]: the hardware's IEEE arithmetic, as is.

use super::{Format, Real};

macro_rules! impl_real_for_native_float {
    ($t:ty, $bits:ty, $format:expr) => {
        impl Real for $t {
            type Mask = bool;
            type Bits = $bits;
            type Wide = $t;
            type Lane = $t;
            const FORMAT: Format = $format;

            #[cfg_attr(not(debug_assertions), inline(always))]
            fn constant(c: f64) -> Self {
                c as $t
            }
            #[cfg_attr(not(debug_assertions), inline(always))]
            fn lt(self, other: Self) -> bool {
                self < other
            }
            #[cfg_attr(not(debug_assertions), inline(always))]
            fn le(self, other: Self) -> bool {
                self <= other
            }
            #[cfg_attr(not(debug_assertions), inline(always))]
            fn gt(self, other: Self) -> bool {
                self > other
            }
            #[cfg_attr(not(debug_assertions), inline(always))]
            fn ge(self, other: Self) -> bool {
                self >= other
            }
            #[cfg_attr(not(debug_assertions), inline(always))]
            fn eq(self, other: Self) -> bool {
                self == other
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
            fn to_bits(self) -> $bits {
                <$t>::to_bits(self)
            }
            #[cfg_attr(not(debug_assertions), inline(always))]
            fn from_bits(bits: $bits) -> Self {
                <$t>::from_bits(bits)
            }
            #[cfg_attr(not(debug_assertions), inline(always))]
            fn widen(self) -> Self {
                self
            }
            #[cfg_attr(not(debug_assertions), inline(always))]
            fn narrow(wide: Self) -> Self {
                wide
            }
            #[cfg_attr(not(debug_assertions), inline(always))]
            fn to_lane(self) -> Self {
                self
            }
            #[cfg_attr(not(debug_assertions), inline(always))]
            fn from_lane(lane: Self) -> Self {
                lane
            }
        }
    };
}

impl_real_for_native_float!(f32, u32, Format::BINARY32);
pub(super) use impl_real_for_native_float;
