//! SARIF 2.1.0 for code-scanning services (GitHub accepts it as is).

use serde_json::{Value, json};

use super::{Report, Severity};
use crate::lints;
use crate::source::{SourceMap, Span};

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

fn location(sources: &SourceMap, span: Span) -> Value {
    let (start, end) = sources.line_col(span);
    json!({
        "physicalLocation": {
            "artifactLocation": { "uri": sources.get(span.file).display_path() },
            "region": {
                "startLine": start.line,
                "startColumn": start.column,
                "endLine": end.line,
                "endColumn": end.column,
            }
        }
    })
}

/// A SARIF 2.1.0 log of the reports, every known lint listed as a rule, as
/// pretty-printed JSON ending in a line break.
pub fn render(reports: &[Report]) -> String {
    let all = lints::all();
    let rules: Vec<Value> = all
        .iter()
        .map(|lint| {
            json!({
                "id": lint.code,
                "name": lint.code,
                "shortDescription": { "text": lint.summary },
                "fullDescription": { "text": lint.summary },
                "help": { "text": lint.explanation, "markdown": lint.explanation },
                "defaultConfiguration": { "level": level(lint.severity) },
                "properties": { "tags": [lint.family()] },
            })
        })
        .collect();
    let mut results = Vec::new();
    for report in reports {
        for d in report.diagnostics {
            let rule_index = all.iter().position(|l| l.code == d.code).unwrap_or(0);
            let text = match &d.help {
                Some(help) => format!("{}\nhelp: {help}", d.message),
                None => d.message.clone(),
            };
            let related: Vec<Value> = d
                .related
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let mut loc = location(report.sources, r.span);
                    loc["id"] = json!(i + 1);
                    loc["message"] = json!({ "text": r.message });
                    loc
                })
                .collect();
            let mut result = json!({
                "ruleId": d.code,
                "ruleIndex": rule_index,
                "level": level(d.severity),
                "message": { "text": text },
                "locations": [location(report.sources, d.span)],
            });
            if !related.is_empty() {
                result["relatedLocations"] = Value::Array(related);
            }
            results.push(result);
        }
    }
    let sarif = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "topoc",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }
            },
            "columnKind": "unicodeCodePoints",
            "results": results,
        }]
    });
    let mut text = serde_json::to_string_pretty(&sarif).unwrap_or_else(|_| "{}".into());
    text.push('\n');
    text
}
