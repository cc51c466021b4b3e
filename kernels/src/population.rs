//! Population-code readout and the spike-count losses (snnTorch
//! `functional.ce_count_loss` and `mse_count_loss`).
//!
//! The output layer has `C·P` neurons for `C` classes; class `c` owns the
//! contiguous neurons `[c·P, (c+1)·P)`. Its score is the spike count summed
//! over those `P` neurons and over all time steps (`P = 1`: no population
//! code). Spikes are `[T][B][C·P]`, counts `[B][C]`.
//!
//! Unlike snnTorch 1.0's `ce_rate_loss(population_code=True)`, whose pooling
//! loop has no effect, the population is always pooled here.
//!
//! # Precision: the readout computes in `f64`, whatever the layer's precision
//! Counts, losses and their gradients are `f64`. The spikes enter exactly
//! (every `f32` and `F16` value is an `f64` value) and are summed in `f64`,
//! one rounding per addition, in the order [`spike_counts`] states; the
//! losses are evaluated in `f64` with the crate's own `exp` and `ln`; only
//! [`spike_counts_backward`] rounds, once, the `f64` gradient of a count to
//! the layer's precision (saturating to ±65504 in `F16`, as every `F16`
//! operation).
//!
//! Why: in the layer's own precision, a count or a loss sum held in
//! binary16 stops growing at 2048 (its spacing there is 2, so adding a spike
//! of 1 rounds back) and saturates at 65504, so the counts of a long
//! sequence, and the cross-entropy of a batch of a few thousand rows, were
//! wrong. In `f64`:
//! - counts of spikes that are 0 or 1 (every model but Leaky, and Leaky
//!   with `graded = 1`) are exact integers for any number of spikes below
//!   2^53, that is any sequence that fits in memory;
//! - graded spikes (Leaky's `graded`) are summed in `f64`: exact for `F16`
//!   layers while every partial sum stays below 2^29 in magnitude (every
//!   binary16 value is a multiple of 2^-24), otherwise rounded per addition
//!   in the stated order, so still the same bits on every backend;
//! - the losses' sums over a batch and their division by the batch size are
//!   exact or rounded once per operation in `f64`, for any batch.
//!
//! NaN and infinite spikes (from NaN or infinite inputs) propagate into the
//! counts and the losses by IEEE rules.

use crate::error::{check_len, Error};
use crate::real::Real;

/// The shape of a population-coded output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Readout {
    /// Time steps `T`.
    pub steps: usize,
    /// Batch rows `B`.
    pub batch: usize,
    /// Classes `C`.
    pub classes: usize,
    /// Neurons per class `P` (1 without a population code).
    pub population: usize,
}

impl Readout {
    fn check(&self) -> Result<(usize, usize), Error> {
        for (value, dimension) in [
            (self.steps, "time steps"),
            (self.batch, "batch rows"),
            (self.classes, "classes"),
            (self.population, "neurons per class"),
        ] {
            if value == 0 {
                return Err(Error::EmptyShape { dimension });
            }
        }
        let outputs = self
            .classes
            .checked_mul(self.population)
            .ok_or(Error::ShapeTooLarge)?;
        let spikes = self
            .steps
            .checked_mul(self.batch)
            .and_then(|v| v.checked_mul(outputs))
            .ok_or(Error::ShapeTooLarge)?;
        Ok((outputs, spikes))
    }

    fn check_labels(&self, labels: &[usize]) -> Result<(), Error> {
        check_len("labels", labels.len(), self.batch)?;
        for (row, &label) in labels.iter().enumerate() {
            if label >= self.classes {
                return Err(Error::Label {
                    row,
                    label,
                    classes: self.classes,
                });
            }
        }
        Ok(())
    }
}

/// Spike counts per class, in `f64`: `counts[b][c] = sum_t sum_p
/// spk[t][b][c·P + p]`, summed over the population first (from `p = 0`),
/// then over time from `t = 0` (snnTorch's `.sum(-1).sum(0)`), one `f64`
/// rounding per addition (none for 0/1 spikes; see the module docs).
pub fn spike_counts<T: Real + Into<f64>>(
    readout: &Readout,
    spikes: &[T],
    counts: &mut [f64],
) -> Result<(), Error> {
    let (outputs, len) = readout.check()?;
    check_len("spikes", spikes.len(), len)?;
    check_len("counts", counts.len(), readout.batch * readout.classes)?;
    counts.fill(0.0);
    count_groups(readout, outputs, spikes, counts, Into::into, |a, b| a + b);
    Ok(())
}

/// `counts[b][c]`: per step the population's spikes summed with `add`
/// from `p = 0` (starting at the first, `lift`ed), then the steps from
/// `t = 0` (the first step's sum stored, the later ones added).
fn count_groups<T: Copy, S: Copy>(
    readout: &Readout,
    outputs: usize,
    spikes: &[T],
    counts: &mut [S],
    lift: impl Fn(T) -> S,
    add: impl Fn(S, S) -> S,
) {
    for (t, step) in spikes.chunks_exact(readout.batch * outputs).enumerate() {
        for (b, row) in step.chunks_exact(outputs).enumerate() {
            for (c, group) in row.chunks_exact(readout.population).enumerate() {
                let sum = group[1..]
                    .iter()
                    .fold(lift(group[0]), |s, &v| add(s, lift(v)));
                let count = &mut counts[b * readout.classes + c];
                *count = if t == 0 { sum } else { add(*count, sum) };
            }
        }
    }
}

/// Every spike of class `c` in row `b`, at every step, gets
/// `value(b·classes + c)`.
fn spread_groups<T: Copy>(
    readout: &Readout,
    outputs: usize,
    grad_spikes: &mut [T],
    value: impl Fn(usize) -> T,
) {
    for step in grad_spikes.chunks_exact_mut(readout.batch * outputs) {
        for (b, row) in step.chunks_exact_mut(outputs).enumerate() {
            for (c, group) in row.chunks_exact_mut(readout.population).enumerate() {
                group.fill(value(b * readout.classes + c));
            }
        }
    }
}

/// The gradient of the spikes from the gradient of the counts: every spike
/// of class `c` in row `b`, at every step, receives `grad_counts[b][c]`
/// rounded once to the layer's precision `T` (to nearest even; in `F16` a
/// finite value beyond 65504 saturates to ±65504).
pub fn spike_counts_backward<T: Real>(
    readout: &Readout,
    grad_counts: &[f64],
    grad_spikes: &mut [T],
) -> Result<(), Error> {
    let (outputs, len) = readout.check()?;
    check_len(
        "count gradients",
        grad_counts.len(),
        readout.batch * readout.classes,
    )?;
    check_len("spike gradients", grad_spikes.len(), len)?;
    spread_groups(readout, outputs, grad_spikes, |k| {
        T::constant(grad_counts[k])
    });
    Ok(())
}

/// Cross-entropy of the class counts (snnTorch `ce_count_loss`), in `f64`:
/// log-softmax over the classes, then the negative log-likelihood of the
/// labels, mean over the batch. Returns the loss and writes `dL/d counts`.
///
/// Per row: `m = max_c counts` (the first of equal maxima), `s = sum_c
/// exp(counts - m)` from `c = 0`, `log p = (counts - m) - ln s`;
/// `L = -(sum_b log p[b][y_b]) / B` with the sum from `b = 0`;
/// `dL/d counts = g - exp(log p)·g_y` with `g = -1/B` at the label and 0
/// elsewhere, `g_y = -1/B` (PyTorch's log-softmax backward, `sum_c g =
/// g_y`). `exp` and `ln` are the crate's own, in binary64.
pub fn ce_count_loss(
    readout: &Readout,
    counts: &[f64],
    labels: &[usize],
    grad_counts: &mut [f64],
) -> Result<f64, Error> {
    readout.check()?;
    let classes = readout.classes;
    check_len("counts", counts.len(), readout.batch * classes)?;
    check_len(
        "count gradients",
        grad_counts.len(),
        readout.batch * classes,
    )?;
    readout.check_labels(labels)?;
    let batch = readout.batch as f64;
    let label_grad = -(1.0 / batch);
    let mut total = 0.0;
    for ((row, grads), &label) in counts
        .chunks_exact(classes)
        .zip(grad_counts.chunks_exact_mut(classes))
        .zip(labels)
    {
        let max = row[1..]
            .iter()
            .fold(row[0], |m, &v| if v > m { v } else { m });
        let mut sum = 0.0;
        for &v in row {
            sum += Real::exp(v - max);
        }
        let log_sum = Real::ln(sum);
        for (c, (&v, g)) in row.iter().zip(grads.iter_mut()).enumerate() {
            let log_p = (v - max) - log_sum;
            if c == label {
                total += log_p;
            }
            let own = if c == label { label_grad } else { 0.0 };
            *g = own - Real::exp(log_p) * label_grad;
        }
    }
    Ok(-total / batch)
}

/// Spike-count targets of [`mse_count_loss`], as snnTorch computes them:
/// `on = trunc(T · correct_rate · P)` for the label's class,
/// `off = trunc(T · incorrect_rate · P)` for the others.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CountTargets {
    /// Target count of the labelled class.
    pub on: f64,
    /// Target count of every other class.
    pub off: f64,
}

impl CountTargets {
    /// snnTorch's targets for `correct_rate` (default 1) and
    /// `incorrect_rate` (default 0).
    pub fn from_rates(readout: &Readout, correct_rate: f64, incorrect_rate: f64) -> CountTargets {
        let scale = readout.steps as f64 * readout.population as f64;
        CountTargets {
            on: truncate(scale * correct_rate),
            off: truncate(scale * incorrect_rate),
        }
    }
}

/// `trunc` without `std` (the values are small, exact integers after it).
fn truncate(x: f64) -> f64 {
    if x.is_finite() && x.abs() < 9.0e15 {
        (x as i64) as f64
    } else {
        x
    }
}

/// Mean squared error of the class counts against the targets (snnTorch
/// `mse_count_loss`), divided by the number of steps, in `f64`:
/// `L = (sum_{b,c} (count - target)²) / (B·C) / T` with the sum in order
/// `b`, then `c`, and `dL/d count = ((2/(B·C))·(count - target))·(1/T)`
/// (`2/(B·C)` and `1/T` each rounded once). Returns the loss and writes
/// `dL/d counts`. The targets must be finite.
pub fn mse_count_loss(
    readout: &Readout,
    counts: &[f64],
    labels: &[usize],
    targets: CountTargets,
    grad_counts: &mut [f64],
) -> Result<f64, Error> {
    readout.check()?;
    let classes = readout.classes;
    let elements = readout.batch * classes;
    check_len("counts", counts.len(), elements)?;
    check_len("count gradients", grad_counts.len(), elements)?;
    readout.check_labels(labels)?;
    if !(targets.on.is_finite() && targets.off.is_finite()) {
        return Err(Error::InvalidArgument {
            what: "count targets",
            reason: "must be finite numbers (give finite correct and incorrect rates)",
        });
    }
    let (on, off) = (targets.on, targets.off);
    let norm = 2.0 / elements as f64;
    let per_step = 1.0 / readout.steps as f64;
    let mut total = 0.0;
    for ((row, grads), &label) in counts
        .chunks_exact(classes)
        .zip(grad_counts.chunks_exact_mut(classes))
        .zip(labels)
    {
        for (c, (&v, g)) in row.iter().zip(grads.iter_mut()).enumerate() {
            let difference = v - if c == label { on } else { off };
            total += difference * difference;
            *g = (norm * difference) * per_step;
        }
    }
    Ok(total / elements as f64 / readout.steps as f64)
}

// ---- The readout and the count cross-entropy in the layer's precision ----
//
// The IPU has no binary64, so its graph computes the readout and the loss in
// a precision it has (binary32). The functions below are that definition,
// generic over `T`; the per-element steps (`max_step`, `exp_sum_step`,
// `ce_class`, `argmax_step`) are what the code generator traces into the
// population vertices, and the native runner can compute the same bits
// with them (`T = f32`).

/// `acc + a`: one term of the counts' and the loss's sums.
#[inline(always)]
pub fn sum_step<T: Real>(acc: T, a: T) -> T {
    acc + a
}

/// The larger of the running maximum `m` and `v`: `v > m ? v : m` (the
/// first of equal maxima stays; a NaN `v` is skipped).
#[inline(always)]
pub fn max_step<T: Real>(m: T, v: T) -> T {
    T::select(v.gt(m), v, m)
}

/// `s + exp(v - max)`, with the crate's own `exp` in `T`.
#[inline(always)]
pub fn exp_sum_step<T: Real>(s: T, v: T, max: T) -> T {
    s + (v - max).exp()
}

/// One class of one row of the count cross-entropy: `log p = (v - max) -
/// log_sum` and `dL/d count = own - exp(log p)·g_y`, where `own = g_y` at
/// the label (`is_label > 0`) and `+0` elsewhere, `g_y = -(1 / B)`.
/// Returns `(dL/d count, log p)`.
#[inline(always)]
pub fn ce_class<T: Real>(v: T, max: T, log_sum: T, is_label: T, batch: T) -> (T, T) {
    let label_grad = -(T::one() / batch);
    let log_p = (v - max) - log_sum;
    let own = T::select(is_label.gt(T::zero()), label_grad, T::zero());
    (own - log_p.exp() * label_grad, log_p)
}

/// The loss from the sum of the labels' `log p`: `-total / B`.
#[inline(always)]
pub fn ce_loss<T: Real>(total: T, batch: T) -> T {
    -total / batch
}

/// One class of the prediction: the running `(best count, whether the best
/// class is the label)` after class `c` with count `v` (`is_label` 1 at the
/// label, 0 elsewhere): `v > best` takes it. Start from `(-inf, is_label
/// of class 0)`, so that a row with no count above `-inf` predicts class 0
/// as [`spike_counts`]' users do.
#[inline(always)]
pub fn argmax_step<T: Real>(best: (T, T), v: T, is_label: T) -> (T, T) {
    let take = v.gt(best.0);
    (
        T::select(take, v, best.0),
        T::select(take, is_label, best.1),
    )
}

/// [`spike_counts`] in `T`: `counts[b][c] = sum_t sum_p spk[t][b][c·P + p]`,
/// over the population first (from `p = 0`, starting at that spike), then
/// over time from `t = 0`, one rounding in `T` per addition
/// ([`sum_step`]). In binary32 counts of 0/1 spikes are exact integers up
/// to 2^24.
pub fn spike_counts_in<T: Real>(
    readout: &Readout,
    spikes: &[T],
    counts: &mut [T],
) -> Result<(), Error> {
    let (outputs, len) = readout.check()?;
    check_len("spikes", spikes.len(), len)?;
    check_len("counts", counts.len(), readout.batch * readout.classes)?;
    count_groups(readout, outputs, spikes, counts, |v| v, sum_step);
    Ok(())
}

/// [`spike_counts_backward`] in `T`: every spike of class `c` in row `b`, at
/// every step, receives `grad_counts[b][c]` (no rounding).
pub fn spike_counts_backward_in<T: Real>(
    readout: &Readout,
    grad_counts: &[T],
    grad_spikes: &mut [T],
) -> Result<(), Error> {
    let (outputs, len) = readout.check()?;
    check_len(
        "count gradients",
        grad_counts.len(),
        readout.batch * readout.classes,
    )?;
    check_len("spike gradients", grad_spikes.len(), len)?;
    spread_groups(readout, outputs, grad_spikes, |k| grad_counts[k]);
    Ok(())
}

/// [`ce_count_loss`] in `T` (binary32 on the IPU): per row `m = max_c
/// counts` ([`max_step`] from class 0), `s = sum_c exp(counts - m)` from
/// `+0`, `c = 0` up ([`exp_sum_step`]), `ln s`; per class [`ce_class`];
/// `L = -(sum_b log p[b][y_b]) / B` ([`ce_loss`]), the sum from `+0`, rows
/// ascending, `B` the batch as a `T`. `exp` and `ln` are the crate's own,
/// in `T`. Returns the loss and writes `dL/d counts`.
pub fn ce_count_loss_in<T: Real>(
    readout: &Readout,
    counts: &[T],
    labels: &[usize],
    grad_counts: &mut [T],
) -> Result<T, Error> {
    readout.check()?;
    let classes = readout.classes;
    check_len("counts", counts.len(), readout.batch * classes)?;
    check_len(
        "count gradients",
        grad_counts.len(),
        readout.batch * classes,
    )?;
    readout.check_labels(labels)?;
    let batch = T::constant(readout.batch as f64);
    let mut total = T::zero();
    for ((row, grads), &label) in counts
        .chunks_exact(classes)
        .zip(grad_counts.chunks_exact_mut(classes))
        .zip(labels)
    {
        let max = row[1..].iter().fold(row[0], |m, &v| max_step(m, v));
        let sum = row.iter().fold(T::zero(), |s, &v| exp_sum_step(s, v, max));
        let log_sum = sum.ln();
        for (c, (&v, g)) in row.iter().zip(grads.iter_mut()).enumerate() {
            let is_label = if c == label { T::one() } else { T::zero() };
            let (grad, log_p) = ce_class(v, max, log_sum, is_label, batch);
            *g = grad;
            if c == label {
                total = sum_step(total, log_p);
            }
        }
    }
    Ok(ce_loss(total, batch))
}

/// The label's `log p` of a row, kept while the classes are visited:
/// `is_label > 0 ? log_p : picked`.
#[inline(always)]
pub fn pick_step<T: Real>(picked: T, log_p: T, is_label: T) -> T {
    T::select(is_label.gt(T::zero()), log_p, picked)
}
