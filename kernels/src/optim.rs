//! Optimiser updates, per element, with PyTorch's formulas (`torch.optim`,
//! single-tensor implementation, no weight decay): written once here, they
//! run natively and can be traced into IPU vertices like the neuron steps.
//!
//! The scalars that depend only on the step (bias corrections, the step
//! size) are computed once per step in `f64`, as PyTorch computes them in
//! Python floats, and rounded to the parameters' precision; every
//! per-element operation is one rounding in that precision.

use crate::error::{check_len, Error};
use crate::real::Real;

/// Adam's per-step constants, by name, in the order of
/// [`Adam::constants`]: the lerp form flag (1 when `1 - beta1 < 0.5`),
/// `w = 1 - beta1`, `1 - w`, `beta2`, `1 - beta2`,
/// `sqrt(1 - beta2^t)`, `eps`, `-lr / (1 - beta1^t)`.
pub const ADAM_CONSTANT_NAMES: [&str; ADAM_CONSTANTS] = [
    "lerp_low",
    "lerp_weight",
    "lerp_complement",
    "beta2",
    "one_minus_beta2",
    "bias_correction2_sqrt",
    "eps",
    "neg_step_size",
];

/// The number of Adam's per-step constants.
pub const ADAM_CONSTANTS: usize = 8;

/// SGD's per-step constants, in the order of [`Sgd::constants`]: the
/// first-step flag (1 on the first step), `momentum`, `-lr`.
pub const SGD_CONSTANT_NAMES: [&str; SGD_CONSTANTS] = ["first", "momentum", "neg_lr"];

/// The number of SGD's per-step constants.
pub const SGD_CONSTANTS: usize = 3;

/// Adam's per-step constants.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Adam<T> {
    /// `1 - beta1`: the weight of `lerp(m, g, 1 - beta1)`.
    lerp_weight: T,
    /// True when `1 - beta1 < 0.5` (PyTorch's `lerp` then computes
    /// `m + w·(g - m)`, else `g - (g - m)·(1 - w)`).
    lerp_low: bool,
    /// `1 - w`, for the other form.
    lerp_complement: T,
    /// `beta2`.
    beta2: T,
    /// `1 - beta2`.
    one_minus_beta2: T,
    /// `sqrt(1 - beta2^t)`.
    bias_correction2_sqrt: T,
    /// `eps`.
    eps: T,
    /// `-lr / (1 - beta1^t)`.
    neg_step_size: T,
}

impl<T: Real> Adam<T> {
    /// The constants of step `step` (counted from 1) for learning rate
    /// `lr`, `betas = (beta1, beta2)` and `eps` (PyTorch's defaults:
    /// `(0.9, 0.999)`, `1e-8`).
    pub fn at_step(lr: f64, beta1: f64, beta2: f64, eps: f64, step: u64) -> Adam<T> {
        let bias_correction1 = 1.0 - power(beta1, step);
        let bias_correction2 = 1.0 - power(beta2, step);
        let w = 1.0 - beta1;
        let weight = T::constant(w);
        Adam {
            lerp_weight: weight,
            lerp_low: w < 0.5,
            lerp_complement: T::one() - weight,
            beta2: T::constant(beta2),
            one_minus_beta2: T::constant(1.0 - beta2),
            bias_correction2_sqrt: T::constant(crate::math::sqrt(bias_correction2)),
            eps: T::constant(eps),
            neg_step_size: T::constant(-(lr / bias_correction1)),
        }
    }

    /// The per-step constants as values, in the order of
    /// [`ADAM_CONSTANTS`]; the lerp form (`1 - beta1 < 0.5`) as 1 or 0.
    /// What an IPU graph streams in each step.
    pub fn constants(&self) -> [T; ADAM_CONSTANTS] {
        [
            if self.lerp_low { T::one() } else { T::zero() },
            self.lerp_weight,
            self.lerp_complement,
            self.beta2,
            self.one_minus_beta2,
            self.bias_correction2_sqrt,
            self.eps,
            self.neg_step_size,
        ]
    }

    /// The optimiser with these per-step constants (the order of
    /// [`ADAM_CONSTANTS`]; the first is replaced by `lerp_low`).
    pub fn from_constants(c: [T; ADAM_CONSTANTS], lerp_low: bool) -> Adam<T> {
        Adam {
            lerp_low,
            lerp_weight: c[1],
            lerp_complement: c[2],
            beta2: c[3],
            one_minus_beta2: c[4],
            bias_correction2_sqrt: c[5],
            eps: c[6],
            neg_step_size: c[7],
        }
    }

    /// One element: `m ← lerp(m, g, 1 - beta1)`,
    /// `v ← v·beta2 + ((1 - beta2)·g)·g`,
    /// `p ← p + (-step_size·m) / (sqrt(v) / sqrt(1 - beta2^t) + eps)`.
    /// Returns `(p, m, v)`.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn update(&self, p: T, g: T, m: T, v: T) -> (T, T, T) {
        let m = if self.lerp_low {
            m + self.lerp_weight * (g - m)
        } else {
            g - (g - m) * self.lerp_complement
        };
        let v = v * self.beta2 + (self.one_minus_beta2 * g) * g;
        let denom = v.sqrt() / self.bias_correction2_sqrt + self.eps;
        let p = p + (self.neg_step_size * m) / denom;
        (p, m, v)
    }

    /// [`Adam::update`] over whole tensors.
    pub fn apply(
        &self,
        params: &mut [T],
        grads: &[T],
        m: &mut [T],
        v: &mut [T],
    ) -> Result<(), Error> {
        check_len("gradients", grads.len(), params.len())?;
        check_len("first moments", m.len(), params.len())?;
        check_len("second moments", v.len(), params.len())?;
        for (((p, &g), m), v) in params
            .iter_mut()
            .zip(grads)
            .zip(m.iter_mut())
            .zip(v.iter_mut())
        {
            (*p, *m, *v) = self.update(*p, g, *m, *v);
        }
        Ok(())
    }
}

/// `x^n` by repeated squaring, in `f64`.
fn power(x: f64, n: u64) -> f64 {
    let (mut result, mut base, mut n) = (1.0, x, n);
    while n > 0 {
        if n & 1 == 1 {
            result *= base;
        }
        base *= base;
        n >>= 1;
    }
    result
}

/// SGD with momentum (no dampening, no Nesterov).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sgd<T> {
    /// `momentum`.
    momentum: T,
    /// `-lr`.
    neg_lr: T,
}

impl<T: Real> Sgd<T> {
    /// The constants for learning rate `lr` and `momentum`.
    pub fn new(lr: f64, momentum: f64) -> Sgd<T> {
        Sgd {
            momentum: T::constant(momentum),
            neg_lr: T::constant(-lr),
        }
    }

    /// The per-step constants as values, in the order of
    /// [`SGD_CONSTANTS`]: `first` (1 on the first step, else 0),
    /// `momentum`, `-lr`.
    pub fn constants(&self, first: bool) -> [T; SGD_CONSTANTS] {
        [
            if first { T::one() } else { T::zero() },
            self.momentum,
            self.neg_lr,
        ]
    }

    /// The optimiser with these constants (the order of
    /// [`SGD_CONSTANTS`]; the first-step flag is not part of it).
    pub fn from_constants(c: [T; SGD_CONSTANTS]) -> Sgd<T> {
        Sgd {
            momentum: c[1],
            neg_lr: c[2],
        }
    }

    /// One element: `buf ← g` on the first step, `buf ← buf·momentum + g`
    /// after; `p ← p + (-lr)·buf`. Returns `(p, buf)`.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn update(&self, p: T, g: T, buf: T, first: bool) -> (T, T) {
        let buf = if first { g } else { buf * self.momentum + g };
        (p + self.neg_lr * buf, buf)
    }

    /// [`Sgd::update`] over whole tensors.
    pub fn apply(
        &self,
        params: &mut [T],
        grads: &[T],
        buffers: &mut [T],
        first: bool,
    ) -> Result<(), Error> {
        check_len("gradients", grads.len(), params.len())?;
        check_len("momentum buffers", buffers.len(), params.len())?;
        for ((p, &g), b) in params.iter_mut().zip(grads).zip(buffers.iter_mut()) {
            (*p, *b) = self.update(*p, g, *b, first);
        }
        Ok(())
    }
}

/// The factor `torch.nn.utils.clip_grad_norm_` multiplies every gradient by:
/// `min(max_norm / (norm + 1e-6), 1)`, given the total 2-norm of all
/// gradients.
pub fn clip_factor(norm: f64, max_norm: f64) -> f64 {
    (max_norm / (norm + 1e-6)).min(1.0)
}
