//! Forward-mode dual numbers: `v + d·ε` with `ε² = 0`, as a [`Real`].
//!
//! The spike function carries the surrogate as its derivative and `detach`
//! drops the tangent, so running the kernels' own generic forward code on
//! duals gives the directional derivative that the hand-written reverse
//! sweep must reproduce.

use core::ops::{Add, Div, Mul, Neg, Sub};

use snn_kernels::real::{Format, Real};
use snn_kernels::surrogate::{Surrogate, SurrogateConstants};

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Dual {
    pub v: f64,
    pub d: f64,
}

impl Dual {
    pub fn new(v: f64, d: f64) -> Dual {
        Dual { v, d }
    }
}

impl Add for Dual {
    type Output = Dual;
    fn add(self, o: Dual) -> Dual {
        Dual::new(self.v + o.v, self.d + o.d)
    }
}

impl Sub for Dual {
    type Output = Dual;
    fn sub(self, o: Dual) -> Dual {
        Dual::new(self.v - o.v, self.d - o.d)
    }
}

impl Mul for Dual {
    type Output = Dual;
    fn mul(self, o: Dual) -> Dual {
        Dual::new(self.v * o.v, self.d * o.v + self.v * o.d)
    }
}

impl Div for Dual {
    type Output = Dual;
    fn div(self, o: Dual) -> Dual {
        let q = self.v / o.v;
        Dual::new(q, (self.d - q * o.d) / o.v)
    }
}

impl Neg for Dual {
    type Output = Dual;
    fn neg(self) -> Dual {
        Dual::new(-self.v, -self.d)
    }
}

impl Real for Dual {
    type Mask = bool;
    type Bits = u64;
    type Wide = Dual;
    type Lane = Dual;
    const FORMAT: Format = Format::BINARY64;
    const SURROGATE_IN_FORWARD: bool = true;

    fn constant(c: f64) -> Self {
        Dual::new(c, 0.0)
    }
    fn lt(self, o: Self) -> bool {
        self.v < o.v
    }
    fn le(self, o: Self) -> bool {
        self.v <= o.v
    }
    fn gt(self, o: Self) -> bool {
        self.v > o.v
    }
    fn ge(self, o: Self) -> bool {
        self.v >= o.v
    }
    fn eq(self, o: Self) -> bool {
        self.v == o.v
    }
    fn select(mask: bool, a: Self, b: Self) -> Self {
        if mask {
            a
        } else {
            b
        }
    }
    /// Only the value survives a trip through bits.
    fn to_bits(self) -> u64 {
        self.v.to_bits()
    }
    fn from_bits(bits: u64) -> Self {
        Dual::new(f64::from_bits(bits), 0.0)
    }
    fn widen(self) -> Dual {
        self
    }
    fn narrow(wide: Dual) -> Self {
        wide
    }
    fn to_lane(self) -> Self {
        self
    }
    fn from_lane(lane: Self) -> Self {
        lane
    }
    fn detach(self) -> Self {
        Dual::new(self.v, 0.0)
    }
    fn abs(self) -> Self {
        if self.v < 0.0 {
            -self
        } else {
            self
        }
    }
    /// `H(z)`, whose derivative is the surrogate.
    fn spike<S: Surrogate>(self, constants: &SurrogateConstants<Self>, noise: Self) -> Self {
        let c = constants.map(|c| c.v);
        Dual::new(
            if self.v > 0.0 { 1.0 } else { 0.0 },
            S::grad(self.v, self.d, &c, noise.v),
        )
    }
    fn exp(self) -> Self {
        let e = self.v.exp();
        Dual::new(e, self.d * e)
    }
    fn ln(self) -> Self {
        Dual::new(self.v.ln(), self.d / self.v)
    }
    fn atan(self) -> Self {
        Dual::new(self.v.atan(), self.d / (1.0 + self.v * self.v))
    }
}
