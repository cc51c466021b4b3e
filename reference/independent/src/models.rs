//! The neuron models, written plainly from `docs/neurons.md` and snnTorch's code:
//! one time step of one element, recorded on a [`Tape`]. Each formula is
//! evaluated left to right as written, one rounding per operation.
//!
//! Notation: `r = H(mem[t-1] - thr)` is the detached reset signal (the
//! Heaviside step records no gradient), `spike(z)` the spike function.

use crate::surrogates::Surrogate;
use crate::tape::{Tape, Var};

/// snnTorch's `reset_mechanism`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reset {
    /// `"subtract"`.
    Subtract,
    /// `"zero"`.
    Zero,
    /// `"none"`.
    None,
}

impl Reset {
    /// All three.
    pub const ALL: [Reset; 3] = [Reset::Subtract, Reset::Zero, Reset::None];

    /// snnTorch's name.
    pub fn name(self) -> &'static str {
        match self {
            Reset::Subtract => "subtract",
            Reset::Zero => "zero",
            Reset::None => "none",
        }
    }
}

/// Which of beta, R, C a Lapicque neuron is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Given {
    /// R and C.
    Rc,
    /// beta only (R = 1).
    Beta,
    /// beta and R.
    BetaR,
    /// beta and C.
    BetaC,
}

impl Given {
    /// All four.
    pub const ALL: [Given; 4] = [Given::Rc, Given::Beta, Given::BetaR, Given::BetaC];

    /// The suffix used in configuration names.
    pub fn name(self) -> &'static str {
        match self {
            Given::Rc => "rc",
            Given::Beta => "beta",
            Given::BetaR => "beta_r",
            Given::BetaC => "beta_c",
        }
    }
}

/// What a layer type has ([`ModelSpec::layout`]).
struct Layout {
    name: &'static str,
    states: &'static [&'static str],
    inputs: &'static [&'static str],
    params: &'static [&'static str],
}

/// A model and its configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ModelSpec {
    /// `Leaky`.
    Leaky { reset: Reset, reset_delay: bool },
    /// `Synaptic`.
    Synaptic { reset: Reset, reset_delay: bool },
    /// `Alpha`.
    Alpha { reset: Reset },
    /// `Lapicque`.
    Lapicque { reset: Reset, given: Given },
    /// `RLeaky`, one-to-one (`V`) or all-to-all (`rec` input) recurrence.
    RLeaky {
        reset: Reset,
        reset_delay: bool,
        all_to_all: bool,
    },
    /// `RSynaptic`, one-to-one or all-to-all recurrence.
    RSynaptic {
        reset: Reset,
        reset_delay: bool,
        all_to_all: bool,
    },
}

impl ModelSpec {
    /// Every configuration of every model.
    pub fn all() -> Vec<ModelSpec> {
        let mut all = Vec::new();
        for reset in Reset::ALL {
            for reset_delay in [true, false] {
                all.push(ModelSpec::Leaky { reset, reset_delay });
                all.push(ModelSpec::Synaptic { reset, reset_delay });
                for all_to_all in [false, true] {
                    all.push(ModelSpec::RLeaky {
                        reset,
                        reset_delay,
                        all_to_all,
                    });
                    all.push(ModelSpec::RSynaptic {
                        reset,
                        reset_delay,
                        all_to_all,
                    });
                }
            }
            all.push(ModelSpec::Alpha { reset });
            for given in Given::ALL {
                all.push(ModelSpec::Lapicque { reset, given });
            }
        }
        all
    }

    /// The layer type's name, its state variables (the spike state of
    /// one-to-one recurrence last), input streams and raw parameters (in
    /// order): one row per layer type.
    fn layout(&self) -> Layout {
        match self {
            ModelSpec::Leaky { .. } => Layout {
                name: "leaky",
                states: &["mem"],
                inputs: &["x"],
                params: &["beta", "threshold", "graded"],
            },
            ModelSpec::Synaptic { .. } => Layout {
                name: "synaptic",
                states: &["syn", "mem"],
                inputs: &["x"],
                params: &["alpha", "beta", "threshold"],
            },
            ModelSpec::Alpha { .. } => Layout {
                name: "alpha",
                states: &["syn_exc", "syn_inh", "mem"],
                inputs: &["x"],
                params: &["alpha", "beta", "threshold"],
            },
            ModelSpec::Lapicque { .. } => Layout {
                name: "lapicque",
                states: &["mem"],
                inputs: &["x"],
                params: &["beta", "r", "c", "time_step", "threshold"],
            },
            ModelSpec::RLeaky {
                all_to_all: false, ..
            } => Layout {
                name: "rleaky",
                states: &["mem", "spk"],
                inputs: &["x"],
                params: &["beta", "v", "threshold"],
            },
            ModelSpec::RLeaky {
                all_to_all: true, ..
            } => Layout {
                name: "rleaky_all_to_all",
                states: &["mem"],
                inputs: &["x", "rec"],
                params: &["beta", "threshold"],
            },
            ModelSpec::RSynaptic {
                all_to_all: false, ..
            } => Layout {
                name: "rsynaptic",
                states: &["syn", "mem", "spk"],
                inputs: &["x"],
                params: &["alpha", "beta", "v", "threshold"],
            },
            ModelSpec::RSynaptic {
                all_to_all: true, ..
            } => Layout {
                name: "rsynaptic_all_to_all",
                states: &["syn", "mem"],
                inputs: &["x", "rec"],
                params: &["alpha", "beta", "threshold"],
            },
        }
    }

    /// The model's name (snake case, the kernels' names).
    pub fn name(&self) -> &'static str {
        self.layout().name
    }

    /// The configuration, as in vertex names: `"subtract"`, `"zero_nodelay"`,
    /// `"none_beta_r"`, ...
    pub fn variant(&self) -> String {
        let with_delay = |reset: &Reset, delay: &bool| {
            if *delay {
                reset.name().to_string()
            } else {
                format!("{}_nodelay", reset.name())
            }
        };
        match self {
            ModelSpec::Leaky { reset, reset_delay }
            | ModelSpec::Synaptic { reset, reset_delay }
            | ModelSpec::RLeaky {
                reset, reset_delay, ..
            }
            | ModelSpec::RSynaptic {
                reset, reset_delay, ..
            } => with_delay(reset, reset_delay),
            ModelSpec::Alpha { reset } => reset.name().to_string(),
            ModelSpec::Lapicque { reset, given } => format!("{}_{}", reset.name(), given.name()),
        }
    }

    /// State variables (the spike state of one-to-one recurrence last).
    pub fn states(&self) -> &'static [&'static str] {
        self.layout().states
    }

    /// The states a step returns as outputs: all but the spike state.
    pub fn stored_states(&self) -> &'static [&'static str] {
        let states = self.states();
        &states[..states.len() - self.has_spike_state() as usize]
    }

    /// True when the last state is the previous spike.
    pub fn has_spike_state(&self) -> bool {
        matches!(
            self,
            ModelSpec::RLeaky {
                all_to_all: false,
                ..
            } | ModelSpec::RSynaptic {
                all_to_all: false,
                ..
            }
        )
    }

    /// Input streams.
    pub fn inputs(&self) -> &'static [&'static str] {
        self.layout().inputs
    }

    /// Raw parameters, in order.
    pub fn params(&self) -> &'static [&'static str] {
        self.layout().params
    }

    /// True for models with the `reset_delay = false` option set to false.
    fn immediate(&self) -> Option<Reset> {
        match *self {
            ModelSpec::Leaky {
                reset,
                reset_delay: false,
            }
            | ModelSpec::Synaptic {
                reset,
                reset_delay: false,
            }
            | ModelSpec::RLeaky {
                reset,
                reset_delay: false,
                ..
            }
            | ModelSpec::RSynaptic {
                reset,
                reset_delay: false,
                ..
            } => Some(reset),
            _ => None,
        }
    }

    /// The per-neuron constants of a step, from the raw parameters (tape
    /// leaves, in [`ModelSpec::params`] order).
    pub fn prepare(&self, t: &mut Tape, raw: &[Var]) -> Vec<Var> {
        match *self {
            ModelSpec::Leaky { .. } => vec![t.clamp01(raw[0]), raw[1], raw[2]],
            ModelSpec::Synaptic { .. }
            | ModelSpec::RSynaptic {
                all_to_all: true, ..
            } => {
                vec![t.clamp01(raw[0]), t.clamp01(raw[1]), raw[2]]
            }
            ModelSpec::RSynaptic {
                all_to_all: false, ..
            } => {
                vec![t.clamp01(raw[0]), t.clamp01(raw[1]), raw[2], raw[3]]
            }
            ModelSpec::RLeaky {
                all_to_all: false, ..
            } => vec![t.clamp01(raw[0]), raw[1], raw[2]],
            ModelSpec::RLeaky {
                all_to_all: true, ..
            } => vec![t.clamp01(raw[0]), raw[1]],
            ModelSpec::Alpha { .. } => {
                // tau = ln a / (ln b - ln a) + 1
                let a = t.clamp01(raw[0]);
                let b = t.clamp01(raw[1]);
                let ln_a = t.ln(a);
                let ln_b = t.ln(b);
                let difference = t.sub(ln_b, ln_a);
                let quotient = t.div(ln_a, difference);
                let one = t.constant(1.0);
                let tau = t.add(quotient, one);
                vec![a, b, raw[2], tau]
            }
            ModelSpec::Lapicque { given, .. } => {
                let (beta, r_raw, c_raw, dt, threshold) = (raw[0], raw[1], raw[2], raw[3], raw[4]);
                let log_inverse_beta = |t: &mut Tape| {
                    let one = t.constant(1.0);
                    let inverse = t.div(one, beta);
                    t.ln(inverse)
                };
                let (r, c) = match given {
                    Given::Rc => (r_raw, c_raw),
                    Given::Beta => {
                        let r = t.constant(1.0);
                        let l = log_inverse_beta(t);
                        let rl = t.mul(r, l);
                        (r, t.div(dt, rl))
                    }
                    Given::BetaR => {
                        let l = log_inverse_beta(t);
                        let rl = t.mul(r_raw, l);
                        (r_raw, t.div(dt, rl))
                    }
                    Given::BetaC => {
                        let l = log_inverse_beta(t);
                        let cl = t.mul(c_raw, l);
                        (t.div(dt, cl), c_raw)
                    }
                };
                let rc = t.mul(r, c);
                let one = t.constant(1.0);
                let inv_rc = t.div(one, rc);
                let dt_over_rc = t.div(dt, rc);
                let leak = t.sub(one, dt_over_rc);
                vec![r, inv_rc, dt, leak, threshold]
            }
        }
    }

    /// One step: the states after it and the spike. `p`: the prepared
    /// constants; `prev`: the states before the step; `inputs`: this step's
    /// inputs; `noise`: the stochastic surrogate's random number.
    pub fn step(
        &self,
        t: &mut Tape,
        surrogate: Surrogate,
        noise: f64,
        p: &[Var],
        prev: &[Var],
        inputs: &[Var],
    ) -> (Vec<Var>, Var) {
        match *self {
            ModelSpec::Leaky { reset, .. } => {
                let (b, threshold, graded) = (p[0], p[1], p[2]);
                let (mem_prev, x) = (prev[0], inputs[0]);
                let r = reset_signal(t, mem_prev, threshold);
                let base = match reset {
                    Reset::Subtract => {
                        let decayed = t.mul(b, mem_prev);
                        let driven = t.add(decayed, x);
                        t.sub_product(driven, r, threshold)
                    }
                    Reset::Zero => {
                        let one = t.constant(1.0);
                        let kept = t.sub(one, r);
                        let kept_mem = t.mul(kept, mem_prev);
                        let decayed = t.mul(b, kept_mem);
                        t.add(decayed, x)
                    }
                    Reset::None => {
                        let decayed = t.mul(b, mem_prev);
                        t.add(decayed, x)
                    }
                };
                let h = fire(t, base, threshold, surrogate, noise);
                let spk = t.mul(h, graded);
                let mem = self.immediate_reset(t, base, spk, Some(graded), r, threshold);
                (vec![mem], spk)
            }
            ModelSpec::Synaptic { reset, .. } => {
                let (a, b, threshold) = (p[0], p[1], p[2]);
                let (syn_prev, mem_prev, x) = (prev[0], prev[1], inputs[0]);
                let r = reset_signal(t, mem_prev, threshold);
                let syn_current = |t: &mut Tape| {
                    let decayed_syn = t.mul(a, syn_prev);
                    t.add(decayed_syn, x)
                };
                let (syn, mem, spk) = self.synaptic_membrane(
                    t,
                    surrogate,
                    noise,
                    reset,
                    [b, threshold, mem_prev, r],
                    syn_current,
                );
                (vec![syn, mem], spk)
            }
            ModelSpec::RSynaptic {
                reset, all_to_all, ..
            } => {
                let (a, b) = (p[0], p[1]);
                let (syn_prev, mem_prev, x) = (prev[0], prev[1], inputs[0]);
                // the threshold is the last constant (after `V` one-to-one)
                let threshold = p[p.len() - 1];
                let r = reset_signal(t, mem_prev, threshold);
                // the recurrent input is part of the synaptic current (computed
                // after the reset signal, as snnTorch does), so it is
                // evaluated twice with the zero reset
                let syn_current = |t: &mut Tape| {
                    let decayed_syn = t.mul(a, syn_prev);
                    let driven = t.add(decayed_syn, x);
                    let (rec, _) = recurrence(t, all_to_all, &p[2..], prev, inputs);
                    t.add(driven, rec)
                };
                let (syn, mem, spk) = self.synaptic_membrane(
                    t,
                    surrogate,
                    noise,
                    reset,
                    [b, threshold, mem_prev, r],
                    syn_current,
                );
                self.with_spike_state(vec![syn, mem], spk)
            }
            ModelSpec::RLeaky {
                reset, all_to_all, ..
            } => {
                let b = p[0];
                let (rec, threshold) = recurrence(t, all_to_all, &p[1..], prev, inputs);
                let (mem_prev, x) = (prev[0], inputs[0]);
                let r = reset_signal(t, mem_prev, threshold);
                let decayed = t.mul(b, mem_prev);
                let driven = t.add(decayed, x);
                let base = t.add(driven, rec);
                let before = reset_by(t, reset, base, r, threshold);
                let spk = fire(t, before, threshold, surrogate, noise);
                let mem = self.immediate_reset(t, before, spk, None, r, threshold);
                self.with_spike_state(vec![mem], spk)
            }
            ModelSpec::Alpha { reset } => {
                let (a, b, threshold, tau) = (p[0], p[1], p[2], p[3]);
                let (exc_prev, inh_prev, mem_prev, x) = (prev[0], prev[1], prev[2], inputs[0]);
                let r = reset_signal(t, mem_prev, threshold);
                let decayed_exc = t.mul(a, exc_prev);
                let exc_base = t.add(decayed_exc, x);
                let decayed_inh = t.mul(b, inh_prev);
                let inh_base = t.sub(decayed_inh, x);
                let sum = t.add(exc_base, inh_base);
                let mem_base = t.mul(tau, sum);
                let (exc, inh, mem) = match reset {
                    Reset::Subtract => {
                        let exc = t.sub_product(exc_base, threshold, r);
                        let inh = t.sub_product(inh_base, inh_base, r);
                        let negated = t.neg(inh_prev);
                        (exc, inh, t.sub_product(mem_base, negated, r))
                    }
                    Reset::Zero => {
                        // each minus its own base value times r
                        let [exc, inh, mem] =
                            [exc_base, inh_base, mem_base].map(|v| t.sub_product(v, v, r));
                        (exc, inh, mem)
                    }
                    Reset::None => (exc_base, inh_base, mem_base),
                };
                let spk = fire(t, mem, threshold, surrogate, noise);
                (vec![exc, inh, mem], spk)
            }
            ModelSpec::Lapicque { reset, .. } => {
                let (r_value, inv_rc, dt, leak, threshold) = (p[0], p[1], p[2], p[3], p[4]);
                let (mem_prev, x) = (prev[0], inputs[0]);
                let r = reset_signal(t, mem_prev, threshold);
                let scaled = t.mul(x, r_value);
                let scaled = t.mul(scaled, inv_rc);
                let scaled = t.mul(scaled, dt);
                let leaked = t.mul(leak, mem_prev);
                let base = t.add(scaled, leaked);
                let mem = reset_by(t, reset, base, r, threshold);
                let spk = fire(t, mem, threshold, surrogate, noise);
                (vec![mem], spk)
            }
        }
    }

    /// A step's result: the states and the spike, which is also the last
    /// state of one-to-one recurrence.
    fn with_spike_state(&self, mut states: Vec<Var>, spk: Var) -> (Vec<Var>, Var) {
        if self.has_spike_state() {
            states.push(spk);
        }
        (states, spk)
    }

    /// Synaptic's and RSynaptic's step from the synaptic current
    /// `syn_current` (which records `syn[t]` on the tape and may be called
    /// twice): `base = b·mem[t-1] + syn[t]`, the reset, firing and the
    /// immediate reset. `scalars`: `[b, thr, mem[t-1], r]`. Returns
    /// `(syn, mem, spk)`.
    ///
    /// The zero reset builds snnTorch's graph: snnTorch evaluates the state
    /// update a second time (`syn2 = a·syn[t-1] + x (+ rec)`, `base2 =
    /// b·mem[t-1] + syn2`: the values of `syn` and `base`, but separate
    /// operations) and resets `mem = base - base2·r`. So the gradient through
    /// `base2·r` flows back along its own branch, and `syn[t-1]`, `mem[t-1]`,
    /// `x`, the constants (and the recurrent input) each receive it before
    /// their contribution from `base`. (snnTorch also resets `syn -= 0·r`,
    /// which changes neither values nor gradients and is left out.)
    fn synaptic_membrane(
        &self,
        t: &mut Tape,
        surrogate: Surrogate,
        noise: f64,
        reset: Reset,
        scalars: [Var; 4],
        mut syn_current: impl FnMut(&mut Tape) -> Var,
    ) -> (Var, Var, Var) {
        let [b, threshold, mem_prev, r] = scalars;
        let mut membrane = |t: &mut Tape| {
            let syn = syn_current(t);
            let decayed = t.mul(b, mem_prev);
            (syn, t.add(decayed, syn))
        };
        let (syn, base) = membrane(t);
        let (syn, before) = match reset {
            Reset::Subtract => (syn, t.sub_product(base, r, threshold)),
            Reset::Zero => {
                let (_, base2) = membrane(t);
                (syn, t.sub_product(base, base2, r))
            }
            Reset::None => (syn, base),
        };
        let spk = fire(t, before, threshold, surrogate, noise);
        (
            syn,
            self.immediate_reset(t, before, spk, None, r, threshold),
            spk,
        )
    }

    /// The reset right after firing when `reset_delay = false`:
    /// `d = spk/g - r` (or `spk - r` without a graded factor); subtract:
    /// `mem - d·thr`, zero: `mem - d·mem`. Identity otherwise.
    fn immediate_reset(
        &self,
        t: &mut Tape,
        mem: Var,
        spk: Var,
        graded: Option<Var>,
        r: Var,
        threshold: Var,
    ) -> Var {
        let Some(reset) = self.immediate() else {
            return mem;
        };
        let fired = match graded {
            Some(g) => t.div(spk, g),
            None => spk,
        };
        let d = t.sub(fired, r);
        reset_by(t, reset, mem, d, threshold)
    }
}

/// A reset of `value` by `signal`: subtract `value - signal·thr`, zero
/// `value - signal·value`, none `value`. RLeaky's and Lapicque's reset by
/// the delayed signal `r`, and every model's immediate reset by `d`.
fn reset_by(t: &mut Tape, reset: Reset, value: Var, signal: Var, threshold: Var) -> Var {
    match reset {
        Reset::Subtract => t.sub_product(value, signal, threshold),
        Reset::Zero => t.sub_product(value, signal, value),
        Reset::None => value,
    }
}

/// RLeaky's and RSynaptic's recurrent input and threshold, from the
/// constants after the decays (`thr` all-to-all, `V, thr` one-to-one):
/// all-to-all, the input stream `rec`; one-to-one, `spk[t-1]·V` (the spike
/// is the last state).
fn recurrence(
    t: &mut Tape,
    all_to_all: bool,
    constants: &[Var],
    prev: &[Var],
    inputs: &[Var],
) -> (Var, Var) {
    if all_to_all {
        (inputs[1], constants[0])
    } else {
        let spk_prev = prev[prev.len() - 1];
        (t.mul(spk_prev, constants[0]), constants[1])
    }
}

/// snnTorch's `fire`: `H(mem - thr)`, with the surrogate as derivative.
fn fire(t: &mut Tape, mem: Var, threshold: Var, surrogate: Surrogate, noise: f64) -> Var {
    let z = t.sub(mem, threshold);
    t.spike(z, surrogate, noise)
}

/// `r = H(mem[t-1] - thr)`, detached.
fn reset_signal(t: &mut Tape, mem_prev: Var, threshold: Var) -> Var {
    let shifted = t.sub(mem_prev, threshold);
    t.heaviside(shifted)
}
