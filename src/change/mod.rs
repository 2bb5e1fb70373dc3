//! What a commit changes: the topology before it and after it, compared as
//! models (datacenters, clusters, nodes, version, update level, where the
//! databases live) and as the artifacts both sides build (a node whose
//! deployment.toml, container or host definition changes needs a rolling
//! restart). Each difference is a [`Change`]; what cannot be done in place
//! is `unsupported`, with a diagnostic that says what to do instead. The
//! planner turns the changes into one runbook (`plan --since REV`,
//! `plan --from OLD`).

pub mod artifacts;
pub mod git;

use std::collections::BTreeSet;

use serde::Serialize;

use crate::Checked;
use crate::diagnostics::Diagnostic;
use crate::lints::change::CH001;
use crate::model::{Topology, UpgradeKind};
use crate::source::{SourceMap, Span, display_path};

/// The kinds of change a commit makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeKind {
    /// A cluster gains nodes.
    ScaleOut,
    /// A cluster loses nodes.
    ScaleIn,
    AddCluster,
    RemoveCluster,
    AddDatacenter,
    RemoveDatacenter,
    /// The topology's version moves up: WSO2's version upgrade.
    VersionUpgrade,
    /// The version moves up on a new deployment beside the current one
    /// (the commit's `upgrade` block of kind `migration` says so).
    Migration,
    /// A new update level.
    Patch,
    /// A node's configuration (deployment.toml, its container or host
    /// definition) changes: a rolling restart.
    ConfigChange,
    /// What cannot be done safely in place.
    Unsupported,
}

impl ChangeKind {
    pub fn name(self) -> &'static str {
        match self {
            ChangeKind::ScaleOut => "scale-out",
            ChangeKind::ScaleIn => "scale-in",
            ChangeKind::AddCluster => "add-cluster",
            ChangeKind::RemoveCluster => "remove-cluster",
            ChangeKind::AddDatacenter => "add-datacenter",
            ChangeKind::RemoveDatacenter => "remove-datacenter",
            ChangeKind::VersionUpgrade => "version-upgrade",
            ChangeKind::Migration => "migration",
            ChangeKind::Patch => "patch",
            ChangeKind::ConfigChange => "config-change",
            ChangeKind::Unsupported => "unsupported",
        }
    }
}

/// Where a change is written: a file, line and column of the side that has
/// it (the commit's, or, for what it removes, the revision's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// `new` (the working tree or the newer file) or `old`.
    pub side: &'static str,
}

/// One difference between the two sides.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub kind: ChangeKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datacenter: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub span: Option<Location>,
    /// What changed, or what to do instead (unsupported).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Where an unsupported change is written in the commit's files.
    #[serde(skip)]
    pub origin: Option<Span>,
}

/// The changes between two checked topologies, and the diagnostics about
/// them (CH001 for each unsupported one).
#[derive(Debug, Clone, Default)]
pub struct ChangeSet {
    pub changes: Vec<Change>,
    pub diagnostics: Vec<Diagnostic>,
}

impl ChangeSet {
    /// Whether the set holds a change of this kind.
    pub fn has(&self, kind: ChangeKind) -> bool {
        self.changes.iter().any(|c| c.kind == kind)
    }

    /// Whether a cluster (by datacenter and name) has a change of `kind`.
    pub fn of(&self, kind: ChangeKind, datacenter: &str, cluster: &str) -> Option<&Change> {
        self.changes.iter().find(|c| {
            c.kind == kind
                && c.datacenter.as_deref() == Some(datacenter)
                && c.cluster.as_deref() == Some(cluster)
        })
    }
}

struct Sides<'a> {
    old: &'a Checked,
    new: &'a Checked,
}

impl Sides<'_> {
    fn at(&self, span: Span, side: &'static str) -> Location {
        let sources: &SourceMap = if side == "new" {
            &self.new.sources
        } else {
            &self.old.sources
        };
        let (start, _) = sources.line_col(span);
        Location {
            file: display_path(&sources.get(span.file).path),
            line: start.line,
            column: start.column,
            side,
        }
    }
}

fn version_text(t: &Topology) -> Option<String> {
    t.version.as_ref().map(|v| v.value.to_string())
}

/// Compare the topology before (`old`) and after (`new`). Both must check
/// without errors.
pub fn classify(old: &Checked, new: &Checked) -> ChangeSet {
    let sides = Sides { old, new };
    let (o, n) = (&old.topology, &new.topology);
    let mut set = ChangeSet::default();
    let push = |set: &mut ChangeSet, change: Change| set.changes.push(change);

    // The version: a version upgrade (or the commit's migration block says
    // the new version runs beside the current one).
    let (from, to) = (version_text(o), version_text(n));
    if from != to {
        let migration = n.upgrades.iter().any(|u| {
            u.kind() == Some(UpgradeKind::Migration)
                && u.to_version.as_ref().map(|v| v.value.to_string()) == to
        });
        push(
            &mut set,
            Change {
                kind: if migration {
                    ChangeKind::Migration
                } else {
                    ChangeKind::VersionUpgrade
                },
                datacenter: None,
                cluster: None,
                from: from.clone(),
                to: to.clone(),
                span: n.version.as_ref().map(|v| sides.at(v.span, "new")),
                note: None,
                origin: None,
            },
        );
    } else if n.name != o.name {
        push(
            &mut set,
            unsupported(
                &sides,
                None,
                None,
                Some(o.name.clone()),
                Some(n.name.clone()),
                n.span,
                "a topology's name names its deployment (namespaces, projects, hosts): rename it as a migration, a new deployment beside the current one",
            ),
        );
    }
    let (level_from, level_to) = (
        o.update_level.as_ref().map(|l| l.value),
        n.update_level.as_ref().map(|l| l.value),
    );
    if level_from != level_to && from_eq(&o.version, &n.version) {
        push(
            &mut set,
            Change {
                kind: ChangeKind::Patch,
                datacenter: None,
                cluster: None,
                from: level_from.map(|l| l.to_string()),
                to: level_to.map(|l| l.to_string()),
                span: n.update_level.as_ref().map(|l| sides.at(l.span, "new")),
                note: None,
                origin: None,
            },
        );
    }

    // Datacenters, by name.
    for dc in &n.datacenters {
        match o.datacenters.iter().find(|d| d.name == dc.name) {
            None => push(
                &mut set,
                Change {
                    kind: ChangeKind::AddDatacenter,
                    datacenter: Some(dc.name.clone()),
                    cluster: None,
                    from: None,
                    to: dc.role().map(|r| r.name().to_string()),
                    span: Some(sides.at(dc.span, "new")),
                    note: None,
                    origin: None,
                },
            ),
            Some(before) if before.role() != dc.role() => push(
                &mut set,
                unsupported(
                    &sides,
                    Some(&dc.name),
                    None,
                    before.role().map(|r| r.name().to_string()),
                    dc.role().map(|r| r.name().to_string()),
                    dc.role.as_ref().map(|r| r.span).unwrap_or(dc.span),
                    "a datacenter changes role by a failover (topoc plan --failover) or as a datacenter added and another removed, not in place",
                ),
            ),
            Some(before) if before.domain != dc.domain => push(
                &mut set,
                unsupported(
                    &sides,
                    Some(&dc.name),
                    None,
                    Some(before.domain.clone()),
                    Some(dc.domain.clone()),
                    dc.span,
                    "every host name of the datacenter moves with its domain: add a datacenter with the new domain, move the traffic to it, then remove this one",
                ),
            ),
            Some(_) => {}
        }
    }
    for dc in &o.datacenters {
        if !n.datacenters.iter().any(|d| d.name == dc.name) {
            push(
                &mut set,
                Change {
                    kind: ChangeKind::RemoveDatacenter,
                    datacenter: Some(dc.name.clone()),
                    cluster: None,
                    from: dc.role().map(|r| r.name().to_string()),
                    to: None,
                    span: Some(sides.at(dc.span, "old")),
                    note: None,
                    origin: None,
                },
            );
        }
    }

    // Clusters, by datacenter and name.
    let dc_of = |t: &Topology, c: &crate::model::Cluster| t.dc(c.datacenter).name.clone();
    for cluster in &n.clusters {
        let dc = dc_of(n, cluster);
        let before = o
            .clusters
            .iter()
            .find(|c| c.name == cluster.name && dc_of(o, c) == dc);
        let Some(before) = before else {
            if o.datacenters.iter().any(|d| d.name == dc) {
                push(
                    &mut set,
                    Change {
                        kind: ChangeKind::AddCluster,
                        datacenter: Some(dc.clone()),
                        cluster: Some(cluster.name.clone()),
                        from: None,
                        to: cluster.profile().map(|p| p.name().to_string()),
                        span: Some(sides.at(cluster.span, "new")),
                        note: None,
                        origin: None,
                    },
                );
            }
            continue;
        };
        if before.profile() != cluster.profile() {
            push(
                &mut set,
                unsupported(
                    &sides,
                    Some(&dc),
                    Some(&cluster.name),
                    before.profile().map(|p| p.name().to_string()),
                    cluster.profile().map(|p| p.name().to_string()),
                    cluster
                        .profile
                        .as_ref()
                        .map(|p| p.span)
                        .unwrap_or(cluster.span),
                    "a cluster's profile is what its nodes are: add a cluster with the new profile, move its clients to it, then remove this one",
                ),
            );
            continue;
        }
        if before.ha_mode() != cluster.ha_mode() {
            push(
                &mut set,
                unsupported(
                    &sides,
                    Some(&dc),
                    Some(&cluster.name),
                    Some(before.ha_mode().name().to_string()),
                    Some(cluster.ha_mode().name().to_string()),
                    cluster.ha_span(),
                    "changing a cluster's HA mode changes how its nodes are addressed and routed: add a cluster with the new mode beside it, move the traffic, then remove this one",
                ),
            );
            continue;
        }
        let (was, is) = (before.node_count(), cluster.node_count());
        if was != is {
            push(
                &mut set,
                Change {
                    kind: if is > was {
                        ChangeKind::ScaleOut
                    } else {
                        ChangeKind::ScaleIn
                    },
                    datacenter: Some(dc.clone()),
                    cluster: Some(cluster.name.clone()),
                    from: Some(was.to_string()),
                    to: Some(is.to_string()),
                    span: Some(
                        sides.at(
                            cluster
                                .nodes
                                .as_ref()
                                .map(|n| n.span)
                                .unwrap_or(cluster.span),
                            "new",
                        ),
                    ),
                    note: None,
                    origin: None,
                },
            );
        }
    }
    for cluster in &o.clusters {
        let dc = dc_of(o, cluster);
        let kept = n
            .clusters
            .iter()
            .any(|c| c.name == cluster.name && dc_of(n, c) == dc);
        if !kept && n.datacenters.iter().any(|d| d.name == dc) {
            push(
                &mut set,
                Change {
                    kind: ChangeKind::RemoveCluster,
                    datacenter: Some(dc.clone()),
                    cluster: Some(cluster.name.clone()),
                    from: cluster.profile().map(|p| p.name().to_string()),
                    to: None,
                    span: Some(sides.at(cluster.span, "old")),
                    note: None,
                    origin: None,
                },
            );
        }
    }

    // Databases that move: their data does not follow by a restart.
    for ds in &n.datasources {
        let Some(before) = o.datasources.iter().find(|d| d.name == ds.name) else {
            continue;
        };
        let place = |d: &crate::model::Datasource| {
            format!(
                "{} {}:{}/{}",
                d.engine.map(|e| e.name()).unwrap_or("?"),
                d.host.as_deref().unwrap_or("?"),
                d.port,
                d.database.as_deref().unwrap_or("?")
            )
        };
        // A version upgrade's new build uses the migrated copy of each
        // database (`<database>_<version>` on the same server).
        let migrated_copy = to.as_ref().is_some_and(|to| {
            from != Some(to.clone())
                && before.host == ds.host
                && before.engine == ds.engine
                && before.port == ds.port
                && ds.database.as_deref()
                    == before
                        .database
                        .as_ref()
                        .map(|d| format!("{d}_{}", to.replace('.', "_")))
                        .as_deref()
        });
        if place(before) != place(ds) && !migrated_copy {
            push(
                &mut set,
                unsupported(
                    &sides,
                    Some(&n.dc(ds.datacenter).name),
                    None,
                    Some(format!("{} at {}", before.name, place(before))),
                    Some(format!("{} at {}", ds.name, place(ds))),
                    ds.span,
                    "moving a datasource moves its data: copy it first (a replica of the current database, promoted when it has caught up, or a dump and restore in a window), then commit the new place",
                ),
            );
        }
    }

    // A version change is a runbook of its own: it changes every node.
    if set.has(ChangeKind::VersionUpgrade) || set.has(ChangeKind::Migration) {
        let others: Vec<&Change> = set
            .changes
            .iter()
            .filter(|c| {
                !matches!(
                    c.kind,
                    ChangeKind::VersionUpgrade | ChangeKind::Migration | ChangeKind::Unsupported
                )
            })
            .collect();
        if let Some(first) = others.first() {
            let first = (*first).clone();
            let span = n.version.as_ref().map(|v| v.span).unwrap_or(n.span);
            set.changes.push(unsupported(
                &sides,
                first.datacenter.as_deref(),
                first.cluster.as_deref(),
                None,
                Some(first.kind.name().to_string()),
                span,
                "a version change is planned on its own (every node changes): commit it alone, and the other changes before or after it",
            ));
        }
    } else {
        config_changes(&sides, &mut set);
    }
    set.diagnostics = set
        .changes
        .iter()
        .filter(|c| c.kind == ChangeKind::Unsupported)
        .map(|c| diagnostic(new, old, c))
        .collect();
    set
}

fn from_eq<T: PartialEq>(
    a: &Option<crate::model::Spanned<T>>,
    b: &Option<crate::model::Spanned<T>>,
) -> bool {
    a.as_ref().map(|x| &x.value) == b.as_ref().map(|x| &x.value)
}

fn unsupported(
    sides: &Sides,
    datacenter: Option<&str>,
    cluster: Option<&str>,
    from: Option<String>,
    to: Option<String>,
    span: Span,
    instead: &str,
) -> Change {
    Change {
        kind: ChangeKind::Unsupported,
        datacenter: datacenter.map(str::to_string),
        cluster: cluster.map(str::to_string),
        from,
        to,
        span: Some(sides.at(span, "new")),
        note: Some(instead.to_string()),
        origin: Some(span),
    }
}

/// CH001 for an unsupported change, at its place in the commit.
fn diagnostic(new: &Checked, _old: &Checked, change: &Change) -> Diagnostic {
    let what = match (&change.from, &change.to) {
        (Some(from), Some(to)) => format!("`{from}` to `{to}`"),
        (None, Some(to)) => format!("with `{to}`"),
        (Some(from), None) => format!("from `{from}`"),
        (None, None) => String::new(),
    };
    let place = match (&change.datacenter, &change.cluster) {
        (Some(dc), Some(c)) => format!(" (cluster `{c}` of datacenter `{dc}`)"),
        (Some(dc), None) => format!(" (datacenter `{dc}`)"),
        _ => String::new(),
    };
    let span = change.origin.unwrap_or(new.topology.span);
    Diagnostic::new(
        &CH001,
        span,
        format!("this change cannot be made in place: {what}{place}").replace(":  (", ": ("),
    )
    .label("unsupported change")
    .help(change.note.clone().unwrap_or_default())
}

/// Clusters on both sides whose nodes' artifacts differ (on any target):
/// their configuration, container or host definition. Images are compared
/// without their tags (a new update level is a patch of every node).
fn config_changes(sides: &Sides, set: &mut ChangeSet) {
    let (Ok(old), Ok(new)) = (
        artifacts::cluster_fingerprints(sides.old),
        artifacts::cluster_fingerprints(sides.new),
    ) else {
        return;
    };
    let replaced: BTreeSet<(String, String)> = set
        .changes
        .iter()
        .filter(|c| matches!(c.kind, ChangeKind::Unsupported))
        .filter_map(|c| Some((c.datacenter.clone()?, c.cluster.clone()?)))
        .collect();
    for ((dc, cluster), fingerprint) in &new {
        let Some(before) = old.get(&(dc.clone(), cluster.clone())) else {
            continue;
        };
        if replaced.contains(&(dc.clone(), cluster.clone())) {
            continue;
        }
        let changed = before.changed_in(fingerprint);
        if changed.is_empty() {
            continue;
        }
        let span = sides
            .new
            .topology
            .clusters
            .iter()
            .find(|c| c.name == *cluster)
            .map(|c| sides.at(c.span, "new"));
        set.changes.push(Change {
            kind: ChangeKind::ConfigChange,
            datacenter: Some(dc.clone()),
            cluster: Some(cluster.clone()),
            from: None,
            to: None,
            span,
            note: Some(format!("changes {}", changed.join(", "))),
            origin: None,
        });
    }
}
