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
    /// A dense layer's forward pass over a block of rows (`DenseFwd`).
    DenseForward,
    /// A dense layer's input gradient over a block of rows (`DenseBwdInput`).
    DenseGradInput,
    /// A dense layer's weight gradient for a block of outputs
    /// (`DenseBwdWeights`).
    DenseGradWeights,
    /// A dense layer's bias gradient for a block of outputs (`DenseBwdBias`).
    DenseGradBias,
    /// Adam's update of a block of parameters (`AdamUpdate`).
    AdamUpdate,
    /// SGD with momentum's update of a block of parameters (`SgdUpdate`).
    SgdUpdate,
    /// Population spike counts of a block of rows (`PopulationCount`).
    SpikeCount,
    /// The spikes' gradient from the counts' (`PopulationCountBwd`).
    SpikeCountBackward,
    /// The count cross-entropy of a block of rows: gradients, each row's
    /// `log p` of its label and whether it was predicted (`CountCrossEntropy`).
    CountCrossEntropy,
    /// The loss and the correct count from every row's terms (`CountLossTotal`).
    CountLossTotal,
}

impl VertexKind {
    /// The suffix of the class name.
    pub const fn suffix(self) -> &'static str {
        match self {
            VertexKind::ForwardStep => "FwdStep",
            VertexKind::ForwardSequence => "FwdSeq",
            VertexKind::BackwardSequence => "BwdSeq",
            VertexKind::DenseForward => "DenseFwd",
            VertexKind::DenseGradInput => "DenseBwdInput",
            VertexKind::DenseGradWeights => "DenseBwdWeights",
            VertexKind::DenseGradBias => "DenseBwdBias",
            VertexKind::AdamUpdate => "AdamUpdate",
            VertexKind::SgdUpdate => "SgdUpdate",
            VertexKind::SpikeCount => "PopulationCount",
            VertexKind::SpikeCountBackward => "PopulationCountBwd",
            VertexKind::CountCrossEntropy => "CountCrossEntropy",
            VertexKind::CountLossTotal => "CountLossTotal",
        }
    }

    /// True for the neuron models' vertices (`...FwdStep`, `...FwdSeq`,
    /// `...BwdSeq`), whose field lengths follow from `n` and `steps` alone;
    /// the others are whole classes of their own (the suffix is the class).
    pub const fn is_neuron(self) -> bool {
        matches!(
            self,
            VertexKind::ForwardStep | VertexKind::ForwardSequence | VertexKind::BackwardSequence
        )
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
    /// The product of four sizes (a row-major array of that shape).
    Product([Size; 4]),
    /// `(rows - 1)·stride + width` (0 when `rows` is 0): a block of `width`
    /// columns of `rows` rows of a row-major matrix `stride` wide, from
    /// its first element.
    Strided {
        /// Rows.
        rows: Size,
        /// Elements from one row to the next.
        stride: Size,
        /// Columns of the block.
        width: Size,
    },
}

/// One factor of a [`Length`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Size {
    /// 1.
    One,
    /// `n`, the element count.
    Elements,
    /// The value of the (unsigned) member with this role.
    Member(MemberRole),
    /// A fixed number.
    Fixed(u32),
}

impl Size {
    fn resolve(self, n: usize, member: &dyn Fn(MemberRole) -> Option<usize>) -> Option<usize> {
        match self {
            Size::One => Some(1),
            Size::Elements => Some(n),
            Size::Member(role) => member(role),
            Size::Fixed(k) => Some(k as usize),
        }
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Size::One => write!(f, "1"),
            Size::Elements => write!(f, "n"),
            Size::Member(role) => write!(f, "{}", role.size_name()),
            Size::Fixed(k) => write!(f, "{k}"),
        }
    }
}

impl Length {
    /// The length for `n` elements and `steps` steps; `None` on overflow
    /// or when it depends on another member (see [`Length::resolve`]).
    pub fn of(self, n: usize, steps: usize) -> Option<usize> {
        self.resolve(n, &|role| (role == MemberRole::Steps).then_some(steps))
    }

    /// The length for `n` elements and the unsigned members' values
    /// (`member(role)`, `None` for a member the vertex does not have);
    /// `None` on overflow or a missing member.
    pub fn resolve(self, n: usize, member: &dyn Fn(MemberRole) -> Option<usize>) -> Option<usize> {
        match self {
            Length::Elements => Some(n),
            Length::StepsByElements => member(MemberRole::Steps)?.checked_mul(n),
            Length::RowsByElements(rows) => (rows as usize).checked_mul(n),
            Length::Product(sizes) => sizes
                .iter()
                .try_fold(1usize, |a, s| a.checked_mul(s.resolve(n, member)?)),
            Length::Strided {
                rows,
                stride,
                width,
            } => {
                let rows = rows.resolve(n, member)?;
                if rows == 0 {
                    return Some(0);
                }
                (rows - 1)
                    .checked_mul(stride.resolve(n, member)?)?
                    .checked_add(width.resolve(n, member)?)
            }
        }
    }
}

impl fmt::Display for Length {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Length::Elements => write!(f, "n"),
            Length::StepsByElements => write!(f, "steps x n"),
            Length::RowsByElements(rows) => write!(f, "{rows} x n"),
            Length::Product(sizes) => {
                let factors: Vec<String> = sizes
                    .iter()
                    .filter(|s| **s != Size::One)
                    .map(|s| s.to_string())
                    .collect();
                if factors.is_empty() {
                    write!(f, "1")
                } else {
                    write!(f, "{}", factors.join(" x "))
                }
            }
            Length::Strided {
                rows,
                stride,
                width,
            } => write!(f, "({rows} - 1) x {stride} + {width}"),
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
    /// A tensor of a vertex that is not a neuron model (dense layers,
    /// optimisers, readout), bound by its name; its meaning says what.
    Tensor,
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
    /// Rows of a block (dense layers, readout).
    Rows,
    /// A dense layer's input features.
    Inputs,
    /// A dense layer's output features (the width of its output rows).
    Outputs,
    /// The outputs of a block of a dense layer's outputs.
    OutputCount,
    /// Classes of the readout.
    Classes,
    /// Neurons per class of the readout.
    Population,
    /// The batch size the loss divides by, as a float.
    Batch,
}

impl MemberRole {
    /// The name of a size-giving member, as lengths print it.
    pub const fn size_name(self) -> &'static str {
        match self {
            MemberRole::Steps => "steps",
            MemberRole::Rows => "rows",
            MemberRole::Inputs => "inputs",
            MemberRole::Outputs => "outputs",
            MemberRole::OutputCount => "output_count",
            MemberRole::Classes => "classes",
            MemberRole::Population => "population",
            _ => "?",
        }
    }
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
    /// Any unsigned index expression.
    Expr(Ix),
}

/// An unsigned index expression (32-bit arithmetic; the vertex's field
/// lengths keep every value below 2^32).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ix {
    /// `i`, this worker's current element.
    Element,
    /// A loop counter or index local of this name.
    Name(String),
    /// An unsigned member.
    Member(usize),
    /// A constant.
    Const(u32),
    /// `a + b`.
    Add(Box<Ix>, Box<Ix>),
    /// `a · b`.
    Mul(Box<Ix>, Box<Ix>),
    /// `a / b` (integer division; `b` is never 0 where it runs).
    Div(Box<Ix>, Box<Ix>),
    /// `a % b`.
    Rem(Box<Ix>, Box<Ix>),
}

impl Ix {
    /// A counter or local by name.
    pub fn name(name: &str) -> Ix {
        Ix::Name(name.to_string())
    }
    /// `self + other`.
    pub fn plus(self, other: Ix) -> Ix {
        Ix::Add(Box::new(self), Box::new(other))
    }
    /// `self · other`.
    pub fn times(self, other: Ix) -> Ix {
        Ix::Mul(Box::new(self), Box::new(other))
    }
    /// `self / other`.
    pub fn over(self, other: Ix) -> Ix {
        Ix::Div(Box::new(self), Box::new(other))
    }
    /// `self % other`.
    pub fn modulo(self, other: Ix) -> Ix {
        Ix::Rem(Box::new(self), Box::new(other))
    }
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
    /// `const unsigned name = value;`: an index local.
    LetIndex {
        /// Its name.
        name: String,
        /// Its value.
        value: Ix,
    },
    /// `for (unsigned counter = from; counter < to; ++counter)`.
    Loop {
        /// The counter's name ([`Ix::Name`] in the body).
        counter: String,
        /// The first value.
        from: Ix,
        /// One past the last value.
        to: Ix,
        /// The body.
        body: Vec<Stmt>,
    },
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
                    | Stmt::Loop { body, .. }
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
