//! An interrupt requested while `%timeit` runs unwinds with
//! `KeyboardInterrupt` (in its own process: the flag is global).

use parlab::__private::{timeit, TimeitOptions};
use parlab::KeyboardInterrupt;

/// Promptness by loop count, not by time: `Run::chunks` checks the flag
/// before handing out each chunk, so the run must end with the chunk in
/// which the request was made (a harness that checked only between
/// repeats would run all `u64::MAX` loops of the first one).
#[test]
fn interrupt_stops_a_long_timeit_at_the_next_chunk() {
    let mut loops_run = 0u64;
    let mut end_of_requesting_chunk = None;
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        timeit(TimeitOptions { loops: u64::MAX, repeat: 7, ..TimeitOptions::DEFAULT }, |run| {
            let t = run.start();
            for k in run.chunks() {
                let end = loops_run + k;
                for _ in 0..k {
                    loops_run += 1;
                    if loops_run == 1000 {
                        parlab::interrupt::request();
                        end_of_requesting_chunk = Some(end);
                    }
                    std::hint::black_box(loops_run);
                }
            }
            t.elapsed()
        })
    }));
    let payload = result.expect_err("the run must be interrupted");
    assert!(payload.is::<KeyboardInterrupt>());
    assert_eq!(Some(loops_run), end_of_requesting_chunk, "no loop runs after the chunk that saw the request");
    assert!(!parlab::interrupt::requested(), "the request is consumed");
}
