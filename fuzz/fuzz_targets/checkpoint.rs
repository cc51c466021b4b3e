//! cargo-fuzz target `checkpoint`: the body is `snn_fuzz_targets::checkpoint` (stable
//! Rust, replayed on its corpus by the workspace's tests).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| snn_fuzz_targets::checkpoint(data));
