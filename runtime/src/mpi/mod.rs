//! Helpers for `%%mpirun` cells: the usual shape of an MPI program.
//!
//! A `%%mpirun -n N` cell runs its body as `main` on N processes (*ranks*),
//! each with `world` (the communicator), `rank` and `size` in scope. The
//! common pattern is the one a student already knows from `Pool.map`:
//! split the work, let every rank do its share, combine the results on one
//! rank, and time the whole thing:
//!
//! ```no_run
//! # // Compiled with the `mpi` feature only: without it there is no MPI.
//! # #[cfg(feature = "mpi")]
//! # fn main() {
//! # use parlab::mpi::prelude::*;
//! # const TASKS: u64 = 1_000;
//! # fn work(i: u64) -> u64 { i * i }
//! # // What the generated `main` binds around the cell's body.
//! # let universe = mpi::initialize().unwrap();
//! # let world = universe.world();
//! # let (rank, size) = (world.rank(), world.size());
//! // the body of a `%%mpirun -n 2` cell
//! let mine = split_range(0..TASKS, rank, size);
//! let total = timed(&world, "2 ranks", || {
//!     let local: u64 = mine.map(work).sum();
//!     reduce_sum_to_root(&world, local)
//! });
//! if let Some(total) = total {
//!     println!("total = {total}");
//! }
//! # }
//! # #[cfg(not(feature = "mpi"))]
//! # fn main() {}
//! ```
//!
//! [`split_range`] and [`split_slice`] are plain arithmetic and always
//! available. The functions that talk to other ranks need the Open MPI
//! library and the `mpi` crate (rsmpi), so they sit behind this crate's
//! `mpi` feature: ordinary notebook cells never build or link MPI; the
//! program the kernel generates for `%%mpirun` turns the feature on.
//! Everything here is also reachable through [`prelude`], which that
//! program imports.

mod split;

pub use split::{split_range, split_slice, RangeIndex};

#[cfg(feature = "mpi")]
mod comm;
#[cfg(feature = "mpi")]
mod launch;
#[cfg(feature = "mpi")]
mod timeline;

#[cfg(feature = "mpi")]
pub use comm::{all_reduce_sum, reduce_sum_to_root, timed};

/// What a `%%mpirun` program sees: the helpers of this module and rsmpi's
/// traits (`world.rank()`, `world.barrier()`, `process_at_rank`, …) and
/// reduction operations (`SystemOperation::sum()`).
#[cfg(feature = "mpi")]
pub mod prelude {
    pub use super::{all_reduce_sum, reduce_sum_to_root, split_range, split_slice, timed};
    pub use ::mpi::collective::SystemOperation;
    pub use ::mpi::traits::*;
    pub use ::mpi::Rank;
}

/// Not public API: what the generated `main` of a `%%mpirun` cell calls.
#[cfg(feature = "mpi")]
#[doc(hidden)]
pub mod __private {
    pub use super::launch::init;
    pub use super::timeline::RankTimeline;
}
