//! The three vertex classes of a model configuration, as data: a single
//! forward step, the forward pass over a sequence, and the backward pass
//! through time.
//!
//! Layouts: a sequence field holds `[steps][n]` values (step `t` of element
//! `i` at `t·n + i`); `n` is the size of the first field.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::models::{ConfigurationDef, ModelDef};
use crate::ir::trace::{Rec, RecWord, Recording, F16, F32};
use crate::ir::{Callee, Float, Graph, Id, Role, Ty};
use crate::vertex::{
    Block, Dest, Direction, FieldDef, FieldRole, Index, Layout, Length, MemberDef, MemberRole,
    MemberTy, Operand, ParamMode, Stmt, TemplateArg, Var, VarId, VertexDef, VertexKind,
    WorkerSplit,
};

/// Every field is aligned to 8 bytes, as PopLibs declares the vectors it
/// reads as `float2` or `half4`.
const FIELD_ALIGNMENT: u32 = 8;

/// `-0`, where every gradient sum starts.
fn negative_zero(precision: Float) -> Operand {
    let bits = match precision {
        Float::Binary16 => 0x8000,
        Float::Binary32 => 0x8000_0000,
    };
    Operand::Const {
        ty: Ty::Float(precision),
        bits,
    }
}

/// A vertex under construction.
struct Builder<'m> {
    model: &'m ModelDef,
    def: VertexDef,
}

impl<'m> Builder<'m> {
    fn new(
        kind: VertexKind,
        model: &'m ModelDef,
        configuration: &ConfigurationDef,
        precision: Float,
        mode: ParamMode,
        doc: String,
    ) -> Self {
        let mut args = vec![
            TemplateArg::Float(precision),
            TemplateArg::Tag(configuration.variant.clone()),
            TemplateArg::Tag(mode.tag().to_string()),
        ];
        if kind == VertexKind::BackwardSequence {
            args.push(TemplateArg::Surrogate);
        }
        Builder {
            model,
            def: VertexDef {
                class: format!("{}{}", model.stem, kind.suffix()),
                args,
                kind,
                model: model.name.clone(),
                variant: configuration.variant.clone(),
                serves: configuration.serves.clone(),
                precision,
                mode,
                prepared: model.prepared.clone(),
                doc,
                fields: Vec::new(),
                members: Vec::new(),
                elements_from: 0,
                split: WorkerSplit::for_precision(precision),
                vars: Vec::new(),
                body: Vec::new(),
            },
        }
    }

    fn field(
        &mut self,
        name: String,
        role: FieldRole,
        direction: Direction,
        length: Length,
        meaning: String,
    ) -> usize {
        assert!(
            self.def.fields.iter().all(|f| f.name != name)
                && self.def.members.iter().all(|m| m.name != name),
            "{}: two fields named `{name}`",
            self.def.class
        );
        // the first field gives the element count
        let layout = if self.def.fields.is_empty() {
            Layout::Span
        } else {
            Layout::OnePtr
        };
        self.def.fields.push(FieldDef {
            name,
            role,
            direction,
            element: self.def.precision,
            layout,
            alignment: FIELD_ALIGNMENT,
            length,
            meaning,
        });
        self.def.fields.len() - 1
    }

    fn member(&mut self, name: String, ty: MemberTy, role: MemberRole, meaning: String) -> usize {
        assert!(
            self.def.fields.iter().all(|f| f.name != name)
                && self.def.members.iter().all(|m| m.name != name),
            "{}: two members named `{name}`",
            self.def.class
        );
        self.def.members.push(MemberDef {
            name,
            ty,
            role,
            meaning,
        });
        self.def.members.len() - 1
    }

    fn var(&mut self, name: String, ty: Ty, mutable: bool) -> VarId {
        self.def.vars.push(Var { name, ty, mutable });
        self.def.vars.len() - 1
    }

    fn float(&self) -> Ty {
        Ty::Float(self.def.precision)
    }

    /// A `const` local holding `value`.
    fn let_value(&mut self, out: &mut Vec<Stmt>, name: String, value: Operand) -> Operand {
        let var = self.var(name, self.float(), false);
        out.push(Stmt::Let(var, value));
        Operand::Var(var)
    }

    /// The prepared constants: members (scalar mode) or one value per
    /// element (per-neuron mode), declared here. Returns their bindings and
    /// the statements that load them before the element loop and inside it.
    fn prepared(&mut self, used: &BTreeSet<Role>) -> (Vec<(Role, Operand)>, Vec<Stmt>, Vec<Stmt>) {
        let precision = self.def.precision;
        let (mut bindings, mut before, mut inside) = (Vec::new(), Vec::new(), Vec::new());
        for (k, name) in self.model.prepared.clone().into_iter().enumerate() {
            let source = match self.def.mode {
                ParamMode::Scalar => Operand::Member(self.member(
                    name.clone(),
                    MemberTy::Float(precision),
                    MemberRole::Prepared(k),
                    format!("prepared constant `{name}`"),
                )),
                ParamMode::PerNeuron => Operand::Load {
                    field: self.field(
                        name.clone(),
                        FieldRole::Prepared(k),
                        Direction::Input,
                        Length::Elements,
                        format!("prepared constant `{name}` of each element"),
                    ),
                    index: Index::Element,
                },
            };
            if !used.contains(&Role::Prepared(k)) {
                continue;
            }
            let out = match self.def.mode {
                ParamMode::Scalar => &mut before,
                ParamMode::PerNeuron => &mut inside,
            };
            let value = self.let_value(out, format!("p_{name}"), source);
            bindings.push((Role::Prepared(k), value));
        }
        (bindings, before, inside)
    }

    /// `initial_<state>` for every state (Input, `n` values).
    fn initial_state_fields(&mut self) -> Vec<usize> {
        let states = self.model.states.clone();
        states
            .iter()
            .enumerate()
            .map(|(k, state)| {
                self.field(
                    format!("initial_{state}"),
                    FieldRole::InitialState(k),
                    Direction::Input,
                    Length::Elements,
                    format!("initial state `{state}`"),
                )
            })
            .collect()
    }

    fn finish(mut self, before: Vec<Stmt>, elements: Vec<Stmt>) -> VertexDef {
        self.def.body = before;
        self.def.body.push(Stmt::ForElements(elements));
        self.def
    }
}

/// The input roles a graph's `outputs` read.
fn used_roles(graph: &Graph, outputs: &[Id]) -> BTreeSet<Role> {
    graph
        .live(outputs)
        .iter()
        .zip(graph.nodes())
        .filter_map(|(live, node)| match node {
            crate::ir::Node::Input { role, .. } if *live => Some(*role),
            _ => None,
        })
        .collect()
}

/// A one-line description of what a vertex serves.
fn serves(
    model: &ModelDef,
    configuration: &ConfigurationDef,
    precision: Float,
    mode: ParamMode,
) -> String {
    let t = match precision {
        Float::Binary16 => "binary16",
        Float::Binary32 => "binary32",
    };
    format!(
        "{} ({}, {t}, prepared constants {})",
        model.name,
        configuration.serves.join(" / "),
        mode.tag()
    )
}

/// `...FwdStep`: one time step of every element.
pub fn forward_step(
    model: &ModelDef,
    configuration: &ConfigurationDef,
    precision: Float,
    mode: ParamMode,
) -> VertexDef {
    let step = configuration.forward(precision);
    let doc = format!(
        "One step of {}.",
        serves(model, configuration, precision, mode)
    );
    let mut b = Builder::new(
        VertexKind::ForwardStep,
        model,
        configuration,
        precision,
        mode,
        doc,
    );
    let inputs: Vec<usize> = model
        .inputs
        .iter()
        .enumerate()
        .map(|(k, input)| {
            b.field(
                input.clone(),
                FieldRole::Input(k),
                Direction::Input,
                Length::Elements,
                format!("input `{input}` at this step"),
            )
        })
        .collect();
    let prev: Vec<usize> = model
        .states
        .iter()
        .enumerate()
        .map(|(k, state)| {
            b.field(
                format!("prev_{state}"),
                FieldRole::PrevState(k),
                Direction::Input,
                Length::Elements,
                format!("state `{state}` before the step"),
            )
        })
        .collect();
    let mut outputs = Vec::new();
    for (k, state) in model.stored() {
        let field = b.field(
            state.to_string(),
            FieldRole::State(k),
            Direction::Output,
            Length::Elements,
            format!("state `{state}` after the step"),
        );
        outputs.push((
            step.next[k],
            Dest::Store {
                field,
                index: Index::Element,
            },
        ));
    }
    let spikes = b.field(
        "spikes".into(),
        FieldRole::Spikes,
        Direction::Output,
        Length::Elements,
        "spikes of the step".into(),
    );
    outputs.push((
        step.spike,
        Dest::Store {
            field: spikes,
            index: Index::Element,
        },
    ));
    let output_ids: Vec<Id> = outputs.iter().map(|(id, _)| *id).collect();
    let used = used_roles(&step.graph, &output_ids);
    let (mut bindings, before, mut elements) = b.prepared(&used);
    for (k, &field) in prev.iter().enumerate() {
        if used.contains(&Role::State(k)) {
            let name = format!("s_{}", model.states[k]);
            let value = b.let_value(
                &mut elements,
                name,
                Operand::Load {
                    field,
                    index: Index::Element,
                },
            );
            bindings.push((Role::State(k), value));
        }
    }
    for (k, &field) in inputs.iter().enumerate() {
        if used.contains(&Role::Input(k)) {
            let name = format!("in_{}", model.inputs[k]);
            let value = b.let_value(
                &mut elements,
                name,
                Operand::Load {
                    field,
                    index: Index::Element,
                },
            );
            bindings.push((Role::Input(k), value));
        }
    }
    elements.push(Stmt::Block(Block {
        graph: Arc::clone(&step.graph),
        inputs: bindings,
        outputs,
    }));
    b.finish(before, elements)
}

/// `...FwdSeq`: `steps` time steps with the states in registers, writing the
/// spikes and the state trajectories (what the backward pass reads).
pub fn forward_sequence(
    model: &ModelDef,
    configuration: &ConfigurationDef,
    precision: Float,
    mode: ParamMode,
) -> VertexDef {
    let step = configuration.forward(precision);
    let doc = format!(
        "{} over `steps` time steps: states in registers, spikes and state trajectories saved for the backward pass.",
        serves(model, configuration, precision, mode)
    );
    let mut b = Builder::new(
        VertexKind::ForwardSequence,
        model,
        configuration,
        precision,
        mode,
        doc,
    );
    let initial = b.initial_state_fields();
    let inputs: Vec<usize> = model
        .inputs
        .iter()
        .enumerate()
        .map(|(k, input)| {
            b.field(
                input.clone(),
                FieldRole::Input(k),
                Direction::Input,
                Length::StepsByElements,
                format!("input `{input}` at every step"),
            )
        })
        .collect();
    let spikes = b.field(
        "spikes".into(),
        FieldRole::Spikes,
        Direction::Output,
        Length::StepsByElements,
        "spikes of every step".into(),
    );
    let trajectories: Vec<(usize, usize)> = model
        .stored()
        .into_iter()
        .map(|(k, state)| {
            let field = b.field(
                state.to_string(),
                FieldRole::State(k),
                Direction::Output,
                Length::StepsByElements,
                format!("state `{state}` after every step"),
            );
            (k, field)
        })
        .collect();
    let mut ids: Vec<Id> = model.stored().iter().map(|&(k, _)| step.next[k]).collect();
    ids.push(step.spike);
    let used = used_roles(&step.graph, &ids);
    let (mut bindings, before, mut elements) = b.prepared(&used);
    b.member(
        "steps".into(),
        MemberTy::Unsigned,
        MemberRole::Steps,
        "time steps".into(),
    );
    // the states, in registers from one step to the next
    let mut registers = Vec::new();
    for (k, &field) in initial.iter().enumerate() {
        let var = b.var(format!("s_{}", model.states[k]), b.float(), true);
        elements.push(Stmt::Let(
            var,
            Operand::Load {
                field,
                index: Index::Element,
            },
        ));
        registers.push(var);
        bindings.push((Role::State(k), Operand::Var(var)));
    }
    let mut body = Vec::new();
    for (k, &field) in inputs.iter().enumerate() {
        if used.contains(&Role::Input(k)) {
            let name = format!("in_{}", model.inputs[k]);
            let value = b.let_value(
                &mut body,
                name,
                Operand::Load {
                    field,
                    index: Index::At,
                },
            );
            bindings.push((Role::Input(k), value));
        }
    }
    let mut outputs = Vec::new();
    for &(k, field) in &trajectories {
        outputs.push((
            step.next[k],
            Dest::Store {
                field,
                index: Index::At,
            },
        ));
        outputs.push((step.next[k], Dest::Set(registers[k])));
    }
    outputs.push((
        step.spike,
        Dest::Store {
            field: spikes,
            index: Index::At,
        },
    ));
    if let Some(k) = model.spike_state {
        outputs.push((step.spike, Dest::Set(registers[k])));
    }
    body.push(Stmt::Block(Block {
        graph: Arc::clone(&step.graph),
        inputs: bindings,
        outputs,
    }));
    elements.push(Stmt::ForSteps {
        reverse: false,
        body,
    });
    b.finish(before, elements)
}

/// The random number of the stochastic surrogate for step `t` and element
/// `element_offset + i`, as a one-call program.
fn uniform_block(precision: Float, seed: usize, element_offset: usize, noise: VarId) -> Block {
    let recording = Recording::start();
    let args = vec![
        RecWord::<F32>::input(Role::Seed).id(),
        RecWord::<F32>::input(Role::Step).id(),
        RecWord::<F32>::input(Role::Element).id(),
    ];
    let u = match precision {
        Float::Binary16 => Rec::<F16>::call(Callee::Uniform(precision), args).id(),
        Float::Binary32 => Rec::<F32>::call(Callee::Uniform(precision), args).id(),
    };
    Block {
        graph: Arc::new(recording.finish()),
        inputs: vec![
            (Role::Seed, Operand::Member(seed)),
            (Role::Step, Operand::Word(Index::Step)),
            (
                Role::Element,
                Operand::Word(Index::MemberPlusElement(element_offset)),
            ),
        ],
        outputs: vec![(u, Dest::Set(noise))],
    }
}

/// `...BwdSeq<..., S>`: the backward pass through time in one reverse
/// sweep, writing the gradients of every input step and initial state, and
/// per element the sums over time of the prepared constants' gradients (the
/// host sums them over the batch and takes them through `prepare`, as
/// `Layer::reduce_param_grads` does).
pub fn backward_sequence(
    model: &ModelDef,
    configuration: &ConfigurationDef,
    precision: Float,
    mode: ParamMode,
) -> VertexDef {
    let step = configuration.backward(precision);
    let doc = format!(
        "The backward pass of {} through time, one reverse sweep.",
        serves(model, configuration, precision, mode)
    );
    let mut b = Builder::new(
        VertexKind::BackwardSequence,
        model,
        configuration,
        precision,
        mode,
        doc,
    );
    let states = model.states.clone();
    let initial = b.initial_state_fields();
    let inputs: Vec<usize> = if configuration.reads_inputs {
        model
            .inputs
            .iter()
            .enumerate()
            .map(|(k, input)| {
                b.field(
                    input.clone(),
                    FieldRole::Input(k),
                    Direction::Input,
                    Length::StepsByElements,
                    format!("input `{input}` at every step"),
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    let spikes = b.field(
        "spikes".into(),
        FieldRole::Spikes,
        Direction::Input,
        Length::StepsByElements,
        "spikes of the forward pass".into(),
    );
    let mut trajectory = vec![spikes; states.len()];
    for (k, state) in model.stored() {
        trajectory[k] = b.field(
            state.to_string(),
            FieldRole::State(k),
            Direction::Input,
            Length::StepsByElements,
            format!("state `{state}` after every step, from the forward pass"),
        );
    }
    let grad_spikes = b.field(
        "grad_spikes".into(),
        FieldRole::GradSpikes,
        Direction::Input,
        Length::StepsByElements,
        "dL/d spikes".into(),
    );
    let mut grad_state = vec![None; states.len()];
    for (k, state) in model.stored() {
        grad_state[k] = Some(b.field(
            format!("grad_{state}"),
            FieldRole::GradState(k),
            Direction::Input,
            Length::StepsByElements,
            format!("dL/d `{state}` from losses on the state (-0 where none)"),
        ));
    }
    let grad_inputs: Vec<usize> = model
        .inputs
        .iter()
        .enumerate()
        .map(|(k, input)| {
            b.field(
                format!("grad_{input}"),
                FieldRole::GradInput(k),
                Direction::Output,
                Length::StepsByElements,
                format!("dL/d input `{input}`"),
            )
        })
        .collect();
    let grad_initial: Vec<usize> = states
        .iter()
        .enumerate()
        .map(|(k, state)| {
            b.field(
                format!("grad_initial_{state}"),
                FieldRole::GradInitialState(k),
                Direction::Output,
                Length::Elements,
                format!("dL/d initial `{state}`"),
            )
        })
        .collect();
    let rows = u32::try_from(model.prepared.len()).expect("a handful of prepared constants");
    let grad_prepared = b.field(
        "grad_prepared".into(),
        FieldRole::GradPrepared,
        Direction::Output,
        Length::RowsByElements(rows),
        "per element, dL/d each prepared constant summed over time (row k: constant k)".into(),
    );
    let mut outputs_ids: Vec<Id> = step.grad_prev.clone();
    outputs_ids.extend(&step.grad_inputs);
    outputs_ids.extend(&step.grad_sums);
    let used = used_roles(&step.graph, &outputs_ids);
    let (mut bindings, before, mut elements) = b.prepared(&used);
    let surrogate: Vec<usize> = (0..snn_kernels::surrogate::MAX_SURROGATE_CONSTANTS)
        .map(|k| {
            b.member(
                format!("surrogate{k}"),
                MemberTy::Float(precision),
                MemberRole::SurrogateConstant(k),
                format!("surrogate constant {k}"),
            )
        })
        .collect();
    b.member(
        "steps".into(),
        MemberTy::Unsigned,
        MemberRole::Steps,
        "time steps".into(),
    );
    let seed = b.member(
        "seed".into(),
        MemberTy::Unsigned,
        MemberRole::Seed,
        "seed of the stochastic surrogate's stream".into(),
    );
    let element_offset = b.member(
        "element_offset".into(),
        MemberTy::Unsigned,
        MemberRole::ElementOffset,
        "the layer-wide index of element 0 (the stochastic stream's counter)".into(),
    );
    for (k, &member) in surrogate.iter().enumerate() {
        if used.contains(&Role::SurrogateConstant(k)) {
            bindings.push((Role::SurrogateConstant(k), Operand::Member(member)));
        }
    }
    // the sums the sweep carries: gradients into the states, and of the
    // prepared constants; both start at -0
    let carries: Vec<VarId> = states
        .iter()
        .map(|state| {
            let var = b.var(format!("carry_{state}"), b.float(), true);
            elements.push(Stmt::Let(var, negative_zero(precision)));
            var
        })
        .collect();
    let sums: Vec<VarId> = model
        .prepared
        .iter()
        .map(|name| {
            let var = b.var(format!("sum_{name}"), b.float(), true);
            elements.push(Stmt::Let(var, negative_zero(precision)));
            var
        })
        .collect();
    let mut body = Vec::new();
    for (k, state) in states.iter().enumerate() {
        if used.contains(&Role::State(k)) {
            let value = Operand::FirstStepOr {
                first: Box::new(Operand::Load {
                    field: initial[k],
                    index: Index::Element,
                }),
                later: Box::new(Operand::Load {
                    field: trajectory[k],
                    index: Index::AtPreviousStep,
                }),
            };
            let value = b.let_value(&mut body, format!("prev_{state}"), value);
            bindings.push((Role::State(k), value));
        }
        if used.contains(&Role::SavedState(k)) {
            let load = Operand::Load {
                field: trajectory[k],
                index: Index::At,
            };
            let value = b.let_value(&mut body, format!("next_{state}"), load);
            bindings.push((Role::SavedState(k), value));
        }
    }
    for (k, &field) in inputs.iter().enumerate() {
        if used.contains(&Role::Input(k)) {
            let load = Operand::Load {
                field,
                index: Index::At,
            };
            let value = b.let_value(&mut body, format!("in_{}", model.inputs[k]), load);
            bindings.push((Role::Input(k), value));
        }
    }
    if used.contains(&Role::GradSpike) {
        let load = Operand::Load {
            field: grad_spikes,
            index: Index::At,
        };
        let value = b.let_value(&mut body, "grad_spike".into(), load);
        bindings.push((Role::GradSpike, value));
    }
    for (k, state) in states.iter().enumerate() {
        bindings.push((Role::Carry(k), Operand::Var(carries[k])));
        if let (Some(field), true) = (grad_state[k], used.contains(&Role::GradState(k))) {
            let load = Operand::Load {
                field,
                index: Index::At,
            };
            let value = b.let_value(&mut body, format!("loss_{state}"), load);
            bindings.push((Role::GradState(k), value));
        }
    }
    for (k, &sum) in sums.iter().enumerate() {
        bindings.push((Role::GradSum(k), Operand::Var(sum)));
    }
    if used.contains(&Role::Noise) {
        let noise = b.var("noise".into(), b.float(), true);
        body.push(Stmt::Let(
            noise,
            Operand::Const {
                ty: b.float(),
                bits: 0,
            },
        ));
        body.push(Stmt::IfStochastic(vec![Stmt::Block(uniform_block(
            precision,
            seed,
            element_offset,
            noise,
        ))]));
        bindings.push((Role::Noise, Operand::Var(noise)));
    }
    let mut outputs = Vec::new();
    for (k, &id) in step.grad_prev.iter().enumerate() {
        outputs.push((id, Dest::Set(carries[k])));
    }
    for (k, &id) in step.grad_inputs.iter().enumerate() {
        outputs.push((
            id,
            Dest::Store {
                field: grad_inputs[k],
                index: Index::At,
            },
        ));
    }
    for (k, &id) in step.grad_sums.iter().enumerate() {
        outputs.push((id, Dest::Set(sums[k])));
    }
    body.push(Stmt::Block(Block {
        graph: Arc::clone(&step.graph),
        inputs: bindings,
        outputs,
    }));
    elements.push(Stmt::ForSteps {
        reverse: true,
        body,
    });
    for (k, &var) in carries.iter().enumerate() {
        elements.push(Stmt::Store {
            field: grad_initial[k],
            index: Index::Element,
            value: Operand::Var(var),
        });
    }
    for (k, &var) in sums.iter().enumerate() {
        elements.push(Stmt::Store {
            field: grad_prepared,
            index: Index::Row(k as u32),
            value: Operand::Var(var),
        });
    }
    b.finish(before, elements)
}
