//! A [`Pool`](super::Pool)'s threads, found again from every cell.
//!
//! The kernel links the runtime into one shared library per session, so
//! this module (and rayon) normally exists once per process and a pool's
//! threads are started once. That is not guaranteed: a crate that cannot
//! join the shared library, a session whose shared library could not be
//! built, or a change of the session's crates (a new shared library) gives
//! cells their own copy of rayon with its own thread-locals, and a rayon
//! pool created by one copy cannot be driven by another (the second copy's
//! `install` fails an internal assertion, `injected && !worker_thread.is_null()`).
//! So a `Pool` holds no rayon pool at all, only a token; each copy of this
//! module keeps its own table from tokens to rayon pools and starts the
//! threads the first time it uses the pool (~50 µs per thread).
//!
//! A table entry lives as long as some clone of its `Pool` does: entries
//! whose token has died are dropped (and their threads end) the next time
//! that copy looks a pool up.

use std::sync::{Arc, Mutex, Weak};

/// Identity of a pool across copies: the address of its shared token.
#[derive(Debug, Default)]
pub(super) struct Token;

struct Entry {
    token: Weak<Token>,
    pool: Arc<rayon::ThreadPool>,
}

static TABLE: Mutex<Vec<Entry>> = Mutex::new(Vec::new());

/// This copy's rayon pool for `token`, started with `threads` threads on
/// first use.
pub(super) fn lookup(token: &Arc<Token>, threads: usize) -> Arc<rayon::ThreadPool> {
    let mut table = TABLE.lock().unwrap_or_else(|e| e.into_inner());
    table.retain(|e| e.token.strong_count() > 0);
    if let Some(e) = table.iter().find(|e| std::ptr::eq(e.token.as_ptr(), Arc::as_ptr(token))) {
        return Arc::clone(&e.pool);
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("parlab-pool-{i}"))
        .build()
        .expect("parlab: could not start the pool's threads");
    let pool = Arc::new(pool);
    table.push(Entry { token: Arc::downgrade(token), pool: Arc::clone(&pool) });
    pool
}
