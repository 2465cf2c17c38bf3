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
use std::sync::OnceLock;

/// evcxr links a cell's dependencies statically into that cell's library,
/// so every cell has its own copy of this crate's statics. The flag must
/// be one per process: the first copy allocates it and publishes its
/// address in the environment; every later copy (and the signal handler,
/// whichever copy installed it) uses that same flag.
const SHARED_FLAG_ENV: &str = "PARLAB_INTERRUPT_FLAG";

fn flag() -> &'static AtomicBool {
    static FLAG: OnceLock<&'static AtomicBool> = OnceLock::new();
    FLAG.get_or_init(|| {
        if let Some(addr) = std::env::var(SHARED_FLAG_ENV).ok().and_then(|a| a.parse::<usize>().ok()) {
            // SAFETY: the address was published by another copy of this
            // crate in this process; the flag is leaked, so it lives forever.
            return unsafe { &*(addr as *const AtomicBool) };
        }
        let leaked: &'static AtomicBool = Box::leak(Box::new(AtomicBool::new(false)));
        // SAFETY: called once per copy, during the kernel's set-up cell,
        // before user code starts threads that read the environment.
        unsafe { std::env::set_var(SHARED_FLAG_ENV, (leaked as *const AtomicBool as usize).to_string()) };
        leaked
    })
}

static HANDLER_FLAG: std::sync::atomic::AtomicPtr<AtomicBool> = std::sync::atomic::AtomicPtr::new(std::ptr::null_mut());

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
/// assert!(!parlab_child::interrupt::requested());
/// ```
#[inline]
pub fn requested() -> bool {
    flag().load(Ordering::Relaxed)
}

/// Unwinds with [`KeyboardInterrupt`] if an interrupt was requested,
/// consuming the request. Call it between units of work.
#[inline]
pub fn check() {
    let flag = flag();
    if flag.load(Ordering::Relaxed) {
        flag.store(false, Ordering::Relaxed);
        std::panic::panic_any(KeyboardInterrupt);
    }
}

/// Sets the flag, as the `SIGINT` handler does. Used by tests.
pub fn request() {
    flag().store(true, Ordering::Relaxed);
}

/// Clears a pending request (the kernel does so at the start of each cell).
pub fn clear() {
    flag().store(false, Ordering::Relaxed);
}

extern "C" fn on_sigint(_: libc::c_int) {
    // Only atomic loads and stores: async-signal-safe.
    let flag = HANDLER_FLAG.load(Ordering::Relaxed);
    if !flag.is_null() {
        // SAFETY: points at the leaked process-wide flag.
        unsafe { (*flag).store(true, Ordering::Relaxed) };
    }
}

/// Routes `SIGINT` to the flag. Idempotent.
pub(crate) fn install() {
    HANDLER_FLAG.store(flag() as *const AtomicBool as *mut AtomicBool, Ordering::Relaxed);
    // SAFETY: installing a handler that only performs an atomic store.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigint as extern "C" fn(libc::c_int) as usize;
        action.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGINT, &action, std::ptr::null_mut());
    }
}
