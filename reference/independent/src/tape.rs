//! A small tape for reverse-mode differentiation, in one precision.
//!
//! The forward code records every operation; [`Tape::backward`] then walks
//! the records in reverse and adds each operation's contribution to its
//! operands' adjoints. This is the reference's way to the gradients, a
//! different method from the kernels' hand-written reverse sweeps.
//!
//! The conventions, which the kernels follow too (`docs/semantics.md`):
//! - every value and every adjoint is rounded to the tape's precision after
//!   each operation;
//! - an adjoint is the sum of its contributions in reverse order of the
//!   operations that produced them, starting from `-0` (so the first
//!   contribution passes unchanged); a value nothing flowed into keeps `-0`;
//! - an operation whose result received no contribution at all passes
//!   nothing on (the reset signal's inputs, for example);
//! - the spike function's derivative is the surrogate, evaluated from the
//!   incoming adjoint; comparisons, the Heaviside step and detached values
//!   pass nothing.
//!
//! A precision whose storage and arithmetic formats differ (`f16-storage`)
//! computes every operation and adjoint in the arithmetic format and rounds
//! to the storage format where a value is stored: [`Tape::store`] (a state
//! after a step; its adjoint, the gradient flowing into the stored state,
//! is rounded to storage too), [`Tape::store_spike`] (the spike), the
//! gradient a step passes back to the previous step's states
//! ([`Tape::use_of_stored`]), and the per-element sums of a constant's
//! gradient over the steps ([`Tape::leaf_summed_in_storage`]). For the
//! other precisions these are the plain operations.

use crate::precision::Precision;
use crate::surrogates::Surrogate;

/// A value recorded on a tape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Var(usize);

impl Var {
    /// Its position on the tape, which is also its index in the adjoints
    /// [`Tape::backward`] returns.
    pub fn index(self) -> usize {
        self.0
    }
}

#[derive(Clone, Copy, Debug)]
enum Op {
    /// An input: parameters, inputs, initial states.
    Leaf,
    /// A constant or a value that carries no gradient (comparisons, the
    /// Heaviside step, detached values).
    NoGrad,
    Add(Var, Var),
    Sub(Var, Var),
    Mul(Var, Var),
    Div(Var, Var),
    Neg(Var),
    /// The identity: one use of a value (a step's copy of a state or a
    /// constant), so that its gradient is summed per use.
    Use(Var),
    /// [`Op::Use`] of a stored value from the previous step: the gradient
    /// passed back is rounded to the storage format.
    UseStored(Var),
    /// The value rounded to the storage format (the identity backward).
    Store(Var),
    /// `clamp(x, 0, 1)`.
    Clamp01(Var),
    /// `ln x`.
    Ln(Var),
    /// `H(z)` forward, the surrogate backward.
    Spike {
        z: Var,
        surrogate: Surrogate,
        noise: f64,
    },
}

#[derive(Clone, Copy, Debug)]
struct Node {
    op: Op,
    value: f64,
    /// The format this value's adjoint is rounded to after each
    /// contribution (the arithmetic format, or the storage format for
    /// stored gradients).
    adjoint: Precision,
}

/// The tape.
#[derive(Clone, Debug)]
pub struct Tape {
    precision: Precision,
    nodes: Vec<Node>,
}

impl Tape {
    /// An empty tape computing in `precision` (in its arithmetic format,
    /// see [`Precision::arithmetic`]).
    pub fn new(precision: Precision) -> Tape {
        Tape {
            precision,
            nodes: Vec::new(),
        }
    }

    /// True when values are stored in another format than they are
    /// computed in.
    fn split(&self) -> bool {
        self.precision.storage() != self.precision.arithmetic()
    }

    /// The precision.
    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// The value of a variable.
    pub fn value(&self, v: Var) -> f64 {
        self.nodes[v.0].value
    }

    /// How many operations are recorded.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True when nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    fn push(&mut self, op: Op, value: f64) -> Var {
        let arithmetic = self.precision.arithmetic();
        self.push_in(op, arithmetic.round(value), arithmetic)
    }

    fn push_in(&mut self, op: Op, value: f64, adjoint: Precision) -> Var {
        self.nodes.push(Node { op, value, adjoint });
        Var(self.nodes.len() - 1)
    }

    /// A leaf whose adjoint is rounded to the storage format after each
    /// contribution: a prepared constant of one element, whose gradient is
    /// summed over the steps into a stored accumulator.
    pub fn leaf_summed_in_storage(&mut self, value: f64) -> Var {
        let p = self.precision;
        self.push_in(Op::Leaf, p.arithmetic().round(value), p.storage())
    }

    /// `a` as stored after a step: rounded to the storage format; its
    /// adjoint (the gradient flowing into the stored state: the loss on it
    /// plus what the next step passes back) is rounded to storage too.
    /// `a` itself where storage and arithmetic are one format.
    pub fn store(&mut self, a: Var) -> Var {
        if !self.split() {
            return a;
        }
        let p = self.precision;
        self.push_in(Op::Store(a), p.storage().round(self.value(a)), p.storage())
    }

    /// The spike `a` as stored: rounded to the storage format; its adjoint
    /// (the given spike gradient plus, for one-to-one recurrence, what the
    /// next step passes back) is summed in the arithmetic format, inside
    /// the step. `a` itself where storage and arithmetic are one format.
    pub fn store_spike(&mut self, a: Var) -> Var {
        if !self.split() {
            return a;
        }
        let p = self.precision;
        self.push_in(
            Op::Store(a),
            p.storage().round(self.value(a)),
            p.arithmetic(),
        )
    }

    /// One use of `a`, a value stored by the previous step (or an initial
    /// state): the gradient this step passes back to it is rounded to the
    /// storage format. [`Tape::use_of`] where the formats are one.
    pub fn use_of_stored(&mut self, a: Var) -> Var {
        if !self.split() {
            return self.use_of(a);
        }
        self.push(Op::UseStored(a), self.value(a))
    }

    /// An input (already a value of the precision: it is rounded anyway).
    pub fn leaf(&mut self, value: f64) -> Var {
        self.push(Op::Leaf, value)
    }

    /// A constant, rounded from `f64`.
    pub fn constant(&mut self, value: f64) -> Var {
        self.push(Op::NoGrad, value)
    }

    /// `a + b`.
    pub fn add(&mut self, a: Var, b: Var) -> Var {
        self.push(Op::Add(a, b), self.value(a) + self.value(b))
    }

    /// `a - b`.
    pub fn sub(&mut self, a: Var, b: Var) -> Var {
        self.push(Op::Sub(a, b), self.value(a) - self.value(b))
    }

    /// `a · b`.
    pub fn mul(&mut self, a: Var, b: Var) -> Var {
        self.push(Op::Mul(a, b), self.value(a) * self.value(b))
    }

    /// `a / b`.
    pub fn div(&mut self, a: Var, b: Var) -> Var {
        self.push(Op::Div(a, b), self.value(a) / self.value(b))
    }

    /// `x - a·b`: the product, then the difference, each rounded (the
    /// resets' form).
    pub fn sub_product(&mut self, x: Var, a: Var, b: Var) -> Var {
        let product = self.mul(a, b);
        self.sub(x, product)
    }

    /// `-a`.
    pub fn neg(&mut self, a: Var) -> Var {
        self.push(Op::Neg(a), -self.value(a))
    }

    /// One use of `a` (the identity).
    pub fn use_of(&mut self, a: Var) -> Var {
        self.push(Op::Use(a), self.value(a))
    }

    /// `clamp(a, 0, 1)` (NaN stays NaN).
    pub fn clamp01(&mut self, a: Var) -> Var {
        let x = self.value(a);
        // f64::clamp keeps -0 and NaN, as the comparisons would
        self.push(Op::Clamp01(a), x.clamp(0.0, 1.0))
    }

    /// `ln a` (the reference's own logarithm).
    pub fn ln(&mut self, a: Var) -> Var {
        let y = crate::elementary::ln(self.precision.arithmetic(), self.value(a));
        self.push(Op::Ln(a), y)
    }

    /// `H(a)`: 1 if `a > 0`, else 0; no gradient.
    pub fn heaviside(&mut self, a: Var) -> Var {
        let y = if self.value(a) > 0.0 { 1.0 } else { 0.0 };
        self.push(Op::NoGrad, y)
    }

    /// `H(z)` with the surrogate as derivative; `noise` is the stochastic
    /// surrogate's random number for this element and step.
    pub fn spike(&mut self, z: Var, surrogate: Surrogate, noise: f64) -> Var {
        let y = if self.value(z) > 0.0 { 1.0 } else { 0.0 };
        self.push(
            Op::Spike {
                z,
                surrogate,
                noise,
            },
            y,
        )
    }

    /// The adjoints of every recorded value, given the seeds (the gradients
    /// flowing into output values). Values nothing flowed into are `-0`.
    pub fn backward(&self, seeds: &[(Var, f64)]) -> Vec<f64> {
        self.sweep(seeds, false)
    }

    /// The same sweep over absolute values, without rounding: every
    /// contribution is `|adjoint| · |local derivative|`, so each result is
    /// the sum over all paths of the magnitudes of their products. First-order
    /// error analysis bounds the rounding error of any evaluation order of
    /// the backward pass by `γ_L` times this (`L` the longest chain of
    /// roundings), which is how the snnTorch conformance bounds are set.
    pub fn backward_magnitude(&self, seeds: &[(Var, f64)]) -> Vec<f64> {
        self.sweep(seeds, true)
    }

    fn sweep(&self, seeds: &[(Var, f64)], magnitude: bool) -> Vec<f64> {
        let p = if magnitude {
            Precision::F64
        } else {
            self.precision.arithmetic()
        };
        let storage = if magnitude {
            Precision::F64
        } else {
            self.precision.storage()
        };
        let mut adjoint: Vec<Option<f64>> = vec![None; self.nodes.len()];
        let nodes = &self.nodes;
        let add = |adjoint: &mut Vec<Option<f64>>, v: Var, contribution: f64| {
            let contribution = if magnitude {
                contribution.abs()
            } else {
                contribution
            };
            // the sum is a binary operation of the arithmetic format, rounded
            // to it; an adjoint kept in the storage format (`f16-storage`) is
            // that result rounded again, once, to storage (`docs/semantics.md`:
            // "the binary32 sum ..., rounded once"); one rounding otherwise
            let sum = p.round(adjoint[v.0].unwrap_or(-0.0) + contribution);
            let rounding = if magnitude {
                Precision::F64
            } else {
                nodes[v.0].adjoint
            };
            adjoint[v.0] = Some(rounding.round(sum));
        };
        for &(v, g) in seeds {
            add(&mut adjoint, v, g);
        }
        for i in (0..self.nodes.len()).rev() {
            let Some(g) = adjoint[i] else { continue };
            let node = self.nodes[i];
            match node.op {
                Op::Leaf | Op::NoGrad => {}
                Op::Add(a, b) => {
                    add(&mut adjoint, a, g);
                    add(&mut adjoint, b, g);
                }
                Op::Sub(a, b) => {
                    add(&mut adjoint, a, g);
                    add(&mut adjoint, b, -g);
                }
                Op::Mul(a, b) => {
                    let (va, vb) = (self.value(a), self.value(b));
                    add(&mut adjoint, a, p.round(g * vb));
                    add(&mut adjoint, b, p.round(g * va));
                }
                Op::Div(a, b) => {
                    // q = a / b: da = g / b, db = (-g) · (q / b)
                    let vb = self.value(b);
                    add(&mut adjoint, a, p.round(g / vb));
                    let q_over_b = p.round(node.value / vb);
                    add(&mut adjoint, b, p.round(-g * q_over_b));
                }
                Op::Neg(a) => add(&mut adjoint, a, -g),
                Op::Use(a) | Op::Store(a) => add(&mut adjoint, a, g),
                Op::UseStored(a) => add(&mut adjoint, a, storage.round(g)),
                Op::Clamp01(a) => {
                    let x = self.value(a);
                    let pass = if (0.0..=1.0).contains(&x) { 1.0 } else { 0.0 };
                    add(&mut adjoint, a, p.round(g * pass));
                }
                Op::Ln(a) => {
                    let x = self.value(a);
                    add(&mut adjoint, a, p.round(g / x));
                }
                Op::Spike {
                    z,
                    surrogate,
                    noise,
                } => {
                    let dz = surrogate.grad(p, self.value(z), g, noise);
                    add(&mut adjoint, z, dz);
                }
            }
        }
        adjoint.into_iter().map(|a| a.unwrap_or(-0.0)).collect()
    }

    /// Constants are tape values too: is `v` one (or a value without
    /// gradient)?
    pub fn is_constant(&self, v: Var) -> bool {
        matches!(self.nodes[v.0].op, Op::NoGrad)
    }

    /// The recorded operations and values, for finding where two
    /// computations part (`(operation name, value)`).
    pub fn trace(&self) -> Vec<(&'static str, f64)> {
        self.nodes
            .iter()
            .map(|n| {
                let name = match n.op {
                    Op::Leaf => "input",
                    Op::NoGrad => "constant",
                    Op::Add(..) => "add",
                    Op::Sub(..) => "sub",
                    Op::Mul(..) => "mul",
                    Op::Div(..) => "div",
                    Op::Neg(..) => "neg",
                    Op::Use(..) => "use",
                    Op::UseStored(..) => "use",
                    Op::Store(..) => "store",
                    Op::Clamp01(..) => "clamp",
                    Op::Ln(..) => "ln",
                    Op::Spike { .. } => "spike",
                };
                (name, n.value)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradients_of_a_small_expression() {
        // f = (a·b + a) / b at a = 3, b = 2: df/da = (b + 1)/b = 1.5,
        // df/db = a/b - (a·b + a)/b² = 1.5 - 2.25 = -0.75
        let mut t = Tape::new(Precision::F64);
        let a = t.leaf(3.0);
        let b = t.leaf(2.0);
        let ab = t.mul(a, b);
        let s = t.add(ab, a);
        let f = t.div(s, b);
        assert_eq!(t.value(f), 4.5);
        let adj = t.backward(&[(f, 1.0)]);
        assert_eq!(adj[a.0], 1.5);
        assert_eq!(adj[b.0], -0.75);
    }

    #[test]
    fn untouched_values_keep_negative_zero() {
        let mut t = Tape::new(Precision::F32);
        let a = t.leaf(1.0);
        let b = t.leaf(2.0);
        let r = t.sub(a, b);
        let _h = t.heaviside(r);
        let out = t.add(a, a);
        let adj = t.backward(&[(out, -0.0)]);
        assert_eq!(
            adj[b.0].to_bits(),
            (-0.0f64).to_bits(),
            "nothing flows through the Heaviside step"
        );
        assert_eq!(adj[a.0].to_bits(), (-0.0f64).to_bits());
    }
}
