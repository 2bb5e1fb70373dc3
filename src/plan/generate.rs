//! Plan generation: the steps of each upgrade kind (source notes, rules
//! 6-9), per datacenter (primary first, then read-only, then disaster
//! recovery) and per cluster (start order), with their dependencies.

use std::collections::BTreeSet;

use super::{Action, Detail, Draft, Effect, Generation, Input, Target};
use crate::deployment::{ClusterPlan, NodeRole, Shape};
use crate::model::naming::cluster_label;
use crate::model::*;

use Generation::{Current, Next};

/// Collects drafts; `push` returns the draft's index.
#[derive(Default)]
pub(crate) struct Builder {
    pub drafts: Vec<Draft>,
}

impl Builder {
    pub fn push(&mut self, draft: Draft) -> usize {
        self.drafts.push(draft);
        self.drafts.len() - 1
    }

    /// A step that concerns no single cluster.
    fn general(
        &mut self,
        action: Action,
        site: Option<usize>,
        title: String,
        after: Vec<usize>,
    ) -> usize {
        self.detailed(action, site, title, after, Detail::None)
    }

    /// A step that concerns no single cluster, with its detail.
    fn detailed(
        &mut self,
        action: Action,
        site: Option<usize>,
        title: String,
        after: Vec<usize>,
        detail: Detail,
    ) -> usize {
        self.push(Draft {
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

    /// A step on the given databases (see `Draft::databases`).
    fn database(
        &mut self,
        action: Action,
        site: Option<usize>,
        title: String,
        after: Vec<usize>,
        databases: Vec<String>,
    ) -> usize {
        let index = self.general(action, site, title, after);
        self.drafts[index].databases = databases;
        index
    }
}

/// A step on one node of a cluster, chained after `after`.
#[allow(clippy::too_many_arguments)]
fn node_step(
    b: &mut Builder,
    site: usize,
    cluster: &ClusterPlan,
    node: &str,
    action: Action,
    title: String,
    effect: Effect,
    after: &mut Vec<usize>,
) -> usize {
    let index = b.push(Draft {
        action,
        site: Some(site),
        cluster: Some(cluster.label.clone()),
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

/// The name of the temporary node a plan may add to a cluster.
pub(crate) fn surge_name(cluster: &ClusterPlan) -> String {
    cluster.surge.name.clone()
}

/// Nodes needed to carry `degraded_capacity x peak_load` (at least one).
fn needed(cluster: &ClusterPlan) -> usize {
    match (cluster.required_rps, cluster.node_capacity) {
        (Some(required), Some(capacity)) if capacity > 0.0 => {
            ((required / capacity).ceil() as usize).max(1)
        }
        _ => 1,
    }
}

/// What the rolling part of an upgrade does to each node.
#[derive(Clone, Copy)]
pub(crate) struct Change {
    pub action: Action,
    pub version: Generation,
    pub database: Generation,
    /// The node goes down while it changes (a restart).
    pub restart: bool,
}

impl Change {
    /// The change as a participle: "patched".
    fn past(self) -> &'static str {
        match self.action {
            Action::Patch => "patched",
            Action::Upgrade => "upgraded",
            Action::Reconfigure => "reconfigured",
            _ => "with the fixed service",
        }
    }

    fn verb(self) -> &'static str {
        match self.action {
            Action::Patch => "Patch",
            Action::Upgrade => "Upgrade",
            Action::Reconfigure => "Reconfigure",
            _ => "Deploy the fixed service on",
        }
    }

    /// What the change does to a node: where something routes the
    /// cluster's traffic the node comes back drained (it is tested before
    /// it takes traffic again); elsewhere its clients come back to it as
    /// soon as it runs.
    fn effect(self, routed: bool) -> Effect {
        match (self.restart, routed) {
            (false, _) => Effect::None,
            (true, true) => Effect::Maintain {
                version: self.version,
                database: self.database,
            },
            (true, false) => Effect::Recreate {
                version: self.version,
                database: self.database,
            },
        }
    }
}

/// Why a cluster no load balancer fronts has no drain steps.
fn unrouted_note(cluster: &ClusterPlan) -> String {
    format!(
        "No load balancer fronts `{}`: its clients are given the address of every node, so stopping this node is what moves them to the others, and they come back once it runs again.",
        cluster.name
    )
}

/// The cluster a part of a plan works on, and whether something routes
/// its traffic (see [`Input::routed`]).
struct On<'a> {
    site: usize,
    cluster: &'a ClusterPlan,
    routed: bool,
}

impl On<'_> {
    /// A step on one of the cluster's nodes, chained after `after`.
    fn step(
        &self,
        b: &mut Builder,
        node: &str,
        action: Action,
        title: String,
        effect: Effect,
        after: &mut Vec<usize>,
    ) -> usize {
        node_step(
            b,
            self.site,
            self.cluster,
            node,
            action,
            title,
            effect,
            after,
        )
    }

    fn test(&self, b: &mut Builder, node: &str, title: String, after: &mut Vec<usize>) {
        self.step(b, node, Action::Test, title, Effect::None, after);
    }

    /// A node's change, with why it has no drain around it where nothing
    /// routes the cluster's traffic.
    fn change(&self, b: &mut Builder, node: &str, change: Change, after: &mut Vec<usize>) {
        let index = self.step(
            b,
            node,
            change.action,
            format!("{} {node}", change.verb()),
            change.effect(self.routed),
            after,
        );
        if !self.routed && change.restart {
            b.drafts[index].note = Some(unrouted_note(self.cluster));
        }
    }

    /// A node's test after its change: before it takes traffic where that
    /// is the load balancer's to give.
    fn test_changed(&self, b: &mut Builder, node: &str, after: &mut Vec<usize>) {
        let title = if self.routed {
            format!("Test {node} before it takes traffic")
        } else {
            format!("Test {node}")
        };
        self.test(b, node, title, after);
    }

    /// Stop (`undrain` false) or send traffic to a node, where something
    /// routes the cluster's traffic; elsewhere there is nothing to switch,
    /// the node's clients follow it.
    fn traffic(
        &self,
        b: &mut Builder,
        node: &str,
        undrain: bool,
        title: String,
        after: &mut Vec<usize>,
    ) {
        if !self.routed {
            return;
        }
        let (action, effect) = if undrain {
            (Action::Undrain, Effect::Undrain)
        } else {
            (Action::Drain, Effect::Drain)
        };
        self.step(b, node, action, title, effect, after);
    }

    /// An active-passive pair's traffic moves to `to` from `from`, where
    /// something routes it.
    fn switch(&self, b: &mut Builder, to: &str, from: &str, title: String, after: &mut Vec<usize>) {
        if !self.routed {
            return;
        }
        let effect = Effect::Switch {
            from: from.to_string(),
        };
        self.step(b, to, Action::Undrain, title, effect, after);
    }

    /// The cluster's temporary node joins at the current version (a
    /// standby in an active-passive pair) and is tested.
    fn add_temporary(&self, b: &mut Builder, title: String, after: &mut Vec<usize>) {
        let temp = surge_name(self.cluster);
        let effect = Effect::AddNode {
            version: Current,
            database: Current,
        };
        self.step(b, &temp, Action::AddNode, title, effect, after);
        self.test(b, &temp, format!("Test {temp}"), after);
    }

    /// The temporary node leaves again: drained first, unless it stood by.
    fn remove_temporary(&self, b: &mut Builder, passive: bool, after: &mut Vec<usize>) {
        let temp = surge_name(self.cluster);
        if !passive {
            self.traffic(b, &temp, false, format!("Stop traffic to {temp}"), after);
        }
        let title = format!("Remove the temporary node {temp}");
        self.step(
            b,
            &temp,
            Action::RemoveNode,
            title,
            Effect::RemoveNode,
            after,
        );
    }
}

/// Roll a change through a cluster, keeping it available: returns the last
/// step.
pub(crate) fn roll(
    b: &mut Builder,
    input: &Input,
    site: usize,
    cluster: &ClusterPlan,
    change: Change,
    surge: bool,
    after: Vec<usize>,
) -> Vec<usize> {
    let s = input.site(site);
    let on = On {
        site,
        cluster,
        routed: input.routed(s, cluster),
    };
    if !s.running() {
        return standby_site(b, input, &on, change, after);
    }
    // On Kubernetes the pods of a scaled cluster (one Deployment with
    // replicas) have no identity a Service could single out: the rolling
    // update is the only way to change them one at a time, a fixed service
    // included (an image that carries it). A node of a pair has a
    // Deployment of its own that stops its pod before starting the new one
    // (Recreate: its identity never runs twice), so it goes the way of a
    // Compose service or a Puppet host: drained, changed, tested, given
    // traffic again.
    if input.target == Target::Kubernetes && change.restart && cluster.shape == Shape::Scaled {
        return rollout(b, &on, change, surge, after);
    }
    if !change.restart {
        let mut after = after;
        for node in &cluster.nodes {
            let title = format!("{} {} (no restart)", change.verb(), node.name);
            on.step(
                b,
                &node.name,
                change.action,
                title,
                Effect::None,
                &mut after,
            );
            on.test(b, &node.name, format!("Test {}", node.name), &mut after);
        }
        return after;
    }
    if cluster.ha == HaMode::ActivePassive && cluster.nodes.len() == 2 {
        active_passive(b, &on, change, surge, after)
    } else {
        one_at_a_time(b, &on, change, surge, after)
    }
}

/// A cold or warm standby site: nothing runs, nothing to keep available;
/// the change is put in place for the failover. A fixed service reaches
/// its nodes with the artifacts when they start, but for the pods of a
/// scaled cluster on Kubernetes, which run the image that carries it.
fn standby_site(
    b: &mut Builder,
    input: &Input,
    on: &On,
    change: Change,
    mut after: Vec<usize>,
) -> Vec<usize> {
    let in_image = input.target == Target::Kubernetes && on.cluster.shape == Shape::Scaled;
    if change.action == Action::Deploy && !in_image {
        return after;
    }
    for node in &on.cluster.nodes {
        let title = format!(
            "{} {} (standby datacenter, not running)",
            change.verb(),
            node.name
        );
        on.step(
            b,
            &node.name,
            change.action,
            title,
            Effect::Offline,
            &mut after,
        );
    }
    after
}

/// A scaled cluster on Kubernetes is one rollout, pod by pod. With surge
/// it rolls with maxSurge 1 and maxUnavailable 0: the surge pod is the
/// temporary node of rules 6-8, started before the pod it replaces stops,
/// so the cluster never loses a pod. Without it (`surge = false`) the
/// rollout stops one pod before starting its replacement.
fn rollout(
    b: &mut Builder,
    on: &On,
    change: Change,
    surge: bool,
    mut after: Vec<usize>,
) -> Vec<usize> {
    let untested = !surge;
    if surge {
        preview(b, on, change, &mut after);
    }
    let first_step = b.drafts.len();
    for (i, node) in on.cluster.nodes.iter().enumerate() {
        let how = match (surge, i > 0) {
            (true, true) => "the same rollout replaces it, its replacement ready first",
            (true, false) => "the rolling update starts its replacement before stopping it",
            (false, true) => "the same rollout stops it once the previous pod is ready again",
            (false, false) => {
                "the rolling update stops one pod at a time, then starts its replacement"
            }
        };
        let effect = if surge {
            Effect::Replace {
                version: change.version,
                database: change.database,
            }
        } else {
            Effect::Recreate {
                version: change.version,
                database: change.database,
            }
        };
        let title = format!("{} {}: {how}", change.verb(), node.name);
        on.step(b, &node.name, change.action, title, effect, &mut after);
    }
    if untested {
        b.drafts[first_step].note = Some(format!(
            "With `surge = false` there is no room for a preview pod: each new pod of {} takes traffic once its readiness probe passes, and is tested with the others after the rollout.",
            on.cluster.label
        ));
    }
    let first = &on.cluster.nodes[0].name;
    let title = format!("Test every node of {}", on.cluster.label);
    on.test(b, first, title, &mut after);
    after
}

/// Before a scaled cluster rolls on Kubernetes, where each new pod takes
/// traffic as soon as its readiness probe passes: one pod of the change
/// starts in the cluster's preview Deployment, outside its Service, is
/// tested, and stops. Only then does the rollout begin, so no untested
/// version ever serves. The preview takes no traffic (`Effect::None`).
fn preview(b: &mut Builder, on: &On, change: Change, after: &mut Vec<usize>) {
    let name = on.cluster.preview_name();
    let cluster = &on.cluster.label;
    let steps = [
        (
            Action::Preview,
            format!(
                "Start {name}: one pod of {cluster} {}, outside its Service",
                change.past()
            ),
        ),
        (
            Action::Test,
            format!("Test {name} before the rollout of {cluster}"),
        ),
        (Action::RemoveNode, format!("Stop {name}")),
    ];
    for (action, title) in steps {
        let index = b.push(Draft {
            action,
            site: Some(on.site),
            cluster: Some(cluster.clone()),
            node: None,
            title,
            effect: Effect::None,
            after: std::mem::take(after),
            note: None,
            databases: Vec::new(),
            detail: Detail::Preview(change.action),
        });
        *after = vec![index];
    }
}

/// Rule 7: an extra passive node first (1 active / 2 passive), the passive
/// node changed and tested before it takes traffic, then the active one,
/// then traffic moves back and the extra node goes.
fn active_passive(
    b: &mut Builder,
    on: &On,
    change: Change,
    surge: bool,
    mut after: Vec<usize>,
) -> Vec<usize> {
    let named = |role: NodeRole| {
        on.cluster
            .nodes
            .iter()
            .find(|n| n.role == role)
            .map(|n| n.name.clone())
            .unwrap_or_default()
    };
    let (active, passive) = (named(NodeRole::Active), named(NodeRole::Passive));
    let temp = surge_name(on.cluster);
    if surge {
        let title = format!("Add a temporary passive node {temp} running the current version");
        on.add_temporary(b, title, &mut after);
    }
    for (changed, other) in [(&passive, &active), (&active, &passive)] {
        on.change(b, changed, change, &mut after);
        on.test_changed(b, changed, &mut after);
        let title = format!("Send traffic to {changed} instead of {other}");
        on.switch(b, changed, other, title, &mut after);
    }
    // The loop moved traffic to the passive node and back: the active node
    // serves again, the passive node stands by (where nothing routes the
    // pair's traffic, its clients stay with the node they failed over to).
    if surge {
        on.remove_temporary(b, true, &mut after);
    }
    after
}

/// Active/active (and single-node) clusters: one node at a time, drained,
/// changed, tested, sent traffic again; a temporary node first when the
/// others could not carry the floor without it.
fn one_at_a_time(
    b: &mut Builder,
    on: &On,
    change: Change,
    surge: bool,
    mut after: Vec<usize>,
) -> Vec<usize> {
    let spare = on.cluster.nodes.len().saturating_sub(needed(on.cluster));
    let temp = surge_name(on.cluster);
    let add = surge && spare < 1;
    if add {
        let title = format!("Add a temporary node {temp} running the current version");
        on.add_temporary(b, title, &mut after);
    }
    // Rule 4: a service is deployed from the manager node first.
    let mut order: Vec<_> = on.cluster.nodes.iter().collect();
    if change.action == Action::Deploy {
        order.sort_by_key(|n| !n.manager);
    }
    for node in order {
        let name = &node.name;
        on.traffic(
            b,
            name,
            false,
            format!("Stop traffic to {name}"),
            &mut after,
        );
        on.change(b, name, change, &mut after);
        on.test_changed(b, name, &mut after);
        on.traffic(b, name, true, format!("Send traffic to {name}"), &mut after);
    }
    if add {
        on.remove_temporary(b, false, &mut after);
    }
    after
}

/// Rule 6 with file sharing by rsync (Puppet hosts): the fix is deployed on
/// one node while sync to it is stopped, tested, given traffic, then sync
/// resumes and the other nodes catch up and are tested. In an
/// active-passive pair the passive node takes the fix first.
fn service_update_by_sync(
    b: &mut Builder,
    on: &On,
    surge: bool,
    mut after: Vec<usize>,
) -> Vec<usize> {
    let cluster = on.cluster;
    let ap = cluster.ha == HaMode::ActivePassive && cluster.nodes.len() == 2;
    let first = cluster
        .nodes
        .iter()
        .find(|n| {
            if ap {
                n.role == NodeRole::Passive
            } else {
                n.manager
            }
        })
        .or_else(|| cluster.nodes.first())
        .map(|n| n.name.clone())
        .unwrap_or_default();
    let others: Vec<String> = cluster
        .nodes
        .iter()
        .map(|n| n.name.clone())
        .filter(|n| *n != first)
        .collect();
    let temp = surge_name(cluster);
    let spare = cluster.nodes.len().saturating_sub(needed(cluster));
    let add = surge && (ap || spare < 1);
    if add {
        let title = format!(
            "Add a temporary {}node {temp} with the current services",
            if ap { "passive " } else { "" }
        );
        on.add_temporary(b, title, &mut after);
    }
    if !ap {
        on.traffic(
            b,
            &first,
            false,
            format!("Stop traffic to {first}"),
            &mut after,
        );
    }
    let (sync, fix) = (Action::StopSync, Action::Deploy);
    let title = format!("Stop file sync to and from {first}");
    on.step(b, &first, sync, title, Effect::None, &mut after);
    let title = format!("Deploy the fixed service on {first}");
    on.step(b, &first, fix, title, Effect::None, &mut after);
    on.test(b, &first, format!("Test the fix on {first}"), &mut after);
    // The fixed node takes traffic: in a pair, instead of the active node.
    let active = others.first().filter(|_| ap);
    match active {
        Some(active) => {
            let title = format!("Send traffic to {first} instead of {active}");
            on.switch(b, &first, active, title, &mut after);
        }
        None => on.traffic(
            b,
            &first,
            true,
            format!("Send traffic to {first}"),
            &mut after,
        ),
    }
    let title = "Restart file sync so the other nodes catch up".to_string();
    on.step(
        b,
        &first,
        Action::StartSync,
        title,
        Effect::None,
        &mut after,
    );
    for other in &others {
        on.test(b, other, format!("Test the fix on {other}"), &mut after);
    }
    if let Some(active) = active {
        let title = format!("Send traffic back to {active} ({first} stands by again)");
        on.switch(b, active, &first, title, &mut after);
    }
    if add {
        on.remove_temporary(b, ap, &mut after);
    }
    after
}

/// Whether the nodes of a cluster share the folder artifacts are deployed
/// to: APIM 3.x shares `repository/deployment/server`, over NFS on every
/// target, and as one volume on Compose and Kubernetes whatever the method
/// (only Puppet hosts sync by rsync between folders of their own).
pub(crate) fn shared_deployment_folder(
    input: &Input,
    s: &crate::deployment::Site,
    cluster: &ClusterPlan,
) -> bool {
    let share = cluster
        .share
        .as_ref()
        .and_then(|label| s.shares.iter().find(|sh| sh.label == *label));
    input.deployment.major < 4
        && share.is_some_and(|sh| sh.method == ShareMethod::Nfs || input.target != Target::Puppet)
}

/// Rule 6 on a shared deployment folder: there is no sync to stop, the fix
/// deployed from the manager node reaches every node at once (hot
/// deployment, no restart); each node is then tested.
fn deploy_once(b: &mut Builder, on: &On, mut after: Vec<usize>) -> Vec<usize> {
    let manager = on
        .cluster
        .nodes
        .iter()
        .find(|n| n.manager)
        .or_else(|| on.cluster.nodes.first())
        .map(|n| n.name.clone())
        .unwrap_or_default();
    let title = format!(
        "Deploy the fixed service from {manager}: the nodes share the deployment folder, every node picks it up"
    );
    on.step(b, &manager, Action::Deploy, title, Effect::None, &mut after);
    for node in &on.cluster.nodes {
        on.test(
            b,
            &node.name,
            format!("Test the fix on {}", node.name),
            &mut after,
        );
    }
    after
}

/// Sites in upgrade order: primary, read-only, then disaster recovery.
fn site_order(input: &Input) -> Vec<usize> {
    let rank = |role: Role| match role {
        Role::Primary => 0,
        Role::ReadOnly => 1,
        Role::DisasterRecovery => 2,
    };
    let mut order: Vec<usize> = (0..input.deployment.sites.len()).collect();
    order.sort_by_key(|&i| (rank(input.site(i).role), i));
    order
}

/// Run `per_cluster` over the upgrade's clusters, site by site in order; a
/// cluster waits for the clusters of its site earlier in the start order,
/// and a site waits for the sites before it. Returns the last steps.
fn over_clusters(
    b: &mut Builder,
    input: &Input,
    labels: &BTreeSet<String>,
    start: Vec<usize>,
    mut per_cluster: impl FnMut(&mut Builder, usize, &ClusterPlan, Vec<usize>) -> Vec<usize>,
) -> Vec<usize> {
    let mut site_after = start;
    for site in site_order(input) {
        let s = input.site(site);
        let mut finished: Vec<(u8, Vec<usize>)> = Vec::new();
        for cluster in s.start_order() {
            if !labels.contains(&cluster.label) {
                continue;
            }
            let mut after = site_after.clone();
            for (rank, ends) in &finished {
                if *rank < cluster.start_rank {
                    after.extend(ends.iter().copied());
                }
            }
            after.sort_unstable();
            after.dedup();
            let ends = per_cluster(b, site, cluster, after);
            finished.push((cluster.start_rank, ends));
        }
        if !finished.is_empty() {
            let mut ends: Vec<usize> = finished.into_iter().flat_map(|(_, e)| e).collect();
            ends.sort_unstable();
            ends.dedup();
            site_after = ends;
        }
    }
    site_after
}

/// The clusters an upgrade changes, as labels.
fn upgrade_labels(t: &Topology, u: &Upgrade) -> BTreeSet<String> {
    t.upgrade_clusters(u)
        .into_iter()
        .map(|c| cluster_label(&t.cluster(c).name))
        .collect()
}

pub(crate) fn upgrade(input: &Input, u: &Upgrade) -> Vec<Draft> {
    let mut b = Builder { drafts: Vec::new() };
    let labels = upgrade_labels(input.topology, u);
    let primary = input
        .deployment
        .sites
        .iter()
        .position(|s| s.role == Role::Primary);
    match u.kind() {
        Some(UpgradeKind::Patch) => {
            let change = Change {
                action: Action::Patch,
                version: Current,
                database: Current,
                // A container changes its image only by restarting.
                restart: u.restarts() || input.target != Target::Puppet,
            };
            over_clusters(
                &mut b,
                input,
                &labels,
                Vec::new(),
                |b, site, cluster, after| roll(b, input, site, cluster, change, u.surge, after),
            );
        }
        Some(UpgradeKind::ServiceUpdate) => {
            let change = Change {
                action: Action::Deploy,
                version: Current,
                database: Current,
                restart: true,
            };
            over_clusters(
                &mut b,
                input,
                &labels,
                Vec::new(),
                |b, site, cluster, after| {
                    let s = input.site(site);
                    let rsync = cluster
                        .share
                        .as_ref()
                        .and_then(|label| s.shares.iter().find(|sh| sh.label == *label))
                        .is_some_and(|sh| sh.method == ShareMethod::Rsync);
                    let on = On {
                        site,
                        cluster,
                        routed: input.routed(s, cluster),
                    };
                    if shared_deployment_folder(input, s, cluster) && s.running() {
                        deploy_once(b, &on, after)
                    } else if rsync
                        && input.target == Target::Puppet
                        && s.running()
                        && cluster.nodes.len() > 1
                    {
                        service_update_by_sync(b, &on, u.surge, after)
                    } else {
                        roll(b, input, site, cluster, change, u.surge, after)
                    }
                },
            );
        }
        Some(UpgradeKind::AddService) => add_service(&mut b, input, &labels, primary),
        Some(UpgradeKind::VersionUpgrade) => version_upgrade(&mut b, input, u, &labels, primary),
        Some(UpgradeKind::Migration) => migration(&mut b, input, u, &labels, primary),
        None => {}
    }
    b.drafts
}

/// How a new service deployed on a cluster's manager node reaches its
/// other nodes: at once (a shared deployment folder), within the rsync
/// interval (seconds, Puppet hosts), or not at all (every node gets it).
fn carried(input: &Input, s: &crate::deployment::Site, cluster: &ClusterPlan) -> Option<u64> {
    if shared_deployment_folder(input, s, cluster) {
        return Some(0);
    }
    let share = cluster
        .share
        .as_ref()
        .and_then(|label| s.shares.iter().find(|sh| sh.label == *label))?;
    (share.method == ShareMethod::Rsync && input.target == Target::Puppet)
        .then_some(share.interval_minutes * 60)
}

/// The source notes' "adding a new service (API)": its artifacts are
/// deployed from the manager node only, file sharing carries them to the
/// other nodes (each node gets them where nothing shares), the artifact
/// server to every read-only datacenter, each within its interval and poll
/// time; every node is tested; only then is the service offered to
/// consumers.
fn add_service(b: &mut Builder, input: &Input, labels: &BTreeSet<String>, primary: Option<usize>) {
    let mut tested = Vec::new();
    // The read-only datacenters wait for what the primary deployed.
    let mut deployed: Vec<usize> = Vec::new();
    let push = primary
        .and_then(|p| input.site(p).artifact_push.as_ref())
        .map(|a| a.interval_seconds)
        .unwrap_or(0);
    for site in site_order(input) {
        let s = input.site(site);
        if !s.running() {
            continue;
        }
        for cluster in s.start_order() {
            if !labels.contains(&cluster.label) || !cluster.profile.runs_gateway() {
                continue;
            }
            let on = On {
                site,
                cluster,
                routed: input.routed(s, cluster),
            };
            let mut chain = if s.role == Role::Primary {
                Vec::new()
            } else {
                deployed.clone()
            };
            let scaled = input.target == Target::Kubernetes && cluster.shape == Shape::Scaled;
            let names: Vec<&str> = cluster.nodes.iter().map(|n| n.name.as_str()).collect();
            if s.role == Role::Primary {
                let manager = cluster
                    .nodes
                    .iter()
                    .find(|n| n.manager)
                    .unwrap_or(&cluster.nodes[0])
                    .name
                    .as_str();
                match carried(input, s, cluster) {
                    // The pods of replicas have no identity: the new
                    // service is copied into every one.
                    _ if scaled => {
                        let title =
                            format!("Deploy the new service on every pod of {}", cluster.label);
                        on.step(b, names[0], Action::Deploy, title, Effect::None, &mut chain);
                    }
                    Some(bound) => {
                        let title =
                            format!("Deploy the new service from {manager}, the manager node");
                        on.step(b, manager, Action::Deploy, title, Effect::None, &mut chain);
                        for node in names.iter().filter(|n| **n != manager) {
                            let index = on.step(
                                b,
                                node,
                                Action::AwaitSync,
                                format!("Wait until file sharing has carried it to {node}"),
                                Effect::None,
                                &mut chain,
                            );
                            b.drafts[index].detail = Detail::NewService(bound);
                        }
                    }
                    None => {
                        for node in &names {
                            let title = format!(
                                "Deploy the new service on {node} (nothing shares its API folder)"
                            );
                            on.step(b, node, Action::Deploy, title, Effect::None, &mut chain);
                        }
                    }
                }
                deployed.extend(chain.iter().copied());
            } else {
                let bound = push
                    + s.artifact_pull
                        .as_ref()
                        .map(|a| a.interval_seconds)
                        .unwrap_or(0);
                let nodes: Vec<&str> = if scaled {
                    vec![names[0]]
                } else {
                    names.clone()
                };
                for node in nodes {
                    let index = on.step(
                        b,
                        node,
                        Action::AwaitSync,
                        if scaled {
                            format!(
                                "Wait until the artifact server has carried it to every pod of {}",
                                cluster.label
                            )
                        } else {
                            format!("Wait until the artifact server has carried it to {node}")
                        },
                        Effect::None,
                        &mut chain,
                    );
                    b.drafts[index].detail = Detail::NewService(bound);
                }
            }
            let tests: Vec<&str> = if scaled {
                vec![names[0]]
            } else {
                names.clone()
            };
            for node in tests {
                let title = if scaled {
                    format!("Test the new service on every pod of {}", cluster.label)
                } else {
                    format!("Test the new service on {node}")
                };
                let index = on.step(b, node, Action::Test, title, Effect::None, &mut chain);
                b.drafts[index].detail = Detail::NewService(0);
            }
            tested.extend(chain);
        }
    }
    let expose = b.general(
        Action::Expose,
        primary,
        "Expose the new service to consumers".to_string(),
        tested,
    );
    b.drafts[expose].detail = Detail::NewService(0);
}

/// The databases (by original datasource) the given clusters use, with
/// their replicas in other datacenters.
fn database_groups(input: &Input, labels: &BTreeSet<String>) -> Vec<(DsId, Vec<DsId>)> {
    let t = input.topology;
    let mut roots: Vec<DsId> = Vec::new();
    for c in &t.clusters {
        if !labels.contains(&cluster_label(&c.name)) {
            continue;
        }
        for ds in &c.datasources {
            let root = t.replica_root(ds.value);
            if !roots.contains(&root) {
                roots.push(root);
            }
        }
    }
    roots.sort();
    roots
        .into_iter()
        .map(|root| {
            let replicas = (0..t.datasources.len())
                .map(DsId)
                .filter(|&d| d != root && t.replica_root(d) == root)
                .collect();
            (root, replicas)
        })
        .collect()
}

/// Rule 8: the database migration scripts run once, on a copy, before any
/// new-version node starts; every node then moves, one at a time, to the
/// new version on the migrated copy, so two versions never share a
/// database; the portals stay read-only until every cluster of the
/// database has moved.
fn version_upgrade(
    b: &mut Builder,
    input: &Input,
    u: &Upgrade,
    labels: &BTreeSet<String>,
    primary: Option<usize>,
) {
    let t = input.topology;
    let to = u
        .to_version
        .as_ref()
        .map(|v| v.value.to_string())
        .unwrap_or_default();
    let staged = stage_build(b, input, primary, &to);
    let read_only = b.general(
        Action::ReadOnly,
        primary,
        "Make the Publisher and DevPortal read-only".to_string(),
        Vec::new(),
    );
    let groups = database_groups(input, labels);
    let mut restored = Vec::new();
    let mut names = Vec::new();
    for (root, _) in &groups {
        let name = &t.datasource(*root).name;
        let dump = b.database(
            Action::Dump,
            primary,
            format!("Dump database {name}"),
            vec![read_only],
            vec![name.clone()],
        );
        restored.push(b.database(
            Action::Restore,
            primary,
            format!("Restore the dump of {name} as its {to} copy"),
            vec![dump],
            vec![name.clone()],
        ));
        names.push(name.clone());
    }
    // The migration client migrates every database of the product at once.
    let mut prepared = Vec::new();
    if !names.is_empty() {
        let migrate = b.database(
            Action::MigrateDb,
            primary,
            format!(
                "Run the {to} migration scripts on the {} of {}",
                if names.len() == 1 { "copy" } else { "copies" },
                names.join(", ")
            ),
            restored,
            names,
        );
        prepared.push(migrate);
        for (root, replicas) in &groups {
            let name = &t.datasource(*root).name;
            for &replica in replicas {
                let ds = t.datasource(replica);
                let site = input
                    .deployment
                    .sites
                    .iter()
                    .position(|s| s.name == t.dc(ds.datacenter).name);
                prepared.push(b.database(
                    Action::Restore,
                    site,
                    format!(
                        "Wait for replica {} to receive the migrated copy of {name}",
                        ds.name
                    ),
                    vec![migrate],
                    vec![ds.name.clone(), name.clone()],
                ));
            }
        }
    }
    prepared.extend(staged);
    let change = Change {
        action: Action::Upgrade,
        version: Next,
        database: Next,
        restart: true,
    };
    let ends = over_clusters(b, input, labels, prepared, |b, site, cluster, after| {
        roll(b, input, site, cluster, change, u.surge, after)
    });
    b.general(
        Action::ReadWrite,
        primary,
        "Make the Publisher and DevPortal read-write again".to_string(),
        ends,
    );
}

/// On Puppet, the new version's build goes to the Puppet server first, as
/// an environment of its own beside the current one: nodes move to it one
/// at a time, the others keep the current build. None elsewhere.
fn stage_build(b: &mut Builder, input: &Input, primary: Option<usize>, to: &str) -> Vec<usize> {
    if input.target != Target::Puppet {
        return Vec::new();
    }
    let environment = crate::deployment::layout::puppet_environment(&input.deployment.label, to);
    let index = b.detailed(
        Action::Prepare,
        primary,
        format!("Put the {to} build on the Puppet server as environment {environment}"),
        Vec::new(),
        Detail::StageBuild,
    );
    b.drafts[index].note = Some(format!(
        "Each node moves to `{environment}` in its own step; the others keep the current environment until then. Once the runbook is done, `{environment}` is the environment of the topology (PUPPET_ENVIRONMENT from then on)."
    ));
    vec![index]
}

/// Rule 9: a zero-downtime migration to a new deployment.
fn migration(
    b: &mut Builder,
    input: &Input,
    u: &Upgrade,
    labels: &BTreeSet<String>,
    primary: Option<usize>,
) {
    let t = input.topology;
    let to = u
        .to_version
        .as_ref()
        .map(|v| v.value.to_string())
        .unwrap_or_default();
    let window = u
        .read_only_window
        .as_ref()
        .map(|w| w.value.human())
        .unwrap_or_else(|| "the window".to_string());
    let rehearse = b.push(Draft {
        action: Action::Test,
        site: primary,
        cluster: None,
        node: None,
        title: "Rehearse the migration on a restored backup".to_string(),
        effect: Effect::None,
        after: Vec::new(),
        databases: Vec::new(),
        detail: Detail::Rehearsal,
        note: Some(
            "Restore a recent backup into a staging deployment and run every step below against it, until the steps are exact; pick the window with the least traffic."
                .to_string(),
        ),
    });
    let staged = stage_build(b, input, primary, &to);
    let read_only = b.general(
        Action::ReadOnly,
        primary,
        format!("Make the Publisher and DevPortal read-only for {window}"),
        vec![rehearse],
    );
    let mut restored = Vec::new();
    let mut names = Vec::new();
    for (root, _) in database_groups(input, labels) {
        let name = &t.datasource(root).name;
        let dump = b.database(
            Action::Dump,
            primary,
            format!("Dump database {name}"),
            vec![read_only],
            vec![name.clone()],
        );
        restored.push(b.database(
            Action::Restore,
            primary,
            format!("Restore {name} into the new deployment"),
            vec![dump],
            vec![name.clone()],
        ));
        names.push(name.clone());
    }
    // The migration client migrates every database of the product at once.
    let migrated = if names.is_empty() {
        std::iter::once(read_only).chain(staged).collect()
    } else {
        vec![b.database(
            Action::MigrateDb,
            primary,
            format!("Migrate {} to {to} in the new deployment", names.join(", ")),
            restored.into_iter().chain(staged).collect(),
            names,
        )]
    };
    // Access tokens live in the apim database (WSO2AM_DB).
    let token_databases: Vec<String> = database_groups(input, labels)
        .into_iter()
        .map(|(root, _)| t.datasource(root))
        .filter(|ds| ds.purpose == Some(Purpose::Apim))
        .map(|ds| ds.name.clone())
        .collect();
    let mut started = Vec::new();
    for site in site_order(input) {
        let s = input.site(site);
        if !s.running() {
            continue;
        }
        for cluster in s
            .start_order()
            .into_iter()
            .filter(|c| labels.contains(&c.label))
        {
            let after = started
                .last()
                .map(|&l| vec![l])
                .unwrap_or_else(|| migrated.clone());
            started.push(b.push(Draft {
                action: Action::StartNode,
                site: Some(site),
                cluster: None,
                node: None,
                title: format!("Start {} of the new {to} deployment", cluster.label),
                effect: Effect::None,
                after,
                databases: Vec::new(),
                detail: Detail::NewDeployment(cluster.label.clone()),
                note: Some(format!(
                    "The new deployment runs {} in parallel; the current one keeps serving.",
                    cluster.label
                )),
            }));
        }
    }
    let last_start = started.last().map(|&l| vec![l]).unwrap_or(migrated.clone());
    let token_sync = b.database(
        Action::TokenSync,
        primary,
        match u.token_sync_mode() {
            TokenSync::OneWay => {
                "Copy the tokens issued during the window to the new deployment (one-way)"
                    .to_string()
            }
            TokenSync::TwoWay => "Start the two-way token sync between the deployments".to_string(),
        },
        last_start,
        token_databases,
    );
    let test = b.general(
        Action::Test,
        primary,
        "Test the new deployment end to end (automated and manual tests)".to_string(),
        vec![token_sync],
    );
    let mut last = test;
    match u.cutover_mode() {
        Cutover::Dns => {
            last = b.general(
                Action::DnsSwitch,
                primary,
                "Switch DNS to the new deployment".to_string(),
                vec![last],
            );
        }
        Cutover::Gradual => {
            for percent in [10, 50, 100] {
                last = b.detailed(
                    Action::DnsSwitch,
                    primary,
                    format!("Shift {percent}% of the traffic to the new deployment"),
                    vec![last],
                    Detail::Shift(percent),
                );
            }
        }
    }
    b.general(
        Action::ReadWrite,
        primary,
        "Make the Publisher and DevPortal read-write on the new deployment".to_string(),
        vec![last],
    );
}

/// The datasource of a name.
fn datasource_named(t: &crate::model::Topology, name: &str) -> Option<DsId> {
    (0..t.datasources.len())
        .map(DsId)
        .find(|&d| t.datasource(d).name == name)
}

/// A failover's first step: the lost primary's database servers fenced
/// (read-only, or confirmed unreachable), so that two sites never take
/// writes. None when the databases replicate nothing.
fn fence(b: &mut Builder, input: &Input, site: usize, databases: &[String]) -> Vec<usize> {
    let t = input.topology;
    let mut lost: Vec<String> = Vec::new();
    for db in databases {
        if let Some(id) = datasource_named(t, db) {
            let root = t.replica_root(id);
            if root != id && !lost.contains(&t.datasource(root).name) {
                lost.push(t.datasource(root).name.clone());
            }
        }
    }
    if lost.is_empty() {
        return Vec::new();
    }
    let primary_site = lost
        .first()
        .and_then(|n| datasource_named(t, n))
        .map(|id| t.dc(t.datasource(id).datacenter).name.clone())
        .and_then(|n| input.deployment.sites.iter().position(|x| x.name == n));
    vec![b.database(
        Action::FenceDb,
        primary_site.or(Some(site)),
        format!(
            "Fence the lost primary's databases {} (read-only, or confirmed unreachable)",
            lost.join(", ")
        ),
        Vec::new(),
        lost,
    )]
}

/// Promotion is per server: one step for all the databases it holds;
/// then the read-only datacenters' replicas of the lost primary follow
/// the database promoted here that copies the same original. The
/// promotion steps.
fn promote_servers(
    b: &mut Builder,
    input: &Input,
    site: usize,
    databases: &[String],
    fenced: Vec<usize>,
) -> Vec<usize> {
    let t = input.topology;
    let s = input.site(site);
    let mut servers: Vec<((String, u16), Vec<String>)> = Vec::new();
    for db in databases {
        let key = datasource_named(t, db)
            .map(|id| {
                let ds = t.datasource(id);
                (ds.host.clone().unwrap_or_default(), ds.port)
            })
            .unwrap_or_default();
        match servers.iter_mut().find(|(k, _)| *k == key) {
            Some((_, names)) => names.push(db.clone()),
            None => servers.push((key, vec![db.clone()])),
        }
    }
    let mut promoted = Vec::new();
    let mut promoted_roots: Vec<(DsId, &String, usize)> = Vec::new();
    for ((host, port), names) in &servers {
        let step = b.database(
            Action::PromoteDb,
            Some(site),
            format!(
                "Promote the database server {host}:{port} ({}) to read-write (stop replication from the lost primary)",
                names.join(", ")
            ),
            fenced.clone(),
            names.clone(),
        );
        promoted.push(step);
        for name in names {
            if let Some(id) = datasource_named(t, name) {
                promoted_roots.push((t.replica_root(id), name, step));
            }
        }
    }
    for (index, other) in input.deployment.sites.iter().enumerate() {
        if other.role != Role::ReadOnly {
            continue;
        }
        for id in (0..t.datasources.len()).map(DsId) {
            let replica = t.datasource(id);
            if replica.replica_of.is_none() || t.dc(replica.datacenter).name != other.name {
                continue;
            }
            let root = t.replica_root(id);
            let Some(&(_, source, step)) = promoted_roots.iter().find(|(r, _, _)| *r == root)
            else {
                continue;
            };
            b.database(
                Action::StartSync,
                Some(index),
                format!(
                    "Replicate {} from {source}, promoted in {}",
                    replica.name, s.name
                ),
                vec![step],
                vec![replica.name.clone(), source.clone()],
            );
        }
    }
    promoted
}

/// The failover of a disaster-recovery datacenter: fence the lost
/// primary's databases, promote its database servers (once each), make the
/// read-only datacenters' replicas follow them, start its clusters in start
/// order, test, switch DNS.
pub(crate) fn failover(input: &Input, site: usize) -> Vec<Draft> {
    let mut b = Builder { drafts: Vec::new() };
    let t = input.topology;
    let s = input.site(site);
    let mut after: Vec<usize> = Vec::new();
    let mut databases: Vec<String> = s
        .clusters
        .iter()
        .flat_map(|c| c.databases.iter().map(|d| d.name.clone()))
        .collect();
    databases.sort();
    databases.dedup();
    if databases.is_empty() {
        databases = t
            .datasources
            .iter()
            .filter(|d| t.dc(d.datacenter).name == s.name)
            .map(|d| d.name.clone())
            .collect();
    }
    let fenced = fence(&mut b, input, site, &databases);
    let promoted = promote_servers(&mut b, input, site, &databases, fenced);
    after.extend(promoted);
    if !s.running() {
        let mut finished: Vec<(u8, Vec<usize>)> = Vec::new();
        for cluster in s.start_order() {
            let mut chain: Vec<usize> = after.clone();
            for (rank, ends) in &finished {
                if *rank < cluster.start_rank {
                    chain.extend(ends.iter().copied());
                }
            }
            for node in &cluster.nodes {
                node_step(
                    &mut b,
                    site,
                    cluster,
                    &node.name,
                    Action::StartNode,
                    format!("Start {}", node.name),
                    Effect::Start,
                    &mut chain,
                );
            }
            node_step(
                &mut b,
                site,
                cluster,
                &cluster.nodes[0].name,
                Action::Test,
                format!("Test {}", cluster.label),
                Effect::None,
                &mut chain,
            );
            finished.push((cluster.start_rank, chain));
        }
        after = finished.into_iter().flat_map(|(_, e)| e).collect();
    }
    if !s.running() && !s.load_balancers.is_empty() {
        after = vec![b.detailed(
            Action::StartNode,
            Some(site),
            format!("Start the load balancers of {}", s.name),
            after,
            Detail::LoadBalancers,
        )];
    }
    // The read-only datacenters pull API artifacts the lost primary no
    // longer pushes: the datacenter taking over pushes them now.
    if s.artifact_push.is_some() {
        let push = b.detailed(
            Action::StartSync,
            Some(site),
            format!(
                "Push API artifacts from {} to the artifact server (the read-only datacenters pull them)",
                s.name
            ),
            after.clone(),
            Detail::ArtifactPush,
        );
        after.push(push);
    }
    b.general(
        Action::DnsSwitch,
        Some(site),
        format!("Switch DNS to datacenter {}", s.name),
        after,
    );
    b.drafts
}
