//! The target-neutral intermediate representation: what a traced kernel
//! is, with no word of C++ in it.
//!
//! - [`Graph`]: a straight-line program recorded by running the kernels'
//!   generic Rust with the recording scalar of [`trace`]. Its inputs are
//!   named by [`Role`] (prepared constant `k`, state `k`, input stream `k`,
//!   ...), its types by [`Ty`] (binary16/binary32, a 16- or 32-bit word, a
//!   mask). Identical nodes are shared, so common subexpressions are
//!   computed once.
//! - [`Function`]: a named graph with parameters (a surrogate gradient, the
//!   random stream), called from other graphs through [`Node::Call`].
//!
//! A printer ([`crate::print`]) spells a graph in a target language; the
//! vertex definitions of [`crate::vertex`] place graphs inside loops.

pub mod trace;

use std::collections::HashMap;

/// A binary floating-point format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Float {
    /// IEEE binary16.
    Binary16,
    /// IEEE binary32.
    Binary32,
}

impl Float {
    /// Both formats, narrow first.
    pub const ALL: [Float; 2] = [Float::Binary16, Float::Binary32];

    /// The word that holds a value's bits.
    pub const fn word(self) -> Word {
        match self {
            Float::Binary16 => Word::Bits16,
            Float::Binary32 => Word::Bits32,
        }
    }

    /// Width in bytes.
    pub const fn bytes(self) -> u32 {
        match self {
            Float::Binary16 => 2,
            Float::Binary32 => 4,
        }
    }
}

/// The width of an unsigned machine word (wrapping arithmetic).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Word {
    /// 16 bits (the bits of a binary16).
    Bits16,
    /// 32 bits (the bits of a binary32, the random stream's counters).
    Bits32,
}

impl Word {
    /// Width in bits.
    pub const fn bits(self) -> u32 {
        match self {
            Word::Bits16 => 16,
            Word::Bits32 => 32,
        }
    }
}

/// The type of a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ty {
    /// A floating-point value.
    Float(Float),
    /// An unsigned word.
    Word(Word),
    /// The result of a comparison.
    Mask,
}

/// What an input of a traced graph stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Prepared constant `k` of the model (`Model::PREPARED[k]`).
    Prepared(usize),
    /// State `k` before the step (`Model::STATES[k]`).
    State(usize),
    /// State `k` after the step, as the forward pass saved it.
    SavedState(usize),
    /// Input stream `k` at the step (`Model::INPUTS[k]`).
    Input(usize),
    /// `dL/d spk` at the step.
    GradSpike,
    /// The gradient flowing back into state `k` from the later steps.
    Carry(usize),
    /// `dL/d state k` from losses on the states at the step (`-0` where none).
    GradState(usize),
    /// The running sum over time of `dL/d prepared constant k`.
    GradSum(usize),
    /// Surrogate constant `k`.
    SurrogateConstant(usize),
    /// The stochastic surrogate's random number in `[0, 1)`.
    Noise,
    /// The random stream's seed counter.
    Seed,
    /// The random stream's time-step counter.
    Step,
    /// The random stream's element counter.
    Element,
    /// Parameter `k` of a [`Function`].
    Parameter(usize),
}

/// A node's number in its graph.
pub type Id = u32;

/// Floating-point arithmetic, one rounding per operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Arith {
    /// `a + b`.
    Add,
    /// `a - b`.
    Sub,
    /// `a * b`.
    Mul,
    /// `a / b`.
    Div,
}

/// Comparisons of two floats (false when either is NaN; `+0 == -0`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Compare {
    /// `<`.
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `==`.
    Eq,
}

/// Operations on words (modulo 2^bits) and masks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bitwise {
    /// Word addition.
    Add,
    /// Word subtraction.
    Sub,
    /// Word multiplication.
    Mul,
    /// Bitwise and.
    And,
    /// Bitwise or.
    Or,
    /// Bitwise exclusive or.
    Xor,
}

/// Binary operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    /// Floating-point arithmetic.
    Arith(Arith),
    /// A comparison (the result is a mask).
    Compare(Compare),
    /// Word arithmetic and bitwise operations.
    Bitwise(Bitwise),
    /// Both masks hold.
    And,
    /// Either mask holds.
    Or,
}

/// Unary operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnOp {
    /// Floating-point negation (exact).
    Neg,
    /// Mask negation.
    Not,
    /// A float's bits as a word.
    ToBits,
    /// The float with these bits.
    FromBits,
    /// binary16 to binary32 (exact).
    Widen,
    /// binary32 to binary16 (one rounding; finite overflow saturates).
    Narrow,
    /// The identity that stops gradient flow (the detached reset signal).
    Detach,
    /// Shift left by a constant.
    Shl(u32),
    /// Logical shift right by a constant.
    Shr(u32),
}

/// The function a [`Node::Call`] calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Callee {
    /// The surrogate gradient the vertex is instantiated with, in the
    /// call's precision: `(z, dL/dh, c0, c1, c2, c3, noise) -> dL/dz`.
    Surrogate,
    /// The counter-based random stream in a precision:
    /// `(seed, step, element) -> u` in `[0, 1)`.
    Uniform(Float),
}

/// One node of a graph.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Node {
    /// A value from the surrounding code.
    Input {
        /// What it stands for.
        role: Role,
        /// Its type.
        ty: Ty,
    },
    /// A constant, by its bits (the low bits of the type's width).
    Const {
        /// Its type.
        ty: Ty,
        /// Its bits.
        bits: u64,
    },
    /// `op a`.
    Unary {
        /// The operation.
        op: UnOp,
        /// The operand.
        a: Id,
        /// The result type.
        ty: Ty,
    },
    /// `a op b`.
    Binary {
        /// The operation.
        op: BinOp,
        /// Left operand.
        a: Id,
        /// Right operand.
        b: Id,
        /// The result type.
        ty: Ty,
    },
    /// `mask ? a : b`.
    Select {
        /// The condition.
        mask: Id,
        /// Taken when the mask holds.
        a: Id,
        /// Taken otherwise.
        b: Id,
        /// The result type.
        ty: Ty,
    },
    /// A call of a function.
    Call {
        /// What is called.
        callee: Callee,
        /// The arguments.
        args: Vec<Id>,
        /// The result type.
        ty: Ty,
    },
}

impl Node {
    /// The node's type.
    pub fn ty(&self) -> Ty {
        match self {
            Node::Input { ty, .. }
            | Node::Const { ty, .. }
            | Node::Unary { ty, .. }
            | Node::Binary { ty, .. }
            | Node::Select { ty, .. }
            | Node::Call { ty, .. } => *ty,
        }
    }

    /// The nodes this one reads.
    pub fn operands(&self) -> Vec<Id> {
        match self {
            Node::Input { .. } | Node::Const { .. } => Vec::new(),
            Node::Unary { a, .. } => vec![*a],
            Node::Binary { a, b, .. } => vec![*a, *b],
            Node::Select { mask, a, b, .. } => vec![*mask, *a, *b],
            Node::Call { args, .. } => args.clone(),
        }
    }

    /// True for inputs and constants (values, not operations).
    pub fn is_leaf(&self) -> bool {
        matches!(self, Node::Input { .. } | Node::Const { .. })
    }
}

/// A recorded program: nodes in the order they were created (operands
/// always come before their users), identical nodes stored once.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    nodes: Vec<Node>,
    index: HashMap<Node, Id>,
}

impl PartialEq for Graph {
    fn eq(&self, other: &Self) -> bool {
        self.nodes == other.nodes
    }
}

impl Eq for Graph {}

impl Graph {
    /// Adds `node`, or returns the identical node already there.
    pub(crate) fn intern(&mut self, node: Node) -> Id {
        if let Some(&id) = self.index.get(&node) {
            return id;
        }
        let id = Id::try_from(self.nodes.len()).expect("fewer than 2^32 nodes");
        self.index.insert(node.clone(), id);
        self.nodes.push(node);
        id
    }

    /// The node with this number.
    pub fn node(&self, id: Id) -> &Node {
        &self.nodes[id as usize]
    }

    /// Every node.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Which nodes `outputs` depend on (themselves included).
    pub fn live(&self, outputs: &[Id]) -> Vec<bool> {
        let mut live = vec![false; self.nodes.len()];
        let mut stack: Vec<Id> = outputs.to_vec();
        while let Some(id) = stack.pop() {
            if !live[id as usize] {
                live[id as usize] = true;
                stack.extend(self.nodes[id as usize].operands());
            }
        }
        live
    }

    /// The number of operations (not inputs or constants) `outputs` need.
    pub fn operation_count(&self, outputs: &[Id]) -> usize {
        self.live(outputs)
            .iter()
            .zip(&self.nodes)
            .filter(|(live, node)| **live && !node.is_leaf())
            .count()
    }
}

/// A named graph with parameters: a surrogate gradient or the random
/// stream, printed once and called from vertex bodies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Function {
    /// What it computes, in the precision of its parameters.
    pub callee: Callee,
    /// Parameter names, in order (inputs [`Role::Parameter`]`(k)` of the body).
    pub parameters: Vec<(String, Ty)>,
    /// The body.
    pub graph: Graph,
    /// The node whose value is returned.
    pub result: Id,
}

impl Function {
    /// The result type.
    pub fn result_ty(&self) -> Ty {
        self.graph.node(self.result).ty()
    }
}
