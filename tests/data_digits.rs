//! The digits reader (`snn_ipu::data::digits::parse`) on files the tests
//! write (format in `data/digits/README.md`), with the checksum computed by
//! the gzip library's CRC-32 (independent of the reader's own): valid files
//! read back exactly, and truncation, a wrong magic, version, shape or
//! checksum, a pixel above 16 and a label above 9 refused with a message
//! naming the file. Property tests (seeded) over valid, mutated and
//! arbitrary bytes.

use flate2::Crc;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use snn_ipu::data::digits::{self, parse};

/// A digits file of `records` (64 pixels and a label each), with the header
/// fields given and a correct checksum.
fn file_with(version: u32, shape: [u32; 3], records: &[([u8; 64], u8)]) -> Vec<u8> {
    let mut bytes = b"SNNDIGIT".to_vec();
    for word in [version, records.len() as u32, shape[0], shape[1], shape[2]] {
        bytes.extend_from_slice(&word.to_le_bytes());
    }
    for (pixels, label) in records {
        bytes.extend_from_slice(pixels);
        bytes.push(*label);
    }
    seal(bytes)
}

fn file(records: &[([u8; 64], u8)]) -> Vec<u8> {
    file_with(1, [8, 8, 10], records)
}

/// Appends the CRC-32 of `body`.
fn seal(mut body: Vec<u8>) -> Vec<u8> {
    let mut crc = Crc::new();
    crc.update(&body);
    body.extend_from_slice(&crc.sum().to_le_bytes());
    body
}

fn records(n: usize) -> Vec<([u8; 64], u8)> {
    (0..n)
        .map(|i| {
            let mut pixels = [0u8; 64];
            for (j, p) in pixels.iter_mut().enumerate() {
                *p = ((i * 7 + j * 3) % 17) as u8;
            }
            (pixels, (i % 10) as u8)
        })
        .collect()
}

fn error(bytes: &[u8]) -> String {
    parse(bytes, "d.bin").expect_err("refused").0
}

fn check(bytes: &[u8], records: &[([u8; 64], u8)]) {
    let set = parse(bytes, "d.bin").unwrap();
    assert_eq!(
        (set.name.as_str(), set.features, set.classes),
        ("digits", 64, 10)
    );
    let expected: Vec<u32> = records
        .iter()
        .flat_map(|(p, _)| p.iter().map(|&p| ((f64::from(p) / 16.0) as f32).to_bits()))
        .collect();
    let bits: Vec<u32> = set.inputs.iter().map(|v| v.to_bits()).collect();
    assert_eq!(bits, expected);
    let labels: Vec<usize> = records.iter().map(|&(_, l)| usize::from(l)).collect();
    assert_eq!(set.labels, labels);
}

#[test]
fn a_valid_file_reads_back_exactly() {
    let r = records(12);
    check(&file(&r), &r);
}

#[test]
fn the_bundled_file_is_valid_and_its_checksum_agrees() {
    let set = digits::bundled();
    assert_eq!((set.len(), set.features, set.classes), (1797, 64, 10));
    let (body, stored) = digits::BUNDLED.split_at(digits::BUNDLED.len() - 4);
    let mut crc = Crc::new();
    crc.update(body);
    assert_eq!(crc.sum().to_le_bytes(), stored);
    assert_eq!(digits::crc32(body), crc.sum());
}

#[test]
fn every_broken_field_is_refused_by_name() {
    let r = records(3);
    let good = file(&r);
    assert!(error(&good[..31]).starts_with("d.bin: 31 bytes is too short"));
    let mut magic = good.clone();
    magic[0] = b'X';
    assert!(error(&magic).starts_with("d.bin: not a digits file"));
    assert_eq!(
        error(&file_with(2, [8, 8, 10], &r)),
        "d.bin: format version 2; this reader knows version 1"
    );
    assert_eq!(
        error(&file_with(1, [8, 7, 10], &r)),
        "d.bin: 8x7 images of 10 classes; expected 8x8 images of 10 classes"
    );
    assert!(error(&good[..good.len() - 1]).contains("226 bytes, but 3 records need 227"));
    assert!(error(&[&good[..], &[0u8][..]].concat()).contains("228 bytes, but 3 records need 227"));
    let mut crc = good.clone();
    crc[40] ^= 4;
    assert!(error(&crc).contains("checksum mismatch"));
    let mut pixel = r.clone();
    pixel[1].0[5] = 17;
    assert_eq!(
        error(&file(&pixel)),
        "d.bin: image 1 has a pixel of 17 (pixels are 0..16)"
    );
    let mut label = r.clone();
    label[2].1 = 10;
    assert_eq!(
        error(&file(&label)),
        "d.bin: image 2 has label 10 (labels are 0..9)"
    );
    assert_eq!(error(&file(&[])), "d.bin: the file holds no images");
    let mut huge = file(&r)[..28].to_vec();
    huge[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(error(&seal(huge)).contains("but 4294967295 records need"));
}

fn config(cases: u32, seed: u64) -> Config {
    Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        ..Config::default()
    }
}

fn any_records() -> impl Strategy<Value = Vec<([u8; 64], u8)>> {
    proptest::collection::vec(
        (proptest::collection::vec(0u8..=16, 64), 0u8..10)
            .prop_map(|(p, l)| (p.try_into().unwrap(), l)),
        1..6,
    )
}

proptest! {
    #![proptest_config(config(256, 0xd161_7501))]

    #[test]
    fn valid_files_read_back_exactly(r in any_records()) {
        check(&file(&r), &r);
    }

    #[test]
    fn every_truncation_is_refused(r in any_records(), cut in any::<usize>()) {
        let bytes = file(&r);
        let cut = cut % bytes.len();
        prop_assert!(error(&bytes[..cut]).starts_with("d.bin: "));
    }

    #[test]
    fn any_changed_byte_is_refused(r in any_records(), at in any::<usize>(), x in 1u8..=255) {
        // CRC-32 finds every error in up to 32 consecutive bits, so one
        // changed byte anywhere (header, records or the checksum) is caught
        let mut bytes = file(&r);
        let at = at % bytes.len();
        bytes[at] ^= x;
        prop_assert!(error(&bytes).starts_with("d.bin: "));
    }

    #[test]
    fn out_of_range_values_are_refused_with_a_valid_checksum(r in any_records(), i in any::<usize>(),
                                                             j in 0usize..64, p in 17u8..=255,
                                                             l in 10u8..=255, pixel in any::<bool>()) {
        let mut r = r;
        let i = i % r.len();
        if pixel {
            r[i].0[j] = p;
            prop_assert_eq!(error(&file(&r)), format!("d.bin: image {i} has a pixel of {p} (pixels are 0..16)"));
        } else {
            r[i].1 = l;
            prop_assert_eq!(error(&file(&r)), format!("d.bin: image {i} has label {l} (labels are 0..9)"));
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400),
                                   header in any::<bool>()) {
        // half the inputs start like a digits file and carry a checksum,
        // so that the record checks are reached
        let bytes = if header {
            let n = bytes.len() / 65;
            let mut b = file(&[])[..28].to_vec();
            b[12..16].copy_from_slice(&(n as u32).to_le_bytes());
            b.extend(bytes[..n * 65].iter().map(|&x| x % 18));
            seal(b)
        } else {
            bytes
        };
        if let Ok(set) = parse(&bytes, "d.bin") {
            prop_assert_eq!(set.inputs.len(), set.len() * 64);
            prop_assert!(set.inputs.iter().all(|v| (0.0..=1.0).contains(v)));
            prop_assert!(set.labels.iter().all(|&l| l < 10));
        } else {
            prop_assert!(error(&bytes).starts_with("d.bin: "));
        }
    }
}
