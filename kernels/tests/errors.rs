//! Bad input returns the crate's error with a clear message, never a panic;
//! NaN and infinite values propagate through the arithmetic.

mod common;

use common::Rng;
use snn_kernels::layer::{InputGrads, Layer, OutputGrads, Param, Saved};
use snn_kernels::model::Reset;
use snn_kernels::models::*;
use snn_kernels::population::{ce_count_loss, mse_count_loss, spike_counts, CountTargets, Readout};
use snn_kernels::surrogate::Atan;
use snn_kernels::Error;

fn leaky(batch: usize, neurons: usize) -> Result<Layer<'static, Leaky, Atan, f32>, Error> {
    Layer::new(
        Leaky::default(),
        Atan::default(),
        batch,
        neurons,
        &[Param::Scalar(0.9), Param::Scalar(1.0), Param::Scalar(1.0)],
    )
}

#[test]
fn empty_shapes_are_refused() {
    assert_eq!(
        leaky(0, 4).unwrap_err(),
        Error::EmptyShape {
            dimension: "batch rows"
        }
    );
    assert_eq!(
        leaky(2, 0).unwrap_err(),
        Error::EmptyShape {
            dimension: "neurons"
        }
    );
    let layer = leaky(1, 2).unwrap();
    let err = layer
        .forward(0, &[&[]], &[&[0.0, 0.0]], &mut [], &mut [&mut []])
        .unwrap_err();
    assert_eq!(
        err,
        Error::EmptyShape {
            dimension: "time steps"
        }
    );
    assert_eq!(
        err.to_string(),
        "the number of time steps must be at least 1, got 0"
    );
}

#[test]
fn mismatched_lengths_name_the_slice() {
    let layer = leaky(2, 3).unwrap();
    let x = vec![0.5f32; 4 * 6];
    let mut spikes = vec![0.0; 4 * 6];
    let mut mem = vec![0.0; 4 * 6];
    let err = layer
        .forward(4, &[&x[..23]], &[&[0.0; 6]], &mut spikes, &mut [&mut mem])
        .unwrap_err();
    assert_eq!(
        err,
        Error::Length {
            what: "input streams",
            expected: 24,
            actual: 23
        }
    );
    assert!(
        err.to_string()
            .contains("has 23 values, the shape needs 24"),
        "{err}"
    );
    let err = layer
        .forward(4, &[&x], &[&[0.0; 5]], &mut spikes, &mut [&mut mem])
        .unwrap_err();
    assert_eq!(
        err,
        Error::Length {
            what: "initial states",
            expected: 6,
            actual: 5
        }
    );
    let err = layer
        .forward(4, &[&x, &x], &[&[0.0; 6]], &mut spikes, &mut [&mut mem])
        .unwrap_err();
    assert!(matches!(
        err,
        Error::Count {
            what: "input streams",
            actual: 2,
            ..
        }
    ));
    assert_eq!(err.to_string(), "expected 1 input streams (x), got 2");
}

#[test]
fn parameters_are_checked() {
    let err = Layer::new(
        Leaky::default(),
        Atan::default(),
        1,
        3,
        &[Param::Scalar(0.9f32)],
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "expected 3 parameters (beta, threshold, graded), got 1"
    );
    let beta = [0.9f32, 0.8];
    let err = Layer::new(
        Leaky::default(),
        Atan::default(),
        1,
        3,
        &[&beta[..], &[1.0], &[1.0]].map(Param::from_values),
    )
    .unwrap_err();
    assert_eq!(
        err,
        Error::ParameterLength {
            parameter: "beta",
            expected: 3,
            actual: 2
        }
    );
}

#[test]
fn alpha_needs_alpha_above_beta() {
    let params = |a: f32, b: f32| [Param::Scalar(a), Param::Scalar(b), Param::Scalar(1.0)];
    for (a, b) in [
        (0.5, 0.5),
        (0.4, 0.6),
        (0.9, 1.0),
        (1.2, 1.0),
        (f32::NAN, 0.5),
    ] {
        let err = Layer::new(Alpha::default(), Atan::default(), 1, 1, &params(a, b)).unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidParameter {
                    model: "alpha",
                    neuron: None,
                    ..
                }
            ),
            "{a} {b}: {err}"
        );
    }
    assert!(Layer::new(Alpha::default(), Atan::default(), 1, 1, &params(0.9, 0.8)).is_ok());
    let alphas = [0.9f32, 0.5, 0.9];
    let err = Layer::new(
        Alpha::default(),
        Atan::default(),
        1,
        3,
        &[&alphas[..], &[0.6], &[1.0]].map(Param::from_values),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "alpha parameter `alpha` of neuron 1: must be greater than beta (both clamped to \
         [0, 1]), so beta cannot be 1; raise alpha or lower beta"
    );
}

#[test]
fn lapicque_needs_enough_of_beta_r_c() {
    for (beta, r, c) in [
        (false, false, false),
        (false, true, false),
        (false, false, true),
        (true, true, true),
    ] {
        let err = Lapicque::new(Reset::Subtract, beta, r, c).unwrap_err();
        assert_eq!(
            err.to_string(),
            "lapicque: give beta alone, R and C, or beta with one of R and C"
        );
    }
    let model = Lapicque::new(Reset::Subtract, true, false, false).unwrap();
    let params = |beta: f32| [beta, 0.0, 0.0, 1.0, 1.0].map(Param::Scalar);
    assert!(Layer::new(model, Atan::default(), 1, 1, &params(0.9)).is_ok());
    for beta in [1.0, 0.0, 1.5, f32::NAN] {
        let err = Layer::new(model, Atan::default(), 1, 1, &params(beta)).unwrap_err();
        assert!(
            matches!(
                err,
                Error::InvalidParameter {
                    model: "lapicque",
                    ..
                }
            ),
            "{beta}: {err}"
        );
    }
    let rc = Lapicque::new(Reset::Zero, false, true, true).unwrap();
    let err = Layer::new(
        rc,
        Atan::default(),
        1,
        1,
        &[0.0, -1.0, 1.0, 1.0, 1.0].map(Param::Scalar),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "lapicque parameter `r`: must be positive (R is a resistance)"
    );
}

#[test]
fn gradient_outputs_must_match_the_parameter_kind() {
    let layer = leaky(1, 2).unwrap();
    let (x, mem0) = ([0.5f32; 2], [0.0f32; 2]);
    let mut spikes = [0.0; 2];
    let mut mem = [0.0; 2];
    layer
        .forward(1, &[&x], &[&mem0], &mut spikes, &mut [&mut mem])
        .unwrap();
    let mut gx = [0.0; 2];
    let mut g0 = [0.0; 2];
    let (mut gb, mut gt, mut gg) = ([0.0; 2], [0.0; 1], [0.0; 1]);
    let err = layer
        .backward(
            1,
            Saved::new(&[&x], &[&mem0], &spikes, &[&mem]),
            OutputGrads::new(&[1.0, 1.0], &[]),
            InputGrads::new(
                &mut [&mut gx],
                &mut [&mut g0],
                &mut [&mut gb, &mut gt, &mut gg],
            ),
        )
        .unwrap_err();
    assert_eq!(
        err,
        Error::GradientLength {
            parameter: "beta",
            expected: 1,
            actual: 2
        }
    );
}

#[test]
fn losses_check_labels_and_shapes() {
    let readout = Readout {
        steps: 2,
        batch: 1,
        classes: 3,
        population: 2,
    };
    let mut counts = [0.0f64; 3];
    let err = spike_counts(&readout, &[0.0f32; 11], &mut counts).unwrap_err();
    assert_eq!(
        err,
        Error::Length {
            what: "spikes",
            expected: 12,
            actual: 11
        }
    );
    let mut grads = [0.0f64; 3];
    let err = ce_count_loss(&readout, &counts, &[3], &mut grads).unwrap_err();
    assert_eq!(
        err.to_string(),
        "label 3 of batch row 0 is not below the 3 classes"
    );
    let targets = CountTargets { on: 2.0, off: 0.0 };
    assert!(mse_count_loss(&readout, &counts, &[7], targets, &mut grads).is_err());
    let empty = Readout {
        population: 0,
        ..readout
    };
    assert_eq!(
        spike_counts::<f32>(&empty, &[], &mut counts).unwrap_err(),
        Error::EmptyShape {
            dimension: "neurons per class"
        }
    );
}

/// Random argument shapes, including wrong ones, never panic: every call
/// returns `Ok` or an `Error`.
#[test]
fn no_panic_on_random_arguments() {
    let mut rng = Rng::new(99);
    for _ in 0..400 {
        let (batch, neurons, steps) = (rng.below(3), rng.below(4), rng.below(3));
        let size = |rng: &mut Rng| rng.below(3 * 3 * 4 + 2);
        let x: Vec<f32> = (0..size(&mut rng))
            .map(|_| rng.range(-2.0, 2.0) as f32)
            .collect();
        let mem0: Vec<f32> = vec![0.0; size(&mut rng)];
        let beta: Vec<f32> = vec![0.9; rng.below(5)];
        let per_neuron = rng.below(2) == 0;
        let params = [
            if per_neuron {
                Param::PerNeuron(&beta[..])
            } else {
                Param::Scalar(0.9)
            },
            Param::Scalar(1.0),
            Param::Scalar(1.0),
        ];
        let Ok(layer) = Layer::new(
            Leaky::new(Reset::Zero, false),
            Atan::default(),
            batch,
            neurons,
            &params,
        ) else {
            continue;
        };
        let mut spikes = vec![0.0; size(&mut rng)];
        let mut mem = vec![0.0; size(&mut rng)];
        let _ = layer.forward(steps, &[&x], &[&mem0], &mut spikes, &mut [&mut mem]);
        let mut gx = vec![0.0; size(&mut rng)];
        let mut g0 = vec![0.0; size(&mut rng)];
        let mut gp = vec![0.0; rng.below(5)];
        let gs = vec![1.0; size(&mut rng)];
        let _ = layer.backward(
            steps,
            Saved::new(&[&x], &[&mem0], &spikes, &[&mem]),
            OutputGrads::new(&gs, &[&gs]),
            InputGrads::new(
                &mut [&mut gx],
                &mut [&mut g0],
                &mut [&mut gp, &mut [], &mut []],
            ),
        );
        let mut state = mem0.clone();
        let _ = layer.step(0, &[&x], &mut [&mut state], &mut spikes);
        let mut acc = vec![0.0; rng.below(20)];
        let _ = layer.step_backward(
            0,
            &[&x],
            &[&mem0],
            &[&mem0],
            &gs,
            &mut [&mut g0],
            &mut [&mut gx],
            &mut acc,
        );
        let _ = layer.reduce_param_grads(&acc, &mut [&mut gp]);
    }
}

#[test]
fn nan_and_infinity_propagate() {
    let layer = leaky(1, 3).unwrap();
    let x = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 0.5, 0.5, 0.5];
    let mut spikes = [0.0; 6];
    let mut mem = [0.0; 6];
    layer
        .forward(2, &[&x], &[&[0.0; 3]], &mut spikes, &mut [&mut mem])
        .unwrap();
    assert!(mem[0].is_nan() && mem[3].is_nan(), "NaN stays NaN");
    assert_eq!(mem[1], f32::INFINITY);
    // H(NaN) = 0; inf - thr > 0 fires; the reset of inf is inf - thr = inf
    assert_eq!(&spikes[..3], &[0.0, 1.0, 0.0]);
    assert_eq!(mem[4], f32::INFINITY);
    assert_eq!(mem[5], f32::NEG_INFINITY);
}

#[test]
fn surrogate_constants_that_are_not_finite_are_refused() {
    use snn_kernels::surrogate::SpikeRateEscape;
    use snn_kernels::F16;
    let params = [
        Param::Scalar(0.9f32),
        Param::Scalar(1.0),
        Param::Scalar(1.0),
    ];
    for alpha in [f64::NAN, f64::INFINITY, 1e300] {
        let err = Layer::new(Leaky::default(), Atan { alpha }, 2, 3, &params).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("surrogate atan") && message.contains("half_alpha"),
            "{message}"
        );
    }
    let err = Layer::new(
        Leaky::default(),
        SpikeRateEscape {
            beta: 1.0,
            slope: f64::NEG_INFINITY,
        },
        2,
        3,
        &params,
    )
    .unwrap_err();
    assert!(err.to_string().contains("spike_rate_escape"), "{err}");
    // finite parameters are accepted; in fp16 a large one saturates (finite)
    assert!(Layer::new(Leaky::default(), Atan { alpha: 3.0 }, 2, 3, &params).is_ok());
    let half = [
        Param::Scalar(F16::from_f32(0.9)),
        Param::Scalar(F16::ONE),
        Param::Scalar(F16::ONE),
    ];
    assert!(Layer::new(Leaky::default(), Atan { alpha: 1e6 }, 2, 3, &half).is_ok());
}
