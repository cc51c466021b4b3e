//! The kernels' layer API on a configuration and values decoded from bytes:
//! [`Layer::new`], [`Layer::forward`], [`Layer::backward`], [`Layer::step`],
//! [`Layer::step_backward`] and [`Layer::reduce_param_grads`]. Nothing may
//! panic; when every slice has the length the shape asks for and the layer
//! accepts its parameters, every call must succeed.
//!
//! Input layout (every byte optional: missing ones read as 0, missing
//! values as a fixed pattern):
//!
//! | bytes | meaning |
//! | --- | --- |
//! | 0 | model (mod 8): leaky, synaptic, alpha, lapicque, rleaky, rsynaptic, rleaky all-to-all, rsynaptic all-to-all |
//! | 1 | configuration (mod the model's count: reset, delay, Lapicque's given parameters) |
//! | 2 | surrogate (mod 10, snnTorch's order with the stochastic one last) |
//! | 3..7 | the surrogate's parameter (`f32`, any bits) |
//! | 7 | bit 0: fp16 instead of fp32; bit 1: a huge `steps`; bit 2: no parameter gradients; bit 3: no state-loss gradients |
//! | 8, 9, 10 | batch (mod 4), neurons (mod 6), steps (mod 5); 0 is a valid byte and must be refused |
//! | 11 | bit k: parameter k per neuron |
//! | 12 | 0: every slice exact; else slice `(b >> 1) mod count` one value longer (odd) or shorter (even) |
//! | 13.. | values (`f32`): parameters, inputs, initial states, spike gradients, state-loss gradients |

use snn_kernels::layer::{InputGrads, Layer, OutputGrads, Param, Saved};
use snn_kernels::model::Model;
use snn_kernels::models as m;
use snn_kernels::surrogate::{self as s, AnySurrogate};
use snn_kernels::{Error, Real, F16};

use crate::bytes::{Bytes, Writer};

/// The decoded header.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LayerCase {
    /// Model (mod 8).
    pub model: u8,
    /// Configuration.
    pub config: u8,
    /// Surrogate (mod 10).
    pub surrogate: u8,
    /// The surrogate's parameter.
    pub surrogate_param: f32,
    /// Flags (byte 7).
    pub flags: u8,
    /// Batch rows (mod 4).
    pub batch: u8,
    /// Neurons (mod 6).
    pub neurons: u8,
    /// Steps (mod 5).
    pub steps: u8,
    /// Per-neuron parameters (bit k).
    pub per_neuron: u8,
    /// The slice made one value too long or short (0: none).
    pub perturb: u8,
    /// Values.
    pub values: Vec<f32>,
}

impl LayerCase {
    /// The bytes [`layer`] decodes into this case.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.byte(self.model)
            .byte(self.config)
            .byte(self.surrogate)
            .f32(self.surrogate_param)
            .byte(self.flags)
            .byte(self.batch)
            .byte(self.neurons)
            .byte(self.steps)
            .byte(self.per_neuron)
            .byte(self.perturb);
        for &v in &self.values {
            w.f32(v);
        }
        w.0
    }
}

/// The fuzz target.
pub fn layer(data: &[u8]) {
    let _ = layer_ran(data);
}

/// The fuzz target's body: true when every call succeeded (false when one
/// refused its arguments, as it must for a broken input).
pub fn layer_ran(data: &[u8]) -> bool {
    let mut b = Bytes::new(data);
    let model = b.below(8);
    let config = usize::from(b.byte());
    let surrogate = surrogate(b.below(10), b.f32_or(2.0));
    let flags = b.byte();
    let f16 = flags & 1 == 1;
    macro_rules! go {
        ($model:ty) => {{
            let model = <$model>::from_config_index(config % <$model>::CONFIGURATIONS);
            if f16 {
                run::<$model, F16>(model, surrogate, flags, &mut b)
            } else {
                run::<$model, f32>(model, surrogate, flags, &mut b)
            }
        }};
    }
    match model {
        0 => go!(m::Leaky),
        1 => go!(m::Synaptic),
        2 => go!(m::Alpha),
        3 => go!(m::Lapicque),
        4 => go!(m::RLeaky),
        5 => go!(m::RSynaptic),
        6 => go!(m::RLeakyAllToAll),
        _ => go!(m::RSynapticAllToAll),
    }
}

/// Surrogate `k` with parameter `p` (the others at their defaults).
fn surrogate(k: usize, p: f32) -> AnySurrogate {
    let p = f64::from(p);
    let any = match k {
        0 => AnySurrogate::of(&s::Atan { alpha: p }),
        1 => AnySurrogate::of(&s::FastSigmoid { slope: p }),
        2 => AnySurrogate::of(&s::Sigmoid { slope: p }),
        3 => AnySurrogate::of(&s::Triangular { threshold: p }),
        4 => AnySurrogate::of(&s::StraightThrough),
        5 => AnySurrogate::of(&s::Heaviside),
        6 => AnySurrogate::of(&s::SpikeRateEscape {
            slope: p,
            ..Default::default()
        }),
        7 => AnySurrogate::of(&s::SparseFastSigmoid {
            slope: p,
            ..Default::default()
        }),
        8 => AnySurrogate::of(&s::LeakySpikeOperator { slope: p }),
        _ => AnySurrogate::of(&s::StochasticSpikeOperator {
            variance: p,
            ..Default::default()
        }),
    };
    any.expect("every built-in surrogate is an AnySurrogate")
}

/// Every slice of one run, by kind.
struct Slices<T> {
    params: Vec<Vec<T>>,
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

impl<T> Slices<T> {
    /// Every slice, in a fixed order (for the perturbation).
    fn all(&mut self) -> Vec<&mut Vec<T>> {
        let mut all: Vec<&mut Vec<T>> = Vec::new();
        all.extend(self.params.iter_mut());
        all.extend(self.inputs.iter_mut());
        all.extend(self.initial.iter_mut());
        all.push(&mut self.spikes);
        all.extend(self.states.iter_mut());
        all.push(&mut self.grad_spikes);
        all.extend(self.grad_states.iter_mut());
        all.extend(self.grad_inputs.iter_mut());
        all.extend(self.grad_initial.iter_mut());
        all.extend(self.grad_params.iter_mut());
        all
    }
}

fn run<M: Model, T: Real<Mask = bool>>(
    model: M,
    surrogate: AnySurrogate,
    flags: u8,
    b: &mut Bytes<'_>,
) -> bool {
    let batch = b.below(4);
    let neurons = b.below(6);
    let mut steps = b.below(5);
    let per_neuron = b.byte();
    let perturb = b.byte();
    let n = batch * neurons;
    let len = steps * n;
    let mut counter = 0u32;
    let mut value = |b: &mut Bytes<'_>| {
        counter = counter.wrapping_add(1);
        let default = (counter % 7) as f32 * 0.375 - 0.75;
        T::constant(f64::from(b.f32_or(default)))
    };
    let mut take =
        |b: &mut Bytes<'_>, count: usize| -> Vec<T> { (0..count).map(|_| value(b)).collect() };
    let stored = M::STATES.len() - usize::from(M::SPIKE_STATE.is_some());
    let params: Vec<Vec<T>> = (0..M::PARAMS.len())
        .map(|k| {
            let count = if per_neuron >> k & 1 == 1 { neurons } else { 1 };
            take(b, count)
        })
        .collect();
    let inputs: Vec<Vec<T>> = (0..M::INPUTS.len()).map(|_| take(b, len)).collect();
    let initial: Vec<Vec<T>> = (0..M::STATES.len()).map(|_| take(b, n)).collect();
    let grad_spikes = take(b, len);
    let grad_states: Vec<Vec<T>> = if flags & 8 == 8 {
        Vec::new()
    } else {
        (0..stored).map(|_| take(b, len)).collect()
    };
    let zeros = |count: usize| vec![T::zero(); count];
    let mut all = Slices {
        grad_params: if flags & 4 == 4 {
            Vec::new()
        } else {
            params.iter().map(|p| zeros(p.len())).collect()
        },
        params,
        grad_inputs: inputs.iter().map(|_| zeros(len)).collect(),
        inputs,
        grad_initial: initial.iter().map(|_| zeros(n)).collect(),
        initial,
        spikes: zeros(len),
        states: (0..stored).map(|_| zeros(len)).collect(),
        grad_spikes,
        grad_states,
    };
    let mut exact = perturb == 0;
    if perturb != 0 {
        let mut slices = all.all();
        let count = slices.len();
        let slice = &mut slices[usize::from(perturb >> 1) % count];
        if perturb & 1 == 1 {
            slice.push(T::one());
        } else if slice.pop().is_none() {
            // nothing to shorten: still exact
            exact = true;
        }
    }
    if flags & 2 == 2 {
        // a sequence far longer than the slices
        steps = usize::MAX / 3;
        exact = false;
    }
    let exact = exact && batch > 0 && neurons > 0 && steps > 0;

    let param_refs: Vec<Param<'_, T>> = all.params.iter().map(|p| Param::from_values(p)).collect();
    let layer = match Layer::new(model, surrogate, batch, neurons, &param_refs) {
        Ok(layer) => layer,
        Err(e) => {
            // with every shape right, only the model's rules on the
            // parameter values may refuse
            assert!(
                !exact || matches!(e, Error::InvalidParameter { .. }),
                "Layer::new refused shapes that fit: {e}"
            );
            return false;
        }
    };
    let layer = layer.with_chunk::<4>().with_seed(7);
    let input_refs: Vec<&[T]> = all.inputs.iter().map(|v| v.as_slice()).collect();
    let initial_refs: Vec<&[T]> = all.initial.iter().map(|v| v.as_slice()).collect();
    let forward = {
        let mut state_refs: Vec<&mut [T]> =
            all.states.iter_mut().map(|v| v.as_mut_slice()).collect();
        layer.forward(
            steps,
            &input_refs,
            &initial_refs,
            &mut all.spikes,
            &mut state_refs,
        )
    };
    assert!(
        !exact || forward.is_ok(),
        "forward refused exact slices: {forward:?}"
    );
    let state_refs: Vec<&[T]> = all.states.iter().map(|v| v.as_slice()).collect();
    let grad_state_refs: Vec<&[T]> = all.grad_states.iter().map(|v| v.as_slice()).collect();
    let backward = {
        let mut gi: Vec<&mut [T]> = all
            .grad_inputs
            .iter_mut()
            .map(|v| v.as_mut_slice())
            .collect();
        let mut g0: Vec<&mut [T]> = all
            .grad_initial
            .iter_mut()
            .map(|v| v.as_mut_slice())
            .collect();
        let mut gp: Vec<&mut [T]> = all
            .grad_params
            .iter_mut()
            .map(|v| v.as_mut_slice())
            .collect();
        layer.backward(
            steps,
            Saved::new(&input_refs, &initial_refs, &all.spikes, &state_refs),
            OutputGrads::new(&all.grad_spikes, &grad_state_refs),
            InputGrads::new(&mut gi, &mut g0, &mut gp),
        )
    };
    assert!(
        !exact || backward.is_ok(),
        "backward refused exact slices: {backward:?}"
    );

    // one step forward and its gradient, on the first step's values
    let first = |v: &Vec<T>| v.get(..n).map(<[T]>::to_vec).unwrap_or_default();
    let step_inputs: Vec<Vec<T>> = all.inputs.iter().map(first).collect();
    let step_input_refs: Vec<&[T]> = step_inputs.iter().map(|v| v.as_slice()).collect();
    let prev = all.initial.clone();
    let mut next = all.initial.clone();
    let mut spikes = zeros(n);
    let step = {
        let mut refs: Vec<&mut [T]> = next.iter_mut().map(|v| v.as_mut_slice()).collect();
        layer.step(0, &step_input_refs, &mut refs, &mut spikes)
    };
    assert!(
        !exact || step.is_ok(),
        "step refused exact slices: {step:?}"
    );
    let prev_refs: Vec<&[T]> = prev.iter().map(|v| v.as_slice()).collect();
    let next_refs: Vec<&[T]> = next.iter().map(|v| v.as_slice()).collect();
    let mut grad_state: Vec<Vec<T>> = next.iter().map(|_| zeros(n)).collect();
    let mut grad_inputs: Vec<Vec<T>> = step_inputs.iter().map(|_| zeros(n)).collect();
    let mut accumulator = zeros(layer.param_accumulator_len());
    layer.clear_param_accumulator(&mut accumulator);
    let step_back = {
        let mut gs: Vec<&mut [T]> = grad_state.iter_mut().map(|v| v.as_mut_slice()).collect();
        let mut gi: Vec<&mut [T]> = grad_inputs.iter_mut().map(|v| v.as_mut_slice()).collect();
        layer.step_backward(
            0,
            &step_input_refs,
            &prev_refs,
            &next_refs,
            &spikes,
            &mut gs,
            &mut gi,
            &mut accumulator,
        )
    };
    assert!(
        !exact || step_back.is_ok(),
        "step_backward refused exact slices: {step_back:?}"
    );
    let mut gp: Vec<&mut [T]> = all
        .grad_params
        .iter_mut()
        .map(|v| v.as_mut_slice())
        .collect();
    let reduce = layer.reduce_param_grads(&accumulator, &mut gp);
    assert!(
        !exact || reduce.is_ok(),
        "reduce_param_grads refused exact slices: {reduce:?}"
    );
    forward.is_ok() && backward.is_ok() && step.is_ok() && step_back.is_ok() && reduce.is_ok()
}
