//! MNIST-style data sets in IDX files (`snn-ipu train --data DIR`).
//!
//! A folder holds the four files of the MNIST layout, each plain or gzipped
//! ([`FILES`]; `NAME` or `NAME.gz`, and when both are there the plain one is
//! read). Gzip is recognised by its magic bytes (`1f 8b`), whatever the
//! name says, so a `.gz` that was already decompressed reads as well.
//!
//! An IDX file is big-endian: a magic number (`0x00000803` = 2051 for
//! images, unsigned bytes in 3 dimensions; `0x00000801` = 2049 for labels,
//! unsigned bytes in 1 dimension), one `u32` per dimension, then the bytes.
//! What this reader accepts:
//!
//! - images of any `rows x cols` from 1x1 up, the same in the training and
//!   the test file (MNIST and Fashion-MNIST are 28x28; another size is read
//!   as it is and the network's `inputs` must match `rows · cols`);
//! - at most [`MAX_VALUES`] (2^31) pixels in an image file and as many
//!   labels in a label file: the sizes are checked with overflow-checked
//!   arithmetic before anything is allocated, and 2^31 bytes keeps every
//!   offset within a 32-bit signed index while being 45 times MNIST's
//!   training set;
//! - labels 0..9 ([`CLASSES`]), as many as the images, at least one image
//!   in each set;
//! - exactly the bytes the header announces: a file that ends early is
//!   truncated, one that goes on has trailing garbage, and both are refused;
//!   a gzip stream must be intact (its CRC and length are checked) and may
//!   be several members (as `cat a.gz b.gz`), but nothing else may follow.
//!
//! Pixels become `p / 255` (in `[0, 1]`), labels `usize`. The memory the two
//! sets take is checked against what the machine has ([`crate::memory`])
//! after the four headers are read and before any pixel is.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use super::{DataError, Dataset};
use crate::memory::{self, Available, Estimate};

/// The magic number of an image file: unsigned bytes (`0x08`) in 3
/// dimensions.
pub const IMAGES_MAGIC: u32 = 0x0803;
/// The magic number of a label file: unsigned bytes (`0x08`) in 1 dimension.
pub const LABELS_MAGIC: u32 = 0x0801;
/// Labels are `0..CLASSES`.
pub const CLASSES: usize = 10;
/// The most pixels an image file, and labels a label file, may hold (2^31).
pub const MAX_VALUES: u64 = 1 << 31;

/// The four files of a folder, in the order [`parse`] takes them: training
/// images, training labels, test images, test labels. Each may also carry a
/// `.gz` suffix.
pub const FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// What an IDX file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Images (magic 2051).
    Images,
    /// Labels (magic 2049).
    Labels,
}

impl Kind {
    fn magic(self) -> u32 {
        match self {
            Kind::Images => IMAGES_MAGIC,
            Kind::Labels => LABELS_MAGIC,
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Kind::Images => "an image file",
            Kind::Labels => "a label file",
        }
    }

    /// Header bytes: the magic number and one `u32` per dimension.
    fn header_len(self) -> usize {
        match self {
            Kind::Images => 16,
            Kind::Labels => 8,
        }
    }
}

/// An IDX header, checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Images or labels.
    pub kind: Kind,
    /// Items.
    pub count: usize,
    /// Rows of an image (1 for labels).
    pub rows: usize,
    /// Columns of an image (1 for labels).
    pub cols: usize,
}

impl Header {
    /// The bytes after the header: `count · rows · cols` (checked when the
    /// header was read, at most [`MAX_VALUES`]).
    pub fn payload(&self) -> usize {
        self.count * self.rows * self.cols
    }

    fn items(&self) -> String {
        match self.kind {
            Kind::Images => format!("{} images of {}x{}", self.count, self.rows, self.cols),
            Kind::Labels => format!("{} labels", self.count),
        }
    }
}

/// The images of one file.
#[derive(Clone, Debug, PartialEq)]
pub struct Images {
    /// The header.
    pub header: Header,
    /// `[count][rows · cols]`, each `p / 255`.
    pub pixels: Vec<f32>,
}

/// A reader's error, told apart from the decompressor's own.
#[derive(Debug)]
struct SourceError(io::Error);

impl std::fmt::Display for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SourceError {}

/// Wraps the underlying reader so that its errors reach us marked.
struct Tagged<R>(R);

impl<R: Read> Read for Tagged<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0
            .read(buf)
            .map_err(|e| io::Error::other(SourceError(e)))
    }
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full(reader: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// An IDX file whose header is read and checked; the items follow.
pub struct IdxFile<'a> {
    source: String,
    header: Header,
    gzip: bool,
    /// The header's size is known to be right (a plain input of known
    /// length) or to fit in memory (checked by the caller): the items'
    /// buffer is allocated at its full size at once. Otherwise it grows
    /// with what arrives, so that a header that lies costs nothing.
    sized: bool,
    reader: Box<dyn Read + 'a>,
}

impl<'a> IdxFile<'a> {
    /// Reads and checks the header of `kind` from `reader` (`source` names
    /// it in errors), decompressing when the input starts with gzip's magic
    /// bytes. `plain_len`, the input's length when known (a file's size),
    /// lets a plain file's truncation or trailing bytes be refused before
    /// anything is allocated.
    pub fn open(
        reader: impl Read + 'a,
        kind: Kind,
        source: &str,
        plain_len: Option<u64>,
    ) -> Result<Self, DataError> {
        let mut reader = Tagged(reader);
        let mut prefix = [0u8; 2];
        let got = read_full(&mut reader, &mut prefix).map_err(|e| io_error(source, false, e))?;
        let prefix = io::Cursor::new(prefix[..got].to_vec());
        let gzip = prefix.get_ref()[..] == [0x1f, 0x8b];
        let reader: Box<dyn Read + 'a> = if gzip {
            Box::new(MultiGzDecoder::new(prefix.chain(reader)))
        } else {
            Box::new(prefix.chain(reader))
        };
        let mut file = IdxFile {
            source: source.to_string(),
            header: Header {
                kind,
                count: 0,
                rows: 1,
                cols: 1,
            },
            gzip,
            sized: false,
            reader,
        };
        let plain_len = if gzip { None } else { plain_len };
        file.read_header(kind, plain_len)?;
        file.sized = plain_len.is_some();
        Ok(file)
    }

    /// The checked header.
    pub fn header(&self) -> Header {
        self.header
    }

    /// Whether the input is gzipped.
    pub fn is_gzip(&self) -> bool {
        self.gzip
    }

    /// The name in errors.
    pub fn source(&self) -> &str {
        &self.source
    }

    fn fail<T>(&self, problem: String) -> Result<T, DataError> {
        Err(DataError(format!("{}: {problem}", self.source)))
    }

    fn decompressed(&self) -> &'static str {
        if self.gzip {
            " (decompressed)"
        } else {
            ""
        }
    }

    fn read_header(&mut self, kind: Kind, plain_len: Option<u64>) -> Result<(), DataError> {
        let mut bytes = [0u8; 16];
        let want = kind.header_len();
        let got = read_full(&mut self.reader, &mut bytes[..want])
            .map_err(|e| io_error(&self.source, self.gzip, e))?;
        if got < 4 {
            return self.fail(format!(
                "truncated: {got} bytes{}, too short for an IDX file (a {want}-byte header for {})",
                self.decompressed(),
                kind.noun()
            ));
        }
        let word =
            |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
        let magic = word(0);
        if magic != kind.magic() {
            let what = match magic {
                IMAGES_MAGIC => "the magic number of an image file".to_string(),
                LABELS_MAGIC => "the magic number of a label file".to_string(),
                _ if bytes[..2] == [0x1f, 0x8b] => {
                    "gzip's magic bytes inside the decompressed data (gzipped twice?)".into()
                }
                _ => "not an IDX file of unsigned bytes".into(),
            };
            return self.fail(format!(
                "wrong magic number {magic} ({magic:#010x}, {what}); {} has {} ({:#010x})",
                kind.noun(),
                kind.magic(),
                kind.magic()
            ));
        }
        if got < want {
            return self.fail(format!(
                "truncated header: {got} of its {want} bytes{}",
                self.decompressed()
            ));
        }
        let count = word(4);
        let (rows, cols) = match kind {
            Kind::Images => (word(8), word(12)),
            Kind::Labels => (1, 1),
        };
        if rows == 0 || cols == 0 {
            return self.fail(format!(
                "images of {rows}x{cols} pixels: rows and columns must be at least 1"
            ));
        }
        let values = u64::from(count)
            .checked_mul(u64::from(rows))
            .and_then(|v| v.checked_mul(u64::from(cols)));
        let header_len = want as u64;
        let fits = values.filter(|&v| v <= MAX_VALUES);
        let Some(values) = fits else {
            return self.fail(match kind {
                Kind::Images => format!(
                    "{count} images of {rows}x{cols} are more than 2^31 pixels, the most this reader accepts"
                ),
                Kind::Labels => {
                    format!("{count} labels are more than 2^31, the most this reader accepts")
                }
            });
        };
        // At most 2^31 values: every product below fits in a `usize` of 32
        // bits or more.
        self.header = Header {
            kind,
            count: count as usize,
            rows: rows as usize,
            cols: cols as usize,
        };
        if let Some(len) = plain_len {
            let expected = header_len + values;
            if len < expected {
                return self.fail(format!(
                    "truncated: the header announces {} ({values} bytes after the {header_len}-byte header), but the file has {len} bytes, not {expected}",
                    self.header.items()
                ));
            }
            if len > expected {
                return self.fail(format!(
                    "{} bytes of trailing garbage after the {} the header announces (the file has {len} bytes, not {expected})",
                    len - expected,
                    self.header.items()
                ));
            }
        }
        Ok(())
    }

    /// Reads the items in chunks, passing each with the index of its first
    /// byte to `each`; then checks that the input ends there (and, gzipped,
    /// that the stream's checksum holds).
    fn read_items(
        &mut self,
        mut each: impl FnMut(&[u8], usize) -> Result<(), String>,
    ) -> Result<(), DataError> {
        let payload = self.header.payload();
        let mut buf = vec![0u8; payload.clamp(1, 1 << 16)];
        let mut done = 0;
        while done < payload {
            let want = (payload - done).min(buf.len());
            let got = read_full(&mut self.reader, &mut buf[..want])
                .map_err(|e| io_error(&self.source, self.gzip, e))?;
            if got > 0 {
                if let Err(problem) = each(&buf[..got], done) {
                    return self.fail(problem);
                }
            }
            done += got;
            if got < want {
                return self.fail(format!(
                    "truncated: the header announces {} ({payload} bytes after the header), but only {done} follow{}",
                    self.header.items(),
                    self.decompressed()
                ));
            }
        }
        // Anything more is trailing garbage; reading to the end also makes
        // the decompressor check the stream's CRC and length.
        const COUNTED: u64 = 1 << 20;
        let mut counter = (&mut self.reader).take(COUNTED + 1);
        let extra = io::copy(&mut counter, &mut io::sink())
            .map_err(|e| io_error(&self.source, self.gzip, e))?;
        if extra > 0 {
            let amount = if extra > COUNTED {
                format!("more than {COUNTED}")
            } else {
                extra.to_string()
            };
            return self.fail(format!(
                "{amount} bytes of trailing garbage{} after the {} the header announces",
                self.decompressed(),
                self.header.items()
            ));
        }
        Ok(())
    }

    fn initial_capacity(&self) -> usize {
        if self.sized {
            self.header.payload()
        } else {
            self.header.payload().min(1 << 16)
        }
    }

    /// Reads an image file's pixels as `p / 255`.
    pub fn read_images(mut self) -> Result<Images, DataError> {
        if self.header.kind != Kind::Images {
            return self.fail("is a label file, not an image file".into());
        }
        let mut pixels = Vec::with_capacity(self.initial_capacity());
        self.read_items(|chunk, _| {
            pixels.extend(chunk.iter().map(|&p| f32::from(p) / 255.0));
            Ok(())
        })?;
        Ok(Images {
            header: self.header,
            pixels,
        })
    }

    /// Reads a label file's labels, each below [`CLASSES`].
    pub fn read_labels(mut self) -> Result<Vec<usize>, DataError> {
        if self.header.kind != Kind::Labels {
            return self.fail("is an image file, not a label file".into());
        }
        let mut labels = Vec::with_capacity(self.initial_capacity());
        self.read_items(|chunk, first| {
            if let Some(i) = chunk.iter().position(|&l| usize::from(l) >= CLASSES) {
                return Err(format!(
                    "label {} at index {} (labels are 0..{})",
                    chunk[i],
                    first + i,
                    CLASSES - 1
                ));
            }
            labels.extend(chunk.iter().map(|&l| usize::from(l)));
            Ok(())
        })?;
        Ok(labels)
    }
}

fn io_error(source: &str, gzip: bool, e: io::Error) -> DataError {
    let from_source = e
        .get_ref()
        .is_some_and(|inner| inner.downcast_ref::<SourceError>().is_some());
    DataError(if from_source || !gzip {
        format!("{source}: read error: {e}")
    } else {
        format!("{source}: corrupt gzip stream: {e}")
    })
}

/// Reads one image file held in memory, plain or gzipped.
pub fn parse_images(bytes: &[u8], source: &str) -> Result<Images, DataError> {
    IdxFile::open(bytes, Kind::Images, source, Some(bytes.len() as u64))?.read_images()
}

/// Reads one label file held in memory, plain or gzipped.
pub fn parse_labels(bytes: &[u8], source: &str) -> Result<Vec<usize>, DataError> {
    IdxFile::open(bytes, Kind::Labels, source, Some(bytes.len() as u64))?.read_labels()
}

/// The four files opened, in [`FILES`]' order.
fn read_sets(
    mut files: Vec<IdxFile<'_>>,
    name: &str,
    place: &str,
    available: Available,
) -> Result<(Dataset, Dataset), DataError> {
    let headers: Vec<Header> = files.iter().map(IdxFile::header).collect();
    let sources: Vec<String> = files.iter().map(|f| f.source.clone()).collect();
    for pair in [0, 2] {
        let (images, labels) = (headers[pair], headers[pair + 1]);
        if images.count != labels.count {
            return Err(DataError(format!(
                "{}: {} images, but {} has {} labels; they must be as many",
                sources[pair],
                images.count,
                sources[pair + 1],
                labels.count
            )));
        }
        if images.count == 0 {
            return Err(DataError(format!("{}: holds no images", sources[pair])));
        }
    }
    let (train, test) = (headers[0], headers[2]);
    if (train.rows, train.cols) != (test.rows, test.cols) {
        return Err(DataError(format!(
            "{}: images of {}x{}, but {} has {}x{}; training and test images must be the same size",
            sources[2], test.rows, test.cols, sources[0], train.rows, train.cols
        )));
    }
    let mut estimate = Estimate::default();
    estimate
        .add("training images", train.payload() as u64, 4)
        .add("training labels", train.count as u64, 8)
        .add("test images", test.payload() as u64, 4)
        .add("test labels", test.count as u64, 8);
    memory::check(
        &estimate,
        available,
        "use a smaller data set or a machine with more memory",
    )
    .map_err(|e| {
        DataError(format!(
            "{place}: {}",
            e.replacen("this run needs", "the training and test sets need", 1)
        ))
    })?;
    for file in &mut files {
        file.sized = true;
    }
    let mut take = |set: &str| -> Result<Dataset, DataError> {
        let images = files.remove(0).read_images()?;
        let labels = files.remove(0).read_labels()?;
        Ok(Dataset {
            name: format!("{name} ({set})"),
            features: images.header.rows * images.header.cols,
            classes: CLASSES,
            inputs: images.pixels,
            labels,
        })
    };
    let train = take("train")?;
    let test = take("test")?;
    Ok((train, test))
}

/// Reads the four files held in memory, in [`FILES`]' order (each plain or
/// gzipped; errors name them by their standard names), into the training
/// and the test set named `name (train)` and `name (test)`; `available`
/// bounds the memory the sets may take.
pub fn parse(
    files: [&[u8]; 4],
    name: &str,
    available: Available,
) -> Result<(Dataset, Dataset), DataError> {
    let mut opened = Vec::with_capacity(4);
    for (k, bytes) in files.into_iter().enumerate() {
        let kind = if k % 2 == 0 {
            Kind::Images
        } else {
            Kind::Labels
        };
        opened.push(IdxFile::open(
            bytes,
            kind,
            FILES[k],
            Some(bytes.len() as u64),
        )?);
    }
    read_sets(opened, name, name, available)
}

/// The file of `dir` that holds `name`: `name` or `name.gz` (the plain one
/// when both are there), `None` when neither is a file.
pub fn find(dir: &Path, name: &str) -> Option<PathBuf> {
    [dir.join(name), dir.join(format!("{name}.gz"))]
        .into_iter()
        .find(|p| p.is_file())
}

/// Reads the training and the test set from the four files in `dir`
/// ([`FILES`], plain or gzipped), within the memory this machine has.
pub fn load_dir(dir: &Path) -> Result<(Dataset, Dataset), DataError> {
    load_dir_within(dir, memory::available())
}

/// [`load_dir`] with the memory the sets may take given.
pub fn load_dir_within(dir: &Path, available: Available) -> Result<(Dataset, Dataset), DataError> {
    let shown = dir.display();
    match std::fs::metadata(dir) {
        Err(e) => return Err(DataError(format!("{shown}: cannot open the folder: {e}"))),
        Ok(m) if !m.is_dir() => return Err(DataError(format!("{shown}: not a folder"))),
        Ok(_) => {}
    }
    let paths: Vec<Option<PathBuf>> = FILES.iter().map(|n| find(dir, n)).collect();
    if paths.iter().any(Option::is_none) {
        let missing: Vec<String> = FILES
            .iter()
            .zip(&paths)
            .filter(|(_, p)| p.is_none())
            .map(|(n, _)| format!("{n} or {n}.gz"))
            .collect();
        return Err(DataError(format!(
            "{shown}: no {} (a data folder holds the four IDX files {}, each plain or gzipped; \
             data/mnist/fetch.py gets MNIST and Fashion-MNIST)",
            missing.join(", no "),
            FILES.join(", ")
        )));
    }
    let mut opened = Vec::with_capacity(4);
    for (k, path) in paths.into_iter().flatten().enumerate() {
        let source = path.display().to_string();
        let file =
            File::open(&path).map_err(|e| DataError(format!("{source}: cannot be opened: {e}")))?;
        let len = file
            .metadata()
            .map_err(|e| DataError(format!("{source}: cannot be read: {e}")))?
            .len();
        let kind = if k % 2 == 0 {
            Kind::Images
        } else {
            Kind::Labels
        };
        opened.push(IdxFile::open(file, kind, &source, Some(len))?);
    }
    let name = dir
        .file_name()
        .map_or_else(|| shown.to_string(), |n| n.to_string_lossy().into_owned());
    read_sets(opened, &name, &shown.to_string(), available)
}
