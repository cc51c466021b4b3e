//! `snn-reference`: the bit-level checker and the snnTorch conformance
//! report, from the command line.
//!
//! ```text
//! cargo run --release -p snn-reference -- check            # every backend, every case
//! cargo run --release -p snn-reference -- check --quick    # fewer cases
//! cargo run --release -p snn-reference -- fixtures         # kernels vs snnTorch 1.0
//! cargo run --release -p snn-reference -- fixtures --dir DIR   # other fixtures
//! ```
//!
//! The options are parsed and checked by [`snn_reference::cli`]; anything it
//! does not understand is refused with exit code 2.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use snn_reference::checker::vectors::{cases, Plan};
use snn_reference::checker::{
    check, Backend, GeneratedCppBackend, GraphEmulatorBackend, KernelsBackend,
};
use snn_reference::cli::{self, Command, USAGE};
use snn_reference::conformance;

/// `println!` that ignores a closed standard output (`... | head`) instead
/// of panicking.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match cli::parse(&args) {
        Ok(Command::Check(plan)) => run_check(&plan),
        Ok(Command::Fixtures { dir }) => run_fixtures(&dir),
        Ok(Command::Help) => {
            say!("{USAGE}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run_check(plan: &Plan) -> ExitCode {
    let cases = cases(plan);
    let sequence = GeneratedCppBackend {
        single_steps: false,
    };
    let steps = GeneratedCppBackend { single_steps: true };
    let backends: Vec<&dyn Backend> =
        vec![&KernelsBackend, &sequence, &steps, &GraphEmulatorBackend];
    say!(
        "{} cases, backends: {}",
        cases.len(),
        backends
            .iter()
            .map(|b| b.name())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let report = check(&backends, &cases, |line| say!("{line}"));
    for detail in &report.details {
        say!("\n{detail}");
    }
    say!("\n{}", report.table());
    if report.passed() {
        say!("all backends agree with the reference bit for bit");
        ExitCode::SUCCESS
    } else {
        say!("{} values differ", report.mismatches());
        ExitCode::FAILURE
    }
}

fn run_fixtures(dir: &Path) -> ExitCode {
    match conformance::report(dir) {
        Ok(summary) => {
            say!("{}", summary.text());
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
