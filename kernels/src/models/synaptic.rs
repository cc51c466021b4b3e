//! Synaptic: the second-order LIF neuron, a synaptic current feeding the
//! membrane (snnTorch `Synaptic`).
//!
//! With `a = clamp(alpha, 0, 1)`, `b = clamp(beta, 0, 1)` and the detached
//! reset `r = H(mem[t-1] - thr)`:
//!
//! - `syn[t] = a·syn[t-1] + x[t]`, `base = b·mem[t-1] + syn[t]`
//! - subtract: `mem[t] = base - r·thr`; zero: `mem[t] = base - base·r`;
//!   none: `mem[t] = base` (`syn` is never reset)
//!
//! then `spk[t] = H(mem[t] - thr)` (snnTorch fixes the graded factor at 1
//! for this model), then, with `reset_delay = false`, the immediate reset
//! with `d = spk - r`. Learnable: `alpha`, `beta`, `threshold`.
//!
//! The backward pass never reads `x`: `syn[t]` is saved, and the membrane
//! before firing is recomputed from it.

use super::common::{
    fire, fire_backward, immediate_reset, immediate_reset_backward, reset_signal, Fired,
};
use crate::model::{
    no_gradient, no_gradients, reset_delay_from_index, reset_delay_index, variant_with_delay,
    zeros, Inputs, Model, Params, Prepared, Reset, States, StepGrads,
};
use crate::real::Real;
use crate::surrogate::{SpikeFn, Surrogate};

/// snnTorch's `Synaptic` neuron.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Synaptic {
    /// `reset_mechanism` (default subtract).
    pub reset: Reset,
    /// `reset_delay` (default true).
    pub reset_delay: bool,
}

impl Default for Synaptic {
    fn default() -> Self {
        Synaptic {
            reset: Reset::Subtract,
            reset_delay: true,
        }
    }
}

const SYN: usize = 0;
const MEM: usize = 1;
const X: usize = 0;
const ALPHA: usize = 0;
const BETA: usize = 1;
const THRESHOLD: usize = 2;
const A: usize = 0;
const B: usize = 1;

/// The membrane before firing: `b·mem[t-1] + syn[t]`, then the reset.
#[inline(always)]
pub(crate) fn integrate_membrane<T: Real>(
    reset: Reset,
    b: T,
    mem_prev: T,
    syn: T,
    r: T,
    threshold: T,
) -> T {
    let base = b * mem_prev + syn;
    match reset {
        Reset::Subtract => base - r * threshold,
        Reset::Zero => base - base * r,
        Reset::None => base,
    }
}

/// Firing and the immediate reset of `reset_delay = false`.
#[inline(always)]
pub(crate) fn fire_and_reset<T: Real, S: Surrogate>(
    reset: Reset,
    reset_delay: bool,
    before_firing: T,
    r: T,
    threshold: T,
    spike: &SpikeFn<T>,
) -> (Fired<T>, T) {
    let fired = fire::<T, S>(before_firing, threshold, None, spike);
    let mem = if reset_delay {
        before_firing
    } else {
        immediate_reset(reset, before_firing, fired.spk, None, r, threshold)
    };
    (fired, mem)
}

/// Gradients of the membrane path, from `dL/d mem[t]` and `dL/d spk[t]` back
/// to `dL/d base` (the membrane before the reset) and `dL/d thr`.
pub(crate) struct MembraneGrads<T> {
    pub base: T,
    pub threshold: T,
}

/// Backward of [`integrate_membrane`]'s reset, firing and the immediate reset.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(crate) fn membrane_backward<T: Real, S: Surrogate>(
    reset: Reset,
    reset_delay: bool,
    before_firing: T,
    fired: &Fired<T>,
    r: T,
    threshold: T,
    spike: &SpikeFn<T>,
    grad_spike: T,
    grad_mem: T,
) -> MembraneGrads<T> {
    let (mut grad_before, mut grad_spk, mut grad_threshold) = (grad_mem, grad_spike, no_gradient());
    if !reset_delay {
        let d = immediate_reset_backward(
            reset,
            before_firing,
            fired.spk,
            None,
            r,
            threshold,
            grad_mem,
        );
        grad_before = d.mem;
        grad_spk = grad_spk + d.spk;
        grad_threshold = d.threshold;
    }
    let fg = fire_backward::<T, S>(fired, None, spike, grad_spk);
    grad_before = grad_before + fg.mem;
    grad_threshold = grad_threshold + fg.threshold;
    let grad_base = match reset {
        Reset::Subtract => {
            grad_threshold = grad_threshold - grad_before * r;
            grad_before
        }
        Reset::Zero => grad_before - grad_before * r,
        Reset::None => grad_before,
    };
    MembraneGrads {
        base: grad_base,
        threshold: grad_threshold,
    }
}

impl Model for Synaptic {
    const NAME: &'static str = "synaptic";
    const STATES: &'static [&'static str] = &["syn", "mem"];
    const INPUTS: &'static [&'static str] = &["x"];
    const PARAMS: &'static [&'static str] = &["alpha", "beta", "threshold"];
    const PREPARED: &'static [&'static str] = &["a", "b", "threshold"];

    const CONFIGURATIONS: usize = 6;

    #[inline(always)]
    fn config_index(&self) -> usize {
        reset_delay_index(self.reset, self.reset_delay)
    }

    #[inline(always)]
    fn from_config_index(index: usize) -> Self {
        let (reset, reset_delay) = reset_delay_from_index(index);
        Synaptic { reset, reset_delay }
    }

    crate::specialize_configurations!(0 1 2 3 4 5);

    fn variant(&self) -> &'static str {
        variant_with_delay(self.reset, self.reset_delay)
    }

    #[inline(always)]
    fn backward_reads_inputs(&self) -> bool {
        false
    }

    #[inline(always)]
    fn prepare<T: Real>(&self, raw: &Params<T>) -> Prepared<T> {
        let mut p = zeros();
        p[A] = raw[ALPHA].clamp(T::zero(), T::one());
        p[B] = raw[BETA].clamp(T::zero(), T::one());
        p[THRESHOLD] = raw[THRESHOLD];
        p
    }

    #[inline(always)]
    fn prepare_backward<T: Real>(&self, raw: &Params<T>, grad: &Prepared<T>) -> Params<T> {
        let mut g = no_gradients();
        g[ALPHA] = grad[A] * raw[ALPHA].clamp_grad(T::zero(), T::one());
        g[BETA] = grad[B] * raw[BETA].clamp_grad(T::zero(), T::one());
        g[THRESHOLD] = grad[THRESHOLD];
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
        let threshold = p[THRESHOLD];
        let r = reset_signal(prev[MEM], threshold);
        let syn = p[A] * prev[SYN] + inputs[X];
        let before_firing = integrate_membrane(self.reset, p[B], prev[MEM], syn, r, threshold);
        let (fired, mem) = fire_and_reset::<T, S>(
            self.reset,
            self.reset_delay,
            before_firing,
            r,
            threshold,
            spike,
        );
        let mut next = zeros();
        next[SYN] = syn;
        next[MEM] = mem;
        (next, fired.spk)
    }

    #[inline(always)]
    fn step_backward<T: Real, S: Surrogate>(
        &self,
        p: &Prepared<T>,
        prev: &States<T>,
        next: &States<T>,
        _inputs: &Inputs<T>,
        spike: &SpikeFn<T>,
        grad_spike: T,
        grad_next: &States<T>,
    ) -> StepGrads<T> {
        let (a, b, threshold) = (p[A], p[B], p[THRESHOLD]);
        let (syn_prev, mem_prev, syn) = (prev[SYN], prev[MEM], next[SYN]);
        let r = reset_signal(mem_prev, threshold);
        let before_firing = if self.reset_delay {
            next[MEM]
        } else {
            integrate_membrane(self.reset, b, mem_prev, syn, r, threshold)
        };
        let fired = fire::<T, S>(before_firing, threshold, None, spike);
        let mg = membrane_backward::<T, S>(
            self.reset,
            self.reset_delay,
            before_firing,
            &fired,
            r,
            threshold,
            spike,
            grad_spike,
            grad_next[MEM],
        );
        // base = b·mem[t-1] + syn[t]; syn[t] = a·syn[t-1] + x[t]
        let grad_syn = mg.base + grad_next[SYN];
        let mut grads = StepGrads::none();
        grads.prev[MEM] = mg.base * b;
        grads.prev[SYN] = grad_syn * a;
        grads.inputs[X] = grad_syn;
        grads.prepared[A] = grad_syn * syn_prev;
        grads.prepared[B] = mg.base * mem_prev;
        grads.prepared[THRESHOLD] = mg.threshold;
        grads
    }
}
