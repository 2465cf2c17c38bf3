//! Per-thread [`Record`]s: the counter stack the handler reads, the
//! thread's timer, and its registration.
//!
//! A record is allocated the first time its thread calls [`thread`] and is
//! never freed (leaked on purpose: a signal queued before its timer was
//! deleted may still arrive and read it). Memory: one record (~600 bytes)
//! per thread that ever ran profiled code.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering::{Relaxed, Release}};
use std::sync::Mutex;

/// Entries of the counter stack the handler reads; deeper pushes get a
/// spare entry that is never sampled (recursion deeper than this charges
/// the outer 64 calls only).
pub(crate) const DEPTH: usize = 64;

/// Tells the handler that `si_value` really points at a [`Record`].
pub(crate) const MAGIC: u64 = 0x7061_726c_6162_5350; // "parlabSP"

/// One call on a thread's counter stack: an array of `len + 1` counters,
/// `stride` words apart, and the index the code is at now (`at - first`,
/// clamped to `len`). Instrumented code writes only `at`, with a constant:
/// one store of an immediate, which keeps the probe from needing a register
/// of its own in the user's hot loop (a probe that stored a computed
/// pointer made `distance()`'s marked loop spill its accumulator to the
/// stack, 4× slower than the plain loop; measured).
#[repr(C)]
#[derive(Debug)]
pub struct Entry {
    counters: AtomicPtr<AtomicU64>,
    stride: AtomicU32,
    first: AtomicU32,
    len: AtomicU32,
    /// Where the call is now (a cell line, for `%lprun`).
    pub at: AtomicU32,
}

impl Entry {
    const fn empty() -> Entry {
        Entry {
        counters: AtomicPtr::new(std::ptr::null_mut()),
        stride: AtomicU32::new(0),
        first: AtomicU32::new(0),
        len: AtomicU32::new(0),
        at: AtomicU32::new(0),
        }
    }

    /// The counter a sample of this call charges (null: none).
    #[inline]
    pub(crate) fn counter(&self) -> *const AtomicU64 {
        let base = self.counters.load(Relaxed);
        if base.is_null() {
            return base;
        }
        let i = self.at.load(Relaxed).wrapping_sub(self.first.load(Relaxed)).min(self.len.load(Relaxed));
        base.wrapping_add(i as usize * self.stride.load(Relaxed) as usize)
    }
}

/// One thread's sampling state. `#[repr(C)]` and free of thread-locals: the
/// signal handler reaches it only through the pointer its timer carries.
#[repr(C)]
#[derive(Debug)]
pub struct Record {
    pub(crate) magic: u64,
    /// The handler counts only while this is set.
    pub(crate) armed: AtomicBool,
    /// Stay armed with an empty stack (the thread that runs the statement:
    /// its samples are the caller's clock).
    pub(crate) keep: AtomicBool,
    pub(crate) depth: AtomicUsize,
    /// What the handler charged this thread: samples on the clock thread
    /// (`keep`), CPU nanoseconds on the others (see the handler).
    pub(crate) samples: AtomicU64,
    /// CPU time of the thread at its last sample, or when its timer was
    /// armed (so a re-armed thread is not charged the time it was idle).
    pub(crate) cpu_ns: AtomicU64,
    /// Probe events this thread ran (instrumented code counts them: `%lprun`
    /// uses it to know how many probes ran inside each line).
    pub events: AtomicU64,
    pub(crate) stack: [Entry; DEPTH + 1],
    /// `timer_t` of this thread's timer, valid while `has_timer`.
    pub(crate) timer: AtomicUsize,
    pub(crate) has_timer: AtomicBool,
    generation: AtomicU32,
    tid: i32,
    rng: AtomicU64,
    /// Serialises timer creation, arming and deletion (never taken by the
    /// handler).
    lock: Mutex<()>,
}

static REGISTRY: Mutex<Vec<&'static Record>> = Mutex::new(Vec::new());

thread_local! {
    static REC: Cell<*const Record> = const { Cell::new(std::ptr::null()) };
    static EXIT: ExitGuard = const { ExitGuard(Cell::new(std::ptr::null())) };
}

/// Deletes the thread's timer when the thread ends, so that no timer
/// outlives its thread (a reused thread id would get its signals).
struct ExitGuard(Cell<*const Record>);

impl Drop for ExitGuard {
    fn drop(&mut self) {
        // SAFETY: records are leaked, the pointer stays valid.
        if let Some(rec) = unsafe { self.0.get().as_ref() } {
            rec.delete_timer();
        }
    }
}

/// This thread's record, registered on first use; armed if a session runs
/// and it is not armed for it yet.
#[inline]
pub fn thread() -> &'static Record {
    let rec = REC.with(|r| r.get());
    // SAFETY: set once below to a leaked record, never freed.
    let rec = match unsafe { rec.as_ref() } {
        Some(rec) => rec,
        None => register(),
    };
    if super::running() && rec.generation.load(Relaxed) != super::GENERATION.load(Relaxed) {
        rec.arm();
    }
    rec
}

#[cold]
fn register() -> &'static Record {
    #[cfg(target_os = "linux")]
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() };
    #[cfg(not(target_os = "linux"))]
    let tid = 0;
    let seed = (tid as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64);
    let rec: &'static Record = Box::leak(Box::new(Record {
        magic: MAGIC,
        armed: AtomicBool::new(false),
        keep: AtomicBool::new(false),
        depth: AtomicUsize::new(0),
        samples: AtomicU64::new(0),
        cpu_ns: AtomicU64::new(0),
        events: AtomicU64::new(0),
        stack: [const { Entry::empty() }; DEPTH + 1],
        timer: AtomicUsize::new(0),
        has_timer: AtomicBool::new(false),
        generation: AtomicU32::new(u32::MAX),
        tid,
        rng: AtomicU64::new(seed | 1),
        lock: Mutex::new(()),
    }));
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner()).push(rec);
    REC.with(|r| r.set(rec));
    EXIT.with(|g| g.0.set(rec));
    rec
}

/// Deletes every record's timer (end of a session).
pub(super) fn disarm_all() {
    for rec in REGISTRY.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        rec.delete_timer();
    }
}

impl Record {
    /// Starts a profiled call whose samples go to `counters[(at - first)
    /// .min(len) × stride]` (`counters` must have that many, and live as
    /// long as the process); returns its entry, `at` set to `first + len`
    /// (the last counter). Store into `entry.at` to move the call.
    #[inline]
    pub fn push(&self, counters: *const AtomicU64, stride: u32, first: u32, len: u32) -> &Entry {
        let d = self.depth.load(Relaxed);
        let entry = &self.stack[d.min(DEPTH)];
        entry.counters.store(std::ptr::null_mut(), Relaxed);
        entry.stride.store(stride, Relaxed);
        entry.first.store(first, Relaxed);
        entry.len.store(len, Relaxed);
        entry.at.store(first.wrapping_add(len), Relaxed);
        entry.counters.store(counters as *mut AtomicU64, Relaxed);
        // Release: the handler never sees the new depth with the previous
        // call's counter still in the entry.
        self.depth.store(d + 1, Release);
        if d == 0 && !self.armed.load(Relaxed) && super::running() {
            self.arm();
        }
        entry
    }

    /// Ends the innermost profiled call.
    #[inline]
    pub fn pop(&self) {
        let d = self.depth.load(Relaxed);
        if d > 0 {
            self.stack[(d - 1).min(DEPTH)].counters.store(std::ptr::null_mut(), Relaxed);
            self.depth.store(d - 1, Release);
        }
    }

    /// What the sampler charged this thread since
    /// [`reset_samples`](Self::reset_samples): samples while it is the
    /// clock ([`keep_armed`](Self::keep_armed)), otherwise the CPU
    /// nanoseconds it used up to its last sample.
    pub fn samples(&self) -> u64 {
        self.samples.load(Relaxed)
    }

    /// Zeroes [`samples`](Self::samples).
    pub fn reset_samples(&self) {
        self.samples.store(0, Relaxed);
    }

    /// Keeps sampling this thread while its stack is empty: the thread
    /// whose samples measure the statement's own duration.
    pub fn keep_armed(&self, keep: bool) {
        self.keep.store(keep, Relaxed);
        if keep && !self.armed.load(Relaxed) && super::running() {
            self.arm();
        }
    }

    /// Creates (if needed) and arms this thread's timer for the running
    /// session, first expiry at a random point of the first period so that
    /// samples are not phase-locked to the call that re-armed it.
    #[cold]
    pub(super) fn arm(&self) {
        let _g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        if !super::running() {
            return;
        }
        let period = super::PERIOD_NS.load(Relaxed);
        let mut x = self.rng.load(Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng.store(x, Relaxed);
        let first = 1 + x % period;
        self.generation.store(super::GENERATION.load(Relaxed), Relaxed);
        #[cfg(target_os = "linux")]
        {
            if !self.has_timer.load(Relaxed) {
                match super::signal::create_timer(self, self.tid) {
                    Some(t) => {
                        self.timer.store(t as usize, Relaxed);
                        self.has_timer.store(true, Relaxed);
                    }
                    None => return,
                }
            }
            // `arm` runs on the record's own thread (from `push`, `thread`
            // or `keep_armed`), so this is the thread's own CPU clock.
            self.cpu_ns.store(super::signal::thread_cpu_ns(), Relaxed);
            self.armed.store(true, Relaxed);
            super::signal::set_timer(self.timer.load(Relaxed) as libc::timer_t, first, period);
        }
        #[cfg(not(target_os = "linux"))]
        let _ = (first, period);
    }

    /// Stops this thread's timer (kept for the next [`arm`](Self::arm)).
    pub(super) fn disarm(&self) {
        let _g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.armed.store(false, Relaxed);
        #[cfg(target_os = "linux")]
        if self.has_timer.load(Relaxed) {
            super::signal::set_timer(self.timer.load(Relaxed) as libc::timer_t, 0, 0);
        }
    }

    /// Disarms and deletes the timer, if any.
    fn delete_timer(&self) {
        let _g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.armed.store(false, Relaxed);
        if self.has_timer.swap(false, Relaxed) {
            #[cfg(target_os = "linux")]
            super::signal::delete_timer(self.timer.load(Relaxed) as libc::timer_t);
        }
    }
}
