//! The contract between the interposer (in the executable) and its readers
//! (the runtime, in each cell's library): the layout of [`Counters`] and
//! [`Api`], and the environment variable that gives the table's address.
//!
//! Readers are compiled separately (each cell links its own copy of the
//! runtime), so they cannot name the executable's statics: the executable
//! publishes the address of one [`Api`] in [`API_ENV`], prefixed with its
//! process id (the evaluation process is the kernel binary re-executed, and
//! inherits the kernel's environment: the pid tells whose table it is).

use std::sync::atomic::{AtomicI64, AtomicPtr, AtomicU32, AtomicU64, Ordering};
use std::sync::OnceLock;

/// `"<pid>:<address of the Api>"`, set by the executable at start.
pub const API_ENV: &str = "PARLAB_ALLOC_API";

/// One thread's counts. Only the owning thread stores to them (relaxed),
/// except [`Counters::reset_peak`]; any thread may read them.
#[repr(C)]
#[derive(Debug)]
pub struct Counters {
    /// Blocks handed out: `malloc`, `calloc`, aligned forms, and `realloc`.
    pub allocs: AtomicU64,
    /// Of `allocs`, how many were `realloc`s.
    pub reallocs: AtomicU64,
    /// Blocks given back.
    pub frees: AtomicU64,
    /// Bytes requested by `allocs` (a `realloc` counts its new size).
    pub bytes: AtomicU64,
    /// Usable bytes (glibc's `malloc_usable_size`, ≥ the bytes asked for)
    /// of the blocks this thread allocated minus those it freed, while
    /// armed (negative when it frees what another thread, or an idle
    /// moment, allocated).
    pub live: AtomicI64,
    /// The largest `live` since the last [`Counters::reset_peak`].
    pub peak: AtomicI64,
    /// `live` at the last [`Counters::reset_peak`].
    pub base: AtomicI64,
    /// What this thread's new blocks are tagged with (0: nothing) while
    /// tracking, see [`Api::net`]. `%mprun` sets it to the running line's
    /// tag.
    pub tag: AtomicU32,
    /// The next thread's block (the list readers sum).
    pub(crate) next: AtomicPtr<Counters>,
}

impl Counters {
    pub(crate) const fn new() -> Self {
        Counters {
            allocs: AtomicU64::new(0),
            reallocs: AtomicU64::new(0),
            frees: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            live: AtomicI64::new(0),
            peak: AtomicI64::new(0),
            base: AtomicI64::new(0),
            tag: AtomicU32::new(0),
            next: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// Starts a new high-water mark at the current level; returns the old
    /// mark so that a caller measuring a nested span can restore it with
    /// [`Counters::restore_peak`].
    pub fn reset_peak(&self) -> i64 {
        let old = self.peak.load(Ordering::Relaxed);
        let live = self.live.load(Ordering::Relaxed);
        self.base.store(live, Ordering::Relaxed);
        self.peak.store(live, Ordering::Relaxed);
        old
    }

    /// Puts back an outer span's mark: the larger of `outer` and the
    /// mark the inner span reached.
    pub fn restore_peak(&self, outer: i64) {
        if outer > self.peak.load(Ordering::Relaxed) {
            self.peak.store(outer, Ordering::Relaxed);
        }
    }
}

/// The sums over every thread's [`Counters`] (see [`Api::totals`]).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    pub allocs: u64,
    pub reallocs: u64,
    pub frees: u64,
    pub bytes: u64,
    pub live: i64,
    /// Σ over threads of (peak − live at their last reset): exact for one
    /// thread, an upper bound of the process's peak over several (their
    /// peaks need not coincide).
    pub peak_above: i64,
}

/// The accessors the executable publishes. `version` changes with the
/// layout; a reader that finds another version treats counting as off.
///
/// Counting is off until a reader arms it: idle, allocations are glibc's
/// own, uncounted and at no cost (`alloc_counting_overhead_ratio` in
/// BENCHMARKS.md); the first arm switches every loaded object's GOT slots
/// to the counting functions, the last disarm puts glibc's back (tens of
/// µs, `alloc_arm_disarm_us`). A reader holds an [`Armed`] (from
/// [`Api::armed`]) for the span it reads; spans may nest and overlap, on
/// any threads.
#[repr(C)]
pub struct Api {
    pub version: u32,
    /// This thread's block (created on the thread's first call).
    pub thread: extern "C" fn() -> &'static Counters,
    /// Sums over all threads' blocks.
    pub totals: extern "C" fn() -> Totals,
    /// [`Counters::reset_peak`] on every thread's block (racy against the
    /// owners' updates: a lost reset only makes a peak larger).
    pub reset_peaks: extern "C" fn(),
    /// One more reader: counting is on while any is armed (calls from
    /// objects loaded before the first arm). Prefer [`Api::armed`], which
    /// disarms on drop.
    pub arm: extern "C" fn(),
    /// One reader fewer.
    pub disarm: extern "C" fn(),
    /// `%mprun`'s start: arms counting and starts tracking, with an empty
    /// table, which line ([`Counters::tag`]) allocated each block still
    /// allocated. Returns the generation (1..=255), which goes in the
    /// tags' bits 16..24. One tracking at a time.
    pub track_begin: extern "C" fn() -> u32,
    /// `%mprun`'s end: stops tracking, sums what [`Api::net`] reads, and
    /// disarms.
    pub track_end: extern "C" fn(),
    /// Requested bytes of the blocks tagged `tag` (of the last tracking's
    /// generation) still allocated at its [`Api::track_end`].
    pub net: extern "C" fn(tag: u32) -> i64,
    /// Tagged blocks the last tracking could not enter (its table was
    /// full): when not 0, [`Api::net`] is a lower bound.
    pub untracked: extern "C" fn() -> u64,
}

impl Api {
    /// Arms counting until the guard drops.
    pub fn armed(&'static self) -> Armed {
        (self.arm)();
        Armed(self)
    }
}

/// A reader's span: counting stays on while one is alive.
#[derive(Debug)]
#[must_use = "counting is disarmed when the guard drops"]
pub struct Armed(&'static Api);

impl Drop for Armed {
    fn drop(&mut self) {
        (self.0.disarm)();
    }
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api").field("version", &self.version).finish_non_exhaustive()
    }
}

/// The layout version of [`Api`] and [`Counters`].
pub const VERSION: u32 = 3;

/// Tags are `generation << 16 | slot`, slot in `1..TAG_SLOTS`, generation
/// in `1..=255`.
pub const TAG_SLOTS: u32 = 1 << 16;

/// The process's table, if its executable counts allocations.
pub fn api() -> Option<&'static Api> {
    // Compiled into the executable (the kernel, a test): no look-up.
    #[cfg(feature = "interpose")]
    return Some(&crate::interpose::API);
    #[cfg(not(feature = "interpose"))]
    found()
}

/// The table an executable published, for a copy compiled apart from it.
#[cfg_attr(feature = "interpose", allow(dead_code))]
fn found() -> Option<&'static Api> {
    static API: OnceLock<usize> = OnceLock::new();
    let addr = *API.get_or_init(|| {
        let Ok(value) = std::env::var(API_ENV) else { return 0 };
        parse(&value, std::process::id()).unwrap_or(0)
    });
    // SAFETY: the address is that of a `static Api` in this process's
    // executable (the pid matched), which lives as long as the process.
    let api = (addr != 0).then(|| unsafe { &*(addr as *const Api) })?;
    (api.version == VERSION).then_some(api)
}

/// `"<pid>:<addr>"` → the address, if it is `pid`'s.
pub(crate) fn parse(value: &str, pid: u32) -> Option<usize> {
    let (p, addr) = value.split_once(':')?;
    (p.parse::<u32>().ok()? == pid).then_some(())?;
    addr.parse().ok()
}

/// What [`parse`] reads.
#[cfg_attr(not(feature = "interpose"), allow(dead_code))]
pub(crate) fn format(pid: u32, addr: usize) -> String {
    format!("{pid}:{addr}")
}

pub(crate) fn sum<'a>(blocks: impl Iterator<Item = &'a Counters>) -> Totals {
    let mut t = Totals::default();
    for c in blocks {
        t.allocs += c.allocs.load(Ordering::Relaxed);
        t.reallocs += c.reallocs.load(Ordering::Relaxed);
        t.frees += c.frees.load(Ordering::Relaxed);
        t.bytes += c.bytes.load(Ordering::Relaxed);
        let live = c.live.load(Ordering::Relaxed);
        t.live += live;
        t.peak_above += c.peak.load(Ordering::Relaxed).max(live) - c.base.load(Ordering::Relaxed);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_value_round_trips_for_its_own_pid_only() {
        let v = format(42, 0xdead0);
        assert_eq!(parse(&v, 42), Some(0xdead0));
        assert_eq!(parse(&v, 43), None, "an inherited value (the parent's) is not ours");
        assert_eq!(parse("junk", 42), None);
    }
}
