//! The kernels against snnTorch 1.0: every recorded fixture case run on the
//! kernels and compared with what snnTorch computed.
//!
//! Forward values (spikes and states) must be equal bit for bit in fp32.
//! Gradients are compared bit for bit too, and where they differ the error
//! must stay within the bound `reference/fixtures/README.md` states and
//! justifies for that kind of gradient (see [`bound`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::checker::{Backend, KernelsBackend};
use crate::fixtures::{FixtureCase, Fixtures};
use crate::run::Outcome;

/// How one recorded array compares.
#[derive(Clone, Debug, PartialEq)]
pub struct ArrayResult {
    /// The array's name in the fixture (`"state.mem"`, `"grad.x"`, ...).
    pub name: String,
    /// Values equal bit for bit (NaNs equal).
    pub exact: usize,
    /// Values compared.
    pub count: usize,
    /// The largest error, relative to the array's largest magnitude.
    pub max_error: f64,
    /// The bound this array must respect (0 for forward values).
    pub bound: f64,
    /// Not comparable (snnTorch computed it in another precision).
    pub skipped: bool,
}

impl ArrayResult {
    /// True when within the bound.
    pub fn ok(&self) -> bool {
        self.skipped || self.exact == self.count || self.max_error <= self.bound
    }
}

/// How one case compares.
#[derive(Clone, Debug)]
pub struct CaseResult {
    /// The fixture's name.
    pub name: String,
    /// Model name.
    pub model: String,
    /// `"f32"` or `"f16"`.
    pub dtype: String,
    /// Every array.
    pub arrays: Vec<ArrayResult>,
    /// An error running the case.
    pub error: Option<String>,
}

impl CaseResult {
    /// Forward values all exact.
    pub fn forward_exact(&self) -> bool {
        self.error.is_none()
            && self
                .arrays
                .iter()
                .filter(|a| !a.name.starts_with("grad"))
                .all(|a| a.skipped || a.exact == a.count)
    }
    /// Every compared array exact.
    pub fn all_exact(&self) -> bool {
        self.error.is_none() && self.arrays.iter().all(|a| a.skipped || a.exact == a.count)
    }
    /// Within every bound.
    pub fn ok(&self) -> bool {
        self.error.is_none() && self.arrays.iter().all(ArrayResult::ok)
    }
}

/// The whole comparison.
#[derive(Clone, Debug)]
pub struct Summary {
    /// snnTorch and torch versions of the fixtures.
    pub versions: String,
    /// Every case.
    pub cases: Vec<CaseResult>,
}

impl Summary {
    /// Cases outside their bounds.
    pub fn failures(&self) -> usize {
        self.cases.iter().filter(|c| !c.ok()).count()
    }

    /// A report for people: per model and dtype, how many cases are exact.
    pub fn text(&self) -> String {
        let mut s = format!(
            "kernels vs {} ({} cases)\n\n",
            self.versions,
            self.cases.len()
        );
        s.push_str("| model | dtype | cases | forward exact | all values exact | within bounds |\n| --- | --- | --- | --- | --- | --- |\n");
        let mut rows: BTreeMap<(String, String), [usize; 4]> = BTreeMap::new();
        for c in &self.cases {
            let row = rows.entry((c.model.clone(), c.dtype.clone())).or_default();
            row[0] += 1;
            row[1] += c.forward_exact() as usize;
            row[2] += c.all_exact() as usize;
            row[3] += c.ok() as usize;
        }
        let mut total = [0usize; 4];
        for ((model, dtype), row) in &rows {
            let _ = writeln!(
                s,
                "| {model} | {dtype} | {} | {} | {} | {} |",
                row[0], row[1], row[2], row[3]
            );
            for (t, r) in total.iter_mut().zip(row) {
                *t += r;
            }
        }
        let _ = writeln!(
            s,
            "| all | | {} | {} | {} | {} |",
            total[0], total[1], total[2], total[3]
        );
        // per gradient kind: exact values and the largest error seen
        let mut kinds: BTreeMap<String, (usize, usize, usize, f64)> = BTreeMap::new();
        for c in &self.cases {
            for a in c.arrays.iter().filter(|a| !a.skipped) {
                let kind = kinds.entry(kind_of(&a.name)).or_default();
                kind.0 += (a.exact == a.count) as usize;
                kind.1 += 1;
                kind.2 += a.exact;
                kind.3 = kind.3.max(a.max_error);
            }
        }
        s.push_str("\n| array | arrays exact | values exact | largest relative error |\n| --- | --- | --- | --- |\n");
        for (kind, (arrays_exact, arrays, _, max)) in &kinds {
            let _ = writeln!(s, "| {kind} | {arrays_exact} / {arrays} | | {max:.3e} |");
        }
        let failing: Vec<&CaseResult> = self.cases.iter().filter(|c| !c.ok()).collect();
        if !failing.is_empty() {
            let _ = writeln!(s, "\n{} cases outside their bounds:", failing.len());
            for c in failing.iter().take(20) {
                let _ = write!(s, "  {}:", c.name);
                if let Some(e) = &c.error {
                    let _ = write!(s, " error {e}");
                }
                for a in c.arrays.iter().filter(|a| !a.ok()) {
                    let _ = write!(
                        s,
                        " {} ({} of {} exact, error {:.3e} > {:.1e})",
                        a.name, a.exact, a.count, a.max_error, a.bound
                    );
                }
                s.push('\n');
            }
        }
        s
    }
}

/// The kind of an array, for the summary (`"grad.param.beta"` -> itself,
/// `"state.mem"` -> `"state"` ...).
fn kind_of(name: &str) -> String {
    if name.starts_with("state.") || name == "spikes" {
        "forward (spikes, states)".into()
    } else if name.starts_with("grad.initial.") {
        "grad.initial.*".into()
    } else {
        name.into()
    }
}

/// The bound on the relative error of a gradient array that cannot be
/// reproduced bit for bit, as `reference/fixtures/README.md` justifies it.
/// Forward values have no bound: they must be exact.
pub fn bound(fixture: &FixtureCase, name: &str) -> f64 {
    if !name.starts_with("grad") {
        return 0.0;
    }
    let f16 = fixture.dtype == "f16";
    let unit = if f16 { 2f64.powi(-11) } else { 2f64.powi(-24) };
    // a sum of up to T·B·M terms accumulated in another order: a few units
    // of rounding per term of the longest sum, relative to the largest value
    let terms = (fixture.steps * fixture.batch * fixture.neurons) as f64;
    let mut bound = 4.0 * terms * unit;
    // torch's exp (sigmoid, spike_rate_escape) is off by one ulp on about
    // 1 % of arguments: the error then travels through the backward sweep
    if matches!(fixture.surrogate.as_str(), "sigmoid" | "spike_rate_escape") {
        bound *= 4.0;
    }
    // fp16: snnTorch computes partly in f32 (its spikes are f32) and keeps
    // constants in f32; the kernels round every operation to binary16
    if f16 {
        bound = bound.max(1e-2);
    }
    bound
}

/// The names a case's outputs have in the fixtures.
struct Names<'a> {
    stored: &'a [&'a str],
    states: &'a [&'a str],
    inputs: &'a [&'a str],
    params: &'a [&'a str],
}

fn compare(
    fixtures: &Fixtures,
    fixture: &FixtureCase,
    outcome: &Outcome,
    names: &Names<'_>,
) -> Vec<ArrayResult> {
    let mut ours: Vec<(String, Vec<f64>)> = vec![("spikes".into(), outcome.spikes.clone())];
    for (name, values) in names.stored.iter().zip(&outcome.states) {
        ours.push((format!("state.{name}"), values.clone()));
    }
    for (name, values) in names.inputs.iter().zip(&outcome.grad_inputs) {
        ours.push((format!("grad.{name}"), values.clone()));
    }
    for (name, values) in names.states.iter().zip(&outcome.grad_initial) {
        ours.push((format!("grad.initial.{name}"), values.clone()));
    }
    for (name, values) in names.params.iter().zip(&outcome.grad_params) {
        ours.push((format!("grad.param.{name}"), values.clone()));
    }
    let mut results = Vec::new();
    for (name, values) in ours {
        let Some(theirs) = fixtures.array(fixture, &name) else {
            continue;
        };
        let dtypes = fixture.returned_dtypes.get(&name);
        let promoted = dtypes.is_some_and(|d| d.iter().any(|t| t != &fixture.dtype));
        let grad_of_promoted = fixture.dtype == "f16"
            && name.starts_with("grad")
            && fixture
                .returned_dtypes
                .values()
                .any(|d| d.iter().any(|t| t != "f16"));
        let skipped = promoted || grad_of_promoted || values.len() != theirs.len();
        let scale = theirs
            .iter()
            .filter(|v| v.is_finite())
            .fold(f64::MIN_POSITIVE, |m, v| m.max(v.abs()));
        let mut exact = 0;
        let mut max_error: f64 = 0.0;
        for (&a, &b) in values.iter().zip(&theirs) {
            if a.to_bits() == b.to_bits() || a.is_nan() && b.is_nan() {
                exact += 1;
            } else {
                max_error = max_error.max(if a.is_finite() && b.is_finite() {
                    (a - b).abs() / scale
                } else {
                    f64::INFINITY
                });
            }
        }
        results.push(ArrayResult {
            bound: bound(fixture, &name),
            name,
            exact,
            count: theirs.len(),
            max_error,
            skipped,
        });
    }
    results
}

/// Runs every fixture case on the kernels and compares.
pub fn report(dir: &Path) -> Result<Summary, String> {
    let fixtures = Fixtures::load(dir)?;
    let mut cases = Vec::new();
    for fixture in &fixtures.index.cases {
        let mut result = CaseResult {
            name: fixture.name.clone(),
            model: fixture.model.clone(),
            dtype: fixture.dtype.clone(),
            arrays: Vec::new(),
            error: None,
        };
        match fixtures.case(fixture) {
            Err(e) => result.error = Some(e),
            Ok(case) => match KernelsBackend.run(&case) {
                Err(e) => result.error = Some(e),
                Ok(outcome) => {
                    let states = case.model.states();
                    let names = Names {
                        stored: &states[..case.stored_states()],
                        states,
                        inputs: case.model.inputs(),
                        params: case.model.params(),
                    };
                    result.arrays = compare(&fixtures, fixture, &outcome, &names);
                }
            },
        }
        cases.push(result);
    }
    Ok(Summary {
        versions: format!(
            "snnTorch {} (torch {})",
            fixtures.index.snntorch, fixtures.index.torch
        ),
        cases,
    })
}

/// The worst arrays (debugging aid).
pub fn worst(summary: &Summary, n: usize) -> Vec<String> {
    let mut all: Vec<(f64, String)> = Vec::new();
    for c in &summary.cases {
        for a in &c.arrays {
            if !a.skipped && a.exact != a.count {
                all.push((
                    a.max_error / a.bound.max(1e-30),
                    format!(
                        "{} {} exact {}/{} err {:.3e} bound {:.1e}",
                        c.name, a.name, a.exact, a.count, a.max_error, a.bound
                    ),
                ));
            }
        }
    }
    all.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap());
    all.into_iter().take(n).map(|x| x.1).collect()
}
