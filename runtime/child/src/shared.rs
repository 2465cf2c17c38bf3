//! The state every copy of this crate in the process shares.
//!
//! evcxr links a cell's dependencies statically into that cell's library,
//! so every cell has its own copy of this crate's statics, and the cells
//! that use `parlab` link another compilation of it than the kernel's
//! set-up does. What must be one per process lives in one [`Shared`]: the
//! first copy allocates it and publishes its address in the environment;
//! every later copy (and the signal handler, whichever copy installed it)
//! uses that same one.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::OnceLock;

const SHARED_ENV: &str = "PARLAB_SHARED";

#[repr(C)]
pub(crate) struct Shared {
    /// Set by `SIGINT`, polled by parlab's loops (see `interrupt`).
    pub(crate) flag: AtomicBool,
    /// Fingerprints of each compilation's `KeyboardInterrupt` type: the
    /// panic hook (from whichever compilation installed it) must know an
    /// interrupt raised by any of them, and `downcast` knows only its own.
    pub(crate) interrupt_types: [AtomicU64; 16],
    /// A `fn()` the panic hook calls before its report, or 0 (see
    /// [`crate::before_next_panic`]).
    pub(crate) before_panic: AtomicUsize,
}

pub(crate) fn shared() -> &'static Shared {
    static SHARED: OnceLock<&'static Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        if let Some(addr) = std::env::var(SHARED_ENV).ok().and_then(|a| a.parse::<usize>().ok()) {
            // SAFETY: the address was published by another copy of this
            // crate in this process; the value is leaked, so it lives forever.
            return unsafe { &*(addr as *const Shared) };
        }
        let leaked: &'static Shared = Box::leak(Box::new(Shared {
            flag: AtomicBool::new(false),
            interrupt_types: Default::default(),
            before_panic: AtomicUsize::new(0),
        }));
        // SAFETY: called once per copy, during the kernel's set-up cell,
        // before user code starts threads that read the environment.
        unsafe { std::env::set_var(SHARED_ENV, (leaked as *const Shared as usize).to_string()) };
        leaked
    })
}

/// Takes the function registered to run before the next panic report.
pub(crate) fn take_before_panic() -> Option<fn()> {
    let f = shared().before_panic.swap(0, Ordering::SeqCst);
    // SAFETY: only `set_before_panic` stores non-zero values, and they are
    // `fn()` pointers into libraries the process never unloads.
    (f != 0).then(|| unsafe { std::mem::transmute::<usize, fn()>(f) })
}

pub(crate) fn set_before_panic(f: Option<fn()>) {
    shared().before_panic.store(f.map_or(0, |f| f as usize), Ordering::SeqCst);
}
