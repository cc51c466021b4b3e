//! The optimisers' vertices, binary32, elementwise, traced from
//! `snn_kernels::optim` (`Adam::update`, `Sgd::update`).
//!
//! The per-step constants change every step, so they are not members but a
//! small input tensor the host streams in (`Adam::constants`,
//! `Sgd::constants`). Its first value chooses between the two forms the
//! kernels branch on (Adam's lerp form, SGD's first step): the vertex
//! computes both, as traced from the kernels, and keeps the chosen one with
//! a select, which gives the kernels' bits.

use snn_kernels::optim::{Adam, Sgd, ADAM_CONSTANTS, SGD_CONSTANTS};
use snn_kernels::Real;

use super::plain::{load, store, traced, Plain};
use crate::ir::trace::{Rec, F32};
use crate::vertex::{Direction, FieldRole, Ix, Length, Operand, Size, Stmt, VertexDef, VertexKind};

const FAMILY: &str = "optimiser";

fn fixed(k: usize) -> Length {
    Length::Product([Size::Fixed(k as u32), Size::One, Size::One, Size::One])
}

/// `c[0] > 0 ? a : b`, elementwise over the results.
fn choose(flag: Rec<F32>, a: &[Rec<F32>], b: &[Rec<F32>]) -> Vec<Rec<F32>> {
    let on = flag.gt(Rec::<F32>::zero());
    a.iter()
        .zip(b)
        .map(|(&x, &y)| Rec::<F32>::select(on, x, y))
        .collect()
}

/// The constants' locals `c0..`, loaded before the element loop.
fn constants(v: &mut Plain, field: usize, count: usize) -> (Vec<Stmt>, Vec<Operand>) {
    let mut before = Vec::new();
    let locals = (0..count)
        .map(|k| {
            Operand::Var(v.let_var(
                &mut before,
                &format!("c{k}"),
                load(field, Ix::Const(k as u32)),
            ))
        })
        .collect();
    (before, locals)
}

/// `AdamUpdate<float>`.
pub fn adam() -> VertexDef {
    let mut v = Plain::new(
        VertexKind::AdamUpdate,
        FAMILY,
        "Adam (torch.optim.Adam): m = lerp(m, g, 1 - beta1), v = v beta2 + ((1 - beta2) g) g, p += (-step_size m) / (sqrt(v) / sqrt(1 - beta2^t) + eps); the step's constants from `constants`.".into(),
    );
    let p = v.field(
        "p",
        FieldRole::Tensor,
        Direction::InOut,
        Length::Elements,
        "parameters",
    );
    let g = v.field(
        "g",
        FieldRole::Tensor,
        Direction::Input,
        Length::Elements,
        "gradients",
    );
    let m = v.field(
        "m",
        FieldRole::Tensor,
        Direction::InOut,
        Length::Elements,
        "first moments",
    );
    let s = v.field(
        "v",
        FieldRole::Tensor,
        Direction::InOut,
        Length::Elements,
        "second moments",
    );
    let c = v.field(
        "constants",
        FieldRole::Tensor,
        Direction::Input,
        fixed(ADAM_CONSTANTS),
        "the step's constants (Adam::constants)",
    );
    let (before, locals) = constants(&mut v, c, ADAM_CONSTANTS);
    let update = traced(4 + ADAM_CONSTANTS, |a| {
        let c: [Rec<F32>; ADAM_CONSTANTS] = core::array::from_fn(|k| a[4 + k]);
        let low = Adam::from_constants(c, true).update(a[0], a[1], a[2], a[3]);
        let high = Adam::from_constants(c, false).update(a[0], a[1], a[2], a[3]);
        choose(c[0], &[low.0, low.1, low.2], &[high.0, high.1, high.2])
    });
    let mut inputs: Vec<Operand> = [p, g, m, s].iter().map(|&f| load(f, Ix::Element)).collect();
    inputs.extend(locals);
    let body = vec![update.block(
        inputs,
        vec![
            store(p, Ix::Element),
            store(m, Ix::Element),
            store(s, Ix::Element),
        ],
    )];
    v.finish(before, body)
}

/// `SgdUpdate<float>`.
pub fn sgd() -> VertexDef {
    let mut v = Plain::new(
        VertexKind::SgdUpdate,
        FAMILY,
        "SGD with momentum (torch.optim.SGD): buf = g on the first step, buf momentum + g after; p += (-lr) buf; the step's constants from `constants`.".into(),
    );
    let p = v.field(
        "p",
        FieldRole::Tensor,
        Direction::InOut,
        Length::Elements,
        "parameters",
    );
    let g = v.field(
        "g",
        FieldRole::Tensor,
        Direction::Input,
        Length::Elements,
        "gradients",
    );
    let b = v.field(
        "buf",
        FieldRole::Tensor,
        Direction::InOut,
        Length::Elements,
        "momentum buffers",
    );
    let c = v.field(
        "constants",
        FieldRole::Tensor,
        Direction::Input,
        fixed(SGD_CONSTANTS),
        "the step's constants (Sgd::constants)",
    );
    let (before, locals) = constants(&mut v, c, SGD_CONSTANTS);
    let update = traced(3 + SGD_CONSTANTS, |a| {
        let c: [Rec<F32>; SGD_CONSTANTS] = core::array::from_fn(|k| a[3 + k]);
        let sgd = Sgd::from_constants(c);
        let first = sgd.update(a[0], a[1], a[2], true);
        let later = sgd.update(a[0], a[1], a[2], false);
        choose(c[0], &[first.0, first.1], &[later.0, later.1])
    });
    let mut inputs: Vec<Operand> = [p, g, b].iter().map(|&f| load(f, Ix::Element)).collect();
    inputs.extend(locals);
    let body = vec![update.block(inputs, vec![store(p, Ix::Element), store(b, Ix::Element)])];
    v.finish(before, body)
}

/// The two optimiser vertices.
pub fn classes() -> Vec<VertexDef> {
    vec![adam(), sgd()]
}
