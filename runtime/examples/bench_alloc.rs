//! Benchmark of the counting allocator: what counting costs an allocation.
//!
//! `cargo run --release --example bench_alloc` (a workspace build; this
//! example links `parlab-alloc` with `interpose`, as the kernel does)
//! prints `name value unit` lines.
//!
//! `alloc_counting_overhead_ratio`: 1M `Box::new(u64)` + drop through the
//! counting `malloc`/`free` (this binary's interposer, header and per-thread
//! counters) ÷ the same through glibc's `__libc_malloc`/`__libc_free`
//! directly. One `#[global_allocator]` serves both, switched by a flag it
//! reads either way, so the two paths differ only in the counting. Rounds
//! alternate, and the ratio is of the medians.

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
    let (mut on, mut off) = (Vec::with_capacity(ROUNDS), Vec::with_capacity(ROUNDS));
    for _ in 0..ROUNDS {
        COUNTING.store(true, Ordering::Relaxed);
        on.push(round());
        COUNTING.store(false, Ordering::Relaxed);
        off.push(round());
        COUNTING.store(true, Ordering::Relaxed);
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
}
