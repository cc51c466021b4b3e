//! RLeaky: the recurrent first-order LIF neuron (snnTorch `RLeaky`).
//!
//! With `b = clamp(beta, 0, 1)`, the detached reset `r = H(mem[t-1] - thr)`
//! and the recurrent current `rec[t]`:
//!
//! - base: `mem = b·mem[t-1] + x[t] + rec[t]`
//! - subtract: `base - r·thr`; zero: `base - r·base` (unlike Leaky's zero
//!   form); none: `base`
//!
//! then `spk[t] = H(mem[t] - thr)` (graded factor fixed at 1, as in
//! snnTorch), then, with `reset_delay = false`, the immediate reset with
//! `d = spk - r`.
//!
//! Two recurrences:
//! - [`RLeaky`], one-to-one: `rec[t] = spk[t-1]·V`, `V` scalar or per neuron,
//!   learnable; the gradient flows through `spk[t-1]` (not detached), and
//!   `spk` is a state whose initial value is `spk[-1]`.
//! - [`RLeakyAllToAll`]: `rec[t] = W spk[t-1] + bias` is a dense layer
//!   outside this elementwise kernel; `rec` is a second input stream and the
//!   kernel returns its gradient. The dense layer runs between steps, so
//!   drive it with the single-step API.

use super::common::{
    charge_and_fire, charge_reset_backward, fire_and_reset_backward, refire, Membrane,
};
use crate::model::{
    model_names, reset_config_items, reset_config_model, zeros, BackIn, Model, Params, Prepared,
    Reset, ResetConfig, States, StepGrads, StepIn,
};
use crate::real::Real;
use crate::surrogate::{SpikeFn, Surrogate};

/// snnTorch's `RLeaky` with one-to-one recurrence (`all_to_all=False`):
/// `RLeaky::default()` (subtract, delayed reset), `RLeaky::new(reset,
/// reset_delay)` or `RLeaky(ResetConfig { .. })`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RLeaky(pub ResetConfig);

/// snnTorch's `RLeaky` with all-to-all recurrence: the recurrent current is
/// an input stream. Constructed as [`RLeaky`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RLeakyAllToAll(pub ResetConfig);

reset_config_model!(RLeaky, RLeakyAllToAll);

model_names! {
    mod one_to_one {
        states: MEM = "mem", SPK = "spk";
        inputs: X = "x";
        params: BETA = "beta", V = "v", THRESHOLD = "threshold";
        prepared: B = "b", V = "v", THRESHOLD = "threshold";
    }
}

model_names! {
    mod all_to_all {
        states: MEM = "mem";
        inputs: X = "x", REC = "rec";
        params: BETA = "beta", THRESHOLD = "threshold";
        prepared: B = "b", THRESHOLD = "threshold";
    }
}

/// The step both recurrences share, with the recurrent current computed.
#[derive(Clone, Copy)]
struct Core<T> {
    config: ResetConfig,
    b: T,
    threshold: T,
    mem_prev: T,
}

/// The gradients of [`Core`]'s step.
struct CoreGrads<T> {
    mem_prev: T,
    /// `dL/d base`, which is also `dL/dx` and `dL/d rec`.
    base: T,
    b: T,
    threshold: T,
}

impl<T: Real> Core<T> {
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn new(config: ResetConfig, b: T, threshold: T, mem_prev: T) -> Self {
        Core {
            config,
            b,
            threshold,
            mem_prev,
        }
    }

    /// The charge equation: `base = b·mem[t-1] + x[t] + rec[t]`, then the reset.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn charge(&self, x: T, rec: T, r: T) -> T {
        let base = self.b * self.mem_prev + x + rec;
        match self.config.reset {
            Reset::Subtract => base - r * self.threshold,
            Reset::Zero => base - r * base,
            Reset::None => base,
        }
    }

    /// One step: `(mem[t], spk[t])`.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn forward<S: Surrogate>(&self, x: T, rec: T, spike: &SpikeFn<T>) -> (T, T) {
        let m = charge_and_fire::<T, S>(
            self.config,
            self.mem_prev,
            self.threshold,
            None,
            spike,
            #[cfg_attr(not(debug_assertions), inline(always))]
            |r| self.charge(x, rec, r),
        );
        (m.mem, m.fired.spk)
    }

    /// The step again for its backward pass, from the saved `mem[t]` (and
    /// the inputs when the reset is immediate or `mem[t]` is not the step's
    /// exact result).
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn refire<S: Surrogate>(
        &self,
        mem_next: T,
        next_is_exact: bool,
        x: T,
        rec: T,
        spike: &SpikeFn<T>,
    ) -> Membrane<T> {
        refire::<T, S>(
            self.config,
            self.mem_prev,
            mem_next,
            next_is_exact,
            self.threshold,
            None,
            spike,
            #[cfg_attr(not(debug_assertions), inline(always))]
            |r| self.charge(x, rec, r),
        )
    }

    /// The gradients of one step.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn backward<S: Surrogate>(
        &self,
        m: &Membrane<T>,
        spike: &SpikeFn<T>,
        grad_spike: T,
        grad_mem: T,
    ) -> CoreGrads<T> {
        let mg = fire_and_reset_backward::<T, S>(
            self.config,
            m,
            self.threshold,
            None,
            spike,
            grad_spike,
            grad_mem,
        );
        let (grad_base, grad_threshold) = charge_reset_backward(self.config.reset, m.r, &mg);
        CoreGrads {
            mem_prev: grad_base * self.b,
            base: grad_base,
            b: grad_base * self.mem_prev,
            threshold: grad_threshold,
        }
    }
}

impl Model for RLeaky {
    const NAME: &'static str = "rleaky";
    const STATES: &'static [&'static str] = one_to_one::STATES;
    const INPUTS: &'static [&'static str] = one_to_one::INPUTS;
    const PARAMS: &'static [&'static str] = one_to_one::PARAMS;
    const PREPARED: &'static [&'static str] = one_to_one::PREPARED;
    const SPIKE_STATE: Option<usize> = Some(one_to_one::state::SPK);

    reset_config_items!(clamped: 1);

    #[cfg_attr(not(debug_assertions), inline(always))]
    fn backward_reads_inputs(&self) -> bool {
        !self.0.reset_delay
    }

    #[cfg_attr(not(debug_assertions), inline(always))]
    fn step<T: Real, S: Surrogate>(&self, at: &StepIn<'_, T>) -> (States<T>, T) {
        let (p, prev, inputs, spike) = at.parts();
        use one_to_one::{input::X, prepared::*, state::*};
        let core = Core::new(self.0, p[B], p[THRESHOLD], prev[MEM]);
        let (mem, spk) = core.forward::<S>(inputs[X], prev[SPK] * p[V], spike);
        let mut next = zeros();
        next[MEM] = mem;
        next[SPK] = spk;
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
        use one_to_one::{input::X, prepared::*, state::*};
        let core = Core::new(self.0, p[B], p[THRESHOLD], prev[MEM]);
        let spk_prev = prev[SPK];
        // the spike is an output and the next step's recurrent input
        let m = core.refire::<S>(
            next[MEM],
            back.next_is_exact,
            inputs[X],
            spk_prev * p[V],
            spike,
        );
        let grad_spk = grad_spike + grad_next[SPK];
        let g = core.backward::<S>(&m, spike, grad_spk, grad_next[MEM]);
        let mut grads = StepGrads::none();
        grads.prev[MEM] = g.mem_prev;
        grads.prev[SPK] = g.base * p[V];
        grads.inputs[X] = g.base;
        grads.prepared[B] = g.b;
        grads.prepared[V] = g.base * spk_prev;
        grads.prepared[THRESHOLD] = g.threshold;
        grads
    }
}

impl Model for RLeakyAllToAll {
    const NAME: &'static str = "rleaky_all_to_all";
    const STATES: &'static [&'static str] = all_to_all::STATES;
    const INPUTS: &'static [&'static str] = all_to_all::INPUTS;
    const PARAMS: &'static [&'static str] = all_to_all::PARAMS;
    const PREPARED: &'static [&'static str] = all_to_all::PREPARED;

    reset_config_items!(clamped: 1);

    #[cfg_attr(not(debug_assertions), inline(always))]
    fn backward_reads_inputs(&self) -> bool {
        !self.0.reset_delay
    }

    #[cfg_attr(not(debug_assertions), inline(always))]
    fn step<T: Real, S: Surrogate>(&self, at: &StepIn<'_, T>) -> (States<T>, T) {
        let (p, prev, inputs, spike) = at.parts();
        use all_to_all::{input::*, prepared::*, state::*};
        let core = Core::new(self.0, p[B], p[THRESHOLD], prev[MEM]);
        let (mem, spk) = core.forward::<S>(inputs[X], inputs[REC], spike);
        let mut next = zeros();
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
        use all_to_all::{input::*, prepared::*, state::*};
        let core = Core::new(self.0, p[B], p[THRESHOLD], prev[MEM]);
        let m = core.refire::<S>(next[MEM], back.next_is_exact, inputs[X], inputs[REC], spike);
        let g = core.backward::<S>(&m, spike, grad_spike, grad_next[MEM]);
        let mut grads = StepGrads::none();
        grads.prev[MEM] = g.mem_prev;
        grads.inputs[X] = g.base;
        grads.inputs[REC] = g.base;
        grads.prepared[B] = g.b;
        grads.prepared[THRESHOLD] = g.threshold;
        grads
    }
}
