//! The project's second, independent opinion and its judge.
//!
//! - An independent implementation of every neuron model, reset mechanism
//!   and surrogate ([`models`], [`surrogates`]), written plainly over
//!   `f64`-held values rounded once per operation to binary16, binary32 or
//!   binary64 ([`precision`]), with its own elementary functions
//!   ([`elementary`]). Its gradients come from a tape ([`tape`]): reverse-mode
//!   differentiation of the recorded forward operations, not the kernels'
//!   hand-written reverse sweeps.
//! - The checker ([`checker`]): generates test vectors, runs every backend on
//!   them and compares the results bit for bit.
//! - snnTorch 1.0 conformance fixtures ([`fixtures`]), recorded by
//!   `reference/fixtures/generate.py`.

pub mod checker;
pub mod conformance;
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
