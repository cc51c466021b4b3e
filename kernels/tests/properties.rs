//! Property tests of the public API (layer and population readout) over
//! random configurations: any of the eight models in any configuration, any
//! surrogate (chosen at run time, [`AnySurrogate`]), random sizes, scalar
//! and per-neuron parameters, and values that include NaN, infinities,
//! signed zeros, subnormals and huge numbers. The properties:
//!
//! 1. nothing panics; a refused layer is refused with
//!    [`Error::InvalidParameter`];
//! 2. every wrong length or count of every slice argument is refused with
//!    `Err`, and the right ones are accepted;
//! 3. with finite inputs and parameters, every spike is `±0` or the graded
//!    value (Leaky's `graded`, 1 for the others);
//! 4. the single-step API ([`Layer::step`], [`Layer::step_backward`] with the
//!    accumulator, [`Layer::reduce_param_grads`]) gives the fused passes'
//!    results bit for bit (NaNs equal);
//! 5. in F16, finite data give finite results: an overflow saturates to
//!    ±65504 instead of becoming infinite (`docs/semantics.md`). (Not in
//!    F16Storage: a step computes in binary32, which overflows to infinity.)
//!
//! The kernels are compiled once per model and precision (f32, F16 and
//! F16Storage), with
//! one chunk width (3, so that rows have full chunks and a tail). Seeded:
//! every run draws the same cases.

#![allow(clippy::needless_range_loop)] // parallel lists indexed by a model's names

mod common;

use common::any_surrogate::{surrogates, AnySurrogate};
use common::{param_range, Bits};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use snn_kernels::layer::{InputGrads, Layer, OutputGrads, Param, Saved};
use snn_kernels::model::{is_finite, Model};
use snn_kernels::models::*;
use snn_kernels::population::{
    ce_count_loss, mse_count_loss, spike_counts, spike_counts_backward, CountTargets, Readout,
};
use snn_kernels::{Error, F16Storage, Real, F16};

const CHUNK: usize = 3;
/// Values in a scenario's pool; buffers read it cyclically.
const POOL: usize = 61;

/// One drawn case: sizes, configuration and raw data, before conversion
/// to a model's names and a precision.
#[derive(Clone, Debug)]
struct Scenario {
    model: usize,
    config: usize,
    surrogate: usize,
    steps: usize,
    batch: usize,
    neurons: usize,
    per_neuron: [bool; 5],
    /// Parameter values by position, as drawn (each model reads its own).
    params: [[f64; 5]; 5],
    /// The data of every buffer, read cyclically with an offset per buffer.
    pool: Vec<f64>,
    seed: u32,
    /// Which argument to get wrong (an index into the list of the call's
    /// checked arguments, taken modulo its length) and how.
    wrong: usize,
    grow: bool,
}

/// A value of any kind: mostly ordinary, sometimes special.
fn any_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        8 => -2.0..2.0f64,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(0.0),
        1 => Just(-0.0),
        1 => prop::sample::select(vec![1.0e-45, -1.0e-40, 6.0e-8, -3.0e-39, 1.0e-5]),
        1 => prop::sample::select(vec![65504.0, -65504.0, 1.0e5, 3.0e38, -3.0e38, 1.0e30]),
    ]
}

/// A finite value of any size (huge ones overflow f32 sums and saturate
/// F16).
fn finite_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        8 => -2.0..2.0f64,
        1 => Just(0.0),
        1 => Just(-0.0),
        1 => prop::sample::select(vec![1.0e-45, -1.0e-40, 6.0e-8, -3.0e-39]),
        1 => prop::sample::select(vec![65504.0, -65504.0, 1.0e5, 3.0e38, -3.0e38, 1.0e30]),
    ]
}

/// A parameter: a fraction of the model's test range (mapped later), or
/// an edge value (0, 1, out of `[0, 1]`, tiny, huge, not finite) that the
/// layer may refuse.
fn param_value(edges: bool) -> BoxedStrategy<f64> {
    let in_range = (0.0..1.0f64).prop_map(|u| u + 10.0); // 10 + fraction: "in range"
    if edges {
        prop_oneof![
            8 => in_range,
            1 => prop::sample::select(vec![0.0, 1.0, -0.5, 1.5, 1.0e-40, 65504.0, 1.0e30]),
            1 => prop::sample::select(vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY]),
        ]
        .boxed()
    } else {
        in_range.boxed()
    }
}

fn scenario(finite: bool) -> impl Strategy<Value = Scenario> {
    let values = if finite {
        prop::collection::vec(finite_value().boxed(), POOL)
    } else {
        prop::collection::vec(any_value().boxed(), POOL)
    };
    (
        (0..8usize, 0..12usize, 0..10usize),
        (1..4usize, 1..3usize, 1..6usize),
        prop::array::uniform5(any::<bool>()),
        prop::array::uniform5(prop::array::uniform5(param_value(!finite))),
        values,
        (any::<u32>(), any::<usize>(), any::<bool>()),
    )
        .prop_map(
            |(
                (model, config, surrogate),
                (steps, batch, neurons),
                per_neuron,
                params,
                pool,
                (seed, wrong, grow),
            )| Scenario {
                model,
                config,
                surrogate,
                steps,
                batch,
                neurons,
                per_neuron,
                params,
                pool,
                seed,
                wrong,
                grow,
            },
        )
}

/// Seeded configuration: the same cases on every run, nothing written to
/// disk.
fn runner(cases: u32, seed: u64) -> TestRunner {
    TestRunner::new(Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        ..Config::default()
    })
}

/// Buffer `index` of length `len` from the pool, converted to `T`.
fn buffer<T: Real>(s: &Scenario, index: usize, len: usize) -> Vec<T> {
    (0..len)
        .map(|i| T::constant(s.pool[(i * 7 + index * 13 + i / POOL) % POOL]))
        .collect()
}

/// The parameter values of `M` for a scenario, in `T`.
fn params<M: Model, T: Real>(s: &Scenario) -> Vec<Vec<T>> {
    M::PARAMS
        .iter()
        .enumerate()
        .map(|(k, name)| {
            let (lo, hi) = param_range(M::NAME, name);
            let count = if s.per_neuron[k] { s.neurons } else { 1 };
            (0..count)
                .map(|m| {
                    let v = s.params[k][m % 5];
                    // 10 + u means "in range": lo + u·(hi - lo)
                    let v = if (10.0..11.0).contains(&v) {
                        lo + (v - 10.0) * (hi - lo)
                    } else {
                        v
                    };
                    T::constant(v)
                })
                .collect()
        })
        .collect()
}

fn same<T: Bits>(a: &[T], b: &[T]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.key() == y.key())
}

/// The arguments of the fused passes, owned.
struct Buffers<T> {
    inputs: Vec<Vec<T>>,
    initial: Vec<Vec<T>>,
    spikes: Vec<T>,
    states: Vec<Vec<T>>,
    grad_spikes: Vec<T>,
    grad_states: Vec<Vec<T>>,
    grad_inputs: Vec<Vec<T>>,
    grad_initial: Vec<Vec<T>>,
    grad_params: Vec<Vec<T>>,
}

fn refs<T>(v: &[Vec<T>]) -> Vec<&[T]> {
    v.iter().map(|x| x.as_slice()).collect()
}

fn muts<T>(v: &mut [Vec<T>]) -> Vec<&mut [T]> {
    v.iter_mut().map(|x| x.as_mut_slice()).collect()
}

/// Makes one of `lists` (slices, by index `pick` over all their slices and
/// the lists themselves) wrong: a slice one value longer or shorter (never
/// empty where `optional`), or a list with one slice more or less.
fn spoil<T: Real>(lists: &mut [(&mut Vec<Vec<T>>, bool)], pick: usize, grow: bool) {
    let slots: usize = lists.iter().map(|(l, _)| l.len() + 1).sum();
    let mut pick = pick % slots;
    for (list, optional) in lists.iter_mut() {
        if pick < list.len() {
            let v = &mut list[pick];
            if grow || v.len() <= 1 && (*optional || v.is_empty()) {
                v.push(T::zero());
            } else {
                v.pop();
            }
            return;
        }
        if pick == list.len() {
            if grow || list.is_empty() {
                let len = list.first().map_or(1, |v| v.len());
                list.push(vec![T::zero(); len]);
            } else {
                list.pop();
            }
            return;
        }
        pick -= list.len() + 1;
    }
}

/// Everything the properties check for one scenario, model and precision.
fn exercise<M: Model, T>(model: M, s: &Scenario, finite_data: bool) -> Result<(), TestCaseError>
where
    T: Real<Mask = bool> + Bits + Into<f64>,
{
    let surrogate: AnySurrogate = surrogates()[s.surrogate];
    let values = params::<M, T>(s);
    let param_list: Vec<Param<T>> = values.iter().map(|v| Param::from_values(v)).collect();
    let layer = match Layer::new(model, surrogate, s.batch, s.neurons, &param_list) {
        Ok(layer) => layer.with_chunk::<CHUNK>().with_seed(s.seed),
        Err(err) => {
            prop_assert!(
                matches!(err, Error::InvalidParameter { .. }),
                "refused with {err:?}"
            );
            // refused only for parameters that are drawn as edge values
            prop_assert!(!finite_data, "refused in-range parameters: {err}");
            return Ok(());
        }
    };
    let (n, steps) = (s.batch * s.neurons, s.steps);
    let len = steps * n;
    let stored = M::STATES.len() - M::SPIKE_STATE.map_or(0, |_| 1);
    let mut index = 0;
    let mut next = |len: usize| {
        index += 1;
        buffer::<T>(s, index, len)
    };
    let inputs: Vec<Vec<T>> = M::INPUTS.iter().map(|_| next(len)).collect();
    let initial: Vec<Vec<T>> = M::STATES
        .iter()
        .enumerate()
        .map(|(k, _)| {
            let values = next(n);
            if Some(k) == M::SPIKE_STATE && finite_data {
                // a previous spike is 0 or 1 (or any value: it is an input)
                values
                    .iter()
                    .map(|v| T::select(v.gt(T::zero()), T::one(), T::zero()))
                    .collect()
            } else {
                values
            }
        })
        .collect();
    let grad_spikes = next(len);
    let grad_states: Vec<Vec<T>> = if s.seed % 2 == 0 {
        Vec::new()
    } else {
        (0..stored).map(|_| next(len)).collect()
    };
    let mut b = Buffers {
        inputs,
        initial,
        spikes: vec![T::zero(); len],
        states: vec![vec![T::zero(); len]; stored],
        grad_spikes,
        grad_states,
        grad_inputs: vec![vec![T::zero(); len]; M::INPUTS.len()],
        grad_initial: vec![vec![T::zero(); n]; M::STATES.len()],
        grad_params: values.iter().map(|v| vec![T::zero(); v.len()]).collect(),
    };

    // the fused passes with the right arguments
    layer
        .forward(
            steps,
            &refs(&b.inputs),
            &refs(&b.initial),
            &mut b.spikes,
            &mut muts(&mut b.states),
        )
        .map_err(|e| TestCaseError::fail(format!("forward refused: {e}")))?;
    layer
        .backward(
            steps,
            Saved::new(
                &refs(&b.inputs),
                &refs(&b.initial),
                &b.spikes,
                &refs(&b.states),
            ),
            OutputGrads::new(&b.grad_spikes, &refs(&b.grad_states)),
            InputGrads::new(
                &mut muts(&mut b.grad_inputs),
                &mut muts(&mut b.grad_initial),
                &mut muts(&mut b.grad_params),
            ),
        )
        .map_err(|e| TestCaseError::fail(format!("backward refused: {e}")))?;

    // 3. spikes are ±0 or the graded value
    if finite_data {
        let graded = M::PARAMS.iter().position(|p| *p == "graded");
        for (i, &spk) in b.spikes.iter().enumerate() {
            let g = graded.map_or(T::one(), |k| {
                let per_neuron = &values[k];
                per_neuron[if per_neuron.len() == 1 {
                    0
                } else {
                    i % s.neurons
                }]
            });
            prop_assert!(
                spk.eq(T::zero()) || spk.key() == g.key(),
                "spike {i} is {}, graded {}",
                spk.show(),
                g.show()
            );
        }
    }

    // 5. F16: finite data give finite results (not F16Storage, whose steps
    // compute in binary32 and so overflow to infinity inside a step as f32
    // does; only the rounding when a value is stored saturates)
    if finite_data && T::FORMAT.bits == 16 && <T::Lane as Real>::FORMAT.bits == 16 {
        let all = core::iter::once(b.spikes.as_slice())
            .chain(b.states.iter().map(|v| v.as_slice()))
            .chain(b.grad_inputs.iter().map(|v| v.as_slice()))
            .chain(b.grad_initial.iter().map(|v| v.as_slice()))
            .chain(b.grad_params.iter().map(|v| v.as_slice()));
        for (k, values) in all.enumerate() {
            for (i, &v) in values.iter().enumerate() {
                prop_assert!(is_finite(v), "output {k}[{i}] is {}", v.show());
            }
        }
    }

    // 4. the single-step API equals the fused passes
    let mut state = b.initial.clone();
    let mut history = vec![state.clone()];
    let mut spikes = vec![T::zero(); len];
    for t in 0..steps {
        let ins: Vec<&[T]> = b.inputs.iter().map(|v| &v[t * n..(t + 1) * n]).collect();
        layer
            .step(
                t,
                &ins,
                &mut muts(&mut state),
                &mut spikes[t * n..(t + 1) * n],
            )
            .map_err(|e| TestCaseError::fail(format!("step refused: {e}")))?;
        history.push(state.clone());
    }
    prop_assert!(same(&b.spikes, &spikes), "step-by-step spikes differ");
    for k in 0..stored {
        let stepped: Vec<T> = history[1..].iter().flat_map(|h| h[k].clone()).collect();
        prop_assert!(
            same(&b.states[k], &stepped),
            "step-by-step state {k} differs"
        );
    }
    let mut grad_state = vec![vec![T::constant(-0.0); n]; M::STATES.len()];
    let mut grad_inputs = vec![vec![T::zero(); len]; M::INPUTS.len()];
    let mut accumulator = vec![T::zero(); layer.param_accumulator_len()];
    layer.clear_param_accumulator(&mut accumulator);
    for t in (0..steps).rev() {
        for (k, g) in grad_state.iter_mut().enumerate().take(b.grad_states.len()) {
            for (i, v) in g.iter_mut().enumerate() {
                *v = *v + b.grad_states[k][t * n + i];
            }
        }
        let ins: Vec<&[T]> = b.inputs.iter().map(|v| &v[t * n..(t + 1) * n]).collect();
        let mut gi: Vec<&mut [T]> = grad_inputs
            .iter_mut()
            .map(|v| &mut v[t * n..(t + 1) * n])
            .collect();
        layer
            .step_backward(
                t,
                &ins,
                &refs(&history[t]),
                &refs(&history[t + 1]),
                &b.grad_spikes[t * n..(t + 1) * n],
                &mut muts(&mut grad_state),
                &mut gi,
                &mut accumulator,
            )
            .map_err(|e| TestCaseError::fail(format!("step_backward refused: {e}")))?;
    }
    let mut grad_params: Vec<Vec<T>> = values.iter().map(|v| vec![T::zero(); v.len()]).collect();
    layer
        .reduce_param_grads(&accumulator, &mut muts(&mut grad_params))
        .map_err(|e| TestCaseError::fail(format!("reduce refused: {e}")))?;
    for k in 0..M::INPUTS.len() {
        prop_assert!(
            same(&b.grad_inputs[k], &grad_inputs[k]),
            "input gradient {k} differs"
        );
    }
    for k in 0..M::STATES.len() {
        prop_assert!(
            same(&b.grad_initial[k], &grad_state[k]),
            "initial gradient {k} differs"
        );
    }
    for k in 0..M::PARAMS.len() {
        prop_assert!(
            same(&b.grad_params[k], &grad_params[k]),
            "parameter gradient {k} differs"
        );
    }

    // 2. one wrong length or count in each call is refused
    let pick = s.wrong;
    {
        let mut spikes = vec![b.spikes.clone()];
        let (mut inputs, mut initial, mut states) =
            (b.inputs.clone(), b.initial.clone(), b.states.clone());
        spoil(
            &mut [
                (&mut inputs, false),
                (&mut initial, false),
                (&mut spikes, false),
                (&mut states, false),
            ],
            pick,
            s.grow,
        );
        // the spike slice is one slice, not a list: a second one is no error
        if spikes.len() == 1 {
            let result = layer.forward(
                steps,
                &refs(&inputs),
                &refs(&initial),
                &mut spikes[0],
                &mut muts(&mut states),
            );
            prop_assert!(result.is_err(), "forward accepted a wrong argument");
        }
    }
    {
        let mut one = [vec![b.spikes.clone()], vec![b.grad_spikes.clone()]];
        let (mut inputs, mut initial, mut states, mut grad_states) = (
            b.inputs.clone(),
            b.initial.clone(),
            b.states.clone(),
            b.grad_states.clone(),
        );
        let (mut gi, mut g0, mut gp) = (
            b.grad_inputs.clone(),
            b.grad_initial.clone(),
            b.grad_params.clone(),
        );
        let [spk, gs] = &mut one;
        spoil(
            &mut [
                (&mut inputs, false),
                (&mut initial, false),
                (spk, false),
                (&mut states, false),
                (gs, false),
                (&mut grad_states, true),
                (&mut gi, true),
                (&mut g0, true),
                (&mut gp, true),
            ],
            pick,
            s.grow,
        );
        // an empty list of state gradients (no loss on the states) or of
        // parameter gradients (none wanted) is right, and so is an empty
        // slice in an optional list
        // (a slice added to an empty list of state gradients may be empty
        // or right, too)
        let optional_list_emptied = (b.grad_states.len() == 1 && grad_states.is_empty())
            || (b.grad_states.is_empty() && !grad_states.is_empty())
            || (gp.is_empty() && !b.grad_params.is_empty());
        if one.iter().all(|l| l.len() == 1) && !optional_list_emptied {
            let [spk, gs] = &one;
            let result = layer.backward(
                steps,
                Saved::new(&refs(&inputs), &refs(&initial), &spk[0], &refs(&states)),
                OutputGrads::new(&gs[0], &refs(&grad_states)),
                InputGrads::new(&mut muts(&mut gi), &mut muts(&mut g0), &mut muts(&mut gp)),
            );
            prop_assert!(result.is_err(), "backward accepted a wrong argument");
        }
    }
    {
        let mut ins: Vec<Vec<T>> = b.inputs.iter().map(|v| v[..n].to_vec()).collect();
        let mut state = b.initial.clone();
        let mut out = vec![vec![T::zero(); n]];
        spoil(
            &mut [(&mut ins, false), (&mut state, false), (&mut out, false)],
            pick,
            s.grow,
        );
        if out.len() == 1 {
            let result = layer.step(0, &refs(&ins), &mut muts(&mut state), &mut out[0]);
            prop_assert!(result.is_err(), "step accepted a wrong argument");
        }
    }
    {
        let mut ins: Vec<Vec<T>> = b.inputs.iter().map(|v| v[..n].to_vec()).collect();
        let (mut prev, mut next) = (history[0].clone(), history[1].clone());
        let mut grad_spikes = vec![b.grad_spikes[..n].to_vec()];
        let mut grad_state = vec![vec![T::zero(); n]; M::STATES.len()];
        let mut gi = vec![vec![T::zero(); n]; M::INPUTS.len()];
        let mut acc = vec![accumulator.clone()];
        spoil(
            &mut [
                (&mut ins, false),
                (&mut prev, false),
                (&mut next, false),
                (&mut grad_spikes, false),
                (&mut grad_state, false),
                (&mut gi, true),
                (&mut acc, true),
            ],
            pick,
            s.grow,
        );
        if grad_spikes.len() == 1 && acc.len() == 1 {
            let result = layer.step_backward(
                0,
                &refs(&ins),
                &refs(&prev),
                &refs(&next),
                &grad_spikes[0],
                &mut muts(&mut grad_state),
                &mut muts(&mut gi),
                &mut acc[0],
            );
            prop_assert!(result.is_err(), "step_backward accepted a wrong argument");
        }
    }
    {
        let mut acc = vec![accumulator.clone()];
        let mut gp = b.grad_params.clone();
        spoil(&mut [(&mut acc, false), (&mut gp, true)], pick, s.grow);
        let emptied = gp.is_empty() && !b.grad_params.is_empty();
        if acc.len() == 1 && !emptied {
            let result = layer.reduce_param_grads(&acc[0], &mut muts(&mut gp));
            prop_assert!(
                result.is_err(),
                "reduce_param_grads accepted a wrong argument"
            );
        }
    }
    Ok(())
}

/// [`exercise`] for the scenario's model and configuration.
fn dispatch<T>(s: &Scenario, finite_data: bool) -> Result<(), TestCaseError>
where
    T: Real<Mask = bool> + Bits + Into<f64>,
{
    fn go<M: Model, T>(s: &Scenario, finite_data: bool) -> Result<(), TestCaseError>
    where
        T: Real<Mask = bool> + Bits + Into<f64>,
    {
        exercise::<M, T>(
            M::from_config_index(s.config % M::CONFIGURATIONS),
            s,
            finite_data,
        )
    }
    match s.model {
        0 => go::<Leaky, T>(s, finite_data),
        1 => go::<Synaptic, T>(s, finite_data),
        2 => go::<Alpha, T>(s, finite_data),
        3 => go::<Lapicque, T>(s, finite_data),
        4 => go::<RLeaky, T>(s, finite_data),
        5 => go::<RLeakyAllToAll, T>(s, finite_data),
        6 => go::<RSynaptic, T>(s, finite_data),
        _ => go::<RSynapticAllToAll, T>(s, finite_data),
    }
}

#[test]
fn layer_properties_on_any_data() {
    runner(256, 0x5eed_0001)
        .run(&scenario(false), |s| {
            dispatch::<f32>(&s, false)?;
            dispatch::<F16>(&s, false)?;
            dispatch::<F16Storage>(&s, false)
        })
        .unwrap();
}

#[test]
fn layer_properties_on_finite_data() {
    runner(256, 0x5eed_0002)
        .run(&scenario(true), |s| {
            dispatch::<f32>(&s, true)?;
            dispatch::<F16>(&s, true)?;
            dispatch::<F16Storage>(&s, true)
        })
        .unwrap();
}

/// The readout: no panic on any data, every wrong length refused, counts
/// equal to the exact sums of 0/1 spikes.
#[test]
fn population_properties() {
    let strategy = (
        (1..4usize, 1..4usize, 1..4usize, 1..3usize),
        prop::collection::vec(any_value(), 64),
        prop::collection::vec(0..4usize, 3),
        (any::<usize>(), -1..2i64),
    );
    runner(300, 0x5eed_0003)
        .run(
            &strategy,
            |((steps, batch, classes, population), pool, labels, (pick, delta))| {
                let readout = Readout {
                    steps,
                    batch,
                    classes,
                    population,
                };
                let len = steps * batch * classes * population;
                let spikes: Vec<F16> = (0..len).map(|i| F16::from_f64(pool[i % 64])).collect();
                let binary: Vec<f32> = (0..len)
                    .map(|i| (pool[i % 64] > 0.5) as u8 as f32)
                    .collect();
                let labels: Vec<usize> = (0..batch).map(|b| labels[b % 3]).collect();
                let mut counts = vec![0.0f64; batch * classes];
                spike_counts(&readout, &binary, &mut counts).unwrap();
                for b in 0..batch {
                    for c in 0..classes {
                        let exact = (0..steps * population)
                            .filter(|i| {
                                let (t, p) = (i / population, i % population);
                                binary[(t * batch + b) * classes * population + c * population + p]
                                    == 1.0
                            })
                            .count();
                        prop_assert_eq!(counts[b * classes + c], exact as f64);
                    }
                }
                // any data: no panic, labels beyond the classes refused
                spike_counts(&readout, &spikes, &mut counts).unwrap();
                let mut grads = vec![0.0f64; batch * classes];
                let labels_ok = labels.iter().all(|&l| l < classes);
                let ce = ce_count_loss(&readout, &counts, &labels, &mut grads);
                prop_assert_eq!(ce.is_ok(), labels_ok);
                let targets = CountTargets::from_rates(&readout, 0.8, 0.1);
                let mse = mse_count_loss(&readout, &counts, &labels, targets, &mut grads);
                prop_assert_eq!(mse.is_ok(), labels_ok);
                let mut grad_spikes = vec![F16::ZERO; len];
                spike_counts_backward(&readout, &grads, &mut grad_spikes).unwrap();
                // one wrong length
                let wrong =
                    |right: usize| (right as i64 + if delta == 0 { 1 } else { delta }) as usize;
                let which = pick % 4;
                let spikes_len = if which == 0 { wrong(len) } else { len };
                let counts_len = if which == 1 {
                    wrong(batch * classes)
                } else {
                    batch * classes
                };
                let grads_len = if which == 2 {
                    wrong(batch * classes)
                } else {
                    batch * classes
                };
                let labels_len = if which == 3 { wrong(batch) } else { batch };
                let spikes = vec![F16::ZERO; spikes_len];
                let mut counts = vec![0.0f64; counts_len];
                let mut grads = vec![0.0f64; grads_len];
                let labels = vec![0usize; labels_len];
                let mut grad_spikes = vec![F16::ZERO; spikes_len];
                let results = [
                    spike_counts(&readout, &spikes, &mut counts).is_err(),
                    ce_count_loss(&readout, &counts, &labels, &mut grads).is_err(),
                    mse_count_loss(&readout, &counts, &labels, targets, &mut grads).is_err(),
                    spike_counts_backward(&readout, &grads, &mut grad_spikes).is_err(),
                ];
                // which calls read which slices
                let expected = [
                    which == 0 || which == 1,
                    which == 1 || which == 2 || which == 3,
                    which == 1 || which == 2 || which == 3,
                    which == 0 || which == 2,
                ];
                prop_assert_eq!(results, expected);
                Ok(())
            },
        )
        .unwrap();
}
