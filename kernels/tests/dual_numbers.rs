//! The backward pass through time equals the derivative of the forward pass
//! in the surrogate sense, checked without the hand-written backward: the
//! same generic forward code runs on dual numbers (the spike function
//! carries the surrogate as its derivative, `detach` drops the tangent), and
//! the directional derivative it gives must equal the reverse sweep's
//! gradients dotted with the same direction. Every model, configuration,
//! surrogate, and scalar or per-neuron parameters; input, initial-state and
//! parameter gradients, with losses on the spikes and on the states.
//!
//! Forward and reverse mode add the same terms in different orders, so the
//! comparison allows a relative 1e-9 of the sum of the absolute terms (f64).

mod common;

use common::any_surrogate::{surrogates, AnySurrogate};
use common::dual::Dual;
use common::{forward, run, stored_states, Converted, Problem, Rng};
use snn_kernels::model::Model;
use snn_kernels::Layer;

fn check<M: Model>(model: M, surrogate: AnySurrogate, per_neuron: bool, seed: u64) {
    let mut rng = Rng::new(seed);
    let (steps, batch, neurons) = (6, 2, 3);
    let prob = Problem::random::<M>(steps, batch, neurons, per_neuron, &mut rng);
    let len = prob.len();
    // the direction: a random tangent for every input, initial state and parameter
    let dir = Problem::random::<M>(steps, batch, neurons, per_neuron, &mut rng);
    let w_spikes = rng.vec(len, -1.0, 1.0);
    let w_states: Vec<Vec<f64>> = (0..stored_states::<M>())
        .map(|_| rng.vec(len, -1.0, 1.0))
        .collect();

    // forward mode
    let zip = |values: &[Vec<f64>], tangents: &[Vec<f64>]| -> Vec<Vec<Dual>> {
        values
            .iter()
            .zip(tangents)
            .map(|(v, d)| v.iter().zip(d).map(|(&v, &d)| Dual::new(v, d)).collect())
            .collect()
    };
    let dual = Converted {
        inputs: zip(&prob.inputs, &dir.inputs),
        initial: zip(&prob.initial, &dir.initial),
        params: zip(&prob.params, &dir.params),
    };
    let params = dual.param_list();
    let layer = Layer::new(model, surrogate, batch, neurons, &params)
        .unwrap()
        .with_chunk::<2>()
        .with_seed(11);
    let (spikes, states) = forward(&layer, steps, &dual);
    let mut forward_mode = 0.0;
    let mut scale = 1.0;
    for (s, w) in spikes.iter().zip(&w_spikes) {
        forward_mode += s.d * w;
        scale += (s.d * w).abs();
    }
    for (trajectory, ws) in states.iter().zip(&w_states) {
        for (s, w) in trajectory.iter().zip(ws) {
            forward_mode += s.d * w;
            scale += (s.d * w).abs();
        }
    }

    // reverse mode
    let data = prob.convert(|x| x);
    let r = run::<M, _, f64, 2>(model, surrogate, 11, &prob, &data, &w_spikes, &w_states);
    for (i, (d, v)) in spikes.iter().zip(&r.spikes).enumerate() {
        assert_eq!(
            d.v.to_bits(),
            v.to_bits(),
            "spike {i}: dual and f64 forward passes differ"
        );
    }
    let mut reverse_mode = 0.0;
    let dot = |g: &Vec<Vec<f64>>, d: &Vec<Vec<f64>>, acc: &mut f64, scale: &mut f64| {
        for (gs, ds) in g.iter().zip(d) {
            for (g, d) in gs.iter().zip(ds) {
                *acc += g * d;
                *scale += (g * d).abs();
            }
        }
    };
    dot(&r.grad_inputs, &dir.inputs, &mut reverse_mode, &mut scale);
    dot(&r.grad_initial, &dir.initial, &mut reverse_mode, &mut scale);
    dot(&r.grad_params, &dir.params, &mut reverse_mode, &mut scale);
    let error = (forward_mode - reverse_mode).abs();
    assert!(
        error <= 1e-9 * scale,
        "{} {} with {} ({} parameters): forward mode {forward_mode}, reverse mode {reverse_mode}",
        M::NAME,
        model.variant(),
        surrogate.name(),
        if per_neuron { "per-neuron" } else { "scalar" },
    );
}

/// One check per direction kind, so that a gradient that is wrong for one
/// kind of argument cannot hide behind another.
fn check_all<M: Model>(model: M) {
    for s in surrogates() {
        for per_neuron in [false, true] {
            for seed in 0..3 {
                check(model, s, per_neuron, seed * 7 + model.config_index() as u64);
            }
        }
    }
}

#[test]
fn reverse_sweep_equals_forward_mode_for_every_model_configuration_and_surrogate() {
    for_each_model_config!(check_all);
}
