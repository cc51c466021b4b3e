//! `snn-ipu plan`: the training step of a network (the `train` options) as
//! one IPU graph on a target: whether it fits, the bytes per tile and what
//! takes them, and the estimated IPU time of a step. Nothing is run.

use std::io::Write;

use snn_poplar_host::graph::memory::MemoryReport;
use snn_poplar_host::graph::Target;

use crate::cli::TrainOptions;
use crate::graph_backend::{build_graph_on, check_supported};
use crate::options::{self, Flags};

/// `snn-ipu plan --help`.
pub const PLAN_USAGE: &str = "usage: snn-ipu plan [--target gc200|bow] [--tiles N] [train options]

Builds the training step of the network the `train` options describe
(forward over all steps, loss, backward through time, optimiser update) as
one IPU graph for the target, and reports the tiles it uses, the bytes per
tile (max, mean, limit) and what takes them, whether it fits, and the
estimated IPU cycles and time of one step (from the cost model). Nothing
runs. Example, the seed paper's network on one GC200:

  snn-ipu plan --hidden 1000 --batch 128 --steps 25 --inputs 784

options:
  --target NAME   gc200 (default) or bow
  --tiles N       tiles per split of the graph (default: all of the target's)
  --inputs N      input features (default 784, MNIST's)
  and every network option of `snn-ipu train` (--hidden, --model, --batch,
  --steps, --population, --optimizer, ...; see snn-ipu train --help)";

/// The options of `plan`.
#[derive(Clone, Debug)]
pub struct PlanOptions {
    /// The target.
    pub target: Target,
    /// Tiles per split.
    pub tiles: u32,
    /// Input features.
    pub inputs: usize,
    /// The network and training options.
    pub train: TrainOptions,
}

impl PlanOptions {
    /// Parses `plan`'s options; `Ok(None)` for `--help`.
    pub fn parse(args: &[String]) -> Result<Option<PlanOptions>, String> {
        let mut target = Target::gc200();
        let mut tiles = None;
        let mut inputs = 784;
        let mut rest = Vec::new();
        let mut flags = Flags::new(args);
        while let Some(flag) = flags.next_flag()? {
            match flag {
                "--help" | "-h" => return Ok(None),
                "--target" => {
                    target = match flags.value(flag)? {
                        "gc200" => Target::gc200(),
                        "bow" => Target::bow(),
                        other => return Err(format!("{flag} is gc200 or bow, got `{other}`")),
                    }
                }
                "--tiles" => {
                    let n = options::count(flag, flags.value(flag)?)?;
                    tiles = Some(u32::try_from(n).unwrap_or(u32::MAX));
                }
                "--inputs" => inputs = options::count(flag, flags.value(flag)?)?,
                other => {
                    rest.push(other.to_string());
                    if !matches!(other, "--per-neuron") {
                        rest.push(flags.value(other)?.to_string());
                    }
                }
            }
        }
        let tiles = match tiles {
            None => target.tiles,
            Some(t) if t <= target.tiles => t,
            Some(t) => {
                return Err(format!(
                    "--tiles {t}: one {} has {} tiles",
                    target.name, target.tiles
                ))
            }
        };
        let Some(train) = TrainOptions::parse(&rest)? else {
            return Ok(None);
        };
        for flag in &train.given {
            if matches!(
                flag.as_str(),
                "--data"
                    | "--epochs"
                    | "--save"
                    | "--checkpoint"
                    | "--resume"
                    | "--metrics"
                    | "--plot"
                    | "--threads"
                    | "--backend"
            ) {
                return Err(format!(
                    "{flag} belongs to `snn-ipu train`; plan only builds the graph"
                ));
            }
        }
        Ok(Some(PlanOptions {
            target,
            tiles,
            inputs,
            train,
        }))
    }
}

/// Builds the graph and writes the report to `out`. A graph that does not
/// fit is reported (with what to change) and is an error.
pub fn plan_command(options: &PlanOptions, out: &mut dyn Write) -> Result<(), String> {
    let train = &options.train;
    let spec = train.network(options.inputs, 10)?;
    let config = train.config();
    check_supported(&spec, &config)?;
    let graph = build_graph_on(
        &spec,
        config.steps,
        config.batch,
        config.optimizer,
        options.target.clone(),
        options.tiles,
    )?;
    let program = graph.program();
    let g = graph.graph();
    let memory = g.memory_for(program);
    let estimate = g
        .estimate_cycles(program)
        .map_err(|e| format!("cycle estimate: {}", e[0]))?;
    let sizes: Vec<String> = std::iter::once(spec.inputs.to_string())
        .chain(spec.layers.iter().filter_map(|l| match l {
            crate::network::LayerSpec::Spiking { neurons, .. } => Some(neurons.to_string()),
            _ => None,
        }))
        .collect();
    let w = |out: &mut dyn Write, s: String| writeln!(out, "{s}").map_err(|e| e.to_string());
    w(
        out,
        format!(
            "training step of {} ({}), T = {}, batch {}, {} on one {} ({} tiles per split)",
            sizes.join("-"),
            train.model.name(),
            config.steps,
            config.batch,
            config.optimizer.name(),
            options.target.name,
            options.tiles
        ),
    )?;
    w(out, summary(&memory))?;
    let (tile, fullest) = memory.max();
    w(
        out,
        format!(
            "fullest tile {tile}: {}",
            fullest
                .categories()
                .iter()
                .filter(|(_, b)| *b > 0)
                .map(|(name, b)| format!("{name} {b}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )?;
    w(
        out,
        format!(
            "estimated IPU time per step: {} cycles = {:.3} ms at {:.2} GHz (compute {}, exchange {}, sync {}, host {}; an estimate from the cost model)",
            estimate.total(),
            estimate.seconds() * 1e3,
            options.target.clock_hz / 1e9,
            estimate.compute,
            estimate.exchange,
            estimate.sync,
            estimate.host
        ),
    )?;
    match memory.clone().check() {
        Ok(_) => w(
            out,
            format!(
                "fits one {}: the fullest tile uses {:.1} % of its memory",
                options.target.name,
                fullest.total() as f64 / memory.limit as f64 * 100.0
            ),
        ),
        Err(e) => Err(format!("does not fit one {}: {e}", options.target.name)),
    }
}

/// `tiles used; bytes per tile max, mean, limit`.
fn summary(memory: &MemoryReport) -> String {
    let (_, fullest) = memory.max();
    format!(
        "tiles used: {}; bytes per tile: max {}, mean {:.0}, limit {}",
        memory.tiles_used(),
        fullest.total(),
        memory.mean_used(),
        memory.limit
    )
}
