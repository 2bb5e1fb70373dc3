//! topoc: a compiler for WSO2 API Manager deployment topologies.
//!
//! The pipeline runs one way: text ([`syntax`]) to a typed, resolved
//! [`model::Topology`], its dependency graph ([`graph`]) and diagnostics
//! ([`lints`]). The formatter ([`format_source`]), the graph pictures
//! ([`graph::to_dot`]) and the language server ([`lsp`]) are built on the
//! same calls.

pub mod build;
pub mod change;
pub mod deployment;
pub mod diagnostics;
pub mod emit;
pub mod generate;
pub mod graph;
pub mod lints;
pub mod load;
pub mod lsp;
pub mod model;
pub mod plan;
pub mod source;
pub mod syntax;
pub mod text;

use std::path::Path;

use diagnostics::{Diagnostic, Severity, SeverityConfig};
use graph::DepGraph;
use load::{FileSystem, LoadError, Loaded};
use model::Topology;
use source::SourceMap;
use syntax::Ast;

/// A checked topology: its files, model, graph and diagnostics (severity
/// configuration applied, sorted by position).
#[derive(Debug, Clone)]
pub struct Checked {
    pub sources: SourceMap,
    pub asts: Vec<Ast>,
    pub topology: Topology,
    pub graph: DepGraph,
    pub diagnostics: Vec<Diagnostic>,
    /// How many diagnostics each allowed code silenced (`--allow`, or the
    /// topology's `allow`), by code.
    pub allowed: std::collections::BTreeMap<&'static str, usize>,
}

impl Checked {
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }

    pub fn report(&self) -> diagnostics::Report<'_> {
        diagnostics::Report {
            sources: &self.sources,
            diagnostics: &self.diagnostics,
        }
    }
}

/// Load, parse, lower, build the graph and lint one topology (a file or a
/// folder).
pub fn check_path(
    path: &Path,
    fs: &dyn FileSystem,
    config: &SeverityConfig,
) -> Result<Checked, LoadError> {
    let loaded = load::load(path, fs)?;
    Ok(check_loaded(loaded, config))
}

/// Check text held in memory (imports are read through `fs`).
pub fn check_text(
    path: &Path,
    text: &str,
    fs: &dyn FileSystem,
    config: &SeverityConfig,
) -> Checked {
    check_loaded(load::load_text(path, text, fs), config)
}

pub fn check_loaded(loaded: Loaded, config: &SeverityConfig) -> Checked {
    let Loaded {
        sources,
        asts,
        mut diagnostics,
    } = loaded;
    let files: Vec<_> = asts
        .iter()
        .enumerate()
        .map(|(i, ast)| (source::FileId(i as u32), ast))
        .collect();
    let topology = model::lower::lower(&files, &mut diagnostics);
    let graph = DepGraph::build(&topology);
    // Lints that reason about something being absent wait until the
    // language errors are fixed: an error may be why it is absent.
    let complete = !diagnostics.iter().any(|d| d.severity == Severity::Error);
    diagnostics.extend(lints::run(&topology, &graph, complete));
    // The upgrade plans are simulated once the topology is complete and
    // free of errors (UP001).
    if complete && !diagnostics.iter().any(|d| d.severity == Severity::Error) {
        plan::check(&topology, &mut diagnostics);
    }
    let mut topology_config = SeverityConfig::default();
    for code in &topology.allow {
        let _ = topology_config.allow_code(&code.value);
    }
    for code in &topology.deny {
        let _ = topology_config.deny_code(&code.value);
    }
    let (mut diagnostics, mut silenced) =
        topology_config.overridden_by(config).partition(diagnostics);
    diagnostics::sort(&mut diagnostics);
    diagnostics.dedup();
    diagnostics::sort(&mut silenced);
    silenced.dedup();
    let mut allowed = std::collections::BTreeMap::new();
    for d in &silenced {
        *allowed.entry(d.code).or_insert(0) += 1;
    }
    Checked {
        sources,
        asts,
        topology,
        graph,
        diagnostics,
        allowed,
    }
}

/// A file the formatter refuses: its syntax errors (E001) with its text.
#[derive(Debug, Clone)]
pub struct Unformattable {
    pub sources: SourceMap,
    pub diagnostics: Vec<Diagnostic>,
}

impl Unformattable {
    pub fn report(&self) -> diagnostics::Report<'_> {
        diagnostics::Report {
            sources: &self.sources,
            diagnostics: &self.diagnostics,
        }
    }
}

/// One file in the canonical layout ([`syntax::format`]), or the syntax
/// errors that prevent formatting it. Imports are not followed: each file
/// is formatted on its own.
pub fn format_source(path: &Path, bytes: Vec<u8>) -> Result<String, Unformattable> {
    let mut sources = SourceMap::new();
    let text = match load::decode(bytes) {
        Ok(text) => text,
        Err(bad) => {
            let id = sources.add(path.to_path_buf(), bad.text);
            return Err(Unformattable {
                sources,
                diagnostics: vec![load::not_utf8(id, bad.valid, bad.byte)],
            });
        }
    };
    syntax::format::format(&text).map_err(|errors| {
        let id = sources.add(path.to_path_buf(), text);
        Unformattable {
            diagnostics: load::syntax_diagnostics(id, &errors),
            sources,
        }
    })
}
