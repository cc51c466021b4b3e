//! A ready-made directory: a Leaky layer's forward pass, time-chunked, as
//! a graph with every kind of program (what `snn-ipu emit-poplar` writes).

use std::path::Path;

use snn_codelet_gen::FieldRole;
use snn_kernels::layer::{Layer, Param};
use snn_kernels::models::Leaky;
use snn_kernels::surrogate::Atan;
use snn_kernels::F16;

use super::{EmitData, EmitError};
use crate::graph::run::{Engine, HostElement, Values};
use crate::graph::{Program, Target};
use crate::layer::Chunking;
use crate::{SurrogateSpec, VertexLayer};

/// The example layer's sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExampleConfig {
    /// Batch rows.
    pub batch: usize,
    /// Neurons.
    pub neurons: usize,
    /// Time steps per chunk (one run of the vertices).
    pub steps: usize,
    /// Chunks: the program repeats the pass this many times, carrying the
    /// membrane from one chunk to the next.
    pub chunks: u32,
    /// Tiles the elements are split over (at most the GC200's 1472).
    pub tiles: u32,
    /// fp16 instead of fp32.
    pub half: bool,
}

impl Default for ExampleConfig {
    fn default() -> Self {
        ExampleConfig {
            batch: 4,
            neurons: 100,
            steps: 16,
            chunks: 3,
            tiles: 8,
            half: false,
        }
    }
}

/// What [`emit_layer_example`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExampleSummary {
    /// The vertex every tile runs.
    pub vertex: String,
    /// Tiles used.
    pub tiles: usize,
    /// Time steps in all (`steps x chunks`).
    pub total_steps: usize,
    /// Bytes of `data.bin`.
    pub data_bytes: usize,
}

/// At most this many values per array of the example (`batch x neurons x
/// steps x chunks`).
pub const MAX_EXAMPLE_VALUES: usize = 1 << 22;

/// Input pattern in [-0.5, 2.0): deterministic, a mix of spiking and not.
fn pattern(len: usize, seed: u32) -> Vec<f32> {
    (0..len)
        .map(|i| {
            let h = (i as u32 ^ seed).wrapping_mul(0x9E37_79B9).rotate_left(11);
            (h >> 8) as f32 / (1u32 << 24) as f32 * 2.5 - 0.5
        })
        .collect()
}

/// Writes into `dir` (see [`super::write_poplar_dir`]) a Leaky layer's forward
/// pass (subtract reset, beta 0.9, threshold 1, scalar parameters) on a
/// GC200, split over `config.tiles` tiles, as the program
/// `Repeat(chunks, {StreamIn input, Execute forward, Copy last membrane to
/// initial membrane per tile, StreamOut spikes})`. The expected spikes
/// and final membrane are computed by the graph emulator and checked here
/// against the native kernels run over all `steps x chunks` steps at once,
/// bit for bit, before anything is written.
pub fn emit_layer_example(dir: &Path, config: &ExampleConfig) -> Result<ExampleSummary, EmitError> {
    let c = config;
    let values = c
        .batch
        .checked_mul(c.neurons)
        .and_then(|n| n.checked_mul(c.steps))
        .and_then(|n| n.checked_mul(c.chunks as usize));
    if c.batch == 0 || c.neurons == 0 || c.steps == 0 || c.chunks == 0 || c.tiles == 0 {
        return Err(EmitError::Example(
            "batch, neurons, steps, chunks and tiles must all be at least 1".into(),
        ));
    }
    if values.is_none_or(|v| v > MAX_EXAMPLE_VALUES) {
        return Err(EmitError::Example(format!(
            "batch x neurons x steps x chunks is over {MAX_EXAMPLE_VALUES}; make the example smaller"
        )));
    }
    if c.tiles > Target::gc200().tiles {
        return Err(EmitError::Example(format!(
            "{} tiles: one GC200 has {}",
            c.tiles,
            Target::gc200().tiles
        )));
    }
    if c.half {
        emit_typed::<F16>(dir, c)
    } else {
        emit_typed::<f32>(dir, c)
    }
}

fn emit_typed<T: HostElement>(dir: &Path, c: &ExampleConfig) -> Result<ExampleSummary, EmitError> {
    let fail = |e: &dyn std::fmt::Display| EmitError::Example(e.to_string());
    let model = Leaky::default();
    let params = [
        Param::Scalar(T::constant(0.9)),
        Param::Scalar(T::constant(1.0)),
        Param::Scalar(T::constant(1.0)),
    ];
    let n = c.batch * c.neurons;
    let total = c.steps * c.chunks as usize;
    let to_t = |v: Vec<f32>, k: f64| -> Vec<T> {
        v.into_iter().map(|x| T::constant(x as f64 * k)).collect()
    };
    let input = to_t(pattern(total * n, 1), 1.0);
    let initial = to_t(pattern(n, 2), 0.5);

    // the native kernels over all steps
    let kernels =
        Layer::new(model, Atan::default(), c.batch, c.neurons, &params).map_err(|e| fail(&e))?;
    let mut spikes = vec![T::zero(); total * n];
    let mut mem = vec![T::zero(); total * n];
    kernels
        .forward(total, &[&input], &[&initial], &mut spikes, &mut [&mut mem])
        .map_err(|e| fail(&e))?;

    // the graph
    let layer = VertexLayer::new(
        model,
        SurrogateSpec::of(&Atan::default()),
        c.batch,
        c.neurons,
        &params,
    )
    .map_err(|e| fail(&e))?;
    let (g, constants) = layer
        .graph(c.steps, Target::gc200(), c.tiles, Chunking::Whole)
        .map_err(|e| fail(&e))?;
    let tensor = |role: FieldRole| {
        let name = &g
            .tensor(role)
            .ok_or_else(|| {
                EmitError::Example(format!("{} has no {role:?} field", g.forward_vertex))
            })?
            .name;
        let id = g
            .graph
            .find_tensor(name)
            .expect("the layer graph names its tensors");
        Ok::<_, EmitError>((name.clone(), id))
    };
    let input_id = tensor(FieldRole::Input(0))?.1;
    let spikes_id = tensor(FieldRole::Spikes)?.1;
    let (mem_name, mem_id) = tensor(FieldRole::State(0))?;
    let (initial_name, initial_id) = tensor(FieldRole::InitialState(0))?;
    let padded = g.padded();
    let mut body = vec![
        Program::StreamIn {
            stream: "input".into(),
            to: input_id.region(0..c.steps * padded),
        },
        g.forward.clone(),
    ];
    for b in &g.blocks {
        // block b holds [steps][b.len()] membrane values; its last row
        let last = c.steps * b.start + (c.steps - 1) * b.len()..c.steps * b.end;
        body.push(Program::Copy {
            from: mem_id.region(last),
            to: initial_id.region(b.clone()),
        });
    }
    body.push(Program::StreamOut {
        from: spikes_id.region(0..c.steps * padded),
        stream: "spikes".into(),
    });
    let program = Program::Repeat(c.chunks, Box::new(Program::Sequence(body)));

    // inputs in the graph's layout, chunk by chunk
    let chunk = c.steps * n;
    let inputs: Vec<Values> = (0..c.chunks as usize)
        .map(|k| T::values(g.to_blocks(&input[k * chunk..(k + 1) * chunk], c.steps, n, T::zero())))
        .collect();
    let mut writes = vec![(
        initial_name.clone(),
        T::values(g.to_blocks(&initial, 1, n, T::zero())),
    )];
    writes.extend(constants.into_iter().map(|(k, v)| (k, T::values(v))));

    // the graph emulator
    let mut engine = Engine::new(&g.graph, &program).map_err(|e| fail(&e))?;
    for (name, v) in &writes {
        engine.write_tensor(name, v.clone()).map_err(|e| fail(&e))?;
    }
    for v in &inputs {
        engine.push_stream("input", v.clone());
    }
    engine.run(&program).map_err(|e| fail(&e))?;
    let out_spikes = engine.stream_output("spikes").to_vec();
    let final_mem = engine.read_tensor(&mem_name).map_err(|e| fail(&e))?.clone();

    // the emulator's chunks against the kernels' whole sequence
    let bits = |v: &[T]| {
        v.iter()
            .map(|&x| Into::<f64>::into(x).to_bits())
            .collect::<Vec<_>>()
    };
    for (k, v) in out_spikes.iter().enumerate() {
        let mut got = vec![T::zero(); chunk];
        g.from_blocks(T::of(v).unwrap_or(&[]), c.steps, n, &mut got);
        if bits(&got) != bits(&spikes[k * chunk..(k + 1) * chunk]) {
            return Err(EmitError::Example(format!(
                "chunk {k}: the graph emulator's spikes differ from the native kernels'"
            )));
        }
    }
    let mut got = vec![T::zero(); chunk];
    g.from_blocks(T::of(&final_mem).unwrap_or(&[]), c.steps, n, &mut got);
    if bits(&got) != bits(&mem[total * n - chunk..]) {
        return Err(EmitError::Example(
            "the graph emulator's last membrane differs from the native kernels'".into(),
        ));
    }

    let data = EmitData {
        writes,
        streams_in: vec![("input".into(), inputs)],
        expected_tensors: vec![(mem_name.clone(), final_mem)],
        expected_streams: vec![("spikes".into(), out_spikes)],
    };
    let (text, bytes) = super::describe(&g.graph, &program, &data)?;
    super::write_described(dir, &text, &bytes)?;
    Ok(ExampleSummary {
        vertex: g.forward_vertex.to_string(),
        tiles: g.blocks.len(),
        total_steps: total,
        data_bytes: bytes.len(),
    })
}
