//! Per-call probe state, on the stack of the instrumented function.
//!
//! line_profiler's attribution: on each line event, charge the time since
//! the previous event *of the same call* to the previous line and count it
//! as a hit; at exit (return, `?`, panic unwinding) charge the last line.
//! Keeping the state in the frame makes recursion and threads free: every
//! call, on whatever thread, has its own "last line" and timestamp.

use super::{clock, table};
use std::cell::Cell;
use std::sync::atomic::Ordering::Relaxed;

/// A running call of a profiled function (`let __lp = LpFrame::enter(…)`).
#[derive(Debug)]
pub struct LpFrame {
    /// This thread's slots for the function; null when no session runs.
    slots: *const table::Slot,
    /// Number of lines; slot `len` is the sink for "no line yet" and for
    /// out-of-range ids.
    len: u32,
    /// Cell line of slot 0.
    base: u32,
    last: Cell<u32>,
    t: Cell<u64>,
}

// SAFETY: the slots live for the whole process (tables are never freed)
// and are only touched through atomics, so a frame held across an `.await`
// may move to another thread.
unsafe impl Send for LpFrame {}

impl LpFrame {
    /// Starts a call of profiled function `fn_id` spanning cell lines
    /// `first..=last`. Inert (every probe a single branch) when no
    /// `lprun` session is active.
    #[inline]
    pub fn enter(fn_id: u32, first: u32, last: u32) -> LpFrame {
        let len = last.saturating_sub(first) + 1;
        if !table::ACTIVE.load(Relaxed) {
            return LpFrame { slots: std::ptr::null(), len, base: first, last: Cell::new(len), t: Cell::new(0) };
        }
        crate::interrupt::check();
        let slots = table::slots(fn_id, len);
        // The sink slot gets the time from here to the first probe.
        LpFrame { slots, len, base: first, last: Cell::new(len), t: Cell::new(clock::now()) }
    }

    /// A line event: cell line `line` starts executing.
    #[inline(always)]
    pub fn line(&self, line: u32) {
        if self.slots.is_null() {
            return;
        }
        let now = clock::now();
        self.charge(now);
        self.last.set(line.wrapping_sub(self.base).min(self.len));
        self.t.set(now);
    }

    /// A loop-header event: [`line`](Self::line), and a chance for a
    /// pending interrupt to stop the profiled code.
    #[inline(always)]
    pub fn header(&self, line: u32) {
        if !self.slots.is_null() {
            crate::interrupt::check();
        }
        self.line(line);
    }

    #[inline(always)]
    fn charge(&self, now: u64) {
        // SAFETY: `last <= len` and the table has `len + 1` slots (see
        // `table::slots`), alive for the whole process.
        let s = unsafe { &*self.slots.add(self.last.get() as usize) };
        // Wrapping: cells build with overflow checks, and a probe must
        // never panic (it may run inside `Drop` during unwinding).
        s.hits.store(s.hits.load(Relaxed).wrapping_add(1), Relaxed);
        s.ticks.store(s.ticks.load(Relaxed).wrapping_add(now.wrapping_sub(self.t.get())), Relaxed);
    }

    /// A frame writing into `slots` directly (probe-cost calibration).
    pub(crate) fn detached(slots: &[table::Slot]) -> LpFrame {
        let len = slots.len() as u32 - 1;
        LpFrame { slots: slots.as_ptr(), len, base: 1, last: Cell::new(len), t: Cell::new(clock::now()) }
    }
}

impl Drop for LpFrame {
    #[inline]
    fn drop(&mut self) {
        if !self.slots.is_null() {
            self.charge(clock::now());
        }
    }
}

/// A `for` loop's iterator that fires the header line on every check but
/// the first (the statement's own probe is the first), so the header gets
/// line_profiler's N+1 hits for N iterations, `continue` included.
#[derive(Debug)]
pub struct LpIter<'a, I> {
    inner: I,
    frame: &'a LpFrame,
    line: u32,
    started: bool,
}

impl<'a, I: Iterator> LpIter<'a, I> {
    /// Wraps `iter` (anything a `for` accepts).
    #[inline]
    pub fn new<T: IntoIterator<IntoIter = I>>(frame: &'a LpFrame, line: u32, iter: T) -> Self {
        LpIter { inner: iter.into_iter(), frame, line, started: false }
    }
}

impl<I: Iterator> Iterator for LpIter<'_, I> {
    type Item = I::Item;

    #[inline(always)]
    fn next(&mut self) -> Option<I::Item> {
        if self.started {
            self.frame.header(self.line);
        }
        self.started = true;
        self.inner.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}
