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
    fire, fire_backward, immediate_reset, immediate_reset_backward, reset_signal, Fired,
};
use crate::model::{
    no_gradient, no_gradients, reset_delay_from_index, reset_delay_index, variant_with_delay,
    zeros, Inputs, Model, Params, Prepared, Reset, States, StepGrads,
};
use crate::real::Real;
use crate::surrogate::{SpikeFn, Surrogate};

/// snnTorch's `RLeaky` with one-to-one recurrence (`all_to_all=False`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RLeaky {
    /// `reset_mechanism` (default subtract).
    pub reset: Reset,
    /// `reset_delay` (default true).
    pub reset_delay: bool,
}

/// snnTorch's `RLeaky` with all-to-all recurrence: the recurrent current is
/// an input stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RLeakyAllToAll {
    /// `reset_mechanism` (default subtract).
    pub reset: Reset,
    /// `reset_delay` (default true).
    pub reset_delay: bool,
}

impl Default for RLeaky {
    fn default() -> Self {
        RLeaky {
            reset: Reset::Subtract,
            reset_delay: true,
        }
    }
}

impl Default for RLeakyAllToAll {
    fn default() -> Self {
        RLeakyAllToAll {
            reset: Reset::Subtract,
            reset_delay: true,
        }
    }
}

const MEM: usize = 0;
const SPK: usize = 1;
const X: usize = 0;
const REC: usize = 1;
const B: usize = 0;

/// The shared step: the recurrent current is already computed.
#[derive(Clone, Copy)]
struct Core {
    reset: Reset,
    reset_delay: bool,
}

struct Forward<T> {
    r: T,
    before_firing: T,
    fired: Fired<T>,
    mem: T,
}

struct CoreGrads<T> {
    mem_prev: T,
    base: T,
    b: T,
    threshold: T,
}

impl Core {
    #[inline(always)]
    fn before_firing<T: Real>(&self, b: T, threshold: T, mem_prev: T, x: T, rec: T, r: T) -> T {
        let base = b * mem_prev + x + rec;
        match self.reset {
            Reset::Subtract => base - r * threshold,
            Reset::Zero => base - r * base,
            Reset::None => base,
        }
    }

    #[inline(always)]
    fn fire<T: Real, S: Surrogate>(
        &self,
        threshold: T,
        r: T,
        before_firing: T,
        spike: &SpikeFn<T>,
    ) -> Forward<T> {
        let fired = fire::<T, S>(before_firing, threshold, None, spike);
        let mem = if self.reset_delay {
            before_firing
        } else {
            immediate_reset(self.reset, before_firing, fired.spk, None, r, threshold)
        };
        Forward {
            r,
            before_firing,
            fired,
            mem,
        }
    }

    #[inline(always)]
    fn forward<T: Real, S: Surrogate>(
        &self,
        b: T,
        threshold: T,
        mem_prev: T,
        x: T,
        rec: T,
        spike: &SpikeFn<T>,
    ) -> Forward<T> {
        let r = reset_signal(mem_prev, threshold);
        self.fire::<T, S>(
            threshold,
            r,
            self.before_firing(b, threshold, mem_prev, x, rec, r),
            spike,
        )
    }

    /// The forward values for the backward pass: from the saved membrane when
    /// it is the membrane before firing, else recomputed from the inputs.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn recompute<T: Real, S: Surrogate>(
        &self,
        b: T,
        threshold: T,
        mem_prev: T,
        mem_next: T,
        x: T,
        rec: T,
        spike: &SpikeFn<T>,
    ) -> Forward<T> {
        if self.reset_delay {
            self.fire::<T, S>(
                threshold,
                reset_signal(mem_prev, threshold),
                mem_next,
                spike,
            )
        } else {
            self.forward::<T, S>(b, threshold, mem_prev, x, rec, spike)
        }
    }

    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    fn backward<T: Real, S: Surrogate>(
        &self,
        b: T,
        threshold: T,
        mem_prev: T,
        f: &Forward<T>,
        spike: &SpikeFn<T>,
        grad_spike: T,
        grad_mem: T,
    ) -> CoreGrads<T> {
        let (mut grad_before, mut grad_spk, mut grad_threshold) =
            (grad_mem, grad_spike, no_gradient());
        if !self.reset_delay {
            let d = immediate_reset_backward(
                self.reset,
                f.before_firing,
                f.fired.spk,
                None,
                f.r,
                threshold,
                grad_mem,
            );
            grad_before = d.mem;
            grad_spk = grad_spk + d.spk;
            grad_threshold = d.threshold;
        }
        let fg = fire_backward::<T, S>(&f.fired, None, spike, grad_spk);
        grad_before = grad_before + fg.mem;
        grad_threshold = grad_threshold + fg.threshold;
        let grad_base = match self.reset {
            Reset::Subtract => {
                grad_threshold = grad_threshold - grad_before * f.r;
                grad_before
            }
            Reset::Zero => grad_before - grad_before * f.r,
            Reset::None => grad_before,
        };
        CoreGrads {
            mem_prev: grad_base * b,
            base: grad_base,
            b: grad_base * mem_prev,
            threshold: grad_threshold,
        }
    }
}

impl Model for RLeaky {
    const NAME: &'static str = "rleaky";
    const STATES: &'static [&'static str] = &["mem", "spk"];
    const INPUTS: &'static [&'static str] = &["x"];
    const PARAMS: &'static [&'static str] = &["beta", "v", "threshold"];
    const PREPARED: &'static [&'static str] = &["b", "v", "threshold"];
    const SPIKE_STATE: Option<usize> = Some(SPK);

    const CONFIGURATIONS: usize = 6;

    #[inline(always)]
    fn config_index(&self) -> usize {
        reset_delay_index(self.reset, self.reset_delay)
    }

    #[inline(always)]
    fn from_config_index(index: usize) -> Self {
        let (reset, reset_delay) = reset_delay_from_index(index);
        RLeaky { reset, reset_delay }
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
        p[B] = raw[0].clamp(T::zero(), T::one());
        p[1] = raw[1];
        p[2] = raw[2];
        p
    }

    #[inline(always)]
    fn prepare_backward<T: Real>(&self, raw: &Params<T>, grad: &Prepared<T>) -> Params<T> {
        let mut g = no_gradients();
        g[0] = grad[B] * raw[0].clamp_grad(T::zero(), T::one());
        g[1] = grad[1];
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
        let (b, v, threshold) = (p[B], p[1], p[2]);
        let core = Core {
            reset: self.reset,
            reset_delay: self.reset_delay,
        };
        let f = core.forward::<T, S>(b, threshold, prev[MEM], inputs[X], prev[SPK] * v, spike);
        let mut next = zeros();
        next[MEM] = f.mem;
        next[SPK] = f.fired.spk;
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
        let (b, v, threshold) = (p[B], p[1], p[2]);
        let core = Core {
            reset: self.reset,
            reset_delay: self.reset_delay,
        };
        let spk_prev = prev[SPK];
        let f = core.recompute::<T, S>(
            b,
            threshold,
            prev[MEM],
            next[MEM],
            inputs[X],
            spk_prev * v,
            spike,
        );
        // the spike is an output and the next step's recurrent input
        let grad_spk = grad_spike + grad_next[SPK];
        let cg =
            core.backward::<T, S>(b, threshold, prev[MEM], &f, spike, grad_spk, grad_next[MEM]);
        let mut grads = StepGrads::none();
        grads.prev[MEM] = cg.mem_prev;
        grads.prev[SPK] = cg.base * v;
        grads.inputs[X] = cg.base;
        grads.prepared[B] = cg.b;
        grads.prepared[1] = cg.base * spk_prev;
        grads.prepared[2] = cg.threshold;
        grads
    }
}

impl Model for RLeakyAllToAll {
    const NAME: &'static str = "rleaky_all_to_all";
    const STATES: &'static [&'static str] = &["mem"];
    const INPUTS: &'static [&'static str] = &["x", "rec"];
    const PARAMS: &'static [&'static str] = &["beta", "threshold"];
    const PREPARED: &'static [&'static str] = &["b", "threshold"];

    const CONFIGURATIONS: usize = 6;

    #[inline(always)]
    fn config_index(&self) -> usize {
        reset_delay_index(self.reset, self.reset_delay)
    }

    #[inline(always)]
    fn from_config_index(index: usize) -> Self {
        let (reset, reset_delay) = reset_delay_from_index(index);
        RLeakyAllToAll { reset, reset_delay }
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
        p[B] = raw[0].clamp(T::zero(), T::one());
        p[1] = raw[1];
        p
    }

    #[inline(always)]
    fn prepare_backward<T: Real>(&self, raw: &Params<T>, grad: &Prepared<T>) -> Params<T> {
        let mut g = no_gradients();
        g[0] = grad[B] * raw[0].clamp_grad(T::zero(), T::one());
        g[1] = grad[1];
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
        let core = Core {
            reset: self.reset,
            reset_delay: self.reset_delay,
        };
        let f = core.forward::<T, S>(p[B], p[1], prev[MEM], inputs[X], inputs[REC], spike);
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
        let (b, threshold) = (p[B], p[1]);
        let core = Core {
            reset: self.reset,
            reset_delay: self.reset_delay,
        };
        let f = core.recompute::<T, S>(
            b,
            threshold,
            prev[MEM],
            next[MEM],
            inputs[X],
            inputs[REC],
            spike,
        );
        let cg = core.backward::<T, S>(
            b,
            threshold,
            prev[MEM],
            &f,
            spike,
            grad_spike,
            grad_next[MEM],
        );
        let mut grads = StepGrads::none();
        grads.prev[MEM] = cg.mem_prev;
        grads.inputs[X] = cg.base;
        grads.inputs[REC] = cg.base;
        grads.prepared[B] = cg.b;
        grads.prepared[1] = cg.threshold;
        grads
    }
}
