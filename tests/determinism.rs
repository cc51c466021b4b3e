//! Determinism of training: the same seed gives the same run, bit for bit.
//!
//! A small network (`64 -> dense -> Leaky (24) -> dense -> Synaptic (10 x
//! 2)`, learnable decay rates and thresholds) trains on a subset of the
//! bundled digits (96 training and 48 test images, rate-coded, 8 steps,
//! batches of 16, Adam with clipping) for 2 epochs, in fp32 and in fp16
//! (binary16 layers, dynamic loss scaling). Run twice from the same seed,
//! every weight, every optimiser moment, the loss scale and every metric
//! must have the same bits (`to_bits()`); the metrics that measure time
//! (`samples_per_second`, `seconds`) are not part of the run's result and
//! are left out.
//!
//! So that the comparison can fail for the right reason, the test also
//! checks that training changed the weights and that another seed gives
//! other weights (the seed reaches the initialisation, the shuffle and the
//! encoder).

use snn_ipu::data::{digits, Dataset};
use snn_ipu::encode::Encoder;
use snn_ipu::native::dense::Dense;
use snn_ipu::native::{Loss, Native};
use snn_ipu::network::{
    LayerSpec, ModelKind, NetworkSpec, NeuronParam, NeuronSpec, Precision, Recurrence, ResetKind,
    SurrogateKind,
};
use snn_ipu::optim::OptimizerKind;
use snn_ipu::params::Values;
use snn_ipu::train::{train, Control, EpochMetrics, TrainConfig, TrainState};

fn param(name: &str, value: f64, learn: bool) -> NeuronParam {
    NeuronParam {
        name: name.into(),
        value,
        per_neuron: false,
        learn,
    }
}

fn spec(precision: Precision) -> NetworkSpec {
    let neuron = |model, params| NeuronSpec {
        model,
        reset: ResetKind::Subtract,
        reset_delay: true,
        recurrence: Recurrence::None,
        params,
        surrogate: SurrogateKind::default(),
    };
    NetworkSpec {
        inputs: 64,
        layers: vec![
            LayerSpec::Dense {
                inputs: 64,
                outputs: 24,
            },
            LayerSpec::Spiking {
                neurons: 24,
                neuron: neuron(
                    ModelKind::Leaky,
                    vec![
                        param("beta", 0.9, true),
                        param("threshold", 1.0, true),
                        param("graded", 1.0, false),
                    ],
                ),
            },
            LayerSpec::Dense {
                inputs: 24,
                outputs: 20,
            },
            LayerSpec::Spiking {
                neurons: 20,
                neuron: neuron(
                    ModelKind::Synaptic,
                    vec![
                        param("alpha", 0.8, true),
                        param("beta", 0.9, false),
                        param("threshold", 1.0, true),
                    ],
                ),
            },
        ],
        classes: 10,
        population: 2,
        precision,
    }
}

fn data() -> (Dataset, Dataset) {
    let (train, test) = digits::bundled().split(0.2, 1);
    let first = |d: &Dataset, n: usize, name: &str| d.subset(&(0..n).collect::<Vec<_>>(), name);
    (first(&train, 96, "train"), first(&test, 48, "test"))
}

fn config(seed: u64) -> TrainConfig {
    TrainConfig {
        epochs: 2,
        batch: 16,
        steps: 8,
        encoder: Encoder::Rate,
        loss: Loss::CeCount,
        optimizer: OptimizerKind::parse("adam", 5e-3).expect("adam"),
        clip: Some(1.0),
        seed,
    }
}

/// The runner configurations whose runs must agree bit for bit: the dense
/// layers on 1, 2, 3 and 4 threads (3 splits the work unevenly) and on
/// every core of this machine.
fn runners(spec: &NetworkSpec) -> Vec<(String, Native)> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    [1, 2, 3, 4, cores]
        .into_iter()
        .map(|threads| {
            (
                format!("dense layers on {threads} thread(s)"),
                Native::new(spec)
                    .expect("a valid network")
                    .with_dense(Dense::Fast { threads }),
            )
        })
        .collect()
}

/// Everything a run produces, as bits: the metrics (without the measured
/// times) and the state after the last epoch.
#[derive(Debug, PartialEq, Eq)]
struct RunBits {
    metrics: Vec<Vec<u64>>,
    weights: Vec<Vec<u32>>,
    first_moments: Vec<Vec<u32>>,
    second_moments: Vec<Vec<u32>>,
    optimizer_steps: u64,
    loss_scale: (u32, u32, u32, u64),
    epoch: usize,
}

fn metric_bits(m: &EpochMetrics) -> Vec<u64> {
    vec![
        m.epoch as u64,
        m.loss.to_bits(),
        m.train_accuracy.to_bits(),
        m.test_loss.to_bits(),
        m.test_accuracy.to_bits(),
        m.skipped_steps,
        u64::from(m.loss_scale.to_bits()),
    ]
}

fn bits(tensors: &[Vec<f32>]) -> Vec<Vec<u32>> {
    tensors
        .iter()
        .map(|t| t.iter().map(|v| v.to_bits()).collect())
        .collect()
}

fn run(native: &Native, seed: u64) -> (RunBits, Values) {
    let (train_set, test_set) = data();
    let config = config(seed);
    let spec = native.spec();
    let initial = Values::init(spec, seed);
    let mut state = TrainState::new(initial.clone(), &config, spec.precision);
    let metrics = train(
        native,
        &config,
        &train_set,
        &test_set,
        &mut state,
        &mut |_| Control::Continue,
    )
    .expect("training runs");
    assert_eq!(metrics.len(), 2);
    assert_ne!(
        state.values, initial,
        "training must change the weights (otherwise equal runs prove nothing)"
    );
    for m in &metrics {
        assert!(m.loss.is_finite() && m.test_loss.is_finite());
    }
    let s = state.scale;
    (
        RunBits {
            metrics: metrics.iter().map(metric_bits).collect(),
            weights: bits(&state.values.tensors),
            first_moments: bits(&state.optimizer.first),
            second_moments: bits(&state.optimizer.second),
            optimizer_steps: state.optimizer.step,
            loss_scale: (s.scale.to_bits(), s.good_steps, s.interval, s.skipped),
            epoch: state.epoch,
        },
        state.values,
    )
}

fn same_seed_same_run(precision: Precision) {
    let spec = spec(precision);
    let mut reference: Option<(String, RunBits)> = None;
    for (name, native) in runners(&spec) {
        let (first, values) = run(&native, 7);
        let last = first.metrics.last().expect("two epochs");
        println!(
            "{precision:?}, {name}: after 2 epochs loss {:.4}, test accuracy {:.3}, loss scale {}",
            f64::from_bits(last[1]),
            f64::from_bits(last[4]),
            f32::from_bits(last[6] as u32)
        );
        let (second, _) = run(&native, 7);
        assert!(
            first == second,
            "{precision:?}, {name}: two runs from the same seed differ"
        );
        match &reference {
            None => reference = Some((name, first)),
            Some((reference_name, bits)) => assert!(
                *bits == first,
                "{precision:?}: {name} and {reference_name} give different runs"
            ),
        }
        let (_, other) = run(&native, 8);
        assert_ne!(
            values.tensors, other.tensors,
            "{precision:?}: another seed must give other weights"
        );
    }
}

#[test]
fn the_same_seed_gives_the_same_run_in_fp32() {
    same_seed_same_run(Precision::F32);
}

#[test]
fn the_same_seed_gives_the_same_run_in_fp16() {
    same_seed_same_run(Precision::F16);
}
