//! `snn-codelet-gen`: writes `codelets.cpp` and `manifest.json` into a
//! folder, ready for `popc -O3 -Werror -Wdouble-promotion --target ipu2
//! codelets.cpp -o codelets.gp`.
//!
//! ```text
//! cargo run -p snn-codelet-gen -- --out codelets/
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: snn-codelet-gen [--out DIR] [--host-harness]

Writes DIR/codelets.cpp (every vertex of every model, configuration,
surrogate and precision) and DIR/manifest.json (their names, fields and
members). DIR defaults to ./codelets and is created if missing.

--host-harness  also writes DIR/host_harness.cpp, which runs the vertices on
                a CPU with snn-poplar-host's stand-in headers (not for popc)";

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
enum Command {
    /// Write the files into `out` (and the host harness when `harness`).
    Write { out: PathBuf, harness: bool },
    /// `--help`.
    Help,
}

/// Parses the arguments after the program name: every argument known,
/// none given twice, `--out` followed by a folder name (not empty, not
/// another option).
fn parse(args: &[String]) -> Result<Command, String> {
    let mut out: Option<PathBuf> = None;
    let mut harness = false;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--out" | "-o" => {
                if out.is_some() {
                    return Err("--out is given twice".into());
                }
                match it.next() {
                    Some(dir) if dir.trim().is_empty() => {
                        return Err("--out needs a folder name, got an empty one".into())
                    }
                    Some(dir) if dir.starts_with('-') => {
                        return Err(format!(
                            "--out needs a folder name, got the option `{dir}` (write ./{dir} for a folder of that name)"
                        ))
                    }
                    Some(dir) => out = Some(PathBuf::from(dir)),
                    None => return Err("--out needs a folder".into()),
                }
            }
            "--host-harness" => {
                if harness {
                    return Err("--host-harness is given twice".into());
                }
                harness = true;
            }
            "--help" | "-h" => return Ok(Command::Help),
            other => {
                return Err(format!(
                    "unknown argument `{other}` (--out DIR, --host-harness, --help)"
                ))
            }
        }
    }
    Ok(Command::Write {
        out: out.unwrap_or_else(|| PathBuf::from("codelets")),
        harness,
    })
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (out, harness) = match parse(&args) {
        Ok(Command::Write { out, harness }) => (out, harness),
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if out.exists() && !out.is_dir() {
        eprintln!(
            "error: --out {} is a file, not a folder\n\n{USAGE}",
            out.display()
        );
        return ExitCode::from(2);
    }
    eprintln!("tracing the kernels ...");
    let generated = snn_codelet_gen::generate(&snn_codelet_gen::Options::default());
    if let Err(e) = std::fs::create_dir_all(&out) {
        eprintln!("error: cannot create {}: {e}", out.display());
        return ExitCode::FAILURE;
    }
    let mut files = vec![
        ("codelets.cpp", generated.cpp.clone()),
        ("manifest.json", generated.manifest_json()),
    ];
    if harness {
        files.push(("host_harness.cpp", generated.host_harness("codelets.cpp")));
    }
    for (name, text) in &files {
        let path = out.join(name);
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        println!("wrote {} ({} bytes)", path.display(), text.len());
    }
    println!(
        "{} vertices; compile for the IPU with: popc -O3 -Werror -Wdouble-promotion --target ipu2 {} -o codelets.gp",
        generated.vertices.len(),
        out.join("codelets.cpp").display()
    );
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_list(list: &[&str]) -> Result<Command, String> {
        parse(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn options_are_checked() {
        for (list, needle) in [
            (&["--out"][..], "--out needs a folder"),
            (&["--out", " "], "got an empty one"),
            (
                &["--out", "--host-harness"],
                "got the option `--host-harness`",
            ),
            (&["--out", "a", "-o", "b"], "--out is given twice"),
            (
                &["--host-harness", "--host-harness"],
                "--host-harness is given twice",
            ),
            (&["codelets"], "unknown argument `codelets`"),
            (&["--out=dir"], "unknown argument `--out=dir`"),
        ] {
            let message = parse_list(list).expect_err("refused");
            assert!(message.contains(needle), "{list:?}: {message}");
        }
        assert_eq!(
            parse_list(&["-o", "x", "--host-harness"]),
            Ok(Command::Write {
                out: PathBuf::from("x"),
                harness: true
            })
        );
        assert_eq!(
            parse_list(&[]),
            Ok(Command::Write {
                out: PathBuf::from("codelets"),
                harness: false
            })
        );
        assert_eq!(parse_list(&["--help"]), Ok(Command::Help));
    }
}
