//! The functions vertex bodies call: each surrogate gradient and the
//! counter-based random stream, traced from the kernels in both precisions.

use snn_kernels::rng::uniform_from_counters;
use snn_kernels::surrogate::{self as ks, Surrogate, SurrogateConstants};
use snn_kernels::Real;

use crate::ir::trace::{Precision, Rec, RecWord, Recording, F16, F32};
use crate::ir::{Callee, Float, Function, Role, Ty};

/// A surrogate gradient, traced: `S::grad` in binary16 and binary32.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SurrogateDef {
    /// `Surrogate::NAME`.
    pub name: String,
    /// `Surrogate::CONSTANTS`.
    pub constants: Vec<String>,
    /// `Surrogate::STOCHASTIC`.
    pub stochastic: bool,
    /// `grad` in each precision, narrow first (as [`Float::ALL`]).
    pub functions: Vec<Function>,
}

/// The parameters of a surrogate function, in the order of
/// [`Callee::Surrogate`].
const SURROGATE_PARAMETERS: [&str; 7] = ["z", "grad", "c0", "c1", "c2", "c3", "noise"];

impl SurrogateDef {
    /// Traces `S::grad` in both precisions.
    pub fn of<S: Surrogate>() -> SurrogateDef {
        SurrogateDef {
            name: S::NAME.to_string(),
            constants: S::CONSTANTS.iter().map(|c| c.to_string()).collect(),
            stochastic: S::STOCHASTIC,
            functions: vec![
                surrogate_function::<S, F16>(),
                surrogate_function::<S, F32>(),
            ],
        }
    }

    /// The function in this precision.
    pub fn function(&self, precision: Float) -> &Function {
        self.functions
            .iter()
            .find(|f| f.result_ty() == Ty::Float(precision))
            .expect("traced in both precisions")
    }
}

fn surrogate_function<S: Surrogate, P: Precision>() -> Function
where
    Rec<P>: Real,
{
    let recording = Recording::start();
    let parameter = |k: usize| Rec::<P>::input(Role::Parameter(k));
    let (z, grad) = (parameter(0), parameter(1));
    let c: SurrogateConstants<Rec<P>> = core::array::from_fn(|k| parameter(2 + k));
    let noise = parameter(6);
    let result = S::grad(z, grad, &c, noise);
    Function {
        callee: Callee::Surrogate,
        parameters: SURROGATE_PARAMETERS
            .iter()
            .map(|name| (name.to_string(), Ty::Float(P::FLOAT)))
            .collect(),
        graph: recording.finish(),
        result: result.id(),
    }
}

/// The ten built-in surrogates.
pub fn builtin_surrogates() -> Vec<SurrogateDef> {
    vec![
        SurrogateDef::of::<ks::Atan>(),
        SurrogateDef::of::<ks::FastSigmoid>(),
        SurrogateDef::of::<ks::Sigmoid>(),
        SurrogateDef::of::<ks::Triangular>(),
        SurrogateDef::of::<ks::StraightThrough>(),
        SurrogateDef::of::<ks::Heaviside>(),
        SurrogateDef::of::<ks::SpikeRateEscape>(),
        SurrogateDef::of::<ks::SparseFastSigmoid>(),
        SurrogateDef::of::<ks::LeakySpikeOperator>(),
        SurrogateDef::of::<ks::StochasticSpikeOperator>(),
    ]
}

/// The random number of the stochastic surrogate in precision `P`, traced
/// from `snn_kernels::rng::uniform_from_counters`: `(seed, step, element)`,
/// three 32-bit words, to a number in `[0, 1)`.
fn uniform_function<P: Precision>() -> Function
where
    Rec<P>: Real<Wide = Rec<F32>>,
{
    let recording = Recording::start();
    let seed = RecWord::<F32>::input(Role::Parameter(0));
    let step = RecWord::<F32>::input(Role::Parameter(1));
    let element = RecWord::<F32>::input(Role::Parameter(2));
    let u: Rec<P> = uniform_from_counters::<Rec<P>>(seed, step, element);
    let word = Ty::Word(Float::Binary32.word());
    Function {
        callee: Callee::Uniform(P::FLOAT),
        parameters: ["seed", "step", "element"]
            .iter()
            .map(|name| (name.to_string(), word))
            .collect(),
        graph: recording.finish(),
        result: u.id(),
    }
}

/// The random stream in both precisions, narrow first.
pub fn uniform_functions() -> Vec<Function> {
    vec![uniform_function::<F16>(), uniform_function::<F32>()]
}
