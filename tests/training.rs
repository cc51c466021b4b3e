//! End to end: a one-layer spiking classifier trained with the kernels.
//!
//! Input spike trains (a band of active inputs per class) go through a dense
//! layer into Leaky neurons with a population code of 6 neurons per class;
//! the loss is snnTorch's `ce_count_loss` on the population spike counts;
//! plain gradient descent on the dense weights. The gradients come from the
//! kernels' backward pass through time, the readout backward and the loss:
//! if any of them were wrong, the loss would not fall and the classifier
//! would not beat chance.

use snn_kernels::layer::{InputGrads, Layer, OutputGrads, Param, Saved};
use snn_kernels::models::Leaky;
use snn_kernels::population::{ce_count_loss, spike_counts, spike_counts_backward, Readout};
use snn_kernels::surrogate::FastSigmoid;
use snn_kernels::{Real, F16};

const CLASSES: usize = 4;
const POPULATION: usize = 6;
const INPUTS: usize = 16;
const STEPS: usize = 20;
const BATCH: usize = 16;

struct Lcg(u64);

impl Lcg {
    fn unit(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `[T][B][INPUTS]` input spikes: class `c` drives inputs `4c..4c+4` at a
/// high rate, the rest at a low rate.
fn batch(rng: &mut Lcg) -> (Vec<f64>, Vec<usize>) {
    let labels: Vec<usize> = (0..BATCH)
        .map(|_| (rng.unit() * CLASSES as f64) as usize)
        .collect();
    let mut spikes = vec![0.0; STEPS * BATCH * INPUTS];
    for t in 0..STEPS {
        for (b, &label) in labels.iter().enumerate() {
            for i in 0..INPUTS {
                let rate = if i / 4 == label { 0.5 } else { 0.05 };
                spikes[(t * BATCH + b) * INPUTS + i] = (rng.unit() < rate) as u8 as f64;
            }
        }
    }
    (spikes, labels)
}

/// Trains for `iterations` steps in precision `T`; returns the loss and the
/// accuracy of the first and the last iterations.
fn train<T: Real<Mask = bool> + Into<f64>>(iterations: usize) -> ((f64, f64), (f64, f64)) {
    let outputs = CLASSES * POPULATION;
    let n = BATCH * outputs;
    let len = STEPS * n;
    let mut rng = Lcg(5);
    let mut weights: Vec<f64> = (0..INPUTS * outputs)
        .map(|_| 0.3 * (rng.unit() - 0.5))
        .collect();
    let params = [T::constant(0.8), T::one(), T::one()].map(Param::Scalar);
    let layer = Layer::new(
        Leaky::default(),
        FastSigmoid::default(),
        BATCH,
        outputs,
        &params,
    )
    .unwrap();
    let readout = Readout {
        steps: STEPS,
        batch: BATCH,
        classes: CLASSES,
        population: POPULATION,
    };
    let (mut first, mut last) = ((0.0, 0.0), (0.0, 0.0));
    for iteration in 0..iterations {
        let (inputs, labels) = batch(&mut rng);
        // dense layer: x[t][b][o] = sum_i in[t][b][i] w[i][o]
        let mut x = vec![T::zero(); len];
        for tb in 0..STEPS * BATCH {
            for o in 0..outputs {
                let current: f64 = (0..INPUTS)
                    .map(|i| inputs[tb * INPUTS + i] * weights[i * outputs + o])
                    .sum();
                x[tb * outputs + o] = T::constant(current);
            }
        }
        let mem0 = vec![T::zero(); n];
        let mut spikes = vec![T::zero(); len];
        let mut mem = vec![T::zero(); len];
        layer
            .forward(STEPS, &[&x], &[&mem0], &mut spikes, &mut [&mut mem])
            .unwrap();
        let mut counts = vec![0.0; BATCH * CLASSES];
        spike_counts(&readout, &spikes, &mut counts).unwrap();
        let mut grad_counts = vec![0.0; BATCH * CLASSES];
        let loss = ce_count_loss(&readout, &counts, &labels, &mut grad_counts).unwrap();
        let correct = counts
            .chunks(CLASSES)
            .zip(&labels)
            .filter(|(row, &label)| (0..CLASSES).all(|c| c == label || row[label] > row[c]))
            .count();
        let figures = (loss, correct as f64 / BATCH as f64);
        if iteration == 0 {
            first = figures;
        }
        last = figures;

        let mut grad_spikes = vec![T::zero(); len];
        spike_counts_backward(&readout, &grad_counts, &mut grad_spikes).unwrap();
        let mut grad_x = vec![T::zero(); len];
        layer
            .backward(
                STEPS,
                Saved::new(&[&x], &[&mem0], &spikes, &[&mem]),
                OutputGrads::new(&grad_spikes, &[]),
                InputGrads::new(&mut [&mut grad_x], &mut [&mut []], &mut []),
            )
            .unwrap();
        // dL/dw[i][o] = sum_{t,b} in[t][b][i] dL/dx[t][b][o]
        for tb in 0..STEPS * BATCH {
            for i in 0..INPUTS {
                if inputs[tb * INPUTS + i] != 0.0 {
                    for o in 0..outputs {
                        weights[i * outputs + o] -= 0.5 * grad_x[tb * outputs + o].into();
                    }
                }
            }
        }
    }
    (first, last)
}

/// Trains for 60 iterations: the loss must fall by 40% and the accuracy
/// reach 75%.
fn learns<T: Real<Mask = bool> + Into<f64>>(precision: &str) {
    let ((loss0, accuracy0), (loss, accuracy)) = train::<T>(60);
    println!("{precision}: loss {loss0} -> {loss}, accuracy {accuracy0} -> {accuracy}");
    assert!(loss < 0.6 * loss0, "loss {loss0} -> {loss}");
    assert!(accuracy >= 0.75, "accuracy {accuracy0} -> {accuracy}");
}

#[test]
fn a_spiking_classifier_learns_in_fp32() {
    learns::<f32>("fp32");
}

#[test]
fn a_spiking_classifier_learns_in_fp16() {
    learns::<F16>("fp16");
}
