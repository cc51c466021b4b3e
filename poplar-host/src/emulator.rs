//! Runs generated vertices on this CPU: the codelets that `build.rs`
//! generated from the kernels (`OUT_DIR/codelets.cpp`, the same file popc
//! compiles for the IPU), compiled with g++ against the stand-in headers.
//!
//! A vertex is looked up in the [`manifest`] by name; [`run_vertex`] binds
//! its fields to buffers (in manifest order) and its members to values,
//! checks every length, and runs `compute` for each of the 6 workers.

use std::collections::BTreeSet;
use std::ffi::{c_char, c_uint, c_void, CString};
use std::sync::{Mutex, OnceLock};

use snn_codelet_gen::VertexInfo;

/// Where `build.rs` wrote the generated C++ (what `popc -O3 --target ipu2`
/// compiles, and what the emulator runs).
pub const CODELETS_PATH: &str = concat!(env!("OUT_DIR"), "/codelets.cpp");

extern "C" {
    fn snn_host_run(
        name: *const c_char,
        fields: *const *mut c_void,
        lengths: *const usize,
        members: *const c_uint,
    ) -> i32;
    fn snn_host_vertex_count() -> c_uint;
}

/// Every generated vertex (the manifest `build.rs` wrote with the codelets).
pub fn manifest() -> &'static [VertexInfo] {
    static MANIFEST: OnceLock<Vec<VertexInfo>> = OnceLock::new();
    MANIFEST.get_or_init(|| {
        snn_codelet_gen::manifest::from_json(include_str!(concat!(
            env!("OUT_DIR"),
            "/manifest.json"
        )))
        .expect("build.rs writes a valid manifest")
    })
}

/// The number of vertices compiled into the emulator.
pub fn compiled_vertex_count() -> usize {
    // SAFETY: reads a constant of the generated harness.
    unsafe { snn_host_vertex_count() as usize }
}

static RUN: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// The names of every vertex [`run_vertex`] has run in this process (for
/// coverage checks).
pub fn vertices_run() -> BTreeSet<String> {
    RUN.lock().map(|set| set.clone()).unwrap_or_default()
}

/// A field's data: `f32` values, or binary16 values as their bits.
#[derive(Debug)]
pub enum Buffer<'a> {
    /// For `float` fields.
    F32(&'a mut [f32]),
    /// For `half` fields (bits).
    F16(&'a mut [u16]),
}

impl Buffer<'_> {
    fn len(&self) -> usize {
        match self {
            Buffer::F32(v) => v.len(),
            Buffer::F16(v) => v.len(),
        }
    }
    fn element(&self) -> &'static str {
        match self {
            Buffer::F32(_) => "float",
            Buffer::F16(_) => "half",
        }
    }
    fn pointer(&mut self) -> *mut c_void {
        match self {
            Buffer::F32(v) => v.as_mut_ptr().cast(),
            Buffer::F16(v) => v.as_mut_ptr().cast(),
        }
    }
}

/// The sizes a vertex's field lengths are written in.
#[derive(Clone, Copy, Debug)]
pub struct Sizes {
    /// Elements (`n`).
    pub n: usize,
    /// Time steps (`steps`; 1 for single-step vertices).
    pub steps: usize,
}

/// The length of a field (`"n"`, `"steps * n"`, `"prepared * n"`).
pub fn field_length(vertex: &VertexInfo, length: &str, sizes: Sizes) -> Result<usize, String> {
    match length {
        "n" => Ok(sizes.n),
        "steps * n" => Ok(sizes.steps * sizes.n),
        "prepared * n" => Ok(vertex.prepared.len() * sizes.n),
        other => Err(format!("{}: unknown field length `{other}`", vertex.name)),
    }
}

/// Runs `vertex` on this CPU: `fields` in manifest order, `members` as the
/// bits of each member (a `float`'s bits, a `half`'s bits, or an
/// `unsigned`) in manifest order. Input fields are only read.
pub fn run_vertex(
    vertex: &VertexInfo,
    sizes: Sizes,
    fields: &mut [Buffer<'_>],
    members: &[u32],
) -> Result<(), String> {
    if fields.len() != vertex.fields.len() {
        return Err(format!(
            "{}: {} fields given, the vertex has {}",
            vertex.name,
            fields.len(),
            vertex.fields.len()
        ));
    }
    if members.len() != vertex.members.len() {
        return Err(format!(
            "{}: {} members given, the vertex has {}",
            vertex.name,
            members.len(),
            vertex.members.len()
        ));
    }
    let mut pointers = Vec::with_capacity(fields.len());
    let mut lengths = Vec::with_capacity(fields.len());
    for (field, buffer) in vertex.fields.iter().zip(fields.iter_mut()) {
        let expected = field_length(vertex, &field.length, sizes)?;
        if buffer.len() != expected || buffer.element() != field.element {
            return Err(format!(
                "{}: field `{}` needs {expected} {} values ({}), got {} {}",
                vertex.name,
                field.name,
                field.element,
                field.length,
                buffer.len(),
                buffer.element()
            ));
        }
        pointers.push(buffer.pointer());
        lengths.push(buffer.len());
    }
    let name = CString::new(vertex.name.as_str()).map_err(|e| e.to_string())?;
    // SAFETY: every field pointer is valid for the length the vertex reads or
    // writes (checked against the manifest above), the buffers are distinct
    // mutable borrows, and the harness only reads `members.len()` members.
    let status = unsafe {
        snn_host_run(
            name.as_ptr(),
            pointers.as_ptr(),
            lengths.as_ptr(),
            members.as_ptr(),
        )
    };
    if status != 0 {
        return Err(format!(
            "{}: not compiled into the emulator (status {status})",
            vertex.name
        ));
    }
    if let Ok(mut run) = RUN.lock() {
        run.insert(vertex.name.clone());
    }
    Ok(())
}
