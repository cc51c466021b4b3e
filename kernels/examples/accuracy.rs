//! Measures the accuracy of the crate's `exp`, `ln`, `atan` and `sqrt` against
//! correctly rounded results, exhaustively: every binary32 input in the
//! range each function is used on, and every binary16 input. The oracle is
//! the platform's f64 function rounded to the target format.
//!
//! `cargo run --release -p snn-kernels --example accuracy` (about 15 minutes;
//! `ACCURACY_F16_ONLY=1` for the binary16 rows, a second)
//! prints the table of `docs/accuracy.md`.

use snn_kernels::{math, F16};

#[path = "../tests/common/ulp.rs"]
mod ulp;

use ulp::ulp;

struct Row {
    max_ulp: f64,
    worst: f64,
    misrounded: u64,
    count: u64,
}

impl Row {
    fn new() -> Row {
        Row {
            max_ulp: 0.0,
            worst: 0.0,
            misrounded: 0,
            count: 0,
        }
    }

    fn add(
        &mut self,
        x: f64,
        got: f64,
        exact: f64,
        rounded: f64,
        fraction: i32,
        min_exponent: i32,
    ) {
        self.count += 1;
        if got == rounded || got.is_nan() && rounded.is_nan() {
            return;
        }
        self.misrounded += 1;
        if exact.is_finite() && rounded.is_finite() {
            let e = (got - exact).abs() / ulp(exact, fraction, min_exponent);
            if e > self.max_ulp {
                self.max_ulp = e;
                self.worst = x;
            }
        }
    }

    fn print(&self, name: &str, range: &str) {
        println!(
            "| {name} | {range} | {} | {:.5} (at {:e}) | {:.4} % |",
            self.count,
            self.max_ulp.max(0.5 * (self.misrounded > 0) as u8 as f64),
            self.worst,
            100.0 * (self.count - self.misrounded) as f64 / self.count as f64
        );
    }
}

fn binary32(
    name: &str,
    range: &str,
    f: fn(f32) -> f32,
    oracle: fn(f64) -> f64,
    keep: fn(f32) -> bool,
) {
    let mut row = Row::new();
    for bits in 0..=u32::MAX {
        let x = f32::from_bits(bits);
        if !keep(x) {
            continue;
        }
        let exact = oracle(x as f64);
        row.add(x as f64, f(x) as f64, exact, exact as f32 as f64, 23, -126);
    }
    row.print(name, range);
}

fn binary16(
    name: &str,
    range: &str,
    f: fn(F16) -> F16,
    oracle: fn(f64) -> f64,
    keep: fn(f64) -> bool,
) {
    let mut row = Row::new();
    for bits in 0..=u16::MAX {
        let x = F16::from_bits(bits);
        if !keep(x.to_f64()) {
            continue;
        }
        let exact = oracle(x.to_f64());
        row.add(
            x.to_f64(),
            f(x).to_f64(),
            exact,
            F16::from_f64(exact).to_f64(),
            10,
            -14,
        );
    }
    row.print(name, range);
}

fn main() {
    println!("| function | inputs | count | max error, ulp | correctly rounded |");
    println!("| --- | --- | --- | --- | --- |");
    type Row32 = (
        &'static str,
        &'static str,
        fn(f32) -> f32,
        fn(f64) -> f64,
        fn(f32) -> bool,
    );
    type Row16 = (
        &'static str,
        &'static str,
        fn(F16) -> F16,
        fn(f64) -> f64,
        fn(f64) -> bool,
    );
    let rows32: [Row32; 4] = [
        ("exp, f32", "[-104, 89]", math::exp, f64::exp, |x| {
            (-104.0..=89.0).contains(&x)
        }),
        ("ln, f32", "(0, inf)", math::ln, f64::ln, |x| {
            x > 0.0 && x.is_finite()
        }),
        (
            "atan, f32",
            "all finite",
            math::atan,
            f64::atan,
            f32::is_finite,
        ),
        ("sqrt, f32", "[0, inf)", math::sqrt, f64::sqrt, |x| {
            x >= 0.0 && x.is_finite()
        }),
    ];
    // beyond ln(65504) = 11.09 the result saturates to 65504 (finite overflow)
    let rows16: [Row16; 4] = [
        ("exp, f16", "[-18, 11.09]", math::exp, f64::exp, |x| {
            (-18.0..=11.09).contains(&x)
        }),
        ("ln, f16", "(0, 65504]", math::ln, f64::ln, |x| {
            x > 0.0 && x.is_finite()
        }),
        (
            "atan, f16",
            "all finite",
            math::atan,
            f64::atan,
            f64::is_finite,
        ),
        ("sqrt, f16", "[0, 65504]", math::sqrt, f64::sqrt, |x| {
            x >= 0.0 && x.is_finite()
        }),
    ];
    if std::env::var_os("ACCURACY_F16_ONLY").is_none() {
        for (name, range, f, oracle, keep) in rows32 {
            binary32(name, range, f, oracle, keep);
        }
    }
    for (name, range, f, oracle, keep) in rows16 {
        binary16(name, range, f, oracle, keep);
    }
}
