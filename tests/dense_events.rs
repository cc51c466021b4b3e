//! The event-driven dense products (`Dense::Events`, and `Dense::Fast`
//! where it chooses them) against the defined sums (`Dense::Defined`), bit
//! for bit: binary and graded spike inputs, rows with no spike and rows
//! that are all spikes, `+0` and `-0` inputs, zero weights and `-0` biases
//! (the sign of a sum that ends at zero), and weights or gradients that
//! are not finite; on 1 to 4 threads.

use snn_ipu::native::dense::{Dense, FORWARD_CROSSOVER, WEIGHTS_CROSSOVER};

/// xorshift64.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// In [-1, 1), full binary32 mantissas.
    fn value(&mut self) -> f32 {
        ((self.next() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
    fn one_in(&mut self, n: u64) -> bool {
        self.next() % n == 0
    }
}

/// What the spikes look like.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Inputs {
    /// 0 or 1.
    Binary,
    /// Any value where active; some zeros are -0.
    Graded,
    /// 0, 1 or 0.5 (graded spikes of two sizes); some zeros are -0.
    TwoSizes,
}

/// What else is in the operands.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Extra {
    None,
    /// An infinite weight and a NaN gradient.
    NonFinite,
    /// Every bias -0, every weight and gradient negative or -0: many sums
    /// end at -0.
    NegativeZeros,
}

struct Case {
    rows: usize,
    inputs: usize,
    outputs: usize,
    x: Vec<f32>,
    w: Vec<f32>,
    b: Vec<f32>,
    dy: Vec<f32>,
}

fn case(rows: usize, inputs: usize, outputs: usize, seed: u64, kind: Inputs, extra: Extra) -> Case {
    let mut g = Rng::new(seed);
    let mut x = vec![0.0f32; rows * inputs];
    for xr in x.chunks_exact_mut(inputs.max(1)) {
        // a row with no spike, a row of spikes only, or a sparse row
        let row_kind = g.next() % 5;
        for v in xr.iter_mut() {
            let active = match kind {
                Inputs::Binary => 1.0,
                Inputs::Graded => g.value(),
                Inputs::TwoSizes => {
                    if g.one_in(2) {
                        1.0
                    } else {
                        0.5
                    }
                }
            };
            let zero = if kind != Inputs::Binary && g.one_in(7) {
                -0.0
            } else {
                0.0
            };
            *v = match row_kind {
                0 => zero,
                1 => active,
                _ if g.one_in(4) => active,
                _ => zero,
            };
        }
    }
    let mut w: Vec<f32> = (0..outputs * inputs)
        .map(|k| match k % 3 {
            0 if k % 2 == 0 => -0.0,
            0 => 0.0,
            _ => g.value(),
        })
        .collect();
    let mut b: Vec<f32> = (0..outputs)
        .map(|_| match g.next() % 3 {
            0 => -0.0,
            1 => 0.0,
            _ => g.value(),
        })
        .collect();
    let mut dy: Vec<f32> = (0..rows * outputs)
        .map(|_| if g.one_in(4) { -0.0 } else { g.value() })
        .collect();
    match extra {
        Extra::None => {}
        Extra::NonFinite => {
            if let Some(v) = w.get_mut(5 % (outputs * inputs).max(1)) {
                *v = f32::INFINITY;
            }
            if let Some(v) = dy.get_mut(3 % (rows * outputs).max(1)) {
                *v = f32::NAN;
            }
        }
        Extra::NegativeZeros => {
            b.fill(-0.0);
            for v in w.iter_mut().chain(dy.iter_mut()) {
                *v = -v.abs();
            }
        }
    }
    Case {
        rows,
        inputs,
        outputs,
        x,
        w,
        b,
        dy,
    }
}

/// The bits, every NaN as one.
fn bits(v: &[f32]) -> Vec<u32> {
    v.iter()
        .map(|f| if f.is_nan() { 0x7fc0_0000 } else { f.to_bits() })
        .collect()
}

/// `[y, dx, dw, db]` of `dense` on `c`.
fn run(dense: Dense, c: &Case) -> [Vec<u32>; 4] {
    let (rows, inputs, outputs) = (c.rows, c.inputs, c.outputs);
    let mut y = vec![7.0f32; rows * outputs];
    let scanned = dense.forward_keeping(&c.x, &c.w, &c.b, &mut y, rows, inputs, outputs);
    let mut dx = vec![7.0f32; rows * inputs];
    dense.backward_input(&c.dy, &c.w, &mut dx, rows, inputs, outputs);
    let mut dw = vec![7.0f32; outputs * inputs];
    let mut db = vec![7.0f32; outputs];
    dense.backward_weights_with(
        &c.dy,
        &c.x,
        scanned.as_ref(),
        &mut dw,
        &mut db,
        rows,
        inputs,
        outputs,
    );
    [bits(&y), bits(&dx), bits(&dw), bits(&db)]
}

fn shapes() -> Vec<(usize, usize, usize)> {
    // rows, inputs, outputs: tiny, odd, both panel widths (16 and 64
    // outputs) with partial panels, more rows than a task
    vec![
        (1, 1, 1),
        (3, 5, 7),
        (17, 33, 9),
        (70, 64, 65),
        (130, 100, 70),
        (65, 17, 130),
        (200, 150, 10),
    ]
}

#[test]
fn the_event_driven_products_give_the_defined_bits() {
    for (rows, inputs, outputs) in shapes() {
        for seed in 0..3 {
            for kind in [Inputs::Binary, Inputs::Graded, Inputs::TwoSizes] {
                for extra in [Extra::None, Extra::NonFinite, Extra::NegativeZeros] {
                    let c = case(rows, inputs, outputs, seed, kind, extra);
                    let defined = run(Dense::Defined, &c);
                    for threads in [1, 2, 3, 4] {
                        let events = run(Dense::Events { threads }, &c);
                        for (k, name) in ["y", "dx", "dw", "db"].iter().enumerate() {
                            assert!(
                                events[k] == defined[k],
                                "{name}: {rows}x{inputs}x{outputs} seed {seed} {kind:?} \
                                 {extra:?} on {threads} threads differs from the defined sums"
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn sums_that_end_at_zero_take_the_defined_sign() {
    // x = [+0, 1]: y's sum is (-0 + +0·w0) + 1·w1
    let x = [0.0f32, 1.0];
    // w1 = -0: the active product is -0, the left-out one +0·w0
    for (w0, expected_sum_sign) in [(1.0f32, false), (-1.0, true)] {
        let w = [w0, -0.0];
        let b = [-0.0f32];
        let mut y = [7.0f32];
        Dense::Events { threads: 1 }.forward(&x, &w, &b, &mut y, 1, 2, 1);
        // +0·1 = +0 makes the defined sum +0 and y = +0 + -0 = +0;
        // +0·-1 = -0 keeps it -0 and y = -0
        assert_eq!(y[0].to_bits() >> 31 == 1, expected_sum_sign, "w0 = {w0}");
        let mut y_defined = [7.0f32];
        Dense::Defined.forward(&x, &w, &b, &mut y_defined, 1, 2, 1);
        assert_eq!(y[0].to_bits(), y_defined[0].to_bits());
    }
    // dw over two rows where input 0 is never active: the defined sum is
    // dy[0]·+0 + dy[1]·+0 from -0: -0 only when both dy are negative
    let x = [0.0f32, 1.0, 0.0, 1.0];
    for (dy, negative) in [
        ([-1.0f32, -2.0], true),
        ([-1.0, 2.0], false),
        ([1.0, -0.0], false),
        ([-0.0, -0.0], true),
    ] {
        let mut dw = [7.0f32; 2];
        let mut db = [7.0f32; 1];
        Dense::Events { threads: 1 }.backward_weights(&dy, &x, &mut dw, &mut db, 2, 2, 1);
        assert_eq!(dw[0], 0.0, "{dy:?}");
        assert_eq!(dw[0].to_bits() >> 31 == 1, negative, "{dy:?}");
    }
}

#[test]
fn the_fast_products_choose_by_density_and_not_by_threads() {
    // below the crossovers Fast gives the defined bits (event-driven);
    // above them gemm's; the same on any number of threads
    let (rows, inputs, outputs) = (96, 80, 70);
    let mut g = Rng::new(11);
    let w: Vec<f32> = (0..outputs * inputs).map(|_| g.value()).collect();
    let b: Vec<f32> = (0..outputs).map(|_| g.value()).collect();
    let dy: Vec<f32> = (0..rows * outputs).map(|_| g.value()).collect();
    let sparse = WEIGHTS_CROSSOVER.min(FORWARD_CROSSOVER) / 2.0;
    for density in [sparse, 0.9] {
        let x: Vec<f32> = (0..rows * inputs)
            .map(|_| {
                if ((g.next() >> 11) as f64 / (1u64 << 53) as f64) < density {
                    1.0
                } else {
                    0.0
                }
            })
            .collect();
        let c = Case {
            rows,
            inputs,
            outputs,
            x,
            w: w.clone(),
            b: b.clone(),
            dy: dy.clone(),
        };
        let defined = run(Dense::Defined, &c);
        let gemm = run(Dense::Gemm { threads: 1 }, &c);
        let one = run(Dense::Fast { threads: 1 }, &c);
        for threads in [2, 3] {
            assert!(run(Dense::Fast { threads }, &c) == one, "{threads} threads");
        }
        if density < 0.5 {
            assert!(one[0] == defined[0], "y: event-driven below the crossover");
            assert!(one[2] == defined[2], "dw: event-driven below the crossover");
        } else {
            assert!(one[0] == gemm[0], "y: gemm above the crossover");
            assert!(one[2] == gemm[2], "dw: gemm above the crossover");
        }
        // dx is gemm's in Fast, db the defined sum in every way
        assert!(one[1] == gemm[1]);
        assert!(one[3] == defined[3]);
    }
}
