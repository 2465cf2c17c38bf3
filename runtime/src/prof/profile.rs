//! [`Profile`]: the one type between `%prun`'s recorder and its reports
//! (text table, flame graph, collapsed stacks), as `LineProfile` is for
//! `%lprun`.

use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// One distinct call stack and what it was charged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StackStat {
    /// Frame names from the outermost (a `<cell N>` or a thread) to the
    /// innermost.
    pub frames: Vec<String>,
    /// Samples that saw exactly this stack.
    pub samples: u64,
    /// CPU time those samples stand for, in nanoseconds.
    pub cpu_ns: u64,
}

/// One function over all stacks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionStat {
    /// `hot_inner (<cell 3>:1)` or a library's demangled path.
    pub name: String,
    /// Samples with the function anywhere on the stack.
    pub samples: u64,
    /// CPU time in the function itself (innermost frame), seconds.
    pub tottime: f64,
    /// CPU time with the function on the stack (callees included), seconds.
    pub cumtime: f64,
}

/// What `%prun` measured: every sampled stack of every thread that ran
/// the statement's work, weighted by CPU time.
///
/// ```
/// use parlab::{Profile, SortKey};
/// let p = Profile::from_stacks(
///     vec![
///         (vec!["<cell 1>".into(), "outer (<cell 1>:1)".into(), "hot (<cell 1>:5)".into()], 7_000_000),
///         (vec!["<cell 1>".into(), "outer (<cell 1>:1)".into()], 3_000_000),
///     ],
///     0.01, 1, 250.0,
/// );
/// assert!((p.share("hot") - 0.7).abs() < 1e-9);
/// assert!(p.to_text(SortKey::Tottime, None).contains("70.0%"));
/// assert_eq!(p.collapsed(), "<cell 1>;outer (<cell 1>:1);hot (<cell 1>:5) 7000\n<cell 1>;outer (<cell 1>:1) 3000\n");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    /// Distinct stacks, heaviest first.
    pub stacks: Vec<StackStat>,
    /// Functions, by [`tottime`](FunctionStat::tottime) (heaviest first).
    pub functions: Vec<FunctionStat>,
    /// Samples over all threads.
    pub samples: u64,
    /// CPU time of all samples, seconds.
    pub cpu_time: f64,
    /// Wall time of the statement, seconds.
    pub wall_time: f64,
    /// Threads that took at least one sample.
    pub threads: usize,
    /// The rate asked for (per thread, per second of its CPU time).
    pub rate_hz: f64,
    /// Samples lost because the sample buffer was full.
    pub dropped: u64,
}

/// The order of the text table (`-s`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SortKey {
    /// Time in the function itself (IPython's default, `time`).
    #[default]
    Tottime,
    /// Time with its callees (`cumulative`).
    Cumtime,
    /// Samples that saw the function.
    Samples,
}

impl SortKey {
    fn describe(self) -> &'static str {
        match self {
            SortKey::Tottime => "internal time",
            SortKey::Cumtime => "cumulative time",
            SortKey::Samples => "samples",
        }
    }
}

impl Profile {
    /// Builds a profile from stacks (outermost frame first) and the CPU
    /// nanoseconds each stands for.
    pub fn from_stacks(stacks: Vec<(Vec<String>, u64)>, wall_time: f64, threads: usize, rate_hz: f64) -> Profile {
        let mut merged: HashMap<Vec<String>, (u64, u64)> = HashMap::new();
        for (frames, ns) in stacks {
            let e = merged.entry(frames).or_default();
            e.0 += 1;
            e.1 += ns;
        }
        let mut stacks: Vec<StackStat> =
            merged.into_iter().map(|(frames, (samples, cpu_ns))| StackStat { frames, samples, cpu_ns }).collect();
        stacks.sort_by(|a, b| b.cpu_ns.cmp(&a.cpu_ns).then_with(|| a.frames.cmp(&b.frames)));
        let mut funcs: HashMap<&str, (u64, u64, u64)> = HashMap::new();
        for s in &stacks {
            let mut seen = HashSet::new();
            for f in &s.frames {
                if seen.insert(f.as_str()) {
                    let e = funcs.entry(f.as_str()).or_default();
                    e.0 += s.samples;
                    e.2 += s.cpu_ns;
                }
            }
            if let Some(leaf) = s.frames.last() {
                funcs.entry(leaf.as_str()).or_default().1 += s.cpu_ns;
            }
        }
        let mut functions: Vec<FunctionStat> = funcs
            .into_iter()
            .map(|(name, (samples, own, cum))| FunctionStat {
                name: name.to_owned(),
                samples,
                tottime: own as f64 * 1e-9,
                cumtime: cum as f64 * 1e-9,
            })
            .collect();
        functions.sort_by(|a, b| b.tottime.total_cmp(&a.tottime).then_with(|| a.name.cmp(&b.name)));
        let samples = stacks.iter().map(|s| s.samples).sum();
        let cpu_time = stacks.iter().map(|s| s.cpu_ns).sum::<u64>() as f64 * 1e-9;
        Profile { stacks, functions, samples, cpu_time, wall_time, threads, rate_hz, dropped: 0 }
    }

    /// The function called `name`: its full name, or the part before
    /// ` (<cell …>)` (`"hot_inner"` finds `hot_inner (<cell 3>:1)`).
    pub fn function(&self, name: &str) -> Option<&FunctionStat> {
        self.functions.iter().find(|f| f.name == name || f.name.split(" (<cell").next() == Some(name))
    }

    /// The share of all CPU time spent in `name` itself (0 when absent).
    pub fn share(&self, name: &str) -> f64 {
        match self.function(name) {
            Some(f) if self.cpu_time > 0.0 => f.tottime / self.cpu_time,
            _ => 0.0,
        }
    }

    /// The share of all CPU time with `name` on the stack (0 when absent).
    pub fn cum_share(&self, name: &str) -> f64 {
        match self.function(name) {
            Some(f) if self.cpu_time > 0.0 => f.cumtime / self.cpu_time,
            _ => 0.0,
        }
    }

    /// The table `%prun` prints: IPython's layout, with samples instead of
    /// calls (a sampler sees no calls) and each function's share of the
    /// CPU time. `limit` keeps the first rows.
    pub fn to_text(&self, sort: SortKey, limit: Option<usize>) -> String {
        let mut rows: Vec<&FunctionStat> = self.functions.iter().collect();
        match sort {
            SortKey::Tottime => {}
            SortKey::Cumtime => rows.sort_by(|a, b| b.cumtime.total_cmp(&a.cumtime).then_with(|| a.name.cmp(&b.name))),
            SortKey::Samples => rows.sort_by(|a, b| b.samples.cmp(&a.samples).then_with(|| a.name.cmp(&b.name))),
        }
        let shown = limit.unwrap_or(rows.len()).min(rows.len());
        let mut out = format!(
            "         {} samples in {:.3} seconds of CPU time on {} thread{} (wall time {:.3} s)\n\n   Ordered by: {}\n",
            self.samples,
            self.cpu_time,
            self.threads,
            if self.threads == 1 { "" } else { "s" },
            self.wall_time,
            sort.describe(),
        );
        if shown < rows.len() {
            out.push_str(&format!("   List reduced from {} to {} due to restriction <{}>\n", rows.len(), shown, shown));
        }
        if self.dropped > 0 {
            out.push_str(&format!("   {} samples dropped (buffer full): the end of the run is missing\n", self.dropped));
        }
        out.push_str("\n   samples  tottime  cumtime   share function\n");
        for f in &rows[..shown] {
            let share = if self.cpu_time > 0.0 { 100.0 * f.tottime / self.cpu_time } else { 0.0 };
            out.push_str(&format!("{:>10} {:>8.3} {:>8.3} {:>6.1}% {}\n", f.samples, f.tottime, f.cumtime, share, f.name));
        }
        out
    }

    /// The stacks in the collapsed format of `inferno` and speedscope:
    /// `outer;inner COUNT` per line, COUNT in microseconds of CPU time.
    pub fn collapsed(&self) -> String {
        let mut out = String::new();
        for s in &self.stacks {
            let us = s.cpu_ns / 1000;
            if us > 0 {
                out.push_str(&s.frames.join(";"));
                out.push_str(&format!(" {us}\n"));
            }
        }
        out
    }

    /// A profile from collapsed stacks (`-D`'s file, or any `a;b;c N`
    /// lines, N taken as microseconds of CPU time): the file reads back.
    ///
    /// ```
    /// let p = parlab::Profile::from_collapsed("<cell 1>;f 700\n<cell 1>;g 300\n").unwrap();
    /// assert!((p.share("f") - 0.7).abs() < 1e-9);
    /// assert_eq!(p.collapsed(), "<cell 1>;f 700\n<cell 1>;g 300\n");
    /// assert!(parlab::Profile::from_collapsed("no count here").is_err());
    /// ```
    pub fn from_collapsed(text: &str) -> Result<Profile, String> {
        let mut stacks = Vec::new();
        for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
            let (frames, count) = line.trim_end().rsplit_once(' ').ok_or_else(|| format!("line {}: no count", i + 1))?;
            let us: u64 = count.parse().map_err(|_| format!("line {}: {count:?} is not a count", i + 1))?;
            stacks.push((frames.split(';').map(str::to_owned).collect::<Vec<_>>(), us * 1000));
        }
        Ok(Profile::from_stacks(stacks, 0.0, 0, 0.0))
    }

    /// Shows the table as the cell's value (`let p = %prun -r …; p`).
    pub fn evcxr_display(&self) {
        crate::display::MimeBundle::text(self.to_text(SortKey::Tottime, Some(20))).evcxr_display();
    }

    /// The flame graph as an SVG document (inferno; no script, so it also
    /// shows as an `<img>`).
    pub fn flamegraph_svg(&self, title: &str) -> Result<String, String> {
        let collapsed = self.collapsed();
        if collapsed.is_empty() {
            return Err("no samples".to_owned());
        }
        let mut opts = inferno::flamegraph::Options::default();
        opts.title = title.to_owned();
        opts.count_name = "µs of CPU".to_owned();
        opts.no_javascript = true;
        opts.hash = true;
        opts.deterministic = true;
        let mut svg = Vec::new();
        inferno::flamegraph::from_lines(&mut opts, collapsed.lines(), &mut svg).map_err(|e| e.to_string())?;
        String::from_utf8(svg).map_err(|e| e.to_string())
    }
}
