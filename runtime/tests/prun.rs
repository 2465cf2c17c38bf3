//! `%prun`'s recorder against ground truth: a caller whose known share of
//! work (70 %) is in `hot_inner`, and work on rayon's and a `Pool`'s
//! worker threads. The shares are of CPU time; the truth is each callee
//! timed alone.

use parlab::__private::{prun, PrunOptions};
use parlab::prelude::*;
use parlab::SortKey;
use std::hint::black_box;
use std::time::Instant;

/// A dependent chain of `n` multiply-adds: its cost is linear in `n`.
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

/// One profile at a time (the sampler is process-wide; a concurrent
/// `prun` runs unprofiled), while the test harness runs tests in parallel.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn quiet() -> PrunOptions {
    PrunOptions { quiet: true, cell: 1, ..PrunOptions::DEFAULT }
}

#[test]
fn a_known_split_is_found_within_ten_points() {
    let _s = serial();
    // Truth: each callee alone.
    let t = Instant::now();
    for _ in 0..200 {
        black_box(hot_inner(black_box(70_000)));
    }
    let hot = t.elapsed().as_secs_f64();
    let t = Instant::now();
    for _ in 0..200 {
        black_box(cold_inner(black_box(30_000)));
    }
    let cold = t.elapsed().as_secs_f64();
    let truth = hot / (hot + cold);
    let p = prun(&[], quiet(), || outer(black_box(8_000)));
    assert!(p.samples >= 100, "{} samples", p.samples);
    let got = p.share("prun::hot_inner");
    assert!((got - truth).abs() < 0.10, "hot_inner {got:.3} of CPU time, truth {truth:.3}\n{}", p.to_text(SortKey::Tottime, Some(10)));
    // The caller is on every stack under the cell's root.
    assert!(p.cum_share("prun::outer") > 0.9, "{}", p.to_text(SortKey::Cumtime, Some(10)));
    assert!(p.stacks.iter().all(|s| s.frames[0] == "<cell 1>"), "{:?}", p.stacks.iter().map(|s| &s.frames).collect::<Vec<_>>());
    // The collapsed stacks are what inferno draws.
    assert!(p.collapsed().lines().any(|l| l.contains("prun::outer;prun::hot_inner ")));
    assert!(p.flamegraph_svg("t").unwrap().contains("hot_inner"));
}

#[test]
fn work_on_worker_threads_is_found_under_them() {
    let _s = serial();
    let pool = Pool::new(2);
    let p = prun(&[], quiet(), || {
        let a: u64 = (0..64u64).into_par_iter().map(|_| hot_inner(black_box(1_000_000))).sum();
        let b: Vec<u64> = pool.map(|_: u64| cold_inner(black_box(1_000_000)), 0..64);
        a ^ b.iter().sum::<u64>()
    });
    let on_workers = |name: &str| {
        p.stacks.iter().filter(|s| s.frames[0] == "[worker threads]" && s.frames.iter().any(|f| f == name)).map(|s| s.samples).sum::<u64>()
    };
    assert!(on_workers("prun::hot_inner") > 0, "{}", p.to_text(SortKey::Tottime, Some(15)));
    assert!(on_workers("prun::cold_inner") > 0, "{}", p.to_text(SortKey::Tottime, Some(15)));
    assert!(p.threads >= 2, "{} threads", p.threads);
}

#[test]
fn a_panic_in_the_statement_still_stops_the_sampler() {
    let _s = serial();
    let r = std::panic::catch_unwind(|| prun(&[], quiet(), || -> u64 { panic!("boom") }));
    assert!(r.is_err());
    // A later session works.
    let p = prun(&[], quiet(), || outer(black_box(500)));
    assert!(p.samples > 0);
}
