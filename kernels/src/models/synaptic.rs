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
    charge_reset_backward, fire_and_reset, fire_and_reset_backward, refire, reset_signal,
};
use crate::model::{
    model_names, reset_config_items, reset_config_model, zeros, BackIn, Model, Params, Prepared,
    Reset, ResetConfig, States, StepGrads, StepIn,
};
use crate::real::Real;
use crate::surrogate::{SpikeFn, Surrogate};

/// snnTorch's `Synaptic` neuron: `Synaptic::default()` (subtract, delayed
/// reset), `Synaptic::new(reset, reset_delay)` or `Synaptic(ResetConfig { .. })`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Synaptic(pub ResetConfig);

reset_config_model!(Synaptic);

model_names! {
    mod names {
        states: SYN = "syn", MEM = "mem";
        inputs: X = "x";
        params: ALPHA = "alpha", BETA = "beta", THRESHOLD = "threshold";
        prepared: A = "a", B = "b", THRESHOLD = "threshold";
    }
}
use names::{input::X, prepared::*, state::*};

/// The charge equation of Synaptic and RSynaptic, the membrane before
/// firing: `b·mem[t-1] + syn[t]`, then the reset.
#[cfg_attr(not(debug_assertions), inline(always))]
fn charge<T: Real>(reset: Reset, b: T, mem_prev: T, syn: T, r: T, threshold: T) -> T {
    let base = b * mem_prev + syn;
    match reset {
        Reset::Subtract => base - r * threshold,
        Reset::Zero => base - base * r,
        Reset::None => base,
    }
}

/// The constants and previous states one step of Synaptic or RSynaptic
/// reads (the recurrent models name them at their own indices).
#[derive(Clone, Copy)]
pub(crate) struct SynapticStep<T> {
    pub a: T,
    pub b: T,
    pub threshold: T,
    pub syn_prev: T,
    pub mem_prev: T,
}

impl<T: Real> SynapticStep<T> {
    /// The step of a neuron with these constants and previous states.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn new(a: T, b: T, threshold: T, syn_prev: T, mem_prev: T) -> Self {
        SynapticStep {
            a,
            b,
            threshold,
            syn_prev,
            mem_prev,
        }
    }

    /// One step: `syn[t] = current(a·syn[t-1])` (the model adds its input
    /// currents), the charge, firing and the immediate reset. Returns
    /// `(syn[t], mem[t], spk[t])`.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn forward<S: Surrogate>(
        &self,
        config: ResetConfig,
        spike: &SpikeFn<T>,
        current: impl FnOnce(T) -> T,
    ) -> (T, T, T) {
        let r = reset_signal(self.mem_prev, self.threshold);
        let syn = current(self.a * self.syn_prev);
        let before_firing = charge(config.reset, self.b, self.mem_prev, syn, r, self.threshold);
        let m = fire_and_reset::<T, S>(config, r, before_firing, self.threshold, None, spike);
        (syn, m.mem, m.fired.spk)
    }

    /// The gradients of one step from the saved `syn[t]` and `mem[t]`,
    /// `dL/d spk[t]` and `dL/d state[t]` (the inputs are not read).
    #[allow(clippy::too_many_arguments)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn backward<S: Surrogate>(
        &self,
        config: ResetConfig,
        syn: T,
        mem_next: T,
        spike: &SpikeFn<T>,
        grad_spike: T,
        grad_syn_next: T,
        grad_mem_next: T,
    ) -> SynapticGrads<T> {
        let (b, threshold, mem_prev) = (self.b, self.threshold, self.mem_prev);
        let m = refire::<T, S>(
            config,
            mem_prev,
            mem_next,
            threshold,
            None,
            spike,
            #[cfg_attr(not(debug_assertions), inline(always))]
            |r| charge(config.reset, b, mem_prev, syn, r, threshold),
        );
        let mg = fire_and_reset_backward::<T, S>(
            config,
            &m,
            threshold,
            None,
            spike,
            grad_spike,
            grad_mem_next,
        );
        let (grad_base, grad_threshold) = charge_reset_backward(config.reset, m.r, &mg);
        // base = b·mem[t-1] + syn[t]; syn[t] = a·syn[t-1] + currents: the
        // products with `a`, `syn[t-1]` and `mem[t-1]` are left to the model
        let grad_syn = grad_base + grad_syn_next;
        SynapticGrads {
            mem_prev: grad_base * b,
            base: grad_base,
            syn: grad_syn,
            threshold: grad_threshold,
        }
    }
}

/// The gradients of one step of Synaptic or RSynaptic.
pub(crate) struct SynapticGrads<T> {
    /// `dL/d mem[t-1]`.
    pub mem_prev: T,
    /// `dL/d base`: `dL/d b = base · mem[t-1]`.
    pub base: T,
    /// `dL/d syn[t]`, which is also `dL/d` every input current:
    /// `dL/d syn[t-1] = syn · a`, `dL/d a = syn · syn[t-1]`.
    pub syn: T,
    /// `dL/d thr`.
    pub threshold: T,
}

impl Model for Synaptic {
    const NAME: &'static str = "synaptic";
    const STATES: &'static [&'static str] = names::STATES;
    const INPUTS: &'static [&'static str] = names::INPUTS;
    const PARAMS: &'static [&'static str] = names::PARAMS;
    const PREPARED: &'static [&'static str] = names::PREPARED;

    reset_config_items!(clamped: 2);

    #[cfg_attr(not(debug_assertions), inline(always))]
    fn backward_reads_inputs(&self) -> bool {
        false
    }

    #[cfg_attr(not(debug_assertions), inline(always))]
    fn step<T: Real, S: Surrogate>(&self, at: &StepIn<'_, T>) -> (States<T>, T) {
        let (p, prev, inputs, spike) = at.parts();
        let (syn, mem, spk) = self.core(p, prev).forward::<S>(
            self.0,
            spike,
            #[cfg_attr(not(debug_assertions), inline(always))]
            |leak| leak + inputs[X],
        );
        let mut next = zeros();
        next[SYN] = syn;
        next[MEM] = mem;
        (next, spk)
    }

    #[cfg_attr(not(debug_assertions), inline(always))]
    fn step_backward<T: Real, S: Surrogate>(
        &self,
        at: &StepIn<'_, T>,
        back: &BackIn<'_, T>,
    ) -> StepGrads<T> {
        let (p, prev, _, spike) = at.parts();
        let (next, grad_spike, grad_next) = back.parts();
        let g = self.core(p, prev).backward::<S>(
            self.0,
            next[SYN],
            next[MEM],
            spike,
            grad_spike,
            grad_next[SYN],
            grad_next[MEM],
        );
        let mut grads = StepGrads::none();
        grads.prev[MEM] = g.mem_prev;
        grads.prev[SYN] = g.syn * p[A];
        grads.inputs[X] = g.syn;
        grads.prepared[A] = g.syn * prev[SYN];
        grads.prepared[B] = g.base * prev[MEM];
        grads.prepared[THRESHOLD] = g.threshold;
        grads
    }
}

impl Synaptic {
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn core<T: Real>(&self, p: &Prepared<T>, prev: &States<T>) -> SynapticStep<T> {
        SynapticStep::new(p[A], p[B], p[THRESHOLD], prev[SYN], prev[MEM])
    }
}
