//! `ProcessPool`: results cross the process boundary in order, and a
//! worker that dies or panics becomes an error naming its task, not a hang.

use parlab::{ProcessPool, ProcessPoolError};

fn square(x: u64) -> u64 {
    x * x
}

#[test]
fn map_runs_in_other_processes_and_keeps_order() {
    let pool = ProcessPool::new(3);
    let expected: Vec<u64> = (0..200).map(square).collect();
    assert_eq!(pool.map(square, 0..200).unwrap(), expected);
    let me = std::process::id();
    let pids = pool.map(|_: u8| std::process::id(), 0..6).unwrap();
    assert!(pids.iter().all(|&pid| pid != me));
    assert!(pool.map(square, Vec::new()).unwrap().is_empty());
}

#[test]
fn arguments_and_results_are_serialized_whatever_their_size() {
    let pool = ProcessPool::new(2);
    let big = vec![vec![7u8; 3 << 20], vec![1u8; 10]];
    let sums = pool.map(|v: Vec<u8>| v.iter().map(|&b| u64::from(b)).sum::<u64>(), big).unwrap();
    assert_eq!(sums, vec![7 * (3 << 20), 10]);
    let echoed = pool.map(|n: usize| vec![n as u8; n], [5 << 20, 1]).unwrap();
    assert_eq!(echoed[0].len(), 5 << 20);
    let texts = pool.map(|(a, b): (String, u32)| format!("{a}{b}"), [("x".to_string(), 1)]).unwrap();
    assert_eq!(texts, ["x1"]);
}

#[test]
fn a_worker_that_aborts_is_an_error_naming_its_task() {
    let pool = ProcessPool::new(2);
    let err = pool.map(|x: u32| if x == 5 { std::process::abort() } else { x }, 0..20).unwrap_err();
    match &err {
        ProcessPoolError::WorkerDied { task, status, .. } => {
            assert_eq!(*task, 5);
            assert!(!status.success());
        }
        other => panic!("unexpected error: {other}"),
    }
    assert!(err.to_string().contains("task 5"), "{err}");
    // Exits and segfault-like deaths too; and the pool is fine afterwards.
    let err = pool.map(|x: u32| if x == 1 { std::process::exit(3) } else { x }, 0..4).unwrap_err();
    assert!(matches!(err, ProcessPoolError::WorkerDied { task: 1, .. }), "{err}");
    let err = pool.map(|x: u32| if x == 0 { unsafe { segfault() } } else { x }, 0..4).unwrap_err();
    assert!(matches!(err, ProcessPoolError::WorkerDied { task: 0, .. }), "{err}");
    assert_eq!(pool.map(|x: u32| x + 1, 0..3).unwrap(), vec![1, 2, 3]);
}

/// A real invalid memory access.
unsafe fn segfault() -> u32 {
    std::ptr::null_mut::<u32>().write_volatile(1);
    0
}

#[test]
fn a_panicking_task_is_an_error_with_its_message() {
    let pool = ProcessPool::new(2);
    let err = pool.map(|x: u32| if x == 2 { panic!("bad {x}") } else { x }, 0..6).unwrap_err();
    match err {
        ProcessPoolError::TaskPanicked { task, message } => assert_eq!((task, message.as_str()), (2, "bad 2")),
        other => panic!("unexpected error: {other}"),
    }
}

#[test]
fn imap_yields_in_order_up_to_the_first_failure() {
    let pool = ProcessPool::new(2);
    let results: Vec<_> = pool.imap(|x: u32| if x == 3 { std::process::abort() } else { x }, 0..10).collect();
    assert_eq!(results.len(), 4);
    assert!(results[..3].iter().zip(0..).all(|(r, i)| r.as_ref().ok() == Some(&i)));
    assert!(matches!(results[3], Err(ProcessPoolError::WorkerDied { task: 3, .. })));
}

/// The children this test thread forked (Linux lists them per thread).
fn my_children() -> usize {
    std::fs::read_to_string("/proc/thread-self/children").unwrap().split_whitespace().count()
}

#[test]
fn a_dropped_imap_kills_its_workers() {
    let pool = ProcessPool::new(2);
    let sleepy = |x: u64| -> u64 {
        if x > 0 {
            std::thread::sleep(std::time::Duration::from_secs(600));
        }
        x
    };
    let mut it = pool.imap(sleepy, 0..4);
    assert_eq!(it.next().unwrap().unwrap(), 0);
    assert_eq!(my_children(), 2);
    drop(it); // kills the sleeping workers rather than waiting for them
    assert_eq!(my_children(), 0);
}
