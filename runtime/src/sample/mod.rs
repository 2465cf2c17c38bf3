//! A per-thread sampling engine: timer signals that charge "what this
//! thread is doing now" to counters the running code names.
//!
//! Each thread that takes part has a [`Record`] with a small *stack of
//! counters*. Instrumented code pushes an [`Entry`] when a profiled call
//! starts (an array of counters: one per line), stores the line it is on
//! into it (one relaxed store of a constant, no timestamp, no fence) and
//! pops it at return.
//! A timer signal then adds to every counter on the interrupted thread's
//! stack, and to the thread's own total: one sample on the thread that is
//! the statement's clock ([`Record::keep_armed`]), the CPU nanoseconds the
//! thread used since its previous signal on every other thread (see the
//! handler for why). `%lprun` points the entries at per-line counters.
//!
//! `%prun` uses the same handler in a second mode, [`stacks`]: timers on
//! each thread's CPU-time clock whose signal records the thread's call
//! stack instead (see there for why that clock). The handler tells the two
//! apart by the magic number at the start of what the timer carries.
//!
//! Why signals and not timestamps: a timestamp per line (`rdtsc`, ~8 ns)
//! costs more than the lines it measures, and the part of it that the
//! out-of-order core hides varies from line to line, so no calibrated
//! subtraction is right line by line (issue 12: the middle line of a
//! known-cost chain was reported 17× too low). A store of a pointer costs
//! about nothing and does not stall the core; the signal lands on a retired
//! instruction, so the line charged is the one whose work the core is
//! retiring.
//!
//! Timers: one `CLOCK_MONOTONIC` POSIX timer per thread, delivered to that
//! thread (`SIGEV_THREAD_ID`) as `SIGPROF`. Per-thread CPU-time clocks would
//! be the textbook choice, but Linux checks them only at the scheduler tick:
//! here they fired at 254 Hz when asked for 10,000 Hz (measured), too few
//! samples for sub-second statements. The monotonic hrtimer fires at the
//! asked rate; each signal costs about 30 µs of CPU on this VM (timer
//! interrupts exit to the hypervisor), so the default is 4,000 Hz (~10 %
//! slower sampled runs, which the caller's time base corrects). A thread
//! whose stack is empty when a signal lands disarms its own timer (the
//! next push re-arms it with a random phase), so idle pool workers are not
//! woken thousands of times a second.
//!
//! Robustness: the handler allocates nothing and touches only the record
//! that the timer itself names (`si_value`), never thread-locals; it stays
//! installed once installed (a signal still queued after [`stop`] finds a
//! disarmed record and does nothing, instead of killing the thread with
//! `SIGPROF`'s default action); `SA_RESTART` keeps the user's system calls
//! going. Records are never freed, so a late signal never reads freed
//! memory. Timers are deleted by [`stop`] and when their thread exits.
//!
//! ```
//! use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
//! use std::time::{Duration, Instant};
//! static WORK: AtomicU64 = AtomicU64::new(0);
//! parlab::__private::sample::start(Duration::from_micros(250));
//! let rec = parlab::__private::sample::thread();
//! // One counter (len 0): every sample of this call goes to WORK. This
//! // thread is not a clock, so it is charged the CPU time it used: spin
//! // until 10 ms of it have been charged.
//! rec.push(&WORK, 1, 0, 0);
//! let t = Instant::now();
//! while cfg!(target_os = "linux") && WORK.load(Relaxed) < 10_000_000 && t.elapsed() < Duration::from_secs(10) {
//!     std::hint::spin_loop();
//! }
//! rec.pop();
//! parlab::__private::sample::stop();
//! if cfg!(target_os = "linux") {
//!     assert!(WORK.load(Relaxed) >= 10_000_000);
//!     // The thread's own total also has what was charged outside the call.
//!     assert!(rec.samples() >= WORK.load(Relaxed));
//! }
//! ```

#[cfg(target_os = "linux")]
mod cost;
#[cfg(target_os = "linux")]
mod signal;
#[cfg(target_os = "linux")]
pub(crate) mod stacks;
mod thread;

pub use thread::{thread, Entry, Record};

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::{Relaxed, SeqCst}};
use std::time::Duration;

/// The default sampling period: 4,000 Hz (see the module doc for why).
pub const DEFAULT_PERIOD: Duration = Duration::from_micros(250);

/// Whether a sampling session runs; records register and arm only then.
static ON: AtomicBool = AtomicBool::new(false);
/// Session number: a record armed in an earlier session re-arms.
static GENERATION: AtomicU32 = AtomicU32::new(0);
/// The session's period in nanoseconds.
pub(crate) static PERIOD_NS: AtomicU64 = AtomicU64::new(250_000);

/// Starts a sampling session at `period`: from now on every thread that
/// calls [`thread`] is sampled (the caller included) until [`stop`].
pub fn start(period: Duration) {
    PERIOD_NS.store(period.as_nanos().clamp(10_000, 1_000_000_000) as u64, Relaxed);
    #[cfg(target_os = "linux")]
    signal::install();
    GENERATION.fetch_add(1, SeqCst);
    ON.store(true, SeqCst);
    #[cfg(target_os = "linux")]
    cost::measure(thread());
}

/// Ends the session: every timer is deleted; records keep their counts.
pub fn stop() {
    ON.store(false, SeqCst);
    thread::disarm_all();
}

/// Whether a session runs.
pub fn running() -> bool {
    ON.load(Relaxed)
}

/// The period of the current (or last) session.
pub fn period() -> Duration {
    Duration::from_nanos(PERIOD_NS.load(Relaxed))
}
