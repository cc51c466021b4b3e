//! The mechanics every model shares (`docs/neurons.md`, "Shared mechanics"): the
//! detached reset signal, firing, and the immediate second reset of
//! `reset_delay = false`, each with its backward.

use crate::model::{no_gradient, Reset};
use crate::real::Real;
use crate::surrogate::{SpikeFn, Surrogate};

/// `r[t] = H(mem[t-1] - thr)`, detached: no gradient flows into `mem[t-1]`
/// (the threshold still receives gradient where `r` multiplies it).
#[inline(always)]
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
#[inline(always)]
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
#[inline(always)]
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
#[inline(always)]
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
#[inline(always)]
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
