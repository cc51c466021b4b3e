//! The dense layers' defined sums on hand-derived cases, and the readout
//! and count cross-entropy in f32 against the f64 definitions.

use snn_kernels::dense;
use snn_kernels::population::{
    ce_count_loss, ce_count_loss_in, spike_counts, spike_counts_backward, spike_counts_backward_in,
    spike_counts_in, Readout,
};

#[test]
fn dense_sums_by_hand() {
    // x = [[1, 2]], w = [[3, 4], [5, 6]], b = [0.5, -1]
    let (x, w, b) = ([1.0f32, 2.0], [3.0f32, 4.0, 5.0, 6.0], [0.5f32, -1.0]);
    let mut y = [0.0f32; 2];
    dense::forward(&x, &w, &b, &mut y, 1, 2, 2).unwrap();
    assert_eq!(y, [11.5, 16.0]);
    let dy = [1.0f32, -2.0];
    let mut dx = [9.0f32; 2];
    dense::backward_input(&dy, &w, &mut dx, 1, 2, 2).unwrap();
    assert_eq!(dx, [3.0 - 10.0, 4.0 - 12.0]);
    let (mut dw, mut db) = ([1.0f32; 4], [1.0f32; 2]);
    dense::backward_weights(&dy, &x, &mut dw, &mut db, 1, 2, 2).unwrap();
    assert_eq!(dw, [2.0, 3.0, -1.0, -3.0]);
    assert_eq!(db, [2.0, -1.0]);
    // the sums start at -0: an all -0 product stays -0, and -0 + -0 bias too
    let mut y = [1.0f32];
    dense::forward(&[-0.0f32], &[1.0], &[-0.0], &mut y, 1, 1, 1).unwrap();
    assert_eq!(y[0].to_bits(), (-0.0f32).to_bits());
    // shapes are checked
    assert!(dense::forward(&x, &w, &b, &mut [0.0; 3], 1, 2, 2).is_err());
    assert!(dense::backward_weights(&dy, &x, &mut dw, &mut [0.0; 1], 1, 2, 2).is_err());
}

#[test]
fn f32_readout_and_loss_agree_with_f64() {
    let readout = Readout {
        steps: 5,
        batch: 4,
        classes: 3,
        population: 2,
    };
    let n = 5 * 4 * 3 * 2;
    let spikes: Vec<f32> = (0..n)
        .map(|i| ((i * 7 + i / 3) % 3 == 0) as u8 as f32)
        .collect();
    let labels = [0usize, 2, 1, 2];
    let (mut c32, mut c64) = (vec![0.0f32; 12], vec![0.0f64; 12]);
    spike_counts_in(&readout, &spikes, &mut c32).unwrap();
    spike_counts(&readout, &spikes, &mut c64).unwrap();
    // 0/1 spikes: exact integers in both
    assert!(c32.iter().zip(&c64).all(|(a, b)| f64::from(*a) == *b));
    let (mut g32, mut g64) = (vec![0.0f32; 12], vec![0.0f64; 12]);
    let l32 = ce_count_loss_in(&readout, &c32, &labels, &mut g32).unwrap();
    let l64 = ce_count_loss(&readout, &c64, &labels, &mut g64).unwrap();
    assert!(
        (f64::from(l32) - l64).abs() <= 1e-6 * l64.abs().max(1.0),
        "{l32} vs {l64}"
    );
    for (a, b) in g32.iter().zip(&g64) {
        assert!((f64::from(*a) - b).abs() <= 1e-6, "{a} vs {b}");
    }
    let (mut s32, mut s64) = (vec![0.0f32; n], vec![0.0f32; n]);
    spike_counts_backward_in(&readout, &g32, &mut s32).unwrap();
    let g64_of_32: Vec<f64> = g32.iter().map(|&g| f64::from(g)).collect();
    spike_counts_backward(&readout, &g64_of_32, &mut s64).unwrap();
    assert_eq!(s32, s64);
    // bad labels are refused
    assert!(ce_count_loss_in(&readout, &c32, &[0, 1, 2, 3], &mut g32).is_err());
}
