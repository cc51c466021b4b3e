//! Every surrogate on Leaky (default reset, beta 0.9, threshold 1), fused
//! forward + backward at the headline size, in every precision: group
//! `surrogates`, functions `{precision}/{surrogate}` with the surrogates'
//! snnTorch defaults, each compiled as its own kernel. The summary compares
//! each with atan (the default) in the same precision. `SNN_BENCH_QUICK=1`
//! for CI-sized runs; see `docs/benchmarks.md`.

#[macro_use]
mod common;

use common::{headline, Case, Group, Pass, Precision, Reference, Summary, DEFAULT_CHUNK};
use snn_kernels::models::Leaky;
use snn_kernels::surrogate::{
    Atan, FastSigmoid, Heaviside, LeakySpikeOperator, Sigmoid, SparseFastSigmoid, SpikeRateEscape,
    StochasticSpikeOperator, StraightThrough, Surrogate, Triangular,
};

/// Leaky forward + backward with `surrogate` in precision `P`.
fn one<S: Surrogate, P: Precision>(g: &mut Group<'_, '_>, surrogate: S) {
    let leaky = common::leaky();
    let case = Case {
        model: leaky.model,
        surrogate,
        params: leaky.params,
    };
    g.layer::<Leaky, S, P, DEFAULT_CHUNK>(
        &case,
        headline(),
        &[Pass::ForwardBackward],
        |_| format!("{}/{}", P::NAME, S::NAME),
        |_| {
            Some(Reference::new(
                format!("surrogates/{}/{}", P::NAME, Atan::NAME),
                "atan",
            ))
        },
    );
}

fn main() {
    let mut c = common::criterion();
    let mut summary = Summary::new("surrogates");
    let mut g = Group::new(&mut c, &mut summary, "surrogates");
    for_each_precision!(P => {
        one::<_, P>(&mut g, Atan::default());
        one::<_, P>(&mut g, FastSigmoid::default());
        one::<_, P>(&mut g, Sigmoid::default());
        one::<_, P>(&mut g, Triangular::default());
        one::<_, P>(&mut g, StraightThrough);
        one::<_, P>(&mut g, Heaviside);
        one::<_, P>(&mut g, SpikeRateEscape::default());
        one::<_, P>(&mut g, SparseFastSigmoid::default());
        one::<_, P>(&mut g, LeakySpikeOperator::default());
        one::<_, P>(&mut g, StochasticSpikeOperator::default());
    });
    g.finish();
    c.final_summary();
    summary.note(
        "vs reference: atan's time (the default surrogate, same precision) over the surrogate's",
    );
    summary.print();
}
