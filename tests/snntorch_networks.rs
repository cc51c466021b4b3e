//! Whole networks against snnTorch 1.0: `tests/fixtures/networks/`
//! (`generate.py` and `README.md` there) holds what snnTorch computes for
//! three networks `input -> nn.Linear -> Leaky -> nn.Linear -> Synaptic
//! (classes x population)` with `ce_count_loss(population_code=True)`: the
//! weights (PyTorch's default initialisation, doubled), the rate-coded
//! input spikes, every layer's forward values, the class counts, the loss
//! and every parameter's gradient. The runner gets the same weights (into
//! `Values`) and the same input spikes (its own encoder bypassed).
//!
//! # What is compared, and the bounds
//!
//! `u = 2^-24`. Every bound is first order; `M` values are magnitudes (the
//! computation on absolute values, from the runner's forward values).
//!
//! - **Dense outputs.** PyTorch's `nn.Linear` is `addmm` (its own blocking
//!   and summation order, fused or not); the forward values here come from
//!   the runner's defined order (`dense::forward`), the gradients from the
//!   training runner, whose dense layers are `gemm` (blocked, fused
//!   multiply-adds). Each sums `k` products and a bias, a chain of at
//!   most `k + 1` roundings per term, so each is within `(k + 1) u M` of
//!   the exact value (`M = sum |w x| + |b|`) and they differ by at most
//!   `2 (k + 1) u M`.
//! - **Membranes and currents.** Both run the same state updates on those
//!   inputs (the kernels follow snnTorch's order of operations, bit for bit
//!   on equal inputs: `reference/fixtures/README.md`), at most 3 roundings
//!   per step for a Leaky membrane and 5 for a Synaptic one (2 for its
//!   current); with `M` the state's magnitude (the recursion on absolute
//!   values) each is within `(k + 1 + 3(t + 1)) u M` (resp. `5(t + 1)`,
//!   `2(t + 1)`) of the exact value, so they differ by at most twice that:
//!   `D`.
//! - **Spikes** bit for bit. `H(mem - thr)` has the sign of the exact
//!   difference of the rounded values, so the spikes can differ only where
//!   the runner's membrane is within `D` of the threshold; the test reports
//!   how many membranes are that close (the fixtures have none that differ;
//!   one would make the case ambiguous and the test says so).
//! - **Counts** exactly; the **loss** within `2 (C + B + 8) u M_L` (snnTorch
//!   computes the log-softmax in f32, the runner in f64).
//! - **Gradients** within `2 L u M + E` per value: `M` the gradient
//!   magnitude (`support::backward` with `Magnitude`, the count gradient's
//!   magnitude `(p + [label])/B`), `L` the longest rounding chain
//!   (`support::chain_length` with `C + 12` roundings for snnTorch's f32
//!   log-softmax and its backward: `C + 5` in the forward value, `exp` and
//!   `log` counted as 2 each, 5 in the backward), and `E` the first-order
//!   effect of the forward differences (`D`) on the backward pass: on each
//!   surrogate value `S'(z)` (by at most `max |S''| D_z`) and on the states
//!   that the decay rates' gradients read (by `D`), carried through the
//!   absolute values of the rest of the chain.
//!
//! The spikes are the same, so the input of every dense layer is; what
//! differs between the two backward passes is rounding (and the grouping of
//! the sums: autograd accumulates each weight's gradient over the `T` calls
//! of `nn.Linear`, the runner sums over all `T·B` rows at once).

mod support;

use std::fs;
use std::path::PathBuf;

use serde_json::Value;
use snn_ipu::native::dense;
use snn_ipu::native::spiking::{self, LayerRun, SavedLayer};
use snn_ipu::native::{Batch, Loss, Native};
use snn_ipu::network::{LayerSpec, NetworkSpec};
use snn_ipu::params::Values;
use support::{Magnitude, Net, Neuron, Radii, Reset, Surrogate, Trace, NAMES};

const U: f64 = 1.0 / (1u64 << 24) as f64;

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/networks")
}

struct Fixtures {
    index: Value,
    data: Vec<f32>,
}

impl Fixtures {
    fn load() -> Fixtures {
        let dir = fixture_dir();
        let text = fs::read_to_string(dir.join("index.json")).expect("index.json");
        let index: Value = serde_json::from_str(&text).expect("index.json is JSON");
        let bytes = fs::read(dir.join("data.bin")).expect("data.bin");
        assert_eq!(bytes.len() % 4, 0, "data.bin holds whole float32 values");
        let data = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        assert_eq!(index["format"], 1);
        assert_eq!(index["snntorch"], "1.0.0");
        Fixtures { index, data }
    }

    fn cases(&self) -> &[Value] {
        self.index["cases"].as_array().expect("cases")
    }

    fn array<'a>(&'a self, case: &Value, name: &str) -> &'a [f32] {
        let entry = &case["arrays"][name];
        let (offset, len) = (
            entry[0].as_u64().unwrap_or_else(|| panic!("array {name}")) as usize,
            entry[1].as_u64().unwrap_or_else(|| panic!("array {name}")) as usize,
        );
        self.data
            .get(offset..offset + len)
            .unwrap_or_else(|| panic!("array {name} runs past data.bin"))
    }
}

fn f64s(v: &[f32]) -> Vec<f64> {
    v.iter().map(|&x| f64::from(x)).collect()
}

fn neuron(v: &Value) -> Neuron {
    let reset = match v["reset"].as_str() {
        Some("subtract") => Reset::Subtract,
        Some("zero") => Reset::Zero,
        other => panic!("reset {other:?}"),
    };
    assert_eq!(v["reset_delay"], true);
    let s = &v["surrogate"];
    let surrogate = match s["name"].as_str() {
        Some("atan") => Surrogate::Atan {
            alpha: s["alpha"].as_f64().expect("alpha"),
        },
        Some("fast_sigmoid") => Surrogate::FastSigmoid {
            slope: s["slope"].as_f64().expect("slope"),
        },
        other => panic!("surrogate {other:?}"),
    };
    Neuron { reset, surrogate }
}

/// The runner's per-layer forward values (its dense layer and spiking
/// layer building blocks, as `Native` composes them).
struct RunnerForward {
    cur1: Vec<f32>,
    spikes1: Vec<f32>,
    mem1: Vec<f32>,
    cur2: Vec<f32>,
    spikes2: Vec<f32>,
    syn2: Vec<f32>,
    mem2: Vec<f32>,
}

fn runner_forward(net: &Net, spec: &NetworkSpec, values: &Values, input: &[f32]) -> RunnerForward {
    let rows = net.rows();
    let tensor = |name: &str| values.get(name).expect("tensor");
    let spiking_layer = |layer: usize, neurons: usize, x: Vec<f32>| -> SavedLayer<f32> {
        let LayerSpec::Spiking { neuron, .. } = &spec.layers[layer] else {
            panic!("layer {layer} is spiking")
        };
        let params: Vec<Vec<f32>> = neuron
            .params
            .iter()
            .map(|p| tensor(&format!("layers.{layer}.{}", p.name)).to_vec())
            .collect();
        let run = LayerRun {
            neuron,
            batch: net.batch,
            neurons,
            steps: net.steps,
            params: &params,
            recurrent: None,
            seed: 0,
        };
        let mut saved = SavedLayer::default();
        spiking::forward(&run, x, &mut saved).expect("the spiking layer runs");
        saved
    };
    let (h, o) = (net.hidden, net.outputs());
    let mut cur1 = vec![0.0f32; rows * h];
    dense::forward(
        input,
        tensor("layers.0.weight"),
        tensor("layers.0.bias"),
        &mut cur1,
        rows,
        net.inputs,
        h,
    );
    let layer1 = spiking_layer(1, h, cur1.clone());
    let mut cur2 = vec![0.0f32; rows * o];
    dense::forward(
        &layer1.spikes,
        tensor("layers.2.weight"),
        tensor("layers.2.bias"),
        &mut cur2,
        rows,
        h,
        o,
    );
    let layer3 = spiking_layer(3, o, cur2.clone());
    RunnerForward {
        cur1,
        spikes1: layer1.spikes,
        mem1: layer1.states[0].clone(),
        cur2,
        spikes2: layer3.spikes,
        syn2: layer3.states[0].clone(),
        mem2: layer3.states[1].clone(),
    }
}

/// Forward magnitudes and the bounds `D` of the difference between two
/// computations of the forward values (see the module docs).
struct Bounds {
    cur1: Vec<f64>,
    cur2: Vec<f64>,
    radii: Radii,
}

fn forward_bounds(net: &Net, p: &[Vec<f64>], input: &[f64], trace: &Trace) -> Bounds {
    use support::{B1, B2, L_BETA, L_THRESHOLD, S_ALPHA, S_BETA, S_THRESHOLD, W1, W2};
    let at = |k: usize, j: usize| if p[k].len() == 1 { p[k][0] } else { p[k][j] };
    let (f, h, o) = (net.inputs, net.hidden, net.outputs());
    let dense_magnitude = |x: &[f64], w: &[f64], b: &[f64], k: usize, n: usize| -> Vec<f64> {
        x.chunks_exact(k)
            .flat_map(|xr| {
                (0..n).map(move |j| {
                    (0..k).map(|i| (w[j * k + i] * xr[i]).abs()).sum::<f64>() + b[j].abs()
                })
            })
            .collect()
    };
    let m_cur1 = dense_magnitude(input, &p[W1], &p[B1], f, h);
    let m_cur2 = dense_magnitude(&trace.s1, &p[W2], &p[B2], h, o);
    let heaviside = |z: f64| if z > 0.0 { 1.0 } else { 0.0 };

    let n1 = net.batch * h;
    let mut m_mem1 = vec![0.0; m_cur1.len()];
    let mut d_mem1 = vec![0.0; m_cur1.len()];
    let mut d_z1 = vec![0.0; m_cur1.len()];
    for i in 0..m_cur1.len() {
        let (j, t) = (i % h, i / n1);
        let (b, thr) = (at(L_BETA, j), at(L_THRESHOLD, j));
        let (prev, r) = if i < n1 {
            (0.0, 0.0)
        } else {
            (m_mem1[i - n1], heaviside(trace.z1[i - n1]))
        };
        m_mem1[i] = match net.leaky.reset {
            Reset::Subtract => b * prev + m_cur1[i] + r * thr.abs(),
            Reset::Zero => b * ((1.0 - r) * prev) + m_cur1[i],
        };
        let l = (f + 1 + 3 * (t + 1)) as f64;
        d_mem1[i] = 2.0 * l * U * m_mem1[i];
        d_z1[i] = d_mem1[i] + 2.0 * U * (trace.mem1[i].abs() + thr.abs());
    }
    let n2 = net.batch * o;
    let len2 = m_cur2.len();
    let (mut m_syn2, mut m_mem2) = (vec![0.0; len2], vec![0.0; len2]);
    let (mut d_syn2, mut d_mem2, mut d_z2) = (vec![0.0; len2], vec![0.0; len2], vec![0.0; len2]);
    for i in 0..len2 {
        let (k, t) = (i % o, i / n2);
        let (a, b, thr) = (at(S_ALPHA, k), at(S_BETA, k), at(S_THRESHOLD, k));
        let (syn_prev, mem_prev, r) = if i < n2 {
            (0.0, 0.0, 0.0)
        } else {
            (m_syn2[i - n2], m_mem2[i - n2], heaviside(trace.z2[i - n2]))
        };
        m_syn2[i] = a * syn_prev + m_cur2[i];
        let base = b * mem_prev + m_syn2[i];
        m_mem2[i] = match net.synaptic.reset {
            Reset::Subtract => base + r * thr.abs(),
            // base - base·r is exactly 0 where r = 1, in both
            Reset::Zero => (1.0 - r) * base,
        };
        d_syn2[i] = 2.0 * (h + 1 + 2 * (t + 1)) as f64 * U * m_syn2[i];
        d_mem2[i] = 2.0 * (h + 1 + 5 * (t + 1)) as f64 * U * m_mem2[i];
        d_z2[i] = d_mem2[i] + 2.0 * U * (trace.mem2[i].abs() + thr.abs());
    }
    Bounds {
        cur1: m_cur1
            .iter()
            .map(|m| 2.0 * (f + 1) as f64 * U * m)
            .collect(),
        cur2: m_cur2
            .iter()
            .map(|m| 2.0 * (h + 1) as f64 * U * m)
            .collect(),
        radii: Radii {
            mem1: d_mem1,
            z1: d_z1,
            syn2: d_syn2,
            mem2: d_mem2,
            z2: d_z2,
        },
    }
}

/// The differences between the runner's and snnTorch's forward values
/// that the backward passes read: the states, and `z = mem - thr` (each
/// side rounds its own subtraction, so where the membranes differ `z` may
/// differ by one more rounding on each side).
fn measured_radii(fwd: &RunnerForward, torch: &[&[f32]; 3], trace: &Trace) -> Radii {
    let diff = |a: &[f32], b: &[f32]| -> Vec<f64> {
        a.iter()
            .zip(b)
            .map(|(&x, &y)| (f64::from(x) - f64::from(y)).abs())
            .collect()
    };
    let z = |d: &[f64], z: &[f64]| -> Vec<f64> {
        d.iter()
            .zip(z)
            .map(|(&d, &z)| {
                if d == 0.0 {
                    0.0
                } else {
                    d + 2.0 * U * (z.abs() + d)
                }
            })
            .collect()
    };
    let mem1 = diff(&fwd.mem1, torch[0]);
    let mem2 = diff(&fwd.mem2, torch[2]);
    Radii {
        z1: z(&mem1, &trace.z1),
        z2: z(&mem2, &trace.z2),
        mem1,
        syn2: diff(&fwd.syn2, torch[1]),
        mem2,
    }
}

/// Values within their bounds: returns (exact, total); panics naming the
/// first value outside.
fn within(what: &str, runner: &[f32], torch: &[f32], bound: &[f64]) -> (usize, usize) {
    assert_eq!(runner.len(), torch.len(), "{what}: lengths");
    let mut exact = 0;
    for (i, ((&r, &t), &d)) in runner.iter().zip(torch).zip(bound).enumerate() {
        let diff = (f64::from(r) - f64::from(t)).abs();
        assert!(
            diff <= d,
            "{what}[{i}]: runner {r:e}, snnTorch {t:e}: difference {diff:e} above the bound {d:e}"
        );
        exact += usize::from(r.to_bits() == t.to_bits());
    }
    (exact, runner.len())
}

/// Spikes bit for bit; returns how many membranes were within `D` of the
/// threshold (where the two could have disagreed).
fn same_spikes(what: &str, runner: &[f32], torch: &[f32], z: &[f64], d_z: &[f64]) -> usize {
    assert_eq!(runner.len(), torch.len(), "{what}: lengths");
    let close = z.iter().zip(d_z).filter(|(z, d)| z.abs() <= **d).count();
    let differ: Vec<usize> = (0..runner.len())
        .filter(|&i| runner[i].to_bits() != torch[i].to_bits())
        .collect();
    if let Some(&i) = differ.first() {
        let explained = differ.iter().filter(|&&i| z[i].abs() <= d_z[i]).count();
        panic!(
            "{what}: {} spikes differ ({explained} of them where the membrane is within the \
             bound D of the threshold, so the case is ambiguous there: regenerate it with \
             another seed; the others are errors); first at {i}: runner {}, snnTorch {}, \
             mem - thr = {:e}, D = {:e}",
            differ.len(),
            runner[i],
            torch[i],
            z[i],
            d_z[i]
        );
    }
    close
}

fn check_case(fixtures: &Fixtures, case: &Value) {
    let name = case["name"].as_str().expect("name");
    let n = &case["network"];
    let size = |key: &str| n[key].as_u64().unwrap_or_else(|| panic!("{key}")) as usize;
    let net = Net {
        inputs: size("inputs"),
        hidden: size("hidden"),
        classes: size("classes"),
        population: size("population"),
        steps: size("steps"),
        batch: size("batch"),
        leaky: neuron(&n["leaky"]),
        synaptic: neuron(&n["synaptic"]),
    };
    let array = |name: &str| fixtures.array(case, name);
    let p: Vec<Vec<f64>> = NAMES
        .iter()
        .map(|t| f64s(array(&format!("param.{t}"))))
        .collect();
    let input = array("input");
    let labels: Vec<usize> = array("labels").iter().map(|&l| l as usize).collect();
    let spec = support::spec(&net, &p);
    let values = support::values(&spec, &p);
    let native = Native::new(&spec).expect("a valid network");

    // forward, layer by layer
    let fwd = runner_forward(&net, &spec, &values, input);
    let h_len = net.hidden;
    let o_len = net.outputs();
    let thr = |k: usize, j: usize| if p[k].len() == 1 { p[k][0] } else { p[k][j] };
    let z = |mem: &[f32], k: usize, width: usize| -> Vec<f64> {
        mem.iter()
            .enumerate()
            .map(|(i, &m)| f64::from(m) - thr(k, i % width))
            .collect()
    };
    let trace = {
        let (mem1, mem2) = (f64s(&fwd.mem1), f64s(&fwd.mem2));
        let (z1, z2) = (
            z(&fwd.mem1, support::L_THRESHOLD, h_len),
            z(&fwd.mem2, support::S_THRESHOLD, o_len),
        );
        let counts = support::counts(&net, &f64s(&fwd.spikes2));
        let (loss, _) = support::ce_count_loss(&net, &counts, &labels);
        Trace {
            cur1: f64s(&fwd.cur1),
            mem1,
            h1: z1.iter().map(|&z| z > 0.0).collect(),
            z1,
            s1: f64s(&fwd.spikes1),
            cur2: f64s(&fwd.cur2),
            syn2: f64s(&fwd.syn2),
            mem2,
            h2: z2.iter().map(|&z| z > 0.0).collect(),
            z2,
            s2: f64s(&fwd.spikes2),
            counts,
            loss,
        }
    };
    let input64 = f64s(input);
    let bounds = forward_bounds(&net, &p, &input64, &trace);
    let r = &bounds.radii;
    let measured = measured_radii(
        &fwd,
        &[
            array("forward.layers.1.mem"),
            array("forward.layers.3.syn"),
            array("forward.layers.3.mem"),
        ],
        &trace,
    );
    let cur1 = within(
        "layers.0 output",
        &fwd.cur1,
        array("forward.layers.0"),
        &bounds.cur1,
    );
    let close1 = same_spikes(
        "layers.1 spikes",
        &fwd.spikes1,
        array("forward.layers.1.spikes"),
        &trace.z1,
        &r.z1,
    );
    let mem1 = within(
        "layers.1 mem",
        &fwd.mem1,
        array("forward.layers.1.mem"),
        &r.mem1,
    );
    let cur2 = within(
        "layers.2 output",
        &fwd.cur2,
        array("forward.layers.2"),
        &bounds.cur2,
    );
    let close3 = same_spikes(
        "layers.3 spikes",
        &fwd.spikes2,
        array("forward.layers.3.spikes"),
        &trace.z2,
        &r.z2,
    );
    let syn2 = within(
        "layers.3 syn",
        &fwd.syn2,
        array("forward.layers.3.syn"),
        &r.syn2,
    );
    let mem2 = within(
        "layers.3 mem",
        &fwd.mem2,
        array("forward.layers.3.mem"),
        &r.mem2,
    );

    // the whole training step
    let batch = Batch {
        inputs: input,
        labels: &labels,
        steps: net.steps,
        seed: 0,
    };
    let (prediction, grads) = native
        .step(&values, &batch, Loss::CeCount, 1.0)
        .expect("a training step");
    assert!(!grads.overflow);
    assert_eq!(
        prediction.counts, trace.counts,
        "{name}: Native against its layers"
    );
    assert_eq!(
        prediction.counts,
        f64s(array("counts")),
        "{name}: class counts against snnTorch"
    );
    let torch_loss = f64::from(array("loss")[0]);
    let loss_magnitude: f64 = trace
        .counts
        .chunks_exact(net.classes)
        .zip(&labels)
        .map(|(row, &y)| {
            let max = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = row.iter().map(|c| (c - max).exp()).sum();
            (row[y] - max).abs() + sum.ln() + 1.0
        })
        .sum::<f64>()
        / net.batch as f64;
    let loss_bound = 2.0 * (net.classes + net.batch + 8) as f64 * U * loss_magnitude;
    assert!(
        (prediction.loss - torch_loss).abs() <= loss_bound,
        "{name}: loss {} against snnTorch's {torch_loss} (bound {loss_bound:e})",
        prediction.loss
    );

    // gradients
    let source = support::count_gradient_magnitudes(&net, &trace.counts, &labels);
    let magnitudes: Vec<Vec<Magnitude>> =
        support::backward(&net, &p, &input64, &trace, &source, Some(&measured));
    println!(
        "{name}: forward: layers.0 {}/{} exact, layers.1 mem {}/{}, layers.2 {}/{}, \
         layers.3 syn {}/{}, mem {}/{}; spikes all equal ({} + {} membranes within D of the \
         threshold); loss {:.3e} from snnTorch's",
        cur1.0,
        cur1.1,
        mem1.0,
        mem1.1,
        cur2.0,
        cur2.1,
        syn2.0,
        syn2.1,
        mem2.0,
        mem2.1,
        close1,
        close3,
        (prediction.loss - torch_loss).abs()
    );
    let (mut exact_total, mut total, mut worst_total, mut fraction_total) = (0, 0, 0.0f64, 0.0f64);
    for (k, tensor) in NAMES.iter().enumerate() {
        let torch = array(&format!("grad.{tensor}"));
        let runner = &grads.tensors[k];
        assert_eq!(runner.len(), torch.len(), "{name} {tensor}: lengths");
        let l = support::chain_length(&net, &p, k, net.classes + 12);
        let (mut exact, mut worst, mut worst_e, mut worst_fraction) = (0, 0.0f64, 0.0f64, 0.0f64);
        for (j, (&a, &b)) in runner.iter().zip(torch).enumerate() {
            let Magnitude { m, e } = magnitudes[k][j];
            let bound = 2.0 * l * U * m + e;
            let diff = (f64::from(a) - f64::from(b)).abs();
            assert!(
                diff <= bound,
                "{name} grad.{tensor}[{j}]: runner {a:e}, snnTorch {b:e}: difference {diff:e} \
                 above 2 L u M + E = {bound:e} (L = {l}, M = {m:e}, E = {e:e})"
            );
            exact += usize::from(a.to_bits() == b.to_bits());
            if bound > 0.0 {
                worst_fraction = worst_fraction.max(diff / bound);
            }
            if m > 0.0 {
                worst = worst.max(diff / (U * m));
                worst_e = worst_e.max(e / (U * m));
            }
        }
        println!(
            "  grad.{tensor:<20} {exact:>4}/{:<4} exact, largest difference {worst:.3} u M \
             (bound 2 L = {} u M, + E <= {worst_e:.2e} u M; at most {:.4} of its bound)",
            runner.len(),
            2.0 * l,
            worst_fraction
        );
        exact_total += exact;
        total += runner.len();
        worst_total = worst_total.max(worst);
        fraction_total = fraction_total.max(worst_fraction);
    }
    println!(
        "  all gradients: {exact_total}/{total} exact, largest {worst_total:.3} u M, at most \
         {fraction_total:.4} of the bound"
    );
}

#[test]
fn networks_match_snntorch() {
    let fixtures = Fixtures::load();
    assert_eq!(fixtures.cases().len(), 3);
    for case in fixtures.cases() {
        check_case(&fixtures, case);
    }
}
