//! A layer of neurons over plain slices: one time step, the fused forward
//! pass over a sequence, and the backward pass through time in one reverse
//! sweep. The per-element work is a [`Model`]'s `step` and `step_backward`;
//! this module only loops and checks.
//!
//! # Layout
//! - A sequence (inputs, spikes, state trajectories and their gradients) is
//!   `[T][B][M]`: `steps` blocks of `batch` rows of `neurons` values, element
//!   `(t, b, m)` at `(t·B + b)·M + m`. `N = B·M` values per step.
//! - A state (initial states, their gradients, the single-step API) is `[B][M]`.
//! - A per-neuron parameter has `M` values, shared by the `B` rows.
//!
//! # What the forward pass stores for the backward pass
//! Its outputs and nothing else: the spikes and the trajectory of every state
//! variable (for one-to-one recurrent models the spike trajectory doubles as
//! the `spk` state). The backward pass recomputes each step's intermediate
//! values from the previous states and the inputs. Per neuron-step that is
//! `4·S` bytes in fp32 and `2·S` in fp16 beyond the spikes, with `S` the
//! number of stored states: 1 for Leaky, Lapicque and RLeaky, 2 for Synaptic
//! and RSynaptic, 3 for Alpha.
//!
//! # Order of the parameter-gradient sums (part of the definition)
//! Per element, the per-step gradients of the prepared constants are summed
//! from the last step to the first; per neuron, those sums are added over the
//! batch rows in order `b = 0, 1, ...`; the chain rule through
//! [`Model::prepare`] is then applied per neuron, and a scalar parameter's
//! gradient is the sum of the per-neuron results in order `m = 0, 1, ...`.
//! Every sum starts with its first term: accumulators start at `-0`, the
//! identity of IEEE addition (`-0 + x = x` for every `x`, including `±0`).
//! The per-element sums over the steps and the state gradients carried from
//! step to step are rounded as they would be stored ([`Real::store_lane`]);
//! the sums over batch rows and neurons and the chain rule are computed in
//! [`Real::Lane`] and rounded to `T` once, when a gradient is written (for
//! `F16Storage`: binary32, then binary16; `docs/semantics.md`).
//!
//! # The code, by job
//! - this module: the [`Layer`] type, its constructor and accessors, and the
//!   per-element helpers the passes share;
//! - `checks`: the checks of sizes and parameters (bad input returns an
//!   [`Error`], never a panic);
//! - `step`: the single-step API ([`Layer::step`], [`Layer::step_backward`]);
//! - `forward`, `backward`: the fused passes over a sequence;
//! - `param_grads`: the parameter-gradient sums ([`Layer::reduce_param_grads`]
//!   and the chain rule through [`Model::prepare`] per neuron).
//!
//! # Fixed-size arrays and the padding trick
//! Per element a model sees fixed-size arrays ([`States`](crate::model::States), [`Inputs`](crate::model::Inputs),
//! [`Prepared`](crate::model::Prepared), of `MAX_STATES`, `MAX_INPUTS`, `MAX_PREPARED` values)
//! whatever its own counts, so that one generic loop serves every model and
//! compiles to straight-line code. The fused passes fill these arrays from
//! rows of `W` values (`[&[T; W]; MAX_STATES]` and so on), and a model with
//! fewer states or inputs than the maximum still needs a row for every
//! entry. The trailing entries are padding that no model reads:
//! - rows that are read point at a real row (`k.min(M::STATES.len() - 1)`
//!   repeats the last state's row, `k.min(M::INPUTS.len() - 1)` the last
//!   input's) or at a local `zero`/`none` row;
//! - rows that are written point at a local `spare` row when the model has
//!   no such state or the caller wants no such gradient.
//!
//! Both cost nothing: the loops that copy results out stop at the model's
//! own counts, and in optimised builds the padding loads are dead code.
//!
//! # Compile time
//! In optimised builds the fused passes are compiled per model
//! configuration ([`Model::specialize`]) and per combination of the
//! optional gradients, with every per-element function inlined
//! (`#[cfg_attr(not(debug_assertions), inline(always))]`), so the inner loops are straight-line code and
//! vectorise. Unoptimised builds (tests) compile one generic copy that reads
//! the configuration and the optional gradients at run time, and inline
//! nothing: the same operations in the same order, far less code.

mod backward;
mod checks;
mod forward;
mod param_grads;
mod simd;
mod step;

pub use simd::{instruction_set, InstructionSet};
#[doc(hidden)]
pub use simd::{specialize_baseline, specialize_for_cpu};

use crate::error::Error;
use crate::model::{
    zeros, Model, Params, Prepared, Specialized, MAX_INPUTS, MAX_PARAMS, MAX_PREPARED, MAX_STATES,
};
use crate::real::Real;
use crate::rng;
use crate::surrogate::{constants_in, SpikeFn, Surrogate, SurrogateConstants};

/// The default [`Layer`] chunk: elements processed together through all
/// time steps (see [`Layer`] for the trade-off).
pub const DEFAULT_CHUNK: usize = 1024;

/// `W` values of a stream starting at `at`, as a fixed-size array: the inner
/// loops then have a constant trip count and no bounds checks, so they
/// vectorise. (The drivers only ask for in-bounds rows.)
#[cfg_attr(not(debug_assertions), inline(always))]
fn row<T, const W: usize>(stream: &[T], at: usize) -> &[T; W] {
    <&[T; W]>::try_from(&stream[at..at + W]).expect("a row of W values")
}

/// The writable counterpart of [`row`].
#[cfg_attr(not(debug_assertions), inline(always))]
fn row_mut<T, const W: usize>(stream: &mut [T], at: usize) -> &mut [T; W] {
    <&mut [T; W]>::try_from(&mut stream[at..at + W]).expect("a row of W values")
}

/// A parameter: one value for the whole layer, or one value per neuron.
#[derive(Clone, Copy, Debug)]
pub enum Param<'a, T> {
    /// The same value for every neuron.
    Scalar(T),
    /// One value per neuron (`neurons` values, shared by the batch rows).
    PerNeuron(&'a [T]),
}

impl<'a, T: Copy> Param<'a, T> {
    /// The value for neuron `m`.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn at(&self, m: usize) -> T {
        match self {
            Param::Scalar(v) => *v,
            Param::PerNeuron(values) => values[m],
        }
    }

    /// A parameter from its values: one value is a scalar parameter, any
    /// other number of values a per-neuron one (which [`Layer::new`] checks
    /// against the number of neurons).
    pub fn from_values(values: &'a [T]) -> Self {
        match values {
            [value] => Param::Scalar(*value),
            _ => Param::PerNeuron(values),
        }
    }

    /// True for a per-neuron parameter.
    pub fn is_per_neuron(&self) -> bool {
        matches!(self, Param::PerNeuron(_))
    }
}

/// What the forward pass produced, as the backward pass reads it.
#[derive(Clone, Copy, Debug)]
pub struct Saved<'a, T> {
    /// The input streams, `[T][B][M]` each, in the order of [`Model::INPUTS`].
    pub inputs: &'a [&'a [T]],
    /// The initial states, `[B][M]` each, in the order of [`Model::STATES`].
    pub initial: &'a [&'a [T]],
    /// The spikes, `[T][B][M]`.
    pub spikes: &'a [T],
    /// The stored state trajectories, `[T][B][M]` each (every state but the
    /// spike state of recurrent models).
    pub states: &'a [&'a [T]],
}

/// Gradients flowing into the layer's outputs.
#[derive(Clone, Copy, Debug)]
pub struct OutputGrads<'a, T> {
    /// `dL/d spk`, `[T][B][M]`.
    pub spikes: &'a [T],
    /// `dL/d state` per stored state, `[T][B][M]` each, or an empty slice for
    /// a state no loss reads. May be an empty list when none is read.
    pub states: &'a [&'a [T]],
}

/// Where the backward pass writes its gradients. Any slice may be empty to
/// skip that gradient.
#[derive(Debug)]
pub struct InputGrads<'a, 'b, T> {
    /// `dL/d input`, `[T][B][M]` per input stream.
    pub inputs: &'a mut [&'b mut [T]],
    /// `dL/d initial state`, `[B][M]` per state.
    pub initial: &'a mut [&'b mut [T]],
    /// `dL/d parameter` per raw parameter: 1 value for a scalar parameter,
    /// `neurons` values for a per-neuron one. The list may be empty.
    pub params: &'a mut [&'b mut [T]],
}

impl<'a, T> Saved<'a, T> {
    /// What the forward pass produced: `inputs`, `initial`, `spikes`,
    /// `states`, as the fields.
    pub const fn new(
        inputs: &'a [&'a [T]],
        initial: &'a [&'a [T]],
        spikes: &'a [T],
        states: &'a [&'a [T]],
    ) -> Self {
        Saved {
            inputs,
            initial,
            spikes,
            states,
        }
    }
}

impl<'a, T> OutputGrads<'a, T> {
    /// The gradients of the spikes and of the stored states (`states` may
    /// be empty), as the fields.
    pub const fn new(spikes: &'a [T], states: &'a [&'a [T]]) -> Self {
        OutputGrads { spikes, states }
    }
}

impl<'a, 'b, T> InputGrads<'a, 'b, T> {
    /// Where to write the gradients of the inputs, the initial states and
    /// the parameters, as the fields.
    pub fn new(
        inputs: &'a mut [&'b mut [T]],
        initial: &'a mut [&'b mut [T]],
        params: &'a mut [&'b mut [T]],
    ) -> Self {
        InputGrads {
            inputs,
            initial,
            params,
        }
    }
}

/// One layer: a model with its configuration, a surrogate, the batch and
/// layer sizes and the parameters.
///
/// `CHUNK` is how many neurons of a batch row the fused passes carry through
/// all time steps at once. Their state, constants and gradient sums live in
/// fixed-size arrays on the stack, so the inner loops have a constant trip
/// count and vectorise, and wide rows keep the memory streams long. The
/// backward pass uses about `21 · CHUNK · size_of::<T>()` bytes of stack
/// (about 90 KiB for `f32` at the default 1024); pick a smaller `CHUNK` (for
/// example 64) on small stacks. Results do not depend on `CHUNK`.
#[derive(Clone, Debug)]
pub struct Layer<
    'p,
    M: Model,
    S: Surrogate,
    T: Real<Mask = bool>,
    const CHUNK: usize = DEFAULT_CHUNK,
> {
    model: M,
    surrogate: S,
    /// The surrogate's constants in the form the passes compute in.
    constants: SurrogateConstants<T::Lane>,
    seed: u32,
    batch: usize,
    neurons: usize,
    params: [Param<'p, T>; MAX_PARAMS],
}

impl<'p, M: Model, S: Surrogate, T: Real<Mask = bool>> Layer<'p, M, S, T> {
    /// A layer of `neurons` neurons run on `batch` rows at once.
    ///
    /// `params` gives every parameter of [`Model::PARAMS`] in order, in the
    /// layer's precision `T`. Checks the sizes, then every neuron's
    /// parameters (`docs/semantics.md`, "Parameter rules"): every parameter
    /// the model uses must be finite, and the model's own rules
    /// ([`Model::check`]) must hold. A refusal is an
    /// [`Error::InvalidParameter`] naming the model, the parameter, the
    /// neuron (for per-neuron parameters) and the rule.
    ///
    /// A model's name lists must fit the fixed-size arrays the drivers use:
    /// 1 to [`MAX_STATES`] states, 1 to [`MAX_INPUTS`] inputs, at most
    /// [`MAX_PARAMS`] parameters and [`MAX_PREPARED`] prepared constants, and
    /// a spike state ([`Model::SPIKE_STATE`]) only as the last state. This is
    /// a compile-time assertion on `M`: a model that breaks it does not
    /// build (`cargo build` stops with the assertion's message when it
    /// instantiates `Layer::new` for that model; `cargo check` does not
    /// instantiate generic code and so does not see it).
    pub fn new(
        model: M,
        surrogate: S,
        batch: usize,
        neurons: usize,
        params: &[Param<'p, T>],
    ) -> Result<Self, Error> {
        const {
            assert!(
                !M::STATES.is_empty() && M::STATES.len() <= MAX_STATES,
                "a Model has 1 to MAX_STATES states (Model::STATES)"
            );
            assert!(
                !M::INPUTS.is_empty() && M::INPUTS.len() <= MAX_INPUTS,
                "a Model has 1 to MAX_INPUTS input streams (Model::INPUTS)"
            );
            assert!(
                M::PARAMS.len() <= MAX_PARAMS,
                "a Model has at most MAX_PARAMS parameters (Model::PARAMS)"
            );
            assert!(
                M::PREPARED.len() <= MAX_PREPARED,
                "a Model has at most MAX_PREPARED prepared constants (Model::PREPARED)"
            );
            assert!(
                match M::SPIKE_STATE {
                    Some(k) => k + 1 == M::STATES.len(),
                    None => true,
                },
                "a Model's spike state (Model::SPIKE_STATE) is its last state"
            );
        }
        if batch == 0 {
            return Err(Error::EmptyShape {
                dimension: "batch rows",
            });
        }
        if neurons == 0 {
            return Err(Error::EmptyShape {
                dimension: "neurons",
            });
        }
        let elements = batch.checked_mul(neurons).ok_or(Error::ShapeTooLarge)?;
        if u32::try_from(elements).is_err() {
            return Err(Error::ShapeTooLarge);
        }
        if params.len() != M::PARAMS.len() {
            return Err(Error::Count {
                what: "parameters",
                names: M::PARAMS,
                actual: params.len(),
            });
        }
        let mut all = [Param::Scalar(T::zero()); MAX_PARAMS];
        for (k, param) in params.iter().enumerate() {
            if let Param::PerNeuron(values) = param {
                if values.len() != neurons {
                    return Err(Error::ParameterLength {
                        parameter: M::PARAMS[k],
                        expected: neurons,
                        actual: values.len(),
                    });
                }
            }
            all[k] = *param;
        }
        // rounded directly to the precision the passes compute in (binary32
        // for F16Storage; for the other types the same value as in `T`)
        let constants = constants_in::<T::Lane, S>(&surrogate);
        for (k, &c) in constants.iter().enumerate().take(S::CONSTANTS.len()) {
            // finite: |c| < inf is false for NaN and for infinities
            if !c.abs().lt(T::Lane::constant(f64::INFINITY)) {
                return Err(Error::InvalidSurrogate {
                    surrogate: S::NAME,
                    constant: S::CONSTANTS[k],
                });
            }
        }
        let layer = Layer {
            model,
            surrogate,
            constants,
            seed: 0,
            batch,
            neurons,
            params: all,
        };
        layer.check_params()?;
        Ok(layer)
    }
}

impl<'p, M: Model, S: Surrogate, T: Real<Mask = bool>, const CHUNK: usize>
    Layer<'p, M, S, T, CHUNK>
{
    /// Whether the fused passes compile one copy of their loops per model
    /// configuration (see [`Model::specialize`]): for chunks of 64 neurons
    /// and more. Smaller chunks (small stacks, tests, the checker) compile
    /// one generic copy, which computes the same bits.
    const SPECIALIZED: bool = CHUNK >= 64;

    /// The same layer processing `C` neurons at a time (see [`Layer`]).
    ///
    /// `C` must be at least 1: `with_chunk::<0>()` does not compile (a
    /// compile-time assertion, reported by `cargo build` when it
    /// instantiates the call).
    pub fn with_chunk<const C: usize>(self) -> Layer<'p, M, S, T, C> {
        const {
            assert!(
                C > 0,
                "Layer::with_chunk::<C>() needs a chunk of at least 1 neuron"
            )
        };
        Layer {
            model: self.model,
            surrogate: self.surrogate,
            constants: self.constants,
            seed: self.seed,
            batch: self.batch,
            neurons: self.neurons,
            params: self.params,
        }
    }

    /// The same layer drawing its surrogate noise (stochastic surrogates
    /// only) from stream `seed`.
    pub fn with_seed(mut self, seed: u32) -> Self {
        self.seed = seed;
        self
    }

    /// The model.
    pub fn model(&self) -> &M {
        &self.model
    }

    /// The surrogate.
    pub fn surrogate(&self) -> &S {
        &self.surrogate
    }

    /// Rows of the batch.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// Neurons per row.
    pub fn neurons(&self) -> usize {
        self.neurons
    }

    /// `batch · neurons`: values per time step.
    pub fn elements(&self) -> usize {
        self.batch * self.neurons
    }

    /// Values in a sequence of `steps` steps (`steps · batch · neurons`).
    pub fn sequence_len(&self, steps: usize) -> Result<usize, Error> {
        if steps == 0 {
            return Err(Error::EmptyShape {
                dimension: "time steps",
            });
        }
        if u32::try_from(steps).is_err() {
            return Err(Error::ShapeTooLarge);
        }
        steps
            .checked_mul(self.elements())
            .ok_or(Error::ShapeTooLarge)
    }

    /// Length of the accumulator of [`Layer::step_backward`]:
    /// `PREPARED.len() · batch · neurons`.
    pub fn param_accumulator_len(&self) -> usize {
        M::PREPARED.len() * self.elements()
    }

    #[cfg_attr(not(debug_assertions), inline(always))]
    fn raw_params(&self, m: usize) -> Params<T> {
        let mut raw = zeros();
        for (k, value) in raw.iter_mut().enumerate().take(M::PARAMS.len()) {
            *value = self.params[k].at(m);
        }
        raw
    }

    /// The raw parameters of neuron `m` as lanes (exact).
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn lane_params(&self, m: usize) -> Params<T::Lane> {
        self.raw_params(m).map(T::to_lane)
    }

    /// The prepared constants of neuron `m`, computed in lanes from the
    /// stored parameters ([`Model::prepare`] in `T::Lane`: binary32 for
    /// F16Storage; the same arithmetic as `T` for the other types).
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn lane_prepared(&self, model: M, m: usize) -> Prepared<T::Lane> {
        model.prepare(&self.lane_params(m))
    }

    /// The surrogate's random number for `(step, element)` when the
    /// surrogate is stochastic and the pass needs it, else zero.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn noise(&self, needed: bool, step: usize, element: usize) -> T::Lane {
        if S::STOCHASTIC && needed {
            rng::uniform(self.seed, step as u32, element as u32)
        } else {
            T::Lane::zero()
        }
    }

    /// The spike function of one element: the surrogate constants (as
    /// lanes, see [`Layer::lane_constants`]) and its noise.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn spike_fn(constants: SurrogateConstants<T::Lane>, noise: T::Lane) -> SpikeFn<T::Lane> {
        SpikeFn { constants, noise }
    }

    /// The surrogate's constants in the form the loops compute in.
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn lane_constants(&self) -> SurrogateConstants<T::Lane> {
        self.constants
    }

    /// Runs a fused pass: one copy per model configuration for wide chunks
    /// (see `SPECIALIZED`), each compiled for the CPU's widest vector
    /// instructions (see [`simd`]), else one generic copy.
    fn dispatch<R: Specialized>(&self, run: R) -> R::Output {
        if Self::SPECIALIZED {
            T::specialize_fused(self.model, run)
        } else {
            run.run::<{ usize::MAX }>()
        }
    }

    /// The model as a constant of configuration `CONFIG` (the layer's own
    /// model when `CONFIG` is beyond the numbered configurations).
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn configured<const CONFIG: usize>(&self) -> M {
        if CONFIG < M::CONFIGURATIONS {
            M::from_config_index(CONFIG)
        } else {
            self.model
        }
    }

    /// The prepared constants of neurons `m0..m0 + W`, one array per
    /// constant, computed in lanes ([`Layer::lane_prepared`]).
    #[allow(clippy::needless_range_loop)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn prepare_chunk<const W: usize>(&self, model: M, m0: usize) -> [[T::Lane; W]; MAX_PREPARED] {
        let mut prepared = [[T::Lane::zero(); W]; MAX_PREPARED];
        for i in 0..W {
            let p = self.lane_prepared(model, m0 + i);
            for k in 0..M::PREPARED.len() {
                prepared[k][i] = p[k];
            }
        }
        prepared
    }
}

/// The stored states of `M`: all but the spike state (which is the last).
fn stored_names<M: Model>() -> &'static [&'static str] {
    match M::SPIKE_STATE {
        Some(_) => &M::STATES[..M::STATES.len() - 1],
        None => M::STATES,
    }
}
