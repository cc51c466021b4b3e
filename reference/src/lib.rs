//! The judge: the bit-level checker and the snnTorch conformance report.
//!
//! - The checker ([`checker`]): generates test vectors, runs every backend
//!   (the native kernels, the generated vertex C++) on them and compares the
//!   results with the independent reference, bit for bit.
//! - snnTorch 1.0 conformance ([`conformance`]): the kernels run on every
//!   case recorded in `reference/fixtures/` and compared with what snnTorch
//!   computed.
//!
//! The independent reference itself is the crate
//! [`snn_reference_independent`] (folder `reference/independent/`), which
//! depends on none of the crates judged here. Its modules are re-exported
//! under their own names ([`models`], [`surrogates`], [`precision`],
//! [`elementary`], [`soft`], [`tape`], [`run`](mod@run), [`fixtures`]), so
//! `snn_reference::run::Case` and `snn_reference_independent::run::Case`
//! are the same type.

pub mod checker;
pub mod cli;
pub mod conformance;

pub use snn_reference_independent::{
    elementary, fixtures, models, precision, run, soft, surrogates, tape,
};
// `run` (the module) brings the function `run::run` along, as in the
// independent crate.
pub use snn_reference_independent::{Case, ModelSpec, Outcome, Precision, Surrogate};
