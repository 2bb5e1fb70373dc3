//! The availability simulator: replays the steps on a model of every
//! cluster (which nodes are up, which serve, which version they run and on
//! which database) and checks, during and after each step, that every
//! cluster still serves `degraded_capacity x peak_load`, that an
//! active-passive pair keeps a hot standby, and that two versions never run
//! on one database.

use std::collections::{BTreeMap, BTreeSet};

use super::{Draft, Effect, Generation, Input, Violation};
use crate::model::HaMode;

#[derive(Debug, Clone)]
struct NodeState {
    name: String,
    /// The standby of an active-passive pair: started, it stands by.
    passive: bool,
    up: bool,
    serving: bool,
    version: Generation,
    database: Generation,
}

#[derive(Debug, Clone)]
struct ClusterState {
    name: String,
    ha: HaMode,
    /// The site runs (a cold standby site is not checked).
    live: bool,
    /// Something routes the cluster's traffic (a Service, a load
    /// balancer). Otherwise its clients hold every node's address: an
    /// active-active cluster's clients use every node that runs, an
    /// active-passive pair's stay with the node they use until it stops,
    /// then move to the next that runs (the active node first).
    routed: bool,
    capacity: Option<f64>,
    required: Option<f64>,
    /// What the plan is held to: `required`, or what the cluster serves
    /// before the first step when that is less.
    floor: Option<f64>,
    /// Original datasources (replica roots) the nodes use.
    databases: Vec<String>,
    nodes: Vec<NodeState>,
    /// The cluster is held to its floor: it serves (a cluster a commit
    /// adds is held once it takes traffic; one it removes, no longer once
    /// its traffic has moved).
    held: bool,
}

impl ClusterState {
    fn serving(&self) -> Vec<&NodeState> {
        self.nodes.iter().filter(|n| n.up && n.serving).collect()
    }

    fn capacity_now(&self) -> Option<f64> {
        self.capacity.map(|c| c * self.serving().len() as f64)
    }

    /// Where nothing routes the traffic, the clients decide who serves.
    fn settle(&mut self) {
        if self.routed {
            return;
        }
        for n in &mut self.nodes {
            n.serving &= n.up;
        }
        match self.ha {
            HaMode::ActiveActive | HaMode::None => {
                for n in &mut self.nodes {
                    n.serving = n.up;
                }
            }
            HaMode::ActivePassive => {
                if !self.nodes.iter().any(|n| n.serving) {
                    let next = self
                        .nodes
                        .iter()
                        .position(|n| n.up && !n.passive)
                        .or_else(|| self.nodes.iter().position(|n| n.up));
                    if let Some(i) = next {
                        self.nodes[i].serving = true;
                    }
                }
            }
        }
    }
}

/// The state of the step's cluster after a step.
#[derive(Debug, Clone, Default)]
pub(crate) struct StepState {
    pub serving: Option<Vec<String>>,
    pub capacity: Option<f64>,
    pub required: Option<f64>,
}

pub(crate) struct Outcome {
    pub states: Vec<StepState>,
    pub violations: Vec<Violation>,
    /// Nodes in the clusters the plan touches (before temporary ones).
    pub nodes: usize,
}

fn rps(value: f64) -> String {
    format!("{}rps", crate::model::format_number(value))
}

/// What a plan is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// The floor after and during every step.
    Upgrade,
    /// A failover declares its unavailability: not held to the floor.
    Failover,
    /// The first deployment: nothing runs at first; a datacenter is held
    /// to the floor from the step that opens it to traffic.
    Bootstrap,
}

/// Replay `steps` in `mode`.
pub(crate) fn run(input: &Input, steps: &[&Draft], mode: Mode) -> Outcome {
    let failover = mode != Mode::Upgrade;
    let bootstrap = mode == Mode::Bootstrap;
    let t = input.topology;
    let mut clusters: BTreeMap<(usize, String), ClusterState> = BTreeMap::new();
    for (index, site) in input.deployment.sites.iter().enumerate() {
        for cluster in &site.clusters {
            let databases = cluster
                .databases
                .iter()
                .filter_map(|db| t.datasources.iter().position(|d| d.name == db.name))
                .map(|i| {
                    t.datasource(t.replica_root(crate::model::DsId(i)))
                        .name
                        .clone()
                })
                .collect();
            clusters.insert(
                (index, cluster.label.clone()),
                ClusterState {
                    name: cluster.name.clone(),
                    ha: cluster.ha,
                    live: site.running(),
                    routed: input.routed(site, cluster),
                    capacity: cluster.node_capacity,
                    required: cluster.required_rps,
                    floor: cluster.required_rps,
                    databases,
                    nodes: cluster
                        .nodes
                        .iter()
                        .map(|n| {
                            // A change plan starts from what runs before
                            // the commit.
                            let runs = site.running()
                                && !bootstrap
                                && input.change.is_none_or(|c| !c.is_new(&site.name, &n.name));
                            NodeState {
                                name: n.name.clone(),
                                passive: n.role == crate::deployment::NodeRole::Passive,
                                up: runs,
                                serving: runs && n.role == crate::deployment::NodeRole::Active,
                                version: Generation::Current,
                                database: Generation::Current,
                            }
                        })
                        .collect(),
                    held: input.change.is_none_or(|c| {
                        cluster.nodes.iter().any(|n| !c.is_new(&site.name, &n.name))
                    }),
                },
            );
        }
    }
    // A cluster that cannot carry its floor with every node up has a
    // capacity problem of its own (the HA lints say so): the plan is held
    // to not making it worse.
    for cluster in clusters.values_mut() {
        if let (Some(now), Some(required)) = (cluster.capacity_now(), cluster.required)
            && cluster.live
            && cluster.held
            && now < required
            && !bootstrap
        {
            cluster.floor = Some(now);
        }
    }
    let touched: BTreeSet<(usize, String)> = steps
        .iter()
        .filter_map(|s| Some((s.site?, s.cluster.clone()?)))
        .collect();
    let nodes = touched
        .iter()
        .filter_map(|key| clusters.get(key))
        .map(|c| c.nodes.len())
        .sum();

    let mut states = Vec::with_capacity(steps.len());
    let mut violations = Vec::new();
    let mut opened: BTreeSet<usize> = BTreeSet::new();
    for (position, step) in steps.iter().enumerate() {
        let number = position + 1;
        let key = step.site.zip(step.cluster.clone());
        if let (Some(key), Some(node)) = (&key, &step.node)
            && let Some(cluster) = clusters.get_mut(key)
        {
            // During the step.
            if let Effect::Maintain { .. } | Effect::Recreate { .. } = step.effect {
                if let Some(n) = cluster.nodes.iter_mut().find(|n| n.name == *node) {
                    n.up = false;
                    n.serving = false;
                }
                cluster.settle();
                if !failover {
                    check_cluster(cluster, number, "while it runs", &mut violations);
                }
            }
            apply(cluster, node, &step.effect);
            cluster.settle();
        }
        if let (Some(site), Some(context)) = (step.site, input.change) {
            let name = &input.deployment.sites[site].name;
            for ((at, _), cluster) in clusters.iter_mut() {
                if *at == site {
                    reroute(cluster, name, context, &step.detail, step.action);
                }
            }
            if key.is_none() && !failover {
                for ((at, _), cluster) in &clusters {
                    if *at == site {
                        check_cluster(cluster, number, "", &mut violations);
                    }
                }
            }
        }
        if !failover {
            if let Some(cluster) = key.as_ref().and_then(|k| clusters.get(k)) {
                check_cluster(cluster, number, "", &mut violations);
            }
            check_databases(&clusters, number, &mut violations);
        }
        // The first deployment: a datacenter opened to traffic serves its
        // floor with every cluster, and keeps it.
        if bootstrap {
            if let Some(site) = step.site
                && step.action == super::Action::OpenTraffic
            {
                opened.insert(site);
            }
            let opening = step.action == super::Action::OpenTraffic;
            for (at, cluster) in &clusters {
                let checked = match (&key, step.site) {
                    _ if !opened.contains(&at.0) => false,
                    (_, Some(site)) if opening => site == at.0,
                    (Some(key), _) => key == at,
                    _ => false,
                };
                if checked {
                    check_cluster(cluster, number, "", &mut violations);
                }
            }
        }
        states.push(match key.as_ref().and_then(|k| clusters.get(k)) {
            Some(cluster) if cluster.live || failover => StepState {
                serving: Some(cluster.serving().iter().map(|n| n.name.clone()).collect()),
                capacity: cluster.capacity_now(),
                required: cluster.required,
            },
            _ => StepState::default(),
        });
    }
    Outcome {
        states,
        violations,
        nodes,
    }
}

/// What a general step of a change plan does to a cluster of its
/// datacenter: the commit's routes bring its new nodes in and its removed
/// ones out; a new datacenter opens; a removed one leaves DNS.
fn reroute(
    cluster: &mut ClusterState,
    site: &str,
    context: &super::change::ChangeContext,
    detail: &super::Detail,
    action: super::Action,
) {
    use super::Detail;
    match (detail, action) {
        (Detail::Route, _) => {
            for n in &mut cluster.nodes {
                if context.is_removed(site, &n.name) {
                    n.serving = false;
                } else if context.is_new(site, &n.name) {
                    n.serving = n.up && !n.passive;
                }
            }
            cluster.held = cluster
                .nodes
                .iter()
                .any(|n| n.up && !context.is_removed(site, &n.name));
        }
        (Detail::NewSite, super::Action::OpenTraffic) => {
            for n in &mut cluster.nodes {
                n.serving = n.up && !n.passive;
            }
            cluster.held = true;
        }
        (Detail::Retire, _) => {
            for n in &mut cluster.nodes {
                n.serving = false;
            }
            cluster.held = false;
        }
        _ => {}
    }
    cluster.settle();
}

fn apply(cluster: &mut ClusterState, node: &str, effect: &Effect) {
    let index = cluster.nodes.iter().position(|n| n.name == node);
    match (effect, index) {
        (Effect::AddNode { version, database }, None) => cluster.nodes.push(NodeState {
            name: node.to_string(),
            passive: cluster.ha == HaMode::ActivePassive,
            up: true,
            serving: cluster.ha != HaMode::ActivePassive,
            version: *version,
            database: *database,
        }),
        (Effect::RemoveNode, Some(i)) => {
            cluster.nodes.remove(i);
        }
        (Effect::Drain, Some(i)) => cluster.nodes[i].serving = false,
        (Effect::Undrain, Some(i)) => cluster.nodes[i].serving = cluster.nodes[i].up,
        (Effect::Switch { from }, Some(i)) => {
            cluster.nodes[i].serving = cluster.nodes[i].up;
            if let Some(other) = cluster.nodes.iter_mut().find(|n| n.name == *from) {
                other.serving = false;
            }
        }
        (Effect::Maintain { version, database }, Some(i)) => {
            let n = &mut cluster.nodes[i];
            n.up = true;
            n.serving = false;
            n.version = *version;
            n.database = *database;
        }
        (Effect::Replace { version, database }, Some(i)) => {
            let n = &mut cluster.nodes[i];
            n.version = *version;
            n.database = *database;
        }
        (Effect::Recreate { version, database }, Some(i)) => {
            let n = &mut cluster.nodes[i];
            n.up = true;
            n.serving = !n.passive;
            n.version = *version;
            n.database = *database;
        }
        (Effect::Start, Some(i)) => {
            let n = &mut cluster.nodes[i];
            n.up = true;
            n.serving = !n.passive;
        }
        (Effect::Join, Some(i)) => {
            let n = &mut cluster.nodes[i];
            n.up = true;
            n.serving = false;
        }
        (Effect::Leave, Some(i)) => {
            cluster.nodes.remove(i);
        }
        (Effect::StartAll, _) => {
            for n in &mut cluster.nodes {
                n.up = true;
                n.serving = !n.passive;
            }
        }
        _ => {}
    }
}

fn check_cluster(cluster: &ClusterState, step: usize, when: &str, out: &mut Vec<Violation>) {
    if !cluster.live || !cluster.held {
        return;
    }
    let when = if when.is_empty() {
        String::new()
    } else {
        format!(" {when}")
    };
    let serving = cluster.serving();
    let mut problems = Vec::new();
    match (cluster.capacity_now(), cluster.floor) {
        (Some(capacity), Some(floor)) if capacity + 1e-9 < floor => problems.push(match cluster.required {
            Some(required) if floor + 1e-9 < required => format!(
                "leaves cluster `{}` serving {}{when}, below the {} it served before the first step",
                cluster.name,
                rps(capacity),
                rps(floor)
            ),
            _ => format!(
                "leaves cluster `{}` serving {}{when}, below its floor of {}",
                cluster.name,
                rps(capacity),
                rps(floor)
            ),
        }),
        _ if serving.is_empty() => problems.push(format!(
            "leaves cluster `{}` with no node serving{when}",
            cluster.name
        )),
        _ => {}
    }
    if cluster.ha == HaMode::ActivePassive {
        let standby = cluster.nodes.iter().filter(|n| n.up && !n.serving).count();
        if standby == 0 && serving.len() < 2 {
            problems.push(format!(
                "leaves active-passive cluster `{}` without a hot standby{when}",
                cluster.name
            ));
        }
    }
    for message in problems {
        out.push(Violation { step, message });
    }
}

/// Two versions never run on one database (the same original datasource
/// and the same generation of its data).
fn check_databases(
    clusters: &BTreeMap<(usize, String), ClusterState>,
    step: usize,
    out: &mut Vec<Violation>,
) {
    let mut versions: BTreeMap<(&str, Generation), BTreeSet<Generation>> = BTreeMap::new();
    for cluster in clusters.values().filter(|c| c.live) {
        for node in cluster.nodes.iter().filter(|n| n.up) {
            for db in &cluster.databases {
                versions
                    .entry((db, node.database))
                    .or_default()
                    .insert(node.version);
            }
        }
    }
    for ((db, _), found) in versions {
        if found.len() > 1 && !out.iter().any(|v| v.step == step && v.message.contains(db)) {
            out.push(Violation {
                step,
                message: format!("runs two versions on database `{db}` at once"),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(ha: HaMode, nodes: usize, capacity: f64, required: f64) -> ClusterState {
        ClusterState {
            name: "c".into(),
            ha,
            live: true,
            routed: true,
            capacity: Some(capacity),
            required: Some(required),
            floor: Some(required),
            databases: vec!["db".into()],
            held: true,
            nodes: (1..=nodes)
                .map(|i| NodeState {
                    name: format!("c-{i}"),
                    passive: ha == HaMode::ActivePassive && i != 1,
                    up: true,
                    serving: ha != HaMode::ActivePassive || i == 1,
                    version: Generation::Current,
                    database: Generation::Current,
                })
                .collect(),
        }
    }

    #[test]
    fn capacity_below_the_floor_is_a_violation() {
        let mut c = cluster(HaMode::ActiveActive, 2, 500.0, 750.0);
        let mut out = Vec::new();
        check_cluster(&c, 1, "", &mut out);
        assert!(out.is_empty());
        apply(&mut c, "c-1", &Effect::Drain);
        check_cluster(&c, 2, "", &mut out);
        assert_eq!(out.len(), 1);
        assert!(out[0].message.contains("500rps"), "{}", out[0].message);
    }

    #[test]
    fn a_lone_active_node_is_a_violation_in_active_passive() {
        let mut c = cluster(HaMode::ActivePassive, 2, 1000.0, 750.0);
        c.nodes[1].up = false;
        let mut out = Vec::new();
        check_cluster(&c, 1, "while it runs", &mut out);
        assert!(out[0].message.contains("hot standby"));
    }

    #[test]
    fn two_versions_on_one_database_is_a_violation() {
        let mut a = cluster(HaMode::ActiveActive, 2, 1000.0, 750.0);
        let mut map = BTreeMap::new();
        a.nodes[0].version = Generation::Next;
        map.insert((0, "a".to_string()), a.clone());
        let mut out = Vec::new();
        check_databases(&map, 1, &mut out);
        assert_eq!(out.len(), 1);
        // On the migrated copy it is fine.
        a.nodes[0].database = Generation::Next;
        map.insert((0, "a".to_string()), a);
        let mut out = Vec::new();
        check_databases(&map, 1, &mut out);
        assert!(out.is_empty());
    }
}
