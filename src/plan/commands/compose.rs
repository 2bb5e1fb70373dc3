//! Docker Compose: one project per datacenter, run from the build's
//! folder. A node is a service; the temporary node is a service of the
//! `surge` profile, a standby site's nodes are in the `failover` profile.
//! The load balancer (nginx) is driven by the project's `scripts/lb.sh`,
//! which marks a server down, takes the mark off, adds the temporary node
//! or refuses writes to the portals, and says what state a server is in
//! (`lb.sh status HOST`).

use super::{
    Commands, Ctx, Unresolved, next_build, output_is, probes, q, repository, sh, unsupported,
};
use crate::deployment::layout::{self, LB_SERVICE, TAG_VARIABLE};
use crate::deployment::{ClusterPlan, NodeRole, Site};
use crate::plan::{Action, Effect};

/// `docker compose -f FILE ARGS...` (`file` is a shell word).
fn compose(file: &str, args: &[&str]) -> String {
    format!("docker compose -f {file} {}", args.join(" "))
}

/// A service's container runs (`profile` names its profile, if any).
fn running(file: &str, profile: Option<&str>, service: &str) -> String {
    let profile = profile
        .map(|p| format!("--profile {p} "))
        .unwrap_or_default();
    format!(
        "test -n \"$({})\"",
        compose(
            file,
            &[&format!("{profile}ps -q --status running"), service]
        )
    )
}

/// No container of a service runs.
fn stopped(file: &str, profile: Option<&str>, service: &str) -> String {
    let profile = profile
        .map(|p| format!("--profile {p} "))
        .unwrap_or_default();
    format!(
        "test -z \"$({})\"",
        compose(file, &[&format!("{profile}ps -q"), service])
    )
}

/// The load balancer controls of a datacenter, with their verb.
pub(super) fn lb(site: &Site, verb: &str, name: &str) -> String {
    sh(&[&q(&site.lb_script()), verb, &q(name)])
}

/// The state the load balancer gives a server: `serving`, `drained`,
/// `standby` (a backup server) or `absent` (a temporary node not added).
fn lb_state(site: &Site, host: &str, state: &str) -> String {
    output_is(&lb(site, "status", host), state)
}

/// The service and project one node step acts on.
struct Service<'a> {
    ctx: &'a Ctx<'a>,
    site: &'a Site,
    cluster: &'a ClusterPlan,
    /// The node's service name.
    name: &'a str,
    /// The node's host name, as the load balancer knows it.
    host: &'a str,
    /// The project file, a shell word.
    file: String,
    /// The service, a shell word.
    svc: String,
}

impl<'a> Service<'a> {
    fn new(ctx: &'a Ctx<'a>) -> Result<Self, Unresolved> {
        let (site, cluster, node) = (ctx.site()?, ctx.cluster()?, ctx.node()?);
        // A node a commit adds is a service of the commit's project only.
        let new = ctx
            .input
            .change
            .is_some_and(|c| c.is_new(&site.name, &node.name));
        Ok(Service {
            ctx,
            site,
            cluster,
            name: &node.name,
            host: &node.fqdn,
            file: if new {
                next_build(&site.compose_file())
            } else {
                q(&site.compose_file())
            },
            svc: q(&node.name),
        })
    }

    fn compose(&self, args: &[&str]) -> String {
        compose(&self.file, args)
    }

    /// The node answers its health checks, from inside its container.
    fn health(&self) -> Vec<String> {
        probes(self.cluster, self.ctx.major())
            .iter()
            .map(|p| self.compose(&["exec -T", &self.svc, p]))
            .collect()
    }

    /// The image of the cluster with another tag (a shell word or a
    /// variable).
    fn image_with(&self, tag: &str) -> String {
        format!(
            "{}{tag}",
            q(&format!("{}:", repository(&self.cluster.image)))
        )
    }

    /// The service's running container has the image (a shell word).
    fn runs_image(&self, file: &str, expected: &str) -> String {
        output_is(
            &compose(file, &["ps --format", &q("{{.Image}}"), &self.svc]),
            expected,
        )
    }

    /// The service recreated with its image at `tag` (a shell word).
    fn recreate_with(&self, tag: &str) -> String {
        sh(&[
            &format!("{TAG_VARIABLE}={tag}"),
            &self.compose(&["up -d --wait --no-deps --force-recreate", &self.svc]),
        ])
    }

    /// The state the load balancer gives the node.
    fn lb_state(&self, state: &str) -> String {
        lb_state(self.site, self.host, state)
    }

    fn lb(&self, verb: &str) -> String {
        lb(self.site, verb, self.host)
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

    /// The API folder of the product in the container.
    fn api_folder(&self) -> String {
        format!("{}/api", self.cluster.api_folder(layout::IMAGE_BASE))
    }
}

/// The commands of a step on one node.
pub(super) fn node(ctx: &Ctx, action: Action) -> Result<Commands, Unresolved> {
    let s = Service::new(ctx)?;
    let routed = ctx.routed();
    Ok(match action {
        // The temporary node is a service of its own, in profile `surge`.
        Action::AddNode if ctx.temporary() => {
            let up = s.compose(&["--profile surge up -d --wait --no-deps", &s.svc]);
            let rm = s.compose(&["--profile surge rm -f -s", &s.svc]);
            let mut out = Commands::run(vec![up], s.health(), vec![rm]);
            if routed {
                out.commands.push(s.lb("add"));
                out.verify.push(s.lb_state(s.at_rest()));
                out.rollback.insert(0, s.lb("remove"));
            }
            out
        }
        Action::RemoveNode if ctx.temporary() => {
            let up = s.compose(&["--profile surge up -d --wait --no-deps", &s.svc]);
            let rm = s.compose(&["--profile surge rm -f -s", &s.svc]);
            let mut out = Commands::run(
                vec![rm],
                vec![stopped(&s.file, Some("surge"), &s.svc)],
                vec![up],
            );
            if routed {
                out.commands.insert(0, s.lb("remove"));
                out.verify.push(s.lb_state("absent"));
                out.rollback.push(s.lb("add"));
            }
            out
        }
        Action::Drain if routed => Commands::run(
            vec![s.lb("drain")],
            vec![s.lb_state("drained")],
            vec![s.lb("undrain")],
        ),
        Action::Undrain if routed => undrain(ctx, s.site, s.host, s.at_rest())?,
        Action::Patch => {
            let current = super::tag(&s.cluster.image).unwrap_or_default();
            Commands::run(
                vec![s.recreate_with(&ctx.new_tag(action))],
                std::iter::once(s.runs_image(&s.file, &s.image_with(&ctx.new_tag(action))))
                    .chain(s.health())
                    .collect(),
                vec![s.recreate_with(&q(current))],
            )
        }
        // The new build's service: a new version, or a commit's
        // configuration.
        Action::Upgrade | Action::Reconfigure => {
            let next = next_build(&s.site.compose_file());
            Commands::run(
                vec![compose(
                    &next,
                    &["up -d --wait --no-deps --force-recreate", &s.svc],
                )],
                std::iter::once(format!(
                    "test \"$({})\" = \"$({})\"",
                    compose(&next, &["ps --format", &q("{{.Image}}"), &s.svc]),
                    compose(&next, &["config --images", &s.svc])
                ))
                .chain(s.health())
                .collect(),
                vec![s.compose(&["up -d --wait --no-deps --force-recreate", &s.svc])],
            )
        }
        Action::Deploy => {
            let folder = s.api_folder();
            Commands::run(
                vec![s.compose(&[
                    "cp",
                    &ctx.artifact().given(),
                    &q(&format!("{}:{folder}/", s.name)),
                ])],
                std::iter::once(s.compose(&[
                    "exec -T",
                    &s.svc,
                    "test -s",
                    &ctx.artifact().in_folder(&folder),
                ]))
                .chain(s.health())
                .collect(),
                vec![s.compose(&[
                    "exec -T",
                    &s.svc,
                    "rm -f",
                    &ctx.artifact().in_folder(&folder),
                ])],
            )
        }
        Action::Test => Commands::run(s.health(), vec![running(&s.file, None, &s.svc)], Vec::new()),
        Action::StartNode => Commands::run(
            vec![s.compose(&["--profile failover up -d --wait --no-deps", &s.svc])],
            s.health(),
            vec![s.compose(&["--profile failover stop", &s.svc])],
        ),
        _ => return Err(unsupported(ctx, action)),
    })
}

/// Traffic to a node again: its mark taken off, or, in an active-passive
/// pair, moved to it from its peer (to the backup server by marking the
/// active one down, back to the active one by taking the mark off).
/// `at_rest` is the state of the node once it takes traffic as usual.
pub(super) fn undrain(
    ctx: &Ctx,
    site: &Site,
    host: &str,
    at_rest: &str,
) -> Result<Commands, Unresolved> {
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

/// A change to a node of a cold or warm standby site: nothing runs there
/// and nothing may start; the new image is pulled for the failover, the
/// node stays down.
pub(super) fn offline(ctx: &Ctx, action: Action) -> Result<Commands, Unresolved> {
    let s = Service::new(ctx)?;
    let down = stopped(&s.file, Some("failover"), &s.svc);
    Ok(match action {
        // The new build's service: a new version, or a commit's
        // configuration.
        Action::Upgrade | Action::Reconfigure => {
            let next = next_build(&s.site.compose_file());
            Commands::run(
                vec![compose(&next, &["--profile failover pull", &s.svc])],
                vec![
                    format!(
                        "docker image inspect \"$({})\" >/dev/null",
                        compose(&next, &["--profile failover config --images", &s.svc])
                    ),
                    down,
                ],
                Vec::new(),
            )
        }
        Action::Patch => {
            let tag = ctx.new_tag(action);
            Commands::run(
                vec![sh(&[
                    &format!("{TAG_VARIABLE}={tag}"),
                    &s.compose(&["--profile failover pull", &s.svc]),
                ])],
                vec![
                    format!("docker image inspect {} >/dev/null", s.image_with(&tag)),
                    down,
                ],
                Vec::new(),
            )
        }
        _ => return Err(unsupported(ctx, action)),
    })
}

/// A standby site's load balancer starts on failover.
pub(super) fn start_load_balancers(ctx: &Ctx) -> Result<Commands, Unresolved> {
    let file = q(&ctx.site()?.compose_file());
    Ok(Commands::run(
        vec![compose(
            &file,
            &["--profile failover up -d --wait --no-deps", LB_SERVICE],
        )],
        vec![running(&file, Some("failover"), LB_SERVICE)],
        vec![compose(&file, &["--profile failover stop", LB_SERVICE])],
    ))
}

/// A cluster of the new deployment starts beside the current one (a
/// migration), in the new build's project.
pub(super) fn new_deployment(ctx: &Ctx, cluster: &ClusterPlan) -> Result<Commands, Unresolved> {
    let site = ctx.site()?;
    let next = next_build(&site.compose_file());
    let services: Vec<String> = cluster.nodes.iter().map(|n| q(&n.name)).collect();
    Ok(Commands::run(
        vec![
            super::site::apart(&site.compose_file(), "^name:"),
            compose(&next, &["up -d --wait", &services.join(" ")]),
        ],
        services
            .iter()
            .map(|svc| running(&next, None, svc))
            .collect(),
        vec![compose(&next, &["stop", &services.join(" ")])],
    ))
}

/// The first deployment's files: the operator's, the registry login, and
/// every running datacenter's images.
pub(super) fn prepare(ctx: &Ctx) -> Result<Commands, Unresolved> {
    let d = ctx.input.deployment;
    let check = super::operator_files_check(ctx);
    let mut out = Commands::run(vec![check.clone()], vec![check], Vec::new());
    if d.registry_login.is_some() {
        out.commands.push(format!(
            "printf '%s' \"${{REGISTRY_PASSWORD:?password of the image registry}}\" | docker login --username \"${{REGISTRY_USER:?user of the image registry}}\" --password-stdin {}",
            q(d.registry.split('/').next().unwrap_or(&d.registry))
        ));
    }
    for site in d.sites.iter().filter(|s| s.running()) {
        let file = q(&site.compose_file());
        out.commands.push(compose(&file, &["pull"]));
        out.verify.push(format!(
            "{} | xargs docker image inspect >/dev/null",
            compose(&file, &["config --images"])
        ));
    }
    Ok(out)
}

/// A cluster of the first deployment starts, each node healthy.
pub(super) fn start_cluster(ctx: &Ctx) -> Result<Commands, Unresolved> {
    let (site, cluster) = (ctx.site()?, ctx.cluster()?);
    let file = q(&site.compose_file());
    let services: Vec<String> = cluster.nodes.iter().map(|n| q(&n.name)).collect();
    let verify = services
        .iter()
        .flat_map(|svc| {
            probes(cluster, ctx.major())
                .into_iter()
                .map(|p| compose(&file, &["exec -T", svc, &p]))
                .collect::<Vec<_>>()
        })
        .collect();
    Ok(Commands::run(
        vec![compose(&file, &["up -d --wait", &services.join(" ")])],
        verify,
        vec![compose(&file, &["stop", &services.join(" ")])],
    ))
}

/// Traffic reaches a datacenter: its load balancer starts.
pub(super) fn open_traffic(ctx: &Ctx) -> Result<Commands, Unresolved> {
    let site = ctx.site()?;
    let mut out = super::site::open_traffic_checks(site);
    let file = q(&site.compose_file());
    out.commands
        .push(compose(&file, &["up -d --wait --no-deps", LB_SERVICE]));
    out.rollback.push(compose(&file, &["stop", LB_SERVICE]));
    Ok(out)
}

/// After a migration the new project's load balancer, which waits on no
/// node, starts once every node runs; its portals open.
pub(super) fn open_next_portals(site: &Site, hostname: &str) -> Vec<String> {
    vec![
        compose(
            &next_build(&site.compose_file()),
            &["up -d --wait --no-deps", LB_SERVICE],
        ),
        sh(&[&next_build(&site.lb_script()), "read-write", &q(hostname)]),
    ]
}

/// A node a commit adds starts from the commit's project, before the load
/// balancer knows it.
pub(super) fn join(ctx: &Ctx) -> Result<Commands, Unresolved> {
    let s = Service::new(ctx)?;
    let next = next_build(&s.site.compose_file());
    Ok(Commands::run(
        vec![compose(&next, &["up -d --wait --no-deps", &s.svc])],
        std::iter::once(running(&next, None, &s.svc))
            .chain(
                probes(s.cluster, ctx.major())
                    .iter()
                    .map(|p| compose(&next, &["exec -T", &s.svc, p])),
            )
            .collect(),
        vec![compose(&next, &["rm -f -s", &s.svc])],
    ))
}

/// A node a commit removes stops, from the current project (the commit's
/// has no such service), once the load balancer no longer routes to it.
pub(super) fn leave(ctx: &Ctx) -> Result<Commands, Unresolved> {
    let s = Service::new(ctx)?;
    Ok(Commands::run(
        vec![s.compose(&["rm -f -s", &s.svc])],
        vec![stopped(&s.file, None, &s.svc)],
        vec![s.compose(&["up -d --wait --no-deps", &s.svc])],
    ))
}

/// A datacenter takes the commit's routes: its load balancer's
/// configuration becomes the new build's, in place (the running container
/// reads the same file), and is reloaded.
pub(super) fn route(ctx: &Ctx) -> Result<Commands, Unresolved> {
    let site = ctx.site()?;
    let change = ctx.input.change;
    let current = format!("{}/{}", site.compose_dir(), layout::compose::NGINX);
    let next = next_build(&current);
    let mut verify = vec![format!("cmp -s {next} {}", q(&current))];
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
        vec![sh(&[&q(&site.lb_script()), "adopt", &next])],
        verify,
        Vec::new(),
    ))
}

/// A datacenter new in a commit: the operator's files, and its images.
pub(super) fn prepare_site(ctx: &Ctx) -> Result<Commands, Unresolved> {
    let site = ctx.site()?;
    let check = super::operator_files_check(ctx);
    let next = next_build(&site.compose_file());
    Ok(Commands::run(
        vec![check.clone(), compose(&next, &["pull"])],
        vec![
            check,
            format!(
                "{} | xargs docker image inspect >/dev/null",
                compose(&next, &["config --images"])
            ),
        ],
        Vec::new(),
    ))
}

/// A datacenter new in a commit opens: its load balancer starts.
pub(super) fn open_new_site(ctx: &Ctx) -> Result<Commands, Unresolved> {
    let site = ctx.site()?;
    let mut out = super::site::open_traffic_checks(site);
    let next = next_build(&site.compose_file());
    out.commands
        .push(compose(&next, &["up -d --wait --no-deps", LB_SERVICE]));
    out.rollback.push(compose(&next, &["stop", LB_SERVICE]));
    Ok(out)
}

/// A new service reached the node, within `bound` seconds.
pub(super) fn await_service(ctx: &Ctx, bound: u64) -> Result<Commands, Unresolved> {
    let s = Service::new(ctx)?;
    let check = s.compose(&[
        "exec -T",
        &s.svc,
        "test -s",
        &ctx.artifact().in_folder(&s.api_folder()),
    ]);
    Ok(Commands::run(
        vec![super::until(
            &format!("{check} 2>/dev/null"),
            super::tries_for(bound),
            10,
            &format!("the new service did not reach {}", s.name),
        )],
        vec![check],
        Vec::new(),
    ))
}

/// The new service answers on the node.
pub(super) fn test_service(ctx: &Ctx) -> Result<Commands, Unresolved> {
    let s = Service::new(ctx)?;
    let probe = s.compose(&[
        "exec -T",
        &s.svc,
        "env NEW_API_CONTEXT=\"${NEW_API_CONTEXT:?context of the new API, e.g. /orders/1.0}\" bash -c",
        &q(&super::service_probe()),
    ]);
    Ok(Commands::run(s.health(), vec![probe], Vec::new()))
}
