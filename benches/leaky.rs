//! The fused Leaky layer at B = 128, N = 4096, T = 100: forward, and forward
//! + backward, in fp32 and fp16, in neuron-steps per second.
//!
//! `cargo bench --bench leaky` runs the criterion groups, then prints a
//! summary measured in this same process: each variant beside two baselines
//! run here too (a plain hand-written fused f32 Leaky loop, and a streaming
//! triad that estimates the memory bandwidth this run can get), with the
//! bytes each pass moves. Set `LEAKY_BENCH_QUICK=1` for a smaller problem.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput};
use snn_kernels::layer::{InputGrads, Layer, OutputGrads, Param, Saved};
use snn_kernels::models::Leaky;
use snn_kernels::surrogate::Atan;
use snn_kernels::{Real, F16};

struct Shape {
    batch: usize,
    neurons: usize,
    steps: usize,
}

fn shape() -> Shape {
    if std::env::var_os("LEAKY_BENCH_QUICK").is_some() {
        Shape {
            batch: 16,
            neurons: 1024,
            steps: 50,
        }
    } else {
        Shape {
            batch: 128,
            neurons: 4096,
            steps: 100,
        }
    }
}

/// Buffers of one Leaky layer run.
struct Buffers<T> {
    x: Vec<T>,
    mem0: Vec<T>,
    spikes: Vec<T>,
    mem: Vec<T>,
    grad_spikes: Vec<T>,
    grad_x: Vec<T>,
    grad_mem0: Vec<T>,
}

impl<T: Real<Mask = bool>> Buffers<T> {
    fn new(s: &Shape) -> Self {
        let n = s.batch * s.neurons;
        let len = n * s.steps;
        let x = snn_ipu::input_currents(len, 7)
            .into_iter()
            .map(T::constant)
            .collect();
        // every buffer written once, so page faults stay out of the timings
        Buffers {
            x,
            mem0: vec![T::zero(); n],
            spikes: vec![T::one(); len],
            mem: vec![T::one(); len],
            grad_spikes: vec![T::constant(0.01); len],
            grad_x: vec![T::one(); len],
            grad_mem0: vec![T::one(); n],
        }
    }
}

/// The benchmarked layer: Leaky neurons with the atan surrogate.
type LeakyLayer<T> = Layer<'static, Leaky, Atan, T>;

fn layer<T: Real<Mask = bool> + 'static>(s: &Shape) -> LeakyLayer<T> {
    let params = [T::constant(0.9), T::one(), T::one()].map(Param::Scalar);
    Layer::new(
        Leaky::default(),
        Atan::default(),
        s.batch,
        s.neurons,
        &params,
    )
    .expect("valid layer")
}

impl<T: Real<Mask = bool> + 'static> Buffers<T> {
    fn forward(&mut self, layer: &LeakyLayer<T>, s: &Shape) {
        let mem = &mut [&mut self.mem[..]];
        let (x, mem0) = (&[&self.x[..]], &[&self.mem0[..]]);
        layer
            .forward(s.steps, x, mem0, &mut self.spikes, mem)
            .expect("forward");
    }

    fn backward(&mut self, layer: &LeakyLayer<T>, s: &Shape) {
        let (x, mem0, mem) = ([&self.x[..]], [&self.mem0[..]], [&self.mem[..]]);
        let (mut grad_x, mut grad_mem0) = ([&mut self.grad_x[..]], [&mut self.grad_mem0[..]]);
        let saved = Saved::new(&x, &mem0, &self.spikes, &mem);
        let grads = OutputGrads::new(&self.grad_spikes, &[]);
        let out = InputGrads::new(&mut grad_x, &mut grad_mem0, &mut []);
        layer
            .backward(s.steps, saved, grads, out)
            .expect("backward");
    }
}

fn bench_precision<T: Real<Mask = bool> + 'static>(c: &mut Criterion, name: &str) {
    let s = shape();
    let len = (s.batch * s.neurons * s.steps) as u64;
    let layer = layer::<T>(&s);
    let mut buffers = Buffers::<T>::new(&s);
    let mut group = c.benchmark_group(format!("leaky_{name}"));
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8))
        .throughput(Throughput::Elements(len));
    group.bench_function("forward", |bench| {
        bench.iter(|| buffers.forward(&layer, &s))
    });
    group.bench_function("forward_backward", |bench| {
        bench.iter(|| {
            buffers.forward(&layer, &s);
            buffers.backward(&layer, &s);
        })
    });
    group.finish();
}

fn criterion_benches(c: &mut Criterion) {
    bench_precision::<f32>(c, "f32");
    bench_precision::<F16>(c, "f16");
}

/// A plain fused f32 Leaky loop, written directly (subtract reset, atan
/// surrogate): the baseline the kernels are compared with.
fn plain_forward(s: &Shape, x: &[f32], spikes: &mut [f32], mem: &mut [f32]) {
    let n = s.batch * s.neurons;
    let mut state = vec![0.0f32; n];
    for t in 0..s.steps {
        let range = t * n..(t + 1) * n;
        for (((m, &xi), spk), out) in state
            .iter_mut()
            .zip(&x[range.clone()])
            .zip(&mut spikes[range.clone()])
            .zip(&mut mem[range])
        {
            let r = if *m > 1.0 { 1.0 } else { 0.0 };
            *m = 0.9 * *m + xi - r;
            *spk = if *m > 1.0 { 1.0 } else { 0.0 };
            *out = *m;
        }
    }
}

fn plain_backward(s: &Shape, mem: &[f32], grad_spikes: &[f32], grad_x: &mut [f32]) {
    let n = s.batch * s.neurons;
    let mut carry = vec![0.0f32; n];
    let k = std::f32::consts::PI;
    for t in (0..s.steps).rev() {
        for i in 0..n {
            let z = mem[t * n + i] - 1.0;
            let g = carry[i] + grad_spikes[t * n + i] / (1.0 + (k * z) * (k * z));
            grad_x[t * n + i] = g;
            carry[i] = 0.9 * g;
        }
    }
}

/// Best time of `runs` runs of `f`.
fn best(runs: usize, mut f: impl FnMut()) -> f64 {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn summary() {
    let s = shape();
    let len = s.batch * s.neurons * s.steps;
    let mega = |seconds: f64| len as f64 / seconds / 1e6;
    println!(
        "\nsummary, B = {}, N = {}, T = {} ({len} neuron-steps), best of 5 runs in this process:",
        s.batch, s.neurons, s.steps
    );

    // memory bandwidth estimate: c = a + 0.5 b over buffers of this size
    let a = vec![1.0f32; len];
    let b = vec![2.0f32; len];
    let mut c = vec![0.0f32; len];
    let triad = best(5, || {
        for ((c, a), b) in c.iter_mut().zip(&a).zip(&b) {
            *c = *a + 0.5 * *b;
        }
        black_box(&c);
    });
    let bandwidth = 12.0 * len as f64 / triad / 1e9;
    println!("  memory: triad (2 reads + 1 write of f32) {bandwidth:.1} GB/s");
    drop((a, b, c));

    let mut f32b = Buffers::<f32>::new(&s);
    let plain_f = best(5, || {
        plain_forward(&s, &f32b.x, &mut f32b.spikes, &mut f32b.mem)
    });
    let plain_b = best(5, || {
        plain_backward(&s, &f32b.mem, &f32b.grad_spikes, &mut f32b.grad_x)
    });
    println!(
        "  plain fused f32 loop:  forward {:>6.0} M/s   forward + backward {:>6.0} M/s",
        mega(plain_f),
        mega(plain_f + plain_b)
    );

    let report = |name: &str, bytes: f64, forward: f64, backward: f64| {
        println!(
            "  kernels {name}:          forward {:>6.0} M/s   forward + backward {:>6.0} M/s   (speed vs the plain loop {:.2}x / {:.2}x; {:.1} GB/s, {:.0} % of the triad)",
            mega(forward),
            mega(forward + backward),
            plain_f / forward,
            (plain_f + plain_b) / (forward + backward),
            // forward: x in, spikes and mem out; backward: mem, spike gradients in, input gradients out
            6.0 * bytes * len as f64 / (forward + backward) / 1e9,
            100.0 * 6.0 * bytes * len as f64 / (forward + backward) / 1e9 / bandwidth,
        );
    };
    let layer32 = layer::<f32>(&s);
    let f = best(5, || f32b.forward(&layer32, &s));
    let b = best(5, || f32b.backward(&layer32, &s));
    report("f32", 4.0, f, b);
    drop(f32b);

    let mut f16b = Buffers::<F16>::new(&s);
    let layer16 = layer::<F16>(&s);
    let f = best(3, || f16b.forward(&layer16, &s));
    let b = best(3, || f16b.backward(&layer16, &s));
    report("f16", 2.0, f, b);
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    criterion_benches(&mut criterion);
    criterion.final_summary();
    summary();
}
