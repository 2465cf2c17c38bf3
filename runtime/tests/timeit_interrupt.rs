//! An interrupt requested while `%timeit` runs unwinds with
//! `KeyboardInterrupt` (in its own process: the flag is global).

use parlab::__private::{timeit, TimeitOptions};
use parlab::KeyboardInterrupt;

#[test]
fn interrupt_stops_a_long_timeit_promptly() {
    let mut loops_run = 0u64;
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        timeit(TimeitOptions { loops: u64::MAX, repeat: 7, ..TimeitOptions::DEFAULT }, |run| {
            let t = run.start();
            for k in run.chunks() {
                for _ in 0..k {
                    loops_run += 1;
                    if loops_run == 1000 {
                        parlab::interrupt::request();
                    }
                    std::hint::black_box(loops_run);
                }
            }
            t.elapsed()
        })
    }));
    let payload = result.expect_err("the run must be interrupted");
    assert!(payload.is::<KeyboardInterrupt>());
    assert!(loops_run < u64::MAX / 2);
    assert!(!parlab::interrupt::requested(), "the request is consumed");
}
