use super::{
    Atan, FastSigmoid, Heaviside, LeakySpikeOperator, Sigmoid, SparseFastSigmoid, SpikeRateEscape,
    StochasticSpikeOperator, StraightThrough, Surrogate, SurrogateConstants, Triangular,
    MAX_SURROGATE_CONSTANTS,
};
use crate::real::Real;

/// The built-in surrogates, in the order of their numbers in [`AnySurrogate`].
const BUILT_IN: [&str; 10] = [
    Atan::NAME,
    FastSigmoid::NAME,
    Sigmoid::NAME,
    Triangular::NAME,
    StraightThrough::NAME,
    Heaviside::NAME,
    SpikeRateEscape::NAME,
    SparseFastSigmoid::NAME,
    LeakySpikeOperator::NAME,
    StochasticSpikeOperator::NAME,
];

/// Where [`AnySurrogate`]'s choice travels among the constants (no built-in
/// surrogate uses the last one).
const CHOICE: usize = MAX_SURROGATE_CONSTANTS - 1;

/// Any built-in surrogate, chosen at run time: one compiled copy of a
/// kernel serves all ten, which is what tests and tools that sweep the
/// surrogates want (a kernel compiled once per surrogate costs ten times
/// the compile time). It is slower: its `grad` evaluates every built-in
/// surrogate's own `grad` on the same arguments and keeps the chosen one's
/// result with [`Real::select`], so the result is that surrogate's, bit for
/// bit. The noise of the stochastic surrogate is always drawn (the others
/// ignore it). Not for the generated codelets, which have one function per
/// surrogate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AnySurrogate {
    choice: usize,
    constants: [f64; MAX_SURROGATE_CONSTANTS],
}

impl AnySurrogate {
    /// The built-in surrogate `surrogate` (recognised by its
    /// [`Surrogate::NAME`]) with its parameters, or `None` for another
    /// surrogate.
    pub fn of<S: Surrogate>(surrogate: &S) -> Option<AnySurrogate> {
        let choice = BUILT_IN.iter().position(|&name| name == S::NAME)?;
        Some(AnySurrogate {
            choice,
            constants: surrogate.constants(),
        })
    }

    /// The chosen surrogate's name.
    pub fn name(&self) -> &'static str {
        BUILT_IN[self.choice]
    }
}

impl Surrogate for AnySurrogate {
    const NAME: &'static str = "any";
    const CONSTANTS: &'static [&'static str] = &["c0", "c1", "c2", "choice"];
    const STOCHASTIC: bool = true;

    fn constants(&self) -> [f64; MAX_SURROGATE_CONSTANTS] {
        let mut c = self.constants;
        c[CHOICE] = self.choice as f64;
        c
    }

    fn grad<T: Real>(z: T, grad: T, c: &SurrogateConstants<T>, noise: T) -> T {
        let grads = [
            Atan::grad(z, grad, c, noise),
            FastSigmoid::grad(z, grad, c, noise),
            Sigmoid::grad(z, grad, c, noise),
            Triangular::grad(z, grad, c, noise),
            StraightThrough::grad(z, grad, c, noise),
            Heaviside::grad(z, grad, c, noise),
            SpikeRateEscape::grad(z, grad, c, noise),
            SparseFastSigmoid::grad(z, grad, c, noise),
            LeakySpikeOperator::grad(z, grad, c, noise),
            StochasticSpikeOperator::grad(z, grad, c, noise),
        ];
        let mut chosen = grads[0];
        for (choice, g) in grads.into_iter().enumerate().skip(1) {
            chosen = T::select(c[CHOICE].eq(T::constant(choice as f64)), g, chosen);
        }
        chosen
    }
}
