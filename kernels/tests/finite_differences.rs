//! Gradients against central finite differences in f64, on the continuous
//! paths: with a surrogate whose derivative is zero (defined here, through
//! the public trait), the surrogate backward equals the true derivative
//! wherever no spike changes under the perturbation; such cases are the only
//! ones compared. Every model and configuration, scalar and per-neuron
//! parameters, gradients of inputs, initial states and parameters, with
//! losses on the spikes (graded spikes are continuous in `g`) and states.
//!
//! Tolerance: central differences with step `h = 1e-6·max(1, |v|)` have a
//! truncation error of order `h²` and a rounding error of order `1e-16/h`,
//! so the comparison allows `1e-6·(1 + |g|)`.

mod common;

use common::{forward, run, stored_states, Problem, Rng};
use snn_kernels::layer::Layer;
use snn_kernels::model::Model;
use snn_kernels::surrogate::{Surrogate, SurrogateConstants};
use snn_kernels::Real;

/// A surrogate whose derivative is zero: the backward pass then follows the
/// continuous paths only.
#[derive(Clone, Copy, Debug)]
struct NoSpikeGradient;

impl Surrogate for NoSpikeGradient {
    const NAME: &'static str = "no_spike_gradient";
    fn grad<T: Real>(_z: T, _grad: T, _c: &SurrogateConstants<T>, _noise: T) -> T {
        T::zero()
    }
}

/// The loss `sum w_s·spk + sum w_k·state_k` and the spikes, for a problem.
fn loss<M: Model>(
    model: M,
    prob: &Problem,
    w_spikes: &[f64],
    w_states: &[Vec<f64>],
) -> (f64, Vec<f64>) {
    let data = prob.convert(|x| x);
    let params = data.param_list();
    let layer = Layer::new(model, NoSpikeGradient, prob.batch, prob.neurons, &params).unwrap();
    let (spikes, states) = forward(&layer, prob.steps, &data);
    let mut l: f64 = spikes.iter().zip(w_spikes).map(|(s, w)| s * w).sum();
    for (trajectory, ws) in states.iter().zip(w_states) {
        l += trajectory.iter().zip(ws).map(|(s, w)| s * w).sum::<f64>();
    }
    (l, spikes)
}

/// Which part of the problem a probe perturbs.
#[derive(Clone, Copy, Debug)]
enum Part {
    Input,
    Initial,
    Param,
}

fn value(prob: &mut Problem, part: Part, list: usize, index: usize) -> &mut f64 {
    match part {
        Part::Input => &mut prob.inputs[list][index],
        Part::Initial => &mut prob.initial[list][index],
        Part::Param => &mut prob.params[list][index],
    }
}

fn check<M: Model>(model: M, per_neuron: bool, seed: u64) -> usize {
    let mut rng = Rng::new(seed);
    let prob = Problem::random::<M>(5, 2, 3, per_neuron, &mut rng);
    let w_spikes = rng.vec(prob.len(), -1.0, 1.0);
    let w_states: Vec<Vec<f64>> = (0..stored_states::<M>())
        .map(|_| rng.vec(prob.len(), -1.0, 1.0))
        .collect();
    let data = prob.convert(|x| x);
    let r = run::<M, NoSpikeGradient, f64, 2>(
        model,
        NoSpikeGradient,
        0,
        &prob,
        &data,
        &w_spikes,
        &w_states,
    );
    let (_, base_spikes) = loss(model, &prob, &w_spikes, &w_states);

    let mut probes = Vec::new();
    for (k, v) in prob.inputs.iter().enumerate() {
        for i in 0..v.len() {
            probes.push((Part::Input, k, i, r.grad_inputs[k][i]));
        }
    }
    for (k, v) in prob.initial.iter().enumerate() {
        for i in 0..v.len() {
            probes.push((Part::Initial, k, i, r.grad_initial[k][i]));
        }
    }
    for (k, v) in prob.params.iter().enumerate() {
        for i in 0..v.len() {
            probes.push((Part::Param, k, i, r.grad_params[k][i]));
        }
    }
    let mut compared = 0;
    for (part, list, index, gradient) in probes {
        let mut plus = prob.clone();
        let mut minus = prob.clone();
        let v = *value(&mut plus, part, list, index);
        let h = 1e-6 * v.abs().max(1.0);
        *value(&mut plus, part, list, index) = v + h;
        *value(&mut minus, part, list, index) = v - h;
        let (l_plus, s_plus) = loss(model, &plus, &w_spikes, &w_states);
        let (l_minus, s_minus) = loss(model, &minus, &w_spikes, &w_states);
        let same = |s: &[f64]| {
            s.iter()
                .zip(&base_spikes)
                .all(|(a, b)| (a > &0.0) == (b > &0.0))
        };
        if !same(&s_plus) || !same(&s_minus) {
            continue; // a spike flips: not a continuous path
        }
        let difference = (l_plus - l_minus) / (2.0 * h);
        assert!(
            (difference - gradient).abs() <= 1e-6 * (1.0 + gradient.abs()),
            "{} {} ({}): d L / d {part:?}[{list}][{index}]: finite difference {difference}, backward {gradient}",
            M::NAME,
            model.variant(),
            if per_neuron { "per-neuron" } else { "scalar" },
        );
        compared += 1;
    }
    compared
}

#[test]
fn gradients_match_finite_differences_on_continuous_paths() {
    fn all<M: Model>(model: M, compared: &mut usize) {
        for per_neuron in [false, true] {
            *compared += check(model, per_neuron, 3 + model.config_index() as u64);
        }
    }
    let mut compared = 0;
    for_each_model_config!(all, &mut compared);
    // the check must not pass by skipping everything
    assert!(
        compared > 2000,
        "only {compared} finite differences were compared"
    );
}
