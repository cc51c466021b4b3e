//! Lapicque: the RC-circuit neuron (snnTorch `Lapicque`).
//!
//! Resistance `R`, capacitance `C` and time step `dt` (snnTorch's
//! `time_step`, default 1), given directly or derived from `beta`:
//!
//! | given | derived |
//! | --- | --- |
//! | `R`, `C` | nothing (`beta = exp(-dt/(R·C))` is not used by the step) |
//! | `beta` | `R = 1`, `C = dt / (R·ln(1/beta))` |
//! | `beta`, `R` | `C = dt / (R·ln(1/beta))` |
//! | `beta`, `C` | `R = dt / (C·ln(1/beta))` |
//!
//! With the detached reset `r = H(mem[t-1] - thr)`:
//! `base = x[t]·R·(1/(R·C))·dt + (1 - dt/(R·C))·mem[t-1]` (left to right),
//! subtract: `base - r·thr`; zero: `base - r·base`; none: `base`; then
//! `spk[t] = H(mem[t] - thr)`. No `reset_delay` option. Gradients flow to
//! `threshold` and to whichever of `beta`, `R`, `C`, `time_step` are used.

use super::common::{fire, fire_backward, reset_signal, Fired};
use crate::model::{
    is_finite, model_names, no_gradients, zeros, BackIn, Model, Params, Prepared, Refused, Reset,
    States, StepGrads, StepIn,
};
use crate::real::Real;
use crate::surrogate::{SpikeFn, Surrogate};

/// Which of `beta`, `R`, `C` the user gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LapicqueGiven {
    /// `R` and `C`.
    RC,
    /// `beta` only (`R = 1`).
    Beta,
    /// `beta` and `R`.
    BetaR,
    /// `beta` and `C`.
    BetaC,
}

impl LapicqueGiven {
    /// All four combinations.
    pub const ALL: [LapicqueGiven; 4] = [
        LapicqueGiven::RC,
        LapicqueGiven::Beta,
        LapicqueGiven::BetaR,
        LapicqueGiven::BetaC,
    ];

    /// The combination for what is given, or `None` when it is not enough or
    /// too much (snnTorch needs `beta`, or two of `beta`, `R`, `C`; giving all
    /// three is refused because they could disagree).
    pub const fn from_given(beta: bool, r: bool, c: bool) -> Option<LapicqueGiven> {
        match (beta, r, c) {
            (false, true, true) => Some(LapicqueGiven::RC),
            (true, false, false) => Some(LapicqueGiven::Beta),
            (true, true, false) => Some(LapicqueGiven::BetaR),
            (true, false, true) => Some(LapicqueGiven::BetaC),
            _ => None,
        }
    }
}

/// snnTorch's `Lapicque` neuron.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lapicque {
    /// `reset_mechanism` (default subtract).
    pub reset: Reset,
    /// Which of `beta`, `R`, `C` are given (the others' parameter values are
    /// ignored).
    pub given: LapicqueGiven,
}

impl Lapicque {
    /// A Lapicque neuron from what is given, with a clear error when the
    /// combination is not one snnTorch accepts.
    pub fn new(reset: Reset, beta: bool, r: bool, c: bool) -> Result<Lapicque, crate::Error> {
        match LapicqueGiven::from_given(beta, r, c) {
            Some(given) => Ok(Lapicque { reset, given }),
            None => Err(crate::Error::InvalidConfiguration {
                model: "lapicque",
                reason: "give beta alone, R and C, or beta with one of R and C",
            }),
        }
    }
}

model_names! {
    mod names {
        states: MEM = "mem";
        inputs: X = "x";
        params: BETA = "beta", R_RAW = "r", C_RAW = "c", TIME_STEP = "time_step",
            THRESHOLD_RAW = "threshold";
        prepared: R = "r", INV_RC = "inv_rc", DT = "dt", LEAK = "leak", THRESHOLD = "threshold";
    }
}
use names::{input::X, param::*, prepared::*, state::MEM};

/// `R` and `C` from the raw parameters, with the values the backward pass
/// needs: `L = ln(1/beta)`, `1/beta`, and the product that divides `dt`.
struct Derived<T> {
    r: T,
    c: T,
    inverse_beta: T,
    log_inverse_beta: T,
    /// `R·L` (beta, beta and R) or `C·L` (beta and C).
    product: T,
}

#[cfg_attr(not(debug_assertions), inline(always))]
fn derive<T: Real>(given: LapicqueGiven, raw: &Params<T>) -> Derived<T> {
    let dt = raw[TIME_STEP];
    let inverse_beta = T::one() / raw[BETA];
    let log_inverse_beta = inverse_beta.ln();
    match given {
        LapicqueGiven::RC => Derived {
            r: raw[R_RAW],
            c: raw[C_RAW],
            inverse_beta,
            log_inverse_beta,
            product: T::one(),
        },
        LapicqueGiven::Beta | LapicqueGiven::BetaR => {
            let r = if given == LapicqueGiven::Beta {
                T::one()
            } else {
                raw[R_RAW]
            };
            let product = r * log_inverse_beta;
            Derived {
                r,
                c: dt / product,
                inverse_beta,
                log_inverse_beta,
                product,
            }
        }
        LapicqueGiven::BetaC => {
            let product = raw[C_RAW] * log_inverse_beta;
            Derived {
                r: dt / product,
                c: raw[C_RAW],
                inverse_beta,
                log_inverse_beta,
                product,
            }
        }
    }
}

impl Lapicque {
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn forward<T: Real, S: Surrogate>(
        &self,
        p: &Prepared<T>,
        mem_prev: T,
        x: T,
        spike: &SpikeFn<T>,
    ) -> (T, Fired<T>) {
        let threshold = p[THRESHOLD];
        let r = reset_signal(mem_prev, threshold);
        let base = x * p[R] * p[INV_RC] * p[DT] + p[LEAK] * mem_prev;
        let mem = match self.reset {
            Reset::Subtract => base - r * threshold,
            Reset::Zero => base - r * base,
            Reset::None => base,
        };
        (mem, fire::<T, S>(mem, threshold, None, spike))
    }
}

impl Model for Lapicque {
    const NAME: &'static str = "lapicque";
    const STATES: &'static [&'static str] = names::STATES;
    const INPUTS: &'static [&'static str] = names::INPUTS;
    const PARAMS: &'static [&'static str] = names::PARAMS;
    const PREPARED: &'static [&'static str] = names::PREPARED;

    const CONFIGURATIONS: usize = 12;

    #[cfg_attr(not(debug_assertions), inline(always))]
    fn config_index(&self) -> usize {
        self.reset as usize * 4 + self.given as usize
    }

    #[cfg_attr(not(debug_assertions), inline(always))]
    fn from_config_index(index: usize) -> Self {
        Lapicque {
            reset: Reset::ALL[(index / 4) % 3],
            given: LapicqueGiven::ALL[index % 4],
        }
    }

    crate::specialize_configurations!(0 1 2 3 4 5 6 7 8 9 10 11);

    fn variant(&self) -> &'static str {
        match (self.reset, self.given) {
            (Reset::Subtract, LapicqueGiven::RC) => "subtract_rc",
            (Reset::Subtract, LapicqueGiven::Beta) => "subtract_beta",
            (Reset::Subtract, LapicqueGiven::BetaR) => "subtract_beta_r",
            (Reset::Subtract, LapicqueGiven::BetaC) => "subtract_beta_c",
            (Reset::Zero, LapicqueGiven::RC) => "zero_rc",
            (Reset::Zero, LapicqueGiven::Beta) => "zero_beta",
            (Reset::Zero, LapicqueGiven::BetaR) => "zero_beta_r",
            (Reset::Zero, LapicqueGiven::BetaC) => "zero_beta_c",
            (Reset::None, LapicqueGiven::RC) => "none_rc",
            (Reset::None, LapicqueGiven::Beta) => "none_beta",
            (Reset::None, LapicqueGiven::BetaR) => "none_beta_r",
            (Reset::None, LapicqueGiven::BetaC) => "none_beta_c",
        }
    }

    fn uses_param(&self, k: usize) -> bool {
        match k {
            BETA => self.given != LapicqueGiven::RC,
            R_RAW => matches!(self.given, LapicqueGiven::RC | LapicqueGiven::BetaR),
            C_RAW => matches!(self.given, LapicqueGiven::RC | LapicqueGiven::BetaC),
            _ => true,
        }
    }

    /// The ranges (`beta` in `(0, 1)`; `R`, `C`, `time_step` positive), then
    /// every value `prepare` and `prepare_backward` compute from the
    /// parameters alone, in the layer's precision: `1/beta`, `ln(1/beta)`,
    /// the product that divides `time_step` and the `R` or `C` derived from
    /// it, `R·C`, `1/(R·C)`, `time_step/(R·C)`, and the quotients the
    /// gradient takes of them, must be finite, and those divided by nonzero.
    fn check<T: Real<Mask = bool>>(&self, raw: &Params<T>) -> Result<(), Refused> {
        let (zero, one) = (T::zero(), T::one());
        let refuse = |k: usize, reason: &'static str| {
            Err(Refused {
                parameter: names::PARAMS[k],
                reason,
            })
        };
        let uses_beta = self.uses_param(BETA);
        if uses_beta && !(raw[BETA].gt(zero) && raw[BETA].lt(one)) {
            return refuse(BETA, "must be in (0, 1) to derive R or C from it");
        }
        if self.uses_param(R_RAW) && !raw[R_RAW].gt(zero) {
            return refuse(R_RAW, "must be positive (R is a resistance)");
        }
        if self.uses_param(C_RAW) && !raw[C_RAW].gt(zero) {
            return refuse(C_RAW, "must be positive (C is a capacitance)");
        }
        if !raw[TIME_STEP].gt(zero) {
            return refuse(TIME_STEP, "must be positive");
        }
        let d = derive(self.given, raw);
        let dt = raw[TIME_STEP];
        let positive = |x: T| x.gt(zero) && is_finite(x);
        if uses_beta && !(positive(d.log_inverse_beta) && is_finite(d.inverse_beta / raw[BETA])) {
            return refuse(
                BETA,
                "is too close to 0 or 1: ln(1/beta) must be positive and finite in the layer's \
                 precision, and 1/beta² finite (the gradient of beta); move beta towards 0.5",
            );
        }
        let (derived, derived_param) = match self.given {
            LapicqueGiven::RC => (None, R_RAW),
            LapicqueGiven::Beta => (Some(d.c), BETA),
            LapicqueGiven::BetaR => (Some(d.c), R_RAW),
            LapicqueGiven::BetaC => (Some(d.r), C_RAW),
        };
        if let Some(derived) = derived {
            if !(positive(d.product) && positive(derived) && is_finite(derived / d.product)) {
                return refuse(
                    derived_param,
                    "gives a derived R or C (time_step / (R·ln(1/beta)), or with C) that is 0 \
                     or overflows the layer's precision, or whose gradient does; bring R or C, \
                     beta and time_step closer to 1",
                );
            }
        }
        let rc = d.r * d.c;
        let inv_rc = one / rc;
        let dt_over_rc = dt / rc;
        let finite = positive(rc)
            && is_finite(inv_rc)
            && is_finite(dt_over_rc)
            && is_finite(inv_rc / rc)
            && is_finite(dt_over_rc / rc);
        if !finite {
            return refuse(
                derived_param,
                "gives an R·C that is 0 or too small or too large for the layer's precision: \
                 R·C, 1/(R·C), time_step/(R·C) and their gradients (divided once more by R·C) \
                 must be finite and R·C nonzero; bring R·C closer to 1 or reduce time_step",
            );
        }
        Ok(())
    }

    #[cfg_attr(not(debug_assertions), inline(always))]
    fn prepare<T: Real>(&self, raw: &Params<T>) -> Prepared<T> {
        let d = derive(self.given, raw);
        let dt = raw[TIME_STEP];
        let rc = d.r * d.c;
        let mut p = zeros();
        p[R] = d.r;
        p[INV_RC] = T::one() / rc;
        p[DT] = dt;
        p[LEAK] = T::one() - dt / rc;
        p[THRESHOLD] = raw[THRESHOLD_RAW];
        p
    }

    /// The reverse of `prepare`, operation by operation: `leak = 1 - dt/rc`,
    /// `inv_rc = 1/rc`, `rc = R·C`, then what derived `R` or `C`.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn prepare_backward<T: Real>(&self, raw: &Params<T>, grad: &Prepared<T>) -> Params<T> {
        let d = derive(self.given, raw);
        let dt = raw[TIME_STEP];
        let rc = d.r * d.c;
        let inv_rc = T::one() / rc;
        let dt_over_rc = dt / rc;
        // leak = 1 - dt_over_rc; dt_over_rc = dt / rc; inv_rc = 1 / rc
        let grad_dt_over_rc = -grad[LEAK];
        let mut grad_dt = grad[DT] + grad_dt_over_rc / rc;
        let grad_rc = -grad_dt_over_rc * (dt_over_rc / rc) + -grad[INV_RC] * (inv_rc / rc);
        // rc = R·C
        let grad_r = grad[R] + grad_rc * d.c;
        let grad_c = grad_rc * d.r;
        let mut g = no_gradients();
        let grad_log_inverse_beta = match self.given {
            LapicqueGiven::RC => {
                g[R_RAW] = grad_r;
                g[C_RAW] = grad_c;
                None
            }
            LapicqueGiven::Beta | LapicqueGiven::BetaR => {
                // C = dt / product, product = R·L
                grad_dt = grad_dt + grad_c / d.product;
                let grad_product = -grad_c * (d.c / d.product);
                if self.given == LapicqueGiven::BetaR {
                    g[R_RAW] = grad_r + grad_product * d.log_inverse_beta;
                }
                Some(grad_product * d.r)
            }
            LapicqueGiven::BetaC => {
                // R = dt / product, product = C·L
                grad_dt = grad_dt + grad_r / d.product;
                let grad_product = -grad_r * (d.r / d.product);
                g[C_RAW] = grad_c + grad_product * d.log_inverse_beta;
                Some(grad_product * raw[C_RAW])
            }
        };
        if let Some(grad_log) = grad_log_inverse_beta {
            // L = ln(inverse), inverse = 1 / beta
            let grad_inverse = grad_log / d.inverse_beta;
            g[BETA] = -grad_inverse * (d.inverse_beta / raw[BETA]);
        }
        g[TIME_STEP] = grad_dt;
        g[THRESHOLD_RAW] = grad[THRESHOLD];
        g
    }

    #[cfg_attr(not(debug_assertions), inline(always))]
    fn step<T: Real, S: Surrogate>(&self, at: &StepIn<'_, T>) -> (States<T>, T) {
        let (p, prev, inputs, spike) = at.parts();
        let (mem, fired) = self.forward::<T, S>(p, prev[MEM], inputs[X], spike);
        let mut next = zeros();
        next[MEM] = mem;
        (next, fired.spk)
    }

    #[cfg_attr(not(debug_assertions), inline(always))]
    fn step_backward<T: Real, S: Surrogate>(
        &self,
        at: &StepIn<'_, T>,
        back: &BackIn<'_, T>,
    ) -> StepGrads<T> {
        let (p, prev, inputs, spike) = at.parts();
        let (_, grad_spike, grad_next) = back.parts();
        let (mem_prev, x) = (prev[MEM], inputs[X]);
        let threshold = p[THRESHOLD];
        let r = reset_signal(mem_prev, threshold);
        let (_, fired) = self.forward::<T, S>(p, mem_prev, x, spike);
        let fg = fire_backward::<T, S>(&fired, None, spike, grad_spike);
        let grad_mem = grad_next[MEM] + fg.mem;
        let mut grad_threshold = fg.threshold;
        let grad_base = match self.reset {
            Reset::Subtract => {
                grad_threshold = grad_threshold - grad_mem * r;
                grad_mem
            }
            Reset::Zero => grad_mem - grad_mem * r,
            Reset::None => grad_mem,
        };
        // base = ((x·R)·inv_rc)·dt + leak·mem[t-1]
        let x_r = x * p[R];
        let x_r_inv = x_r * p[INV_RC];
        let grad_x_r_inv = grad_base * p[DT];
        let grad_x_r = grad_x_r_inv * p[INV_RC];
        let mut grads = StepGrads::none();
        grads.prev[MEM] = grad_base * p[LEAK];
        grads.inputs[X] = grad_x_r * p[R];
        grads.prepared[R] = grad_x_r * x;
        grads.prepared[INV_RC] = grad_x_r_inv * x_r;
        grads.prepared[DT] = grad_base * x_r_inv;
        grads.prepared[LEAK] = grad_base * mem_prev;
        grads.prepared[THRESHOLD] = grad_threshold;
        grads
    }
}
