//! The reference's transcription of `exp` and `ln` gives the kernels' bits:
//! every binary16 input, and a stride through every binary32 exponent
//! (subnormals, ±0, infinities and NaN included).

use snn_kernels::{Real, F16};
use snn_reference_independent::elementary::{exp, ln};
use snn_reference_independent::Precision;

fn same(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

fn f32_inputs() -> impl Iterator<Item = f32> {
    // An odd stride visits every exponent and many fractions of each.
    (0..=u32::MAX / 1021).map(|i| f32::from_bits(i.wrapping_mul(1021)))
}

#[test]
fn binary32_exp_and_ln_agree_with_the_kernels() {
    let mut mismatches = Vec::new();
    for x in f32_inputs().chain([0.0, -0.0, f32::INFINITY, f32::MIN_POSITIVE, 1.0]) {
        let e = exp(Precision::F32, x as f64);
        let l = ln(Precision::F32, x as f64);
        if !same(e, Real::exp(x) as f64) {
            mismatches.push(("exp", x, e, Real::exp(x)));
        }
        if !same(l, Real::ln(x) as f64) {
            mismatches.push(("ln", x, l, Real::ln(x)));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches, first: {:?}",
        mismatches.len(),
        &mismatches[..mismatches.len().min(5)]
    );
}

#[test]
fn binary16_exp_and_ln_agree_with_the_kernels() {
    let mut mismatches = Vec::new();
    for bits in 0..=u16::MAX {
        let x = F16::from_bits(bits);
        let wide = f64::from(x.widen());
        let e = exp(Precision::F16, wide);
        let l = ln(Precision::F16, wide);
        let ke = f64::from(x.exp().widen());
        let kl = f64::from(x.ln().widen());
        if !same(e, ke) {
            mismatches.push(("exp", bits, e, ke));
        }
        if !same(l, kl) {
            mismatches.push(("ln", bits, l, kl));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches, first: {:?}",
        mismatches.len(),
        &mismatches[..mismatches.len().min(5)]
    );
}
