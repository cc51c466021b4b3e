//! The mechanics every model shares (`docs/neurons.md`, "Shared mechanics"): the
//! detached reset signal, firing, and the immediate second reset of
//! `reset_delay = false`, each with its backward.
//!
//! The models with a [`ResetConfig`] (Leaky, Synaptic, RLeaky, RSynaptic)
//! share everything around firing: [`charge_and_fire`] for the step,
//! [`refire`] to recompute it in the backward pass, and
//! [`fire_and_reset_backward`] and [`charge_reset_backward`] for its
//! gradients. Each model states only its charge equation (the membrane
//! before firing, from the previous state, the inputs and `r`) and the
//! local derivatives of that equation.

use crate::model::{no_gradient, no_gradients, zeros, Params, Prepared, Reset, ResetConfig};
use crate::real::Real;
use crate::surrogate::{SpikeFn, Surrogate};

/// `r[t] = H(mem[t-1] - thr)`, detached: no gradient flows into `mem[t-1]`
/// (the threshold still receives gradient where `r` multiplies it).
#[cfg_attr(not(debug_assertions), inline(always))]
pub(crate) fn reset_signal<T: Real>(mem_prev: T, threshold: T) -> T {
    (mem_prev - threshold).heaviside().detach()
}

/// The values of firing: `z = mem - thr`, `h = H(z)`, `spk = h · g`.
#[derive(Clone, Copy)]
pub(crate) struct Fired<T> {
    pub z: T,
    pub h: T,
    pub spk: T,
}

/// Fires: `spk = H(mem - thr) · g`; `graded = None` means `g = 1` (snnTorch
/// multiplies by a factor of exactly 1, which changes nothing).
#[cfg_attr(not(debug_assertions), inline(always))]
pub(crate) fn fire<T: Real, S: Surrogate>(
    mem: T,
    threshold: T,
    graded: Option<T>,
    spike: &SpikeFn<T>,
) -> Fired<T> {
    let z = mem - threshold;
    let h = spike.fire::<S>(z);
    let spk = match graded {
        Some(g) => h * g,
        None => h,
    };
    Fired { z, h, spk }
}

/// Gradients of firing.
pub(crate) struct FireGrads<T> {
    /// `dL/d mem` through the surrogate.
    pub mem: T,
    /// `dL/d thr` (`-dL/dz`).
    pub threshold: T,
    /// `dL/d g` (`dL/d spk · h`), zero when `g` is fixed.
    pub graded: T,
}

/// Backward of [`fire`]: `dL/dh = dL/dspk · g`, `dL/dz = S(z, dL/dh)`,
/// `dL/dg = dL/dspk · h`.
#[cfg_attr(not(debug_assertions), inline(always))]
pub(crate) fn fire_backward<T: Real, S: Surrogate>(
    fired: &Fired<T>,
    graded: Option<T>,
    spike: &SpikeFn<T>,
    grad_spk: T,
) -> FireGrads<T> {
    let (grad_h, grad_graded) = match graded {
        Some(g) => (grad_spk * g, grad_spk * fired.h),
        None => (grad_spk, no_gradient()),
    };
    let grad_z = spike.grad::<S>(fired.z, grad_h);
    FireGrads {
        mem: grad_z,
        threshold: -grad_z,
        graded: grad_graded,
    }
}

/// The immediate reset of `reset_delay = false`, applied right after firing:
/// `d = spk/g - r` (not detached), then subtract: `mem - d·thr`;
/// zero: `mem - d·mem`; none: `mem`. Returns the new membrane.
#[cfg_attr(not(debug_assertions), inline(always))]
pub(crate) fn immediate_reset<T: Real>(
    reset: Reset,
    mem: T,
    spk: T,
    graded: Option<T>,
    r: T,
    threshold: T,
) -> T {
    let d = match graded {
        Some(g) => spk / g - r,
        None => spk - r,
    };
    match reset {
        Reset::Subtract => mem - d * threshold,
        Reset::Zero => mem - d * mem,
        Reset::None => mem,
    }
}

/// Gradients of [`immediate_reset`].
pub(crate) struct ImmediateResetGrads<T> {
    /// `dL/d mem` before the immediate reset.
    pub mem: T,
    /// `dL/d spk` through `d`.
    pub spk: T,
    /// `dL/d thr` through `d · thr`.
    pub threshold: T,
    /// `dL/d g` through `spk / g`.
    pub graded: T,
}

/// Backward of [`immediate_reset`], given `grad_out = dL/d mem` after it.
#[cfg_attr(not(debug_assertions), inline(always))]
pub(crate) fn immediate_reset_backward<T: Real>(
    reset: Reset,
    mem: T,
    spk: T,
    graded: Option<T>,
    r: T,
    threshold: T,
    grad_out: T,
) -> ImmediateResetGrads<T> {
    let zero = no_gradient();
    if reset == Reset::None {
        // the membrane is not reset: nothing flows through `d`
        return ImmediateResetGrads {
            mem: grad_out,
            spk: zero,
            threshold: zero,
            graded: zero,
        };
    }
    let d = match graded {
        Some(g) => spk / g - r,
        None => spk - r,
    };
    // out = mem - P: dL/dP = -grad_out
    let grad_product = -grad_out;
    let (grad_mem, grad_d, grad_threshold) = match reset {
        // P = d · thr
        Reset::Subtract => (grad_out, grad_product * threshold, grad_product * d),
        // P = d · mem
        Reset::Zero => (grad_out + grad_product * d, grad_product * mem, zero),
        Reset::None => (grad_out, zero, zero),
    };
    // d = spk / g - r (r detached)
    let (grad_spk, grad_graded) = match graded {
        Some(g) => (grad_d / g, -grad_d * ((spk / g) / g)),
        None => (grad_d, zero),
    };
    ImmediateResetGrads {
        mem: grad_mem,
        spk: grad_spk,
        threshold: grad_threshold,
        graded: grad_graded,
    }
}

/// The values around firing of one step: the reset signal, the membrane
/// before firing, the firing, and the membrane after the immediate reset
/// (the saved state).
#[derive(Clone, Copy)]
pub(crate) struct Membrane<T> {
    pub r: T,
    pub before_firing: T,
    pub fired: Fired<T>,
    pub mem: T,
}

/// Fires from the membrane before firing, then applies the immediate reset
/// of `reset_delay = false`.
#[cfg_attr(not(debug_assertions), inline(always))]
pub(crate) fn fire_and_reset<T: Real, S: Surrogate>(
    config: ResetConfig,
    r: T,
    before_firing: T,
    threshold: T,
    graded: Option<T>,
    spike: &SpikeFn<T>,
) -> Membrane<T> {
    let fired = fire::<T, S>(before_firing, threshold, graded, spike);
    let mem = if config.reset_delay {
        before_firing
    } else {
        immediate_reset(config.reset, before_firing, fired.spk, graded, r, threshold)
    };
    Membrane {
        r,
        before_firing,
        fired,
        mem,
    }
}

/// One step of the membrane: `r = H(mem[t-1] - thr)`, the model's charge
/// equation `charge(r)` (the membrane before firing), then
/// [`fire_and_reset`].
#[cfg_attr(not(debug_assertions), inline(always))]
pub(crate) fn charge_and_fire<T: Real, S: Surrogate>(
    config: ResetConfig,
    mem_prev: T,
    threshold: T,
    graded: Option<T>,
    spike: &SpikeFn<T>,
    charge: impl FnOnce(T) -> T,
) -> Membrane<T> {
    let r = reset_signal(mem_prev, threshold);
    let before_firing = charge(r);
    fire_and_reset::<T, S>(config, r, before_firing, threshold, graded, spike)
}

/// [`charge_and_fire`] again for the backward pass, from the states before
/// and after the step: with the reset delayed and the saved membrane
/// `mem_next` the step's exact result (`next_is_exact`, see
/// [`BackIn::next_is_exact`](crate::model::BackIn::next_is_exact)), it is
/// the membrane before firing (the charge is not recomputed); otherwise
/// `charge(r)` recomputes it.
#[allow(clippy::too_many_arguments)]
#[cfg_attr(not(debug_assertions), inline(always))]
pub(crate) fn refire<T: Real, S: Surrogate>(
    config: ResetConfig,
    mem_prev: T,
    mem_next: T,
    next_is_exact: bool,
    threshold: T,
    graded: Option<T>,
    spike: &SpikeFn<T>,
    charge: impl FnOnce(T) -> T,
) -> Membrane<T> {
    let r = reset_signal(mem_prev, threshold);
    let before_firing = if config.reset_delay && next_is_exact {
        mem_next
    } else {
        charge(r)
    };
    fire_and_reset::<T, S>(config, r, before_firing, threshold, graded, spike)
}

/// Gradients of [`fire_and_reset`].
pub(crate) struct MembraneGrads<T> {
    /// `dL/d` the membrane before firing.
    pub before_firing: T,
    /// `dL/d thr`, through firing and the immediate reset.
    pub threshold: T,
    /// `dL/d g` (no gradient when `g` is fixed).
    pub graded: T,
}

/// Backward of [`fire_and_reset`], given `grad_spike = dL/d spk[t]` and
/// `grad_mem = dL/d mem[t]`: the immediate reset first (it came last), then
/// firing; each gradient is the sum of its contributions in that order.
#[allow(clippy::too_many_arguments)]
#[cfg_attr(not(debug_assertions), inline(always))]
pub(crate) fn fire_and_reset_backward<T: Real, S: Surrogate>(
    config: ResetConfig,
    m: &Membrane<T>,
    threshold: T,
    graded: Option<T>,
    spike: &SpikeFn<T>,
    grad_spike: T,
    grad_mem: T,
) -> MembraneGrads<T> {
    let (mut grad_before, mut grad_spk, mut grad_threshold, mut grad_graded) =
        (grad_mem, grad_spike, no_gradient(), no_gradient());
    if !config.reset_delay {
        let d = immediate_reset_backward(
            config.reset,
            m.before_firing,
            m.fired.spk,
            graded,
            m.r,
            threshold,
            grad_mem,
        );
        grad_before = d.mem;
        grad_spk = grad_spk + d.spk;
        grad_threshold = d.threshold;
        grad_graded = d.graded;
    }
    let fg = fire_backward::<T, S>(&m.fired, graded, spike, grad_spk);
    grad_before = grad_before + fg.mem;
    grad_threshold = grad_threshold + fg.threshold;
    if graded.is_some() {
        grad_graded = grad_graded + fg.graded;
    }
    MembraneGrads {
        before_firing: grad_before,
        threshold: grad_threshold,
        graded: grad_graded,
    }
}

/// Backward of the reset of a charged membrane `base` in the common forms
/// (subtract `base - r·thr`; zero `base - r·base` with a single `base`;
/// none `base`), given the gradients of the membrane before firing: returns
/// `(dL/d base, dL/d thr)`. (Synaptic's zero reset multiplies a second
/// evaluation of `base` and has its own backward.)
#[cfg_attr(not(debug_assertions), inline(always))]
pub(crate) fn charge_reset_backward<T: Real>(
    reset: Reset,
    r: T,
    grads: &MembraneGrads<T>,
) -> (T, T) {
    let grad_before = grads.before_firing;
    match reset {
        Reset::Subtract => (grad_before, grads.threshold - grad_before * r),
        Reset::Zero => (grad_before - grad_before * r, grads.threshold),
        Reset::None => (grad_before, grads.threshold),
    }
}

/// `prepare` of the models whose prepared constants are their raw
/// parameters in the same order, the first `clamped` of them decay rates
/// clamped to `[0, 1]` (`a = clamp(alpha, 0, 1)`, `b = clamp(beta, 0, 1)`),
/// the others unchanged; `count` parameters in all.
#[cfg_attr(not(debug_assertions), inline(always))]
pub(crate) fn prepare_clamped<T: Real>(
    raw: &Params<T>,
    clamped: usize,
    count: usize,
) -> Prepared<T> {
    let mut p = zeros();
    for k in 0..count {
        p[k] = if k < clamped {
            raw[k].clamp(T::zero(), T::one())
        } else {
            raw[k]
        };
    }
    p
}

/// The chain rule through [`prepare_clamped`]: `dL/d alpha = dL/d a ·
/// clamp'(alpha)` for the clamped parameters, the others unchanged.
#[cfg_attr(not(debug_assertions), inline(always))]
pub(crate) fn prepare_clamped_backward<T: Real>(
    raw: &Params<T>,
    grad: &Prepared<T>,
    clamped: usize,
    count: usize,
) -> Params<T> {
    let mut g = no_gradients();
    for k in 0..count {
        g[k] = if k < clamped {
            grad[k] * raw[k].clamp_grad(T::zero(), T::one())
        } else {
            grad[k]
        };
    }
    g
}
