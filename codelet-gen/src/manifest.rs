//! The manifest: every generated vertex with its fields and members, as
//! Rust data (for `snn-poplar-host`, which binds fields by it) and as JSON
//! (for people).

use serde::{Deserialize, Serialize};

/// What a vertex does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

/// A field's direction, as Poplar's `Input`, `Output`, `InOut`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// Pointer and size (`.size()` gives `n`).
    Span,
    /// Pointer only; the length follows from the members.
    OnePtr,
}

/// One vector field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    /// The C++ member name.
    pub name: String,
    /// Its direction.
    pub direction: Direction,
    /// The element type (`float`, `half`).
    pub element: String,
    /// Its layout.
    pub layout: Layout,
    /// Its length: `n` (elements of this vertex), `steps * n`, or
    /// `prepared * n` (one row of `n` per prepared constant).
    pub length: String,
    /// What it holds.
    pub meaning: String,
}

/// One plain member, set by the host (`graph.setInitialValue`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The C++ member name.
    pub name: String,
    /// Its C++ type (`float`, `half`, `unsigned`).
    pub ty: String,
    /// What it holds.
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
    /// Every configuration this vertex computes (configurations that differ
    /// only in how the host prepares the constants share a vertex).
    pub serves: Vec<String>,
    /// `float` or `half`.
    pub precision: String,
    /// True when the prepared constants are vector fields (one value per
    /// element), false when they are members.
    pub per_neuron: bool,
    /// The surrogate (backward vertices).
    pub surrogate: Option<String>,
    /// The surrogate's constants, in the order of the members
    /// `surrogate0..surrogate3` (backward vertices).
    pub surrogate_constants: Vec<String>,
    /// Vector fields, in binding order.
    pub fields: Vec<Field>,
    /// Plain members, in order.
    pub members: Vec<Member>,
    /// The prepared constants (`Model::PREPARED`), in order.
    pub prepared: Vec<String>,
}

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
        format: 1,
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
    let manifest: Manifest = serde_json::from_str(text).map_err(|e| e.to_string())?;
    if manifest.format != 1 {
        return Err(format!("unknown manifest format {}", manifest.format));
    }
    Ok(manifest.vertices)
}
