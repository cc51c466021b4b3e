//! Arithmetic in one precision on `f64`-held values: each operation is
//! computed in binary64 and rounded once.

use crate::precision::Precision;

/// Rounded arithmetic in a precision.
#[derive(Clone, Copy, Debug)]
pub struct Soft(pub Precision);

impl Soft {
    /// `c` rounded to the precision.
    pub fn c(self, c: f64) -> f64 {
        self.0.round(c)
    }
    /// `a + b`, rounded.
    pub fn add(self, a: f64, b: f64) -> f64 {
        self.0.round(a + b)
    }
    /// `a - b`, rounded.
    pub fn sub(self, a: f64, b: f64) -> f64 {
        self.0.round(a - b)
    }
    /// `a · b`, rounded.
    pub fn mul(self, a: f64, b: f64) -> f64 {
        self.0.round(a * b)
    }
    /// `a / b`, rounded.
    pub fn div(self, a: f64, b: f64) -> f64 {
        self.0.round(a / b)
    }
}
