//! The typed model: the schema table, value types, the resolved topology,
//! and the lowering from syntax trees.

pub mod lower;
pub mod naming;
pub mod needs;
// documented separately
#[allow(missing_docs)]
pub mod schema;
// documented separately
#[allow(missing_docs)]
pub mod topology;
// documented separately
#[allow(missing_docs)]
pub mod types;

pub use needs::{Need, UNRELAYED, providers, runs_in};
pub use schema::{BLOCKS, BlockKind};
pub use topology::*;
pub use types::*;
