//! `snn-ipu codelets --out DIR` and `snn-ipu emit-poplar --out DIR`: the
//! files a user takes to a machine with the Poplar SDK.

use std::io::Write;
use std::path::{Path, PathBuf};

use snn_poplar_host::emit::{emit_layer_example, ExampleConfig};

use crate::options::{self, Flags};

/// `snn-ipu codelets --help`.
pub const CODELETS_USAGE: &str = "usage: snn-ipu codelets [--out DIR]

Writes the generated Poplar vertices: DIR/codelets.cpp (what popc compiles
for the IPU) and DIR/manifest.json (every vertex: fields, members, lengths,
operation counts). DIR defaults to `codelets`.";

/// `snn-ipu emit-poplar --help`.
pub const EMIT_USAGE: &str = "usage: snn-ipu emit-poplar [options]

Writes a directory to copy to a machine with the Poplar SDK: the codelets,
a standalone C++ host program that builds a Leaky layer's graph (split over
tiles, run in time chunks), runs it on an IPU or the IPUModel on the inputs
in data.bin and compares every output with the values computed here by the
native kernels, a Makefile and a README (`make run` or `make run-model`).

options:
  --out DIR       the directory (default `poplar-example`; created, or a previous emit's)
  --batch N       batch rows (default 4)
  --neurons N     neurons (default 100)
  --steps N       time steps per chunk (default 16)
  --chunks N      chunks, the membrane carried over (default 3)
  --tiles N       tiles of the GC200 to use (default 8)
  --precision P   f32 (default) or f16
  --training      instead of a layer, the training step of a 64-H-10 Leaky network
                  (Adam; H from --hidden, default 32), run --train-steps times
                  (default 3) on seeded spike inputs: parameters, losses and
                  correct counts compared (--batch, --steps, --tiles as above)
  --help          this text";

/// Parses `--out DIR` alone (codelets); `Ok(None)` for `--help`.
pub fn parse_codelets(args: &[String]) -> Result<Option<PathBuf>, String> {
    let mut out = None;
    let mut flags = Flags::new(args);
    while let Some(flag) = flags.next_flag()? {
        match flag {
            "--help" | "-h" => return Ok(None),
            "--out" => out = Some(folder(flag, flags.value(flag)?, out.is_some())?),
            other => return Err(format!("unknown option `{other}` (--out DIR, --help)")),
        }
    }
    Ok(Some(out.unwrap_or_else(|| PathBuf::from("codelets"))))
}

fn folder(flag: &str, value: &str, given: bool) -> Result<PathBuf, String> {
    if given {
        return Err(format!("{flag} is given twice"));
    }
    if value.trim().is_empty() {
        return Err(format!("{flag} needs a folder name"));
    }
    Ok(PathBuf::from(value))
}

/// Writes the codelets and the manifest into `dir`.
pub fn codelets_command(dir: &Path, out: &mut dyn Write) -> Result<(), String> {
    if dir.exists() && !dir.is_dir() {
        return Err(format!("--out {} is a file, not a folder", dir.display()));
    }
    let generated = snn_codelet_gen::generate(&snn_codelet_gen::Options::default());
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for (name, text) in [
        ("codelets.cpp", generated.cpp.clone()),
        ("manifest.json", generated.manifest_json()),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, &text)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        writeln!(out, "wrote {} ({} bytes)", path.display(), text.len())
            .map_err(|e| e.to_string())?;
    }
    writeln!(
        out,
        "{} vertices; compile for the IPU with: popc -O3 -Werror -Wdouble-promotion --target ipu2 {} -o codelets.gp",
        generated.vertices.len(),
        dir.join("codelets.cpp").display()
    )
    .map_err(|e| e.to_string())
}

/// What `emit-poplar --training` writes: the hidden layer's size and the
/// training steps the program runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrainingEmit {
    /// Hidden neurons.
    pub hidden: usize,
    /// Training steps.
    pub steps: usize,
}

/// The options of `emit-poplar`: the directory, the layer example's
/// configuration and, with `--training`, the training program's;
/// `Ok(None)` for `--help`.
pub fn parse_emit(
    args: &[String],
) -> Result<Option<(PathBuf, ExampleConfig, Option<TrainingEmit>)>, String> {
    let mut out = None;
    let mut c = ExampleConfig::default();
    let mut training = None;
    let mut hidden = 32;
    let mut train_steps = 3;
    let mut flags = Flags::new(args);
    while let Some(flag) = flags.next_flag()? {
        match flag {
            "--help" | "-h" => return Ok(None),
            "--training" => training = Some(()),
            "--hidden" => hidden = options::count(flag, flags.value(flag)?)?,
            "--train-steps" => train_steps = options::count(flag, flags.value(flag)?)?,
            "--out" => out = Some(folder(flag, flags.value(flag)?, out.is_some())?),
            "--batch" => c.batch = options::count(flag, flags.value(flag)?)?,
            "--neurons" => c.neurons = options::count(flag, flags.value(flag)?)?,
            "--steps" => c.steps = options::count(flag, flags.value(flag)?)?,
            "--chunks" => c.chunks = small(flag, options::count(flag, flags.value(flag)?)?)?,
            "--tiles" => c.tiles = small(flag, options::count(flag, flags.value(flag)?)?)?,
            "--precision" => {
                c.half = options::precision(flag, flags.value(flag)?)? == crate::Precision::F16
            }
            other => {
                return Err(format!(
                    "unknown option `{other}` (snn-ipu emit-poplar --help lists them)"
                ))
            }
        }
    }
    if train_steps > 1000 {
        return Err(format!("--train-steps {train_steps}: at most 1000"));
    }
    Ok(Some((
        out.unwrap_or_else(|| PathBuf::from("poplar-example")),
        c,
        training.map(|()| TrainingEmit {
            hidden,
            steps: train_steps,
        }),
    )))
}

/// Writes the training program of a 64-`hidden`-10 Leaky network (see
/// [`EMIT_USAGE`]).
fn emit_training_command(
    dir: &Path,
    config: &ExampleConfig,
    training: TrainingEmit,
    out: &mut dyn Write,
) -> Result<(), String> {
    use crate::graph_backend::{build_graph_on, check_supported, step_constants};
    let options = crate::cli::TrainOptions {
        hidden: vec![training.hidden],
        batch: config.batch,
        steps: config.steps,
        ..Default::default()
    };
    let spec = options.network(64, 10)?;
    let train = options.config();
    check_supported(&spec, &train)?;
    let graph = build_graph_on(
        &spec,
        config.steps,
        config.batch,
        train.optimizer,
        snn_poplar_host::graph::Target::gc200(),
        config.tiles,
    )?;
    let params = crate::params::Values::init(&spec, 1).tensors;
    let values = config.steps * config.batch * spec.inputs;
    let steps: Vec<snn_poplar_host::emit::StepData> = (0..training.steps)
        .map(|k| {
            // seeded spikes, about one in four
            let inputs = (0..values)
                .map(|i| {
                    let h = ((i as u64) ^ ((k as u64) << 40))
                        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
                        .rotate_left(17);
                    if h % 4 == 0 {
                        1.0
                    } else {
                        0.0
                    }
                })
                .collect();
            let labels = (0..config.batch).map(|b| (b + k) % 10).collect();
            (
                inputs,
                labels,
                step_constants(train.optimizer, k as u64 + 1),
            )
        })
        .collect();
    let losses = snn_poplar_host::emit::emit_training(dir, &graph, &params, &steps)
        .map_err(|e| e.to_string())?;
    writeln!(
        out,
        "wrote {}: the training step of 64-{}-10 (leaky, adam), T = {}, batch {}, {} steps (losses {}); checked here by the graph emulator\n\
         on a machine with the Poplar SDK: cd {} && make run (or make run-model for the IPUModel)",
        dir.display(),
        training.hidden,
        config.steps,
        config.batch,
        training.steps,
        losses
            .iter()
            .map(|l| format!("{l:.4}"))
            .collect::<Vec<_>>()
            .join(", "),
        dir.display()
    )
    .map_err(|e| e.to_string())
}

fn small(flag: &str, n: usize) -> Result<u32, String> {
    u32::try_from(n).map_err(|_| format!("{flag} {n} is too large"))
}

/// Writes the example directory: the layer example, or with `training`
/// the training program.
pub fn emit_command(
    dir: &Path,
    config: &ExampleConfig,
    training: Option<TrainingEmit>,
    out: &mut dyn Write,
) -> Result<(), String> {
    if let Some(training) = training {
        return emit_training_command(dir, config, training, out);
    }
    let summary = emit_layer_example(dir, config).map_err(|e| e.to_string())?;
    writeln!(
        out,
        "wrote {}: {} on {} tiles, {} steps in {} chunks, {} bytes of data; checked here: the graph emulator equals the native kernels bit for bit\n\
         on a machine with the Poplar SDK: cd {} && make run (or make run-model for the IPUModel)",
        dir.display(),
        summary.vertex,
        summary.tiles,
        summary.total_steps,
        config.chunks,
        summary.data_bytes,
        dir.display()
    )
    .map_err(|e| e.to_string())
}
