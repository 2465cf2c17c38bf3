//! Interrupts stop pools: no further dispatch, `KeyboardInterrupt` on the
//! caller, the flag consumed, the pool usable afterwards.
//!
//! Its own test binary because the interrupt flag is process-wide; the
//! tests here take turns.

use parlab::{interrupt, KeyboardInterrupt, Pool, ProcessPool};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};
use std::time::Duration;

static TURN: Mutex<()> = Mutex::new(());

/// Runs `f`, which must unwind with `KeyboardInterrupt`.
fn expect_interrupt(f: impl FnOnce()) {
    let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).expect_err("should unwind");
    assert!(payload.is::<KeyboardInterrupt>(), "unwound with something else");
    assert!(!interrupt::requested(), "the request should be consumed");
}

/// Requests an interrupt once `started` says the work is under way.
fn interrupt_when(started: mpsc::Receiver<()>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        started.recv().unwrap();
        interrupt::request();
    })
}

#[test]
fn map_stops_dispatching_and_unwinds_the_caller() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let pool = Pool::new(1);
    let ran = AtomicUsize::new(0);
    expect_interrupt(|| {
        pool.map(
            |i: u32| {
                ran.fetch_add(1, Ordering::Relaxed);
                if i == 0 {
                    interrupt::request(); // as SIGINT would, mid-task
                }
            },
            0..1000,
        );
    });
    assert_eq!(ran.load(Ordering::Relaxed), 1);
    assert_eq!(pool.map(|x: u32| x * 2, 0..3), vec![0, 2, 4]);
}

#[test]
fn imap_unwinds_a_waiting_consumer() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let pool = Pool::new(2);
    let (started, on_start) = mpsc::channel();
    let (release, gate) = mpsc::channel::<()>();
    let gate = Mutex::new((started, gate));
    let it = pool.imap(
        move |i: u32| {
            if i == 0 {
                let g = gate.lock().unwrap();
                g.0.send(()).unwrap();
                let _ = g.1.recv_timeout(Duration::from_secs(30));
            }
            i
        },
        0..4,
    );
    let helper = interrupt_when(on_start);
    expect_interrupt(|| {
        let _ = it.collect::<Vec<_>>();
    });
    helper.join().unwrap();
    release.send(()).unwrap();
    assert_eq!(pool.imap(|x: u32| x + 1, 0..2).collect::<Vec<_>>(), vec![1, 2]);
}

#[test]
fn async_get_unwinds_while_waiting() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let pool = Pool::new(1);
    let (started, on_start) = mpsc::channel();
    let (release, gate) = mpsc::channel::<()>();
    let pending = pool.apply_async(
        move |_: ()| {
            started.send(()).unwrap();
            let _ = gate.recv_timeout(Duration::from_secs(30));
        },
        (),
    );
    let helper = interrupt_when(on_start);
    expect_interrupt(|| pending.get());
    helper.join().unwrap();
    release.send(()).unwrap();
    assert_eq!(pool.apply_async(|x: u8| x, 5).get(), 5);
}

#[test]
fn process_pool_kills_its_workers_and_unwinds() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let (started, on_start) = mpsc::channel();
    let pool = ProcessPool::new(2);
    let mut it = pool.imap(
        |x: u64| {
            if x > 0 {
                std::thread::sleep(Duration::from_secs(600));
            }
            x
        },
        0..4,
    );
    assert_eq!(it.next().unwrap().unwrap(), 0);
    started.send(()).unwrap();
    let helper = interrupt_when(on_start);
    expect_interrupt(|| {
        let _ = it.next();
    });
    helper.join().unwrap();
    let children = std::fs::read_to_string("/proc/thread-self/children").unwrap();
    assert_eq!(children.trim(), "", "workers left behind");
}

#[test]
fn scaling_checks_between_runs() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let runs = AtomicUsize::new(0);
    expect_interrupt(|| {
        parlab::scaling(
            || {
                runs.fetch_add(1, Ordering::Relaxed);
                interrupt::request();
            },
            1..=4,
        );
    });
    // The warm-up run requested it; the first timed run never started.
    assert_eq!(runs.load(Ordering::Relaxed), 1);
}
