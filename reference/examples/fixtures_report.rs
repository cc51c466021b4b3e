//! The snnTorch conformance report (`snn-reference fixtures`) for fixtures
//! in another folder, such as the extra cases `generate.py --extra DIR`
//! writes (`reference/fixtures/README.md`, "Extra cases"):
//!
//! ```text
//! cargo run --release -p snn-reference --example fixtures_report -- DIR
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use snn_reference::conformance;

fn main() -> ExitCode {
    let Some(dir) = std::env::args().nth(1).map(PathBuf::from) else {
        eprintln!("usage: fixtures_report DIR (a folder with index.json and data.bin)");
        return ExitCode::from(2);
    };
    match conformance::report(&dir) {
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
