//! The checks of [`Layer`]'s arguments: sizes, counts and the model's rules
//! on the parameters. Bad input returns an [`Error`] that says what to fix.

use super::{stored_names, InputGrads, Layer, OutputGrads, Param, Saved};
use crate::error::{check_len, Error};
use crate::model::{is_finite, Model};
use crate::real::Real;
use crate::surrogate::Surrogate;

impl<M: Model, S: Surrogate, T: Real<Mask = bool>, const CHUNK: usize> Layer<'_, M, S, T, CHUNK> {
    /// Checks the arguments of [`Layer::forward`] without running it (for a
    /// host that runs the pass elsewhere, such as on IPU vertices); gives the
    /// sequence length `steps · batch · neurons`.
    pub fn check_forward<O: AsRef<[T]>>(
        &self,
        steps: usize,
        inputs: &[&[T]],
        initial: &[&[T]],
        spikes: &[T],
        states: &[O],
    ) -> Result<usize, Error> {
        let len = self.sequence_len(steps)?;
        check_list("input streams", inputs, M::INPUTS, len, false)?;
        check_list("initial states", initial, M::STATES, self.elements(), false)?;
        check_len("spikes", spikes.len(), len)?;
        check_list(
            "state trajectories",
            states,
            stored_names::<M>(),
            len,
            false,
        )?;
        Ok(len)
    }

    /// Checks the arguments of [`Layer::backward`] without running it; gives
    /// the sequence length.
    pub fn check_backward(
        &self,
        steps: usize,
        saved: &Saved<'_, T>,
        grads: &OutputGrads<'_, T>,
        out: &InputGrads<'_, '_, T>,
    ) -> Result<usize, Error> {
        let len = self.sequence_len(steps)?;
        let n = self.elements();
        let stored = stored_names::<M>();
        check_list("input streams", saved.inputs, M::INPUTS, len, false)?;
        check_list("initial states", saved.initial, M::STATES, n, false)?;
        check_len("spikes", saved.spikes.len(), len)?;
        check_list("state trajectories", saved.states, stored, len, false)?;
        check_len("spike gradients", grads.spikes.len(), len)?;
        if !grads.states.is_empty() {
            check_list("state gradients", grads.states, stored, len, true)?;
        }
        check_list("input gradients", out.inputs, M::INPUTS, len, true)?;
        check_list("initial-state gradients", out.initial, M::STATES, n, true)?;
        self.check_param_grads(out.params)?;
        Ok(len)
    }

    /// The parameter rules (`docs/semantics.md`, "Parameter rules"), per
    /// neuron, in the layer's precision: every parameter the model uses is
    /// finite, then the model's own rules ([`Model::check`]).
    pub(super) fn check_params(&self) -> Result<(), Error> {
        let per_neuron = self.params.iter().any(Param::is_per_neuron);
        let count = if per_neuron { self.neurons } else { 1 };
        for m in 0..count {
            let raw = self.raw_params(m);
            for (k, &parameter) in M::PARAMS.iter().enumerate() {
                if self.model.uses_param(k) && !is_finite(raw[k]) {
                    return Err(Error::InvalidParameter {
                        model: M::NAME,
                        parameter,
                        reason: not_finite(raw[k]),
                        neuron: self.params[k].is_per_neuron().then_some(m),
                    });
                }
            }
            if let Err(refused) = self.model.check(&raw) {
                return Err(Error::InvalidParameter {
                    model: M::NAME,
                    parameter: refused.parameter,
                    reason: refused.reason,
                    neuron: per_neuron.then_some(m),
                });
            }
        }
        Ok(())
    }

    pub(super) fn check_param_grads(&self, grad_params: &[&mut [T]]) -> Result<(), Error> {
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
}

/// Checks a list of slices (`&[T]` or `&mut [T]`): its count against
/// `names`, and each slice's length (an empty slice is accepted where
/// `optional`).
pub(super) fn check_list<S: AsRef<[T]>, T>(
    what: &'static str,
    list: &[S],
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
        let slice = slice.as_ref();
        if !(optional && slice.is_empty()) {
            check_len(what, slice.len(), len)?;
        }
    }
    Ok(())
}

/// The reason a value that is not finite is refused.
fn not_finite<T: Real<Mask = bool>>(value: T) -> &'static str {
    if !value.eq(value) {
        "must be a finite number, got NaN"
    } else if value.gt(T::zero()) {
        "must be a finite number, got +infinity"
    } else {
        "must be a finite number, got -infinity"
    }
}
