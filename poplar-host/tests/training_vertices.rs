//! The training step's vertices (dense layers, optimisers, readout and
//! loss), run by the emulator, give the bits of the kernels' functions
//! they are generated from, on random data with ±0, NaN, infinities and
//! subnormals; split into blocks of rows or outputs they give the same
//! bits as one vertex over everything.

use snn_kernels::dense;
use snn_kernels::optim::{Adam, Sgd};
use snn_kernels::population::{
    ce_count_loss_in, spike_counts_backward_in, spike_counts_in, Readout,
};
use snn_poplar_host::emulator::{run_vertex, Buffer, MemberValue, RunOptions};

const CHECK: RunOptions = RunOptions {
    check_worker_overlap: true,
};

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Mostly values in (-4, 4), sometimes ±0, NaN, ±inf, a subnormal or
    /// a huge value.
    fn value(&mut self) -> f32 {
        let r = self.next();
        match r % 16 {
            0 => 0.0,
            1 => -0.0,
            2 if r % 64 == 2 => f32::NAN,
            3 if r % 64 == 3 => f32::INFINITY,
            4 if r % 64 == 4 => f32::NEG_INFINITY,
            5 => f32::from_bits(1 + (r >> 40) as u32 % 1000),
            6 if r % 64 == 6 => 3.0e38,
            _ => ((r >> 11) as f64 / (1u64 << 53) as f64 * 8.0 - 4.0) as f32,
        }
    }

    fn values(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.value()).collect()
    }
}

fn assert_bits(what: &str, got: &[f32], expected: &[f32]) {
    assert_eq!(got.len(), expected.len(), "{what}: lengths");
    for (k, (g, e)) in got.iter().zip(expected).enumerate() {
        let same = g.to_bits() == e.to_bits() || (g.is_nan() && e.is_nan());
        assert!(
            same,
            "{what}[{k}]: vertex {g:e} ({:#010x}), kernels {e:e} ({:#010x})",
            g.to_bits(),
            e.to_bits()
        );
    }
}

fn unsigned(x: usize) -> MemberValue {
    MemberValue::Unsigned(x as u32)
}

const ROWS: usize = 6;
const INPUTS: usize = 7;
const OUTPUTS: usize = 5;

/// `DenseFwd` on rows `rows` of `x`.
fn dense_forward(x: &[f32], w: &[f32], b: &[f32], rows: std::ops::Range<usize>) -> Vec<f32> {
    let mut y = vec![0.0f32; rows.len() * OUTPUTS];
    run_vertex(
        "snn::DenseFwd<float>",
        &mut [
            ("y", Buffer::output(&mut y)),
            (
                "x",
                Buffer::input(&x[rows.start * INPUTS..rows.end * INPUTS]),
            ),
            ("w", Buffer::input(w)),
            ("b", Buffer::input(b)),
        ],
        &[
            ("rows", unsigned(rows.len())),
            ("inputs", unsigned(INPUTS)),
            ("outputs", unsigned(OUTPUTS)),
        ],
        CHECK,
    )
    .unwrap();
    y
}

#[test]
fn dense_forward_is_the_defined_sum_in_any_split_of_rows() {
    for seed in 1..6 {
        let mut rng = Rng(seed);
        let (x, w, b) = (
            rng.values(ROWS * INPUTS),
            rng.values(OUTPUTS * INPUTS),
            rng.values(OUTPUTS),
        );
        let mut expected = vec![0.0f32; ROWS * OUTPUTS];
        dense::forward(&x, &w, &b, &mut expected, ROWS, INPUTS, OUTPUTS).unwrap();
        assert_bits("y", &dense_forward(&x, &w, &b, 0..ROWS), &expected);
        let mut split = dense_forward(&x, &w, &b, 0..2);
        split.extend(dense_forward(&x, &w, &b, 2..ROWS));
        assert_bits("y in two blocks", &split, &expected);
    }
}

#[test]
fn dense_input_gradient_is_the_defined_sum() {
    for seed in 1..6 {
        let mut rng = Rng(seed * 31);
        let (dy, w) = (rng.values(ROWS * OUTPUTS), rng.values(OUTPUTS * INPUTS));
        let mut expected = vec![0.0f32; ROWS * INPUTS];
        dense::backward_input(&dy, &w, &mut expected, ROWS, INPUTS, OUTPUTS).unwrap();
        let mut dx = vec![1.0f32; ROWS * INPUTS];
        for rows in [0..4, 4..ROWS] {
            run_vertex(
                "snn::DenseBwdInput<float>",
                &mut [
                    (
                        "dx",
                        Buffer::output(&mut dx[rows.start * INPUTS..rows.end * INPUTS]),
                    ),
                    (
                        "dy",
                        Buffer::input(&dy[rows.start * OUTPUTS..rows.end * OUTPUTS]),
                    ),
                    ("w", Buffer::input(&w)),
                ],
                &[
                    ("rows", unsigned(rows.len())),
                    ("inputs", unsigned(INPUTS)),
                    ("outputs", unsigned(OUTPUTS)),
                ],
                CHECK,
            )
            .unwrap();
        }
        assert_bits("dx", &dx, &expected);
    }
}

#[test]
fn dense_weight_and_bias_gradients_add_the_defined_sums_in_any_split_of_outputs() {
    for seed in 1..6 {
        let mut rng = Rng(seed * 77);
        let (dy, x) = (rng.values(ROWS * OUTPUTS), rng.values(ROWS * INPUTS));
        let (dw0, db0) = (rng.values(OUTPUTS * INPUTS), rng.values(OUTPUTS));
        let (mut expected_dw, mut expected_db) = (dw0.clone(), db0.clone());
        dense::backward_weights(
            &dy,
            &x,
            &mut expected_dw,
            &mut expected_db,
            ROWS,
            INPUTS,
            OUTPUTS,
        )
        .unwrap();
        let (mut dw, mut db) = (dw0.clone(), db0.clone());
        // outputs [0, 2) and [2, 5): dy bound from the block's first column
        for outs in [0..2, 2..OUTPUTS] {
            let count = outs.len();
            let strided = &dy[outs.start..outs.start + (ROWS - 1) * OUTPUTS + count];
            run_vertex(
                "snn::DenseBwdWeights<float>",
                &mut [
                    (
                        "dw",
                        Buffer::output(&mut dw[outs.start * INPUTS..outs.end * INPUTS]),
                    ),
                    ("dy", Buffer::input(strided)),
                    ("x", Buffer::input(&x)),
                ],
                &[
                    ("rows", unsigned(ROWS)),
                    ("inputs", unsigned(INPUTS)),
                    ("outputs", unsigned(OUTPUTS)),
                    ("output_count", unsigned(count)),
                ],
                CHECK,
            )
            .unwrap();
            run_vertex(
                "snn::DenseBwdBias<float>",
                &mut [
                    ("db", Buffer::output(&mut db[outs.clone()])),
                    ("dy", Buffer::input(strided)),
                ],
                &[("rows", unsigned(ROWS)), ("outputs", unsigned(OUTPUTS))],
                CHECK,
            )
            .unwrap();
        }
        assert_bits("dw", &dw, &expected_dw);
        assert_bits("db", &db, &expected_db);
    }
}

#[test]
fn a_strided_block_past_the_matrix_is_refused() {
    // dy of 6 rows x 5 outputs from column 3, 4 columns wide: 29 values,
    // but only 27 remain after column 3
    let dy = [0.0f32; ROWS * OUTPUTS];
    let x = vec![0.0f32; ROWS * INPUTS];
    let mut dw = vec![0.0f32; 4 * INPUTS];
    let error = run_vertex(
        "snn::DenseBwdWeights<float>",
        &mut [
            ("dw", Buffer::output(&mut dw)),
            ("dy", Buffer::input(&dy[3..])),
            ("x", Buffer::input(&x)),
        ],
        &[
            ("rows", unsigned(ROWS)),
            ("inputs", unsigned(INPUTS)),
            ("outputs", unsigned(OUTPUTS)),
            ("output_count", unsigned(4)),
        ],
        CHECK,
    )
    .unwrap_err();
    assert!(
        error.to_string().contains("`dy` needs 29 values"),
        "{error}"
    );
}

/// `AdamUpdate` or `SgdUpdate` on `p`, `g` and the state, with `constants`.
fn optimiser(name: &str, p: &mut [f32], g: &[f32], state: &mut [Vec<f32>], constants: &[f32]) {
    let mut fields: Vec<(&str, Buffer<'_>)> =
        vec![("p", Buffer::output(p)), ("g", Buffer::input(g))];
    let names: &[&str] = if state.len() == 2 {
        &["m", "v"]
    } else {
        &["buf"]
    };
    for (name, s) in names.iter().zip(state.iter_mut()) {
        fields.push((name, Buffer::output(s.as_mut_slice())));
    }
    fields.push(("constants", Buffer::input(constants)));
    run_vertex(name, &mut fields, &[], CHECK).unwrap();
}

#[test]
fn adam_updates_are_the_kernels_in_both_lerp_forms() {
    // beta1 = 0.9: m + w (g - m); beta1 = 0.2: g - (g - m)(1 - w)
    for (beta1, step, seed) in [(0.9, 1, 3), (0.9, 7, 4), (0.2, 2, 5), (0.5, 3, 6)] {
        let mut rng = Rng(seed);
        let n = 67;
        let (p0, g) = (rng.values(n), rng.values(n));
        let (m0, v0) = (rng.values(n), rng.values(n));
        let adam = Adam::<f32>::at_step(1e-3, beta1, 0.999, 1e-8, step);
        let mut expected = (p0.clone(), m0.clone(), v0.clone());
        for k in 0..n {
            let (p, m, v) = adam.update(p0[k], g[k], m0[k], v0[k]);
            (expected.0[k], expected.1[k], expected.2[k]) = (p, m, v);
        }
        let mut p = p0.clone();
        let mut state = vec![m0.clone(), v0.clone()];
        optimiser(
            "snn::AdamUpdate<float>",
            &mut p,
            &g,
            &mut state,
            &adam.constants(),
        );
        assert_bits("p", &p, &expected.0);
        assert_bits("m", &state[0], &expected.1);
        assert_bits("v", &state[1], &expected.2);
    }
}

#[test]
fn sgd_updates_are_the_kernels_on_the_first_step_and_after() {
    for (first, seed) in [(true, 8), (false, 9)] {
        let mut rng = Rng(seed);
        let n = 41;
        let (p0, g, b0) = (rng.values(n), rng.values(n), rng.values(n));
        let sgd = Sgd::<f32>::new(0.05, 0.9);
        let (mut expected_p, mut expected_b) = (p0.clone(), b0.clone());
        sgd.apply(&mut expected_p, &g, &mut expected_b, first)
            .unwrap();
        let mut p = p0.clone();
        let mut state = vec![b0.clone()];
        optimiser(
            "snn::SgdUpdate<float>",
            &mut p,
            &g,
            &mut state,
            &sgd.constants(first),
        );
        assert_bits("p", &p, &expected_p);
        assert_bits("buf", &state[0], &expected_b);
    }
}

const STEPS: usize = 4;
const BATCH: usize = 5;
const CLASSES: usize = 3;
const POPULATION: usize = 2;

fn readout() -> Readout {
    Readout {
        steps: STEPS,
        batch: BATCH,
        classes: CLASSES,
        population: POPULATION,
    }
}

/// Spikes of 0 and 1, some graded, some ±0, NaN or infinite.
fn spikes(rng: &mut Rng) -> Vec<f32> {
    (0..STEPS * BATCH * CLASSES * POPULATION)
        .map(|_| match rng.next() % 10 {
            0..=4 => 0.0,
            5..=7 => 1.0,
            _ => rng.value(),
        })
        .collect()
}

fn sizes() -> [(&'static str, MemberValue); 4] {
    [
        ("steps", unsigned(STEPS)),
        ("rows", unsigned(BATCH)),
        ("classes", unsigned(CLASSES)),
        ("population", unsigned(POPULATION)),
    ]
}

#[test]
fn population_counts_and_their_gradient_are_the_kernels() {
    for seed in 1..6 {
        let mut rng = Rng(seed * 5);
        let spk = spikes(&mut rng);
        let mut expected = vec![0.0f32; BATCH * CLASSES];
        spike_counts_in(&readout(), &spk, &mut expected).unwrap();
        let mut counts = vec![0.0f32; BATCH * CLASSES];
        run_vertex(
            "snn::PopulationCount<float>",
            &mut [
                ("counts", Buffer::output(&mut counts)),
                ("spikes", Buffer::input(&spk)),
            ],
            &sizes(),
            CHECK,
        )
        .unwrap();
        assert_bits("counts", &counts, &expected);

        let grad_counts = rng.values(BATCH * CLASSES);
        let mut expected = vec![0.0f32; spk.len()];
        spike_counts_backward_in(&readout(), &grad_counts, &mut expected).unwrap();
        let mut grad = vec![0.0f32; spk.len()];
        run_vertex(
            "snn::PopulationCountBwd<float>",
            &mut [
                ("grad_spikes", Buffer::output(&mut grad)),
                ("grad_counts", Buffer::input(&grad_counts)),
            ],
            &sizes(),
            CHECK,
        )
        .unwrap();
        assert_bits("grad_spikes", &grad, &expected);
    }
}

/// The class each row predicts, as the native runner picks it: the first
/// count larger than all before it, class 0 when none is above -inf.
fn predicted(counts: &[f32]) -> Vec<usize> {
    counts
        .chunks_exact(CLASSES)
        .map(|row| {
            let mut best = (0, f32::NEG_INFINITY);
            for (c, &v) in row.iter().enumerate() {
                if v > best.1 {
                    best = (c, v);
                }
            }
            best.0
        })
        .collect()
}

#[test]
fn count_cross_entropy_is_the_kernels_definition_in_f32() {
    for seed in 1..8 {
        let mut rng = Rng(seed * 11);
        // counts: small integers, with a ±0, NaN or infinity now and then
        let counts: Vec<f32> = (0..BATCH * CLASSES)
            .map(|_| match rng.next() % 12 {
                0 => rng.value(),
                r => (r % 9) as f32,
            })
            .collect();
        let labels: Vec<usize> = (0..BATCH)
            .map(|_| (rng.next() % CLASSES as u64) as usize)
            .collect();
        let mut expected_grad = vec![0.0f32; counts.len()];
        let expected_loss =
            ce_count_loss_in(&readout(), &counts, &labels, &mut expected_grad).unwrap();
        let one_hot: Vec<f32> = labels
            .iter()
            .flat_map(|&l| (0..CLASSES).map(move |c| if c == l { 1.0 } else { 0.0 }))
            .collect();
        let batch = ("batch", MemberValue::Float(BATCH as f32));
        let mut grad = vec![0.0f32; counts.len()];
        let (mut log_p, mut hit) = (vec![0.0f32; BATCH], vec![0.0f32; BATCH]);
        // rows [0, 2) and [2, 5), as two tiles would
        for rows in [0..2, 2..BATCH] {
            let cells = rows.start * CLASSES..rows.end * CLASSES;
            run_vertex(
                "snn::CountCrossEntropy<float>",
                &mut [
                    ("row_log_p", Buffer::output(&mut log_p[rows.clone()])),
                    ("counts", Buffer::input(&counts[cells.clone()])),
                    ("labels", Buffer::input(&one_hot[cells.clone()])),
                    ("grad_counts", Buffer::output(&mut grad[cells])),
                    ("row_hit", Buffer::output(&mut hit[rows])),
                ],
                &[("classes", unsigned(CLASSES)), batch],
                CHECK,
            )
            .unwrap();
        }
        assert_bits("grad_counts", &grad, &expected_grad);
        let (mut loss, mut correct) = ([0.0f32], [0.0f32]);
        run_vertex(
            "snn::CountLossTotal<float>",
            &mut [
                ("loss", Buffer::output(&mut loss)),
                ("correct", Buffer::output(&mut correct)),
                ("row_log_p", Buffer::input(&log_p)),
                ("row_hit", Buffer::input(&hit)),
            ],
            &[("rows", unsigned(BATCH)), batch],
            CHECK,
        )
        .unwrap();
        assert_bits("loss", &loss, &[expected_loss]);
        let right = predicted(&counts)
            .iter()
            .zip(&labels)
            .filter(|(p, l)| p == l)
            .count();
        assert_eq!(
            correct[0], right as f32,
            "seed {seed}: rows predicted right"
        );
    }
}

#[test]
fn hand_derived_cross_entropy_of_two_classes() {
    // counts (0, 0): p = 1/2 each; log p = -ln 2; label 0, B = 1:
    // dL/d count0 = -1 - (1/2)(-1) = -0.5, dL/d count1 = 0 - (1/2)(-1) = 0.5
    let counts = [0.0f32, 0.0];
    let labels = [1.0f32, 0.0];
    let (mut log_p, mut hit, mut grad) = ([0.0f32], [0.0f32], [0.0f32; 2]);
    run_vertex(
        "snn::CountCrossEntropy<float>",
        &mut [
            ("row_log_p", Buffer::output(&mut log_p)),
            ("counts", Buffer::input(&counts)),
            ("labels", Buffer::input(&labels)),
            ("grad_counts", Buffer::output(&mut grad)),
            ("row_hit", Buffer::output(&mut hit)),
        ],
        &[("classes", unsigned(2)), ("batch", MemberValue::Float(1.0))],
        CHECK,
    )
    .unwrap();
    assert_eq!(grad, [-0.5, 0.5]);
    assert!((log_p[0] + std::f32::consts::LN_2).abs() <= f32::EPSILON);
    // a tie: the first class is predicted, and it is the label
    assert_eq!(hit, [1.0]);
}
