//! `snn-ipu codelets --out DIR` and `snn-ipu emit-poplar --out DIR`: the
//! files a user takes to a machine with the Poplar SDK.

use std::io::Write;
use std::path::{Path, PathBuf};

use snn_poplar_host::emit::{emit_layer_example, ExampleConfig};

use crate::options::{self, Flags};

/// `snn-ipu codelets --help`.
pub const CODELETS_USAGE: &str = "usage: snn-ipu codelets [--out DIR]

Writes the generated Poplar vertices: DIR/codelets.cpp (what popc compiles
for the IPU) and DIR/manifest.json (every vertex: fields, members, lengths,
operation counts). DIR defaults to `codelets`.";

/// `snn-ipu emit-poplar --help`.
pub const EMIT_USAGE: &str = "usage: snn-ipu emit-poplar [options]

Writes a directory to copy to a machine with the Poplar SDK: the codelets,
a standalone C++ host program that builds a Leaky layer's graph (split over
tiles, run in time chunks), runs it on an IPU or the IPUModel on the inputs
in data.bin and compares every output with the values computed here by the
native kernels, a Makefile and a README (`make run` or `make run-model`).

options:
  --out DIR       the directory (default `poplar-example`; created, or a previous emit's)
  --batch N       batch rows (default 4)
  --neurons N     neurons (default 100)
  --steps N       time steps per chunk (default 16)
  --chunks N      chunks, the membrane carried over (default 3)
  --tiles N       tiles of the GC200 to use (default 8)
  --precision P   f32 (default) or f16
  --help          this text";

/// Parses `--out DIR` alone (codelets); `Ok(None)` for `--help`.
pub fn parse_codelets(args: &[String]) -> Result<Option<PathBuf>, String> {
    let mut out = None;
    let mut flags = Flags::new(args);
    while let Some(flag) = flags.next_flag()? {
        match flag {
            "--help" | "-h" => return Ok(None),
            "--out" => out = Some(folder(flag, flags.value(flag)?, out.is_some())?),
            other => return Err(format!("unknown option `{other}` (--out DIR, --help)")),
        }
    }
    Ok(Some(out.unwrap_or_else(|| PathBuf::from("codelets"))))
}

fn folder(flag: &str, value: &str, given: bool) -> Result<PathBuf, String> {
    if given {
        return Err(format!("{flag} is given twice"));
    }
    if value.trim().is_empty() {
        return Err(format!("{flag} needs a folder name"));
    }
    Ok(PathBuf::from(value))
}

/// Writes the codelets and the manifest into `dir`.
pub fn codelets_command(dir: &Path, out: &mut dyn Write) -> Result<(), String> {
    if dir.exists() && !dir.is_dir() {
        return Err(format!("--out {} is a file, not a folder", dir.display()));
    }
    let generated = snn_codelet_gen::generate(&snn_codelet_gen::Options::default());
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for (name, text) in [
        ("codelets.cpp", generated.cpp.clone()),
        ("manifest.json", generated.manifest_json()),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, &text)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        writeln!(out, "wrote {} ({} bytes)", path.display(), text.len())
            .map_err(|e| e.to_string())?;
    }
    writeln!(
        out,
        "{} vertices; compile for the IPU with: popc -O3 -Werror -Wdouble-promotion --target ipu2 {} -o codelets.gp",
        generated.vertices.len(),
        dir.join("codelets.cpp").display()
    )
    .map_err(|e| e.to_string())
}

/// The options of `emit-poplar`; `Ok(None)` for `--help`.
pub fn parse_emit(args: &[String]) -> Result<Option<(PathBuf, ExampleConfig)>, String> {
    let mut out = None;
    let mut c = ExampleConfig::default();
    let mut flags = Flags::new(args);
    while let Some(flag) = flags.next_flag()? {
        match flag {
            "--help" | "-h" => return Ok(None),
            "--out" => out = Some(folder(flag, flags.value(flag)?, out.is_some())?),
            "--batch" => c.batch = options::count(flag, flags.value(flag)?)?,
            "--neurons" => c.neurons = options::count(flag, flags.value(flag)?)?,
            "--steps" => c.steps = options::count(flag, flags.value(flag)?)?,
            "--chunks" => c.chunks = small(flag, options::count(flag, flags.value(flag)?)?)?,
            "--tiles" => c.tiles = small(flag, options::count(flag, flags.value(flag)?)?)?,
            "--precision" => {
                c.half = options::precision(flag, flags.value(flag)?)? == crate::Precision::F16
            }
            other => {
                return Err(format!(
                    "unknown option `{other}` (snn-ipu emit-poplar --help lists them)"
                ))
            }
        }
    }
    Ok(Some((
        out.unwrap_or_else(|| PathBuf::from("poplar-example")),
        c,
    )))
}

fn small(flag: &str, n: usize) -> Result<u32, String> {
    u32::try_from(n).map_err(|_| format!("{flag} {n} is too large"))
}

/// Writes the example directory.
pub fn emit_command(dir: &Path, config: &ExampleConfig, out: &mut dyn Write) -> Result<(), String> {
    let summary = emit_layer_example(dir, config).map_err(|e| e.to_string())?;
    writeln!(
        out,
        "wrote {}: {} on {} tiles, {} steps in {} chunks, {} bytes of data; checked here: the graph emulator equals the native kernels bit for bit\n\
         on a machine with the Poplar SDK: cd {} && make run (or make run-model for the IPUModel)",
        dir.display(),
        summary.vertex,
        summary.tiles,
        summary.total_steps,
        config.chunks,
        summary.data_bytes,
        dir.display()
    )
    .map_err(|e| e.to_string())
}
