//! `snn-ipu`: runs a layer of Leaky neurons over a sequence on this CPU with
//! the project's kernels, prints its spikes and measures its throughput.
//!
//! ```text
//! cargo run --release                      # built-in defaults
//! cargo run --release -- --help            # options
//! ```

use std::process::ExitCode;
use std::time::Instant;

use snn_ipu::{run_leaky_demo, DemoConfig};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match DemoConfig::from_args(&args) {
        Ok(Some(config)) => config,
        Ok(None) => {
            println!("{}", DemoConfig::usage());
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}\n\n{}", DemoConfig::usage());
            return ExitCode::from(2);
        }
    };
    println!(
        "Leaky layer: {} neurons x {} batch rows x {} steps, {}, {}, surrogate atan(2)",
        config.neurons,
        config.batch,
        config.steps,
        config.precision.name(),
        config.describe_params()
    );
    let started = Instant::now();
    match run_leaky_demo(&config, &mut std::io::stdout()) {
        Ok(()) => {
            println!("done in {:.2} s", started.elapsed().as_secs_f64());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
