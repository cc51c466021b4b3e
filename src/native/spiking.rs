//! Spiking layers on the kernels: a layer description ([`NeuronSpec`]) and
//! its current parameter values become a `snn_kernels::Layer` of the right
//! model, configuration and surrogate; feed-forward layers run the fused
//! multi-step passes, all-to-all recurrent layers the per-step passes with
//! the dense recurrence `rec[t] = W spk[t-1] + b` between steps.

use snn_kernels::layer::{InputGrads, Layer, OutputGrads, Param, Saved};
use snn_kernels::model::{Model, Reset};
use snn_kernels::models::{
    Alpha, Lapicque, LapicqueGiven, Leaky, RLeaky, RLeakyAllToAll, RSynaptic, RSynapticAllToAll,
    Synaptic,
};
use snn_kernels::surrogate::{self as ks, AnySurrogate, Surrogate};
use snn_kernels::{Error as KernelError, Real, F16};

use crate::network::{ModelKind, NeuronSpec, Recurrence, ResetKind, SurrogateKind};

/// A value type the spiking layers run in: `f32` or [`F16`].
pub trait Element: Real<Mask = bool> + Into<f64> + Send + Sync + 'static {
    /// The value nearest `x` (round to nearest even; binary16 saturates).
    fn from_f32(x: f32) -> Self;
    /// The exact `f32` value.
    fn to_f32(self) -> f32;
    /// True when a gradient has overflowed: not finite, or saturated at the
    /// format's largest magnitude (binary16 saturates instead of giving
    /// infinity).
    fn overflowed(self) -> bool;
    /// Every value of `v` converted ([`Element::from_f32`]); binary32 keeps
    /// the vector (no copy).
    fn from_f32_vec(v: Vec<f32>) -> Vec<Self> {
        v.iter().map(|&x| Self::from_f32(x)).collect()
    }
    /// Every value of `v` as binary32; binary32 keeps the vector.
    fn into_f32_vec(v: Vec<Self>) -> Vec<f32> {
        v.iter().map(|x| x.to_f32()).collect()
    }
    /// `v` itself when the values are binary32.
    fn as_f32(_v: &[Self]) -> Option<&[f32]> {
        None
    }
    /// A vector from `pool` (empty, with room for `len` values when the
    /// pool has one; binary32 only: a new vector otherwise).
    fn take(_pool: &Pool, _len: usize) -> Vec<Self> {
        Vec::new()
    }
    /// Gives `v`'s memory to `pool` (binary32 only; dropped otherwise).
    fn give(_pool: &Pool, _v: Vec<Self>) {}
}

/// Large binary32 vectors kept from one training step for the next, so that
/// a step reuses the memory of the last instead of asking the system for
/// new pages (which it must then fault in and clear: a quarter of the time
/// of MNIST's step before the pool). At most [`Pool::KEEP`] vectors.
#[derive(Clone, Debug, Default)]
pub struct Pool(std::sync::Arc<std::sync::Mutex<Vec<Vec<f32>>>>);

impl Pool {
    /// Vectors kept at most.
    pub const KEEP: usize = 24;
    /// Vectors below this many values are not worth keeping.
    const SMALL: usize = 1 << 16;

    /// An empty vector with room for `len` values: the smallest kept one
    /// that has it, else a new one.
    pub fn take(&self, len: usize) -> Vec<f32> {
        if len < Self::SMALL {
            return Vec::new();
        }
        let Ok(mut kept) = self.0.lock() else {
            return Vec::new();
        };
        let best = kept
            .iter()
            .enumerate()
            .filter(|(_, v)| v.capacity() >= len)
            .min_by_key(|(_, v)| v.capacity())
            .map(|(k, _)| k);
        match best {
            Some(k) => {
                let mut v = kept.swap_remove(k);
                v.clear();
                v
            }
            None => Vec::new(),
        }
    }

    /// Keeps `v`'s memory for a later [`Pool::take`].
    pub fn give(&self, v: Vec<f32>) {
        if v.capacity() < Self::SMALL {
            return;
        }
        if let Ok(mut kept) = self.0.lock() {
            kept.push(v);
            if kept.len() > Self::KEEP {
                // the smallest goes
                let smallest = (0..kept.len())
                    .min_by_key(|&k| kept[k].capacity())
                    .unwrap_or(0);
                kept.swap_remove(smallest);
            }
        }
    }
}

impl Element for f32 {
    fn from_f32(x: f32) -> Self {
        x
    }
    fn to_f32(self) -> f32 {
        self
    }
    fn overflowed(self) -> bool {
        !self.is_finite()
    }
    fn from_f32_vec(v: Vec<f32>) -> Vec<Self> {
        v
    }
    fn into_f32_vec(v: Vec<Self>) -> Vec<f32> {
        v
    }
    fn as_f32(v: &[Self]) -> Option<&[f32]> {
        Some(v)
    }
    fn take(pool: &Pool, len: usize) -> Vec<Self> {
        pool.take(len)
    }
    fn give(pool: &Pool, v: Vec<Self>) {
        pool.give(v);
    }
}

impl Element for F16 {
    fn from_f32(x: f32) -> Self {
        F16::from_f32(x)
    }
    fn to_f32(self) -> f32 {
        F16::to_f32(self)
    }
    fn overflowed(self) -> bool {
        let magnitude = self.to_bits() & 0x7fff;
        magnitude >= 0x7bff
    }
}

/// Something to do with a layer's kernel model and surrogate types.
pub trait LayerVisitor {
    /// What it gives.
    type Output;
    /// Called with the layer's model and surrogate as kernel values, and
    /// the chunk the kernels' layer should use (`Layer::with_chunk`).
    fn visit<M: Model, S: Surrogate, const CHUNK: usize>(
        self,
        model: M,
        surrogate: S,
    ) -> Self::Output;
}

/// The chunk of the default surrogate (`atan`): neurons of a batch row the
/// fused kernels carry through all steps at once. The kernels' default
/// (1024) suits layers of thousands of neurons; a row's neurons after the
/// last full chunk run one at a time, so for the hundreds of neurons of
/// typical hidden layers a chunk of 64 (the smallest that the kernels
/// compile once per model configuration, which is what makes fp16 fast)
/// keeps all but at most 63 per row in the vectorised loops.
const SPECIALIZED_CHUNK: usize = 64;

/// The chunk of the other surrogates: below 64 the kernels compile one
/// copy per model for every configuration. Per configuration for every
/// surrogate would take this crate's optimised build from about 1 to 4
/// minutes and 1.7 GB of memory; the generic copy computes the same bits,
/// about 15 % slower in fp32 and 2 to 3 times slower in fp16.
const GENERIC_CHUNK: usize = 32;

/// The position of the membrane (`mem`) among the stored states of
/// `neuron`'s model, `None` for a model without one.
pub fn membrane_state(neuron: &NeuronSpec) -> Option<usize> {
    struct Find;
    impl LayerVisitor for Find {
        type Output = Option<usize>;
        fn visit<M: Model, S: Surrogate, const CHUNK: usize>(self, _: M, _: S) -> Option<usize> {
            M::STATES.iter().position(|&s| s == "mem")
        }
    }
    with_kernel_layer(neuron, Find)
}

fn reset(kind: ResetKind) -> Reset {
    match kind {
        ResetKind::Subtract => Reset::Subtract,
        ResetKind::Zero => Reset::Zero,
        ResetKind::None => Reset::None,
    }
}

/// Calls `visitor` with the kernels' model and surrogate of `neuron`.
///
/// The default surrogate (`atan`) runs its own kernels, compiled per model
/// configuration; the others run through [`AnySurrogate`] in one generic
/// copy per model (the same bits, slower: see [`GENERIC_CHUNK`]).
pub fn with_kernel_layer<V: LayerVisitor>(neuron: &NeuronSpec, visitor: V) -> V::Output {
    let (r, delay) = (reset(neuron.reset), neuron.reset_delay);
    match (neuron.model, neuron.recurrence) {
        (ModelKind::Leaky, _) => with_surrogate(neuron.surrogate, Leaky::new(r, delay), visitor),
        (ModelKind::Synaptic, _) => {
            with_surrogate(neuron.surrogate, Synaptic::new(r, delay), visitor)
        }
        (ModelKind::Alpha, _) => with_surrogate(neuron.surrogate, Alpha { reset: r }, visitor),
        (ModelKind::Lapicque, _) => with_surrogate(
            neuron.surrogate,
            Lapicque {
                reset: r,
                given: LapicqueGiven::Beta,
            },
            visitor,
        ),
        (ModelKind::RLeaky, Recurrence::AllToAll) => {
            with_surrogate(neuron.surrogate, RLeakyAllToAll::new(r, delay), visitor)
        }
        (ModelKind::RLeaky, _) => with_surrogate(neuron.surrogate, RLeaky::new(r, delay), visitor),
        (ModelKind::RSynaptic, Recurrence::AllToAll) => {
            with_surrogate(neuron.surrogate, RSynapticAllToAll::new(r, delay), visitor)
        }
        (ModelKind::RSynaptic, _) => {
            with_surrogate(neuron.surrogate, RSynaptic::new(r, delay), visitor)
        }
    }
}

fn with_surrogate<V: LayerVisitor, M: Model>(kind: SurrogateKind, model: M, v: V) -> V::Output {
    let any =
        |s: Option<AnySurrogate>| s.expect("every built-in surrogate is one of AnySurrogate's");
    match kind {
        SurrogateKind::Atan { alpha } => {
            v.visit::<M, ks::Atan, SPECIALIZED_CHUNK>(model, ks::Atan { alpha })
        }
        SurrogateKind::FastSigmoid { slope } => v.visit::<M, AnySurrogate, GENERIC_CHUNK>(
            model,
            any(AnySurrogate::of(&ks::FastSigmoid { slope })),
        ),
        SurrogateKind::Sigmoid { slope } => v.visit::<M, AnySurrogate, GENERIC_CHUNK>(
            model,
            any(AnySurrogate::of(&ks::Sigmoid { slope })),
        ),
        SurrogateKind::Triangular { threshold } => v.visit::<M, AnySurrogate, GENERIC_CHUNK>(
            model,
            any(AnySurrogate::of(&ks::Triangular { threshold })),
        ),
        SurrogateKind::StraightThrough => v.visit::<M, AnySurrogate, GENERIC_CHUNK>(
            model,
            any(AnySurrogate::of(&ks::StraightThrough)),
        ),
        SurrogateKind::Heaviside => {
            v.visit::<M, AnySurrogate, GENERIC_CHUNK>(model, any(AnySurrogate::of(&ks::Heaviside)))
        }
        SurrogateKind::SpikeRateEscape { beta, slope } => v
            .visit::<M, AnySurrogate, GENERIC_CHUNK>(
                model,
                any(AnySurrogate::of(&ks::SpikeRateEscape { beta, slope })),
            ),
        SurrogateKind::SparseFastSigmoid { slope, b } => v.visit::<M, AnySurrogate, GENERIC_CHUNK>(
            model,
            any(AnySurrogate::of(&ks::SparseFastSigmoid { slope, b })),
        ),
        SurrogateKind::LeakySpikeOperator { slope } => v.visit::<M, AnySurrogate, GENERIC_CHUNK>(
            model,
            any(AnySurrogate::of(&ks::LeakySpikeOperator { slope })),
        ),
        SurrogateKind::StochasticSpikeOperator { mean, variance } => v
            .visit::<M, AnySurrogate, GENERIC_CHUNK>(
                model,
                any(AnySurrogate::of(&ks::StochasticSpikeOperator {
                    mean,
                    variance,
                })),
            ),
    }
}

/// `v` as `len` zeros, in its own memory when it has room.
fn zeroed<T: Element>(v: &mut Vec<T>, len: usize) {
    v.clear();
    v.resize(len, T::zero());
}

/// What a spiking layer's forward pass keeps for its backward pass (all
/// `[T][B][N]`).
#[derive(Clone, Debug)]
pub struct SavedLayer<T> {
    /// The input currents.
    pub x: Vec<T>,
    /// The recurrent currents (all-to-all layers).
    pub rec: Vec<T>,
    /// The spikes.
    pub spikes: Vec<T>,
    /// The stored state trajectories, in the model's order.
    pub states: Vec<Vec<T>>,
}

impl<T> Default for SavedLayer<T> {
    fn default() -> Self {
        SavedLayer {
            x: Vec::new(),
            rec: Vec::new(),
            spikes: Vec::new(),
            states: Vec::new(),
        }
    }
}

/// The shape and values of one spiking layer for one batch.
pub struct LayerRun<'a, T> {
    /// The neurons.
    pub neuron: &'a NeuronSpec,
    /// Batch rows.
    pub batch: usize,
    /// Neurons.
    pub neurons: usize,
    /// Time steps.
    pub steps: usize,
    /// Each parameter's values: one (scalar) or `neurons` (per neuron).
    pub params: &'a [Vec<T>],
    /// The recurrent weight `[N, N]` and bias `[N]` (all-to-all layers).
    pub recurrent: Option<(&'a [f32], &'a [f32])>,
    /// The stochastic surrogate's stream.
    pub seed: u32,
}

impl<T: Element> LayerRun<'_, T> {
    fn kernel_params(&self) -> Vec<Param<'_, T>> {
        self.params.iter().map(|p| Param::from_values(p)).collect()
    }

    fn elements(&self) -> usize {
        self.batch * self.neurons
    }
}

/// The forward pass: fills `saved` from the input currents `x`.
pub fn forward<T: Element>(
    run: &LayerRun<'_, T>,
    x: Vec<T>,
    saved: &mut SavedLayer<T>,
) -> Result<(), KernelError> {
    forward_pooled(run, x, saved, &Pool::default())
}

/// [`forward`], its outputs in memory from `pool`.
pub fn forward_pooled<T: Element>(
    run: &LayerRun<'_, T>,
    x: Vec<T>,
    saved: &mut SavedLayer<T>,
    pool: &Pool,
) -> Result<(), KernelError> {
    struct Visit<'a, 'b, T> {
        run: &'a LayerRun<'b, T>,
        x: Vec<T>,
        saved: &'a mut SavedLayer<T>,
        pool: &'a Pool,
    }
    impl<T: Element> LayerVisitor for Visit<'_, '_, T> {
        type Output = Result<(), KernelError>;
        fn visit<M: Model, S: Surrogate, const CHUNK: usize>(
            self,
            model: M,
            surrogate: S,
        ) -> Self::Output {
            let run = self.run;
            let params = run.kernel_params();
            let layer = Layer::new(model, surrogate, run.batch, run.neurons, &params)?
                .with_seed(run.seed)
                .with_chunk::<CHUNK>();
            let n = run.elements();
            let len = layer.sequence_len(run.steps)?;
            let stored = M::STATES.len() - usize::from(M::SPIKE_STATE.is_some());
            let saved = self.saved;
            saved.x = self.x;
            saved.spikes = T::take(self.pool, len);
            zeroed(&mut saved.spikes, len);
            saved.states = (0..stored)
                .map(|_| {
                    let mut s = T::take(self.pool, len);
                    zeroed(&mut s, len);
                    s
                })
                .collect();
            let initial = vec![T::zero(); n];
            let initial_refs = vec![initial.as_slice(); M::STATES.len()];
            match run.recurrent {
                None => {
                    let mut states: Vec<&mut [T]> =
                        saved.states.iter_mut().map(|v| v.as_mut_slice()).collect();
                    layer.forward(
                        run.steps,
                        &[&saved.x],
                        &initial_refs,
                        &mut saved.spikes,
                        &mut states,
                    )
                }
                Some((w, b)) => {
                    // all-to-all: one step at a time, rec[t] = W spk[t-1] + b
                    saved.rec = vec![T::zero(); len];
                    let mut state: Vec<Vec<T>> = vec![initial.clone(); M::STATES.len()];
                    let mut spikes_f32 = vec![0.0f32; n];
                    let mut rec_f32 = vec![0.0f32; n];
                    for t in 0..run.steps {
                        let at = t * n;
                        super::dense::forward(
                            &spikes_f32,
                            w,
                            b,
                            &mut rec_f32,
                            run.batch,
                            run.neurons,
                            run.neurons,
                        );
                        for (r, v) in saved.rec[at..at + n].iter_mut().zip(&rec_f32) {
                            *r = T::from_f32(*v);
                        }
                        let mut refs: Vec<&mut [T]> =
                            state.iter_mut().map(|v| v.as_mut_slice()).collect();
                        layer.step(
                            t,
                            &[&saved.x[at..at + n], &saved.rec[at..at + n]],
                            &mut refs,
                            &mut saved.spikes[at..at + n],
                        )?;
                        for (trajectory, s) in saved.states.iter_mut().zip(&state) {
                            trajectory[at..at + n].copy_from_slice(s);
                        }
                        for (f, s) in spikes_f32.iter_mut().zip(&saved.spikes[at..at + n]) {
                            *f = s.to_f32();
                        }
                    }
                    Ok(())
                }
            }
        }
    }
    with_kernel_layer(
        run.neuron,
        Visit {
            run,
            x,
            saved,
            pool,
        },
    )
}

/// What a spiking layer's backward pass gives.
#[derive(Clone, Debug)]
pub struct LayerGrads<T> {
    /// `dL/d x`, `[T][B][N]`.
    pub x: Vec<T>,
    /// `dL/d parameter`, one vector per parameter (1 or N values).
    pub params: Vec<Vec<T>>,
    /// `dL/d W_rec` `[N, N]` and `dL/d b_rec` `[N]` (all-to-all layers,
    /// binary32, added to what they hold).
    pub recurrent: Option<(Vec<f32>, Vec<f32>)>,
}

impl<T> Default for LayerGrads<T> {
    fn default() -> Self {
        LayerGrads {
            x: Vec::new(),
            params: Vec::new(),
            recurrent: None,
        }
    }
}

/// The backward pass: from `dL/d spikes` (and `dL/d` the first stored state,
/// the membrane of most models, where a loss reads it) to the gradients.
pub fn backward<T: Element>(
    run: &LayerRun<'_, T>,
    saved: &SavedLayer<T>,
    grad_spikes: &[T],
    grad_states: &[Vec<T>],
    grads: &mut LayerGrads<T>,
) -> Result<(), KernelError> {
    backward_pooled(
        run,
        saved,
        grad_spikes,
        grad_states,
        grads,
        &Pool::default(),
    )
}

/// [`backward`], its outputs in memory from `pool`.
pub fn backward_pooled<T: Element>(
    run: &LayerRun<'_, T>,
    saved: &SavedLayer<T>,
    grad_spikes: &[T],
    grad_states: &[Vec<T>],
    grads: &mut LayerGrads<T>,
    pool: &Pool,
) -> Result<(), KernelError> {
    struct Visit<'a, 'b, T> {
        run: &'a LayerRun<'b, T>,
        saved: &'a SavedLayer<T>,
        grad_spikes: &'a [T],
        grad_states: &'a [Vec<T>],
        grads: &'a mut LayerGrads<T>,
        pool: &'a Pool,
    }
    impl<T: Element> LayerVisitor for Visit<'_, '_, T> {
        type Output = Result<(), KernelError>;
        fn visit<M: Model, S: Surrogate, const CHUNK: usize>(
            self,
            model: M,
            surrogate: S,
        ) -> Self::Output {
            let run = self.run;
            let params = run.kernel_params();
            let layer = Layer::new(model, surrogate, run.batch, run.neurons, &params)?
                .with_seed(run.seed)
                .with_chunk::<CHUNK>();
            let n = run.elements();
            let len = layer.sequence_len(run.steps)?;
            let saved = self.saved;
            let grads = self.grads;
            grads.x = T::take(self.pool, len);
            zeroed(&mut grads.x, len);
            grads.params = run
                .params
                .iter()
                .map(|p| vec![T::zero(); p.len()])
                .collect();
            let initial = vec![T::zero(); n];
            let initial_refs = vec![initial.as_slice(); M::STATES.len()];
            let state_refs: Vec<&[T]> = saved.states.iter().map(|v| v.as_slice()).collect();
            let grad_state_refs: Vec<&[T]> =
                self.grad_states.iter().map(|v| v.as_slice()).collect();
            let mut grad_initial: Vec<Vec<T>> = vec![Vec::new(); M::STATES.len()];
            match run.recurrent {
                None => {
                    let mut gi: Vec<&mut [T]> = vec![grads.x.as_mut_slice()];
                    let mut g0: Vec<&mut [T]> =
                        grad_initial.iter_mut().map(|v| v.as_mut_slice()).collect();
                    let mut gp: Vec<&mut [T]> =
                        grads.params.iter_mut().map(|v| v.as_mut_slice()).collect();
                    layer.backward(
                        run.steps,
                        Saved::new(&[&saved.x], &initial_refs, &saved.spikes, &state_refs),
                        OutputGrads::new(self.grad_spikes, &grad_state_refs),
                        InputGrads::new(&mut gi, &mut g0, &mut gp),
                    )
                }
                Some((w, _)) => {
                    let mut dw = vec![-0.0f32; run.neurons * run.neurons];
                    let mut db = vec![-0.0f32; run.neurons];
                    // per step, in reverse; the gradient into spk[t-1] through
                    // rec[t] is added before step t-1 runs
                    let mut grad_spikes: Vec<T> = self.grad_spikes.to_vec();
                    let mut grad_state: Vec<Vec<T>> =
                        vec![vec![snn_kernels::model::no_gradient(); n]; M::STATES.len()];
                    let mut accumulator = vec![T::zero(); layer.param_accumulator_len()];
                    layer.clear_param_accumulator(&mut accumulator);
                    let mut grad_rec = vec![T::zero(); n];
                    let mut grad_rec_f32 = vec![0.0f32; n];
                    let mut spikes_f32 = vec![0.0f32; n];
                    let mut back_f32 = vec![0.0f32; n];
                    for t in (0..run.steps).rev() {
                        let at = t * n;
                        for (k, g) in grad_state.iter_mut().enumerate() {
                            if let Some(loss) = self.grad_states.get(k).filter(|v| !v.is_empty()) {
                                for (gv, lv) in g.iter_mut().zip(&loss[at..at + n]) {
                                    *gv = *gv + *lv;
                                }
                            }
                        }
                        let prev: Vec<&[T]> = saved
                            .states
                            .iter()
                            .map(|s| {
                                if t == 0 {
                                    initial.as_slice()
                                } else {
                                    &s[at - n..at]
                                }
                            })
                            .collect();
                        let next: Vec<&[T]> = saved.states.iter().map(|s| &s[at..at + n]).collect();
                        let mut gs: Vec<&mut [T]> =
                            grad_state.iter_mut().map(|v| v.as_mut_slice()).collect();
                        let (gx, _) = grads.x.split_at_mut(at + n);
                        let mut gin: Vec<&mut [T]> = vec![&mut gx[at..], &mut grad_rec];
                        layer.step_backward(
                            t,
                            &[&saved.x[at..at + n], &saved.rec[at..at + n]],
                            &prev,
                            &next,
                            &grad_spikes[at..at + n],
                            &mut gs,
                            &mut gin,
                            &mut accumulator,
                        )?;
                        // rec[t] = W spk[t-1] + b
                        for (f, g) in grad_rec_f32.iter_mut().zip(&grad_rec) {
                            *f = g.to_f32();
                        }
                        if t > 0 {
                            for (f, s) in spikes_f32.iter_mut().zip(&saved.spikes[at - n..at]) {
                                *f = s.to_f32();
                            }
                            super::dense::backward_weights(
                                &grad_rec_f32,
                                &spikes_f32,
                                &mut dw,
                                &mut db,
                                run.neurons,
                                run.neurons,
                            );
                            super::dense::backward_input(
                                &grad_rec_f32,
                                w,
                                &mut back_f32,
                                run.batch,
                                run.neurons,
                                run.neurons,
                            );
                            for (g, b) in grad_spikes[at - n..at].iter_mut().zip(&back_f32) {
                                *g = *g + T::from_f32(*b);
                            }
                        } else {
                            // spk[-1] = 0: only the bias receives gradient
                            spikes_f32.fill(0.0);
                            super::dense::backward_weights(
                                &grad_rec_f32,
                                &spikes_f32,
                                &mut dw,
                                &mut db,
                                run.neurons,
                                run.neurons,
                            );
                        }
                    }
                    let mut gp: Vec<&mut [T]> =
                        grads.params.iter_mut().map(|v| v.as_mut_slice()).collect();
                    layer.reduce_param_grads(&accumulator, &mut gp)?;
                    grads.recurrent = Some((dw, db));
                    Ok(())
                }
            }
        }
    }
    with_kernel_layer(
        run.neuron,
        Visit {
            run,
            saved,
            grad_spikes,
            grad_states,
            grads,
            pool,
        },
    )
}
