//! `--backend emulator`: the training step as one IPU graph program
//! (`snn_poplar_host::train_graph`), run by the graph emulator on this CPU.
//!
//! The graph computes what the native step computes with
//! `Dense::Defined` and `LossPrecision::F32`, bit for bit: its dense
//! vertices are generated from `snn_kernels::dense`, its spiking vertices
//! from the models, its readout and loss from the binary32 definitions of
//! `snn_kernels::population`, its optimiser from `snn_kernels::optim`.
//!
//! What it runs: fp32; feed-forward models (Leaky, Synaptic, Alpha,
//! Lapicque) with parameters that are not learned; any surrogate but the
//! stochastic one; the `ce_count` loss; Adam or SGD without clipping.
//! Everything else is refused with the option to change.

use std::collections::HashMap;

use snn_kernels::layer::Param;
use snn_kernels::model::Model;
use snn_kernels::optim::{Adam, Sgd};
use snn_kernels::surrogate::{self as ks, Surrogate};
use snn_poplar_host::graph::Target;
use snn_poplar_host::train_graph::{
    Optimiser, SequenceLayer, SequencePlan, TrainGraph, TrainLayer, TrainSession, TrainSpec,
};
use snn_poplar_host::{SurrogateSpec, VertexLayer};

use crate::native::spiking::{with_kernel_layer, LayerVisitor};
use crate::native::{Batch, Loss, StepError};
use crate::network::{LayerSpec, NetworkSpec, NeuronSpec, Precision, Recurrence, SurrogateKind};
use crate::optim::OptimizerKind;
use crate::train::{StepOutcome, StepRunner, TrainConfig, TrainState};

/// Where a training step runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Backend {
    /// The native kernels on this CPU.
    #[default]
    Native,
    /// The training step as an IPU graph, run by the graph emulator.
    Emulator,
}

impl Backend {
    /// The names `--backend` accepts.
    pub const NAMES: [&'static str; 2] = ["native", "emulator"];

    /// The backend named `name`.
    pub fn parse(name: &str) -> Option<Backend> {
        match name {
            "native" => Some(Backend::Native),
            "emulator" => Some(Backend::Emulator),
            _ => None,
        }
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Native => "native",
            Backend::Emulator => "emulator",
        }
    }
}

/// Tiles each split of the graph uses at most (rows of the batch, outputs
/// of a dense layer).
pub const TILES: u32 = 4;

/// Checks that the emulator backend runs `spec` with `config`; the error
/// names the option to change.
pub fn check_supported(spec: &NetworkSpec, config: &TrainConfig) -> Result<(), String> {
    let refuse = |what: String| Err(format!("--backend emulator: {what}"));
    if spec.precision != Precision::F32 {
        return refuse("runs fp32 only; use --precision f32 or --backend native".into());
    }
    if config.loss != Loss::CeCount {
        return refuse(format!(
            "computes the ce_count loss only (got --loss {}); use --loss ce_count or --backend native",
            config.loss.name()
        ));
    }
    if config.clip.is_some() {
        return refuse("does not clip gradients; drop --clip or use --backend native".into());
    }
    for (i, layer) in spec.layers.iter().enumerate() {
        if let LayerSpec::Spiking { neuron, .. } = layer {
            if neuron.model.recurrent() || neuron.recurrence != Recurrence::None {
                return refuse(format!(
                    "layer {i} is recurrent ({}); the graph runs feed-forward models (leaky, synaptic, alpha, lapicque): change --model or use --backend native",
                    neuron.model.name()
                ));
            }
            if let Some(p) = neuron.params.iter().find(|p| p.learn) {
                return refuse(format!(
                    "layer {i} learns `{}`; the graph trains the dense layers only: drop --learn-{} or use --backend native",
                    p.name, p.name
                ));
            }
            if matches!(
                neuron.surrogate,
                SurrogateKind::StochasticSpikeOperator { .. }
            ) {
                return refuse(
                    "the stochastic surrogate (sso) draws a new stream every batch; choose another --surrogate or use --backend native".into(),
                );
            }
        }
    }
    Ok(())
}

/// The vertices' spec of a surrogate (its name and constants).
/// The vertices' description of the surrogate `kind`.
pub(crate) fn surrogate_spec(kind: SurrogateKind) -> SurrogateSpec {
    match kind {
        SurrogateKind::Atan { alpha } => SurrogateSpec::of(&ks::Atan { alpha }),
        SurrogateKind::FastSigmoid { slope } => SurrogateSpec::of(&ks::FastSigmoid { slope }),
        SurrogateKind::Sigmoid { slope } => SurrogateSpec::of(&ks::Sigmoid { slope }),
        SurrogateKind::Triangular { threshold } => SurrogateSpec::of(&ks::Triangular { threshold }),
        SurrogateKind::StraightThrough => SurrogateSpec::of(&ks::StraightThrough),
        SurrogateKind::Heaviside => SurrogateSpec::of(&ks::Heaviside),
        SurrogateKind::SpikeRateEscape { beta, slope } => {
            SurrogateSpec::of(&ks::SpikeRateEscape { beta, slope })
        }
        SurrogateKind::SparseFastSigmoid { slope, b } => {
            SurrogateSpec::of(&ks::SparseFastSigmoid { slope, b })
        }
        SurrogateKind::LeakySpikeOperator { slope } => {
            SurrogateSpec::of(&ks::LeakySpikeOperator { slope })
        }
        SurrogateKind::StochasticSpikeOperator { mean, variance } => {
            SurrogateSpec::of(&ks::StochasticSpikeOperator { mean, variance })
        }
    }
}

/// A spiking layer on the vertices: the kernels' model of `neuron`, its
/// parameters as the native runner takes them (the described values,
/// rounded to binary32).
fn spiking_layer(
    neuron: &NeuronSpec,
    batch: usize,
    neurons: usize,
) -> Result<Box<dyn SequenceLayer>, String> {
    struct Build<'a> {
        neuron: &'a NeuronSpec,
        batch: usize,
        neurons: usize,
    }
    impl LayerVisitor for Build<'_> {
        type Output = Result<Box<dyn SequenceLayer>, String>;
        fn visit<M: Model, S: Surrogate, const CHUNK: usize>(self, model: M, _: S) -> Self::Output {
            let params: Vec<Param<'_, f32>> = self
                .neuron
                .params
                .iter()
                .map(|p| Param::Scalar(p.value as f32))
                .collect();
            let layer = VertexLayer::<M, f32>::new(
                model,
                surrogate_spec(self.neuron.surrogate),
                self.batch,
                self.neurons,
                &params,
            )
            .map_err(|e| e.to_string())?;
            let plan = SequencePlan::of(&layer).map_err(|e| e.to_string())?;
            Ok(Box::new(plan))
        }
    }
    with_kernel_layer(
        neuron,
        Build {
            neuron,
            batch,
            neurons,
        },
    )
}

/// The training step of `spec` for `batch` rows and `steps` steps, as a
/// graph (checked).
pub fn build_graph(
    spec: &NetworkSpec,
    steps: usize,
    batch: usize,
    optimizer: OptimizerKind,
) -> Result<TrainGraph, String> {
    build_graph_on(spec, steps, batch, optimizer, Target::gc200(), TILES)
}

/// [`build_graph`] on `target`, each split over at most `tiles` tiles.
pub fn build_graph_on(
    spec: &NetworkSpec,
    steps: usize,
    batch: usize,
    optimizer: OptimizerKind,
    target: Target,
    tiles: u32,
) -> Result<TrainGraph, String> {
    let layers = spec
        .layers
        .iter()
        .map(|layer| match layer {
            LayerSpec::Dense { inputs, outputs } => Ok(TrainLayer::Dense {
                inputs: *inputs,
                outputs: *outputs,
            }),
            LayerSpec::Spiking { neurons, neuron } => {
                spiking_layer(neuron, batch, *neurons).map(TrainLayer::Spiking)
            }
        })
        .collect::<Result<Vec<_>, String>>()?;
    TrainGraph::build(TrainSpec {
        inputs: spec.inputs,
        layers,
        classes: spec.classes,
        population: spec.population,
        steps,
        batch,
        optimiser: match optimizer {
            OptimizerKind::Adam { .. } => Optimiser::Adam,
            OptimizerKind::Sgd { .. } => Optimiser::Sgd,
        },
        target,
        tiles,
    })
    .map_err(|e| e.to_string())
}

/// The optimiser's constants of update number `step` (from 1), rounded to
/// binary32 as the native optimiser rounds them.
pub fn step_constants(optimizer: OptimizerKind, step: u64) -> Vec<f32> {
    match optimizer {
        OptimizerKind::Adam {
            lr,
            beta1,
            beta2,
            eps,
        } => Adam::<f32>::at_step(lr, beta1, beta2, eps, step)
            .constants()
            .to_vec(),
        OptimizerKind::Sgd { lr, momentum } => {
            Sgd::<f32>::new(lr, momentum).constants(step == 1).to_vec()
        }
    }
}

/// The optimiser's state as the graph holds it: per tensor, Adam's `m`
/// then `v`, or SGD's buffer.
fn device_state(state: &TrainState) -> Vec<Vec<f32>> {
    let o = &state.optimizer;
    match o.kind {
        OptimizerKind::Adam { .. } => o
            .first
            .iter()
            .zip(&o.second)
            .flat_map(|(m, v)| [m.clone(), v.clone()])
            .collect(),
        OptimizerKind::Sgd { .. } => o.first.clone(),
    }
}

/// Runs training steps as graphs: one graph per batch size (the last batch
/// of an epoch may be smaller), loaded with the host's weights and
/// optimiser state, run, and read back into the [`TrainState`].
pub struct EmulatorSteps {
    spec: NetworkSpec,
    graphs: HashMap<usize, TrainGraph>,
}

impl EmulatorSteps {
    /// Steps for `spec` (checked with [`check_supported`] by the caller).
    pub fn new(spec: &NetworkSpec) -> EmulatorSteps {
        EmulatorSteps {
            spec: spec.clone(),
            graphs: HashMap::new(),
        }
    }
}

fn step_error(e: impl ToString) -> StepError {
    StepError(e.to_string())
}

impl StepRunner for EmulatorSteps {
    fn step(
        &mut self,
        batch: &Batch<'_>,
        config: &TrainConfig,
        state: &mut TrainState,
    ) -> Result<StepOutcome, StepError> {
        let rows = batch.labels.len();
        if !self.graphs.contains_key(&rows) {
            let graph =
                build_graph(&self.spec, batch.steps, rows, config.optimizer).map_err(step_error)?;
            self.graphs.insert(rows, graph);
        }
        let graph = &self.graphs[&rows];
        let mut session = TrainSession::new(graph, &state.values.tensors).map_err(step_error)?;
        session
            .set_optimiser_state(&device_state(state))
            .map_err(step_error)?;
        let constants = step_constants(config.optimizer, state.optimizer.step + 1);
        let metrics = session
            .step(batch.inputs, batch.labels, &constants)
            .map_err(step_error)?;
        state.optimizer.step += 1;
        state.values.tensors = session.params().map_err(step_error)?;
        let device = session.optimiser_state().map_err(step_error)?;
        match state.optimizer.kind {
            OptimizerKind::Adam { .. } => {
                for (k, pair) in device.chunks_exact(2).enumerate() {
                    state.optimizer.first[k] = pair[0].clone();
                    state.optimizer.second[k] = pair[1].clone();
                }
            }
            OptimizerKind::Sgd { .. } => state.optimizer.first = device,
        }
        Ok(StepOutcome {
            loss: f64::from(metrics.loss),
            correct: metrics.correct,
            skipped: false,
        })
    }
}
