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
        let constants = self.lane_constants();
        for element in 0..n {
            // computed in lanes (`T::Lane`: the same arithmetic, unpacked)
            let p = self.lane_prepared(self.model, element % self.neurons);
            let (prev, ins): (States<T::Lane>, Inputs<T::Lane>) =
                (gather(state, element), gather(inputs, element));
            let noise = self.noise(T::SURROGATE_IN_FORWARD, step, element);
            let spike = Self::spike_fn(constants, noise);
            let at = StepIn::new(&p, &prev, &ins, &spike);
            let (next, spk) = self.model.step::<T::Lane, S>(&at);
            for (k, value) in next.iter().enumerate().take(M::STATES.len()) {
                state[k][element] = T::from_lane(*value);
            }
            spikes[element] = T::from_lane(spk);
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
        let constants = self.lane_constants();
        for element in 0..n {
            // computed in lanes (`T::Lane`: the same arithmetic, unpacked)
            let p = self.lane_prepared(self.model, element % self.neurons);
            let (prev_state, next_state): (States<T::Lane>, States<T::Lane>) =
                (gather(prev, element), gather(next, element));
            let (grad_next, ins): (States<T::Lane>, Inputs<T::Lane>) =
                (gather(grad_state, element), gather(inputs, element));
            let spike = Self::spike_fn(constants, self.noise(true, step, element));
            let at = StepIn::new(&p, &prev_state, &ins, &spike);
            let back = BackIn::new(&next_state, grad_spikes[element].to_lane(), &grad_next)
                .with_next_exact(T::STORES_EXACT_STEP_RESULTS);
            let g = self.model.step_backward::<T::Lane, S>(&at, &back);
            for (k, value) in g.prev.iter().enumerate().take(M::STATES.len()) {
                grad_state[k][element] = T::from_lane(*value);
            }
            for (k, out) in grad_inputs.iter_mut().enumerate() {
                if !out.is_empty() {
                    out[element] = T::from_lane(g.inputs[k]);
                }
            }
            if accumulate {
                for k in 0..M::PREPARED.len() {
                    let slot = &mut param_accumulator[k * n + element];
                    *slot = T::from_lane(slot.to_lane() + g.prepared[k]);
                }
            }
        }
        Ok(())
    }
}

/// Element `element` of every slice of `list` (one per state or input
/// stream), padded with zeros to the fixed size `N`.
/// Element `element` of each slice, as lanes (zeros past the list's end).
fn gather<T: Real, L: AsRef<[T]>, const N: usize>(list: &[L], element: usize) -> [T::Lane; N] {
    let mut values = zeros();
    for (value, slice) in values.iter_mut().zip(list) {
        *value = slice.as_ref()[element].to_lane();
    }
    values
}
