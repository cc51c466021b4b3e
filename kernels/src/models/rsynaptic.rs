//! RSynaptic: the recurrent second-order LIF neuron (snnTorch `RSynaptic`).
//!
//! As [`super::Synaptic`], with the recurrent current added to the synaptic
//! current: `syn[t] = a·syn[t-1] + x[t] + rec[t]`, `base = b·mem[t-1] + syn[t]`;
//! subtract `base - r·thr`, zero `base - base·r`, none `base`; `syn` is never
//! reset; graded factor fixed at 1.
//!
//! With `reset_delay = false`, snnTorch 1.0 silently skips the immediate
//! reset (its `forward` reads the previous spike and discards the result);
//! this kernel implements the documented intent, the immediate reset with
//! `d = spk - r` as in Synaptic (see `docs/semantics.md`).
//!
//! Recurrence: [`RSynaptic`] one-to-one (`rec[t] = spk[t-1]·V`, `spk` a
//! state) or [`RSynapticAllToAll`] (`rec` an input stream), as for RLeaky.
//! The backward pass never reads `x` or `rec`.

use super::synaptic::{fire_and_reset, integrate_membrane, membrane_backward};
use crate::model::{
    no_gradients, reset_delay_from_index, reset_delay_index, variant_with_delay, zeros, Inputs,
    Model, Params, Prepared, Reset, States, StepGrads,
};
use crate::real::Real;
use crate::surrogate::{SpikeFn, Surrogate};

/// snnTorch's `RSynaptic` with one-to-one recurrence (`all_to_all=False`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RSynaptic {
    /// `reset_mechanism` (default subtract).
    pub reset: Reset,
    /// `reset_delay` (default true).
    pub reset_delay: bool,
}

/// snnTorch's `RSynaptic` with all-to-all recurrence: the recurrent current
/// is an input stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RSynapticAllToAll {
    /// `reset_mechanism` (default subtract).
    pub reset: Reset,
    /// `reset_delay` (default true).
    pub reset_delay: bool,
}

impl Default for RSynaptic {
    fn default() -> Self {
        RSynaptic {
            reset: Reset::Subtract,
            reset_delay: true,
        }
    }
}

impl Default for RSynapticAllToAll {
    fn default() -> Self {
        RSynapticAllToAll {
            reset: Reset::Subtract,
            reset_delay: true,
        }
    }
}

const SYN: usize = 0;
const MEM: usize = 1;
const SPK: usize = 2;
const X: usize = 0;
const REC: usize = 1;
const A: usize = 0;
const B: usize = 1;

/// One step given the recurrent current: `(syn, mem, spk)`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn forward<T: Real, S: Surrogate>(
    reset: Reset,
    reset_delay: bool,
    p: &Prepared<T>,
    prev: &States<T>,
    x: T,
    rec: T,
    threshold: T,
    spike: &SpikeFn<T>,
) -> (T, T, T) {
    let r = (prev[MEM] - threshold).heaviside().detach();
    let syn = p[A] * prev[SYN] + x + rec;
    let before_firing = integrate_membrane(reset, p[B], prev[MEM], syn, r, threshold);
    let (fired, mem) =
        fire_and_reset::<T, S>(reset, reset_delay, before_firing, r, threshold, spike);
    (syn, mem, fired.spk)
}

/// Gradients of one step: `(mem[t-1], syn, a, b, threshold)`, where `syn` is
/// `dL/d syn[t]` (which is also `dL/dx` and `dL/d rec`).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn backward<T: Real, S: Surrogate>(
    reset: Reset,
    reset_delay: bool,
    p: &Prepared<T>,
    prev: &States<T>,
    next: &States<T>,
    threshold: T,
    spike: &SpikeFn<T>,
    grad_spike: T,
    grad_next: &States<T>,
) -> [T; 5] {
    let (b, mem_prev, syn) = (p[B], prev[MEM], next[SYN]);
    let r = (mem_prev - threshold).heaviside().detach();
    let before_firing = if reset_delay {
        next[MEM]
    } else {
        integrate_membrane(reset, b, mem_prev, syn, r, threshold)
    };
    let fired = super::common::fire::<T, S>(before_firing, threshold, None, spike);
    let mg = membrane_backward::<T, S>(
        reset,
        reset_delay,
        before_firing,
        &fired,
        r,
        threshold,
        spike,
        grad_spike,
        grad_next[MEM],
    );
    let grad_syn = mg.base + grad_next[SYN];
    [
        mg.base * b,
        grad_syn,
        grad_syn * prev[SYN],
        mg.base * mem_prev,
        mg.threshold,
    ]
}

impl Model for RSynaptic {
    const NAME: &'static str = "rsynaptic";
    const STATES: &'static [&'static str] = &["syn", "mem", "spk"];
    const INPUTS: &'static [&'static str] = &["x"];
    const PARAMS: &'static [&'static str] = &["alpha", "beta", "v", "threshold"];
    const PREPARED: &'static [&'static str] = &["a", "b", "v", "threshold"];
    const SPIKE_STATE: Option<usize> = Some(SPK);

    const CONFIGURATIONS: usize = 6;

    #[inline(always)]
    fn config_index(&self) -> usize {
        reset_delay_index(self.reset, self.reset_delay)
    }

    #[inline(always)]
    fn from_config_index(index: usize) -> Self {
        let (reset, reset_delay) = reset_delay_from_index(index);
        RSynaptic { reset, reset_delay }
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
        p[A] = raw[0].clamp(T::zero(), T::one());
        p[B] = raw[1].clamp(T::zero(), T::one());
        p[2] = raw[2];
        p[3] = raw[3];
        p
    }

    #[inline(always)]
    fn prepare_backward<T: Real>(&self, raw: &Params<T>, grad: &Prepared<T>) -> Params<T> {
        let mut g = no_gradients();
        g[0] = grad[A] * raw[0].clamp_grad(T::zero(), T::one());
        g[1] = grad[B] * raw[1].clamp_grad(T::zero(), T::one());
        g[2] = grad[2];
        g[3] = grad[3];
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
        let (v, threshold) = (p[2], p[3]);
        let rec = prev[SPK] * v;
        let (syn, mem, spk) = forward::<T, S>(
            self.reset,
            self.reset_delay,
            p,
            prev,
            inputs[X],
            rec,
            threshold,
            spike,
        );
        let mut next = zeros();
        next[SYN] = syn;
        next[MEM] = mem;
        next[SPK] = spk;
        (next, spk)
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
        let (v, threshold) = (p[2], p[3]);
        // the spike is an output and the next step's recurrent input
        let grad_spk = grad_spike + grad_next[SPK];
        let [grad_mem_prev, grad_syn, grad_a, grad_b, grad_threshold] = backward::<T, S>(
            self.reset,
            self.reset_delay,
            p,
            prev,
            next,
            threshold,
            spike,
            grad_spk,
            grad_next,
        );
        let mut grads = StepGrads::none();
        grads.prev[SYN] = grad_syn * p[A];
        grads.prev[MEM] = grad_mem_prev;
        grads.prev[SPK] = grad_syn * v;
        grads.inputs[X] = grad_syn;
        grads.prepared[A] = grad_a;
        grads.prepared[B] = grad_b;
        grads.prepared[2] = grad_syn * prev[SPK];
        grads.prepared[3] = grad_threshold;
        grads
    }
}

impl Model for RSynapticAllToAll {
    const NAME: &'static str = "rsynaptic_all_to_all";
    const STATES: &'static [&'static str] = &["syn", "mem"];
    const INPUTS: &'static [&'static str] = &["x", "rec"];
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
        RSynapticAllToAll { reset, reset_delay }
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
        p[A] = raw[0].clamp(T::zero(), T::one());
        p[B] = raw[1].clamp(T::zero(), T::one());
        p[2] = raw[2];
        p
    }

    #[inline(always)]
    fn prepare_backward<T: Real>(&self, raw: &Params<T>, grad: &Prepared<T>) -> Params<T> {
        let mut g = no_gradients();
        g[0] = grad[A] * raw[0].clamp_grad(T::zero(), T::one());
        g[1] = grad[B] * raw[1].clamp_grad(T::zero(), T::one());
        g[2] = grad[2];
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
        let threshold = p[2];
        let (syn, mem, spk) = forward::<T, S>(
            self.reset,
            self.reset_delay,
            p,
            prev,
            inputs[X],
            inputs[REC],
            threshold,
            spike,
        );
        let mut next = zeros();
        next[SYN] = syn;
        next[MEM] = mem;
        (next, spk)
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
        let threshold = p[2];
        let [grad_mem_prev, grad_syn, grad_a, grad_b, grad_threshold] = backward::<T, S>(
            self.reset,
            self.reset_delay,
            p,
            prev,
            next,
            threshold,
            spike,
            grad_spike,
            grad_next,
        );
        let mut grads = StepGrads::none();
        grads.prev[SYN] = grad_syn * p[A];
        grads.prev[MEM] = grad_mem_prev;
        grads.inputs[X] = grad_syn;
        grads.inputs[REC] = grad_syn;
        grads.prepared[A] = grad_a;
        grads.prepared[B] = grad_b;
        grads.prepared[2] = grad_threshold;
        grads
    }
}
