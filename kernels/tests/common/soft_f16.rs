//! An independent IEEE binary16, for checking `F16` against the definition
//! of `docs/semantics.md`: every operation computed exactly (in f64) and rounded once
//! to binary16, round to nearest even, gradual underflow, and finite
//! overflow saturating to ±65504. Shares no code with `half` or the kernels'
//! `F16`.

use snn_kernels::real::Format;

/// A binary16 value, held as the exact f64 it denotes.
#[derive(Clone, Copy, Debug, Default)]
pub struct SoftF16(pub f64);

const MAX: f64 = 65504.0;

/// Rounds a finite or special f64 to the nearest binary16 value (ties to
/// even); finite values beyond the range saturate to ±65504.
pub fn round16(x: f64) -> f64 {
    if x.is_nan() || x.is_infinite() || x == 0.0 {
        return x;
    }
    let a = x.abs();
    let quantum = super::ulp::ulp(a, 10, -14);
    let q = a / quantum;
    let floor = q.floor();
    let rounded = match (q - floor).partial_cmp(&0.5).unwrap() {
        core::cmp::Ordering::Less => floor,
        core::cmp::Ordering::Greater => floor + 1.0,
        core::cmp::Ordering::Equal => {
            if floor % 2.0 == 0.0 {
                floor
            } else {
                floor + 1.0
            }
        }
    };
    let y = (rounded * quantum).min(MAX);
    if x < 0.0 {
        -y
    } else {
        y
    }
}

/// The binary16 bits of a binary16 value.
pub fn encode(x: f64) -> u16 {
    let sign = if x.is_sign_negative() { 0x8000 } else { 0 };
    let a = x.abs();
    if x.is_nan() {
        return 0x7e00;
    }
    if a.is_infinite() {
        return sign | 0x7c00;
    }
    if a < 2f64.powi(-14) {
        return sign | (a / 2f64.powi(-24)) as u16;
    }
    let mut e = 0i32;
    while 2f64.powi(e) > a {
        e -= 1;
    }
    while 2f64.powi(e + 1) <= a {
        e += 1;
    }
    let fraction = ((a / 2f64.powi(e) - 1.0) * 1024.0) as u16;
    sign | (((e + 15) as u16) << 10) | fraction
}

/// The value of binary16 bits.
pub fn decode(bits: u16) -> f64 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exponent = ((bits >> 10) & 0x1f) as i32;
    let fraction = (bits & 0x3ff) as f64;
    sign * match exponent {
        0 => fraction * 2f64.powi(-24),
        31 if fraction == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        _ => (1.0 + fraction / 1024.0) * 2f64.powi(exponent - 15),
    }
}

soft_float!(SoftF16, round16, {
    type Bits = u16;
    type Wide = f32;
    const FORMAT: Format = Format::BINARY16;

    fn to_bits(self) -> u16 {
        encode(self.0)
    }
    fn from_bits(bits: u16) -> Self {
        SoftF16(decode(bits))
    }
    fn widen(self) -> f32 {
        self.0 as f32
    }
    fn narrow(wide: f32) -> Self {
        SoftF16(round16(wide as f64))
    }
});

impl crate::common::Bits for SoftF16 {
    const HEX: usize = 6;
    fn bits(self) -> u64 {
        encode(self.0).into()
    }
    fn value(self) -> f64 {
        self.0
    }
}
