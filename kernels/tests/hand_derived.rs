//! Small cases worked out on paper. The numbers are dyadic, so every step
//! is exact in binary32 and the expected values below are exact.

use snn_kernels::layer::{InputGrads, Layer, OutputGrads, Param, Saved};
use snn_kernels::model::{Model, Reset};
use snn_kernels::models::*;
use snn_kernels::surrogate::{Atan, StraightThrough};

/// Runs one neuron (batch 1) forward; returns spikes and stored states.
fn forward<M: Model>(
    model: M,
    params: &[f32],
    inputs: &[&[f32]],
    initial: &[f32],
) -> (Vec<f32>, Vec<Vec<f32>>) {
    let steps = inputs[0].len();
    let params: Vec<Param<f32>> = params.iter().map(|&p| Param::Scalar(p)).collect();
    let layer = Layer::new(model, Atan::default(), 1, 1, &params).unwrap();
    let initial: Vec<&[f32]> = initial.iter().map(core::slice::from_ref).collect();
    let stored = M::STATES.len() - M::SPIKE_STATE.map_or(0, |_| 1);
    let mut spikes = vec![0.0; steps];
    let mut states = vec![vec![0.0; steps]; stored];
    let mut outs: Vec<&mut [f32]> = states.iter_mut().map(|v| v.as_mut_slice()).collect();
    layer
        .forward(steps, inputs, &initial, &mut spikes, &mut outs)
        .unwrap();
    (spikes, states)
}

#[test]
fn leaky_subtract() {
    // beta 0.5, threshold 1: mem = 0.5 mem + x - r
    let (spk, states) = forward(
        Leaky::default(),
        &[0.5, 1.0, 1.0],
        &[&[0.75, 0.75, 0.25, 0.0]],
        &[0.0],
    );
    assert_eq!(states[0], [0.75, 1.125, -0.1875, -0.09375]);
    assert_eq!(spk, [0.0, 1.0, 0.0, 0.0]);
}

#[test]
fn leaky_zero_and_none_and_graded() {
    // zero: mem = 0.5·((1 - r)·mem) + x
    let (spk, states) = forward(
        Leaky::new(Reset::Zero, true),
        &[0.5, 1.0, 1.0],
        &[&[1.5, 0.5, 0.5]],
        &[0.0],
    );
    assert_eq!(states[0], [1.5, 0.5, 0.75]);
    assert_eq!(spk, [1.0, 0.0, 0.0]);
    // none, graded factor 2: the spike is 2
    let (spk, states) = forward(
        Leaky::new(Reset::None, true),
        &[0.5, 1.0, 2.0],
        &[&[1.5, 0.5, 0.5]],
        &[0.0],
    );
    assert_eq!(states[0], [1.5, 1.25, 1.125]);
    assert_eq!(spk, [2.0, 2.0, 2.0]);
}

#[test]
fn leaky_immediate_reset() {
    // reset_delay false, subtract: d = spk/g - r = 1 at t0, so mem = 1.5 - 1
    let (spk, states) = forward(
        Leaky::new(Reset::Subtract, false),
        &[0.5, 1.0, 1.0],
        &[&[1.5, 0.0]],
        &[0.0],
    );
    assert_eq!(states[0], [0.5, 0.25]);
    assert_eq!(spk, [1.0, 0.0]);
    // zero: mem = 1.5 - 1·1.5
    let (_, states) = forward(
        Leaky::new(Reset::Zero, false),
        &[0.5, 1.0, 1.0],
        &[&[1.5, 0.25]],
        &[0.0],
    );
    assert_eq!(states[0], [0.0, 0.25]);
}

#[test]
fn synaptic_fires_strictly_above_threshold() {
    // alpha = beta = 0.5: at t0 mem is exactly 1 = threshold: no spike
    let (spk, states) = forward(
        Synaptic::default(),
        &[0.5, 0.5, 1.0],
        &[&[1.0, 0.5, 0.0]],
        &[0.0, 0.0],
    );
    assert_eq!(states[0], [1.0, 1.0, 0.5], "syn");
    assert_eq!(states[1], [1.0, 1.5, 0.25], "mem");
    assert_eq!(spk, [0.0, 1.0, 0.0]);
}

#[test]
fn alpha_zero_and_subtract() {
    // a = 0.5, b = 0.25: tau = ln 0.5 / (ln 0.25 - ln 0.5) + 1 = 2 exactly
    let (spk, states) = forward(
        Alpha::default(),
        &[0.5, 0.25, 1.0],
        &[&[4.0, 0.0, 0.0]],
        &[0.0, 0.0, 0.0],
    );
    assert_eq!(states[0], [4.0, 2.0, 0.0], "syn_exc");
    assert_eq!(states[1], [-4.0, -1.0, 0.0], "syn_inh");
    assert_eq!(states[2], [0.0, 2.0, 0.0], "mem");
    assert_eq!(spk, [0.0, 1.0, 0.0]);
    let (_, states) = forward(
        Alpha {
            reset: Reset::Subtract,
        },
        &[0.5, 0.25, 1.0],
        &[&[4.0, 0.0, 0.0]],
        &[0.0, 0.0, 0.0],
    );
    // t2: exc = 1 - thr, inh = -0.25 - (-0.25), mem = 2·0.75 - (-(-1))·1
    assert_eq!(states[0], [4.0, 2.0, 0.0]);
    assert_eq!(states[1], [-4.0, -1.0, 0.0]);
    assert_eq!(states[2], [0.0, 2.0, 0.5]);
}

#[test]
fn lapicque_from_r_and_c() {
    // R = 1, C = 2, dt = 1: base = ((x·1)·0.5)·1 + (1 - 0.5)·mem
    let model = Lapicque::new(Reset::Subtract, false, true, true).unwrap();
    let (spk, states) = forward(
        model,
        &[0.0, 1.0, 2.0, 1.0, 1.0],
        &[&[2.0, 2.0, 0.0]],
        &[0.0],
    );
    assert_eq!(states[0], [1.0, 1.5, -0.25]);
    assert_eq!(spk, [0.0, 1.0, 0.0]);
}

#[test]
fn rleaky_one_to_one() {
    // beta 0.5, V 0.5: mem = 0.5 mem + x + 0.5 spk[t-1] - r
    let (spk, states) = forward(
        RLeaky::default(),
        &[0.5, 0.5, 1.0],
        &[&[1.25, 0.0, 0.0]],
        &[0.0, 0.0],
    );
    assert_eq!(states[0], [1.25, 0.125, 0.0625]);
    assert_eq!(spk, [1.0, 0.0, 0.0]);
}

#[test]
fn rsynaptic_one_to_one() {
    let (spk, states) = forward(
        RSynaptic::default(),
        &[0.5, 0.5, 0.5, 1.0],
        &[&[1.5, 0.0, 0.0]],
        &[0.0, 0.0, 0.0],
    );
    assert_eq!(states[0], [1.5, 1.25, 0.625], "syn");
    assert_eq!(states[1], [1.5, 1.0, 1.125], "mem");
    assert_eq!(spk, [1.0, 0.0, 1.0]);
}

#[test]
fn all_to_all_recurrence_is_an_input_stream() {
    let (spk, states) = forward(
        RLeakyAllToAll::default(),
        &[0.5, 1.0],
        &[&[1.0, 0.0], &[0.25, 0.5]],
        &[0.0],
    );
    assert_eq!(states[0], [1.25, 0.125]);
    assert_eq!(spk, [1.0, 0.0]);
}

/// Runs one neuron forward and backward with the straight-through surrogate
/// and returns (input grads, initial-state grads, parameter grads).
fn gradients<M: Model>(
    model: M,
    params: &[f32],
    x: &[f32],
    initial: &[f32],
    grad_spikes: &[f32],
    grad_states: &[&[f32]],
) -> (Vec<Vec<f32>>, Vec<f32>, Vec<f32>) {
    let steps = x.len();
    let params_list: Vec<Param<f32>> = params.iter().map(|&p| Param::Scalar(p)).collect();
    let layer = Layer::new(model, StraightThrough, 1, 1, &params_list).unwrap();
    let initial_refs: Vec<&[f32]> = initial.iter().map(core::slice::from_ref).collect();
    let stored = M::STATES.len() - M::SPIKE_STATE.map_or(0, |_| 1);
    let mut spikes = vec![0.0; steps];
    let mut states = vec![vec![0.0; steps]; stored];
    {
        let mut outs: Vec<&mut [f32]> = states.iter_mut().map(|v| v.as_mut_slice()).collect();
        layer
            .forward(steps, &[x], &initial_refs, &mut spikes, &mut outs)
            .unwrap();
    }
    let mut gx = vec![0.0; steps];
    let mut g0 = vec![0.0f32; initial.len()];
    let mut gp = vec![0.0f32; params.len()];
    let state_refs: Vec<&[f32]> = states.iter().map(|v| v.as_slice()).collect();
    let mut g0_refs: Vec<&mut [f32]> = g0.iter_mut().map(core::slice::from_mut).collect();
    let mut gp_refs: Vec<&mut [f32]> = gp.iter_mut().map(core::slice::from_mut).collect();
    layer
        .backward(
            steps,
            Saved::new(&[x], &initial_refs, &spikes, &state_refs),
            OutputGrads::new(grad_spikes, grad_states),
            InputGrads::new(&mut [&mut gx], &mut g0_refs, &mut gp_refs),
        )
        .unwrap();
    (vec![gx], g0, gp)
}

#[test]
fn leaky_backward_by_hand() {
    // L = sum of spikes, S' = 1. mem = [0.75, 1.125, -0.1875, -0.09375],
    // r = [0, 0, 1, 0]. dL/dmem[t] = 1 + 0.5·dL/dmem[t+1] = [1.875, 1.75, 1.5, 1];
    // dL/dthr = sum(-1 - r·dL/dmem) = -5.5; dL/dbeta = sum mem[t-1]·dL/dmem[t]
    // = 0 + 0.75·1.75 + 1.125·1.5 - 0.1875 = 2.8125; dL/dg = spike count = 1.
    let (gx, g0, gp) = gradients(
        Leaky::default(),
        &[0.5, 1.0, 1.0],
        &[0.75, 0.75, 0.25, 0.0],
        &[0.0],
        &[1.0; 4],
        &[],
    );
    assert_eq!(gx[0], [1.875, 1.75, 1.5, 1.0]);
    assert_eq!(g0, [0.9375]);
    assert_eq!(gp, [2.8125, -5.5, 1.0]);
}

#[test]
fn rleaky_backward_by_hand() {
    // L = mem[2]. The gradient reaches spk[1] and spk[0] through V = 0.5 and
    // comes back into the membrane through S' = 1:
    // dL/dmem = [1, 1, 1] (before the leak), dL/dV = spk[0] = 1,
    // dL/dthr = -1.5 (t1: fire -0.5, reset -1) - 0.5 (t0) = -2,
    // dL/dbeta = 1.25·1 + 0.125·1 = 1.375, dL/dmem[-1] = dL/dspk[-1] = 0.5.
    let (gx, g0, gp) = gradients(
        RLeaky::default(),
        &[0.5, 0.5, 1.0],
        &[1.25, 0.0, 0.0],
        &[0.0, 0.0],
        &[0.0; 3],
        &[&[0.0, 0.0, 1.0]],
    );
    assert_eq!(gx[0], [1.0, 1.0, 1.0]);
    assert_eq!(g0, [0.5, 0.5]);
    assert_eq!(gp, [1.375, 1.0, -2.0]);
}
