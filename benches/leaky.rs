//! The Leaky layer (default reset: subtract, delayed; atan surrogate), the
//! kernel the targets are stated for:
//!
//! - group `leaky`: at the headline size (B = 128, N = 4096, T = 100) every
//!   pass (single step, single step + its backward, fused forward, fused
//!   forward + backward) in every precision, and the plain fused f32 Leaky
//!   loop (`plain_f32/...`) the kernels are compared with;
//! - group `leaky_n`: forward + backward over N, cache-resident to
//!   memory-bound, with the default chunk and with the chunk `snn-ipu
//!   train` uses, beside the plain loop;
//! - group `leaky_t`: forward + backward over T, beside the plain loop.
//!
//! The summary after criterion's report gives each figure in GB/s, as a
//! fraction of a bandwidth probe run in this process, and against the
//! plain loop. `SNN_BENCH_QUICK=1` for CI-sized runs; see
//! `docs/benchmarks.md`.

#[macro_use]
mod common;

use common::{
    headline, n_sweep, t_sweep, Group, Pass, Precision, Reference, Summary, DEFAULT_CHUNK,
    TRAIN_CHUNK,
};
use snn_kernels::models::Leaky;
use snn_kernels::surrogate::Atan;

fn main() {
    let leaky = common::leaky();
    let mut c = common::criterion();
    let mut summary = Summary::new("leaky");

    let shape = headline();
    let mut g = Group::new(&mut c, &mut summary, "leaky");
    let plain = |pass: Pass| format!("plain_f32/{}", pass.name());
    let plain_id = |pass: Pass| {
        (pass == Pass::Forward || pass == Pass::ForwardBackward)
            .then(|| Reference::new(format!("leaky/{}", plain(pass)), "plain loop"))
    };
    g.plain_leaky(shape, &Pass::FUSED, plain);
    for_each_precision!(P => {
        g.layer::<Leaky, Atan, P, DEFAULT_CHUNK>(
            &leaky,
            shape,
            &Pass::ALL,
            |pass| format!("{}/{}", P::NAME, pass.name()),
            plain_id,
        );
    });
    g.finish();

    let both = [Pass::ForwardBackward];
    let mut g = Group::new(&mut c, &mut summary, "leaky_n");
    for shape in n_sweep() {
        let n = shape.neurons;
        let plain_id = |_| {
            Some(Reference::new(
                format!("leaky_n/plain_f32/N={n}"),
                "plain loop",
            ))
        };
        g.plain_leaky(shape, &both, |_| format!("plain_f32/N={n}"));
        for_each_precision!(P => {
            g.layer::<Leaky, Atan, P, DEFAULT_CHUNK>(
                &leaky,
                shape,
                &both,
                |_| format!("{}/N={n}", P::NAME),
                plain_id,
            );
            g.layer::<Leaky, Atan, P, TRAIN_CHUNK>(
                &leaky,
                shape,
                &both,
                |_| format!("{}_chunk{TRAIN_CHUNK}/N={n}", P::NAME),
                plain_id,
            );
        });
    }
    g.finish();

    let mut g = Group::new(&mut c, &mut summary, "leaky_t");
    for shape in t_sweep() {
        let t = shape.steps;
        let plain_id = |_| {
            Some(Reference::new(
                format!("leaky_t/plain_f32/T={t}"),
                "plain loop",
            ))
        };
        g.plain_leaky(shape, &both, |_| format!("plain_f32/T={t}"));
        for_each_precision!(P => {
            g.layer::<Leaky, Atan, P, DEFAULT_CHUNK>(
                &leaky,
                shape,
                &both,
                |_| format!("{}/T={t}", P::NAME),
                plain_id,
            );
        });
    }
    g.finish();

    c.final_summary();
    summary.note(
        "vs reference: the plain fused f32 Leaky loop's time over the kernel's, same shape and pass \
         (the issue's target for f32 forward_backward at the headline: >= 0.90x, and >= 70% of the triad)",
    );
    summary.print();
}
