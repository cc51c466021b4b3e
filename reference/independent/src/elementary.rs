//! `exp` and `ln`, computed as the kernels define them (see
//! `docs/accuracy.md`): in binary32 for binary16 and binary32, in binary64
//! for binary64, then rounded once to the argument's precision. This is an
//! independent transcription of the algorithms, on values instead of bit
//! patterns: `2^k` is an exact power of two, the exponent split a division
//! by one.

use crate::precision::Precision;
use crate::soft::Soft;

const INV_LN2: f64 = std::f64::consts::LOG2_E;
/// `ln 2` as a short head (exact multiples by small integers) and a tail.
const LN2_32: (f64, f64) = (0.693145751953125, 1.428606765330187e-6);
const LN2_64: (f64, f64) = (6.931471803691238e-1, 1.9082149292705877e-10);

fn horner(s: Soft, x: f64, coefficients: &[f64]) -> f64 {
    let mut acc = s.c(coefficients[coefficients.len() - 1]);
    for &c in coefficients[..coefficients.len() - 1].iter().rev() {
        acc = s.add(s.c(c), s.mul(x, acc));
    }
    acc
}

/// Rounds to an integer with two additions of `1.5 · 2^fraction_bits`.
fn to_integer(s: Soft, x: f64) -> f64 {
    let shifter = s.c(1.5 * 2f64.powi(s.0.fraction_bits()));
    s.sub(s.add(x, shifter), shifter)
}

/// `e^x` in `precision`.
pub fn exp(precision: Precision, x: f64) -> f64 {
    let s = Soft(precision.wide());
    let binary64 = s.0 == Precision::F64;
    let (lowest, highest) = if binary64 {
        (-746.0, 710.0)
    } else {
        (-104.0, 89.0)
    };
    let (ln2_hi, ln2_lo) = if binary64 { LN2_64 } else { LN2_32 };
    let degree = if binary64 { 13 } else { 7 };
    // 1/n! for n = 2..=degree
    let coefficients: Vec<f64> = (2..=degree)
        .map(|n| 1.0 / (1..=n).map(|i| i as f64).product::<f64>())
        .collect();

    // binary16: a finite argument above 88 saturates the result to 65504
    // (as every finite binary16 overflow) instead of overflowing the
    // binary32 intermediate to +inf
    let x = if precision == Precision::F16 && x > 88.0 && x < f64::INFINITY {
        88.0
    } else {
        x
    };
    let x = if x < lowest {
        lowest
    } else if x > highest {
        highest
    } else {
        x
    };
    let k = to_integer(s, s.mul(x, s.c(INV_LN2)));
    let t = s.sub(x, s.mul(k, s.c(ln2_hi)));
    let k_lo = s.mul(k, s.c(ln2_lo));
    let r = s.sub(t, k_lo);
    let r_lo = s.sub(s.sub(t, r), k_lo);
    let tail = s.add(r_lo, s.mul(s.mul(r, r), horner(s, r, &coefficients)));
    let sum = s.add(1.0, r);
    let sum_error = s.add(s.sub(1.0, sum), r);
    let e_r = s.add(sum, s.add(sum_error, tail));
    let k_half = to_integer(s, s.mul(k, 0.5));
    let k_rest = s.sub(k, k_half);
    let power = |k: f64| {
        if k.is_nan() {
            f64::NAN
        } else {
            2f64.powi(k as i32)
        }
    };
    let result = s.mul(s.mul(e_r, power(k_half)), power(k_rest));
    precision.round(result)
}

/// `ln x` in `precision`.
pub fn ln(precision: Precision, x: f64) -> f64 {
    if x == 0.0 {
        return f64::NEG_INFINITY;
    }
    if x.is_nan() || x < 0.0 {
        return f64::NAN;
    }
    if x == f64::INFINITY {
        return f64::INFINITY;
    }
    let s = Soft(precision.wide());
    let binary64 = s.0 == Precision::F64;
    let (ln2_hi, ln2_lo) = if binary64 { LN2_64 } else { LN2_32 };
    let terms = if binary64 { 10 } else { 4 };
    let series: Vec<f64> = (1..=terms).map(|i| 2.0 / (2 * i + 1) as f64).collect();

    // x = m · 2^k with m in [s, 2s), s = sqrt(1/2) rounded to the precision
    let half_root = s.c(std::f64::consts::FRAC_1_SQRT_2);
    let mut exponent = x.log2().floor() as i32;
    if 2f64.powi(exponent) > x {
        exponent -= 1;
    }
    if 2f64.powi(exponent + 1) <= x {
        exponent += 1;
    }
    let mut m = x / 2f64.powi(exponent);
    if m >= 2.0 * half_root {
        m /= 2.0;
        exponent += 1;
    }
    let k = exponent as f64;

    // ln m = f - f²/2 + q (f²/2 + R(q²)), f = m - 1, q = f / (2 + f)
    let f = s.sub(m, 1.0);
    let q = s.div(f, s.add(2.0, f));
    let z = s.mul(q, q);
    let r = s.mul(z, horner(s, z, &series));
    // f² as an exact pair (Veltkamp split, Dekker's product), then halved
    let split = s.mul(if binary64 { 134_217_729.0 } else { 4097.0 }, f);
    let f_head = s.sub(split, s.sub(split, f));
    let f_tail = s.sub(f, f_head);
    let f_squared = s.mul(f, f);
    let cross = s.mul(f_head, f_tail);
    let f_squared_error = s.add(
        s.add(s.sub(s.mul(f_head, f_head), f_squared), s.add(cross, cross)),
        s.mul(f_tail, f_tail),
    );
    let half_square = s.mul(0.5, f_squared);
    let half_square_error = s.mul(0.5, f_squared_error);
    let correction = s.mul(q, s.add(half_square, r));
    // f - f²/2 as head and tail (Fast2Sum), then k ln 2 (TwoSum)
    let head = s.sub(f, half_square);
    let tail = s.add(
        s.sub(s.sub(f, head), half_square),
        s.sub(correction, half_square_error),
    );
    let k_ln2 = s.mul(k, s.c(ln2_hi));
    let sum = s.add(k_ln2, head);
    let sum_back = s.sub(sum, k_ln2);
    let sum_error = s.add(s.sub(k_ln2, s.sub(sum, sum_back)), s.sub(head, sum_back));
    let result = s.add(sum, s.add(sum_error, s.add(tail, s.mul(k, s.c(ln2_lo)))));
    precision.round(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_to_the_platform() {
        for x in [-50.0, -1.0, -0.1, 0.0, 0.3, 1.0, 20.0, 80.0] {
            let e = exp(Precision::F32, x);
            assert!((e - x.exp()).abs() <= 1e-6 * x.exp(), "exp({x}) = {e}");
        }
        for x in [1e-30, 0.1, 0.75, 1.0, 2.0, 1e20] {
            let l = ln(Precision::F32, x as f32 as f64);
            assert!(
                (l - (x as f32 as f64).ln()).abs() <= 1e-6 * (1.0 + l.abs()),
                "ln({x}) = {l}"
            );
        }
        assert_eq!(exp(Precision::F32, 0.0), 1.0);
        assert_eq!(ln(Precision::F32, 1.0), 0.0);
        assert_eq!(exp(Precision::F16, 12.0), 65504.0, "binary16 saturates");
    }
}
