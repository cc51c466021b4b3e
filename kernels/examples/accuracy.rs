//! scratch
use snn_kernels::math;
fn ulp_err(got: f32, exact: f64) -> f64 {
    if got.is_nan() && exact.is_nan() {
        return 0.0;
    }
    if got as f64 == exact {
        return 0.0;
    }
    let e32 = exact as f32;
    if e32.is_infinite() {
        return if got == e32 { 0.0 } else { f64::INFINITY };
    }
    let ulp = (f32::from_bits(e32.abs().to_bits() + 1) as f64 - e32.abs() as f64).abs();
    let ulp = if exact.abs() < (e32.abs() as f64) {
        (e32.abs() as f64 - f32::from_bits(e32.abs().to_bits().saturating_sub(1)) as f64)
    } else {
        ulp
    };
    (got as f64 - exact).abs() / ulp
}
fn main() {
    for (name, lo, hi, f, g) in [
        (
            "exp",
            -104.0f32,
            89.0f32,
            math::exp::<f32> as fn(f32) -> f32,
            f64::exp as fn(f64) -> f64,
        ),
        ("ln", 0.0, f32::MAX, math::ln::<f32>, f64::ln),
        ("atan", -1e6, 1e6, math::atan::<f32>, f64::atan),
    ] {
        let (mut maxe, mut wrong, mut n) = (0.0f64, 0u64, 0u64);
        let (mut worst) = 0.0f32;
        let a = lo.to_bits();
        let mut bits_iter: Vec<u32> = Vec::new();
        // all f32 in range with stride
        let mut x = lo;
        let step = 97u32;
        let mut b = 0u32;
        while b < u32::MAX - step {
            b += step;
            let v = f32::from_bits(b);
            if v >= lo && v <= hi && v.is_finite() {
                bits_iter.push(b);
            }
        }
        let _ = a;
        for &b in &bits_iter {
            x = f32::from_bits(b);
            let got = f(x);
            let exact = g(x as f64);
            let e = ulp_err(got, exact);
            n += 1;
            if e > 0.5 {
                wrong += 1;
            }
            if e > maxe {
                maxe = e;
                worst = x;
            }
        }
        println!(
            "{name}: n={n} max_ulp={maxe:.3} at {worst:e} misrounded={wrong} ({:.4}%)",
            100.0 * wrong as f64 / n as f64
        );
    }
}
