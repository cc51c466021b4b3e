//! The fuzz targets of `fuzz/`, as ordinary functions that build on stable
//! Rust. Each takes the fuzzer's bytes and must not panic (or crash) on any
//! of them; where the input is well formed it also checks that the call
//! succeeds. `fuzz/fuzz_targets/<name>.rs` calls [`TARGETS`]' `<name>` under
//! cargo-fuzz (nightly), and `tests/corpora.rs` replays every file of
//! `fuzz/corpus/<name>/` through the same function on stable, so CI runs
//! the corpora as ordinary tests. See `fuzz/README.md`.
//!
//! A new target is a module
//! here, a line in [`TARGETS`], a file in `fuzz/fuzz_targets/`, a `[[bin]]`
//! in `fuzz/Cargo.toml` and a seeded `fuzz/corpus/<name>/`.

pub mod bytes;
pub mod checkpoint;
pub mod corpus;
pub mod datasets;
pub mod emulator;
pub mod layer;
pub mod metrics;
pub mod population;
pub mod readers;

pub use checkpoint::checkpoint;
pub use datasets::{digits, idx};
pub use emulator::emulator;
pub use layer::layer;
pub use metrics::metrics_csv;
pub use population::population;
pub use readers::{fixtures, manifest};

/// A target's body.
pub type Body = fn(&[u8]);

/// Every target: its name (the folder of its corpus and the file of its
/// cargo-fuzz target) and its body.
pub const TARGETS: &[(&str, Body)] = &[
    ("layer", layer),
    ("population", population),
    ("emulator", emulator),
    ("fixtures", fixtures),
    ("manifest", manifest),
    ("metrics_csv", metrics_csv),
    ("idx", idx),
    ("digits", digits),
    ("checkpoint", checkpoint),
];
