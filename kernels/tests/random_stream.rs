//! The counter-based random stream: the generic implementation equals a
//! plain 32-bit one written here, in every word width; the numbers are in
//! [0, 1), exact in their type, equal in f32 and f64, and look uniform.

use snn_kernels::rng::{random_bits, uniform};
use snn_kernels::F16;

/// The mixer, written plainly on `u32`.
fn mix(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x7feb_352d);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846c_a68b);
    x ^ (x >> 16)
}

fn plain(seed: u32, step: u32, element: u32) -> u32 {
    mix(mix(mix(seed.wrapping_add(0x9e37_79b9)) ^ step) ^ element)
}

#[test]
fn generic_stream_equals_the_plain_32_bit_one() {
    for (seed, step, element) in [
        (0, 0, 0),
        (1, 2, 3),
        (u32::MAX, 99, 12345),
        (42, u32::MAX, u32::MAX),
    ] {
        let expected = plain(seed, step, element);
        assert_eq!(random_bits::<u32>(seed, step, element), expected);
        assert_eq!(
            random_bits::<u64>(seed as u64, step as u64, element as u64),
            expected as u64
        );
    }
}

#[test]
fn numbers_are_uniform_in_unit_interval_and_agree_across_precisions() {
    let mut sum = 0.0;
    let mut buckets = [0usize; 10];
    let n = 100_000u32;
    for element in 0..n {
        let u32v: f32 = uniform(7, 3, element);
        let u64v: f64 = uniform(7, 3, element);
        let u16v: F16 = uniform(7, 3, element);
        assert!((0.0..1.0).contains(&u32v) && (0.0..1.0).contains(&u16v.to_f32()));
        assert_eq!(u32v as f64, u64v, "f32 and f64 draw the same number");
        assert_eq!(
            u32v,
            (plain(7, 3, element) >> 9) as f32 / (1u32 << 23) as f32
        );
        assert_eq!(u16v.to_f32(), (plain(7, 3, element) >> 22) as f32 / 1024.0);
        sum += u64v;
        buckets[(u64v * 10.0) as usize] += 1;
    }
    let mean = sum / n as f64;
    assert!((mean - 0.5).abs() < 0.005, "mean {mean}");
    for count in buckets {
        assert!(
            (count as f64 - 10_000.0).abs() < 500.0,
            "buckets {buckets:?}"
        );
    }
}
