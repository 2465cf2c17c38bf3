//! `apply_async`: one task in the background, its result collected later.
//!
//! The task and the caller meet in a slot guarded by a mutex and a condvar.
//! A caller waiting in [`AsyncResult::get`] or [`AsyncResult::wait`] wakes
//! up regularly to look at the interrupt flag; on an interrupt it cancels
//! the task if it has not started (a running task cannot be stopped) and
//! unwinds with `KeyboardInterrupt`.

use super::task::{keyboard_interrupt, task_panicked, Payload, POLL};
use crate::interrupt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

struct Slot<R> {
    outcome: Mutex<Option<Result<R, Payload>>>,
    done: Condvar,
    cancelled: AtomicBool,
}

/// The pending result of [`Pool::apply_async`](super::Pool::apply_async),
/// like Python's `AsyncResult`.
///
/// ```
/// use std::time::Duration;
/// let pool = parlab::Pool::new(1);
/// let r = pool.apply_async(|s: String| s.len(), "hello".to_string());
/// assert!(r.wait(Duration::from_secs(10)));
/// assert!(r.ready());
/// assert_eq!(r.get(), 5);
/// ```
#[must_use = "the task runs anyway; call `get` to see its result"]
pub struct AsyncResult<R> {
    slot: Arc<Slot<R>>,
}

pub(super) fn spawn<R, F>(threads: &rayon::ThreadPool, task: F) -> AsyncResult<R>
where
    R: Send + 'static,
    F: FnOnce() -> R + Send + 'static,
{
    let slot = Arc::new(Slot { outcome: Mutex::new(None), done: Condvar::new(), cancelled: AtomicBool::new(false) });
    let shared = Arc::clone(&slot);
    threads.spawn(move || {
        if shared.cancelled.load(Ordering::Relaxed) {
            return;
        }
        let outcome = catch_unwind(AssertUnwindSafe(task));
        *lock(&shared.outcome) = Some(outcome);
        shared.done.notify_all();
    });
    AsyncResult { slot }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl<R> AsyncResult<R> {
    /// True once the task has finished (returned or panicked).
    ///
    /// ```
    /// let r = parlab::Pool::new(1).apply_async(|x: u8| x, 7);
    /// let _ = r.wait(std::time::Duration::from_secs(10));
    /// assert!(r.ready());
    /// ```
    pub fn ready(&self) -> bool {
        lock(&self.slot.outcome).is_some()
    }

    /// Waits at most `timeout` for the task to finish; true if it has.
    ///
    /// ```
    /// use std::time::Duration;
    /// let (tx, rx) = std::sync::mpsc::channel::<()>();
    /// let r = parlab::Pool::new(1).apply_async(move |_: ()| rx.recv().ok(), ());
    /// assert!(!r.wait(Duration::from_millis(1))); // blocked on the channel
    /// tx.send(()).unwrap();
    /// assert_eq!(r.get(), Some(()));
    /// ```
    pub fn wait(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut outcome = lock(&self.slot.outcome);
        while outcome.is_none() {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            outcome = self.slot.done.wait_timeout(outcome, POLL.min(deadline - now)).unwrap_or_else(|e| e.into_inner()).0;
            if outcome.is_none() && interrupt::requested() {
                drop(outcome);
                self.cancel_and_interrupt();
            }
        }
        true
    }

    /// Waits for the task and returns its result. A panic in the task
    /// panics here, with its message.
    ///
    /// ```should_panic
    /// let r = parlab::Pool::new(1).apply_async(|_: ()| -> u8 { panic!("boom") }, ());
    /// r.get(); // panics with "task 0 panicked: boom"
    /// ```
    pub fn get(self) -> R {
        let mut outcome = lock(&self.slot.outcome);
        loop {
            if let Some(result) = outcome.take() {
                return result.unwrap_or_else(|payload| task_panicked(0, payload));
            }
            outcome = self.slot.done.wait_timeout(outcome, POLL).unwrap_or_else(|e| e.into_inner()).0;
            if outcome.is_none() && interrupt::requested() {
                drop(outcome);
                self.cancel_and_interrupt();
            }
        }
    }

    fn cancel_and_interrupt(&self) -> ! {
        self.slot.cancelled.store(true, Ordering::Relaxed);
        keyboard_interrupt()
    }
}

impl<R> std::fmt::Debug for AsyncResult<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncResult").field("ready", &self.ready()).finish()
    }
}
