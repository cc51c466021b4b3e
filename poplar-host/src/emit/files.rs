//! The fixed files of an emitted directory, built into the crate.

/// `codelets.cpp`: what `build.rs` generated with
/// `snn_codelet_gen::generate(&Options::default())`.
pub(crate) const CODELETS_CPP: &str = include_str!(concat!(env!("OUT_DIR"), "/codelets.cpp"));

/// The graph interpreter shared by the host program and the bridge.
pub(crate) const GRAPH_RUNNER_HPP: &str = include_str!("../../cpp/host/graph_runner.hpp");

/// The host program's `main` (emitted as `host.cpp`).
pub(crate) const HOST_CPP: &str = include_str!("../../cpp/host/host_main.cpp");

/// Builds the codelets and the host program, runs them.
pub(crate) const MAKEFILE: &str = include_str!("../../cpp/host/Makefile");

/// What the directory is and how to run it.
pub(crate) const README: &str = include_str!("../../cpp/host/emitted_README.md");

/// The stamp's contents.
pub(crate) const STAMP_TEXT: &str =
    "snn-ipu emit-poplar 1\nThis directory was written by snn_poplar_host::emit; emitting into it again replaces its files.\n";
