//! [`AnySurrogate`]: the built-in surrogates as one type chosen at run time,
//! so that a test compiles the kernels once for all ten instead of once per
//! surrogate.

use snn_kernels::surrogate::*;
use snn_kernels::Real;

/// One of the ten built-in surrogates. Its `grad` evaluates every built-in
/// surrogate's own `grad` on the same arguments and selects the chosen one's
/// result with [`Real::select`], so the result is that surrogate's, bit for
/// bit. The choice travels as the last constant (no built-in surrogate uses
/// it); the noise is always drawn (surrogates that do not use it ignore it).
#[derive(Clone, Copy, Debug)]
pub enum AnySurrogate {
    Atan(Atan),
    FastSigmoid(FastSigmoid),
    Sigmoid(Sigmoid),
    Triangular(Triangular),
    StraightThrough(StraightThrough),
    Heaviside(Heaviside),
    SpikeRateEscape(SpikeRateEscape),
    SparseFastSigmoid(SparseFastSigmoid),
    LeakySpikeOperator(LeakySpikeOperator),
    StochasticSpikeOperator(StochasticSpikeOperator),
}

/// Where the choice travels among the constants.
const CHOICE: usize = MAX_SURROGATE_CONSTANTS - 1;

impl AnySurrogate {
    /// Every built-in surrogate, with parameters other than the defaults.
    pub fn all() -> [AnySurrogate; 10] {
        [
            AnySurrogate::Atan(Atan { alpha: 2.5 }),
            AnySurrogate::FastSigmoid(FastSigmoid { slope: 5.0 }),
            AnySurrogate::Sigmoid(Sigmoid { slope: 4.0 }),
            AnySurrogate::Triangular(Triangular { threshold: 0.7 }),
            AnySurrogate::StraightThrough(StraightThrough),
            AnySurrogate::Heaviside(Heaviside),
            AnySurrogate::SpikeRateEscape(SpikeRateEscape {
                beta: 1.5,
                slope: 3.0,
            }),
            AnySurrogate::SparseFastSigmoid(SparseFastSigmoid { slope: 5.0, b: 0.1 }),
            AnySurrogate::LeakySpikeOperator(LeakySpikeOperator { slope: 0.3 }),
            AnySurrogate::StochasticSpikeOperator(StochasticSpikeOperator {
                mean: 0.1,
                variance: 0.5,
            }),
        ]
    }

    /// The chosen surrogate's number, its name and its constants.
    fn parts(&self) -> (usize, &'static str, [f64; MAX_SURROGATE_CONSTANTS]) {
        fn of<S: Surrogate>(choice: usize, s: &S) -> (usize, &'static str, [f64; 4]) {
            (choice, S::NAME, s.constants())
        }
        match self {
            AnySurrogate::Atan(s) => of(0, s),
            AnySurrogate::FastSigmoid(s) => of(1, s),
            AnySurrogate::Sigmoid(s) => of(2, s),
            AnySurrogate::Triangular(s) => of(3, s),
            AnySurrogate::StraightThrough(s) => of(4, s),
            AnySurrogate::Heaviside(s) => of(5, s),
            AnySurrogate::SpikeRateEscape(s) => of(6, s),
            AnySurrogate::SparseFastSigmoid(s) => of(7, s),
            AnySurrogate::LeakySpikeOperator(s) => of(8, s),
            AnySurrogate::StochasticSpikeOperator(s) => of(9, s),
        }
    }

    /// The chosen surrogate's name.
    pub fn name(&self) -> &'static str {
        self.parts().1
    }
}

impl Surrogate for AnySurrogate {
    const NAME: &'static str = "any";
    const CONSTANTS: &'static [&'static str] = &["c0", "c1", "c2", "choice"];
    const STOCHASTIC: bool = true;

    fn constants(&self) -> [f64; MAX_SURROGATE_CONSTANTS] {
        let (choice, name, mut c) = self.parts();
        assert_eq!(
            c[CHOICE], 0.0,
            "{name} uses the constant that carries the choice"
        );
        c[CHOICE] = choice as f64;
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

impl AnySurrogate {
    /// The chosen surrogate's own `grad`, called directly.
    pub fn direct_grad<T: Real>(&self, z: T, grad: T, noise: T) -> T {
        fn of<S: Surrogate, T: Real>(s: &S, z: T, grad: T, noise: T) -> T {
            S::grad(z, grad, &constants_in::<T, S>(s), noise)
        }
        match self {
            AnySurrogate::Atan(s) => of(s, z, grad, noise),
            AnySurrogate::FastSigmoid(s) => of(s, z, grad, noise),
            AnySurrogate::Sigmoid(s) => of(s, z, grad, noise),
            AnySurrogate::Triangular(s) => of(s, z, grad, noise),
            AnySurrogate::StraightThrough(s) => of(s, z, grad, noise),
            AnySurrogate::Heaviside(s) => of(s, z, grad, noise),
            AnySurrogate::SpikeRateEscape(s) => of(s, z, grad, noise),
            AnySurrogate::SparseFastSigmoid(s) => of(s, z, grad, noise),
            AnySurrogate::LeakySpikeOperator(s) => of(s, z, grad, noise),
            AnySurrogate::StochasticSpikeOperator(s) => of(s, z, grad, noise),
        }
    }
}
