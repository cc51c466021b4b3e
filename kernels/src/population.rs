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

/// Spike counts per class: `counts[b][c] = sum_t sum_p spk[t][b][c·P + p]`,
/// summed over the population first, then over time from `t = 0` (snnTorch's
/// `.sum(-1).sum(0)`), one rounding per addition.
pub fn spike_counts<T: Real>(
    readout: &Readout,
    spikes: &[T],
    counts: &mut [T],
) -> Result<(), Error> {
    let (outputs, len) = readout.check()?;
    check_len("spikes", spikes.len(), len)?;
    check_len("counts", counts.len(), readout.batch * readout.classes)?;
    counts.fill(T::zero());
    for (t, step) in spikes.chunks_exact(readout.batch * outputs).enumerate() {
        for (b, row) in step.chunks_exact(outputs).enumerate() {
            for (c, group) in row.chunks_exact(readout.population).enumerate() {
                let mut sum = group[0];
                for &s in &group[1..] {
                    sum = sum + s;
                }
                let count = &mut counts[b * readout.classes + c];
                *count = if t == 0 { sum } else { *count + sum };
            }
        }
    }
    Ok(())
}

/// The gradient of the spikes from the gradient of the counts: every spike
/// of class `c` in row `b`, at every step, receives `grad_counts[b][c]`.
pub fn spike_counts_backward<T: Real>(
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
    for step in grad_spikes.chunks_exact_mut(readout.batch * outputs) {
        for (b, row) in step.chunks_exact_mut(outputs).enumerate() {
            for (c, group) in row.chunks_exact_mut(readout.population).enumerate() {
                group.fill(grad_counts[b * readout.classes + c]);
            }
        }
    }
    Ok(())
}

/// Cross-entropy of the class counts (snnTorch `ce_count_loss`): log-softmax
/// over the classes, then the negative log-likelihood of the labels, mean
/// over the batch. Returns the loss and writes `dL/d counts`.
///
/// Per row: `m = max_c counts`, `s = sum_c exp(counts - m)`,
/// `log p = (counts - m) - ln s`; `L = -(sum_b log p[b][y_b]) / B`;
/// `dL/d counts = g - exp(log p)·(sum_c g)` with `g = -1/B` at the label and
/// 0 elsewhere (PyTorch's log-softmax backward).
pub fn ce_count_loss<T: Real<Mask = bool>>(
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
    let label_grad = -(T::one() / batch);
    let mut total = T::zero();
    for ((row, grads), &label) in counts
        .chunks_exact(classes)
        .zip(grad_counts.chunks_exact_mut(classes))
        .zip(labels)
    {
        let max = row[1..]
            .iter()
            .fold(row[0], |m, &v| T::select(v.gt(m), v, m));
        let mut sum = T::zero();
        for &v in row {
            sum = sum + (v - max).exp();
        }
        let log_sum = sum.ln();
        for (c, (&v, g)) in row.iter().zip(grads.iter_mut()).enumerate() {
            let log_p = (v - max) - log_sum;
            if c == label {
                total = total + log_p;
            }
            let own = if c == label { label_grad } else { T::zero() };
            *g = own - log_p.exp() * label_grad;
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
/// `mse_count_loss`), divided by the number of steps:
/// `L = (sum_{b,c} (count - target)²) / (B·C) / T`, and
/// `dL/d count = ((2/(B·C))·(count - target))·(1/T)`. Returns the loss and
/// writes `dL/d counts`.
pub fn mse_count_loss<T: Real>(
    readout: &Readout,
    counts: &[T],
    labels: &[usize],
    targets: CountTargets,
    grad_counts: &mut [T],
) -> Result<T, Error> {
    readout.check()?;
    let classes = readout.classes;
    let elements = readout.batch * classes;
    check_len("counts", counts.len(), elements)?;
    check_len("count gradients", grad_counts.len(), elements)?;
    readout.check_labels(labels)?;
    let (on, off) = (T::constant(targets.on), T::constant(targets.off));
    let norm = T::constant(2.0 / elements as f64);
    let per_step = T::constant(1.0 / readout.steps as f64);
    let mut total = T::zero();
    for ((row, grads), &label) in counts
        .chunks_exact(classes)
        .zip(grad_counts.chunks_exact_mut(classes))
        .zip(labels)
    {
        for (c, (&v, g)) in row.iter().zip(grads.iter_mut()).enumerate() {
            let difference = v - if c == label { on } else { off };
            total = total + difference * difference;
            *g = (norm * difference) * per_step;
        }
    }
    Ok(total / T::constant(elements as f64) / T::constant(readout.steps as f64))
}
