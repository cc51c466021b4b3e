//! A layer's forward and backward passes as IPU graphs (elements split over
//! tiles, one multi-step vertex per tile, and over time in chunks with the
//! trajectory recomputed), run by the graph emulator, against the native
//! kernels: the same spikes, states and gradients (the parameter gradients
//! reduced by the host in the kernels' order), bit for bit, in fp32 and
//! fp16, scalar and per-neuron parameters, element counts that do not
//! divide evenly over the tiles, chunks that do not divide the steps.

use snn_codelet_gen::FieldRole;
use snn_kernels::layer::{InputGrads, Layer, OutputGrads, Param, Saved};
use snn_kernels::model::no_gradient;
use snn_kernels::model::Reset;
use snn_kernels::model::ResetConfig;
use snn_kernels::models::{Leaky, RLeaky, Synaptic};
use snn_kernels::surrogate::Atan;
use snn_kernels::{Model, F16};
use snn_poplar_host::emulator::Element;
use snn_poplar_host::graph::run::{Engine, Values};
use snn_poplar_host::graph::Target;
use snn_poplar_host::layer::{Chunking, LayerGraph};
use snn_poplar_host::{SurrogateSpec, VertexLayer};

fn pattern(len: usize, seed: u32) -> Vec<f32> {
    (0..len)
        .map(|i| {
            let h = (i as u32 ^ seed).wrapping_mul(0x9E37_79B9).rotate_left(11);
            (h >> 8) as f32 / (1u32 << 24) as f32 * 2.5 - 0.5
        })
        .collect()
}

trait Host: Element {
    fn values(v: Vec<Self>) -> Values;
    fn of(v: &Values) -> Vec<Self>;
}

impl Host for f32 {
    fn values(v: Vec<f32>) -> Values {
        Values::F32(v)
    }
    fn of(v: &Values) -> Vec<f32> {
        match v {
            Values::F32(v) => v.clone(),
            Values::F16(_) => panic!("a float tensor"),
        }
    }
}

impl Host for F16 {
    fn values(v: Vec<F16>) -> Values {
        Values::F16(v)
    }
    fn of(v: &Values) -> Vec<F16> {
        match v {
            Values::F16(v) => v.clone(),
            Values::F32(_) => panic!("a half tensor"),
        }
    }
}

/// Writes each caller's tensor of `g` that `data` gives (`[rows][n]`
/// values, put into the graph's layout).
fn write<'d, T: Host>(
    engine: &mut Engine<'_>,
    g: &LayerGraph,
    n: usize,
    data: impl Fn(FieldRole) -> Option<&'d [T]>,
) {
    for t in &g.tensors {
        if let Some(values) = data(t.role) {
            engine
                .write_tensor(
                    &t.name,
                    T::values(g.to_blocks(values, t.rows, n, T::zero())),
                )
                .unwrap();
        }
    }
}

/// The caller's tensor with `role`, as `[rows][n]` values.
fn read<T: Host>(engine: &Engine<'_>, g: &LayerGraph, n: usize, role: FieldRole) -> Vec<T> {
    let t = g.tensor(role).unwrap();
    let mut out = vec![T::zero(); t.rows * n];
    g.from_blocks(
        &T::of(engine.read_tensor(&t.name).unwrap()),
        t.rows,
        n,
        &mut out,
    );
    out
}

fn bits<T: Host>(v: &[T]) -> Vec<u64> {
    v.iter()
        .map(|&x| {
            let x: f64 = x.into();
            if x.is_nan() {
                u64::MAX
            } else {
                x.to_bits()
            }
        })
        .collect()
}

/// What a case runs: layer shape, steps, parameter mode, tiles, chunking,
/// and an optional mutation of the graph's `dL/d spikes` (the comparison
/// must then fail).
#[derive(Clone, Copy)]
struct Case {
    batch: usize,
    neurons: usize,
    steps: usize,
    per_neuron: bool,
    tiles: u32,
    chunking: Chunking,
    bytes_per_tile: u64,
}

impl Case {
    fn new(batch: usize, neurons: usize, steps: usize, per_neuron: bool, tiles: u32) -> Case {
        Case {
            batch,
            neurons,
            steps,
            per_neuron,
            tiles,
            chunking: Chunking::Whole,
            bytes_per_tile: 624 * 1024,
        }
    }

    fn chunked(self, chunking: Chunking) -> Case {
        Case { chunking, ..self }
    }
}

/// Runs `case` on the kernels and on the graph, compares every output bit
/// for bit; returns the graph's chunk length. With `mutate`, the graph gets
/// other `dL/d spikes` than the kernels.
fn check<M: Model, T: Host>(model: M, case: Case) -> usize {
    check_with::<M, T>(model, case, false)
}

fn check_with<M: Model, T: Host>(model: M, case: Case, mutate: bool) -> usize {
    let Case {
        batch,
        neurons,
        steps,
        per_neuron,
        tiles,
        chunking,
        bytes_per_tile,
    } = case;
    let per: Vec<Vec<T>> = M::PARAMS
        .iter()
        .enumerate()
        .map(|(k, _)| {
            (0..neurons)
                .map(|m| T::constant(0.5 + 0.4 * ((m + k) % 5) as f64 / 5.0))
                .collect()
        })
        .collect();
    let params: Vec<Param<'_, T>> = per
        .iter()
        .map(|v| {
            if per_neuron {
                Param::PerNeuron(v)
            } else {
                Param::Scalar(v[0])
            }
        })
        .collect();
    let n = batch * neurons;
    let inputs: Vec<Vec<T>> = (0..M::INPUTS.len())
        .map(|k| {
            pattern(steps * n, k as u32 + 1)
                .into_iter()
                .map(|x| T::constant(x as f64))
                .collect()
        })
        .collect();
    let initial: Vec<Vec<T>> = (0..M::STATES.len())
        .map(|k| {
            pattern(n, 40 + k as u32)
                .into_iter()
                .map(|x| {
                    let x = T::constant(x as f64 * 0.5);
                    // a spike state holds spikes
                    if Some(k) == M::SPIKE_STATE {
                        T::constant(if x.into() > 0.3 { 1.0 } else { 0.0 })
                    } else {
                        x
                    }
                })
                .collect()
        })
        .collect();
    let stored: Vec<usize> = (0..M::STATES.len())
        .filter(|&k| Some(k) != M::SPIKE_STATE)
        .collect();
    let grad_spikes: Vec<T> = pattern(steps * n, 77)
        .into_iter()
        .map(|x| T::constant(x as f64 * 0.25))
        .collect();

    // the native kernels
    let kernels = Layer::new(model, Atan::default(), batch, neurons, &params).unwrap();
    let mut spikes = vec![T::zero(); steps * n];
    let mut states = vec![vec![T::zero(); steps * n]; stored.len()];
    let mut gi = vec![vec![T::zero(); steps * n]; M::INPUTS.len()];
    let mut g0 = vec![vec![T::zero(); n]; M::STATES.len()];
    let mut gp: Vec<Vec<T>> = per
        .iter()
        .map(|v| vec![T::zero(); if per_neuron { v.len() } else { 1 }])
        .collect();
    {
        let input_refs: Vec<&[T]> = inputs.iter().map(Vec::as_slice).collect();
        let initial_refs: Vec<&[T]> = initial.iter().map(Vec::as_slice).collect();
        let mut refs: Vec<&mut [T]> = states.iter_mut().map(Vec::as_mut_slice).collect();
        kernels
            .forward(steps, &input_refs, &initial_refs, &mut spikes, &mut refs)
            .unwrap();
        let state_refs: Vec<&[T]> = states.iter().map(Vec::as_slice).collect();
        let mut gi_refs: Vec<&mut [T]> = gi.iter_mut().map(Vec::as_mut_slice).collect();
        let mut g0_refs: Vec<&mut [T]> = g0.iter_mut().map(Vec::as_mut_slice).collect();
        let mut gp_refs: Vec<&mut [T]> = gp.iter_mut().map(Vec::as_mut_slice).collect();
        kernels
            .backward(
                steps,
                Saved::new(&input_refs, &initial_refs, &spikes, &state_refs),
                OutputGrads::new(&grad_spikes, &[]),
                InputGrads::new(&mut gi_refs, &mut g0_refs, &mut gp_refs),
            )
            .unwrap();
    }

    // the graph, run by the emulator
    let layer = VertexLayer::new(
        model,
        SurrogateSpec::of(&Atan::default()),
        batch,
        neurons,
        &params,
    )
    .unwrap();
    let target = Target::custom("test", tiles, 6, bytes_per_tile, 1.33e9).unwrap();
    let (g, constants) = layer.graph(steps, target, tiles, chunking).unwrap();
    assert!(g.blocks.len() > 1 || tiles == 1, "the layer is split");
    let mut engine = Engine::new(&g.graph, &g.forward).unwrap();
    for (name, values) in constants {
        engine.write_tensor(&name, T::values(values)).unwrap();
    }
    write(&mut engine, &g, n, |role| match role {
        FieldRole::Input(k) => Some(&inputs[k]),
        FieldRole::InitialState(k) => Some(&initial[k]),
        _ => None,
    });
    engine.run(&g.forward).unwrap();
    let name = M::NAME;
    assert_eq!(
        bits(&read::<T>(&engine, &g, n, FieldRole::Spikes)),
        bits(&spikes),
        "{name} spikes: graph vs kernels"
    );
    // the trajectory tensor holds the last chunk's steps
    let first = (g.chunks() - 1) * g.chunk;
    for (j, &k) in stored.iter().enumerate() {
        let got = read::<T>(&engine, &g, n, FieldRole::State(k));
        let rows = steps - first;
        assert_eq!(
            bits(&got[..rows * n]),
            bits(&states[j][first * n..]),
            "{name} state {k} (steps {first}..): graph vs kernels"
        );
    }

    // backward
    let no_loss = vec![no_gradient::<T>(); steps * n];
    let mut graph_grad_spikes = grad_spikes.clone();
    if mutate {
        graph_grad_spikes[n / 2] = T::constant(0.75);
    }
    write(&mut engine, &g, n, |role| match role {
        FieldRole::GradSpikes => Some(&graph_grad_spikes),
        FieldRole::GradState(_) => Some(&no_loss),
        _ => None,
    });
    engine.run(&g.backward).unwrap();
    for (k, expected) in gi.iter().enumerate() {
        let got = read::<T>(&engine, &g, n, FieldRole::GradInput(k));
        assert_eq!(bits(&got), bits(expected), "{name} dL/d input {k}");
    }
    for (k, expected) in g0.iter().enumerate() {
        let got = read::<T>(&engine, &g, n, FieldRole::GradInitialState(k));
        assert_eq!(bits(&got), bits(expected), "{name} dL/d initial state {k}");
    }
    let sums = read::<T>(&engine, &g, n, FieldRole::GradPrepared);
    let mut graph_gp: Vec<Vec<T>> = gp.iter().map(|v| vec![T::zero(); v.len()]).collect();
    let mut refs: Vec<&mut [T]> = graph_gp.iter_mut().map(Vec::as_mut_slice).collect();
    kernels.reduce_param_grads(&sums, &mut refs).unwrap();
    for (k, (a, b)) in graph_gp.iter().zip(&gp).enumerate() {
        assert_eq!(bits(a), bits(b), "{name} parameter {k} gradient");
    }
    g.chunk
}

#[test]
fn a_leaky_layer_split_over_tiles_equals_the_kernels_in_fp32_and_fp16() {
    for per_neuron in [false, true] {
        check::<_, f32>(
            Leaky::new(Reset::Subtract, true),
            Case::new(3, 37, 5, per_neuron, 4),
        );
        check::<_, F16>(
            Leaky::new(Reset::Zero, false),
            Case::new(3, 37, 5, per_neuron, 4),
        );
    }
    // more tiles than groups of elements: one group per tile
    check::<_, f32>(
        Leaky::new(Reset::Subtract, true),
        Case::new(1, 10, 3, false, 1472),
    );
}

#[test]
fn a_synaptic_layer_split_over_tiles_equals_the_kernels() {
    check::<_, f32>(
        Synaptic::new(Reset::Subtract, true),
        Case::new(2, 29, 4, true, 3),
    );
    check::<_, F16>(
        Synaptic::new(Reset::Subtract, true),
        Case::new(2, 29, 4, false, 5),
    );
}

#[test]
fn time_chunks_give_the_bits_of_the_whole_sequence() {
    // 7 steps in chunks of 1, 3 (3 + 3 + 1) and 6 (6 + 1)
    for chunk in [1, 3, 6] {
        let chunked = Chunking::Steps(chunk);
        let case = Case::new(2, 19, 7, false, 3).chunked(chunked);
        assert_eq!(
            check::<_, f32>(Leaky::new(Reset::Subtract, true), case),
            chunk
        );
        check::<_, F16>(Leaky::new(Reset::Zero, false), case);
        check::<_, f32>(
            Synaptic::new(Reset::Subtract, true),
            Case {
                per_neuron: true,
                ..case
            },
        );
        // a recurrent model: its spike state starts each chunk
        check::<_, f32>(RLeaky(ResetConfig::new(Reset::Subtract, true)), case);
        check::<_, F16>(
            RLeaky(ResetConfig::new(Reset::Zero, false)),
            Case {
                per_neuron: true,
                ..case
            },
        );
    }
}

#[test]
fn automatic_chunking_splits_time_only_when_the_trajectory_does_not_fit() {
    let case = Case::new(2, 64, 40, false, 2).chunked(Chunking::Auto);
    // 624 KiB per tile: the whole sequence fits
    assert_eq!(check::<_, f32>(Leaky::new(Reset::Subtract, true), case), 40);
    // a tile memory between what the whole sequence and one step per chunk
    // need: time chunks, bit for bit the same
    let layer = VertexLayer::new(
        Leaky::new(Reset::Subtract, true),
        SurrogateSpec::of(&Atan::default()),
        2,
        64,
        &[
            Param::Scalar(0.9f32),
            Param::Scalar(1.0),
            Param::Scalar(1.0),
        ],
    )
    .unwrap();
    let big = Target::custom("big", 2, 6, 624 * 1024, 1.33e9).unwrap();
    let need = |chunking| {
        let (g, _) = layer.graph(40, big.clone(), 2, chunking).unwrap();
        g.graph.memory().max().1.total()
    };
    let (whole, short) = (need(Chunking::Whole), need(Chunking::Steps(10)));
    assert!(short < whole, "{short} < {whole} bytes");
    let small = Case {
        bytes_per_tile: (whole + short) / 2,
        ..case
    };
    let chunk = check::<_, f32>(Leaky::new(Reset::Subtract, true), small);
    assert!((1..40).contains(&chunk), "chunked, {chunk} steps per chunk");
    // far too small even for one step per chunk: refused, with the reason
    let tiny = Target::custom("tiny", 2, 6, 2048, 1.33e9).unwrap();
    let err = layer
        .graph(40, tiny, 2, Chunking::Auto)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no time chunking fits"), "{err}");
}

#[test]
fn bad_chunks_are_refused() {
    let layer = VertexLayer::new(
        Leaky::new(Reset::Subtract, true),
        SurrogateSpec::of(&Atan::default()),
        2,
        8,
        &[
            Param::Scalar(0.9f32),
            Param::Scalar(1.0),
            Param::Scalar(1.0),
        ],
    )
    .unwrap();
    let target = Target::custom("t", 2, 6, 624 * 1024, 1.33e9).unwrap();
    for chunk in [0, 6] {
        let err = layer
            .graph(5, target.clone(), 2, Chunking::Steps(chunk))
            .unwrap_err()
            .to_string();
        assert!(err.contains("give 1 to 5"), "{err}");
    }
}

#[test]
#[should_panic(expected = "dL/d input 0")]
fn a_wrong_gradient_into_the_graph_is_caught() {
    let case = Case::new(2, 19, 7, false, 3).chunked(Chunking::Steps(3));
    check_with::<_, f32>(Leaky::new(Reset::Subtract, true), case, true);
}
