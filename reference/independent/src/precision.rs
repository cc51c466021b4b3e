//! The precisions, and rounding to them, written independently of the
//! kernels: every value is held as the `f64` it denotes and every operation
//! is computed in `f64` and rounded once to the precision. For `+ - * /` of
//! binary16 and binary32 operands this equals true arithmetic in that format
//! (binary64 has more than `2p + 2` significand bits).
//!
//! A precision has a storage format (what inputs, outputs and the values
//! between time steps are) and an arithmetic format (what a step computes
//! in). They are the same format for `f16`, `f32` and `f64`; `f16-storage`
//! stores binary16 and computes in binary32 (`docs/semantics.md`).

use std::fmt;

/// An IEEE format the kernels compute in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Precision {
    /// binary16, finite overflow saturating to ±65504.
    F16,
    /// binary32.
    F32,
    /// binary64.
    F64,
    /// binary16 storage (finite overflow saturating to ±65504 when a value
    /// is stored), binary32 arithmetic inside a step.
    F16Storage,
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Precision {
    /// `"f16"`, `"f32"`, `"f64"` or `"f16-storage"`.
    pub fn name(self) -> &'static str {
        match self {
            Precision::F16 => "f16",
            Precision::F32 => "f32",
            Precision::F64 => "f64",
            Precision::F16Storage => "f16-storage",
        }
    }

    /// The format values are stored in: binary16 for `f16-storage`, the
    /// precision itself otherwise. Every method below that describes
    /// values (rounding, bits, limits) is about this format.
    pub fn storage(self) -> Precision {
        match self {
            Precision::F16Storage => Precision::F16,
            p => p,
        }
    }

    /// The format a step computes in: binary32 for `f16-storage`, the
    /// precision itself otherwise.
    pub fn arithmetic(self) -> Precision {
        match self {
            Precision::F16Storage => Precision::F32,
            p => p,
        }
    }

    /// The precision elementary functions are computed in (binary32 for
    /// binary16).
    pub fn wide(self) -> Precision {
        match self {
            Precision::F16 | Precision::F32 | Precision::F16Storage => Precision::F32,
            Precision::F64 => Precision::F64,
        }
    }

    /// Explicit fraction bits (of the storage format).
    pub fn fraction_bits(self) -> i32 {
        match self.storage() {
            Precision::F32 => 23,
            Precision::F64 => 52,
            _ => 10,
        }
    }

    /// The smallest normal exponent.
    fn min_exponent(self) -> i32 {
        match self.storage() {
            Precision::F32 => -126,
            Precision::F64 => -1022,
            _ => -14,
        }
    }

    /// The largest finite value.
    pub fn max(self) -> f64 {
        match self.storage() {
            Precision::F32 => f32::MAX as f64,
            Precision::F64 => f64::MAX,
            _ => 65504.0,
        }
    }

    /// `x` rounded to this precision's storage format, to nearest with ties
    /// to even. binary16 saturates finite overflow; binary32 overflows to
    /// infinity.
    pub fn round(self, x: f64) -> f64 {
        match self.storage() {
            Precision::F64 => x,
            Precision::F32 => x as f32 as f64,
            _ => round_binary16(x),
        }
    }

    /// The bits of a value of this precision (`x` must be representable).
    pub fn bits(self, x: f64) -> u64 {
        match self.storage() {
            Precision::F64 => x.to_bits(),
            Precision::F32 => (x as f32).to_bits() as u64,
            _ => binary16_bits(x) as u64,
        }
    }

    /// The value of bits of this precision.
    pub fn from_bits(self, bits: u64) -> f64 {
        match self.storage() {
            Precision::F64 => f64::from_bits(bits),
            Precision::F32 => f32::from_bits(bits as u32) as f64,
            _ => binary16_value(bits as u16),
        }
    }

    /// The value one unit in the last place above `x` (for test vectors).
    pub fn next_up(self, x: f64) -> f64 {
        let bits = self.bits(x);
        let up = if x >= 0.0 { bits + 1 } else { bits - 1 };
        self.from_bits(up)
    }

    /// The value one unit in the last place below `x`.
    pub fn next_down(self, x: f64) -> f64 {
        -self.next_up(-x)
    }

    /// The smallest positive subnormal value.
    pub fn min_subnormal(self) -> f64 {
        2f64.powi(self.min_exponent() - self.fraction_bits())
    }

    /// Hexadecimal bits, for reports.
    pub fn hex(self, x: f64) -> String {
        match self.storage() {
            Precision::F32 => format!("{:#010x}", self.bits(x)),
            Precision::F64 => format!("{:#018x}", self.bits(x)),
            _ => format!("{:#06x}", self.bits(x)),
        }
    }
}

/// Rounds to binary16 by scaling to an integer count of the quantum of
/// `x`'s binade (a power of two, so the scaling is exact) and rounding that
/// count to even.
fn round_binary16(x: f64) -> f64 {
    if !x.is_finite() || x == 0.0 {
        return x;
    }
    let exponent = binade(x.abs()).max(-14);
    let quantum = 2f64.powi(exponent - 10);
    let count = (x.abs() / quantum).round_ties_even();
    let magnitude = (count * quantum).min(65504.0);
    magnitude.copysign(x)
}

/// `floor(log2(a))` for positive finite `a`, exactly.
fn binade(a: f64) -> i32 {
    let raw = ((a.to_bits() >> 52) & 0x7ff) as i32;
    if raw == 0 {
        // binary64 subnormal: far below any binary16 binade
        -1074
    } else {
        raw - 1023
    }
}

fn binary16_bits(x: f64) -> u16 {
    let sign = if x.is_sign_negative() { 0x8000 } else { 0 };
    let a = x.abs();
    if x.is_nan() {
        return 0x7e00;
    }
    if a == f64::INFINITY {
        return sign | 0x7c00;
    }
    let exponent = binade(a);
    if exponent < -14 || a == 0.0 {
        return sign | (a / 2f64.powi(-24)) as u16;
    }
    let fraction = (a / 2f64.powi(exponent) - 1.0) * 1024.0;
    sign | (((exponent + 15) as u16) << 10) | fraction as u16
}

fn binary16_value(bits: u16) -> f64 {
    let magnitude = match (bits >> 10) & 0x1f {
        0 => (bits & 0x3ff) as f64 * 2f64.powi(-24),
        0x1f if bits & 0x3ff == 0 => f64::INFINITY,
        0x1f => f64::NAN,
        e => (1.0 + (bits & 0x3ff) as f64 / 1024.0) * 2f64.powi(e as i32 - 15),
    };
    if bits & 0x8000 != 0 {
        -magnitude
    } else {
        magnitude
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary16_rounding_and_bits() {
        let p = Precision::F16;
        assert_eq!(p.round(65519.0), 65504.0);
        assert_eq!(p.round(1e9), 65504.0, "finite overflow saturates");
        assert_eq!(p.round(f64::INFINITY), f64::INFINITY);
        assert_eq!(p.round(1.0 + 2f64.powi(-11)), 1.0, "tie to even");
        assert_eq!(
            p.round(1.0 + 3.0 * 2f64.powi(-11)),
            1.0 + 2f64.powi(-9),
            "tie to even, up"
        );
        assert_eq!(
            p.round(2f64.powi(-25)),
            0.0,
            "half the smallest subnormal ties to zero"
        );
        assert_eq!(p.round(-3.0 * 2f64.powi(-25)), -2f64.powi(-23));
        for bits in 0..=u16::MAX {
            let v = p.from_bits(bits as u64);
            if !v.is_nan() {
                assert_eq!(p.bits(v), bits as u64, "{bits:#x}");
                assert_eq!(p.round(v).to_bits(), v.to_bits());
            }
        }
    }

    #[test]
    fn neighbours() {
        assert_eq!(Precision::F32.next_up(1.0), 1.0 + 2f64.powi(-23));
        assert_eq!(Precision::F16.next_down(1.0), 1.0 - 2f64.powi(-11));
        assert_eq!(Precision::F16.min_subnormal(), 2f64.powi(-24));
    }
}
