//! Running a [`Graph`] on Poplar: an IPU, or Graphcore's IPUModel.
//!
//! With the `poplar` cargo feature, `build.rs` compiles
//! `cpp/bridge/bridge.cpp` (the interpreter of `cpp/host/graph_runner.hpp`,
//! the same one the emitted host program uses) against the Poplar SDK and
//! compiles the codelets with `popc`; [`run_on_poplar`] writes the graph's
//! description and data as [`crate::emit`] does and hands them to it.
//! Without the feature (the default), [`run_on_poplar`] checks its
//! arguments and then refuses with [`unavailable_reason`].
//!
//! The compiled codelets are found at the path built in, or at
//! `SNN_POPLAR_CODELETS` when that environment variable is set (for a
//! binary moved to another machine).

use std::collections::BTreeMap;
use std::fmt;

use crate::emit::data::{self, values_at, Reads};
use crate::emit::description::{self, DataEntry};
use crate::emit::{check_names, EmitError};
use crate::graph::run::Values;
use crate::graph::{Graph, Program};

/// Where a graph runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Device {
    /// The first IPU with enough free tiles.
    Ipu,
    /// Graphcore's IPUModel simulator (its half arithmetic is not exact).
    IpuModel,
}

/// The inputs of a run and what to read after it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunInputs {
    /// Tensors written before the run (the others are zeros).
    pub writes: Vec<(String, Values)>,
    /// Per host-to-device stream, the values of each copy, in order.
    pub streams_in: Vec<(String, Vec<Values>)>,
    /// Tensors read after the run.
    pub read: Vec<String>,
}

/// What a run gave.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunOutputs {
    /// The tensors asked for, in the order asked.
    pub tensors: Vec<(String, Values)>,
    /// Per device-to-host stream (by name), the values of each copy.
    pub streams: Vec<(String, Vec<Values>)>,
}

/// Why a run on Poplar failed.
#[derive(Debug)]
pub enum PoplarError {
    /// This build cannot run on Poplar (see [`unavailable_reason`]).
    Unavailable(&'static str),
    /// The graph, program or inputs were refused.
    Emit(EmitError),
    /// Poplar or the device failed (Poplar's message).
    Poplar(String),
    /// The bridge returned outputs of the wrong size.
    Output(String),
}

impl fmt::Display for PoplarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoplarError::Unavailable(why) => write!(f, "cannot run on Poplar: {why}"),
            PoplarError::Emit(e) => write!(f, "{e}"),
            PoplarError::Poplar(m) => write!(f, "Poplar: {m}"),
            PoplarError::Output(m) => write!(f, "Poplar bridge: {m}"),
        }
    }
}

impl std::error::Error for PoplarError {}

impl From<EmitError> for PoplarError {
    fn from(e: EmitError) -> Self {
        PoplarError::Emit(e)
    }
}

/// The reason this build cannot run on Poplar, or `None` when it can.
pub fn unavailable_reason() -> Option<&'static str> {
    if cfg!(feature = "poplar") {
        None
    } else {
        Some(
            "built without the `poplar` feature; rebuild with `--features poplar` on a machine \
             where the Poplar SDK's enable.sh has been sourced",
        )
    }
}

/// A run ready for the bridge: the description, `data.bin`, and how to
/// read the bridge's output bytes.
#[derive(Clone, Debug)]
pub struct Prepared {
    /// The description (`graph.txt`).
    pub description: String,
    /// The data (`data.bin`).
    pub data: Vec<u8>,
    /// The `read` and `pop` entries, in order, with their tensor names.
    outputs: Vec<(DataEntry, String)>,
}

/// Checks `graph`, `program` and `inputs` and writes what the bridge reads
/// (every device-to-host stream is read in full).
pub fn prepare(
    graph: &Graph,
    program: &Program,
    inputs: &RunInputs,
) -> Result<Prepared, PoplarError> {
    graph.validate(program).map_err(EmitError::Invalid)?;
    check_names(graph, program)?;
    let reads = Reads {
        tensors: inputs.read.iter().map(|n| (n.as_str(), None)).collect(),
        streams: BTreeMap::new(),
    };
    let plan = data::plan(graph, program, &inputs.writes, &inputs.streams_in, &reads)?;
    let text = description::write(graph, program, plan.bytes.len() as u64, &plan.entries);
    let outputs = plan
        .entries
        .into_iter()
        .filter_map(|e| match &e {
            DataEntry::Read { tensor, .. } => {
                let name = graph.tensors()[*tensor].name.clone();
                Some((e, name))
            }
            DataEntry::Pop { stream, .. } => {
                let name = stream.clone();
                Some((e, name))
            }
            _ => None,
        })
        .collect();
    Ok(Prepared {
        description: text,
        data: plan.bytes,
        outputs,
    })
}

impl Prepared {
    /// The outputs in `bytes`: the values of every `read` and `pop` entry,
    /// one after the other, as the bridge returns them.
    pub fn outputs(&self, graph: &Graph, bytes: &[u8]) -> Result<RunOutputs, PoplarError> {
        let mut out = RunOutputs::default();
        let mut streams: BTreeMap<String, Vec<Values>> = BTreeMap::new();
        let mut at = 0u64;
        for (entry, name) in &self.outputs {
            let (element, count) = match entry {
                DataEntry::Read { tensor, .. } => {
                    let t = &graph.tensors()[*tensor];
                    (t.element, t.len as u64)
                }
                DataEntry::Pop { element, count, .. } => (*element, *count),
                _ => continue,
            };
            let values = values_at(bytes, element, count, at).ok_or_else(|| {
                PoplarError::Output(format!(
                    "{} bytes returned; `{name}` needs more",
                    bytes.len()
                ))
            })?;
            at += count * crate::graph::element_bytes(element) as u64;
            match entry {
                DataEntry::Read { .. } => out.tensors.push((name.clone(), values)),
                _ => streams.entry(name.clone()).or_default().push(values),
            }
        }
        if at != bytes.len() as u64 {
            return Err(PoplarError::Output(format!(
                "{} bytes returned, {at} expected",
                bytes.len()
            )));
        }
        out.streams = streams.into_iter().collect();
        Ok(out)
    }
}

/// Runs `program` over `graph` on `device` with `inputs`: the same graph,
/// through the Poplar host API, with the project's floating-point
/// behaviour. Without the `poplar` feature, the arguments are checked and
/// the run refused with [`PoplarError::Unavailable`].
pub fn run_on_poplar(
    graph: &Graph,
    program: &Program,
    inputs: &RunInputs,
    device: Device,
) -> Result<RunOutputs, PoplarError> {
    let prepared = prepare(graph, program, inputs)?;
    #[cfg(feature = "poplar")]
    {
        let bytes = bridge::run(&prepared.description, &prepared.data, device)?;
        prepared.outputs(graph, &bytes)
    }
    #[cfg(not(feature = "poplar"))]
    {
        let _ = (prepared, device);
        Err(PoplarError::Unavailable(
            unavailable_reason().unwrap_or("built without the `poplar` feature"),
        ))
    }
}

#[cfg(feature = "poplar")]
mod bridge {
    //! The C entry points of `cpp/bridge/bridge.cpp`.

    use std::ffi::{c_char, c_int, c_void, CStr, CString};

    use super::{Device, PoplarError};

    extern "C" {
        fn snn_poplar_bridge_run(
            text: *const c_char,
            text_len: usize,
            data: *const u8,
            data_len: usize,
            codelets_path: *const c_char,
            use_model: c_int,
            out: *mut *mut u8,
            out_len: *mut usize,
            error: *mut *mut c_char,
        ) -> c_int;
        fn snn_poplar_bridge_free(p: *mut c_void);
    }

    /// The codelets `build.rs` compiled with popc.
    const CODELETS_GP: &str = env!("SNN_POPLAR_CODELETS_GP");

    /// The bridge's output bytes, or its error message.
    pub(super) fn run(text: &str, data: &[u8], device: Device) -> Result<Vec<u8>, PoplarError> {
        let codelets =
            std::env::var("SNN_POPLAR_CODELETS").unwrap_or_else(|_| CODELETS_GP.to_string());
        let codelets = CString::new(codelets)
            .map_err(|_| PoplarError::Poplar("SNN_POPLAR_CODELETS holds a NUL character".into()))?;
        let mut out: *mut u8 = std::ptr::null_mut();
        let mut out_len = 0usize;
        let mut error: *mut c_char = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the lengths given; the bridge
        // reads its inputs, writes the three out-pointers and catches every
        // C++ exception.
        let status = unsafe {
            snn_poplar_bridge_run(
                text.as_ptr().cast(),
                text.len(),
                data.as_ptr(),
                data.len(),
                codelets.as_ptr(),
                c_int::from(device == Device::IpuModel),
                &mut out,
                &mut out_len,
                &mut error,
            )
        };
        if status != 0 {
            let message = if error.is_null() {
                "the bridge failed without a message".to_string()
            } else {
                // SAFETY: the bridge returns a NUL-terminated malloc'ed
                // string, freed here once.
                let m = unsafe { CStr::from_ptr(error) }
                    .to_string_lossy()
                    .into_owned();
                unsafe { snn_poplar_bridge_free(error.cast()) };
                m
            };
            return Err(PoplarError::Poplar(message));
        }
        if out.is_null() {
            return Err(PoplarError::Output("no output buffer".into()));
        }
        // SAFETY: the bridge returned `out_len` bytes at `out` (malloc'ed),
        // copied here and then freed once.
        let bytes = unsafe { std::slice::from_raw_parts(out, out_len) }.to_vec();
        unsafe { snn_poplar_bridge_free(out.cast()) };
        Ok(bytes)
    }
}
