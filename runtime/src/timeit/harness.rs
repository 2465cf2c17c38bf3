//! The `%timeit` harness: autorange, repeats, interrupt checks.
//!
//! Generated code hands [`timeit`] a closure that runs the setup, then
//! times `run.loops()` iterations of the statement and returns the elapsed
//! time (see `parlab-magics`' `timeit/rewrite.rs`). The harness only
//! decides how many loops to ask for and collects the durations, so the
//! statistics and the autorange are pure functions of measured durations,
//! tested with fake closures.
//!
//! **Autorange** differs from IPython's on purpose. IPython times 1, 10,
//! 100, … loops until one call takes 0.2 s, throws those calls away and
//! then runs 7 repeats: a repeat lasts 0.2–2 s and a 20 ms statement costs
//! 15 s. Here short calibration calls grow geometrically until one lasts
//! ≥ [`CALIBRATION_TARGET`], the per-loop time is extrapolated, and the
//! loop count is the 1/2/5×10^k value nearest (in ratio) to a 0.2 s
//! repeat. A repeat thus lasts 0.13–0.32 s and a default run of anything
//! up to 0.3 s finishes within 2.5 s.

use super::result::TimeitResult;
use std::time::{Duration, Instant};

/// Which clock times the loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Clock {
    /// Wall time (`Instant`): the default, and `-t`.
    #[default]
    Wall,
    /// Process CPU time, user + system, all threads (`-c`, getrusage).
    Cpu,
}

/// Options of one `%timeit` run. Generated code writes
/// `TimeitOptions { loops: 10, ..TimeitOptions::DEFAULT }`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeitOptions {
    /// Loops per repeat; 0 chooses automatically (`-n`).
    pub loops: u64,
    /// Repeats (`-r`), at least 1.
    pub repeat: u32,
    /// Significant digits in reports (`-p`).
    pub precision: usize,
    /// Print nothing (`-q`).
    pub quiet: bool,
    /// The clock (`-t`, `-c`).
    pub clock: Clock,
    /// When the kernel received the cell (ns since the Unix epoch; 0 =
    /// unknown): the time until the run starts is reported as compile time.
    pub cell_started_unix_ns: u128,
    /// Also print the allocations per loop (`-a`).
    pub allocs: bool,
}

impl TimeitOptions {
    /// IPython's defaults: autorange, 7 repeats, 3 digits.
    pub const DEFAULT: TimeitOptions =
        TimeitOptions { loops: 0, repeat: 7, precision: 3, quiet: false, clock: Clock::Wall, cell_started_unix_ns: 0, allocs: false };
}

impl Default for TimeitOptions {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// One call of the timed closure: how many loops to run, in which chunks.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    loops: u64,
    /// Whether this call's allocations are counted (see `allocs`).
    count: bool,
    /// Loops between interrupt checks; 0 = unknown, probe with one loop.
    chunk: u64,
    clock: Clock,
}

impl Run {
    /// Loops to run in this call.
    pub fn loops(&self) -> u64 {
        self.loops
    }

    /// Starts the clock (after the setup).
    #[inline]
    pub fn start(&self) -> Timer {
        if self.count {
            super::allocs::begin();
        }
        Timer::start(self.clock)
    }

    /// Chunk sizes summing to [`Run::loops`]; each step checks for an
    /// interrupt, so a long repeat stops within about [`CHECK_EVERY`].
    #[inline]
    pub fn chunks(&self) -> Chunks {
        Chunks { left: self.loops, chunk: self.chunk, probe: None }
    }
}

/// Target time between two interrupt checks inside a repeat.
pub(crate) const CHECK_EVERY: Duration = Duration::from_millis(20);

/// Iterator of chunk sizes; see [`Run::chunks`].
#[derive(Debug)]
pub struct Chunks {
    left: u64,
    chunk: u64,
    probe: Option<Instant>,
}

impl Iterator for Chunks {
    type Item = u64;
    #[inline]
    fn next(&mut self) -> Option<u64> {
        crate::interrupt::check();
        if self.left == 0 {
            super::allocs::end();
            return None;
        }
        if let Some(start) = self.probe.take() {
            // The previous chunk was one probing loop: size chunks from it.
            self.chunk = chunk_for(start.elapsed().as_secs_f64());
        }
        if self.chunk == 0 {
            self.probe = Some(Instant::now());
            self.left -= 1;
            return Some(1);
        }
        let k = self.chunk.min(self.left);
        self.left -= k;
        Some(k)
    }
}

/// Loops per chunk for a per-loop time, so a chunk lasts ~[`CHECK_EVERY`].
fn chunk_for(per_loop: f64) -> u64 {
    if per_loop <= 0.0 || !per_loop.is_finite() {
        return 1 << 24;
    }
    ((CHECK_EVERY.as_secs_f64() / per_loop) as u64).clamp(1, 1 << 40)
}

/// A started clock.
#[derive(Debug, Clone, Copy)]
pub enum Timer {
    /// Wall clock.
    Wall(Instant),
    /// Process CPU time at the start.
    Cpu(Duration),
}

impl Timer {
    /// Reads the clock.
    #[inline]
    pub fn start(clock: Clock) -> Timer {
        match clock {
            Clock::Wall => Timer::Wall(Instant::now()),
            Clock::Cpu => Timer::Cpu(super::time::process_cpu()),
        }
    }

    /// Time since [`Timer::start`] on the same clock.
    #[inline]
    pub fn elapsed(&self) -> Duration {
        match self {
            Timer::Wall(t) => t.elapsed(),
            Timer::Cpu(t) => super::time::process_cpu().saturating_sub(*t),
        }
    }
}

/// Calibration stops once one call lasts this long.
pub(crate) const CALIBRATION_TARGET: Duration = Duration::from_millis(20);
/// The time one repeat aims at (IPython's 0.2 s).
pub(crate) const REPEAT_TARGET: f64 = 0.2;
/// Never calibrate or run more loops than this per call.
const MAX_LOOPS: u64 = 10_000_000_000;

/// The next calibration size after `n` loops took `t`, or `None` when `t`
/// is long enough to extrapolate from.
pub(crate) fn next_calibration(n: u64, t: Duration) -> Option<u64> {
    if t >= CALIBRATION_TARGET || n >= MAX_LOOPS {
        return None;
    }
    // Aim past the target (×1.5) but grow at most ×100 per step, so a
    // first call that happened to be fast cannot overshoot by much.
    let factor = if t.is_zero() { 100.0 } else { (1.5 * CALIBRATION_TARGET.as_secs_f64() / t.as_secs_f64()).clamp(2.0, 100.0) };
    Some(((n as f64 * factor).ceil() as u64).min(MAX_LOOPS))
}

/// Loops per repeat for a per-loop time: the 1/2/5×10^k value nearest in
/// ratio to [`REPEAT_TARGET`].
pub(crate) fn loops_for(per_loop: f64) -> u64 {
    if per_loop <= 0.0 || !per_loop.is_finite() {
        return MAX_LOOPS;
    }
    let ideal = REPEAT_TARGET / per_loop;
    if ideal <= 1.0 {
        return 1;
    }
    let mut best = 1u64;
    let mut k = 1u64;
    while k <= MAX_LOOPS {
        for m in [1, 2, 5] {
            let n = k * m;
            if (n as f64 / ideal).ln().abs() < (best as f64 / ideal).ln().abs() {
                best = n;
            }
        }
        k *= 10;
    }
    best.min(MAX_LOOPS)
}

/// Calibrates with `measure(n)` = seconds taken by `n` loops; returns the
/// loop count and the per-loop estimate.
pub(crate) fn autorange(mut measure: impl FnMut(u64) -> Duration) -> (u64, f64) {
    let mut n = 1;
    loop {
        let t = measure(n);
        match next_calibration(n, t) {
            Some(next) => n = next,
            None => {
                let per_loop = t.as_secs_f64() / n as f64;
                return (loops_for(per_loop), per_loop);
            }
        }
    }
}

/// Runs a `%timeit`: calibrates when `opts.loops` is 0, runs
/// `opts.repeat` repeats, prints the report unless `quiet`, and returns
/// the result. `f` runs the setup and returns the time of `run.loops()`
/// loops of the statement.
///
/// ```
/// use parlab::__private::{timeit, Run, TimeitOptions};
/// let opts = TimeitOptions { loops: 1000, repeat: 3, quiet: true, ..TimeitOptions::DEFAULT };
/// let r = timeit(opts, |run: Run| {
///     let t = run.start();
///     for k in run.chunks() {
///         for _ in 0..k { std::hint::black_box(1u64 + 1); }
///     }
///     t.elapsed()
/// });
/// assert_eq!((r.loops, r.repeat, r.all_runs.len()), (1000, 3, 3));
/// ```
pub fn timeit(opts: TimeitOptions, mut f: impl FnMut(Run) -> Duration) -> TimeitResult {
    let compile_time = super::time::compile_time(opts.cell_started_unix_ns);
    let result = measure(&opts, compile_time, &mut f);
    if !opts.quiet {
        crate::display::display(result.report_with(opts.allocs));
    }
    result
}

/// [`timeit`] without the printing.
pub(crate) fn measure(opts: &TimeitOptions, compile_time: f64, f: &mut impl FnMut(Run) -> Duration) -> TimeitResult {
    let clock = opts.clock;
    // The allocator is armed for one call only, the calibration's last
    // (each calibration call is counted; the last count stays) or, with
    // `-n`, the last repeat: the other repeats run with it idle, so the
    // times are the statement's own. `(loops, span)` of that call.
    super::allocs::take();
    struct Disarm;
    impl Drop for Disarm {
        fn drop(&mut self) {
            super::allocs::take();
        }
    }
    let _disarm_on_unwind = Disarm;
    let mut counted = None;
    let (loops, mut per_loop) = if opts.loops == 0 {
        let mut last = 0;
        let calibrated = autorange(|n| {
            crate::interrupt::check();
            last = n;
            f(Run { loops: n, chunk: n, clock, count: true })
        });
        counted = super::allocs::take().map(|a| (last, a));
        calibrated
    } else {
        (opts.loops, 0.0)
    };
    let repeat = opts.repeat.max(1);
    let mut all_runs = Vec::with_capacity(repeat as usize);
    let mut cpu_runs = Vec::with_capacity(repeat as usize);
    for i in 0..repeat {
        crate::interrupt::check();
        let chunk = if per_loop > 0.0 { chunk_for(per_loop) } else { 0 };
        let count = counted.is_none() && i == repeat - 1;
        // Outside the timed loop (getrusage costs ~1 µs): `compare` uses it
        // to tell how many threads the statement kept busy.
        let cpu = super::time::process_cpu();
        let t = f(Run { loops, chunk, clock, count }).as_secs_f64();
        cpu_runs.push(super::time::process_cpu().saturating_sub(cpu).as_secs_f64());
        if count {
            counted = super::allocs::take().map(|a| (loops, a));
        }
        if t > 0.0 {
            per_loop = t / loops as f64;
        }
        all_runs.push(t);
    }
    let mut result = TimeitResult { cpu_runs, ..TimeitResult::new(loops, all_runs, compile_time, opts.precision) };
    if let Some((n, a)) = counted.filter(|(n, _)| *n > 0) {
        result.allocs_per_loop = Some(a.allocs as f64 / n as f64);
        result.bytes_per_loop = Some(a.bytes as f64 / n as f64);
    }
    result
}

#[cfg(test)]
mod tests;
