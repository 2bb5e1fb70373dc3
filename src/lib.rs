//! topoc: a compiler for WSO2 API Manager deployment topologies.
//!
//! The pipeline runs one way: text ([`syntax`]) to a typed, resolved
//! [`model::Topology`], its dependency graph ([`graph`]) and diagnostics
//! ([`lints`]). The formatter ([`format_source`]), the graph pictures
//! ([`graph::to_dot`]) and the language server ([`lsp`]) are built on the
//! same calls.

#![warn(missing_docs)]

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
pub mod traffic;

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
    /// Every file of the topology, in load order.
    pub sources: SourceMap,
    /// The syntax tree of each file, indexed like `sources`.
    pub asts: Vec<Ast>,
    /// The lowered, resolved topology.
    pub topology: Topology,
    /// The dependency graph between the topology's components.
    pub graph: DepGraph,
    /// The diagnostics that remain after `allow` and `deny`, sorted by
    /// position.
    pub diagnostics: Vec<Diagnostic>,
    /// How many diagnostics each allowed code silenced (`--allow`, or the
    /// topology's `allow`), by code.
    pub allowed: std::collections::BTreeMap<&'static str, usize>,
}

impl Checked {
    /// Whether any remaining diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }

    /// The diagnostics with their files, ready to print in any format.
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

/// Lower, build the graph, lint and simulate the plans of topology files
/// already loaded, then apply `config` over the topology's own `allow` and
/// `deny`.
pub fn check_loaded(loaded: Loaded, config: &SeverityConfig) -> Checked {
    let checked = check_loaded_then(loaded, config, |t, out| {
        plan::check(t, out);
        Ok::<(), std::convert::Infallible>(())
    });
    match checked {
        Ok(checked) => checked,
        Err(never) => match never {},
    }
}

/// Check one topology given the traffic it serves (`check --traffic`):
/// UP001 holds each plan to the traffic of its window, and TR001 and TR002
/// say where the windows are. Traffic naming a datacenter the topology
/// does not have is refused.
pub fn check_path_with_traffic(
    path: &Path,
    fs: &dyn FileSystem,
    config: &SeverityConfig,
    traffic: &traffic::Traffic,
) -> Result<Result<Checked, traffic::TrafficError>, LoadError> {
    let loaded = load::load(path, fs)?;
    Ok(check_loaded_with(loaded, config, traffic))
}

/// [`check_loaded`], with the traffic the topology serves.
pub fn check_loaded_with(
    loaded: Loaded,
    config: &SeverityConfig,
    traffic: &traffic::Traffic,
) -> Result<Checked, traffic::TrafficError> {
    check_loaded_then(loaded, config, |t, out| {
        let context = traffic::Context::new(t, traffic)?;
        let held = |d: &deployment::Deployment, id: model::UpgradeId, p: &plan::Plan| {
            context.held(d, id, p).ok()
        };
        plan::check_held(t, Some(&held), out);
        context.lint(&deployment::plan(t), out);
        Ok(())
    })
}

/// Check a loaded topology; `upgrades` simulates its plans once it is
/// complete and free of errors.
fn check_loaded_then<E>(
    loaded: Loaded,
    config: &SeverityConfig,
    upgrades: impl FnOnce(&Topology, &mut Vec<Diagnostic>) -> Result<(), E>,
) -> Result<Checked, E> {
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
        upgrades(&topology, &mut diagnostics)?;
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
    Ok(Checked {
        sources,
        asts,
        topology,
        graph,
        diagnostics,
        allowed,
    })
}

/// A file the formatter refuses: its syntax errors (E001) with its text.
#[derive(Debug, Clone)]
pub struct Unformattable {
    /// The file as read (one entry).
    pub sources: SourceMap,
    /// The E001 diagnostics that stop it being formatted.
    pub diagnostics: Vec<Diagnostic>,
}

impl Unformattable {
    /// The diagnostics with the file, ready to print in any format.
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
