//! The canonical layout of a `.topo` file (`topoc fmt`, the language
//! server's formatting).
//!
//! The layout, as `grammar/README.md` states it:
//!
//! - two spaces of indentation per level, `key = value` with one space on
//!   each side of `=` (never aligned: a new attribute never re-indents its
//!   neighbours, so diffs stay small);
//! - one blank line between top-level items (consecutive imports keep at
//!   most the one blank line they had), one blank line before and after a
//!   nested block, and between attributes at most one blank line, where the
//!   source had one;
//! - a list on one line when it fits in 80 columns, else one item per line
//!   with a trailing comma;
//! - strings re-escaped canonically, numbers and quantities as written;
//! - every comment kept, in order: comments on their own line stay on their
//!   own line before the item they precede (or at the end of their block),
//!   comments at the end of a line stay at the end of that line;
//! - line feeds only, one at the end of the file, no byte order mark.
//!
//! The formatter works on the syntax tree and refuses a file with syntax
//! errors: it never guesses what broken text meant.

use std::ops::Range;

use super::ast::*;
use super::parser::parse;

/// Lists longer than this are written one item per line.
pub const MAX_WIDTH: usize = 80;
const INDENT: &str = "  ";

/// Format `source`, or return its syntax errors.
pub fn format(source: &str) -> Result<String, Vec<SyntaxError>> {
    let ast = parse(source);
    if !ast.errors.is_empty() {
        return Err(ast.errors);
    }
    Ok(format_ast(source, &ast))
}

/// Format an error-free tree of `source` (the tree of a file with syntax
/// errors is incomplete: use [`format`], which refuses it).
pub fn format_ast(source: &str, ast: &Ast) -> String {
    let mut printer = Printer {
        src: source,
        comments: &ast.comments,
        next: 0,
        out: String::with_capacity(source.len() + source.len() / 8),
    };
    printer.items(&ast.items, 0, source.len(), true);
    // Every comment was placed above; this only guards the promise that
    // none is ever dropped.
    while let Some(comment) = printer.take_before(usize::MAX) {
        printer.comment_line(0, comment);
    }
    printer.out
}

/// A string literal with the canonical escapes.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:X}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

struct Printer<'a> {
    src: &'a str,
    comments: &'a [Comment],
    /// The first comment not yet printed.
    next: usize,
    out: String,
}

impl<'a> Printer<'a> {
    // ------------------------------------------------------------ comments

    /// The next comment, if it starts before `offset`.
    fn take_before(&mut self, offset: usize) -> Option<&'a Comment> {
        let comment = self.comments.get(self.next)?;
        if comment.span.start < offset {
            self.next += 1;
            Some(comment)
        } else {
            None
        }
    }

    /// The next comment, if only spaces (and, after a list item, its
    /// comma) stand between `offset` and it, and it starts before `limit`:
    /// a comment at the end of the line of what ends at `offset`.
    fn take_trailing(&mut self, offset: usize, limit: usize, comma: bool) -> Option<&'a Comment> {
        let comment = self.comments.get(self.next)?;
        let start = comment.span.start;
        let between_is_blank = |text: &str| {
            text.chars()
                .all(|c| matches!(c, ' ' | '\t') || (comma && c == ','))
        };
        if start >= offset && start < limit && between_is_blank(&self.src[offset..start]) {
            self.next += 1;
            Some(comment)
        } else {
            None
        }
    }

    /// Does a comment not yet printed start inside `range`?
    fn has_comment_in(&self, range: Range<usize>) -> bool {
        self.comments[self.next..]
            .iter()
            .take_while(|c| c.span.start < range.end)
            .any(|c| c.span.start >= range.start)
    }

    fn comment_text(comment: &Comment) -> String {
        format!("#{}", comment.text.trim_end())
    }

    fn comment_line(&mut self, depth: usize, comment: &Comment) {
        self.indent(depth);
        self.out.push_str(&Self::comment_text(comment));
        self.out.push('\n');
    }

    /// Put a comment at the end of the line just written.
    fn append_trailing(&mut self, comment: &Comment) {
        if self.out.ends_with('\n') {
            self.out.pop();
        }
        self.out.push(' ');
        self.out.push_str(&Self::comment_text(comment));
        self.out.push('\n');
    }

    // ------------------------------------------------------------ layout

    fn indent(&mut self, depth: usize) {
        for _ in 0..depth {
            self.out.push_str(INDENT);
        }
    }

    fn blank_line(&mut self) {
        if !self.out.is_empty() && !self.out.ends_with("\n\n") {
            self.out.push('\n');
        }
    }

    /// Did the source have a blank line between two offsets?
    fn had_blank_line(&self, from: usize, to: usize) -> bool {
        let from = from.min(to);
        crate::source::count_line_breaks(&self.src[from..to]) >= 2
    }

    /// The width of the line being written so far.
    fn column(&self) -> usize {
        let line_start = self.out.rfind('\n').map(|i| i + 1).unwrap_or(0);
        self.out[line_start..].chars().count()
    }

    /// The items of a file (`top`) or of a block body, and the comments
    /// among them up to `end`.
    fn items(&mut self, items: &[Item], depth: usize, end: usize, top: bool) {
        let mut previous: Option<&Item> = None;
        // Where the last thing printed in this container ended (None: nothing
        // printed yet, so no blank line before the next).
        let mut printed_end: Option<usize> = None;
        for item in items {
            let start = item.span().start;
            let forced = previous.is_some_and(|p| blank_line_required(p, item, top));
            let mut first_of_group = true;
            while let Some(comment) = self.take_before(start) {
                self.separate(printed_end, comment.span.start, forced && first_of_group);
                first_of_group = false;
                self.comment_line(depth, comment);
                printed_end = Some(comment.span.end);
            }
            self.separate(printed_end, start, forced && first_of_group);
            self.item(item, depth);
            let mut item_end = item.span().end;
            if let Some(comment) = self.take_trailing(item_end, end, false) {
                self.append_trailing(comment);
                item_end = comment.span.end;
            }
            printed_end = Some(item_end);
            previous = Some(item);
        }
        while let Some(comment) = self.take_before(end) {
            self.separate(printed_end, comment.span.start, false);
            self.comment_line(depth, comment);
            printed_end = Some(comment.span.end);
        }
    }

    /// A blank line before the next thing when required, or when the source
    /// had one and something was printed before in this container.
    fn separate(&mut self, printed_end: Option<usize>, next_start: usize, required: bool) {
        let Some(end) = printed_end else { return };
        if required || self.had_blank_line(end, next_start) {
            self.blank_line();
        }
    }

    fn item(&mut self, item: &Item, depth: usize) {
        match item {
            Item::Import(import) => {
                self.indent(depth);
                self.out.push_str("import ");
                let path = import.path.as_ref().map(|p| p.value.as_str());
                self.out.push_str(&quote(path.unwrap_or_default()));
                self.out.push('\n');
            }
            Item::Attribute(attribute) => {
                self.indent(depth);
                self.out.push_str(&attribute.key.name);
                self.out.push_str(" =");
                if let Some(value) = &attribute.value {
                    self.out.push(' ');
                    self.value(value, depth);
                }
                self.out.push('\n');
            }
            Item::Block(block) => self.block(block, depth),
        }
    }

    fn block(&mut self, block: &Block, depth: usize) {
        // Comments between the kind and the `{` move above the header.
        while let Some(comment) = self.take_before(block.open) {
            self.comment_line(depth, comment);
        }
        let close = block.close.unwrap_or(block.span.end);
        self.indent(depth);
        self.out.push_str(&block.kind.name);
        if let Some(name) = &block.name {
            self.out.push(' ');
            self.out.push_str(&name.name);
        }
        if block.items.is_empty() && !self.has_comment_in(block.open..close) {
            self.out.push_str(" {}\n");
            return;
        }
        self.out.push_str(" {\n");
        let first = block.items.first().map(|i| i.span().start).unwrap_or(close);
        if let Some(comment) = self.take_trailing(block.open + 1, first, false) {
            self.append_trailing(comment);
        }
        self.items(&block.items, depth + 1, close, false);
        self.indent(depth);
        self.out.push_str("}\n");
    }

    /// Write a value at the current position; a list that does not fit (or
    /// holds comments) continues on the next lines at `depth + 1`.
    fn value(&mut self, value: &Value, depth: usize) {
        if let Some(text) = self.inline(value)
            && (self.column() + text.chars().count() <= MAX_WIDTH
                || !matches!(value.kind, ValueKind::List(_)))
        {
            self.out.push_str(&text);
            return;
        }
        match &value.kind {
            ValueKind::List(items) => self.spread(value, items, depth, "[", "]", true),
            ValueKind::Call { name, args } => {
                self.out.push_str(&name.name);
                self.spread(value, args, depth, "(", ")", false);
            }
            _ => {
                // Scalars are always inline.
                let text = self.scalar(value);
                self.out.push_str(&text);
            }
        }
    }

    /// A list or call's arguments one per line.
    fn spread(
        &mut self,
        value: &Value,
        items: &[Value],
        depth: usize,
        open: &str,
        close: &str,
        trailing_comma: bool,
    ) {
        // The opening bracket: `[` of a list, `(` after a call's name.
        let open_offset = match &value.kind {
            ValueKind::Call { name, .. } => self.src[name.span.end..value.span.end]
                .find('(')
                .map(|i| name.span.end + i)
                .unwrap_or(name.span.end),
            _ => value.span.start,
        };
        let end = value.span.end.saturating_sub(1);
        self.out.push_str(open);
        self.out.push('\n');
        let first = items.first().map(|i| i.span.start).unwrap_or(end);
        if let Some(comment) = self.take_trailing(open_offset + 1, first, false) {
            self.append_trailing(comment);
        }
        let mut printed_end: Option<usize> = None;
        for (index, item) in items.iter().enumerate() {
            while let Some(comment) = self.take_before(item.span.start) {
                self.separate(printed_end, comment.span.start, false);
                self.comment_line(depth + 1, comment);
                printed_end = Some(comment.span.end);
            }
            self.indent(depth + 1);
            self.value(item, depth + 1);
            if trailing_comma || index + 1 < items.len() {
                self.out.push(',');
            }
            self.out.push('\n');
            let mut item_end = item.span.end;
            if let Some(comment) = self.take_trailing(item_end, end, true) {
                self.append_trailing(comment);
                item_end = comment.span.end;
            }
            printed_end = Some(item_end);
        }
        while let Some(comment) = self.take_before(end) {
            self.separate(printed_end, comment.span.start, false);
            self.comment_line(depth + 1, comment);
            printed_end = Some(comment.span.end);
        }
        self.indent(depth);
        self.out.push_str(close);
    }

    /// The value on one line, unless a comment inside it needs lines of
    /// its own.
    fn inline(&self, value: &Value) -> Option<String> {
        match &value.kind {
            ValueKind::List(items) => {
                if self.has_comment_in(value.span.clone()) {
                    return None;
                }
                let parts: Option<Vec<String>> = items.iter().map(|i| self.inline(i)).collect();
                Some(format!("[{}]", parts?.join(", ")))
            }
            ValueKind::Call { name, args } => {
                if self.has_comment_in(value.span.clone()) {
                    return None;
                }
                let parts: Option<Vec<String>> = args.iter().map(|a| self.inline(a)).collect();
                Some(format!("{}({})", name.name, parts?.join(", ")))
            }
            _ => Some(self.scalar(value)),
        }
    }

    fn scalar(&self, value: &Value) -> String {
        match &value.kind {
            ValueKind::Ident(name) => name.clone(),
            ValueKind::Str(text) => quote(text),
            ValueKind::Number(number) => number.clone(),
            ValueKind::Quantity { number, unit } => format!("{number}{unit}"),
            // Lists and calls are laid out by `value`; as written otherwise.
            ValueKind::List(_) | ValueKind::Call { .. } => self.src[value.span.clone()].to_string(),
        }
    }
}

/// Is a blank line required between two neighbouring items? At the top
/// level always (but imports may stay together); in a block, around
/// nested blocks.
fn blank_line_required(previous: &Item, next: &Item, top: bool) -> bool {
    if top {
        !matches!((previous, next), (Item::Import(_), Item::Import(_)))
    } else {
        matches!(previous, Item::Block(_)) || matches!(next, Item::Block(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(source: &str) -> String {
        let formatted = format(source).unwrap_or_else(|e| panic!("{e:?}"));
        let again = format(&formatted).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(formatted, again, "not idempotent");
        formatted
    }

    #[test]
    fn canonical_indentation_and_spacing() {
        assert_eq!(
            fmt("topology   t{version=\"4.2.0\"\n\t\tpeak_load   =   1000rps}"),
            "topology t {\n  version = \"4.2.0\"\n  peak_load = 1000rps\n}\n"
        );
    }

    #[test]
    fn one_blank_line_between_top_level_items() {
        assert_eq!(
            fmt("import \"a.topo\"\nimport \"b.topo\"\na x {}\n\n\n\nb y {}"),
            "import \"a.topo\"\nimport \"b.topo\"\n\na x {}\n\nb y {}\n"
        );
    }

    #[test]
    fn blank_lines_in_blocks() {
        let source = "d x {\n\n  a = 1\n\n\n  b = 2\n  c = 3\n  k n {}\n  e = 4\n\n}\n";
        assert_eq!(
            fmt(source),
            "d x {\n  a = 1\n\n  b = 2\n  c = 3\n\n  k n {}\n\n  e = 4\n}\n"
        );
    }

    #[test]
    fn comments_keep_their_places() {
        let source = "# head\n\n# about t\ntopology t { # opening\n  # before a\n  a = 1 # after a\n  # dangling\n} # after t\n# tail\n";
        assert_eq!(
            fmt(source),
            "# head\n\n# about t\ntopology t { # opening\n  # before a\n  a = 1 # after a\n  # dangling\n} # after t\n# tail\n"
        );
    }

    #[test]
    fn an_end_of_line_comment_belongs_to_the_last_item_on_its_line() {
        assert_eq!(
            fmt("a x { b = 1 } c y { d = 2 # on d\n}"),
            "a x {\n  b = 1\n}\n\nc y {\n  d = 2 # on d\n}\n"
        );
        assert_eq!(
            fmt("a x {\n  b = 1 d = 2 # on d\n}"),
            "a x {\n  b = 1\n  d = 2 # on d\n}\n"
        );
    }

    #[test]
    fn comments_in_a_block_header_move_above_it() {
        assert_eq!(
            fmt("cluster # odd\n  gw { nodes = 2 }"),
            "# odd\ncluster gw {\n  nodes = 2\n}\n"
        );
    }

    #[test]
    fn comment_only_block_and_empty_block() {
        assert_eq!(
            fmt("a x {\n}\nb y {\n# c\n}"),
            "a x {}\n\nb y {\n  # c\n}\n"
        );
    }

    #[test]
    fn short_lists_on_one_line_long_lists_spread() {
        assert_eq!(
            fmt("c x {\n  l = [\n a,\n b ,\n]\n}"),
            "c x {\n  l = [a, b]\n}\n"
        );
        let long: Vec<String> = (0..12).map(|i| format!("datasource_{i}")).collect();
        let formatted = fmt(&format!("c x {{ l = [{}] }}", long.join(",")));
        assert!(
            formatted.contains("  l = [\n    datasource_0,\n"),
            "{formatted}"
        );
        assert!(
            formatted.contains("    datasource_11,\n  ]\n"),
            "{formatted}"
        );
        for line in formatted.lines() {
            assert!(line.len() <= MAX_WIDTH, "{line}");
        }
    }

    #[test]
    fn comments_inside_lists_spread_them() {
        let source = "c x {\n  l = [ # which\n    a, # first\n    # before b\n    b\n    # at the end\n  ] # done\n}\n";
        assert_eq!(
            fmt(source),
            "c x {\n  l = [ # which\n    a, # first\n    # before b\n    b,\n    # at the end\n  ] # done\n}\n"
        );
    }

    #[test]
    fn calls_and_strings() {
        assert_eq!(
            fmt("d x { password = secret (  \"p\"  ) s = \"a\\u{9}\\\"\\u{1F600}\" }"),
            "d x {\n  password = secret(\"p\")\n  s = \"a\\t\\\"\u{1F600}\"\n}\n"
        );
        assert_eq!(
            fmt("d x { p = secret( # why\n\"p\") }"),
            "d x {\n  p = secret( # why\n    \"p\"\n  )\n}\n"
        );
        assert_eq!(quote("\u{7}"), "\"\\u{7}\"");
    }

    #[test]
    fn numbers_and_quantities_as_written() {
        assert_eq!(
            fmt("c x { cpu = 0.50 peak = 1200rps share = 75% }"),
            "c x {\n  cpu = 0.50\n  peak = 1200rps\n  share = 75%\n}\n"
        );
    }

    #[test]
    fn crlf_bom_and_empty_files() {
        assert_eq!(
            fmt("\u{feff}a x {\r\n  b = 1 # c\r\n}\r\n"),
            "a x {\n  b = 1 # c\n}\n"
        );
        assert_eq!(fmt(""), "");
        assert_eq!(fmt("\n\n# only\n\n"), "# only\n");
    }

    #[test]
    fn a_lone_cr_ends_a_line_and_its_comment() {
        // The attribute after the comment is on a line of its own, as an
        // editor shows it: it is kept, not commented out.
        assert_eq!(
            fmt("a x {\r  b = 1 # c\r  d = 2\r\r  e = 3\r}"),
            "a x {\n  b = 1 # c\n  d = 2\n\n  e = 3\n}\n"
        );
    }

    #[test]
    fn refuses_syntax_errors() {
        let errors = format("topology t { version = }").unwrap_err();
        assert_eq!(errors.len(), 1);
    }
}
