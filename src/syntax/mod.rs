//! Text to syntax tree: the parser (with error recovery) and the tree.

pub mod ast;
pub mod parser;

pub use ast::*;
pub use parser::parse;
