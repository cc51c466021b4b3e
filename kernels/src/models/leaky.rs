//! Leaky: the first-order leaky integrate-and-fire neuron (snnTorch `Leaky`).
//!
//! With `b = clamp(beta, 0, 1)` and the detached reset `r = H(mem[t-1] - thr)`:
//!
//! - subtract: `mem[t] = b·mem[t-1] + x[t] - r·thr`
//! - zero:     `mem[t] = b·((1 - r)·mem[t-1]) + x[t]`
//! - none:     `mem[t] = b·mem[t-1] + x[t]`
//!
//! then `spk[t] = H(mem[t] - thr)·g`, then, with `reset_delay = false`, the
//! immediate reset with `d = spk/g - r`: subtract `mem - d·thr`, zero
//! `mem - d·mem`. Learnable: `beta`, `threshold`, `graded` (`g`).

use super::common::{charge_and_fire, charge_reset_backward, fire_and_reset_backward, refire};
use crate::model::{
    is_finite, model_names, reset_config_items, reset_config_model, zeros, BackIn, Model, Params,
    Prepared, Refused, Reset, ResetConfig, States, StepGrads, StepIn,
};
use crate::real::Real;
use crate::surrogate::Surrogate;

/// snnTorch's `Leaky` neuron: `Leaky::default()` (subtract, delayed reset),
/// `Leaky::new(reset, reset_delay)` or `Leaky(ResetConfig { .. })`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Leaky(pub ResetConfig);

reset_config_model!(Leaky);

model_names! {
    mod names {
        states: MEM = "mem";
        inputs: X = "x";
        params: BETA = "beta", THRESHOLD = "threshold", GRADED = "graded";
        prepared: B = "b", THRESHOLD = "threshold", GRADED = "graded";
    }
}
use names::{input::X, prepared::*, state::MEM};

impl Leaky {
    /// The charge equation: the membrane before firing.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn charge<T: Real>(&self, p: &Prepared<T>, mem_prev: T, r: T, x: T) -> T {
        let (b, threshold) = (p[B], p[THRESHOLD]);
        match self.0.reset {
            Reset::Subtract => b * mem_prev + x - r * threshold,
            Reset::Zero => b * ((T::one() - r) * mem_prev) + x,
            Reset::None => b * mem_prev + x,
        }
    }
}

impl Model for Leaky {
    const NAME: &'static str = "leaky";
    const STATES: &'static [&'static str] = names::STATES;
    const INPUTS: &'static [&'static str] = names::INPUTS;
    const PARAMS: &'static [&'static str] = names::PARAMS;
    const PREPARED: &'static [&'static str] = names::PREPARED;

    reset_config_items!(clamped: 1);

    /// With `reset_delay = false` and a subtract or zero reset, the
    /// immediate reset computes `spk / graded` and its gradient
    /// `(spk / graded) / graded`: `1 / graded` must be finite in the layer's
    /// precision (so `graded != 0`).
    fn check<T: Real<Mask = bool>>(&self, raw: &Params<T>) -> Result<(), Refused> {
        let divides = !self.0.reset_delay && self.0.reset != Reset::None;
        if divides && !is_finite(T::one() / raw[names::param::GRADED]) {
            return Err(Refused {
                parameter: names::PARAMS[names::param::GRADED],
                reason: "must not be 0 (nor so close to 0 that 1/graded overflows the layer's \
                         precision) with reset_delay = false and a subtract or zero reset: the \
                         immediate reset divides the spike by graded; give a nonzero graded, or \
                         use reset_delay = true or reset none",
            });
        }
        Ok(())
    }

    #[cfg_attr(not(debug_assertions), inline(always))]
    fn backward_reads_inputs(&self) -> bool {
        !self.0.reset_delay
    }

    #[cfg_attr(not(debug_assertions), inline(always))]
    fn step<T: Real, S: Surrogate>(&self, at: &StepIn<'_, T>) -> (States<T>, T) {
        let (p, prev, inputs, spike) = at.parts();
        let mem_prev = prev[MEM];
        let m = charge_and_fire::<T, S>(
            self.0,
            mem_prev,
            p[THRESHOLD],
            Some(p[GRADED]),
            spike,
            #[cfg_attr(not(debug_assertions), inline(always))]
            |r| self.charge(p, mem_prev, r, inputs[X]),
        );
        let mut next = zeros();
        next[MEM] = m.mem;
        (next, m.fired.spk)
    }

    #[cfg_attr(not(debug_assertions), inline(always))]
    fn step_backward<T: Real, S: Surrogate>(
        &self,
        at: &StepIn<'_, T>,
        back: &BackIn<'_, T>,
    ) -> StepGrads<T> {
        let (p, prev, inputs, spike) = at.parts();
        let (next, grad_spike, grad_next) = back.parts();
        let (b, threshold, g) = (p[B], p[THRESHOLD], Some(p[GRADED]));
        let mem_prev = prev[MEM];
        let m = refire::<T, S>(
            self.0,
            mem_prev,
            next[MEM],
            back.next_is_exact,
            threshold,
            g,
            spike,
            #[cfg_attr(not(debug_assertions), inline(always))]
            |r| self.charge(p, mem_prev, r, inputs[X]),
        );
        let mg = fire_and_reset_backward::<T, S>(
            self.0,
            &m,
            threshold,
            g,
            spike,
            grad_spike,
            grad_next[MEM],
        );
        // the charge: b·mem[t-1] + x, reset as `charge` says
        let (grad_base, grad_mem_prev, grad_b, grad_threshold) = match self.0.reset {
            Reset::Zero => {
                // b·((1 - r)·mem[t-1]) + x
                let grad_base = mg.before_firing;
                let kept = T::one() - m.r;
                (
                    grad_base,
                    (grad_base * b) * kept,
                    grad_base * (kept * mem_prev),
                    mg.threshold,
                )
            }
            reset => {
                let (grad_base, grad_threshold) = charge_reset_backward(reset, m.r, &mg);
                (
                    grad_base,
                    grad_base * b,
                    grad_base * mem_prev,
                    grad_threshold,
                )
            }
        };

        let mut grads = StepGrads::none();
        grads.prev[MEM] = grad_mem_prev;
        grads.inputs[X] = grad_base;
        grads.prepared[B] = grad_b;
        grads.prepared[THRESHOLD] = grad_threshold;
        grads.prepared[GRADED] = mg.graded;
        grads
    }
}
