//! The readers of files a user hands over: the snnTorch fixtures
//! (`index.json` + `data.bin`) and the codelet manifest (`manifest.json`).

use snn_codelet_gen::manifest;
use snn_reference::conformance::report_fixtures;
use snn_reference::fixtures::Fixtures;

/// The largest fixtures the target runs through the whole comparison (the
/// reader and the case builder see every input; the comparison, which runs
/// the kernels and the reference, only small ones, to keep each input fast).
const MAX_COMPARED_VALUES: usize = 4096;

/// `index.json` and `data.bin` in one input: a 4-byte little-endian length
/// `L`, then `L` bytes of `index.json` (fewer if the input is shorter), then
/// `data.bin`.
pub fn fixture_input(index: &[u8], data: &[u8]) -> Vec<u8> {
    let mut bytes = (index.len() as u32).to_le_bytes().to_vec();
    bytes.extend_from_slice(index);
    bytes.extend_from_slice(data);
    bytes
}

/// The fuzz target of the fixture reader: [`Fixtures::from_bytes`], then
/// every case through [`Fixtures::case`] (which checks it first), and small
/// fixtures through the whole comparison and its report. Nothing may panic;
/// a case the builder accepts has arrays that fit its shape.
pub fn fixtures(data: &[u8]) {
    let (length, rest) = data.split_at(data.len().min(4));
    let mut le = [0u8; 4];
    le[..length.len()].copy_from_slice(length);
    let split = (u32::from_le_bytes(le) as usize).min(rest.len());
    let (index, data) = rest.split_at(split);
    let Ok(fixtures) = Fixtures::from_bytes(index, data) else {
        return;
    };
    let mut values = 0usize;
    for fixture in &fixtures.index.cases {
        if let Ok(case) = fixtures.case(fixture) {
            assert_eq!(
                case.check(),
                Ok(()),
                "{}: the builder made a case that does not fit its shape",
                fixture.name
            );
            values = values.saturating_add(case.steps * case.elements());
        } else {
            values = values.saturating_add(1);
        }
    }
    if values <= MAX_COMPARED_VALUES {
        let summary = report_fixtures(&fixtures);
        let _ = summary.text();
        assert_eq!(summary.cases.len(), fixtures.index.cases.len());
    }
}

/// The fuzz target of the manifest reader: `manifest::from_json` on the
/// input as text; what it accepts must be written back by `to_json` and
/// read again as the same vertices.
pub fn manifest(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(vertices) = manifest::from_json(text) else {
        return;
    };
    for vertex in &vertices {
        let _ = vertex.layout();
        for field in &vertex.fields {
            let _ = field.length.of(usize::MAX, 3);
            let _ = field.length.to_string();
        }
    }
    let again = manifest::from_json(&manifest::to_json(&vertices));
    assert_eq!(
        again.as_ref(),
        Ok(&vertices),
        "to_json then from_json changed the manifest"
    );
}
