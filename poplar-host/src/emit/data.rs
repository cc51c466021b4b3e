//! The data of a run: what is written and streamed in, what is read and
//! streamed out, checked against the graph and program, and laid out as
//! `data.bin` with its index (the `data` section of the description).

use std::collections::BTreeMap;

use snn_codelet_gen::Element;
use snn_kernels::F16;

use super::description::DataEntry;
use super::EmitError;
use crate::graph::run::Values;
use crate::graph::{Graph, Program};

/// At most this many bytes of stream output are asked for without
/// expected values (a guard against `Repeat` counts that multiply up).
pub const MAX_OUTPUT_BYTES: u64 = 1 << 30;

/// At most this many copies of one stream in one run of a program (each
/// is an entry of the data index).
pub const MAX_STREAM_COPIES: u64 = 1 << 20;

/// The input values of a run and the outputs expected (computed on this
/// machine: by the native kernels or by the graph emulator,
/// `graph::run::Engine`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EmitData {
    /// Tensors written before the program runs: name, all of its values.
    /// Tensors not listed are written with zeros (as the emulator starts).
    pub writes: Vec<(String, Values)>,
    /// Per host-to-device stream, the values of each of its copies, in the
    /// order the program runs them.
    pub streams_in: Vec<(String, Vec<Values>)>,
    /// Tensors read after the run, with the values expected.
    pub expected_tensors: Vec<(String, Values)>,
    /// Per device-to-host stream, the values expected from each of its
    /// copies, in order (streams not listed are read, not compared).
    pub expected_streams: Vec<(String, Vec<Values>)>,
}

/// How a program uses one host stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StreamUse {
    /// True for host-to-device.
    pub into_device: bool,
    /// Element type.
    pub element: Element,
    /// Values per copy.
    pub len: usize,
    /// Copies in one run of the program.
    pub runs: u64,
}

fn walk(
    graph: &Graph,
    p: &Program,
    times: u64,
    uses: &mut BTreeMap<String, StreamUse>,
) -> Result<(), EmitError> {
    let mut add = |stream: &str, into_device: bool, region: &crate::graph::Region| {
        let element = graph.tensor(region.tensor).element;
        let len = region.range.len();
        let u = uses.entry(stream.to_string()).or_insert(StreamUse {
            into_device,
            element,
            len,
            runs: 0,
        });
        if u.into_device != into_device {
            return Err(EmitError::Stream(format!(
                "`{stream}` is used both as a host-to-device and a device-to-host stream; \
                 give each direction its own name"
            )));
        }
        if (u.element, u.len) != (element, len) {
            return Err(EmitError::Stream(format!(
                "`{stream}` copies {} {:?} values in one place and {len} {element:?} in another; \
                 a Poplar stream has one type and length",
                u.len, u.element
            )));
        }
        if len == 0 {
            return Err(EmitError::Stream(format!(
                "`{stream}` copies no values; give its copy a non-empty region"
            )));
        }
        u.runs = u
            .runs
            .checked_add(times)
            .filter(|&r| r <= MAX_STREAM_COPIES)
            .ok_or_else(|| {
                EmitError::Stream(format!(
                    "`{stream}` is copied more than {MAX_STREAM_COPIES} times in one run; \
                     repeat less"
                ))
            })?;
        Ok(())
    };
    match p {
        Program::Sequence(items) => {
            for item in items {
                walk(graph, item, times, uses)?;
            }
        }
        Program::Repeat(count, body) => {
            // saturating: a stream copied that often is refused by `add`
            walk(graph, body, times.saturating_mul(u64::from(*count)), uses)?;
        }
        Program::StreamIn { stream, to } => add(stream, true, to)?,
        Program::StreamOut { from, stream } => add(stream, false, from)?,
        Program::Execute(_) | Program::Copy { .. } => {}
    }
    Ok(())
}

/// Every stream `program` uses, by name.
pub(crate) fn stream_uses(
    graph: &Graph,
    program: &Program,
) -> Result<BTreeMap<String, StreamUse>, EmitError> {
    let mut uses = BTreeMap::new();
    walk(graph, program, 1, &mut uses)?;
    Ok(uses)
}

fn element_of(v: &Values) -> Element {
    match v {
        Values::F32(_) => Element::Float,
        Values::F16(_) => Element::Half,
    }
}

fn push_bytes(bytes: &mut Vec<u8>, v: &Values) -> u64 {
    let at = bytes.len() as u64;
    match v {
        Values::F32(v) => v
            .iter()
            .for_each(|x| bytes.extend_from_slice(&x.to_bits().to_le_bytes())),
        Values::F16(v) => v
            .iter()
            .for_each(|x| bytes.extend_from_slice(&x.to_bits().to_le_bytes())),
    }
    at
}

/// `count` values of `element` at `offset` of `bytes`, when they are there.
pub fn values_at(bytes: &[u8], element: Element, count: u64, offset: u64) -> Option<Values> {
    let width = crate::graph::element_bytes(element) as u64;
    let end = count.checked_mul(width)?.checked_add(offset)?;
    let slice = bytes.get(usize::try_from(offset).ok()?..usize::try_from(end).ok()?)?;
    Some(match element {
        Element::Float => Values::F32(
            slice
                .chunks_exact(4)
                .map(|c| f32::from_bits(u32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                .collect(),
        ),
        Element::Half => Values::F16(
            slice
                .chunks_exact(2)
                .map(|c| F16::from_bits(u16::from_le_bytes([c[0], c[1]])))
                .collect(),
        ),
    })
}

/// The data index and `data.bin`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Plan {
    /// The index.
    pub entries: Vec<DataEntry>,
    /// `data.bin`.
    pub bytes: Vec<u8>,
}

/// What is read after a run: tensors by name with the values expected
/// (or none), and per device-to-host stream the values expected (or none:
/// read, not compared).
pub(crate) struct Reads<'a> {
    pub tensors: Vec<(&'a str, Option<&'a Values>)>,
    pub streams: BTreeMap<&'a str, &'a [Values]>,
}

/// Checks `writes`, `streams_in` and `reads` against `graph` and `program`
/// and lays them out.
pub(crate) fn plan(
    graph: &Graph,
    program: &Program,
    writes: &[(String, Values)],
    streams_in: &[(String, Vec<Values>)],
    reads: &Reads<'_>,
) -> Result<Plan, EmitError> {
    let uses = stream_uses(graph, program)?;
    let find = |name: &str, what: &str| {
        graph
            .tensors()
            .iter()
            .position(|t| t.name == name)
            .ok_or_else(|| {
                EmitError::Data(format!(
                    "{what} `{name}`: the graph has no tensor of this name"
                ))
            })
    };
    let fits = |k: usize, v: &Values, what: &str| {
        let t = &graph.tensors()[k];
        if t.element != element_of(v) || t.len != v.len() {
            return Err(EmitError::Data(format!(
                "{what} `{}`: {} {:?} values given, the tensor holds {} {:?}",
                t.name,
                v.len(),
                element_of(v),
                t.len,
                t.element
            )));
        }
        Ok(())
    };
    let mut bytes = Vec::new();
    let mut entries = Vec::new();

    let mut written = vec![None; graph.tensors().len()];
    for (name, values) in writes {
        let k = find(name, "write")?;
        fits(k, values, "write")?;
        if written[k].is_some() {
            return Err(EmitError::Data(format!(
                "write `{name}`: written twice; give each tensor once"
            )));
        }
        written[k] = Some(push_bytes(&mut bytes, values));
    }
    for (k, w) in written.iter().enumerate() {
        entries.push(match w {
            Some(offset) => DataEntry::Write {
                tensor: k,
                offset: *offset,
            },
            None => DataEntry::Zero { tensor: k },
        });
    }

    let mut given: BTreeMap<&str, &[Values]> = BTreeMap::new();
    for (name, list) in streams_in {
        if given.insert(name, list).is_some() {
            return Err(EmitError::Data(format!(
                "stream `{name}`: its values are given twice; give them once, in order"
            )));
        }
        match uses.get(name.as_str()) {
            Some(u) if u.into_device => {}
            Some(_) => {
                return Err(EmitError::Data(format!(
                    "stream `{name}` is a device-to-host stream; its values are outputs"
                )))
            }
            None => {
                return Err(EmitError::Data(format!(
                    "stream `{name}`: the program copies nothing from it"
                )))
            }
        }
    }
    for (name, u) in uses.iter().filter(|(_, u)| u.into_device) {
        let list = given.get(name.as_str()).copied().unwrap_or(&[]);
        if list.len() as u64 != u.runs {
            return Err(EmitError::Data(format!(
                "stream `{name}`: the program copies from it {} times, {} values given",
                u.runs,
                list.len()
            )));
        }
        for (i, v) in list.iter().enumerate() {
            if element_of(v) != u.element || v.len() != u.len {
                return Err(EmitError::Data(format!(
                    "stream `{name}`, copy {i}: {} {:?} values given, each copy takes {} {:?}",
                    v.len(),
                    element_of(v),
                    u.len,
                    u.element
                )));
            }
            let offset = push_bytes(&mut bytes, v);
            entries.push(DataEntry::Push {
                stream: name.clone(),
                element: u.element,
                count: u.len as u64,
                offset,
            });
        }
    }

    let mut read = vec![false; graph.tensors().len()];
    for (name, expected) in &reads.tensors {
        let k = find(name, "read")?;
        if std::mem::replace(&mut read[k], true) {
            return Err(EmitError::Data(format!(
                "read `{name}`: asked for twice; ask once"
            )));
        }
        let expected = match expected {
            Some(v) => {
                fits(k, v, "expected tensor")?;
                Some(push_bytes(&mut bytes, v))
            }
            None => None,
        };
        entries.push(DataEntry::Read {
            tensor: k,
            expected,
        });
    }
    for name in reads.streams.keys() {
        if uses.get(*name).is_none_or(|u| u.into_device) {
            return Err(EmitError::Data(format!(
                "expected stream `{name}`: the program copies nothing into a device-to-host \
                 stream of this name"
            )));
        }
    }
    let mut unchecked_bytes = 0u64;
    for (name, u) in uses.iter().filter(|(_, u)| !u.into_device) {
        let expected = reads.streams.get(name.as_str()).copied();
        if let Some(list) = expected {
            if list.len() as u64 != u.runs {
                return Err(EmitError::Data(format!(
                    "expected stream `{name}`: the program copies into it {} times, {} values \
                     given",
                    u.runs,
                    list.len()
                )));
            }
        } else {
            let width = crate::graph::element_bytes(u.element) as u64;
            unchecked_bytes = (u.len as u64)
                .checked_mul(width)
                .and_then(|b| b.checked_mul(u.runs))
                .and_then(|b| b.checked_add(unchecked_bytes))
                .filter(|&b| b <= MAX_OUTPUT_BYTES)
                .ok_or_else(|| {
                    EmitError::Data(format!(
                        "stream `{name}` gives more than {MAX_OUTPUT_BYTES} bytes in one run; \
                         repeat less"
                    ))
                })?;
        }
        for i in 0..u.runs {
            let offset = match expected {
                Some(list) => {
                    let v = &list[i as usize];
                    if element_of(v) != u.element || v.len() != u.len {
                        return Err(EmitError::Data(format!(
                            "expected stream `{name}`, copy {i}: {} {:?} values given, each \
                             copy gives {} {:?}",
                            v.len(),
                            element_of(v),
                            u.len,
                            u.element
                        )));
                    }
                    Some(push_bytes(&mut bytes, v))
                }
                None => None,
            };
            entries.push(DataEntry::Pop {
                stream: name.clone(),
                element: u.element,
                count: u.len as u64,
                expected: offset,
            });
        }
    }
    Ok(Plan { entries, bytes })
}
