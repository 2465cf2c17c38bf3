//! Exact allocation counts against ground truth: code whose allocations we
//! know. The counts are process-wide (all threads), so this binary runs
//! without libtest's harness (whose threads allocate as they start and
//! report): `main` runs each check in turn, alone in the process.

use parlab::__private::{timeit, MemitOptions, Run, TimeitOptions};
use parlab::alloc::{measure, memit, AllocStats};

fn main() {
    let checks: &[(&str, fn())] = &[
        ("ten_vecs_of_a_thousand_u64_are_ten_allocations_of_80_000_bytes", ten_vecs_of_a_thousand_u64_are_ten_allocations_of_80_000_bytes),
        ("a_string_clone_in_a_loop_of_100_is_100_allocations", a_string_clone_in_a_loop_of_100_is_100_allocations),
        ("nothing_allocated_is_zero", nothing_allocated_is_zero),
        ("fifty_mib_touched_is_an_increment_of_about_fifty_and_one_allocation", fifty_mib_touched_is_an_increment_of_about_fifty_and_one_allocation),
        ("memit_repeats_report_the_largest", memit_repeats_report_the_largest),
        ("rss_mark_rises_with_touched_pages_and_a_reset_lowers_it", rss_mark_rises_with_touched_pages_and_a_reset_lowers_it),
        ("timeit_allocations_per_loop_exclude_the_setup", timeit_allocations_per_loop_exclude_the_setup),
        // Last: a joined thread may still be freeing its thread-locals.
        ("worker_threads_count_and_what_stays_is_live", worker_threads_count_and_what_stays_is_live),
    ];
    for (name, check) in checks {
        check();
        println!("test {name} ... ok");
    }
    println!("test result: ok. {} passed", checks.len());
}

/// glibc's usable size for a request of `n` bytes: what the counting
/// allocator moves `live` and the peaks by (it has no header to keep the
/// request in; `bytes` stays the request).
fn usable(n: usize) -> u64 {
    // SAFETY: a block allocated, measured and freed here.
    unsafe {
        let p = libc::malloc(n);
        let u = libc::malloc_usable_size(p);
        libc::free(p);
        u as u64
    }
}

fn ten_vecs_of_a_thousand_u64_are_ten_allocations_of_80_000_bytes() {
    let ((), stats) = measure(|| {
        for _ in 0..10 {
            std::hint::black_box(Vec::<u64>::with_capacity(1000));
        }
    });
    let s = stats.expect("the test binary links the counting allocator");
    assert_eq!((s.allocs, s.bytes, s.frees, s.peak, s.live), (10, 80_000, 10, usable(8000), 0));
    assert_eq!(usable(8000), 8008, "glibc: an 8,016-byte chunk, 8 bytes of it its header");
}

fn a_string_clone_in_a_loop_of_100_is_100_allocations() {
    let s = String::from("parlab");
    let (_, stats) = measure(|| {
        for _ in 0..100 {
            std::hint::black_box(s.clone());
        }
    });
    let stats = stats.unwrap();
    assert_eq!((stats.allocs, stats.bytes, stats.frees), (100, 600, 100));
    assert_eq!(stats.peak, usable(6), "one clone alive at a time (glibc's smallest chunk: 24 usable bytes)");
}

fn nothing_allocated_is_zero() {
    let (_, stats) = measure(|| std::hint::black_box(3u64).pow(2));
    assert_eq!(stats.unwrap(), AllocStats::default());
}

fn worker_threads_count_and_what_stays_is_live() {
    let (kept, stats) = measure(|| {
        std::thread::scope(|s| {
            s.spawn(|| drop(std::hint::black_box(vec![0u64; 100])));
        });
        vec![0u8; 1000]
    });
    let stats = stats.unwrap();
    assert!(stats.allocs >= 2 && stats.bytes >= 1800, "{stats:?}");
    assert!(stats.live >= 1000, "the returned Vec is still live: {stats:?}");
    drop(kept);
}

fn fifty_mib_touched_is_an_increment_of_about_fifty_and_one_allocation() {
    let r = memit(MemitOptions { quiet: true, ..MemitOptions::DEFAULT }, || {
        std::hint::black_box(vec![1u8; 50 << 20]);
    });
    assert!((r.increment() - 50.0).abs() < 5.0, "{r}");
    let a = r.largest().unwrap();
    // An mmapped chunk: the request rounded up to a page, less its header.
    assert_eq!((a.allocs, a.bytes, a.peak, a.live), (1, 50 << 20, usable(50 << 20), 0));
    assert_eq!(usable(50 << 20), (50 << 20) + 4096 - 16);
    let text = r.to_string();
    assert!(text.ends_with("allocations: 1 (50.0 MiB), peak heap: 50.0 MiB above start, still live: 0 B"), "{text}");
}

fn memit_repeats_report_the_largest() {
    let mut n = 0;
    let r = memit(MemitOptions { repeat: 3, quiet: true }, || {
        n += 1;
        std::hint::black_box(vec![1u8; n << 20]);
    });
    assert_eq!(r.mem_usage.len(), 3);
    assert_eq!(r.largest().unwrap().bytes, 3 << 20);
}

fn rss_mark_rises_with_touched_pages_and_a_reset_lowers_it() {
    use parlab::alloc::rss::{reset_peak, rss_and_peak};
    let (rss, _) = rss_and_peak().unwrap();
    let v = vec![1u8; 64 << 20];
    std::hint::black_box(&v);
    drop(v);
    let (_, peak) = rss_and_peak().unwrap();
    assert!(peak >= rss + (60 << 20), "peak {peak} rss {rss}");
    assert!(reset_peak());
    let (rss2, peak2) = rss_and_peak().unwrap();
    assert!(peak2 < peak && peak2 <= rss2 + (4 << 20), "after reset: peak {peak2}, rss {rss2}");
}

/// A statement that makes two allocations of 80 bytes per loop, after a
/// setup that allocates (not counted).
fn timeit_allocations_per_loop_exclude_the_setup() {
    let opts = TimeitOptions { loops: 100, repeat: 3, quiet: true, ..TimeitOptions::DEFAULT };
    let r = timeit(opts, |run: Run| {
        let _setup = std::hint::black_box(vec![0u8; 1000]);
        let t = run.start();
        for k in run.chunks() {
            for _ in 0..k {
                std::hint::black_box((Box::new([0u64; 10]), Box::new([1u64; 10])));
            }
        }
        t.elapsed()
    });
    assert_eq!((r.allocs_per_loop, r.bytes_per_loop), (Some(2.0), Some(160.0)));
    assert_eq!(r.alloc_line().as_deref(), Some("allocations: 2 per loop (160 B)"));
    let text = r.report_with(true).get("text/plain").unwrap().to_owned();
    assert_eq!(text.lines().nth(1), Some("allocations: 2 per loop (160 B)"));
}
