//! [`LineProfile`]: the one type the recorder fills and the reports read,
//! as line_profiler's `LineStats`. It can be saved (`-D FILE`) and loaded
//! and rendered later.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Per-line hits and times of the functions of one `%lprun`.
///
/// ```
/// use parlab::{FunctionProfile, LineProfile, LineStat};
/// let p = LineProfile {
///     functions: vec![FunctionProfile {
///         name: "f".into(), file: "<cell 1>".into(), first_line: 1,
///         lines: vec![LineStat { line: 2, source: "    g();".into(), hits: 3, time: 1500, samples: 0 }],
///     }],
///     ..LineProfile::default()
/// };
/// assert_eq!(p.total_time(), 1.5e-6);
/// assert!(p.to_text().starts_with("Timer unit: 1e-09 s\n"));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineProfile {
    /// Seconds per unit of [`LineStat::time`] (1e-9: nanoseconds).
    pub timer_unit: f64,
    /// `-u`: the unit the report shows times in, if not `timer_unit`.
    pub output_unit: Option<f64>,
    /// `-z`/`-s`: leave out functions that were never hit.
    pub skip_zero: bool,
    /// How the times were measured (sampling rate, runs, samples).
    #[serde(default)]
    pub timing: Timing,
    /// The profiled functions, in `-f` order.
    pub functions: Vec<FunctionProfile>,
}

impl Default for LineProfile {
    fn default() -> Self {
        LineProfile { timer_unit: 1e-9, output_unit: None, skip_zero: false, timing: Timing::default(), functions: Vec::new() }
    }
}

/// One function of a [`LineProfile`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionProfile {
    /// As given to `-f`: `distance`, `Point::norm`.
    pub name: String,
    /// `<cell N>`.
    pub file: String,
    /// Cell line of the signature.
    pub first_line: u32,
    /// Every line from the signature to the closing brace.
    pub lines: Vec<LineStat>,
}

/// One source line: how often it ran and for how long in total.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineStat {
    /// Cell line number.
    pub line: u32,
    /// The line's text.
    pub source: String,
    /// Times the line ran (0: never, shown with blank columns).
    pub hits: u64,
    /// Total time in timer units for one run of the statement, from each
    /// start of the line to the next line event of the same call (callees
    /// included), estimated from `samples`.
    pub time: u64,
    /// Sampler signals that found this line running (over all sampled runs).
    #[serde(default)]
    pub samples: u64,
}

/// How a [`LineProfile`]'s times were measured.
///
/// Each line's time is `samples × ns_per_sample + cpu_ns × ns_per_cpu_ns −
/// events × probe_ns`. On the statement's own thread: its share of the
/// sampler's signals, scaled by the measured duration of one run of the
/// statement with marking probes (`ns_per_sample` = that duration / the
/// signals the statement's own thread took). On other threads (a pool's
/// workers): the CPU time the sampler charged the line there, per run.
/// Less, in both, what the probe events inside the line cost. Sampling error: a line with `n` of `N`
/// samples has a standard error of `√(n(1 − n/N))` samples.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    /// Sampling rate in Hz (0: not sampled).
    pub hz: f64,
    /// Runs of the statement the samples come from.
    pub runs: u64,
    /// Samples the statement's own thread took in those runs (`N`).
    pub samples: u64,
    /// Nanoseconds of one run that one sample stands for.
    pub ns_per_sample: f64,
    /// Runs of the original, uninstrumented code that timed one run (0: the
    /// duration was taken from the probed runs, and includes the probes).
    pub plain_runs: u64,
    /// Cost of one probe event in the sampled runs, measured against the
    /// plain runs; taken out of each line × the probe events that ran
    /// inside it (0: nothing taken out).
    #[serde(default)]
    pub probe_ns: f64,
    /// Nanoseconds of one run per CPU nanosecond charged to a line on a
    /// thread other than the statement's own (a pool's workers): 1 / runs.
    #[serde(default)]
    pub ns_per_cpu_ns: f64,
    /// Some line was charged on a thread other than the statement's own:
    /// the report says those times are CPU time.
    #[serde(default)]
    pub other_threads: bool,
}

impl Timing {
    /// One line's time per run: `clock` samples of the statement's own
    /// thread, `cpu_ns` charged on other threads, less the cost of the
    /// `events` probe events that ran inside it.
    pub(crate) fn line_ns(&self, clock: u64, cpu_ns: u64, events: u64) -> f64 {
        (clock as f64 * self.ns_per_sample + cpu_ns as f64 * self.ns_per_cpu_ns - events as f64 * self.probe_ns).max(0.0)
    }

    /// Two standard errors, in timer units (ns), of a line with `samples`.
    pub fn error_ns(&self, samples: u64) -> f64 {
        if self.samples == 0 {
            return 0.0;
        }
        let n = samples as f64;
        let p = (n / self.samples as f64).min(1.0);
        2.0 * (n * (1.0 - p)).max(1.0).sqrt() * self.ns_per_sample
    }
}

impl FunctionProfile {
    /// Sum of the per-line times, in seconds. Not wall time: callers'
    /// lines include callees, recursion counts each level.
    pub fn total_time(&self, timer_unit: f64) -> f64 {
        self.lines.iter().map(|l| l.time as f64).sum::<f64>() * timer_unit
    }

    /// Total hits over all lines.
    pub fn total_hits(&self) -> u64 {
        self.lines.iter().map(|l| l.hits).sum()
    }
}

/// Saving or loading a [`LineProfile`] failed.
#[derive(Debug, thiserror::Error)]
pub enum ProfileFileError {
    /// Reading or writing the file.
    #[error("cannot access profile file {path:?}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a saved `LineProfile`.
    #[error("{path:?} is not a saved line profile")]
    Format {
        /// The file.
        path: PathBuf,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
}

impl LineProfile {
    /// Sum of all functions' totals, in seconds.
    pub fn total_time(&self) -> f64 {
        self.functions.iter().map(|f| f.total_time(self.timer_unit)).sum()
    }

    /// Writes the profile as JSON (`%lprun -D FILE`).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), ProfileFileError> {
        let path = path.as_ref();
        let json = serde_json::to_string_pretty(self).map_err(|source| ProfileFileError::Format { path: path.into(), source })?;
        std::fs::write(path, json).map_err(|source| ProfileFileError::Io { path: path.into(), source })
    }

    /// Reads a profile written by [`save`](Self::save).
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ProfileFileError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ProfileFileError::Io { path: path.into(), source })?;
        serde_json::from_str(&text).map_err(|source| ProfileFileError::Format { path: path.into(), source })
    }

    /// Shows the report as the cell's value (text and HTML).
    pub fn evcxr_display(&self) {
        crate::display::MimeBundle::text(self.to_text()).with_html(self.to_html()).evcxr_display();
    }
}
