//! The recorder: which worker ran which `Pool` task, and when.
//!
//! Recording is off unless a timeline is being taken ([`start`] … [`stop`]),
//! and a `Pool` call then checks that once, not per task. While it is on,
//! each blocking call (`map`, `starmap`) gets a [`CallRecorder`] with one
//! buffer per worker thread of its pool. A task reads the clock at its start
//! and at its end and appends one [`RawTask`] to its own worker's buffer,
//! found by rayon's worker index: no lock, no atomic, no shared cache line
//! on the hot path (measured: `timeline_overhead_us_per_task` in
//! `examples/bench_pool.rs`, ~0.04 µs). When the call returns, every task
//! has ended (rayon's join orders their writes before it), and the caller
//! moves the buffers into the session under its one lock.
//!
//! Why per call and not thread-locals: a worker's thread-local buffer could
//! not be read by the caller without a lock on every append, and a call's
//! end is exactly when its tasks are known to be finished.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// One finished task, as the worker wrote it.
#[derive(Debug, Clone, Copy)]
struct RawTask {
    task: usize,
    chunk: usize,
    start: Instant,
    end: Instant,
}

/// What a worker's buffer holds during one call.
#[derive(Debug, Default)]
struct Slot {
    tasks: Vec<RawTask>,
}


/// A finished task of a session, with its lane.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Recorded {
    /// Which pool (its identity) and which of its workers.
    pub(crate) pool: usize,
    pub(crate) worker: usize,
    /// The blocking call, numbered from 0 in the session.
    pub(crate) call: usize,
    pub(crate) task: usize,
    pub(crate) chunk: usize,
    pub(crate) start: Instant,
    pub(crate) end: Instant,
}

/// A timeline being taken.
#[derive(Debug)]
pub(crate) struct Session {
    pub(crate) started: Instant,
    pub(crate) calls: usize,
    pub(crate) tasks: Vec<Recorded>,
    /// (pool, threads) of every pool that made a call, in order of first use.
    pub(crate) pools: Vec<(usize, usize)>,
}

static ACTIVE: AtomicBool = AtomicBool::new(false);
static SESSION: Mutex<Option<Session>> = Mutex::new(None);

fn session() -> std::sync::MutexGuard<'static, Option<Session>> {
    SESSION.lock().unwrap_or_else(|e| e.into_inner())
}

/// Starts recording (a session left by a panicked cell is dropped).
pub(crate) fn start() {
    *session() = Some(Session { started: Instant::now(), calls: 0, tasks: Vec::new(), pools: Vec::new() });
    ACTIVE.store(true, Ordering::Release);
}

/// Stops recording and returns what was recorded, if a session was on.
pub(crate) fn stop() -> Option<Session> {
    ACTIVE.store(false, Ordering::Release);
    session().take()
}

/// The per-worker buffers of one blocking `Pool` call.
pub(crate) struct CallRecorder {
    pool: usize,
    slots: Box<[UnsafeCell<Slot>]>,
}

// SAFETY: slot `i` is only touched by rayon worker `i` of the call's pool
// while the call runs (see `slot`), and by the caller after the call
// returned, when no task of the call is running any more.
unsafe impl Sync for CallRecorder {}

impl CallRecorder {
    /// A recorder for a call on a pool with `threads` workers, or `None`
    /// when no timeline is being taken (one relaxed load).
    #[inline]
    pub(crate) fn begin(pool: usize, threads: usize) -> Option<CallRecorder> {
        if !ACTIVE.load(Ordering::Relaxed) {
            return None;
        }
        let slots = (0..threads).map(|_| UnsafeCell::new(Slot { tasks: Vec::with_capacity(64) })).collect();
        Some(CallRecorder { pool, slots })
    }

    /// The calling worker's buffer, if the caller is a worker of the pool.
    ///
    /// # Safety
    /// The returned reference must not outlive the current statement (no
    /// task may run while it is held): a worker waiting inside a task may
    /// run another task of the same call on the same thread.
    #[inline]
    #[allow(clippy::mut_from_ref)]
    unsafe fn slot(&self) -> Option<&mut Slot> {
        let i = rayon::current_thread_index()?;
        // SAFETY: only worker `i` of this pool reaches index `i` (caller's
        // contract for the lifetime).
        self.slots.get(i).map(|s| unsafe { &mut *s.get() })
    }

    /// Records task `task`, which ran from `start` to `end` on the calling
    /// worker as part of the chunk (a batch of consecutive tasks one worker
    /// runs in order) whose first task is `chunk`.
    #[inline]
    pub(crate) fn record(&self, chunk: usize, task: usize, start: Instant, end: Instant) {
        // SAFETY: the reference ends within this statement.
        if let Some(slot) = unsafe { self.slot() } {
            slot.tasks.push(RawTask { task, chunk, start, end });
        }
    }

    /// Moves the call's tasks into the session. Call it after the call's
    /// tasks have all ended (its `install` returned).
    pub(crate) fn finish(self) {
        let mut guard = session();
        let Some(session) = guard.as_mut() else { return };
        let call = session.calls;
        session.calls += 1;
        let threads = self.slots.len();
        if !session.pools.iter().any(|&(p, _)| p == self.pool) {
            session.pools.push((self.pool, threads));
        }
        for (worker, slot) in self.slots.into_vec().into_iter().enumerate() {
            for t in slot.into_inner().tasks {
                session.tasks.push(Recorded {
                    pool: self.pool,
                    worker,
                    call,
                    task: t.task,
                    chunk: t.chunk,
                    start: t.start,
                    end: t.end,
                });
            }
        }
    }
}
