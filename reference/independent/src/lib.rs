//! The project's second, independent opinion: every neuron model, reset
//! mechanism and surrogate written again, plainly, from `docs/neurons.md`
//! and snnTorch's code, without the kernels.
//!
//! - The models and surrogates ([`models`], [`surrogates`]), over
//!   `f64`-held values rounded once per operation to binary16, binary32 or
//!   binary64 ([`precision`], [`soft`]), with their own elementary functions
//!   ([`elementary`]).
//! - Gradients from a tape ([`tape`]): reverse-mode differentiation of the
//!   recorded forward operations, not the kernels' hand-written reverse
//!   sweeps.
//! - A whole layer over a sequence, forward and backward ([`run`](mod@run)), and the
//!   gradient magnitudes that bound rounding errors ([`run::magnitudes`]).
//! - The reader of the snnTorch 1.0 fixtures that
//!   `reference/fixtures/generate.py` recorded ([`fixtures`]).
//!
//! This crate depends on no other crate of the workspace: not on
//! `snn-kernels`, nor on the code generator or the host crate, which the
//! checker (the crate `snn-reference`) judges against it. Cargo enforces
//! that; `tests/independence.rs` checks it.

pub mod elementary;
pub mod fixtures;
pub mod models;
pub mod precision;
pub mod run;
pub mod soft;
pub mod surrogates;
pub mod tape;

pub use models::ModelSpec;
pub use precision::Precision;
pub use run::{run, Case, Outcome};
pub use surrogates::Surrogate;
