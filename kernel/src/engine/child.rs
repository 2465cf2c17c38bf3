//! Interrupting and ending the evaluation process.
//!
//! Interrupt mode is `message` (the kernelspec, `install.rs`): the kernel
//! receives `interrupt_request` on control and itself sends `SIGINT` to
//! the evaluation process, where the runtime turns it into a flag that
//! parlab's own loops poll (no variable is lost). Code that never polls
//! gets a grace period; then the process is killed, evcxr starts a new
//! one, and the cell's error names the variables that were lost.

use crate::interpreter::Interrupter;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// How long cooperative interruption may take before the process is killed.
pub(crate) const GRACE: Duration = Duration::from_millis(1200);

/// Stops a process tree a cell waits on outside the evaluation process
/// (`%%mpirun`'s cargo and mpirun); `true` means by force, now.
pub(crate) type ExternalStop = Arc<dyn Fn(bool) + Send + Sync>;

#[derive(Default)]
pub(crate) struct ChildControl {
    handle: OnceLock<Arc<Mutex<std::process::Child>>>,
    /// Odd while a cell runs; bumped at each start and end.
    generation: AtomicU64,
    interrupted: AtomicBool,
    /// Set while the running cell waits on external processes: interrupts
    /// go to them, and the evaluation process (and its variables) is left
    /// alone.
    external: Mutex<Option<ExternalStop>>,
}

impl ChildControl {
    pub(crate) fn attach(&self, handle: Arc<Mutex<std::process::Child>>) {
        let _ = self.handle.set(handle);
    }

    pub(crate) fn pid(&self) -> Option<i32> {
        let h = self.handle.get()?;
        let child = h.lock().ok()?;
        Some(child.id() as i32)
    }

    pub(crate) fn begin(&self) {
        self.interrupted.store(false, Ordering::SeqCst);
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Ends the running cell; returns whether it was interrupted.
    pub(crate) fn end(&self) -> bool {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.interrupted.swap(false, Ordering::SeqCst)
    }

    /// Starts a cell that runs outside the evaluation process; interrupts
    /// call `stop(false)`, then `stop(true)` after [`GRACE`].
    pub(crate) fn begin_external(&self, stop: ExternalStop) {
        *self.external.lock().unwrap_or_else(|e| e.into_inner()) = Some(stop);
        self.begin();
    }

    /// Ends such a cell; returns whether it was interrupted.
    pub(crate) fn end_external(&self) -> bool {
        let interrupted = self.end();
        *self.external.lock().unwrap_or_else(|e| e.into_inner()) = None;
        interrupted
    }

    /// Whether the running cell has been asked to stop.
    pub(crate) fn interrupt_pending(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst)
    }

    fn external(&self) -> Option<ExternalStop> {
        self.external.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn signal(&self, sig: i32) {
        if let Some(pid) = self.pid() {
            // SAFETY: kill(2) on our own child's pid.
            unsafe {
                libc::kill(pid, sig);
            }
        }
    }
}

impl Interrupter for Arc<ChildControl> {
    fn interrupt(&self) {
        let gen = self.generation.load(Ordering::SeqCst);
        if gen % 2 == 0 {
            return; // idle: nothing to interrupt
        }
        self.interrupted.store(true, Ordering::SeqCst);
        if let Some(stop) = self.external() {
            stop(false);
            let me = self.clone();
            std::thread::spawn(move || {
                std::thread::sleep(GRACE);
                if me.generation.load(Ordering::SeqCst) == gen {
                    stop(true);
                }
            });
            return;
        }
        self.signal(libc::SIGINT);
        let me = self.clone();
        std::thread::spawn(move || {
            std::thread::sleep(GRACE);
            if me.generation.load(Ordering::SeqCst) == gen {
                me.signal(libc::SIGKILL);
            }
        });
    }

    fn terminate(&self) {
        if let Some(stop) = self.external() {
            stop(true);
        }
        self.signal(libc::SIGKILL);
    }
}
