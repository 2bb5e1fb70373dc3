//! Pictures of the dependency graph: Graphviz DOT, Mermaid and JSON.
//!
//! Datacenters are drawn as boxes (DOT clusters, Mermaid subgraphs) around
//! what they hold, with one node standing for the site itself so that
//! replication can be drawn between sites. Containment is never an edge, so
//! the drawn edges are exactly the dependencies: from the dependent object
//! to what it needs, labeled with the attribute that makes them. For a
//! topology without dependency cycles (E008) the drawn graph is acyclic.
//!
//! Every piece of user text (names are identifiers, but regions, hosts and
//! URLs are arbitrary strings) is escaped for the target language.

use std::fmt::Write;

use petgraph::visit::EdgeRef;
use serde::Serialize;

use super::{DepGraph, EdgeKind, GraphNode, name_of};
use crate::model::types::format_number;
use crate::model::*;

/// The Graphviz DOT of the dependency graph (`dot -Tsvg` renders it).
pub fn to_dot(t: &Topology, g: &DepGraph) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph {} {{", dot_string(&t.name));
    out.push_str(concat!(
        "  graph [rankdir=LR, fontname=\"Helvetica\", fontsize=11, nodesep=0.3, ranksep=0.7];\n",
        "  node [fontname=\"Helvetica\", fontsize=10, shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\"];\n",
        "  edge [fontname=\"Helvetica\", fontsize=9, color=\"#555555\"];\n",
    ));
    for node in top_level_nodes(t) {
        dot_node(&mut out, t, node, "  ");
    }
    for (index, dc) in t.datacenters.iter().enumerate() {
        let id = DcId(index);
        let _ = writeln!(
            out,
            "  subgraph {} {{",
            dot_string(&format!("cluster_datacenter:{}", dc.name))
        );
        let _ = writeln!(
            out,
            "    label={}; style=\"rounded,filled\"; fillcolor=\"#f4f6fa\"; color=\"#8a94a6\";",
            dot_string(&format!("datacenter {}", dc.name))
        );
        for node in contained_nodes(t, id) {
            dot_node(&mut out, t, node, "    ");
        }
        out.push_str("  }\n");
    }
    for (from, to, kind) in edges(t, g) {
        let style = match kind {
            EdgeKind::Replicates | EdgeKind::ReplicaOf => ", style=dashed",
            EdgeKind::Upgrades => ", style=dotted",
            _ => "",
        };
        let _ = writeln!(
            out,
            "  {} -> {} [label={}{style}];",
            dot_string(&node_id(t, from)),
            dot_string(&node_id(t, to)),
            dot_string(kind.label())
        );
    }
    out.push_str("}\n");
    out
}

/// A Mermaid flowchart of the dependency graph, one subgraph per
/// datacenter.
pub fn to_mermaid(t: &Topology, g: &DepGraph) -> String {
    let mut out = String::from("flowchart LR\n");
    for node in top_level_nodes(t) {
        mermaid_node(&mut out, t, node, "  ");
    }
    for (index, dc) in t.datacenters.iter().enumerate() {
        let id = DcId(index);
        let _ = writeln!(
            out,
            "  subgraph {}[\"{}\"]",
            mermaid_subgraph_id(id),
            mermaid_text(&format!("datacenter {}", dc.name))
        );
        for node in contained_nodes(t, id) {
            mermaid_node(&mut out, t, node, "    ");
        }
        out.push_str("  end\n");
    }
    for (from, to, kind) in edges(t, g) {
        let arrow = match kind {
            EdgeKind::Replicates | EdgeKind::ReplicaOf | EdgeKind::Upgrades => "-.->",
            _ => "-->",
        };
        let _ = writeln!(
            out,
            "  {} {arrow}|{}| {}",
            mermaid_id(from),
            mermaid_text(kind.label()),
            mermaid_id(to)
        );
    }
    out
}

/// The dependency graph as JSON: nodes (with their datacenter and key
/// facts) and labeled edges.
pub fn to_json(t: &Topology, g: &DepGraph) -> String {
    #[derive(Serialize)]
    struct JsonGraph<'a> {
        topology: &'a str,
        nodes: Vec<JsonNode<'a>>,
        edges: Vec<JsonEdge>,
    }
    #[derive(Serialize)]
    struct JsonNode<'a> {
        id: String,
        kind: &'static str,
        name: &'a str,
        /// The datacenter that holds it, for what sits in one.
        datacenter: Option<&'a str>,
        facts: Vec<String>,
    }
    #[derive(Serialize)]
    struct JsonEdge {
        from: String,
        to: String,
        kind: EdgeKind,
        /// The attribute that makes the edge.
        attribute: &'static str,
    }
    let mut nodes = Vec::new();
    let mut push = |node: GraphNode, datacenter: Option<DcId>| {
        nodes.push(JsonNode {
            id: node_id(t, node),
            kind: kind_keyword(node),
            name: name_of(t, node),
            datacenter: datacenter.map(|dc| t.dc(dc).name.as_str()),
            facts: facts(t, node),
        });
    };
    for node in top_level_nodes(t) {
        push(node, None);
    }
    for index in 0..t.datacenters.len() {
        let id = DcId(index);
        for node in contained_nodes(t, id) {
            push(node, (node != GraphNode::Datacenter(id)).then_some(id));
        }
    }
    let graph = JsonGraph {
        topology: &t.name,
        nodes,
        edges: edges(t, g)
            .into_iter()
            .map(|(from, to, kind)| JsonEdge {
                from: node_id(t, from),
                to: node_id(t, to),
                kind,
                attribute: kind.label(),
            })
            .collect(),
    };
    let mut json = serde_json::to_string_pretty(&graph).unwrap_or_else(|_| "{}".into());
    json.push('\n');
    json
}

/// The key facts of one object, one short phrase each: what a picture
/// labels it with and what the language server shows on hover.
pub fn facts(t: &Topology, node: GraphNode) -> Vec<String> {
    let mut facts = Vec::new();
    match node {
        GraphNode::Datacenter(id) => {
            let dc = t.dc(id);
            if let Some(role) = dc.role() {
                facts.push(role.to_string());
            }
            if let Some(region) = &dc.region {
                facts.push(region.clone());
            }
            if dc.role() == Some(Role::DisasterRecovery) {
                let mut standby = format!("{} standby", dc.standby_mode());
                if let Some(time) = &dc.recovery_time {
                    standby.push_str(&format!(", {} to recover", time.value.human()));
                }
                facts.push(standby);
                if dc.mirrors_primary() {
                    facts.push("copies of the primary's clusters".into());
                }
            }
        }
        GraphNode::Cluster(id) => {
            let c = t.cluster(id);
            if let Some(profile) = c.profile() {
                facts.push(profile.to_string());
            }
            let nodes = c.node_count();
            facts.push(format!("{nodes} node{}", if nodes == 1 { "" } else { "s" }));
            facts.push(c.ha_mode().to_string());
            if let Some(capacity) = &c.node_capacity {
                facts.push(format!("{}rps per node", format_number(capacity.value)));
            }
        }
        GraphNode::Datasource(id) => {
            let ds = t.datasource(id);
            let what: Vec<String> = [
                ds.engine.map(|e| e.to_string()),
                ds.purpose.map(|p| p.to_string()),
            ]
            .into_iter()
            .flatten()
            .collect();
            if !what.is_empty() {
                facts.push(what.join(" "));
            }
            facts.push(ds.access.value.to_string());
            if let Some(host) = &ds.host {
                facts.push(format!("{host}:{}", ds.port));
            }
        }
        GraphNode::FileShare(id) => {
            let fs = t.file_share(id);
            facts.push(fs.method().to_string());
            match (&fs.server, &fs.path) {
                (Some(server), Some(path)) => facts.push(format!("{server}:{path}")),
                (Some(server), None) => facts.push(server.clone()),
                (None, Some(path)) => facts.push(path.clone()),
                (None, None) => {}
            }
        }
        GraphNode::ArtifactServer(id) => {
            let a = &t.artifact_servers[id.0];
            if let Some(url) = &a.url {
                facts.push(url.clone());
            }
            facts.push(format!("polled every {}", a.poll.human()));
        }
        GraphNode::LoadBalancer(id) => {
            let lb = &t.load_balancers[id.0];
            facts.push(lb.kind.to_string());
            if let Some(hostname) = &lb.hostname {
                facts.push(hostname.clone());
            }
        }
        GraphNode::Upgrade(id) => {
            let u = &t.upgrades[id.0];
            if let Some(kind) = u.kind() {
                facts.push(kind.to_string());
            }
            if let Some(version) = &u.to_version {
                facts.push(format!("to {}", version.value));
            }
            if u.clusters.is_none() {
                facts.push("every cluster".into());
            }
        }
    }
    facts
}

/// A stable, unique id: `cluster:gateway`.
pub fn node_id(t: &Topology, node: GraphNode) -> String {
    format!("{}:{}", kind_keyword(node), name_of(t, node))
}

fn kind_keyword(node: GraphNode) -> &'static str {
    match node {
        GraphNode::Datacenter(_) => "datacenter",
        GraphNode::Cluster(_) => "cluster",
        GraphNode::Datasource(_) => "datasource",
        GraphNode::FileShare(_) => "file_share",
        GraphNode::ArtifactServer(_) => "artifact_server",
        GraphNode::LoadBalancer(_) => "load_balancer",
        GraphNode::Upgrade(_) => "upgrade",
    }
}

/// What sits outside every datacenter: artifact servers and upgrades.
fn top_level_nodes(t: &Topology) -> Vec<GraphNode> {
    (0..t.artifact_servers.len())
        .map(|i| GraphNode::ArtifactServer(ArtifactId(i)))
        .chain((0..t.upgrades.len()).map(|i| GraphNode::Upgrade(UpgradeId(i))))
        .collect()
}

/// The site itself, then what it holds.
fn contained_nodes(t: &Topology, id: DcId) -> Vec<GraphNode> {
    let dc = t.dc(id);
    std::iter::once(GraphNode::Datacenter(id))
        .chain(dc.datasources.iter().map(|&d| GraphNode::Datasource(d)))
        .chain(dc.file_shares.iter().map(|&f| GraphNode::FileShare(f)))
        .chain(dc.clusters.iter().map(|&c| GraphNode::Cluster(c)))
        .chain(
            dc.load_balancers
                .iter()
                .map(|&l| GraphNode::LoadBalancer(l)),
        )
        .collect()
}

/// The dependency edges (containment left out: it is drawn as boxes), in
/// a stable order.
fn edges(t: &Topology, g: &DepGraph) -> Vec<(GraphNode, GraphNode, EdgeKind)> {
    let mut out: Vec<_> = g
        .graph
        .edge_references()
        .filter(|e| e.weight().kind != EdgeKind::LocatedIn)
        .map(|e| (g.graph[e.source()], g.graph[e.target()], e.weight().kind))
        .collect();
    out.sort_by(|a, b| {
        (node_id(t, a.0), node_id(t, a.1), a.2).cmp(&(node_id(t, b.0), node_id(t, b.1), b.2))
    });
    out.dedup();
    out
}

/// The label: the name, what kind of object, then its facts, one a line.
fn label_lines(t: &Topology, node: GraphNode) -> Vec<String> {
    let kind = match node {
        GraphNode::Datacenter(_) => "datacenter",
        GraphNode::Cluster(_) => "cluster",
        GraphNode::Datasource(_) => "datasource",
        GraphNode::FileShare(_) => "file share",
        GraphNode::ArtifactServer(_) => "artifact server",
        GraphNode::LoadBalancer(_) => "load balancer",
        GraphNode::Upgrade(_) => "upgrade",
    };
    let mut lines = vec![name_of(t, node).to_string(), format!("({kind})")];
    lines.extend(facts(t, node));
    lines
}

// ------------------------------------------------------------------ DOT

fn dot_node(out: &mut String, t: &Topology, node: GraphNode, indent: &str) {
    let (shape, fill) = match node {
        GraphNode::Datacenter(_) => ("tab", "#dde3ee"),
        GraphNode::Cluster(_) => ("box", "#e3f0ff"),
        GraphNode::Datasource(_) => ("cylinder", "#fff4d6"),
        GraphNode::FileShare(_) => ("folder", "#eef7e6"),
        GraphNode::ArtifactServer(_) => ("component", "#f3e8fb"),
        GraphNode::LoadBalancer(_) => ("invhouse", "#e6f7f5"),
        GraphNode::Upgrade(_) => ("note", "#fdeaea"),
    };
    let label = label_lines(t, node).join("\n");
    let _ = writeln!(
        out,
        "{indent}{} [label={}, shape={shape}, fillcolor=\"{fill}\"];",
        dot_string(&node_id(t, node)),
        dot_string(&label)
    );
}

/// A DOT double-quoted string: `"` and `\` escaped (a backslash would
/// otherwise start an escape such as `\N`), line breaks as `\n`, other
/// control characters as spaces.
pub fn dot_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

// ------------------------------------------------------------------ Mermaid

fn mermaid_id(node: GraphNode) -> String {
    match node {
        GraphNode::Datacenter(id) => format!("dc{}", id.0),
        GraphNode::Cluster(id) => format!("cluster{}", id.0),
        GraphNode::Datasource(id) => format!("ds{}", id.0),
        GraphNode::FileShare(id) => format!("fs{}", id.0),
        GraphNode::ArtifactServer(id) => format!("artifacts{}", id.0),
        GraphNode::LoadBalancer(id) => format!("lb{}", id.0),
        GraphNode::Upgrade(id) => format!("upgrade{}", id.0),
    }
}

fn mermaid_subgraph_id(id: DcId) -> String {
    format!("site{}", id.0)
}

fn mermaid_node(out: &mut String, t: &Topology, node: GraphNode, indent: &str) {
    let label = label_lines(t, node)
        .iter()
        .map(|line| mermaid_text(line))
        .collect::<Vec<_>>()
        .join("<br/>");
    let (open, close) = match node {
        GraphNode::Datacenter(_) => ("[/", "/]"),
        GraphNode::Datasource(_) => ("[(", ")]"),
        GraphNode::LoadBalancer(_) => ("{{", "}}"),
        GraphNode::Upgrade(_) => (">", "]"),
        _ => ("(", ")"),
    };
    let _ = writeln!(out, "{indent}{}{open}\"{label}\"{close}", mermaid_id(node));
}

/// Text for inside a quoted Mermaid label: letters, digits and plain
/// punctuation as they are, every other ASCII character as an entity code
/// (`#34;` for `"`), control characters as spaces.
pub fn mermaid_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            out.push(' ');
        } else if c.is_ascii_alphanumeric()
            || matches!(c, ' ' | '.' | ',' | ':' | '/' | '_' | '-' | '(' | ')')
        {
            out.push(c);
        } else if c.is_ascii() {
            let _ = write!(out, "#{};", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_strings_are_escaped() {
        assert_eq!(dot_string("a\"b\\N\nc\t"), "\"a\\\"b\\\\N\\nc \"");
        assert_eq!(dot_string("<{#}|>"), "\"<{#}|>\"");
    }

    #[test]
    fn mermaid_text_is_escaped() {
        assert_eq!(mermaid_text("a\"b#c"), "a#34;b#35;c");
        assert_eq!(
            mermaid_text("<x>|[y]{z};%(a)"),
            "#60;x#62;#124;#91;y#93;#123;z#125;#59;#37;(a)"
        );
        assert_eq!(
            mermaid_text("\u{e9}t\u{e9} 1.2:3/4_5-6"),
            "\u{e9}t\u{e9} 1.2:3/4_5-6"
        );
    }
}
