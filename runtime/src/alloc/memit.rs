//! `%memit`: memory_profiler's line from the process's RSS, and the exact
//! line from the counting allocator.

use super::{format_bytes, measure, rss, AllocStats};
use crate::display::MimeBundle;
use serde::{Deserialize, Serialize};

const MIB: f64 = 1024.0 * 1024.0;

/// Options of one `%memit` run. Generated code writes
/// `MemitOptions { repeat: 3, ..MemitOptions::DEFAULT }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemitOptions {
    /// Runs (`-r`), at least 1.
    pub repeat: u32,
    /// Print nothing (`-q`).
    pub quiet: bool,
}

impl MemitOptions {
    /// One run, printed.
    pub const DEFAULT: MemitOptions = MemitOptions { repeat: 1, quiet: false };
}

/// What `%memit -o` returns: memory_profiler's `MemitResult` fields (MiB)
/// and the allocator's counts of each run.
///
/// ```
/// use parlab::alloc::{AllocStats, MemitResult};
/// let r = MemitResult {
///     mem_usage: vec![102.31, 101.0],
///     baseline: 52.29,
///     allocs: vec![AllocStats { allocs: 1, bytes: 50 << 20, peak: 50 << 20, ..AllocStats::default() }; 2],
/// };
/// assert_eq!(r.to_string(), "peak memory: 102.31 MiB, increment: 50.02 MiB\n\
///     allocations: 1 (50.0 MiB), peak heap: 50.0 MiB above start, still live: 0 B");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemitResult {
    /// Peak resident memory of each run, MiB.
    pub mem_usage: Vec<f64>,
    /// Resident memory before the first run, MiB.
    pub baseline: f64,
    /// The allocator's counts of each run (empty outside the kernel).
    pub allocs: Vec<AllocStats>,
}

impl MemitResult {
    /// The largest peak over the runs, MiB.
    pub fn peak(&self) -> f64 {
        self.mem_usage.iter().copied().fold(0.0, f64::max)
    }

    /// `peak − baseline`, MiB.
    pub fn increment(&self) -> f64 {
        self.peak() - self.baseline
    }

    /// The run whose heap rose highest.
    pub fn largest(&self) -> Option<&AllocStats> {
        self.allocs.iter().max_by_key(|a| (a.peak, a.bytes))
    }

    /// The report `%memit` prints.
    pub fn report(&self) -> MimeBundle {
        let text = self.to_string();
        let html = text.lines().map(|l| format!("<div>{l}</div>")).collect::<String>();
        MimeBundle::text(text).with_html(format!("<div class=\"parlab-memit\">{html}</div>"))
    }

    /// Shows the result as a cell's value, as memory_profiler's
    /// `<MemitResult : …>`.
    pub fn evcxr_display(&self) {
        MimeBundle::text(format!("<MemitResult : {self}>")).evcxr_display();
    }
}

impl std::fmt::Display for MemitResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "peak memory: {:.2} MiB, increment: {:.2} MiB", self.peak(), self.increment())?;
        if let Some(a) = self.largest() {
            write!(
                f,
                "\nallocations: {} ({}), peak heap: {} above start, still live: {}",
                super::thousands(a.allocs),
                format_bytes(a.bytes as f64),
                format_bytes(a.peak as f64),
                format_bytes(a.live as f64),
            )?;
        }
        Ok(())
    }
}

/// Runs a `%memit`: `opts.repeat` runs of `f`, each with the RSS
/// high-water mark reset before it and the allocator's counts around it.
pub fn memit(opts: MemitOptions, mut f: impl FnMut()) -> MemitResult {
    let baseline = rss::rss_and_peak().map_or(0, |(rss, _)| rss);
    let mut mem_usage = Vec::new();
    let mut allocs = Vec::new();
    for _ in 0..opts.repeat.max(1) {
        crate::interrupt::check();
        rss::reset_peak();
        let ((), counts) = measure(&mut f);
        let peak = rss::rss_and_peak().map_or(0, |(_, peak)| peak);
        mem_usage.push(peak as f64 / MIB);
        allocs.extend(counts);
    }
    let result = MemitResult { mem_usage, baseline: baseline as f64 / MIB, allocs };
    if !opts.quiet {
        crate::display::display(result.report());
    }
    result
}
