//! What `snn-ipu train` shows and writes about a run:
//!
//! - [`progress`]: the progress bar within an epoch (on a terminal only) and
//!   the line printed after each epoch ([`progress::epoch_line`]);
//! - [`csv`]: `--metrics FILE.csv`, one row per epoch, written as the run
//!   goes and continued when it resumes;
//! - [`plot`]: `--plot FILE.png`, the loss and accuracy curves.

use std::fmt;
use std::path::{Path, PathBuf};

pub mod csv;
pub mod plot;
pub mod progress;

/// A file this module could not read or write, or one it refuses: the file
/// and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong, and where it can be said, what to do about it.
    pub message: String,
}

impl FileError {
    pub(crate) fn new(path: &Path, message: impl Into<String>) -> FileError {
        FileError {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }

    /// A failed file operation: `what` (e.g. "cannot create") and the
    /// system's reason.
    pub(crate) fn io(path: &Path, what: &str, error: &std::io::Error) -> FileError {
        FileError::new(path, format!("{what}: {error}"))
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

impl std::error::Error for FileError {}
