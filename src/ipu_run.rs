//! `snn-ipu run`: one spiking layer's forward and backward passes as an IPU
//! graph, run on a backend and checked against the native kernels.
//!
//! The layer (model, configuration, surrogate, precision, batch, neurons,
//! steps) runs first in the native kernels; then its graph is built for the
//! target (tiles, memory, time chunks), and the chosen backend runs it:
//! `emulator` (the graph emulator on this CPU), `poplar` (an IPU or the
//! IPUModel through the Poplar SDK, in a build with the `poplar` feature),
//! or `native` (the kernels only, with the graph's estimates). The report:
//! tiles used, bytes per tile (max, mean, limit), the estimated IPU cycles
//! and time, the wall time, neuron-steps per second and the verdict of the
//! bit-for-bit comparison.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use snn_kernels::layer::{InputGrads, Layer, OutputGrads, Param, Saved};
use snn_kernels::model::{no_gradient, Model};
use snn_kernels::surrogate::Surrogate;
use snn_kernels::F16;
use snn_poplar_host::graph::run::{Engine, HostElement, Values};
use snn_poplar_host::graph::{Program, Target};
use snn_poplar_host::layer::{Chunking, LayerGraph};
use snn_poplar_host::poplar_backend::{self, Device, RunInputs};
use snn_poplar_host::VertexLayer;

use crate::cli::{one_of, TrainOptions};
use crate::native::spiking::{with_kernel_layer, LayerVisitor};
use crate::network::{ModelKind, NeuronSpec, Recurrence, ResetKind, SurrogateKind};
use crate::options::{self, Flags, Precision};

/// Where the graph runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The native kernels only (the graph is built for its estimates).
    Native,
    /// The graph emulator on this CPU.
    Emulator,
    /// Poplar: an IPU, or the IPUModel with `--ipu-model`.
    Poplar,
}

impl Backend {
    /// The names the option takes.
    pub const NAMES: [&'static str; 3] = ["native", "emulator", "poplar"];

    fn parse(name: &str) -> Option<Backend> {
        match name {
            "native" => Some(Backend::Native),
            "emulator" => Some(Backend::Emulator),
            "poplar" => Some(Backend::Poplar),
            _ => None,
        }
    }
}

/// The options of `snn-ipu run`.
#[derive(Clone, Debug, PartialEq)]
pub struct RunOptions {
    /// The model.
    pub model: ModelKind,
    /// Reset mechanism (`None`: the model's default).
    pub reset: Option<ResetKind>,
    /// `reset_delay`.
    pub reset_delay: bool,
    /// The surrogate.
    pub surrogate: SurrogateKind,
    /// Arithmetic.
    pub precision: Precision,
    /// Batch rows.
    pub batch: usize,
    /// Neurons.
    pub neurons: usize,
    /// Time steps.
    pub steps: usize,
    /// The target chip.
    pub target: Target,
    /// Tiles to use (at most the target's).
    pub tiles: u32,
    /// Time chunks.
    pub chunking: Chunking,
    /// The backend.
    pub backend: Backend,
    /// The IPUModel instead of an IPU (Poplar backend).
    pub ipu_model: bool,
    /// Seed of the inputs (and of a stochastic surrogate's noise).
    pub seed: u64,
    /// Threads of the graph emulator (tiles run at once).
    pub threads: usize,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            model: ModelKind::Leaky,
            reset: None,
            reset_delay: true,
            surrogate: SurrogateKind::Atan { alpha: 2.0 },
            precision: Precision::F32,
            batch: 16,
            neurons: 1000,
            steps: 25,
            target: Target::gc200(),
            tiles: Target::gc200().tiles,
            chunking: Chunking::Auto,
            backend: Backend::Emulator,
            ipu_model: false,
            seed: 1,
            threads: crate::threads::resolve(0),
        }
    }
}

/// `snn-ipu run --help`.
pub const RUN_USAGE: &str = "usage: snn-ipu run [options]

Builds one spiking layer's forward and backward passes as an IPU graph
(elements split over tiles, time chunks when the trajectory does not fit),
runs it on a backend, compares every output with the native kernels bit for
bit and reports tiles, bytes per tile, the estimated IPU time, the wall time
and neuron-steps per second.

options:
  --model NAME        leaky, synaptic, alpha, lapicque, rleaky, rsynaptic (default leaky;
                      recurrent models one-to-one)
  --reset NAME        subtract, zero, none (default: the model's)
  --reset-delay B     true or false (default true)
  --surrogate NAME    atan (default), fast_sigmoid, sigmoid, triangular, straight_through,
                      heaviside, spike_rate_escape, sfs, lso, sso (snnTorch's defaults)
  --precision P       f32 (default) or f16
  --batch N           batch rows (default 16)
  --neurons N         neurons (default 1000)
  --steps N           time steps (default 25)
  --target NAME       gc200 (default) or bow
  --tiles N           tiles to use (default: all of the target's)
  --chunk C           auto (default: the whole sequence if it fits), whole, or steps per chunk
  --backend NAME      emulator (default), native, poplar (needs a build with
                      --features poplar and the Poplar SDK)
  --ipu-model         with --backend poplar: Graphcore's IPUModel instead of an IPU
  --seed N            inputs' seed (default 1)
  --threads N         the graph emulator's threads, tiles run at once (default: the cores)
  --help              this text";

/// At most this many values per array (`batch x neurons x steps`): the run
/// holds about a dozen such arrays, native and graph.
pub const MAX_VALUES: usize = 1 << 28;

impl RunOptions {
    /// Parses `run`'s options; `Ok(None)` for `--help`.
    pub fn parse(args: &[String]) -> Result<Option<RunOptions>, String> {
        let mut o = RunOptions::default();
        let mut tiles = None;
        let mut flags = Flags::new(args);
        let mut given: Vec<&str> = Vec::new();
        while let Some(flag) = flags.next_flag()? {
            if given.contains(&flag) {
                return Err(format!("{flag} is given twice"));
            }
            given.push(flag);
            match flag {
                "--help" | "-h" => return Ok(None),
                "--model" => o.model = crate::cli::model(flag, flags.value(flag)?)?,
                "--reset" => o.reset = Some(crate::cli::reset(flag, flags.value(flag)?)?),
                "--reset-delay" => {
                    o.reset_delay = match flags.value(flag)? {
                        "true" => true,
                        "false" => false,
                        other => return Err(format!("{flag} is true or false, got `{other}`")),
                    }
                }
                "--surrogate" => {
                    o.surrogate = one_of(
                        flag,
                        flags.value(flag)?,
                        &SurrogateKind::NAMES,
                        SurrogateKind::parse,
                    )?
                }
                "--precision" => o.precision = options::precision(flag, flags.value(flag)?)?,
                "--batch" => o.batch = options::count(flag, flags.value(flag)?)?,
                "--neurons" => o.neurons = options::count(flag, flags.value(flag)?)?,
                "--steps" => o.steps = options::count(flag, flags.value(flag)?)?,
                "--target" => {
                    o.target = match flags.value(flag)? {
                        "gc200" => Target::gc200(),
                        "bow" => Target::bow(),
                        other => return Err(format!("{flag} is gc200 or bow, got `{other}`")),
                    }
                }
                "--tiles" => {
                    let n = options::count(flag, flags.value(flag)?)?;
                    tiles = Some(u32::try_from(n).unwrap_or(u32::MAX));
                }
                "--chunk" => {
                    o.chunking = match flags.value(flag)? {
                        "auto" => Chunking::Auto,
                        "whole" => Chunking::Whole,
                        v => Chunking::Steps(options::count(flag, v).map_err(|_| {
                            format!("{flag} is auto, whole or a number of steps, got `{v}`")
                        })?),
                    }
                }
                "--backend" => {
                    o.backend = one_of(flag, flags.value(flag)?, &Backend::NAMES, Backend::parse)?
                }
                "--ipu-model" => o.ipu_model = true,
                "--seed" => o.seed = options::seed(flag, flags.value(flag)?)?,
                "--threads" => o.threads = options::count(flag, flags.value(flag)?)?,
                other => {
                    return Err(format!(
                        "unknown option `{other}` (snn-ipu run --help lists them)"
                    ))
                }
            }
        }
        o.tiles = match tiles {
            None => o.target.tiles,
            Some(t) if t <= o.target.tiles => t,
            Some(t) => {
                return Err(format!(
                    "--tiles {t}: one {} has {} tiles",
                    o.target.name, o.target.tiles
                ))
            }
        };
        if let Chunking::Steps(c) = o.chunking {
            if c > o.steps {
                return Err(format!(
                    "--chunk {c} is longer than the {} steps (give at most --steps)",
                    o.steps
                ));
            }
        }
        if o.ipu_model && o.backend != Backend::Poplar {
            return Err("--ipu-model belongs to --backend poplar".into());
        }
        let values = o
            .batch
            .checked_mul(o.neurons)
            .and_then(|n| n.checked_mul(o.steps));
        if values.is_none_or(|v| v > MAX_VALUES) {
            return Err(format!(
                "--batch x --neurons x --steps is over {MAX_VALUES} values per array; make the layer smaller"
            ));
        }
        Ok(Some(o))
    }

    /// The layer's neurons: the model with its default parameters.
    pub fn neuron(&self) -> Result<NeuronSpec, String> {
        let train = TrainOptions {
            model: self.model,
            reset: self.reset,
            reset_delay: self.reset_delay,
            recurrence: if self.model.recurrent() {
                Recurrence::OneToOne
            } else {
                Recurrence::None
            },
            surrogate: self.surrogate,
            ..TrainOptions::default()
        };
        train.neuron()
    }
}

/// What a run measured.
#[derive(Clone, Debug, PartialEq)]
pub struct RunReport {
    /// The graph's forward and backward vertices.
    pub vertices: (String, String),
    /// Tiles used.
    pub tiles: usize,
    /// Steps per time chunk (the steps when not split).
    pub chunk: usize,
    /// Bytes of the fullest tile, the mean of the used tiles, the limit.
    pub bytes_per_tile: (u64, f64, u64),
    /// Estimated IPU tile cycles of forward and backward, and their time.
    pub ipu_cycles: u64,
    /// `ipu_cycles` at the target's clock, seconds.
    pub ipu_seconds: f64,
    /// Wall time of the native kernels' forward + backward.
    pub native_wall: Duration,
    /// Wall time of the backend's forward + backward (`None` for native).
    pub backend_wall: Option<Duration>,
    /// Outputs compared and those that differ (in any bit; NaNs equal).
    pub compared: usize,
    /// Values that differ.
    pub mismatches: usize,
}

/// Runs `options` and writes the report to `out`.
pub fn run_command(options: &RunOptions, out: &mut dyn Write) -> Result<RunReport, String> {
    if options.backend == Backend::Poplar {
        if let Some(reason) = poplar_backend::unavailable_reason() {
            return Err(format!("--backend poplar: {reason}"));
        }
    }
    let neuron = options.neuron()?;
    check_host_memory(options)?;
    let report = with_kernel_layer(
        &neuron,
        Visit {
            options,
            neuron: &neuron,
        },
    )?;
    let o = options;
    let elements_steps = (o.batch * o.neurons * o.steps) as f64;
    let w = |r: &mut dyn Write, s: String| writeln!(r, "{s}").map_err(|e| e.to_string());
    w(
        out,
        format!(
            "{} layer, {} x {} neurons, {} steps, {}, {} on {} ({} tiles used, {})",
            o.model.name(),
            o.batch,
            o.neurons,
            o.steps,
            o.precision.name(),
            match o.backend {
                Backend::Native => "native kernels",
                Backend::Emulator => "graph emulator",
                Backend::Poplar if o.ipu_model => "Poplar IPUModel",
                Backend::Poplar => "Poplar IPU",
            },
            o.target.name,
            report.tiles,
            if report.chunk == o.steps {
                "whole sequence".to_string()
            } else {
                format!("time chunks of {} steps", report.chunk)
            }
        ),
    )?;
    w(
        out,
        format!("vertices: {} / {}", report.vertices.0, report.vertices.1),
    )?;
    let (max, mean, limit) = report.bytes_per_tile;
    w(
        out,
        format!(
            "bytes per tile: max {max}, mean {mean:.0}, limit {limit} ({:.1} % of a tile)",
            max as f64 / limit as f64 * 100.0
        ),
    )?;
    w(
        out,
        format!(
            "IPU forward + backward: {} cycles = {:.1} us at {:.2} GHz (estimate from the cost model), {:.3e} neuron-steps/s",
            report.ipu_cycles,
            report.ipu_seconds * 1e6,
            o.target.clock_hz / 1e9,
            elements_steps / report.ipu_seconds
        ),
    )?;
    let rate = |d: Duration| elements_steps / d.as_secs_f64().max(1e-9);
    w(
        out,
        format!(
            "native kernels: {:.4} s wall, {:.3e} neuron-steps/s (forward + backward, one thread)",
            report.native_wall.as_secs_f64(),
            rate(report.native_wall)
        ),
    )?;
    if let Some(d) = report.backend_wall {
        w(
            out,
            format!(
                "{}: {:.4} s wall, {:.3e} neuron-steps/s",
                match o.backend {
                    Backend::Poplar => "poplar".to_string(),
                    _ => format!("graph emulator ({} threads)", o.threads),
                },
                d.as_secs_f64(),
                rate(d)
            ),
        )?;
        let verdict = if report.mismatches == 0 {
            format!(
                "agreement: all {} values equal the native kernels' bit for bit",
                report.compared
            )
        } else {
            format!(
                "agreement: FAILED, {} of {} values differ from the native kernels'",
                report.mismatches, report.compared
            )
        };
        w(out, verdict)?;
    } else {
        w(
            out,
            "agreement: not checked (--backend native runs only the kernels)".into(),
        )?;
    }
    if report.mismatches > 0 {
        return Err(format!(
            "{} values differ from the native kernels",
            report.mismatches
        ));
    }
    Ok(report)
}

/// Refuses a run whose arrays this machine cannot hold, before any is
/// allocated: per `batch x neurons x steps` values, the native run keeps
/// inputs, spikes, trajectories and gradients (about 8 arrays) and the
/// graph as many again in its layout.
fn check_host_memory(o: &RunOptions) -> Result<(), String> {
    let values = (o.batch * o.neurons * o.steps) as u64;
    let mut estimate = crate::memory::Estimate::default();
    estimate
        .add(
            "native kernels' arrays (8 per step and element)",
            8 * values,
            o.precision.bytes(),
        )
        .add(
            "graph tensors (8 per step and element)",
            8 * values,
            o.precision.bytes(),
        );
    crate::memory::check(
        &estimate,
        crate::memory::available(),
        "use a smaller --batch, --neurons or --steps",
    )
}

struct Visit<'a> {
    options: &'a RunOptions,
    neuron: &'a NeuronSpec,
}

impl LayerVisitor for Visit<'_> {
    type Output = Result<RunReport, String>;
    fn visit<M: Model, S: Surrogate, const CHUNK: usize>(
        self,
        model: M,
        surrogate: S,
    ) -> Self::Output {
        match self.options.precision {
            Precision::F32 => run_typed::<M, S, f32, CHUNK>(self, model, surrogate),
            Precision::F16 => run_typed::<M, S, F16, CHUNK>(self, model, surrogate),
        }
    }
}

/// Values in [-0.5, 2.0) from `seed`: a mix of spiking and quiet neurons.
fn pattern<T: HostElement>(len: usize, seed: u64, scale: f64) -> Vec<T> {
    (0..len as u64)
        .map(|i| {
            let mut h = (i ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)).wrapping_add(seed);
            h = (h ^ (h >> 31)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            h ^= h >> 29;
            let u = (h >> 11) as f64 / (1u64 << 53) as f64;
            T::constant((u * 2.5 - 0.5) * scale)
        })
        .collect()
}

fn bits_of<T: HostElement>(v: &[T]) -> impl Iterator<Item = u64> + '_ {
    v.iter().map(|&x| {
        let x: f64 = x.into();
        if x.is_nan() {
            u64::MAX
        } else {
            x.to_bits()
        }
    })
}

/// Native gradients of a layer: inputs, initial states, parameters.
struct Grads<T> {
    inputs: Vec<Vec<T>>,
    initial: Vec<Vec<T>>,
    params: Vec<Vec<T>>,
}

fn run_typed<M: Model, S: Surrogate, T: HostElement, const CHUNK: usize>(
    visit: Visit<'_>,
    model: M,
    surrogate: S,
) -> Result<RunReport, String> {
    let o = visit.options;
    let (batch, neurons, steps) = (o.batch, o.neurons, o.steps);
    let n = batch * neurons;
    let seed32 = o.seed as u32;
    let raw: Vec<T> = visit
        .neuron
        .params
        .iter()
        .map(|p| T::constant(p.value))
        .collect();
    let params: Vec<Param<'_, T>> = raw.iter().map(|&v| Param::Scalar(v)).collect();
    let mut progress = Stages::new();

    // the inputs
    let inputs: Vec<Vec<T>> = (0..M::INPUTS.len())
        .map(|k| pattern(steps * n, o.seed.wrapping_add(k as u64), 1.0))
        .collect();
    let initial: Vec<Vec<T>> = (0..M::STATES.len()).map(|_| vec![T::zero(); n]).collect();
    let grad_spikes: Vec<T> = pattern(steps * n, o.seed ^ 0xD1CE, 0.25);
    let stored: Vec<usize> = (0..M::STATES.len())
        .filter(|&k| Some(k) != M::SPIKE_STATE)
        .collect();

    // the graph
    progress.stage("building the graph");
    let spec = crate::graph_backend::surrogate_spec(visit.neuron.surrogate);
    let layer = VertexLayer::new(model, spec, batch, neurons, &params)
        .map_err(|e| e.to_string())?
        .with_seed(seed32);
    let (g, constants) = layer
        .graph(steps, o.target.clone(), o.tiles, o.chunking)
        .map_err(|e| e.to_string())?;
    let both = Program::Sequence(vec![g.forward.clone(), g.backward.clone()]);
    let memory = g
        .graph
        .check_memory_for(&both)
        .map_err(|e| format!("the graph does not fit the target: {e}"))?;
    let (_, fullest) = memory.max();
    let estimate = g
        .graph
        .estimate_cycles(&both)
        .map_err(|e| format!("cycle estimate: {}", e[0]))?;
    // the native kernels
    progress.stage("native kernels: forward and backward");
    let kernels = Layer::new(model, surrogate, batch, neurons, &params)
        .map_err(|e| e.to_string())?
        .with_chunk::<CHUNK>()
        .with_seed(seed32);
    let mut spikes = vec![T::zero(); steps * n];
    let mut states = vec![vec![T::zero(); steps * n]; stored.len()];
    let mut native = Grads {
        inputs: vec![vec![T::zero(); steps * n]; M::INPUTS.len()],
        initial: vec![vec![T::zero(); n]; M::STATES.len()],
        params: raw.iter().map(|_| vec![T::zero()]).collect(),
    };
    let started = Instant::now();
    {
        let input_refs: Vec<&[T]> = inputs.iter().map(Vec::as_slice).collect();
        let initial_refs: Vec<&[T]> = initial.iter().map(Vec::as_slice).collect();
        let mut refs: Vec<&mut [T]> = states.iter_mut().map(Vec::as_mut_slice).collect();
        kernels
            .forward(steps, &input_refs, &initial_refs, &mut spikes, &mut refs)
            .map_err(|e| e.to_string())?;
        let state_refs: Vec<&[T]> = states.iter().map(Vec::as_slice).collect();
        let mut gi: Vec<&mut [T]> = native.inputs.iter_mut().map(Vec::as_mut_slice).collect();
        let mut g0: Vec<&mut [T]> = native.initial.iter_mut().map(Vec::as_mut_slice).collect();
        let mut gp: Vec<&mut [T]> = native.params.iter_mut().map(Vec::as_mut_slice).collect();
        kernels
            .backward(
                steps,
                Saved::new(&input_refs, &initial_refs, &spikes, &state_refs),
                OutputGrads::new(&grad_spikes, &[]),
                InputGrads::new(&mut gi, &mut g0, &mut gp),
            )
            .map_err(|e| e.to_string())?;
    }
    let native_wall = started.elapsed();

    let mut report = RunReport {
        vertices: (g.forward_vertex.into(), g.backward_vertex.into()),
        tiles: g.blocks.len(),
        chunk: g.chunk,
        bytes_per_tile: (fullest.total(), memory.mean_used(), memory.limit),
        ipu_cycles: estimate.total(),
        ipu_seconds: estimate.seconds(),
        native_wall,
        backend_wall: None,
        compared: 0,
        mismatches: 0,
    };

    // what the graph is given
    let mut writes: Vec<(String, Values)> = constants
        .into_iter()
        .map(|(name, v)| (name, T::values(v)))
        .collect();
    for t in &g.tensors {
        let given: Option<&[T]> = match t.role {
            snn_codelet_gen::FieldRole::Input(k) => Some(&inputs[k]),
            snn_codelet_gen::FieldRole::InitialState(k) => Some(&initial[k]),
            snn_codelet_gen::FieldRole::GradSpikes => Some(&grad_spikes),
            _ => None,
        };
        if let Some(values) = given {
            writes.push((
                t.name.clone(),
                T::values(g.to_blocks(values, t.rows, n, T::zero())),
            ));
        } else if matches!(t.role, snn_codelet_gen::FieldRole::GradState(_)) {
            let none = vec![no_gradient::<T>(); t.rows * g.padded()];
            writes.push((t.name.clone(), T::values(none)));
        }
    }
    let wanted: Vec<(snn_codelet_gen::FieldRole, String)> = g
        .tensors
        .iter()
        .filter(|t| {
            use snn_codelet_gen::FieldRole as R;
            matches!(
                t.role,
                R::Spikes | R::GradInput(_) | R::GradInitialState(_) | R::GradPrepared
            )
        })
        .map(|t| (t.role, t.name.clone()))
        .collect();

    let outputs: Vec<(snn_codelet_gen::FieldRole, Values)> = match o.backend {
        Backend::Native => {
            progress.done();
            return Ok(report);
        }
        Backend::Emulator => {
            let started = Instant::now();
            let mut engine = Engine::new(&g.graph, &both)
                .map_err(|e| e.to_string())?
                .with_threads(o.threads);
            for (name, v) in writes {
                engine.write_tensor(&name, v).map_err(|e| e.to_string())?;
            }
            let pieces = pieces(&g);
            let total = pieces.len();
            for (k, (pass, piece)) in pieces.into_iter().enumerate() {
                progress.stage(&format!("graph emulator: {pass} ({}/{total})", k + 1));
                engine.run(piece).map_err(|e| e.to_string())?;
            }
            report.backend_wall = Some(started.elapsed());
            wanted
                .iter()
                .map(|(role, name)| Ok((*role, engine.read_tensor(name)?.clone())))
                .collect::<Result<_, snn_poplar_host::graph::run::RunError>>()
                .map_err(|e| e.to_string())?
        }
        Backend::Poplar => {
            progress.stage("Poplar: compiling and running the graph");
            let started = Instant::now();
            let inputs = RunInputs {
                writes,
                streams_in: Vec::new(),
                read: wanted.iter().map(|(_, name)| name.clone()).collect(),
            };
            let device = if o.ipu_model {
                Device::IpuModel
            } else {
                Device::Ipu
            };
            let outputs = poplar_backend::run_on_poplar(&g.graph, &both, &inputs, device)
                .map_err(|e| e.to_string())?;
            report.backend_wall = Some(started.elapsed());
            wanted
                .iter()
                .map(|(role, name)| {
                    outputs
                        .tensors
                        .iter()
                        .find(|(n, _)| n == name)
                        .map(|(_, v)| (*role, v.clone()))
                        .ok_or_else(|| format!("Poplar returned no tensor `{name}`"))
                })
                .collect::<Result<_, String>>()?
        }
    };
    progress.done();

    // the comparison
    let mut compare = |got: &[T], expected: &[T]| {
        report.compared += expected.len();
        report.mismatches += bits_of(got)
            .zip(bits_of(expected))
            .filter(|(a, b)| a != b)
            .count()
            + expected.len().saturating_sub(got.len());
    };
    for (role, values) in &outputs {
        use snn_codelet_gen::FieldRole as R;
        let t = g.tensor(*role).expect("a caller's tensor");
        let got = unblock::<T>(&g, values, t.rows, n)?;
        match *role {
            R::Spikes => compare(&got, &spikes),
            R::GradInput(k) => compare(&got, &native.inputs[k]),
            R::GradInitialState(k) => compare(&got, &native.initial[k]),
            R::GradPrepared => {
                let mut graph_params: Vec<Vec<T>> = raw.iter().map(|_| vec![T::zero()]).collect();
                let mut refs: Vec<&mut [T]> =
                    graph_params.iter_mut().map(Vec::as_mut_slice).collect();
                kernels
                    .reduce_param_grads(&got, &mut refs)
                    .map_err(|e| e.to_string())?;
                for (a, b) in graph_params.iter().zip(&native.params) {
                    compare(a, b);
                }
            }
            _ => {}
        }
    }
    Ok(report)
}

/// The graph's values of a caller's tensor as `[rows][n]`.
fn unblock<T: HostElement>(
    g: &LayerGraph,
    values: &Values,
    rows: usize,
    n: usize,
) -> Result<Vec<T>, String> {
    let blocks = T::of(values).ok_or("a tensor of the other precision")?;
    if blocks.len() != rows * g.padded() {
        return Err(format!(
            "a tensor of {} values where {} were expected",
            blocks.len(),
            rows * g.padded()
        ));
    }
    let mut out = vec![T::zero(); rows * n];
    g.from_blocks(blocks, rows, n, &mut out);
    Ok(out)
}

/// The forward and backward programs' top-level pieces (a chunk's compute
/// set or copies each), for the progress display.
fn pieces(g: &LayerGraph) -> Vec<(&'static str, &Program)> {
    let mut out = Vec::new();
    for (pass, program) in [("forward", &g.forward), ("backward", &g.backward)] {
        match program {
            Program::Sequence(items) => out.extend(items.iter().map(|p| (pass, p))),
            other => out.push((pass, other)),
        }
    }
    out
}

/// Stage lines on standard error: redrawn in place on a terminal, nothing
/// otherwise (the report on standard output says what ran).
struct Stages {
    terminal: bool,
    shown: usize,
}

impl Stages {
    fn new() -> Stages {
        Stages {
            terminal: std::io::stderr().is_terminal(),
            shown: 0,
        }
    }

    fn stage(&mut self, text: &str) {
        if self.terminal {
            let pad = self.shown.saturating_sub(text.len());
            eprint!("\r{text}{:pad$}", "");
            let _ = std::io::stderr().flush();
            self.shown = text.len();
        }
    }

    fn done(&mut self) {
        if self.terminal && self.shown > 0 {
            eprint!("\r{:w$}\r", "", w = self.shown);
            self.shown = 0;
        }
    }
}
