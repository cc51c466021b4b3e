//! RSynaptic: the recurrent second-order LIF neuron (snnTorch `RSynaptic`).
//!
//! As [`super::Synaptic`], with the recurrent current added to the synaptic
//! current: `syn[t] = a·syn[t-1] + x[t] + rec[t]`, `base = b·mem[t-1] + syn[t]`;
//! subtract `base - r·thr`, zero `base - base2·r` (`base2` a second
//! evaluation of the whole update, the recurrent current included, as in
//! snnTorch), none `base`; `syn` is never reset; graded factor fixed at 1.
//!
//! With `reset_delay = false`, snnTorch 1.0 silently skips the immediate
//! reset (its `forward` reads the previous spike and discards the result);
//! this kernel implements the documented intent, the immediate reset with
//! `d = spk - r` as in Synaptic (see `docs/semantics.md`).
//!
//! Recurrence: [`RSynaptic`] one-to-one (`rec[t] = spk[t-1]·V`, `spk` a
//! state) or [`RSynapticAllToAll`] (`rec` an input stream), as for RLeaky.
//! The backward pass does not read `x` or `rec` when the saved states are
//! the step's exact results (it recomputes `syn[t]` from them otherwise).

use super::synaptic::SynapticStep;
use crate::model::{
    model_names, reset_config_items, reset_config_model, zeros, BackIn, Model, Params, Prepared,
    ResetConfig, States, StepGrads, StepIn,
};
use crate::real::Real;
use crate::surrogate::Surrogate;

/// snnTorch's `RSynaptic` with one-to-one recurrence (`all_to_all=False`):
/// `RSynaptic::default()` (subtract, delayed reset), `RSynaptic::new(reset,
/// reset_delay)` or `RSynaptic(ResetConfig { .. })`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RSynaptic(pub ResetConfig);

/// snnTorch's `RSynaptic` with all-to-all recurrence: the recurrent current
/// is an input stream. Constructed as [`RSynaptic`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RSynapticAllToAll(pub ResetConfig);

reset_config_model!(RSynaptic, RSynapticAllToAll);

model_names! {
    mod one_to_one {
        states: SYN = "syn", MEM = "mem", SPK = "spk";
        inputs: X = "x";
        params: ALPHA = "alpha", BETA = "beta", V = "v", THRESHOLD = "threshold";
        prepared: A = "a", B = "b", V = "v", THRESHOLD = "threshold";
    }
}

model_names! {
    mod all_to_all {
        states: SYN = "syn", MEM = "mem";
        inputs: X = "x", REC = "rec";
        params: ALPHA = "alpha", BETA = "beta", THRESHOLD = "threshold";
        prepared: A = "a", B = "b", THRESHOLD = "threshold";
    }
}

impl Model for RSynaptic {
    const NAME: &'static str = "rsynaptic";
    const STATES: &'static [&'static str] = one_to_one::STATES;
    const INPUTS: &'static [&'static str] = one_to_one::INPUTS;
    const PARAMS: &'static [&'static str] = one_to_one::PARAMS;
    const PREPARED: &'static [&'static str] = one_to_one::PREPARED;
    const SPIKE_STATE: Option<usize> = Some(one_to_one::state::SPK);

    reset_config_items!(clamped: 2);

    #[cfg_attr(not(debug_assertions), inline(always))]
    fn backward_reads_inputs(&self) -> bool {
        false
    }

    #[cfg_attr(not(debug_assertions), inline(always))]
    fn step<T: Real, S: Surrogate>(&self, at: &StepIn<'_, T>) -> (States<T>, T) {
        let (p, prev, inputs, spike) = at.parts();
        use one_to_one::{input::X, prepared::*, state::*};
        let core = SynapticStep::new(p[A], p[B], p[THRESHOLD], prev[SYN], prev[MEM]);
        // the recurrent current `spk[t-1]·V` is part of the synaptic current
        let (syn, mem, spk) = core.forward::<S>(
            self.0,
            spike,
            #[cfg_attr(not(debug_assertions), inline(always))]
            |leak| leak + inputs[X] + prev[SPK] * p[V],
        );
        let mut next = zeros();
        next[SYN] = syn;
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
        let core = SynapticStep::new(p[A], p[B], p[THRESHOLD], prev[SYN], prev[MEM]);
        // the spike is an output and the next step's recurrent input
        let grad_spk = grad_spike + grad_next[SPK];
        let g = core.backward::<S>(
            self.0,
            (next[SYN], next[MEM], back.next_is_exact),
            #[cfg_attr(not(debug_assertions), inline(always))]
            |leak| leak + inputs[X] + prev[SPK] * p[V],
            spike,
            grad_spk,
            grad_next[SYN],
            grad_next[MEM],
        );
        let mut grads = StepGrads::none();
        grads.prev[SYN] = g.current_times(p[A]);
        grads.prev[MEM] = g.membrane_times(p[B]);
        grads.prev[SPK] = g.current_times(p[V]);
        grads.inputs[X] = g.current();
        grads.prepared[A] = g.current_times(prev[SYN]);
        grads.prepared[B] = g.membrane_times(prev[MEM]);
        grads.prepared[V] = g.current_times(prev[SPK]);
        grads.prepared[THRESHOLD] = g.threshold;
        grads
    }
}

impl Model for RSynapticAllToAll {
    const NAME: &'static str = "rsynaptic_all_to_all";
    const STATES: &'static [&'static str] = all_to_all::STATES;
    const INPUTS: &'static [&'static str] = all_to_all::INPUTS;
    const PARAMS: &'static [&'static str] = all_to_all::PARAMS;
    const PREPARED: &'static [&'static str] = all_to_all::PREPARED;

    reset_config_items!(clamped: 2);

    #[cfg_attr(not(debug_assertions), inline(always))]
    fn backward_reads_inputs(&self) -> bool {
        false
    }

    #[cfg_attr(not(debug_assertions), inline(always))]
    fn step<T: Real, S: Surrogate>(&self, at: &StepIn<'_, T>) -> (States<T>, T) {
        let (p, prev, inputs, spike) = at.parts();
        use all_to_all::{input::*, prepared::*, state::*};
        let core = SynapticStep::new(p[A], p[B], p[THRESHOLD], prev[SYN], prev[MEM]);
        let (syn, mem, spk) = core.forward::<S>(
            self.0,
            spike,
            #[cfg_attr(not(debug_assertions), inline(always))]
            |leak| leak + inputs[X] + inputs[REC],
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
        use all_to_all::{input::*, prepared::*, state::*};
        let core = SynapticStep::new(p[A], p[B], p[THRESHOLD], prev[SYN], prev[MEM]);
        let g = core.backward::<S>(
            self.0,
            (next[SYN], next[MEM], back.next_is_exact),
            #[cfg_attr(not(debug_assertions), inline(always))]
            |leak| leak + inputs[X] + inputs[REC],
            spike,
            grad_spike,
            grad_next[SYN],
            grad_next[MEM],
        );
        let mut grads = StepGrads::none();
        grads.prev[SYN] = g.current_times(p[A]);
        grads.prev[MEM] = g.membrane_times(p[B]);
        grads.inputs[X] = g.current();
        grads.inputs[REC] = g.current();
        grads.prepared[A] = g.current_times(prev[SYN]);
        grads.prepared[B] = g.membrane_times(prev[MEM]);
        grads.prepared[THRESHOLD] = g.threshold;
        grads
    }
}
