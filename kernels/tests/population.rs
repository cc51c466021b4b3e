//! Population readout and the spike-count losses: hand-derived counts, the
//! losses against their formulas in f64, gradients against finite
//! differences, and snnTorch's targets.

use snn_kernels::population::*;

#[test]
fn counts_pool_the_population_and_time() {
    // T = 2, B = 1, C = 2 classes of P = 2 neurons
    let readout = Readout {
        steps: 2,
        batch: 1,
        classes: 2,
        population: 2,
    };
    let spikes = [1.0f32, 0.0, 1.0, 1.0, /* t1 */ 0.0, 1.0, 0.0, 1.0];
    let mut counts = [0.0f64; 2];
    spike_counts(&readout, &spikes, &mut counts).unwrap();
    assert_eq!(counts, [2.0, 3.0]);
    let mut grad_spikes = [0.0f32; 8];
    spike_counts_backward(&readout, &[0.5, -1.0], &mut grad_spikes).unwrap();
    assert_eq!(grad_spikes, [0.5, 0.5, -1.0, -1.0, 0.5, 0.5, -1.0, -1.0]);
}

fn ce(counts: &[f64], labels: &[usize], classes: usize) -> f64 {
    let rows = counts.chunks(classes);
    let batch = labels.len() as f64;
    -rows
        .zip(labels)
        .map(|(row, &y)| {
            let lse = row.iter().map(|v| v.exp()).sum::<f64>().ln();
            row[y] - lse
        })
        .sum::<f64>()
        / batch
}

#[test]
fn cross_entropy_and_its_gradient() {
    let readout = Readout {
        steps: 10,
        batch: 2,
        classes: 3,
        population: 1,
    };
    let counts = [3.0f64, 1.0, 0.0, 2.0, 2.0, 5.0];
    let labels = [0, 1];
    let mut grads = [0.0f64; 6];
    let loss = ce_count_loss(&readout, &counts, &labels, &mut grads).unwrap();
    assert!((loss - ce(&counts, &labels, 3)).abs() < 1e-14, "{loss}");
    for i in 0..6 {
        let mut plus = counts;
        let mut minus = counts;
        plus[i] += 1e-6;
        minus[i] -= 1e-6;
        let fd = (ce(&plus, &labels, 3) - ce(&minus, &labels, 3)) / 2e-6;
        assert!(
            (fd - grads[i]).abs() < 1e-8,
            "d/dcount[{i}]: {fd} vs {}",
            grads[i]
        );
    }
}

#[test]
fn mse_count_loss_uses_snntorchs_targets() {
    // T = 8, P = 2: on = trunc(8 · 0.75 · 2) = 12, off = trunc(8 · 0.1 · 2) = 1
    let readout = Readout {
        steps: 8,
        batch: 1,
        classes: 2,
        population: 2,
    };
    let targets = CountTargets::from_rates(&readout, 0.75, 0.1);
    assert_eq!(targets, CountTargets { on: 12.0, off: 1.0 });
    let counts = [10.0f64, 4.0];
    let mut grads = [0.0f64; 2];
    let loss = mse_count_loss(&readout, &counts, &[0], targets, &mut grads).unwrap();
    // ((10 - 12)² + (4 - 1)²) / 2 / 8
    assert_eq!(loss, 0.8125);
    // (2/2 · (count - target)) / 8
    assert_eq!(grads, [-0.25, 0.375]);
}

// The readout's precision (`docs/semantics.md`, "Population codes and
// losses"): counts, losses and their gradients are f64 whatever the layer's
// precision. Before, an F16 readout stopped counting at 2048 and its loss
// sums stalled the same way.

/// `steps` time steps of one row of one class with one neuron.
fn column(steps: usize) -> Readout {
    Readout {
        steps,
        batch: 1,
        classes: 1,
        population: 1,
    }
}

#[test]
fn fp16_spike_counts_are_exact_beyond_2048_and_65504() {
    for steps in [2049, 3000, 3001, 70_001] {
        let spikes = vec![snn_kernels::F16::ONE; steps];
        let mut counts = [0.0f64];
        spike_counts(&column(steps), &spikes, &mut counts).unwrap();
        assert_eq!(counts[0], steps as f64);
    }
    // half of the spikes of a population of 3, over 5000 steps
    let readout = Readout {
        steps: 5000,
        batch: 2,
        classes: 2,
        population: 3,
    };
    let spikes: Vec<snn_kernels::F16> = (0..5000 * 2 * 6)
        .map(|i| snn_kernels::F16::from_f64(((i * 7919) % 2) as f64))
        .collect();
    let mut counts = [0.0f64; 4];
    spike_counts(&readout, &spikes, &mut counts).unwrap();
    let mut expected = [0u64; 4];
    for (i, s) in spikes.iter().enumerate() {
        let (b, o) = ((i / 6) % 2, i % 6);
        expected[b * 2 + o / 3] += s.to_f64() as u64;
    }
    assert_eq!(counts, expected.map(|c| c as f64));
}

/// Graded spikes of an F16 layer are summed exactly (every binary16 value
/// is a whole number of 2^-24, and the sums stay far below 2^29).
#[test]
fn fp16_graded_spikes_are_summed_exactly() {
    let steps = 4000;
    let graded = [0.1, 1.7, 0.0, 3.3, 1.0e-3, 6.0e-8];
    let spikes: Vec<snn_kernels::F16> = (0..steps)
        .map(|t| snn_kernels::F16::from_f64(graded[t % graded.len()]))
        .collect();
    let mut counts = [0.0f64];
    spike_counts(&column(steps), &spikes, &mut counts).unwrap();
    // the exact sum, in units of 2^-24, with integers
    let units: i64 = spikes
        .iter()
        .map(|s| {
            let scaled = s.to_f64() * 2f64.powi(24);
            assert_eq!(scaled.fract(), 0.0);
            scaled as i64
        })
        .sum();
    assert_eq!(counts[0] * 2f64.powi(24), units as f64);
    assert_eq!((counts[0] * 2f64.powi(24)) as i64, units);
}

/// The cross-entropy of log-softmax, in f64 with the standard library's
/// `exp` and `ln`, and its gradient `(softmax - onehot) / B`.
fn ce_reference(counts: &[f64], labels: &[usize], classes: usize) -> (f64, Vec<f64>) {
    let batch = labels.len() as f64;
    let mut loss = 0.0;
    let mut grads = Vec::new();
    for (row, &y) in counts.chunks(classes).zip(labels) {
        let max = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = row.iter().map(|v| (v - max).exp()).sum();
        loss -= (row[y] - max) - sum.ln();
        for (c, v) in row.iter().enumerate() {
            let p = (v - max).exp() / sum;
            grads.push((p - if c == y { 1.0 } else { 0.0 }) / batch);
        }
    }
    (loss / batch, grads)
}

/// The crate's `exp` and `ln` are faithful, not correctly rounded
/// (`docs/accuracy.md`), so they agree with the standard library's to a
/// few units in the last place, far below the errors the f16 readout made.
fn assert_close(what: &str, expected: f64, actual: f64) {
    let bound = 1e-13 * expected.abs().max(1e-300);
    assert!(
        (expected - actual).abs() <= bound,
        "{what}: expected {expected:e}, got {actual:e}"
    );
}

#[test]
fn cross_entropy_over_a_batch_of_4096_rows_from_fp16_spikes() {
    // the case: 2 classes, no spikes at all: ln 2, not 0.5
    let batch = 4096;
    let readout = Readout {
        steps: 3,
        batch,
        classes: 2,
        population: 1,
    };
    let spikes = vec![snn_kernels::F16::ZERO; 3 * batch * 2];
    let mut counts = vec![0.0f64; batch * 2];
    spike_counts(&readout, &spikes, &mut counts).unwrap();
    let labels: Vec<usize> = (0..batch).map(|b| b % 2).collect();
    let mut grads = vec![0.0f64; batch * 2];
    let loss = ce_count_loss(&readout, &counts, &labels, &mut grads).unwrap();
    assert_close("loss", std::f64::consts::LN_2, loss);
    let (_, expected) = ce_reference(&counts, &labels, 2);
    for (i, (e, g)) in expected.iter().zip(&grads).enumerate() {
        assert_close(&format!("dL/dcount[{i}]"), *e, *g);
    }

    // counts of thousands of spikes, 3 classes
    let classes = 3;
    let readout = Readout {
        steps: 2500,
        batch,
        classes,
        population: 1,
    };
    let counts: Vec<f64> = (0..batch * classes)
        .map(|i| ((i * 2654435761) % 2500) as f64)
        .collect();
    let labels: Vec<usize> = (0..batch).map(|b| (b * 7) % classes).collect();
    let mut grads = vec![0.0f64; batch * classes];
    let loss = ce_count_loss(&readout, &counts, &labels, &mut grads).unwrap();
    let (expected_loss, expected) = ce_reference(&counts, &labels, classes);
    assert_close("loss", expected_loss, loss);
    for (i, (e, g)) in expected.iter().zip(&grads).enumerate() {
        // gradients near 0 (softmax ~ e^-2000) compare absolutely
        assert!(
            (e - g).abs() <= 1e-13 * e.abs().max(1.0 / batch as f64),
            "dL/dcount[{i}]: {e:e} vs {g:e}"
        );
    }
}

#[test]
fn mse_count_loss_over_a_batch_of_4096_rows() {
    // the case: 2 classes, no spikes, targets 1 and 0, one step:
    // (4096 · 1²) / 8192 = 0.5 exactly, not 0.25
    let batch = 4096;
    let readout = Readout {
        steps: 1,
        batch,
        classes: 2,
        population: 1,
    };
    let counts = vec![0.0f64; batch * 2];
    let labels: Vec<usize> = (0..batch).map(|b| b % 2).collect();
    let targets = CountTargets::from_rates(&readout, 1.0, 0.0);
    let mut grads = vec![0.0f64; batch * 2];
    let loss = mse_count_loss(&readout, &counts, &labels, targets, &mut grads).unwrap();
    assert_eq!(loss, 0.5);
    // (2/8192 · (0 - 1)) · 1 at the label, 0 elsewhere
    for (i, g) in grads.iter().enumerate() {
        let expected: f64 = if i % 2 == labels[i / 2] {
            -2.0 / 8192.0
        } else {
            0.0
        };
        assert_eq!(g.to_bits(), expected.to_bits(), "{i}");
    }

    // counts in the thousands: every squared difference is an exact integer
    // below 2^53, so the sum is exact too
    let readout = Readout {
        steps: 3000,
        batch,
        classes: 3,
        population: 2,
    };
    let targets = CountTargets::from_rates(&readout, 0.5, 0.1);
    assert_eq!(
        targets,
        CountTargets {
            on: 3000.0,
            off: 600.0
        }
    );
    let counts: Vec<f64> = (0..batch * 3)
        .map(|i| ((i * 40503) % 6001) as f64)
        .collect();
    let labels: Vec<usize> = (0..batch).map(|b| (b * 5) % 3).collect();
    let mut exact: u128 = 0;
    for (i, &c) in counts.iter().enumerate() {
        let target = if i % 3 == labels[i / 3] { 3000 } else { 600 };
        let d = (c as i128 - target).unsigned_abs();
        exact += d * d;
    }
    let mut grads = vec![0.0f64; batch * 3];
    let loss = mse_count_loss(&readout, &counts, &labels, targets, &mut grads).unwrap();
    let elements = (batch * 3) as f64;
    assert_eq!(loss, exact as f64 / elements / 3000.0);
}

#[test]
fn mse_count_loss_refuses_targets_that_are_not_finite() {
    let readout = column(4);
    let mut grads = [0.0f64];
    for targets in [
        CountTargets::from_rates(&readout, f64::NAN, 0.0),
        CountTargets {
            on: 1.0,
            off: f64::INFINITY,
        },
    ] {
        let err = mse_count_loss(&readout, &[1.0], &[0], targets, &mut grads).unwrap_err();
        assert!(
            err.to_string().starts_with("count targets: must be finite"),
            "{err}"
        );
    }
}

/// The gradient of a count reaches the spikes rounded once to the layer's
/// precision; in F16 a finite value beyond 65504 saturates.
#[test]
fn count_gradients_are_rounded_once_to_the_layer_precision() {
    let readout = Readout {
        steps: 2,
        batch: 1,
        classes: 3,
        population: 1,
    };
    let grads = [1.0e6, -1.0 / 3.0, 1.0e-9];
    let mut half = [snn_kernels::F16::ZERO; 6];
    spike_counts_backward(&readout, &grads, &mut half).unwrap();
    let half: Vec<f64> = half.iter().map(|h| h.to_f64()).collect();
    // 1/3 in binary16: 0x3555 = 1365/4096; 1e-9 is below half the smallest
    // subnormal (2^-25)
    assert_eq!(half, [65504.0, -1365.0 / 4096.0, 0.0].repeat(2));
    let mut single = [0.0f32; 6];
    spike_counts_backward(&readout, &grads, &mut single).unwrap();
    assert_eq!(single, [1.0e6, -1.0 / 3.0, 1.0e-9].repeat(2).as_slice());
}
