//! `--metrics FILE.csv`: one row per epoch, every field of
//! [`EpochMetrics`], written as soon as the epoch ends.
//!
//! # The file
//!
//! The first line is [`HEADER`]; then one line per epoch, the fields in the
//! order of the header, separated by commas, each line ended by `\n`:
//!
//! | column | meaning |
//! | --- | --- |
//! | `epoch` | the epoch, from 1 |
//! | `loss` | mean training loss over the epoch's batches |
//! | `train_accuracy` | fraction of the training rows predicted right during the epoch (0 to 1) |
//! | `test_loss` | loss on the test set after the epoch |
//! | `test_accuracy` | fraction of the test set predicted right after the epoch (0 to 1) |
//! | `samples_per_second` | training rows per second of training |
//! | `seconds` | seconds of the epoch, training and test |
//! | `skipped_steps` | optimiser steps skipped for overflow (f16; 0 in f32) |
//! | `loss_scale` | the loss scale at the end of the epoch (f16; 1 in f32) |
//!
//! `epoch` and `skipped_steps` are whole numbers; the others are written as
//! the shortest decimal that reads back to the same binary64 (binary32 for
//! `loss_scale`), without an exponent (`0.1`, `1234.5678`, `65536`), and
//! `NaN`, `inf` or `-inf` where a value is not finite: every value reads
//! back bit for bit, here ([`parse`]) and in any reader that rounds
//! correctly.
//!
//! # Writing and resuming
//!
//! [`MetricsCsv::create`] starts a new file (replacing one that is there);
//! [`MetricsCsv::append`] writes each row with a single write as the epoch
//! ends (nothing waits in a buffer of this process), so a run that crashes
//! or is killed has every finished epoch in the file.
//!
//! A run resumed from a checkpoint continues its file with
//! [`MetricsCsv::resume`]: the file must be one this module wrote (its first
//! line exactly [`HEADER`], every row well formed, epochs going up), else it
//! is refused with what is wrong and left as it is. Rows of epochs after the
//! checkpoint (written before the run stopped, and run again now) and an
//! unfinished last line (a write cut short) are removed; the rows kept are
//! handed back (for the plot), and the new epochs are appended after them.
//! A file that does not exist yet, or is empty, is started as by
//! [`MetricsCsv::create`].

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::FileError;
use crate::train::EpochMetrics;

/// The first line of a metrics file: the column names.
pub const HEADER: &str = "epoch,loss,train_accuracy,test_loss,test_accuracy,\
                          samples_per_second,seconds,skipped_steps,loss_scale";

/// The columns of [`HEADER`].
const COLUMNS: usize = 9;

/// The line of one epoch, ended by `\n`.
pub fn row(m: &EpochMetrics) -> String {
    format!(
        "{},{},{},{},{},{},{},{},{}\n",
        m.epoch,
        m.loss,
        m.train_accuracy,
        m.test_loss,
        m.test_accuracy,
        m.samples_per_second,
        m.seconds,
        m.skipped_steps,
        m.loss_scale
    )
}

/// What [`parse`] read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    /// The rows.
    pub rows: Vec<EpochMetrics>,
    /// For each row, the byte just past its `\n` (where the next line
    /// starts).
    pub ends: Vec<usize>,
    /// The byte just past the header's `\n`.
    pub header_end: usize,
    /// Whether the text ends in a line without its `\n` (a write cut
    /// short), which is not read.
    pub unfinished: bool,
}

/// Reads the text of a metrics file: the header, then rows (see the module
/// documentation). An unfinished last line is left unread
/// ([`Table::unfinished`]). Text that is empty, or that is the beginning
/// of [`HEADER`] without its end, is an empty table with `header_end` 0.
/// The error says which line is wrong and how.
pub fn parse(text: &[u8]) -> Result<Table, String> {
    let header_end = match text.iter().position(|&b| b == b'\n') {
        Some(newline) => {
            if &text[..newline] != HEADER.as_bytes() {
                return Err(format!(
                    "its first line is {}, not the header of a metrics file of snn-ipu train ({HEADER:?})",
                    quote(&text[..newline])
                ));
            }
            newline + 1
        }
        None if HEADER.as_bytes().starts_with(text) => {
            return Ok(Table {
                unfinished: !text.is_empty(),
                ..Table::default()
            });
        }
        None => {
            return Err(format!(
                "its first line starts with {}, not the header of a metrics file of snn-ipu train ({HEADER:?})",
                quote(text)
            ))
        }
    };
    let mut table = Table {
        header_end,
        ..Table::default()
    };
    let mut start = header_end;
    let mut number = 1;
    while start < text.len() {
        number += 1;
        let Some(length) = text[start..].iter().position(|&b| b == b'\n') else {
            table.unfinished = true;
            break;
        };
        let line = &text[start..start + length];
        let metrics = parse_row(line).map_err(|e| format!("line {number}: {e}"))?;
        if let Some(previous) = table.rows.last() {
            if metrics.epoch <= previous.epoch {
                return Err(format!(
                    "line {number}: epoch {} after epoch {} (the rows go up by epoch)",
                    metrics.epoch, previous.epoch
                ));
            }
        }
        table.rows.push(metrics);
        start += length + 1;
        table.ends.push(start);
    }
    Ok(table)
}

/// A line (or its first 120 bytes) in quotes, escaped.
fn quote(line: &[u8]) -> String {
    let shown = &line[..line.len().min(120)];
    let text = format!("{:?}", String::from_utf8_lossy(shown));
    if shown.len() < line.len() {
        format!("{text}...")
    } else {
        text
    }
}

/// One row, without its `\n`.
fn parse_row(line: &[u8]) -> Result<EpochMetrics, String> {
    let line = std::str::from_utf8(line).map_err(|_| "it is not UTF-8 text".to_string())?;
    let fields: Vec<&str> = line.split(',').collect();
    if fields.len() != COLUMNS {
        let plural = if fields.len() == 1 { "" } else { "s" };
        return Err(format!(
            "{} field{plural}, the header names {COLUMNS}",
            fields.len()
        ));
    }
    let names: Vec<&str> = HEADER.split(',').collect();
    let bad = |i: usize, what: &str| format!("{} {:?} is not {what}", names[i], fields[i]);
    let real = |i: usize| fields[i].parse::<f64>().map_err(|_| bad(i, "a number"));
    let epoch = fields[0]
        .parse::<usize>()
        .ok()
        .filter(|&e| e >= 1)
        .ok_or_else(|| bad(0, "a whole number from 1"))?;
    Ok(EpochMetrics {
        epoch,
        loss: real(1)?,
        train_accuracy: real(2)?,
        test_loss: real(3)?,
        test_accuracy: real(4)?,
        samples_per_second: real(5)?,
        seconds: real(6)?,
        skipped_steps: fields[7]
            .parse::<u64>()
            .map_err(|_| bad(7, "a whole number"))?,
        loss_scale: fields[8].parse::<f32>().map_err(|_| bad(8, "a number"))?,
    })
}

/// A metrics file being written.
#[derive(Debug)]
pub struct MetricsCsv {
    file: File,
    path: PathBuf,
}

/// What [`MetricsCsv::resume`] found.
#[derive(Debug)]
pub struct Resumed {
    /// The file, open to append the next epoch.
    pub csv: MetricsCsv,
    /// The rows kept (epochs up to the checkpoint's).
    pub history: Vec<EpochMetrics>,
    /// Lines removed: rows of epochs after the checkpoint's, and an
    /// unfinished last line.
    pub removed: usize,
}

impl MetricsCsv {
    /// Starts a new metrics file at `path` (replacing a file that is there)
    /// with its header.
    pub fn create(path: &Path) -> Result<MetricsCsv, FileError> {
        let file = File::create(path).map_err(|e| FileError::io(path, "cannot create", &e))?;
        let mut csv = MetricsCsv {
            file,
            path: path.to_path_buf(),
        };
        csv.write(format!("{HEADER}\n").as_bytes())?;
        Ok(csv)
    }

    /// Continues the metrics file at `path` for a run resumed after
    /// `epochs_done` epochs (see the module documentation): keeps the rows
    /// of epochs up to `epochs_done` and hands them back, removes the rest.
    /// A file that is not one of ours, or is damaged, is refused untouched.
    pub fn resume(path: &Path, epochs_done: usize) -> Result<Resumed, FileError> {
        let mut file = match OpenOptions::new().read(true).append(true).open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Resumed {
                    csv: MetricsCsv::create(path)?,
                    history: Vec::new(),
                    removed: 0,
                })
            }
            Err(e) => return Err(FileError::io(path, "cannot open", &e)),
        };
        let refuse = |what: String| {
            FileError::new(
                path,
                format!(
                    "cannot continue this metrics file: {what}; \
                     pass another --metrics file, or move this one away"
                ),
            )
        };
        let mut text = Vec::new();
        // The first line alone first: a large file of something else is
        // refused without reading it all.
        (&mut file)
            .take(HEADER.len() as u64 + 1)
            .read_to_end(&mut text)
            .map_err(|e| FileError::io(path, "cannot read", &e))?;
        parse(&text).map_err(refuse)?;
        file.read_to_end(&mut text)
            .map_err(|e| FileError::io(path, "cannot read", &e))?;
        let table = parse(&text).map_err(refuse)?;
        let kept = table.rows.partition_point(|m| m.epoch <= epochs_done);
        let removed = table.rows.len() - kept + usize::from(table.unfinished);
        let mut csv = MetricsCsv {
            file,
            path: path.to_path_buf(),
        };
        if table.header_end == 0 {
            csv.truncate(0)?;
            csv.write(format!("{HEADER}\n").as_bytes())?;
        } else {
            let end = if kept == 0 {
                table.header_end
            } else {
                table.ends[kept - 1]
            };
            if end < text.len() {
                csv.truncate(end)?;
            }
        }
        let mut history = table.rows;
        history.truncate(kept);
        Ok(Resumed {
            csv,
            history,
            removed,
        })
    }

    /// Writes the row of `metrics` (see [`row`]) at the end of the file.
    pub fn append(&mut self, metrics: &EpochMetrics) -> Result<(), FileError> {
        self.write(row(metrics).as_bytes())
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), FileError> {
        self.file
            .write_all(bytes)
            .and_then(|()| self.file.flush())
            .map_err(|e| FileError::io(&self.path, "cannot write", &e))
    }

    fn truncate(&mut self, len: usize) -> Result<(), FileError> {
        self.file
            .set_len(len as u64)
            .and_then(|()| self.file.seek(SeekFrom::End(0)).map(|_| ()))
            .map_err(|e| FileError::io(&self.path, "cannot shorten", &e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, RngSeed};

    fn metrics(epoch: usize) -> EpochMetrics {
        EpochMetrics {
            epoch,
            loss: 0.1 * epoch as f64,
            train_accuracy: 0.75,
            test_loss: 1.0 / 3.0,
            test_accuracy: 0.5,
            samples_per_second: 1234.5678,
            seconds: 2.0,
            skipped_steps: 3,
            loss_scale: 65536.0,
        }
    }

    fn dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("snn-ipu-csv-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    const ROW1: &str = "1,0.1,0.75,0.3333333333333333,0.5,1234.5678,2,3,65536\n";
    const ROW2: &str = "2,0.2,0.75,0.3333333333333333,0.5,1234.5678,2,3,65536\n";
    const ROW3: &str = "3,0.30000000000000004,0.75,0.3333333333333333,0.5,1234.5678,2,3,65536\n";

    #[test]
    fn rows_are_exact() {
        assert_eq!(row(&metrics(1)), ROW1);
        assert_eq!(row(&metrics(3)), ROW3);
        let odd = EpochMetrics {
            loss: f64::NAN,
            train_accuracy: -0.0,
            test_loss: f64::INFINITY,
            test_accuracy: 1e-7,
            samples_per_second: 1e21,
            seconds: f64::NEG_INFINITY,
            skipped_steps: u64::MAX,
            loss_scale: 0.1,
            ..metrics(7)
        };
        assert_eq!(
            row(&odd),
            "7,NaN,-0,inf,0.0000001,1000000000000000000000,-inf,18446744073709551615,0.1\n"
        );
    }

    #[test]
    fn a_new_file_has_the_header_and_a_row_per_epoch() {
        let path = dir("new").join("m.csv");
        std::fs::write(&path, "something else").unwrap();
        let mut csv = MetricsCsv::create(&path).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "epoch,loss,train_accuracy,test_loss,test_accuracy,samples_per_second,seconds,skipped_steps,loss_scale\n"
        );
        csv.append(&metrics(1)).unwrap();
        // On disk at once, before the next epoch or the end of the run.
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{HEADER}\n{ROW1}")
        );
        csv.append(&metrics(2)).unwrap();
        drop(csv);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, format!("{HEADER}\n{ROW1}{ROW2}"));
        let table = parse(text.as_bytes()).unwrap();
        assert_eq!(table.rows, vec![metrics(1), metrics(2)]);
        assert!(!table.unfinished);
    }

    #[test]
    fn resume_keeps_the_epochs_of_the_checkpoint_and_appends() {
        let path = dir("resume").join("m.csv");
        // Epochs 1 to 3 written and a fourth cut short; the checkpoint is
        // of epoch 2.
        std::fs::write(&path, format!("{HEADER}\n{ROW1}{ROW2}{ROW3}4,0.4,0.7")).unwrap();
        let resumed = MetricsCsv::resume(&path, 2).unwrap();
        assert_eq!(resumed.history, vec![metrics(1), metrics(2)]);
        assert_eq!(resumed.removed, 2);
        let mut csv = resumed.csv;
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{HEADER}\n{ROW1}{ROW2}")
        );
        csv.append(&metrics(3)).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{HEADER}\n{ROW1}{ROW2}{ROW3}")
        );
        // Resumed at the end: nothing removed, the file unchanged.
        let resumed = MetricsCsv::resume(&path, 3).unwrap();
        assert_eq!(resumed.removed, 0);
        assert_eq!(resumed.history.len(), 3);
        // From the start (a checkpoint before the first epoch): the header
        // alone.
        let resumed = MetricsCsv::resume(&path, 0).unwrap();
        assert_eq!((resumed.history.len(), resumed.removed), (0, 3));
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("{HEADER}\n")
        );
    }

    #[test]
    fn resume_starts_a_missing_or_empty_file() {
        let dir = dir("missing");
        for (name, content) in [
            ("missing.csv", None),
            ("empty.csv", Some("")),
            ("torn.csv", Some("epoch,lo")),
        ] {
            let path = dir.join(name);
            let _ = std::fs::remove_file(&path);
            if let Some(content) = content {
                std::fs::write(&path, content).unwrap();
            }
            let mut resumed = MetricsCsv::resume(&path, 4).unwrap();
            assert!(resumed.history.is_empty());
            assert_eq!(resumed.removed, usize::from(name == "torn.csv"));
            resumed.csv.append(&metrics(5)).unwrap();
            let text = std::fs::read_to_string(&path).unwrap();
            assert_eq!(text, format!("{HEADER}\n{}", row(&metrics(5))), "{name}");
        }
    }

    #[test]
    fn resume_refuses_another_file_and_leaves_it_alone() {
        let dir = dir("refuse");
        let cases = [
            (
                "other.csv",
                "a,b,c\n1,2,3\n".to_string(),
                "its first line is \"a,b,c\"",
            ),
            (
                "crlf.csv",
                format!("{HEADER}\r\n{ROW1}"),
                "its first line starts with \"epoch,",
            ),
            ("crlf.csv", format!("{HEADER}\r\n{ROW1}"), "loss_scale\\r\""),
            (
                "fields.csv",
                format!("{HEADER}\n{ROW1}1,2\n"),
                "line 3: 2 fields, the header names 9",
            ),
            (
                "number.csv",
                format!("{HEADER}\n1,x,0,0,0,0,0,0,1\n"),
                "line 2: loss \"x\" is not a number",
            ),
            (
                "epoch.csv",
                format!("{HEADER}\n0,1,0,0,0,0,0,0,1\n"),
                "line 2: epoch \"0\" is not a whole number from 1",
            ),
            (
                "order.csv",
                format!("{HEADER}\n{ROW2}{ROW1}"),
                "line 3: epoch 1 after epoch 2",
            ),
            (
                "binary.csv",
                format!("{HEADER}\n\u{0}\u{1}\n"),
                "line 2: 1 field, the header names 9",
            ),
        ];
        for (name, content, expected) in cases {
            let path = dir.join(name);
            std::fs::write(&path, &content).unwrap();
            let error = MetricsCsv::resume(&path, 1).unwrap_err();
            let message = error.to_string();
            assert!(
                message.starts_with(&format!("{}: cannot continue", path.display())),
                "{message}"
            );
            assert!(message.contains(expected), "{name}: {message}");
            assert!(message.ends_with("pass another --metrics file, or move this one away"));
            assert_eq!(
                std::fs::read_to_string(&path).unwrap(),
                content,
                "{name} untouched"
            );
        }
        let path = dir.join("bytes.csv");
        std::fs::write(&path, [HEADER.as_bytes(), b"\n\xff\n"].concat()).unwrap();
        let message = MetricsCsv::resume(&path, 1).unwrap_err().to_string();
        assert!(
            message.contains("line 2: it is not UTF-8 text"),
            "{message}"
        );
    }

    #[test]
    fn errors_name_the_file() {
        let path = dir("errors").join("no such folder").join("m.csv");
        let error = MetricsCsv::create(&path).unwrap_err();
        assert_eq!(error.path, path);
        assert!(error
            .to_string()
            .starts_with(&format!("{}: cannot create: ", path.display())));
        // A folder where the file should be.
        let folder = dir("errors");
        let error = MetricsCsv::resume(&folder, 1).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with(&format!("{}: cannot open: ", folder.display())),
            "{error}"
        );
    }

    fn any_metrics() -> impl Strategy<Value = EpochMetrics> {
        (
            1usize..1_000_000,
            any::<[u64; 6]>(),
            any::<u64>(),
            any::<u32>(),
        )
            .prop_map(|(epoch, bits, skipped_steps, scale)| EpochMetrics {
                epoch,
                loss: f64::from_bits(bits[0]),
                train_accuracy: f64::from_bits(bits[1]),
                test_loss: f64::from_bits(bits[2]),
                test_accuracy: f64::from_bits(bits[3]),
                samples_per_second: f64::from_bits(bits[4]),
                seconds: f64::from_bits(bits[5]),
                skipped_steps,
                loss_scale: f32::from_bits(scale),
            })
    }

    /// The bits of every field, NaNs made one (a NaN is written `NaN`).
    fn key(m: &EpochMetrics) -> Vec<u64> {
        let bits = |x: f64| if x.is_nan() { u64::MAX } else { x.to_bits() };
        vec![
            m.epoch as u64,
            bits(m.loss),
            bits(m.train_accuracy),
            bits(m.test_loss),
            bits(m.test_accuracy),
            bits(m.samples_per_second),
            bits(m.seconds),
            m.skipped_steps,
            if m.loss_scale.is_nan() {
                u64::MAX
            } else {
                u64::from(m.loss_scale.to_bits())
            },
        ]
    }

    fn config() -> Config {
        Config {
            cases: 256,
            rng_seed: RngSeed::Fixed(0x6373_7631),
            failure_persistence: None,
            ..Config::default()
        }
    }

    proptest! {
        #![proptest_config(config())]

        /// What is written reads back bit for bit.
        #[test]
        fn rows_read_back_exactly(list in proptest::collection::vec(any_metrics(), 0..8)) {
            let mut list = list;
            list.sort_by_key(|m| m.epoch);
            list.dedup_by_key(|m| m.epoch);
            let mut text = format!("{HEADER}\n");
            for m in &list {
                text.push_str(&row(m));
            }
            let table = parse(text.as_bytes()).unwrap();
            prop_assert_eq!(table.rows.len(), list.len());
            for (read, written) in table.rows.iter().zip(&list) {
                prop_assert_eq!(key(read), key(written));
            }
            prop_assert_eq!(table.ends.last().copied().unwrap_or(table.header_end), text.len());
        }

        /// Any bytes: a table or an error, no panic; a table's offsets are
        /// line ends within the text.
        #[test]
        fn any_text_is_read_or_refused(
            rows in proptest::collection::vec(any_metrics(), 0..3),
            noise in proptest::collection::vec(any::<u8>(), 0..64),
            cut in any::<prop::sample::Index>(),
            with_header in any::<bool>(),
        ) {
            let mut text = if with_header { format!("{HEADER}\n").into_bytes() } else { Vec::new() };
            for m in &rows {
                text.extend_from_slice(row(m).as_bytes());
            }
            text.extend_from_slice(&noise);
            let text = &text[..cut.index(text.len() + 1)];
            if let Ok(table) = parse(text) {
                prop_assert_eq!(table.rows.len(), table.ends.len());
                for &end in &table.ends {
                    prop_assert_eq!(text[end - 1], b'\n');
                }
            }
        }
    }
}
