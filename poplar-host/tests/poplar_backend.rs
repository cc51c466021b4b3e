//! The Poplar backend without the SDK: what a build without the `poplar`
//! feature says, the arguments checked before anything runs, the bridge's
//! output bytes read back into tensors and streams, and how `build.rs`
//! finds the SDK (`build_support/sdk.rs`) or names what is missing.

#[path = "../build_support/sdk.rs"]
mod sdk;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use snn_codelet_gen::FieldRole;
use snn_kernels::layer::Param;
use snn_kernels::models::Leaky;
use snn_kernels::surrogate::Atan;
use snn_poplar_host::emit::EmitError;
use snn_poplar_host::emulator;
use snn_poplar_host::graph::run::{Engine, Values};
use snn_poplar_host::graph::{Graph, Program, Target};
use snn_poplar_host::layer::Chunking;
use snn_poplar_host::poplar_backend::{
    prepare, run_on_poplar, unavailable_reason, Device, PoplarError, RunInputs,
};
use snn_poplar_host::{SurrogateSpec, VertexLayer};

/// A Leaky forward graph on 2 tiles: `{StreamIn x, Execute, StreamOut
/// spikes, StreamOut spikes}`, and its inputs (membrane read after).
fn graph() -> (Graph, Program, RunInputs, String) {
    let params = [
        Param::Scalar(0.9f32),
        Param::Scalar(1.0),
        Param::Scalar(1.0),
    ];
    let layer = VertexLayer::new(
        Leaky::default(),
        SurrogateSpec::of(&Atan::default()),
        2,
        8,
        &params,
    )
    .unwrap();
    let target = Target::custom("two", 2, 6, 624 * 1024, 1.33e9).unwrap();
    let (g, _) = layer.graph(3, target, 2, Chunking::Whole).unwrap();
    let info = emulator::vertex(g.forward_vertex).unwrap();
    let name = |role| info.field_with(role).unwrap().name.clone();
    let x = g.graph.find_tensor(&name(FieldRole::Input(0))).unwrap();
    let spk = g.graph.find_tensor(&name(FieldRole::Spikes)).unwrap();
    let len = g.graph.tensor(x).len;
    let out = Program::StreamOut {
        from: spk.region(0..len),
        stream: "spikes".into(),
    };
    let program = Program::Sequence(vec![
        Program::StreamIn {
            stream: "x".into(),
            to: x.region(0..len),
        },
        g.forward.clone(),
        out.clone(),
        out,
    ]);
    let inputs = RunInputs {
        writes: vec![],
        streams_in: vec![(
            "x".into(),
            vec![Values::F32(
                (0..len).map(|i| (i % 7) as f32 * 0.4).collect(),
            )],
        )],
        read: vec![name(FieldRole::State(0))],
    };
    (g.graph, program, inputs, name(FieldRole::State(0)))
}

#[cfg(not(feature = "poplar"))]
#[test]
fn without_the_feature_the_run_is_refused_with_the_reason() {
    let reason = unavailable_reason().expect("a build without the feature says why");
    assert!(reason.contains("--features poplar") && reason.contains("enable.sh"));
    let (graph, program, inputs, _) = graph();
    let e = run_on_poplar(&graph, &program, &inputs, Device::IpuModel).unwrap_err();
    assert!(matches!(e, PoplarError::Unavailable(r) if r == reason));
}

#[cfg(feature = "poplar")]
#[test]
fn with_the_feature_nothing_is_missing() {
    assert_eq!(unavailable_reason(), None);
}

#[test]
fn arguments_are_checked_before_anything_runs() {
    let (graph, program, mut inputs, _) = graph();
    inputs.read.push("nope".into());
    let e = run_on_poplar(&graph, &program, &inputs, Device::Ipu).unwrap_err();
    assert!(
        matches!(&e, PoplarError::Emit(EmitError::Data(m)) if m.contains("`nope`")),
        "{e}"
    );
}

fn bytes(v: &Values) -> Vec<u8> {
    match v {
        Values::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Values::F16(v) => v.iter().flat_map(|x| x.to_bits().to_le_bytes()).collect(),
    }
}

#[test]
fn the_bridge_outputs_are_read_back_in_order() {
    let (graph, program, inputs, mem) = graph();
    let prepared = prepare(&graph, &program, &inputs).unwrap();
    assert!(prepared.description.contains("pop spikes float 48 -"));
    // what the bridge would return: the read tensor, then each copy out
    let mut engine = Engine::new(&graph, &program).unwrap();
    engine.push_stream("x", inputs.streams_in[0].1[0].clone());
    engine.run(&program).unwrap();
    let membrane = engine.read_tensor(&mem).unwrap().clone();
    let spikes = engine.stream_output("spikes").to_vec();
    assert_eq!(spikes.len(), 2);
    let mut returned = bytes(&membrane);
    spikes.iter().for_each(|s| returned.extend(bytes(s)));
    let out = prepared.outputs(&graph, &returned).unwrap();
    assert_eq!(out.tensors, vec![(mem, membrane)]);
    assert_eq!(out.streams, vec![("spikes".to_string(), spikes)]);
    // too few or too many bytes
    for wrong in [
        &returned[..returned.len() - 4],
        &[returned.clone(), vec![0]].concat(),
    ] {
        assert!(matches!(
            prepared.outputs(&graph, wrong),
            Err(PoplarError::Output(_))
        ));
    }
}

/// A fake SDK: `include/poplar/Graph.hpp`, `lib/libpoplar.so`, `bin/popc`.
fn fake_sdk(name: &str) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("fake_sdk_{name}"));
    let _ = std::fs::remove_dir_all(&root);
    for (dir, file) in [
        ("include/poplar", "Graph.hpp"),
        ("lib", "libpoplar.so"),
        ("bin", "popc"),
    ] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
        std::fs::write(root.join(dir).join(file), "").unwrap();
    }
    root
}

fn env_of(vars: Vec<(&'static str, OsString)>) -> impl Fn(&str) -> Option<OsString> {
    move |name| {
        vars.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
    }
}

fn join(dirs: &[&Path]) -> OsString {
    std::env::join_paths(dirs).unwrap()
}

#[test]
fn the_sdk_is_found_as_enable_sh_sets_it_up() {
    let root = fake_sdk("found");
    let elsewhere = Path::new("/nonexistent/dir");
    let env = env_of(vec![
        ("POPLAR_SDK_ENABLED", root.clone().into()),
        ("CPATH", join(&[elsewhere, &root.join("include")])),
        ("LIBRARY_PATH", join(&[&root.join("lib")])),
        ("PATH", join(&[elsewhere, &root.join("bin")])),
    ]);
    let found = sdk::locate(&env).unwrap();
    assert_eq!(
        found,
        sdk::Sdk {
            include: root.join("include"),
            lib: root.join("lib"),
            popc: root.join("bin/popc"),
        }
    );
    // POPLAR_SDK_ENABLED alone finds the headers and libraries
    let env = env_of(vec![
        ("POPLAR_SDK_ENABLED", root.clone().into()),
        ("PATH", join(&[&root.join("bin")])),
    ]);
    assert_eq!(sdk::locate(&env).unwrap().include, root.join("include"));
}

#[test]
fn a_missing_sdk_is_named_part_by_part() {
    let e = sdk::locate(&|_| None).unwrap_err();
    for needle in [
        "poplar/Graph.hpp",
        "libpoplar.so",
        "`popc` on PATH",
        "POPLAR_SDK_ENABLED is not set",
        "source <sdk>/enable.sh",
        "without `--features poplar`",
    ] {
        assert!(e.contains(needle), "{needle}: {e}");
    }
    // only popc missing: only popc named
    let root = fake_sdk("no_popc");
    std::fs::remove_file(root.join("bin/popc")).unwrap();
    let env = env_of(vec![
        ("POPLAR_SDK_ENABLED", root.clone().into()),
        ("CPATH", join(&[&root.join("include")])),
        ("LD_LIBRARY_PATH", join(&[&root.join("lib")])),
        ("PATH", join(&[&root.join("bin")])),
    ]);
    let e = sdk::locate(&env).unwrap_err();
    assert!(e.contains("`popc` on PATH"), "{e}");
    assert!(
        !e.contains("Graph.hpp") && !e.contains("libpoplar.so"),
        "{e}"
    );
    assert!(e.contains("POPLAR_SDK_ENABLED is set"), "{e}");
}
