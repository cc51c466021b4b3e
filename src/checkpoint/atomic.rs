//! Replacing a file so that a crash at any moment leaves either the old
//! file or the new one under its name, never a part of one: the bytes go to
//! a temporary file in the same folder (a rename is atomic only within one
//! file system), which is flushed to the disk (`sync_all`) before it is
//! renamed over the target; then the folder is synced (on Unix) so that the
//! rename itself is on the disk. A failure removes the temporary file.
//!
//! A crash (power loss, `kill -9`) between the first write and the rename
//! leaves a `.<name>.tmp-<pid>-<n>` file beside the target; it is never
//! read, and can be deleted.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// The steps of a replacement, for tests that fail one on purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Stage {
    Create,
    Write,
    Sync,
    Rename,
}

/// The temporary file's path beside `target`.
fn temporary(target: &Path) -> io::Result<PathBuf> {
    let name = target.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "the path names no file (it ends in `..` or is a root)",
        )
    })?;
    let mut temp = std::ffi::OsString::from(".");
    temp.push(name);
    temp.push(format!(
        ".tmp-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    Ok(target.with_file_name(temp))
}

/// Replaces `target` with `bytes` atomically.
pub(super) fn write(target: &Path, bytes: &[u8]) -> io::Result<()> {
    write_failing(target, bytes, None)
}

/// [`write`], failing at `fail` (tests).
pub(super) fn write_failing(target: &Path, bytes: &[u8], fail: Option<Stage>) -> io::Result<()> {
    let injected = |stage: Stage| -> io::Result<()> {
        if fail == Some(stage) {
            Err(io::Error::other(format!("injected failure at {stage:?}")))
        } else {
            Ok(())
        }
    };
    let temp = temporary(target)?;
    injected(Stage::Create)?;
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temp)?;
    let result = (|| {
        // half the bytes, then the failure: a partial temporary file
        if fail == Some(Stage::Write) {
            file.write_all(&bytes[..bytes.len() / 2])?;
            injected(Stage::Write)?;
        }
        file.write_all(bytes)?;
        file.flush()?;
        injected(Stage::Sync)?;
        file.sync_all()?;
        drop(file);
        injected(Stage::Rename)?;
        fs::rename(&temp, target)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&temp);
        return Err(e);
    }
    sync_folder(target);
    Ok(())
}

/// Syncs the folder holding `target` so that the rename is durable (Unix;
/// elsewhere, and where the file system refuses, the rename is as durable
/// as the system makes it).
fn sync_folder(target: &Path) {
    #[cfg(unix)]
    {
        let folder = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        if let Ok(dir) = File::open(folder) {
            let _ = dir.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = target;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("snn-ipu-atomic-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_failure_at_any_stage_keeps_the_old_file_whole_and_leaves_nothing_else() {
        let dir = folder("stages");
        let target = dir.join("run.ckpt");
        write(&target, b"old contents").unwrap();
        let new = vec![7u8; 10_000];
        for stage in [Stage::Create, Stage::Write, Stage::Sync, Stage::Rename] {
            let e = write_failing(&target, &new, Some(stage)).unwrap_err();
            assert!(e.to_string().contains("injected"), "{stage:?}: {e}");
            assert_eq!(fs::read(&target).unwrap(), b"old contents", "{stage:?}");
            assert_eq!(names(&dir), vec!["run.ckpt"], "{stage:?}");
        }
        write(&target, &new).unwrap();
        assert_eq!(fs::read(&target).unwrap(), new);
        assert_eq!(names(&dir), vec!["run.ckpt"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_target_that_cannot_be_replaced_is_left_alone() {
        let dir = folder("dir-target");
        let target = dir.join("sub");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("inside"), b"x").unwrap();
        assert!(write(&target, b"new").is_err());
        assert_eq!(fs::read(target.join("inside")).unwrap(), b"x");
        assert_eq!(names(&dir), vec!["sub"]);
        assert!(write(&dir.join("missing/file"), b"new").is_err());
        assert!(write(Path::new("/"), b"new").is_err());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_bare_file_name_is_written_in_the_current_folder_style() {
        // the temporary file of a bare name is a bare name too (same folder)
        let temp = temporary(Path::new("run.ckpt")).unwrap();
        assert_eq!(temp.parent(), Some(Path::new("")));
        assert!(temp.to_str().unwrap().starts_with(".run.ckpt.tmp-"));
    }
}
