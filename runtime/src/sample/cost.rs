//! What one sampling signal costs the thread it lands on, measured once
//! per process, so that threads charged their CPU time (see the handler)
//! are not also charged the sampler's own cost.
//!
//! Why it matters: a signal costs a worker thread ~30 µs of CPU on this VM
//! (the timer's interrupt and its re-arming exit to the hypervisor, and the
//! guest's clock runs on meanwhile). At 8 kHz that is a quarter of every
//! worker's CPU time: a rayon closure's lines came out 1.35–1.7× their
//! cost alone, and exact at 1 kHz (issue 12, measured with
//! `tests/lprun_truth.rs`). The cost is taken out of each interval the
//! handler charges.
//!
//! How: blocks of a dependent arithmetic chain of ~2 ms of CPU, alternately
//! with this thread's timer armed at the session's period and without; the
//! difference of the medians of their thread CPU times, over the signals
//! the armed blocks took. Thread CPU time, not wall time: another program
//! taking the core does not change it.

use super::signal::thread_cpu_ns;
use super::thread::Record;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Once;

/// CPU nanoseconds one signal costs (0 until measured).
pub(crate) static SIGNAL_NS: AtomicU64 = AtomicU64::new(0);

static MEASURED: Once = Once::new();

/// Pairs of blocks measured.
const PAIRS: usize = 9;

/// Measures [`SIGNAL_NS`] on the calling thread, once per process (~40 ms
/// of CPU). Must run inside a session (after [`super::start`]).
pub(crate) fn measure(rec: &Record) {
    MEASURED.call_once(|| SIGNAL_NS.store(signal_ns(rec), Relaxed));
}

fn chain(iters: u64) -> u64 {
    let mut x = black_box(1u64);
    for _ in 0..iters {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    }
    black_box(x)
}

/// CPU nanoseconds of one `chain(iters)`.
fn block(iters: u64) -> u64 {
    let t = thread_cpu_ns();
    chain(iters);
    thread_cpu_ns().saturating_sub(t)
}

fn median(v: &mut [u64]) -> u64 {
    v.sort_unstable();
    v[v.len() / 2]
}

fn signal_ns(rec: &Record) -> u64 {
    let was_keep = rec.keep.swap(true, Relaxed);
    rec.disarm();
    // Size a block to ~2 ms of CPU.
    let mut iters = 1u64 << 16;
    while block(iters) < 2_000_000 && iters < 1 << 32 {
        iters *= 2;
    }
    let (mut quiet, mut sampled, mut signals) = (Vec::new(), Vec::new(), 0u64);
    for _ in 0..PAIRS {
        quiet.push(block(iters));
        rec.arm();
        let s = rec.samples();
        sampled.push(block(iters));
        signals += rec.samples() - s;
        rec.disarm();
    }
    rec.keep.store(was_keep, Relaxed);
    if was_keep {
        rec.arm();
    }
    let per_block = signals as f64 / PAIRS as f64;
    if per_block < 1.0 {
        return 0;
    }
    let extra = median(&mut sampled).saturating_sub(median(&mut quiet)) as f64;
    // Never more than half a period: a larger figure is noise.
    (extra / per_block).min(super::PERIOD_NS.load(Relaxed) as f64 / 2.0) as u64
}
