//! One training step (forward over all steps, loss, backward through time,
//! no optimiser update) of the networks `snn-ipu train` runs, in
//! milliseconds per step and samples per second:
//!
//! - `digits`: the default 64-256-10 Leaky network, T = 25, batch 64;
//! - `mnist`: the seed paper's 784-1000-10 Leaky network, T = 25, batch
//!   128, rate-coded input with MNIST's mean intensity (0.13: about 13 %
//!   of the inputs spike at each step), and the same at 0.5.
//!
//! Each with the dense layers computed every way (`Dense::Fast`, what
//! training uses: event-driven below the crossover, gemm above it;
//! `Dense::Events`, always event-driven; `Dense::Gemm`, always gemm), on 1
//! thread and on every core, fp32 and fp16; the digits network also on the
//! defined plain loops (`Dense::Defined`, the baseline). After criterion's
//! groups, a table of every variant timed again in this process (median of
//! a few steps) with its ratio to gemm on 1 thread, so that the ratios come
//! from one process on one machine state. Set `TRAIN_BENCH_QUICK=1` for the
//! digits network only.

use std::hint::black_box;
use std::time::Instant;

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

const WORKLOADS: [Workload; 3] = [
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
    Workload {
        name: "mnist density 0.5",
        inputs: 784,
        hidden: 1000,
        batch: 128,
        steps: 25,
        intensity: 0.5,
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

/// The encoded inputs and labels of `w`'s batch.
fn batch_data(w: &Workload) -> (Vec<f32>, Vec<usize>) {
    // pixel values with the workload's mean, rate-coded
    let pixels: Vec<f32> = (0..w.batch * w.inputs)
        .map(|i| ((i * 7919) % 1000) as f32 / 1000.0 * 2.0 * w.intensity)
        .collect();
    let rows: Vec<usize> = (0..w.batch).collect();
    let mut inputs = vec![0.0f32; w.steps * w.batch * w.inputs];
    Encoder::Rate.encode(&pixels, w.inputs, &rows, w.steps, 1, &mut inputs);
    let labels: Vec<usize> = (0..w.batch).map(|i| i % 10).collect();
    (inputs, labels)
}

struct Variant {
    name: String,
    precision: Precision,
    dense: Dense,
}

fn variants(w: &Workload, cores: usize) -> Vec<Variant> {
    let mut thread_counts = vec![1];
    if cores > 1 {
        thread_counts.push(cores);
    }
    let mut out = Vec::new();
    for &threads in &thread_counts {
        let on = if threads == 1 {
            "1 thread".to_string()
        } else {
            format!("{threads} threads")
        };
        for (way, dense) in [
            ("fast", Dense::Fast { threads }),
            ("events", Dense::Events { threads }),
            ("gemm", Dense::Gemm { threads }),
        ] {
            out.push(Variant {
                name: format!("f32 {way} {on}"),
                precision: Precision::F32,
                dense,
            });
        }
        out.push(Variant {
            name: format!("f16 fast {on}"),
            precision: Precision::F16,
            dense: Dense::Fast { threads },
        });
    }
    if w.name == "digits" {
        out.push(Variant {
            name: "f32 defined loops (baseline) 1 thread".into(),
            precision: Precision::F32,
            dense: Dense::Defined,
        });
    }
    out
}

/// A runner and its values for `v`.
fn runner(w: &Workload, v: &Variant) -> (Native, Values, f32) {
    let spec = spec(w, v.precision);
    let native = Native::new(&spec).expect("valid").with_dense(v.dense);
    let values = Values::init(&spec, 1);
    let scale = if v.precision == Precision::F16 {
        1024.0
    } else {
        1.0
    };
    (native, values, scale)
}

fn bench(c: &mut Criterion, workloads: &[Workload], cores: usize) {
    for w in workloads {
        let (inputs, labels) = batch_data(w);
        let batch = Batch {
            inputs: &inputs,
            labels: &labels,
            steps: w.steps,
            seed: 1,
        };
        let mut group = c.benchmark_group(format!("train_step/{}", w.name));
        group.throughput(Throughput::Elements(w.batch as u64));
        group.sample_size(10);
        for v in variants(w, cores) {
            let (native, values, scale) = runner(w, &v);
            group.bench_function(&v.name, |b| {
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

/// Every variant timed again (median of a few steps), in ms per step and
/// samples per second, with the ratio to gemm on 1 thread.
fn table(workloads: &[Workload], cores: usize) {
    println!("\ntrain_step: median of 7 steps after 2 warm-up steps, this process");
    println!(
        "| workload | variant | ms/step | samples/s | speed-up over f32 gemm 1 thread |\n\
         | --- | --- | --- | --- | --- |"
    );
    for w in workloads {
        let (inputs, labels) = batch_data(w);
        let batch = Batch {
            inputs: &inputs,
            labels: &labels,
            steps: w.steps,
            seed: 1,
        };
        let mut rows = Vec::new();
        for v in variants(w, cores) {
            let (native, values, scale) = runner(w, &v);
            let mut times: Vec<f64> = (0..9)
                .map(|_| {
                    let t = Instant::now();
                    black_box(
                        native
                            .step(&values, &batch, Loss::CeCount, scale)
                            .expect("a training step"),
                    );
                    t.elapsed().as_secs_f64() * 1e3
                })
                .skip(2)
                .collect();
            times.sort_by(f64::total_cmp);
            rows.push((v.name, times[times.len() / 2]));
        }
        let base = rows
            .iter()
            .find(|(n, _)| n == "f32 gemm 1 thread")
            .map_or(f64::NAN, |r| r.1);
        for (name, ms) in rows {
            println!(
                "| {} | {name} | {ms:.1} | {:.0} | {:.2}x |",
                w.name,
                w.batch as f64 / ms * 1e3,
                base / ms
            );
        }
    }
}

fn main() {
    let quick = std::env::var_os("TRAIN_BENCH_QUICK").is_some();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workloads = &WORKLOADS[..if quick { 1 } else { WORKLOADS.len() }];
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c, workloads, cores);
    c.final_summary();
    // not when cargo test runs the benches once as tests
    if !std::env::args().any(|a| a == "--test" || a == "--list") {
        table(workloads, cores);
    }
}
