//! Per-thread hit/time tables and their merge.
//!
//! Hot path: a probe adds to a slot of *its own thread's* table through a
//! pointer its frame looked up once at function entry; no lock, no shared
//! cache line, no read-modify-write instruction. Slots are `AtomicU64`
//! accessed with relaxed loads and stores (plain `mov`s on x86-64) only so
//! that the merge, which reads other threads' tables after the statement
//! finished, is not a data race.
//!
//! Each thread registers a table per profiled function on first use in a
//! global list (under a mutex, once). Tables are never freed: a frame that
//! outlives its session (a detached thread) can still write safely, and a
//! new session zeroes them instead. Memory is bounded by threads × session
//! functions × lines.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

/// Whether a session is recording; frames entered while false stay inert.
pub(crate) static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Hits and ticks of one line on one thread.
#[derive(Debug, Default)]
#[repr(C, align(16))]
pub(crate) struct Slot {
    pub(crate) hits: AtomicU64,
    pub(crate) ticks: AtomicU64,
}

/// Slots kept empty on each side of a table so that two threads' tables
/// never share a cache line.
const PAD: usize = 4;

#[derive(Debug)]
struct Table {
    fn_id: u32,
    /// `PAD` + lines + 1 sink (the "no line yet" slot) + `PAD`.
    slots: Box<[Slot]>,
}

impl Table {
    fn lines(&self) -> usize {
        self.slots.len() - 2 * PAD - 1
    }
}

static REGISTRY: Mutex<Vec<Arc<Table>>> = Mutex::new(Vec::new());

thread_local! {
    static LOCAL: RefCell<Vec<Option<Arc<Table>>>> = const { RefCell::new(Vec::new()) };
}

/// This thread's slots for function `fn_id` with `lines` lines (slot
/// `lines` is the sink). Valid for the life of the process.
pub(crate) fn slots(fn_id: u32, lines: u32) -> *const Slot {
    LOCAL.with(|local| {
        let mut local = local.borrow_mut();
        let i = fn_id as usize;
        if local.len() <= i {
            local.resize(i + 1, None);
        }
        if local[i].as_ref().is_none_or(|t| t.lines() < lines as usize) {
            let slots = (0..lines as usize + 1 + 2 * PAD).map(|_| Slot::default()).collect();
            let table = Arc::new(Table { fn_id, slots });
            REGISTRY.lock().unwrap_or_else(|e| e.into_inner()).push(table.clone());
            local[i] = Some(table);
        }
        local[i].as_ref().map_or(std::ptr::null(), |t| t.slots[PAD..].as_ptr())
    })
}

/// Zeroes every table (start of a session).
pub(crate) fn reset() {
    for t in REGISTRY.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        for s in t.slots.iter() {
            s.hits.store(0, Relaxed);
            s.ticks.store(0, Relaxed);
        }
    }
}

/// Per function, per line `(hits, ticks)`, summed over threads.
pub(crate) fn collect(line_counts: &[usize]) -> Vec<Vec<(u64, u64)>> {
    let mut out: Vec<Vec<(u64, u64)>> = line_counts.iter().map(|&n| vec![(0, 0); n]).collect();
    for t in REGISTRY.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        let Some(lines) = out.get_mut(t.fn_id as usize) else { continue };
        let n = lines.len().min(t.lines());
        for (acc, s) in lines.iter_mut().zip(&t.slots[PAD..PAD + n]) {
            acc.0 += s.hits.load(Relaxed);
            acc.1 += s.ticks.load(Relaxed);
        }
    }
    out
}
