//! Text to syntax tree: the parser (with error recovery), the tree, and the
//! formatter that prints a tree back in the canonical layout.

pub mod ast;
pub mod format;
pub mod parser;

pub use ast::*;
pub use parser::parse;
