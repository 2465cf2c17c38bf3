//! A persistent build directory per concurrently running kernel.
//!
//! evcxr compiles cells in a crate directory whose `target/` also holds the
//! compiled dependencies (parlab, rayon, plotters…). A fresh temporary
//! directory per kernel would rebuild them at every start (tens of
//! seconds). So each kernel takes the first free *slot* under
//! `~/.cache/parlab/slots/N`, locked with `flock` for its lifetime, and
//! reuses whatever an earlier kernel in that slot built. `install.sh`
//! warms slot 0 and keeps a copy of it as the *seed* (`<cache>/seed`).
//!
//! A slot with no build yet (a second kernel started while the first runs:
//! two notebooks open) is seeded before evcxr starts: from the seed, else
//! from a warm slot no kernel holds. Without that, its first
//! `use parlab::prelude::*;` compiled serde, rayon, plotters and the
//! runtime from scratch (35–38 s, measured). Cargo's artifacts stay fresh in
//! the copy: their paths are the sources' (the registry, the runtime, the
//! shared library's directory under `<cache>/shared`), never the slot's.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

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
            if !dir.join("target").exists() {
                seed(&dir, &root);
            }
            return Some(Slot { dir, _lock: lock });
        }
    }
    None
}

/// Copies a warm build into the new slot `dir`: the seed, else the first
/// warm slot no kernel holds (locked while it is copied). Nothing to copy
/// from, or a failed copy, leaves `dir` cold: cargo then builds.
fn seed(dir: &Path, slots: &Path) {
    let seed_dir = cache_root().join("seed");
    let mut sources: Vec<(PathBuf, Option<File>)> = Vec::new();
    if seed_dir.join("target").is_dir() {
        sources.push((seed_dir, None));
    }
    for n in 0..16 {
        let other = slots.join(n.to_string());
        if other == dir || !other.join("target").is_dir() {
            continue;
        }
        let Ok(lock) = File::create(other.join(".lock")) else { continue };
        // SAFETY: flock on a file we own.
        if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            sources.push((other, Some(lock)));
            break;
        }
    }
    let Some((from, _held)) = sources.into_iter().next() else { return };
    let copied = copy_build(&from, dir);
    if let Err(e) = copied {
        crate::server::log(format!("could not seed {} from {}: {e}", dir.display(), from.display()));
        let _ = std::fs::remove_dir_all(dir.join("target"));
    }
}

/// Makes the seed a copy of slot 0 (after `install.sh` warmed it), for
/// `parlab-kernel seed`. Fails if a kernel holds slot 0.
pub(crate) fn refresh_seed() -> std::io::Result<PathBuf> {
    let slot0 = cache_root().join("slots").join("0");
    let lock = File::create(slot0.join(".lock"))?;
    // A kernel just shut down may take a moment to exit and let go.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    // SAFETY: flock on a file we own.
    while unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        if std::time::Instant::now() > deadline {
            return Err(std::io::Error::other("a kernel is using slot 0; stop it and run this again"));
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let seed = cache_root().join("seed");
    let fresh = cache_root().join("seed.new");
    let _ = std::fs::remove_dir_all(&fresh);
    std::fs::create_dir_all(&fresh)?;
    copy_build(&slot0, &fresh)?;
    let _ = std::fs::remove_dir_all(&seed);
    std::fs::rename(&fresh, &seed)?;
    Ok(seed)
}

/// What a warm slot holds that a new one can reuse: cargo's target
/// directory (less the cell crate's incremental state), lock file, and
/// evcxr's record of the `:dep`s it validated (each validation is a
/// `cargo metadata` resolving the dependency's tree: three of them were
/// 1.7 s of a second kernel's first runtime cell).
pub(crate) fn copy_build(from: &Path, to: &Path) -> std::io::Result<()> {
    if from.join("Cargo.lock").is_file() {
        std::fs::copy(from.join("Cargo.lock"), to.join("Cargo.lock"))?;
    }
    let validated = from.join(evcxr::VALIDATION_DIR);
    if validated.is_dir() {
        let into = to.join(evcxr::VALIDATION_DIR);
        std::fs::create_dir_all(&into)?;
        for name in [evcxr::VALIDATED, "Cargo.lock"] {
            if validated.join(name).is_file() {
                std::fs::copy(validated.join(name), into.join(name))?;
            }
        }
    }
    copy_tree(&from.join("target"), &to.join("target"))
}

/// Compiler outputs are hard-linked: rustc and the linkers write a new
/// file and rename it, so a rebuild in one slot never changes another's.
/// Everything else (fingerprints, dep-info, build-script output) is copied
/// with its modification time, which cargo compares.
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_dir() {
            if entry.file_name() != "incremental" {
                copy_tree(&src, &dst)?;
            }
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src)?, &dst)?;
        } else if is_output(&src) {
            if std::fs::hard_link(&src, &dst).is_err() {
                copy_file(&src, &dst)?;
            }
        } else {
            copy_file(&src, &dst)?;
        }
    }
    Ok(())
}

fn is_output(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("rlib" | "rmeta" | "so" | "a"))
}

fn copy_file(src: &Path, dst: &Path) -> std::io::Result<()> {
    std::fs::copy(src, dst)?;
    let modified = std::fs::metadata(src)?.modified()?;
    std::fs::File::options().write(true).open(dst)?.set_modified(modified)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copied_build_keeps_times_and_links_outputs() {
        let base = std::env::temp_dir().join(format!("parlab-slot-test-{}", std::process::id()));
        let (from, to) = (base.join("a"), base.join("b"));
        let deps = from.join("target/x/debug/deps");
        std::fs::create_dir_all(&deps).unwrap();
        std::fs::create_dir_all(from.join("target/x/debug/incremental/ctx")).unwrap();
        std::fs::create_dir_all(&to).unwrap();
        std::fs::write(deps.join("libfoo-1.rlib"), "rlib").unwrap();
        std::fs::write(deps.join("foo-1.d"), "dep-info").unwrap();
        std::fs::write(from.join("Cargo.lock"), "lock").unwrap();
        std::fs::create_dir_all(from.join(evcxr::VALIDATION_DIR)).unwrap();
        std::fs::write(from.join(evcxr::VALIDATION_DIR).join(evcxr::VALIDATED), "key\n").unwrap();
        let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000);
        File::options().write(true).open(deps.join("foo-1.d")).unwrap().set_modified(old).unwrap();
        copy_build(&from, &to).unwrap();
        let out = to.join("target/x/debug/deps");
        use std::os::unix::fs::MetadataExt;
        assert_eq!(std::fs::metadata(out.join("libfoo-1.rlib")).unwrap().ino(), std::fs::metadata(deps.join("libfoo-1.rlib")).unwrap().ino());
        assert_eq!(std::fs::metadata(out.join("foo-1.d")).unwrap().modified().unwrap(), old);
        assert_eq!(std::fs::read_to_string(to.join("Cargo.lock")).unwrap(), "lock");
        assert_eq!(std::fs::read_to_string(to.join(evcxr::VALIDATION_DIR).join(evcxr::VALIDATED)).unwrap(), "key\n");
        assert!(!to.join("target/x/debug/incremental").exists());
        let _ = std::fs::remove_dir_all(base);
    }
}
