//! The checker itself: the kernels agree with the independent reference on
//! every configuration, and a backend that is wrong by one bit is caught.

use snn_codelet_gen::VertexKind;
use snn_reference::checker::vectors::{cases, Kind, Plan};
use snn_reference::checker::{
    check, first_parting_operation, Backend, GeneratedCppBackend, GraphEmulatorBackend,
    KernelsBackend,
};
use snn_reference::{Case, ModelSpec, Outcome, Precision};

/// Every model configuration x surrogate x {f32, f16}, on random and
/// awkward data (the `check --quick` plan), for the native kernels and for
/// the generated vertex C++ run on this CPU.
#[test]
fn kernels_and_generated_cpp_equal_the_reference_bit_for_bit_on_every_configuration() {
    let plan = Plan {
        kinds: vec![Kind::Random, Kind::Awkward],
        precisions: vec![Precision::F32, Precision::F16],
        ..Plan::default()
    };
    let all = cases(&plan);
    // 51 configurations (8 models, their resets, delays and Lapicque's
    // parameter sets) x 10 surrogates x {f32, f16} x {random, awkward}
    assert_eq!(all.len(), 2040);
    let sequence = GeneratedCppBackend {
        single_steps: false,
    };
    let steps = GeneratedCppBackend { single_steps: true };
    let report = check(
        &[&KernelsBackend, &sequence, &steps, &GraphEmulatorBackend],
        &all,
        |_| {},
    );
    assert!(
        report.passed(),
        "{}\n{}",
        report.details.join("\n"),
        report.table()
    );
    // every generated neuron vertex ran (the training vertices have their
    // own tests: poplar-host/tests/training_vertices.rs)
    let run = snn_poplar_host::emulator::vertices_run();
    let neuron_kinds = [
        VertexKind::ForwardStep,
        VertexKind::ForwardSequence,
        VertexKind::BackwardSequence,
    ];
    let missing: Vec<&str> = snn_poplar_host::emulator::manifest()
        .iter()
        .filter(|v| neuron_kinds.contains(&v.kind))
        .map(|v| v.name.as_str())
        .filter(|name| !run.contains(*name))
        .collect();
    assert!(
        missing.is_empty(),
        "{} vertices never ran: {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
    // every model in both precisions was run on both backends
    for backend in [
        "kernels",
        "generated-c++",
        "generated-c++ steps",
        "graph-emulator",
    ] {
        for model in ModelSpec::all() {
            for precision in [Precision::F32, Precision::F16] {
                let key = (
                    backend.to_string(),
                    model.name().to_string(),
                    precision.to_string(),
                );
                assert!(
                    report.rows.get(&key).is_some_and(|row| row.cases > 0),
                    "no cases for {key:?}"
                );
            }
        }
    }
}

/// f16-storage (binary16 storage, binary32 arithmetic), the `check --quick`
/// plan: the kernels equal the reference bit for bit on every configuration
/// (among them the models whose backward pass must recompute the membrane
/// before firing rather than take the rounded stored state), and the IPU
/// backends, which do not have this precision yet, skip every case and say
/// so.
#[test]
fn kernels_equal_the_reference_in_f16_storage_and_the_ipu_backends_skip_it() {
    let plan = Plan {
        kinds: vec![Kind::Random, Kind::Awkward],
        precisions: vec![Precision::F16Storage],
        ..Plan::default()
    };
    let all = cases(&plan);
    assert_eq!(all.len(), 1020);
    let sequence = GeneratedCppBackend {
        single_steps: false,
    };
    let report = check(&[&KernelsBackend, &sequence], &all, |_| {});
    assert!(
        report.passed(),
        "{}\n{}",
        report.details.join("\n"),
        report.table()
    );
    for model in ModelSpec::all() {
        let key = (
            "kernels".to_string(),
            model.name().to_string(),
            Precision::F16Storage.to_string(),
        );
        assert!(
            report.rows.get(&key).is_some_and(|row| row.cases > 0),
            "no cases for {key:?}"
        );
    }
    assert!(
        !report
            .rows
            .keys()
            .any(|(backend, _, _)| backend == "generated-c++"),
        "the generated C++ ran f16-storage cases"
    );
    let key = (
        "generated-c++".to_string(),
        Precision::F16Storage.to_string(),
    );
    let (skipped, note) = &report.skipped[&key];
    assert_eq!(*skipped, all.len());
    assert!(note.contains("not yet generated"), "{note}");
}

/// The first case of every model configuration in f32 and in f16, on data
/// of one kind.
fn one_per_model(kind: Kind) -> Vec<Case> {
    let plan = Plan {
        kinds: vec![kind],
        precisions: vec![Precision::F32, Precision::F16],
        ..Plan::default()
    };
    let mut seen = Vec::new();
    cases(&plan)
        .into_iter()
        .filter(|c| {
            let key = (c.model.name(), c.model.variant(), c.precision);
            let new = !seen.contains(&key);
            seen.push(key);
            new
        })
        .collect()
}

/// The kernels with the last bit of one value flipped.
struct OneBitOff {
    /// Which output: 0 spikes, 1 first state, 2 first parameter gradient.
    output: usize,
}

impl Backend for OneBitOff {
    fn name(&self) -> &str {
        "one-bit-off"
    }
    fn run(&self, case: &Case) -> Result<Outcome, String> {
        let mut outcome = KernelsBackend.run(case)?;
        let flip = |x: &mut f64| {
            // flip the lowest bit of the value in the case's precision
            let p = case.precision;
            *x = p.from_bits(p.bits(*x) ^ 1);
        };
        match self.output {
            0 => flip(&mut outcome.spikes[7]),
            1 => flip(&mut outcome.states[0][8]),
            _ => flip(&mut outcome.grad_params[0][0]),
        }
        Ok(outcome)
    }
}

#[test]
fn a_backend_one_bit_off_is_caught_and_described() {
    // one case per model and precision is enough
    let some = one_per_model(Kind::Random);
    for output in 0..3 {
        let wrong = OneBitOff { output };
        let report = check(&[&KernelsBackend, &wrong], &some, |_| {});
        assert!(
            !report.passed(),
            "output {output}: the flipped bit went unseen"
        );
        for ((backend, model, precision), row) in &report.rows {
            if backend == "kernels" {
                assert_eq!(row.failed, 0, "{model} {precision}");
            } else {
                assert_eq!(row.failed, row.cases, "{model} {precision}");
                assert_eq!(row.mismatches, row.cases, "exactly one value per case");
            }
        }
        let detail = &report.details[0];
        assert!(detail.contains("MISMATCH one-bit-off"), "{detail}");
        assert!(detail.contains("0x"), "values in hexadecimal: {detail}");
        if output < 2 {
            assert!(detail.contains("step 1"), "the step is named: {detail}");
        }
        assert!(report.table().contains("FAIL"));
    }
}

#[test]
fn no_parting_operation_where_kernels_and_reference_agree() {
    let some = one_per_model(Kind::Awkward);
    for case in &some {
        for t in 0..case.steps {
            for element in 0..case.elements() {
                assert_eq!(
                    first_parting_operation(case, t, element),
                    None,
                    "{} step {t} element {element}",
                    case.describe()
                );
            }
        }
    }
}
