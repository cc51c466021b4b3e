//! A user's model with exactly the maxima (`MAX_STATES` states, `MAX_INPUTS`
//! inputs, `MAX_PARAMS` parameters and `MAX_PREPARED` prepared constants)
//! runs through every layer API, with results derived by hand in the test.
//!
//! A model beyond the maxima (or `Layer::with_chunk::<0>()`) does not
//! compile: `Layer::new` and `Layer::with_chunk` hold compile-time
//! assertions (see their docs). That side has no test here, since a
//! compile-fail test needs an extra crate.

#![allow(clippy::needless_range_loop)] // parallel arrays indexed by state, as the docs number them

use snn_kernels::layer::{InputGrads, Layer, OutputGrads, Param, Saved};
use snn_kernels::model::{
    zeros, BackIn, Model, Params, Prepared, States, StepGrads, StepIn, MAX_INPUTS, MAX_PARAMS,
    MAX_PREPARED, MAX_STATES,
};
use snn_kernels::surrogate::{StraightThrough, Surrogate};
use snn_kernels::Real;

/// `a' = p0·a + x`, `b' = p1·b + y`, `c' = p2·c + p3·a'`,
/// `spk = H(c' - p4)`; the prepared constants are the parameters.
#[derive(Clone, Copy, Debug)]
struct Widest;

impl Model for Widest {
    const NAME: &'static str = "widest";
    const STATES: &'static [&'static str] = &["a", "b", "c"];
    const INPUTS: &'static [&'static str] = &["x", "y"];
    const PARAMS: &'static [&'static str] = &["p0", "p1", "p2", "p3", "p4"];
    const PREPARED: &'static [&'static str] = &["q0", "q1", "q2", "q3", "q4"];
    const CONFIGURATIONS: usize = 1;

    fn config_index(&self) -> usize {
        0
    }

    fn from_config_index(_index: usize) -> Self {
        Widest
    }

    snn_kernels::specialize_configurations!(0);

    fn variant(&self) -> &'static str {
        "only"
    }

    fn prepare<T: Real>(&self, raw: &Params<T>) -> Prepared<T> {
        let mut p = zeros();
        p[..5].copy_from_slice(&raw[..5]);
        p
    }

    fn prepare_backward<T: Real>(&self, _raw: &Params<T>, grad: &Prepared<T>) -> Params<T> {
        let mut g = zeros();
        g[..5].copy_from_slice(&grad[..5]);
        g
    }

    fn step<T: Real, S: Surrogate>(&self, at: &StepIn<'_, T>) -> (States<T>, T) {
        let (p, s, x, spike) = at.parts();
        let a = p[0] * s[0] + x[0];
        let b = p[1] * s[1] + x[1];
        let c = p[2] * s[2] + p[3] * a;
        ([a, b, c], spike.fire::<S>(c - p[4]))
    }

    fn step_backward<T: Real, S: Surrogate>(
        &self,
        at: &StepIn<'_, T>,
        back: &BackIn<'_, T>,
    ) -> StepGrads<T> {
        let (p, s, x, spike) = at.parts();
        let (next, grad_spike, grad_next) = back.parts();
        let a = p[0] * s[0] + x[0];
        let grad_z = spike.grad::<S>(next[2] - p[4], grad_spike);
        let grad_c = grad_next[2] + grad_z;
        let grad_a = grad_next[0] + grad_c * p[3];
        let grad_b = grad_next[1];
        let mut g = StepGrads::none();
        g.prev = [grad_a * p[0], grad_b * p[1], grad_c * p[2]];
        g.inputs = [grad_a, grad_b];
        g.prepared = [
            grad_a * s[0],
            grad_b * s[1],
            grad_c * s[2],
            grad_c * a,
            -grad_z,
        ];
        g
    }
}

#[test]
fn the_model_has_exactly_the_maxima() {
    assert_eq!(Widest::STATES.len(), MAX_STATES);
    assert_eq!(Widest::INPUTS.len(), MAX_INPUTS);
    assert_eq!(Widest::PARAMS.len(), MAX_PARAMS);
    assert_eq!(Widest::PREPARED.len(), MAX_PREPARED);
}

const STEPS: usize = 4;
const BATCH: usize = 2;
const NEURONS: usize = 3;
const N: usize = BATCH * NEURONS;
const LEN: usize = STEPS * N;

/// Data that makes some neurons spike: `value(i)` is a fixed pseudo-random
/// pattern of small binary fractions (every product and sum below is exact
/// or rounded the same way in the test and in the kernels: same operations,
/// same order).
fn value(i: usize, scale: f64) -> f64 {
    (((i * 37 + 11) % 17) as f64 - 6.0) / 8.0 * scale
}

struct Expected {
    spikes: Vec<f64>,
    states: [Vec<f64>; 3],
    grad_inputs: [Vec<f64>; 2],
    grad_initial: [Vec<f64>; 3],
    grad_params: Vec<Vec<f64>>,
}

/// The forward and backward passes by hand, in f64, for `L = sum w·spk +
/// sum v·c` with the straight-through surrogate (`dL/dz = dL/dspk`).
fn by_hand(
    x: &[Vec<f64>; 2],
    s0: &[Vec<f64>; 3],
    p: &[Vec<f64>; 5],
    w: &[f64],
    v: &[f64],
) -> Expected {
    let param = |k: usize, m: usize| if p[k].len() == 1 { p[k][0] } else { p[k][m] };
    let mut states = [vec![0.0; LEN], vec![0.0; LEN], vec![0.0; LEN]];
    let mut spikes = vec![0.0; LEN];
    let prev = |states: &[Vec<f64>; 3], k: usize, t: usize, e: usize| {
        if t == 0 {
            s0[k][e]
        } else {
            states[k][(t - 1) * N + e]
        }
    };
    for t in 0..STEPS {
        for e in 0..N {
            let m = e % NEURONS;
            let i = t * N + e;
            let a = param(0, m) * prev(&states, 0, t, e) + x[0][i];
            let b = param(1, m) * prev(&states, 1, t, e) + x[1][i];
            let c = param(2, m) * prev(&states, 2, t, e) + param(3, m) * a;
            states[0][i] = a;
            states[1][i] = b;
            states[2][i] = c;
            spikes[i] = if c - param(4, m) > 0.0 { 1.0 } else { 0.0 };
        }
    }
    let mut grad_inputs = [vec![0.0; LEN], vec![0.0; LEN]];
    let mut grad_initial = [vec![0.0; N], vec![0.0; N], vec![0.0; N]];
    // per element, per prepared constant: the sum over time from the last step
    let mut per_element = vec![[-0.0f64; 5]; N];
    for e in 0..N {
        let m = e % NEURONS;
        let mut carried = [-0.0f64; 3];
        for t in (0..STEPS).rev() {
            let i = t * N + e;
            let grad_z = w[i];
            let grad_c = (carried[2] + v[i]) + grad_z;
            let grad_a = carried[0] + grad_c * param(3, m);
            let grad_b = carried[1];
            let s = [
                prev(&states, 0, t, e),
                prev(&states, 1, t, e),
                prev(&states, 2, t, e),
            ];
            let terms = [
                grad_a * s[0],
                grad_b * s[1],
                grad_c * s[2],
                grad_c * states[0][i],
                -grad_z,
            ];
            for k in 0..5 {
                per_element[e][k] += terms[k];
            }
            grad_inputs[0][i] = grad_a;
            grad_inputs[1][i] = grad_b;
            carried = [
                grad_a * param(0, m),
                grad_b * param(1, m),
                grad_c * param(2, m),
            ];
        }
        for k in 0..3 {
            grad_initial[k][e] = carried[k];
        }
    }
    // per neuron over the rows, then a scalar parameter over the neurons
    let mut grad_params: Vec<Vec<f64>> = p.iter().map(|v| vec![-0.0; v.len()]).collect();
    for m in 0..NEURONS {
        for k in 0..5 {
            let mut sum = -0.0;
            for b in 0..BATCH {
                sum += per_element[b * NEURONS + m][k];
            }
            if p[k].len() == 1 {
                grad_params[k][0] += sum;
            } else {
                grad_params[k][m] = sum;
            }
        }
    }
    Expected {
        spikes,
        states,
        grad_inputs,
        grad_initial,
        grad_params,
    }
}

fn assert_bits(what: &str, expected: &[f64], actual: &[f64]) {
    assert_eq!(expected.len(), actual.len(), "{what}");
    for (i, (e, a)) in expected.iter().zip(actual).enumerate() {
        assert_eq!(e.to_bits(), a.to_bits(), "{what}[{i}]: {e} vs {a}");
    }
}

#[test]
fn a_model_with_the_maxima_runs_through_every_api() {
    let x = [0, 1].map(|k| {
        (0..LEN)
            .map(|i| value(i + 100 * k, 1.0))
            .collect::<Vec<_>>()
    });
    let s0 = [0, 1, 2].map(|k| (0..N).map(|i| value(i + 50 * k, 0.5)).collect::<Vec<_>>());
    let p: [Vec<f64>; 5] = [
        vec![0.5, 0.75, 0.25],
        vec![0.875],
        vec![0.5, 0.625, 1.0],
        vec![0.75],
        vec![0.25, -0.125, 0.5],
    ];
    let w: Vec<f64> = (0..LEN).map(|i| value(i + 7, 0.5)).collect();
    let v: Vec<f64> = (0..LEN).map(|i| value(i + 3, 0.25)).collect();
    let expected = by_hand(&x, &s0, &p, &w, &v);
    assert!(expected.spikes.contains(&1.0) && expected.spikes.contains(&0.0));

    let params: Vec<Param<f64>> = p.iter().map(|v| Param::from_values(v)).collect();
    // chunks of 2 neurons: one full chunk and the tail of every row
    let layer = Layer::new(Widest, StraightThrough, BATCH, NEURONS, &params)
        .unwrap()
        .with_chunk::<2>();
    let (x_refs, s0_refs) = (
        [x[0].as_slice(), x[1].as_slice()],
        [s0[0].as_slice(), s0[1].as_slice(), s0[2].as_slice()],
    );
    let mut spikes = vec![0.0; LEN];
    let mut states = [vec![0.0; LEN], vec![0.0; LEN], vec![0.0; LEN]];
    {
        let [a, b, c] = &mut states;
        layer
            .forward(STEPS, &x_refs, &s0_refs, &mut spikes, &mut [a, b, c])
            .unwrap();
    }
    assert_bits("spikes", &expected.spikes, &spikes);
    for k in 0..3 {
        assert_bits(&format!("state {k}"), &expected.states[k], &states[k]);
    }
    let mut gi = [vec![0.0; LEN], vec![0.0; LEN]];
    let mut g0 = [vec![0.0; N], vec![0.0; N], vec![0.0; N]];
    let mut gp: Vec<Vec<f64>> = p.iter().map(|v| vec![0.0; v.len()]).collect();
    {
        let state_refs = [
            states[0].as_slice(),
            states[1].as_slice(),
            states[2].as_slice(),
        ];
        let zero = vec![-0.0; LEN];
        let grad_states = [zero.as_slice(), zero.as_slice(), v.as_slice()];
        let [gx, gy] = &mut gi;
        let [ga, gb, gc] = &mut g0;
        let mut gp_refs: Vec<&mut [f64]> = gp.iter_mut().map(|v| v.as_mut_slice()).collect();
        layer
            .backward(
                STEPS,
                Saved::new(&x_refs, &s0_refs, &spikes, &state_refs),
                OutputGrads::new(&w, &grad_states),
                InputGrads::new(&mut [gx, gy], &mut [ga, gb, gc], &mut gp_refs),
            )
            .unwrap();
    }
    for k in 0..2 {
        assert_bits(&format!("dL/d input {k}"), &expected.grad_inputs[k], &gi[k]);
    }
    for k in 0..3 {
        assert_bits(
            &format!("dL/d initial {k}"),
            &expected.grad_initial[k],
            &g0[k],
        );
    }
    for k in 0..5 {
        assert_bits(&format!("dL/d p{k}"), &expected.grad_params[k], &gp[k]);
    }

    // the single-step API, forward then backward with the accumulator
    let mut state = s0.clone();
    let mut history = vec![state.clone()];
    for t in 0..STEPS {
        let ins = [&x[0][t * N..(t + 1) * N], &x[1][t * N..(t + 1) * N]];
        let mut out = vec![0.0; N];
        let [a, b, c] = &mut state;
        layer.step(t, &ins, &mut [a, b, c], &mut out).unwrap();
        assert_bits("step spikes", &expected.spikes[t * N..(t + 1) * N], &out);
        history.push(state.clone());
    }
    let mut accumulator = vec![0.0; layer.param_accumulator_len()];
    layer.clear_param_accumulator(&mut accumulator);
    let mut grad_state = [vec![-0.0; N], vec![-0.0; N], v[(STEPS - 1) * N..].to_vec()];
    for t in (0..STEPS).rev() {
        let ins = [&x[0][t * N..(t + 1) * N], &x[1][t * N..(t + 1) * N]];
        let prev = [&history[t][0][..], &history[t][1][..], &history[t][2][..]];
        let next = [
            &history[t + 1][0][..],
            &history[t + 1][1][..],
            &history[t + 1][2][..],
        ];
        let (mut gx, mut gy) = (vec![0.0; N], vec![0.0; N]);
        let [ga, gb, gc] = &mut grad_state;
        layer
            .step_backward(
                t,
                &ins,
                &prev,
                &next,
                &w[t * N..(t + 1) * N],
                &mut [ga, gb, gc],
                &mut [&mut gx, &mut gy],
                &mut accumulator,
            )
            .unwrap();
        assert_bits(
            "step dL/dx",
            &expected.grad_inputs[0][t * N..(t + 1) * N],
            &gx,
        );
        assert_bits(
            "step dL/dy",
            &expected.grad_inputs[1][t * N..(t + 1) * N],
            &gy,
        );
        if t > 0 {
            // add the loss on c[t-1]
            for e in 0..N {
                grad_state[2][e] += v[(t - 1) * N + e];
            }
        }
    }
    for k in 0..3 {
        assert_bits(
            &format!("step dL/d initial {k}"),
            &expected.grad_initial[k],
            &grad_state[k],
        );
    }
    let mut reduced: Vec<Vec<f64>> = p.iter().map(|v| vec![0.0; v.len()]).collect();
    let mut refs: Vec<&mut [f64]> = reduced.iter_mut().map(|v| v.as_mut_slice()).collect();
    layer.reduce_param_grads(&accumulator, &mut refs).unwrap();
    for k in 0..5 {
        assert_bits(
            &format!("reduced dL/d p{k}"),
            &expected.grad_params[k],
            &reduced[k],
        );
    }
}
