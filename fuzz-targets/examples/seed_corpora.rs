//! Writes the seed inputs of every fuzz target into `fuzz/corpus/<target>/`
//! (`snn_fuzz_targets::corpus::seeds`), replacing files of the same name and
//! leaving the others (inputs the fuzzer found) alone.
//!
//! ```text
//! cargo run -p snn-fuzz-targets --example seed_corpora
//! ```

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let seeds = match snn_fuzz_targets::corpus::seeds() {
        Ok(seeds) => seeds,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    for seed in &seeds {
        let dir = root.join(seed.target);
        let path = dir.join(seed.name);
        if let Err(e) =
            std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, &seed.bytes))
        {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        println!("{} ({} bytes)", path.display(), seed.bytes.len());
    }
    ExitCode::SUCCESS
}
