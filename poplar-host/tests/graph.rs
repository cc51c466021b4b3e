//! The graph description and its checks: a well-formed graph of generated
//! vertices validates; each kind of mistake is found and named.

use snn_codelet_gen::{Direction, Element, MemberType};
use snn_kernels::F16;
use snn_poplar_host::emulator::{self, MemberValue};
use snn_poplar_host::graph::{Graph, GraphError, Program, Target, TensorId, VertexId};

const VERTEX: &str = "snn::LeakyFwdSeq<float,snn::subtract,snn::scalar>";
const N: usize = 8;
const STEPS: u32 = 3;

fn target(tiles: u32) -> Target {
    Target::custom("test", tiles, 6, 64 * 1024, 1e9).expect("a valid target")
}

/// The value every test gives a member of type `ty`: `steps` for the
/// unsigned one, 0.5 for the others.
fn member_value(ty: MemberType, steps: u32) -> MemberValue {
    match ty {
        MemberType::Unsigned => MemberValue::Unsigned(steps),
        MemberType::Float => MemberValue::Float(0.5),
        MemberType::Half => MemberValue::Half(F16::from_f32(0.5)),
    }
}

/// Sets every member of `VERTEX` instance `v` ([`member_value`]).
fn set_members(graph: &mut Graph, v: VertexId, steps: u32) {
    for m in &emulator::vertex(VERTEX).unwrap().members {
        graph
            .set_initial_value(v, &m.name, member_value(m.ty, steps))
            .unwrap();
    }
}

/// Two vertices on tiles 0 and 1, each field's data in a tensor of its own
/// (`[2][length]`, row k on tile k): what `validate` must accept.
struct Built {
    graph: Graph,
    program: Program,
    vertices: Vec<VertexId>,
    tensors: Vec<(String, TensorId, usize)>,
}

fn build(steps_member: u32, connect_all: bool) -> Built {
    let info = emulator::vertex(VERTEX).expect("the vertex is generated");
    let mut graph = Graph::new(target(4));
    let cs = graph.add_compute_set("forward");
    let mut tensors = Vec::new();
    for f in &info.fields {
        let len = f.length.of(N, STEPS as usize).unwrap();
        let t = graph.add_variable(f.element, &[2, len], &f.name).unwrap();
        graph.set_tile_mapping(t, 0..len, 0).unwrap();
        graph.set_tile_mapping(t, len..2 * len, 1).unwrap();
        tensors.push((f.name.clone(), t, len));
    }
    let mut vertices = Vec::new();
    for k in 0..2u32 {
        let v = graph.add_vertex(cs, VERTEX, k).unwrap();
        for (i, (name, t, len)) in tensors.iter().enumerate() {
            if !connect_all && i == tensors.len() - 1 {
                continue;
            }
            let at = k as usize * len;
            graph.connect(v, name, t.region(at..at + len)).unwrap();
        }
        set_members(&mut graph, v, steps_member);
        vertices.push(v);
    }
    Built {
        graph,
        program: Program::Sequence(vec![Program::Repeat(2, Box::new(Program::Execute(cs)))]),
        vertices,
        tensors,
    }
}

fn errors(graph: &Graph, program: &Program) -> Vec<String> {
    graph
        .validate(program)
        .expect_err("the graph must be refused")
        .iter()
        .map(GraphError::to_string)
        .collect()
}

fn assert_one(found: &[String], needle: &str) {
    assert!(
        found.iter().any(|e| e.contains(needle)),
        "no error mentions `{needle}`: {found:#?}"
    );
}

#[test]
fn a_well_formed_graph_of_generated_vertices_validates() {
    let b = build(STEPS, true);
    b.graph.validate(&b.program).expect("valid");
    assert_eq!(b.graph.compute_sets()[0].vertices.len(), 2);
}

#[test]
fn unconnected_fields_and_wrong_lengths_are_named() {
    let b = build(STEPS, false);
    let last = &b.tensors.last().unwrap().0;
    assert_one(
        &errors(&b.graph, &b.program),
        &format!("field `{last}` is not connected"),
    );
    // steps = 4: the sequence fields hold 3 steps
    let b = build(4, true);
    let found = errors(&b.graph, &b.program);
    assert_one(&found, "(steps x n with n = 8, steps = 4)");
}

#[test]
fn mapping_gaps_overlaps_and_odd_half_intervals_are_refused() {
    let mut graph = Graph::new(target(4));
    let t = graph.add_variable(Element::Float, &[10], "gappy").unwrap();
    graph.set_tile_mapping(t, 0..4, 0).unwrap();
    graph.set_tile_mapping(t, 6..10, 1).unwrap();
    let u = graph.add_variable(Element::Float, &[10], "twice").unwrap();
    graph.set_tile_mapping(u, 0..6, 0).unwrap();
    graph.set_tile_mapping(u, 5..10, 1).unwrap();
    let h = graph.add_variable(Element::Half, &[10], "halves").unwrap();
    graph.set_tile_mapping(h, 0..3, 0).unwrap();
    graph.set_tile_mapping(h, 3..10, 1).unwrap();
    let found = errors(&graph, &Program::Sequence(vec![]));
    assert_one(&found, "tensor `gappy`: elements 4..6 are not mapped");
    assert_one(&found, "tensor `twice`: element 5 is mapped twice");
    assert_one(
        &found,
        "tensor `halves`: the interval on tile 1 starts at element 3",
    );
    // and what cannot be asked at all
    assert!(graph.set_tile_mapping(t, 0..4, 9).is_err(), "no tile 9");
    assert!(graph.set_tile_mapping(t, 8..12, 0).is_err(), "past the end");
    assert!(graph
        .add_variable(Element::Float, &[1 << 20, 1 << 20], "huge")
        .is_err());
    assert!(
        graph.add_variable(Element::Float, &[1], "gappy").is_err(),
        "a name twice"
    );
}

#[test]
fn data_on_another_tile_and_misaligned_fields_are_refused() {
    // the same two vertices; the first field's data of vertex 1 on tile 2,
    // and every field of vertex 1 one element into its interval
    let info = emulator::vertex(VERTEX).unwrap();
    let name = info.fields[0].name.clone();
    let mut graph = Graph::new(target(4));
    let cs = graph.add_compute_set("forward");
    let mut ids = Vec::new();
    for f in &info.fields {
        let l = f.length.of(N, STEPS as usize).unwrap();
        let id = graph
            .add_variable(f.element, &[2 * l + 1], &f.name)
            .unwrap();
        let moved = f.name == name;
        graph.set_tile_mapping(id, 0..l, 0).unwrap();
        graph
            .set_tile_mapping(id, l..2 * l + 1, if moved { 2 } else { 1 })
            .unwrap();
        ids.push((f.name.clone(), id, l));
    }
    for k in 0..2u32 {
        let v = graph.add_vertex(cs, VERTEX, k).unwrap();
        for (fname, id, l) in &ids {
            // vertex 1 starts one element into its interval: 4 bytes, not 8
            let at = if k == 0 { 0 } else { l + 1 };
            graph.connect(v, fname, id.region(at..at + l)).unwrap();
        }
        set_members(&mut graph, v, STEPS);
    }
    let found = errors(&graph, &Program::Execute(cs));
    assert_one(&found, &format!("field `{name}`: elements"));
    assert_one(&found, "mapped to tile 1");
    assert_one(&found, "must be 8-byte aligned");
}

#[test]
fn two_vertices_writing_one_region_in_a_compute_set_race() {
    let info = emulator::vertex(VERTEX).unwrap();
    let output = info
        .fields
        .iter()
        .find(|f| f.direction == Direction::Output)
        .expect("an output field");
    let input = info
        .fields
        .iter()
        .find(|f| f.direction == Direction::Input)
        .expect("an input field");
    // two vertices on tile 0 connected to the same regions
    let mut graph = Graph::new(target(2));
    let cs = graph.add_compute_set("racy");
    let mut ids = Vec::new();
    for f in &info.fields {
        let l = f.length.of(N, STEPS as usize).unwrap();
        let id = graph.add_variable(f.element, &[l], &f.name).unwrap();
        graph.set_tile_mapping(id, 0..l, 0).unwrap();
        ids.push((f.name.clone(), id, l));
    }
    for _ in 0..2 {
        let v = graph.add_vertex(cs, VERTEX, 0).unwrap();
        for (fname, id, l) in &ids {
            graph.connect(v, fname, id.region(0..*l)).unwrap();
        }
        set_members(&mut graph, v, STEPS);
    }
    let found = errors(&graph, &Program::Execute(cs));
    assert_one(
        &found,
        &format!("(`{}`) and 1 (`{}`) both write", output.name, output.name),
    );
    // inputs read by both are fine: no race reported on them
    assert!(
        !found
            .iter()
            .any(|e| e.contains(&format!("(`{}`) and 1 (`{}`)", input.name, input.name))),
        "{found:#?}"
    );
}

#[test]
fn vertices_members_and_programs_that_do_not_exist_are_refused() {
    let mut b = build(STEPS, true);
    let v = b.vertices[0];
    let cs = b.graph.add_compute_set("more");
    let e = b
        .graph
        .add_vertex(cs, "snn::NoSuchVertex<float>", 0)
        .unwrap_err();
    assert!(
        e.to_string().contains("no generated vertex has this name"),
        "{e}"
    );
    let e = b.graph.add_vertex(cs, VERTEX, 7).unwrap_err();
    assert!(e.to_string().contains("tile 7 does not exist"), "{e}");
    let (_, t, _) = b.tensors[0].clone();
    let e = b.graph.connect(v, "wings", t.region(0..1)).unwrap_err();
    assert!(e.to_string().contains("has no field `wings`"), "{e}");
    let e = b
        .graph
        .set_initial_value(v, "steps", MemberValue::Float(3.0))
        .unwrap_err();
    assert!(e.to_string().contains("member `steps` is Unsigned"), "{e}");
    let bad = Program::Sequence(vec![
        Program::Copy {
            from: t.region(0..4),
            to: t.region(0..5),
        },
        Program::StreamIn {
            stream: "in".into(),
            to: t.region(0..100_000),
        },
    ]);
    let found = errors(&b.graph, &bad);
    assert_one(&found, "lengths and types must match");
    assert_one(
        &found,
        "stream `in`: elements 0..100000 are not within tensor",
    );
}

#[test]
fn linear_mapping_maps_every_element_once_in_whole_grains() {
    for (len, grain, min, tiles) in [
        (1000usize, 4usize, 1usize, 6u32),
        (7, 2, 1, 6),
        (1_000_000, 8, 256, 1472),
        (5, 8, 1, 3),
    ] {
        let mut graph = Graph::new(target(tiles));
        let t = graph.add_variable(Element::Half, &[len], "x").unwrap();
        let used = graph.map_linearly(t, grain, min).unwrap();
        graph
            .validate(&Program::Sequence(vec![]))
            .expect("every element once");
        let mapping = &graph.tensor(t).mapping;
        assert_eq!(mapping.len(), used as usize);
        for (k, (tile, r)) in mapping.iter().enumerate() {
            assert_eq!(*tile, k as u32);
            assert_eq!(r.start % grain, 0, "{len}/{grain}: whole grains");
            if k + 1 < mapping.len() {
                assert!(r.len() >= min, "{len}/{grain}: at least {min} per tile");
            }
        }
        let sizes: Vec<usize> = mapping
            .iter()
            .map(|(_, r)| r.len().div_ceil(grain))
            .collect();
        let (lo, hi) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
        assert!(hi - lo <= 1, "{len}/{grain}: even in grains: {sizes:?}");
    }
}

#[test]
fn targets_are_the_seed_papers_chips_or_checked() {
    let gc200 = Target::gc200();
    assert_eq!(
        (gc200.tiles, gc200.workers, gc200.bytes_per_tile),
        (1472, 6, 624 * 1024)
    );
    assert_eq!(gc200.clock_hz, 1.33e9);
    assert_eq!(Target::bow().clock_hz, 1.85e9);
    assert_eq!(Target::preset("BOW"), Some(Target::bow()));
    assert_eq!(Target::preset("gc300"), None);
    for (tiles, workers, bytes, clock) in [
        (0u32, 6u32, 1u64, 1.0f64),
        (1, 0, 1, 1.0),
        (1, 6, 0, 1.0),
        (1, 6, 1, f64::NAN),
        (1, 6, 1, -1.0),
    ] {
        assert!(Target::custom("bad", tiles, workers, bytes, clock).is_err());
    }
}

/// A value pattern with full mantissas around the threshold.
fn pattern(len: usize, seed: u32) -> Vec<f32> {
    (0..len)
        .map(|i| {
            let h = (i as u32 ^ seed).wrapping_mul(0x9E37_79B9).rotate_left(7);
            (h >> 8) as f32 / (1u32 << 24) as f32 * 3.0 - 1.0
        })
        .collect()
}

#[test]
fn the_graph_emulator_runs_a_split_layer_as_one_vertex_over_all_elements() {
    use snn_codelet_gen::Length;
    use snn_poplar_host::emulator::{Buffer, RunOptions};
    use snn_poplar_host::graph::run::{Engine, Values};

    let info = emulator::vertex(VERTEX).unwrap();
    let b = build(STEPS, true);
    let mut engine = Engine::new(&b.graph, &b.program).expect("a valid graph");
    let steps = STEPS as usize;
    // the values of each field over all 2N elements, laid out as one vertex
    // reads them ([rows][2N]), and the same values as the graph holds them
    // ([vertex][rows][N])
    let rows_of = |length: Length| match length {
        Length::Elements => 1,
        Length::StepsByElements => steps,
        Length::RowsByElements(r) => r as usize,
        other => panic!("a neuron vertex has no field of length {other}"),
    };
    let to_graph = |whole: &[f32], rows: usize| -> Vec<f32> {
        let mut out = vec![0.0; whole.len()];
        for k in 0..2 {
            for r in 0..rows {
                for i in 0..N {
                    out[k * rows * N + r * N + i] = whole[r * 2 * N + k * N + i];
                }
            }
        }
        out
    };
    let mut whole: Vec<Vec<f32>> = Vec::new();
    for (j, f) in info.fields.iter().enumerate() {
        let rows = rows_of(f.length);
        let values = pattern(rows * 2 * N, j as u32 + 1);
        engine
            .write_tensor(&f.name, Values::F32(to_graph(&values, rows)))
            .unwrap();
        whole.push(values);
    }
    engine.run(&b.program).expect("the program runs");
    // the same vertex once over all 2N elements, twice (the program repeats)
    let members: Vec<(&str, MemberValue)> = info
        .members
        .iter()
        .map(|m| (m.name.as_str(), member_value(m.ty, STEPS)))
        .collect();
    for _ in 0..2 {
        let mut fields: Vec<(&str, Buffer<'_>)> = info
            .fields
            .iter()
            .zip(whole.iter_mut())
            .map(|(f, v)| (f.name.as_str(), Buffer::F32Mut(v.as_mut_slice())))
            .collect();
        emulator::run_vertex(VERTEX, &mut fields, &members, RunOptions::default()).unwrap();
    }
    let mut compared = 0;
    for (f, values) in info.fields.iter().zip(&whole) {
        let expected = to_graph(values, rows_of(f.length));
        let Values::F32(got) = engine.read_tensor(&f.name).unwrap() else {
            panic!("float tensor");
        };
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(got), bits(&expected), "field `{}`", f.name);
        compared += got.len();
    }
    assert!(compared > 0);
    // a stream in, a copy, a stream out
    let (name, t, len) = b.tensors[0].clone();
    let mut graph = b.graph.clone();
    let out = graph
        .add_variable(Element::Float, &[2 * len], "out")
        .unwrap();
    graph.map_linearly(out, 2, 1).unwrap();
    let io = Program::Sequence(vec![
        Program::StreamIn {
            stream: "in".into(),
            to: t.region(0..2 * len),
        },
        Program::Copy {
            from: t.region(0..2 * len),
            to: out.region(0..2 * len),
        },
        Program::StreamOut {
            from: out.region(len..2 * len),
            stream: "back".into(),
        },
    ]);
    let mut engine = Engine::new(&graph, &io).unwrap();
    let sent = pattern(2 * len, 99);
    engine.push_stream("in", Values::F32(sent.clone()));
    engine.run(&io).unwrap();
    assert_eq!(
        engine.stream_output("back"),
        &[Values::F32(sent[len..].to_vec())],
        "`{name}` through a copy"
    );
    let e = engine.run(&io).unwrap_err();
    assert!(e.to_string().contains("`in` has no values left"), "{e}");
}

#[test]
fn memory_is_counted_per_tile_and_a_graph_that_does_not_fit_is_refused() {
    let b = build(STEPS, true);
    let info = emulator::vertex(VERTEX).unwrap();
    let report = b.graph.check_memory().expect("it fits 64 KiB tiles");
    // by hand: each tile holds one row of every field tensor (8-byte rounded)
    // and one vertex's state
    let tensor_bytes: u64 = info
        .fields
        .iter()
        .map(|f| ((f.length.of(N, STEPS as usize).unwrap() * 4) as u64).div_ceil(8) * 8)
        .sum();
    let state: u64 = info
        .fields
        .iter()
        .map(|f| match f.layout {
            snn_codelet_gen::Layout::Span => 8u64,
            snn_codelet_gen::Layout::OnePtr => 4,
        })
        .sum::<u64>()
        + 4 * info.members.len() as u64;
    let state = state.div_ceil(8) * 8;
    for tile in 0..2 {
        assert_eq!(report.tiles[tile].tensors, tensor_bytes, "tile {tile}");
        assert_eq!(report.tiles[tile].vertex_state, state, "tile {tile}");
    }
    // code: 256 + 8 bytes per statement of the vertex (23, see tests/cost.rs);
    // stacks: 6 workers * 256 bytes
    for tile in 0..2 {
        assert_eq!(report.tiles[tile].code, 256 + 8 * 23, "tile {tile}");
        assert_eq!(report.tiles[tile].stacks, 6 * 256, "tile {tile}");
    }
    assert_eq!(report.tiles_used(), 2);
    assert_eq!(report.tiles[2].total(), 0);
    assert_eq!(
        report.mean_used(),
        (tensor_bytes + state + 440 + 1536) as f64
    );

    // a half tensor of 3 elements takes 8 bytes
    let mut graph = Graph::new(target(1));
    let h = graph.add_variable(Element::Half, &[3], "h").unwrap();
    graph.set_tile_mapping(h, 0..3, 0).unwrap();
    assert_eq!(graph.memory().tiles[0].tensors, 8);

    // too much on one tile: refused, naming the tile, the bytes and what to do
    let mut small = Graph::new(Target::custom("small", 2, 6, 1000, 1e9).unwrap());
    let big = small.add_variable(Element::Float, &[300], "big").unwrap();
    small.set_tile_mapping(big, 0..10, 0).unwrap();
    small.set_tile_mapping(big, 10..300, 1).unwrap();
    let e = small.check_memory().unwrap_err();
    assert_eq!(
        (e.tile, e.needed.total(), e.available, e.tiles_over),
        (1, 1160, 1000, 1)
    );
    let message = e.to_string();
    for needle in [
        "tile 1 needs 1160 bytes and has 1000",
        "time chunking",
        "fp16",
        "smaller batch",
    ] {
        assert!(message.contains(needle), "{message}");
    }
    // spread evenly, it fits
    let mut even = Graph::new(Target::custom("small", 2, 6, 1000, 1e9).unwrap());
    let t = even.add_variable(Element::Float, &[300], "big").unwrap();
    even.map_linearly(t, 2, 1).unwrap();
    assert_eq!(even.check_memory().unwrap().max().1.total(), 600);
}
