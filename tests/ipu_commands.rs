//! The IPU commands: `snn-ipu run` (a layer's graph on the graph emulator
//! against the native kernels), `plan` (a network's training step as one
//! graph), `codelets` and `emit-poplar`; and the refusal of every bad
//! option value with a message and a non-zero exit, never a panic.

use std::process::Command;

use snn_ipu::ipu_files::{codelets_command, emit_command, parse_codelets, parse_emit};
use snn_ipu::ipu_plan::{plan_command, PlanOptions};
use snn_ipu::ipu_run::{run_command, Backend, RunOptions};
use snn_poplar_host::layer::Chunking;

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn run_options(list: &[&str]) -> RunOptions {
    RunOptions::parse(&args(list))
        .expect("valid options")
        .expect("not --help")
}

#[test]
fn run_equals_the_native_kernels_bit_for_bit_across_models_precisions_and_chunks() {
    for list in [
        &["--batch", "4", "--neurons", "50", "--steps", "9"][..],
        &[
            "--model",
            "synaptic",
            "--precision",
            "f16",
            "--batch",
            "3",
            "--neurons",
            "41",
            "--steps",
            "8",
            "--chunk",
            "3",
        ],
        &[
            "--model",
            "alpha",
            "--batch",
            "2",
            "--neurons",
            "33",
            "--steps",
            "6",
            "--chunk",
            "1",
            "--tiles",
            "5",
        ],
        &[
            "--model",
            "lapicque",
            "--surrogate",
            "sigmoid",
            "--batch",
            "2",
            "--neurons",
            "20",
            "--steps",
            "5",
        ],
        &[
            "--model",
            "rleaky",
            "--precision",
            "f16",
            "--batch",
            "2",
            "--neurons",
            "30",
            "--steps",
            "7",
            "--chunk",
            "2",
            "--threads",
            "3",
        ],
        &[
            "--model",
            "rsynaptic",
            "--reset",
            "zero",
            "--batch",
            "2",
            "--neurons",
            "17",
            "--steps",
            "5",
            "--target",
            "bow",
        ],
        &[
            "--surrogate",
            "sso",
            "--batch",
            "2",
            "--neurons",
            "16",
            "--steps",
            "4",
            "--seed",
            "9",
        ],
    ] {
        let options = run_options(list);
        let mut out = Vec::new();
        let report = run_command(&options, &mut out).unwrap_or_else(|e| panic!("{list:?}: {e}"));
        let text = String::from_utf8(out).unwrap();
        assert_eq!(report.mismatches, 0, "{list:?}\n{text}");
        // spikes and input gradients of every step, at least
        let values = options.batch * options.neurons * options.steps;
        assert!(
            report.compared >= 2 * values,
            "{list:?}: {} compared",
            report.compared
        );
        assert!(text.contains("bit for bit"), "{text}");
        assert!(text.contains("bytes per tile: max"), "{text}");
        assert!(text.contains("(estimate from the cost model)"), "{text}");
        assert!(report.ipu_cycles > 0 && report.tiles >= 1);
    }
}

#[test]
fn run_reports_the_time_chunks_it_chose() {
    let mut options = run_options(&[
        "--batch",
        "2",
        "--neurons",
        "16",
        "--steps",
        "10",
        "--chunk",
        "4",
    ]);
    let report = run_command(&options, &mut Vec::new()).unwrap();
    assert_eq!(report.chunk, 4);
    options.chunking = Chunking::Whole;
    assert_eq!(run_command(&options, &mut Vec::new()).unwrap().chunk, 10);
}

#[test]
fn the_native_backend_runs_the_kernels_only_and_poplar_says_what_is_missing() {
    let mut options = run_options(&[
        "--backend",
        "native",
        "--batch",
        "2",
        "--neurons",
        "8",
        "--steps",
        "3",
    ]);
    let mut out = Vec::new();
    let report = run_command(&options, &mut out).unwrap();
    assert_eq!(report.backend_wall, None);
    assert!(String::from_utf8(out).unwrap().contains("not checked"));
    options.backend = Backend::Poplar;
    if snn_poplar_host::poplar_backend::unavailable_reason().is_some() {
        let err = run_command(&options, &mut Vec::new()).unwrap_err();
        assert!(err.contains("--features poplar"), "{err}");
    }
}

#[test]
fn a_layer_that_does_not_fit_is_refused_with_what_to_change() {
    // 64 x 2000 floats per step on one tile: even one step per chunk is over
    let options = run_options(&[
        "--batch",
        "64",
        "--neurons",
        "2000",
        "--steps",
        "4",
        "--tiles",
        "1",
    ]);
    let err = run_command(&options, &mut Vec::new()).unwrap_err();
    assert!(err.contains("no time chunking fits"), "{err}");
    assert!(err.contains("more tiles"), "{err}");
    let whole = RunOptions {
        chunking: Chunking::Whole,
        ..options
    };
    let err = run_command(&whole, &mut Vec::new()).unwrap_err();
    assert!(err.contains("does not fit"), "{err}");
    assert!(err.contains("tile 0 needs"), "{err}");
}

#[test]
fn bad_run_options_are_refused_with_a_message() {
    for (list, needle) in [
        (&["--model", "izhikevich"][..], "--model is one of leaky"),
        (&["--batch", "0"], "--batch"),
        (&["--neurons", "-3"], "--neurons"),
        (&["--steps", "x"], "--steps"),
        (
            &["--neurons", "100000", "--batch", "100000"],
            "make the layer smaller",
        ),
        (&["--tiles", "5000"], "one GC200 has 1472 tiles"),
        (&["--target", "mk3"], "gc200 or bow"),
        (&["--chunk", "0"], "--chunk"),
        (&["--steps", "5", "--chunk", "6"], "longer than the 5 steps"),
        (&["--chunk", "some"], "auto, whole or a number"),
        (&["--backend", "gpu"], "native, emulator, poplar"),
        (&["--ipu-model"], "--ipu-model belongs to --backend poplar"),
        (&["--precision", "f64"], "--precision"),
        (&["--surrogate", "relu"], "--surrogate is one of"),
        (&["--batch", "2", "--batch", "3"], "given twice"),
        (&["--frobnicate"], "unknown option"),
    ] {
        let err = RunOptions::parse(&args(list)).expect_err("refused");
        assert!(err.contains(needle), "{list:?}: {err}");
    }
    assert_eq!(RunOptions::parse(&args(&["--help"])), Ok(None));
}

#[test]
fn plan_reports_memory_and_time_and_refuses_what_does_not_fit() {
    // the bundled digits' network on the GC200's tiles: fits
    let options = PlanOptions::parse(&args(&[
        "--inputs", "64", "--hidden", "64", "--batch", "8", "--steps", "5",
    ]))
    .unwrap()
    .unwrap();
    let mut out = Vec::new();
    plan_command(&options, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    for needle in [
        "training step of 64-64-10",
        "bytes per tile: max",
        "estimated IPU time per step",
        "fits one GC200",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    // a network far too large for 2 tiles per split
    let options = PlanOptions::parse(&args(&[
        "--inputs", "784", "--hidden", "1000", "--batch", "32", "--steps", "25", "--tiles", "2",
    ]))
    .unwrap()
    .unwrap();
    let err = plan_command(&options, &mut Vec::new()).unwrap_err();
    assert!(err.contains("does not fit one GC200"), "{err}");
    assert!(err.contains("needs"), "{err}");
    for (list, needle) in [
        (&["--tiles", "2000"][..], "one GC200 has 1472 tiles"),
        (&["--epochs", "3"], "belongs to `snn-ipu train`"),
        (&["--target", "x"], "gc200 or bow"),
        (&["--hidden", "0"], "--hidden"),
    ] {
        let err = PlanOptions::parse(&args(list)).expect_err("refused");
        assert!(err.contains(needle), "{list:?}: {err}");
    }
}

#[test]
fn codelets_and_emit_poplar_write_their_files() {
    let dir = std::env::temp_dir().join(format!("snn-ipu-commands-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let codelets = dir.join("codelets");
    let parsed = parse_codelets(&args(&["--out", codelets.to_str().unwrap()]))
        .unwrap()
        .unwrap();
    codelets_command(&parsed, &mut Vec::new()).unwrap();
    let cpp = std::fs::read_to_string(codelets.join("codelets.cpp")).unwrap();
    let manifest = std::fs::read_to_string(codelets.join("manifest.json")).unwrap();
    // every vertex the emulator holds is in the written codelets and manifest
    for v in snn_poplar_host::emulator::manifest().iter().take(50) {
        assert!(manifest.contains(&v.name), "{}", v.name);
    }
    assert!(cpp.contains("class LeakyBwdSeq"));
    let emitted = dir.join("poplar");
    let (out, config, training) = parse_emit(&args(&[
        "--out",
        emitted.to_str().unwrap(),
        "--neurons",
        "24",
        "--steps",
        "4",
        "--chunks",
        "2",
        "--tiles",
        "3",
    ]))
    .unwrap()
    .unwrap();
    let mut text = Vec::new();
    emit_command(&out, &config, training, &mut text).unwrap();
    for file in [
        "host.cpp",
        "codelets.cpp",
        "graph.txt",
        "data.bin",
        "Makefile",
        "README.md",
    ] {
        assert!(emitted.join(file).is_file(), "{file}");
    }
    assert!(String::from_utf8(text).unwrap().contains("make run"));
    // the training program: its description reads back as a valid graph
    // and program, and its host program passes the syntax check
    let trained = dir.join("training");
    let (out, config, training) = parse_emit(&args(&[
        "--training",
        "--out",
        trained.to_str().unwrap(),
        "--batch",
        "3",
        "--steps",
        "6",
        "--hidden",
        "16",
        "--train-steps",
        "2",
        "--tiles",
        "4",
    ]))
    .unwrap()
    .unwrap();
    let mut text = Vec::new();
    emit_command(&out, &config, training, &mut text).unwrap();
    assert!(String::from_utf8(text).unwrap().contains("64-16-10"));
    let description = std::fs::read_to_string(trained.join("graph.txt")).unwrap();
    let parsed = snn_poplar_host::emit::description::parse(&description).unwrap();
    snn_poplar_host::graph::run::Engine::new(&parsed.graph, &parsed.program).unwrap();
    use snn_poplar_host::emit::description::DataEntry;
    let streams: Vec<&str> = parsed
        .data
        .iter()
        .filter_map(|d| match d {
            DataEntry::Push { stream, .. } | DataEntry::Pop { stream, .. } => Some(stream.as_str()),
            _ => None,
        })
        .collect();
    for stream in ["inputs", "labels", "optimiser", "loss", "correct"] {
        assert!(streams.contains(&stream), "{stream} in {streams:?}");
    }
    let status = Command::new("g++")
        .args([
            "-std=c++17",
            "-fsyntax-only",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-I",
        ])
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/poplar-host/cpp/host_stand_in"
        ))
        .arg(trained.join("host.cpp"))
        .status()
        .unwrap();
    assert!(status.success(), "the emitted training program's host.cpp");
    // a file where a folder is wanted
    let err = codelets_command(&emitted.join("host.cpp"), &mut Vec::new()).unwrap_err();
    assert!(err.contains("is a file"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
    for (list, needle) in [
        (&["--out"][..], "--out"),
        (&["--out", "a", "--out", "b"], "given twice"),
        (&["--chunks", "0"], "--chunks"),
        (&["--size", "3"], "unknown option"),
    ] {
        let err = parse_emit(&args(list)).expect_err("refused");
        assert!(err.contains(needle), "{list:?}: {err}");
    }
}

#[test]
fn the_commands_exit_non_zero_on_bad_values_without_panicking() {
    for list in [
        &["run", "--model", "nope"][..],
        &["run", "--batch", "0"],
        &[
            "run",
            "--tiles",
            "1",
            "--batch",
            "64",
            "--neurons",
            "2000",
            "--steps",
            "4",
        ],
        &["plan", "--tiles", "99999"],
        &["codelets", "--bogus"],
        &["emit-poplar", "--tiles", "5000"],
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_snn-ipu"))
            .args(list)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{list:?} succeeded");
        assert!(stderr.contains("error:"), "{list:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{list:?}: {stderr}");
    }
}
