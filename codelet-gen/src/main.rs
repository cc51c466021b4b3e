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

fn main() -> ExitCode {
    let mut out = PathBuf::from("codelets");
    let mut harness = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--out" | "-o" => match args.next() {
                Some(dir) if !dir.trim().is_empty() => out = PathBuf::from(dir),
                Some(_) => {
                    eprintln!("error: --out needs a folder name, got an empty one\n\n{USAGE}");
                    return ExitCode::from(2);
                }
                None => {
                    eprintln!("error: --out needs a folder\n\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "--host-harness" => harness = true,
            "--help" | "-h" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("error: unknown argument `{other}`\n\n{USAGE}");
                return ExitCode::from(2);
            }
        }
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
