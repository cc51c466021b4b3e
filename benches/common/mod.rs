//! What the kernel benches share (`leaky`, `models`, `surrogates`,
//! `readout`, `graph_emulator`): the sizes and the quick mode, the
//! precisions, the buffers of a layer run, the bytes each pass must move,
//! the plain fused f32 Leaky loop, the bandwidth probe and the summary.
//! `docs/benchmarks.md` says what every figure means.
//!
//! Each bench includes this file with `mod common;`; none uses all of it.
#![allow(dead_code)]

use std::hint::black_box;
use std::marker::PhantomData;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, SamplingMode, Throughput};
use snn_kernels::layer::{InputGrads, Layer as KernelLayer, OutputGrads, Param, Saved};
use snn_kernels::model::{no_gradient, Model};
use snn_kernels::models::Leaky;
use snn_kernels::real::F16Storage;
use snn_kernels::surrogate::{Atan, Surrogate};
use snn_kernels::{Error, Real, F16};

/// The kernels' default chunk (neurons carried through all steps at once).
pub const DEFAULT_CHUNK: usize = snn_kernels::layer::DEFAULT_CHUNK;

/// The chunk `snn-ipu train` runs its default-surrogate layers with
/// (`src/native/spiking.rs`): the N sweep measures it beside the default.
pub const TRAIN_CHUNK: usize = 64;

// ---- sizes and the quick mode ----

/// True when `SNN_BENCH_QUICK` is set (to anything but `0` or nothing):
/// CI-sized problems and short measurements.
pub fn quick() -> bool {
    std::env::var_os("SNN_BENCH_QUICK").is_some_and(|v| !v.is_empty() && v != "0")
}

/// A layer run: `batch` rows of `neurons` neurons over `steps` time steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    pub batch: usize,
    pub neurons: usize,
    pub steps: usize,
}

impl Shape {
    pub const fn new(batch: usize, neurons: usize, steps: usize) -> Shape {
        Shape {
            batch,
            neurons,
            steps,
        }
    }

    /// Values per time step, `B·N`.
    pub fn elements(&self) -> usize {
        self.batch * self.neurons
    }

    /// Neuron-steps, `T·B·N`.
    pub fn neuron_steps(&self) -> usize {
        self.elements() * self.steps
    }

    /// `BxNxT`, as the summary prints it.
    pub fn label(&self) -> String {
        format!("{}x{}x{}", self.batch, self.neurons, self.steps)
    }
}

/// The headline: B = 128, N = 4096, T = 100 (quick: 8, 1024, 25).
pub fn headline() -> Shape {
    if quick() {
        Shape::new(8, 1024, 25)
    } else {
        Shape::new(128, 4096, 100)
    }
}

/// The sweep over N, from cache-resident to memory-bound: B = 32, T = 100,
/// N = 64 ... 16384 (quick: B = 8, T = 25, N = 64, 1024).
pub fn n_sweep() -> Vec<Shape> {
    if quick() {
        [64, 1024].map(|n| Shape::new(8, n, 25)).to_vec()
    } else {
        [64, 256, 1024, 4096, 16384]
            .map(|n| Shape::new(32, n, 100))
            .to_vec()
    }
}

/// The sweep over T: B = 32, N = 4096, T = 10, 25, 100, 400 (quick: B = 8,
/// N = 1024, T = 10, 50).
pub fn t_sweep() -> Vec<Shape> {
    if quick() {
        [10, 50].map(|t| Shape::new(8, 1024, t)).to_vec()
    } else {
        [10, 25, 100, 400].map(|t| Shape::new(32, 4096, t)).to_vec()
    }
}

/// Criterion with this suite's settings (10 samples; 1 s warm-up and 5 s
/// of measurement, or 0.05 s and 0.15 s in the quick mode), then the
/// command line's, which take precedence.
pub fn criterion() -> Criterion {
    let c = Criterion::default().sample_size(10);
    let c = if quick() {
        c.warm_up_time(Duration::from_millis(50))
            .measurement_time(Duration::from_millis(150))
            .nresamples(5000)
    } else {
        c.warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(5))
    };
    c.configure_from_args()
}

/// True when criterion measures (`cargo bench`), false when it only runs
/// each benchmark once (`cargo test --benches`), lists them or profiles:
/// the summary is printed only after measurements.
pub fn measuring() -> bool {
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| {
        args.iter()
            .any(|a| a == flag || a.starts_with(&format!("{flag}=")))
    };
    has("--bench") && !has("--test") && !has("--list") && !has("--profile-time")
}

// ---- precisions ----

/// A precision the kernels run in: the stored value type and how a layer
/// of it is built and driven. A new precision (for example binary16
/// storage with binary32 arithmetic) is one more implementation and one
/// more line in [`for_each_precision!`].
pub trait Precision: 'static {
    /// The stored values: inputs, states, spikes and their gradients.
    type Value: Real<Mask = bool> + Into<f64> + 'static;
    /// A layer of this precision processing `C` neurons at a time.
    type Layer<M: Model, S: Surrogate, const C: usize>;
    /// The name in benchmark ids and the summary.
    const NAME: &'static str;
    /// Bytes of one stored value.
    const BYTES: usize = std::mem::size_of::<Self::Value>();

    /// `x` rounded to a stored value.
    fn value(x: f64) -> Self::Value {
        <Self::Value as Real>::constant(x)
    }

    /// A layer with scalar parameters `params` (in the model's order).
    fn layer<M: Model, S: Surrogate, const C: usize>(
        model: M,
        surrogate: S,
        batch: usize,
        neurons: usize,
        params: &[f64],
    ) -> Result<Self::Layer<M, S, C>, Error>;

    /// [`KernelLayer::forward`].
    fn forward<M: Model, S: Surrogate, const C: usize>(
        layer: &Self::Layer<M, S, C>,
        steps: usize,
        inputs: &[&[Self::Value]],
        initial: &[&[Self::Value]],
        spikes: &mut [Self::Value],
        states: &mut [&mut [Self::Value]],
    ) -> Result<(), Error>;

    /// [`KernelLayer::backward`].
    fn backward<M: Model, S: Surrogate, const C: usize>(
        layer: &Self::Layer<M, S, C>,
        steps: usize,
        saved: Saved<'_, Self::Value>,
        grads: OutputGrads<'_, Self::Value>,
        out: InputGrads<'_, '_, Self::Value>,
    ) -> Result<(), Error>;

    /// [`KernelLayer::step`].
    fn step<M: Model, S: Surrogate, const C: usize>(
        layer: &Self::Layer<M, S, C>,
        step: usize,
        inputs: &[&[Self::Value]],
        state: &mut [&mut [Self::Value]],
        spikes: &mut [Self::Value],
    ) -> Result<(), Error>;

    /// [`KernelLayer::step_backward`].
    #[allow(clippy::too_many_arguments)]
    fn step_backward<M: Model, S: Surrogate, const C: usize>(
        layer: &Self::Layer<M, S, C>,
        step: usize,
        inputs: &[&[Self::Value]],
        prev: &[&[Self::Value]],
        next: &[&[Self::Value]],
        grad_spikes: &[Self::Value],
        grad_state: &mut [&mut [Self::Value]],
        grad_inputs: &mut [&mut [Self::Value]],
        param_accumulator: &mut [Self::Value],
    ) -> Result<(), Error>;
}

/// A scalar type the kernels compute and store in directly.
pub trait PlainValue: Real<Mask = bool> + Into<f64> + 'static {
    const NAME: &'static str;
}

impl PlainValue for f32 {
    const NAME: &'static str = "f32";
}

impl PlainValue for F16 {
    const NAME: &'static str = "f16";
}

impl PlainValue for F16Storage {
    const NAME: &'static str = "f16-storage";
}

/// The kernels' `Layer` over values of type `T`: every operation in `T`.
pub struct Plain<T>(PhantomData<T>);

/// fp32: IEEE binary32.
pub type F32 = Plain<f32>;
/// fp16 as defined today: every operation rounded to binary16.
pub type Half = Plain<F16>;
/// binary16 storage, binary32 arithmetic inside a step (`F16Storage`).
pub type HalfStorage = Plain<F16Storage>;

impl<T: PlainValue> Precision for Plain<T> {
    type Value = T;
    type Layer<M: Model, S: Surrogate, const C: usize> = KernelLayer<'static, M, S, T, C>;
    const NAME: &'static str = T::NAME;

    fn layer<M: Model, S: Surrogate, const C: usize>(
        model: M,
        surrogate: S,
        batch: usize,
        neurons: usize,
        params: &[f64],
    ) -> Result<Self::Layer<M, S, C>, Error> {
        let params: Vec<Param<'static, T>> = params
            .iter()
            .map(|&v| Param::Scalar(T::constant(v)))
            .collect();
        Ok(KernelLayer::new(model, surrogate, batch, neurons, &params)?.with_chunk::<C>())
    }

    fn forward<M: Model, S: Surrogate, const C: usize>(
        layer: &Self::Layer<M, S, C>,
        steps: usize,
        inputs: &[&[T]],
        initial: &[&[T]],
        spikes: &mut [T],
        states: &mut [&mut [T]],
    ) -> Result<(), Error> {
        layer.forward(steps, inputs, initial, spikes, states)
    }

    fn backward<M: Model, S: Surrogate, const C: usize>(
        layer: &Self::Layer<M, S, C>,
        steps: usize,
        saved: Saved<'_, T>,
        grads: OutputGrads<'_, T>,
        out: InputGrads<'_, '_, T>,
    ) -> Result<(), Error> {
        layer.backward(steps, saved, grads, out)
    }

    fn step<M: Model, S: Surrogate, const C: usize>(
        layer: &Self::Layer<M, S, C>,
        step: usize,
        inputs: &[&[T]],
        state: &mut [&mut [T]],
        spikes: &mut [T],
    ) -> Result<(), Error> {
        layer.step(step, inputs, state, spikes)
    }

    fn step_backward<M: Model, S: Surrogate, const C: usize>(
        layer: &Self::Layer<M, S, C>,
        step: usize,
        inputs: &[&[T]],
        prev: &[&[T]],
        next: &[&[T]],
        grad_spikes: &[T],
        grad_state: &mut [&mut [T]],
        grad_inputs: &mut [&mut [T]],
        param_accumulator: &mut [T],
    ) -> Result<(), Error> {
        layer.step_backward(
            step,
            inputs,
            prev,
            next,
            grad_spikes,
            grad_state,
            grad_inputs,
            param_accumulator,
        )
    }
}

/// Runs `$body` once per precision with `$p` naming it (a type
/// implementing [`Precision`]): `for_each_precision!(P => { run::<P>(); })`.
/// The one list of the precisions every kernel bench covers.
macro_rules! for_each_precision {
    ($p:ident => $body:block) => {{
        {
            type $p = $crate::common::F32;
            $body
        }
        {
            type $p = $crate::common::Half;
            $body
        }
        {
            type $p = $crate::common::HalfStorage;
            $body
        }
    }};
}

// ---- passes and the bytes they move ----

/// What one benchmark iteration runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pass {
    /// [`KernelLayer::step`]: one time step of all `B·N` elements.
    Step,
    /// [`KernelLayer::step`], then [`KernelLayer::step_backward`] of that
    /// step.
    StepBackward,
    /// The fused forward pass over `T` steps.
    Forward,
    /// The fused forward pass, then the backward pass through time.
    ForwardBackward,
}

impl Pass {
    pub const ALL: [Pass; 4] = [
        Pass::Step,
        Pass::StepBackward,
        Pass::Forward,
        Pass::ForwardBackward,
    ];
    pub const FUSED: [Pass; 2] = [Pass::Forward, Pass::ForwardBackward];

    pub fn name(self) -> &'static str {
        match self {
            Pass::Step => "step",
            Pass::StepBackward => "step_backward",
            Pass::Forward => "forward",
            Pass::ForwardBackward => "forward_backward",
        }
    }

    /// Time steps one iteration covers.
    pub fn steps(self, shape: Shape) -> usize {
        match self {
            Pass::Step | Pass::StepBackward => 1,
            Pass::Forward | Pass::ForwardBackward => shape.steps,
        }
    }
}

/// Values a pass must read and write per element of a `[B][N]` block:
/// `per_step` at every time step, `once` per run (the initial states and
/// their gradients). Bytes per iteration: `size · B·N · (per_step·T + once)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Traffic {
    pub per_step: usize,
    pub once: usize,
}

/// What `pass` of `model` must read and write (`docs/benchmarks.md`). With
/// `I` input streams, `S` states (all of them), `K` stored trajectories
/// (`S` less the spike state of one-to-one recurrent models), `R = 1` for
/// those recurrent models (their backward pass reads the spikes as the
/// spike state) and `X = I` when the model's backward pass reads its inputs
/// (else 0):
///
/// - fused forward: reads `I` inputs, writes `K` states and the spikes:
///   `I + K + 1` per step; reads the `S` initial states once;
/// - fused backward: reads `K` states, the spike gradients, `R` spikes and
///   `X` inputs, writes `I` input gradients: `K + 1 + R + X + I` per step;
///   reads the `S` initial states and writes their `S` gradients once;
/// - single step: reads `I` inputs and `S` states, writes `S` states and
///   the spikes: `I + 2S + 1`;
/// - single step backward: reads `I` inputs, `S` states before and `S`
///   after, the spike gradients and `S` state gradients, writes `S` state
///   gradients and `I` input gradients: `2I + 4S + 1`.
///
/// A value kept in cache between two uses (the state after step `t` read
/// again as the state before step `t + 1`) counts once; write-allocate
/// reads are not counted (as the probe's STREAM convention does not).
pub fn traffic<M: Model>(model: &M, pass: Pass) -> Traffic {
    let i = M::INPUTS.len();
    let s = M::STATES.len();
    let r = usize::from(M::SPIKE_STATE.is_some());
    let k = s - r;
    let x = if model.backward_reads_inputs() { i } else { 0 };
    let step = i + 2 * s + 1;
    match pass {
        Pass::Step => Traffic {
            per_step: step,
            once: 0,
        },
        Pass::StepBackward => Traffic {
            per_step: step + 2 * i + 4 * s + 1,
            once: 0,
        },
        Pass::Forward => Traffic {
            per_step: i + k + 1,
            once: s,
        },
        Pass::ForwardBackward => Traffic {
            per_step: (i + k + 1) + (k + 1 + r + x + i),
            once: 3 * s,
        },
    }
}

/// Bytes per iteration of `traffic` at `shape` over `steps` steps in values
/// of `bytes` bytes.
pub fn bytes_moved(traffic: Traffic, shape: Shape, steps: usize, bytes: usize) -> f64 {
    (bytes * shape.elements() * (traffic.per_step * steps + traffic.once)) as f64
}

// ---- a layer run ----

/// A benchmarked layer: model, surrogate and scalar parameters.
#[derive(Clone, Copy, Debug)]
pub struct Case<M, S> {
    pub model: M,
    pub surrogate: S,
    pub params: &'static [f64],
}

/// Leaky with its defaults (subtract reset, delayed; atan, alpha 2) and
/// beta 0.9, threshold 1, graded factor 1.
pub fn leaky() -> Case<Leaky, Atan> {
    Case {
        model: Leaky::default(),
        surrogate: Atan::default(),
        params: &[0.9, 1.0, 1.0],
    }
}

/// The buffers of one layer of `M` with surrogate `S` in precision `P` at
/// one shape, and its passes. Every buffer is written when it is made
/// (page faults stay out of the timings), and the forward pass and one
/// single step have run, so that the backward passes read real
/// trajectories.
pub struct KernelRun<M: Model, S: Surrogate, P: Precision, const C: usize> {
    model: M,
    shape: Shape,
    layer: P::Layer<M, S, C>,
    inputs: Vec<Vec<P::Value>>,
    initial: Vec<Vec<P::Value>>,
    spikes: Vec<P::Value>,
    states: Vec<Vec<P::Value>>,
    grad_spikes: Vec<P::Value>,
    grad_inputs: Vec<Vec<P::Value>>,
    grad_initial: Vec<Vec<P::Value>>,
    /// The single step's states (updated in place), the states after the
    /// first single step, the state gradients (updated in place), the input
    /// gradients and the spikes, `[B][N]` each.
    state: Vec<Vec<P::Value>>,
    next: Vec<Vec<P::Value>>,
    grad_state: Vec<Vec<P::Value>>,
    step_grad_inputs: Vec<Vec<P::Value>>,
    step_spikes: Vec<P::Value>,
}

/// `len` input currents of stream `seed` (`snn_ipu::input_current_stream`:
/// uniform in [-0.2, 0.5)).
pub fn currents<T: Real>(len: usize, seed: u64) -> Vec<T> {
    snn_ipu::input_current_stream(len, seed)
        .map(T::constant)
        .collect()
}

fn refs<T>(list: &[Vec<T>]) -> Vec<&[T]> {
    list.iter().map(Vec::as_slice).collect()
}

fn refs_mut<T>(list: &mut [Vec<T>]) -> Vec<&mut [T]> {
    list.iter_mut().map(Vec::as_mut_slice).collect()
}

impl<M: Model, S: Surrogate, P: Precision, const C: usize> KernelRun<M, S, P, C> {
    pub fn new(case: &Case<M, S>, shape: Shape) -> Self {
        let n = shape.elements();
        let len = shape.neuron_steps();
        let layer = P::layer::<M, S, C>(
            case.model,
            case.surrogate,
            shape.batch,
            shape.neurons,
            case.params,
        )
        .expect("a valid layer");
        let one = P::value(1.0);
        let stored = M::STATES.len() - usize::from(M::SPIKE_STATE.is_some());
        let streams = |count: usize, len: usize| vec![vec![one; len]; count];
        let mut run = KernelRun {
            model: case.model,
            shape,
            layer,
            inputs: (0..M::INPUTS.len())
                .map(|k| currents(len, 7 + k as u64))
                .collect(),
            initial: vec![vec![P::value(0.0); n]; M::STATES.len()],
            spikes: vec![one; len],
            states: streams(stored, len),
            grad_spikes: vec![P::value(0.01); len],
            grad_inputs: streams(M::INPUTS.len(), len),
            grad_initial: streams(M::STATES.len(), n),
            state: vec![vec![P::value(0.0); n]; M::STATES.len()],
            next: streams(M::STATES.len(), n),
            grad_state: vec![vec![no_gradient::<P::Value>(); n]; M::STATES.len()],
            step_grad_inputs: streams(M::INPUTS.len(), n),
            step_spikes: vec![one; n],
        };
        run.forward();
        run.step();
        run.next.clone_from(&run.state);
        run.state.clone_from(&run.initial);
        run
    }

    pub fn run(&mut self, pass: Pass) {
        match pass {
            Pass::Step => self.step(),
            Pass::StepBackward => {
                self.step();
                self.step_backward();
            }
            Pass::Forward => self.forward(),
            Pass::ForwardBackward => {
                self.forward();
                self.backward();
            }
        }
    }

    pub fn forward(&mut self) {
        let (inputs, initial) = (refs(&self.inputs), refs(&self.initial));
        let mut states = refs_mut(&mut self.states);
        P::forward(
            &self.layer,
            self.shape.steps,
            &inputs,
            &initial,
            &mut self.spikes,
            &mut states,
        )
        .expect("the forward pass");
    }

    pub fn backward(&mut self) {
        let (inputs, initial) = (refs(&self.inputs), refs(&self.initial));
        let states = refs(&self.states);
        let saved = Saved::new(&inputs, &initial, &self.spikes, &states);
        let grads = OutputGrads::new(&self.grad_spikes, &[]);
        let mut grad_inputs = refs_mut(&mut self.grad_inputs);
        let mut grad_initial = refs_mut(&mut self.grad_initial);
        let out = InputGrads::new(&mut grad_inputs, &mut grad_initial, &mut []);
        P::backward(&self.layer, self.shape.steps, saved, grads, out).expect("the backward pass");
    }

    /// One single step (step 0's inputs) from the states it last left.
    pub fn step(&mut self) {
        let n = self.shape.elements();
        let inputs: Vec<&[P::Value]> = self.inputs.iter().map(|s| &s[..n]).collect();
        let mut state = refs_mut(&mut self.state);
        P::step(&self.layer, 0, &inputs, &mut state, &mut self.step_spikes).expect("a single step");
    }

    /// The gradients of the first single step (from the initial states to
    /// `next`), with the state gradients it last left flowing in.
    pub fn step_backward(&mut self) {
        let n = self.shape.elements();
        let inputs: Vec<&[P::Value]> = self.inputs.iter().map(|s| &s[..n]).collect();
        let (prev, next) = (refs(&self.initial), refs(&self.next));
        let mut grad_state = refs_mut(&mut self.grad_state);
        let mut grad_inputs = refs_mut(&mut self.step_grad_inputs);
        P::step_backward(
            &self.layer,
            0,
            &inputs,
            &prev,
            &next,
            &self.grad_spikes[..n],
            &mut grad_state,
            &mut grad_inputs,
            &mut [],
        )
        .expect("a single step backward");
    }
}

// ---- the plain fused f32 Leaky loop (the baseline of the target) ----

/// A plain hand-written fused f32 Leaky loop (beta 0.9, threshold 1,
/// subtract reset, atan surrogate with alpha 2): the baseline the kernels
/// are compared with. It moves the same bytes as the kernels' Leaky
/// (`x` in, spikes and `mem` out; `mem` and the spike gradients in, the
/// input gradients out).
pub struct PlainLeaky {
    shape: Shape,
    x: Vec<f32>,
    spikes: Vec<f32>,
    mem: Vec<f32>,
    grad_spikes: Vec<f32>,
    grad_x: Vec<f32>,
}

/// Bytes per iteration of the plain loop: 3 f32 values per neuron-step
/// forward, 3 more backward.
pub fn plain_bytes(shape: Shape, pass: Pass) -> f64 {
    let per_step = if pass == Pass::Forward { 3 } else { 6 };
    (4 * per_step * shape.neuron_steps()) as f64
}

impl PlainLeaky {
    pub fn new(shape: Shape) -> PlainLeaky {
        let len = shape.neuron_steps();
        let mut plain = PlainLeaky {
            shape,
            x: currents(len, 7),
            spikes: vec![1.0; len],
            mem: vec![1.0; len],
            grad_spikes: vec![0.01; len],
            grad_x: vec![1.0; len],
        };
        plain.forward();
        plain
    }

    pub fn run(&mut self, pass: Pass) {
        self.forward();
        if pass == Pass::ForwardBackward {
            self.backward();
        }
    }

    pub fn forward(&mut self) {
        let n = self.shape.elements();
        let mut state = vec![0.0f32; n];
        for t in 0..self.shape.steps {
            let range = t * n..(t + 1) * n;
            for (((m, &xi), spk), out) in state
                .iter_mut()
                .zip(&self.x[range.clone()])
                .zip(&mut self.spikes[range.clone()])
                .zip(&mut self.mem[range])
            {
                let r = if *m > 1.0 { 1.0 } else { 0.0 };
                *m = 0.9 * *m + xi - r;
                *spk = if *m > 1.0 { 1.0 } else { 0.0 };
                *out = *m;
            }
        }
    }

    // the loop as the baseline was measured (indexed)
    #[allow(clippy::needless_range_loop)]
    pub fn backward(&mut self) {
        let n = self.shape.elements();
        let mut carry = vec![0.0f32; n];
        let k = std::f32::consts::PI;
        for t in (0..self.shape.steps).rev() {
            for i in 0..n {
                let z = self.mem[t * n + i] - 1.0;
                let g = carry[i] + self.grad_spikes[t * n + i] / (1.0 + (k * z) * (k * z));
                self.grad_x[t * n + i] = g;
                carry[i] = 0.9 * g;
            }
        }
    }
}

// ---- the bandwidth probe ----

/// Plain streaming loops over f32 buffers that together move `bytes` bytes
/// per sweep, in GB/s counted as STREAM counts them (bytes read plus bytes
/// written, no write-allocate).
#[derive(Clone, Copy, Debug)]
pub struct Probe {
    /// Bytes one sweep moves.
    pub bytes: usize,
    /// `a = k·b` over two buffers of `bytes / 2`.
    pub scale: f64,
    /// `a = b + k·c` over three buffers of `bytes / 3`.
    pub triad: f64,
}

/// The largest probe: beyond 1 GiB every buffer is far out of any cache,
/// and a larger probe would only take longer.
pub const PROBE_CAP: usize = 1 << 30;

/// The probe's size for a kernel moving `bytes` per iteration: the same,
/// at most [`PROBE_CAP`], at least 12 KiB, a multiple of 12 bytes (whole
/// f32 values in two and in three buffers).
pub fn probe_size(bytes: f64) -> usize {
    let bytes = (bytes as usize).clamp(12 << 10, PROBE_CAP);
    bytes / 12 * 12
}

/// Best of `runs` timings of `f`, each repeating it `reps` times.
fn best_of(runs: usize, reps: usize, mut f: impl FnMut()) -> f64 {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..reps {
                f();
            }
            start.elapsed().as_secs_f64() / reps as f64
        })
        .fold(f64::INFINITY, f64::min)
}

/// Timings per probe: 5 (3 in the quick mode).
pub fn probe_runs() -> usize {
    if quick() {
        3
    } else {
        5
    }
}

/// The probe for sweeps of `bytes` bytes ([`probe_size`]), best of `runs`
/// timings; small sizes are swept repeatedly so that each timing moves at
/// least 64 MiB.
pub fn probe(bytes: usize, runs: usize) -> Probe {
    let reps = (64 << 20) / bytes + 1;
    let scale = {
        let len = bytes / 8;
        let (mut a, b) = (vec![0.0f32; len], vec![1.0f32; len]);
        let k = black_box(0.5f32);
        best_of(runs, reps, || {
            for (a, b) in a.iter_mut().zip(&b) {
                *a = k * *b;
            }
            black_box(&mut a);
        })
    };
    let triad = {
        let len = bytes / 12;
        let (mut a, b, c) = (vec![0.0f32; len], vec![1.0f32; len], vec![2.0f32; len]);
        let k = black_box(0.5f32);
        best_of(runs, reps, || {
            for ((a, b), c) in a.iter_mut().zip(&b).zip(&c) {
                *a = *b + k * *c;
            }
            black_box(&mut a);
        })
    };
    Probe {
        bytes,
        scale: bytes as f64 / scale / 1e9,
        triad: bytes as f64 / triad / 1e9,
    }
}

// ---- measurements and the summary ----

/// Another benchmark of the same run to compare a figure with: the summary
/// prints `scale · (its time) / (this time)`, labelled `label`.
#[derive(Clone, Debug)]
pub struct Reference {
    /// Its full id, `group/function`.
    pub id: String,
    pub scale: f64,
    pub label: &'static str,
}

impl Reference {
    pub fn new(id: impl Into<String>, label: &'static str) -> Reference {
        Reference {
            id: id.into(),
            scale: 1.0,
            label,
        }
    }
}

/// What a benchmark measures, for the summary.
#[derive(Clone, Debug)]
pub struct Spec {
    /// The function id within its group.
    pub function: String,
    /// `BxNxT` or another description of the size.
    pub shape: String,
    /// Criterion's throughput elements per iteration (neuron-steps for the
    /// layers).
    pub elements: u64,
    /// Bytes the pass must move per iteration (also the probe's size).
    pub bytes: f64,
    pub reference: Option<Reference>,
}

/// A measured benchmark: its spec, the best time per iteration over
/// criterion's samples (warm-up included), and the probe run right after it.
#[derive(Clone, Debug)]
pub struct Record {
    pub id: String,
    pub spec: Spec,
    pub seconds: f64,
    pub probe: Probe,
}

/// The measurements of one bench binary, printed after criterion's report.
pub struct Summary {
    title: &'static str,
    records: Vec<Record>,
    notes: Vec<String>,
}

impl Summary {
    pub fn new(title: &'static str) -> Summary {
        Summary {
            title,
            records: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// A line printed under the table.
    pub fn note(&mut self, note: impl Into<String>) {
        self.notes.push(note.into());
    }

    fn find(&self, id: &str) -> Option<&Record> {
        self.records.iter().find(|r| r.id == id)
    }

    /// The table: throughput, bytes, GB/s, the fraction of the probe at
    /// the same buffer size (measured now) and the ratio to the reference.
    pub fn print(&self) {
        if !measuring() || self.records.is_empty() {
            return;
        }
        println!(
            "\n== {} summary: best time per iteration over criterion's samples, this process ==",
            self.title
        );
        println!(
            "probe: plain f32 streaming loops (scale a = k*b, triad a = b + k*c) moving the bytes \
             the benchmark moves per iteration (at most 1 GiB), run right after it, best of {}; \
             all GB/s as STREAM counts (no write-allocate)",
            probe_runs()
        );
        let width = self
            .records
            .iter()
            .map(|r| r.id.len())
            .max()
            .unwrap_or(10)
            .max(10);
        println!(
            "{:<width$}  {:>12}  {:>9}  {:>7}  {:>7}  {:>7}  {:>7}  {:>7}  vs reference",
            "benchmark", "shape", "M elem/s", "B/elem", "GB/s", "scale", "triad", "%triad"
        );
        for r in &self.records {
            let s = &r.spec;
            let gbs = s.bytes / r.seconds / 1e9;
            let p = r.probe;
            let reference = s
                .reference
                .as_ref()
                .and_then(|re| {
                    self.find(&re.id).map(|base| {
                        format!("{:.2}x {}", re.scale * base.seconds / r.seconds, re.label)
                    })
                })
                .unwrap_or_default();
            println!(
                "{:<width$}  {:>12}  {:>9.1}  {:>7.2}  {:>7.2}  {:>7.1}  {:>7.1}  {:>6.0}%  {}",
                r.id,
                s.shape,
                s.elements as f64 / r.seconds / 1e6,
                s.bytes / s.elements as f64,
                gbs,
                p.scale,
                p.triad,
                100.0 * gbs / p.triad,
                reference
            );
        }
        for note in &self.notes {
            println!("{note}");
        }
    }
}

/// A criterion group whose measurements also go to a [`Summary`]. Flat
/// sampling: every sample runs the same number of iterations (the runs are
/// long, from milliseconds to seconds).
pub struct Group<'a, 's> {
    name: String,
    group: BenchmarkGroup<'a, WallTime>,
    summary: &'s mut Summary,
}

impl<'a, 's> Group<'a, 's> {
    pub fn new(c: &'a mut Criterion, summary: &'s mut Summary, name: &str) -> Self {
        let mut group = c.benchmark_group(name);
        group.sampling_mode(SamplingMode::Flat);
        Group {
            name: name.to_string(),
            group,
            summary,
        }
    }

    /// The full id of function `function` of this group.
    pub fn id(&self, function: &str) -> String {
        format!("{}/{function}", self.name)
    }

    /// Benchmarks `routine` on the value in `slot`, made by `init` the
    /// first time a benchmark that uses it is selected (criterion's filter
    /// may skip it: then nothing is allocated); records the best time per
    /// iteration for the summary.
    pub fn measure<X>(
        &mut self,
        spec: Spec,
        slot: &mut Option<X>,
        init: impl Fn() -> X,
        mut routine: impl FnMut(&mut X),
    ) {
        let mut best = f64::INFINITY;
        self.group.throughput(Throughput::Elements(spec.elements));
        self.group.bench_function(&spec.function, |b| {
            let x = slot.get_or_insert_with(&init);
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    routine(x);
                }
                let elapsed = start.elapsed();
                best = best.min(elapsed.as_secs_f64() / iters as f64);
                elapsed
            })
        });
        if best.is_finite() && measuring() {
            // right after the benchmark, so that both see the same machine
            let probe = probe(probe_size(spec.bytes), probe_runs());
            self.summary.records.push(Record {
                id: self.id(&spec.function),
                spec,
                seconds: best,
                probe,
            });
        }
    }

    /// `passes` of the layer `case` in precision `P` with chunk `C` at
    /// `shape`, as functions `function(pass)`, compared with
    /// `reference(pass)`. The buffers are made once for all passes and
    /// freed before this returns.
    pub fn layer<M: Model, S: Surrogate, P: Precision, const C: usize>(
        &mut self,
        case: &Case<M, S>,
        shape: Shape,
        passes: &[Pass],
        function: impl Fn(Pass) -> String,
        reference: impl Fn(Pass) -> Option<Reference>,
    ) {
        let mut slot: Option<KernelRun<M, S, P, C>> = None;
        for &pass in passes {
            let steps = pass.steps(shape);
            let spec = Spec {
                function: function(pass),
                shape: shape.label(),
                elements: (shape.elements() * steps) as u64,
                bytes: bytes_moved(traffic(&case.model, pass), shape, steps, P::BYTES),
                reference: reference(pass),
            };
            self.measure(
                spec,
                &mut slot,
                || KernelRun::<M, S, P, C>::new(case, shape),
                |run| run.run(pass),
            );
        }
    }

    /// The plain fused f32 Leaky loop's `passes` (fused only) at `shape`.
    pub fn plain_leaky(
        &mut self,
        shape: Shape,
        passes: &[Pass],
        function: impl Fn(Pass) -> String,
    ) {
        let mut slot: Option<PlainLeaky> = None;
        for &pass in passes {
            let spec = Spec {
                function: function(pass),
                shape: shape.label(),
                elements: shape.neuron_steps() as u64,
                bytes: plain_bytes(shape, pass),
                reference: None,
            };
            self.measure(spec, &mut slot, || PlainLeaky::new(shape), |p| p.run(pass));
        }
    }

    pub fn finish(self) {
        self.group.finish();
    }
}
