//! `ProcessPool`: tasks in forked worker processes, arguments and results
//! serialized across, as Python's `multiprocessing.Pool` does.
//!
//! It exists for the lesson, not for speed: in Rust, threads ([`Pool`](super::Pool))
//! run in parallel already, and a process pool adds what the course calls
//! the cost of pickling (here bincode over a socket) plus a fork per worker
//! per call. Compare the two on a large argument to see it.
//!
//! Workers are forked when `map`/`imap` is called and killed when it ends,
//! so they see the notebook's state as of the call. The function is a
//! plain `fn` (or a closure that captures nothing): in a fork its address
//! is valid. Dispatch is dynamic, one task at a time per worker. A worker
//! that dies (abort, segfault, `exit`) gives
//! [`ProcessPoolError::WorkerDied`] naming its task, never a hang.
//!
//! Caveats of `fork` in a threaded process, which apply to `f`: only the
//! calling thread exists in the worker, so `f` must not use rayon, a
//! [`Pool`](super::Pool), or any lock another thread may have held
//! (printing is usually fine but can hang if another thread was printing
//! at that instant). File descriptors other than stdio are closed.

mod worker;

use self::worker::{config, Worker, CODEC, OK, PANIC};
use super::task::{keyboard_interrupt, POLL};
use crate::interrupt;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::BTreeMap;
use std::os::fd::AsRawFd;
use std::process::ExitStatus;

/// Why a [`ProcessPool`] call failed.
///
/// ```
/// let pool = parlab::ProcessPool::new(2);
/// let err = pool.map(|x: u32| if x == 2 { std::process::abort() } else { x }, 0..4).unwrap_err();
/// assert!(matches!(err, parlab::ProcessPoolError::WorkerDied { task: 2, .. }));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProcessPoolError {
    /// The worker running `task` died (killed by a signal or exited).
    #[error("worker process {pid} died while running task {task} ({status})")]
    WorkerDied { task: usize, pid: i32, status: ExitStatus },
    /// `task` panicked in its worker.
    #[error("task {task} panicked in a worker process: {message}")]
    TaskPanicked { task: usize, message: String },
    /// A worker could not decode the argument or encode the result of
    /// `task` (the error crossed the process boundary as text).
    #[error("task {task} in a worker process: {message}")]
    WorkerCodec { task: usize, message: String },
    /// The argument of `task` could not be encoded.
    #[error("could not encode the argument of task {task}")]
    Encode { task: usize, #[source] source: bincode::error::EncodeError },
    /// The result of `task` could not be decoded.
    #[error("could not decode the result of task {task}")]
    Decode { task: usize, #[source] source: bincode::error::DecodeError },
    /// A worker process could not be started.
    #[error("could not start a worker process")]
    Spawn(#[source] std::io::Error),
}

/// A pool of worker processes with `map` and `imap`.
///
/// ```
/// fn square(x: u64) -> u64 { x * x }
/// let pool = parlab::ProcessPool::new(2);
/// assert_eq!(pool.map(square, 1..=4)?, vec![1, 4, 9, 16]);
/// # Ok::<(), parlab::ProcessPoolError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessPool {
    workers: usize,
}

impl Default for ProcessPool {
    /// One worker per core.
    fn default() -> Self {
        ProcessPool::new(std::thread::available_parallelism().map_or(1, |n| n.get()))
    }
}

impl ProcessPool {
    /// A pool that forks `workers` processes (at least one) per call.
    ///
    /// ```
    /// assert_eq!(parlab::ProcessPool::new(4).workers(), 4);
    /// ```
    pub fn new(workers: usize) -> Self {
        ProcessPool { workers: workers.max(1) }
    }

    /// The number of worker processes.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Applies `f` to every item in the worker processes; results keep the
    /// items' order. The first failure (in item order) is returned.
    ///
    /// ```
    /// let pool = parlab::ProcessPool::new(2);
    /// let words = pool.map(|s: String| s.to_uppercase(), ["a".to_string(), "b".to_string()])?;
    /// assert_eq!(words, ["A", "B"]);
    /// # Ok::<(), parlab::ProcessPoolError>(())
    /// ```
    pub fn map<A, R, I>(&self, f: fn(A) -> R, items: I) -> Result<Vec<R>, ProcessPoolError>
    where
        I: IntoIterator<Item = A>,
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
    {
        self.imap(f, items).collect()
    }

    /// Starts the workers on the first items and returns an iterator over
    /// the results, in order. Workers get new items as you iterate; after
    /// a failure the iterator yields it and stops.
    ///
    /// ```
    /// let pool = parlab::ProcessPool::new(2);
    /// let mut it = pool.imap(|x: i32| -x, vec![1, 2, 3]);
    /// assert_eq!(it.next().transpose()?, Some(-1));
    /// assert_eq!(it.collect::<Result<Vec<_>, _>>()?, vec![-2, -3]);
    /// # Ok::<(), parlab::ProcessPoolError>(())
    /// ```
    pub fn imap<A, R, I>(&self, f: fn(A) -> R, items: I) -> ProcessImap<I::IntoIter, R>
    where
        I: IntoIterator<Item = A>,
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
    {
        let mut workers = Vec::with_capacity(self.workers);
        let mut failure = None;
        for _ in 0..self.workers {
            match Worker::spawn(f) {
                Ok(w) => workers.push(w),
                Err(e) => {
                    failure = Some((0, ProcessPoolError::Spawn(e)));
                    break;
                }
            }
        }
        let mut it = ProcessImap { items: items.into_iter(), dispatched: 0, next: 0, workers, done: BTreeMap::new(), failure, finished: false };
        it.dispatch();
        it
    }
}

/// The iterator returned by [`ProcessPool::imap`]; yields
/// `Result<R, ProcessPoolError>` in the items' order. Dropping it kills
/// the workers.
#[must_use = "workers only get new items as you iterate"]
pub struct ProcessImap<I, R> {
    items: I,
    dispatched: usize,
    next: usize,
    workers: Vec<Worker>,
    /// Results that arrived before their turn.
    done: BTreeMap<usize, R>,
    /// The first failure, by task index; no task is dispatched after one.
    failure: Option<(usize, ProcessPoolError)>,
    finished: bool,
}

impl<I, R> ProcessImap<I, R>
where
    I: Iterator,
    I::Item: Serialize,
    R: DeserializeOwned,
{
    fn fail(&mut self, task: usize, error: ProcessPoolError) {
        if self.failure.as_ref().is_none_or(|(t, _)| task < *t) {
            self.failure = Some((task, error));
        }
    }

    /// Gives every idle worker its next item, unless something failed.
    fn dispatch(&mut self) {
        for w in 0..self.workers.len() {
            if self.failure.is_some() {
                return;
            }
            if self.workers[w].task.is_some() {
                continue;
            }
            let Some(item) = self.items.next() else { return };
            let task = self.dispatched;
            self.dispatched += 1;
            match bincode::serde::encode_to_vec(&item, config()) {
                Err(source) => self.fail(task, ProcessPoolError::Encode { task, source }),
                Ok(bytes) => {
                    drop(item);
                    self.workers[w].task = Some(task);
                    if self.workers[w].send(&bytes).is_err() {
                        self.bury(w);
                    }
                }
            }
        }
    }

    /// Records the death of worker `w` against its task.
    fn bury(&mut self, w: usize) {
        let worker = self.workers.swap_remove(w);
        let status = worker.reap(true);
        if let Some(task) = worker.task {
            self.fail(task, ProcessPoolError::WorkerDied { task, pid: worker.pid, status });
        }
    }

    /// Waits for one answer from a busy worker and files it.
    fn receive(&mut self) {
        let mut fds: Vec<libc::pollfd> = self
            .workers
            .iter()
            .filter(|w| w.task.is_some())
            .map(|w| libc::pollfd { fd: w.stream.as_raw_fd(), events: libc::POLLIN, revents: 0 })
            .collect();
        // SAFETY: polling descriptors we own.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, POLL.as_millis() as i32) };
        if interrupt::requested() {
            self.workers.drain(..).for_each(|w| {
                w.reap(true);
            });
            keyboard_interrupt();
        }
        if n <= 0 {
            // Also catch a death whose end-of-file we cannot see.
            let dead = self.workers.iter().enumerate().find_map(|(i, w)| Some((i, w.task?, w.try_reap()?)));
            if let Some((w, task, status)) = dead {
                let pid = self.workers.swap_remove(w).pid;
                self.fail(task, ProcessPoolError::WorkerDied { task, pid, status });
            }
            return;
        }
        let ready = fds.iter().find(|p| p.revents != 0).map(|p| p.fd);
        let Some(w) = self.workers.iter().position(|w| Some(w.stream.as_raw_fd()) == ready) else { return };
        let task = self.workers[w].task.expect("only busy workers are polled");
        match self.workers[w].recv() {
            Err(_) => self.bury(w),
            Ok((tag, bytes)) => {
                self.workers[w].task = None;
                let text = || String::from_utf8_lossy(&bytes).into_owned();
                match tag {
                    OK => match bincode::serde::decode_from_slice::<R, _>(&bytes, config()) {
                        Ok((r, _)) => drop(self.done.insert(task, r)),
                        Err(source) => self.fail(task, ProcessPoolError::Decode { task, source }),
                    },
                    PANIC => self.fail(task, ProcessPoolError::TaskPanicked { task, message: text() }),
                    CODEC => self.fail(task, ProcessPoolError::WorkerCodec { task, message: text() }),
                    _ => self.bury(w),
                }
            }
        }
    }
}

impl<I, R> Iterator for ProcessImap<I, R>
where
    I: Iterator,
    I::Item: Serialize,
    R: DeserializeOwned,
{
    type Item = Result<R, ProcessPoolError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.finished {
                return None;
            }
            if let Some(r) = self.done.remove(&self.next) {
                self.next += 1;
                self.dispatch();
                return Some(Ok(r));
            }
            if self.failure.as_ref().is_some_and(|(t, _)| *t == self.next) {
                self.finished = true;
                return self.failure.take().map(|(_, e)| Err(e));
            }
            if self.next == self.dispatched && self.failure.is_none() {
                self.finished = true; // every item is done
                return None;
            }
            if !self.workers.iter().any(|w| w.task.is_some()) {
                // Nothing running and the next result is not here: every
                // worker died; report the first failure.
                self.finished = true;
                return self.failure.take().map(|(_, e)| Err(e));
            }
            self.receive();
            self.dispatch();
        }
    }
}

impl<I, R> Drop for ProcessImap<I, R> {
    fn drop(&mut self) {
        for w in self.workers.drain(..) {
            w.reap(true);
        }
    }
}

impl<I, R> std::fmt::Debug for ProcessImap<I, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessImap").field("workers", &self.workers.len()).field("next", &self.next).finish()
    }
}
