//! Population readout and the spike-count losses
//! (`snn_kernels::population`) on shapes, slices, labels and rates decoded
//! from bytes. Nothing may panic; with every shape right and every label
//! below the class count, every call must succeed.
//!
//! Input layout:
//!
//! | bytes | meaning |
//! | --- | --- |
//! | 0 | bit 0: fp16; bit 1: one dimension huge (`usize::MAX / 3`) |
//! | 1, 2, 3, 4 | steps (mod 5), batch (mod 4), classes (mod 5), neurons per class (mod 4) |
//! | 5 | 0: slices exact; else slice `(b >> 1) mod 4` (spikes, counts, count gradients, spike gradients) one longer (odd) or shorter (even) |
//! | 6..14 | the correct and incorrect rates of the MSE targets (`f32`) |
//! | then | one byte per batch row: its label (mod classes + 2, so some are out of range) |
//! | then | spike values (`f32`) |

use snn_kernels::population::{
    ce_count_loss, mse_count_loss, spike_counts, spike_counts_backward, CountTargets, Readout,
};
use snn_kernels::{Real, F16};

use crate::bytes::Bytes;

/// The fuzz target.
pub fn population(data: &[u8]) {
    let _ = population_ran(data);
}

/// The fuzz target's body: true when every call succeeded.
pub fn population_ran(data: &[u8]) -> bool {
    let mut b = Bytes::new(data);
    let flags = b.byte();
    if flags & 1 == 1 {
        run::<F16>(flags, &mut b)
    } else {
        run::<f32>(flags, &mut b)
    }
}

fn run<T: Real<Mask = bool> + Into<f64>>(flags: u8, b: &mut Bytes<'_>) -> bool {
    let mut readout = Readout {
        steps: b.below(5),
        batch: b.below(4),
        classes: b.below(5),
        population: b.below(4),
    };
    let perturb = b.byte();
    let (correct, incorrect) = (b.f32_or(1.0), b.f32_or(0.0));
    let labels: Vec<usize> = (0..readout.batch)
        .map(|_| b.below(readout.classes + 2))
        .collect();
    let outputs = readout.classes * readout.population;
    let len = readout.steps * readout.batch * outputs;
    let counts_len = readout.batch * readout.classes;
    let mut lengths = [len, counts_len, counts_len, len];
    let mut exact = readout.steps > 0
        && readout.batch > 0
        && readout.classes > 0
        && readout.population > 0
        && labels.iter().all(|&l| l < readout.classes);
    if perturb != 0 {
        let k = usize::from(perturb >> 1) % 4;
        if perturb & 1 == 1 {
            lengths[k] += 1;
            exact = false;
        } else if lengths[k] > 0 {
            lengths[k] -= 1;
            exact = false;
        }
    }
    if flags & 2 == 2 {
        // the slices stay small: a huge dimension must be refused
        match flags >> 2 & 3 {
            0 => readout.steps = usize::MAX / 3,
            1 => readout.batch = usize::MAX / 3,
            2 => readout.classes = usize::MAX / 3,
            _ => readout.population = usize::MAX / 3,
        }
        exact = false;
    }
    let spikes: Vec<T> = (0..lengths[0])
        .map(|_| T::constant(f64::from(b.f32_or(1.0))))
        .collect();
    // the readout counts and scores in f64 whatever the layer's precision
    let mut counts = vec![0.0f64; lengths[1]];
    let mut grad_counts = vec![0.0f64; lengths[2]];
    let mut grad_spikes = vec![T::zero(); lengths[3]];

    let mut all = true;
    let r = spike_counts(&readout, &spikes, &mut counts);
    assert!(!exact || r.is_ok(), "spike_counts: {r:?}");
    all &= r.is_ok();
    let r = ce_count_loss(&readout, &counts, &labels, &mut grad_counts);
    assert!(!exact || r.is_ok(), "ce_count_loss: {:?}", r.err());
    all &= r.is_ok();
    let targets = CountTargets::from_rates(&readout, f64::from(correct), f64::from(incorrect));
    let r = mse_count_loss(&readout, &counts, &labels, targets, &mut grad_counts);
    assert!(!exact || r.is_ok(), "mse_count_loss: {:?}", r.err());
    all &= r.is_ok();
    let r = spike_counts_backward(&readout, &grad_counts, &mut grad_spikes);
    assert!(!exact || r.is_ok(), "spike_counts_backward: {r:?}");
    all && r.is_ok()
}
