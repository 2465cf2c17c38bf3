//! `imap` and `imap_unordered`: results as they come, while workers run.
//!
//! One background rayon job runs the whole batch as a parallel loop (the
//! same splitting and batching as `map`) and sends each `(index, outcome)`
//! down a channel; the iterator on the caller's side only receives (and,
//! for `imap`, puts results back in order in a window that holds just the
//! results that arrived early). Nothing waits for the last task before the
//! first result is yielded.
//!
//! A shared `limit` stops dispatch: tasks with an index at or above it are
//! skipped. A panic in task `i` lowers it to `i`, so every earlier task
//! still runs and `imap` yields their results before panicking at `i`
//! (what a serial loop would do). Dropping the iterator or an interrupt
//! lowers it to 0.

use super::task::{keyboard_interrupt, task_panicked, Payload, POLL};
use super::Pool;
use crate::interrupt;
use rayon::prelude::*;
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::sync::Arc;

type Outcome<R> = Result<R, Payload>;

#[derive(Default)]
struct Control {
    limit: AtomicUsize,
    interrupted: AtomicBool,
}

/// The caller's end of a running batch.
struct Feed<R> {
    rx: Receiver<(usize, Outcome<R>)>,
    control: Arc<Control>,
    len: usize,
    received: usize,
    // Keeps the threads alive as long as results may come.
    _pool: Pool,
}

impl<R: Send + 'static> Feed<R> {
    fn start<A, F>(pool: &Pool, f: F, items: Vec<A>) -> Self
    where
        A: Send + 'static,
        F: Fn(A) -> R + Send + Sync + 'static,
    {
        let (tx, rx) = channel();
        let control = Arc::new(Control { limit: AtomicUsize::new(usize::MAX), ..Control::default() });
        let len = items.len();
        let shared = Arc::clone(&control);
        let min_len = pool.chunksize;
        pool.rayon().spawn(move || {
            items.into_par_iter().enumerate().with_min_len(min_len).for_each_with(tx, |tx, (i, a)| {
                if i >= shared.limit.load(Ordering::Relaxed) {
                    return;
                }
                if interrupt::requested() {
                    shared.interrupted.store(true, Ordering::Relaxed);
                    shared.limit.store(0, Ordering::Relaxed);
                    return;
                }
                let outcome = catch_unwind(AssertUnwindSafe(|| f(a)));
                if outcome.is_err() {
                    shared.limit.fetch_min(i, Ordering::Relaxed);
                }
                if tx.send((i, outcome)).is_err() {
                    shared.limit.store(0, Ordering::Relaxed); // nobody listens
                }
            });
        });
        Feed { rx, control, len, received: 0, _pool: pool.clone() }
    }

    /// The next `(index, outcome)` to arrive; `None` once all have.
    fn recv(&mut self) -> Option<(usize, Outcome<R>)> {
        if self.received == self.len {
            return None;
        }
        loop {
            match self.rx.recv_timeout(POLL) {
                Ok(msg) => {
                    self.received += 1;
                    return Some(msg);
                }
                Err(RecvTimeoutError::Timeout) if !interrupt::requested() => {}
                // Interrupted while waiting, or the batch ended with tasks
                // we wait for skipped: only an interrupt does that.
                Err(e) => {
                    self.control.limit.store(0, Ordering::Relaxed);
                    let interrupted = self.control.interrupted.load(Ordering::Relaxed);
                    if e == RecvTimeoutError::Disconnected && !interrupted && !interrupt::requested() {
                        panic!("pool: the workers stopped before sending every result");
                    }
                    keyboard_interrupt();
                }
            }
        }
    }
}

impl<R> Drop for Feed<R> {
    fn drop(&mut self) {
        self.control.limit.store(0, Ordering::Relaxed);
    }
}

/// The lazy iterator returned by [`Pool::imap`]: results in the items'
/// order, each as soon as it and all before it are done.
#[must_use = "iterate over it to get the results; dropping it skips tasks not yet started"]
pub struct Imap<R> {
    feed: Feed<R>,
    next: usize,
    // Results for indices next, next + 1, … that arrived early.
    window: VecDeque<Option<Outcome<R>>>,
}

/// The lazy iterator returned by [`Pool::imap_unordered`]: results in the
/// order they finish.
#[must_use = "iterate over it to get the results; dropping it skips tasks not yet started"]
pub struct ImapUnordered<R> {
    feed: Feed<R>,
}

impl Pool {
    /// Starts `f` on every item in the background and returns an iterator
    /// over the results, in the items' order, while the workers keep going.
    ///
    /// The tasks outlive the call, so `f` and the items must be `'static`
    /// (move what they need into the closure). Dropping the iterator skips
    /// tasks not yet started. A panicking task panics the caller when its
    /// result is due, after the results before it.
    ///
    /// ```
    /// let pool = parlab::Pool::new(2);
    /// let mut results = pool.imap(|x: u64| x * x, 1..=4);
    /// assert_eq!(results.next(), Some(1)); // the others may still be running
    /// assert_eq!(results.collect::<Vec<_>>(), vec![4, 9, 16]);
    /// ```
    pub fn imap<A, R, F, I>(&self, f: F, items: I) -> Imap<R>
    where
        I: IntoIterator<Item = A>,
        A: Send + 'static,
        R: Send + 'static,
        F: Fn(A) -> R + Send + Sync + 'static,
    {
        Imap { feed: Feed::start(self, f, items.into_iter().collect()), next: 0, window: VecDeque::new() }
    }

    /// Like [`Pool::imap`], but yields each result as soon as its task
    /// finishes, whatever its position.
    ///
    /// ```
    /// let pool = parlab::Pool::new(2);
    /// let mut squares: Vec<u64> = pool.imap_unordered(|x: u64| x * x, 1..=4).collect();
    /// squares.sort();
    /// assert_eq!(squares, vec![1, 4, 9, 16]);
    /// ```
    pub fn imap_unordered<A, R, F, I>(&self, f: F, items: I) -> ImapUnordered<R>
    where
        I: IntoIterator<Item = A>,
        A: Send + 'static,
        R: Send + 'static,
        F: Fn(A) -> R + Send + Sync + 'static,
    {
        ImapUnordered { feed: Feed::start(self, f, items.into_iter().collect()) }
    }
}

fn unwrap_outcome<R>(task: usize, outcome: Outcome<R>) -> R {
    outcome.unwrap_or_else(|payload| task_panicked(task, payload))
}

impl<R: Send + 'static> Iterator for Imap<R> {
    type Item = R;

    fn next(&mut self) -> Option<R> {
        loop {
            if let Some(Some(_)) = self.window.front() {
                let outcome = self.window.pop_front().flatten().expect("checked above");
                let task = self.next;
                self.next += 1;
                return Some(unwrap_outcome(task, outcome));
            }
            if self.next == self.feed.len {
                return None;
            }
            let (i, outcome) = self.feed.recv()?;
            let offset = i - self.next;
            if self.window.len() <= offset {
                self.window.resize_with(offset + 1, || None);
            }
            self.window[offset] = Some(outcome);
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.feed.len - self.next;
        (left, Some(left))
    }
}

impl<R: Send + 'static> Iterator for ImapUnordered<R> {
    type Item = R;

    fn next(&mut self) -> Option<R> {
        let (i, outcome) = self.feed.recv()?;
        Some(unwrap_outcome(i, outcome))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.feed.len - self.feed.received;
        (left, Some(left))
    }
}

impl<R> std::fmt::Debug for Imap<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Imap").field("len", &self.feed.len).field("next", &self.next).finish()
    }
}

impl<R> std::fmt::Debug for ImapUnordered<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImapUnordered").field("len", &self.feed.len).field("received", &self.feed.received).finish()
    }
}
