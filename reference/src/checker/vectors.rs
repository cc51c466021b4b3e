//! Test vectors for the checker: every model configuration x surrogate x
//! precision, on random data at several scales and on awkward values
//! (signed zeros, subnormals, values exactly at the threshold and one ulp
//! either side, huge values, infinities and NaN), with scalar and
//! per-neuron parameters. Parameters are always ones the kernels accept;
//! `reference/tests/parameter_rules.rs` checks both that and the refusals.

use crate::models::{ModelSpec, Reset};
use crate::precision::Precision;
use crate::run::Case;
use crate::surrogates::Surrogate;

/// The kinds of data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Inputs around the threshold: spikes often and sometimes.
    Random,
    /// Inputs of magnitude 1e-3: membranes stay small.
    Small,
    /// Inputs far beyond the threshold.
    Large,
    /// Signed zeros, subnormals, the threshold and its neighbours, huge
    /// values, infinities, NaN, mixed with random values; edge parameters.
    Awkward,
}

impl Kind {
    /// All kinds.
    pub const ALL: [Kind; 4] = [Kind::Random, Kind::Small, Kind::Large, Kind::Awkward];

    fn name(self) -> &'static str {
        match self {
            Kind::Random => "random",
            Kind::Small => "small",
            Kind::Large => "large",
            Kind::Awkward => "awkward",
        }
    }
}

/// What to generate.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Precisions.
    pub precisions: Vec<Precision>,
    /// Kinds of data.
    pub kinds: Vec<Kind>,
    /// Surrogates.
    pub surrogates: Vec<Surrogate>,
    /// Model configurations.
    pub models: Vec<ModelSpec>,
    /// Seed of the data.
    pub seed: u64,
}

impl Default for Plan {
    /// Everything: every configuration, surrogate and kind, fp32, fp16 and
    /// f16-storage (which the IPU backends skip, with a note in the
    /// report: their vertices do not have it yet).
    fn default() -> Self {
        Plan {
            precisions: vec![Precision::F32, Precision::F16, Precision::F16Storage],
            kinds: Kind::ALL.to_vec(),
            surrogates: Surrogate::DEFAULTS.to_vec(),
            models: ModelSpec::all(),
            seed: 1,
        }
    }
}

/// xorshift64*.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
    fn pick<T: Copy>(&mut self, values: &[T]) -> T {
        values[(self.next() % values.len() as u64) as usize]
    }
}

const STEPS: usize = 5;
const BATCH: usize = 2;
const NEURONS: usize = 3;

/// Every case of the plan, in a fixed order (by model first).
pub fn cases(plan: &Plan) -> Vec<Case> {
    let mut all = Vec::new();
    let mut counter = 0u64;
    for model in &plan.models {
        for surrogate in &plan.surrogates {
            for &precision in &plan.precisions {
                for &kind in &plan.kinds {
                    counter += 1;
                    let seed = plan.seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)
                        ^ counter.wrapping_mul(0xd1b5_4a32_d192_ed03);
                    all.push(case(
                        *model,
                        *surrogate,
                        precision,
                        kind,
                        counter % 2 == 0,
                        seed | 1,
                    ));
                }
            }
        }
    }
    all
}

/// True for the configurations whose immediate reset divides the spike by
/// `graded` (Leaky with `reset_delay = false` and a subtract or zero reset).
fn divides_by_graded(model: &ModelSpec) -> bool {
    matches!(
        model,
        ModelSpec::Leaky {
            reset: Reset::Subtract | Reset::Zero,
            reset_delay: false,
        }
    )
}

/// A parameter value the kernels accept (`docs/semantics.md`, "Parameter
/// rules"): the awkward kind draws edge values among the accepted ones
/// (0, 1, decay rates outside `[0, 1]` that are clamped, negative
/// thresholds, `graded = 0` where nothing divides by it).
fn param(model: &ModelSpec, name: &str, kind: Kind, rng: &mut Rng) -> f64 {
    let alpha_model = matches!(model, ModelSpec::Alpha { .. });
    let lapicque = matches!(model, ModelSpec::Lapicque { .. });
    if kind == Kind::Awkward && !alpha_model && !lapicque {
        return match name {
            "beta" | "alpha" => rng.pick(&[0.0, 1.0, 1.25, -0.5, 0.5]),
            "threshold" => rng.pick(&[0.0, 1.0, 0.5, -0.25]),
            // the kernels refuse graded = 0 where the immediate reset
            // divides by it (reset_delay = false with a subtract or zero
            // reset; `docs/semantics.md`, "Parameter rules")
            "graded" if divides_by_graded(model) => rng.pick(&[1.0, 2.0, 0.5]),
            "graded" => rng.pick(&[1.0, 2.0, 0.5, 0.0]),
            "v" => rng.pick(&[0.0, -1.0, 0.5]),
            _ => unreachable!("{name}"),
        };
    }
    match (alpha_model, name) {
        (true, "alpha") => rng.range(0.75, 1.0),
        (true, "beta") => rng.range(0.0, 0.7),
        (_, "alpha") => rng.range(0.2, 0.99),
        (_, "beta") if lapicque => rng.range(0.3, 0.95),
        (_, "beta") => rng.range(0.3, 1.0),
        (_, "threshold") => rng.range(0.5, 1.5),
        (_, "graded") => rng.range(0.5, 2.0),
        (_, "v") => rng.range(-0.7, 0.7),
        (_, "r") | (_, "c") => rng.range(0.5, 2.0),
        (_, "time_step") => rng.range(0.5, 1.5),
        _ => unreachable!("{name}"),
    }
}

fn case(
    model: ModelSpec,
    surrogate: Surrogate,
    precision: Precision,
    kind: Kind,
    per_neuron: bool,
    seed: u64,
) -> Case {
    let mut rng = Rng(seed);
    let n = BATCH * NEURONS;
    let round = |v: f64| precision.round(v);
    // Lapicque's time_step is a scalar in snnTorch; the others may be per neuron
    let params: Vec<Vec<f64>> = model
        .params()
        .iter()
        .map(|name| {
            let count = if per_neuron && *name != "time_step" {
                NEURONS
            } else {
                1
            };
            (0..count)
                .map(|_| round(param(&model, name, kind, &mut rng)))
                .collect()
        })
        .collect();
    let threshold = {
        let k = model
            .params()
            .iter()
            .position(|p| *p == "threshold")
            .expect("every model has a threshold");
        params[k][0]
    };
    let awkward = [
        0.0,
        -0.0,
        precision.min_subnormal(),
        -precision.min_subnormal(),
        3.0 * precision.min_subnormal(),
        threshold,
        precision.next_up(threshold),
        precision.next_down(threshold),
        1.0,
        -1.0,
        precision.max() / 2.0,
        precision.max(),
        -precision.max(),
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
    ];
    let value = |rng: &mut Rng| -> f64 {
        round(match kind {
            Kind::Random => rng.range(-0.5, 1.5),
            Kind::Small => rng.range(-1e-3, 1e-3),
            Kind::Large => {
                rng.range(-1.0, 1.0)
                    * if precision.storage() == Precision::F16 {
                        1e3
                    } else {
                        1e6
                    }
            }
            Kind::Awkward => {
                if rng.unit() < 0.5 {
                    rng.pick(&awkward)
                } else {
                    rng.range(-0.5, 1.5)
                }
            }
        })
    };
    let inputs: Vec<Vec<f64>> = model
        .inputs()
        .iter()
        .map(|_| (0..STEPS * n).map(|_| value(&mut rng)).collect())
        .collect();
    let initial: Vec<Vec<f64>> = model
        .states()
        .iter()
        .map(|name| {
            (0..n)
                .map(|_| {
                    if *name == "spk" && kind != Kind::Awkward {
                        rng.pick(&[0.0, 1.0])
                    } else {
                        value(&mut rng)
                    }
                })
                .collect()
        })
        .collect();
    let weight = |rng: &mut Rng| -> f64 {
        if kind == Kind::Awkward && rng.unit() < 0.3 {
            rng.pick(&[0.0, -0.0, 1e4, -3.0])
        } else {
            round(rng.range(-1.0, 1.0))
        }
    };
    let grad_spikes: Vec<f64> = (0..STEPS * n).map(|_| weight(&mut rng)).collect();
    let stored = model.stored_states().len();
    let grad_states: Vec<Vec<f64>> = if rng.unit() < 0.5 {
        Vec::new()
    } else {
        (0..stored)
            .map(|_| (0..STEPS * n).map(|_| weight(&mut rng)).collect())
            .collect()
    };
    Case {
        model,
        surrogate,
        precision,
        steps: STEPS,
        batch: BATCH,
        neurons: NEURONS,
        seed: (seed >> 32) as u32,
        params,
        inputs,
        initial,
        grad_spikes,
        grad_states,
        label: format!(
            "{} data, {} parameters",
            kind.name(),
            if per_neuron { "per-neuron" } else { "scalar" }
        ),
    }
}
