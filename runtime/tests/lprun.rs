//! `%lprun` end to end without evcxr: the checked-in instrumenter output
//! (`fixtures/lprun_distance.rs`, kept equal to the instrumenter by a
//! parlab-magics test) runs under `lprun`, and its Hits column must equal
//! line_profiler's for the Python originals. No timing assertions.

#![allow(dead_code)]

use parlab::__private::{lprun, LprunOptions, Sampling};
use parlab::LineProfile;
use std::sync::Mutex;

include!("fixtures/lprun_distance.rs");
include!("fixtures/random_matrix.rs");
include!("fixtures/chains.rs");

/// Sessions are process-wide, and an instrumented function called while
/// *another* test's session records would count there: tests of this
/// binary take turns for their whole body.
static SESSION: Mutex<()> = Mutex::new(());

fn turn() -> std::sync::MutexGuard<'static, ()> {
    SESSION.lock().unwrap_or_else(|e| e.into_inner())
}

/// These tests are about Hits: a short sampling phase is enough.
fn quick() -> LprunOptions {
    LprunOptions { sampling: Sampling { min_samples: 100, budget: std::time::Duration::from_millis(50), ..Sampling::default() }, ..LprunOptions::default() }
}

fn profile(stmt: impl FnMut()) -> LineProfile {
    lprun(&FUNCTIONS, quick(), stmt)
}

/// Hits of the lines that ran, as `(cell line, hits)`.
fn hits(p: &LineProfile, name: &str) -> Vec<(u32, u64)> {
    let f = p.functions.iter().find(|f| f.name == name).unwrap();
    f.lines.iter().filter(|l| l.hits > 0).map(|l| (l.line, l.hits)).collect()
}

#[test]
fn distance_hits_equal_line_profilers() {
    let _turn = turn();
    let p = profile(|| {
        std::hint::black_box(distance());
    });
    let expected = [1, 1, 1, 1, 101, 10_100, 10_000, 1_010_000, 1_000_000, 1_000_000, 10_000];
    let got: Vec<u64> = hits(&p, "distance").iter().map(|h| h.1).collect();
    // The Rust port ends with `dist` (the returned value): one more line.
    assert_eq!(got, [&expected[..], &[1]].concat());
    assert_eq!(hits(&p, "distance")[4].0, 7, "the outer `for` header is cell line 7");
    assert_eq!(plain::distance(), distance(), "probes do not change results");
}

#[test]
fn recursion_is_tracked_per_call() {
    let _turn = turn();
    let p = profile(|| assert_eq!(fib(20), 6765));
    // line_profiler on fib(20): `if n < 2` once per call (21891 calls),
    // `return n` on the 10946 leaves, the recursive line on the rest.
    assert_eq!(hits(&p, "fib"), [(21, 21_891), (22, 10_946), (24, 10_945)]);
}

#[test]
fn closures_on_rayon_threads_are_recorded() {
    let _turn = turn();
    let rows = random_matrix(64, 8);
    let p = profile(|| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        assert_eq!(pool.install(|| par_norms(&rows)), plain::par_norms(&rows));
    });
    // The statement line once; the closure's two lines once per row, on
    // whichever worker ran it.
    assert_eq!(hits(&p, "par_norms"), [(29, 1), (31, 64), (32, 64)]);
}

#[test]
fn probes_are_inert_outside_a_session() {
    let _turn = turn();
    assert_eq!(fib(10), 55);
    let p = lprun(&FUNCTIONS, quick(), || ());
    assert!(p.functions.iter().all(|f| f.total_hits() == 0), "nothing recorded before the session");
}

#[test]
fn a_panic_shows_the_partial_profile_and_resumes() {
    let _turn = turn();
    let caught = std::panic::catch_unwind(|| {
        lprun(&FUNCTIONS, quick(), || {
            fib(5);
            panic!("boom");
        })
    });
    assert_eq!(caught.unwrap_err().downcast_ref::<&str>(), Some(&"boom"));
}

#[test]
fn an_interrupt_stops_profiled_loops() {
    let _turn = turn();
    parlab::interrupt::request();
    let caught = std::panic::catch_unwind(|| lprun(&FUNCTIONS, quick(), || distance()));
    parlab::interrupt::clear();
    assert!(caught.unwrap_err().is::<parlab::KeyboardInterrupt>());
}

#[test]
fn save_load_and_files() {
    let dir = std::env::temp_dir().join(format!("parlab-lprun-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (txt, json): (&'static str, &'static str) = (
        Box::leak(dir.join("p.txt").to_string_lossy().into_owned().into_boxed_str()),
        Box::leak(dir.join("p.json").to_string_lossy().into_owned().into_boxed_str()),
    );
    let _turn = turn();
    let opts = LprunOptions { unit: Some(1e-6), skip_zero: true, text_file: Some(txt), dump_file: Some(json), ..quick() };
    let p = lprun(&FUNCTIONS, opts, || fib(8));
    // serde_json's default float parser may differ in the last bit
    // (exact round trips need its `float_roundtrip` feature, which would
    // rebuild evcxr's whole tree): compare the floats with a tolerance.
    let loaded = LineProfile::load(json).unwrap();
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(1.0);
    assert!(close(loaded.timing.ns_per_sample, p.timing.ns_per_sample) && close(loaded.timing.hz, p.timing.hz));
    assert_eq!(LineProfile { timing: p.timing.clone(), ..loaded }, p);
    let text = std::fs::read_to_string(txt).unwrap();
    assert_eq!(text, p.to_text());
    assert!(text.starts_with("Timer unit: 1e-06 s\n"));
    assert!(text.contains("Function: fib at line 20") && !text.contains("distance"), "-z hides functions never hit");
    std::fs::remove_dir_all(dir).unwrap();
}
