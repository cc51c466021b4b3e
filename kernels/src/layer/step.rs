//! The single-step API: one time step forward, or the gradients of one
//! step, for all elements (for example with all-to-all recurrence, where a
//! dense layer runs between steps).

use super::checks::check_list;
use super::Layer;
use crate::error::check_len;
use crate::error::Error;
use crate::model::{zeros, BackIn, Inputs, Model, States, StepIn};
use crate::real::Real;
use crate::surrogate::Surrogate;

impl<M: Model, S: Surrogate, T: Real<Mask = bool>, const CHUNK: usize> Layer<'_, M, S, T, CHUNK> {
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
        check_list("states", state, M::STATES, n, false)?;
        check_len("spikes", spikes.len(), n)?;
        for element in 0..n {
            let p = self.model.prepare(&self.raw_params(element % self.neurons));
            let (prev, ins): (States<T>, Inputs<T>) =
                (gather(state, element), gather(inputs, element));
            let spike = self.spike_fn(self.noise(T::SURROGATE_IN_FORWARD, step, element));
            let at = StepIn::new(&p, &prev, &ins, &spike);
            let (next, spk) = self.model.step::<T, S>(&at);
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
    ///   later steps and losses: for the last step, [`no_gradient`](crate::model::no_gradient) (`-0`)
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
        check_list("state gradients", grad_state, M::STATES, n, false)?;
        check_list("input gradients", grad_inputs, M::INPUTS, n, true)?;
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
            let (prev_state, next_state): (States<T>, States<T>) =
                (gather(prev, element), gather(next, element));
            let (grad_next, ins): (States<T>, Inputs<T>) =
                (gather(grad_state, element), gather(inputs, element));
            let spike = self.spike_fn(self.noise(true, step, element));
            let at = StepIn::new(&p, &prev_state, &ins, &spike);
            let back = BackIn::new(&next_state, grad_spikes[element], &grad_next);
            let g = self.model.step_backward::<T, S>(&at, &back);
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
}

/// Element `element` of every slice of `list` (one per state or input
/// stream), padded with zeros to the fixed size `N`.
fn gather<T: Real, L: AsRef<[T]>, const N: usize>(list: &[L], element: usize) -> [T; N] {
    let mut values = zeros();
    for (value, slice) in values.iter_mut().zip(list) {
        *value = slice.as_ref()[element];
    }
    values
}
