//! `%time` / `%%time`: run once, then print CPU and wall times, as
//! IPython does on Unix:
//!
//! ```text
//! CPU times: user 3.17 ms, sys: 0 ns, total: 3.17 ms
//! Wall time: 3.19 ms
//! ```
//!
//! For `%time` (and `%%time --no-raise-error`) the generated code holds a
//! [`TimeGuard`] while the statement runs; the report prints when it is
//! dropped, so it comes after the statement's own output, before the
//! cell's value, and also when the statement panics (the panic then
//! continues, as IPython re-raises). A `%%time` body runs at top level so
//! that its names stay in the session; there [`time_start`] and
//! [`time_end`] bracket it, and a panic prints the report from the panic
//! hook (`parlab_child::before_next_panic`).

use super::format::format_time;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Process CPU time so far (all threads), from `getrusage(RUSAGE_SELF)`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CpuTimes {
    pub(crate) user: Duration,
    pub(crate) sys: Duration,
}

/// Process CPU time so far (all threads, exited ones included), to the
/// nanosecond: what `%timeit -c` times. Not [`cpu_times`]' sum: getrusage
/// scales tick-sampled user and system times to the precise total and
/// keeps each monotonic, so a difference of two readings can come out short
/// (two threads at once, each running a chain for 0.8 ms, read 49 ns per
/// call of a chain that costs 80; `issue 12`).
pub(crate) fn process_cpu() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid clock id and out pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec.max(0) as u64, ts.tv_nsec.clamp(0, 999_999_999) as u32)
}

pub(crate) fn cpu_times() -> CpuTimes {
    // SAFETY: getrusage only writes the struct we pass.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut usage) != 0 {
            return CpuTimes::default();
        }
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec.max(0) as u64, (t.tv_usec.max(0) as u32) * 1000);
    CpuTimes { user: tv(usage.ru_utime), sys: tv(usage.ru_stime) }
}

/// The last cell whose compile time was reported: a second timing magic in
/// the same cell reports none.
static REPORTED_CELL: Mutex<u128> = Mutex::new(0);

/// Seconds from the cell's arrival (`cell_started_unix_ns`, 0 = unknown)
/// to now, the first time it is asked for that cell; 0 afterwards.
pub(crate) fn compile_time(cell_started_unix_ns: u128) -> f64 {
    if cell_started_unix_ns == 0 {
        return 0.0;
    }
    {
        let mut last = REPORTED_CELL.lock().unwrap_or_else(|e| e.into_inner());
        if *last == cell_started_unix_ns {
            return 0.0;
        }
        *last = cell_started_unix_ns;
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    now.saturating_sub(cell_started_unix_ns) as f64 / 1e9
}

/// Measures from its creation to its drop, then prints the `%time` report.
#[derive(Debug)]
#[must_use = "the times are printed when the guard is dropped"]
pub struct TimeGuard {
    wall: Instant,
    cpu: CpuTimes,
    compile_time: f64,
}

/// Starts timing a `%time` statement or `%%time` cell.
///
/// ```
/// let g = parlab::__private::time_cell(0);
/// let x: u64 = (1..=10).sum();
/// drop(g); // prints "CPU times: user …" and "Wall time: …"
/// assert_eq!(x, 55);
/// ```
pub fn time_cell(cell_started_unix_ns: u128) -> TimeGuard {
    let compile_time = compile_time(cell_started_unix_ns);
    TimeGuard { wall: Instant::now(), cpu: cpu_times(), compile_time }
}

impl TimeGuard {
    fn print(&self) {
        let wall = self.wall.elapsed();
        let now = cpu_times();
        let user = now.user.saturating_sub(self.cpu.user);
        let sys = now.sys.saturating_sub(self.cpu.sys);
        println!("{}", report(user, sys, wall, self.compile_time));
    }
}

impl Drop for TimeGuard {
    fn drop(&mut self) {
        self.print();
    }
}

/// The `%%time` cell being timed. A cell whose code runs at top level (so
/// that its variables and items stay in the session, as IPython's `%%time`
/// keeps its names) has no scope for a guard: the start waits here.
static STARTED: Mutex<Option<TimeGuard>> = Mutex::new(None);

/// Prints the times of the cell being timed, if any.
fn print_started() {
    let started = STARTED.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(guard) = started {
        drop(guard);
    }
}

/// Starts timing a `%%time` cell whose code runs at top level; the times
/// print at [`time_end`], or before the report of a panic (IPython prints
/// them before it re-raises).
///
/// ```
/// parlab::__private::time_start(0);
/// let x: u64 = (1..=10).sum();
/// let shown = parlab::__private::time_end(&x); // prints the times
/// assert_eq!(*shown, 55);
/// ```
pub fn time_start(cell_started_unix_ns: u128) {
    let guard = time_cell(cell_started_unix_ns);
    if let Some(stale) = STARTED.lock().unwrap_or_else(|e| e.into_inner()).replace(guard) {
        std::mem::forget(stale);
    }
    parlab_child::before_next_panic(Some(print_started));
}

/// Ends [`time_start`]'s timing and passes the cell's value through by
/// reference, so a variable shown as the value is not moved.
pub fn time_end<T: ?Sized>(value: &T) -> &T {
    parlab_child::before_next_panic(None);
    print_started();
    value
}

/// The `%time` report lines.
pub(crate) fn report(user: Duration, sys: Duration, wall: Duration, compile_time: f64) -> String {
    let f = |d: Duration| format_time(d.as_secs_f64(), 3);
    let mut out = format!("CPU times: user {}, sys: {}, total: {}\nWall time: {}", f(user), f(sys), f(user + sys), f(wall));
    if compile_time > 0.1 {
        out.push_str(&format!("\nCompiler : {}", format_time(compile_time, 3)));
    }
    out
}

/// `%time --no-raise-error`: runs `f`, and if it panics, swallows the
/// panic (rustc's panic message is still printed). An interrupt is never
/// swallowed.
///
/// ```
/// parlab::__private::no_raise(|| panic!("ignored"));
/// ```
pub fn no_raise(f: impl FnOnce()) {
    if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        if crate::interrupt::is_interrupt(&*payload) {
            std::panic::resume_unwind(payload);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_lines() {
        let ms = Duration::from_micros;
        assert_eq!(
            report(ms(3170), ms(0), ms(3190), 0.0),
            "CPU times: user 3.17 ms, sys: 0 ns, total: 3.17 ms\nWall time: 3.19 ms"
        );
        assert!(report(ms(1), ms(1), ms(2), 0.394).ends_with("\nCompiler : 394 ms"));
    }

    #[test]
    fn compile_time_is_reported_once_per_cell() {
        assert_eq!(compile_time(0), 0.0);
        assert!(compile_time(1) > 0.0);
        assert_eq!(compile_time(1), 0.0);
    }

    #[test]
    fn process_cpu_counts_a_finished_thread() {
        let before = process_cpu();
        std::thread::spawn(|| {
            let t = std::time::Instant::now();
            while t.elapsed() < Duration::from_millis(5) {
                std::hint::spin_loop();
            }
        })
        .join()
        .unwrap();
        // Its spin is in the process's time, though it may have waited for a core.
        assert!(process_cpu() > before);
    }

    #[test]
    fn cpu_times_do_not_go_backwards() {
        let a = cpu_times();
        let b = cpu_times();
        assert!(b.user + b.sys >= a.user + a.sys);
        let (c, d) = (process_cpu(), process_cpu());
        assert!(d >= c);
    }

    #[test]
    fn no_raise_rethrows_interrupts() {
        no_raise(|| panic!("swallowed"));
        let r = std::panic::catch_unwind(|| no_raise(|| std::panic::panic_any(crate::interrupt::KeyboardInterrupt)));
        assert!(r.unwrap_err().is::<crate::interrupt::KeyboardInterrupt>());
    }
}
