//! Hover: the explanation of a diagnostic under the cursor, the schema's
//! documentation of a block kind, attribute or enumeration value, and what
//! a name resolves to.

use lsp_types::{Hover, HoverContents, MarkupContent, MarkupKind};

use super::convert;
use super::index::Occurrence;
use super::locate::{Token, token_at};
use super::workspace::Analysis;
use crate::graph::{GraphNode, facts};
use crate::lints;
use crate::model::schema::{AttrSchema, BlockKind, Placement, Required, Type};
use crate::model::*;
use crate::source::FileId;

/// The hover text at a byte offset, in Markdown: the diagnostics there (with
/// their explanations), then what the name, block kind, attribute or value
/// under the cursor means; `None` when there is nothing to say.
pub fn hover(analysis: &Analysis, file: FileId, offset: usize) -> Option<Hover> {
    let source = analysis.source(file);
    let mut sections: Vec<String> = Vec::new();
    let mut range: Option<std::ops::Range<usize>> = None;

    let mut codes: Vec<&str> = Vec::new();
    for d in &analysis.checked.diagnostics {
        let span = d.span.range();
        if d.span.file != file || !(span.start <= offset && offset <= span.end) {
            continue;
        }
        range.get_or_insert(span);
        let mut text = format!("**{}** ({}): {}", d.code, d.severity, d.message);
        if let Some(help) = &d.help {
            text.push_str(&format!("\n\nhelp: {help}"));
        }
        if !codes.contains(&d.code) {
            codes.push(d.code);
            if let Some(lint) = lints::find(d.code) {
                text.push_str("\n\n");
                text.push_str(lint.explanation.trim());
            }
        }
        sections.push(text);
    }

    if let Some(occurrence) = analysis.index.at(file, offset) {
        range = Some(occurrence.span.clone());
        sections.insert(0, describe_name(analysis, &occurrence));
    } else if let Some(token) = token_at(analysis.ast(file), offset) {
        match token {
            Token::BlockKind(block) => {
                if let Some(kind) = BlockKind::from_keyword(&block.kind.name) {
                    range = Some(block.kind.span.clone());
                    sections.insert(0, block_doc(kind));
                }
            }
            Token::Key(Some(kind), attribute) => {
                if let Some(schema) = kind.schema().attr(&attribute.key.name) {
                    range = Some(attribute.key.span.clone());
                    sections.insert(0, attribute_doc(kind, schema));
                }
            }
            Token::Value(Some(kind), attribute, value) => {
                let schema = kind.schema().attr(&attribute.key.name);
                if let (Some(schema), crate::syntax::ValueKind::Ident(name)) = (schema, &value.kind)
                    && let Some(doc) = schema.ty.enum_values().iter().find(|v| v.name == name)
                {
                    range = Some(value.span.clone());
                    sections.insert(
                        0,
                        format!("**`{}`** ({}): {}", doc.name, schema.name, doc.doc),
                    );
                }
            }
            _ => {}
        }
    }
    if sections.is_empty() {
        return None;
    }
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: sections.join("\n\n---\n\n"),
        }),
        range: range.map(|r| convert::range(source, r)),
    })
}

/// What a name stands for: its kind, where it is declared, and its facts.
fn describe_name(analysis: &Analysis, occurrence: &Occurrence) -> String {
    let (kind, name) = (occurrence.kind, occurrence.name);
    let Some(declaration) = analysis.index.declaration(kind, name) else {
        return format!("no {} named `{name}`", kind.noun());
    };
    let source = analysis.source(declaration.file);
    let line = source.line_col(declaration.name_span.start).line;
    let mut text = format!("**{} `{name}`**", kind.noun());
    if let Some(parent) = declaration
        .parent
        .and_then(|p| analysis.index.declarations.get(p))
    {
        text.push_str(&format!(" in datacenter `{}`", parent.name));
    }
    text.push_str(&format!(
        "\n\ndeclared in `{}` line {line}",
        source
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    ));
    let t = &analysis.checked.topology;
    let facts = match model_node(t, kind, name) {
        Some(node) => facts(t, node),
        None if kind == BlockKind::Topology && t.name == name => topology_facts(t),
        None => Vec::new(),
    };
    for fact in facts {
        text.push_str(&format!("\n- {fact}"));
    }
    text
}

fn topology_facts(t: &Topology) -> Vec<String> {
    let mut facts = vec![t.product.to_string()];
    if let Some(version) = &t.version {
        facts.push(format!("version {}", version.value));
    }
    if let Some(peak) = &t.peak_load {
        facts.push(format!("peak {}rps", types::format_number(peak.value)));
    }
    facts.push(format!(
        "{}% of the peak served with one node down",
        types::format_number(t.degraded_capacity.value * 100.0)
    ));
    facts
}

/// The model object of a declared name.
pub fn model_node(t: &Topology, kind: BlockKind, name: &str) -> Option<GraphNode> {
    fn find<T>(items: &[T], name_of: impl Fn(&T) -> &str, name: &str) -> Option<usize> {
        items.iter().position(|i| name_of(i) == name)
    }
    Some(match kind {
        BlockKind::Topology => return None,
        BlockKind::Datacenter => {
            GraphNode::Datacenter(DcId(find(&t.datacenters, |d| &d.name, name)?))
        }
        BlockKind::Datasource => {
            GraphNode::Datasource(DsId(find(&t.datasources, |d| &d.name, name)?))
        }
        BlockKind::FileShare => {
            GraphNode::FileShare(FsId(find(&t.file_shares, |d| &d.name, name)?))
        }
        BlockKind::ArtifactServer => {
            GraphNode::ArtifactServer(ArtifactId(find(&t.artifact_servers, |d| &d.name, name)?))
        }
        BlockKind::Cluster => GraphNode::Cluster(ClusterId(find(&t.clusters, |d| &d.name, name)?)),
        BlockKind::LoadBalancer => {
            GraphNode::LoadBalancer(LbId(find(&t.load_balancers, |d| &d.name, name)?))
        }
        BlockKind::Upgrade => GraphNode::Upgrade(UpgradeId(find(&t.upgrades, |d| &d.name, name)?)),
    })
}

/// The hover text of a block kind: its syntax, where it may appear, its
/// documentation, attributes and nested blocks.
pub fn block_doc(kind: BlockKind) -> String {
    let schema = kind.schema();
    let place = match schema.placement {
        Placement::TopLevel => "at the top level",
        Placement::InDatacenter => "inside a `datacenter`",
    };
    let attrs: Vec<String> = schema
        .attrs
        .iter()
        .map(|a| format!("`{}`", a.name))
        .collect();
    let mut text = format!(
        "**`{} NAME {{ ... }}`** ({place})\n\n{}\n\nattributes: {}",
        kind.keyword(),
        schema.doc,
        attrs.join(", ")
    );
    let children = schema.children();
    if !children.is_empty() {
        let blocks: Vec<String> = children
            .iter()
            .map(|k| format!("`{}`", k.keyword()))
            .collect();
        text.push_str(&format!("\n\nblocks: {}", blocks.join(", ")));
    }
    text
}

/// The hover text of an attribute: its documentation, type, whether it is
/// required, its default and its values.
pub fn attribute_doc(kind: BlockKind, attr: &AttrSchema) -> String {
    let mut text = format!(
        "**`{}`** ({} attribute)\n\n{}\n\n- type: {}",
        attr.name,
        kind.keyword(),
        attr.doc,
        attr.ty.describe()
    );
    match attr.required {
        Required::Yes => text.push_str("\n- required"),
        Required::When(when) => text.push_str(&format!("\n- required {when}")),
        Required::No => {}
    }
    if let Some(default) = attr.default {
        text.push_str(&format!("\n- default: `{default}`"));
    }
    let values = attr.ty.enum_values();
    if matches!(attr.ty, Type::Enum(_)) && !values.is_empty() {
        text.push_str("\n\nvalues:");
        for value in values {
            text.push_str(&format!("\n- `{}`: {}", value.name, value.doc));
        }
    }
    text
}
