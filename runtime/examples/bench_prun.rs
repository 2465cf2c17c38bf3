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

#[inline(never)]
fn hot_inner(n: u64) -> u64 {
    let mut x = black_box(n);
    for _ in 0..n {
        x = x.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 1;
    }
    x
}

#[inline(never)]
fn cold_inner(n: u64) -> u64 {
    let mut x = black_box(n);
    for _ in 0..n {
        x = x.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 3;
    }
    x
}

#[inline(never)]
fn outer(calls: u64) -> u64 {
    (0..calls).fold(0, |acc, _| acc ^ hot_inner(black_box(70_000)) ^ cold_inner(black_box(30_000)))
}

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

/// Median wall times of `f` plain and under the profiler (the
/// statement's own, `Profile::wall_time`), interleaved; the median time
/// `prun` took after the statement (symbols, table, flame graph); the
/// median samples per run.
fn overhead(rounds: usize, f: impl Fn() -> u64) -> (f64, f64, f64, f64) {
    let (mut plain, mut profiled, mut after, mut samples) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let t = Instant::now();
        black_box(f());
        plain.push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let p = prun(&[], quiet(), &f);
        let total = t.elapsed().as_secs_f64();
        profiled.push(p.wall_time);
        after.push(total - p.wall_time);
        samples.push(p.samples as f64);
    }
    (median(plain), median(profiled), median(after), median(samples))
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

    let (plain, profiled, after, samples) = overhead(9, || outer(black_box(3_000)));
    println!("prun_overhead_ratio {:.3} ratio (1 thread: plain {:.1} ms, profiled {:.1} ms, {samples} samples)", profiled / plain, plain * 1e3, profiled * 1e3);
    println!("prun_cost_us_per_sample {:.1} us", (profiled - plain) * 1e6 / samples.max(1.0));
    println!("prun_report_ms {:.1} ms (after the statement, -q: stop, symbols, profile)", after * 1e3);
    let (plain, profiled, _, samples) = overhead(9, || parallel(black_box(6_000)));
    println!("prun_overhead_ratio_2threads {:.3} ratio (rayon: plain {:.1} ms, profiled {:.1} ms, {samples} samples)", profiled / plain, plain * 1e3, profiled * 1e3);

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
