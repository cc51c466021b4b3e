//! The dense layers' vertices, binary32, with the defined order of
//! `snn_kernels::dense` (each term traced from `dense::dot_step` and
//! `dense::add`):
//!
//! - `DenseFwd`: `y[r][o] = dot(x[r], w[o]) + b[o]`, the dot product from
//!   `-0`, `i` ascending, for a block of rows (every output element of the
//!   block is one worker element);
//! - `DenseBwdInput`: `dx[r][i] = sum_o dy[r][o]·w[o][i]` from `-0`, `o`
//!   ascending, for a block of rows;
//! - `DenseBwdWeights`: `dw[o][i] += sum_r dy[r][o]·x[r][i]`, rows
//!   ascending, for a block of outputs (`dy` bound from the block's first
//!   column, `outputs` wide);
//! - `DenseBwdBias`: `db[o] += sum_r dy[r][o]`, rows ascending, for a block
//!   of outputs.
//!
//! Every output element is computed by one worker from its own sum, so a
//! graph may split rows or outputs over tiles and workers without changing
//! a bit.

use snn_kernels::dense::{add, dot_step};

use super::plain::{f32_const, for_range, let_index, load, store, traced, Plain};
use crate::vertex::{
    Dest, Direction, FieldRole, Ix, Length, MemberRole, Operand, Size, Stmt, VertexDef, VertexKind,
};

const FAMILY: &str = "dense";

fn product(a: Size, b: Size) -> Length {
    Length::Product([a, b, Size::One, Size::One])
}

fn m(role: MemberRole) -> Size {
    Size::Member(role)
}

/// `acc = dot_step(acc, a[a_at], b[b_at])` for `counter` from 0 up to
/// `bound` (the kernels' order of summation).
fn accumulate(
    step: &super::plain::Traced,
    acc: crate::vertex::VarId,
    counter: &str,
    bound: Ix,
    (a, a_at): (usize, Ix),
    (b, b_at): (usize, Ix),
) -> Stmt {
    for_range(
        counter,
        Ix::Const(0),
        bound,
        vec![step.block(
            vec![Operand::Var(acc), load(a, a_at), load(b, b_at)],
            vec![Dest::Set(acc)],
        )],
    )
}

/// `DenseFwd<float>`.
pub fn forward() -> VertexDef {
    let mut v = Plain::new(
        VertexKind::DenseForward,
        FAMILY,
        "y = x W^T + b over a block of rows: y[r][o] = dot(x[r], w[o]) + b[o], the dot product from -0, i ascending.".into(),
    );
    use MemberRole::{Inputs, Outputs, Rows};
    let y = v.field(
        "y",
        FieldRole::Tensor,
        Direction::Output,
        product(m(Rows), m(Outputs)),
        "outputs [rows][outputs]",
    );
    let x = v.field(
        "x",
        FieldRole::Tensor,
        Direction::Input,
        product(m(Rows), m(Inputs)),
        "inputs [rows][inputs]",
    );
    let w = v.field(
        "w",
        FieldRole::Tensor,
        Direction::Input,
        product(m(Outputs), m(Inputs)),
        "weights [outputs][inputs]",
    );
    let b = v.field(
        "b",
        FieldRole::Tensor,
        Direction::Input,
        product(m(Outputs), Size::One),
        "bias [outputs]",
    );
    let _rows = v.size("rows", Rows, "rows of the block");
    let inputs = v.size("inputs", Inputs, "input features");
    let outputs = v.size("outputs", Outputs, "output features");
    let step = traced(3, |a| vec![dot_step(a[0], a[1], a[2])]);
    let bias = traced(2, |a| vec![add(a[0], a[1])]);
    let mut body = vec![
        let_index("row", Ix::Element.over(outputs.clone())),
        let_index("col", Ix::Element.modulo(outputs)),
    ];
    let acc = v.let_var(&mut body, "acc", f32_const(-0.0));
    let k = Ix::name("k");
    body.push(accumulate(
        &step,
        acc,
        "k",
        inputs.clone(),
        (x, Ix::name("row").times(inputs.clone()).plus(k.clone())),
        (w, Ix::name("col").times(inputs).plus(k)),
    ));
    body.push(bias.block(
        vec![Operand::Var(acc), load(b, Ix::name("col"))],
        vec![store(y, Ix::Element)],
    ));
    v.finish(Vec::new(), body)
}

/// `DenseBwdInput<float>`.
pub fn grad_input() -> VertexDef {
    let mut v = Plain::new(
        VertexKind::DenseGradInput,
        FAMILY,
        "dx = dy W over a block of rows: dx[r][i] = sum_o dy[r][o] w[o][i], from -0, o ascending."
            .into(),
    );
    use MemberRole::{Inputs, Outputs, Rows};
    let dx = v.field(
        "dx",
        FieldRole::Tensor,
        Direction::Output,
        product(m(Rows), m(Inputs)),
        "input gradients [rows][inputs]",
    );
    let dy = v.field(
        "dy",
        FieldRole::Tensor,
        Direction::Input,
        product(m(Rows), m(Outputs)),
        "output gradients [rows][outputs]",
    );
    let w = v.field(
        "w",
        FieldRole::Tensor,
        Direction::Input,
        product(m(Outputs), m(Inputs)),
        "weights [outputs][inputs]",
    );
    let _rows = v.size("rows", Rows, "rows of the block");
    let inputs = v.size("inputs", Inputs, "input features");
    let outputs = v.size("outputs", Outputs, "output features");
    let step = traced(3, |a| vec![dot_step(a[0], a[1], a[2])]);
    let mut body = vec![
        let_index("row", Ix::Element.over(inputs.clone())),
        let_index("col", Ix::Element.modulo(inputs.clone())),
    ];
    let acc = v.let_var(&mut body, "acc", f32_const(-0.0));
    let o = Ix::name("o");
    body.push(accumulate(
        &step,
        acc,
        "o",
        outputs.clone(),
        (dy, Ix::name("row").times(outputs).plus(o.clone())),
        (w, o.times(inputs).plus(Ix::name("col"))),
    ));
    body.push(Stmt::Store {
        field: dx,
        index: crate::vertex::Index::Element,
        value: Operand::Var(acc),
    });
    v.finish(Vec::new(), body)
}

/// `DenseBwdWeights<float>`.
pub fn grad_weights() -> VertexDef {
    let mut v = Plain::new(
        VertexKind::DenseGradWeights,
        FAMILY,
        "dW += dy^T x for a block of outputs: dw[o][i] += sum_r dy[r][o] x[r][i], rows ascending."
            .into(),
    );
    use MemberRole::{Inputs, OutputCount, Outputs, Rows};
    let dw = v.field(
        "dw",
        FieldRole::Tensor,
        Direction::InOut,
        product(m(OutputCount), m(Inputs)),
        "weight gradients of the block's outputs [output_count][inputs], added to",
    );
    let dy = v.field(
        "dy",
        FieldRole::Tensor,
        Direction::Input,
        Length::Strided {
            rows: m(Rows),
            stride: m(Outputs),
            width: m(OutputCount),
        },
        "output gradients [rows][outputs] from the block's first output column",
    );
    let x = v.field(
        "x",
        FieldRole::Tensor,
        Direction::Input,
        product(m(Rows), m(Inputs)),
        "inputs [rows][inputs]",
    );
    let rows = v.size("rows", Rows, "rows");
    let inputs = v.size("inputs", Inputs, "input features");
    let outputs = v.size("outputs", Outputs, "output features (the row stride of dy)");
    let _count = v.size("output_count", OutputCount, "outputs of the block");
    let step = traced(3, |a| vec![dot_step(a[0], a[1], a[2])]);
    let mut body = vec![
        let_index("out", Ix::Element.over(inputs.clone())),
        let_index("col", Ix::Element.modulo(inputs.clone())),
    ];
    let acc = v.let_var(&mut body, "acc", load(dw, Ix::Element));
    let r = Ix::name("r");
    body.push(accumulate(
        &step,
        acc,
        "r",
        rows,
        (dy, r.clone().times(outputs).plus(Ix::name("out"))),
        (x, r.times(inputs).plus(Ix::name("col"))),
    ));
    body.push(Stmt::Store {
        field: dw,
        index: crate::vertex::Index::Element,
        value: Operand::Var(acc),
    });
    v.finish(Vec::new(), body)
}

/// `DenseBwdBias<float>`.
pub fn grad_bias() -> VertexDef {
    let mut v = Plain::new(
        VertexKind::DenseGradBias,
        FAMILY,
        "db += column sums of dy for a block of outputs: db[o] += sum_r dy[r][o], rows ascending."
            .into(),
    );
    use MemberRole::{Outputs, Rows};
    let db = v.field(
        "db",
        FieldRole::Tensor,
        Direction::InOut,
        Length::Elements,
        "bias gradients of the block's outputs, added to",
    );
    let dy = v.field(
        "dy",
        FieldRole::Tensor,
        Direction::Input,
        Length::Strided {
            rows: m(Rows),
            stride: m(Outputs),
            width: Size::Elements,
        },
        "output gradients [rows][outputs] from the block's first output column",
    );
    let rows = v.size("rows", Rows, "rows");
    let outputs = v.size("outputs", Outputs, "output features (the row stride of dy)");
    let sum = traced(2, |a| vec![add(a[0], a[1])]);
    let mut body = Vec::new();
    let acc = v.let_var(&mut body, "acc", load(db, Ix::Element));
    body.push(for_range(
        "r",
        Ix::Const(0),
        rows,
        vec![sum.block(
            vec![
                Operand::Var(acc),
                load(dy, Ix::name("r").times(outputs).plus(Ix::Element)),
            ],
            vec![Dest::Set(acc)],
        )],
    ));
    body.push(Stmt::Store {
        field: db,
        index: crate::vertex::Index::Element,
        value: Operand::Var(acc),
    });
    v.finish(Vec::new(), body)
}

/// The four dense vertices.
pub fn classes() -> Vec<VertexDef> {
    vec![forward(), grad_input(), grad_weights(), grad_bias()]
}
