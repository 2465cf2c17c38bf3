//! Per-call probe state, on the stack of the instrumented function.
//!
//! A probe does two things, both on this thread's own memory: in the
//! counting copy of a function it counts a hit (and a probe event) for its
//! line, and in both copies it stores the line number into this call's
//! entry of the sampler's counter stack (one relaxed store of a constant;
//! the marking copy does only that). No clock is read: time comes from the
//! sampler's signals, which charge every call on the thread's stack with
//! the line it is on. That is line_profiler's
//! attribution (a line's time runs until the next line event *of the same
//! call*, callees included), without a timestamp per line.
//!
//! A hit is counted when a line starts, line_profiler counts it when the
//! line ends; the two agree for every line of a call that returns or
//! unwinds, which every reported call has done.

use super::table;
use crate::sample;
use std::cell::Cell;
use std::sync::atomic::{compiler_fence, AtomicBool, AtomicU64, Ordering::{Relaxed, SeqCst}};

/// A running call of a profiled function (`let __lp = LpFrame::enter(…)`).
#[derive(Debug)]
pub struct LpFrame {
    /// This thread's slots for the function; null when no session runs.
    slots: *const table::Slot,
    /// This call's entry of the thread's sampler stack.
    entry: *const sample::Entry,
    record: *const sample::Record,
    /// Number of lines; slot `len` is the sink for "no line yet" and for
    /// out-of-range ids.
    len: u32,
    /// Cell line of slot 0.
    base: u32,
    /// Count hits (the first run) or only mark lines (the sampled runs).
    count: bool,
    /// Counting run: the running line's slot and the thread's event count
    /// when it started (for `Slot::events`).
    last: Cell<*const table::Slot>,
    start: Cell<u64>,
    /// The process's interrupt flag (null when inert).
    interrupt: *const AtomicBool,
    /// `%mprun`'s accounting of the running line (inert outside `%mprun`).
    alloc: Cell<super::allocs::Mark>,
}

// SAFETY: the slots and sampler records live for the whole process and are
// only touched through atomics, so a frame that moves to another thread
// stays memory-safe (its samples would be charged on the old thread).
unsafe impl Send for LpFrame {}

impl LpFrame {
    /// Whether the counting run of a session runs: instrumented functions
    /// then take their counting copy (Hits, interrupt checks).
    #[inline]
    pub fn counting() -> bool {
        table::MODE.load(Relaxed) == table::COUNT
    }

    /// Whether the sampled runs of a session run: instrumented functions
    /// then take their marking copy. Otherwise they run their original
    /// body, so the plain runs that time a statement run the user's code
    /// as compiled.
    #[inline]
    pub fn marking() -> bool {
        table::MODE.load(Relaxed) == table::MARK
    }

    /// Starts a call of profiled function `fn_id` spanning cell lines
    /// `first..=last`. Inert (every probe a single branch) when no
    /// `lprun` session is active.
    ///
    /// Always inlined, with the lookups in [`attach`]: a frame built by an
    /// out-of-line call lives in memory the callee saw, and the optimiser
    /// then reloads every field at every probe (measured: six loads per
    /// probe, and the marked `distance()` ran 5× slower than the plain one).
    #[inline(always)]
    pub fn enter(fn_id: u32, first: u32, last: u32) -> LpFrame {
        let len = last.saturating_sub(first) + 1;
        // No inert variant and no null checks in the probes: the probed
        // body only runs during a session (see `active`), and a frame made
        // after one ended (a closure called later) writes into tables the
        // next session zeroes. A branch per probe cost as much as the mark.
        let mode = table::MODE.load(Relaxed);
        let a = attach(fn_id, first, len, mode);
        LpFrame {
            slots: a.slots,
            entry: a.entry,
            record: a.record,
            len,
            base: first,
            count: mode == table::COUNT,
            // SAFETY: the table has `len + 1` slots; the last is the sink.
            last: Cell::new(unsafe { a.slots.add(len as usize) }),
            start: Cell::new(a.start),
            interrupt: a.interrupt,
            alloc: Cell::new(a.alloc),
        }
    }

    /// A line event in the marking copy: the sampler now charges `line`.
    /// One store of a constant.
    #[inline(always)]
    pub fn mark(&self, line: u32) {
        // SAFETY: `entry` is in a leaked record.
        unsafe { (*self.entry).at.store(line, Relaxed) };
    }

    /// [`mark`](Self::mark) for a statement outside any loop: also keeps
    /// the optimiser from moving memory operations across the mark (no
    /// instruction). Inside loops such a fence would make every iteration
    /// reload the user's data; outside them it costs nothing, and it keeps
    /// a call's work (an allocation, a helper inlined into the function)
    /// on its own line.
    #[inline(always)]
    pub fn pin(&self, line: u32) {
        compiler_fence(SeqCst);
        self.mark(line);
        compiler_fence(SeqCst);
    }

    /// A line event in the counting copy: cell line `line` starts
    /// executing (a hit, an event, and the sampler's mark).
    #[inline(always)]
    pub fn line(&self, line: u32) {
        // SAFETY: the index is at most `len` and the table has `len + 1`
        // slots, alive for the whole process; `entry` is in a leaked record.
        unsafe {
            let s = &*self.slots.add(line.wrapping_sub(self.base).min(self.len) as usize);
            // Wrapping: a probe must never panic, whatever profile builds
            // it. Cells build without overflow checks (the kernel sets
            // release semantics), but a debug `cargo test`, or a user's
            // CARGO_PROFILE_DEV_OVERFLOW_CHECKS, turns them on.
            s.hits.store(s.hits.load(Relaxed).wrapping_add(1), Relaxed);
            let events = &(*self.record).events;
            let e = events.load(Relaxed);
            events.store(e.wrapping_add(1), Relaxed);
            self.close_line(e);
            if self.alloc.get().on() {
                let index = line.wrapping_sub(self.base).min(self.len);
                self.alloc.set(super::allocs::next_line(self.alloc.get(), &*self.last.get(), index));
            }
            self.last.set(s);
            self.start.set(e);
            (*self.entry).at.store(line, Relaxed);
        }
        // No fence: a compiler fence here made every probe reload the
        // frame and the user's data (measured 4× slower marked runs). The
        // optimiser may therefore move a line's work a few instructions
        // across its mark, and pure work (no memory access) further; it is
        // charged where it runs.
    }

    /// Counting run: the running line ends with the thread's event count
    /// at `now`; it ran `now - start` probe events, its callees' included.
    #[inline(always)]
    unsafe fn close_line(&self, now: u64) {
        // SAFETY (caller): `last` is a slot of this frame's table.
        let last = unsafe { &*self.last.get() };
        last.events.store(last.events.load(Relaxed).wrapping_add(now.wrapping_sub(self.start.get())), Relaxed);
    }

    /// A loop-header event: [`line`](Self::line), and a chance for a
    /// pending interrupt to stop the profiled code.
    #[inline(always)]
    pub fn header(&self, line: u32) {
        // SAFETY: the process's flag, which lives forever.
        if unsafe { (*self.interrupt).load(Relaxed) } {
            crate::interrupt::check();
        }
        self.line(line);
    }
}

/// What [`LpFrame::enter`] looks up for an active call.
struct Attached {
    slots: *const table::Slot,
    entry: *const sample::Entry,
    record: *const sample::Record,
    start: u64,
    interrupt: *const AtomicBool,
    alloc: super::allocs::Mark,
}

#[inline(never)]
fn attach(fn_id: u32, first: u32, len: u32, mode: u8) -> Attached {
    if mode != table::OFF {
        crate::interrupt::check();
    }
    let slots = table::slots(fn_id, len);
    let record = sample::thread();
    // Samples go to the slots' `samples`, `Slot` words apart; until the
    // first probe, to the sink (slot `len`).
    // SAFETY: the table has `len + 1` slots (see `table::slots`).
    let counters = unsafe { &(*slots).samples } as *const AtomicU64;
    let stride = (std::mem::size_of::<table::Slot>() / std::mem::size_of::<AtomicU64>()) as u32;
    let entry = record.push(counters, stride, first, len);
    // The call itself is one probe event (its cost lands in the caller's
    // line, which counts it among its own events).
    let start = record.events.load(Relaxed) + 1;
    if mode == table::COUNT {
        record.events.store(start, Relaxed);
    }
    let alloc = if mode == table::COUNT { super::allocs::open(fn_id) } else { super::allocs::Mark::OFF };
    Attached { slots, entry, record, start, interrupt: crate::interrupt::flag_ref(), alloc }
}

impl Drop for LpFrame {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: a leaked record.
        let record = unsafe { &*self.record };
        if self.count {
            // SAFETY: `last` is a slot of this frame's table.
            unsafe { self.close_line(record.events.load(Relaxed)) };
            if self.alloc.get().on() {
                // SAFETY: as above.
                super::allocs::close(self.alloc.get(), unsafe { &*self.last.get() });
            }
        }
        record.pop();
    }
}

/// A `for` loop's iterator that fires the header line on every check but
/// the first (the statement's own probe is the first), so the header gets
/// line_profiler's N+1 hits for N iterations, `continue` included.
#[derive(Debug)]
pub struct LpIter<'a, I, const MARK: bool = false> {
    inner: I,
    frame: &'a LpFrame,
    line: u32,
    started: bool,
}

impl<'a, I: Iterator> LpIter<'a, I> {
    /// Wraps `iter` (anything a `for` accepts), for the counting copy.
    #[inline]
    pub fn new<T: IntoIterator<IntoIter = I>>(frame: &'a LpFrame, line: u32, iter: T) -> Self {
        LpIter { inner: iter.into_iter(), frame, line, started: false }
    }

    /// The same for the marking copy: marks only, no interrupt check.
    #[inline]
    pub fn marks<T: IntoIterator<IntoIter = I>>(frame: &'a LpFrame, line: u32, iter: T) -> LpIter<'a, I, true> {
        LpIter { inner: iter.into_iter(), frame, line, started: false }
    }
}

impl<I: Iterator, const MARK: bool> Iterator for LpIter<'_, I, MARK> {
    type Item = I::Item;

    #[inline(always)]
    fn next(&mut self) -> Option<I::Item> {
        if self.started {
            if MARK {
                self.frame.mark(self.line);
            } else {
                self.frame.header(self.line);
            }
        }
        self.started = true;
        self.inner.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}
