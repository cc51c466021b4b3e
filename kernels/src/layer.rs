//! A layer of neurons over plain slices: one time step, the fused forward
//! pass over a sequence, and the backward pass through time in one reverse
//! sweep. The per-element work is a [`Model`]'s `step` and `step_backward`;
//! this module only loops and checks.
//!
//! # Layout
//! - A sequence (inputs, spikes, state trajectories and their gradients) is
//!   `[T][B][M]`: `steps` blocks of `batch` rows of `neurons` values, element
//!   `(t, b, m)` at `(t·B + b)·M + m`. `N = B·M` values per step.
//! - A state (initial states, their gradients, the single-step API) is `[B][M]`.
//! - A per-neuron parameter has `M` values, shared by the `B` rows.
//!
//! # What the forward pass stores for the backward pass
//! Its outputs and nothing else: the spikes and the trajectory of every state
//! variable (for one-to-one recurrent models the spike trajectory doubles as
//! the `spk` state). The backward pass recomputes each step's intermediate
//! values from the previous states and the inputs. Per neuron-step that is
//! `4·S` bytes in fp32 and `2·S` in fp16 beyond the spikes, with `S` the
//! number of stored states: 1 for Leaky, Lapicque and RLeaky, 2 for Synaptic
//! and RSynaptic, 3 for Alpha.
//!
//! # Order of the parameter-gradient sums (part of the definition)
//! Per element, the per-step gradients of the prepared constants are summed
//! from the last step to the first; per neuron, those sums are added over the
//! batch rows in order `b = 0, 1, ...`; the chain rule through
//! [`Model::prepare`] is then applied per neuron, and a scalar parameter's
//! gradient is the sum of the per-neuron results in order `m = 0, 1, ...`.
//! Every sum starts with its first term: accumulators start at `-0`, the
//! identity of IEEE addition (`-0 + x = x` for every `x`, including `±0`).
//! The step-by-step API reproduces this exactly.

use crate::error::Error;
use crate::model::{
    no_gradient, zeros, Inputs, Model, Params, Prepared, Specialized, States, MAX_INPUTS,
    MAX_PARAMS, MAX_PREPARED, MAX_STATES,
};
use crate::real::Real;
use crate::rng;
use crate::surrogate::{constants_in, SpikeFn, Surrogate, SurrogateConstants};

/// The default [`Layer`] chunk: elements processed together through all
/// time steps (see [`Layer`] for the trade-off).
pub const DEFAULT_CHUNK: usize = 1024;

/// `W` values of a stream starting at `at`, as a fixed-size array: the inner
/// loops then have a constant trip count and no bounds checks, so they
/// vectorise. (The drivers only ask for in-bounds rows.)
#[inline(always)]
fn row<T, const W: usize>(stream: &[T], at: usize) -> &[T; W] {
    <&[T; W]>::try_from(&stream[at..at + W]).expect("a row of W values")
}

/// The writable counterpart of [`row`].
#[inline(always)]
fn row_mut<T, const W: usize>(stream: &mut [T], at: usize) -> &mut [T; W] {
    <&mut [T; W]>::try_from(&mut stream[at..at + W]).expect("a row of W values")
}

/// [`Layer::forward`]'s loops, to compile per configuration.
struct ForwardRun<
    'l,
    'p,
    'a,
    'b,
    'c,
    M: Model,
    S: Surrogate,
    T: Real<Mask = bool>,
    const CHUNK: usize,
> {
    layer: &'l Layer<'p, M, S, T, CHUNK>,
    steps: usize,
    inputs: &'a [&'a [T]],
    initial: &'a [&'a [T]],
    spikes: &'b mut [T],
    states: &'b mut [&'c mut [T]],
}

impl<M: Model, S: Surrogate, T: Real<Mask = bool>, const CHUNK: usize> Specialized
    for ForwardRun<'_, '_, '_, '_, '_, M, S, T, CHUNK>
{
    type Output = ();
    fn run<const CONFIG: usize>(self) {
        self.layer.forward_with::<CONFIG>(
            self.steps,
            self.inputs,
            self.initial,
            self.spikes,
            self.states,
        );
    }
}

/// [`Layer::backward`]'s loops, to compile per configuration.
struct BackwardRun<
    'l,
    'p,
    'a,
    'b,
    'c,
    'd,
    M: Model,
    S: Surrogate,
    T: Real<Mask = bool>,
    const CHUNK: usize,
    const STATE_GRADS: bool,
    const PARAM_GRADS: bool,
> {
    layer: &'l Layer<'p, M, S, T, CHUNK>,
    steps: usize,
    saved: &'a Saved<'a, T>,
    grads: &'a OutputGrads<'a, T>,
    out: &'b mut InputGrads<'c, 'd, T>,
}

impl<
        M: Model,
        S: Surrogate,
        T: Real<Mask = bool>,
        const CHUNK: usize,
        const STATE_GRADS: bool,
        const PARAM_GRADS: bool,
    > Specialized
    for BackwardRun<'_, '_, '_, '_, '_, '_, M, S, T, CHUNK, STATE_GRADS, PARAM_GRADS>
{
    type Output = ();
    fn run<const CONFIG: usize>(self) {
        self.layer
            .backward_with::<CONFIG, STATE_GRADS, PARAM_GRADS>(
                self.steps, self.saved, self.grads, self.out,
            );
    }
}

/// A parameter: one value for the whole layer, or one value per neuron.
#[derive(Clone, Copy, Debug)]
pub enum Param<'a, T> {
    /// The same value for every neuron.
    Scalar(T),
    /// One value per neuron (`neurons` values, shared by the batch rows).
    PerNeuron(&'a [T]),
}

impl<T: Copy> Param<'_, T> {
    /// The value for neuron `m`.
    #[inline(always)]
    fn at(&self, m: usize) -> T {
        match self {
            Param::Scalar(v) => *v,
            Param::PerNeuron(values) => values[m],
        }
    }

    /// True for a per-neuron parameter.
    pub fn is_per_neuron(&self) -> bool {
        matches!(self, Param::PerNeuron(_))
    }
}

/// What the forward pass produced, as the backward pass reads it.
#[derive(Clone, Copy, Debug)]
pub struct Saved<'a, T> {
    /// The input streams, `[T][B][M]` each, in the order of [`Model::INPUTS`].
    pub inputs: &'a [&'a [T]],
    /// The initial states, `[B][M]` each, in the order of [`Model::STATES`].
    pub initial: &'a [&'a [T]],
    /// The spikes, `[T][B][M]`.
    pub spikes: &'a [T],
    /// The stored state trajectories, `[T][B][M]` each (every state but the
    /// spike state of recurrent models).
    pub states: &'a [&'a [T]],
}

/// Gradients flowing into the layer's outputs.
#[derive(Clone, Copy, Debug)]
pub struct OutputGrads<'a, T> {
    /// `dL/d spk`, `[T][B][M]`.
    pub spikes: &'a [T],
    /// `dL/d state` per stored state, `[T][B][M]` each, or an empty slice for
    /// a state no loss reads. May be an empty list when none is read.
    pub states: &'a [&'a [T]],
}

/// Where the backward pass writes its gradients. Any slice may be empty to
/// skip that gradient.
#[derive(Debug)]
pub struct InputGrads<'a, 'b, T> {
    /// `dL/d input`, `[T][B][M]` per input stream.
    pub inputs: &'a mut [&'b mut [T]],
    /// `dL/d initial state`, `[B][M]` per state.
    pub initial: &'a mut [&'b mut [T]],
    /// `dL/d parameter` per raw parameter: 1 value for a scalar parameter,
    /// `neurons` values for a per-neuron one. The list may be empty.
    pub params: &'a mut [&'b mut [T]],
}

/// One layer: a model with its configuration, a surrogate, the batch and
/// layer sizes and the parameters.
///
/// `CHUNK` is how many neurons of a batch row the fused passes carry through
/// all time steps at once. Their state, constants and gradient sums live in
/// fixed-size arrays on the stack, so the inner loops have a constant trip
/// count and vectorise, and wide rows keep the memory streams long. The
/// backward pass uses about `21 · CHUNK · size_of::<T>()` bytes of stack
/// (about 90 KiB for `f32` at the default 1024); pick a smaller `CHUNK` (for
/// example 64) on small stacks. Results do not depend on `CHUNK`.
#[derive(Clone, Debug)]
pub struct Layer<
    'p,
    M: Model,
    S: Surrogate,
    T: Real<Mask = bool>,
    const CHUNK: usize = DEFAULT_CHUNK,
> {
    model: M,
    surrogate: S,
    constants: SurrogateConstants<T>,
    seed: u32,
    batch: usize,
    neurons: usize,
    params: [Param<'p, T>; MAX_PARAMS],
}

impl<'p, M: Model, S: Surrogate, T: Real<Mask = bool>> Layer<'p, M, S, T> {
    /// A layer of `neurons` neurons run on `batch` rows at once.
    ///
    /// `params` gives every parameter of [`Model::PARAMS`] in order. Checks
    /// the sizes and the model's rules on every neuron's parameters.
    pub fn new(
        model: M,
        surrogate: S,
        batch: usize,
        neurons: usize,
        params: &[Param<'p, T>],
    ) -> Result<Self, Error> {
        if batch == 0 {
            return Err(Error::EmptyShape {
                dimension: "batch rows",
            });
        }
        if neurons == 0 {
            return Err(Error::EmptyShape {
                dimension: "neurons",
            });
        }
        let elements = batch.checked_mul(neurons).ok_or(Error::ShapeTooLarge)?;
        if u32::try_from(elements).is_err() {
            return Err(Error::ShapeTooLarge);
        }
        if params.len() != M::PARAMS.len() {
            return Err(Error::Count {
                what: "parameters",
                names: M::PARAMS,
                actual: params.len(),
            });
        }
        let mut all = [Param::Scalar(T::zero()); MAX_PARAMS];
        for (k, param) in params.iter().enumerate() {
            if let Param::PerNeuron(values) = param {
                if values.len() != neurons {
                    return Err(Error::ParameterLength {
                        parameter: M::PARAMS[k],
                        expected: neurons,
                        actual: values.len(),
                    });
                }
            }
            all[k] = *param;
        }
        let layer = Layer {
            model,
            surrogate,
            constants: constants_in(&surrogate),
            seed: 0,
            batch,
            neurons,
            params: all,
        };
        layer.check_params()?;
        Ok(layer)
    }
}

impl<'p, M: Model, S: Surrogate, T: Real<Mask = bool>, const CHUNK: usize>
    Layer<'p, M, S, T, CHUNK>
{
    /// Whether the fused passes compile one copy of their loops per model
    /// configuration (see [`Model::specialize`]): for chunks of 64 neurons
    /// and more. Smaller chunks (small stacks, tests, the checker) compile
    /// one generic copy, which computes the same bits.
    const SPECIALIZED: bool = CHUNK >= 64;

    /// The same layer processing `C` neurons at a time (see [`Layer`]).
    pub fn with_chunk<const C: usize>(self) -> Layer<'p, M, S, T, C> {
        Layer {
            model: self.model,
            surrogate: self.surrogate,
            constants: self.constants,
            seed: self.seed,
            batch: self.batch,
            neurons: self.neurons,
            params: self.params,
        }
    }

    /// The same layer drawing its surrogate noise (stochastic surrogates
    /// only) from stream `seed`.
    pub fn with_seed(mut self, seed: u32) -> Self {
        self.seed = seed;
        self
    }

    /// The model.
    pub fn model(&self) -> &M {
        &self.model
    }

    /// The surrogate.
    pub fn surrogate(&self) -> &S {
        &self.surrogate
    }

    /// Rows of the batch.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// Neurons per row.
    pub fn neurons(&self) -> usize {
        self.neurons
    }

    /// `batch · neurons`: values per time step.
    pub fn elements(&self) -> usize {
        self.batch * self.neurons
    }

    /// Values in a sequence of `steps` steps (`steps · batch · neurons`).
    pub fn sequence_len(&self, steps: usize) -> Result<usize, Error> {
        if steps == 0 {
            return Err(Error::EmptyShape {
                dimension: "time steps",
            });
        }
        if u32::try_from(steps).is_err() {
            return Err(Error::ShapeTooLarge);
        }
        steps
            .checked_mul(self.elements())
            .ok_or(Error::ShapeTooLarge)
    }

    /// Length of the accumulator of [`Layer::step_backward`]:
    /// `PREPARED.len() · batch · neurons`.
    pub fn param_accumulator_len(&self) -> usize {
        M::PREPARED.len() * self.elements()
    }

    fn check_params(&self) -> Result<(), Error> {
        let per_neuron = self.params.iter().any(Param::is_per_neuron);
        let count = if per_neuron { self.neurons } else { 1 };
        for m in 0..count {
            if let Err(reason) = self.model.check(&self.raw_params(m)) {
                let neuron = if per_neuron { Some(m) } else { None };
                return Err(Error::InvalidParameter {
                    model: M::NAME,
                    reason,
                    neuron,
                });
            }
        }
        Ok(())
    }

    #[inline(always)]
    fn raw_params(&self, m: usize) -> Params<T> {
        let mut raw = zeros();
        for (k, value) in raw.iter_mut().enumerate().take(M::PARAMS.len()) {
            *value = self.params[k].at(m);
        }
        raw
    }

    /// The surrogate's random number for `(step, element)` when the
    /// surrogate is stochastic and the pass needs it, else zero.
    #[inline(always)]
    fn noise(&self, needed: bool, step: usize, element: usize) -> T {
        if S::STOCHASTIC && needed {
            rng::uniform(self.seed, step as u32, element as u32)
        } else {
            T::zero()
        }
    }

    #[inline(always)]
    fn spike_fn(&self, noise: T) -> SpikeFn<T> {
        SpikeFn {
            constants: self.constants,
            noise,
        }
    }

    /// The stored states: all but the spike state (which is the last).
    fn stored_names() -> &'static [&'static str] {
        match M::SPIKE_STATE {
            Some(_) => &M::STATES[..M::STATES.len() - 1],
            None => M::STATES,
        }
    }

    /// One time step for all `batch · neurons` elements.
    ///
    /// `inputs`: one `[B][M]` slice per input stream at step `step`. `state`:
    /// one `[B][M]` slice per state (every state of [`Model::STATES`],
    /// including the spike state of recurrent models), read as the states
    /// before the step and overwritten with the states after it. `spikes`
    /// receives `spk[step]`. `step` only keys the stochastic surrogate's noise.
    pub fn step(
        &self,
        step: usize,
        inputs: &[&[T]],
        state: &mut [&mut [T]],
        spikes: &mut [T],
    ) -> Result<(), Error> {
        let n = self.elements();
        check_list("input streams", inputs, M::INPUTS, n, false)?;
        check_list_mut("states", state, M::STATES, n, false)?;
        check_len("spikes", spikes.len(), n)?;
        for element in 0..n {
            let p = self.model.prepare(&self.raw_params(element % self.neurons));
            let mut prev: States<T> = zeros();
            for (k, value) in prev.iter_mut().enumerate().take(M::STATES.len()) {
                *value = state[k][element];
            }
            let mut ins: Inputs<T> = zeros();
            for (k, value) in ins.iter_mut().enumerate().take(M::INPUTS.len()) {
                *value = inputs[k][element];
            }
            let spike = self.spike_fn(self.noise(T::SURROGATE_IN_FORWARD, step, element));
            let (next, spk) = self.model.step::<T, S>(&p, &prev, &ins, &spike);
            for (k, value) in next.iter().enumerate().take(M::STATES.len()) {
                state[k][element] = *value;
            }
            spikes[element] = spk;
        }
        Ok(())
    }

    /// The gradients of one time step, for driving the backward pass step
    /// by step (for example with all-to-all recurrence, where a dense layer
    /// runs between steps).
    ///
    /// - `inputs`: the inputs at `step`, `[B][M]` per stream;
    /// - `prev`: the states before `step`, `[B][M]` per state (all states);
    /// - `next`: the states after `step` as the forward pass produced them;
    /// - `grad_spikes`: `dL/d spk[step]`;
    /// - `grad_state`: on entry `dL/d state[step]` (all that flows back from
    ///   later steps and losses: for the last step, [`no_gradient`] (`-0`)
    ///   plus any loss on the states, as [`Layer::backward`] does), on return
    ///   `dL/d state[step - 1]`;
    /// - `grad_inputs`: receives `dL/d input[step]` (empty slices skip);
    /// - `param_accumulator`: [`Layer::param_accumulator_len`] values to
    ///   which this step's parameter gradients are added; fill it with [`Layer::clear_param_accumulator`] before the
    ///   first call, and turn it into parameter gradients with
    ///   [`Layer::reduce_param_grads`] after the last one. Empty to skip.
    ///
    /// Called for `step = T-1, ..., 0`, this gives exactly the results of
    /// [`Layer::backward`].
    #[allow(clippy::too_many_arguments)]
    pub fn step_backward(
        &self,
        step: usize,
        inputs: &[&[T]],
        prev: &[&[T]],
        next: &[&[T]],
        grad_spikes: &[T],
        grad_state: &mut [&mut [T]],
        grad_inputs: &mut [&mut [T]],
        param_accumulator: &mut [T],
    ) -> Result<(), Error> {
        let n = self.elements();
        check_list("input streams", inputs, M::INPUTS, n, false)?;
        check_list("previous states", prev, M::STATES, n, false)?;
        check_list("next states", next, M::STATES, n, false)?;
        check_len("spike gradients", grad_spikes.len(), n)?;
        check_list_mut("state gradients", grad_state, M::STATES, n, false)?;
        check_list_mut("input gradients", grad_inputs, M::INPUTS, n, true)?;
        let accumulate = !param_accumulator.is_empty();
        if accumulate {
            check_len(
                "parameter accumulator",
                param_accumulator.len(),
                self.param_accumulator_len(),
            )?;
        }
        for element in 0..n {
            let p = self.model.prepare(&self.raw_params(element % self.neurons));
            let mut prev_state: States<T> = zeros();
            let mut next_state: States<T> = zeros();
            let mut grad_next: States<T> = zeros();
            for k in 0..M::STATES.len() {
                prev_state[k] = prev[k][element];
                next_state[k] = next[k][element];
                grad_next[k] = grad_state[k][element];
            }
            let mut ins: Inputs<T> = zeros();
            for (k, value) in ins.iter_mut().enumerate().take(M::INPUTS.len()) {
                *value = inputs[k][element];
            }
            let spike = self.spike_fn(self.noise(true, step, element));
            let g = self.model.step_backward::<T, S>(
                &p,
                &prev_state,
                &next_state,
                &ins,
                &spike,
                grad_spikes[element],
                &grad_next,
            );
            for (k, value) in g.prev.iter().enumerate().take(M::STATES.len()) {
                grad_state[k][element] = *value;
            }
            for (k, out) in grad_inputs.iter_mut().enumerate() {
                if !out.is_empty() {
                    out[element] = g.inputs[k];
                }
            }
            if accumulate {
                for k in 0..M::PREPARED.len() {
                    let slot = &mut param_accumulator[k * n + element];
                    *slot = *slot + g.prepared[k];
                }
            }
        }
        Ok(())
    }

    /// Prepares an accumulator for [`Layer::step_backward`]: every value
    /// [`no_gradient`] (`-0`), where every gradient sum starts.
    pub fn clear_param_accumulator(&self, param_accumulator: &mut [T]) {
        param_accumulator.fill(no_gradient());
    }

    /// Parameter gradients from the accumulator of [`Layer::step_backward`]
    /// (see the module docs for the order of the sums).
    pub fn reduce_param_grads(
        &self,
        param_accumulator: &[T],
        grad_params: &mut [&mut [T]],
    ) -> Result<(), Error> {
        check_len(
            "parameter accumulator",
            param_accumulator.len(),
            self.param_accumulator_len(),
        )?;
        self.check_param_grads(grad_params)?;
        let n = self.elements();
        let mut scalar_sums: Params<T> = [no_gradient(); MAX_PARAMS];
        for m in 0..self.neurons {
            let mut per_neuron: Prepared<T> = [no_gradient(); MAX_PREPARED];
            for b in 0..self.batch {
                for (k, sum) in per_neuron.iter_mut().enumerate().take(M::PREPARED.len()) {
                    *sum = *sum + param_accumulator[k * n + b * self.neurons + m];
                }
            }
            self.finish_neuron(self.model, m, &per_neuron, &mut scalar_sums, grad_params);
        }
        self.write_scalar_grads(&scalar_sums, grad_params);
        Ok(())
    }

    fn check_param_grads(&self, grad_params: &[&mut [T]]) -> Result<(), Error> {
        if grad_params.is_empty() {
            return Ok(());
        }
        if grad_params.len() != M::PARAMS.len() {
            return Err(Error::Count {
                what: "parameter gradient outputs",
                names: M::PARAMS,
                actual: grad_params.len(),
            });
        }
        for (k, out) in grad_params.iter().enumerate() {
            let expected = if self.params[k].is_per_neuron() {
                self.neurons
            } else {
                1
            };
            if !out.is_empty() && out.len() != expected {
                return Err(Error::GradientLength {
                    parameter: M::PARAMS[k],
                    expected,
                    actual: out.len(),
                });
            }
        }
        Ok(())
    }

    /// The chain rule through `prepare` for neuron `m`, then the per-neuron
    /// outputs, or the running scalar sums.
    #[inline(always)]
    fn finish_neuron(
        &self,
        model: M,
        m: usize,
        grad_prepared: &Prepared<T>,
        scalar_sums: &mut Params<T>,
        out: &mut [&mut [T]],
    ) {
        if out.is_empty() {
            return;
        }
        let raw_grads = model.prepare_backward(&self.raw_params(m), grad_prepared);
        for k in 0..M::PARAMS.len() {
            if out[k].is_empty() {
                continue;
            }
            if self.params[k].is_per_neuron() {
                out[k][m] = raw_grads[k];
            } else {
                scalar_sums[k] = scalar_sums[k] + raw_grads[k];
            }
        }
    }

    fn write_scalar_grads(&self, scalar_sums: &Params<T>, out: &mut [&mut [T]]) {
        for (k, grads) in out.iter_mut().enumerate() {
            if !grads.is_empty() && !self.params[k].is_per_neuron() {
                grads[0] = scalar_sums[k];
            }
        }
    }

    /// The fused forward pass over `steps` time steps.
    ///
    /// - `inputs`: one `[T][B][M]` slice per input stream;
    /// - `initial`: one `[B][M]` slice per state (all of [`Model::STATES`]);
    /// - `spikes`: receives `[T][B][M]` spikes;
    /// - `states`: one `[T][B][M]` slice per stored state (all states but the
    ///   spike state of recurrent models), receiving the state after every
    ///   step. The backward pass reads them.
    pub fn forward(
        &self,
        steps: usize,
        inputs: &[&[T]],
        initial: &[&[T]],
        spikes: &mut [T],
        states: &mut [&mut [T]],
    ) -> Result<(), Error> {
        let len = self.sequence_len(steps)?;
        check_list("input streams", inputs, M::INPUTS, len, false)?;
        check_list("initial states", initial, M::STATES, self.elements(), false)?;
        check_len("spikes", spikes.len(), len)?;
        check_list_mut(
            "state trajectories",
            states,
            Self::stored_names(),
            len,
            false,
        )?;
        let run = ForwardRun {
            layer: self,
            steps,
            inputs,
            initial,
            spikes,
            states,
        };
        if Self::SPECIALIZED {
            self.model.specialize(run);
        } else {
            run.run::<{ usize::MAX }>();
        }
        Ok(())
    }

    /// [`Layer::forward`] after the checks, for one configuration (the
    /// `model` argument is a constant in each specialised copy): full chunks
    /// of `CHUNK` neurons, then the rest of a row one neuron at a time.
    fn forward_with<const CONFIG: usize>(
        &self,
        steps: usize,
        inputs: &[&[T]],
        initial: &[&[T]],
        spikes: &mut [T],
        states: &mut [&mut [T]],
    ) {
        let model = self.configured::<CONFIG>();
        let full = self.neurons / CHUNK * CHUNK;
        for b in 0..self.batch {
            for m0 in (0..full).step_by(CHUNK) {
                self.forward_chunk::<CHUNK>(model, steps, b, m0, inputs, initial, spikes, states);
            }
        }
        if full < self.neurons {
            self.forward_tail(steps, full, inputs, initial, spikes, states);
        }
    }

    /// The neurons after the last full chunk, one at a time, compiled once
    /// (not per configuration).
    #[inline(never)]
    fn forward_tail(
        &self,
        steps: usize,
        full: usize,
        inputs: &[&[T]],
        initial: &[&[T]],
        spikes: &mut [T],
        states: &mut [&mut [T]],
    ) {
        for b in 0..self.batch {
            for m in full..self.neurons {
                self.forward_chunk::<1>(self.model, steps, b, m, inputs, initial, spikes, states);
            }
        }
    }

    /// The forward pass of neurons `m0..m0 + W` of batch row `b`.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn forward_chunk<const W: usize>(
        &self,
        model: M,
        steps: usize,
        b: usize,
        m0: usize,
        inputs: &[&[T]],
        initial: &[&[T]],
        spikes: &mut [T],
        states: &mut [&mut [T]],
    ) {
        let n = self.elements();
        let row0 = b * self.neurons + m0;
        let prepared = self.prepare_chunk::<W>(model, m0);
        let zero = [T::zero(); W];
        for t in 0..steps {
            let at = t * n + row0;
            let ins: [&[T; W]; MAX_INPUTS] =
                core::array::from_fn(|k| row(inputs[k.min(M::INPUTS.len() - 1)], at));
            // The states before the step: the previous step's outputs (still
            // in cache) or the initial states. The outputs are written in place.
            let (spikes_done, spikes_rest) = spikes.split_at_mut(at);
            let mut prev: [&[T; W]; MAX_STATES] = [&zero; MAX_STATES];
            let mut next: [Option<&mut [T; W]>; MAX_STATES] = [None, None, None];
            for (k, trajectory) in states.iter_mut().enumerate() {
                let (done, rest) = trajectory.split_at_mut(at);
                prev[k] = if t == 0 {
                    row(initial[k], row0)
                } else {
                    row(done, at - n)
                };
                next[k] = Some(row_mut(rest, 0));
            }
            if let Some(k) = M::SPIKE_STATE {
                prev[k] = if t == 0 {
                    row(initial[k], row0)
                } else {
                    row(spikes_done, at - n)
                };
            }
            let spk: &mut [T; W] = row_mut(spikes_rest, 0);
            let mut spare = [zero; MAX_STATES];
            let [spare0, spare1, spare2] = &mut spare;
            let [next0, next1, next2] = next;
            let next = [
                next0.unwrap_or(spare0),
                next1.unwrap_or(spare1),
                next2.unwrap_or(spare2),
            ];
            for i in 0..W {
                let p: Prepared<T> = core::array::from_fn(|k| prepared[k][i]);
                let before: States<T> = core::array::from_fn(|k| prev[k][i]);
                let x: Inputs<T> = core::array::from_fn(|k| ins[k][i]);
                let noise = self.noise(T::SURROGATE_IN_FORWARD, t, row0 + i);
                let (after, fired) = model.step::<T, S>(&p, &before, &x, &self.spike_fn(noise));
                for k in 0..Self::stored_names().len() {
                    next[k][i] = after[k];
                }
                spk[i] = fired;
            }
        }
    }

    /// The backward pass through time, in one reverse sweep.
    ///
    /// Reads what [`Layer::forward`] produced (`saved`) and the gradients of
    /// the outputs (`grads`), writes the gradients of the inputs, the initial
    /// states and the parameters (`out`; see [`InputGrads`]).
    ///
    /// The gradient flowing into the states after step `t` is what flows back
    /// from step `t + 1` when `grads.states` is empty, and that plus
    /// `grads.states[k][t]` (zero where a slice is empty) otherwise.
    pub fn backward(
        &self,
        steps: usize,
        saved: Saved<'_, T>,
        grads: OutputGrads<'_, T>,
        out: InputGrads<'_, '_, T>,
    ) -> Result<(), Error> {
        let len = self.sequence_len(steps)?;
        let n = self.elements();
        check_list("input streams", saved.inputs, M::INPUTS, len, false)?;
        check_list("initial states", saved.initial, M::STATES, n, false)?;
        check_len("spikes", saved.spikes.len(), len)?;
        check_list(
            "state trajectories",
            saved.states,
            Self::stored_names(),
            len,
            false,
        )?;
        check_len("spike gradients", grads.spikes.len(), len)?;
        if !grads.states.is_empty() {
            check_list(
                "state gradients",
                grads.states,
                Self::stored_names(),
                len,
                true,
            )?;
        }
        check_list_mut("input gradients", out.inputs, M::INPUTS, len, true)?;
        check_list_mut("initial-state gradients", out.initial, M::STATES, n, true)?;
        self.check_param_grads(out.params)?;
        let mut out = out;
        let state_grads = grads.states.iter().any(|g| !g.is_empty());
        let param_grads = out.params.iter().any(|g| !g.is_empty());
        macro_rules! run {
            ($state:literal, $param:literal) => {{
                let run = BackwardRun::<'_, '_, '_, '_, '_, '_, M, S, T, CHUNK, $state, $param> {
                    layer: self,
                    steps,
                    saved: &saved,
                    grads: &grads,
                    out: &mut out,
                };
                if Self::SPECIALIZED {
                    self.model.specialize(run)
                } else {
                    run.run::<{ usize::MAX }>()
                }
            }};
        }
        match (state_grads, param_grads) {
            (false, false) => run!(false, false),
            (false, true) => run!(false, true),
            (true, false) => run!(true, false),
            (true, true) => run!(true, true),
        }
        Ok(())
    }

    /// [`Layer::backward`] after the checks, for one configuration;
    /// `STATE_GRADS` tells whether losses on the states add gradients,
    /// `PARAM_GRADS` whether parameter gradients are wanted.
    fn backward_with<const CONFIG: usize, const STATE_GRADS: bool, const PARAM_GRADS: bool>(
        &self,
        steps: usize,
        saved: &Saved<'_, T>,
        grads: &OutputGrads<'_, T>,
        out: &mut InputGrads<'_, '_, T>,
    ) {
        let model = self.configured::<CONFIG>();
        let full = self.neurons / CHUNK * CHUNK;
        let mut scalar_sums: Params<T> = [no_gradient(); MAX_PARAMS];
        for m0 in (0..full).step_by(CHUNK) {
            self.backward_chunk::<CHUNK, STATE_GRADS, PARAM_GRADS>(
                model,
                steps,
                m0,
                saved,
                grads,
                out,
                &mut scalar_sums,
            );
        }
        if full < self.neurons {
            self.backward_tail::<STATE_GRADS, PARAM_GRADS>(
                steps,
                full,
                saved,
                grads,
                out,
                &mut scalar_sums,
            );
        }
        if PARAM_GRADS {
            self.write_scalar_grads(&scalar_sums, out.params);
        }
    }

    /// The neurons after the last full chunk, one at a time, compiled once
    /// per gradient variant (not per configuration).
    #[inline(never)]
    fn backward_tail<const STATE_GRADS: bool, const PARAM_GRADS: bool>(
        &self,
        steps: usize,
        full: usize,
        saved: &Saved<'_, T>,
        grads: &OutputGrads<'_, T>,
        out: &mut InputGrads<'_, '_, T>,
        scalar_sums: &mut Params<T>,
    ) {
        for m in full..self.neurons {
            self.backward_chunk::<1, STATE_GRADS, PARAM_GRADS>(
                self.model,
                steps,
                m,
                saved,
                grads,
                out,
                scalar_sums,
            );
        }
    }

    /// The backward pass of neurons `m0..m0 + W`, over all batch rows.
    #[allow(clippy::too_many_arguments, clippy::needless_range_loop)]
    #[inline(always)]
    fn backward_chunk<const W: usize, const STATE_GRADS: bool, const PARAM_GRADS: bool>(
        &self,
        model: M,
        steps: usize,
        m0: usize,
        saved: &Saved<'_, T>,
        grads: &OutputGrads<'_, T>,
        out: &mut InputGrads<'_, '_, T>,
        scalar_sums: &mut Params<T>,
    ) {
        let n = self.elements();
        let zero = [T::zero(); W];
        let none = [no_gradient(); W];
        let prepared = self.prepare_chunk::<W>(model, m0);
        let mut row_sums = [[no_gradient(); W]; MAX_PREPARED];
        let mut grad_in = [zero; MAX_INPUTS];
        for b in 0..self.batch {
            let row0 = b * self.neurons + m0;
            let mut carry = [none; MAX_STATES];
            let mut step_sums = [[no_gradient(); W]; MAX_PREPARED];
            for t in (0..steps).rev() {
                let at = t * n + row0;
                let prev: [&[T; W]; MAX_STATES] = core::array::from_fn(|k| {
                    let k = k.min(M::STATES.len() - 1);
                    if t == 0 {
                        row(saved.initial[k], row0)
                    } else if Some(k) == M::SPIKE_STATE {
                        row(saved.spikes, at - n)
                    } else {
                        row(saved.states[k], at - n)
                    }
                });
                let next: [&[T; W]; MAX_STATES] = core::array::from_fn(|k| {
                    let k = k.min(M::STATES.len() - 1);
                    if Some(k) == M::SPIKE_STATE {
                        row(saved.spikes, at)
                    } else {
                        row(saved.states[k], at)
                    }
                });
                // models that do not read the inputs backward get zeros
                let ins: [&[T; W]; MAX_INPUTS] = core::array::from_fn(|k| {
                    if model.backward_reads_inputs() {
                        row(saved.inputs[k.min(M::INPUTS.len() - 1)], at)
                    } else {
                        &zero
                    }
                });
                // the loss on the states, or -0 (adding it changes nothing)
                let ext: [&[T; W]; MAX_STATES] =
                    core::array::from_fn(|k| match grads.states.get(k) {
                        Some(g) if !g.is_empty() => row(g, at),
                        _ => &none,
                    });
                let grad_spk: &[T; W] = row(grads.spikes, at);
                // input gradients go straight to their rows (or to scratch when
                // not wanted)
                let [spare0, spare1] = &mut grad_in;
                let mut wanted = out
                    .inputs
                    .iter_mut()
                    .map(|given| (!given.is_empty()).then(|| row_mut(given, at)));
                let grad_in_rows: [&mut [T; W]; MAX_INPUTS] = [
                    wanted.next().flatten().unwrap_or(spare0),
                    wanted.next().flatten().unwrap_or(spare1),
                ];
                for i in 0..W {
                    let p: Prepared<T> = core::array::from_fn(|k| prepared[k][i]);
                    let before: States<T> = core::array::from_fn(|k| prev[k][i]);
                    let after: States<T> = core::array::from_fn(|k| next[k][i]);
                    let x: Inputs<T> = core::array::from_fn(|k| ins[k][i]);
                    // with no loss on the states nothing is added (adding -0
                    // would change nothing but the speed)
                    let grad_next: States<T> = core::array::from_fn(|k| {
                        if STATE_GRADS {
                            carry[k][i] + ext[k][i]
                        } else {
                            carry[k][i]
                        }
                    });
                    let spike = self.spike_fn(self.noise(true, t, row0 + i));
                    let g = model.step_backward::<T, S>(
                        &p,
                        &before,
                        &after,
                        &x,
                        &spike,
                        grad_spk[i],
                        &grad_next,
                    );
                    for k in 0..M::STATES.len() {
                        carry[k][i] = g.prev[k];
                    }
                    for k in 0..M::INPUTS.len() {
                        grad_in_rows[k][i] = g.inputs[k];
                    }
                    if PARAM_GRADS {
                        for k in 0..M::PREPARED.len() {
                            step_sums[k][i] = step_sums[k][i] + g.prepared[k];
                        }
                    }
                }
            }
            for (given, values) in out.initial.iter_mut().zip(&carry) {
                if !given.is_empty() {
                    *row_mut(given, row0) = *values;
                }
            }
            if PARAM_GRADS {
                for (sums, step) in row_sums.iter_mut().zip(&step_sums).take(M::PREPARED.len()) {
                    for i in 0..W {
                        sums[i] = sums[i] + step[i];
                    }
                }
            }
        }
        if PARAM_GRADS {
            for i in 0..W {
                let per_neuron: Prepared<T> = core::array::from_fn(|k| row_sums[k][i]);
                self.finish_neuron(model, m0 + i, &per_neuron, scalar_sums, out.params);
            }
        }
    }

    /// The model as a constant of configuration `CONFIG` (the layer's own
    /// model when `CONFIG` is beyond the numbered configurations).
    #[inline(always)]
    fn configured<const CONFIG: usize>(&self) -> M {
        if CONFIG < M::CONFIGURATIONS {
            M::from_config_index(CONFIG)
        } else {
            self.model
        }
    }

    /// The prepared constants of neurons `m0..m0 + W`, one array per constant.
    #[allow(clippy::needless_range_loop)]
    #[inline(always)]
    fn prepare_chunk<const W: usize>(&self, model: M, m0: usize) -> [[T; W]; MAX_PREPARED] {
        let mut prepared = [[T::zero(); W]; MAX_PREPARED];
        for i in 0..W {
            let p = model.prepare(&self.raw_params(m0 + i));
            for k in 0..M::PREPARED.len() {
                prepared[k][i] = p[k];
            }
        }
        prepared
    }
}

fn check_len(what: &'static str, actual: usize, expected: usize) -> Result<(), Error> {
    if actual == expected {
        Ok(())
    } else {
        Err(Error::Length {
            what,
            expected,
            actual,
        })
    }
}

/// Checks a list of slices: its count, and each slice's length (an empty
/// slice is accepted where `optional`).
fn check_list<T>(
    what: &'static str,
    list: &[&[T]],
    names: &'static [&'static str],
    len: usize,
    optional: bool,
) -> Result<(), Error> {
    if list.len() != names.len() {
        return Err(Error::Count {
            what,
            names,
            actual: list.len(),
        });
    }
    for slice in list {
        if !(optional && slice.is_empty()) {
            check_len(what, slice.len(), len)?;
        }
    }
    Ok(())
}

fn check_list_mut<T>(
    what: &'static str,
    list: &[&mut [T]],
    names: &'static [&'static str],
    len: usize,
    optional: bool,
) -> Result<(), Error> {
    if list.len() != names.len() {
        return Err(Error::Count {
            what,
            names,
            actual: list.len(),
        });
    }
    for slice in list {
        if !(optional && slice.is_empty()) {
            check_len(what, slice.len(), len)?;
        }
    }
    Ok(())
}
