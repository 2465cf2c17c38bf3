//! Benchmark of the `%timeit` harness: its floor, its agreement with
//! criterion on the same functions, and the wall time of default runs.
//!
//! `cargo run --release -p parlab --example bench_timeit` prints
//! `name value unit` lines (about a minute in total).
//!
//! The closures below are exactly what `parlab-magics` generates for
//! `%timeit STMT`, so this measures what a notebook user gets.

use criterion::Criterion;
use parlab::__private::{timeit, Run, TimeitOptions};
use parlab::TimeitResult;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

/// About 1.2 ns per step (a dependent multiply-add chain).
#[inline(never)]
fn spin(steps: u64) -> u64 {
    let mut x = black_box(steps);
    for i in 0..black_box(steps) {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(i);
    }
    x
}

/// `%timeit STMT` with the given options, as generated code calls it.
fn ours(opts: TimeitOptions, stmt: impl Fn() -> u64) -> TimeitResult {
    timeit(TimeitOptions { quiet: true, ..opts }, |run: Run| {
        let t = run.start();
        for k in run.chunks() {
            for _ in 0..k {
                black_box(stmt());
            }
        }
        t.elapsed()
    })
}

/// Steps of `spin` that take about `target` seconds.
fn steps_for(target: f64) -> u64 {
    let r = ours(TimeitOptions { repeat: 3, ..TimeitOptions::DEFAULT }, || spin(1000));
    ((target / (r.best / 1000.0)).round() as u64).max(1)
}

/// Criterion's estimate (slope when it has one, else mean) in seconds.
fn criterion_estimate(c: &mut Criterion, dir: &Path, name: &str, f: impl Fn() -> u64) -> f64 {
    c.bench_function(name, |b| b.iter(|| f()));
    let path = dir.join(name).join("new").join("estimates.json");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("criterion estimates")).expect("json");
    let pick = |k: &str| json.get(k).and_then(|e| e["point_estimate"].as_f64());
    pick("slope").or_else(|| pick("mean")).expect("estimate") / 1e9
}

fn main() {
    let dir = std::env::temp_dir().join(format!("parlab-bench-{}", std::process::id()));
    let mut c = Criterion::default()
        .output_directory(&dir)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    let mut lines = Vec::new();

    let floor = ours(TimeitOptions::DEFAULT, || black_box(1u64) + 1);
    lines.push(format!("timeit_floor_ns {:.3} ns", floor.average() * 1e9));

    for (label, target) in [("10ns", 10e-9), ("10us", 10e-6), ("10ms", 10e-3)] {
        let steps = steps_for(target);
        let theirs = criterion_estimate(&mut c, &dir, &format!("spin_{label}"), || spin(steps));
        let mine = ours(TimeitOptions::DEFAULT, || spin(steps)).average();
        lines.push(format!("timeit_vs_criterion_ratio_{label} {:.3} ratio", mine / theirs));
        lines.push(format!("timeit_mean_{label} {:.4e} s (criterion {:.4e} s)", mine, theirs));
    }

    for (label, target) in [("1ns", 0.0), ("1us", 1e-6), ("1ms", 1e-3)] {
        let steps = if target == 0.0 { 0 } else { steps_for(target) };
        let start = Instant::now();
        if steps == 0 {
            ours(TimeitOptions::DEFAULT, || black_box(1u64) + 1);
        } else {
            ours(TimeitOptions::DEFAULT, || spin(steps));
        }
        lines.push(format!("timeit_run_wall_s_{label} {:.3} s", start.elapsed().as_secs_f64()));
    }
    let start = Instant::now();
    ours(TimeitOptions::DEFAULT, || {
        std::thread::sleep(Duration::from_millis(100));
        0
    });
    lines.push(format!("timeit_run_wall_s_100ms {:.3} s", start.elapsed().as_secs_f64()));

    let _ = std::fs::remove_dir_all(&dir);
    println!();
    for line in lines {
        println!("{line}");
    }
}
