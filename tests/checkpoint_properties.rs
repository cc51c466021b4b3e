//! Property tests of the weights and checkpoint readers on arbitrary and
//! damaged bytes (seeded): they never panic; every corruption of a file
//! this program wrote is refused; a whole file with edited content (the
//! checksum recomputed) is either refused or read into something that
//! writes back and reads again as the same.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};

use snn_ipu::checkpoint::{
    read_checkpoint, read_weights, reseal, weights_bytes, Checkpoint, DataIdentity,
};
use snn_ipu::data::Dataset;
use snn_ipu::encode::Encoder;
use snn_ipu::native::Loss;
use snn_ipu::network::*;
use snn_ipu::optim::OptimizerKind;
use snn_ipu::params::Values;
use snn_ipu::train::{TrainConfig, TrainState};

fn config(cases: u32) -> Config {
    Config {
        cases,
        rng_seed: RngSeed::Fixed(0xc4ec_4b01),
        failure_persistence: None,
        ..Config::default()
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

/// A small checkpoint, part-way through its second epoch, with every kind
/// of tensor (dense, per-neuron and scalar parameters, recurrent) and
/// non-zero moments.
fn checkpoint() -> Checkpoint {
    let p = |name: &str, value: f64, per_neuron: bool, learn: bool| NeuronParam {
        name: name.into(),
        value,
        per_neuron,
        learn,
    };
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
                    params: vec![p("beta", 0.9, true, true), p("threshold", 1.0, false, true)],
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
                    reset_delay: false,
                    recurrence: Recurrence::None,
                    params: vec![
                        p("beta", 0.8, false, false),
                        p("threshold", 1.0, false, false),
                        p("graded", 1.0, false, true),
                    ],
                    surrogate: SurrogateKind::Sigmoid { slope: 25.0 },
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
        optimizer: OptimizerKind::parse("adam", 1e-3).unwrap(),
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
    state.progress.seconds = 0.012;
    state.scale.good_steps = 4;
    Checkpoint {
        data: DataIdentity::of("tiny", &dataset(10, 0), &dataset(4, 1)),
        spec,
        config,
        state,
    }
}

/// The checkpoint, its bytes and the bytes of its weights (made once).
fn files() -> (Checkpoint, Vec<u8>, Vec<u8>) {
    static FILES: OnceLock<(Checkpoint, Vec<u8>, Vec<u8>)> = OnceLock::new();
    FILES
        .get_or_init(|| {
            let c = checkpoint();
            let ckpt = c.to_bytes().unwrap();
            let weights = weights_bytes(&c.spec, &c.state.values).unwrap();
            (c, ckpt, weights)
        })
        .clone()
}

#[test]
fn the_base_files_are_read() {
    let (c, ckpt, weights) = files();
    assert_eq!(read_checkpoint(&ckpt, "c").unwrap(), c);
    let (spec, values) = read_weights(&weights, "w").unwrap();
    assert_eq!((spec, values), (c.spec, c.state.values));
    // small inputs (the fuzz seeds are made the same way)
    assert!(
        ckpt.len() < 8192 && weights.len() < 4096,
        "{} {}",
        ckpt.len(),
        weights.len()
    );
}

/// Both readers on `bytes`: `(checkpoint accepted, weights accepted)`.
/// Nothing may panic; an error names the source.
fn read_both(bytes: &[u8]) -> Result<(bool, bool), TestCaseError> {
    let c = read_checkpoint(bytes, "input.bin");
    let w = read_weights(bytes, "input.bin");
    for message in [c.as_ref().err(), w.as_ref().err()].into_iter().flatten() {
        prop_assert!(
            message.to_string().starts_with("input.bin: "),
            "{}",
            message
        );
        prop_assert!(!message.problem.is_empty());
    }
    if let Ok(c) = &c {
        // what is accepted writes back and reads again as the same
        let again = c
            .to_bytes()
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&read_checkpoint(&again, "again").unwrap(), c);
    }
    if let Ok((spec, values)) = &w {
        let again = weights_bytes(spec, values).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let (s, v) = read_weights(&again, "again").unwrap();
        prop_assert_eq!(&s, spec);
        prop_assert_eq!(&v, values);
    }
    Ok((c.is_ok(), w.is_ok()))
}

proptest! {
    #![proptest_config(config(300))]

    /// Random bytes (from a seed: cheaper to make than a strategy per
    /// byte), some behind a plausible header length.
    #[test]
    fn arbitrary_bytes_are_refused(seed in any::<u64>(), len in 0..4096usize, framed in any::<bool>()) {
        let mut z = seed;
        let mut bytes: Vec<u8> = (0..len)
            .map(|_| {
                z = z.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (z >> 56) as u8
            })
            .collect();
        if framed && len >= 8 {
            let n = (seed as usize % len) as u64;
            bytes[..8].copy_from_slice(&n.to_le_bytes());
            if len > 8 {
                bytes[8] = b'{';
            }
        }
        prop_assert_eq!(read_both(&bytes)?, (false, false));
    }

    /// A safetensors frame around arbitrary header text.
    #[test]
    fn arbitrary_headers_are_refused(
        header in "\\{[ -~]{0,200}\\}",
        data in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(&data);
        prop_assert_eq!(read_both(&bytes)?, (false, false));
    }

    /// Up to 64 adjacent bits changed anywhere: CRC-64 always sees it.
    #[test]
    fn every_burst_of_damage_is_refused(
        which in any::<bool>(),
        at in any::<prop::sample::Index>(),
        pattern in proptest::collection::vec(any::<u8>(), 1..=8),
    ) {
        prop_assume!(pattern.iter().any(|&b| b != 0));
        let (_, ckpt, weights) = files();
        let mut bytes = if which { ckpt } else { weights };
        let start = at.index(bytes.len() - pattern.len() + 1);
        for (b, p) in bytes[start..].iter_mut().zip(&pattern) {
            *b ^= p;
        }
        prop_assert_eq!(read_both(&bytes)?, (false, false));
    }

    /// Bytes changed in several places (missed with probability 2^-64).
    #[test]
    fn scattered_damage_is_refused(
        which in any::<bool>(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 1..=255u8), 1..6),
    ) {
        let (_, ckpt, weights) = files();
        let mut bytes = if which { ckpt } else { weights };
        for (at, x) in &edits {
            let i = at.index(bytes.len());
            bytes[i] ^= x;
        }
        prop_assume!(bytes != if which { files().1 } else { files().2 });
        prop_assert_eq!(read_both(&bytes)?, (false, false));
    }

    /// Cut short, extended, a byte inserted or removed.
    #[test]
    fn a_file_of_another_length_is_refused(
        which in any::<bool>(),
        kind in 0..4u8,
        at in any::<prop::sample::Index>(),
        extra in proptest::collection::vec(any::<u8>(), 1..16),
    ) {
        let (_, ckpt, weights) = files();
        let mut bytes = if which { ckpt } else { weights };
        match kind {
            0 => bytes.truncate(at.index(bytes.len())),
            1 => bytes.extend_from_slice(&extra),
            2 => bytes.insert(at.index(bytes.len() + 1), extra[0]),
            _ => {
                bytes.remove(at.index(bytes.len()));
            }
        }
        prop_assert_eq!(read_both(&bytes)?, (false, false));
    }
}

/// Bytes of the header (where the content is) changed, then the checksum
/// recomputed: a whole file whose content the reader must judge.
fn resealed_edit() -> impl Strategy<Value = (bool, Vec<(prop::sample::Index, u8)>)> {
    (
        any::<bool>(),
        proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    )
}

#[test]
fn edited_and_resealed_files_are_judged_without_panic_and_reach_both_outcomes() {
    let (_, ckpt, weights) = files();
    let (accepted, refused) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let mut runner = TestRunner::new(config(1000));
    let result = runner.run(&resealed_edit(), |(which, edits)| {
        let mut bytes = if which { ckpt.clone() } else { weights.clone() };
        let header = 8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let digits: Vec<usize> = (8..header).filter(|&i| bytes[i].is_ascii_digit()).collect();
        for (at, value) in &edits {
            if value % 4 == 0 {
                // any byte anywhere in the header
                bytes[8 + at.index(header - 8)] = *value;
            } else {
                // a digit of a number for another: the JSON stays JSON
                bytes[digits[at.index(digits.len())]] = b'0' + value % 10;
            }
        }
        reseal(&mut bytes);
        let (c, w) = read_both(&bytes)?;
        let counter = if c || w { &accepted } else { &refused };
        counter.fetch_add(1, Ordering::Relaxed);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let (accepted, refused) = (accepted.into_inner(), refused.into_inner());
    eprintln!("{accepted} edited files accepted, {refused} refused");
    assert!(
        accepted >= 50 && refused >= 300,
        "{accepted} accepted, {refused} refused"
    );
}

/// Numbers in the metadata's JSON records replaced by arbitrary ones (of
/// every size and sign), the checksum recomputed: the checks on the
/// state's and the configuration's fields, without panic.
#[test]
fn arbitrary_numbers_in_the_records_are_judged_without_panic() {
    let (_, ckpt, _) = files();
    let n = 8 + u64::from_le_bytes(ckpt[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&ckpt[8..n]).unwrap();
    let number = prop_oneof![
        any::<u64>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        (0..12u64).prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        Just(serde_json::Value::Null),
    ];
    let keys = ["state", "config", "data", "network"];
    let (accepted, refused) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let mut runner = TestRunner::new(config(400));
    let strategy = (0..keys.len(), any::<prop::sample::Index>(), number);
    let result = runner.run(&strategy, |(key, leaf, value)| {
        let mut header = header.clone();
        let record = &mut header["__metadata__"][keys[key]];
        let mut json: serde_json::Value = serde_json::from_str(record.as_str().unwrap()).unwrap();
        let mut leaves = Vec::new();
        collect_numbers(&json, String::new(), &mut leaves);
        let pointer = &leaves[leaf.index(leaves.len())];
        *json.pointer_mut(pointer).unwrap() = value;
        *record = serde_json::Value::String(json.to_string());
        let text = header.to_string();
        let mut bytes = (text.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(text.as_bytes());
        bytes.extend_from_slice(&ckpt[n..]);
        prop_assert!(reseal(&mut bytes));
        let (c, _) = read_both(&bytes)?;
        let counter = if c { &accepted } else { &refused };
        counter.fetch_add(1, Ordering::Relaxed);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let (accepted, refused) = (accepted.into_inner(), refused.into_inner());
    eprintln!("{accepted} edited records accepted, {refused} refused");
    assert!(
        accepted >= 20 && refused >= 150,
        "{accepted} accepted, {refused} refused"
    );
}

fn collect_numbers(v: &serde_json::Value, path: String, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Number(_) | serde_json::Value::Null => out.push(path),
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                collect_numbers(item, format!("{path}/{i}"), out);
            }
        }
        serde_json::Value::Object(map) => {
            for (k, item) in map {
                collect_numbers(item, format!("{path}/{k}"), out);
            }
        }
        _ => {}
    }
}
