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

use super::common::{fire, fire_backward, immediate_reset, immediate_reset_backward, reset_signal};
use crate::model::{
    no_gradient, no_gradients, reset_delay_from_index, reset_delay_index, variant_with_delay,
    zeros, Inputs, Model, Params, Prepared, Reset, States, StepGrads,
};
use crate::real::Real;
use crate::surrogate::{SpikeFn, Surrogate};

/// snnTorch's `Leaky` neuron.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Leaky {
    /// `reset_mechanism` (default subtract).
    pub reset: Reset,
    /// `reset_delay` (default true).
    pub reset_delay: bool,
}

impl Default for Leaky {
    fn default() -> Self {
        Leaky {
            reset: Reset::Subtract,
            reset_delay: true,
        }
    }
}

// state, input, parameter and prepared indices
const MEM: usize = 0;
const X: usize = 0;
const BETA: usize = 0;
const THRESHOLD: usize = 1;
const GRADED: usize = 2;
const B: usize = 0;

/// The intermediate values of one step.
struct Forward<T> {
    r: T,
    base: T,
    fired: super::common::Fired<T>,
    mem: T,
}

impl Leaky {
    /// The membrane before firing.
    #[inline(always)]
    fn integrate<T: Real>(&self, p: &Prepared<T>, mem_prev: T, r: T, x: T) -> T {
        let (b, threshold) = (p[B], p[THRESHOLD]);
        match self.reset {
            Reset::Subtract => b * mem_prev + x - r * threshold,
            Reset::Zero => b * ((T::one() - r) * mem_prev) + x,
            Reset::None => b * mem_prev + x,
        }
    }

    /// One step from the previous membrane and the input.
    #[inline(always)]
    fn forward<T: Real, S: Surrogate>(
        &self,
        p: &Prepared<T>,
        mem_prev: T,
        x: T,
        spike: &SpikeFn<T>,
    ) -> Forward<T> {
        let r = reset_signal(mem_prev, p[THRESHOLD]);
        let base = self.integrate(p, mem_prev, r, x);
        self.fire_and_reset::<T, S>(p, r, base, spike)
    }

    /// Firing and the immediate reset, from the membrane before firing.
    #[inline(always)]
    fn fire_and_reset<T: Real, S: Surrogate>(
        &self,
        p: &Prepared<T>,
        r: T,
        base: T,
        spike: &SpikeFn<T>,
    ) -> Forward<T> {
        let (threshold, g) = (p[THRESHOLD], p[GRADED]);
        let fired = fire::<T, S>(base, threshold, Some(g), spike);
        let mem = if self.reset_delay {
            base
        } else {
            immediate_reset(self.reset, base, fired.spk, Some(g), r, threshold)
        };
        Forward {
            r,
            base,
            fired,
            mem,
        }
    }
}

impl Model for Leaky {
    const NAME: &'static str = "leaky";
    const STATES: &'static [&'static str] = &["mem"];
    const INPUTS: &'static [&'static str] = &["x"];
    const PARAMS: &'static [&'static str] = &["beta", "threshold", "graded"];
    const PREPARED: &'static [&'static str] = &["b", "threshold", "graded"];

    const CONFIGURATIONS: usize = 6;

    #[inline(always)]
    fn config_index(&self) -> usize {
        reset_delay_index(self.reset, self.reset_delay)
    }

    #[inline(always)]
    fn from_config_index(index: usize) -> Self {
        let (reset, reset_delay) = reset_delay_from_index(index);
        Leaky { reset, reset_delay }
    }

    crate::specialize_configurations!(0 1 2 3 4 5);

    fn variant(&self) -> &'static str {
        variant_with_delay(self.reset, self.reset_delay)
    }

    #[inline(always)]
    fn backward_reads_inputs(&self) -> bool {
        !self.reset_delay
    }

    #[inline(always)]
    fn prepare<T: Real>(&self, raw: &Params<T>) -> Prepared<T> {
        let mut p = zeros();
        p[B] = raw[BETA].clamp(T::zero(), T::one());
        p[THRESHOLD] = raw[THRESHOLD];
        p[GRADED] = raw[GRADED];
        p
    }

    #[inline(always)]
    fn prepare_backward<T: Real>(&self, raw: &Params<T>, grad: &Prepared<T>) -> Params<T> {
        let mut g = no_gradients();
        g[BETA] = grad[B] * raw[BETA].clamp_grad(T::zero(), T::one());
        g[THRESHOLD] = grad[THRESHOLD];
        g[GRADED] = grad[GRADED];
        g
    }

    #[inline(always)]
    fn step<T: Real, S: Surrogate>(
        &self,
        p: &Prepared<T>,
        prev: &States<T>,
        inputs: &Inputs<T>,
        spike: &SpikeFn<T>,
    ) -> (States<T>, T) {
        let f = self.forward::<T, S>(p, prev[MEM], inputs[X], spike);
        let mut next = zeros();
        next[MEM] = f.mem;
        (next, f.fired.spk)
    }

    #[inline(always)]
    fn step_backward<T: Real, S: Surrogate>(
        &self,
        p: &Prepared<T>,
        prev: &States<T>,
        next: &States<T>,
        inputs: &Inputs<T>,
        spike: &SpikeFn<T>,
        grad_spike: T,
        grad_next: &States<T>,
    ) -> StepGrads<T> {
        let (b, threshold, g) = (p[B], p[THRESHOLD], p[GRADED]);
        let mem_prev = prev[MEM];
        let f = if self.reset_delay {
            // the saved membrane is the membrane before firing
            self.fire_and_reset::<T, S>(p, reset_signal(mem_prev, threshold), next[MEM], spike)
        } else {
            self.forward::<T, S>(p, mem_prev, inputs[X], spike)
        };

        let (mut grad_base, mut grad_spk, mut grad_threshold, mut grad_g) =
            (grad_next[MEM], grad_spike, no_gradient(), no_gradient());
        if !self.reset_delay {
            let d = immediate_reset_backward(
                self.reset,
                f.base,
                f.fired.spk,
                Some(g),
                f.r,
                threshold,
                grad_base,
            );
            grad_base = d.mem;
            grad_spk = grad_spk + d.spk;
            grad_threshold = d.threshold;
            grad_g = d.graded;
        }
        let fg = fire_backward::<T, S>(&f.fired, Some(g), spike, grad_spk);
        grad_base = grad_base + fg.mem;
        grad_threshold = grad_threshold + fg.threshold;
        grad_g = grad_g + fg.graded;

        let (grad_mem_prev, grad_b) = match self.reset {
            Reset::Subtract => {
                grad_threshold = grad_threshold - grad_base * f.r;
                (grad_base * b, grad_base * mem_prev)
            }
            Reset::Zero => {
                let kept = T::one() - f.r;
                ((grad_base * b) * kept, grad_base * (kept * mem_prev))
            }
            Reset::None => (grad_base * b, grad_base * mem_prev),
        };

        let mut grads = StepGrads::none();
        grads.prev[MEM] = grad_mem_prev;
        grads.inputs[X] = grad_base;
        grads.prepared[B] = grad_b;
        grads.prepared[THRESHOLD] = grad_threshold;
        grads.prepared[GRADED] = grad_g;
        grads
    }
}
