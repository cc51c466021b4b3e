//! The graph emulator: runs a validated [`Graph`]'s programs on this CPU.
//!
//! Every tensor's values live in host memory (the tiles' memories side by
//! side); `Execute` runs each vertex of the compute set through
//! [`emulator::run_vertex`], the generated C++ compiled for this CPU, on
//! its fields' regions; `Copy` copies elements; `StreamIn` and `StreamOut`
//! take and give the values of named host streams, in the order the
//! program runs them. A compute set's vertices write disjoint regions and
//! read nothing another one writes (the validator checks it), so running
//! them one after the other gives what the IPU's parallel run gives.

use std::collections::BTreeMap;
use std::fmt;

use snn_codelet_gen::{Direction, Element};
use snn_kernels::F16;

use super::{ComputeSet, Graph, GraphError, Program, Vertex};
use crate::emulator::{self, Buffer, EmulatorError, RunOptions};

/// A tensor's values.
#[derive(Clone, Debug, PartialEq)]
pub enum Values {
    /// `float` values.
    F32(Vec<f32>),
    /// `half` values.
    F16(Vec<F16>),
}

/// An element type's host values: into [`Values`] and back.
pub trait HostElement: crate::emulator::Element {
    /// `v` as values of this type.
    fn values(v: Vec<Self>) -> Values;
    /// The values if they are of this type.
    fn of(v: &Values) -> Option<&[Self]>;
}

impl HostElement for f32 {
    fn values(v: Vec<f32>) -> Values {
        Values::F32(v)
    }
    fn of(v: &Values) -> Option<&[f32]> {
        match v {
            Values::F32(v) => Some(v),
            Values::F16(_) => None,
        }
    }
}

impl HostElement for snn_kernels::F16 {
    fn values(v: Vec<snn_kernels::F16>) -> Values {
        Values::F16(v)
    }
    fn of(v: &Values) -> Option<&[snn_kernels::F16]> {
        match v {
            Values::F16(v) => Some(v),
            Values::F32(_) => None,
        }
    }
}

impl Values {
    fn zeros(element: Element, len: usize) -> Values {
        match element {
            Element::Float => Values::F32(vec![0.0; len]),
            Element::Half => Values::F16(vec![F16::from_f32(0.0); len]),
        }
    }

    fn slice(&self, r: &std::ops::Range<usize>) -> Values {
        match self {
            Values::F32(v) => Values::F32(v[r.clone()].to_vec()),
            Values::F16(v) => Values::F16(v[r.clone()].to_vec()),
        }
    }

    fn write(&mut self, at: usize, from: &Values) -> bool {
        match (self, from) {
            (Values::F32(v), Values::F32(f)) => v[at..at + f.len()].copy_from_slice(f),
            (Values::F16(v), Values::F16(f)) => v[at..at + f.len()].copy_from_slice(f),
            _ => return false,
        }
        true
    }

    /// The number of values.
    pub fn len(&self) -> usize {
        match self {
            Values::F32(v) => v.len(),
            Values::F16(v) => v.len(),
        }
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What went wrong running a program.
#[derive(Clone, Debug, PartialEq)]
pub enum RunError {
    /// The graph or program did not validate.
    Invalid(Vec<GraphError>),
    /// A vertex failed (its binding was refused or its compute failed).
    Vertex {
        /// The compute set.
        compute_set: String,
        /// The vertex's index in it.
        index: usize,
        /// What the emulator said.
        error: Box<EmulatorError>,
    },
    /// A stream had no values left, values of another type, or too few.
    Stream(String),
    /// A tensor given or asked for does not exist, or has another length or type.
    Tensor(String),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Invalid(errors) => {
                write!(f, "the graph is not valid:")?;
                for e in errors {
                    write!(f, "\n  {e}")?;
                }
                Ok(())
            }
            RunError::Vertex {
                compute_set,
                index,
                error,
            } => write!(f, "compute set `{compute_set}`, vertex {index}: {error}"),
            RunError::Stream(p) => write!(f, "stream {p}"),
            RunError::Tensor(p) => write!(f, "tensor {p}"),
        }
    }
}

impl std::error::Error for RunError {}

/// A graph with its tensors' values, ready to run programs.
pub struct Engine<'g> {
    graph: &'g Graph,
    memory: Vec<Values>,
    /// Values waiting in each host-to-device stream, consumed in order.
    streams_in: BTreeMap<String, Vec<Values>>,
    /// Every value pushed into each host-to-device stream, in order.
    pushed: BTreeMap<String, Vec<Values>>,
    /// Values each device-to-host stream gave, in order.
    streams_out: BTreeMap<String, Vec<Values>>,
    options: RunOptions,
    /// Threads that run a compute set's vertices (tiles) at once.
    threads: usize,
}

impl<'g> Engine<'g> {
    /// An engine for `graph` (every tensor zero) after checking it with
    /// `program` ([`Graph::validate`]).
    pub fn new(graph: &'g Graph, program: &Program) -> Result<Engine<'g>, RunError> {
        graph.validate(program).map_err(RunError::Invalid)?;
        Ok(Engine {
            graph,
            memory: graph
                .tensors
                .iter()
                .map(|t| Values::zeros(t.element, t.len))
                .collect(),
            streams_in: BTreeMap::new(),
            pushed: BTreeMap::new(),
            streams_out: BTreeMap::new(),
            options: RunOptions::default(),
            threads: 1,
        })
    }

    /// Runs a compute set's vertices on up to `threads` threads at once
    /// (at least 1). The results are the same on any number: each vertex
    /// reads and writes only its own regions (the validator checks that no
    /// vertex reads what another writes), and the outputs are written back
    /// in vertex order.
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// Runs every vertex with the worker-overlap check of the emulator.
    pub fn with_worker_overlap_check(mut self) -> Self {
        self.options.check_worker_overlap = true;
        self
    }

    fn find(&self, name: &str) -> Result<usize, RunError> {
        self.graph
            .tensors
            .iter()
            .position(|t| t.name == name)
            .ok_or_else(|| RunError::Tensor(format!("`{name}` does not exist")))
    }

    /// `engine.writeTensor(name, values)`: all of its values.
    pub fn write_tensor(&mut self, name: &str, values: Values) -> Result<(), RunError> {
        let k = self.find(name)?;
        let current = &mut self.memory[k];
        if current.len() != values.len() || !current.write(0, &values) {
            return Err(RunError::Tensor(format!(
                "`{name}` holds {} values of its type; {} of another length or type were given",
                current.len(),
                values.len()
            )));
        }
        Ok(())
    }

    /// `engine.readTensor(name)`.
    pub fn read_tensor(&self, name: &str) -> Result<&Values, RunError> {
        Ok(&self.memory[self.find(name)?])
    }

    /// Queues `values` on the host-to-device stream `stream`.
    pub fn push_stream(&mut self, stream: &str, values: Values) {
        self.pushed
            .entry(stream.to_string())
            .or_default()
            .push(values.clone());
        self.streams_in
            .entry(stream.to_string())
            .or_default()
            .push(values);
    }

    /// Every value pushed into the host-to-device stream `stream` so far,
    /// in order (consumed or not).
    pub fn stream_input_history(&self, stream: &str) -> &[Values] {
        self.pushed.get(stream).map_or(&[], Vec::as_slice)
    }

    /// What the device-to-host stream `stream` gave so far, in order.
    pub fn stream_output(&self, stream: &str) -> &[Values] {
        self.streams_out.get(stream).map_or(&[], Vec::as_slice)
    }

    /// Runs `program`: the one the engine was checked with, or another one
    /// over the same graph (the graph was validated by [`Engine::new`]; the
    /// program alone is checked here).
    pub fn run(&mut self, program: &Program) -> Result<(), RunError> {
        self.graph
            .validate_program(program)
            .map_err(RunError::Invalid)?;
        self.run_checked(program)
    }

    fn run_checked(&mut self, program: &Program) -> Result<(), RunError> {
        match program {
            Program::Sequence(items) => {
                for p in items {
                    self.run_checked(p)?;
                }
            }
            Program::Execute(cs) => self.execute(&self.graph.compute_sets[cs.0])?,
            Program::Repeat(count, body) => {
                for _ in 0..*count {
                    self.run_checked(body)?;
                }
            }
            Program::Copy { from, to } => {
                let values = self.memory[from.tensor.0].slice(&from.range);
                self.memory[to.tensor.0].write(to.range.start, &values);
            }
            Program::StreamIn { stream, to } => {
                let queue = self.streams_in.entry(stream.clone()).or_default();
                if queue.is_empty() {
                    return Err(RunError::Stream(format!("`{stream}` has no values left")));
                }
                let values = queue.remove(0);
                if values.len() != to.range.len()
                    || !self.memory[to.tensor.0].write(to.range.start, &values)
                {
                    return Err(RunError::Stream(format!(
                        "`{stream}`: {} values given, the region takes {} of tensor `{}`'s type",
                        values.len(),
                        to.range.len(),
                        self.graph.tensors[to.tensor.0].name
                    )));
                }
            }
            Program::StreamOut { from, stream } => {
                let values = self.memory[from.tensor.0].slice(&from.range);
                self.streams_out
                    .entry(stream.clone())
                    .or_default()
                    .push(values);
            }
        }
        Ok(())
    }

    /// Runs each vertex of `cs` on its regions of the tensors, in place,
    /// the vertices split over the engine's threads.
    fn execute(&mut self, cs: &ComputeSet) -> Result<(), RunError> {
        let vertices = &cs.vertices;
        let threads = self.threads.min(vertices.len()).max(1);
        let per = vertices.len().div_ceil(threads);
        let options = self.options;
        let bases: Vec<Base> = self.memory.iter_mut().map(Base::of).collect();
        let bases = &bases;
        let run_range = |first: usize, list: &[Vertex]| -> Result<(), RunError> {
            for (k, v) in list.iter().enumerate() {
                // SAFETY: see `run_in_place`: the graph was validated (every
                // region lies in its tensor; no region a vertex writes
                // overlaps another field of any vertex of this compute set),
                // and `self.memory` is not touched until every vertex ran.
                unsafe { run_in_place(bases, options, &cs.name, first + k, v)? };
            }
            Ok(())
        };
        if threads == 1 {
            return run_range(0, vertices);
        }
        std::thread::scope(|scope| {
            let handles: Vec<_> = vertices
                .chunks(per)
                .enumerate()
                .map(|(c, list)| scope.spawn(move || run_range(c * per, list)))
                .collect();
            let mut first_error = Ok(());
            for h in handles {
                let result = match h.join() {
                    Ok(result) => result,
                    Err(panic) => std::panic::resume_unwind(panic),
                };
                if first_error.is_ok() {
                    first_error = result;
                }
            }
            first_error
        })
    }
}

/// A tensor's values as a raw pointer and length, to hand regions to
/// vertices running on several threads.
#[derive(Clone, Copy)]
enum Base {
    F32(*mut f32, usize),
    F16(*mut F16, usize),
}

// SAFETY: a `Base` is only dereferenced by `run_in_place`, whose caller
// guarantees that no two threads touch overlapping elements where one
// writes.
unsafe impl Send for Base {}
// SAFETY: as above.
unsafe impl Sync for Base {}

impl Base {
    fn of(values: &mut Values) -> Base {
        match values {
            Values::F32(v) => Base::F32(v.as_mut_ptr(), v.len()),
            Values::F16(v) => Base::F16(v.as_mut_ptr(), v.len()),
        }
    }
}

/// Runs vertex `index` of compute set `cs_name` directly on its regions.
///
/// # Safety
/// Every region of `vertex` lies within its tensor (`bases`); the regions
/// it writes overlap none of its other fields, and no other vertex running
/// at the same time reads or writes them (what [`Graph::validate`] checks
/// for a compute set); the tensors outlive the call.
unsafe fn run_in_place(
    bases: &[Base],
    options: RunOptions,
    cs_name: &str,
    index: usize,
    vertex: &Vertex,
) -> Result<(), RunError> {
    let info = emulator::vertex(&vertex.name).expect("validated");
    let mut fields: Vec<(&str, Buffer<'_>)> = Vec::with_capacity(vertex.fields.len());
    for (name, region) in &vertex.fields {
        let writes = info
            .field(name)
            .is_some_and(|f| f.direction != Direction::Input);
        let (start, len) = (region.range.start, region.range.len());
        let buffer = match bases[region.tensor.0] {
            Base::F32(p, total) => {
                debug_assert!(start + len <= total);
                let p = p.add(start);
                if writes {
                    Buffer::F32Mut(std::slice::from_raw_parts_mut(p, len))
                } else {
                    Buffer::input(std::slice::from_raw_parts(p as *const f32, len))
                }
            }
            Base::F16(p, total) => {
                debug_assert!(start + len <= total);
                let p = p.add(start);
                if writes {
                    Buffer::output(std::slice::from_raw_parts_mut(p, len))
                } else {
                    Buffer::input(std::slice::from_raw_parts(p as *const F16, len))
                }
            }
        };
        fields.push((name.as_str(), buffer));
    }
    let members: Vec<(&str, _)> = vertex
        .members
        .iter()
        .map(|(n, v)| (n.as_str(), *v))
        .collect();
    emulator::run_vertex(&vertex.name, &mut fields, &members, options).map_err(|error| {
        RunError::Vertex {
            compute_set: cs_name.to_string(),
            index,
            error: Box::new(error),
        }
    })
}
