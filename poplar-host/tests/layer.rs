//! The layer on vertices gives the kernels' results bit for bit, including
//! element counts that half vertices must pad (odd `batch x neurons`), and
//! refuses what the kernels refuse. (Every model, configuration, surrogate
//! and precision is compared with the independent reference by the checker
//! in `snn-reference`.)

use snn_kernels::layer::{InputGrads, Layer, OutputGrads, Param, Saved};
use snn_kernels::model::Reset;
use snn_kernels::models::{Leaky, Synaptic};
use snn_kernels::surrogate::{Atan, StochasticSpikeOperator, Surrogate};
use snn_kernels::{Model, F16};
use snn_poplar_host::emulator::{Element, RunOptions};
use snn_poplar_host::{ForwardVertices, SurrogateSpec, VertexLayer};

/// Everything a forward and backward pass produce.
#[derive(Debug, PartialEq)]
struct Results {
    spikes: Vec<u64>,
    states: Vec<Vec<u64>>,
    grad_inputs: Vec<Vec<u64>>,
    grad_initial: Vec<Vec<u64>>,
    grad_params: Vec<Vec<u64>>,
}

fn bits<T: Element>(values: &[T]) -> Vec<u64> {
    values
        .iter()
        .map(|&x| Into::<f64>::into(x).to_bits())
        .collect()
}

fn wave<T: Element>(len: usize, phase: f64) -> Vec<T> {
    (0..len)
        .map(|i| T::constant(((i as f64 * 0.7 + phase).sin() * 1.3) + 0.4))
        .collect()
}

/// Runs the kernels (`vertices = None`) or the vertices on one problem.
fn run<M: Model, S: Surrogate, T: Element>(
    model: M,
    surrogate: S,
    batch: usize,
    neurons: usize,
    params: &[Param<'_, T>],
    steps: usize,
    vertices: Option<ForwardVertices>,
) -> Results {
    let n = batch * neurons;
    let len = steps * n;
    let inputs: Vec<Vec<T>> = (0..M::INPUTS.len()).map(|k| wave(len, k as f64)).collect();
    let initial: Vec<Vec<T>> = (0..M::STATES.len())
        .map(|k| wave(n, 2.0 + k as f64))
        .collect();
    let stored = M::STATES.len() - usize::from(M::SPIKE_STATE.is_some());
    let input_refs: Vec<&[T]> = inputs.iter().map(|v| v.as_slice()).collect();
    let initial_refs: Vec<&[T]> = initial.iter().map(|v| v.as_slice()).collect();
    let mut spikes = vec![T::zero(); len];
    let mut states = vec![vec![T::zero(); len]; stored];
    let grad_spikes: Vec<T> = wave(len, 5.0);
    let mut grad_inputs = vec![vec![T::zero(); len]; M::INPUTS.len()];
    let mut grad_initial = vec![vec![T::zero(); n]; M::STATES.len()];
    let mut grad_params: Vec<Vec<T>> = params
        .iter()
        .map(|p| vec![T::zero(); if p.is_per_neuron() { neurons } else { 1 }])
        .collect();
    let kernels = Layer::new(model, surrogate, batch, neurons, params)
        .unwrap()
        .with_seed(7);
    let on_vertices =
        VertexLayer::new(model, SurrogateSpec::of(&surrogate), batch, neurons, params)
            .unwrap()
            .with_seed(7)
            .with_options(RunOptions {
                check_worker_overlap: true,
            });
    {
        let mut refs: Vec<&mut [T]> = states.iter_mut().map(|v| v.as_mut_slice()).collect();
        match vertices {
            None => kernels.forward(steps, &input_refs, &initial_refs, &mut spikes, &mut refs),
            Some(how) => on_vertices
                .forward(
                    steps,
                    &input_refs,
                    &initial_refs,
                    &mut spikes,
                    &mut refs,
                    how,
                )
                .map_err(|e| panic!("{e}")),
        }
        .unwrap();
    }
    {
        let state_refs: Vec<&[T]> = states.iter().map(|v| v.as_slice()).collect();
        let mut gi: Vec<&mut [T]> = grad_inputs.iter_mut().map(|v| v.as_mut_slice()).collect();
        let mut g0: Vec<&mut [T]> = grad_initial.iter_mut().map(|v| v.as_mut_slice()).collect();
        let mut gp: Vec<&mut [T]> = grad_params.iter_mut().map(|v| v.as_mut_slice()).collect();
        let saved = Saved {
            inputs: &input_refs,
            initial: &initial_refs,
            spikes: &spikes,
            states: &state_refs,
        };
        let grads = OutputGrads {
            spikes: &grad_spikes,
            states: &[],
        };
        let out = InputGrads {
            inputs: &mut gi,
            initial: &mut g0,
            params: &mut gp,
        };
        match vertices {
            None => kernels.backward(steps, saved, grads, out).unwrap(),
            Some(_) => on_vertices
                .backward(steps, saved, grads, out)
                .unwrap_or_else(|e| panic!("{e}")),
        }
    }
    Results {
        spikes: bits(&spikes),
        states: states.iter().map(|v| bits(v)).collect(),
        grad_inputs: grad_inputs.iter().map(|v| bits(v)).collect(),
        grad_initial: grad_initial.iter().map(|v| bits(v)).collect(),
        grad_params: grad_params.iter().map(|v| bits(v)).collect(),
    }
}

fn same_on_vertices<M: Model, S: Surrogate, T: Element>(
    model: M,
    surrogate: S,
    batch: usize,
    neurons: usize,
    params: &[Param<'_, T>],
) {
    let steps = 5;
    let native = run(model, surrogate, batch, neurons, params, steps, None);
    assert!(native.spikes.iter().any(|&s| s != 0), "some spikes");
    for how in [ForwardVertices::Sequence, ForwardVertices::Steps] {
        let emulated = run(model, surrogate, batch, neurons, params, steps, Some(how));
        assert_eq!(native, emulated, "{how:?} {} {}", M::NAME, S::NAME);
    }
}

#[test]
fn odd_element_counts_are_padded_in_half_and_give_the_kernels_bits() {
    let per_neuron_beta = [F16::from_f32(0.5), F16::from_f32(0.8), F16::from_f32(0.95)];
    let leaky = Leaky::new(Reset::Zero, false);
    // 1 x 3 and 3 x 3 elements: odd, padded to an even count
    for batch in [1, 3] {
        let scalar = [
            Param::Scalar(F16::from_f32(0.9)),
            Param::Scalar(F16::ONE),
            Param::Scalar(F16::ONE),
        ];
        same_on_vertices(leaky, Atan::default(), batch, 3, &scalar);
        let per_neuron = [
            Param::PerNeuron(&per_neuron_beta),
            Param::Scalar(F16::ONE),
            Param::Scalar(F16::from_f32(1.5)),
        ];
        same_on_vertices(leaky, Atan::default(), batch, 3, &per_neuron);
        // the stochastic surrogate draws by element index: padding at the
        // end keeps every real element's number
        same_on_vertices(leaky, StochasticSpikeOperator::default(), batch, 3, &scalar);
    }
}

#[test]
fn float_layers_with_every_parameter_mode_give_the_kernels_bits() {
    let synaptic = Synaptic::default();
    let alpha = [0.3f32, 0.6, 0.9, 0.1, 0.5];
    same_on_vertices(
        synaptic,
        Atan::default(),
        2,
        5,
        &[
            Param::PerNeuron(&alpha),
            Param::Scalar(0.8f32),
            Param::Scalar(1.0f32),
        ],
    );
    same_on_vertices(
        synaptic,
        StochasticSpikeOperator::default(),
        3,
        5,
        &[
            Param::Scalar(0.7f32),
            Param::Scalar(0.8f32),
            Param::Scalar(1.0f32),
        ],
    );
}

#[test]
fn what_the_kernels_refuse_the_layer_on_vertices_refuses() {
    let params = [
        Param::Scalar(0.9f32),
        Param::Scalar(1.0),
        Param::Scalar(1.0),
    ];
    let spec = SurrogateSpec::of(&Atan::default());
    assert!(VertexLayer::new(Leaky::default(), spec.clone(), 0, 3, &params).is_err());
    assert!(VertexLayer::new(Leaky::default(), spec.clone(), 2, 3, &params[..2]).is_err());
    let layer = VertexLayer::new(Leaky::default(), spec, 2, 3, &params).unwrap();
    let x = vec![0.0f32; 17];
    let initial = vec![0.0f32; 6];
    let mut spikes = vec![0.0f32; 18];
    let mut mem = vec![0.0f32; 18];
    let err = layer
        .forward(
            3,
            &[&x],
            &[&initial],
            &mut spikes,
            &mut [&mut mem],
            ForwardVertices::Sequence,
        )
        .unwrap_err();
    assert!(err.to_string().contains("18"), "{err}");
    let err = layer
        .forward(
            0,
            &[&x],
            &[&initial],
            &mut spikes,
            &mut [&mut mem],
            ForwardVertices::Sequence,
        )
        .unwrap_err();
    assert!(err.to_string().contains("time steps"), "{err}");
}
