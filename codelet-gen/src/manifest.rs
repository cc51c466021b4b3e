//! The manifest: every vertex the host can create, with its fields and
//! members, printed from the vertex definitions; as Rust data (for
//! `snn-poplar-host`, which binds fields by name) and as JSON (for people
//! and other hosts).

use serde::{Deserialize, Serialize};

use crate::build::{Codelets, Instance};
use crate::cost::{body_cost, BodyCost};
use crate::ir::{Float, Function};
use crate::print::poplar::vertex_name;
use crate::vertex::{
    Direction, FieldRole, Layout, Length, MemberRole, MemberTy, ParamMode, VertexKind,
};

/// The element type of a field, as Poplar names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Element {
    /// binary32.
    Float,
    /// binary16.
    Half,
}

impl From<Float> for Element {
    fn from(f: Float) -> Self {
        match f {
            Float::Binary16 => Element::Half,
            Float::Binary32 => Element::Float,
        }
    }
}

impl Element {
    /// Poplar's name of the type.
    pub const fn name(self) -> &'static str {
        match self {
            Element::Float => "float",
            Element::Half => "half",
        }
    }

    /// Bytes per value.
    pub const fn bytes(self) -> usize {
        match self {
            Element::Float => 4,
            Element::Half => 2,
        }
    }
}

/// One vector field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldInfo {
    /// Its name, by which the host binds it.
    pub name: String,
    /// What it holds.
    pub role: FieldRole,
    /// Its direction.
    pub direction: Direction,
    /// The element type.
    pub element: Element,
    /// Its layout.
    pub layout: Layout,
    /// The alignment of its first element, in bytes.
    pub alignment: u32,
    /// Its length in terms of `n` (the size of the first field) and `steps`.
    pub length: Length,
    /// What it holds.
    pub meaning: String,
}

/// The type of a member, as Poplar names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberType {
    /// `float`.
    Float,
    /// `half`.
    Half,
    /// `unsigned`.
    Unsigned,
}

impl MemberType {
    /// Poplar's name of the type.
    pub const fn name(self) -> &'static str {
        match self {
            MemberType::Float => "float",
            MemberType::Half => "half",
            MemberType::Unsigned => "unsigned",
        }
    }
}

impl From<MemberTy> for MemberType {
    fn from(ty: MemberTy) -> Self {
        match ty {
            MemberTy::Float(Float::Binary32) => MemberType::Float,
            MemberTy::Float(Float::Binary16) => MemberType::Half,
            MemberTy::Unsigned => MemberType::Unsigned,
        }
    }
}

/// One plain member, set by the host (`graph.setInitialValue`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberInfo {
    /// Its name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub ty: MemberType,
    /// What it holds.
    pub role: MemberRole,
    /// What it holds, for people.
    pub meaning: String,
}

/// One vertex.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VertexInfo {
    /// The name the host uses (`graph.addVertex(cs, name)`), for example
    /// `snn::LeakyFwdSeq<float,snn::subtract,snn::scalar>`.
    pub name: String,
    /// What it does.
    pub kind: VertexKind,
    /// The model (`Model::NAME`).
    pub model: String,
    /// The model configuration (`Model::variant`) the vertex was traced for.
    pub variant: String,
    /// Every configuration this vertex computes.
    pub serves: Vec<String>,
    /// The element type of its fields.
    pub precision: Element,
    /// True when the prepared constants are vector fields (one value per
    /// element), false when they are members.
    pub per_neuron: bool,
    /// The surrogate (backward vertices).
    pub surrogate: Option<String>,
    /// The surrogate's constants, in the order of the members
    /// `surrogate0..surrogate3` (backward vertices).
    pub surrogate_constants: Vec<String>,
    /// Vector fields, in declaration order.
    pub fields: Vec<FieldInfo>,
    /// Plain members, in declaration order.
    pub members: Vec<MemberInfo>,
    /// The prepared constants (`Model::PREPARED`), in order.
    pub prepared: Vec<String>,
    /// Each worker takes groups of this many consecutive elements.
    pub worker_grain: u32,
    /// The element count `n` must be a multiple of this.
    pub element_multiple: u32,
    /// The body's operations per loop level and its size, for cycle and
    /// code-size estimates (see [`crate::cost`]). Absent (`None`) in
    /// manifests written before it was added, which still read.
    #[serde(default)]
    pub cost: Option<BodyCost>,
}

impl VertexInfo {
    /// The field named `name`.
    pub fn field(&self, name: &str) -> Option<&FieldInfo> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// The member named `name`.
    pub fn member(&self, name: &str) -> Option<&MemberInfo> {
        self.members.iter().find(|m| m.name == name)
    }

    /// The field with this role.
    pub fn field_with(&self, role: FieldRole) -> Option<&FieldInfo> {
        self.fields.iter().find(|f| f.role == role)
    }

    /// The member with this role.
    pub fn member_with(&self, role: MemberRole) -> Option<&MemberInfo> {
        self.members.iter().find(|m| m.role == role)
    }

    /// The field whose size is the element count (the first one).
    pub fn elements_field(&self) -> &FieldInfo {
        &self.fields[0]
    }

    /// A one-line description of the fields and members in declaration
    /// order (`in initial_mem half span 8;...;member steps unsigned`): the
    /// host harness compiles it beside each vertex, and the emulator
    /// compares it with the manifest before binding anything.
    pub fn layout(&self) -> String {
        let mut parts: Vec<String> = self
            .fields
            .iter()
            .map(|f| {
                let direction = match f.direction {
                    Direction::Input => "in",
                    Direction::Output => "out",
                    Direction::InOut => "inout",
                };
                let layout = match f.layout {
                    Layout::Span => "span",
                    Layout::OnePtr => "one_ptr",
                };
                format!(
                    "{direction} {} {} {layout} {}",
                    f.name,
                    f.element.name(),
                    f.alignment
                )
            })
            .collect();
        parts.extend(
            self.members
                .iter()
                .map(|m| format!("member {} {}", m.name, m.ty.name())),
        );
        parts.join(";")
    }
}

/// The manifest entry of one vertex (the random stream's functions traced
/// once more for its cost; [`entries`] uses the codelets' own).
pub fn entry(instance: &Instance<'_>) -> VertexInfo {
    entry_with(instance, &crate::build::functions::uniform_functions())
}

/// The manifest entry of one vertex whose body may call the random stream
/// `uniform` ([`Codelets::uniform`]).
pub fn entry_with(instance: &Instance<'_>, uniform: &[Function]) -> VertexInfo {
    let def = instance.def;
    let mut members: Vec<MemberInfo> = def
        .members
        .iter()
        .map(|m| MemberInfo {
            name: m.name.clone(),
            ty: m.ty.into(),
            role: m.role,
            meaning: m.meaning.clone(),
        })
        .collect();
    if let Some(surrogate) = instance.surrogate {
        for member in &mut members {
            if let MemberRole::SurrogateConstant(k) = member.role {
                if let Some(name) = surrogate.constants.get(k) {
                    member.meaning = format!("surrogate constant `{name}`");
                }
            }
        }
    }
    debug_assert_eq!(def.elements_from, 0);
    debug_assert_eq!(def.fields[0].layout, Layout::Span);
    VertexInfo {
        name: vertex_name(instance),
        kind: def.kind,
        model: def.model.clone(),
        variant: def.variant.clone(),
        serves: def.serves.clone(),
        precision: def.precision.into(),
        per_neuron: def.mode == ParamMode::PerNeuron,
        surrogate: instance.surrogate.map(|s| s.name.clone()),
        surrogate_constants: instance
            .surrogate
            .map(|s| s.constants.clone())
            .unwrap_or_default(),
        fields: def
            .fields
            .iter()
            .map(|f| FieldInfo {
                name: f.name.clone(),
                role: f.role,
                direction: f.direction,
                element: f.element.into(),
                layout: f.layout,
                alignment: f.alignment,
                length: f.length,
                meaning: f.meaning.clone(),
            })
            .collect(),
        members,
        prepared: def.prepared.clone(),
        worker_grain: def.split.grain,
        element_multiple: def.split.element_multiple,
        cost: Some(body_cost(instance, uniform)),
    }
}

/// Every vertex of the codelets, in file order.
pub fn entries(codelets: &Codelets) -> Vec<VertexInfo> {
    codelets
        .instances()
        .iter()
        .map(|i| entry_with(i, &codelets.uniform))
        .collect()
}

/// The manifest's format number (2: typed lengths, member roles, worker
/// split; the optional `cost` of each vertex was added within format 2, so
/// manifests without it still read).
pub const FORMAT: u32 = 2;

/// The manifest as JSON (pretty-printed, deterministic).
pub fn to_json(vertices: &[VertexInfo]) -> String {
    #[derive(Serialize)]
    struct Manifest<'a> {
        generator: &'static str,
        format: u32,
        vertices: &'a [VertexInfo],
    }
    let mut text = serde_json::to_string_pretty(&Manifest {
        generator: concat!("snn-codelet-gen ", env!("CARGO_PKG_VERSION")),
        format: FORMAT,
        vertices,
    })
    .expect("the manifest is plain data");
    text.push('\n');
    text
}

/// Reads a manifest written by [`to_json`].
pub fn from_json(text: &str) -> Result<Vec<VertexInfo>, String> {
    #[derive(Deserialize)]
    struct Manifest {
        format: u32,
        vertices: Vec<VertexInfo>,
    }
    let manifest: Manifest =
        serde_json::from_str(text).map_err(|e| format!("not a manifest: {e}"))?;
    if manifest.format != FORMAT {
        return Err(format!(
            "manifest format {} (this reader knows format {FORMAT}); regenerate it with this version of snn-codelet-gen",
            manifest.format
        ));
    }
    for vertex in &manifest.vertices {
        if vertex.fields.first().map(|f| f.layout) != Some(Layout::Span) {
            return Err(format!(
                "{}: the first field must be a SPAN field (it gives the element count)",
                vertex.name
            ));
        }
    }
    Ok(manifest.vertices)
}
