//! The single-step API driven step by step gives exactly the fused passes'
//! results, and the fused passes do not depend on the chunk width: bit for
//! bit, every model and configuration, a deterministic and the stochastic
//! surrogate, scalar and per-neuron parameters.

mod common;

use common::any_surrogate::{any, AnySurrogate};
use common::{assert_bits_eq, assert_runs_eq, run, stored_states, Problem, Rng};
use snn_kernels::layer::{Layer, Param};
use snn_kernels::model::Model;
use snn_kernels::surrogate::{Atan, StochasticSpikeOperator};

fn check<M: Model>(model: M, surrogate: AnySurrogate, per_neuron: bool, seed: u64) {
    let mut rng = Rng::new(seed);
    let (steps, batch, neurons) = (5, 2, 5);
    let prob = Problem::random::<M>(steps, batch, neurons, per_neuron, &mut rng);
    let (len, n) = (prob.len(), prob.elements());
    let data = prob.convert(|x| x as f32);
    let ws: Vec<f32> = rng
        .vec(len, -1.0, 1.0)
        .into_iter()
        .map(|v| v as f32)
        .collect();
    let wst: Vec<Vec<f32>> = (0..stored_states::<M>())
        .map(|_| {
            rng.vec(len, -1.0, 1.0)
                .into_iter()
                .map(|v| v as f32)
                .collect()
        })
        .collect();
    let what = format!("{} {} with {}", M::NAME, model.variant(), surrogate.name());

    // chunk widths 1, 2, 3 (partial chunks) and the default give the same bits
    let fused = run::<M, _, f32, 2>(model, surrogate, 9, &prob, &data, &ws, &wst);
    let others = [
        run::<M, _, f32, 1>(model, surrogate, 9, &prob, &data, &ws, &wst),
        run::<M, _, f32, 3>(model, surrogate, 9, &prob, &data, &ws, &wst),
        run::<M, _, f32, 1024>(model, surrogate, 9, &prob, &data, &ws, &wst),
    ];
    for other in &others {
        assert_runs_eq(&format!("{what} across chunk widths"), &fused, other);
    }

    // step by step
    let params: Vec<Param<f32>> = data.param_list();
    let layer = Layer::new(model, surrogate, batch, neurons, &params)
        .unwrap()
        .with_seed(9);
    let mut state: Vec<Vec<f32>> = data.initial.clone();
    let mut history = vec![state.clone()];
    let mut spikes = vec![0.0f32; len];
    for t in 0..steps {
        let ins: Vec<&[f32]> = data.inputs.iter().map(|v| &v[t * n..(t + 1) * n]).collect();
        let mut refs: Vec<&mut [f32]> = state.iter_mut().map(|v| v.as_mut_slice()).collect();
        layer
            .step(t, &ins, &mut refs, &mut spikes[t * n..(t + 1) * n])
            .unwrap();
        history.push(state.clone());
    }
    assert_bits_eq(
        &format!("{what}: step-by-step spikes"),
        &fused.spikes,
        &spikes,
    );
    for (k, trajectory) in fused.states.iter().enumerate() {
        let stepped: Vec<f32> = history[1..].iter().flat_map(|s| s[k].clone()).collect();
        assert_bits_eq(
            &format!("{what}: step-by-step state {k}"),
            trajectory,
            &stepped,
        );
    }

    let mut grad_state = vec![vec![-0.0f32; n]; M::STATES.len()];
    let mut grad_inputs = vec![vec![0.0f32; len]; M::INPUTS.len()];
    let mut accumulator = vec![0.0f32; layer.param_accumulator_len()];
    layer.clear_param_accumulator(&mut accumulator);
    for t in (0..steps).rev() {
        // what flows into the states after step t: carried + the loss on them
        for (k, g) in grad_state.iter_mut().enumerate().take(wst.len()) {
            for (i, v) in g.iter_mut().enumerate() {
                *v += wst[k][t * n + i];
            }
        }
        let ins: Vec<&[f32]> = data.inputs.iter().map(|v| &v[t * n..(t + 1) * n]).collect();
        let prev: Vec<&[f32]> = history[t].iter().map(|v| v.as_slice()).collect();
        let next: Vec<&[f32]> = history[t + 1].iter().map(|v| v.as_slice()).collect();
        let mut gs: Vec<&mut [f32]> = grad_state.iter_mut().map(|v| v.as_mut_slice()).collect();
        let mut gi: Vec<&mut [f32]> = grad_inputs
            .iter_mut()
            .map(|v| &mut v[t * n..(t + 1) * n])
            .collect();
        layer
            .step_backward(
                t,
                &ins,
                &prev,
                &next,
                &ws[t * n..(t + 1) * n],
                &mut gs,
                &mut gi,
                &mut accumulator,
            )
            .unwrap();
    }
    let mut grad_params: Vec<Vec<f32>> = data.params.iter().map(|p| vec![0.0; p.len()]).collect();
    let mut gp: Vec<&mut [f32]> = grad_params.iter_mut().map(|v| v.as_mut_slice()).collect();
    layer.reduce_param_grads(&accumulator, &mut gp).unwrap();
    for (k, (a, b)) in fused.grad_inputs.iter().zip(&grad_inputs).enumerate() {
        assert_bits_eq(&format!("{what}: step-by-step input gradient {k}"), a, b);
    }
    for (k, (a, b)) in fused.grad_initial.iter().zip(&grad_state).enumerate() {
        assert_bits_eq(
            &format!("{what}: step-by-step initial-state gradient {k}"),
            a,
            b,
        );
    }
    for (k, (a, b)) in fused.grad_params.iter().zip(&grad_params).enumerate() {
        assert_bits_eq(
            &format!("{what}: step-by-step parameter gradient {k}"),
            a,
            b,
        );
    }
}

fn check_all<M: Model>(model: M) {
    for per_neuron in [false, true] {
        let seed = 31 + model.config_index() as u64 * 2 + per_neuron as u64;
        check(model, any(Atan::default()), per_neuron, seed);
        check(
            model,
            any(StochasticSpikeOperator::default()),
            per_neuron,
            seed,
        );
    }
}

#[test]
fn step_by_step_equals_fused_and_chunk_width_does_not_matter() {
    for_each_model_config!(check_all);
}

#[test]
fn configurations_round_trip_through_their_numbers() {
    use snn_kernels::model::{Reset, ResetConfig};
    use snn_kernels::models::Leaky;
    let names: Vec<&str> = (0..ResetConfig::COUNT)
        .map(|i| {
            let config = ResetConfig::from_index(i);
            assert_eq!(config.index(), i);
            config.variant()
        })
        .collect();
    assert_eq!(
        names,
        [
            "subtract_nodelay",
            "subtract",
            "zero_nodelay",
            "zero",
            "none_nodelay",
            "none"
        ]
    );
    assert_eq!(
        ResetConfig::default(),
        ResetConfig::new(Reset::Subtract, true)
    );
    assert_eq!(Leaky::default(), Leaky::new(Reset::Subtract, true));
    assert_eq!(
        Leaky::from(ResetConfig::from_index(2)),
        Leaky::new(Reset::Zero, false)
    );

    fn round_trip<M: Model>(model: M, seen: &mut Vec<String>) {
        let again = M::from_config_index(model.config_index());
        assert_eq!(again.config_index(), model.config_index());
        assert_eq!(again.variant(), model.variant());
        seen.push(format!("{} {}", M::NAME, model.variant()));
    }
    let mut seen = Vec::new();
    for_each_model_config!(round_trip, &mut seen);
    let count = seen.len();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), count, "variant names are distinct per model");
    assert_eq!(count, 6 * 6 + 3 + 12, "every configuration of every model");
}
