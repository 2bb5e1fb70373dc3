//! The typed model: the schema table, value types, the resolved topology,
//! and the lowering from syntax trees.

pub mod lower;
pub mod naming;
pub mod needs;
pub mod schema;
pub mod topology;
pub mod types;

pub use needs::{Need, UNRELAYED, providers, runs_in};
pub use schema::{BLOCKS, BlockKind};
pub use topology::*;
pub use types::*;
