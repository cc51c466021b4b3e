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
use crate::fixtures::{self, FixtureCase, Fixtures};
use crate::run::{Case, Outcome};

/// Why an array of an f16 case is not compared (f32 cases compare every
/// array they record).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum NotCompared {
    /// snnTorch returned the array as f32 at some step (`returned_dtypes`):
    /// its surrogates return `(x > 0).float()`, so the spikes are f32, and
    /// type promotion makes every value they enter f32 too.
    ReturnedF32,
    /// A gradient of an f16 case whose forward pass snnTorch ran partly in
    /// f32: its backward pass follows the same promotion, so the gradient
    /// is not a binary16 computation (autograd only casts the result).
    MixedPrecisionGradient,
}

impl NotCompared {
    /// Why, for the report.
    pub fn reason(self) -> &'static str {
        match self {
            NotCompared::ReturnedF32 => {
                "snnTorch returned it as f32 (its surrogates return f32 spikes, which promote what they enter)"
            }
            NotCompared::MixedPrecisionGradient => {
                "a gradient through snnTorch's f32-promoted values (its backward pass is partly f32)"
            }
        }
    }
}

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
    /// Set when the array is not compared, with the reason (f16 cases
    /// only: snnTorch computed it in another precision).
    pub not_compared: Option<NotCompared>,
}

impl ArrayResult {
    /// True when the array was compared.
    pub fn compared(&self) -> bool {
        self.not_compared.is_none()
    }

    /// True when within the bound (or not compared).
    pub fn ok(&self) -> bool {
        !self.compared() || self.exact == self.count || self.max_error <= self.bound
    }

    /// True when compared and every value is exact.
    pub fn exact(&self) -> bool {
        self.compared() && self.exact == self.count
    }

    /// A forward value (spikes or a state), not a gradient.
    pub fn forward(&self) -> bool {
        !self.name.starts_with("grad")
    }
}

/// How one case compares.
#[derive(Clone, Debug)]
pub struct CaseResult {
    /// The recorded case (its name, model, dtype, ...).
    pub fixture: FixtureCase,
    /// Every array.
    pub arrays: Vec<ArrayResult>,
    /// An error running the case.
    pub error: Option<String>,
}

impl CaseResult {
    /// Arrays compared.
    pub fn compared(&self) -> usize {
        self.arrays.iter().filter(|a| a.compared()).count()
    }

    /// At least one forward value compared, and all of them exact (a case
    /// with nothing compared is not counted as exact).
    pub fn forward_exact(&self) -> bool {
        let mut forward = self.arrays.iter().filter(|a| a.forward() && a.compared());
        self.error.is_none() && forward.clone().next().is_some() && forward.all(|a| a.exact())
    }

    /// At least one array compared, and every compared array exact.
    pub fn all_exact(&self) -> bool {
        self.error.is_none()
            && self.compared() > 0
            && self
                .arrays
                .iter()
                .filter(|a| a.compared())
                .all(|a| a.exact())
    }

    /// Within every bound (and no error).
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

    /// A report for people: per model and dtype, how many cases are exact;
    /// per kind of array, how many values are exact and the largest error;
    /// which arrays were not compared and why; the failing cases.
    pub fn text(&self) -> String {
        let mut s = format!(
            "kernels vs {} ({} cases)\n\n",
            self.versions,
            self.cases.len()
        );
        s.push_str("| model | dtype | cases | forward exact | all values exact | within bounds | nothing compared |\n| --- | --- | --- | --- | --- | --- | --- |\n");
        let mut rows: BTreeMap<(String, String), [usize; 5]> = BTreeMap::new();
        for c in &self.cases {
            let row = rows
                .entry((c.fixture.model.clone(), c.fixture.dtype.clone()))
                .or_default();
            row[0] += 1;
            row[1] += c.forward_exact() as usize;
            row[2] += c.all_exact() as usize;
            row[3] += c.ok() as usize;
            row[4] += (c.error.is_none() && c.compared() == 0) as usize;
        }
        let mut total = [0usize; 5];
        for ((model, dtype), row) in &rows {
            let _ = writeln!(
                s,
                "| {model} | {dtype} | {} | {} | {} | {} | {} |",
                row[0], row[1], row[2], row[3], row[4]
            );
            for (t, r) in total.iter_mut().zip(row) {
                *t += r;
            }
        }
        let _ = writeln!(
            s,
            "| all | | {} | {} | {} | {} | {} |",
            total[0], total[1], total[2], total[3], total[4]
        );
        // per gradient kind: exact values and the largest error seen
        let mut kinds: BTreeMap<String, (usize, usize, usize, usize, f64)> = BTreeMap::new();
        // per array name and reason: arrays not compared, in how many cases
        let mut skipped: BTreeMap<(NotCompared, String), usize> = BTreeMap::new();
        for c in &self.cases {
            for a in &c.arrays {
                if let Some(reason) = a.not_compared {
                    *skipped.entry((reason, a.name.clone())).or_default() += 1;
                    continue;
                }
                let kind = kinds.entry(kind_of(&a.name)).or_default();
                kind.0 += (a.exact == a.count) as usize;
                kind.1 += 1;
                kind.2 += a.exact;
                kind.3 += a.count;
                kind.4 = kind.4.max(a.max_error);
            }
        }
        s.push_str(
            "\n| array | arrays exact | values exact | largest error, in u·M | bound, in u·M |\n| --- | --- | --- | --- | --- |\n",
        );
        for (kind, (arrays_exact, arrays, values_exact, values, max)) in &kinds {
            let bound = if kind.starts_with("grad") {
                "2 L (L = 32 T + T B N)"
            } else {
                "0 (exact)"
            };
            let _ = writeln!(
                s,
                "| {kind} | {arrays_exact} / {arrays} | {values_exact} / {values} | {max:.3} | {bound} |"
            );
        }
        let _ = writeln!(
            s,
            "\nu is the unit roundoff of the case's precision, M the gradient's magnitude \
             (the sum over all paths of |products|, from the reference's tape); see \
             reference/fixtures/README.md."
        );
        let not_compared: usize = skipped.values().sum();
        if not_compared > 0 {
            let _ = writeln!(
                s,
                "\n{not_compared} arrays not compared (f16 cases: snnTorch 1.0 computes them partly in f32, so they are not binary16 results):\n\n| array | arrays | why |\n| --- | --- | --- |"
            );
            for ((reason, name), count) in &skipped {
                let _ = writeln!(s, "| {name} | {count} | {} |", reason.reason());
            }
        }
        let empty: Vec<&str> = self
            .cases
            .iter()
            .filter(|c| c.error.is_none() && c.compared() == 0)
            .map(|c| c.fixture.name.as_str())
            .collect();
        if !empty.is_empty() {
            let _ = writeln!(
                s,
                "\n{} cases have nothing left to compare (every array not compared, above), so none of them counts as exact: {}",
                empty.len(),
                empty.join(", ")
            );
        }
        let failing: Vec<&CaseResult> = self.cases.iter().filter(|c| !c.ok()).collect();
        if !failing.is_empty() {
            let _ = writeln!(
                s,
                "\n{} cases outside their bounds or in error:",
                failing.len()
            );
            for c in failing.iter().take(20) {
                let _ = write!(s, "  {}:", c.fixture.name);
                if let Some(e) = &c.error {
                    let _ = write!(s, " error: {e}");
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
            if failing.len() > 20 {
                let _ = writeln!(s, "  ... and {} more", failing.len() - 20);
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

/// The longest chain of roundings a gradient of `fixture` goes through, in
/// either implementation: per step of the backward sweep at most 32
/// operations (a surrogate evaluation with its `exp` or `atan`, the state
/// updates and the reset terms), then the sums over time, batch rows and
/// neurons (parameters, the all-to-all product `Wᵀ grad_rec`).
pub fn chain_length(fixture: &FixtureCase) -> f64 {
    (32 * fixture.steps + fixture.steps * fixture.batch * fixture.neurons) as f64
}

/// The bound on a gradient that is not equal bit for bit, in units of
/// `u · M` (`u` the unit roundoff, `M` the value's gradient magnitude from
/// [`crate::run::magnitudes`]): first-order error analysis bounds each
/// implementation's rounding error by `L · u · M` for a chain of `L`
/// roundings, whatever the order of its operations, so two implementations
/// differ by at most `2 L u M`. Forward values have no bound: they must be
/// exact.
pub fn bound(fixture: &FixtureCase, name: &str) -> f64 {
    if name.starts_with("grad") {
        2.0 * chain_length(fixture)
    } else {
        0.0
    }
}

/// The names a case's outputs have in the fixtures.
struct Names<'a> {
    stored: &'a [&'a str],
    states: &'a [&'a str],
    inputs: &'a [&'a str],
    params: &'a [&'a str],
}

fn named_arrays(outcome: &Outcome, names: &Names<'_>) -> Vec<(String, Vec<f64>)> {
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
    ours
}

fn compare(
    fixtures: &Fixtures,
    fixture: &FixtureCase,
    ours: Vec<(String, Vec<f64>)>,
    magnitudes: &BTreeMap<String, Vec<f64>>,
) -> Result<Vec<ArrayResult>, String> {
    let f16 = fixture.dtype == "f16";
    let unit = if f16 { 2f64.powi(-11) } else { 2f64.powi(-24) };
    let specs = fixtures::array_specs(fixture)?;
    // an f16 case some of whose outputs snnTorch returned as f32
    let mixed = f16
        && fixture
            .returned_dtypes
            .values()
            .any(|d| d.iter().any(|t| t != "f16"));
    let mut results = Vec::new();
    for (name, values) in ours {
        let Some(theirs) = fixtures.array(fixture, &name) else {
            // absent: allowed only where the format says so (a parameter
            // snnTorch does not learn, a gradient torch leaves `None`)
            if specs.iter().any(|s| s.name == name && s.required) {
                return Err(format!("case {}: no array {name}", fixture.name));
            }
            continue;
        };
        if theirs.len() != values.len() {
            return Err(format!(
                "case {}: array {name} has {} values, the case's shape needs {}",
                fixture.name,
                theirs.len(),
                values.len()
            ));
        }
        let promoted = f16
            && fixture
                .returned_dtypes
                .get(&name)
                .is_some_and(|d| d.iter().any(|t| t != "f16"));
        let not_compared = if promoted {
            Some(NotCompared::ReturnedF32)
        } else if mixed && name.starts_with("grad") {
            Some(NotCompared::MixedPrecisionGradient)
        } else {
            None
        };
        let magnitude = magnitudes.get(&name).filter(|m| m.len() == values.len());
        let mut exact = 0;
        let mut max_error: f64 = 0.0;
        for (i, (&a, &b)) in values.iter().zip(&theirs).enumerate() {
            if a.to_bits() == b.to_bits() || a.is_nan() && b.is_nan() {
                exact += 1;
                continue;
            }
            let m = magnitude.map_or(0.0, |m| m[i]);
            let error = (a - b).abs() / (unit * m);
            // 0/0 (both zero of other signs, no magnitude) is no error
            let error = if a == b { 0.0 } else { error };
            max_error = max_error.max(if error.is_nan() { f64::INFINITY } else { error });
        }
        results.push(ArrayResult {
            bound: bound(fixture, &name),
            name,
            exact,
            count: theirs.len(),
            max_error,
            not_compared,
        });
    }
    Ok(results)
}

/// The all-to-all layers' dense recurrence `rec[t] = W spk[t-1] + b` is
/// outside the kernel: the kernel takes `rec` as an input stream, and the
/// host computes the recurrence and its backward. To compare the kernel's
/// backward sweep given the same incoming gradients as snnTorch's, the
/// fixture's own `grad.rec[t+1]` is taken through `Wᵀ` (in f64, rounded once)
/// and added to the spike gradient of step `t`; the magnitude case gets
/// `|loss weight| + |W|ᵀ |grad.rec[t+1]|` there.
struct Recurrence {
    weight: Vec<f64>,
    neurons: usize,
}

impl Recurrence {
    /// The recurrence of an all-to-all case (`None` for other models); its
    /// weight has `neurons²` values (checked by `Fixtures::check_case`, and
    /// again here).
    fn of(fixtures: &Fixtures, fixture: &FixtureCase) -> Result<Option<Recurrence>, String> {
        if !fixture.model.ends_with("all_to_all") {
            return Ok(None);
        }
        let weight = fixtures
            .array(fixture, "param.recurrent_weight")
            .ok_or_else(|| format!("case {}: no array param.recurrent_weight", fixture.name))?;
        let neurons = fixture.neurons;
        if Some(weight.len()) != neurons.checked_mul(neurons) {
            return Err(format!(
                "case {}: array param.recurrent_weight has {} values, not neurons² for {neurons} neurons",
                fixture.name,
                weight.len()
            ));
        }
        Ok(Some(Recurrence { weight, neurons }))
    }

    /// `Wᵀ g` for one row `g` (`[N]`), with `|W|ᵀ |g|` when `absolute`.
    fn back(&self, g: &[f64], absolute: bool) -> Vec<f64> {
        let n = self.neurons;
        (0..n)
            .map(|i| {
                (0..n)
                    .map(|j| {
                        let (w, g) = (self.weight[j * n + i], g[j]);
                        if absolute {
                            w.abs() * g.abs()
                        } else {
                            w * g
                        }
                    })
                    .sum()
            })
            .collect()
    }

    /// Adds `Wᵀ grad_rec[t+1]` to the spike gradients of `case` and the
    /// magnitudes to `magnitude_case`.
    fn seed(&self, case: &mut Case, magnitude_case: &mut Case, grad_rec: &[f64]) {
        let (n, rows) = (self.neurons, case.batch);
        let row = rows * n;
        for t in 0..case.steps.saturating_sub(1) {
            for b in 0..rows {
                let at = (t + 1) * row + b * n;
                let g = &grad_rec[at..at + n];
                let (back, back_abs) = (self.back(g, false), self.back(g, true));
                for i in 0..n {
                    let k = t * row + b * n + i;
                    case.grad_spikes[k] = case.precision.round(case.grad_spikes[k] + back[i]);
                    magnitude_case.grad_spikes[k] =
                        magnitude_case.grad_spikes[k].abs() + back_abs[i];
                }
            }
        }
    }

    /// The host's part of the gradients, from the kernels' `grad.rec`:
    /// `grad.initial.spk = Wᵀ grad_rec[0]`, `grad.param.recurrent_weight =
    /// sum_t grad_rec[t] spk[t-1]ᵀ`, `grad.param.recurrent_bias = sum_t
    /// grad_rec[t]` (sums in f64, rounded once), with their magnitudes.
    fn host_gradients(
        &self,
        case: &Case,
        initial_spk: &[f64],
        spikes: &[f64],
        grad_rec: &[f64],
        magnitude_rec: &[f64],
    ) -> [(String, Vec<f64>, Vec<f64>); 3] {
        let (n, rows, steps) = (self.neurons, case.batch, case.steps);
        let row = rows * n;
        let p = case.precision;
        let mut initial = Vec::new();
        let mut initial_m = Vec::new();
        for b in 0..rows {
            let g = &grad_rec[b * n..b * n + n];
            let m = &magnitude_rec[b * n..b * n + n];
            initial.extend(self.back(g, false).into_iter().map(|v| p.round(v)));
            initial_m.extend(self.back(m, true));
        }
        let (mut weight, mut weight_m) = (vec![0.0; n * n], vec![0.0; n * n]);
        let (mut bias, mut bias_m) = (vec![0.0; n], vec![0.0; n]);
        for t in 0..steps {
            let previous = if t == 0 {
                initial_spk
            } else {
                &spikes[(t - 1) * row..t * row]
            };
            for b in 0..rows {
                for j in 0..n {
                    let (g, m) = (
                        grad_rec[t * row + b * n + j],
                        magnitude_rec[t * row + b * n + j],
                    );
                    bias[j] += g;
                    bias_m[j] += m;
                    for i in 0..n {
                        let s = previous[b * n + i];
                        weight[j * n + i] += g * s;
                        weight_m[j * n + i] += m * s.abs();
                    }
                }
            }
        }
        let round = |v: Vec<f64>| v.into_iter().map(|x| p.round(x)).collect();
        [
            ("grad.initial.spk".into(), initial, initial_m),
            (
                "grad.param.recurrent_weight".into(),
                round(weight),
                weight_m,
            ),
            ("grad.param.recurrent_bias".into(), round(bias), bias_m),
        ]
    }
}

fn run_case(fixtures: &Fixtures, fixture: &FixtureCase) -> Result<Vec<ArrayResult>, String> {
    let mut case = fixtures.case(fixture)?;
    let mut magnitude_case = case.clone();
    let recurrence = Recurrence::of(fixtures, fixture)?;
    let sequence = case.steps * case.elements();
    let array = |name: &str, len: usize| -> Result<Vec<f64>, String> {
        match fixtures.array(fixture, name) {
            Some(values) if values.len() == len => Ok(values),
            Some(values) => Err(format!(
                "case {}: array {name} has {} values, the case's shape needs {len}",
                fixture.name,
                values.len()
            )),
            None => Err(format!("case {}: no array {name}", fixture.name)),
        }
    };
    if let Some(recurrence) = &recurrence {
        let grad_rec = array("grad.rec", sequence)?;
        recurrence.seed(&mut case, &mut magnitude_case, &grad_rec);
    }
    let outcome = KernelsBackend.run(&case)?;
    let magnitudes = crate::run::magnitudes(&magnitude_case);
    let names = Names {
        stored: case.model.stored_states(),
        states: case.model.states(),
        inputs: case.model.inputs(),
        params: case.model.params(),
    };
    let mut ours = named_arrays(&outcome, &names);
    let mut magnitude_map: BTreeMap<String, Vec<f64>> =
        named_arrays(&magnitudes, &names).into_iter().collect();
    if let Some(recurrence) = &recurrence {
        let ours_rec = ours
            .iter()
            .find(|(n, _)| n == "grad.rec")
            .map(|(_, v)| v.clone())
            .filter(|v| v.len() == sequence)
            .ok_or("the kernels gave no grad.rec of the case's length")?;
        let magnitude_rec = magnitude_map
            .get("grad.rec")
            .filter(|v| v.len() == sequence)
            .ok_or("the reference gave no grad.rec magnitude of the case's length")?;
        let initial_spk = array("initial.spk", case.elements())?;
        let host = recurrence.host_gradients(
            &case,
            &initial_spk,
            &outcome.spikes,
            &ours_rec,
            magnitude_rec,
        );
        for (name, values, magnitude) in host {
            ours.push((name.clone(), values));
            magnitude_map.insert(name, magnitude);
        }
    }
    compare(fixtures, fixture, ours, &magnitude_map)
}

/// Runs every fixture case in `dir` on the kernels and compares.
pub fn report(dir: &Path) -> Result<Summary, String> {
    Ok(report_fixtures(&Fixtures::load(dir)?))
}

/// Runs every case of `fixtures` on the kernels and compares. A case that
/// cannot be run (a missing array, a shape its arrays do not have, ...)
/// gets its error and counts as a failure.
pub fn report_fixtures(fixtures: &Fixtures) -> Summary {
    let mut cases = Vec::new();
    for fixture in &fixtures.index.cases {
        let mut result = CaseResult {
            fixture: fixture.clone(),
            arrays: Vec::new(),
            error: None,
        };
        match run_case(fixtures, fixture) {
            Ok(arrays) => result.arrays = arrays,
            Err(e) => result.error = Some(e),
        }
        cases.push(result);
    }
    Summary {
        versions: format!(
            "snnTorch {} (torch {})",
            fixtures.index.snntorch, fixtures.index.torch
        ),
        cases,
    }
}
