use super::*;
use crate::track::net;
use std::hint::black_box;
use std::sync::Mutex;

/// Arming is process-wide: the tests run one at a time, so that the idle
/// test sees no reader.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn mine() -> Totals {
    sum(std::iter::once(block()))
}

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// Ground truth on this thread: the counts of blocks whose sizes we know.
#[test]
fn counts_what_rust_allocates_on_this_thread_while_armed() {
    let _one = serial();
    publish();
    let _armed = API.armed();
    let before = mine();
    for _ in 0..10 {
        black_box(Vec::<u64>::with_capacity(1000));
    }
    let after = mine();
    assert_eq!(after.allocs - before.allocs, 10);
    assert_eq!(after.bytes - before.bytes, 80_000);
    assert_eq!(after.frees - before.frees, 10);
    assert_eq!(after.live, before.live);
    assert!(after.peak_above >= 8_000, "the peak is in usable bytes, ≥ the request");
    assert!(crate::api().is_some(), "the table is found through the environment");
}

#[test]
fn idle_allocations_are_not_counted_and_their_frees_lower_live() {
    let _one = serial();
    assert_eq!(ARMED.0.load(Relaxed), 0, "no reader armed");
    let before = mine();
    let kept = black_box(vec![0u8; 1000]);
    drop(black_box(vec![0u8; 1000]));
    assert_eq!(mine(), before, "idle: nothing counted");
    let usable = unsafe { malloc_usable_size(kept.as_ptr() as *mut c_void) } as i64;
    assert!(usable >= 1000);
    {
        let _outer = API.armed();
        {
            let _inner = API.armed();
        }
        // Still armed: readers nest.
        drop(kept);
        let after = mine();
        assert_eq!((after.allocs, after.frees - before.frees), (before.allocs, 1));
        assert_eq!(after.live - before.live, -usable, "the heap shrank by the block");
    }
    assert_eq!(ARMED.0.load(Relaxed), 0);
    let before = mine();
    drop(black_box(vec![0u8; 1000]));
    assert_eq!(mine(), before, "idle again once the last reader is gone");
}

#[test]
fn realloc_counts_and_every_family_round_trips() {
    let _one = serial();
    let _armed = API.armed();
    let before = mine();
    let mut v: Vec<u8> = Vec::with_capacity(8);
    v.extend_from_slice(&[1; 100]);
    let after = mine();
    assert_eq!(after.allocs - before.allocs, 2, "one malloc, one realloc");
    assert_eq!(after.reallocs - before.reallocs, 1);
    assert_eq!(after.bytes - before.bytes, 8 + v.capacity() as u64);
    let usable = unsafe { malloc_usable_size(v.as_mut_ptr().cast()) } as i64;
    assert_eq!(after.live - before.live, usable);
    drop(v);
    unsafe {
        let mut p = null_mut();
        assert_eq!(posix_memalign(&mut p, 4096, 100), 0);
        assert_eq!(p as usize % 4096, 0);
        assert!(malloc_usable_size(p) >= 100);
        let q = realloc(p, 200);
        assert!(malloc_usable_size(q) >= 200);
        free(q);
        let a = aligned_alloc(64, 64);
        assert_eq!(a as usize % 64, 0);
        free(a);
        assert!(aligned_alloc(48, 64).is_null(), "not a power of two");
        assert_eq!(posix_memalign(&mut p, 24, 64), EINVAL);
        let m = memalign(256, 10);
        assert_eq!(m as usize % 256, 0);
        free(m);
        let page = valloc(10);
        assert_eq!(page as usize % 4096, 0);
        free(page);
        let pv = pvalloc(10);
        assert_eq!(pv as usize % 4096, 0);
        assert!(malloc_usable_size(pv) >= 4096 - 16, "pvalloc rounds up to a page");
        free(pv);
        let z = calloc(10, 10).cast::<u8>();
        assert!(std::slice::from_raw_parts(z, 100).iter().all(|&b| b == 0));
        free(z.cast());
        let r = reallocarray(null_mut(), 4, 8);
        free(r);
        assert!(black_box(calloc(black_box(usize::MAX), 2)).is_null());
        assert!(reallocarray(null_mut(), usize::MAX, 2).is_null());
        free(null_mut());
    }
    let end = mine();
    assert_eq!(end.live, before.live, "every block's usable bytes came back");
    assert_eq!(end.allocs - end.reallocs - end.frees, before.allocs - before.reallocs - before.frees, "a realloc is an alloc, not a free");
}

#[test]
fn tracked_blocks_count_until_freed_on_any_thread_in_their_generation_only() {
    let _one = serial();
    let g = (API.track_begin)();
    assert!((1..=255).contains(&g));
    let tag = g << 16 | 7;
    let me = block();
    me.tag.store(tag, Relaxed);
    let kept = black_box(vec![0u8; 1000]);
    let mut grown: Vec<u8> = Vec::with_capacity(10);
    grown.extend_from_slice(&[1; 100]);
    drop(black_box(vec![0u8; 500]));
    let elsewhere = black_box(vec![0u8; 300]);
    me.tag.store(0, Relaxed);
    let untagged = black_box(vec![0u8; 700]);
    // Freed by another thread: it leaves Net too.
    std::thread::spawn(move || drop(elsewhere)).join().unwrap();
    let cap = grown.capacity() as i64;
    (API.track_end)();
    assert_eq!(net(tag), 1000 + cap, "freed blocks leave, a realloc moves, the untagged never enter");
    assert_eq!((API.untracked)(), 0);
    drop((grown, untagged));
    assert_eq!(net(tag), 1000 + cap, "Net is the statement's end");
    let g2 = (API.track_begin)();
    assert_ne!(g2, g);
    assert_eq!(net(tag), 0, "an old generation reads 0");
    drop(kept);
    (API.track_end)();
    assert_eq!(net(g2 << 16 | 7), 0, "an old block freed later does not count");
    assert_eq!(ARMED.0.load(Relaxed), 0, "tracking disarms at its end");
}

#[test]
fn many_tracked_blocks_and_reuse_of_addresses() {
    let _one = serial();
    let g = (API.track_begin)();
    let tag = g << 16 | 1;
    block().tag.store(tag, Relaxed);
    // The same addresses again and again (tombstones reused), and many
    // blocks alive at once.
    for i in 0..100_000u64 {
        black_box(Box::new(i));
    }
    let kept: Vec<Box<[u8; 24]>> = (0..50_000).map(|_| Box::new([0; 24])).collect();
    block().tag.store(0, Relaxed);
    (API.track_end)();
    assert_eq!((API.untracked)(), 0);
    let expect = 50_000 * 24 + (kept.capacity() * std::mem::size_of::<Box<[u8; 24]>>()) as i64;
    assert_eq!(net(tag), expect, "the boxes and the vector holding them");
}

#[test]
fn totals_include_other_threads() {
    let _one = serial();
    let _armed = API.armed();
    let before = totals();
    std::thread::spawn(|| drop(black_box(Box::new([0u8; 1000])))).join().unwrap();
    let after = totals();
    assert!(after.allocs - before.allocs >= 1);
    assert!(after.bytes - before.bytes >= 1000);
}

extern "C" {
    fn fork() -> i32;
    fn waitpid(pid: i32, status: *mut i32, options: i32) -> i32;
    fn _exit(code: i32) -> !;
}

#[test]
fn a_forked_child_allocates_while_its_parent_tracks() {
    let _one = serial();
    let g = (API.track_begin)();
    block().tag.store(g << 16 | 3, Relaxed);
    // SAFETY: the child only allocates, frees and exits.
    let pid = unsafe { fork() };
    if pid == 0 {
        let v = black_box(vec![1u8; 4096]);
        let ok = v.iter().map(|&b| b as usize).sum::<usize>() == 4096 && net(g << 16 | 3) == 0;
        drop(v);
        unsafe { _exit(if ok { 0 } else { 1 }) };
    }
    block().tag.store(0, Relaxed);
    let mut status = -1;
    assert_eq!(unsafe { waitpid(pid, &mut status, 0) }, pid);
    (API.track_end)();
    assert_eq!(status, 0, "the child ran and exited cleanly");
}
