//! Synaptic: the second-order LIF neuron, a synaptic current feeding the
//! membrane (snnTorch `Synaptic`).
//!
//! With `a = clamp(alpha, 0, 1)`, `b = clamp(beta, 0, 1)` and the detached
//! reset `r = H(mem[t-1] - thr)`:
//!
//! - `syn[t] = a·syn[t-1] + x[t]`, `base = b·mem[t-1] + syn[t]`
//! - subtract: `mem[t] = base - r·thr`; zero: `mem[t] = base - base2·r`;
//!   none: `mem[t] = base` (`syn` is never reset)
//!
//! then `spk[t] = H(mem[t] - thr)` (snnTorch fixes the graded factor at 1
//! for this model), then, with `reset_delay = false`, the immediate reset
//! with `d = spk - r`. Learnable: `alpha`, `beta`, `threshold`.
//!
//! The zero reset follows snnTorch's graph: `base2` is a second evaluation
//! of the state update (`a·syn[t-1] + x[t]`, then `b·mem[t-1] + ` it), equal
//! to `base` in value but a separate branch for the gradient: with `g` the
//! gradient of the membrane before firing, `base` receives `g` and `base2`
//! `(-g)·r`, and `syn[t-1]`, `mem[t-1]`, `x` and the constants get the
//! second branch's contribution first, then the first's
//! (`docs/semantics.md`, "Models").
//!
//! The backward pass does not read `x` when the saved states are the
//! step's exact results: `syn[t]` is saved, and the membrane before firing
//! is recomputed from it. Otherwise (`F16Storage`) it recomputes `syn[t]`
//! from `syn[t-1]` and `x` too.

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
/// firing from `syn[t]`: `b·mem[t-1] + syn[t]`, then the reset. The values
/// of the step, recomputed by the backward pass (the zero reset's second
/// evaluation has the first's values).
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

    /// The state update: `syn = current(a·syn[t-1])` (the model adds its
    /// input currents), `base = b·mem[t-1] + syn`. Returns `(syn, base)`.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn update(&self, current: &impl Fn(T) -> T) -> (T, T) {
        let syn = current(self.a * self.syn_prev);
        (syn, self.b * self.mem_prev + syn)
    }

    /// One step: `r`, the state update, the reset, firing and the immediate
    /// reset. Returns `(syn[t], mem[t], spk[t])`.
    ///
    /// The zero reset evaluates the state update a second time, as snnTorch
    /// does (`base - base2·r`, `base2` a second evaluation with the same
    /// value): its operations are those of snnTorch's graph, whose second
    /// branch [`SynapticStep::backward`] differentiates.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn forward<S: Surrogate>(
        &self,
        config: ResetConfig,
        spike: &SpikeFn<T>,
        current: impl Fn(T) -> T,
    ) -> (T, T, T) {
        let r = reset_signal(self.mem_prev, self.threshold);
        let (syn, base) = self.update(&current);
        let before_firing = match config.reset {
            Reset::Subtract => base - r * self.threshold,
            Reset::Zero => {
                let (_, base2) = self.update(&current);
                base - base2 * r
            }
            Reset::None => base,
        };
        let m = fire_and_reset::<T, S>(config, r, before_firing, self.threshold, None, spike);
        (syn, m.mem, m.fired.spk)
    }

    /// The gradients of one step from the saved `syn[t]` and `mem[t]`,
    /// `dL/d spk[t]` and `dL/d state[t]`. When the saved states are the
    /// step's exact results (`next_is_exact`) the inputs are not read;
    /// otherwise `syn[t]` and the membrane before firing are recomputed
    /// from the previous states and `current` (the inputs), as the forward
    /// pass computed them.
    #[allow(clippy::too_many_arguments)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn backward<S: Surrogate>(
        &self,
        config: ResetConfig,
        (syn_next, mem_next, next_is_exact): (T, T, bool),
        current: impl Fn(T) -> T,
        spike: &SpikeFn<T>,
        grad_spike: T,
        grad_syn_next: T,
        grad_mem_next: T,
    ) -> SynapticGrads<T> {
        let (b, threshold, mem_prev) = (self.b, self.threshold, self.mem_prev);
        let syn = if next_is_exact {
            syn_next
        } else {
            self.update(&current).0
        };
        let m = refire::<T, S>(
            config,
            mem_prev,
            mem_next,
            next_is_exact,
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
        let (base, second, threshold) = match config.reset {
            // before = base - P, P = base2·r: `base` gets dL/d before,
            // `base2` gets (-dL/d before)·r
            Reset::Zero => {
                let grad_before = mg.before_firing;
                (grad_before, Some(-grad_before * m.r), mg.threshold)
            }
            _ => {
                let (grad_base, grad_threshold) = charge_reset_backward(config.reset, m.r, &mg);
                (grad_base, None, grad_threshold)
            }
        };
        // syn[t] is a state (its gradient from the loss and the next step
        // came first), then `base = b·mem[t-1] + syn[t]` uses it
        let syn = grad_syn_next + base;
        SynapticGrads {
            base,
            syn,
            second,
            threshold,
        }
    }
}

/// The gradients of one step of Synaptic or RSynaptic: the values of the
/// state update's evaluations. The products with `a`, `b`, `syn[t-1]`,
/// `mem[t-1]` (and `V`, `spk[t-1]`) and the input currents' gradients come
/// from them through the methods, each summed over the evaluations in the
/// reverse order of the forward pass: the zero reset's second evaluation
/// first, then the first.
pub(crate) struct SynapticGrads<T> {
    /// `dL/d base`, the first evaluation's membrane.
    base: T,
    /// `dL/d syn[t]`, the first evaluation's current.
    syn: T,
    /// With the zero reset, `dL/d base2`, the second evaluation's membrane,
    /// which is also `dL/d` its current.
    second: Option<T>,
    /// `dL/d thr`.
    pub threshold: T,
}

impl<T: Real> SynapticGrads<T> {
    /// `dL/d` an input current (`x`, `rec`), which every evaluation of the
    /// current adds.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn current(&self) -> T {
        match self.second {
            Some(second) => second + self.syn,
            None => self.syn,
        }
    }

    /// `dL/d u` for a factor `u` of a product `u·w` in the current
    /// (`a·syn[t-1]`, `spk[t-1]·V`): `dL/d syn_k · w` summed over the
    /// evaluations.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn current_times(&self, w: T) -> T {
        match self.second {
            Some(second) => second * w + self.syn * w,
            None => self.syn * w,
        }
    }

    /// `dL/d u` for a factor `u` of `b·mem[t-1]`: `dL/d base_k · w` summed
    /// over the evaluations.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub(crate) fn membrane_times(&self, w: T) -> T {
        match self.second {
            Some(second) => second * w + self.base * w,
            None => self.base * w,
        }
    }
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
        let (p, prev, inputs, spike) = at.parts();
        let (next, grad_spike, grad_next) = back.parts();
        let g = self.core(p, prev).backward::<S>(
            self.0,
            (next[SYN], next[MEM], back.next_is_exact),
            #[cfg_attr(not(debug_assertions), inline(always))]
            |leak| leak + inputs[X],
            spike,
            grad_spike,
            grad_next[SYN],
            grad_next[MEM],
        );
        let mut grads = StepGrads::none();
        grads.prev[MEM] = g.membrane_times(p[B]);
        grads.prev[SYN] = g.current_times(p[A]);
        grads.inputs[X] = g.current();
        grads.prepared[A] = g.current_times(prev[SYN]);
        grads.prepared[B] = g.membrane_times(prev[MEM]);
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
