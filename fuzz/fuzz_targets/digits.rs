//! cargo-fuzz target `digits`: the body is `snn_fuzz_targets::digits` (stable
//! Rust, replayed on its corpus by the workspace's tests).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| snn_fuzz_targets::digits(data));
