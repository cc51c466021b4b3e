//! `e^x` in the wide precision (see [`super::exp`]).

use super::{horner, is_binary64, pow2_integer, round_to_integer};
use crate::real::Real;

/// `1/ln 2`.
const INV_LN2: f64 = core::f64::consts::LOG2_E;
/// `ln 2` split for binary32: the high part has 16 significant bits, so
/// `k * LN2_HI` is exact for `|k| < 256`.
const LN2_HI_32: f64 = 0.693145751953125;
const LN2_LO_32: f64 = 1.428606765330187e-6;
/// `ln 2` split for binary64: the high part has 32 significant bits, so
/// `k * LN2_HI` is exact for `|k| < 2^20`.
const LN2_HI_64: f64 = 6.931471803691238e-1;
const LN2_LO_64: f64 = 1.9082149292705877e-10;

/// Taylor coefficients `1/n!` for `n = 2..=13`: `e^r = 1 + r + r² P(r)`.
const INV_FACTORIALS: [f64; 12] = [
    1.0 / 2.0,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5040.0,
    1.0 / 40320.0,
    1.0 / 362880.0,
    1.0 / 3628800.0,
    1.0 / 39916800.0,
    1.0 / 479001600.0,
    1.0 / 6227020800.0,
];

/// `e^x` for `W = W::Wide` (binary32 or binary64).
#[cfg_attr(not(debug_assertions), inline(always))]
pub(super) fn exp_wide<W: Real>(x: W) -> W {
    let wide = is_binary64::<W>();
    // Beyond these bounds the result is +inf or +0 anyway; clamping keeps k
    // in the range where the bit construction of 2^k is valid.
    let (lowest, highest) = if wide {
        (-746.0, 710.0)
    } else {
        (-104.0, 89.0)
    };
    let (ln2_hi, ln2_lo) = if wide {
        (LN2_HI_64, LN2_LO_64)
    } else {
        (LN2_HI_32, LN2_LO_32)
    };
    // Degree 7 in binary32 (truncation < 2^-27), 13 in binary64.
    let coefficients = if wide {
        &INV_FACTORIALS[..]
    } else {
        &INV_FACTORIALS[..6]
    };

    let one = W::one();
    let x = x.clamp(W::constant(lowest), W::constant(highest));
    let k = round_to_integer(x * W::constant(INV_LN2));
    // r = x - k ln2 as r + r_lo; the first subtraction is exact.
    let t = x - k * W::constant(ln2_hi);
    let k_ln2_lo = k * W::constant(ln2_lo);
    let r = t - k_ln2_lo;
    let r_lo = (t - r) - k_ln2_lo;
    // e^(r + r_lo) = 1 + r + (r_lo + r² P(r)); 1 + r is summed exactly
    // (|r| < 1, so Fast2Sum applies).
    let tail = r_lo + (r * r) * horner(r, coefficients);
    let sum = one + r;
    let sum_error = (one - sum) + r;
    let e_r = sum + (sum_error + tail);
    // 2^k in two halves, both normal; the last product rounds once.
    let k_half = round_to_integer(k * W::constant(0.5));
    (e_r * pow2_integer(k_half)) * pow2_integer(k - k_half)
}
