//! The host stand-in for Poplar's vertex headers against independent
//! expectations: `snn_kernels::F16` for binary16, values derived by hand, and
//! Rust's own IEEE `f32` arithmetic.

use snn_kernels::{Real, F16};
use snn_poplar_host::stand_in::{
    f32_from_half, half_from_f32, mul_add_as_written, scale, scale_half,
};

fn half_is_nan(bits: u16) -> bool {
    bits & 0x7c00 == 0x7c00 && bits & 0x03ff != 0
}

/// `half_from_f32(x)` is `F16::narrow(x)`; a NaN must be a quiet NaN of the
/// same sign (the payload may differ).
fn check_narrow(x: f32) {
    let got = half_from_f32(x);
    let want = F16::narrow(x).to_bits();
    if half_is_nan(want) {
        assert!(
            half_is_nan(got) && got & 0x8000 == want & 0x8000 && got & 0x0200 != 0,
            "x = {x:e} ({:#010x}): got {got:#06x}, want a quiet NaN like {want:#06x}",
            x.to_bits()
        );
    } else {
        assert_eq!(
            got,
            want,
            "x = {x:e} ({:#010x}): got {got:#06x}, want {want:#06x}",
            x.to_bits()
        );
    }
}

#[test]
fn half_from_f32_matches_kernels_on_a_stride_of_all_patterns() {
    // 97 is odd, so the stride walks through every exponent and both signs,
    // about 86 000 patterns for each exponent.
    let mut checked = 0u64;
    for bits in (0..=u32::MAX).step_by(97) {
        check_narrow(f32::from_bits(bits));
        checked += 1;
    }
    assert_eq!(checked, u64::from(u32::MAX) / 97 + 1);
}

#[test]
fn half_from_f32_matches_kernels_at_every_halfway_point() {
    // Between every two neighbouring finite binary16 values, the midpoint
    // (a tie, exact in f32) and the f32 values one ulp either side of it.
    for low in 0u16..0x7bff {
        let a = F16::from_bits(low).widen();
        let b = F16::from_bits(low + 1).widen();
        let mid = ((f64::from(a) + f64::from(b)) / 2.0) as f32;
        assert_eq!(f64::from(mid), (f64::from(a) + f64::from(b)) / 2.0);
        for x in [
            mid,
            f32::from_bits(mid.to_bits() - 1),
            f32::from_bits(mid.to_bits() + 1),
        ] {
            check_narrow(x);
            check_narrow(-x);
        }
    }
}

#[test]
fn half_from_f32_special_values() {
    let f = f32::from_bits;
    // (input, binary16 bits derived by hand)
    let cases: &[(f32, u16)] = &[
        (0.0, 0x0000),
        (-0.0, 0x8000),
        (1.0, 0x3c00),
        (-2.0, 0xc000),
        (f32::INFINITY, 0x7c00),
        (f32::NEG_INFINITY, 0xfc00),
        // the largest finite value, and values that round to it or beyond
        (65504.0, 0x7bff),
        (-65504.0, 0xfbff),
        (f(0x477f_efff), 0x7bff), // 65519.996: rounds down to 65504
        (65520.0, 0x7bff),        // the tie that IEEE rounds to infinity: saturates
        (-65520.0, 0xfbff),
        (65536.0, 0x7bff),
        (1.0e9, 0x7bff),
        (f32::MAX, 0x7bff),
        (f32::MIN, 0xfbff),
        // ties in the normal range go to even
        (1.0 + 1.0 / 2048.0, 0x3c00),
        (1.0 + 3.0 / 2048.0, 0x3c02),
        (f(0x3f80_1001), 0x3c01), // just above the first tie
        // the smallest subnormals and the ties around them
        (f(0x3380_0000), 0x0001), // 2^-24, the smallest subnormal
        (f(0xb380_0000), 0x8001),
        (f(0x3300_0000), 0x0000), // 2^-25, a tie: to even, zero
        (f(0xb300_0000), 0x8000),
        (f(0x3300_0001), 0x0001), // just above it
        (f(0x32ff_ffff), 0x0000), // just below it
        (f(0x33c0_0000), 0x0002), // 3 * 2^-25 = 1.5 * 2^-24, a tie: to even, two
        (f(0x3420_0000), 0x0002), // 5 * 2^-26 = 2.5 * 2^-24, a tie: two
        (f(0x3460_0000), 0x0004), // 7 * 2^-26 = 3.5 * 2^-24, a tie: four
        (f(0x0000_0001), 0x0000), // binary32 subnormals
        (f(0x807f_ffff), 0x8000),
        (f(0x387f_c000), 0x03ff), // the largest subnormal, 1023 * 2^-24
        (f(0x387f_e000), 0x0400), // halfway to 2^-14: to even, the smallest normal
        (f(0x387f_dfff), 0x03ff),
        (f(0x3880_0000), 0x0400), // 2^-14
    ];
    for &(x, want) in cases {
        assert_eq!(half_from_f32(x), want, "x = {x:e} ({:#010x})", x.to_bits());
        assert_eq!(
            F16::narrow(x).to_bits(),
            want,
            "the kernels disagree with the hand value"
        );
    }
    for nan in [
        0x7fc0_0000u32,
        0xffc0_0000,
        0x7f80_0001, // signalling, payload only in the low bits
        0x7fbf_ffff,
        0xff80_2000,
        0x7fff_ffff,
        0xffff_ffff,
    ] {
        check_narrow(f(nan));
    }
}

#[test]
fn f32_from_half_matches_kernels_for_all_patterns() {
    for bits in 0..=u16::MAX {
        let got = f32_from_half(bits);
        let want = F16::from_bits(bits).widen();
        if want.is_nan() {
            assert!(
                got.is_nan() && got.is_sign_negative() == want.is_sign_negative(),
                "{bits:#06x}: got {got:e}, want NaN"
            );
        } else {
            assert_eq!(
                got.to_bits(),
                want.to_bits(),
                "{bits:#06x}: got {got:e}, want {want:e}"
            );
        }
    }
    // A few by hand.
    assert_eq!(f32_from_half(0x0001), f32::from_bits(0x3380_0000)); // 2^-24
    assert_eq!(f32_from_half(0x03ff), f32::from_bits(0x387f_c000));
    assert_eq!(f32_from_half(0x7bff), 65504.0);
    assert_eq!(f32_from_half(0xfc00), f32::NEG_INFINITY);
    assert_eq!(f32_from_half(0x8000).to_bits(), 0x8000_0000);
}

/// `a * b` rounded to f32, then `+ c` rounded: computed in f64, where the
/// product of two f32 values is exact.
fn separately_rounded(a: f32, b: f32, c: f32) -> f32 {
    let product = (f64::from(a) * f64::from(b)) as f32;
    product + c
}

#[test]
fn multiply_add_is_not_fused() {
    // (1 + 2^-12)^2 = 1 + 2^-11 + 2^-24: the product rounds (a tie, to even)
    // to 1 + 2^-11, so the separate result is 2^-11; fused it would be
    // 2^-11 + 2^-24.
    let a = 1.0 + f32::powi(2.0, -12);
    let separate = f32::powi(2.0, -11);
    assert_eq!(separately_rounded(a, a, -1.0), separate);
    assert_ne!(a.mul_add(a, -1.0), separate, "the case must tell FMA apart");
    assert_eq!(mul_add_as_written(a, a, -1.0).to_bits(), separate.to_bits());

    // Many more, where the two results differ: c = -(a * b) makes the fused
    // result the rounding error of the product.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        // a float in [1, 2) times a sign and a power of two in 2^-8 .. 2^8
        let top = (state >> 32) as u32;
        let exponent = 127 - 8 + (top >> 23) % 17;
        f32::from_bits((top & 0x8000_0000) | (exponent << 23) | (top & 0x007f_ffff))
    };
    let mut differing = 0;
    for i in 0..20_000 {
        let (a, b) = (next(), next());
        let c = if i % 2 == 0 { -(a * b) } else { next() };
        let want = separately_rounded(a, b, c);
        if a.mul_add(b, c).to_bits() != want.to_bits() {
            differing += 1;
        }
        assert_eq!(
            mul_add_as_written(a, b, c).to_bits(),
            want.to_bits(),
            "a = {a:e}, b = {b:e}, c = {c:e}"
        );
    }
    assert!(differing > 5_000, "only {differing} cases tell FMA apart");
}

const SIZES: [usize; 6] = [0, 1, 5, 6, 7, 1000];

#[test]
fn multi_vertex_visits_every_element_once() {
    const SENTINEL: f32 = -12345.0;
    let k = 1.7f32;
    for n in SIZES {
        let input: Vec<f32> = (0..n).map(|i| i as f32 * 0.37 - 5.0).collect();
        // Longer than n: the vertex must not touch the tail.
        let mut output = vec![SENTINEL; n + 3];
        let mut visits = vec![0u32; n + 3];
        scale(&input, &mut output[..n], &mut visits[..n], k);
        for i in 0..n {
            assert_eq!(
                visits[i], 1,
                "n = {n}: element {i} visited {} times",
                visits[i]
            );
            assert_eq!(
                output[i].to_bits(),
                (input[i] * k).to_bits(),
                "n = {n}, i = {i}"
            );
        }
        assert!(visits[n..].iter().all(|&v| v == 0), "n = {n}: tail visited");
        assert!(
            output[n..].iter().all(|&v| v == SENTINEL),
            "n = {n}: tail written"
        );
    }
}

#[test]
fn half_multi_vertex_rounds_once_per_operation() {
    let k = 3.3f32;
    for n in SIZES {
        // Every kind of binary16: subnormals, values whose product
        // saturates, infinities and NaN, both signs.
        let input: Vec<u16> = (0..n).map(|i| (i as u16).wrapping_mul(0x9e37)).collect();
        let mut output = vec![0xdeadu16; n + 3];
        scale_half(&input, &mut output[..n], k);
        for i in 0..n {
            let want = F16::narrow(F16::from_bits(input[i]).widen() * k).to_bits();
            let got = output[i];
            if half_is_nan(want) {
                assert!(
                    half_is_nan(got),
                    "n = {n}, i = {i}: got {got:#06x}, want NaN"
                );
            } else {
                assert_eq!(got, want, "n = {n}, i = {i}: input {:#06x}", input[i]);
            }
        }
        assert!(
            output[n..].iter().all(|&v| v == 0xdead),
            "n = {n}: tail written"
        );
    }
}
