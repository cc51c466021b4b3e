//! The options of `snn-ipu train` and `snn-ipu evaluate`, parsed and
//! checked into a network description and a training configuration.

use std::path::PathBuf;

use crate::encode::Encoder;
use crate::native::Loss;
use crate::network::{
    LayerSpec, ModelKind, NetworkSpec, NeuronParam, NeuronSpec, Recurrence, ResetKind,
    SurrogateKind,
};
use crate::optim::OptimizerKind;
use crate::options::{self, Flags, Precision};
use crate::train::TrainConfig;

/// The options of `train` (and the network part of `evaluate`).
#[derive(Clone, Debug, PartialEq)]
pub struct TrainOptions {
    /// MNIST-style IDX files; `None`: the bundled digits.
    pub data: Option<PathBuf>,
    /// Hidden layer sizes.
    pub hidden: Vec<usize>,
    /// The neuron model.
    pub model: ModelKind,
    /// Reset mechanism (`None`: the model's default).
    pub reset: Option<ResetKind>,
    /// `reset_delay`.
    pub reset_delay: bool,
    /// Recurrence of recurrent models.
    pub recurrence: Recurrence,
    /// Neuron parameter values given (`--beta 0.9` ...).
    pub params: Vec<(String, f64)>,
    /// Learnable neuron parameters.
    pub learn: Vec<String>,
    /// One value per neuron for the learnable parameters.
    pub per_neuron: bool,
    /// The surrogate.
    pub surrogate: SurrogateKind,
    /// The encoder.
    pub encoder: Encoder,
    /// Time steps.
    pub steps: usize,
    /// Batch rows.
    pub batch: usize,
    /// Epochs.
    pub epochs: usize,
    /// Learning rate.
    pub lr: f64,
    /// `adam` or `sgd`.
    pub optimizer: String,
    /// SGD momentum.
    pub momentum: f64,
    /// Gradient clipping.
    pub clip: Option<f64>,
    /// The loss.
    pub loss: Loss,
    /// Spiking layers' precision.
    pub precision: Precision,
    /// Output neurons per class.
    pub population: usize,
    /// Worker threads (0: all cores).
    pub threads: usize,
    /// Where the training steps run (`--backend`).
    pub backend: crate::graph_backend::Backend,
    /// Seed.
    pub seed: u64,
    /// Fraction of the bundled digits held out for testing.
    pub test_fraction: f64,
    /// `--metrics FILE.csv`.
    pub metrics: Option<PathBuf>,
    /// `--plot FILE.png`.
    pub plot: Option<PathBuf>,
    /// `--save FILE` (weights, safetensors).
    pub save: Option<PathBuf>,
    /// `--checkpoint FILE` (written every epoch and on Ctrl-C).
    pub checkpoint: Option<PathBuf>,
    /// `--resume FILE`.
    pub resume: Option<PathBuf>,
    /// `--load FILE` (`evaluate`: the weights to test).
    pub load: Option<PathBuf>,
    /// The options given on the command line, in order (`--resume` and
    /// `evaluate` accept only some).
    pub given: Vec<String>,
}

impl Default for TrainOptions {
    /// The defaults: a 64-256-10 Leaky network on the bundled digits, rate
    /// coding over 25 steps, Adam, 15 epochs.
    fn default() -> Self {
        TrainOptions {
            data: None,
            hidden: vec![256],
            model: ModelKind::Leaky,
            reset: None,
            reset_delay: true,
            recurrence: Recurrence::None,
            params: Vec::new(),
            learn: Vec::new(),
            per_neuron: false,
            surrogate: SurrogateKind::default(),
            encoder: Encoder::Rate,
            steps: 25,
            batch: 64,
            epochs: 15,
            lr: 2e-3,
            optimizer: "adam".into(),
            momentum: 0.9,
            clip: None,
            loss: Loss::CeCount,
            precision: Precision::F32,
            population: 1,
            threads: 0,
            backend: crate::graph_backend::Backend::Native,
            seed: 1,
            test_fraction: 0.2,
            metrics: None,
            plot: None,
            save: None,
            checkpoint: None,
            resume: None,
            load: None,
            given: Vec::new(),
        }
    }
}

/// The usage text of `train`.
pub const TRAIN_USAGE: &str = "usage: snn-ipu train [options]

Trains a fully connected spiking classifier with backpropagation through
time on this CPU (the native kernels). With no options: the bundled 8x8
handwritten digits (1797 images, 20% held out with a fixed seed), a
64-256-10 Leaky network, rate coding over 25 steps, Adam, 15 epochs.

data
  --data DIR              MNIST or Fashion-MNIST: the four IDX files
                          (train-images-idx3-ubyte, train-labels-idx1-ubyte,
                          t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte,
                          gzipped or not)
  --test-fraction F       bundled digits held out for testing (default 0.2)
network
  --hidden N[,N...]       hidden layer sizes (default 256)
  --model NAME            leaky, synaptic, alpha, lapicque, rleaky, rsynaptic
                          (default leaky)
  --reset R               subtract, zero or none (default: the model's,
                          subtract; zero for alpha)
  --reset-delay B         true or false (default true)
  --recurrence R          one_to_one or all_to_all (rleaky, rsynaptic;
                          default one_to_one)
  --beta V  --alpha V  --threshold V  --graded V  --v V
                          neuron parameters (snnTorch's names and defaults:
                          beta 0.9, alpha 0.8 (alpha model: beta 0.8, alpha 0.9),
                          threshold 1, graded 1, v 1)
  --learn P[,P...]        learnable neuron parameters (beta, threshold, ...)
  --per-neuron            one value per neuron for the learnable parameters
  --surrogate NAME        atan, fast_sigmoid, sigmoid, triangular,
                          straight_through, heaviside, spike_rate_escape,
                          sfs, lso, sso (default atan)
  --population P          output neurons per class (default 1)
  --precision P           f32 or f16 (spiking layers in binary16, weights and
                          optimiser in binary32, dynamic loss scaling)
training
  --encoder E             rate, latency or current (default rate)
  --steps T               time steps per sample (default 25)
  --batch B               batch rows (default 64)
  --epochs E              epochs (default 15)
  --optimizer O           adam or sgd (default adam)
  --lr V                  learning rate (default 0.002)
  --momentum V            SGD momentum (default 0.9)
  --clip V                clip gradients to this total norm
  --loss L                ce_count, mse_count (population spike counts) or
                          ce_membrane (the output membrane at every step)
                          (default ce_count)
  --threads N             worker threads (default: every core)
  --backend B             native (default) or emulator: the training step as
                          one IPU graph program, run by the graph emulator
                          (fp32, feed-forward models, ce_count; see
                          docs/training.md)
  --seed S                seed of everything random (default 1)
output
  --metrics FILE.csv      per-epoch metrics
  --plot FILE.png         loss and accuracy curves
  --save FILE             the trained weights (safetensors)
  --checkpoint FILE       written after every epoch and on Ctrl-C
  --resume FILE           continue a run from its checkpoint
  --help                  this text";

fn list<T>(
    flag: &str,
    value: &str,
    item: impl Fn(&str) -> Result<T, String>,
) -> Result<Vec<T>, String> {
    if value.is_empty() {
        return Err(format!("{flag} needs at least one value"));
    }
    value.split(',').map(|v| item(v.trim())).collect()
}

fn boolean(flag: &str, value: &str) -> Result<bool, String> {
    match value {
        "true" | "yes" | "1" => Ok(true),
        "false" | "no" | "0" => Ok(false),
        other => Err(format!("{flag} is true or false, got `{other}`")),
    }
}

/// `--model NAME`.
pub(crate) fn model(flag: &str, value: &str) -> Result<ModelKind, String> {
    let names: Vec<&str> = ModelKind::ALL.iter().map(|m| m.name()).collect();
    one_of(flag, value, &names, ModelKind::parse)
}

/// `--reset NAME`.
pub(crate) fn reset(flag: &str, value: &str) -> Result<ResetKind, String> {
    one_of(flag, value, &["subtract", "zero", "none"], ResetKind::parse)
}

/// `value` parsed by `parse`, or an error listing the `names` of `flag`.
pub(crate) fn one_of<T>(
    flag: &str,
    value: &str,
    names: &[&str],
    parse: impl Fn(&str) -> Option<T>,
) -> Result<T, String> {
    parse(value).ok_or_else(|| format!("{flag} is one of {}, got `{value}`", names.join(", ")))
}

/// What `--resume` may be given with: the checkpoint fixes the network and
/// the training, so only the number of epochs, the data (which must be the
/// same), the threads and the outputs may be named.
pub const RESUME_OPTIONS: [&str; 10] = [
    "--resume",
    "--backend",
    "--epochs",
    "--data",
    "--test-fraction",
    "--threads",
    "--metrics",
    "--plot",
    "--save",
    "--checkpoint",
];

/// The options of `snn-ipu evaluate`.
pub const EVALUATE_OPTIONS: [&str; 9] = [
    "--load",
    "--data",
    "--test-fraction",
    "--steps",
    "--encoder",
    "--batch",
    "--loss",
    "--seed",
    "--threads",
];

/// The usage text of `evaluate`.
pub const EVALUATE_USAGE: &str = "usage: snn-ipu evaluate --load FILE [options]

Reports the loss and accuracy of saved weights (`train --save FILE`, or a
checkpoint) on the test set. The network comes from the file; the data and
the encoding from these options, which default to train's defaults: give
the values the network was trained with.

  --load FILE             the weights (safetensors, from train --save or
                          --checkpoint)
  --data DIR              MNIST-style IDX files (default: the bundled digits)
  --test-fraction F       bundled digits held out for testing (default 0.2)
  --steps T               time steps per sample (default 25)
  --encoder E             rate, latency or current (default rate)
  --batch B               rows per batch (default 64; does not change results)
  --loss L                ce_count, mse_count or ce_membrane (default ce_count)
  --seed S                the seed of the run (the digits split and the
                          rate-coded spikes; default 1)
  --threads N             worker threads (default: every core)
  --help                  this text";

impl TrainOptions {
    /// Parses `train`'s options; `Ok(None)` for `--help`.
    pub fn parse(args: &[String]) -> Result<Option<TrainOptions>, String> {
        let Some(o) = Self::parse_any(args)? else {
            return Ok(None);
        };
        if o.load.is_some() {
            return Err(
                "--load belongs to `snn-ipu evaluate`; train continues a run with --resume".into(),
            );
        }
        if o.resume.is_some() {
            let others: Vec<&str> = o
                .given
                .iter()
                .map(String::as_str)
                .filter(|f| !RESUME_OPTIONS.contains(f))
                .collect();
            if !others.is_empty() {
                return Err(format!(
                    "--resume continues the checkpoint's run with its network and training options, \
                     so {} cannot be given with it (with --resume: {})",
                    others.join(", "),
                    RESUME_OPTIONS[1..].join(", ")
                ));
            }
        }
        if o.data.is_some() && o.given.iter().any(|f| f == "--test-fraction") {
            return Err(
                "--test-fraction splits the bundled digits; --data DIR has its own test files"
                    .into(),
            );
        }
        Ok(Some(o))
    }

    /// Parses `evaluate`'s options; `Ok(None)` for `--help`.
    pub fn parse_evaluate(args: &[String]) -> Result<Option<TrainOptions>, String> {
        let Some(o) = Self::parse_any(args)? else {
            return Ok(None);
        };
        if let Some(other) = o
            .given
            .iter()
            .find(|f| !EVALUATE_OPTIONS.contains(&f.as_str()))
        {
            return Err(format!(
                "{other} is not an option of evaluate (the network comes from --load FILE; \
                 options: {})",
                EVALUATE_OPTIONS.join(", ")
            ));
        }
        if o.load.is_none() {
            return Err(
                "evaluate needs --load FILE (weights from train --save or --checkpoint)".into(),
            );
        }
        if o.data.is_some() && o.given.iter().any(|f| f == "--test-fraction") {
            return Err(
                "--test-fraction splits the bundled digits; --data DIR has its own test files"
                    .into(),
            );
        }
        Ok(Some(o))
    }

    fn parse_any(args: &[String]) -> Result<Option<TrainOptions>, String> {
        let mut o = TrainOptions::default();
        let mut flags = Flags::new(args);
        let mut lr_given = None;
        let mut precision_given = None;
        let mut raw_params: Vec<(String, String)> = Vec::new();
        let mut clip_given = None;
        while let Some(flag) = flags.next_flag()? {
            let path = |flags: &mut Flags<'_>| -> Result<PathBuf, String> {
                let v = flags.value(flag)?;
                if v.trim().is_empty() {
                    return Err(format!("{flag} needs a file name"));
                }
                Ok(PathBuf::from(v))
            };
            o.given.push(flag.to_string());
            match flag {
                "--help" | "-h" => return Ok(None),
                "--data" => o.data = Some(path(&mut flags)?),
                "--test-fraction" => {
                    let f = options::finite(flag, flags.value(flag)?)?;
                    if !(f > 0.0 && f < 1.0) {
                        return Err(format!(
                            "{flag} is a fraction strictly between 0 and 1, got {f}"
                        ));
                    }
                    o.test_fraction = f;
                }
                "--hidden" => {
                    o.hidden = list(flag, flags.value(flag)?, |v| options::count(flag, v))?
                }
                "--model" => o.model = model(flag, flags.value(flag)?)?,
                "--reset" => o.reset = Some(reset(flag, flags.value(flag)?)?),
                "--reset-delay" => o.reset_delay = boolean(flag, flags.value(flag)?)?,
                "--recurrence" => {
                    o.recurrence = match flags.value(flag)? {
                        "one_to_one" => Recurrence::OneToOne,
                        "all_to_all" => Recurrence::AllToAll,
                        other => {
                            return Err(format!(
                                "{flag} is one_to_one or all_to_all, got `{other}`"
                            ))
                        }
                    }
                }
                "--beta" | "--alpha" | "--threshold" | "--graded" | "--v" => raw_params.push((
                    flag.trim_start_matches("--").to_string(),
                    flags.value(flag)?.to_string(),
                )),
                "--learn" => o.learn = list(flag, flags.value(flag)?, |v| Ok(v.to_string()))?,
                "--per-neuron" => o.per_neuron = true,
                "--surrogate" => {
                    o.surrogate = one_of(
                        flag,
                        flags.value(flag)?,
                        &SurrogateKind::NAMES,
                        SurrogateKind::parse,
                    )?
                }
                "--population" => o.population = options::count(flag, flags.value(flag)?)?,
                "--precision" => {
                    precision_given = Some(options::precision(flag, flags.value(flag)?)?)
                }
                "--encoder" => {
                    o.encoder = one_of(flag, flags.value(flag)?, &Encoder::NAMES, Encoder::parse)?
                }
                "--steps" => o.steps = options::count(flag, flags.value(flag)?)?,
                "--batch" => o.batch = options::count(flag, flags.value(flag)?)?,
                "--epochs" => o.epochs = options::count(flag, flags.value(flag)?)?,
                "--optimizer" => {
                    let v = flags.value(flag)?;
                    if !OptimizerKind::NAMES.contains(&v) {
                        return Err(format!("{flag} is adam or sgd, got `{v}`"));
                    }
                    o.optimizer = v.to_string();
                }
                "--lr" => lr_given = Some(flags.value(flag)?.to_string()),
                "--momentum" => {
                    let m = options::finite(flag, flags.value(flag)?)?;
                    if !(0.0..1.0).contains(&m) {
                        return Err(format!("{flag} is in [0, 1), got {m}"));
                    }
                    o.momentum = m;
                }
                "--clip" => clip_given = Some(flags.value(flag)?.to_string()),
                "--loss" => o.loss = one_of(flag, flags.value(flag)?, &Loss::NAMES, Loss::parse)?,
                "--threads" => {
                    let v = flags.value(flag)?;
                    o.threads = v.parse().map_err(|_| {
                        format!("{flag} needs a whole number (0: every core), got `{v}`")
                    })?;
                }
                "--backend" => {
                    o.backend = one_of(
                        flag,
                        flags.value(flag)?,
                        &crate::graph_backend::Backend::NAMES,
                        crate::graph_backend::Backend::parse,
                    )?
                }
                "--seed" => o.seed = options::seed(flag, flags.value(flag)?)?,
                "--metrics" => o.metrics = Some(path(&mut flags)?),
                "--plot" => o.plot = Some(path(&mut flags)?),
                "--save" => o.save = Some(path(&mut flags)?),
                "--checkpoint" => o.checkpoint = Some(path(&mut flags)?),
                "--resume" => o.resume = Some(path(&mut flags)?),
                "--load" => o.load = Some(path(&mut flags)?),
                other => return Err(format!("unknown option `{other}` (see --help)")),
            }
        }
        if let Some(p) = precision_given {
            o.precision = p;
        }
        // numbers that the spiking layers hold are checked in their precision
        for (name, value) in raw_params {
            let flag = format!("--{name}");
            let x = options::real(&flag, &value, o.precision)?;
            o.params.push((name, x));
        }
        if let Some(v) = lr_given {
            let lr = options::finite("--lr", &v)?;
            if lr <= 0.0 {
                return Err(format!("--lr must be positive, got {lr}"));
            }
            o.lr = lr;
        }
        if let Some(v) = clip_given {
            let c = options::finite("--clip", &v)?;
            if c <= 0.0 {
                return Err(format!("--clip must be positive, got {c}"));
            }
            o.clip = Some(c);
        }
        if o.model.recurrent() && o.recurrence == Recurrence::None {
            o.recurrence = Recurrence::OneToOne;
        }
        if !o.model.recurrent() && o.recurrence != Recurrence::None {
            return Err(format!(
                "--recurrence applies to rleaky and rsynaptic, not {}",
                o.model.name()
            ));
        }
        if !o.model.has_reset_delay() && !o.reset_delay {
            return Err(format!(
                "{} has no reset_delay option (--reset-delay false)",
                o.model.name()
            ));
        }
        Ok(Some(o))
    }

    /// The neurons of every spiking layer.
    pub fn neuron(&self) -> Result<NeuronSpec, String> {
        let names = NeuronSpec::param_names(self.model, self.recurrence);
        for (name, _) in &self.params {
            if !names.contains(&name.as_str()) {
                return Err(format!(
                    "--{name} is not a parameter of {} (its parameters: {})",
                    self.model.name(),
                    names.join(", ")
                ));
            }
        }
        for name in &self.learn {
            if !names.contains(&name.as_str()) {
                return Err(format!(
                    "--learn {name}: not a parameter of {} (its parameters: {})",
                    self.model.name(),
                    names.join(", ")
                ));
            }
        }
        // Alpha needs alpha > beta (its two decays); Synaptic's alpha is the
        // synaptic current's decay, below beta by snnTorch's tutorials
        let alpha_model = self.model == ModelKind::Alpha;
        let default = |name: &str| match name {
            "beta" if alpha_model => 0.8,
            "alpha" if alpha_model => 0.9,
            "beta" => 0.9,
            "alpha" => 0.8,
            "threshold" | "graded" | "v" | "r" | "time_step" => 1.0,
            // Lapicque from beta alone: C is derived, this value is not read
            "c" => 1.0,
            _ => 1.0,
        };
        let params = names
            .iter()
            .map(|&name| NeuronParam {
                name: name.to_string(),
                value: self
                    .params
                    .iter()
                    .rev()
                    .find(|(n, _)| n == name)
                    .map_or(default(name), |(_, v)| *v),
                per_neuron: self.per_neuron && self.learn.iter().any(|l| l == name),
                learn: self.learn.iter().any(|l| l == name),
            })
            .collect();
        let reset = self.reset.unwrap_or(if self.model == ModelKind::Alpha {
            ResetKind::Zero
        } else {
            ResetKind::Subtract
        });
        Ok(NeuronSpec {
            model: self.model,
            reset,
            reset_delay: self.reset_delay,
            recurrence: self.recurrence,
            params,
            surrogate: self.surrogate,
        })
    }

    /// The network for `inputs` features and `classes` classes.
    pub fn network(&self, inputs: usize, classes: usize) -> Result<NetworkSpec, String> {
        let neuron = self.neuron()?;
        let outputs = classes
            .checked_mul(self.population)
            .ok_or_else(|| "--population is too large".to_string())?;
        let mut layers = Vec::new();
        let mut width = inputs;
        for &n in self.hidden.iter().chain(std::iter::once(&outputs)) {
            layers.push(LayerSpec::Dense {
                inputs: width,
                outputs: n,
            });
            layers.push(LayerSpec::Spiking {
                neurons: n,
                neuron: neuron.clone(),
            });
            width = n;
        }
        let spec = NetworkSpec {
            inputs,
            layers,
            classes,
            population: self.population,
            precision: self.precision,
        };
        spec.validate().map_err(|e| e.to_string())?;
        Ok(spec)
    }

    /// The training configuration.
    pub fn config(&self) -> TrainConfig {
        let optimizer = match self.optimizer.as_str() {
            "sgd" => OptimizerKind::Sgd {
                lr: self.lr,
                momentum: self.momentum,
            },
            _ => OptimizerKind::parse("adam", self.lr).expect("adam is known"),
        };
        TrainConfig {
            epochs: self.epochs,
            batch: self.batch,
            steps: self.steps,
            encoder: self.encoder,
            loss: self.loss,
            optimizer,
            clip: self.clip,
            seed: self.seed,
        }
    }
}
