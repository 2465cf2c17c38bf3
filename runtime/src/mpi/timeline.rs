//! `%%mpirun --timeline`: one lane per rank.
//!
//! Ranks are processes, possibly on several hosts whose clocks disagree
//! (Open MPI's `MPI_WTIME_IS_GLOBAL` is false), so no rank's timestamps
//! are compared with another's. Every rank starts its clock when it leaves
//! a common barrier, and at the end of the body sends rank 0 how long it
//! ran; rank 0 shows the lanes as a [`Timeline`](crate::Timeline) (each
//! rank one bar from 0, so a rank that finished early shows as idle time
//! until the slowest one's end). Clock skew drops out; what remains is
//! the barrier's exit spread (microseconds on one host).

use crate::Timeline;
use ::mpi::topology::SimpleCommunicator;
use ::mpi::traits::{Communicator, CommunicatorCollectives, Root};
use std::time::Instant;

/// Times a rank's body; on drop (the body's end, also through `return`)
/// gathers every rank's time to rank 0, which displays the timeline.
/// Every rank must create and drop one: the drop is a collective.
#[derive(Debug)]
pub struct RankTimeline {
    start: Instant,
}

impl RankTimeline {
    /// Waits for every rank, then starts this rank's clock.
    pub fn start<C: Communicator>(world: &C) -> Self {
        world.barrier();
        RankTimeline { start: Instant::now() }
    }
}

impl Drop for RankTimeline {
    fn drop(&mut self) {
        let seconds = self.start.elapsed().as_secs_f64();
        if std::thread::panicking() {
            // The panic hook aborts the job; a collective now could hang.
            return;
        }
        let world = SimpleCommunicator::world();
        let root = world.process_at_rank(0);
        if world.rank() == 0 {
            let mut all = vec![0.0f64; world.size() as usize];
            root.gather_into_root(&seconds, &mut all[..]);
            Timeline::of_ranks(&all).show();
        } else {
            root.gather_into(&seconds);
        }
    }
}
