//! Command-line values, parsed and checked: the pieces every `snn-ipu`
//! command uses, so that each option is either accepted with a defined
//! meaning or refused with a message that says what to fix.
//!
//! - [`count`]: a whole number above 0 (sizes, repetitions);
//! - [`real`]: a finite number that the chosen [`Precision`] can hold (not
//!   beyond its largest finite value, not a non-zero value that would round
//!   to 0); [`Precision::round`] gives the value actually used;
//! - [`seed`], [`precision`]: the obvious;
//! - [`Flags`]: walks `--flag value` pairs and refuses a flag given twice.

use std::collections::BTreeSet;

use snn_kernels::F16;

/// The precision a command computes in (for training: the spiking
/// layers' arithmetic; dense layers, master weights and the optimiser stay
/// binary32).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Precision {
    /// IEEE binary32.
    #[serde(rename = "f32")]
    F32,
    /// IEEE binary16 (every operation rounded to binary16).
    #[serde(rename = "f16")]
    F16,
}

impl Precision {
    /// Bytes per value.
    pub const fn bytes(self) -> u64 {
        match self {
            Precision::F32 => 4,
            Precision::F16 => 2,
        }
    }

    /// The name the options use (`fp32`, `fp16`).
    pub const fn name(self) -> &'static str {
        match self {
            Precision::F32 => "fp32",
            Precision::F16 => "fp16",
        }
    }

    /// The largest finite value.
    pub fn max(self) -> f64 {
        match self {
            Precision::F32 => f64::from(f32::MAX),
            Precision::F16 => 65504.0,
        }
    }

    /// The smallest positive value (a subnormal).
    pub fn min_positive(self) -> f64 {
        match self {
            Precision::F32 => f64::from(f32::from_bits(1)),
            Precision::F16 => F16::from_bits(1).to_f64(),
        }
    }

    /// `x` rounded to the nearest value of this precision (ties to even),
    /// as the kernels round a constant: beyond the largest finite value fp16
    /// saturates to ±65504 and fp32 gives an infinity ([`representable`]
    /// refuses both).
    pub fn round(self, x: f64) -> f64 {
        match self {
            Precision::F32 => f64::from(x as f32),
            Precision::F16 => F16::from_f64(x).to_f64(),
        }
    }
}

/// `value` of `flag` as a whole number above 0.
pub fn count(flag: &str, value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(0) => Err(format!("{flag} must be at least 1, got 0")),
        Ok(v) => Ok(v),
        Err(_) => Err(format!(
            "{flag} needs a whole number from 1 to {}, got `{value}`",
            usize::MAX
        )),
    }
}

/// `value` of `flag` as a seed (any 64-bit whole number).
pub fn seed(flag: &str, value: &str) -> Result<u64, String> {
    value.parse().map_err(|_| {
        format!(
            "{flag} needs a whole number from 0 to {}, got `{value}`",
            u64::MAX
        )
    })
}

/// `value` of `flag` as a precision (`f32`/`fp32` or `f16`/`fp16`).
pub fn precision(flag: &str, value: &str) -> Result<Precision, String> {
    match value {
        "f32" | "fp32" => Ok(Precision::F32),
        "f16" | "fp16" => Ok(Precision::F16),
        other => Err(format!("{flag} is f32 or f16, got `{other}`")),
    }
}

/// `value` of `flag` as a finite number.
pub fn finite(flag: &str, value: &str) -> Result<f64, String> {
    let x: f64 = value
        .parse()
        .map_err(|_| format!("{flag} needs a number, got `{value}`"))?;
    if x.is_finite() {
        Ok(x)
    } else {
        Err(format!("{flag} needs a finite number, got `{value}`"))
    }
}

/// Checks that `x` (the value of `flag`) is a number `precision` can hold:
/// finite, not beyond the largest finite value (fp16 would saturate it to
/// ±65504), and not a non-zero value that rounds to 0. The message names
/// the nearest value that is accepted.
pub fn representable(flag: &str, x: f64, precision: Precision) -> Result<f64, String> {
    let name = precision.name();
    if !x.is_finite() {
        return Err(format!("{flag} needs a finite number, got {x}"));
    }
    let sign = if x < 0.0 { -1.0 } else { 1.0 };
    if x.abs() > precision.max() {
        return Err(format!(
            "{flag} {} is beyond the largest {name} value; the nearest one is {}",
            show(x),
            show(sign * precision.max())
        ));
    }
    if x != 0.0 && precision.round(x) == 0.0 {
        return Err(format!(
            "{flag} {} rounds to 0 in {name}; the nearest non-zero {name} value is {} (or give 0)",
            show(x),
            show(sign * precision.min_positive())
        ));
    }
    Ok(x)
}

/// A number for a message: plain where short, else in exponent form.
pub fn show(x: f64) -> String {
    if x != 0.0 && !(1e-4..1e6).contains(&x.abs()) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

/// `value` of `flag` as a finite number that `precision` can hold
/// ([`finite`], then [`representable`]).
pub fn real(flag: &str, value: &str, precision: Precision) -> Result<f64, String> {
    representable(flag, finite(flag, value)?, precision)
}

/// `--flag value` pairs, each flag at most once.
#[derive(Debug)]
pub struct Flags<'a> {
    args: std::slice::Iter<'a, String>,
    seen: BTreeSet<&'a str>,
}

impl<'a> Flags<'a> {
    /// Over `args` (without the program name).
    pub fn new(args: &'a [String]) -> Self {
        Flags {
            args: args.iter(),
            seen: BTreeSet::new(),
        }
    }

    /// The next flag, `None` at the end; `Err` for a flag given before.
    pub fn next_flag(&mut self) -> Result<Option<&'a str>, String> {
        let Some(flag) = self.args.next() else {
            return Ok(None);
        };
        if !self.seen.insert(flag.as_str()) {
            return Err(format!("{flag} is given twice"));
        }
        Ok(Some(flag))
    }

    /// The value of `flag` (the next argument); refuses a missing value and
    /// one that is another option (`--steps --batch 4`).
    pub fn value(&mut self, flag: &str) -> Result<&'a str, String> {
        match self.args.next() {
            None => Err(format!("{flag} needs a value")),
            Some(v) if v.starts_with("--") => {
                Err(format!("{flag} needs a value, got the option `{v}`"))
            }
            Some(v) => Ok(v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn representable_refuses_overflow_and_underflow_with_the_nearest_value() {
        let e = representable("--threshold", 1e6, Precision::F16).unwrap_err();
        assert!(e.contains("nearest one is 65504"), "{e}");
        let e = representable("--threshold", -7e4, Precision::F16).unwrap_err();
        assert!(e.contains("--threshold -70000 is beyond"), "{e}");
        assert!(e.contains("nearest one is -65504"), "{e}");
        let e = representable("--beta", 1e-9, Precision::F16).unwrap_err();
        assert!(e.contains("rounds to 0 in fp16"), "{e}");
        assert!(e.contains("--beta 1e-9 rounds"), "{e}");
        assert!(e.contains("value is 5.960464477539063e-8"), "{e}");
        let e = representable("--beta", 1e39, Precision::F32).unwrap_err();
        assert!(e.contains("--beta 1e39 is beyond"), "{e}");
        assert!(e.contains("nearest one is 3.4028234663852886e38"), "{e}");
        assert_eq!(representable("--t", 65504.0, Precision::F16), Ok(65504.0));
        assert_eq!(representable("--t", 1e6, Precision::F32), Ok(1e6));
        assert_eq!(representable("--t", 0.0, Precision::F16), Ok(0.0));
        assert_eq!(representable("--t", -0.0, Precision::F16), Ok(-0.0));
        assert_eq!(representable("--t", 1e-9, Precision::F32), Ok(1e-9));
    }

    #[test]
    fn numbers_must_be_finite() {
        for text in ["nan", "NaN", "inf", "-inf", "infinity", "1e400"] {
            let e = real("--beta", text, Precision::F32).unwrap_err();
            assert!(e.contains("finite"), "{text}: {e}");
        }
        assert!(real("--beta", "abc", Precision::F32)
            .unwrap_err()
            .contains("needs a number"));
        assert_eq!(real("--beta", "0.9", Precision::F16), Ok(0.9));
    }

    #[test]
    fn counts_seeds_and_precisions() {
        assert!(count("--steps", "0").unwrap_err().contains("at least 1"));
        assert!(count("--steps", "-3").unwrap_err().contains("whole number"));
        assert!(count("--steps", "2.5")
            .unwrap_err()
            .contains("whole number"));
        assert_eq!(count("--steps", "7"), Ok(7));
        assert_eq!(seed("--seed", "0"), Ok(0));
        assert!(seed("--seed", "-1").is_err());
        assert_eq!(precision("--precision", "fp16"), Ok(Precision::F16));
        assert!(precision("--precision", "bf16")
            .unwrap_err()
            .contains("f32 or f16"));
    }

    #[test]
    fn flags_refuse_repeats_and_missing_values() {
        let args: Vec<String> = ["--steps", "3", "--steps", "4"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut flags = Flags::new(&args);
        assert_eq!(flags.next_flag(), Ok(Some("--steps")));
        assert_eq!(flags.value("--steps"), Ok("3"));
        assert_eq!(flags.next_flag(), Err("--steps is given twice".to_string()));
        let args: Vec<String> = ["--steps", "--batch"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut flags = Flags::new(&args);
        flags.next_flag().unwrap();
        assert!(flags
            .value("--steps")
            .unwrap_err()
            .contains("got the option `--batch`"));
        let mut flags = Flags::new(&args[..1]);
        flags.next_flag().unwrap();
        assert_eq!(flags.value("--steps"), Err("--steps needs a value".into()));
    }
}
