//! Finding the Poplar SDK the way its `enable.sh` sets up a shell: Poplar's
//! headers on `CPATH`, its libraries on `LIBRARY_PATH` and
//! `LD_LIBRARY_PATH`, `popc` on `PATH`, and `POPLAR_SDK_ENABLED` set.
//! Used by `build.rs` for the `poplar` feature, and by its tests.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Where the SDK's parts are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sdk {
    /// The directory holding `poplar/Graph.hpp`.
    pub include: PathBuf,
    /// The directory holding `libpoplar.so`.
    pub lib: PathBuf,
    /// The `popc` compiler.
    pub popc: PathBuf,
}

fn dirs(var: &dyn Fn(&str) -> Option<OsString>, names: &[&str]) -> Vec<PathBuf> {
    names
        .iter()
        .filter_map(|n| var(n))
        .flat_map(|v| std::env::split_paths(&v).collect::<Vec<_>>())
        .filter(|p| !p.as_os_str().is_empty())
        .collect()
}

fn find(dirs: &[PathBuf], file: &str) -> Option<PathBuf> {
    dirs.iter().find(|d| d.join(file).is_file()).cloned()
}

/// The SDK, or a message naming everything that is missing and how to fix
/// it. `var` reads an environment variable.
pub fn locate(var: &dyn Fn(&str) -> Option<OsString>) -> Result<Sdk, String> {
    let enabled = var("POPLAR_SDK_ENABLED").filter(|v| !v.is_empty());
    let hint = |sub: &str| -> Vec<PathBuf> {
        enabled
            .iter()
            .map(|root| Path::new(root).join(sub))
            .collect()
    };
    let mut include_dirs = dirs(var, &["CPATH", "CPLUS_INCLUDE_PATH"]);
    include_dirs.extend(hint("include"));
    let mut lib_dirs = dirs(var, &["LIBRARY_PATH", "LD_LIBRARY_PATH"]);
    lib_dirs.extend(hint("lib"));
    let include = find(&include_dirs, "poplar/Graph.hpp");
    let lib = find(&lib_dirs, "libpoplar.so");
    let popc = find(&dirs(var, &["PATH"]), "popc").map(|d| d.join("popc"));
    let mut missing = Vec::new();
    if include.is_none() {
        missing.push(
            "Poplar's headers: no directory on CPATH or CPLUS_INCLUDE_PATH holds poplar/Graph.hpp"
                .to_string(),
        );
    }
    if lib.is_none() {
        missing.push(
            "Poplar's libraries: no directory on LIBRARY_PATH or LD_LIBRARY_PATH holds libpoplar.so"
                .to_string(),
        );
    }
    if popc.is_none() {
        missing.push("the codelet compiler: no `popc` on PATH".to_string());
    }
    match (include, lib, popc) {
        (Some(include), Some(lib), Some(popc)) => Ok(Sdk { include, lib, popc }),
        _ => {
            let enabled_note = if enabled.is_none() {
                "POPLAR_SDK_ENABLED is not set: the SDK's enable.sh has not been sourced in this \
                 shell"
            } else {
                "POPLAR_SDK_ENABLED is set, but the paths above lack the SDK's parts"
            };
            Err(format!(
                "the `poplar` feature of snn-poplar-host needs the Poplar SDK, and this is \
                 missing:\n  - {}\n({enabled_note}.)\nFix: run `source <sdk>/enable.sh` (the \
                 Poplar SDK's enable script sets CPATH, LIBRARY_PATH, LD_LIBRARY_PATH and PATH) \
                 in this shell and build again, or build without `--features poplar`.",
                missing.join("\n  - ")
            ))
        }
    }
}
