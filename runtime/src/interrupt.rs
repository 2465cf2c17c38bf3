//! Cooperative interruption.
//!
//! The kernel answers a Jupyter `interrupt_request` by sending `SIGINT` to
//! the evaluation process. [`install`] (run by the kernel when the process
//! starts) turns that signal into a flag instead of process death; loops
//! that parlab owns (timing repeats, pool tasks, profiled runs) poll the
//! flag between iterations with [`check`] and unwind with a
//! [`KeyboardInterrupt`] payload, so the cell ends with an error and every
//! notebook variable survives. Code that never polls (a bare `loop {}`)
//! cannot be stopped this way; the kernel then falls back to restarting the
//! process after a grace period and says which variables were lost.

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Panic payload used when an interrupt unwinds a cell. The kernel shows it
/// as IPython does: `KeyboardInterrupt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyboardInterrupt;

impl std::fmt::Display for KeyboardInterrupt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyboardInterrupt")
    }
}

/// True if an interrupt was requested and not yet consumed.
///
/// ```
/// assert!(!parlab::interrupt::requested());
/// ```
#[inline]
pub fn requested() -> bool {
    REQUESTED.load(Ordering::Relaxed)
}

/// Unwinds with [`KeyboardInterrupt`] if an interrupt was requested,
/// consuming the request. Call it between units of work.
#[inline]
pub fn check() {
    if REQUESTED.load(Ordering::Relaxed) {
        REQUESTED.store(false, Ordering::Relaxed);
        std::panic::panic_any(KeyboardInterrupt);
    }
}

/// Sets the flag, as the `SIGINT` handler does. Used by tests.
pub fn request() {
    REQUESTED.store(true, Ordering::Relaxed);
}

/// Clears a pending request (the kernel does so at the start of each cell).
pub fn clear() {
    REQUESTED.store(false, Ordering::Relaxed);
}

extern "C" fn on_sigint(_: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    REQUESTED.store(true, Ordering::Relaxed);
}

/// Routes `SIGINT` to the flag. Idempotent.
pub(crate) fn install() {
    // SAFETY: installing a handler that only performs an atomic store.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigint as usize;
        action.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGINT, &action, std::ptr::null_mut());
    }
}
