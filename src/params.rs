//! A network's learnable values: one `f32` vector per tensor of
//! [`NetworkSpec::tensors`], in that order (the master copy: fp16 training
//! keeps its weights in binary32 too).

use crate::network::{LayerSpec, NetworkSpec, TensorRole, TensorSpec};

/// The learnable values of a network.
#[derive(Clone, Debug, PartialEq)]
pub struct Values {
    /// The tensors' descriptions.
    pub specs: Vec<TensorSpec>,
    /// One vector per tensor, row-major in the tensor's shape.
    pub tensors: Vec<Vec<f32>>,
}

/// 64 random bits for `(seed, tensor, element)` (SplitMix64 steps).
fn random_bits(seed: u64, tensor: u64, element: u64) -> u64 {
    let mut z = seed
        .wrapping_add(tensor.wrapping_mul(0x9e37_79b9_7f4a_7c15))
        .wrapping_add(element.wrapping_mul(0xbf58_476d_1ce4_e5b9));
    for _ in 0..2 {
        z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
    }
    z
}

impl Values {
    /// The initial values: dense layers as PyTorch's `Linear` initialises
    /// them (weight and bias uniform in `±1/sqrt(inputs)`, from a
    /// counter-based generator keyed by the seed, the tensor and the element,
    /// so that they do not depend on threads or order), neuron parameters at
    /// their given values.
    pub fn init(spec: &NetworkSpec, seed: u64) -> Values {
        let specs = spec.tensors();
        let tensors = specs
            .iter()
            .enumerate()
            .map(|(k, t)| {
                let uniform = |bound: f64| -> Vec<f32> {
                    (0..t.len())
                        .map(|e| {
                            let u = (random_bits(seed, k as u64, e as u64) >> 11) as f64
                                / (1u64 << 53) as f64;
                            (bound * (2.0 * u - 1.0)) as f32
                        })
                        .collect()
                };
                match (t.role, &spec.layers[t.layer]) {
                    (TensorRole::Weight | TensorRole::Bias, LayerSpec::Dense { inputs, .. }) => {
                        uniform(1.0 / (*inputs as f64).sqrt())
                    }
                    (
                        TensorRole::RecurrentWeight | TensorRole::RecurrentBias,
                        LayerSpec::Spiking { neurons, .. },
                    ) => uniform(1.0 / (*neurons as f64).sqrt()),
                    (TensorRole::NeuronParam(p), LayerSpec::Spiking { neuron, .. }) => {
                        vec![neuron.params[p].value as f32; t.len().max(1)]
                    }
                    _ => unreachable!("tensor roles follow their layers"),
                }
            })
            .collect();
        Values { specs, tensors }
    }

    /// The tensor named `name`.
    pub fn get(&self, name: &str) -> Option<&[f32]> {
        self.specs
            .iter()
            .position(|s| s.name == name)
            .map(|k| self.tensors[k].as_slice())
    }

    /// Zeros of every tensor's shape (gradients, optimiser state).
    pub fn zeros_like(&self) -> Vec<Vec<f32>> {
        self.tensors.iter().map(|t| vec![0.0; t.len()]).collect()
    }
}
