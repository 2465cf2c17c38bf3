//! [`TimeitResult`]: what `%timeit -o` returns, with IPython's fields and
//! report lines. The harness fills it; text and HTML rendering read it.

use super::format::{format_time, plural, thousands};
use crate::display::MimeBundle;
use serde::{Deserialize, Serialize};

/// The measurements of one `%timeit` run (times in seconds).
///
/// ```
/// use parlab::TimeitResult;
/// // Two repeats of 4 loops, taking 0.5 s and 1 s in total.
/// let r = TimeitResult::new(4, vec![0.5, 1.0], 0.0, 3);
/// assert_eq!((r.best, r.worst), (0.125, 0.25));
/// assert_eq!((r.average(), r.stdev()), (0.1875, 0.0625));
/// assert_eq!(r.to_string(), "188 ms ± 62.5 ms per loop (mean ± std. dev. of 2 runs, 4 loops each)");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimeitResult {
    /// Loops per repeat.
    pub loops: u64,
    /// Number of repeats.
    pub repeat: u32,
    /// Fastest repeat, per loop.
    pub best: f64,
    /// Slowest repeat, per loop.
    pub worst: f64,
    /// Total time of each repeat (all its loops).
    pub all_runs: Vec<f64>,
    /// Time from the cell's arrival to the start of the run (compiling it).
    pub compile_time: f64,
    /// Significant digits in reports (`-p`).
    #[serde(default = "default_precision")]
    pub precision: usize,
    /// Process CPU time (all threads) of each repeat, its setup included;
    /// empty when not measured. [`compare`](crate::compare) reads it to
    /// tell how many threads a version kept busy.
    #[serde(default)]
    pub cpu_runs: Vec<f64>,
    /// Heap allocations per loop (reallocations included), over all
    /// threads, from the kernel's counting allocator, armed for one call
    /// (the calibration's last, or with `-n` the last repeat; the other
    /// repeats run with it idle); `None` where nothing counts (outside the
    /// kernel).
    #[serde(default)]
    pub allocs_per_loop: Option<f64>,
    /// Bytes those allocations requested, per loop.
    #[serde(default)]
    pub bytes_per_loop: Option<f64>,
}

fn default_precision() -> usize {
    3
}

impl TimeitResult {
    /// Builds a result from the total seconds of each repeat.
    pub fn new(loops: u64, all_runs: Vec<f64>, compile_time: f64, precision: usize) -> Self {
        let per = |x: f64| x / loops.max(1) as f64;
        let best = all_runs.iter().copied().fold(f64::INFINITY, f64::min);
        let worst = all_runs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        TimeitResult {
            loops,
            repeat: all_runs.len() as u32,
            best: if all_runs.is_empty() { 0.0 } else { per(best) },
            worst: if all_runs.is_empty() { 0.0 } else { per(worst) },
            all_runs,
            compile_time,
            precision,
            cpu_runs: Vec::new(),
            allocs_per_loop: None,
            bytes_per_loop: None,
        }
    }

    /// `allocations: 2 per loop (160 B)`, `%timeit -a`'s second line.
    pub fn alloc_line(&self) -> Option<String> {
        let (n, b) = (self.allocs_per_loop?, self.bytes_per_loop?);
        let n = if n.fract() == 0.0 { format!("{n}") } else { format!("{n:.2}") };
        Some(format!("allocations: {n} per loop ({})", crate::alloc::format_bytes(b)))
    }

    /// Seconds per loop, one value per repeat.
    pub fn timings(&self) -> Vec<f64> {
        self.all_runs.iter().map(|r| r / self.loops.max(1) as f64).collect()
    }

    /// Mean seconds per loop over the repeats.
    pub fn average(&self) -> f64 {
        let t = self.timings();
        if t.is_empty() {
            0.0
        } else {
            t.iter().sum::<f64>() / t.len() as f64
        }
    }

    /// Population standard deviation of the per-loop times (0 for one run).
    pub fn stdev(&self) -> f64 {
        let t = self.timings();
        if t.is_empty() {
            return 0.0;
        }
        let mean = self.average();
        (t.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / t.len() as f64).sqrt()
    }

    /// How many times faster this result is than `baseline`: the
    /// baseline's **mean** time per loop over this one's (`None` when a
    /// mean is not positive). The one speed-up metric of parlab:
    /// [`compare`](crate::compare)'s table and the notebooks' printed
    /// lines both call it.
    ///
    /// Why the mean and not the best run: `%timeit` reports mean ± std.
    /// dev. (as IPython does since 5.0), and `compare` shows those columns,
    /// so the speed-up is the ratio of the two numbers printed next to it.
    /// A parallel run's time also varies from run to run in ways that are
    /// its own (which worker finishes last, a thread waking late), and the
    /// mean keeps that cost where the best run hides it. Notebook 03 showed
    /// both for the same runs: 1.90× mean/mean, 1.99× best/best.
    ///
    /// ```
    /// use parlab::TimeitResult;
    /// let serial = TimeitResult::new(1, vec![0.25, 0.75], 0.0, 3); // mean 0.5 s, best 0.25 s
    /// let parallel = TimeitResult::new(1, vec![0.125, 0.375], 0.0, 3); // mean 0.25 s
    /// assert_eq!(parallel.speedup_over(&serial), Some(2.0));
    /// let idle = TimeitResult::new(1, vec![], 0.0, 3);
    /// assert_eq!(idle.speedup_over(&serial), None);
    /// assert_eq!(serial.speedup_over(&serial), Some(1.0));
    /// ```
    pub fn speedup_over(&self, baseline: &TimeitResult) -> Option<f64> {
        let (base, mine) = (baseline.average(), self.average());
        (base > 0.0 && mine > 0.0).then(|| base / mine)
    }

    /// Mean CPU seconds per loop (all threads), if measured.
    ///
    /// ```
    /// let mut r = parlab::TimeitResult::new(2, vec![1.0, 1.0], 0.0, 3);
    /// assert_eq!(r.cpu_average(), None);
    /// r.cpu_runs = vec![3.0, 5.0]; // two threads busy
    /// assert_eq!(r.cpu_average(), Some(2.0));
    /// ```
    pub fn cpu_average(&self) -> Option<f64> {
        let n = self.cpu_runs.len();
        (n > 0).then(|| self.cpu_runs.iter().sum::<f64>() / n as f64 / self.loops.max(1) as f64)
    }

    /// IPython's caching warning, when the slowest run took over 4× the
    /// fastest.
    pub fn warning(&self) -> Option<String> {
        (self.worst > 4.0 * self.best && self.best > 0.0 && self.worst > 1e-6).then(|| {
            format!(
                "The slowest run took {:.2} times longer than the fastest. \
                 This could mean that an intermediate result is being cached.",
                self.worst / self.best
            )
        })
    }

    /// `Compiler time: 0.42 s` when compiling took over 0.1 s.
    pub fn compiler_line(&self) -> Option<String> {
        (self.compile_time > 0.1).then(|| format!("Compiler time: {:.2} s", self.compile_time))
    }

    /// The report `%timeit` prints: warning, summary, compiler line.
    pub fn report(&self) -> MimeBundle {
        self.report_with(false)
    }

    /// The report, with [`TimeitResult::alloc_line`] below the summary
    /// when `allocs` (`%timeit -a`).
    pub fn report_with(&self, allocs: bool) -> MimeBundle {
        let alloc_line = if allocs { self.alloc_line() } else { None };
        let lines: Vec<String> =
            self.warning().into_iter().chain([self.to_string()]).chain(alloc_line.clone()).chain(self.compiler_line()).collect();
        let mut html = String::from("<div class=\"parlab-timeit\">");
        if let Some(w) = self.warning() {
            html.push_str(&format!("<div style=\"color:#a15c00\">⚠ {w}</div>"));
        }
        html.push_str(&format!("<div>{}</div>", self.summary_html()));
        if let Some(a) = alloc_line {
            html.push_str(&format!("<div>{a}</div>"));
        }
        if let Some(c) = self.compiler_line() {
            html.push_str(&format!("<div style=\"color:#666\">{c}</div>"));
        }
        html.push_str("</div>");
        MimeBundle::text(lines.join("\n")).with_html(html)
    }

    fn summary_html(&self) -> String {
        format!(
            "<b>{}</b> ± {} per loop <span style=\"color:#666\">({})</span>",
            format_time(self.average(), self.precision),
            format_time(self.stdev(), self.precision),
            self.runs_and_loops(),
        )
    }

    /// `mean ± std. dev. of 7 runs, 1,000 loops each`, IPython's wording.
    fn runs_and_loops(&self) -> String {
        format!(
            "mean ± std. dev. of {} run{}, {} loop{} each",
            self.repeat,
            plural(u64::from(self.repeat)),
            thousands(self.loops),
            plural(self.loops),
        )
    }

    /// Shows the result as a cell's value (`Out[n]`), as IPython's
    /// `<TimeitResult : …>`. evcxr calls this for the last expression.
    pub fn evcxr_display(&self) {
        MimeBundle::text(format!("<TimeitResult : {self}>"))
            .with_html(format!("<code>&lt;TimeitResult&gt;</code> {}", self.summary_html()))
            .evcxr_display();
    }
}

impl std::fmt::Display for TimeitResult {
    /// `12 ns ± 3.38 ns per loop (mean ± std. dev. of 7 runs, 100,000,000 loops each)`
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ± {} per loop ({})",
            format_time(self.average(), self.precision),
            format_time(self.stdev(), self.precision),
            self.runs_and_loops(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_lines() {
        let r = TimeitResult::new(1, vec![864e-9], 0.0, 3);
        assert_eq!(r.to_string(), "864 ns ± 0 ns per loop (mean ± std. dev. of 1 run, 1 loop each)");
        let r = TimeitResult::new(100_000_000, vec![1.2, 1.2, 1.2], 0.0, 3);
        assert_eq!(r.to_string(), "12 ns ± 0 ns per loop (mean ± std. dev. of 3 runs, 100,000,000 loops each)");
    }

    #[test]
    fn statistics_are_per_loop_and_population() {
        let r = TimeitResult::new(10, vec![1.0, 2.0, 3.0, 4.0], 0.0, 3);
        assert_eq!(r.timings(), vec![0.1, 0.2, 0.3, 0.4]);
        assert_eq!((r.best, r.worst, r.repeat), (0.1, 0.4, 4));
        assert!((r.average() - 0.25).abs() < 1e-12);
        assert!((r.stdev() - 0.0125f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn warning_and_compiler_lines() {
        let r = TimeitResult::new(1, vec![1e-3, 5e-3], 0.42, 3);
        assert_eq!(
            r.warning().as_deref(),
            Some("The slowest run took 5.00 times longer than the fastest. This could mean that an intermediate result is being cached.")
        );
        assert_eq!(r.compiler_line().as_deref(), Some("Compiler time: 0.42 s"));
        let text = r.report().get("text/plain").unwrap().to_owned();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("The slowest run took"));
        assert!(lines[1].contains("per loop"));
        // Below the 1 µs floor: no warning, however large the ratio.
        assert_eq!(TimeitResult::new(1, vec![1e-9, 9e-7], 0.0, 3).warning(), None);
        assert_eq!(TimeitResult::new(1, vec![1e-3], 0.1, 3).compiler_line(), None);
    }

    #[test]
    fn speedup_is_mean_over_mean_not_best_over_best() {
        // Notebook 03's case: the same runs give two different ratios; the
        // mean's is the one.
        let serial = TimeitResult::new(1, vec![0.2, 0.2, 0.2, 0.2], 0.0, 3);
        let parallel = TimeitResult::new(1, vec![0.1, 0.1, 0.1, 0.14], 0.0, 3);
        let s = parallel.speedup_over(&serial).unwrap();
        assert!((s - 0.2 / 0.11).abs() < 1e-12, "{s}");
        assert!((serial.best / parallel.best - 2.0).abs() < 1e-12);
        // A slower version has a speed-up below 1; zero times have none.
        assert!((serial.speedup_over(&parallel).unwrap() - 0.55).abs() < 1e-12);
        let zero = TimeitResult::new(1, vec![0.0], 0.0, 3);
        assert_eq!(zero.speedup_over(&serial), None);
        assert_eq!(serial.speedup_over(&zero), None);
    }

    #[test]
    fn serde_round_trip() {
        let r = TimeitResult::new(100, vec![0.2, 0.25], 0.0, 4);
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<TimeitResult>(&json).unwrap(), r);
    }
}
