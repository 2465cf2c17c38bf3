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

use crate::shared::shared;
use std::any::{Any, TypeId};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

fn flag() -> &'static AtomicBool {
    &shared().flag
}

fn fingerprint(t: TypeId) -> u64 {
    let mut h = DefaultHasher::new();
    t.hash(&mut h);
    h.finish().max(1)
}

/// Adds this compilation's [`KeyboardInterrupt`] to the shared fingerprints.
fn register() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let fp = fingerprint(TypeId::of::<KeyboardInterrupt>());
        for slot in &shared().interrupt_types {
            match slot.compare_exchange(0, fp, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => return,
                Err(v) if v == fp => return,
                Err(_) => {}
            }
        }
    });
}

/// Whether a panic payload is a [`KeyboardInterrupt`], raised by this or
/// any other compilation of this crate in the process.
///
/// ```
/// use parlab_child::interrupt::{is_interrupt, KeyboardInterrupt};
/// assert!(is_interrupt(&KeyboardInterrupt));
/// assert!(!is_interrupt(&"KeyboardInterrupt"));
/// ```
pub fn is_interrupt(payload: &(dyn Any + Send)) -> bool {
    let any: &dyn Any = payload;
    if any.is::<KeyboardInterrupt>() {
        return true;
    }
    let fp = fingerprint(any.type_id());
    shared().interrupt_types.iter().any(|s| s.load(Ordering::Relaxed) == fp)
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

/// The flag itself, for checks in hot loops that cannot afford a call per
/// check: `%lprun`'s loop-header probes keep it in their frame (one load
/// per iteration instead of a call that was ~2 ns, most of a probe's
/// cost). Set means "call [`check`] now".
#[inline]
pub fn flag_ref() -> &'static AtomicBool {
    flag()
}

/// Unwinds with [`KeyboardInterrupt`] if an interrupt was requested,
/// consuming the request. Call it between units of work.
#[inline]
pub fn check() {
    let flag = flag();
    if flag.load(Ordering::Relaxed) {
        flag.store(false, Ordering::Relaxed);
        raise();
    }
}

/// Unwinds with [`KeyboardInterrupt`], which the panic hook reports as an
/// interrupt whichever compilation of this crate installed it.
pub fn raise() -> ! {
    register();
    std::panic::panic_any(KeyboardInterrupt)
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
