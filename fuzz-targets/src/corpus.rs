//! The seed inputs of every target's corpus (`fuzz/corpus/<target>/`),
//! valid and broken, written by `cargo run -p snn-fuzz-targets --example
//! seed_corpora`. They are small on purpose: the fuzzer grows the corpus
//! from them, and the replay test runs each on stable.

use snn_codelet_gen::manifest;
use snn_poplar_host::emulator;
use snn_reference::fixtures::{default_dir, Fixtures};

use crate::bytes::Writer;
use crate::layer::LayerCase;
use crate::readers::fixture_input;

/// One seed: its target, file name and bytes.
pub struct Seed {
    /// The target (a name of [`crate::TARGETS`]).
    pub target: &'static str,
    /// The file name in the target's corpus folder.
    pub name: &'static str,
    /// The input.
    pub bytes: Vec<u8>,
}

/// Every seed of every target.
pub fn seeds() -> Result<Vec<Seed>, String> {
    let mut seeds = Vec::new();
    let mut add = |target, name, bytes| {
        seeds.push(Seed {
            target,
            name,
            bytes,
        })
    };
    for (name, case) in layer_seeds() {
        add("layer", name, case.to_bytes());
    }
    add("layer", "empty", Vec::new());
    for (name, bytes) in population_seeds() {
        add("population", name, bytes);
    }
    for (name, bytes) in emulator_seeds() {
        add("emulator", name, bytes);
    }
    for (name, bytes) in fixture_seeds()? {
        add("fixtures", name, bytes);
    }
    for (name, bytes) in manifest_seeds()? {
        add("manifest", name, bytes);
    }
    for (name, bytes) in metrics_seeds() {
        add("metrics_csv", name, bytes);
    }
    for (name, bytes) in crate::datasets::idx_seeds() {
        add("idx", name, bytes);
    }
    for (name, bytes) in crate::datasets::digits_seeds() {
        add("digits", name, bytes);
    }
    for (name, bytes) in checkpoint_seeds()? {
        add("checkpoint", name, bytes);
    }
    Ok(seeds)
}

fn pattern(count: usize, scale: f32) -> Vec<f32> {
    (0..count)
        .map(|i| ((i * 5) % 11) as f32 * scale - 0.25)
        .collect()
}

fn layer_seeds() -> Vec<(&'static str, LayerCase)> {
    let base = LayerCase {
        surrogate_param: 2.0,
        batch: 2,
        neurons: 3,
        steps: 4,
        ..LayerCase::default()
    };
    vec![
        (
            "leaky_f32_exact",
            LayerCase {
                values: [vec![0.875, 1.0, 1.0], pattern(24 + 6 + 24, 0.25)].concat(),
                ..base.clone()
            },
        ),
        (
            "synaptic_f16_per_neuron",
            LayerCase {
                model: 1,
                config: 3,
                flags: 1,
                batch: 3,
                neurons: 4,
                steps: 2,
                per_neuron: 0b111,
                values: [
                    vec![0.5, 0.625, 0.875, 0.625],
                    vec![0.75; 4],
                    vec![1.0, 0.75, 1.0, 0.75],
                    pattern(24 + 24 + 24 + 24, 0.125),
                ]
                .concat(),
                ..base.clone()
            },
        ),
        (
            "alpha_zero_batch",
            LayerCase {
                model: 2,
                batch: 0,
                ..base.clone()
            },
        ),
        (
            "rleaky_all_to_all_long_input",
            LayerCase {
                model: 6,
                surrogate: 1,
                surrogate_param: 25.0,
                perturb: (3 << 1) | 1,
                ..base.clone()
            },
        ),
        (
            "lapicque_nonfinite_values",
            LayerCase {
                model: 3,
                config: 5,
                values: vec![f32::NAN, f32::INFINITY, -0.0, 1e-45, f32::MAX, -1.0, 2.0],
                ..base.clone()
            },
        ),
        (
            "rsynaptic_huge_steps",
            LayerCase {
                model: 5,
                flags: 2,
                ..base.clone()
            },
        ),
        (
            "rleaky_stochastic_f16_no_grads",
            LayerCase {
                model: 4,
                surrogate: 9,
                surrogate_param: 0.5,
                flags: 1 | 4 | 8,
                ..base.clone()
            },
        ),
        (
            "leaky_short_param_gradient",
            LayerCase {
                per_neuron: 1,
                perturb: 254,
                ..base
            },
        ),
    ]
}

fn population_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let header = |flags: u8, dims: [u8; 4], perturb: u8, labels: &[u8]| {
        let mut w = Writer::default();
        w.byte(flags)
            .bytes(&dims)
            .byte(perturb)
            .f32(1.0)
            .f32(0.25)
            .bytes(labels);
        w
    };
    let spikes = |w: &mut Writer, count: usize| {
        for i in 0..count {
            w.f32(((i * 7) % 3 == 0) as u8 as f32);
        }
        w.0.clone()
    };
    vec![
        (
            "f32_exact",
            spikes(&mut header(0, [3, 2, 3, 2], 0, &[0, 2]), 36),
        ),
        (
            "f16_label_out_of_range",
            spikes(&mut header(1, [2, 3, 2, 1], 0, &[1, 3, 0]), 12),
        ),
        (
            "huge_classes",
            spikes(&mut header(2 | (2 << 2), [2, 1, 2, 2], 0, &[0]), 8),
        ),
        (
            "short_counts",
            spikes(&mut header(0, [1, 2, 4, 3], 2 << 1, &[3, 1]), 24),
        ),
        ("zero_steps", header(0, [0, 2, 2, 2], 0, &[0, 1]).0),
    ]
}

fn emulator_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let vertex = |name: &str| {
        emulator::manifest()
            .iter()
            .position(|v| v.name == name)
            .unwrap_or(0) as u16
    };
    let leaky = vertex("snn::LeakyFwdSeq<float,snn::subtract,snn::scalar>");
    let leaky_half = vertex("snn::LeakyBwdSeq<half,snn::subtract,snn::scalar,snn::atan>");
    let input = |vertex: u16, n: u8, steps: u8, flags: u8, edits: &[u8]| {
        let mut w = Writer::default();
        w.u16(vertex).byte(n).byte(steps).byte(flags).bytes(edits);
        w.0
    };
    vec![
        ("leaky_forward_exact", input(leaky, 4, 3, 1, &[])),
        (
            "half_backward_odd_count",
            input(leaky_half, 64 + 5, 2, 0, &[]),
        ),
        ("huge_steps_no_elements", input(leaky, 0, 8, 0, &[])),
        ("huge_steps_with_elements", input(leaky_half, 2, 9, 0, &[])),
        (
            "renamed_and_dropped",
            input(leaky, 2, 2, 2 << 1, &[2, 1, 4 << 2, 6, 0, 0]),
        ),
        (
            "any_vertex_wrong_types",
            input(977, 3, 1, 3 << 1, &[3, 0, 0, 9, 1, 1, 4, 2, 0]),
        ),
        ("empty", Vec::new()),
    ]
}

fn fixture_seeds() -> Result<Vec<(&'static str, Vec<u8>)>, String> {
    let all = Fixtures::load(&default_dir())?;
    let find = |name: &str| {
        all.index
            .cases
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| format!("no fixture case {name}"))
    };
    let leaky = find("leaky-zero-nodelay-sigmoid-perneuron-f32")?;
    let all_to_all = find("rsynaptic_all_to_all-zero-delay-fast_sigmoid-scalar-f32")?;
    let half = find("synaptic-zero-delay-atan-scalar-f16")?;
    let (index, data) = all.to_bytes(&[leaky]);
    let (index_a2a, data_a2a) = all.to_bytes(&[all_to_all]);
    let (index_half, data_half) = all.to_bytes(&[half]);
    let parsed: serde_json::Value =
        serde_json::from_slice(&index).map_err(|e| format!("the cut index: {e}"))?;
    let edited = |pointer: &str, value: serde_json::Value| {
        let mut edited = parsed.clone();
        if let Some(slot) = edited.pointer_mut(pointer) {
            *slot = value;
        }
        fixture_input(&serde_json::to_vec(&edited).unwrap_or_default(), &data)
    };
    Ok(vec![
        ("leaky_f32", fixture_input(&index, &data)),
        (
            "rsynaptic_all_to_all_f32",
            fixture_input(&index_a2a, &data_a2a),
        ),
        ("synaptic_f16", fixture_input(&index_half, &data_half)),
        (
            "offset_wraps",
            edited("/cases/0/arrays/x", serde_json::json!([u64::MAX, 2])),
        ),
        (
            "huge_steps",
            edited("/cases/0/steps", serde_json::json!(1_000_000_000_000u64)),
        ),
        (
            "zero_neurons",
            edited("/cases/0/neurons", serde_json::json!(0)),
        ),
        (
            "short_state",
            edited("/cases/0/arrays/state.mem/1", serde_json::json!(71)),
        ),
        (
            "no_cases",
            fixture_input(
                br#"{"format":1,"snntorch":"1.0.0","torch":"2","cases":[]}"#,
                &[],
            ),
        ),
        (
            "truncated_data",
            fixture_input(&index, &data[..data.len() / 2]),
        ),
        (
            "not_json",
            fixture_input(b"{\"format\": 1, \"cases\": [", &data),
        ),
    ])
}

fn manifest_seeds() -> Result<Vec<(&'static str, Vec<u8>)>, String> {
    let vertices = emulator::manifest();
    let pick: Vec<_> = [
        "snn::LeakyFwdSeq<float,snn::subtract,snn::scalar>",
        "snn::AlphaBwdSeq<half,snn::zero,snn::per_neuron,snn::sigmoid>",
    ]
    .iter()
    .filter_map(|name| vertices.iter().find(|v| v.name == *name).cloned())
    .collect();
    if pick.len() != 2 {
        return Err("the manifest lacks the seed vertices".into());
    }
    let two = manifest::to_json(&pick);
    let one = manifest::to_json(&pick[..1]);
    // a manifest written before the vertices' `cost` existed
    let mut old: serde_json::Value =
        serde_json::from_str(&two).map_err(|e| format!("the manifest as JSON: {e}"))?;
    if let Some(vertices) = old["vertices"].as_array_mut() {
        for v in vertices {
            if let Some(v) = v.as_object_mut() {
                v.remove("cost");
            }
        }
    }
    Ok(vec![
        ("two_vertices", two.clone().into_bytes()),
        ("without_cost", old.to_string().into_bytes()),
        (
            "format_1",
            two.replacen("\"format\": 2", "\"format\": 1", 1)
                .into_bytes(),
        ),
        (
            "first_field_one_ptr",
            one.replacen("\"layout\": \"span\"", "\"layout\": \"one_ptr\"", 1)
                .into_bytes(),
        ),
        ("no_vertices", br#"{"format": 2, "vertices": []}"#.to_vec()),
        ("cut_short", one.as_bytes()[..one.len() / 2].to_vec()),
        ("not_utf8", vec![0xff, 0xfe, b'{']),
    ])
}

fn metrics_seeds() -> Vec<(&'static str, Vec<u8>)> {
    use snn_ipu::report::csv::{row, HEADER};
    use snn_ipu::train::EpochMetrics;
    let epoch = |epoch: usize, loss: f64| EpochMetrics {
        epoch,
        loss,
        train_accuracy: 0.75,
        test_loss: 1.0 / 3.0,
        test_accuracy: 0.5,
        samples_per_second: 1234.5678,
        seconds: 2.0,
        skipped_steps: 3,
        loss_scale: 65536.0,
    };
    let two = format!(
        "{HEADER}\n{}{}",
        row(&epoch(1, 0.5)),
        row(&epoch(2, f64::NAN))
    );
    vec![
        ("two_epochs", two.clone().into_bytes()),
        ("cut_short", two.as_bytes()[..two.len() - 9].to_vec()),
        ("header_only", format!("{HEADER}\n").into_bytes()),
        (
            "epochs_backwards",
            format!("{HEADER}\n{}{}", row(&epoch(2, 0.5)), row(&epoch(1, 0.5))).into_bytes(),
        ),
        ("other_header", b"epoch,loss\n1,0.5\n".to_vec()),
        ("crlf", two.replace('\n', "\r\n").into_bytes()),
    ]
}
/// Mode byte 0: the bytes as they are; 1: the checksum recomputed first.
fn checkpoint_seeds() -> Result<Vec<(&'static str, Vec<u8>)>, String> {
    let adam = crate::checkpoint::sample("adam");
    let sgd = crate::checkpoint::sample("sgd");
    let ckpt = adam.to_bytes().map_err(|e| e.to_string())?;
    let ckpt_sgd = sgd.to_bytes().map_err(|e| e.to_string())?;
    let weights = snn_ipu::checkpoint::weights_bytes(&adam.spec, &adam.state.values)
        .map_err(|e| e.to_string())?;
    let with_mode = |mode: u8, bytes: &[u8]| [&[mode][..], bytes].concat();
    // the same text of the same length elsewhere in the header
    let replaced = |bytes: &[u8], from: &str, to: &str| -> Result<Vec<u8>, String> {
        let at = bytes
            .windows(from.len())
            .position(|w| w == from.as_bytes())
            .ok_or_else(|| format!("no {from} in the seed"))?;
        let mut out = bytes.to_vec();
        out[at..at + to.len()].copy_from_slice(to.as_bytes());
        Ok(with_mode(1, &out))
    };
    let mut flipped = weights.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x20;
    Ok(vec![
        ("adam_f16", with_mode(0, &ckpt)),
        ("sgd_f16", with_mode(0, &ckpt_sgd)),
        ("weights", with_mode(0, &weights)),
        ("weights_resealed", with_mode(1, &weights)),
        ("truncated", with_mode(0, &ckpt[..ckpt.len() * 2 / 3])),
        ("flipped_bit", with_mode(0, &flipped)),
        (
            "wider_layer_resealed",
            replaced(&ckpt, "\\\"outputs\\\":3", "\\\"outputs\\\":5")?,
        ),
        (
            "impossible_progress_resealed",
            replaced(&ckpt, "\\\"seen\\\":4", "\\\"seen\\\":9")?,
        ),
        ("not_safetensors", with_mode(0, b"{\"network\": {}}")),
        ("empty", Vec::new()),
    ])
}
