//! Elementary functions built only from `+ - * /`, comparisons, `select`
//! and bit casts, so that every backend (native Rust, the generated C++ on
//! the host, the IPU) computes them to the same bit.
//!
//! Each function is evaluated in [`Real::Wide`] (`f32` for binary16 and
//! binary32, `f64` for binary64) and rounded once to the argument's type.
//! Accuracy against correctly rounded results (measured by
//! `cargo run --release -p snn-kernels --example accuracy`, see
//! `docs/accuracy.md`) is stated on each function.

mod atan;
mod exp;
mod ln;
mod sqrt;

use crate::real::{Format, Mask, Real, Word};

/// `e^x`.
///
/// Cody–Waite reduction `x = k ln2 + r`, `|r| <= ln2/2`, a Taylor
/// polynomial for `e^r` with its leading `1 + r` summed exactly, and an exact
/// scaling by `2^k` split in two halves so that subnormal results round once.
/// Overflow gives `+inf`, underflow `+0`, NaN stays NaN.
///
/// For a type narrower than its wide type (binary16), a finite argument
/// above 88 is evaluated as `exp(88)`: its result saturates to the largest
/// finite value like every finite binary16 overflow (`exp(x)` is 65504 for
/// every finite `x` above `ln(65504) = 11.09`), instead of overflowing the
/// binary32 intermediate to `+inf` (which made, for example, the sigmoid
/// surrogate's gradient `inf/inf = NaN` in fp16). `exp(+inf)` stays `+inf`.
///
/// Accuracy: faithful (< 1 ulp) in f32 over the whole range and
/// correctly rounded for all binary16 inputs but a handful (see
/// `docs/accuracy.md`).
#[cfg_attr(not(debug_assertions), inline(always))]
pub fn exp<T: Real>(x: T) -> T {
    let mut wide = x.widen();
    if T::FORMAT.bits < <T::Wide as Real>::FORMAT.bits {
        let highest = <T::Wide as Real>::constant(88.0);
        let finite_overflow = wide
            .gt(highest)
            .and(wide.lt(<T::Wide as Real>::constant(f64::INFINITY)));
        wide = <T::Wide as Real>::select(finite_overflow, highest, wide);
    }
    T::narrow(exp::exp_wide(wide))
}

/// `ln x` (natural logarithm).
///
/// `x = 2^k m` with `m` in `[sqrt(1/2), sqrt(2))`, then
/// `ln m = f - (f²/2 - s (f²/2 + R(s²)))` with `f = m - 1`, `s = f/(2+f)` and
/// `R` the series of `2 atanh(s) - 2s`. `ln 0 = -inf`, `ln x = NaN` for
/// `x < 0`, `ln inf = inf`; subnormal inputs are handled.
///
/// Accuracy: faithful (< 1 ulp) in f32; binary16 see `docs/accuracy.md`.
#[cfg_attr(not(debug_assertions), inline(always))]
pub fn ln<T: Real>(x: T) -> T {
    T::narrow(ln::ln_wide(x.widen()))
}

/// `atan x`, in `(-pi/2, pi/2)`.
///
/// Reduction to `|y| <= tan(pi/8)` through `atan x = pi/2 - atan(1/x)` and
/// `atan x = pi/4 + atan((x-1)/(x+1))`, then the Taylor series. Odd:
/// `atan(-0) = -0`. Not used by the built-in kernels; provided for
/// user-defined surrogates. Accuracy: within 2 ulp in f32.
#[cfg_attr(not(debug_assertions), inline(always))]
pub fn atan<T: Real>(x: T) -> T {
    T::narrow(atan::atan_wide(x.widen()))
}

/// `sqrt x`.
///
/// A starting guess from the bits (the exponent halved), then Newton's
/// iteration `y ← (y + x/y)·1/2` a fixed number of times; tiny and subnormal
/// inputs are scaled by an even power of two first. `sqrt(±0) = ±0`,
/// `sqrt(x < 0) = NaN`, `sqrt(inf) = inf`. Used by the Adam update.
///
/// Accuracy: see `docs/accuracy.md` (measured exhaustively in binary32).
#[cfg_attr(not(debug_assertions), inline(always))]
pub fn sqrt<T: Real>(x: T) -> T {
    T::narrow(sqrt::sqrt_wide(x.widen()))
}

/// True when `W` is binary64 (selects the longer polynomials).
#[cfg_attr(not(debug_assertions), inline(always))]
fn is_binary64<W: Real>() -> bool {
    W::FORMAT == Format::BINARY64
}

/// `1.5 * 2^fraction_bits`: adding and subtracting it rounds a value of
/// magnitude below `2^(fraction_bits - 1)` to the nearest integer (ties to
/// even), with nothing but two additions.
#[cfg_attr(not(debug_assertions), inline(always))]
fn round_shifter<W: Real>() -> W {
    W::constant(1.5 * pow2_f64(W::FORMAT.fraction_bits as i32))
}

/// `round(x)` for `|x| < 2^(fraction_bits - 1)`.
#[cfg_attr(not(debug_assertions), inline(always))]
fn round_to_integer<W: Real>(x: W) -> W {
    let shifter = round_shifter::<W>();
    (x + shifter) - shifter
}

/// `2^k` for an integral `k` whose power is a normal number of `W`, built
/// from its bits: the bits of `k + 1.5*2^F` hold `k` in their low part.
#[cfg_attr(not(debug_assertions), inline(always))]
fn pow2_integer<W: Real>(k: W) -> W {
    let format = W::FORMAT;
    let shifter_bits = round_shifter::<W>().to_bits();
    // low bits now hold k (two's complement offset from the shifter's bits)
    let k_bits = (k + round_shifter::<W>()).to_bits();
    let biased = k_bits
        .wrapping_sub(shifter_bits)
        .wrapping_add(W::Bits::lit(format.exponent_bias as u64));
    W::from_bits(biased << format.fraction_bits)
}

/// `2^e` as an `f64` (exact for the exponents used here).
const fn pow2_f64(e: i32) -> f64 {
    f64::from_bits(((1023 + e) as u64) << 52)
}

/// Evaluates `c[0] + x*(c[1] + x*(c[2] + ...))` with each coefficient
/// rounded to `W` (Horner's rule, one rounding per operation).
#[cfg_attr(not(debug_assertions), inline(always))]
fn horner<W: Real>(x: W, coefficients: &[f64]) -> W {
    let mut acc = W::constant(coefficients[coefficients.len() - 1]);
    for &c in coefficients[..coefficients.len() - 1].iter().rev() {
        acc = W::constant(c) + x * acc;
    }
    acc
}
