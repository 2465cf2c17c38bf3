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

use crate::counters::{format, sum, Api, Counters, Totals, API_ENV, TAG_SLOTS, VERSION};
use std::cell::Cell;
use std::ffi::c_void;
use std::ptr::null_mut;
use std::sync::atomic::{AtomicI64, AtomicPtr, AtomicU32, Ordering::*};

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

/// Live bytes per tag slot (`%mprun`'s Net), of the current generation.
/// Touched only for tagged blocks, that is while `%mprun` runs: 512 KiB
/// of zero pages otherwise never touched.
static NET: [AtomicI64; TAG_SLOTS as usize] = [const { AtomicI64::new(0) }; TAG_SLOTS as usize];
static GENERATION: AtomicU32 = AtomicU32::new(0);

/// Adds `by` to the live bytes of `tag`, if it is of this generation.
#[inline(always)]
fn tag_add(tag: u32, by: i64) {
    if tag != 0 && tag >> 16 == GENERATION.load(Relaxed) {
        NET[(tag & (TAG_SLOTS - 1)) as usize].fetch_add(by, Relaxed);
    }
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

/// Writes the header and counts the block; returns the user's pointer.
#[inline(always)]
unsafe fn finish(base: *mut c_void, offset: usize, size: usize) -> *mut c_void {
    if base.is_null() {
        return null_mut();
    }
    let c = block();
    let tag = c.tag.load(Relaxed);
    let p = base.cast::<u8>().add(offset);
    write_header(p, size, offset, tag);
    bump(&c.allocs, 1);
    bump(&c.bytes, size as u64);
    add_live(c, size as i64);
    tag_add(tag, size as i64);
    p.cast()
}

/// A block's header: the requested size, then the offset back to glibc's
/// block (low 32 bits) and the tag of the line that allocated it.
#[inline(always)]
unsafe fn write_header(p: *mut u8, size: usize, offset: usize, tag: u32) {
    p.cast::<[usize; 2]>().sub(1).write([size, offset | (tag as usize) << 32]);
}

/// `(requested size, offset to glibc's block, tag)` of a block of ours.
#[inline(always)]
unsafe fn header(p: *mut c_void) -> (usize, usize, u32) {
    let [size, word] = p.cast::<[usize; 2]>().sub(1).read();
    (size, word & 0xffff_ffff, (word >> 32) as u32)
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
    let (size, offset, tag) = header(p);
    let c = block();
    bump(&c.frees, 1);
    c.live.store(c.live.load(Relaxed) - size as i64, Relaxed);
    tag_add(tag, -(size as i64));
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
    let (old, offset, old_tag) = header(p);
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
        __libc_free(p.cast::<u8>().sub(offset).cast());
        on_realloc(q, old, old_tag, size);
        return q.cast();
    }
    let Some(total) = size.checked_add(HEADER) else { return fail(ENOMEM) };
    let base = __libc_realloc(p.cast::<u8>().sub(HEADER).cast(), total);
    if base.is_null() {
        return null_mut();
    }
    let q = base.cast::<u8>().add(HEADER);
    on_realloc(q, old, old_tag, size);
    q.cast()
}

/// Counts a reallocation to `new` bytes at `q` (header written here): the
/// block now belongs to the line that reallocated it.
#[inline(always)]
unsafe fn on_realloc(q: *mut u8, old: usize, old_tag: u32, new: usize) {
    let c = block();
    let tag = c.tag.load(Relaxed);
    write_header(q, new, HEADER, tag);
    bump(&c.allocs, 1);
    bump(&c.reallocs, 1);
    bump(&c.bytes, new as u64);
    add_live(c, new as i64 - old as i64);
    tag_add(old_tag, -(old as i64));
    tag_add(tag, new as i64);
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
        header(p).0
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

extern "C" fn net(tag: u32) -> i64 {
    if tag >> 16 != GENERATION.load(Relaxed) {
        return 0;
    }
    NET[(tag & (TAG_SLOTS - 1)) as usize].load(Relaxed)
}

extern "C" fn new_generation() -> u32 {
    // Generation 0 is never handed out, so an old block's tag never matches.
    let mut g = GENERATION.load(Relaxed).wrapping_add(1) & 0xffff;
    if g == 0 {
        g = 1;
    }
    // Zeroing before publishing: a block freed in between was tagged by an
    // earlier generation and no longer matches.
    GENERATION.store(0, Relaxed);
    for n in NET.iter() {
        if n.load(Relaxed) != 0 {
            n.store(0, Relaxed);
        }
    }
    GENERATION.store(g, Relaxed);
    g
}

pub(crate) static API: Api = Api { version: VERSION, thread: thread_counters, totals, reset_peaks, net, new_generation };

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
    fn tagged_blocks_count_until_freed_in_their_generation_only() {
        let g = new_generation();
        let tag = g << 16 | 7;
        let me = block();
        me.tag.store(tag, Relaxed);
        let kept = std::hint::black_box(vec![0u8; 1000]);
        let mut grown: Vec<u8> = Vec::with_capacity(10);
        grown.extend_from_slice(&[1; 100]);
        drop(std::hint::black_box(vec![0u8; 500]));
        me.tag.store(0, Relaxed);
        assert_eq!(net(tag), 1000 + grown.capacity() as i64, "freed blocks leave, a realloc moves");
        drop(grown);
        assert_eq!(net(tag), 1000);
        let g2 = new_generation();
        assert_eq!(net(tag), 0, "an old generation reads 0");
        drop(kept);
        assert_eq!(net(g2 << 16 | 7), 0, "an old block freed later does not count");
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
