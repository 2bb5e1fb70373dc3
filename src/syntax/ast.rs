//! The syntax tree of one `.topo` file. Spans are byte ranges in the file;
//! the file id is attached when the tree is lowered.

use std::ops::Range;

/// A parsed file: its items, its comments (kept for the formatter and the
/// language server) and its syntax errors (E001).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ast {
    pub items: Vec<Item>,
    pub comments: Vec<Comment>,
    pub errors: Vec<SyntaxError>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Import(Import),
    Block(Block),
    Attribute(Attribute),
}

impl Item {
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
    pub path: Option<StringLit>,
    pub span: Range<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Range<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StringLit {
    /// The decoded value (escapes resolved).
    pub value: String,
    pub span: Range<usize>,
}

/// `KIND NAME { items }`
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    pub kind: Ident,
    pub name: Option<Ident>,
    pub items: Vec<Item>,
    /// From the kind to the closing brace (or to where parsing stopped).
    pub span: Range<usize>,
    /// Offset of `{`.
    pub open: usize,
    /// Offset of `}`; `None` when the block is not closed.
    pub close: Option<usize>,
}

impl Block {
    pub fn blocks(&self) -> impl Iterator<Item = &Block> {
        self.items.iter().filter_map(|item| match item {
            Item::Block(block) => Some(block),
            _ => None,
        })
    }

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
    pub key: Ident,
    /// `None` when the value could not be parsed (an E001 was recorded).
    pub value: Option<Value>,
    pub span: Range<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    pub kind: ValueKind,
    pub span: Range<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ValueKind {
    /// A bare identifier: an enumeration value, a reference, `true`/`false`.
    Ident(String),
    Str(String),
    /// A number as written (`42`, `0.5`).
    Number(String),
    /// A number glued to a unit (`1200rps`, `75%`, `3h`); the unit is not
    /// validated by the parser.
    Quantity {
        number: String,
        unit: String,
    },
    List(Vec<Value>),
    /// `name(args)`, e.g. `secret("apim-db-password")`.
    Call {
        name: Ident,
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

#[derive(Debug, Clone, PartialEq)]
pub struct Comment {
    /// The text after `#`, without the line break.
    pub text: String,
    /// From `#` to the end of the line (line break excluded).
    pub span: Range<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    pub message: String,
    pub help: Option<String>,
    pub span: Range<usize>,
    /// A second place worth showing (e.g. the `{` of an unclosed block).
    pub related: Option<(Range<usize>, String)>,
}
