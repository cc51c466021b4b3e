//! The graph emulator against the native kernels on the same workload: the
//! seed paper's hidden layer (Leaky, 1000 neurons, batch 128, T = 25,
//! atan), forward and backward, as one graph over the GC200's 1472 tiles,
//! in fp32 and fp16. The native kernels run on one thread; the emulator on
//! one thread (the same threads) and on every core (tiles at once).
//! Throughput in neuron-steps. `SNN_BENCH_QUICK=1` (the suite's quick mode,
//! `docs/benchmarks.md`) for a layer a tenth the size and short
//! measurements.

#[allow(unused_macros)]
#[macro_use]
mod common;

use std::hint::black_box;

use criterion::{Criterion, Throughput};
use snn_codelet_gen::FieldRole;
use snn_kernels::layer::{InputGrads, Layer, OutputGrads, Param, Saved};
use snn_kernels::model::no_gradient;
use snn_kernels::models::Leaky;
use snn_kernels::surrogate::Atan;
use snn_kernels::F16;
use snn_poplar_host::graph::run::{Engine, HostElement};
use snn_poplar_host::graph::{Program, Target};
use snn_poplar_host::layer::Chunking;
use snn_poplar_host::{SurrogateSpec, VertexLayer};

fn pattern<T: HostElement>(len: usize, seed: u32, scale: f64) -> Vec<T> {
    (0..len)
        .map(|i| {
            let h = (i as u32 ^ seed).wrapping_mul(0x9E37_79B9).rotate_left(11);
            T::constant(((h >> 8) as f64 / (1u32 << 24) as f64 * 2.5 - 0.5) * scale)
        })
        .collect()
}

fn layer_pair<T: HostElement>(c: &mut Criterion, name: &str, batch: usize, neurons: usize) {
    let steps = 25;
    let n = batch * neurons;
    let params = [
        Param::Scalar(T::constant(0.9)),
        Param::Scalar(T::constant(1.0)),
        Param::Scalar(T::constant(1.0)),
    ];
    let x: Vec<T> = pattern(steps * n, 1, 1.0);
    let initial = vec![T::zero(); n];
    let grad_spikes: Vec<T> = pattern(steps * n, 7, 0.25);
    let mut group = c.benchmark_group(format!("graph_emulator/{name}"));
    group.throughput(Throughput::Elements((steps * n) as u64));
    group.sample_size(10);

    // chunks of 64 neurons, as `snn-ipu` runs layers of hundreds of neurons
    // (the kernels' default of 1024 would run these 1000 one at a time)
    let kernels = Layer::new(Leaky::default(), Atan::default(), batch, neurons, &params)
        .unwrap()
        .with_chunk::<64>();
    let mut spikes = vec![T::zero(); steps * n];
    let mut mem = vec![T::zero(); steps * n];
    let mut gx = vec![T::zero(); steps * n];
    let mut g0 = vec![T::zero(); n];
    let mut gp = vec![vec![T::zero()]; 3];
    group.bench_function("native kernels, 1 thread", |b| {
        b.iter(|| {
            kernels
                .forward(steps, &[&x], &[&initial], &mut spikes, &mut [&mut mem])
                .unwrap();
            let mut gp_refs: Vec<&mut [T]> = gp.iter_mut().map(Vec::as_mut_slice).collect();
            kernels
                .backward(
                    steps,
                    Saved::new(&[&x], &[&initial], &spikes, &[&mem]),
                    OutputGrads::new(&grad_spikes, &[]),
                    InputGrads::new(&mut [&mut gx], &mut [&mut g0], &mut gp_refs),
                )
                .unwrap();
            black_box(&gx);
        })
    });

    let layer = VertexLayer::new(
        Leaky::default(),
        SurrogateSpec::of(&Atan::default()),
        batch,
        neurons,
        &params,
    )
    .unwrap();
    let (g, constants) = layer
        .graph(steps, Target::gc200(), 1472, Chunking::Whole)
        .unwrap();
    let both = Program::Sequence(vec![g.forward.clone(), g.backward.clone()]);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    for threads in [1, cores] {
        let mut engine = Engine::new(&g.graph, &both).unwrap().with_threads(threads);
        for (name, v) in &constants {
            engine.write_tensor(name, T::values(v.clone())).unwrap();
        }
        for t in &g.tensors {
            let values = match t.role {
                FieldRole::Input(_) => g.to_blocks(&x, t.rows, n, T::zero()),
                FieldRole::InitialState(_) => g.to_blocks(&initial, t.rows, n, T::zero()),
                FieldRole::GradSpikes => g.to_blocks(&grad_spikes, t.rows, n, T::zero()),
                FieldRole::GradState(_) => vec![no_gradient::<T>(); t.rows * g.padded()],
                _ => continue,
            };
            engine.write_tensor(&t.name, T::values(values)).unwrap();
        }
        group.bench_function(format!("graph emulator, {threads} thread(s)"), |b| {
            b.iter(|| engine.run(&both).unwrap())
        });
    }
    group.finish();
}

fn main() {
    let mut c = common::criterion();
    let quick = common::quick();
    let (batch, neurons) = if quick { (16, 800) } else { (128, 1000) };
    layer_pair::<f32>(
        &mut c,
        &format!("leaky_{batch}x{neurons}_T25_f32"),
        batch,
        neurons,
    );
    layer_pair::<F16>(
        &mut c,
        &format!("leaky_{batch}x{neurons}_T25_f16"),
        batch,
        neurons,
    );
    c.final_summary();
}
