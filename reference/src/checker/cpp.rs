//! The generated vertex C++ as a checker backend: the codelets that
//! `snn-codelet-gen` traced from the kernels, compiled for this CPU by
//! `snn-poplar-host` and run through its emulator. A case runs the
//! multi-step forward vertex, then the backward-through-time vertex; the
//! host part (preparing the constants, summing the per-element gradients of
//! the prepared constants into parameter gradients) uses the kernels' own
//! `Model::prepare` and `Layer::reduce_param_grads`, as the host crate does.

use snn_codelet_gen::{VertexInfo, VertexKind};
use snn_kernels::layer::Layer;
use snn_kernels::model::{no_gradient, Model, MAX_PARAMS};
use snn_kernels::surrogate::{self as ks, constants_in};
use snn_kernels::{Real, F16};
use snn_poplar_host::emulator::{manifest, run_vertex, Buffer, Sizes};

use super::kernels::{layer_params, with_kernel_types, KernelVisitor};
use super::Backend;
use crate::precision::Precision;
use crate::run::{Case, Outcome};

/// The generated C++ vertices, run on this CPU: the forward pass with the
/// multi-step vertex (`...FwdSeq`), or step by step with the single-step
/// vertex (`...FwdStep`), then the backward vertex (`...BwdSeq`).
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
        match self.0.precision {
            Precision::F32 => run::<M, S, f32>(model, surrogate, self.0, self.1),
            Precision::F16 => run::<M, S, F16>(model, surrogate, self.0, self.1),
            Precision::F64 => Err("the IPU vertices exist in float and half only".into()),
        }
    }
}

/// A precision's values as field buffers.
trait Element: Real<Mask = bool> + Into<f64> {
    const CPP: &'static str;
    fn buffer(values: &mut Vec<Self>) -> Buffer<'_>;
    fn member_bits(self) -> u32;
}

impl Element for f32 {
    const CPP: &'static str = "float";
    fn buffer(values: &mut Vec<Self>) -> Buffer<'_> {
        Buffer::F32(values.as_mut_slice())
    }
    fn member_bits(self) -> u32 {
        self.to_bits()
    }
}

impl Element for F16 {
    const CPP: &'static str = "half";
    fn buffer(values: &mut Vec<Self>) -> Buffer<'_> {
        // F16 is a transparent wrapper of the binary16 bits
        Buffer::F16(bytemuck_cast(values.as_mut_slice()))
    }
    fn member_bits(self) -> u32 {
        self.to_bits() as u32
    }
}

/// `&mut [F16]` as its bits.
fn bytemuck_cast(values: &mut [F16]) -> &mut [u16] {
    // SAFETY: `F16` is `repr(transparent)` over `half::f16`, itself
    // `repr(transparent)` over `u16`: same size, alignment and validity.
    unsafe { core::slice::from_raw_parts_mut(values.as_mut_ptr().cast::<u16>(), values.len()) }
}

/// The prepared constants: vector fields in per-neuron mode, members in
/// scalar mode.
fn bind_prepared<'a, T: Element>(
    per_neuron: bool,
    prepared_fields: &'a mut [Vec<T>],
    scalar_members: &[u32],
    fields: &mut Vec<Buffer<'a>>,
    members: &mut Vec<u32>,
) {
    if per_neuron {
        for v in prepared_fields.iter_mut() {
            fields.push(T::buffer(v));
        }
    } else {
        members.extend_from_slice(scalar_members);
    }
}

fn find(
    kind: VertexKind,
    model: &str,
    variant: &str,
    precision: &str,
    per_neuron: bool,
    surrogate: Option<&str>,
) -> Result<&'static VertexInfo, String> {
    manifest()
        .iter()
        .find(|v| {
            v.kind == kind
                && v.model == model
                && v.serves.iter().any(|s| s == variant)
                && v.precision == precision
                && v.per_neuron == per_neuron
                && v.surrogate.as_deref() == surrogate
        })
        .ok_or_else(|| {
            format!(
                "no {kind:?} vertex for {model} {variant} {precision} (surrogate {surrogate:?})"
            )
        })
}

fn run<M: Model, S: ks::Surrogate, T: Element>(
    model: M,
    surrogate: S,
    case: &Case,
    single_steps: bool,
) -> Result<Outcome, String> {
    let n = case.elements();
    let steps = case.steps;
    let len = steps * n;
    let convert = |v: &Vec<f64>| -> Vec<T> { v.iter().map(|&x| T::constant(x)).collect() };
    let back = |v: &[T]| -> Vec<f64> { v.iter().map(|&x| x.into()).collect() };
    let params_t: Vec<Vec<T>> = case.params.iter().map(convert).collect();
    let per_neuron = params_t.iter().any(|p| p.len() > 1);
    // the host's part: the layer checks the parameters and later reduces
    let layer = Layer::new(
        model,
        surrogate,
        case.batch,
        case.neurons,
        &layer_params(&params_t),
    )
    .map_err(|e| e.to_string())?
    .with_seed(case.seed);
    // prepared constants per neuron, with the kernels' own prepare
    let prepare = |m: usize| {
        let mut raw = [T::zero(); MAX_PARAMS];
        for (k, p) in params_t.iter().enumerate() {
            raw[k] = if p.len() == 1 { p[0] } else { p[m] };
        }
        model.prepare(&raw)
    };
    let per_neuron_prepared: Vec<_> = (0..case.neurons).map(prepare).collect();
    let prepared_count = M::PREPARED.len();
    // per element (scalar mode: neuron 0's, as members)
    let mut prepared_fields: Vec<Vec<T>> = (0..prepared_count)
        .map(|k| {
            (0..n)
                .map(|e| per_neuron_prepared[e % case.neurons][k])
                .collect()
        })
        .collect();
    let scalar_members: Vec<u32> = (0..prepared_count)
        .map(|k| per_neuron_prepared[0][k].member_bits())
        .collect();

    let mut inputs: Vec<Vec<T>> = case.inputs.iter().map(convert).collect();
    let mut initial: Vec<Vec<T>> = case.initial.iter().map(convert).collect();
    let stored = case.stored_states();
    let mut spikes = vec![T::zero(); len];
    let mut states = vec![vec![T::zero(); len]; stored];

    if single_steps {
        // forward, one FwdStep call per step: inputs, prev states, next
        // stored states, spikes, [prepared]
        let step = find(
            VertexKind::ForwardStep,
            M::NAME,
            model.variant(),
            T::CPP,
            per_neuron,
            None,
        )?;
        let spike_state = M::SPIKE_STATE;
        for t in 0..steps {
            let at = t * n;
            let mut x: Vec<Vec<T>> = inputs.iter().map(|v| v[at..at + n].to_vec()).collect();
            let mut prev: Vec<Vec<T>> = (0..M::STATES.len())
                .map(|k| {
                    if t == 0 {
                        initial[k].clone()
                    } else if Some(k) == spike_state {
                        spikes[at - n..at].to_vec()
                    } else {
                        states[k][at - n..at].to_vec()
                    }
                })
                .collect();
            let mut next = vec![vec![T::zero(); n]; stored];
            let mut spk = vec![T::zero(); n];
            let mut fields: Vec<Buffer<'_>> = Vec::new();
            for v in x.iter_mut() {
                fields.push(T::buffer(v));
            }
            for v in prev.iter_mut() {
                fields.push(T::buffer(v));
            }
            for v in next.iter_mut() {
                fields.push(T::buffer(v));
            }
            fields.push(T::buffer(&mut spk));
            let mut members = Vec::new();
            bind_prepared(
                per_neuron,
                &mut prepared_fields,
                &scalar_members,
                &mut fields,
                &mut members,
            );
            run_vertex(step, Sizes { n, steps: 1 }, &mut fields, &members)?;
            drop(fields);
            spikes[at..at + n].copy_from_slice(&spk);
            for (k, v) in next.iter().enumerate() {
                states[k][at..at + n].copy_from_slice(v);
            }
        }
    } else {
        // forward: initial states, inputs, spikes, stored states, [prepared]
        let forward = find(
            VertexKind::ForwardSequence,
            M::NAME,
            model.variant(),
            T::CPP,
            per_neuron,
            None,
        )?;
        {
            let mut fields: Vec<Buffer<'_>> = Vec::new();
            for v in initial.iter_mut() {
                fields.push(T::buffer(v));
            }
            for v in inputs.iter_mut() {
                fields.push(T::buffer(v));
            }
            fields.push(T::buffer(&mut spikes));
            for v in states.iter_mut() {
                fields.push(T::buffer(v));
            }
            let mut members = Vec::new();
            bind_prepared(
                per_neuron,
                &mut prepared_fields,
                &scalar_members,
                &mut fields,
                &mut members,
            );
            members.push(steps as u32);
            run_vertex(forward, Sizes { n, steps }, &mut fields, &members)?;
        }
    }

    // backward
    let backward = find(
        VertexKind::BackwardSequence,
        M::NAME,
        model.variant(),
        T::CPP,
        per_neuron,
        Some(S::NAME),
    )?;
    let mut grad_spikes = convert(&case.grad_spikes);
    let mut grad_states: Vec<Vec<T>> = (0..stored)
        .map(|k| match case.grad_states.get(k) {
            Some(g) if !g.is_empty() => convert(g),
            _ => vec![no_gradient(); len],
        })
        .collect();
    let mut grad_inputs = vec![vec![T::zero(); len]; inputs.len()];
    let mut grad_initial = vec![vec![T::zero(); n]; initial.len()];
    let mut accumulator = vec![T::zero(); prepared_count * n];
    {
        let reads_inputs = backward.fields.iter().any(|f| f.name == M::INPUTS[0]);
        let mut fields: Vec<Buffer<'_>> = Vec::new();
        for v in initial.iter_mut() {
            fields.push(T::buffer(v));
        }
        if reads_inputs {
            for v in inputs.iter_mut() {
                fields.push(T::buffer(v));
            }
        }
        fields.push(T::buffer(&mut spikes));
        for v in states.iter_mut() {
            fields.push(T::buffer(v));
        }
        fields.push(T::buffer(&mut grad_spikes));
        for v in grad_states.iter_mut() {
            fields.push(T::buffer(v));
        }
        for v in grad_inputs.iter_mut() {
            fields.push(T::buffer(v));
        }
        for v in grad_initial.iter_mut() {
            fields.push(T::buffer(v));
        }
        fields.push(T::buffer(&mut accumulator));
        let mut members = Vec::new();
        bind_prepared(
            per_neuron,
            &mut prepared_fields,
            &scalar_members,
            &mut fields,
            &mut members,
        );
        let constants = constants_in::<T, S>(&surrogate);
        members.extend(constants.iter().map(|c| c.member_bits()));
        members.push(steps as u32);
        members.push(case.seed);
        members.push(0); // element_offset: the vertex covers the whole layer
        run_vertex(backward, Sizes { n, steps }, &mut fields, &members)?;
    }

    // the host's reduction, as Layer::reduce_param_grads defines it
    let mut grad_params: Vec<Vec<T>> = case
        .params
        .iter()
        .map(|p| vec![T::zero(); p.len()])
        .collect();
    {
        let mut gp: Vec<&mut [T]> = grad_params.iter_mut().map(|v| v.as_mut_slice()).collect();
        layer
            .reduce_param_grads(&accumulator, &mut gp)
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
