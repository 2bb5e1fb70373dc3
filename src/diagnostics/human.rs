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
    /// Whether to use ANSI colours (the Unicode theme is used either way).
    pub color: bool,
    /// The width, in columns, messages and source snippets are wrapped to.
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

/// The longest source line shown whole, in bytes. Longer lines around a
/// label are cut to a window around it: a terminal shows no more, and miette
/// cannot pad past column 65,535.
const MAX_LINE: usize = 400;
/// Bytes kept on each side of a label's start and end in a cut line.
const WINDOW: usize = 60;

/// A few lines of a file, long lines cut to windows around the labels, with
/// the line numbers of the file.
#[derive(Debug, Clone)]
struct Excerpt {
    name: String,
    text: String,
    /// Zero-based line of the file the excerpt starts at.
    first_line: usize,
    /// The file's kept ranges: file start, file end, offset in `text`.
    map: Vec<(usize, usize, usize)>,
    file: Arc<SourceFile>,
}

impl Excerpt {
    /// The column in the file (in characters, zero-based) of an offset in
    /// the excerpt, so that the header names the file's position.
    fn file_column(&self, offset: usize) -> Option<usize> {
        let &(s, _, at) = self.map.iter().rev().find(|&&(_, _, at)| at <= offset)?;
        let in_file = self.file.clamp(s + (offset - at));
        let line_start = self.file.line_start(self.file.line_index(in_file));
        Some(self.file.text[line_start..in_file].chars().count())
    }
}

impl SourceCode for Excerpt {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let inner = self
            .text
            .read_span(span, context_lines_before, context_lines_after)?;
        let column = self
            .file_column(inner.span().offset())
            .unwrap_or(inner.column());
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            *inner.span(),
            inner.line() + self.first_line,
            column,
            inner.line_count(),
        )))
    }
}

/// Where a diagnostic's text comes from: the file itself, or an excerpt of
/// it when a label sits on a line too long to show.
#[derive(Debug, Clone)]
enum Source {
    File(IndexedSource),
    Excerpt(Excerpt),
}

impl SourceCode for Source {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        match self {
            Source::File(file) => file.read_span(span, context_lines_before, context_lines_after),
            Source::Excerpt(excerpt) => {
                excerpt.read_span(span, context_lines_before, context_lines_after)
            }
        }
    }
}

/// The source and labels to render: the file as it is, or, when a label
/// or its context line is longer than [`MAX_LINE`], an excerpt of the lines
/// around the labels in which every long line is cut to windows around the
/// label ends that fall on it (`…` marks what is left out), with the labels
/// moved onto the excerpt.
fn fit(file: Arc<SourceFile>, spans: &[Span]) -> (Source, Vec<SourceSpan>) {
    let line_len = |line: usize| {
        let start = file.line_start(line);
        let end = if line + 1 < file.line_count() {
            file.line_start(line + 1)
        } else {
            file.text.len()
        };
        end - start
    };
    let ends: Vec<(usize, usize)> = spans
        .iter()
        .map(|s| {
            let start = file.clamp(s.start as usize);
            (start, file.clamp(s.end as usize).max(start))
        })
        .collect();
    let first = ends
        .iter()
        .map(|&(s, _)| file.line_index(s))
        .min()
        .unwrap_or(0)
        .saturating_sub(1);
    let last = ends
        .iter()
        .map(|&(_, e)| file.line_index(e))
        .max()
        .unwrap_or(0)
        .saturating_add(1)
        .min(file.line_count().saturating_sub(1));
    if (first..=last).all(|line| line_len(line) <= MAX_LINE) {
        let spans = ends
            .iter()
            .map(|&(s, e)| SourceSpan::new(s.into(), e - s))
            .collect();
        return (Source::File(IndexedSource(file)), spans);
    }
    // Kept byte ranges of the file, in order; everything else is elided.
    let mut keep: Vec<(usize, usize)> = Vec::new();
    for line in first..=last {
        let start = file.line_start(line);
        let end = start + line_len(line);
        if end - start <= MAX_LINE {
            keep.push((start, end));
            continue;
        }
        let mut windows: Vec<(usize, usize)> = ends
            .iter()
            .flat_map(|&(s, e)| [s, e])
            .filter(|&o| o >= start && o <= end)
            .map(|o| (o.saturating_sub(WINDOW).max(start), (o + WINDOW).min(end)))
            .collect();
        if windows.is_empty() {
            windows.push((start, start + MAX_LINE));
        }
        // The line break stays, so the excerpt keeps the file's lines.
        let content_end = file.text[start..end].trim_end_matches(['\n', '\r']).len() + start;
        windows.push((content_end, end));
        windows.sort_unstable();
        for (s, e) in windows {
            let (s, e) = (file.clamp(s), file.clamp(e));
            match keep.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => keep.push((s, e)),
            }
        }
    }
    let mut text = String::new();
    let mut map: Vec<(usize, usize, usize)> = Vec::new();
    let mut previous_end = None;
    for (s, e) in keep {
        if previous_end.is_some_and(|p| p < s) {
            text.push('…');
        }
        map.push((s, e, text.len()));
        text.push_str(&file.text[s..e]);
        previous_end = Some(e);
    }
    // An offset in an elided gap goes to the ellipsis before the next kept
    // range.
    let moved = |offset: usize| -> usize {
        for &(s, e, at) in &map {
            if offset < s {
                return at.saturating_sub('…'.len_utf8());
            }
            if offset <= e {
                return at + (offset - s);
            }
        }
        text.len()
    };
    let spans = ends
        .iter()
        .map(|&(s, e)| {
            let (s, e) = (moved(s), moved(e));
            SourceSpan::new(s.into(), e.max(s) - s)
        })
        .collect();
    let excerpt = Excerpt {
        name: file.display_path(),
        text,
        first_line: first,
        map,
        file: file.clone(),
    };
    (Source::Excerpt(excerpt), spans)
}

/// One diagnostic in miette's terms.
#[derive(Debug)]
struct Rendered {
    code: String,
    severity: Severity,
    message: String,
    help: Option<String>,
    source: Option<Source>,
    labels: Vec<LabeledSpan>,
    related: Vec<Rendered>,
}

fn miette_span(span: Span) -> SourceSpan {
    SourceSpan::new((span.start as usize).into(), span.len())
}

impl Rendered {
    fn new(d: &Diagnostic, files: &[Arc<SourceFile>]) -> Rendered {
        let same_file: Vec<&crate::diagnostics::Related> = d
            .related
            .iter()
            .filter(|r| r.span.file == d.span.file)
            .collect();
        let spans: Vec<Span> = std::iter::once(d.span)
            .chain(same_file.iter().map(|r| r.span))
            .collect();
        let (source, labels) = Rendered::located(files, d.span.file, &spans);
        let mut messages = std::iter::once(d.label.clone())
            .chain(same_file.iter().map(|r| Some(r.message.clone())));
        let labels = labels
            .into_iter()
            .enumerate()
            .map(|(i, span)| {
                let message = messages.next().flatten();
                if i == 0 {
                    LabeledSpan::new_primary_with_span(message, span)
                } else {
                    LabeledSpan::new_with_span(message, span)
                }
            })
            .collect();
        let related = d
            .related
            .iter()
            .filter(|r| r.span.file != d.span.file)
            .map(|r| {
                let (source, spans) = Rendered::located(files, r.span.file, &[r.span]);
                Rendered {
                    code: String::new(),
                    severity: Severity::Info,
                    message: r.message.clone(),
                    help: None,
                    source,
                    labels: spans
                        .into_iter()
                        .map(|span| LabeledSpan::new_primary_with_span(None, span))
                        .collect(),
                    related: Vec::new(),
                }
            })
            .collect();
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

    /// The source of `file` and the spans on it, fitted for display.
    fn located(
        files: &[Arc<SourceFile>],
        file: crate::source::FileId,
        spans: &[Span],
    ) -> (Option<Source>, Vec<SourceSpan>) {
        match files.get(file.0 as usize) {
            Some(f) => {
                let (source, spans) = fit(f.clone(), spans);
                (Some(source), spans)
            }
            None => (None, spans.iter().map(|&s| miette_span(s)).collect()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::SeverityConfig;
    use crate::load::DiskFs;

    fn rendered(text: &str) -> String {
        let checked = crate::check_text(
            "long.topo".as_ref(),
            text,
            &DiskFs,
            &SeverityConfig::default(),
        );
        assert!(!checked.diagnostics.is_empty());
        render(&[checked.report()], Style::default())
    }

    #[test]
    fn a_label_past_column_65535_renders_in_a_window() {
        let text = format!("topology x {{{}bogus = 1 }}\n", " ".repeat(65_524));
        let out = rendered(&text);
        assert!(out.contains("E002"), "{out}");
        assert!(out.contains("bogus = 1"), "{out}");
        // The header names the position in the file, not in the excerpt.
        assert!(out.contains("long.topo:1:65537]"), "{out}");
        assert!(out.contains('…'), "{out}");
        assert!(out.lines().all(|l| l.chars().count() < 400), "{out}");
    }

    #[test]
    fn long_context_lines_and_long_labels_are_cut() {
        let text = format!(
            "# {}\ntopology x {{\n  version = \"{}\"\n  bogus = 1\n}}\n",
            "c".repeat(100_000),
            "9".repeat(100_000)
        );
        let out = rendered(&text);
        assert!(out.contains("long.topo:4:3"), "{out}");
        assert!(out.lines().all(|l| l.chars().count() < 500), "{out}");
    }
}
