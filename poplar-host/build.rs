//! Compiles this crate's host C++ with g++ through the `cc` crate.
//!
//! The C++ is codelet source written for Graphcore's popc; on this CPU it is
//! compiled against the project's stand-in for Poplar's vertex headers
//! (`cpp/stand_in/poplar/`) with flags that make every `float` operation one
//! IEEE rounding, as on the IPU: no fused multiply-add, no fast-math.
//!
//! With the `poplar` feature it also finds the Poplar SDK (or fails, naming
//! what is missing), compiles the codelets with `popc` and the bridge
//! (`cpp/bridge/bridge.cpp`) against the SDK, and links Poplar.

#[path = "build_support/sdk.rs"]
mod sdk;

use std::env;
use std::path::PathBuf;
use std::process::Command;

/// The compiler the host C++ is written and checked for.
const CXX: &str = "g++";

/// Flags for every host C++ file. `-ffp-contract=off`: g++ otherwise fuses
/// `a * b + c` into an FMA (one rounding instead of two), which the IPU never
/// does. `-fno-fast-math`: IEEE semantics per operation. The warnings match
/// PopLibs' (`-Wdouble-promotion -Werror`), so a double that slips into
/// generated code fails here too.
const HOST_CXX_FLAGS: &[&str] = &[
    "-ffp-contract=off",
    "-fno-fast-math",
    "-Wall",
    "-Wextra",
    "-Wdouble-promotion",
    "-Werror",
];

fn main() {
    let cpp = manifest_dir().join("cpp");
    // A directory: Cargo reruns this script when any file under it changes.
    println!("cargo:rerun-if-changed={}", cpp.display());
    println!(
        "cargo:rerun-if-changed={}",
        manifest_dir().join("build_support").display()
    );
    // the SDK first: a missing one fails before the long codelet build
    let poplar = env::var_os("CARGO_FEATURE_POPLAR").map(|_| {
        sdk::locate(&|name| {
            println!("cargo:rerun-if-env-changed={name}");
            env::var_os(name)
        })
        .unwrap_or_else(|message| {
            // the message alone (a panic would add a backtrace)
            eprintln!("error: {message}");
            std::process::exit(1)
        })
    });
    compile_host_cpp(
        &[cpp.join("stand_in_check.cpp")],
        "snn_stand_in_check",
        "-O2",
    );
    generate_codelets();
    if let Some(sdk) = poplar {
        build_poplar_bridge(&sdk);
    }
}

/// The `poplar` feature: compiles `OUT_DIR/codelets.cpp` with popc into
/// `OUT_DIR/codelets.gp` (its path in `SNN_POPLAR_CODELETS_GP` for the
/// crate), and `cpp/bridge/bridge.cpp` against the SDK's headers, linked
/// with poplar, poputil and popops.
fn build_poplar_bridge(sdk: &sdk::Sdk) {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("Cargo sets OUT_DIR"));
    let gp = out.join("codelets.gp");
    let status = Command::new(&sdk.popc)
        .args(["-O3", "-Werror", "-Wdouble-promotion"])
        .arg(out.join("codelets.cpp"))
        .arg("-o")
        .arg(&gp)
        .status()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", sdk.popc.display()));
    if !status.success() {
        panic!(
            "{} failed ({status}) on the generated codelets ({}); its messages are above",
            sdk.popc.display(),
            out.join("codelets.cpp").display()
        );
    }
    println!("cargo:rustc-env=SNN_POPLAR_CODELETS_GP={}", gp.display());
    cc::Build::new()
        .cpp(true)
        .compiler(CXX)
        .std("c++17")
        .include(&sdk.include)
        .flags(["-Wall", "-Wextra", "-O2"])
        .file(manifest_dir().join("cpp").join("bridge").join("bridge.cpp"))
        .compile("snn_poplar_bridge");
    println!("cargo:rustc-link-search=native={}", sdk.lib.display());
    for lib in ["poplar", "poputil", "popops"] {
        println!("cargo:rustc-link-lib=dylib={lib}");
    }
}

/// Runs the code generator (the `snn-codelet-gen` library on the kernels of
/// `snn-kernels`; Cargo reruns this script when either changes) and writes
/// into `OUT_DIR`: `codelets.cpp` (what popc compiles for the IPU),
/// `manifest.json` (every vertex, read by `src/emulator.rs`) and
/// `host_harness.cpp` (runs a vertex by name on this CPU), then compiles the
/// harness, which includes the codelets, for the emulator.
fn generate_codelets() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("Cargo sets OUT_DIR"));
    let generated = snn_codelet_gen::generate(&snn_codelet_gen::Options::default());
    let write = |name: &str, text: &str| {
        std::fs::write(out.join(name), text)
            .unwrap_or_else(|e| panic!("cannot write {name} into OUT_DIR: {e}"));
    };
    write("codelets.cpp", &generated.cpp);
    write("manifest.json", &generated.manifest_json());
    let (runners, table) = generated.host_harness_parts("codelets.cpp", HARNESS_PARTS);
    let mut files = vec![out.join("host_harness_table.cpp")];
    write("host_harness_table.cpp", &table);
    for (k, runner) in runners.iter().enumerate() {
        let name = format!("host_harness_{k}.cpp");
        write(&name, runner);
        files.push(out.join(name));
    }
    compile_host_cpp(&files, "snn_codelets_host", EMULATOR_OPTIMISATION);
}

/// The harness is compiled as this many files of vertex runners (plus the
/// table), in parallel: each compile needs a fraction of the memory of one
/// file, and two cores halve the time.
const HARNESS_PARTS: usize = 8;

/// The emulator's optimisation level. The arithmetic is the same at every
/// level (one IEEE rounding per operation, no FMA: `HOST_CXX_FLAGS`); only
/// the emulator's speed and the build time differ.
const EMULATOR_OPTIMISATION: &str = "-O1";

fn manifest_dir() -> PathBuf {
    PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("Cargo sets CARGO_MANIFEST_DIR"))
}

/// Compiles `files` as C++17 against the Poplar stand-in into the static
/// library `lib<out_name>.a` and links it into this crate.
fn compile_host_cpp(files: &[PathBuf], out_name: &str, optimisation: &str) {
    ignore_cxxflags_from_environment();
    require_compiler(CXX);
    cc::Build::new()
        .cpp(true)
        .compiler(CXX)
        .std("c++17")
        .include(manifest_dir().join("cpp").join("stand_in"))
        .flags(HOST_CXX_FLAGS)
        .flag(optimisation)
        .files(files)
        .compile(out_name);
}

/// cc appends the flags in `CXXFLAGS`, `CXXFLAGS_<target>` (the triple as
/// written, or with dashes and dots as underscores), `TARGET_CXXFLAGS` and
/// `HOST_CXXFLAGS` after the build script's own flags, so that they win
/// (cc's crate docs, "External configuration via environment variables"):
/// `-ffp-contract=fast` or `-ffast-math` there would undo [`HOST_CXX_FLAGS`].
/// cc has no public option to skip them, but a `cc::Build` takes its copy of
/// the process environment the first time it needs it (the docs of
/// `cc::Build`), so they are removed from this script's environment before
/// any `Build` exists. Cargo still reruns the script when they change, and a
/// warning says they were ignored.
fn ignore_cxxflags_from_environment() {
    let mut names = vec![
        "CXXFLAGS".to_string(),
        "TARGET_CXXFLAGS".to_string(),
        "HOST_CXXFLAGS".to_string(),
    ];
    for triple in [env::var("TARGET"), env::var("HOST")].into_iter().flatten() {
        names.push(format!("CXXFLAGS_{triple}"));
        names.push(format!("CXXFLAGS_{}", triple.replace(['-', '.'], "_")));
    }
    names.sort();
    names.dedup();
    for name in &names {
        println!("cargo:rerun-if-env-changed={name}");
        if let Some(value) = env::var_os(name) {
            println!(
                "cargo:warning=snn-poplar-host ignores {name}={}: host C++ is compiled with \
                 fixed flags ({}) so that it computes what the IPU computes",
                value.to_string_lossy(),
                HOST_CXX_FLAGS.join(" ")
            );
            // Sound: a build script is single-threaded here (no thread has
            // been started, and no cc::Build exists yet).
            env::remove_var(name);
        }
    }
}

/// Fails the build with a clear message when the compiler is not installed.
fn require_compiler(compiler: &str) {
    let found = Command::new(compiler)
        .arg("--version")
        .output()
        .is_ok_and(|output| output.status.success());
    if !found {
        panic!(
            "snn-poplar-host needs the GNU C++ compiler `{compiler}` (C++17, GCC 11 or later) on \
             PATH to compile its host C++ (the Poplar stand-in and generated codelets); install \
             it, for example `apt-get install g++`"
        );
    }
}
