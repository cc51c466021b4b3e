//! The population readout and the spike-count losses
//! (`snn_kernels::population`), as the native training step calls them
//! (`Native::score` in `src/native/mod.rs`):
//!
//! - group `population`: per readout (T = 25, B = 128, 10 classes, P = 1,
//!   50 or 400 neurons per class) and precision of the spikes, the counts
//!   (`spike_counts`, binary64), the spike gradients from the count
//!   gradients (`spike_counts_backward`), and the whole ce_count scoring
//!   (counts, loss, spike gradients); and the binary32 definitions the IPU
//!   graph computes (`*_in`, f32);
//! - group `losses`: `ce_count_loss` and `mse_count_loss` (binary64) and
//!   `ce_count_loss_in` (binary32) on the counts of one batch.
//!
//! Throughput in spikes (population) or counts (losses) per second.
//! `SNN_BENCH_QUICK=1` for CI-sized runs; see `docs/benchmarks.md`.

#[macro_use]
mod common;

use common::{Group, Precision, Spec, Summary};
use snn_kernels::population::{
    ce_count_loss, ce_count_loss_in, mse_count_loss, spike_counts, spike_counts_backward,
    spike_counts_backward_in, spike_counts_in, CountTargets, Readout,
};
use snn_kernels::Real;

/// The readouts: T = 25, 10 classes, B = 128 (quick: 16), P = 1, 50, 400
/// (quick: 1, 50).
fn readouts() -> Vec<Readout> {
    let (batch, populations): (usize, &[usize]) = if common::quick() {
        (16, &[1, 50])
    } else {
        (128, &[1, 50, 400])
    };
    populations
        .iter()
        .map(|&population| Readout {
            steps: 25,
            batch,
            classes: 10,
            population,
        })
        .collect()
}

fn label(r: &Readout) -> String {
    format!("{}x{}x{}x{}", r.steps, r.batch, r.classes, r.population)
}

/// Buffers of one readout: spikes (about 20 % ones) and their gradients in
/// `V`, counts and their gradients in binary64 and binary32, labels.
struct Buffers<V> {
    r: Readout,
    spikes: Vec<V>,
    grad_spikes: Vec<V>,
    counts: Vec<f64>,
    grad_counts: Vec<f64>,
    counts32: Vec<f32>,
    grad_counts32: Vec<f32>,
    labels: Vec<usize>,
}

impl<V: Real> Buffers<V> {
    fn new(r: Readout) -> Self {
        let len = r.steps * r.batch * r.classes * r.population;
        let spikes = snn_ipu::input_current_stream(len, 11)
            .map(|u| if u > 0.36 { V::one() } else { V::zero() })
            .collect();
        let counts = r.batch * r.classes;
        let mut b = Buffers {
            r,
            spikes,
            grad_spikes: vec![V::one(); len],
            counts: vec![1.0; counts],
            grad_counts: vec![1.0; counts],
            counts32: vec![1.0; counts],
            grad_counts32: vec![1.0; counts],
            labels: (0..r.batch).map(|b| b * 7 % r.classes).collect(),
        };
        b.ce_count_loss();
        b.grad_counts32 = b.grad_counts.iter().map(|&g| g as f32).collect();
        b
    }

    fn spike_counts(&mut self)
    where
        V: Into<f64>,
    {
        spike_counts(&self.r, &self.spikes, &mut self.counts).expect("counts");
    }

    fn spike_counts_backward(&mut self) {
        spike_counts_backward(&self.r, &self.grad_counts, &mut self.grad_spikes)
            .expect("spike gradients");
    }

    fn ce_count_loss(&mut self) -> f64 {
        ce_count_loss(&self.r, &self.counts, &self.labels, &mut self.grad_counts).expect("loss")
    }

    fn mse_count_loss(&mut self) -> f64 {
        let targets = CountTargets::from_rates(&self.r, 1.0, 0.0);
        mse_count_loss(
            &self.r,
            &self.counts,
            &self.labels,
            targets,
            &mut self.grad_counts,
        )
        .expect("loss")
    }
}

impl Buffers<f32> {
    fn spike_counts_in(&mut self) {
        spike_counts_in(&self.r, &self.spikes, &mut self.counts32).expect("counts");
    }

    fn spike_counts_backward_in(&mut self) {
        spike_counts_backward_in(&self.r, &self.grad_counts32, &mut self.grad_spikes)
            .expect("spike gradients");
    }

    fn ce_count_loss_in(&mut self) -> f32 {
        ce_count_loss_in(
            &self.r,
            &self.counts32,
            &self.labels,
            &mut self.grad_counts32,
        )
        .expect("loss")
    }
}

/// One benchmark of the spikes of readout `r` in values of `value` bytes,
/// moving `spike_passes` spike streams and `count_bytes` bytes of counts,
/// their gradients and labels.
fn spec(
    function: String,
    r: &Readout,
    value: usize,
    spike_passes: usize,
    count_bytes: usize,
) -> Spec {
    let spikes = r.steps * r.batch * r.classes * r.population;
    Spec {
        function,
        shape: label(r),
        elements: spikes as u64,
        bytes: (spike_passes * value * spikes + count_bytes) as f64,
        reference: None,
    }
}

/// The binary64 readout of spikes in precision `P`.
fn readout<P: Precision>(g: &mut Group<'_, '_>, r: Readout) {
    let (name, p, v) = (P::NAME, r.population, P::BYTES);
    let counts = r.batch * r.classes * 8;
    let mut slot = None;
    let init = || Buffers::<P::Value>::new(r);
    let id = |what: &str| format!("{what}/{name}/P={p}");
    g.measure(
        spec(id("spike_counts"), &r, v, 1, counts),
        &mut slot,
        init,
        |b| b.spike_counts(),
    );
    g.measure(
        spec(id("spike_counts_backward"), &r, v, 1, counts),
        &mut slot,
        init,
        |b| b.spike_counts_backward(),
    );
    // counts written, read by the loss with the labels, gradients written,
    // read by the backward pass
    let score = 4 * counts + 8 * r.batch;
    g.measure(
        spec(id("score_ce_count"), &r, v, 2, score),
        &mut slot,
        init,
        |b| {
            b.spike_counts();
            b.ce_count_loss();
            b.spike_counts_backward();
        },
    );
}

/// The binary32 definitions (what the IPU graph computes), f32 spikes.
fn readout_in(g: &mut Group<'_, '_>, r: Readout) {
    let p = r.population;
    let counts = r.batch * r.classes * 4;
    let mut slot = None;
    let init = || Buffers::<f32>::new(r);
    let id = |what: &str| format!("{what}/f32/P={p}");
    g.measure(
        spec(id("spike_counts_in"), &r, 4, 1, counts),
        &mut slot,
        init,
        |b| b.spike_counts_in(),
    );
    g.measure(
        spec(id("spike_counts_backward_in"), &r, 4, 1, counts),
        &mut slot,
        init,
        |b| b.spike_counts_backward_in(),
    );
    let score = 4 * counts + 8 * r.batch;
    g.measure(
        spec(id("score_ce_count_in"), &r, 4, 2, score),
        &mut slot,
        init,
        |b| {
            b.spike_counts_in();
            b.ce_count_loss_in();
            b.spike_counts_backward_in();
        },
    );
}

/// The losses on one batch's counts: elements are counts (`B·C`); bytes
/// the counts read, their gradients written and the labels.
fn losses(g: &mut Group<'_, '_>, r: Readout) {
    let counts = r.batch * r.classes;
    let spec = |function: &str, value: usize| Spec {
        function: format!("{function}/B={}xC={}", r.batch, r.classes),
        shape: label(&r),
        elements: counts as u64,
        bytes: (2 * value * counts + 8 * r.batch) as f64,
        reference: None,
    };
    let mut slot = None;
    let init = || Buffers::<f32>::new(r);
    g.measure(spec("ce_count", 8), &mut slot, init, |b| {
        std::hint::black_box(b.ce_count_loss());
    });
    g.measure(spec("mse_count", 8), &mut slot, init, |b| {
        std::hint::black_box(b.mse_count_loss());
    });
    g.measure(spec("ce_count_in/f32", 4), &mut slot, init, |b| {
        std::hint::black_box(b.ce_count_loss_in());
    });
}

fn main() {
    let mut c = common::criterion();
    let mut summary = Summary::new("readout");
    let mut g = Group::new(&mut c, &mut summary, "population");
    for r in readouts() {
        for_each_precision!(P => { readout::<P>(&mut g, r); });
        readout_in(&mut g, r);
    }
    g.finish();
    let mut g = Group::new(&mut c, &mut summary, "losses");
    losses(&mut g, readouts()[0]);
    g.finish();
    c.final_summary();
    summary.note(
        "elements: spikes (population) or counts (losses); B/elem and GB/s count the spikes or \
         their gradients in the layer's precision and the counts in binary64 (binary32 for *_in)",
    );
    summary.print();
}
