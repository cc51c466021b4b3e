//! `F16`'s own branch-free conversions against `half`'s (with the
//! saturating overflow rule applied to `half`'s result): every binary16
//! value widened, and binary32 values narrowed on a dense sample plus every
//! boundary; `--ignored` checks all 2^32 binary32 values (about a minute in
//! release).

use snn_kernels::F16;

fn expected(x: f32) -> u16 {
    let h = half::f16::from_f32(x);
    if x.is_finite() && h.is_infinite() {
        (h.to_bits() & 0x8000) | 0x7bff
    } else {
        h.to_bits()
    }
}

fn check(bits: u32) {
    let x = f32::from_bits(bits);
    let ours = F16::from_f32(x);
    if x.is_nan() {
        assert!(ours.is_nan(), "{bits:#x}: NaN must stay NaN");
    } else {
        assert_eq!(
            ours.to_bits(),
            expected(x),
            "narrowing {x:e} ({bits:#010x})"
        );
    }
}

#[test]
fn widening_is_exact_for_every_binary16_value() {
    for bits in 0..=u16::MAX {
        let ours = F16::from_bits(bits).to_f32();
        let theirs = half::f16::from_bits(bits).to_f32();
        assert!(
            ours.to_bits() == theirs.to_bits() || ours.is_nan() && theirs.is_nan(),
            "widening {bits:#06x}"
        );
    }
}

#[test]
fn narrowing_rounds_to_nearest_even_and_saturates() {
    let mut bits = 0u32;
    while bits < u32::MAX - 4099 {
        check(bits);
        bits += 4099;
    }
    // around every binary16 value: the value, the midpoints and their neighbours
    for h in 0..=u16::MAX {
        let x = half::f16::from_bits(h).to_f32().to_bits();
        for delta in [0u32, 1, 0xfff, 0x1000, 0x1001, 0x1fff] {
            check(x.wrapping_add(delta));
            check(x.wrapping_sub(delta));
        }
    }
    for x in [
        65504.0f32,
        65519.99,
        65520.0,
        1e10,
        f32::MAX,
        f32::INFINITY,
        5.9604645e-8,
        2.9802322e-8,
        2.9802326e-8,
    ] {
        check(x.to_bits());
        check((-x).to_bits());
    }
}

#[test]
#[ignore = "exhaustive: run with --release -- --ignored"]
fn narrowing_matches_for_every_binary32_value() {
    for bits in 0..=u32::MAX {
        check(bits);
    }
}

mod common;

/// `F16::from_f64` rounds once, directly from binary64 (an independent
/// rounding, `round16`, is the reference): near every binary16 midpoint,
/// with binary64 offsets far below binary32's precision, where rounding
/// through `f32` first would go wrong.
#[test]
fn from_f64_rounds_once() {
    use common::soft_f16::{encode, round16};
    for h in 0..0x7bffu16 {
        let a = half::f16::from_bits(h).to_f64();
        let b = half::f16::from_bits(h + 1).to_f64();
        let mid = (a + b) / 2.0;
        for x in [
            a,
            mid,
            mid + mid * 1e-12,
            mid - mid * 1e-12,
            (a + mid) / 2.0,
            b * 1.0000001,
        ] {
            for x in [x, -x] {
                let expected = encode(round16(x));
                assert_eq!(F16::from_f64(x).to_bits(), expected, "from_f64({x:e})");
            }
        }
    }
    assert_eq!(F16::from_f64(1e300).to_bits(), 0x7bff);
    assert_eq!(F16::from_f64(f64::NEG_INFINITY).to_bits(), 0xfc00);
    assert!(F16::from_f64(f64::NAN).is_nan());
    assert_eq!(F16::from_f64(1e-300).to_bits(), 0);
}

/// `F16Lane`'s rounding (the form the fused loops compute `F16` in) gives
/// the value of `F16::from_f32`, bit for bit, on the same sample as
/// above: every binary16 value, the midpoints around it and their
/// neighbours, a stride over all binary32 values, and the boundaries.
#[test]
fn lane_rounding_equals_binary16_rounding() {
    use snn_kernels::real::round_to_binary16;
    let check_lane = |bits: u32| {
        let x = f32::from_bits(bits);
        let lane = round_to_binary16(x);
        let packed = F16::from_f32(x).to_f32();
        assert!(
            lane.to_bits() == packed.to_bits(),
            "{x:e} ({bits:#010x}): lane {:#010x}, binary16 {:#010x}",
            lane.to_bits(),
            packed.to_bits()
        );
    };
    let mut bits = 0u32;
    while bits < u32::MAX - 4099 {
        check_lane(bits);
        bits += 4099;
    }
    for h in 0..=u16::MAX {
        let x = half::f16::from_bits(h).to_f32().to_bits();
        for delta in [0u32, 1, 0xfff, 0x1000, 0x1001, 0x1fff] {
            check_lane(x.wrapping_add(delta));
            check_lane(x.wrapping_sub(delta));
        }
    }
    for x in [
        0.0f32,
        -0.0,
        65504.0,
        65519.99,
        65520.0,
        -65520.0,
        f32::MAX,
        f32::MIN,
    ] {
        check_lane(x.to_bits());
    }
    for bits in [
        0x7f80_0000u32,
        0xff80_0000,
        0x7fc0_0000,
        0x7f80_0001,
        0xffff_ffff,
        0x7fff_e000,
    ] {
        check_lane(bits);
    }
}

/// All 2^32 binary32 values through `F16Lane`'s rounding (about a minute
/// in release): `cargo test --release -p snn-kernels --test f16_conversions -- --ignored`.
#[test]
#[ignore]
fn lane_rounding_equals_binary16_rounding_everywhere() {
    use snn_kernels::real::round_to_binary16;
    for bits in 0..=u32::MAX {
        let x = f32::from_bits(bits);
        assert_eq!(
            round_to_binary16(x).to_bits(),
            F16::from_f32(x).to_f32().to_bits(),
            "{bits:#010x}"
        );
    }
}

/// `F16Storage`'s conversions: loading is exact, storing is the saturating
/// binary16 rounding (checked against `half` with the overflow rule, as
/// `F16`'s), `store_lane` is store-then-load (NaNs equal), and its own
/// operators are `F16`'s.
#[test]
fn f16_storage_loads_exactly_and_stores_rounded_once() {
    use snn_kernels::{F16Storage, Real};
    for bits in 0..=u16::MAX {
        let lane = F16Storage::from_bits(bits).to_lane();
        let theirs = half::f16::from_bits(bits).to_f32();
        assert!(
            lane.to_bits() == theirs.to_bits() || lane.is_nan() && theirs.is_nan(),
            "loading {bits:#06x}"
        );
        assert_eq!(<F16Storage as Real>::FORMAT.bits, 16);
    }
    let check_store = |bits: u32| {
        let x = f32::from_bits(bits);
        let stored = F16Storage::from_lane(x);
        let kept = F16Storage::store_lane(x);
        if x.is_nan() {
            assert!(stored.is_nan() && kept.is_nan(), "{bits:#x}: NaN stays NaN");
            // quiet: the top fraction bit is set
            assert_eq!(stored.to_bits() & 0x0200, 0x0200, "{bits:#x}: quiet NaN");
        } else {
            assert_eq!(
                stored.to_bits(),
                expected(x),
                "storing {x:e} ({bits:#010x})"
            );
            assert_eq!(
                kept.to_bits(),
                stored.to_lane().to_bits(),
                "store_lane {x:e} ({bits:#010x})"
            );
        }
    };
    let mut bits = 0u32;
    while bits < u32::MAX - 4099 {
        check_store(bits);
        bits += 4099;
    }
    for h in 0..=u16::MAX {
        let x = half::f16::from_bits(h).to_f32().to_bits();
        for delta in [0u32, 1, 0xfff, 0x1000, 0x1001, 0x1fff] {
            check_store(x.wrapping_add(delta));
            check_store(x.wrapping_sub(delta));
        }
    }
    // hand-picked: saturation, infinities, a tie to even, subnormals
    let store = |x: f32| F16Storage::from_lane(x).to_bits();
    assert_eq!(store(65519.99), 0x7bff);
    assert_eq!(store(65520.0), 0x7bff, "finite overflow saturates");
    assert_eq!(store(-1e30), 0xfbff);
    assert_eq!(store(f32::INFINITY), 0x7c00, "infinity stays");
    assert_eq!(store(f32::NEG_INFINITY), 0xfc00);
    assert_eq!(store(1.0 + 2f32.powi(-11)), 0x3c00, "tie to even");
    assert_eq!(store(2f32.powi(-24)), 0x0001);
    assert_eq!(
        store(2f32.powi(-25)),
        0x0000,
        "half the smallest subnormal ties to 0"
    );
    assert_eq!(store(-0.0), 0x8000);
    // the operators (outside the passes) are F16's
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..100_000 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let (a, b) = (state as u16, (state >> 16) as u16);
        let (sa, sb) = (F16Storage::from_bits(a), F16Storage::from_bits(b));
        let (fa, fb) = (F16::from_bits(a), F16::from_bits(b));
        for (ours, theirs) in [
            (sa + sb, fa + fb),
            (sa - sb, fa - fb),
            (sa * sb, fa * fb),
            (sa / sb, fa / fb),
            (-sa, -fa),
        ] {
            assert!(
                ours.to_bits() == theirs.to_bits() || ours.is_nan() && theirs.is_nan(),
                "{a:#06x} op {b:#06x}"
            );
        }
    }
}
