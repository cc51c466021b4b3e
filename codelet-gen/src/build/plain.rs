//! What the vertices that are not neuron models share: a builder of their
//! definitions (fields with lengths from members, members, locals, loops)
//! and the tracing of a kernel function into a [`Block`].
//!
//! Their per-element arithmetic is a function of `snn-kernels` run with the
//! recording scalar ([`traced`]); their loops (over a block's rows, a dot
//! product's terms, the classes) are the printer's, as [`Stmt::Loop`]s with
//! index expressions ([`Ix`]).

use std::sync::Arc;

use crate::ir::trace::{Rec, Recording, F32};
use crate::ir::{Float, Graph, Id, Role, Ty};
use crate::vertex::{
    Block, Dest, Direction, FieldDef, FieldRole, Index, Ix, Layout, Length, MemberDef, MemberRole,
    MemberTy, Operand, ParamMode, Stmt, TemplateArg, Var, VarId, VertexDef, VertexKind,
    WorkerSplit,
};

/// Every field is aligned to 8 bytes, as PopLibs declares the vectors it
/// reads as `float2`.
const FIELD_ALIGNMENT: u32 = 8;

/// A kernel function, traced: its program and its results.
#[derive(Clone, Debug)]
pub struct Traced {
    /// The program; input `k` is [`Role::Parameter`]`(k)`.
    pub graph: Arc<Graph>,
    /// The results, in order.
    pub results: Vec<Id>,
}

/// Traces `f` on `inputs` binary32 parameters.
pub fn traced(inputs: usize, f: impl FnOnce(&[Rec<F32>]) -> Vec<Rec<F32>>) -> Traced {
    let recording = Recording::start();
    let args: Vec<Rec<F32>> = (0..inputs)
        .map(|k| Rec::<F32>::input(Role::Parameter(k)))
        .collect();
    let results = f(&args).iter().map(|r| r.id()).collect();
    Traced {
        graph: Arc::new(recording.finish()),
        results,
    }
}

impl Traced {
    /// The block running this program on `inputs`, its results going to
    /// `outputs`.
    pub fn block(&self, inputs: Vec<Operand>, outputs: Vec<Dest>) -> Stmt {
        assert_eq!(outputs.len(), self.results.len(), "one place per result");
        Stmt::Block(Block {
            graph: Arc::clone(&self.graph),
            inputs: inputs
                .into_iter()
                .enumerate()
                .map(|(k, op)| (Role::Parameter(k), op))
                .collect(),
            outputs: self.results.iter().copied().zip(outputs).collect(),
        })
    }
}

/// A binary32 constant.
pub fn f32_const(x: f32) -> Operand {
    Operand::Const {
        ty: Ty::Float(Float::Binary32),
        bits: u64::from(x.to_bits()),
    }
}

/// Element `index` of field `field`.
pub fn load(field: usize, index: Ix) -> Operand {
    Operand::Load {
        field,
        index: Index::Expr(index),
    }
}

/// Element `index` of field `field`, as a destination.
pub fn store(field: usize, index: Ix) -> Dest {
    Dest::Store {
        field,
        index: Index::Expr(index),
    }
}

/// A vertex that is not a neuron model, under construction.
pub struct Plain {
    def: VertexDef,
}

impl Plain {
    /// A binary32 class `kind.suffix()<float>` of `family` (the manifest's
    /// `model`: `dense`, `optimiser`, `population`).
    pub fn new(kind: VertexKind, family: &str, doc: String) -> Plain {
        Plain {
            def: VertexDef {
                class: kind.suffix().to_string(),
                args: vec![TemplateArg::Float(Float::Binary32)],
                kind,
                model: family.to_string(),
                variant: String::new(),
                serves: Vec::new(),
                precision: Float::Binary32,
                mode: ParamMode::Scalar,
                prepared: Vec::new(),
                doc,
                fields: Vec::new(),
                members: Vec::new(),
                elements_from: 0,
                split: WorkerSplit::for_precision(Float::Binary32),
                vars: Vec::new(),
                body: Vec::new(),
            },
        }
    }

    fn check_name(&self, name: &str) {
        assert!(
            self.def.fields.iter().all(|f| f.name != name)
                && self.def.members.iter().all(|m| m.name != name),
            "{}: two fields or members named `{name}`",
            self.def.class
        );
    }

    /// A field (the first one gives the element count `n` and is a SPAN).
    pub fn field(
        &mut self,
        name: &str,
        role: FieldRole,
        direction: Direction,
        length: Length,
        meaning: &str,
    ) -> usize {
        self.check_name(name);
        let layout = if self.def.fields.is_empty() {
            Layout::Span
        } else {
            Layout::OnePtr
        };
        self.def.fields.push(FieldDef {
            name: name.to_string(),
            role,
            direction,
            element: Float::Binary32,
            layout,
            alignment: FIELD_ALIGNMENT,
            length,
            meaning: meaning.to_string(),
        });
        self.def.fields.len() - 1
    }

    /// A member; returns its number.
    pub fn member(&mut self, name: &str, ty: MemberTy, role: MemberRole, meaning: &str) -> usize {
        self.check_name(name);
        self.def.members.push(MemberDef {
            name: name.to_string(),
            ty,
            role,
            meaning: meaning.to_string(),
        });
        self.def.members.len() - 1
    }

    /// An unsigned member giving a size; returns it as an index.
    pub fn size(&mut self, name: &str, role: MemberRole, meaning: &str) -> Ix {
        Ix::Member(self.member(name, MemberTy::Unsigned, role, meaning))
    }

    /// A float local.
    pub fn var(&mut self, name: &str, mutable: bool) -> VarId {
        self.def.vars.push(Var {
            name: name.to_string(),
            ty: Ty::Float(Float::Binary32),
            mutable,
        });
        self.def.vars.len() - 1
    }

    /// Declares the float local `name` with its first value.
    pub fn let_var(&mut self, out: &mut Vec<Stmt>, name: &str, value: Operand) -> VarId {
        let v = self.var(name, true);
        out.push(Stmt::Let(v, value));
        v
    }

    /// The definition, with `before` ahead of the element loop over `elements`.
    pub fn finish(mut self, before: Vec<Stmt>, elements: Vec<Stmt>) -> VertexDef {
        self.def.body = before;
        self.def.body.push(Stmt::ForElements(elements));
        self.def
    }
}

/// `for (unsigned counter = from; counter < to; ++counter) body`.
pub fn for_range(counter: &str, from: Ix, to: Ix, body: Vec<Stmt>) -> Stmt {
    Stmt::Loop {
        counter: counter.to_string(),
        from,
        to,
        body,
    }
}

/// `const unsigned name = value;`
pub fn let_index(name: &str, value: Ix) -> Stmt {
    Stmt::LetIndex {
        name: name.to_string(),
        value,
    }
}
