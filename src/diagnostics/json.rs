//! The JSON report of `topoc check --format json` (see the CLI contract):
//! lines and columns are 1-based, columns count Unicode scalar values.

use serde::Serialize;

use super::{Diagnostic, Report, Severity, Summary};
use crate::source::SourceMap;

#[derive(Debug, Serialize)]
pub struct JsonReport {
    pub diagnostics: Vec<JsonDiagnostic>,
    pub summary: Summary,
}

#[derive(Debug, Serialize)]
pub struct JsonDiagnostic {
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    pub help: Option<String>,
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub related: Vec<JsonRelated>,
}

#[derive(Debug, Serialize)]
pub struct JsonRelated {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    pub message: String,
}

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

pub fn render(reports: &[Report]) -> String {
    let mut text = serde_json::to_string_pretty(&report(reports)).unwrap_or_else(|_| "{}".into());
    text.push('\n');
    text
}
