//! Property tests of `run_vertex`: whatever a caller binds, a vertex either
//! runs (the binding fits it) or is refused with an error, and never
//! crashes. A crash here would be a C++ assert of the stand-in firing (an
//! out-of-bounds access) and would end the test process.
//!
//! Each case takes a vertex of the manifest, binds every field and member
//! well, then applies up to three random edits: a field or member dropped,
//! bound twice or renamed (to another field's or member's name, or to a
//! name the vertex does not have), a field given the other element type or
//! a read-only buffer, a field's length changed, a member given another
//! type; with a random element count (0, multiples of what the vertex
//! needs, odd counts) and a random `steps` member (0, small, huge). An
//! oracle written from the rules in the emulator's documentation (not from
//! its code) says whether the final binding fits; the test checks that
//! `run_vertex` agrees: `Ok` exactly when it fits.

use proptest::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use snn_codelet_gen::{Direction, Element as ElementType, MemberRole, MemberType, VertexInfo};
use snn_kernels::F16;
use snn_poplar_host::emulator::{manifest, run_vertex, Buffer, MemberValue, RunOptions};

/// One field binding: its name, element type, whether writable, length.
#[derive(Clone, Debug)]
struct FieldBinding {
    name: String,
    element: ElementType,
    writable: bool,
    len: usize,
}

/// One member binding.
#[derive(Clone, Debug)]
struct MemberBinding {
    name: String,
    value: MemberValue,
}

/// A random edit of a well-formed binding (indices taken modulo the counts).
#[derive(Clone, Debug)]
enum Edit {
    DropField(usize),
    DuplicateField(usize),
    RenameField(usize, Name),
    OtherElementType(usize),
    ReadOnly(usize),
    Length(usize, i64),
    DropMember(usize),
    DuplicateMember(usize),
    RenameMember(usize, Name),
    OtherMemberType(usize, bool),
}

/// A new name: another field's, another member's, or one the vertex lacks.
#[derive(Clone, Debug)]
enum Name {
    Field(usize),
    Member(usize),
    Unknown(String),
}

/// The whole case.
#[derive(Clone, Debug)]
struct Plan {
    vertex: usize,
    /// The element count, as a choice (see `element_count`).
    n: (u8, usize),
    /// The `steps` member.
    steps: u32,
    edits: Vec<Edit>,
    rotate: usize,
    check_overlap: bool,
}

fn name() -> impl Strategy<Value = Name> {
    prop_oneof![
        any::<usize>().prop_map(Name::Field),
        any::<usize>().prop_map(Name::Member),
        "[a-z_]{0,12}".prop_map(Name::Unknown),
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        any::<usize>().prop_map(Edit::DropField),
        any::<usize>().prop_map(Edit::DuplicateField),
        (any::<usize>(), name()).prop_map(|(k, n)| Edit::RenameField(k, n)),
        any::<usize>().prop_map(Edit::OtherElementType),
        any::<usize>().prop_map(Edit::ReadOnly),
        (
            any::<usize>(),
            prop_oneof![Just(-1i64), Just(1), Just(-4), -100i64..100]
        )
            .prop_map(|(k, d)| Edit::Length(k, d)),
        any::<usize>().prop_map(Edit::DropMember),
        any::<usize>().prop_map(Edit::DuplicateMember),
        (any::<usize>(), name()).prop_map(|(k, n)| Edit::RenameMember(k, n)),
        (any::<usize>(), any::<bool>()).prop_map(|(k, b)| Edit::OtherMemberType(k, b)),
    ]
}

fn plan() -> impl Strategy<Value = Plan> {
    (
        any::<usize>(),
        (0u8..4, 0usize..9),
        prop_oneof![
            4 => 0u32..5,
            1 => Just(0u32),
            1 => Just(u32::MAX),
            1 => Just(1u32 << 31),
            1 => any::<u32>(),
        ],
        prop_oneof![
            2 => Just(Vec::new()),
            3 => prop::collection::vec(edit(), 1..4),
        ],
        any::<usize>(),
        any::<bool>(),
    )
        .prop_map(|(vertex, n, steps, edits, rotate, check_overlap)| Plan {
            vertex,
            n,
            steps,
            edits,
            rotate,
            check_overlap,
        })
}

/// The element count of a plan: 0, a multiple of what the vertex needs, or
/// any count (odd ones included).
fn element_count(vertex: &VertexInfo, (kind, k): (u8, usize)) -> usize {
    match kind {
        0 => 0,
        1 | 2 => vertex.element_multiple as usize * (k + 1),
        _ => k * 3 + 1,
    }
}

fn other(element: ElementType) -> ElementType {
    match element {
        ElementType::Float => ElementType::Half,
        ElementType::Half => ElementType::Float,
    }
}

/// A well-formed binding of `vertex` for `n` elements and `steps` steps
/// (lengths beyond a small allocation are left wrong: only `n = 0` makes a
/// huge `steps` fit).
fn well_formed(
    vertex: &VertexInfo,
    n: usize,
    steps: u32,
) -> (Vec<FieldBinding>, Vec<MemberBinding>) {
    let fields = vertex
        .fields
        .iter()
        .map(|f| FieldBinding {
            name: f.name.clone(),
            element: f.element,
            writable: f.direction != Direction::Input || n % 2 == 0,
            len: f
                .length
                .resolve(n, &|role| Some(size_value(role, steps) as usize))
                .filter(|&len| len <= 1 << 16)
                .unwrap_or(7),
        })
        .collect();
    let members = vertex
        .members
        .iter()
        .enumerate()
        .map(|(k, m)| MemberBinding {
            name: m.name.clone(),
            value: match (m.ty, m.role) {
                (MemberType::Unsigned, role) if role.size_name() != "?" => {
                    MemberValue::Unsigned(size_value(role, steps))
                }
                (MemberType::Unsigned, _) => MemberValue::Unsigned(k as u32 * 7919),
                (MemberType::Float, _) => MemberValue::Float(0.75),
                (MemberType::Half, _) => MemberValue::Half(F16::from_f32(0.75)),
            },
        })
        .collect();
    (fields, members)
}

fn apply(
    vertex: &VertexInfo,
    edit: &Edit,
    fields: &mut Vec<FieldBinding>,
    members: &mut Vec<MemberBinding>,
) {
    let rename = |name: &Name| match name {
        Name::Field(k) => vertex.fields[k % vertex.fields.len()].name.clone(),
        Name::Member(k) if !vertex.members.is_empty() => {
            vertex.members[k % vertex.members.len()].name.clone()
        }
        Name::Member(_) => "steps".to_string(),
        Name::Unknown(s) => s.clone(),
    };
    let nf = fields.len();
    let nm = members.len();
    match edit {
        Edit::DropField(k) if nf > 0 => {
            fields.remove(k % nf);
        }
        Edit::DuplicateField(k) if nf > 0 => fields.push(fields[k % nf].clone()),
        Edit::RenameField(k, name) if nf > 0 => fields[k % nf].name = rename(name),
        Edit::OtherElementType(k) if nf > 0 => {
            fields[k % nf].element = other(fields[k % nf].element)
        }
        Edit::ReadOnly(k) if nf > 0 => fields[k % nf].writable = false,
        Edit::Length(k, d) if nf > 0 => {
            let f = &mut fields[k % nf];
            f.len = (f.len as i64 + d).clamp(0, 1 << 16) as usize;
        }
        Edit::DropMember(k) if nm > 0 => {
            members.remove(k % nm);
        }
        Edit::DuplicateMember(k) if nm > 0 => members.push(members[k % nm].clone()),
        Edit::RenameMember(k, name) if nm > 0 => members[k % nm].name = rename(name),
        Edit::OtherMemberType(k, first) if nm > 0 => {
            let m = &mut members[k % nm];
            m.value = match (m.value, first) {
                (MemberValue::Unsigned(_), true) | (MemberValue::Half(_), false) => {
                    MemberValue::Float(1.0)
                }
                (MemberValue::Unsigned(_), false) | (MemberValue::Float(_), true) => {
                    MemberValue::Half(F16::ONE)
                }
                (MemberValue::Float(_), false) | (MemberValue::Half(_), true) => {
                    MemberValue::Unsigned(3)
                }
            }
        }
        _ => {}
    }
}

fn member_type(value: MemberValue) -> MemberType {
    match value {
        MemberValue::Float(_) => MemberType::Float,
        MemberValue::Half(_) => MemberType::Half,
        MemberValue::Unsigned(_) => MemberType::Unsigned,
    }
}

/// Whether a binding fits `vertex`, from the documented rules: every field
/// and member bound exactly once by its name and nothing else bound; member
/// types and field element types as declared; a writable buffer for every
/// field the vertex writes; the element count `n` (the first field's
/// length) a multiple of `element_multiple`; every field's length its rule
/// for `n` and the `steps` member (1 without one), within 32 bits.
fn fits(vertex: &VertexInfo, fields: &[FieldBinding], members: &[MemberBinding]) -> bool {
    let once = |name: &str, names: &mut dyn Iterator<Item = &String>| {
        names.filter(|n| *n == name).count() == 1
    };
    if fields.iter().any(|f| vertex.field(&f.name).is_none())
        || members.iter().any(|m| vertex.member(&m.name).is_none())
    {
        return false;
    }
    if !vertex
        .fields
        .iter()
        .all(|f| once(&f.name, &mut fields.iter().map(|b| &b.name)))
        || !vertex
            .members
            .iter()
            .all(|m| once(&m.name, &mut members.iter().map(|b| &b.name)))
    {
        return false;
    }
    let field = |name: &str| fields.iter().find(|b| b.name == name).unwrap();
    let mut sizes: Vec<(MemberRole, usize)> = Vec::new();
    for m in &vertex.members {
        let value = members.iter().find(|b| b.name == m.name).unwrap().value;
        if member_type(value) != m.ty {
            return false;
        }
        if let MemberValue::Unsigned(s) = value {
            sizes.push((m.role, s as usize));
        }
    }
    let size = |role: MemberRole| {
        sizes
            .iter()
            .find(|(r, _)| *r == role)
            .map(|&(_, v)| v)
            .or((role == MemberRole::Steps).then_some(1))
    };
    for f in &vertex.fields {
        let b = field(&f.name);
        if b.element != f.element || (f.direction != Direction::Input && !b.writable) {
            return false;
        }
    }
    let n = field(&vertex.fields[0].name).len;
    if n % vertex.element_multiple as usize != 0 || n > u32::MAX as usize {
        return false;
    }
    vertex.fields.iter().all(|f| {
        f.length
            .resolve(n, &size)
            .is_some_and(|len| len <= u32::MAX as usize && len == field(&f.name).len)
    })
}

/// The data of one field binding.
enum Storage {
    F32(Vec<f32>),
    F16(Vec<F16>),
}

/// Runs the binding through `run_vertex`.
fn run(
    vertex: &VertexInfo,
    fields: &[FieldBinding],
    members: &[MemberBinding],
    options: RunOptions,
) -> Result<(), String> {
    let mut storage: Vec<Storage> = fields
        .iter()
        .enumerate()
        .map(|(k, f)| {
            let value = |i: usize| ((i * 37 + k * 11) % 64) as f32 / 16.0 - 2.0;
            match f.element {
                ElementType::Float => Storage::F32((0..f.len).map(value).collect()),
                ElementType::Half => {
                    Storage::F16((0..f.len).map(|i| F16::from_f32(value(i))).collect())
                }
            }
        })
        .collect();
    let mut bound: Vec<(&str, Buffer<'_>)> = fields
        .iter()
        .zip(storage.iter_mut())
        .map(|(f, data)| {
            let buffer = match (data, f.writable) {
                (Storage::F32(v), true) => Buffer::F32Mut(v),
                (Storage::F32(v), false) => Buffer::F32(v),
                (Storage::F16(v), true) => Buffer::F16Mut(v),
                (Storage::F16(v), false) => Buffer::F16(v),
            };
            (f.name.as_str(), buffer)
        })
        .collect();
    let members: Vec<(&str, MemberValue)> =
        members.iter().map(|m| (m.name.as_str(), m.value)).collect();
    run_vertex(&vertex.name, &mut bound, &members, options).map_err(|e| e.to_string())
}

fn config(cases: u32) -> Config {
    Config {
        cases,
        rng_seed: RngSeed::Fixed(0x5eed_e3a1),
        failure_persistence: None,
        ..Config::default()
    }
}

/// One case: `Ok(true)` when the binding fit and ran, `Ok(false)` when it
/// did not fit and was refused.
fn check(plan: &Plan) -> Result<bool, TestCaseError> {
    let vertices = manifest();
    let vertex = &vertices[plan.vertex % vertices.len()];
    let n = element_count(vertex, plan.n);
    let (mut fields, mut members) = well_formed(vertex, n, plan.steps);
    for edit in &plan.edits {
        apply(vertex, edit, &mut fields, &mut members);
    }
    // bound by name: any order
    if !fields.is_empty() {
        let r = plan.rotate % fields.len();
        fields.rotate_left(r);
    }
    if !members.is_empty() {
        let r = plan.rotate % members.len();
        members.rotate_right(r);
    }
    let expected = fits(vertex, &fields, &members);
    let options = RunOptions {
        check_worker_overlap: plan.check_overlap,
    };
    match (run(vertex, &fields, &members, options), expected) {
        (Ok(()), true) => Ok(true),
        (Err(message), false) => {
            prop_assert!(
                message.contains(&vertex.name),
                "the error names the vertex: {}",
                message
            );
            Ok(false)
        }
        (Ok(()), false) => Err(TestCaseError::fail(format!(
            "{} accepted a binding that does not fit: {fields:?} {members:?}",
            vertex.name
        ))),
        (Err(message), true) => Err(TestCaseError::fail(format!(
            "{} refused a binding that fits: {message}",
            vertex.name
        ))),
    }
}

#[test]
fn every_binding_runs_exactly_when_it_fits_the_vertex() {
    let (fitting, refused) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let mut runner = TestRunner::new(config(600));
    let result = runner.run(&plan(), |plan| {
        let counter = if check(&plan)? { &fitting } else { &refused };
        counter.fetch_add(1, Ordering::Relaxed);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // both outcomes are reached often (the generator is not one-sided)
    let (fitting, refused) = (fitting.into_inner(), refused.into_inner());
    eprintln!("{fitting} bindings ran, {refused} were refused");
    assert!(
        fitting >= 100 && refused >= 200,
        "{fitting} ran, {refused} refused"
    );
}

proptest! {
    #![proptest_config(config(200))]

    #[test]
    fn names_that_are_no_vertex_are_refused(name in "[a-zA-Z:<>,_ ]{0,40}") {
        prop_assume!(!manifest().iter().any(|v| v.name == name));
        let result = run_vertex(&name, &mut [], &[], RunOptions::default());
        prop_assert!(result.unwrap_err().to_string().contains("no vertex named"));
    }
}

/// The edits above reach every outcome: valid bindings run (with `n = 0`
/// and a huge `steps` among them) and each kind of mistake is refused.
#[test]
fn the_generator_reaches_valid_and_invalid_bindings_and_huge_steps() {
    let vertex = manifest()
        .iter()
        .find(|v| v.member_with(MemberRole::Steps).is_some())
        .expect("a sequence vertex");
    // n = 0 with steps = 2^32 - 1: every length is 0, nothing to do
    let (fields, members) = well_formed(vertex, 0, u32::MAX);
    assert!(fits(vertex, &fields, &members));
    assert_eq!(
        run(vertex, &fields, &members, RunOptions::default()),
        Ok(())
    );
    // steps = 0 with elements: sequences are empty, the vertex runs
    let n = vertex.element_multiple as usize * 4;
    let (fields, members) = well_formed(vertex, n, 0);
    assert!(fits(vertex, &fields, &members));
    assert_eq!(
        run(vertex, &fields, &members, RunOptions::default()),
        Ok(())
    );
    // a huge steps with elements is refused (it was not allocated)
    let (fields, members) = well_formed(vertex, n, u32::MAX);
    assert!(!fits(vertex, &fields, &members));
    let message = run(vertex, &fields, &members, RunOptions::default()).unwrap_err();
    assert!(message.contains("32-bit indices"), "{message}");
}

/// The value of a size-giving member: `steps` for the steps, small
/// distinct sizes for the training vertices' rows, features and classes.
fn size_value(role: MemberRole, steps: u32) -> u32 {
    match role {
        MemberRole::Steps => steps,
        MemberRole::Rows => 3,
        MemberRole::Inputs => 2,
        MemberRole::Outputs => 5,
        MemberRole::OutputCount => 4,
        MemberRole::Classes => 3,
        MemberRole::Population => 2,
        _ => 1,
    }
}
