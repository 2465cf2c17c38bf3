//! `parlab`: the crate every parlab notebook cell links against.
//!
//! It holds what runs *inside* the evaluation process: the timing harness
//! behind `%timeit`, the line-profile recorder behind `%lprun`, the
//! `multiprocessing.Pool`-like helpers on rayon, rich display and the
//! cooperative interrupt flag. It knows nothing about Jupyter messages or
//! magic syntax: the kernel and the `parlab-magics` crate own those, and
//! talk to this crate only through generated calls into [`__private`] and
//! through one-line markers on stdout (see [`display`]).
//!
//! ```
//! use parlab::prelude::*;
//! let squares = Pool::new(2).map(|x: u64| x * x, 1..=4);
//! assert_eq!(squares, vec![1, 4, 9, 16]);
//! ```

pub mod alloc;
pub mod display;
/// Cooperative interruption (from `parlab-child`, which every cell links:
/// the flag is one per process).
pub use parlab_child::interrupt;
pub mod mpi;
mod input;
mod timeit;
mod lprof;
mod pool;
mod prof;
mod sample;
pub mod timeline;

pub use display::{clear_output, display, DisplayHandle, MimeBundle};
pub use input::{input, password};
pub use interrupt::KeyboardInterrupt;
pub use lprof::{AllocLine, AllocProfile, FunctionAllocs, FunctionProfile, LineProfile, LineStat, ProfileFileError, Timing};
pub use prof::{FunctionStat, Profile, SortKey, StackStat};
pub use timeit::{compare, format_time, TimeitResult};
pub use timeline::{timeline, Timeline};
pub use pool::{
    scaling, with_threads, AsyncResult, Imap, ImapUnordered, Pool, ProcessImap, ProcessPool,
    ProcessPoolError, Scaling, ScalingPoint, Starmap,
};

/// The rayon this crate is built on (the kernel also makes it available to
/// cells as `rayon`).
pub use rayon;

/// `use parlab::prelude::*;` brings in what a course notebook uses,
/// rayon's parallel iterators included (`par_iter`, `into_par_iter`): the
/// course compares them with `Pool`, and cells should not need a second
/// `use` line for that.
pub mod prelude {
    pub use rayon::prelude::*;
    pub use crate::lprof::LineProfile;
    pub use crate::display::{clear_output, display, DisplayHandle, MimeBundle};
    pub use crate::pool::{scaling, with_threads, Pool, ProcessPool, Scaling};
    pub use crate::timeit::{compare, format_time, TimeitResult};
    pub use crate::timeline::{timeline, Timeline};
}

/// Not public API: the entry points that kernel-generated code calls, by
/// absolute path (`::parlab::__private::…`) so user code cannot shadow them.
#[doc(hidden)]
pub mod __private {
    /// Prepares the evaluation process (the kernel calls
    /// `parlab_child::init` itself; kept for code written against it).
    pub use parlab_child::init as init_child;
    pub use crate::lprof::{mprun, MprunOptions};
    pub use crate::lprof::{lp_cell, lprun, lprun_cell_end, lprun_cell_finish, lprun_cell_start, FnMeta, LpFrame, LpIter, LprunOptions, Sampling};
    /// The sampling engine behind `%lprun`'s times (`%prun` uses its stack mode).
    pub mod sample {
        pub use crate::sample::{period, running, start, stop, thread, Entry, Record, DEFAULT_PERIOD};
    }
    pub use crate::prof::{prun, PrunFn, PrunOptions, SortKey};
    pub use crate::timeline::{timeline_end, timeline_start};
    pub use crate::alloc::{memit, MemitOptions};
    pub use crate::timeit::{no_raise, time_cell, time_end, time_start, timeit, Chunks, Clock, Run, TimeGuard, TimeitOptions, Timer};
}
