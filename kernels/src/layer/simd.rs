//! The vector instructions the fused passes run with, chosen at run time.
//!
//! The passes are plain Rust loops that the compiler vectorises; how wide
//! depends on the instructions it may use. A build for generic x86-64 may
//! only use SSE2 (4 lanes of `f32`). Passes over [`F16`](crate::F16), which
//! are compute-bound (a binary16 rounding after every operation), are
//! therefore compiled three times on x86-64, for SSE2, for AVX2 (8 lanes)
//! and for AVX-512 (16 lanes), and the widest the CPU has is chosen when the
//! pass runs (and so are passes over [`F16Storage`](crate::real::F16Storage),
//! which convert every load and store) (with the `std` feature, which detects the CPU; without it,
//! only what the build targets). Passes over `f32` are bound by memory
//! bandwidth, not by instructions, and are compiled once (which keeps the
//! build time of a crate that instantiates many layers in check); a type
//! chooses with [`Real::specialize_fused`](crate::Real::specialize_fused).
//!
//! The copies compute the same operations in the same order (vector lanes
//! are independent elements and no fused multiply-add is enabled), so they
//! give the same bits: results never depend on the CPU.

use crate::model::{Model, Specialized};

/// The instruction sets the fused passes are compiled for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InstructionSet {
    /// Whatever the build targets (SSE2 for generic x86-64).
    Baseline,
    /// x86-64 AVX2 (with BMI1/2, F16C, LZCNT, POPCNT; no FMA).
    Avx2,
    /// x86-64 AVX-512 F/BW/CD/DQ/VL (with the AVX2 set; no FMA).
    Avx512,
}

/// The instruction set the fused passes over [`F16`](crate::F16) use on this
/// CPU (passes over `f32` use the build's target).
pub fn instruction_set() -> InstructionSet {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    {
        let avx2 = std::is_x86_feature_detected!("avx2")
            && std::is_x86_feature_detected!("bmi1")
            && std::is_x86_feature_detected!("bmi2")
            && std::is_x86_feature_detected!("f16c")
            && std::is_x86_feature_detected!("lzcnt")
            && std::is_x86_feature_detected!("popcnt");
        let avx512 = avx2
            && std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512cd")
            && std::is_x86_feature_detected!("avx512dq")
            && std::is_x86_feature_detected!("avx512vl");
        if avx512 {
            return InstructionSet::Avx512;
        }
        if avx2 {
            return InstructionSet::Avx2;
        }
    }
    InstructionSet::Baseline
}

/// `model.specialize(run)`, each configuration's copy compiled for the
/// widest instruction set of this CPU. (Unoptimised builds: one copy.)
#[cfg_attr(not(debug_assertions), inline(always))]
pub fn specialize_for_cpu<M: Model, R: Specialized>(model: M, run: R) -> R::Output {
    #[cfg(all(feature = "std", target_arch = "x86_64", not(debug_assertions)))]
    match instruction_set() {
        InstructionSet::Avx512 => return model.specialize(x86::Avx512(run)),
        InstructionSet::Avx2 => return model.specialize(x86::Avx2(run)),
        InstructionSet::Baseline => {}
    }
    model.specialize(Baseline(run))
}

/// `model.specialize(run)`, compiled for the build's target only.
#[cfg_attr(not(debug_assertions), inline(always))]
pub fn specialize_baseline<M: Model, R: Specialized>(model: M, run: R) -> R::Output {
    model.specialize(Baseline(run))
}

/// `run`'s copies compiled for the build's target.
pub(crate) struct Baseline<R>(pub(crate) R);

impl<R: Specialized> Specialized for Baseline<R> {
    type Output = R::Output;
    #[inline(never)]
    fn run<const CONFIG: usize>(self) -> R::Output {
        self.0.run::<CONFIG>()
    }
}

#[cfg(all(feature = "std", target_arch = "x86_64", not(debug_assertions)))]
mod x86 {
    use crate::model::Specialized;

    /// `run`'s copies compiled for AVX2; made only after detecting it.
    pub(super) struct Avx2<R>(pub(super) R);

    /// `run`'s copies compiled for AVX-512; made only after detecting it.
    pub(super) struct Avx512<R>(pub(super) R);

    impl<R: Specialized> Specialized for Avx2<R> {
        type Output = R::Output;
        #[inline(always)]
        fn run<const CONFIG: usize>(self) -> R::Output {
            // SAFETY: `Avx2` is only made after `instruction_set` found
            // every feature `run_avx2` enables.
            unsafe { run_avx2::<R, CONFIG>(self.0) }
        }
    }

    impl<R: Specialized> Specialized for Avx512<R> {
        type Output = R::Output;
        #[inline(always)]
        fn run<const CONFIG: usize>(self) -> R::Output {
            // SAFETY: `Avx512` is only made after `instruction_set` found
            // every feature `run_avx512` enables.
            unsafe { run_avx512::<R, CONFIG>(self.0) }
        }
    }

    #[target_feature(enable = "avx2,bmi1,bmi2,f16c,lzcnt,popcnt")]
    unsafe fn run_avx2<R: Specialized, const CONFIG: usize>(run: R) -> R::Output {
        run.run::<CONFIG>()
    }

    #[target_feature(
        enable = "avx512f,avx512bw,avx512cd,avx512dq,avx512vl,avx2,bmi1,bmi2,f16c,lzcnt,popcnt"
    )]
    unsafe fn run_avx512<R: Specialized, const CONFIG: usize>(run: R) -> R::Output {
        run.run::<CONFIG>()
    }
}
