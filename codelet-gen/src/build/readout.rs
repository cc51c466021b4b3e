//! The population readout and the count cross-entropy as vertices,
//! binary32, traced from the generic definitions of
//! `snn_kernels::population` (`sum_step`, `max_step`, `exp_sum_step`,
//! `ce_class`, `argmax_step`, `ce_loss`):
//!
//! - `PopulationCount`: `counts[b][c] = sum_t sum_p spk[t][b][c·P + p]`,
//!   over the population first (from its first spike), then over time;
//! - `PopulationCountBwd`: `dL/d spk[t][b][c·P + p] = dL/d counts[b][c]`;
//! - `CountCrossEntropy`: per row, `dL/d counts`, the label's `log p` and
//!   whether the row was predicted right (labels one-hot);
//! - `CountLossTotal`: `L = -(sum_b log p[b][y_b]) / B` from `+0`, rows
//!   ascending, and the number of rows predicted right.

use snn_kernels::population::{argmax_step, ce_class, ce_loss, exp_sum_step, max_step, sum_step};
use snn_kernels::Real;

use super::plain::{f32_const, for_range, let_index, load, store, traced, Plain};
use crate::ir::Float;
use crate::vertex::{
    Dest, Direction, FieldRole, Ix, Length, MemberRole, MemberTy, Operand, Size, Stmt, VertexDef,
    VertexKind,
};

const FAMILY: &str = "population";

fn m(role: MemberRole) -> Size {
    Size::Member(role)
}

/// `PopulationCount<float>`.
pub fn count() -> VertexDef {
    use MemberRole::{Classes, Population, Rows, Steps};
    let mut v = Plain::new(
        VertexKind::SpikeCount,
        FAMILY,
        "Population spike counts of a block of rows: counts[b][c] = sum_t sum_p spk[t][b][c P + p], population first, then time from t = 0.".into(),
    );
    let counts = v.field(
        "counts",
        FieldRole::Tensor,
        Direction::Output,
        Length::Product([m(Rows), m(Classes), Size::One, Size::One]),
        "class counts [rows][classes]",
    );
    let spikes = v.field(
        "spikes",
        FieldRole::Tensor,
        Direction::Input,
        Length::Product([m(Steps), m(Rows), m(Classes), m(Population)]),
        "output spikes [steps][rows][classes x population]",
    );
    let steps = v.size("steps", Steps, "time steps");
    let rows = v.size("rows", Rows, "rows of the block");
    let classes = v.size("classes", Classes, "classes");
    let population = v.size("population", Population, "neurons per class");
    let sum = traced(2, |a| vec![sum_step(a[0], a[1])]);
    let width = classes.clone().times(population.clone());
    // spk[t][row][col·P + p]
    let at = |t: Ix, p: Ix| {
        t.times(rows.clone())
            .plus(Ix::name("row"))
            .times(width.clone())
            .plus(Ix::name("col").times(population.clone()))
            .plus(p)
    };
    let mut body = vec![
        let_index("row", Ix::Element.over(classes.clone())),
        let_index("col", Ix::Element.modulo(classes)),
    ];
    let s = v.let_var(&mut body, "s", load(spikes, at(Ix::Const(0), Ix::Const(0))));
    let group = |t: Ix| {
        for_range(
            "p",
            Ix::Const(1),
            population.clone(),
            vec![sum.block(
                vec![Operand::Var(s), load(spikes, at(t, Ix::name("p")))],
                vec![Dest::Set(s)],
            )],
        )
    };
    body.push(group(Ix::Const(0)));
    let count = v.let_var(&mut body, "count", Operand::Var(s));
    body.push(for_range(
        "t",
        Ix::Const(1),
        steps,
        vec![
            Stmt::Set(s, load(spikes, at(Ix::name("t"), Ix::Const(0)))),
            group(Ix::name("t")),
            sum.block(
                vec![Operand::Var(count), Operand::Var(s)],
                vec![Dest::Set(count)],
            ),
        ],
    ));
    body.push(Stmt::Store {
        field: counts,
        index: crate::vertex::Index::Element,
        value: Operand::Var(count),
    });
    v.finish(Vec::new(), body)
}

/// `PopulationCountBwd<float>`.
pub fn count_backward() -> VertexDef {
    use MemberRole::{Classes, Population, Rows, Steps};
    let mut v = Plain::new(
        VertexKind::SpikeCountBackward,
        FAMILY,
        "The spikes' gradient from the counts': dL/d spk[t][b][c P + p] = dL/d counts[b][c]."
            .into(),
    );
    let grad_spikes = v.field(
        "grad_spikes",
        FieldRole::Tensor,
        Direction::Output,
        Length::Product([m(Steps), m(Rows), m(Classes), m(Population)]),
        "dL/d output spikes [steps][rows][classes x population]",
    );
    let grad_counts = v.field(
        "grad_counts",
        FieldRole::Tensor,
        Direction::Input,
        Length::Product([m(Rows), m(Classes), Size::One, Size::One]),
        "dL/d counts [rows][classes]",
    );
    let _steps = v.size("steps", Steps, "time steps");
    let rows = v.size("rows", Rows, "rows of the block");
    let classes = v.size("classes", Classes, "classes");
    let population = v.size("population", Population, "neurons per class");
    let width = classes.clone().times(population.clone());
    let body = vec![
        let_index("row", Ix::Element.over(width.clone()).modulo(rows)),
        let_index("col", Ix::Element.modulo(width).over(population)),
        Stmt::Store {
            field: grad_spikes,
            index: crate::vertex::Index::Element,
            value: load(
                grad_counts,
                Ix::name("row").times(classes).plus(Ix::name("col")),
            ),
        },
    ];
    v.finish(Vec::new(), body)
}

/// `CountCrossEntropy<float>`.
pub fn cross_entropy() -> VertexDef {
    use MemberRole::{Batch, Classes};
    let mut v = Plain::new(
        VertexKind::CountCrossEntropy,
        FAMILY,
        "The count cross-entropy of a block of rows: per row m = max counts, s = sum exp(counts - m) from +0, log p = (counts - m) - ln s, dL/d counts = own - exp(log p) g_y with g_y = -(1 / batch); the label's log p and whether the row was predicted right.".into(),
    );
    let row_log_p = v.field(
        "row_log_p",
        FieldRole::Tensor,
        Direction::Output,
        Length::Elements,
        "each row's log p of its label",
    );
    let counts = v.field(
        "counts",
        FieldRole::Tensor,
        Direction::Input,
        Length::Product([Size::Elements, m(Classes), Size::One, Size::One]),
        "class counts [rows][classes]",
    );
    let labels = v.field(
        "labels",
        FieldRole::Tensor,
        Direction::Input,
        Length::Product([Size::Elements, m(Classes), Size::One, Size::One]),
        "one-hot labels [rows][classes] (1 at the label, 0 elsewhere)",
    );
    let grad = v.field(
        "grad_counts",
        FieldRole::Tensor,
        Direction::Output,
        Length::Product([Size::Elements, m(Classes), Size::One, Size::One]),
        "dL/d counts [rows][classes]",
    );
    let hit = v.field(
        "row_hit",
        FieldRole::Tensor,
        Direction::Output,
        Length::Elements,
        "1 where the row's first largest count is its label's, else 0",
    );
    let classes = v.size("classes", Classes, "classes");
    let batch = Operand::Member(v.member(
        "batch",
        MemberTy::Float(Float::Binary32),
        Batch,
        "the batch size B the loss is the mean over",
    ));
    let max = traced(2, |a| vec![max_step(a[0], a[1])]);
    let exp_sum = traced(3, |a| vec![exp_sum_step(a[0], a[1], a[2])]);
    let ln = traced(1, |a| vec![a[0].ln()]);
    // (v, max, log_sum, is_label, batch, picked, best, hit) -> (grad, picked, best, hit)
    let class = traced(8, |a| {
        let (g, log_p) = ce_class(a[0], a[1], a[2], a[3], a[4]);
        let picked = snn_kernels::population::pick_step(a[5], log_p, a[3]);
        let (best, hit) = argmax_step((a[6], a[7]), a[0], a[3]);
        vec![g, picked, best, hit]
    });
    let at = |c: Ix| Ix::name("base").plus(c);
    let mut body = vec![let_index("base", Ix::Element.times(classes.clone()))];
    let top = v.let_var(&mut body, "top", load(counts, at(Ix::Const(0))));
    body.push(for_range(
        "c",
        Ix::Const(1),
        classes.clone(),
        vec![max.block(
            vec![Operand::Var(top), load(counts, at(Ix::name("c")))],
            vec![Dest::Set(top)],
        )],
    ));
    let sum = v.let_var(&mut body, "sum", f32_const(0.0));
    body.push(for_range(
        "c",
        Ix::Const(0),
        classes.clone(),
        vec![exp_sum.block(
            vec![
                Operand::Var(sum),
                load(counts, at(Ix::name("c"))),
                Operand::Var(top),
            ],
            vec![Dest::Set(sum)],
        )],
    ));
    let log_sum = v.let_var(&mut body, "log_sum", f32_const(0.0));
    body.push(ln.block(vec![Operand::Var(sum)], vec![Dest::Set(log_sum)]));
    let picked = v.let_var(&mut body, "picked", f32_const(0.0));
    let best = v.let_var(&mut body, "best", f32_const(f32::NEG_INFINITY));
    let hits = v.let_var(&mut body, "hit", load(labels, at(Ix::Const(0))));
    body.push(for_range(
        "c",
        Ix::Const(0),
        classes,
        vec![class.block(
            vec![
                load(counts, at(Ix::name("c"))),
                Operand::Var(top),
                Operand::Var(log_sum),
                load(labels, at(Ix::name("c"))),
                batch,
                Operand::Var(picked),
                Operand::Var(best),
                Operand::Var(hits),
            ],
            vec![
                store(grad, at(Ix::name("c"))),
                Dest::Set(picked),
                Dest::Set(best),
                Dest::Set(hits),
            ],
        )],
    ));
    body.push(Stmt::Store {
        field: row_log_p,
        index: crate::vertex::Index::Element,
        value: Operand::Var(picked),
    });
    body.push(Stmt::Store {
        field: hit,
        index: crate::vertex::Index::Element,
        value: Operand::Var(hits),
    });
    v.finish(Vec::new(), body)
}

/// `CountLossTotal<float>`.
pub fn loss_total() -> VertexDef {
    use MemberRole::{Batch, Rows};
    let mut v = Plain::new(
        VertexKind::CountLossTotal,
        FAMILY,
        "The loss L = -(sum_b log p[b][y_b]) / batch, the sum from +0, rows ascending, and the rows predicted right (every element gets both).".into(),
    );
    let loss = v.field(
        "loss",
        FieldRole::Tensor,
        Direction::Output,
        Length::Elements,
        "the loss (give one element)",
    );
    let correct = v.field(
        "correct",
        FieldRole::Tensor,
        Direction::Output,
        Length::Elements,
        "rows predicted right (give one element)",
    );
    let row_log_p = v.field(
        "row_log_p",
        FieldRole::Tensor,
        Direction::Input,
        Length::Product([m(Rows), Size::One, Size::One, Size::One]),
        "each row's log p of its label",
    );
    let row_hit = v.field(
        "row_hit",
        FieldRole::Tensor,
        Direction::Input,
        Length::Product([m(Rows), Size::One, Size::One, Size::One]),
        "1 for each row predicted right",
    );
    let rows = v.size("rows", Rows, "rows of the batch");
    let batch = Operand::Member(v.member(
        "batch",
        MemberTy::Float(Float::Binary32),
        Batch,
        "the batch size B the loss is the mean over",
    ));
    let sum = traced(2, |a| vec![sum_step(a[0], a[1])]);
    let mean = traced(2, |a| vec![ce_loss(a[0], a[1])]);
    let mut body = Vec::new();
    let total = v.let_var(&mut body, "total", f32_const(0.0));
    let hits = v.let_var(&mut body, "hits", f32_const(0.0));
    body.push(for_range(
        "b",
        Ix::Const(0),
        rows,
        vec![
            sum.block(
                vec![Operand::Var(total), load(row_log_p, Ix::name("b"))],
                vec![Dest::Set(total)],
            ),
            sum.block(
                vec![Operand::Var(hits), load(row_hit, Ix::name("b"))],
                vec![Dest::Set(hits)],
            ),
        ],
    ));
    body.push(mean.block(
        vec![Operand::Var(total), batch],
        vec![store(loss, Ix::Element)],
    ));
    body.push(Stmt::Store {
        field: correct,
        index: crate::vertex::Index::Element,
        value: Operand::Var(hits),
    });
    v.finish(Vec::new(), body)
}

/// The four readout and loss vertices.
pub fn classes() -> Vec<VertexDef> {
    vec![count(), count_backward(), cross_entropy(), loss_total()]
}
