//! `snn-reference`: the bit-level checker and the snnTorch conformance
//! report, from the command line.
//!
//! ```text
//! cargo run --release -p snn-reference -- check            # every backend, every case
//! cargo run --release -p snn-reference -- check --quick    # fewer cases
//! cargo run --release -p snn-reference -- fixtures         # kernels vs snnTorch 1.0
//! ```

use std::process::ExitCode;

use snn_reference::checker::vectors::{cases, Kind, Plan};
use snn_reference::checker::{check, Backend, GeneratedCppBackend, KernelsBackend};
use snn_reference::conformance;
use snn_reference::Precision;

const USAGE: &str = "usage: snn-reference <command> [options]

commands:
  check       run every backend on generated test vectors and compare them
              with the independent reference, bit for bit
  fixtures    compare the kernels with the recorded snnTorch 1.0 fixtures
              (reference/fixtures/) and report how many cases are exact

options of check:
  --quick             random and awkward data only (a quarter of the cases)
  --precision P       f16, f32, f64 or all (default: f32 and f16)
  --model NAME        only this model (leaky, synaptic, alpha, lapicque,
                      rleaky, rleaky_all_to_all, rsynaptic, rsynaptic_all_to_all)
  --seed N            seed of the generated data (default 1)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("check") => run_check(&args[1..]),
        Some("fixtures") => run_fixtures(),
        Some("--help") | Some("-h") | Some("help") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn parse_plan(args: &[String]) -> Result<Plan, String> {
    let mut plan = Plan::default();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--quick" => plan.kinds = vec![Kind::Random, Kind::Awkward],
            "--precision" => {
                let value = it.next().ok_or("--precision needs a value")?;
                plan.precisions = match value.as_str() {
                    "f16" => vec![Precision::F16],
                    "f32" => vec![Precision::F32],
                    "f64" => vec![Precision::F64],
                    "all" => vec![Precision::F32, Precision::F16, Precision::F64],
                    other => return Err(format!("unknown precision `{other}`")),
                }
            }
            "--model" => {
                let value = it.next().ok_or("--model needs a value")?;
                plan.models.retain(|m| m.name() == value);
                if plan.models.is_empty() {
                    return Err(format!("unknown model `{value}`"));
                }
            }
            "--seed" => {
                let value = it.next().ok_or("--seed needs a value")?;
                plan.seed = value
                    .parse()
                    .map_err(|_| format!("--seed needs a whole number, got `{value}`"))?;
            }
            other => return Err(format!("unknown option `{other}`")),
        }
    }
    Ok(plan)
}

fn run_check(args: &[String]) -> ExitCode {
    let plan = match parse_plan(args) {
        Ok(plan) => plan,
        Err(message) => {
            eprintln!("error: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let cases = cases(&plan);
    let sequence = GeneratedCppBackend {
        single_steps: false,
    };
    let steps = GeneratedCppBackend { single_steps: true };
    let backends: Vec<&dyn Backend> = vec![&KernelsBackend, &sequence, &steps];
    println!(
        "{} cases, backends: {}",
        cases.len(),
        backends
            .iter()
            .map(|b| b.name())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let report = check(&backends, &cases, |line| println!("{line}"));
    for detail in &report.details {
        println!("\n{detail}");
    }
    println!("\n{}", report.table());
    if report.passed() {
        println!("all backends agree with the reference bit for bit");
        ExitCode::SUCCESS
    } else {
        println!("{} values differ", report.mismatches());
        ExitCode::FAILURE
    }
}

fn run_fixtures() -> ExitCode {
    match conformance::report(&snn_reference::fixtures::default_dir()) {
        Ok(summary) => {
            println!("{}", summary.text());
            if summary.failures() == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
