//! `%mprun`'s Net: which line allocated each block still allocated, kept
//! only while `%mprun` runs.
//!
//! A block has no header (idle allocations are glibc's own), so `free`
//! learns a block's line from a side table: pointer → (tag, requested
//! size). One table for the process, open addressing with linear probing
//! over [`SLOTS`] slots of 16 bytes, in an anonymous mapping made on the
//! first `%mprun` (64 MiB of address space, `MAP_NORESERVE`: only the
//! pages touched become memory) and kept, zeroed by `madvise` at each
//! `%mprun`'s start.
//!
//! **Lock-free and cheap.** An insert claims an empty or freed slot with
//! one compare-and-swap; a removal is a plain store, because only the
//! code freeing a block can remove its entry (a block is freed once). A
//! block is removed before glibc gets it back, so the address cannot be
//! entered again by another thread meanwhile. Freed slots become
//! tombstones that inserts reuse, and a slot never becomes empty again
//! within a run, so a look-up may stop at the first empty slot. Probes
//! stop after [`PROBES`] slots: a block that finds no room is not tracked
//! (counted by [`untracked`], and `%mprun` says Net is then a lower
//! bound). No running sums: Net is summed from the table when the
//! statement ends ([`end`]), so a free costs no shared read-modify-write.
//!
//! Because the table is global, a block allocated by a line on one thread
//! and freed on another leaves Net.

use crate::counters::TAG_SLOTS;
use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicPtr, AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering::*};

extern "C" {
    fn mmap(addr: *mut c_void, len: usize, prot: i32, flags: i32, fd: i32, off: i64) -> *mut c_void;
    fn madvise(addr: *mut c_void, len: usize, advice: i32) -> i32;
    fn mincore(addr: *mut c_void, len: usize, vec: *mut u8) -> i32;
    fn sysconf(name: i32) -> i64;
}

const SC_PAGESIZE: i32 = 30;

const PROT_READ: i32 = 1;
const PROT_WRITE: i32 = 2;
const MAP_PRIVATE: i32 = 2;
const MAP_ANONYMOUS: i32 = 0x20;
const MAP_NORESERVE: i32 = 0x4000;
const MADV_DONTNEED: i32 = 4;

/// Slots in the table: 4M, for up to ~2M tagged blocks alive at once.
pub(crate) const SLOTS: usize = 1 << 22;
/// Pages of the table (4 KiB), for [`end`]'s `mincore`.
const PAGE: usize = 4096;
const PAGES: usize = SLOTS * std::mem::size_of::<Slot>() / PAGE;
/// Slots an insert or a look-up probes at most.
pub(crate) const PROBES: usize = 64;

const EMPTY: usize = 0;
const FREED: usize = 1;
/// Requested sizes kept in 40 bits (1 TiB); the tag in the other 24.
const SIZE_BITS: u32 = 40;

#[repr(C)]
struct Slot {
    key: AtomicUsize,
    /// `tag << SIZE_BITS | requested size`.
    meta: AtomicU64,
}

static TABLE: AtomicPtr<Slot> = AtomicPtr::new(std::ptr::null_mut());
static ON: AtomicBool = AtomicBool::new(false);
static GENERATION: AtomicU32 = AtomicU32::new(0);
static UNTRACKED: AtomicU64 = AtomicU64::new(0);
/// Net bytes per tag slot of [`GENERATION`], summed by [`end`].
static NET: [AtomicI64; TAG_SLOTS as usize] = [const { AtomicI64::new(0) }; TAG_SLOTS as usize];

#[inline(always)]
pub(crate) fn on() -> bool {
    ON.load(Relaxed)
}

#[inline(always)]
fn home(p: usize) -> usize {
    ((p >> 4).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - SLOTS.trailing_zeros())) as usize
}

#[inline(always)]
fn table() -> Option<&'static [Slot]> {
    let t = TABLE.load(Acquire);
    // SAFETY: the mapping, once made, is never unmapped.
    (!t.is_null()).then(|| unsafe { std::slice::from_raw_parts(t, SLOTS) })
}

/// Enters a block of `size` requested bytes at `p`, if `tag` names a line.
#[inline]
pub(crate) fn insert(p: usize, tag: u32, size: usize) {
    if tag == 0 {
        return;
    }
    let Some(t) = table() else { return };
    let meta = (tag as u64 & 0xff_ffff) << SIZE_BITS | (size as u64).min((1 << SIZE_BITS) - 1);
    let h = home(p);
    for i in 0..PROBES {
        let s = &t[(h + i) & (SLOTS - 1)];
        let k = s.key.load(Relaxed);
        if (k == EMPTY || k == FREED) && s.key.compare_exchange(k, p, Relaxed, Relaxed).is_ok() {
            // Seen by whoever frees `p`: that code got `p` after this
            // thread returned it, through its own synchronisation.
            s.meta.store(meta, Relaxed);
            return;
        }
    }
    UNTRACKED.fetch_add(1, Relaxed);
}

/// Removes the block at `p`; returns its `(tag, requested size)` if it
/// was entered.
#[inline]
pub(crate) fn remove(p: usize) -> Option<(u32, usize)> {
    let t = table()?;
    let h = home(p);
    for i in 0..PROBES {
        let s = &t[(h + i) & (SLOTS - 1)];
        let k = s.key.load(Relaxed);
        if k == p {
            let meta = s.meta.load(Relaxed);
            s.key.store(FREED, Relaxed);
            return Some(((meta >> SIZE_BITS) as u32, (meta & ((1 << SIZE_BITS) - 1)) as usize));
        }
        if k == EMPTY {
            return None;
        }
    }
    None
}

/// Starts tracking with an empty table; returns the new generation
/// (1..=255), which the caller puts in its tags' bits 16..24.
pub(crate) fn begin() -> u32 {
    ON.store(false, SeqCst);
    let bytes = SLOTS * std::mem::size_of::<Slot>();
    let t = TABLE.load(Acquire);
    if t.is_null() {
        // SAFETY: a fresh private anonymous mapping.
        let m = unsafe {
            mmap(std::ptr::null_mut(), bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        };
        if m as isize == -1 {
            return 0;
        }
        TABLE.store(m.cast(), Release);
    } else {
        // SAFETY: our mapping; its pages read as zeros (EMPTY) afterwards.
        unsafe { madvise(t.cast(), bytes, MADV_DONTNEED) };
    }
    UNTRACKED.store(0, Relaxed);
    for n in NET.iter() {
        if n.load(Relaxed) != 0 {
            n.store(0, Relaxed);
        }
    }
    let mut g = GENERATION.load(Relaxed) % 255 + 1;
    if g == 0 {
        g = 1;
    }
    GENERATION.store(g, Relaxed);
    ON.store(true, SeqCst);
    g
}

/// Stops tracking and sums the bytes still allocated per tag of this
/// generation, for [`net`].
pub(crate) fn end() {
    ON.store(false, SeqCst);
    let Some(t) = table() else { return };
    let g = GENERATION.load(Relaxed);
    // Only the pages written since `begin` (resident) can hold entries:
    // reading the others would fault each in (64 MiB, ~5 ms).
    static RESIDENT: [AtomicU8; PAGES] = [const { AtomicU8::new(0) }; PAGES];
    // SAFETY: our mapping, page-aligned; the vector has one byte per page.
    let known = unsafe {
        sysconf(SC_PAGESIZE) == PAGE as i64 && mincore(t.as_ptr() as *mut c_void, PAGES * PAGE, RESIDENT.as_ptr() as *mut u8) == 0
    };
    let per_page = PAGE / std::mem::size_of::<Slot>();
    for (page, slots) in t.chunks(per_page).enumerate() {
        if known && RESIDENT[page].load(Relaxed) & 1 == 0 {
            continue;
        }
        for s in slots {
            let k = s.key.load(Relaxed);
            if k == EMPTY || k == FREED {
                continue;
            }
            let meta = s.meta.load(Relaxed);
            let tag = (meta >> SIZE_BITS) as u32;
            if tag >> 16 == g {
                NET[(tag & (TAG_SLOTS - 1)) as usize].fetch_add((meta & ((1 << SIZE_BITS) - 1)) as i64, Relaxed);
            }
        }
    }
}

/// Requested bytes of the blocks tagged `tag` still allocated when the
/// last tracking ended (0 for a tag of another generation).
pub(crate) extern "C" fn net(tag: u32) -> i64 {
    if tag >> 16 != GENERATION.load(Relaxed) {
        return 0;
    }
    NET[(tag & (TAG_SLOTS - 1)) as usize].load(Relaxed)
}

/// Tagged blocks the last tracking could not enter (table too full).
pub(crate) extern "C" fn untracked() -> u64 {
    UNTRACKED.load(Relaxed)
}
