//! `sqrt x` in the wide precision (see [`super::sqrt`]).

use super::is_binary64;
use crate::real::{Mask, Real, Word};

/// Below this, inputs are scaled up by `2^SCALE` first (an even power, so
/// the result scales back exactly by `2^(-SCALE/2)`): subnormals get a full
/// significand and the starting guess from the bits stays good.
const TINY_32: f64 = 1.0e-30;
const TINY_64: f64 = 1.0e-300;
const SCALE_32: i32 = 100;
const SCALE_64: i32 = 1000;

/// `(bits >> 1) + MAGIC` is within 4 % of `sqrt x` for normal `x`: halving
/// the biased exponent, with the bias and the mean error folded in.
const MAGIC_32: u64 = 0x1fbd_1df5;
const MAGIC_64: u64 = 0x1ff7_a3be_a91d_9b1b;

/// `sqrt x` for `W = W::Wide` (binary32 or binary64): a starting guess from
/// the bits, then Newton's iteration `y ← (y + x/y) · 1/2`, 4 times in
/// binary32 and 6 in binary64 (each doubles the correct bits: 4 % → 2^-47
/// and 2^-100, so the last step starts from a correctly rounded-or-adjacent
/// value and rounds twice). `sqrt(±0) = ±0`, `sqrt(x < 0) = NaN`,
/// `sqrt(inf) = inf`, NaN stays NaN.
#[cfg_attr(not(debug_assertions), inline(always))]
pub(super) fn sqrt_wide<W: Real>(x: W) -> W {
    let wide = is_binary64::<W>();
    let (tiny, scale, magic, steps) = if wide {
        (TINY_64, SCALE_64, MAGIC_64, 6)
    } else {
        (TINY_32, SCALE_32, MAGIC_32, 4)
    };
    let zero = W::zero();
    let is_tiny = x.lt(W::constant(tiny));
    let scaled = x * W::select(is_tiny, W::constant(pow2(scale)), W::one());
    let mut y = W::from_bits((scaled.to_bits() >> 1).wrapping_add(W::Bits::lit(magic)));
    let half = W::constant(0.5);
    for _ in 0..steps {
        y = (y + scaled / y) * half;
    }
    let y = y * W::select(is_tiny, W::constant(pow2(-scale / 2)), W::one());
    let nan = W::constant(f64::NAN);
    let infinite = x.eq(W::constant(f64::INFINITY));
    W::select(x.eq(zero).or(infinite), x, W::select(x.lt(zero), nan, y))
}

/// `2^k` as an `f64` (exact for the exponents used here).
const fn pow2(k: i32) -> f64 {
    let mut value = 1.0;
    let mut i = 0;
    while i < k.unsigned_abs() {
        value = if k > 0 { value * 2.0 } else { value / 2.0 };
        i += 1;
    }
    value
}
