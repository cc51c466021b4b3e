//! Runs generated vertices on this CPU: the codelets that `build.rs`
//! generated from the kernels (`OUT_DIR/codelets.cpp`, the same file popc
//! compiles for the IPU), compiled with g++ against the stand-in headers.
//!
//! [`run_vertex`] takes a vertex by its manifest name and binds its fields
//! and members **by name**. Before anything runs it checks, against the
//! vertex as compiled (not against a description the caller could change):
//! every field and member given exactly once, no unknown name, element and
//! member types, directions (an output needs a writable buffer), the
//! element count `n` (the first field's length) and every other field's
//! length from `n` and the `steps` member, in checked arithmetic. So no
//! call from safe code can make a vertex read or write out of bounds.

use std::collections::{BTreeSet, HashMap};
use std::ffi::{c_char, c_int, c_uint, c_void, CStr};
use std::fmt;
use std::sync::{Mutex, OnceLock};

use snn_codelet_gen::{Direction, Element as ElementType, MemberRole, MemberType, VertexInfo};

use snn_kernels::{Real, F16};

/// Where `build.rs` wrote the generated C++ (what `popc -O3 --target ipu2`
/// compiles, and what the emulator runs).
pub const CODELETS_PATH: &str = concat!(env!("OUT_DIR"), "/codelets.cpp");

extern "C" {
    fn snn_host_vertex_count() -> c_uint;
    fn snn_host_vertex_name(index: c_uint) -> *const c_char;
    fn snn_host_vertex_layout(index: c_uint) -> *const c_char;
    fn snn_host_run(
        index: c_uint,
        fields: *const *mut c_void,
        lengths: *const usize,
        members: *const c_uint,
        check_overlap: c_int,
        shared_words: *mut c_uint,
    ) -> c_int;
}

/// A value type a field can hold: `f32` (`float`) or [`F16`] (`half`).
pub trait Element: Real<Mask = bool> + bytemuck::Pod + Into<f64> {
    /// The field element type it binds to.
    const TYPE: ElementType;
    /// As a member value.
    fn member(self) -> MemberValue;
}

impl Element for f32 {
    const TYPE: ElementType = ElementType::Float;
    fn member(self) -> MemberValue {
        MemberValue::Float(self)
    }
}

impl Element for F16 {
    const TYPE: ElementType = ElementType::Half;
    fn member(self) -> MemberValue {
        MemberValue::Half(self)
    }
}

/// The data bound to one field.
#[derive(Debug)]
pub enum Buffer<'a> {
    /// Read-only `float` values (for `Input` fields).
    F32(&'a [f32]),
    /// Read-only `half` values.
    F16(&'a [F16]),
    /// Writable `float` values (for `Output` and `InOut` fields; also
    /// accepted by `Input` fields).
    F32Mut(&'a mut [f32]),
    /// Writable `half` values.
    F16Mut(&'a mut [F16]),
}

impl<'a> Buffer<'a> {
    /// Read-only values of either element type.
    pub fn input<T: Element>(values: &'a [T]) -> Self {
        match T::TYPE {
            ElementType::Float => Buffer::F32(bytemuck::cast_slice(values)),
            ElementType::Half => Buffer::F16(bytemuck::cast_slice(values)),
        }
    }

    /// Writable values of either element type.
    pub fn output<T: Element>(values: &'a mut [T]) -> Self {
        match T::TYPE {
            ElementType::Float => Buffer::F32Mut(bytemuck::cast_slice_mut(values)),
            ElementType::Half => Buffer::F16Mut(bytemuck::cast_slice_mut(values)),
        }
    }

    fn len(&self) -> usize {
        match self {
            Buffer::F32(v) => v.len(),
            Buffer::F16(v) => v.len(),
            Buffer::F32Mut(v) => v.len(),
            Buffer::F16Mut(v) => v.len(),
        }
    }

    fn element(&self) -> ElementType {
        match self {
            Buffer::F32(_) | Buffer::F32Mut(_) => ElementType::Float,
            Buffer::F16(_) | Buffer::F16Mut(_) => ElementType::Half,
        }
    }

    fn writable(&self) -> bool {
        matches!(self, Buffer::F32Mut(_) | Buffer::F16Mut(_))
    }

    fn pointer(&mut self) -> *mut c_void {
        match self {
            Buffer::F32(v) => v.as_ptr().cast_mut().cast(),
            Buffer::F16(v) => v.as_ptr().cast_mut().cast(),
            Buffer::F32Mut(v) => v.as_mut_ptr().cast(),
            Buffer::F16Mut(v) => v.as_mut_ptr().cast(),
        }
    }
}

/// The value of one member.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MemberValue {
    /// A `float`.
    Float(f32),
    /// A `half`.
    Half(F16),
    /// An `unsigned`.
    Unsigned(u32),
}

impl MemberValue {
    fn ty(self) -> MemberType {
        match self {
            MemberValue::Float(_) => MemberType::Float,
            MemberValue::Half(_) => MemberType::Half,
            MemberValue::Unsigned(_) => MemberType::Unsigned,
        }
    }

    fn bits(self) -> u32 {
        match self {
            MemberValue::Float(x) => x.to_bits(),
            MemberValue::Half(x) => u32::from(x.to_bits()),
            MemberValue::Unsigned(x) => x,
        }
    }
}

/// How to run a vertex.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// Record which worker wrote each 32-bit word of every output field and
    /// fail when two workers wrote one word (on the IPU a 16-bit store is a
    /// read-modify-write of its word, so that would be a race).
    pub check_worker_overlap: bool,
}

/// Why a vertex was not run, or what went wrong when it ran.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EmulatorError {
    /// No vertex of that name in the manifest.
    UnknownVertex(String),
    /// The compiled harness does not hold the vertex the manifest describes.
    NotCompiled {
        /// The vertex.
        vertex: String,
        /// What differs.
        reason: String,
    },
    /// A binding names no field or member of the vertex.
    UnknownName {
        /// The vertex.
        vertex: String,
        /// The name.
        name: String,
    },
    /// A field or member was given twice.
    Duplicate {
        /// The vertex.
        vertex: String,
        /// The name.
        name: String,
    },
    /// A field or member was not given.
    Missing {
        /// The vertex.
        vertex: String,
        /// The name.
        name: String,
    },
    /// A field got values of the other element type, or a member a value of
    /// another type.
    WrongType {
        /// The vertex.
        vertex: String,
        /// The field or member.
        name: String,
        /// What it takes.
        expected: String,
        /// What it got.
        actual: String,
    },
    /// An output field got a read-only buffer.
    ReadOnly {
        /// The vertex.
        vertex: String,
        /// The field.
        field: String,
    },
    /// A field's length does not follow from `n` and `steps`.
    Length {
        /// The vertex.
        vertex: String,
        /// The field.
        field: String,
        /// Its length as the vertex declares it (`steps x n`).
        rule: String,
        /// The length that rule gives.
        expected: usize,
        /// The length given.
        actual: usize,
    },
    /// The element count is not a multiple of what the vertex needs.
    ElementMultiple {
        /// The vertex.
        vertex: String,
        /// The element count.
        n: usize,
        /// The multiple it must be.
        multiple: u32,
    },
    /// A size does not fit the vertex's 32-bit indices.
    TooLarge {
        /// The vertex.
        vertex: String,
        /// Which size.
        what: String,
    },
    /// Some worker's `compute` returned false.
    ComputeFailed(String),
    /// Two workers wrote halves of one 32-bit word.
    WorkerOverlap {
        /// The vertex.
        vertex: String,
        /// How many words were written by more than one worker.
        shared_words: u32,
    },
}

impl fmt::Display for EmulatorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmulatorError::UnknownVertex(name) => write!(
                f,
                "no vertex named `{name}` (the names are in the manifest, for example `snn::LeakyFwdSeq<float,snn::subtract,snn::scalar>`)"
            ),
            EmulatorError::NotCompiled { vertex, reason } => {
                write!(f, "{vertex}: the compiled emulator does not match the manifest: {reason}")
            }
            EmulatorError::UnknownName { vertex, name } => {
                write!(f, "{vertex} has no field or member named `{name}`")
            }
            EmulatorError::Duplicate { vertex, name } => {
                write!(f, "{vertex}: `{name}` is bound twice")
            }
            EmulatorError::Missing { vertex, name } => {
                write!(f, "{vertex}: `{name}` is not bound (every field and member must be)")
            }
            EmulatorError::WrongType {
                vertex,
                name,
                expected,
                actual,
            } => write!(f, "{vertex}: `{name}` takes {expected}, got {actual}"),
            EmulatorError::ReadOnly { vertex, field } => write!(
                f,
                "{vertex}: `{field}` is written by the vertex and needs a writable buffer (Buffer::output)"
            ),
            EmulatorError::Length {
                vertex,
                field,
                rule,
                expected,
                actual,
            } => write!(
                f,
                "{vertex}: `{field}` needs {expected} values ({rule}), got {actual}"
            ),
            EmulatorError::ElementMultiple {
                vertex,
                n,
                multiple,
            } => write!(
                f,
                "{vertex}: {n} elements; this vertex needs a multiple of {multiple} (whole 32-bit words per row); pad the element count"
            ),
            EmulatorError::TooLarge { vertex, what } => {
                write!(f, "{vertex}: {what} does not fit the vertex's 32-bit indices")
            }
            EmulatorError::ComputeFailed(vertex) => write!(f, "{vertex}: compute returned false"),
            EmulatorError::WorkerOverlap {
                vertex,
                shared_words,
            } => write!(
                f,
                "{vertex}: {shared_words} 32-bit output words were written by more than one worker (a race on the IPU)"
            ),
        }
    }
}

impl std::error::Error for EmulatorError {}

/// Every generated vertex (the manifest `build.rs` wrote with the codelets).
pub fn manifest() -> &'static [VertexInfo] {
    static MANIFEST: OnceLock<Vec<VertexInfo>> = OnceLock::new();
    MANIFEST.get_or_init(|| {
        snn_codelet_gen::manifest::from_json(include_str!(concat!(
            env!("OUT_DIR"),
            "/manifest.json"
        )))
        .expect("build.rs writes a valid manifest")
    })
}

/// The manifest position of the vertex named `name`.
fn position(name: &str) -> Option<usize> {
    static INDEX: OnceLock<HashMap<&'static str, usize>> = OnceLock::new();
    let index = INDEX.get_or_init(|| {
        manifest()
            .iter()
            .enumerate()
            .map(|(k, v)| (v.name.as_str(), k))
            .collect()
    });
    index.get(name).copied()
}

/// The manifest entry of the vertex named `name`.
pub fn vertex(name: &str) -> Option<&'static VertexInfo> {
    position(name).map(|k| &manifest()[k])
}

/// The number of vertices compiled into the emulator.
pub fn compiled_vertex_count() -> usize {
    // SAFETY: reads a constant of the generated harness.
    unsigned_to_usize(unsafe { snn_host_vertex_count() })
}

fn unsigned_to_usize(x: c_uint) -> usize {
    usize::try_from(x).unwrap_or(usize::MAX)
}

/// A C string of the harness, or `None`.
fn harness_string(pointer: *const c_char) -> Option<String> {
    if pointer.is_null() {
        return None;
    }
    // SAFETY: the harness returns pointers to its static, NUL-terminated
    // string literals.
    Some(
        unsafe { CStr::from_ptr(pointer) }
            .to_string_lossy()
            .into_owned(),
    )
}

/// The harness index of `vertex`, after checking that the compiled vertex
/// is the one the manifest describes (once per vertex).
fn compiled_index(vertex: &'static VertexInfo) -> Result<c_uint, EmulatorError> {
    static CHECKED: OnceLock<Vec<Result<c_uint, String>>> = OnceLock::new();
    let checked = CHECKED.get_or_init(|| {
        manifest()
            .iter()
            .enumerate()
            .map(|(k, v)| {
                let index = c_uint::try_from(k).map_err(|_| "too many vertices".to_string())?;
                // SAFETY: the harness checks the index and returns null
                // beyond its table.
                let name = harness_string(unsafe { snn_host_vertex_name(index) });
                if name.as_deref() != Some(v.name.as_str()) {
                    return Err(format!("compiled vertex {k} is {name:?}"));
                }
                // SAFETY: as above.
                let layout = harness_string(unsafe { snn_host_vertex_layout(index) });
                let expected = v.layout();
                if layout.as_deref() != Some(expected.as_str()) {
                    return Err(format!(
                        "fields and members differ: compiled {layout:?}, manifest {expected:?}"
                    ));
                }
                Ok(index)
            })
            .collect()
    });
    let position = position(&vertex.name)
        .filter(|&k| std::ptr::eq(&manifest()[k], vertex))
        .ok_or_else(|| EmulatorError::UnknownVertex(vertex.name.clone()))?;
    checked[position]
        .clone()
        .map_err(|reason| EmulatorError::NotCompiled {
            vertex: vertex.name.clone(),
            reason,
        })
}

static RUN: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// The names of every vertex [`run_vertex`] has run in this process (for
/// coverage checks).
pub fn vertices_run() -> BTreeSet<String> {
    RUN.lock().map(|set| set.clone()).unwrap_or_default()
}

/// Runs the vertex named `name` on this CPU, every worker, with `fields`
/// and `members` bound by name (see the module docs for what is checked).
pub fn run_vertex(
    name: &str,
    fields: &mut [(&str, Buffer<'_>)],
    members: &[(&str, MemberValue)],
    options: RunOptions,
) -> Result<(), EmulatorError> {
    let vertex =
        self::vertex(name).ok_or_else(|| EmulatorError::UnknownVertex(name.to_string()))?;
    let index = compiled_index(vertex)?;
    let v = || vertex.name.clone();

    // members, in declaration order
    let mut member_bits = Vec::with_capacity(vertex.members.len());
    for (given, _) in members {
        if vertex.member(given).is_none() {
            return Err(EmulatorError::UnknownName {
                vertex: v(),
                name: given.to_string(),
            });
        }
    }
    // the unsigned members, by role: the sizes field lengths are given in
    let mut sizes: Vec<(MemberRole, usize)> = Vec::new();
    for member in &vertex.members {
        let mut matching = members.iter().filter(|(n, _)| *n == member.name);
        let (_, value) = matching.next().ok_or_else(|| EmulatorError::Missing {
            vertex: v(),
            name: member.name.clone(),
        })?;
        if matching.next().is_some() {
            return Err(EmulatorError::Duplicate {
                vertex: v(),
                name: member.name.clone(),
            });
        }
        if value.ty() != member.ty {
            return Err(EmulatorError::WrongType {
                vertex: v(),
                name: member.name.clone(),
                expected: member.ty.name().to_string(),
                actual: value.ty().name().to_string(),
            });
        }
        if member.ty == MemberType::Unsigned {
            sizes.push((
                member.role,
                usize::try_from(value.bits()).unwrap_or(usize::MAX),
            ));
        }
        member_bits.push(value.bits());
    }

    // fields, in declaration order
    for (given, _) in fields.iter() {
        if vertex.field(given).is_none() {
            return Err(EmulatorError::UnknownName {
                vertex: v(),
                name: given.to_string(),
            });
        }
    }
    let mut order = Vec::with_capacity(vertex.fields.len());
    for field in &vertex.fields {
        let mut matching = fields
            .iter()
            .enumerate()
            .filter(|(_, (n, _))| *n == field.name)
            .map(|(k, _)| k);
        let k = matching.next().ok_or_else(|| EmulatorError::Missing {
            vertex: v(),
            name: field.name.clone(),
        })?;
        if matching.next().is_some() {
            return Err(EmulatorError::Duplicate {
                vertex: v(),
                name: field.name.clone(),
            });
        }
        let buffer = &fields[k].1;
        if buffer.element() != field.element {
            return Err(EmulatorError::WrongType {
                vertex: v(),
                name: field.name.clone(),
                expected: format!("{} values", field.element.name()),
                actual: format!("{} values", buffer.element().name()),
            });
        }
        if field.direction != Direction::Input && !buffer.writable() {
            return Err(EmulatorError::ReadOnly {
                vertex: v(),
                field: field.name.clone(),
            });
        }
        order.push(k);
    }

    // sizes: n from the first field, the rest from n and steps
    let n = fields[order[0]].1.len();
    if n % vertex.element_multiple as usize != 0 {
        return Err(EmulatorError::ElementMultiple {
            vertex: v(),
            n,
            multiple: vertex.element_multiple,
        });
    }
    let fits = |x: usize| u32::try_from(x).is_ok();
    let size = |role: MemberRole| {
        sizes
            .iter()
            .find(|(r, _)| *r == role)
            .map(|&(_, v)| v)
            .or((role == MemberRole::Steps).then_some(1))
    };
    if !fits(n) {
        return Err(EmulatorError::TooLarge {
            vertex: v(),
            what: format!("the element count {n}"),
        });
    }
    for (field, &k) in vertex.fields.iter().zip(&order) {
        let actual = fields[k].1.len();
        let expected = field.length.resolve(n, &size).filter(|&x| fits(x));
        match expected {
            None => {
                return Err(EmulatorError::TooLarge {
                    vertex: v(),
                    what: format!(
                        "`{}` ({} with n = {n}{})",
                        field.name,
                        field.length,
                        sizes
                            .iter()
                            .map(|(role, v)| format!(", {} = {v}", role.size_name()))
                            .collect::<String>()
                    ),
                })
            }
            Some(expected) if expected != actual => {
                return Err(EmulatorError::Length {
                    vertex: v(),
                    field: field.name.clone(),
                    rule: field.length.to_string(),
                    expected,
                    actual,
                })
            }
            Some(_) => {}
        }
    }

    let mut pointers = Vec::with_capacity(order.len());
    let mut lengths = Vec::with_capacity(order.len());
    for &k in &order {
        let buffer = &mut fields[k].1;
        lengths.push(buffer.len());
        pointers.push(buffer.pointer());
    }
    let mut shared_words: c_uint = 0;
    // SAFETY: `index` is a compiled vertex whose fields and members are, in
    // order, those of `vertex` (checked by `compiled_index`); every pointer
    // is valid for the length the vertex reads or writes (checked above from
    // the same `n` and `steps` the vertex computes with); outputs are
    // distinct `&mut` borrows and inputs shared borrows, so nothing the
    // vertex writes aliases anything else; input buffers are only read.
    let status = unsafe {
        snn_host_run(
            index,
            pointers.as_ptr(),
            lengths.as_ptr(),
            member_bits.as_ptr(),
            c_int::from(options.check_worker_overlap),
            &mut shared_words,
        )
    };
    match status {
        0 => {}
        1 => return Err(EmulatorError::ComputeFailed(v())),
        _ => {
            return Err(EmulatorError::NotCompiled {
                vertex: v(),
                reason: format!("the harness refused index {index}"),
            })
        }
    }
    if let Ok(mut run) = RUN.lock() {
        if !run.contains(&vertex.name) {
            run.insert(vertex.name.clone());
        }
    }
    if shared_words != 0 {
        return Err(EmulatorError::WorkerOverlap {
            vertex: v(),
            shared_words,
        });
    }
    Ok(())
}
