//! An IPU graph, in Rust, named as Poplar names things: tensors with a
//! tile mapping, compute sets of vertex instances whose fields are
//! connected to tensor regions and whose members are set, and programs
//! (sequence, execute, repeat, copy, host streams).
//!
//! [`Graph::validate`] checks what Poplar (or the IPU) would otherwise
//! reject or get wrong: every element of every tensor mapped to exactly one
//! tile; every vertex a generated one (`emulator::vertex`), every field
//! connected and every member set, with the lengths and the alignment its
//! definition asks for; each vertex's data on its own tile; no region
//! written by two vertices of one compute set, nor read by one while
//! another writes it; and for `half` tensors no 32-bit word written by two
//! vertices of one compute set (a 16-bit store is a read-modify-write of
//! its word).
//!
//! Memory layout, as this module defines it: on each tile, a tensor's
//! intervals are stored one after the other in the order of their first
//! element, the first at an 8-byte aligned address. A field's region must
//! lie in one interval; its address is then the interval's plus its
//! offset, which gives its alignment.
//!
//! [`run::Engine`] runs a validated graph's programs on this CPU (the graph
//! emulator); [`cost`] estimates a program's cycles and [`memory`] each
//! tile's bytes (estimates, `docs/ipu-cost-model.md`). Building layers
//! comes on top of these.

pub mod cost;
pub mod memory;
pub mod run;
pub mod target;

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use snn_codelet_gen::{Direction, Element, MemberRole, MemberType, VertexInfo};

use crate::emulator::{self, MemberValue};
pub use target::Target;

/// A tensor of a [`Graph`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TensorId(usize);

/// A compute set of a [`Graph`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ComputeSetId(usize);

impl ComputeSetId {
    /// Its position in [`Graph::compute_sets`] (the order added).
    pub fn index(self) -> usize {
        self.0
    }
}

/// A vertex instance of a [`Graph`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VertexId {
    compute_set: usize,
    index: usize,
}

/// Elements `range` of a tensor, in its flat row-major order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Region {
    /// The tensor.
    pub tensor: TensorId,
    /// The elements.
    pub range: Range<usize>,
}

impl TensorId {
    /// Its position in [`Graph::tensors`] (the order added).
    pub fn index(self) -> usize {
        self.0
    }

    /// Elements `range` of this tensor.
    pub fn region(self, range: Range<usize>) -> Region {
        Region {
            tensor: self,
            range,
        }
    }
}

/// A tensor's description.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    /// Its name.
    pub name: String,
    /// `float` or `half`.
    pub element: Element,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Elements (the product of the shape).
    pub len: usize,
    /// Tile mapping: `(tile, elements)` intervals, in the order set.
    pub mapping: Vec<(u32, Range<usize>)>,
}

/// A vertex instance.
#[derive(Clone, Debug, PartialEq)]
pub struct Vertex {
    /// The generated vertex (`snn::LeakyFwdSeq<float,snn::subtract,snn::scalar>`).
    pub name: String,
    /// The tile it runs on.
    pub tile: u32,
    /// Connected fields.
    pub fields: BTreeMap<String, Region>,
    /// Members set.
    pub members: BTreeMap<String, MemberValue>,
}

/// A compute set: vertices that run together.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ComputeSet {
    /// Its name.
    pub name: String,
    /// Its vertices.
    pub vertices: Vec<Vertex>,
}

/// A program, as `poplar::program` builds them.
#[derive(Clone, Debug, PartialEq)]
pub enum Program {
    /// `Sequence{...}`: each in order.
    Sequence(Vec<Program>),
    /// `Execute(cs)`.
    Execute(ComputeSetId),
    /// `Repeat(count, body)`.
    Repeat(u32, Box<Program>),
    /// `Copy(from, to)` between two regions of the same length and type.
    Copy {
        /// Source.
        from: Region,
        /// Destination.
        to: Region,
    },
    /// `Copy(stream, to)`: a host-to-device stream into a region.
    StreamIn {
        /// The stream's handle.
        stream: String,
        /// Destination.
        to: Region,
    },
    /// `Copy(from, stream)`: a region out to a device-to-host stream.
    StreamOut {
        /// Source.
        from: Region,
        /// The stream's handle.
        stream: String,
    },
}

/// What is wrong with a graph, named so that it can be fixed.
#[derive(Clone, Debug, PartialEq)]
pub enum GraphError {
    /// A target that cannot exist.
    BadTarget(String),
    /// A tensor that cannot be added or mapped.
    Tensor {
        /// Its name.
        tensor: String,
        /// The problem.
        problem: String,
    },
    /// A vertex that cannot be added, connected or set, or is incomplete.
    Vertex {
        /// `compute set / vertex index: name on tile t`.
        vertex: String,
        /// The problem.
        problem: String,
    },
    /// Two vertices of one compute set in conflict.
    Race {
        /// The compute set.
        compute_set: String,
        /// The problem.
        problem: String,
    },
    /// A program that refers to what is not there, or copies between
    /// regions that do not match.
    Program(String),
    /// A graph that does not fit the target's tile memory, however split.
    Memory(String),
}

impl fmt::Display for GraphError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GraphError::BadTarget(p) => write!(f, "target {p}"),
            GraphError::Tensor { tensor, problem } => write!(f, "tensor `{tensor}`: {problem}"),
            GraphError::Vertex { vertex, problem } => write!(f, "vertex {vertex}: {problem}"),
            GraphError::Race {
                compute_set,
                problem,
            } => write!(f, "compute set `{compute_set}`: {problem}"),
            GraphError::Program(p) => write!(f, "program: {p}"),
            GraphError::Memory(p) => write!(f, "memory: {p}"),
        }
    }
}

impl std::error::Error for GraphError {}

/// Bytes of one element.
pub fn element_bytes(element: Element) -> usize {
    match element {
        Element::Float => 4,
        Element::Half => 2,
    }
}

/// At most this many elements per tensor (Poplar's sizes are 32-bit per
/// tile; 2^31 keeps every offset a signed 32-bit index).
pub const MAX_TENSOR_ELEMENTS: usize = 1 << 31;

/// An IPU graph (see the module documentation).
#[derive(Clone, Debug)]
pub struct Graph {
    target: Target,
    tensors: Vec<Tensor>,
    compute_sets: Vec<ComputeSet>,
}

impl Graph {
    /// An empty graph for `target`.
    pub fn new(target: Target) -> Graph {
        Graph {
            target,
            tensors: Vec::new(),
            compute_sets: Vec::new(),
        }
    }

    /// Its target.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// Its tensors, in the order added.
    pub fn tensors(&self) -> &[Tensor] {
        &self.tensors
    }

    /// The tensor `id`.
    pub fn tensor(&self, id: TensorId) -> &Tensor {
        &self.tensors[id.0]
    }

    /// The tensor named `name`.
    pub fn find_tensor(&self, name: &str) -> Option<TensorId> {
        self.tensors
            .iter()
            .position(|t| t.name == name)
            .map(TensorId)
    }

    /// Its compute sets, in the order added.
    pub fn compute_sets(&self) -> &[ComputeSet] {
        &self.compute_sets
    }

    /// `graph.addVariable(type, shape, name)`: a new, unmapped tensor.
    pub fn add_variable(
        &mut self,
        element: Element,
        shape: &[usize],
        name: &str,
    ) -> Result<TensorId, GraphError> {
        let len = shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .filter(|&n| n <= MAX_TENSOR_ELEMENTS);
        let Some(len) = len else {
            return Err(GraphError::Tensor {
                tensor: name.into(),
                problem: format!("shape {shape:?} holds more than 2^31 elements"),
            });
        };
        if self.tensors.iter().any(|t| t.name == name) {
            return Err(GraphError::Tensor {
                tensor: name.into(),
                problem: "a tensor of this name exists".into(),
            });
        }
        self.tensors.push(Tensor {
            name: name.into(),
            element,
            shape: shape.to_vec(),
            len,
            mapping: Vec::new(),
        });
        Ok(TensorId(self.tensors.len() - 1))
    }

    /// `graph.setTileMapping(t.slice(elements), tile)`.
    pub fn set_tile_mapping(
        &mut self,
        tensor: TensorId,
        elements: Range<usize>,
        tile: u32,
    ) -> Result<(), GraphError> {
        let tiles = self.target.tiles;
        let t = &mut self.tensors[tensor.0];
        let problem = if tile >= tiles {
            Some(format!(
                "tile {tile} does not exist (the target has {tiles})"
            ))
        } else if elements.start >= elements.end || elements.end > t.len {
            Some(format!(
                "elements {elements:?} are not a non-empty range of its {}",
                t.len
            ))
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(GraphError::Tensor {
                tensor: t.name.clone(),
                problem,
            });
        }
        t.mapping.push((tile, elements));
        Ok(())
    }

    /// `poputil::mapTensorLinearly(graph, t, minElementsPerTile, grain)`:
    /// consecutive intervals of whole grains, as even as the grains allow,
    /// on tiles 0, 1, ..., each at least `min_per_tile` elements (but the
    /// last), using as many tiles as that allows. Returns the tiles used.
    pub fn map_linearly(
        &mut self,
        tensor: TensorId,
        grain: usize,
        min_per_tile: usize,
    ) -> Result<u32, GraphError> {
        let len = self.tensors[tensor.0].len;
        if grain == 0 || len == 0 {
            return Err(GraphError::Tensor {
                tensor: self.tensors[tensor.0].name.clone(),
                problem: format!("cannot map {len} elements in grains of {grain}"),
            });
        }
        let grains = len.div_ceil(grain);
        let min_grains = min_per_tile.div_ceil(grain).max(1);
        let tiles = (self.target.tiles as usize).min(grains / min_grains).max(1);
        let (per_tile, extra) = (grains / tiles, grains % tiles);
        let mut start = 0;
        for tile in 0..tiles {
            let count = per_tile + usize::from(tile < extra);
            let end = ((start / grain + count) * grain).min(len);
            self.set_tile_mapping(tensor, start..end, tile as u32)?;
            start = end;
        }
        Ok(tiles as u32)
    }

    /// `graph.addComputeSet(name)`.
    pub fn add_compute_set(&mut self, name: &str) -> ComputeSetId {
        self.compute_sets.push(ComputeSet {
            name: name.into(),
            vertices: Vec::new(),
        });
        ComputeSetId(self.compute_sets.len() - 1)
    }

    /// `graph.addVertex(cs, name)` with `graph.setTileMapping(v, tile)`:
    /// `name` must be a generated vertex.
    pub fn add_vertex(
        &mut self,
        compute_set: ComputeSetId,
        name: &str,
        tile: u32,
    ) -> Result<VertexId, GraphError> {
        let cs = &self.compute_sets[compute_set.0];
        let label = format!("{}/{}: {name}", cs.name, cs.vertices.len());
        if emulator::vertex(name).is_none() {
            return Err(GraphError::Vertex {
                vertex: label,
                problem: "no generated vertex has this name (see manifest.json)".into(),
            });
        }
        if tile >= self.target.tiles {
            return Err(GraphError::Vertex {
                vertex: label,
                problem: format!(
                    "tile {tile} does not exist (the target has {})",
                    self.target.tiles
                ),
            });
        }
        let cs = &mut self.compute_sets[compute_set.0];
        cs.vertices.push(Vertex {
            name: name.into(),
            tile,
            fields: BTreeMap::new(),
            members: BTreeMap::new(),
        });
        Ok(VertexId {
            compute_set: compute_set.0,
            index: cs.vertices.len() - 1,
        })
    }

    fn label(&self, v: VertexId) -> String {
        let cs = &self.compute_sets[v.compute_set];
        let vertex = &cs.vertices[v.index];
        format!(
            "{}/{}: {} on tile {}",
            cs.name, v.index, vertex.name, vertex.tile
        )
    }

    fn info(&self, v: VertexId) -> &'static VertexInfo {
        let name = &self.compute_sets[v.compute_set].vertices[v.index].name;
        emulator::vertex(name).expect("add_vertex checked the name")
    }

    /// `graph.connect(v[field], region)`: the field must exist, be of the
    /// region's element type, and not be connected yet.
    pub fn connect(&mut self, v: VertexId, field: &str, region: Region) -> Result<(), GraphError> {
        let info = self.info(v);
        let error = |problem: String| GraphError::Vertex {
            vertex: self.label(v),
            problem,
        };
        let Some(f) = info.field(field) else {
            return Err(error(format!("has no field `{field}`")));
        };
        let t = &self.tensors[region.tensor.0];
        if t.element != f.element {
            return Err(error(format!(
                "field `{field}` holds {:?}, tensor `{}` {:?}",
                f.element, t.name, t.element
            )));
        }
        if region.range.start > region.range.end || region.range.end > t.len {
            return Err(error(format!(
                "field `{field}`: elements {:?} are not within tensor `{}` ({} elements)",
                region.range, t.name, t.len
            )));
        }
        let vertex = &self.compute_sets[v.compute_set].vertices[v.index];
        if vertex.fields.contains_key(field) {
            return Err(error(format!("field `{field}` is connected twice")));
        }
        self.compute_sets[v.compute_set].vertices[v.index]
            .fields
            .insert(field.into(), region);
        Ok(())
    }

    /// `graph.setInitialValue(v[member], value)`: the member must exist and
    /// have the value's type.
    pub fn set_initial_value(
        &mut self,
        v: VertexId,
        member: &str,
        value: MemberValue,
    ) -> Result<(), GraphError> {
        let info = self.info(v);
        let error = |problem: String| GraphError::Vertex {
            vertex: self.label(v),
            problem,
        };
        let Some(m) = info.member(member) else {
            return Err(error(format!("has no member `{member}`")));
        };
        let fits = matches!(
            (m.ty, value),
            (MemberType::Float, MemberValue::Float(_))
                | (MemberType::Half, MemberValue::Half(_))
                | (MemberType::Unsigned, MemberValue::Unsigned(_))
        );
        if !fits {
            return Err(error(format!(
                "member `{member}` is {:?}, the value {value:?}",
                m.ty
            )));
        }
        self.compute_sets[v.compute_set].vertices[v.index]
            .members
            .insert(member.into(), value);
        Ok(())
    }

    /// Checks the whole graph and `program` (see the module
    /// documentation); every problem found, in a stable order.
    pub fn validate(&self, program: &Program) -> Result<(), Vec<GraphError>> {
        let mut errors = Vec::new();
        for t in &self.tensors {
            if let Err(e) = self.check_mapping(t) {
                errors.push(e);
            }
        }
        // vertices only once the mapping is sound: their checks read it
        if errors.is_empty() {
            for (c, cs) in self.compute_sets.iter().enumerate() {
                for index in 0..cs.vertices.len() {
                    let v = VertexId {
                        compute_set: c,
                        index,
                    };
                    errors.extend(self.check_vertex(v));
                }
                errors.extend(self.check_races(cs));
            }
        }
        self.check_program(program, &mut errors);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Every element mapped to exactly one tile; `half` intervals start at
    /// even elements (whole 32-bit words).
    fn check_mapping(&self, t: &Tensor) -> Result<(), GraphError> {
        let error = |problem: String| GraphError::Tensor {
            tensor: t.name.clone(),
            problem,
        };
        let mut intervals: Vec<&(u32, Range<usize>)> = t.mapping.iter().collect();
        intervals.sort_by_key(|(_, r)| r.start);
        let mut next = 0;
        for (tile, r) in intervals {
            if r.start < next {
                return Err(error(format!(
                    "element {} is mapped twice (again to tile {tile})",
                    r.start
                )));
            }
            if r.start > next {
                return Err(error(format!(
                    "elements {next}..{} are not mapped to a tile",
                    r.start
                )));
            }
            if t.element == Element::Half && r.start % 2 != 0 {
                return Err(error(format!(
                    "the interval on tile {tile} starts at element {}: half intervals start at \
                     even elements, so that no 32-bit word spans two tiles",
                    r.start
                )));
            }
            next = r.end;
        }
        if next < t.len {
            return Err(error(format!(
                "elements {next}..{} are not mapped to a tile",
                t.len
            )));
        }
        Ok(())
    }

    /// The interval of `region` on `tile`, when the region lies in one.
    fn interval_on(&self, region: &Region, tile: u32) -> Option<&Range<usize>> {
        self.tensors[region.tensor.0]
            .mapping
            .iter()
            .find(|(t, r)| *t == tile && r.start <= region.range.start && region.range.end <= r.end)
            .map(|(_, r)| r)
    }

    fn check_vertex(&self, v: VertexId) -> Vec<GraphError> {
        let info = self.info(v);
        let vertex = &self.compute_sets[v.compute_set].vertices[v.index];
        let mut problems = Vec::new();
        for f in &info.fields {
            if !vertex.fields.contains_key(&f.name) {
                problems.push(format!("field `{}` is not connected", f.name));
            }
        }
        for m in &info.members {
            if !vertex.members.contains_key(&m.name) {
                problems.push(format!("member `{}` is not set", m.name));
            }
        }
        if problems.is_empty() {
            let n = vertex.fields[&info.elements_field().name].range.len();
            let size = |role: MemberRole| match info.member_with(role) {
                Some(m) => match vertex.members[&m.name] {
                    MemberValue::Unsigned(s) => Some(s as usize),
                    _ => None,
                },
                None => (role == MemberRole::Steps).then_some(1),
            };
            let steps = size(MemberRole::Steps).unwrap_or(1);
            if n == 0 || n % info.element_multiple as usize != 0 {
                problems.push(format!(
                    "{n} elements (from `{}`): needs a positive multiple of {}",
                    info.elements_field().name,
                    info.element_multiple
                ));
            }
            for f in &info.fields {
                let region = &vertex.fields[&f.name];
                let t = &self.tensors[region.tensor.0];
                match f.length.resolve(n, &size) {
                    Some(len) if len == region.range.len() => {}
                    Some(len) => problems.push(format!(
                        "field `{}` needs {len} elements ({} with n = {n}, steps = {steps}), \
                         tensor `{}` gives {}",
                        f.name,
                        f.length,
                        t.name,
                        region.range.len()
                    )),
                    None => problems.push(format!("field `{}`: its length overflows", f.name)),
                }
                match self.interval_on(region, vertex.tile) {
                    None => problems.push(format!(
                        "field `{}`: elements {:?} of tensor `{}` are not all in one interval \
                         mapped to tile {}",
                        f.name, region.range, t.name, vertex.tile
                    )),
                    Some(interval) => {
                        let offset =
                            (region.range.start - interval.start) * element_bytes(t.element);
                        if offset % f.alignment as usize != 0 {
                            problems.push(format!(
                                "field `{}` must be {}-byte aligned; tensor `{}` element {} is at \
                                 byte {offset} of its interval on tile {}",
                                f.name, f.alignment, t.name, region.range.start, vertex.tile
                            ));
                        }
                    }
                }
            }
        }
        problems
            .into_iter()
            .map(|problem| GraphError::Vertex {
                vertex: self.label(v),
                problem,
            })
            .collect()
    }

    /// No region written by two vertices, or read by one while another
    /// writes it; for `half`, no 32-bit word written by two; no vertex
    /// whose written field overlaps another of its fields.
    fn check_races(&self, cs: &ComputeSet) -> Vec<GraphError> {
        // (tensor, start, end, vertex, writes)
        let mut uses: Vec<(TensorId, usize, usize, usize, bool, &str)> = Vec::new();
        for (k, vertex) in cs.vertices.iter().enumerate() {
            let Some(info) = emulator::vertex(&vertex.name) else {
                continue;
            };
            for (name, region) in &vertex.fields {
                let writes = info
                    .field(name)
                    .is_some_and(|f| f.direction != Direction::Input);
                let t = &self.tensors[region.tensor.0];
                // a half write touches whole 32-bit words
                let (start, end) = if writes && t.element == Element::Half {
                    (region.range.start / 2 * 2, region.range.end.div_ceil(2) * 2)
                } else {
                    (region.range.start, region.range.end)
                };
                if start < end {
                    uses.push((region.tensor, start, end, k, writes, name));
                }
            }
        }
        uses.sort();
        let mut errors = Vec::new();
        for (i, a) in uses.iter().enumerate() {
            for b in &uses[i + 1..] {
                if b.0 != a.0 || b.1 >= a.2 {
                    break;
                }
                if !(a.4 || b.4) {
                    continue;
                }
                let t = &self.tensors[a.0 .0];
                if a.3 == b.3 {
                    // the IPU would read what the vertex itself writes, the
                    // emulator (each field its own buffer) would not
                    errors.push(GraphError::Race {
                        compute_set: cs.name.clone(),
                        problem: format!(
                            "vertex {} connects `{}` and `{}` to overlapping elements {}..{} of \
                             tensor `{}`, one of them written; give them separate regions",
                            a.3,
                            a.5,
                            b.5,
                            b.1.max(a.1),
                            a.2.min(b.2),
                            t.name
                        ),
                    });
                    continue;
                }
                let what = if a.4 && b.4 {
                    "both write"
                } else {
                    "one writes what the other reads:"
                };
                let words = if t.element == Element::Half && a.4 && b.4 {
                    " (32-bit words of half values)"
                } else {
                    ""
                };
                errors.push(GraphError::Race {
                    compute_set: cs.name.clone(),
                    problem: format!(
                        "vertices {} (`{}`) and {} (`{}`) {what} elements {}..{} of tensor `{}`{words}",
                        a.3,
                        a.5,
                        b.3,
                        b.5,
                        b.1.max(a.1),
                        a.2.min(b.2),
                        t.name
                    ),
                });
            }
        }
        errors
    }

    /// Checks `program` alone against this graph: what it refers to exists
    /// and its copies match (the part of [`Graph::validate`] that depends
    /// on the program).
    pub fn validate_program(&self, program: &Program) -> Result<(), Vec<GraphError>> {
        let mut errors = Vec::new();
        self.check_program(program, &mut errors);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    fn check_program(&self, program: &Program, errors: &mut Vec<GraphError>) {
        let region_ok = |r: &Region, what: &str, errors: &mut Vec<GraphError>| match self
            .tensors
            .get(r.tensor.0)
        {
            Some(t) if r.range.start <= r.range.end && r.range.end <= t.len => {}
            Some(t) => errors.push(GraphError::Program(format!(
                "{what}: elements {:?} are not within tensor `{}` ({} elements)",
                r.range, t.name, t.len
            ))),
            None => errors.push(GraphError::Program(format!("{what}: no such tensor"))),
        };
        match program {
            Program::Sequence(items) => {
                for p in items {
                    self.check_program(p, errors);
                }
            }
            Program::Execute(cs) => {
                if cs.0 >= self.compute_sets.len() {
                    errors.push(GraphError::Program(format!(
                        "Execute: no compute set {}",
                        cs.0
                    )));
                }
            }
            Program::Repeat(_, body) => self.check_program(body, errors),
            Program::Copy { from, to } => {
                region_ok(from, "Copy source", errors);
                region_ok(to, "Copy destination", errors);
                if let (Some(a), Some(b)) = (
                    self.tensors.get(from.tensor.0),
                    self.tensors.get(to.tensor.0),
                ) {
                    if from.range.len() != to.range.len() || a.element != b.element {
                        errors.push(GraphError::Program(format!(
                            "Copy from `{}` ({} {:?}) to `{}` ({} {:?}): lengths and types must match",
                            a.name,
                            from.range.len(),
                            a.element,
                            b.name,
                            to.range.len(),
                            b.element
                        )));
                    }
                }
            }
            Program::StreamIn { to, stream } => {
                region_ok(to, &format!("stream `{stream}`"), errors)
            }
            Program::StreamOut { from, stream } => {
                region_ok(from, &format!("stream `{stream}`"), errors)
            }
        }
    }
}
