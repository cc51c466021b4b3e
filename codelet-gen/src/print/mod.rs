//! Printers: the target-neutral [`crate::ir`] and [`crate::vertex`] data
//! spelled in a target's source language.
//!
//! What differs between targets at the level of one operation sits behind
//! the small [`Dialect`] trait: the spelling of a type, of a constant, of a
//! floating-point operation in a precision (rounded once), of a bit cast,
//! a select, a call. [`print_graph`] prints any traced program with any
//! dialect, one statement per operation in recording order. A target then
//! adds how it wraps programs into kernels; [`poplar`] is the first target
//! (Poplar vertex C++ for the IPU, and [`harness`], the host harness that
//! runs those vertices on this CPU). Another target is one more module with
//! one more `Dialect`.

pub mod harness;
pub mod poplar;

use std::fmt::Write as _;

use crate::ir::{
    Arith, BinOp, Bitwise, Callee, Compare, Float, Graph, Id, Node, Role, Ty, UnOp, Word,
};

/// How a target spells one operation.
pub trait Dialect {
    /// The spelling of a type.
    fn type_name(&self, ty: Ty) -> &'static str;
    /// A constant of type `ty` with these bits, exactly.
    fn constant(&self, ty: Ty, bits: u64) -> String;
    /// `a op b` in `precision`, rounded once to it.
    fn arith(&self, op: Arith, precision: Float, a: &str, b: &str) -> String;
    /// `-a` in `precision` (exact).
    fn negate(&self, precision: Float, a: &str) -> String;
    /// `a op b` for two values of `precision` (a mask).
    fn compare(&self, op: Compare, precision: Float, a: &str, b: &str) -> String;
    /// `a op b` on words of `width` (modulo 2^bits).
    fn bitwise(&self, op: Bitwise, width: Word, a: &str, b: &str) -> String;
    /// `a << amount` (`left`) or `a >> amount` (logical) on words of `width`.
    fn shift(&self, left: bool, amount: u32, width: Word, a: &str) -> String;
    /// `a && b` (`and`) or `a || b` on masks.
    fn logic(&self, and: bool, a: &str, b: &str) -> String;
    /// `!a` on a mask.
    fn not(&self, a: &str) -> String;
    /// The bits of `a` reinterpreted as type `to` (a float as its word, or
    /// a word as its float).
    fn bit_cast(&self, to: Ty, a: &str) -> String;
    /// `a` converted to precision `to` (exact to binary32, rounded once to
    /// binary16).
    fn convert(&self, to: Float, a: &str) -> String;
    /// `mask ? a : b`, without a branch.
    fn select(&self, mask: &str, a: &str, b: &str) -> String;
    /// A call of `callee`.
    fn call(&self, callee: Callee, args: &[String]) -> String;
    /// The declaration of the temporary `name` holding `value`.
    fn temporary(&self, ty: Ty, name: &str, value: &str) -> String;
    /// `target = value` as a statement.
    fn assign(&self, target: &str, value: &str) -> String;
    /// A comment running to the end of the line.
    fn comment(&self, text: &str) -> String;
}

/// The expression a node computes, from the spellings of its operands.
fn expression(
    d: &dyn Dialect,
    graph: &Graph,
    node: &Node,
    operand: &dyn Fn(Id) -> String,
) -> String {
    let float = |id: Id| match graph.node(id).ty() {
        Ty::Float(f) => f,
        other => panic!("a float operand, found {other:?}"),
    };
    let word = |ty: Ty| match ty {
        Ty::Word(w) => w,
        other => panic!("a word, found {other:?}"),
    };
    match node {
        Node::Input { .. } | Node::Const { .. } => unreachable!("leaves are spelled where used"),
        Node::Binary { op, a, b, ty } => {
            let (x, y) = (operand(*a), operand(*b));
            match op {
                BinOp::Arith(op) => d.arith(*op, float(*a), &x, &y),
                BinOp::Compare(op) => d.compare(*op, float(*a), &x, &y),
                BinOp::Bitwise(op) => d.bitwise(*op, word(*ty), &x, &y),
                BinOp::And => d.logic(true, &x, &y),
                BinOp::Or => d.logic(false, &x, &y),
            }
        }
        Node::Unary { op, a, ty } => {
            let x = operand(*a);
            match op {
                UnOp::Neg => d.negate(float(*a), &x),
                UnOp::Not => d.not(&x),
                UnOp::ToBits | UnOp::FromBits => d.bit_cast(*ty, &x),
                UnOp::Widen | UnOp::Narrow => match ty {
                    Ty::Float(to) => d.convert(*to, &x),
                    other => panic!("a conversion to {other:?}"),
                },
                UnOp::Detach => x,
                UnOp::Shl(k) => d.shift(true, *k, word(*ty), &x),
                UnOp::Shr(k) => d.shift(false, *k, word(*ty), &x),
            }
        }
        Node::Select { mask, a, b, .. } => d.select(&operand(*mask), &operand(*a), &operand(*b)),
        Node::Call { callee, args, .. } => {
            let args: Vec<String> = args.iter().map(|&id| operand(id)).collect();
            d.call(*callee, &args)
        }
    }
}

/// Prints a traced program: one statement per operation that `outputs`
/// need, in recording order (every operation once), then `target = value`
/// for each output. `input` spells the value bound to a role (`None`: the
/// program may not read it, a generator bug); temporaries are named
/// `{prefix}0`, `{prefix}1`, ...
pub fn print_graph(
    d: &dyn Dialect,
    graph: &Graph,
    input: &dyn Fn(Role) -> Option<String>,
    outputs: &[(Id, String)],
    prefix: &str,
    indent: &str,
) -> String {
    let ids: Vec<Id> = outputs.iter().map(|(id, _)| *id).collect();
    let live = graph.live(&ids);
    let mut names: Vec<Option<String>> = vec![None; graph.nodes().len()];
    let mut out = String::new();
    let mut count = 0;
    for (i, node) in graph.nodes().iter().enumerate() {
        if !live[i] {
            continue;
        }
        let spelled = |id: Id| -> String {
            match graph.node(id) {
                Node::Input { role, .. } => input(*role)
                    .unwrap_or_else(|| panic!("the program reads {role:?}, which is not bound")),
                Node::Const { ty, bits } => d.constant(*ty, *bits),
                _ => names[id as usize]
                    .clone()
                    .expect("operands are printed before their users"),
            }
        };
        if node.is_leaf() {
            // spelled where used (and an unbound input fails here)
            let _ = spelled(i as Id);
            continue;
        }
        let text = expression(d, graph, node, &spelled);
        let name = format!("{prefix}{count}");
        count += 1;
        let _ = write!(out, "{indent}{}", d.temporary(node.ty(), &name, &text));
        if matches!(
            node,
            Node::Unary {
                op: UnOp::Detach,
                ..
            }
        ) {
            let _ = write!(
                out,
                "  {}",
                d.comment("detached: no gradient flows back through it")
            );
        }
        out.push('\n');
        names[i] = Some(name);
    }
    for (id, target) in outputs {
        let value = match graph.node(*id) {
            Node::Input { role, .. } => input(*role)
                .unwrap_or_else(|| panic!("the program reads {role:?}, which is not bound")),
            Node::Const { ty, bits } => d.constant(*ty, *bits),
            _ => names[*id as usize]
                .clone()
                .expect("every output was printed"),
        };
        let _ = writeln!(out, "{indent}{}", d.assign(target, &value));
    }
    out
}
