//! The parameter gradients: the accumulator of the single-step API, its
//! reduction, and the per-neuron chain rule through [`Model::prepare`] that
//! the fused backward pass shares (the order of the sums is in the module
//! docs of [`crate::layer`]).

use super::Layer;
use crate::error::check_len;
use crate::error::Error;
use crate::model::{no_gradient, Model, Params, Prepared, MAX_PARAMS, MAX_PREPARED};
use crate::real::Real;
use crate::surrogate::Surrogate;

impl<M: Model, S: Surrogate, T: Real<Mask = bool>, const CHUNK: usize> Layer<'_, M, S, T, CHUNK> {
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
        // in lanes, as the fused backward pass sums (see `finish_neuron`)
        let mut scalar_sums: Params<T::Lane> = [no_gradient(); MAX_PARAMS];
        for m in 0..self.neurons {
            let mut per_neuron: Prepared<T::Lane> = [no_gradient(); MAX_PREPARED];
            for b in 0..self.batch {
                for (k, sum) in per_neuron.iter_mut().enumerate().take(M::PREPARED.len()) {
                    *sum = *sum + param_accumulator[k * n + b * self.neurons + m].to_lane();
                }
            }
            self.finish_neuron(self.model, m, &per_neuron, &mut scalar_sums, grad_params);
        }
        self.write_scalar_grads(&scalar_sums, grad_params);
        Ok(())
    }

    /// The chain rule through `prepare` for neuron `m`, then the per-neuron
    /// outputs, or the running scalar sums. Computed in lanes (binary32 for
    /// F16Storage, the type's own arithmetic otherwise) from the stored
    /// parameters and the lane sums `grad_prepared`; a per-neuron gradient
    /// is rounded to `T` once, when it is written.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(super) fn finish_neuron(
        &self,
        model: M,
        m: usize,
        grad_prepared: &Prepared<T::Lane>,
        scalar_sums: &mut Params<T::Lane>,
        out: &mut [&mut [T]],
    ) {
        if out.is_empty() {
            return;
        }
        let raw_grads = model.prepare_backward(&self.lane_params(m), grad_prepared);
        for k in 0..M::PARAMS.len() {
            if out[k].is_empty() {
                continue;
            }
            if self.params[k].is_per_neuron() {
                out[k][m] = T::from_lane(raw_grads[k]);
            } else {
                scalar_sums[k] = scalar_sums[k] + raw_grads[k];
            }
        }
    }

    /// Writes the scalar parameters' gradients: the lane sums over the
    /// neurons, rounded to `T` once.
    pub(super) fn write_scalar_grads(&self, scalar_sums: &Params<T::Lane>, out: &mut [&mut [T]]) {
        for (k, grads) in out.iter_mut().enumerate() {
            if !grads.is_empty() && !self.params[k].is_per_neuron() {
                grads[0] = T::from_lane(scalar_sums[k]);
            }
        }
    }
}
