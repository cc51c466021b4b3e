//! The seed paper's speed experiments on the 784-1000-10 network (T = 25,
//! rate-coded input with MNIST's mean intensity 0.13, population-count
//! cross-entropy, Adam): time per training iteration (forward, loss,
//! backward through time and the Adam update) and samples per second,
//!
//! 1. across the six neuron models (batch 128, fp32);
//! 2. across batch sizes 16 to 512 (Leaky, fp32 and fp16);
//! 3. fp16 and binary16 storage against fp32 (Leaky, batch 128);
//! 4. a population code (50 neurons per class, T = 10) against one neuron
//!    per class (T = 25).
//!
//! Native figures are measured here (best of several iterations, one
//! thread and every core); the IPU column is the graph's cycle model for a
//! GC200 (`snn-ipu plan`), an estimate, where the training graph supports
//! the configuration. Prints Markdown tables. `SNN_BENCH_QUICK=1`: fewer
//! rows and iterations. The accuracy experiments (fp16 against fp32, the
//! population code) train on the bundled digits: `benches/seed_paper.sh`.

use std::time::Instant;

use snn_ipu::cli::TrainOptions;
use snn_ipu::encode::Encoder;
use snn_ipu::native::dense::Dense;
use snn_ipu::native::{Batch, Native};
use snn_ipu::network::{ModelKind, Precision};
use snn_ipu::optim::Optimizer;
use snn_ipu::params::Values;
use snn_poplar_host::graph::Target;

const INPUTS: usize = 784;
const INTENSITY: f32 = 0.13;

/// One row of a table: a network and how it runs.
#[derive(Clone)]
struct Row {
    model: ModelKind,
    batch: usize,
    steps: usize,
    precision: Precision,
    population: usize,
}

impl Row {
    fn leaky(batch: usize, precision: Precision) -> Row {
        Row {
            model: ModelKind::Leaky,
            batch,
            steps: 25,
            precision,
            population: 1,
        }
    }

    fn options(&self) -> TrainOptions {
        TrainOptions {
            hidden: vec![1000],
            model: self.model,
            precision: self.precision,
            batch: self.batch,
            steps: self.steps,
            population: self.population,
            lr: 5e-4,
            ..Default::default()
        }
    }
}

/// Milliseconds per training iteration (best of `iterations` after one
/// warm-up) on `threads` threads.
fn time_iteration(row: &Row, threads: usize, iterations: usize) -> Result<f64, String> {
    let options = row.options();
    let spec = options.network(INPUTS, 10)?;
    let config = options.config();
    let native = Native::new(&spec)
        .map_err(|e| e.to_string())?
        .with_dense(Dense::Fast { threads });
    let mut values = Values::init(&spec, 1);
    let mut optimizer = Optimizer::new(config.optimizer, &values);
    let pixels: Vec<f32> = (0..row.batch * INPUTS)
        .map(|i| ((i * 7919) % 1000) as f32 / 1000.0 * 2.0 * INTENSITY)
        .collect();
    let rows: Vec<usize> = (0..row.batch).collect();
    let mut inputs = vec![0.0f32; row.steps * row.batch * INPUTS];
    Encoder::Rate.encode(&pixels, INPUTS, &rows, row.steps, 1, &mut inputs);
    let labels: Vec<usize> = (0..row.batch).map(|i| i % 10).collect();
    let batch = Batch {
        inputs: &inputs,
        labels: &labels,
        steps: row.steps,
        seed: 1,
    };
    let scale = if row.precision == Precision::F32 {
        1.0
    } else {
        1024.0
    };
    let mut best = f64::INFINITY;
    for i in 0..=iterations {
        let start = Instant::now();
        let (_, mut gradients) = native
            .step(&values, &batch, config.loss, scale)
            .map_err(|e| e.to_string())?;
        optimizer.apply(&mut values, &mut gradients.tensors, config.clip);
        let seconds = start.elapsed().as_secs_f64();
        if i > 0 {
            best = best.min(seconds);
        }
    }
    Ok(best * 1e3)
}

/// The GC200 estimate of one iteration in ms, or why there is none.
fn ipu_estimate(row: &Row) -> String {
    let options = row.options();
    let estimate = || -> Result<f64, String> {
        let spec = options.network(INPUTS, 10)?;
        let config = options.config();
        snn_ipu::graph_backend::check_supported(&spec, &config)?;
        // every tile of the target per split, as `snn-ipu plan` by default
        let target = Target::gc200();
        let tiles = target.tiles;
        let graph = snn_ipu::graph_backend::build_graph_on(
            &spec,
            config.steps,
            config.batch,
            config.optimizer,
            target,
            tiles,
        )?;
        let cycles = graph
            .graph()
            .estimate_cycles(graph.program())
            .map_err(|e| format!("{}", e[0]))?;
        Ok(cycles.seconds() * 1e3)
    };
    match estimate() {
        Ok(ms) => format!("{ms:.2} ms (estimate)"),
        Err(_) => "(not supported by the training graph)".into(),
    }
}

fn precision_name(p: Precision) -> &'static str {
    match p {
        Precision::F32 => "fp32",
        Precision::F16 => "fp16",
    }
}

fn table(title: &str, rows: &[Row], cores: usize, iterations: usize) {
    println!("\n### {title}\n");
    println!(
        "| model | batch | T | precision | outputs | ms / iteration, 1 thread | samples/s | ms / iteration, {cores} threads | samples/s | GC200 (cycle model) |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for row in rows {
        let one = time_iteration(row, 1, iterations);
        let all = time_iteration(row, cores, iterations);
        let cell = |r: &Result<f64, String>| match r {
            Ok(ms) => (
                format!("{ms:.1}"),
                format!("{:.0}", row.batch as f64 / ms * 1e3),
            ),
            Err(e) => (format!("refused: {e}"), String::new()),
        };
        let (one_ms, one_rate) = cell(&one);
        let (all_ms, all_rate) = cell(&all);
        println!(
            "| {} | {} | {} | {} | {} | {one_ms} | {one_rate} | {all_ms} | {all_rate} | {} |",
            row.model.name(),
            row.batch,
            row.steps,
            precision_name(row.precision),
            10 * row.population,
            ipu_estimate(row)
        );
    }
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is read
    let quick = std::env::var_os("SNN_BENCH_QUICK").is_some();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let iterations = if quick { 1 } else { 3 };
    println!(
        "784-1000-10, rate-coded input of mean intensity {INTENSITY}, population-count cross-entropy, Adam; \
         best of {iterations} iterations after a warm-up"
    );

    let models = [
        ModelKind::Leaky,
        ModelKind::Synaptic,
        ModelKind::Alpha,
        ModelKind::Lapicque,
        ModelKind::RLeaky,
        ModelKind::RSynaptic,
    ];
    let rows: Vec<Row> = models
        .iter()
        .take(if quick { 2 } else { 6 })
        .map(|&model| Row {
            model,
            ..Row::leaky(128, Precision::F32)
        })
        .collect();
    table(
        "Across the neuron models (batch 128, fp32)",
        &rows,
        cores,
        iterations,
    );

    let batches: &[usize] = if quick {
        &[16, 128]
    } else {
        &[16, 32, 64, 128, 256, 512]
    };
    let rows: Vec<Row> = batches
        .iter()
        .flat_map(|&b| [Row::leaky(b, Precision::F32), Row::leaky(b, Precision::F16)])
        .collect();
    table("Across batch sizes (Leaky)", &rows, cores, iterations);

    let rows = vec![
        Row::leaky(128, Precision::F32),
        Row {
            population: 50,
            steps: 10,
            ..Row::leaky(128, Precision::F32)
        },
    ];
    table(
        "A population code (50 neurons per class, T = 10) against one neuron per class (T = 25)",
        &rows,
        cores,
        iterations,
    );
}
