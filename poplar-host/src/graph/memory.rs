//! Memory per tile: what a graph's tensors, vertices, code, worker stacks
//! and exchanges take on each tile, and the refusal of a graph that does
//! not fit.
//!
//! What is counted, per tile (an **estimate** of the layout Poplar builds;
//! `docs/ipu-cost-model.md` gives the reasoning for each number):
//!
//! - **tensors**: each interval mapped to the tile, its elements' bytes
//!   rounded up to 8 (every interval starts 8-byte aligned, see the module
//!   documentation of [`super`]);
//! - **vertex state**: per vertex instance on the tile, 8 bytes for each
//!   `SPAN` field (a 32-bit pointer and a 32-bit size), 4 for each
//!   `ONE_PTR` field and 4 for each member, rounded up to 8;
//! - **code**: once per vertex *type* on the tile (whatever the number of
//!   instances): [`CODE_BYTES_PER_VERTEX_TYPE`] plus
//!   [`CODE_BYTES_PER_STATEMENT`] per statement of its body and of the
//!   functions it calls (the manifest's `cost`);
//! - **worker stacks**: on a tile that runs any vertex,
//!   [`STACK_BYTES_PER_WORKER`] per worker;
//! - **exchange buffers**: for the program's copies, the most bytes the
//!   tile receives from other tiles in one `Copy` (one copy at a time).

use std::fmt;

use std::collections::{BTreeMap, BTreeSet};

use snn_codelet_gen::Layout;

use super::cost::copy_bytes;
use super::{element_bytes, Graph, Program};
use crate::emulator;

/// Code bytes per statement of a vertex body (estimate: a statement is one
/// operation, about two 32-bit instructions with its operand moves).
pub const CODE_BYTES_PER_STATEMENT: u64 = 8;

/// Code bytes of a vertex type besides its statements (estimate: entry and
/// exit, the worker split and the loops' set-up, its descriptor).
pub const CODE_BYTES_PER_VERTEX_TYPE: u64 = 256;

/// Stack bytes per worker on a tile that runs vertices (estimate: the
/// bodies' spilled temporaries and one call frame).
pub const STACK_BYTES_PER_WORKER: u64 = 256;

/// The bytes of one tile, by what takes them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TileBytes {
    /// Tensor data.
    pub tensors: u64,
    /// Vertex state (field pointers and sizes, members).
    pub vertex_state: u64,
    /// Vertex code, once per vertex type.
    pub code: u64,
    /// Worker stacks.
    pub stacks: u64,
    /// Exchange buffers.
    pub exchange: u64,
    /// Vertex types on the tile (whose code is counted).
    pub vertex_types: u32,
}

impl TileBytes {
    /// All of it: `tensors + vertex_state + code + stacks + exchange`.
    pub fn total(&self) -> u64 {
        self.tensors
            .saturating_add(self.vertex_state)
            .saturating_add(self.code)
            .saturating_add(self.stacks)
            .saturating_add(self.exchange)
    }

    /// The categories with their bytes, largest first (ties in the order
    /// tensor data, vertex state, code, worker stacks, exchange buffers).
    pub fn categories(&self) -> Vec<(&'static str, u64)> {
        let mut c = vec![
            ("tensor data", self.tensors),
            ("vertex state", self.vertex_state),
            ("code", self.code),
            ("worker stacks", self.stacks),
            ("exchange buffers", self.exchange),
        ];
        c.sort_by_key(|&(_, b)| std::cmp::Reverse(b));
        c
    }
}

/// The memory of every tile.
#[derive(Clone, Debug, PartialEq)]
pub struct MemoryReport {
    /// Per tile, in tile order (every tile of the target).
    pub tiles: Vec<TileBytes>,
    /// The target's bytes per tile.
    pub limit: u64,
}

fn round8(bytes: u64) -> u64 {
    bytes.div_ceil(8) * 8
}

impl MemoryReport {
    /// The fullest tile (the lowest-numbered among equals) and its bytes.
    pub fn max(&self) -> (u32, TileBytes) {
        let mut best = (0, TileBytes::default());
        for (t, b) in self.tiles.iter().enumerate() {
            if t == 0 || b.total() > best.1.total() {
                best = (t as u32, *b);
            }
        }
        best
    }

    /// The mean bytes over the tiles that hold anything.
    pub fn mean_used(&self) -> f64 {
        let used: Vec<u64> = self
            .tiles
            .iter()
            .map(TileBytes::total)
            .filter(|&b| b > 0)
            .collect();
        if used.is_empty() {
            0.0
        } else {
            used.iter().sum::<u64>() as f64 / used.len() as f64
        }
    }

    /// Tiles that hold anything.
    pub fn tiles_used(&self) -> usize {
        self.tiles.iter().filter(|b| b.total() > 0).count()
    }
}

/// A graph that does not fit its target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutOfMemory {
    /// The fullest tile.
    pub tile: u32,
    /// What it needs.
    pub needed: TileBytes,
    /// What it has.
    pub available: u64,
    /// Tiles over the limit.
    pub tiles_over: usize,
}

impl fmt::Display for OutOfMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.needed;
        write!(
            f,
            "tile {} needs {} bytes and has {} (estimate, docs/ipu-cost-model.md): {} tensor data, \
             {} vertex state, {} code ({} vertex type(s)), {} worker stacks, {} exchange buffers; \
             {} tile(s) are over. ",
            self.tile,
            b.total(),
            self.available,
            b.tensors,
            b.vertex_state,
            b.code,
            b.vertex_types,
            b.stacks,
            b.exchange,
            self.tiles_over
        )?;
        let (largest, _) = b.categories()[0];
        let specific = match largest {
            "code" => {
                "Put fewer vertex types on one tile (one model configuration, precision, \
                       parameter mode and surrogate per tile), or "
            }
            "exchange buffers" => "Copy less between tiles at once (split the copy), or ",
            "vertex state" => "Use fewer, larger vertices per tile, or ",
            _ => "",
        };
        write!(
            f,
            "Most of it is {largest}. {specific}use fewer time steps per pass (time chunking), \
             more tiles or IPUs, fp16 (half the bytes of every value), or a smaller batch"
        )
    }
}

impl std::error::Error for OutOfMemory {}

impl MemoryReport {
    /// The refusal when the fullest tile holds more than the limit.
    pub fn check(self) -> Result<MemoryReport, OutOfMemory> {
        let (tile, needed) = self.max();
        if needed.total() > self.limit {
            return Err(OutOfMemory {
                tile,
                needed,
                available: self.limit,
                tiles_over: self.tiles.iter().filter(|b| b.total() > self.limit).count(),
            });
        }
        Ok(self)
    }
}

impl fmt::Display for MemoryReport {
    /// The limit, the fullest tile with its categories, the mean over the
    /// tiles used.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (tile, max) = self.max();
        let percent = |b: f64| 100.0 * b / self.limit.max(1) as f64;
        writeln!(
            f,
            "memory per tile (estimate; docs/ipu-cost-model.md): limit {} bytes, {} of {} tiles used",
            self.limit,
            self.tiles_used(),
            self.tiles.len()
        )?;
        writeln!(
            f,
            "  max  {:>10} bytes ({:.1} %) on tile {tile}",
            max.total(),
            percent(max.total() as f64)
        )?;
        for (name, bytes) in [
            ("tensor data", max.tensors),
            ("vertex state", max.vertex_state),
            ("code", max.code),
            ("worker stacks", max.stacks),
            ("exchange buffers", max.exchange),
        ] {
            writeln!(f, "       {bytes:>10} {name}")?;
        }
        writeln!(
            f,
            "  mean {:>10.0} bytes ({:.1} %) over the tiles used",
            self.mean_used(),
            percent(self.mean_used())
        )
    }
}

impl Graph {
    /// What every tile holds, without a program (no exchange buffers); see
    /// [`Graph::memory_for`].
    pub fn memory(&self) -> MemoryReport {
        self.memory_for(&Program::Sequence(Vec::new()))
    }

    /// What every tile holds when the graph runs `program` (see the module
    /// documentation of `graph::memory`). Tensor intervals and vertices on
    /// tiles the target does not have are not counted (the validator
    /// refuses them).
    pub fn memory_for(&self, program: &Program) -> MemoryReport {
        let mut tiles = vec![TileBytes::default(); self.target.tiles as usize];
        for t in &self.tensors {
            for (tile, r) in &t.mapping {
                if let Some(b) = tiles.get_mut(*tile as usize) {
                    b.tensors += round8((r.len() * element_bytes(t.element)) as u64);
                }
            }
        }
        let mut types: BTreeMap<u32, BTreeSet<&str>> = BTreeMap::new();
        for cs in &self.compute_sets {
            for v in &cs.vertices {
                let Some(info) = emulator::vertex(&v.name) else {
                    continue;
                };
                let fields: u64 = info
                    .fields
                    .iter()
                    .map(|f| match f.layout {
                        Layout::Span => 8,
                        Layout::OnePtr => 4,
                    })
                    .sum();
                let state = round8(fields + 4 * info.members.len() as u64);
                if let Some(b) = tiles.get_mut(v.tile as usize) {
                    b.vertex_state += state;
                    types.entry(v.tile).or_default().insert(&v.name);
                }
            }
        }
        let workers = u64::from(self.target.workers);
        for (tile, names) in types {
            let b = &mut tiles[tile as usize];
            b.stacks = workers * STACK_BYTES_PER_WORKER;
            b.vertex_types = names.len() as u32;
            b.code = names.iter().map(|name| vertex_code_bytes(name)).sum();
        }
        let mut copies = Vec::new();
        collect_copies(program, &mut copies);
        for (from, to) in copies {
            for (b, (_, _, remote)) in tiles.iter_mut().zip(copy_bytes(self, from, to)) {
                b.exchange = b.exchange.max(round8(remote));
            }
        }
        MemoryReport {
            tiles,
            limit: self.target.bytes_per_tile,
        }
    }

    /// The memory report, or the refusal of a graph whose fullest tile
    /// holds more than the target's bytes per tile (no program: no
    /// exchange buffers; see [`Graph::check_memory_for`]).
    pub fn check_memory(&self) -> Result<MemoryReport, OutOfMemory> {
        self.memory().check()
    }

    /// [`Graph::check_memory`] with the exchange buffers of `program`'s
    /// copies.
    pub fn check_memory_for(&self, program: &Program) -> Result<MemoryReport, OutOfMemory> {
        self.memory_for(program).check()
    }
}

/// The code of one vertex type on a tile: `CODE_BYTES_PER_VERTEX_TYPE +
/// CODE_BYTES_PER_STATEMENT · (statements + callee statements)`.
pub fn vertex_code_bytes(name: &str) -> u64 {
    let statements = emulator::vertex(name).and_then(|v| v.cost).map_or(0, |c| {
        u64::from(c.statements) + u64::from(c.callee_statements)
    });
    CODE_BYTES_PER_VERTEX_TYPE + CODE_BYTES_PER_STATEMENT * statements
}

fn collect_copies<'p>(program: &'p Program, out: &mut Vec<(&'p super::Region, &'p super::Region)>) {
    match program {
        Program::Sequence(items) => items.iter().for_each(|p| collect_copies(p, out)),
        Program::Repeat(_, body) => collect_copies(body, out),
        Program::Copy { from, to } => out.push((from, to)),
        Program::Execute(_) | Program::StreamIn { .. } | Program::StreamOut { .. } => {}
    }
}

/// The memory report of `graph` running `program`, or its refusal, as text
/// for a command to print.
pub fn report_text(graph: &Graph, program: &Program) -> String {
    match graph.check_memory_for(program) {
        Ok(report) => report.to_string(),
        Err(e) => format!("{}does not fit: {e}\n", graph.memory_for(program)),
    }
}
