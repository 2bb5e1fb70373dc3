//! Text utilities every output shares: escaping for each language a value
//! reaches (YAML, TOML, Puppet, nginx, shell, Markdown, XML) and the
//! templates of the text formats. The emitters and the planner both build
//! on this; neither builds on the other.

pub mod escape;
pub mod templates;
