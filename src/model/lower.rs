//! Lowering: syntax trees to the typed [`Topology`], driven by the schema.
//!
//! Three passes: declare every block (kinds, placement, unique names), lower
//! each attribute against its schema type, then build the typed objects and
//! resolve references. Problems are diagnostics (E002-E006, SEC001); the
//! topology is always produced, with what could not be read left out.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::naming;
use super::schema::{self, AttrSchema, BlockKind, BlockSchema, Placement, Required, Type};
use super::topology::*;
use super::types::*;
use crate::diagnostics::Diagnostic;
use crate::lints::language::{E002, E003, E004, E005, E006, SEC001};
use crate::source::{FileId, Span};
use crate::syntax::{self, Ast, Item, ValueKind};

/// A value checked against its schema type.
#[derive(Debug, Clone, PartialEq)]
enum Lowered {
    Ident(String),
    Str(String),
    Int(u64),
    Number(f64),
    Bool(bool),
    Quantity(f64),
    Duration(Duration),
    Size(u64),
    Secret(String),
    Version(Version),
    Ref(String, Span),
    RefList(Vec<(String, Span)>),
    StringList(Vec<String>),
    CodeList(Vec<(String, Span)>),
    Manager(Manager),
}

/// One attribute after type checking.
#[derive(Debug, Clone)]
struct LoweredAttr {
    value: Lowered,
    /// `key = value`
    span: Span,
}

/// One declared block awaiting lowering.
struct Declared<'a> {
    kind: BlockKind,
    block: &'a syntax::Block,
    file: FileId,
    name: String,
    header: Span,
    /// The datacenter it sits in.
    parent: Option<usize>,
    attrs: BTreeMap<&'static str, LoweredAttr>,
}

impl Declared<'_> {
    fn get(&self, name: &str) -> Option<&LoweredAttr> {
        self.attrs.get(name)
    }

    /// Where `key = value` is written, if it is.
    fn span_of(&self, name: &str) -> Option<Span> {
        self.get(name).map(|a| a.span)
    }

    fn string(&self, name: &str) -> Option<String> {
        match self.get(name).map(|a| &a.value) {
            Some(Lowered::Str(s)) => Some(s.clone()),
            _ => None,
        }
    }

    fn spanned_string(&self, name: &str) -> Option<Spanned<String>> {
        match self.get(name) {
            Some(LoweredAttr {
                value: Lowered::Str(s),
                span,
            }) => Some(Spanned::new(s.clone(), *span)),
            _ => None,
        }
    }

    fn ident<T>(&self, name: &str, parse: impl Fn(&str) -> Option<T>) -> Option<Spanned<T>> {
        match self.get(name) {
            Some(LoweredAttr {
                value: Lowered::Ident(text),
                span,
            }) => parse(text).map(|v| Spanned::new(v, *span)),
            _ => None,
        }
    }

    fn quantity(&self, name: &str) -> Option<Spanned<f64>> {
        match self.get(name) {
            Some(LoweredAttr {
                value: Lowered::Quantity(q) | Lowered::Number(q),
                span,
            }) => Some(Spanned::new(*q, *span)),
            _ => None,
        }
    }

    fn duration(&self, name: &str) -> Option<Spanned<Duration>> {
        match self.get(name) {
            Some(LoweredAttr {
                value: Lowered::Duration(d),
                span,
            }) => Some(Spanned::new(*d, *span)),
            _ => None,
        }
    }

    fn int(&self, name: &str) -> Option<Spanned<u64>> {
        match self.get(name) {
            Some(LoweredAttr {
                value: Lowered::Int(n),
                span,
            }) => Some(Spanned::new(*n, *span)),
            _ => None,
        }
    }

    fn bool(&self, name: &str) -> Option<Spanned<bool>> {
        match self.get(name) {
            Some(LoweredAttr {
                value: Lowered::Bool(b),
                span,
            }) => Some(Spanned::new(*b, *span)),
            _ => None,
        }
    }

    fn version(&self, name: &str) -> Option<Spanned<Version>> {
        match self.get(name) {
            Some(LoweredAttr {
                value: Lowered::Version(v),
                span,
            }) => Some(Spanned::new(v.clone(), *span)),
            _ => None,
        }
    }

    fn secret(&self, name: &str) -> Option<SecretRef> {
        match self.get(name) {
            Some(LoweredAttr {
                value: Lowered::Secret(s),
                span,
            }) => Some(SecretRef {
                name: s.clone(),
                span: Some(*span),
            }),
            _ => None,
        }
    }

    fn codes(&self, name: &str) -> Vec<Spanned<String>> {
        match self.get(name).map(|a| &a.value) {
            Some(Lowered::CodeList(codes)) => codes
                .iter()
                .map(|(c, s)| Spanned::new(c.clone(), *s))
                .collect(),
            _ => Vec::new(),
        }
    }

    fn describe(&self) -> String {
        format!("{} `{}`", self.kind.keyword(), self.name)
    }
}

fn default_secret(name: &str) -> SecretRef {
    SecretRef {
        name: name.to_string(),
        span: None,
    }
}

/// Lower parsed files (in load order) into one topology.
pub fn lower(files: &[(FileId, &Ast)], diagnostics: &mut Vec<Diagnostic>) -> Topology {
    let mut lowerer = Lowerer {
        diagnostics,
        names: BTreeMap::new(),
    };
    let mut declared = Vec::new();
    for (file, ast) in files {
        lowerer.declare_items(*file, &ast.items, None, &mut declared);
    }
    for decl in &mut declared {
        lowerer.lower_attributes(decl);
    }
    let first_file = files.first().map(|(f, _)| *f).unwrap_or_default();
    lowerer.build(&declared, first_file)
}

struct Lowerer<'d> {
    diagnostics: &'d mut Vec<Diagnostic>,
    /// Per kind: name -> (index among blocks of that kind, header span).
    names: BTreeMap<BlockKind, BTreeMap<String, (usize, Span)>>,
}

impl Lowerer<'_> {
    fn report(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    // ---------------------------------------------------------- pass 1

    fn declare_items<'a>(
        &mut self,
        file: FileId,
        items: &'a [Item],
        parent: Option<(&'a syntax::Block, BlockKind, Option<usize>)>,
        out: &mut Vec<Declared<'a>>,
    ) {
        for item in items {
            let Item::Block(block) = item else { continue };
            let span = |r: &std::ops::Range<usize>| Span::new(file, r.start, r.end);
            let kind_span = span(&block.kind.span);
            let Some(kind) = BlockKind::from_keyword(&block.kind.name) else {
                let allowed: Vec<&str> = match parent {
                    None => schema::BLOCKS
                        .iter()
                        .filter(|b| b.placement == Placement::TopLevel)
                        .map(|b| b.kind.keyword())
                        .collect(),
                    Some((_, BlockKind::Datacenter, _)) => BlockKind::Datacenter
                        .schema()
                        .children()
                        .iter()
                        .map(|k| k.keyword())
                        .collect(),
                    Some(_) => Vec::new(),
                };
                let all = BlockKind::ALL.map(|k| k.keyword());
                let mut d = Diagnostic::new(
                    &E002,
                    kind_span,
                    format!("unknown block kind `{}`", block.kind.name),
                )
                .label("unknown block kind");
                d = match schema::did_you_mean(&block.kind.name, all) {
                    Some(near) => d.help(format!("did you mean `{near}`?")),
                    None if !allowed.is_empty() => {
                        d.help(format!("blocks here are: {}", allowed.join(", ")))
                    }
                    None => d,
                };
                self.report(d);
                continue;
            };
            let block_schema = kind.schema();
            let placement_ok = matches!(
                (block_schema.placement, parent),
                (Placement::TopLevel, None)
                    | (Placement::InDatacenter, Some((_, BlockKind::Datacenter, _)))
            );
            if !placement_ok {
                let (message, help) = match (block_schema.placement, parent) {
                    (Placement::InDatacenter, None) => (
                        format!("a `{}` block at the top level", kind.keyword()),
                        format!("`{}` blocks go inside a `datacenter` block", kind.keyword()),
                    ),
                    (Placement::InDatacenter, Some((_, pkind, _))) => (
                        format!(
                            "a `{}` block inside a `{}`",
                            kind.keyword(),
                            pkind.keyword()
                        ),
                        format!(
                            "`{}` blocks go directly inside a `datacenter` block",
                            kind.keyword()
                        ),
                    ),
                    (Placement::TopLevel, Some((_, pkind, _))) => (
                        format!(
                            "a `{}` block inside a `{}`",
                            kind.keyword(),
                            pkind.keyword()
                        ),
                        format!("`{}` blocks go at the top level of a file", kind.keyword()),
                    ),
                    (Placement::TopLevel, None) => unreachable!("placement checked above"),
                };
                self.report(
                    Diagnostic::new(&E002, kind_span, message)
                        .label("misplaced block")
                        .help(help),
                );
                continue;
            }
            let Some(name) = &block.name else {
                continue; // E001 already reported by the parser
            };
            let header = span(&block.header_span());
            let table = self.names.entry(kind).or_default();
            let index = table.len();
            if let Some((_, first)) = table.get(&name.name) {
                let first = *first;
                let message = if kind == BlockKind::Topology {
                    "a second `topology` block: a topology has exactly one".to_string()
                } else {
                    format!("duplicate {} name `{}`", kind.noun(), name.name)
                };
                self.report(
                    Diagnostic::new(&E006, span(&name.span), message)
                        .label("declared again here")
                        .related(first, "first declared here")
                        .help(format!(
                            "names are unique per kind across the whole topology; rename one of the {}s",
                            kind.noun()
                        )),
                );
                continue;
            }
            if kind == BlockKind::Topology && !table.is_empty() {
                let first = table.values().next().map(|(_, s)| *s).unwrap_or(header);
                self.report(
                    Diagnostic::new(
                        &E006,
                        span(&name.span),
                        "a second `topology` block: a topology has exactly one",
                    )
                    .label("second topology block")
                    .related(first, "the topology is declared here")
                    .help("merge the two blocks, or check the files separately"),
                );
                continue;
            }
            table.insert(name.name.clone(), (index, header));
            let parent_dc = match parent {
                Some((_, BlockKind::Datacenter, dc_index)) => dc_index,
                _ => None,
            };
            out.push(Declared {
                kind,
                block,
                file,
                name: name.name.clone(),
                header,
                parent: parent_dc,
                attrs: BTreeMap::new(),
            });
            // Nested blocks (only datacenters may have them).
            let own_index = if kind == BlockKind::Datacenter {
                Some(index)
            } else {
                None
            };
            self.declare_items(file, &block.items, Some((block, kind, own_index)), out);
        }
    }

    // ---------------------------------------------------------- pass 2

    fn lower_attributes(&mut self, decl: &mut Declared) {
        let block_schema: &BlockSchema = decl.kind.schema();
        let file = decl.file;
        let mut seen: BTreeMap<&str, Span> = BTreeMap::new();
        // Attributes a misspelling was taken for: "missing" would repeat it.
        let mut suggested: Vec<&str> = Vec::new();
        for attribute in decl.block.attributes() {
            let key = &attribute.key.name;
            let attr_span = Span::new(file, attribute.span.start, attribute.span.end);
            let key_span = Span::new(file, attribute.key.span.start, attribute.key.span.end);
            let Some(attr_schema) = block_schema.attr(key) else {
                let mut d = Diagnostic::new(
                    &E002,
                    key_span,
                    format!("unknown attribute `{key}` in {}", decl.describe()),
                )
                .label("unknown attribute");
                d = match schema::did_you_mean(key, block_schema.attrs.iter().map(|a| a.name)) {
                    Some(near) => {
                        suggested.push(near);
                        d.help(format!("did you mean `{near}`?"))
                    }
                    None => d.help(format!(
                        "`{}` blocks take: {}",
                        decl.kind.keyword(),
                        block_schema
                            .attrs
                            .iter()
                            .map(|a| a.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                };
                self.report(d);
                if let Some(value) = &attribute.value
                    && matches!(value.kind, ValueKind::Str(_))
                    && looks_secret(key)
                {
                    self.report(plain_secret(
                        key,
                        Span::new(file, value.span.start, value.span.end),
                    ));
                }
                continue;
            };
            if let Some(first) = seen.get(attr_schema.name) {
                self.report(
                    Diagnostic::new(
                        &E006,
                        key_span,
                        format!("`{key}` is given twice in {}", decl.describe()),
                    )
                    .label("given again here")
                    .related(*first, "first given here")
                    .help("keep one of them"),
                );
                continue;
            }
            seen.insert(attr_schema.name, attr_span);
            let Some(value) = &attribute.value else {
                continue; // E001 already reported
            };
            if let Some(lowered) = self.lower_value(attr_schema, value, file, decl) {
                decl.attrs.insert(
                    attr_schema.name,
                    LoweredAttr {
                        value: lowered,
                        span: attr_span,
                    },
                );
            }
        }
        // Unconditionally required attributes.
        for attr in block_schema.attrs {
            if attr.required == Required::Yes
                && !seen.contains_key(attr.name)
                && !suggested.contains(&attr.name)
            {
                self.missing(decl, attr, None);
            }
        }
    }

    fn missing(&mut self, decl: &Declared, attr: &AttrSchema, why: Option<&str>) {
        let example = example_value(attr);
        let message = match why {
            Some(why) => format!("{} has no `{}` ({why})", decl.describe(), attr.name),
            None => format!("{} has no `{}`", decl.describe(), attr.name),
        };
        self.report(
            Diagnostic::new(&E004, decl.header, message)
                .label(format!("`{}` is required", attr.name))
                .help(format!(
                    "add `{} = {example}`: {}",
                    attr.name,
                    attr.ty.describe()
                )),
        );
    }

    fn lower_value(
        &mut self,
        attr: &AttrSchema,
        value: &syntax::Value,
        file: FileId,
        decl: &Declared,
    ) -> Option<Lowered> {
        let span = Span::new(file, value.span.start, value.span.end);
        let name = attr.name;
        let wrong = |found: &str| wrong_type(attr, span, found);
        if self.credentials_in_url(name, value, span) {
            return None;
        }
        if let (Some(form), ValueKind::Str(text)) = (string_form(&attr.ty), &value.kind) {
            return self.formed_string(form, name, text, span);
        }
        match (&attr.ty, &value.kind) {
            (Type::Enum(values), ValueKind::Ident(text)) => {
                self.enum_value(name, values, text, span)
            }
            (Type::Enum(values), ValueKind::Str(text)) if values.iter().any(|v| v.name == text) => {
                self.report(
                    wrong("a string").help(format!("write `{name} = {text}` without quotes")),
                );
                None
            }
            (Type::String, ValueKind::Str(text)) => Some(Lowered::Str(text.clone())),
            (Type::Host, ValueKind::Str(text)) => {
                if valid_host(text) {
                    Some(Lowered::Str(text.clone()))
                } else {
                    self.report(bad_host(name, span));
                    None
                }
            }
            (Type::Host, ValueKind::Ident(text)) => {
                self.report(
                    wrong(&value.kind.describe()).help(format!("quote it: `{name} = \"{text}\"`")),
                );
                None
            }
            (Type::HostList, ValueKind::List(items)) => self.host_list(name, items, file),
            (Type::String, ValueKind::Ident(text)) => {
                self.report(
                    wrong(&value.kind.describe()).help(format!("quote it: `{name} = \"{text}\"`")),
                );
                None
            }
            (Type::Int { min, max }, ValueKind::Number(text)) => {
                self.whole_number(attr, text, (*min, *max), span)
            }
            (Type::Number, ValueKind::Number(text)) => self.positive_number(name, text, span),
            (Type::Bool, ValueKind::Ident(text)) if text == "true" || text == "false" => {
                Some(Lowered::Bool(text == "true"))
            }
            (
                Type::Rps | Type::Percent | Type::Factor | Type::Duration | Type::Size,
                ValueKind::Quantity { number, unit },
            ) => self.lower_quantity(attr, number, unit, span),
            (
                Type::Rps | Type::Percent | Type::Factor | Type::Duration | Type::Size,
                ValueKind::Number(text),
            ) => {
                let unit = match attr.ty {
                    Type::Rps => "rps",
                    Type::Percent | Type::Factor => "%",
                    Type::Duration => "s",
                    _ => "MiB",
                };
                self.report(
                    wrong(&format!("the plain number {text}"))
                        .help(format!("give the unit: `{name} = {text}{unit}`")),
                );
                None
            }
            (Type::Secret, ValueKind::Call { name: func, args }) if func.name == "secret" => {
                self.secret_call(args, file, span)
            }
            (Type::Secret, ValueKind::Str(_)) => {
                self.report(plain_secret(name, span));
                None
            }
            (_, ValueKind::Call { name: func, .. }) if func.name != "secret" => {
                self.report(
                    Diagnostic::new(&E003, span, format!("unknown function `{}`", func.name))
                        .label("unknown function")
                        .help("the only function is secret(\"name\"), for passwords"),
                );
                None
            }
            (Type::Version, ValueKind::Str(text)) => self.version(text, span),
            (Type::Version, ValueKind::Number(text)) => {
                self.report(
                    wrong(&format!("the number {text}"))
                        .help(format!("versions are strings: write \"{text}.0\"")),
                );
                None
            }
            (Type::Ref(_), ValueKind::Ident(text)) => Some(Lowered::Ref(text.clone(), span)),
            (Type::Ref(_), ValueKind::Str(text)) => {
                self.report(wrong("a string").help(format!(
                    "references are bare names: write `{name} = {text}`"
                )));
                None
            }
            (Type::RefList(_), ValueKind::List(items)) => self.ref_list(name, items, file),
            (Type::RefList(_), ValueKind::Ident(text)) => {
                self.report(
                    wrong(&value.kind.describe())
                        .help(format!("write a list: `{name} = [{text}]`")),
                );
                None
            }
            (Type::StringList, ValueKind::List(items)) => self.string_list(name, items, file),
            (Type::CodeList, ValueKind::List(items)) => self.code_list(name, items, file),
            (Type::Manager, ValueKind::Ident(text)) if text == "passive" => {
                Some(Lowered::Manager(Manager::Passive))
            }
            (Type::Manager, ValueKind::Number(text)) => match text.parse::<u32>() {
                Ok(n) if n >= 1 => Some(Lowered::Manager(Manager::Nodes(vec![n]))),
                _ => {
                    self.report(
                        wrong(&format!("the number {text}")).help("nodes are numbered from 1"),
                    );
                    None
                }
            },
            (Type::Manager, ValueKind::List(items)) => self.manager_nodes(items, file),
            (_, other) => {
                let _ = decl;
                self.report(wrong(&other.describe()));
                None
            }
        }
    }

    /// Credentials in a URL are a secret in plain text, whatever the
    /// attribute: nothing of them may reach an artifact (SEC001).
    fn credentials_in_url(&mut self, name: &str, value: &syntax::Value, span: Span) -> bool {
        let strings: Vec<&str> = match &value.kind {
            ValueKind::Str(text) => vec![text.as_str()],
            ValueKind::List(items) => items
                .iter()
                .filter_map(|item| match &item.kind {
                    ValueKind::Str(text) => Some(text.as_str()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        if let Some(found) = strings.iter().find_map(|text| url_credentials(text)) {
            self.report(
                Diagnostic::new(&SEC001, span, format!("`{name}` carries credentials in a URL: {found}"))
                    .label("credentials in plain text")
                    .help("take the credentials out of the URL and give them as a secret (an artifact server takes `credentials = secret(\"...\")`), then rotate the ones that were committed"),
            );
            return true;
        }
        false
    }

    /// A list of host names.
    fn host_list(&mut self, name: &str, items: &[syntax::Value], file: FileId) -> Option<Lowered> {
        let mut out = Vec::new();
        for item in items {
            let item_span = Span::new(file, item.span.start, item.span.end);
            match &item.kind {
                ValueKind::Str(text) if valid_host(text) => out.push(text.clone()),
                ValueKind::Str(_) => {
                    self.report(bad_host(name, item_span));
                    return None;
                }
                other => {
                    self.report(
                        Diagnostic::new(
                            &E003,
                            item_span,
                            format!("`{name}` lists host names, found {}", other.describe()),
                        )
                        .label("not a host name")
                        .help("quote each host: [\"apim-1.example.com\", \"apim-2.example.com\"]"),
                    );
                    return None;
                }
            }
        }
        Some(Lowered::StringList(out))
    }

    /// A whole number within its range.
    fn whole_number(
        &mut self,
        attr: &AttrSchema,
        text: &str,
        (min, max): (u64, u64),
        span: Span,
    ) -> Option<Lowered> {
        let name = attr.name;
        if text.contains('.') {
            self.report(
                wrong_type(attr, span, &format!("the fraction {text}"))
                    .help("write a whole number"),
            );
            return None;
        }
        match text.parse::<u64>() {
            Ok(n) if n >= min && n <= max => Some(Lowered::Int(n)),
            _ => {
                self.report(
                    Diagnostic::new(&E003, span, format!("`{name}` = {text} is out of range"))
                        .label("out of range")
                        .help(format!("`{name}` takes a whole number from {min} to {max}")),
                );
                None
            }
        }
    }

    /// `secret("name")`: one string, a valid secret name.
    fn secret_call(&mut self, args: &[syntax::Value], file: FileId, span: Span) -> Option<Lowered> {
        match args {
            [
                syntax::Value {
                    kind: ValueKind::Str(secret),
                    span: arg_span,
                },
            ] => {
                if valid_secret_name(secret) {
                    Some(Lowered::Secret(secret.clone()))
                } else {
                    self.report(
                        Diagnostic::new(
                            &E003,
                            Span::new(file, arg_span.start, arg_span.end),
                            "invalid secret name",
                        )
                        .label("not a valid secret name")
                        .help("secret names are 1 to 63 characters of a-z, 0-9, `-`, `.` and `_`, starting with a letter or digit, e.g. secret(\"apim-db-password\")"),
                    );
                    None
                }
            }
            _ => {
                self.report(
                    Diagnostic::new(
                        &E003,
                        span,
                        "`secret(...)` takes one string: the secret's name",
                    )
                    .label("wrong arguments")
                    .help("write secret(\"apim-db-password\")"),
                );
                None
            }
        }
    }

    /// A list of names, each listed once.
    fn ref_list(&mut self, name: &str, items: &[syntax::Value], file: FileId) -> Option<Lowered> {
        let mut names: Vec<(String, Span)> = Vec::new();
        let mut ok = true;
        for item in items {
            let item_span = Span::new(file, item.span.start, item.span.end);
            match &item.kind {
                ValueKind::Ident(text) => {
                    if let Some((_, first)) = names.iter().find(|(n, _)| n == text) {
                        self.report(
                            Diagnostic::new(
                                &E006,
                                item_span,
                                format!("`{text}` is listed twice in `{name}`"),
                            )
                            .label("listed again")
                            .related(*first, "first listed here")
                            .help("list each name once"),
                        );
                    } else {
                        names.push((text.clone(), item_span));
                    }
                }
                other => {
                    ok = false;
                    self.report(
                        Diagnostic::new(
                            &E003,
                            item_span,
                            format!("`{name}` lists names, found {}", other.describe()),
                        )
                        .label("not a name")
                        .help("write bare names: [apim_db, shared_db]"),
                    );
                }
            }
        }
        ok.then_some(Lowered::RefList(names))
    }

    /// A list of strings.
    fn string_list(
        &mut self,
        name: &str,
        items: &[syntax::Value],
        file: FileId,
    ) -> Option<Lowered> {
        let mut out = Vec::new();
        for item in items {
            match &item.kind {
                ValueKind::Str(text) => out.push(text.clone()),
                other => {
                    self.report(
                        Diagnostic::new(
                            &E003,
                            Span::new(file, item.span.start, item.span.end),
                            format!("`{name}` lists strings, found {}", other.describe()),
                        )
                        .label("not a string")
                        .help("quote each item: [\"host-a.example.com\", \"host-b.example.com\"]"),
                    );
                    return None;
                }
            }
        }
        Some(Lowered::StringList(out))
    }

    /// A list of diagnostic codes: known ones, and for `allow` allowable ones.
    fn code_list(&mut self, name: &str, items: &[syntax::Value], file: FileId) -> Option<Lowered> {
        let mut out = Vec::new();
        for item in items {
            let item_span = Span::new(file, item.span.start, item.span.end);
            let ValueKind::Str(code) = &item.kind else {
                self.report(
                    Diagnostic::new(
                        &E003,
                        item_span,
                        format!(
                            "`{name}` lists diagnostic codes as strings, found {}",
                            item.kind.describe()
                        ),
                    )
                    .label("not a code")
                    .help("write codes as strings: [\"HA004\"]"),
                );
                return None;
            };
            match crate::lints::find(code) {
                None => {
                    let codes = crate::lints::all().iter().map(|l| l.code);
                    let mut d = Diagnostic::new(
                        &E003,
                        item_span,
                        format!("unknown diagnostic code `{code}`"),
                    )
                    .label("unknown code");
                    d = match schema::did_you_mean(code, codes) {
                        Some(near) => d.help(format!(
                            "did you mean `{near}`? `topoc explain` lists the codes"
                        )),
                        None => d.help("`topoc explain` lists the codes"),
                    };
                    self.report(d);
                }
                Some(lint) if name == "allow" && !lint.allowable() => {
                    self.report(
                        Diagnostic::new(
                            &E003,
                            item_span,
                            format!("`{}` cannot be allowed", lint.code),
                        )
                        .label("not allowable")
                        .help("language errors and plain-text secrets must be fixed, not silenced"),
                    );
                }
                Some(lint) => out.push((lint.code.to_string(), item_span)),
            }
        }
        Some(Lowered::CodeList(out))
    }

    /// `manager = [1]`: node numbers from 1.
    fn manager_nodes(&mut self, items: &[syntax::Value], file: FileId) -> Option<Lowered> {
        let mut nodes = Vec::new();
        for item in items {
            match &item.kind {
                ValueKind::Number(text) if text.parse::<u32>().is_ok_and(|n| n >= 1) => {
                    nodes.push(text.parse::<u32>().unwrap_or(1))
                }
                other => {
                    self.report(
                        Diagnostic::new(
                            &E003,
                            Span::new(file, item.span.start, item.span.end),
                            format!("`manager` names node numbers, found {}", other.describe()),
                        )
                        .label("not a node number")
                        .help("write `manager = passive` or one node number such as `manager = 1`"),
                    );
                    return None;
                }
            }
        }
        Some(Lowered::Manager(Manager::Nodes(nodes)))
    }

    /// One of an attribute's allowed values (the nearest one suggested).
    fn enum_value(
        &mut self,
        name: &str,
        values: &[schema::EnumValue],
        text: &str,
        span: Span,
    ) -> Option<Lowered> {
        if values.iter().any(|v| v.name == text) {
            return Some(Lowered::Ident(text.to_string()));
        }
        let allowed = values.iter().map(|v| v.name).collect::<Vec<_>>();
        let mut d = Diagnostic::new(&E003, span, format!("`{text}` is not a valid `{name}`"))
            .label("not an allowed value");
        d = match schema::did_you_mean(text, allowed.iter().copied()) {
            Some(near) => d.help(format!(
                "did you mean `{near}`? allowed: {}",
                allowed.join(", ")
            )),
            None => d.help(format!("allowed values: {}", allowed.join(", "))),
        };
        self.report(d);
        None
    }

    /// A dotted version such as "4.2.0".
    fn version(&mut self, text: &str, span: Span) -> Option<Lowered> {
        if let Some(v) = Version::parse(text) {
            return Some(Lowered::Version(v));
        }
        self.report(
            Diagnostic::new(&E003, span, format!("`{text}` is not a version"))
                .label("not a version")
                .help("write a dotted version such as \"4.2.0\" (one to four numbers)"),
        );
        None
    }

    /// A number above 0 (cores, say).
    fn positive_number(&mut self, name: &str, text: &str, span: Span) -> Option<Lowered> {
        match parse_number(text) {
            Some(n) if n > 0.0 => Some(Lowered::Number(n)),
            _ => {
                self.report(
                    Diagnostic::new(&E003, span, format!("`{name}` = {text} is out of range"))
                        .label("out of range")
                        .help("write a positive number such as 2 or 0.5"),
                );
                None
            }
        }
    }

    /// A string of a checked form, or the error that says what it must be.
    fn formed_string(
        &mut self,
        form: StringForm,
        name: &str,
        text: &str,
        span: Span,
    ) -> Option<Lowered> {
        if (form.valid)(text) {
            return Some(Lowered::Str(text.to_string()));
        }
        self.report(
            Diagnostic::new(&E003, span, format!("`{name}` is not {}", form.what))
                .label(form.label)
                .help(form.help),
        );
        None
    }

    fn lower_quantity(
        &mut self,
        attr: &AttrSchema,
        number: &str,
        unit_text: &str,
        span: Span,
    ) -> Option<Lowered> {
        let name = attr.name;
        let Some(unit) = Unit::parse(unit_text) else {
            self.report(
                Diagnostic::new(
                    &E003,
                    span,
                    format!("unknown unit `{unit_text}` in `{number}{unit_text}`"),
                )
                .label("unknown unit")
                .help(unit_hint(unit_text)),
            );
            return None;
        };
        let expected_ok = match attr.ty {
            Type::Rps => unit == Unit::Rps,
            Type::Percent | Type::Factor => unit == Unit::Percent,
            Type::Duration => unit.millis().is_some(),
            Type::Size => unit.bytes().is_some(),
            _ => false,
        };
        if !expected_ok {
            self.report(
                Diagnostic::new(
                    &E003,
                    span,
                    format!(
                        "`{name}` takes {}, found {} ({number}{unit_text})",
                        attr.ty.describe(),
                        unit.class()
                    ),
                )
                .label("wrong unit")
                .help(format!("`{name}` is {}", attr.ty.describe())),
            );
            return None;
        }
        let out_of_range = |this: &mut Self, help: &str| {
            this.report(
                Diagnostic::new(
                    &E003,
                    span,
                    format!("`{name}` = {number}{unit_text} is out of range"),
                )
                .label("out of range")
                .help(help.to_string()),
            );
            None
        };
        let Some(value) = parse_number(number) else {
            return out_of_range(self, "the number is too large");
        };
        match attr.ty {
            Type::Rps if value > 0.0 && value <= 1e12 => Some(Lowered::Quantity(value)),
            Type::Rps => out_of_range(self, "a rate is above 0rps"),
            Type::Percent if value > 0.0 && value <= 100.0 => {
                Some(Lowered::Quantity(value / 100.0))
            }
            Type::Percent => out_of_range(self, "a percentage is above 0% and at most 100%"),
            Type::Factor if (100.0..=1000.0).contains(&value) => {
                Some(Lowered::Quantity(value / 100.0))
            }
            Type::Factor => out_of_range(self, "a factor is from 100% to 1000%"),
            Type::Duration => {
                let millis = value * unit.millis().unwrap_or(1) as f64;
                if millis.fract() != 0.0 || millis > 1e15 {
                    return out_of_range(
                        self,
                        "write a whole number of milliseconds, at most 10000d",
                    );
                }
                Some(Lowered::Duration(Duration {
                    millis: millis as u64,
                }))
            }
            Type::Size => {
                let bytes = value * unit.bytes().unwrap_or(1) as f64;
                if bytes < 1.0 || bytes > (1u64 << 50) as f64 || bytes.fract() != 0.0 {
                    return out_of_range(self, "write a whole number of bytes, at most 1048576GiB");
                }
                Some(Lowered::Size(bytes as u64))
            }
            _ => None,
        }
    }

    // ---------------------------------------------------------- pass 3

    fn resolve(&mut self, decl: &Declared, attr: &str, kind: BlockKind) -> Option<Spanned<usize>> {
        let lowered = decl.get(attr)?;
        let Lowered::Ref(name, span) = &lowered.value else {
            return None;
        };
        self.lookup(name, *span, kind, attr)
            .map(|i| Spanned::new(i, lowered.span))
    }

    fn resolve_list(
        &mut self,
        decl: &Declared,
        attr: &str,
        kind: BlockKind,
    ) -> Option<Spanned<Vec<Spanned<usize>>>> {
        let lowered = decl.get(attr)?;
        let Lowered::RefList(names) = &lowered.value else {
            return None;
        };
        let mut out = Vec::new();
        for (name, span) in names {
            if let Some(index) = self.lookup(name, *span, kind, attr) {
                out.push(Spanned::new(index, *span));
            }
        }
        Some(Spanned::new(out, lowered.span))
    }

    fn lookup(&mut self, name: &str, span: Span, kind: BlockKind, attr: &str) -> Option<usize> {
        if let Some((index, _)) = self.names.get(&kind).and_then(|t| t.get(name)) {
            return Some(*index);
        }
        // The name exists, but as another kind?
        let other = self
            .names
            .iter()
            .find(|(_, table)| table.contains_key(name))
            .map(|(k, table)| (*k, table[name].1));
        let d = match other {
            Some((other_kind, other_span)) => Diagnostic::new(
                &E005,
                span,
                format!(
                    "`{name}` is a {}, but `{attr}` names a {}",
                    other_kind.noun(),
                    kind.noun()
                ),
            )
            .label(format!("not a {}", kind.noun()))
            .related(other_span, format!("`{name}` is declared here"))
            .help(format!("name a {} here", kind.noun())),
            None => {
                let mut d =
                    Diagnostic::new(&E005, span, format!("no {} named `{name}`", kind.noun()))
                        .label("unknown name");
                let candidates = self
                    .names
                    .get(&kind)
                    .map(|t| t.keys().map(String::as_str).collect::<Vec<_>>());
                if let Some(near) = candidates.and_then(|c| schema::did_you_mean(name, c)) {
                    d = d.help(format!("did you mean `{near}`?"));
                } else {
                    let known: Vec<String> = self
                        .names
                        .get(&kind)
                        .map(|t| t.keys().take(8).map(|k| format!("`{k}`")).collect())
                        .unwrap_or_default();
                    d = if known.is_empty() {
                        d.help(format!(
                            "declare a `{}` block named `{name}`",
                            kind.keyword()
                        ))
                    } else {
                        d.help(format!("known {}s: {}", kind.noun(), known.join(", ")))
                    };
                }
                d
            }
        };
        self.report(d);
        None
    }

    fn build(&mut self, declared: &[Declared], first_file: FileId) -> Topology {
        let of = |kind: BlockKind| declared.iter().filter(move |d| d.kind == kind);

        let mut topology = self.topology_block(of(BlockKind::Topology).next(), first_file);

        for d in of(BlockKind::ArtifactServer) {
            topology.artifact_servers.push(ArtifactServer {
                name: d.name.clone(),
                span: d.header,
                url: d.string("url"),
                poll: d
                    .duration("poll")
                    .map(|p| p.value)
                    .unwrap_or(Duration { millis: 60_000 }),
                credentials: d.secret("credentials"),
            });
        }

        for d in of(BlockKind::Datacenter) {
            let dc = self.lower_datacenter(d, topology.time_zone);
            topology.datacenters.push(dc);
        }

        for d in of(BlockKind::Datasource) {
            let dc = DcId(d.parent.unwrap_or(0));
            let id = DsId(topology.datasources.len());
            topology.datacenters[dc.0].datasources.push(id);
            let lowered = self.lower_datasource(d, dc);
            topology.datasources.push(lowered);
        }
        let users: Vec<Option<String>> = of(BlockKind::Datasource)
            .map(|d| d.string("user"))
            .collect();
        inherit_replica_settings(&mut topology, &users);

        for d in of(BlockKind::FileShare) {
            let dc = DcId(d.parent.unwrap_or(0));
            let id = FsId(topology.file_shares.len());
            topology.datacenters[dc.0].file_shares.push(id);
            let lowered = self.lower_file_share(d, dc);
            topology.file_shares.push(lowered);
        }

        // Clusters: create all first (references between clusters).
        for d in of(BlockKind::Cluster) {
            let dc = DcId(d.parent.unwrap_or(0));
            let id = ClusterId(topology.clusters.len());
            topology.datacenters[dc.0].clusters.push(id);
            let lowered = self.lower_cluster(d, dc);
            topology.clusters.push(lowered);
        }
        self.check_role_references(&topology);

        for d in of(BlockKind::LoadBalancer) {
            let dc = DcId(d.parent.unwrap_or(0));
            let id = LbId(topology.load_balancers.len());
            topology.datacenters[dc.0].load_balancers.push(id);
            let lowered = self.lower_load_balancer(d, dc);
            topology.load_balancers.push(lowered);
        }

        let before = self.diagnostics.len();
        self.check_generated_names(&topology);
        // Host names derive from the same labels: one report per clash.
        if self.diagnostics.len() == before {
            self.check_host_names(&topology);
        }

        for d in of(BlockKind::Upgrade) {
            let upgrade = self.lower_upgrade(d);
            topology.upgrades.push(upgrade);
        }
        topology
    }

    /// The `topology` block (reported missing when there is none), with
    /// empty lists of what the other blocks add.
    fn topology_block(&mut self, top: Option<&Declared>, first_file: FileId) -> Topology {
        if top.is_none() {
            self.report(
                Diagnostic::new(&E004, Span::new(first_file, 0, 0), "no `topology` block")
                    .label("a topology needs a `topology` block")
                    .help("add `topology NAME { product = wso2-apim  version = \"4.2.0\"  peak_load = 1000rps }`"),
            );
        }
        Topology {
            name: top.map(|t| t.name.clone()).unwrap_or_default(),
            span: top.map(|t| t.header).unwrap_or(Span::new(first_file, 0, 0)),
            product: Product::WsoApim,
            version: top.and_then(|t| t.version("version")),
            peak_load: top.and_then(|t| t.quantity("peak_load")),
            degraded_capacity: top.and_then(|t| t.quantity("degraded_capacity")).unwrap_or(
                Spanned::new(0.75, top.map(|t| t.header).unwrap_or_default()),
            ),
            registry: top
                .and_then(|t| t.string("registry"))
                .unwrap_or_else(|| "docker.wso2.com".to_string()),
            registry_given: top.and_then(|t| t.string("registry")).is_some(),
            update_level: top.and_then(|t| t.int("update_level")),
            registry_login: top.and_then(|t| t.secret("registry_login")),
            run_as_user: top
                .and_then(|t| t.int("run_as_user"))
                .map(|n| Spanned::new(n.value as u32, n.span)),
            run_as_group: top
                .and_then(|t| t.int("run_as_group"))
                .map(|n| Spanned::new(n.value as u32, n.span)),
            admin_password: top
                .and_then(|t| t.secret("admin_password"))
                .unwrap_or_else(|| default_secret("apim-admin-password")),
            keystore_password: top
                .and_then(|t| t.secret("keystore_password"))
                .unwrap_or_else(|| default_secret("apim-keystore-password")),
            keystore: top.and_then(|t| t.spanned_string("keystore")),
            keystore_alias: top
                .and_then(|t| t.string("keystore_alias"))
                .unwrap_or_else(|| "wso2carbon".to_string()),
            truststore: top.and_then(|t| t.spanned_string("truststore")),
            truststore_password: top
                .and_then(|t| t.secret("truststore_password"))
                .unwrap_or_else(|| default_secret("apim-truststore-password")),
            encryption_key: top
                .and_then(|t| t.secret("encryption_key"))
                .unwrap_or_else(|| default_secret("apim-encryption-key")),
            allow: top.map(|t| t.codes("allow")).unwrap_or_default(),
            deny: top.map(|t| t.codes("deny")).unwrap_or_default(),
            time_zone: top
                .and_then(|t| t.string("time_zone"))
                .and_then(|z| crate::traffic::time::UtcOffset::parse(&z))
                .unwrap_or_default(),
            traffic_safety: top
                .and_then(|t| t.quantity("traffic_safety"))
                .unwrap_or(Spanned::new(1.5, top.map(|t| t.header).unwrap_or_default())),
            datacenters: Vec::new(),
            datasources: Vec::new(),
            file_shares: Vec::new(),
            artifact_servers: Vec::new(),
            clusters: Vec::new(),
            load_balancers: Vec::new(),
            upgrades: Vec::new(),
        }
    }

    /// A `datacenter` block; its clusters, datasources, file shares and
    /// load balancers are added as their blocks are lowered.
    /// `zone` is the topology's time zone, the datacenter's unless it sets
    /// its own.
    fn lower_datacenter(
        &mut self,
        d: &Declared,
        zone: crate::traffic::time::UtcOffset,
    ) -> Datacenter {
        let role = d.ident("role", Role::from_name);
        let mut dc = Datacenter {
            name: d.name.clone(),
            span: d.header,
            role,
            region: d.string("region"),
            domain: d
                .string("domain")
                .unwrap_or_else(|| format!("{}.internal", d.name)),
            replicates: self
                .resolve(d, "replicates", BlockKind::Datacenter)
                .map(|s| Spanned::new(DcId(s.value), s.span)),
            artifact_source: self
                .resolve(d, "artifact_source", BlockKind::ArtifactServer)
                .map(|s| Spanned::new(ArtifactId(s.value), s.span)),
            standby: d.ident("standby", DcStandby::from_name),
            recovery_time: d.duration("recovery_time"),
            replication_lag: d
                .duration("replication_lag")
                .map(|l| l.value)
                .unwrap_or(Duration { millis: 10_000 }),
            time_zone: d
                .string("time_zone")
                .and_then(|z| crate::traffic::time::UtcOffset::parse(&z))
                .unwrap_or(zone),
            clusters: Vec::new(),
            datasources: Vec::new(),
            file_shares: Vec::new(),
            load_balancers: Vec::new(),
            rejected: Vec::new(),
        };
        dc.rejected = [
            ("replicates", dc.replicates.is_none()),
            ("artifact_source", dc.artifact_source.is_none()),
        ]
        .into_iter()
        .filter(|(attr, unresolved)| *unresolved && self.had_error_for(d, attr))
        .map(|(attr, _)| attr)
        .collect();
        dc
    }

    /// A `datasource` block of datacenter `dc`: what a replica does not say it
    /// takes from its primary later ([`inherit_replica_settings`]).
    fn lower_datasource(&mut self, d: &Declared, dc: DcId) -> Datasource {
        let replica_of = self
            .resolve(d, "replica_of", BlockKind::Datasource)
            .map(|s| Spanned::new(DsId(s.value), s.span));
        let has_replica = d.get("replica_of").is_some();
        if !has_replica {
            for attr in ["purpose", "engine", "database"] {
                if d.get(attr).is_none() && !self.had_error_for(d, attr) {
                    let schema = BlockKind::Datasource
                        .schema()
                        .attr(attr)
                        .expect("schema attribute");
                    self.missing(d, schema, Some("required unless `replica_of` is set"));
                }
            }
        }
        let access = d.ident("access", Access::from_name).unwrap_or(Spanned::new(
            if has_replica {
                Access::ReadOnly
            } else {
                Access::ReadWrite
            },
            d.header,
        ));
        let engine = d.ident("engine", Engine::from_name).map(|e| e.value);
        Datasource {
            name: d.name.clone(),
            span: d.header,
            datacenter: dc,
            purpose: d.ident("purpose", Purpose::from_name).map(|p| p.value),
            engine,
            host: d.string("host"),
            port: d.int("port").map(|p| p.value as u16).unwrap_or(0),
            database: d.string("database"),
            database_span: d.span_of("database"),
            user: String::new(),
            user_span: d.span_of("user"),
            password: d.secret("password").unwrap_or_else(|| SecretRef {
                name: String::new(),
                span: None,
            }),
            access,
            replica_of,
            driver: d.spanned_string("driver"),
            admin_user: d.string("admin_user").unwrap_or_else(|| {
                match engine {
                    Some(Engine::Postgres) => "postgres",
                    Some(Engine::Mssql) => "sa",
                    Some(Engine::Oracle) => "system",
                    _ => "root",
                }
                .to_string()
            }),
            admin_password: d.secret("admin_password").unwrap_or_else(|| {
                default_secret(&format!("{}-admin-password", d.name.replace('_', "-")))
            }),
            replication_user: d.string("replication_user").unwrap_or_default(),
            replication_password: d
                .secret("replication_password")
                .unwrap_or_else(|| default_secret("")),
        }
    }

    /// A `file_share` block of datacenter `dc` (NFS needs a server and a path).
    fn lower_file_share(&mut self, d: &Declared, dc: DcId) -> FileShare {
        let method = d.ident("method", ShareMethod::from_name);
        if method.as_ref().map(|m| m.value) == Some(ShareMethod::Nfs) {
            for attr in ["server", "path"] {
                if d.get(attr).is_none() && !self.had_error_for(d, attr) {
                    let schema = BlockKind::FileShare
                        .schema()
                        .attr(attr)
                        .expect("schema attribute");
                    self.missing(d, schema, Some("required for `method = nfs`"));
                }
            }
        }
        FileShare {
            name: d.name.clone(),
            span: d.header,
            datacenter: dc,
            method,
            server: d.string("server"),
            path: d.string("path"),
            interval: d
                .duration("interval")
                .map(|i| i.value)
                .unwrap_or(Duration { millis: 60_000 }),
            storage_class: d.string("storage_class"),
        }
    }

    /// A `cluster` block of datacenter `dc`: one host per node, an HA mode
    /// for more than one node.
    fn lower_cluster(&mut self, d: &Declared, dc: DcId) -> Cluster {
        let nodes = d.int("nodes").map(|n| Spanned::new(n.value as u32, n.span));
        let ha = d.ident("ha", HaMode::from_name);
        if ha.is_none()
            && nodes.as_ref().is_some_and(|n| n.value > 1)
            && !self.had_error_for(d, "ha")
        {
            let schema = BlockKind::Cluster
                .schema()
                .attr("ha")
                .expect("schema attribute");
            self.missing(
                d,
                schema,
                Some("a cluster of more than one node needs an HA mode"),
            );
        }
        let hosts = match d.get("hosts") {
            Some(LoweredAttr {
                value: Lowered::StringList(list),
                span,
            }) => Some(Spanned::new(list.clone(), *span)),
            _ => None,
        };
        if let (Some(hosts), Some(n)) = (&hosts, &nodes)
            && hosts.value.len() != n.value as usize
        {
            self.report(
                Diagnostic::new(
                    &E003,
                    hosts.span,
                    format!(
                        "`hosts` lists {} names for {} nodes in cluster `{}`",
                        hosts.value.len(),
                        n.value,
                        d.name
                    ),
                )
                .label("one host per node")
                .related(n.span, format!("{} nodes", n.value))
                .help("give exactly one host name per node, in node order"),
            );
        }
        let datasources = self
            .resolve_list(d, "datasources", BlockKind::Datasource)
            .map(|l| {
                l.value
                    .into_iter()
                    .map(|s| Spanned::new(DsId(s.value), s.span))
                    .collect()
            })
            .unwrap_or_default();
        let manager = match d.get("manager") {
            Some(LoweredAttr {
                value: Lowered::Manager(m),
                span,
            }) => Some(Spanned::new(m.clone(), *span)),
            _ => None,
        };
        Cluster {
            name: d.name.clone(),
            span: d.header,
            datacenter: dc,
            profile: d.ident("profile", Profile::from_name),
            nodes,
            ha,
            standby: d.ident("standby", ClusterStandby::from_name),
            node_capacity: d.quantity("node_capacity"),
            peak_load: d.quantity("peak_load"),
            manager,
            datasources,
            file_share: self
                .resolve(d, "file_share", BlockKind::FileShare)
                .map(|s| Spanned::new(FsId(s.value), s.span)),
            key_manager: self
                .resolve(d, "key_manager", BlockKind::Cluster)
                .map(|s| Spanned::new(ClusterId(s.value), s.span)),
            traffic_manager: self
                .resolve(d, "traffic_manager", BlockKind::Cluster)
                .map(|s| Spanned::new(ClusterId(s.value), s.span)),
            cpu: d.quantity("cpu"),
            memory: match d.get("memory") {
                Some(LoweredAttr {
                    value: Lowered::Size(bytes),
                    span,
                }) => Some(Spanned::new(*bytes, *span)),
                _ => None,
            },
            hosts,
            image: d.spanned_string("image"),
        }
    }

    /// A `load_balancer` block of datacenter `dc`.
    fn lower_load_balancer(&mut self, d: &Declared, dc: DcId) -> LoadBalancer {
        LoadBalancer {
            name: d.name.clone(),
            span: d.header,
            datacenter: dc,
            kind: LbKind::Nginx,
            hostname: d.string("hostname"),
            fronts: self
                .resolve_list(d, "fronts", BlockKind::Cluster)
                .map(|l| {
                    l.value
                        .into_iter()
                        .map(|s| Spanned::new(ClusterId(s.value), s.span))
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// An `upgrade` block.
    fn lower_upgrade(&mut self, d: &Declared) -> Upgrade {
        let clusters = self
            .resolve_list(d, "clusters", BlockKind::Cluster)
            .map(|l| {
                Spanned::new(
                    l.value
                        .into_iter()
                        .map(|s| Spanned::new(ClusterId(s.value), s.span))
                        .collect(),
                    l.span,
                )
            });
        Upgrade {
            name: d.name.clone(),
            span: d.header,
            kind: d.ident("kind", UpgradeKind::from_name),
            clusters,
            to_version: d.version("to_version"),
            restart: d.bool("restart"),
            read_only_window: d.duration("read_only_window"),
            token_sync: d.ident("token_sync", TokenSync::from_name),
            cutover: d.ident("cutover", Cutover::from_name),
            window: d.string("window"),
            window_span: d.spanned_string("window").map(|w| w.span),
            surge: d.bool("surge").map(|s| s.value).unwrap_or(true),
        }
    }

    /// Generated artifacts name objects after DNS labels of topology names
    /// (`control_plane` -> `control-plane`, node 2 -> `control-plane-2`).
    /// Two names that map to the same label would overwrite each other.
    fn check_generated_names(&mut self, t: &Topology) {
        let mut datacenters: HashMap<String, (String, Span)> = HashMap::new();
        for dc in &t.datacenters {
            let owner = format!("datacenter `{}`", dc.name);
            self.claim(
                &mut datacenters,
                naming::dns_label(&dc.name),
                owner,
                dc.span,
            );
        }
        let mut objects: HashMap<String, (String, Span)> = HashMap::new();
        for c in &t.clusters {
            let owner = format!("the temporary node of cluster `{}`", c.name);
            self.claim(&mut objects, naming::surge_name(&c.name), owner, c.span);
        }
        for c in &t.clusters {
            self.claim(
                &mut objects,
                naming::cluster_label(&c.name),
                format!("cluster `{}`", c.name),
                c.span,
            );
            for i in 1..=c.node_count() {
                let owner = format!("node {i} of cluster `{}`", c.name);
                self.claim(&mut objects, naming::node_name(&c.name, i), owner, c.span);
            }
        }
        for lb in &t.load_balancers {
            let label = naming::load_balancer_label(&lb.name);
            self.claim(
                &mut objects,
                label,
                format!("load balancer `{}`", lb.name),
                lb.span,
            );
        }
    }

    /// Every generated host name (node host names, given in `hosts` or
    /// derived as `<node>.<domain>`; the temporary node's; a cluster's
    /// address `<cluster>.<domain>`; `load-balancer.<domain>`) names one
    /// thing: two would be one Compose network alias, one Puppet certname,
    /// one DNS record. A disaster-recovery datacenter without clusters of
    /// its own runs copies of the primary's under its own domain.
    fn check_host_names(&mut self, t: &Topology) {
        /// What a host name names; its description is only written for a
        /// clash.
        #[derive(Clone, Copy, PartialEq)]
        enum What {
            Address(ClusterId),
            Node(ClusterId, u32),
            Surge(ClusterId),
            LoadBalancer,
        }
        #[derive(Clone, Copy)]
        struct Claim {
            what: What,
            dc: DcId,
            copy: bool,
            span: Span,
            /// Given in `hosts` (else derived from a domain).
            given: bool,
        }
        impl Claim {
            fn owner(&self, t: &Topology) -> String {
                let within = |c: ClusterId| {
                    let name = &t.cluster(c).name;
                    if self.copy {
                        format!(
                            "cluster `{name}` (copied into datacenter `{}`)",
                            t.dc(self.dc).name
                        )
                    } else {
                        format!("cluster `{name}`")
                    }
                };
                match self.what {
                    What::Address(c) => format!("the address of {}", within(c)),
                    What::Node(c, i) => format!("node {i} of {}", within(c)),
                    What::Surge(c) => format!("the temporary node of {}", within(c)),
                    What::LoadBalancer => format!(
                        "the load balancer host of datacenter `{}`",
                        t.dc(self.dc).name
                    ),
                }
            }
            fn same_owner(&self, other: &Claim) -> bool {
                self.what == other.what && self.dc == other.dc
            }
        }
        let mut seen: HashMap<String, Claim> = HashMap::new();
        // Derived names clash across datacenters that share a domain: one
        // report per pair of datacenters.
        let mut shared_domains: BTreeSet<(DcId, DcId)> = BTreeSet::new();
        let primary = t.primary();
        let mut wanted: Vec<(String, Claim)> = Vec::new();
        for dc_id in t.dc_ids() {
            let dc = t.dc(dc_id);
            if dc.role().is_none() || dc.domain.is_empty() {
                continue;
            }
            let copy = dc.mirrors_primary();
            let clusters = match (copy, primary) {
                (true, Some(p)) => &t.dc(p).clusters,
                _ => &dc.clusters,
            };
            let domain = dc.domain.to_ascii_lowercase();
            wanted.clear();
            for &cid in clusters {
                let c = t.cluster(cid);
                let claim = |what, span, given| Claim {
                    what,
                    dc: dc_id,
                    copy,
                    span,
                    given,
                };
                wanted.push((
                    naming::cluster_host(&c.name, &domain),
                    claim(What::Address(cid), c.span, false),
                ));
                for i in 1..=c.node_count() {
                    let given = (!copy)
                        .then_some(c.hosts.as_ref())
                        .flatten()
                        .and_then(|h| Some((h.value.get((i - 1) as usize)?, h.span)));
                    let (host, span) = match given {
                        Some((host, span)) => (host.to_ascii_lowercase(), span),
                        None => (naming::node_host(&c.name, i, &domain), c.span),
                    };
                    wanted.push((host, claim(What::Node(cid, i), span, given.is_some())));
                }
                wanted.push((
                    naming::surge_host(&c.name, &domain),
                    claim(What::Surge(cid), c.span, false),
                ));
            }
            if !dc.load_balancers.is_empty() {
                wanted.push((
                    naming::load_balancer_host(&domain),
                    Claim {
                        what: What::LoadBalancer,
                        dc: dc_id,
                        copy,
                        span: dc.span,
                        given: false,
                    },
                ));
            }
            for (host, claim) in wanted.drain(..) {
                let first = match seen.entry(host) {
                    std::collections::hash_map::Entry::Vacant(slot) => {
                        slot.insert(claim);
                        continue;
                    }
                    std::collections::hash_map::Entry::Occupied(slot) => {
                        (slot.key().clone(), *slot.get())
                    }
                };
                let (host, first) = first;
                if first.same_owner(&claim) {
                    continue;
                }
                let derived = !(claim.given || first.given) && claim.dc != first.dc;
                if derived && !shared_domains.insert((first.dc, claim.dc)) {
                    continue;
                }
                let help = if claim.given || first.given {
                    "give each node a host name of its own in `hosts`: node, cluster and temporary-node names of a datacenter are taken (`<name>.<domain>`)".to_string()
                } else {
                    "give the datacenters different `domain`s, or rename one of the clusters"
                        .to_string()
                };
                let (owner, first_owner) = (claim.owner(t), first.owner(t));
                let d = Diagnostic::new(
                    &E006,
                    claim.span,
                    format!("{owner} and {first_owner} would both be the host `{host}`"),
                )
                .label(format!("host `{host}`"))
                .related(first.span, format!("{first_owner} is `{host}`"))
                .help(help);
                self.report(d);
            }
        }
    }

    fn claim(
        &mut self,
        seen: &mut HashMap<String, (String, Span)>,
        label: String,
        owner: String,
        span: Span,
    ) {
        match seen.get(&label) {
            Some((first, first_span)) if *first != owner => {
                let d = Diagnostic::new(
                    &E006,
                    span,
                    format!("{owner} and {first} would both be named `{label}` in the generated artifacts"),
                )
                .label(format!("named `{label}` when generated"))
                .related(*first_span, format!("{first} is named `{label}`"))
                .help("rename one of them: names differing only in `_` and `-` map to the same DNS label");
                self.report(d);
            }
            Some(_) => {}
            None => {
                seen.insert(label, (owner, span));
            }
        }
    }

    /// Was an attribute given but rejected, or misspelt (so "missing" would
    /// be noise)?
    fn had_error_for(&self, decl: &Declared, attr: &str) -> bool {
        let block_schema = decl.kind.schema();
        decl.block.attributes().any(|a| {
            a.key.name == attr
                || (block_schema.attr(&a.key.name).is_none()
                    && schema::did_you_mean(&a.key.name, [attr]).is_some())
        })
    }

    /// `key_manager` must name a cluster that runs a key manager, and
    /// `traffic_manager` one that runs a traffic manager.
    fn check_role_references(&mut self, topology: &Topology) {
        for cluster in &topology.clusters {
            let checks = [
                (
                    "key_manager",
                    &cluster.key_manager,
                    Profile::runs_key_manager as fn(Profile) -> bool,
                    "a key manager",
                ),
                (
                    "traffic_manager",
                    &cluster.traffic_manager,
                    Profile::runs_traffic_manager,
                    "a traffic manager",
                ),
            ];
            for (attr, target, runs, what) in checks {
                let Some(target) = target else { continue };
                let other = topology.cluster(target.value);
                let Some(profile) = other.profile() else {
                    continue;
                };
                if !runs(profile) {
                    self.report(
                        Diagnostic::new(
                            &E005,
                            target.span,
                            format!(
                                "`{attr}` of cluster `{}` names `{}`, a {profile} cluster, which does not run {what}",
                                cluster.name, other.name
                            ),
                        )
                        .label(format!("not {what}"))
                        .related(other.span, format!("`{}` runs the {profile} profile", other.name))
                        .help(format!(
                            "name a cluster whose profile runs {what} ({})",
                            Profile::ALL
                                .iter()
                                .filter(|p| runs(**p))
                                .map(|p| p.name())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )),
                    );
                }
            }
        }
    }
}

/// Replicas inherit what they do not say from the datasource they
/// replicate; every datasource gets its engine's port and default
/// credentials names.
fn inherit_replica_settings(topology: &mut Topology, users: &[Option<String>]) {
    let count = topology.datasources.len();
    for index in 0..count {
        // Walk up the replica chain (bounded: cycles are E008).
        let mut chain = Vec::new();
        let mut current = index;
        while let Some(next) = &topology.datasources[current].replica_of {
            if chain.len() > count {
                break;
            }
            current = next.value.0;
            chain.push(current);
        }
        let mut ds = topology.datasources[index].clone();
        let mut user = users.get(index).cloned().flatten();
        for &up in &chain {
            let source = &topology.datasources[up];
            ds.purpose = ds.purpose.or(source.purpose);
            ds.engine = ds.engine.or(source.engine);
            if ds.database.is_none() {
                ds.database = source.database.clone();
            }
            if user.is_none() {
                user = users.get(up).cloned().flatten();
            }
            if ds.password.name.is_empty() {
                ds.password = source.password.clone();
            }
            if ds.driver.is_none() {
                ds.driver = source.driver.clone();
            }
            if ds.replication_user.is_empty() {
                ds.replication_user = source.replication_user.clone();
            }
            if ds.replication_password.name.is_empty() {
                ds.replication_password = source.replication_password.clone();
            }
        }
        ds.user = user.unwrap_or_else(|| "apim".to_string());
        if ds.password.name.is_empty() {
            let root = chain
                .last()
                .map(|&r| topology.datasources[r].name.clone())
                .unwrap_or(ds.name.clone());
            ds.password = default_secret(&format!("{}-password", root.replace('_', "-")));
        }
        let root = chain
            .last()
            .map(|&r| topology.datasources[r].name.clone())
            .unwrap_or(ds.name.clone());
        if ds.replication_user.is_empty() {
            ds.replication_user = "replicator".to_string();
        }
        if ds.replication_password.name.is_empty() {
            ds.replication_password =
                default_secret(&format!("{}-replication-password", root.replace('_', "-")));
        }
        if ds.port == 0 {
            ds.port = ds.engine.map(Engine::default_port).unwrap_or(3306);
        }
        topology.datasources[index] = ds;
    }
}

/// A string attribute whose form is checked: the check, and what the
/// error says it must be.
struct StringForm {
    valid: fn(&str) -> bool,
    /// `` `name` is not <what> ``.
    what: &'static str,
    label: &'static str,
    help: &'static str,
}

/// The form a string attribute of type `ty` must have, for the types
/// whose strings are checked (paths, URLs, images, file names, Kubernetes
/// names, registries).
fn string_form(ty: &Type) -> Option<StringForm> {
    Some(match ty {
        Type::Path => StringForm {
            valid: valid_path,
            what: "a usable absolute path",
            label: "not a path",
            help: "write an absolute path of letters, digits and `/._+@:,=~-`, e.g. \"/exports/apim\" (it reaches mount units and volume options)",
        },
        Type::Url => StringForm {
            valid: valid_url,
            what: "an http(s) URL",
            label: "not a URL",
            help: "write an URL such as \"https://artifacts.example.com/apim\" (no spaces, quotes or control characters)",
        },
        Type::Image => StringForm {
            valid: valid_image,
            what: "an image reference",
            label: "not an image",
            help: "write a lower-case image reference with a tag or a digest, e.g. \"registry.example.com/wso2/wso2am:4.2.0.12\" or \"registry.example.com/wso2/wso2am@sha256:<64 hex digits>\"",
        },
        Type::FileName => StringForm {
            valid: valid_file_name,
            what: "a plain file name",
            label: "not a file name",
            help: "write a file name of letters, digits, `.`, `_` and `-` with no folder, e.g. \"mysql-connector-j-8.4.0.jar\" (it becomes a path in every target)",
        },
        Type::K8sName => StringForm {
            valid: valid_k8s_name,
            what: "a Kubernetes object name",
            label: "not a Kubernetes name",
            help: "write lower-case letters, digits, `-` and `.`, starting and ending with a letter or digit, at most 253 characters, e.g. \"efs-sc\"",
        },
        Type::Registry => StringForm {
            valid: valid_registry,
            what: "an image registry prefix",
            label: "not a registry",
            help: "write a registry host and path in lower case, e.g. \"registry.example.com:5000/wso2\"",
        },
        Type::UtcOffset => StringForm {
            valid: valid_utc_offset,
            what: "a UTC offset",
            label: "not a UTC offset",
            help: "write UTC, or a fixed offset such as \"UTC+05:30\" or \"UTC-03:00\" (topoc knows no time zone names, and no daylight saving time)",
        },
        _ => return None,
    })
}

/// `UTC`, or a fixed offset such as `UTC+05:30`.
fn valid_utc_offset(text: &str) -> bool {
    crate::traffic::time::UtcOffset::parse(text).is_some()
}

/// An image registry prefix: a host (and port) and path in lower case.
fn valid_registry(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 200
        && !text.starts_with('/')
        && !text.ends_with('/')
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._:/-".contains(c))
}

/// `` `name` takes <type>, found <found> ``.
fn wrong_type(attr: &AttrSchema, span: Span, found: &str) -> Diagnostic {
    Diagnostic::new(
        &E003,
        span,
        format!(
            "`{}` takes {}, found {found}",
            attr.name,
            attr.ty.describe()
        ),
    )
    .label("wrong type")
}

fn parse_number(text: &str) -> Option<f64> {
    text.parse::<f64>()
        .ok()
        .filter(|n| n.is_finite() && *n < 1e15)
}

/// Attribute names that hold secrets by their name (SEC001).
pub fn looks_secret(name: &str) -> bool {
    ["password", "secret", "token"]
        .iter()
        .any(|w| name.contains(w))
        && name != "token_sync"
}

/// What in `text` looks like credentials in a URL (SEC001): user info
/// before `@` in an authority, or a query or fragment parameter named like a
/// credential. The description names what was found, never its value.
pub fn url_credentials(text: &str) -> Option<String> {
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let after = &rest[at + 3..];
        let end = after
            .find(|c: char| c.is_whitespace() || c == '"' || c == '\'')
            .unwrap_or(after.len());
        let url = &after[..end];
        let authority_end = url.find(['/', '?', '#']).unwrap_or(url.len());
        if url[..authority_end].contains('@') {
            return Some("a user name or password before `@`".to_string());
        }
        let params = url[authority_end..]
            .split_once(['?', '#'])
            .map(|(_, p)| p)
            .unwrap_or("");
        for param in params.split(['&', ';', '#', '?']) {
            let key = param.split('=').next().unwrap_or("").to_ascii_lowercase();
            let key = key.replace(['-', '.'], "_");
            let credential = key == "key"
                || [
                    "pass",
                    "pwd",
                    "secret",
                    "token",
                    "apikey",
                    "api_key",
                    "sig",
                    "auth",
                    "credential",
                    "private",
                ]
                .iter()
                .any(|w| key.contains(w));
            if credential && !key.is_empty() {
                return Some(format!(
                    "the parameter `{}`",
                    param.split('=').next().unwrap_or("")
                ));
            }
        }
        rest = &after[end..];
    }
    None
}

fn plain_secret(name: &str, span: Span) -> Diagnostic {
    Diagnostic::new(&SEC001, span, format!("`{name}` is given as a plain string"))
        .label("a secret in plain text")
        .help(format!(
            "write `{name} = secret(\"apim-db-password\")` and create the secret outside the topology (and rotate the value that was committed)"
        ))
}

/// A host name (RFC 1123 labels; `_` tolerated, as internal DNS often has
/// it), an IPv4 address or an IPv6 address (optionally in brackets). Host
/// names reach nginx.conf, Puppet node names, Ingress rules and JDBC URLs.
pub fn valid_host(text: &str) -> bool {
    if text.is_empty() || text.len() > 253 {
        return false;
    }
    let inner = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    if inner.contains(':') {
        return inner.parse::<std::net::Ipv6Addr>().is_ok();
    }
    text.trim_end_matches('.').split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    })
}

/// An absolute path that mount units, volume options and shells take as one
/// word.
pub fn valid_path(text: &str) -> bool {
    text.starts_with('/')
        && text.len() <= 4096
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._+@:,=~-".contains(c))
}

/// An http(s) URL without characters that would need quoting anywhere.
pub fn valid_url(text: &str) -> bool {
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"));
    rest.is_some_and(|r| !r.is_empty())
        && text.len() <= 2048
        && !text
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "\"'`<>\\{}|^".contains(c))
}

fn bad_host(name: &str, span: Span) -> Diagnostic {
    Diagnostic::new(&E003, span, format!("`{name}` is not a valid host name or IP address"))
        .label("not a host name")
        .help("host names are dot-separated labels of letters, digits and `-` (at most 63 characters each), e.g. \"db-1.colombo.internal\"; IP addresses are written as usual")
}

/// An image reference with a tag or a digest, in the characters image
/// references allow: `registry[:port]/path/name:tag` or `...@sha256:<hex>`.
pub fn valid_image(text: &str) -> bool {
    let image = naming::ImageRef::parse(text);
    let pinned = match image.digest {
        Some(digest) => {
            let ok = digest
                .strip_prefix("sha256:")
                .is_some_and(|hex| hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit()));
            if !ok {
                return false;
            }
            true
        }
        None => false,
    };
    let tagged = image.tag.is_some_and(|tag| {
        !tag.is_empty()
            && tag.len() <= 128
            && tag
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    });
    let repository = image.repository;
    (pinned || tagged)
        && !repository.is_empty()
        && text.len() <= 512
        && !repository.starts_with('/')
        && !repository.ends_with('/')
        && repository
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._:/-".contains(c))
}

/// A file name without a folder, in a safe alphabet: it becomes a path in
/// mounts, Dockerfiles, Puppet resources and commands.
pub fn valid_file_name(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 255
        && !text.starts_with(['.', '-'])
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

/// A DNS-1123 subdomain: what Kubernetes takes as an object name.
pub fn valid_k8s_name(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 253
        && text.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && text.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
}

/// Secret names reach Kubernetes Secret keys, environment variables and
/// file names: keep them to a safe alphabet.
pub fn valid_secret_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.' | '_'))
}

/// An example value for a "missing attribute" help line.
fn example_value(attr: &AttrSchema) -> String {
    match attr.ty {
        Type::Enum(values) => values
            .first()
            .map(|v| v.name.to_string())
            .unwrap_or_default(),
        Type::String => "\"...\"".into(),
        Type::Int { min, .. } => {
            if min <= 2 && attr.name == "nodes" {
                "2".into()
            } else {
                min.to_string()
            }
        }
        Type::Number => "2".into(),
        Type::Bool => "true".into(),
        Type::Rps => "1000rps".into(),
        Type::Percent => "75%".into(),
        Type::Factor => "150%".into(),
        Type::UtcOffset => "\"UTC\"".into(),
        Type::Duration => "30min".into(),
        Type::Size => "4GiB".into(),
        Type::Secret => "secret(\"...\")".into(),
        Type::Version => "\"4.2.0\"".into(),
        Type::Ref(kind) => format!("<{} name>", kind.keyword()),
        Type::RefList(kind) => format!("[<{} name>]", kind.keyword()),
        Type::StringList | Type::CodeList | Type::HostList => "[\"...\"]".into(),
        Type::Host => "\"host.example.com\"".into(),
        Type::Path => "\"/exports/apim\"".into(),
        Type::Url => "\"https://artifacts.example.com/apim\"".into(),
        Type::Registry => "\"registry.example.com/wso2\"".into(),
        Type::Image => "\"registry.example.com/wso2/wso2am:4.2.0.12\"".into(),
        Type::FileName => "\"mysql-connector-j-8.4.0.jar\"".into(),
        Type::K8sName => "\"efs-sc\"".into(),
        Type::Manager => "passive".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_urls_are_found_and_never_echoed() {
        let found = url_credentials("https://admin:PW@host/apim?token=T").unwrap();
        assert!(found.contains('@'), "{found}");
        assert!(!found.contains("PW"), "{found}");
        let found = url_credentials("https://host/apim?x=1&access_token=T").unwrap();
        assert_eq!(found, "the parameter `access_token`");
        assert!(url_credentials("https://host/a?X-Amz-Signature=abc").is_some());
        assert!(url_credentials("https://host/a#api-key=abc").is_some());
        assert!(url_credentials("https://host/a?sig=abc").is_some());
        assert!(url_credentials("s3://user@bucket/path").is_some());
        assert!(url_credentials("see https://u:p@h/ and more").is_some());
        // What must not fire.
        assert_eq!(url_credentials("https://artifacts.example.com/apim"), None);
        assert_eq!(url_credentials("https://host/apim?poll=5m&page=2"), None);
        assert_eq!(url_credentials("https://host/users/me@example.com"), None);
        assert_eq!(url_credentials("mail admin@example.com"), None);
        assert_eq!(url_credentials("https://host:8443/"), None);
    }

    #[test]
    fn image_references_need_a_tag_or_a_digest() {
        assert!(valid_image(
            "registry.example.com:5000/wso2/wso2am:4.2.0.12"
        ));
        assert!(valid_image(&format!(
            "r.example/wso2am@sha256:{}",
            "a".repeat(64)
        )));
        assert!(valid_image("wso2am:4.2.0"));
        assert!(!valid_image("registry.example.com/wso2/wso2am"));
        assert!(!valid_image("registry.example.com:5000/wso2am"));
        assert!(!valid_image("r.example/wso2am@sha256:abc"));
        assert!(!valid_image("R.example/wso2am:1"));
        assert!(!valid_image("r.example/wso2am:$(x)"));
        assert!(valid_file_name("mysql-connector-j-8.4.0.jar"));
        assert!(!valid_file_name("../x.jar"));
        assert!(!valid_file_name("lib/x.jar"));
        assert!(!valid_file_name(".hidden"));
        assert!(valid_k8s_name("efs-sc"));
        assert!(!valid_k8s_name("EFS"));
    }
}
