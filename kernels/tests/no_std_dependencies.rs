//! The crate's normal build must not pull `std` into any dependency: feature
//! unification would silently change what a dependency computes (for
//! example which `exp` a math crate calls). Checks the resolved features
//! with `cargo tree`.

use std::process::Command;

#[test]
fn no_dependency_enables_std() {
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let output = Command::new(env!("CARGO"))
        .args(["tree", "--manifest-path", manifest, "-p", "snn-kernels"])
        .args([
            "-e",
            "normal,features,no-proc-macro",
            "--prefix",
            "none",
            "--offline",
        ])
        .output()
        .expect("cargo tree runs");
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let tree = String::from_utf8(output.stdout).unwrap();
    assert!(tree.contains("half v2"), "unexpected tree:\n{tree}");
    let with_std: Vec<&str> = tree
        .lines()
        // the crate's own `std` feature only detects the CPU (layer::simd)
        .filter(|line| line.contains("feature \"std\"") && !line.starts_with("snn-kernels "))
        .collect();
    assert!(
        with_std.is_empty(),
        "dependencies built with std: {with_std:?}\n{tree}"
    );
}

#[test]
fn the_crate_is_no_std() {
    let lib = include_str!("../src/lib.rs");
    assert!(
        lib.lines().any(|line| line.trim() == "#![no_std]"),
        "src/lib.rs must declare #![no_std]"
    );
}
