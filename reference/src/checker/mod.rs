//! The bit-level checker: runs every backend on the same cases and
//! compares their results with the reference implementation's, bit for bit
//! (all NaNs equal).
//!
//! Adding a backend is one implementation of [`Backend`].

mod cpp;
pub mod graph;
mod kernels;
mod passes;
pub mod trace;
pub mod vectors;

use std::collections::BTreeMap;
use std::fmt::Write as _;

pub use self::cpp::GeneratedCppBackend;
pub use self::graph::GraphEmulatorBackend;
pub use self::kernels::{run_kernels, with_kernel_types, KernelVisitor, KernelsBackend};
pub use self::trace::first_parting_operation;
use crate::run::{run, Case, Outcome};

/// Why the IPU backends skip `f16-storage` cases.
pub(crate) const NOT_GENERATED: &str = "f16-storage is not yet generated for the IPU vertices \
     (`half` storage with a `float` body comes later): skipped, not compared";

/// Something that computes a layer's forward and backward passes.
pub trait Backend {
    /// A short name for reports.
    fn name(&self) -> &str;
    /// Runs a case; `Err` with a message when the backend refuses it.
    fn run(&self, case: &Case) -> Result<Outcome, String>;
    /// False for cases the backend does not compute at all (the IPU
    /// vertices have no `f64`); the checker then skips them.
    fn supports(&self, case: &Case) -> bool {
        let _ = case;
        true
    }
    /// For a case [`Backend::supports`] refuses that the report should
    /// mention (not a precision the backend can never compute, but one it
    /// does not compute yet): why it is skipped.
    fn skip_note(&self, case: &Case) -> Option<String> {
        let _ = case;
        None
    }
}

/// The independent implementation (the baseline every backend is compared
/// with).
#[derive(Clone, Copy, Debug, Default)]
pub struct ReferenceBackend;

impl Backend for ReferenceBackend {
    fn name(&self) -> &str {
        "reference"
    }
    fn run(&self, case: &Case) -> Result<Outcome, String> {
        Ok(run(case))
    }
}

/// One value that differs.
#[derive(Clone, Debug, PartialEq)]
pub struct Mismatch {
    /// Which output (`"spikes"`, `"state mem"`, `"dL/dbeta"`, ...).
    pub output: String,
    /// The index in that output.
    pub index: usize,
    /// The reference's value.
    pub expected: f64,
    /// The backend's value.
    pub actual: f64,
}

/// True when two values have the same bits (all NaNs equal). Both are
/// values of one precision held in `f64`, so their `f64` bits tell.
pub fn same_bits(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

/// Every value where `actual` differs from `expected`.
pub fn compare(case: &Case, expected: &Outcome, actual: &Outcome) -> Vec<Mismatch> {
    let mut mismatches = Vec::new();
    let e = expected.arrays(&case.model);
    let a = actual.arrays(&case.model);
    for ((name, ev), (_, av)) in e.iter().zip(&a) {
        if ev.len() != av.len() {
            mismatches.push(Mismatch {
                output: format!("{name} (length)"),
                index: 0,
                expected: ev.len() as f64,
                actual: av.len() as f64,
            });
            continue;
        }
        for (i, (&x, &y)) in ev.iter().zip(av.iter()).enumerate() {
            if !same_bits(x, y) {
                mismatches.push(Mismatch {
                    output: name.clone(),
                    index: i,
                    expected: x,
                    actual: y,
                });
            }
        }
    }
    mismatches
}

/// One line of the summary table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Row {
    /// Cases run.
    pub cases: usize,
    /// Cases with at least one mismatch (or an error).
    pub failed: usize,
    /// Mismatching values, summed.
    pub mismatches: usize,
}

/// The checker's results: `(backend, model, precision) -> Row`.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// The table.
    pub rows: BTreeMap<(String, String, String), Row>,
    /// The details of the first mismatches, for people.
    pub details: Vec<String>,
    /// Cases a backend skipped with a note (see [`Backend::skip_note`]):
    /// `(backend, precision) -> (cases, note)`.
    pub skipped: BTreeMap<(String, String), (usize, String)>,
}

impl Report {
    /// True when nothing differed.
    pub fn passed(&self) -> bool {
        self.rows.values().all(|r| r.failed == 0)
    }

    /// Total mismatching values.
    pub fn mismatches(&self) -> usize {
        self.rows.values().map(|r| r.mismatches).sum()
    }

    /// The summary table (Markdown).
    pub fn table(&self) -> String {
        let mut s =
            String::from("| backend | model | precision | result | cases | mismatching values |\n");
        s.push_str("| --- | --- | --- | --- | --- | --- |\n");
        for ((backend, model, precision), row) in &self.rows {
            let result = if row.failed == 0 {
                "pass".to_string()
            } else {
                format!("FAIL ({} cases)", row.failed)
            };
            let _ = writeln!(
                s,
                "| {backend} | {model} | {precision} | {result} | {} | {} |",
                row.cases, row.mismatches
            );
        }
        for ((backend, precision), (cases, note)) in &self.skipped {
            let _ = writeln!(s, "\n{backend}, {precision}: {cases} cases skipped: {note}");
        }
        s
    }
}

/// How many mismatch descriptions to keep per failing case.
const DETAILS_PER_CASE: usize = 3;
/// How many failing cases to describe in full.
const DETAILED_CASES: usize = 20;

/// Runs `backends` on every case, compares each with the reference, and
/// reports. `progress` receives a line per model (long runs).
pub fn check(backends: &[&dyn Backend], cases: &[Case], mut progress: impl FnMut(&str)) -> Report {
    let mut report = Report::default();
    let mut last_model = "";
    let mut detailed = 0;
    for case in cases {
        if case.model.name() != last_model {
            last_model = case.model.name();
            progress(&format!("checking {last_model} ..."));
        }
        let expected = run(case);
        for backend in backends {
            if let Some(note) = backend.skip_note(case) {
                let key = (backend.name().to_string(), case.precision.to_string());
                let entry = report.skipped.entry(key).or_insert((0, note));
                entry.0 += 1;
            }
        }
        for backend in backends.iter().filter(|b| b.supports(case)) {
            let key = (
                backend.name().to_string(),
                case.model.name().to_string(),
                case.precision.to_string(),
            );
            let row = report.rows.entry(key).or_default();
            row.cases += 1;
            match backend.run(case) {
                Err(message) => {
                    row.failed += 1;
                    row.mismatches += 1;
                    report.details.push(format!(
                        "{}: {} refused the case: {message}",
                        case.describe(),
                        backend.name()
                    ));
                }
                Ok(actual) => {
                    let mismatches = compare(case, &expected, &actual);
                    if !mismatches.is_empty() {
                        row.failed += 1;
                        row.mismatches += mismatches.len();
                        if detailed < DETAILED_CASES {
                            detailed += 1;
                            report
                                .details
                                .push(describe(case, backend.name(), &mismatches));
                        }
                    }
                }
            }
        }
    }
    report
}

/// A description of a failing case: model, configuration, step, element,
/// both values in hexadecimal and decimal, and the first operation where
/// the computations part when the mismatch is in the forward pass.
pub fn describe(case: &Case, backend: &str, mismatches: &[Mismatch]) -> String {
    let p = case.precision;
    let n = case.elements();
    let mut s = format!(
        "MISMATCH {} vs reference: {} ({} values differ)\n",
        backend,
        case.describe(),
        mismatches.len()
    );
    for m in mismatches.iter().take(DETAILS_PER_CASE) {
        let per_step = m.output.starts_with("spikes")
            || m.output.starts_with("state")
            || m.output == "dL/dx"
            || m.output == "dL/drec";
        let place = if per_step {
            let (t, element) = (m.index / n, m.index % n);
            format!(
                "step {t}, batch row {}, neuron {}",
                element / case.neurons,
                element % case.neurons
            )
        } else {
            format!("index {}", m.index)
        };
        let _ = writeln!(
            s,
            "  {} at {place}: reference {} ({:e}), {backend} {} ({:e})",
            m.output,
            p.hex(m.expected),
            m.expected,
            p.hex(m.actual),
            m.actual
        );
    }
    // where the forward computations part, for the first forward mismatch
    if let Some(m) = mismatches
        .iter()
        .find(|m| m.output == "spikes" || m.output.starts_with("state"))
    {
        let (t, element) = (m.index / n, m.index % n);
        if let Some(parting) = first_parting_operation(case, t, element) {
            let _ = writeln!(s, "  {parting}");
        }
    }
    s
}
