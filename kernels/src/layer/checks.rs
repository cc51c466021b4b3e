//! The checks of [`Layer`]'s arguments: sizes, counts and the model's rules
//! on the parameters. Bad input returns an [`Error`] that says what to fix.

use super::{Layer, Param};
use crate::error::{check_len, Error};
use crate::model::Model;
use crate::real::Real;
use crate::surrogate::Surrogate;

impl<M: Model, S: Surrogate, T: Real<Mask = bool>, const CHUNK: usize> Layer<'_, M, S, T, CHUNK> {
    pub(super) fn check_params(&self) -> Result<(), Error> {
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
