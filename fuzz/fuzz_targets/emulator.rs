//! cargo-fuzz target `emulator`: the body is `snn_fuzz_targets::emulator` (stable
//! Rust, replayed on its corpus by the workspace's tests).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| snn_fuzz_targets::emulator(data));
