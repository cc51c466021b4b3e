//! Dense layers over all `T x B` rows at once: `y = x Wᵀ + b` forward,
//! `dx = dy W`, `dW = dyᵀ x`, `db = sum over rows of dy` backward.
//!
//! Two ways to compute them:
//!
//! - [`Dense::Fast`] (what training uses): the `gemm` crate, blocked and
//!   vectorised for this CPU (AVX-512, AVX2 + FMA or NEON, chosen at run
//!   time), on up to `threads` threads. The work is split over blocks of
//!   the output, never over the sum, so every output element is summed in
//!   the same order whatever the thread count: the same seed gives the same
//!   weights on 1 thread and on 8 (tested). The order does depend on the
//!   CPU's vector width, so two machines of different kinds may differ in
//!   the last bits.
//! - [`Dense::Defined`]: the project's own definition of the summation
//!   order (plain sequential sums, no fused multiply-add), what the IPU
//!   graph emulator's matrix-multiplication vertex computes too, so that a
//!   training step can be compared bit for bit across backends. It is the
//!   reference the fast path is tested against, and 40 times slower.
//!
//! `db` is a sequential sum over the rows in both.

/// How the dense products are computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dense {
    /// Sequential sums in a defined order (see the module docs).
    Defined,
    /// `gemm` on up to `threads` threads (1: this thread only).
    Fast {
        /// Worker threads (at least 1).
        threads: usize,
    },
}

impl Default for Dense {
    /// [`Dense::Fast`] on one thread.
    fn default() -> Self {
        Dense::Fast { threads: 1 }
    }
}

/// A matrix in memory: `ptr[r·rows + c·cols]` is element `(r, c)`.
#[derive(Clone, Copy)]
struct Strides {
    rows: isize,
    cols: isize,
}

/// `dst[m][n] = sum_k lhs(m, k) · rhs(k, n)` with `gemm`, `dst` row-major
/// and overwritten.
#[allow(clippy::too_many_arguments)]
fn gemm_into(
    dst: &mut [f32],
    lhs: &[f32],
    lhs_strides: Strides,
    rhs: &[f32],
    rhs_strides: Strides,
    m: usize,
    k: usize,
    n: usize,
    threads: usize,
) {
    assert_eq!(dst.len(), m * n, "dense: output size");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        dst.fill(0.0);
        return;
    }
    let last =
        |s: Strides, r: usize, c: usize| (r - 1) as isize * s.rows + (c - 1) as isize * s.cols;
    assert!(
        last(lhs_strides, m, k) < lhs.len() as isize,
        "dense: left operand size"
    );
    assert!(
        last(rhs_strides, k, n) < rhs.len() as isize,
        "dense: right operand size"
    );
    let parallelism = if threads <= 1 {
        gemm::Parallelism::None
    } else {
        gemm::Parallelism::Rayon(threads)
    };
    // SAFETY: the asserts above keep every element that gemm reads within
    // `lhs` and `rhs`, and `dst` holds exactly `m x n` row-major elements,
    // written and not read (`read_dst` false); the slices do not overlap
    // (`dst` is borrowed mutably).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            false,
            lhs.as_ptr(),
            lhs_strides.cols,
            lhs_strides.rows,
            rhs.as_ptr(),
            rhs_strides.cols,
            rhs_strides.rows,
            0.0f32,
            1.0f32,
            false,
            false,
            false,
            parallelism,
        );
    }
}

impl Dense {
    /// `y = x Wᵀ + b` ([`forward`] when [`Dense::Defined`]).
    #[allow(clippy::too_many_arguments)]
    pub fn forward(
        self,
        x: &[f32],
        w: &[f32],
        b: &[f32],
        y: &mut [f32],
        rows: usize,
        inputs: usize,
        outputs: usize,
    ) {
        match self {
            Dense::Defined => forward(x, w, b, y, rows, inputs, outputs),
            Dense::Fast { threads } => {
                let x_s = Strides {
                    rows: inputs as isize,
                    cols: 1,
                };
                // Wᵀ(i, o) = w[o][i]
                let wt_s = Strides {
                    rows: 1,
                    cols: inputs as isize,
                };
                gemm_into(y, x, x_s, w, wt_s, rows, inputs, outputs, threads);
                for yr in y.chunks_exact_mut(outputs.max(1)) {
                    for (v, bo) in yr.iter_mut().zip(b) {
                        *v += bo;
                    }
                }
            }
        }
    }

    /// `dx = dy W` ([`backward_input`] when [`Dense::Defined`]).
    pub fn backward_input(
        self,
        dy: &[f32],
        w: &[f32],
        dx: &mut [f32],
        rows: usize,
        inputs: usize,
        outputs: usize,
    ) {
        match self {
            Dense::Defined => backward_input(dy, w, dx, rows, inputs, outputs),
            Dense::Fast { threads } => {
                let dy_s = Strides {
                    rows: outputs as isize,
                    cols: 1,
                };
                let w_s = Strides {
                    rows: inputs as isize,
                    cols: 1,
                };
                gemm_into(dx, dy, dy_s, w, w_s, rows, outputs, inputs, threads);
            }
        }
    }

    /// `dw = dyᵀ x`, `db = sum over rows of dy`, overwriting both
    /// ([`backward_weights`] into zeros when [`Dense::Defined`]).
    #[allow(clippy::too_many_arguments)]
    pub fn backward_weights(
        self,
        dy: &[f32],
        x: &[f32],
        dw: &mut [f32],
        db: &mut [f32],
        rows: usize,
        inputs: usize,
        outputs: usize,
    ) {
        match self {
            Dense::Defined => {
                dw.fill(-0.0);
                db.fill(-0.0);
                backward_weights(dy, x, dw, db, inputs, outputs);
            }
            Dense::Fast { threads } => {
                // dyᵀ(o, r) = dy[r][o]
                let dyt_s = Strides {
                    rows: 1,
                    cols: outputs as isize,
                };
                let x_s = Strides {
                    rows: inputs as isize,
                    cols: 1,
                };
                gemm_into(dw, dy, dyt_s, x, x_s, outputs, rows, inputs, threads);
                db.fill(-0.0);
                for dyr in dy.chunks_exact(outputs.max(1)) {
                    for (d, g) in db.iter_mut().zip(dyr) {
                        *d += g;
                    }
                }
            }
        }
    }
}

/// `y[r][o] = (sum_i x[r][i] · w[o][i]) + b[o]`, the sum over `i` from 0
/// up starting at `-0`: `snn_kernels::dense::forward`, the definition the
/// IPU's `DenseFwd` vertex is generated from.
///
/// # Panics
/// When the slices do not have the shapes given (the network checks them).
pub fn forward(
    x: &[f32],
    w: &[f32],
    b: &[f32],
    y: &mut [f32],
    rows: usize,
    inputs: usize,
    outputs: usize,
) {
    snn_kernels::dense::forward(x, w, b, y, rows, inputs, outputs)
        .expect("dense forward: the network checked the shapes");
}

/// `dx[r][i] = sum_o dy[r][o] · w[o][i]`, the sum over `o` from 0 up
/// starting at `-0` (`snn_kernels::dense::backward_input`).
///
/// # Panics
/// When the slices do not have the shapes given.
pub fn backward_input(
    dy: &[f32],
    w: &[f32],
    dx: &mut [f32],
    rows: usize,
    inputs: usize,
    outputs: usize,
) {
    snn_kernels::dense::backward_input(dy, w, dx, rows, inputs, outputs)
        .expect("dense backward: the network checked the shapes");
}

/// `dw[o][i] += sum_r dy[r][o] · x[r][i]` and `db[o] += sum_r dy[r][o]`,
/// the sums over rows from 0 up, added to what `dw` and `db` hold
/// (`snn_kernels::dense::backward_weights`).
///
/// # Panics
/// When the slices do not have the shapes given.
pub fn backward_weights(
    dy: &[f32],
    x: &[f32],
    dw: &mut [f32],
    db: &mut [f32],
    inputs: usize,
    outputs: usize,
) {
    let rows = dy.len() / outputs.max(1);
    snn_kernels::dense::backward_weights(dy, x, dw, db, rows, inputs, outputs)
        .expect("dense backward: the network checked the shapes");
}
