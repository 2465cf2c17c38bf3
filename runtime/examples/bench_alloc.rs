//! Benchmark of the counting allocator: what counting costs an allocation.
//!
//! `cargo run --release --example bench_alloc 2>/dev/null | grep -v PARLAB`
//! (a workspace build; this example links `parlab-alloc` with `interpose`,
//! as the kernel does) prints `name value unit` lines.
//!
//! `alloc_counting_overhead_ratio`: 1M `Box::new(u64)` + drop through the
//! counting `malloc`/`free` (this binary's interposer, header and per-thread
//! counters) ÷ the same through glibc's `__libc_malloc`/`__libc_free`
//! directly. One `#[global_allocator]` serves both, switched by a flag it
//! reads either way, so the two paths differ only in the counting. Rounds
//! alternate, and the ratio is of the medians. Goal ≤ 1.02.
//!
//! `mprun_overhead_ns_per_alloc`: the same `Box` loop as `%mprun`'s
//! statement (counting on) minus the plain loop (counting off), per
//! allocation. `%mprun` adds no work inside the allocator (a line reads the
//! counters at its start and end), so this is the counting's own cost.
//! Goal ≤ 20 ns.
//!
//! `mprun_overhead_ns_per_hit`: `%mprun -f distance distance()` (the
//! instrumenter's real output, the checked-in fixture: 3,040,206 line
//! events) minus the original `distance()`, per line hit.

#![allow(dead_code)]

include!("../tests/fixtures/lprun_distance.rs");
include!("../tests/fixtures/random_matrix.rs");
include!("../tests/fixtures/chains.rs");

use std::alloc::{GlobalAlloc, Layout};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

extern "C" {
    fn malloc(size: usize) -> *mut u8;
    fn free(p: *mut u8);
    fn __libc_malloc(size: usize) -> *mut u8;
    fn __libc_free(p: *mut u8);
}

static COUNTING: AtomicBool = AtomicBool::new(true);

struct Switch;

// SAFETY: both paths return blocks of at least `size` bytes, 16-aligned
// (the benchmark allocates only types with alignment ≤ 16), and each block
// is freed by the family that allocated it (the flag changes only between
// rounds, when no block of a round is alive, and `main` makes no other
// allocation while it is off: its vectors are allocated beforehand).
unsafe impl GlobalAlloc for Switch {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) { malloc(l.size()) } else { __libc_malloc(l.size()) }
    }
    unsafe fn dealloc(&self, p: *mut u8, _: Layout) {
        if COUNTING.load(Ordering::Relaxed) { free(p) } else { __libc_free(p) }
    }
}

#[global_allocator]
static SWITCH: Switch = Switch;

const N: u64 = 1_000_000;

/// Nanoseconds per `Box::new` + drop, over `N`.
fn round() -> f64 {
    let t = Instant::now();
    for i in 0..N {
        black_box(Box::new(black_box(i)));
    }
    t.elapsed().as_nanos() as f64 / N as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    const ROUNDS: usize = 41;
    let (mut on, mut off, mut under) = (Vec::with_capacity(ROUNDS), Vec::with_capacity(ROUNDS), Vec::with_capacity(ROUNDS));
    for _ in 0..ROUNDS {
        COUNTING.store(true, Ordering::Relaxed);
        on.push(round());
        COUNTING.store(false, Ordering::Relaxed);
        off.push(round());
        COUNTING.store(true, Ordering::Relaxed);
        // %mprun's statement: the same loop under `mprun` (nothing
        // instrumented, so only the allocator counts).
        let mut ns = 0.0;
        parlab::__private::mprun(&[], parlab::__private::MprunOptions::default(), || ns = round());
        under.push(ns);
    }
    let ((), stats) = parlab::alloc::measure(|| {
        for i in 0..N {
            black_box(Box::new(black_box(i)));
        }
    });
    let stats = stats.expect("this example links the counting allocator");
    assert_eq!((stats.allocs, stats.bytes), (N, 8 * N), "ground truth: N boxes of 8 bytes");
    let (on, off) = (median(on), median(off));
    println!("alloc_box_counting_ns {on:.2} ns");
    println!("alloc_box_plain_ns {off:.2} ns");
    println!("alloc_counting_overhead_ratio {:.3} x", on / off);

    println!("mprun_overhead_ns_per_alloc {:.2} ns", median(under) - off);

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
