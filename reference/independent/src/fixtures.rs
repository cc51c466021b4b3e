//! snnTorch 1.0 conformance fixtures: reading `reference/fixtures/` and
//! turning each recorded case into a [`Case`] that the reference, the
//! checker and its backends all run.
//!
//! The fixtures were recorded by running snnTorch itself
//! (`reference/fixtures/generate.py`; see its README for the format and the
//! cases). Tests and CI read them; they never need Python.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

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

/// `index.json` (the fields this crate uses).
#[derive(Clone, Debug, Deserialize, Serialize)]
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
#[derive(Clone, Debug, Deserialize, Serialize)]
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

/// The largest case the reader accepts: `steps · batch · neurons` values
/// per sequence array. The recorded cases hold 72 (`T = 6`, `B = 3`,
/// `N = 4`); the reference runs one tape per element through every step and
/// the comparison holds a dozen arrays of this size in `f64`, so a case at
/// the cap (8 MiB per array) still runs in seconds, while a larger one is not
/// what a conformance fixture is for and would mostly be an edited index.
pub const MAX_CASE_VALUES: usize = 1 << 20;

/// The largest all-to-all layer the reader accepts (its recurrent weight
/// has `neurons²` values, and the comparison takes every step's gradient
/// through it: `steps · batch · neurons²` operations).
pub const MAX_ALL_TO_ALL_NEURONS: usize = 1024;

/// One array a recorded case holds: its name, its length from the case's
/// shape, and whether the format requires it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArraySpec {
    /// The name in `arrays` (`"x"`, `"state.mem"`, `"grad.param.beta"` ...).
    pub name: String,
    /// The lengths it may have (a parameter: 1 or `neurons`).
    pub lengths: Vec<usize>,
    /// False for an array the format allows to be absent (a gradient torch
    /// leaves as `None`).
    pub required: bool,
}

/// The fixtures, loaded.
#[derive(Clone, Debug)]
pub struct Fixtures {
    /// The index.
    pub index: Index,
    data: Vec<f32>,
}

impl Fixtures {
    /// Reads `index.json` and `data.bin` from `dir` (see
    /// [`Fixtures::from_bytes`] for what is checked).
    pub fn load(dir: &Path) -> Result<Fixtures, String> {
        let index_path = dir.join("index.json");
        let index = std::fs::read(&index_path)
            .map_err(|e| format!("cannot read {}: {e}", index_path.display()))?;
        let data_path = dir.join("data.bin");
        let data = std::fs::read(&data_path)
            .map_err(|e| format!("cannot read {}: {e}", data_path.display()))?;
        Fixtures::from_bytes(&index, &data).map_err(|e| format!("{}: {e}", dir.display()))
    }

    /// The fixtures from the bytes of `index.json` and `data.bin`.
    ///
    /// Checks the index's format (1), that it lists at least one case and
    /// no name twice, that `data.bin` is whole float32 values, and that
    /// every array of every case lies inside it (in checked arithmetic).
    /// Each case's shape and arrays are checked by [`Fixtures::check_case`]
    /// (which [`Fixtures::case`] runs), so that one bad case does not hide
    /// the others.
    pub fn from_bytes(index: &[u8], data: &[u8]) -> Result<Fixtures, String> {
        let index: Index = serde_json::from_slice(index).map_err(|e| format!("index.json: {e}"))?;
        if index.format != 1 {
            return Err(format!(
                "index.json: format {} is not 1 (the only format this reader knows)",
                index.format
            ));
        }
        if index.cases.is_empty() {
            return Err("index.json lists no cases: there is nothing to compare".into());
        }
        let mut names = std::collections::BTreeSet::new();
        for case in &index.cases {
            if !names.insert(case.name.as_str()) {
                return Err(format!(
                    "index.json: two cases are named `{}` (names must be unique)",
                    case.name
                ));
            }
        }
        if data.len() % 4 != 0 {
            return Err(format!(
                "data.bin: {} bytes is not a whole number of float32 values",
                data.len()
            ));
        }
        let values = data.len() / 4;
        for case in &index.cases {
            for (name, &(offset, len)) in &case.arrays {
                match offset.checked_add(len) {
                    Some(end) if end <= values => {}
                    _ => {
                        return Err(format!(
                            "case {}: array {name} ([{offset}, {len}]: offset and length in float32 values) runs past the end of data.bin ({values} values)",
                            case.name
                        ))
                    }
                }
            }
        }
        let data: Vec<f32> = data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        Ok(Fixtures { index, data })
    }

    /// The bytes of an `index.json` and a `data.bin` that hold `cases` (of
    /// these fixtures) alone, with their arrays packed in order: small
    /// fixtures for tests and fuzzing corpora, read back by
    /// [`Fixtures::from_bytes`]. Fields this crate does not read are left
    /// out. An array outside `data.bin` is written empty.
    pub fn to_bytes(&self, cases: &[&FixtureCase]) -> (Vec<u8>, Vec<u8>) {
        let mut data = Vec::new();
        let mut written = Vec::new();
        for case in cases {
            let mut case = (*case).clone();
            for at in case.arrays.values_mut() {
                let values = self.values(*at).unwrap_or_default();
                *at = (data.len() / 4, values.len());
                for v in values {
                    data.extend_from_slice(&v.to_le_bytes());
                }
            }
            written.push(case);
        }
        let index = Index {
            format: self.index.format,
            snntorch: self.index.snntorch.clone(),
            torch: self.index.torch.clone(),
            cases: written,
        };
        let json = serde_json::to_vec_pretty(&index).unwrap_or_default();
        (json, data)
    }

    /// A case's array, as `f64`; `None` when the case has no such array (or
    /// it lies outside `data.bin`, which [`Fixtures::from_bytes`] refuses).
    pub fn array(&self, case: &FixtureCase, name: &str) -> Option<Vec<f64>> {
        let values = self.values(*case.arrays.get(name)?)?;
        Some(values.iter().map(|&v| v as f64).collect())
    }

    /// `len` values from `offset` of `data.bin`, if they lie inside it.
    fn values(&self, (offset, len): (usize, usize)) -> Option<&[f32]> {
        self.data.get(offset..offset.checked_add(len)?)
    }

    /// A case's array that [`Fixtures::check_case`] found present, or an
    /// error naming the case and the array.
    fn required(&self, fixture: &FixtureCase, name: &str) -> Result<Vec<f64>, String> {
        self.array(fixture, name)
            .ok_or_else(|| format!("case {}: no array {name}", fixture.name))
    }

    /// Checks a recorded case before anything is allocated for it: its
    /// shape (every size at least 1, `steps · batch · neurons` at most
    /// [`MAX_CASE_VALUES`]), model, surrogate and its parameters, dtype, the
    /// dtypes snnTorch returned, and the presence and length of every array
    /// the comparison reads ([`array_specs`]).
    pub fn check_case(&self, fixture: &FixtureCase) -> Result<(), String> {
        let specs = array_specs(fixture)?;
        let fail = |message: String| Err(format!("case {}: {message}", fixture.name));
        for spec in &specs {
            match fixture.arrays.get(&spec.name) {
                None if spec.required => {
                    return fail(format!(
                        "array {} is missing (every case of this model records it)",
                        spec.name
                    ))
                }
                None => {}
                Some(&(_, len)) if !spec.lengths.contains(&len) => {
                    let lengths = spec
                        .lengths
                        .iter()
                        .map(usize::to_string)
                        .collect::<Vec<_>>()
                        .join(" or ");
                    return fail(format!(
                        "array {} has {len} values; the case's shape (steps {}, batch {}, neurons {}) needs {lengths}",
                        spec.name, fixture.steps, fixture.batch, fixture.neurons
                    ));
                }
                Some(_) => {}
            }
        }
        surrogate_of(fixture).map_err(|e| format!("case {}: {e}", fixture.name))?;
        Ok(())
    }

    /// The checker case for a recorded case: the same model, surrogate,
    /// parameters, inputs and initial states, with the loss weights as the
    /// gradients of the outputs. `Err` (naming the case, the array and the
    /// problem) for a case [`Fixtures::check_case`] refuses and for what
    /// this project does not model.
    pub fn case(&self, fixture: &FixtureCase) -> Result<Case, String> {
        self.check_case(fixture)?;
        let model = model_of(fixture)?;
        let surrogate = surrogate_of(fixture)?;
        let precision = precision_of(fixture)?;
        let get = |name: &str| self.required(fixture, name);
        let params = model
            .params()
            .iter()
            .map(|name| get(&format!("param.{name}")))
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

/// The case's shape, checked: `(steps · batch · neurons, batch · neurons)`.
fn shape(fixture: &FixtureCase) -> Result<(usize, usize), String> {
    let fail = |message: String| Err(format!("case {}: {message}", fixture.name));
    for (value, what) in [
        (fixture.steps, "steps"),
        (fixture.batch, "batch"),
        (fixture.neurons, "neurons"),
    ] {
        if value == 0 {
            return fail(format!("{what} is 0 (a case needs at least one value)"));
        }
    }
    let elements = fixture.batch.checked_mul(fixture.neurons);
    let sequence = elements.and_then(|e| e.checked_mul(fixture.steps));
    match (elements, sequence) {
        (Some(elements), Some(sequence)) if sequence <= MAX_CASE_VALUES => {
            Ok((sequence, elements))
        }
        _ => fail(format!(
            "steps {} x batch {} x neurons {} is more than {MAX_CASE_VALUES} values per array (the reader's cap on a case's size)",
            fixture.steps, fixture.batch, fixture.neurons
        )),
    }
}

/// Every array of a recorded case that the comparison reads, with its
/// length from the case's shape (`reference/fixtures/README.md`, Format):
/// the inputs, initial states, parameters and loss weights that make the
/// [`Case`], and the forward values and gradients snnTorch computed.
/// Checks the shape, the model and the dtype (and, for f16 cases, that the
/// dtypes snnTorch returned are recorded) on the way.
pub fn array_specs(fixture: &FixtureCase) -> Result<Vec<ArraySpec>, String> {
    let (sequence, elements) = shape(fixture)?;
    let model = model_of(fixture).map_err(|e| format!("case {}: {e}", fixture.name))?;
    let precision = precision_of(fixture).map_err(|e| format!("case {}: {e}", fixture.name))?;
    let neurons = fixture.neurons;
    let all_to_all = fixture.model.ends_with("all_to_all");
    if all_to_all && neurons > MAX_ALL_TO_ALL_NEURONS {
        return Err(format!(
            "case {}: {neurons} neurons; the reader takes all-to-all layers of at most {MAX_ALL_TO_ALL_NEURONS}",
            fixture.name
        ));
    }
    let spec = |name: String, lengths: Vec<usize>| ArraySpec {
        name,
        lengths,
        required: true,
    };
    let mut specs = Vec::new();
    let param_lengths = |name: &str| match name {
        "recurrent_weight" => vec![neurons * neurons],
        "recurrent_bias" => vec![neurons],
        _ if neurons == 1 => vec![1],
        _ => vec![1, neurons],
    };
    for name in model.inputs() {
        specs.push(spec(name.to_string(), vec![sequence]));
        specs.push(spec(format!("grad.{name}"), vec![sequence]));
    }
    for name in model.states() {
        specs.push(spec(format!("initial.{name}"), vec![elements]));
        specs.push(ArraySpec {
            name: format!("grad.initial.{name}"),
            lengths: vec![elements],
            // torch leaves it `None`: Alpha's initial membrane enters only
            // the detached reset signal
            required: !(matches!(model, ModelSpec::Alpha { .. }) && *name == "mem"),
        });
    }
    for name in ["spikes"]
        .into_iter()
        .chain(model.stored_states().iter().copied())
    {
        let output = if name == "spikes" {
            name.to_string()
        } else {
            format!("state.{name}")
        };
        specs.push(spec(format!("loss_weight.{name}"), vec![sequence]));
        let dtypes = fixture.returned_dtypes.get(&output);
        match dtypes {
            None if precision == Precision::F16 => {
                return Err(format!(
                    "case {}: returned_dtypes has no entry for {output} (an f16 case records the dtype snnTorch returned at every step)",
                    fixture.name
                ))
            }
            None => {}
            Some(list) => {
                if list.len() != fixture.steps {
                    return Err(format!(
                        "case {}: returned_dtypes.{output} has {} entries for {} steps",
                        fixture.name,
                        list.len(),
                        fixture.steps
                    ));
                }
                if let Some(other) = list
                    .iter()
                    .find(|t| !matches!(t.as_str(), "f16" | "f32"))
                {
                    return Err(format!(
                        "case {}: returned_dtypes.{output} has `{other}` (f16 or f32 expected)",
                        fixture.name
                    ));
                }
                if precision == Precision::F32 && list.iter().any(|t| t != "f32") {
                    return Err(format!(
                        "case {}: an f32 case whose returned_dtypes.{output} is not f32 at every step",
                        fixture.name
                    ));
                }
            }
        }
        specs.push(spec(output, vec![sequence]));
    }
    for name in model.params() {
        specs.push(spec(format!("param.{name}"), param_lengths(name)));
    }
    if all_to_all {
        for name in ["recurrent_weight", "recurrent_bias"] {
            specs.push(spec(format!("param.{name}"), param_lengths(name)));
        }
        specs.push(spec("initial.spk".into(), vec![elements]));
    }
    for name in &fixture.learnable {
        let known = model.params().contains(&name.as_str())
            || all_to_all && matches!(name.as_str(), "recurrent_weight" | "recurrent_bias");
        if !known {
            return Err(format!(
                "case {}: learnable parameter `{name}` is not a parameter of {} (its parameters: {})",
                fixture.name,
                fixture.model,
                model.params().join(", ")
            ));
        }
        specs.push(spec(format!("grad.param.{name}"), param_lengths(name)));
    }
    Ok(specs)
}

/// The case's precision.
fn precision_of(fixture: &FixtureCase) -> Result<Precision, String> {
    match fixture.dtype.as_str() {
        "f32" => Ok(Precision::F32),
        "f16" => Ok(Precision::F16),
        other => Err(format!("unknown dtype `{other}` (f32 or f16)")),
    }
}

/// The case's surrogate, with every parameter it takes given, finite, and
/// no other.
fn surrogate_of(fixture: &FixtureCase) -> Result<Surrogate, String> {
    let names: &[&str] = match fixture.surrogate.as_str() {
        "atan" => &["alpha"],
        "fast_sigmoid" | "sigmoid" | "leaky_spike_operator" => &["slope"],
        "triangular" => &["threshold"],
        "straight_through" | "heaviside" => &[],
        "spike_rate_escape" => &["beta", "slope"],
        "sparse_fast_sigmoid" => &["slope", "B"],
        other => return Err(format!("unknown surrogate `{other}`")),
    };
    let surrogate = &fixture.surrogate;
    if let Some(extra) = fixture
        .surrogate_params
        .keys()
        .find(|k| !names.contains(&k.as_str()))
    {
        return Err(format!(
            "surrogate {surrogate} has no parameter `{extra}` (it takes: {})",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        ));
    }
    let p = |name: &str| -> Result<f64, String> {
        match fixture.surrogate_params.get(name) {
            Some(&v) if v.is_finite() => Ok(v),
            Some(v) => Err(format!(
                "surrogate_params.{name} is {v}, not a finite number"
            )),
            None => Err(format!(
                "surrogate {surrogate} needs surrogate_params.{name}"
            )),
        }
    };
    Ok(match surrogate.as_str() {
        "atan" => Surrogate::Atan { alpha: p("alpha")? },
        "fast_sigmoid" => Surrogate::FastSigmoid { slope: p("slope")? },
        "sigmoid" => Surrogate::Sigmoid { slope: p("slope")? },
        "triangular" => Surrogate::Triangular {
            threshold: p("threshold")?,
        },
        "straight_through" => Surrogate::StraightThrough,
        "heaviside" => Surrogate::Heaviside,
        "spike_rate_escape" => Surrogate::SpikeRateEscape {
            beta: p("beta")?,
            slope: p("slope")?,
        },
        "sparse_fast_sigmoid" => Surrogate::SparseFastSigmoid {
            slope: p("slope")?,
            b: p("B")?,
        },
        _ => Surrogate::LeakySpikeOperator { slope: p("slope")? },
    })
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
