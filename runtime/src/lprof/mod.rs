//! The line-profile recorder behind `%lprun`.
//!
//! `parlab-magics` re-defines the profiled functions with a probe per line
//! (`LpFrame::enter` at the top, `__lp.line(L)` before each statement, see
//! its `lprun/README.md`) and wraps the statement in [`lprun`], which
//! switches recording on, runs it, merges the threads' tables into a
//! [`LineProfile`] and shows the report.
//!
//! Cost model: a probe is one TSC read and two adds into this thread's
//! table (no lock, no atomic read-modify-write), about the price of the
//! clock read; its measured cost is subtracted per hit and printed under
//! the timer unit. Outside a session a probe is one branch. Deliberately
//! absent: line_profiler's second timer read per event (it would double
//! the cost; subtraction handles the same bias).

mod clock;
mod frame;
mod report;
mod stats;
mod table;

pub use frame::{LpFrame, LpIter};
pub use stats::{FunctionProfile, LineProfile, LineStat, ProfileFileError};

use crate::display::{display, MimeBundle};
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::OnceLock;

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
}

/// Cost of one probe in ticks: the best of several runs of an empty
/// probed loop, measured once per process.
fn probe_ticks() -> f64 {
    // Once per process, not per cell: each cell links its own copy of this
    // crate, and a calibration disturbed by a busy machine would make one
    // cell's report disagree with the next. The first measurement is kept
    // in the environment.
    const ENV: &str = "PARLAB_PROBE_TICKS";
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        if let Some(t) = std::env::var(ENV).ok().and_then(|v| v.parse::<f64>().ok()) {
            return t;
        }
        const N: u32 = 100_000;
        let slots: Vec<table::Slot> = (0..3).map(|_| table::Slot::default()).collect();
        // The best of many short runs: a run that a context switch or the
        // other hyper-thread disturbed only ever reads high.
        let ticks = (0..25)
            .map(|_| {
                let frame = LpFrame::detached(&slots);
                let t0 = clock::now();
                for i in 0..N {
                    frame.line(1 + (std::hint::black_box(i) & 1));
                }
                let t1 = clock::now();
                drop(frame);
                t1.wrapping_sub(t0) as f64 / N as f64
            })
            .fold(f64::INFINITY, f64::min);
        // SAFETY: called from the cell's thread while no other thread of the
        // runtime reads the environment (a profiled statement has not started).
        unsafe { std::env::set_var(ENV, ticks.to_string()) };
        ticks
    })
}

/// Runs `stmt` with recording on and returns what the probes of
/// `functions` saw; shows the report (and writes `-T`/`-D` files) first.
/// If `stmt` panics or is interrupted, the partial report is shown and the
/// panic resumes, so the cell still fails.
pub fn lprun<R>(functions: &[FnMeta], opts: LprunOptions, stmt: impl FnOnce() -> R) -> LineProfile {
    let (ns_per_tick, probe) = (clock::ns_per_tick(), probe_ticks());
    table::reset();
    table::ACTIVE.store(true, Relaxed);
    let outcome = catch_unwind(AssertUnwindSafe(stmt));
    table::ACTIVE.store(false, Relaxed);
    let raw = table::collect(&functions.iter().map(|f| f.lines.len()).collect::<Vec<_>>());
    let profile = LineProfile {
        output_unit: opts.unit,
        skip_zero: opts.skip_zero,
        probe_cost_ns: probe * ns_per_tick,
        functions: functions
            .iter()
            .zip(raw)
            .map(|(f, raw)| FunctionProfile {
                name: f.name.to_owned(),
                file: format!("<cell {}>", f.cell),
                first_line: f.first_line,
                lines: f
                    .lines
                    .iter()
                    .zip(raw)
                    .zip(f.first_line..)
                    .map(|((source, (hits, ticks)), line)| LineStat {
                        line,
                        source: (*source).to_owned(),
                        hits,
                        time: ((ticks as f64 - hits as f64 * probe).max(0.0) * ns_per_tick).round() as u64,
                    })
                    .collect(),
            })
            .collect(),
        ..LineProfile::default()
    };
    show(&profile, &opts);
    match outcome {
        Ok(value) => drop(value),
        Err(payload) => {
            if crate::interrupt::is_interrupt(&*payload) {
                println!("\n*** KeyboardInterrupt exception caught in code being profiled.");
            }
            resume_unwind(payload);
        }
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
