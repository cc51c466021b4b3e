//! The fused passes' specialised copies against their generic copy, bit for
//! bit (NaNs equal), for every model configuration, f32, F16 and F16Storage.
//!
//! A layer whose `CHUNK` is at least 64 runs one copy of its loops per model
//! configuration, and in optimised builds on x86-64 that copy is compiled
//! three times (SSE2, AVX2, AVX-512) and the CPU's widest is chosen at run
//! time (`layer::instruction_set`). A layer with a small `CHUNK` runs the
//! one generic copy, which is what the reference checker compares with the
//! independent reference (`cargo run -p snn-reference -- check`). This test
//! runs both on the same random data (in range, plus signed zeros, large
//! values that overflow binary16, infinities and NaN) and compares every
//! output. It is meaningful in release builds, where the copies differ:
//! `cargo test --release -p snn-kernels --test vector_copies` (CI runs it).

mod common;

use common::any_surrogate::{surrogates, AnySurrogate};
use common::{param_range, Bits, Rng};
use snn_kernels::layer::{instruction_set, InputGrads, Layer, OutputGrads, Param, Saved};
use snn_kernels::model::Model;
use snn_kernels::models::*;
use snn_kernels::{F16Storage, Real, F16};

const STEPS: usize = 6;
const BATCH: usize = 2;
/// Two full chunks of 64 and a tail of 29.
const NEURONS: usize = 157;

/// Every output of one forward and backward pass, in one list.
fn run<M: Model, T: Real<Mask = bool> + Bits, const CHUNK: usize>(
    model: M,
    surrogate: AnySurrogate,
    seed: u64,
) -> Vec<T> {
    let mut rng = Rng::new(seed);
    let (n, len) = (BATCH * NEURONS, STEPS * BATCH * NEURONS);
    let mut data = |count: usize, special: bool| -> Vec<T> {
        (0..count)
            .map(|_| {
                let v = match rng.below(if special { 40 } else { 1000 }) {
                    0 => f64::NAN,
                    1 => f64::INFINITY,
                    2 => -0.0,
                    3 => 7.0e4,
                    4 => -1.0e5,
                    _ => rng.range(-1.5, 2.5),
                };
                T::constant(v)
            })
            .collect()
    };
    let values: Vec<Vec<T>> = M::PARAMS
        .iter()
        .enumerate()
        .map(|(k, name)| {
            let (lo, hi) = param_range(M::NAME, name);
            let count = if k % 2 == 0 { NEURONS } else { 1 };
            (0..count)
                .map(|m| T::constant(lo + (hi - lo) * ((m * 37 + k * 11) % 101) as f64 / 100.0))
                .collect()
        })
        .collect();
    let params: Vec<Param<T>> = values.iter().map(|v| Param::from_values(v)).collect();
    let layer = Layer::new(model, surrogate, BATCH, NEURONS, &params)
        .expect("in-range parameters")
        .with_chunk::<CHUNK>()
        .with_seed(seed as u32);
    let special = seed % 2 == 1;
    let stored = M::STATES.len() - M::SPIKE_STATE.map_or(0, |_| 1);
    let inputs: Vec<Vec<T>> = M::INPUTS.iter().map(|_| data(len, special)).collect();
    let initial: Vec<Vec<T>> = M::STATES.iter().map(|_| data(n, special)).collect();
    let grad_spikes = data(len, special);
    let grad_states: Vec<Vec<T>> = (0..stored).map(|_| data(len, special)).collect();
    let mut spikes = vec![T::zero(); len];
    let mut states = vec![vec![T::zero(); len]; stored];
    {
        let ins: Vec<&[T]> = inputs.iter().map(Vec::as_slice).collect();
        let init: Vec<&[T]> = initial.iter().map(Vec::as_slice).collect();
        let mut outs: Vec<&mut [T]> = states.iter_mut().map(Vec::as_mut_slice).collect();
        layer
            .forward(STEPS, &ins, &init, &mut spikes, &mut outs)
            .expect("forward");
    }
    let mut grad_inputs = vec![vec![T::zero(); len]; M::INPUTS.len()];
    let mut grad_initial = vec![vec![T::zero(); n]; M::STATES.len()];
    let mut grad_params: Vec<Vec<T>> = values.iter().map(|v| vec![T::zero(); v.len()]).collect();
    {
        let ins: Vec<&[T]> = inputs.iter().map(Vec::as_slice).collect();
        let init: Vec<&[T]> = initial.iter().map(Vec::as_slice).collect();
        let st: Vec<&[T]> = states.iter().map(Vec::as_slice).collect();
        let gs: Vec<&[T]> = grad_states.iter().map(Vec::as_slice).collect();
        let mut gi: Vec<&mut [T]> = grad_inputs.iter_mut().map(Vec::as_mut_slice).collect();
        let mut g0: Vec<&mut [T]> = grad_initial.iter_mut().map(Vec::as_mut_slice).collect();
        let mut gp: Vec<&mut [T]> = grad_params.iter_mut().map(Vec::as_mut_slice).collect();
        layer
            .backward(
                STEPS,
                Saved::new(&ins, &init, &spikes, &st),
                OutputGrads::new(&grad_spikes, &gs),
                InputGrads::new(&mut gi, &mut g0, &mut gp),
            )
            .expect("backward");
    }
    let mut all = spikes;
    for list in [states, grad_inputs, grad_initial, grad_params] {
        all.extend(list.into_iter().flatten());
    }
    all
}

fn compare<M: Model, T: Real<Mask = bool> + Bits>(name: &str) {
    for config in 0..M::CONFIGURATIONS {
        let model = M::from_config_index(config);
        for (s, surrogate) in surrogates().into_iter().enumerate() {
            for seed in [2 * s as u64 + 1, 2 * s as u64 + 2] {
                let generic = run::<M, T, 4>(model, surrogate, seed);
                let specialised = run::<M, T, 64>(model, surrogate, seed);
                assert_eq!(generic.len(), specialised.len());
                let differ = generic
                    .iter()
                    .zip(&specialised)
                    .position(|(a, b)| a.key() != b.key());
                if let Some(i) = differ {
                    panic!(
                        "{name} {model:?} surrogate {s} seed {seed} ({:?}): value {i} is {} in the \
                         generic copy and {} in the specialised one",
                        instruction_set(),
                        generic[i].show(),
                        specialised[i].show()
                    );
                }
            }
        }
    }
}

macro_rules! models {
    ($($test:ident: $model:ty,)*) => {$(
        #[test]
        fn $test() {
            compare::<$model, f32>(concat!(stringify!($model), " f32"));
            compare::<$model, F16>(concat!(stringify!($model), " f16"));
            compare::<$model, F16Storage>(concat!(stringify!($model), " f16-storage"));
        }
    )*};
}

models! {
    leaky: Leaky,
    synaptic: Synaptic,
    alpha: Alpha,
    lapicque: Lapicque,
    rleaky: RLeaky,
    rsynaptic: RSynaptic,
}
