//! Inputs that overflow the membrane (`docs/semantics.md`, "Inputs that
//! overflow"): IEEE arithmetic in f32, saturation in F16, exactly as the
//! docs say, step by step.

use snn_kernels::layer::{Layer, Param};
use snn_kernels::model::{Model, Reset};
use snn_kernels::models::{Leaky, RLeakyAllToAll};
use snn_kernels::surrogate::Atan;
use snn_kernels::{Real, F16};

/// The spikes and the membrane of one neuron over the inputs `x` (every
/// input stream gets `x`), from a zero membrane.
fn run<M: Model, T: Real<Mask = bool> + Into<f64>>(
    model: M,
    params: &[T],
    x: &[T],
) -> (Vec<f64>, Vec<f64>) {
    let params: Vec<Param<T>> = params.iter().map(|&v| Param::Scalar(v)).collect();
    let layer = Layer::new(model, Atan::default(), 1, 1, &params).unwrap();
    let steps = x.len();
    let inputs: Vec<&[T]> = M::INPUTS.iter().map(|_| x).collect();
    let initial = vec![T::zero(); M::STATES.len()];
    let initial: Vec<&[T]> = initial.chunks(1).collect();
    let mut spikes = vec![T::zero(); steps];
    let mut mem = vec![T::zero(); steps];
    layer
        .forward(steps, &inputs, &initial, &mut spikes, &mut [&mut mem])
        .unwrap();
    let f = |v: Vec<T>| v.into_iter().map(Into::into).collect();
    (f(spikes), f(mem))
}

fn assert_same(what: &str, expected: &[f64], actual: &[f64]) {
    let same = |a: f64, b: f64| (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits();
    assert!(
        expected.len() == actual.len() && expected.iter().zip(actual).all(|(&a, &b)| same(a, b)),
        "{what}: expected {expected:?}, got {actual:?}"
    );
}

/// f32, beta 1, threshold 3e38, inputs 2e38, 2e38, 0, 0: the membrane
/// overflows to +inf at step 1 (2e38 + 2e38), which fires. At step 2 the
/// reset signal is 1 and
/// - subtract: `1·inf + 0 - 1·3e38 = inf`, which fires again, for ever;
/// - zero: Leaky's `b·((1 - r)·mem) + x` is `1·(0·inf) + 0 = NaN`, which
///   does not fire (`H(NaN) = 0`), and NaN stays;
/// - none: `inf` for ever.
///
/// With beta 0, the next step computes `0·inf = NaN`.
#[test]
fn an_f32_membrane_that_overflows_follows_ieee() {
    let x = [2.0e38f32, 2.0e38, 0.0, 0.0];
    let (inf, nan) = (f64::INFINITY, f64::NAN);
    let first = 2.0e38f32 as f64;
    let cases = [
        (
            Reset::Subtract,
            1.0,
            [0.0, 1.0, 1.0, 1.0],
            [first, inf, inf, inf],
        ),
        (
            Reset::Zero,
            1.0,
            [0.0, 1.0, 0.0, 0.0],
            [first, inf, nan, nan],
        ),
        (
            Reset::None,
            1.0,
            [0.0, 1.0, 1.0, 1.0],
            [first, inf, inf, inf],
        ),
    ];
    for (reset, beta, spikes, mem) in cases {
        let (s, m) = run(Leaky::new(reset, true), &[beta, 3.0e38, 1.0], &x);
        assert_same(&format!("{reset:?} beta {beta}: spikes"), &spikes, &s);
        assert_same(&format!("{reset:?} beta {beta}: mem"), &mem, &m);
    }
    // beta 0 after an infinite membrane: 0·inf = NaN
    let x = [f32::INFINITY, 0.0];
    let (s, m) = run(Leaky::new(Reset::None, true), &[0.0, 1.0, 1.0], &x);
    assert_same("beta 0 after inf: spikes", &[1.0, 0.0], &s);
    assert_same("beta 0 after inf: mem", &[inf, nan], &m);
    // the zero reset of the other models, `base - r·base`, is NaN for an
    // infinite `base` whatever `r`: `inf - 0·inf` without a reset, `inf -
    // inf` with one. Here x + rec = 4e38 overflows at the first step.
    let x = [2.0e38f32, 0.0, 0.0];
    let (s, m) = run(RLeakyAllToAll::new(Reset::Zero, true), &[1.0, 3.0e38], &x);
    assert_same("RLeaky zero: spikes", &[0.0, 0.0, 0.0], &s);
    assert_same("RLeaky zero: mem", &[nan, nan, nan], &m);
    let (s, m) = run(
        RLeakyAllToAll::new(Reset::Subtract, true),
        &[1.0, 3.0e38],
        &x,
    );
    assert_same("RLeaky subtract: spikes", &[1.0, 1.0, 1.0], &s);
    assert_same("RLeaky subtract: mem", &[inf, inf, inf], &m);
}

/// The same in F16 (threshold 60000, inputs 40000): the sum saturates to
/// 65504 instead of overflowing, and everything stays finite.
#[test]
fn an_f16_membrane_saturates_at_65504() {
    let h = |v: f64| F16::from_f64(v);
    let x = [40000.0, 40000.0, 0.0, 0.0].map(h);
    let cases = [
        (
            Reset::Subtract,
            [0.0, 1.0, 0.0, 0.0],
            [40000.0, 65504.0, 5504.0, 5504.0],
        ),
        (
            Reset::Zero,
            [0.0, 1.0, 0.0, 0.0],
            [40000.0, 65504.0, 0.0, 0.0],
        ),
        (
            Reset::None,
            [0.0, 1.0, 1.0, 1.0],
            [40000.0, 65504.0, 65504.0, 65504.0],
        ),
    ];
    for (reset, spikes, mem) in cases {
        let (s, m) = run(Leaky::new(reset, true), &[h(1.0), h(60000.0), h(1.0)], &x);
        assert_same(&format!("{reset:?}: spikes"), &spikes, &s);
        assert_same(&format!("{reset:?}: mem"), &mem, &m);
    }
    // -65504 on the other side
    let x = [-40000.0, -40000.0].map(h);
    let (_, m) = run(Leaky::new(Reset::Zero, true), &[h(1.0), h(1.0), h(1.0)], &x);
    assert_same("negative", &[-40000.0, -65504.0], &m);
}
