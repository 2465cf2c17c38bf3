//! How a task's failure travels from a worker to the caller.
//!
//! Workers catch a task's panic, record it with the task's index, and
//! abandon the rest of their batch by unwinding with a private [`Skipped`]
//! payload (through `resume_unwind`, which skips the panic hook, so the
//! notebook shows only the real panic). Every later task sees the stop flag
//! and skips too (the flag is read between blocks of tasks, see
//! `checked`), so a failed `map` ends quickly. rayon carries *some*
//! payload to the caller; the caller then ignores it in favour of the
//! recorded one, so the message is always the first real failure's.

use crate::interrupt;
use std::any::Any;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

pub(super) type Payload = Box<dyn Any + Send>;

/// The payload of a worker abandoning its batch; never seen by users.
struct Skipped;

enum Failure {
    Panicked { task: usize, payload: Payload },
    Interrupted,
}

/// Shared by the tasks of one blocking call (`map`, `starmap`).
#[derive(Default)]
pub(super) struct Guard {
    stop: AtomicBool,
    failure: Mutex<Option<Failure>>,
}

impl Guard {
    /// Unwinds (skipping the rest of the batch) if the call is stopping:
    /// a task failed or an interrupt was requested.
    #[inline]
    pub(super) fn check(&self) {
        if self.stop.load(Ordering::Relaxed) || interrupt::requested() {
            self.skip();
        }
    }

    /// Runs task `i`, turning its panic into a recorded failure.
    #[inline]
    pub(super) fn run<R>(&self, i: usize, task: impl FnOnce() -> R) -> R {
        match catch_unwind(AssertUnwindSafe(task)) {
            Ok(r) => r,
            Err(payload) => self.fail(i, payload),
        }
    }

    #[cold]
    fn skip(&self) -> ! {
        if !self.stop.swap(true, Ordering::Relaxed) && interrupt::requested() {
            self.record(Failure::Interrupted);
        }
        resume_unwind(Box::new(Skipped))
    }

    #[cold]
    fn fail(&self, task: usize, payload: Payload) -> ! {
        self.stop.store(true, Ordering::Relaxed);
        self.record(Failure::Panicked { task, payload });
        resume_unwind(Box::new(Skipped))
    }

    fn record(&self, new: Failure) {
        let mut slot = self.failure.lock().unwrap_or_else(|e| e.into_inner());
        // Keep the lowest failing task, as a serial loop would report it.
        let replace = match (&*slot, &new) {
            (None, _) => true,
            (Some(Failure::Interrupted), Failure::Panicked { .. }) => true,
            (Some(Failure::Panicked { task: old, .. }), Failure::Panicked { task, .. }) => task < old,
            _ => false,
        };
        if replace {
            *slot = Some(new);
        }
    }

    /// Re-raises on the caller's thread what made the call unwind.
    pub(super) fn rethrow(&self, payload: Payload) -> ! {
        let failure = self.failure.lock().unwrap_or_else(|e| e.into_inner()).take();
        match failure {
            Some(Failure::Panicked { task, payload }) => task_panicked(task, payload),
            Some(Failure::Interrupted) => keyboard_interrupt(),
            None if payload.is::<Skipped>() => keyboard_interrupt(),
            None => resume_unwind(payload),
        }
    }
}

/// Panics the caller with the task's message, or re-raises a payload that
/// is not a message (a task's own `KeyboardInterrupt`, a `panic_any`).
pub(super) fn task_panicked(task: usize, payload: Payload) -> ! {
    match message(&*payload) {
        Some(msg) => panic!("task {task} panicked: {msg}"),
        None => resume_unwind(payload),
    }
}

/// Consumes the interrupt request and unwinds like [`interrupt::check`].
pub(super) fn keyboard_interrupt() -> ! {
    interrupt::clear();
    interrupt::raise()
}

/// The text of a panic payload, if it has one.
pub(super) fn message(payload: &(dyn Any + Send)) -> Option<&str> {
    if let Some(s) = payload.downcast_ref::<&str>() {
        Some(s)
    } else {
        payload.downcast_ref::<String>().map(String::as_str)
    }
}

/// How long a waiting caller sleeps between looks at the interrupt flag.
pub(super) const POLL: std::time::Duration = std::time::Duration::from_millis(20);
