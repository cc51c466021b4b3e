//! The bundled 8x8 handwritten digits (`data/digits/digits.bin`; its format,
//! source and licence are in `data/digits/README.md`).

use super::{DataError, Dataset};

/// The file, compiled into the program (117 KB).
pub const BUNDLED: &[u8] = include_bytes!("../../data/digits/digits.bin");

const MAGIC: &[u8; 8] = b"SNNDIGIT";
const HEADER: usize = 28;
const RECORD: usize = 65;
const PIXELS: usize = 64;
const MAX_PIXEL: u8 = 16;

/// The CRC-32 of `bytes` (IEEE 802.3 polynomial, reflected, as zlib).
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

/// Reads a digits file (`source` names it in errors): every field and the
/// checksum are checked before anything is used. Pixels become `x / 16`.
pub fn parse(bytes: &[u8], source: &str) -> Result<Dataset, DataError> {
    let fail = |problem: String| Err(DataError(format!("{source}: {problem}")));
    if bytes.len() < HEADER + 4 {
        return fail(format!(
            "{} bytes is too short for a digits file (at least {})",
            bytes.len(),
            HEADER + 4
        ));
    }
    if &bytes[..8] != MAGIC {
        return fail("not a digits file (the first 8 bytes are not `SNNDIGIT`)".into());
    }
    let (version, count, rows, cols, classes) = (
        u32_at(bytes, 8),
        u32_at(bytes, 12) as usize,
        u32_at(bytes, 16),
        u32_at(bytes, 20),
        u32_at(bytes, 24) as usize,
    );
    if version != 1 {
        return fail(format!(
            "format version {version}; this reader knows version 1"
        ));
    }
    if (rows, cols, classes) != (8, 8, 10) {
        return fail(format!(
            "{rows}x{cols} images of {classes} classes; expected 8x8 images of 10 classes"
        ));
    }
    let expected = count
        .checked_mul(RECORD)
        .and_then(|v| v.checked_add(HEADER + 4));
    if expected != Some(bytes.len()) {
        return fail(format!(
            "{} bytes, but {count} records need {}",
            bytes.len(),
            expected.map_or("more than fit in memory".into(), |v| v.to_string())
        ));
    }
    let body = bytes.len() - 4;
    let stored = u32_at(bytes, body);
    let computed = crc32(&bytes[..body]);
    if stored != computed {
        return fail(format!("checksum mismatch (stored {stored:#010x}, computed {computed:#010x}): the file is corrupted"));
    }
    let mut inputs = Vec::with_capacity(count * PIXELS);
    let mut labels = Vec::with_capacity(count);
    for (i, record) in bytes[HEADER..body].chunks_exact(RECORD).enumerate() {
        let (pixels, label) = record.split_at(PIXELS);
        if let Some(&p) = pixels.iter().find(|&&p| p > MAX_PIXEL) {
            return fail(format!("image {i} has a pixel of {p} (pixels are 0..16)"));
        }
        if usize::from(label[0]) >= classes {
            return fail(format!(
                "image {i} has label {} (labels are 0..9)",
                label[0]
            ));
        }
        inputs.extend(pixels.iter().map(|&p| f32::from(p) / f32::from(MAX_PIXEL)));
        labels.push(usize::from(label[0]));
    }
    if count == 0 {
        return fail("the file holds no images".into());
    }
    Ok(Dataset {
        name: "digits".into(),
        features: PIXELS,
        classes,
        inputs,
        labels,
    })
}

/// The bundled digits.
pub fn bundled() -> Dataset {
    parse(BUNDLED, "data/digits/digits.bin").expect("the bundled file is valid (tested)")
}
