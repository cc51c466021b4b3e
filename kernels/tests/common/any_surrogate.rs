//! Every built-in surrogate as one [`AnySurrogate`], so that a test compiles
//! the kernels once for all ten instead of once per surrogate.

pub use snn_kernels::surrogate::AnySurrogate;
use snn_kernels::surrogate::*;

/// `surrogate` chosen at run time.
pub fn any<S: Surrogate>(surrogate: S) -> AnySurrogate {
    AnySurrogate::of(&surrogate).expect("a built-in surrogate")
}

/// Every built-in surrogate, with parameters other than the defaults.
pub fn surrogates() -> [AnySurrogate; 10] {
    [
        any(Atan { alpha: 2.5 }),
        any(FastSigmoid { slope: 5.0 }),
        any(Sigmoid { slope: 4.0 }),
        any(Triangular { threshold: 0.7 }),
        any(StraightThrough),
        any(Heaviside),
        any(SpikeRateEscape {
            beta: 1.5,
            slope: 3.0,
        }),
        any(SparseFastSigmoid { slope: 5.0, b: 0.1 }),
        any(LeakySpikeOperator { slope: 0.3 }),
        any(StochasticSpikeOperator {
            mean: 0.1,
            variance: 0.5,
        }),
    ]
}
