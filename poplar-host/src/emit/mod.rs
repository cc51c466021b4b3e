//! `emit-poplar`: a graph, its program and the data of one run, written as
//! a directory to copy to a machine with the Poplar SDK, where
//! `make run` builds the same graph through the Poplar host API, runs it on
//! an IPU (or `make run-model` on Graphcore's IPUModel), and compares the
//! outputs with the values computed here, bit for bit.
//!
//! [`write_poplar_dir`] writes:
//!
//! | file | what |
//! | --- | --- |
//! | `codelets.cpp` | the generated vertices, as `build.rs` generates them |
//! | `graph.txt` | the graph, program and data index ([`description`]) |
//! | `data.bin` | the values written and streamed in, and the outputs expected |
//! | `graph_runner.hpp`, `host.cpp` | the host program (`cpp/host/`) |
//! | `Makefile`, `README.md` | how to build and run it |
//! | `emit-poplar.stamp` | marks the directory as written here |
//!
//! See `docs/poplar.md`.

pub mod data;
pub mod description;
mod example;
mod files;
mod training;

use std::fmt;
use std::path::Path;

pub use data::EmitData;
pub use example::{emit_layer_example, ExampleConfig, ExampleSummary};
pub use training::{emit_training, StepData};

use crate::graph::{Graph, GraphError, Program};

/// The file that marks a directory written by [`write_poplar_dir`]; a
/// directory holding it may be written again (its files are replaced).
pub const STAMP: &str = "emit-poplar.stamp";

/// The files [`write_poplar_dir`] writes (the stamp last in this list,
/// first on disk).
pub const FILES: &[&str] = &[
    "codelets.cpp",
    "graph.txt",
    "data.bin",
    "graph_runner.hpp",
    "host.cpp",
    "Makefile",
    "README.md",
    STAMP,
];

/// Why a directory could not be emitted.
#[derive(Debug)]
pub enum EmitError {
    /// The graph or program did not validate.
    Invalid(Vec<GraphError>),
    /// A name that the description cannot hold, or a program nested too deep.
    Graph(String),
    /// Host streams used inconsistently.
    Stream(String),
    /// Values that do not fit the graph and program.
    Data(String),
    /// The directory cannot be used.
    Directory(String),
    /// Writing failed.
    Io(String),
    /// The example layer could not be built or run.
    Example(String),
}

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmitError::Invalid(errors) => {
                write!(f, "the graph is not valid:")?;
                for e in errors {
                    write!(f, "\n  {e}")?;
                }
                Ok(())
            }
            EmitError::Graph(p) => write!(f, "graph: {p}"),
            EmitError::Stream(p) => write!(f, "stream {p}"),
            EmitError::Data(p) => write!(f, "data: {p}"),
            EmitError::Directory(p) => write!(f, "{p}"),
            EmitError::Io(p) => write!(f, "{p}"),
            EmitError::Example(p) => write!(f, "example layer: {p}"),
        }
    }
}

impl std::error::Error for EmitError {}

/// Checks that every name is one token and the program is not nested too
/// deep (what the description needs beyond [`Graph::validate`]).
pub(crate) fn check_names(graph: &Graph, program: &Program) -> Result<(), EmitError> {
    use description::is_token;
    let bad = |what: &str, name: &str| {
        Err(EmitError::Graph(format!(
            "{what} `{name}`: names must be printable ASCII without spaces or `#`; rename it"
        )))
    };
    if !is_token(&graph.target().name) {
        return bad("target", &graph.target().name);
    }
    for t in graph.tensors() {
        if !is_token(&t.name) {
            return bad("tensor", &t.name);
        }
    }
    for cs in graph.compute_sets() {
        if !is_token(&cs.name) {
            return bad("compute set", &cs.name);
        }
    }
    fn streams(p: &Program, out: &mut Vec<String>) {
        match p {
            Program::Sequence(items) => items.iter().for_each(|i| streams(i, out)),
            Program::Repeat(_, body) => streams(body, out),
            Program::StreamIn { stream, .. } | Program::StreamOut { stream, .. } => {
                out.push(stream.clone())
            }
            _ => {}
        }
    }
    let depth = description::depth(program);
    if depth > description::MAX_DEPTH {
        return Err(EmitError::Graph(format!(
            "the program nests {depth} deep; at most {} (flatten sequences)",
            description::MAX_DEPTH
        )));
    }
    let mut names = Vec::new();
    streams(program, &mut names);
    for s in names {
        if !is_token(&s) {
            return bad("stream", &s);
        }
    }
    Ok(())
}

/// The description and `data.bin` for `graph`, `program` and `data`: the
/// graph validated, names and streams checked, every input and
/// expectation checked against the tensors and streams.
pub fn describe(
    graph: &Graph,
    program: &Program,
    data: &EmitData,
) -> Result<(String, Vec<u8>), EmitError> {
    graph.validate(program).map_err(EmitError::Invalid)?;
    check_names(graph, program)?;
    if data.expected_tensors.is_empty() && data.expected_streams.is_empty() {
        return Err(EmitError::Data(
            "no expected outputs: give expected tensors or streams, or nothing is compared".into(),
        ));
    }
    let reads = data::Reads {
        tensors: data
            .expected_tensors
            .iter()
            .map(|(n, v)| (n.as_str(), Some(v)))
            .collect(),
        streams: {
            let mut m = std::collections::BTreeMap::new();
            for (n, list) in &data.expected_streams {
                if m.insert(n.as_str(), list.as_slice()).is_some() {
                    return Err(EmitError::Data(format!(
                        "expected stream `{n}`: given twice; give its values once, in order"
                    )));
                }
            }
            m
        },
    };
    let plan = data::plan(graph, program, &data.writes, &data.streams_in, &reads)?;
    let text = description::write(graph, program, plan.bytes.len() as u64, &plan.entries);
    Ok((text, plan.bytes))
}

/// Makes `dir` ready to write: created when missing; an existing directory
/// must be empty or hold [`STAMP`] (a previous emit, whose files are
/// replaced; other files in it are left alone).
fn prepare_dir(dir: &Path) -> Result<(), EmitError> {
    let shown = dir.display();
    if dir.as_os_str().is_empty() {
        return Err(EmitError::Directory(
            "the output directory is an empty path; name a directory".into(),
        ));
    }
    match std::fs::metadata(dir) {
        Ok(m) if !m.is_dir() => {
            return Err(EmitError::Directory(format!(
                "{shown} exists and is not a directory; choose a new or empty directory"
            )))
        }
        Ok(_) => {
            let entries: Vec<String> = std::fs::read_dir(dir)
                .map_err(|e| EmitError::Directory(format!("cannot list {shown}: {e}")))?
                .filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            if !entries.is_empty() && !entries.iter().any(|e| e == STAMP) {
                let mut some = entries;
                some.sort();
                some.truncate(3);
                return Err(EmitError::Directory(format!(
                    "{shown} is not empty ({}...) and was not written by emit-poplar (no {STAMP}); \
                     choose a new or empty directory",
                    some.join(", ")
                )));
            }
        }
        Err(_) => std::fs::create_dir_all(dir)
            .map_err(|e| EmitError::Directory(format!("cannot create {shown}: {e}")))?,
    }
    Ok(())
}

/// Writes the directory for `graph`, `program` and `data` (see the module
/// documentation). `dir` is created when missing; an existing one must be
/// empty or a previous emit (holding [`STAMP`]), whose files are replaced.
/// Nothing is written unless the graph, program and data are accepted.
pub fn write_poplar_dir(
    dir: &Path,
    graph: &Graph,
    program: &Program,
    data: &EmitData,
) -> Result<(), EmitError> {
    let (text, bytes) = describe(graph, program, data)?;
    write_described(dir, &text, &bytes)
}

/// Writes the directory for a description and its data.
fn write_described(dir: &Path, text: &str, bytes: &[u8]) -> Result<(), EmitError> {
    prepare_dir(dir)?;
    let write = |name: &str, contents: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, contents)
            .map_err(|e| EmitError::Io(format!("cannot write {}: {e}", path.display())))
    };
    write(STAMP, files::STAMP_TEXT.as_bytes())?;
    write("codelets.cpp", files::CODELETS_CPP.as_bytes())?;
    write("graph.txt", text.as_bytes())?;
    write("data.bin", bytes)?;
    write("graph_runner.hpp", files::GRAPH_RUNNER_HPP.as_bytes())?;
    write("host.cpp", files::HOST_CPP.as_bytes())?;
    write("Makefile", files::MAKEFILE.as_bytes())?;
    write("README.md", files::README.as_bytes())?;
    Ok(())
}
