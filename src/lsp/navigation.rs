//! Go to definition, find references, rename, and the outline of a file.

use std::collections::HashMap;
use std::path::Path;

use lsp_types::{DocumentSymbol, Location, SymbolKind, TextEdit, Uri, WorkspaceEdit};

use super::convert;
use super::locate::{Token, token_at};
use super::workspace::{Analysis, Workspace};
use crate::model::schema::BlockKind;
use crate::source::FileId;
use crate::syntax::{Ast, Block, Item};

fn location(
    ws: &Workspace,
    analysis: &Analysis,
    file: FileId,
    span: std::ops::Range<usize>,
) -> Option<Location> {
    Some(Location {
        uri: ws.uri_of(&analysis.keys[file.0 as usize])?,
        range: convert::range(analysis.source(file), span),
    })
}

/// Where the name under the cursor is declared; for an import, the
/// imported file.
pub fn definition(
    ws: &Workspace,
    analysis: &Analysis,
    file: FileId,
    offset: usize,
) -> Option<Location> {
    if let Some(occurrence) = analysis.index.at(file, offset) {
        let declaration = analysis
            .index
            .declaration(occurrence.kind, occurrence.name)?;
        return location(
            ws,
            analysis,
            declaration.file,
            declaration.name_span.clone(),
        );
    }
    if let Some(Token::Import(import)) = token_at(analysis.ast(file), offset) {
        let path = import.path.as_ref()?;
        let base = analysis.keys[file.0 as usize]
            .parent()
            .unwrap_or(Path::new(""));
        let target = crate::load::normalize(&base.join(&path.value));
        let target_file = analysis.file_id(&target)?;
        return location(ws, analysis, target_file, 0..0);
    }
    None
}

/// Every place the name under the cursor is written, across the files of
/// the topology.
pub fn references(
    ws: &Workspace,
    analysis: &Analysis,
    file: FileId,
    offset: usize,
    include_declaration: bool,
) -> Option<Vec<Location>> {
    let occurrence = analysis.index.at(file, offset)?;
    let declared: Vec<(FileId, std::ops::Range<usize>)> = analysis
        .index
        .declarations
        .iter()
        .filter(|d| d.kind == occurrence.kind && d.name == occurrence.name)
        .map(|d| (d.file, d.name_span.clone()))
        .collect();
    Some(
        analysis
            .index
            .occurrences(occurrence.kind, occurrence.name)
            .into_iter()
            .filter(|o| include_declaration || !declared.contains(o))
            .filter_map(|(f, span)| location(ws, analysis, f, span))
            .collect(),
    )
}

/// The range of the name that a rename at the cursor would change.
pub fn prepare_rename(
    analysis: &Analysis,
    file: FileId,
    offset: usize,
) -> Option<lsp_types::Range> {
    let occurrence = analysis.index.at(file, offset)?;
    Some(convert::range(
        analysis.source(file),
        occurrence.span.clone(),
    ))
}

/// Is `name` an identifier of the language?
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// Rename a name and every reference to it, in every file of the topology.
#[allow(clippy::mutable_key_type)] // the protocol's type keys edits by `Uri`
pub fn rename(
    ws: &Workspace,
    analysis: &Analysis,
    file: FileId,
    offset: usize,
    new_name: &str,
) -> Result<WorkspaceEdit, String> {
    let occurrence = analysis
        .index
        .at(file, offset)
        .ok_or("there is no name to rename here")?;
    if !valid_name(new_name) {
        return Err(format!(
            "`{new_name}` is not a valid name: names are lower-case letters, digits, `_` and `-`, starting with a letter or `_`"
        ));
    }
    let kind = occurrence.kind;
    if new_name != occurrence.name && analysis.index.declaration(kind, new_name).is_some() {
        return Err(format!(
            "a {} named `{new_name}` already exists",
            kind.noun()
        ));
    }
    let mut changes: HashMap<Uri, Vec<TextEdit>> = HashMap::new();
    for (f, span) in analysis.index.occurrences(kind, occurrence.name) {
        let location =
            location(ws, analysis, f, span).ok_or("a file of the topology has no URI")?;
        changes.entry(location.uri).or_default().push(TextEdit {
            range: location.range,
            new_text: new_name.to_string(),
        });
    }
    Ok(WorkspaceEdit {
        changes: Some(changes),
        ..WorkspaceEdit::default()
    })
}

/// The outline of a file: its blocks, nested as written.
pub fn document_symbols(ast: &Ast, source: &crate::source::SourceFile) -> Vec<DocumentSymbol> {
    fn symbols(items: &[Item], source: &crate::source::SourceFile) -> Vec<DocumentSymbol> {
        items
            .iter()
            .filter_map(|item| match item {
                Item::Block(block) => Some(symbol(block, source)),
                _ => None,
            })
            .collect()
    }
    #[allow(deprecated)] // `deprecated` is a field of the protocol's type
    fn symbol(block: &Block, source: &crate::source::SourceFile) -> DocumentSymbol {
        let kind = BlockKind::from_keyword(&block.kind.name);
        let children = symbols(&block.items, source);
        let selection = block
            .name
            .as_ref()
            .map(|n| n.span.clone())
            .unwrap_or(block.kind.span.clone());
        DocumentSymbol {
            name: block
                .name
                .as_ref()
                .map(|n| n.name.clone())
                .unwrap_or_else(|| block.kind.name.clone()),
            detail: Some(block.kind.name.clone()),
            kind: match kind {
                Some(BlockKind::Topology) => SymbolKind::PACKAGE,
                Some(BlockKind::Datacenter) => SymbolKind::NAMESPACE,
                Some(BlockKind::Cluster) => SymbolKind::CLASS,
                Some(BlockKind::Datasource) => SymbolKind::STRUCT,
                Some(BlockKind::FileShare) => SymbolKind::FILE,
                Some(BlockKind::ArtifactServer) => SymbolKind::MODULE,
                Some(BlockKind::LoadBalancer) => SymbolKind::INTERFACE,
                Some(BlockKind::Upgrade) => SymbolKind::EVENT,
                None => SymbolKind::OBJECT,
            },
            tags: None,
            deprecated: None,
            range: convert::range(source, block.span.clone()),
            selection_range: convert::range(source, selection),
            children: (!children.is_empty()).then_some(children),
        }
    }
    symbols(&ast.items, source)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for good in ["a", "gateway_2", "_x", "key-manager"] {
            assert!(valid_name(good), "{good}");
        }
        for bad in ["", "2a", "Gateway", "a b", "-a", "a.b", "é"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
