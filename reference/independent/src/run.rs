//! A whole layer run on the reference: the forward pass over a sequence and
//! its gradients, one tape per element, with the parameter gradients summed
//! in the order `docs/semantics.md` defines.

use crate::models::ModelSpec;
use crate::precision::Precision;
use crate::surrogates::{noise, Surrogate};
use crate::tape::{Tape, Var};

/// One test case: a layer configuration, its data, and the gradients that
/// flow into its outputs. Every value is one of the precision's values.
#[derive(Clone, Debug)]
pub struct Case {
    /// The model and its configuration.
    pub model: ModelSpec,
    /// The surrogate.
    pub surrogate: Surrogate,
    /// The precision.
    pub precision: Precision,
    /// Time steps.
    pub steps: usize,
    /// Batch rows.
    pub batch: usize,
    /// Neurons per row.
    pub neurons: usize,
    /// The stochastic surrogate's stream.
    pub seed: u32,
    /// Raw parameters in [`ModelSpec::params`] order: 1 value (scalar) or
    /// `neurons` values each.
    pub params: Vec<Vec<f64>>,
    /// Input streams, `[T][B][M]` each.
    pub inputs: Vec<Vec<f64>>,
    /// Initial states, `[B][M]` each (all states).
    pub initial: Vec<Vec<f64>>,
    /// `dL/d spk`, `[T][B][M]`.
    pub grad_spikes: Vec<f64>,
    /// `dL/d state` for each stored state (`[T][B][M]`), or empty.
    pub grad_states: Vec<Vec<f64>>,
    /// What kind of data this is (for reports).
    pub label: String,
}

impl Case {
    /// `batch · neurons`.
    pub fn elements(&self) -> usize {
        self.batch * self.neurons
    }

    /// Checks the case's shape and the length of every array against it:
    /// every size at least 1, `steps · batch · neurons` without overflow, one
    /// array per parameter (1 or `neurons` values), per input stream and
    /// initial state (`[T][B][M]` and `[B][M]`), `grad_spikes` `[T][B][M]`,
    /// and at most one `grad_states` entry per stored state (`[T][B][M]` or
    /// empty). A backend runs only a case that passes (the reference itself
    /// indexes the arrays by the shape).
    pub fn check(&self) -> Result<(), String> {
        let what = self.describe();
        for (value, name) in [
            (self.steps, "steps"),
            (self.batch, "batch"),
            (self.neurons, "neurons"),
        ] {
            if value == 0 {
                return Err(format!("{what}: {name} is 0"));
            }
        }
        let elements = self.batch.checked_mul(self.neurons);
        let sequence = elements
            .and_then(|e| e.checked_mul(self.steps))
            .ok_or_else(|| format!("{what}: steps x batch x neurons overflows"))?;
        let elements = elements.unwrap_or(usize::MAX);
        let count = |list: &str, actual: usize, names: &[&str]| {
            if actual == names.len() {
                Ok(())
            } else {
                Err(format!(
                    "{what}: {actual} {list}; the model has {} ({})",
                    names.len(),
                    names.join(", ")
                ))
            }
        };
        let length = |array: String, actual: usize, expected: usize| {
            if actual == expected {
                Ok(())
            } else {
                Err(format!(
                    "{what}: {array} has {actual} values, not {expected}"
                ))
            }
        };
        count("parameters", self.params.len(), self.model.params())?;
        for (name, values) in self.model.params().iter().zip(&self.params) {
            if values.len() != 1 && values.len() != self.neurons {
                return Err(format!(
                    "{what}: parameter {name} has {} values, not 1 or {} (neurons)",
                    values.len(),
                    self.neurons
                ));
            }
        }
        count("input streams", self.inputs.len(), self.model.inputs())?;
        for (name, values) in self.model.inputs().iter().zip(&self.inputs) {
            length(format!("input {name}"), values.len(), sequence)?;
        }
        count("initial states", self.initial.len(), self.model.states())?;
        for (name, values) in self.model.states().iter().zip(&self.initial) {
            length(format!("initial {name}"), values.len(), elements)?;
        }
        length("dL/dspk".into(), self.grad_spikes.len(), sequence)?;
        let stored = self.model.stored_states();
        if self.grad_states.len() > stored.len() {
            return Err(format!(
                "{what}: {} state gradients for {} stored states",
                self.grad_states.len(),
                stored.len()
            ));
        }
        for (name, values) in stored.iter().zip(&self.grad_states) {
            if !values.is_empty() {
                length(format!("dL/d{name}"), values.len(), sequence)?;
            }
        }
        Ok(())
    }

    /// The number of stored states (all but the spike state).
    pub fn stored_states(&self) -> usize {
        self.model.stored_states().len()
    }

    /// A one-line description.
    pub fn describe(&self) -> String {
        format!(
            "{} {} with {} in {}, {} (T={}, B={}, M={})",
            self.model.name(),
            self.model.variant(),
            self.surrogate.name(),
            self.precision,
            self.label,
            self.steps,
            self.batch,
            self.neurons
        )
    }
}

/// What a backend computes for a case, as the values of the case's
/// precision (held in `f64`).
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    /// Spikes, `[T][B][M]`.
    pub spikes: Vec<f64>,
    /// Stored state trajectories, `[T][B][M]` each.
    pub states: Vec<Vec<f64>>,
    /// `dL/d input`, per stream.
    pub grad_inputs: Vec<Vec<f64>>,
    /// `dL/d initial state`, per state.
    pub grad_initial: Vec<Vec<f64>>,
    /// `dL/d parameter`, per parameter (1 or `neurons` values).
    pub grad_params: Vec<Vec<f64>>,
}

impl Outcome {
    /// Every output array with its name.
    pub fn arrays(&self, model: &ModelSpec) -> Vec<(String, &[f64])> {
        let mut all: Vec<(String, &[f64])> = vec![("spikes".into(), &self.spikes)];
        for (name, values) in model.states().iter().zip(&self.states) {
            all.push((format!("state {name}"), values));
        }
        for (name, values) in model.inputs().iter().zip(&self.grad_inputs) {
            all.push((format!("dL/d{name}"), values));
        }
        for (name, values) in model.states().iter().zip(&self.grad_initial) {
            all.push((format!("dL/d initial {name}"), values));
        }
        for (name, values) in model.params().iter().zip(&self.grad_params) {
            all.push((format!("dL/d{name}"), values));
        }
        all
    }
}

/// One element's tape after the forward pass.
struct ElementRun {
    tape: Tape,
    prepared: Vec<Var>,
    initial: Vec<Var>,
    inputs: Vec<Vec<Var>>,
    spikes: Vec<Var>,
    states: Vec<Vec<Var>>,
}

fn run_element(case: &Case, prepared: &[f64], b: usize, m: usize) -> ElementRun {
    let n = case.elements();
    let element = b * case.neurons + m;
    let mut tape = Tape::new(case.precision);
    // the per-element sums of the constants' gradients over the steps are
    // stored values (`f16-storage` rounds them to binary16 after each step)
    let prepared: Vec<Var> = prepared
        .iter()
        .map(|&v| tape.leaf_summed_in_storage(v))
        .collect();
    let initial: Vec<Var> = case.initial.iter().map(|s| tape.leaf(s[element])).collect();
    let mut state = initial.clone();
    let (mut inputs, mut spikes, mut states) = (Vec::new(), Vec::new(), Vec::new());
    for t in 0..case.steps {
        // this step's uses of the constants and of the previous states
        let p: Vec<Var> = prepared.iter().map(|&v| tape.use_of(v)).collect();
        let prev: Vec<Var> = state.iter().map(|&v| tape.use_of_stored(v)).collect();
        let x: Vec<Var> = case
            .inputs
            .iter()
            .map(|s| tape.leaf(s[t * n + element]))
            .collect();
        let u = if case.surrogate.is_stochastic() {
            noise(
                case.precision.arithmetic(),
                case.seed,
                t as u32,
                element as u32,
            )
        } else {
            0.0
        };
        let (next, spk) = case.model.step(&mut tape, case.surrogate, u, &p, &prev, &x);
        // what the step stores (rounded to the storage format); the spike
        // state of one-to-one recurrence is the stored spike itself
        let spk_stored = tape.store_spike(spk);
        let next: Vec<Var> = next
            .iter()
            .map(|&v| if v == spk { spk_stored } else { tape.store(v) })
            .collect();
        let spk = spk_stored;
        inputs.push(x);
        spikes.push(spk);
        states.push(next.clone());
        state = next;
    }
    ElementRun {
        tape,
        prepared,
        initial,
        inputs,
        spikes,
        states,
    }
}

/// Runs a case on the reference implementation.
pub fn run(case: &Case) -> Outcome {
    run_sweep(case, false)
}

/// The gradient magnitudes of a case ([`Tape::backward_magnitude`]): the
/// same outcome, with every gradient replaced by the sum over all paths of
/// the absolute values of their products (the seeds taken in absolute
/// value). A bound on the rounding error of any evaluation order of the
/// backward pass is proportional to it.
pub fn magnitudes(case: &Case) -> Outcome {
    run_sweep(case, true)
}

fn run_sweep(case: &Case, magnitude: bool) -> Outcome {
    let (steps, batch, neurons) = (case.steps, case.batch, case.neurons);
    let n = case.elements();
    let stored = case.stored_states();
    // sums in the arithmetic format; results rounded to the storage format
    // when written (both the case's precision but for `f16-storage`)
    let p = case.precision.arithmetic();
    let store = |x: f64| {
        if magnitude {
            x
        } else {
            case.precision.round(x)
        }
    };
    let sweep = |tape: &Tape, seeds: &[(Var, f64)]| {
        if magnitude {
            tape.backward_magnitude(seeds)
        } else {
            tape.backward(seeds)
        }
    };
    // sums of magnitudes are exact enough in f64 and order-free
    let sum = |a: f64, b: f64| {
        if magnitude {
            a.abs() + b.abs()
        } else {
            p.round(a + b)
        }
    };
    let param_at = |k: usize, m: usize| {
        let values = &case.params[k];
        if values.len() == 1 {
            values[0]
        } else {
            values[m]
        }
    };

    let mut out = Outcome {
        spikes: vec![0.0; steps * n],
        states: vec![vec![0.0; steps * n]; stored],
        grad_inputs: vec![vec![0.0; steps * n]; case.inputs.len()],
        grad_initial: vec![vec![0.0; n]; case.initial.len()],
        grad_params: case.params.iter().map(|v| vec![-0.0; v.len()]).collect(),
    };
    for m in 0..neurons {
        // per neuron: the constants from the raw parameters
        let mut prepare_tape = Tape::new(case.precision);
        let raw: Vec<Var> = (0..case.params.len())
            .map(|k| prepare_tape.leaf(param_at(k, m)))
            .collect();
        let prepared_vars = case.model.prepare(&mut prepare_tape, &raw);
        let prepared: Vec<f64> = prepared_vars
            .iter()
            .map(|&v| prepare_tape.value(v))
            .collect();
        // their gradients, summed over the batch rows in order from -0
        let mut prepared_grads = vec![-0.0; prepared.len()];
        for b in 0..batch {
            let element = b * neurons + m;
            let e = run_element(case, &prepared, b, m);
            // every output is seeded: the given gradient, or -0
            let mut seeds = Vec::new();
            for t in 0..steps {
                seeds.push((e.spikes[t], case.grad_spikes[t * n + element]));
                for k in 0..stored {
                    let g = case
                        .grad_states
                        .get(k)
                        .filter(|g| !g.is_empty())
                        .map_or(-0.0, |g| g[t * n + element]);
                    seeds.push((e.states[t][k], g));
                }
            }
            let adjoint = sweep(&e.tape, &seeds);
            for t in 0..steps {
                out.spikes[t * n + element] = e.tape.value(e.spikes[t]);
                for k in 0..stored {
                    out.states[k][t * n + element] = e.tape.value(e.states[t][k]);
                }
                for (k, &x) in e.inputs[t].iter().enumerate() {
                    out.grad_inputs[k][t * n + element] = store(adjoint[x.index()]);
                }
            }
            for (k, &v) in e.initial.iter().enumerate() {
                out.grad_initial[k][element] = store(adjoint[v.index()]);
            }
            for (total, &v) in prepared_grads.iter_mut().zip(&e.prepared) {
                *total = sum(*total, adjoint[v.index()]);
            }
        }
        // the chain rule through the constants, per neuron
        let seeds: Vec<(Var, f64)> = prepared_vars.iter().copied().zip(prepared_grads).collect();
        let adjoint = sweep(&prepare_tape, &seeds);
        for (k, &v) in raw.iter().enumerate() {
            let g = adjoint[v.index()];
            let out_k = &mut out.grad_params[k];
            if out_k.len() == 1 {
                out_k[0] = sum(out_k[0], g);
            } else {
                out_k[m] = store(g);
            }
        }
    }
    // a scalar parameter's gradient: the sum over the neurons, stored once
    for grads in &mut out.grad_params {
        if grads.len() == 1 {
            grads[0] = store(grads[0]);
        }
    }
    out
}
