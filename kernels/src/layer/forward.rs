//! The fused forward pass over a sequence: chunks of `CHUNK` neurons of a
//! batch row carried through all time steps.

use super::{row, row_mut, stored_names, Layer};
use crate::error::Error;
use crate::model::{Inputs, Model, Prepared, Specialized, States, StepIn, MAX_INPUTS, MAX_STATES};
use crate::real::Real;
use crate::surrogate::Surrogate;

/// [`Layer::forward`]'s loops over its checked arguments, to compile per
/// configuration.
struct ForwardRun<'l, 'p, 'a, 'b, 'c, M, S, T, const CHUNK: usize>
where
    M: Model,
    S: Surrogate,
    T: Real<Mask = bool>,
{
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

    /// The pass for configuration `CONFIG` (the model is a constant in each
    /// specialised copy): full chunks of `CHUNK` neurons, then the rest of a
    /// row as the row's last `CHUNK` neurons (those it shares with the
    /// previous chunk are computed again, to the same values: neurons are
    /// independent), or one neuron at a time in rows narrower than a chunk.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn run<const CONFIG: usize>(mut self) {
        // a layer's chunk is at least 1 (see `Layer::with_chunk`)
        const { assert!(CHUNK > 0, "a Layer's CHUNK must be at least 1") };
        let layer = self.layer;
        let model = layer.configured::<CONFIG>();
        let full = layer.neurons / CHUNK * CHUNK;
        for b in 0..layer.batch {
            for m0 in (0..full).step_by(CHUNK) {
                self.chunk::<CHUNK>(model, b, m0);
            }
            if 0 < full && full < layer.neurons {
                self.chunk::<CHUNK>(model, b, layer.neurons - CHUNK);
            }
        }
        if full == 0 {
            self.tail(0);
        }
    }
}

impl<M: Model, S: Surrogate, T: Real<Mask = bool>, const CHUNK: usize>
    ForwardRun<'_, '_, '_, '_, '_, M, S, T, CHUNK>
{
    /// Rows narrower than a chunk, one neuron at a time, compiled once (not
    /// per configuration).
    #[inline(never)]
    fn tail(&mut self, full: usize) {
        let layer = self.layer;
        for b in 0..layer.batch {
            for m in full..layer.neurons {
                self.chunk::<1>(layer.model, b, m);
            }
        }
    }

    /// [`Layer::forward_chunk`] with this pass's arguments.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn chunk<const W: usize>(&mut self, model: M, b: usize, m0: usize) {
        let pass = (self.steps, self.inputs, self.initial);
        self.layer
            .forward_chunk::<W>(model, b, m0, pass, self.spikes, self.states);
    }
}

impl<M: Model, S: Surrogate, T: Real<Mask = bool>, const CHUNK: usize> Layer<'_, M, S, T, CHUNK> {
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
        self.check_forward(steps, inputs, initial, spikes, states)?;
        self.dispatch(ForwardRun {
            layer: self,
            steps,
            inputs,
            initial,
            spikes,
            states,
        });
        Ok(())
    }
}

impl<M: Model, S: Surrogate, T: Real<Mask = bool>, const CHUNK: usize> Layer<'_, M, S, T, CHUNK> {
    /// The forward pass of neurons `m0..m0 + W` of batch row `b`, for
    /// `pass = (steps, inputs, initial)`. (A method of the layer with the
    /// buffers as arguments, not of [`ForwardRun`]: arguments tell the
    /// optimiser that the buffers do not alias the layer.)
    #[allow(clippy::type_complexity)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn forward_chunk<const W: usize>(
        &self,
        model: M,
        b: usize,
        m0: usize,
        pass: (usize, &[&[T]], &[&[T]]),
        spikes: &mut [T],
        states: &mut [&mut [T]],
    ) {
        let (steps, inputs, initial) = pass;
        let n = self.elements();
        let row0 = b * self.neurons + m0;
        let prepared = self.prepare_chunk::<W>(model, m0);
        let constants = self.lane_constants();
        let zero = [T::zero(); W];
        for t in 0..steps {
            let at = t * n + row0;
            // padding (module docs): rows past the model's inputs repeat its last
            let ins: [&[T; W]; MAX_INPUTS] =
                core::array::from_fn(|k| row(inputs[k.min(M::INPUTS.len() - 1)], at));
            // The states before the step: the previous step's outputs (still
            // in cache) or the initial states. The outputs are written in place.
            let (spikes_done, spikes_rest) = spikes.split_at_mut(at);
            // padding (module docs): states the model does not store read
            // `zero` and write to `spare`
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
            // computed in lanes (`T::Lane`: the same arithmetic, unpacked)
            for i in 0..W {
                let p: Prepared<T::Lane> = core::array::from_fn(|k| prepared[k][i]);
                let before: States<T::Lane> = core::array::from_fn(|k| prev[k][i].to_lane());
                let x: Inputs<T::Lane> = core::array::from_fn(|k| ins[k][i].to_lane());
                let noise = self.noise(T::SURROGATE_IN_FORWARD, t, row0 + i);
                let spike = Self::spike_fn(constants, noise);
                let at = StepIn::new(&p, &before, &x, &spike);
                let (after, fired) = model.step::<T::Lane, S>(&at);
                for k in 0..stored_names::<M>().len() {
                    next[k][i] = T::from_lane(after[k]);
                }
                spk[i] = T::from_lane(fired);
            }
        }
    }
}
