//! The runtime's `\x01PARLAB {json}` markers, as ranks print them.
//!
//! A rank links the same `parlab` crate as the evaluation process, so
//! `display(…)` in a `%%mpirun` body prints the same marker line; it
//! becomes a `display_data` here too. A rank's panic hook prints a `panic`
//! marker (see `runtime/src/mpi/launch.rs`) before aborting the job.

use super::super::relay::PanicEvent;
use crate::interpreter::Output;
use serde_json::{Map, Value};
use std::sync::Arc;

pub(crate) const MARKER: &str = "\u{1}PARLAB ";

/// A panic in one rank.
#[derive(Debug, Clone)]
pub(crate) struct RankPanic {
    pub(crate) rank: u32,
    pub(crate) event: PanicEvent,
}

/// Acts on one marker (the text after [`MARKER`]) from `rank`; returns the
/// panic it reports, if it is one.
pub(crate) fn handle_marker(rank: u32, json: &str, out: &Arc<dyn Output>) -> Option<RankPanic> {
    let value: Value = serde_json::from_str(json).ok()?;
    match value.get("t")?.as_str()? {
        "display" => {
            let data = value.get("data")?.as_object()?.clone();
            let id = value.get("id").and_then(Value::as_str);
            let update = value.get("update").and_then(Value::as_bool).unwrap_or(false);
            out.display(data, Map::new(), id, update);
            None
        }
        "clear" => {
            out.clear(value.get("wait").and_then(Value::as_bool).unwrap_or(false));
            None
        }
        "panic" => serde_json::from_value(value).ok().map(|event| RankPanic { rank, event }),
        _ => None,
    }
}
