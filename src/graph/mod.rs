//! The dependency graph over the model: datacenters, clusters,
//! datasources, file shares, artifact servers, load balancers and upgrades.
//! An edge goes from the dependent object to what it needs
//! (`gateway -> control_plane` for `key_manager = control_plane`).
//! [`to_dot`], [`to_mermaid`] and [`to_json`] draw it.

mod render;

pub use render::{dot_string, facts, mermaid_text, node_id, to_dot, to_json, to_mermaid};

use std::collections::HashMap;

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use serde::Serialize;

use crate::diagnostics::Diagnostic;
use crate::lints::language::E008;
use crate::model::*;
use crate::source::Span;

/// A vertex: one model object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", content = "index", rename_all = "snake_case")]
pub enum GraphNode {
    /// A `datacenter` block.
    Datacenter(DcId),
    /// A `cluster` block.
    Cluster(ClusterId),
    /// A `datasource` block.
    Datasource(DsId),
    /// A `file_share` block.
    FileShare(FsId),
    /// An `artifact_server` block.
    ArtifactServer(ArtifactId),
    /// A `load_balancer` block.
    LoadBalancer(LbId),
    /// An `upgrade` block.
    Upgrade(UpgradeId),
}

/// Why one object depends on another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    /// The object sits in this datacenter.
    LocatedIn,
    /// A datacenter replicates another (`replicates`).
    Replicates,
    /// A datasource is a replica of another (`replica_of`).
    ReplicaOf,
    /// A datacenter takes its artifacts from an artifact server
    /// (`artifact_source`).
    ArtifactSource,
    /// A cluster uses a datasource (`datasources`).
    UsesDatasource,
    /// A cluster uses a file share (`file_share`).
    UsesFileShare,
    /// A cluster validates tokens with another cluster (`key_manager`).
    KeyManager,
    /// A cluster's throttling is decided by another cluster (`traffic_manager`).
    TrafficManager,
    /// A load balancer sends traffic to a cluster (`fronts`).
    Fronts,
    /// An upgrade changes a cluster (`clusters`).
    Upgrades,
}

impl EdgeKind {
    /// The attribute that makes the edge (for labels and messages).
    pub fn label(self) -> &'static str {
        match self {
            EdgeKind::LocatedIn => "in",
            EdgeKind::Replicates => "replicates",
            EdgeKind::ReplicaOf => "replica_of",
            EdgeKind::ArtifactSource => "artifact_source",
            EdgeKind::UsesDatasource => "datasources",
            EdgeKind::UsesFileShare => "file_share",
            EdgeKind::KeyManager => "key_manager",
            EdgeKind::TrafficManager => "traffic_manager",
            EdgeKind::Fronts => "fronts",
            EdgeKind::Upgrades => "clusters",
        }
    }
}

/// An edge with the span of the attribute that made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edge {
    /// Why the source depends on the target.
    pub kind: EdgeKind,
    /// The attribute value that made the edge.
    pub span: Span,
}

/// The dependency graph of a topology: one vertex per model object, an edge
/// from each dependent object to what it needs.
#[derive(Debug, Clone, Default)]
pub struct DepGraph {
    /// The graph itself, for the algorithms and renderers; vertices are added
    /// in a fixed order (datacenters, artifact servers, datasources, file
    /// shares, clusters, load balancers, upgrades).
    pub graph: DiGraph<GraphNode, Edge>,
    index: HashMap<GraphNode, NodeIndex>,
}

impl DepGraph {
    /// Build the graph of a lowered topology, each edge carrying the span of
    /// the attribute that made it.
    pub fn build(t: &Topology) -> DepGraph {
        let mut g = DepGraph::default();
        for i in 0..t.datacenters.len() {
            g.add(GraphNode::Datacenter(DcId(i)));
        }
        for i in 0..t.artifact_servers.len() {
            g.add(GraphNode::ArtifactServer(ArtifactId(i)));
        }
        for i in 0..t.datasources.len() {
            g.add(GraphNode::Datasource(DsId(i)));
        }
        for i in 0..t.file_shares.len() {
            g.add(GraphNode::FileShare(FsId(i)));
        }
        for i in 0..t.clusters.len() {
            g.add(GraphNode::Cluster(ClusterId(i)));
        }
        for i in 0..t.load_balancers.len() {
            g.add(GraphNode::LoadBalancer(LbId(i)));
        }
        for i in 0..t.upgrades.len() {
            g.add(GraphNode::Upgrade(UpgradeId(i)));
        }

        for (i, dc) in t.datacenters.iter().enumerate() {
            let from = GraphNode::Datacenter(DcId(i));
            if let Some(r) = &dc.replicates {
                g.link(
                    from,
                    GraphNode::Datacenter(r.value),
                    EdgeKind::Replicates,
                    r.span,
                );
            }
            if let Some(a) = &dc.artifact_source {
                g.link(
                    from,
                    GraphNode::ArtifactServer(a.value),
                    EdgeKind::ArtifactSource,
                    a.span,
                );
            }
        }
        for (i, ds) in t.datasources.iter().enumerate() {
            let from = GraphNode::Datasource(DsId(i));
            g.link(
                from,
                GraphNode::Datacenter(ds.datacenter),
                EdgeKind::LocatedIn,
                ds.span,
            );
            if let Some(r) = &ds.replica_of {
                g.link(
                    from,
                    GraphNode::Datasource(r.value),
                    EdgeKind::ReplicaOf,
                    r.span,
                );
            }
        }
        for (i, fs) in t.file_shares.iter().enumerate() {
            g.link(
                GraphNode::FileShare(FsId(i)),
                GraphNode::Datacenter(fs.datacenter),
                EdgeKind::LocatedIn,
                fs.span,
            );
        }
        for (i, c) in t.clusters.iter().enumerate() {
            let from = GraphNode::Cluster(ClusterId(i));
            g.link(
                from,
                GraphNode::Datacenter(c.datacenter),
                EdgeKind::LocatedIn,
                c.span,
            );
            for ds in &c.datasources {
                g.link(
                    from,
                    GraphNode::Datasource(ds.value),
                    EdgeKind::UsesDatasource,
                    ds.span,
                );
            }
            if let Some(fs) = &c.file_share {
                g.link(
                    from,
                    GraphNode::FileShare(fs.value),
                    EdgeKind::UsesFileShare,
                    fs.span,
                );
            }
            if let Some(km) = &c.key_manager {
                g.link(
                    from,
                    GraphNode::Cluster(km.value),
                    EdgeKind::KeyManager,
                    km.span,
                );
            }
            if let Some(tm) = &c.traffic_manager {
                g.link(
                    from,
                    GraphNode::Cluster(tm.value),
                    EdgeKind::TrafficManager,
                    tm.span,
                );
            }
        }
        for (i, lb) in t.load_balancers.iter().enumerate() {
            let from = GraphNode::LoadBalancer(LbId(i));
            g.link(
                from,
                GraphNode::Datacenter(lb.datacenter),
                EdgeKind::LocatedIn,
                lb.span,
            );
            for c in &lb.fronts {
                g.link(from, GraphNode::Cluster(c.value), EdgeKind::Fronts, c.span);
            }
        }
        for (i, u) in t.upgrades.iter().enumerate() {
            let from = GraphNode::Upgrade(UpgradeId(i));
            if let Some(list) = &u.clusters {
                for c in &list.value {
                    g.link(
                        from,
                        GraphNode::Cluster(c.value),
                        EdgeKind::Upgrades,
                        c.span,
                    );
                }
            }
        }
        g
    }

    fn add(&mut self, node: GraphNode) {
        let index = self.graph.add_node(node);
        self.index.insert(node, index);
    }

    fn link(&mut self, from: GraphNode, to: GraphNode, kind: EdgeKind, span: Span) {
        let (Some(&a), Some(&b)) = (self.index.get(&from), self.index.get(&to)) else {
            return;
        };
        self.graph.add_edge(a, b, Edge { kind, span });
    }

    /// The graph index of a model object, if it is in the graph.
    pub fn node_index(&self, node: GraphNode) -> Option<NodeIndex> {
        self.index.get(&node).copied()
    }

    /// What `node` depends on, with the edge kinds.
    pub fn dependencies(&self, node: GraphNode) -> Vec<(GraphNode, EdgeKind)> {
        let Some(index) = self.node_index(node) else {
            return Vec::new();
        };
        let mut out: Vec<_> = self
            .graph
            .edges(index)
            .map(|e| (self.graph[e.target()], e.weight().kind))
            .collect();
        out.sort();
        out
    }

    /// Report every dependency cycle (E008), naming each member.
    pub fn report_cycles(&self, t: &Topology, out: &mut Vec<Diagnostic>) {
        let mut cycles: Vec<Vec<NodeIndex>> = tarjan_scc(&self.graph)
            .into_iter()
            .filter(|scc| scc.len() > 1 || self.graph.contains_edge(scc[0], scc[0]))
            .collect();
        for scc in &mut cycles {
            scc.sort_by_key(|&n| self.graph[n]);
        }
        cycles.sort_by_key(|scc| self.graph[scc[0]]);
        for scc in cycles {
            let path = self.cycle_path(&scc);
            let mut text = Vec::new();
            let mut related = Vec::new();
            for &(node, edge) in &path {
                text.push(format!(
                    "{} -[{}]->",
                    describe(t, self.graph[node]),
                    edge.kind.label()
                ));
                related.push((
                    edge.span,
                    format!(
                        "{} {} `{}`",
                        describe(t, self.graph[node]),
                        edge.kind.label(),
                        name_of(t, self.graph[self.edge_target(node, edge)])
                    ),
                ));
            }
            let first = path[0].0;
            text.push(describe(t, self.graph[first]));
            let members: Vec<String> = scc.iter().map(|&n| describe(t, self.graph[n])).collect();
            let mut d = Diagnostic::new(
                &E008,
                path[0].1.span,
                format!("dependency cycle among {}: {}", members.join(", "), text.join(" ")),
            )
            .label("this reference starts the cycle")
            .help("break the cycle: replication and key/traffic managers must lead back to one origin");
            for (span, message) in related.into_iter().skip(1) {
                d = d.related(span, message);
            }
            out.push(d);
        }
    }

    fn edge_target(&self, from: NodeIndex, edge: Edge) -> NodeIndex {
        self.graph
            .edges(from)
            .find(|e| *e.weight() == edge)
            .map(|e| e.target())
            .unwrap_or(from)
    }

    /// A cycle through the members of a strongly connected component,
    /// starting at its first member, as (node, outgoing edge) pairs.
    fn cycle_path(&self, scc: &[NodeIndex]) -> Vec<(NodeIndex, Edge)> {
        let start = scc[0];
        // Breadth-first search inside the component back to `start`.
        let mut previous: HashMap<NodeIndex, (NodeIndex, Edge)> = HashMap::new();
        let mut queue = std::collections::VecDeque::from([start]);
        while let Some(node) = queue.pop_front() {
            let mut edges: Vec<_> = self
                .graph
                .edges(node)
                .filter(|e| scc.contains(&e.target()))
                .collect();
            edges.sort_by_key(|e| (self.graph[e.target()], e.weight().kind));
            for e in edges {
                let target = e.target();
                if target == start {
                    let mut path = vec![(node, *e.weight())];
                    let mut current = node;
                    while current != start {
                        let (prev, edge) = previous[&current];
                        path.push((prev, edge));
                        current = prev;
                    }
                    path.reverse();
                    return path;
                }
                if let std::collections::hash_map::Entry::Vacant(entry) = previous.entry(target) {
                    entry.insert((node, *e.weight()));
                    queue.push_back(target);
                }
            }
        }
        Vec::new()
    }
}

/// `datacenter `london``
pub fn describe(t: &Topology, node: GraphNode) -> String {
    let kind = match node {
        GraphNode::Datacenter(_) => "datacenter",
        GraphNode::Cluster(_) => "cluster",
        GraphNode::Datasource(_) => "datasource",
        GraphNode::FileShare(_) => "file share",
        GraphNode::ArtifactServer(_) => "artifact server",
        GraphNode::LoadBalancer(_) => "load balancer",
        GraphNode::Upgrade(_) => "upgrade",
    };
    format!("{kind} `{}`", name_of(t, node))
}

/// The name of a node's object, as written in its block.
pub fn name_of(t: &Topology, node: GraphNode) -> &str {
    match node {
        GraphNode::Datacenter(id) => &t.datacenters[id.0].name,
        GraphNode::Cluster(id) => &t.clusters[id.0].name,
        GraphNode::Datasource(id) => &t.datasources[id.0].name,
        GraphNode::FileShare(id) => &t.file_shares[id.0].name,
        GraphNode::ArtifactServer(id) => &t.artifact_servers[id.0].name,
        GraphNode::LoadBalancer(id) => &t.load_balancers[id.0].name,
        GraphNode::Upgrade(id) => &t.upgrades[id.0].name,
    }
}

/// The span of a node's object: its block header.
pub fn span_of(t: &Topology, node: GraphNode) -> Span {
    match node {
        GraphNode::Datacenter(id) => t.datacenters[id.0].span,
        GraphNode::Cluster(id) => t.clusters[id.0].span,
        GraphNode::Datasource(id) => t.datasources[id.0].span,
        GraphNode::FileShare(id) => t.file_shares[id.0].span,
        GraphNode::ArtifactServer(id) => t.artifact_servers[id.0].span,
        GraphNode::LoadBalancer(id) => t.load_balancers[id.0].span,
        GraphNode::Upgrade(id) => t.upgrades[id.0].span,
    }
}
