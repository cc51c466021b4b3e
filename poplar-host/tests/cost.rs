//! The cycle estimate and the memory per tile against arithmetic done by
//! hand from the cost table of `docs/ipu-cost-model.md` (every number
//! written out here, none taken from the code under test), and the op
//! counts the estimate reads.

use snn_codelet_gen::{Element, MemberType, OpCounts};
use snn_kernels::F16;
use snn_poplar_host::emulator::{self, MemberValue};
use snn_poplar_host::graph::cost::CostTable;
use snn_poplar_host::graph::memory::{
    CODE_BYTES_PER_STATEMENT, CODE_BYTES_PER_VERTEX_TYPE, STACK_BYTES_PER_WORKER,
};
use snn_poplar_host::graph::{ComputeSetId, Graph, Program, Target, TensorId};

const FLOAT: &str = "snn::LeakyFwdSeq<float,snn::subtract,snn::scalar>";
const HALF: &str = "snn::LeakyFwdSeq<half,snn::subtract,snn::scalar>";

/// 1 GHz, so that cycles are nanoseconds.
fn target(tiles: u32, workers: u32, bytes: u64) -> Target {
    Target::custom("test", tiles, workers, bytes, 1e9).unwrap()
}

/// The table's numbers this file's arithmetic uses, as the document
/// states them: if the table changes, the document and these tests change
/// with it.
#[test]
fn the_cost_table_is_the_documented_one() {
    let t = CostTable::default();
    assert_eq!(
        (
            t.arith,
            t.div,
            t.call,
            t.compare_select,
            t.convert,
            t.bitwise
        ),
        (1, 16, 10, 1, 1, 1)
    );
    assert_eq!((t.load, t.store_f32, t.store_f16), (1, 1, 3));
    assert_eq!(
        (t.loop_iteration, t.step_index, t.group, t.vertex_call),
        (3, 2, 6, 20)
    );
    assert_eq!((t.f32_lanes, t.f16_lanes, t.vectorised), (2, 4, false));
    assert_eq!((t.sync, t.exchange_bytes_per_cycle), (150, 4));
    assert_eq!(
        (t.host_bytes_per_second, t.host_latency_seconds),
        (16e9, 10e-6)
    );
    assert_eq!(
        (
            CODE_BYTES_PER_STATEMENT,
            CODE_BYTES_PER_VERTEX_TYPE,
            STACK_BYTES_PER_WORKER
        ),
        (8, 256, 256)
    );
}

/// The counts of the Leaky forward sequence vertex, read off its printed
/// C++ by hand (`codelet-gen/tests/cost.rs` checks them against the text):
/// per worker the 3 prepared members; per element `initial_mem[i]`; per
/// step 7 arithmetic, 2 compares and 2 selects, `x[at]`, `mem[at]` and
/// `spikes[at]`; 23 statements.
#[test]
fn the_manifest_counts_of_the_leaky_forward_vertex() {
    for name in [FLOAT, HALF] {
        let cost = emulator::vertex(name).unwrap().cost.unwrap();
        assert_eq!(
            cost.per_worker,
            OpCounts {
                load: 3,
                ..OpCounts::default()
            },
            "{name}"
        );
        assert_eq!(
            cost.per_element,
            OpCounts {
                load: 1,
                ..OpCounts::default()
            },
            "{name}"
        );
        assert_eq!(
            cost.per_step,
            OpCounts {
                arith: 7,
                compare_select: 4,
                load: 1,
                store: 2,
                ..OpCounts::default()
            },
            "{name}"
        );
        assert!(cost.step_loop);
        assert_eq!(cost.callee_statements, 0);
    }
    let float = emulator::vertex(FLOAT).unwrap().cost.unwrap();
    assert_eq!(float.statements, 23);
    // the half split adds `groups`, `first`, `end`
    assert_eq!(emulator::vertex(HALF).unwrap().cost.unwrap().statements, 26);
}

/// A graph with one Leaky forward vertex per `(tile, n)` of `vertices`,
/// `steps` steps, fields in tensors of their own.
fn leaky_graph(
    target: Target,
    name: &str,
    vertices: &[(u32, usize)],
    steps: u32,
) -> (Graph, ComputeSetId) {
    let info = emulator::vertex(name).unwrap();
    let mut graph = Graph::new(target);
    let cs = graph.add_compute_set("forward");
    let element = info.precision;
    for (k, &(tile, n)) in vertices.iter().enumerate() {
        let v = graph.add_vertex(cs, name, tile).unwrap();
        for f in &info.fields {
            let len = f.length.of(n, steps as usize).unwrap();
            let t: TensorId = graph
                .add_variable(element, &[len], &format!("{}{k}", f.name))
                .unwrap();
            graph.set_tile_mapping(t, 0..len, tile).unwrap();
            graph.connect(v, &f.name, t.region(0..len)).unwrap();
        }
        for m in &info.members {
            let value = match m.ty {
                MemberType::Unsigned => MemberValue::Unsigned(steps),
                MemberType::Float => MemberValue::Float(0.5),
                MemberType::Half => MemberValue::Half(F16::from_f32(0.5)),
            };
            graph.set_initial_value(v, &m.name, value).unwrap();
        }
    }
    (graph, cs)
}

#[test]
fn a_compute_set_takes_its_slowest_tile_at_six_cycles_per_worker_instruction() {
    // tile 0: 12 elements (2 per worker), tile 1: 6 (1 per worker), 5 steps
    let (graph, cs) = leaky_graph(target(4, 6, 1 << 20), FLOAT, &[(0, 12), (1, 6)], 5);
    let e = graph.estimate_cycles(&Program::Execute(cs)).unwrap();
    // per worker: vertex call 20 + 3 member loads = 23
    // per element: loop 3 + 1 load = 4
    // per step: loop 3 + index 2 + 7 arith + 4 compare/select + 1 load + 2 stores = 19
    // per element with 5 steps: 4 + 5 * 19 = 99
    // tile 0: 6 * (23 + 2 * 99) = 6 * 221 = 1326; tile 1: 6 * (23 + 99) = 732
    assert_eq!(e.compute, 1326);
    assert_eq!(e.compute_sets.len(), 1);
    assert_eq!(
        (e.compute_sets[0].tile, e.compute_sets[0].cycles),
        (0, 1326)
    );
    assert_eq!(e.sync, 150);
    assert_eq!((e.exchange, e.host), (0, 0));
    assert_eq!(e.total(), 1476);
    assert!((e.seconds() - 1.476e-6).abs() < 1e-15, "{}", e.seconds());

    // 7 elements: workers 0 and 1 take 2, the others 1: the same slowest worker
    let (graph, cs) = leaky_graph(target(4, 6, 1 << 20), FLOAT, &[(2, 7)], 5);
    let e = graph.estimate_cycles(&Program::Execute(cs)).unwrap();
    assert_eq!((e.compute, e.compute_sets[0].tile), (1326, 2));

    // the slowest tile dominates whatever the tile numbers
    let (graph, cs) = leaky_graph(target(4, 6, 1 << 20), FLOAT, &[(0, 6), (3, 12)], 5);
    let e = graph.estimate_cycles(&Program::Execute(cs)).unwrap();
    assert_eq!((e.compute, e.compute_sets[0].tile), (1326, 3));

    // at the clock of a GC200 (1.33 GHz): the same cycles
    let (graph, cs) = leaky_graph(Target::gc200(), FLOAT, &[(0, 12)], 5);
    let e = graph.estimate_cycles(&Program::Execute(cs)).unwrap();
    assert_eq!(e.total(), 1476);
    assert!((e.seconds() - 1476.0 / 1.33e9).abs() < 1e-15);
}

#[test]
fn vertices_on_one_tile_share_its_workers() {
    // two vertices of 6 elements on tile 0: each worker runs both,
    // 2 * (23 + 99) = 244 instructions, 6 * 244 = 1464 cycles
    let (graph, cs) = leaky_graph(target(2, 6, 1 << 20), FLOAT, &[(0, 6), (0, 6)], 5);
    let e = graph.estimate_cycles(&Program::Execute(cs)).unwrap();
    assert_eq!(e.compute, 1464);
    // on two tiles they run side by side: 6 * 122 = 732
    let (graph, cs) = leaky_graph(target(2, 6, 1 << 20), FLOAT, &[(0, 6), (1, 6)], 5);
    assert_eq!(
        graph
            .estimate_cycles(&Program::Execute(cs))
            .unwrap()
            .compute,
        732
    );
    // one worker per tile: 1 * (23 + 6 * 99) = 617
    let (graph, cs) = leaky_graph(target(1, 1, 1 << 20), FLOAT, &[(0, 6)], 5);
    assert_eq!(
        graph
            .estimate_cycles(&Program::Execute(cs))
            .unwrap()
            .compute,
        617
    );
}

#[test]
fn half_vertices_pay_for_groups_and_sub_word_stores() {
    // 10 halves: groups of 4, 4, 2 on workers 0, 1, 2; worker 0 has 4 elements
    // per step: 3 + 2 + 7 + 4 + 1 + 2 stores * 3 = 23; per element 3 + 1 + 5 * 23 = 119
    // worker 0: 20 + 3 + 1 group * 6 + 4 * 119 = 505; tile: 6 * 505 = 3030
    let (graph, cs) = leaky_graph(target(1, 6, 1 << 20), HALF, &[(0, 10)], 5);
    let e = graph.estimate_cycles(&Program::Execute(cs)).unwrap();
    assert_eq!(e.compute, 3030);
    // vectorised (an optimistic bound): 4 lanes, one iteration for worker 0's
    // 4 elements, whole-word stores: per step 3 + 2 + 14 = 19, per element
    // 4 + 5 * 19 = 99; worker 0: 20 + 3 + 6 + 99 = 128; tile 768
    let table = CostTable {
        vectorised: true,
        ..CostTable::default()
    };
    let e = graph
        .estimate_cycles_with(&Program::Execute(cs), &table)
        .unwrap();
    assert_eq!(e.compute, 768);
}

#[test]
fn repeat_multiplies_and_copies_and_streams_are_costed() {
    let (mut graph, cs) = leaky_graph(target(4, 6, 1 << 20), FLOAT, &[(0, 12), (1, 6)], 5);
    let a = graph.add_variable(Element::Float, &[8], "a").unwrap();
    graph.set_tile_mapping(a, 0..8, 0).unwrap();
    let b = graph.add_variable(Element::Float, &[8], "b").unwrap();
    graph.set_tile_mapping(b, 0..4, 1).unwrap();
    graph.set_tile_mapping(b, 4..8, 0).unwrap();
    let host = graph.add_variable(Element::Float, &[1000], "host").unwrap();
    graph.map_linearly(host, 1, 1).unwrap();

    let e = graph
        .estimate_cycles(&Program::Repeat(3, Box::new(Program::Execute(cs))))
        .unwrap();
    assert_eq!((e.compute, e.sync), (3 * 1326, 3 * 150));
    assert_eq!(e.compute_sets[0].runs, 3);

    // tile 0 sends 32 bytes (receiving 16 of them itself), tile 1 receives
    // 16: the busiest tile moves 32 bytes, 32 / 4 = 8 cycles, and one sync
    let copy = Program::Copy {
        from: a.region(0..8),
        to: b.region(0..8),
    };
    let e = graph.estimate_cycles(&copy).unwrap();
    assert_eq!((e.exchange, e.sync, e.compute), (8, 150, 0));

    // 4000 bytes from the host: 10 us + 4000 / 16e9 s = 10.25 us = 10250 cycles at 1 GHz
    let stream = Program::StreamIn {
        stream: "in".into(),
        to: host.region(0..1000),
    };
    let e = graph.estimate_cycles(&stream).unwrap();
    assert_eq!(e.host, 10250);

    // all of it, twice
    let all = Program::Repeat(
        2,
        Box::new(Program::Sequence(vec![stream, Program::Execute(cs), copy])),
    );
    let e = graph.estimate_cycles(&all).unwrap();
    assert_eq!(
        (e.host, e.compute, e.exchange, e.sync),
        (20500, 2652, 16, 600)
    );
    assert_eq!(e.total(), 20500 + 2652 + 16 + 600);
    let text = e.to_string();
    for needle in [
        "estimate",
        "compute",
        "exchange",
        "sync",
        "host",
        "`forward`",
    ] {
        assert!(text.contains(needle), "{text}");
    }

    // an invalid program is refused, not estimated
    let mut other = Graph::new(target(1, 6, 1024));
    other.add_compute_set("first");
    let second = other.add_compute_set("second");
    let errors = graph
        .estimate_cycles(&Program::Execute(second))
        .unwrap_err();
    assert!(
        errors
            .iter()
            .any(|e| e.to_string().contains("no compute set 1")),
        "{errors:?}"
    );
}

#[test]
fn code_is_counted_once_per_vertex_type_per_tile_with_stacks_and_exchange() {
    // two instances on tile 0, one on tile 1, tile 2 data only
    let (mut graph, _) = leaky_graph(target(3, 6, 1 << 20), FLOAT, &[(0, 2), (0, 2), (1, 2)], 1);
    let d = graph.add_variable(Element::Float, &[8], "data").unwrap();
    graph.set_tile_mapping(d, 0..8, 2).unwrap();
    let m = graph.memory();
    // code: 256 + 8 * 23 statements = 440 per type per tile
    assert_eq!(
        (m.tiles[0].code, m.tiles[1].code, m.tiles[2].code),
        (440, 440, 0)
    );
    assert_eq!(m.tiles[0].vertex_types, 1);
    // stacks: 6 workers * 256 on tiles that run vertices
    assert_eq!(
        (m.tiles[0].stacks, m.tiles[1].stacks, m.tiles[2].stacks),
        (1536, 1536, 0)
    );
    // tensors per vertex with n = 2, steps = 1: 4 fields of 2 floats, 8 bytes each = 32;
    // state: 1 SPAN (8) + 3 ONE_PTR (12) + 4 members (16) = 36 -> 40
    assert_eq!((m.tiles[0].tensors, m.tiles[0].vertex_state), (64, 80));
    assert_eq!(m.tiles[0].total(), 64 + 80 + 440 + 1536);
    assert_eq!(m.tiles[2].total(), 32);
    // a copy into tile 2 from tile 0: its exchange buffer holds what it receives
    let src = graph.add_variable(Element::Float, &[6], "src").unwrap();
    graph.set_tile_mapping(src, 0..6, 0).unwrap();
    let copy = Program::Copy {
        from: src.region(0..6),
        to: d.region(2..8),
    };
    let m = graph.memory_for(&copy);
    assert_eq!((m.tiles[2].exchange, m.tiles[0].exchange), (24, 0));
    // a copy within tile 0 needs none
    let local = Program::Copy {
        from: src.region(0..2),
        to: src.region(4..6),
    };
    assert_eq!(graph.memory_for(&local).tiles[0].exchange, 0);
}

#[test]
fn a_graph_that_fits_only_without_code_is_refused_naming_code() {
    // one worker: stacks 256; one vertex with n = 2, steps = 1: tensors 32,
    // state 40, code 440: 768 bytes; without code 328
    let (graph, _) = leaky_graph(target(1, 1, 500), FLOAT, &[(0, 2)], 1);
    let m = graph.memory();
    assert_eq!(m.tiles[0].total(), 768);
    assert_eq!(m.tiles[0].total() - m.tiles[0].code, 328);
    let e = graph.check_memory().unwrap_err();
    assert_eq!(
        (e.tile, e.needed.total(), e.available, e.tiles_over),
        (0, 768, 500, 1)
    );
    let message = e.to_string();
    for needle in [
        "tile 0 needs 768 bytes and has 500",
        "32 tensor data",
        "40 vertex state",
        "440 code (1 vertex type(s))",
        "256 worker stacks",
        "0 exchange buffers",
        "Most of it is code",
        "fewer vertex types",
        "time chunking",
        "more tiles or IPUs",
        "fp16",
        "smaller batch",
    ] {
        assert!(message.contains(needle), "`{needle}` in: {message}");
    }
    assert!(!message.contains("not counted"), "{message}");
    // with room for the code it fits
    let (graph, _) = leaky_graph(target(1, 1, 768), FLOAT, &[(0, 2)], 1);
    let report = graph.check_memory().expect("768 bytes fit");
    let text = report.to_string();
    for needle in ["limit 768 bytes", "max", "768", "440 code", "mean"] {
        assert!(text.contains(needle), "`{needle}` in: {text}");
    }
}

/// The seed paper's layer: Leaky, 1000 neurons x batch 128 = 128000
/// elements, 25 steps, fp32, over the 1472 tiles of a GC200. Pairs of
/// floats (8 bytes): 64000 groups = 1472 * 43 + 704, so tiles 0..704 hold
/// 88 elements; 6 workers: 88 = 6 * 14 + 4, so workers 0..4 take 15.
#[test]
fn the_seed_papers_layer_on_a_gc200_by_hand() {
    use snn_kernels::layer::Param;
    use snn_kernels::models::Leaky;
    use snn_kernels::surrogate::Atan;
    use snn_poplar_host::graph::cost::layer_estimate;
    use snn_poplar_host::{SurrogateSpec, VertexLayer};

    let params = [
        Param::Scalar(0.9f32),
        Param::Scalar(1.0),
        Param::Scalar(1.0),
    ];
    let layer = VertexLayer::new(
        Leaky::default(),
        SurrogateSpec::of(&Atan::default()),
        128,
        1000,
        &params,
    )
    .unwrap();
    let e = layer_estimate(&layer, 25, Target::gc200(), 1472).unwrap();
    assert_eq!(e.tiles, 1472);
    assert_eq!(e.forward_vertex, FLOAT);
    // forward: per element 4 + 25 * 19 = 479; worker 23 + 15 * 479 = 7208;
    // tile 6 * 7208 = 43248, plus one sync of 150
    assert_eq!((e.forward.compute, e.forward.sync), (43248, 150));
    // backward (LeakyBwdSeq<float,subtract,scalar,atan>, its C++ read by hand):
    // per step: 16 arithmetic + atan's 5 = 21, atan's division 16, its call
    // 10, `t == 0 ?` 2 + 2 compares + 2 selects = 6, loads prev, next,
    // grad_spikes, grad_mem and the 4 surrogate members = 8, grad_x 1 store:
    // 21 + 16 + 10 + 6 + 8 + 1 = 62, with loop and index 67;
    // per element: loop 3 + 4 stores + 25 * 67 = 1682;
    // per element: loop 3 + 4 stores + 4 loads (grad_final_mem and the 3
    // sums it continues) + 25 * 67 = 1686;
    // worker: 23 + 15 * 1686 = 25313; tile 6 * 25313 = 151878; two syncs:
    // the copy that restarts the sums from -0, and the compute set
    assert_eq!(
        e.backward_vertex,
        "snn::LeakyBwdSeq<float,snn::subtract,snn::scalar,snn::atan>"
    );
    assert_eq!((e.backward.compute, e.backward.sync), (151878, 300));
    // the copy: 3 * 88 floats = 1056 bytes at 4 bytes per cycle
    assert_eq!(e.backward.exchange, 264);
    assert_eq!(e.total_cycles(), 43248 + 150 + 151878 + 300 + 264);
    assert!((e.seconds() - 195840.0 / 1.33e9).abs() < 1e-12);
    // memory of tile 0, both passes on one graph: per element 88 floats of
    // initial_mem, grad_initial_mem, no_grad_mem and 3 rows each of
    // grad_prepared and no_grad_prepared (9 rows), and 25 rows each of x,
    // spikes, mem, grad_spikes, grad_mem, grad_x (150 rows):
    // 159 * 88 * 4 = 55968 bytes
    let (tile, both) = e.memory.max();
    assert_eq!(tile, 0);
    assert_eq!(both.tensors, 55968);
    assert_eq!(both.stacks, 1536);
}

#[test]
fn absurd_costs_saturate_instead_of_overflowing() {
    let (graph, cs) = leaky_graph(target(1, 6, 1 << 20), HALF, &[(0, 10)], 5);
    let table = CostTable {
        arith: u64::MAX,
        loop_iteration: u64::MAX,
        vertex_call: u64::MAX,
        group: u64::MAX,
        sync: u64::MAX,
        ..CostTable::default()
    };
    let program = Program::Repeat(u32::MAX, Box::new(Program::Execute(cs)));
    let e = graph.estimate_cycles_with(&program, &table).unwrap();
    assert_eq!(
        (e.compute, e.sync, e.total()),
        (u64::MAX, u64::MAX, u64::MAX)
    );
}
