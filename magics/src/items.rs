//! Items (functions, types, impls) that cells define, with their source.

/// The source of every item the notebook's cells defined so far.
#[derive(Debug, Default, Clone)]
pub struct ItemRegistry {}
