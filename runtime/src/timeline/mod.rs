//! `%%timeline` and [`timeline`]: what the workers of a [`Pool`](crate::Pool)
//! did, task by task.
//!
//! While a timeline is taken, every task of a blocking `Pool` call (`map`,
//! `starmap`) is recorded with its worker thread, its index, its chunk (the
//! batch of consecutive tasks one worker took at once) and its start and
//! end (`record`). The result is a [`Timeline`]: one lane per worker,
//! shown as a Gantt chart (idle gaps visible, chunks coloured) with the
//! summary line `N tasks on T threads, busy X %, imbalance Y` (`render`).
//!
//! It deliberately records only `Pool` tasks: not rayon's own `par_iter`
//! (which has no hook), nor the background methods (`imap`, `apply_async`),
//! whose tasks may outlive the recording.
//!
//! ```
//! use parlab::{Pool, Timeline};
//! let pool = Pool::new(2);
//! let (squares, t) = Timeline::record(|| pool.map(|x: u64| x * x, 0..8));
//! assert_eq!(squares[3], 9);
//! assert_eq!((t.tasks(), t.threads()), (8, 2));
//! assert!(t.summary().starts_with("8 tasks on 2 threads, busy "));
//! ```

mod record;
mod render;

pub(crate) use record::CallRecorder;
use record::Session;

/// One task's bar: times in seconds from the start of the recording.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TaskSpan {
    /// Which blocking `Pool` call of the recording ran it, from 0.
    pub call: usize,
    /// The task's index in its call (the item's position).
    pub task: usize,
    /// The index of the first task of its chunk: tasks with the same
    /// `(call, chunk)` were handed to the worker as one batch.
    pub chunk: usize,
    /// Start, in seconds.
    pub start: f64,
    /// End, in seconds.
    pub end: f64,
}

/// One worker thread's tasks, in order of start.
#[derive(Debug, Clone, PartialEq)]
pub struct Lane {
    /// `worker 0`, or `pool 2 worker 0` when several pools ran tasks.
    pub name: String,
    /// Its tasks, by start time.
    pub tasks: Vec<TaskSpan>,
}

impl Lane {
    /// Seconds this lane spent in tasks (overlaps counted once: a worker
    /// waiting inside a task may run another one of the same call).
    pub fn busy(&self) -> f64 {
        let mut busy = 0.0;
        let mut reach = f64::NEG_INFINITY;
        for t in &self.tasks {
            let from = t.start.max(reach);
            if t.end > from {
                busy += t.end - from;
            }
            reach = reach.max(t.end);
        }
        busy
    }
}

/// The tasks a recording saw, one [`Lane`] per worker thread. Shown as a
/// Gantt chart and its summary when it ends a cell; `.show()` displays it
/// mid-cell.
///
/// ```
/// use parlab::timeline::{Lane, TaskSpan, Timeline};
/// let span = |task, start, end| TaskSpan { call: 0, task, chunk: task, start, end };
/// let t = Timeline::from_lanes(vec![
///     Lane { name: "worker 0".into(), tasks: vec![span(0, 0.0, 1.0), span(1, 1.0, 2.0)] },
///     Lane { name: "worker 1".into(), tasks: vec![span(2, 0.0, 1.0)] },
/// ]);
/// assert_eq!(t.busy(), 0.75); // 3 busy seconds out of 2 lanes × 2 s
/// assert_eq!(t.imbalance(), 2.0 / 1.5); // busiest lane / mean lane
/// assert_eq!(t.summary(), "3 tasks on 2 threads, busy 75 %, imbalance 1.33");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    lanes: Vec<Lane>,
    /// What a lane is, for the summary: `thread`, or `rank` (`%%mpirun`).
    lane_noun: &'static str,
}

impl Default for Timeline {
    fn default() -> Self {
        Timeline { lanes: Vec::new(), lane_noun: "thread" }
    }
}

impl Timeline {
    /// A timeline from lanes measured elsewhere (tasks are sorted by start).
    pub fn from_lanes(mut lanes: Vec<Lane>) -> Self {
        for lane in &mut lanes {
            lane.tasks.sort_by(|a, b| a.start.total_cmp(&b.start));
        }
        Timeline { lanes, lane_noun: "thread" }
    }

    /// One lane per MPI rank, each one bar from a common barrier to the
    /// rank's end (`%%mpirun --timeline`).
    #[cfg_attr(not(feature = "mpi"), allow(dead_code))]
    pub(crate) fn of_ranks(seconds: &[f64]) -> Self {
        let lanes = seconds
            .iter()
            .enumerate()
            .map(|(rank, &end)| Lane { name: format!("rank {rank}"), tasks: vec![TaskSpan { call: 0, task: rank, chunk: rank, start: 0.0, end }] })
            .collect();
        Timeline { lanes, lane_noun: "rank" }
    }

    /// Runs `f` while recording every `Pool` task it runs, and returns its
    /// value with the timeline. Recording stops when `f` returns or
    /// panics. Recordings do not nest: one started inside another (a
    /// `timeline(…)` in a `%%timeline` cell) replaces it, and the outer one
    /// then shows nothing.
    ///
    /// ```
    /// let pool = parlab::Pool::new(2);
    /// let (_, t) = parlab::Timeline::record(|| pool.map(|x: u32| x + 1, 0..100));
    /// assert_eq!(t.lanes().iter().map(|l| l.tasks.len()).sum::<usize>(), 100);
    /// ```
    pub fn record<R>(f: impl FnOnce() -> R) -> (R, Timeline) {
        struct Stop;
        impl Drop for Stop {
            fn drop(&mut self) {
                record::stop();
            }
        }
        record::start();
        let stop = Stop;
        let r = f();
        std::mem::forget(stop);
        let timeline = record::stop().map(Timeline::from_session).unwrap_or_default();
        (r, timeline)
    }

    fn from_session(s: Session) -> Self {
        let several = s.pools.len() > 1;
        let mut lanes = Vec::new();
        let mut first_lane = std::collections::HashMap::new();
        for (k, &(pool, threads)) in s.pools.iter().enumerate() {
            first_lane.insert(pool, lanes.len());
            for worker in 0..threads {
                let name = if several { format!("pool {} worker {worker}", k + 1) } else { format!("worker {worker}") };
                lanes.push(Lane { name, tasks: Vec::new() });
            }
        }
        let seconds = |t: std::time::Instant| t.saturating_duration_since(s.started).as_secs_f64();
        for t in &s.tasks {
            let span = TaskSpan { call: t.call, task: t.task, chunk: t.chunk, start: seconds(t.start), end: seconds(t.end) };
            lanes[first_lane[&t.pool] + t.worker].tasks.push(span);
        }
        Timeline::from_lanes(lanes)
    }

    /// One lane per worker thread of the pools that ran tasks (a worker
    /// that got no task still has its lane).
    pub fn lanes(&self) -> &[Lane] {
        &self.lanes
    }

    /// Number of tasks recorded.
    pub fn tasks(&self) -> usize {
        self.lanes.iter().map(|l| l.tasks.len()).sum()
    }

    /// Number of lanes (worker threads).
    pub fn threads(&self) -> usize {
        self.lanes.len()
    }

    /// First start and last end of any task, in seconds; `None` without
    /// tasks.
    pub fn span(&self) -> Option<(f64, f64)> {
        let tasks = self.lanes.iter().flat_map(|l| &l.tasks);
        let start = tasks.clone().map(|t| t.start).reduce(f64::min)?;
        let end = tasks.map(|t| t.end).reduce(f64::max)?;
        Some((start, end))
    }

    /// Share of the lanes' time spent in tasks, between the first task's
    /// start and the last one's end (0 to 1).
    pub fn busy(&self) -> f64 {
        match self.span() {
            Some((start, end)) if end > start => {
                self.lanes.iter().map(Lane::busy).sum::<f64>() / (self.threads() as f64 * (end - start))
            }
            _ => 0.0,
        }
    }

    /// The busiest lane's busy time over the mean lane's: 1 is perfect
    /// balance, `threads()` means one lane did everything.
    pub fn imbalance(&self) -> f64 {
        let busy: Vec<f64> = self.lanes.iter().map(Lane::busy).collect();
        let mean = busy.iter().sum::<f64>() / busy.len().max(1) as f64;
        if mean > 0.0 {
            busy.iter().copied().fold(0.0, f64::max) / mean
        } else {
            1.0
        }
    }

    /// `N tasks on T threads, busy X %, imbalance Y`.
    pub fn summary(&self) -> String {
        let (n, t) = (self.tasks(), self.threads());
        format!(
            "{n} {} on {t} {}{}, busy {:.0} %, imbalance {:.2}",
            if n == 1 { "task" } else { "tasks" },
            self.lane_noun,
            if t == 1 { "" } else { "s" },
            self.busy() * 100.0,
            self.imbalance()
        )
    }
}

/// Runs `f`, recording every `Pool` task it runs, displays the timeline
/// (Gantt chart and summary, as `%%timeline` does) and returns `f`'s value.
///
/// ```
/// let pool = parlab::Pool::new(2);
/// let total: u64 = parlab::timeline(|| pool.map(|x: u64| x * 2, 0..10).iter().sum());
/// assert_eq!(total, 90);
/// ```
pub fn timeline<R>(f: impl FnOnce() -> R) -> R {
    let (r, t) = Timeline::record(f);
    t.show();
    r
}

/// Starts recording for a `%%timeline` cell, whose code runs at top level
/// (so its names stay in the session): the timeline shows at
/// [`timeline_end`], or before the report of a panic.
///
/// ```
/// parlab::__private::timeline_start();
/// let v = parlab::Pool::new(2).map(|x: u8| x, 0..4);
/// assert_eq!(parlab::__private::timeline_end(&v).len(), 4); // shows the chart
/// ```
#[doc(hidden)]
pub fn timeline_start() {
    record::start();
    parlab_child::before_next_panic(Some(show_recorded));
}

/// Ends [`timeline_start`]'s recording, shows the timeline, and passes the
/// cell's value through by reference (a variable shown as the value is
/// not moved).
#[doc(hidden)]
pub fn timeline_end<T: ?Sized>(value: &T) -> &T {
    parlab_child::before_next_panic(None);
    show_recorded();
    value
}

fn show_recorded() {
    if let Some(session) = record::stop() {
        Timeline::from_session(session).show();
    }
}
