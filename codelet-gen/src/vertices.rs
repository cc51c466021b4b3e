//! The vertex classes around the traced kernel bodies, and the codelet file.
//!
//! For every model configuration, precision (`float`, `half`) and parameter
//! mode (`scalar`: prepared constants are members set by the host;
//! `per_neuron`: one value per element in a vector field) three
//! `poplar::MultiVertex` classes, their elements split over the workers:
//!
//! - `snn::<Model>FwdStep<T,Variant,Params>`: one time step;
//! - `snn::<Model>FwdSeq<T,Variant,Params>`: `steps` time steps with the
//!   states in registers, writing the spikes and the state trajectories
//!   (what the backward pass reads);
//! - `snn::<Model>BwdSeq<T,Variant,Params,Surrogate>`: the backward pass
//!   through time in one reverse sweep, writing the gradients of every input
//!   step and initial state, and per element the sums over time of the
//!   prepared constants' gradients (the host sums them over the batch and
//!   takes them through `prepare`, as `Layer::reduce_param_grads` does).
//!
//! The vertices take the *prepared* constants (`Model::PREPARED`, for
//! example `clamp(beta, 0, 1)`); the host computes them with the kernels'
//! own `Model::prepare`. Surrogates are structs with a static `grad`
//! (traced from `Surrogate::grad`), the backward vertices' last template
//! argument.
//!
//! Layouts: a sequence field holds `[steps][n]` values (step `t` of element
//! `i` at `t * n + i`); `n` is the size of the first `SPAN` field.

use std::fmt::Write as _;

use snn_kernels::model::{Inputs, Prepared, States, MAX_INPUTS, MAX_PREPARED, MAX_STATES};
use snn_kernels::models::{
    Alpha, Lapicque, Leaky, RLeaky, RLeakyAllToAll, RSynaptic, RSynapticAllToAll, Synaptic,
};
use snn_kernels::rng::uniform_from_counters;
use snn_kernels::surrogate::{self as ks, SpikeFn, Surrogate, SurrogateConstants};
use snn_kernels::{Model, Real};

use crate::cpp::Printer;
use crate::manifest::{Direction, Field, Layout, Member, VertexInfo, VertexKind};
use crate::record::{Precision, Rec, RecWord, Recording, F16, F32};

/// The surrogate the models are traced with: never evaluated, since the
/// recording type turns every surrogate call into a call of the template
/// argument `S`.
#[derive(Clone, Copy, Debug)]
struct AnySurrogate;

impl Surrogate for AnySurrogate {
    const NAME: &'static str = "S";
    fn grad<T: Real>(_z: T, _grad: T, _c: &SurrogateConstants<T>, _noise: T) -> T {
        unreachable!("recorded values call the surrogate through Real::surrogate_grad")
    }
}

/// One surrogate's generated code.
#[derive(Clone, Debug)]
pub struct SurrogateCode {
    /// `Surrogate::NAME`.
    pub name: String,
    /// `Surrogate::CONSTANTS`.
    pub constants: Vec<String>,
    /// `Surrogate::STOCHASTIC`.
    pub stochastic: bool,
    /// The C++ struct.
    pub cpp: String,
}

impl SurrogateCode {
    /// Traces `S::grad` in both precisions.
    pub fn of<S: Surrogate>() -> SurrogateCode {
        let mut cpp = format!(
            "/// The `{}` surrogate: `dL/dz` from `grad = dL/dh`.\nstruct {} {{\n  static constexpr bool stochastic = {};\n",
            S::NAME,
            S::NAME,
            S::STOCHASTIC
        );
        cpp.push_str(&surrogate_function::<S, F32>());
        cpp.push_str(&surrogate_function::<S, F16>());
        cpp.push_str("};\n");
        SurrogateCode {
            name: S::NAME.to_string(),
            constants: S::CONSTANTS.iter().map(|c| c.to_string()).collect(),
            stochastic: S::STOCHASTIC,
            cpp,
        }
    }
}

fn surrogate_function<S: Surrogate, P: Precision>() -> String
where
    Rec<P>: Real,
{
    let recording = Recording::start();
    let z = Rec::<P>::input("z");
    let grad = Rec::<P>::input("grad");
    let c: SurrogateConstants<Rec<P>> = core::array::from_fn(|k| Rec::<P>::input(&format!("c{k}")));
    let noise = Rec::<P>::input("noise");
    let result = S::grad(z, grad, &c, noise);
    let graph = recording.finish();
    let t = P::CPP;
    let mut printer = Printer::new(&graph);
    let body = printer.body(&[("result".into(), result.id())], "r", "    ");
    format!(
        "  static {t} grad([[maybe_unused]] {t} z, [[maybe_unused]] {t} grad, [[maybe_unused]] {t} c0, [[maybe_unused]] {t} c1,\n                  [[maybe_unused]] {t} c2, [[maybe_unused]] {t} c3, [[maybe_unused]] {t} noise) {{\n    {t} result;\n{body}    return result;\n  }}\n"
    )
}

/// The ten built-in surrogates.
pub fn builtin_surrogates() -> Vec<SurrogateCode> {
    vec![
        SurrogateCode::of::<ks::Atan>(),
        SurrogateCode::of::<ks::FastSigmoid>(),
        SurrogateCode::of::<ks::Sigmoid>(),
        SurrogateCode::of::<ks::Triangular>(),
        SurrogateCode::of::<ks::StraightThrough>(),
        SurrogateCode::of::<ks::Heaviside>(),
        SurrogateCode::of::<ks::SpikeRateEscape>(),
        SurrogateCode::of::<ks::SparseFastSigmoid>(),
        SurrogateCode::of::<ks::LeakySpikeOperator>(),
        SurrogateCode::of::<ks::StochasticSpikeOperator>(),
    ]
}

/// The traced bodies of one model configuration in one precision.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Bodies {
    forward: String,
    backward: String,
}

/// One model configuration's generated code.
#[derive(Clone, Debug)]
struct Configuration {
    variant: String,
    serves: Vec<String>,
    float: Bodies,
    half: Bodies,
    reads_inputs: bool,
}

/// One model's generated code.
#[derive(Clone, Debug)]
pub struct ModelCode {
    name: String,
    states: Vec<String>,
    spike_state: Option<usize>,
    inputs: Vec<String>,
    prepared: Vec<String>,
    configurations: Vec<Configuration>,
}

impl ModelCode {
    /// Traces every configuration of `M` in both precisions.
    /// Configurations whose step bodies are identical (Lapicque's ways of
    /// giving beta, R and C, which only change `prepare`) share a vertex.
    pub fn of<M: Model>() -> ModelCode {
        let mut configurations: Vec<Configuration> = Vec::new();
        for index in 0..M::CONFIGURATIONS {
            let model = M::from_config_index(index);
            let float = trace_bodies::<M, F32>(model);
            let half = trace_bodies::<M, F16>(model);
            let variant = model.variant().to_string();
            if let Some(same) = configurations
                .iter_mut()
                .find(|c| c.float == float && c.half == half)
            {
                same.serves.push(variant);
                continue;
            }
            configurations.push(Configuration {
                serves: vec![variant.clone()],
                variant,
                float,
                half,
                reads_inputs: model.backward_reads_inputs(),
            });
        }
        ModelCode {
            name: M::NAME.to_string(),
            states: M::STATES.iter().map(|s| s.to_string()).collect(),
            spike_state: M::SPIKE_STATE,
            inputs: M::INPUTS.iter().map(|s| s.to_string()).collect(),
            prepared: M::PREPARED.iter().map(|s| s.to_string()).collect(),
            configurations,
        }
    }

    fn class_stem(&self) -> String {
        match self.name.as_str() {
            "rleaky" => "RLeaky".into(),
            "rsynaptic" => "RSynaptic".into(),
            "rleaky_all_to_all" => "RLeakyAllToAll".into(),
            "rsynaptic_all_to_all" => "RSynapticAllToAll".into(),
            other => other
                .split('_')
                .map(|part| {
                    let mut chars = part.chars();
                    chars
                        .next()
                        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                        .unwrap_or_default()
                })
                .collect(),
        }
    }

    fn stored(&self) -> Vec<&String> {
        self.states
            .iter()
            .enumerate()
            .filter(|(k, _)| Some(*k) != self.spike_state)
            .map(|(_, s)| s)
            .collect()
    }
}

/// The built-in models.
pub fn builtin_models() -> Vec<ModelCode> {
    vec![
        ModelCode::of::<Leaky>(),
        ModelCode::of::<Synaptic>(),
        ModelCode::of::<Alpha>(),
        ModelCode::of::<Lapicque>(),
        ModelCode::of::<RLeaky>(),
        ModelCode::of::<RLeakyAllToAll>(),
        ModelCode::of::<RSynaptic>(),
        ModelCode::of::<RSynapticAllToAll>(),
    ]
}

fn inputs_of<P: Precision, const N: usize>(names: &[&str], prefix: &str) -> [Rec<P>; N]
where
    Rec<P>: Real,
{
    core::array::from_fn(|k| match names.get(k) {
        Some(name) => Rec::<P>::input(&format!("{prefix}{name}")),
        None => Rec::<P>::zero(),
    })
}

fn trace_bodies<M: Model, P: Precision>(model: M) -> Bodies
where
    Rec<P>: Real<Wide = Rec<F32>>,
{
    let states = M::STATES.len();
    let spike_state = M::SPIKE_STATE;
    // forward: registers s_<state>, inputs in_<input>, constants p_<name>
    let forward = {
        let recording = Recording::start();
        let p: Prepared<Rec<P>> = inputs_of::<P, MAX_PREPARED>(M::PREPARED, "p_");
        let prev: States<Rec<P>> = inputs_of::<P, MAX_STATES>(M::STATES, "s_");
        let x: Inputs<Rec<P>> = inputs_of::<P, MAX_INPUTS>(M::INPUTS, "in_");
        let spike = SpikeFn::new(core::array::from_fn(|k| {
            Rec::<P>::input(&format!("surrogate{k}"))
        }));
        let (next, fired) = model.step::<Rec<P>, AnySurrogate>(&p, &prev, &x, &spike);
        let graph = recording.finish();
        let mut outputs: Vec<(String, u32)> = (0..states)
            .filter(|&k| Some(k) != spike_state)
            .map(|k| (format!("next_{}", M::STATES[k]), next[k].id()))
            .collect();
        outputs.push(("spike".into(), fired.id()));
        Printer::new(&graph).body(&outputs, "r", "        ")
    };
    let backward = {
        let recording = Recording::start();
        let p: Prepared<Rec<P>> = inputs_of::<P, MAX_PREPARED>(M::PREPARED, "p_");
        let prev: States<Rec<P>> = inputs_of::<P, MAX_STATES>(M::STATES, "prev_");
        let next: States<Rec<P>> = inputs_of::<P, MAX_STATES>(M::STATES, "next_");
        // the drivers pass zeros for inputs the backward pass does not read
        let x: Inputs<Rec<P>> = if model.backward_reads_inputs() {
            inputs_of::<P, MAX_INPUTS>(M::INPUTS, "in_")
        } else {
            [Rec::<P>::zero(); MAX_INPUTS]
        };
        let spike = SpikeFn {
            constants: core::array::from_fn(|k| Rec::<P>::input(&format!("surrogate{k}"))),
            noise: Rec::<P>::input("noise"),
        };
        let grad_spike = Rec::<P>::input("grad_spike");
        let grad_next: States<Rec<P>> = inputs_of::<P, MAX_STATES>(M::STATES, "gnext_");
        let g = model.step_backward::<Rec<P>, AnySurrogate>(
            &p, &prev, &next, &x, &spike, grad_spike, &grad_next,
        );
        let graph = recording.finish();
        let mut outputs: Vec<(String, u32)> = Vec::new();
        for (k, name) in M::STATES.iter().enumerate() {
            outputs.push((format!("gprev_{name}"), g.prev[k].id()));
        }
        for (k, name) in M::INPUTS.iter().enumerate() {
            outputs.push((format!("gin_{name}"), g.inputs[k].id()));
        }
        for (k, name) in M::PREPARED.iter().enumerate() {
            outputs.push((format!("gp_{name}"), g.prepared[k].id()));
        }
        Printer::new(&graph).body(&outputs, "r", "        ")
    };
    Bodies { forward, backward }
}

/// The random number of the stochastic surrogate, traced from
/// `snn_kernels::rng::uniform_from_counters`.
fn uniform_function<P: Precision>() -> String
where
    Rec<P>: Real<Wide = Rec<F32>>,
{
    let recording = Recording::start();
    let seed = RecWord::<F32>::input("seed");
    let step = RecWord::<F32>::input("step");
    let element = RecWord::<F32>::input("element");
    let u: Rec<P> = uniform_from_counters::<Rec<P>>(seed, step, element);
    let graph = recording.finish();
    let t = P::CPP;
    let body = Printer::new(&graph).body(&[("result".into(), u.id())], "r", "  ");
    format!(
        "/// Uniform in [0, 1) for (seed, step, element): the kernels' counter-based stream.\ninline {t} uniform_{t}(unsigned seed, unsigned step, unsigned element) {{\n  {t} result;\n{body}  return result;\n}}\n"
    )
}

/// What to generate.
#[derive(Clone, Debug)]
pub struct Options {
    /// The models (default: the eight built-in ones).
    pub models: Vec<ModelCode>,
    /// The surrogates (default: the ten built-in ones); add your own with
    /// [`SurrogateCode::of`].
    pub surrogates: Vec<SurrogateCode>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            models: builtin_models(),
            surrogates: builtin_surrogates(),
        }
    }
}

/// The generated codelets.
#[derive(Clone, Debug)]
pub struct Generated {
    /// `codelets.cpp`: compiles with `popc` for the IPU and, with the
    /// project's host stand-in headers, with a host C++ compiler.
    pub cpp: String,
    /// Every vertex.
    pub vertices: Vec<VertexInfo>,
}

impl Generated {
    /// The manifest as JSON.
    pub fn manifest_json(&self) -> String {
        crate::manifest::to_json(&self.vertices)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Scalar,
    PerNeuron,
}

impl Mode {
    fn tag(self) -> &'static str {
        match self {
            Mode::Scalar => "scalar",
            Mode::PerNeuron => "per_neuron",
        }
    }
}

const HEADER: &str = "\
// Spiking-neuron codelets for the Graphcore IPU.
//
// GENERATED by snn-codelet-gen from the kernels of the snn-kernels crate:
// do not edit; change the Rust kernels and regenerate. Each statement is one
// operation of the Rust kernel, rounded once: float operations as written
// (never contracted into FMA), half operations as a float operation cast back
// to half, constants as exact hexadecimal float literals.
//
// IPU:  popc -O3 --target ipu2 codelets.cpp -o codelets.gp
// Host: compiled with snn-poplar-host's stand-in headers (cpp/stand_in) and
//       -ffp-contract=off -fno-fast-math.

#include <poplar/HalfFloat.hpp>
#include <poplar/Vertex.hpp>

namespace snn {

inline unsigned bits(float x) { return __builtin_bit_cast(unsigned, x); }
inline unsigned short bits(half x) { return __builtin_bit_cast(unsigned short, x); }
inline float float_from_bits(unsigned b) { return __builtin_bit_cast(float, b); }
inline half half_from_bits(unsigned short b) { return __builtin_bit_cast(half, b); }
/// a + b rounded once to the type.
inline float add(float a, float b) { return a + b; }
inline half add(half a, half b) { return half(float(a) + float(b)); }

/// Parameter modes: prepared constants as members, or one value per element.
struct scalar {};
struct per_neuron {};

";

/// Generates the codelet file and the manifest.
pub fn generate(options: &Options) -> Generated {
    let mut cpp = String::from(HEADER);
    // the configuration tags
    let mut tags: Vec<String> = options
        .models
        .iter()
        .flat_map(|m| m.configurations.iter().map(|c| c.variant.clone()))
        .collect();
    tags.sort();
    tags.dedup();
    cpp.push_str("/// Model configurations (reset mechanism, reset_delay, ...).\n");
    for tag in &tags {
        let _ = writeln!(cpp, "struct {tag} {{}};");
    }
    cpp.push('\n');
    cpp.push_str(&uniform_function::<F32>());
    cpp.push_str(&uniform_function::<F16>());
    cpp.push('\n');
    for surrogate in &options.surrogates {
        cpp.push_str(&surrogate.cpp);
        cpp.push('\n');
    }
    let mut vertices = Vec::new();
    let mut instantiations = String::new();
    for model in &options.models {
        let stem = model.class_stem();
        let _ = writeln!(
            cpp,
            "// ---- {} ----\ntemplate <typename T, typename Variant, typename Params> class {stem}FwdStep;\ntemplate <typename T, typename Variant, typename Params> class {stem}FwdSeq;\ntemplate <typename T, typename Variant, typename Params, typename Surrogate> class {stem}BwdSeq;\n",
            model.name
        );
        for configuration in &model.configurations {
            for (t, bodies) in [
                ("float", &configuration.float),
                ("half", &configuration.half),
            ] {
                for mode in [Mode::Scalar, Mode::PerNeuron] {
                    let v = VertexWriter {
                        model,
                        configuration,
                        t,
                        mode,
                        stem: &stem,
                    };
                    let (text, info) = v.forward_step(&bodies.forward);
                    cpp.push_str(&text);
                    vertices.push(info);
                    let (text, info) = v.forward_sequence(&bodies.forward);
                    cpp.push_str(&text);
                    vertices.push(info);
                    let (text, infos) = v.backward_sequence(&bodies.backward, &options.surrogates);
                    cpp.push_str(&text);
                    for info in infos {
                        let _ =
                            writeln!(instantiations, "template class {};", cpp_name(&info.name));
                        vertices.push(info);
                    }
                }
            }
        }
    }
    cpp.push_str("} // namespace snn\n\n// Every backward vertex, once per surrogate.\n");
    cpp.push_str(&instantiations);
    Generated { cpp, vertices }
}

/// The C++ spelling of a vertex name (`,` followed by a space).
fn cpp_name(name: &str) -> String {
    name.replace(',', ", ")
}

struct VertexWriter<'a> {
    model: &'a ModelCode,
    configuration: &'a Configuration,
    t: &'static str,
    mode: Mode,
    stem: &'a str,
}

/// Builds a vertex's fields, members and their C++ declarations.
#[derive(Default)]
struct Declarations {
    fields: Vec<Field>,
    members: Vec<Member>,
    text: String,
}

impl Declarations {
    fn field(
        &mut self,
        name: String,
        direction: Direction,
        t: &str,
        layout: Layout,
        length: &str,
        meaning: String,
    ) {
        let wrapper = match direction {
            Direction::Input => "Input",
            Direction::Output => "Output",
            Direction::InOut => "InOut",
        };
        let vector = match layout {
            Layout::Span => format!("poplar::Vector<{t}>"),
            Layout::OnePtr => format!("poplar::Vector<{t}, poplar::VectorLayout::ONE_PTR>"),
        };
        let _ = writeln!(
            self.text,
            "  poplar::{wrapper}<{vector}> {name};  // [{length}] {meaning}"
        );
        self.fields.push(Field {
            name,
            direction,
            element: t.to_string(),
            layout,
            length: length.to_string(),
            meaning,
        });
    }

    fn member(&mut self, name: String, ty: &str, meaning: String) {
        let _ = writeln!(self.text, "  {ty} {name};  // {meaning}");
        self.members.push(Member {
            name,
            ty: ty.to_string(),
            meaning,
        });
    }
}

impl VertexWriter<'_> {
    fn name(&self, kind: &str, surrogate: Option<&str>) -> String {
        let mut name = format!(
            "snn::{}{kind}<{},snn::{},snn::{}",
            self.stem,
            self.t,
            self.configuration.variant,
            self.mode.tag()
        );
        if let Some(s) = surrogate {
            let _ = write!(name, ",snn::{s}");
        }
        name.push('>');
        name
    }

    fn info(&self, name: String, kind: VertexKind, d: Declarations) -> VertexInfo {
        VertexInfo {
            name,
            kind,
            model: self.model.name.clone(),
            variant: self.configuration.variant.clone(),
            serves: self.configuration.serves.clone(),
            precision: self.t.to_string(),
            per_neuron: self.mode == Mode::PerNeuron,
            surrogate: None,
            surrogate_constants: Vec::new(),
            fields: d.fields,
            members: d.members,
            prepared: self.model.prepared.clone(),
        }
    }

    /// `initial_<state>` for every state, the first one `SPAN` (it gives `n`).
    fn initial_state_fields(&self, d: &mut Declarations) {
        for (k, state) in self.model.states.iter().enumerate() {
            let layout = if k == 0 { Layout::Span } else { Layout::OnePtr };
            d.field(
                format!("initial_{state}"),
                Direction::Input,
                self.t,
                layout,
                "n",
                format!("initial state `{state}`"),
            );
        }
    }

    /// `compute`'s opening: `n` from the `SPAN` field `span_field`, the
    /// prepared constants, and the loop over this worker's elements.
    fn compute_head(&self, span_field: &str) -> String {
        let mut s = format!(
            "\n  void compute(unsigned workerId) {{\n    const unsigned n = {span_field}.size();\n"
        );
        s.push_str(&self.load_prepared("    ", false));
        s.push_str("    for (unsigned i = workerId; i < n; i += numWorkers()) {\n");
        s.push_str(&self.load_prepared("      ", true));
        s
    }

    /// Declares the prepared constants (members or vector fields).
    fn prepared_declarations(&self, d: &mut Declarations) {
        for name in &self.model.prepared {
            match self.mode {
                Mode::Scalar => {
                    d.member(name.clone(), self.t, format!("prepared constant `{name}`"))
                }
                Mode::PerNeuron => d.field(
                    name.clone(),
                    Direction::Input,
                    self.t,
                    Layout::OnePtr,
                    "n",
                    format!("prepared constant `{name}` of each element"),
                ),
            }
        }
    }

    /// `const T p_<name> = <name>;` (scalar, before the loop) or
    /// `= <name>[i];` (per neuron, in the loop).
    fn load_prepared(&self, indent: &str, in_loop: bool) -> String {
        let mut s = String::new();
        let t = self.t;
        match (self.mode, in_loop) {
            (Mode::Scalar, false) => {
                for name in &self.model.prepared {
                    let _ = writeln!(s, "{indent}[[maybe_unused]] const {t} p_{name} = {name};");
                }
            }
            (Mode::PerNeuron, true) => {
                for name in &self.model.prepared {
                    let _ = writeln!(
                        s,
                        "{indent}[[maybe_unused]] const {t} p_{name} = {name}[i];"
                    );
                }
            }
            _ => {}
        }
        s
    }

    /// `template <>` (or `template <typename S>` for the backward vertices)
    /// and the class head, from the vertex name.
    fn class_open(&self, name: &str, template_surrogate: bool) -> String {
        let template = if template_surrogate {
            "template <typename S>"
        } else {
            "template <>"
        };
        // `snn::LeakyFwdSeq<float,snn::subtract,snn::scalar>` -> `LeakyFwdSeq<float, subtract, scalar>`
        let local = name
            .trim_start_matches("snn::")
            .replace("snn::", "")
            .replace(',', ", ");
        format!("{template}\nclass {local} : public poplar::MultiVertex {{\npublic:\n")
    }

    fn forward_step(&self, body: &str) -> (String, VertexInfo) {
        let t = self.t;
        let name = self.name("FwdStep", None);
        let mut d = Declarations::default();
        for (k, input) in self.model.inputs.iter().enumerate() {
            let layout = if k == 0 { Layout::Span } else { Layout::OnePtr };
            d.field(
                input.clone(),
                Direction::Input,
                t,
                layout,
                "n",
                format!("input `{input}` at this step"),
            );
        }
        for state in &self.model.states {
            d.field(
                format!("prev_{state}"),
                Direction::Input,
                t,
                Layout::OnePtr,
                "n",
                format!("state `{state}` before the step"),
            );
        }
        for state in self.model.stored() {
            d.field(
                state.clone(),
                Direction::Output,
                t,
                Layout::OnePtr,
                "n",
                format!("state `{state}` after the step"),
            );
        }
        d.field(
            "spikes".into(),
            Direction::Output,
            t,
            Layout::OnePtr,
            "n",
            "spikes of the step".into(),
        );
        self.prepared_declarations(&mut d);
        let first = &self.model.inputs[0];
        let mut s = format!(
            "/// One step of {} ({}, {}, prepared constants {}).\n",
            self.model.name,
            self.configuration.serves.join(" / "),
            t,
            self.mode.tag()
        );
        s.push_str(&self.class_open(&name, false));
        s.push_str(&d.text);
        s.push_str(&self.compute_head(first));
        for state in &self.model.states {
            let _ = writeln!(
                s,
                "      [[maybe_unused]] const {t} s_{state} = prev_{state}[i];"
            );
        }
        for input in &self.model.inputs {
            let _ = writeln!(
                s,
                "      [[maybe_unused]] const {t} in_{input} = {input}[i];"
            );
        }
        s.push_str(&self.forward_body_block(body, "      "));
        for state in self.model.stored() {
            let _ = writeln!(s, "      {state}[i] = next_{state};");
        }
        let _ = writeln!(s, "      spikes[i] = spike;\n    }}\n  }}\n}};\n");
        (s, self.info(name, VertexKind::ForwardStep, d))
    }

    /// Declares the outputs of the traced forward body, then the body.
    fn forward_body_block(&self, body: &str, indent: &str) -> String {
        let t = self.t;
        let mut s = String::new();
        for state in self.model.stored() {
            let _ = writeln!(s, "{indent}{t} next_{state};");
        }
        let _ = writeln!(s, "{indent}{t} spike;\n{indent}{{");
        s.push_str(&reindent(body, indent));
        let _ = writeln!(s, "{indent}}}");
        s
    }

    fn forward_sequence(&self, body: &str) -> (String, VertexInfo) {
        let t = self.t;
        let name = self.name("FwdSeq", None);
        let mut d = Declarations::default();
        let states = &self.model.states;
        self.initial_state_fields(&mut d);
        for input in &self.model.inputs {
            d.field(
                input.clone(),
                Direction::Input,
                t,
                Layout::OnePtr,
                "steps * n",
                format!("input `{input}` at every step"),
            );
        }
        d.field(
            "spikes".into(),
            Direction::Output,
            t,
            Layout::OnePtr,
            "steps * n",
            "spikes of every step".into(),
        );
        for state in self.model.stored() {
            d.field(
                state.clone(),
                Direction::Output,
                t,
                Layout::OnePtr,
                "steps * n",
                format!("state `{state}` after every step"),
            );
        }
        self.prepared_declarations(&mut d);
        d.member("steps".into(), "unsigned", "time steps".into());
        let first = &states[0];
        let mut s = format!(
            "/// {} over `steps` time steps ({}, {}, prepared constants {}): states in registers, spikes and state trajectories saved for the backward pass.\n",
            self.model.name,
            self.configuration.serves.join(" / "),
            t,
            self.mode.tag()
        );
        s.push_str(&self.class_open(&name, false));
        s.push_str(&d.text);
        s.push_str(&self.compute_head(&format!("initial_{first}")));
        for state in states {
            let _ = writeln!(
                s,
                "      [[maybe_unused]] {t} s_{state} = initial_{state}[i];"
            );
        }
        let _ = writeln!(s, "      for (unsigned t = 0; t < steps; ++t) {{");
        let _ = writeln!(s, "        const unsigned at = t * n + i;");
        for input in &self.model.inputs {
            let _ = writeln!(
                s,
                "        [[maybe_unused]] const {t} in_{input} = {input}[at];"
            );
        }
        s.push_str(&self.forward_body_block(body, "        "));
        for (k, state) in states.iter().enumerate() {
            if Some(k) == self.model.spike_state {
                let _ = writeln!(s, "        s_{state} = spike;");
            } else {
                let _ = writeln!(s, "        {state}[at] = next_{state};");
                let _ = writeln!(s, "        s_{state} = next_{state};");
            }
        }
        let _ = writeln!(
            s,
            "        spikes[at] = spike;\n      }}\n    }}\n  }}\n}};\n"
        );
        (s, self.info(name, VertexKind::ForwardSequence, d))
    }

    fn backward_sequence(
        &self,
        body: &str,
        surrogates: &[SurrogateCode],
    ) -> (String, Vec<VertexInfo>) {
        let t = self.t;
        let zero = if t == "half" {
            "half(-0x0p+0f)"
        } else {
            "-0x0p+0f"
        };
        let mut d = Declarations::default();
        let states = &self.model.states;
        self.initial_state_fields(&mut d);
        if self.configuration.reads_inputs {
            for input in &self.model.inputs {
                d.field(
                    input.clone(),
                    Direction::Input,
                    t,
                    Layout::OnePtr,
                    "steps * n",
                    format!("input `{input}` at every step"),
                );
            }
        }
        d.field(
            "spikes".into(),
            Direction::Input,
            t,
            Layout::OnePtr,
            "steps * n",
            "spikes of the forward pass".into(),
        );
        for state in self.model.stored() {
            d.field(
                state.clone(),
                Direction::Input,
                t,
                Layout::OnePtr,
                "steps * n",
                format!("state `{state}` after every step, from the forward pass"),
            );
        }
        d.field(
            "grad_spikes".into(),
            Direction::Input,
            t,
            Layout::OnePtr,
            "steps * n",
            "dL/d spikes".into(),
        );
        for state in self.model.stored() {
            d.field(
                format!("grad_{state}"),
                Direction::Input,
                t,
                Layout::OnePtr,
                "steps * n",
                format!("dL/d `{state}` from losses on the state (-0 where none)"),
            );
        }
        for input in &self.model.inputs {
            d.field(
                format!("grad_{input}"),
                Direction::Output,
                t,
                Layout::OnePtr,
                "steps * n",
                format!("dL/d input `{input}`"),
            );
        }
        for state in states {
            d.field(
                format!("grad_initial_{state}"),
                Direction::Output,
                t,
                Layout::OnePtr,
                "n",
                format!("dL/d initial `{state}`"),
            );
        }
        d.field(
            "grad_prepared".into(),
            Direction::Output,
            t,
            Layout::OnePtr,
            "prepared * n",
            "per element, dL/d each prepared constant summed over time (row k: constant k)".into(),
        );
        self.prepared_declarations(&mut d);
        for k in 0..4 {
            d.member(
                format!("surrogate{k}"),
                t,
                format!("surrogate constant {k}"),
            );
        }
        d.member("steps".into(), "unsigned", "time steps".into());
        d.member(
            "seed".into(),
            "unsigned",
            "seed of the stochastic surrogate's stream".into(),
        );
        d.member(
            "element_offset".into(),
            "unsigned",
            "the layer-wide index of element 0 (the stochastic stream's counter)".into(),
        );
        let generic = self.name("BwdSeq", Some("S"));
        let first = &states[0];
        let mut s = format!(
            "/// The backward pass of {} through time ({}, {}, prepared constants {}), one reverse sweep.\n",
            self.model.name,
            self.configuration.serves.join(" / "),
            t,
            self.mode.tag()
        );
        s.push_str(&self.class_open(&generic, true));
        s.push_str(&d.text);
        s.push_str(&self.compute_head(&format!("initial_{first}")));
        for state in states {
            let _ = writeln!(s, "      {t} carry_{state} = {zero};");
        }
        for name in &self.model.prepared {
            let _ = writeln!(s, "      {t} sum_{name} = {zero};");
        }
        let _ = writeln!(s, "      for (unsigned t = steps; t-- > 0;) {{");
        let _ = writeln!(s, "        const unsigned at = t * n + i;");
        for (k, state) in states.iter().enumerate() {
            let trajectory = if Some(k) == self.model.spike_state {
                "spikes".to_string()
            } else {
                state.clone()
            };
            let _ = writeln!(
                s,
                "        [[maybe_unused]] const {t} prev_{state} = t == 0 ? initial_{state}[i] : {trajectory}[at - n];"
            );
            let _ = writeln!(
                s,
                "        [[maybe_unused]] const {t} next_{state} = {trajectory}[at];"
            );
        }
        if self.configuration.reads_inputs {
            for input in &self.model.inputs {
                let _ = writeln!(
                    s,
                    "        [[maybe_unused]] const {t} in_{input} = {input}[at];"
                );
            }
        }
        let _ = writeln!(s, "        const {t} grad_spike = grad_spikes[at];");
        for (k, state) in states.iter().enumerate() {
            if Some(k) == self.model.spike_state {
                let _ = writeln!(s, "        const {t} gnext_{state} = carry_{state};");
            } else {
                let _ = writeln!(
                    s,
                    "        const {t} gnext_{state} = snn::add(carry_{state}, grad_{state}[at]);"
                );
            }
        }
        let _ = writeln!(
            s,
            "        {t} noise = {t}(0.0f);\n        if constexpr (S::stochastic) {{\n          noise = uniform_{t}(seed, t, element_offset + i);\n        }}"
        );
        for state in states {
            let _ = writeln!(s, "        {t} gprev_{state};");
        }
        for input in &self.model.inputs {
            let _ = writeln!(s, "        {t} gin_{input};");
        }
        for name in &self.model.prepared {
            let _ = writeln!(s, "        {t} gp_{name};");
        }
        s.push_str("        {\n");
        s.push_str(&reindent(body, "        "));
        s.push_str("        }\n");
        for state in states {
            let _ = writeln!(s, "        carry_{state} = gprev_{state};");
        }
        for input in &self.model.inputs {
            let _ = writeln!(s, "        grad_{input}[at] = gin_{input};");
        }
        for name in &self.model.prepared {
            let _ = writeln!(s, "        sum_{name} = snn::add(sum_{name}, gp_{name});");
        }
        s.push_str("      }\n");
        for state in states {
            let _ = writeln!(s, "      grad_initial_{state}[i] = carry_{state};");
        }
        for (k, name) in self.model.prepared.iter().enumerate() {
            let _ = writeln!(s, "      grad_prepared[{k} * n + i] = sum_{name};");
        }
        s.push_str("    }\n  }\n};\n\n");
        let infos = surrogates
            .iter()
            .map(|surrogate| {
                let mut d2 = Declarations {
                    fields: d.fields.clone(),
                    members: d.members.clone(),
                    text: String::new(),
                };
                // members: [prepared...,] surrogate0..3, steps, seed, element_offset
                let first_constant = d2.members.len() - 7;
                for (k, c) in surrogate.constants.iter().enumerate() {
                    d2.members[first_constant + k].meaning = format!("surrogate constant `{c}`");
                }
                let mut info = self.info(
                    self.name("BwdSeq", Some(&surrogate.name)),
                    VertexKind::BackwardSequence,
                    d2,
                );
                info.surrogate = Some(surrogate.name.clone());
                info.surrogate_constants = surrogate.constants.clone();
                info
            })
            .collect();
        (s, infos)
    }
}

/// `body` (indented by 8 spaces by the printer) re-indented to one level
/// below `indent`.
fn reindent(body: &str, indent: &str) -> String {
    body.lines()
        .map(|line| format!("{indent}  {}\n", line.trim_start()))
        .collect()
}

impl Generated {
    /// A host-only C++ file that includes `codelets.cpp` and exposes
    /// `extern "C" int snn_host_run(name, fields, lengths, members)`: it
    /// builds the named vertex, binds its fields to `fields[k]` (of
    /// `lengths[k]` elements, in manifest order), sets its members from
    /// `members[k]` (the bits of a `float` or `half`, or an `unsigned`, in
    /// manifest order) and runs `compute` for every worker. Returns 0, or -1
    /// for an unknown name. Not for the IPU.
    pub fn host_harness(&self, codelets_path: &str) -> String {
        let mut s = format!(
            "// Host harness for the generated codelets. GENERATED by snn-codelet-gen: do not edit.\n// Not part of the IPU build: it runs vertices on this CPU through the stand-in headers.\n#include \"{codelets_path}\"\n#include <cstddef>\n#include <cstring>\n\nnamespace {{\n\ntemplate <typename T> T member(unsigned bits);\ntemplate <> float member<float>(unsigned bits) {{ return __builtin_bit_cast(float, bits); }}\ntemplate <> half member<half>(unsigned bits) {{ return __builtin_bit_cast(half, (unsigned short)bits); }}\ntemplate <> unsigned member<unsigned>(unsigned bits) {{ return bits; }}\n\ntemplate <typename V> void run_workers(V &v) {{\n  for (unsigned w = 0; w < poplar::MultiVertex::numWorkers(); ++w) v.compute(w);\n}}\n\nusing Runner = void (*)(void *const *, const std::size_t *, const unsigned *);\n\n"
        );
        for (index, vertex) in self.vertices.iter().enumerate() {
            let _ = writeln!(
                s,
                "void run_{index}([[maybe_unused]] void *const *f, [[maybe_unused]] const std::size_t *len, [[maybe_unused]] const unsigned *m) {{\n  {} v;",
                cpp_name(&vertex.name)
            );
            for (k, field) in vertex.fields.iter().enumerate() {
                let pointer = match field.direction {
                    Direction::Input => format!("const {}", field.element),
                    _ => field.element.clone(),
                };
                let _ = writeln!(
                    s,
                    "  v.{}.bind(static_cast<{pointer} *>(f[{k}]), len[{k}]);",
                    field.name
                );
            }
            for (k, member) in vertex.members.iter().enumerate() {
                let _ = writeln!(s, "  v.{} = member<{}>(m[{k}]);", member.name, member.ty);
            }
            s.push_str("  run_workers(v);\n}\n\n");
        }
        s.push_str(
            "struct Entry {\n  const char *name;\n  Runner run;\n};\n\nconst Entry entries[] = {\n",
        );
        for (index, vertex) in self.vertices.iter().enumerate() {
            let _ = writeln!(s, "    {{\"{}\", run_{index}}},", vertex.name);
        }
        s.push_str("};\n\n} // namespace\n\nextern \"C\" int snn_host_run(const char *name, void *const *fields, const std::size_t *lengths,\n                            const unsigned *members) {\n  for (const Entry &e : entries) {\n    if (std::strcmp(e.name, name) == 0) {\n      e.run(fields, lengths, members);\n      return 0;\n    }\n  }\n  return -1;\n}\n\nextern \"C\" unsigned snn_host_vertex_count() { return sizeof(entries) / sizeof(entries[0]); }\n");
        s
    }
}
