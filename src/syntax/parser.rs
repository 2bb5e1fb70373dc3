//! The `.topo` parser: nom token parsers over a located input, and a
//! recursive-descent layer that recovers from errors.
//!
//! Recovery follows one rule: when an item cannot be parsed, the error is
//! recorded (E001) and parsing resumes at the next `}` or at the next line
//! that starts like an attribute (`name =`) or a block (`kind name {`), with
//! braces opened in the skipped text balanced first. So a file with several
//! syntax errors reports each of them and still yields the rest of its tree.

use nom::bytes::complete::{tag, take_while, take_while1};
use nom::character::complete::{char as one_char, digit1};
use nom::combinator::{opt, recognize};
use nom::sequence::pair;
use nom::{IResult, Input, Parser as _};
use nom_locate::LocatedSpan;

use super::ast::*;

type In<'a> = LocatedSpan<&'a str>;
type PResult<'a, O> = IResult<In<'a>, O>;

/// Blocks and lists nested deeper than this are refused (no recursion can
/// exhaust the stack, whatever the input).
pub const MAX_DEPTH: usize = 32;
/// After this many syntax errors in one file the rest of it is not read.
pub const MAX_ERRORS: usize = 100;

/// Parse one file. Never panics; every problem is a [`SyntaxError`].
pub fn parse(source: &str) -> Ast {
    let mut parser = Parser {
        errors: Vec::new(),
        comments: Vec::new(),
        depth: 0,
        stopped: false,
    };
    let mut input = In::new(source);
    if input.fragment().starts_with('\u{feff}') {
        input = input.take_from('\u{feff}'.len_utf8());
    }
    let (_, items, _) = parser.items(input, None);
    Ast {
        items,
        comments: parser.comments,
        errors: parser.errors,
    }
}

// ------------------------------------------------------------------ tokens

fn offset(i: &In) -> usize {
    i.location_offset()
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// An identifier. Upper-case letters are lexed (so that the error can say
/// what to write instead) and reported by the caller.
fn ident(i: In) -> PResult<Ident> {
    let (rest, text) =
        recognize(pair(take_while1(is_ident_start), take_while(is_ident_char))).parse(i)?;
    let start = offset(&text);
    Ok((
        rest,
        Ident {
            name: text.fragment().to_string(),
            span: start..start + text.fragment().len(),
        },
    ))
}

/// `digits [. digits]` followed by an optional glued unit (`%` or letters).
fn number(i: In) -> PResult<(In, Option<In>)> {
    let (rest, num) = recognize(pair(digit1, opt(pair(one_char('.'), digit1)))).parse(i)?;
    let (rest, unit) = opt(|i| -> PResult<In> {
        let percent: PResult<In> = tag("%").parse(i);
        percent.or_else(|_| take_while1(|c: char| c.is_ascii_alphabetic()).parse(i))
    })
    .parse(rest)?;
    Ok((rest, (num, unit)))
}

fn first_char(i: &In) -> Option<char> {
    i.fragment().chars().next()
}

/// How a found token is named in messages.
fn found(i: &In) -> String {
    match first_char(i) {
        None => "the end of the file".into(),
        Some('\n') | Some('\r') => "the end of the line".into(),
        Some(_) => {
            if let Ok((_, id)) = ident(*i) {
                format!("`{}`", id.name)
            } else {
                let c = first_char(i).unwrap_or(' ');
                if c.is_control() {
                    format!("the control character U+{:04X}", c as u32)
                } else {
                    format!("`{c}`")
                }
            }
        }
    }
}

/// The length of the token's first character; a line break is the end of
/// the line, so a span pointing at it is empty and never covers a `\r`.
fn char_len(i: &In) -> usize {
    first_char(i)
        .filter(|c| !matches!(c, '\n' | '\r'))
        .map(char::len_utf8)
        .unwrap_or(0)
}

// ------------------------------------------------------------------ parser

struct Parser {
    errors: Vec<SyntaxError>,
    comments: Vec<Comment>,
    depth: usize,
    stopped: bool,
}

impl Parser {
    fn error(
        &mut self,
        span: std::ops::Range<usize>,
        message: impl Into<String>,
        help: Option<&str>,
    ) {
        self.error_with(span, message, help.map(str::to_string), None);
    }

    fn error_with(
        &mut self,
        span: std::ops::Range<usize>,
        message: impl Into<String>,
        help: Option<String>,
        related: Option<(std::ops::Range<usize>, String)>,
    ) {
        if self.stopped {
            return;
        }
        if self.errors.len() >= MAX_ERRORS {
            self.errors.push(SyntaxError {
                message: format!(
                    "too many syntax errors ({MAX_ERRORS}); the rest of the file was not read"
                ),
                help: Some("fix the errors above and run topoc again".into()),
                span,
                related: None,
            });
            self.stopped = true;
            return;
        }
        self.errors.push(SyntaxError {
            message: message.into(),
            help,
            span,
            related,
        });
    }

    /// Record an error about the token at `i`.
    fn unexpected(&mut self, i: &In, expected: &str, help: Option<&str>) {
        let start = offset(i);
        let len = match ident(*i) {
            Ok((_, id)) => id.span.len(),
            Err(_) => char_len(i),
        };
        let message = format!("expected {expected}, found {}", found(i));
        self.error(start..start + len, message, help);
    }

    /// Whitespace, line breaks and comments; comments are kept.
    fn ws<'a>(&mut self, mut i: In<'a>) -> In<'a> {
        loop {
            let frag = i.fragment();
            let skip = frag
                .bytes()
                .take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
                .count();
            if skip > 0 {
                i = i.take_from(skip);
            }
            if i.fragment().starts_with('#') {
                let start = offset(&i);
                // A comment ends at any line break, a lone `\r` included.
                let len = crate::source::line_content_len(i.fragment());
                let text = &i.fragment()[..len];
                if self.comments.last().is_none_or(|c| c.span.start < start) {
                    self.comments.push(Comment {
                        text: text[1..].to_string(),
                        span: start..start + text.len(),
                    });
                }
                i = i.take_from(len);
                continue;
            }
            return i;
        }
    }

    /// Spaces and tabs only (a value must start on the line of its `=`).
    fn spaces<'a>(&mut self, i: In<'a>) -> In<'a> {
        let skip = i
            .fragment()
            .bytes()
            .take_while(|b| matches!(b, b' ' | b'\t'))
            .count();
        i.take_from(skip)
    }

    fn check_case(&mut self, id: &Ident) {
        if id.name.chars().any(|c| c.is_ascii_uppercase()) {
            let lower = id.name.to_ascii_lowercase();
            self.error(
                id.span.clone(),
                format!("identifiers are lower-case: `{}`", id.name),
                Some(&format!("write `{lower}`, or quote it as a string")),
            );
        }
    }

    /// Items until `}` (inside a block) or the end of the file (top level).
    /// Returns the rest, the items and the offset of the closing `}`.
    fn items<'a>(
        &mut self,
        mut i: In<'a>,
        block: Option<&Ident>,
    ) -> (In<'a>, Vec<Item>, Option<usize>) {
        let mut items = Vec::new();
        loop {
            i = self.ws(i);
            if self.stopped {
                return (i.take_from(i.input_len()), items, None);
            }
            match first_char(&i) {
                None => return (i, items, None),
                Some('}') => {
                    if block.is_some() {
                        let close = offset(&i);
                        return (i.take_from(1), items, Some(close));
                    }
                    let start = offset(&i);
                    self.error(
                        start..start + 1,
                        "unexpected `}` with no block to close",
                        Some("remove it, or open the block it was meant to close"),
                    );
                    i = i.take_from(1);
                }
                Some(_) => {
                    let item_start = offset(&i);
                    match self.item(i, block.is_none()) {
                        Ok((rest, item)) => {
                            items.push(item);
                            i = rest;
                        }
                        Err((at, partial)) => {
                            if let Some(item) = partial {
                                items.push(*item);
                            }
                            i = self.recover(i, at, item_start);
                        }
                    }
                }
            }
        }
    }

    /// One item. On failure returns where the error happened and whatever
    /// part of the item is worth keeping (an attribute without its value).
    #[allow(clippy::type_complexity)]
    fn item<'a>(
        &mut self,
        i: In<'a>,
        top: bool,
    ) -> Result<(In<'a>, Item), (usize, Option<Box<Item>>)> {
        let (after_kind, kind) = match ident(i) {
            Ok(ok) => ok,
            Err(_) => {
                self.unexpected(
                    &i,
                    "an attribute (`name = value`) or a block (`kind name { ... }`)",
                    None,
                );
                return Err((offset(&i), None));
            }
        };
        self.check_case(&kind);
        let rest = self.spaces(after_kind);

        if kind.name == "import" && rest.fragment().starts_with('"') {
            let (rest, path) = self.string(rest).map_err(|at| (at, None))?;
            let span = kind.span.start..path.span.end;
            if !top {
                self.error(
                    span.clone(),
                    "`import` belongs at the top level of a file",
                    Some("move the import out of the block"),
                );
            }
            return Ok((
                rest,
                Item::Import(Import {
                    path: Some(path),
                    span,
                }),
            ));
        }

        match first_char(&rest) {
            Some('=') => {
                let value_start = self.spaces(rest.take_from(1));
                let attr_span_start = kind.span.start;
                match self.value(value_start) {
                    Ok((after, value)) => {
                        let span = attr_span_start..value.span.end;
                        if top {
                            self.error(
                                span.clone(),
                                format!("attribute `{}` outside any block", kind.name),
                                Some("attributes go inside a block, e.g. `topology NAME { ... }`"),
                            );
                        }
                        Ok((
                            after,
                            Item::Attribute(Attribute {
                                key: kind,
                                value: Some(value),
                                span,
                            }),
                        ))
                    }
                    Err(at) => {
                        let span = attr_span_start..offset(&rest) + 1;
                        let partial = (!top).then_some(Box::new(Item::Attribute(Attribute {
                            key: kind,
                            value: None,
                            span,
                        })));
                        Err((at, partial))
                    }
                }
            }
            _ => {
                // A block: `kind [name] {`
                let rest = self.ws(rest);
                let (rest, name) = match ident(rest) {
                    Ok((after, name)) => {
                        self.check_case(&name);
                        (self.ws(after), Some(name))
                    }
                    Err(_) => (rest, None),
                };
                if first_char(&rest) != Some('{') {
                    let expected = if name.is_some() {
                        format!("`{{` to open the `{}` block", kind.name)
                    } else {
                        format!("`=` or a block name after `{}`", kind.name)
                    };
                    let help = if name.is_none() && first_char(&rest) == Some(':') {
                        Some("attributes are written `name = value`")
                    } else {
                        None
                    };
                    self.unexpected(&rest, &expected, help);
                    return Err((offset(&rest), None));
                }
                if name.is_none() {
                    let at = offset(&rest);
                    self.error(
                        at..at + 1,
                        format!("the `{}` block has no name", kind.name),
                        Some(&format!("write `{} NAME {{ ... }}`", kind.name)),
                    );
                }
                let open = offset(&rest);
                let body = rest.take_from(1);
                if self.depth >= MAX_DEPTH {
                    self.error(
                        open..open + 1,
                        format!("blocks nested deeper than {MAX_DEPTH} levels"),
                        Some("topologies nest at most datacenter > cluster; flatten the blocks"),
                    );
                    let rest = skip_balanced(body, 1);
                    let end = offset(&rest);
                    let block = Block {
                        kind,
                        name,
                        items: Vec::new(),
                        span: offset(&i)..end,
                        open,
                        close: None,
                    };
                    return Ok((rest, Item::Block(block)));
                }
                self.depth += 1;
                let label_kind = kind.clone();
                let (rest, items, close) = self.items(body, Some(&label_kind));
                self.depth -= 1;
                let end = offset(&rest);
                if close.is_none() && !self.stopped {
                    let what = match &name {
                        Some(n) => format!("`{} {}`", kind.name, n.name),
                        None => format!("`{}`", kind.name),
                    };
                    self.error_with(
                        open..open + 1,
                        format!("the `{{` of {what} is never closed"),
                        Some("add the missing `}`".into()),
                        Some((end..end, "the file ends here".into())),
                    );
                }
                let block = Block {
                    kind,
                    name,
                    items,
                    span: offset(&i)..end,
                    open,
                    close,
                };
                Ok((rest, Item::Block(block)))
            }
        }
    }

    /// A value; on failure the error is recorded and its offset returned.
    fn value<'a>(&mut self, i: In<'a>) -> Result<(In<'a>, Value), usize> {
        let start = offset(&i);
        match first_char(&i) {
            Some('"') => {
                let (rest, s) = self.string(i)?;
                Ok((
                    rest,
                    Value {
                        kind: ValueKind::Str(s.value),
                        span: s.span,
                    },
                ))
            }
            Some('[') => self.list(i),
            Some(c) if c.is_ascii_digit() => {
                let Ok((rest, (num, unit))) = number(i) else {
                    self.unexpected(&i, "a number", None);
                    return Err(start);
                };
                // `4.2.0` unquoted: versions are strings.
                if rest.fragment().starts_with('.')
                    && rest.fragment()[1..].starts_with(|c: char| c.is_ascii_digit())
                {
                    let len = i
                        .fragment()
                        .bytes()
                        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'.')
                        .count();
                    let text = &i.fragment()[..len];
                    self.error(
                        start..start + len,
                        format!("`{text}` is not a number"),
                        Some(&format!("versions are strings: write \"{text}\"")),
                    );
                    return Err(start);
                }
                let end = offset(&rest);
                let kind = match unit {
                    None => ValueKind::Number(num.fragment().to_string()),
                    Some(unit) => ValueKind::Quantity {
                        number: num.fragment().to_string(),
                        unit: unit.fragment().to_string(),
                    },
                };
                Ok((
                    rest,
                    Value {
                        kind,
                        span: start..end,
                    },
                ))
            }
            Some(c) if is_ident_start(c) => {
                let (rest, id) = ident(i).map_err(|_| start)?;
                self.check_case(&id);
                let after = self.spaces(rest);
                if first_char(&after) == Some('(') {
                    return self.call(id, after);
                }
                let span = id.span.clone();
                Ok((
                    rest,
                    Value {
                        kind: ValueKind::Ident(id.name),
                        span,
                    },
                ))
            }
            Some('\'') => {
                self.unexpected(&i, "a value", Some("strings use double quotes: \"...\""));
                Err(start)
            }
            Some('\n') | Some('\r') | Some('#') | None => {
                let at = start;
                self.error(
                    at..at + char_len(&i).min(1),
                    "expected a value after `=`",
                    Some("write the value on the same line as `=`"),
                );
                Err(start)
            }
            Some(_) => {
                self.unexpected(
                    &i,
                    "a value (a name, \"string\", number, quantity, [list] or secret(\"...\"))",
                    None,
                );
                Err(start)
            }
        }
    }

    fn nested<'a, T>(
        &mut self,
        open: usize,
        f: impl FnOnce(&mut Self) -> Result<(In<'a>, T), usize>,
    ) -> Result<(In<'a>, T), usize> {
        if self.depth >= MAX_DEPTH {
            self.error(
                open..open + 1,
                format!("values nested deeper than {MAX_DEPTH} levels"),
                None,
            );
            return Err(open);
        }
        self.depth += 1;
        let result = f(self);
        self.depth -= 1;
        result
    }

    /// `[ value, value, ]`
    fn list<'a>(&mut self, i: In<'a>) -> Result<(In<'a>, Value), usize> {
        let start = offset(&i);
        self.nested(start, |p| {
            let mut items = Vec::new();
            let mut rest = p.ws(i.take_from(1));
            loop {
                if first_char(&rest) == Some(']') {
                    let end = offset(&rest) + 1;
                    return Ok((
                        rest.take_from(1),
                        Value {
                            kind: ValueKind::List(items),
                            span: start..end,
                        },
                    ));
                }
                if rest.fragment().is_empty() {
                    p.error_with(
                        start..start + 1,
                        "this `[` is never closed",
                        Some("add the missing `]`".into()),
                        None,
                    );
                    return Err(offset(&rest));
                }
                let (after, value) = p.value(rest)?;
                items.push(value);
                rest = p.ws(after);
                match first_char(&rest) {
                    Some(',') => rest = p.ws(rest.take_from(1)),
                    Some(']') => {}
                    _ => {
                        p.unexpected(
                            &rest,
                            "`,` or `]` in the list",
                            Some("separate list items with commas"),
                        );
                        return Err(offset(&rest));
                    }
                }
            }
        })
    }

    /// `name(args)`; `rest` starts at `(`.
    fn call<'a>(&mut self, name: Ident, rest: In<'a>) -> Result<(In<'a>, Value), usize> {
        let open = offset(&rest);
        self.nested(open, |p| {
            let mut args = Vec::new();
            let mut rest = p.ws(rest.take_from(1));
            loop {
                if first_char(&rest) == Some(')') {
                    let end = offset(&rest) + 1;
                    let span = name.span.start..end;
                    return Ok((
                        rest.take_from(1),
                        Value {
                            kind: ValueKind::Call { name, args },
                            span,
                        },
                    ));
                }
                let (after, value) = p.value(rest)?;
                args.push(value);
                rest = p.ws(after);
                match first_char(&rest) {
                    Some(',') => rest = p.ws(rest.take_from(1)),
                    Some(')') => {}
                    _ => {
                        p.unexpected(&rest, "`,` or `)`", None);
                        return Err(offset(&rest));
                    }
                }
            }
        })
    }

    /// A double-quoted string on one line. Bad escapes are reported and
    /// kept as written, so one bad escape costs one error, not the item.
    fn string<'a>(&mut self, i: In<'a>) -> Result<(In<'a>, StringLit), usize> {
        let start = offset(&i);
        let frag = *i.fragment();
        let mut value = String::new();
        let mut chars = frag.char_indices().skip(1).peekable();
        while let Some((pos, c)) = chars.next() {
            match c {
                '"' => {
                    let end = pos + 1;
                    return Ok((
                        i.take_from(end),
                        StringLit {
                            value,
                            span: start..start + end,
                        },
                    ));
                }
                '\n' | '\r' => break,
                '\\' => {
                    let Some((epos, e)) = chars.next() else { break };
                    match e {
                        '"' => value.push('"'),
                        '\\' => value.push('\\'),
                        'n' => value.push('\n'),
                        't' => value.push('\t'),
                        'r' => value.push('\r'),
                        'u' => {
                            let rest = &frag[epos + 1..];
                            match unicode_escape(rest) {
                                Ok((ch, used)) => {
                                    value.push(ch);
                                    for _ in 0..used {
                                        chars.next();
                                    }
                                }
                                Err(used) => {
                                    let at = start + pos;
                                    self.error(
                                        at..start + epos + 1 + used,
                                        "invalid unicode escape",
                                        Some("write `\\u{1F600}`: 1 to 6 hex digits naming a Unicode scalar value"),
                                    );
                                    for _ in 0..used {
                                        chars.next();
                                    }
                                }
                            }
                        }
                        '\n' | '\r' => break,
                        other => {
                            let at = start + pos;
                            self.error(
                                at..start + epos + other.len_utf8(),
                                format!("unknown escape `\\{other}`"),
                                Some("the escapes are \\\" \\\\ \\n \\t \\r and \\u{...}"),
                            );
                            value.push(other);
                        }
                    }
                }
                c => value.push(c),
            }
        }
        let line_end = frag.find(['\n', '\r']).unwrap_or(frag.len());
        self.error(
            start..start + line_end,
            "unterminated string",
            Some("close the string with `\"` on the same line; write a line break as \\n"),
        );
        Err(start + line_end)
    }

    /// Skip from the failed item to a place where parsing can resume: a `}`
    /// at the same brace depth, or the first token of a later line that looks
    /// like an attribute or a block. `min` is where the failed item started;
    /// resuming there again would loop.
    fn recover<'a>(&mut self, i: In<'a>, at: usize, min: usize) -> In<'a> {
        let base = offset(&i);
        let text = *i.fragment();
        let from = at.saturating_sub(base).min(text.len());
        let bytes = text.as_bytes();
        let mut pos = from;
        let mut depth = 0usize;
        // Is `pos` the first token of its line?
        let mut line_start = text[..from]
            .bytes()
            .rev()
            .take_while(|b| *b == b' ' || *b == b'\t')
            .count()
            == from
            || matches!(
                text[..from].trim_end_matches([' ', '\t']).bytes().last(),
                Some(b'\n' | b'\r')
            );
        while pos < bytes.len() {
            let b = bytes[pos];
            match b {
                b'\n' | b'\r' => {
                    line_start = true;
                    pos += 1;
                    continue;
                }
                b' ' | b'\t' => {
                    pos += 1;
                    continue;
                }
                _ => {}
            }
            if line_start && depth == 0 && base + pos > min && looks_like_item(&text[pos..]) {
                return i.take_from(pos);
            }
            line_start = false;
            match b {
                b'#' => {
                    pos += crate::source::line_content_len(&text[pos..]);
                }
                b'"' => {
                    pos += 1;
                    while pos < bytes.len()
                        && bytes[pos] != b'"'
                        && !crate::source::is_line_break(bytes[pos])
                    {
                        pos += if bytes[pos] == b'\\'
                            && pos + 1 < bytes.len()
                            && !crate::source::is_line_break(bytes[pos + 1])
                        {
                            2
                        } else {
                            1
                        };
                    }
                    if pos < bytes.len() && bytes[pos] == b'"' {
                        pos += 1;
                    }
                }
                b'{' => {
                    depth += 1;
                    pos += 1;
                }
                b'}' => {
                    if depth == 0 {
                        return i.take_from(pos);
                    }
                    depth -= 1;
                    pos += 1;
                }
                _ => pos += 1,
            }
        }
        i.take_from(text.len())
    }
}

/// Does this text start like an item: `name =`, `kind name {`, `kind {` or
/// `import "`?
fn looks_like_item(text: &str) -> bool {
    let i = In::new(text);
    let Ok((rest, id)) = ident(i) else {
        return false;
    };
    let rest = rest.fragment().trim_start_matches([' ', '\t']);
    if rest.starts_with('=') || rest.starts_with('{') {
        return true;
    }
    if id.name == "import" && rest.starts_with('"') {
        return true;
    }
    if let Ok((after, _)) = ident(In::new(rest)) {
        return after
            .fragment()
            .trim_start_matches([' ', '\t'])
            .starts_with('{');
    }
    false
}

/// `{HEX}` after `\u`: the char and the number of chars consumed, or the
/// number of chars to skip on error.
fn unicode_escape(rest: &str) -> Result<(char, usize), usize> {
    if !rest.starts_with('{') {
        return Err(0);
    }
    let Some(close) = rest.find('}') else {
        return Err(1);
    };
    let digits = &rest[1..close];
    let used = rest[..=close].chars().count();
    if close > 16 || digits.contains(['"', '\n']) {
        return Err(1);
    }
    if digits.is_empty() || digits.len() > 6 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(used);
    }
    let code = u32::from_str_radix(digits, 16).map_err(|_| used)?;
    char::from_u32(code).map(|c| (c, used)).ok_or(used)
}

/// Skip a block body whose `{` is already consumed, without recursion.
fn skip_balanced(i: In, mut depth: usize) -> In {
    let text = *i.fragment();
    let bytes = text.as_bytes();
    let mut pos = 0;
    while pos < bytes.len() {
        match bytes[pos] {
            b'#' => pos += crate::source::line_content_len(&text[pos..]),
            b'"' => {
                pos += 1;
                while pos < bytes.len()
                    && bytes[pos] != b'"'
                    && !crate::source::is_line_break(bytes[pos])
                {
                    pos += if bytes[pos] == b'\\' { 2 } else { 1 };
                }
                pos = (pos + 1).min(bytes.len());
            }
            b'{' => {
                depth += 1;
                pos += 1;
            }
            b'}' => {
                depth -= 1;
                pos += 1;
                if depth == 0 {
                    return i.take_from(pos);
                }
            }
            _ => pos += 1,
        }
    }
    i.take_from(text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(src: &str) -> Vec<String> {
        parse(src).errors.into_iter().map(|e| e.message).collect()
    }

    #[test]
    fn a_lone_cr_ends_a_comment() {
        let ast = parse("topology t {\r  version = \"4.2.0\" # patched\r  peak_load = 100rps\r}\r");
        assert!(ast.errors.is_empty(), "{:?}", ast.errors);
        let Item::Block(top) = &ast.items[0] else {
            panic!()
        };
        let names: Vec<_> = top.attributes().map(|a| a.key.name.clone()).collect();
        assert_eq!(names, ["version", "peak_load"]);
        assert_eq!(ast.comments[0].text, " patched");
    }

    #[test]
    fn an_error_at_the_end_of_a_line_never_covers_the_line_break() {
        for src in [
            "topology t {\r\n  version =\r\n}\r\n",
            "topology t {\r  version =\r}\r",
        ] {
            let errors = parse(src).errors;
            assert!(!errors.is_empty(), "{src:?}");
            for e in errors {
                assert!(
                    !src[e.span.clone()].contains(['\r', '\n']),
                    "{src:?}: {e:?}"
                );
            }
        }
    }

    #[test]
    fn parses_blocks_attributes_and_values() {
        let ast = parse(
            "# head\ntopology acme {\n  version = \"4.2.0\" # trailing\n  peak_load = 1000rps\n  allow = [\"HA004\", ]\n}\ndatacenter dc { cluster gw { nodes = 2 password = secret(\"x\") } }\n",
        );
        assert!(ast.errors.is_empty(), "{:?}", ast.errors);
        assert_eq!(ast.items.len(), 2);
        assert_eq!(ast.comments.len(), 2);
        assert_eq!(ast.comments[1].text, " trailing");
        let Item::Block(top) = &ast.items[0] else {
            panic!()
        };
        assert_eq!(top.kind.name, "topology");
        let attrs: Vec<_> = top.attributes().collect();
        assert_eq!(
            attrs[1].value.as_ref().unwrap().kind,
            ValueKind::Quantity {
                number: "1000".into(),
                unit: "rps".into()
            }
        );
        let Item::Block(dc) = &ast.items[1] else {
            panic!()
        };
        let gw = dc.blocks().next().unwrap();
        let attrs: Vec<_> = gw.attributes().collect();
        assert_eq!(attrs.len(), 2);
        assert!(matches!(
            attrs[1].value.as_ref().unwrap().kind,
            ValueKind::Call { .. }
        ));
    }

    #[test]
    fn string_escapes() {
        let ast = parse("a b { s = \"q\\\"\\\\\\n\\t\\u{1F600}\" }");
        assert!(ast.errors.is_empty(), "{:?}", ast.errors);
        let Item::Block(b) = &ast.items[0] else {
            panic!()
        };
        let attr = b.attributes().next().unwrap();
        assert_eq!(
            attr.value.as_ref().unwrap().kind,
            ValueKind::Str("q\"\\\n\t\u{1F600}".into())
        );
    }

    #[test]
    fn three_errors_three_reports_and_the_rest_of_the_tree() {
        let src = "topology t {\n  version = \n  peak_load = 10rps\n}\ndatacenter d {\n  role = @\n  cluster c {\n    nodes = [1, 2\n    ha = none\n  }\n}\nartifact_server a { url = \"x\" }\n";
        let ast = parse(src);
        assert_eq!(ast.errors.len(), 3, "{:#?}", ast.errors);
        assert_eq!(ast.items.len(), 3);
        let Item::Block(dc) = &ast.items[1] else {
            panic!()
        };
        let cluster = dc.blocks().next().expect("cluster kept");
        let names: Vec<_> = cluster.attributes().map(|a| a.key.name.as_str()).collect();
        assert_eq!(names, ["nodes", "ha"]);
        let Item::Block(top) = &ast.items[0] else {
            panic!()
        };
        assert_eq!(top.attributes().count(), 2);
    }

    #[test]
    fn unterminated_string_and_unclosed_block() {
        let errors = messages("topology t {\n  version = \"4.2\n");
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].contains("unterminated string"));
        assert!(errors[1].contains("never closed"));
    }

    #[test]
    fn stray_closing_brace_and_top_level_attribute() {
        let errors = messages("}\nx = 1\n");
        assert_eq!(errors.len(), 2, "{errors:?}");
    }

    #[test]
    fn unquoted_version_gets_a_hint() {
        let ast = parse("topology t { version = 4.2.0 }");
        assert_eq!(ast.errors.len(), 1);
        assert!(ast.errors[0].help.as_ref().unwrap().contains("\"4.2.0\""));
    }

    #[test]
    fn deep_nesting_is_refused_without_recursion() {
        let src = "a b {".repeat(100_000) + &"}".repeat(100_000);
        let ast = parse(&src);
        assert!(!ast.errors.is_empty());
        let list = format!(
            "t x {{ v = {}{} }}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        assert!(!parse(&list).errors.is_empty());
    }

    #[test]
    fn error_count_is_bounded() {
        let src = "t x {\n".to_string() + &"a = @\n".repeat(10_000);
        let ast = parse(&src);
        assert!(ast.errors.len() <= MAX_ERRORS + 1);
    }

    #[test]
    fn uppercase_identifiers_are_reported() {
        let errors = messages("Topology t { }");
        assert_eq!(errors.len(), 1);
        assert!(errors[0].contains("lower-case"));
    }

    #[test]
    fn bad_escapes() {
        let errors = messages("t x { a = \"\\q\" b = \"\\u{110000}\" c = \"\\u{zz}\" }");
        assert_eq!(errors.len(), 3, "{errors:?}");
    }
}
