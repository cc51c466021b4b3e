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
  run        one spiking layer as an IPU graph: build, run (emulator, native or Poplar),
             check against the native kernels, report memory, estimated IPU time, speed
  plan       a network's training step as one IPU graph: fits or not, bytes per tile,
             estimated IPU time per step (nothing runs)
  codelets   write the generated Poplar vertices (codelets.cpp, manifest.json)
  emit-poplar  write a standalone Poplar program (host C++, codelets, data, Makefile)
               that runs a layer's graph on an IPU and checks it

`snn-ipu <command> --help` lists a command's options.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (command, rest) = match args.first().map(String::as_str) {
        None => ("train", &args[..]),
        Some("train") | Some("evaluate") | Some("layer") | Some("run") | Some("plan")
        | Some("codelets") | Some("emit-poplar") => (args[0].as_str(), &args[1..]),
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
        "run" => run(rest),
        "plan" => plan(rest),
        "codelets" => codelets(rest),
        "emit-poplar" => emit_poplar(rest),
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

/// Reports `result` of a command: success, or the message and a failure.
fn finish(result: Result<(), String>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> ExitCode {
    use snn_ipu::ipu_run::{run_command, RunOptions, RUN_USAGE};
    match RunOptions::parse(args) {
        Ok(Some(options)) => finish(run_command(&options, &mut std::io::stdout()).map(|_| ())),
        Ok(None) => {
            println!("{RUN_USAGE}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}\n\n(snn-ipu run --help lists the options)");
            ExitCode::from(2)
        }
    }
}

fn codelets(args: &[String]) -> ExitCode {
    use snn_ipu::ipu_files::{codelets_command, parse_codelets, CODELETS_USAGE};
    match parse_codelets(args) {
        Ok(Some(dir)) => finish(codelets_command(&dir, &mut std::io::stdout())),
        Ok(None) => {
            println!("{CODELETS_USAGE}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}\n\n{CODELETS_USAGE}");
            ExitCode::from(2)
        }
    }
}

fn emit_poplar(args: &[String]) -> ExitCode {
    use snn_ipu::ipu_files::{emit_command, parse_emit, EMIT_USAGE};
    match parse_emit(args) {
        Ok(Some((dir, config, training))) => finish(emit_command(
            &dir,
            &config,
            training,
            &mut std::io::stdout(),
        )),
        Ok(None) => {
            println!("{EMIT_USAGE}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}\n\n(snn-ipu emit-poplar --help lists the options)");
            ExitCode::from(2)
        }
    }
}

fn plan(args: &[String]) -> ExitCode {
    use snn_ipu::ipu_plan::{plan_command, PlanOptions, PLAN_USAGE};
    match PlanOptions::parse(args) {
        Ok(Some(options)) => finish(plan_command(&options, &mut std::io::stdout())),
        Ok(None) => {
            println!("{PLAN_USAGE}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}\n\n(snn-ipu plan --help lists the options)");
            ExitCode::from(2)
        }
    }
}
