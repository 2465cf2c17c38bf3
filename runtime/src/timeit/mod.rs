//! Timing: the harness behind `%timeit`/`%%timeit`, the guard behind
//! `%time`/`%%time`, and the results and reports they produce.
//!
//! - [`harness`]: autorange and repeats over a closure that generated code
//!   provides; pure decisions over measured durations.
//! - [`result`]: [`TimeitResult`], IPython's fields and report lines.
//! - [`format`]: IPython's `_format_time` and `%g`.
//! - [`time`]: `%time`'s CPU/wall report.
//! - [`compare`]: several results side by side.
//!
//! Nothing here parses magics: `parlab-magics` turns `%timeit -n 10 f()`
//! into a call of [`timeit`] with [`TimeitOptions`].
//!
//! ```
//! use parlab::__private::{timeit, TimeitOptions};
//! let r = timeit(TimeitOptions { loops: 10, repeat: 2, quiet: true, ..TimeitOptions::DEFAULT }, |run| {
//!     let t = run.start();
//!     for k in run.chunks() { for _ in 0..k { std::hint::black_box(3u64.pow(2)); } }
//!     t.elapsed()
//! });
//! assert_eq!(r.timings().len(), 2);
//! ```

mod allocs;
mod compare;
pub(crate) mod format;
mod harness;
mod result;
mod time;

pub use compare::compare;
pub use format::format_time;
pub(crate) use format::thousands;
pub use harness::{timeit, Chunks, Clock, Run, TimeitOptions, Timer};
pub use result::TimeitResult;
pub use time::{no_raise, time_cell, time_end, time_start, TimeGuard};
