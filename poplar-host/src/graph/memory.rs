//! Memory per tile: what a graph's tensors and vertices take on each tile,
//! and the refusal of a graph that does not fit.
//!
//! What is counted, per tile (an estimate of the layout Poplar builds):
//!
//! - **tensors**: each interval mapped to the tile, its elements' bytes
//!   rounded up to 8 (every interval starts 8-byte aligned, see the module
//!   documentation of [`super`]);
//! - **vertex state**: per vertex instance on the tile, 8 bytes for each
//!   `SPAN` field (a 32-bit pointer and a 32-bit size), 4 for each
//!   `ONE_PTR` field and 4 for each member, rounded up to 8.
//!
//! Not counted yet (stated in every report): the vertices' code, the
//! workers' stacks and the exchange buffers.

use std::fmt;

use snn_codelet_gen::Layout;

use super::{element_bytes, Graph};
use crate::emulator;

/// The bytes of one tile, by what takes them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TileBytes {
    /// Tensor data.
    pub tensors: u64,
    /// Vertex state (field pointers and sizes, members).
    pub vertex_state: u64,
}

impl TileBytes {
    /// All of it.
    pub fn total(&self) -> u64 {
        self.tensors + self.vertex_state
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
    /// The fullest tile and its bytes.
    pub fn max(&self) -> (u32, TileBytes) {
        self.tiles
            .iter()
            .enumerate()
            .max_by_key(|(_, b)| b.total())
            .map_or((0, TileBytes::default()), |(t, b)| (t as u32, *b))
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
        write!(
            f,
            "tile {} needs {} bytes and has {} ({} tensor data, {} vertex state; code, stacks and \
             exchange buffers not counted); {} tile(s) are over. Use fewer time steps per pass \
             (time chunking), more tiles or IPUs, fp16, or a smaller batch",
            self.tile,
            self.needed.total(),
            self.available,
            self.needed.tensors,
            self.needed.vertex_state,
            self.tiles_over
        )
    }
}

impl std::error::Error for OutOfMemory {}

impl Graph {
    /// What every tile holds (see the module documentation of
    /// `graph::memory`). Tensor intervals and vertices on
    /// tiles the target does not have are not counted (the validator
    /// refuses them).
    pub fn memory(&self) -> MemoryReport {
        let mut tiles = vec![TileBytes::default(); self.target.tiles as usize];
        for t in &self.tensors {
            for (tile, r) in &t.mapping {
                if let Some(b) = tiles.get_mut(*tile as usize) {
                    b.tensors += round8((r.len() * element_bytes(t.element)) as u64);
                }
            }
        }
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
                }
            }
        }
        MemoryReport {
            tiles,
            limit: self.target.bytes_per_tile,
        }
    }

    /// The memory report, or the refusal of a graph whose fullest tile
    /// holds more than the target's bytes per tile.
    pub fn check_memory(&self) -> Result<MemoryReport, OutOfMemory> {
        let report = self.memory();
        let (tile, needed) = report.max();
        if needed.total() > report.limit {
            return Err(OutOfMemory {
                tile,
                needed,
                available: report.limit,
                tiles_over: report
                    .tiles
                    .iter()
                    .filter(|b| b.total() > report.limit)
                    .count(),
            });
        }
        Ok(report)
    }
}
