//! The runtime's markers, as ranks print them.
//!
//! A rank links the same `parlab` crate as the evaluation process, so
//! `display(…)` in a `%%mpirun` body prints the same marker line; it
//! becomes a `display_data` here too. A rank's panic hook prints a `panic`
//! marker (`parlab_child::report_panic`, from `runtime/src/mpi`) before
//! aborting the job. Lines are read by the same parser as the evaluation
//! process's (`engine::marker`).

use super::super::marker::{Marker, PanicEvent};
use crate::interpreter::Output;
use serde_json::Map;
use std::sync::Arc;

/// A panic in one rank.
#[derive(Debug, Clone)]
pub(crate) struct RankPanic {
    pub(crate) rank: u32,
    pub(crate) event: PanicEvent,
}

/// Acts on one marker from `rank`; returns the panic it reports, if it is
/// one. The other kinds belong to the evaluation process's cell protocol
/// and mean nothing in a rank's output.
pub(crate) fn handle_marker(rank: u32, marker: Marker, out: &Arc<dyn Output>) -> Option<RankPanic> {
    match marker {
        Marker::Display { data, id, update } => {
            out.display(data, Map::new(), id.as_deref(), update);
            None
        }
        Marker::Clear { wait } => {
            out.clear(wait);
            None
        }
        Marker::Panic(event) => Some(RankPanic { rank, event }),
        Marker::CellPanicked | Marker::StderrSync | Marker::Value => None,
    }
}
