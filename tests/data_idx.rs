//! The IDX reader (`snn_ipu::data::idx`, `snn-ipu train --data DIR`) on
//! small files the tests write: valid sets, plain and gzipped, read back
//! exactly; every malformed file refused with a message that names it and
//! the problem; property tests (seeded) over arbitrary and mutated bytes.
//!
//! The expected pixels are `p / 255` computed in f64 and rounded once to f32
//! (the same value as the f32 division: both operands and the quotient of
//! two small integers are exact or rounded once, 53 bits being more than
//! twice 24 + 2), compared bit for bit.

use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use snn_ipu::data::digits::crc32;
use snn_ipu::data::idx::{self, load_dir, load_dir_within, parse, parse_images, parse_labels};
use snn_ipu::data::Dataset;
use snn_ipu::memory::Available;

// ---------------------------------------------------------------- writers

fn images_file(count: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for word in [2051u32, count, rows, cols] {
        bytes.extend_from_slice(&word.to_be_bytes());
    }
    bytes.extend_from_slice(pixels);
    bytes
}

fn labels_file(labels: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    for word in [2049u32, labels.len() as u32] {
        bytes.extend_from_slice(&word.to_be_bytes());
    }
    bytes.extend_from_slice(labels);
    bytes
}

fn gzip(bytes: &[u8], level: u32) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::new(level));
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// A gzip stream built by hand (RFC 1952 header, one stored deflate block
/// of RFC 1951, CRC-32 and length), independent of the gzip library.
fn stored_gzip(bytes: &[u8]) -> Vec<u8> {
    assert!(bytes.len() < 65536);
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let len = bytes.len() as u16;
    out.push(1); // final block, stored
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&(!len).to_le_bytes());
    out.extend_from_slice(bytes);
    out.extend_from_slice(&crc32(bytes).to_le_bytes());
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out
}

fn pixel(p: u8) -> u32 {
    ((f64::from(p) / 255.0) as f32).to_bits()
}

/// A small valid set: `train` and `test` images of `rows x cols`, pixels
/// and labels from a fixed pattern.
struct Set {
    rows: u32,
    cols: u32,
    pixels: [Vec<u8>; 2],
    labels: [Vec<u8>; 2],
}

impl Set {
    fn new(train: usize, test: usize, rows: u32, cols: u32) -> Set {
        let n = (rows * cols) as usize;
        let pattern = |count: usize, salt: usize| -> Vec<u8> {
            (0..count * n)
                .map(|i| ((i * 37 + salt * 11) % 256) as u8)
                .collect()
        };
        Set {
            rows,
            cols,
            pixels: [pattern(train, 1), pattern(test, 2)],
            labels: [
                (0..train).map(|i| (i * 3 % 10) as u8).collect(),
                (0..test).map(|i| (9 - i % 10) as u8).collect(),
            ],
        }
    }

    /// The four files' bytes, in `idx::FILES` order.
    fn files(&self) -> [Vec<u8>; 4] {
        let images = |k: usize| {
            let count = self.labels[k].len() as u32;
            images_file(count, self.rows, self.cols, &self.pixels[k])
        };
        [
            images(0),
            labels_file(&self.labels[0]),
            images(1),
            labels_file(&self.labels[1]),
        ]
    }

    fn check(&self, sets: &(Dataset, Dataset), name: &str) {
        for (k, (set, part)) in [(&sets.0, "train"), (&sets.1, "test")]
            .into_iter()
            .enumerate()
        {
            assert_eq!(set.name, format!("{name} ({part})"));
            assert_eq!(set.features, (self.rows * self.cols) as usize);
            assert_eq!(set.classes, 10);
            let bits: Vec<u32> = set.inputs.iter().map(|v| v.to_bits()).collect();
            let expected: Vec<u32> = self.pixels[k].iter().map(|&p| pixel(p)).collect();
            assert_eq!(bits, expected, "{part} pixels");
            let labels: Vec<usize> = self.labels[k].iter().map(|&l| usize::from(l)).collect();
            assert_eq!(set.labels, labels, "{part} labels");
        }
    }
}

/// A fresh folder under the system's temporary folder.
fn folder(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("snn-ipu-idx-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes `files` (name suffix, bytes) into a fresh folder.
fn write(test: &str, files: &[(String, Vec<u8>)]) -> PathBuf {
    let dir = folder(test);
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    dir
}

/// The four files, plain.
fn plain(files: [Vec<u8>; 4]) -> Vec<(String, Vec<u8>)> {
    idx::FILES
        .iter()
        .zip(files)
        .map(|(n, b)| (n.to_string(), b))
        .collect()
}

/// Loads `files` (plain names) with file `k` replaced by `bytes` (written
/// as `name`, so `.gz` or not), and returns the error.
fn refused(test: &str, k: usize, suffix: &str, bytes: Vec<u8>) -> (String, String) {
    let mut files = plain(Set::new(3, 2, 4, 3).files());
    files[k] = (format!("{}{suffix}", idx::FILES[k]), bytes);
    let dir = write(test, &files);
    let error = load_dir(&dir).expect_err("refused").0;
    let path = dir.join(&files[k].0).display().to_string();
    std::fs::remove_dir_all(&dir).unwrap();
    (error, path)
}

fn assert_names(error: &str, path: &str, problem: &str) {
    assert!(
        error.starts_with(&format!("{path}: ")),
        "`{error}` starts with the file `{path}`"
    );
    assert!(error.contains(problem), "`{error}` says `{problem}`");
}

// ---------------------------------------------------------------- valid sets

#[test]
fn a_valid_folder_reads_back_exactly_plain_and_gzipped() {
    let set = Set::new(7, 5, 4, 3);
    for gz in [[false; 4], [true; 4], [true, false, false, true]] {
        let files: Vec<(String, Vec<u8>)> = idx::FILES
            .iter()
            .zip(set.files())
            .zip(gz)
            .map(|((name, bytes), gz)| {
                if gz {
                    (format!("{name}.gz"), gzip(&bytes, 6))
                } else {
                    (name.to_string(), bytes)
                }
            })
            .collect();
        let dir = folder("valid").join("my-set");
        std::fs::create_dir(&dir).unwrap();
        for (name, bytes) in &files {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
        let sets = load_dir(&dir).unwrap();
        set.check(&sets, "my-set");
        assert_eq!(sets.0.len(), 7);
        assert_eq!(sets.1.len(), 5);
        std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
    }
}

#[test]
fn mnist_sized_images_read_back_exactly() {
    let set = Set::new(3, 2, 28, 28);
    let sets = parse(
        set.files().each_ref().map(Vec::as_slice),
        "m",
        Available::Fallback,
    )
    .unwrap();
    set.check(&sets, "m");
    assert_eq!(sets.0.features, 784);
    assert_eq!(
        sets.0.summary(),
        "m (train): 3 images of 784 features, 10 classes (1 0 0 1 0 0 1 0 0 0 per class)"
    );
}

#[test]
fn a_hand_built_gzip_stream_is_read_and_its_checksum_checked() {
    let set = Set::new(2, 1, 2, 2);
    let mut files = set.files();
    files[0] = stored_gzip(&files[0]);
    files[3] = stored_gzip(&files[3]);
    let sets = parse(
        files.each_ref().map(Vec::as_slice),
        "h",
        Available::Fallback,
    )
    .unwrap();
    set.check(&sets, "h");
    // the CRC-32 is the 8th byte from the end: one bit off is refused
    let mut bad = files.clone();
    let at = bad[0].len() - 8;
    bad[0][at] ^= 1;
    let error = parse(bad.each_ref().map(Vec::as_slice), "h", Available::Fallback)
        .unwrap_err()
        .0;
    assert_names(&error, idx::FILES[0], "corrupt gzip stream");
}

#[test]
fn gzip_is_recognised_by_its_magic_bytes_not_its_name() {
    let set = Set::new(2, 2, 3, 3);
    let files = set.files();
    let named: Vec<(String, Vec<u8>)> = idx::FILES
        .iter()
        .zip(files.iter())
        .enumerate()
        .map(|(k, (name, bytes))| match k {
            0 => (name.to_string(), gzip(bytes, 9)), // gzipped without .gz
            1 => (format!("{name}.gz"), bytes.clone()), // plain with .gz
            _ => (name.to_string(), bytes.clone()),
        })
        .collect();
    let dir = write("magic", &named);
    set.check(
        &load_dir(&dir).unwrap(),
        &dir.file_name().unwrap().to_string_lossy(),
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_plain_file_is_read_when_both_names_are_there() {
    let set = Set::new(2, 2, 3, 3);
    let mut files = plain(set.files());
    files.push((format!("{}.gz", idx::FILES[0]), b"not gzip at all".to_vec()));
    let dir = write("both", &files);
    set.check(
        &load_dir(&dir).unwrap(),
        &dir.file_name().unwrap().to_string_lossy(),
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn concatenated_gzip_members_are_one_stream() {
    let set = Set::new(3, 2, 4, 3);
    let mut files = set.files();
    let (head, tail) = files[0].split_at(20);
    files[0] = [gzip(head, 1), gzip(tail, 9)].concat();
    let sets = parse(
        files.each_ref().map(Vec::as_slice),
        "c",
        Available::Fallback,
    )
    .unwrap();
    set.check(&sets, "c");
}

// ---------------------------------------------------------------- refusals

#[test]
fn a_missing_or_incomplete_folder_is_refused_with_what_was_looked_for() {
    let dir = folder("missing");
    let gone = dir.join("nothing-here");
    let error = load_dir(&gone).unwrap_err().0;
    assert_names(
        &error,
        &gone.display().to_string(),
        "cannot open the folder",
    );

    let file = dir.join("a-file");
    std::fs::write(&file, b"x").unwrap();
    assert_names(
        &load_dir(&file).unwrap_err().0,
        &file.display().to_string(),
        "not a folder",
    );

    let error = load_dir(&dir).unwrap_err().0;
    for name in idx::FILES {
        assert!(
            error.contains(&format!("no {name} or {name}.gz")),
            "{error}"
        );
    }
    assert_names(&error, &dir.display().to_string(), "fetch.py");

    let files = plain(Set::new(2, 2, 2, 2).files());
    for (name, bytes) in files.iter().filter(|(n, _)| !n.starts_with("t10k-labels")) {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let error = load_dir(&dir).unwrap_err().0;
    assert_names(
        &error,
        &dir.display().to_string(),
        "no t10k-labels-idx1-ubyte or t10k-labels-idx1-ubyte.gz (",
    );
    assert!(!error.contains("no train-images"), "{error}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn wrong_magic_numbers_are_refused() {
    let set = Set::new(3, 2, 4, 3);
    let files = set.files();
    // labels where images belong, and the other way round
    let (error, path) = refused("magic1", 0, "", files[1].clone());
    assert_names(&error, &path, "wrong magic number 2049");
    assert!(error.contains("an image file has 2051"), "{error}");
    let (error, path) = refused("magic2", 3, ".gz", gzip(&files[2], 6));
    assert_names(&error, &path, "wrong magic number 2051");
    assert!(error.contains("a label file has 2049"), "{error}");
    // signed bytes (0x0903), and text
    let mut signed = files[2].clone();
    signed[2] = 9;
    let (error, path) = refused("magic3", 2, "", signed);
    assert_names(&error, &path, "wrong magic number 2307 (0x00000903");
    let (error, path) = refused("magic4", 1, "", b"hello, labels".to_vec());
    assert_names(&error, &path, "not an IDX file");
    // gzipped twice
    let (error, path) = refused("magic5", 0, ".gz", gzip(&gzip(&files[0], 6), 6));
    assert_names(&error, &path, "gzipped twice");
}

#[test]
fn counts_that_disagree_are_refused_naming_both_files() {
    let set = Set::new(3, 2, 4, 3);
    let files = set.files();
    let (error, path) = refused("count1", 1, "", labels_file(&[1, 2]));
    let images = Path::new(&path).with_file_name(idx::FILES[0]);
    assert_names(&error, &images.display().to_string(), "3 images, but ");
    assert!(error.contains(&format!("{path} has 2 labels")), "{error}");
    let (error, path) = refused("count2", 2, "", images_file(3, 4, 3, &set.pixels[0]));
    assert_names(&error, &path, "3 images, but ");
    assert!(error.contains("has 2 labels"), "{error}");
    drop(files);
}

#[test]
fn image_sizes_are_refused_when_empty_or_different_between_the_sets() {
    let set = Set::new(3, 2, 4, 3);
    let (error, path) = refused("size1", 2, "", images_file(2, 3, 4, &set.pixels[1]));
    assert_names(&error, &path, "images of 3x4, but ");
    assert!(error.contains("has 4x3; training and test images must be the same size"));
    let (error, path) = refused("size2", 0, "", images_file(3, 0, 5, &[]));
    assert_names(
        &error,
        &path,
        "images of 0x5 pixels: rows and columns must be at least 1",
    );
    let (error, path) = refused("size3", 0, "", images_file(0, 4, 3, &[]));
    let labels = Path::new(&path).with_file_name(idx::FILES[1]);
    assert_names(
        &error,
        &path,
        &format!("0 images, but {}", labels.display()),
    );
    // no images in either file
    let empty = Set::new(0, 2, 4, 3);
    let error = parse(
        empty.files().each_ref().map(Vec::as_slice),
        "e",
        Available::Fallback,
    )
    .unwrap_err()
    .0;
    assert_eq!(error, format!("{}: holds no images", idx::FILES[0]));
}

#[test]
fn sizes_beyond_the_cap_are_refused_before_anything_is_allocated() {
    // 2^31 pixels is the cap: one more image row is refused; counts whose
    // product overflows 64 bits are refused the same way
    for (count, rows, cols) in [
        (1u32 << 21, 32u32, 32u32 + 1),
        (u32::MAX, u32::MAX, u32::MAX),
        (3, 1 << 30, 4),
    ] {
        let header = images_file(count, rows, cols, &[1, 2, 3]);
        let error = parse_images(&header, "big").unwrap_err().0;
        assert_eq!(
            error,
            format!("big: {count} images of {rows}x{cols} are more than 2^31 pixels, the most this reader accepts")
        );
    }
    let mut labels = labels_file(&[]);
    labels[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
    assert_eq!(
        parse_labels(&labels, "l").unwrap_err().0,
        format!(
            "l: {} labels are more than 2^31, the most this reader accepts",
            u32::MAX
        )
    );
    // exactly 2^31 pixels passes the cap and is then truncated (the file
    // holds 3 of them): refused before the pixels are allocated
    let at_cap = images_file(1 << 21, 32, 32, &[1, 2, 3]);
    assert!(parse_images(&at_cap, "cap").unwrap_err().0.starts_with(
        "cap: truncated: the header announces 2097152 images of 32x32 (2147483648 bytes"
    ));
    // and gzipped: the pixels are read in chunks, so the truncation is found
    // after 3 bytes, not after 2 GiB
    assert!(parse_images(&gzip(&at_cap, 6), "cap.gz")
        .unwrap_err()
        .0
        .starts_with("cap.gz: truncated: the header announces 2097152 images of 32x32 (2147483648 bytes after the header), but only 3 follow (decompressed)"));
}

#[test]
fn sets_larger_than_the_memory_are_refused() {
    let set = Set::new(30, 20, 8, 8);
    let dir = write("memory", &plain(set.files()));
    let tiny = Available::MemAvailable(10_000);
    let error = load_dir_within(&dir, tiny).unwrap_err().0;
    assert_names(
        &error,
        &dir.display().to_string(),
        "the training and test sets need 12.9 KiB (training images (1920 values x 4 B), training labels (30 values x 8 B), test images (1280 values x 4 B), test labels (20 values x 8 B))",
    );
    assert!(error.ends_with("use a smaller data set or a machine with more memory"));
    assert!(load_dir_within(&dir, Available::MemAvailable(20_000)).is_ok());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn truncated_files_are_refused() {
    let set = Set::new(3, 2, 4, 3);
    let files = set.files();
    // header cut short: inside the magic, and after it
    let (error, path) = refused("trunc1", 0, "", files[0][..3].to_vec());
    assert_names(
        &error,
        &path,
        "truncated: 3 bytes, too short for an IDX file",
    );
    let (error, path) = refused("trunc2", 2, "", files[2][..10].to_vec());
    assert_names(&error, &path, "truncated header: 10 of its 16 bytes");
    let (error, path) = refused("trunc3", 1, ".gz", gzip(&files[1][..6], 6));
    assert_names(
        &error,
        &path,
        "truncated header: 6 of its 8 bytes (decompressed)",
    );
    // data cut short, plain and gzipped
    let cut = files[0].len() - 5;
    let (error, path) = refused("trunc4", 0, "", files[0][..cut].to_vec());
    assert_names(
        &error,
        &path,
        &format!("truncated: the header announces 3 images of 4x3 (36 bytes after the 16-byte header), but the file has {cut} bytes, not 52"),
    );
    let (error, path) = refused("trunc5", 0, ".gz", gzip(&files[0][..cut], 6));
    assert_names(
        &error,
        &path,
        "truncated: the header announces 3 images of 4x3 (36 bytes after the header), but only 31 follow (decompressed)",
    );
    let (error, path) = refused("trunc6", 3, "", files[3][..9].to_vec());
    assert_names(&error, &path, "truncated: the header announces 2 labels");
    // the gzip stream itself cut short (its trailer, then its data)
    let gz = gzip(&files[0], 6);
    for cut in [gz.len() - 4, gz.len() / 2, 11] {
        let (error, path) = refused("trunc7", 0, ".gz", gz[..cut].to_vec());
        assert_names(&error, &path, "corrupt gzip stream");
    }
}

#[test]
fn trailing_garbage_is_refused() {
    let set = Set::new(3, 2, 4, 3);
    let files = set.files();
    let (error, path) = refused("trail1", 2, "", [&files[2][..], &[0u8, 0, 7][..]].concat());
    assert_names(
        &error,
        &path,
        "3 bytes of trailing garbage after the 2 images of 4x3 the header announces (the file has 43 bytes, not 40)",
    );
    let (error, path) = refused(
        "trail2",
        1,
        ".gz",
        gzip(&[&files[1][..], &b"\n"[..]].concat(), 6),
    );
    assert_names(
        &error,
        &path,
        "1 bytes of trailing garbage (decompressed) after the 3 labels the header announces",
    );
    // bytes after the gzip stream that are not another gzip member
    let (error, path) = refused(
        "trail3",
        3,
        ".gz",
        [gzip(&files[3], 6), b"junk".to_vec()].concat(),
    );
    assert_names(&error, &path, "corrupt gzip stream");
    // and a lot of it
    let big = [&files[3][..], &vec![1u8; 3 << 20]].concat();
    let (error, path) = refused("trail4", 3, ".gz", gzip(&big, 1));
    assert_names(
        &error,
        &path,
        "more than 1048576 bytes of trailing garbage (decompressed)",
    );
}

#[test]
fn labels_from_10_are_refused() {
    let (error, path) = refused("label1", 1, "", labels_file(&[0, 9, 10]));
    assert_names(&error, &path, "label 10 at index 2 (labels are 0..9)");
    let (error, path) = refused("label2", 3, ".gz", gzip(&labels_file(&[255, 0]), 6));
    assert_names(&error, &path, "label 255 at index 0 (labels are 0..9)");
    // a bad label far into a long file is found at its index
    let mut labels = vec![4u8; 200_000];
    labels[150_001] = 11;
    let error = parse_labels(&labels_file(&labels), "long").unwrap_err().0;
    assert_eq!(error, "long: label 11 at index 150001 (labels are 0..9)");
}

#[test]
fn a_corrupt_gzip_stream_is_refused() {
    let set = Set::new(3, 2, 4, 3);
    let files = set.files();
    let gz = gzip(&files[0], 6);
    // the header's method byte, a bit in the deflate data, the ISIZE field
    for at in [2, gz.len() / 2, gz.len() - 1] {
        let mut bad = gz.clone();
        bad[at] ^= 0x10;
        let (error, path) = refused("gzip1", 0, ".gz", bad);
        assert_names(&error, &path, "corrupt gzip stream");
    }
    // the gzip magic alone
    let (error, path) = refused("gzip2", 0, ".gz", vec![0x1f, 0x8b]);
    assert_names(&error, &path, "corrupt gzip stream");
}

#[test]
fn single_files_in_memory() {
    let images = images_file(2, 1, 3, &[0, 128, 255, 1, 2, 3]);
    let read = parse_images(&images, "i").unwrap();
    assert_eq!(
        (read.header.count, read.header.rows, read.header.cols),
        (2, 1, 3)
    );
    let bits: Vec<u32> = read.pixels.iter().map(|v| v.to_bits()).collect();
    assert_eq!(bits, [0, 128, 255, 1, 2, 3].map(pixel));
    assert_eq!(read.pixels[2], 1.0);
    assert_eq!(parse_labels(&labels_file(&[3, 0]), "l").unwrap(), [3, 0]);
    assert_eq!(
        parse_labels(&labels_file(&[]), "l").unwrap(),
        Vec::<usize>::new()
    );
    assert_eq!(
        parse_images(&[], "none").unwrap_err().0,
        "none: truncated: 0 bytes, too short for an IDX file (a 16-byte header for an image file)"
    );
}

// ---------------------------------------------------------------- properties

fn config(cases: u32, seed: u64) -> Config {
    Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        ..Config::default()
    }
}

/// A small valid image file: its header, pixels and bytes.
fn any_images() -> impl Strategy<Value = (u32, u32, u32, Vec<u8>)> {
    (0u32..5, 1u32..7, 1u32..7).prop_flat_map(|(count, rows, cols)| {
        let n = (count * rows * cols) as usize;
        (
            Just(count),
            Just(rows),
            Just(cols),
            proptest::collection::vec(any::<u8>(), n),
        )
    })
}

/// How a file is mutated.
#[derive(Clone, Debug)]
enum Mutation {
    Truncate(usize),
    Append(Vec<u8>),
    Flip(usize, u8),
    Splice(usize, Vec<u8>),
}

fn any_mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Truncate),
        proptest::collection::vec(any::<u8>(), 1..8).prop_map(Mutation::Append),
        (any::<usize>(), 1u8..=255).prop_map(|(at, x)| Mutation::Flip(at, x)),
        (any::<usize>(), proptest::collection::vec(any::<u8>(), 0..6))
            .prop_map(|(at, b)| Mutation::Splice(at, b)),
    ]
}

fn mutate(bytes: &[u8], m: &Mutation) -> Vec<u8> {
    let mut out = bytes.to_vec();
    match m {
        Mutation::Truncate(at) => out.truncate(at % bytes.len().max(1)),
        Mutation::Append(extra) => out.extend_from_slice(extra),
        Mutation::Flip(at, x) => {
            if !out.is_empty() {
                let at = at % out.len();
                out[at] ^= x;
            }
        }
        Mutation::Splice(at, b) => {
            let at = at % (out.len() + 1);
            out.splice(at..(at + b.len()).min(out.len()), b.iter().copied());
        }
    }
    out
}

fn refused_by_name(result: Result<impl std::fmt::Debug, snn_ipu::data::DataError>, source: &str) {
    if let Err(e) = result {
        assert!(e.0.starts_with(&format!("{source}: ")), "{}", e.0);
    }
}

proptest! {
    #![proptest_config(config(512, 0x01d8_0001))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..96),
                                   magic in 0usize..3) {
        // the first bytes sometimes a real magic number, so that the rest
        // of the header and the data are reached
        let mut bytes = bytes;
        let prefix: &[u8] = [&[][..], &[0, 0, 8, 3], &[0, 0, 8, 1]][magic];
        bytes.splice(0..0, prefix.iter().copied());
        refused_by_name(parse_images(&bytes, "x"), "x");
        refused_by_name(parse_labels(&bytes, "x"), "x");
        let gz = gzip(&bytes, 1);
        refused_by_name(parse_images(&gz, "x.gz"), "x.gz");
        refused_by_name(parse_labels(&gz, "x.gz"), "x.gz");
    }

    #[test]
    fn valid_files_are_read_exactly((count, rows, cols, pixels) in any_images(),
                                    labels in proptest::collection::vec(0u8..10, 0..40),
                                    level in 0u32..10) {
        let file = images_file(count, rows, cols, &pixels);
        for bytes in [file.clone(), gzip(&file, level)] {
            let read = parse_images(&bytes, "i").unwrap();
            prop_assert_eq!((read.header.count, read.header.rows, read.header.cols),
                            (count as usize, rows as usize, cols as usize));
            let bits: Vec<u32> = read.pixels.iter().map(|v| v.to_bits()).collect();
            let expected: Vec<u32> = pixels.iter().map(|&p| pixel(p)).collect();
            prop_assert_eq!(bits, expected);
        }
        let file = labels_file(&labels);
        let expected: Vec<usize> = labels.iter().map(|&l| usize::from(l)).collect();
        prop_assert_eq!(parse_labels(&file, "l").unwrap(), expected.clone());
        prop_assert_eq!(parse_labels(&gzip(&file, level), "l").unwrap(), expected);
    }

    #[test]
    fn mutated_files_never_panic_and_lengths_are_exact((count, rows, cols, pixels) in any_images(),
                                                       labels in proptest::collection::vec(0u8..10, 0..20),
                                                       m in any_mutation(),
                                                       gz_after in any::<bool>()) {
        for (k, file) in [images_file(count, rows, cols, &pixels), labels_file(&labels)].into_iter().enumerate() {
            let plain = mutate(&file, &m);
            let bytes = if gz_after { gzip(&plain, 1) } else { mutate(&gzip(&file, 1), &m) };
            for bytes in [&plain, &bytes] {
                if k == 0 {
                    refused_by_name(parse_images(bytes, "m"), "m");
                } else {
                    refused_by_name(parse_labels(bytes, "m"), "m");
                }
            }
            // a plain file of another length than its header's is refused
            if matches!(&m, Mutation::Append(_) | Mutation::Truncate(_)) {
                let result = if k == 0 { parse_images(&plain, "m").err() } else { parse_labels(&plain, "m").err() };
                prop_assert!(result.is_some(), "{:?} accepted", m);
            }
        }
    }

    #[test]
    fn four_files_in_memory(train in 1usize..6, test in 1usize..4, rows in 1u32..5, cols in 1u32..5,
                            k in 0usize..4, m in any_mutation()) {
        let set = Set::new(train, test, rows, cols);
        let files = set.files();
        let sets = parse(files.each_ref().map(Vec::as_slice), "p", Available::Fallback).unwrap();
        set.check(&sets, "p");
        // one file mutated: refused naming a file, or read with the sets'
        // invariants
        let mut bad = files.clone();
        bad[k] = mutate(&bad[k], &m);
        match parse(bad.each_ref().map(Vec::as_slice), "p", Available::Fallback) {
            Ok((a, b)) => {
                for d in [a, b] {
                    prop_assert!(!d.is_empty());
                    prop_assert_eq!(d.inputs.len(), d.len() * d.features);
                    prop_assert!(d.inputs.iter().all(|v| (0.0..=1.0).contains(v)));
                    prop_assert!(d.labels.iter().all(|&l| l < 10));
                }
            }
            Err(e) => prop_assert!(idx::FILES.iter().any(|n| e.0.starts_with(&format!("{n}: "))), "{}", e.0),
        }
    }
}
