//! Completion, from the text before the cursor and the blocks around it
//! (so it works while the line being typed is still a syntax error): block
//! kinds where a block may start, the attributes a block takes and has not
//! got yet, the allowed values after `key =`, and the names of blocks of
//! the right kind in a reference (also inside a `[...]` list).

use lsp_types::{
    CompletionItem, CompletionItemKind, CompletionTextEdit, Documentation, InsertTextFormat,
    MarkupContent, MarkupKind, TextEdit,
};

use super::convert;
use super::hover::{attribute_doc, block_doc};
use super::locate::enclosing_blocks;
use super::workspace::Analysis;
use crate::model::schema::{BLOCKS, BlockKind, Placement, Type};
use crate::source::FileId;

/// Where the cursor is, as far as completion cares.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Context {
    /// At the start of an item: an attribute or a block may follow.
    Item,
    /// After `key =`.
    Value { key: String },
    /// Inside the list of `key = [...]`, with the names already listed.
    ListItem { key: String, listed: Vec<String> },
    /// Nothing to offer (in a comment, a string, a block header).
    Nothing,
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// The context from the text before the cursor.
fn context(text: &str, offset: usize, word_start: usize) -> Context {
    let line_start = text[..offset]
        .rfind(['\n', '\r'])
        .map(|i| i + 1)
        .unwrap_or(0);
    let line = &text[line_start..offset];
    // In a comment or a string?
    let mut in_string = false;
    let mut escaped = false;
    for c in line.chars() {
        match c {
            '\\' if in_string && !escaped => {
                escaped = true;
                continue;
            }
            '"' if !escaped => in_string = !in_string,
            '#' if !in_string => return Context::Nothing,
            _ => {}
        }
        escaped = false;
    }
    if in_string {
        return Context::Nothing;
    }
    if let Some(context) = list_context(text, word_start) {
        return context;
    }
    let before = &text[line_start..word_start];
    if before.trim().is_empty() {
        return Context::Item;
    }
    match key_before_equals(before) {
        Some(key) => Context::Value { key },
        None => Context::Nothing,
    }
}

/// `  key = ` (spaces allowed around `=`): the key.
fn key_before_equals(before: &str) -> Option<String> {
    let rest = before.trim_end().strip_suffix('=')?.trim_end();
    let key_start = rest
        .char_indices()
        .rev()
        .find(|(_, c)| !is_word(*c))
        .map(|(i, c)| i + c.len_utf8())
        .unwrap_or(0);
    let key = &rest[key_start..];
    if key.is_empty() || !rest[..key_start].trim().is_empty() {
        return None;
    }
    Some(key.to_string())
}

/// Inside an open `[` of `key = [`: scan back over the list (it may span
/// lines) to its bracket.
fn list_context(text: &str, word_start: usize) -> Option<Context> {
    let before = &text[..word_start];
    let mut depth = 0usize;
    for (i, c) in before.char_indices().rev().take(20_000) {
        match c {
            ']' => depth += 1,
            '[' if depth > 0 => depth -= 1,
            '[' => {
                let line_start = before[..i].rfind(['\n', '\r']).map(|j| j + 1).unwrap_or(0);
                let key = key_before_equals(&before[line_start..i])?;
                let listed = before[i + 1..]
                    .split(|c: char| !is_word(c))
                    .filter(|w| !w.is_empty())
                    .map(str::to_string)
                    .collect();
                return Some(Context::ListItem { key, listed });
            }
            '{' | '}' | '=' | '"' | '#' => return None,
            _ => {}
        }
    }
    None
}

/// The completions at a byte offset of a file: block kinds, the attributes
/// the block has not got yet, allowed values and the names a reference may
/// take, each replacing the word before the cursor; `snippets` when the
/// client accepts snippet syntax.
pub fn complete(
    analysis: &Analysis,
    file: FileId,
    offset: usize,
    snippets: bool,
) -> Vec<CompletionItem> {
    let source = analysis.source(file);
    let text = source.text.as_str();
    let offset = source.clamp(offset);
    let word_start = text[..offset]
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_word(*c))
        .last()
        .map(|(i, _)| i)
        .unwrap_or(offset);
    let replace = convert::range(source, word_start..offset);
    // Right after `=` with no space: the value gets one.
    let space = if text[..word_start].ends_with('=') {
        " "
    } else {
        ""
    };
    let chain = enclosing_blocks(analysis.ast(file), offset);
    let block = chain.last().copied();
    let block_kind = block.and_then(|b| BlockKind::from_keyword(&b.kind.name));
    let item = |label: String,
                kind: CompletionItemKind,
                detail: String,
                doc: Option<String>,
                insert: String,
                snippet: bool| CompletionItem {
        label,
        kind: Some(kind),
        detail: Some(detail),
        documentation: doc.map(|value| {
            Documentation::MarkupContent(MarkupContent {
                kind: MarkupKind::Markdown,
                value,
            })
        }),
        insert_text_format: Some(if snippet {
            InsertTextFormat::SNIPPET
        } else {
            InsertTextFormat::PLAIN_TEXT
        }),
        text_edit: Some(CompletionTextEdit::Edit(TextEdit {
            range: replace,
            new_text: insert,
        })),
        ..CompletionItem::default()
    };
    let block_item = |kind: BlockKind| {
        let keyword = kind.keyword();
        let (insert, snippet) = if snippets {
            (format!("{keyword} ${{1:name}} {{\n\t$0\n}}"), true)
        } else {
            (format!("{keyword} "), false)
        };
        item(
            keyword.to_string(),
            CompletionItemKind::KEYWORD,
            format!("{keyword} NAME {{ ... }}"),
            Some(block_doc(kind)),
            insert,
            snippet,
        )
    };

    let mut items = Vec::new();
    match context(text, offset, word_start) {
        Context::Nothing => {}
        Context::Item => match (block, block_kind) {
            (None, _) => {
                for schema in BLOCKS.iter().filter(|b| b.placement == Placement::TopLevel) {
                    items.push(block_item(schema.kind));
                }
                let (insert, snippet) = if snippets {
                    ("import \"$1\"".to_string(), true)
                } else {
                    ("import \"\"".to_string(), false)
                };
                items.push(item(
                    "import".into(),
                    CompletionItemKind::KEYWORD,
                    "import \"path.topo\"".into(),
                    Some("Bring in the blocks of another file (relative to this one).".into()),
                    insert,
                    snippet,
                ));
            }
            (Some(block), Some(kind)) => {
                let schema = kind.schema();
                let given: Vec<&str> = block
                    .attributes()
                    .filter(|a| !(a.key.span.start <= offset && offset <= a.key.span.end))
                    .map(|a| a.key.name.as_str())
                    .collect();
                for attr in schema.attrs.iter().filter(|a| !given.contains(&a.name)) {
                    // With snippets, an enumeration offers its values at once.
                    let values: Vec<&str> = attr.ty.enum_values().iter().map(|v| v.name).collect();
                    let (insert, snippet) = if snippets && !values.is_empty() {
                        (
                            format!("{} = ${{1|{}|}}", attr.name, values.join(",")),
                            true,
                        )
                    } else {
                        (format!("{} = ", attr.name), false)
                    };
                    items.push(item(
                        attr.name.to_string(),
                        CompletionItemKind::PROPERTY,
                        attr.ty.short().replace("\\|", "|"),
                        Some(attribute_doc(kind, attr)),
                        insert,
                        snippet,
                    ));
                }
                for child in schema.children() {
                    items.push(block_item(child));
                }
            }
            (Some(_), None) => {}
        },
        Context::Value { key } => {
            let Some(kind) = block_kind else {
                return items;
            };
            let Some(attr) = kind.schema().attr(&key) else {
                return items;
            };
            for value in attr.ty.enum_values() {
                items.push(item(
                    value.name.to_string(),
                    CompletionItemKind::ENUM_MEMBER,
                    format!("{} value", attr.name),
                    Some(value.doc.to_string()),
                    format!("{space}{}", value.name),
                    false,
                ));
            }
            match attr.ty {
                Type::Ref(target) => {
                    items.extend(names(analysis, target, block, &[]).into_iter().map(
                        |(name, detail)| {
                            item(
                                name.clone(),
                                CompletionItemKind::REFERENCE,
                                detail,
                                None,
                                format!("{space}{name}"),
                                false,
                            )
                        },
                    ))
                }
                Type::RefList(target) if snippets => {
                    let first = names(analysis, target, block, &[]);
                    let choices: Vec<String> = first.into_iter().map(|(n, _)| n).collect();
                    let insert = if choices.is_empty() {
                        format!("{space}[$1]")
                    } else {
                        format!("{space}[${{1|{}|}}]", choices.join(","))
                    };
                    items.push(item(
                        "[...]".into(),
                        CompletionItemKind::SNIPPET,
                        format!("a list of {} names", target.noun()),
                        None,
                        insert,
                        true,
                    ));
                }
                Type::Secret => {
                    let (insert, snippet) = if snippets {
                        (format!("{space}secret(\"${{1:name}}\")"), true)
                    } else {
                        (format!("{space}secret(\"\")"), false)
                    };
                    items.push(item(
                        "secret(\"...\")".into(),
                        CompletionItemKind::FUNCTION,
                        "a secret held outside the topology".into(),
                        None,
                        insert,
                        snippet,
                    ));
                }
                _ => {}
            }
        }
        Context::ListItem { key, listed } => {
            let Some(kind) = block_kind else {
                return items;
            };
            if let Some(Type::RefList(target)) = kind.schema().attr(&key).map(|a| a.ty) {
                for (name, detail) in names(analysis, target, block, &listed) {
                    items.push(item(
                        name.clone(),
                        CompletionItemKind::REFERENCE,
                        detail,
                        None,
                        name,
                        false,
                    ));
                }
            }
        }
    }
    items
}

/// The names of the blocks of a kind, with where each is, leaving out the
/// block being written and the names already listed.
fn names(
    analysis: &Analysis,
    kind: BlockKind,
    current: Option<&crate::syntax::Block>,
    listed: &[String],
) -> Vec<(String, String)> {
    let own = current.and_then(|b| {
        (BlockKind::from_keyword(&b.kind.name) == Some(kind))
            .then(|| b.name.as_ref().map(|n| n.name.as_str()))
            .flatten()
    });
    analysis
        .index
        .names(kind)
        .into_iter()
        .filter(|d| Some(d.name.as_str()) != own && !listed.contains(&d.name))
        .map(|d| {
            let place = d
                .parent
                .and_then(|p| analysis.index.declarations.get(p))
                .map(|p| format!(" in {}", p.name))
                .unwrap_or_default();
            (d.name.clone(), format!("{}{place}", kind.noun()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(text_with_cursor: &str) -> Context {
        let offset = text_with_cursor.find('|').expect("cursor");
        let text = text_with_cursor.replace('|', "");
        let word_start = text[..offset]
            .char_indices()
            .rev()
            .take_while(|(_, c)| is_word(*c))
            .last()
            .map(|(i, _)| i)
            .unwrap_or(offset);
        context(&text, offset, word_start)
    }

    #[test]
    fn contexts() {
        assert_eq!(ctx("a b {\n  no|"), Context::Item);
        assert_eq!(ctx("a b {\n  |"), Context::Item);
        assert_eq!(
            ctx("a b {\n  ha = act|"),
            Context::Value { key: "ha".into() }
        );
        assert_eq!(ctx("a b {\n  ha =|"), Context::Value { key: "ha".into() });
        assert_eq!(
            ctx("a b {\n  datasources = [x, |"),
            Context::ListItem {
                key: "datasources".into(),
                listed: vec!["x".into()]
            }
        );
        assert_eq!(
            ctx("a b {\n  datasources = [\n    x,\n    y|"),
            Context::ListItem {
                key: "datasources".into(),
                listed: vec!["x".into()]
            }
        );
        assert_eq!(ctx("a b {\n  # ha = |"), Context::Nothing);
        assert_eq!(ctx("a b {\n  host = \"a|"), Context::Nothing);
        assert_eq!(ctx("cluster |"), Context::Nothing);
        assert_eq!(ctx("a b {\n  l = [x] |"), Context::Nothing);
        assert_eq!(ctx("a b { \u{e9} = |"), Context::Nothing);
    }
}
