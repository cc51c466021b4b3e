//! `atan x` in the wide precision (see [`super::atan`]).

use super::{horner, is_binary64};
use crate::real::{Real, Word};

/// `tan(pi/8)`: above it, `atan x = pi/4 + atan((x-1)/(x+1))`.
const TAN_PI_8: f64 = 0.414_213_562_373_095_03;

const FRAC_PI_4: f64 = core::f64::consts::FRAC_PI_4;
const FRAC_PI_2: f64 = core::f64::consts::FRAC_PI_2;
/// `pi/4 - FRAC_PI_4` and `pi/2 - FRAC_PI_2`: the binary64 rounding errors.
const FRAC_PI_4_LO: f64 = 3.061_616_997_868_383e-17;
const FRAC_PI_2_LO: f64 = 6.123_233_995_736_766e-17;

/// `value` as `W`'s rounded constant plus the rounding error (`lo_64` is the
/// error of the binary64 rounding).
fn split<W: Real>(value: f64, lo_64: f64) -> (W, W) {
    if is_binary64::<W>() {
        (W::constant(value), W::constant(lo_64))
    } else {
        let hi = value as f32 as f64;
        (W::constant(hi), W::constant((value - hi) + lo_64))
    }
}

/// `(-1)^i / (2i + 3)` for `i >= 0`: `atan y = y + y z Q(z)`, `z = y²`.
const ATAN_SERIES: [f64; 21] = [
    -1.0 / 3.0,
    1.0 / 5.0,
    -1.0 / 7.0,
    1.0 / 9.0,
    -1.0 / 11.0,
    1.0 / 13.0,
    -1.0 / 15.0,
    1.0 / 17.0,
    -1.0 / 19.0,
    1.0 / 21.0,
    -1.0 / 23.0,
    1.0 / 25.0,
    -1.0 / 27.0,
    1.0 / 29.0,
    -1.0 / 31.0,
    1.0 / 33.0,
    -1.0 / 35.0,
    1.0 / 37.0,
    -1.0 / 39.0,
    1.0 / 41.0,
    -1.0 / 43.0,
];

/// `atan x` for `W = W::Wide` (binary32 or binary64).
#[cfg_attr(not(debug_assertions), inline(always))]
pub(super) fn atan_wide<W: Real>(x: W) -> W {
    let series = if is_binary64::<W>() {
        &ATAN_SERIES[..]
    } else {
        &ATAN_SERIES[..10]
    };
    // pi/4 and pi/2 as the rounded value plus its rounding error
    let (quarter_pi_hi, quarter_pi_lo) = split::<W>(FRAC_PI_4, FRAC_PI_4_LO);
    let (half_pi_hi, half_pi_lo) = split::<W>(FRAC_PI_2, FRAC_PI_2_LO);

    let one = W::one();
    let ax = x.abs();
    let inverted = ax.gt(one);
    let a = W::select(inverted, one / ax, ax);
    let shifted = a.gt(W::constant(TAN_PI_8));
    let y = W::select(shifted, (a - one) / (a + one), a);
    let z = y * y;
    let p = y + (y * z) * horner(z, series);
    let p = W::select(shifted, quarter_pi_hi + (p + quarter_pi_lo), p);
    let p = W::select(inverted, half_pi_hi - (p - half_pi_lo), p);
    // odd: copy the sign of x (p >= 0 here)
    let sign = W::Bits::lit(W::FORMAT.sign_mask());
    W::from_bits(p.to_bits() | (x.to_bits() & sign))
}
