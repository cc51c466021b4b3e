//! Dense layers over all `T x B` rows at once: `y = x Wᵀ + b` forward,
//! `dx = dy W`, `dW = dyᵀ x`, `db = sum over rows of dy` backward.
//!
//! [`Dense::Defined`] is the project's own definition of the summation
//! order (plain sequential sums, no fused multiply-add): what the IPU graph
//! emulator's matrix-multiplication vertex computes too, so that a training
//! step can be compared bit for bit across backends. It is the reference the
//! fast path is tested against.

/// How the dense products are computed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Dense {
    /// Sequential sums in a defined order (see the module docs).
    #[default]
    Defined,
}

/// `y[r][o] = (sum_i x[r][i] · w[o][i]) + b[o]`, the sum over `i` from 0
/// up, for `rows` rows of `inputs` features into `outputs` features.
pub fn forward(
    x: &[f32],
    w: &[f32],
    b: &[f32],
    y: &mut [f32],
    rows: usize,
    inputs: usize,
    outputs: usize,
) {
    debug_assert_eq!(x.len(), rows * inputs);
    debug_assert_eq!(w.len(), outputs * inputs);
    debug_assert_eq!(y.len(), rows * outputs);
    for (xr, yr) in x.chunks_exact(inputs).zip(y.chunks_exact_mut(outputs)) {
        for ((wo, yo), bo) in w.chunks_exact(inputs).zip(yr.iter_mut()).zip(b) {
            *yo = dot(xr, wo) + bo;
        }
    }
}

/// `dx[r][i] = sum_o dy[r][o] · w[o][i]`, the sum over `o` from 0 up.
pub fn backward_input(
    dy: &[f32],
    w: &[f32],
    dx: &mut [f32],
    rows: usize,
    inputs: usize,
    outputs: usize,
) {
    debug_assert_eq!(dy.len(), rows * outputs);
    debug_assert_eq!(dx.len(), rows * inputs);
    for (dyr, dxr) in dy.chunks_exact(outputs).zip(dx.chunks_exact_mut(inputs)) {
        dxr.fill(-0.0);
        for (wo, &g) in w.chunks_exact(inputs).zip(dyr) {
            for (d, &wv) in dxr.iter_mut().zip(wo) {
                *d += g * wv;
            }
        }
    }
}

/// `dw[o][i] += sum_r dy[r][o] · x[r][i]` and `db[o] += sum_r dy[r][o]`,
/// the sums over rows from 0 up, added to what `dw` and `db` hold.
pub fn backward_weights(
    dy: &[f32],
    x: &[f32],
    dw: &mut [f32],
    db: &mut [f32],
    inputs: usize,
    outputs: usize,
) {
    for (dyr, xr) in dy.chunks_exact(outputs).zip(x.chunks_exact(inputs)) {
        for ((dwo, dbo), &g) in dw.chunks_exact_mut(inputs).zip(db.iter_mut()).zip(dyr) {
            *dbo += g;
            for (d, &xv) in dwo.iter_mut().zip(xr) {
                *d += g * xv;
            }
        }
    }
}

/// `sum_i a[i]·b[i]` from `i = 0`, starting at `-0` (the identity).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).fold(-0.0, |sum, (x, y)| sum + x * y)
}
