//! Vertices as data: a [`VertexDef`] is a plain value (its kind, template
//! arguments, fields, members and body) from which a printer writes the
//! target's source and [`crate::manifest`] writes the manifest. Nothing here
//! is text in a target language.
//!
//! A body is a short list of [`Stmt`]s: loops over this worker's elements
//! and over time steps, loads and stores of field elements, and
//! [`Block`]s, the traced straight-line programs of [`crate::ir`] with
//! their inputs bound to values of the vertex.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::ir::{Float, Graph, Id, Role, Ty};

/// What a vertex does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VertexKind {
    /// One time step of the forward pass (`...FwdStep`).
    ForwardStep,
    /// The forward pass over `steps` time steps, states in registers,
    /// saving the spikes and state trajectories (`...FwdSeq`).
    ForwardSequence,
    /// The backward pass through time in one reverse sweep (`...BwdSeq`).
    BackwardSequence,
}

impl VertexKind {
    /// The suffix of the class name.
    pub const fn suffix(self) -> &'static str {
        match self {
            VertexKind::ForwardStep => "FwdStep",
            VertexKind::ForwardSequence => "FwdSeq",
            VertexKind::BackwardSequence => "BwdSeq",
        }
    }
}

/// How the prepared constants reach a vertex.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ParamMode {
    /// One value for all elements, as members set by the host.
    Scalar,
    /// One value per element, in vector fields.
    PerNeuron,
}

impl ParamMode {
    /// Both modes.
    pub const ALL: [ParamMode; 2] = [ParamMode::Scalar, ParamMode::PerNeuron];

    /// The tag naming the mode in vertex names.
    pub const fn tag(self) -> &'static str {
        match self {
            ParamMode::Scalar => "scalar",
            ParamMode::PerNeuron => "per_neuron",
        }
    }
}

/// A field's direction, as Poplar's `Input`, `Output`, `InOut`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Read only.
    Input,
    /// Written only.
    Output,
    /// Read and written.
    InOut,
}

/// A vector field's layout, as Poplar's `VectorLayout`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// Pointer and size: the vertex reads its element count `n` from it.
    Span,
    /// Pointer only; the length follows from `n` and the members.
    OnePtr,
}

/// How many elements a field holds, in terms of the vertex's element count
/// `n` and its `steps` member.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Length {
    /// `n`: one value per element.
    Elements,
    /// `steps x n`: a sequence, step `t` of element `i` at `t·n + i`.
    StepsByElements,
    /// `rows x n`: `rows` blocks of one value per element (row `k` of
    /// element `i` at `k·n + i`).
    RowsByElements(u32),
}

impl Length {
    /// The length for `n` elements and `steps` steps; `None` on overflow.
    pub fn of(self, n: usize, steps: usize) -> Option<usize> {
        match self {
            Length::Elements => Some(n),
            Length::StepsByElements => steps.checked_mul(n),
            Length::RowsByElements(rows) => (rows as usize).checked_mul(n),
        }
    }
}

impl fmt::Display for Length {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Length::Elements => write!(f, "n"),
            Length::StepsByElements => write!(f, "steps x n"),
            Length::RowsByElements(rows) => write!(f, "{rows} x n"),
        }
    }
}

/// What a field holds, for the host that connects it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldRole {
    /// Input stream `k` (`Model::INPUTS[k]`).
    Input(usize),
    /// State `k` before the step (single-step vertices).
    PrevState(usize),
    /// The initial value of state `k`.
    InitialState(usize),
    /// The spikes.
    Spikes,
    /// State `k` after the step, or its trajectory over the steps.
    State(usize),
    /// `dL/d spikes`.
    GradSpikes,
    /// `dL/d state k` from losses on the state.
    GradState(usize),
    /// `dL/d input stream k`.
    GradInput(usize),
    /// `dL/d initial state k`.
    GradInitialState(usize),
    /// `dL/d state k` after the last step, flowing in from later steps
    /// (`-0` when none: a pass that is not split in time).
    GradFinalState(usize),
    /// Per element, `dL/d prepared constant k` summed over time, row `k`,
    /// added to what the field holds (`-0` to start a sum).
    GradPrepared,
    /// Prepared constant `k`, one value per element.
    Prepared(usize),
}

/// One vector field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldDef {
    /// The field's name, by which the host binds it.
    pub name: String,
    /// What it holds.
    pub role: FieldRole,
    /// Its direction.
    pub direction: Direction,
    /// The element type.
    pub element: Float,
    /// Its layout.
    pub layout: Layout,
    /// The alignment of its first element, in bytes.
    pub alignment: u32,
    /// Its length.
    pub length: Length,
    /// What it holds.
    pub meaning: String,
}

/// The type of a plain member.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MemberTy {
    /// A floating-point value of the vertex's precision.
    Float(Float),
    /// A 32-bit unsigned integer.
    Unsigned,
}

/// What a member holds, for the host that sets it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberRole {
    /// Prepared constant `k` (scalar parameter mode).
    Prepared(usize),
    /// Surrogate constant `k`.
    SurrogateConstant(usize),
    /// The number of time steps; it sizes the sequence fields.
    Steps,
    /// The seed of the stochastic surrogate's random stream.
    Seed,
    /// The layer-wide index of the vertex's element 0 (the random stream's
    /// element counter).
    ElementOffset,
}

/// One plain member, set by the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberDef {
    /// Its name.
    pub name: String,
    /// Its type.
    pub ty: MemberTy,
    /// What it holds.
    pub role: MemberRole,
    /// What it holds, for people.
    pub meaning: String,
}

/// A template argument of a vertex class.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TemplateArg {
    /// The element type.
    Float(Float),
    /// A tag type naming a model configuration or a parameter mode.
    Tag(String),
    /// The surrogate (a class template parameter, instantiated once per
    /// surrogate).
    Surrogate,
}

/// A local variable of a vertex body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Var {
    /// Its name (an identifier).
    pub name: String,
    /// Its type.
    pub ty: Ty,
    /// True when it is assigned after its declaration.
    pub mutable: bool,
}

/// A variable's number in [`VertexDef::vars`].
pub type VarId = usize;

/// An element index (unsigned arithmetic).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Index {
    /// `i`, this worker's current element.
    Element,
    /// `t`, the current time step.
    Step,
    /// `t·n + i`: element `i` of step `t` in a sequence field.
    At,
    /// `(t - 1)·n + i`: element `i` of the previous step.
    AtPreviousStep,
    /// `k·n + i`: element `i` of row `k`.
    Row(u32),
    /// `member + i`, a member plus the element.
    MemberPlusElement(usize),
}

/// A value a statement reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operand {
    /// A local variable.
    Var(VarId),
    /// A member.
    Member(usize),
    /// An element of a field.
    Load {
        /// The field's number in [`VertexDef::fields`].
        field: usize,
        /// Which element.
        index: Index,
    },
    /// `first` at step 0, `later` at the other steps.
    FirstStepOr {
        /// The value at step 0.
        first: Box<Operand>,
        /// The value at later steps.
        later: Box<Operand>,
    },
    /// A constant, by its bits.
    Const {
        /// Its type.
        ty: Ty,
        /// Its bits.
        bits: u64,
    },
    /// An index as a 32-bit word.
    Word(Index),
}

/// Where a [`Block`] output goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Dest {
    /// A new variable, declared just before the block.
    Declare(VarId),
    /// An existing mutable variable.
    Set(VarId),
    /// An element of a field.
    Store {
        /// The field's number.
        field: usize,
        /// Which element.
        index: Index,
    },
}

/// A traced straight-line program inside a vertex body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// The program (shared between the vertices that run it).
    pub graph: Arc<Graph>,
    /// The value of every input role the program reads.
    pub inputs: Vec<(Role, Operand)>,
    /// The outputs: which node goes where.
    pub outputs: Vec<(Id, Dest)>,
}

impl Block {
    /// The operand bound to `role`.
    pub fn input(&self, role: Role) -> Option<&Operand> {
        self.inputs.iter().find(|(r, _)| *r == role).map(|(_, o)| o)
    }
}

/// A statement of a vertex body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stmt {
    /// Declares a variable with its first value.
    Let(VarId, Operand),
    /// Assigns a mutable variable.
    Set(VarId, Operand),
    /// Writes an element of a field.
    Store {
        /// The field's number.
        field: usize,
        /// Which element.
        index: Index,
        /// The value.
        value: Operand,
    },
    /// The loop over this worker's elements (see [`WorkerSplit`]); the
    /// current element is [`Index::Element`].
    ForElements(Vec<Stmt>),
    /// The loop over the time steps `0..steps`, forward or in reverse; the
    /// current step is [`Index::Step`].
    ForSteps {
        /// From the last step to the first.
        reverse: bool,
        /// The loop body.
        body: Vec<Stmt>,
    },
    /// A traced program.
    Block(Block),
    /// Statements that run only when the surrogate is stochastic.
    IfStochastic(Vec<Stmt>),
}

/// How the elements are shared between a tile's workers.
///
/// Worker `w` takes the groups `w, w + W, w + 2W, ...` of `grain`
/// consecutive elements (`W` workers). A 16-bit store is a read-modify-write
/// of its 32-bit word on the IPU, so a half vertex must never let two
/// workers write halves of one word: half vertices use groups of 4 (two
/// whole words, a `half4`) and need an even `n`, so that every row of a
/// sequence field starts on a word boundary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WorkerSplit {
    /// Consecutive elements per group.
    pub grain: u32,
    /// `n` must be a multiple of this.
    pub element_multiple: u32,
}

impl WorkerSplit {
    /// The split for vertices of this precision.
    pub const fn for_precision(precision: Float) -> WorkerSplit {
        match precision {
            // 32-bit values: one element per turn, as PopLibs splits them
            Float::Binary32 => WorkerSplit {
                grain: 1,
                element_multiple: 1,
            },
            // whole 32-bit words only, as half4 groups
            Float::Binary16 => WorkerSplit {
                grain: 4,
                element_multiple: 2,
            },
        }
    }
}

/// One vertex class: everything a printer or the manifest needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VertexDef {
    /// The class name (`LeakyFwdSeq`).
    pub class: String,
    /// The class's template arguments, in order.
    pub args: Vec<TemplateArg>,
    /// What it does.
    pub kind: VertexKind,
    /// The model (`Model::NAME`).
    pub model: String,
    /// The configuration it was traced for (`Model::variant`).
    pub variant: String,
    /// Every configuration it computes (configurations that differ only in
    /// how the host prepares the constants share a vertex).
    pub serves: Vec<String>,
    /// The element type of its fields and arithmetic.
    pub precision: Float,
    /// How the prepared constants arrive.
    pub mode: ParamMode,
    /// The prepared constants (`Model::PREPARED`), in order.
    pub prepared: Vec<String>,
    /// A sentence for the documentation comment.
    pub doc: String,
    /// Vector fields, in declaration order.
    pub fields: Vec<FieldDef>,
    /// Plain members, in declaration order.
    pub members: Vec<MemberDef>,
    /// The field whose size is the element count `n` (a [`Layout::Span`]).
    pub elements_from: usize,
    /// How the elements are shared between workers.
    pub split: WorkerSplit,
    /// Local variables of the body.
    pub vars: Vec<Var>,
    /// The body of `compute`.
    pub body: Vec<Stmt>,
}

impl VertexDef {
    /// True when the class takes the surrogate as a template argument.
    pub fn takes_surrogate(&self) -> bool {
        self.args.contains(&TemplateArg::Surrogate)
    }

    /// The field named `name`.
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The member with this role.
    pub fn member_with(&self, role: MemberRole) -> Option<&MemberDef> {
        self.members.iter().find(|m| m.role == role)
    }

    /// Every traced block of the body, in order.
    pub fn blocks(&self) -> Vec<&Block> {
        fn walk<'a>(stmts: &'a [Stmt], out: &mut Vec<&'a Block>) {
            for stmt in stmts {
                match stmt {
                    Stmt::Block(block) => out.push(block),
                    Stmt::ForElements(body)
                    | Stmt::ForSteps { body, .. }
                    | Stmt::IfStochastic(body) => walk(body, out),
                    _ => {}
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.body, &mut out);
        out
    }
}
