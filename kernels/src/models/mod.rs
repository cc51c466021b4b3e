//! The neuron models of snnTorch 1.0, one file each; every file states its
//! equations. See `docs/neurons.md` and `docs/semantics.md` for the whole picture.

mod alpha;
mod common;
mod lapicque;
mod leaky;
mod rleaky;
mod rsynaptic;
mod synaptic;

pub use self::alpha::Alpha;
pub(crate) use self::common::{prepare_clamped, prepare_clamped_backward};
pub use self::lapicque::{Lapicque, LapicqueGiven};
pub use self::leaky::Leaky;
pub use self::rleaky::{RLeaky, RLeakyAllToAll};
pub use self::rsynaptic::{RSynaptic, RSynapticAllToAll};
pub use self::synaptic::Synaptic;
