//! From kernels to vertex definitions: trace every model configuration,
//! surrogate and the random stream ([`models`], [`functions`]), then wrap
//! the traced programs in vertex classes ([`vertices`]).

pub mod dense;
pub mod functions;
pub mod models;
pub mod optim;
pub mod plain;
pub mod readout;
pub mod vertices;

use crate::ir::{Float, Function};
use crate::vertex::{ParamMode, VertexDef, VertexKind, WorkerSplit};

pub use self::functions::{builtin_surrogates, SurrogateDef};
pub use self::models::{builtin_models, ModelDef};

/// What to generate.
#[derive(Clone, Debug)]
pub struct Options {
    /// The models (default: the eight built-in ones).
    pub models: Vec<ModelDef>,
    /// The surrogates (default: the ten built-in ones); add your own with
    /// [`SurrogateDef::of`].
    pub surrogates: Vec<SurrogateDef>,
    /// How half vertices share their elements between workers (default:
    /// whole 32-bit words, [`WorkerSplit::for_precision`]). Only tests
    /// change it, to show that a per-element split races.
    pub half_split: WorkerSplit,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            models: builtin_models(),
            surrogates: builtin_surrogates(),
            half_split: WorkerSplit::for_precision(Float::Binary16),
        }
    }
}

/// Everything a codelet file holds, as data.
#[derive(Clone, Debug)]
pub struct Codelets {
    /// The model configuration tags (`subtract`, `zero_nodelay`, ...), sorted.
    pub tags: Vec<String>,
    /// The random stream, narrow precision first.
    pub uniform: Vec<Function>,
    /// The surrogates.
    pub surrogates: Vec<SurrogateDef>,
    /// The vertex classes, model by model; the backward classes are
    /// instantiated once per surrogate.
    pub classes: Vec<VertexDef>,
}

/// One vertex the host can create: a class, with its surrogate when the
/// class takes one.
#[derive(Clone, Copy, Debug)]
pub struct Instance<'a> {
    /// The class.
    pub def: &'a VertexDef,
    /// The surrogate it is instantiated with.
    pub surrogate: Option<&'a SurrogateDef>,
}

impl Codelets {
    /// Every vertex the host can create, in file order.
    pub fn instances(&self) -> Vec<Instance<'_>> {
        let mut all = Vec::new();
        for def in &self.classes {
            if def.takes_surrogate() {
                all.extend(self.surrogates.iter().map(|s| Instance {
                    def,
                    surrogate: Some(s),
                }));
            } else {
                all.push(Instance {
                    def,
                    surrogate: None,
                });
            }
        }
        all
    }
}

/// Builds every vertex class of `options`: the models' vertices, then the
/// dense layers', the optimisers' and the readout's.
pub fn generate(options: &Options) -> Codelets {
    let mut tags: Vec<String> = options
        .models
        .iter()
        .flat_map(|m| m.configurations.iter().map(|c| c.variant.clone()))
        .collect();
    tags.sort();
    tags.dedup();
    let mut classes = Vec::new();
    for model in &options.models {
        for configuration in &model.configurations {
            for precision in [Float::Binary32, Float::Binary16] {
                for mode in ParamMode::ALL {
                    for kind in [
                        VertexKind::ForwardStep,
                        VertexKind::ForwardSequence,
                        VertexKind::BackwardSequence,
                    ] {
                        let build = match kind {
                            VertexKind::ForwardStep => vertices::forward_step,
                            VertexKind::ForwardSequence => vertices::forward_sequence,
                            _ => vertices::backward_sequence,
                        };
                        let mut def = build(vertices::Target {
                            model,
                            configuration,
                            precision,
                            mode,
                        });
                        if precision == Float::Binary16 {
                            def.split = options.half_split;
                        }
                        classes.push(def);
                    }
                }
            }
        }
    }
    // the training step's other vertices (binary32 only)
    classes.extend(dense::classes());
    classes.extend(optim::classes());
    classes.extend(readout::classes());
    Codelets {
        tags,
        uniform: functions::uniform_functions(),
        surrogates: options.surrogates.clone(),
        classes,
    }
}
