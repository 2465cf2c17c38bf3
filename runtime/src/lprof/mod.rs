//! The line-profile recorder behind `%lprun` and `%%lprun`.
//!
//! `parlab-magics` re-defines the profiled functions with a probe per line
//! (`LpFrame::enter` at the top, `__lp.line(L)` before each statement, see
//! its `lprun/README.md`) next to their original body, and wraps the
//! statement in [`lprun`], which records, merges the threads' tables into a
//! [`LineProfile`] and shows the report.
//!
//! How a statement is measured (issue 12):
//! 1. **Hits**: one run with counting probes; Hits are this run's, exactly
//!    line_profiler's.
//! 2. **Duration**: runs of the *original* code (probes off, sampler off),
//!    best of as many as fit in 0.3 s, as `%timeit` would time it.
//! 3. **Where the time goes**: more runs with marking probes under the
//!    [sampler](crate::sample) until the statement's thread has taken
//!    [`Sampling::min_samples`] signals (or [`Sampling::budget`] is spent).
//!
//! A line's time per run is then its samples × (duration / samples per run
//! of the statement's thread). Nothing is subtracted: the probes' cost only
//! stretches the sampled runs, and the ratio of samples cancels it (to the
//! extent the probes slow every line alike). Measured on the 2-core VM
//! (`bench_lprun`): see BENCHMARKS.md. Like `%timeit`, the statement runs
//! several times; a statement that takes 0.5 s or more skips step 2 (its
//! duration then includes the probes, and the report says so).

mod allocs;
mod cell;
mod frame;
mod mprun;
mod report;
mod stats;
mod table;

pub use cell::{lp_cell, lprun_cell_end, lprun_cell_finish, lprun_cell_start};
pub use frame::{LpFrame, LpIter};
pub use mprun::{mprun, AllocLine, AllocProfile, FunctionAllocs, MprunOptions};
pub use stats::{FunctionProfile, LineProfile, LineStat, ProfileFileError, Timing};

use crate::display::{display, MimeBundle};
use crate::sample;
use std::any::Any;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

/// A profiled function as the generated code describes it; its index in
/// the slice given to [`lprun`] is its probes' `fn_id`.
#[derive(Debug, Clone, Copy)]
pub struct FnMeta {
    /// `distance`, `Point::norm`.
    pub name: &'static str,
    /// Execution count of the defining cell.
    pub cell: u32,
    /// Cell line of the signature.
    pub first_line: u32,
    /// The source lines from the signature to the closing brace.
    pub lines: &'static [&'static str],
}

/// `%lprun` options that affect recording and output.
#[derive(Debug, Clone, Copy, Default)]
pub struct LprunOptions {
    /// `-u SECS`.
    pub unit: Option<f64>,
    /// `-z`/`-s`.
    pub skip_zero: bool,
    /// `-T FILE`.
    pub text_file: Option<&'static str>,
    /// `-D FILE`.
    pub dump_file: Option<&'static str>,
    /// How long and how densely to sample (not a magic option).
    pub sampling: Sampling,
}

/// The sampler's settings for one `lprun`.
#[derive(Debug, Clone, Copy)]
pub struct Sampling {
    /// Between two signals on a thread (default 250 µs: 4,000 Hz).
    pub period: Duration,
    /// Stop the sampled runs once the statement's thread took this many
    /// signals (default 4,000: a line's share is then known within ±1.6
    /// percentage points at 95 %, per-hit time of a 5 % line within ±14 %).
    pub min_samples: u64,
    /// ... or once the sampled runs took this long (default 2 s).
    pub budget: Duration,
}

impl Default for Sampling {
    fn default() -> Self {
        Sampling { period: sample::DEFAULT_PERIOD, min_samples: 4000, budget: Duration::from_secs(2) }
    }
}

/// Longest statement whose duration is also measured on the original code:
/// those runs have no probes, so no interrupt check, and the kernel gives
/// a cell 1.2 s to stop cooperatively.
const PLAIN_RUN_LIMIT: Duration = Duration::from_millis(500);
/// Time spent on plain runs (best of those).
const PLAIN_BUDGET: Duration = Duration::from_millis(300);

/// Largest believable cost of one mark (see `time_runs`).
const MAX_PROBE_NS: f64 = 1.0;

type Payload = Box<dyn Any + Send>;

fn run_caught<R>(stmt: &mut impl FnMut() -> R) -> Result<(), Payload> {
    catch_unwind(AssertUnwindSafe(|| {
        crate::interrupt::check();
        drop(stmt())
    }))
}

/// Runs `body` with probes in `mode` and the sampler on; returns its
/// result, its wall time and the samples the calling thread took.
fn sampled<T>(mode: u8, sampling: &Sampling, body: impl FnOnce(&sample::Record) -> T) -> (T, Duration, u64) {
    sample::start(sampling.period);
    let me = sample::thread();
    me.keep_armed(true);
    me.reset_samples();
    table::MODE.store(mode, Relaxed);
    let t = Instant::now();
    let out = body(me);
    let wall = t.elapsed();
    table::MODE.store(table::OFF, Relaxed);
    sample::stop();
    me.keep_armed(false);
    (out, wall, me.samples())
}

/// Runs `stmt` under the profiler (see the module doc: one counting run,
/// plain runs, sampled runs) and returns what the probes of `functions`
/// saw; shows the report (and writes `-T`/`-D` files) first. If `stmt`
/// panics or is interrupted, the partial report is shown and the panic
/// resumes, so the cell still fails.
pub fn lprun<R>(functions: &[FnMeta], opts: LprunOptions, mut stmt: impl FnMut() -> R) -> LineProfile {
    let sampling = opts.sampling;
    table::reset(true);
    let (outcome, wall, clock) = sampled(table::COUNT, &sampling, |_| run_caught(&mut stmt));
    let lines: Vec<usize> = functions.iter().map(|f| f.lines.len()).collect();
    let me = sample::thread();
    let first = table::collect_timed(&lines, Some(me));
    let busiest = table::busiest_thread_events();
    let hz = 1e9 / sampling.period.as_nanos() as f64;
    let mut timing = Timing { hz, runs: 1, samples: clock, ns_per_sample: per_sample(wall, clock), ns_per_cpu_ns: 1.0, ..Timing::default() };
    let mut samples = charged(&first);
    let mut failure = outcome.err();
    // A statement that ran for PLAIN_RUN_LIMIT or more keeps the counting
    // run's samples: repeating it would be slow, and its plain and marked
    // runs could not be interrupted within the kernel's grace period.
    if failure.is_none() && wall < PLAIN_RUN_LIMIT {
        match time_runs(&mut stmt, &sampling, busiest) {
            Ok(t) => {
                timing = Timing { hz, ..t };
                samples = charged(&table::collect_timed(&lines, Some(me)));
            }
            Err(payload) => failure = Some(payload),
        }
    }
    let profile = build(functions, &opts, &first, &samples, timing);
    finish(profile, &opts, failure)
}

/// Nanoseconds of one run per sample: one run lasts `run`, and the
/// statement's thread took `samples` signals over all the sampled runs, so
/// a line's time per run is its samples × `run` / `samples` (see the
/// module doc).
fn per_sample(run: Duration, samples: u64) -> f64 {
    if samples == 0 { 0.0 } else { run.as_nanos() as f64 / samples as f64 }
}

/// Best time of one run with probes in `mode` and no sampler, over as many
/// runs as fit in [`PLAIN_BUDGET`].
fn best_of<R>(mode: u8, stmt: &mut impl FnMut() -> R) -> Result<(Duration, u64), Payload> {
    table::MODE.store(mode, Relaxed);
    let (t0, mut best, mut n) = (Instant::now(), Duration::MAX, 0u64);
    let mut outcome = Ok(());
    while n == 0 || (t0.elapsed() < PLAIN_BUDGET && n < 100_000) {
        let t = Instant::now();
        outcome = run_caught(stmt);
        if outcome.is_err() {
            break;
        }
        best = best.min(t.elapsed());
        n += 1;
    }
    table::MODE.store(table::OFF, Relaxed);
    outcome.map(|()| (best, n))
}

/// Steps 2 and 3: the duration of one plain run and of one run with
/// marking probes (both without the sampler), then the sampled runs.
///
/// The marks cost something per probe event, and that cost lands in the
/// lines that have the most events: in `distance()`, whose inner lines take
/// 0.3 ns, the marked runs took 4× the plain one, which shrank the
/// 15 µs `random_matrix` line to a fifth of its share. So each line's
/// sampled time loses `probe_ns` × the probe events that ran inside it
/// (counted in the first run, callees included), where `probe_ns` is the
/// measured difference between marked and plain runs over the events of
/// the busiest thread. The total then equals the plain run.
fn time_runs<R>(stmt: &mut impl FnMut() -> R, sampling: &Sampling, busiest: u64) -> Result<Timing, Payload> {
    let (plain, plain_runs) = best_of(table::OFF, stmt)?;
    let (marked, _) = best_of(table::MARK, stmt)?;
    table::reset(false);
    let (result, _, clock) = sampled(table::MARK, sampling, |me| -> Result<(u64, Duration), Payload> {
        let (t0, mut best, mut runs) = (Instant::now(), Duration::MAX, 0u64);
        while runs == 0 || (me.samples() < sampling.min_samples && t0.elapsed() < sampling.budget) {
            let t = Instant::now();
            run_caught(stmt)?;
            best = best.min(t.elapsed());
            runs += 1;
        }
        Ok((runs, best))
    });
    let (runs, _) = result?;
    let extra = marked.saturating_sub(plain).as_nanos() as f64;
    // A mark is one store of a constant: 0.14 ns per event on `distance()`
    // (measured). A larger figure is the noise of two wall times on a busy
    // machine, most of all when threads share the cores, and subtracting
    // it would wipe out lines; it is capped.
    let probe_ns = if busiest == 0 { 0.0 } else { (extra / busiest as f64).min(MAX_PROBE_NS) };
    // Other threads' lines are charged their CPU time over all the runs
    // (the sampler's own cost already taken out, see `sample`).
    let ns_per_cpu_ns = 1.0 / runs as f64;
    Ok(Timing { hz: 0.0, runs, samples: clock, ns_per_sample: per_sample(marked, clock), probe_ns, plain_runs, ns_per_cpu_ns, other_threads: false })
}

/// What the sampler charged each line: (the clock thread's samples, the
/// other threads' CPU nanoseconds).
fn charged(counts: &[Vec<table::Counts>]) -> Vec<Vec<(u64, u64)>> {
    counts.iter().map(|f| f.iter().map(|l| (l.samples, l.cpu_ns)).collect()).collect()
}

/// The profile of `functions` from per-line counts (hits and events from
/// the counting run) and what the sampler charged (see [`charged`]).
fn build(functions: &[FnMeta], opts: &LprunOptions, counts: &[Vec<table::Counts>], samples: &[Vec<(u64, u64)>], mut timing: Timing) -> LineProfile {
    let period_ns = 1e9 / timing.hz.max(1e-9);
    timing.other_threads = samples.iter().flatten().any(|&(_, cpu_ns)| cpu_ns > 0);
    LineProfile {
        output_unit: opts.unit,
        skip_zero: opts.skip_zero,
        functions: functions
            .iter()
            .zip(counts.iter().zip(samples))
            .map(|(f, (counts, samples))| FunctionProfile {
                name: f.name.to_owned(),
                file: format!("<cell {}>", f.cell),
                first_line: f.first_line,
                lines: f
                    .lines
                    .iter()
                    .zip(counts.iter().zip(samples))
                    .zip(f.first_line..)
                    .map(|((source, (c, &(clock, cpu_ns))), line)| LineStat {
                        line,
                        source: (*source).to_owned(),
                        hits: c.hits,
                        time: timing.line_ns(clock, cpu_ns, c.events).round() as u64,
                        // Other threads' signals, about one per period of CPU.
                        samples: clock + (cpu_ns as f64 / period_ns).round() as u64,
                    })
                    .collect(),
            })
            .collect(),
        timing,
        ..LineProfile::default()
    }
}

/// Shows `profile`, then resumes `failure` (after line_profiler's
/// KeyboardInterrupt line if it is an interrupt).
fn finish(profile: LineProfile, opts: &LprunOptions, failure: Option<Payload>) -> LineProfile {
    show(&profile, opts);
    if let Some(payload) = failure {
        if crate::interrupt::is_interrupt(&*payload) {
            println!("\n*** KeyboardInterrupt exception caught in code being profiled.");
        }
        resume_unwind(payload);
    }
    profile
}

fn show(profile: &LineProfile, opts: &LprunOptions) {
    let text = profile.to_text();
    display(MimeBundle::text(text.clone()).with_html(profile.to_html()));
    if let Some(path) = opts.dump_file {
        match profile.save(path) {
            Ok(()) => println!("\n*** Profile stats pickled to file '{path}'."),
            Err(e) => eprintln!("{e}"),
        }
    }
    if let Some(path) = opts.text_file {
        match std::fs::write(path, &text) {
            Ok(()) => println!("\n*** Profile printout saved to text file '{path}'."),
            Err(e) => eprintln!("cannot write {path:?}: {e}"),
        }
    }
}
