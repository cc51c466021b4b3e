//! The cycle and memory estimate (`docs/ipu-cost-model.md`) of the seed
//! paper's spiking layer: Leaky, 1000 neurons, batch 128, 25 time steps,
//! atan surrogate, forward and backward, over the 1472 tiles of one IPU,
//! in fp32 and fp16.
//!
//! ```text
//! cargo run -p snn-poplar-host --example ipu_estimate [gc200|bow]
//! ```

use std::process::ExitCode;

use snn_kernels::layer::Param;
use snn_kernels::models::Leaky;
use snn_kernels::surrogate::Atan;
use snn_kernels::{Model, F16};
use snn_poplar_host::emulator::Element;
use snn_poplar_host::graph::cost::{layer_estimate, layer_estimate_with, CostTable};
use snn_poplar_host::graph::Target;
use snn_poplar_host::{SurrogateSpec, VertexLayer};

const NEURONS: usize = 1000;
const BATCH: usize = 128;
const STEPS: usize = 25;
const TILES: u32 = 1472;

fn estimate<T: Element>(target: &Target) -> Result<String, String> {
    let model = Leaky::default();
    // beta 0.9, threshold 1, graded 1 (scalars: members of the vertices)
    let values = [0.9, 1.0, 1.0];
    assert_eq!(values.len(), Leaky::PARAMS.len());
    let params: Vec<Param<'_, T>> = values
        .iter()
        .map(|&v| Param::Scalar(T::constant(v)))
        .collect();
    let layer = VertexLayer::new(
        model,
        SurrogateSpec::of(&Atan::default()),
        BATCH,
        NEURONS,
        &params,
    )
    .map_err(|e| e.to_string())?;
    let e = layer_estimate(&layer, STEPS, target.clone(), TILES).map_err(|errors| {
        errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    })?;
    let vectorised = CostTable {
        vectorised: true,
        ..CostTable::default()
    };
    let bound = layer_estimate_with(&layer, STEPS, target.clone(), TILES, &vectorised)
        .map_err(|errors| format!("{errors:?}"))?;
    let per_step = |name: &str| {
        snn_poplar_host::emulator::vertex(name)
            .and_then(|v| v.cost)
            .map(|c| format!("{name}: per element and step {:?}", c.per_step))
            .unwrap_or_default()
    };
    Ok(format!(
        "{}{}\n{}\nif the element loops were vectorised (optimistic bound): {} cycles = {:.1} us\n",
        e,
        per_step(e.forward_vertex),
        per_step(e.backward_vertex),
        bound.total_cycles(),
        bound.seconds() * 1e6
    ))
}

fn main() -> ExitCode {
    let name = std::env::args().nth(1).unwrap_or_else(|| "gc200".into());
    let Some(target) = Target::preset(&name) else {
        eprintln!("error: unknown target `{name}` (gc200 or bow)");
        return ExitCode::from(2);
    };
    println!(
        "Leaky layer, {NEURONS} neurons x batch {BATCH}, {STEPS} steps, atan, on {} ({:.2} GHz, {} tiles)\n",
        target.name,
        target.clock_hz / 1e9,
        target.tiles
    );
    for (label, result) in [
        ("fp32", estimate::<f32>(&target)),
        ("fp16", estimate::<F16>(&target)),
    ] {
        match result {
            Ok(text) => println!("== {label}\n{text}"),
            Err(e) => {
                eprintln!("error: {label}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
