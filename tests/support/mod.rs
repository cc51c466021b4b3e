//! An `f64` model of the networks the whole-network tests run:
//!
//! ```text
//! input -> dense -> Leaky -> dense -> Synaptic (classes x population) -> ce_count_loss
//! ```
//!
//! written from the models' equations (`docs/semantics.md`, the kernels'
//! model docs), not from the runner's code: the forward pass, the loss, and
//! one backward pass through the whole chain that, depending on its number
//! type, gives the exact `f64` gradient ([`f64`]) or the *gradient
//! magnitude* ([`Magnitude`]: every adjoint and local derivative taken as
//! its absolute value, i.e. the sum over all computational paths of the
//! magnitudes of their products, the `M` of the `2 L u M` bound of
//! `reference/fixtures/README.md`), together with the first-order change of
//! the gradient that a perturbation of the forward values causes.
//!
//! Both spiking layers use the delayed reset (`reset_delay = true`) and the
//! subtract or zero mechanism; the decay rates stay inside `(0, 1)` (where
//! the clamp is the identity).
//!
//! Layout: sequences `[T][B][N]` (row `t·B + b`), dense weights
//! `[outputs][inputs]`, a neuron parameter 1 value (scalar) or `N`.

#![allow(dead_code)]

use std::f64::consts::PI;

/// The reset mechanism.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reset {
    /// `mem - r·thr`.
    Subtract,
    /// Leaky `b·((1 - r)·mem) + x`; Synaptic `base - base2·r`.
    Zero,
}

/// A surrogate gradient `S'(z)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Surrogate {
    /// `alpha/2 / (1 + (pi/2·alpha·z)²)`.
    Atan {
        /// Width.
        alpha: f64,
    },
    /// `1 / (slope·|z| + 1)²`.
    FastSigmoid {
        /// Slope.
        slope: f64,
    },
}

impl Surrogate {
    /// `S'(z)`.
    pub fn d(self, z: f64) -> f64 {
        match self {
            Surrogate::Atan { alpha } => {
                let c = PI / 2.0 * alpha * z;
                alpha / 2.0 / (1.0 + c * c)
            }
            Surrogate::FastSigmoid { slope } => {
                let d = slope * z.abs() + 1.0;
                1.0 / (d * d)
            }
        }
    }

    /// An upper bound of `|S''|` on `[z - r, z + r]`.
    pub fn d2_max(self, z: f64, r: f64) -> f64 {
        match self {
            // |S''| = c0·c1·φ(c1·|z|), φ(y) = 2y/(1 + y²)², which rises
            // up to y = 1/√3 (where it is 3√3/8) and falls after
            Surrogate::Atan { alpha } => {
                let (c0, c1) = (alpha / 2.0, PI / 2.0 * alpha);
                let phi = |y: f64| 2.0 * y / ((1.0 + y * y) * (1.0 + y * y));
                let (lo, hi) = (c1 * (z.abs() - r).max(0.0), c1 * (z.abs() + r));
                let peak = 1.0 / 3f64.sqrt();
                c0 * c1
                    * if hi < peak {
                        phi(hi)
                    } else if lo > peak {
                        phi(lo)
                    } else {
                        phi(peak)
                    }
            }
            // |S''| = 2k/(k|z| + 1)³, largest where |z| is smallest
            Surrogate::FastSigmoid { slope } => {
                let a = (z.abs() - r).max(0.0);
                2.0 * slope / (slope * a + 1.0).powi(3)
            }
        }
    }
}

/// A spiking layer's mechanism.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Neuron {
    /// Reset mechanism (the reset is delayed).
    pub reset: Reset,
    /// Surrogate.
    pub surrogate: Surrogate,
}

/// The network's shape and mechanisms.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Net {
    /// Input features.
    pub inputs: usize,
    /// Leaky neurons.
    pub hidden: usize,
    /// Classes.
    pub classes: usize,
    /// Output neurons per class.
    pub population: usize,
    /// Time steps.
    pub steps: usize,
    /// Batch rows.
    pub batch: usize,
    /// The hidden layer.
    pub leaky: Neuron,
    /// The output layer.
    pub synaptic: Neuron,
}

/// The tensors, in the project's order (`NetworkSpec::tensors` with every
/// neuron parameter learnable).
pub const W1: usize = 0;
/// `layers.0.bias`.
pub const B1: usize = 1;
/// `layers.1.beta`.
pub const L_BETA: usize = 2;
/// `layers.1.threshold`.
pub const L_THRESHOLD: usize = 3;
/// `layers.1.graded`.
pub const L_GRADED: usize = 4;
/// `layers.2.weight`.
pub const W2: usize = 5;
/// `layers.2.bias`.
pub const B2: usize = 6;
/// `layers.3.alpha`.
pub const S_ALPHA: usize = 7;
/// `layers.3.beta`.
pub const S_BETA: usize = 8;
/// `layers.3.threshold`.
pub const S_THRESHOLD: usize = 9;
/// The tensors' names.
pub const NAMES: [&str; 10] = [
    "layers.0.weight",
    "layers.0.bias",
    "layers.1.beta",
    "layers.1.threshold",
    "layers.1.graded",
    "layers.2.weight",
    "layers.2.bias",
    "layers.3.alpha",
    "layers.3.beta",
    "layers.3.threshold",
];

/// Parameter `k` for neuron `j` (scalar or per neuron).
fn at(p: &[Vec<f64>], k: usize, j: usize) -> f64 {
    let v = &p[k];
    if v.len() == 1 {
        v[0]
    } else {
        v[j]
    }
}

impl Net {
    /// Output neurons.
    pub fn outputs(&self) -> usize {
        self.classes * self.population
    }

    /// `T·B`.
    pub fn rows(&self) -> usize {
        self.steps * self.batch
    }
}

/// The forward values, every sequence `[T][B][N]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    /// Dense layer 0's output.
    pub cur1: Vec<f64>,
    /// Leaky membrane (the saved state: before the delayed reset).
    pub mem1: Vec<f64>,
    /// `z = mem - thr`.
    pub z1: Vec<f64>,
    /// `H(z)`.
    pub h1: Vec<bool>,
    /// The spike values passed on: `g·H(z)` (see [`forward`] for the
    /// tangent term).
    pub s1: Vec<f64>,
    /// Dense layer 2's output.
    pub cur2: Vec<f64>,
    /// Synaptic current.
    pub syn2: Vec<f64>,
    /// Synaptic membrane.
    pub mem2: Vec<f64>,
    /// `z = mem - thr`.
    pub z2: Vec<f64>,
    /// `H(z)`.
    pub h2: Vec<bool>,
    /// The output spike values.
    pub s2: Vec<f64>,
    /// Class counts `[B][C]`: the population first, then time.
    pub counts: Vec<f64>,
    /// `ce_count_loss` of the counts.
    pub loss: f64,
}

impl Trace {
    /// True when both layers fire at the same places (which also makes
    /// every delayed reset signal the same).
    pub fn same_spikes(&self, other: &Trace) -> bool {
        self.h1 == other.h1 && self.h2 == other.h2
    }
}

/// `y[r][o] = sum_i x[r][i]·w[o][i] + b[o]`.
fn dense(x: &[f64], w: &[f64], b: &[f64], inputs: usize) -> Vec<f64> {
    let outputs = b.len();
    let mut y = Vec::with_capacity(x.len() / inputs * outputs);
    for xr in x.chunks_exact(inputs) {
        for (wo, bo) in w.chunks_exact(inputs).zip(b) {
            y.push(xr.iter().zip(wo).map(|(a, c)| a * c).sum::<f64>() + bo);
        }
    }
    y
}

fn heaviside(z: f64) -> f64 {
    if z > 0.0 {
        1.0
    } else {
        0.0
    }
}

/// The forward pass on `input` (`[T][B][F]`), with the labels for the loss.
///
/// With `tangent = Some(base)`, every spike passed on is
/// `g·(H(z) + S'(z0)·(z - z0))`, `z0` the value of `z = mem - thr` in
/// `base` at the same place: the hard spike plus the surrogate's tangent at
/// the operating point. At the operating point this changes no value; its
/// derivative with respect to any parameter is the surrogate gradient (the
/// chain rule with `ds/dz = g·S'(z0)`; the reset `r = H(mem[t-1] - thr)` is
/// piecewise constant, as its detached gradient says). So its finite
/// differences are an oracle for the surrogate gradient wherever no `H`
/// changes ([`Trace::same_spikes`]).
pub fn forward(
    net: &Net,
    p: &[Vec<f64>],
    input: &[f64],
    labels: &[usize],
    tangent: Option<&Trace>,
) -> Trace {
    let (t_len, h_len, o_len) = (net.steps, net.hidden, net.outputs());
    let cur1 = dense(input, &p[W1], &p[B1], net.inputs);
    let n1 = net.batch * h_len;
    let len1 = t_len * n1;
    let (mut mem1, mut z1, mut h1, mut s1) = (
        vec![0.0; len1],
        vec![0.0; len1],
        vec![false; len1],
        vec![0.0; len1],
    );
    for i in 0..len1 {
        let j = i % h_len;
        let (b, thr, g) = (
            at(p, L_BETA, j).clamp(0.0, 1.0),
            at(p, L_THRESHOLD, j),
            at(p, L_GRADED, j),
        );
        let prev = if i < n1 { 0.0 } else { mem1[i - n1] };
        let r = heaviside(prev - thr);
        let mem = match net.leaky.reset {
            Reset::Subtract => b * prev + cur1[i] - r * thr,
            Reset::Zero => b * ((1.0 - r) * prev) + cur1[i],
        };
        let z = mem - thr;
        mem1[i] = mem;
        z1[i] = z;
        h1[i] = z > 0.0;
        let mut s = heaviside(z);
        if let Some(base) = tangent {
            let z0 = base.z1[i];
            s += net.leaky.surrogate.d(z0) * (z - z0);
        }
        s1[i] = g * s;
    }
    let cur2 = dense(&s1, &p[W2], &p[B2], h_len);
    let n2 = net.batch * o_len;
    let len2 = t_len * n2;
    let (mut syn2, mut mem2, mut z2, mut h2, mut s2) = (
        vec![0.0; len2],
        vec![0.0; len2],
        vec![0.0; len2],
        vec![false; len2],
        vec![0.0; len2],
    );
    for i in 0..len2 {
        let o = i % o_len;
        let (a, b, thr) = (
            at(p, S_ALPHA, o).clamp(0.0, 1.0),
            at(p, S_BETA, o).clamp(0.0, 1.0),
            at(p, S_THRESHOLD, o),
        );
        let (syn_prev, mem_prev) = if i < n2 {
            (0.0, 0.0)
        } else {
            (syn2[i - n2], mem2[i - n2])
        };
        let r = heaviside(mem_prev - thr);
        let syn = a * syn_prev + cur2[i];
        let base = b * mem_prev + syn;
        let mem = match net.synaptic.reset {
            Reset::Subtract => base - r * thr,
            Reset::Zero => base - base * r,
        };
        let z = mem - thr;
        syn2[i] = syn;
        mem2[i] = mem;
        z2[i] = z;
        h2[i] = z > 0.0;
        let mut s = heaviside(z);
        if let Some(base) = tangent {
            let z0 = base.z2[i];
            s += net.synaptic.surrogate.d(z0) * (z - z0);
        }
        s2[i] = s;
    }
    let counts = counts(net, &s2);
    let (loss, _) = ce_count_loss(net, &counts, labels);
    Trace {
        cur1,
        mem1,
        z1,
        h1,
        s1,
        cur2,
        syn2,
        mem2,
        z2,
        h2,
        s2,
        counts,
        loss,
    }
}

/// Class counts `[B][C]` of output spikes `[T][B][C·P]`.
pub fn counts(net: &Net, spikes: &[f64]) -> Vec<f64> {
    let (c_len, p_len, o_len) = (net.classes, net.population, net.outputs());
    let mut counts = vec![0.0; net.batch * c_len];
    for (i, s) in spikes.iter().enumerate() {
        let b = i / o_len % net.batch;
        counts[b * c_len + i % o_len / p_len] += s;
    }
    counts
}

/// snnTorch's `ce_count_loss`: log-softmax of each row's counts, the mean
/// negative log-likelihood of the labels; and `dL/d counts`.
pub fn ce_count_loss(net: &Net, counts: &[f64], labels: &[usize]) -> (f64, Vec<f64>) {
    let batch = net.batch as f64;
    let mut loss = 0.0;
    let mut grad = vec![0.0; counts.len()];
    for ((row, g), &label) in counts
        .chunks_exact(net.classes)
        .zip(grad.chunks_exact_mut(net.classes))
        .zip(labels)
    {
        let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = row.iter().map(|v| (v - max).exp()).sum();
        let log_sum = sum.ln();
        loss -= (row[label] - max) - log_sum;
        for (c, (v, g)) in row.iter().zip(g.iter_mut()).enumerate() {
            let p = ((v - max) - log_sum).exp();
            *g = (p - if c == label { 1.0 } else { 0.0 }) / batch;
        }
    }
    (loss / batch, grad)
}

/// The magnitudes of `dL/d counts`: `(p_c + [c = label]) / B`, the sum of
/// its two paths (the softmax term and the label term: where `p_label` is
/// near 1 they cancel in value, not in rounding error).
pub fn count_gradient_magnitudes(net: &Net, counts: &[f64], labels: &[usize]) -> Vec<Magnitude> {
    let (_, grad) = ce_count_loss(net, counts, labels);
    let batch = net.batch as f64;
    grad.iter()
        .enumerate()
        .map(|(i, g)| {
            let label = if labels[i / net.classes] == i % net.classes {
                1.0
            } else {
                0.0
            };
            // g = (p - [c = label]) / B
            let p = g * batch + label;
            Magnitude {
                m: (p + label) / batch,
                e: 0.0,
            }
        })
        .collect()
}

/// A number the backward pass runs on.
pub trait Adjoint: Copy {
    /// No gradient.
    fn zero() -> Self;
    /// This adjoint times a local derivative `d` that another computation
    /// may have evaluated up to `dd` away (from perturbed forward values).
    fn times(self, d: f64, dd: f64) -> Self;
    /// The sum of two paths' contributions.
    fn plus(self, other: Self) -> Self;
}

impl Adjoint for f64 {
    fn zero() -> Self {
        0.0
    }
    fn times(self, d: f64, _dd: f64) -> Self {
        self * d
    }
    fn plus(self, other: Self) -> Self {
        self + other
    }
}

/// A gradient's magnitude `m` (the sum over all paths of `|product|`) and
/// `e`, a first-order bound of how much the gradient changes when every
/// local derivative `d` is replaced by one at most `dd` away.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Magnitude {
    /// The magnitude.
    pub m: f64,
    /// The change from perturbed forward values.
    pub e: f64,
}

impl Adjoint for Magnitude {
    fn zero() -> Self {
        Magnitude::default()
    }
    fn times(self, d: f64, dd: f64) -> Self {
        Magnitude {
            m: self.m * d.abs(),
            e: self.e * d.abs() + self.m * dd,
        }
    }
    fn plus(self, other: Self) -> Self {
        Magnitude {
            m: self.m + other.m,
            e: self.e + other.e,
        }
    }
}

/// How far another computation's forward values may be from `trace`'s
/// (`|other - trace|` bounds, per value); all zero when both are exact.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Radii {
    /// Leaky membrane.
    pub mem1: Vec<f64>,
    /// Leaky `z`.
    pub z1: Vec<f64>,
    /// Synaptic current.
    pub syn2: Vec<f64>,
    /// Synaptic membrane.
    pub mem2: Vec<f64>,
    /// Synaptic `z`.
    pub z2: Vec<f64>,
}

fn radius(r: Option<&Vec<f64>>, i: usize) -> f64 {
    r.map_or(0.0, |v| v[i])
}

/// The backward pass through the whole network at `trace`: from
/// `dL/d counts` (`[B][C]`) to every tensor's gradient, in the order of
/// [`NAMES`]. With `A = f64` the exact gradient; with [`Magnitude`] and
/// `|dL/d counts|` the magnitudes (and, with `radii`, the effect of the
/// forward perturbations on the surrogates' values and on the states that
/// the decay rates' gradients read).
///
/// Every term is its own path, as the kernels' and snnTorch's graphs have
/// them: Synaptic's zero reset `base - base2·r` differentiates both
/// evaluations of the state update (`base` gets `g`, `base2` gets `-g·r`),
/// so where `r = 1` their contributions cancel in value but both count in
/// the magnitude.
pub fn backward<A: Adjoint>(
    net: &Net,
    p: &[Vec<f64>],
    input: &[f64],
    trace: &Trace,
    grad_counts: &[A],
    radii: Option<&Radii>,
) -> Vec<Vec<A>> {
    let (t_len, h_len, o_len, f_len) = (net.steps, net.hidden, net.outputs(), net.inputs);
    let rows = net.rows();
    let mut grads: Vec<Vec<A>> = p.iter().map(|v| vec![A::zero(); v.len()]).collect();
    let slot = |k: usize, j: usize| if p[k].len() == 1 { 0 } else { j };

    // readout: every spike of class c in row b gets dL/d count[b][c]
    let n2 = net.batch * o_len;
    let g_s2: Vec<A> = (0..t_len * n2)
        .map(|i| grad_counts[(i / o_len % net.batch) * net.classes + i % o_len / net.population])
        .collect();

    // Synaptic, backward through time per element
    let surrogate = net.synaptic.surrogate;
    let mut g_x2 = vec![A::zero(); t_len * n2];
    for e in 0..n2 {
        let o = e % o_len;
        let (a, b) = (at(p, S_ALPHA, o), at(p, S_BETA, o));
        let (ka, kb, kt) = (slot(S_ALPHA, o), slot(S_BETA, o), slot(S_THRESHOLD, o));
        let (mut carried_mem, mut carried_syn) = (A::zero(), A::zero());
        for t in (0..t_len).rev() {
            let i = t * n2 + e;
            let (z, dz) = (trace.z2[i], radius(radii.map(|r| &r.z2), i));
            let g_z = g_s2[i].times(surrogate.d(z), surrogate.d2_max(z, dz) * dz);
            grads[S_THRESHOLD][kt] = grads[S_THRESHOLD][kt].plus(g_z.times(-1.0, 0.0));
            let g_before = g_z.plus(carried_mem);
            let (r, mem_prev, dmem, syn_prev, dsyn) = if t == 0 {
                (0.0, 0.0, 0.0, 0.0, 0.0)
            } else {
                (
                    heaviside(trace.z2[i - n2]),
                    trace.mem2[i - n2],
                    radius(radii.map(|r| &r.mem2), i - n2),
                    trace.syn2[i - n2],
                    radius(radii.map(|r| &r.syn2), i - n2),
                )
            };
            // the membrane's branches: (adjoint of base, of base2)
            let branches: Vec<A> = match net.synaptic.reset {
                Reset::Subtract => {
                    grads[S_THRESHOLD][kt] = grads[S_THRESHOLD][kt].plus(g_before.times(-r, 0.0));
                    vec![g_before]
                }
                Reset::Zero => vec![g_before, g_before.times(-r, 0.0)],
            };
            // base_k = b·mem[t-1] + syn_k, syn_k = a·syn[t-1] + x; syn_1 is
            // the state, which step t+1 reads (carried_syn)
            let mut mem_prev_grad = A::zero();
            let mut syn_prev_grad = A::zero();
            let mut x_grad = A::zero();
            for (k, &g) in branches.iter().enumerate() {
                mem_prev_grad = mem_prev_grad.plus(g.times(b, 0.0));
                grads[S_BETA][kb] = grads[S_BETA][kb].plus(g.times(mem_prev, dmem));
                let g_syn = if k == 0 { g.plus(carried_syn) } else { g };
                x_grad = x_grad.plus(g_syn);
                grads[S_ALPHA][ka] = grads[S_ALPHA][ka].plus(g_syn.times(syn_prev, dsyn));
                syn_prev_grad = syn_prev_grad.plus(g_syn.times(a, 0.0));
            }
            g_x2[i] = x_grad;
            carried_mem = mem_prev_grad;
            carried_syn = syn_prev_grad;
        }
    }

    // dense layer 2
    let mut g_s1 = vec![A::zero(); rows * h_len];
    for r in 0..rows {
        for o in 0..o_len {
            let g = g_x2[r * o_len + o];
            grads[B2][o] = grads[B2][o].plus(g);
            for j in 0..h_len {
                let w = p[W2][o * h_len + j];
                let s = trace.s1[r * h_len + j];
                grads[W2][o * h_len + j] = grads[W2][o * h_len + j].plus(g.times(s, 0.0));
                g_s1[r * h_len + j] = g_s1[r * h_len + j].plus(g.times(w, 0.0));
            }
        }
    }

    // Leaky, backward through time per element
    let surrogate = net.leaky.surrogate;
    let n1 = net.batch * h_len;
    let mut g_x1 = vec![A::zero(); t_len * n1];
    for e in 0..n1 {
        let j = e % h_len;
        let (b, g) = (at(p, L_BETA, j), at(p, L_GRADED, j));
        let (kb, kt, kg) = (slot(L_BETA, j), slot(L_THRESHOLD, j), slot(L_GRADED, j));
        let mut carried = A::zero();
        for t in (0..t_len).rev() {
            let i = t * n1 + e;
            let h = if trace.h1[i] { 1.0 } else { 0.0 };
            grads[L_GRADED][kg] = grads[L_GRADED][kg].plus(g_s1[i].times(h, 0.0));
            let (z, dz) = (trace.z1[i], radius(radii.map(|r| &r.z1), i));
            let g_z = g_s1[i]
                .times(g, 0.0)
                .times(surrogate.d(z), surrogate.d2_max(z, dz) * dz);
            grads[L_THRESHOLD][kt] = grads[L_THRESHOLD][kt].plus(g_z.times(-1.0, 0.0));
            let g_base = g_z.plus(carried);
            let (r, mem_prev, dmem) = if t == 0 {
                (0.0, 0.0, 0.0)
            } else {
                (
                    heaviside(trace.z1[i - n1]),
                    trace.mem1[i - n1],
                    radius(radii.map(|r| &r.mem1), i - n1),
                )
            };
            match net.leaky.reset {
                Reset::Subtract => {
                    grads[L_THRESHOLD][kt] = grads[L_THRESHOLD][kt].plus(g_base.times(-r, 0.0));
                    grads[L_BETA][kb] = grads[L_BETA][kb].plus(g_base.times(mem_prev, dmem));
                    carried = g_base.times(b, 0.0);
                }
                Reset::Zero => {
                    let kept = 1.0 - r;
                    grads[L_BETA][kb] =
                        grads[L_BETA][kb].plus(g_base.times(kept * mem_prev, kept * dmem));
                    carried = g_base.times(b * kept, 0.0);
                }
            }
            g_x1[i] = g_base;
        }
    }

    // dense layer 0
    for r in 0..rows {
        for j in 0..h_len {
            let g = g_x1[r * h_len + j];
            grads[B1][j] = grads[B1][j].plus(g);
            for f in 0..f_len {
                let x = input[r * f_len + f];
                grads[W1][j * f_len + f] = grads[W1][j * f_len + f].plus(g.times(x, 0.0));
            }
        }
    }
    grads
}

/// Checks that binary32 arithmetic computes `trace` (the forward pass of
/// `p` on `input`) exactly, in any order of its operations: every term of
/// every sum (dense products and biases; `b·mem[t-1]`, `x`, `r·thr`,
/// `a·syn[t-1]`, `base·r`, `-thr` for `z`) is a multiple of `2^-q`, and
/// every sum's magnitude (the sum of its terms' absolute values) is below
/// `2^(24-q)`. Then every partial sum and product, grouped in any order, is
/// a multiple of `2^-q` below `2^(24-q)` in magnitude, so binary32 holds it
/// exactly: no operation rounds. Says which value fails otherwise.
pub fn exact_in_f32(
    net: &Net,
    p: &[Vec<f64>],
    input: &[f64],
    trace: &Trace,
    q: i32,
) -> Result<(), String> {
    let scale = 2f64.powi(q);
    let cap = 2f64.powi(24 - q);
    let check = |what: &str, i: usize, terms: &[f64]| -> Result<(), String> {
        if let Some(t) = terms.iter().find(|t| (*t * scale).fract() != 0.0) {
            return Err(format!(
                "{what} [{i}]: the term {t} is not a multiple of 2^-{q}"
            ));
        }
        let magnitude: f64 = terms.iter().map(|t| t.abs()).sum();
        if magnitude >= cap {
            return Err(format!(
                "{what} [{i}]: magnitude {magnitude} is not below 2^{}",
                24 - q
            ));
        }
        Ok(())
    };
    let (h_len, o_len, f_len) = (net.hidden, net.outputs(), net.inputs);
    for (r, xr) in input.chunks_exact(f_len).enumerate() {
        for j in 0..h_len {
            let mut terms: Vec<f64> = (0..f_len).map(|f| p[W1][j * f_len + f] * xr[f]).collect();
            terms.push(p[B1][j]);
            check("layer 0", r * h_len + j, &terms)?;
        }
    }
    let n1 = net.batch * h_len;
    for i in 0..trace.mem1.len() {
        let j = i % h_len;
        let (b, thr) = (at(p, L_BETA, j), at(p, L_THRESHOLD, j));
        let prev = if i < n1 { 0.0 } else { trace.mem1[i - n1] };
        let r = heaviside(prev - thr);
        match net.leaky.reset {
            Reset::Subtract => check("leaky mem", i, &[b * prev, trace.cur1[i], -r * thr])?,
            Reset::Zero => check("leaky mem", i, &[b * ((1.0 - r) * prev), trace.cur1[i]])?,
        }
        check("leaky z", i, &[trace.mem1[i], -thr])?;
        check("leaky spike", i, &[trace.s1[i]])?;
    }
    for r in 0..net.rows() {
        for o in 0..o_len {
            let mut terms: Vec<f64> = (0..h_len)
                .map(|j| p[W2][o * h_len + j] * trace.s1[r * h_len + j])
                .collect();
            terms.push(p[B2][o]);
            check("layer 2", r * o_len + o, &terms)?;
        }
    }
    let n2 = net.batch * o_len;
    for i in 0..trace.mem2.len() {
        let o = i % o_len;
        let (a, b, thr) = (at(p, S_ALPHA, o), at(p, S_BETA, o), at(p, S_THRESHOLD, o));
        let (syn_prev, mem_prev) = if i < n2 {
            (0.0, 0.0)
        } else {
            (trace.syn2[i - n2], trace.mem2[i - n2])
        };
        let r = heaviside(mem_prev - thr);
        check("synaptic syn", i, &[a * syn_prev, trace.cur2[i]])?;
        let base = b * mem_prev + trace.syn2[i];
        check("synaptic base", i, &[b * mem_prev, trace.syn2[i]])?;
        match net.synaptic.reset {
            Reset::Subtract => check("synaptic mem", i, &[b * mem_prev, trace.syn2[i], -r * thr])?,
            Reset::Zero => check("synaptic mem", i, &[base, -base * r])?,
        }
        check("synaptic z", i, &[trace.mem2[i], -thr])?;
    }
    Ok(())
}

/// The longest chain of binary32 roundings from the loss to a gradient
/// value of tensor `k` (the `L` of `L u M`), for a backward pass whose
/// loss part makes `loss_ops` roundings:
///
/// - Synaptic's and Leaky's reverse sweeps: at most 32 operations per step
///   each (the kernels' per-step figure, `reference/fixtures/README.md`: a
///   surrogate evaluation, the state updates, the reset terms);
/// - dense layer 2's input gradient: a sum over the `O` outputs, and its
///   product;
/// - the final sum of the tensor's gradient: `T·B` rows for a dense weight
///   or bias; `T + B` for a per-neuron parameter (over the steps, then the
///   rows); `T + B·N` for a scalar one (over the steps, then every row and
///   neuron).
///
/// Each of these is a chain of at most that many roundings whatever the
/// order of the sums, so every path's product is computed with a relative
/// error of at most `L u` (to first order) and the value with an error of at
/// most `L u M`.
pub fn chain_length(net: &Net, p: &[Vec<f64>], k: usize, loss_ops: usize) -> f64 {
    let (t, b) = (net.steps, net.batch);
    let reduction = |n: usize, per_neuron: bool| if per_neuron { t + b } else { t + b * n };
    let synaptic = loss_ops + 32 * t;
    let leaky = synaptic + net.outputs() + 1 + 32 * t;
    (match k {
        W2 | B2 => synaptic + t * b,
        S_ALPHA | S_BETA | S_THRESHOLD => synaptic + reduction(net.outputs(), p[k].len() > 1),
        W1 | B1 => leaky + t * b,
        _ => leaky + reduction(net.hidden, p[k].len() > 1),
    }) as f64
}

/// The project's description of `net` with parameter values `p` (every
/// neuron parameter learnable; per neuron where `p` has one per neuron).
pub fn spec(net: &Net, p: &[Vec<f64>]) -> snn_ipu::network::NetworkSpec {
    use snn_ipu::network::{
        LayerSpec, ModelKind, NetworkSpec, NeuronParam, NeuronSpec, Precision, Recurrence,
        ResetKind, SurrogateKind,
    };
    let neuron = |model: ModelKind, n: &Neuron, ks: [usize; 3], names: [&str; 3]| NeuronSpec {
        model,
        reset: match n.reset {
            Reset::Subtract => ResetKind::Subtract,
            Reset::Zero => ResetKind::Zero,
        },
        reset_delay: true,
        recurrence: Recurrence::None,
        params: ks
            .iter()
            .zip(names)
            .map(|(&k, name)| NeuronParam {
                name: name.to_string(),
                value: p[k][0],
                per_neuron: p[k].len() > 1,
                learn: true,
            })
            .collect(),
        surrogate: match n.surrogate {
            Surrogate::Atan { alpha } => SurrogateKind::Atan { alpha },
            Surrogate::FastSigmoid { slope } => SurrogateKind::FastSigmoid { slope },
        },
    };
    NetworkSpec {
        inputs: net.inputs,
        layers: vec![
            LayerSpec::Dense {
                inputs: net.inputs,
                outputs: net.hidden,
            },
            LayerSpec::Spiking {
                neurons: net.hidden,
                neuron: neuron(
                    ModelKind::Leaky,
                    &net.leaky,
                    [L_BETA, L_THRESHOLD, L_GRADED],
                    ["beta", "threshold", "graded"],
                ),
            },
            LayerSpec::Dense {
                inputs: net.hidden,
                outputs: net.outputs(),
            },
            LayerSpec::Spiking {
                neurons: net.outputs(),
                neuron: neuron(
                    ModelKind::Synaptic,
                    &net.synaptic,
                    [S_ALPHA, S_BETA, S_THRESHOLD],
                    ["alpha", "beta", "threshold"],
                ),
            },
        ],
        classes: net.classes,
        population: net.population,
        precision: Precision::F32,
    }
}

/// `p` as the runner's values (each value must be a binary32 value).
pub fn values(spec: &snn_ipu::network::NetworkSpec, p: &[Vec<f64>]) -> snn_ipu::params::Values {
    let mut values = snn_ipu::params::Values::init(spec, 0);
    let names: Vec<&str> = values.specs.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, NAMES, "the runner's tensors");
    for (tensor, source) in values.tensors.iter_mut().zip(p) {
        assert_eq!(tensor.len(), source.len());
        for (v, &s) in tensor.iter_mut().zip(source) {
            *v = s as f32;
            assert_eq!(f64::from(*v), s, "a parameter that binary32 does not hold");
        }
    }
    values
}
