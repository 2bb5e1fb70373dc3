//! The steps on a whole datacenter or deployment: the portals made
//! read-only and read-write again, the DNS switch, the end-to-end test of
//! a new deployment, the rehearsal, and the checks shared by the targets'
//! first-deployment steps.

use super::{Commands, Ctx, Target, Unresolved, compose, kubernetes, puppet, q, until};
use crate::deployment::config::cluster_address;
use crate::deployment::{Network, RouteKind, Site};
use crate::model::{Role, UpgradeKind};

/// A write to the Publisher through a load balancer host name is refused
/// (403) while the portals are read-only, answered otherwise.
fn writes(hostname: &str, refused: bool) -> String {
    let code = format!(
        "curl -s -o /dev/null -w '%{{http_code}}' -X POST {}",
        q(&format!("https://{hostname}/publisher/"))
    );
    if refused {
        format!("test \"$({code})\" = 403")
    } else {
        format!("code=$({code}); [ \"$code\" != 403 ] && [ \"$code\" != 000 ]")
    }
}

/// The load balancers in front of the portals of a site: for each, the
/// name of its portal route (the Ingress) and its host name.
fn portal_hosts(site: &Site) -> Vec<(String, String)> {
    site.load_balancers
        .iter()
        .filter_map(|lb| {
            let route = lb
                .routes(site)
                .into_iter()
                .find(|r| r.kind == RouteKind::Portal)?;
            Some((route.name, lb.hostname.clone()))
        })
        .collect()
}

/// The Publisher and DevPortal made read-only (or read-write again) at
/// each load balancer in front of them. Without one, the operator does it
/// at whatever entry point the portals have.
pub(super) fn portals(ctx: &Ctx, read_only: bool) -> Result<Commands, Unresolved> {
    let site = ctx.site()?;
    let hosts = portal_hosts(site);
    let verb = if read_only { "read-only" } else { "read-write" };
    if hosts.is_empty() {
        return Ok(Commands::by_hand(
            &format!(
                "no load balancer fronts the portals of {}: make the Publisher and DevPortal {verb} at their entry point",
                site.name
            ),
            Vec::new(),
        ));
    }
    // After a migration the portals open on the new deployment; the
    // current one stays read-only (its databases are no longer the ones in
    // use).
    let next = !read_only && ctx.kind() == Some(UpgradeKind::Migration);
    let undo = if read_only { "read-write" } else { "read-only" };
    let mut out = Commands::default();
    for (route, hostname) in hosts {
        out.verify.push(writes(&hostname, read_only));
        if next {
            match ctx.target() {
                Target::Kubernetes => out.commands.push(kubernetes::open_next_portals(site)),
                Target::Compose => {
                    for command in compose::open_next_portals(site, &hostname) {
                        if !out.commands.contains(&command) {
                            out.commands.push(command);
                        }
                    }
                }
                // The new deployment's load balancer host was never made
                // read-only: its agent set it up as built. Only the check
                // remains.
                Target::Puppet => {}
            }
            continue;
        }
        let (command, rollback) = match ctx.target() {
            Target::Kubernetes => kubernetes::portal_mode(site, &route, read_only),
            Target::Compose => (
                compose::lb(site, verb, &hostname),
                compose::lb(site, undo, &hostname),
            ),
            Target::Puppet => (
                puppet::lb(site, verb, &hostname),
                puppet::lb(site, undo, &hostname),
            ),
        };
        out.commands.push(command);
        out.rollback.push(rollback);
    }
    Ok(out)
}

/// The host names clients use: the primary's load balancers', or its
/// clusters' when it has none.
fn public_hosts(ctx: &Ctx) -> Vec<String> {
    let Some(primary) = ctx
        .input
        .deployment
        .sites
        .iter()
        .find(|s| s.role == Role::Primary)
    else {
        return Vec::new();
    };
    let hosts: Vec<String> = primary
        .load_balancers
        .iter()
        .map(|lb| lb.hostname.clone())
        .collect();
    if !hosts.is_empty() {
        return hosts;
    }
    primary
        .clusters
        .iter()
        .map(|c| cluster_address(primary, c, Network::Hosts))
        .collect()
}

/// The first address a host name resolves to.
fn address(name: &str) -> String {
    format!("getent ahosts {name} | awk 'NR == 1 {{ print $1 }}'")
}

/// Every public host name pointed at the new deployment (or, on failover,
/// at the datacenter taking over), by the operator's `TRAFFIC_SWITCH`;
/// `percent` for a share of the traffic. A whole switch is checked by
/// resolving the name (within ten minutes: its TTL), a share by the
/// switch's own check.
pub(super) fn dns(ctx: &Ctx, percent: Option<u8>) -> Result<Commands, Unresolved> {
    let failover = ctx.kind().is_none();
    let targets: Vec<String> = if failover {
        ctx.site()?
            .load_balancers
            .iter()
            .map(|lb| q(&lb.hostname))
            .collect()
    } else {
        Vec::new()
    };
    let hosts = public_hosts(ctx);
    if hosts.is_empty() {
        return Err(Unresolved(
            "the primary datacenter has no host name to switch".to_string(),
        ));
    }
    let mut out = Commands::default();
    for (i, host) in hosts.iter().enumerate() {
        // A site with copies of the primary's load balancers uses the same
        // host names: the switch points them at the site's own address.
        let target = targets
            .get(i)
            .filter(|target| **target != q(host))
            .cloned()
            .unwrap_or_else(|| "\"${NEW_ENDPOINT:?host name to switch to}\"".to_string());
        let share = percent.map(|p| format!(" {p}")).unwrap_or_default();
        out.commands.push(format!(
            "\"${{TRAFFIC_SWITCH:?command that points a host name at a target}}\" {} {target}{share}",
            q(host)
        ));
        out.verify.push(match percent {
            Some(p) if p < 100 => {
                format!("\"${{TRAFFIC_SWITCH:?}}\" --check {} {target} {p}", q(host))
            }
            _ => until(
                &format!(
                    "test \"$({})\" = \"$({})\"",
                    address(&q(host)),
                    address(&target)
                ),
                60,
                10,
                &format!("{host} does not resolve to the new address yet"),
            ),
        });
        out.rollback.push(format!(
            "\"${{TRAFFIC_SWITCH:?}}\" {} \"${{OLD_ENDPOINT:?host name to switch back to}}\"",
            q(host)
        ));
    }
    Ok(out)
}

/// The new deployment answers under every public host name, reached at
/// its own address.
pub(super) fn end_to_end(ctx: &Ctx) -> Result<Commands, Unresolved> {
    let hosts = public_hosts(ctx);
    if hosts.is_empty() {
        return Err(Unresolved(
            "the primary datacenter has no host name to test".to_string(),
        ));
    }
    let checks: Vec<String> = hosts
        .iter()
        .map(|h| {
            format!(
                "curl -fsS -o /dev/null --resolve {}:443:\"$({})\" {}",
                q(h),
                address("\"${NEW_ENDPOINT:?}\""),
                q(&format!("https://{h}/services/Version"))
            )
        })
        .collect();
    Ok(Commands::run(checks.clone(), checks, Vec::new()))
}

/// The migration rehearsed on a restored backup first: the operator's to
/// do, with the runbook in hand.
pub(super) fn rehearsal() -> Commands {
    Commands::by_hand(
        "restore a recent backup into a staging deployment and run every step below against it",
        Vec::new(),
    )
}

/// The new deployment must not take over the current namespace or
/// Compose project: the key line of `file` differs in the new build.
pub(super) fn apart(file: &str, key: &str) -> String {
    format!(
        "test \"$(grep -m1 {key} {current})\" != \"$(grep -m1 {key} {next})\" || {{ echo {} >&2; false; }}",
        q(
            "the new deployment must not reuse the current namespace or project: give the new topology another name"
        ),
        key = q(key),
        current = q(file),
        next = super::next_build(file),
    )
}

/// Traffic reaches a datacenter: every load balancer host name answers
/// (not with a server error). Without a load balancer, the operator
/// points the clients' names at the nodes.
pub(super) fn open_traffic_checks(site: &Site) -> Commands {
    let mut out = Commands::default();
    for lb in &site.load_balancers {
        out.verify.push(until(
            &format!(
                "code=$(curl -sk -o /dev/null -w '%{{http_code}}' {}); [ \"$code\" != 000 ] && [ \"${{code#5}}\" = \"$code\" ]",
                q(&format!("https://{}/", lb.hostname))
            ),
            30,
            10,
            &format!("{} does not answer", lb.hostname),
        ));
    }
    out
}

/// A datacenter a commit removes leaves DNS first: each of its load
/// balancers' host names is pointed at the deployment that takes over.
pub(super) fn retire(ctx: &Ctx) -> Result<Commands, Unresolved> {
    let site = ctx.site()?;
    if site.load_balancers.is_empty() {
        return Ok(Commands::by_hand(
            &format!(
                "move the clients of datacenter {} to the datacenters that stay (no load balancer names them here)",
                site.name
            ),
            Vec::new(),
        ));
    }
    let mut out = Commands::default();
    for lb in &site.load_balancers {
        let host = q(&lb.hostname);
        out.commands.push(format!(
            "\"${{TRAFFIC_SWITCH:?command that points a host name at a target}}\" {host} \"${{NEW_ENDPOINT:?host name that takes over}}\""
        ));
        out.verify.push(format!(
            "\"${{TRAFFIC_SWITCH:?}}\" --check {host} \"${{NEW_ENDPOINT:?}}\""
        ));
        out.rollback.push(format!(
            "\"${{TRAFFIC_SWITCH:?}}\" {host} \"${{OLD_ENDPOINT:?host name to switch back to}}\""
        ));
    }
    Ok(out)
}

/// The new service is offered to consumers: published in the Publisher
/// (its lifecycle's Publish), by the operator; the DevPortal of each portal
/// load balancer then lists it.
pub(super) fn expose(ctx: &Ctx) -> Result<Commands, Unresolved> {
    let site = ctx.site()?;
    let (major, minor) = (ctx.input.deployment.major, ctx.input.deployment.minor);
    let api = match (major, minor) {
        (3, _) => "/api/am/store/v1/apis",
        (4, 0) => "/api/am/devportal/v2/apis",
        _ => "/api/am/devportal/v3/apis",
    };
    let verify = portal_hosts(site)
        .into_iter()
        .map(|(_, hostname)| {
            format!(
                "curl -fsS {}\"${{NEW_API_NAME:?name of the new API}}\" | grep -qF \"\\\"name\\\":\\\"${{NEW_API_NAME:?}}\\\"\"",
                q(&format!("https://{hostname}{api}?query=name:"))
            )
        })
        .collect();
    Ok(Commands::by_hand(
        "publish the new API in the Publisher (lifecycle: Publish) once every node passed its test, so that the DevPortal offers it",
        verify,
    ))
}

/// The datacenter that took over on a failover publishes API artifacts
/// in place of the lost primary: its pushers (the nodes
/// [`Site::node_artifact_sync`] names, whose artifact sync is `push`) run,
/// and each has pushed once (its log says `pushed`; a push waits for the
/// folder to hold still for one interval).
pub(super) fn artifact_push(ctx: &Ctx) -> Result<Commands, Unresolved> {
    let site = ctx.site()?;
    let Some(server) = site.artifact_push.as_ref() else {
        return Err(Unresolved(format!(
            "datacenter `{}` pushes no API artifacts",
            site.name
        )));
    };
    let pushers: Vec<(
        &crate::deployment::ClusterPlan,
        &crate::deployment::NodePlan,
    )> = site
        .clusters
        .iter()
        .flat_map(|c| c.nodes.iter().map(move |n| (c, n)))
        .filter(|(c, n)| {
            site.node_artifact_sync(c, Some(n))
                .is_some_and(|(mode, _)| mode == crate::deployment::layout::SyncMode::Push)
        })
        .collect();
    if pushers.is_empty() {
        return Err(Unresolved(format!(
            "no node of datacenter `{}` pushes API artifacts",
            site.name
        )));
    }
    let tries = u32::try_from(server.interval_seconds * 3 / 10)
        .unwrap_or(360)
        .clamp(3, 360)
        + 6;
    let failure = format!(
        "{} has not pushed API artifacts to {} yet: see the artifact sync's log",
        site.name, server.url
    );
    let mut commands = Vec::new();
    let mut verify = Vec::new();
    let mut rollback = Vec::new();
    match ctx.input.target {
        Target::Kubernetes => {
            let ns = q(&site.namespace);
            let mut seen = Vec::new();
            for (cluster, _) in &pushers {
                if seen.contains(&cluster.label) {
                    continue;
                }
                seen.push(cluster.label.clone());
                let dep = q(&format!("deployment/{}", cluster.label));
                // The pusher is a container of the gateways' pods, started
                // with them: the step waits for its first push. grep reads the whole
                // log (no -q): under pipefail, kubectl must not write to a
                // closed pipe.
                let pushed = format!(
                    "kubectl -n {ns} logs {dep} -c artifact-sync | grep -F 'artifact-sync push: pushed' >/dev/null"
                );
                commands.push(until(&pushed, tries, 10, &failure));
                verify.push(pushed);
            }
        }
        Target::Compose => {
            let file = q(&site.compose_file());
            for (_, node) in &pushers {
                let svc = q(&format!("{}-artifact-sync", node.name));
                commands.push(format!(
                    "docker compose -f {file} --profile failover up -d --no-deps {svc}"
                ));
                verify.push(until(
                    &format!(
                        "docker compose -f {file} --profile failover logs {svc} | grep -F 'artifact-sync push: pushed' >/dev/null"
                    ),
                    tries,
                    10,
                    &failure,
                ));
                rollback.push(format!(
                    "docker compose -f {file} --profile failover stop {svc}"
                ));
            }
        }
        Target::Puppet => {
            for (_, node) in &pushers {
                let host = &node.fqdn;
                commands.push(puppet::ssh_command(
                    host,
                    "sudo systemctl start apim-artifact-sync",
                ));
                verify.push(until(
                    &puppet::ssh_command(
                        host,
                        "sudo journalctl -u apim-artifact-sync --no-pager | grep -q 'artifact-sync push: pushed'",
                    ),
                    tries,
                    10,
                    &failure,
                ));
                rollback.push(puppet::ssh_command(
                    host,
                    "sudo systemctl stop apim-artifact-sync",
                ));
            }
        }
    }
    Ok(Commands::run(commands, verify, rollback))
}
