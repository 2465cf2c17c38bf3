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
//! A running kernel seeds the next cold slot ahead of time
//! ([`prepare_next`]), so the second notebook's kernel usually finds it
//! warm and copies nothing.

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

/// How many slots there are: as many kernels can build at once.
const SLOTS: usize = 16;

/// Marks a slot that a kernel is seeding for the next kernel to start
/// ([`prepare_next`]); a kernel that finds the slot locked and marked waits
/// for the copy rather than take a cold slot and copy again.
const SEEDING: &str = ".seeding";

/// Takes the first free slot (of 16), or `None` if all are busy.
pub(crate) fn acquire() -> Option<Slot> {
    acquire_in(&cache_root())
}

fn acquire_in(cache: &Path) -> Option<Slot> {
    let root = cache.join("slots");
    for n in 0..SLOTS {
        let dir = root.join(n.to_string());
        if std::fs::create_dir_all(&dir).is_err() {
            return None;
        }
        let Ok(lock) = File::create(dir.join(".lock")) else { continue };
        let mut taken = try_lock(&lock);
        // A running kernel is copying the seed here for us (seconds): wait
        // while the mark is there, within a bound (the mark could also be
        // stale, seen in the instant before a kernel taking it clears it).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !taken && dir.join(SEEDING).exists() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
            taken = try_lock(&lock);
        }
        // The copy may have ended between the two checks.
        taken = taken || try_lock(&lock);
        if taken {
            // A kernel that died while seeding leaves its mark behind.
            let _ = std::fs::remove_file(dir.join(SEEDING));
            if !dir.join("target").exists() {
                seed(&dir, cache);
            }
            return Some(Slot { dir, _lock: lock });
        }
    }
    None
}

fn try_lock(lock: &File) -> bool {
    // SAFETY: flock on a file we own.
    unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

/// Seeds, on a background thread, the slot the next kernel would take, if
/// it is cold and no other kernel runs: a second notebook opened while this
/// one runs then finds its build warm. The copy (1,700 small files, hard
/// links for the rest) took 0.4 s on a quiet disk and up to 2.7 s while
/// other kernels built. With another kernel running, the machine is busy
/// with it and the copy would compete with its cells (a second kernel that
/// seeded a third slot during its first cell slowed it by ~1 s, measured);
/// the rare third kernel copies for itself. A slot stays warm for every
/// later kernel, so this happens once per slot. Not niced: at nice 10 the
/// copy, mostly system time, starved behind the kernel's own start-up
/// builds and the next kernel waited 1.4–1.7 s for it.
pub(crate) fn prepare_next(own: &Path) {
    let (cache, own) = (cache_root(), own.to_path_buf());
    let spawned = std::thread::Builder::new().name("slot-seeder".into()).spawn(move || {
        prepare_next_in(&cache, &own);
    });
    if let Err(e) = spawned {
        crate::server::log(format!("could not start seeding a spare build slot: {e}"));
    }
}

/// The slot the next kernel would take, seeded if it is cold, unless
/// another kernel holds a slot. Returns the slot seeded, if any.
fn prepare_next_in(cache: &Path, own: &Path) -> Option<PathBuf> {
    let root = cache.join("slots");
    for entry in std::fs::read_dir(&root).ok()?.flatten() {
        let dir = entry.path();
        if dir == own || !dir.join(".lock").is_file() {
            continue;
        }
        let lock = File::open(dir.join(".lock")).ok()?;
        if !try_lock(&lock) {
            return None;
        }
    }
    for n in 0..SLOTS {
        let dir = root.join(n.to_string());
        if dir == own {
            continue;
        }
        std::fs::create_dir_all(&dir).ok()?;
        let lock = File::create(dir.join(".lock")).ok()?;
        // Taken meanwhile, or warm already: nothing to do.
        if !try_lock(&lock) || dir.join("target").exists() {
            return None;
        }
        File::create(dir.join(SEEDING)).ok()?;
        let started = std::time::Instant::now();
        seed(&dir, cache);
        super::trace_span(&format!("spare slot {n} seeded"), started);
        let _ = std::fs::remove_file(dir.join(SEEDING));
        return Some(dir);
    }
    None
}

/// Copies a warm build into the new slot `dir`: the seed, else the first
/// warm slot no kernel holds (locked while it is copied). Nothing to copy
/// from, or a failed copy, leaves `dir` cold: cargo then builds.
fn seed(dir: &Path, cache: &Path) {
    let slots = cache.join("slots");
    let seed_dir = cache.join("seed");
    let mut sources: Vec<(PathBuf, Option<File>)> = Vec::new();
    if seed_dir.join("target").is_dir() {
        sources.push((seed_dir, None));
    }
    for n in 0..SLOTS {
        let other = slots.join(n.to_string());
        if other == dir || !other.join("target").is_dir() {
            continue;
        }
        let Ok(lock) = File::create(other.join(".lock")) else { continue };
        if try_lock(&lock) {
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

    /// A cache with a seed (one fingerprint, one rlib) and slot 0 held, as
    /// by a running kernel; the hold is released when the `File` is dropped.
    fn cache_with_a_running_kernel(name: &str) -> (PathBuf, File) {
        let cache = std::env::temp_dir().join(format!("parlab-slot-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&cache);
        let deps = cache.join("seed/target/x/debug/deps");
        std::fs::create_dir_all(&deps).unwrap();
        std::fs::write(deps.join("libfoo-1.rlib"), "rlib").unwrap();
        std::fs::write(deps.join("foo-1.d"), "dep-info").unwrap();
        let slot0 = cache.join("slots/0");
        std::fs::create_dir_all(&slot0).unwrap();
        let held = File::create(slot0.join(".lock")).unwrap();
        assert!(try_lock(&held));
        (cache, held)
    }

    #[test]
    fn the_next_kernels_slot_is_seeded_once() {
        let (cache, _held) = cache_with_a_running_kernel("next");
        let own = cache.join("slots/0");
        assert_eq!(prepare_next_in(&cache, &own), Some(cache.join("slots/1")));
        assert!(cache.join("slots/1/target/x/debug/deps/foo-1.d").is_file());
        assert!(!cache.join("slots/1").join(SEEDING).exists());
        assert!(!cache.join("slots/0/target").exists(), "a held slot is never touched");
        // Slot 1 is warm now: nothing more to do, and the next kernel takes it.
        assert_eq!(prepare_next_in(&cache, &own), None);
        assert_eq!(acquire_in(&cache).unwrap().dir, cache.join("slots/1"));
        let _ = std::fs::remove_dir_all(cache);
    }

    #[test]
    fn no_spare_is_seeded_while_another_kernel_runs() {
        let (cache, _held) = cache_with_a_running_kernel("busy");
        let other = acquire_in(&cache).unwrap();
        assert_eq!(other.dir, cache.join("slots/1"));
        // Slot 1 is that other kernel's (seeded as it started); we are slot 0.
        assert_eq!(prepare_next_in(&cache, &cache.join("slots/0")), None);
        assert!(!cache.join("slots/2").exists());
        drop(other);
        let _ = std::fs::remove_dir_all(cache);
    }

    #[test]
    fn a_kernel_waits_for_a_slot_being_seeded_for_it() {
        let (cache, _held) = cache_with_a_running_kernel("wait");
        let slot1 = cache.join("slots/1");
        std::fs::create_dir_all(&slot1).unwrap();
        let seeding = File::create(slot1.join(".lock")).unwrap();
        assert!(try_lock(&seeding));
        File::create(slot1.join(SEEDING)).unwrap();
        let seeder = {
            let slot1 = slot1.clone();
            std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_millis(300));
                std::fs::create_dir_all(slot1.join("target/seeded")).unwrap();
                std::fs::remove_file(slot1.join(SEEDING)).unwrap();
                drop(seeding);
            })
        };
        // Not slot 2, cold: slot 1, once its copy is done.
        let slot = acquire_in(&cache).unwrap();
        assert_eq!(slot.dir, slot1);
        assert!(slot1.join("target/seeded").is_dir());
        seeder.join().unwrap();
        let _ = std::fs::remove_dir_all(cache);
    }

    #[test]
    fn a_seeding_mark_left_by_a_dead_kernel_is_cleared() {
        let (cache, held) = cache_with_a_running_kernel("dead");
        File::create(cache.join("slots/0").join(SEEDING)).unwrap();
        drop(held);
        let slot = acquire_in(&cache).unwrap();
        assert_eq!(slot.dir, cache.join("slots/0"));
        assert!(!slot.dir.join(SEEDING).exists());
        assert!(slot.dir.join("target/x/debug/deps/libfoo-1.rlib").is_file());
        let _ = std::fs::remove_dir_all(cache);
    }

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
