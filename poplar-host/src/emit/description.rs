//! The graph description (`graph.txt`): a versioned text format for a
//! [`Graph`], its [`Program`] and the index of the data file, written here
//! and read by the C++ host program (`cpp/host/graph_runner.hpp`) and by
//! [`parse`].
//!
//! Whitespace-separated tokens; `#` starts a comment to the end of the line.
//! Names (target, tensors, compute sets, vertex types, fields, members,
//! streams) are single tokens: printable ASCII without spaces or `#`.
//! `docs/poplar.md` gives the grammar; in short:
//!
//! ```text
//! snn-ipu-graph 1
//! target <name> tiles <T> workers <W> bytes_per_tile <B> clock_hz <f64>
//! tensors <count>
//! tensor <float|half> <name> <rank> <dims...> <intervals>   then per interval:
//!   map <tile> <start> <end>
//! compute_sets <count>
//! compute_set <name> <vertices>                             then per vertex:
//!   vertex <type> <tile> <fields> <members>
//!   field <name> <tensor> <start> <end>
//!   member <name> float <0x bits> | half <0x bits> | unsigned <n>
//! program <node>       node: sequence <n> <node>*n | execute <cs> | repeat <count> <node>
//!                            | copy <tensor> <start> <end> <tensor> <start> <end>
//!                            | stream_in <stream> <tensor> <start> <end>
//!                            | stream_out <tensor> <start> <end> <stream>
//! data <bytes of data.bin> <entries>                        then per entry:
//!   write <tensor> <offset> | zero <tensor>
//!   push <stream> <float|half> <count> <offset>
//!   read <tensor> <offset|->
//!   pop <stream> <float|half> <count> <offset|->
//! end
//! ```
//!
//! Tensors and compute sets are referred to by their position (from 0);
//! element ranges are `start end` (end excluded) in the tensor's flat
//! row-major order; offsets are bytes of `data.bin`, little-endian
//! binary32 or binary16 values.

use std::fmt::Write as _;

use snn_codelet_gen::Element;
use snn_kernels::F16;

use crate::emulator::MemberValue;
use crate::graph::{ComputeSetId, Graph, GraphError, Program, Region, Target, TensorId};

/// The first token of a description.
pub const FORMAT: &str = "snn-ipu-graph";
/// The version this crate writes and reads.
pub const VERSION: u32 = 1;
/// Programs nest at most this deep (sequences and repeats).
pub const MAX_DEPTH: usize = 200;

/// One entry of the data index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DataEntry {
    /// Before the run, all of tensor `tensor`'s values from `offset`.
    Write {
        /// The tensor's position.
        tensor: usize,
        /// Byte offset in `data.bin`.
        offset: u64,
    },
    /// Before the run, tensor `tensor` set to zeros.
    Zero {
        /// The tensor's position.
        tensor: usize,
    },
    /// The next `count` values of host-to-device stream `stream`.
    Push {
        /// The stream.
        stream: String,
        /// Its element type.
        element: Element,
        /// Values.
        count: u64,
        /// Byte offset in `data.bin`.
        offset: u64,
    },
    /// After the run, tensor `tensor` is read (and compared with the values
    /// at `expected`, when given).
    Read {
        /// The tensor's position.
        tensor: usize,
        /// Byte offset of the expected values.
        expected: Option<u64>,
    },
    /// The next `count` values device-to-host stream `stream` gives (and
    /// the values expected, when given).
    Pop {
        /// The stream.
        stream: String,
        /// Its element type.
        element: Element,
        /// Values.
        count: u64,
        /// Byte offset of the expected values.
        expected: Option<u64>,
    },
}

/// A description read back: the graph rebuilt through the [`Graph`] API
/// (so every check of `add_variable`, `connect` ... ran), its program and
/// the data index.
#[derive(Clone, Debug)]
pub struct Parsed {
    /// The graph.
    pub graph: Graph,
    /// Its program.
    pub program: Program,
    /// The length of `data.bin`.
    pub data_bytes: u64,
    /// The data index, in order.
    pub data: Vec<DataEntry>,
}

/// A description that cannot be read: where and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// The line (from 1; 0 at the end of the text).
    pub line: usize,
    /// The problem.
    pub problem: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            write!(f, "graph description, at the end: {}", self.problem)
        } else {
            write!(f, "graph description, line {}: {}", self.line, self.problem)
        }
    }
}

impl std::error::Error for ParseError {}

/// True when `name` can be written as one token.
pub fn is_token(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && b != b'#')
}

fn element_name(e: Element) -> &'static str {
    match e {
        Element::Float => "float",
        Element::Half => "half",
    }
}

fn write_region(out: &mut String, r: &Region) {
    let _ = write!(
        out,
        "{} {} {}",
        r.tensor.index(),
        r.range.start,
        r.range.end
    );
}

fn write_program(out: &mut String, p: &Program, depth: usize) {
    let indent = "  ".repeat(depth);
    out.push_str(&indent);
    match p {
        Program::Sequence(items) => {
            let _ = writeln!(out, "sequence {}", items.len());
            for item in items {
                write_program(out, item, depth + 1);
            }
        }
        Program::Execute(cs) => {
            let _ = writeln!(out, "execute {}", cs.index());
        }
        Program::Repeat(count, body) => {
            let _ = writeln!(out, "repeat {count}");
            write_program(out, body, depth + 1);
        }
        Program::Copy { from, to } => {
            out.push_str("copy ");
            write_region(out, from);
            out.push(' ');
            write_region(out, to);
            out.push('\n');
        }
        Program::StreamIn { stream, to } => {
            let _ = write!(out, "stream_in {stream} ");
            write_region(out, to);
            out.push('\n');
        }
        Program::StreamOut { from, stream } => {
            out.push_str("stream_out ");
            write_region(out, from);
            let _ = writeln!(out, " {stream}");
        }
    }
}

/// The description of `graph`, `program` and the data index. The caller
/// has checked the names ([`is_token`]) and the program's depth.
pub(crate) fn write(
    graph: &Graph,
    program: &Program,
    data_bytes: u64,
    data: &[DataEntry],
) -> String {
    let mut out = String::new();
    let t = graph.target();
    let _ = writeln!(
        out,
        "{FORMAT} {VERSION}\n# An IPU graph written by snn-ipu (snn_poplar_host::emit); see docs/poplar.md.\n\
         target {} tiles {} workers {} bytes_per_tile {} clock_hz {}",
        t.name, t.tiles, t.workers, t.bytes_per_tile, t.clock_hz
    );
    let _ = writeln!(out, "tensors {}", graph.tensors().len());
    for (k, tensor) in graph.tensors().iter().enumerate() {
        let _ = write!(
            out,
            "tensor {} {} {}",
            element_name(tensor.element),
            tensor.name,
            tensor.shape.len()
        );
        for d in &tensor.shape {
            let _ = write!(out, " {d}");
        }
        let _ = writeln!(out, " {}  # tensor {k}", tensor.mapping.len());
        for (tile, r) in &tensor.mapping {
            let _ = writeln!(out, "  map {tile} {} {}", r.start, r.end);
        }
    }
    let _ = writeln!(out, "compute_sets {}", graph.compute_sets().len());
    for (k, cs) in graph.compute_sets().iter().enumerate() {
        let _ = writeln!(
            out,
            "compute_set {} {}  # compute set {k}",
            cs.name,
            cs.vertices.len()
        );
        for v in &cs.vertices {
            let _ = writeln!(
                out,
                "  vertex {} {} {} {}",
                v.name,
                v.tile,
                v.fields.len(),
                v.members.len()
            );
            for (name, region) in &v.fields {
                let _ = write!(out, "    field {name} ");
                write_region(&mut out, region);
                out.push('\n');
            }
            for (name, value) in &v.members {
                let _ = match value {
                    MemberValue::Float(x) => {
                        writeln!(out, "    member {name} float {:#010x}", x.to_bits())
                    }
                    MemberValue::Half(x) => {
                        writeln!(out, "    member {name} half {:#06x}", x.to_bits())
                    }
                    MemberValue::Unsigned(x) => writeln!(out, "    member {name} unsigned {x}"),
                };
            }
        }
    }
    out.push_str("program\n");
    write_program(&mut out, program, 1);
    let _ = writeln!(out, "data {data_bytes} {}", data.len());
    let offset = |o: &Option<u64>| o.map_or_else(|| "-".to_string(), |o| o.to_string());
    for e in data {
        let _ = match e {
            DataEntry::Write { tensor, offset } => writeln!(out, "  write {tensor} {offset}"),
            DataEntry::Zero { tensor } => writeln!(out, "  zero {tensor}"),
            DataEntry::Push {
                stream,
                element,
                count,
                offset,
            } => writeln!(
                out,
                "  push {stream} {} {count} {offset}",
                element_name(*element)
            ),
            DataEntry::Read { tensor, expected } => {
                writeln!(out, "  read {tensor} {}", offset(expected))
            }
            DataEntry::Pop {
                stream,
                element,
                count,
                expected,
            } => writeln!(
                out,
                "  pop {stream} {} {count} {}",
                element_name(*element),
                offset(expected)
            ),
        };
    }
    out.push_str("end\n");
    out
}

/// The depth of `program`'s nesting (1 for a leaf).
pub(crate) fn depth(program: &Program) -> usize {
    match program {
        Program::Sequence(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Program::Repeat(_, body) => 1 + depth(body),
        _ => 1,
    }
}

/// Tokens with their lines.
struct Tokens<'a> {
    tokens: Vec<(usize, &'a str)>,
    at: usize,
}

impl<'a> Tokens<'a> {
    fn new(text: &'a str) -> Self {
        let mut tokens = Vec::new();
        for (k, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("");
            tokens.extend(line.split_ascii_whitespace().map(|t| (k + 1, t)));
        }
        Tokens { tokens, at: 0 }
    }

    fn line(&self) -> usize {
        self.tokens.get(self.at).map_or(0, |t| t.0)
    }

    fn error<T>(&self, problem: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError {
            line: self.line(),
            problem: problem.into(),
        })
    }

    fn next(&mut self, what: &str) -> Result<&'a str, ParseError> {
        match self.tokens.get(self.at) {
            Some(&(_, t)) => {
                self.at += 1;
                Ok(t)
            }
            None => self.error(format!("the text ends where {what} should be")),
        }
    }

    fn keyword(&mut self, word: &str) -> Result<(), ParseError> {
        let t = self.next(&format!("`{word}`"))?;
        if t == word {
            Ok(())
        } else {
            self.at -= 1;
            self.error(format!("expected `{word}`, found `{t}`"))
        }
    }

    fn number<T: std::str::FromStr>(&mut self, what: &str) -> Result<T, ParseError> {
        let t = self.next(what)?;
        t.parse().or_else(|_| {
            self.at -= 1;
            self.error(format!("{what}: `{t}` is not a number in range"))
        })
    }

    fn hex(&mut self, what: &str) -> Result<u32, ParseError> {
        let t = self.next(what)?;
        t.strip_prefix("0x")
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .map_or_else(
                || {
                    self.at -= 1;
                    self.error(format!("{what}: `{t}` is not 0x and hexadecimal digits"))
                },
                Ok,
            )
    }

    fn element(&mut self) -> Result<Element, ParseError> {
        match self.next("an element type")? {
            "float" => Ok(Element::Float),
            "half" => Ok(Element::Half),
            t => {
                self.at -= 1;
                self.error(format!("`{t}` is not an element type (float, half)"))
            }
        }
    }

    fn offset(&mut self) -> Result<Option<u64>, ParseError> {
        if self.tokens.get(self.at).is_some_and(|t| t.1 == "-") {
            self.at += 1;
            Ok(None)
        } else {
            self.number("a byte offset").map(Some)
        }
    }
}

/// A parser with the ids the graph gave.
struct Reader<'a> {
    tokens: Tokens<'a>,
    tensors: Vec<TensorId>,
    compute_sets: Vec<ComputeSetId>,
}

impl<'a> Reader<'a> {
    fn graph_error<T>(&self, line: usize, e: GraphError) -> Result<T, ParseError> {
        Err(ParseError {
            line,
            problem: e.to_string(),
        })
    }

    fn tensor(&mut self) -> Result<TensorId, ParseError> {
        let k: usize = self.tokens.number("a tensor")?;
        match self.tensors.get(k) {
            Some(&t) => Ok(t),
            None => {
                self.tokens.at -= 1;
                self.tokens.error(format!(
                    "tensor {k} does not exist ({} tensors)",
                    self.tensors.len()
                ))
            }
        }
    }

    fn region(&mut self) -> Result<Region, ParseError> {
        let t = self.tensor()?;
        let start = self.tokens.number("a start element")?;
        let end = self.tokens.number("an end element")?;
        Ok(t.region(start..end))
    }

    fn program(&mut self, depth: usize) -> Result<Program, ParseError> {
        if depth > MAX_DEPTH {
            return self
                .tokens
                .error(format!("programs nest more than {MAX_DEPTH} deep"));
        }
        let word = self.tokens.next("a program")?;
        Ok(match word {
            "sequence" => {
                let n: usize = self.tokens.number("a sequence's length")?;
                let mut items = Vec::new();
                for _ in 0..n {
                    items.push(self.program(depth + 1)?);
                }
                Program::Sequence(items)
            }
            "execute" => {
                let k: usize = self.tokens.number("a compute set")?;
                match self.compute_sets.get(k) {
                    Some(&cs) => Program::Execute(cs),
                    None => {
                        self.tokens.at -= 1;
                        return self.tokens.error(format!(
                            "compute set {k} does not exist ({} compute sets)",
                            self.compute_sets.len()
                        ));
                    }
                }
            }
            "repeat" => {
                let count = self.tokens.number("a repeat count")?;
                Program::Repeat(count, Box::new(self.program(depth + 1)?))
            }
            "copy" => Program::Copy {
                from: self.region()?,
                to: self.region()?,
            },
            "stream_in" => {
                let stream = self.name("a stream")?;
                Program::StreamIn {
                    stream,
                    to: self.region()?,
                }
            }
            "stream_out" => {
                let from = self.region()?;
                Program::StreamOut {
                    from,
                    stream: self.name("a stream")?,
                }
            }
            w => {
                self.tokens.at -= 1;
                return self.tokens.error(format!(
                    "`{w}` is not a program (sequence, execute, repeat, copy, stream_in, stream_out)"
                ));
            }
        })
    }

    fn name(&mut self, what: &str) -> Result<String, ParseError> {
        Ok(self.tokens.next(what)?.to_string())
    }

    fn entry(&mut self) -> Result<DataEntry, ParseError> {
        let word = self.tokens.next("a data entry")?;
        let index = |r: &mut Self| r.tensor().map(TensorId::index);
        Ok(match word {
            "write" => DataEntry::Write {
                tensor: index(self)?,
                offset: self.tokens.number("a byte offset")?,
            },
            "zero" => DataEntry::Zero {
                tensor: index(self)?,
            },
            "push" => DataEntry::Push {
                stream: self.name("a stream")?,
                element: self.tokens.element()?,
                count: self.tokens.number("a count")?,
                offset: self.tokens.number("a byte offset")?,
            },
            "read" => DataEntry::Read {
                tensor: index(self)?,
                expected: self.tokens.offset()?,
            },
            "pop" => DataEntry::Pop {
                stream: self.name("a stream")?,
                element: self.tokens.element()?,
                count: self.tokens.number("a count")?,
                expected: self.tokens.offset()?,
            },
            w => {
                self.tokens.at -= 1;
                return self.tokens.error(format!(
                    "`{w}` is not a data entry (write, zero, push, read, pop)"
                ));
            }
        })
    }
}

/// Reads a description: the graph rebuilt through the [`Graph`] API, its
/// program and the data index. Vertex types must be generated vertices
/// (this crate's manifest). Every problem is an error naming the line.
pub fn parse(text: &str) -> Result<Parsed, ParseError> {
    let mut tokens = Tokens::new(text);
    tokens.keyword(FORMAT)?;
    let version: u32 = tokens.number("the format version")?;
    if version != VERSION {
        tokens.at -= 1;
        return tokens.error(format!(
            "format version {version}; this reader reads version {VERSION}"
        ));
    }
    tokens.keyword("target")?;
    let line = tokens.line();
    let name = tokens.next("the target's name")?;
    tokens.keyword("tiles")?;
    let tiles = tokens.number("tiles")?;
    tokens.keyword("workers")?;
    let workers = tokens.number("workers")?;
    tokens.keyword("bytes_per_tile")?;
    let bytes = tokens.number("bytes per tile")?;
    tokens.keyword("clock_hz")?;
    let clock = tokens.number("the clock")?;
    let target = Target::custom(name, tiles, workers, bytes, clock).map_err(|e| ParseError {
        line,
        problem: e.to_string(),
    })?;
    let mut graph = Graph::new(target);
    let mut r = Reader {
        tokens,
        tensors: Vec::new(),
        compute_sets: Vec::new(),
    };

    r.tokens.keyword("tensors")?;
    let n: usize = r.tokens.number("the number of tensors")?;
    for _ in 0..n {
        r.tokens.keyword("tensor")?;
        let line = r.tokens.line();
        let element = r.tokens.element()?;
        let name = r.name("a tensor name")?;
        let rank: usize = r.tokens.number("a rank")?;
        if rank > 16 {
            return r
                .tokens
                .error(format!("rank {rank}: at most 16 dimensions"));
        }
        let mut shape = Vec::with_capacity(rank);
        for _ in 0..rank {
            shape.push(r.tokens.number("a dimension")?);
        }
        let id = graph
            .add_variable(element, &shape, &name)
            .or_else(|e| r.graph_error(line, e))?;
        r.tensors.push(id);
        let intervals: usize = r.tokens.number("the number of intervals")?;
        for _ in 0..intervals {
            r.tokens.keyword("map")?;
            let line = r.tokens.line();
            let tile = r.tokens.number("a tile")?;
            let start = r.tokens.number("a start element")?;
            let end = r.tokens.number("an end element")?;
            graph
                .set_tile_mapping(id, start..end, tile)
                .or_else(|e| r.graph_error(line, e))?;
        }
    }

    r.tokens.keyword("compute_sets")?;
    let n: usize = r.tokens.number("the number of compute sets")?;
    for _ in 0..n {
        r.tokens.keyword("compute_set")?;
        let name = r.name("a compute set name")?;
        let cs = graph.add_compute_set(&name);
        r.compute_sets.push(cs);
        let vertices: usize = r.tokens.number("the number of vertices")?;
        for _ in 0..vertices {
            r.tokens.keyword("vertex")?;
            let line = r.tokens.line();
            let ty = r.name("a vertex type")?;
            let tile = r.tokens.number("a tile")?;
            let v = graph
                .add_vertex(cs, &ty, tile)
                .or_else(|e| r.graph_error(line, e))?;
            let fields: usize = r.tokens.number("the number of fields")?;
            let members: usize = r.tokens.number("the number of members")?;
            for _ in 0..fields {
                r.tokens.keyword("field")?;
                let line = r.tokens.line();
                let name = r.name("a field name")?;
                let region = r.region()?;
                graph
                    .connect(v, &name, region)
                    .or_else(|e| r.graph_error(line, e))?;
            }
            for _ in 0..members {
                r.tokens.keyword("member")?;
                let line = r.tokens.line();
                let name = r.name("a member name")?;
                let value = match r.tokens.next("a member type")? {
                    "float" => MemberValue::Float(f32::from_bits(r.tokens.hex("float bits")?)),
                    "half" => {
                        let bits = r.tokens.hex("half bits")?;
                        let bits = u16::try_from(bits).or_else(|_| {
                            r.tokens
                                .error(format!("half bits {bits:#x} exceed 16 bits"))
                        })?;
                        MemberValue::Half(F16::from_bits(bits))
                    }
                    "unsigned" => MemberValue::Unsigned(r.tokens.number("an unsigned value")?),
                    t => {
                        r.tokens.at -= 1;
                        return r.tokens.error(format!(
                            "`{t}` is not a member type (float, half, unsigned)"
                        ));
                    }
                };
                graph
                    .set_initial_value(v, &name, value)
                    .or_else(|e| r.graph_error(line, e))?;
            }
        }
    }

    r.tokens.keyword("program")?;
    let program = r.program(1)?;
    r.tokens.keyword("data")?;
    let data_bytes = r.tokens.number("the data file's length")?;
    let n: usize = r.tokens.number("the number of data entries")?;
    let mut data = Vec::new();
    for _ in 0..n {
        data.push(r.entry()?);
    }
    r.tokens.keyword("end")?;
    if r.tokens.at < r.tokens.tokens.len() {
        return r.tokens.error("text after `end`");
    }
    Ok(Parsed {
        graph,
        program,
        data_bytes,
        data,
    })
}
