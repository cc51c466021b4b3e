//! A layer's forward and backward passes as IPU graphs (elements split over
//! tiles, one multi-step vertex per tile), run by the graph emulator,
//! against the native kernels: the same spikes, states and gradients (the
//! parameter gradients reduced by the host in the kernels' order), bit for
//! bit, in fp32 and fp16, scalar and per-neuron parameters, element counts
//! that do not divide evenly over the tiles.

use snn_codelet_gen::FieldRole;
use snn_kernels::layer::{InputGrads, Layer, OutputGrads, Param, Saved};
use snn_kernels::model::no_gradient;
use snn_kernels::model::Reset;
use snn_kernels::models::{Leaky, Synaptic};
use snn_kernels::surrogate::Atan;
use snn_kernels::{Model, F16};
use snn_poplar_host::emulator::Element;
use snn_poplar_host::graph::run::{Engine, Values};
use snn_poplar_host::graph::Target;
use snn_poplar_host::layer::{LayerGraph, NamedValues};
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

/// Runs `g` on the graph emulator with each field that `data` gives
/// (`[rows][n]` values, put into the graph's layout) and the per-element
/// `constants` written first.
fn run_graph<'g, 'd, T: Host>(
    g: &'g LayerGraph,
    constants: NamedValues<T>,
    n: usize,
    data: impl Fn(FieldRole) -> Option<&'d [T]>,
) -> Engine<'g> {
    let info = snn_poplar_host::emulator::vertex(g.vertex).unwrap();
    let mut engine = Engine::new(&g.graph, &g.program).unwrap();
    for (name, rows) in &g.fields {
        if let Some(values) = data(info.field(name).unwrap().role) {
            engine
                .write_tensor(name, T::values(g.to_blocks(values, *rows, n, T::zero())))
                .unwrap();
        }
    }
    for (name, values) in constants {
        engine.write_tensor(&name, T::values(values)).unwrap();
    }
    engine.run(&g.program).unwrap();
    engine
}

fn check<M: Model, T: Host>(
    model: M,
    batch: usize,
    neurons: usize,
    steps: usize,
    per_neuron: bool,
    tiles: u32,
) {
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
                .map(|x| T::constant(x as f64 * 0.5))
                .collect()
        })
        .collect();
    let stored: Vec<usize> = (0..M::STATES.len())
        .filter(|&k| Some(k) != M::SPIKE_STATE)
        .collect();

    // the native kernels
    let kernels = Layer::new(model, Atan::default(), batch, neurons, &params).unwrap();
    let mut spikes = vec![T::zero(); steps * n];
    let mut states = vec![vec![T::zero(); steps * n]; stored.len()];
    {
        let input_refs: Vec<&[T]> = inputs.iter().map(Vec::as_slice).collect();
        let initial_refs: Vec<&[T]> = initial.iter().map(Vec::as_slice).collect();
        let mut refs: Vec<&mut [T]> = states.iter_mut().map(Vec::as_mut_slice).collect();
        kernels
            .forward(steps, &input_refs, &initial_refs, &mut spikes, &mut refs)
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
    let target = Target::custom("test", tiles, 6, 624 * 1024, 1.33e9).unwrap();
    let (g, constants) = layer.forward_graph(steps, target, tiles).unwrap();
    assert!(g.blocks.len() > 1 || tiles == 1, "the layer is split");
    let info = snn_poplar_host::emulator::vertex(g.vertex).unwrap();
    let engine = run_graph(&g, constants, n, |role| match role {
        FieldRole::Input(k) => Some(&inputs[k]),
        FieldRole::InitialState(k) => Some(&initial[k]),
        _ => None,
    });
    let bits = |v: &[T]| {
        v.iter()
            .map(|&x| Into::<f64>::into(x).to_bits())
            .collect::<Vec<u64>>()
    };
    for (name, rows) in &g.fields {
        let f = info.field(name).unwrap();
        let expected: &[T] = match f.role {
            FieldRole::Spikes => &spikes,
            FieldRole::State(k) => &states[stored.iter().position(|&s| s == k).unwrap()],
            _ => continue,
        };
        let mut got = vec![T::zero(); expected.len()];
        g.from_blocks(
            &T::of(engine.read_tensor(name).unwrap()),
            *rows,
            n,
            &mut got,
        );
        assert_eq!(
            bits(&got),
            bits(expected),
            "{} {name}: graph vs kernels",
            M::NAME
        );
    }
    // backward: the kernels
    let grad_spikes: Vec<T> = pattern(steps * n, 77)
        .into_iter()
        .map(|x| T::constant(x as f64 * 0.25))
        .collect();
    let mut gi = vec![vec![T::zero(); steps * n]; M::INPUTS.len()];
    let mut g0 = vec![vec![T::zero(); n]; M::STATES.len()];
    let mut gp: Vec<Vec<T>> = per
        .iter()
        .map(|v| vec![T::zero(); if per_neuron { v.len() } else { 1 }])
        .collect();
    {
        let input_refs: Vec<&[T]> = inputs.iter().map(Vec::as_slice).collect();
        let initial_refs: Vec<&[T]> = initial.iter().map(Vec::as_slice).collect();
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
    // backward: the graph
    let target = Target::custom("test", tiles, 6, 624 * 1024, 1.33e9).unwrap();
    let (g, constants) = layer.backward_graph(steps, target, tiles).unwrap();
    let info = snn_poplar_host::emulator::vertex(g.vertex).unwrap();
    let no_loss = vec![no_gradient::<T>(); steps * n];
    let engine = run_graph(&g, constants, n, |role| match role {
        FieldRole::Input(k) => Some(&inputs[k]),
        FieldRole::InitialState(k) => Some(&initial[k]),
        FieldRole::Spikes => Some(&spikes),
        FieldRole::State(k) => Some(&states[stored.iter().position(|&s| s == k).unwrap()]),
        FieldRole::GradSpikes => Some(&grad_spikes),
        FieldRole::GradState(_) => Some(&no_loss),
        _ => None,
    });
    let read = |name: &str, rows: usize| {
        let mut out = vec![T::zero(); rows * n];
        g.from_blocks(&T::of(engine.read_tensor(name).unwrap()), rows, n, &mut out);
        out
    };
    let mut compared = 0;
    for (name, rows) in &g.fields {
        let f = info.field(name).unwrap();
        match f.role {
            FieldRole::GradInput(k) => {
                assert_eq!(bits(&read(name, *rows)), bits(&gi[k]), "{} {name}", M::NAME);
                compared += 1;
            }
            FieldRole::GradInitialState(k) => {
                assert_eq!(bits(&read(name, *rows)), bits(&g0[k]), "{} {name}", M::NAME);
                compared += 1;
            }
            FieldRole::GradPrepared => {
                let sums = read(name, *rows);
                let mut graph_gp: Vec<Vec<T>> =
                    gp.iter().map(|v| vec![T::zero(); v.len()]).collect();
                let mut refs: Vec<&mut [T]> = graph_gp.iter_mut().map(Vec::as_mut_slice).collect();
                kernels.reduce_param_grads(&sums, &mut refs).unwrap();
                for (k, (a, b)) in graph_gp.iter().zip(&gp).enumerate() {
                    assert_eq!(bits(a), bits(b), "{} parameter {k} gradient", M::NAME);
                }
                compared += 1;
            }
            _ => {}
        }
    }
    assert!(compared >= 3, "the gradients were compared");
}

#[test]
fn a_leaky_layer_split_over_tiles_equals_the_kernels_in_fp32_and_fp16() {
    for per_neuron in [false, true] {
        check::<_, f32>(Leaky::new(Reset::Subtract, true), 3, 37, 5, per_neuron, 4);
        check::<_, F16>(Leaky::new(Reset::Zero, false), 3, 37, 5, per_neuron, 4);
    }
    // more tiles than groups of elements: one group per tile
    check::<_, f32>(Leaky::new(Reset::Subtract, true), 1, 10, 3, false, 1472);
}

#[test]
fn a_synaptic_layer_split_over_tiles_equals_the_kernels() {
    check::<_, f32>(Synaptic::new(Reset::Subtract, true), 2, 29, 4, true, 3);
    check::<_, F16>(Synaptic::new(Reset::Subtract, true), 2, 29, 4, false, 5);
}
