//! `emit-poplar`: a small Leaky layer's forward graph, wrapped in a program
//! with every kind of step, written as a directory; its C++ checked against
//! the project's host-API stand-in (clang++, or g++ when clang++ is
//! absent); its description read back by the Rust parser (the same graph,
//! program and data) and by the C++ parser (the same tokens), and the graph
//! read back run by the graph emulator with the data's inputs, giving the
//! data's expected outputs bit for bit. Then every refusal.

use std::path::{Path, PathBuf};
use std::process::Command;

use snn_kernels::layer::Param;
use snn_kernels::models::Leaky;
use snn_kernels::surrogate::Atan;
use snn_kernels::F16;
use snn_poplar_host::emit::data::values_at;
use snn_poplar_host::emit::description::{parse, DataEntry};
use snn_poplar_host::emit::{
    emit_layer_example, write_poplar_dir, EmitData, EmitError, ExampleConfig, FILES, STAMP,
};
use snn_poplar_host::emulator::{self, Element};
use snn_poplar_host::graph::run::{Engine, Values};
use snn_poplar_host::graph::{Graph, Program, Target};
use snn_poplar_host::layer::Chunking;
use snn_poplar_host::{SurrogateSpec, VertexLayer};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh, empty directory for `name`.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("emit_poplar_{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// `clang++` when installed, else `g++` (always installed: the crate's
/// build needs it); panics when neither runs, so no check passes silently.
fn compiler() -> &'static str {
    let runs = |c: &str| {
        Command::new(c)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if runs("clang++") {
        "clang++"
    } else if runs("g++") {
        "g++"
    } else {
        panic!("neither clang++ nor g++ runs: the C++ cannot be checked");
    }
}

/// Syntax-checks `file` against the host-API stand-in, with warnings as
/// errors.
fn syntax_check(file: &Path) {
    let out = Command::new(compiler())
        .args([
            "-std=c++17",
            "-fsyntax-only",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-I",
        ])
        .arg(crate_dir().join("cpp/host_stand_in"))
        .arg(file)
        .output()
        .expect("the compiler runs");
    assert!(
        out.status.success(),
        "{} does not compile against the host stand-in:\n{}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn pattern(len: usize, seed: u32) -> Vec<f32> {
    (0..len)
        .map(|i| {
            let h = (i as u32 ^ seed).wrapping_mul(0x9E37_79B9).rotate_left(11);
            (h >> 8) as f32 / (1u32 << 24) as f32 * 2.5 - 0.5
        })
        .collect()
}

fn values<T: Element>(v: Vec<T>) -> Values {
    let any: &dyn std::any::Any = &v;
    match (
        any.downcast_ref::<Vec<f32>>(),
        any.downcast_ref::<Vec<F16>>(),
    ) {
        (Some(v), _) => Values::F32(v.clone()),
        (_, Some(v)) => Values::F16(v.clone()),
        _ => unreachable!("f32 or F16"),
    }
}

/// A Leaky layer's forward graph on a 4-tile target, in the program
/// `{StreamIn x, Repeat(2, {Execute}), Copy (first block's last membrane
/// row into its initial membrane), Execute, StreamOut spikes}`, with the
/// data: initial membrane written, inputs streamed, the spikes stream and
/// the final membrane expected as the graph emulator computes them.
fn small_graph<T: Element>() -> (Graph, Program, EmitData) {
    let (batch, neurons, steps) = (2, 10, 4);
    let n = batch * neurons;
    let params = [
        Param::Scalar(T::constant(0.9)),
        Param::Scalar(T::constant(1.0)),
        Param::Scalar(T::constant(1.0)),
    ];
    let layer = VertexLayer::new(
        Leaky::default(),
        SurrogateSpec::of(&Atan::default()),
        batch,
        neurons,
        &params,
    )
    .unwrap();
    let target = Target::custom("small", 4, 6, 624 * 1024, 1.33e9).unwrap();
    let (g, constants) = layer.graph(steps, target, 4, Chunking::Whole).unwrap();
    assert!(
        constants
            .iter()
            .all(|(name, _)| name.starts_with("no_grad")),
        "scalar parameters are members"
    );
    assert!(g.blocks.len() > 1, "the layer is split over tiles");
    let info = emulator::vertex(g.forward_vertex).unwrap();
    let name = |role| info.field_with(role).unwrap().name.clone();
    use snn_codelet_gen::FieldRole;
    let (x, spk, mem, init) = (
        name(FieldRole::Input(0)),
        name(FieldRole::Spikes),
        name(FieldRole::State(0)),
        name(FieldRole::InitialState(0)),
    );
    let id = |n: &str| g.graph.find_tensor(n).unwrap();
    let padded = g.padded();
    let b0 = g.blocks[0].clone();
    let program = Program::Sequence(vec![
        Program::StreamIn {
            stream: "x".into(),
            to: id(&x).region(0..steps * padded),
        },
        Program::Repeat(2, Box::new(Program::Sequence(vec![g.forward.clone()]))),
        Program::Copy {
            from: id(&mem).region((steps - 1) * b0.len()..steps * b0.len()),
            to: id(&init).region(b0.clone()),
        },
        g.forward.clone(),
        Program::StreamOut {
            from: id(&spk).region(0..steps * padded),
            stream: "spikes".into(),
        },
    ]);
    let to_t = |v: Vec<f32>| -> Vec<T> { v.into_iter().map(|x| T::constant(x as f64)).collect() };
    let input = values(g.to_blocks(&to_t(pattern(steps * n, 1)), steps, n, T::zero()));
    let initial = values(g.to_blocks(&to_t(pattern(n, 2)), 1, n, T::zero()));
    let writes = vec![(init.clone(), initial)];
    let streams_in = vec![("x".to_string(), vec![input])];

    let mut engine = Engine::new(&g.graph, &program).unwrap();
    for (t, v) in &writes {
        engine.write_tensor(t, v.clone()).unwrap();
    }
    engine.push_stream("x", streams_in[0].1[0].clone());
    engine.run(&program).unwrap();
    let data = EmitData {
        writes,
        streams_in,
        expected_tensors: vec![(mem.clone(), engine.read_tensor(&mem).unwrap().clone())],
        expected_streams: vec![("spikes".into(), engine.stream_output("spikes").to_vec())],
    };
    (g.graph, program, data)
}

fn bits(v: &Values) -> Vec<u32> {
    match v {
        Values::F32(v) => v.iter().map(|x| x.to_bits()).collect(),
        Values::F16(v) => v.iter().map(|x| u32::from(x.to_bits())).collect(),
    }
}

/// Reads `dir` back as host.cpp would, but with the graph emulator: the
/// graph rebuilt from graph.txt, the inputs of data.bin written and
/// streamed, run, every expected output compared bit for bit. Returns the
/// graph and program read.
fn run_back(dir: &Path) -> (Graph, Program) {
    let text = std::fs::read_to_string(dir.join("graph.txt")).unwrap();
    let data = std::fs::read(dir.join("data.bin")).unwrap();
    let p = parse(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.data_bytes, data.len() as u64);
    let tensor = |k: usize| &p.graph.tensors()[k];
    let mut engine = Engine::new(&p.graph, &p.program).unwrap();
    for e in &p.data {
        match e {
            DataEntry::Write { tensor: k, offset } => {
                let t = tensor(*k);
                let v = values_at(&data, t.element, t.len as u64, *offset).unwrap();
                engine.write_tensor(&t.name, v).unwrap();
            }
            DataEntry::Push {
                stream,
                element,
                count,
                offset,
            } => engine.push_stream(stream, values_at(&data, *element, *count, *offset).unwrap()),
            _ => {}
        }
    }
    engine.run(&p.program).unwrap();
    let (mut compared, mut popped) = (0, std::collections::BTreeMap::<&str, usize>::new());
    for e in &p.data {
        match e {
            DataEntry::Read {
                tensor: k,
                expected: Some(at),
            } => {
                let t = tensor(*k);
                let want = values_at(&data, t.element, t.len as u64, *at).unwrap();
                let got = engine.read_tensor(&t.name).unwrap();
                assert_eq!(bits(got), bits(&want), "tensor `{}`", t.name);
                compared += 1;
            }
            DataEntry::Pop {
                stream,
                element,
                count,
                expected,
            } => {
                let i = popped.entry(stream).or_default();
                if let Some(at) = expected {
                    let want = values_at(&data, *element, *count, *at).unwrap();
                    let got = &engine.stream_output(stream)[*i];
                    assert_eq!(bits(got), bits(&want), "stream `{stream}` copy {i}");
                    compared += 1;
                }
                *i += 1;
            }
            _ => {}
        }
    }
    assert!(compared > 0, "the data expects outputs");
    (p.graph, p.program)
}

/// The description's tokens from `tensors` on, as the C++ check prints
/// them (hexadecimal member bits in decimal).
fn rust_tokens(text: &str) -> Vec<String> {
    let tokens: Vec<String> = text
        .lines()
        .map(|l| l.split('#').next().unwrap())
        .flat_map(|l| l.split_ascii_whitespace())
        .map(|t| match t.strip_prefix("0x") {
            Some(h) => u32::from_str_radix(h, 16).unwrap().to_string(),
            None => t.to_string(),
        })
        .collect();
    let at = tokens.iter().position(|t| t == "tensors").unwrap();
    tokens[at..].to_vec()
}

/// Compiles `cpp/host/check_parse.cpp` (graph_runner.hpp's parser and
/// comparison, without Poplar) once.
fn check_parse_binary() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let exe = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("emit_poplar_check_parse");
            let out = Command::new("g++")
                .args(["-std=c++17", "-O1", "-Wall", "-Wextra", "-Werror", "-I"])
                .arg(crate_dir().join("cpp/host_stand_in"))
                .arg(crate_dir().join("cpp/host/check_parse.cpp"))
                .arg("-o")
                .arg(&exe)
                .output()
                .expect("g++ runs");
            assert!(
                out.status.success(),
                "check_parse.cpp: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            exe
        })
        .clone()
}

/// The C++ parser reads `dir` as the Rust writer wrote it, and its
/// comparison sees one ulp in every expected output moved by one.
fn check_cpp_parser(dir: &Path) {
    let out = Command::new(check_parse_binary())
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    let text = std::fs::read_to_string(dir.join("graph.txt")).unwrap();
    let parsed = parse(&text).unwrap();
    let used = parsed
        .graph
        .tensors()
        .iter()
        .flat_map(|t| t.mapping.iter().map(|m| m.0))
        .chain(
            parsed
                .graph
                .compute_sets()
                .iter()
                .flat_map(|c| c.vertices.iter().map(|v| v.tile)),
        )
        .max()
        .unwrap()
        + 1;
    assert_eq!(lines[..2], ["tiles_used", &used.to_string()]);
    let end = lines.iter().position(|l| *l == "end").unwrap();
    assert_eq!(
        lines[2..=end],
        rust_tokens(&text),
        "C++ parser vs Rust writer"
    );
    let compares: Vec<&str> = lines[end + 1..].to_vec();
    let expected = parsed
        .data
        .iter()
        .filter(|e| {
            matches!(
                e,
                DataEntry::Read {
                    expected: Some(_),
                    ..
                } | DataEntry::Pop {
                    expected: Some(_),
                    ..
                }
            )
        })
        .count();
    assert_eq!(compares.len(), expected);
    for c in compares {
        let words: Vec<&str> = c.split(' ').collect();
        assert_eq!(words[0], "compare");
        // element 0 of these outputs is a finite number below the maximum
        assert_eq!(words[2..], ["1", "1"], "{c}");
    }
}

fn emit_and_check<T: Element>(name: &str) {
    let (graph, program, data) = small_graph::<T>();
    let dir = scratch(name);
    write_poplar_dir(&dir, &graph, &program, &data).unwrap();
    for f in FILES {
        assert!(dir.join(f).is_file(), "{f} written");
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("codelets.cpp")).unwrap(),
        std::fs::read_to_string(emulator::CODELETS_PATH).unwrap(),
        "codelets.cpp is what the build script generated"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("host.cpp")).unwrap(),
        std::fs::read_to_string(crate_dir().join("cpp/host/host_main.cpp")).unwrap()
    );
    let makefile = std::fs::read_to_string(dir.join("Makefile")).unwrap();
    assert!(
        makefile.contains("\t$(POPC) -O3 -Werror -Wdouble-promotion codelets.cpp -o codelets.gp")
    );
    assert!(makefile.contains("-lpoplar -lpoputil -lpopops"));
    syntax_check(&dir.join("host.cpp"));

    let (g, p) = run_back(&dir);
    assert_eq!(g.target(), graph.target());
    assert_eq!(g.tensors(), graph.tensors());
    assert_eq!(g.compute_sets(), graph.compute_sets());
    assert_eq!(p, program);
    check_cpp_parser(&dir);
}

#[test]
fn a_float_layer_graph_is_emitted_and_reads_back() {
    emit_and_check::<f32>("f32");
}

#[test]
fn a_half_layer_graph_is_emitted_and_reads_back() {
    emit_and_check::<F16>("f16");
}

#[test]
fn the_bridge_compiles_against_the_stand_in() {
    syntax_check(&crate_dir().join("cpp/bridge/bridge.cpp"));
}

#[test]
fn the_layer_example_reads_back() {
    let dir = scratch("example");
    let config = ExampleConfig {
        batch: 3,
        neurons: 7,
        steps: 5,
        chunks: 3,
        tiles: 3,
        half: true,
    };
    let summary = emit_layer_example(&dir, &config).unwrap();
    assert_eq!(summary.tiles, 3);
    assert_eq!(summary.total_steps, 15);
    assert_eq!(
        summary.data_bytes as u64,
        std::fs::metadata(dir.join("data.bin")).unwrap().len()
    );
    let (_, program) = run_back(&dir);
    assert!(matches!(program, Program::Repeat(3, _)));
    check_cpp_parser(&dir);
    // refused sizes
    for bad in [
        ExampleConfig { batch: 0, ..config },
        ExampleConfig {
            tiles: 1473,
            ..config
        },
        ExampleConfig {
            steps: 1 << 22,
            ..config
        },
    ] {
        assert!(matches!(
            emit_layer_example(&scratch("example_bad"), &bad),
            Err(EmitError::Example(_))
        ));
    }
}

#[test]
fn directories_that_are_not_an_emit_are_refused() {
    let (graph, program, data) = small_graph::<f32>();
    let dir = scratch("dirs");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("notes.txt"), "mine").unwrap();
    let e = write_poplar_dir(&dir, &graph, &program, &data).unwrap_err();
    assert!(
        matches!(&e, EmitError::Directory(m) if m.contains("notes.txt") && m.contains(STAMP)),
        "{e}"
    );
    assert!(!dir.join("graph.txt").exists(), "nothing written");
    // a file
    let file = dir.join("notes.txt");
    assert!(matches!(
        write_poplar_dir(&file, &graph, &program, &data),
        Err(EmitError::Directory(_))
    ));
    // a previous emit is replaced; an empty directory is fine
    let again = scratch("dirs_again");
    write_poplar_dir(&again, &graph, &program, &data).unwrap();
    std::fs::write(again.join("graph.txt"), "stale").unwrap();
    write_poplar_dir(&again, &graph, &program, &data).unwrap();
    assert!(std::fs::read_to_string(again.join("graph.txt"))
        .unwrap()
        .starts_with("snn-ipu-graph 1"));
    let empty = scratch("dirs_empty");
    std::fs::create_dir_all(&empty).unwrap();
    write_poplar_dir(&empty, &graph, &program, &data).unwrap();
}

#[test]
fn data_that_does_not_fit_is_refused() {
    let (graph, program, data) = small_graph::<f32>();
    let dir = scratch("bad_data");
    let refused = |d: &EmitData, needle: &str| {
        let e = write_poplar_dir(&dir, &graph, &program, d).unwrap_err();
        assert!(
            matches!(&e, EmitError::Data(m) if m.contains(needle)),
            "{needle}: {e}"
        );
        assert!(!dir.exists(), "nothing written");
    };
    let mut d = data.clone();
    d.writes[0].0 = "nope".into();
    refused(&d, "no tensor of this name");
    let mut d = data.clone();
    d.writes[0].1 = Values::F32(vec![0.0; 3]);
    refused(&d, "3 Float values given");
    let mut d = data.clone();
    d.writes[0].1 = Values::F16(vec![F16::from_f32(0.0); bits(&data.writes[0].1).len()]);
    refused(&d, "Half values given");
    let mut d = data.clone();
    d.writes.push(d.writes[0].clone());
    refused(&d, "written twice");
    let mut d = data.clone();
    let first = d.streams_in[0].1[0].clone();
    d.streams_in[0].1.push(first);
    refused(&d, "copies from it 1 times, 2 values given");
    let mut d = data.clone();
    d.streams_in.clear();
    refused(&d, "0 values given");
    let mut d = data.clone();
    d.streams_in.push(("other".into(), vec![]));
    refused(&d, "copies nothing from it");
    let mut d = data.clone();
    d.expected_streams[0].1.clear();
    refused(&d, "copies into it 1 times, 0 values given");
    let mut d = data.clone();
    d.expected_streams[0].0 = "x".into();
    refused(&d, "device-to-host stream of this name");
    let mut d = data.clone();
    d.expected_tensors.clear();
    d.expected_streams.clear();
    refused(&d, "no expected outputs");
}

#[test]
fn graphs_the_description_cannot_hold_are_refused() {
    let (graph, program, data) = small_graph::<f32>();
    let dir = scratch("bad_graph");
    // an invalid program: a compute set copied into a tensor too short
    let bad = Program::Sequence(vec![
        program.clone(),
        Program::Copy {
            from: graph.find_tensor(&data.writes[0].0).unwrap().region(0..4),
            to: graph.find_tensor(&data.writes[0].0).unwrap().region(0..3),
        },
    ]);
    assert!(matches!(
        write_poplar_dir(&dir, &graph, &bad, &data),
        Err(EmitError::Invalid(_))
    ));
    // a stream name with a space
    let Program::Sequence(mut items) = program.clone() else {
        unreachable!()
    };
    if let Program::StreamIn { stream, .. } = &mut items[0] {
        *stream = "x y".into();
    }
    let spaced = Program::Sequence(items);
    let e = write_poplar_dir(&dir, &graph, &spaced, &data).unwrap_err();
    assert!(
        matches!(&e, EmitError::Graph(m) if m.contains("`x y`")),
        "{e}"
    );
    // a program nested deeper than the description allows
    let mut deep = program.clone();
    for _ in 0..250 {
        deep = Program::Sequence(vec![deep]);
    }
    let e = write_poplar_dir(&dir, &graph, &deep, &data).unwrap_err();
    assert!(
        matches!(&e, EmitError::Graph(m) if m.contains("nests")),
        "{e}"
    );
    // one stream name for both directions
    let Program::Sequence(mut items) = program.clone() else {
        unreachable!()
    };
    if let Program::StreamOut { stream, .. } = &mut items[4] {
        *stream = "x".into();
    }
    let e = write_poplar_dir(&dir, &graph, &Program::Sequence(items), &data).unwrap_err();
    assert!(
        matches!(&e, EmitError::Stream(m) if m.contains("both")),
        "{e}"
    );
    assert!(!dir.exists(), "nothing written");
}

#[test]
fn descriptions_that_are_wrong_are_refused_with_the_line() {
    let (graph, program, data) = small_graph::<f32>();
    let dir = scratch("parse");
    write_poplar_dir(&dir, &graph, &program, &data).unwrap();
    let text = std::fs::read_to_string(dir.join("graph.txt")).unwrap();
    let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let cases = [
        (
            text.replacen("snn-ipu-graph 1", "snn-ipu-graph 2", 1),
            1,
            "version 2",
        ),
        (
            text.replacen("execute 0", "execute 9", 1),
            line_of("execute 0"),
            "compute set 9 does not exist",
        ),
        (
            text.replacen("  map 0 ", "  map 99 ", 1),
            line_of("  map 0 "),
            "tile 99 does not exist",
        ),
        (
            text.replacen(" unsigned ", " float ", 1),
            line_of(" unsigned "),
            "is not 0x",
        ),
        (text.replacen("\nend\n", "\n", 1), 0, "`end`"),
        (
            format!("{text}more\n"),
            text.lines().count() + 1,
            "after `end`",
        ),
    ];
    for (bad, line, needle) in cases {
        let e = parse(&bad).unwrap_err();
        assert_eq!(e.line, line, "{needle}: {e}");
        assert!(e.problem.contains(needle), "{needle}: {e}");
    }
    // the C++ parser refuses too, naming the line
    let bad = scratch("parse_cpp");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::write(
        bad.join("graph.txt"),
        text.replacen("execute 0", "execute 9", 1),
    )
    .unwrap();
    std::fs::copy(dir.join("data.bin"), bad.join("data.bin")).unwrap();
    let out = Command::new(check_parse_binary())
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("line {}", line_of("execute 0")))
            && stderr.contains("compute set 9 does not exist"),
        "{stderr}"
    );
}
