//! Between the protocol's terms and the library's: `file://` URIs and
//! paths, UTF-16 positions and byte offsets, diagnostics.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use lsp_types::{
    DiagnosticRelatedInformation, DiagnosticSeverity, DiagnosticTag, Location, NumberOrString,
    Position, Uri,
};

use crate::diagnostics::{Diagnostic, Severity};
use crate::source::{SourceFile, SourceMap};

/// The local path of a `file://` URI (percent-decoded), or `None` for any
/// other URI.
pub fn uri_to_path(uri: &Uri) -> Option<PathBuf> {
    let rest = uri.as_str().strip_prefix("file://")?;
    let path = if rest.starts_with('/') {
        rest
    } else {
        let slash = rest.find('/')?;
        if !rest[..slash].eq_ignore_ascii_case("localhost") {
            return None; // a network share
        }
        &rest[slash..]
    };
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let decoded = percent_decode(path)?;
    // `/C:/dir/file.topo` on Windows is `C:/dir/file.topo`.
    let bytes = decoded.as_bytes();
    if bytes.len() >= 3 && bytes[0] == b'/' && bytes[2] == b':' && bytes[1].is_ascii_alphabetic() {
        return Some(PathBuf::from(&decoded[1..]));
    }
    Some(PathBuf::from(decoded))
}

/// The `file://` URI of an absolute path.
pub fn path_to_uri(path: &Path) -> Option<Uri> {
    let text = path.to_string_lossy().replace('\\', "/");
    let mut uri = String::from("file://");
    if !text.starts_with('/') {
        uri.push('/');
    }
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"/-._~:".contains(&byte) {
            uri.push(byte as char);
        } else {
            uri.push_str(&format!("%{byte:02X}"));
        }
    }
    Uri::from_str(&uri).ok()
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A byte offset as the protocol's position (0-based line, UTF-16 column).
pub fn position(file: &SourceFile, offset: usize) -> Position {
    let (line, character) = file.utf16_position(offset);
    Position { line, character }
}

/// A byte range as the protocol's range.
pub fn range(file: &SourceFile, span: Range<usize>) -> lsp_types::Range {
    lsp_types::Range {
        start: position(file, span.start),
        end: position(file, span.end),
    }
}

/// The protocol's position as a byte offset, clamped to its line.
pub fn offset(file: &SourceFile, position: Position) -> usize {
    file.utf16_offset(position.line, position.character)
}

/// A library diagnostic as the protocol's, with its help line appended
/// and its related spans as related information.
pub fn diagnostic(sources: &SourceMap, d: &Diagnostic) -> lsp_types::Diagnostic {
    let file = sources.get(d.span.file);
    let mut message = d.message.clone();
    if let Some(help) = &d.help {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    let related: Vec<DiagnosticRelatedInformation> = d
        .related
        .iter()
        .filter_map(|r| {
            let other = sources.get(r.span.file);
            Some(DiagnosticRelatedInformation {
                location: Location {
                    uri: path_to_uri(&other.path)?,
                    range: range(other, r.span.range()),
                },
                message: r.message.clone(),
            })
        })
        .collect();
    lsp_types::Diagnostic {
        range: range(file, d.span.range()),
        severity: Some(match d.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
            Severity::Info => DiagnosticSeverity::INFORMATION,
        }),
        code: Some(NumberOrString::String(d.code.to_string())),
        code_description: None,
        source: Some("topoc".to_string()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        // Unused datasources and file shares are shown faded.
        tags: matches!(d.code, "DS003" | "FS003").then(|| vec![DiagnosticTag::UNNECESSARY]),
        data: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FileId;

    fn uri(text: &str) -> Uri {
        Uri::from_str(text).expect("a URI")
    }

    #[test]
    fn file_uris_and_paths() {
        assert_eq!(
            uri_to_path(&uri("file:///home/ops/topo%20files/main.topo")),
            Some(PathBuf::from("/home/ops/topo files/main.topo"))
        );
        assert_eq!(
            uri_to_path(&uri("file://localhost/etc/a.topo")),
            Some(PathBuf::from("/etc/a.topo"))
        );
        assert_eq!(
            uri_to_path(&uri("file:///c%3A/work/a.topo")),
            Some(PathBuf::from("c:/work/a.topo"))
        );
        assert_eq!(uri_to_path(&uri("untitled:Untitled-1")), None);
        assert_eq!(uri_to_path(&uri("file://server/share/a.topo")), None);
        let path = Path::new("/tmp/dir with space/\u{e9}.topo");
        let back = path_to_uri(path).expect("uri");
        assert_eq!(back.as_str(), "file:///tmp/dir%20with%20space/%C3%A9.topo");
        assert_eq!(uri_to_path(&back).as_deref(), Some(path));
    }

    #[test]
    fn positions_count_utf16_units() {
        let file = SourceFile::new(FileId(0), "a.topo".into(), "x = \"\u{1F600}\" y\n".into());
        let y = file.text.find('y').unwrap();
        assert_eq!(position(&file, y), Position::new(0, 9));
        assert_eq!(offset(&file, Position::new(0, 9)), y);
    }
}
