//! Units in the last place, shared by the accuracy test, the binary16
//! definition and the `accuracy` example.

/// The ulp of the binade of `x` in a format with `fraction` bits whose
/// smallest normal exponent is `min_exponent` (below it, the subnormal
/// quantum).
pub fn ulp(x: f64, fraction: i32, min_exponent: i32) -> f64 {
    let a = x.abs();
    // the exponent e with 2^e <= a < 2^(e+1) (log2 may be off by one)
    let mut e = a.log2().floor() as i32;
    if 2f64.powi(e) > a {
        e -= 1;
    }
    if 2f64.powi(e + 1) <= a {
        e += 1;
    }
    2f64.powi(e.max(min_exponent) - fraction)
}
