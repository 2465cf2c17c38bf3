//! `%lprun`'s truth and cost, using the instrumenter's real output (the
//! checked-in fixture: the seed's `distance()`, 3,040,206 line events, and
//! the ground-truth `chain`).
//!
//! `cargo run --release -p parlab --example bench_lprun 2>/dev/null | grep -v PARLAB`
//! prints `name value unit` lines:
//! - `lprun_truth_max_share_error_pp`: on `chain` (three lines calling
//!   dependent multiply chains of 4, 16 and 64 steps), the largest
//!   difference between a line's reported share and its share from the
//!   chains timed alone; goal ≤ 5.
//! - `lprun_fidelity`: `distance()`'s reported total / its plain time
//!   (best of runs, as `%timeit`); goal 0.8–1.25.
//! - `lprun_overhead_ns_per_hit`: (counting run − plain run) / line hits,
//!   the probes' cost in the run that counts Hits; goal ≤ 30.
//! - `lprun_thread_scaling`: that overhead with 2 threads profiling at
//!   once / with 1; goal ≤ 1.2 (no contention between threads' tables).

#![allow(dead_code)]

use parlab::__private::{lprun, LprunOptions};
use std::hint::black_box;
use std::time::{Duration, Instant};

include!("../tests/fixtures/lprun_distance.rs");
include!("../tests/fixtures/random_matrix.rs");
include!("../tests/fixtures/chains.rs");
include!("../tests/fixtures/chains_alone.rs");

// A probe whose fn id is beyond the slice handed to `lprun` is not
// collected: `distance()` (id 0) is profiled alone, `chain` (id 3) with
// the ids before it.
const DISTANCE: &[parlab::__private::FnMeta] = FUNCTIONS.split_at(1).0;
const WITH_CHAIN: &[parlab::__private::FnMeta] = FUNCTIONS.split_at(4).0;

/// This thread's CPU time.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid clock id and out pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// `f` on `threads` threads at once; the mean of their CPU times. CPU
/// time, not wall time: the 2-core machine is shared, and a thread that
/// waits for a core would count the wait (the wall-time version of
/// `lprun_thread_scaling` read 0.90, 1.08 and 1.86 in three runs on a quiet
/// machine).
fn cpu_on(threads: usize, f: impl Fn() + Sync) -> Duration {
    let total: Duration = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads).map(|_| s.spawn(|| { let t = thread_cpu(); f(); thread_cpu() - t })).collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    total / threads as u32
}

/// Best of `runs` wall times of `f` run on `threads` threads at once.
fn best(runs: usize, threads: usize, f: impl Fn() + Sync) -> Duration {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            std::thread::scope(|s| {
                for _ in 0..threads {
                    s.spawn(&f);
                }
            });
            t.elapsed()
        })
        .min()
        .unwrap()
}

/// Only the counting run matters for the overhead: sample briefly.
fn quick() -> LprunOptions {
    LprunOptions { sampling: parlab::__private::Sampling { min_samples: 100, budget: Duration::from_millis(50), ..Default::default() }, ..LprunOptions::default() }
}

fn main() {
    // Many short runs: the best of them is one no other program disturbed
    // (the 2-core machine is shared with builds).
    const RUNS: usize = 60;
    // line_profiler's 3,040,205 events plus the port's returned `dist` line.
    let hits_per_call: u64 = 3_040_206;

    // Truth: chain's shares against the chains timed alone.
    let truth = [alone(200_000, chain4), alone(200_000, chain16), alone(50_000, chain64)];
    let sum: f64 = truth.iter().sum();
    let p = lprun(WITH_CHAIN, LprunOptions::default(), || black_box(chain(black_box(20_000))));
    let f = &p.functions[3];
    let total: f64 = f.lines.iter().map(|l| l.time as f64).sum();
    let mut worst: f64 = 0.0;
    for k in 0..3 {
        let l = f.lines.iter().find(|l| l.line == CHAIN_FIRST_LINE + 3 + k as u32).unwrap();
        let share = 100.0 * l.time as f64 / total;
        let want = 100.0 * truth[k] / sum;
        eprintln!("chain{}: {:.2} ns per hit (alone {:.2}), share {share:.1} % (alone {want:.1} %)", [4, 16, 64][k], l.time as f64 / l.hits as f64, truth[k]);
        worst = worst.max((share - want).abs());
    }
    eprintln!("chain: {} samples over {} runs", p.timing.samples, p.timing.runs);
    println!("lprun_truth_max_share_error_pp {worst:.2} pp");

    // Fidelity: distance()'s reported total against its plain time.
    let plain = best(RUNS, 1, || drop(black_box(plain::distance())));
    let p = lprun(DISTANCE, LprunOptions::default(), || drop(black_box(distance())));
    assert_eq!(p.functions[0].total_hits(), hits_per_call);
    let reported = p.functions[0].total_time(p.timer_unit);
    eprintln!("distance: plain {:.3} ms, reported {:.3} ms ({} samples, {} runs)", plain.as_secs_f64() * 1e3, reported * 1e3, p.timing.samples, p.timing.runs);
    println!("lprun_fidelity {:.3} ratio", reported / plain.as_secs_f64());

    // Overhead: the counting run (the statement's first run) against plain,
    // in each thread's CPU time, best of alternating rounds.
    let mut per_hit = Vec::new();
    for threads in [1, 2] {
        let (mut plain, mut counting) = (Duration::MAX, Duration::MAX);
        for _ in 0..15 {
            plain = plain.min(cpu_on(threads, || drop(black_box(plain::distance()))));
            let mut first = None;
            lprun(DISTANCE, quick(), || {
                first.get_or_insert_with(|| cpu_on(threads, || drop(black_box(distance()))));
            });
            counting = counting.min(first.unwrap());
        }
        let overhead = (counting.as_secs_f64() - plain.as_secs_f64()) * 1e9 / hits_per_call as f64;
        eprintln!("{threads} thread(s): plain {:.3} ms, counting run {:.3} ms (CPU per thread)", plain.as_secs_f64() * 1e3, counting.as_secs_f64() * 1e3);
        per_hit.push(overhead);
    }
    println!("lprun_overhead_ns_per_hit {:.2} ns", per_hit[0]);
    println!("lprun_thread_scaling {:.3} ratio", per_hit[1] / per_hit[0]);
}
