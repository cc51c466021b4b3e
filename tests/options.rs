//! The `snn-ipu` command refuses what it cannot run as asked: numbers that
//! are not finite or that the precision cannot hold, zero sizes, options
//! given twice or unknown, and runs that need more memory than the machine
//! has, each with a message that says what to fix.

use snn_ipu::memory::Available;
use snn_ipu::{DemoConfig, Precision};

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// The configuration of `list`, checked against `available`.
fn config(list: &[&str], available: Available) -> Result<DemoConfig, String> {
    let config = DemoConfig::parse(&args(list))?.expect("not --help");
    config.check(available)?;
    Ok(config)
}

const PLENTY: Available = Available::MemAvailable(1 << 40);

fn refused(list: &[&str], needle: &str) {
    let message = config(list, PLENTY).expect_err("refused");
    assert!(
        message.contains(needle),
        "{list:?}: `{message}` should say `{needle}`"
    );
}

#[test]
fn numbers_that_are_not_finite_or_not_representable_are_refused() {
    refused(&["--beta", "nan"], "--beta needs a finite number");
    refused(&["--threshold", "inf"], "--threshold needs a finite number");
    refused(
        &["--threshold", "-infinity"],
        "--threshold needs a finite number",
    );
    refused(&["--beta", "1e999"], "--beta needs a finite number");
    refused(&["--beta", "x"], "--beta needs a number");
    // the precision may come after the value
    refused(
        &["--threshold", "1e6", "--precision", "f16"],
        "--threshold 1e6 is beyond the largest fp16 value; the nearest one is 65504",
    );
    refused(
        &["--precision", "f16", "--beta", "1e-10"],
        "rounds to 0 in fp16",
    );
    refused(&["--threshold", "1e39"], "beyond the largest fp32 value");
    let c = config(&["--precision", "f16", "--threshold", "65504"], PLENTY).unwrap();
    assert_eq!(c.threshold, 65504.0);
    let c = config(&["--threshold", "1e6"], PLENTY).unwrap();
    assert_eq!(c.precision, Precision::F32);
    // the values used are shown where the precision rounds them
    let c = config(&["--precision", "f16", "--beta", "0.9"], PLENTY).unwrap();
    assert_eq!(
        c.describe_params(),
        "beta 0.9 (0.89990234375 in fp16), threshold 1"
    );
}

#[test]
fn sizes_options_and_repeats_are_checked() {
    for flag in ["--neurons", "--batch", "--steps", "--repeats"] {
        refused(&[flag, "0"], "must be at least 1, got 0");
        refused(&[flag, "-2"], "needs a whole number");
        refused(&[flag], "needs a value");
    }
    refused(&["--steps", "3", "--steps", "4"], "--steps is given twice");
    refused(&["--steps", "--batch", "4"], "got the option `--batch`");
    refused(&["--stepz", "3"], "unknown option `--stepz`");
    refused(&["--precision", "bf16"], "f32 or f16");
    refused(&["--repeats", "1000000"], "more than 1000");
    refused(
        &[
            "--neurons",
            "100000",
            "--batch",
            "100000",
            "--steps",
            "1000",
        ],
        "more than 2^30 values",
    );
    refused(
        &["--neurons", "18446744073709551615", "--batch", "2"],
        "more than 2^30 values",
    );
    // a zero size set through the library is refused too
    let zero = DemoConfig {
        batch: 0,
        ..DemoConfig::default()
    };
    assert!(zero
        .check(PLENTY)
        .unwrap_err()
        .contains("--batch must be at least 1"));
    let mut out = Vec::new();
    assert!(snn_ipu::run_leaky_demo(&zero, &mut out).is_err());
    assert!(out.is_empty(), "nothing ran");
}

#[test]
fn a_run_larger_than_the_available_memory_is_refused_with_what_it_needs() {
    // 1024 x 32 x 100 values, 5 arrays of them in fp32: 62.5 MiB
    let defaults = DemoConfig::default();
    assert_eq!(
        defaults.memory().bytes(),
        5 * 4 * 1024 * 32 * 100 + 2 * 4 * 1024 * 32 + 8
    );
    let message = defaults
        .check(Available::MemAvailable(50 << 20))
        .unwrap_err();
    for needle in [
        "this run needs 62.8 MiB",
        "input currents (3276800 values x 4 B)",
        "40.0 MiB it may use",
        "80% of the 50.0 MiB this machine has available (MemAvailable in /proc/meminfo)",
        "reduce --steps, --batch or --neurons",
        "up to --steps 63 fits",
        "--precision f16",
    ] {
        assert!(
            message.contains(needle),
            "`{message}` should say `{needle}`"
        );
    }
    assert!(defaults.check(Available::MemAvailable(100 << 20)).is_ok());
    // fp16 halves every buffer
    let half = DemoConfig {
        precision: Precision::F16,
        ..DemoConfig::default()
    };
    assert_eq!(half.memory().bytes() * 2, defaults.memory().bytes());
    assert!(half.check(Available::MemAvailable(50 << 20)).is_ok());
    // the 25 GB run of the issue: refused against the fixed fallback too
    let big = config(
        &["--neurons", "100000", "--batch", "100", "--steps", "100"],
        Available::Fallback,
    )
    .unwrap_err();
    assert!(big.contains("needs 18.7 GiB"), "{big}");
    assert!(
        big.contains("the fixed limit used where the available memory cannot be read (4.0 GiB)"),
        "{big}"
    );
}

#[test]
fn the_command_exits_with_2_and_says_what_to_fix() {
    for (list, needle) in [
        (
            &["layer", "--beta", "nan"][..],
            "--beta needs a finite number, got `nan`",
        ),
        (
            &["layer", "--precision", "f16", "--threshold", "1e6"],
            "nearest one is 65504",
        ),
        (&["layer", "--steps", "0"], "--steps must be at least 1"),
        (
            &[
                "layer",
                "--neurons",
                "1000000",
                "--batch",
                "1000",
                "--steps",
                "1000",
            ],
            "more than 2^30 values",
        ),
        (
            &[
                "layer",
                "--neurons",
                "1000000",
                "--batch",
                "1000",
                "--steps",
                "1",
            ],
            "this run needs",
        ),
        (&["train", "--steps", "0"], "--steps must be at least 1"),
        (
            &["--beta", "nan"],
            "--beta needs a finite number, got `nan`",
        ),
        (
            &["train", "--model", "izhikevich"],
            "--model is one of leaky",
        ),
        (&["train", "--lr", "-1"], "--lr must be positive"),
        (&["train", "--wings", "2"], "unknown option `--wings`"),
        (
            &["train", "--load", "w.safetensors"],
            "--load belongs to `snn-ipu evaluate`",
        ),
        (
            &["train", "--resume", "c.safetensors", "--hidden", "10"],
            "--hidden cannot be given with it",
        ),
        (
            &["train", "--data", "somewhere", "--test-fraction", "0.5"],
            "--data DIR has its own test files",
        ),
        (&["evaluate"], "evaluate needs --load FILE"),
        (
            &["evaluate", "--load", "w.safetensors", "--hidden", "10"],
            "--hidden is not an option of evaluate",
        ),
        (&["fly"], "unknown command `fly`"),
    ] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_snn-ipu"))
            .args(list)
            .output()
            .expect("the command runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{list:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{stderr}");
        assert!(stderr.contains(needle), "{list:?}: {stderr}");
        assert!(output.stdout.is_empty(), "nothing ran");
    }
}
