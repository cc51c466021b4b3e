//! The `snn-ipu` command's library part: the Leaky demo it runs on built-in
//! defaults (a later issue turns the command into the full tool).

pub mod data;
pub mod encode;
pub mod native;
pub mod network;
pub mod optim;
pub mod params;
pub mod train;

use std::io::Write;
use std::time::Instant;

use snn_kernels::layer::{InputGrads, Layer, OutputGrads, Param, Saved};
use snn_kernels::models::Leaky;
use snn_kernels::surrogate::Atan;
use snn_kernels::{Real, F16};

/// The precision the demo runs in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    /// IEEE binary32.
    F32,
    /// IEEE binary16 (every operation rounded to binary16).
    F16,
}

/// What the demo runs.
#[derive(Clone, Debug, PartialEq)]
pub struct DemoConfig {
    /// Neurons in the layer.
    pub neurons: usize,
    /// Batch rows.
    pub batch: usize,
    /// Time steps.
    pub steps: usize,
    /// Precision.
    pub precision: Precision,
    /// Membrane decay.
    pub beta: f64,
    /// Firing threshold.
    pub threshold: f64,
    /// Seed of the input currents.
    pub seed: u64,
    /// Timed repetitions of the forward and backward passes.
    pub repeats: usize,
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig {
            neurons: 1024,
            batch: 32,
            steps: 100,
            precision: Precision::F32,
            beta: 0.9,
            threshold: 1.0,
            seed: 1,
            repeats: 3,
        }
    }
}

impl DemoConfig {
    /// The option summary.
    pub fn usage() -> &'static str {
        "usage: snn-ipu [options]\n\
         \n\
         Runs a layer of Leaky neurons over a sequence of random input currents\n\
         on this CPU, prints the spikes of the first neurons and the throughput\n\
         of the fused forward pass and of forward + backward.\n\
         \n\
         options:\n\
         \x20 --neurons N      neurons in the layer (default 1024)\n\
         \x20 --batch B        batch rows (default 32)\n\
         \x20 --steps T        time steps (default 100)\n\
         \x20 --precision P    f32 or f16 (default f32)\n\
         \x20 --beta V         membrane decay (default 0.9)\n\
         \x20 --threshold V    firing threshold (default 1.0)\n\
         \x20 --seed S         seed of the input currents (default 1)\n\
         \x20 --repeats R      timed repetitions (default 3)\n\
         \x20 --help           this text"
    }

    /// Parses command-line options; `Ok(None)` means `--help`.
    pub fn from_args(args: &[String]) -> Result<Option<DemoConfig>, String> {
        let mut config = DemoConfig::default();
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            if flag == "--help" || flag == "-h" {
                return Ok(None);
            }
            let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
            let count = || -> Result<usize, String> {
                match value.parse::<usize>() {
                    Ok(v) if v > 0 => Ok(v),
                    _ => Err(format!(
                        "{flag} needs a whole number above 0, got `{value}`"
                    )),
                }
            };
            let real = || -> Result<f64, String> {
                value
                    .parse::<f64>()
                    .map_err(|_| format!("{flag} needs a number, got `{value}`"))
            };
            match flag.as_str() {
                "--neurons" => config.neurons = count()?,
                "--batch" => config.batch = count()?,
                "--steps" => config.steps = count()?,
                "--repeats" => config.repeats = count()?,
                "--beta" => config.beta = real()?,
                "--threshold" => config.threshold = real()?,
                "--seed" => {
                    config.seed = value
                        .parse()
                        .map_err(|_| format!("--seed needs a whole number, got `{value}`"))?
                }
                "--precision" => {
                    config.precision = match value.as_str() {
                        "f32" | "fp32" => Precision::F32,
                        "f16" | "fp16" => Precision::F16,
                        other => return Err(format!("--precision is f32 or f16, got `{other}`")),
                    }
                }
                other => return Err(format!("unknown option `{other}`")),
            }
        }
        let len = config
            .neurons
            .checked_mul(config.batch)
            .and_then(|n| n.checked_mul(config.steps));
        match len {
            Some(len) if len <= 1 << 30 => Ok(Some(config)),
            _ => Err("neurons x batch x steps must be at most 2^30".into()),
        }
    }
}

/// Random input currents in `[-0.2, 0.5)` (mean drive just under threshold
/// for beta 0.9), from a fixed-seed generator.
pub fn input_currents(len: usize, seed: u64) -> Vec<f64> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            let u = (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64;
            -0.2 + 0.7 * u
        })
        .collect()
}

/// Runs the demo and writes its report to `out`.
pub fn run_leaky_demo(
    config: &DemoConfig,
    out: &mut dyn Write,
) -> Result<(), Box<dyn std::error::Error>> {
    match config.precision {
        Precision::F32 => run::<f32>(config, out),
        Precision::F16 => run::<F16>(config, out),
    }
}

fn run<T: Real<Mask = bool>>(
    config: &DemoConfig,
    out: &mut dyn Write,
) -> Result<(), Box<dyn std::error::Error>> {
    let (steps, batch, neurons) = (config.steps, config.batch, config.neurons);
    let n = batch * neurons;
    let len = steps * n;
    let params = [
        T::constant(config.beta),
        T::constant(config.threshold),
        T::one(),
    ]
    .map(Param::Scalar);
    let layer = Layer::new(Leaky::default(), Atan::default(), batch, neurons, &params)?;
    let x: Vec<T> = input_currents(len, config.seed)
        .into_iter()
        .map(T::constant)
        .collect();
    let mem0 = vec![T::zero(); n];
    let mut spikes = vec![T::zero(); len];
    let mut mem = vec![T::zero(); len];
    // L = sum of spikes: every spike gradient is 1
    let grad_spikes = vec![T::one(); len];
    let mut grad_x = vec![T::zero(); len];
    let mut grad_mem0 = vec![T::zero(); n];
    let (mut grad_beta, mut grad_threshold) = ([T::zero()], [T::zero()]);

    let mut forward_best = f64::INFINITY;
    let mut backward_best = f64::INFINITY;
    for repeat in 0..config.repeats {
        let t0 = Instant::now();
        layer.forward(steps, &[&x], &[&mem0], &mut spikes, &mut [&mut mem])?;
        let t1 = Instant::now();
        layer.backward(
            steps,
            Saved::new(&[&x], &[&mem0], &spikes, &[&mem]),
            OutputGrads::new(&grad_spikes, &[]),
            InputGrads::new(
                &mut [&mut grad_x],
                &mut [&mut grad_mem0],
                &mut [&mut grad_beta, &mut grad_threshold, &mut []],
            ),
        )?;
        let t2 = Instant::now();
        forward_best = forward_best.min((t1 - t0).as_secs_f64());
        backward_best = backward_best.min((t2 - t1).as_secs_f64());
        writeln!(
            out,
            "pass {}/{}: forward {:.3} s, backward {:.3} s",
            repeat + 1,
            config.repeats,
            (t1 - t0).as_secs_f64(),
            (t2 - t1).as_secs_f64()
        )?;
    }

    let shown = neurons.min(16);
    let shown_steps = steps.min(40);
    writeln!(
        out,
        "spikes of neurons 0..{shown} of batch row 0, steps 0..{shown_steps} (| = spike):"
    )?;
    for m in 0..shown {
        let line: String = (0..shown_steps)
            .map(|t| {
                if spikes[t * n + m].gt(T::zero()) {
                    '|'
                } else {
                    '.'
                }
            })
            .collect();
        writeln!(out, "  neuron {m:>4}  {line}")?;
    }
    let total = spikes.iter().filter(|s| s.gt(T::zero())).count();
    writeln!(
        out,
        "firing rate: {:.4} spikes per neuron-step ({total} spikes)",
        total as f64 / len as f64
    )?;
    writeln!(
        out,
        "dL/dbeta = {:?}, dL/dthreshold = {:?} (L = total spike count, atan surrogate)",
        grad_beta[0], grad_threshold[0]
    )?;
    let per_second = |seconds: f64| len as f64 / seconds / 1e6;
    writeln!(
        out,
        "throughput (best of {}): forward {:.0} M neuron-steps/s, forward + backward {:.0} M neuron-steps/s",
        config.repeats,
        per_second(forward_best),
        per_second(forward_best + backward_best)
    )?;
    Ok(())
}
