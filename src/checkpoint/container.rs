//! The safetensors container, written and read by hand (the format is
//! small; see `docs/checkpoints.md` for why no crate):
//!
//! ```text
//! u64 little-endian N | N bytes of JSON header (padded with spaces) | data
//! ```
//!
//! The header maps each tensor name to `{"dtype", "shape", "data_offsets"}`
//! (offsets into the data, which follows the header) and may hold a
//! `"__metadata__"` map of strings. Tensors here are always `F32`,
//! little-endian, row-major, laid one after the other in the data.
//!
//! The writer puts a `"checksum": "crc64:<16 hex digits>"` entry in the
//! metadata: the CRC-64 (the XZ polynomial) of the whole file with those 16
//! digits read as `0`. Any change of up to 64 adjacent bits anywhere in the
//! file (a flipped bit, a changed byte, ...) is always detected; other
//! damage is missed with probability `2^-64`.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

/// The largest header this reader takes (as the reference implementation).
pub const MAX_HEADER: u64 = 100_000_000;

/// The metadata key of the checksum.
pub const CHECKSUM_KEY: &str = "checksum";

const CHECKSUM_PREFIX: &str = "crc64:";
const CHECKSUM_DIGITS: usize = 16;

/// CRC-64/XZ (reflected polynomial `0xC96C5795D7870F42`, initial value and
/// final xor all ones), fed in pieces.
#[derive(Clone, Copy, Debug)]
pub struct Crc64(u64);

const fn crc64_table() -> [u64; 256] {
    let mut table = [0u64; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u64;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xc96c_5795_d787_0f42
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
}

static CRC64_TABLE: [u64; 256] = crc64_table();

impl Crc64 {
    /// Nothing fed yet.
    pub fn new() -> Crc64 {
        Crc64(u64::MAX)
    }

    /// Feeds `bytes`.
    pub fn update(&mut self, bytes: &[u8]) -> &mut Crc64 {
        let mut crc = self.0;
        for &b in bytes {
            crc = CRC64_TABLE[((crc ^ u64::from(b)) & 0xff) as usize] ^ (crc >> 8);
        }
        self.0 = crc;
        self
    }

    /// The CRC of everything fed.
    pub fn finish(&self) -> u64 {
        !self.0
    }
}

impl Default for Crc64 {
    fn default() -> Self {
        Crc64::new()
    }
}

/// The CRC-64/XZ of `bytes`.
pub fn crc64(bytes: &[u8]) -> u64 {
    Crc64::new().update(bytes).finish()
}

/// One tensor to write.
pub struct TensorOut<'a> {
    /// Its name.
    pub name: String,
    /// Its shape.
    pub shape: &'a [usize],
    /// Its values (as many as the shape holds).
    pub values: &'a [f32],
}

/// The bytes of a file with `metadata` (in this order, then the checksum)
/// and `tensors` (in this order, in the header and in the data).
pub fn write(metadata: &[(&str, String)], tensors: &[TensorOut<'_>]) -> Vec<u8> {
    let json = |s: &str| serde_json::to_string(s).expect("a string is always JSON");
    let mut header = String::from("{\"__metadata__\":{");
    for (key, value) in metadata {
        header.push_str(&json(key));
        header.push(':');
        header.push_str(&json(value));
        header.push(',');
    }
    header.push_str(&json(CHECKSUM_KEY));
    header.push_str(":\"");
    header.push_str(CHECKSUM_PREFIX);
    let digits_at = 8 + header.len();
    header.push_str(&"0".repeat(CHECKSUM_DIGITS));
    header.push_str("\"}");
    let mut offset = 0usize;
    for tensor in tensors {
        debug_assert_eq!(tensor.shape.iter().product::<usize>(), tensor.values.len());
        let end = offset + 4 * tensor.values.len();
        header.push(',');
        header.push_str(&json(&tensor.name));
        header.push_str(&format!(
            ":{{\"dtype\":\"F32\",\"shape\":{},\"data_offsets\":[{offset},{end}]}}",
            serde_json::to_string(tensor.shape).expect("a shape is JSON")
        ));
        offset = end;
    }
    header.push('}');
    // the data starts at a multiple of 8 bytes (as the reference pads)
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let mut bytes = Vec::with_capacity(8 + header.len() + offset);
    bytes.extend_from_slice(&(header.len() as u64).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for tensor in tensors {
        for v in tensor.values {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
    }
    let crc = crc64(&bytes);
    bytes[digits_at..digits_at + CHECKSUM_DIGITS].copy_from_slice(format!("{crc:016x}").as_bytes());
    bytes
}

/// One tensor read.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorIn {
    /// Its name.
    pub name: String,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its values.
    pub values: Vec<f32>,
}

/// Whether the file carried a checksum (it matched: a file whose checksum
/// does not match is refused).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checksum {
    /// Present and right.
    Verified,
    /// Absent (a file written by another program).
    Absent,
}

/// A file read: its metadata and tensors (in the data's order).
#[derive(Clone, Debug, PartialEq)]
pub struct Container {
    /// The `__metadata__` map (the checksum entry removed).
    pub metadata: BTreeMap<String, String>,
    /// The tensors.
    pub tensors: Vec<TensorIn>,
    /// Whether a checksum was there.
    pub checksum: Checksum,
}

/// What is wrong with a file, and whether it is damage (truncation, a
/// checksum mismatch) or a file that is not safetensors at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadError {
    /// Not a safetensors file.
    NotSafetensors(String),
    /// Cut short or damaged.
    Corrupt(String),
}

/// A header entry: a tensor's description.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: [usize; 2],
}

/// A JSON object read into a map, refusing a key given twice.
struct Unique<V>(Vec<(String, V)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Unique<V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct UniqueVisitor<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for UniqueVisitor<V> {
            type Value = Unique<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries: Vec<(String, V)> = Vec::new();
                let mut seen = std::collections::BTreeSet::new();
                while let Some(key) = map.next_key::<String>()? {
                    if !seen.insert(key.clone()) {
                        return Err(de::Error::custom(format!("the key {key:?} appears twice")));
                    }
                    let value = map.next_value::<V>()?;
                    entries.push((key, value));
                }
                Ok(Unique(entries))
            }
        }
        deserializer.deserialize_map(UniqueVisitor(std::marker::PhantomData))
    }
}

/// A header value: the metadata map or a tensor entry, told apart by key.
enum HeaderValue {
    Metadata(Unique<String>),
    Tensor(Entry),
}

/// The header: `__metadata__` and the tensors, keys unique.
struct Header(Vec<(String, HeaderValue)>);

impl<'de> Deserialize<'de> for Header {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct HeaderVisitor;
        impl<'de> Visitor<'de> for HeaderVisitor {
            type Value = Header;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object of tensors")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Header, A::Error> {
                let mut entries = Vec::new();
                let mut seen = std::collections::BTreeSet::new();
                while let Some(key) = map.next_key::<String>()? {
                    if !seen.insert(key.clone()) {
                        return Err(de::Error::custom(format!("the key {key:?} appears twice")));
                    }
                    let value = if key == "__metadata__" {
                        HeaderValue::Metadata(map.next_value()?)
                    } else {
                        HeaderValue::Tensor(map.next_value().map_err(|e: A::Error| {
                            de::Error::custom(format!("tensor {key:?}: {e}"))
                        })?)
                    };
                    entries.push((key, value));
                }
                Ok(Header(entries))
            }
        }
        deserializer.deserialize_map(HeaderVisitor)
    }
}

/// Where the checksum's digits are in `bytes` (`Ok(None)` when the header
/// has none), and their value.
fn find_checksum(
    bytes: &[u8],
    header_end: usize,
    stored: Option<&str>,
) -> Result<Option<(usize, u64)>, ReadError> {
    let Some(stored) = stored else {
        return Ok(None);
    };
    let corrupt = |m: String| Err(ReadError::Corrupt(m));
    let digits = match stored.strip_prefix(CHECKSUM_PREFIX) {
        Some(d)
            if d.len() == CHECKSUM_DIGITS
                && d.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) =>
        {
            d
        }
        _ => {
            return corrupt(format!(
                "the checksum {stored:?} is not `{CHECKSUM_PREFIX}` and {CHECKSUM_DIGITS} lowercase hex digits"
            ))
        }
    };
    let value = u64::from_str_radix(digits, 16).expect("16 hex digits fit in 64 bits");
    let pattern = format!("\"{CHECKSUM_KEY}\":\"{CHECKSUM_PREFIX}{digits}\"");
    let header = &bytes[8..header_end];
    let mut found = header
        .windows(pattern.len())
        .enumerate()
        .filter(|(_, w)| *w == pattern.as_bytes())
        .map(|(at, _)| at);
    match (found.next(), found.next()) {
        (Some(at), None) => Ok(Some((8 + at + pattern.len() - 1 - CHECKSUM_DIGITS, value))),
        _ => corrupt(format!(
            "the checksum entry is not written as `{pattern}` exactly once in the header"
        )),
    }
}

/// The CRC of `bytes` with the 16 bytes at `digits_at` read as `0`.
fn crc_without_digits(bytes: &[u8], digits_at: usize) -> u64 {
    Crc64::new()
        .update(&bytes[..digits_at])
        .update(&[b'0'; CHECKSUM_DIGITS])
        .update(&bytes[digits_at + CHECKSUM_DIGITS..])
        .finish()
}

/// Recomputes the checksum of a file in place (after an edit made on
/// purpose: tests, fuzzing); false when it has no checksum entry that can
/// be rewritten.
pub fn reseal(bytes: &mut [u8]) -> bool {
    let Some(header_end) = header_end(bytes) else {
        return false;
    };
    let Ok(text) = std::str::from_utf8(&bytes[8..header_end]) else {
        return false;
    };
    let pattern = format!("\"{CHECKSUM_KEY}\":\"{CHECKSUM_PREFIX}");
    let Some(at) = text.find(&pattern) else {
        return false;
    };
    let digits_at = 8 + at + pattern.len();
    if digits_at + CHECKSUM_DIGITS > header_end {
        return false;
    }
    let crc = crc_without_digits(bytes, digits_at);
    bytes[digits_at..digits_at + CHECKSUM_DIGITS].copy_from_slice(format!("{crc:016x}").as_bytes());
    true
}

/// The end of the header, if the length prefix fits in the file.
fn header_end(bytes: &[u8]) -> Option<usize> {
    let prefix: [u8; 8] = bytes.get(..8)?.try_into().ok()?;
    let n = u64::from_le_bytes(prefix);
    if n > MAX_HEADER || n > (bytes.len() - 8) as u64 {
        return None;
    }
    Some(8 + n as usize)
}

/// Reads a file: the structure (header length, JSON, every offset, every
/// shape) first, then the checksum if there is one.
pub fn read(bytes: &[u8]) -> Result<Container, ReadError> {
    let not = |m: String| Err(ReadError::NotSafetensors(m));
    let corrupt = |m: String| Err(ReadError::Corrupt(m));
    let Some(prefix) = bytes.get(..8) else {
        return not(format!(
            "{} bytes: too short for a safetensors file (8 bytes of header length, then the header)",
            bytes.len()
        ));
    };
    let n = u64::from_le_bytes(prefix.try_into().expect("8 bytes"));
    if n > MAX_HEADER {
        return not(format!(
            "the first 8 bytes give a header of {n} bytes (at most {MAX_HEADER}): not a safetensors file"
        ));
    }
    let available = (bytes.len() - 8) as u64;
    if n > available {
        return corrupt(format!(
            "the header is {n} bytes long but only {available} bytes follow: the file is truncated"
        ));
    }
    let header_end = 8 + n as usize;
    let header = &bytes[8..header_end];
    if header.first() != Some(&b'{') {
        return not("the header does not start with `{`: not a safetensors file".into());
    }
    let Ok(text) = std::str::from_utf8(header) else {
        return not("the header is not UTF-8 text: not a safetensors file".into());
    };
    let parsed: Header = match serde_json::from_str(text) {
        Ok(h) => h,
        Err(e) => return corrupt(format!("the header is not valid safetensors JSON: {e}")),
    };
    let data = &bytes[header_end..];
    let mut metadata = BTreeMap::new();
    let mut entries = Vec::new();
    for (key, value) in parsed.0 {
        match value {
            HeaderValue::Metadata(m) => metadata.extend(m.0),
            HeaderValue::Tensor(entry) => entries.push((key, entry)),
        }
    }
    for (name, entry) in &entries {
        if entry.dtype != "F32" {
            return corrupt(format!(
                "tensor {name} has dtype {}; these files hold F32 tensors only",
                entry.dtype
            ));
        }
        let [start, end] = entry.data_offsets;
        let bytes_needed = entry
            .shape
            .iter()
            .try_fold(4usize, |acc, &d| acc.checked_mul(d));
        if end < start || Some(end - start) != bytes_needed {
            return corrupt(format!(
                "tensor {name}: data_offsets [{start}, {end}] do not hold shape {:?} of F32 ({} bytes)",
                entry.shape,
                bytes_needed.map_or("more than fit in memory".into(), |b| b.to_string())
            ));
        }
        if end > data.len() {
            return corrupt(format!(
                "tensor {name} ends at byte {end} of the data, which has {} bytes: the file is truncated",
                data.len()
            ));
        }
    }
    entries.sort_by_key(|(_, e)| e.data_offsets);
    let mut at = 0usize;
    for (name, entry) in &entries {
        if entry.data_offsets[0] != at {
            return corrupt(format!(
                "tensor {name} starts at byte {} of the data, expected {at}: the tensors must follow one another without gaps or overlaps",
                entry.data_offsets[0]
            ));
        }
        at = entry.data_offsets[1];
    }
    if at != data.len() {
        return corrupt(format!(
            "the tensors take {at} bytes but the data has {}: the file has bytes no tensor owns",
            data.len()
        ));
    }
    let stored = metadata.remove(CHECKSUM_KEY);
    let checksum = match find_checksum(bytes, header_end, stored.as_deref())? {
        None => Checksum::Absent,
        Some((digits_at, stored)) => {
            let computed = crc_without_digits(bytes, digits_at);
            if computed != stored {
                return corrupt(format!(
                    "checksum mismatch (stored {stored:016x}, computed {computed:016x}): the file is corrupted"
                ));
            }
            Checksum::Verified
        }
    };
    let tensors = entries
        .into_iter()
        .map(|(name, entry)| TensorIn {
            name,
            values: data[entry.data_offsets[0]..entry.data_offsets[1]]
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes")))
                .collect(),
            shape: entry.shape,
        })
        .collect();
    Ok(Container {
        metadata,
        tensors,
        checksum,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The check values come from `xz` (`xz -C crc64` then `xz --robot
    /// --list -vv` prints the block's check), an independent implementation.
    #[test]
    fn crc64_agrees_with_xz() {
        assert_eq!(crc64(b"123456789"), 0x995d_c9bb_df19_39fa);
        let bytes: Vec<u8> = (0..1024).map(|i| (i % 256) as u8).collect();
        assert_eq!(crc64(&bytes), 0xd51f_b58d_c789_c400);
        assert_eq!(crc64(b""), 0);
        let mut pieces = Crc64::new();
        pieces.update(&bytes[..100]).update(&bytes[100..]);
        assert_eq!(pieces.finish(), 0xd51f_b58d_c789_c400);
    }

    fn sample() -> Vec<u8> {
        let a = [1.0f32, -2.5, 3.25, 0.0, f32::MIN_POSITIVE, -0.0];
        let b = [0.5f32];
        write(
            &[("format", "test".into()), ("note", "\"quoted\"".into())],
            &[
                TensorOut {
                    name: "a".into(),
                    shape: &[2, 3],
                    values: &a,
                },
                TensorOut {
                    name: "b".into(),
                    shape: &[],
                    values: &b,
                },
            ],
        )
    }

    #[test]
    fn what_is_written_is_read_back_with_a_verified_checksum() {
        let bytes = sample();
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        assert_eq!((8 + n) % 8, 0, "the data starts 8-aligned");
        assert_eq!(bytes.len(), 8 + n + 7 * 4);
        let c = read(&bytes).unwrap();
        assert_eq!(c.checksum, Checksum::Verified);
        assert_eq!(c.metadata.len(), 2);
        assert_eq!(c.metadata["note"], "\"quoted\"");
        assert_eq!(c.tensors[0].shape, vec![2, 3]);
        assert_eq!(c.tensors[1].shape, Vec::<usize>::new());
        let bits: Vec<u32> = c.tensors[0].values.iter().map(|v| v.to_bits()).collect();
        let want: Vec<u32> = [1.0f32, -2.5, 3.25, 0.0, f32::MIN_POSITIVE, -0.0]
            .iter()
            .map(|v| v.to_bits())
            .collect();
        assert_eq!(bits, want);
    }

    /// Refused, or (a flip in the key `checksum` itself) read without a
    /// checksum and with a metadata key the writer never writes, which the
    /// readers of weights and checkpoints refuse.
    #[test]
    fn every_flipped_bit_is_detected() {
        let bytes = sample();
        let mut renamed = 0;
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut damaged = bytes.clone();
                damaged[i] ^= 1 << bit;
                if let Ok(c) = read(&damaged) {
                    let unknown = c.metadata.keys().any(|k| k != "format" && k != "note");
                    assert!(
                        c.checksum == Checksum::Absent && unknown,
                        "byte {i} bit {bit} went unnoticed"
                    );
                    renamed += 1;
                }
            }
        }
        // at most the 8 letters of the key, 8 bits each
        assert!(renamed <= 64, "{renamed}");
    }

    #[test]
    fn reseal_makes_an_edited_file_pass_the_checksum() {
        let mut bytes = sample();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x40;
        assert!(matches!(read(&bytes), Err(ReadError::Corrupt(m)) if m.contains("checksum")));
        assert!(reseal(&mut bytes));
        assert!(read(&bytes).is_ok());
    }

    #[test]
    fn a_file_without_checksum_is_read_as_such() {
        // as another writer would lay it out: no metadata, keys in any order
        let header = br#"{"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}"#;
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(header);
        bytes.extend_from_slice(&1.5f32.to_le_bytes());
        bytes.extend_from_slice(&(-3.0f32).to_le_bytes());
        let c = read(&bytes).unwrap();
        assert_eq!(c.checksum, Checksum::Absent);
        assert_eq!(c.tensors[0].name, "a");
        assert_eq!(c.tensors[0].values, vec![1.5]);
        assert_eq!(c.tensors[1].values, vec![-3.0]);
    }

    #[test]
    fn structural_faults_are_named() {
        let frame = |header: &str, data: &[u8]| {
            let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
            bytes.extend_from_slice(header.as_bytes());
            bytes.extend_from_slice(data);
            read(&bytes).unwrap_err()
        };
        let msg = |e: ReadError| match e {
            ReadError::NotSafetensors(m) | ReadError::Corrupt(m) => m,
        };
        assert!(msg(frame(
            r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#,
            &[0; 4]
        ))
        .contains("truncated"));
        assert!(msg(frame(
            r#"{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}"#,
            &[0; 8]
        ))
        .contains("dtype F64"));
        assert!(msg(frame(
            r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
            &[0; 8]
        ))
        .contains("twice"));
        assert!(msg(frame(
            r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
            &[0; 8]
        ))
        .contains("gaps"));
        assert!(msg(frame(
            r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
            &[0; 8]
        ))
        .contains("no tensor owns"));
        assert!(msg(frame(
            r#"{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,4]}}"#,
            &[0; 4]
        ))
        .contains("more than fit"));
        assert!(msg(frame(r#"[1, 2]"#, &[])).contains("start with"));
        assert!(matches!(
            read(&[1, 2, 3]),
            Err(ReadError::NotSafetensors(_))
        ));
        assert!(matches!(
            read(&u64::MAX.to_le_bytes()),
            Err(ReadError::NotSafetensors(_))
        ));
    }
}
