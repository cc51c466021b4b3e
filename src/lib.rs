//! The `snn-ipu` command's library part: the Leaky demo it runs on built-in
//! defaults (a later issue turns the command into the full tool), the
//! checked parsing of its options ([`options`]) and the memory estimate that
//! refuses a run the machine cannot hold ([`memory`]).

pub mod memory;
pub mod options;

pub use options::Precision;

pub mod checkpoint;
pub mod cli;
pub mod commands;
pub mod data;
pub mod encode;
pub mod graph_backend;
pub mod interrupt;
pub mod ipu_files;
pub mod ipu_plan;
pub mod ipu_run;
pub mod native;
pub mod network;
pub mod optim;
pub mod params;
pub mod report;
pub mod threads;
pub mod train;

use std::io::Write;
use std::time::Instant;

use snn_kernels::layer::{InputGrads, Layer, OutputGrads, Param, Saved};
use snn_kernels::models::Leaky;
use snn_kernels::surrogate::Atan;
use snn_kernels::{Real, F16};

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
         \x20 --beta V         membrane decay, clamped to [0, 1] as snnTorch does (default 0.9)\n\
         \x20 --threshold V    firing threshold (default 1.0)\n\
         \x20 --seed S         seed of the input currents (default 1)\n\
         \x20 --repeats R      timed repetitions (default 3)\n\
         \x20 --help           this text\n\
         \n\
         Sizes are whole numbers from 1; beta and threshold finite numbers that\n\
         the precision holds (at most 65504 in f16). A run that needs more memory\n\
         than the machine has available is refused with what it needs."
    }

    /// Parses command-line options; `Ok(None)` means `--help`. Every value
    /// is checked ([`DemoConfig::check`]), including that the run fits in the
    /// memory this machine has ([`memory::available`]).
    pub fn from_args(args: &[String]) -> Result<Option<DemoConfig>, String> {
        let config = match DemoConfig::parse(args)? {
            Some(config) => config,
            None => return Ok(None),
        };
        config.check(memory::available())?;
        Ok(Some(config))
    }

    /// Parses command-line options without [`DemoConfig::check`]; `Ok(None)`
    /// means `--help`.
    pub fn parse(args: &[String]) -> Result<Option<DemoConfig>, String> {
        let mut config = DemoConfig::default();
        let mut flags = options::Flags::new(args);
        while let Some(flag) = flags.next_flag()? {
            if flag == "--help" || flag == "-h" {
                return Ok(None);
            }
            let known = [
                "--neurons",
                "--batch",
                "--steps",
                "--repeats",
                "--beta",
                "--threshold",
                "--seed",
                "--precision",
            ];
            if !known.contains(&flag) {
                return Err(format!(
                    "unknown option `{flag}` (the options: {}, --help)",
                    known.join(", ")
                ));
            }
            let value = flags.value(flag)?;
            match flag {
                "--neurons" => config.neurons = options::count(flag, value)?,
                "--batch" => config.batch = options::count(flag, value)?,
                "--steps" => config.steps = options::count(flag, value)?,
                "--repeats" => config.repeats = options::count(flag, value)?,
                "--beta" => config.beta = options::finite(flag, value)?,
                "--threshold" => config.threshold = options::finite(flag, value)?,
                "--seed" => config.seed = options::seed(flag, value)?,
                _ => config.precision = options::precision(flag, value)?,
            }
        }
        Ok(Some(config))
    }

    /// The largest `neurons · batch · steps` a run takes (2^30 values, 4 GiB
    /// per fp32 array).
    pub const MAX_VALUES: usize = 1 << 30;

    /// The most timed repetitions.
    pub const MAX_REPEATS: usize = 1000;

    /// Checks a configuration before anything is allocated: every size at
    /// least 1, `neurons · batch · steps` at most [`Self::MAX_VALUES`], at
    /// most [`Self::MAX_REPEATS`] repetitions, `beta` and `threshold` finite
    /// numbers the precision can hold ([`options::representable`]), and
    /// every buffer of the run ([`DemoConfig::memory`]) within `available`.
    pub fn check(&self, available: memory::Available) -> Result<(), String> {
        for (value, flag) in [
            (self.neurons, "--neurons"),
            (self.batch, "--batch"),
            (self.steps, "--steps"),
            (self.repeats, "--repeats"),
        ] {
            if value == 0 {
                return Err(format!("{flag} must be at least 1, got 0"));
            }
        }
        if self.repeats > Self::MAX_REPEATS {
            return Err(format!(
                "--repeats {} is more than {} (the best of a few repetitions is the measurement)",
                self.repeats,
                Self::MAX_REPEATS
            ));
        }
        options::representable("--beta", self.beta, self.precision)?;
        options::representable("--threshold", self.threshold, self.precision)?;
        let values = self
            .neurons
            .checked_mul(self.batch)
            .and_then(|n| n.checked_mul(self.steps));
        if values.is_none_or(|v| v > Self::MAX_VALUES) {
            return Err(format!(
                "--neurons {} x --batch {} x --steps {} is more than 2^30 values per array; reduce one of them",
                self.neurons, self.batch, self.steps
            ));
        }
        let per_step = self.memory_per_step();
        let fixed = self.memory_fixed();
        let usable = u128::from(available.usable_bytes());
        let fitting_steps = usable.saturating_sub(fixed) / per_step.max(1);
        let mut advice = String::from("reduce --steps, --batch or --neurons");
        if fitting_steps >= 1 {
            advice.push_str(&format!(
                " (with these --batch and --neurons, up to --steps {} fits)",
                fitting_steps.min(self.steps as u128)
            ));
        }
        if self.precision == Precision::F32 {
            advice.push_str(", or use --precision f16 (half the memory)");
        }
        memory::check(&self.memory(), available, &advice)
    }

    /// Every buffer the run allocates, in the run's precision: the input
    /// currents, the spikes, the membrane trajectory, the spike gradients
    /// and the input gradients (`steps · batch · neurons` values each), the
    /// initial membrane and its gradient (`batch · neurons` each), and the
    /// two parameter gradients.
    pub fn memory(&self) -> memory::Estimate {
        let bytes = self.precision.bytes();
        let n = (self.batch as u64).saturating_mul(self.neurons as u64);
        let len = n.saturating_mul(self.steps as u64);
        let mut estimate = memory::Estimate::default();
        estimate
            .add("input currents", len, bytes)
            .add("spikes", len, bytes)
            .add("membrane", len, bytes)
            .add("spike gradients", len, bytes)
            .add("input gradients", len, bytes)
            .add("initial membrane", n, bytes)
            .add("its gradient", n, bytes)
            .add("parameter gradients", 2, bytes);
        estimate
    }

    /// The bytes of [`DemoConfig::memory`] that grow with `steps`, per step.
    fn memory_per_step(&self) -> u128 {
        5 * u128::from(self.precision.bytes()) * (self.batch as u128) * (self.neurons as u128)
    }

    /// The bytes of [`DemoConfig::memory`] that do not grow with `steps`.
    fn memory_fixed(&self) -> u128 {
        let bytes = u128::from(self.precision.bytes());
        2 * bytes * (self.batch as u128) * (self.neurons as u128) + 2 * bytes
    }

    /// `beta` and `threshold` as the run uses them: rounded to the precision
    /// (`0.9 (0.89990234375 in fp16)` where that changes them).
    pub fn describe_params(&self) -> String {
        let show = |name: &str, x: f64| {
            let used = self.precision.round(x);
            if used == x {
                format!("{name} {x}")
            } else {
                format!("{name} {x} ({used} in {})", self.precision.name())
            }
        };
        format!(
            "{}, {}",
            show("beta", self.beta),
            show("threshold", self.threshold)
        )
    }
}

/// Random input currents in `[-0.2, 0.5)` (mean drive just under threshold
/// for beta 0.9), from a fixed-seed generator.
pub fn input_currents(len: usize, seed: u64) -> Vec<f64> {
    input_current_stream(len, seed).collect()
}

/// The values of [`input_currents`], one at a time (no `f64` buffer).
pub fn input_current_stream(len: usize, seed: u64) -> impl Iterator<Item = f64> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len).map(move |_| {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let u = (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64;
        -0.2 + 0.7 * u
    })
}

/// Runs the demo and writes its report to `out`, after
/// [`DemoConfig::check`] (nothing is allocated for a configuration it
/// refuses).
pub fn run_leaky_demo(
    config: &DemoConfig,
    out: &mut dyn Write,
) -> Result<(), Box<dyn std::error::Error>> {
    config.check(memory::available())?;
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
    let x: Vec<T> = input_current_stream(len, config.seed)
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
