//! Edited or broken fixtures are refused with an error that names the case,
//! the array and the problem, before anything is allocated for the case;
//! nothing panics, nothing passes silently, and an empty case list fails.

use serde_json::{json, Value};
use snn_reference::conformance::{report_fixtures, Summary};
use snn_reference::fixtures::{default_dir, Fixtures, MAX_CASE_VALUES};

/// Small fixtures: one f32 Leaky case, one f32 all-to-all case and one f16
/// Synaptic case, cut from the committed fixtures.
fn small() -> (Value, Vec<u8>) {
    let all = Fixtures::load(&default_dir()).expect("the committed fixtures load");
    let names = [
        "leaky-subtract-delay-atan-scalar-f32",
        "rleaky_all_to_all-subtract-delay-atan-scalar-f32",
        "synaptic-none-delay-atan-scalar-f16",
    ];
    let cases: Vec<_> = names
        .iter()
        .map(|n| {
            all.index
                .cases
                .iter()
                .find(|c| c.name == *n)
                .unwrap_or_else(|| panic!("{n} is recorded"))
        })
        .collect();
    let (index, data) = all.to_bytes(&cases);
    (serde_json::from_slice(&index).unwrap(), data)
}

fn load(index: &Value, data: &[u8]) -> Result<Fixtures, String> {
    Fixtures::from_bytes(&serde_json::to_vec(index).unwrap(), data)
}

fn summary(index: &Value, data: &[u8]) -> Summary {
    report_fixtures(&load(index, data).expect("the index loads"))
}

/// The error of case `k` after `edit`, which must fail only that case.
fn case_error(edit: impl FnOnce(&mut Value), k: usize) -> String {
    let (mut index, data) = small();
    edit(&mut index);
    let summary = summary(&index, &data);
    assert!(summary.failures() >= 1, "{}", summary.text());
    let error = summary.cases[k]
        .error
        .clone()
        .unwrap_or_else(|| panic!("case {k} fails: {}", summary.text()));
    assert!(summary.text().contains(&error));
    error
}

fn expect(message: &str, needles: &[&str]) {
    for needle in needles {
        assert!(
            message.contains(needle),
            "`{message}` should say `{needle}`"
        );
    }
}

#[test]
fn the_small_fixtures_pass_as_in_the_full_report() {
    let (index, data) = small();
    let summary = summary(&index, &data);
    assert_eq!(summary.cases.len(), 3);
    assert_eq!(summary.failures(), 0, "{}", summary.text());
    for case in &summary.cases {
        assert!(case.forward_exact(), "{}", case.fixture.name);
        assert!(case.compared() > 0);
    }
}

#[test]
fn array_offsets_that_wrap_or_run_past_the_data_are_refused() {
    let (mut index, data) = small();
    index["cases"][0]["arrays"]["x"] = json!([u64::MAX, 2]);
    let e = load(&index, &data).unwrap_err();
    expect(
        &e,
        &[
            "leaky-subtract-delay-atan-scalar-f32",
            "array x",
            "runs past the end of data.bin",
        ],
    );
    let (mut index, data) = small();
    index["cases"][1]["arrays"]["grad.rec"] = json!([data.len() / 4 - 10, 11]);
    let e = load(&index, &data).unwrap_err();
    expect(
        &e,
        &["rleaky_all_to_all", "array grad.rec", "runs past the end"],
    );
    let (index, data) = small();
    let e = load(&index, &data[..data.len() - 1]).unwrap_err();
    expect(&e, &["data.bin", "not a whole number of float32 values"]);
}

#[test]
fn an_empty_or_ambiguous_case_list_is_refused() {
    let (mut index, data) = small();
    index["cases"] = json!([]);
    expect(&load(&index, &data).unwrap_err(), &["lists no cases"]);
    let (mut index, data) = small();
    let first = index["cases"][0].clone();
    index["cases"].as_array_mut().unwrap().push(first);
    expect(
        &load(&index, &data).unwrap_err(),
        &["two cases are named `leaky-subtract-delay-atan-scalar-f32`"],
    );
    let (mut index, data) = small();
    index["format"] = json!(2);
    expect(&load(&index, &data).unwrap_err(), &["format 2 is not 1"]);
    expect(
        &Fixtures::from_bytes(b"{not json", &data).unwrap_err(),
        &["index.json"],
    );
}

#[test]
fn missing_and_short_arrays_of_f32_cases_are_errors() {
    let remove = |k: usize, name: &'static str| {
        move |index: &mut Value| {
            index["cases"][k]["arrays"]
                .as_object_mut()
                .unwrap()
                .remove(name);
        }
    };
    // inputs, initial states, loss weights, parameters: what the case is made of
    for name in [
        "x",
        "initial.mem",
        "loss_weight.spikes",
        "loss_weight.mem",
        "param.beta",
    ] {
        let e = case_error(remove(0, name), 0);
        expect(
            &e,
            &[
                "leaky-subtract-delay-atan-scalar-f32",
                &format!("array {name} is missing"),
            ],
        );
    }
    // what snnTorch computed: a missing expected array is no silent pass
    for name in [
        "spikes",
        "state.mem",
        "grad.x",
        "grad.initial.mem",
        "grad.param.graded",
    ] {
        let e = case_error(remove(0, name), 0);
        expect(&e, &[&format!("array {name} is missing")]);
    }
    // the all-to-all recurrence's arrays
    for name in ["param.recurrent_weight", "grad.rec", "initial.spk", "rec"] {
        let e = case_error(remove(1, name), 1);
        expect(
            &e,
            &["rleaky_all_to_all", &format!("array {name} is missing")],
        );
    }
    // truncated arrays
    let shorten = |k: usize, name: &'static str, len: usize| {
        move |index: &mut Value| index["cases"][k]["arrays"][name][1] = json!(len)
    };
    let e = case_error(shorten(0, "state.mem", 71), 0);
    expect(
        &e,
        &[
            "array state.mem has 71 values",
            "steps 6, batch 3, neurons 4",
            "needs 72",
        ],
    );
    let e = case_error(shorten(0, "param.beta", 2), 0);
    expect(&e, &["array param.beta has 2 values", "needs 1 or 4"]);
    let e = case_error(shorten(1, "param.recurrent_weight", 15), 1);
    expect(
        &e,
        &["array param.recurrent_weight has 15 values", "needs 16"],
    );
    let e = case_error(shorten(1, "grad.rec", 0), 1);
    expect(&e, &["array grad.rec has 0 values"]);
    let e = case_error(shorten(2, "grad.initial.syn", 11), 2);
    expect(
        &e,
        &[
            "synaptic-none-delay-atan-scalar-f16",
            "array grad.initial.syn has 11 values",
        ],
    );
}

#[test]
fn shapes_are_checked_before_anything_is_allocated() {
    for (steps, batch, neurons, needle) in [
        (1_000_000_000_000u64, 3u64, 4u64, "values per array"),
        (u64::MAX, 2, 4, "values per array"),
        (6, u64::MAX, u64::MAX, "values per array"),
        ((MAX_CASE_VALUES as u64) + 1, 1, 1, "values per array"),
        (0, 3, 4, "steps is 0"),
        (6, 0, 4, "batch is 0"),
        (6, 3, 0, "neurons is 0"),
    ] {
        let e = case_error(
            |index| {
                let case = &mut index["cases"][0];
                case["steps"] = json!(steps);
                case["batch"] = json!(batch);
                case["neurons"] = json!(neurons);
            },
            0,
        );
        expect(&e, &["leaky-subtract-delay-atan-scalar-f32", needle]);
    }
    // a shape the arrays do not have (within the cap)
    let e = case_error(|index| index["cases"][0]["batch"] = json!(2), 0);
    expect(
        &e,
        &[
            "array x has 72 values",
            "steps 6, batch 2, neurons 4",
            "needs 48",
        ],
    );
    let e = case_error(|index| index["cases"][0]["steps"] = json!(5), 0);
    expect(&e, &["returned_dtypes.spikes has 6 entries for 5 steps"]);
}

#[test]
fn other_fields_are_checked() {
    let e = case_error(|index| index["cases"][0]["surrogate_params"] = json!({}), 0);
    expect(&e, &["surrogate atan needs surrogate_params.alpha"]);
    let e = case_error(
        |index| index["cases"][0]["surrogate_params"] = json!({"alpha": 2.0, "slope": 3.0}),
        0,
    );
    expect(&e, &["surrogate atan has no parameter `slope`"]);
    let e = case_error(|index| index["cases"][0]["surrogate"] = json!("sso"), 0);
    expect(&e, &["unknown surrogate `sso`"]);
    let e = case_error(|index| index["cases"][0]["dtype"] = json!("bf16"), 0);
    expect(&e, &["unknown dtype `bf16`"]);
    let e = case_error(|index| index["cases"][0]["model"] = json!("izhikevich"), 0);
    expect(&e, &["unknown model izhikevich"]);
    let e = case_error(
        |index| index["cases"][0]["learnable"] = json!(["threshold", "graded", "beta", "v"]),
        0,
    );
    expect(&e, &["learnable parameter `v` is not a parameter of leaky"]);
    let e = case_error(
        |index| index["cases"][0]["returned_dtypes"]["spikes"][2] = json!("f16"),
        0,
    );
    expect(&e, &["an f32 case whose returned_dtypes.spikes is not f32"]);
    let e = case_error(
        |index| {
            index["cases"][2]["returned_dtypes"]
                .as_object_mut()
                .unwrap()
                .remove("state.syn");
        },
        2,
    );
    expect(&e, &["returned_dtypes has no entry for state.syn"]);
    let e = case_error(
        |index| index["cases"][2]["returned_dtypes"]["spikes"] = json!(["f32"]),
        2,
    );
    expect(&e, &["returned_dtypes.spikes has 1 entries for 6 steps"]);
}

/// A folder under the system's temporary folder for one test.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("snn-reference-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run_fixtures(dir: &std::path::Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_snn-reference"))
        .arg("fixtures")
        .arg("--dir")
        .arg(dir)
        .output()
        .expect("the command runs")
}

#[test]
fn the_command_reads_other_fixtures_and_fails_on_an_empty_or_broken_one() {
    let dir = scratch("fixtures");
    let (mut index, data) = small();
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    std::fs::write(dir.join("data.bin"), &data).unwrap();
    let ok = run_fixtures(&dir);
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success(), "{stdout}");
    assert!(stdout.contains("(3 cases)"), "{stdout}");

    index["cases"][0]["arrays"]["spikes"][1] = json!(70);
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    let broken = run_fixtures(&dir);
    let stdout = String::from_utf8_lossy(&broken.stdout);
    assert_eq!(broken.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("array spikes has 70 values"), "{stdout}");

    index["cases"] = json!([]);
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    let empty = run_fixtures(&dir);
    let stderr = String::from_utf8_lossy(&empty.stderr);
    assert_eq!(empty.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("lists no cases"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);

    let missing = run_fixtures(&dir);
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(missing.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot read"), "{stderr}");
}

#[test]
fn the_command_refuses_what_it_does_not_understand() {
    for (args, needle) in [
        (
            &["fixtures", "extra"][..],
            "unknown argument `extra` of fixtures",
        ),
        (
            &["check", "--model", "leaky", "--model", "nope"],
            "unknown model `nope`",
        ),
        (&["check", "--seed", "x"], "--seed needs a whole number"),
        (&["frobnicate"], "unknown command `frobnicate`"),
    ] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_snn-reference"))
            .args(args)
            .output()
            .expect("the command runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(stderr.contains("usage: snn-reference"), "{stderr}");
    }
}
