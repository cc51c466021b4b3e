//! The ten surrogate gradients of snnTorch, written out plainly: each
//! returns `dL/dz` from `z` and the incoming `dL/dh`, in snnTorch's order of
//! operations, one rounding per operation.

use crate::elementary::exp;
use crate::precision::Precision;
use crate::soft::Soft;

/// A surrogate with its parameters (snnTorch's names and defaults).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Surrogate {
    /// `alpha/2 / (1 + (pi/2·alpha·z)²)`.
    Atan { alpha: f64 },
    /// `1 / (slope·|z| + 1)²`.
    FastSigmoid { slope: f64 },
    /// `slope·e / (e + 1)²`, `e = exp(-slope·z)`.
    Sigmoid { slope: f64 },
    /// `threshold`, negated where `z >= 0`.
    Triangular { threshold: f64 },
    /// `1`.
    StraightThrough,
    /// `H(z)`.
    Heaviside,
    /// `slope·exp(-beta·|z - 1|)`.
    SpikeRateEscape { beta: f64, slope: f64 },
    /// `1 / (slope·|z| + 1)²` where `z > b`, else 0.
    SparseFastSigmoid { slope: f64, b: f64 },
    /// `1` where spiked, else `slope`.
    LeakySpikeOperator { slope: f64 },
    /// `1` where spiked, else `(u - 0.5 + mean)·variance`.
    StochasticSpikeOperator { mean: f64, variance: f64 },
}

impl Surrogate {
    /// Every surrogate, with snnTorch's default parameters.
    pub const DEFAULTS: [Surrogate; 10] = [
        Surrogate::Atan { alpha: 2.0 },
        Surrogate::FastSigmoid { slope: 25.0 },
        Surrogate::Sigmoid { slope: 25.0 },
        Surrogate::Triangular { threshold: 1.0 },
        Surrogate::StraightThrough,
        Surrogate::Heaviside,
        Surrogate::SpikeRateEscape {
            beta: 1.0,
            slope: 25.0,
        },
        Surrogate::SparseFastSigmoid {
            slope: 25.0,
            b: 1.0,
        },
        Surrogate::LeakySpikeOperator { slope: 0.1 },
        Surrogate::StochasticSpikeOperator {
            mean: 0.0,
            variance: 0.2,
        },
    ];

    /// The name used everywhere in the project.
    pub fn name(&self) -> &'static str {
        match self {
            Surrogate::Atan { .. } => "atan",
            Surrogate::FastSigmoid { .. } => "fast_sigmoid",
            Surrogate::Sigmoid { .. } => "sigmoid",
            Surrogate::Triangular { .. } => "triangular",
            Surrogate::StraightThrough => "straight_through",
            Surrogate::Heaviside => "heaviside",
            Surrogate::SpikeRateEscape { .. } => "spike_rate_escape",
            Surrogate::SparseFastSigmoid { .. } => "sparse_fast_sigmoid",
            Surrogate::LeakySpikeOperator { .. } => "leaky_spike_operator",
            Surrogate::StochasticSpikeOperator { .. } => "stochastic_spike_operator",
        }
    }

    /// True when the gradient uses the random number.
    pub fn is_stochastic(&self) -> bool {
        matches!(self, Surrogate::StochasticSpikeOperator { .. })
    }

    /// `dL/dz` for `dL/dh = g` in `precision`; `noise` in `[0, 1)`.
    pub fn grad(&self, precision: Precision, z: f64, g: f64, noise: f64) -> f64 {
        let s = Soft(precision);
        let spiked = z > 0.0;
        let h = if spiked { 1.0 } else { 0.0 };
        let not_h = 1.0 - h;
        match *self {
            Surrogate::Atan { alpha } => {
                let half_alpha = s.c(alpha / 2.0);
                let scale = s.c(std::f64::consts::PI / 2.0 * alpha);
                let t = s.mul(scale, z);
                let denominator = s.add(s.mul(t, t), 1.0);
                s.mul(s.mul(s.div(1.0, denominator), half_alpha), g)
            }
            Surrogate::FastSigmoid { slope } => {
                let d = s.add(s.mul(s.c(slope), z.abs()), 1.0);
                s.div(g, s.mul(d, d))
            }
            Surrogate::Sigmoid { slope } => {
                let slope = s.c(slope);
                let e = exp(precision, s.mul(-slope, z));
                let d = s.add(e, 1.0);
                s.div(s.mul(s.mul(g, slope), e), s.mul(d, d))
            }
            Surrogate::Triangular { threshold } => {
                let scaled = s.mul(g, s.c(threshold));
                if z >= 0.0 {
                    -scaled
                } else {
                    scaled
                }
            }
            Surrogate::StraightThrough => g,
            Surrogate::Heaviside => s.mul(g, h),
            Surrogate::SpikeRateEscape { beta, slope } => {
                let e = exp(precision, s.mul(-s.c(beta), s.sub(z, 1.0).abs()));
                s.mul(s.mul(g, s.c(slope)), e)
            }
            Surrogate::SparseFastSigmoid { slope, b } => {
                let d = s.add(s.mul(s.c(slope), z.abs()), 1.0);
                let above = if z > s.c(b) { 1.0 } else { 0.0 };
                s.mul(s.div(g, s.mul(d, d)), above)
            }
            Surrogate::LeakySpikeOperator { slope } => {
                s.add(s.mul(g, h), s.mul(s.mul(not_h, s.c(slope)), g))
            }
            Surrogate::StochasticSpikeOperator { mean, variance } => {
                let perturbation = s.mul(s.add(s.sub(noise, 0.5), s.c(mean)), s.c(variance));
                s.add(s.mul(g, h), s.mul(s.mul(g, not_h), perturbation))
            }
        }
    }
}

/// The stochastic surrogate's random number for `(seed, step, element)`:
/// three rounds of a 32-bit integer mixer, then `min(fraction bits, 23)` of
/// the bits as a fraction in `[0, 1)`.
pub fn noise(precision: Precision, seed: u32, step: u32, element: u32) -> f64 {
    fn mix(mut x: u32) -> u32 {
        x ^= x >> 16;
        x = x.wrapping_mul(0x7feb_352d);
        x ^= x >> 15;
        x = x.wrapping_mul(0x846c_a68b);
        x ^ (x >> 16)
    }
    let bits = mix(mix(mix(seed.wrapping_add(0x9e37_79b9)) ^ step) ^ element);
    let random_bits = precision.fraction_bits().min(23);
    (bits >> (32 - random_bits)) as f64 / 2f64.powi(random_bits)
}
