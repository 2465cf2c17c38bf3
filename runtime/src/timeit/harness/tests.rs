//! Autorange and repeat logic against fake clocks: no wall-clock asserts.

use super::*;
use std::cell::Cell;

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// Simulated cost of a default run for a statement of `per_loop` seconds
/// whose first call costs `first_call` extra (cold caches).
fn simulated_run(per_loop: f64, first_call: f64) -> (u64, f64) {
    let spent = Cell::new(0.0);
    let calls = Cell::new(0);
    let mut f = |run: Run| {
        let extra = if calls.get() == 0 { first_call } else { 0.0 };
        calls.set(calls.get() + 1);
        let t = run.loops() as f64 * per_loop + extra;
        spent.set(spent.get() + t);
        secs(t)
    };
    let r = measure(&TimeitOptions::DEFAULT, 0.0, &mut f);
    (r.loops, spent.get())
}

#[test]
fn default_run_is_bounded_for_statements_up_to_300ms() {
    let mut per_loop = 1e-10;
    while per_loop <= 0.3 {
        let (loops, spent) = simulated_run(per_loop, 0.0);
        assert!(spent <= 2.5, "{per_loop} s/loop: {loops} loops, {spent} s in total");
        assert!(loops == 1 || loops as f64 * per_loop >= 0.12, "{per_loop} s/loop: repeats too short ({loops} loops)");
        per_loop *= 1.37;
    }
    let (_, spent) = simulated_run(0.3, 0.0);
    assert!(spent <= 2.5);
}

#[test]
fn a_slow_first_call_shortens_rather_than_lengthens_the_run() {
    let (loops, spent) = simulated_run(1e-6, 0.01);
    assert!(loops >= 1000 && spent <= 2.5, "{loops} {spent}");
}

#[test]
fn loop_counts_are_1_2_5_times_powers_of_ten() {
    assert_eq!(loops_for(1e-9), 200_000_000);
    assert_eq!(loops_for(1e-6), 200_000);
    assert_eq!(loops_for(0.02), 10);
    assert_eq!(loops_for(0.11), 2);
    assert_eq!(loops_for(0.15), 1);
    assert_eq!(loops_for(3.0), 1);
    assert_eq!(loops_for(0.0), MAX_LOOPS);
    assert_eq!(loops_for(3e-9), 50_000_000);
}

#[test]
fn calibration_grows_geometrically_and_stops_at_the_target() {
    assert_eq!(next_calibration(1, Duration::ZERO), Some(100));
    assert_eq!(next_calibration(1, Duration::from_nanos(50)), Some(100));
    assert_eq!(next_calibration(100, Duration::from_millis(10)), Some(300));
    assert_eq!(next_calibration(100, Duration::from_millis(19)), Some(200));
    assert_eq!(next_calibration(100, CALIBRATION_TARGET), None);
    assert_eq!(next_calibration(MAX_LOOPS, Duration::ZERO), None);
}

#[test]
fn autorange_extrapolates_from_the_last_call() {
    let mut sizes = Vec::new();
    let (loops, per_loop) = autorange(|n| {
        sizes.push(n);
        secs(n as f64 * 1e-6)
    });
    assert_eq!(sizes, vec![1, 100, 10_000, 30_000]);
    assert!((per_loop - 1e-6).abs() < 1e-12);
    assert_eq!(loops, 200_000);
}

#[test]
fn setup_runs_once_per_call_and_loops_are_as_asked() {
    let setups = Cell::new(0);
    let mut loops_run = 0;
    let mut f = |run: Run| {
        setups.set(setups.get() + 1);
        loops_run += run.chunks().sum::<u64>();
        secs(run.loops() as f64 * 1e-3)
    };
    let opts = TimeitOptions { loops: 4, repeat: 2, ..TimeitOptions::DEFAULT };
    let r = measure(&opts, 0.0, &mut f);
    // IPython: `%%timeit -n4 -r2` = 2 setup calls + 8 body calls.
    assert_eq!((setups.get(), loops_run), (2, 8));
    assert_eq!((r.loops, r.repeat), (4, 2));
    assert_eq!(r.all_runs, vec![0.004, 0.004]);
}

#[test]
fn statistics_come_from_the_measured_durations() {
    let times = [3.0, 1.0, 2.0];
    let mut i = 0;
    let mut f = |_: Run| {
        i += 1;
        secs(times[i - 1])
    };
    let r = measure(&TimeitOptions { loops: 10, repeat: 3, ..TimeitOptions::DEFAULT }, 0.5, &mut f);
    assert_eq!(r.all_runs, vec![3.0, 1.0, 2.0]);
    assert_eq!((r.best, r.worst), (0.1, 0.3));
    assert_eq!(r.compile_time, 0.5);
}

#[test]
fn chunks_cover_the_loops() {
    let run = Run { loops: 10, chunk: 3, clock: Clock::Wall, count: false };
    assert_eq!(run.chunks().collect::<Vec<_>>(), vec![3, 3, 3, 1]);
    let run = Run { loops: 0, chunk: 3, clock: Clock::Wall, count: false };
    assert_eq!(run.chunks().count(), 0);
    // Unknown chunk size: one probing loop, then the rest in sized chunks.
    let run = Run { loops: 1000, chunk: 0, clock: Clock::Wall, count: false };
    let chunks: Vec<u64> = run.chunks().collect();
    assert_eq!(chunks[0], 1);
    assert_eq!(chunks.iter().sum::<u64>(), 1000);
}

#[test]
fn chunk_size_targets_the_check_interval() {
    assert_eq!(chunk_for(1e-3), 20);
    assert_eq!(chunk_for(1.0), 1);
    assert_eq!(chunk_for(0.0), 1 << 24);
}

#[test]
fn later_repeats_use_the_measured_chunk_size() {
    let mut chunks_seen = Vec::new();
    let mut f = |run: Run| {
        chunks_seen.push(run.chunk);
        secs(run.loops() as f64 * 1e-3)
    };
    measure(&TimeitOptions { loops: 100, repeat: 2, ..TimeitOptions::DEFAULT }, 0.0, &mut f);
    assert_eq!(chunks_seen, vec![0, 20]);
}

