//! Source files, spans and line/column arithmetic.
//!
//! Every later stage points back at the text through a [`Span`]: a file id
//! and a byte range. Lines and columns are computed on demand from a line
//! index; columns count Unicode scalar values (the JSON contract) or UTF-16
//! code units (the language server protocol).

use std::path::{Path, PathBuf};

/// Index of a file in a [`SourceMap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct FileId(pub u32);

/// A byte range in one source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Span {
    /// The file the range is in.
    pub file: FileId,
    /// Byte offset of the first byte.
    pub start: u32,
    /// Byte offset one past the last byte (never before `start`).
    pub end: u32,
}

impl Span {
    /// A span of `file` from `start` to `end`; an `end` before `start` is
    /// raised to `start`.
    pub fn new(file: FileId, start: usize, end: usize) -> Span {
        Span {
            file,
            start: start as u32,
            end: end.max(start) as u32,
        }
    }

    /// The byte range, for slicing the file's text.
    pub fn range(&self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }

    /// The length in bytes.
    pub fn len(&self) -> usize {
        (self.end - self.start) as usize
    }

    /// Whether the span covers no bytes (a position).
    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }

    /// The smallest span covering both (same file assumed).
    pub fn to(&self, other: Span) -> Span {
        Span {
            file: self.file,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    /// Whether a byte offset lies inside the span, both ends included (a cursor
    /// at the end counts).
    pub fn contains(&self, offset: usize) -> bool {
        (self.start as usize) <= offset && offset <= (self.end as usize)
    }
}

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LineCol {
    /// The line, counted from 1.
    pub line: usize,
    /// The column, counted from 1 in Unicode scalar values.
    pub column: usize,
}

/// One loaded file.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The file's index in its [`SourceMap`].
    pub id: FileId,
    /// The path as given or resolved (used for display).
    pub path: PathBuf,
    /// The whole text of the file, as decoded UTF-8.
    pub text: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    /// A file with its line index computed from `text`.
    pub fn new(id: FileId, path: PathBuf, text: String) -> SourceFile {
        let line_starts = line_starts(&text);
        SourceFile {
            id,
            path,
            text,
            line_starts,
        }
    }

    /// Path for display, with forward slashes on every platform.
    pub fn display_path(&self) -> String {
        display_path(&self.path)
    }

    /// Zero-based line index of a byte offset.
    pub fn line_index(&self, offset: usize) -> usize {
        match self.line_starts.binary_search(&offset) {
            Ok(line) => line,
            Err(next) => next - 1,
        }
    }

    /// Byte offset where a 0-based line starts; the end of the text past the
    /// last line.
    pub fn line_start(&self, line: usize) -> usize {
        self.line_starts
            .get(line)
            .copied()
            .unwrap_or(self.text.len())
    }

    /// The number of lines (a text without line breaks has one).
    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// Clamp an offset into the text and onto a char boundary.
    pub fn clamp(&self, offset: usize) -> usize {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        offset
    }

    /// 1-based line and column, the column counted in Unicode scalar values.
    pub fn line_col(&self, offset: usize) -> LineCol {
        let offset = self.clamp(offset);
        let line = self.line_index(offset);
        let start = self.line_starts[line];
        LineCol {
            line: line + 1,
            column: self.text[start..offset].chars().count() + 1,
        }
    }

    /// 0-based line and UTF-16 column (the language server's positions).
    pub fn utf16_position(&self, offset: usize) -> (u32, u32) {
        let offset = self.clamp(offset);
        let line = self.line_index(offset);
        let start = self.line_starts[line];
        let col: usize = self.text[start..offset].chars().map(char::len_utf16).sum();
        (line as u32, col as u32)
    }

    /// Byte offset of a 0-based line and UTF-16 column; clamped to the line.
    pub fn utf16_offset(&self, line: u32, col: u32) -> usize {
        let line = line as usize;
        if line >= self.line_starts.len() {
            return self.text.len();
        }
        let start = self.line_starts[line];
        let end = self
            .line_starts
            .get(line + 1)
            .copied()
            .unwrap_or(self.text.len());
        let mut units = 0usize;
        for (i, ch) in self.text[start..end].char_indices() {
            if units >= col as usize || ch == '\n' || ch == '\r' {
                return start + i;
            }
            units += ch.len_utf16();
        }
        end
    }

    /// The text of a span, clamped to the file and to char boundaries.
    pub fn slice(&self, span: Span) -> &str {
        let start = self.clamp(span.start as usize);
        let end = self.clamp(span.end as usize).max(start);
        &self.text[start..end]
    }
}

/// Where every line starts. A line ends at `\n`, `\r\n` or a lone `\r`,
/// as the language server protocol counts them; the lexer, the formatter
/// and the language server all go by this one definition.
pub fn line_starts(text: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut starts = vec![0];
    for (i, &b) in bytes.iter().enumerate() {
        let ends_line = b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n'));
        if ends_line {
            starts.push(i + 1);
        }
    }
    starts
}

/// Is this byte the start of a line break (`\n`, or `\r` alone or before
/// `\n`)?
pub fn is_line_break(byte: u8) -> bool {
    byte == b'\n' || byte == b'\r'
}

/// The length of a line's content: `text` up to its first line break.
pub fn line_content_len(text: &str) -> usize {
    text.find(['\n', '\r']).unwrap_or(text.len())
}

/// The number of line breaks in `text` (a `\r\n` is one).
pub fn count_line_breaks(text: &str) -> usize {
    line_starts(text).len() - 1
}

/// Every file of one topology, in load order.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    /// An empty map.
    pub fn new() -> SourceMap {
        SourceMap::default()
    }

    /// Add a file and return its id (the next index).
    pub fn add(&mut self, path: PathBuf, text: String) -> FileId {
        let id = FileId(self.files.len() as u32);
        self.files.push(SourceFile::new(id, path, text));
        id
    }

    /// The file with this id; panics on an id from another map.
    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    /// Every file, in load order.
    pub fn files(&self) -> &[SourceFile] {
        &self.files
    }

    /// The file loaded from exactly this path, if any.
    pub fn find(&self, path: &Path) -> Option<&SourceFile> {
        self.files.iter().find(|f| f.path == path)
    }

    /// 1-based start and end positions of a span.
    pub fn line_col(&self, span: Span) -> (LineCol, LineCol) {
        let file = self.get(span.file);
        (
            file.line_col(span.start as usize),
            file.line_col(span.end as usize),
        )
    }
}

/// A path rendered with forward slashes, without a leading `./`.
pub fn display_path(path: &Path) -> String {
    let text = path.to_string_lossy().replace('\\', "/");
    text.strip_prefix("./").map(str::to_string).unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_scalar_values() {
        let file = SourceFile::new(FileId(0), "a.topo".into(), "ab\n\u{e9}x = 1\n".into());
        assert_eq!(file.line_col(0), LineCol { line: 1, column: 1 });
        assert_eq!(file.line_col(3), LineCol { line: 2, column: 1 });
        // 'x' follows a two-byte character
        assert_eq!(file.line_col(5), LineCol { line: 2, column: 2 });
        assert_eq!(file.line_col(1000), LineCol { line: 3, column: 1 });
    }

    #[test]
    fn lines_end_at_lf_crlf_and_a_lone_cr() {
        let text = "a\nb\r\nc\rd";
        assert_eq!(line_starts(text), [0, 2, 5, 7]);
        let file = SourceFile::new(FileId(0), "a.topo".into(), text.into());
        assert_eq!(file.utf16_position(text.find('d').unwrap()), (3, 0));
        assert_eq!(file.utf16_position(text.find('c').unwrap() + 1), (2, 1));
        assert_eq!(file.utf16_offset(2, 5), text.find('c').unwrap() + 1);
        assert_eq!(count_line_breaks(text), 3);
        assert_eq!(line_content_len("ab\r\ncd"), 2);
    }

    #[test]
    fn utf16_positions_round_trip() {
        let text = "a\u{1F600}b\nc";
        let file = SourceFile::new(FileId(0), "a.topo".into(), text.into());
        let b = text.find('b').unwrap();
        assert_eq!(file.utf16_position(b), (0, 3));
        assert_eq!(file.utf16_offset(0, 3), b);
        assert_eq!(file.utf16_offset(1, 0), text.find('c').unwrap());
        assert_eq!(file.utf16_offset(9, 9), text.len());
    }
}
