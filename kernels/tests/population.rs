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
