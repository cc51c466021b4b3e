//! The readers of saved weights and training checkpoints
//! (`snn_ipu::checkpoint`), on bytes in memory.
//!
//! Input layout: one mode byte, then the file. Mode bit 0 set: the file's
//! checksum is recomputed first ([`reseal`]), so that the fuzzer gets past
//! the CRC and exercises the checks of the content (shapes against the
//! network, the state's fields); clear: the bytes as they are (damage must
//! be refused).

use snn_ipu::checkpoint::{
    read_checkpoint, read_weights, reseal, weights_bytes, Checkpoint, DataIdentity, Expected,
};
use snn_ipu::data::Dataset;
use snn_ipu::encode::Encoder;
use snn_ipu::native::Loss;
use snn_ipu::network::{
    LayerSpec, ModelKind, NetworkSpec, NeuronParam, NeuronSpec, Precision, Recurrence, ResetKind,
    SurrogateKind,
};
use snn_ipu::optim::OptimizerKind;
use snn_ipu::params::Values;
use snn_ipu::train::{TrainConfig, TrainState};

/// The fuzz target: both readers; nothing may panic; what a reader accepts
/// must write back and read again as the same, and an accepted checkpoint
/// can be checked against itself as the expected run.
pub fn checkpoint(data: &[u8]) {
    let (mode, file) = data.split_first().unwrap_or((&0, &[]));
    let mut bytes = file.to_vec();
    if mode & 1 == 1 {
        reseal(&mut bytes);
    }
    if let Ok(c) = read_checkpoint(&bytes, "fuzz") {
        let again = c
            .to_bytes()
            .expect("an accepted checkpoint can be written back");
        assert_eq!(
            read_checkpoint(&again, "again").as_ref(),
            Ok(&c),
            "a checkpoint changed on its way back"
        );
        let _ = c.check(&Expected {
            spec: &c.spec,
            config: &c.config,
            data: &c.data,
        });
    }
    if let Ok((spec, values)) = read_weights(&bytes, "fuzz") {
        let again = weights_bytes(&spec, &values).expect("accepted weights can be written back");
        assert_eq!(
            read_weights(&again, "again"),
            Ok((spec, values)),
            "weights changed on their way back"
        );
    }
}

fn param(name: &str, value: f64, per_neuron: bool, learn: bool) -> NeuronParam {
    NeuronParam {
        name: name.into(),
        value,
        per_neuron,
        learn,
    }
}

fn dataset(n: usize, shift: usize) -> Dataset {
    Dataset {
        name: "tiny".into(),
        features: 4,
        classes: 2,
        inputs: (0..n * 4).map(|i| ((i + shift) % 5) as f32 / 4.0).collect(),
        labels: (0..n).map(|i| (i + shift) % 2).collect(),
    }
}

/// A small checkpoint for the seeds: 4 inputs, a dense layer of 3, a
/// recurrent (all-to-all) layer with a learnable per-neuron beta, a dense
/// layer of 2, a Leaky output with a learnable graded factor; fp16, Adam,
/// part-way through its second epoch.
pub fn sample(optimizer: &str) -> Checkpoint {
    let spec = NetworkSpec {
        inputs: 4,
        layers: vec![
            LayerSpec::Dense {
                inputs: 4,
                outputs: 3,
            },
            LayerSpec::Spiking {
                neurons: 3,
                neuron: NeuronSpec {
                    model: ModelKind::RLeaky,
                    reset: ResetKind::Subtract,
                    reset_delay: true,
                    recurrence: Recurrence::AllToAll,
                    params: vec![
                        param("beta", 0.9, true, true),
                        param("threshold", 1.0, false, false),
                    ],
                    surrogate: SurrogateKind::default(),
                },
            },
            LayerSpec::Dense {
                inputs: 3,
                outputs: 2,
            },
            LayerSpec::Spiking {
                neurons: 2,
                neuron: NeuronSpec {
                    model: ModelKind::Leaky,
                    reset: ResetKind::Zero,
                    reset_delay: true,
                    recurrence: Recurrence::None,
                    params: vec![
                        param("beta", 0.8, false, false),
                        param("threshold", 1.0, false, false),
                        param("graded", 1.0, false, true),
                    ],
                    surrogate: SurrogateKind::default(),
                },
            },
        ],
        classes: 2,
        population: 1,
        precision: Precision::F16,
    };
    let config = TrainConfig {
        epochs: 3,
        batch: 4,
        steps: 5,
        encoder: Encoder::Rate,
        loss: Loss::CeCount,
        optimizer: OptimizerKind::parse(optimizer, 1e-3).unwrap_or(OptimizerKind::Sgd {
            lr: 1e-3,
            momentum: 0.9,
        }),
        clip: Some(2.0),
        seed: 11,
    };
    let mut state = TrainState::new(Values::init(&spec, 5), &config, spec.precision);
    for (k, m) in state.optimizer.first.iter_mut().flatten().enumerate() {
        *m = (k as f32 - 7.0) * 1e-3;
    }
    for (k, v) in state.optimizer.second.iter_mut().flatten().enumerate() {
        *v = k as f32 * 1e-6;
    }
    state.optimizer.step = 4;
    state.epoch = 1;
    state.progress.batches = 1;
    state.progress.seen = 4;
    state.progress.correct = 3;
    state.progress.loss_sum = 0.7315938471235619;
    state.scale.good_steps = 4;
    Checkpoint {
        data: DataIdentity::of("tiny", &dataset(10, 0), &dataset(4, 1)),
        spec,
        config,
        state,
    }
}
