//! The JSON records of a checkpoint's metadata: the training configuration,
//! the data's identity and the training state's scalars. They are the
//! file's own types, not the program's (a change of an in-memory type does
//! not silently change the format), and refuse unknown fields.
//!
//! Floating-point values are JSON numbers written with the fewest digits
//! that read back to the same bits (serde_json with `float_roundtrip`, which
//! the crate's manifest turns on: without it, reading is only "best
//! effort", and a resumed run would not be bit-exact).

use serde::{Deserialize, Serialize};

use crate::encode::Encoder;
use crate::native::Loss;
use crate::optim::OptimizerKind;
use crate::train::{EpochProgress, TrainConfig};

#[derive(Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case", deny_unknown_fields)]
pub(super) enum EncoderRecord {
    Rate,
    Latency { threshold: f64 },
    Current,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case", deny_unknown_fields)]
pub(super) enum LossRecord {
    CeCount,
    MseCount {
        correct_rate: f64,
        incorrect_rate: f64,
    },
    CeMembrane,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case", deny_unknown_fields)]
pub(super) enum OptimizerRecord {
    Adam {
        lr: f64,
        beta1: f64,
        beta2: f64,
        eps: f64,
    },
    Sgd {
        lr: f64,
        momentum: f64,
    },
}

/// `TrainConfig`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ConfigRecord {
    epochs: usize,
    batch: usize,
    steps: usize,
    encoder: EncoderRecord,
    loss: LossRecord,
    optimizer: OptimizerRecord,
    clip: Option<f64>,
    seed: u64,
}

impl ConfigRecord {
    pub(super) fn of(c: &TrainConfig) -> ConfigRecord {
        ConfigRecord {
            epochs: c.epochs,
            batch: c.batch,
            steps: c.steps,
            encoder: match c.encoder {
                Encoder::Rate => EncoderRecord::Rate,
                Encoder::Latency { threshold } => EncoderRecord::Latency { threshold },
                Encoder::Current => EncoderRecord::Current,
            },
            loss: match c.loss {
                Loss::CeCount => LossRecord::CeCount,
                Loss::CeMembrane => LossRecord::CeMembrane,
                Loss::MseCount {
                    correct_rate,
                    incorrect_rate,
                } => LossRecord::MseCount {
                    correct_rate,
                    incorrect_rate,
                },
            },
            optimizer: match c.optimizer {
                OptimizerKind::Adam {
                    lr,
                    beta1,
                    beta2,
                    eps,
                } => OptimizerRecord::Adam {
                    lr,
                    beta1,
                    beta2,
                    eps,
                },
                OptimizerKind::Sgd { lr, momentum } => OptimizerRecord::Sgd { lr, momentum },
            },
            clip: c.clip,
            seed: c.seed,
        }
    }

    pub(super) fn config(self) -> TrainConfig {
        TrainConfig {
            epochs: self.epochs,
            batch: self.batch,
            steps: self.steps,
            encoder: match self.encoder {
                EncoderRecord::Rate => Encoder::Rate,
                EncoderRecord::Latency { threshold } => Encoder::Latency { threshold },
                EncoderRecord::Current => Encoder::Current,
            },
            loss: match self.loss {
                LossRecord::CeCount => Loss::CeCount,
                LossRecord::CeMembrane => Loss::CeMembrane,
                LossRecord::MseCount {
                    correct_rate,
                    incorrect_rate,
                } => Loss::MseCount {
                    correct_rate,
                    incorrect_rate,
                },
            },
            optimizer: match self.optimizer {
                OptimizerRecord::Adam {
                    lr,
                    beta1,
                    beta2,
                    eps,
                } => OptimizerKind::Adam {
                    lr,
                    beta1,
                    beta2,
                    eps,
                },
                OptimizerRecord::Sgd { lr, momentum } => OptimizerKind::Sgd { lr, momentum },
            },
            clip: self.clip,
            seed: self.seed,
        }
    }
}

/// `DataIdentity`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DataRecord {
    pub(super) name: String,
    pub(super) train: usize,
    pub(super) test: usize,
    pub(super) features: usize,
    pub(super) classes: usize,
    /// `crc64:` and 16 hex digits.
    pub(super) checksum: String,
}

/// `EpochProgress`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ProgressRecord {
    batches: usize,
    loss_sum: f64,
    correct: usize,
    seen: usize,
    seconds: f64,
    skipped: u64,
}

impl ProgressRecord {
    pub(super) fn of(p: &EpochProgress) -> ProgressRecord {
        ProgressRecord {
            batches: p.batches,
            loss_sum: p.loss_sum,
            correct: p.correct,
            seen: p.seen,
            seconds: p.seconds,
            skipped: p.skipped,
        }
    }

    pub(super) fn progress(&self) -> EpochProgress {
        EpochProgress {
            batches: self.batches,
            loss_sum: self.loss_sum,
            correct: self.correct,
            seen: self.seen,
            seconds: self.seconds,
            skipped: self.skipped,
        }
    }
}

/// `LossScale` (the scale, a binary32, as the binary64 of the same value:
/// reading a binary64 back is exact, a decimal read as binary32 need not be).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ScaleRecord {
    pub(super) scale: f64,
    pub(super) good_steps: u32,
    pub(super) interval: u32,
    pub(super) skipped: u64,
}

/// The scalars of `TrainState` (its tensors are the file's tensors).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StateRecord {
    pub(super) epoch: usize,
    pub(super) progress: ProgressRecord,
    pub(super) optimizer_step: u64,
    pub(super) loss_scale: ScaleRecord,
}
