//! The C allocation functions, defined in the executable so that every
//! loaded object's calls reach them (glibc's "replacing malloc": all of
//! `malloc`, `free`, `calloc`, `realloc` and the aligned and size-query
//! forms must be replaced together, or a block from one family would be
//! freed by the other).
//!
//! Each block carries a 16-byte header just before the pointer handed out:
//! the requested size (so `free` knows how many bytes leave the live
//! count, and `Bytes` are the bytes asked for, 8,000 for
//! `Vec::<u64>::with_capacity(1000)`, not the allocator's rounded size) and
//! the offset back to the block glibc returned (16, or the alignment for
//! aligned blocks). glibc's own `malloc` returns 16-aligned blocks, so
//! `base + 16` keeps that alignment.
//!
//! Nothing here allocates through the functions it defines, and nothing
//! needs a thread-local destructor: the thread's block pointer is a
//! `const`-initialised `Cell` (no lazy initialisation, no registration at
//! thread exit), and a thread's first allocation creates its block with
//! `__libc_malloc`.

// The C functions are `pub` for the linker (the loader finds them by name),
// not for Rust callers.
#![allow(unreachable_pub)]

use crate::counters::{format, sum, Api, Counters, Totals, API_ENV, VERSION};
use std::cell::Cell;
use std::ffi::c_void;
use std::ptr::null_mut;
use std::sync::atomic::{AtomicPtr, Ordering::*};

extern "C" {
    fn __libc_malloc(size: usize) -> *mut c_void;
    fn __libc_free(p: *mut c_void);
    fn __libc_calloc(n: usize, size: usize) -> *mut c_void;
    fn __libc_realloc(p: *mut c_void, size: usize) -> *mut c_void;
    fn __libc_memalign(align: usize, size: usize) -> *mut c_void;
    fn __errno_location() -> *mut i32;
    fn sysconf(name: i32) -> i64;
}

const HEADER: usize = 16;
const ENOMEM: i32 = 12;
const EINVAL: i32 = 22;
const SC_PAGESIZE: i32 = 30;

thread_local! {
    static BLOCK: Cell<*const Counters> = const { Cell::new(std::ptr::null()) };
}

/// The head of the list of every thread's block.
static HEAD: AtomicPtr<Counters> = AtomicPtr::new(null_mut());

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

#[inline(always)]
fn on_alloc(size: usize) {
    let c = block();
    bump(&c.allocs, 1);
    bump(&c.bytes, size as u64);
    add_live(c, size as i64);
}

/// Writes the header and counts the block; returns the user's pointer.
#[inline(always)]
unsafe fn finish(base: *mut c_void, offset: usize, size: usize) -> *mut c_void {
    if base.is_null() {
        return null_mut();
    }
    let p = base.cast::<u8>().add(offset);
    p.cast::<[usize; 2]>().sub(1).write([size, offset]);
    on_alloc(size);
    p.cast()
}

/// `(requested size, offset to glibc's block)` of a block of ours.
#[inline(always)]
unsafe fn header(p: *mut c_void) -> [usize; 2] {
    p.cast::<[usize; 2]>().sub(1).read()
}

unsafe fn fail(errno: i32) -> *mut c_void {
    *__errno_location() = errno;
    null_mut()
}

/// # Safety
/// C's `malloc`.
#[no_mangle]
pub unsafe extern "C" fn malloc(size: usize) -> *mut c_void {
    match size.checked_add(HEADER) {
        Some(total) => finish(__libc_malloc(total), HEADER, size),
        None => fail(ENOMEM),
    }
}

/// # Safety
/// C's `free`.
#[no_mangle]
pub unsafe extern "C" fn free(p: *mut c_void) {
    if p.is_null() {
        return;
    }
    let [size, offset] = header(p);
    let c = block();
    bump(&c.frees, 1);
    c.live.store(c.live.load(Relaxed) - size as i64, Relaxed);
    __libc_free(p.cast::<u8>().sub(offset).cast());
}

/// # Safety
/// C's `calloc`.
#[no_mangle]
pub unsafe extern "C" fn calloc(n: usize, size: usize) -> *mut c_void {
    match n.checked_mul(size).and_then(|b| b.checked_add(HEADER).map(|t| (b, t))) {
        Some((bytes, total)) => finish(__libc_calloc(1, total), HEADER, bytes),
        None => fail(ENOMEM),
    }
}

/// # Safety
/// C's `realloc`.
#[no_mangle]
pub unsafe extern "C" fn realloc(p: *mut c_void, size: usize) -> *mut c_void {
    if p.is_null() {
        return malloc(size);
    }
    if size == 0 {
        // glibc's behaviour: free, and return null.
        free(p);
        return null_mut();
    }
    let [old, offset] = header(p);
    if offset != HEADER {
        // An aligned block: glibc's realloc would not keep the alignment
        // (nor would C's), so move it to a plain block, counted as a realloc.
        let Some(total) = size.checked_add(HEADER) else { return fail(ENOMEM) };
        let base = __libc_malloc(total);
        if base.is_null() {
            return null_mut();
        }
        let q = base.cast::<u8>().add(HEADER);
        std::ptr::copy_nonoverlapping(p.cast::<u8>(), q, old.min(size));
        q.cast::<[usize; 2]>().sub(1).write([size, HEADER]);
        __libc_free(p.cast::<u8>().sub(offset).cast());
        on_realloc(old, size);
        return q.cast();
    }
    let Some(total) = size.checked_add(HEADER) else { return fail(ENOMEM) };
    let base = __libc_realloc(p.cast::<u8>().sub(HEADER).cast(), total);
    if base.is_null() {
        return null_mut();
    }
    let q = base.cast::<u8>().add(HEADER);
    q.cast::<[usize; 2]>().sub(1).write([size, HEADER]);
    on_realloc(old, size);
    q.cast()
}

#[inline(always)]
fn on_realloc(old: usize, new: usize) {
    let c = block();
    bump(&c.allocs, 1);
    bump(&c.reallocs, 1);
    bump(&c.bytes, new as u64);
    add_live(c, new as i64 - old as i64);
}

/// # Safety
/// glibc's `reallocarray`.
#[no_mangle]
pub unsafe extern "C" fn reallocarray(p: *mut c_void, n: usize, size: usize) -> *mut c_void {
    match n.checked_mul(size) {
        Some(bytes) => realloc(p, bytes),
        None => fail(ENOMEM),
    }
}

/// A block aligned to `align` (a power of two).
unsafe fn aligned(align: usize, size: usize) -> *mut c_void {
    if align <= HEADER {
        return malloc(size);
    }
    // The header sits in the `align` bytes before the pointer.
    match size.checked_add(align) {
        Some(total) => finish(__libc_memalign(align, total), align, size),
        None => fail(ENOMEM),
    }
}

/// # Safety
/// POSIX `posix_memalign`.
#[no_mangle]
pub unsafe extern "C" fn posix_memalign(out: *mut *mut c_void, align: usize, size: usize) -> i32 {
    if !align.is_power_of_two() || align % std::mem::size_of::<usize>() != 0 {
        return EINVAL;
    }
    let p = aligned(align, size);
    if p.is_null() {
        return ENOMEM;
    }
    *out = p;
    0
}

/// # Safety
/// C11's `aligned_alloc`.
#[no_mangle]
pub unsafe extern "C" fn aligned_alloc(align: usize, size: usize) -> *mut c_void {
    if !align.is_power_of_two() {
        return fail(EINVAL);
    }
    aligned(align, size)
}

/// # Safety
/// glibc's `memalign` (which rounds an alignment up to a power of two).
#[no_mangle]
pub unsafe extern "C" fn memalign(align: usize, size: usize) -> *mut c_void {
    aligned(align.max(1).checked_next_power_of_two().unwrap_or(usize::MAX), size)
}

fn page() -> usize {
    // SAFETY: sysconf reads a constant of the system.
    unsafe { sysconf(SC_PAGESIZE) as usize }
}

/// # Safety
/// glibc's `valloc`.
#[no_mangle]
pub unsafe extern "C" fn valloc(size: usize) -> *mut c_void {
    aligned(page(), size)
}

/// # Safety
/// glibc's `pvalloc`.
#[no_mangle]
pub unsafe extern "C" fn pvalloc(size: usize) -> *mut c_void {
    let page = page();
    match size.checked_add(page - 1) {
        Some(s) => aligned(page, s & !(page - 1)),
        None => fail(ENOMEM),
    }
}

/// # Safety
/// glibc's `malloc_usable_size`: the size asked for (a caller may use that
/// many bytes; it is all the header knows).
#[no_mangle]
pub unsafe extern "C" fn malloc_usable_size(p: *mut c_void) -> usize {
    if p.is_null() {
        0
    } else {
        header(p)[0]
    }
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

pub(crate) static API: Api = Api { version: VERSION, thread: thread_counters, totals, reset_peaks };

/// Publishes the accessors in [`API_ENV`] for readers compiled apart from
/// the executable (cells). Call it first in `main`, before other threads
/// start (it sets an environment variable).
pub fn publish() {
    let value = format(std::process::id(), &API as *const Api as usize);
    std::env::set_var(API_ENV, value);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mine() -> Totals {
        sum(std::iter::once(block()))
    }

    /// Ground truth on this thread: the counts of blocks whose sizes we know.
    #[test]
    fn counts_what_rust_allocates_on_this_thread() {
        publish();
        let before = mine();
        for _ in 0..10 {
            std::hint::black_box(Vec::<u64>::with_capacity(1000));
        }
        let after = mine();
        assert_eq!(after.allocs - before.allocs, 10);
        assert_eq!(after.bytes - before.bytes, 80_000);
        assert_eq!(after.frees - before.frees, 10);
        assert_eq!(after.live, before.live);
        assert!(crate::api().is_some(), "the table is found through the environment");
    }

    #[test]
    fn realloc_counts_and_aligned_blocks_round_trip() {
        let before = mine();
        let mut v: Vec<u8> = Vec::with_capacity(8);
        v.extend_from_slice(&[1; 100]);
        let after = mine();
        assert_eq!(after.allocs - before.allocs, 2, "one malloc, one realloc");
        assert_eq!(after.reallocs - before.reallocs, 1);
        assert_eq!(after.live - before.live, v.capacity() as i64);
        drop(v);
        unsafe {
            let mut p = null_mut();
            assert_eq!(posix_memalign(&mut p, 4096, 100), 0);
            assert_eq!(p as usize % 4096, 0);
            assert_eq!(malloc_usable_size(p), 100);
            let q = realloc(p, 200);
            assert_eq!(malloc_usable_size(q), 200);
            free(q);
            let a = aligned_alloc(64, 64);
            assert_eq!(a as usize % 64, 0);
            free(a);
            assert!(std::hint::black_box(calloc(std::hint::black_box(usize::MAX), 2)).is_null());
        }
        assert_eq!(mine().live, before.live);
    }

    #[test]
    fn totals_include_other_threads() {
        let before = totals();
        std::thread::spawn(|| drop(std::hint::black_box(Box::new([0u8; 1000])))).join().unwrap();
        let after = totals();
        assert!(after.allocs - before.allocs >= 1);
        assert!(after.bytes - before.bytes >= 1000);
    }
}
