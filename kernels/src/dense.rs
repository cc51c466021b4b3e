//! Dense layers with a defined order of summation: `y = x Wᵀ + b`,
//! `dx = dy W`, `dW += dyᵀ x`, `db += sum over rows of dy`, every sum
//! sequential, one rounding per operation, never a fused multiply-add.
//!
//! This is the definition the native runner's `Dense::Defined` computes and
//! the IPU's matrix-multiplication vertices are generated from ([`dot_step`]
//! and [`add`] are what the code generator traces), so a training step
//! gives the same bits on every backend.
//!
//! Shapes: `x` is `[rows][inputs]`, `w` `[outputs][inputs]`, `b`
//! `[outputs]`, `y` and `dy` `[rows][outputs]`, `dx` `[rows][inputs]`, all
//! row-major.

use crate::error::{check_len, Error};
use crate::real::Real;

/// One term of a sum of products: `acc + a·b` (the product rounded, then
/// the sum).
#[inline(always)]
pub fn dot_step<T: Real>(acc: T, a: T, b: T) -> T {
    acc + a * b
}

/// One term of a plain sum: `acc + a`.
#[inline(always)]
pub fn add<T: Real>(acc: T, a: T) -> T {
    acc + a
}

/// `sum_i a[i]·b[i]` with [`dot_step`] from `i = 0`, starting at `-0` (the
/// identity of IEEE addition).
#[inline]
pub fn dot<T: Real>(a: &[T], b: &[T]) -> T {
    a.iter()
        .zip(b)
        .fold(-T::zero(), |acc, (&x, &y)| dot_step(acc, x, y))
}

/// Each `(what, len, a, b)`: `len` must be `a·b`.
fn check_shapes(lens: [(&'static str, usize, usize, usize); 3]) -> Result<(), Error> {
    for (what, actual, a, b) in lens {
        let expected = a.checked_mul(b).ok_or(Error::ShapeTooLarge)?;
        check_len(what, actual, expected)?;
    }
    Ok(())
}

/// `y[r][o] = dot(x[r], w[o]) + b[o]`.
#[allow(clippy::too_many_arguments)]
pub fn forward<T: Real>(
    x: &[T],
    w: &[T],
    b: &[T],
    y: &mut [T],
    rows: usize,
    inputs: usize,
    outputs: usize,
) -> Result<(), Error> {
    check_shapes([
        ("dense inputs", x.len(), rows, inputs),
        ("dense weights", w.len(), outputs, inputs),
        ("dense outputs", y.len(), rows, outputs),
    ])?;
    check_len("dense bias", b.len(), outputs)?;
    if inputs == 0 {
        for yr in y.chunks_exact_mut(outputs.max(1)) {
            for (v, &bo) in yr.iter_mut().zip(b) {
                *v = add(-T::zero(), bo);
            }
        }
        return Ok(());
    }
    for (xr, yr) in x
        .chunks_exact(inputs)
        .zip(y.chunks_exact_mut(outputs.max(1)))
    {
        for ((wo, v), &bo) in w.chunks_exact(inputs).zip(yr.iter_mut()).zip(b) {
            *v = add(dot(xr, wo), bo);
        }
    }
    Ok(())
}

/// `dx[r][i] = sum_o dy[r][o]·w[o][i]`, from `-0`, `o` ascending
/// (overwrites `dx`).
pub fn backward_input<T: Real>(
    dy: &[T],
    w: &[T],
    dx: &mut [T],
    rows: usize,
    inputs: usize,
    outputs: usize,
) -> Result<(), Error> {
    check_shapes([
        ("dense output gradients", dy.len(), rows, outputs),
        ("dense weights", w.len(), outputs, inputs),
        ("dense input gradients", dx.len(), rows, inputs),
    ])?;
    if inputs == 0 {
        return Ok(());
    }
    for (dyr, dxr) in dy
        .chunks_exact(outputs.max(1))
        .zip(dx.chunks_exact_mut(inputs))
    {
        dxr.fill(-T::zero());
        for (wo, &g) in w.chunks_exact(inputs).zip(dyr) {
            for (d, &wv) in dxr.iter_mut().zip(wo) {
                *d = dot_step(*d, g, wv);
            }
        }
    }
    Ok(())
}

/// `dw[o][i] += sum_r dy[r][o]·x[r][i]` and `db[o] += sum_r dy[r][o]`,
/// rows ascending, added to what `dw` and `db` hold.
pub fn backward_weights<T: Real>(
    dy: &[T],
    x: &[T],
    dw: &mut [T],
    db: &mut [T],
    rows: usize,
    inputs: usize,
    outputs: usize,
) -> Result<(), Error> {
    check_shapes([
        ("dense output gradients", dy.len(), rows, outputs),
        ("dense inputs", x.len(), rows, inputs),
        ("dense weight gradients", dw.len(), outputs, inputs),
    ])?;
    check_len("dense bias gradients", db.len(), outputs)?;
    if outputs == 0 {
        return Ok(());
    }
    for r in 0..rows {
        let dyr = &dy[r * outputs..(r + 1) * outputs];
        let xr = &x[r * inputs..(r + 1) * inputs];
        for (o, &g) in dyr.iter().enumerate() {
            db[o] = add(db[o], g);
            for (d, &xv) in dw[o * inputs..(o + 1) * inputs].iter_mut().zip(xr) {
                *d = dot_step(*d, g, xv);
            }
        }
    }
    Ok(())
}
