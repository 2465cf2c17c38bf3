//! A persistent build directory per concurrently running kernel.
//!
//! evcxr compiles cells in a crate directory whose `target/` also holds the
//! compiled dependencies (parlab, rayon, plotters…). A fresh temporary
//! directory per kernel would rebuild them at every start (tens of
//! seconds). So each kernel takes the first free *slot* under
//! `~/.cache/parlab/slots/N`, locked with `flock` for its lifetime, and
//! reuses whatever an earlier kernel in that slot built. `install.sh`
//! warms slot 0.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::PathBuf;

/// A locked slot; the lock is released when this is dropped (or the
/// process dies).
pub(crate) struct Slot {
    pub(crate) dir: PathBuf,
    _lock: File,
}

pub(crate) fn cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("PARLAB_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("parlab")
}

/// Takes the first free slot (of 16), or `None` if all are busy.
pub(crate) fn acquire() -> Option<Slot> {
    let root = cache_root().join("slots");
    for n in 0..16 {
        let dir = root.join(n.to_string());
        if std::fs::create_dir_all(&dir).is_err() {
            return None;
        }
        let Ok(lock) = File::create(dir.join(".lock")) else { continue };
        // SAFETY: flock on a file we own.
        let rc = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc == 0 {
            return Some(Slot { dir, _lock: lock });
        }
    }
    None
}
