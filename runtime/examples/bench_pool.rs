//! Pool overheads and efficiency, each measured side by side in one run.
//!
//! `cargo run --release -p parlab --example bench_pool` prints one
//! `name value unit` line per figure (lines starting with `#` are notes).
//! Every figure is the best of several alternating runs, so a busy machine
//! skews both sides alike. Goals: overheads at most 1 us per task, map vs
//! rayon at least 0.9, efficiency on 2 cores at least 0.9; the process-pool
//! ratio is there to show the cost of serialization, it has no goal.
//! Issue 15: `Pool::map` of a range against bare rayon on the same range
//! (goal at least 0.9), and what recording a timeline costs per task (goal
//! at most 1 us).

use parlab::{Pool, ProcessPool, Timeline};
use rayon::prelude::*;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// A tiny task: a few cycles.
fn tiny(x: u64) -> u64 {
    x.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (x >> 7)
}

/// A uniform CPU-bound task the compiler cannot fold (its seed and its
/// length are opaque).
fn spin(seed: u64) -> u64 {
    let mut x = black_box(seed) | 1;
    for _ in 0..black_box(2_000_000u32) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    x
}

fn byte_sum(v: Vec<u8>) -> u64 {
    v.iter().map(|&b| u64::from(b)).sum()
}

fn time<T>(f: impl FnOnce() -> T) -> Duration {
    let start = Instant::now();
    black_box(f());
    start.elapsed()
}

/// Best times of several closures measured in alternation.
fn best_of<const N: usize>(rounds: usize, mut runs: [&mut dyn FnMut() -> Duration; N]) -> [f64; N] {
    let mut best = [f64::INFINITY; N];
    for _ in 0..rounds {
        for (b, run) in best.iter_mut().zip(runs.iter_mut()) {
            *b = b.min(run().as_secs_f64());
        }
    }
    best
}

fn main() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("# {cores} cores; rayon global pool {} threads", rayon::current_num_threads());
    let pool = Pool::default();
    let n = 2_000_000u64;
    let input: Vec<u64> = (0..n).collect();

    let [map, imap, bare] = best_of(
        15,
        [
            &mut || {
                let v = input.clone();
                time(|| pool.map(tiny, v))
            },
            &mut || {
                let v = input.clone();
                time(|| pool.imap(tiny, v).fold(0u64, |a, r| a ^ r))
            },
            &mut || {
                let v = input.clone();
                time(|| v.into_par_iter().map(tiny).collect::<Vec<u64>>())
            },
        ],
    );
    let per_task_us = |t: f64| t / n as f64 * 1e6;
    println!("# wall time per tiny task on {} threads (task body ~1 ns)", pool.threads());
    println!("pool_map_overhead_us_per_task {:.4} us", per_task_us(map));
    println!("pool_imap_overhead_us_per_task {:.4} us", per_task_us(imap));
    println!("rayon_par_iter_us_per_task {:.4} us", per_task_us(bare));
    println!("pool_map_vs_rayon {:.3} ratio", bare / map);

    // Issue 15's case: a range, a trivial task, bare rayon's
    // `into_par_iter().map().collect()` against `Pool::map`, and against
    // what `map` did before (collect the range into a Vec first).
    let range = 200_000u64;
    let [bare_range, map_range, map_collected] = best_of(
        300,
        [
            &mut || time(|| (0..range).into_par_iter().map(tiny).collect::<Vec<u64>>()),
            &mut || time(|| pool.map(tiny, 0..range)),
            &mut || time(|| pool.map(tiny, (0..range).collect::<Vec<u64>>())),
        ],
    );
    println!("# 0..{range}, trivial task: rayon {:.1} us, Pool::map {:.1} us, Pool::map of the collected range {:.1} us", bare_range * 1e6, map_range * 1e6, map_collected * 1e6);
    println!("pool_map_vs_rayon_range {:.3} ratio", bare_range / map_range);
    println!("pool_map_collected_vs_rayon_range {:.3} ratio", bare_range / map_collected);

    // Recording: the same map with and without a timeline being taken
    // (recording, moving the buffers into the session and building the
    // Timeline included). The cost is CPU time per task: the wall-time
    // difference times the threads that paid it.
    let [plain, recorded] = best_of(
        100,
        [
            &mut || time(|| pool.map(tiny, 0..range)),
            &mut || time(|| Timeline::record(|| pool.map(tiny, 0..range))),
        ],
    );
    let per_task = (recorded - plain).max(0.0) * pool.threads() as f64 / range as f64 * 1e6;
    println!("# {range} trivial tasks: {:.1} us plain, {:.1} us recorded", plain * 1e6, recorded * 1e6);
    println!("timeline_overhead_us_per_task {per_task:.4} us");

    let tasks: Vec<u64> = (1..=32).collect();
    let two = Pool::new(2);
    let [serial, parallel] = best_of(
        3,
        [
            &mut || time(|| tasks.iter().map(|&s| spin(s)).collect::<Vec<_>>()),
            &mut || time(|| two.map(spin, tasks.iter().copied())),
        ],
    );
    println!("# 32 uniform tasks, serial {:.1} ms, Pool::new(2) {:.1} ms", serial * 1e3, parallel * 1e3);
    println!("pool_efficiency_2cores {:.3} ratio", serial / (2.0 * parallel));

    let big = vec![1u8; 100 << 20];
    let procs = ProcessPool::new(2);
    let [threads, processes] = best_of(
        3,
        [
            &mut || {
                let arg = vec![big.clone()];
                time(|| two.map(byte_sum, arg))
            },
            &mut || {
                let arg = vec![big.clone()];
                time(|| procs.map(byte_sum, arg).expect("process pool"))
            },
        ],
    );
    println!("# one 100 MB argument: Pool {:.1} ms, ProcessPool {:.1} ms", threads * 1e3, processes * 1e3);
    println!("processpool_vs_pool_100MB {:.1} ratio", processes / threads);
}
