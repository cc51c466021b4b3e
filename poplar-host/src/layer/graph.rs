//! A layer's forward and backward passes as one IPU graph, split over
//! tiles and, when the trajectory would not fit, over time.
//!
//! **Over tiles.** The layer's `batch x neurons` elements, padded to the
//! vertices' multiple, are cut into at most `tiles` blocks of whole 8-byte
//! groups (as even as that allows); block `k` lives on tile `k`, in every
//! tensor, as `[rows][block elements]`. Each compute set holds one
//! multi-step vertex per block (`...FwdSeq` or `...BwdSeq`).
//!
//! **Over time (checkpointing).** With chunks of `C` steps, the forward pass
//! runs the chunks in order, keeping the spikes of every step but the state
//! trajectory of only the chunk at hand (`C` rows), and copies each chunk's
//! final states into the chunk-start tensor. The backward pass sweeps the
//! chunks from the last: it recomputes a chunk's trajectory from its saved
//! starting states (the last chunk's is still in place after the forward
//! pass; the recomputation writes the chunk's spikes again, the same
//! values), then runs the backward vertices over it. The gradient flowing into
//! the states after a chunk is the next chunk's `grad_initial_*`
//! (`grad_final_*` of the vertex), and the parameter-gradient sums continue
//! across chunks (`grad_prepared` is read and written), so a chunked pass
//! computes every value in the same order as the whole one: the same bits.
//! The backward program must run after the forward program, with the
//! forward pass's tensors untouched in between.

use std::ops::Range;

use snn_codelet_gen::{FieldRole, MemberRole, VertexInfo, VertexKind};
use snn_kernels::model::{no_gradient, Model};
use snn_kernels::surrogate::{StochasticSpikeOperator, Surrogate};

use super::VertexLayer;
use crate::emulator::{Element, MemberValue};
use crate::graph::{ComputeSetId, Graph, GraphError, Program, Region, Target, TensorId};

/// Values for tensors, by name.
pub type NamedValues<T> = Vec<(String, Vec<T>)>;

/// How a layer's passes are split over time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chunking {
    /// The whole sequence at once when it fits the target's tile memory,
    /// else the longest chunk that fits (found by bisection).
    Auto,
    /// The whole sequence at once (the full state trajectory is kept).
    Whole,
    /// Chunks of this many steps (the last one may be shorter).
    Steps(usize),
}

/// A tensor of a [`LayerGraph`] that a caller writes or reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerTensor {
    /// Its name (the vertex field's name).
    pub name: String,
    /// What it holds.
    pub role: FieldRole,
    /// Its rows: `steps` for sequences, the chunk length for a state
    /// trajectory, 1 for per-element values, one per prepared constant for
    /// the parameter-gradient sums.
    pub rows: usize,
}

/// A layer's forward and backward passes as one graph
/// ([`VertexLayer::graph`]).
#[derive(Clone, Debug)]
pub struct LayerGraph {
    /// The graph.
    pub graph: Graph,
    /// The forward vertex.
    pub forward_vertex: &'static str,
    /// The backward vertex.
    pub backward_vertex: &'static str,
    /// The forward pass: inputs and initial states to spikes (and the state
    /// trajectory of the last chunk, or of the whole sequence).
    pub forward: Program,
    /// The backward pass through time: run after [`LayerGraph::forward`].
    pub backward: Program,
    /// Each block's elements `[start, end)` of the padded layer, in tile
    /// order (block `k` on tile `k`).
    pub blocks: Vec<Range<usize>>,
    /// Time steps.
    pub steps: usize,
    /// Steps per chunk (`steps` when the sequence is not split).
    pub chunk: usize,
    /// The tensors a caller writes (inputs, initial states, `dL/d` spikes
    /// and states) or reads (spikes, trajectories, gradients).
    pub tensors: Vec<LayerTensor>,
}

impl LayerGraph {
    /// `[rows][elements]` values (elements as the layer counts them, the
    /// padding `fill`) in the graph's layout: each block's `[rows][n]`
    /// after the previous one's.
    pub fn to_blocks<T: Copy>(
        &self,
        values: &[T],
        rows: usize,
        elements: usize,
        fill: T,
    ) -> Vec<T> {
        let mut out = Vec::with_capacity(rows * self.padded());
        for b in &self.blocks {
            for r in 0..rows {
                out.extend(b.clone().map(|e| {
                    if e < elements {
                        values[r * elements + e]
                    } else {
                        fill
                    }
                }));
            }
        }
        out
    }

    /// The inverse of [`LayerGraph::to_blocks`] (the padding dropped).
    pub fn from_blocks<T: Copy>(&self, blocks: &[T], rows: usize, elements: usize, out: &mut [T]) {
        let mut at = 0;
        for b in &self.blocks {
            for r in 0..rows {
                for e in b.clone() {
                    if e < elements {
                        out[r * elements + e] = blocks[at];
                    }
                    at += 1;
                }
            }
        }
    }

    /// The padded element count.
    pub fn padded(&self) -> usize {
        self.blocks.last().map_or(0, |b| b.end)
    }

    /// Number of time chunks.
    pub fn chunks(&self) -> usize {
        self.steps.div_ceil(self.chunk)
    }

    /// The caller's tensor with `role`.
    pub fn tensor(&self, role: FieldRole) -> Option<&LayerTensor> {
        self.tensors.iter().find(|t| t.role == role)
    }
}

impl<M: Model, T: Element> VertexLayer<M, T> {
    /// The forward and backward passes over `steps` steps as one graph on
    /// `target`, split over at most `tiles` tiles and over time as
    /// `chunking` says (see the module documentation).
    ///
    /// Returns the graph and the values to write into its constant tensors
    /// once, before the first run: per-neuron prepared constants (scalar
    /// ones are members) and the `-0` that gradient sums start from.
    pub fn graph(
        &self,
        steps: usize,
        target: Target,
        tiles: u32,
        chunking: Chunking,
    ) -> Result<(LayerGraph, NamedValues<T>), GraphError> {
        match chunking {
            Chunking::Whole => self.build(steps, steps, target, tiles),
            Chunking::Steps(chunk) => {
                if chunk == 0 || chunk > steps {
                    return Err(GraphError::Program(format!(
                        "a time chunk of {chunk} steps: give 1 to {steps} (the sequence's steps)"
                    )));
                }
                self.build(steps, chunk, target, tiles)
            }
            Chunking::Auto => self.auto_chunk(steps, target, tiles),
        }
    }

    /// The whole sequence if it fits, else the longest chunk that fits.
    ///
    /// Each distinct chunk length `⌈T/K⌉` is tried from the longest down
    /// until one fits. Shorter chunks keep a shorter trajectory but more
    /// vertices (three per chunk and tile); the search ends when the
    /// vertices' state alone no longer fits.
    fn auto_chunk(
        &self,
        steps: usize,
        target: Target,
        tiles: u32,
    ) -> Result<(LayerGraph, NamedValues<T>), GraphError> {
        let mut fewest: Option<(usize, u64)> = None;
        let mut chunks = 1;
        loop {
            let chunk = steps.div_ceil(chunks);
            let built = self.build(steps, chunk, target.clone(), tiles)?;
            let report = built.0.graph.memory();
            let (_, fullest) = report.max();
            if fullest.total() <= report.limit {
                return Ok(built);
            }
            if fewest.is_none_or(|(_, bytes)| fullest.total() < bytes) {
                fewest = Some((chunk, fullest.total()));
            }
            if chunk == 1 || fullest.vertex_state > report.limit {
                let (best, bytes) = fewest.expect("one tried");
                return Err(GraphError::Memory(format!(
                    "no time chunking fits: the fewest bytes on the fullest tile are {bytes} \
                     (chunks of {best} steps) and a tile has {}; use more tiles or IPUs, fp16, \
                     a smaller batch or fewer neurons",
                    report.limit
                )));
            }
            // the next shorter chunk length
            chunks = steps.div_ceil(chunk - 1).max(chunks + 1);
        }
    }

    fn build(
        &self,
        steps: usize,
        chunk: usize,
        target: Target,
        tiles: u32,
    ) -> Result<(LayerGraph, NamedValues<T>), GraphError> {
        let program_error = |e: super::Error| GraphError::Program(e.to_string());
        let forward_vertex = self
            .vertex(VertexKind::ForwardSequence)
            .map_err(program_error)?;
        let backward_vertex = self
            .vertex(VertexKind::BackwardSequence)
            .map_err(program_error)?;
        let fwd = crate::emulator::vertex(forward_vertex).expect("found in the manifest");
        let bwd = crate::emulator::vertex(backward_vertex).expect("found in the manifest");
        if u32::try_from(steps).map_or(true, |s| s == 0) {
            return Err(GraphError::Program(format!(
                "{steps} steps: give 1 to 2^32 - 1"
            )));
        }
        if chunk < steps && self.surrogate.name == StochasticSpikeOperator::NAME {
            return Err(GraphError::Program(format!(
                "time chunking with the `{}` surrogate: its noise is drawn per step of a pass, \
                 so a chunked pass would draw other numbers; use Chunking::Whole",
                self.surrogate.name
            )));
        }
        let blocks = split_blocks(
            self.elements(),
            group(&[fwd, bwd], std::mem::size_of::<T>()),
            tiles.min(target.tiles),
        );
        let padded = blocks.last().map_or(0, |b| b.end);
        let chunks: Vec<Range<usize>> = (0..steps)
            .step_by(chunk)
            .map(|s| s..(s + chunk).min(steps))
            .collect();
        let mut b = Builder {
            graph: Graph::new(target),
            blocks,
        };

        // the caller's tensors, named after the backward vertex's fields
        let mut tensors = Vec::new();
        let mut ids: Vec<(FieldRole, TensorId)> = Vec::new();
        let prepared_rows = M::PREPARED.len();
        for f in &bwd.fields {
            let rows = match f.role {
                FieldRole::InitialState(_) | FieldRole::GradInitialState(_) => 1,
                FieldRole::Prepared(_) => 1,
                FieldRole::State(_) => chunk,
                FieldRole::GradPrepared => prepared_rows,
                FieldRole::GradFinalState(_) => continue,
                _ => steps,
            };
            let id = b.tensor(f.element, &f.name, rows)?;
            tensors.push(LayerTensor {
                name: f.name.clone(),
                role: f.role,
                rows,
            });
            ids.push((f.role, id));
        }
        // the forward vertex reads the inputs even when the backward one
        // does not (its model's backward pass does not need them)
        for f in &fwd.fields {
            if !ids.iter().any(|(r, _)| *r == f.role) && matches!(f.role, FieldRole::Input(_)) {
                let id = b.tensor(f.element, &f.name, steps)?;
                tensors.push(LayerTensor {
                    name: f.name.clone(),
                    role: f.role,
                    rows: steps,
                });
                ids.push((f.role, id));
            }
        }
        let id = |role: FieldRole| {
            ids.iter()
                .find(|(r, _)| *r == role)
                .map(|(_, t)| *t)
                .expect("every field has its tensor")
        };
        let element = bwd.fields[0].element;
        let states = M::STATES.len();
        let split = chunks.len() > 1;
        // internal tensors: -0 to start the sums from, and when split the
        // chunk-start states and the carried gradients
        let no_grad: Vec<TensorId> = (0..states)
            .map(|k| b.tensor(element, &format!("no_grad_{}", M::STATES[k]), 1))
            .collect::<Result<_, _>>()?;
        let no_grad_prepared = b.tensor(element, "no_grad_prepared", prepared_rows)?;
        let (starts, carry) = if split {
            let starts: Vec<TensorId> = (0..states)
                .map(|k| {
                    let name = format!("chunk_start_{}", M::STATES[k]);
                    b.tensor(element, &name, chunks.len() - 1)
                })
                .collect::<Result<_, _>>()?;
            let carry: Vec<TensorId> = (0..states)
                .map(|k| b.tensor(element, &format!("grad_carry_{}", M::STATES[k]), 2))
                .collect::<Result<_, _>>()?;
            (starts, carry)
        } else {
            (Vec::new(), Vec::new())
        };

        let (prepared, scalars) = self.prepared(padded);
        let members = |vertex: &VertexInfo, block: &Range<usize>, len: usize| {
            let mut out = Vec::new();
            for m in &vertex.members {
                let value = match m.role {
                    MemberRole::Steps => MemberValue::Unsigned(len as u32),
                    MemberRole::Prepared(j) => scalars[j].member(),
                    MemberRole::Seed => MemberValue::Unsigned(self.seed),
                    MemberRole::ElementOffset => MemberValue::Unsigned(block.start as u32),
                    MemberRole::SurrogateConstant(j) => {
                        T::constant(self.surrogate.constants[j]).member()
                    }
                    // sizes of the training vertices: no neuron vertex has
                    // them (left unset, the validator would name it)
                    _ => continue,
                };
                out.push((m.name.clone(), value));
            }
            out
        };
        // where chunk `c` starts from: the initial states, or the saved ones
        let start = |c: usize, k: usize| -> (TensorId, usize, usize) {
            if c == 0 {
                (id(FieldRole::InitialState(k)), 0, 1)
            } else {
                (starts[k], c - 1, chunks.len() - 1)
            }
        };
        let sequence = |role: FieldRole, c: usize| (id(role), chunks[c].start, steps);
        let scratch = |role: FieldRole| (id(role), 0, chunk);

        // what chunk `c`'s forward vertices read and write (the forward
        // pass and the backward pass's recomputation alike)
        let forward_source = |c: usize| {
            move |role: FieldRole| match role {
                FieldRole::Input(_) | FieldRole::Spikes => Some(sequence(role, c)),
                FieldRole::InitialState(k) => Some(start(c, k)),
                FieldRole::State(_) => Some(scratch(role)),
                FieldRole::Prepared(_) => Some((id(role), 0, 1)),
                _ => None,
            }
        };

        // forward: each chunk in order, its final states saved
        let mut forward = Vec::new();
        for (c, span) in chunks.iter().enumerate() {
            let cs = b.graph.add_compute_set(&format!("forward_{c}"));
            let rows = span.len();
            b.sequence_vertices(cs, fwd, rows, &members, forward_source(c))?;
            forward.push(Program::Execute(cs));
            if c + 1 < chunks.len() {
                for (k, &to) in starts.iter().enumerate() {
                    let from = if Some(k) == M::SPIKE_STATE {
                        (id(FieldRole::Spikes), span.end - 1, steps)
                    } else {
                        (id(FieldRole::State(k)), rows - 1, chunk)
                    };
                    forward.extend(b.row_copies(from, (to, c, chunks.len() - 1)));
                }
            }
        }

        // backward: the sums restart from -0, then the chunks from the last
        let mut backward = vec![Program::Copy {
            from: b.whole(no_grad_prepared, prepared_rows),
            to: b.whole(id(FieldRole::GradPrepared), prepared_rows),
        }];
        for (c, span) in chunks.iter().enumerate().rev() {
            let rows = span.len();
            if c + 1 < chunks.len() {
                let cs = b.graph.add_compute_set(&format!("recompute_{c}"));
                // the same spikes again: the forward pass's values
                b.sequence_vertices(cs, fwd, rows, &members, forward_source(c))?;
                backward.push(Program::Execute(cs));
            }
            let last = c + 1 == chunks.len();
            let cs = b.graph.add_compute_set(&format!("backward_{c}"));
            b.sequence_vertices(cs, bwd, rows, &members, |role| match role {
                FieldRole::Input(_)
                | FieldRole::Spikes
                | FieldRole::GradSpikes
                | FieldRole::GradState(_)
                | FieldRole::GradInput(_) => Some(sequence(role, c)),
                FieldRole::InitialState(k) => Some(start(c, k)),
                FieldRole::State(_) => Some(scratch(role)),
                FieldRole::Prepared(_) => Some((id(role), 0, 1)),
                FieldRole::GradFinalState(k) if last => Some((no_grad[k], 0, 1)),
                FieldRole::GradFinalState(k) => Some((carry[k], (c + 1) % 2, 2)),
                FieldRole::GradInitialState(_) if c == 0 => Some((id(role), 0, 1)),
                FieldRole::GradInitialState(k) => Some((carry[k], c % 2, 2)),
                FieldRole::GradPrepared => Some((id(role), 0, prepared_rows)),
                _ => None,
            })?;
            backward.push(Program::Execute(cs));
        }

        let zero = T::zero();
        let layout = LayerGraph {
            graph: b.graph,
            forward_vertex,
            backward_vertex,
            forward: Program::Sequence(forward),
            backward: Program::Sequence(backward),
            blocks: b.blocks,
            steps,
            chunk,
            tensors,
        };
        let mut constants: NamedValues<T> = Vec::new();
        if bwd.per_neuron {
            for (j, values) in prepared.iter().enumerate() {
                let name = super::field(bwd, FieldRole::Prepared(j)).to_string();
                constants.push((name, layout.to_blocks(values, 1, padded, zero)));
            }
        }
        for k in 0..states {
            constants.push((
                format!("no_grad_{}", M::STATES[k]),
                vec![no_gradient::<T>(); padded],
            ));
        }
        constants.push((
            "no_grad_prepared".into(),
            vec![no_gradient::<T>(); prepared_rows * padded],
        ));
        Ok((layout, constants))
    }
}

/// The elements of one group: the vertices' multiple, at least 8 bytes.
fn group(vertices: &[&VertexInfo], width: usize) -> usize {
    vertices
        .iter()
        .map(|v| v.element_multiple as usize)
        .fold(8 / width, usize::max)
}

/// `elements` padded to whole `group`s, cut into at most `tiles` blocks of
/// whole groups, as even as that allows (the first blocks one group more).
fn split_blocks(elements: usize, group: usize, tiles: u32) -> Vec<Range<usize>> {
    let padded = elements.next_multiple_of(group);
    let groups = padded / group;
    let count = (tiles as usize).min(groups).max(1);
    let (per, extra) = (groups / count, groups % count);
    let mut blocks = Vec::with_capacity(count);
    let mut start = 0;
    for k in 0..count {
        let end = start + (per + usize::from(k < extra)) * group;
        blocks.push(start..end);
        start = end;
    }
    blocks
}

/// A vertex's members for a block and a step count, by name.
type MembersOf<'a> = dyn Fn(&VertexInfo, &Range<usize>, usize) -> Vec<(String, MemberValue)> + 'a;

/// The graph under construction and its blocks.
struct Builder {
    graph: Graph,
    blocks: Vec<Range<usize>>,
}

/// Rows `[first, first + count)` of a tensor of `rows` rows: `(tensor,
/// first row, rows)`; the count is the vertex's or the copy's.
type Rows = (TensorId, usize, usize);

impl Builder {
    /// A tensor of `rows` rows, block `k` on tile `k` as `[rows][block]`.
    fn tensor(
        &mut self,
        element: snn_codelet_gen::Element,
        name: &str,
        rows: usize,
    ) -> Result<TensorId, GraphError> {
        let padded = self.blocks.last().map_or(0, |b| b.end);
        let t = self.graph.add_variable(element, &[rows * padded], name)?;
        for (k, b) in self.blocks.iter().enumerate() {
            self.graph
                .set_tile_mapping(t, rows * b.start..rows * b.end, k as u32)?;
        }
        Ok(t)
    }

    /// Block `k`'s rows `[first, first + count)` of `(tensor, first, rows)`.
    fn block_rows(&self, k: usize, (tensor, first, rows): Rows, count: usize) -> Region {
        let b = &self.blocks[k];
        let n = b.len();
        let base = rows * b.start + first * n;
        tensor.region(base..base + count * n)
    }

    /// The whole of a tensor of `rows` rows.
    fn whole(&self, tensor: TensorId, rows: usize) -> Region {
        tensor.region(0..rows * self.blocks.last().map_or(0, |b| b.end))
    }

    /// One row copied from `from` to `to`, block by block (each copy stays
    /// on its tile).
    fn row_copies(&self, from: Rows, to: Rows) -> Vec<Program> {
        (0..self.blocks.len())
            .map(|k| Program::Copy {
                from: self.block_rows(k, from, 1),
                to: self.block_rows(k, to, 1),
            })
            .collect()
    }

    /// One `vertex` per block in `cs`, running `rows` steps: each field
    /// connected to the rows `source` gives (one row for per-element
    /// fields, one per prepared constant for the sums, `rows` for
    /// sequences), members from `members`.
    fn sequence_vertices(
        &mut self,
        cs: ComputeSetId,
        vertex: &VertexInfo,
        rows: usize,
        members: &MembersOf,
        source: impl Fn(FieldRole) -> Option<Rows>,
    ) -> Result<(), GraphError> {
        for k in 0..self.blocks.len() {
            let v = self.graph.add_vertex(cs, &vertex.name, k as u32)?;
            for f in &vertex.fields {
                let Some(from) = source(f.role) else {
                    return Err(GraphError::Program(format!(
                        "no tensor for field `{}` of {}",
                        f.name, vertex.name
                    )));
                };
                let count = f.length.of(1, rows).ok_or_else(|| {
                    GraphError::Program(format!("{rows} steps do not fit a field's length"))
                })?;
                let region = self.block_rows(k, from, count);
                self.graph.connect(v, &f.name, region)?;
            }
            let block = self.blocks[k].clone();
            for (name, value) in members(vertex, &block, rows) {
                self.graph.set_initial_value(v, &name, value)?;
            }
        }
        Ok(())
    }
}
