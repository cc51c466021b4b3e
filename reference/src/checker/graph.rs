//! The IPU graph as a checker backend: a layer's forward and backward
//! passes built as one graph by `snn-poplar-host` (`VertexLayer::graph`),
//! the elements split over three tiles, and run by its graph emulator. The
//! forward pass runs the whole sequence (its full state trajectories are
//! compared); the backward pass runs in time chunks of about a third of the
//! steps (the trajectory recomputed from each chunk's saved starting
//! states), except for the stochastic surrogate, whose noise is drawn per
//! step of a pass. The host's part (the parameter-gradient reduction) is
//! `Layer::reduce_param_grads`, as the host crate does it.

use snn_codelet_gen::FieldRole;
use snn_kernels::layer::Layer;
use snn_kernels::model::{no_gradient, Model};
use snn_kernels::surrogate as ks;
use snn_kernels::F16;
use snn_poplar_host::graph::run::{Engine, HostElement};
use snn_poplar_host::graph::Target;
use snn_poplar_host::layer::{Chunking, LayerGraph, NamedValues};
use snn_poplar_host::{SurrogateSpec, VertexLayer};

use super::kernels::{with_kernel_types, KernelVisitor};
use super::passes::{as_params, param_values, run_case};
use super::{Backend, NOT_GENERATED};
use crate::precision::Precision;
use crate::run::{Case, Outcome};

/// Tiles the layer is split over.
const TILES: u32 = 3;

/// The graph emulator running a layer's graph.
#[derive(Clone, Copy, Debug, Default)]
pub struct GraphEmulatorBackend;

impl Backend for GraphEmulatorBackend {
    fn name(&self) -> &str {
        "graph-emulator"
    }

    fn run(&self, case: &Case) -> Result<Outcome, String> {
        with_kernel_types(case, RunGraph(case))
    }

    fn supports(&self, case: &Case) -> bool {
        case.precision != Precision::F64 && case.precision != Precision::F16Storage
    }

    fn skip_note(&self, case: &Case) -> Option<String> {
        (case.precision == Precision::F16Storage).then(|| NOT_GENERATED.to_string())
    }
}

struct RunGraph<'a>(&'a Case);

impl KernelVisitor for RunGraph<'_> {
    type Output = Result<Outcome, String>;
    fn visit<M: Model, S: ks::Surrogate>(self, model: M, surrogate: S) -> Self::Output {
        match self.0.precision {
            Precision::F32 => run::<M, S, f32>(model, surrogate, self.0),
            Precision::F16 => run::<M, S, F16>(model, surrogate, self.0),
            Precision::F64 => Err("the IPU vertices exist in float and half only".into()),
            Precision::F16Storage => Err(NOT_GENERATED.into()),
        }
    }
}

/// Builds the graph, writes its constants and returns the engine.
fn engine<'g, T: HostElement>(
    g: &'g LayerGraph,
    constants: NamedValues<T>,
) -> Result<Engine<'g>, String> {
    let both =
        snn_poplar_host::graph::Program::Sequence(vec![g.forward.clone(), g.backward.clone()]);
    let mut engine = Engine::new(&g.graph, &both)
        .map_err(|e| e.to_string())?
        .with_worker_overlap_check();
    for (name, values) in constants {
        engine
            .write_tensor(&name, T::values(values))
            .map_err(|e| e.to_string())?;
    }
    Ok(engine)
}

/// Writes `[rows][n]` values into the caller's tensor with `role`.
fn write<T: HostElement>(
    engine: &mut Engine<'_>,
    g: &LayerGraph,
    role: FieldRole,
    values: &[T],
    n: usize,
) -> Result<(), String> {
    let t = g
        .tensor(role)
        .ok_or_else(|| format!("the graph has no {role:?} tensor"))?;
    engine
        .write_tensor(
            &t.name,
            T::values(g.to_blocks(values, t.rows, n, T::zero())),
        )
        .map_err(|e| e.to_string())
}

/// The caller's tensor with `role` as `[rows][n]` values into `out`.
fn read<T: HostElement>(
    engine: &Engine<'_>,
    g: &LayerGraph,
    role: FieldRole,
    n: usize,
    out: &mut [T],
) -> Result<(), String> {
    let t = g
        .tensor(role)
        .ok_or_else(|| format!("the graph has no {role:?} tensor"))?;
    let values = engine.read_tensor(&t.name).map_err(|e| e.to_string())?;
    let blocks = T::of(values).ok_or("a tensor of the other precision")?;
    g.from_blocks(blocks, t.rows, n, out);
    Ok(())
}

fn run<M: Model, S: ks::Surrogate, T: HostElement>(
    model: M,
    surrogate: S,
    case: &Case,
) -> Result<Outcome, String> {
    let params = param_values::<T>(case);
    let layer = VertexLayer::new(
        model,
        SurrogateSpec::of(&surrogate),
        case.batch,
        case.neurons,
        &as_params(&params),
    )
    .map_err(|e| e.to_string())?
    .with_seed(case.seed);
    let host = Layer::new(
        model,
        surrogate,
        case.batch,
        case.neurons,
        &as_params(&params),
    )
    .map_err(|e| e.to_string())?;
    let target =
        Target::custom("checker", TILES, 6, 624 * 1024, 1.33e9).map_err(|e| e.to_string())?;
    let n = case.batch * case.neurons;
    let stored: Vec<usize> = (0..M::STATES.len())
        .filter(|&k| Some(k) != M::SPIKE_STATE)
        .collect();
    let (layer, target, stored) = (&layer, &target, &stored);
    run_case(
        case,
        Box::new(move |steps, x, s0, spikes, states| {
            let (g, constants) = layer
                .graph(steps, target.clone(), TILES, Chunking::Whole)
                .map_err(|e| e.to_string())?;
            let mut engine = engine(&g, constants)?;
            for (k, values) in x.iter().enumerate() {
                write(&mut engine, &g, FieldRole::Input(k), values, n)?;
            }
            for (k, values) in s0.iter().enumerate() {
                write(&mut engine, &g, FieldRole::InitialState(k), values, n)?;
            }
            engine.run(&g.forward).map_err(|e| e.to_string())?;
            read(&engine, &g, FieldRole::Spikes, n, spikes)?;
            for (out, &k) in states.iter_mut().zip(stored) {
                read(&engine, &g, FieldRole::State(k), n, out)?;
            }
            Ok(())
        }),
        Box::new(move |steps, saved, grads, out| {
            let chunking = if S::STOCHASTIC || steps < 2 {
                Chunking::Whole
            } else {
                Chunking::Steps(steps.div_ceil(3))
            };
            let (g, constants) = layer
                .graph(steps, target.clone(), TILES, chunking)
                .map_err(|e| e.to_string())?;
            let mut engine = engine(&g, constants)?;
            for (k, values) in saved.inputs.iter().enumerate() {
                write(&mut engine, &g, FieldRole::Input(k), values, n)?;
            }
            for (k, values) in saved.initial.iter().enumerate() {
                write(&mut engine, &g, FieldRole::InitialState(k), values, n)?;
            }
            // the chunks' starting states come from the forward pass
            engine.run(&g.forward).map_err(|e| e.to_string())?;
            write(&mut engine, &g, FieldRole::GradSpikes, grads.spikes, n)?;
            let none = vec![no_gradient::<T>(); steps * n];
            for (j, &k) in stored.iter().enumerate() {
                let given = grads.states.get(j).filter(|g| !g.is_empty());
                write(
                    &mut engine,
                    &g,
                    FieldRole::GradState(k),
                    given.map_or(&none[..], |v| v),
                    n,
                )?;
            }
            engine.run(&g.backward).map_err(|e| e.to_string())?;
            for (k, given) in out.inputs.iter_mut().enumerate() {
                if !given.is_empty() {
                    read(&engine, &g, FieldRole::GradInput(k), n, given)?;
                }
            }
            for (k, given) in out.initial.iter_mut().enumerate() {
                if !given.is_empty() {
                    read(&engine, &g, FieldRole::GradInitialState(k), n, given)?;
                }
            }
            if out.params.iter().any(|p| !p.is_empty()) {
                let mut sums = vec![T::zero(); M::PREPARED.len() * n];
                read(&engine, &g, FieldRole::GradPrepared, n, &mut sums)?;
                host.reduce_param_grads(&sums, out.params)
                    .map_err(|e| e.to_string())?;
            }
            Ok(())
        }),
    )
}
