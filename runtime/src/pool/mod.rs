//! `multiprocessing.Pool` for Rust: the course's parallel helpers, on rayon.
//!
//! The Python course parallelises with `multiprocessing.Pool` (processes,
//! arguments pickled across) and compares it with threads. Rust threads run
//! in parallel, so [`Pool`] is the everyday tool: a rayon
//! [`ThreadPool`](rayon::ThreadPool) with Python's vocabulary
//! (`map`, `starmap`, `imap`, `imap_unordered`, `apply_async`). Arguments
//! are moved into tasks, never cloned, and closures may borrow from the
//! cell (except for the background methods, which outlive the call).
//! [`ProcessPool`] keeps the process model for the lesson on the cost of
//! serialization; [`with_threads`] and [`scaling`] support scaling studies.
//!
//! What a pool guarantees, whatever the tasks do:
//! - a panicking task reaches the caller as a panic naming the task
//!   (`task 3 panicked: boom`); tasks not yet started are skipped, and the
//!   pool stays usable for the next call;
//! - an interrupt ([`crate::interrupt`]) stops the dispatch of further
//!   tasks and unwinds the caller with [`KeyboardInterrupt`](crate::KeyboardInterrupt);
//!   a task already running finishes first (interruption is cooperative).
//!
//! What it deliberately doesn't do: cancel a running task, or keep a
//! process pool alive between calls (workers are forked per call, so they
//! see the notebook's state as it is at that moment).
//!
//! ```
//! use parlab::Pool;
//! let pool = Pool::new(2);
//! assert_eq!(pool.map(|x: u64| x * x, 1..=4), vec![1, 4, 9, 16]);
//! assert_eq!(pool.starmap(|a: i32, b: i32| a + b, vec![(1, 2), (3, 4)]), vec![3, 7]);
//! ```

mod async_result;
mod checked;
mod imap;
mod process;
mod render;
mod scaling;
mod source;
mod starmap;
mod task;
mod threads;

pub use async_result::AsyncResult;
pub use imap::{Imap, ImapUnordered};
pub use process::{ProcessImap, ProcessPool, ProcessPoolError};
pub use scaling::{scaling, with_threads, Scaling, ScalingPoint};
pub use starmap::Starmap;

use rayon::prelude::*;
use std::sync::{Arc, OnceLock};
use crate::timeline::CallRecorder;
use checked::Checked;
use source::Counting;
use task::Guard;

/// A pool of worker threads with `multiprocessing.Pool`'s methods.
///
/// Cloning is cheap and shares the threads. [`Pool::default`] uses one
/// shared pool with a thread per core, created on first use, so calling it
/// in every cell costs nothing.
///
/// ```
/// use parlab::Pool;
/// let pool = Pool::default();
/// let lengths = pool.map(|s: &str| s.len(), ["a", "bb", "ccc"]);
/// assert_eq!(lengths, vec![1, 2, 3]);
/// ```
#[derive(Clone)]
pub struct Pool {
    /// Identity; the threads are per cell (see `threads.rs` for why).
    token: Arc<threads::Token>,
    threads: usize,
    chunksize: usize,
}

// A pool's state survives a panicking task (that is the point of the
// design), so a `&Pool` may cross `catch_unwind`.
impl std::panic::UnwindSafe for Pool {}
impl std::panic::RefUnwindSafe for Pool {}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("threads", &self.threads)
            .field("chunksize", &self.chunksize)
            .finish()
    }
}

impl Default for Pool {
    fn default() -> Self {
        static SHARED: OnceLock<Pool> = OnceLock::new();
        SHARED
            .get_or_init(|| {
                let n = std::thread::available_parallelism().map_or(1, |n| n.get());
                Pool::new(n)
            })
            .clone()
    }
}

impl Pool {
    /// A pool of `threads` worker threads (at least one), its own, separate
    /// from rayon's global pool.
    ///
    /// ```
    /// assert_eq!(parlab::Pool::new(3).threads(), 3);
    /// ```
    pub fn new(threads: usize) -> Self {
        let pool = Pool { token: Arc::default(), threads: threads.max(1), chunksize: 1 };
        // Start the threads now, as a pool constructor should; later
        // cells start their own (see `threads.rs`).
        let _ = pool.rayon();
        pool
    }

    /// The rayon pool that runs this pool's tasks for the calling cell.
    pub(crate) fn rayon(&self) -> Arc<rayon::ThreadPool> {
        threads::lookup(&self.token, self.threads)
    }

    /// The number of worker threads.
    ///
    /// ```
    /// assert!(parlab::Pool::default().threads() >= 1);
    /// ```
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// The same pool, handing tasks to workers in batches of at least
    /// `chunksize` consecutive tasks (Python's `chunksize`).
    ///
    /// A batch runs in order on one thread and is never split, which pays
    /// the scheduling cost once per batch instead of once per task. The
    /// default, 1, lets rayon split adaptively, down to single tasks when
    /// a worker is idle: the best choice unless tasks are tiny and you want
    /// to show what batching does. Applies to `map`, `starmap`, `imap` and
    /// `imap_unordered`.
    ///
    /// ```
    /// let pool = parlab::Pool::new(2).with_chunksize(100);
    /// assert_eq!(pool.chunksize(), 100);
    /// assert_eq!(pool.map(|x: u32| x + 1, 0..1000).len(), 1000);
    /// ```
    #[must_use]
    pub fn with_chunksize(&self, chunksize: usize) -> Self {
        Pool { token: Arc::clone(&self.token), threads: self.threads, chunksize: chunksize.max(1) }
    }

    /// The batch size set by [`Pool::with_chunksize`].
    pub fn chunksize(&self) -> usize {
        self.chunksize
    }

    /// Applies `f` to every item, in parallel; results keep the items'
    /// order. Blocks until all are done.
    ///
    /// `f` may be a closure borrowing from the caller or a plain `fn`.
    ///
    /// ```
    /// fn double(x: i64) -> i64 { 2 * x }
    /// let pool = parlab::Pool::new(2);
    /// assert_eq!(pool.map(double, vec![1, 2, 3]), vec![2, 4, 6]);
    /// let offset = 10;
    /// assert_eq!(pool.map(|x: i64| x + offset, [1, 2]), vec![11, 12]);
    /// ```
    ///
    /// A panicking task panics the caller, naming the task:
    ///
    /// ```should_panic
    /// parlab::Pool::new(2).map(|x: u32| if x == 3 { panic!("boom") } else { x }, 0..8);
    /// // panics with "task 3 panicked: boom"
    /// ```
    pub fn map<A, R, F, I>(&self, f: F, items: I) -> Vec<R>
    where
        I: IntoIterator<Item = A>,
        A: Send,
        R: Send,
        F: Fn(A) -> R + Sync + Send,
    {
        // rayon gets an indexed source (splits evenly, results written
        // straight to their slot): a range as a count, anything else
        // collected, which is free for a `Vec` (see `source.rs`). A
        // timeline, when one is taken, is recorded in `checked.rs`.
        let guard = Guard::default();
        let recorder = CallRecorder::begin(Arc::as_ptr(&self.token) as usize, self.threads);
        let rec = recorder.as_ref();
        let outcome = match Counting::of(items) {
            Ok(range) => self.run(range.into_par_iter::<A>(), &guard, rec, |(i, a)| guard.run(i, || f(a))),
            Err(items) => {
                let items: Vec<A> = items.into_iter().collect();
                self.run(items.into_par_iter(), &guard, rec, |(i, a)| guard.run(i, || f(a)))
            }
        };
        // Every task has ended: the tasks so far join the timeline, also
        // when one of them panicked.
        if let Some(recorder) = recorder {
            recorder.finish();
        }
        match outcome {
            Ok(results) => results,
            Err(payload) => guard.rethrow(payload),
        }
    }

    /// Runs `task` on every `(index, item)` of `tasks` on the pool, in
    /// chunks of at least `chunksize`, stopping early on a failure or an
    /// interrupt (`Checked`), recording the tasks in `rec` if given.
    fn run<P, T, R>(&self, tasks: P, guard: &Guard, rec: Option<&CallRecorder>, task: T) -> std::thread::Result<Vec<R>>
    where
        P: IndexedParallelIterator,
        T: Fn((usize, P::Item)) -> R + Sync + Send,
        R: Send,
    {
        let min_len = self.chunksize;
        let run = || Checked::new(tasks.enumerate().with_min_len(min_len), guard, rec).map(task).collect::<Vec<R>>();
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.rayon().install(run)))
    }

    /// Like [`Pool::map`] for functions of several arguments: each item is
    /// a tuple of 2 to 4 values, unpacked into the call (Python's
    /// `starmap`).
    ///
    /// ```
    /// let pool = parlab::Pool::new(2);
    /// assert_eq!(pool.starmap(|a, b| a + b, vec![(1, 2), (3, 4)]), vec![3, 7]);
    /// let clamp = |x: i32, lo: i32, hi: i32| x.clamp(lo, hi);
    /// assert_eq!(pool.starmap(clamp, [(5, 0, 3), (-1, 0, 3)]), vec![3, 0]);
    /// ```
    pub fn starmap<T, F, I>(&self, f: F, items: I) -> Vec<F::Output>
    where
        I: IntoIterator<Item = T>,
        T: Send,
        F: Starmap<T>,
    {
        self.map(|args| f.call(args), items)
    }

    /// Runs `f(arg)` on the pool in the background and returns at once; the
    /// result is collected with [`AsyncResult::get`].
    ///
    /// ```
    /// let pool = parlab::Pool::new(2);
    /// let pending = pool.apply_async(|n: u64| (1..=n).product::<u64>(), 10);
    /// assert_eq!(pending.get(), 3_628_800);
    /// ```
    pub fn apply_async<A, R, F>(&self, f: F, arg: A) -> AsyncResult<R>
    where
        A: Send + 'static,
        R: Send + 'static,
        F: FnOnce(A) -> R + Send + 'static,
    {
        async_result::spawn(&self.rayon(), move || f(arg))
    }
}
