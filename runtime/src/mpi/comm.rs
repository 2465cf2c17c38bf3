//! Combining results across ranks, and timing a parallel section.
//!
//! Thin wrappers over rsmpi's collectives that fix the common choices
//! (rank 0 is the root, the operation is a sum) so a first MPI program
//! reads like the serial one. Every rank must call each of them, in the
//! same order: they are collective operations, and a rank that skips one
//! leaves the others waiting (a hang, which the notebook's interrupt ends).

use crate::format_time;
use ::mpi::collective::SystemOperation;
use ::mpi::traits::{Communicator, CommunicatorCollectives, Equivalence, Root};
use std::time::Instant;

/// Sums `value` over all ranks; rank 0 gets `Some(total)`, the others
/// `None`. For numbers (`u64`, `f64`, …: MPI adds them with `MPI_SUM`).
///
/// ```no_run
/// use parlab::mpi::prelude::*;
/// let universe = mpi::initialize().unwrap();
/// let world = universe.world();
/// let local = world.rank() as u64 + 1;
/// if let Some(total) = reduce_sum_to_root(&world, local) {
///     println!("1 + … + {} = {total}", world.size());
/// }
/// ```
pub fn reduce_sum_to_root<C, T>(comm: &C, value: T) -> Option<T>
where
    C: Communicator,
    T: Equivalence + Default,
{
    let root = comm.process_at_rank(0);
    if comm.rank() == 0 {
        let mut total = T::default();
        root.reduce_into_root(&value, &mut total, SystemOperation::sum());
        Some(total)
    } else {
        root.reduce_into(&value, SystemOperation::sum());
        None
    }
}

/// Sums `value` over all ranks and gives every rank the total
/// (`MPI_Allreduce`).
///
/// ```no_run
/// use parlab::mpi::prelude::*;
/// let universe = mpi::initialize().unwrap();
/// let world = universe.world();
/// let n = all_reduce_sum(&world, 1u32);
/// assert_eq!(n as i32, world.size());
/// ```
pub fn all_reduce_sum<C, T>(comm: &C, value: T) -> T
where
    C: Communicator,
    T: Equivalence + Default,
{
    let mut total = T::default();
    comm.all_reduce_into(&value, &mut total, SystemOperation::sum());
    total
}

/// Runs `work` on every rank, starting together (a barrier first), and
/// prints on rank 0 the wall time of the slowest rank, which is the time
/// the parallel section took, and of the fastest (a large gap means the
/// work was not balanced):
///
/// ```text
/// [0] 2 ranks: 52.3 ms wall (slowest of 2 ranks; fastest 51.9 ms)
/// ```
///
/// Put the final reduction inside `work` so its cost is counted.
///
/// ```no_run
/// use parlab::mpi::prelude::*;
/// let universe = mpi::initialize().unwrap();
/// let world = universe.world();
/// let total = timed(&world, "sum", || reduce_sum_to_root(&world, 1u64));
/// ```
pub fn timed<C, R>(comm: &C, label: &str, work: impl FnOnce() -> R) -> R
where
    C: Communicator,
{
    comm.barrier();
    let start = Instant::now();
    let result = work();
    let mine = start.elapsed().as_secs_f64();
    let root = comm.process_at_rank(0);
    if comm.rank() == 0 {
        let (mut slowest, mut fastest) = (0.0f64, 0.0f64);
        root.reduce_into_root(&mine, &mut slowest, SystemOperation::max());
        root.reduce_into_root(&mine, &mut fastest, SystemOperation::min());
        let n = comm.size();
        let ranks = if n == 1 { "1 rank".to_owned() } else { format!("{n} ranks") };
        println!(
            "{label}: {} wall (slowest of {ranks}; fastest {})",
            format_time(slowest, 3),
            format_time(fastest, 3)
        );
    } else {
        root.reduce_into(&mine, SystemOperation::max());
        root.reduce_into(&mine, SystemOperation::min());
    }
    result
}
