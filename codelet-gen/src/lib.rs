//! The code generator: the kernels of `snn-kernels`, compiled into Poplar
//! vertex C++ by a small compiler.
//!
//! ```text
//! kernels (generic Rust)
//!   -> ir: traced programs, target-neutral     (ir::trace, a recording scalar)
//!   -> vertex definitions, as data             (build -> vertex::VertexDef)
//!   -> printers: Poplar C++, host harness      (print::poplar, print::harness)
//!      and the manifest                        (manifest)
//! ```
//!
//! 1. [`ir`]: running a model's generic `step` or `step_backward` with the
//!    recording scalar of [`ir::trace`] yields the kernel as a [`ir::Graph`]
//!    whose inputs are named by role and whose types are formats
//!    (binary16/32, words, masks); common subexpressions are shared.
//! 2. [`build`]: the programs of every model configuration, surrogate and
//!    the random stream, wrapped into [`vertex::VertexDef`]s: a single
//!    forward step, the forward pass over a sequence, the backward pass
//!    through time, for both precisions and both parameter modes.
//! 3. [`print`]: the [`print::Dialect`] trait (one operation's spelling) and
//!    the Poplar printer; [`manifest`]: every vertex's fields and members.

pub mod build;
pub mod cost;
pub mod ir;
pub mod manifest;
pub mod print;
pub mod vertex;

pub use build::{builtin_models, builtin_surrogates, Codelets, ModelDef, Options, SurrogateDef};
pub use cost::{BodyCost, OpCounts};
pub use manifest::{Element, FieldInfo, MemberInfo, MemberType, VertexInfo};
pub use vertex::{Direction, FieldRole, Layout, Length, MemberRole, Size, VertexKind};

/// The generated codelets: the definitions, the codelet file and the
/// manifest.
#[derive(Clone, Debug)]
pub struct Generated {
    /// Every vertex class, as data.
    pub codelets: Codelets,
    /// `codelets.cpp`: compiles with `popc` for the IPU and, with the
    /// project's host stand-in headers, with a host C++ compiler.
    pub cpp: String,
    /// Every vertex the host can create, in file order.
    pub vertices: Vec<VertexInfo>,
}

impl Generated {
    /// The manifest as JSON.
    pub fn manifest_json(&self) -> String {
        manifest::to_json(&self.vertices)
    }

    /// The host harness (see [`print::harness`]), including the codelet
    /// file at `codelets_path`.
    pub fn host_harness(&self, codelets_path: &str) -> String {
        print::harness::host_harness(&self.codelets, codelets_path)
    }

    /// The host harness in `parts` files of vertex runners and one file
    /// with the table of vertices (see [`print::harness`]), so that the
    /// parts compile in parallel and each needs less memory.
    pub fn host_harness_parts(&self, codelets_path: &str, parts: usize) -> (Vec<String>, String) {
        print::harness::host_harness_parts(&self.codelets, codelets_path, parts)
    }
}

/// Traces the kernels and prints the codelet file and the manifest.
pub fn generate(options: &Options) -> Generated {
    let codelets = build::generate(options);
    let cpp = print::poplar::codelet_file(&codelets);
    let vertices = manifest::entries(&codelets);
    Generated {
        codelets,
        cpp,
        vertices,
    }
}
