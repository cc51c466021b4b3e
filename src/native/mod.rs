//! The network run on this CPU with the native kernels: the forward pass
//! over all steps (dense layers over all `T x B` rows at once, spiking
//! layers with the fused multi-step kernels), the population readout and the
//! loss, and the backward pass through time, giving the gradient of every
//! learnable tensor.
//!
//! In fp16 the spiking layers run in binary16 (`F16`, every operation
//! rounded to binary16); the dense layers, the readout, the loss and the
//! gradients of the master weights stay binary32. The loss gradient is
//! multiplied by the loss scale before it enters the binary16 layers, and
//! every gradient is divided by it at the end (the scale is a power of two,
//! so both are exact); a binary16 gradient that saturated or is not finite
//! marks the step as overflowed.

pub mod dense;
pub mod events;
pub mod spiking;

use std::fmt;

use snn_kernels::population::{
    ce_count_loss, ce_count_loss_in, mse_count_loss, spike_counts, spike_counts_backward,
    spike_counts_backward_in, spike_counts_in, CountTargets, Readout,
};
use snn_kernels::F16;

use self::spiking::{Element, LayerGrads, LayerRun, Pool, SavedLayer};
use crate::network::{LayerSpec, NetworkSpec, NeuronSpec, Precision, Recurrence, TensorRole};
use crate::params::Values;

/// The loss of a training step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Loss {
    /// Cross-entropy of the population spike counts (snnTorch
    /// `ce_count_loss`).
    CeCount,
    /// Mean squared error of the counts against target rates (snnTorch
    /// `mse_count_loss`).
    MseCount {
        /// Target firing rate of the labelled class (default 1).
        correct_rate: f64,
        /// Target firing rate of the other classes (default 0).
        incorrect_rate: f64,
    },
    /// Cross-entropy of the output layer's membrane at every step, summed
    /// over the steps (each step's term the mean over the batch rows), as
    /// snnTorch's tutorials train with `nn.CrossEntropyLoss` on `mem_rec`:
    /// `L = sum_t mean_b CE(m_t[b], y_b)`, where class `c`'s logit
    /// `m_t[b][c]` is the sum of the membranes of its population (the
    /// membrane itself with one neuron per class). Accuracy still comes
    /// from the population spike counts.
    CeMembrane,
}

impl Loss {
    /// The names the command accepts.
    pub const NAMES: [&'static str; 3] = ["ce_count", "mse_count", "ce_membrane"];

    /// The loss named `name` with snnTorch's defaults.
    pub fn parse(name: &str) -> Option<Loss> {
        match name {
            "ce_count" => Some(Loss::CeCount),
            "mse_count" => Some(Loss::MseCount {
                correct_rate: 1.0,
                incorrect_rate: 0.0,
            }),
            "ce_membrane" => Some(Loss::CeMembrane),
            _ => None,
        }
    }

    /// The loss's name.
    pub fn name(&self) -> &'static str {
        match self {
            Loss::CeCount => "ce_count",
            Loss::MseCount { .. } => "mse_count",
            Loss::CeMembrane => "ce_membrane",
        }
    }
}

/// The precision of the readout and the loss.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LossPrecision {
    /// Counts, loss and count gradients in binary64 (`population::spike_counts`,
    /// `ce_count_loss`, ...): the native default.
    #[default]
    F64,
    /// Counts, loss and count gradients in binary32 with the generic
    /// definitions (`population::spike_counts_in`, `ce_count_loss_in`): what
    /// the IPU graph computes (it has no binary64). Count cross-entropy only.
    F32,
}

/// A failure of a training step.
#[derive(Clone, Debug, PartialEq)]
pub struct StepError(pub String);

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StepError {}

impl From<snn_kernels::Error> for StepError {
    fn from(e: snn_kernels::Error) -> Self {
        StepError(e.to_string())
    }
}

/// One batch of encoded inputs.
#[derive(Clone, Copy, Debug)]
pub struct Batch<'a> {
    /// `[T][B][F]` input sequences.
    pub inputs: &'a [f32],
    /// The label of each row.
    pub labels: &'a [usize],
    /// Time steps.
    pub steps: usize,
    /// The stochastic surrogates' stream.
    pub seed: u32,
}

impl Batch<'_> {
    fn rows(&self) -> usize {
        self.labels.len()
    }
}

/// The prediction, `dL/d output spikes` and (membrane loss) `dL/d output
/// membrane`.
type Scored = (Prediction, Vec<f32>, Option<Vec<f32>>);

/// What a forward pass gives.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    /// Class spike counts `[B][C]` (the readout counts in `f64`).
    pub counts: Vec<f64>,
    /// The predicted class of each row (the first class with the most spikes).
    pub classes: Vec<usize>,
    /// The loss.
    pub loss: f64,
}

impl Prediction {
    /// Rows whose prediction equals the label.
    pub fn correct(&self, labels: &[usize]) -> usize {
        self.classes
            .iter()
            .zip(labels)
            .filter(|(p, l)| p == l)
            .count()
    }
}

/// What a training step's backward pass gives.
#[derive(Clone, Debug, PartialEq)]
pub struct Gradients {
    /// `dL/d tensor`, in the order of [`Values::tensors`] (divided by the
    /// loss scale).
    pub tensors: Vec<Vec<f32>>,
    /// True when a binary16 gradient saturated or was not finite (the step
    /// must be skipped and the loss scale lowered).
    pub overflow: bool,
}

/// The network's layers run on this CPU.
#[derive(Clone, Debug)]
pub struct Native {
    spec: NetworkSpec,
    dense: dense::Dense,
    loss_precision: LossPrecision,
    /// Memory kept from one step for the next (see [`Pool`]); shared by
    /// clones.
    pool: Pool,
}

/// What the forward pass keeps for the backward pass.
struct Tape<T> {
    /// Per layer: the dense layer's input (`[T·B][in]`), or the spiking
    /// layer's saved values.
    layers: Vec<LayerTape<T>>,
    /// The output spikes as binary32.
    output: Vec<f32>,
}

enum LayerTape<T> {
    /// The input (see [`DenseInput`]), and its active entries when the
    /// forward pass scanned them.
    Dense(DenseInput, Option<events::Events>),
    Spiking(SavedLayer<T>, Vec<Vec<T>>),
}

/// Where a dense layer's input is, without copying it.
enum DenseInput {
    /// The batch's inputs (the first layer).
    Batch,
    /// The previous layer's spikes, which are binary32 (fp32).
    Spikes,
    /// Its own copy: the output of a dense layer, or binary16 spikes as
    /// binary32.
    Own(Vec<f32>),
}

/// The current activation of the forward pass, without copying it.
enum Activation {
    /// The batch's inputs.
    Batch,
    /// The spikes of the last layer on the tape (binary32 only).
    Spikes,
    /// Values of its own.
    Own(Vec<f32>),
}

impl<T: Element> Tape<T> {
    /// The values of `input`, the input of layer `layer`.
    fn input<'s>(&'s self, input: &'s DenseInput, layer: usize, batch: &Batch<'s>) -> &'s [f32] {
        match input {
            DenseInput::Batch => batch.inputs,
            DenseInput::Own(v) => v,
            DenseInput::Spikes => self.spikes_before(layer),
        }
    }

    /// The binary32 spikes of the layer before `layer`.
    fn spikes_before(&self, layer: usize) -> &[f32] {
        match layer.checked_sub(1).and_then(|k| self.layers.get(k)) {
            Some(LayerTape::Spiking(saved, _)) => {
                T::as_f32(&saved.spikes).expect("binary32 spikes stand in for a copy")
            }
            _ => unreachable!("spikes come from a spiking layer"),
        }
    }
}

impl Native {
    /// A runner for `spec` (checked).
    pub fn new(spec: &NetworkSpec) -> Result<Native, crate::network::SpecError> {
        spec.validate()?;
        Ok(Native {
            spec: spec.clone(),
            dense: dense::Dense::default(),
            loss_precision: LossPrecision::default(),
            pool: Pool::default(),
        })
    }

    /// The same runner with the dense layers computed by `dense` (the
    /// default: [`dense::Dense::Fast`] on one thread).
    pub fn with_dense(mut self, dense: dense::Dense) -> Native {
        self.dense = match dense {
            dense::Dense::Defined => dense::Dense::Defined,
            dense::Dense::Fast { threads } => dense::Dense::Fast {
                threads: threads.max(1),
            },
            dense::Dense::Gemm { threads } => dense::Dense::Gemm {
                threads: threads.max(1),
            },
            dense::Dense::Events { threads } => dense::Dense::Events {
                threads: threads.max(1),
            },
        };
        self
    }

    /// The same runner with the readout and the loss in `precision` (the
    /// default: [`LossPrecision::F64`]).
    pub fn with_loss_precision(mut self, precision: LossPrecision) -> Native {
        self.loss_precision = precision;
        self
    }

    /// The precision of its readout and loss.
    pub fn loss_precision(&self) -> LossPrecision {
        self.loss_precision
    }

    /// How its dense layers are computed.
    pub fn dense(&self) -> dense::Dense {
        self.dense
    }

    /// The description it runs.
    pub fn spec(&self) -> &NetworkSpec {
        &self.spec
    }

    fn readout(&self, batch: &Batch<'_>) -> Readout {
        Readout {
            steps: batch.steps,
            batch: batch.rows(),
            classes: self.spec.classes,
            population: self.spec.population,
        }
    }

    fn check(&self, values: &Values, batch: &Batch<'_>) -> Result<(), StepError> {
        if values.specs != self.spec.tensors() {
            return Err(StepError("the values are not this network's".into()));
        }
        for (t, s) in values.tensors.iter().zip(&values.specs) {
            if t.len() != s.len() {
                return Err(StepError(format!(
                    "{} has {} values, needs {}",
                    s.name,
                    t.len(),
                    s.len()
                )));
            }
        }
        let expected = batch
            .steps
            .checked_mul(batch.rows())
            .and_then(|v| v.checked_mul(self.spec.inputs));
        if batch.rows() == 0 || batch.steps == 0 {
            return Err(StepError("an empty batch".into()));
        }
        if expected != Some(batch.inputs.len()) {
            return Err(StepError(format!(
                "the batch has {} input values; {} steps x {} rows x {} features need {}",
                batch.inputs.len(),
                batch.steps,
                batch.rows(),
                self.spec.inputs,
                expected.map_or("more than fit in memory".to_string(), |v| v.to_string())
            )));
        }
        if let Some(&label) = batch.labels.iter().find(|&&l| l >= self.spec.classes) {
            return Err(StepError(format!(
                "label {label} is not a class of this network (0..{})",
                self.spec.classes
            )));
        }
        Ok(())
    }

    /// The forward pass only: the prediction and the loss.
    pub fn predict(
        &self,
        values: &Values,
        batch: &Batch<'_>,
        loss: Loss,
    ) -> Result<Prediction, StepError> {
        self.check(values, batch)?;
        match self.spec.precision {
            Precision::F32 => self.forward::<f32>(values, batch).and_then(|tape| {
                let scored = self.score(&tape, batch, loss).map(|(p, ..)| p);
                self.recycle(tape);
                scored
            }),
            Precision::F16 => self.forward::<F16>(values, batch).and_then(|tape| {
                let scored = self.score(&tape, batch, loss).map(|(p, ..)| p);
                self.recycle(tape);
                scored
            }),
        }
    }

    /// A training step's forward and backward passes: the prediction, the
    /// loss and every tensor's gradient. `scale` multiplies the loss
    /// gradient inside the binary16 layers (1 in fp32; a power of two).
    pub fn step(
        &self,
        values: &Values,
        batch: &Batch<'_>,
        loss: Loss,
        scale: f32,
    ) -> Result<(Prediction, Gradients), StepError> {
        self.check(values, batch)?;
        match self.spec.precision {
            Precision::F32 => self.train_step::<f32>(values, batch, loss, scale),
            Precision::F16 => self.train_step::<F16>(values, batch, loss, scale),
        }
    }

    /// The parameter values of spiking layer `layer` in precision `T`: the
    /// learnable ones from `values`, the others from the description.
    fn neuron_params<T: Element>(&self, values: &Values, layer: usize) -> Vec<Vec<T>> {
        let LayerSpec::Spiking { neuron, .. } = &self.spec.layers[layer] else {
            unreachable!("called for spiking layers")
        };
        neuron
            .params
            .iter()
            .enumerate()
            .map(|(k, p)| {
                let learned = values
                    .specs
                    .iter()
                    .zip(&values.tensors)
                    .find(|(s, _)| s.layer == layer && s.role == TensorRole::NeuronParam(k));
                match learned {
                    Some((_, v)) => v.iter().map(|&x| T::from_f32(x)).collect(),
                    None => vec![T::from_f32(p.value as f32)],
                }
            })
            .collect()
    }

    fn tensor<'v>(&self, values: &'v Values, layer: usize, role: TensorRole) -> &'v [f32] {
        values
            .specs
            .iter()
            .zip(&values.tensors)
            .find(|(s, _)| s.layer == layer && s.role == role)
            .map(|(_, v)| v.as_slice())
            .expect("the network's tensors")
    }

    fn forward<T: Element>(
        &self,
        values: &Values,
        batch: &Batch<'_>,
    ) -> Result<Tape<T>, StepError> {
        let rows = batch.steps * batch.rows();
        let mut act = Activation::Batch;
        let mut width = self.spec.inputs;
        let mut tape = Tape {
            layers: Vec::with_capacity(self.spec.layers.len()),
            output: Vec::new(),
        };
        for (i, layer) in self.spec.layers.iter().enumerate() {
            match layer {
                LayerSpec::Dense { inputs, outputs } => {
                    let w = self.tensor(values, i, TensorRole::Weight);
                    let b = self.tensor(values, i, TensorRole::Bias);
                    let mut y = self.pool.take(rows * outputs);
                    y.resize(rows * outputs, 0.0);
                    let input = match std::mem::replace(&mut act, Activation::Batch) {
                        Activation::Batch => DenseInput::Batch,
                        Activation::Spikes => DenseInput::Spikes,
                        Activation::Own(v) => DenseInput::Own(v),
                    };
                    let x = tape.input(&input, i, batch);
                    let scanned = self
                        .dense
                        .forward_keeping(x, w, b, &mut y, rows, *inputs, *outputs);
                    tape.layers.push(LayerTape::Dense(input, scanned));
                    act = Activation::Own(y);
                    width = *outputs;
                }
                LayerSpec::Spiking { neurons, neuron } => {
                    let params = self.neuron_params::<T>(values, i);
                    let run = self.layer_run(values, batch, i, *neurons, neuron, &params);
                    let x: Vec<T> = match std::mem::replace(&mut act, Activation::Batch) {
                        Activation::Own(v) => T::from_f32_vec(v),
                        Activation::Batch => batch.inputs.iter().map(|&v| T::from_f32(v)).collect(),
                        Activation::Spikes => match tape.layers.last() {
                            Some(LayerTape::Spiking(saved, _)) => saved.spikes.clone(),
                            _ => unreachable!("spikes come from a spiking layer"),
                        },
                    };
                    let mut saved = SavedLayer::default();
                    spiking::forward_pooled(&run, x, &mut saved, &self.pool)?;
                    act = if T::as_f32(&saved.spikes).is_some() {
                        Activation::Spikes
                    } else {
                        Activation::Own(saved.spikes.iter().map(|s| s.to_f32()).collect())
                    };
                    tape.layers.push(LayerTape::Spiking(saved, params));
                    debug_assert_eq!(width, *neurons);
                }
            }
        }
        tape.output = match act {
            Activation::Own(v) => v,
            Activation::Batch => batch.inputs.to_vec(),
            Activation::Spikes => tape.spikes_before(tape.layers.len()).to_vec(),
        };
        Ok(tape)
    }

    /// The readout, the loss, `dL/d output spikes` and (membrane loss)
    /// `dL/d output membrane`, `[T][B][N]`.
    fn score<T: Element>(
        &self,
        tape: &Tape<T>,
        batch: &Batch<'_>,
        loss: Loss,
    ) -> Result<Scored, StepError> {
        let readout = self.readout(batch);
        let classes = self.spec.classes;
        if self.loss_precision == LossPrecision::F32 {
            return self.score_f32(tape, batch, loss, &readout);
        }
        let mut counts = vec![0.0f64; batch.rows() * classes];
        spike_counts(&readout, &tape.output, &mut counts)?;
        let mut grad_counts = vec![0.0f64; counts.len()];
        let value = match loss {
            Loss::CeCount => ce_count_loss(&readout, &counts, batch.labels, &mut grad_counts)?,
            Loss::MseCount {
                correct_rate,
                incorrect_rate,
            } => {
                let targets = CountTargets::from_rates(&readout, correct_rate, incorrect_rate);
                mse_count_loss(&readout, &counts, batch.labels, targets, &mut grad_counts)?
            }
            Loss::CeMembrane => 0.0,
        };
        let grad_membrane = match loss {
            Loss::CeMembrane => {
                let (value, grad) = self.membrane_loss(tape, batch)?;
                grad_counts.fill(0.0);
                Some((value, grad))
            }
            _ => None,
        };
        let value = grad_membrane.as_ref().map_or(value, |(v, _)| *v);
        let mut grad_spikes = vec![0.0f32; tape.output.len()];
        spike_counts_backward(&readout, &grad_counts, &mut grad_spikes)?;
        let predicted = predicted_classes(&counts, classes);
        Ok((
            Prediction {
                counts,
                classes: predicted,
                loss: value,
            },
            grad_spikes,
            grad_membrane.map(|(_, g)| g),
        ))
    }

    /// [`Native::score`] with the binary32 definitions
    /// ([`LossPrecision::F32`]): counts, count cross-entropy and its
    /// gradient in binary32.
    fn score_f32<T: Element>(
        &self,
        tape: &Tape<T>,
        batch: &Batch<'_>,
        loss: Loss,
        readout: &Readout,
    ) -> Result<Scored, StepError> {
        if loss != Loss::CeCount {
            return Err(StepError(format!(
                "the f32 loss definition covers the ce_count loss only, not {}",
                loss.name()
            )));
        }
        let classes = self.spec.classes;
        let mut counts = vec![0.0f32; batch.rows() * classes];
        spike_counts_in(readout, &tape.output, &mut counts)?;
        let mut grad_counts = vec![0.0f32; counts.len()];
        let value = ce_count_loss_in(readout, &counts, batch.labels, &mut grad_counts)?;
        let mut grad_spikes = vec![0.0f32; tape.output.len()];
        spike_counts_backward_in(readout, &grad_counts, &mut grad_spikes)?;
        let counts: Vec<f64> = counts.iter().map(|&c| f64::from(c)).collect();
        Ok((
            Prediction {
                classes: predicted_classes(&counts, classes),
                counts,
                loss: f64::from(value),
            },
            grad_spikes,
            None,
        ))
    }

    /// The membrane loss ([`Loss::CeMembrane`]) and its gradient with
    /// respect to every output neuron's membrane, `[T][B][N]`, in binary64
    /// (log-sum-exp with the largest logit subtracted) rounded to binary32.
    fn membrane_loss<T: Element>(
        &self,
        tape: &Tape<T>,
        batch: &Batch<'_>,
    ) -> Result<(f64, Vec<f32>), StepError> {
        let no_membrane = || StepError("the output layer keeps no membrane trajectory".into());
        let (neuron, saved) = match (self.spec.layers.last(), tape.layers.last()) {
            (Some(LayerSpec::Spiking { neuron, .. }), Some(LayerTape::Spiking(saved, _))) => {
                (neuron, saved)
            }
            _ => return Err(no_membrane()),
        };
        let k = spiking::membrane_state(neuron).ok_or_else(no_membrane)?;
        let mem = saved.states.get(k).ok_or_else(no_membrane)?;
        let (rows, classes, pop) = (batch.rows(), self.spec.classes, self.spec.population);
        let n = classes * pop;
        if mem.len() != batch.steps * rows * n {
            return Err(no_membrane());
        }
        let mut grad = vec![0.0f32; mem.len()];
        let mut total = 0.0f64;
        let mut logits = vec![0.0f64; classes];
        for (m_t, g_t) in mem
            .chunks_exact(rows * n)
            .zip(grad.chunks_exact_mut(rows * n))
        {
            let mut step = 0.0f64;
            for ((m, g), &label) in m_t
                .chunks_exact(n)
                .zip(g_t.chunks_exact_mut(n))
                .zip(batch.labels)
            {
                for (logit, group) in logits.iter_mut().zip(m.chunks_exact(pop)) {
                    *logit = group.iter().map(|&v| v.into()).sum();
                }
                let top = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let sum: f64 = logits.iter().map(|&l| (l - top).exp()).sum();
                step += sum.ln() + top - logits[label];
                for (c, group) in g.chunks_exact_mut(pop).enumerate() {
                    let p = (logits[c] - top).exp() / sum;
                    let d = (p - f64::from(u8::from(c == label))) / rows as f64;
                    group.fill(d as f32);
                }
            }
            total += step / rows as f64;
        }
        Ok((total, grad))
    }

    fn train_step<T: Element>(
        &self,
        values: &Values,
        batch: &Batch<'_>,
        loss: Loss,
        scale: f32,
    ) -> Result<(Prediction, Gradients), StepError> {
        let tape = self.forward::<T>(values, batch)?;
        let (prediction, grad_output, grad_membrane) = self.score(&tape, batch, loss)?;
        let last = self.spec.layers.len() - 1;
        let rows = batch.steps * batch.rows();
        let mut grads = values.zeros_like();
        let mut overflow = false;
        // dL/d activation, scaled
        let mut grad: Vec<f32> = grad_output;
        if scale != 1.0 {
            for g in &mut grad {
                *g *= scale;
            }
        }
        let unscale = 1.0 / scale;
        for (i, (layer, layer_tape)) in self.spec.layers.iter().zip(&tape.layers).enumerate().rev()
        {
            match (layer, layer_tape) {
                (LayerSpec::Dense { inputs, outputs }, LayerTape::Dense(input, scanned)) => {
                    let x = tape.input(input, i, batch);
                    let k = self.index(values, i, TensorRole::Weight);
                    let (before, after) = grads.split_at_mut(k + 1);
                    let (dw, db) = (&mut before[k], &mut after[0]);
                    self.dense.backward_weights_with(
                        &grad,
                        x,
                        scanned.as_ref(),
                        dw,
                        db,
                        rows,
                        *inputs,
                        *outputs,
                    );
                    if i > 0 {
                        let w = self.tensor(values, i, TensorRole::Weight);
                        let mut dx = self.pool.take(rows * inputs);
                        dx.resize(rows * inputs, 0.0);
                        self.dense
                            .backward_input(&grad, w, &mut dx, rows, *inputs, *outputs);
                        self.pool.give(std::mem::replace(&mut grad, dx));
                    }
                }
                (LayerSpec::Spiking { neurons, neuron }, LayerTape::Spiking(saved, params)) => {
                    let run = self.layer_run(values, batch, i, *neurons, neuron, params);
                    let grad_spikes: Vec<T> = T::from_f32_vec(std::mem::take(&mut grad));
                    overflow |= grad_spikes.iter().any(|g| g.overflowed());
                    let mut grad_states: Vec<Vec<T>> = Vec::new();
                    if let (true, Some(g)) = (i == last, &grad_membrane) {
                        let k = spiking::membrane_state(neuron)
                            .ok_or_else(|| StepError("the output layer has no membrane".into()))?;
                        grad_states = vec![Vec::new(); saved.states.len()];
                        grad_states[k] = g.iter().map(|&v| T::from_f32(v * scale)).collect();
                        overflow |= grad_states[k].iter().any(|v| v.overflowed());
                    }
                    let mut layer_grads = LayerGrads::default();
                    spiking::backward_pooled(
                        &run,
                        saved,
                        &grad_spikes,
                        &grad_states,
                        &mut layer_grads,
                        &self.pool,
                    )?;
                    T::give(&self.pool, grad_spikes);
                    overflow |= layer_grads.x.iter().any(|g| g.overflowed());
                    for (k, g) in layer_grads.params.iter().enumerate() {
                        overflow |= g.iter().any(|v| v.overflowed());
                        if let Some(t) = self.try_index(values, i, TensorRole::NeuronParam(k)) {
                            grads[t] = g.iter().map(|v| v.to_f32()).collect();
                        }
                    }
                    if let Some((dw, db)) = layer_grads.recurrent {
                        grads[self.index(values, i, TensorRole::RecurrentWeight)] = dw;
                        grads[self.index(values, i, TensorRole::RecurrentBias)] = db;
                    }
                    grad = T::into_f32_vec(std::mem::take(&mut layer_grads.x));
                }
                _ => unreachable!("the tape follows the layers"),
            }
        }
        for g in grads.iter_mut().flatten() {
            *g *= unscale;
            overflow |= !g.is_finite();
        }
        self.pool.give(grad);
        self.recycle(tape);
        Ok((
            prediction,
            Gradients {
                tensors: grads,
                overflow,
            },
        ))
    }

    /// Gives the tape's large vectors to the pool.
    fn recycle<T: Element>(&self, tape: Tape<T>) {
        for layer in tape.layers {
            match layer {
                LayerTape::Dense(DenseInput::Own(v), _) => self.pool.give(v),
                LayerTape::Dense(..) => {}
                LayerTape::Spiking(saved, _) => {
                    for v in [saved.x, saved.rec, saved.spikes]
                        .into_iter()
                        .chain(saved.states)
                    {
                        T::give(&self.pool, v);
                    }
                }
            }
        }
        self.pool.give(tape.output);
    }

    /// Spiking layer `layer` of `values` for `batch`.
    fn layer_run<'a, T>(
        &'a self,
        values: &'a Values,
        batch: &Batch<'_>,
        layer: usize,
        neurons: usize,
        neuron: &'a NeuronSpec,
        params: &'a [Vec<T>],
    ) -> LayerRun<'a, T> {
        let recurrent = (neuron.recurrence == Recurrence::AllToAll).then(|| {
            (
                self.tensor(values, layer, TensorRole::RecurrentWeight),
                self.tensor(values, layer, TensorRole::RecurrentBias),
            )
        });
        LayerRun {
            neuron,
            batch: batch.rows(),
            neurons,
            steps: batch.steps,
            params,
            recurrent,
            seed: batch.seed.wrapping_add(layer as u32),
        }
    }

    fn try_index(&self, values: &Values, layer: usize, role: TensorRole) -> Option<usize> {
        values
            .specs
            .iter()
            .position(|s| s.layer == layer && s.role == role)
    }

    fn index(&self, values: &Values, layer: usize, role: TensorRole) -> usize {
        self.try_index(values, layer, role)
            .expect("the network's tensors")
    }
}

/// Each row's predicted class: the first with the most spikes (class 0
/// when no count is above `-inf`).
fn predicted_classes(counts: &[f64], classes: usize) -> Vec<usize> {
    counts
        .chunks_exact(classes)
        .map(|row| {
            row.iter()
                .enumerate()
                .fold((0, f64::NEG_INFINITY), |best, (c, &v)| {
                    if v > best.1 {
                        (c, v)
                    } else {
                        best
                    }
                })
                .0
        })
        .collect()
}
