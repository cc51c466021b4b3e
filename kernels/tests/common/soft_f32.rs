//! An independent IEEE binary32: every operation computed in f64 and rounded
//! once to binary32 (innocuous double rounding: 53 >= 2·24 + 2), for checking
//! that the native `f32` kernels round exactly once per operation.

use core::ops::{Add, Div, Mul, Neg, Sub};

use snn_kernels::real::{Format, Real};

#[derive(Clone, Copy, Debug, Default)]
pub struct SoftF32(pub f64);

fn round32(x: f64) -> f64 {
    x as f32 as f64
}

macro_rules! op {
    ($trait:ident, $method:ident, $op:tt) => {
        impl $trait for SoftF32 {
            type Output = SoftF32;
            fn $method(self, o: SoftF32) -> SoftF32 {
                SoftF32(round32(self.0 $op o.0))
            }
        }
    };
}
op!(Add, add, +);
op!(Sub, sub, -);
op!(Mul, mul, *);
op!(Div, div, /);

impl Neg for SoftF32 {
    type Output = SoftF32;
    fn neg(self) -> SoftF32 {
        SoftF32(-self.0)
    }
}

impl Real for SoftF32 {
    type Mask = bool;
    type Bits = u32;
    type Wide = SoftF32;
    const FORMAT: Format = Format::BINARY32;

    fn constant(c: f64) -> Self {
        SoftF32(round32(c))
    }
    fn lt(self, o: Self) -> bool {
        self.0 < o.0
    }
    fn le(self, o: Self) -> bool {
        self.0 <= o.0
    }
    fn gt(self, o: Self) -> bool {
        self.0 > o.0
    }
    fn ge(self, o: Self) -> bool {
        self.0 >= o.0
    }
    fn eq(self, o: Self) -> bool {
        self.0 == o.0
    }
    fn select(mask: bool, a: Self, b: Self) -> Self {
        if mask {
            a
        } else {
            b
        }
    }
    fn to_bits(self) -> u32 {
        (self.0 as f32).to_bits()
    }
    fn from_bits(bits: u32) -> Self {
        SoftF32(f32::from_bits(bits) as f64)
    }
    fn widen(self) -> Self {
        self
    }
    fn narrow(wide: Self) -> Self {
        wide
    }
}

impl crate::common::Bits for SoftF32 {
    fn key(self) -> u64 {
        (self.0 as f32).key()
    }
    fn show(self) -> String {
        (self.0 as f32).show()
    }
}
