//! The recording scalar: running a kernel's generic code with [`Rec`] values
//! builds an expression graph instead of computing numbers.
//!
//! Every operation of the [`Real`], [`Mask`] and [`Word`] traits appends one
//! node to a thread-local [`Graph`]; a node identical to an existing one (same
//! operation, same operands) is not added again, which removes common
//! subexpressions as the graph is built. All operations are pure, so sharing
//! them changes no result.
//!
//! ```
//! use snn_codelet_gen::record::{Recording, Rec, F32};
//! let recording = Recording::start();
//! let x = Rec::<F32>::input("x");
//! let y = x * x + x * x; // one multiplication, one addition
//! let graph = recording.finish();
//! assert_eq!(graph.operation_count(&[y.id()]), 2);
//! ```

use core::marker::PhantomData;
use core::ops::{Add, BitAnd, BitOr, BitXor, Div, Mul, Neg, Shl, Shr, Sub};
use std::cell::RefCell;
use std::collections::HashMap;

use snn_kernels::surrogate::{Surrogate, SurrogateConstants};
use snn_kernels::{Format, Mask, Real, Word, F16 as NativeF16};

/// The type of a recorded value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ty {
    /// binary32 (`float`).
    F32,
    /// binary16 (`half`).
    F16,
    /// A comparison result (`bool`).
    Bool,
    /// A 32-bit word (`unsigned`).
    U32,
    /// A 16-bit word (`unsigned short`).
    U16,
}

/// A node's number in its graph.
pub type Id = u32;

/// Binary operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    /// Floating-point `+`, one rounding.
    Add,
    /// Floating-point `-`.
    Sub,
    /// Floating-point `*`.
    Mul,
    /// Floating-point `/`.
    Div,
    /// `<` (false with NaN).
    Lt,
    /// `<=`.
    Le,
    /// `>`.
    Gt,
    /// `>=`.
    Ge,
    /// `==` (`+0 == -0`, false with NaN).
    Eq,
    /// Both masks.
    And,
    /// Either mask.
    Or,
    /// Word addition modulo 2^bits.
    WordAdd,
    /// Word subtraction modulo 2^bits.
    WordSub,
    /// Word multiplication modulo 2^bits.
    WordMul,
    /// Bitwise and.
    BitAnd,
    /// Bitwise or.
    BitOr,
    /// Bitwise exclusive or.
    BitXor,
}

/// Unary operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnOp {
    /// Floating-point negation (exact).
    Neg,
    /// Mask negation.
    Not,
    /// A value's bits as a word.
    ToBits,
    /// The value with these bits.
    FromBits,
    /// binary16 to binary32 (exact).
    Widen,
    /// binary32 to binary16 (one rounding, finite overflow saturates).
    Narrow,
    /// The identity that stops gradient flow (snnTorch's detached reset).
    Detach,
    /// Shift left by a constant.
    Shl(u32),
    /// Logical shift right by a constant.
    Shr(u32),
}

/// One node of the graph.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Node {
    /// A named value from the surrounding code (a field element, a member,
    /// a state register).
    Input {
        /// Its C++ name.
        name: String,
        /// Its type.
        ty: Ty,
    },
    /// A constant, by its bits.
    Const {
        /// Its type.
        ty: Ty,
        /// Its bits (the low `bits` of the type).
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
    /// The surrogate's `dL/dz` as one call: `S::grad(z, grad, c0..c3, noise)`.
    Surrogate {
        /// The membrane minus threshold.
        z: Id,
        /// `dL/dh`.
        grad: Id,
        /// The surrogate's constants.
        constants: [Id; 4],
        /// The random number.
        noise: Id,
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
            | Node::Surrogate { ty, .. } => *ty,
        }
    }

    /// The nodes this one reads.
    pub fn operands(&self) -> Vec<Id> {
        match self {
            Node::Input { .. } | Node::Const { .. } => Vec::new(),
            Node::Unary { a, .. } => vec![*a],
            Node::Binary { a, b, .. } => vec![*a, *b],
            Node::Select { mask, a, b, .. } => vec![*mask, *a, *b],
            Node::Surrogate {
                z,
                grad,
                constants,
                noise,
                ..
            } => {
                let mut all = vec![*z, *grad];
                all.extend_from_slice(constants);
                all.push(*noise);
                all
            }
        }
    }
}

/// A recorded program: nodes in the order they were created (operands
/// always come before their users).
#[derive(Clone, Debug, Default)]
pub struct Graph {
    nodes: Vec<Node>,
    index: HashMap<Node, Id>,
}

impl Graph {
    /// Adds `node`, or returns the identical node already there.
    fn intern(&mut self, node: Node) -> Id {
        if let Some(&id) = self.index.get(&node) {
            return id;
        }
        let id = self.nodes.len() as Id;
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

    /// Which nodes `outputs` depend on (including themselves).
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
            .filter(|(live, node)| {
                **live && !matches!(node, Node::Input { .. } | Node::Const { .. })
            })
            .count()
    }
}

thread_local! {
    static GRAPH: RefCell<Option<Graph>> = const { RefCell::new(None) };
}

fn push(node: Node) -> Id {
    GRAPH.with(|g| {
        g.borrow_mut()
            .as_mut()
            .expect("a recorded value was used outside a Recording")
            .intern(node)
    })
}

/// A recording in progress on this thread; [`Recording::finish`] returns
/// the graph. Only one recording per thread at a time.
#[derive(Debug)]
pub struct Recording(());

impl Recording {
    /// Starts recording on this thread.
    ///
    /// # Panics
    /// When a recording is already in progress on this thread.
    pub fn start() -> Recording {
        GRAPH.with(|g| {
            let mut g = g.borrow_mut();
            assert!(g.is_none(), "a recording is already in progress");
            *g = Some(Graph::default());
        });
        Recording(())
    }

    /// Ends the recording.
    pub fn finish(self) -> Graph {
        let graph = GRAPH.with(|g| g.borrow_mut().take()).unwrap_or_default();
        core::mem::forget(self);
        graph
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        GRAPH.with(|g| g.borrow_mut().take());
    }
}

/// A floating-point precision the generator emits.
pub trait Precision: Copy + core::fmt::Debug + 'static {
    /// Its type.
    const TY: Ty;
    /// The type of its bits.
    const WORD: Ty;
    /// The C++ type name.
    const CPP: &'static str;
    /// The binary layout.
    const FORMAT: Format;
    /// The bits of `c` rounded to this precision (as the kernels round
    /// constants).
    fn constant_bits(c: f64) -> u64;
}

/// binary32, C++ `float`.
#[derive(Clone, Copy, Debug)]
pub struct F32;

/// binary16, C++ `half`.
#[derive(Clone, Copy, Debug)]
pub struct F16;

impl Precision for F32 {
    const TY: Ty = Ty::F32;
    const WORD: Ty = Ty::U32;
    const CPP: &'static str = "float";
    const FORMAT: Format = Format::BINARY32;
    fn constant_bits(c: f64) -> u64 {
        (<f32 as Real>::constant(c)).to_bits() as u64
    }
}

impl Precision for F16 {
    const TY: Ty = Ty::F16;
    const WORD: Ty = Ty::U16;
    const CPP: &'static str = "half";
    const FORMAT: Format = Format::BINARY16;
    fn constant_bits(c: f64) -> u64 {
        <NativeF16 as Real>::constant(c).to_bits() as u64
    }
}

/// A recorded floating-point value of precision `P`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rec<P> {
    id: Id,
    precision: PhantomData<P>,
}

/// A recorded comparison result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecMask(Id);

/// A recorded word holding the bits of a `Rec<P>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecWord<P> {
    id: Id,
    precision: PhantomData<P>,
}

impl<P> Rec<P> {
    fn new(id: Id) -> Self {
        Rec {
            id,
            precision: PhantomData,
        }
    }
    /// Its node.
    pub fn id(self) -> Id {
        self.id
    }
}

impl<P: Precision> Rec<P> {
    /// A named input of the recorded code.
    pub fn input(name: &str) -> Self {
        Rec::new(push(Node::Input {
            name: name.to_string(),
            ty: P::TY,
        }))
    }
}

impl<P> RecWord<P> {
    fn new(id: Id) -> Self {
        RecWord {
            id,
            precision: PhantomData,
        }
    }
    /// Its node.
    pub fn id(self) -> Id {
        self.id
    }
}

impl<P: Precision> RecWord<P> {
    /// A named word input of the recorded code.
    pub fn input(name: &str) -> Self {
        RecWord::new(push(Node::Input {
            name: name.to_string(),
            ty: P::WORD,
        }))
    }
}

impl RecMask {
    /// Its node.
    pub fn id(self) -> Id {
        self.0
    }
}

impl Mask for RecMask {
    fn and(self, other: Self) -> Self {
        RecMask(push(Node::Binary {
            op: BinOp::And,
            a: self.0,
            b: other.0,
            ty: Ty::Bool,
        }))
    }
    fn or(self, other: Self) -> Self {
        RecMask(push(Node::Binary {
            op: BinOp::Or,
            a: self.0,
            b: other.0,
            ty: Ty::Bool,
        }))
    }
    fn not(self) -> Self {
        RecMask(push(Node::Unary {
            op: UnOp::Not,
            a: self.0,
            ty: Ty::Bool,
        }))
    }
}

fn float_binary<P: Precision>(op: BinOp, a: Rec<P>, b: Rec<P>) -> Rec<P> {
    Rec::new(push(Node::Binary {
        op,
        a: a.id,
        b: b.id,
        ty: P::TY,
    }))
}

fn compare<P: Precision>(op: BinOp, a: Rec<P>, b: Rec<P>) -> RecMask {
    RecMask(push(Node::Binary {
        op,
        a: a.id,
        b: b.id,
        ty: Ty::Bool,
    }))
}

fn word_binary<P: Precision>(op: BinOp, a: RecWord<P>, b: RecWord<P>) -> RecWord<P> {
    RecWord::new(push(Node::Binary {
        op,
        a: a.id,
        b: b.id,
        ty: P::WORD,
    }))
}

macro_rules! float_ops {
    ($($trait:ident $method:ident $op:ident),*) => {$(
        impl<P: Precision> $trait for Rec<P> {
            type Output = Self;
            fn $method(self, other: Self) -> Self {
                float_binary(BinOp::$op, self, other)
            }
        }
    )*};
}
float_ops!(Add add Add, Sub sub Sub, Mul mul Mul, Div div Div);

impl<P: Precision> Neg for Rec<P> {
    type Output = Self;
    fn neg(self) -> Self {
        Rec::new(push(Node::Unary {
            op: UnOp::Neg,
            a: self.id,
            ty: P::TY,
        }))
    }
}

macro_rules! word_ops {
    ($($trait:ident $method:ident $op:ident),*) => {$(
        impl<P: Precision> $trait for RecWord<P> {
            type Output = Self;
            fn $method(self, other: Self) -> Self {
                word_binary(BinOp::$op, self, other)
            }
        }
    )*};
}
word_ops!(BitAnd bitand BitAnd, BitOr bitor BitOr, BitXor bitxor BitXor);

impl<P: Precision> Shl<u32> for RecWord<P> {
    type Output = Self;
    fn shl(self, amount: u32) -> Self {
        RecWord::new(push(Node::Unary {
            op: UnOp::Shl(amount),
            a: self.id,
            ty: P::WORD,
        }))
    }
}

impl<P: Precision> Shr<u32> for RecWord<P> {
    type Output = Self;
    fn shr(self, amount: u32) -> Self {
        RecWord::new(push(Node::Unary {
            op: UnOp::Shr(amount),
            a: self.id,
            ty: P::WORD,
        }))
    }
}

impl<P: Precision> Word for RecWord<P> {
    fn lit(value: u64) -> Self {
        let bits = P::FORMAT.bits;
        let mask = if bits == 64 {
            u64::MAX
        } else {
            (1u64 << bits) - 1
        };
        RecWord::new(push(Node::Const {
            ty: P::WORD,
            bits: value & mask,
        }))
    }
    fn wrapping_add(self, other: Self) -> Self {
        word_binary(BinOp::WordAdd, self, other)
    }
    fn wrapping_sub(self, other: Self) -> Self {
        word_binary(BinOp::WordSub, self, other)
    }
    fn wrapping_mul(self, other: Self) -> Self {
        word_binary(BinOp::WordMul, self, other)
    }
}

macro_rules! impl_real_for_rec {
    ($p:ty) => {
        impl Real for Rec<$p> {
            type Mask = RecMask;
            type Bits = RecWord<$p>;
            type Wide = Rec<F32>;
            const FORMAT: Format = <$p as Precision>::FORMAT;

            fn constant(c: f64) -> Self {
                Rec::new(push(Node::Const {
                    ty: <$p as Precision>::TY,
                    bits: <$p as Precision>::constant_bits(c),
                }))
            }
            fn lt(self, other: Self) -> RecMask {
                compare(BinOp::Lt, self, other)
            }
            fn le(self, other: Self) -> RecMask {
                compare(BinOp::Le, self, other)
            }
            fn gt(self, other: Self) -> RecMask {
                compare(BinOp::Gt, self, other)
            }
            fn ge(self, other: Self) -> RecMask {
                compare(BinOp::Ge, self, other)
            }
            fn eq(self, other: Self) -> RecMask {
                compare(BinOp::Eq, self, other)
            }
            fn select(mask: RecMask, a: Self, b: Self) -> Self {
                Rec::new(push(Node::Select {
                    mask: mask.0,
                    a: a.id,
                    b: b.id,
                    ty: <$p as Precision>::TY,
                }))
            }
            fn to_bits(self) -> RecWord<$p> {
                RecWord::new(push(Node::Unary {
                    op: UnOp::ToBits,
                    a: self.id,
                    ty: <$p as Precision>::WORD,
                }))
            }
            fn from_bits(bits: RecWord<$p>) -> Self {
                Rec::new(push(Node::Unary {
                    op: UnOp::FromBits,
                    a: bits.id,
                    ty: <$p as Precision>::TY,
                }))
            }
            fn widen(self) -> Rec<F32> {
                if <$p as Precision>::TY == Ty::F32 {
                    return Rec::new(self.id);
                }
                Rec::new(push(Node::Unary {
                    op: UnOp::Widen,
                    a: self.id,
                    ty: Ty::F32,
                }))
            }
            fn narrow(wide: Rec<F32>) -> Self {
                if <$p as Precision>::TY == Ty::F32 {
                    return Rec::new(wide.id);
                }
                Rec::new(push(Node::Unary {
                    op: UnOp::Narrow,
                    a: wide.id,
                    ty: <$p as Precision>::TY,
                }))
            }
            fn detach(self) -> Self {
                Rec::new(push(Node::Unary {
                    op: UnOp::Detach,
                    a: self.id,
                    ty: <$p as Precision>::TY,
                }))
            }
            fn surrogate_grad<S: Surrogate>(
                z: Self,
                grad: Self,
                constants: &SurrogateConstants<Self>,
                noise: Self,
            ) -> Self {
                Rec::new(push(Node::Surrogate {
                    z: z.id,
                    grad: grad.id,
                    constants: [
                        constants[0].id,
                        constants[1].id,
                        constants[2].id,
                        constants[3].id,
                    ],
                    noise: noise.id,
                    ty: <$p as Precision>::TY,
                }))
            }
        }
    };
}

impl_real_for_rec!(F32);
impl_real_for_rec!(F16);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_operations_are_recorded_once() {
        let recording = Recording::start();
        let x = Rec::<F32>::input("x");
        let y = Rec::<F32>::input("y");
        let a = x * y;
        let b = x * y;
        assert_eq!(a.id(), b.id());
        let c = y * x; // not commuted: a different node
        assert_ne!(a.id(), c.id());
        let graph = recording.finish();
        assert_eq!(graph.nodes().len(), 4);
    }

    #[test]
    fn constants_are_rounded_to_the_precision() {
        let recording = Recording::start();
        let c = Rec::<F16>::constant(0.1);
        let graph = recording.finish();
        assert_eq!(
            graph.node(c.id()),
            &Node::Const {
                ty: Ty::F16,
                bits: 0x2e66
            },
            "0.1 in binary16 is 0x2e66"
        );
    }
}
