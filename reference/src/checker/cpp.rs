//! The generated vertex C++ as a checker backend: the codelets that
//! `snn-codelet-gen` traced from the kernels, compiled for this CPU by
//! `snn-poplar-host` and run through its layer on vertices
//! ([`snn_poplar_host::VertexLayer`]): the forward vertex (multi-step, or
//! single-step once per step), then the backward-through-time vertex, with
//! the host's part (preparing the constants, reducing the parameter
//! gradients) done as the host crate does it. Every output vertex runs with
//! the worker-overlap check on.

use snn_kernels::model::Model;
use snn_kernels::surrogate as ks;
use snn_kernels::F16;
use snn_poplar_host::emulator::{Element, RunOptions};
use snn_poplar_host::{ForwardVertices, SurrogateSpec, VertexLayer};

use super::kernels::{with_kernel_types, KernelVisitor};
use super::passes::{as_params, param_values, run_case};
use super::{Backend, NOT_GENERATED};
use crate::precision::Precision;
use crate::run::{Case, Outcome};

/// The generated C++ vertices, run on this CPU.
#[derive(Clone, Copy, Debug, Default)]
pub struct GeneratedCppBackend {
    /// Run the forward pass one `FwdStep` vertex call per time step.
    pub single_steps: bool,
}

impl Backend for GeneratedCppBackend {
    fn name(&self) -> &str {
        if self.single_steps {
            "generated-c++ steps"
        } else {
            "generated-c++"
        }
    }

    fn run(&self, case: &Case) -> Result<Outcome, String> {
        with_kernel_types(case, RunVertices(case, self.single_steps))
    }

    fn supports(&self, case: &Case) -> bool {
        case.precision != Precision::F64 && case.precision != Precision::F16Storage
    }

    fn skip_note(&self, case: &Case) -> Option<String> {
        (case.precision == Precision::F16Storage).then(|| NOT_GENERATED.to_string())
    }
}

struct RunVertices<'a>(&'a Case, bool);

impl KernelVisitor for RunVertices<'_> {
    type Output = Result<Outcome, String>;
    fn visit<M: Model, S: ks::Surrogate>(self, model: M, surrogate: S) -> Self::Output {
        let spec = SurrogateSpec::of(&surrogate);
        let how = if self.1 {
            ForwardVertices::Steps
        } else {
            ForwardVertices::Sequence
        };
        match self.0.precision {
            Precision::F32 => run::<M, f32>(model, spec, self.0, how),
            Precision::F16 => run::<M, F16>(model, spec, self.0, how),
            Precision::F64 => Err("the IPU vertices exist in float and half only".into()),
            Precision::F16Storage => Err(NOT_GENERATED.into()),
        }
    }
}

fn run<M: Model, T: Element>(
    model: M,
    surrogate: SurrogateSpec,
    case: &Case,
    how: ForwardVertices,
) -> Result<Outcome, String> {
    let params = param_values::<T>(case);
    let layer = VertexLayer::new(
        model,
        surrogate,
        case.batch,
        case.neurons,
        &as_params(&params),
    )
    .map_err(|e| e.to_string())?
    .with_seed(case.seed)
    .with_options(RunOptions {
        check_worker_overlap: true,
    });
    let err = |e: snn_poplar_host::layer::Error| e.to_string();
    run_case(
        case,
        Box::new(|t, x, s0, spk, s| layer.forward(t, x, s0, spk, s, how).map_err(err)),
        Box::new(|t, saved, grads, out| layer.backward(t, saved, grads, out).map_err(err)),
    )
}
