//! The training step as one IPU graph program (`--backend emulator`), run
//! by the graph emulator, equals the native step bit for bit when the
//! native step uses the same definitions (`Dense::Defined`,
//! `LossPrecision::F32`): the weights, the optimiser's state, the loss and
//! the correct count after every step of several, with Adam and with SGD,
//! Leaky and Synaptic neurons. The comparison is shown to catch a
//! difference: the native step with the f64 loss, and one weight one ulp
//! off on the device.

use snn_ipu::graph_backend::{build_graph, step_constants};
use snn_ipu::native::dense::Dense;
use snn_ipu::native::{Batch, Loss, LossPrecision, Native};
use snn_ipu::network::{
    LayerSpec, ModelKind, NetworkSpec, NeuronParam, NeuronSpec, Precision, Recurrence, ResetKind,
    SurrogateKind,
};
use snn_ipu::optim::{Optimizer, OptimizerKind};
use snn_ipu::params::Values;
use snn_poplar_host::train_graph::TrainSession;

const STEPS: usize = 5;
const ROWS: usize = 3;
const INPUTS: usize = 20;
const HIDDEN: usize = 16;
const CLASSES: usize = 4;

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
        surrogate: SurrogateKind::Atan { alpha: 2.0 },
    };
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
                outputs: CLASSES,
            },
            LayerSpec::Spiking {
                neurons: CLASSES,
                neuron,
            },
        ],
        classes: CLASSES,
        population: 1,
        precision: Precision::F32,
    }
}

/// Spike inputs `[T][B][F]` of step `k`: about half the inputs fire.
fn inputs(k: u64) -> Vec<f32> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64 ^ k.wrapping_mul(0x2545_f491);
    (0..STEPS * ROWS * INPUTS)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            f32::from(u8::from(state % 5 < 3))
        })
        .collect()
}

fn labels(k: u64) -> Vec<usize> {
    (0..ROWS as u64)
        .map(|r| ((r * 3 + k) % CLASSES as u64) as usize)
        .collect()
}

/// The first difference of two lists of tensors, bit for bit (NaNs equal).
fn difference(what: &str, device: &[Vec<f32>], native: &[Vec<f32>]) -> Option<String> {
    if device.len() != native.len() {
        return Some(format!(
            "{what}: {} tensors vs {}",
            device.len(),
            native.len()
        ));
    }
    for (t, (a, b)) in device.iter().zip(native).enumerate() {
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            if x.to_bits() != y.to_bits() && !(x.is_nan() && y.is_nan()) {
                return Some(format!("{what} {t}[{i}]: device {x:e}, native {y:e}"));
            }
        }
    }
    None
}

/// The optimiser's state as the graph lays it out.
fn native_state(o: &Optimizer) -> Vec<Vec<f32>> {
    match o.kind {
        OptimizerKind::Adam { .. } => o
            .first
            .iter()
            .zip(&o.second)
            .flat_map(|(m, v)| [m.clone(), v.clone()])
            .collect(),
        OptimizerKind::Sgd { .. } => o.first.clone(),
    }
}

/// Runs `count` steps on both backends; the first difference, if any.
/// `loss` is the native loss definition; `nudge` changes one weight on the
/// device by one ulp before the first step.
fn compare(
    model: ModelKind,
    kind: OptimizerKind,
    loss: LossPrecision,
    nudge: bool,
    count: u64,
) -> Option<String> {
    let spec = spec(model);
    let values = Values::init(&spec, 11);
    let native = Native::new(&spec)
        .unwrap()
        .with_dense(Dense::Defined)
        .with_loss_precision(loss);
    let graph = build_graph(&spec, STEPS, ROWS, kind).unwrap();
    let mut device = values.tensors.clone();
    if nudge {
        device[0][5] = f32::from_bits(device[0][5].to_bits() + 1);
    }
    let mut session = TrainSession::new(&graph, &device).unwrap();
    let (mut host, mut optimizer) = (values.clone(), Optimizer::new(kind, &values));
    let mut spikes = 0.0;
    for k in 1..=count {
        let (x, y) = (inputs(k), labels(k));
        let batch = Batch {
            inputs: &x,
            labels: &y,
            steps: STEPS,
            seed: 0,
        };
        let (prediction, mut grads) = native.step(&host, &batch, Loss::CeCount, 1.0).unwrap();
        optimizer.apply(&mut host, &mut grads.tensors, None);
        spikes += prediction.counts.iter().sum::<f64>();
        let metrics = session.step(&x, &y, &step_constants(kind, k)).unwrap();
        if metrics.loss.to_bits() != (prediction.loss as f32).to_bits() {
            return Some(format!(
                "step {k}: loss device {:e}, native {:e}",
                metrics.loss, prediction.loss
            ));
        }
        if metrics.correct != prediction.correct(&y) {
            return Some(format!("step {k}: correct rows differ"));
        }
        let found = difference(
            &format!("step {k}: tensor"),
            &session.params().unwrap(),
            &host.tensors,
        )
        .or_else(|| {
            difference(
                &format!("step {k}: optimiser state"),
                &session.optimiser_state().unwrap(),
                &native_state(&optimizer),
            )
        });
        if found.is_some() {
            return found;
        }
    }
    // the comparison means something: outputs spiked and weights moved
    assert!(spikes > 0.0, "no output spikes: the case tests nothing");
    assert!(
        difference("moved", &host.tensors, &values.tensors).is_some(),
        "the weights did not change"
    );
    None
}

#[test]
fn the_emulators_training_step_is_the_native_step_bit_for_bit() {
    let adam = OptimizerKind::parse("adam", 0.01).unwrap();
    let sgd = OptimizerKind::parse("sgd", 0.2).unwrap();
    for (model, kind) in [
        (ModelKind::Leaky, adam),
        (ModelKind::Leaky, sgd),
        (ModelKind::Synaptic, adam),
    ] {
        if let Some(d) = compare(model, kind, LossPrecision::F32, false, 4) {
            panic!("{model:?} {}: {d}", kind.name());
        }
    }
}

#[test]
fn the_comparison_catches_a_difference() {
    let sgd = OptimizerKind::parse("sgd", 0.2).unwrap();
    // another loss definition (binary64) on the native side
    let d = compare(ModelKind::Leaky, sgd, LossPrecision::F64, false, 4);
    assert!(d.is_some(), "the f64 loss went unnoticed");
    // one weight one ulp off on the device
    let d = compare(ModelKind::Leaky, sgd, LossPrecision::F32, true, 2);
    assert!(d.is_some(), "a one-ulp weight went unnoticed");
}
