//! The commands of `snn-ipu`, as library functions that write their report
//! to a `Write` (the binary passes stdout; tests pass a buffer).

use std::io::Write;
use std::time::Instant;

use crate::checkpoint::{
    load_weights, read_checkpoint, save_state, save_weights, DataIdentity, Expected,
};
use crate::cli::TrainOptions;
use crate::data::{digits, idx, Dataset};
use crate::graph_backend::{check_supported, Backend, EmulatorSteps};
use crate::interrupt::Interrupt;
use crate::memory;
use crate::native::dense::Dense;
use crate::native::LossPrecision;
use crate::native::Native;
use crate::network::{LayerSpec, NetworkSpec, SurrogateKind};
use crate::params::Values;
use crate::report::csv::MetricsCsv;
use crate::report::plot::write_png;
use crate::report::progress::{epoch_line, Progress};
use crate::threads;
use crate::train::{
    evaluate, train_with, Control, EpochMetrics, Event, NativeSteps, StepRunner, TrainConfig,
    TrainState,
};

/// The training and test data: the bundled digits split with `seed`, or
/// the IDX files of `--data DIR`.
pub fn load_data(options: &TrainOptions, seed: u64) -> Result<(Dataset, Dataset), String> {
    match &options.data {
        None => Ok(digits::bundled().split(options.test_fraction, seed)),
        Some(dir) => idx::load_dir(dir).map_err(|e| e.to_string()),
    }
}

/// The name a run's data goes by in messages and checkpoints.
fn data_name(options: &TrainOptions) -> String {
    match &options.data {
        None => "digits".into(),
        Some(dir) => dir.display().to_string(),
    }
}

/// The memory one training step needs, by buffer.
pub fn estimate(spec: &NetworkSpec, config: &TrainConfig, train_len: usize) -> memory::Estimate {
    let rows = (config.steps as u64) * (config.batch as u64);
    let bytes = match spec.precision {
        crate::options::Precision::F32 => 4,
        crate::options::Precision::F16 => 2,
    };
    let mut e = memory::Estimate::default();
    e.add("training images", train_len as u64 * spec.inputs as u64, 4);
    e.add("encoded batch", rows * spec.inputs as u64, 4);
    let mut weights = 0u64;
    for layer in &spec.layers {
        match layer {
            LayerSpec::Dense { inputs, outputs } => {
                weights += (*inputs as u64) * (*outputs as u64) + *outputs as u64;
                // the layer's input, kept for the backward pass, and its gradient
                e.add("dense activations", 2 * rows * *inputs as u64, 4);
            }
            LayerSpec::Spiking { neurons, .. } => {
                // inputs, spikes, up to three state trajectories, and gradients
                e.add(
                    "spiking layer trajectories",
                    7 * rows * *neurons as u64,
                    bytes,
                );
            }
        }
    }
    // weights, gradients, two optimiser moments
    e.add("weights, gradients and optimiser state", 4 * weights, 4);
    e
}

/// What a run starts from: a new network, or a checkpoint.
struct Start {
    spec: NetworkSpec,
    config: TrainConfig,
    state: TrainState,
    train_set: Dataset,
    test_set: Dataset,
    data: DataIdentity,
}

/// A new run from the options, or (`--resume`) the checkpoint's run with
/// the options' number of epochs when given.
fn start(options: &TrainOptions) -> Result<Start, String> {
    let Some(path) = &options.resume else {
        let (train_set, test_set) = load_data(options, options.seed)?;
        let spec = options.network(train_set.features, train_set.classes)?;
        let config = options.config();
        let state = TrainState::new(Values::init(&spec, options.seed), &config, spec.precision);
        let data = DataIdentity::of(&data_name(options), &train_set, &test_set);
        return Ok(Start {
            spec,
            config,
            state,
            train_set,
            test_set,
            data,
        });
    };
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| format!("--resume {file}: cannot be read: {e}"))?;
    let checkpoint = read_checkpoint(&bytes, &file).map_err(|e| e.to_string())?;
    let mut config = checkpoint.config.clone();
    if options.given.iter().any(|f| f == "--epochs") {
        config.epochs = options.epochs;
    }
    let (train_set, test_set) = load_data(options, config.seed)?;
    let data = DataIdentity::of(&data_name(options), &train_set, &test_set);
    checkpoint
        .check(&Expected {
            spec: &checkpoint.spec,
            config: &config,
            data: &data,
        })
        .map_err(|problem| format!("--resume {file}: {problem}"))?;
    Ok(Start {
        spec: checkpoint.spec,
        config,
        state: checkpoint.state,
        train_set,
        test_set,
        data,
    })
}

/// `snn-ipu train`: trains and reports every epoch to `out`, a progress
/// bar to standard error. Stops after the batch in progress when
/// `interrupt` is requested (Ctrl-C), writing the checkpoint first.
pub fn train_command(
    options: &TrainOptions,
    interrupt: &Interrupt,
    out: &mut dyn Write,
) -> Result<(), String> {
    let io = |e: std::io::Error| e.to_string();
    let Start {
        spec,
        config,
        mut state,
        train_set,
        test_set,
        data,
    } = start(options)?;
    let needs = estimate(&spec, &config, train_set.len());
    memory::check(
        &needs,
        memory::available(),
        "use a smaller --batch, --steps or --hidden, or --precision f16",
    )?;
    let (native, threads) = runner(&spec, options.threads)?;
    // --backend emulator: the steps as graphs; the test passes natively with
    // the same definitions (defined dense sums, the f32 loss)
    let (native, mut emulator) = match options.backend {
        Backend::Native => (native, None),
        Backend::Emulator => {
            check_supported(&spec, &config)?;
            let native = native
                .with_dense(Dense::Defined)
                .with_loss_precision(LossPrecision::F32);
            (native, Some(EmulatorSteps::new(&spec)))
        }
    };
    let mut native_steps = NativeSteps(&native);
    let steps: &mut dyn StepRunner = match emulator.as_mut() {
        Some(e) => e,
        None => &mut native_steps,
    };
    writeln!(
        out,
        "training on {}: {} training and {} test images, {} features, {} classes",
        train_set.name,
        train_set.len(),
        test_set.len(),
        train_set.features,
        train_set.classes
    )
    .map_err(io)?;
    writeln!(
        out,
        "network {}, {} thread(s), {} backend",
        describe(&spec, &config),
        threads,
        options.backend.name()
    )
    .map_err(io)?;
    if let Some(path) = &options.resume {
        writeln!(
            out,
            "resuming {}: epoch {} of {}, {} of its batches done",
            path.display(),
            state.epoch + 1,
            config.epochs,
            state.progress.batches
        )
        .map_err(io)?;
    }
    let mut history: Vec<EpochMetrics> = Vec::new();
    let mut csv = match &options.metrics {
        Some(path) if options.resume.is_some() => {
            let resumed = MetricsCsv::resume(path, state.epoch).map_err(|e| e.to_string())?;
            history = resumed.history;
            Some(resumed.csv)
        }
        Some(path) => Some(MetricsCsv::create(path).map_err(|e| e.to_string())?),
        None => None,
    };
    let checkpoint = |state: &TrainState| -> Result<(), String> {
        match &options.checkpoint {
            Some(path) => save_state(path, &spec, &config, &data, state).map_err(|e| e.to_string()),
            None => Ok(()),
        }
    };
    let mut progress = Progress::stderr();
    let mut failure: Option<String> = None;
    let mut stopped: Option<(usize, usize)> = None;
    let started = Instant::now();
    let mut epoch_start = started.elapsed();
    train_with(
        steps,
        &native,
        &config,
        &train_set,
        &test_set,
        &mut state,
        &mut |event| {
            let result: Result<Control, String> = (|| match event {
                Event::Batch {
                    epoch,
                    done,
                    total,
                    state,
                } => {
                    if interrupt.requested() {
                        progress.clear().map_err(io)?;
                        checkpoint(state)?;
                        stopped = Some((epoch, done));
                        return Ok(Control::Stop);
                    }
                    let elapsed = started.elapsed() - epoch_start;
                    progress
                        .batch(epoch, done, total, state.progress.seen, elapsed)
                        .map_err(io)?;
                    Ok(Control::Continue)
                }
                Event::Epoch { metrics, state } => {
                    progress.clear().map_err(io)?;
                    epoch_start = started.elapsed();
                    writeln!(out, "{}", epoch_line(metrics, spec.precision)).map_err(io)?;
                    history.push(*metrics);
                    if let Some(csv) = csv.as_mut() {
                        csv.append(metrics).map_err(|e| e.to_string())?;
                    }
                    checkpoint(state)?;
                    if interrupt.requested() {
                        stopped = Some((metrics.epoch, 0));
                        return Ok(Control::Stop);
                    }
                    Ok(Control::Continue)
                }
            })();
            result.unwrap_or_else(|message| {
                failure = Some(message);
                Control::Stop
            })
        },
    )
    .map_err(|e| e.to_string())?;
    if let Some(message) = failure {
        return Err(message);
    }
    if let Some(path) = &options.plot {
        write_png(path, &history).map_err(|e| e.to_string())?;
        writeln!(out, "wrote {}", path.display()).map_err(io)?;
    }
    if let Some(path) = &options.metrics {
        writeln!(out, "wrote {}", path.display()).map_err(io)?;
    }
    if let Some(path) = &options.save {
        save_weights(path, &spec, &state.values).map_err(|e| e.to_string())?;
        writeln!(out, "wrote the weights to {}", path.display()).map_err(io)?;
    }
    if let Some((epoch, batch)) = stopped {
        let place = if batch == 0 {
            format!("after epoch {epoch}")
        } else {
            format!("in epoch {epoch} after batch {batch}")
        };
        return Err(match &options.checkpoint {
            Some(path) => format!(
                "interrupted {place}; the checkpoint {} continues it: snn-ipu train --resume {}",
                path.display(),
                path.display()
            ),
            None => format!(
                "interrupted {place}; no --checkpoint FILE was given, so the run cannot be resumed"
            ),
        });
    }
    if let Some(path) = &options.checkpoint {
        writeln!(out, "checkpoint: {}", path.display()).map_err(io)?;
    }
    writeln!(out, "done in {:.1} s", started.elapsed().as_secs_f64()).map_err(io)?;
    Ok(())
}

/// The runner of `spec` with its dense layers on `threads` threads (0:
/// every core), and the number of threads.
fn runner(spec: &NetworkSpec, threads: usize) -> Result<(Native, usize), String> {
    let threads = threads::install(threads)?;
    let native = Native::new(spec)
        .map_err(|e| e.to_string())?
        .with_dense(Dense::Fast { threads });
    Ok((native, threads))
}

/// `snn-ipu evaluate --load FILE`: the test loss and accuracy of saved
/// weights.
pub fn evaluate_command(options: &TrainOptions, out: &mut dyn Write) -> Result<(), String> {
    let io = |e: std::io::Error| e.to_string();
    let path = options.load.as_ref().ok_or("evaluate needs --load FILE")?;
    let (spec, values) = load_weights(path).map_err(|e| e.to_string())?;
    let (_, test_set) = load_data(options, options.seed)?;
    if (test_set.features, test_set.classes) != (spec.inputs, spec.classes) {
        return Err(format!(
            "{}: the network takes {} features into {} classes; {} has {} features and {} classes",
            path.display(),
            spec.inputs,
            spec.classes,
            test_set.name,
            test_set.features,
            test_set.classes
        ));
    }
    let config = options.config();
    let needs = estimate(&spec, &config, 0);
    memory::check(
        &needs,
        memory::available(),
        "use a smaller --batch or --steps",
    )?;
    let (native, _) = runner(&spec, options.threads)?;
    writeln!(
        out,
        "evaluating {} on {} ({} images): network {}, {} encoding over {} steps, {} loss",
        path.display(),
        test_set.name,
        test_set.len(),
        describe_network(&spec),
        config.encoder.name(),
        config.steps,
        config.loss.name()
    )
    .map_err(io)?;
    let started = Instant::now();
    let (loss, accuracy) =
        evaluate(&native, &values, &test_set, &config).map_err(|e| e.to_string())?;
    writeln!(
        out,
        "test loss {loss:.4}, test accuracy {:.2}% ({:.1} s)",
        100.0 * accuracy,
        started.elapsed().as_secs_f64()
    )
    .map_err(io)?;
    Ok(())
}

/// `784-1000-10 (leaky neurons, atan surrogate, f32), rate encoding over 25
/// steps, batch 64, ce_count loss, adam lr 0.002, 15 epochs`.
fn describe(spec: &NetworkSpec, config: &TrainConfig) -> String {
    format!(
        "{}, {} encoding over {} steps, batch {}, {} loss, {} lr {}, {} epochs",
        describe_network(spec),
        config.encoder.name(),
        config.steps,
        config.batch,
        config.loss.name(),
        config.optimizer.name(),
        config.optimizer.lr(),
        config.epochs
    )
}

/// `784-1000-10 (leaky neurons, atan surrogate, f32)`.
fn describe_network(spec: &NetworkSpec) -> String {
    let widths: Vec<String> = std::iter::once(spec.inputs)
        .chain(spec.layers.iter().filter_map(|l| match l {
            LayerSpec::Dense { outputs, .. } => Some(*outputs),
            _ => None,
        }))
        .map(|w| w.to_string())
        .collect();
    let neuron = spec.layers.iter().find_map(|l| match l {
        LayerSpec::Spiking { neuron, .. } => Some(neuron),
        _ => None,
    });
    let (model, surrogate) = neuron.map_or(("no".into(), "no".into()), |n| {
        (n.model.name().to_string(), surrogate_name(n.surrogate))
    });
    let population = if spec.population > 1 {
        format!(", {} neurons per class", spec.population)
    } else {
        String::new()
    };
    format!(
        "{} ({model} neurons, {surrogate} surrogate, {}{population})",
        widths.join("-"),
        spec.precision.name(),
    )
}

fn surrogate_name(surrogate: SurrogateKind) -> String {
    serde_json::to_value(surrogate)
        .ok()
        .and_then(|json| json.get("name").and_then(|n| n.as_str()).map(String::from))
        .unwrap_or_else(|| "?".into())
}
