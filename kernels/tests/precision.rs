//! fp16 and fp32 runs of the same inputs, each equal bit for bit to the
//! definition of `docs/semantics.md`: IEEE arithmetic with one rounding per operation
//! (binary16: round to nearest even after each operation, gradual
//! underflow, finite overflow saturating to ±65504; elementary functions
//! computed in binary32 and rounded once). The definitions are independent
//! scalar types (`SoftF16`, `SoftF32`) that compute every operation in f64
//! and round with their own code. Every model, configuration and surrogate,
//! forward and backward, on random inputs mixed with awkward values.

mod common;

use common::soft_f16::SoftF16;
use common::soft_f32::SoftF32;
use common::{assert_bits_eq, run, stored_states, Problem, Rng};
use snn_kernels::model::Model;
use snn_kernels::surrogate::Surrogate;
use snn_kernels::F16;

/// Values that stress the arithmetic: signed zeros, binary16 subnormals and
/// binary32 subnormals, values at and one binary16 ulp around the default
/// threshold, huge values, infinities and NaN.
const AWKWARD: &[f64] = &[
    0.0,
    -0.0,
    5.960464477539063e-8,
    -6.0e-8,
    3.0e-5,
    1.0e-40,
    1.0,
    0.99951171875,
    1.0009765625,
    60000.0,
    -65504.0,
    1.0e6,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::NAN,
];

fn awkward_problem<M: Model>(per_neuron: bool, seed: u64) -> Problem {
    let mut rng = Rng::new(seed);
    let mut prob = Problem::random::<M>(6, 2, 3, per_neuron, &mut rng);
    for stream in prob.inputs.iter_mut().chain(prob.initial.iter_mut()) {
        for v in stream.iter_mut() {
            if rng.below(4) == 0 {
                *v = AWKWARD[rng.below(AWKWARD.len())];
            }
        }
    }
    prob
}

fn compare<A: common::Bits, B: common::Bits>(what: &str, a: &common::Run<A>, b: &common::Run<B>) {
    assert_bits_eq(&format!("{what}: spikes"), &a.spikes, &b.spikes);
    for (k, (x, y)) in a.states.iter().zip(&b.states).enumerate() {
        assert_bits_eq(&format!("{what}: state {k}"), x, y);
    }
    for (k, (x, y)) in a.grad_inputs.iter().zip(&b.grad_inputs).enumerate() {
        assert_bits_eq(&format!("{what}: input gradient {k}"), x, y);
    }
    for (k, (x, y)) in a.grad_initial.iter().zip(&b.grad_initial).enumerate() {
        assert_bits_eq(&format!("{what}: initial-state gradient {k}"), x, y);
    }
    for (k, (x, y)) in a.grad_params.iter().zip(&b.grad_params).enumerate() {
        assert_bits_eq(&format!("{what}: parameter gradient {k}"), x, y);
    }
}

fn check<M: Model, S: Surrogate>(model: M, surrogate: S, per_neuron: bool, seed: u64) {
    let prob = awkward_problem::<M>(per_neuron, seed);
    let mut rng = Rng::new(seed ^ 0xabc);
    let w_spikes = rng.vec(prob.len(), -1.0, 1.0);
    let w_states: Vec<Vec<f64>> = (0..stored_states::<M>())
        .map(|_| rng.vec(prob.len(), -1.0, 1.0))
        .collect();
    let what = format!("{} {} with {}", M::NAME, model.variant(), S::NAME);

    // binary16
    let half = prob.convert(F16::from_f64);
    let soft16 = prob.convert(|x| SoftF16(F16::from_f64(x).to_f64()));
    let ws16: Vec<F16> = w_spikes.iter().map(|&w| F16::from_f64(w)).collect();
    let wst16: Vec<Vec<F16>> = w_states
        .iter()
        .map(|v| v.iter().map(|&w| F16::from_f64(w)).collect())
        .collect();
    let soft_ws16: Vec<SoftF16> = ws16.iter().map(|w| SoftF16(w.to_f64())).collect();
    let soft_wst16: Vec<Vec<SoftF16>> = wst16
        .iter()
        .map(|v| v.iter().map(|w| SoftF16(w.to_f64())).collect())
        .collect();
    let a = run::<M, S, F16, 2>(model, surrogate, 5, &prob, &half, &ws16, &wst16);
    let b = run::<M, S, SoftF16, 2>(model, surrogate, 5, &prob, &soft16, &soft_ws16, &soft_wst16);
    compare(&format!("fp16 {what}"), &a, &b);

    // binary32, same inputs
    let single = prob.convert(|x| x as f32);
    let soft32 = prob.convert(|x| SoftF32(x as f32 as f64));
    let ws32: Vec<f32> = w_spikes.iter().map(|&w| w as f32).collect();
    let wst32: Vec<Vec<f32>> = w_states
        .iter()
        .map(|v| v.iter().map(|&w| w as f32).collect())
        .collect();
    let soft_ws32: Vec<SoftF32> = ws32.iter().map(|&w| SoftF32(w as f64)).collect();
    let soft_wst32: Vec<Vec<SoftF32>> = wst32
        .iter()
        .map(|v| v.iter().map(|&w| SoftF32(w as f64)).collect())
        .collect();
    let c = run::<M, S, f32, 2>(model, surrogate, 5, &prob, &single, &ws32, &wst32);
    let d = run::<M, S, SoftF32, 2>(model, surrogate, 5, &prob, &soft32, &soft_ws32, &soft_wst32);
    compare(&format!("fp32 {what}"), &c, &d);
}

fn check_all<M: Model>(model: M) {
    for_each_surrogate!(|s| {
        for per_neuron in [false, true] {
            check(
                model,
                s,
                per_neuron,
                17 + model.config_index() as u64 * 3 + per_neuron as u64,
            );
        }
    });
}

#[test]
fn fp16_and_fp32_kernels_equal_their_definitions_bit_for_bit() {
    for_each_model_config!(check_all);
}

#[test]
fn f16_overflow_saturates_and_subnormals_are_kept() {
    let big = F16::from_f32(60000.0);
    assert_eq!(
        (big + big).to_bits(),
        F16::MAX.to_bits(),
        "finite overflow saturates to 65504"
    );
    assert_eq!((-big - big).to_bits(), (-F16::MAX).to_bits());
    let inf = F16::from_f32(f32::INFINITY);
    assert_eq!(
        (inf + big).to_bits(),
        inf.to_bits(),
        "infinite operands stay infinite"
    );
    assert_eq!(
        (F16::ONE / F16::ZERO).to_bits(),
        inf.to_bits(),
        "x / 0 is infinity"
    );
    let tiny = F16::from_bits(0x0001); // 2^-24, the smallest subnormal
    assert_eq!((tiny + tiny).to_bits(), 0x0002, "subnormals add exactly");
    assert_eq!(
        (tiny * F16::from_f32(0.5)).to_bits(),
        0x0000,
        "2^-25 rounds to even: zero"
    );
    assert_eq!(
        (tiny * F16::from_f32(1.5)).to_bits(),
        0x0002,
        "1.5 * 2^-24 rounds to even: 2^-23"
    );
}
