//! Human diagnostics through miette's graphical handler: every diagnostic of
//! a run in one report, related spans as extra labels (or as related
//! reports when they point into another file), then a summary line.

use std::fmt;
use std::sync::Arc;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};

use super::{Diagnostic, Report, Severity, Summary};
use crate::source::{SourceFile, SourceMap, Span};

/// Rendering options.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
    pub width: usize,
}

impl Default for Style {
    fn default() -> Style {
        Style {
            color: false,
            width: 100,
        }
    }
}

/// Render every diagnostic of every report, followed by a summary line.
pub fn render(reports: &[Report], style: Style) -> String {
    let theme = if style.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(style.width)
        .with_links(false)
        .with_context_lines(1);
    let mut out = String::new();
    let mut all = Vec::new();
    for report in reports {
        let files: Vec<Arc<SourceFile>> = report
            .sources
            .files()
            .iter()
            .cloned()
            .map(Arc::new)
            .collect();
        for d in report.diagnostics {
            let rendered = Rendered::new(d, &files);
            if handler.render_report(&mut out, &rendered).is_err() {
                out.push_str(&format!("{}[{}]: {}\n", d.severity, d.code, d.message));
            }
            all.push(d.clone());
        }
    }
    let summary = Summary::of(&all);
    if summary != Summary::default() {
        out.push_str(&format!("{summary}\n"));
    }
    out
}

/// Render a single diagnostic (the language server's hover, tests).
pub fn render_one(sources: &SourceMap, diagnostic: &Diagnostic, style: Style) -> String {
    let report = Report {
        sources,
        diagnostics: std::slice::from_ref(diagnostic),
    };
    let text = render(&[report], style);
    // Drop the summary line.
    text.trim_end()
        .rsplit_once('\n')
        .map(|(body, _)| format!("{body}\n"))
        .unwrap_or(text)
}

/// A source file as miette reads it: lines are found through the file's
/// line index, so rendering stays fast on large files.
#[derive(Debug, Clone)]
struct IndexedSource(Arc<SourceFile>);

impl SourceCode for IndexedSource {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let file = &self.0;
        let start = file.clamp(span.offset());
        let end = file.clamp(span.offset() + span.len()).max(start);
        let first_line = file.line_index(start).saturating_sub(context_lines_before);
        let last_line =
            (file.line_index(end) + context_lines_after).min(file.line_count().saturating_sub(1));
        let window_start = file.line_start(first_line);
        let window_end = if last_line + 1 < file.line_count() {
            file.line_start(last_line + 1)
        } else {
            file.text.len()
        };
        let window = &file.text[window_start..window_end];
        let local = SourceSpan::new((start - window_start).into(), end - start);
        let inner = window.read_span(&local, context_lines_before, context_lines_after)?;
        let shifted = SourceSpan::new(
            (inner.span().offset() + window_start).into(),
            inner.span().len(),
        );
        Ok(Box::new(MietteSpanContents::new_named(
            file.display_path(),
            inner.data(),
            shifted,
            inner.line() + first_line,
            inner.column(),
            inner.line_count(),
        )))
    }
}

/// One diagnostic in miette's terms.
#[derive(Debug)]
struct Rendered {
    code: String,
    severity: Severity,
    message: String,
    help: Option<String>,
    source: Option<IndexedSource>,
    labels: Vec<LabeledSpan>,
    related: Vec<Rendered>,
}

fn miette_span(span: Span) -> SourceSpan {
    SourceSpan::new((span.start as usize).into(), span.len())
}

impl Rendered {
    fn new(d: &Diagnostic, files: &[Arc<SourceFile>]) -> Rendered {
        let source = files
            .get(d.span.file.0 as usize)
            .cloned()
            .map(IndexedSource);
        let mut labels = vec![LabeledSpan::new_primary_with_span(
            d.label.clone(),
            miette_span(d.span),
        )];
        let mut related = Vec::new();
        for r in &d.related {
            if r.span.file == d.span.file {
                labels.push(LabeledSpan::new_with_span(
                    Some(r.message.clone()),
                    miette_span(r.span),
                ));
            } else {
                related.push(Rendered {
                    code: String::new(),
                    severity: Severity::Info,
                    message: r.message.clone(),
                    help: None,
                    source: files
                        .get(r.span.file.0 as usize)
                        .cloned()
                        .map(IndexedSource),
                    labels: vec![LabeledSpan::new_primary_with_span(
                        None,
                        miette_span(r.span),
                    )],
                    related: Vec::new(),
                });
            }
        }
        Rendered {
            code: d.code.to_string(),
            severity: d.severity,
            message: d.message.clone(),
            help: d.help.clone(),
            source,
            labels,
            related,
        }
    }
}

impl fmt::Display for Rendered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Rendered {}

impl miette::Diagnostic for Rendered {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        (!self.code.is_empty()).then(|| Box::new(&self.code) as Box<dyn fmt::Display>)
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Info => miette::Severity::Advice,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.source.as_ref()?;
        Some(Box::new(self.labels.iter().cloned()))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(
            self.related.iter().map(|r| r as &dyn miette::Diagnostic),
        ))
    }
}
