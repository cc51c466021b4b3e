//! Optimisers over a network's [`Values`], with the kernels' per-element
//! updates (`snn_kernels::optim`, PyTorch's formulas), gradient clipping by
//! norm, and the dynamic loss scale of fp16 training.

use snn_kernels::optim::{clip_factor, Adam, Sgd};

use crate::params::Values;

/// An optimiser and its hyper-parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OptimizerKind {
    /// `torch.optim.Adam(lr, betas=(beta1, beta2), eps)`.
    Adam {
        /// Learning rate.
        lr: f64,
        /// First-moment decay.
        beta1: f64,
        /// Second-moment decay.
        beta2: f64,
        /// Denominator term.
        eps: f64,
    },
    /// `torch.optim.SGD(lr, momentum)`.
    Sgd {
        /// Learning rate.
        lr: f64,
        /// Momentum.
        momentum: f64,
    },
}

impl OptimizerKind {
    /// The learning rate.
    pub fn lr(&self) -> f64 {
        match *self {
            OptimizerKind::Adam { lr, .. } | OptimizerKind::Sgd { lr, .. } => lr,
        }
    }

    /// The names the command accepts.
    pub const NAMES: [&'static str; 2] = ["adam", "sgd"];

    /// The optimiser named `name` with learning rate `lr` and PyTorch's
    /// other defaults (SGD momentum 0.9).
    pub fn parse(name: &str, lr: f64) -> Option<OptimizerKind> {
        match name {
            "adam" => Some(OptimizerKind::Adam {
                lr,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
            }),
            "sgd" => Some(OptimizerKind::Sgd { lr, momentum: 0.9 }),
            _ => None,
        }
    }

    /// Its name.
    pub fn name(&self) -> &'static str {
        match self {
            OptimizerKind::Adam { .. } => "adam",
            OptimizerKind::Sgd { .. } => "sgd",
        }
    }
}

/// An optimiser with its state.
#[derive(Clone, Debug, PartialEq)]
pub struct Optimizer {
    /// Which, with its hyper-parameters.
    pub kind: OptimizerKind,
    /// Updates applied so far.
    pub step: u64,
    /// Adam's first moments, or SGD's momentum buffers.
    pub first: Vec<Vec<f32>>,
    /// Adam's second moments (empty for SGD).
    pub second: Vec<Vec<f32>>,
}

impl Optimizer {
    /// A fresh optimiser for `values`.
    pub fn new(kind: OptimizerKind, values: &Values) -> Optimizer {
        let second = match kind {
            OptimizerKind::Adam { .. } => values.zeros_like(),
            OptimizerKind::Sgd { .. } => Vec::new(),
        };
        Optimizer {
            kind,
            step: 0,
            first: values.zeros_like(),
            second,
        }
    }

    /// One update of `values` with `grads`, clipped first to total 2-norm
    /// `clip` if given (`torch.nn.utils.clip_grad_norm_`: the norm summed in
    /// `f64` over the tensors in order, each in element order).
    pub fn apply(&mut self, values: &mut Values, grads: &mut [Vec<f32>], clip: Option<f64>) {
        if let Some(max_norm) = clip {
            let norm = grads
                .iter()
                .flatten()
                .map(|&g| f64::from(g) * f64::from(g))
                .sum::<f64>()
                .sqrt();
            let factor = clip_factor(norm, max_norm) as f32;
            if factor < 1.0 {
                grads.iter_mut().flatten().for_each(|g| *g *= factor);
            }
        }
        self.step += 1;
        match self.kind {
            OptimizerKind::Adam {
                lr,
                beta1,
                beta2,
                eps,
            } => {
                let adam = Adam::<f32>::at_step(lr, beta1, beta2, eps, self.step);
                for (((p, g), m), v) in values
                    .tensors
                    .iter_mut()
                    .zip(grads.iter())
                    .zip(self.first.iter_mut())
                    .zip(self.second.iter_mut())
                {
                    adam.apply(p, g, m, v)
                        .expect("the optimiser's state has the values' shapes");
                }
            }
            OptimizerKind::Sgd { lr, momentum } => {
                let sgd = Sgd::<f32>::new(lr, momentum);
                let first = self.step == 1;
                for ((p, g), b) in values
                    .tensors
                    .iter_mut()
                    .zip(grads.iter())
                    .zip(self.first.iter_mut())
                {
                    sgd.apply(p, g, b, first)
                        .expect("the optimiser's state has the values' shapes");
                }
            }
        }
    }
}

/// The dynamic loss scale of fp16 training (as PyTorch's `GradScaler`):
/// the loss gradient is multiplied by `scale` before it enters the binary16
/// layers; a step whose gradients overflowed is skipped and the scale
/// halved; after `interval` good steps in a row it doubles.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LossScale {
    /// The current scale (a power of two).
    pub scale: f32,
    /// Good steps since the last change.
    pub good_steps: u32,
    /// Good steps before the scale doubles.
    pub interval: u32,
    /// Steps skipped because of overflow, in total.
    pub skipped: u64,
}

impl LossScale {
    /// PyTorch's defaults: `2^16`, doubling every 2000 good steps.
    pub fn new() -> LossScale {
        LossScale {
            scale: 65536.0,
            good_steps: 0,
            interval: 2000,
            skipped: 0,
        }
    }

    /// No scaling (fp32).
    pub fn none() -> LossScale {
        LossScale {
            scale: 1.0,
            good_steps: 0,
            interval: u32::MAX,
            skipped: 0,
        }
    }

    /// Records a step; true when its update should be applied.
    pub fn update(&mut self, overflow: bool) -> bool {
        if self.interval == u32::MAX {
            return !overflow;
        }
        if overflow {
            self.scale = (self.scale * 0.5).max(1.0 / 65536.0);
            self.good_steps = 0;
            self.skipped += 1;
            false
        } else {
            self.good_steps += 1;
            if self.good_steps >= self.interval {
                self.scale = (self.scale * 2.0).min(2f32.powi(24));
                self.good_steps = 0;
            }
            true
        }
    }
}

impl Default for LossScale {
    fn default() -> Self {
        LossScale::new()
    }
}
