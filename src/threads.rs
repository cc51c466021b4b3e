//! `--threads N`: the worker threads of the dense layers' matrix products
//! (the `gemm` crate on rayon's pool). Results do not depend on the number
//! (see [`crate::native::dense`]); only the speed does.

/// The threads `requested` asks for: itself, or every core for 0.
pub fn resolve(requested: usize) -> usize {
    if requested > 0 {
        requested
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }
}

/// Sizes rayon's global pool to `requested` threads (0: every core) and
/// returns the number. The pool can be sized once per process: a later call
/// keeps the first size and returns it.
pub fn install(requested: usize) -> Result<usize, String> {
    let threads = resolve(requested);
    if threads > 1024 {
        return Err(format!(
            "--threads {threads} is more than 1024; this machine has {} core(s)",
            resolve(0)
        ));
    }
    // an error means the pool already exists (an earlier call in this
    // process): it keeps its size
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global();
    Ok(rayon::current_num_threads())
}
