//! One training step (forward over all steps, loss, backward through time,
//! no optimiser update) of the networks `snn-ipu train` runs, in
//! milliseconds per step and samples per second:
//!
//! - `digits`: the default 64-256-10 Leaky network, T = 25, batch 64;
//! - `mnist`: the seed paper's 784-1000-10 Leaky network, T = 25, batch
//!   128, rate-coded input with MNIST's mean intensity (0.13).
//!
//! Each in fp32 with the dense layers on gemm (1 thread and every core)
//! and, as the baseline measured in the same process, on the defined plain
//! loops (`Dense::Defined`); and in fp16 on every core. Set
//! `TRAIN_BENCH_QUICK=1` for the digits network only.

use std::hint::black_box;

use criterion::{Criterion, Throughput};
use snn_ipu::encode::Encoder;
use snn_ipu::native::dense::Dense;
use snn_ipu::native::{Batch, Loss, Native};
use snn_ipu::network::{LayerSpec, ModelKind, NetworkSpec, Precision};
use snn_ipu::params::Values;

struct Workload {
    name: &'static str,
    inputs: usize,
    hidden: usize,
    batch: usize,
    steps: usize,
    intensity: f32,
}

const WORKLOADS: [Workload; 2] = [
    Workload {
        name: "digits",
        inputs: 64,
        hidden: 256,
        batch: 64,
        steps: 25,
        intensity: 0.3,
    },
    Workload {
        name: "mnist",
        inputs: 784,
        hidden: 1000,
        batch: 128,
        steps: 25,
        intensity: 0.13,
    },
];

fn spec(w: &Workload, precision: Precision) -> NetworkSpec {
    let options = snn_ipu::cli::TrainOptions {
        hidden: vec![w.hidden],
        model: ModelKind::Leaky,
        precision,
        ..Default::default()
    };
    let spec = options.network(w.inputs, 10).expect("a valid network");
    assert!(matches!(spec.layers[0], LayerSpec::Dense { .. }));
    spec
}

fn bench(c: &mut Criterion) {
    let quick = std::env::var_os("TRAIN_BENCH_QUICK").is_some();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    for w in WORKLOADS.iter().take(if quick { 1 } else { 2 }) {
        // pixel values with the workload's mean, rate-coded
        let pixels: Vec<f32> = (0..w.batch * w.inputs)
            .map(|i| ((i * 7919) % 1000) as f32 / 1000.0 * 2.0 * w.intensity)
            .collect();
        let rows: Vec<usize> = (0..w.batch).collect();
        let mut inputs = vec![0.0f32; w.steps * w.batch * w.inputs];
        Encoder::Rate.encode(&pixels, w.inputs, &rows, w.steps, 1, &mut inputs);
        let labels: Vec<usize> = (0..w.batch).map(|i| i % 10).collect();
        let batch = Batch {
            inputs: &inputs,
            labels: &labels,
            steps: w.steps,
            seed: 1,
        };
        let mut group = c.benchmark_group(format!("train_step/{}", w.name));
        group.throughput(Throughput::Elements(w.batch as u64));
        group.sample_size(10);
        let mut variants = vec![
            (
                "f32 gemm 1 thread",
                Precision::F32,
                Dense::Fast { threads: 1 },
            ),
            (
                "f32 gemm every core",
                Precision::F32,
                Dense::Fast { threads: cores },
            ),
            (
                "f16 gemm every core",
                Precision::F16,
                Dense::Fast { threads: cores },
            ),
        ];
        if w.name == "digits" {
            variants.push((
                "f32 defined loops (baseline)",
                Precision::F32,
                Dense::Defined,
            ));
        }
        for (name, precision, dense) in variants {
            let spec = spec(w, precision);
            let native = Native::new(&spec).expect("valid").with_dense(dense);
            let values = Values::init(&spec, 1);
            let scale = if precision == Precision::F16 {
                1024.0
            } else {
                1.0
            };
            group.bench_function(name, |b| {
                b.iter(|| {
                    black_box(
                        native
                            .step(&values, &batch, Loss::CeCount, scale)
                            .expect("a training step"),
                    )
                })
            });
        }
        group.finish();
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
}
