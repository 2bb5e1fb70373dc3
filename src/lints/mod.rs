//! The lints: every diagnostic code with its default severity and long
//! explanation, declared beside the function that checks it, and the
//! registry that lists them all.

pub mod change;
pub mod datacenter;
pub mod ha;
pub mod language;
pub mod runtime;
pub mod storage;
pub mod upgrade;

use crate::diagnostics::{Diagnostic, Severity};
use crate::graph::DepGraph;
use crate::model::Topology;

/// A diagnostic code: what `topoc explain CODE` prints and what severity
/// configuration acts on.
#[derive(Debug)]
pub struct Lint {
    pub code: &'static str,
    pub severity: Severity,
    /// One line: when it fires.
    pub summary: &'static str,
    /// Markdown: what it does, why, a failing example and the fixed one,
    /// each a complete topology (`tests/lint_fixtures.rs` checks both).
    pub explanation: &'static str,
}

impl Lint {
    /// Language errors and plain-text secrets cannot be silenced.
    pub fn allowable(&self) -> bool {
        !(self.code.starts_with('E') || self.code.starts_with("SEC"))
    }

    /// The failing example of the explanation (the `topo` block under
    /// `## Example`): a complete topology that produces this code.
    pub fn example(&self) -> Option<&'static str> {
        code_block(self.explanation, "## Example")
    }

    /// The fixed example (the `topo` block under `## Use instead`): the
    /// same topology with the fix, which produces nothing.
    pub fn fixed_example(&self) -> Option<&'static str> {
        code_block(self.explanation, "## Use instead")
    }

    /// The family the code belongs to, for the README's grouping.
    pub fn family(&self) -> &'static str {
        match self.code.as_bytes().first() {
            Some(b'S') if self.code.starts_with("ST") => "Starting",
            Some(b'E') | Some(b'S') => "Language",
            Some(b'H') => "HA",
            Some(b'C') => "Changes",
            Some(b'D') if self.code.starts_with("DC") => "Datacenters",
            Some(b'D') | Some(b'F') => "Datasources and file sharing",
            _ => "Upgrades",
        }
    }
}

/// The first ```` ```topo ```` block of the section that `heading` opens
/// (before the next heading).
fn code_block(text: &'static str, heading: &str) -> Option<&'static str> {
    let section = text
        .match_indices(heading)
        .find(|(i, _)| text[i + heading.len()..].starts_with('\n'))
        .map(|(i, _)| &text[i + heading.len()..])?;
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    let open = "```topo\n";
    let start = section.find(open)? + open.len();
    let body = &section[start..];
    let end = body.find("```")?;
    Some(&body[..end])
}

/// Declare a lint: `declare_lint!(NAME, Severity, "summary", "explanation")`.
macro_rules! declare_lint {
    ($name:ident, $severity:ident, $summary:expr, $explanation:expr $(,)?) => {
        pub static $name: $crate::lints::Lint = $crate::lints::Lint {
            code: stringify!($name),
            severity: $crate::diagnostics::Severity::$severity,
            summary: $summary,
            explanation: $explanation,
        };
    };
}
pub(crate) use declare_lint;

/// Every code, in catalog order.
pub fn all() -> &'static [&'static Lint] {
    use change::*;
    use datacenter::*;
    use ha::*;
    use language::*;
    use runtime::*;
    use storage::*;
    use upgrade::*;
    static ALL: &[&Lint] = &[
        &E001, &E002, &E003, &E004, &E005, &E006, &E007, &E008, &SEC001, &HA001, &HA002, &HA003,
        &HA004, &HA005, &HA006, &HA007, &HA008, &HA009, &DC001, &DC002, &DC003, &DC004, &DC005,
        &DC006, &DC007, &DC008, &DC009, &DS001, &DS002, &DS003, &DS004, &FS001, &FS002, &FS003,
        &FS004, &UP001, &UP002, &UP003, &UP004, &UP005, &UP006, &UP007, &CH001, &ST001, &ST002,
        &ST003, &ST004,
    ];
    ALL
}

/// The catalog of codes as a Markdown table (the README embeds it; a test
/// keeps the two in step).
pub fn catalog_markdown() -> String {
    let mut out = String::from("| code | severity | fires when |\n|---|---|---|\n");
    for lint in all() {
        out.push_str(&format!(
            "| {} | {} | {} |\n",
            lint.code,
            lint.severity.name(),
            lint.summary.replace('|', "\\|")
        ));
    }
    out
}

/// The lint with this code (case-insensitive).
pub fn find(code: &str) -> Option<&'static Lint> {
    all()
        .iter()
        .copied()
        .find(|l| l.code.eq_ignore_ascii_case(code))
}

/// Run every rule over a lowered topology. `complete` is false when the
/// topology had language errors: rules about something being absent (an
/// unused datasource, a missing primary) then stay silent, since the error
/// may be why it is absent.
pub fn run(topology: &Topology, graph: &DepGraph, complete: bool) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    graph.report_cycles(topology, &mut out);
    ha::check(topology, complete, &mut out);
    datacenter::check(topology, complete, &mut out);
    storage::check(topology, complete, &mut out);
    upgrade::check(topology, complete, &mut out);
    runtime::check(topology, complete, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_explained() {
        let mut codes: Vec<_> = all().iter().map(|l| l.code).collect();
        let count = codes.len();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), count);
        for lint in all() {
            for section in ["## What it does", "## Why", "## Example", "## Use instead"] {
                assert!(
                    lint.explanation.contains(section),
                    "{} lacks {section}",
                    lint.code
                );
            }
            assert!(lint.example().is_some(), "{}: no example", lint.code);
            assert!(
                lint.fixed_example().is_some(),
                "{}: no fixed example",
                lint.code
            );
        }
        assert_eq!(find("ha001").map(|l| l.code), Some("HA001"));
    }
}
