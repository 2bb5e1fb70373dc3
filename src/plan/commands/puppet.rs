//! Puppet: the runbook runs on the Puppet server (where
//! `PUPPET_ENVIRONMENT` is a local folder) and reaches every host by
//! `ssh`. A node runs the product as the systemd unit `wso2am`; the
//! agent (`puppet agent --test`, whose exit status 2 means it changed
//! something) puts a host in the state its Hiera data says. A version
//! upgrade stages the new build as an environment of its own, and moves
//! each node to it in its step. The load balancer host's
//! `/usr/local/bin/apim-lb` is the Compose projects' `lb.sh`.

use super::{Commands, Ctx, Unresolved, next_build, output_is, probes, q, sh, unsupported};
use crate::deployment::layout::{self, HOST_LB_SCRIPT, HOSTS_BASE, HOSTS_USER, PRODUCT_UNIT};
use crate::deployment::{ClusterPlan, NodeRole, Site};
use crate::plan::{Action, Effect};

/// `ssh HOST COMMAND`: the remote command is one word, run by the remote
/// shell as written (`remote` quotes its own values).
fn ssh(host: &str, remote: &str) -> String {
    sh(&["ssh", &q(host), &q(remote)])
}

/// `ssh HOST REMOTE`, for the steps beside the nodes' own.
pub(super) fn ssh_command(host: &str, remote: &str) -> String {
    ssh(host, remote)
}

/// One Puppet agent run on `host`; `--test` exits 2 when it changed
/// something, which is a success.
fn agent_test(host: &str) -> String {
    format!("{} || test $? -eq 2", ssh(host, "sudo puppet agent --test"))
}

/// `puppet agent --disable MESSAGE` on `host`.
fn agent_disable(host: &str, message: &str) -> String {
    ssh(host, &format!("sudo puppet agent --disable {}", q(message)))
}

fn agent_enable(host: &str) -> String {
    ssh(host, "sudo puppet agent --enable")
}

/// A systemd unit on `host` is in `state` (`active`, `inactive`).
fn unit_is(host: &str, unit: &str, state: &str) -> String {
    output_is(
        &ssh(
            host,
            &format!("systemctl show -p ActiveState --value {}", q(unit)),
        ),
        state,
    )
}

fn systemctl(host: &str, verb: &str, unit: &str) -> String {
    ssh(host, &format!("sudo systemctl {verb} {}", q(unit)))
}

/// The load balancer controls on a datacenter's load balancer host.
pub(super) fn lb(site: &Site, verb: &str, name: &str) -> String {
    ssh(
        &site.lb_host(),
        &format!("sudo {HOST_LB_SCRIPT} {verb} {}", q(name)),
    )
}

/// The state the load balancer gives a server (see `lb.sh status`).
fn lb_state(site: &Site, host: &str, state: &str) -> String {
    output_is(&lb(site, "status", host), state)
}

/// The folder beside the current environment the new build is staged in.
fn staged_folder(environment: &str) -> String {
    format!(
        "\"$(dirname \"${{PUPPET_ENVIRONMENT:?path of the Puppet environment of the topology}}\")\"/{}",
        q(environment)
    )
}

/// The name of the topology's current environment.
const CURRENT_ENVIRONMENT: &str =
    "\"$(basename \"${PUPPET_ENVIRONMENT:?path of the Puppet environment of the topology}\")\"";

/// The host's agent uses `environment` (a shell word, quoted again for
/// the remote shell when `remote_quoted`).
fn use_environment(host: &str, environment: &str) -> String {
    format!(
        "ssh {} \"sudo puppet config set environment $(printf %q {environment}) --section agent\"",
        q(host)
    )
}

/// The host's agent is set to `environment` (a shell word).
fn uses_environment(host: &str, environment: &str) -> String {
    output_is(
        &ssh(host, "sudo puppet config print environment --section agent"),
        environment,
    )
}

/// The product runs from a product home of `version` on the host: its
/// JVM's `-Dcarbon.home`.
fn runs_version(host: &str, version: &str) -> String {
    let version = version.replace('.', "[.]");
    ssh(
        host,
        &format!(
            "pgrep -u {HOSTS_USER} -f -- {} >/dev/null",
            q(&format!("-Dcarbon[.]home=[^ ]*-{version}( |$)"))
        ),
    )
}

/// The environment a version upgrade, or a commit, stages the new build
/// in.
fn environment(ctx: &Ctx) -> String {
    if let Some(change) = ctx.input.change {
        return change.environment.clone();
    }
    layout::puppet_environment(
        &ctx.input.deployment.label,
        &ctx.to_version().unwrap_or_default(),
    )
}

/// The WSO2 update tool of the product home on `host`, as the product's
/// user, without a console: the WSO2 account's credentials reach it on
/// standard input, then in its environment (`UPDATE_TOOL_USERNAME`,
/// `UPDATE_TOOL_PASSWORD`), never on a command line. It exits 2 when it
/// updated itself (it runs again), 3 on conflicts it leaves for the
/// operator to merge (`--continue`) or revert.
fn wso2update(host: &str, home: &str, flag: &str) -> String {
    let tool = q(&format!("{home}/bin/wso2update_linux"));
    let script = format!(
        "read -r u && read -r p && export UPDATE_TOOL_USERNAME=\"$u\" UPDATE_TOOL_PASSWORD=\"$p\" && for _ in 1 2 3; do {tool}{flag}; s=$?; [ \"$s\" -eq 2 ] || break; done; if [ \"$s\" -eq 3 ]; then echo 'update conflicts: merge the .final files and run the tool with --continue, or revert' >&2; fi; exit \"$s\""
    );
    format!(
        "printf '%s\\n%s\\n' \"${{WSO2_UPDATES_USERNAME:?your WSO2 account}}\" \"${{WSO2_UPDATES_PASSWORD:?its password}}\" | {}",
        ssh(host, &format!("sudo -u {HOSTS_USER} sh -c {}", q(&script)))
    )
}

/// The update level of the product home on `host`, as the update tool
/// records it (`updates/config.json`; -1 before any update).
fn update_level(host: &str, home: &str) -> String {
    ssh(
        host,
        &format!(
            "l=$(sed -n 's/.*\"update-level\"[[:space:]]*:[[:space:]]*\"\\{{0,1\\}}\\(-\\{{0,1\\}}[0-9][0-9]*\\).*/\\1/p' {} 2>/dev/null | head -n 1); echo \"${{l:--1}}\"",
            q(&format!("{home}/updates/config.json"))
        ),
    )
}

/// Where a patch step records a host's update level before it runs.
fn level_record(host: &str) -> String {
    format!(
        "\"${{DUMP_DIR:-dumps}}\"/{}",
        q(&format!("update-level-{host}"))
    )
}

/// The host one node step acts on.
struct Host<'a> {
    ctx: &'a Ctx<'a>,
    site: &'a Site,
    cluster: &'a ClusterPlan,
    /// The node's host name.
    host: &'a str,
    /// The product home on the host.
    home: String,
}

impl<'a> Host<'a> {
    fn new(ctx: &'a Ctx<'a>) -> Result<Self, Unresolved> {
        let (site, cluster, node) = (ctx.site()?, ctx.cluster()?, ctx.node()?);
        Ok(Host {
            ctx,
            site,
            cluster,
            host: &node.fqdn,
            home: cluster.product_home(HOSTS_BASE),
        })
    }

    /// The node answers its health checks, on the host itself.
    fn health(&self) -> Vec<String> {
        probes(self.cluster, self.ctx.major())
            .iter()
            .map(|p| ssh(self.host, p))
            .collect()
    }

    fn service(&self, verb: &str) -> String {
        systemctl(self.host, verb, PRODUCT_UNIT)
    }

    fn lb(&self, verb: &str) -> String {
        lb(self.site, verb, self.host)
    }

    fn lb_state(&self, state: &str) -> String {
        lb_state(self.site, self.host, state)
    }

    /// A node at rest behind the load balancer: a standby is a backup
    /// server, the others serve.
    fn at_rest(&self) -> &'static str {
        if self.ctx.node.is_some_and(|n| n.role == NodeRole::Passive)
            || (self.ctx.temporary() && self.cluster.ha == crate::model::HaMode::ActivePassive)
        {
            "standby"
        } else {
            "serving"
        }
    }

    /// The update level before the patch, recorded.
    fn record_level(&self) -> String {
        format!(
            "mkdir -p \"${{DUMP_DIR:-dumps}}\" && {} > {}",
            update_level(self.host, &self.home),
            level_record(self.host)
        )
    }

    /// The product's update level rose above the one recorded before the
    /// patch, and no conflict of the update tool is left to merge.
    fn updated(&self) -> Vec<String> {
        vec![
            format!(
                "test \"$({})\" -gt \"$(cat {})\"",
                update_level(self.host, &self.home),
                level_record(self.host)
            ),
            ssh(
                self.host,
                &format!(
                    "! find {} \\( -name '*.original' -o -name '*.new' -o -name '*.final' \\) -print | grep -q .",
                    q(&self.home)
                ),
            ),
        ]
    }

    /// The node that runs the cluster's artifact sync (its manager).
    fn manager(&self) -> &'a str {
        self.cluster
            .nodes
            .iter()
            .find(|n| n.manager)
            .map(|n| n.fqdn.as_str())
            .unwrap_or(self.host)
    }

    fn api_folder(&self) -> String {
        format!("{}/api", self.cluster.api_folder(HOSTS_BASE))
    }
}

/// The commands of a step on one node.
pub(super) fn node(ctx: &Ctx, action: Action) -> Result<Commands, Unresolved> {
    let h = Host::new(ctx)?;
    let routed = ctx.routed();
    let host = h.host;
    Ok(match action {
        // The temporary node's host has its own node definition in
        // site.pp; between runbooks its agent stays disabled. It stays in
        // the current environment whatever the runbook changes.
        Action::AddNode if ctx.temporary() => {
            let mut out = Commands::run(
                vec![agent_enable(host), agent_test(host)],
                h.health(),
                vec![
                    agent_disable(host, "temporary node removed"),
                    systemctl(host, "disable --now", PRODUCT_UNIT),
                ],
            );
            if routed {
                out.commands.push(h.lb("add"));
                out.verify.push(h.lb_state(h.at_rest()));
                out.rollback.insert(0, h.lb("remove"));
            }
            out
        }
        Action::RemoveNode if ctx.temporary() => {
            let mut out = Commands::run(
                vec![
                    agent_disable(host, "temporary node removed"),
                    systemctl(host, "disable --now", PRODUCT_UNIT),
                ],
                vec![unit_is(host, PRODUCT_UNIT, "inactive")],
                vec![agent_enable(host), agent_test(host)],
            );
            if routed {
                out.commands.insert(0, h.lb("remove"));
                out.verify.push(h.lb_state("absent"));
                out.rollback.push(h.lb("add"));
            }
            out
        }
        Action::Drain if routed => Commands::run(
            vec![h.lb("drain")],
            vec![h.lb_state("drained")],
            vec![h.lb("undrain")],
        ),
        Action::Undrain if routed => undrain(ctx, h.site, host, h.at_rest())?,
        // `restart = false`: a patch that takes effect in place.
        Action::Patch if ctx.input.upgrade.is_some_and(|u| !u.restarts()) => Commands::run(
            vec![h.record_level(), wso2update(host, &h.home, "")],
            h.updated().into_iter().chain(h.health()).collect(),
            vec![wso2update(host, &h.home, " --revert")],
        ),
        Action::Patch => Commands::run(
            vec![
                h.record_level(),
                h.service("stop"),
                wso2update(host, &h.home, ""),
                h.service("start"),
            ],
            h.updated().into_iter().chain(h.health()).collect(),
            vec![
                h.service("stop"),
                wso2update(host, &h.home, " --revert"),
                h.service("start"),
            ],
        ),
        Action::Upgrade => {
            let environment = q(&environment(ctx));
            Commands::run(
                vec![use_environment(host, &environment), agent_test(host)],
                [
                    uses_environment(host, &environment),
                    runs_version(host, &ctx.to_version().unwrap_or_default()),
                ]
                .into_iter()
                .chain(h.health())
                .collect(),
                vec![use_environment(host, CURRENT_ENVIRONMENT), agent_test(host)],
            )
        }
        // A commit's configuration: the node moves to the commit's build
        // (and, for a new update level, runs the update tool).
        Action::Reconfigure => {
            let environment = q(&environment(ctx));
            let patch = ctx.input.change.is_some_and(|c| c.patch);
            let mut commands = vec![use_environment(host, &environment), agent_test(host)];
            let mut verify = vec![uses_environment(host, &environment)];
            let mut rollback = vec![use_environment(host, CURRENT_ENVIRONMENT), agent_test(host)];
            if patch {
                let level = ctx.input.change.and_then(|c| c.update_level);
                let flag = level.map(|l| format!(" --level {l}")).unwrap_or_default();
                commands.splice(
                    0..0,
                    [
                        h.record_level(),
                        h.service("stop"),
                        wso2update(host, &h.home, &flag),
                    ],
                );
                verify.extend(h.updated());
                if let Some(level) = level {
                    verify.push(format!(
                        "test \"$({})\" = {level}",
                        update_level(host, &h.home)
                    ));
                }
                rollback.splice(
                    0..0,
                    [h.service("stop"), wso2update(host, &h.home, " --revert")],
                );
            }
            verify.push(unit_is(host, PRODUCT_UNIT, "active"));
            verify.extend(h.health());
            Commands::run(commands, verify, rollback)
        }
        Action::Deploy => {
            let folder = h.api_folder();
            let artifact = ctx.artifact();
            let name = artifact.name();
            let installed = format!(
                "ssh {} \"$(printf 'test -s %q' {}/{name})\"",
                q(host),
                q(&folder)
            );
            Commands::run(
                vec![
                    format!(
                        "scp -- {} {}",
                        artifact.given(),
                        q(&format!("{host}:/tmp/"))
                    ),
                    format!(
                        "ssh {} \"$(printf 'sudo install -o {HOSTS_USER} -g {HOSTS_USER} -m 0644 %q %q' /tmp/{name} {}/)\"",
                        q(host),
                        q(&folder)
                    ),
                ],
                std::iter::once(installed).chain(h.health()).collect(),
                vec![format!(
                    "ssh {} \"$(printf 'sudo rm -f %q' {}/{name})\"",
                    q(host),
                    q(&folder)
                )],
            )
        }
        // A test leaves the node answering its health checks (an active
        // unit whose JVM does not answer fails them).
        Action::Test => Commands::run(h.health(), h.health(), Vec::new()),
        // A standby site's Hiera says `apim::running: false`: the agent
        // would stop the node again at its next run, so it holds off
        // until Hiera says the site runs.
        Action::StartNode => Commands::run(
            vec![
                agent_disable(
                    host,
                    "failover: set apim::running to true in the Hiera data of this site, then enable the agent",
                ),
                systemctl(host, "enable --now", PRODUCT_UNIT),
            ],
            std::iter::once(unit_is(host, PRODUCT_UNIT, "active"))
                .chain(h.health())
                .collect(),
            vec![h.service("stop"), agent_enable(host)],
        ),
        // The manager node syncs the deployment folders (rsync, by a
        // timer).
        Action::StopSync => Commands::run(
            vec![systemctl(h.manager(), "stop", "apim-rsync.timer")],
            vec![unit_is(h.manager(), "apim-rsync.timer", "inactive")],
            vec![systemctl(h.manager(), "start", "apim-rsync.timer")],
        ),
        Action::StartSync => Commands::run(
            vec![
                systemctl(h.manager(), "start", "apim-rsync.service"),
                systemctl(h.manager(), "start", "apim-rsync.timer"),
            ],
            vec![
                unit_is(h.manager(), "apim-rsync.timer", "active"),
                output_is(
                    &ssh(
                        h.manager(),
                        "systemctl show -p Result --value apim-rsync.service",
                    ),
                    "success",
                ),
            ],
            vec![systemctl(h.manager(), "stop", "apim-rsync.timer")],
        ),
        _ => return Err(unsupported(ctx, action)),
    })
}

/// Traffic to a node again (see the Compose `undrain`: the same controls
/// on the load balancer host).
fn undrain(ctx: &Ctx, site: &Site, host: &str, at_rest: &str) -> Result<Commands, Unresolved> {
    let to_standby = ctx.node.is_some_and(|n| n.role == NodeRole::Passive);
    let from = match (&ctx.draft.effect, ctx.cluster) {
        (Effect::Switch { from }, Some(cluster)) => Some(cluster.node(from).ok_or_else(|| {
            Unresolved(format!("cluster `{}` has no node `{from}`", cluster.name))
        })?),
        _ => None,
    };
    Ok(match from {
        Some(from) if to_standby => Commands::run(
            vec![lb(site, "drain", &from.fqdn)],
            vec![lb_state(site, &from.fqdn, "drained")],
            vec![lb(site, "undrain", &from.fqdn)],
        ),
        _ => Commands::run(
            vec![lb(site, "undrain", host)],
            vec![lb_state(site, host, at_rest)],
            vec![lb(site, "drain", host)],
        ),
    })
}

/// A change to a node of a cold or warm standby site: its Hiera data keeps
/// `apim::running: false`, so the agent installs the change and leaves
/// the node stopped.
pub(super) fn offline(ctx: &Ctx, action: Action) -> Result<Commands, Unresolved> {
    let h = Host::new(ctx)?;
    let host = h.host;
    let down = unit_is(host, PRODUCT_UNIT, "inactive");
    Ok(match action {
        Action::Patch => Commands::run(
            vec![h.record_level(), wso2update(host, &h.home, "")],
            h.updated().into_iter().chain([down]).collect(),
            vec![wso2update(host, &h.home, " --revert")],
        ),
        Action::Upgrade | Action::Reconfigure => {
            let environment = q(&environment(ctx));
            Commands::run(
                vec![use_environment(host, &environment), agent_test(host)],
                vec![uses_environment(host, &environment), down],
                vec![use_environment(host, CURRENT_ENVIRONMENT), agent_test(host)],
            )
        }
        _ => return Err(unsupported(ctx, action)),
    })
}

/// The new version's build on the Puppet server, as an environment beside
/// the topology's; every host the upgrade moves holds the new pack.
pub(super) fn stage_build(ctx: &Ctx) -> Result<Commands, Unresolved> {
    let environment = environment(ctx);
    let folder = staged_folder(&environment);
    let build = next_build("puppet");
    let version = ctx.to_version().unwrap_or_default();
    let mut verify = vec![format!(
        "test -z \"$(rsync -an --delete --itemize-changes {build}/ {folder}/)\""
    )];
    let mut hosts: Vec<&str> = ctx
        .input
        .deployment
        .sites
        .iter()
        .flat_map(|s| s.clusters.iter())
        .flat_map(|c| c.nodes.iter())
        .map(|n| n.fqdn.as_str())
        .filter(|_| ctx.input.change.is_none())
        .collect();
    hosts.sort_unstable();
    hosts.dedup();
    for host in hosts {
        verify.push(ssh(
            host,
            &format!(
                "ls {}/wso2am*-{}*.zip >/dev/null",
                q(layout::HOST_PACKS),
                q(&version)
            ),
        ));
    }
    Ok(Commands::run(
        vec![
            format!("mkdir -p {folder}"),
            format!("rsync -a --delete {build}/ {folder}/"),
        ],
        verify,
        vec![format!("rm -rf {folder}")],
    ))
}

/// A standby site's load balancer starts on failover: its agent holds
/// off (its Hiera data says the site does not run) and nginx starts.
pub(super) fn start_load_balancers(ctx: &Ctx) -> Result<Commands, Unresolved> {
    let lb = ctx.site()?.lb_host();
    Ok(Commands::run(
        vec![
            agent_disable(
                &lb,
                "failover: set apim::running to true in the Hiera data of this site, then enable the agent",
            ),
            systemctl(&lb, "enable --now", "nginx"),
        ],
        vec![unit_is(&lb, "nginx", "active")],
        vec![systemctl(&lb, "stop", "nginx"), agent_enable(&lb)],
    ))
}

/// A cluster of the new deployment starts beside the current one (a
/// migration): the new build is its own environment, whose node data
/// names the new hosts; each is moved to it and its agent runs.
pub(super) fn new_deployment(ctx: &Ctx, cluster: &ClusterPlan) -> Result<Commands, Unresolved> {
    let environment = q(&environment(ctx));
    let pattern = |key: &str, value: &str| {
        q(&format!(
            "^\"apim::{key}\": ['\"]?{}['\"]?$",
            regex_text(value)
        ))
    };
    let hosts = format!(
        "hosts=$(grep -lE -- {} {}/*.yaml | xargs -r grep -LE -- {} | xargs -r -n1 basename | sed 's/[.]yaml$//') && test -n \"$hosts\"",
        pattern("cluster", &cluster.name),
        next_build("puppet/data/nodes"),
        pattern("node_name", &cluster.surge.name),
    );
    let health: Vec<String> = probes(cluster, ctx.major())
        .iter()
        .map(|p| format!("ssh \"$h\" {} || exit 1", q(p)))
        .collect();
    Ok(Commands::run(
        vec![format!(
            "( {hosts} && for h in $hosts; do ssh \"$h\" \"sudo puppet config set environment $(printf %q {environment}) --section agent\" && {{ ssh \"$h\" 'sudo puppet agent --test' || test $? -eq 2; }} || exit 1; done )"
        )],
        vec![format!(
            "( {hosts} && for h in $hosts; do {}; done )",
            health.join("; ")
        )],
        Vec::new(),
    ))
}

/// A value matched literally in an extended regular expression.
fn regex_text(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if "\\.^$|?*+()[]{}".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The first deployment's files: the build and the operator's Hiera
/// secrets on the Puppet server; each host holds its pack, drivers and
/// keystores.
pub(super) fn prepare(ctx: &Ctx) -> Result<Commands, Unresolved> {
    let d = ctx.input.deployment;
    let files = d.operator_files_from_output();
    let env = "\"${PUPPET_ENVIRONMENT:?path of the Puppet environment, e.g. /etc/puppetlabs/code/environments/production}\"";
    let secrets = format!("{env}/../../{}/puppet", q(&d.operator_files));
    let mut out = Commands::run(
        vec![
            super::operator_files_check(ctx),
            format!("rsync -a --delete puppet/ {env}/"),
            format!(
                "mkdir -p {secrets} && cp {} {secrets}/secrets.yaml",
                q(&format!("{files}/puppet/secrets.yaml"))
            ),
        ],
        vec![
            format!("test -z \"$(rsync -an --delete --itemize-changes puppet/ {env}/)\""),
            format!("test -s {secrets}/secrets.yaml"),
        ],
        Vec::new(),
    );
    for site in &d.sites {
        for cluster in &site.clusters {
            let mut wanted: Vec<String> =
                vec![layout::host_pack(&cluster.product_dir, d.update_level)];
            wanted.extend(
                cluster
                    .drivers
                    .iter()
                    .map(|j| format!("{}/lib/{j}", layout::HOST_PACKS)),
            );
            wanted.extend(
                d.keystores
                    .supplied()
                    .iter()
                    .map(|s| format!("{}/security/{}", layout::HOST_PACKS, s.file)),
            );
            let words: Vec<String> = wanted.iter().map(|f| q(f)).collect();
            for node in &cluster.nodes {
                out.verify.push(ssh(
                    &node.fqdn,
                    &format!(
                        "for f in {}; do test -s \"$f\" || {{ echo \"missing: $f\" >&2; exit 1; }}; done",
                        words.join(" ")
                    ),
                ));
            }
        }
    }
    Ok(out)
}

/// A cluster of the first deployment starts: each host's agent runs, and
/// the node answers.
pub(super) fn start_cluster(ctx: &Ctx) -> Result<Commands, Unresolved> {
    let cluster = ctx.cluster()?;
    let mut out = Commands::default();
    for node in &cluster.nodes {
        out.commands.push(agent_test(&node.fqdn));
        out.verify.extend(
            probes(cluster, ctx.major())
                .iter()
                .map(|p| ssh(&node.fqdn, p)),
        );
    }
    Ok(out)
}

/// Traffic reaches a datacenter: its load balancer host's agent runs.
pub(super) fn open_traffic(ctx: &Ctx) -> Result<Commands, Unresolved> {
    let site = ctx.site()?;
    let mut out = super::site::open_traffic_checks(site);
    out.commands.push(agent_test(&site.lb_host()));
    out.verify.push(unit_is(&site.lb_host(), "nginx", "active"));
    Ok(out)
}

/// A node a commit adds: its host moves to the commit's build and its
/// agent sets it up.
pub(super) fn join(ctx: &Ctx) -> Result<Commands, Unresolved> {
    let h = Host::new(ctx)?;
    let environment = q(&environment(ctx));
    Ok(Commands::run(
        vec![
            agent_enable(h.host),
            use_environment(h.host, &environment),
            agent_test(h.host),
        ],
        [
            uses_environment(h.host, &environment),
            unit_is(h.host, PRODUCT_UNIT, "active"),
        ]
        .into_iter()
        .chain(h.health())
        .collect(),
        vec![systemctl(h.host, "disable --now", PRODUCT_UNIT)],
    ))
}

/// A node a commit removes stops for good: its agent holds off (the
/// commit's build has no node definition for it).
pub(super) fn leave(ctx: &Ctx) -> Result<Commands, Unresolved> {
    let h = Host::new(ctx)?;
    Ok(Commands::run(
        vec![
            agent_disable(h.host, "removed from the topology"),
            systemctl(h.host, "disable --now", PRODUCT_UNIT),
        ],
        vec![unit_is(h.host, PRODUCT_UNIT, "inactive")],
        vec![
            systemctl(h.host, "enable --now", PRODUCT_UNIT),
            agent_enable(h.host),
        ],
    ))
}

/// A datacenter takes the commit's routes: its load balancer host moves
/// to the commit's build, whose nginx.conf routes to the new nodes and no
/// longer to the removed ones.
pub(super) fn route(ctx: &Ctx) -> Result<Commands, Unresolved> {
    let site = ctx.site()?;
    let change = ctx.input.change;
    let lb_host = site.lb_host();
    let environment = q(&environment(ctx));
    let mut verify = vec![
        uses_environment(&lb_host, &environment),
        unit_is(&lb_host, "nginx", "active"),
    ];
    for cluster in site.clusters.iter().filter(|c| site.fronts(c)) {
        for node in &cluster.nodes {
            let state = match change {
                Some(c) if c.is_removed(&site.name, &node.name) => "absent",
                Some(c) if c.is_new(&site.name, &node.name) => {
                    if node.role == NodeRole::Passive {
                        "standby"
                    } else {
                        "serving"
                    }
                }
                _ => continue,
            };
            verify.push(lb_state(site, &node.fqdn, state));
        }
    }
    Ok(Commands::run(
        vec![
            use_environment(&lb_host, &environment),
            agent_test(&lb_host),
        ],
        verify,
        vec![
            use_environment(&lb_host, CURRENT_ENVIRONMENT),
            agent_test(&lb_host),
        ],
    ))
}

/// A datacenter new in a commit: the operator's files, and each new host
/// holds its pack, drivers and keystores.
pub(super) fn prepare_site(ctx: &Ctx) -> Result<Commands, Unresolved> {
    let site = ctx.site()?;
    let d = ctx.input.deployment;
    let mut out = Commands::run(
        vec![super::operator_files_check(ctx)],
        Vec::new(),
        Vec::new(),
    );
    for cluster in &site.clusters {
        let mut wanted = vec![layout::host_pack(
            &cluster.product_dir,
            ctx.input.deployment.update_level,
        )];
        wanted.extend(
            cluster
                .drivers
                .iter()
                .map(|j| format!("{}/lib/{j}", layout::HOST_PACKS)),
        );
        wanted.extend(
            d.keystores
                .supplied()
                .iter()
                .map(|s| format!("{}/security/{}", layout::HOST_PACKS, s.file)),
        );
        let words: Vec<String> = wanted.iter().map(|f| q(f)).collect();
        for node in &cluster.nodes {
            out.verify.push(ssh(
                &node.fqdn,
                &format!(
                    "for f in {}; do test -s \"$f\" || {{ echo \"missing: $f\" >&2; exit 1; }}; done",
                    words.join(" ")
                ),
            ));
        }
    }
    Ok(out)
}

/// A datacenter new in a commit opens: its load balancer host's agent
/// sets it up from the commit's build.
pub(super) fn open_new_site(ctx: &Ctx) -> Result<Commands, Unresolved> {
    let site = ctx.site()?;
    let lb_host = site.lb_host();
    let environment = q(&environment(ctx));
    let mut out = super::site::open_traffic_checks(site);
    out.commands.extend([
        use_environment(&lb_host, &environment),
        agent_test(&lb_host),
    ]);
    out.verify.push(unit_is(&lb_host, "nginx", "active"));
    Ok(out)
}

/// The hosts a commit leaves as they are move to its build's environment:
/// their agent finds nothing to change.
pub(super) fn settle(ctx: &Ctx) -> Result<Commands, Unresolved> {
    let environment = q(&environment(ctx));
    let change = ctx.input.change;
    let mut out = Commands::default();
    for site in ctx.input.deployment.sites.iter() {
        let mut hosts: Vec<String> = site
            .clusters
            .iter()
            .flat_map(|c| c.nodes.iter())
            .filter(|n| change.is_none_or(|c| !c.is_removed(&site.name, &n.name)))
            .map(|n| n.fqdn.clone())
            .collect();
        if !site.load_balancers.is_empty() {
            hosts.push(site.lb_host());
        }
        for host in &hosts {
            out.commands.push(format!(
                "{{ {} && {}; }}",
                use_environment(host, &environment),
                agent_test(host)
            ));
            out.verify.push(uses_environment(host, &environment));
        }
    }
    Ok(out)
}

/// A new service reached the host, within `bound` seconds.
pub(super) fn await_service(ctx: &Ctx, bound: u64) -> Result<Commands, Unresolved> {
    let h = Host::new(ctx)?;
    let check = format!(
        "ssh {} \"$(printf 'test -s %q' {}/{})\"",
        q(h.host),
        q(&h.api_folder()),
        ctx.artifact().name()
    );
    Ok(Commands::run(
        vec![super::until(
            &format!("{check} 2>/dev/null"),
            super::tries_for(bound),
            10,
            &format!("the new service did not reach {}", h.host),
        )],
        vec![check],
        Vec::new(),
    ))
}

/// The new service answers on the host's gateway.
pub(super) fn test_service(ctx: &Ctx) -> Result<Commands, Unresolved> {
    let h = Host::new(ctx)?;
    // The context reaches the host as a quoted word of the remote script.
    let probe = format!(
        "ssh {} \"$(printf 'NEW_API_CONTEXT=%q bash -c %q' \"${{NEW_API_CONTEXT:?context of the new API, e.g. /orders/1.0}}\" {})\"",
        q(h.host),
        q(&super::service_probe())
    );
    Ok(Commands::run(h.health(), vec![probe], Vec::new()))
}
