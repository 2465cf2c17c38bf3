//! `%mprun`'s accounting: the counting allocator read at line events.
//!
//! `%mprun` runs the statement once with the *counting* copies of the
//! profiled functions (the probes `%lprun` counts Hits with), and with
//! [`ACTIVE`] set, each frame carries a [`Mark`]: the allocator's counts
//! when its running line started. When the line ends (the next line
//! event of the same call, or the call's return or unwinding), the
//! difference goes to the line's slot, callees included, as line_profiler
//! charges time:
//!
//! - `allocs`, `bytes`: what was allocated while the line ran. On the
//!   statement's own thread these are the process's totals (every
//!   thread's counter block summed, a walk of a short list), so the work a
//!   line hands to a `Pool` or to rayon counts on that line; on other
//!   threads (a braced closure run by a worker) the thread's own counts.
//! - `peak`: the most heap the line held above its level at its start, on
//!   its thread: the thread's high-water mark is reset at each line start
//!   and the outer line's mark is put back at its end.
//! - Net: requested bytes of the blocks the line allocated (on its
//!   thread, callees included) that are still allocated when the
//!   statement ends, wherever they were freed. While a line runs, its
//!   thread's `Counters::tag` names it; `%mprun` has the allocator track
//!   (`parlab_alloc::Api::track_begin`): each new tagged block is entered
//!   in a side table with its tag and size, each freed block leaves it,
//!   and at the end the table is summed per tag (`parlab_alloc::Api::net`).
//!   A generation per `%mprun` keeps blocks of an earlier run out.
//!
//! Outside `%mprun` a frame's mark is [`Mark::OFF`] and each probe pays one
//! predictable branch.

use parlab_alloc::Counters;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, Ordering::Relaxed};

/// The current `%mprun`'s tag generation (high 16 bits of its tags).
pub(crate) static GENERATION: AtomicU32 = AtomicU32::new(0);

/// Lines per function and functions that get a Net tag.
const TAG_LINES: u32 = 1024;
const TAG_FUNCTIONS: u32 = 63;

/// The tag of line `index` of function `fn_id` (0: untagged).
pub(crate) fn tag(fn_id: u32, index: u32) -> u32 {
    if fn_id < TAG_FUNCTIONS && index < TAG_LINES {
        GENERATION.load(Relaxed) << 16 | (1 + fn_id * TAG_LINES + index)
    } else {
        0
    }
}

/// Set while `%mprun`'s statement runs.
pub(crate) static ACTIVE: AtomicBool = AtomicBool::new(false);
/// The counter block of the thread that runs the statement.
pub(crate) static STATEMENT_THREAD: AtomicPtr<Counters> = AtomicPtr::new(std::ptr::null_mut());

/// The counts when a frame's running line started.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mark {
    counters: *const Counters,
    global: bool,
    allocs: u64,
    bytes: u64,
    /// This thread's `live` at the line's start.
    level: i64,
    /// The outer line's high-water mark, put back when this line ends.
    outer_peak: i64,
    fn_id: u32,
    /// The outer line's tag, put back when this line ends.
    outer_tag: u32,
}

impl Mark {
    pub(crate) const OFF: Mark =
        Mark { counters: std::ptr::null(), global: false, allocs: 0, bytes: 0, level: 0, outer_peak: 0, fn_id: 0, outer_tag: 0 };

    #[inline(always)]
    pub(crate) fn on(&self) -> bool {
        !self.counters.is_null()
    }
}

fn counts(c: &Counters, global: bool) -> (u64, u64, i64) {
    if global {
        if let Some(api) = parlab_alloc::api() {
            let t = (api.totals)();
            return (t.allocs, t.bytes, t.live);
        }
    }
    (c.allocs.load(Relaxed), c.bytes.load(Relaxed), c.live.load(Relaxed))
}

/// Line `index` (`None`: the frame's "no line yet" part, untagged) of
/// function `fn_id` starts at the counts `now`.
fn start(c: &'static Counters, global: bool, now: (u64, u64, i64), fn_id: u32, index: Option<u32>) -> Mark {
    let outer_peak = c.reset_peak();
    let outer_tag = c.tag.load(Relaxed);
    c.tag.store(index.map_or(0, |i| tag(fn_id, i)), Relaxed);
    let (allocs, bytes, _) = now;
    Mark { counters: c, global, allocs, bytes, level: c.live.load(Relaxed), outer_peak, fn_id, outer_tag }
}

/// A frame's first mark (its "no line yet" part), or [`Mark::OFF`].
pub(crate) fn open(fn_id: u32) -> Mark {
    if !ACTIVE.load(Relaxed) {
        return Mark::OFF;
    }
    let Some(api) = parlab_alloc::api() else { return Mark::OFF };
    let c = (api.thread)();
    let global = std::ptr::eq(c, STATEMENT_THREAD.load(Relaxed));
    start(c, global, counts(c, global), fn_id, None)
}

/// Charges the line that ends to `slot`.
#[inline(never)]
pub(crate) fn close(m: Mark, slot: &super::table::Slot) {
    // SAFETY: counter blocks are never freed.
    charge(m, slot, counts(unsafe { &*m.counters }, m.global));
}

/// Charges the line that ends at the counts `now` to `slot`.
fn charge(m: Mark, slot: &super::table::Slot, now: (u64, u64, i64)) {
    // SAFETY: counter blocks are never freed.
    let c = unsafe { &*m.counters };
    let (allocs, bytes, _) = now;
    let add = |a: &std::sync::atomic::AtomicU64, by: u64| a.store(a.load(Relaxed).wrapping_add(by), Relaxed);
    add(&slot.allocs, allocs - m.allocs);
    add(&slot.bytes, bytes - m.bytes);
    let peak = (c.peak.load(Relaxed) - m.level).max(0) as u64;
    if peak > slot.peak.load(Relaxed) {
        slot.peak.store(peak, Relaxed);
    }
    c.restore_peak(m.outer_peak);
    c.tag.store(m.outer_tag, Relaxed);
}

/// Ends the running line (charged to `slot`) and starts line `index`.
#[inline(never)]
pub(crate) fn next_line(m: Mark, slot: &super::table::Slot, index: u32) -> Mark {
    // SAFETY: as in `close`.
    let c = unsafe { &*m.counters };
    // One read of the counts ends a line and starts the next.
    let now = counts(c, m.global);
    charge(m, slot, now);
    start(c, m.global, now, m.fn_id, Some(index))
}
