//! The models, traced: every configuration's forward step and backward
//! step in both precisions, as [`Graph`]s with role-named inputs.

use std::sync::Arc;

use snn_kernels::model::{
    BackIn, Inputs, Prepared, States, StepIn, MAX_INPUTS, MAX_PREPARED, MAX_STATES,
};
use snn_kernels::models::{
    Alpha, Lapicque, Leaky, RLeaky, RLeakyAllToAll, RSynaptic, RSynapticAllToAll, Synaptic,
};
use snn_kernels::surrogate::{SpikeFn, Surrogate, SurrogateConstants};
use snn_kernels::{Model, Real};

use crate::ir::trace::{Precision, Rec, Recording, F16, F32};
use crate::ir::{Float, Graph, Id, Role};

/// The surrogate the models are traced with: never evaluated, since the
/// recording type turns every surrogate call into a [`crate::ir::Callee::Surrogate`]
/// call (the vertex's template argument).
#[derive(Clone, Copy, Debug)]
struct TemplateSurrogate;

impl Surrogate for TemplateSurrogate {
    const NAME: &'static str = "S";
    fn grad<T: Real>(_z: T, _grad: T, _c: &SurrogateConstants<T>, _noise: T) -> T {
        unreachable!("recorded values call the surrogate through Real::surrogate_grad")
    }
}

/// One step of the forward pass, traced.
///
/// Inputs: [`Role::Prepared`], [`Role::State`] (every state before the
/// step), [`Role::Input`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForwardStep {
    /// The program.
    pub graph: Arc<Graph>,
    /// Every state after the step, in the order of `Model::STATES`.
    pub next: Vec<Id>,
    /// The spike.
    pub spike: Id,
}

/// One step of the backward pass, traced, with the sums the backward
/// vertex keeps around it.
///
/// Inputs: [`Role::Prepared`], [`Role::State`] (before the step),
/// [`Role::SavedState`] (after it), [`Role::Input`] (where the model reads
/// them backward), [`Role::GradSpike`], [`Role::Carry`] and
/// [`Role::GradState`] (the gradient into the states after the step is
/// `carry + grad_state`; the spike state of recurrent models has no loss of
/// its own and takes `carry`), [`Role::GradSum`], [`Role::SurrogateConstant`]
/// and [`Role::Noise`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackwardStep {
    /// The program.
    pub graph: Arc<Graph>,
    /// `dL/d state[t-1]`, every state (the next carry).
    pub grad_prev: Vec<Id>,
    /// `dL/d input[t]`, every input stream.
    pub grad_inputs: Vec<Id>,
    /// `sum + dL/d prepared constant` at this step, every constant.
    pub grad_sums: Vec<Id>,
}

/// One model configuration, traced in both precisions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigurationDef {
    /// The configuration's name (`Model::variant`).
    pub variant: String,
    /// Every configuration these programs compute.
    pub serves: Vec<String>,
    /// The forward step, narrow precision first (as [`Float::ALL`]).
    pub forward: Vec<ForwardStep>,
    /// The backward step, narrow precision first.
    pub backward: Vec<BackwardStep>,
    /// Whether the backward step reads the inputs.
    pub reads_inputs: bool,
}

impl ConfigurationDef {
    fn slot(precision: Float) -> usize {
        Float::ALL
            .iter()
            .position(|&p| p == precision)
            .expect("a traced precision")
    }

    /// The forward step in `precision`.
    pub fn forward(&self, precision: Float) -> &ForwardStep {
        &self.forward[Self::slot(precision)]
    }

    /// The backward step in `precision`.
    pub fn backward(&self, precision: Float) -> &BackwardStep {
        &self.backward[Self::slot(precision)]
    }
}

/// One model with its configurations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelDef {
    /// `Model::NAME`.
    pub name: String,
    /// The stem of its vertex class names (`Leaky`, `RSynapticAllToAll`).
    pub stem: String,
    /// `Model::STATES`.
    pub states: Vec<String>,
    /// `Model::SPIKE_STATE`.
    pub spike_state: Option<usize>,
    /// `Model::INPUTS`.
    pub inputs: Vec<String>,
    /// `Model::PREPARED`.
    pub prepared: Vec<String>,
    /// The distinct configurations.
    pub configurations: Vec<ConfigurationDef>,
}

impl ModelDef {
    /// Traces every configuration of `M` in both precisions, under the
    /// class-name stem `stem`. Configurations whose programs are identical
    /// (Lapicque's ways of giving beta, R and C, which only change
    /// `prepare`) share one.
    pub fn of<M: Model>(stem: &str) -> ModelDef {
        let mut configurations: Vec<ConfigurationDef> = Vec::new();
        for index in 0..M::CONFIGURATIONS {
            let model = M::from_config_index(index);
            let forward = vec![
                trace_forward::<M, F16>(model),
                trace_forward::<M, F32>(model),
            ];
            let backward = vec![
                trace_backward::<M, F16>(model),
                trace_backward::<M, F32>(model),
            ];
            let variant = model.variant().to_string();
            if let Some(same) = configurations
                .iter_mut()
                .find(|c| c.forward == forward && c.backward == backward)
            {
                same.serves.push(variant);
                continue;
            }
            configurations.push(ConfigurationDef {
                serves: vec![variant.clone()],
                variant,
                forward,
                backward,
                reads_inputs: model.backward_reads_inputs(),
            });
        }
        let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect();
        ModelDef {
            name: M::NAME.to_string(),
            stem: stem.to_string(),
            states: names(M::STATES),
            spike_state: M::SPIKE_STATE,
            inputs: names(M::INPUTS),
            prepared: names(M::PREPARED),
            configurations,
        }
    }

    /// The states the forward pass stores (all but the spike state).
    pub fn stored(&self) -> Vec<(usize, String)> {
        self.states
            .iter()
            .enumerate()
            .filter(|(k, _)| Some(*k) != self.spike_state)
            .map(|(k, s)| (k, s.clone()))
            .collect()
    }
}

/// The built-in models.
pub fn builtin_models() -> Vec<ModelDef> {
    vec![
        ModelDef::of::<Leaky>("Leaky"),
        ModelDef::of::<Synaptic>("Synaptic"),
        ModelDef::of::<Alpha>("Alpha"),
        ModelDef::of::<Lapicque>("Lapicque"),
        ModelDef::of::<RLeaky>("RLeaky"),
        ModelDef::of::<RLeakyAllToAll>("RLeakyAllToAll"),
        ModelDef::of::<RSynaptic>("RSynaptic"),
        ModelDef::of::<RSynapticAllToAll>("RSynapticAllToAll"),
    ]
}

/// `count` inputs of role `role(k)`, then zeros: the kernels' fixed-size
/// arrays for a model with fewer entries than the maximum.
fn inputs<P: Precision, const N: usize>(count: usize, role: fn(usize) -> Role) -> [Rec<P>; N]
where
    Rec<P>: Real,
{
    core::array::from_fn(|k| {
        if k < count {
            Rec::<P>::input(role(k))
        } else {
            Rec::<P>::zero()
        }
    })
}

fn trace_forward<M: Model, P: Precision>(model: M) -> ForwardStep
where
    Rec<P>: Real<Wide = Rec<F32>>,
{
    let recording = Recording::start();
    let p: Prepared<Rec<P>> = inputs::<P, MAX_PREPARED>(M::PREPARED.len(), Role::Prepared);
    let prev: States<Rec<P>> = inputs::<P, MAX_STATES>(M::STATES.len(), Role::State);
    let x: Inputs<Rec<P>> = inputs::<P, MAX_INPUTS>(M::INPUTS.len(), Role::Input);
    let spike = SpikeFn::new(core::array::from_fn(|k| {
        Rec::<P>::input(Role::SurrogateConstant(k))
    }));
    let at = StepIn::new(&p, &prev, &x, &spike);
    let (next, fired) = model.step::<Rec<P>, TemplateSurrogate>(&at);
    ForwardStep {
        graph: Arc::new(recording.finish()),
        next: next[..M::STATES.len()].iter().map(|v| v.id()).collect(),
        spike: fired.id(),
    }
}

fn trace_backward<M: Model, P: Precision>(model: M) -> BackwardStep
where
    Rec<P>: Real<Wide = Rec<F32>>,
{
    let recording = Recording::start();
    let p: Prepared<Rec<P>> = inputs::<P, MAX_PREPARED>(M::PREPARED.len(), Role::Prepared);
    let prev: States<Rec<P>> = inputs::<P, MAX_STATES>(M::STATES.len(), Role::State);
    let next: States<Rec<P>> = inputs::<P, MAX_STATES>(M::STATES.len(), Role::SavedState);
    // the drivers pass zeros for inputs the backward pass does not read
    let x: Inputs<Rec<P>> = if model.backward_reads_inputs() {
        inputs::<P, MAX_INPUTS>(M::INPUTS.len(), Role::Input)
    } else {
        [Rec::<P>::zero(); MAX_INPUTS]
    };
    let spike = SpikeFn {
        constants: core::array::from_fn(|k| Rec::<P>::input(Role::SurrogateConstant(k))),
        noise: Rec::<P>::input(Role::Noise),
    };
    let grad_spike = Rec::<P>::input(Role::GradSpike);
    let grad_next: States<Rec<P>> = core::array::from_fn(|k| {
        if k >= M::STATES.len() {
            Rec::<P>::zero()
        } else if Some(k) == M::SPIKE_STATE {
            Rec::<P>::input(Role::Carry(k))
        } else {
            Rec::<P>::input(Role::Carry(k)) + Rec::<P>::input(Role::GradState(k))
        }
    });
    let at = StepIn::new(&p, &prev, &x, &spike);
    // f32 and f16 store the step's exact results (`BackIn::next_is_exact`)
    let back = BackIn::new(&next, grad_spike, &grad_next);
    let g = model.step_backward::<Rec<P>, TemplateSurrogate>(&at, &back);
    let grad_sums = (0..M::PREPARED.len())
        .map(|k| (Rec::<P>::input(Role::GradSum(k)) + g.prepared[k]).id())
        .collect();
    BackwardStep {
        graph: Arc::new(recording.finish()),
        grad_prev: g.prev[..M::STATES.len()].iter().map(|v| v.id()).collect(),
        grad_inputs: g.inputs[..M::INPUTS.len()].iter().map(|v| v.id()).collect(),
        grad_sums,
    }
}
