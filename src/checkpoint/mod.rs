//! Saved weights and training checkpoints, both safetensors files (the
//! format, the names and the rules are in `docs/checkpoints.md`):
//!
//! - **weights** ([`save_weights`], [`load_weights`]): the learnable tensors
//!   under their [`NetworkSpec::tensors`] names (`layers.0.weight`, ...), F32,
//!   with the network description in the metadata, for `evaluate --load` and
//!   for PyTorch (`safetensors.torch.load_file`);
//! - **checkpoints** ([`save_checkpoint`], [`load_checkpoint`]): everything
//!   `train` needs to continue, bit for bit: the weights (`values.<name>`),
//!   the optimiser's moments (`optimizer.first.<name>`,
//!   `optimizer.second.<name>`), and as JSON in the metadata the network,
//!   the [`TrainConfig`], the data's identity ([`DataIdentity`]) and the
//!   state's scalars (epoch, progress, optimiser step, loss scale).
//!
//! Every file carries a CRC-64 of all its bytes; files are replaced
//! atomically (a crash leaves the previous file whole); reading checks every
//! byte, every shape and every value before anything is used, and an error
//! names the file and the problem. The format is described in
//! `docs/checkpoints.md`.

mod atomic;
mod container;
mod records;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

pub use container::{crc64, reseal, Crc64};

use crate::data::Dataset;
use crate::network::{NetworkSpec, Precision, TensorSpec};
use crate::optim::{LossScale, Optimizer, OptimizerKind};
use crate::params::Values;
use crate::train::{TrainConfig, TrainState};
use container::{Checksum, Container, ReadError, TensorIn, TensorOut};
use records::{ConfigRecord, DataRecord, ProgressRecord, ScaleRecord, StateRecord};

/// The `format` of a weights file.
pub const WEIGHTS_FORMAT: &str = "snn-ipu/weights";
/// The `format` of a checkpoint.
pub const CHECKPOINT_FORMAT: &str = "snn-ipu/checkpoint";
/// The `format_version` this program writes and reads.
pub const FORMAT_VERSION: &str = "1";

/// What kind of problem a file has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// It cannot be read or written (missing, no permission, disk full).
    Io,
    /// It is not a file of this kind (not safetensors, another format or
    /// version, weights where a checkpoint is expected).
    Format,
    /// It is damaged: truncated, or its checksum does not match.
    Corrupt,
    /// It is whole, but what it holds is not consistent: a tensor that
    /// the network does not have or of another shape, a value that is not
    /// finite, a field out of range.
    Invalid,
    /// A valid checkpoint, of another run: another network, data or
    /// configuration than the one asked for.
    Mismatch,
}

/// A file that cannot be used: which, what kind of problem, and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckpointError {
    /// The file (as given).
    pub file: String,
    /// The kind of problem.
    pub kind: ErrorKind,
    /// What is wrong, and what to do about it.
    pub problem: String,
}

impl fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.problem)
    }
}

impl std::error::Error for CheckpointError {}

/// A problem without its file yet.
type Problem = (ErrorKind, String);

fn invalid<T>(problem: String) -> Result<T, Problem> {
    Err((ErrorKind::Invalid, problem))
}

fn with_file<T>(result: Result<T, Problem>, file: &str) -> Result<T, CheckpointError> {
    result.map_err(|(kind, problem)| CheckpointError {
        file: file.to_string(),
        kind,
        problem,
    })
}

fn read_file(path: &Path) -> Result<Vec<u8>, CheckpointError> {
    std::fs::read(path).map_err(|e| CheckpointError {
        file: path.display().to_string(),
        kind: ErrorKind::Io,
        problem: format!("cannot read it: {e}"),
    })
}

fn write_file(path: &Path, bytes: Result<Vec<u8>, Problem>) -> Result<(), CheckpointError> {
    let file = path.display().to_string();
    let bytes = with_file(bytes, &file).map_err(|e| CheckpointError {
        problem: format!("nothing written: {}", e.problem),
        ..e
    })?;
    atomic::write(path, &bytes).map_err(|e| CheckpointError {
        file,
        kind: ErrorKind::Io,
        problem: format!("cannot write it (any previous file of that name is unchanged): {e}"),
    })
}

/// The first element of `values` that is not finite, as a message.
fn check_finite(name: &str, values: &[f32]) -> Result<(), Problem> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(i) => invalid(format!(
            "tensor {name} holds {} at element {i}: only finite values are saved and loaded",
            values[i]
        )),
        None => Ok(()),
    }
}

/// The number of values of a shape (`None` beyond `usize`).
fn count(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))
}

/// Checks that `values` are the tensors of `spec`, finite.
fn check_values(spec: &NetworkSpec, values: &Values) -> Result<Vec<TensorSpec>, Problem> {
    if let Err(e) = spec.validate() {
        return invalid(format!("the network is not valid: {e}"));
    }
    let specs = spec.tensors();
    if values.specs != specs || values.tensors.len() != specs.len() {
        return invalid("the values are not the tensors of this network".into());
    }
    for (t, s) in values.tensors.iter().zip(&specs) {
        if Some(t.len()) != count(&s.shape) {
            return invalid(format!(
                "tensor {} has {} values; its shape {:?} holds {}",
                s.name,
                t.len(),
                s.shape,
                count(&s.shape).map_or("more than fit in memory".into(), |n| n.to_string())
            ));
        }
        check_finite(&s.name, t)?;
    }
    Ok(specs)
}

fn format_problem(found: Option<&String>, version: Option<&String>, want: &str) -> Option<String> {
    let other = |f: &str| {
        if f == CHECKPOINT_FORMAT {
            " (a training checkpoint, which resumes a run)"
        } else if f == WEIGHTS_FORMAT {
            " (saved weights, which hold no training state to resume from)"
        } else {
            ""
        }
    };
    match (found.map(String::as_str), version.map(String::as_str)) {
        (None, _) => Some(format!(
            "a safetensors file without `format` in its metadata, so not a file this program wrote: expected {want}"
        )),
        (Some(f), _) if f != want => Some(format!("a {f} file{}, not {want}", other(f))),
        (Some(_), Some(FORMAT_VERSION)) => None,
        (Some(f), v) => Some(format!(
            "{f} version {}; this program reads version {FORMAT_VERSION}",
            v.unwrap_or("(missing)")
        )),
    }
}

/// Reads the container (structure and checksum).
fn open(bytes: &[u8]) -> Result<Container, Problem> {
    container::read(bytes).map_err(|e| match e {
        ReadError::NotSafetensors(m) => (ErrorKind::Format, m),
        ReadError::Corrupt(m) => (ErrorKind::Corrupt, m),
    })
}

/// Refuses a container that is not one of ours of `format`, or has
/// metadata keys that such files do not have.
fn check_format(container: &Container, format: &str, known_keys: &[&str]) -> Result<(), Problem> {
    let m = &container.metadata;
    if let Some(problem) = format_problem(m.get("format"), m.get("format_version"), format) {
        return Err((ErrorKind::Format, problem));
    }
    if let Some(key) = m.keys().find(|k| !known_keys.contains(&k.as_str())) {
        return invalid(format!(
            "the metadata has a key `{key}` that {format} files do not have (they have {})",
            known_keys.join(", ")
        ));
    }
    Ok(())
}

/// The metadata entry `key`, parsed as JSON into `T`.
fn field<T: serde::de::DeserializeOwned>(
    metadata: &BTreeMap<String, String>,
    key: &str,
) -> Result<T, Problem> {
    let text = metadata
        .get(key)
        .ok_or_else(|| (ErrorKind::Invalid, format!("the metadata has no `{key}`")))?;
    serde_json::from_str(text).map_err(|e| {
        (
            ErrorKind::Invalid,
            format!("the metadata's `{key}` is not valid: {e}"),
        )
    })
}

fn network(metadata: &BTreeMap<String, String>) -> Result<NetworkSpec, Problem> {
    let spec: NetworkSpec = field(metadata, "network")?;
    if let Err(e) = spec.validate() {
        return invalid(format!("the network in the metadata is not valid: {e}"));
    }
    Ok(spec)
}

/// Takes the tensors `prefix + name` of `specs` out of `tensors` (checking
/// shapes and values), in the order of `specs`.
fn take(
    tensors: &mut BTreeMap<String, TensorIn>,
    prefix: &str,
    specs: &[TensorSpec],
) -> Result<Vec<Vec<f32>>, Problem> {
    let mut out = Vec::with_capacity(specs.len());
    for s in specs {
        let name = format!("{prefix}{}", s.name);
        let Some(tensor) = tensors.remove(&name) else {
            return invalid(format!(
                "tensor {name} is missing (the network in the metadata has it, shape {:?})",
                s.shape
            ));
        };
        if tensor.shape != s.shape {
            return invalid(format!(
                "tensor {name} has shape {:?}; the network in the metadata makes it {:?}",
                tensor.shape, s.shape
            ));
        }
        check_finite(&name, &tensor.values)?;
        out.push(tensor.values);
    }
    Ok(out)
}

fn by_name(tensors: Vec<TensorIn>) -> BTreeMap<String, TensorIn> {
    tensors.into_iter().map(|t| (t.name.clone(), t)).collect()
}

fn no_extra(tensors: &BTreeMap<String, TensorIn>) -> Result<(), Problem> {
    match tensors.keys().next() {
        Some(name) => invalid(format!(
            "tensor {name} is not a tensor of the network in the metadata{}",
            if tensors.len() > 1 {
                format!(" ({} such tensors)", tensors.len())
            } else {
                String::new()
            }
        )),
        None => Ok(()),
    }
}

// ---------------------------------------------------------------- weights

/// The bytes of a weights file of `values` (the tensors of `spec`).
pub fn weights_bytes(spec: &NetworkSpec, values: &Values) -> Result<Vec<u8>, CheckpointError> {
    with_file(weights_bytes_inner(spec, values), "(weights)")
}

fn weights_bytes_inner(spec: &NetworkSpec, values: &Values) -> Result<Vec<u8>, Problem> {
    let specs = check_values(spec, values)?;
    let network = serde_json::to_string(spec).map_err(|e| (ErrorKind::Invalid, e.to_string()))?;
    let tensors: Vec<TensorOut<'_>> = specs
        .iter()
        .zip(&values.tensors)
        .map(|(s, v)| TensorOut {
            name: s.name.clone(),
            shape: &s.shape,
            values: v,
        })
        .collect();
    let bytes = container::write(
        &[
            ("format", WEIGHTS_FORMAT.into()),
            ("format_version", FORMAT_VERSION.into()),
            ("network", network),
        ],
        &tensors,
    );
    // what is written must read back as it is (a spec that does not survive
    // JSON, for one): refuse here rather than leave an unreadable file
    match read_weights_inner(&bytes) {
        Ok((s, v)) if s == *spec && v == *values => Ok(bytes),
        Ok(_) => invalid("the weights do not read back as written".into()),
        Err((_, problem)) => invalid(format!("the weights would not read back: {problem}")),
    }
}

/// Writes `values`, the learnable tensors of `spec`, to `path` as a
/// safetensors file (replacing it atomically). Refuses values that are not
/// the network's tensors or not finite.
pub fn save_weights(
    path: &Path,
    spec: &NetworkSpec,
    values: &Values,
) -> Result<(), CheckpointError> {
    write_file(path, weights_bytes_inner(spec, values))
}

/// Reads a weights file's bytes (`source` names it in errors). A training
/// checkpoint is accepted too (its weights).
pub fn read_weights(bytes: &[u8], source: &str) -> Result<(NetworkSpec, Values), CheckpointError> {
    let result = open(bytes).and_then(|c| {
        if c.metadata.get("format").map(String::as_str) == Some(CHECKPOINT_FORMAT) {
            checkpoint_of(c).map(|c| (c.spec, c.state.values))
        } else {
            weights_of(c)
        }
    });
    with_file(result, source)
}

fn read_weights_inner(bytes: &[u8]) -> Result<(NetworkSpec, Values), Problem> {
    weights_of(open(bytes)?)
}

fn weights_of(container: Container) -> Result<(NetworkSpec, Values), Problem> {
    check_format(
        &container,
        WEIGHTS_FORMAT,
        &["format", "format_version", "network"],
    )?;
    let spec = network(&container.metadata)?;
    let specs = spec.tensors();
    let mut tensors = by_name(container.tensors);
    let values = take(&mut tensors, "", &specs)?;
    no_extra(&tensors)?;
    Ok((
        spec,
        Values {
            specs,
            tensors: values,
        },
    ))
}

/// Reads the weights file at `path`: the network it was trained as, and
/// its values. Refuses, naming the file and the problem, a file that is
/// not safetensors, is truncated or corrupted (checksum), holds a tensor
/// that the network in its metadata lacks, lacks one it has, has one of
/// another shape, or holds a value that is not finite.
pub fn load_weights(path: &Path) -> Result<(NetworkSpec, Values), CheckpointError> {
    let bytes = read_file(path)?;
    read_weights(&bytes, &path.display().to_string())
}

// ------------------------------------------------------------ checkpoints

/// What identifies a run's data: names for messages, sizes, and a CRC-64
/// of every image and label, so that a checkpoint is never resumed on other
/// data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataIdentity {
    /// A name for messages (not compared on resume).
    pub name: String,
    /// Training images.
    pub train: usize,
    /// Test images.
    pub test: usize,
    /// Features per image.
    pub features: usize,
    /// Classes.
    pub classes: usize,
    /// CRC-64 of both sets: for each, its size, features and classes (u64
    /// little-endian), every input's bits (f32 little-endian) and every
    /// label (u64 little-endian).
    pub checksum: u64,
}

impl DataIdentity {
    /// The identity of a run's training and test sets.
    pub fn of(name: &str, train: &Dataset, test: &Dataset) -> DataIdentity {
        let mut crc = Crc64::new();
        for set in [train, test] {
            for n in [set.len(), set.features, set.classes] {
                crc.update(&(n as u64).to_le_bytes());
            }
            for x in &set.inputs {
                crc.update(&x.to_bits().to_le_bytes());
            }
            for &l in &set.labels {
                crc.update(&(l as u64).to_le_bytes());
            }
        }
        DataIdentity {
            name: name.to_string(),
            train: train.len(),
            test: test.len(),
            features: train.features,
            classes: train.classes,
            checksum: crc.finish(),
        }
    }
}

/// Everything a training run needs to continue where it stopped.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    /// The network.
    pub spec: NetworkSpec,
    /// The configuration it was trained with (`epochs` as then).
    pub config: TrainConfig,
    /// The data it was trained on.
    pub data: DataIdentity,
    /// The state: weights, optimiser, loss scale, epoch and its progress.
    pub state: TrainState,
}

/// What a run about to resume is: a checkpoint must match it.
#[derive(Clone, Copy, Debug)]
pub struct Expected<'a> {
    /// The network the options describe.
    pub spec: &'a NetworkSpec,
    /// The configuration the options give (`epochs` may be larger than the
    /// checkpoint's).
    pub config: &'a TrainConfig,
    /// The data the options load.
    pub data: &'a DataIdentity,
}

/// Batches per epoch of `train` rows in batches of `batch`.
fn batches_per_epoch(train: usize, batch: usize) -> usize {
    train.div_ceil(batch.max(1))
}

/// The scalars that a checkpoint's reader checks, checked on writing too.
fn check_state(
    spec: &NetworkSpec,
    config: &TrainConfig,
    data: &DataIdentity,
    state: &TrainState,
) -> Result<(), Problem> {
    let finite = |name: &str, v: f64| {
        if v.is_finite() {
            Ok(())
        } else {
            invalid(format!("{name} is {v}: it must be a finite number"))
        }
    };
    if config.batch == 0 || config.steps == 0 || config.epochs == 0 {
        return invalid(format!(
            "the configuration has epochs {}, batch {}, steps {}: each must be at least 1",
            config.epochs, config.batch, config.steps
        ));
    }
    use crate::encode::Encoder;
    use crate::native::Loss;
    if let Encoder::Latency { threshold } = config.encoder {
        finite("the latency threshold", threshold)?;
    }
    if let Loss::MseCount {
        correct_rate,
        incorrect_rate,
    } = config.loss
    {
        finite("the correct rate", correct_rate)?;
        finite("the incorrect rate", incorrect_rate)?;
    }
    match config.optimizer {
        OptimizerKind::Adam {
            lr,
            beta1,
            beta2,
            eps,
        } => {
            for (n, v) in [("lr", lr), ("beta1", beta1), ("beta2", beta2), ("eps", eps)] {
                finite(&format!("the optimiser's {n}"), v)?;
            }
        }
        OptimizerKind::Sgd { lr, momentum } => {
            finite("the optimiser's lr", lr)?;
            finite("the optimiser's momentum", momentum)?;
        }
    }
    if let Some(clip) = config.clip {
        if !(clip.is_finite() && clip > 0.0) {
            return invalid(format!("the clip norm is {clip}: it must be above 0"));
        }
    }
    if data.train == 0
        || data.test == 0
        || data.features != spec.inputs
        || data.classes != spec.classes
    {
        return invalid(format!(
            "the data ({} training and {} test images of {} features, {} classes) does not fit the network ({} inputs, {} classes)",
            data.train, data.test, data.features, data.classes, spec.inputs, spec.classes
        ));
    }
    if state.optimizer.kind != config.optimizer {
        return invalid("the optimiser's state is not of the configured optimiser".into());
    }
    let batches = batches_per_epoch(data.train, config.batch);
    let p = &state.progress;
    if state.epoch > config.epochs || (state.epoch == config.epochs && p.batches > 0) {
        return invalid(format!(
            "epoch {} with {} batches done is past the {} epochs of the run",
            state.epoch + 1,
            p.batches,
            config.epochs
        ));
    }
    let seen = p.batches.saturating_mul(config.batch).min(data.train);
    if p.batches > batches || p.seen != seen || p.correct > p.seen || p.skipped > p.batches as u64 {
        return invalid(format!(
            "the epoch's progress ({} batches, {} images seen, {} right, {} skipped) is not possible with {} batches of {} images",
            p.batches, p.seen, p.correct, p.skipped, batches, config.batch
        ));
    }
    finite("the epoch's loss sum", p.loss_sum)?;
    if !(p.seconds.is_finite() && p.seconds >= 0.0) {
        return invalid(format!("the epoch's time is {} s", p.seconds));
    }
    let done = (state.epoch as u64)
        .saturating_mul(batches as u64)
        .saturating_add(p.batches as u64);
    if state.optimizer.step > done {
        return invalid(format!(
            "the optimiser took {} steps in {done} batches",
            state.optimizer.step
        ));
    }
    let s = &state.scale;
    let scale_ok = match spec.precision {
        Precision::F32 => *s == LossScale::none(),
        Precision::F16 => {
            s.scale.is_finite()
                && s.scale > 0.0
                && s.interval != u32::MAX
                && s.interval > 0
                && s.good_steps < s.interval
        }
    };
    if !scale_ok || s.skipped > done {
        return invalid(format!(
            "the loss scale {:?} is not one that {} training makes",
            s,
            spec.precision.name()
        ));
    }
    Ok(())
}

/// The values of a tensor that [`check_values`] accepted.
fn values_len(s: &TensorSpec) -> usize {
    count(&s.shape).unwrap_or(usize::MAX)
}

fn checkpoint_bytes_inner(
    spec: &NetworkSpec,
    config: &TrainConfig,
    data: &DataIdentity,
    state: &TrainState,
) -> Result<Vec<u8>, Problem> {
    let specs = check_values(spec, &state.values)?;
    check_state(spec, config, data, state)?;
    let o = &state.optimizer;
    let adam = matches!(o.kind, OptimizerKind::Adam { .. });
    let moments: &[(&str, &Vec<Vec<f32>>)] = if adam {
        &[("first", &o.first), ("second", &o.second)]
    } else {
        &[("first", &o.first)]
    };
    if !adam && !o.second.is_empty() {
        return invalid("SGD keeps no second moments".into());
    }
    let mut tensors = Vec::new();
    for (s, v) in specs.iter().zip(&state.values.tensors) {
        tensors.push(TensorOut {
            name: format!("values.{}", s.name),
            shape: &s.shape,
            values: v,
        });
    }
    for (which, moment) in moments {
        if moment.len() != specs.len() {
            return invalid(format!(
                "the optimiser has {} {which} moments for {} tensors",
                moment.len(),
                specs.len()
            ));
        }
        for (s, v) in specs.iter().zip(moment.iter()) {
            let name = format!("optimizer.{which}.{}", s.name);
            if v.len() != values_len(s) {
                return invalid(format!(
                    "tensor {name} has {} values; it needs {}",
                    v.len(),
                    values_len(s)
                ));
            }
            check_finite(&name, v)?;
            tensors.push(TensorOut {
                name,
                shape: &s.shape,
                values: v,
            });
        }
    }
    let json =
        |v: Result<String, serde_json::Error>| v.map_err(|e| (ErrorKind::Invalid, e.to_string()));
    let state_record = StateRecord {
        epoch: state.epoch,
        progress: ProgressRecord::of(&state.progress),
        optimizer_step: o.step,
        loss_scale: ScaleRecord {
            scale: f64::from(state.scale.scale),
            good_steps: state.scale.good_steps,
            interval: state.scale.interval,
            skipped: state.scale.skipped,
        },
    };
    let data_record = DataRecord {
        name: data.name.clone(),
        train: data.train,
        test: data.test,
        features: data.features,
        classes: data.classes,
        checksum: format!("crc64:{:016x}", data.checksum),
    };
    let bytes = container::write(
        &[
            ("format", CHECKPOINT_FORMAT.into()),
            ("format_version", FORMAT_VERSION.into()),
            ("network", json(serde_json::to_string(spec))?),
            (
                "config",
                json(serde_json::to_string(&ConfigRecord::of(config)))?,
            ),
            ("data", json(serde_json::to_string(&data_record))?),
            ("state", json(serde_json::to_string(&state_record))?),
        ],
        &tensors,
    );
    // read it back before it replaces anything (a value that does not
    // survive JSON, a bug): a checkpoint that would be refused is never
    // written over a good one
    match read_checkpoint_inner(&bytes) {
        Ok(c) if c.spec == *spec && c.config == *config && c.data == *data && c.state == *state => {
            Ok(bytes)
        }
        Ok(_) => invalid("the checkpoint does not read back as written".into()),
        Err((_, problem)) => invalid(format!("the checkpoint would not read back: {problem}")),
    }
}

impl Checkpoint {
    /// The checkpoint's bytes (what [`save_checkpoint`] writes).
    pub fn to_bytes(&self) -> Result<Vec<u8>, CheckpointError> {
        with_file(
            checkpoint_bytes_inner(&self.spec, &self.config, &self.data, &self.state),
            "(checkpoint)",
        )
    }

    /// Checks that this checkpoint can continue the run `expected`: the
    /// same network (every field), data (sizes and checksum; the name may
    /// differ) and configuration except `epochs`, which may grow (it must
    /// leave something to do). Lists every difference.
    pub fn check(&self, expected: &Expected<'_>) -> Result<(), String> {
        let mut differences = Vec::new();
        if self.spec != *expected.spec {
            differences.push(
                match (
                    serde_json::to_value(&self.spec),
                    serde_json::to_value(expected.spec),
                ) {
                    (Ok(a), Ok(b)) => match first_difference(&a, &b, "network") {
                        Some((path, a, b)) => format!("{path}: checkpoint {a}, this run {b}"),
                        None => "the network differs".into(),
                    },
                    _ => "the network differs".into(),
                },
            );
        }
        let (a, b) = (&self.config, expected.config);
        let mut differ = |name: &str, x: String, y: String| {
            if x != y {
                differences.push(format!("{name}: checkpoint {x}, this run {y}"));
            }
        };
        differ("batch", a.batch.to_string(), b.batch.to_string());
        differ("steps", a.steps.to_string(), b.steps.to_string());
        differ(
            "encoder",
            format!("{:?}", a.encoder),
            format!("{:?}", b.encoder),
        );
        differ("loss", format!("{:?}", a.loss), format!("{:?}", b.loss));
        differ(
            "optimizer",
            format!("{:?}", a.optimizer),
            format!("{:?}", b.optimizer),
        );
        differ("clip", format!("{:?}", a.clip), format!("{:?}", b.clip));
        differ("seed", a.seed.to_string(), b.seed.to_string());
        let (d, e) = (&self.data, expected.data);
        if (d.train, d.test, d.features, d.classes, d.checksum)
            != (e.train, e.test, e.features, e.classes, e.checksum)
        {
            let show = |d: &DataIdentity| {
                format!(
                    "{} ({} training + {} test images of {} features, {} classes, crc64 {:016x})",
                    d.name, d.train, d.test, d.features, d.classes, d.checksum
                )
            };
            differences.push(format!(
                "data: checkpoint {}, this run {}",
                show(d),
                show(e)
            ));
        }
        if b.epochs <= self.state.epoch {
            differences.push(format!(
                "epochs: {} done in the checkpoint, so {} leaves nothing to do (ask for more than {})",
                self.state.epoch, b.epochs, self.state.epoch
            ));
        }
        if differences.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "this checkpoint is of another run; only the number of epochs may change on resume:\n  {}",
                differences.join("\n  ")
            ))
        }
    }
}

/// The first place where two JSON values differ: its path and both values.
fn first_difference(
    a: &serde_json::Value,
    b: &serde_json::Value,
    path: &str,
) -> Option<(String, String, String)> {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter().find_map(|k| {
                let path = format!("{path}.{k}");
                match (x.get(k), y.get(k)) {
                    (Some(p), Some(q)) => first_difference(p, q, &path),
                    (p, q) => Some((path, show(p), show(q))),
                }
            })
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (p, q))| first_difference(p, q, &format!("{path}[{i}]"))),
        _ if a == b => None,
        _ => Some((path.to_string(), a.to_string(), b.to_string())),
    }
}

fn show(v: Option<&serde_json::Value>) -> String {
    v.map_or("(absent)".into(), |v| v.to_string())
}

/// Writes `checkpoint` to `path`, atomically: a crash at any moment leaves
/// the previous file at `path` whole. The checkpoint is read back in memory
/// before anything is replaced; one that would be refused (a value that is
/// not finite, an inconsistent state) is not written.
pub fn save_checkpoint(path: &Path, checkpoint: &Checkpoint) -> Result<(), CheckpointError> {
    save_state(
        path,
        &checkpoint.spec,
        &checkpoint.config,
        &checkpoint.data,
        &checkpoint.state,
    )
}

/// [`save_checkpoint`] from borrowed parts (the state an observer sees).
pub fn save_state(
    path: &Path,
    spec: &NetworkSpec,
    config: &TrainConfig,
    data: &DataIdentity,
    state: &TrainState,
) -> Result<(), CheckpointError> {
    write_file(path, checkpoint_bytes_inner(spec, config, data, state))
}

/// Reads a checkpoint's bytes (`source` names it in errors), checking
/// every byte (checksum), every tensor and every field; not whether it fits
/// a run ([`Checkpoint::check`]).
pub fn read_checkpoint(bytes: &[u8], source: &str) -> Result<Checkpoint, CheckpointError> {
    with_file(read_checkpoint_inner(bytes), source)
}

fn read_checkpoint_inner(bytes: &[u8]) -> Result<Checkpoint, Problem> {
    checkpoint_of(open(bytes)?)
}

fn checkpoint_of(container: Container) -> Result<Checkpoint, Problem> {
    check_format(
        &container,
        CHECKPOINT_FORMAT,
        &[
            "format",
            "format_version",
            "network",
            "config",
            "data",
            "state",
        ],
    )?;
    if container.checksum != Checksum::Verified {
        return Err((
            ErrorKind::Corrupt,
            "the checkpoint has no checksum: it was not written by this program, or was edited"
                .into(),
        ));
    }
    let m = &container.metadata;
    let spec = network(m)?;
    let config = field::<ConfigRecord>(m, "config")?.config();
    let data_record: DataRecord = field(m, "data")?;
    let checksum = data_record
        .checksum
        .strip_prefix("crc64:")
        .filter(|d| d.len() == 16 && d.bytes().all(|b| b.is_ascii_hexdigit()))
        .and_then(|d| u64::from_str_radix(d, 16).ok())
        .ok_or_else(|| {
            (
                ErrorKind::Invalid,
                format!(
                    "the data's checksum {:?} is not `crc64:` and 16 hex digits",
                    data_record.checksum
                ),
            )
        })?;
    let data = DataIdentity {
        name: data_record.name,
        train: data_record.train,
        test: data_record.test,
        features: data_record.features,
        classes: data_record.classes,
        checksum,
    };
    let record: StateRecord = field(m, "state")?;
    let scale = record.loss_scale.scale as f32;
    if f64::from(scale).to_bits() != record.loss_scale.scale.to_bits() {
        return invalid(format!(
            "the loss scale {} is not a binary32 value",
            record.loss_scale.scale
        ));
    }
    let specs = spec.tensors();
    let mut tensors = by_name(container.tensors);
    let values = take(&mut tensors, "values.", &specs)?;
    let first = take(&mut tensors, "optimizer.first.", &specs)?;
    let second = match config.optimizer {
        OptimizerKind::Adam { .. } => take(&mut tensors, "optimizer.second.", &specs)?,
        OptimizerKind::Sgd { .. } => Vec::new(),
    };
    no_extra(&tensors)?;
    let state = TrainState {
        values: Values {
            specs,
            tensors: values,
        },
        optimizer: Optimizer {
            kind: config.optimizer,
            step: record.optimizer_step,
            first,
            second,
        },
        scale: LossScale {
            scale,
            good_steps: record.loss_scale.good_steps,
            interval: record.loss_scale.interval,
            skipped: record.loss_scale.skipped,
        },
        epoch: record.epoch,
        progress: record.progress.progress(),
    };
    check_state(&spec, &config, &data, &state)?;
    Ok(Checkpoint {
        spec,
        config,
        data,
        state,
    })
}

/// Reads the checkpoint at `path` and checks that it continues the run
/// `expected` ([`Checkpoint::check`]). Refuses, naming the file and the
/// problem, and without writing anything: a file that is not a checkpoint
/// of this format and version, a truncated or corrupted one, one whose
/// tensors or fields are inconsistent, and one of another run.
pub fn load_checkpoint(
    path: &Path,
    expected: &Expected<'_>,
) -> Result<Checkpoint, CheckpointError> {
    let file = path.display().to_string();
    let checkpoint = read_checkpoint(&read_file(path)?, &file)?;
    checkpoint
        .check(expected)
        .map_err(|problem| CheckpointError {
            file,
            kind: ErrorKind::Mismatch,
            problem,
        })?;
    Ok(checkpoint)
}
