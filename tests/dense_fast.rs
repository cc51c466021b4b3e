//! The fast dense layer (`gemm`) against the defined one: every output
//! within the bound of a floating-point dot product, and the same bits on
//! any number of threads.

use snn_ipu::native::dense::Dense;

/// A deterministic pattern in [-1, 1) with full binary32 mantissas.
fn pattern(len: usize, seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

const U: f64 = f32::EPSILON as f64 / 2.0;

/// `|fast - exact| <= gamma(k+2) * (sum |terms| + |bias|)` for a sum of `k`
/// products and a bias in any order and any mix of fused and separate
/// multiply-adds (Higham, Accuracy and Stability of Numerical Algorithms,
/// 3.1): `gamma(n) = n u / (1 - n u)`; exact is the f64 value.
fn check_close(fast: &[f32], exact: &[f64], magnitude: &[f64], k: usize, what: &str) {
    let n = (k + 2) as f64;
    let gamma = n * U / (1.0 - n * U);
    for (i, ((&f, &e), &m)) in fast.iter().zip(exact).zip(magnitude).enumerate() {
        let diff = (f64::from(f) - e).abs();
        assert!(
            diff <= gamma * m,
            "{what}[{i}]: fast {f:e}, exact {e:e}, difference {diff:e} above gamma {gamma:e} x {m:e}"
        );
    }
}

fn shapes() -> Vec<(usize, usize, usize)> {
    // rows, inputs, outputs: tiny, odd, and MNIST-like
    vec![
        (1, 1, 1),
        (3, 5, 7),
        (17, 33, 9),
        (64, 64, 256),
        (250, 784, 100),
    ]
}

#[test]
fn the_fast_products_are_within_the_dot_product_bound_of_the_exact_ones() {
    for (rows, inputs, outputs) in shapes() {
        let x = pattern(rows * inputs, 1);
        let w = pattern(outputs * inputs, 2);
        let b = pattern(outputs, 3);
        let dy = pattern(rows * outputs, 4);
        let fast = Dense::Gemm { threads: 2 };

        let mut y = vec![0.0f32; rows * outputs];
        fast.forward(&x, &w, &b, &mut y, rows, inputs, outputs);
        let (mut exact, mut mag) = (vec![0.0; y.len()], vec![0.0; y.len()]);
        for r in 0..rows {
            for o in 0..outputs {
                let terms = (0..inputs)
                    .map(|i| f64::from(x[r * inputs + i]) * f64::from(w[o * inputs + i]));
                exact[r * outputs + o] = terms.clone().sum::<f64>() + f64::from(b[o]);
                mag[r * outputs + o] = terms.map(f64::abs).sum::<f64>() + f64::from(b[o]).abs();
            }
        }
        check_close(&y, &exact, &mag, inputs, "y");

        let mut dx = vec![0.0f32; rows * inputs];
        fast.backward_input(&dy, &w, &mut dx, rows, inputs, outputs);
        let (mut exact, mut mag) = (vec![0.0; dx.len()], vec![0.0; dx.len()]);
        for r in 0..rows {
            for i in 0..inputs {
                let terms = (0..outputs)
                    .map(|o| f64::from(dy[r * outputs + o]) * f64::from(w[o * inputs + i]));
                exact[r * inputs + i] = terms.clone().sum();
                mag[r * inputs + i] = terms.map(f64::abs).sum();
            }
        }
        check_close(&dx, &exact, &mag, outputs, "dx");

        let mut dw = vec![7.0f32; outputs * inputs];
        let mut db = vec![7.0f32; outputs];
        fast.backward_weights(&dy, &x, &mut dw, &mut db, rows, inputs, outputs);
        let (mut exact, mut mag) = (vec![0.0; dw.len()], vec![0.0; dw.len()]);
        for o in 0..outputs {
            for i in 0..inputs {
                let terms = (0..rows)
                    .map(|r| f64::from(dy[r * outputs + o]) * f64::from(x[r * inputs + i]));
                exact[o * inputs + i] = terms.clone().sum();
                mag[o * inputs + i] = terms.map(f64::abs).sum();
            }
        }
        check_close(&dw, &exact, &mag, rows, "dw (overwritten, not added to)");
        // db is a sequential sum over rows, as the defined path sums it
        let mut db_defined = vec![0.0f32; outputs];
        let mut dw_defined = vec![0.0f32; outputs * inputs];
        Dense::Defined.backward_weights(
            &dy,
            &x,
            &mut dw_defined,
            &mut db_defined,
            rows,
            inputs,
            outputs,
        );
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&db), bits(&db_defined), "db {rows}x{inputs}x{outputs}");
    }
}

#[test]
fn the_fast_products_give_the_same_bits_on_any_number_of_threads() {
    for (rows, inputs, outputs) in shapes()
        .into_iter()
        .chain([(3200, 78, 100), (128, 1000, 10)])
    {
        let x = pattern(rows * inputs, 5);
        let w = pattern(outputs * inputs, 6);
        let b = pattern(outputs, 7);
        let dy = pattern(rows * outputs, 8);
        let run = |threads: usize| {
            let d = Dense::Gemm { threads };
            let mut y = vec![0.0f32; rows * outputs];
            d.forward(&x, &w, &b, &mut y, rows, inputs, outputs);
            let mut dx = vec![0.0f32; rows * inputs];
            d.backward_input(&dy, &w, &mut dx, rows, inputs, outputs);
            let mut dw = vec![0.0f32; outputs * inputs];
            let mut db = vec![0.0f32; outputs];
            d.backward_weights(&dy, &x, &mut dw, &mut db, rows, inputs, outputs);
            [y, dx, dw, db].map(|v| v.iter().map(|f| f.to_bits()).collect::<Vec<u32>>())
        };
        let one = run(1);
        for threads in [2, 3, 4, 7] {
            assert!(
                run(threads) == one,
                "{rows}x{inputs}x{outputs}: {threads} threads differ from 1"
            );
        }
    }
}
