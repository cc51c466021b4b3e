//! `snn_poplar_host::emulator::run_vertex` on bindings decoded from bytes: a
//! vertex of the manifest bound well, then edited (fields and members
//! dropped, bound twice, renamed, of the other type, read-only, of another
//! length), with any element count and `steps`. Nothing may crash (a C++
//! assert of the stand-in would abort the process); an unedited binding
//! with a small `steps` must run.
//!
//! Input layout:
//!
//! | bytes | meaning |
//! | --- | --- |
//! | 0, 1 | vertex (little-endian, mod the manifest's length) |
//! | 2 | element count: 0..63 = that many times the vertex's element multiple; 64.. = any count (`b - 64`) |
//! | 3 | steps: 0..=7 as is; 8: 2^32 - 1; 9: 2^31; else the next 4 bytes |
//! | 4 | bit 0: check worker overlap; bits 1..: how many edits (mod 4) |
//! | then | per edit 3 bytes: kind (mod 10), which field or member, its argument |

use snn_codelet_gen::{Direction, Element, MemberRole, MemberType, VertexInfo};
use snn_kernels::F16;
use snn_poplar_host::emulator::{manifest, run_vertex, Buffer, MemberValue, RunOptions};

use crate::bytes::Bytes;

/// One field binding.
struct Field {
    name: String,
    element: Element,
    writable: bool,
    len: usize,
}

/// The fuzz target.
pub fn emulator(data: &[u8]) {
    let _ = emulator_ran(data);
}

/// The fuzz target's body: true when the vertex ran.
pub fn emulator_ran(data: &[u8]) -> bool {
    let mut b = Bytes::new(data);
    let vertices = manifest();
    let vertex = &vertices[usize::from(b.u16()) % vertices.len()];
    let n = match b.byte() {
        k @ 0..=63 => usize::from(k) * vertex.element_multiple as usize,
        k => usize::from(k - 64),
    };
    let steps = match b.byte() {
        k @ 0..=7 => u32::from(k),
        8 => u32::MAX,
        9 => 1 << 31,
        _ => b.u32(),
    };
    let flags = b.byte();
    let edits = usize::from(flags >> 1) % 4;
    // every size-giving member is 5 but the steps (see the members below)
    let sizes = |role: MemberRole| {
        Some(if role == MemberRole::Steps {
            steps as usize
        } else {
            5
        })
    };
    let mut fields: Vec<Field> = vertex
        .fields
        .iter()
        .map(|f| Field {
            name: f.name.clone(),
            element: f.element,
            writable: f.direction != Direction::Input,
            len: f
                .length
                .resolve(n, &sizes)
                .filter(|&len| len <= 1 << 14)
                .unwrap_or(3),
        })
        .collect();
    let mut members: Vec<(String, MemberValue)> = vertex
        .members
        .iter()
        .map(|m| {
            let value = match (m.ty, m.role) {
                (MemberType::Unsigned, MemberRole::Steps) => MemberValue::Unsigned(steps),
                (MemberType::Unsigned, _) => MemberValue::Unsigned(5),
                (MemberType::Float, _) => MemberValue::Float(0.5),
                (MemberType::Half, _) => MemberValue::Half(F16::from_f32(0.5)),
            };
            (m.name.clone(), value)
        })
        .collect();
    for _ in 0..edits {
        edit(vertex, &mut b, &mut fields, &mut members);
    }
    let sizes_fit = vertex.fields.iter().all(|f| {
        f.length
            .resolve(n, &sizes)
            .is_some_and(|len| len <= 1 << 14)
    });
    let well_formed = edits == 0 && sizes_fit && n % vertex.element_multiple as usize == 0;

    let mut storage: Vec<(Vec<f32>, Vec<F16>)> = fields
        .iter()
        .map(|f| match f.element {
            Element::Float => (
                (0..f.len).map(|i| (i % 9) as f32 * 0.25).collect(),
                Vec::new(),
            ),
            Element::Half => (
                Vec::new(),
                (0..f.len)
                    .map(|i| F16::from_f32((i % 9) as f32 * 0.25))
                    .collect(),
            ),
        })
        .collect();
    let mut bound: Vec<(&str, Buffer<'_>)> = fields
        .iter()
        .zip(storage.iter_mut())
        .map(|(f, (floats, halves))| {
            let buffer = match (f.element, f.writable) {
                (Element::Float, true) => Buffer::F32Mut(floats),
                (Element::Float, false) => Buffer::F32(floats),
                (Element::Half, true) => Buffer::F16Mut(halves),
                (Element::Half, false) => Buffer::F16(halves),
            };
            (f.name.as_str(), buffer)
        })
        .collect();
    let members: Vec<(&str, MemberValue)> = members.iter().map(|(n, v)| (n.as_str(), *v)).collect();
    let options = RunOptions {
        check_worker_overlap: flags & 1 == 1,
    };
    let result = run_vertex(&vertex.name, &mut bound, &members, options);
    assert!(
        !well_formed || result.is_ok(),
        "{}: a well-formed binding was refused: {result:?}",
        vertex.name
    );
    result.is_ok()
}

fn edit(
    vertex: &VertexInfo,
    b: &mut Bytes<'_>,
    fields: &mut Vec<Field>,
    members: &mut Vec<(String, MemberValue)>,
) {
    let (kind, which, argument) = (b.below(10), usize::from(b.byte()), b.byte());
    let rename = |argument: u8| -> String {
        let k = usize::from(argument >> 2);
        match argument & 3 {
            0 => vertex.fields[k % vertex.fields.len()].name.clone(),
            1 if !vertex.members.is_empty() => {
                vertex.members[k % vertex.members.len()].name.clone()
            }
            _ => format!("name{k}"),
        }
    };
    let (nf, nm) = (fields.len(), members.len());
    match kind {
        0 if nf > 0 => {
            fields.remove(which % nf);
        }
        1 if nf > 0 => {
            let f = &fields[which % nf];
            let copy = Field {
                name: f.name.clone(),
                element: f.element,
                writable: f.writable,
                len: f.len,
            };
            fields.push(copy);
        }
        2 if nf > 0 => fields[which % nf].name = rename(argument),
        3 if nf > 0 => {
            let f = &mut fields[which % nf];
            f.element = match f.element {
                Element::Float => Element::Half,
                Element::Half => Element::Float,
            };
        }
        4 if nf > 0 => fields[which % nf].writable = argument & 1 == 1,
        5 if nf > 0 => {
            let f = &mut fields[which % nf];
            f.len = (f.len + usize::from(argument))
                .saturating_sub(128)
                .min(1 << 14);
        }
        6 if nm > 0 => {
            members.remove(which % nm);
        }
        7 if nm > 0 => members.push(members[which % nm].clone()),
        8 if nm > 0 => members[which % nm].0 = rename(argument),
        9 if nm > 0 => {
            members[which % nm].1 = match argument % 3 {
                0 => MemberValue::Float(f32::from_bits(u32::from(argument) << 23)),
                1 => MemberValue::Half(F16::from_bits(u16::from(argument) << 8)),
                _ => MemberValue::Unsigned(u32::from(argument) << 24),
            }
        }
        _ => {}
    }
}
