//! Allocations per loop for `%timeit`: the counting allocator armed and
//! read when the timed part of a call starts ([`super::Run::start`],
//! after the setup) and when its loops end (the last [`super::Chunks`]
//! step), so the setup's allocations are not counted.
//!
//! Only one call of a `%timeit` is counted (see `harness::measure`): the
//! calibration's last call, or the last repeat when `-n` fixed the loops.
//! Every other call runs with the allocator idle, so the times reported
//! are not slowed by the counting (`alloc_armed_overhead_ratio` in
//! BENCHMARKS.md: counting costs an allocate + free pair a few ns).

use crate::alloc::{diff, AllocStats};
use std::cell::{Cell, RefCell};

thread_local! {
    static START: RefCell<Option<(parlab_alloc::Totals, parlab_alloc::Armed)>> = const { RefCell::new(None) };
    static SPAN: Cell<Option<AllocStats>> = const { Cell::new(None) };
}

/// Arms the allocator and notes its counts.
#[inline]
pub(crate) fn begin() {
    if let Some(api) = parlab_alloc::api() {
        // The output relay's allocations for earlier output stay out.
        parlab_child::settle_stdout();
        let armed = api.armed();
        START.set(Some(((api.totals)(), armed)));
    }
}

/// Reads the counts and disarms.
#[inline]
pub(crate) fn end() {
    if let (Some(api), Some((start, armed))) = (parlab_alloc::api(), START.take()) {
        SPAN.set(Some(diff(&start, &(api.totals)())));
        drop(armed);
    }
}

/// The counts of the last counted call on this thread, if any (and
/// disarms a call that did not end, as after a panic).
pub(crate) fn take() -> Option<AllocStats> {
    START.take();
    SPAN.take()
}
