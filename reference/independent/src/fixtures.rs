//! snnTorch 1.0 conformance fixtures: reading `reference/fixtures/` and
//! turning each recorded case into a [`Case`] that the reference, the
//! checker and its backends all run.
//!
//! The fixtures were recorded by running snnTorch itself
//! (`reference/fixtures/generate.py`; see its README for the format and the
//! cases). Tests and CI read them; they never need Python.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::models::ModelSpec;
use crate::precision::Precision;
use crate::run::Case;
use crate::surrogates::Surrogate;

/// The fixtures folder of this repository, `reference/fixtures/` (this
/// crate is `reference/independent/`).
pub fn default_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate's folder is inside reference/")
        .join("fixtures")
}

/// `index.json`.
#[derive(Clone, Debug, Deserialize)]
pub struct Index {
    /// The format version (1).
    pub format: u32,
    /// The snnTorch version recorded.
    pub snntorch: String,
    /// The torch version recorded.
    pub torch: String,
    /// The cases.
    pub cases: Vec<FixtureCase>,
}

/// One recorded case (the fields this crate uses).
#[derive(Clone, Debug, Deserialize)]
pub struct FixtureCase {
    /// Unique name.
    pub name: String,
    /// Model name.
    pub model: String,
    /// Reset mechanism.
    pub reset: String,
    /// `reset_delay`, where the model has it.
    pub reset_delay: Option<bool>,
    /// Lapicque: which of beta, R, C were given.
    pub lapicque_given: Option<String>,
    /// Surrogate name.
    pub surrogate: String,
    /// Surrogate parameters.
    pub surrogate_params: BTreeMap<String, f64>,
    /// `"f32"` or `"f16"`.
    pub dtype: String,
    /// Time steps.
    pub steps: usize,
    /// Batch rows.
    pub batch: usize,
    /// Neurons.
    pub neurons: usize,
    /// Per-neuron parameters.
    pub per_neuron: bool,
    /// Parameters snnTorch made learnable (their gradients are recorded).
    pub learnable: Vec<String>,
    /// How many membrane entries landed exactly on the threshold.
    #[serde(default)]
    pub exact_threshold_hits: usize,
    /// Arrays with a NaN or infinity (from snnTorch's arithmetic).
    #[serde(default)]
    pub nonfinite_arrays: Vec<String>,
    /// The dtype snnTorch returned, per output and step (f16 cases).
    #[serde(default)]
    pub returned_dtypes: BTreeMap<String, Vec<String>>,
    /// `name -> [offset, length]` in float32 values of `data.bin`.
    pub arrays: BTreeMap<String, (usize, usize)>,
}

/// The fixtures, loaded.
#[derive(Clone, Debug)]
pub struct Fixtures {
    /// The index.
    pub index: Index,
    data: Vec<f32>,
}

impl Fixtures {
    /// Reads `index.json` and `data.bin` from `dir`.
    pub fn load(dir: &Path) -> Result<Fixtures, String> {
        let index_path = dir.join("index.json");
        let text = std::fs::read_to_string(&index_path)
            .map_err(|e| format!("{}: {e}", index_path.display()))?;
        let index: Index =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", index_path.display()))?;
        if index.format != 1 {
            return Err(format!(
                "{}: format {} is not 1",
                index_path.display(),
                index.format
            ));
        }
        let data_path = dir.join("data.bin");
        let bytes =
            std::fs::read(&data_path).map_err(|e| format!("{}: {e}", data_path.display()))?;
        if bytes.len() % 4 != 0 {
            return Err(format!(
                "{}: {} bytes is not a whole number of float32 values",
                data_path.display(),
                bytes.len()
            ));
        }
        let data: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        for case in &index.cases {
            for (name, &(offset, len)) in &case.arrays {
                if offset + len > data.len() {
                    return Err(format!(
                        "{}: array {name} runs past the end of data.bin",
                        case.name
                    ));
                }
            }
        }
        Ok(Fixtures { index, data })
    }

    /// A case's array, as `f64`.
    pub fn array(&self, case: &FixtureCase, name: &str) -> Option<Vec<f64>> {
        case.arrays.get(name).map(|&(offset, len)| {
            self.data[offset..offset + len]
                .iter()
                .map(|&v| v as f64)
                .collect()
        })
    }

    /// The checker case for a recorded case: the same model, surrogate,
    /// parameters, inputs and initial states, with the loss weights as the
    /// gradients of the outputs. `Err` for what this project does not model.
    pub fn case(&self, fixture: &FixtureCase) -> Result<Case, String> {
        let model = model_of(fixture)?;
        let p = |name: &str, default: f64| {
            fixture
                .surrogate_params
                .get(name)
                .copied()
                .unwrap_or(default)
        };
        let surrogate = match fixture.surrogate.as_str() {
            "atan" => Surrogate::Atan {
                alpha: p("alpha", 2.0),
            },
            "fast_sigmoid" => Surrogate::FastSigmoid {
                slope: p("slope", 25.0),
            },
            "sigmoid" => Surrogate::Sigmoid {
                slope: p("slope", 25.0),
            },
            "triangular" => Surrogate::Triangular {
                threshold: p("threshold", 1.0),
            },
            "straight_through" => Surrogate::StraightThrough,
            "heaviside" => Surrogate::Heaviside,
            "spike_rate_escape" => Surrogate::SpikeRateEscape {
                beta: p("beta", 1.0),
                slope: p("slope", 25.0),
            },
            "sparse_fast_sigmoid" => Surrogate::SparseFastSigmoid {
                slope: p("slope", 25.0),
                b: p("B", 1.0),
            },
            "leaky_spike_operator" => Surrogate::LeakySpikeOperator {
                slope: p("slope", 0.1),
            },
            other => return Err(format!("unknown surrogate {other}")),
        };
        let precision = match fixture.dtype.as_str() {
            "f32" => Precision::F32,
            "f16" => Precision::F16,
            other => return Err(format!("unknown dtype {other}")),
        };
        let get = |name: &str| {
            self.array(fixture, name)
                .ok_or_else(|| format!("{}: no array {name}", fixture.name))
        };
        let params = model
            .params()
            .iter()
            .map(|name| match self.array(fixture, &format!("param.{name}")) {
                Some(values) => Ok(values),
                // a parameter the given combination does not use
                None if matches!(*name, "beta" | "r" | "c") => Ok(vec![0.5]),
                None => Err(format!("{}: no parameter {name}", fixture.name)),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let inputs = model
            .inputs()
            .iter()
            .map(|name| get(name))
            .collect::<Result<Vec<_>, _>>()?;
        let initial = model
            .states()
            .iter()
            .map(|name| get(&format!("initial.{name}")))
            .collect::<Result<Vec<_>, _>>()?;
        let grad_states = model
            .stored_states()
            .iter()
            .map(|name| get(&format!("loss_weight.{name}")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Case {
            model,
            surrogate,
            precision,
            steps: fixture.steps,
            batch: fixture.batch,
            neurons: fixture.neurons,
            seed: 0,
            params,
            inputs,
            initial,
            grad_spikes: get("loss_weight.spikes")?,
            grad_states,
            label: format!("snnTorch fixture {}", fixture.name),
        })
    }
}

/// The model configuration of a recorded case: the one in
/// [`ModelSpec::all`] with the case's model name and whose variant
/// ([`ModelSpec::variant`]: the reset, `_nodelay` for `reset_delay = false`,
/// Lapicque's given parameters) is the case's.
fn model_of(fixture: &FixtureCase) -> Result<ModelSpec, String> {
    let mut variant = fixture.reset.clone();
    if fixture.reset_delay == Some(false) {
        variant.push_str("_nodelay");
    }
    if let Some(given) = &fixture.lapicque_given {
        variant = format!("{variant}_{given}");
    }
    ModelSpec::all()
        .into_iter()
        .find(|m| m.name() == fixture.model && m.variant() == variant)
        .ok_or_else(|| format!("unknown model {} {variant}", fixture.model))
}
