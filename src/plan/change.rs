//! The runbook of a commit (`topoc plan PATH --since REV`): the changes
//! [`crate::change::classify`] found, made in one runbook by the same
//! planner and simulator as `upgrade` blocks. It runs from the current
//! build's folder with `NEXT_BUILD` the commit's build, as a version
//! upgrade does.
//!
//! The order: on Puppet the commit's build is staged as an environment;
//! new nodes and clusters start in start order and are tested while
//! nothing routes to them; each datacenter's load balancers (and Services)
//! then take the commit's routes, which brings the new nodes in and takes
//! the removed ones out; the clusters whose configuration changes (or all,
//! for a new update level) roll one node at a time; a new datacenter
//! starts and opens; removed nodes and clusters stop; a removed
//! datacenter leaves DNS, then stops. A version change is a version
//! upgrade (or a migration), planned on its own.

use std::collections::BTreeSet;

use super::generate::{self, Builder, Change as Roll};
use super::{Action, Detail, Draft, Effect, Generation, Input, Plan, Target};
use crate::Checked;
use crate::change::{ChangeKind, ChangeSet};
use crate::deployment::{Deployment, Site};
use crate::model::{Spanned, Upgrade, UpgradeKind};

/// What the commands and the simulator of a change plan need to know.
#[derive(Debug, Clone, Default)]
pub(crate) struct ChangeContext {
    /// The nodes that run before the commit, by datacenter and node name.
    pub before: BTreeSet<(String, String)>,
    /// The nodes of the commit.
    pub after: BTreeSet<(String, String)>,
    /// The Puppet environment the commit's build is staged in.
    pub environment: String,
    /// The commit brings a new update level (Puppet nodes run the update
    /// tool when they move to the new build).
    pub patch: bool,
}

impl ChangeContext {
    pub fn is_new(&self, site: &str, node: &str) -> bool {
        !self.before.contains(&(site.to_string(), node.to_string()))
    }

    pub fn is_removed(&self, site: &str, node: &str) -> bool {
        !self.after.contains(&(site.to_string(), node.to_string()))
    }
}

fn nodes(d: &Deployment) -> BTreeSet<(String, String)> {
    d.sites
        .iter()
        .flat_map(|s| {
            s.clusters
                .iter()
                .flat_map(|c| c.nodes.iter().map(|n| (s.name.clone(), n.name.clone())))
        })
        .collect()
}

/// The commit's deployment with what it removes kept (appended), so every
/// step names a datacenter, cluster and node the commands can resolve.
fn union(old: &Deployment, new: &Deployment) -> Deployment {
    let mut out = new.clone();
    for site in &old.sites {
        let Some(kept) = out.sites.iter_mut().find(|s| s.name == site.name) else {
            out.sites.push(site.clone());
            continue;
        };
        for cluster in &site.clusters {
            let Some(now) = kept.clusters.iter_mut().find(|c| c.label == cluster.label) else {
                kept.clusters.push(cluster.clone());
                continue;
            };
            // Until the commit is made, the traffic it plans for is not
            // yet the traffic there is: the runbook is held to the higher
            // of both floors.
            now.required_rps = match (now.required_rps, cluster.required_rps) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            for node in &cluster.nodes {
                if !now.nodes.iter().any(|n| n.name == node.name) {
                    now.nodes.push(node.clone());
                }
            }
        }
    }
    out
}

/// The upgrade a version change runs: the commit's own `upgrade` block of
/// that kind and version when it has one (its window, surge, token sync
/// and cutover), else one with the defaults.
fn version_upgrade(new: &Checked, kind: UpgradeKind) -> Upgrade {
    let t = &new.topology;
    let to = t.version.clone();
    if let Some(block) = t.upgrades.iter().find(|u| {
        u.kind() == Some(kind)
            && u.to_version.as_ref().map(|v| &v.value) == to.as_ref().map(|v| &v.value)
    }) {
        return block.clone();
    }
    Upgrade {
        name: format!(
            "to_{}",
            to.as_ref()
                .map(|v| v.value.to_string().replace('.', "_"))
                .unwrap_or_default()
        ),
        span: t.span,
        kind: Some(Spanned::new(kind, t.span)),
        clusters: None,
        to_version: to,
        restart: None,
        read_only_window: None,
        token_sync: None,
        cutover: None,
        window: None,
        surge: true,
    }
}

/// The Puppet environment of a commit's build: the topology's label and a
/// hash of the commit's files, so each commit stages apart.
fn environment(new: &Checked) -> String {
    let text: String = new
        .sources
        .files()
        .iter()
        .map(|f| f.text.as_str())
        .collect();
    let hash = crate::model::naming::fnv1a(text.as_bytes()) as u32;
    crate::deployment::layout::puppet_environment(
        &crate::model::naming::dns_label(&new.topology.name),
        &format!("{hash:08x}"),
    )
}

/// The runbook of the changes between `old` and `new` for a target.
pub fn plan_change(old: &Checked, new: &Checked, changes: &ChangeSet, target: Target) -> Plan {
    let old_d = crate::deployment::plan(&old.topology);
    let new_d = crate::deployment::plan(&new.topology);
    for kind in [ChangeKind::VersionUpgrade, ChangeKind::Migration] {
        if changes.has(kind) && !changes.has(ChangeKind::Unsupported) {
            let kind = if kind == ChangeKind::Migration {
                UpgradeKind::Migration
            } else {
                UpgradeKind::VersionUpgrade
            };
            let upgrade = version_upgrade(new, kind);
            let mut plan = super::plan_upgrade_block(&old.topology, &old_d, &upgrade, target);
            plan.kind = "change".to_string();
            return plan;
        }
    }
    let deployment = union(&old_d, &new_d);
    let context = ChangeContext {
        before: nodes(&old_d),
        after: nodes(&new_d),
        environment: environment(new),
        patch: changes.has(ChangeKind::Patch),
    };
    let input = Input {
        topology: &new.topology,
        deployment: &deployment,
        target,
        upgrade: None,
        bootstrap: false,
        change: Some(&context),
    };
    let drafts = if changes.has(ChangeKind::Unsupported) {
        Vec::new()
    } else {
        drafts(&input, changes)
    };
    super::finish(
        &input,
        "change".to_string(),
        "change".to_string(),
        None,
        None,
        drafts,
    )
}

/// A step on no cluster.
fn general(
    b: &mut Builder,
    action: Action,
    site: Option<usize>,
    title: String,
    after: Vec<usize>,
    detail: Detail,
) -> usize {
    b.push(Draft {
        action,
        site,
        cluster: None,
        node: None,
        title,
        effect: Effect::None,
        after,
        note: None,
        databases: Vec::new(),
        detail,
    })
}

/// A step on a node of `cluster` (datacenter index, cluster label).
fn node_step(
    b: &mut Builder,
    (site, cluster): (usize, &str),
    node: &str,
    action: Action,
    title: String,
    effect: Effect,
    after: &mut Vec<usize>,
) -> usize {
    let index = b.push(Draft {
        action,
        site: Some(site),
        cluster: Some(cluster.to_string()),
        node: Some(node.to_string()),
        title,
        effect,
        after: std::mem::take(after),
        note: None,
        databases: Vec::new(),
        detail: Detail::None,
    });
    *after = vec![index];
    index
}

/// Whether a datacenter is new in the commit.
fn new_site(input: &Input, site: &Site) -> bool {
    let context = input.change.expect("a change plan");
    site.clusters
        .iter()
        .flat_map(|c| &c.nodes)
        .all(|n| context.is_new(&site.name, &n.name))
        && !site.clusters.is_empty()
}

fn removed_site(input: &Input, site: &Site) -> bool {
    let context = input.change.expect("a change plan");
    site.clusters
        .iter()
        .flat_map(|c| &c.nodes)
        .all(|n| context.is_removed(&site.name, &n.name))
        && !site.clusters.is_empty()
}

/// Sites in the order changes reach them: primary, read-only, disaster
/// recovery.
fn site_order(input: &Input) -> Vec<usize> {
    let rank = |role: crate::model::Role| match role {
        crate::model::Role::Primary => 0,
        crate::model::Role::ReadOnly => 1,
        crate::model::Role::DisasterRecovery => 2,
    };
    let mut order: Vec<usize> = (0..input.deployment.sites.len()).collect();
    order.sort_by_key(|&i| (rank(input.site(i).role), i));
    order
}

fn drafts(input: &Input, changes: &ChangeSet) -> Vec<Draft> {
    let context = input.change.expect("a change plan");
    let mut b = Builder::default();
    let nothing = changes.changes.is_empty();
    if nothing {
        return Vec::new();
    }
    let mut after: Vec<usize> = Vec::new();
    if input.target == Target::Puppet {
        after.push(general(
            &mut b,
            Action::Prepare,
            None,
            format!(
                "Put the commit's build on the Puppet server as environment {}",
                context.environment
            ),
            Vec::new(),
            Detail::StageBuild,
        ));
    }
    let order = site_order(input);
    // New nodes and clusters of the running datacenters start, tested
    // before anything routes to them.
    for &index in &order {
        let site = input.site(index);
        if !site.running() || new_site(input, site) || removed_site(input, site) {
            continue;
        }
        let mut started = Vec::new();
        for cluster in site.start_order() {
            let joining: Vec<&str> = cluster
                .nodes
                .iter()
                .filter(|n| context.is_new(&site.name, &n.name))
                .map(|n| n.name.as_str())
                .collect();
            if joining.is_empty() {
                continue;
            }
            let mut chain = after.clone();
            for node in &joining {
                node_step(
                    &mut b,
                    (index, &cluster.label),
                    node,
                    Action::StartNode,
                    format!("Start {node} (new in the commit) before it takes traffic"),
                    Effect::Join,
                    &mut chain,
                );
            }
            for node in &joining {
                node_step(
                    &mut b,
                    (index, &cluster.label),
                    node,
                    Action::Test,
                    format!("Test {node} before it takes traffic"),
                    Effect::None,
                    &mut chain,
                );
            }
            started.extend(chain);
        }
        let removing = site
            .clusters
            .iter()
            .flat_map(|c| &c.nodes)
            .any(|n| context.is_removed(&site.name, &n.name));
        if !started.is_empty() || removing {
            let mut deps = after.clone();
            deps.extend(started);
            let route = general(
                &mut b,
                Action::Undrain,
                Some(index),
                format!(
                    "Route the traffic of datacenter {} as the commit does: its new nodes in, its removed ones out",
                    site.name
                ),
                deps,
                Detail::Route,
            );
            after = vec![route];
        }
    }
    // A datacenter the commit removes leaves DNS first: its clients move
    // before anything of it changes or stops.
    for &index in &order {
        let site = input.site(index);
        if removed_site(input, site) && site.running() {
            after = vec![general(
                &mut b,
                Action::DnsSwitch,
                Some(index),
                format!(
                    "Move the host names of datacenter {} away before it stops",
                    site.name
                ),
                after,
                Detail::Retire,
            )];
        }
    }
    // Rolling restarts: the clusters whose nodes' configuration changes,
    // every running cluster for a new update level.
    let reconfigure = Roll {
        action: Action::Reconfigure,
        version: Generation::Current,
        database: Generation::Current,
        restart: true,
    };
    for &index in &order {
        let site = input.site(index);
        // A standby site's nodes take the change stopped (Kubernetes,
        // Puppet); on Compose its failover starts them from the build in
        // place, which is the commit's by then.
        let standby_compose = !site.running() && input.target == Target::Compose;
        if standby_compose || new_site(input, site) || removed_site(input, site) {
            continue;
        }
        for cluster in site.start_order() {
            let changed = context.patch
                || changes
                    .of(ChangeKind::ConfigChange, &site.name, &cluster.name)
                    .is_some();
            let kept: Vec<_> = cluster
                .nodes
                .iter()
                .filter(|n| {
                    !context.is_new(&site.name, &n.name) && !context.is_removed(&site.name, &n.name)
                })
                .collect();
            if !changed || kept.is_empty() {
                continue;
            }
            after = generate::roll(&mut b, input, index, cluster, reconfigure, true, after);
        }
    }
    // A new datacenter: its files, its clusters in start order, then its
    // load balancers.
    for &index in &order {
        let site = input.site(index);
        if !new_site(input, site) {
            continue;
        }
        let prepare = general(
            &mut b,
            Action::Prepare,
            Some(index),
            format!("Prepare datacenter {} (new in the commit)", site.name),
            after.clone(),
            Detail::NewSite,
        );
        let mut chain = vec![prepare];
        // Its databases are replicas of the primary's: set up first.
        let t = input.topology;
        for (i, ds) in t.datasources.iter().enumerate() {
            if ds.replica_of.is_none() || t.dc(ds.datacenter).name != site.name {
                continue;
            }
            let root = t.datasource(t.replica_root(crate::model::DsId(i)));
            let step = b.push(Draft {
                action: Action::StartSync,
                site: Some(index),
                cluster: None,
                node: None,
                title: format!("Set up {} as a replica of {}", ds.name, root.name),
                effect: Effect::None,
                after: chain.clone(),
                note: None,
                databases: vec![ds.name.clone(), root.name.clone()],
                detail: Detail::None,
            });
            chain = vec![step];
        }
        if site.running() {
            for cluster in site.start_order() {
                for node in &cluster.nodes {
                    node_step(
                        &mut b,
                        (index, &cluster.label),
                        &node.name,
                        Action::StartNode,
                        format!("Start {}", node.name),
                        Effect::Join,
                        &mut chain,
                    );
                }
                node_step(
                    &mut b,
                    (index, &cluster.label),
                    &cluster.nodes[0].name,
                    Action::Test,
                    format!("Test {}", cluster.label),
                    Effect::None,
                    &mut chain,
                );
            }
            let open = general(
                &mut b,
                Action::OpenTraffic,
                Some(index),
                format!("Open datacenter {} to traffic", site.name),
                chain,
                Detail::NewSite,
            );
            chain = vec![open];
        }
        after = chain;
    }
    // What the commit removes stops once nothing routes to it.
    for &index in &order {
        let site = input.site(index);
        if !site.running() {
            continue;
        }
        for cluster in site.start_order() {
            for node in cluster
                .nodes
                .iter()
                .filter(|n| context.is_removed(&site.name, &n.name))
            {
                node_step(
                    &mut b,
                    (index, &cluster.label),
                    &node.name,
                    Action::RemoveNode,
                    format!("Stop {} (removed by the commit)", node.name),
                    Effect::Leave,
                    &mut after,
                );
            }
        }
    }
    // On Puppet every other host moves to the commit's build too, so the
    // whole topology runs one environment (nothing of theirs changes).
    if input.target == Target::Puppet {
        general(
            &mut b,
            Action::Reconfigure,
            None,
            format!(
                "Move every other host of the topology to environment {}",
                context.environment
            ),
            after,
            Detail::Settle,
        );
    }
    b.drafts
}
