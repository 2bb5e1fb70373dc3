//! The commands of each step, for the chosen target: `kubectl` on
//! Kubernetes ([`kubernetes`]), `docker compose` on Compose ([`compose`]),
//! `ssh` + `puppet agent` and the hosts' own tools on Puppet ([`puppet`]);
//! the database clients ([`database`]) and what concerns a whole
//! datacenter (portals, DNS, end-to-end tests: [`site`]) beside them.
//!
//! Every value that reaches a command is a quoted shell word; what the
//! operator must supply is a variable that stops the command when unset
//! (`"${PATCH_TAG:?...}"`). Every verification exits non-zero when its
//! step did not take effect: it checks the state the step leads to (an
//! image, a replica count, which addresses a Service routes to, a load
//! balancer's marks, a database's tables), never only that a tool answers.
//! A step nothing can do for the operator is marked manual, and says what
//! to do.

mod compose;
mod database;
mod kubernetes;
mod puppet;
mod site;

use serde::Serialize;

use super::{Action, Detail, Draft, Effect, Input};
use crate::deployment::layout::Health;
use crate::deployment::{ClusterPlan, NodePlan, Site};
use crate::model::UpgradeKind;
use crate::text::escape::shell_word as q;

/// The platform a runbook drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// A Kubernetes cluster, driven with `kubectl`.
    Kubernetes,
    /// Docker Compose on the hosts, driven with `docker compose`.
    Compose,
    /// A Puppet server whose agents configure the hosts.
    Puppet,
}

impl Target {
    /// Every target, in the order runbooks are written.
    pub const ALL: [Target; 3] = [Target::Kubernetes, Target::Compose, Target::Puppet];

    /// The target as the command line and the output directories spell it:
    /// `kubernetes`, `compose`, `puppet`.
    pub fn name(self) -> &'static str {
        match self {
            Target::Kubernetes => "kubernetes",
            Target::Compose => "compose",
            Target::Puppet => "puppet",
        }
    }
}

/// What a step runs, how to check it took effect, and how to undo it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Commands {
    /// The shell commands that do the step, one a line, in order.
    pub commands: Vec<String>,
    /// The commands that check the step took effect; each fails when it did not.
    pub verify: Vec<String>,
    /// The commands that undo the step, for a rollback.
    pub rollback: Vec<String>,
    /// The operator does the step by hand (its commands say what to do);
    /// its verification, when it has one, checks that it was done.
    pub manual: bool,
}

impl Commands {
    /// A step the runbook's commands do.
    pub(crate) fn run(commands: Vec<String>, verify: Vec<String>, rollback: Vec<String>) -> Self {
        Commands {
            commands,
            verify,
            rollback,
            manual: false,
        }
    }

    /// A step the operator does by hand: its one command prints what to
    /// do; `verify`, where something can tell, checks that it was done.
    pub(crate) fn by_hand(what: &str, verify: Vec<String>) -> Self {
        Commands {
            commands: vec![format!("echo {}", q(what))],
            verify,
            rollback: Vec::new(),
            manual: true,
        }
    }
}

/// The variables a runbook may ask the operator for, with what they hold.
pub const VARIABLES: &[(&str, &str)] = &[
    (
        "PRODUCT_HOME",
        "the folder of the unpacked WSO2 API Manager pack of the topology's version (its dbscripts)",
    ),
    (
        "PUPPET_ENVIRONMENT",
        "the Puppet server's environment folder of the topology, e.g. /etc/puppetlabs/code/environments/production (the runbook runs where it is a local folder)",
    ),
    ("REGISTRY_USER", "the user of the image registry"),
    ("REGISTRY_PASSWORD", "the password of the image registry"),
    (
        "PATCH_TAG",
        "the image tag of the patched product (Kubernetes and Compose)",
    ),
    (
        "NEXT_BUILD",
        "the output folder of topoc build for the topology at the new version",
    ),
    ("FIXED_ARTIFACT", "the fixed API artifact to deploy"),
    (
        "NEW_ARTIFACT",
        "the API artifact of the new service to deploy",
    ),
    (
        "NEW_API_CONTEXT",
        "the context of the new service's API on the gateways, e.g. /orders/1.0",
    ),
    (
        "NEW_API_NAME",
        "the name of the new service's API, as the DevPortal lists it",
    ),
    (
        "FIXED_TAG",
        "the tag of the image that carries the fixed service (Kubernetes, scaled clusters)",
    ),
    (
        "DUMP_DIR",
        "where the runbook writes database dumps, migration logs and the update levels it found (default: dumps)",
    ),
    (
        "WSO2_UPDATES_USERNAME",
        "the WSO2 account the update tool signs in with (Puppet patches)",
    ),
    ("WSO2_UPDATES_PASSWORD", "the password of that WSO2 account"),
    (
        "MIGRATION_HOME",
        "the unpacked new-version product with WSO2's migration resources",
    ),
    ("NEW_DB_HOST", "the database host of the new deployment"),
    (
        "NEW_ENDPOINT",
        "the load balancer host name of the new deployment, or of the datacenter taking over",
    ),
    (
        "TRAFFIC_SWITCH",
        "the path of an executable of yours (no arguments) that points a host name at a target, run as: NAME TARGET [PERCENT]; with --check first, it exits 0 only when NAME points at TARGET (with that share)",
    ),
    (
        "TOKEN_SYNC",
        "the path of an executable of yours (no arguments) that keeps access tokens in step between two deployments, run as: start | stop | status (status exits 0 only while it runs)",
    ),
    (
        "OLD_ENDPOINT",
        "the load balancer host name the traffic goes back to on a rollback",
    ),
    (
        "WINDOW_START",
        "when the read-only window began, as YYYY-MM-DD HH:MM:SS in UTC (WSO2 writes token times in UTC on every engine: the token sync compares in UTC whatever the server's time zone)",
    ),
];

/// A step names what the deployment does not have: it gets no commands
/// (the plan reports it as a violation, never as an empty path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unresolved(String);

impl std::fmt::Display for Unresolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The shell words of a command, joined.
fn sh(parts: &[&str]) -> String {
    parts.join(" ")
}

/// A check retried every `pause` seconds, `tries` times, that fails with
/// `failure` on standard error when it never holds.
fn until(check: &str, tries: u32, pause: u32, failure: &str) -> String {
    format!(
        "( for _ in $(seq {tries}); do {check} && exit 0; sleep {pause}; done; echo {} >&2; exit 1 )",
        q(failure)
    )
}

/// `test "$(COMMAND)" = EXPECTED`: the output of a command is a value
/// (`expected` is already a shell word).
fn output_is(command: &str, expected: &str) -> String {
    format!("test \"$({command})\" = {expected}")
}

/// A health check run on the node itself: it exits non-zero unless the
/// node answers with success.
fn probe(check: &Health) -> String {
    format!(
        "curl -fsS{} -o /dev/null {}",
        if check.https { "k" } else { "" },
        check.local_url()
    )
}

/// Every health check of a cluster's nodes, as commands run on a node.
fn probes(cluster: &ClusterPlan, major: u32) -> Vec<String> {
    cluster.health_checks(major).iter().map(probe).collect()
}

/// What a step acts on, resolved in the deployment.
pub(super) struct Ctx<'a> {
    input: &'a Input<'a>,
    draft: &'a Draft,
    site: Option<&'a Site>,
    cluster: Option<&'a ClusterPlan>,
    node: Option<&'a NodePlan>,
}

impl<'a> Ctx<'a> {
    fn resolve(input: &'a Input<'a>, draft: &'a Draft) -> Result<Self, Unresolved> {
        let site = match draft.site {
            Some(i) => Some(input.deployment.sites.get(i).ok_or_else(|| {
                Unresolved(format!("the deployment has no datacenter number {i}"))
            })?),
            None => None,
        };
        let cluster = match (&draft.cluster, site) {
            (Some(label), Some(site)) => Some(site.cluster(label).ok_or_else(|| {
                Unresolved(format!(
                    "datacenter `{}` has no cluster `{label}`",
                    site.name
                ))
            })?),
            (Some(label), None) => {
                return Err(Unresolved(format!(
                    "the step names cluster `{label}` but no datacenter"
                )));
            }
            (None, _) => None,
        };
        let node = match (&draft.node, cluster) {
            (Some(name), Some(cluster)) => Some(cluster.node(name).ok_or_else(|| {
                Unresolved(format!("cluster `{}` has no node `{name}`", cluster.name))
            })?),
            (Some(name), None) => {
                return Err(Unresolved(format!(
                    "the step names node `{name}` but no cluster"
                )));
            }
            (None, _) => None,
        };
        Ok(Ctx {
            input,
            draft,
            site,
            cluster,
            node,
        })
    }

    fn site(&self) -> Result<&'a Site, Unresolved> {
        self.site
            .ok_or_else(|| Unresolved(format!("`{}` names no datacenter", self.draft.title)))
    }

    fn cluster(&self) -> Result<&'a ClusterPlan, Unresolved> {
        self.cluster
            .ok_or_else(|| Unresolved(format!("`{}` names no cluster", self.draft.title)))
    }

    fn node(&self) -> Result<&'a NodePlan, Unresolved> {
        self.node
            .ok_or_else(|| Unresolved(format!("`{}` names no node", self.draft.title)))
    }

    /// A cluster of the step's datacenter, by label.
    fn cluster_of_site(&self, label: &str) -> Result<&'a ClusterPlan, Unresolved> {
        let site = self.site()?;
        site.cluster(label).ok_or_else(|| {
            Unresolved(format!(
                "datacenter `{}` has no cluster `{label}`",
                site.name
            ))
        })
    }

    fn target(&self) -> Target {
        self.input.target
    }

    fn major(&self) -> u32 {
        self.input.deployment.major
    }

    fn to_version(&self) -> Option<String> {
        self.input
            .upgrade
            .and_then(|u| u.to_version.as_ref())
            .map(|v| v.value.to_string())
    }

    fn kind(&self) -> Option<UpgradeKind> {
        self.input.upgrade.and_then(|u| u.kind())
    }

    /// Whether something routes the step's cluster's traffic.
    fn routed(&self) -> bool {
        match (self.site, self.cluster) {
            (Some(site), Some(cluster)) => self.input.routed(site, cluster),
            _ => false,
        }
    }

    /// Whether the step's node is the temporary node of its cluster.
    fn temporary(&self) -> bool {
        match (self.cluster, self.node) {
            (Some(c), Some(n)) => c.surge.name == n.name,
            _ => false,
        }
    }

    /// The other node of the step's pair (for an active-passive switch,
    /// the node traffic moves from).
    fn peer(&self) -> Option<&'a str> {
        if let Effect::Switch { from } = &self.draft.effect {
            return Some(from.as_str());
        }
        let (cluster, node) = (self.cluster?, self.node?);
        cluster
            .nodes
            .iter()
            .map(|n| n.name.as_str())
            .find(|n| *n != node.name)
    }

    /// The tag a patch or a fixed service's image moves the node to (a
    /// shell word or a required variable).
    fn new_tag(&self, action: Action) -> String {
        match (action, self.to_version()) {
            (Action::Deploy, _) => {
                "\"${FIXED_TAG:?set FIXED_TAG to the tag of the image with the fixed service}\""
                    .to_string()
            }
            (_, Some(v)) => q(&v),
            (_, None) => "\"${PATCH_TAG:?set PATCH_TAG to the patched image tag}\"".to_string(),
        }
    }
}

/// The repository of an image reference: all but its tag and digest.
fn repository(image: &str) -> &str {
    crate::model::naming::ImageRef::parse(image).repository
}

/// `NEXT_BUILD/<path>`: a file of the new version's build.
fn next_build(path: &str) -> String {
    format!(
        "\"${{NEXT_BUILD:?folder of topoc build for the new version}}\"/{}",
        q(path)
    )
}

/// The API artifact a step deploys: the fixed service of a service
/// update, or the new one of an `add-service` upgrade.
#[derive(Debug, Clone, Copy)]
struct Artifact {
    /// The variable that names it.
    var: &'static str,
    what: &'static str,
}

impl Artifact {
    /// The artifact, as the operator gives it (a required variable).
    fn given(self) -> String {
        format!("\"${{{}:?path of {}}}\"", self.var, self.what)
    }

    /// Its file name, as the API folder holds it.
    fn name(self) -> String {
        format!("\"$(basename \"${{{}:?}}\")\"", self.var)
    }

    /// Its file in `folder`.
    fn in_folder(self, folder: &str) -> String {
        format!("{}{}", q(&format!("{folder}/")), self.name())
    }
}

impl Ctx<'_> {
    fn artifact(&self) -> Artifact {
        if self.kind() == Some(UpgradeKind::AddService) {
            Artifact {
                var: "NEW_ARTIFACT",
                what: "the new service's API artifact",
            }
        } else {
            Artifact {
                var: "FIXED_ARTIFACT",
                what: "the fixed API artifact",
            }
        }
    }
}

/// The commands of a step for the input's target.
pub(crate) fn for_step(input: &Input, draft: &Draft) -> Result<Commands, Unresolved> {
    let ctx = Ctx::resolve(input, draft)?;
    match &draft.detail {
        Detail::Rehearsal => return Ok(site::rehearsal()),
        Detail::Shift(percent) => return site::dns(&ctx, Some(*percent)),
        Detail::NewDeployment(label) => {
            let cluster = ctx.cluster_of_site(label)?;
            return match input.target {
                Target::Kubernetes => kubernetes::new_deployment(&ctx, cluster),
                Target::Compose => compose::new_deployment(&ctx, cluster),
                Target::Puppet => puppet::new_deployment(&ctx, cluster),
            };
        }
        Detail::LoadBalancers => {
            return match input.target {
                Target::Kubernetes => kubernetes::start_load_balancers(&ctx),
                Target::Compose => compose::start_load_balancers(&ctx),
                Target::Puppet => puppet::start_load_balancers(&ctx),
            };
        }
        Detail::StageBuild => return puppet::stage_build(&ctx),
        Detail::Route => {
            return match input.target {
                Target::Kubernetes => kubernetes::route(&ctx),
                Target::Compose => compose::route(&ctx),
                Target::Puppet => puppet::route(&ctx),
            };
        }
        Detail::Retire => return site::retire(&ctx),
        Detail::Settle => return puppet::settle(&ctx),
        Detail::ArtifactPush => return site::artifact_push(&ctx),
        Detail::NewSite if draft.action == Action::Prepare => {
            return match input.target {
                Target::Kubernetes => kubernetes::prepare_site(&ctx),
                Target::Compose => compose::prepare_site(&ctx),
                Target::Puppet => puppet::prepare_site(&ctx),
            };
        }
        Detail::NewSite if ctx.site()?.load_balancers.is_empty() => {
            return Ok(Commands::by_hand(
                &format!(
                    "point the DNS names clients use at the nodes of {} (the new build's README lists them)",
                    ctx.site()?.name
                ),
                Vec::new(),
            ));
        }
        Detail::NewSite => {
            return match input.target {
                Target::Kubernetes => kubernetes::open_new_site(&ctx),
                Target::Compose => compose::open_new_site(&ctx),
                Target::Puppet => puppet::open_new_site(&ctx),
            };
        }
        Detail::NewService(bound) => {
            let bound = *bound;
            return match (draft.action, input.target) {
                (Action::Expose, _) => site::expose(&ctx),
                (Action::AwaitSync, Target::Kubernetes) => kubernetes::await_service(&ctx, bound),
                (Action::AwaitSync, Target::Compose) => compose::await_service(&ctx, bound),
                (Action::AwaitSync, Target::Puppet) => puppet::await_service(&ctx, bound),
                (Action::Test, Target::Kubernetes) => kubernetes::test_service(&ctx),
                (Action::Test, Target::Compose) => compose::test_service(&ctx),
                (Action::Test, Target::Puppet) => puppet::test_service(&ctx),
                (action, _) => Err(unsupported(&ctx, action)),
            };
        }
        Detail::Preview(change) => {
            return match input.target {
                Target::Kubernetes => kubernetes::preview(&ctx, *change),
                _ => Err(unsupported(&ctx, draft.action)),
            };
        }
        Detail::None => {}
    }
    if matches!(draft.effect, Effect::Join | Effect::Leave) {
        let join = draft.effect == Effect::Join;
        return match (input.target, join) {
            (Target::Kubernetes, true) => kubernetes::join(&ctx),
            (Target::Kubernetes, false) => kubernetes::leave(&ctx),
            (Target::Compose, true) => compose::join(&ctx),
            (Target::Compose, false) => compose::leave(&ctx),
            (Target::Puppet, true) => puppet::join(&ctx),
            (Target::Puppet, false) => puppet::leave(&ctx),
        };
    }
    if draft.effect == Effect::Offline {
        return match input.target {
            Target::Kubernetes => kubernetes::offline(&ctx, draft.action),
            Target::Compose => compose::offline(&ctx, draft.action),
            Target::Puppet => puppet::offline(&ctx, draft.action),
        };
    }
    match draft.action {
        Action::Prepare => match input.target {
            Target::Kubernetes => kubernetes::prepare(&ctx),
            Target::Compose => compose::prepare(&ctx),
            Target::Puppet => puppet::prepare(&ctx),
        },
        Action::CreateDb => database::create(&ctx),
        Action::FenceDb => database::fence(&ctx),
        Action::LoadSchema => database::load_schema(&ctx),
        Action::StartSync if !draft.databases.is_empty() => database::replicate(&ctx),
        Action::Dump
        | Action::Restore
        | Action::MigrateDb
        | Action::TokenSync
        | Action::PromoteDb => database::step(&ctx),
        Action::ReadOnly | Action::ReadWrite => {
            site::portals(&ctx, draft.action == Action::ReadOnly)
        }
        Action::DnsSwitch => site::dns(&ctx, None),
        Action::OpenTraffic if ctx.site()?.load_balancers.is_empty() => Ok(Commands::by_hand(
            &format!(
                "point the DNS names clients use at the nodes of {} (out/README.md lists them)",
                ctx.site()?.name
            ),
            Vec::new(),
        )),
        Action::OpenTraffic => match input.target {
            Target::Kubernetes => kubernetes::open_traffic(&ctx),
            Target::Compose => compose::open_traffic(&ctx),
            Target::Puppet => puppet::open_traffic(&ctx),
        },
        Action::Test if ctx.cluster.is_none() => site::end_to_end(&ctx),
        // The first deployment starts a whole cluster at once.
        Action::StartNode if draft.effect == Effect::StartAll => match input.target {
            Target::Kubernetes => kubernetes::start_cluster(&ctx),
            Target::Compose => compose::start_cluster(&ctx),
            Target::Puppet => puppet::start_cluster(&ctx),
        },
        action => match input.target {
            Target::Kubernetes => kubernetes::node(&ctx, action),
            Target::Compose => compose::node(&ctx, action),
            Target::Puppet => puppet::node(&ctx, action),
        },
    }
}

/// Every file the operator keeps beside the output folder for this
/// deployment is there and not empty: secrets, JDBC drivers, keystores.
fn operator_files_check(ctx: &Ctx) -> String {
    let d = ctx.input.deployment;
    let files = d.operator_files_from_output();
    let mut needed: Vec<String> = d
        .secrets
        .iter()
        .map(|s| format!("{files}/secrets/{}", s.name))
        .collect();
    needed.extend(d.drivers.iter().map(|j| format!("{files}/lib/{j}")));
    needed.extend(
        d.keystores
            .supplied()
            .iter()
            .map(|s| format!("{files}/security/{}", s.file)),
    );
    let words: Vec<String> = needed.iter().map(|p| q(p)).collect();
    format!(
        "( for file in {}; do test -s \"$file\" || {{ echo \"missing: $file\" >&2; exit 1; }}; done )",
        words.join(" ")
    )
}

/// The tag of an image reference, if it has one.
fn tag(image: &str) -> Option<&str> {
    crate::model::naming::ImageRef::parse(image).tag
}

/// How many times a check is retried, every 10 seconds, to wait `bound`
/// seconds and a minute more.
fn tries_for(bound: u64) -> u32 {
    (bound / 10 + 6).min(u32::MAX as u64) as u32
}

/// The new service answers on the node's gateway: anything but "no such
/// API" (404) or no answer (an API may ask for a token first). Run on the
/// node.
fn service_probe() -> String {
    format!(
        "code=$(curl -sk -o /dev/null -w '%{{http_code}}' \"https://localhost:{}${{NEW_API_CONTEXT:?context of the new API, e.g. /orders/1.0}}\"); [ \"$code\" != 404 ] && [ \"$code\" != 000 ]",
        crate::deployment::layout::ports::GATEWAY_HTTPS
    )
}

/// A node action no target does for this kind of step.
fn unsupported(ctx: &Ctx, action: Action) -> Unresolved {
    Unresolved(format!(
        "no {} command does `{}` on {}",
        ctx.target().name(),
        action.name(),
        ctx.draft
            .node
            .as_deref()
            .or(ctx.draft.cluster.as_deref())
            .unwrap_or("the deployment")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repository_keeps_its_registry_port_and_loses_its_tag_or_digest() {
        assert_eq!(repository("wso2/wso2am:4.2.0"), "wso2/wso2am");
        assert_eq!(
            repository("registry.example:5000/apim/wso2am:4.2.0.3"),
            "registry.example:5000/apim/wso2am"
        );
        assert_eq!(
            repository("registry.example:5000/apim/wso2am"),
            "registry.example:5000/apim/wso2am"
        );
        assert_eq!(repository("wso2/wso2am@sha256:0123abcd"), "wso2/wso2am");
    }

    #[test]
    fn a_retried_check_fails_with_its_message() {
        let check = until("false", 2, 0, "never");
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(&check)
            .output()
            .expect("bash runs");
        assert!(!out.status.success());
        assert_eq!(String::from_utf8_lossy(&out.stderr).trim(), "never");
        let ok = std::process::Command::new("bash")
            .arg("-c")
            .arg(until("true", 2, 0, "never"))
            .status()
            .expect("bash runs");
        assert!(ok.success());
    }
}
