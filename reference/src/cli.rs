//! The command line of `snn-reference`, parsed and checked: every option
//! known, every value valid, nothing given twice that cannot be, no
//! argument left over. The binary (`src/main.rs`) only runs what this
//! returns.

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::checker::vectors::{Kind, Plan};
use crate::models::ModelSpec;
use crate::Precision;

/// The usage text.
pub const USAGE: &str = "usage: snn-reference <command> [options]

commands:
  check       run every backend on generated test vectors and compare them
              with the independent reference, bit for bit
  fixtures    compare the kernels with the recorded snnTorch 1.0 fixtures
              (reference/fixtures/) and report how many cases are exact
  help        this text

options of check:
  --quick             random and awkward data only (a quarter of the cases)
  --precision P       f16, f32, f64, f16-storage or all (default: f32, f16
                      and f16-storage)
  --model NAME        only this model; repeat for several (leaky, synaptic,
                      alpha, lapicque, rleaky, rleaky_all_to_all, rsynaptic,
                      rsynaptic_all_to_all)
  --seed N            seed of the generated data, 0 to 18446744073709551615
                      (default 1)

options of fixtures:
  --dir DIR           read DIR/index.json and DIR/data.bin instead of the
                      repository's reference/fixtures/";

/// What the command line asks for.
#[derive(Clone, Debug)]
pub enum Command {
    /// `check`: the checker on this plan.
    Check(Plan),
    /// `fixtures`: the conformance report on the fixtures in this folder.
    Fixtures {
        /// The folder with `index.json` and `data.bin`.
        dir: PathBuf,
    },
    /// `help`, `--help`, `-h`.
    Help,
}

/// The model names `--model` takes, in the order of [`ModelSpec::all`].
pub fn model_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for model in ModelSpec::all() {
        if !names.contains(&model.name()) {
            names.push(model.name());
        }
    }
    names
}

/// Parses the arguments after the program name.
pub fn parse(args: &[String]) -> Result<Command, String> {
    match args.first().map(String::as_str) {
        Some("check") => parse_plan(&args[1..]).map(Command::Check),
        Some("fixtures") => parse_fixtures(&args[1..]),
        Some("help" | "--help" | "-h") => match args.get(1) {
            None => Ok(Command::Help),
            Some(extra) => Err(format!("`help` takes no arguments, got `{extra}`")),
        },
        Some(other) => Err(format!(
            "unknown command `{other}` (the commands are check, fixtures and help)"
        )),
        None => Err("no command given (check, fixtures or help)".into()),
    }
}

/// The value after `flag`, which must not be given twice.
fn value<'a>(
    flag: &str,
    it: &mut std::slice::Iter<'a, String>,
    seen: &mut BTreeSet<String>,
) -> Result<&'a str, String> {
    if !seen.insert(flag.to_string()) {
        return Err(format!("{flag} is given twice"));
    }
    let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
    if value.starts_with("--") {
        return Err(format!("{flag} needs a value, got the option `{value}`"));
    }
    Ok(value)
}

/// The options of `check`.
pub fn parse_plan(args: &[String]) -> Result<Plan, String> {
    let mut plan = Plan::default();
    let mut seen = BTreeSet::new();
    let mut models: BTreeSet<String> = BTreeSet::new();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--quick" => {
                if !seen.insert(flag.clone()) {
                    return Err("--quick is given twice".into());
                }
                plan.kinds = vec![Kind::Random, Kind::Awkward];
            }
            "--precision" => {
                plan.precisions = match value(flag, &mut it, &mut seen)? {
                    "f16" => vec![Precision::F16],
                    "f32" => vec![Precision::F32],
                    "f64" => vec![Precision::F64],
                    "f16-storage" => vec![Precision::F16Storage],
                    "all" => vec![
                        Precision::F32,
                        Precision::F16,
                        Precision::F64,
                        Precision::F16Storage,
                    ],
                    other => {
                        return Err(format!(
                            "unknown precision `{other}` (f16, f32, f64, f16-storage or all)"
                        ))
                    }
                }
            }
            "--model" => {
                let name = it.next().ok_or("--model needs a value")?;
                let known = model_names();
                if !known.contains(&name.as_str()) {
                    return Err(format!(
                        "unknown model `{name}` (the models: {})",
                        known.join(", ")
                    ));
                }
                models.insert(name.clone());
            }
            "--seed" => {
                let text = value(flag, &mut it, &mut seen)?;
                plan.seed = text.parse().map_err(|_| {
                    format!(
                        "--seed needs a whole number from 0 to {}, got `{text}`",
                        u64::MAX
                    )
                })?;
            }
            other => {
                return Err(format!(
                    "unknown option `{other}` of check (--quick, --precision, --model, --seed)"
                ))
            }
        }
    }
    if !models.is_empty() {
        plan.models.retain(|m| models.contains(m.name()));
    }
    Ok(plan)
}

/// The options of `fixtures`.
fn parse_fixtures(args: &[String]) -> Result<Command, String> {
    let mut dir = None;
    let mut seen = BTreeSet::new();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--dir" => {
                let value = value(flag, &mut it, &mut seen)?;
                if value.trim().is_empty() {
                    return Err("--dir needs a folder name, got an empty one".into());
                }
                dir = Some(PathBuf::from(value));
            }
            other => {
                return Err(format!(
                    "unknown argument `{other}` of fixtures (its only option is --dir DIR)"
                ))
            }
        }
    }
    Ok(Command::Fixtures {
        dir: dir.unwrap_or_else(crate::fixtures::default_dir),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn error(list: &[&str]) -> String {
        match parse(&args(list)) {
            Ok(command) => panic!("{list:?} was accepted: {command:?}"),
            Err(message) => message,
        }
    }

    #[test]
    fn model_is_a_union_of_known_names() {
        let Ok(Command::Check(plan)) = parse(&args(&[
            "check", "--model", "leaky", "--model", "alpha", "--model", "leaky",
        ])) else {
            panic!("accepted")
        };
        let names: BTreeSet<&str> = plan.models.iter().map(|m| m.name()).collect();
        assert_eq!(names, BTreeSet::from(["leaky", "alpha"]));
        let all = ModelSpec::all();
        let expected = all
            .iter()
            .filter(|m| matches!(m.name(), "leaky" | "alpha"))
            .count();
        assert_eq!(plan.models.len(), expected, "every variant of both");
        let message = error(&["check", "--model", "leaky", "--model", "leeky"]);
        assert!(message.contains("unknown model `leeky`"), "{message}");
        assert!(message.contains("rsynaptic_all_to_all"), "{message}");
    }

    #[test]
    fn every_value_is_checked() {
        for (list, needle) in [
            (&["check", "--seed"][..], "--seed needs a value"),
            (&["check", "--seed", "-1"], "--seed needs a whole number"),
            (&["check", "--seed", "1e3"], "--seed needs a whole number"),
            (
                &["check", "--seed", "1", "--seed", "2"],
                "--seed is given twice",
            ),
            (&["check", "--precision", "f8"], "unknown precision `f8`"),
            (
                &["check", "--precision", "--quick"],
                "got the option `--quick`",
            ),
            (&["check", "--quick", "--quick"], "--quick is given twice"),
            (&["check", "--model"], "--model needs a value"),
            (&["check", "extra"], "unknown option `extra`"),
            (
                &["fixtures", "extra"],
                "unknown argument `extra` of fixtures",
            ),
            (&["fixtures", "--dir"], "--dir needs a value"),
            (&["fixtures", "--dir", ""], "--dir needs a folder name"),
            (
                &["fixtures", "--dir", "a", "--dir", "b"],
                "--dir is given twice",
            ),
            (&["help", "me"], "`help` takes no arguments"),
            (&["chekc"], "unknown command `chekc`"),
            (&[], "no command given"),
        ] {
            let message = error(list);
            assert!(
                message.contains(needle),
                "{list:?}: `{message}` should say `{needle}`"
            );
        }
    }

    #[test]
    fn valid_command_lines_are_accepted() {
        let Ok(Command::Check(plan)) = parse(&args(&[
            "check",
            "--quick",
            "--precision",
            "all",
            "--seed",
            "18446744073709551615",
        ])) else {
            panic!("accepted")
        };
        assert_eq!(plan.seed, u64::MAX);
        assert_eq!(plan.precisions.len(), 4);
        assert_eq!(plan.kinds.len(), 2);
        assert_eq!(plan.models.len(), ModelSpec::all().len());
        let Ok(Command::Fixtures { dir }) = parse(&args(&["fixtures", "--dir", "some/dir"])) else {
            panic!("accepted")
        };
        assert_eq!(dir, PathBuf::from("some/dir"));
        let Ok(Command::Fixtures { dir }) = parse(&args(&["fixtures"])) else {
            panic!("accepted")
        };
        assert_eq!(dir, crate::fixtures::default_dir());
        assert!(matches!(parse(&args(&["--help"])), Ok(Command::Help)));
    }
}
