//! `ln x` in the wide precision (see [`super::ln`]).

use super::{horner, is_binary64, pow2_f64};
use crate::real::{Mask, Real, Word};

const LN2_HI_32: f64 = 0.693145751953125;
const LN2_LO_32: f64 = 1.428606765330187e-6;
const LN2_HI_64: f64 = 6.931471803691238e-1;
const LN2_LO_64: f64 = 1.9082149292705877e-10;

/// Series coefficients of `R(z) = sum 2 z^i / (2i + 1)`, `i >= 1`, divided by
/// `z`: `R(z) = z (2/3 + z (2/5 + ...))`.
const ATANH_SERIES: [f64; 10] = [
    2.0 / 3.0,
    2.0 / 5.0,
    2.0 / 7.0,
    2.0 / 9.0,
    2.0 / 11.0,
    2.0 / 13.0,
    2.0 / 15.0,
    2.0 / 17.0,
    2.0 / 19.0,
    2.0 / 21.0,
];

/// `ln x` for `W = W::Wide` (binary32 or binary64). The leading terms are
/// summed exactly (Dekker's product for `f²`, TwoSum), so the result is
/// correctly rounded for all but a few inputs.
#[cfg_attr(not(debug_assertions), inline(always))]
pub(super) fn ln_wide<W: Real>(x: W) -> W {
    let format = W::FORMAT;
    let wide = is_binary64::<W>();
    let (ln2_hi, ln2_lo) = if wide {
        (LN2_HI_64, LN2_LO_64)
    } else {
        (LN2_HI_32, LN2_LO_32)
    };
    // |s| <= 0.1716: 4 terms leave < 2^-30 relative in binary32, 10 in binary64.
    let series = if wide {
        &ATANH_SERIES[..]
    } else {
        &ATANH_SERIES[..4]
    };
    let fraction_bits = format.fraction_bits;

    // Subnormals: scale into the normal range first.
    let smallest_normal = W::constant(pow2_f64(1 - format.exponent_bias as i32));
    let subnormal = x.lt(smallest_normal);
    let scale = (fraction_bits + 1) as f64;
    let xs = W::select(
        subnormal,
        x * W::constant(pow2_f64(fraction_bits as i32 + 1)),
        x,
    );
    let scale_back = W::select(subnormal, W::constant(scale), W::zero());

    // Move the exponent boundary to sqrt(1/2): m in [sqrt(1/2), sqrt(2)).
    let sqrt_half_bits = W::constant(core::f64::consts::FRAC_1_SQRT_2).to_bits();
    let one_bits = W::Bits::lit(format.one_bits());
    let fraction_mask = W::Bits::lit((1u64 << fraction_bits) - 1);
    let shifted = xs
        .to_bits()
        .wrapping_add(one_bits.wrapping_sub(sqrt_half_bits));
    let biased_exponent = shifted >> fraction_bits;
    let m = W::from_bits((shifted & fraction_mask).wrapping_add(sqrt_half_bits));
    // k as a float: the bits of 2^F with the exponent in the low part.
    let two_pow_f = W::constant(pow2_f64(fraction_bits as i32));
    let exponent = W::from_bits(two_pow_f.to_bits() | biased_exponent) - two_pow_f;
    let k = (exponent - W::constant(format.exponent_bias as f64)) - scale_back;

    // ln m = f - f²/2 + s (f²/2 + R(s²)), f = m - 1 exact, s = f / (2 + f)
    let f = m - W::one();
    let s = f / (W::constant(2.0) + f);
    let z = s * s;
    let r = z * horner(z, series);
    // f²/2 exactly, as a head and a tail (Dekker's product: no FMA needed)
    let splitter = W::constant(if wide { 134_217_729.0 } else { 4097.0 });
    let c = splitter * f;
    let f_hi = c - (c - f);
    let f_lo = f - f_hi;
    let square = f * f;
    let square_error = ((f_hi * f_hi - square) + (f_hi * f_lo + f_hi * f_lo)) + f_lo * f_lo;
    let half = W::constant(0.5);
    let (h_hi, h_lo) = (half * square, half * square_error);
    let correction = s * (h_hi + r);
    // f - h_hi exactly (|f| > h_hi: Fast2Sum), then the small terms
    let t_hi = f - h_hi;
    let t_lo = ((f - t_hi) - h_hi) + (correction - h_lo);
    // + k ln 2, the leading sum exact (TwoSum)
    let k_hi = k * W::constant(ln2_hi);
    let u_hi = k_hi + t_hi;
    let back = u_hi - k_hi;
    let u_lo = (k_hi - (u_hi - back)) + (t_hi - back);
    let result = u_hi + (u_lo + (t_lo + k * W::constant(ln2_lo)));

    let infinity = W::constant(f64::INFINITY);
    let result = W::select(x.eq(W::zero()), -infinity, result);
    let result = W::select(x.eq(infinity), infinity, result);
    // x < 0 and NaN: NaN
    W::select(x.ge(W::zero()).not(), W::constant(f64::NAN), result)
}
