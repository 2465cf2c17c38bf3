//! Allocation counts of a piece of code: [`measure`], and what `%memit`,
//! `%timeit -a` and `%mprun` read.
//!
//! The counts come from the kernel's counting allocator (crate
//! `parlab-alloc`): every `malloc`, `realloc` and `free` of the evaluation
//! process, on every thread, counted exactly while a reader such as
//! [`measure`] arms it (idle, every call is glibc's own: arming switches
//! the callers' GOT slots to the counting functions, tens of µs).
//! Outside the kernel (a plain
//! program linking `parlab`) there is no counter, and [`measure`] returns
//! `None`.
//!
//! ```
//! let (v, stats) = parlab::alloc::measure(|| {
//!     let mut total = 0;
//!     for _ in 0..10 {
//!         total += std::hint::black_box(Vec::<u64>::with_capacity(1000)).capacity();
//!     }
//!     total
//! });
//! assert_eq!(v, 10_000);
//! # // doc-tests link the counting allocator (a dev-dependency), like the kernel.
//! let stats = stats.expect("counting allocator");
//! assert_eq!((stats.allocs, stats.bytes), (10, 80_000));
//! assert_eq!(stats.live, 0);
//! ```

use serde::{Deserialize, Serialize};

mod memit;
#[doc(hidden)]
pub mod rss;

pub(crate) use crate::timeit::thousands;

pub use memit::{memit, MemitOptions, MemitResult};

/// What a piece of code allocated, over all threads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocStats {
    /// Blocks handed out (`malloc`, `calloc`, aligned forms, `realloc`).
    pub allocs: u64,
    /// Of `allocs`, how many were reallocations (a `Vec` that grew).
    pub reallocs: u64,
    /// Blocks given back.
    pub frees: u64,
    /// Bytes requested (a reallocation counts its new size).
    pub bytes: u64,
    /// The most heap held above the level at the start, in usable bytes
    /// (glibc's `malloc_usable_size`: 8,008 for an 8,000-byte `Vec`, what
    /// the allocator can know at `free`). Exact for code on one thread; over several threads, the sum of each thread's own
    /// high-water mark (an upper bound: their peaks need not coincide).
    pub peak: u64,
    /// Usable bytes allocated and not freed by the end (negative if the
    /// code freed more than it allocated).
    pub live: i64,
}

/// Whether this process counts allocations (true in the kernel).
pub fn counting() -> bool {
    parlab_alloc::api().is_some()
}

/// Runs `f` once and returns its value with what it allocated (all
/// threads, `f`'s workers included), or `None` outside the kernel.
pub fn measure<R>(f: impl FnOnce() -> R) -> (R, Option<AllocStats>) {
    let Some(api) = parlab_alloc::api() else { return (f(), None) };
    // Counting is on for this span only (spans nest, on any threads), and
    // the output relay's allocations for earlier output stay out of it.
    parlab_child::settle_stdout();
    let _armed = api.armed();
    (api.reset_peaks)();
    let before = (api.totals)();
    let value = f();
    let after = (api.totals)();
    (value, Some(diff(&before, &after)))
}

/// The counts between two snapshots (the peak is `after`'s).
pub(crate) fn diff(before: &parlab_alloc::Totals, after: &parlab_alloc::Totals) -> AllocStats {
    AllocStats {
        allocs: after.allocs - before.allocs,
        reallocs: after.reallocs - before.reallocs,
        frees: after.frees - before.frees,
        bytes: after.bytes - before.bytes,
        peak: after.peak_above.max(0) as u64,
        live: after.live - before.live,
    }
}

/// Bytes the way `%memit` and `%timeit -a` print them: `160 B`,
/// `78.1 KiB`, `50.0 MiB`.
pub fn format_bytes(bytes: f64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes.abs() < 1024.0 {
        return format!("{} B", bytes.round());
    }
    let mut v = bytes / 1024.0;
    let mut unit = UNITS[0];
    for u in &UNITS[1..] {
        if v.abs() < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = u;
    }
    format!("{v:.1} {unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_format_in_binary_units() {
        assert_eq!(format_bytes(160.0), "160 B");
        assert_eq!(format_bytes(80_000.0), "78.1 KiB");
        assert_eq!(format_bytes((50 << 20) as f64), "50.0 MiB");
    }
}
