//! The emulator runs every compiled vertex, binds fields and members by
//! name, refuses every binding that would let a vertex read or write out of
//! bounds (with a message that says what to fix), and checks that no two
//! workers write one 32-bit word.

use snn_codelet_gen::{Element as ElementType, Length, MemberRole, MemberType, VertexInfo};
use snn_kernels::F16;
use snn_poplar_host::emulator::{
    compiled_vertex_count, manifest, run_vertex, Buffer, EmulatorError, MemberValue, RunOptions,
};

/// Field data for a vertex: one vector per field, in declaration order.
enum Data {
    F32(Vec<Vec<f32>>),
    F16(Vec<Vec<F16>>),
}

/// Deterministic values in [-2, 2).
fn values(count: usize, seed: usize) -> Vec<f64> {
    (0..count)
        .map(|i| {
            let x = (i.wrapping_mul(2654435761) ^ seed.wrapping_mul(40503)) % 4096;
            x as f64 / 1024.0 - 2.0
        })
        .collect()
}

/// The sizes the unsigned members give (`steps` as asked, the training
/// vertices' row and feature counts small and distinct).
fn size(role: MemberRole, steps: usize) -> usize {
    match role {
        MemberRole::Steps => steps,
        MemberRole::Rows => 3,
        MemberRole::Inputs => 4,
        MemberRole::Outputs => 5,
        MemberRole::OutputCount => 2,
        MemberRole::Classes => 3,
        MemberRole::Population => 2,
        _ => 1,
    }
}

/// The element count: `n` when the first field's length is `n`, else what
/// its rule gives from the members.
fn elements(vertex: &VertexInfo, n: usize, steps: usize) -> usize {
    let rule = vertex.fields[0].length;
    let sizes = |role| Some(size(role, steps));
    if rule.resolve(1, &sizes) == rule.resolve(2, &sizes) {
        rule.resolve(1, &sizes).unwrap()
    } else {
        n
    }
}

fn data_for(vertex: &VertexInfo, n: usize, steps: usize) -> Data {
    let lengths: Vec<usize> = vertex
        .fields
        .iter()
        .map(|f| {
            f.length
                .resolve(n, &|role| Some(size(role, steps)))
                .unwrap()
        })
        .collect();
    match vertex.precision {
        ElementType::Float => Data::F32(
            lengths
                .iter()
                .enumerate()
                .map(|(k, &len)| values(len, k).iter().map(|&x| x as f32).collect())
                .collect(),
        ),
        ElementType::Half => Data::F16(
            lengths
                .iter()
                .enumerate()
                .map(|(k, &len)| values(len, k).iter().map(|&x| F16::from_f64(x)).collect())
                .collect(),
        ),
    }
}

fn members_for(vertex: &VertexInfo, steps: u32) -> Vec<(&str, MemberValue)> {
    vertex
        .members
        .iter()
        .map(|m| {
            let value = match (m.ty, m.role) {
                (MemberType::Unsigned, role) => {
                    MemberValue::Unsigned(size(role, steps as usize) as u32)
                }
                (MemberType::Float, _) => MemberValue::Float(0.75),
                (MemberType::Half, _) => MemberValue::Half(F16::from_f32(0.75)),
            };
            (m.name.as_str(), value)
        })
        .collect()
}

/// Runs `vertex` on `n` elements and `steps` steps with generated data.
fn run(
    vertex: &VertexInfo,
    n: usize,
    steps: u32,
    options: RunOptions,
) -> Result<(), EmulatorError> {
    let n = elements(vertex, n, steps as usize);
    let mut data = data_for(vertex, n, steps as usize);
    let members = members_for(vertex, steps);
    let mut fields: Vec<(&str, Buffer<'_>)> = match &mut data {
        Data::F32(all) => vertex
            .fields
            .iter()
            .zip(all.iter_mut())
            .map(|(f, v)| (f.name.as_str(), Buffer::output(v.as_mut_slice())))
            .collect(),
        Data::F16(all) => vertex
            .fields
            .iter()
            .zip(all.iter_mut())
            .map(|(f, v)| (f.name.as_str(), Buffer::output(v.as_mut_slice())))
            .collect(),
    };
    run_vertex(&vertex.name, &mut fields, &members, options)
}

#[test]
fn every_compiled_vertex_runs_and_no_two_workers_share_an_output_word() {
    assert_eq!(compiled_vertex_count(), manifest().len());
    let check = RunOptions {
        check_worker_overlap: true,
    };
    for vertex in manifest() {
        // 4, 10 and 26 elements: whole groups of 4, and a last group of 2
        for n in [4, 10, 26] {
            run(vertex, n, 3, check).unwrap_or_else(|e| panic!("{e}"));
        }
        if vertex.element_multiple == 1 {
            run(vertex, 7, 2, check).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

fn leaky_forward(precision: &str) -> &'static VertexInfo {
    let name = format!("snn::LeakyFwdSeq<{precision},snn::subtract,snn::scalar>");
    manifest().iter().find(|v| v.name == name).unwrap()
}

/// A well-formed call of `LeakyFwdSeq<float>` on 4 elements and 3 steps,
/// changed by `edit` before it is made.
fn call_leaky(
    edit: impl FnOnce(&mut Vec<(&'static str, Buffer<'_>)>, &mut Vec<(&'static str, MemberValue)>),
) -> Result<(), EmulatorError> {
    let (n, steps) = (4, 3);
    let initial = vec![0.0f32; n];
    let x = vec![0.5f32; n * steps];
    let mut spikes = vec![0.0f32; n * steps];
    let mut mem = vec![0.0f32; n * steps];
    let mut fields = vec![
        ("initial_mem", Buffer::input(&initial)),
        ("x", Buffer::input(&x)),
        ("spikes", Buffer::output(&mut spikes)),
        ("mem", Buffer::output(&mut mem)),
    ];
    let mut members = vec![
        ("b", MemberValue::Float(0.9)),
        ("threshold", MemberValue::Float(1.0)),
        ("graded", MemberValue::Float(1.0)),
        ("steps", MemberValue::Unsigned(steps as u32)),
    ];
    edit(&mut fields, &mut members);
    run_vertex(
        &leaky_forward("float").name,
        &mut fields,
        &members,
        RunOptions::default(),
    )
}

#[test]
fn a_well_formed_call_computes_the_kernels_leaky_layer() {
    let (n, steps) = (4, 3);
    let initial = vec![0.0f32; n];
    let x: Vec<f32> = (0..n * steps).map(|i| i as f32 * 0.25).collect();
    let mut spikes = vec![0.0f32; n * steps];
    let mut mem = vec![0.0f32; n * steps];
    let mut fields = vec![
        ("mem", Buffer::output(&mut mem)),
        ("x", Buffer::input(&x)),
        ("spikes", Buffer::output(&mut spikes)),
        ("initial_mem", Buffer::input(&initial)),
    ];
    let members = [
        ("steps", MemberValue::Unsigned(steps as u32)),
        ("b", MemberValue::Float(0.9)),
        ("graded", MemberValue::Float(1.0)),
        ("threshold", MemberValue::Float(1.0)),
    ];
    // fields and members in any order: bound by name
    run_vertex(
        &leaky_forward("float").name,
        &mut fields,
        &members,
        RunOptions::default(),
    )
    .unwrap();
    drop(fields);
    // the same layer by hand: mem = 0.9 mem + x - r, spike when mem > 1
    for i in 0..n {
        let mut m = 0.0f32;
        for t in 0..steps {
            let r = if m > 1.0 { 1.0f32 } else { 0.0 };
            m = 0.9f32 * m + x[t * n + i] - r * 1.0;
            assert_eq!(mem[t * n + i].to_bits(), m.to_bits());
            let s = if m - 1.0 > 0.0 { 1.0f32 } else { 0.0 };
            assert_eq!(spikes[t * n + i].to_bits(), s.to_bits());
        }
    }
}

#[test]
fn bindings_that_do_not_fit_the_vertex_are_refused() {
    let expect = |result: Result<(), EmulatorError>, needle: &str| {
        let message = result.expect_err("refused").to_string();
        assert!(
            message.contains(needle),
            "`{message}` should say `{needle}`"
        );
    };
    call_leaky(|_, _| {}).expect("the unchanged call runs");
    expect(
        call_leaky(|f, _| f[0].0 = "initial"),
        "no field or member named `initial`",
    );
    expect(
        call_leaky(|f, _| {
            f.remove(1);
        }),
        "`x` is not bound",
    );
    expect(
        call_leaky(|_, m| {
            m.remove(0);
        }),
        "`b` is not bound",
    );
    expect(
        call_leaky(|_, m| m.push(("b", MemberValue::Float(0.5)))),
        "`b` is bound twice",
    );
    expect(
        call_leaky(|_, m| m[3].1 = MemberValue::Float(3.0)),
        "`steps` takes unsigned, got float",
    );
    // a steps member larger than the fields were sized for
    expect(
        call_leaky(|_, m| m[3].1 = MemberValue::Unsigned(4)),
        "`x` needs 16 values (steps x n), got 12",
    );
    // steps x n beyond 32 bits (it would wrap to a small number)
    expect(
        call_leaky(|_, m| m[3].1 = MemberValue::Unsigned(u32::MAX)),
        "does not fit the vertex's 32-bit indices",
    );
    // an output given read-only data
    let frozen: &'static [f32] = Box::leak(vec![0.0f32; 12].into_boxed_slice());
    expect(
        call_leaky(|f, _| f[2].1 = Buffer::input(frozen)),
        "`spikes` is written by the vertex and needs a writable buffer",
    );
    // half values for a float field
    let halves: &'static [F16] = Box::leak(vec![F16::ZERO; 12].into_boxed_slice());
    expect(
        call_leaky(|f, _| f[1].1 = Buffer::input(halves)),
        "`x` takes float values, got half values",
    );
    expect(
        run_vertex(
            "snn::NoSuchVertex<float>",
            &mut [],
            &[],
            RunOptions::default(),
        ),
        "no vertex named `snn::NoSuchVertex<float>`",
    );
}

#[test]
fn half_vertices_refuse_an_odd_element_count() {
    let vertex = leaky_forward("half");
    let err = run(vertex, 5, 2, RunOptions::default()).unwrap_err();
    assert!(
        matches!(
            err,
            EmulatorError::ElementMultiple {
                n: 5,
                multiple: 2,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("pad the element count"));
}

#[test]
fn lengths_follow_the_typed_rules() {
    assert_eq!(Length::Elements.of(7, 3), Some(7));
    assert_eq!(Length::StepsByElements.of(7, 3), Some(21));
    assert_eq!(Length::RowsByElements(5).of(7, 3), Some(35));
    assert_eq!(Length::StepsByElements.of(usize::MAX, 2), None);
}
