//! What a neuron model is, per element: the [`Model`] trait that every model
//! in [`crate::models`] implements, and the vocabulary it shares.
//!
//! A model is described by the names of its state variables, input streams
//! and parameters, and by four generic functions:
//!
//! - [`Model::prepare`]: the per-neuron constants of the step, computed from
//!   the raw parameters once per call (for example `b = clamp(beta, 0, 1)`);
//! - [`Model::step`]: one time step of one element;
//! - [`Model::step_backward`]: the gradients of that step, recomputing its
//!   intermediate values from the previous state and the inputs;
//! - [`Model::prepare_backward`]: the chain rule through `prepare`.
//!
//! The loops over neurons and time live in [`crate::layer`]; the generator
//! traces these same functions into IPU vertices.

use core::fmt::Debug;

use crate::real::Real;
use crate::surrogate::{SpikeFn, Surrogate};

/// The most state variables a model has (Alpha: `syn_exc`, `syn_inh`, `mem`).
pub const MAX_STATES: usize = 3;
/// The most input streams a model has (all-to-all recurrence: `x`, `rec`).
pub const MAX_INPUTS: usize = 2;
/// The most raw parameters a model has (Lapicque).
pub const MAX_PARAMS: usize = 5;
/// The most prepared per-neuron constants a model has (Lapicque).
pub const MAX_PREPARED: usize = 5;

/// State variables of one element, in the order of [`Model::STATES`].
pub type States<T> = [T; MAX_STATES];
/// Input values of one element at one step, in the order of [`Model::INPUTS`].
pub type Inputs<T> = [T; MAX_INPUTS];
/// Raw parameter values of one neuron, in the order of [`Model::PARAMS`].
pub type Params<T> = [T; MAX_PARAMS];
/// Prepared constants of one neuron, in the order of [`Model::PREPARED`].
pub type Prepared<T> = [T; MAX_PREPARED];

/// An array of `N` zeros (for unused trailing entries).
#[cfg_attr(not(debug_assertions), inline(always))]
pub fn zeros<T: Real, const N: usize>() -> [T; N] {
    [T::zero(); N]
}

/// `-0`, the additive identity of IEEE arithmetic: the value of a gradient
/// that receives no contribution, and where every gradient sum starts
/// (`-0 + x = x` for every `x`, `±0` included, so the first term passes
/// unchanged). Reverse-mode differentiation with adjoints that start at `-0`
/// is the definition the backward passes follow.
#[cfg_attr(not(debug_assertions), inline(always))]
pub fn no_gradient<T: Real>() -> T {
    T::constant(-0.0)
}

/// An array of [`no_gradient`].
#[cfg_attr(not(debug_assertions), inline(always))]
pub fn no_gradients<T: Real, const N: usize>() -> [T; N] {
    [no_gradient(); N]
}

/// snnTorch's `reset_mechanism`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reset {
    /// Subtract the threshold from the membrane after a spike (`"subtract"`).
    Subtract,
    /// Set the membrane to zero after a spike (`"zero"`).
    Zero,
    /// No reset (`"none"`).
    None,
}

impl Reset {
    /// All three mechanisms.
    pub const ALL: [Reset; 3] = [Reset::Subtract, Reset::Zero, Reset::None];

    /// snnTorch's name: `"subtract"`, `"zero"` or `"none"`.
    pub const fn name(self) -> &'static str {
        match self {
            Reset::Subtract => "subtract",
            Reset::Zero => "zero",
            Reset::None => "none",
        }
    }
}

/// A rule that one neuron's parameters break, as [`Model::check`] reports
/// it (the layer turns it into [`Error::InvalidParameter`](crate::Error::InvalidParameter)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refused {
    /// The parameter to change (a name of [`Model::PARAMS`]).
    pub parameter: &'static str,
    /// The rule, and what to change to meet it.
    pub reason: &'static str,
}

/// `x` is neither infinite nor NaN: `x - x` is `0` exactly for finite `x`
/// and NaN otherwise (in every precision, `F16` included).
#[cfg_attr(not(debug_assertions), inline(always))]
#[allow(clippy::eq_op)] // `x - x` is the test itself
pub fn is_finite<T: Real<Mask = bool>>(x: T) -> bool {
    (x - x).eq(T::zero())
}

/// The gradients of one step of one element. Entries that receive no
/// contribution are [`no_gradient`].
#[derive(Clone, Copy, Debug)]
pub struct StepGrads<T> {
    /// `dL/d state[t-1]`, per state variable.
    pub prev: States<T>,
    /// `dL/d input[t]`, per input stream.
    pub inputs: Inputs<T>,
    /// `dL/d prepared constant`, for this step only.
    pub prepared: Prepared<T>,
}

impl<T: Real> StepGrads<T> {
    /// Gradients with no contribution yet.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn none() -> Self {
        StepGrads {
            prev: no_gradients(),
            inputs: no_gradients(),
            prepared: no_gradients(),
        }
    }
}

/// One step of one element as a model sees it.
#[derive(Clone, Copy, Debug)]
pub struct StepIn<'a, T> {
    /// The prepared constants, in the order of [`Model::PREPARED`].
    pub p: &'a Prepared<T>,
    /// The states before the step, in the order of [`Model::STATES`].
    pub prev: &'a States<T>,
    /// The inputs at the step, in the order of [`Model::INPUTS`] (zeros in
    /// the backward pass when [`Model::backward_reads_inputs`] is false and
    /// [`BackIn::next_is_exact`] is true).
    pub inputs: &'a Inputs<T>,
    /// The spike function: `H(z)` forward, the surrogate backward.
    pub spike: &'a SpikeFn<T>,
}

impl<'a, T> StepIn<'a, T> {
    /// The step of these prepared constants, previous states, inputs and
    /// spike function.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn new(
        p: &'a Prepared<T>,
        prev: &'a States<T>,
        inputs: &'a Inputs<T>,
        spike: &'a SpikeFn<T>,
    ) -> Self {
        StepIn {
            p,
            prev,
            inputs,
            spike,
        }
    }

    /// `(p, prev, inputs, spike)`.
    #[allow(clippy::type_complexity)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn parts(
        &self,
    ) -> (
        &'a Prepared<T>,
        &'a States<T>,
        &'a Inputs<T>,
        &'a SpikeFn<T>,
    ) {
        (self.p, self.prev, self.inputs, self.spike)
    }
}

/// What the backward pass of a step knows besides its [`StepIn`].
#[derive(Clone, Copy, Debug)]
pub struct BackIn<'a, T> {
    /// The states after the step, as the forward pass stored them.
    pub next: &'a States<T>,
    /// `dL/d spk[t]`.
    pub grad_spike: T,
    /// `dL/d state[t]`: everything that flows back from later steps and
    /// from losses on the states.
    pub grad_next: &'a States<T>,
    /// True when `next` holds the step's exact results (the storage type's
    /// [`Real::STORES_EXACT_STEP_RESULTS`]): a model may then take an
    /// intermediate value from `next` instead of recomputing it. When
    /// false (`F16Storage`, which stores binary16 roundings of binary32
    /// results), a model recomputes every intermediate value from
    /// `at.prev` and `at.inputs`, which the drivers then always load.
    pub next_is_exact: bool,
}

impl<'a, T> BackIn<'a, T> {
    /// The states after the step and the gradients flowing into it, with
    /// `next` the step's exact results (see [`BackIn::next_is_exact`]).
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn new(next: &'a States<T>, grad_spike: T, grad_next: &'a States<T>) -> Self {
        BackIn {
            next,
            grad_spike,
            grad_next,
            next_is_exact: true,
        }
    }

    /// The same, with `next_is_exact` set (false when the stored states are
    /// roundings of the step's results).
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn with_next_exact(self, next_is_exact: bool) -> Self {
        BackIn {
            next_is_exact,
            ..self
        }
    }

    /// `(next, grad_spike, grad_next)`.
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub fn parts(&self) -> (&'a States<T>, T, &'a States<T>)
    where
        T: Copy,
    {
        (self.next, self.grad_spike, self.grad_next)
    }
}

/// Work to compile once per configuration of a model: [`Model::specialize`]
/// calls `run::<C>()` with `C` the configuration's number (or `usize::MAX`
/// for "read the configuration at run time"), so that the loops inside see
/// the model as a constant and keep no configuration branch.
pub trait Specialized {
    /// What the work gives.
    type Output;
    /// Does the work for configuration `CONFIG`.
    fn run<const CONFIG: usize>(self) -> Self::Output;
}

/// Implements [`Model::specialize`] for a model with the listed
/// configuration numbers: one arm per configuration in optimised builds,
/// the run-time configuration alone in unoptimised builds (far less code
/// to compile, the same operations).
#[macro_export]
macro_rules! specialize_configurations {
    ($($config:literal)*) => {
        #[cfg_attr(not(debug_assertions), inline(always))]
        fn specialize<R: $crate::model::Specialized>(&self, run: R) -> R::Output {
            #[cfg(not(debug_assertions))]
            {
                match self.config_index() {
                    $($config => run.run::<$config>(),)*
                    _ => run.run::<{ usize::MAX }>(),
                }
            }
            #[cfg(debug_assertions)]
            {
                let _ = self;
                run.run::<{ usize::MAX }>()
            }
        }
    };
}

/// One neuron model, per element. Implemented by each type in
/// [`crate::models`]; its value holds the configuration that is fixed for a
/// layer (reset mechanism, `reset_delay`, ...), which selects a code path
/// when a kernel is traced.
pub trait Model: Copy + Debug {
    /// snnTorch's class name in snake case (`"leaky"`, `"rsynaptic"`).
    const NAME: &'static str;
    /// State variables carried from step to step (snnTorch's names).
    const STATES: &'static [&'static str];
    /// Input streams read at every step.
    const INPUTS: &'static [&'static str];
    /// Raw parameters, scalar or per neuron (snnTorch's names).
    const PARAMS: &'static [&'static str];
    /// Per-neuron constants that [`Model::prepare`] derives from the raw
    /// parameters.
    const PREPARED: &'static [&'static str];
    /// The state that holds the previous step's spike, for one-to-one
    /// recurrent models: its trajectory is the spike output itself.
    const SPIKE_STATE: Option<usize> = None;

    /// How many configurations the model has (reset mechanisms, `reset_delay`,
    /// ...); they are numbered `0..CONFIGURATIONS`.
    const CONFIGURATIONS: usize;

    /// This configuration's number in `0..CONFIGURATIONS`. The layer drivers
    /// compile one copy of their loops per configuration, so that no
    /// configuration branch is left inside them.
    fn config_index(&self) -> usize;

    /// The configuration with this number (the inverse of
    /// [`Model::config_index`]).
    fn from_config_index(index: usize) -> Self;

    /// Runs `run` specialised for this configuration (see [`Specialized`];
    /// implemented with [`specialize_configurations!`]).
    fn specialize<R: Specialized>(&self, run: R) -> R::Output;

    /// A short name of the configuration, used in vertex names
    /// (for example `"subtract"`, `"zero_nodelay"`).
    fn variant(&self) -> &'static str;

    /// Whether raw parameter `k` (an index into [`Model::PARAMS`]) enters
    /// this configuration's computation at all (Lapicque ignores the one of
    /// `beta`, `R`, `C` that is not given). Only used parameters must be
    /// finite. The default: every parameter is used.
    fn uses_param(&self, k: usize) -> bool {
        let _ = k;
        true
    }

    /// Checks one neuron's raw parameters against the model's own rules, in
    /// the layer's precision `T`; `Err` names the parameter and the broken
    /// rule. [`Layer::new`](crate::layer::Layer::new) calls it for every
    /// neuron after checking that every used parameter is finite, so a rule
    /// may assume finite values. The default accepts every finite value.
    fn check<T: Real<Mask = bool>>(&self, raw: &Params<T>) -> Result<(), Refused> {
        let _ = raw;
        Ok(())
    }

    /// The per-neuron constants of the step.
    fn prepare<T: Real>(&self, raw: &Params<T>) -> Prepared<T>;

    /// `dL/d raw` from `dL/d prepared` (the chain rule through
    /// [`Model::prepare`]).
    fn prepare_backward<T: Real>(&self, raw: &Params<T>, grad: &Prepared<T>) -> Params<T>;

    /// One step: the next states and the spike.
    fn step<T: Real, S: Surrogate>(&self, at: &StepIn<'_, T>) -> (States<T>, T);

    /// True when [`Model::step_backward`] reads `inputs` even when the
    /// stored states after the step are its exact results
    /// ([`BackIn::next_is_exact`]). When false, it then derives everything
    /// from the states before and after the step, and the drivers do not
    /// load the inputs (they pass zeros): one memory stream less in the
    /// backward pass. When the stored states are not exact (`F16Storage`)
    /// the drivers load the inputs for every model.
    fn backward_reads_inputs(&self) -> bool {
        true
    }

    /// The gradients of one step (see [`BackIn`]). `at.prev` and
    /// `back.next` are the states before and after the step as the forward
    /// pass stored them; when `back.next_is_exact`, a model may take an
    /// intermediate value from `next` instead of recomputing it (it is the
    /// same value, bit for bit); otherwise it must recompute it from
    /// `at.prev` and `at.inputs`.
    fn step_backward<T: Real, S: Surrogate>(
        &self,
        at: &StepIn<'_, T>,
        back: &BackIn<'_, T>,
    ) -> StepGrads<T>;
}

/// The configuration of the models that take snnTorch's `reset_mechanism`
/// and `reset_delay` (Leaky, Synaptic, RLeaky, RSynaptic and the all-to-all
/// variants): six configurations, numbered `reset · 2 + reset_delay`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ResetConfig {
    /// `reset_mechanism` (default subtract).
    pub reset: Reset,
    /// `reset_delay` (default true): with `false` the membrane is reset again
    /// right after firing (`docs/neurons.md`, "Shared mechanics").
    pub reset_delay: bool,
}

impl Default for ResetConfig {
    fn default() -> Self {
        ResetConfig::new(Reset::Subtract, true)
    }
}

impl ResetConfig {
    /// How many configurations there are.
    pub const COUNT: usize = 6;

    /// The configuration with this reset mechanism and `reset_delay`.
    pub const fn new(reset: Reset, reset_delay: bool) -> Self {
        ResetConfig { reset, reset_delay }
    }

    /// This configuration's number in `0..6`: `reset · 2 + reset_delay`.
    pub const fn index(self) -> usize {
        self.reset as usize * 2 + self.reset_delay as usize
    }

    /// The configuration with this number (the inverse of
    /// [`ResetConfig::index`]; indices beyond 5 wrap).
    #[cfg_attr(not(debug_assertions), inline(always))]
    pub const fn from_index(index: usize) -> Self {
        ResetConfig::new(Reset::ALL[(index / 2) % 3], index % 2 == 1)
    }

    /// The name used in vertex names: the reset mechanism's name when the
    /// reset is delayed (the default), with `_nodelay` otherwise
    /// (`"subtract"`, `"zero_nodelay"`).
    pub const fn variant(self) -> &'static str {
        match (self.reset, self.reset_delay) {
            (Reset::Subtract, true) => "subtract",
            (Reset::Zero, true) => "zero",
            (Reset::None, true) => "none",
            (Reset::Subtract, false) => "subtract_nodelay",
            (Reset::Zero, false) => "zero_nodelay",
            (Reset::None, false) => "none_nodelay",
        }
    }
}

/// Declares a model configured by a [`ResetConfig`]: the type wraps one
/// (`Model(ResetConfig)`), and this gives it `new(reset, reset_delay)` and
/// `From<ResetConfig>`. Inside its `impl Model`, [`reset_config_items!`]
/// gives the configuration items.
macro_rules! reset_config_model {
    ($($model:ident),+) => {$(
        impl $model {
            /// The model with this reset mechanism and `reset_delay`.
            pub const fn new(reset: $crate::model::Reset, reset_delay: bool) -> Self {
                $model($crate::model::ResetConfig::new(reset, reset_delay))
            }
        }

        impl From<$crate::model::ResetConfig> for $model {
            fn from(config: $crate::model::ResetConfig) -> Self {
                $model(config)
            }
        }
    )+};
}
pub(crate) use reset_config_model;

/// The [`Model`] items that a model configured by a [`ResetConfig`] (its
/// field `0`) takes from it: `CONFIGURATIONS`, `config_index`,
/// `from_config_index`, `specialize` and `variant`. With `clamped: N`, also
/// `prepare` and `prepare_backward` for a model whose first `N` parameters
/// are decay rates clamped to `[0, 1]` and whose others pass unchanged.
macro_rules! reset_config_items {
    (clamped: $clamped:literal) => {
        $crate::model::reset_config_items!();

        /// `clamp(p, 0, 1)` for the first
        #[doc = stringify!($clamped)]
        /// parameters (the decay rates), the others as given.
        #[cfg_attr(not(debug_assertions), inline(always))]
        fn prepare<T: Real>(&self, raw: &Params<T>) -> Prepared<T> {
            $crate::models::prepare_clamped(raw, $clamped, Self::PARAMS.len())
        }

        #[cfg_attr(not(debug_assertions), inline(always))]
        fn prepare_backward<T: Real>(&self, raw: &Params<T>, grad: &Prepared<T>) -> Params<T> {
            $crate::models::prepare_clamped_backward(raw, grad, $clamped, Self::PARAMS.len())
        }
    };
    () => {
        const CONFIGURATIONS: usize = $crate::model::ResetConfig::COUNT;

        #[cfg_attr(not(debug_assertions), inline(always))]
        fn config_index(&self) -> usize {
            self.0.index()
        }

        #[cfg_attr(not(debug_assertions), inline(always))]
        fn from_config_index(index: usize) -> Self {
            Self($crate::model::ResetConfig::from_index(index))
        }

        $crate::specialize_configurations!(0 1 2 3 4 5);

        fn variant(&self) -> &'static str {
            self.0.variant()
        }
    };
}
pub(crate) use reset_config_items;

/// Declares a model's names and their indices in one place, so that they
/// cannot disagree: for each list (`states`, `inputs`, `params`,
/// `prepared`) a module of index constants (`state::MEM`, `param::BETA`,
/// ...) numbered in the order written, and the list of names (`STATES`,
/// ...), all inside the module `$names`. The model's `impl Model` then
/// sets `const STATES: ... = $names::STATES;` and so on.
///
/// ```ignore
/// model_names! {
///     mod names {
///         states: MEM = "mem";
///         inputs: X = "x";
///         params: BETA = "beta", THRESHOLD = "threshold";
///         prepared: B = "b", THRESHOLD = "threshold";
///     }
/// }
/// ```
macro_rules! model_names {
    (mod $names:ident {
        states: $($state:ident = $state_name:literal),+;
        inputs: $($input:ident = $input_name:literal),+;
        params: $($param:ident = $param_name:literal),+;
        prepared: $($prepared:ident = $prepared_name:literal),+;
    }) => {
        #[allow(dead_code)]
        mod $names {
            pub const STATES: &[&str] = &[$($state_name),+];
            pub const INPUTS: &[&str] = &[$($input_name),+];
            pub const PARAMS: &[&str] = &[$($param_name),+];
            pub const PREPARED: &[&str] = &[$($prepared_name),+];
            /// State indices.
            pub mod state {
                $crate::model::model_names!(@index 0; $($state)+);
            }
            /// Input indices.
            pub mod input {
                $crate::model::model_names!(@index 0; $($input)+);
            }
            /// Raw parameter indices.
            pub mod param {
                $crate::model::model_names!(@index 0; $($param)+);
            }
            /// Prepared constant indices.
            pub mod prepared {
                $crate::model::model_names!(@index 0; $($prepared)+);
            }
        }
    };
    (@index $n:expr; $first:ident $($rest:ident)*) => {
        pub const $first: usize = $n;
        $crate::model::model_names!(@index $n + 1; $($rest)*);
    };
    (@index $n:expr;) => {};
}
pub(crate) use model_names;
