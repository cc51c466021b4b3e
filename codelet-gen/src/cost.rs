//! What a vertex body does, counted: operations by class at each loop
//! level and the number of statements printed, for the host's cycle and
//! code-size estimates (`snn-poplar-host`'s `graph::cost` and
//! `graph::memory`). Counted from the vertex definitions (the same data
//! the printers print), never from the printed text.
//!
//! Levels: `per_worker` runs once per worker before its element loop,
//! `per_element` once per element outside the step loop, `per_step` once
//! per element and time step (the step loop's body; empty when the body
//! has no step loop). A vertex's work on a worker with `e` elements is
//! `per_worker + e · (per_element + steps · per_step)`.
//!
//! Counting rules (one printed operation, one count):
//!
//! - `+ - *` and negation in either precision: `arith`; `/`: `div`;
//! - comparisons, selects and mask logic: `compare_select`; a value that
//!   differs at the first step (`t == 0 ? a : b`) counts 2 there (the test
//!   and the select) and the loads of `b`;
//! - binary16/binary32 conversions: `convert`; word arithmetic, shifts and
//!   bit casts: `bitwise`; the detached copy: nothing;
//! - a read of a field element or of a member: one `load`; a write of a
//!   field element: one `store`; locals are registers;
//! - a call (the surrogate gradient, the random stream): one `calls`, and
//!   the callee's operations added in;
//! - statements skipped by `if constexpr` (the random draw of a
//!   non-stochastic surrogate) count nothing.
//!
//! There are no square roots, exponentials or logarithms to count: the
//! kernels compute their elementary functions from `+ - * /` and
//! comparisons (see `docs/accuracy.md`), which are counted as such.

use serde::{Deserialize, Serialize};

use crate::build::Instance;
use crate::ir::{BinOp, Callee, Function, Graph, Id, Node, UnOp};
use crate::vertex::{Block, Dest, Index, Ix, Operand, Stmt};

/// Operations by class (see the module documentation for the rules).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OpCounts {
    /// `+ - *` and negation (binary16 or binary32).
    pub arith: u32,
    /// `/`.
    pub div: u32,
    /// Function calls (the callees' operations are counted in the other
    /// classes).
    pub calls: u32,
    /// Comparisons, selects and mask logic.
    pub compare_select: u32,
    /// binary16 <-> binary32 conversions.
    pub convert: u32,
    /// Word arithmetic, shifts and bit casts.
    pub bitwise: u32,
    /// Reads of field elements and members.
    pub load: u32,
    /// Writes of field elements.
    pub store: u32,
}

impl OpCounts {
    /// The sum, class by class.
    pub fn plus(self, o: OpCounts) -> OpCounts {
        OpCounts {
            arith: self.arith.saturating_add(o.arith),
            div: self.div.saturating_add(o.div),
            calls: self.calls.saturating_add(o.calls),
            compare_select: self.compare_select.saturating_add(o.compare_select),
            convert: self.convert.saturating_add(o.convert),
            bitwise: self.bitwise.saturating_add(o.bitwise),
            load: self.load.saturating_add(o.load),
            store: self.store.saturating_add(o.store),
        }
    }

    /// Every operation, all classes together.
    pub fn total(&self) -> u32 {
        [
            self.arith,
            self.div,
            self.calls,
            self.compare_select,
            self.convert,
            self.bitwise,
            self.load,
            self.store,
        ]
        .iter()
        .fold(0u32, |a, &b| a.saturating_add(b))
    }
}

/// A vertex body's operations per loop level and its size.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BodyCost {
    /// Once per worker, outside the element loop.
    pub per_worker: OpCounts,
    /// Once per element, outside the step loop.
    pub per_element: OpCounts,
    /// Once per element and time step.
    pub per_step: OpCounts,
    /// True when the body loops over the `steps` time steps.
    pub step_loop: bool,
    /// Simple statements of `compute` as printed (declarations,
    /// assignments, stores, one per operation; loop headers and braces not
    /// counted; statements `if constexpr` drops not counted).
    pub statements: u32,
    /// Statements of the functions it calls (each function once: its
    /// operations, the result's declaration and assignment, `return`).
    pub callee_statements: u32,
    /// The unsigned member (its index among the vertex's members) that
    /// bounds an inner loop other than the step loop (the training
    /// vertices'), whose body is then counted in `per_step`: the estimate
    /// runs it that member's value times.
    #[serde(default)]
    pub loop_bound: Option<u32>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Worker,
    Element,
    Step,
}

struct Counter<'a> {
    instance: &'a Instance<'a>,
    uniform: &'a [Function],
    cost: BodyCost,
    callees: Vec<Callee>,
}

/// The operations `op` takes to read an operand.
fn operand_ops(op: &Operand) -> OpCounts {
    match op {
        Operand::Var(_) | Operand::Const { .. } => OpCounts::default(),
        Operand::Word(Index::MemberPlusElement(_)) => OpCounts {
            load: 1,
            bitwise: 1,
            ..OpCounts::default()
        },
        Operand::Word(_) => OpCounts::default(),
        Operand::Member(_) | Operand::Load { .. } => OpCounts {
            load: 1,
            ..OpCounts::default()
        },
        Operand::FirstStepOr { later, .. } => OpCounts {
            compare_select: 2,
            ..OpCounts::default()
        }
        .plus(operand_ops(later)),
    }
}

/// The class of one operation node (`None`: no operation, as the detached
/// copy and leaves).
fn node_ops(node: &Node) -> OpCounts {
    let mut c = OpCounts::default();
    match node {
        Node::Input { .. } | Node::Const { .. } => {}
        Node::Binary { op, .. } => match op {
            BinOp::Arith(crate::ir::Arith::Div) => c.div = 1,
            BinOp::Arith(_) => c.arith = 1,
            BinOp::Compare(_) | BinOp::And | BinOp::Or => c.compare_select = 1,
            BinOp::Bitwise(_) => c.bitwise = 1,
        },
        Node::Unary { op, .. } => match op {
            UnOp::Neg => c.arith = 1,
            UnOp::Not => c.compare_select = 1,
            UnOp::ToBits | UnOp::FromBits | UnOp::Shl(_) | UnOp::Shr(_) => c.bitwise = 1,
            UnOp::Widen | UnOp::Narrow => c.convert = 1,
            UnOp::Detach => {}
        },
        Node::Select { .. } => c.compare_select = 1,
        Node::Call { .. } => c.calls = 1,
    }
    c
}

/// The operations of the live nodes of `graph` for `outputs`, with the
/// callees of its calls (`callee` gives their bodies).
fn graph_ops(
    graph: &Graph,
    outputs: &[Id],
    callee: &mut dyn FnMut(Callee) -> OpCounts,
) -> (OpCounts, u32) {
    let live = graph.live(outputs);
    let mut ops = OpCounts::default();
    let mut statements = 0u32;
    for (node, live) in graph.nodes().iter().zip(live) {
        if !live || node.is_leaf() {
            continue;
        }
        statements += 1;
        ops = ops.plus(node_ops(node));
        if let Node::Call { callee: c, .. } = node {
            ops = ops.plus(callee(*c));
        }
    }
    (ops, statements)
}

impl Counter<'_> {
    fn function(&self, callee: Callee) -> Option<&Function> {
        match callee {
            Callee::Surrogate => self
                .instance
                .surrogate
                .map(|s| s.function(self.instance.def.precision)),
            Callee::Uniform(p) => self.uniform.iter().find(|f| f.callee == Callee::Uniform(p)),
        }
    }

    fn add(&mut self, level: Level, ops: OpCounts) {
        let at = match level {
            Level::Worker => &mut self.cost.per_worker,
            Level::Element => &mut self.cost.per_element,
            Level::Step => &mut self.cost.per_step,
        };
        *at = at.plus(ops);
    }

    fn block(&mut self, level: Level, block: &Block) {
        let ids: Vec<Id> = block.outputs.iter().map(|(id, _)| *id).collect();
        let mut called = Vec::new();
        let (ops, statements) = graph_ops(&block.graph, &ids, &mut |c| {
            called.push(c);
            OpCounts::default()
        });
        let mut ops = ops;
        for c in called {
            if let Some(f) = self.function(c) {
                // the callees call nothing (a call inside one counts 1)
                let (inner, inner_statements) =
                    graph_ops(&f.graph, &[f.result], &mut |_| OpCounts::default());
                ops = ops.plus(inner);
                if !self.callees.contains(&c) {
                    self.callees.push(c);
                    self.cost.callee_statements = self
                        .cost
                        .callee_statements
                        .saturating_add(inner_statements + 3);
                }
            }
        }
        // the operands bound to the inputs it reads
        let live = block.graph.live(&ids);
        for (node, live) in block.graph.nodes().iter().zip(live) {
            if let (Node::Input { role, .. }, true) = (node, live) {
                if let Some(op) = block.input(*role) {
                    ops = ops.plus(operand_ops(op));
                }
            }
        }
        let mut statements = statements;
        for (_, dest) in &block.outputs {
            match dest {
                Dest::Declare(_) => statements += 2,
                Dest::Set(_) => statements += 1,
                Dest::Store { .. } => {
                    statements += 1;
                    ops.store += 1;
                }
            }
        }
        self.cost.statements = self.cost.statements.saturating_add(statements);
        self.add(level, ops);
    }

    fn statements(&mut self, level: Level, stmts: &[Stmt]) {
        for stmt in stmts {
            match stmt {
                Stmt::Let(_, op) | Stmt::Set(_, op) => {
                    self.cost.statements += 1;
                    self.add(level, operand_ops(op));
                }
                Stmt::Store { value, .. } => {
                    self.cost.statements += 1;
                    let store = OpCounts {
                        store: 1,
                        ..OpCounts::default()
                    };
                    self.add(level, store.plus(operand_ops(value)));
                }
                Stmt::ForElements(body) => {
                    // `groups`, `first`, `end` when workers take groups
                    if self.instance.def.split.grain > 1 {
                        self.cost.statements += 3;
                    }
                    self.statements(Level::Element, body);
                }
                Stmt::ForSteps { body, .. } => {
                    self.cost.step_loop = true;
                    // `const unsigned at = t * n + i;`
                    self.cost.statements += 1;
                    self.statements(Level::Step, body);
                }
                Stmt::IfStochastic(body) => {
                    if self.instance.surrogate.is_some_and(|s| s.stochastic) {
                        self.statements(level, body);
                    }
                }
                Stmt::Block(block) => self.block(level, block),
                Stmt::LetIndex { .. } => {
                    self.cost.statements += 1;
                    let index = OpCounts {
                        arith: 1,
                        ..OpCounts::default()
                    };
                    self.add(level, index);
                }
                Stmt::Loop { to, body, .. } => {
                    self.cost.step_loop = true;
                    self.cost.statements += 1;
                    if self.cost.loop_bound.is_none() {
                        self.cost.loop_bound = first_member(to);
                    }
                    self.statements(Level::Step, body);
                }
            }
        }
    }
}

/// The first unsigned member an index expression reads.
fn first_member(ix: &Ix) -> Option<u32> {
    match ix {
        Ix::Member(m) => u32::try_from(*m).ok(),
        Ix::Add(a, b) | Ix::Mul(a, b) | Ix::Div(a, b) | Ix::Rem(a, b) => {
            first_member(a).or_else(|| first_member(b))
        }
        Ix::Element | Ix::Name(_) | Ix::Const(_) => None,
    }
}

/// The cost of `instance`'s body; `uniform` are the random stream's
/// functions ([`crate::Codelets::uniform`]).
pub fn body_cost(instance: &Instance<'_>, uniform: &[Function]) -> BodyCost {
    let mut counter = Counter {
        instance,
        uniform,
        cost: BodyCost::default(),
        callees: Vec::new(),
    };
    // `const unsigned n = first.size();` and `return true;`
    counter.cost.statements = 2;
    counter.statements(Level::Worker, &instance.def.body);
    counter.cost
}
