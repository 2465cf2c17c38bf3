//! Scaling studies: how the time of a workload falls with more threads.
//!
//! [`with_threads`] runs code on a pool of exactly `n` threads, so any
//! rayon code inside (a [`Pool::default`](super::Pool::default) excepted,
//! which has its own threads) uses `n` workers. [`scaling`] times a
//! workload that way at each thread count (best of a few runs, after one
//! warm-up) and returns a [`Scaling`]: the table, the speed-ups, and the
//! serial fraction `f` of Amdahl's law `S(p) = 1 / (f + (1 - f) / p)`,
//! fitted by least squares on `1/S = f + (1 - f)/p`, which is linear in
//! `f`. Rendering (text, HTML, SVG chart) lives in `render`.
//!
//! Speed-ups are relative to the smallest thread count measured; include 1
//! for them (and the fit) to mean what their names say.

use crate::interrupt;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

/// How many timed runs per thread count; the best counts.
const REPEATS: usize = 3;

/// Runs `f` on a rayon pool of `threads` threads and returns its result.
/// Pools are kept per size, so calling this in a loop is cheap.
///
/// ```
/// let n = parlab::with_threads(3, rayon::current_num_threads);
/// assert_eq!(n, 3);
/// ```
pub fn with_threads<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<rayon::ThreadPool>>>> = OnceLock::new();
    let threads = threads.max(1);
    let pool = {
        let mut pools = POOLS.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
        let pool = pools.entry(threads).or_insert_with(|| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .thread_name(move |i| format!("parlab-{threads}t-{i}"))
                .build()
                .expect("parlab: could not start the threads");
            Arc::new(pool)
        });
        Arc::clone(pool)
    };
    pool.install(f)
}

/// Times `workload` at each thread count (inside [`with_threads`]) and
/// returns the study. The workload should use rayon (`par_iter`,
/// `rayon::join`, …) to benefit from the threads. Checks for an interrupt
/// between runs.
///
/// ```
/// use rayon::prelude::*;
/// let study = parlab::scaling(|| (0..200_000u64).into_par_iter().map(|x| x % 7).sum::<u64>(), 1..=2);
/// assert_eq!(study.points().len(), 2);
/// assert_eq!(study.points()[0].speedup, 1.0);
/// ```
pub fn scaling<R>(workload: impl Fn() -> R + Sync, threads: impl IntoIterator<Item = usize>) -> Scaling {
    let mut times = Vec::new();
    let mut warm = false;
    for p in threads {
        let best = with_threads(p, || {
            if !warm {
                std::hint::black_box(workload());
            }
            (0..REPEATS)
                .map(|_| {
                    interrupt::check();
                    let start = Instant::now();
                    std::hint::black_box(workload());
                    start.elapsed().as_secs_f64()
                })
                .fold(f64::INFINITY, f64::min)
        });
        warm = true;
        times.push((p, best));
    }
    Scaling::from_times(times)
}

/// One thread count of a [`Scaling`] study.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScalingPoint {
    /// Number of threads.
    pub threads: usize,
    /// Best time of the workload, in seconds.
    pub seconds: f64,
    /// Time at the smallest thread count divided by this time.
    pub speedup: f64,
    /// Speed-up divided by the relative thread count (1 is ideal).
    pub efficiency: f64,
}

/// The result of [`scaling`]: times, speed-ups and Amdahl's serial
/// fraction. Shown as a table and a chart when it ends a cell; `.show()`
/// displays it mid-cell.
///
/// ```
/// let s = parlab::Scaling::from_times([(1, 8.0), (2, 4.4), (4, 2.6)]);
/// assert_eq!(s.points()[1].speedup, 8.0 / 4.4);
/// assert!(s.to_string().contains("threads"));
/// assert!(s.to_svg().starts_with("<svg"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Scaling {
    pub(super) points: Vec<ScalingPoint>,
    pub(super) serial_fraction: Option<f64>,
}

impl Scaling {
    /// A study from `(threads, seconds)` pairs measured elsewhere, sorted by
    /// thread count.
    ///
    /// ```
    /// // Perfectly parallel: no serial part.
    /// let s = parlab::Scaling::from_times([(1, 4.0), (2, 2.0), (4, 1.0)]);
    /// assert!(s.serial_fraction().unwrap().abs() < 1e-12);
    /// ```
    pub fn from_times(times: impl IntoIterator<Item = (usize, f64)>) -> Self {
        let mut times: Vec<(usize, f64)> = times.into_iter().map(|(p, t)| (p.max(1), t)).collect();
        times.sort_by_key(|&(p, _)| p);
        let Some(&(p0, t0)) = times.first() else {
            return Scaling { points: Vec::new(), serial_fraction: None };
        };
        let points: Vec<ScalingPoint> = times
            .iter()
            .map(|&(threads, seconds)| {
                let speedup = t0 / seconds;
                ScalingPoint { threads, seconds, speedup, efficiency: speedup * p0 as f64 / threads as f64 }
            })
            .collect();
        let serial_fraction = amdahl_fit(points.iter().map(|pt| (pt.threads as f64 / p0 as f64, pt.speedup)));
        Scaling { points, serial_fraction }
    }

    /// One entry per thread count, fewest threads first.
    pub fn points(&self) -> &[ScalingPoint] {
        &self.points
    }

    /// Amdahl's serial fraction `f` fitted to the speed-ups (not clamped:
    /// a value below 0 means better than linear, e.g. cache effects);
    /// `None` without two distinct thread counts.
    ///
    /// ```
    /// // S(p) = 1 / (0.1 + 0.9 / p): a 10 % serial part.
    /// let s = parlab::Scaling::from_times((1..=8).map(|p| (p, 0.1 + 0.9 / p as f64)));
    /// assert!((s.serial_fraction().unwrap() - 0.1).abs() < 1e-9);
    /// ```
    pub fn serial_fraction(&self) -> Option<f64> {
        self.serial_fraction
    }

    /// The speed-up Amdahl's fitted law predicts for `threads` threads.
    ///
    /// ```
    /// let s = parlab::Scaling::from_times([(1, 1.0), (2, 0.75)]); // f = 0.5
    /// assert!((s.amdahl_speedup(1e9).unwrap() - 2.0).abs() < 1e-6);
    /// ```
    pub fn amdahl_speedup(&self, threads: f64) -> Option<f64> {
        let p0 = self.points.first()?.threads as f64;
        let f = self.serial_fraction?;
        Some(1.0 / (f + (1.0 - f) * p0 / threads))
    }
}

/// Least squares for `f` in `y - x = f (1 - x)`, with `x = 1/p`, `y = 1/S`.
fn amdahl_fit(points: impl Iterator<Item = (f64, f64)>) -> Option<f64> {
    let (num, den) = points.fold((0.0, 0.0), |(num, den), (p, s)| {
        let (x, y) = (1.0 / p, 1.0 / s);
        (num + (1.0 - x) * (y - x), den + (1.0 - x) * (1.0 - x))
    });
    (den > 0.0 && num.is_finite()).then(|| num / den)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amdahl_fit_recovers_the_serial_fraction_from_exact_speedups() {
        for f in [0.0, 0.05, 0.3, 1.0] {
            let s = Scaling::from_times((1..=16).map(|p| (p, f + (1.0 - f) / p as f64)));
            assert!((s.serial_fraction().unwrap() - f).abs() < 1e-12, "f = {f}");
        }
    }

    #[test]
    fn amdahl_fit_is_least_squares_on_noisy_speedups() {
        // Speed-ups 1, 1.8, 3.0: 1/S - 1/p = (0, 0.0556, 0.0833), 1 - 1/p = (0, 0.5, 0.75).
        let s = Scaling::from_times([(1, 1.0), (2, 1.0 / 1.8), (4, 1.0 / 3.0)]);
        let expected = (0.5 * (1.0 / 1.8 - 0.5) + 0.75 * (1.0 / 3.0 - 0.25)) / (0.25 + 0.5625);
        assert!((s.serial_fraction().unwrap() - expected).abs() < 1e-12);
    }

    #[test]
    fn one_thread_count_has_no_fit() {
        assert_eq!(Scaling::from_times([(1, 1.0)]).serial_fraction(), None);
        assert_eq!(Scaling::from_times([]).points().len(), 0);
    }

    #[test]
    fn speedups_are_relative_to_the_fewest_threads() {
        let s = Scaling::from_times([(4, 1.0), (2, 2.0)]);
        assert_eq!(s.points()[0].threads, 2);
        assert_eq!(s.points()[1].speedup, 2.0);
        assert_eq!(s.points()[1].efficiency, 1.0);
        assert!(s.serial_fraction().unwrap().abs() < 1e-12);
    }

    #[test]
    fn with_threads_runs_on_exactly_n_threads() {
        for n in [1, 2, 5] {
            assert_eq!(with_threads(n, rayon::current_num_threads), n);
            let names = with_threads(n, || rayon::broadcast(|_| std::thread::current().name().map(str::to_owned)));
            assert_eq!(names.len(), n);
            assert!(names.iter().all(|name| name.as_deref().unwrap().starts_with(&format!("parlab-{n}t-"))));
        }
    }
}
