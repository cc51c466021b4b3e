//! The whole network's gradients against finite differences.
//!
//! A small network, `input (10) -> dense -> Leaky (12) -> dense -> Synaptic
//! (3 classes x 2) -> ce_count_loss`, every neuron parameter learnable
//! (Leaky `beta` per neuron, Synaptic `threshold` per neuron, the others
//! scalar), `T = 10`, `B = 4`, with the subtract and with the zero reset. The
//! runner (`Native::step`, f32) gives every tensor's gradient; the test
//! compares each value with central finite differences in `f64`.
//!
//! # Why finite differences are a valid oracle here
//!
//! The loss reads the network only through spike counts, and the spikes are
//! hard: as a function of the weights the loss is piecewise *constant*, so
//! its finite differences are 0 wherever no spike flips, and the surrogate
//! gradient is not its derivative anywhere. The surrogate gradient is
//! instead the exact derivative of another function: the network in which
//! every spike passed on is `g·(H(z) + S'(z0)·(z - z0))`, the hard spike
//! plus the surrogate's tangent at the operating point `z0` (`z = mem - thr`;
//! `support::forward` with a tangent). At the operating point that network
//! has exactly the runner's values; its derivative is what backpropagation
//! with `ds/dz := g·S'(z)` computes (the chain rule through every dense
//! layer, state update, readout and the loss); and its delayed reset
//! `r = H(mem[t-1] - thr)` and hard spikes are constant as long as no `H`
//! flips, which matches the reset's detached gradient. So: `F(θ ± h)` is
//! evaluated in `f64` with the spikes recomputed (nothing frozen), each
//! perturbation's spike trains of both layers are compared with the
//! operating point's, and a parameter is compared only when none flipped
//! (otherwise smaller steps are tried; the operating point has no membrane
//! exactly on a threshold, where any step would flip a spike). The loss
//! change of a perturbation is taken in difference form (`delta_loss`, which
//! is checked against the plain difference of the two losses), so that the
//! `f64` rounding of the loss does not swamp it. What this checks is the composition
//! — dense layers, the conversion between layers, both reverse sweeps
//! through time, the readout, the loss, the order of the chain; what it
//! takes as given is the surrogate's formula `S'` (the kernels' tests check
//! it against snnTorch).
//!
//! # The bound
//!
//! The operating point is chosen so that the runner's f32 forward pass is
//! *exact*: dyadic weights (multiples of `2^-6`), 0/1 input spikes, decay
//! rates 1/2, dyadic thresholds and graded factor. `support::exact_in_f32`
//! proves it (every term of every sum a multiple of `2^-17`, every sum's
//! magnitude below `2^7`: no partial sum in any order rounds), so the
//! runner's spikes, membranes and surrogate arguments are the `f64` ones.
//! Then only the backward pass rounds, and the repository's argument
//! (`reference/fixtures/README.md`) bounds it: with `M` the gradient
//! magnitude (the same backward pass on absolute values, `support::backward`
//! with `Magnitude`) and `L` the longest chain of roundings
//! (`support::chain_length`: 32 per step per spiking layer, the sums of the
//! dense layers and of the parameter reductions, one rounding of the count
//! gradient), `|runner - exact| <= L u M` to first order (`u = 2^-24`; one
//! computation against the exact value, so `L u M`, not `2 L u M`). The
//! oracle's own error `E_fd` (the spread of Richardson extrapolations from
//! two step sizes, see `finite_difference`) is added to the bound.
//!
//! The `f64` backward pass that gives `M` is itself checked against the
//! finite differences (within `E_fd + 4 L eps64 M`), so the paths it sums
//! are the function's.
//!
//! Measured: all 232 values of each network compared (none skipped), about
//! a third equal to the exact gradient rounded to f32; the largest
//! difference 3.5 `u M` against bounds `L` of 335 to 706 (below 1 % of the
//! bound); `E_fd` below `10^-3 u M`.

mod support;

use snn_ipu::native::{Batch, Loss, Native};
use support::{Net, Neuron, Reset, Surrogate, Trace, NAMES};

/// The unit roundoff of binary32.
const U: f64 = 1.0 / (1u64 << 24) as f64;

/// Fractional bits of every forward value (`support::exact_in_f32`).
const GRID: i32 = 17;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A whole number in `lo..=hi`.
    fn int(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

struct Case {
    net: Net,
    params: Vec<Vec<f64>>,
    input: Vec<f64>,
    labels: Vec<usize>,
}

/// The network, dyadic parameters, 0/1 input spikes (rate 0.4) and labels.
fn case(reset: Reset, seed: u64) -> Case {
    let net = Net {
        inputs: 10,
        hidden: 12,
        classes: 3,
        population: 2,
        steps: 10,
        batch: 4,
        leaky: Neuron {
            reset,
            surrogate: Surrogate::Atan { alpha: 2.0 },
        },
        synaptic: Neuron {
            reset,
            surrogate: Surrogate::FastSigmoid { slope: 25.0 },
        },
    };
    let mut rng = Rng(seed);
    let mut dyadic = |n: usize, lo: i64, hi: i64| -> Vec<f64> {
        (0..n).map(|_| rng.int(lo, hi) as f64 / 64.0).collect()
    };
    let (f, h, o) = (net.inputs, net.hidden, net.outputs());
    let w1 = dyadic(h * f, -24, 48);
    let b1 = dyadic(h, -8, 8);
    let w2 = dyadic(o * h, -40, 56);
    let b2 = dyadic(o, -8, 8);
    let s_threshold = (0..o).map(|k| [1.0, 0.75, 1.25, 0.875][k % 4]).collect();
    let params = vec![
        w1,
        b1,
        vec![0.5; h],
        vec![1.0],
        vec![1.5],
        w2,
        b2,
        vec![0.5],
        vec![0.5],
        s_threshold,
    ];
    let input = (0..net.rows() * f)
        .map(|_| if rng.unit() < 0.4 { 1.0 } else { 0.0 })
        .collect();
    let labels = (0..net.batch)
        .map(|_| rng.int(0, net.classes as i64 - 1) as usize)
        .collect();
    Case {
        net,
        params,
        input,
        labels,
    }
}

/// `F(p + dp) - F(p)` for the tangent network at `base` (the operating
/// point `p`), computed in difference form so that its rounding error is
/// relative to the difference, not to the loss: with the spikes of `p + dp`
/// the same as `base`'s (the caller checks), every `H` and reset signal is
/// `base`'s, and each value's change follows from the changes of what it
/// reads (`d(a·b) = da·b + a·db + da·db`); the spikes change by
/// `g'·(H + S'(z0)·dz) - g·H`, the counts by the sum of those, and the loss
/// by `(1/B) sum_b (-dc[label] + ln1p(sum_c p_c·expm1(dc_c)))`, `p` the
/// softmax of `base`'s counts (`ce(c + dc) - ce(c)` rearranged).
fn delta_loss(c: &Case, base: &Trace, dp: &[Vec<f64>]) -> f64 {
    use support::{B1, B2, L_BETA, L_GRADED, L_THRESHOLD, S_ALPHA, S_BETA, S_THRESHOLD, W1, W2};
    let (net, p) = (&c.net, &c.params);
    let at = |v: &Vec<f64>, j: usize| if v.len() == 1 { v[0] } else { v[j] };
    let (f_len, h_len, o_len) = (net.inputs, net.hidden, net.outputs());
    let rows = net.rows();
    let heaviside = |z: f64| if z > 0.0 { 1.0 } else { 0.0 };
    let mut d_cur1 = vec![0.0; rows * h_len];
    for r in 0..rows {
        for j in 0..h_len {
            d_cur1[r * h_len + j] = (0..f_len)
                .map(|f| dp[W1][j * f_len + f] * c.input[r * f_len + f])
                .sum::<f64>()
                + dp[B1][j];
        }
    }
    let n1 = net.batch * h_len;
    let mut d_mem1 = vec![0.0; d_cur1.len()];
    let mut d_s1 = vec![0.0; d_cur1.len()];
    for i in 0..d_cur1.len() {
        let j = i % h_len;
        let (b, db) = (at(&p[L_BETA], j), at(&dp[L_BETA], j));
        let (g, dg) = (at(&p[L_GRADED], j), at(&dp[L_GRADED], j));
        let d_thr = at(&dp[L_THRESHOLD], j);
        let (prev, d_prev, r) = if i < n1 {
            (0.0, 0.0, 0.0)
        } else {
            (
                base.mem1[i - n1],
                d_mem1[i - n1],
                heaviside(base.z1[i - n1]),
            )
        };
        let d_decay = b * d_prev + db * prev + db * d_prev;
        d_mem1[i] = match net.leaky.reset {
            Reset::Subtract => d_decay + d_cur1[i] - r * d_thr,
            Reset::Zero => (1.0 - r) * d_decay + d_cur1[i],
        };
        let dz = d_mem1[i] - d_thr;
        let tangent = net.leaky.surrogate.d(base.z1[i]) * dz;
        let h = if base.h1[i] { 1.0 } else { 0.0 };
        d_s1[i] = dg * (h + tangent) + g * tangent;
    }
    let mut d_cur2 = vec![0.0; rows * o_len];
    for r in 0..rows {
        for o in 0..o_len {
            d_cur2[r * o_len + o] = (0..h_len)
                .map(|j| {
                    let k = r * h_len + j;
                    let w = o * h_len + j;
                    dp[W2][w] * (base.s1[k] + d_s1[k]) + p[W2][w] * d_s1[k]
                })
                .sum::<f64>()
                + dp[B2][o];
        }
    }
    let n2 = net.batch * o_len;
    let (mut d_syn2, mut d_mem2) = (vec![0.0; d_cur2.len()], vec![0.0; d_cur2.len()]);
    let mut d_counts = vec![0.0; net.batch * net.classes];
    for i in 0..d_cur2.len() {
        let o = i % o_len;
        let (a, da) = (at(&p[S_ALPHA], o), at(&dp[S_ALPHA], o));
        let (b, db) = (at(&p[S_BETA], o), at(&dp[S_BETA], o));
        let d_thr = at(&dp[S_THRESHOLD], o);
        let (syn, d_syn, mem, d_mem, r) = if i < n2 {
            (0.0, 0.0, 0.0, 0.0, 0.0)
        } else {
            (
                base.syn2[i - n2],
                d_syn2[i - n2],
                base.mem2[i - n2],
                d_mem2[i - n2],
                heaviside(base.z2[i - n2]),
            )
        };
        d_syn2[i] = a * d_syn + da * syn + da * d_syn + d_cur2[i];
        let d_base = b * d_mem + db * mem + db * d_mem + d_syn2[i];
        d_mem2[i] = match net.synaptic.reset {
            Reset::Subtract => d_base - r * d_thr,
            Reset::Zero => (1.0 - r) * d_base,
        };
        let dz = d_mem2[i] - d_thr;
        let row = i / o_len % net.batch;
        d_counts[row * net.classes + o / net.population] +=
            net.synaptic.surrogate.d(base.z2[i]) * dz;
    }
    let mut total = 0.0;
    for ((counts, dc), &label) in base
        .counts
        .chunks_exact(net.classes)
        .zip(d_counts.chunks_exact(net.classes))
        .zip(&c.labels)
    {
        let max = counts.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let weights: Vec<f64> = counts.iter().map(|v| (v - max).exp()).collect();
        let sum: f64 = weights.iter().sum();
        let mixed: f64 = weights
            .iter()
            .zip(dc)
            .map(|(w, d)| w / sum * d.exp_m1())
            .sum();
        total += -dc[label] + mixed.ln_1p();
    }
    total / net.batch as f64
}

/// Central differences of the tangent network's loss in parameter `(k, j)`,
/// extrapolated: `(value, error estimate, h)`, or `None` when a spike
/// flips at every step size tried.
///
/// Each perturbation runs the whole forward pass (`support::forward`, the
/// spikes recomputed) and is used only when both layers' spike trains equal
/// the operating point's; the loss change is then taken from
/// [`delta_loss`] (checked against the difference of the two losses) so
/// that `f64` rounding does not swamp it. With `D(s)` the central difference
/// at step `s` (`D(s) = F' + c2 s² + c4 s⁴ + ...`), two Richardson steps on
/// `D(h), D(h/2), D(h/4)` cancel the `s²` and `s⁴` terms:
/// `R = (64 D(h/4) - 20 D(h/2) + D(h)) / 45`. The error estimate is the
/// spread of `R`, the once extrapolated `(4 D(h/4) - D(h/2)) / 3` and `R`
/// from the step `17h/16`.
fn finite_difference(c: &Case, base: &Trace, k: usize, j: usize) -> Option<(f64, f64, f64)> {
    let difference = |step: f64| -> Option<f64> {
        let mut change = [0.0; 2];
        for (sign, d) in [1.0, -1.0].into_iter().zip(change.iter_mut()) {
            let mut dp: Vec<Vec<f64>> = c.params.iter().map(|v| vec![0.0; v.len()]).collect();
            dp[k][j] = sign * step;
            let mut p = c.params.clone();
            p[k][j] += dp[k][j];
            let t = support::forward(&c.net, &p, &c.input, &c.labels, Some(base));
            if !t.same_spikes(base) {
                return None;
            }
            *d = delta_loss(c, base, &dp);
            let direct = t.loss - base.loss;
            assert!(
                (*d - direct).abs() <= 1e-12 * base.loss.abs().max(1.0),
                "the difference form gives {d:e}, the two losses differ by {direct:e}"
            );
        }
        Some((change[0] - change[1]) / (2.0 * step))
    };
    let extrapolate = |h: f64| -> Option<(f64, f64)> {
        let d = [difference(h)?, difference(h / 2.0)?, difference(h / 4.0)?];
        Some((
            (64.0 * d[2] - 20.0 * d[1] + d[0]) / 45.0,
            (4.0 * d[2] - d[1]) / 3.0,
        ))
    };
    let mut h = (1.0f64 / 128.0) * c.params[k][j].abs().max(1.0);
    for _ in 0..4 {
        if let (Some((r, once)), Some((r_other, _))) =
            (extrapolate(h), extrapolate(h * 17.0 / 16.0))
        {
            return Some((r, (r - once).abs().max((r - r_other).abs()), h));
        }
        h /= 16.0;
    }
    None
}

#[derive(Default)]
struct Tally {
    compared: usize,
    skipped: usize,
    exact: usize,
    worst: f64,
    worst_fd: f64,
    worst_f64: f64,
    fraction: f64,
}

/// The first case from `seed` on where both layers fire at a rate between 5
/// and 60 % and no membrane sits exactly on a threshold (on the dyadic
/// grid that happens; there `H(0) = 0` flips under any perturbation that
/// raises the membrane, so no finite difference of a threshold exists).
fn operating_point(reset: Reset, seed: u64) -> (Case, Trace) {
    for s in seed..seed + 100 {
        let c = case(reset, s);
        let base = support::forward(&c.net, &c.params, &c.input, &c.labels, None);
        let rate = |h: &[bool]| h.iter().filter(|&&s| s).count() as f64 / h.len() as f64;
        let (rate1, rate2) = (rate(&base.h1), rate(&base.h2));
        let active = (0.05..0.6).contains(&rate1) && (0.05..0.6).contains(&rate2);
        if active && base.z1.iter().chain(&base.z2).all(|&z| z != 0.0) {
            println!(
                "{reset:?}: seed {s}, firing rates {rate1:.3} (Leaky), {rate2:.3} (Synaptic), \
                 loss {:.6}",
                base.loss
            );
            return (c, base);
        }
    }
    panic!("no operating point where both layers fire (neither saturating) and no membrane sits exactly at a threshold");
}

fn check(reset: Reset, seed: u64) {
    let (c, base) = operating_point(reset, seed);
    let net = &c.net;
    support::exact_in_f32(net, &c.params, &c.input, &base, GRID)
        .unwrap_or_else(|e| panic!("the operating point is not exact in binary32: {e}"));
    // the runner
    let spec = support::spec(net, &c.params);
    let native = Native::new(&spec).expect("a valid network");
    let values = support::values(&spec, &c.params);
    let inputs: Vec<f32> = c.input.iter().map(|&x| x as f32).collect();
    let batch = Batch {
        inputs: &inputs,
        labels: &c.labels,
        steps: net.steps,
        seed: 0,
    };
    let (prediction, grads) = native
        .step(&values, &batch, Loss::CeCount, 1.0)
        .expect("a training step");
    assert!(!grads.overflow);
    // the same forward values: the counts exactly, the loss up to the two
    // f64 log-softmax implementations (a few f64 roundings)
    assert_eq!(prediction.counts, base.counts, "the runner's class counts");
    assert!(
        (prediction.loss - base.loss).abs() <= 1e-13 * base.loss.abs().max(1.0),
        "loss {} against {}",
        prediction.loss,
        base.loss
    );

    let (_, grad_counts) = support::ce_count_loss(net, &base.counts, &c.labels);
    let magnitude_source = support::count_gradient_magnitudes(net, &base.counts, &c.labels);
    let magnitudes = support::backward(net, &c.params, &c.input, &base, &magnitude_source, None);
    let exact = support::backward(net, &c.params, &c.input, &base, &grad_counts, None);

    let mut total = Tally::default();
    for (k, name) in NAMES.iter().enumerate() {
        let l = support::chain_length(net, &c.params, k, 1);
        let mut tally = Tally::default();
        for j in 0..c.params[k].len() {
            let Some((oracle, e_fd, h)) = finite_difference(&c, &base, k, j) else {
                tally.skipped += 1;
                continue;
            };
            let runner = f64::from(grads.tensors[k][j]);
            let m = magnitudes[k][j].m;
            let g64 = exact[k][j];
            // the f64 backward pass (the paths M sums) against the oracle
            let f64_bound = e_fd + 4.0 * l * f64::EPSILON * m;
            assert!(
                (g64 - oracle).abs() <= f64_bound,
                "{name}[{j}]: the f64 backward pass gives {g64:e}, finite differences {oracle:e} \
                 (h = {h:e}, error estimate {e_fd:e})"
            );
            let bound = l * U * m + e_fd;
            let diff = (runner - oracle).abs();
            assert!(
                diff <= bound,
                "{name}[{j}]: runner {runner:e}, finite differences {oracle:e}: difference \
                 {diff:e} above L u M + E_fd = {bound:e} (L = {l}, M = {m:e}, E_fd = {e_fd:e})"
            );
            tally.fraction = tally
                .fraction
                .max(if bound > 0.0 { diff / bound } else { 0.0 });
            tally.compared += 1;
            tally.exact += usize::from(runner as f32 == g64 as f32);
            if m > 0.0 {
                tally.worst = tally.worst.max(diff / (U * m));
                tally.worst_fd = tally.worst_fd.max(e_fd / (U * m));
                tally.worst_f64 = tally.worst_f64.max((g64 - oracle).abs() / (U * m));
            }
        }
        println!(
            "  {name:<20} {:>3} compared, {} skipped (a spike flips), {:>3} equal to the f64 \
             gradient rounded to f32; largest |runner - fd| = {:.3} u M (bound {l} u M), \
             E_fd <= {:.2e} u M, |f64 backward - fd| <= {:.2e} u M",
            tally.compared,
            tally.skipped,
            tally.exact,
            tally.worst,
            tally.worst_fd,
            tally.worst_f64
        );
        total.compared += tally.compared;
        total.skipped += tally.skipped;
        total.exact += tally.exact;
        total.worst = total.worst.max(tally.worst);
        total.fraction = total.fraction.max(tally.fraction);
    }
    println!(
        "  all: {} compared, {} skipped, {} equal to the rounded f64 gradient, largest {:.3} u M, \
         at most {:.4} of the bound",
        total.compared, total.skipped, total.exact, total.worst, total.fraction
    );
    let values_total: usize = c.params.iter().map(Vec::len).sum();
    assert_eq!(total.compared + total.skipped, values_total);
    assert!(
        total.skipped * 20 <= values_total,
        "{} of {values_total} parameters skipped: too many flips for an informative test",
        total.skipped
    );
}

#[test]
fn gradients_match_finite_differences_with_the_subtract_reset() {
    check(Reset::Subtract, 1);
}

#[test]
fn gradients_match_finite_differences_with_the_zero_reset() {
    check(Reset::Zero, 2);
}
