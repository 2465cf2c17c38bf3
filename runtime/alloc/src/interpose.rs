//! The counting allocation functions, and arming: while a reader is armed,
//! every loaded object's calls to `malloc`, `free`, `calloc`, `realloc`
//! and the aligned forms reach them (all together, so that every block is
//! counted both ways), because [`crate::got`] has put their addresses in
//! the callers' GOT slots; idle, the slots hold glibc's own functions and
//! nothing here runs. These functions are not exported (the executable
//! defines no `malloc`): they are reached only through patched slots.
//!
//! **Blocks are glibc's own** (no header): each function calls glibc's
//! `__libc_*` function and counts around it, so `malloc_usable_size` is
//! glibc's, and a block may be freed whether or not counting was on when
//! it was allocated.
//!
//! **Armed** (`%memit`, `%timeit`, `measure`, `%mprun` hold an
//! [`crate::Armed`]): the thread's [`Counters`]. `bytes` are the sizes
//! asked for (exact); `live` and `peak` move by each block's usable size
//! (`malloc_usable_size`, what `free` can know without a header: 8,008
//! bytes for an 8,000-byte request), so a block allocated while idle and
//! freed while armed lowers `live`: the heap did shrink. The functions
//! still test [`ARMED`] (one load, a predictable branch) and pass straight
//! to glibc when it is 0: an address of one of them read from a slot
//! while armed and called after the disarm (a cached function pointer)
//! then counts nothing, and calls in flight while the slots are being
//! switched count nothing either.
//!
//! **Tracked** (`%mprun` only, see [`crate::track`]): while a thread's
//! [`Counters::tag`] names a line, each new block is also entered in
//! [`crate::track`]'s table with its tag and requested size, and every
//! `free` while tracking removes its block, on whichever thread.
//!
//! Nothing here allocates through the functions it defines, and nothing
//! needs a thread-local destructor: the thread's block pointer is a
//! `const`-initialised `Cell` (no lazy initialisation, no registration at
//! thread exit), and a thread's first armed allocation creates its block
//! with `__libc_malloc`.

// The counting functions keep C's names (their tests call them so); they
// are mangled Rust symbols, not the C ones.
#![allow(unreachable_pub)]

use crate::counters::{format, sum, Api, Counters, Totals, API_ENV, VERSION};
use crate::got;
use crate::track;
use std::cell::Cell;
use std::ffi::c_void;
use std::ptr::null_mut;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering::*};
use std::sync::{Mutex, PoisonError};

extern "C" {
    fn __libc_malloc(size: usize) -> *mut c_void;
    fn __libc_free(p: *mut c_void);
    fn __libc_calloc(n: usize, size: usize) -> *mut c_void;
    fn __libc_realloc(p: *mut c_void, size: usize) -> *mut c_void;
    fn __libc_memalign(align: usize, size: usize) -> *mut c_void;
    fn __libc_valloc(size: usize) -> *mut c_void;
    fn __libc_pvalloc(size: usize) -> *mut c_void;
    /// glibc's (this crate no longer defines it: blocks are glibc's).
    fn malloc_usable_size(p: *mut c_void) -> usize;
    fn __errno_location() -> *mut i32;
}

const ENOMEM: i32 = 12;
const EINVAL: i32 = 22;

/// The number of armed readers, alone on its cache line: every counted
/// allocation reads it, and only arming writes it (under [`SLOTS`]).
#[repr(align(64))]
struct Armed(AtomicUsize);
static ARMED: Armed = Armed(AtomicUsize::new(0));

thread_local! {
    static BLOCK: Cell<*const Counters> = const { Cell::new(std::ptr::null()) };
}

/// The head of the list of every thread's block.
static HEAD: AtomicPtr<Counters> = AtomicPtr::new(null_mut());

#[inline(always)]
fn idle() -> bool {
    ARMED.0.load(Relaxed) == 0
}

#[inline(always)]
fn block() -> &'static Counters {
    let p = BLOCK.with(Cell::get);
    if p.is_null() {
        return new_block();
    }
    // SAFETY: blocks are never freed.
    unsafe { &*p }
}

#[cold]
fn new_block() -> &'static Counters {
    // SAFETY: glibc's allocator, not ours: no recursion.
    let p = unsafe { __libc_malloc(std::mem::size_of::<Counters>()) } as *mut Counters;
    if p.is_null() {
        std::process::abort();
    }
    // SAFETY: `p` is a fresh block of the right size and alignment (16).
    unsafe { p.write(Counters::new()) };
    let mut head = HEAD.load(Acquire);
    loop {
        // SAFETY: `p` is ours until published.
        unsafe { (*p).next.store(head, Relaxed) };
        match HEAD.compare_exchange_weak(head, p, Release, Acquire) {
            Ok(_) => break,
            Err(h) => head = h,
        }
    }
    BLOCK.with(|b| b.set(p));
    // SAFETY: published blocks live forever.
    unsafe { &*p }
}

// Only the owning thread stores, so a load and a store (no read-modify-write
// instruction, no `lock` prefix) are exact.
#[inline(always)]
fn bump(c: &std::sync::atomic::AtomicU64, by: u64) {
    c.store(c.load(Relaxed).wrapping_add(by), Relaxed);
}

#[inline(always)]
fn add_live(c: &Counters, by: i64) {
    let live = c.live.load(Relaxed) + by;
    c.live.store(live, Relaxed);
    if live > c.peak.load(Relaxed) {
        c.peak.store(live, Relaxed);
    }
}

/// Counts a new block of `size` requested bytes at `p`, if not null.
#[inline(always)]
unsafe fn counted(p: *mut c_void, size: usize) -> *mut c_void {
    if p.is_null() {
        return p;
    }
    let c = block();
    bump(&c.allocs, 1);
    bump(&c.bytes, size as u64);
    add_live(c, malloc_usable_size(p) as i64);
    if track::on() {
        track::insert(p as usize, c.tag.load(Relaxed), size);
    }
    p
}

/// Counts the end of the block at `p` (non-null), before glibc has it.
#[inline(always)]
unsafe fn uncount(p: *mut c_void) {
    let c = block();
    bump(&c.frees, 1);
    c.live.store(c.live.load(Relaxed) - malloc_usable_size(p) as i64, Relaxed);
    if track::on() {
        track::remove(p as usize);
    }
}

unsafe fn fail(errno: i32) -> *mut c_void {
    *__errno_location() = errno;
    null_mut()
}

/// # Safety
/// C's `malloc`.
#[inline(never)]
pub unsafe extern "C" fn malloc(size: usize) -> *mut c_void {
    if !idle() {
        return armed_malloc(size);
    }
    __libc_malloc(size)
}

#[cold]
#[inline(never)]
unsafe extern "C" fn armed_malloc(size: usize) -> *mut c_void {
    counted(__libc_malloc(size), size)
}

/// # Safety
/// C's `free`.
#[inline(never)]
pub unsafe extern "C" fn free(p: *mut c_void) {
    if !idle() {
        return armed_free(p);
    }
    __libc_free(p)
}

#[cold]
#[inline(never)]
unsafe extern "C" fn armed_free(p: *mut c_void) {
    if !p.is_null() {
        uncount(p);
    }
    __libc_free(p)
}

/// # Safety
/// C's `calloc`.
#[inline(never)]
pub unsafe extern "C" fn calloc(n: usize, size: usize) -> *mut c_void {
    if !idle() {
        return armed_calloc(n, size);
    }
    __libc_calloc(n, size)
}

#[cold]
#[inline(never)]
unsafe extern "C" fn armed_calloc(n: usize, size: usize) -> *mut c_void {
    // glibc checks the product; on overflow it returns null (not counted).
    counted(__libc_calloc(n, size), n.wrapping_mul(size))
}

/// # Safety
/// C's `realloc`.
#[inline(never)]
pub unsafe extern "C" fn realloc(p: *mut c_void, size: usize) -> *mut c_void {
    if !idle() {
        return armed_realloc(p, size);
    }
    __libc_realloc(p, size)
}

#[cold]
#[inline(never)]
unsafe extern "C" fn armed_realloc(p: *mut c_void, size: usize) -> *mut c_void {
    if p.is_null() {
        return malloc(size);
    }
    if size == 0 {
        // glibc's behaviour: free, and return null.
        free(p);
        return null_mut();
    }
    let c = block();
    let old = malloc_usable_size(p);
    // Out of the table before glibc may hand `p` to another thread.
    let entry = if track::on() { track::remove(p as usize) } else { None };
    let q = __libc_realloc(p, size);
    if q.is_null() {
        // `p` is still allocated, unchanged.
        if let Some((tag, bytes)) = entry {
            track::insert(p as usize, tag, bytes);
        }
        return q;
    }
    bump(&c.allocs, 1);
    bump(&c.reallocs, 1);
    bump(&c.bytes, size as u64);
    add_live(c, malloc_usable_size(q) as i64 - old as i64);
    // The block now belongs to the line that reallocated it.
    if track::on() {
        track::insert(q as usize, c.tag.load(Relaxed), size);
    }
    q
}

/// # Safety
/// glibc's `reallocarray`.
#[inline(never)]
pub unsafe extern "C" fn reallocarray(p: *mut c_void, n: usize, size: usize) -> *mut c_void {
    match n.checked_mul(size) {
        Some(bytes) => realloc(p, bytes),
        None => fail(ENOMEM),
    }
}

/// # Safety
/// POSIX `posix_memalign`.
#[inline(never)]
pub unsafe extern "C" fn posix_memalign(out: *mut *mut c_void, align: usize, size: usize) -> i32 {
    if !align.is_power_of_two() || align % std::mem::size_of::<usize>() != 0 {
        return EINVAL;
    }
    // `__libc_memalign` sets errno on failure; posix_memalign must not
    // change it.
    let errno = *__errno_location();
    let p = memalign(align, size);
    if p.is_null() {
        *__errno_location() = errno;
        return ENOMEM;
    }
    *out = p;
    0
}

/// # Safety
/// C11's `aligned_alloc`.
#[inline(never)]
pub unsafe extern "C" fn aligned_alloc(align: usize, size: usize) -> *mut c_void {
    if !align.is_power_of_two() {
        return fail(EINVAL);
    }
    memalign(align, size)
}

/// # Safety
/// glibc's `memalign` (which rounds an alignment up to a power of two).
#[inline(never)]
pub unsafe extern "C" fn memalign(align: usize, size: usize) -> *mut c_void {
    if !idle() {
        return armed_memalign(align, size);
    }
    __libc_memalign(align, size)
}

#[cold]
#[inline(never)]
unsafe extern "C" fn armed_memalign(align: usize, size: usize) -> *mut c_void {
    counted(__libc_memalign(align, size), size)
}

/// # Safety
/// glibc's `valloc`.
#[inline(never)]
pub unsafe extern "C" fn valloc(size: usize) -> *mut c_void {
    if !idle() {
        return armed_valloc(size);
    }
    __libc_valloc(size)
}

#[cold]
#[inline(never)]
unsafe extern "C" fn armed_valloc(size: usize) -> *mut c_void {
    counted(__libc_valloc(size), size)
}

/// # Safety
/// glibc's `pvalloc`.
#[inline(never)]
pub unsafe extern "C" fn pvalloc(size: usize) -> *mut c_void {
    if !idle() {
        return armed_pvalloc(size);
    }
    __libc_pvalloc(size)
}

#[cold]
#[inline(never)]
unsafe extern "C" fn armed_pvalloc(size: usize) -> *mut c_void {
    counted(__libc_pvalloc(size), size)
}

extern "C" fn thread_counters() -> &'static Counters {
    block()
}

fn blocks() -> impl Iterator<Item = &'static Counters> {
    let mut p = HEAD.load(Acquire);
    std::iter::from_fn(move || {
        // SAFETY: every listed block is live forever.
        let c = unsafe { p.as_ref()? };
        p = c.next.load(Relaxed);
        Some(c)
    })
}

extern "C" fn totals() -> Totals {
    sum(blocks())
}

extern "C" fn reset_peaks() {
    for c in blocks() {
        c.reset_peak();
    }
}

/// The GOT slots' state; its lock orders arming against disarming.
static SLOTS: Mutex<got::State> = Mutex::new(got::State::new());

/// The counting functions, in [`got::NAMES`]'s order.
fn counting() -> [usize; got::N] {
    [
        malloc as *const () as usize,
        free as *const () as usize,
        calloc as *const () as usize,
        realloc as *const () as usize,
        reallocarray as *const () as usize,
        posix_memalign as *const () as usize,
        aligned_alloc as *const () as usize,
        memalign as *const () as usize,
        valloc as *const () as usize,
        pvalloc as *const () as usize,
    ]
}

/// The first reader switches every loaded object's slots to the counting
/// functions; others only count themselves in.
#[inline(never)]
extern "C" fn arm() {
    let mut slots = SLOTS.lock().unwrap_or_else(PoisonError::into_inner);
    if ARMED.0.load(Relaxed) == 0 {
        got::patch(&mut slots, counting());
    }
    // SeqCst: allocations after the reader's `arm` returns are counted.
    ARMED.0.fetch_add(1, SeqCst);
}

/// The last reader puts glibc's functions back in the slots.
#[inline(never)]
extern "C" fn disarm() {
    let mut slots = SLOTS.lock().unwrap_or_else(PoisonError::into_inner);
    if ARMED.0.fetch_sub(1, SeqCst) == 1 {
        got::restore(&mut slots);
    }
}

/// Objects the last arm walked and slots it switched (for the benchmark).
pub fn arm_stats() -> (usize, usize) {
    SLOTS.lock().unwrap_or_else(PoisonError::into_inner).stats()
}

extern "C" fn track_begin() -> u32 {
    arm();
    track::begin()
}

extern "C" fn track_end() {
    track::end();
    disarm();
}

pub(crate) static API: Api = Api {
    version: VERSION,
    thread: thread_counters,
    totals,
    reset_peaks,
    arm,
    disarm,
    track_begin,
    track_end,
    net: track::net,
    untracked: track::untracked,
};

/// Publishes the accessors in [`API_ENV`] for readers compiled apart from
/// the executable (cells). Call it first in `main`, before other threads
/// start (it sets an environment variable).
pub fn publish() {
    let value = format(std::process::id(), &API as *const Api as usize);
    std::env::set_var(API_ENV, value);
}

#[cfg(test)]
mod tests;
