//! Host side of the IPU backend: runs Poplar codelet C++ on this CPU.
//!
//! - [`emulator`]: every generated vertex, compiled for this CPU by
//!   `build.rs`, run by name with its fields and members bound by name and
//!   checked against the compiled vertex;
//! - [`graph`]: an IPU graph as Poplar names things (target presets,
//!   tensors and their tile mapping, compute sets of vertex instances,
//!   programs) and the checks Poplar and the IPU need it to pass; its
//!   estimates of cycles (`graph::cost`) and of memory per tile
//!   (`graph::memory`), see `docs/ipu-cost-model.md`;
//! - [`layer`]: a spiking layer on those vertices (choosing them, preparing
//!   and laying out the constants, running the passes, reducing the
//!   parameter gradients), with the kernels' `Layer` API and results;
//! - [`stand_in`]: the project's host stand-in for Poplar's vertex headers
//!   (`cpp/stand_in/poplar/`), and safe wrappers over the C++ that checks it;
//! - [`emit`]: a graph, its program and one run's data written as a
//!   directory that builds and runs the same graph with the Poplar SDK and
//!   compares the outputs (`docs/poplar.md`);
//! - [`poplar_backend`]: runs a graph on an IPU or the IPUModel (the
//!   `poplar` feature), or says why this build cannot.

pub mod emit;
pub mod emulator;
pub mod graph;
pub mod layer;
pub mod poplar_backend;
pub mod train_graph;

pub use layer::{ForwardVertices, SurrogateSpec, VertexLayer};

pub mod stand_in {
    //! Safe wrappers over `cpp/stand_in_check.cpp`, which uses the host
    //! stand-in for `<poplar/Vertex.hpp>` and `<poplar/HalfFloat.hpp>` the
    //! way generated codelets do.
    //!
    //! The C++ is compiled by `build.rs` with `-ffp-contract=off
    //! -fno-fast-math`, whatever `CXXFLAGS` says, so each `float` operation
    //! is one IEEE rounding as on the IPU. The tests in
    //! `tests/stand_in.rs` compare these functions with `snn_kernels`.

    use core::ffi::{c_uint, c_ushort};

    extern "C" {
        fn snn_stand_in_half_from_float(x: f32) -> c_ushort;
        fn snn_stand_in_float_from_half(bits: c_ushort) -> f32;
        fn snn_stand_in_mul_add(a: f32, b: f32, c: f32) -> f32;
        fn snn_stand_in_scale(
            input: *const f32,
            output: *mut f32,
            visits: *mut c_uint,
            n: c_uint,
            k: f32,
        );
        fn snn_stand_in_scale_half(
            input: *const c_ushort,
            output: *mut c_ushort,
            n: c_uint,
            k: f32,
        );
    }

    /// The binary16 bits of the stand-in's `half(x)`: nearest even, binary16
    /// subnormals kept, finite overflow saturating to ±65504, NaN quiet.
    pub fn half_from_f32(x: f32) -> u16 {
        // SAFETY: a pure function of its argument.
        unsafe { snn_stand_in_half_from_float(x) }
    }

    /// The stand-in's `float(h)` of the `half` with these bits (exact).
    pub fn f32_from_half(bits: u16) -> f32 {
        // SAFETY: a pure function of its argument.
        unsafe { snn_stand_in_float_from_half(bits) }
    }

    /// `a * b + c` as one C++ expression: two roundings unless the
    /// compiler contracted it into a fused multiply-add, which the build
    /// forbids.
    pub fn mul_add_as_written(a: f32, b: f32, c: f32) -> f32 {
        // SAFETY: a pure function of its arguments.
        unsafe { snn_stand_in_mul_add(a, b, c) }
    }

    /// Runs a `poplar::MultiVertex` for every worker:
    /// `output[i] = input[i] * k` and `visits[i] += 1` for every `i`, each
    /// worker taking one contiguous chunk. `input` is a SPAN field, `output`
    /// and `visits` ONE_PTR fields.
    ///
    /// # Panics
    /// If the three slices differ in length or hold more than `u32::MAX`
    /// elements.
    pub fn scale(input: &[f32], output: &mut [f32], visits: &mut [u32], k: f32) {
        assert_eq!(input.len(), output.len(), "input and output lengths");
        assert_eq!(input.len(), visits.len(), "input and visits lengths");
        let n = c_uint::try_from(input.len()).expect("at most u32::MAX elements");
        // SAFETY: the vertex reads `n` elements of `input` and writes `n`
        // elements of `output` and `visits`, all of which exist; the mutable
        // slices are distinct borrows, so nothing aliases.
        unsafe {
            snn_stand_in_scale(
                input.as_ptr(),
                output.as_mut_ptr(),
                visits.as_mut_ptr(),
                n,
                k,
            )
        }
    }

    /// Runs a `poplar::MultiVertex` over binary16 (bits in `u16`) for every
    /// worker, in reverse order: `output[i] = half(float(input[i]) * k)`.
    ///
    /// # Panics
    /// If the slices differ in length or hold more than `u32::MAX` elements.
    pub fn scale_half(input: &[u16], output: &mut [u16], k: f32) {
        assert_eq!(input.len(), output.len(), "input and output lengths");
        let n = c_uint::try_from(input.len()).expect("at most u32::MAX elements");
        // SAFETY: the vertex reads `n` elements of `input` and writes `n`
        // elements of `output`, which exist and do not overlap.
        unsafe { snn_stand_in_scale_half(input.as_ptr(), output.as_mut_ptr(), n, k) }
    }
}
