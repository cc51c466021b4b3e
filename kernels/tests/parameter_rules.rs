//! The parameter rules (`docs/semantics.md`, "Parameter rules"): every
//! parameter a model uses must be finite, plus each model's own rules, all
//! in the layer's precision. Every refusal names the model, the parameter,
//! the neuron (per-neuron parameters) and the rule; and where a rule guards
//! a division, the accepted side of it gives finite prepared constants and
//! gradients while the refused side does not.

mod common;

use common::param_range;
use snn_kernels::layer::{Layer, Param};
use snn_kernels::model::{is_finite, Model, Params, Prepared, Reset, MAX_PARAMS, MAX_PREPARED};
use snn_kernels::models::*;
use snn_kernels::surrogate::Atan;
use snn_kernels::{Error, Real, F16};

/// Valid parameters of `M` (the middle of the test ranges), in `T`.
fn valid<M: Model, T: Real>() -> Vec<T> {
    M::PARAMS
        .iter()
        .map(|name| {
            let (lo, hi) = param_range(M::NAME, name);
            T::constant((lo + hi) / 2.0)
        })
        .collect()
}

fn layer<M: Model, T: Real<Mask = bool>>(
    model: M,
    neurons: usize,
    params: &[Param<'_, T>],
) -> Result<(), Error> {
    Layer::new(model, Atan::default(), 2, neurons, params).map(|_| ())
}

/// Asserts a refusal of `parameter` (by `M`, for `neuron`) whose message
/// names the model and the parameter and contains `rule`.
fn assert_refused(err: Error, model: &str, parameter: &str, neuron: Option<usize>, rule: &str) {
    let text = err.to_string();
    match err {
        Error::InvalidParameter {
            model: m,
            parameter: p,
            neuron: n,
            ..
        } => {
            assert_eq!((m, p, n), (model, parameter, neuron), "{text}");
        }
        other => panic!("expected a refusal of {model}.{parameter}, got {other:?}"),
    }
    assert!(
        text.starts_with(&format!("{model} parameter `{parameter}`")),
        "{text}"
    );
    if let Some(n) = neuron {
        assert!(text.contains(&format!("of neuron {n}:")), "{text}");
    }
    assert!(text.contains(rule), "{text}");
}

/// NaN, +inf and -inf in every parameter the configuration uses are
/// refused, as a scalar and at neuron 2 of a per-neuron parameter; in a
/// parameter it does not use (Lapicque's), they are accepted.
fn non_finite_values_are_refused<M: Model>(model: M) {
    fn each_precision<M: Model, T: Real<Mask = bool>>(model: M, bad: [T; 3]) {
        let good = valid::<M, T>();
        assert!(
            layer(
                model,
                3,
                &good.iter().map(|&v| Param::Scalar(v)).collect::<Vec<_>>()
            )
            .is_ok(),
            "{} {}: the valid parameters are refused",
            M::NAME,
            model.variant()
        );
        for (k, name) in M::PARAMS.iter().enumerate() {
            for value in bad {
                let mut scalars: Vec<Param<T>> = good.iter().map(|&v| Param::Scalar(v)).collect();
                scalars[k] = Param::Scalar(value);
                let per_neuron_values = [good[k], good[k], value];
                let mut per_neuron = scalars.clone();
                per_neuron[k] = Param::PerNeuron(&per_neuron_values);
                let results = [
                    (layer(model, 3, &scalars), None),
                    (layer(model, 3, &per_neuron), Some(2)),
                ];
                for (result, neuron) in results {
                    if model.uses_param(k) {
                        assert_refused(
                            result.unwrap_err(),
                            M::NAME,
                            name,
                            neuron,
                            "must be a finite number, got ",
                        );
                    } else {
                        assert!(result.is_ok(), "{} {name} is not used", M::NAME);
                    }
                }
            }
        }
    }
    each_precision(model, [f32::NAN, f32::INFINITY, f32::NEG_INFINITY]);
    each_precision(
        model,
        [f32::NAN, f32::INFINITY, f32::NEG_INFINITY].map(F16::from_f32),
    );
}

#[test]
fn every_used_parameter_must_be_finite() {
    for_each_model_config!(non_finite_values_are_refused);
    // the message says which non-finite value it got
    let params = [0.9f32, f32::NEG_INFINITY, 1.0].map(Param::Scalar);
    let err = layer(Leaky::default(), 1, &params).unwrap_err();
    assert_eq!(
        err.to_string(),
        "leaky parameter `threshold`: must be a finite number, got -infinity"
    );
    // Lapicque with beta alone uses neither R nor C
    let model = Lapicque::new(Reset::Subtract, true, false, false).unwrap();
    let params = [0.5, f32::NAN, f32::INFINITY, 1.0, 1.0].map(Param::Scalar);
    assert!(layer(model, 1, &params).is_ok());
    // in F16 a huge parameter is already 65504 (saturated) when converted
    let big = F16::from_f64(1e6);
    assert_eq!(big.to_f64(), 65504.0);
    let params = [0.9, 1e6, 1.0].map(|v| Param::Scalar(F16::from_f64(v)));
    assert!(layer(Leaky::default(), 1, &params).is_ok());
}

/// Leaky divides the spike by `graded` in the immediate reset of
/// `reset_delay = false` (subtract and zero resets only).
#[test]
fn leaky_graded_must_be_invertible_where_the_immediate_reset_divides_by_it() {
    fn params<T: Real>(graded: T) -> [Param<'static, T>; 3] {
        [
            Param::Scalar(T::constant(0.9)),
            Param::Scalar(T::one()),
            Param::Scalar(graded),
        ]
    }
    let tiny_f32 = 1.0e-39f32; // subnormal: 1/tiny overflows f32
    assert!((1.0 / tiny_f32).is_infinite());
    let tiny_f16 = F16::from_bits(1); // 1/tiny saturates to 65504 in F16
    assert_eq!((F16::ONE / tiny_f16).to_f64(), 65504.0);
    for reset in Reset::ALL {
        for reset_delay in [true, false] {
            let model = Leaky::new(reset, reset_delay);
            let divides = !reset_delay && reset != Reset::None;
            for graded in [0.0f32, -0.0, tiny_f32] {
                let result = layer(model, 1, &params(graded));
                if divides {
                    assert_refused(
                        result.unwrap_err(),
                        "leaky",
                        "graded",
                        None,
                        "must not be 0 (nor so close to 0 that 1/graded overflows",
                    );
                } else {
                    assert!(result.is_ok(), "{reset:?} {reset_delay}: {graded}");
                }
            }
            let result = layer(model, 1, &params(F16::ZERO));
            assert_eq!(result.is_err(), divides);
            assert!(layer(model, 1, &params(tiny_f16)).is_ok());
            assert!(layer(model, 1, &params(-1.0e-38f32)).is_ok());
        }
    }
    let err = layer(Leaky::new(Reset::Zero, false), 1, &params(0.0f32)).unwrap_err();
    assert!(err.to_string().contains("reset_delay = true"), "{err}");
}

/// Runs `prepare` and the chain rule through it with every prepared
/// gradient 0 (and, in binary16, where nothing overflows to infinity, also
/// 1): true when all of it is free of NaN and infinity. A zero gradient
/// meets every derived constant in a product, so an infinite constant
/// shows as NaN.
fn prepared_and_gradients_finite<M: Model, T: Real<Mask = bool>>(
    model: M,
    raw: &Params<T>,
) -> bool {
    let finite = is_finite::<T>;
    let p: Prepared<T> = model.prepare(raw);
    let mut ok = p[..M::PREPARED.len()].iter().all(|&v| finite(v));
    let gradients: &[T] = if T::FORMAT.bits == 16 {
        &[T::zero(), T::one()]
    } else {
        &[T::zero()]
    };
    for &g in gradients {
        let grads = model.prepare_backward(raw, &[g; MAX_PREPARED]);
        ok &= (0..M::PARAMS.len())
            .filter(|&k| model.uses_param(k))
            .all(|k| finite(grads[k]));
    }
    ok
}

fn raw<T: Real>(values: &[T]) -> Params<T> {
    let mut raw = [T::zero(); MAX_PARAMS];
    raw[..values.len()].copy_from_slice(values);
    raw
}

/// Every binary16 value in `(0, 1]`, in increasing order.
fn f16_unit_interval() -> Vec<F16> {
    (1..=F16::ONE.to_bits()).map(F16::from_bits).collect()
}

/// Alpha: `beta > 0` (the gradient of beta divides by it), `alpha > beta`,
/// and `ln(alpha) != ln(beta)` in the layer's precision (tau divides by
/// their difference). Swept over every adjacent and many other binary16
/// pairs: a pair is accepted exactly when `prepare` and its gradient are
/// finite.
#[test]
fn alpha_rules_are_exactly_the_finite_region() {
    let model = Alpha::default();
    let one = |alpha: f32, beta: f32| layer(model, 1, &[alpha, beta, 1.0].map(Param::Scalar));
    for beta in [0.0f32, -0.0, -0.5, 1.0e-45] {
        let err = one(0.9, beta).unwrap_err();
        assert_refused(err, "alpha", "beta", None, "must be greater than 0");
    }
    for (alpha, beta) in [(0.5, 0.5), (0.4, 0.6), (2.0, 1.0), (1.0, 1.5)] {
        let err = one(alpha, beta).unwrap_err();
        assert_refused(err, "alpha", "alpha", None, "must be greater than beta");
    }
    assert!(one(0.9, 1.0e-30).is_ok());
    assert!(one(1.5, 0.8).is_ok(), "alpha above 1 is clamped to 1");

    let values = f16_unit_interval();
    let (mut accepted, mut far_enough_refusals) = (0, 0);
    let mut pairs: Vec<(F16, F16)> = values.windows(2).map(|w| (w[1], w[0])).collect();
    pairs.extend(
        values
            .iter()
            .step_by(97)
            .flat_map(|&a| values.iter().step_by(89).map(move |&b| (a, b))),
    );
    for (a, b) in pairs {
        let result = layer(model, 1, &[a, b, F16::ONE].map(Param::Scalar));
        let finite = prepared_and_gradients_finite(model, &raw(&[a, b, F16::ONE]));
        match result {
            Ok(()) => {
                accepted += 1;
                assert!(finite, "alpha {a:?}, beta {b:?} accepted but not finite");
            }
            Err(err) => {
                if a.to_f64() > b.to_f64() {
                    far_enough_refusals += 1;
                    assert_refused(err, "alpha", "alpha", None, "far enough above beta");
                    assert!(!finite, "alpha {a:?}, beta {b:?} refused but finite");
                }
            }
        }
    }
    assert!(accepted > 1000, "{accepted}");
    // binary16 has adjacent values whose logarithms round to the same value
    assert!(far_enough_refusals > 0);
}

/// Lapicque: the ranges, then the constants `prepare` derives and the
/// quotients its gradient takes must be finite (and the divisors nonzero),
/// in the layer's precision. Swept over beta (every binary16 value in
/// `(0, 1)`, powers of two in f32) and over R, C and time_step across the
/// exponent range: accepted exactly where `prepare` and its gradient are
/// finite.
#[test]
fn lapicque_rules_are_exactly_the_finite_region() {
    fn sweep<T: Real<Mask = bool>>(betas: &[T], scales: &[T]) -> usize {
        let mut accepted = 0;
        for given in LapicqueGiven::ALL {
            let model = Lapicque {
                reset: Reset::Subtract,
                given,
            };
            let mut check = |values: [T; 5]| {
                let result = layer(model, 1, &values.map(Param::Scalar));
                // also refused: an R·C that overflows to infinity, which
                // makes 1/(R·C) zero (no input ever reaches the membrane, and
                // a large `x·R` gives inf·0 = NaN)
                let inv_rc = model.prepare(&raw(&values))[1];
                let finite =
                    prepared_and_gradients_finite(model, &raw(&values)) && !inv_rc.eq(T::zero());
                match result {
                    Ok(()) => {
                        accepted += 1;
                        assert!(finite, "{given:?} {values:?} accepted but not finite");
                    }
                    Err(err) => {
                        assert!(
                            matches!(
                                err,
                                Error::InvalidParameter {
                                    model: "lapicque",
                                    ..
                                }
                            ),
                            "{err}"
                        );
                        assert!(!finite, "{given:?} {values:?} refused but finite: {err}");
                    }
                }
            };
            let (half, one) = (T::constant(0.5), T::one());
            for &beta in betas {
                check([beta, one, one, one, one]);
                check([beta, half, half, T::constant(2.0), one]);
            }
            for &r in scales {
                for &c in scales {
                    check([half, r, c, one, one]);
                }
                for &dt in scales {
                    check([half, r, r, dt, one]);
                    check([T::constant(0.999), r, one, dt, one]);
                }
            }
        }
        accepted
    }
    let f16_betas: Vec<F16> = f16_unit_interval()
        .into_iter()
        .filter(|b| b.to_f64() < 1.0)
        .collect();
    let f16_scales: Vec<F16> = (-24..=15).map(|e| F16::from_f64(2f64.powi(e))).collect();
    assert!(sweep(&f16_betas, &f16_scales) > 1000);
    let f32_betas: Vec<f32> = (1..=149)
        .map(|e| 2f32.powi(-e))
        .chain([1.0 - f32::EPSILON / 2.0, 0.75])
        .collect();
    let f32_scales: Vec<f32> = (-149..=127)
        .step_by(3)
        .map(|e| 2f64.powi(e) as f32)
        .collect();
    assert!(sweep(&f32_betas, &f32_scales) > 1000);

    // the cases of the issue: tiny R·C and tiny beta gave a NaN membrane
    let rc = Lapicque::new(Reset::Subtract, false, true, true).unwrap();
    let err = layer(rc, 1, &[0.5f32, 1e-20, 1e-20, 1.0, 1.0].map(Param::Scalar)).unwrap_err();
    assert_refused(err, "lapicque", "r", None, "R·C");
    let beta = Lapicque::new(Reset::Subtract, true, false, false).unwrap();
    let err = layer(beta, 1, &[1e-40f32, 1.0, 1.0, 1.0, 1.0].map(Param::Scalar)).unwrap_err();
    assert_refused(err, "lapicque", "beta", None, "too close to 0 or 1");
    for (beta, rule) in [(1.0f32, "must be in (0, 1)"), (0.0, "must be in (0, 1)")] {
        let err = layer(
            beta_model(),
            1,
            &[beta, 1.0, 1.0, 1.0, 1.0].map(Param::Scalar),
        );
        assert_refused(err.unwrap_err(), "lapicque", "beta", None, rule);
    }
    let err = layer(rc, 1, &[0.5f32, 1.0, 1.0, -1.0, 1.0].map(Param::Scalar)).unwrap_err();
    assert_refused(err, "lapicque", "time_step", None, "must be positive");
    let err = layer(rc, 1, &[0.5f32, 1.0, 0.0, 1.0, 1.0].map(Param::Scalar)).unwrap_err();
    assert_refused(err, "lapicque", "c", None, "must be positive");
}

fn beta_model() -> Lapicque {
    Lapicque::new(Reset::Zero, true, false, false).unwrap()
}
