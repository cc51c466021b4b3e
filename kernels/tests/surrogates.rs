//! Every built-in surrogate against its formula in `docs/neurons.md`, evaluated
//! independently in f64 (relative 1e-12: the formula and the kernel group
//! the operations differently), snnTorch's default parameters, and a
//! surrogate defined outside the crate working in a layer.

mod common;

use common::assert_bits_eq;
use snn_kernels::layer::{InputGrads, Layer, OutputGrads, Param, Saved};
use snn_kernels::models::Leaky;
use snn_kernels::surrogate::*;
use snn_kernels::{Real, F16};

const Z: &[f64] = &[
    -3.0, -1.0, -0.5, -0.1, -1e-3, -0.0, 0.0, 1e-3, 0.1, 0.5, 0.9, 1.0, 1.1, 2.5,
];

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * (1.0 + a.abs().max(b.abs()))
}

/// The kernels' `grad` against the formula, and [`AnySurrogate`] (the
/// tests' run-time choice of surrogate) against the surrogate itself, bit
/// for bit in both precisions and on awkward values.
fn check<S: Surrogate>(s: S, formula: impl Fn(f64) -> f64) {
    let any = AnySurrogate::of(&s).expect("a built-in surrogate");
    assert_eq!(any.name(), S::NAME);
    let awkward = [f64::NAN, f64::INFINITY, 1e-40, 70000.0];
    for &z in Z.iter().chain(&awkward) {
        for (g, noise) in [(1.0, 0.25), (-0.75, 0.9), (f64::NAN, 0.0), (1e30, 0.5)] {
            let (z32, g32, n32) = (z as f32, g as f32, noise as f32);
            let a = AnySurrogate::grad(z32, g32, &constants_in(&any), n32);
            let b = S::grad(z32, g32, &constants_in(&s), n32);
            assert_bits_eq(&format!("{} f32 at {z}, {g}", S::NAME), &[b], &[a]);
            let (z16, g16, n16) = (F16::from_f64(z), F16::from_f64(g), F16::from_f64(noise));
            let a = AnySurrogate::grad(z16, g16, &constants_in(&any), n16);
            let b = S::grad(z16, g16, &constants_in(&s), n16);
            assert_bits_eq(&format!("{} f16 at {z}, {g}", S::NAME), &[b], &[a]);
        }
    }
    let c = constants_in::<f64, S>(&s);
    for &z in Z {
        for g in [1.0, -0.75] {
            let got = S::grad(z, g, &c, 0.25);
            let expected = g * formula(z);
            assert!(
                close(got, expected),
                "{}: z = {z}, g = {g}: {got} vs {expected}",
                S::NAME
            );
        }
    }
}

fn h(z: f64) -> f64 {
    if z > 0.0 {
        1.0
    } else {
        0.0
    }
}

#[test]
fn surrogates_follow_their_formulas() {
    use std::f64::consts::PI;
    check(Atan { alpha: 3.0 }, |z| {
        3.0 / 2.0 / (1.0 + (PI / 2.0 * 3.0 * z).powi(2))
    });
    check(FastSigmoid { slope: 7.0 }, |z| {
        1.0 / (7.0 * z.abs() + 1.0).powi(2)
    });
    check(Sigmoid { slope: 6.0 }, |z| {
        6.0 * (-6.0 * z).exp() / ((-6.0 * z).exp() + 1.0).powi(2)
    });
    check(Triangular { threshold: 0.5 }, |z| {
        if z < 0.0 {
            0.5
        } else {
            -0.5
        }
    });
    check(StraightThrough, |_| 1.0);
    check(Heaviside, h);
    check(
        SpikeRateEscape {
            beta: 2.0,
            slope: 3.0,
        },
        |z| 3.0 * (-2.0 * (z - 1.0).abs()).exp(),
    );
    check(SparseFastSigmoid { slope: 4.0, b: 0.2 }, |z| {
        if z > 0.2 {
            1.0 / (4.0 * z.abs() + 1.0).powi(2)
        } else {
            0.0
        }
    });
    check(LeakySpikeOperator { slope: 0.3 }, |z| {
        if z > 0.0 {
            1.0
        } else {
            0.3
        }
    });
    // noise 0.25: (0.25 - 0.5 + mean) · variance
    check(
        StochasticSpikeOperator {
            mean: 0.1,
            variance: 0.4,
        },
        |z| {
            if z > 0.0 {
                1.0
            } else {
                (0.25 - 0.5 + 0.1) * 0.4
            }
        },
    );
}

#[test]
fn defaults_are_snntorchs() {
    assert_eq!(Atan::default().alpha, 2.0);
    assert_eq!(FastSigmoid::default().slope, 25.0);
    assert_eq!(Sigmoid::default().slope, 25.0);
    assert_eq!(Triangular::default().threshold, 1.0);
    assert_eq!(
        SpikeRateEscape::default(),
        SpikeRateEscape {
            beta: 1.0,
            slope: 25.0
        }
    );
    assert_eq!(
        SparseFastSigmoid::default(),
        SparseFastSigmoid {
            slope: 25.0,
            b: 1.0
        }
    );
    assert_eq!(LeakySpikeOperator::default().slope, 0.1);
    assert_eq!(
        StochasticSpikeOperator::default(),
        StochasticSpikeOperator {
            mean: 0.0,
            variance: 0.2
        }
    );
}

/// A surrogate defined outside the crate: a boxcar, 1/(2w) for |z| < w.
#[derive(Clone, Copy, Debug)]
struct Boxcar {
    width: f64,
}

impl Surrogate for Boxcar {
    const NAME: &'static str = "boxcar";
    const CONSTANTS: &'static [&'static str] = &["width", "height"];
    fn constants(&self) -> [f64; MAX_SURROGATE_CONSTANTS] {
        [self.width, 1.0 / (2.0 * self.width), 0.0, 0.0]
    }
    fn grad<T: Real>(z: T, grad: T, c: &SurrogateConstants<T>, _noise: T) -> T {
        T::select(z.abs().lt(c[0]), grad * c[1], T::zero())
    }
}

#[test]
fn a_user_defined_surrogate_works_in_a_layer() {
    // one neuron, one step, mem = x; L = spk: dL/dx = S'(x - 1)
    let layer = Layer::new(
        Leaky::default(),
        Boxcar { width: 0.5 },
        1,
        2,
        &[0.5f32, 1.0, 1.0].map(Param::Scalar),
    )
    .unwrap();
    let x = [0.75f32, 1.75];
    let mut spikes = [0.0; 2];
    let mut mem = [0.0; 2];
    layer
        .forward(1, &[&x], &[&[0.0, 0.0]], &mut spikes, &mut [&mut mem])
        .unwrap();
    let mut gx = [0.0f32; 2];
    layer
        .backward(
            1,
            Saved::new(&[&x], &[&[0.0, 0.0]], &spikes, &[&mem]),
            OutputGrads::new(&[1.0, 1.0], &[]),
            InputGrads::new(&mut [&mut gx], &mut [], &mut []),
        )
        .unwrap_err(); // the initial-state gradient list must name every state
    layer
        .backward(
            1,
            Saved::new(&[&x], &[&[0.0, 0.0]], &spikes, &[&mem]),
            OutputGrads::new(&[1.0, 1.0], &[]),
            InputGrads::new(&mut [&mut gx], &mut [&mut []], &mut []),
        )
        .unwrap();
    assert_eq!(gx, [1.0, 0.0], "inside the box 1/(2·0.5) = 1, outside 0");
}
