//! `%lprun` overhead on the seed's `distance()` (100×100, 3,040,206 line
//! events), using the instrumenter's real output (the checked-in fixture).
//!
//! `cargo run --release -p parlab --example bench_lprun` prints
//! `name value unit` lines:
//! - `lprun_overhead_ns_per_hit`: (profiled − plain) / line hits; goal ≤ 10.
//! - `lprun_fidelity`: reported total time / plain time; goal ≤ 1.5.
//! - `lprun_thread_scaling`: per-hit overhead with 2 threads profiling at
//!   once / with 1; goal ≤ 1.2 (no contention between threads' tables).

#![allow(dead_code)]

use parlab::__private::{lprun, FnMeta, LprunOptions};
use std::hint::black_box;
use std::time::Instant;

include!("../tests/fixtures/lprun_distance.rs");

include!("../tests/fixtures/random_matrix.rs");

const FUNCTIONS: [FnMeta; 1] = [FnMeta { name: "distance", cell: 1, first_line: DISTANCE_FIRST_LINE, lines: DISTANCE_LINES }];

/// Best of `runs` wall times of `f` run on `threads` threads at once.
fn best(runs: usize, threads: usize, f: impl Fn() + Sync) -> f64 {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            std::thread::scope(|s| {
                for _ in 0..threads {
                    s.spawn(&f);
                }
            });
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// One session; its report goes to stdout as a `\x01PARLAB` display line
/// (filter it out: `| grep -v PARLAB`).
fn profile(f: impl FnOnce()) -> parlab::LineProfile {
    lprun(&FUNCTIONS, LprunOptions::default(), f)
}

fn main() {
    const RUNS: usize = 15;
    // line_profiler's 3,040,205 events plus the port's returned `dist` line.
    let hits_per_call: u64 = 3_040_206;
    // Warm up (calibration, page faults) outside the measurements.
    let p = profile(|| drop(black_box(distance())));
    assert_eq!(p.functions[0].total_hits(), hits_per_call);

    let mut per_hit = Vec::new();
    for threads in [1, 2] {
        let plain = best(RUNS, threads, || drop(black_box(plain::distance())));
        let mut profiled = f64::INFINITY;
        let mut reported = f64::INFINITY;
        for _ in 0..RUNS {
            let t = Instant::now();
            let p = profile(|| {
                std::thread::scope(|s| {
                    for _ in 0..threads {
                        s.spawn(|| drop(black_box(distance())));
                    }
                })
            });
            profiled = profiled.min(t.elapsed().as_secs_f64());
            reported = reported.min(p.total_time() / threads as f64);
        }
        let overhead = (profiled - plain) * 1e9 / hits_per_call as f64;
        per_hit.push(overhead);
        if threads == 1 {
            eprintln!("plain {:.3} ms, profiled {:.3} ms, reported {:.3} ms", plain * 1e3, profiled * 1e3, reported * 1e3);
            println!("lprun_overhead_ns_per_hit {overhead:.2} ns");
            println!("lprun_fidelity {:.3} ratio", reported / plain);
        } else {
            eprintln!("2 threads: plain {:.3} ms, profiled {:.3} ms", plain * 1e3, profiled * 1e3);
        }
    }
    println!("lprun_thread_scaling {:.3} ratio", per_hit[1] / per_hit[0]);
}
