//! The training loop: epochs of shuffled mini-batches, each encoded into
//! spike sequences, run forward and backward on the native kernels, and
//! applied by the optimiser; a test pass after every epoch.
//!
//! Everything random is a function of the seed and the position in the run
//! (the epoch's shuffle, each sample's encoding, each layer's surrogate
//! noise), so a run is the same on any thread count, and a run resumed from
//! a checkpoint ends with the same weights, bit for bit, as one that never
//! stopped.

use std::time::Instant;

use crate::data::{permutation, Dataset};
use crate::encode::{self, Encoder};
use crate::native::{Batch, Loss, Native, StepError};
use crate::network::Precision;
use crate::optim::{LossScale, Optimizer, OptimizerKind};
use crate::params::Values;

/// How to train.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    /// Passes over the training set.
    pub epochs: usize,
    /// Rows per mini-batch (the last batch of an epoch may be smaller).
    pub batch: usize,
    /// Time steps per sample.
    pub steps: usize,
    /// How images become spike sequences.
    pub encoder: Encoder,
    /// The loss.
    pub loss: Loss,
    /// The optimiser.
    pub optimizer: OptimizerKind,
    /// Gradient clipping by total norm.
    pub clip: Option<f64>,
    /// The seed of everything random.
    pub seed: u64,
}

/// The running sums of the epoch in progress.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct EpochProgress {
    /// Batches done.
    pub batches: usize,
    /// Sum of the batches' losses.
    pub loss_sum: f64,
    /// Training rows predicted right.
    pub correct: usize,
    /// Training rows seen.
    pub seen: usize,
    /// Seconds spent.
    pub seconds: f64,
    /// Steps skipped for overflow in this epoch.
    pub skipped: u64,
}

/// Everything a run needs to continue: what a checkpoint holds.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainState {
    /// The weights (binary32 master copy).
    pub values: Values,
    /// The optimiser and its moments.
    pub optimizer: Optimizer,
    /// The loss scale (fp16).
    pub scale: LossScale,
    /// The epoch in progress (0-based).
    pub epoch: usize,
    /// The epoch's progress.
    pub progress: EpochProgress,
}

impl TrainState {
    /// The state before the first step.
    pub fn new(values: Values, config: &TrainConfig, precision: Precision) -> TrainState {
        let optimizer = Optimizer::new(config.optimizer, &values);
        TrainState {
            values,
            optimizer,
            scale: match precision {
                Precision::F32 => LossScale::none(),
                Precision::F16 => LossScale::new(),
            },
            epoch: 0,
            progress: EpochProgress::default(),
        }
    }
}

/// One epoch's results.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochMetrics {
    /// The epoch, from 1.
    pub epoch: usize,
    /// Mean training loss over its batches.
    pub loss: f64,
    /// Training accuracy (predictions made during training).
    pub train_accuracy: f64,
    /// Test loss.
    pub test_loss: f64,
    /// Test accuracy.
    pub test_accuracy: f64,
    /// Training samples per second.
    pub samples_per_second: f64,
    /// Seconds for the epoch (training and test).
    pub seconds: f64,
    /// Steps skipped for overflow (fp16).
    pub skipped_steps: u64,
    /// The loss scale at the end (fp16; 1 in fp32).
    pub loss_scale: f32,
}

/// What the loop tells its observer.
#[derive(Clone, Copy, Debug)]
pub enum Event<'a> {
    /// A training batch is done.
    Batch {
        /// The epoch, from 1.
        epoch: usize,
        /// Batches done in it.
        done: usize,
        /// Batches in it.
        total: usize,
        /// The state after it (for checkpoints).
        state: &'a TrainState,
    },
    /// An epoch is done.
    Epoch {
        /// Its metrics.
        metrics: &'a EpochMetrics,
        /// The state after it.
        state: &'a TrainState,
    },
}

/// What the observer wants next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Control {
    /// Go on.
    Continue,
    /// Stop after this event (the state is consistent: a checkpoint of it
    /// resumes exactly here).
    Stop,
}

/// What one training step gave.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepOutcome {
    /// The batch's loss.
    pub loss: f64,
    /// Rows predicted right.
    pub correct: usize,
    /// True when the update was skipped (fp16 overflow).
    pub skipped: bool,
}

/// Runs training steps: the forward and backward passes of a batch and the
/// update of the state.
pub trait StepRunner {
    /// One step on `batch`, updating `state`'s values, optimiser and loss
    /// scale.
    fn step(
        &mut self,
        batch: &Batch<'_>,
        config: &TrainConfig,
        state: &mut TrainState,
    ) -> Result<StepOutcome, StepError>;
}

/// Steps on the native kernels.
pub struct NativeSteps<'a>(pub &'a Native);

impl StepRunner for NativeSteps<'_> {
    fn step(
        &mut self,
        batch: &Batch<'_>,
        config: &TrainConfig,
        state: &mut TrainState,
    ) -> Result<StepOutcome, StepError> {
        let (prediction, mut gradients) =
            self.0
                .step(&state.values, batch, config.loss, state.scale.scale)?;
        let skipped = !state.scale.update(gradients.overflow);
        if !skipped {
            state
                .optimizer
                .apply(&mut state.values, &mut gradients.tensors, config.clip);
        }
        Ok(StepOutcome {
            loss: prediction.loss,
            correct: prediction.correct(batch.labels),
            skipped,
        })
    }
}

/// Encodes rows `indices` of `data` into a batch and runs `f` on it.
fn with_batch<R>(
    data: &Dataset,
    indices: &[usize],
    config: &TrainConfig,
    stream: u32,
    f: impl FnOnce(&Batch<'_>) -> R,
) -> R {
    let features = data.features;
    let samples: Vec<f32> = indices
        .iter()
        .flat_map(|&i| data.image(i).iter().copied())
        .collect();
    let labels: Vec<usize> = indices.iter().map(|&i| data.labels[i]).collect();
    let mut inputs = vec![0.0f32; config.steps * indices.len() * features];
    config.encoder.encode(
        &samples,
        features,
        indices,
        config.steps,
        stream,
        &mut inputs,
    );
    f(&Batch {
        inputs: &inputs,
        labels: &labels,
        steps: config.steps,
        seed: stream,
    })
}

/// The loss and accuracy on `data` (encoded with a stream that does not
/// depend on the epoch, so that every evaluation sees the same spikes).
pub fn evaluate(
    native: &Native,
    values: &Values,
    data: &Dataset,
    config: &TrainConfig,
) -> Result<(f64, f64), StepError> {
    let stream = encode::stream(config.seed, usize::MAX);
    let order: Vec<usize> = (0..data.len()).collect();
    let (mut loss_sum, mut correct, mut batches) = (0.0f64, 0usize, 0usize);
    for indices in order.chunks(config.batch) {
        let prediction = with_batch(data, indices, config, stream, |batch| {
            native.predict(values, batch, config.loss)
        })?;
        let labels: Vec<usize> = indices.iter().map(|&i| data.labels[i]).collect();
        loss_sum += prediction.loss;
        correct += prediction.correct(&labels);
        batches += 1;
    }
    Ok((
        loss_sum / batches.max(1) as f64,
        correct as f64 / data.len().max(1) as f64,
    ))
}

/// Trains from `state` until `config.epochs` epochs are done or the
/// observer says stop. Returns the metrics of the epochs finished here.
pub fn train(
    native: &Native,
    config: &TrainConfig,
    train: &Dataset,
    test: &Dataset,
    state: &mut TrainState,
    observer: &mut dyn FnMut(Event<'_>) -> Control,
) -> Result<Vec<EpochMetrics>, StepError> {
    train_with(
        &mut NativeSteps(native),
        native,
        config,
        train,
        test,
        state,
        observer,
    )
}

/// [`train`] with the training steps run by `steps` (the test passes stay
/// on `native`).
pub fn train_with(
    steps: &mut dyn StepRunner,
    native: &Native,
    config: &TrainConfig,
    train: &Dataset,
    test: &Dataset,
    state: &mut TrainState,
    observer: &mut dyn FnMut(Event<'_>) -> Control,
) -> Result<Vec<EpochMetrics>, StepError> {
    let mut finished = Vec::new();
    let batches = train.len().div_ceil(config.batch);
    while state.epoch < config.epochs {
        let epoch = state.epoch;
        let order = permutation(train.len(), config.seed, epoch as u64);
        let stream = encode::stream(config.seed, epoch);
        for b in state.progress.batches..batches {
            let started = Instant::now();
            let indices = &order[b * config.batch..((b + 1) * config.batch).min(train.len())];
            let outcome = with_batch(train, indices, config, stream, |batch| {
                steps.step(batch, config, state)
            })?;
            if outcome.skipped {
                state.progress.skipped += 1;
            }
            let p = &mut state.progress;
            p.batches += 1;
            p.loss_sum += outcome.loss;
            p.correct += outcome.correct;
            p.seen += indices.len();
            p.seconds += started.elapsed().as_secs_f64();
            let control = observer(Event::Batch {
                epoch: epoch + 1,
                done: p.batches,
                total: batches,
                state,
            });
            if control == Control::Stop {
                return Ok(finished);
            }
        }
        let tested = Instant::now();
        let (test_loss, test_accuracy) = evaluate(native, &state.values, test, config)?;
        let p = state.progress;
        let metrics = EpochMetrics {
            epoch: epoch + 1,
            loss: p.loss_sum / p.batches.max(1) as f64,
            train_accuracy: p.correct as f64 / p.seen.max(1) as f64,
            test_loss,
            test_accuracy,
            samples_per_second: p.seen as f64 / p.seconds.max(1e-9),
            seconds: p.seconds + tested.elapsed().as_secs_f64(),
            skipped_steps: p.skipped,
            loss_scale: state.scale.scale,
        };
        state.epoch += 1;
        state.progress = EpochProgress::default();
        finished.push(metrics);
        if observer(Event::Epoch {
            metrics: &metrics,
            state,
        }) == Control::Stop
        {
            break;
        }
    }
    Ok(finished)
}
