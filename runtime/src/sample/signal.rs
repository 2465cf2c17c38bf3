//! The `SIGPROF` handler and the POSIX timer calls (Linux).

use super::thread::{Record, DEPTH, MAGIC};
use std::sync::atomic::Ordering::{Acquire, Relaxed};
use std::sync::Once;

/// Installs the handler (once per copy of this crate; every copy's handler
/// is the same code and reads only the record its signal names, so it does
/// not matter which copy's installation is in force).
pub(super) fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: a zeroed sigaction is valid; the handler is
        // async-signal-safe (no allocation, no locks, no thread-locals).
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) as usize;
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(libc::SIGPROF, &sa, std::ptr::null_mut());
        }
    });
}

extern "C" fn on_signal(_sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo; `si_value` is meaningful
    // for SI_TIMER, and our timers carry a pointer to a leaked `Record`,
    // which the magic number confirms.
    unsafe {
        if info.is_null() || (*info).si_code != libc::SI_TIMER {
            return;
        }
        let ptr = (*info).si_value().sival_ptr;
        if ptr.is_null() {
            return;
        }
        // Both kinds of target start with their magic number.
        if *(ptr as *const u64) == super::stacks::STACK_MAGIC {
            super::stacks::on_sample(&*(ptr as *const super::stacks::Target), ctx);
            return;
        }
        let rec = ptr as *const Record;
        if (*rec).magic != MAGIC {
            return;
        }
        let rec = &*rec;
        if !rec.armed.load(Relaxed) {
            return;
        }
        // What this signal charges. The statement's own thread (`keep`)
        // is the clock: one sample per signal, plus, when it was waiting
        // (it used less than half the time since its last sample), the
        // expiries it missed: blocked on workers, it is woken late once
        // they hold both cores, and without its missed expiries the clock
        // ran slow and every worker line came out up to 2x too long.
        //
        // Every other thread (a pool's workers) is charged the CPU time it
        // used since its previous signal, in nanoseconds, less what the
        // signal itself cost it (`cost`). One sample per signal was not a
        // worker's running time on a busy machine: expiries missed while
        // it waits for a core collapse into one signal, but a signal still
        // lands after every wait, so a worker that shared a core in slices
        // shorter than a period was charged a whole period per slice. Its
        // per-hit times came out 0.4x-2x the truth at load 4-6 (issue 12).
        // Wall time less the thread's run delay (`/proc/thread-self/
        // schedstat`), which would also count a worker's blocked time,
        // was tried: under the same load it came out up to 2x, CPU time
        // within 25 %.
        let cpu = thread_cpu_ns();
        let used = cpu.saturating_sub(rec.cpu_ns.swap(cpu, Relaxed));
        let n = if rec.keep.load(Relaxed) {
            let missed = libc::timer_getoverrun(rec.timer.load(Relaxed) as libc::timer_t).max(0) as u64;
            if used < (1 + missed) * super::PERIOD_NS.load(Relaxed) / 2 { 1 + missed } else { 1 }
        } else {
            used.saturating_sub(super::cost::SIGNAL_NS.load(Relaxed))
        };
        // The handler runs on the sampled thread itself, so nothing else
        // writes these counters now: load + store, no locked instruction.
        rec.samples.store(rec.samples.load(Relaxed) + n, Relaxed);
        let depth = rec.depth.load(Acquire);
        for entry in &rec.stack[..depth.min(DEPTH)] {
            if let Some(counter) = entry.counter().as_ref() {
                counter.store(counter.load(Relaxed) + n, Relaxed);
            }
        }
        if depth == 0 && !rec.keep.load(Relaxed) {
            // Idle: stop waking this thread; its next push re-arms.
            rec.armed.store(false, Relaxed);
            set_timer(rec.timer.load(Relaxed) as libc::timer_t, 0, 0);
        }
    }
}

/// The calling thread's CPU time in nanoseconds (async-signal-safe).
pub(super) fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid clock id and a valid out pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// A monotonic timer whose signal goes to thread `tid` with `rec` attached.
pub(super) fn create_timer(rec: &Record, tid: i32) -> Option<libc::timer_t> {
    create_timer_on(libc::CLOCK_MONOTONIC, rec as *const Record as *mut libc::c_void, tid)
}

/// A timer on `clock` whose signal goes to thread `tid`, carrying `value`
/// (a leaked target whose first word is its magic number).
pub(super) fn create_timer_on(clock: libc::clockid_t, value: *mut libc::c_void, tid: i32) -> Option<libc::timer_t> {
    // SAFETY: zeroed sigevent is valid; the fields set are the documented
    // SIGEV_THREAD_ID ones.
    unsafe {
        let mut ev: libc::sigevent = std::mem::zeroed();
        ev.sigev_notify = libc::SIGEV_THREAD_ID;
        ev.sigev_signo = libc::SIGPROF;
        ev.sigev_notify_thread_id = tid;
        ev.sigev_value = libc::sigval { sival_ptr: value };
        let mut timer: libc::timer_t = std::ptr::null_mut();
        (libc::timer_create(clock, &mut ev, &mut timer) == 0).then_some(timer)
    }
}

/// Arms `timer` (first expiry after `first_ns`, then every `period_ns`),
/// or disarms it when `first_ns` is 0. Async-signal-safe (a system call).
pub(super) fn set_timer(timer: libc::timer_t, first_ns: u64, period_ns: u64) {
    let ts = |ns: u64| libc::timespec { tv_sec: (ns / 1_000_000_000) as libc::time_t, tv_nsec: (ns % 1_000_000_000) as libc::c_long };
    let spec = libc::itimerspec { it_interval: ts(period_ns), it_value: ts(first_ns) };
    // SAFETY: `timer` came from timer_create; a stale id only gives EINVAL.
    unsafe { libc::timer_settime(timer, 0, &spec, std::ptr::null_mut()) };
}

pub(super) fn delete_timer(timer: libc::timer_t) {
    // SAFETY: as above.
    unsafe { libc::timer_delete(timer) };
}
