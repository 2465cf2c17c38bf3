//! `%%lprun`: the cell body's own lines, profiled like a function.
//!
//! The body must run once, at top level, so that what it defines stays
//! defined (as `%%time`): it cannot be wrapped in a closure and repeated.
//! Its probes reach a frame kept here ([`lp_cell`]) instead of a local
//! `__lp`, [`lprun_cell_start`] opens the session before the body's first
//! line and [`lprun_cell_finish`] closes it after the last (and again, as
//! a step that always runs, after a panic or an interrupt: then it shows
//! the partial profile). One run: the times come from that run's samples
//! and its wall time, so they include the counting probes' cost; the
//! report says so.

use super::{build, frame::LpFrame, show, table, FnMeta, LprunOptions, Timing};
use crate::sample;
use std::sync::atomic::{AtomicPtr, Ordering::Relaxed};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

struct Open {
    functions: &'static [FnMeta],
    opts: LprunOptions,
    started: Instant,
    record: &'static sample::Record,
}

static OPEN: Mutex<Option<Open>> = Mutex::new(None);
static FRAME: AtomicPtr<LpFrame> = AtomicPtr::new(std::ptr::null_mut());

struct Inert(LpFrame);
// SAFETY: an inert frame has only null pointers and is never written.
unsafe impl Sync for Inert {}
unsafe impl Send for Inert {}

/// The frame the cell body's probes use (a detached one outside a session).
#[inline]
pub fn lp_cell() -> &'static LpFrame {
    // SAFETY: set by `lprun_cell_start` to a boxed frame that is freed only
    // after it is swapped out here again, by `lprun_cell_finish`, on the
    // cell's thread after the body's last probe.
    match unsafe { FRAME.load(Relaxed).as_ref() } {
        Some(frame) => frame,
        None => {
            static INERT: OnceLock<Inert> = OnceLock::new();
            &INERT.get_or_init(|| Inert(LpFrame::enter(0, 0, 0))).0
        }
    }
}

/// Opens a `%%lprun` session; the cell body is the last of `functions`.
pub fn lprun_cell_start(functions: &'static [FnMeta], opts: LprunOptions) {
    lprun_cell_finish();
    table::reset(true);
    sample::start(opts.sampling.period);
    let record = sample::thread();
    record.keep_armed(true);
    record.reset_samples();
    table::MODE.store(table::COUNT, Relaxed);
    if let Some(body) = functions.last() {
        let id = functions.len() as u32 - 1;
        let frame = LpFrame::enter(id, body.first_line, body.first_line + body.lines.len().saturating_sub(1) as u32);
        FRAME.store(Box::into_raw(Box::new(frame)), Relaxed);
    }
    *OPEN.lock().unwrap_or_else(|e| e.into_inner()) = Some(Open { functions, opts, started: Instant::now(), record });
    // A top-level body has no place that runs on unwinding: the panic hook
    // shows the partial profile (as `%%time` prints its times).
    parlab_child::before_next_panic(Some(lprun_cell_finish));
}

/// Closes the session after the body's last line and passes the cell's
/// value through by reference (so a variable shown as the value is not
/// moved).
pub fn lprun_cell_end<T: ?Sized>(value: &T) -> &T {
    parlab_child::before_next_panic(None);
    lprun_cell_finish();
    value
}

/// Closes the session, if one is open, and shows its report.
pub fn lprun_cell_finish() {
    let Some(open) = OPEN.lock().unwrap_or_else(|e| e.into_inner()).take() else { return };
    let wall = open.started.elapsed();
    let frame = FRAME.swap(std::ptr::null_mut(), Relaxed);
    if !frame.is_null() {
        // SAFETY: from `Box::into_raw` in `lprun_cell_start`.
        drop(unsafe { Box::from_raw(frame) });
    }
    table::MODE.store(table::OFF, Relaxed);
    sample::stop();
    open.record.keep_armed(false);
    let clock = open.record.samples();
    let lines: Vec<usize> = open.functions.iter().map(|f| f.lines.len()).collect();
    let raw = table::collect_timed(&lines, Some(open.record));
    let samples = super::charged(&raw);
    let hz = 1e9 / open.opts.sampling.period.as_nanos() as f64;
    let ns = if clock == 0 { 0.0 } else { wall.as_nanos() as f64 / clock as f64 };
    let timing = Timing { hz, runs: 1, samples: clock, ns_per_sample: ns, ns_per_cpu_ns: 1.0, ..Timing::default() };
    show(&build(open.functions, &open.opts, &raw, &samples, timing), &open.opts);
}
