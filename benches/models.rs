//! The other neuron models at the headline size, each with its default
//! reset configuration and the atan surrogate: one group per model
//! (`synaptic`, `alpha`, `lapicque`, `rleaky`, `rsynaptic`; one-to-one
//! recurrence), every pass in every precision. Group `leaky_reference`
//! measures Leaky's fused passes in this process, so that the summary can
//! compare each model with Leaky per stored state (the target:
//! within 2x, that is at least 0.50x). `SNN_BENCH_QUICK=1` for CI-sized
//! runs; see `docs/benchmarks.md`.

#[macro_use]
mod common;

use common::{headline, Case, Group, Pass, Precision, Reference, Summary, DEFAULT_CHUNK};
use criterion::Criterion;
use snn_kernels::model::Model;
use snn_kernels::models::{Alpha, Lapicque, LapicqueGiven, Leaky, RLeaky, RSynaptic, Synaptic};
use snn_kernels::surrogate::Atan;
use snn_kernels::Reset;

/// Every pass of `case` in every precision, as group `name`; fused passes
/// compared with Leaky's per stored state.
fn model<M: Model>(c: &mut Criterion, summary: &mut Summary, name: &str, case: Case<M, Atan>) {
    let stored = M::STATES.len() - usize::from(M::SPIKE_STATE.is_some());
    let mut g = Group::new(c, summary, name);
    for_each_precision!(P => {
        g.layer::<M, Atan, P, DEFAULT_CHUNK>(
            &case,
            headline(),
            &Pass::ALL,
            |pass| format!("{}/{}", P::NAME, pass.name()),
            |pass| {
                Pass::FUSED.contains(&pass).then(|| Reference {
                    id: format!("leaky_reference/{}/{}", P::NAME, pass.name()),
                    scale: stored as f64,
                    label: "Leaky per stored state",
                })
            },
        );
    });
    g.finish();
}

fn main() {
    let mut c = common::criterion();
    let mut summary = Summary::new("models");

    let mut g = Group::new(&mut c, &mut summary, "leaky_reference");
    for_each_precision!(P => {
        g.layer::<Leaky, Atan, P, DEFAULT_CHUNK>(
            &common::leaky(),
            headline(),
            &Pass::FUSED,
            |pass| format!("{}/{}", P::NAME, pass.name()),
            |_| None,
        );
    });
    g.finish();

    let atan = Atan::default();
    // parameters as `snn-ipu train` defaults them (src/cli.rs)
    let cases = (
        Case {
            model: Synaptic::default(),
            surrogate: atan,
            params: &[0.8, 0.9, 1.0], // alpha, beta, threshold
        },
        Case {
            model: Alpha::default(),
            surrogate: atan,
            params: &[0.9, 0.8, 1.0], // alpha, beta, threshold
        },
        Case {
            // beta given (R = 1, C derived), as `snn-ipu train` runs it
            model: Lapicque {
                reset: Reset::Subtract,
                given: LapicqueGiven::Beta,
            },
            surrogate: atan,
            params: &[0.9, 1.0, 1.0, 1.0, 1.0], // beta, r, c, time_step, threshold
        },
        Case {
            model: RLeaky::default(),
            surrogate: atan,
            params: &[0.9, 1.0, 1.0], // beta, v, threshold
        },
        Case {
            model: RSynaptic::default(),
            surrogate: atan,
            params: &[0.8, 0.9, 1.0, 1.0], // alpha, beta, v, threshold
        },
    );
    model(&mut c, &mut summary, "synaptic", cases.0);
    model(&mut c, &mut summary, "alpha", cases.1);
    model(&mut c, &mut summary, "lapicque", cases.2);
    model(&mut c, &mut summary, "rleaky", cases.3);
    model(&mut c, &mut summary, "rsynaptic", cases.4);

    c.final_summary();
    summary.note(
        "vs reference: Leaky's time (group leaky_reference, same precision and pass) times the \
         model's stored states (Synaptic, RSynaptic 2; Alpha 3; Lapicque, RLeaky 1), over the \
         model's time: 1.00x = as fast as Leaky per stored state; the issue's target is >= 0.50x",
    );
    summary.print();
}
