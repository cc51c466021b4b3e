//! The checker's generated vectors draw only parameters the kernels accept
//! (the kernels refuse some edge values, `docs/semantics.md`, "Parameter
//! rules"), and still draw the accepted edge values. The refusals themselves
//! are tested in `kernels/tests/parameter_rules.rs`.

use snn_kernels::layer::{Layer, Param};
use snn_kernels::model::Model;
use snn_kernels::surrogate::{Heaviside, Surrogate};
use snn_kernels::{F16Storage, Real, F16};
use snn_reference::checker::vectors::{cases, Plan};
use snn_reference::checker::{with_kernel_types, KernelVisitor};
use snn_reference::{Case, ModelSpec, Precision};

/// Builds the kernels' layer of a case (its parameters in its precision).
struct Build<'a>(&'a Case);

impl KernelVisitor for Build<'_> {
    type Output = Result<(), String>;
    fn visit<M: Model, S: Surrogate>(self, model: M, _surrogate: S) -> Self::Output {
        // one surrogate for all: the parameter rules do not depend on it
        match self.0.precision {
            Precision::F16 => build::<M, F16>(model, self.0),
            Precision::F32 => build::<M, f32>(model, self.0),
            Precision::F64 => build::<M, f64>(model, self.0),
            Precision::F16Storage => build::<M, F16Storage>(model, self.0),
        }
    }
}

fn build<M: Model, T: Real<Mask = bool>>(model: M, case: &Case) -> Result<(), String> {
    let values: Vec<Vec<T>> = case
        .params
        .iter()
        .map(|p| p.iter().map(|&v| T::constant(v)).collect())
        .collect();
    let params: Vec<Param<T>> = values.iter().map(|v| Param::from_values(v)).collect();
    Layer::new(model, Heaviside, case.batch, case.neurons, &params)
        .map(|_| ())
        .map_err(|e| {
            format!(
                "{} {} ({}): {e}",
                case.model.name(),
                case.model.variant(),
                case.label
            )
        })
}

#[test]
fn every_generated_parameter_set_is_accepted_by_the_kernels() {
    let plan = Plan {
        precisions: vec![
            Precision::F32,
            Precision::F16,
            Precision::F16Storage,
            Precision::F64,
        ],
        ..Plan::default()
    };
    let all = cases(&plan);
    let refused: Vec<String> = all
        .iter()
        .filter_map(|case| with_kernel_types(case, Build(case)).err())
        .collect();
    assert!(
        refused.is_empty(),
        "{} of {} cases refused, first: {:?}",
        refused.len(),
        all.len(),
        &refused[..refused.len().min(5)]
    );
    // accepted edge values are still drawn: graded = 0 where nothing
    // divides by it, decay rates outside [0, 1], a zero threshold
    let drawn = |model: fn(&ModelSpec) -> bool, name: &str, value: f64| {
        all.iter().any(|case| {
            model(&case.model)
                && case
                    .model
                    .params()
                    .iter()
                    .position(|p| *p == name)
                    .is_some_and(|k| case.params[k].contains(&value))
        })
    };
    let leaky = |m: &ModelSpec| matches!(m, ModelSpec::Leaky { .. });
    assert!(drawn(leaky, "graded", 0.0));
    assert!(drawn(leaky, "beta", 1.25));
    assert!(drawn(leaky, "beta", -0.5));
    assert!(drawn(leaky, "threshold", 0.0));
}
