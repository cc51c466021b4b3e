//! Saved weights and checkpoints: a run stopped part-way and resumed from
//! its checkpoint ends with the same bits as one that never stopped; every
//! damaged, foreign or mismatched file is refused with its name and its
//! problem; saving replaces files atomically.

use std::path::{Path, PathBuf};

use snn_ipu::checkpoint::{
    load_checkpoint, load_weights, read_checkpoint, read_weights, reseal, save_checkpoint,
    save_state, save_weights, Checkpoint, DataIdentity, ErrorKind, Expected,
};
use snn_ipu::data::{digits, Dataset};
use snn_ipu::encode::Encoder;
use snn_ipu::native::{Loss, Native};
use snn_ipu::network::*;
use snn_ipu::optim::OptimizerKind;
use snn_ipu::params::Values;
use snn_ipu::train::{train, Control, EpochMetrics, Event, TrainConfig, TrainState};

fn param(name: &str, value: f64, per_neuron: bool, learn: bool) -> NeuronParam {
    NeuronParam {
        name: name.into(),
        value,
        per_neuron,
        learn,
    }
}

fn leaky(learn: bool) -> NeuronSpec {
    NeuronSpec {
        model: ModelKind::Leaky,
        reset: ResetKind::Subtract,
        reset_delay: true,
        recurrence: Recurrence::None,
        params: vec![
            param("beta", 0.9, true, learn),
            param("threshold", 1.0, false, learn),
            param("graded", 1.0, false, false),
        ],
        surrogate: SurrogateKind::default(),
    }
}

fn rleaky_all_to_all() -> NeuronSpec {
    NeuronSpec {
        model: ModelKind::RLeaky,
        reset: ResetKind::Zero,
        reset_delay: true,
        recurrence: Recurrence::AllToAll,
        params: vec![
            param("beta", 0.85, false, true),
            param("threshold", 1.0, false, false),
        ],
        surrogate: SurrogateKind::FastSigmoid { slope: 25.0 },
    }
}

fn network(hidden: usize, neuron: NeuronSpec, precision: Precision) -> NetworkSpec {
    NetworkSpec {
        inputs: 64,
        layers: vec![
            LayerSpec::Dense {
                inputs: 64,
                outputs: hidden,
            },
            LayerSpec::Spiking {
                neurons: hidden,
                neuron,
            },
            LayerSpec::Dense {
                inputs: hidden,
                outputs: 10,
            },
            LayerSpec::Spiking {
                neurons: 10,
                neuron: leaky(false),
            },
        ],
        classes: 10,
        population: 1,
        precision,
    }
}

/// 150 training images (5 batches of 32, the last of 22) and 40 test
/// images of the bundled digits.
fn data() -> (Dataset, Dataset) {
    let (train, test) = digits::bundled().split(0.2, 1);
    let first = |d: &Dataset, n: usize, name: &str| d.subset(&(0..n).collect::<Vec<_>>(), name);
    (first(&train, 150, "train"), first(&test, 40, "test"))
}

fn adam_rate() -> (NetworkSpec, TrainConfig) {
    (
        network(12, leaky(true), Precision::F32),
        TrainConfig {
            epochs: 3,
            batch: 32,
            steps: 6,
            encoder: Encoder::Rate,
            loss: Loss::CeCount,
            optimizer: OptimizerKind::parse("adam", 5e-3).unwrap(),
            clip: Some(1.0),
            seed: 7,
        },
    )
}

fn sgd_latency_f16() -> (NetworkSpec, TrainConfig) {
    (
        network(8, rleaky_all_to_all(), Precision::F16),
        TrainConfig {
            epochs: 3,
            batch: 32,
            steps: 6,
            encoder: Encoder::Latency { threshold: 0.01 },
            loss: Loss::parse("mse_count").unwrap(),
            optimizer: OptimizerKind::parse("sgd", 0.05).unwrap(),
            clip: None,
            seed: 3,
        },
    )
}

/// A fresh folder for one test's files.
fn folder(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("snn-ipu-ckpt-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

fn bits(tensors: &[Vec<f32>]) -> Vec<Vec<u32>> {
    tensors
        .iter()
        .map(|t| t.iter().map(|v| v.to_bits()).collect())
        .collect()
}

/// The metrics that do not depend on the clock, as bits.
fn metric_bits(m: &EpochMetrics) -> (usize, [u64; 4], u64, u32) {
    (
        m.epoch,
        [
            m.loss.to_bits(),
            m.train_accuracy.to_bits(),
            m.test_loss.to_bits(),
            m.test_accuracy.to_bits(),
        ],
        m.skipped_steps,
        m.loss_scale.to_bits(),
    )
}

/// Everything of a state but the clock, as bits.
fn state_bits(s: &TrainState) -> impl PartialEq + std::fmt::Debug {
    (
        bits(&s.values.tensors),
        bits(&s.optimizer.first),
        bits(&s.optimizer.second),
        s.optimizer.step,
        (
            s.scale.scale.to_bits(),
            s.scale.good_steps,
            s.scale.interval,
            s.scale.skipped,
        ),
        s.epoch,
        (
            s.progress.batches,
            s.progress.loss_sum.to_bits(),
            s.progress.correct,
            s.progress.seen,
            s.progress.skipped,
        ),
    )
}

/// Trains `config` from scratch, stopping at the observer events numbered
/// in `stops` (1-based, counted over the whole run: 5 batch events then
/// one epoch event per epoch); at each stop the state is saved to a
/// checkpoint, and the run goes on from the checkpoint read back with
/// `epochs[k]` epochs asked for (the k-th segment). Returns the final
/// state and every epoch's metrics.
fn run_in_segments(
    spec: &NetworkSpec,
    config: &TrainConfig,
    stops: &[usize],
    epochs: &[usize],
    dir: &Path,
) -> (TrainState, Vec<EpochMetrics>) {
    let (train_set, test_set) = data();
    let identity = DataIdentity::of("digits", &train_set, &test_set);
    let native = Native::new(spec).unwrap();
    let path = dir.join("run.ckpt");
    let mut config = TrainConfig {
        epochs: epochs[0],
        ..config.clone()
    };
    let mut state = TrainState::new(Values::init(spec, config.seed), &config, spec.precision);
    let mut metrics = Vec::new();
    let mut events = 0usize;
    for segment in 0.. {
        let mut stopped = false;
        metrics.extend(
            train(
                &native,
                &config,
                &train_set,
                &test_set,
                &mut state,
                &mut |event| {
                    events += 1;
                    let state = match event {
                        Event::Batch { state, .. } | Event::Epoch { state, .. } => state,
                    };
                    if stops.contains(&events) {
                        save_state(&path, spec, &config, &identity, state).unwrap();
                        stopped = true;
                        Control::Stop
                    } else {
                        Control::Continue
                    }
                },
            )
            .unwrap(),
        );
        if !stopped {
            break;
        }
        // a new process: everything comes from the file
        config.epochs = epochs[(segment + 1).min(epochs.len() - 1)];
        let checkpoint = load_checkpoint(
            &path,
            &Expected {
                spec,
                config: &config,
                data: &identity,
            },
        )
        .unwrap();
        assert_eq!(state_bits(&checkpoint.state), state_bits(&state));
        state = checkpoint.state;
    }
    (state, metrics)
}

fn resume_is_bit_exact(spec: &NetworkSpec, config: &TrainConfig, name: &str) {
    let dir = folder(name);
    let (whole, whole_metrics) = run_in_segments(spec, config, &[], &[3], &dir);
    assert_eq!(whole_metrics.len(), 3);
    assert!(whole.optimizer.step > 0);
    // stops: mid epoch 1 (after batch 2); after the last batch of epoch 1,
    // before its test pass; at the epoch event of epoch 2; mid epoch 3;
    // the first segments ask for 2 epochs, the later ones for 3
    let stops = [2, 5, 12, 15];
    let (resumed, resumed_metrics) = run_in_segments(spec, config, &stops, &[2, 2, 2, 3], &dir);
    assert_eq!(state_bits(&resumed), state_bits(&whole));
    let a: Vec<_> = whole_metrics.iter().map(metric_bits).collect();
    let b: Vec<_> = resumed_metrics.iter().map(metric_bits).collect();
    assert_eq!(a, b);
    assert_eq!(files_in(&dir), vec!["run.ckpt"], "no temporary file left");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_resumed_adam_f32_run_ends_bit_for_bit_as_an_uninterrupted_one() {
    let (spec, config) = adam_rate();
    resume_is_bit_exact(&spec, &config, "adam");
}

#[test]
fn a_resumed_sgd_f16_recurrent_run_ends_bit_for_bit_as_an_uninterrupted_one() {
    let (spec, config) = sgd_latency_f16();
    resume_is_bit_exact(&spec, &config, "sgd-f16");
}

/// The test above would see a lost piece of state: resuming with the
/// optimiser's moments reset ends elsewhere.
#[test]
fn resuming_without_the_moments_would_not_be_exact() {
    let (spec, config) = adam_rate();
    let (train_set, test_set) = data();
    let native = Native::new(&spec).unwrap();
    let run = |stop_at: Option<usize>| {
        let mut state = TrainState::new(Values::init(&spec, config.seed), &config, spec.precision);
        let mut events = 0;
        train(
            &native,
            &config,
            &train_set,
            &test_set,
            &mut state,
            &mut |_| {
                events += 1;
                if Some(events) == stop_at {
                    Control::Stop
                } else {
                    Control::Continue
                }
            },
        )
        .unwrap();
        state
    };
    let whole = run(None);
    let mut state = run(Some(3));
    state
        .optimizer
        .first
        .iter_mut()
        .flatten()
        .for_each(|m| *m = 0.0);
    train(
        &native,
        &config,
        &train_set,
        &test_set,
        &mut state,
        &mut |_| Control::Continue,
    )
    .unwrap();
    assert_ne!(bits(&state.values.tensors), bits(&whole.values.tensors));
}

fn checkpoint_after(batches: usize) -> Checkpoint {
    let (spec, config) = adam_rate();
    let (train_set, test_set) = data();
    let native = Native::new(&spec).unwrap();
    let mut state = TrainState::new(Values::init(&spec, config.seed), &config, spec.precision);
    let mut events = 0;
    train(
        &native,
        &config,
        &train_set,
        &test_set,
        &mut state,
        &mut |_| {
            events += 1;
            if events == batches {
                Control::Stop
            } else {
                Control::Continue
            }
        },
    )
    .unwrap();
    Checkpoint {
        data: DataIdentity::of("digits", &train_set, &test_set),
        spec,
        config,
        state,
    }
}

#[test]
fn saved_weights_read_back_bit_for_bit_and_a_checkpoint_serves_as_weights() {
    let dir = folder("weights");
    let checkpoint = checkpoint_after(3);
    let path = dir.join("w.safetensors");
    save_weights(&path, &checkpoint.spec, &checkpoint.state.values).unwrap();
    let (spec, values) = load_weights(&path).unwrap();
    assert_eq!(spec, checkpoint.spec);
    assert_eq!(values.specs, checkpoint.spec.tensors());
    assert_eq!(
        bits(&values.tensors),
        bits(&checkpoint.state.values.tensors)
    );
    let ckpt = dir.join("c.ckpt");
    save_checkpoint(&ckpt, &checkpoint).unwrap();
    let (spec, values) = load_weights(&ckpt).unwrap();
    assert_eq!(spec, checkpoint.spec);
    assert_eq!(
        bits(&values.tensors),
        bits(&checkpoint.state.values.tensors)
    );
    // the same content gives the same bytes
    let again = dir.join("w2.safetensors");
    save_weights(&again, &checkpoint.spec, &checkpoint.state.values).unwrap();
    assert_eq!(
        std::fs::read(&path).unwrap(),
        std::fs::read(&again).unwrap()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The header of a file as JSON, edited by `edit`, then written back with
/// the data and a recomputed checksum (a file that is whole, with content
/// that a reader must judge on its merits).
fn edited(bytes: &[u8], edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let mut header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    edit(&mut header);
    let text = serde_json::to_string(&header).unwrap();
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(&bytes[8 + n..]);
    reseal(&mut out);
    out
}

fn metadata(bytes: &[u8], key: &str) -> String {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    header["__metadata__"][key].as_str().unwrap().to_string()
}

fn set_metadata(bytes: &[u8], key: &str, value: String) -> Vec<u8> {
    edited(bytes, |h| {
        h["__metadata__"][key] = serde_json::Value::String(value);
    })
}

fn refused(
    result: Result<impl std::fmt::Debug, snn_ipu::checkpoint::CheckpointError>,
) -> (ErrorKind, String) {
    let e = result.unwrap_err();
    let text = e.to_string();
    assert!(text.starts_with("the.file: "), "{text}");
    (e.kind, e.problem)
}

#[test]
fn damaged_and_inconsistent_weights_are_refused_with_their_problem() {
    let checkpoint = checkpoint_after(2);
    let spec = &checkpoint.spec;
    let good = snn_ipu::checkpoint::weights_bytes(spec, &checkpoint.state.values).unwrap();
    assert!(read_weights(&good, "the.file").is_ok());
    let read = |bytes: &[u8]| refused(read_weights(bytes, "the.file"));

    // not safetensors at all
    let (kind, problem) = read(b"{\"inputs\": 64}");
    assert_eq!(kind, ErrorKind::Format, "{problem}");
    // every truncation
    for cut in 0..good.len() {
        let (kind, problem) = read(&good[..cut]);
        assert!(
            matches!(kind, ErrorKind::Format | ErrorKind::Corrupt),
            "{cut}: {problem}"
        );
    }
    assert!(read(&good[..good.len() - 3]).1.contains("truncated"));
    // a changed value
    let mut flipped = good.clone();
    *flipped.last_mut().unwrap() ^= 1;
    let (kind, problem) = read(&flipped);
    assert_eq!(kind, ErrorKind::Corrupt);
    assert!(problem.contains("checksum mismatch"), "{problem}");

    // a network whose hidden layer is wider: the first tensor's shape
    let mut wider = spec.clone();
    wider.layers[0] = LayerSpec::Dense {
        inputs: 64,
        outputs: 13,
    };
    if let LayerSpec::Spiking { neurons, .. } = &mut wider.layers[1] {
        *neurons = 13;
    }
    wider.layers[2] = LayerSpec::Dense {
        inputs: 13,
        outputs: 10,
    };
    let (kind, problem) = read(&set_metadata(
        &good,
        "network",
        serde_json::to_string(&wider).unwrap(),
    ));
    assert_eq!(kind, ErrorKind::Invalid);
    assert_eq!(
        problem,
        "tensor layers.0.weight has shape [12, 64]; the network in the metadata makes it [13, 64]"
    );
    // beta not learnable: the file has a tensor too many
    let mut fixed_beta = spec.clone();
    if let LayerSpec::Spiking { neuron, .. } = &mut fixed_beta.layers[1] {
        neuron.params[0].learn = false;
    }
    let (_, problem) = read(&set_metadata(
        &good,
        "network",
        serde_json::to_string(&fixed_beta).unwrap(),
    ));
    assert_eq!(
        problem,
        "tensor layers.1.beta is not a tensor of the network in the metadata"
    );
    // graded learnable: a tensor is missing
    let mut learn_graded = spec.clone();
    if let LayerSpec::Spiking { neuron, .. } = &mut learn_graded.layers[3] {
        neuron.params[2].learn = true;
    }
    let (_, problem) = read(&set_metadata(
        &good,
        "network",
        serde_json::to_string(&learn_graded).unwrap(),
    ));
    assert_eq!(
        problem,
        "tensor layers.3.graded is missing (the network in the metadata has it, shape [])"
    );
    // a network that is not valid
    let mut broken = spec.clone();
    broken.classes = 1;
    let (_, problem) = read(&set_metadata(
        &good,
        "network",
        serde_json::to_string(&broken).unwrap(),
    ));
    assert!(
        problem.starts_with("the network in the metadata is not valid"),
        "{problem}"
    );
    // a NaN in the data
    let mut nan = good.clone();
    let at = nan.len() - 4;
    nan[at..].copy_from_slice(&f32::NAN.to_le_bytes());
    reseal(&mut nan);
    let (kind, problem) = read(&nan);
    assert_eq!(kind, ErrorKind::Invalid);
    assert!(problem.contains("NaN at element"), "{problem}");
    // another version, another format, no format
    let (kind, problem) = read(&set_metadata(&good, "format_version", "2".into()));
    assert_eq!(kind, ErrorKind::Format);
    assert_eq!(
        problem,
        "snn-ipu/weights version 2; this program reads version 1"
    );
    let no_format = edited(&good, |h| {
        h["__metadata__"].as_object_mut().unwrap().remove("format");
    });
    assert_eq!(read(&no_format).0, ErrorKind::Format);
    // an unknown metadata key
    let (kind, problem) = read(&set_metadata(&good, "comment", "hi".into()));
    assert_eq!(kind, ErrorKind::Invalid);
    assert!(problem.contains("`comment`"), "{problem}");
    // a file that is missing
    let e = load_weights(Path::new("/nonexistent/w.safetensors")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Io);
    assert!(e
        .to_string()
        .starts_with("/nonexistent/w.safetensors: cannot read it"));
}

#[test]
fn weights_that_are_not_finite_or_not_the_networks_are_not_saved() {
    let dir = folder("save-refused");
    let checkpoint = checkpoint_after(2);
    let path = dir.join("w.safetensors");
    save_weights(&path, &checkpoint.spec, &checkpoint.state.values).unwrap();
    let before = std::fs::read(&path).unwrap();
    let mut values = checkpoint.state.values.clone();
    values.tensors[1][3] = f32::INFINITY;
    let e = save_weights(&path, &checkpoint.spec, &values).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{}: nothing written: tensor layers.0.bias holds inf at element 3: only finite values are saved and loaded",
            path.display()
        )
    );
    let mut short = checkpoint.state.values.clone();
    short.tensors[0].pop();
    assert!(save_weights(&path, &checkpoint.spec, &short).is_err());
    // a network too large for memory, with a value per tensor: refused, no overflow
    let mut huge = checkpoint.spec.clone();
    let wide = 1usize << 40;
    huge.inputs = wide;
    huge.layers[0] = LayerSpec::Dense {
        inputs: wide,
        outputs: wide,
    };
    huge.layers.truncate(1);
    huge.layers.push(LayerSpec::Spiking {
        neurons: wide,
        neuron: leaky(false),
    });
    huge.classes = 2;
    huge.population = wide / 2;
    let specs = huge.tensors();
    let tiny = Values {
        tensors: vec![vec![0.5]; specs.len()],
        specs,
    };
    let e = save_weights(&path, &huge, &tiny).unwrap_err();
    assert!(e.problem.contains("more than fit in memory"), "{e}");
    let mut state = checkpoint.state.clone();
    state.progress.loss_sum = f64::NAN;
    let e = save_state(
        &path,
        &checkpoint.spec,
        &checkpoint.config,
        &checkpoint.data,
        &state,
    )
    .unwrap_err();
    assert!(e.problem.contains("loss sum is NaN"), "{e}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "the old file is intact"
    );
    assert_eq!(files_in(&dir), vec!["w.safetensors"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn damaged_or_foreign_checkpoints_are_refused() {
    let checkpoint = checkpoint_after(3);
    let good = checkpoint.to_bytes().unwrap();
    assert_eq!(read_checkpoint(&good, "the.file").unwrap(), checkpoint);
    let read = |bytes: &[u8]| refused(read_checkpoint(bytes, "the.file"));
    // every cut through the header and the first tensor, then every 13th
    let header = 8 + u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
    for cut in (0..header + 64).chain((header + 64..good.len()).step_by(13)) {
        let (kind, problem) = read(&good[..cut]);
        assert!(
            matches!(kind, ErrorKind::Format | ErrorKind::Corrupt),
            "{cut}: {problem}"
        );
    }
    // weights are not a checkpoint
    let weights =
        snn_ipu::checkpoint::weights_bytes(&checkpoint.spec, &checkpoint.state.values).unwrap();
    let (kind, problem) = read(&weights);
    assert_eq!(kind, ErrorKind::Format);
    assert_eq!(
        problem,
        "a snn-ipu/weights file (saved weights, which hold no training state to resume from), not snn-ipu/checkpoint"
    );
    // a checkpoint without its checksum (another writer, or an edit)
    let unsealed = edited(&good, |h| {
        h["__metadata__"]
            .as_object_mut()
            .unwrap()
            .remove("checksum");
    });
    let (kind, problem) = read(&unsealed);
    assert_eq!(kind, ErrorKind::Corrupt);
    assert!(problem.contains("no checksum"), "{problem}");
    // an Adam checkpoint without its second moments
    let no_second = edited(&good, |h| {
        let m = h.as_object_mut().unwrap();
        let names: Vec<String> = m
            .keys()
            .filter(|k| k.starts_with("optimizer.second."))
            .cloned()
            .collect();
        // keep the data covered: rename them instead of removing them
        for name in names {
            let v = m.remove(&name).unwrap();
            m.insert(name.replace("second", "third"), v);
        }
    });
    let (kind, problem) = read(&no_second);
    assert_eq!(kind, ErrorKind::Invalid);
    assert!(
        problem.starts_with("tensor optimizer.second.layers.0.weight is missing"),
        "{problem}"
    );
    // impossible progress: more images seen than the batches hold
    let state: serde_json::Value = serde_json::from_str(&metadata(&good, "state")).unwrap();
    let mut bad = state.clone();
    bad["progress"]["seen"] = serde_json::json!(95);
    let (kind, problem) = read(&set_metadata(&good, "state", bad.to_string()));
    assert_eq!(kind, ErrorKind::Invalid);
    assert!(problem.contains("not possible"), "{problem}");
    let mut bad = state.clone();
    bad["loss_scale"]["scale"] = serde_json::json!(0.1);
    let (_, problem) = read(&set_metadata(&good, "state", bad.to_string()));
    assert!(problem.contains("not a binary32"), "{problem}");
    let mut bad = state;
    bad["surprise"] = serde_json::json!(1);
    let (_, problem) = read(&set_metadata(&good, "state", bad.to_string()));
    assert!(problem.contains("unknown field `surprise`"), "{problem}");
}

#[test]
fn a_checkpoint_of_another_run_is_refused_naming_every_difference() {
    let dir = folder("mismatch");
    let checkpoint = checkpoint_after(3);
    let path = dir.join("run.ckpt");
    save_checkpoint(&path, &checkpoint).unwrap();
    let before = std::fs::read(&path).unwrap();
    let try_with = |spec: &NetworkSpec, config: &TrainConfig, data: &DataIdentity| {
        load_checkpoint(&path, &Expected { spec, config, data })
    };
    let (spec, config, data) = (&checkpoint.spec, &checkpoint.config, &checkpoint.data);
    assert!(try_with(spec, config, data).is_ok());
    // more epochs, and another name for the same data: fine
    let longer = TrainConfig {
        epochs: 10,
        ..config.clone()
    };
    let renamed = DataIdentity {
        name: "digits again".into(),
        ..data.clone()
    };
    assert!(try_with(spec, &longer, &renamed).is_ok());

    let mut other_spec = spec.clone();
    if let LayerSpec::Spiking { neuron, .. } = &mut other_spec.layers[1] {
        neuron.params[0].value = 0.95;
    }
    let other_config = TrainConfig {
        batch: 16,
        seed: 8,
        optimizer: OptimizerKind::parse("adam", 1e-3).unwrap(),
        ..config.clone()
    };
    let (train_set, test_set) = data_sets_shifted();
    let other_data = DataIdentity::of("digits", &train_set, &test_set);
    let e = try_with(&other_spec, &other_config, &other_data).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Mismatch);
    let text = e.to_string();
    for needle in [
        "network.layers[1].neuron.params[0].value: checkpoint 0.9, this run 0.95",
        "batch: checkpoint 32, this run 16",
        "seed: checkpoint 7, this run 8",
        "optimizer: checkpoint Adam { lr: 0.005",
        "data: checkpoint digits (150 training + 40 test images",
        "only the number of epochs may change",
    ] {
        assert!(text.contains(needle), "{needle:?} not in {text}");
    }
    assert!(text.starts_with(&format!("{}: ", path.display())));
    // nothing to do
    let done = TrainConfig {
        epochs: 1,
        ..config.clone()
    };
    let mut finished = checkpoint.clone();
    finished.state.epoch = 1;
    finished.state.progress = Default::default();
    let finished_path = dir.join("finished.ckpt");
    save_checkpoint(&finished_path, &finished).unwrap();
    let e = load_checkpoint(
        &finished_path,
        &Expected {
            spec,
            config: &done,
            data,
        },
    )
    .unwrap_err();
    assert!(
        e.problem
            .contains("epochs: 1 done in the checkpoint, so 1 leaves nothing to do"),
        "{e}"
    );
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "reading writes nothing"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The same sizes as [`data`], other images.
fn data_sets_shifted() -> (Dataset, Dataset) {
    let (train, test) = digits::bundled().split(0.2, 1);
    let pick = |d: &Dataset, n: usize, name: &str| d.subset(&(1..=n).collect::<Vec<_>>(), name);
    (pick(&train, 150, "train"), pick(&test, 40, "test"))
}

/// Floats that a best-effort JSON reader gets wrong by an ulp: the
/// hyper-parameters and the running sums come back with the same bits.
#[test]
fn awkward_floats_survive_the_metadata() {
    let mut checkpoint = checkpoint_after(2);
    checkpoint.config.optimizer = OptimizerKind::Adam {
        lr: 4.250095954519634e-241,
        beta1: 0.1 + 0.2,
        beta2: 1.0 - f64::EPSILON,
        eps: 3.0582846136230975e181,
    };
    checkpoint.state.optimizer.kind = checkpoint.config.optimizer;
    checkpoint.config.clip = Some(1.2003761993138415e-192);
    checkpoint.config.encoder = Encoder::Latency {
        threshold: f64::from_bits(1),
    };
    checkpoint.state.progress.loss_sum = 1.3613083160441047e298;
    checkpoint.state.progress.seconds = 4.3429257585194756e194;
    let back = read_checkpoint(&checkpoint.to_bytes().unwrap(), "x").unwrap();
    assert_eq!(
        format!("{:?}", back.config),
        format!("{:?}", checkpoint.config)
    );
    assert_eq!(
        back.state.progress.loss_sum.to_bits(),
        checkpoint.state.progress.loss_sum.to_bits()
    );
    assert_eq!(
        back.state.progress.seconds.to_bits(),
        checkpoint.state.progress.seconds.to_bits()
    );
    let OptimizerKind::Adam { lr, eps, .. } = back.config.optimizer else {
        panic!()
    };
    assert_eq!(lr.to_bits(), 4.250095954519634e-241f64.to_bits());
    assert_eq!(eps.to_bits(), 3.0582846136230975e181f64.to_bits());
}

/// A file written by the reference safetensors writer (Python,
/// `tests/fixtures/safetensors/make_python_weights.py`), as a PyTorch user
/// would hand weights over: no checksum, tensors in the writer's order.
#[test]
fn weights_written_by_the_reference_writer_are_read() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/safetensors/python_weights.safetensors");
    let (spec, values) = load_weights(&path).unwrap();
    assert_eq!(spec.inputs, 4);
    assert_eq!(spec.layers.len(), 4);
    let names: Vec<&str> = values.specs.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "layers.0.weight",
            "layers.0.bias",
            "layers.1.beta",
            "layers.1.threshold",
            "layers.2.weight",
            "layers.2.bias",
            "layers.3.threshold"
        ]
    );
    // tensor k, element e: (k + 1) * 0.5 - e * 0.125, as the script wrote
    for (k, tensor) in values.tensors.iter().enumerate() {
        let want: Vec<u32> = (0..tensor.len())
            .map(|e| ((k + 1) as f32 * 0.5 - e as f32 * 0.125).to_bits())
            .collect();
        let got: Vec<u32> = tensor.iter().map(|v| v.to_bits()).collect();
        assert_eq!(got, want, "{}", values.specs[k].name);
    }
    assert_eq!(values.specs[3].shape, Vec::<usize>::new());
    // and it is refused as a checkpoint
    let e = read_checkpoint(&std::fs::read(&path).unwrap(), "p").unwrap_err();
    assert_eq!(e.kind, ErrorKind::Format);
}
