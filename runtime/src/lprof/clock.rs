//! The probe clock: the TSC where there is one, `Instant` elsewhere.
//!
//! A probe reads the clock once per line event, so its cost *is* the
//! profiler's overhead: `rdtsc` is ~8 ns on the course VMs, `Instant::now`
//! ~23 ns (and far more when the kernel clocksource is not `tsc`). No
//! fences: a probe only needs ordering against other probes of the same
//! thread, which the dependent stores already give; fencing would double
//! the cost. Ticks become nanoseconds with a ratio measured once against
//! `Instant` ([`ns_per_tick`]).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Current time in ticks (TSC cycles, or ns since the first call).
#[inline(always)]
pub(crate) fn now() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: `rdtsc` has no preconditions on x86-64.
        unsafe { core::arch::x86_64::_rdtsc() }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        static EPOCH: OnceLock<Instant> = OnceLock::new();
        EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
    }
}

/// Nanoseconds per tick, measured once over 20 ms of wall time.
pub(crate) fn ns_per_tick() -> f64 {
    static RATIO: OnceLock<f64> = OnceLock::new();
    *RATIO.get_or_init(|| {
        if cfg!(not(target_arch = "x86_64")) {
            return 1.0;
        }
        let (i0, t0) = (Instant::now(), now());
        while i0.elapsed() < Duration::from_millis(20) {
            std::hint::spin_loop();
        }
        let (ns, ticks) = (i0.elapsed().as_nanos() as f64, now().wrapping_sub(t0) as f64);
        if ticks > 0.0 { ns / ticks } else { 1.0 }
    })
}
