//! A whole training step as one IPU graph program: forward over all steps,
//! readout and loss, backward through time and the optimiser update; the
//! host streams a batch and the optimiser's step constants in and the loss
//! and the correct count out. The weights and the optimiser's state live
//! on the device between steps.
//!
//! Layout, with `P` = at most [`TrainSpec::tiles`] tiles:
//!
//! - the dense layers' activations and gradients `[T][B][F]` are in the
//!   *natural layout* (row `t·B + b`, as the host streams the inputs), their
//!   rows split into `P` blocks, block `j` on tile `j`;
//! - a spiking layer's tensors are in *element-block layout*: its `B·N`
//!   elements cut into at most `P` blocks of whole 8-byte groups, block `k`
//!   holding `[T][block k's elements]` on tile `k`, one `...FwdSeq` /
//!   `...BwdSeq` vertex per block (the last layer's blocks are whole batch
//!   rows, as the readout's vertices take them). Copies (one per block and
//!   step) convert between the two layouts;
//! - each dense layer's weights, biases, their gradients and the
//!   optimiser's state are split by output rows (blocks of two) over tiles
//!   `0..`, and the optimiser updates each block where it lives;
//! - one *chunk* tensor (one slot per tile, [`CHUNK_BYTES`]) streams what
//!   the dense vertices need from other tiles: a copy fills slot 0, then
//!   doubling copies (slots `0..k` to `k..2k`) fill the others, each tile
//!   receiving one slot per copy. Forward: a chunk of the weights' rows and
//!   the bias, one `DenseFwd` per row and chunk; input gradient: a chunk of
//!   the weights' columns, one `DenseBwdInput` per row and chunk; weight
//!   and bias gradients: a chunk of rows of the inputs and of the output
//!   gradients, `DenseBwdWeights` / `DenseBwdBias` per output block, each
//!   sum continued from the previous chunk's (rows ascending, from `-0`).
//!
//! Every output element is one sum in the kernels' order whatever the
//! split, so the step gives the same bits as the native one.
//!
//! The parameter tensors are the dense layers' weights `[outputs][inputs]`
//! and biases, in layer order. Spiking layers run with the parameters they
//! were built with (learning them is not part of this graph).

use std::fmt;
use std::ops::Range;

use snn_codelet_gen::{Element, FieldRole, VertexKind};

use crate::emulator::MemberValue;
use crate::graph::run::{Engine, RunError, Values};
use crate::graph::{ComputeSetId, Graph, GraphError, Program, Region, Target, TensorId};
use crate::layer::{self, VertexLayer, VertexMembers};

/// A spiking layer as the training graph places it: its shape and its
/// multi-step vertices with their members (see
/// [`VertexLayer::sequence_vertex`]).
pub trait SequenceLayer {
    /// Batch rows and neurons.
    fn shape(&self) -> (usize, usize);
    /// The vertex of `kind` and its members for a block of `steps` steps
    /// starting at element `element_offset`.
    fn sequence_vertex(
        &self,
        kind: VertexKind,
        steps: u32,
        element_offset: u32,
    ) -> Result<VertexMembers, layer::Error>;
}

impl<M: snn_kernels::Model> SequenceLayer for VertexLayer<M, f32> {
    fn shape(&self) -> (usize, usize) {
        VertexLayer::shape(self)
    }
    fn sequence_vertex(
        &self,
        kind: VertexKind,
        steps: u32,
        element_offset: u32,
    ) -> Result<VertexMembers, layer::Error> {
        VertexLayer::sequence_vertex(self, kind, steps, element_offset)
    }
}

/// A spiking layer's vertices and members, taken from a layer once (for
/// example from a [`VertexLayer`] of any model): a [`SequenceLayer`] that
/// sets `steps` and the element offset per block.
#[derive(Clone, Debug, PartialEq)]
pub struct SequencePlan {
    /// Batch rows and neurons.
    pub shape: (usize, usize),
    /// The forward vertex and its members.
    pub forward: VertexMembers,
    /// The backward vertex and its members.
    pub backward: VertexMembers,
}

impl SequencePlan {
    /// The plan of `layer`.
    pub fn of(layer: &dyn SequenceLayer) -> Result<SequencePlan, layer::Error> {
        Ok(SequencePlan {
            shape: layer.shape(),
            forward: layer.sequence_vertex(VertexKind::ForwardSequence, 1, 0)?,
            backward: layer.sequence_vertex(VertexKind::BackwardSequence, 1, 0)?,
        })
    }
}

impl SequenceLayer for SequencePlan {
    fn shape(&self) -> (usize, usize) {
        self.shape
    }
    fn sequence_vertex(
        &self,
        kind: VertexKind,
        steps: u32,
        element_offset: u32,
    ) -> Result<VertexMembers, layer::Error> {
        let (name, members) = match kind {
            VertexKind::ForwardSequence => &self.forward,
            VertexKind::BackwardSequence => &self.backward,
            other => {
                return Err(layer::Error::NoVertex(format!(
                    "{other:?} of a spiking layer"
                )))
            }
        };
        let info = crate::emulator::vertex(name)
            .ok_or_else(|| layer::Error::NoVertex((*name).to_string()))?;
        let members = members
            .iter()
            .map(|(m, value)| {
                let role = info.member(m).map(|i| i.role);
                let value = match role {
                    Some(snn_codelet_gen::MemberRole::Steps) => MemberValue::Unsigned(steps),
                    Some(snn_codelet_gen::MemberRole::ElementOffset) => {
                        MemberValue::Unsigned(element_offset)
                    }
                    _ => *value,
                };
                (m.clone(), value)
            })
            .collect();
        Ok((name, members))
    }
}

/// One layer of the network.
pub enum TrainLayer {
    /// `y = x Wᵀ + b`.
    Dense {
        /// Input features.
        inputs: usize,
        /// Output features.
        outputs: usize,
    },
    /// Spiking neurons (binary32, feed-forward, scalar parameters).
    Spiking(Box<dyn SequenceLayer>),
}

/// The optimiser.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Optimiser {
    /// `AdamUpdate`: two state tensors per parameter (`m`, `v`), the step's
    /// constants `Adam::constants`.
    Adam,
    /// `SgdUpdate`: one state tensor per parameter (`buf`), the step's
    /// constants `Sgd::constants`.
    Sgd,
}

impl Optimiser {
    /// The number of per-step constants.
    pub fn constants(self) -> usize {
        match self {
            Optimiser::Adam => snn_kernels::optim::ADAM_CONSTANTS,
            Optimiser::Sgd => snn_kernels::optim::SGD_CONSTANTS,
        }
    }

    fn state(self) -> &'static [&'static str] {
        match self {
            Optimiser::Adam => &["m", "v"],
            Optimiser::Sgd => &["buf"],
        }
    }
}

/// What the training graph is built for.
pub struct TrainSpec {
    /// Input features per step.
    pub inputs: usize,
    /// The layers, input to output: dense and spiking in turn, ending with
    /// a spiking layer of `classes x population` neurons.
    pub layers: Vec<TrainLayer>,
    /// Classes.
    pub classes: usize,
    /// Output neurons per class.
    pub population: usize,
    /// Time steps.
    pub steps: usize,
    /// Batch rows.
    pub batch: usize,
    /// The optimiser.
    pub optimiser: Optimiser,
    /// The target.
    pub target: Target,
    /// At most this many tiles per split.
    pub tiles: u32,
}

/// Why a training graph was not built or a step not run.
#[derive(Clone, Debug, PartialEq)]
pub enum TrainGraphError {
    /// The network or the sizes cannot be built: what to change.
    Spec(String),
    /// A spiking layer has no vertex.
    Layer(layer::Error),
    /// The graph was refused.
    Graph(GraphError),
    /// Running it failed.
    Run(RunError),
}

impl fmt::Display for TrainGraphError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrainGraphError::Spec(p) => write!(f, "{p}"),
            TrainGraphError::Layer(e) => write!(f, "{e}"),
            TrainGraphError::Graph(e) => write!(f, "{e}"),
            TrainGraphError::Run(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for TrainGraphError {}

impl From<GraphError> for TrainGraphError {
    fn from(e: GraphError) -> Self {
        TrainGraphError::Graph(e)
    }
}

impl From<RunError> for TrainGraphError {
    fn from(e: RunError) -> Self {
        TrainGraphError::Run(e)
    }
}

impl From<layer::Error> for TrainGraphError {
    fn from(e: layer::Error) -> Self {
        TrainGraphError::Layer(e)
    }
}

fn spec_error<T>(message: String) -> Result<T, TrainGraphError> {
    Err(TrainGraphError::Spec(message))
}

/// One learnable tensor on the device.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamTensor {
    /// The tensor holding its values.
    pub name: String,
    /// Its length.
    pub len: usize,
    /// The optimiser's state tensors (`m`, `v`, or `buf`).
    pub state: Vec<String>,
}

/// A built training step.
pub struct TrainGraph {
    graph: Graph,
    program: Program,
    params: Vec<ParamTensor>,
    /// Each block's batch rows.
    blocks: Vec<Range<usize>>,
    /// Tensors that start at `-0` (gradient sums, "no loss on this state").
    negative_zero: Vec<TensorId>,
    inputs: usize,
    classes: usize,
    steps: usize,
    batch: usize,
    constants: usize,
}

/// `a / b` blocks of `0..len` in whole grains, as even as the grains allow.
fn split(len: usize, parts: usize, grain: usize) -> Vec<Range<usize>> {
    let grains = len.div_ceil(grain);
    let parts = parts.min(grains).max(1);
    let (per, extra) = (grains / parts, grains % parts);
    let mut start = 0;
    (0..parts)
        .map(|k| {
            let end = ((start / grain + per + usize::from(k < extra)) * grain).min(len);
            let r = start..end;
            start = end;
            r
        })
        .collect()
}

/// Bytes of one tile's slot of the chunk tensor, through which the dense
/// layers' weights (forward: rows and bias; input gradient: columns) and
/// rows (weight gradient: inputs and output gradients) are streamed.
const CHUNK_BYTES: usize = 128 * 1024;

/// The graph under construction.
struct Builder {
    graph: Graph,
    /// Batch-row blocks of the readout (block `k` on tile `k`).
    blocks: Vec<Range<usize>>,
    /// Row blocks of the natural layout (rows `t·B + b`), block `j` on tile `j`.
    rows: Vec<Range<usize>>,
    steps: usize,
    batch: usize,
    negative_zero: Vec<TensorId>,
    /// The copies, executions and streams of the step, in order.
    program: Vec<Program>,
}

impl Builder {
    /// A `[factor][B][feature]` tensor in block layout: block `k`'s
    /// `[factor][rows_k][feature]` values together, on tile `k`.
    fn blocked(
        &mut self,
        name: &str,
        factor: usize,
        feature: usize,
    ) -> Result<TensorId, GraphError> {
        let blocks: Vec<Range<usize>> = self
            .blocks
            .iter()
            .map(|b| b.start * feature..b.end * feature)
            .collect();
        self.elements(name, factor, &blocks)
    }

    /// Block `k`'s region of a blocked tensor.
    fn block(&self, t: TensorId, k: usize, factor: usize, feature: usize) -> Region {
        let b = &self.blocks[k];
        t.region(factor * b.start * feature..factor * b.end * feature)
    }

    /// A `[factor][elements]` tensor in element-block layout: block `k`'s
    /// `[factor][block k's elements]` values together, on tile `k`.
    fn elements(
        &mut self,
        name: &str,
        factor: usize,
        blocks: &[Range<usize>],
    ) -> Result<TensorId, GraphError> {
        let len = factor * blocks.last().map_or(0, |b| b.end);
        let t = self.graph.add_variable(Element::Float, &[len], name)?;
        for (k, b) in blocks.iter().enumerate() {
            self.graph
                .set_tile_mapping(t, factor * b.start..factor * b.end, k as u32)?;
        }
        Ok(t)
    }

    /// A `[T][B][feature]` tensor in the natural layout (row `t·B + b`),
    /// its rows in the blocks [`Builder::rows`] (each row an interval of its
    /// own when `feature` is odd, so that every row starts 8-byte aligned).
    fn natural(&mut self, name: &str, feature: usize) -> Result<TensorId, GraphError> {
        let len = self.steps * self.batch * feature;
        let t = self.graph.add_variable(Element::Float, &[len], name)?;
        for (j, p) in self.rows.clone().iter().enumerate() {
            if feature % 2 == 0 {
                self.graph
                    .set_tile_mapping(t, p.start * feature..p.end * feature, j as u32)?;
            } else {
                for r in p.clone() {
                    self.graph
                        .set_tile_mapping(t, r * feature..(r + 1) * feature, j as u32)?;
                }
            }
        }
        Ok(t)
    }

    /// Copies between a `[T][elements]` tensor in the natural layout and
    /// one in the element-block layout of `blocks` (one copy per block and
    /// step), towards the natural layout when `to_natural`.
    fn convert(
        &mut self,
        natural: TensorId,
        blocked: TensorId,
        blocks: &[Range<usize>],
        to_natural: bool,
    ) {
        let (steps, all) = (self.steps, blocks.last().map_or(0, |b| b.end));
        for b in blocks {
            for t in 0..steps {
                let n = natural.region(t * all + b.start..t * all + b.end);
                let start = steps * b.start + t * b.len();
                let e = blocked.region(start..start + b.len());
                let (from, to) = if to_natural { (e, n) } else { (n, e) };
                self.program.push(Program::Copy { from, to });
            }
        }
    }

    /// A tensor of `tiles` slots of `slot` values, slot `j` on tile `j`,
    /// for [`Builder::broadcast`].
    fn slots(&mut self, name: &str, slot: usize, tiles: usize) -> Result<TensorId, GraphError> {
        let t = self
            .graph
            .add_variable(Element::Float, &[tiles * slot], name)?;
        for j in 0..tiles {
            self.graph
                .set_tile_mapping(t, j * slot..(j + 1) * slot, j as u32)?;
        }
        Ok(t)
    }

    /// Copies `pieces` (each to its offset) into slot 0 of `slots` (a
    /// [`Builder::slots`] tensor of slots of `slot` values), then slot 0
    /// into slots `1..tiles` by doubling: slots `0..k` to `k..2k`, so that
    /// each tile receives one slot per copy.
    fn broadcast(
        &mut self,
        pieces: Vec<(usize, Region)>,
        slots: TensorId,
        slot: usize,
        tiles: usize,
    ) {
        for (at, from) in pieces {
            let len = from.range.len();
            self.program.push(Program::Copy {
                from,
                to: slots.region(at..at + len),
            });
        }
        let mut k = 1;
        while k < tiles {
            let n = k.min(tiles - k);
            self.program.push(Program::Copy {
                from: slots.region(0..n * slot),
                to: slots.region(k * slot..(k + n) * slot),
            });
            k *= 2;
        }
    }

    /// A tensor of `len` values on one tile.
    fn on_tile(&mut self, name: &str, len: usize, tile: u32) -> Result<TensorId, GraphError> {
        let t = self.graph.add_variable(Element::Float, &[len], name)?;
        self.graph.set_tile_mapping(t, 0..len, tile)?;
        Ok(t)
    }

    /// A tensor of `rows x width` values whose rows `parts[j]` are on tile `j`.
    fn by_rows(
        &mut self,
        name: &str,
        parts: &[Range<usize>],
        width: usize,
    ) -> Result<TensorId, GraphError> {
        let len = parts.last().map_or(0, |p| p.end) * width;
        let t = self.graph.add_variable(Element::Float, &[len], name)?;
        for (j, p) in parts.iter().enumerate() {
            self.graph
                .set_tile_mapping(t, p.start * width..p.end * width, j as u32)?;
        }
        Ok(t)
    }

    fn execute(&mut self, name: &str) -> ComputeSetId {
        let cs = self.graph.add_compute_set(name);
        self.program.push(Program::Execute(cs));
        cs
    }

    fn vertex(
        &mut self,
        cs: ComputeSetId,
        name: &str,
        tile: u32,
        fields: Vec<(&str, Region)>,
        members: Vec<(String, MemberValue)>,
    ) -> Result<(), GraphError> {
        let v = self.graph.add_vertex(cs, name, tile)?;
        for (field, region) in fields {
            self.graph.connect(v, field, region)?;
        }
        for (member, value) in members {
            self.graph.set_initial_value(v, &member, value)?;
        }
        Ok(())
    }
}

/// The region of block `b` of a `[factor][elements]` tensor in
/// element-block layout.
fn element_block(t: TensorId, b: &Range<usize>, factor: usize) -> Region {
    t.region(factor * b.start..factor * b.end)
}

/// Values per chunk of `len` (`per` values each) that fit `bytes`, even
/// (so that chunks start 8-byte aligned), at least 2, at most `len`.
fn chunk(len: usize, per: usize, bytes: usize) -> usize {
    let c = (bytes / (4 * per.max(1))) & !1;
    c.max(2).min(len).max(1)
}

/// `x` rounded up to even (an 8-byte aligned offset of binary32 values).
fn even(x: usize) -> usize {
    x.next_multiple_of(2)
}

/// A dense layer's chunks: outputs per forward chunk, inputs per input
/// gradient chunk, rows per weight gradient chunk, and the slot (values)
/// they need.
fn dense_chunks(inputs: usize, outputs: usize, rows: usize) -> (usize, usize, usize, usize) {
    let forward = chunk(outputs, inputs + 1, CHUNK_BYTES);
    let input = chunk(inputs, outputs, CHUNK_BYTES);
    let weights = chunk(rows, inputs + outputs, CHUNK_BYTES);
    let slot = (even(forward * inputs) + forward)
        .max(outputs * input)
        .max(even(weights * inputs) + weights * outputs);
    (forward, input, weights, slot)
}

fn unsigned(x: usize) -> Result<MemberValue, GraphError> {
    u32::try_from(x)
        .map(MemberValue::Unsigned)
        .map_err(|_| GraphError::Program(format!("{x} does not fit a vertex's 32-bit sizes")))
}

/// What one dense layer keeps between the passes.
struct DenseTensors {
    inputs: usize,
    outputs: usize,
    /// The input activations and the output currents, natural layout.
    x: TensorId,
    y: TensorId,
    w: TensorId,
    b: TensorId,
    /// The weights' output blocks (tiles `0..`).
    parts: Vec<Range<usize>>,
}

/// What one spiking layer keeps between the passes.
struct SpikingTensors {
    /// Its element blocks (block `k` on tile `k`).
    blocks: Vec<Range<usize>>,
    /// Its input currents and its spikes (element-block layout).
    x: TensorId,
    spikes: TensorId,
    /// Every tensor connected to its forward vertices, by field name.
    fields: Vec<(String, TensorId, usize)>,
    /// Its backward vertex and members per block.
    backward: Vec<VertexMembers>,
}

impl TrainGraph {
    /// Builds the training step for `spec`, checked ([`Graph::validate`]).
    pub fn build(spec: TrainSpec) -> Result<TrainGraph, TrainGraphError> {
        let TrainSpec {
            inputs,
            layers,
            classes,
            population,
            steps,
            batch,
            optimiser,
            target,
            tiles,
        } = spec;
        if steps == 0 || batch == 0 || inputs == 0 || classes < 2 || population == 0 {
            return spec_error(format!(
                "steps {steps}, batch {batch}, inputs {inputs}, classes {classes}, population {population}: each must be at least 1 (classes at least 2)"
            ));
        }
        let steps_u32 =
            u32::try_from(steps).map_err(|_| TrainGraphError::Spec("too many steps".into()))?;
        let most_tiles = tiles.min(target.tiles).max(1) as usize;
        let blocks = split(batch, most_tiles, 1);
        let rows_all = steps * batch;
        let mut b = Builder {
            graph: Graph::new(target),
            blocks,
            rows: split(rows_all, most_tiles, 1),
            steps,
            batch,
            negative_zero: Vec::new(),
            program: Vec::new(),
        };
        let tiles_n = b.blocks.len();

        // the step's streams in
        let x0 = b.natural("inputs", inputs)?;
        let labels = b.blocked("labels", 1, classes)?;
        let constants = b.on_tile("optimiser_constants", optimiser.constants(), 0)?;
        b.program.push(Program::StreamIn {
            stream: "inputs".into(),
            to: x0.region(0..steps * batch * inputs),
        });
        b.program.push(Program::StreamIn {
            stream: "labels".into(),
            to: labels.region(0..batch * classes),
        });
        b.program.push(Program::StreamIn {
            stream: "optimiser".into(),
            to: constants.region(0..optimiser.constants()),
        });

        // the parameters and the activations, where they live
        let mut width = inputs;
        let mut dense = Vec::new();
        let mut spiking: Vec<SpikingTensors> = Vec::new();
        let mut kinds = Vec::new();
        for (l, layer) in layers.iter().enumerate() {
            match layer {
                TrainLayer::Dense {
                    inputs: i,
                    outputs: o,
                } => {
                    if *i != width || *o == 0 {
                        return spec_error(format!(
                            "layer {l} (dense) takes {i} inputs and gives {o}; it receives {width} (and must give at least 1)"
                        ));
                    }
                    let parts = split(*o, most_tiles, 2);
                    let w = b.by_rows(&format!("layers.{l}.weight"), &parts, *i)?;
                    let bias = b.by_rows(&format!("layers.{l}.bias"), &parts, 1)?;
                    let x = if l == 0 {
                        x0
                    } else {
                        b.natural(&format!("layers.{l}.x"), *i)?
                    };
                    let y = b.natural(&format!("layers.{l}.y"), *o)?;
                    dense.push(DenseTensors {
                        inputs: *i,
                        outputs: *o,
                        x,
                        y,
                        w,
                        b: bias,
                        parts,
                    });
                    kinds.push(true);
                    width = *o;
                }
                TrainLayer::Spiking(s) => {
                    let (rows, neurons) = s.shape();
                    if rows != batch || neurons != width || kinds.last() != Some(&true) {
                        return spec_error(format!(
                            "layer {l} (spiking) has {neurons} neurons for {rows} rows; it must follow a dense layer of its width ({width}) and run on the batch's {batch} rows"
                        ));
                    }
                    // element blocks of whole groups; the readout's layer
                    // (and one whose elements are not whole groups) in
                    // blocks of whole batch rows
                    let mut group = 2;
                    for kind in [VertexKind::ForwardSequence, VertexKind::BackwardSequence] {
                        let (name, _) = s.sequence_vertex(kind, 1, 0)?;
                        if let Some(info) = crate::emulator::vertex(name) {
                            group = group.max(info.element_multiple as usize);
                        }
                    }
                    let last = l + 1 == layers.len();
                    let elements = batch * neurons;
                    let blocks = if last || elements % group != 0 {
                        b.blocks
                            .iter()
                            .map(|r| r.start * neurons..r.end * neurons)
                            .collect()
                    } else {
                        split(elements, most_tiles, group)
                    };
                    let x = b.elements(&format!("layers.{l}.x"), steps, &blocks)?;
                    let spikes = b.elements(&format!("layers.{l}.spikes"), steps, &blocks)?;
                    spiking.push(SpikingTensors {
                        blocks,
                        x,
                        spikes,
                        fields: Vec::new(),
                        backward: Vec::new(),
                    });
                    kinds.push(false);
                }
            }
        }
        if kinds.last() != Some(&false) || width != classes * population {
            return spec_error(format!(
                "the last layer must be spiking with classes x population = {} neurons (it has {width})",
                classes * population
            ));
        }

        // the chunk tensor: one slot per tile, shared by every dense phase
        let slot = dense
            .iter()
            .map(|t| dense_chunks(t.inputs, t.outputs, rows_all).3)
            .max()
            .unwrap_or(1);
        let chunks = b.slots("dense/chunk", slot, most_tiles)?;

        // forward
        let (mut d, mut s) = (0, 0);
        for (l, layer) in layers.iter().enumerate() {
            match layer {
                TrainLayer::Dense { .. } => {
                    if d > 0 {
                        let prev = &spiking[s - 1];
                        let (x, spikes, blocks) = (dense[d].x, prev.spikes, prev.blocks.clone());
                        b.convert(x, spikes, &blocks, true);
                    }
                    let t = &dense[d];
                    let (i, o, x, y, w, bias) = (t.inputs, t.outputs, t.x, t.y, t.w, t.b);
                    let tiles_r = b.rows.len();
                    let (c, ..) = dense_chunks(i, o, rows_all);
                    let bias_at = even(c * i);
                    for o0 in (0..o).step_by(c) {
                        let o1 = (o0 + c).min(o);
                        let pieces = vec![
                            (0, w.region(o0 * i..o1 * i)),
                            (bias_at, bias.region(o0..o1)),
                        ];
                        b.broadcast(pieces, chunks, slot, tiles_r);
                        let cs = b.execute(&format!("layers.{l}.forward.{o0}"));
                        for (j, p) in b.rows.clone().into_iter().enumerate() {
                            for r in p {
                                let fields = vec![
                                    ("y", y.region(r * o + o0..r * o + o1)),
                                    ("x", x.region(r * i..(r + 1) * i)),
                                    ("w", chunks.region(j * slot..j * slot + (o1 - o0) * i)),
                                    (
                                        "b",
                                        chunks.region(
                                            j * slot + bias_at..j * slot + bias_at + o1 - o0,
                                        ),
                                    ),
                                ];
                                let members = vec![
                                    ("rows".into(), unsigned(1)?),
                                    ("inputs".into(), unsigned(i)?),
                                    ("outputs".into(), unsigned(o1 - o0)?),
                                ];
                                b.vertex(cs, "snn::DenseFwd<float>", j as u32, fields, members)?;
                            }
                        }
                    }
                    let next = &spiking[s];
                    let (to, blocks) = (next.x, next.blocks.clone());
                    b.convert(y, to, &blocks, false);
                    d += 1;
                }
                TrainLayer::Spiking(layer) => {
                    let blocks = spiking[s].blocks.clone();
                    let cs = b.execute(&format!("layers.{l}.forward"));
                    for (k, block) in blocks.iter().enumerate() {
                        let offset = u32::try_from(block.start).map_err(|_| {
                            TrainGraphError::Spec(format!("layer {l}: too many elements"))
                        })?;
                        let (name, members) = layer.sequence_vertex(
                            VertexKind::ForwardSequence,
                            steps_u32,
                            offset,
                        )?;
                        let (back, back_members) = layer.sequence_vertex(
                            VertexKind::BackwardSequence,
                            steps_u32,
                            offset,
                        )?;
                        spiking[s].backward.push((back, back_members));
                        let info = crate::emulator::vertex(name).expect("a generated vertex");
                        let mut fields = Vec::new();
                        for f in &info.fields {
                            let factor = match f.role {
                                FieldRole::InitialState(_) => 1,
                                _ => steps,
                            };
                            let tensor = match f.role {
                                FieldRole::Input(0) => spiking[s].x,
                                FieldRole::Spikes => spiking[s].spikes,
                                FieldRole::InitialState(_) | FieldRole::State(_) => {
                                    match spiking[s].fields.iter().find(|(f2, ..)| *f2 == f.name) {
                                        Some(&(_, t, _)) => t,
                                        None => {
                                            let t = b.elements(&format!("layers.{l}.{}", f.name), factor, &blocks)?;
                                            spiking[s].fields.push((f.name.clone(), t, factor));
                                            t
                                        }
                                    }
                                }
                                other => {
                                    return spec_error(format!(
                                        "layer {l}: {name} has a field of role {other:?}; the training graph runs feed-forward models with scalar parameters"
                                    ))
                                }
                            };
                            fields.push((f.name.as_str(), element_block(tensor, block, factor)));
                        }
                        b.vertex(cs, name, k as u32, fields, members)?;
                    }
                    s += 1;
                }
            }
        }

        // readout and loss
        let out = spiking.last().expect("checked: the last layer is spiking");
        let out_spikes = out.spikes;
        let counts = b.blocked("readout.counts", 1, classes)?;
        let grad_counts = b.blocked("readout.grad_counts", 1, classes)?;
        let row_log_p = b.blocked("readout.row_log_p", 1, 1)?;
        let row_hit = b.blocked("readout.row_hit", 1, 1)?;
        let batch_f = MemberValue::Float(batch as f32);
        let sizes = |rows: usize| -> Result<Vec<(String, MemberValue)>, GraphError> {
            Ok(vec![
                ("steps".into(), unsigned(steps)?),
                ("rows".into(), unsigned(rows)?),
                ("classes".into(), unsigned(classes)?),
                ("population".into(), unsigned(population)?),
            ])
        };
        let cs = b.execute("readout.count");
        for k in 0..tiles_n {
            let fields = vec![
                ("counts", b.block(counts, k, 1, classes)),
                ("spikes", b.block(out_spikes, k, steps, width)),
            ];
            b.vertex(
                cs,
                "snn::PopulationCount<float>",
                k as u32,
                fields,
                sizes(b.blocks[k].len())?,
            )?;
        }
        let cs = b.execute("readout.cross_entropy");
        for k in 0..tiles_n {
            let fields = vec![
                ("row_log_p", b.block(row_log_p, k, 1, 1)),
                ("counts", b.block(counts, k, 1, classes)),
                ("labels", b.block(labels, k, 1, classes)),
                ("grad_counts", b.block(grad_counts, k, 1, classes)),
                ("row_hit", b.block(row_hit, k, 1, 1)),
            ];
            let members = vec![
                ("classes".into(), unsigned(classes)?),
                ("batch".into(), batch_f),
            ];
            b.vertex(
                cs,
                "snn::CountCrossEntropy<float>",
                k as u32,
                fields,
                members,
            )?;
        }
        let log_p_0 = b.on_tile("readout.row_log_p/tile0", batch, 0)?;
        let hit_0 = b.on_tile("readout.row_hit/tile0", batch, 0)?;
        b.program.push(Program::Copy {
            from: row_log_p.region(0..batch),
            to: log_p_0.region(0..batch),
        });
        b.program.push(Program::Copy {
            from: row_hit.region(0..batch),
            to: hit_0.region(0..batch),
        });
        let loss = b.on_tile("loss", 1, 0)?;
        let correct = b.on_tile("correct", 1, 0)?;
        let cs = b.execute("readout.loss");
        b.vertex(
            cs,
            "snn::CountLossTotal<float>",
            0,
            vec![
                ("loss", loss.region(0..1)),
                ("correct", correct.region(0..1)),
                ("row_log_p", log_p_0.region(0..batch)),
                ("row_hit", hit_0.region(0..batch)),
            ],
            vec![("rows".into(), unsigned(batch)?), ("batch".into(), batch_f)],
        )?;
        let mut grad = b.blocked(
            &format!("layers.{}.grad_spikes", layers.len() - 1),
            steps,
            width,
        )?;
        let cs = b.execute("readout.backward");
        for k in 0..tiles_n {
            let fields = vec![
                ("grad_spikes", b.block(grad, k, steps, width)),
                ("grad_counts", b.block(grad_counts, k, 1, classes)),
            ];
            b.vertex(
                cs,
                "snn::PopulationCountBwd<float>",
                k as u32,
                fields,
                sizes(b.blocks[k].len())?,
            )?;
        }

        // backward
        let mut grads: Vec<(usize, TensorId, TensorId)> = Vec::new();
        for (l, layer) in layers.iter().enumerate().rev() {
            match layer {
                TrainLayer::Spiking(_) => {
                    s -= 1;
                    let blocks = spiking[s].blocks.clone();
                    let grad_x = b.elements(&format!("layers.{l}.grad_x"), steps, &blocks)?;
                    let cs = b.execute(&format!("layers.{l}.backward"));
                    for (k, block) in blocks.iter().enumerate() {
                        let (name, members) = spiking[s].backward[k].clone();
                        let info = crate::emulator::vertex(name).expect("a generated vertex");
                        let mut fields = Vec::new();
                        for f in &info.fields {
                            let (tensor, factor) = match f.role {
                                FieldRole::Input(0) => (spiking[s].x, steps),
                                FieldRole::Spikes => (spiking[s].spikes, steps),
                                FieldRole::GradSpikes => (grad, steps),
                                FieldRole::GradInput(0) => (grad_x, steps),
                                FieldRole::InitialState(_) | FieldRole::State(_) => {
                                    match spiking[s].fields.iter().find(|(f2, ..)| *f2 == f.name) {
                                        Some(&(_, t, factor)) => (t, factor),
                                        None => {
                                            return spec_error(format!(
                                                "layer {l}: {name} reads `{}`, which its forward vertex does not write",
                                                f.name
                                            ))
                                        }
                                    }
                                }
                                FieldRole::GradState(_)
                                | FieldRole::GradFinalState(_)
                                | FieldRole::GradInitialState(_)
                                | FieldRole::GradPrepared => {
                                    let factor = match f.role {
                                        FieldRole::GradState(_) => steps,
                                        // rows x n: one row per prepared constant
                                        FieldRole::GradPrepared => f.length.of(1, 1).unwrap_or(1),
                                        _ => 1,
                                    };
                                    let key = format!("bwd:{}", f.name);
                                    match spiking[s].fields.iter().find(|(f2, ..)| *f2 == key) {
                                        Some(&(_, t, _)) => (t, factor),
                                        None => {
                                            let full = format!("layers.{l}.{}", f.name);
                                            let t = b.elements(&full, factor, &blocks)?;
                                            if matches!(
                                                f.role,
                                                FieldRole::GradState(_) | FieldRole::GradFinalState(_)
                                            ) {
                                                // no loss on the state, nothing
                                                // after the last step: -0
                                                b.negative_zero.push(t);
                                            }
                                            spiking[s].fields.push((key, t, factor));
                                            (t, factor)
                                        }
                                    }
                                }
                                other => {
                                    return spec_error(format!(
                                        "layer {l}: {name} has a field of role {other:?}; the training graph runs feed-forward models with scalar parameters"
                                    ))
                                }
                            };
                            fields.push((f.name.as_str(), element_block(tensor, block, factor)));
                        }
                        b.vertex(cs, name, k as u32, fields, members)?;
                    }
                    grad = grad_x;
                }
                TrainLayer::Dense { .. } => {
                    d -= 1;
                    let (i, o) = (dense[d].inputs, dense[d].outputs);
                    let (x, w) = (dense[d].x, dense[d].w);
                    let parts = dense[d].parts.clone();
                    // the output gradients in the natural layout
                    let dy = b.natural(&format!("layers.{l}.dy"), o)?;
                    let blocks = spiking[s].blocks.clone();
                    b.convert(dy, grad, &blocks, true);

                    // weight and bias gradients where the weights live, the
                    // rows streamed through in chunks (each sum continued
                    // from the previous chunk's, rows ascending)
                    let dw = b.by_rows(&format!("layers.{l}.weight/grad"), &parts, i)?;
                    let db = b.by_rows(&format!("layers.{l}.bias/grad"), &parts, 1)?;
                    let dw_zero = b.by_rows(&format!("layers.{l}.weight/grad0"), &parts, i)?;
                    let db_zero = b.by_rows(&format!("layers.{l}.bias/grad0"), &parts, 1)?;
                    b.negative_zero.extend([dw_zero, db_zero]);
                    b.program.push(Program::Copy {
                        from: dw_zero.region(0..o * i),
                        to: dw.region(0..o * i),
                    });
                    b.program.push(Program::Copy {
                        from: db_zero.region(0..o),
                        to: db.region(0..o),
                    });
                    let owners = parts.len();
                    let (_, _, c, _) = dense_chunks(i, o, rows_all);
                    let dy_at = even(c * i);
                    for r0 in (0..rows_all).step_by(c) {
                        let r1 = (r0 + c).min(rows_all);
                        let n = r1 - r0;
                        let pieces = vec![
                            (0, x.region(r0 * i..r1 * i)),
                            (dy_at, dy.region(r0 * o..r1 * o)),
                        ];
                        b.broadcast(pieces, chunks, slot, owners);
                        let cs = b.execute(&format!("layers.{l}.backward_weights.{r0}"));
                        for (j, p) in parts.iter().enumerate() {
                            let at = j * slot + dy_at + p.start;
                            let dy_j = chunks.region(at..at + (n - 1) * o + p.len());
                            b.vertex(
                                cs,
                                "snn::DenseBwdWeights<float>",
                                j as u32,
                                vec![
                                    ("dw", dw.region(p.start * i..p.end * i)),
                                    ("dy", dy_j.clone()),
                                    ("x", chunks.region(j * slot..j * slot + n * i)),
                                ],
                                vec![
                                    ("rows".into(), unsigned(n)?),
                                    ("inputs".into(), unsigned(i)?),
                                    ("outputs".into(), unsigned(o)?),
                                    ("output_count".into(), unsigned(p.len())?),
                                ],
                            )?;
                            b.vertex(
                                cs,
                                "snn::DenseBwdBias<float>",
                                j as u32,
                                vec![("db", db.region(p.clone())), ("dy", dy_j)],
                                vec![
                                    ("rows".into(), unsigned(n)?),
                                    ("outputs".into(), unsigned(o)?),
                                ],
                            )?;
                        }
                    }
                    grads.push((d, dw, db));

                    // input gradients over the rows, the weights' columns
                    // streamed through in chunks
                    if l > 0 {
                        let dx = b.natural(&format!("layers.{l}.dx"), i)?;
                        let tiles_r = b.rows.len();
                        let (_, c, _, _) = dense_chunks(i, o, rows_all);
                        for i0 in (0..i).step_by(c) {
                            let i1 = (i0 + c).min(i);
                            let pieces = (0..o)
                                .map(|row| (row * (i1 - i0), w.region(row * i + i0..row * i + i1)))
                                .collect();
                            b.broadcast(pieces, chunks, slot, tiles_r);
                            let cs = b.execute(&format!("layers.{l}.backward_input.{i0}"));
                            for (j, p) in b.rows.clone().into_iter().enumerate() {
                                for r in p {
                                    let fields = vec![
                                        ("dx", dx.region(r * i + i0..r * i + i1)),
                                        ("dy", dy.region(r * o..(r + 1) * o)),
                                        ("w", chunks.region(j * slot..j * slot + o * (i1 - i0))),
                                    ];
                                    let members = vec![
                                        ("rows".into(), unsigned(1)?),
                                        ("inputs".into(), unsigned(i1 - i0)?),
                                        ("outputs".into(), unsigned(o)?),
                                    ];
                                    b.vertex(
                                        cs,
                                        "snn::DenseBwdInput<float>",
                                        j as u32,
                                        fields,
                                        members,
                                    )?;
                                }
                            }
                        }
                        let blocks = spiking[s - 1].blocks.clone();
                        grad =
                            b.elements(&format!("layers.{}.grad_spikes", l - 1), steps, &blocks)?;
                        b.convert(dx, grad, &blocks, false);
                    }
                }
            }
        }

        // the optimiser, where each parameter lives
        let most = dense.iter().map(|t| t.parts.len()).max().unwrap_or(1);
        let c = optimiser.constants();
        let c_copies = b.slots("optimiser_constants/copies", c, most)?;
        b.broadcast(vec![(0, constants.region(0..c))], c_copies, c, most);
        let cs = b.execute("optimiser");
        let (vertex, names) = match optimiser {
            Optimiser::Adam => ("snn::AdamUpdate<float>", ["p", "g", "m", "v"].as_slice()),
            Optimiser::Sgd => ("snn::SgdUpdate<float>", ["p", "g", "buf"].as_slice()),
        };
        let mut params = Vec::new();
        grads.sort_by_key(|g| g.0);
        for (d, dw, db) in grads {
            let t = &dense[d];
            let (i, o) = (t.inputs, t.outputs);
            for (tensor, grad, width, len) in [(t.w, dw, i, o * i), (t.b, db, 1, o)] {
                let pname = b.graph.tensor(tensor).name.clone();
                let mut state = Vec::new();
                let mut state_ids = Vec::new();
                for st in optimiser.state() {
                    let name = format!("{pname}/{st}");
                    state_ids.push(b.by_rows(&name, &t.parts, width)?);
                    state.push(name);
                }
                for (j, p) in t.parts.iter().enumerate() {
                    let r = p.start * width..p.end * width;
                    let mut fields = vec![
                        (names[0], tensor.region(r.clone())),
                        (names[1], grad.region(r.clone())),
                    ];
                    for (k, &sid) in state_ids.iter().enumerate() {
                        fields.push((names[2 + k], sid.region(r.clone())));
                    }
                    fields.push(("constants", c_copies.region(j * c..(j + 1) * c)));
                    b.vertex(cs, vertex, j as u32, fields, Vec::new())?;
                }
                params.push(ParamTensor {
                    name: pname,
                    len,
                    state,
                });
            }
        }
        b.program.push(Program::StreamOut {
            from: loss.region(0..1),
            stream: "loss".into(),
        });
        b.program.push(Program::StreamOut {
            from: correct.region(0..1),
            stream: "correct".into(),
        });
        let program = Program::Sequence(b.program);
        b.graph.validate(&program).map_err(|errors| {
            TrainGraphError::Spec(format!(
                "the training graph is not valid:\n  {}",
                errors
                    .iter()
                    .map(|e| e.to_string())
                    .collect::<Vec<_>>()
                    .join("\n  ")
            ))
        })?;
        Ok(TrainGraph {
            graph: b.graph,
            program,
            params,
            blocks: b.blocks,
            negative_zero: b.negative_zero,
            inputs,
            classes,
            steps,
            batch,
            constants: c,
        })
    }

    /// The graph.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// The step's program.
    pub fn program(&self) -> &Program {
        &self.program
    }

    /// The learnable tensors, in layer order (weight, then bias).
    pub fn params(&self) -> &[ParamTensor] {
        &self.params
    }

    /// The tensors a session fills with `-0` before the first step: name
    /// and length.
    pub fn negative_zero_tensors(&self) -> impl Iterator<Item = (&str, usize)> + '_ {
        self.negative_zero.iter().map(|&t| {
            let tensor = self.graph.tensor(t);
            (tensor.name.as_str(), tensor.len)
        })
    }

    /// The batch rows of each readout block (block `k` on tile `k`).
    pub fn blocks(&self) -> &[Range<usize>] {
        &self.blocks
    }

    /// `[T][B][F]` values in block layout.
    fn to_blocks(&self, values: &[f32], factor: usize, feature: usize) -> Vec<f32> {
        let mut out = Vec::with_capacity(values.len());
        for b in &self.blocks {
            for t in 0..factor {
                let start = (t * self.batch + b.start) * feature;
                out.extend_from_slice(&values[start..start + b.len() * feature]);
            }
        }
        out
    }
}

/// The loss and the rows predicted right of one step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepMetrics {
    /// The loss (binary32, `CountLossTotal`).
    pub loss: f32,
    /// Rows predicted right.
    pub correct: usize,
}

/// A training graph loaded on the (emulated) device, with its weights and
/// optimiser state living there between steps.
pub struct TrainSession<'g> {
    train: &'g TrainGraph,
    engine: Engine<'g>,
}

impl<'g> TrainSession<'g> {
    /// Loads `train` with the parameters `params` (in the order of
    /// [`TrainGraph::params`]) and a fresh optimiser state (zeros).
    pub fn new(train: &'g TrainGraph, params: &[Vec<f32>]) -> Result<Self, TrainGraphError> {
        let mut engine = Engine::new(&train.graph, &train.program)?;
        for &t in &train.negative_zero {
            let tensor = train.graph.tensor(t);
            engine.write_tensor(&tensor.name, Values::F32(vec![-0.0; tensor.len]))?;
        }
        let mut session = TrainSession { train, engine };
        session.set_params(params)?;
        Ok(session)
    }

    /// Writes every parameter.
    pub fn set_params(&mut self, params: &[Vec<f32>]) -> Result<(), TrainGraphError> {
        self.write_all(params, |p| vec![p.name.clone()], "parameters")
    }

    /// Writes the optimiser's state: per parameter, its state tensors in
    /// the order of [`ParamTensor::state`], one after the other.
    pub fn set_optimiser_state(&mut self, state: &[Vec<f32>]) -> Result<(), TrainGraphError> {
        self.write_all(state, |p| p.state.clone(), "optimiser state tensors")
    }

    fn write_all(
        &mut self,
        values: &[Vec<f32>],
        names: impl Fn(&ParamTensor) -> Vec<String>,
        what: &str,
    ) -> Result<(), TrainGraphError> {
        let all: Vec<(String, usize)> = self
            .train
            .params
            .iter()
            .flat_map(|p| names(p).into_iter().map(move |n| (n, p.len)))
            .collect();
        if all.len() != values.len() {
            return spec_error(format!(
                "{} {what} given, the graph holds {}",
                values.len(),
                all.len()
            ));
        }
        for ((name, len), v) in all.iter().zip(values) {
            if v.len() != *len {
                return spec_error(format!(
                    "`{name}` holds {len} values, {} were given",
                    v.len()
                ));
            }
            self.engine.write_tensor(name, Values::F32(v.clone()))?;
        }
        Ok(())
    }

    fn read_all(
        &self,
        names: impl Fn(&ParamTensor) -> Vec<String>,
    ) -> Result<Vec<Vec<f32>>, TrainGraphError> {
        let mut out = Vec::new();
        for p in &self.train.params {
            for name in names(p) {
                match self.engine.read_tensor(&name)? {
                    Values::F32(v) => out.push(v.clone()),
                    Values::F16(_) => unreachable!("binary32 tensors"),
                }
            }
        }
        Ok(out)
    }

    /// The engine the session runs on.
    pub fn engine(&self) -> &Engine<'g> {
        &self.engine
    }

    /// Every parameter's values.
    pub fn params(&self) -> Result<Vec<Vec<f32>>, TrainGraphError> {
        self.read_all(|p| vec![p.name.clone()])
    }

    /// The optimiser's state, as [`TrainSession::set_optimiser_state`] takes it.
    pub fn optimiser_state(&self) -> Result<Vec<Vec<f32>>, TrainGraphError> {
        self.read_all(|p| p.state.clone())
    }

    /// One training step: `inputs` `[T][B][F]`, one label per row, and the
    /// optimiser's constants for this step (`Adam::constants` or
    /// `Sgd::constants`).
    pub fn step(
        &mut self,
        inputs: &[f32],
        labels: &[usize],
        constants: &[f32],
    ) -> Result<StepMetrics, TrainGraphError> {
        let t = self.train;
        let expected = t.steps * t.batch * t.inputs;
        if inputs.len() != expected || labels.len() != t.batch || constants.len() != t.constants {
            return spec_error(format!(
                "a step takes {expected} input values ({} steps x {} rows x {} features), {} labels and {} optimiser constants; got {}, {} and {}",
                t.steps, t.batch, t.inputs, t.batch, t.constants, inputs.len(), labels.len(), constants.len()
            ));
        }
        if let Some((row, &label)) = labels.iter().enumerate().find(|(_, &l)| l >= t.classes) {
            return spec_error(format!(
                "row {row}: label {label} is not a class (0..{})",
                t.classes
            ));
        }
        let one_hot: Vec<f32> = labels
            .iter()
            .flat_map(|&l| (0..t.classes).map(move |c| if c == l { 1.0 } else { 0.0 }))
            .collect();
        self.engine
            .push_stream("inputs", Values::F32(inputs.to_vec()));
        self.engine
            .push_stream("labels", Values::F32(t.to_blocks(&one_hot, 1, t.classes)));
        self.engine
            .push_stream("optimiser", Values::F32(constants.to_vec()));
        self.engine.run(&t.program)?;
        let last = |stream: &str| match self.engine.stream_output(stream).last() {
            Some(Values::F32(v)) if v.len() == 1 => Ok(v[0]),
            _ => Err(TrainGraphError::Spec(format!(
                "the `{stream}` stream gave nothing"
            ))),
        };
        let loss = last("loss")?;
        let correct = last("correct")?;
        Ok(StepMetrics {
            loss,
            correct: correct as usize,
        })
    }
}
