//! Accuracy of the crate's own `exp`, `ln` and `atan` against correctly
//! rounded results: the oracle is the platform's f64 function rounded to the
//! target format (accurate to well under an f64 ulp, so its rounding is
//! correct except in cases far rarer than these samples). Exhaustive over
//! binary16, sampled over binary32. The bounds asserted here are the ones
//! stated in `docs/accuracy.md`.

mod common;

use common::soft_f16::round16;
use common::ulp::ulp;
use snn_kernels::{math, F16};

/// Error of `got` in units in the last place of the correctly rounded
/// result `exact` rounds to (the ulp of the binade of `exact`).
fn ulps(got: f64, exact: f64, ulp_of: impl Fn(f64) -> f64) -> f64 {
    if got.is_nan() && exact.is_nan() || got == exact {
        return 0.0;
    }
    (got - exact).abs() / ulp_of(exact)
}

fn ulp32(x: f64) -> f64 {
    ulp(x, 23, -126)
}

fn ulp16(x: f64) -> f64 {
    ulp(x, 10, -14)
}

struct Stats {
    max: f64,
    at: f64,
    misrounded: usize,
    count: usize,
}

fn measure16(f: fn(F16) -> F16, oracle: fn(f64) -> f64, keep: impl Fn(f64) -> bool) -> Stats {
    let mut s = Stats {
        max: 0.0,
        at: 0.0,
        misrounded: 0,
        count: 0,
    };
    for bits in 0..=u16::MAX {
        let x = F16::from_bits(bits);
        let xv = x.to_f64();
        if !keep(xv) {
            continue;
        }
        let exact = oracle(xv);
        let got = f(x).to_f64();
        let rounded = round16(exact);
        if exact.is_finite() && rounded.is_finite() && exact.abs() < 65504.0 {
            let e = ulps(got, exact, ulp16);
            if e > s.max {
                s.max = e;
                s.at = xv;
            }
        }
        if !(got == rounded || got.is_nan() && rounded.is_nan()) {
            s.misrounded += 1;
        }
        s.count += 1;
    }
    s
}

fn measure32(f: fn(f32) -> f32, oracle: fn(f64) -> f64, lo: f32, hi: f32) -> Stats {
    let mut s = Stats {
        max: 0.0,
        at: 0.0,
        misrounded: 0,
        count: 0,
    };
    let mut bits = 0u32;
    while bits < 0xff80_0000 {
        let x = f32::from_bits(bits);
        bits += 40_503; // about 105 000 samples over all binades
        if !(x >= lo && x <= hi) {
            continue;
        }
        let exact = oracle(x as f64);
        let got = f(x) as f64;
        if (exact as f32).is_finite() {
            let e = ulps(got, exact, ulp32);
            if e > s.max {
                s.max = e;
                s.at = x as f64;
            }
        }
        if got != (exact as f32) as f64 {
            s.misrounded += 1;
        }
        s.count += 1;
    }
    s
}

impl Stats {
    /// Asserts the largest error and the number of misrounded results
    /// (`misrounded_ok(misrounded, count)`).
    fn assert_within(&self, what: &str, max_ulp: f64, misrounded_ok: fn(usize, usize) -> bool) {
        assert!(
            self.max < max_ulp,
            "{what}: {} ulp at {}",
            self.max,
            self.at
        );
        assert!(
            misrounded_ok(self.misrounded, self.count),
            "{what} misrounded {} of {}",
            self.misrounded,
            self.count
        );
    }
}

#[test]
fn exp_is_faithful() {
    measure32(math::exp, f64::exp, -103.0, 88.7).assert_within("f32 exp", 0.8, |m, n| m * 100 < n);
    measure16(math::exp, f64::exp, |x| x > -18.0 && x < 11.1).assert_within(
        "f16 exp",
        0.51,
        |m, _| m <= 8,
    );
}

#[test]
fn ln_is_faithful() {
    measure32(math::ln, f64::ln, f32::from_bits(1), f32::MAX).assert_within(
        "f32 ln",
        0.7,
        |m, n| m * 1000 < n,
    );
    measure16(math::ln, f64::ln, |x| x > 0.0 && x.is_finite()).assert_within(
        "f16 ln",
        0.51,
        |m, _| m <= 8,
    );
}

#[test]
fn atan_is_within_two_and_a_half_ulp() {
    let any = |_, _| true;
    measure32(math::atan, f64::atan, f32::MIN, f32::MAX).assert_within("f32 atan", 2.5, any);
    measure16(math::atan, f64::atan, |x| x.is_finite()).assert_within("f16 atan", 0.51, any);
}

#[test]
fn special_values() {
    assert_eq!(math::exp(0.0f32), 1.0);
    assert_eq!(math::exp(f32::INFINITY), f32::INFINITY);
    assert_eq!(math::exp(f32::NEG_INFINITY), 0.0);
    assert_eq!(math::exp(89.0f32), f32::INFINITY);
    assert_eq!(math::exp(-104.0f32), 0.0);
    assert!(math::exp(f32::NAN).is_nan());
    assert_eq!(
        math::exp(-87.5f32),
        (-87.5f64).exp() as f32,
        "subnormal result"
    );
    assert_eq!(math::ln(1.0f32), 0.0);
    assert_eq!(math::ln(0.0f32), f32::NEG_INFINITY);
    assert_eq!(math::ln(-0.0f32), f32::NEG_INFINITY);
    assert!(math::ln(-1.0f32).is_nan() && math::ln(f32::NAN).is_nan());
    assert_eq!(math::ln(f32::INFINITY), f32::INFINITY);
    assert_eq!(
        math::ln(f32::from_bits(1)),
        (f32::from_bits(1) as f64).ln() as f32,
        "subnormal input"
    );
    assert_eq!(math::atan(f32::INFINITY), core::f32::consts::FRAC_PI_2);
    assert_eq!(math::atan(-0.0f32).to_bits(), (-0.0f32).to_bits());
    // f16: overflow of exp saturates, as every F16 operation does
    assert_eq!(math::exp(F16::from_f32(12.0)).to_bits(), F16::MAX.to_bits());
    // ... for every finite argument, also beyond binary32's range of exp
    for x in [88.0f32, 88.75, 89.0, 100.0, 65504.0] {
        assert_eq!(
            math::exp(F16::from_f32(x)).to_bits(),
            F16::MAX.to_bits(),
            "{x}"
        );
    }
    assert_eq!(
        math::exp(F16::from_f32(f32::INFINITY)).to_f32(),
        f32::INFINITY
    );
    for x in [1.0e-3f64, 0.3, 2.0, 7.9] {
        assert_eq!(math::exp(x), x.exp(), "f64 exp({x})");
        assert_eq!(math::ln(x), x.ln(), "f64 ln({x})");
    }
}
