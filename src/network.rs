//! A network as a description: plain data that says what the layers are,
//! with no code that runs them. The native runner ([`crate::native`]) runs
//! it on this CPU; the IPU graph builder reads the same description.
//!
//! A network is a stack of layers, as a snnTorch user builds it:
//!
//! ```text
//! input (features) -> Dense -> Spiking -> Dense -> Spiking (classes x population)
//! ```
//!
//! Every `Dense` layer is followed by a `Spiking` layer of the same width;
//! the last spiking layer is the output, with `classes x population`
//! neurons read out as population spike counts (class `c` owns neurons
//! `[c·P, (c+1)·P)`).

use std::fmt;

use serde::{Deserialize, Serialize};

/// The neuron models.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// snnTorch `Leaky`.
    Leaky,
    /// snnTorch `Synaptic`.
    Synaptic,
    /// snnTorch `Alpha`.
    Alpha,
    /// snnTorch `Lapicque` (given `beta`).
    Lapicque,
    /// snnTorch `RLeaky`.
    RLeaky,
    /// snnTorch `RSynaptic`.
    RSynaptic,
}

impl ModelKind {
    /// All models.
    pub const ALL: [ModelKind; 6] = [
        ModelKind::Leaky,
        ModelKind::Synaptic,
        ModelKind::Alpha,
        ModelKind::Lapicque,
        ModelKind::RLeaky,
        ModelKind::RSynaptic,
    ];

    /// snnTorch's name in snake case.
    pub const fn name(self) -> &'static str {
        match self {
            ModelKind::Leaky => "leaky",
            ModelKind::Synaptic => "synaptic",
            ModelKind::Alpha => "alpha",
            ModelKind::Lapicque => "lapicque",
            ModelKind::RLeaky => "rleaky",
            ModelKind::RSynaptic => "rsynaptic",
        }
    }

    /// The model named `name`.
    pub fn parse(name: &str) -> Option<ModelKind> {
        ModelKind::ALL.into_iter().find(|m| m.name() == name)
    }

    /// True for the recurrent models.
    pub const fn recurrent(self) -> bool {
        matches!(self, ModelKind::RLeaky | ModelKind::RSynaptic)
    }

    /// True for the models with snnTorch's `reset_delay` option.
    pub const fn has_reset_delay(self) -> bool {
        !matches!(self, ModelKind::Alpha | ModelKind::Lapicque)
    }
}

/// snnTorch's `reset_mechanism`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResetKind {
    /// Subtract the threshold.
    Subtract,
    /// Reset to zero.
    Zero,
    /// No reset.
    None,
}

impl ResetKind {
    /// snnTorch's name.
    pub const fn name(self) -> &'static str {
        match self {
            ResetKind::Subtract => "subtract",
            ResetKind::Zero => "zero",
            ResetKind::None => "none",
        }
    }

    /// The mechanism named `name`.
    pub fn parse(name: &str) -> Option<ResetKind> {
        [ResetKind::Subtract, ResetKind::Zero, ResetKind::None]
            .into_iter()
            .find(|r| r.name() == name)
    }
}

/// How a recurrent layer feeds its spikes back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recurrence {
    /// Not recurrent.
    None,
    /// `rec = V · spk[t-1]`, elementwise (snnTorch `all_to_all=False`).
    OneToOne,
    /// `rec = W spk[t-1] + bias`, a dense recurrent weight matrix
    /// (snnTorch `all_to_all=True`).
    AllToAll,
}

/// A surrogate gradient and its parameters (snnTorch's names and defaults).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case")]
pub enum SurrogateKind {
    /// `atan(alpha)`, the default.
    Atan {
        /// Width.
        alpha: f64,
    },
    /// `fast_sigmoid(slope)`.
    FastSigmoid {
        /// Slope.
        slope: f64,
    },
    /// `sigmoid(slope)`.
    Sigmoid {
        /// Slope.
        slope: f64,
    },
    /// `triangular(threshold)`.
    Triangular {
        /// Height.
        threshold: f64,
    },
    /// `straight_through_estimator()`.
    StraightThrough,
    /// `heaviside()`.
    Heaviside,
    /// `spike_rate_escape(beta, slope)`.
    SpikeRateEscape {
        /// Beta.
        beta: f64,
        /// Slope.
        slope: f64,
    },
    /// `SFS(slope, B)`.
    SparseFastSigmoid {
        /// Slope.
        slope: f64,
        /// The threshold `B`.
        b: f64,
    },
    /// `LSO(slope)`.
    LeakySpikeOperator {
        /// Slope.
        slope: f64,
    },
    /// `SSO(mean, variance)`.
    StochasticSpikeOperator {
        /// Mean.
        mean: f64,
        /// Variance.
        variance: f64,
    },
}

impl Default for SurrogateKind {
    fn default() -> Self {
        SurrogateKind::Atan { alpha: 2.0 }
    }
}

impl SurrogateKind {
    /// The names the command accepts, with their defaults.
    pub const NAMES: [&'static str; 10] = [
        "atan",
        "fast_sigmoid",
        "sigmoid",
        "triangular",
        "straight_through",
        "heaviside",
        "spike_rate_escape",
        "sfs",
        "lso",
        "sso",
    ];

    /// The surrogate named `name` with snnTorch's default parameters.
    pub fn parse(name: &str) -> Option<SurrogateKind> {
        Some(match name {
            "atan" => SurrogateKind::Atan { alpha: 2.0 },
            "fast_sigmoid" => SurrogateKind::FastSigmoid { slope: 25.0 },
            "sigmoid" => SurrogateKind::Sigmoid { slope: 25.0 },
            "triangular" => SurrogateKind::Triangular { threshold: 1.0 },
            "straight_through" => SurrogateKind::StraightThrough,
            "heaviside" => SurrogateKind::Heaviside,
            "spike_rate_escape" => SurrogateKind::SpikeRateEscape {
                beta: 1.0,
                slope: 25.0,
            },
            "sfs" => SurrogateKind::SparseFastSigmoid {
                slope: 25.0,
                b: 1.0,
            },
            "lso" => SurrogateKind::LeakySpikeOperator { slope: 0.1 },
            "sso" => SurrogateKind::StochasticSpikeOperator {
                mean: 0.0,
                variance: 0.2,
            },
            _ => return None,
        })
    }
}

/// One parameter of a neuron model: its value (the same for every neuron,
/// or one per neuron), and whether training changes it (snnTorch's
/// `learn_beta`, `learn_threshold`, ...).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NeuronParam {
    /// The model's name for it (`beta`, `threshold`, ...).
    pub name: String,
    /// Its initial value.
    pub value: f64,
    /// One value per neuron (all starting at `value`) instead of one for the
    /// layer.
    pub per_neuron: bool,
    /// Learnable.
    pub learn: bool,
}

/// A spiking layer's neurons.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NeuronSpec {
    /// The model.
    pub model: ModelKind,
    /// The reset mechanism.
    pub reset: ResetKind,
    /// snnTorch's `reset_delay` (models that have it).
    pub reset_delay: bool,
    /// How a recurrent model feeds back (`None` for the others).
    pub recurrence: Recurrence,
    /// The model's parameters, in the kernels' order (`Model::PARAMS`).
    pub params: Vec<NeuronParam>,
    /// The surrogate gradient.
    pub surrogate: SurrogateKind,
}

/// One layer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LayerSpec {
    /// `y = x Wᵀ + b` over every time step and batch row (PyTorch `Linear`).
    Dense {
        /// Input features.
        inputs: usize,
        /// Output features.
        outputs: usize,
    },
    /// A layer of spiking neurons, one per input feature.
    Spiking {
        /// Neurons.
        neurons: usize,
        /// Their model, parameters and surrogate.
        neuron: NeuronSpec,
    },
}

pub use crate::options::Precision;

/// A whole network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NetworkSpec {
    /// Input features per time step.
    pub inputs: usize,
    /// The layers, input to output.
    pub layers: Vec<LayerSpec>,
    /// Classes of the readout.
    pub classes: usize,
    /// Output neurons per class.
    pub population: usize,
    /// The spiking layers' arithmetic.
    pub precision: Precision,
}

/// A network description that is not valid, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecError(pub String);

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SpecError {}

/// The shape of one learnable tensor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorSpec {
    /// Its name, as a PyTorch `state_dict` would call it: `layers.{i}.weight`,
    /// `layers.{i}.bias`, `layers.{i}.beta`, `layers.{i}.recurrent.weight`...
    pub name: String,
    /// Its shape (PyTorch's: `[outputs, inputs]` for a weight matrix, `[]`
    /// for a scalar parameter).
    pub shape: Vec<usize>,
    /// The layer it belongs to.
    pub layer: usize,
    /// What it is.
    pub role: TensorRole,
}

impl TensorSpec {
    /// Its number of values.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// True for an empty tensor (never: every dimension is at least 1).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What a tensor is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TensorRole {
    /// A dense layer's weight matrix `[outputs, inputs]`.
    Weight,
    /// A dense layer's bias `[outputs]`.
    Bias,
    /// A learnable neuron parameter (`k` in `Model::PARAMS`).
    NeuronParam(usize),
    /// The recurrent weight matrix of an all-to-all layer `[N, N]`.
    RecurrentWeight,
    /// The recurrent bias of an all-to-all layer `[N]`.
    RecurrentBias,
}

impl NetworkSpec {
    /// Checks that the layers fit together; says what to change otherwise.
    pub fn validate(&self) -> Result<(), SpecError> {
        let fail = |message: String| Err(SpecError(message));
        if self.inputs == 0 {
            return fail("the network needs at least one input feature".into());
        }
        if self.classes < 2 {
            return fail(format!(
                "a classifier needs at least 2 classes, got {}",
                self.classes
            ));
        }
        if self.population == 0 {
            return fail("the population has at least 1 neuron per class".into());
        }
        if self.layers.is_empty() {
            return fail("the network has no layers".into());
        }
        let mut width = self.inputs;
        for (i, layer) in self.layers.iter().enumerate() {
            match layer {
                LayerSpec::Dense { inputs, outputs } => {
                    if *inputs != width {
                        return fail(format!(
                            "layer {i} (dense) takes {inputs} inputs but receives {width}"
                        ));
                    }
                    if *outputs == 0 {
                        return fail(format!("layer {i} (dense) has no outputs"));
                    }
                    width = *outputs;
                }
                LayerSpec::Spiking { neurons, neuron } => {
                    if *neurons != width {
                        return fail(format!(
                            "layer {i} (spiking) has {neurons} neurons but receives {width} features: a spiking layer follows a dense layer of its width"
                        ));
                    }
                    neuron.validate(i)?;
                }
            }
        }
        match self.layers.last() {
            Some(LayerSpec::Spiking { neurons, .. }) => {
                let expected = self.classes.checked_mul(self.population);
                if expected != Some(*neurons) {
                    return fail(format!(
                        "the output layer has {neurons} neurons; {} classes x {} per class need {}",
                        self.classes,
                        self.population,
                        self.classes.saturating_mul(self.population)
                    ));
                }
            }
            _ => {
                return fail(
                    "the last layer must be a spiking layer (the readout counts its spikes)".into(),
                )
            }
        }
        Ok(())
    }

    /// Every learnable tensor, in a fixed order: layer by layer, dense
    /// weight then bias, neuron parameters in the model's order, recurrent
    /// weight then bias.
    pub fn tensors(&self) -> Vec<TensorSpec> {
        let mut all = Vec::new();
        for (layer, spec) in self.layers.iter().enumerate() {
            let tensor = |name: &str, shape: Vec<usize>, role| TensorSpec {
                name: format!("layers.{layer}.{name}"),
                shape,
                layer,
                role,
            };
            match spec {
                LayerSpec::Dense { inputs, outputs } => {
                    all.push(tensor(
                        "weight",
                        vec![*outputs, *inputs],
                        TensorRole::Weight,
                    ));
                    all.push(tensor("bias", vec![*outputs], TensorRole::Bias));
                }
                LayerSpec::Spiking { neurons, neuron } => {
                    for (k, p) in neuron.params.iter().enumerate() {
                        if p.learn {
                            let shape = if p.per_neuron { vec![*neurons] } else { vec![] };
                            all.push(tensor(&p.name, shape, TensorRole::NeuronParam(k)));
                        }
                    }
                    if neuron.recurrence == Recurrence::AllToAll {
                        all.push(tensor(
                            "recurrent.weight",
                            vec![*neurons, *neurons],
                            TensorRole::RecurrentWeight,
                        ));
                        all.push(tensor(
                            "recurrent.bias",
                            vec![*neurons],
                            TensorRole::RecurrentBias,
                        ));
                    }
                }
            }
        }
        all
    }
}

impl NeuronSpec {
    /// The kernels' parameter names of this model, in order.
    pub fn param_names(model: ModelKind, recurrence: Recurrence) -> &'static [&'static str] {
        use snn_kernels::models as k;
        use snn_kernels::Model;
        match (model, recurrence) {
            (ModelKind::Leaky, _) => k::Leaky::PARAMS,
            (ModelKind::Synaptic, _) => k::Synaptic::PARAMS,
            (ModelKind::Alpha, _) => k::Alpha::PARAMS,
            (ModelKind::Lapicque, _) => k::Lapicque::PARAMS,
            (ModelKind::RLeaky, Recurrence::AllToAll) => k::RLeakyAllToAll::PARAMS,
            (ModelKind::RLeaky, _) => k::RLeaky::PARAMS,
            (ModelKind::RSynaptic, Recurrence::AllToAll) => k::RSynapticAllToAll::PARAMS,
            (ModelKind::RSynaptic, _) => k::RSynaptic::PARAMS,
        }
    }

    fn validate(&self, layer: usize) -> Result<(), SpecError> {
        let fail = |message: String| {
            Err(SpecError(format!(
                "layer {layer} ({}): {message}",
                self.model.name()
            )))
        };
        let names = NeuronSpec::param_names(self.model, self.recurrence);
        let given: Vec<&str> = self.params.iter().map(|p| p.name.as_str()).collect();
        if given != names {
            return fail(format!("parameters {given:?}, the model takes {names:?}"));
        }
        match (self.model.recurrent(), self.recurrence) {
            (true, Recurrence::None) => {
                return fail("a recurrent model needs one_to_one or all_to_all recurrence".into())
            }
            (false, Recurrence::OneToOne | Recurrence::AllToAll) => {
                return fail("only rleaky and rsynaptic are recurrent".into())
            }
            _ => {}
        }
        if !self.model.has_reset_delay() && !self.reset_delay {
            return fail(
                "this model has no reset_delay option (it always resets at the next step)".into(),
            );
        }
        for p in &self.params {
            if !p.value.is_finite() {
                return fail(format!(
                    "{} must be a finite number, got {}",
                    p.name, p.value
                ));
            }
        }
        Ok(())
    }
}
