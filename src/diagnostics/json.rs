//! The JSON report of `topoc check --format json` (see the CLI contract):
//! lines and columns are 1-based, columns count Unicode scalar values.

use serde::Serialize;

use super::{Diagnostic, Report, Severity, Summary};
use crate::source::SourceMap;

/// The whole report: every diagnostic and the counts by severity.
#[derive(Debug, Serialize)]
pub struct JsonReport {
    /// The diagnostics of every report, in the order given.
    pub diagnostics: Vec<JsonDiagnostic>,
    /// How many diagnostics there are of each severity.
    pub summary: Summary,
}

/// One diagnostic with its position as 1-based lines and columns.
#[derive(Debug, Serialize)]
pub struct JsonDiagnostic {
    /// The diagnostic's code (`E001`, `HA002`, ...).
    pub code: &'static str,
    /// The severity after `allow` and `deny` were applied.
    pub severity: Severity,
    /// What is wrong, as one sentence.
    pub message: String,
    /// How to fix it, when the check knows.
    pub help: Option<String>,
    /// The file, with forward slashes.
    pub file: String,
    /// The line the primary span starts on, from 1.
    pub line: usize,
    /// The column the primary span starts at, from 1, in Unicode scalar values.
    pub column: usize,
    /// The line the primary span ends on, from 1.
    pub end_line: usize,
    /// The column just past the primary span, from 1, in Unicode scalar values.
    pub end_column: usize,
    /// The other places the diagnostic points at.
    pub related: Vec<JsonRelated>,
}

/// A second place a diagnostic points at, positioned like the primary span.
#[derive(Debug, Serialize)]
pub struct JsonRelated {
    /// The file, with forward slashes.
    pub file: String,
    /// The line the span starts on, from 1.
    pub line: usize,
    /// The column the span starts at, from 1, in Unicode scalar values.
    pub column: usize,
    /// The line the span ends on, from 1.
    pub end_line: usize,
    /// The column just past the span, from 1, in Unicode scalar values.
    pub end_column: usize,
    /// What this place has to do with the diagnostic.
    pub message: String,
}

/// One diagnostic as JSON, its spans turned into lines and columns of
/// `sources`.
pub fn diagnostic(sources: &SourceMap, d: &Diagnostic) -> JsonDiagnostic {
    let file = sources.get(d.span.file);
    let (start, end) = sources.line_col(d.span);
    JsonDiagnostic {
        code: d.code,
        severity: d.severity,
        message: d.message.clone(),
        help: d.help.clone(),
        file: file.display_path(),
        line: start.line,
        column: start.column,
        end_line: end.line,
        end_column: end.column,
        related: d
            .related
            .iter()
            .map(|r| {
                let (start, end) = sources.line_col(r.span);
                JsonRelated {
                    file: sources.get(r.span.file).display_path(),
                    line: start.line,
                    column: start.column,
                    end_line: end.line,
                    end_column: end.column,
                    message: r.message.clone(),
                }
            })
            .collect(),
    }
}

/// The report of several topologies' diagnostics together, with one summary.
pub fn report(reports: &[Report]) -> JsonReport {
    let mut diagnostics = Vec::new();
    let mut all = Vec::new();
    for report in reports {
        for d in report.diagnostics {
            diagnostics.push(diagnostic(report.sources, d));
            all.push(d.clone());
        }
    }
    JsonReport {
        diagnostics,
        summary: Summary::of(&all),
    }
}

/// The report as pretty-printed JSON, ending in a line break.
pub fn render(reports: &[Report]) -> String {
    let mut text = serde_json::to_string_pretty(&report(reports)).unwrap_or_else(|_| "{}".into());
    text.push('\n');
    text
}
