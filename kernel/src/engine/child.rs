//! Interrupting and ending the evaluation process.
//!
//! Interrupt mode is `signal` (documented in the kernelspec): the kernel
//! receives `interrupt_request` on control and sends `SIGINT` to the
//! evaluation process, where the runtime turns it into a flag that
//! parlab's own loops poll (no variable is lost). Code that never polls
//! gets a grace period; then the process is killed, evcxr starts a new
//! one, and the cell's error names the variables that were lost.

use crate::interpreter::Interrupter;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// How long cooperative interruption may take before the process is killed.
pub(crate) const GRACE: Duration = Duration::from_millis(1200);

#[derive(Default)]
pub(crate) struct ChildControl {
    handle: OnceLock<Arc<Mutex<std::process::Child>>>,
    /// Odd while a cell runs; bumped at each start and end.
    generation: AtomicU64,
    interrupted: AtomicBool,
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
        self.signal(libc::SIGKILL);
    }
}
