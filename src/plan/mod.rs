//! Upgrade runbooks: each `upgrade` block becomes a graph of steps (a step
//! depends on what must happen first), ordered topologically, simulated step
//! by step against the availability rules, and given the commands of the
//! chosen target. A plan that cannot keep the service available is UP001,
//! naming the step.

mod bootstrap;
mod change;
pub mod commands;
mod generate;
pub mod render;
mod simulate;

use std::collections::BTreeMap;

use petgraph::graph::{DiGraph, NodeIndex};
use serde::Serialize;

use crate::deployment::{Deployment, Site};
use crate::diagnostics::Diagnostic;
use crate::lints::upgrade::UP001;
use crate::model::{Topology, UpgradeId};

pub use change::plan_change;
pub use commands::Target;

/// What a step does (the action vocabulary of the plan JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// A temporary node joins a cluster (`<cluster>-surge`).
    AddNode,
    /// A node stops and leaves its cluster (the temporary node once it is
    /// no longer needed).
    RemoveNode,
    /// A node stops taking traffic: its load balancer or Service takes it out.
    Drain,
    /// A node takes traffic again (in a pair, the traffic moves to it).
    Undrain,
    /// File sharing to and from a node stops, so a change made on it stays
    /// there.
    StopSync,
    /// File sharing or database replication starts again.
    StartSync,
    /// A service is deployed: its API artifacts on a node, or the image that
    /// carries them.
    Deploy,
    /// A node moves to a new WSO2 update level of its version (a `patch`
    /// upgrade).
    Patch,
    /// A node moves to the new product version (a version upgrade or a
    /// migration).
    Upgrade,
    /// The new version's migration scripts run on the restored database
    /// copies.
    MigrateDb,
    /// The service is tested: on a node, a preview, or the new deployment end
    /// to end.
    Test,
    /// The Publisher and DevPortal become read-only for the window (a
    /// migration).
    ReadOnly,
    /// The Publisher and DevPortal become read-write again.
    ReadWrite,
    /// A database is dumped.
    Dump,
    /// A dump is restored as the new version's copy, or a replica is waited
    /// for until it has the migrated copy.
    Restore,
    /// The tokens issued during the window are copied to the new deployment
    /// (one-way or two-way).
    TokenSync,
    /// DNS moves to the new deployment, or to the datacenter that takes over.
    DnsSwitch,
    /// A replica database server is promoted to read-write and stops
    /// replicating from the lost primary (a failover).
    PromoteDb,
    /// The lost primary's database servers are made read-only (a failover).
    FenceDb,
    /// A stopped node or cluster starts (a standby datacenter's on a
    /// failover, the new deployment's in a migration).
    StartNode,
    /// The operator's files, secrets and images (the first deployment).
    Prepare,
    /// A database and its user are created.
    CreateDb,
    /// WSO2's schema is loaded into a database.
    LoadSchema,
    /// A datacenter's load balancers start taking traffic.
    OpenTraffic,
    /// A node moves to the configuration of a commit's build.
    Reconfigure,
    /// Wait until file sharing or the artifact server has carried a new
    /// service to a node.
    AwaitSync,
    /// A new service is offered to consumers (published in the DevPortal).
    Expose,
    /// A scaled cluster's preview starts: one pod of the change, outside
    /// the cluster's Service, tested before the rollout (Kubernetes).
    Preview,
}

impl Action {
    /// The action's name, as the plan JSON and the runbooks write it.
    pub fn name(self) -> &'static str {
        match self {
            Action::AddNode => "add-node",
            Action::RemoveNode => "remove-node",
            Action::Drain => "drain",
            Action::Undrain => "undrain",
            Action::StopSync => "stop-sync",
            Action::StartSync => "start-sync",
            Action::Deploy => "deploy",
            Action::Patch => "patch",
            Action::Upgrade => "upgrade",
            Action::MigrateDb => "migrate-db",
            Action::Test => "test",
            Action::ReadOnly => "read-only",
            Action::ReadWrite => "read-write",
            Action::Dump => "dump",
            Action::Restore => "restore",
            Action::TokenSync => "token-sync",
            Action::DnsSwitch => "dns-switch",
            Action::PromoteDb => "promote-db",
            Action::FenceDb => "fence-db",
            Action::StartNode => "start-node",
            Action::Prepare => "prepare",
            Action::CreateDb => "create-db",
            Action::LoadSchema => "load-schema",
            Action::OpenTraffic => "open-traffic",
            Action::Reconfigure => "reconfigure",
            Action::AwaitSync => "await-sync",
            Action::Expose => "expose",
            Action::Preview => "preview",
        }
    }

    /// A rough duration, for the runbook's estimate.
    pub fn minutes(self) -> u32 {
        match self {
            Action::AddNode | Action::StartNode => 10,
            Action::RemoveNode => 5,
            Action::Drain | Action::Undrain | Action::StopSync | Action::StartSync => 2,
            Action::Deploy => 5,
            Action::Patch => 15,
            Action::Upgrade => 20,
            Action::MigrateDb => 30,
            Action::Test => 5,
            Action::ReadOnly | Action::ReadWrite => 2,
            Action::Dump | Action::Restore => 20,
            Action::TokenSync => 10,
            Action::DnsSwitch => 10,
            Action::PromoteDb => 10,
            Action::FenceDb => 5,
            Action::Prepare => 20,
            Action::CreateDb => 5,
            Action::LoadSchema => 10,
            Action::OpenTraffic => 5,
            Action::Reconfigure => 10,
            Action::AwaitSync => 5,
            Action::Expose => 5,
            Action::Preview => 10,
        }
    }
}

/// One step of a runbook.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    /// The step's number, from 1, in runbook order.
    pub n: usize,
    /// What the step does.
    pub action: Action,
    /// The datacenter the step acts in, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datacenter: Option<String>,
    /// The cluster the step acts on, by name, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// The node the step acts on, by instance name, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// What the step does, in one line: the runbook's heading for it.
    pub title: String,
    /// Done by hand: the commands say what to do, the verification checks
    /// it (when it can).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub manual: bool,
    /// The shell commands of the step, for the plan's target.
    pub commands: Vec<String>,
    /// The shell commands that check the step left the state it should (they
    /// fail before it is done).
    pub verify: Vec<String>,
    /// The shell commands that undo the step.
    pub rollback: Vec<String>,
    /// The nodes of the step's cluster that serve after it; `None` when the
    /// step acts on no running cluster.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serving: Option<Vec<String>>,
    /// What those nodes serve together, in requests per second, when the
    /// cluster's `node_capacity` is known.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "whole")]
    pub capacity_rps: Option<f64>,
    /// What the cluster must serve, in requests per second: `degraded_capacity
    /// x peak_load`, or the traffic floor of a plan held to traffic.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "whole")]
    pub required_rps: Option<f64>,
    /// Steps (by number) that must be done first.
    pub after: Vec<usize>,
    /// A rough duration of the step, in minutes ([`Action::minutes`]).
    pub minutes: u32,
    /// Why the step exists, when it is not obvious from the title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The datasources a database step acts on (see [`Draft::databases`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub databases: Vec<String>,
    /// A gradual cutover: the share of the traffic (in percent) the new
    /// deployment has after the step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub percent: Option<u8>,
    /// The cluster of the new deployment the step starts (a migration).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub starts: Option<String>,
    /// The step rehearses the runbook; it changes nothing that serves.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub rehearsal: bool,
    /// `capacity_rps - required_rps`, in a plan held to traffic.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "whole")]
    pub margin_rps: Option<f64>,
}

/// Rates as whole numbers when they are (`1600`, not `1600.0`).
fn whole<S: serde::Serializer>(value: &Option<f64>, serializer: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(v) if v.fract() == 0.0 && v.abs() < 9.0e15 => serializer.serialize_i64(*v as i64),
        Some(v) => serializer.serialize_f64(*v),
        None => serializer.serialize_none(),
    }
}

/// A broken availability rule, found by the simulation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// The step that breaks the rule.
    pub step: usize,
    /// What breaks the rule, said of the step ("runs two versions on database
    /// ...").
    pub message: String,
}

/// A runbook: ordered, simulated steps.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// The upgrade block's name, or `failover-<datacenter>`, `bootstrap` or
    /// `change` for the other runbooks.
    pub upgrade: String,
    /// The upgrade's kind (`patch`, `version-upgrade`, ...), or `failover`,
    /// `bootstrap` or `change`.
    pub kind: String,
    /// The target whose commands the steps carry.
    #[serde(rename = "for")]
    pub target: Target,
    /// Whether the plan has no violation: the service stays available
    /// throughout and every step has its commands.
    pub safe: bool,
    /// The unavailability a disaster-recovery failover implies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unavailability: Option<String>,
    /// The upgrade's maintenance window, as written, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    /// What the plan was held to, when traffic replaced the peak floor
    /// (`plan --traffic`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held_to: Option<crate::traffic::HeldTo>,
    /// The same plan held to the peak floor (`degraded_capacity x
    /// peak_load`), beside a plan held to traffic.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_peak: Option<AtPeak>,
    /// Totals over the steps, for the runbook's summary table.
    pub summary: Summary,
    /// The steps, in the order they are done.
    pub steps: Vec<Step>,
    /// The availability rules the steps break, by step number.
    pub violations: Vec<Violation>,
    /// The disaster-recovery datacenter a failover runbook moves to.
    #[serde(skip)]
    pub failover_to: Option<String>,
}

/// How a plan held to traffic fares at the peak floor.
#[derive(Debug, Clone, Serialize)]
pub struct AtPeak {
    /// Whether the plan keeps the service available at the peak floor.
    pub safe: bool,
    /// The lowest margin above the peak floor over the steps, in requests per
    /// second.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "whole")]
    pub lowest_margin_rps: Option<f64>,
    /// The availability rules the plan breaks at the peak floor.
    pub violations: Vec<Violation>,
}

/// Totals over the steps of a runbook.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// How many nodes the clusters the plan touches have, before temporary
    /// ones.
    pub nodes: usize,
    /// How many temporary nodes the plan adds (its `add-node` steps).
    pub temporary_nodes: usize,
    /// The lowest `capacity_rps - required_rps` over the steps (how close
    /// the plan comes to the floor).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "whole")]
    pub lowest_margin_rps: Option<f64>,
    /// The expected duration, in minutes: the sum of the steps' estimates.
    pub minutes: u32,
    /// The datacenters the steps act in, in step order, without consecutive
    /// repeats.
    pub datacenters: Vec<String>,
    /// The clusters the steps act on, by name, sorted.
    pub clusters: Vec<String>,
    /// The steps (by number) done by hand.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub manual_steps: Vec<usize>,
}

/// A step before ordering: its effect on the simulated deployment and the
/// steps it depends on (by draft index).
#[derive(Debug, Clone)]
pub(crate) struct Draft {
    pub action: Action,
    pub site: Option<usize>,
    pub cluster: Option<String>,
    pub node: Option<String>,
    pub title: String,
    pub effect: Effect,
    pub after: Vec<usize>,
    pub note: Option<String>,
    /// The datasources a database step acts on, by name: the one it
    /// dumps, restores or promotes first; a replica's wait names the
    /// replica, then the database it copies; the migration names every
    /// database it migrates.
    pub databases: Vec<String>,
    /// What else the step needs to know, beyond its action and subject.
    pub detail: Detail,
}

/// The data of a step that its action, datacenter, cluster and node do not
/// say.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum Detail {
    #[default]
    None,
    /// A gradual cutover: the share of the traffic (percent) the new
    /// deployment gets.
    Shift(u8),
    /// A cluster (by label) of the new deployment starts (a migration).
    NewDeployment(String),
    /// The runbook is rehearsed on a restored backup.
    Rehearsal,
    /// A standby datacenter's load balancers start (a failover).
    LoadBalancers,
    /// The new version's build reaches the Puppet server as an
    /// environment of its own, which nodes then move to one at a time.
    StageBuild,
    /// A datacenter's load balancers and Services take the routes of a
    /// commit's build: its new nodes in, its removed ones out.
    Route,
    /// A datacenter new in a commit is prepared or opened.
    NewSite,
    /// A datacenter a commit removes leaves DNS.
    Retire,
    /// The hosts a commit does not change move to its build (Puppet).
    Settle,
    /// The datacenter that took over pushes the API artifacts the
    /// read-only datacenters pull (a failover).
    ArtifactPush,
    /// A step about the new service of an `add-service` upgrade: how long
    /// its wait may take (seconds), or 0.
    NewService(u64),
    /// A step on a scaled cluster's preview (Kubernetes): it starts with
    /// the change (`Action::Patch`, `Upgrade`, `Reconfigure`, or `Deploy`
    /// of a fixed service's image), is tested, and stops.
    Preview(Action),
}

/// How a step changes the simulated deployment.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Effect {
    None,
    /// A temporary node joins the cluster: it takes traffic once it runs
    /// (a Service selects it, the load balancer adds it, or its cluster's
    /// clients have its address), but in an active-passive pair, where it
    /// stands by.
    AddNode {
        version: Generation,
        database: Generation,
    },
    RemoveNode,
    Drain,
    Undrain,
    /// An active-passive pair's traffic moves to the step's node from
    /// this one, which stands by.
    Switch {
        from: String,
    },
    /// The node is down while the step runs, then comes back in this
    /// version on this database generation (not serving).
    Maintain {
        version: Generation,
        database: Generation,
    },
    /// A stopped node of a standby site is changed; nothing serves.
    Offline,
    /// The node is replaced by one in this version on this database
    /// generation, started before the old one stops (a rolling update with
    /// a surge pod): it keeps serving throughout.
    Replace {
        version: Generation,
        database: Generation,
    },
    /// The node is stopped, then started again in this version on this
    /// database generation and takes traffic once ready (a rolling update
    /// without a surge pod): down while the step runs.
    Recreate {
        version: Generation,
        database: Generation,
    },
    /// A stopped node starts and takes traffic (a failover).
    Start,
    /// Every node of the cluster starts; its active nodes take traffic, a
    /// passive one stands by (the first deployment).
    StartAll,
    /// A node new in a commit starts; it takes traffic once its
    /// datacenter's routes are the commit's.
    Join,
    /// A node a commit removes stops, for good.
    Leave,
}

/// Old or new: of a node's software, or of the database it uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Generation {
    Current,
    Next,
}

/// What plan generation needs: the topology, its deployment, the target,
/// and the upgrade being planned (none for a failover).
pub(crate) struct Input<'a> {
    pub topology: &'a Topology,
    pub deployment: &'a Deployment,
    pub target: Target,
    pub upgrade: Option<&'a crate::model::Upgrade>,
    /// The first deployment (`plan --bootstrap`).
    pub bootstrap: bool,
    /// The traffic floor that replaces `degraded_capacity x peak_load`.
    pub held: Option<&'a crate::traffic::HeldTo>,
    /// The change a commit makes (`plan --since`).
    pub change: Option<&'a change::ChangeContext>,
}

impl Input<'_> {
    pub fn site(&self, index: usize) -> &Site {
        &self.deployment.sites[index]
    }

    /// Whether something routes a cluster's traffic, so a node can be
    /// drained while it runs: a Service on Kubernetes, a load balancer in
    /// front of it on Compose and Puppet. Elsewhere the clients are given
    /// every node's address and leave a node when it stops.
    pub fn routed(&self, site: &Site, cluster: &crate::deployment::ClusterPlan) -> bool {
        self.target == Target::Kubernetes || site.fronts(cluster)
    }

    /// What a cluster must serve: its traffic floor when the plan is held
    /// to traffic, else `degraded_capacity x peak_load`.
    pub fn required_rps(
        &self,
        site: &Site,
        cluster: &crate::deployment::ClusterPlan,
    ) -> Option<f64> {
        self.held
            .and_then(|h| h.required(&site.name, &cluster.label))
            .or(cluster.required_rps)
    }
}

/// Order drafts topologically: a step comes after what it depends on;
/// among steps free to go, the one drafted first goes first (stable).
fn order(drafts: &[Draft]) -> Vec<usize> {
    let mut graph: DiGraph<usize, ()> = DiGraph::new();
    let nodes: Vec<NodeIndex> = (0..drafts.len()).map(|i| graph.add_node(i)).collect();
    for (i, draft) in drafts.iter().enumerate() {
        for &before in &draft.after {
            if before < drafts.len() && before != i {
                graph.add_edge(nodes[before], nodes[i], ());
            }
        }
    }
    let mut indegree: Vec<usize> = nodes
        .iter()
        .map(|&n| {
            graph
                .neighbors_directed(n, petgraph::Direction::Incoming)
                .count()
        })
        .collect();
    let mut ready: std::collections::BTreeSet<usize> =
        (0..drafts.len()).filter(|&i| indegree[i] == 0).collect();
    let mut out = Vec::with_capacity(drafts.len());
    while let Some(&next) = ready.iter().next() {
        ready.remove(&next);
        out.push(next);
        for succ in graph.neighbors_directed(nodes[next], petgraph::Direction::Outgoing) {
            let j = graph[succ];
            indegree[j] -= 1;
            if indegree[j] == 0 {
                ready.insert(j);
            }
        }
    }
    // Drafts are built in dependency order, so there is no cycle; keep any
    // leftover in drafting order all the same.
    for i in 0..drafts.len() {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

/// The runbook of an upgrade block for a target.
pub fn plan_upgrade(t: &Topology, d: &Deployment, upgrade: UpgradeId, target: Target) -> Plan {
    plan_upgrade_block(t, d, &t.upgrades[upgrade.0], target)
}

/// The runbook of an upgrade, given as a block (of the topology, or one a
/// change stands for).
pub(crate) fn plan_upgrade_block(
    t: &Topology,
    d: &Deployment,
    u: &crate::model::Upgrade,
    target: Target,
) -> Plan {
    let input = Input {
        topology: t,
        deployment: d,
        target,
        upgrade: Some(u),
        bootstrap: false,
        held: None,
        change: None,
    };
    let drafts = generate::upgrade(&input, u);
    let kind = u.kind().map(|k| k.name().to_string()).unwrap_or_default();
    finish(&input, u.name.clone(), kind, u.window.clone(), None, drafts)
}

/// The runbook of an upgrade held to the traffic in its window: every
/// cluster against `held` instead of `degraded_capacity x peak_load`, the
/// margin of every step, and how the same plan fares at the peak floor.
pub fn plan_upgrade_held(
    t: &Topology,
    d: &Deployment,
    upgrade: UpgradeId,
    target: Target,
    held: &crate::traffic::HeldTo,
) -> Plan {
    let at_peak = plan_upgrade(t, d, upgrade, target);
    let u = &t.upgrades[upgrade.0];
    let input = Input {
        topology: t,
        deployment: d,
        target,
        upgrade: Some(u),
        bootstrap: false,
        held: Some(held),
        change: None,
    };
    let drafts = generate::upgrade(&input, u);
    let kind = u.kind().map(|k| k.name().to_string()).unwrap_or_default();
    let mut plan = finish(&input, u.name.clone(), kind, u.window.clone(), None, drafts);
    for step in &mut plan.steps {
        step.margin_rps = step.capacity_rps.zip(step.required_rps).map(|(c, r)| c - r);
    }
    plan.held_to = Some(held.clone());
    plan.at_peak = Some(AtPeak {
        safe: at_peak.safe,
        lowest_margin_rps: at_peak.summary.lowest_margin_rps,
        violations: at_peak.violations,
    });
    plan
}

/// The failover runbook of a disaster-recovery datacenter, if `name` is one.
pub fn plan_failover(
    t: &Topology,
    d: &Deployment,
    datacenter: &str,
    target: Target,
) -> Option<Plan> {
    let input = Input {
        topology: t,
        deployment: d,
        target,
        upgrade: None,
        bootstrap: false,
        held: None,
        change: None,
    };
    let index = d
        .sites
        .iter()
        .position(|s| s.name == datacenter && s.role == crate::model::Role::DisasterRecovery)?;
    let drafts = generate::failover(&input, index);
    let site = input.site(index);
    let unavailability = Some(match (&site.standby, &site.recovery_time) {
        (Some(crate::model::DcStandby::Hot), _) => {
            "the DNS switch only: the site is a hot standby".to_string()
        }
        (_, Some(time)) => format!(
            "up to {time} (the recovery time of a {} standby)",
            site.standby.map(|s| s.name()).unwrap_or("cold")
        ),
        _ => "unknown: the site declares no recovery_time".to_string(),
    })
    .map(|window| {
        if site.clusters.iter().any(|c| c.serves_portals()) {
            window
        } else {
            format!(
                "{window}; the site runs no control plane, so until the primary is back APIs are served but none can be published and no application can subscribe"
            )
        }
    });
    let mut plan = finish(
        &input,
        format!("failover-{}", site.name),
        "failover".to_string(),
        None,
        unavailability,
        drafts,
    );
    plan.failover_to = Some(site.name.clone());
    Some(plan)
}

/// The runbook of the first deployment: files, databases, schema,
/// replicas, then the datacenters and their clusters in order.
pub fn plan_bootstrap(t: &Topology, d: &Deployment, target: Target) -> Plan {
    let input = Input {
        topology: t,
        deployment: d,
        target,
        upgrade: None,
        bootstrap: true,
        held: None,
        change: None,
    };
    let drafts = bootstrap::drafts(&input);
    finish(
        &input,
        "bootstrap".to_string(),
        "bootstrap".to_string(),
        None,
        None,
        drafts,
    )
}

pub(crate) fn finish(
    input: &Input,
    name: String,
    kind: String,
    window: Option<String>,
    unavailability: Option<String>,
    drafts: Vec<Draft>,
) -> Plan {
    let ordering = order(&drafts);
    let mut number_of: BTreeMap<usize, usize> = BTreeMap::new();
    for (position, &draft) in ordering.iter().enumerate() {
        number_of.insert(draft, position + 1);
    }
    let ordered: Vec<&Draft> = ordering.iter().map(|&i| &drafts[i]).collect();
    let mode = match kind.as_str() {
        "failover" => simulate::Mode::Failover,
        "bootstrap" => simulate::Mode::Bootstrap,
        _ => simulate::Mode::Upgrade,
    };
    let mut outcome = simulate::run(input, &ordered, mode);
    let mut steps = Vec::with_capacity(ordered.len());
    for (position, draft) in ordered.iter().enumerate() {
        let state = &outcome.states[position];
        let commands = commands::for_step(input, draft).unwrap_or_else(|unresolved| {
            outcome.violations.push(Violation {
                step: position + 1,
                message: format!("has no commands: {unresolved}"),
            });
            commands::Commands::default()
        });
        let mut after: Vec<usize> = draft
            .after
            .iter()
            .filter_map(|a| number_of.get(a).copied())
            .collect();
        after.sort_unstable();
        after.dedup();
        let cluster_name = |label: &String| {
            draft
                .site
                .and_then(|s| input.deployment.sites.get(s))
                .and_then(|s| s.cluster(label))
                .map(|p| p.name.clone())
                .unwrap_or_else(|| label.clone())
        };
        steps.push(Step {
            n: position + 1,
            action: draft.action,
            datacenter: draft
                .site
                .and_then(|s| input.deployment.sites.get(s))
                .map(|s| s.name.clone()),
            cluster: draft.cluster.as_ref().map(cluster_name),
            node: draft.node.clone(),
            title: draft.title.clone(),
            manual: commands.manual,
            commands: commands.commands,
            verify: commands.verify,
            rollback: commands.rollback,
            serving: state.serving.clone(),
            capacity_rps: state.capacity,
            required_rps: state.required,
            after,
            minutes: draft.action.minutes(),
            note: draft.note.clone(),
            databases: draft.databases.clone(),
            percent: match draft.detail {
                Detail::Shift(percent) => Some(percent),
                _ => None,
            },
            starts: match &draft.detail {
                Detail::NewDeployment(label) => Some(cluster_name(label)),
                _ => None,
            },
            rehearsal: draft.detail == Detail::Rehearsal,
            margin_rps: None,
        });
    }
    outcome.violations.sort_by_key(|v| v.step);
    let lowest_margin_rps = steps
        .iter()
        .filter_map(|s| Some(s.capacity_rps? - s.required_rps?))
        .fold(None, |acc: Option<f64>, m| {
            Some(acc.map_or(m, |a| a.min(m)))
        });
    let mut datacenters: Vec<String> = steps.iter().filter_map(|s| s.datacenter.clone()).collect();
    datacenters.dedup();
    let mut clusters: Vec<String> = steps.iter().filter_map(|s| s.cluster.clone()).collect();
    clusters.sort();
    clusters.dedup();
    let summary = Summary {
        nodes: outcome.nodes,
        temporary_nodes: steps.iter().filter(|s| s.action == Action::AddNode).count(),
        lowest_margin_rps,
        minutes: steps.iter().map(|s| s.minutes).sum(),
        datacenters,
        clusters,
        manual_steps: steps.iter().filter(|s| s.manual).map(|s| s.n).collect(),
    };
    Plan {
        upgrade: name,
        kind,
        target: input.target,
        safe: outcome.violations.is_empty(),
        unavailability,
        window,
        held_to: None,
        at_peak: None,
        summary,
        steps,
        violations: outcome.violations,
        failover_to: None,
    }
}

/// What a plan of an upgrade is held to, given its plan at the peak floor
/// (`None`: the peak floor).
pub type Holding<'a> = &'a dyn Fn(&Deployment, UpgradeId, &Plan) -> Option<crate::traffic::HeldTo>;

/// UP001 for every upgrade whose plan is unsafe on some target.
pub fn check(t: &Topology, out: &mut Vec<Diagnostic>) {
    check_held(t, None, out)
}

/// UP001 (and UP007) with each plan held to what `held` gives it: the
/// traffic of the upgrade's window (`check --traffic`).
pub fn check_held(t: &Topology, held: Option<Holding>, out: &mut Vec<Diagnostic>) {
    if t.upgrades.is_empty() {
        return;
    }
    let d = crate::deployment::plan(t);
    for (i, u) in t.upgrades.iter().enumerate() {
        if u.kind().is_none() {
            continue;
        }
        let mut reported: Vec<String> = Vec::new();
        let mut longest: Option<Plan> = None;
        for target in Target::ALL {
            let plan = plan_upgrade(t, &d, UpgradeId(i), target);
            let plan = match held.and_then(|h| h(&d, UpgradeId(i), &plan)) {
                Some(floor) => plan_upgrade_held(t, &d, UpgradeId(i), target, &floor),
                None => plan,
            };
            if longest
                .as_ref()
                .is_none_or(|l| plan.summary.minutes > l.summary.minutes)
            {
                longest = Some(plan.clone());
            }
            if let Some(first) = plan.violations.first() {
                let step = &plan.steps[first.step - 1];
                let message = match &plan.held_to {
                    Some(h) => format!(
                        "upgrade `{}` cannot keep the service available in its window (held to the traffic of {} x {}%): step {} ({}) {}",
                        u.name,
                        h.window,
                        crate::model::format_number(h.safety_percent),
                        first.step,
                        step.title,
                        first.message
                    ),
                    None => format!(
                        "upgrade `{}` cannot keep the service available: step {} ({}) {}",
                        u.name, first.step, step.title, first.message
                    ),
                };
                if reported.contains(&message) {
                    continue;
                }
                let mut d = Diagnostic::new(&UP001, u.span, message.clone())
                    .label("unsafe plan")
                    .help(if u.surge {
                        "add nodes or node capacity to the cluster, or allow the plan to run outside peak hours (allow UP001)".to_string()
                    } else {
                        "allow a temporary extra node (`surge = true`), or add nodes to the cluster".to_string()
                    });
                if target != Target::Kubernetes {
                    d.message.push_str(&format!(" (with {})", target.name()));
                }
                reported.push(message);
                out.push(d);
            }
        }
        if let Some(plan) = longest {
            overrun(u, &plan, out);
        }
    }
}

/// UP007 when the longest of an upgrade's runbooks does not fit its
/// window: the clusters, in the runbook's order, grouped into upgrades
/// that each fit, where the kind allows a split.
fn overrun(u: &crate::model::Upgrade, plan: &Plan, out: &mut Vec<Diagnostic>) {
    use crate::lints::upgrade::UP007;
    use crate::model::UpgradeKind;
    let Some(window) = u.window_minutes() else {
        return;
    };
    let minutes = plan.summary.minutes;
    if minutes <= window {
        return;
    }
    let took = render::duration(minutes);
    let fits = render::duration(window);
    let target = if plan.target == Target::Kubernetes {
        String::new()
    } else {
        format!(" (with {})", plan.target.name())
    };
    let message = format!(
        "upgrade `{}` takes about {took}{target}, longer than its window of {fits}",
        u.name
    );
    let splits = matches!(
        u.kind(),
        Some(UpgradeKind::Patch | UpgradeKind::ServiceUpdate)
    );
    let help = if !splits {
        format!(
            "a {} cannot be split (the portals stay read-only from its first step to its last): give it a window of at least {took}",
            u.kind().map(|k| k.name()).unwrap_or("runbook")
        )
    } else {
        split_help(plan, window)
    };
    out.push(
        Diagnostic::new(&UP007, u.span, message)
            .label("does not fit its window")
            .help(help),
    );
}

/// How to split a rolling runbook into windows: its clusters, in the
/// order it changes them, grouped while their steps fit.
fn split_help(plan: &Plan, window: u32) -> String {
    let mut clusters: Vec<(String, u32)> = Vec::new();
    for step in &plan.steps {
        let Some(cluster) = &step.cluster else {
            continue;
        };
        match clusters.iter_mut().find(|(c, _)| c == cluster) {
            Some((_, minutes)) => *minutes += step.minutes,
            None => clusters.push((cluster.clone(), step.minutes)),
        }
    }
    if let Some((cluster, minutes)) = clusters.iter().find(|(_, m)| *m > window) {
        return format!(
            "cluster `{cluster}` alone takes about {}: give the upgrade a longer window, or split the cluster's datacenters into upgrades of their own",
            render::duration(*minutes)
        );
    }
    let mut groups: Vec<(Vec<String>, u32)> = Vec::new();
    for (cluster, minutes) in clusters {
        match groups.last_mut() {
            Some((names, total)) if *total + minutes <= window => {
                names.push(cluster);
                *total += minutes;
            }
            _ => groups.push((vec![cluster], minutes)),
        }
    }
    let lists: Vec<String> = groups
        .iter()
        .map(|(names, total)| {
            format!(
                "`clusters = [{}]` ({})",
                names.join(", "),
                render::duration(*total)
            )
        })
        .collect();
    format!(
        "split it into {} upgrades, one per window: {}",
        groups.len(),
        lists.join(", ")
    )
}
