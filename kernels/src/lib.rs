#![no_std]
#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

#[cfg(feature = "std")]
extern crate std;

pub mod dense;
pub mod error;
pub mod layer;
pub mod math;
pub mod model;
pub mod models;
pub mod optim;
pub mod population;
pub mod real;
pub mod rng;
pub mod surrogate;

pub use error::Error;
pub use layer::{InputGrads, Layer, OutputGrads, Param, Saved};
pub use model::{Model, Reset, ResetConfig};
pub use real::{F16Lane, F16Storage, Format, Mask, Real, Word, F16};
