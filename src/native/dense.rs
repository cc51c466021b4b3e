//! Dense layers over all `T x B` rows at once: `y = x Wᵀ + b` forward,
//! `dx = dy W`, `dW = dyᵀ x`, `db = sum over rows of dy` backward.
//!
//! Four ways to compute them:
//!
//! - [`Dense::Defined`]: the project's own definition of the summation
//!   order (plain sequential sums from `-0`, no fused multiply-add), what
//!   the IPU graph emulator's matrix-multiplication vertex computes too, so
//!   that a training step can be compared bit for bit across backends. It
//!   is the reference the other ways are tested against, and the slowest.
//! - [`Dense::Events`]: the same bits as [`Dense::Defined`], fast where the
//!   input is sparse: `y` adds the weights of the active (non-zero) inputs
//!   only and `dW` sums over the rows where an input is active only
//!   ([`super::events`], which shows why the bits are the same); `dx` runs
//!   the defined order vectorised over the inputs.
//! - [`Dense::Gemm`]: the `gemm` crate, blocked and vectorised for this
//!   CPU (AVX-512, AVX2 + FMA or NEON, chosen at run time). Its summation
//!   order is its own (with fused multiply-adds) and depends on the CPU's
//!   vector width, so two machines of different kinds may differ in the
//!   last bits.
//! - [`Dense::Fast`] (what training uses): per product and per batch, the
//!   event-driven path when the measured share of active inputs is below
//!   the crossover where it stops being faster ([`FORWARD_CROSSOVER`],
//!   [`WEIGHTS_CROSSOVER`]), else gemm; `dx` on gemm (its `dy` is dense).
//!   The choice depends on the input only, never on the number of threads.
//!
//! Every way splits its work over threads by rows or by blocks of outputs,
//! never over a sum, so every output element is summed in the same order
//! whatever the thread count: the same seed gives the same weights on 1
//! thread and on 8 (tested). `db` is a sequential sum over the rows in all.

use super::events::{self, Events};

/// How the dense products are computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dense {
    /// Sequential sums in a defined order (see the module docs).
    Defined,
    /// Event-driven where the input is sparse, `gemm` where it is not, on up
    /// to `threads` threads (1: this thread only).
    Fast {
        /// Worker threads (at least 1).
        threads: usize,
    },
    /// Always `gemm`, on up to `threads` threads.
    Gemm {
        /// Worker threads (at least 1).
        threads: usize,
    },
    /// Always the defined sums, event-driven (the same bits as
    /// [`Dense::Defined`]), on up to `threads` threads.
    Events {
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

/// [`Dense::Fast`] adds the active inputs' weights forward when at most
/// this share of the inputs is active (binary inputs; graded inputs, which
/// multiply too, below [`GRADED_FACTOR`] times it). Measured on the
/// development machine (AMD EPYC, AVX-512, 1 thread) for MNIST's first
/// layer (3200 x 784 -> 1000): the event-driven forward pass costs about
/// 0.38 of gemm's at density 0.13 and grows linearly with the density.
pub const FORWARD_CROSSOVER: f64 = 0.3;

/// [`Dense::Fast`] sums the weight gradients over active inputs only when
/// at most this share of the inputs is active (binary inputs; graded below
/// [`GRADED_FACTOR`] times it): about 0.65 of gemm's time at density 0.13
/// on the development machine.
pub const WEIGHTS_CROSSOVER: f64 = 0.2;

/// The crossovers of graded inputs relative to binary ones.
pub const GRADED_FACTOR: f64 = 0.75;

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

/// The share of non-zero entries of `x` (0 for an empty `x`).
fn density(x: &[f32]) -> f64 {
    if x.is_empty() {
        return 0.0;
    }
    let active: usize = x
        .chunks(4096)
        .map(|c| {
            c.iter()
                .map(|v| usize::from(v.to_bits() << 1 != 0))
                .sum::<usize>()
        })
        .sum();
    active as f64 / x.len() as f64
}

/// The crossover factor of `e`'s values: 1 for binary inputs.
fn factor(e: &Events) -> f64 {
    if e.binary() {
        1.0
    } else {
        GRADED_FACTOR
    }
}

/// Whether the event-driven products can index `rows x inputs` (indices
/// are 32 bits).
fn indexable(rows: usize, inputs: usize) -> bool {
    u32::try_from(rows).is_ok() && u32::try_from(inputs).is_ok()
}

impl Dense {
    /// The threads of a fast way (1 for [`Dense::Defined`]).
    fn threads(self) -> usize {
        match self {
            Dense::Defined => 1,
            Dense::Fast { threads } | Dense::Gemm { threads } | Dense::Events { threads } => {
                threads.max(1)
            }
        }
    }

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
        self.forward_keeping(x, w, b, y, rows, inputs, outputs);
    }

    /// [`Dense::forward`], giving the input's active entries when it
    /// scanned them (for [`Dense::backward_weights_with`]).
    #[allow(clippy::too_many_arguments)]
    pub fn forward_keeping(
        self,
        x: &[f32],
        w: &[f32],
        b: &[f32],
        y: &mut [f32],
        rows: usize,
        inputs: usize,
        outputs: usize,
    ) -> Option<Events> {
        let threads = self.threads();
        let events_wanted = indexable(rows, inputs)
            && match self {
                Dense::Defined | Dense::Gemm { .. } => false,
                Dense::Events { .. } => true,
                // the cheaper test first: the share of active inputs
                Dense::Fast { .. } => density(x) <= FORWARD_CROSSOVER,
            };
        let scanned = events_wanted.then(|| Events::scan(x, rows, inputs, threads));
        let use_events = match (&scanned, self) {
            (Some(_), Dense::Events { .. }) => true,
            (Some(e), _) => e.density() <= FORWARD_CROSSOVER * factor(e),
            (None, _) => false,
        };
        match (self, &scanned) {
            (Dense::Defined, _) => forward(x, w, b, y, rows, inputs, outputs),
            (_, Some(e)) if use_events => {
                assert_eq!(x.len(), rows * inputs, "dense: input size");
                events::forward(e, x, w, b, y, outputs, threads);
            }
            (Dense::Events { .. }, _) => forward(x, w, b, y, rows, inputs, outputs),
            _ => gemm_forward(x, w, b, y, rows, inputs, outputs, threads),
        }
        scanned
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
            Dense::Events { threads } => {
                events::backward_input(dy, w, dx, rows, inputs, outputs, threads.max(1))
            }
            Dense::Fast { threads } | Dense::Gemm { threads } => {
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
        self.backward_weights_with(dy, x, None, dw, db, rows, inputs, outputs);
    }

    /// [`Dense::backward_weights`] with the active entries of `x` when the
    /// forward pass scanned them ([`Dense::forward_keeping`]).
    #[allow(clippy::too_many_arguments)]
    pub fn backward_weights_with(
        self,
        dy: &[f32],
        x: &[f32],
        scanned: Option<&Events>,
        dw: &mut [f32],
        db: &mut [f32],
        rows: usize,
        inputs: usize,
        outputs: usize,
    ) {
        let threads = self.threads();
        let scan = || Events::scan(x, rows, inputs, threads);
        let owned;
        let events = match self {
            Dense::Defined | Dense::Gemm { .. } => None,
            _ if !indexable(rows, inputs) => None,
            Dense::Events { .. } => match scanned {
                Some(e) => Some(e),
                None => {
                    owned = scan();
                    Some(&owned)
                }
            },
            Dense::Fast { .. } => match scanned {
                Some(e) => Some(e),
                None if density(x) <= WEIGHTS_CROSSOVER => {
                    owned = scan();
                    Some(&owned)
                }
                None => None,
            },
        };
        let events = events.filter(|e| {
            matches!(self, Dense::Events { .. }) || e.density() <= WEIGHTS_CROSSOVER * factor(e)
        });
        match (self, events) {
            (Dense::Defined, _) | (Dense::Events { .. }, None) => {
                dw.fill(-0.0);
                db.fill(-0.0);
                backward_weights(dy, x, dw, db, inputs, outputs);
            }
            (_, Some(e)) => {
                assert_eq!(x.len(), rows * inputs, "dense: input size");
                events::backward_weights(e, x, dy, dw, db, outputs, threads);
            }
            _ => {
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

/// `y = x Wᵀ + b` on gemm.
#[allow(clippy::too_many_arguments)]
fn gemm_forward(
    x: &[f32],
    w: &[f32],
    b: &[f32],
    y: &mut [f32],
    rows: usize,
    inputs: usize,
    outputs: usize,
    threads: usize,
) {
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
