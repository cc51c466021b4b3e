//! What every layer backend of the checker does with a case: convert its
//! values to the backend's precision, run the forward pass, then the
//! backward pass with the case's output gradients, and give back every
//! output as `f64`. A backend supplies only its two passes.

use snn_kernels::layer::{InputGrads, OutputGrads, Param, Saved};
use snn_kernels::Real;

use crate::run::{Case, Outcome};

/// The forward pass of a layer, with the arguments of
/// `snn_kernels::Layer::forward`: steps, inputs, initial states, spikes out,
/// state trajectories out.
pub type Forward<'f, T> =
    dyn FnOnce(usize, &[&[T]], &[&[T]], &mut [T], &mut [&mut [T]]) -> Result<(), String> + 'f;

/// The backward pass of a layer, with the arguments of
/// `snn_kernels::Layer::backward`.
pub type Backward<'f, T> = dyn FnOnce(usize, Saved<'_, T>, OutputGrads<'_, T>, InputGrads<'_, '_, T>) -> Result<(), String>
    + 'f;

/// `values` rounded to `T`.
fn convert<T: Real>(values: &[f64]) -> Vec<T> {
    values.iter().map(|&x| T::constant(x)).collect()
}

/// A case's parameter values in precision `T`.
pub fn param_values<T: Real>(case: &Case) -> Vec<Vec<T>> {
    case.params.iter().map(|p| convert(p)).collect()
}

/// Parameter values as a layer takes them: one value is a scalar
/// parameter, more are per neuron.
pub fn as_params<T: Copy>(values: &[Vec<T>]) -> Vec<Param<'_, T>> {
    values.iter().map(|p| Param::from_values(p)).collect()
}

/// Runs `case` through a layer's two passes (a layer made with the case's
/// [`param_values`]), after checking its shape and arrays ([`Case::check`]),
/// so that nothing is allocated for a case whose arrays do not fit it.
pub fn run_case<T: Real<Mask = bool> + Into<f64>>(
    case: &Case,
    forward: Box<Forward<'_, T>>,
    backward: Box<Backward<'_, T>>,
) -> Result<Outcome, String> {
    case.check()?;
    let convert = |v: &Vec<f64>| -> Vec<T> { convert(v) };
    let back = |v: &[T]| -> Vec<f64> { v.iter().map(|&x| x.into()).collect() };
    let all = |list: &[Vec<T>]| -> Vec<Vec<f64>> { list.iter().map(|v| back(v)).collect() };
    let inputs: Vec<Vec<T>> = case.inputs.iter().map(convert).collect();
    let initial: Vec<Vec<T>> = case.initial.iter().map(convert).collect();
    let input_refs: Vec<&[T]> = inputs.iter().map(|v| v.as_slice()).collect();
    let initial_refs: Vec<&[T]> = initial.iter().map(|v| v.as_slice()).collect();
    let len = case.steps * case.elements();
    let mut spikes = vec![T::zero(); len];
    let mut states = vec![vec![T::zero(); len]; case.stored_states()];
    {
        let mut refs: Vec<&mut [T]> = states.iter_mut().map(|v| v.as_mut_slice()).collect();
        forward(
            case.steps,
            &input_refs,
            &initial_refs,
            &mut spikes,
            &mut refs,
        )?;
    }
    let grad_spikes = convert(&case.grad_spikes);
    let grad_states: Vec<Vec<T>> = case.grad_states.iter().map(convert).collect();
    let grad_state_refs: Vec<&[T]> = grad_states.iter().map(|v| v.as_slice()).collect();
    let mut grad_inputs = vec![vec![T::zero(); len]; inputs.len()];
    let mut grad_initial = vec![vec![T::zero(); case.elements()]; initial.len()];
    let mut grad_params: Vec<Vec<T>> = case
        .params
        .iter()
        .map(|p| vec![T::zero(); p.len()])
        .collect();
    {
        let state_refs: Vec<&[T]> = states.iter().map(|v| v.as_slice()).collect();
        let mut gi: Vec<&mut [T]> = grad_inputs.iter_mut().map(|v| v.as_mut_slice()).collect();
        let mut g0: Vec<&mut [T]> = grad_initial.iter_mut().map(|v| v.as_mut_slice()).collect();
        let mut gp: Vec<&mut [T]> = grad_params.iter_mut().map(|v| v.as_mut_slice()).collect();
        backward(
            case.steps,
            Saved::new(&input_refs, &initial_refs, &spikes, &state_refs),
            OutputGrads::new(&grad_spikes, &grad_state_refs),
            InputGrads::new(&mut gi, &mut g0, &mut gp),
        )?;
    }
    Ok(Outcome {
        spikes: back(&spikes),
        states: all(&states),
        grad_inputs: all(&grad_inputs),
        grad_initial: all(&grad_initial),
        grad_params: all(&grad_params),
    })
}
