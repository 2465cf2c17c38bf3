//! Allocations per loop for `%timeit`: the counting allocator read when
//! the timed part of a call starts ([`super::Run::start`], after the
//! setup) and when its loops end (the last [`super::Chunks`] step), so
//! the setup's allocations are not counted. Two reads per repeat (a walk
//! over the threads' counter blocks), against a repeat of 0.1 s or more.

use crate::alloc::{diff, AllocStats};
use std::cell::Cell;

thread_local! {
    static START: Cell<Option<parlab_alloc::Totals>> = const { Cell::new(None) };
    static SPAN: Cell<Option<AllocStats>> = const { Cell::new(None) };
}

#[inline]
pub(crate) fn begin() {
    if let Some(api) = parlab_alloc::api() {
        START.set(Some((api.totals)()));
    }
}

#[inline]
pub(crate) fn end() {
    if let (Some(api), Some(start)) = (parlab_alloc::api(), START.take()) {
        SPAN.set(Some(diff(&start, &(api.totals)())));
    }
}

/// The counts of the last timed part on this thread, if any.
pub(crate) fn take() -> Option<AllocStats> {
    START.take();
    SPAN.take()
}
