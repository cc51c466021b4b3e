//! The data-set readers of `snn-ipu train`: the IDX files of `--data DIR`
//! (`snn_ipu::data::idx`) and the bundled digits format
//! (`snn_ipu::data::digits`).
//!
//! `idx` input layout: three 4-byte little-endian lengths `L0 L1 L2`, then
//! the four files one after the other, in `idx::FILES`' order (training
//! images, training labels, test images, test labels), `L0`, `L1` and `L2`
//! bytes for the first three (fewer when the input is shorter) and the rest
//! for the fourth. Each file may be plain or gzipped.
//!
//! `digits` input: the bytes of a digits file.

use snn_ipu::data::digits;
use snn_ipu::data::idx::{self, Header, IdxFile, Kind};
use snn_ipu::data::{DataError, Dataset};
use snn_ipu::memory::Available;

/// What the fuzz target lets the two sets take (64 MiB): the reader refuses
/// more with a message, and the fuzzer's memory limit stays far off.
pub const FUZZ_MEMORY: u64 = 64 << 20;

/// The four files of an `idx` input.
pub fn idx_files(data: &[u8]) -> [&[u8]; 4] {
    let mut rest = data;
    let mut lengths = [0usize; 3];
    for length in &mut lengths {
        let (head, tail) = rest.split_at(rest.len().min(4));
        let mut le = [0u8; 4];
        le[..head.len()].copy_from_slice(head);
        *length = u32::from_le_bytes(le) as usize;
        rest = tail;
    }
    let mut files = [&[][..]; 4];
    for (file, length) in files.iter_mut().zip(lengths) {
        let (head, tail) = rest.split_at(length.min(rest.len()));
        *file = head;
        rest = tail;
    }
    files[3] = rest;
    files
}

/// Builds an `idx` input from four files.
pub fn idx_input(files: [&[u8]; 4]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for file in &files[..3] {
        bytes.extend_from_slice(&(file.len() as u32).to_le_bytes());
    }
    for file in files {
        bytes.extend_from_slice(file);
    }
    bytes
}

fn named(e: &DataError, k: usize) {
    assert!(
        e.0.starts_with(&format!("{}: ", idx::FILES[k])),
        "the error names its file: {}",
        e.0
    );
}

/// One file read on its own.
enum Alone<T> {
    /// Read.
    Read(T),
    /// Refused.
    Refused,
    /// Not read: its header asks for more memory than the sets may take.
    TooBig,
}

/// Reads file `k` of an `idx` input on its own with `read`, unless its
/// header asks for more than `usable` bytes (as the sets' memory check
/// counts them: 4 per pixel, 8 per label).
fn alone<'a, T>(
    bytes: &'a [u8],
    k: usize,
    usable: u64,
    read: impl FnOnce(IdxFile<'a>) -> Result<T, DataError>,
) -> Alone<T> {
    let kind = if k % 2 == 0 {
        Kind::Images
    } else {
        Kind::Labels
    };
    let result =
        IdxFile::open(bytes, kind, idx::FILES[k], Some(bytes.len() as u64)).and_then(|file| {
            let per_value = if kind == Kind::Images { 4 } else { 8 };
            if file.header().payload() as u64 * per_value > usable {
                return Ok(None);
            }
            read(file).map(Some)
        });
    match result {
        Ok(Some(value)) => Alone::Read(value),
        Ok(None) => Alone::TooBig,
        Err(e) => {
            named(&e, k);
            Alone::Refused
        }
    }
}

/// The fuzz target of the IDX reader.
pub fn idx(data: &[u8]) {
    let _ = idx_read(data);
}

/// The IDX target's body: each file on its own (`IdxFile::open`, then
/// `read_images` or `read_labels`, as `idx::parse_images` and
/// `idx::parse_labels` do), then the four as a pair of sets (`idx::parse`). Nothing
/// may panic, errors name a file, and the two ways must agree: the sets are
/// read exactly when every file is read on its own, the counts match, each
/// set has images, the image sizes agree and the sets fit in
/// [`FUZZ_MEMORY`], and then hold what the files held. Returns whether the
/// sets were read.
pub fn idx_read(data: &[u8]) -> bool {
    let files = idx_files(data);
    let available = Available::MemAvailable(FUZZ_MEMORY);
    let usable = available.usable_bytes();
    let train = alone(files[0], 0, usable, IdxFile::read_images);
    let train_labels = alone(files[1], 1, usable, IdxFile::read_labels);
    let test = alone(files[2], 2, usable, IdxFile::read_images);
    let test_labels = alone(files[3], 3, usable, IdxFile::read_labels);
    let sets = idx::parse(files, "fuzz", available);
    if let Err(e) = &sets {
        assert!(
            idx::FILES
                .iter()
                .chain(&["fuzz"])
                .any(|n| e.0.starts_with(&format!("{n}: "))),
            "the error names a file: {}",
            e.0
        );
    }
    let (
        Alone::Read(train),
        Alone::Read(test),
        Alone::Read(train_labels),
        Alone::Read(test_labels),
    ) = (&train, &test, &train_labels, &test_labels)
    else {
        assert!(
            sets.is_err(),
            "a file refused alone, or larger than the memory, is refused in the set"
        );
        return false;
    };
    let (h, g): (Header, Header) = (train.header, test.header);
    let bytes = (h.payload() + g.payload()) as u64 * 4 + (h.count + g.count) as u64 * 8;
    let consistent = h.count == train_labels.len()
        && g.count == test_labels.len()
        && h.count > 0
        && g.count > 0
        && (h.rows, h.cols) == (g.rows, g.cols)
        && bytes <= available.usable_bytes();
    match sets {
        Ok((a, b)) => {
            assert!(consistent, "sets read from files that do not fit together");
            for (set, images, labels) in [(a, train, train_labels), (b, test, test_labels)] {
                check(&set);
                assert_eq!(set.features, images.header.rows * images.header.cols);
                assert_eq!(
                    bits(&set.inputs),
                    bits(&images.pixels),
                    "the set's pixels are the file's"
                );
                assert_eq!(&set.labels, labels);
            }
            true
        }
        Err(e) => {
            assert!(!consistent, "consistent files refused as sets: {}", e.0);
            false
        }
    }
}

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

/// What every data set the readers make holds.
fn check(set: &Dataset) {
    assert!(!set.is_empty());
    assert_eq!(set.inputs.len(), set.len() * set.features);
    assert!(set.inputs.iter().all(|v| (0.0..=1.0).contains(v)));
    assert!(set.labels.iter().all(|&l| l < set.classes));
    assert_eq!(set.class_counts().iter().sum::<usize>(), set.len());
    let _ = set.summary();
}

/// The fuzz target of the digits reader.
pub fn digits(data: &[u8]) {
    let _ = digits_read(data);
}

/// The digits target's body: the input as a file (nothing may panic, an
/// error names the file, what is read holds the file's records), then the
/// input's bytes turned into a well-formed file (pixels mod 17, labels mod
/// 10, a correct header and checksum), which must be read back exactly.
/// Returns whether the input itself was read.
pub fn digits_read(data: &[u8]) -> bool {
    let read = match digits::parse(data, "fuzz") {
        Ok(set) => {
            check(&set);
            assert_eq!((set.features, set.classes), (64, 10));
            for (i, record) in data[28..data.len() - 4].chunks_exact(65).enumerate() {
                let expected: Vec<f32> =
                    record[..64].iter().map(|&p| f32::from(p) / 16.0).collect();
                assert_eq!(bits(set.image(i)), bits(&expected));
                assert_eq!(set.labels[i], usize::from(record[64]));
            }
            true
        }
        Err(e) => {
            assert!(e.0.starts_with("fuzz: "), "{}", e.0);
            false
        }
    };
    let records = data.len() / 65;
    if records > 0 {
        let mut file = b"SNNDIGIT".to_vec();
        for word in [1u32, records as u32, 8, 8, 10] {
            file.extend_from_slice(&word.to_le_bytes());
        }
        for record in data.chunks_exact(65) {
            file.extend(record[..64].iter().map(|&p| p % 17));
            file.push(record[64] % 10);
        }
        file.extend_from_slice(&digits::crc32(&file).to_le_bytes());
        let set = digits::parse(&file, "made")
            .unwrap_or_else(|e| panic!("a well-formed file is refused: {}", e.0));
        check(&set);
        assert_eq!(set.len(), records);
    }
    read
}

// ---------------------------------------------------------------- seeds

fn images_file(count: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for word in [idx::IMAGES_MAGIC, count, rows, cols] {
        bytes.extend_from_slice(&word.to_be_bytes());
    }
    bytes.extend_from_slice(pixels);
    bytes
}

fn labels_file(labels: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for word in [idx::LABELS_MAGIC, labels.len() as u32] {
        bytes.extend_from_slice(&word.to_be_bytes());
    }
    bytes.extend_from_slice(labels);
    bytes
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
    // writing to a Vec cannot fail
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

/// The four files of a valid set: `train` and `test` images of `rows x
/// cols` with a fixed pattern of pixels and labels.
fn idx_set(train: usize, test: usize, rows: u32, cols: u32) -> [Vec<u8>; 4] {
    let n = (rows * cols) as usize;
    let images = |count: usize, salt: usize| {
        let pixels: Vec<u8> = (0..count * n)
            .map(|i| ((i * 37 + salt * 11) % 256) as u8)
            .collect();
        images_file(count as u32, rows, cols, &pixels)
    };
    let labels = |count: usize, salt: usize| {
        labels_file(
            &(0..count)
                .map(|i| ((i + salt) % 10) as u8)
                .collect::<Vec<_>>(),
        )
    };
    [
        images(train, 1),
        labels(train, 3),
        images(test, 2),
        labels(test, 7),
    ]
}

fn idx_seed(files: &[Vec<u8>; 4]) -> Vec<u8> {
    idx_input(files.each_ref().map(Vec::as_slice))
}

/// The seeds of the `idx` target, valid and broken.
pub fn idx_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let small = idx_set(3, 2, 4, 3);
    let with = |k: usize, bytes: Vec<u8>| {
        let mut files = small.clone();
        files[k] = bytes;
        idx_seed(&files)
    };
    let gz = gzip(&small[0]);
    let mut corrupt = gz.clone();
    let middle = corrupt.len() / 2;
    corrupt[middle] ^= 0x20;
    vec![
        ("mnist_like_plain", idx_seed(&idx_set(2, 1, 28, 28))),
        (
            "small_gzipped",
            idx_seed(&idx_set(4, 2, 5, 4).map(|f| gzip(&f))),
        ),
        ("mixed_gzip_plain", with(0, gz.clone())),
        ("wrong_magic", with(0, small[1].clone())),
        ("count_mismatch", with(3, labels_file(&[1, 2, 3]))),
        ("size_mismatch", {
            let mut files = small.clone();
            files[2] = idx_set(1, 2, 3, 4)[2].clone();
            idx_seed(&files)
        }),
        ("truncated_gzip", with(0, gz[..gz.len() - 6].to_vec())),
        (
            "trailing_garbage",
            with(2, [&small[2][..], &[0u8, 1][..]].concat()),
        ),
        ("label_10", with(1, labels_file(&[0, 10, 2]))),
        ("corrupt_gzip", with(0, corrupt)),
        (
            "header_at_cap_gzipped",
            with(0, gzip(&images_file(1 << 21, 32, 32, &[1, 2, 3]))),
        ),
        (
            "too_big_for_memory_gzipped",
            with(2, gzip(&images_file(1 << 20, 28, 28, &[9; 100]))),
        ),
        ("no_images", idx_seed(&idx_set(0, 2, 4, 3))),
        ("empty", Vec::new()),
    ]
}

/// The seeds of the `digits` target, valid and broken: the first records of
/// the bundled file, resealed.
pub fn digits_seeds() -> Vec<(&'static str, Vec<u8>)> {
    const HEADER: usize = 28;
    const RECORD: usize = 65;
    let bundled = digits::BUNDLED;
    let make = |records: &[u8], edit: &dyn Fn(&mut Vec<u8>)| {
        let mut file = bundled[..HEADER].to_vec();
        file[12..16].copy_from_slice(&((records.len() / RECORD) as u32).to_le_bytes());
        file.extend_from_slice(records);
        edit(&mut file);
        let crc = digits::crc32(&file);
        file.extend_from_slice(&crc.to_le_bytes());
        file
    };
    let five = &bundled[HEADER..HEADER + 5 * RECORD];
    let valid = make(five, &|_| {});
    let mut bad_crc = valid.clone();
    bad_crc[HEADER + 10] ^= 1;
    vec![
        ("five_records", valid.clone()),
        ("one_record", make(&five[..RECORD], &|_| {})),
        ("bad_checksum", bad_crc),
        ("pixel_17", make(five, &|f| f[HEADER + RECORD + 3] = 17)),
        (
            "label_10",
            make(five, &|f| f[HEADER + 3 * RECORD + 64] = 10),
        ),
        ("version_2", make(five, &|f| f[8] = 2)),
        ("truncated", valid[..valid.len() - 30].to_vec()),
        (
            "huge_count",
            make(five, &|f| {
                f[12..16].copy_from_slice(&u32::MAX.to_le_bytes())
            }),
        ),
        ("empty", Vec::new()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_idx_seeds_reach_both_outcomes_where_expected() {
        let read: Vec<(&str, bool)> = idx_seeds()
            .into_iter()
            .map(|(name, bytes)| (name, idx_read(&bytes)))
            .collect();
        let valid = ["mnist_like_plain", "small_gzipped", "mixed_gzip_plain"];
        for (name, ok) in read {
            assert_eq!(ok, valid.contains(&name), "{name}");
        }
    }

    #[test]
    fn the_digits_seeds_reach_both_outcomes_where_expected() {
        for (name, bytes) in digits_seeds() {
            let valid = ["five_records", "one_record"].contains(&name);
            assert_eq!(digits_read(&bytes), valid, "{name}");
        }
    }

    #[test]
    fn the_idx_input_layout_round_trips() {
        let files: [&[u8]; 4] = [b"a", b"", b"ccc", b"dd"];
        assert_eq!(idx_files(&idx_input(files)), files);
        // short inputs: lengths past the end are cut, the rest is empty
        assert_eq!(idx_files(&[9, 0]), [&[0u8; 0][..]; 4]);
        assert_eq!(
            idx_files(&[2, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 1, 2, 3]),
            [&[1u8, 2][..], &[][..], &[3u8][..], &[][..]]
        );
    }
}
