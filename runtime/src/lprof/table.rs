//! Per-thread hit/sample tables and their merge.
//!
//! Hot path: a probe adds to a slot of *its own thread's* table through a
//! pointer its frame looked up once at function entry; no lock, no shared
//! cache line, no read-modify-write instruction. The sampler's signal
//! handler adds to `samples` of the same thread's slots (it runs on that
//! thread). Slots are `AtomicU64` accessed with relaxed loads and stores
//! (plain `mov`s on x86-64) only so that the merge, which reads other
//! threads' tables after the statement finished, is not a data race.
//!
//! Each thread registers a table per profiled function on first use in a
//! global list (under a mutex, once). Tables are never freed: a frame that
//! outlives its session (a detached thread) can still write safely, and a
//! new session zeroes them instead. Memory is bounded by threads × session
//! functions × lines.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

/// What probes do now: nothing ([`OFF`]: instrumented functions run their
/// original body), count hits and mark lines ([`COUNT`]), or only mark
/// lines for the sampler ([`MARK`]).
pub(crate) static MODE: AtomicU8 = AtomicU8::new(OFF);
pub(crate) const OFF: u8 = 0;
pub(crate) const COUNT: u8 = 1;
pub(crate) const MARK: u8 = 2;

/// Hits and samples of one line on one thread, and the probe events that
/// ran while the line was running (its own and its callees': what the
/// probes added to the line's sampled time, see `super::correct`).
#[derive(Debug, Default)]
#[repr(C, align(32))]
pub(crate) struct Slot {
    pub(crate) hits: AtomicU64,
    pub(crate) samples: AtomicU64,
    pub(crate) events: AtomicU64,
    /// `%mprun` (see `super::allocs`): allocations, their bytes, and the
    /// most heap the line held above its level on entry.
    pub(crate) allocs: AtomicU64,
    pub(crate) bytes: AtomicU64,
    pub(crate) peak: AtomicU64,
}

/// Slots kept empty on each side of a table so that two threads' tables
/// never share a cache line.
const PAD: usize = 4;

#[derive(Debug)]
struct Table {
    fn_id: u32,
    /// The thread's event counter (identifies the thread).
    thread: usize,
    /// `PAD` + lines + 1 sink (the "no line yet" slot) + `PAD`.
    slots: Box<[Slot]>,
}

impl Table {
    fn lines(&self) -> usize {
        self.slots.len() - 2 * PAD - 1
    }
}

static REGISTRY: Mutex<Vec<Arc<Table>>> = Mutex::new(Vec::new());

thread_local! {
    static LOCAL: RefCell<Vec<Option<Arc<Table>>>> = const { RefCell::new(Vec::new()) };
}

/// This thread's slots for function `fn_id` with `lines` lines (slot
/// `lines` is the sink). Valid for the life of the process.
pub(crate) fn slots(fn_id: u32, lines: u32) -> *const Slot {
    LOCAL.with(|local| {
        let mut local = local.borrow_mut();
        let i = fn_id as usize;
        if local.len() <= i {
            local.resize(i + 1, None);
        }
        if local[i].as_ref().is_none_or(|t| t.lines() < lines as usize) {
            let slots = (0..lines as usize + 1 + 2 * PAD).map(|_| Slot::default()).collect();
            let thread = crate::sample::thread() as *const crate::sample::Record as usize;
            let table = Arc::new(Table { fn_id, thread, slots });
            REGISTRY.lock().unwrap_or_else(|e| e.into_inner()).push(table.clone());
            local[i] = Some(table);
        }
        local[i].as_ref().map_or(std::ptr::null(), |t| t.slots[PAD..].as_ptr())
    })
}

/// Zeroes every table's hits (with `hits`) and samples.
pub(crate) fn reset(hits: bool) {
    for t in REGISTRY.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        for s in t.slots.iter() {
            if hits {
                s.hits.store(0, Relaxed);
                s.events.store(0, Relaxed);
                for c in [&s.allocs, &s.bytes, &s.peak] {
                    c.store(0, Relaxed);
                }
            }
            s.samples.store(0, Relaxed);
        }
    }
}

/// One line's counts, summed over threads.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Counts {
    pub(crate) hits: u64,
    /// Samples the clock thread (the statement's own) took in the line.
    pub(crate) samples: u64,
    /// CPU nanoseconds the sampler charged the line on every other thread
    /// (see `crate::sample`'s handler for why the units differ).
    pub(crate) cpu_ns: u64,
    pub(crate) events: u64,
    pub(crate) allocs: u64,
    pub(crate) bytes: u64,
    /// The largest over threads.
    pub(crate) peak: u64,
}

/// Per function, per line, summed over threads (samples not told apart:
/// for counts only).
pub(crate) fn collect(line_counts: &[usize]) -> Vec<Vec<Counts>> {
    collect_timed(line_counts, None)
}

/// [`collect`], with the samples of `clock`'s thread (the statement's
/// clock) in `samples` and every other thread's in `cpu_ns`.
pub(crate) fn collect_timed(line_counts: &[usize], clock: Option<&crate::sample::Record>) -> Vec<Vec<Counts>> {
    let clock = clock.map_or(usize::MAX, |c| c as *const crate::sample::Record as usize);
    let mut out: Vec<Vec<Counts>> = line_counts.iter().map(|&n| vec![Counts::default(); n]).collect();
    for t in REGISTRY.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        let Some(lines) = out.get_mut(t.fn_id as usize) else { continue };
        let n = lines.len().min(t.lines());
        for (acc, s) in lines.iter_mut().zip(&t.slots[PAD..PAD + n]) {
            acc.hits += s.hits.load(Relaxed);
            if clock == usize::MAX || t.thread == clock {
                acc.samples += s.samples.load(Relaxed);
            } else {
                acc.cpu_ns += s.samples.load(Relaxed);
            }
            acc.events += s.events.load(Relaxed);
            acc.allocs += s.allocs.load(Relaxed);
            acc.bytes += s.bytes.load(Relaxed);
            acc.peak = acc.peak.max(s.peak.load(Relaxed));
        }
    }
    out
}

/// The most probe events one thread ran (hits of all its tables): the
/// events on the statement's critical path when threads ran in parallel,
/// all of them when one thread did the work.
pub(crate) fn busiest_thread_events() -> u64 {
    let mut per_thread: Vec<(usize, u64)> = Vec::new();
    for t in REGISTRY.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        let hits: u64 = t.slots.iter().map(|s| s.hits.load(Relaxed)).sum();
        match per_thread.iter_mut().find(|(id, _)| *id == t.thread) {
            Some((_, n)) => *n += hits,
            None => per_thread.push((t.thread, hits)),
        }
    }
    per_thread.iter().map(|(_, n)| *n).max().unwrap_or(0)
}
