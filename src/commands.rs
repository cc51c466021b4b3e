//! The commands of `snn-ipu`, as library functions that write their report
//! to a `Write` (the binary passes stdout; tests pass a buffer).

use std::io::Write;
use std::time::Instant;

use crate::cli::TrainOptions;
use crate::data::{digits, Dataset};
use crate::memory;
use crate::native::Native;
use crate::network::{LayerSpec, NetworkSpec};
use crate::params::Values;
use crate::report::csv::MetricsCsv;
use crate::report::plot::write_png;
use crate::report::progress::{epoch_line, Progress};
use crate::train::{train, Control, EpochMetrics, Event, TrainState};

/// The training data: the bundled digits split, or MNIST-style files.
pub fn load_data(options: &TrainOptions) -> Result<(Dataset, Dataset), String> {
    match &options.data {
        None => Ok(digits::bundled().split(options.test_fraction, options.seed)),
        Some(dir) => Err(format!(
            "--data {}: reading IDX files is not available in this build",
            dir.display()
        )),
    }
}

/// The memory one training step needs, by buffer.
pub fn estimate(spec: &NetworkSpec, options: &TrainOptions, train_len: usize) -> memory::Estimate {
    let rows = (options.steps as u64) * (options.batch as u64);
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

/// `snn-ipu train`: trains and reports every epoch to `out`.
pub fn train_command(options: &TrainOptions, out: &mut dyn Write) -> Result<(), String> {
    let io = |e: std::io::Error| e.to_string();
    let (train_set, test_set) = load_data(options)?;
    let spec = options.network(train_set.features, train_set.classes)?;
    let needs = estimate(&spec, options, train_set.len());
    memory::check(
        &needs,
        memory::available(),
        "use a smaller --batch, --steps or --hidden, or --precision f16",
    )?;
    let native = Native::new(&spec).map_err(|e| e.to_string())?;
    let config = options.config();
    let mut state = TrainState::new(Values::init(&spec, options.seed), &config, spec.precision);
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
    let widths: Vec<String> = std::iter::once(spec.inputs)
        .chain(spec.layers.iter().filter_map(|l| match l {
            LayerSpec::Dense { outputs, .. } => Some(*outputs),
            _ => None,
        }))
        .map(|w| w.to_string())
        .collect();
    writeln!(
        out,
        "network {} ({} neurons, {} surrogate, {}), {} encoding over {} steps, batch {}, {} lr {}, {} epochs",
        widths.join("-"),
        options.model.name(),
        SurrogateName(options),
        spec.precision.name(),
        config.encoder.name(),
        config.steps,
        config.batch,
        config.optimizer.name(),
        options.lr,
        config.epochs
    )
    .map_err(io)?;
    let mut csv = match &options.metrics {
        Some(path) => Some(MetricsCsv::create(path).map_err(|e| e.to_string())?),
        None => None,
    };
    let mut progress = Progress::stderr();
    let mut history: Vec<EpochMetrics> = Vec::new();
    let mut failure: Option<String> = None;
    let epoch_started = Instant::now();
    let mut last_epoch_start = epoch_started.elapsed();
    train(
        &native,
        &config,
        &train_set,
        &test_set,
        &mut state,
        &mut |event| {
            let result: Result<(), String> = (|| match event {
                Event::Batch {
                    epoch,
                    done,
                    total,
                    state,
                } => {
                    let elapsed = epoch_started.elapsed() - last_epoch_start;
                    progress
                        .batch(epoch, done, total, state.progress.seen, elapsed)
                        .map_err(|e| e.to_string())
                }
                Event::Epoch { metrics, .. } => {
                    progress.clear().map_err(|e| e.to_string())?;
                    last_epoch_start = epoch_started.elapsed();
                    writeln!(out, "{}", epoch_line(metrics, spec.precision)).map_err(io)?;
                    history.push(*metrics);
                    if let Some(csv) = csv.as_mut() {
                        csv.append(metrics).map_err(|e| e.to_string())?;
                    }
                    Ok(())
                }
            })();
            match result {
                Ok(()) => Control::Continue,
                Err(message) => {
                    failure = Some(message);
                    Control::Stop
                }
            }
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
    writeln!(
        out,
        "done in {:.1} s",
        epoch_started.elapsed().as_secs_f64()
    )
    .map_err(io)?;
    Ok(())
}

struct SurrogateName<'a>(&'a TrainOptions);

impl std::fmt::Display for SurrogateName<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let json = serde_json::to_value(self.0.surrogate).map_err(|_| std::fmt::Error)?;
        let name = json.get("name").and_then(|n| n.as_str()).unwrap_or("?");
        f.write_str(name)
    }
}
