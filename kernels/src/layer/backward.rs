//! The fused backward pass through time: one reverse sweep per chunk of
//! `CHUNK` neurons over all batch rows.

use super::{row, row_mut, InputGrads, Layer, OutputGrads, Saved};
use crate::error::Error;
use crate::model::{
    no_gradient, BackIn, Inputs, Model, Params, Prepared, Specialized, States, StepIn, MAX_INPUTS,
    MAX_PARAMS, MAX_PREPARED, MAX_STATES,
};
use crate::real::Real;
use crate::surrogate::Surrogate;

/// Which optional work a backward pass does. Optimised builds give each
/// combination its own type ([`Fixed`]), so that each copy of the loops
/// leaves out the work it does not do; unoptimised builds read [`Flags`] at
/// run time (one copy of the loops instead of four; the same operations).
trait Wanted: Copy {
    /// Losses on the states add to the gradients flowing into the states.
    fn state_grads(self) -> bool;
    /// Parameter gradients are wanted.
    fn param_grads(self) -> bool;
}

/// [`Wanted`] as constants.
#[cfg(not(debug_assertions))]
#[derive(Clone, Copy)]
struct Fixed<const STATE_GRADS: bool, const PARAM_GRADS: bool>;

#[cfg(not(debug_assertions))]
impl<const STATE_GRADS: bool, const PARAM_GRADS: bool> Wanted for Fixed<STATE_GRADS, PARAM_GRADS> {
    #[inline(always)]
    fn state_grads(self) -> bool {
        STATE_GRADS
    }
    #[inline(always)]
    fn param_grads(self) -> bool {
        PARAM_GRADS
    }
}

/// [`Wanted`] read at run time.
#[cfg(debug_assertions)]
#[derive(Clone, Copy)]
struct Flags {
    state_grads: bool,
    param_grads: bool,
}

#[cfg(debug_assertions)]
impl Wanted for Flags {
    fn state_grads(self) -> bool {
        self.state_grads
    }
    fn param_grads(self) -> bool {
        self.param_grads
    }
}

/// [`Layer::backward`]'s loops over its checked arguments, to compile per
/// configuration.
struct BackwardRun<'l, 'p, 'a, 'b, 'c, 'd, M, S, T, const CHUNK: usize, G>
where
    M: Model,
    S: Surrogate,
    T: Real<Mask = bool>,
{
    layer: &'l Layer<'p, M, S, T, CHUNK>,
    steps: usize,
    saved: &'a Saved<'a, T>,
    grads: &'a OutputGrads<'a, T>,
    out: &'b mut InputGrads<'c, 'd, T>,
    wanted: G,
}

impl<M, S, T, const CHUNK: usize, G> Specialized
    for BackwardRun<'_, '_, '_, '_, '_, '_, M, S, T, CHUNK, G>
where
    M: Model,
    S: Surrogate,
    T: Real<Mask = bool>,
    G: Wanted,
{
    type Output = ();

    /// The pass for configuration `CONFIG`: full chunks of `CHUNK` neurons,
    /// then the rest as the last `CHUNK` neurons (those shared with the
    /// previous chunk are computed again to the same values, and their
    /// parameter gradients are not added twice), or one neuron at a time in
    /// rows narrower than a chunk; then the scalar parameters' gradients.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn run<const CONFIG: usize>(mut self) {
        // a layer's chunk is at least 1 (see `Layer::with_chunk`)
        const { assert!(CHUNK > 0, "a Layer's CHUNK must be at least 1") };
        let layer = self.layer;
        let model = layer.configured::<CONFIG>();
        let full = layer.neurons / CHUNK * CHUNK;
        let mut scalar_sums: Params<T::Lane> = [no_gradient(); MAX_PARAMS];
        for m0 in (0..full).step_by(CHUNK) {
            self.chunk::<CHUNK>(model, m0, 0, &mut scalar_sums);
        }
        if 0 < full && full < layer.neurons {
            let m0 = layer.neurons - CHUNK;
            self.chunk::<CHUNK>(model, m0, full - m0, &mut scalar_sums);
        }
        if full == 0 {
            self.tail(0, &mut scalar_sums);
        }
        if self.wanted.param_grads() {
            layer.write_scalar_grads(&scalar_sums, self.out.params);
        }
    }
}

impl<M, S, T, const CHUNK: usize, G> BackwardRun<'_, '_, '_, '_, '_, '_, M, S, T, CHUNK, G>
where
    M: Model,
    S: Surrogate,
    T: Real<Mask = bool>,
    G: Wanted,
{
    /// Rows narrower than a chunk, one neuron at a time, compiled once per
    /// gradient variant (not per configuration).
    #[inline(never)]
    fn tail(&mut self, full: usize, scalar_sums: &mut Params<T::Lane>) {
        for m in full..self.layer.neurons {
            self.chunk::<1>(self.layer.model, m, 0, scalar_sums);
        }
    }

    /// [`Layer::backward_chunk`] with this pass's arguments; the parameter
    /// gradients of the chunk's first `done` neurons are already summed.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn chunk<const W: usize>(
        &mut self,
        model: M,
        m0: usize,
        done: usize,
        scalar_sums: &mut Params<T::Lane>,
    ) {
        let pass = (self.steps, self.saved, self.grads);
        let wanted = self.wanted;
        self.layer
            .backward_chunk::<W, G>(model, (m0, done), pass, self.out, scalar_sums, wanted);
    }
}

impl<M: Model, S: Surrogate, T: Real<Mask = bool>, const CHUNK: usize> Layer<'_, M, S, T, CHUNK> {
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
        self.check_backward(steps, &saved, &grads, &out)?;
        let mut out = out;
        let state_grads = grads.states.iter().any(|g| !g.is_empty());
        let param_grads = out.params.iter().any(|g| !g.is_empty());
        #[cfg(not(debug_assertions))]
        match (state_grads, param_grads) {
            (false, false) => {
                self.run_backward(steps, &saved, &grads, &mut out, Fixed::<false, false>)
            }
            (false, true) => {
                self.run_backward(steps, &saved, &grads, &mut out, Fixed::<false, true>)
            }
            (true, false) => {
                self.run_backward(steps, &saved, &grads, &mut out, Fixed::<true, false>)
            }
            (true, true) => self.run_backward(steps, &saved, &grads, &mut out, Fixed::<true, true>),
        }
        #[cfg(debug_assertions)]
        self.run_backward(
            steps,
            &saved,
            &grads,
            &mut out,
            Flags {
                state_grads,
                param_grads,
            },
        );
        Ok(())
    }

    /// [`Layer::backward`] after the checks, with the optional work `wanted`.
    fn run_backward<G: Wanted>(
        &self,
        steps: usize,
        saved: &Saved<'_, T>,
        grads: &OutputGrads<'_, T>,
        out: &mut InputGrads<'_, '_, T>,
        wanted: G,
    ) {
        self.dispatch(BackwardRun {
            layer: self,
            steps,
            saved,
            grads,
            out,
            wanted,
        });
    }
}

impl<M: Model, S: Surrogate, T: Real<Mask = bool>, const CHUNK: usize> Layer<'_, M, S, T, CHUNK> {
    /// The backward pass of neurons `m0..m0 + W` (`chunk = (m0, done)`;
    /// the parameter gradients of the first `done` are not summed: an
    /// earlier chunk did), over all batch rows, for
    /// `pass = (steps, saved, grads)`. (A method of the layer with the
    /// buffers as arguments, not of [`BackwardRun`]: arguments tell the
    /// optimiser that the buffers do not alias the layer, so that the
    /// layer's constants stay in registers.)
    #[allow(clippy::needless_range_loop)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn backward_chunk<const W: usize, G: Wanted>(
        &self,
        model: M,
        chunk: (usize, usize),
        pass: (usize, &Saved<'_, T>, &OutputGrads<'_, T>),
        out: &mut InputGrads<'_, '_, T>,
        scalar_sums: &mut Params<T::Lane>,
        wanted: G,
    ) {
        let (steps, saved, grads) = pass;
        let (m0, done) = chunk;
        let n = self.elements();
        let zero = [T::zero(); W];
        let none = [no_gradient(); W];
        let lane_none = [no_gradient::<T::Lane>(); W];
        let prepared = self.prepare_chunk::<W>(model, m0);
        let constants = self.lane_constants();
        // gradients carried from step to step and summed over steps stay
        // lanes, rounded as they would be stored (`T::store_lane`) when they
        // cross a step; the sums over batch rows are lanes, rounded once
        // when a parameter gradient is written
        let mut row_sums = [lane_none; MAX_PREPARED];
        let mut grad_in = [zero; MAX_INPUTS];
        for b in 0..self.batch {
            let row0 = b * self.neurons + m0;
            let mut carry = [lane_none; MAX_STATES];
            let mut step_sums = [lane_none; MAX_PREPARED];
            for t in (0..steps).rev() {
                let at = t * n + row0;
                // padding (module docs): rows past the model's states repeat its
                // last state's, past its inputs its last input's (or `zero`)
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
                // models that do not read the inputs backward get zeros,
                // unless the stored states are not the steps' exact results
                // (then every model recomputes from the inputs)
                let ins: [&[T; W]; MAX_INPUTS] = core::array::from_fn(|k| {
                    if model.backward_reads_inputs() || !T::STORES_EXACT_STEP_RESULTS {
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
                // input gradients go straight to their rows (or to the `spare`
                // rows of `grad_in` when not wanted or past the model's inputs)
                let [spare0, spare1] = &mut grad_in;
                let mut given_rows = out
                    .inputs
                    .iter_mut()
                    .map(|given| (!given.is_empty()).then(|| row_mut(given, at)));
                let grad_in_rows: [&mut [T; W]; MAX_INPUTS] = [
                    given_rows.next().flatten().unwrap_or(spare0),
                    given_rows.next().flatten().unwrap_or(spare1),
                ];
                for i in 0..W {
                    let p: Prepared<T::Lane> = core::array::from_fn(|k| prepared[k][i]);
                    let before: States<T::Lane> = core::array::from_fn(|k| prev[k][i].to_lane());
                    let after: States<T::Lane> = core::array::from_fn(|k| next[k][i].to_lane());
                    let x: Inputs<T::Lane> = core::array::from_fn(|k| ins[k][i].to_lane());
                    // with no loss on the states nothing is added (adding -0
                    // would change nothing but the speed)
                    // (the sum is a stored value in the single-step API)
                    let grad_next: States<T::Lane> = core::array::from_fn(|k| {
                        if wanted.state_grads() {
                            T::store_lane(carry[k][i] + ext[k][i].to_lane())
                        } else {
                            carry[k][i]
                        }
                    });
                    let spike = Self::spike_fn(constants, self.noise(true, t, row0 + i));
                    let at = StepIn::new(&p, &before, &x, &spike);
                    let back = BackIn::new(&after, grad_spk[i].to_lane(), &grad_next)
                        .with_next_exact(T::STORES_EXACT_STEP_RESULTS);
                    let g = model.step_backward::<T::Lane, S>(&at, &back);
                    for k in 0..M::STATES.len() {
                        carry[k][i] = T::store_lane(g.prev[k]);
                    }
                    for k in 0..M::INPUTS.len() {
                        grad_in_rows[k][i] = T::from_lane(g.inputs[k]);
                    }
                    if wanted.param_grads() {
                        for k in 0..M::PREPARED.len() {
                            step_sums[k][i] = T::store_lane(step_sums[k][i] + g.prepared[k]);
                        }
                    }
                }
            }
            for (given, values) in out.initial.iter_mut().zip(&carry) {
                if !given.is_empty() {
                    *row_mut(given, row0) = values.map(T::from_lane);
                }
            }
            if wanted.param_grads() {
                for (sums, step) in row_sums.iter_mut().zip(&step_sums).take(M::PREPARED.len()) {
                    for i in 0..W {
                        sums[i] = sums[i] + step[i];
                    }
                }
            }
        }
        if wanted.param_grads() {
            for i in done..W {
                let per_neuron: Prepared<T::Lane> = core::array::from_fn(|k| row_sums[k][i]);
                self.finish_neuron(model, m0 + i, &per_neuron, scalar_sums, out.params);
            }
        }
    }
}
