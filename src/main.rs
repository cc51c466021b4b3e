//! `snn-ipu`: trains spiking neural networks on this CPU with the project's
//! kernels.
//!
//! ```text
//! cargo run --release                          # train on the bundled digits (built-in defaults)
//! cargo run --release -- train --help          # training options
//! cargo run --release -- layer --help          # one layer's throughput
//! ```

use std::process::ExitCode;

use snn_ipu::cli::{TrainOptions, EVALUATE_USAGE, TRAIN_USAGE};
use snn_ipu::interrupt::Interrupt;
use snn_ipu::{run_leaky_demo, DemoConfig};

const USAGE: &str = "usage: snn-ipu [command] [options]

commands:
  train      train a spiking classifier (the default when no command is given)
  evaluate   test saved weights (train --save FILE) on the test set
  layer      run one Leaky layer forward and backward and measure its throughput

`snn-ipu <command> --help` lists a command's options.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (command, rest) = match args.first().map(String::as_str) {
        None => ("train", &args[..]),
        Some("train") | Some("evaluate") | Some("layer") => (args[0].as_str(), &args[1..]),
        Some("--help") | Some("-h") | Some("help") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some(flag) if flag.starts_with("--") => ("train", &args[..]),
        Some(other) => {
            eprintln!("error: unknown command `{other}`\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match command {
        "train" => train(rest),
        "evaluate" => evaluate(rest),
        _ => layer(rest),
    }
}

fn train(args: &[String]) -> ExitCode {
    let options = match TrainOptions::parse(args) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{TRAIN_USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}\n\n(snn-ipu train --help lists the options)");
            return ExitCode::from(2);
        }
    };
    let interrupt = Interrupt::new();
    if let Err(e) = interrupt.install() {
        eprintln!("warning: {e}; Ctrl-C will end the run without a checkpoint");
    }
    match snn_ipu::commands::train_command(&options, &interrupt, &mut std::io::stdout()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            if interrupt.requested() {
                ExitCode::from(snn_ipu::interrupt::EXIT_STATUS as u8)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn evaluate(args: &[String]) -> ExitCode {
    let options = match TrainOptions::parse_evaluate(args) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{EVALUATE_USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}\n\n(snn-ipu evaluate --help lists the options)");
            return ExitCode::from(2);
        }
    };
    match snn_ipu::commands::evaluate_command(&options, &mut std::io::stdout()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn layer(args: &[String]) -> ExitCode {
    let config = match DemoConfig::from_args(args) {
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
    let started = std::time::Instant::now();
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
