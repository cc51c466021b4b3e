//! The training step's graph as an emitted Poplar program: `steps` training
//! steps of a [`TrainGraph`] (`Repeat(steps, step program)`), the batches and
//! the optimiser's constants streamed in, the loss and the correct count
//! streamed out; the expected losses, counts and final parameters computed
//! here by the graph emulator.

use std::path::Path;

use super::{EmitData, EmitError};
use crate::graph::run::Values;
use crate::graph::Program;
use crate::train_graph::{TrainGraph, TrainSession};

/// One training step's data: inputs `[T][B][F]`, one label per row, the
/// optimiser's constants of the step.
pub type StepData = (Vec<f32>, Vec<usize>, Vec<f32>);

/// Writes into `dir` (see [`super::write_poplar_dir`]) the program that runs
/// one step of `train` per entry of `steps`, from the parameters `params`
/// and a fresh optimiser state. Returns the losses the emulator computed.
pub fn emit_training(
    dir: &Path,
    train: &TrainGraph,
    params: &[Vec<f32>],
    steps: &[StepData],
) -> Result<Vec<f32>, EmitError> {
    let fail = |e: &dyn std::fmt::Display| EmitError::Example(e.to_string());
    let count = u32::try_from(steps.len())
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| EmitError::Example("give at least one training step".into()))?;
    let mut session = TrainSession::new(train, params).map_err(|e| fail(&e))?;
    let mut losses = Vec::new();
    for (inputs, labels, constants) in steps {
        losses.push(
            session
                .step(inputs, labels, constants)
                .map_err(|e| fail(&e))?
                .loss,
        );
    }
    let engine = session.engine();
    let streams_in = ["inputs", "labels", "optimiser"]
        .iter()
        .map(|&name| (name.to_string(), engine.stream_input_history(name).to_vec()))
        .collect();
    let expected_streams = ["loss", "correct"]
        .iter()
        .map(|&name| (name.to_string(), engine.stream_output(name).to_vec()))
        .collect();
    let mut writes: Vec<(String, Values)> = train
        .negative_zero_tensors()
        .map(|(name, len)| (name.to_string(), Values::F32(vec![-0.0; len])))
        .collect();
    for (p, values) in train.params().iter().zip(params) {
        writes.push((p.name.clone(), Values::F32(values.clone())));
    }
    let mut expected_tensors = Vec::new();
    for p in train.params() {
        let values = engine.read_tensor(&p.name).map_err(|e| fail(&e))?;
        expected_tensors.push((p.name.clone(), values.clone()));
    }
    let program = Program::Repeat(count, Box::new(train.program().clone()));
    let data = EmitData {
        writes,
        streams_in,
        expected_tensors,
        expected_streams,
    };
    super::write_poplar_dir(dir, train.graph(), &program, &data)?;
    Ok(losses)
}
