//! Alpha: excitatory and inhibitory synaptic currents whose difference
//! drives the membrane (snnTorch `Alpha`).
//!
//! With `a = clamp(alpha, 0, 1)`, `b = clamp(beta, 0, 1)` (requires
//! `a > b`, hence `b != 1`), `tau = ln(a) / (ln(b) - ln(a)) + 1` and the
//! detached reset `r = H(mem[t-1] - thr)`:
//!
//! - base: `exc = a·exc[t-1] + x[t]`, `inh = b·inh[t-1] - x[t]`,
//!   `mem = tau·(exc + inh)`
//! - subtract: `exc -= thr·r`, `inh -= inh·r`, `mem -= (-inh[t-1])·r`
//! - zero (the default): each of the three minus itself times `r`
//! - none: base only
//!
//! then `spk[t] = H(mem[t] - thr)`. No `reset_delay` option. Learnable:
//! `alpha`, `beta` (also through `tau`), `threshold`. `mem[t-1]` only
//! enters through the detached reset, so its gradient is zero.

use super::common::{fire, fire_backward, reset_signal, Fired};
use crate::model::{
    is_finite, model_names, no_gradient, no_gradients, zeros, BackIn, Model, Params, Prepared,
    Refused, Reset, States, StepGrads, StepIn,
};
use crate::real::Real;
use crate::surrogate::{SpikeFn, Surrogate};

/// snnTorch's `Alpha` neuron.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Alpha {
    /// `reset_mechanism` (default zero, as in snnTorch).
    pub reset: Reset,
}

impl Default for Alpha {
    fn default() -> Self {
        Alpha { reset: Reset::Zero }
    }
}

model_names! {
    mod names {
        states: EXC = "syn_exc", INH = "syn_inh", MEM = "mem";
        inputs: X = "x";
        params: ALPHA = "alpha", BETA = "beta", THRESHOLD = "threshold";
        prepared: A = "a", B = "b", THRESHOLD = "threshold", TAU = "tau";
    }
}
use names::{input::X, param, prepared::*, state::*};

/// The intermediate values of one step.
struct Forward<T> {
    r: T,
    exc_base: T,
    inh_base: T,
    exc: T,
    inh: T,
    mem: T,
    fired: Fired<T>,
}

impl Alpha {
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn forward<T: Real, S: Surrogate>(
        &self,
        p: &Prepared<T>,
        prev: &States<T>,
        x: T,
        spike: &SpikeFn<T>,
    ) -> Forward<T> {
        let (a, b, threshold, tau) = (p[A], p[B], p[THRESHOLD], p[TAU]);
        let r = reset_signal(prev[MEM], threshold);
        let exc_base = a * prev[EXC] + x;
        let inh_base = b * prev[INH] - x;
        let mem_base = tau * (exc_base + inh_base);
        let (exc, inh, mem) = match self.reset {
            Reset::Subtract => (
                exc_base - threshold * r,
                inh_base - inh_base * r,
                mem_base - (-prev[INH]) * r,
            ),
            Reset::Zero => (
                exc_base - exc_base * r,
                inh_base - inh_base * r,
                mem_base - mem_base * r,
            ),
            Reset::None => (exc_base, inh_base, mem_base),
        };
        let fired = fire::<T, S>(mem, threshold, None, spike);
        Forward {
            r,
            exc_base,
            inh_base,
            exc,
            inh,
            mem,
            fired,
        }
    }
}

impl Model for Alpha {
    const NAME: &'static str = "alpha";
    const STATES: &'static [&'static str] = names::STATES;
    const INPUTS: &'static [&'static str] = names::INPUTS;
    const PARAMS: &'static [&'static str] = names::PARAMS;
    const PREPARED: &'static [&'static str] = names::PREPARED;

    const CONFIGURATIONS: usize = 3;

    #[cfg_attr(not(debug_assertions), inline(always))]
    fn config_index(&self) -> usize {
        self.reset as usize
    }

    #[cfg_attr(not(debug_assertions), inline(always))]
    fn from_config_index(index: usize) -> Self {
        Alpha {
            reset: Reset::ALL[index % 3],
        }
    }

    crate::specialize_configurations!(0 1 2);

    fn variant(&self) -> &'static str {
        self.reset.name()
    }

    /// With `a = clamp(alpha, 0, 1)`, `b = clamp(beta, 0, 1)`: `1/b` finite
    /// (`b > 0`: the gradient of `beta` divides by `b`), `a > b`, and the
    /// values `prepare` and `prepare_backward` divide by or produce finite
    /// and nonzero where they divide: `ln b - ln a`, `tau` and
    /// `(ln a / (ln b - ln a)) / (ln b - ln a)`, all in the layer's
    /// precision.
    fn check<T: Real<Mask = bool>>(&self, raw: &Params<T>) -> Result<(), Refused> {
        let a = raw[param::ALPHA].clamp(T::zero(), T::one());
        let b = raw[param::BETA].clamp(T::zero(), T::one());
        if !is_finite(T::one() / b) {
            return Err(Refused {
                parameter: names::PARAMS[param::BETA],
                reason: "must be greater than 0 (clamped to [0, 1]; tau takes ln(beta) and the \
                         gradient of beta divides by it), and not so small that 1/beta overflows \
                         the layer's precision; give a positive beta",
            });
        }
        if !a.gt(b) {
            return Err(Refused {
                parameter: names::PARAMS[param::ALPHA],
                reason: "must be greater than beta (both clamped to [0, 1]), so beta cannot be 1; \
                         raise alpha or lower beta",
            });
        }
        let ln_a = a.ln();
        let difference = b.ln() - ln_a;
        let quotient = ln_a / difference;
        let finite = is_finite(T::one() / difference)
            && is_finite(quotient + T::one())
            && is_finite(quotient / difference);
        if !finite {
            return Err(Refused {
                parameter: names::PARAMS[param::ALPHA],
                reason: "must be far enough above beta that ln(alpha) and ln(beta) differ in the \
                         layer's precision (tau = ln(alpha) / (ln(beta) - ln(alpha)) + 1 divides \
                         by their difference); move alpha and beta apart",
            });
        }
        Ok(())
    }

    #[cfg_attr(not(debug_assertions), inline(always))]
    fn prepare<T: Real>(&self, raw: &Params<T>) -> Prepared<T> {
        let a = raw[param::ALPHA].clamp(T::zero(), T::one());
        let b = raw[param::BETA].clamp(T::zero(), T::one());
        let ln_a = a.ln();
        let mut p = zeros();
        p[A] = a;
        p[B] = b;
        p[THRESHOLD] = raw[param::THRESHOLD];
        p[TAU] = ln_a / (b.ln() - ln_a) + T::one();
        p
    }

    #[cfg_attr(not(debug_assertions), inline(always))]
    fn prepare_backward<T: Real>(&self, raw: &Params<T>, grad: &Prepared<T>) -> Params<T> {
        let a = raw[param::ALPHA].clamp(T::zero(), T::one());
        let b = raw[param::BETA].clamp(T::zero(), T::one());
        let ln_a = a.ln();
        let difference = b.ln() - ln_a;
        let quotient = ln_a / difference;
        // reverse order of tau = quotient + 1, quotient = ln_a / difference,
        // difference = ln_b - ln_a
        let grad_quotient = grad[TAU];
        let grad_difference = -grad_quotient * (quotient / difference);
        let grad_ln_a = grad_quotient / difference - grad_difference;
        let grad_ln_b = grad_difference;
        let mut g = no_gradients();
        g[param::ALPHA] =
            (grad[A] + grad_ln_a / a) * raw[param::ALPHA].clamp_grad(T::zero(), T::one());
        g[param::BETA] =
            (grad[B] + grad_ln_b / b) * raw[param::BETA].clamp_grad(T::zero(), T::one());
        g[param::THRESHOLD] = grad[THRESHOLD];
        g
    }

    #[cfg_attr(not(debug_assertions), inline(always))]
    fn step<T: Real, S: Surrogate>(&self, at: &StepIn<'_, T>) -> (States<T>, T) {
        let (p, prev, inputs, spike) = at.parts();
        let f = self.forward::<T, S>(p, prev, inputs[X], spike);
        let mut next = zeros();
        next[EXC] = f.exc;
        next[INH] = f.inh;
        next[MEM] = f.mem;
        (next, f.fired.spk)
    }

    #[cfg_attr(not(debug_assertions), inline(always))]
    fn step_backward<T: Real, S: Surrogate>(
        &self,
        at: &StepIn<'_, T>,
        back: &BackIn<'_, T>,
    ) -> StepGrads<T> {
        let (p, prev, inputs, spike) = at.parts();
        let (_, grad_spike, grad_next) = back.parts();
        let (a, b, tau) = (p[A], p[B], p[TAU]);
        let f = self.forward::<T, S>(p, prev, inputs[X], spike);
        let r = f.r;
        let fg = fire_backward::<T, S>(&f.fired, None, spike, grad_spike);
        let grad_mem = grad_next[MEM] + fg.mem;
        let mut grad_threshold = fg.threshold;
        let (grad_exc, grad_inh) = (grad_next[EXC], grad_next[INH]);
        let zero = no_gradient();
        let (mut grad_exc_base, mut grad_inh_base, grad_mem_base, grad_inh_prev_direct) =
            match self.reset {
                Reset::Subtract => {
                    grad_threshold = grad_threshold - grad_exc * r;
                    (grad_exc, grad_inh - grad_inh * r, grad_mem, grad_mem * r)
                }
                Reset::Zero => (
                    grad_exc - grad_exc * r,
                    grad_inh - grad_inh * r,
                    grad_mem - grad_mem * r,
                    zero,
                ),
                Reset::None => (grad_exc, grad_inh, grad_mem, zero),
            };
        // mem_base = tau · (exc_base + inh_base)
        let grad_sum = grad_mem_base * tau;
        let grad_tau = grad_mem_base * (f.exc_base + f.inh_base);
        grad_exc_base = grad_exc_base + grad_sum;
        grad_inh_base = grad_inh_base + grad_sum;
        // exc_base = a·exc[t-1] + x; inh_base = b·inh[t-1] - x
        let mut grads = StepGrads::none();
        grads.prev[EXC] = grad_exc_base * a;
        grads.prev[INH] = grad_inh_base * b + grad_inh_prev_direct;
        grads.prev[MEM] = zero;
        grads.inputs[X] = grad_exc_base - grad_inh_base;
        grads.prepared[A] = grad_exc_base * prev[EXC];
        grads.prepared[B] = grad_inh_base * prev[INH];
        grads.prepared[THRESHOLD] = grad_threshold;
        grads.prepared[TAU] = grad_tau;
        grads
    }
}
