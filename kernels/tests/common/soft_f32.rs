//! An independent IEEE binary32: every operation computed in f64 and rounded
//! once to binary32 (innocuous double rounding: 53 >= 2·24 + 2), for checking
//! that the native `f32` kernels round exactly once per operation.

use snn_kernels::real::Format;

#[derive(Clone, Copy, Debug, Default)]
pub struct SoftF32(pub f64);

fn round32(x: f64) -> f64 {
    x as f32 as f64
}

soft_float!(SoftF32, round32, {
    type Bits = u32;
    type Wide = SoftF32;
    const FORMAT: Format = Format::BINARY32;

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
});

impl crate::common::Bits for SoftF32 {
    const HEX: usize = 10;
    fn bits(self) -> u64 {
        (self.0 as f32).to_bits().into()
    }
    fn value(self) -> f64 {
        self.0
    }
}
