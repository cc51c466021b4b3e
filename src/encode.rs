//! Spike encoders: static inputs in `[0, 1]` (pixel intensities) turned
//! into `[T][B][F]` input sequences for the first layer.
//!
//! - [`Encoder::Rate`]: snnTorch `spikegen.rate`: at every step, a spike
//!   with probability `clamp(x, 0, 1)` (a Bernoulli draw). The draws come
//!   from the kernels' counter-based stream `u(seed, step, element)`
//!   (`snn_kernels::rng`), keyed by the sample's index in its dataset, so
//!   that a sample gets the same spikes whatever batch or thread it is in.
//!   A spike when `u < x` (`u` has 23 random bits in `[0, 1)`).
//! - [`Encoder::Latency`]: snnTorch `spikegen.latency(..., linear=True,
//!   normalize=True, clip=True)`: one spike at step
//!   `round((T-1)·min(1 - x, 1 - threshold))` (ties to even), none where
//!   `x < threshold`.
//! - [`Encoder::Current`]: direct current injection: `x` at every step.

use snn_kernels::rng;

/// How inputs become sequences.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Encoder {
    /// Bernoulli spikes with probability `x` at every step.
    Rate,
    /// One spike, earlier for larger `x`; none below `threshold`.
    Latency {
        /// Inputs below it never spike (snnTorch's default 0.01).
        threshold: f64,
    },
    /// The value itself at every step.
    Current,
}

impl Encoder {
    /// The names the command accepts.
    pub const NAMES: [&'static str; 3] = ["rate", "latency", "current"];

    /// The encoder named `name` (snnTorch's defaults).
    pub fn parse(name: &str) -> Option<Encoder> {
        match name {
            "rate" => Some(Encoder::Rate),
            "latency" => Some(Encoder::Latency { threshold: 0.01 }),
            "current" => Some(Encoder::Current),
            _ => None,
        }
    }

    /// The encoder's name.
    pub fn name(&self) -> &'static str {
        match self {
            Encoder::Rate => "rate",
            Encoder::Latency { .. } => "latency",
            Encoder::Current => "current",
        }
    }

    /// Encodes `samples` (`[B][F]`, values in `[0, 1]`) into `out`
    /// (`[T][B][F]`). `indices[b]` is sample `b`'s index in its dataset and
    /// `stream` the random stream of this pass (rate coding only).
    pub fn encode(
        &self,
        samples: &[f32],
        features: usize,
        indices: &[usize],
        steps: usize,
        stream: u32,
        out: &mut [f32],
    ) {
        let batch = indices.len();
        debug_assert_eq!(samples.len(), batch * features);
        debug_assert_eq!(out.len(), steps * batch * features);
        match *self {
            Encoder::Current => {
                for step in out.chunks_exact_mut(batch * features) {
                    step.copy_from_slice(samples);
                }
            }
            Encoder::Rate => {
                for (t, step) in out.chunks_exact_mut(batch * features).enumerate() {
                    for ((row, sample), &index) in step
                        .chunks_exact_mut(features)
                        .zip(samples.chunks_exact(features))
                        .zip(indices)
                    {
                        for (i, (o, &x)) in row.iter_mut().zip(sample).enumerate() {
                            // the element counter: (sample, feature), wrapping
                            // in 32 bits for datasets beyond 4e9 values
                            let element = (index as u64 * features as u64 + i as u64) as u32;
                            let u: f32 = rng::uniform(stream, t as u32, element);
                            *o = if u < x.clamp(0.0, 1.0) { 1.0 } else { 0.0 };
                        }
                    }
                }
            }
            Encoder::Latency { threshold } => {
                out.fill(0.0);
                let tau = (steps - 1) as f64;
                for (b, sample) in samples.chunks_exact(features).enumerate() {
                    for (i, &x) in sample.iter().enumerate() {
                        let x = f64::from(x);
                        if x < threshold {
                            continue;
                        }
                        let time = (tau * (1.0 - x)).min(tau * (1.0 - threshold));
                        let t = time.round_ties_even().clamp(0.0, tau) as usize;
                        out[(t * batch + b) * features + i] = 1.0;
                    }
                }
            }
        }
    }
}

/// The random stream of one pass over the data: a 32-bit mix of the run's
/// seed and the epoch, so that every epoch draws new spikes.
pub fn stream(seed: u64, epoch: usize) -> u32 {
    let mixed = rng::mix32(seed as u32 ^ rng::mix32((seed >> 32) as u32));
    rng::mix32(mixed ^ rng::mix32(epoch as u32).wrapping_add(0x9e37_79b9))
}
