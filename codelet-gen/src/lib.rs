//! The code generator: the kernels of `snn-kernels`, traced into Poplar
//! vertex C++.
//!
//! 1. [`record`]: a scalar type that records operations instead of
//!    performing them; running a model's generic `step` or `step_backward`
//!    with it yields the kernel as an expression graph (common
//!    subexpressions shared).
//! 2. [`cpp`]: prints a graph as C++, one statement and one rounding per
//!    operation.
//! 3. [`vertices`]: the vertex classes around the traced bodies (single-step
//!    forward, multi-step forward, backward through time) for every model
//!    configuration, surrogate and precision, and the codelet file.
//! 4. [`manifest`]: every vertex's name, fields and members, as Rust data and
//!    as JSON.

pub mod cpp;
pub mod manifest;
pub mod record;
pub mod vertices;

pub use manifest::{Direction, Field, Layout, Member, VertexInfo, VertexKind};
pub use vertices::{generate, Generated, Options};
