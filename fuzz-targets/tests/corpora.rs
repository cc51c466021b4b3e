//! Every file of every fuzz target's corpus (`fuzz/corpus/<target>/`), run
//! through the target's body on stable: the inputs the fuzzer keeps become
//! regression tests, and CI runs them without nightly or cargo-fuzz.

use std::path::{Path, PathBuf};

use snn_fuzz_targets::TARGETS;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a folder entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_corpus_file_runs_through_its_target() {
    for (target, body) in TARGETS {
        let dir = fuzz_dir().join("corpus").join(target);
        let inputs = files(&dir);
        assert!(
            inputs.len() >= 3,
            "{}: a corpus of a few seeds is committed for every target (cargo run -p snn-fuzz-targets --example seed_corpora)",
            dir.display()
        );
        for path in inputs {
            let bytes = std::fs::read(&path).unwrap();
            // a panic names the file: rerun it alone with cargo +nightly fuzz run <target> <file>
            eprintln!("{target}: {}", path.display());
            body(&bytes);
        }
    }
}

#[test]
fn every_target_has_a_cargo_fuzz_binary_and_a_corpus_and_nothing_else() {
    let mut binaries: Vec<String> = files(&fuzz_dir().join("fuzz_targets"))
        .iter()
        .filter_map(|p| p.file_stem()?.to_str().map(String::from))
        .collect();
    binaries.sort();
    let mut corpora: Vec<String> = std::fs::read_dir(fuzz_dir().join("corpus"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    corpora.sort();
    let mut names: Vec<String> = TARGETS.iter().map(|(n, _)| n.to_string()).collect();
    names.sort();
    assert_eq!(binaries, names, "fuzz/fuzz_targets/*.rs");
    assert_eq!(corpora, names, "fuzz/corpus/*");
    let manifest = std::fs::read_to_string(fuzz_dir().join("Cargo.toml")).unwrap();
    for name in &names {
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "fuzz/Cargo.toml has a [[bin]] {name}"
        );
    }
}

#[test]
fn the_seeds_are_small_and_reach_both_outcomes() {
    let seeds = snn_fuzz_targets::corpus::seeds().expect("the seeds are made");
    for seed in &seeds {
        assert!(
            seed.bytes.len() <= 16 << 10,
            "{}/{} is small",
            seed.target,
            seed.name
        );
    }
    // the fixture seeds: some are read, some refused
    let read: Vec<bool> = seeds
        .iter()
        .filter(|s| s.target == "fixtures")
        .map(|s| {
            let split = 4 + u32::from_le_bytes(s.bytes[..4].try_into().unwrap()) as usize;
            let split = split.min(s.bytes.len());
            snn_reference::fixtures::Fixtures::from_bytes(&s.bytes[4..split], &s.bytes[split..])
                .is_ok_and(|f| f.index.cases.iter().all(|c| f.case(c).is_ok()))
        })
        .collect();
    assert!(read.iter().filter(|&&r| r).count() >= 3, "{read:?}");
    assert!(read.iter().filter(|&&r| !r).count() >= 4, "{read:?}");
}

#[test]
fn the_checkpoint_seeds_reach_every_outcome() {
    let seeds = snn_fuzz_targets::corpus::seeds().expect("the seeds are made");
    let outcome = |name: &str| {
        let seed = seeds
            .iter()
            .find(|s| s.target == "checkpoint" && s.name == name)
            .unwrap_or_else(|| panic!("seed {name}"));
        let mut bytes = seed.bytes.get(1..).unwrap_or_default().to_vec();
        if seed.bytes.first() == Some(&1) {
            snn_ipu::checkpoint::reseal(&mut bytes);
        }
        (
            snn_ipu::checkpoint::read_checkpoint(&bytes, name).map_err(|e| e.kind),
            snn_ipu::checkpoint::read_weights(&bytes, name).map_err(|e| e.kind),
        )
    };
    use snn_ipu::checkpoint::ErrorKind::*;
    for name in ["adam_f16", "sgd_f16"] {
        let (c, w) = outcome(name);
        assert!(c.is_ok() && w.is_ok(), "{name}");
    }
    for name in ["weights", "weights_resealed"] {
        let (c, w) = outcome(name);
        assert!(c == Err(Format) && w.is_ok(), "{name}");
    }
    for (name, kind) in [
        ("truncated", Corrupt),
        ("flipped_bit", Corrupt),
        ("wider_layer_resealed", Invalid),
        ("impossible_progress_resealed", Invalid),
        ("not_safetensors", Format),
        ("empty", Format),
    ] {
        let (c, w) = outcome(name);
        assert_eq!((c.err(), w.err()), (Some(kind), Some(kind)), "{name}");
    }
}
