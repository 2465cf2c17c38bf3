//! `Pool`: order, laziness, batching, failures, and the pool surviving them.

use parlab::Pool;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// The payload of a panic as text, to check what reaches the caller.
fn panic_message(f: impl FnOnce()) -> String {
    let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).expect_err("should panic");
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(p) => p.downcast_ref::<&str>().map(|s| s.to_string()).unwrap_or_default(),
    }
}

/// Not `Clone`, so tests prove arguments are moved, not copied.
struct Token(u32);

fn square(x: u64) -> u64 {
    x * x
}

#[test]
fn map_keeps_order_with_plain_fns_and_borrowing_closures() {
    let pool = Pool::new(3);
    let expected: Vec<u64> = (0..10_000u64).map(square).collect();
    assert_eq!(pool.map(square, 0..10_000u64), expected);
    let data = [10u64, 20, 30];
    assert_eq!(pool.map(|i: usize| data[i] + 1, 0..3), vec![11, 21, 31]);
    assert_eq!(pool.map(|t: Token| t.0, vec![Token(1), Token(2)]), vec![1, 2]);
    assert!(pool.map(square, Vec::new()).is_empty());
}

#[test]
fn starmap_unpacks_two_three_and_four_arguments() {
    let pool = Pool::new(2);
    assert_eq!(pool.starmap(|a, b| a + b, vec![(1, 2), (3, 4)]), vec![3, 7]);
    assert_eq!(pool.starmap(|a: u8, b: u8, c: u8| a * b * c, [(1, 2, 3), (2, 2, 2)]), vec![6, 8]);
    let four = pool.starmap(|a: &str, b: usize, c: char, d: Token| format!("{}{b}{c}{}", a, d.0), [("x", 1, 'y', Token(2))]);
    assert_eq!(four, vec!["x1y2"]);
}

#[test]
fn chunks_run_whole_and_in_order_on_one_thread() {
    let pool = Pool::new(2).with_chunksize(4);
    let runs = pool.map(|i: usize| (i, std::thread::current().id()), 0..64);
    // Each maximal run of consecutive tasks on one thread is a whole number
    // of batches of at least 4 (except the run that ends the input).
    let mut start = 0;
    for i in 1..=runs.len() {
        if i == runs.len() || runs[i].1 != runs[start].1 {
            assert!(i - start >= 4 || i == runs.len(), "run {start}..{i} is shorter than a chunk");
            start = i;
        }
    }
    // A chunk as large as the input is never split.
    let one = Pool::new(2).with_chunksize(100).map(|_: usize| std::thread::current().id(), 0..50);
    assert!(one.iter().all(|id| *id == one[0]));
}

#[test]
fn a_panicking_task_names_itself_and_the_pool_keeps_working() {
    let pool = Pool::new(2);
    let msg = panic_message(|| {
        pool.map(|x: u32| if x == 3 { panic!("boom at {x}") } else { x }, 0..100);
    });
    assert_eq!(msg, "task 3 panicked: boom at 3");
    assert_eq!(pool.map(|x: u32| x + 1, 0..4), vec![1, 2, 3, 4]);
    let msg = panic_message(|| {
        pool.starmap(|a: u32, b: u32| if a == 1 { panic!("bad pair") } else { a + b }, [(0, 0), (1, 1)]);
    });
    assert_eq!(msg, "task 1 panicked: bad pair");
}

#[test]
fn after_a_panic_tasks_not_started_are_skipped() {
    let ran = AtomicUsize::new(0);
    let _ = panic_message(|| {
        Pool::new(1).map(
            |x: u32| {
                ran.fetch_add(1, Ordering::Relaxed);
                assert!(x != 0, "first task fails");
            },
            0..1000,
        );
    });
    assert_eq!(ran.load(Ordering::Relaxed), 1);
}

#[test]
fn imap_yields_the_first_result_before_the_last_task_ends() {
    let pool = Pool::new(2);
    let (release, gate) = mpsc::channel::<()>();
    let gate = std::sync::Mutex::new(gate);
    let n = 8;
    let mut results = pool.imap(
        move |i: usize| {
            if i == n - 1 {
                // Blocks until the consumer has seen result 0: an eager
                // imap would never get there (the timeout turns that
                // deadlock into a failure).
                gate.lock().unwrap().recv_timeout(Duration::from_secs(30)).expect("imap was not lazy");
            }
            i * 10
        },
        0..n,
    );
    assert_eq!(results.next(), Some(0));
    release.send(()).unwrap();
    assert_eq!(results.collect::<Vec<_>>(), (1..n).map(|i| i * 10).collect::<Vec<_>>());
}

#[test]
fn imap_keeps_order_and_imap_unordered_yields_everything() {
    let pool = Pool::new(3).with_chunksize(7);
    let ordered: Vec<u64> = pool.imap(square, 0..5000u64).collect();
    assert_eq!(ordered, (0..5000u64).map(square).collect::<Vec<_>>());
    let it = pool.imap_unordered(square, 0..5000u64);
    assert_eq!(it.size_hint(), (5000, Some(5000)));
    let mut unordered: Vec<u64> = it.collect();
    unordered.sort_unstable();
    assert_eq!(unordered, ordered);
    assert_eq!(pool.imap(|t: Token| t.0, vec![Token(7)]).collect::<Vec<_>>(), vec![7]);
}

#[test]
fn imap_yields_results_before_a_panicking_task_then_panics() {
    let pool = Pool::new(2);
    let mut it = pool.imap(|x: u32| if x == 5 { panic!("five") } else { x }, 0..50);
    let before: Vec<u32> = it.by_ref().take(5).collect();
    assert_eq!(before, vec![0, 1, 2, 3, 4]);
    let msg = panic_message(|| {
        it.next();
    });
    assert_eq!(msg, "task 5 panicked: five");
    let msg = panic_message(|| {
        let _ = pool.imap_unordered(|_: u32| -> u32 { panic!("all fail") }, 0..3).count();
    });
    assert!(msg.ends_with("panicked: all fail"), "{msg}");
    assert_eq!(pool.imap(square, 0..3u64).collect::<Vec<_>>(), vec![0, 1, 4]);
}

#[test]
fn dropping_imap_early_skips_the_tasks_not_started() {
    let pool = Pool::new(1);
    let ran = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = ran.clone();
    let (release, gate) = mpsc::channel::<()>();
    let (started, has_started) = mpsc::channel::<()>();
    let gate = std::sync::Mutex::new((started, gate));
    let it = pool.imap(
        move |i: u32| {
            if i == 0 {
                let gate = gate.lock().unwrap();
                gate.0.send(()).unwrap();
                let _ = gate.1.recv_timeout(Duration::from_secs(30));
            }
            counter.fetch_add(1, Ordering::Relaxed);
        },
        0..1000,
    );
    has_started.recv().unwrap();
    drop(it); // while task 0 is blocked
    release.send(()).unwrap();
    // The single worker finishes the batch before it takes this call.
    assert_eq!(pool.map(|x: u32| x, 0..2), vec![0, 1]);
    assert_eq!(ran.load(Ordering::Relaxed), 1);
}

#[test]
fn apply_async_get_ready_and_wait() {
    let pool = Pool::new(2);
    let (tx, rx) = mpsc::channel::<u32>();
    let pending = pool.apply_async(move |base: u32| base + rx.recv().unwrap(), 40);
    assert!(!pending.ready());
    assert!(!pending.wait(Duration::from_millis(1)));
    tx.send(2).unwrap();
    assert!(pending.wait(Duration::from_secs(30)));
    assert!(pending.ready());
    assert_eq!(pending.get(), 42);

    let failing = pool.apply_async(|_: ()| -> u32 { panic!("async boom") }, ());
    assert_eq!(panic_message(|| {
        failing.get();
    }), "task 0 panicked: async boom");
    assert_eq!(pool.apply_async(|t: Token| t.0, Token(9)).get(), 9);
}

#[test]
fn default_pool_has_a_thread_per_core() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(Pool::default().threads(), cores);
    assert_eq!(Pool::default().map(square, [3]), vec![9]);
}
