//! Benchmark of the counting allocator: what it costs an allocation when
//! idle (no reader), when armed, and under `%mprun`, and what arming costs.
//!
//! `cargo build --release --locked --workspace --all-targets &&
//! target/release/examples/bench_alloc 2>/dev/null | grep -v PARLAB`
//! (this example links `parlab-alloc` with `interpose`, as the kernel
//! does) prints `name value unit` lines.
//!
//! One `#[global_allocator]` serves every round, switched by a flag it
//! reads either way: plain rounds call glibc's `__libc_malloc`/`__libc_free`
//! directly (after the same alignment test as std's `System`), the others
//! std's `System` allocator, i.e. `malloc`/`free` through this
//! executable's GOT slots, bound to whatever the counting allocator left
//! there: what a cell's code pays (its calls go through its own library's
//! slots, switched the same way). Rounds alternate; each
//! figure is the median over 101 rounds of 1M `Box::new(u64)` + drop
//! (ratios and differences taken within a round, against that round's
//! plain loop), timed in the thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`:
//! the machine is shared, and time spent descheduled is no allocator's).
//!
//! - `alloc_counting_overhead_ratio`: through the GOT, no reader armed
//!   (what every allocation of the kernel pays) ÷ plain. Goal ≤ 1.02.
//! - `alloc_armed_overhead_ratio`: through the GOT with a reader armed
//!   (`measure`, `%memit`, `%timeit`'s counted call) ÷ plain.
//! - `mprun_overhead_ns_per_alloc`: the loop as a profiled line of
//!   `%mprun`'s statement (the thread's tag set: every block entered in
//!   the Net table and removed at its free) minus plain, per allocation.
//!   Goal ≤ 20 ns. `mprun_untagged_overhead_ns_per_alloc`: the same loop
//!   in the statement outside any profiled line (counted, not entered).
//! - `alloc_arm_disarm_us`: one first-reader `arm` + last-reader `disarm`
//!   (every loaded object's slots switched and put back), median of 2,001
//!   pairs in wall time; `alloc_arm_objects` and `alloc_arm_slots` say how
//!   many objects the walk saw and how many slots it switched.
//! - `mprun_overhead_ns_per_hit`: `%mprun -f distance distance()` (the
//!   instrumenter's real output, the checked-in fixture: 3,040,206 line
//!   events) minus the original `distance()`, per line hit.
//!
//! Ground truth first, in the same binary: `measure` over 1M boxes counts
//! exactly 1M allocations of 8 bytes, and the Net table, 1M boxes kept on
//! a tagged line, exactly 8M bytes.

#![allow(dead_code)]

include!("../tests/fixtures/lprun_distance.rs");
include!("../tests/fixtures/random_matrix.rs");
include!("../tests/fixtures/chains.rs");

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

extern "C" {
    fn __libc_malloc(size: usize) -> *mut u8;
    fn __libc_free(p: *mut u8);
}

/// True: std's `System` (`malloc` through this executable's GOT, as a
/// cell's code allocates); false: glibc's functions called directly.
static VIA_GOT: AtomicBool = AtomicBool::new(true);

struct Switch;

// SAFETY: both paths return glibc's blocks of at least `size` bytes,
// 16-aligned (the benchmark allocates only types with alignment ≤ 16); the
// counting functions add no header, so either path may free either's
// blocks.
unsafe impl GlobalAlloc for Switch {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if VIA_GOT.load(Ordering::Relaxed) {
            System.alloc(l)
        } else if l.align() <= 16 && l.align() <= l.size() {
            // std's own test (its `MIN_ALIGN` is 16 here), so that the two
            // paths differ only in the function they call.
            __libc_malloc(l.size())
        } else {
            System.alloc(l)
        }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        if VIA_GOT.load(Ordering::Relaxed) { System.dealloc(p, l) } else { __libc_free(p) }
    }
}

#[global_allocator]
static SWITCH: Switch = Switch;

const N: u64 = 1_000_000;

/// Nanoseconds of this thread's CPU time per `Box::new` + drop, over `N`:
/// on a shared machine, time spent descheduled is not the allocator's.
fn round() -> f64 {
    let t = cpu_ns();
    for i in 0..N {
        black_box(Box::new(black_box(i)));
    }
    (cpu_ns() - t) as f64 / N as f64
}

fn cpu_ns() -> i64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid clock id and a valid out-pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec * 1_000_000_000 + ts.tv_nsec
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let api = parlab_alloc::api().expect("this example links the counting allocator");
    // Ground truth: exact counts of blocks whose number and size we know.
    let ((), stats) = parlab::alloc::measure(|| {
        for i in 0..N {
            black_box(Box::new(black_box(i)));
        }
    });
    let stats = stats.expect("counting");
    assert_eq!((stats.allocs, stats.frees, stats.bytes, stats.live), (N, N, 8 * N, 0), "ground truth: N boxes of 8 bytes");
    let mut kept: Vec<Box<u64>> = Vec::with_capacity(N as usize);
    let g = (api.track_begin)();
    let me = (api.thread)();
    me.tag.store(g << 16 | 5, Ordering::Relaxed);
    kept.extend((0..N).map(Box::new));
    me.tag.store(0, Ordering::Relaxed);
    (api.track_end)();
    assert_eq!(((api.net)(g << 16 | 5), (api.untracked)()), (8 * N as i64, 0), "ground truth: the Net table holds the N boxes kept");
    drop(kept);

    const ROUNDS: usize = 101;
    let [mut idle, mut plain, mut armed, mut tagged, mut untagged] = std::array::from_fn(|_| Vec::with_capacity(ROUNDS));
    let (mut idle_ratio, mut armed_ratio) = (Vec::with_capacity(ROUNDS), Vec::with_capacity(ROUNDS));
    for r in 0..ROUNDS {
        // Idle and plain side by side, in alternating order: the ratio of
        // each pair, then the median, so that a change of the machine's
        // load between rounds cancels out.
        let mut pair = [0.0; 2];
        for k in [r % 2, 1 - r % 2] {
            VIA_GOT.store(k == 0, Ordering::Relaxed);
            pair[k] = round();
        }
        VIA_GOT.store(true, Ordering::Relaxed);
        {
            let _reading = api.armed();
            armed.push(round());
        }
        idle.push(pair[0]);
        plain.push(pair[1]);
        idle_ratio.push(pair[0] / pair[1]);
        armed_ratio.push(armed[r] / pair[1]);
        // %mprun's statement (nothing instrumented): the loop as a
        // profiled line's work (tagged), and outside any line.
        let mut ns = (0.0, 0.0);
        parlab::__private::mprun(&[], parlab::__private::MprunOptions::default(), || {
            let me = (api.thread)();
            me.tag.store(1 << 16 | 1, Ordering::Relaxed);
            ns.0 = round();
            me.tag.store(0, Ordering::Relaxed);
            ns.1 = round();
        });
        tagged.push(ns.0 - pair[1]);
        untagged.push(ns.1 - pair[1]);
    }
    let [idle, plain, armed, tagged, untagged, idle_ratio, armed_ratio] =
        [idle, plain, armed, tagged, untagged, idle_ratio, armed_ratio].map(median);
    println!("alloc_box_plain_ns {plain:.2} ns");
    println!("alloc_box_idle_ns {idle:.2} ns");
    println!("alloc_box_armed_ns {armed:.2} ns");
    println!("alloc_counting_overhead_ratio {idle_ratio:.3} x");
    println!("alloc_armed_overhead_ratio {armed_ratio:.3} x");
    println!("mprun_overhead_ns_per_alloc {tagged:.2} ns");
    println!("mprun_untagged_overhead_ns_per_alloc {untagged:.2} ns");

    // One first arm + last disarm: the walk over every loaded object, its
    // slots switched and put back (the slot lists cached after the first).
    let pairs: Vec<f64> = (0..2001)
        .map(|_| {
            let t = Instant::now();
            drop(api.armed());
            t.elapsed().as_nanos() as f64 / 1e3
        })
        .collect();
    let (objects, slots) = {
        let _reading = api.armed();
        parlab_alloc::arm_stats()
    };
    assert!(slots >= 4, "the executable's and libc's malloc and free at least");
    println!("alloc_arm_disarm_us {:.2} us", median(pairs));
    println!("alloc_arm_objects {objects} objects");
    println!("alloc_arm_slots {slots} slots");

    let distance_fn = &FUNCTIONS[..1];
    let plain = (0..15).map(|_| time(|| drop(black_box(plain::distance())))).fold(f64::MAX, f64::min);
    let (mut best, mut hits) = (f64::MAX, 0);
    for _ in 0..15 {
        let mut p = None;
        let t = time(|| p = Some(parlab::__private::mprun(distance_fn, parlab::__private::MprunOptions::default(), || drop(black_box(distance())))));
        best = best.min(t);
        hits = p.unwrap().functions[0].lines.iter().map(|l| l.hits).sum::<u64>();
    }
    assert!(hits > 3_000_000, "the fixture's line events");
    println!("mprun_distance_hits {hits} hits");
    println!("mprun_overhead_ns_per_hit {:.2} ns", (best - plain) / hits as f64);
}

/// Nanoseconds `f` took.
fn time(f: impl FnOnce()) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_nanos() as f64
}
