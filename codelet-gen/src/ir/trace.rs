//! The recording scalar: running a kernel's generic code with [`Rec`] values
//! builds a [`Graph`] instead of computing numbers.
//!
//! Every operation of the kernels' [`Real`], [`Mask`] and [`Word`] traits
//! appends one node to a thread-local graph; a node identical to an existing
//! one (same operation, same operands) is not added again, which removes
//! common subexpressions as the graph is built. All operations are pure, so
//! sharing them changes no result.
//!
//! ```
//! use snn_codelet_gen::ir::trace::{Recording, Rec, F32};
//! use snn_codelet_gen::ir::Role;
//! let recording = Recording::start();
//! let x = Rec::<F32>::input(Role::Input(0));
//! let y = x * x + x * x; // one multiplication, one addition
//! let graph = recording.finish();
//! assert_eq!(graph.operation_count(&[y.id()]), 2);
//! ```

use core::marker::PhantomData;
use core::ops::{Add, BitAnd, BitOr, BitXor, Div, Mul, Neg, Shl, Shr, Sub};
use std::cell::RefCell;

use snn_kernels::surrogate::{Surrogate, SurrogateConstants};
use snn_kernels::{Format, Mask, Real, Word, F16 as NativeF16};

use super::{Arith, BinOp, Bitwise, Callee, Compare, Float, Graph, Id, Node, Role, Ty, UnOp};

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

/// A floating-point precision the generator records.
pub trait Precision: Copy + core::fmt::Debug + 'static {
    /// Its format.
    const FLOAT: Float;
    /// The binary layout.
    const FORMAT: Format;
    /// The bits of `c` rounded to this precision (as the kernels round
    /// constants).
    fn constant_bits(c: f64) -> u64;
}

/// binary32.
#[derive(Clone, Copy, Debug)]
pub struct F32;

/// binary16.
#[derive(Clone, Copy, Debug)]
pub struct F16;

impl Precision for F32 {
    const FLOAT: Float = Float::Binary32;
    const FORMAT: Format = Format::BINARY32;
    fn constant_bits(c: f64) -> u64 {
        u64::from(<f32 as Real>::constant(c).to_bits())
    }
}

impl Precision for F16 {
    const FLOAT: Float = Float::Binary16;
    const FORMAT: Format = Format::BINARY16;
    fn constant_bits(c: f64) -> u64 {
        u64::from(<NativeF16 as Real>::constant(c).to_bits())
    }
}

/// The type of a recorded float of precision `P`.
fn float_ty<P: Precision>() -> Ty {
    Ty::Float(P::FLOAT)
}

/// The type of a recorded word holding the bits of a `P`.
fn word_ty<P: Precision>() -> Ty {
    Ty::Word(P::FLOAT.word())
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
    /// An input of the recorded code.
    pub fn input(role: Role) -> Self {
        Rec::new(push(Node::Input {
            role,
            ty: float_ty::<P>(),
        }))
    }

    /// A call of `callee` with these arguments, giving a `P`.
    pub fn call(callee: Callee, args: Vec<Id>) -> Self {
        Rec::new(push(Node::Call {
            callee,
            args,
            ty: float_ty::<P>(),
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
    /// A word input of the recorded code.
    pub fn input(role: Role) -> Self {
        RecWord::new(push(Node::Input {
            role,
            ty: word_ty::<P>(),
        }))
    }
}

impl RecMask {
    /// Its node.
    pub fn id(self) -> Id {
        self.0
    }

    fn binary(op: BinOp, a: Id, b: Id) -> Self {
        RecMask(push(Node::Binary {
            op,
            a,
            b,
            ty: Ty::Mask,
        }))
    }
}

impl Mask for RecMask {
    fn and(self, other: Self) -> Self {
        RecMask::binary(BinOp::And, self.0, other.0)
    }
    fn or(self, other: Self) -> Self {
        RecMask::binary(BinOp::Or, self.0, other.0)
    }
    fn not(self) -> Self {
        RecMask(push(Node::Unary {
            op: UnOp::Not,
            a: self.0,
            ty: Ty::Mask,
        }))
    }
}

fn arith<P: Precision>(op: Arith, a: Rec<P>, b: Rec<P>) -> Rec<P> {
    Rec::new(push(Node::Binary {
        op: BinOp::Arith(op),
        a: a.id,
        b: b.id,
        ty: float_ty::<P>(),
    }))
}

fn compare<P: Precision>(op: Compare, a: Rec<P>, b: Rec<P>) -> RecMask {
    RecMask::binary(BinOp::Compare(op), a.id, b.id)
}

fn bitwise<P: Precision>(op: Bitwise, a: RecWord<P>, b: RecWord<P>) -> RecWord<P> {
    RecWord::new(push(Node::Binary {
        op: BinOp::Bitwise(op),
        a: a.id,
        b: b.id,
        ty: word_ty::<P>(),
    }))
}

fn unary(op: UnOp, a: Id, ty: Ty) -> Id {
    push(Node::Unary { op, a, ty })
}

macro_rules! arith_ops {
    ($($trait:ident $method:ident $op:ident),*) => {$(
        impl<P: Precision> $trait for Rec<P> {
            type Output = Self;
            fn $method(self, other: Self) -> Self {
                arith(Arith::$op, self, other)
            }
        }
    )*};
}
arith_ops!(Add add Add, Sub sub Sub, Mul mul Mul, Div div Div);

impl<P: Precision> Neg for Rec<P> {
    type Output = Self;
    fn neg(self) -> Self {
        Rec::new(unary(UnOp::Neg, self.id, float_ty::<P>()))
    }
}

macro_rules! bitwise_ops {
    ($($trait:ident $method:ident $op:ident),*) => {$(
        impl<P: Precision> $trait for RecWord<P> {
            type Output = Self;
            fn $method(self, other: Self) -> Self {
                bitwise(Bitwise::$op, self, other)
            }
        }
    )*};
}
bitwise_ops!(BitAnd bitand And, BitOr bitor Or, BitXor bitxor Xor);

impl<P: Precision> Shl<u32> for RecWord<P> {
    type Output = Self;
    fn shl(self, amount: u32) -> Self {
        RecWord::new(unary(UnOp::Shl(amount), self.id, word_ty::<P>()))
    }
}

impl<P: Precision> Shr<u32> for RecWord<P> {
    type Output = Self;
    fn shr(self, amount: u32) -> Self {
        RecWord::new(unary(UnOp::Shr(amount), self.id, word_ty::<P>()))
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
            ty: word_ty::<P>(),
            bits: value & mask,
        }))
    }
    fn wrapping_add(self, other: Self) -> Self {
        bitwise(Bitwise::Add, self, other)
    }
    fn wrapping_sub(self, other: Self) -> Self {
        bitwise(Bitwise::Sub, self, other)
    }
    fn wrapping_mul(self, other: Self) -> Self {
        bitwise(Bitwise::Mul, self, other)
    }
}

macro_rules! impl_real_for_rec {
    ($p:ty) => {
        impl Real for Rec<$p> {
            type Mask = RecMask;
            type Bits = RecWord<$p>;
            type Wide = Rec<F32>;
            type Lane = Self;
            const FORMAT: Format = <$p as Precision>::FORMAT;

            fn constant(c: f64) -> Self {
                Rec::new(push(Node::Const {
                    ty: float_ty::<$p>(),
                    bits: <$p as Precision>::constant_bits(c),
                }))
            }
            fn lt(self, other: Self) -> RecMask {
                compare(Compare::Lt, self, other)
            }
            fn le(self, other: Self) -> RecMask {
                compare(Compare::Le, self, other)
            }
            fn gt(self, other: Self) -> RecMask {
                compare(Compare::Gt, self, other)
            }
            fn ge(self, other: Self) -> RecMask {
                compare(Compare::Ge, self, other)
            }
            fn eq(self, other: Self) -> RecMask {
                compare(Compare::Eq, self, other)
            }
            fn select(mask: RecMask, a: Self, b: Self) -> Self {
                Rec::new(push(Node::Select {
                    mask: mask.0,
                    a: a.id,
                    b: b.id,
                    ty: float_ty::<$p>(),
                }))
            }
            fn to_bits(self) -> RecWord<$p> {
                RecWord::new(unary(UnOp::ToBits, self.id, word_ty::<$p>()))
            }
            fn from_bits(bits: RecWord<$p>) -> Self {
                Rec::new(unary(UnOp::FromBits, bits.id, float_ty::<$p>()))
            }
            fn widen(self) -> Rec<F32> {
                if <$p as Precision>::FLOAT == Float::Binary32 {
                    return Rec::new(self.id);
                }
                Rec::new(unary(UnOp::Widen, self.id, float_ty::<F32>()))
            }
            fn narrow(wide: Rec<F32>) -> Self {
                if <$p as Precision>::FLOAT == Float::Binary32 {
                    return Rec::new(wide.id);
                }
                Rec::new(unary(UnOp::Narrow, wide.id, float_ty::<$p>()))
            }
            fn to_lane(self) -> Self {
                self
            }
            fn from_lane(lane: Self) -> Self {
                lane
            }
            fn detach(self) -> Self {
                Rec::new(unary(UnOp::Detach, self.id, float_ty::<$p>()))
            }
            fn surrogate_grad<S: Surrogate>(
                z: Self,
                grad: Self,
                constants: &SurrogateConstants<Self>,
                noise: Self,
            ) -> Self {
                let mut args = vec![z.id, grad.id];
                args.extend(constants.iter().map(|c| c.id));
                args.push(noise.id);
                Rec::call(Callee::Surrogate, args)
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
        let x = Rec::<F32>::input(Role::Input(0));
        let y = Rec::<F32>::input(Role::Input(1));
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
                ty: Ty::Float(Float::Binary16),
                bits: 0x2e66
            },
            "0.1 in binary16 is 0x2e66"
        );
    }
}
