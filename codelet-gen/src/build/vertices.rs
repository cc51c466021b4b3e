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

/// What a vertex class is built for.
#[derive(Clone, Copy, Debug)]
pub struct Target<'a> {
    /// The model.
    pub model: &'a ModelDef,
    /// Its configuration.
    pub configuration: &'a ConfigurationDef,
    /// The element type.
    pub precision: Float,
    /// How the prepared constants arrive.
    pub mode: ParamMode,
}

impl Target<'_> {
    /// A one-line description of what the vertex serves.
    fn describe(&self) -> String {
        let t = match self.precision {
            Float::Binary16 => "binary16",
            Float::Binary32 => "binary32",
        };
        format!(
            "{} ({}, {t}, prepared constants {})",
            self.model.name,
            self.configuration.serves.join(" / "),
            self.mode.tag()
        )
    }

    /// The lists a builder numbers its fields by: inputs, states, stored
    /// states.
    fn names(&self) -> [Vec<(usize, String)>; 3] {
        [
            numbered(&self.model.inputs),
            numbered(&self.model.states),
            self.model.stored(),
        ]
    }
}

/// A vertex under construction.
struct Builder<'m> {
    model: &'m ModelDef,
    def: VertexDef,
}

impl<'m> Builder<'m> {
    fn new(kind: VertexKind, target: Target<'m>, doc: String) -> Self {
        let Target {
            model,
            configuration,
            precision,
            mode,
        } = target;
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

    /// One field per `(k, name)` of `names`: called `call(name)`, with role
    /// `role(k)`, described by `meaning(name)`.
    #[allow(clippy::too_many_arguments)]
    fn fields(
        &mut self,
        names: &[(usize, String)],
        call: impl Fn(&str) -> String,
        role: fn(usize) -> FieldRole,
        direction: Direction,
        length: Length,
        meaning: impl Fn(&str) -> String,
    ) -> Vec<usize> {
        names
            .iter()
            .map(|(k, name)| self.field(call(name), role(*k), direction, length, meaning(name)))
            .collect()
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

    /// For every field `fields[j]` whose role `role(k)` the program reads
    /// (`k` the `j`-th of `numbers`), a local `{prefix}{name}` loaded from
    /// element `index`, bound to the role.
    #[allow(clippy::too_many_arguments)]
    fn load_used(
        &mut self,
        out: &mut Vec<Stmt>,
        bindings: &mut Vec<(Role, Operand)>,
        used: &BTreeSet<Role>,
        numbers: &[(usize, String)],
        fields: &[usize],
        role: fn(usize) -> Role,
        prefix: &str,
        index: Index,
    ) {
        for (&(k, ref name), &field) in numbers.iter().zip(fields) {
            if used.contains(&role(k)) {
                let load = Operand::Load {
                    field,
                    index: index.clone(),
                };
                let value = self.let_value(out, format!("{prefix}{name}"), load);
                bindings.push((role(k), value));
            }
        }
    }

    /// A mutable local per name, starting at `init(field k)`.
    fn registers(
        &mut self,
        out: &mut Vec<Stmt>,
        names: &[String],
        prefix: &str,
        init: impl Fn(usize) -> Operand,
    ) -> Vec<VarId> {
        names
            .iter()
            .enumerate()
            .map(|(k, name)| {
                let var = self.var(format!("{prefix}{name}"), self.float(), true);
                out.push(Stmt::Let(var, init(k)));
                var
            })
            .collect()
    }

    /// `initial_<state>` for every state (Input, `n` values).
    fn initial_state_fields(&mut self) -> Vec<usize> {
        self.fields(
            &numbered(&self.model.states),
            |s| format!("initial_{s}"),
            FieldRole::InitialState,
            Direction::Input,
            Length::Elements,
            |s| format!("initial state `{s}`"),
        )
    }

    fn finish(mut self, before: Vec<Stmt>, elements: Vec<Stmt>) -> VertexDef {
        self.def.body = before;
        self.def.body.push(Stmt::ForElements(elements));
        self.def
    }
}

/// `names` with their positions.
fn numbered(names: &[String]) -> Vec<(usize, String)> {
    names.iter().cloned().enumerate().collect()
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

/// Where a block output goes: element `index` of `field`.
fn store(field: usize, index: Index) -> Dest {
    Dest::Store { field, index }
}

/// `...FwdStep`: one time step of every element.
pub fn forward_step(target: Target<'_>) -> VertexDef {
    let step = target.configuration.forward(target.precision);
    let doc = format!("One step of {}.", target.describe());
    let kind = VertexKind::ForwardStep;
    let mut b = Builder::new(kind, target, doc);
    let [inputs, states, stored] = target.names();
    let input_fields = b.fields(
        &inputs,
        str::to_string,
        FieldRole::Input,
        Direction::Input,
        Length::Elements,
        |x| format!("input `{x}` at this step"),
    );
    let prev = b.fields(
        &states,
        |s| format!("prev_{s}"),
        FieldRole::PrevState,
        Direction::Input,
        Length::Elements,
        |s| format!("state `{s}` before the step"),
    );
    let next = b.fields(
        &stored,
        str::to_string,
        FieldRole::State,
        Direction::Output,
        Length::Elements,
        |s| format!("state `{s}` after the step"),
    );
    let spikes = b.field(
        "spikes".into(),
        FieldRole::Spikes,
        Direction::Output,
        Length::Elements,
        "spikes of the step".into(),
    );
    let mut outputs: Vec<(Id, Dest)> = stored
        .iter()
        .zip(&next)
        .map(|(&(k, _), &field)| (step.next[k], store(field, Index::Element)))
        .collect();
    outputs.push((step.spike, store(spikes, Index::Element)));
    let ids: Vec<Id> = outputs.iter().map(|(id, _)| *id).collect();
    let used = used_roles(&step.graph, &ids);
    let (mut bindings, before, mut elements) = b.prepared(&used);
    let at = Index::Element;
    b.load_used(
        &mut elements,
        &mut bindings,
        &used,
        &states,
        &prev,
        Role::State,
        "s_",
        at.clone(),
    );
    b.load_used(
        &mut elements,
        &mut bindings,
        &used,
        &inputs,
        &input_fields,
        Role::Input,
        "in_",
        at,
    );
    elements.push(Stmt::Block(Block {
        graph: Arc::clone(&step.graph),
        inputs: bindings,
        outputs,
    }));
    b.finish(before, elements)
}

/// `...FwdSeq`: `steps` time steps with the states in registers, writing the
/// spikes and the state trajectories (what the backward pass reads).
pub fn forward_sequence(target: Target<'_>) -> VertexDef {
    let Target {
        model,
        configuration,
        precision,
        ..
    } = target;
    let step = configuration.forward(precision);
    let doc = format!(
        "{} over `steps` time steps: states in registers, spikes and state trajectories saved for the backward pass.",
        target.describe()
    );
    let kind = VertexKind::ForwardSequence;
    let mut b = Builder::new(kind, target, doc);
    let [inputs, _, stored] = target.names();
    let initial = b.initial_state_fields();
    let input_fields = b.fields(
        &inputs,
        str::to_string,
        FieldRole::Input,
        Direction::Input,
        Length::StepsByElements,
        |x| format!("input `{x}` at every step"),
    );
    let spikes = b.field(
        "spikes".into(),
        FieldRole::Spikes,
        Direction::Output,
        Length::StepsByElements,
        "spikes of every step".into(),
    );
    let trajectories = b.fields(
        &stored,
        str::to_string,
        FieldRole::State,
        Direction::Output,
        Length::StepsByElements,
        |s| format!("state `{s}` after every step"),
    );
    let mut ids: Vec<Id> = stored.iter().map(|&(k, _)| step.next[k]).collect();
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
    let registers = b.registers(&mut elements, &model.states, "s_", |k| Operand::Load {
        field: initial[k],
        index: Index::Element,
    });
    for (k, &var) in registers.iter().enumerate() {
        bindings.push((Role::State(k), Operand::Var(var)));
    }
    let mut body = Vec::new();
    b.load_used(
        &mut body,
        &mut bindings,
        &used,
        &inputs,
        &input_fields,
        Role::Input,
        "in_",
        Index::At,
    );
    let mut outputs = Vec::new();
    for (&(k, _), &field) in stored.iter().zip(&trajectories) {
        outputs.push((step.next[k], store(field, Index::At)));
        outputs.push((step.next[k], Dest::Set(registers[k])));
    }
    outputs.push((step.spike, store(spikes, Index::At)));
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

/// The members of a backward vertex after the prepared constants: the
/// surrogate's constants, `steps`, the random stream's `seed` and
/// `element_offset`. Returns the surrogate constants, `seed` and
/// `element_offset`.
fn backward_members(b: &mut Builder<'_>) -> (Vec<usize>, usize, usize) {
    let precision = b.def.precision;
    let surrogate = (0..snn_kernels::surrogate::MAX_SURROGATE_CONSTANTS)
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
    (surrogate, seed, element_offset)
}

/// `...BwdSeq<..., S>`: the backward pass through time in one reverse
/// sweep, writing the gradients of every input step and initial state, and
/// per element the sums over time of the prepared constants' gradients (the
/// host sums them over the batch and takes them through `prepare`, as
/// `Layer::reduce_param_grads` does).
pub fn backward_sequence(target: Target<'_>) -> VertexDef {
    let Target {
        model,
        configuration,
        precision,
        ..
    } = target;
    let step = configuration.backward(precision);
    let doc = format!(
        "The backward pass of {} through time, one reverse sweep.",
        target.describe()
    );
    let kind = VertexKind::BackwardSequence;
    let mut b = Builder::new(kind, target, doc);
    let [inputs, states, stored] = target.names();
    let initial = b.initial_state_fields();
    let input_fields = if configuration.reads_inputs {
        b.fields(
            &inputs,
            str::to_string,
            FieldRole::Input,
            Direction::Input,
            Length::StepsByElements,
            |x| format!("input `{x}` at every step"),
        )
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
    let saved = b.fields(
        &stored,
        str::to_string,
        FieldRole::State,
        Direction::Input,
        Length::StepsByElements,
        |s| format!("state `{s}` after every step, from the forward pass"),
    );
    // each state's trajectory: its saved field, or the spikes for the spike state
    let mut trajectory = vec![spikes; states.len()];
    for (&(k, _), &field) in stored.iter().zip(&saved) {
        trajectory[k] = field;
    }
    let grad_spikes = b.field(
        "grad_spikes".into(),
        FieldRole::GradSpikes,
        Direction::Input,
        Length::StepsByElements,
        "dL/d spikes".into(),
    );
    let losses = b.fields(
        &stored,
        |s| format!("grad_{s}"),
        FieldRole::GradState,
        Direction::Input,
        Length::StepsByElements,
        |s| format!("dL/d `{s}` from losses on the state (-0 where none)"),
    );
    let grad_inputs = b.fields(
        &inputs,
        |x| format!("grad_{x}"),
        FieldRole::GradInput,
        Direction::Output,
        Length::StepsByElements,
        |x| format!("dL/d input `{x}`"),
    );
    let grad_initial = b.fields(
        &states,
        |s| format!("grad_initial_{s}"),
        FieldRole::GradInitialState,
        Direction::Output,
        Length::Elements,
        |s| format!("dL/d initial `{s}`"),
    );
    // the gradients flowing into the states after the last step: -0 for a
    // whole sequence, the next chunk's `grad_initial_*` for a time chunk
    let grad_final = b.fields(
        &states,
        |s| format!("grad_final_{s}"),
        FieldRole::GradFinalState,
        Direction::Input,
        Length::Elements,
        |s| format!("dL/d `{s}` after the last step, from later steps (-0 where none)"),
    );
    let rows = u32::try_from(model.prepared.len()).expect("a handful of prepared constants");
    let grad_prepared = b.field(
        "grad_prepared".into(),
        FieldRole::GradPrepared,
        Direction::InOut,
        Length::RowsByElements(rows),
        "per element, dL/d each prepared constant summed over time (row k: constant k), \
         added to what it holds (-0 to start)"
            .into(),
    );
    let mut ids: Vec<Id> = step.grad_prev.clone();
    ids.extend(&step.grad_inputs);
    ids.extend(&step.grad_sums);
    let used = used_roles(&step.graph, &ids);
    let (mut bindings, before, mut elements) = b.prepared(&used);
    let (surrogate, seed, element_offset) = backward_members(&mut b);
    for (k, &member) in surrogate.iter().enumerate() {
        bindings.push((Role::SurrogateConstant(k), Operand::Member(member)));
    }
    // the sums the sweep carries (gradients into the states, and of the
    // prepared constants), continuing what the fields hold: a sequence split
    // in time chunks sums exactly as the whole sequence does
    let carries = b.registers(&mut elements, &model.states, "carry_", |k| Operand::Load {
        field: grad_final[k],
        index: Index::Element,
    });
    let sums = b.registers(&mut elements, &model.prepared, "sum_", |k| Operand::Load {
        field: grad_prepared,
        index: Index::Row(k as u32),
    });
    bindings.extend(
        carries
            .iter()
            .enumerate()
            .map(|(k, &v)| (Role::Carry(k), Operand::Var(v))),
    );
    bindings.extend(
        sums.iter()
            .enumerate()
            .map(|(k, &v)| (Role::GradSum(k), Operand::Var(v))),
    );

    let mut body = Vec::new();
    for &(k, ref state) in &states {
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
    }
    let at = Index::At;
    b.load_used(
        &mut body,
        &mut bindings,
        &used,
        &states,
        &trajectory,
        Role::SavedState,
        "next_",
        at.clone(),
    );
    b.load_used(
        &mut body,
        &mut bindings,
        &used,
        &inputs,
        &input_fields,
        Role::Input,
        "in_",
        at.clone(),
    );
    let spike = [(0, "spike".to_string())];
    b.load_used(
        &mut body,
        &mut bindings,
        &used,
        &spike,
        &[grad_spikes],
        |_| Role::GradSpike,
        "grad_",
        at.clone(),
    );
    b.load_used(
        &mut body,
        &mut bindings,
        &used,
        &stored,
        &losses,
        Role::GradState,
        "loss_",
        at,
    );
    if used.contains(&Role::Noise) {
        let noise = b.var("noise".into(), b.float(), true);
        let zero = Operand::Const {
            ty: b.float(),
            bits: 0,
        };
        body.push(Stmt::Let(noise, zero));
        let draw = uniform_block(precision, seed, element_offset, noise);
        body.push(Stmt::IfStochastic(vec![Stmt::Block(draw)]));
        bindings.push((Role::Noise, Operand::Var(noise)));
    }
    let mut outputs: Vec<(Id, Dest)> = Vec::new();
    outputs.extend(
        step.grad_prev
            .iter()
            .zip(&carries)
            .map(|(&id, &v)| (id, Dest::Set(v))),
    );
    outputs.extend(
        step.grad_inputs
            .iter()
            .zip(&grad_inputs)
            .map(|(&id, &field)| (id, store(field, Index::At))),
    );
    outputs.extend(
        step.grad_sums
            .iter()
            .zip(&sums)
            .map(|(&id, &v)| (id, Dest::Set(v))),
    );
    body.push(Stmt::Block(Block {
        graph: Arc::clone(&step.graph),
        inputs: bindings,
        outputs,
    }));
    elements.push(Stmt::ForSteps {
        reverse: true,
        body,
    });
    for (&var, &field) in carries.iter().zip(&grad_initial) {
        elements.push(Stmt::Store {
            field,
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
