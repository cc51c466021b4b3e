//! fp16 and fp32 runs of the same inputs, each equal bit for bit to the
//! definition of `docs/semantics.md`: IEEE arithmetic with one rounding per operation
//! (binary16: round to nearest even after each operation, gradual
//! underflow, finite overflow saturating to ±65504; elementary functions
//! computed in binary32 and rounded once). The definitions are independent
//! scalar types (`SoftF16`, `SoftF32`) that compute every operation in f64
//! and round with their own code. Every model, configuration and surrogate,
//! forward and backward, on random inputs mixed with awkward values.

mod common;

use common::any_surrogate::{surrogates, AnySurrogate};
use common::soft_f16::SoftF16;
use common::soft_f32::SoftF32;
use common::{assert_runs_eq, run, stored_states, Bits, Problem, Rng};
use snn_kernels::model::Model;
use snn_kernels::{Real, F16};

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

/// The kernels in precision `T` against the definition `D` (the same
/// values, computed by a soft float), on the same data rounded once to `T`.
#[allow(clippy::too_many_arguments)]
fn against_definition<M: Model, T, D>(
    what: &str,
    model: M,
    surrogate: AnySurrogate,
    prob: &Problem,
    w_spikes: &[f64],
    w_states: &[Vec<f64>],
    round: impl Fn(f64) -> T,
    define: impl Fn(T) -> D,
) where
    T: Real<Mask = bool> + Bits,
    D: Real<Mask = bool> + Bits,
{
    let data = prob.convert(&round);
    let defined = prob.convert(|x| define(round(x)));
    let ws: Vec<T> = w_spikes.iter().map(|&w| round(w)).collect();
    let wst: Vec<Vec<T>> = w_states
        .iter()
        .map(|v| v.iter().map(|&w| round(w)).collect())
        .collect();
    let defined_ws: Vec<D> = ws.iter().map(|&w| define(w)).collect();
    let defined_wst: Vec<Vec<D>> = wst
        .iter()
        .map(|v| v.iter().map(|&w| define(w)).collect())
        .collect();
    let kernels = run::<M, _, T, 2>(model, surrogate, 5, prob, &data, &ws, &wst);
    let definition = run::<M, _, D, 2>(
        model,
        surrogate,
        5,
        prob,
        &defined,
        &defined_ws,
        &defined_wst,
    );
    assert_runs_eq(what, &definition, &kernels);
}

fn check<M: Model>(model: M, surrogate: AnySurrogate, per_neuron: bool, seed: u64) {
    let prob = awkward_problem::<M>(per_neuron, seed);
    let mut rng = Rng::new(seed ^ 0xabc);
    let w_spikes = rng.vec(prob.len(), -1.0, 1.0);
    let w_states: Vec<Vec<f64>> = (0..stored_states::<M>())
        .map(|_| rng.vec(prob.len(), -1.0, 1.0))
        .collect();
    let what = format!("{} {} with {}", M::NAME, model.variant(), surrogate.name());
    against_definition(
        &format!("fp16 {what}"),
        model,
        surrogate,
        &prob,
        &w_spikes,
        &w_states,
        F16::from_f64,
        |h| SoftF16(h.to_f64()),
    );
    // binary32, same inputs
    against_definition(
        &format!("fp32 {what}"),
        model,
        surrogate,
        &prob,
        &w_spikes,
        &w_states,
        |x| x as f32,
        |x| SoftF32(x as f64),
    );
}

fn check_all<M: Model>(model: M) {
    for surrogate in surrogates() {
        for per_neuron in [false, true] {
            let seed = 17 + model.config_index() as u64 * 3 + per_neuron as u64;
            check(model, surrogate, per_neuron, seed);
        }
    }
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
