//! The syntax tree of one `.topo` file. Spans are byte ranges in the file;
//! the file id is attached when the tree is lowered.

use std::ops::Range;

/// A parsed file: its items, its comments (kept for the formatter and the
/// language server) and its syntax errors (E001).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ast {
    /// The top-level items in source order.
    pub items: Vec<Item>,
    /// Every `#` comment of the file, in source order.
    pub comments: Vec<Comment>,
    /// The syntax errors met while parsing; the tree is still built around
    /// them.
    pub errors: Vec<SyntaxError>,
}

/// One entry of a file or of a block body.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// An `import "path.topo"` line.
    Import(Import),
    /// A `KIND NAME { ... }` block.
    Block(Block),
    /// A `key = value` line.
    Attribute(Attribute),
}

impl Item {
    /// The item's byte range in its file.
    pub fn span(&self) -> Range<usize> {
        match self {
            Item::Import(import) => import.span.clone(),
            Item::Block(block) => block.span.clone(),
            Item::Attribute(attribute) => attribute.span.clone(),
        }
    }
}

/// `import "path.topo"`
#[derive(Debug, Clone, PartialEq)]
pub struct Import {
    /// The imported path, as a string literal.
    pub path: Option<StringLit>,
    /// From `import` to the end of the path.
    pub span: Range<usize>,
}

/// A name as written: a block kind, a block name or an attribute key.
#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    /// The name's text.
    pub name: String,
    /// Byte range of the name.
    pub span: Range<usize>,
}

/// A quoted string literal.
#[derive(Debug, Clone, PartialEq)]
pub struct StringLit {
    /// The decoded value (escapes resolved).
    pub value: String,
    /// Byte range of the literal, quotes included.
    pub span: Range<usize>,
}

/// `KIND NAME { items }`
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    /// The block kind (`cluster`, `site`, ...).
    pub kind: Ident,
    /// The block name; `None` for unnamed blocks and when the name is missing.
    pub name: Option<Ident>,
    /// The attributes and nested blocks of the body, in source order.
    pub items: Vec<Item>,
    /// From the kind to the closing brace (or to where parsing stopped).
    pub span: Range<usize>,
    /// Offset of `{`.
    pub open: usize,
    /// Offset of `}`; `None` when the block is not closed.
    pub close: Option<usize>,
}

impl Block {
    /// The blocks directly inside this one, in source order.
    pub fn blocks(&self) -> impl Iterator<Item = &Block> {
        self.items.iter().filter_map(|item| match item {
            Item::Block(block) => Some(block),
            _ => None,
        })
    }

    /// The attributes directly inside this one, in source order.
    pub fn attributes(&self) -> impl Iterator<Item = &Attribute> {
        self.items.iter().filter_map(|item| match item {
            Item::Attribute(attribute) => Some(attribute),
            _ => None,
        })
    }

    /// The span of the block's header (`kind name`).
    pub fn header_span(&self) -> Range<usize> {
        let end = self
            .name
            .as_ref()
            .map(|n| n.span.end)
            .unwrap_or(self.kind.span.end);
        self.kind.span.start..end
    }
}

/// `key = value`
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    /// The attribute's name, left of `=`.
    pub key: Ident,
    /// `None` when the value could not be parsed (an E001 was recorded).
    pub value: Option<Value>,
    /// From the key to the end of the value.
    pub span: Range<usize>,
}

/// A parsed attribute value with its place in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    /// What the value is.
    pub kind: ValueKind,
    /// Byte range of the value as written.
    pub span: Range<usize>,
}

/// The shapes a value can take.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueKind {
    /// A bare identifier: an enumeration value, a reference, `true`/`false`.
    Ident(String),
    /// A quoted string, escapes resolved.
    Str(String),
    /// A number as written (`42`, `0.5`).
    Number(String),
    /// A number glued to a unit (`1200rps`, `75%`, `3h`); the unit is not
    /// validated by the parser.
    Quantity {
        /// The digits as written.
        number: String,
        /// The unit suffix as written (`rps`, `%`, `h`, ...).
        unit: String,
    },
    /// A bracketed list `[a, b, ...]`.
    List(Vec<Value>),
    /// `name(args)`, e.g. `secret("apim-db-password")`.
    Call {
        /// The function name.
        name: Ident,
        /// The arguments in order.
        args: Vec<Value>,
    },
}

impl ValueKind {
    /// A short description for messages: "a string", "a list", ...
    pub fn describe(&self) -> String {
        match self {
            ValueKind::Ident(name) => format!("the name `{name}`"),
            ValueKind::Str(_) => "a string".into(),
            ValueKind::Number(n) => format!("the number {n}"),
            ValueKind::Quantity { number, unit } => format!("the quantity {number}{unit}"),
            ValueKind::List(_) => "a list".into(),
            ValueKind::Call { name, .. } => format!("a call to `{}(...)`", name.name),
        }
    }
}

/// A `#` comment, kept so the formatter and the language server can place it.
#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    /// The text after `#`, without the line break.
    pub text: String,
    /// From `#` to the end of the line (line break excluded).
    pub span: Range<usize>,
}

/// A parse error (reported as E001).
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    /// What is wrong, as one sentence for the user.
    pub message: String,
    /// A hint on how to fix it, when the parser has one.
    pub help: Option<String>,
    /// Byte range the error points at.
    pub span: Range<usize>,
    /// A second place worth showing (e.g. the `{` of an unclosed block).
    pub related: Option<(Range<usize>, String)>,
}
