//! Cycle estimates: how long a graph's program would take on the IPU, from
//! the generated vertices' operation counts (the manifest's `cost`, see
//! `snn_codelet_gen::cost`) and a table of per-operation costs.
//!
//! **Every number here is an estimate**, not a measurement: no IPU was
//! used. `docs/ipu-cost-model.md` gives each number with its reasoning.
//!
//! The model:
//!
//! - A tile has `W` workers (6), barrel-scheduled: each issues one
//!   instruction every `W` tile cycles, so a worker's instruction costs `W`
//!   tile cycles and a tile runs at most `W` instructions per `W` cycles.
//! - A vertex runs on every worker; worker `w` takes the groups
//!   `w, w + W, ...` of `grain` elements (the vertex's split). Its
//!   instructions: `vertex_call + ops(per_worker) + groups_w · group +
//!   e_w · (loop + ops(per_element) + steps · (loop + step_index +
//!   ops(per_step)))`, with `e_w` its elements (`⌈e_w / lanes⌉` when
//!   [`CostTable::vectorised`]) and `ops` the table's cost of each class.
//! - Vertices on one tile share its workers: a tile's cycles in a compute
//!   set are `W · max_w Σ_vertices instructions_w`; a compute set takes its
//!   slowest tile's cycles, plus one sync.
//! - `Copy`: `⌈max over tiles of max(bytes sent, bytes received) /
//!   exchange_bytes_per_cycle⌉` (bytes staying on a tile count as both),
//!   plus one sync. `StreamIn`/`StreamOut`: `host_latency + bytes /
//!   host_bandwidth`, at the target's clock. `Repeat(k, p)`: `k` times `p`.

use std::fmt;
use std::ops::Range;

use snn_codelet_gen::{BodyCost, Element, MemberRole, OpCounts};

use super::{element_bytes, ComputeSet, Graph, GraphError, Program, Region};
use crate::emulator::{self, MemberValue};

/// The cost of each operation class and of the machine's other steps
/// (estimates; see `docs/ipu-cost-model.md`). Per-operation costs are in
/// worker instructions (each `W` tile cycles); sync and exchange in tile
/// cycles.
#[derive(Clone, Debug, PartialEq)]
pub struct CostTable {
    /// `+ - *`, negation (binary32, or binary16 in one lane).
    pub arith: u64,
    /// `/` (no divide instruction: a reciprocal and refinement steps).
    pub div: u64,
    /// A call and its return, arguments in registers.
    pub call: u64,
    /// A comparison, a select or mask logic.
    pub compare_select: u64,
    /// One binary16 <-> binary32 conversion.
    pub convert: u64,
    /// A word operation, shift or bit cast.
    pub bitwise: u64,
    /// A load of a field element or member.
    pub load: u64,
    /// A binary32 store.
    pub store_f32: u64,
    /// A binary16 store (read-modify-write of its 32-bit word).
    pub store_f16: u64,
    /// One iteration of a loop: increment, compare, branch.
    pub loop_iteration: u64,
    /// The index `t · n + i` of a step.
    pub step_index: u64,
    /// One group of a half vertex's split (`first`, `end`, inner loop set-up).
    pub group: u64,
    /// Starting a vertex on a worker and returning (reading its state).
    pub vertex_call: u64,
    /// binary32 lanes of a 64-bit vector operation.
    pub f32_lanes: u64,
    /// binary16 lanes of a 64-bit vector operation.
    pub f16_lanes: u64,
    /// Cost the element loop as if vectorised (`lanes` elements per
    /// operation, stores whole words): an optimistic bound. The generated
    /// bodies are scalar, so the default is `false`.
    pub vectorised: bool,
    /// Tile cycles of the sync after a compute set or an exchange.
    pub sync: u64,
    /// Bytes a tile sends (or receives) per tile cycle in an exchange.
    pub exchange_bytes_per_cycle: u64,
    /// Host link bandwidth for streams, bytes per second.
    pub host_bytes_per_second: f64,
    /// Fixed time of one stream copy, seconds.
    pub host_latency_seconds: f64,
}

impl Default for CostTable {
    /// The estimates of `docs/ipu-cost-model.md` (Mk2 IPU: GC200, Bow).
    fn default() -> Self {
        CostTable {
            arith: 1,
            div: 16,
            call: 10,
            compare_select: 1,
            convert: 1,
            bitwise: 1,
            load: 1,
            store_f32: 1,
            store_f16: 3,
            loop_iteration: 3,
            step_index: 2,
            group: 6,
            vertex_call: 20,
            f32_lanes: 2,
            f16_lanes: 4,
            vectorised: false,
            sync: 150,
            exchange_bytes_per_cycle: 4,
            host_bytes_per_second: 16e9,
            host_latency_seconds: 10e-6,
        }
    }
}

impl CostTable {
    /// Worker instructions of `ops`: `Σ count · cost` over the classes.
    pub fn ops(&self, ops: &OpCounts, element: Element) -> u64 {
        let store = match (element, self.vectorised) {
            (Element::Half, false) => self.store_f16,
            _ => self.store_f32,
        };
        [
            (ops.arith, self.arith),
            (ops.div, self.div),
            (ops.calls, self.call),
            (ops.compare_select, self.compare_select),
            (ops.convert, self.convert),
            (ops.bitwise, self.bitwise),
            (ops.load, self.load),
            (ops.store, store),
        ]
        .iter()
        .fold(0u64, |a, &(n, c)| {
            a.saturating_add(u64::from(n).saturating_mul(c))
        })
    }

    /// Worker instructions of one vertex on each of `workers` workers, for
    /// `n` elements and `steps` steps (see the module documentation).
    pub fn vertex_worker_cycles(
        &self,
        cost: &BodyCost,
        element: Element,
        grain: u32,
        n: u64,
        steps: u64,
        workers: u32,
    ) -> Vec<u64> {
        let grain = u64::from(grain.max(1));
        let w_count = u64::from(workers.max(1));
        let groups = n.div_ceil(grain);
        let lanes = match element {
            Element::Float => self.f32_lanes,
            Element::Half => self.f16_lanes,
        }
        .max(1);
        let per_step = if cost.step_loop {
            steps.saturating_mul(
                self.loop_iteration
                    .saturating_add(self.step_index)
                    .saturating_add(self.ops(&cost.per_step, element)),
            )
        } else {
            0
        };
        let per_element = self
            .loop_iteration
            .saturating_add(self.ops(&cost.per_element, element))
            .saturating_add(per_step);
        (0..w_count)
            .map(|w| {
                // groups w, w + W, ...; the last group may be partial
                let my_groups = if w < groups {
                    (groups - w).div_ceil(w_count)
                } else {
                    0
                };
                let last_partial = groups > 0 && (groups - 1) % w_count == w && n % grain != 0;
                let elements = my_groups * grain - if last_partial { grain - n % grain } else { 0 };
                let iterations = if self.vectorised {
                    elements.div_ceil(lanes)
                } else {
                    elements
                };
                let group_cost = if grain > 1 {
                    my_groups.saturating_mul(self.group)
                } else {
                    0
                };
                self.vertex_call
                    .saturating_add(self.ops(&cost.per_worker, element))
                    .saturating_add(group_cost)
                    .saturating_add(iterations.saturating_mul(per_element))
            })
            .collect()
    }
}

/// One compute set's estimate.
#[derive(Clone, Debug, PartialEq)]
pub struct ComputeSetCycles {
    /// Its name.
    pub name: String,
    /// How many times the program runs it.
    pub runs: u64,
    /// Tile cycles of one run (its slowest tile), sync not included.
    pub cycles: u64,
    /// Its slowest tile.
    pub tile: u32,
}

/// A program's estimated tile cycles, by what takes them.
#[derive(Clone, Debug, PartialEq)]
pub struct CycleEstimate {
    /// Compute sets (each its slowest tile).
    pub compute: u64,
    /// Copies between (and within) tiles.
    pub exchange: u64,
    /// Syncs after compute sets and exchanges.
    pub sync: u64,
    /// Host streams.
    pub host: u64,
    /// Each compute set the program runs, in order of first run.
    pub compute_sets: Vec<ComputeSetCycles>,
    /// The target's clock, Hz.
    pub clock_hz: f64,
}

impl CycleEstimate {
    fn zero(clock_hz: f64) -> Self {
        CycleEstimate {
            compute: 0,
            exchange: 0,
            sync: 0,
            host: 0,
            compute_sets: Vec::new(),
            clock_hz,
        }
    }

    /// `compute + exchange + sync + host`.
    pub fn total(&self) -> u64 {
        self.compute
            .saturating_add(self.exchange)
            .saturating_add(self.sync)
            .saturating_add(self.host)
    }

    /// `total / clock`, seconds.
    pub fn seconds(&self) -> f64 {
        self.total() as f64 / self.clock_hz
    }

    fn add(&mut self, other: CycleEstimate, times: u64) {
        self.compute = self
            .compute
            .saturating_add(other.compute.saturating_mul(times));
        self.exchange = self
            .exchange
            .saturating_add(other.exchange.saturating_mul(times));
        self.sync = self.sync.saturating_add(other.sync.saturating_mul(times));
        self.host = self.host.saturating_add(other.host.saturating_mul(times));
        for cs in other.compute_sets {
            let runs = cs.runs.saturating_mul(times);
            match self.compute_sets.iter_mut().find(|c| c.name == cs.name) {
                Some(c) => c.runs = c.runs.saturating_add(runs),
                None => self.compute_sets.push(ComputeSetCycles { runs, ..cs }),
            }
        }
    }
}

impl fmt::Display for CycleEstimate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = |c: u64| c as f64 / self.clock_hz * 1e6;
        writeln!(
            f,
            "cycles (estimate; docs/ipu-cost-model.md): {} = {:.1} us at {:.2} GHz",
            self.total(),
            self.seconds() * 1e6,
            self.clock_hz / 1e9
        )?;
        writeln!(
            f,
            "  compute  {:>12} ({:.1} us)",
            self.compute,
            us(self.compute)
        )?;
        writeln!(
            f,
            "  exchange {:>12} ({:.1} us)",
            self.exchange,
            us(self.exchange)
        )?;
        writeln!(f, "  sync     {:>12} ({:.1} us)", self.sync, us(self.sync))?;
        writeln!(f, "  host     {:>12} ({:.1} us)", self.host, us(self.host))?;
        for cs in &self.compute_sets {
            writeln!(
                f,
                "  compute set `{}`: {} run(s) x {} cycles (slowest tile {})",
                cs.name, cs.runs, cs.cycles, cs.tile
            )?;
        }
        Ok(())
    }
}

/// The tiles holding `region`, in element order: `(tile, elements)`.
pub(crate) fn region_tiles(graph: &Graph, region: &Region) -> Vec<(u32, Range<usize>)> {
    let Some(t) = graph.tensors.get(region.tensor.0) else {
        return Vec::new();
    };
    let mut parts: Vec<(u32, Range<usize>)> = t
        .mapping
        .iter()
        .filter_map(|(tile, r)| {
            let start = r.start.max(region.range.start);
            let end = r.end.min(region.range.end);
            (start < end).then_some((*tile, start..end))
        })
        .collect();
    parts.sort_by_key(|(_, r)| r.start);
    parts
}

/// Bytes each tile sends and receives in `Copy { from, to }`:
/// `(sent, received, received from other tiles)` per tile.
pub(crate) fn copy_bytes(graph: &Graph, from: &Region, to: &Region) -> Vec<(u64, u64, u64)> {
    let mut per_tile = vec![(0u64, 0u64, 0u64); graph.target.tiles as usize];
    let Some(t) = graph.tensors.get(from.tensor.0) else {
        return per_tile;
    };
    let width = element_bytes(t.element) as u64;
    let src = region_tiles(graph, from);
    let dst = region_tiles(graph, to);
    // walk both in step, by offset into the copy
    let (mut i, mut j) = (0, 0);
    let (mut a, mut b) = (0usize, 0usize); // offsets consumed in src[i], dst[j]
    while i < src.len() && j < dst.len() {
        let (sa, ra) = &src[i];
        let (tb, rb) = &dst[j];
        let len = (ra.len() - a).min(rb.len() - b);
        let bytes = len as u64 * width;
        if let Some(s) = per_tile.get_mut(*sa as usize) {
            s.0 += bytes;
        }
        if let Some(d) = per_tile.get_mut(*tb as usize) {
            d.1 += bytes;
            if sa != tb {
                d.2 += bytes;
            }
        }
        a += len;
        b += len;
        if a == ra.len() {
            i += 1;
            a = 0;
        }
        if b == rb.len() {
            j += 1;
            b = 0;
        }
    }
    per_tile
}

impl Graph {
    /// The estimate of `program` with the default [`CostTable`] (see the
    /// module documentation); refused when the graph or program does not
    /// validate.
    pub fn estimate_cycles(&self, program: &Program) -> Result<CycleEstimate, Vec<GraphError>> {
        self.estimate_cycles_with(program, &CostTable::default())
    }

    /// The estimate of `program` with the costs of `table`.
    pub fn estimate_cycles_with(
        &self,
        program: &Program,
        table: &CostTable,
    ) -> Result<CycleEstimate, Vec<GraphError>> {
        self.validate(program)?;
        let mut sets = Vec::with_capacity(self.compute_sets.len());
        for cs in &self.compute_sets {
            sets.push(self.compute_set_cycles(cs, table)?);
        }
        Ok(self.program_cycles(program, table, &sets))
    }

    /// `(slowest tile, its cycles)` of one run of `cs`, sync not included.
    fn compute_set_cycles(
        &self,
        cs: &ComputeSet,
        table: &CostTable,
    ) -> Result<(u32, u64), Vec<GraphError>> {
        let workers = self.target.workers as usize;
        // per tile: each worker's instructions, summed over its vertices
        let mut tiles: std::collections::BTreeMap<u32, Vec<u64>> = Default::default();
        for (index, v) in cs.vertices.iter().enumerate() {
            let error = |problem: &str| {
                vec![GraphError::Vertex {
                    vertex: format!("{}/{index}: {} on tile {}", cs.name, v.name, v.tile),
                    problem: problem.into(),
                }]
            };
            let Some(info) = emulator::vertex(&v.name) else {
                return Err(error("no generated vertex has this name"));
            };
            let Some(cost) = info.cost else {
                return Err(error(
                    "the manifest has no operation counts for it; regenerate it with this snn-codelet-gen",
                ));
            };
            let n = v
                .fields
                .get(&info.elements_field().name)
                .map_or(0, |r| r.range.len() as u64);
            // the step loop's count, or an inner loop's bound
            let bound = info
                .member_with(MemberRole::Steps)
                .or_else(|| cost.loop_bound.and_then(|k| info.members.get(k as usize)));
            let steps = bound
                .and_then(|m| v.members.get(&m.name))
                .map_or(1, |value| match value {
                    MemberValue::Unsigned(s) => u64::from(*s),
                    _ => 1,
                });
            let cycles = table.vertex_worker_cycles(
                &cost,
                info.precision,
                info.worker_grain,
                n,
                steps,
                self.target.workers,
            );
            let sums = tiles.entry(v.tile).or_insert_with(|| vec![0; workers]);
            for (s, c) in sums.iter_mut().zip(cycles) {
                *s = s.saturating_add(c);
            }
        }
        let per_tile = tiles.iter().map(|(&tile, sums)| {
            let busiest = sums.iter().copied().max().unwrap_or(0);
            (tile, busiest.saturating_mul(u64::from(self.target.workers)))
        });
        // the slowest tile; the lowest-numbered among equals
        Ok(per_tile.fold(
            (0, 0),
            |best, (tile, c)| if c > best.1 { (tile, c) } else { best },
        ))
    }

    fn program_cycles(
        &self,
        program: &Program,
        table: &CostTable,
        sets: &[(u32, u64)],
    ) -> CycleEstimate {
        let clock = self.target.clock_hz;
        let mut e = CycleEstimate::zero(clock);
        match program {
            Program::Sequence(items) => {
                for p in items {
                    e.add(self.program_cycles(p, table, sets), 1);
                }
            }
            Program::Execute(cs) => {
                let (tile, cycles) = sets[cs.0];
                e.compute = cycles;
                e.sync = table.sync;
                e.compute_sets.push(ComputeSetCycles {
                    name: self.compute_sets[cs.0].name.clone(),
                    runs: 1,
                    cycles,
                    tile,
                });
            }
            Program::Repeat(k, body) => {
                e.add(self.program_cycles(body, table, sets), u64::from(*k))
            }
            Program::Copy { from, to } => {
                let busiest = copy_bytes(self, from, to)
                    .iter()
                    .map(|&(sent, received, _)| sent.max(received))
                    .max()
                    .unwrap_or(0);
                e.exchange = busiest.div_ceil(table.exchange_bytes_per_cycle.max(1));
                e.sync = table.sync;
            }
            Program::StreamIn { to: r, .. } | Program::StreamOut { from: r, .. } => {
                let bytes = self
                    .tensors
                    .get(r.tensor.0)
                    .map_or(0, |t| r.range.len() * element_bytes(t.element));
                let seconds = table.host_latency_seconds
                    + bytes as f64 / table.host_bytes_per_second.max(1.0);
                e.host = (seconds * clock).ceil() as u64;
            }
        }
        e
    }
}

/// The cycle estimate and the memory of `graph` running `program`, as text
/// for a command to print (or the reasons the graph does not validate).
pub fn report_text(graph: &Graph, program: &Program) -> String {
    let mut text = format!("target {}\n", graph.target.name);
    match graph.estimate_cycles(program) {
        Ok(e) => text.push_str(&e.to_string()),
        Err(errors) => {
            text.push_str("no cycle estimate: the graph does not validate:\n");
            for e in errors {
                text.push_str(&format!("  {e}\n"));
            }
        }
    }
    text.push_str(&super::memory::report_text(graph, program));
    text
}

/// A spiking layer's forward and backward passes on a target, estimated
/// ([`layer_estimate`]).
#[derive(Clone, Debug, PartialEq)]
pub struct LayerEstimate {
    /// The forward pass (`VertexLayer::graph`).
    pub forward: CycleEstimate,
    /// The backward pass (`VertexLayer::graph`).
    pub backward: CycleEstimate,
    /// The graph's memory (both passes: one graph holds their tensors).
    pub memory: super::memory::MemoryReport,
    /// The forward vertex.
    pub forward_vertex: &'static str,
    /// The backward vertex.
    pub backward_vertex: &'static str,
    /// Tiles (one vertex each).
    pub tiles: usize,
    /// Time steps.
    pub steps: usize,
}

impl LayerEstimate {
    /// `forward + backward` tile cycles.
    pub fn total_cycles(&self) -> u64 {
        self.forward.total().saturating_add(self.backward.total())
    }

    /// `total_cycles / clock`, seconds.
    pub fn seconds(&self) -> f64 {
        self.total_cycles() as f64 / self.forward.clock_hz
    }
}

impl fmt::Display for LayerEstimate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "forward + backward, {} steps over {} tiles: {} cycles = {:.1} us (estimate)",
            self.steps,
            self.tiles,
            self.total_cycles(),
            self.seconds() * 1e6
        )?;
        writeln!(f, "forward: {}", self.forward_vertex)?;
        write!(f, "{}", self.forward)?;
        writeln!(f, "backward: {}", self.backward_vertex)?;
        write!(f, "{}", self.backward)?;
        write!(f, "{}", self.memory)
    }
}

/// The estimate of `layer`'s forward and backward passes over `steps`
/// steps on `target`, split over at most `tiles` tiles as
/// `VertexLayer::graph` (whole sequence) splits them.
pub fn layer_estimate<M: snn_kernels::Model, T: crate::emulator::Element>(
    layer: &crate::VertexLayer<M, T>,
    steps: usize,
    target: super::Target,
    tiles: u32,
) -> Result<LayerEstimate, Vec<GraphError>> {
    layer_estimate_with(layer, steps, target, tiles, &CostTable::default())
}

/// [`layer_estimate`] with the costs of `table`.
pub fn layer_estimate_with<M: snn_kernels::Model, T: crate::emulator::Element>(
    layer: &crate::VertexLayer<M, T>,
    steps: usize,
    target: super::Target,
    tiles: u32,
    table: &CostTable,
) -> Result<LayerEstimate, Vec<GraphError>> {
    let (g, _) = layer
        .graph(steps, target, tiles, crate::layer::Chunking::Whole)
        .map_err(|e| vec![e])?;
    Ok(LayerEstimate {
        forward: g.graph.estimate_cycles_with(&g.forward, table)?,
        backward: g.graph.estimate_cycles_with(&g.backward, table)?,
        memory: g.graph.memory_for(&Program::Sequence(vec![
            g.forward.clone(),
            g.backward.clone(),
        ])),
        forward_vertex: g.forward_vertex,
        backward_vertex: g.backward_vertex,
        tiles: g.blocks.len(),
        steps,
    })
}
