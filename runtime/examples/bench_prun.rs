//! `%prun`'s figures (issue 15), printed as `name value unit`:
//!
//! - `prun_overhead_ratio`: the statement's wall time under the profiler
//!   over its plain time (median of interleaved runs), on one thread and
//!   on a 2-thread rayon loop;
//! - `prun_attribution_error_pp`: |measured − true| share of `hot_inner`
//!   in a caller that spends about 70 % of its time there; the truth is
//!   each callee timed alone in the same run.
//!
//! `cargo run --release -p parlab --example bench_prun` (run the binary
//! `target/release/examples/bench_prun` under `--workspace` builds).

use parlab::__private::{prun, PrunOptions};
use parlab::prelude::*;
use std::hint::black_box;
use std::time::{Duration, Instant};

include!("../tests/fixtures/prun_split.rs");

fn parallel(calls: u64) -> u64 {
    (0..calls).into_par_iter().map(|_| hot_inner(black_box(70_000)) ^ cold_inner(black_box(30_000))).reduce(|| 0, |a, b| a ^ b)
}

fn quiet() -> PrunOptions {
    PrunOptions { quiet: true, cell: 1, ..PrunOptions::DEFAULT }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// CPU time of the whole process (every thread), user + system: what the
/// profiler adds, whatever else the machine runs.
fn process_cpu() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// One side-by-side measurement of `f`, plain and under `prun` (-q),
/// interleaved `rounds` times; medians.
struct Overhead {
    /// Process CPU time of a plain run and of the whole `prun` call
    /// (arming, the statement with its signals, stopping, symbols).
    cpu: (f64, f64),
    /// Wall time of a plain run and of the statement under the profiler
    /// (`Profile::wall_time`): on a shared machine, mostly load.
    wall: (f64, f64),
    samples: f64,
}

fn overhead(rounds: usize, f: impl Fn() -> u64) -> Overhead {
    let mut v: [Vec<f64>; 5] = Default::default();
    for _ in 0..rounds {
        let (c, t) = (process_cpu(), Instant::now());
        black_box(f());
        v[0].push(process_cpu() - c);
        v[1].push(t.elapsed().as_secs_f64());
        let c = process_cpu();
        let p = prun(&[], quiet(), &f);
        v[2].push(process_cpu() - c);
        v[3].push(p.wall_time);
        v[4].push(p.samples as f64);
    }
    let [a, b, c, d, e] = v.map(median);
    Overhead { cpu: (a, c), wall: (b, d), samples: e }
}

fn report(name: &str, what: &str, o: &Overhead) {
    println!(
        "{name} {:.3} ratio ({what}: CPU plain {:.1} ms, profiled {:.1} ms; {} samples; wall ratio {:.3})",
        o.cpu.1 / o.cpu.0,
        o.cpu.0 * 1e3,
        o.cpu.1 * 1e3,
        o.samples,
        o.wall.1 / o.wall.0
    );
}

/// CPU time of the calling thread (the truth must not count time the
/// thread spent descheduled on a loaded machine; the profile does not).
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn timed(f: impl Fn() -> u64) -> Duration {
    let t = thread_cpu();
    black_box(f());
    thread_cpu() - t
}

fn main() {
    let _ = rayon::current_num_threads();
    // Warm-up (the first session allocates the sample buffer).
    black_box(prun(&[], quiet(), || outer(100)));

    let o = overhead(9, || outer(black_box(3_000)));
    report("prun_overhead_ratio", "1 thread", &o);
    println!("prun_cost_us_per_sample {:.1} us (extra process CPU time / samples)", (o.cpu.1 - o.cpu.0) * 1e6 / o.samples.max(1.0));
    let o = overhead(9, || parallel(black_box(6_000)));
    report("prun_overhead_ratio_2threads", "rayon", &o);

    let mut errors = Vec::new();
    for _ in 0..5 {
        let hot = timed(|| (0..2_000).fold(0, |a, _| a ^ hot_inner(black_box(70_000))));
        let cold = timed(|| (0..2_000).fold(0, |a, _| a ^ cold_inner(black_box(30_000))));
        let truth = hot.as_secs_f64() / (hot + cold).as_secs_f64();
        let p = prun(&[], quiet(), || outer(black_box(8_000)));
        let got = p.share("bench_prun::hot_inner");
        if errors.is_empty() {
            eprintln!("{}", p.to_text(parlab::SortKey::Tottime, Some(6)));
        }
        eprintln!("  hot_inner {:.2} % of {} samples ({:.3} s CPU), truth {:.2} %", got * 100.0, p.samples, p.cpu_time, truth * 100.0);
        errors.push((got - truth).abs() * 100.0);
    }
    println!("prun_attribution_error_pp {:.2} pp (median of 5; max {:.2})", median(errors.clone()), errors.iter().cloned().fold(0.0, f64::max));
}
