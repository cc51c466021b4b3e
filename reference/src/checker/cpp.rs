//! The generated vertex C++ as a checker backend: the codelets that
//! `snn-codelet-gen` traced from the kernels, compiled for this CPU by
//! `snn-poplar-host` and run through its layer on vertices
//! ([`snn_poplar_host::VertexLayer`]): the forward vertex (multi-step, or
//! single-step once per step), then the backward-through-time vertex, with
//! the host's part (preparing the constants, reducing the parameter
//! gradients) done as the host crate does it. Every output vertex runs with
//! the worker-overlap check on.

use snn_kernels::layer::{InputGrads, OutputGrads, Saved};
use snn_kernels::model::Model;
use snn_kernels::surrogate as ks;
use snn_kernels::F16;
use snn_poplar_host::emulator::{Element, RunOptions};
use snn_poplar_host::{ForwardVertices, SurrogateSpec, VertexLayer};

use super::kernels::{layer_params, with_kernel_types, KernelVisitor};
use super::Backend;
use crate::precision::Precision;
use crate::run::{Case, Outcome};

/// The generated C++ vertices, run on this CPU.
#[derive(Clone, Copy, Debug, Default)]
pub struct GeneratedCppBackend {
    /// Run the forward pass one `FwdStep` vertex call per time step.
    pub single_steps: bool,
}

impl Backend for GeneratedCppBackend {
    fn name(&self) -> &str {
        if self.single_steps {
            "generated-c++ steps"
        } else {
            "generated-c++"
        }
    }

    fn run(&self, case: &Case) -> Result<Outcome, String> {
        with_kernel_types(case, RunVertices(case, self.single_steps))
    }

    fn supports(&self, case: &Case) -> bool {
        case.precision != Precision::F64
    }
}

struct RunVertices<'a>(&'a Case, bool);

impl KernelVisitor for RunVertices<'_> {
    type Output = Result<Outcome, String>;
    fn visit<M: Model, S: ks::Surrogate>(self, model: M, surrogate: S) -> Self::Output {
        let spec = SurrogateSpec::of(&surrogate);
        let how = if self.1 {
            ForwardVertices::Steps
        } else {
            ForwardVertices::Sequence
        };
        match self.0.precision {
            Precision::F32 => run::<M, f32>(model, spec, self.0, how),
            Precision::F16 => run::<M, F16>(model, spec, self.0, how),
            Precision::F64 => Err("the IPU vertices exist in float and half only".into()),
        }
    }
}

fn run<M: Model, T: Element>(
    model: M,
    surrogate: SurrogateSpec,
    case: &Case,
    how: ForwardVertices,
) -> Result<Outcome, String> {
    let convert = |v: &Vec<f64>| -> Vec<T> { v.iter().map(|&x| T::constant(x)).collect() };
    let back = |v: &[T]| -> Vec<f64> { v.iter().map(|&x| x.into()).collect() };
    let params: Vec<Vec<T>> = case.params.iter().map(convert).collect();
    let layer = VertexLayer::new(
        model,
        surrogate,
        case.batch,
        case.neurons,
        &layer_params(&params),
    )
    .map_err(|e| e.to_string())?
    .with_seed(case.seed)
    .with_options(RunOptions {
        check_worker_overlap: true,
    });
    let inputs: Vec<Vec<T>> = case.inputs.iter().map(convert).collect();
    let initial: Vec<Vec<T>> = case.initial.iter().map(convert).collect();
    let input_refs: Vec<&[T]> = inputs.iter().map(|v| v.as_slice()).collect();
    let initial_refs: Vec<&[T]> = initial.iter().map(|v| v.as_slice()).collect();
    let len = case.steps * case.elements();
    let mut spikes = vec![T::zero(); len];
    let mut states = vec![vec![T::zero(); len]; case.stored_states()];
    {
        let mut refs: Vec<&mut [T]> = states.iter_mut().map(|v| v.as_mut_slice()).collect();
        layer
            .forward(
                case.steps,
                &input_refs,
                &initial_refs,
                &mut spikes,
                &mut refs,
                how,
            )
            .map_err(|e| e.to_string())?;
    }
    let grad_spikes = convert(&case.grad_spikes);
    let grad_states: Vec<Vec<T>> = case.grad_states.iter().map(convert).collect();
    let grad_state_refs: Vec<&[T]> = grad_states.iter().map(|v| v.as_slice()).collect();
    let mut grad_inputs = vec![vec![T::zero(); len]; inputs.len()];
    let mut grad_initial = vec![vec![T::zero(); case.elements()]; initial.len()];
    let mut grad_params: Vec<Vec<T>> = case
        .params
        .iter()
        .map(|p| vec![T::zero(); p.len()])
        .collect();
    {
        let state_refs: Vec<&[T]> = states.iter().map(|v| v.as_slice()).collect();
        let mut gi: Vec<&mut [T]> = grad_inputs.iter_mut().map(|v| v.as_mut_slice()).collect();
        let mut g0: Vec<&mut [T]> = grad_initial.iter_mut().map(|v| v.as_mut_slice()).collect();
        let mut gp: Vec<&mut [T]> = grad_params.iter_mut().map(|v| v.as_mut_slice()).collect();
        layer
            .backward(
                case.steps,
                Saved {
                    inputs: &input_refs,
                    initial: &initial_refs,
                    spikes: &spikes,
                    states: &state_refs,
                },
                OutputGrads {
                    spikes: &grad_spikes,
                    states: &grad_state_refs,
                },
                InputGrads {
                    inputs: &mut gi,
                    initial: &mut g0,
                    params: &mut gp,
                },
            )
            .map_err(|e| e.to_string())?;
    }
    Ok(Outcome {
        spikes: back(&spikes),
        states: states.iter().map(|v| back(v)).collect(),
        grad_inputs: grad_inputs.iter().map(|v| back(v)).collect(),
        grad_initial: grad_initial.iter().map(|v| back(v)).collect(),
        grad_params: grad_params.iter().map(|v| back(v)).collect(),
    })
}
