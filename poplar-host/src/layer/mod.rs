//! A layer on vertices: the host's part of running one spiking layer with
//! the generated vertices, with the same API and the same results, bit for
//! bit, as `snn_kernels::Layer`.
//!
//! The host chooses the vertices for the model configuration, precision,
//! parameter mode and surrogate; prepares the per-neuron constants with the
//! kernels' own `Model::prepare` and lays them out (members when every
//! parameter is a scalar, one value per element otherwise); runs the
//! forward pass (one multi-step vertex, or one single-step vertex per step)
//! and the backward pass through time; and reduces the per-element sums of
//! the prepared constants' gradients into parameter gradients with
//! `Layer::reduce_param_grads`, in the order the kernels define.
//!
//! Here one vertex covers the whole layer (every `batch x neurons` element
//! on one tile). Half vertices need an even element count; an odd one is
//! padded with one element whose results are dropped.

use std::fmt;

use snn_codelet_gen::{FieldRole, MemberRole, VertexInfo, VertexKind};
use snn_kernels::layer::{InputGrads, Layer, OutputGrads, Param, Saved};
use snn_kernels::model::{no_gradient, Model, MAX_PARAMS};
use snn_kernels::surrogate::{Surrogate, SurrogateConstants, MAX_SURROGATE_CONSTANTS};
use snn_kernels::{Error as KernelError, Real};

mod graph;

pub use graph::{Chunking, LayerGraph, LayerTensor, NamedValues};

use crate::emulator::{
    manifest, run_vertex, Buffer, Element, EmulatorError, MemberValue, RunOptions,
};

/// Why a layer on vertices refused to run.
#[derive(Clone, Debug, PartialEq)]
pub enum Error {
    /// A shape, length or parameter the kernels refuse too.
    Kernels(KernelError),
    /// No generated vertex computes this configuration.
    NoVertex(String),
    /// The emulator refused a vertex call or the vertex failed.
    Emulator(EmulatorError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Kernels(e) => write!(f, "{e}"),
            Error::NoVertex(what) => write!(f, "no generated vertex for {what}"),
            Error::Emulator(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<KernelError> for Error {
    fn from(e: KernelError) -> Self {
        Error::Kernels(e)
    }
}

impl From<EmulatorError> for Error {
    fn from(e: EmulatorError) -> Self {
        Error::Emulator(e)
    }
}

/// A surrogate as the vertices take it: its name (the backward vertex's
/// template argument) and constants (members).
#[derive(Clone, Debug, PartialEq)]
pub struct SurrogateSpec {
    /// `Surrogate::NAME`.
    pub name: &'static str,
    /// `Surrogate::constants`, in `f64`.
    pub constants: [f64; MAX_SURROGATE_CONSTANTS],
}

impl SurrogateSpec {
    /// The spec of `surrogate`.
    pub fn of<S: Surrogate>(surrogate: &S) -> Self {
        SurrogateSpec {
            name: S::NAME,
            constants: surrogate.constants(),
        }
    }
}

/// Stands for the surrogate where the kernels' `Layer` only checks shapes
/// and reduces gradients: never asked for a gradient.
#[derive(Clone, Copy, Debug)]
struct HostOnly;

impl Surrogate for HostOnly {
    const NAME: &'static str = "host_only";
    fn grad<T: Real>(_z: T, grad: T, _c: &SurrogateConstants<T>, _noise: T) -> T {
        grad
    }
}

/// How the forward pass runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ForwardVertices {
    /// One multi-step vertex (`...FwdSeq`), states in registers.
    #[default]
    Sequence,
    /// One single-step vertex (`...FwdStep`) per time step.
    Steps,
}

/// A parameter, owned.
#[derive(Clone, Debug)]
enum Values<T> {
    Scalar(T),
    PerNeuron(Vec<T>),
}

/// One layer run with the generated vertices (see the module docs).
#[derive(Clone, Debug)]
pub struct VertexLayer<M: Model, T: Element> {
    model: M,
    surrogate: SurrogateSpec,
    seed: u32,
    batch: usize,
    neurons: usize,
    params: Vec<Values<T>>,
    options: RunOptions,
}

/// `[rows][n]` values copied into `[rows][padded]`, `fill` in the new
/// columns.
fn pad<T: Copy>(values: &[T], n: usize, padded: usize, fill: T) -> Vec<T> {
    if n == padded {
        return values.to_vec();
    }
    let rows = values.len() / n.max(1);
    let mut out = vec![fill; rows * padded];
    for r in 0..rows {
        out[r * padded..r * padded + n].copy_from_slice(&values[r * n..(r + 1) * n]);
    }
    out
}

/// The inverse of [`pad`]: the first `n` columns of each row into `out`.
fn unpad<T: Copy>(padded_values: &[T], n: usize, padded: usize, out: &mut [T]) {
    let rows = out.len() / n.max(1);
    for r in 0..rows {
        out[r * n..(r + 1) * n].copy_from_slice(&padded_values[r * padded..r * padded + n]);
    }
}

/// The field with `role`, by name.
fn field(vertex: &VertexInfo, role: FieldRole) -> &str {
    vertex
        .field_with(role)
        .map(|f| f.name.as_str())
        .unwrap_or("<missing>")
}

/// The member with `role`, by name.
fn member(vertex: &VertexInfo, role: MemberRole) -> &str {
    vertex
        .member_with(role)
        .map(|m| m.name.as_str())
        .unwrap_or("<missing>")
}

impl<M: Model, T: Element> VertexLayer<M, T> {
    /// A layer of `neurons` neurons run on `batch` rows at once, with the
    /// parameters of `Model::PARAMS` in order; checked as
    /// `snn_kernels::Layer::new` checks them.
    pub fn new(
        model: M,
        surrogate: SurrogateSpec,
        batch: usize,
        neurons: usize,
        params: &[Param<'_, T>],
    ) -> Result<Self, Error> {
        Layer::new(model, HostOnly, batch, neurons, params)?;
        let params = params
            .iter()
            .map(|p| match p {
                Param::Scalar(v) => Values::Scalar(*v),
                Param::PerNeuron(v) => Values::PerNeuron(v.to_vec()),
            })
            .collect();
        Ok(VertexLayer {
            model,
            surrogate,
            seed: 0,
            batch,
            neurons,
            params,
            options: RunOptions::default(),
        })
    }

    /// The same layer drawing its surrogate noise from stream `seed`.
    pub fn with_seed(mut self, seed: u32) -> Self {
        self.seed = seed;
        self
    }

    /// The same layer running its vertices with these emulator options
    /// (for example the worker-overlap check).
    pub fn with_options(mut self, options: RunOptions) -> Self {
        self.options = options;
        self
    }

    /// The kernels' layer with the same parameters: it checks arguments and
    /// reduces the parameter gradients.
    fn kernel_layer(&self) -> Result<Layer<'_, M, HostOnly, T>, Error> {
        let params: Vec<Param<'_, T>> = self
            .params
            .iter()
            .map(|p| match p {
                Values::Scalar(v) => Param::Scalar(*v),
                Values::PerNeuron(v) => Param::PerNeuron(v),
            })
            .collect();
        Ok(Layer::new(
            self.model,
            HostOnly,
            self.batch,
            self.neurons,
            &params,
        )?)
    }

    fn per_neuron(&self) -> bool {
        self.params
            .iter()
            .any(|p| matches!(p, Values::PerNeuron(_)))
    }

    /// `batch x neurons`.
    fn elements(&self) -> usize {
        self.batch * self.neurons
    }

    /// The element count the vertices run on: padded to what the vertex
    /// needs.
    fn padded(&self, vertex: &VertexInfo) -> usize {
        self.elements()
            .next_multiple_of(vertex.element_multiple.max(1) as usize)
    }

    /// The vertex of `kind` for this layer.
    fn vertex(&self, kind: VertexKind) -> Result<&'static str, Error> {
        let surrogate = (kind == VertexKind::BackwardSequence).then_some(self.surrogate.name);
        manifest()
            .iter()
            .find(|v| {
                v.kind == kind
                    && v.model == M::NAME
                    && v.serves.iter().any(|s| s == self.model.variant())
                    && v.precision == T::TYPE
                    && v.per_neuron == self.per_neuron()
                    && v.surrogate.as_deref() == surrogate
            })
            .map(|v| v.name.as_str())
            .ok_or_else(|| {
                Error::NoVertex(format!(
                    "{kind:?} of {} {} in {} (surrogate {}): the emulator holds the built-in models and surrogates",
                    M::NAME,
                    self.model.variant(),
                    T::TYPE.name(),
                    surrogate.unwrap_or("none"),
                ))
            })
    }

    /// Each prepared constant per element (`[k][padded]`; the padding
    /// repeats element 0), and the members of scalar mode.
    fn prepared(&self, padded: usize) -> (Vec<Vec<T>>, Vec<T>) {
        let raw = |m: usize| {
            let mut raw = [T::zero(); MAX_PARAMS];
            for (k, p) in self.params.iter().enumerate() {
                raw[k] = match p {
                    Values::Scalar(v) => *v,
                    Values::PerNeuron(v) => v[m],
                };
            }
            raw
        };
        let per_neuron: Vec<_> = (0..self.neurons)
            .map(|m| self.model.prepare(&raw(m)))
            .collect();
        let per_element = (0..M::PREPARED.len())
            .map(|k| {
                (0..padded)
                    .map(|e| {
                        let e = if e < self.elements() { e } else { 0 };
                        per_neuron[e % self.neurons][k]
                    })
                    .collect()
            })
            .collect();
        let members = (0..M::PREPARED.len()).map(|k| per_neuron[0][k]).collect();
        (per_element, members)
    }

    /// Binds the prepared constants of `vertex`: fields or members.
    fn bind_prepared<'a>(
        &self,
        vertex: &'static VertexInfo,
        per_element: &'a [Vec<T>],
        scalars: &[T],
        fields: &mut Vec<(&'static str, Buffer<'a>)>,
        members: &mut Vec<(&'static str, MemberValue)>,
    ) {
        for k in 0..M::PREPARED.len() {
            if vertex.per_neuron {
                fields.push((
                    field(vertex, FieldRole::Prepared(k)),
                    Buffer::input(&per_element[k]),
                ));
            } else {
                members.push((member(vertex, MemberRole::Prepared(k)), scalars[k].member()));
            }
        }
    }

    /// The multi-step vertex of `kind` (`ForwardSequence` or
    /// `BackwardSequence`) for this layer, and the value of each of its
    /// members for a block of `steps` steps whose element 0 is the layer's
    /// element `element_offset`. Layers with per-neuron parameters are
    /// refused (their constants are tensors, see
    /// [`VertexLayer::graph`]).
    pub fn sequence_vertex(
        &self,
        kind: VertexKind,
        steps: u32,
        element_offset: u32,
    ) -> Result<VertexMembers, Error> {
        if self.per_neuron() {
            return Err(Error::NoVertex(
                "a layer with per-neuron parameters as members (give scalar parameters)".into(),
            ));
        }
        let name = self.vertex(kind)?;
        let vertex = crate::emulator::vertex(name).expect("found in the manifest");
        let (_, scalars) = self.prepared(1);
        let mut members = Vec::new();
        for m in &vertex.members {
            let value = match m.role {
                MemberRole::Steps => MemberValue::Unsigned(steps),
                MemberRole::Prepared(j) => scalars[j].member(),
                MemberRole::Seed => MemberValue::Unsigned(self.seed),
                MemberRole::ElementOffset => MemberValue::Unsigned(element_offset),
                MemberRole::SurrogateConstant(j) => {
                    T::constant(self.surrogate.constants[j]).member()
                }
                other => {
                    return Err(Error::NoVertex(format!(
                        "{name}: a neuron vertex has no member of role {other:?}"
                    )))
                }
            };
            members.push((m.name.clone(), value));
        }
        Ok((name, members))
    }

    /// Batch rows and neurons.
    pub fn shape(&self) -> (usize, usize) {
        (self.batch, self.neurons)
    }

    /// The states the forward pass stores: all but the spike state.
    fn stored() -> Vec<usize> {
        (0..M::STATES.len())
            .filter(|&k| Some(k) != M::SPIKE_STATE)
            .collect()
    }

    /// The fused forward pass over `steps` time steps, with the same
    /// arguments as `snn_kernels::Layer::forward`.
    pub fn forward(
        &self,
        steps: usize,
        inputs: &[&[T]],
        initial: &[&[T]],
        spikes: &mut [T],
        states: &mut [&mut [T]],
        how: ForwardVertices,
    ) -> Result<(), Error> {
        self.kernel_layer()?
            .check_forward(steps, inputs, initial, spikes, states)?;
        let n = self.elements();
        let steps_u32 = u32::try_from(steps).map_err(|_| KernelError::ShapeTooLarge)?;
        match how {
            ForwardVertices::Sequence => {
                let name = self.vertex(VertexKind::ForwardSequence)?;
                let vertex = crate::emulator::vertex(name).expect("found in the manifest");
                let padded = self.padded(vertex);
                let zero = T::zero();
                let (prepared, scalars) = self.prepared(padded);
                let initial_p: Vec<Vec<T>> =
                    initial.iter().map(|v| pad(v, n, padded, zero)).collect();
                let inputs_p: Vec<Vec<T>> =
                    inputs.iter().map(|v| pad(v, n, padded, zero)).collect();
                let mut spikes_p = vec![zero; steps * padded];
                let mut states_p = vec![vec![zero; steps * padded]; states.len()];
                let mut fields = Vec::new();
                let mut members = vec![(
                    member(vertex, MemberRole::Steps),
                    MemberValue::Unsigned(steps_u32),
                )];
                for (k, v) in initial_p.iter().enumerate() {
                    fields.push((field(vertex, FieldRole::InitialState(k)), Buffer::input(v)));
                }
                for (k, v) in inputs_p.iter().enumerate() {
                    fields.push((field(vertex, FieldRole::Input(k)), Buffer::input(v)));
                }
                fields.push((
                    field(vertex, FieldRole::Spikes),
                    Buffer::output(&mut spikes_p),
                ));
                for (v, k) in states_p.iter_mut().zip(Self::stored()) {
                    fields.push((field(vertex, FieldRole::State(k)), Buffer::output(v)));
                }
                self.bind_prepared(vertex, &prepared, &scalars, &mut fields, &mut members);
                run_vertex(name, &mut fields, &members, self.options)?;
                drop(fields);
                unpad(&spikes_p, n, padded, spikes);
                for (out, v) in states.iter_mut().zip(&states_p) {
                    unpad(v, n, padded, out);
                }
            }
            ForwardVertices::Steps => {
                let name = self.vertex(VertexKind::ForwardStep)?;
                let vertex = crate::emulator::vertex(name).expect("found in the manifest");
                let padded = self.padded(vertex);
                let zero = T::zero();
                let (prepared, scalars) = self.prepared(padded);
                let stored = Self::stored();
                for t in 0..steps {
                    let at = t * n;
                    let x: Vec<Vec<T>> = inputs
                        .iter()
                        .map(|v| pad(&v[at..at + n], n, padded, zero))
                        .collect();
                    let prev: Vec<Vec<T>> = (0..M::STATES.len())
                        .map(|k| {
                            let before: &[T] = if t == 0 {
                                initial[k]
                            } else if Some(k) == M::SPIKE_STATE {
                                &spikes[at - n..at]
                            } else {
                                let j = stored.iter().position(|&s| s == k).expect("stored");
                                &states[j][at - n..at]
                            };
                            pad(before, n, padded, zero)
                        })
                        .collect();
                    let mut next = vec![vec![zero; padded]; stored.len()];
                    let mut spk = vec![zero; padded];
                    let mut fields = Vec::new();
                    let mut members = Vec::new();
                    for (k, v) in x.iter().enumerate() {
                        fields.push((field(vertex, FieldRole::Input(k)), Buffer::input(v)));
                    }
                    for (k, v) in prev.iter().enumerate() {
                        fields.push((field(vertex, FieldRole::PrevState(k)), Buffer::input(v)));
                    }
                    for (v, &k) in next.iter_mut().zip(&stored) {
                        fields.push((field(vertex, FieldRole::State(k)), Buffer::output(v)));
                    }
                    fields.push((field(vertex, FieldRole::Spikes), Buffer::output(&mut spk)));
                    self.bind_prepared(vertex, &prepared, &scalars, &mut fields, &mut members);
                    run_vertex(name, &mut fields, &members, self.options)?;
                    drop(fields);
                    spikes[at..at + n].copy_from_slice(&spk[..n]);
                    for (out, v) in states.iter_mut().zip(&next) {
                        out[at..at + n].copy_from_slice(&v[..n]);
                    }
                }
            }
        }
        Ok(())
    }

    /// The backward pass through time, with the same arguments as
    /// `snn_kernels::Layer::backward`.
    pub fn backward(
        &self,
        steps: usize,
        saved: Saved<'_, T>,
        grads: OutputGrads<'_, T>,
        out: InputGrads<'_, '_, T>,
    ) -> Result<(), Error> {
        let layer = self.kernel_layer()?;
        layer.check_backward(steps, &saved, &grads, &out)?;
        let n = self.elements();
        let steps_u32 = u32::try_from(steps).map_err(|_| KernelError::ShapeTooLarge)?;

        let name = self.vertex(VertexKind::BackwardSequence)?;
        let vertex = crate::emulator::vertex(name).expect("found in the manifest");
        let padded = self.padded(vertex);
        let zero = T::zero();
        let (prepared, scalars) = self.prepared(padded);
        let pad_all = |list: &[&[T]]| -> Vec<Vec<T>> {
            list.iter().map(|v| pad(v, n, padded, zero)).collect()
        };
        let initial = pad_all(saved.initial);
        let inputs = pad_all(saved.inputs);
        let spikes = pad(saved.spikes, n, padded, zero);
        let states = pad_all(saved.states);
        let grad_spikes = pad(grads.spikes, n, padded, zero);
        let grad_states: Vec<Vec<T>> = (0..Self::stored().len())
            .map(|j| match grads.states.get(j) {
                Some(g) if !g.is_empty() => pad(g, n, padded, no_gradient()),
                _ => vec![no_gradient(); steps * padded],
            })
            .collect();
        let mut grad_inputs = vec![vec![zero; steps * padded]; M::INPUTS.len()];
        let mut grad_initial = vec![vec![zero; padded]; M::STATES.len()];
        // nothing flows in after the last step; the sums start at -0
        let grad_final = vec![no_gradient::<T>(); padded];
        let mut accumulator = vec![no_gradient::<T>(); M::PREPARED.len() * padded];

        let mut fields = Vec::new();
        for (k, v) in initial.iter().enumerate() {
            fields.push((field(vertex, FieldRole::InitialState(k)), Buffer::input(v)));
        }
        if vertex.field_with(FieldRole::Input(0)).is_some() {
            for (k, v) in inputs.iter().enumerate() {
                fields.push((field(vertex, FieldRole::Input(k)), Buffer::input(v)));
            }
        }
        fields.push((field(vertex, FieldRole::Spikes), Buffer::input(&spikes)));
        for (v, k) in states.iter().zip(Self::stored()) {
            fields.push((field(vertex, FieldRole::State(k)), Buffer::input(v)));
        }
        fields.push((
            field(vertex, FieldRole::GradSpikes),
            Buffer::input(&grad_spikes),
        ));
        for (v, k) in grad_states.iter().zip(Self::stored()) {
            fields.push((field(vertex, FieldRole::GradState(k)), Buffer::input(v)));
        }
        for (k, v) in grad_inputs.iter_mut().enumerate() {
            fields.push((field(vertex, FieldRole::GradInput(k)), Buffer::output(v)));
        }
        for (k, v) in grad_initial.iter_mut().enumerate() {
            fields.push((
                field(vertex, FieldRole::GradInitialState(k)),
                Buffer::output(v),
            ));
        }
        for k in 0..M::STATES.len() {
            fields.push((
                field(vertex, FieldRole::GradFinalState(k)),
                Buffer::input(&grad_final),
            ));
        }
        fields.push((
            field(vertex, FieldRole::GradPrepared),
            Buffer::output(&mut accumulator),
        ));
        let mut members = Vec::new();
        self.bind_prepared(vertex, &prepared, &scalars, &mut fields, &mut members);
        for (k, c) in self.surrogate.constants.iter().enumerate() {
            members.push((
                member(vertex, MemberRole::SurrogateConstant(k)),
                T::constant(*c).member(),
            ));
        }
        members.push((
            member(vertex, MemberRole::Steps),
            MemberValue::Unsigned(steps_u32),
        ));
        members.push((
            member(vertex, MemberRole::Seed),
            MemberValue::Unsigned(self.seed),
        ));
        // the vertex covers the whole layer: its element 0 is element 0
        members.push((
            member(vertex, MemberRole::ElementOffset),
            MemberValue::Unsigned(0),
        ));
        run_vertex(name, &mut fields, &members, self.options)?;
        drop(fields);

        for (given, v) in out.inputs.iter_mut().zip(&grad_inputs) {
            if !given.is_empty() {
                unpad(v, n, padded, given);
            }
        }
        for (given, v) in out.initial.iter_mut().zip(&grad_initial) {
            if !given.is_empty() {
                unpad(v, n, padded, given);
            }
        }
        // the host's reduction, as Layer::reduce_param_grads defines it
        let mut sums = vec![zero; M::PREPARED.len() * n];
        unpad(&accumulator, n, padded, &mut sums);
        layer.reduce_param_grads(&sums, out.params)?;
        Ok(())
    }
}
/// A vertex's name and the value of each of its members, by name.
pub type VertexMembers = (&'static str, Vec<(String, MemberValue)>);
