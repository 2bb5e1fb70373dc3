//! Diagnostics: the one type every stage reports with, the severity
//! configuration (`--deny`, `--allow`, the topology's `allow`/`deny`), and
//! the renderers (human through miette, JSON, SARIF).

pub mod human;
pub mod json;
pub mod sarif;

use std::collections::BTreeSet;
use std::fmt;

use serde::Serialize;

use crate::lints::{self, Lint};
use crate::source::{SourceMap, Span};

/// How serious a diagnostic is; errors fail `topoc check` and stop a build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The topology is wrong or cannot be read: it is not built.
    Error,
    /// Likely wrong or risky; `--deny warnings` makes it an error.
    Warning,
    /// Worth knowing; fails nothing unless its code is denied.
    Info,
}

impl Severity {
    /// The lower-case name used in every report (`error`, `warning`, `info`).
    pub fn name(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A second place a diagnostic points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Related {
    /// Where.
    pub span: Span,
    /// What this place has to do with the diagnostic.
    pub message: String,
}

/// A finding of a check: its code, severity, message and where it points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The code of the lint that reported it (`E001`, `HA002`, ...).
    pub code: &'static str,
    /// The lint's default severity, or the one `allow`/`deny` raised it to.
    pub severity: Severity,
    /// What is wrong, as one sentence.
    pub message: String,
    /// How to fix it, when the check knows.
    pub help: Option<String>,
    /// The primary location.
    pub span: Span,
    /// A short label shown under the primary span.
    pub label: Option<String>,
    /// Other places worth showing, in order.
    pub related: Vec<Related>,
}

impl Diagnostic {
    /// A diagnostic of `lint` at its default severity.
    pub fn new(lint: &Lint, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code: lint.code,
            severity: lint.severity,
            message: message.into(),
            help: None,
            span,
            label: None,
            related: Vec::new(),
        }
    }

    /// Add a hint on how to fix it.
    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Add a label shown under the primary span.
    pub fn label(mut self, label: impl Into<String>) -> Diagnostic {
        self.label = Some(label.into());
        self
    }

    /// Add a second place to show, with what it has to do with the diagnostic.
    pub fn related(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.related.push(Related {
            span,
            message: message.into(),
        });
        self
    }

    /// Report at another severity than the lint's default.
    pub fn severity(mut self, severity: Severity) -> Diagnostic {
        self.severity = severity;
        self
    }
}

/// Counts by severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// How many errors.
    pub errors: usize,
    /// How many warnings.
    pub warnings: usize,
    /// How many infos.
    pub infos: usize,
}

impl Summary {
    /// Count the diagnostics by severity.
    pub fn of(diagnostics: &[Diagnostic]) -> Summary {
        let mut summary = Summary::default();
        for d in diagnostics {
            match d.severity {
                Severity::Error => summary.errors += 1,
                Severity::Warning => summary.warnings += 1,
                Severity::Info => summary.infos += 1,
            }
        }
        summary
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = |n: usize, word: &str| {
            if n == 1 {
                format!("{n} {word}")
            } else {
                format!("{n} {word}s")
            }
        };
        write!(
            f,
            "{}, {}, {}",
            plural(self.errors, "error"),
            plural(self.warnings, "warning"),
            plural(self.infos, "info")
        )
    }
}

/// Which codes are silenced or raised, from the command line and from the
/// topology's `allow`/`deny` attributes. The command line wins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeverityConfig {
    /// Codes whose diagnostics are dropped (language errors cannot be allowed).
    pub allow: BTreeSet<String>,
    /// Codes whose diagnostics become errors.
    pub deny: BTreeSet<String>,
    /// `--deny warnings`: every warning becomes an error.
    pub deny_warnings: bool,
}

/// A code given to `--allow`/`--deny` that cannot be honoured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeError {
    /// No lint has this code.
    Unknown(String),
    /// The code is a language error or a secret check (`E...`, `SEC...`),
    /// which cannot be allowed.
    NotAllowable(String),
}

impl fmt::Display for CodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodeError::Unknown(code) => write!(
                f,
                "unknown diagnostic code `{code}` (known codes: {})",
                lints::all()
                    .iter()
                    .map(|l| l.code)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            CodeError::NotAllowable(code) => write!(
                f,
                "`{code}` is a language error and cannot be allowed: the topology cannot be read or would leak a secret"
            ),
        }
    }
}

impl SeverityConfig {
    /// Validate and add a code to the allow list.
    pub fn allow_code(&mut self, code: &str) -> Result<(), CodeError> {
        let lint = lints::find(code).ok_or_else(|| CodeError::Unknown(code.to_string()))?;
        if !lint.allowable() {
            return Err(CodeError::NotAllowable(lint.code.to_string()));
        }
        self.deny.remove(lint.code);
        self.allow.insert(lint.code.to_string());
        Ok(())
    }

    /// Validate and add a code (or `warnings`) to the deny list.
    pub fn deny_code(&mut self, code: &str) -> Result<(), CodeError> {
        if code == "warnings" {
            self.deny_warnings = true;
            return Ok(());
        }
        let lint = lints::find(code).ok_or_else(|| CodeError::Unknown(code.to_string()))?;
        self.allow.remove(lint.code);
        self.deny.insert(lint.code.to_string());
        Ok(())
    }

    /// Layer `over` (the command line) on top of `self` (the topology).
    pub fn overridden_by(&self, over: &SeverityConfig) -> SeverityConfig {
        let mut merged = self.clone();
        for code in &over.allow {
            merged.deny.remove(code);
            merged.allow.insert(code.clone());
        }
        for code in &over.deny {
            merged.allow.remove(code);
            merged.deny.insert(code.clone());
        }
        merged.deny_warnings |= over.deny_warnings;
        merged
    }

    /// Apply to a list of diagnostics: drop the allowed, raise the denied.
    pub fn apply(&self, diagnostics: Vec<Diagnostic>) -> Vec<Diagnostic> {
        self.partition(diagnostics).0
    }

    /// Apply, and keep what was dropped: `(reported, allowed)`.
    pub fn partition(&self, diagnostics: Vec<Diagnostic>) -> (Vec<Diagnostic>, Vec<Diagnostic>) {
        let (reported, allowed): (Vec<Diagnostic>, Vec<Diagnostic>) =
            diagnostics.into_iter().partition(|d| {
                !self.allow.contains(d.code) || lints::find(d.code).is_some_and(|l| !l.allowable())
            });
        let reported = reported
            .into_iter()
            .map(|mut d| {
                if self.deny.contains(d.code)
                    || (self.deny_warnings && d.severity == Severity::Warning)
                {
                    d.severity = Severity::Error;
                }
                d
            })
            .collect();
        (reported, allowed)
    }
}

/// Sort diagnostics by file, position, then code: the order of every report.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| {
        (a.span.file, a.span.start, a.span.end, a.code, &a.message).cmp(&(
            b.span.file,
            b.span.start,
            b.span.end,
            b.code,
            &b.message,
        ))
    });
}

/// Diagnostics with the sources they point into.
#[derive(Debug, Clone, Copy)]
pub struct Report<'a> {
    /// The files the diagnostics' spans point into.
    pub sources: &'a SourceMap,
    /// The diagnostics to report, in the order to print them.
    pub diagnostics: &'a [Diagnostic],
}
