//! The membrane loss (`--loss ce_membrane`): the gradients of the output
//! dense layer against central finite differences of the loss.
//!
//! `L = sum_t mean_b CE(m_t[b], y_b)`, the logits `m_t` the population sums
//! of the output layer's membrane. While no spike changes, the output
//! membranes are affine in the output layer's weights and bias (the reset
//! of the output layer reads its spikes, which stay the same), so `L` is
//! smooth there and its derivative is what the backward pass must give:
//! the surrogate plays no part in these weights' gradients. (The hidden
//! layer's gradients go through the surrogate and have no finite-difference
//! counterpart; the whole-network test `network_gradients` covers those
//! with the count loss.)
//!
//! The finite differences use `h` and `h/2` and one Richardson step,
//! `(4 D(h/2) - D(h)) / 3`, skipping an entry when a spike changes (the
//! output counts differ, or a spike moves to another step: then `D(h)` and
//! `D(h/2)` disagree). The loss comes from binary32 membranes: about
//! `T (N + 2)` roundings of relative size `u = 2^-24`, so with `|L| ~ 10`
//! its noise is about `1e-5` and the difference quotient's `1e-3`; the
//! bound `2e-3 max |g| + 2e-3` covers that with room, and the test checks
//! that it is tight enough to fail: the count loss's gradient, which is
//! another function's, is refused by it.

use snn_ipu::native::dense::Dense;
use snn_ipu::native::{Batch, Loss, Native};
use snn_ipu::network::{
    LayerSpec, ModelKind, NetworkSpec, NeuronParam, NeuronSpec, Precision, Recurrence, ResetKind,
    SurrogateKind,
};
use snn_ipu::params::Values;

const STEPS: usize = 6;
const ROWS: usize = 4;
const INPUTS: usize = 8;
const HIDDEN: usize = 12;
const CLASSES: usize = 3;
const POPULATION: usize = 2;

fn spec(model: ModelKind) -> NetworkSpec {
    let param = |name: &str, value: f64| NeuronParam {
        name: name.into(),
        value,
        per_neuron: false,
        learn: false,
    };
    let params = match model {
        ModelKind::Synaptic => vec![
            param("alpha", 0.8),
            param("beta", 0.9),
            param("threshold", 1.0),
        ],
        _ => vec![
            param("beta", 0.9),
            param("threshold", 1.0),
            param("graded", 1.0),
        ],
    };
    let neuron = NeuronSpec {
        model,
        reset: ResetKind::Subtract,
        reset_delay: true,
        recurrence: Recurrence::None,
        params,
        surrogate: SurrogateKind::default(),
    };
    let outputs = CLASSES * POPULATION;
    NetworkSpec {
        inputs: INPUTS,
        layers: vec![
            LayerSpec::Dense {
                inputs: INPUTS,
                outputs: HIDDEN,
            },
            LayerSpec::Spiking {
                neurons: HIDDEN,
                neuron: neuron.clone(),
            },
            LayerSpec::Dense {
                inputs: HIDDEN,
                outputs,
            },
            LayerSpec::Spiking {
                neurons: outputs,
                neuron,
            },
        ],
        classes: CLASSES,
        population: POPULATION,
        precision: Precision::F32,
    }
}

fn check(model: ModelKind) {
    let spec = spec(model);
    let native = Native::new(&spec)
        .expect("a valid network")
        .with_dense(Dense::Defined);
    let mut values = Values::init(&spec, 11);
    // a livelier network: both layers fire, neither saturates
    for v in values.tensors[0].iter_mut() {
        *v *= 4.0;
    }
    for v in values.tensors[2].iter_mut() {
        *v *= 3.0;
    }
    let inputs: Vec<f32> = (0..STEPS * ROWS * INPUTS)
        .map(|i| f32::from(u8::from((i * 7 + i / 5) % 3 == 0)))
        .collect();
    let labels = [0usize, 2, 1, 2];
    let batch = Batch {
        inputs: &inputs,
        labels: &labels,
        steps: STEPS,
        seed: 0,
    };
    let (base, grads) = native
        .step(&values, &batch, Loss::CeMembrane, 1.0)
        .expect("a training step");
    let (_, count_grads) = native
        .step(&values, &batch, Loss::CeCount, 1.0)
        .expect("a training step");
    assert!(base.loss.is_finite() && base.loss > 0.0);
    let spikes: f64 = base.counts.iter().sum();
    assert!(spikes > 0.0, "{model:?}: the output layer must fire");
    let loss_at = |k: usize, j: usize, d: f32| -> Option<f64> {
        let mut v = values.clone();
        v.tensors[k][j] += d;
        let p = native
            .predict(&v, &batch, Loss::CeMembrane)
            .expect("a forward pass");
        (p.counts == base.counts).then_some(p.loss)
    };
    let h = 1.0f32 / 64.0;
    let (mut compared, mut skipped) = (0, 0);
    for k in [2usize, 3] {
        let name = &values.specs[k].name;
        let largest = grads.tensors[k]
            .iter()
            .fold(0.0f64, |m, g| m.max(f64::from(*g).abs()));
        assert!(largest > 0.0, "{model:?}: {name} has no gradient");
        let bound = 2e-3 * largest + 2e-3;
        let mut count_loss_refused = false;
        for j in 0..values.tensors[k].len() {
            let quotient = |h: f32| -> Option<f64> {
                Some((loss_at(k, j, h)? - loss_at(k, j, -h)?) / (2.0 * f64::from(h)))
            };
            let (Some(d1), Some(d2)) = (quotient(h), quotient(h / 2.0)) else {
                skipped += 1;
                continue;
            };
            // a spike that moves to another step keeps the count but not
            // the loss: the two quotients of a smooth function differ by
            // O(h^2), far below the bound
            if (d1 - d2).abs() > bound / 2.0 {
                skipped += 1;
                continue;
            }
            let fd = (4.0 * d2 - d1) / 3.0;
            let g = f64::from(grads.tensors[k][j]);
            assert!(
                (g - fd).abs() <= bound,
                "{model:?}: {name}[{j}]: backward pass {g:e}, finite differences {fd:e}, \
                 bound {bound:e}"
            );
            count_loss_refused |= (f64::from(count_grads.tensors[k][j]) - fd).abs() > bound;
            compared += 1;
        }
        assert!(
            count_loss_refused,
            "{model:?}: {name}: the bound does not tell the count loss's gradient apart"
        );
    }
    println!("{model:?}: {compared} compared, {skipped} skipped (a spike changes)");
    assert!(compared >= 3 * skipped, "{model:?}: too many spikes change");
}

#[test]
fn the_membrane_loss_gradient_of_a_leaky_output_matches_finite_differences() {
    check(ModelKind::Leaky);
}

#[test]
fn the_membrane_loss_gradient_of_a_synaptic_output_matches_finite_differences() {
    check(ModelKind::Synaptic);
}
