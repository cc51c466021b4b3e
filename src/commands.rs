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
use crate::train::{train, Control, Event, TrainState};

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
                e.add("spiking layer trajectories", 7 * rows * *neurons as u64, bytes);
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
    memory::check(&needs, memory::available(), "use a smaller --batch, --steps or --hidden, or --precision f16")?;
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
    let started = Instant::now();
    let mut write_error = None;
    train(&native, &config, &train_set, &test_set, &mut state, &mut |event| {
        if let Event::Epoch { metrics, .. } = event {
            let line = format!(
                "epoch {:>3}: loss {:.4}, train accuracy {:.2}%, test accuracy {:.2}%, {:.0} samples/s, {:.1} s",
                metrics.epoch,
                metrics.loss,
                100.0 * metrics.train_accuracy,
                100.0 * metrics.test_accuracy,
                metrics.samples_per_second,
                started.elapsed().as_secs_f64()
            );
            if let Err(e) = writeln!(out, "{line}") {
                write_error = Some(e.to_string());
                return Control::Stop;
            }
        }
        Control::Continue
    })
    .map_err(|e| e.to_string())?;
    if let Some(e) = write_error {
        return Err(e);
    }
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
