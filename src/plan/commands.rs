//! The commands of each step, for the chosen target: `kubectl` on
//! Kubernetes, `docker compose` on Compose, `ssh` + `puppet agent` and the
//! hosts' own tools on Puppet. Every value that reaches a command is a
//! quoted shell word; what the operator must supply is a variable that
//! stops the command when unset (`"${PATCH_TAG:?...}"`).

use serde::Serialize;

use super::{Action, Draft, Input};
use crate::deployment::{ClusterPlan, DatabasePlan, Shape, Site};
use crate::model::{Engine, Profile, UpgradeKind};
use crate::text::escape::shell_word as q;

/// The platform a runbook drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    Kubernetes,
    Compose,
    Puppet,
}

impl Target {
    pub const ALL: [Target; 3] = [Target::Kubernetes, Target::Compose, Target::Puppet];

    pub fn name(self) -> &'static str {
        match self {
            Target::Kubernetes => "kubernetes",
            Target::Compose => "compose",
            Target::Puppet => "puppet",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Commands {
    pub commands: Vec<String>,
    pub verify: Vec<String>,
    pub rollback: Vec<String>,
    /// The operator does the step by hand (its commands say what to do);
    /// its verification, when it has one, checks that it was done.
    pub manual: bool,
}

const HOME: &str = "/home/wso2carbon";
const HOSTS_BASE: &str = "/opt/wso2";

/// The variables a runbook may ask the operator for, with what they hold.
pub const VARIABLES: &[(&str, &str)] = &[
    (
        "PRODUCT_HOME",
        "the folder of the unpacked WSO2 API Manager pack of the topology's version (its dbscripts)",
    ),
    (
        "PUPPET_ENVIRONMENT",
        "the Puppet server's environment folder the build goes to, e.g. /etc/puppetlabs/code/environments/production",
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
        "FIXED_TAG",
        "the tag of the image that carries the fixed service (Kubernetes, scaled clusters)",
    ),
    (
        "DUMP_DIR",
        "where database dumps are written (default: dumps)",
    ),
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
        "the path of an executable of yours (no arguments) that points a host name at a target, run as: NAME TARGET [PERCENT]",
    ),
    (
        "TOKEN_SYNC",
        "the path of an executable of yours (no arguments) that keeps access tokens in step between two deployments, run as: start | stop",
    ),
    (
        "OLD_ENDPOINT",
        "the load balancer host name the traffic goes back to on a rollback",
    ),
    (
        "WINDOW_START",
        "when the read-only window began, as YYYY-MM-DD HH:MM:SS in the database's time zone",
    ),
];

fn sh(parts: &[&str]) -> String {
    parts.join(" ")
}

/// The Puppet update tool on `host` (a shell word), applying (`--no-console`)
/// or reverting (`--revert`) the product's updates.
fn wso2update(host: &str, home: &str, flag: &str) -> String {
    sh(&[
        "ssh",
        host,
        "sudo -u wso2carbon",
        &q(&format!("{home}/bin/wso2update_linux")),
        flag,
    ])
}

/// One Puppet agent run on `host`; `--test` exits 2 when it changed
/// something, which is a success.
fn agent_test(host: &str) -> String {
    format!(
        "{} || test $? -eq 2",
        sh(&["ssh", host, "sudo puppet agent --test"])
    )
}

/// A node moves to the build committed to the Puppet server: its agent,
/// held until now, runs again.
fn agent_upgrade(host: &str) -> Vec<String> {
    vec![
        "echo 'commit the new build (NEXT_BUILD/puppet) to the Puppet server first'".to_string(),
        sh(&["ssh", host, "sudo puppet agent --enable"]),
        agent_test(host),
    ]
}

/// `puppet agent --disable MESSAGE` on `host` (already a shell word): ssh
/// hands the remote shell one string, so the command is one quoted word
/// and the message is quoted inside it.
fn agent_disable(host: &str, message: &str) -> String {
    sh(&[
        "ssh",
        host,
        &q(&format!("sudo puppet agent --disable {}", q(message))),
    ])
}

/// Context of one step.
struct StepContext<'a> {
    input: &'a Input<'a>,
    site: Option<&'a Site>,
    cluster: Option<&'a ClusterPlan>,
    node: Option<&'a str>,
}

impl StepContext<'_> {
    fn to_version(&self) -> Option<String> {
        self.input
            .upgrade
            .and_then(|u| u.to_version.as_ref())
            .map(|v| v.value.to_string())
    }

    fn kind(&self) -> Option<UpgradeKind> {
        self.input.upgrade.and_then(|u| u.kind())
    }

    fn namespace(&self) -> String {
        self.site.map(|s| s.namespace.clone()).unwrap_or_default()
    }

    fn compose_file(&self) -> String {
        format!(
            "compose/{}/compose.yaml",
            self.site.map(|s| s.name.as_str()).unwrap_or("")
        )
    }

    fn fqdn(&self, node: &str) -> String {
        self.cluster
            .and_then(|c| c.nodes.iter().chain([&c.surge]).find(|n| n.name == node))
            .map(|n| n.fqdn.clone())
            .unwrap_or_else(|| {
                format!(
                    "{node}.{}",
                    self.site.map(|s| s.domain.as_str()).unwrap_or("")
                )
            })
    }

    /// The load balancer host in front of the cluster, on Puppet hosts.
    fn lb_host(&self) -> String {
        format!(
            "load-balancer.{}",
            self.site.map(|s| s.domain.as_str()).unwrap_or("")
        )
    }

    fn fronted(&self) -> bool {
        match (self.site, self.cluster) {
            (Some(site), Some(cluster)) => site
                .load_balancers
                .iter()
                .any(|lb| lb.fronts.contains(&cluster.label)),
            _ => false,
        }
    }

    fn product_home(&self, base: &str) -> String {
        self.cluster
            .map(|c| c.product_home(base))
            .unwrap_or_default()
    }

    /// The manifest of the step's cluster in the new version's build.
    fn next_manifests(&self) -> String {
        let (rank, label) = self
            .cluster
            .map(|c| (c.start_rank, c.label.as_str()))
            .unwrap_or((2, ""));
        format!(
            "\"${{NEXT_BUILD:?folder of topoc build for the new version}}\"/{}",
            q(&format!(
                "kubernetes/{}/2{rank}-{label}.yaml",
                self.site.map(|s| s.name.as_str()).unwrap_or("")
            ))
        )
    }

    /// The label selecting the step's pods: its node's, or the cluster's
    /// when the cluster is one Deployment with replicas.
    fn pod_selector(&self) -> String {
        match self.cluster {
            Some(c) if c.shape == Shape::Scaled => format!("topoc/cluster={}", c.label),
            _ => format!("topoc/node={}", self.node.unwrap_or("")),
        }
    }

    /// The image of the cluster with another tag: the one the target runs
    /// (on Kubernetes, the product image built with the JDBC drivers).
    fn image_with_tag(&self, tag: &str) -> String {
        let image = self
            .cluster
            .map(|c| match self.input.target {
                Target::Kubernetes => c.k8s_image.as_str(),
                _ => c.image.as_str(),
            })
            .unwrap_or("");
        let repository = image.rsplit_once(':').map(|(r, _)| r).unwrap_or(image);
        format!("{repository}:{tag}")
    }
}

pub(crate) fn for_step(input: &Input, draft: &Draft) -> Commands {
    let site = draft.site.map(|i| input.site(i));
    let cluster = site
        .zip(draft.cluster.as_ref())
        .and_then(|(s, c)| s.cluster(c));
    let ctx = StepContext {
        input,
        site,
        cluster,
        node: draft.node.as_deref(),
    };
    if draft.effect == super::Effect::Offline {
        return offline(&ctx, draft.action);
    }
    if input.bootstrap {
        let step = super::bootstrap::Step {
            input,
            site,
            cluster,
            draft,
        };
        if let Some(commands) = super::bootstrap::owns(&step) {
            return commands;
        }
    }
    if draft.action == Action::StartSync && !draft.databases.is_empty() {
        return replicate_from(&ctx, draft);
    }
    match draft.action {
        Action::Dump
        | Action::Restore
        | Action::MigrateDb
        | Action::TokenSync
        | Action::PromoteDb => database(&ctx, draft),
        Action::ReadOnly | Action::ReadWrite => portals(&ctx, draft.action == Action::ReadOnly),
        Action::DnsSwitch => dns(&ctx, draft),
        Action::StartNode if ctx.cluster.is_none() && input.upgrade.is_none() => {
            start_load_balancers(&ctx)
        }
        Action::StartNode if ctx.cluster.is_none() => new_deployment(&ctx, draft),
        Action::Test if ctx.cluster.is_none() => general_test(&ctx, draft),
        _ => match input.target {
            Target::Kubernetes => kubernetes(&ctx, draft.action),
            Target::Compose => compose(&ctx, draft.action),
            Target::Puppet => puppet(&ctx, draft.action),
        },
    }
}

/// A replica follows another source: the database promoted on failover.
fn replicate_from(ctx: &StepContext, draft: &Draft) -> Commands {
    let found = step_sources(ctx, draft);
    let (Some(replica), Some(source)) = (found.first(), found.get(1)) else {
        return Commands {
            commands: vec![format!("echo {}", q(&draft.title))],
            ..Commands::default()
        };
    };
    let env = client_env(replica);
    let (host, port, user) = (q(&replica.host), replica.port, q(&replica.user));
    let sql_text = |text: &str| text.replace('\'', "''");
    match replica.engine {
        Engine::Mysql => Commands {
            commands: vec![format!(
                "{env} mysql --host={host} --port={port} --user={user} --execute={}",
                q(&format!(
                    "STOP REPLICA; CHANGE REPLICATION SOURCE TO SOURCE_HOST = '{}', SOURCE_PORT = {}, SOURCE_AUTO_POSITION = 1; START REPLICA",
                    sql_text(&source.host),
                    source.port
                ))
            )],
            verify: vec![format!(
                "{env} mysql --host={host} --port={port} --user={user} --execute='SHOW REPLICA STATUS\\G' | grep -q 'Replica_IO_Running: Yes'"
            )],
            rollback: Vec::new(),
            manual: false,
        },
        Engine::Postgres => Commands {
            commands: vec![
                format!(
                    "{env} psql --host={host} --port={port} --username={user} --dbname=postgres --command={}",
                    q(&format!(
                        "ALTER SYSTEM SET primary_conninfo = 'host={} port={} user={}'",
                        sql_text(&source.host),
                        source.port,
                        sql_text(&replica.user)
                    ))
                ),
                format!(
                    "{env} psql --host={host} --port={port} --username={user} --dbname=postgres --command='SELECT pg_reload_conf()'"
                ),
            ],
            verify: vec![format!(
                "{env} psql --host={host} --port={port} --username={user} --dbname=postgres --tuples-only --no-align --command='SELECT status FROM pg_stat_wal_receiver' | grep -qx streaming"
            )],
            rollback: Vec::new(),
            manual: false,
        },
        _ => Commands {
            commands: vec![format!(
                "echo {}",
                q(&format!(
                    "make {} replicate from {} ({}) with the engine's own tools",
                    replica.name, source.name, source.host
                ))
            )],
            ..Commands::default()
        },
    }
}

/// The load balancers of a standby site, started on failover.
fn start_load_balancers(ctx: &StepContext) -> Commands {
    match ctx.input.target {
        Target::Kubernetes => {
            let ns = q(&ctx.namespace());
            Commands {
                commands: vec![sh(&["kubectl -n", &ns, "get ingress -o wide"])],
                verify: vec![format!(
                    "test -n \"$({})\"",
                    sh(&[
                        "kubectl -n",
                        &ns,
                        "get ingress -o",
                        &q("jsonpath={.items[*].status.loadBalancer.ingress[*]}"),
                    ])
                )],
                rollback: Vec::new(),
                manual: false,
            }
        }
        Target::Compose => {
            let file = q(&ctx.compose_file());
            Commands {
                commands: vec![sh(&[
                    "docker compose -f",
                    &file,
                    "--profile failover up -d --wait --no-deps load-balancer",
                ])],
                verify: vec![sh(&[
                    "docker compose -f",
                    &file,
                    "--profile failover ps --status running load-balancer",
                ])],
                rollback: vec![sh(&["docker compose -f", &file, "stop load-balancer"])],
                manual: false,
            }
        }
        Target::Puppet => {
            let lb = q(&ctx.lb_host());
            Commands {
                commands: vec![
                    agent_disable(
                        &lb,
                        "failover: set apim::running to true in the Hiera data of this site, then enable the agent",
                    ),
                    sh(&["ssh", &lb, "sudo systemctl enable --now nginx"]),
                ],
                verify: vec![sh(&["ssh", &lb, "systemctl is-active nginx"])],
                rollback: vec![
                    sh(&["ssh", &lb, "sudo systemctl stop nginx"]),
                    sh(&["ssh", &lb, "sudo puppet agent --enable"]),
                ],
                manual: false,
            }
        }
    }
}

/// A change to a node of a cold or warm standby site: nothing runs there
/// and nothing may start (its databases are read-only replicas). The new
/// image or build is put in place for the failover, the node stays down.
fn offline(ctx: &StepContext, action: Action) -> Commands {
    let Some(cluster) = ctx.cluster else {
        return Commands::default();
    };
    let node = ctx.node.unwrap_or("");
    let site = ctx.site.map(|s| s.name.as_str()).unwrap_or("");
    let tag = match (action, ctx.to_version()) {
        (Action::Deploy, _) => {
            "\"${FIXED_TAG:?set FIXED_TAG to the tag of the image with the fixed service}\""
                .to_string()
        }
        (_, Some(v)) => q(&v),
        (_, None) => "\"${PATCH_TAG:?set PATCH_TAG to the patched image tag}\"".to_string(),
    };
    let stays_down = |what: &str| {
        format!(
            "echo {}",
            q(&format!(
                "{site} is a standby site: {node} stays down; {what}"
            ))
        )
    };
    match ctx.input.target {
        Target::Kubernetes => {
            let ns = q(&ctx.namespace());
            let name = if cluster.shape == Shape::Scaled {
                cluster.label.clone()
            } else {
                node.to_string()
            };
            let dep = q(&format!("deployment/{name}"));
            let image_of = sh(&[
                "kubectl -n",
                &ns,
                "get",
                &dep,
                "-o",
                &q("jsonpath={.spec.template.spec.containers[?(@.name==\"wso2am\")].image}"),
            ]);
            let replicas = sh(&[
                "kubectl -n",
                &ns,
                "get",
                &dep,
                "-o",
                &q("jsonpath={.spec.replicas}"),
            ]);
            if action == Action::Deploy && cluster.shape != Shape::Scaled {
                return Commands {
                    commands: vec![stays_down(
                        "the fixed service reaches it with the artifacts when it starts",
                    )],
                    ..Commands::default()
                };
            }
            let set = match action {
                Action::Upgrade => sh(&[
                    "kubectl apply -f",
                    &ctx.next_manifests(),
                    "-l",
                    &q(&ctx.pod_selector()),
                ]),
                _ => sh(&[
                    "kubectl -n",
                    &ns,
                    "set image",
                    &dep,
                    &format!("{}{tag}", q(&format!("wso2am={}", ctx.image_with_tag("")))),
                ]),
            };
            Commands {
                commands: vec![set],
                verify: vec![image_of, format!("test \"$({replicas})\" = 0")],
                rollback: vec![sh(&["kubectl -n", &ns, "rollout undo", &dep])],
                manual: false,
            }
        }
        Target::Compose => {
            let file = match action {
                Action::Upgrade => format!(
                    "\"${{NEXT_BUILD:?folder of topoc build for the new version}}\"/{}",
                    q(&ctx.compose_file())
                ),
                _ => q(&ctx.compose_file()),
            };
            let (pull, remember) = match action {
                Action::Upgrade => (
                    sh(&[
                        "docker compose -f",
                        &file,
                        "--profile failover pull",
                        &q(node),
                    ]),
                    "on failover, start it from the new build (NEXT_BUILD)".to_string(),
                ),
                Action::Patch => (
                    sh(&[
                        &format!("{}={tag}", crate::deployment::layout::TAG_VARIABLE),
                        "docker compose -f",
                        &file,
                        "--profile failover pull",
                        &q(node),
                    ]),
                    format!(
                        "on failover, start it with {} set to the patched tag",
                        crate::deployment::layout::TAG_VARIABLE
                    ),
                ),
                _ => {
                    return Commands {
                        commands: vec![stays_down(
                            "the fixed service reaches it with the artifacts when it starts",
                        )],
                        ..Commands::default()
                    };
                }
            };
            Commands {
                commands: vec![pull, stays_down(&remember)],
                verify: vec![format!(
                    "test -z \"$({})\"",
                    sh(&[
                        "docker compose -f",
                        &q(&ctx.compose_file()),
                        "ps -q",
                        &q(node)
                    ])
                )],
                rollback: Vec::new(),
                manual: false,
            }
        }
        Target::Puppet => {
            let h = q(&ctx.fqdn(node));
            let home = ctx.product_home(HOSTS_BASE);
            let down = format!(
                "! {}",
                sh(&["ssh", &h, "systemctl is-active --quiet wso2am"])
            );
            match action {
                Action::Patch => Commands {
                    commands: vec![wso2update(&h, &home, "--no-console")],
                    verify: vec![down],
                    rollback: vec![wso2update(&h, &home, "--revert")],
                    manual: false,
                },
                // Hiera keeps `apim::running: false` on the standby site:
                // the agent installs the new build and leaves it stopped.
                Action::Upgrade => Commands {
                    commands: agent_upgrade(&h),
                    verify: vec![down],
                    rollback: vec![
                        "echo 'put the current build back on the Puppet server'".to_string(),
                    ],
                    manual: false,
                },
                _ => Commands {
                    commands: vec![stays_down(
                        "the fixed service reaches it with the artifacts when it starts",
                    )],
                    ..Commands::default()
                },
            }
        }
    }
}

// ------------------------------------------------------------ health checks

/// Health checks run inside a node: liveness, and the gateway's readiness.
fn health_probes(cluster: Option<&ClusterPlan>, major: u32) -> Vec<&'static str> {
    let mut probes = vec!["curl -fsS http://localhost:9763/services/Version"];
    if cluster.is_some_and(|c| c.profile == Profile::GatewayWorker) && major >= 4 {
        probes
            .push("curl -fsSk https://localhost:9443/api/am/gateway/v2/server-startup-healthcheck");
    }
    probes
}

// ------------------------------------------------------------ Kubernetes

fn kubernetes(ctx: &StepContext, action: Action) -> Commands {
    let ns = q(&ctx.namespace());
    let Some(cluster) = ctx.cluster else {
        return Commands::default();
    };
    let node = ctx.node.unwrap_or("");
    let label = &cluster.label;
    let major = ctx.input.deployment.major;
    let scaled = cluster.shape == Shape::Scaled;
    // The Deployment a node lives in: its own (a node of a pair, and the
    // pair's temporary node) or the cluster's (replicas).
    let deployment = if scaled {
        label.clone()
    } else {
        node.to_string()
    };
    let ap = cluster.ha == crate::model::HaMode::ActivePassive;
    let dep = q(&format!("deployment/{deployment}"));
    let replicas = if scaled { cluster.nodes.len() } else { 1 };
    let rollout = sh(&["kubectl -n", &ns, "rollout status", &dep, "--timeout=15m"]);
    let ready = if scaled {
        rollout.clone()
    } else {
        sh(&[
            "kubectl -n",
            &ns,
            "wait --for=condition=Ready pod -l",
            &q(&format!("topoc/node={deployment}")),
            "--timeout=15m",
        ])
    };
    // A node of a pair whose Deployment was changed: its old pod stopped
    // (Recreate), wait for the new one to be healthy. Not for it to be
    // ready: a standby of an active-passive pair is ready only when the
    // serving node is lost.
    let healthy = |name: &str| -> Vec<String> {
        let dep = q(&format!("deployment/{name}"));
        vec![
            sh(&[
                "kubectl -n",
                &ns,
                "wait",
                &dep,
                "--for=jsonpath='{.status.updatedReplicas}'=1 --timeout=15m",
            ]),
            format!(
                "( for _ in $(seq 90); do kubectl -n {ns} exec {dep} -c wso2am -- curl -fsS -o /dev/null http://localhost:9763/services/Version && exit 0; sleep 10; done; echo {} >&2; exit 1 )",
                q(&format!("{name} did not become healthy in 15 minutes"))
            ),
        ]
    };
    // The ready pods behind the cluster Service include (or exclude) a
    // node's pod, within 5 minutes.
    let serves = |name: &str, serving: bool| -> String {
        let found = format!(
            "kubectl -n {ns} get endpointslices -l {} -o jsonpath='{{range .items[*].endpoints[?(@.conditions.ready==true)]}}{{.addresses[0]}}{{\"\\n\"}}{{end}}' | grep -qxF \"$ip\"",
            q(&format!("kubernetes.io/service-name={label}"))
        );
        format!(
            "( ip=$(kubectl -n {ns} get pod -l {} -o jsonpath='{{.items[0].status.podIP}}') && for _ in $(seq 60); do {}{found} && exit 0; sleep 5; done; echo {} >&2; exit 1 )",
            q(&format!("topoc/node={name}")),
            if serving { "" } else { "! " },
            q(&if serving {
                format!("{name} does not take traffic")
            } else {
                format!("{name} still takes traffic")
            })
        )
    };
    // Which node of an active-passive pair serves: its ConfigMap.
    let designate = |name: &str| -> String {
        sh(&[
            "kubectl -n",
            &ns,
            "patch configmap",
            &q(&format!("{label}-serving")),
            "-p",
            &q(&format!("{{\"data\":{{\"node\":\"{name}\"}}}}")),
        ])
    };
    let exec_health = |name: &str| -> Vec<String> {
        health_probes(Some(cluster), major)
            .into_iter()
            .map(|probe| {
                sh(&[
                    "kubectl -n",
                    &ns,
                    "exec",
                    &q(&format!("deployment/{name}")),
                    "-c wso2am --",
                    probe,
                ])
            })
            .collect()
    };
    let selector_patch = |selector: &str| -> String {
        let body = format!("{{\"spec\":{{\"selector\":{{\"topoc/node\":\"{selector}\"}}}}}}");
        sh(&[
            "kubectl -n",
            &ns,
            "patch service",
            &q(label),
            "-p",
            &q(&body),
        ])
    };
    let selector_all = sh(&[
        "kubectl -n",
        &ns,
        "patch service",
        &q(label),
        "--type=json -p",
        &q("[{\"op\":\"remove\",\"path\":\"/spec/selector/topoc~1node\"}]"),
    ]);
    let other = cluster
        .nodes
        .iter()
        .map(|n| n.name.as_str())
        .find(|n| *n != node)
        .unwrap_or(node);
    // Without surge the rolling update may not add a pod: it stops the old
    // one first (the plan drained the node before).
    let surge = ctx.input.upgrade.is_none_or(|u| u.surge);
    let strategy = |max_surge: u8, max_unavailable: u8| -> String {
        sh(&[
            "kubectl -n",
            &ns,
            "patch",
            &dep,
            "-p",
            &q(&format!(
                "{{\"spec\":{{\"strategy\":{{\"rollingUpdate\":{{\"maxSurge\":{max_surge},\"maxUnavailable\":{max_unavailable}}}}}}}}}"
            )),
        ])
    };
    let no_surge: Vec<String> = if surge {
        Vec::new()
    } else {
        vec![strategy(0, 1)]
    };
    // The last pod of a rollout without surge puts the built strategy back.
    let last = cluster.nodes.last().is_some_and(|n| n.name == node);
    let restore: Vec<String> = if surge || !(scaled && last) {
        Vec::new()
    } else {
        vec![strategy(1, 0)]
    };
    // A single-pod rollout finishes in its own step.
    let finish: Vec<String> = if restore.is_empty() {
        Vec::new()
    } else {
        std::iter::once(rollout.clone())
            .chain(restore.clone())
            .collect()
    };
    match action {
        // The temporary node of a pair is a Deployment of its own.
        Action::AddNode if !scaled => Commands {
            commands: vec![sh(&["kubectl -n", &ns, "scale", &dep, "--replicas=1"])],
            verify: healthy(&deployment),
            rollback: vec![sh(&["kubectl -n", &ns, "scale", &dep, "--replicas=0"])],
            manual: false,
        },
        Action::RemoveNode if !scaled => Commands {
            commands: vec![sh(&["kubectl -n", &ns, "scale", &dep, "--replicas=0"])],
            verify: vec![sh(&[
                "kubectl -n",
                &ns,
                "wait --for=delete pod -l",
                &q(&format!("topoc/node={deployment}")),
                "--timeout=5m",
            ])],
            rollback: vec![sh(&["kubectl -n", &ns, "scale", &dep, "--replicas=1"])],
            manual: false,
        },
        // An active-passive pair moves its traffic by naming the serving
        // node: the other's readiness follows.
        Action::Undrain if ap => Commands {
            commands: vec![designate(node)],
            verify: vec![serves(node, true)],
            rollback: vec![designate(other)],
            manual: false,
        },
        Action::Drain if ap => Commands {
            commands: vec![serves(node, false)],
            verify: vec![serves(other, true)],
            rollback: vec![designate(node)],
            manual: false,
        },
        Action::AddNode => Commands {
            commands: vec![sh(&[
                "kubectl -n",
                &ns,
                "scale",
                &dep,
                &format!("--replicas={}", replicas + 1),
            ])],
            verify: vec![rollout.clone()],
            rollback: vec![sh(&[
                "kubectl -n",
                &ns,
                "scale",
                &dep,
                &format!("--replicas={replicas}"),
            ])],
            manual: false,
        },
        Action::RemoveNode => Commands {
            commands: vec![sh(&[
                "kubectl -n",
                &ns,
                "scale",
                &dep,
                &format!("--replicas={replicas}"),
            ])],
            verify: vec![rollout.clone()],
            rollback: vec![sh(&[
                "kubectl -n",
                &ns,
                "scale",
                &dep,
                &format!("--replicas={}", replicas + 1),
            ])],
            manual: false,
        },
        Action::Drain => Commands {
            commands: vec![selector_patch(other)],
            verify: vec![sh(&[
                "kubectl -n",
                &ns,
                "get service",
                &q(label),
                "-o jsonpath='{.spec.selector}'",
            ])],
            rollback: vec![if ap {
                selector_patch(node)
            } else {
                selector_all.clone()
            }],
            manual: false,
        },
        Action::Undrain => Commands {
            commands: vec![selector_all.clone()],
            verify: vec![sh(&[
                "kubectl -n",
                &ns,
                "get endpointslices -l",
                &q(&format!("kubernetes.io/service-name={label}")),
            ])],
            rollback: vec![selector_patch(other)],
            manual: false,
        },
        // A scaled cluster is one rollout: its first step starts it, the
        // others follow it pod by pod.
        Action::Patch | Action::Upgrade | Action::Deploy
            if scaled && node != cluster.nodes[0].name =>
        {
            Commands {
                commands: std::iter::once(rollout.clone()).chain(restore).collect(),
                verify: exec_health(&deployment),
                rollback: vec![sh(&["kubectl -n", &ns, "rollout undo", &dep])],
                manual: false,
            }
        }
        // A scaled cluster's fixed service comes in an image that carries
        // it, rolled out like a patch.
        // A shared deployment folder: one copy reaches every node.
        Action::Deploy
            if ctx.site.is_some_and(|s| {
                super::generate::shared_deployment_folder(ctx.input, s, cluster)
            }) =>
        {
            let target_dir = format!(
                "{}/repository/deployment/server/synapse-configs/default/api/",
                ctx.product_home(HOME)
            );
            let first_pod = format!(
                "pod=$(kubectl -n {ns} get pod -l {} -o name | head -n 1)",
                q(&format!("topoc/cluster={label}"))
            );
            Commands {
                commands: vec![
                    first_pod.clone(),
                    format!(
                        "kubectl -n {ns} cp -c wso2am \"${{FIXED_ARTIFACT:?path of the fixed API artifact}}\" \"${{pod#pod/}}\":{}",
                        q(&target_dir)
                    ),
                ],
                verify: exec_health(&deployment),
                rollback: vec![
                    first_pod,
                    format!(
                        "kubectl -n {ns} exec \"${{pod#pod/}}\" -c wso2am -- rm -f {}\"$(basename \"${{FIXED_ARTIFACT:?}}\")\"",
                        q(&target_dir)
                    ),
                ],
                manual: false,
            }
        }
        Action::Patch | Action::Deploy if action == Action::Patch || scaled => {
            let tag = match (action, ctx.to_version()) {
                (Action::Deploy, _) => {
                    "\"${FIXED_TAG:?set FIXED_TAG to the tag of the image with the fixed service}\""
                        .to_string()
                }
                (_, Some(v)) => q(&v),
                (_, None) => "\"${PATCH_TAG:?set PATCH_TAG to the patched image tag}\"".to_string(),
            };
            // Every container of the pod runs the node's image.
            let image = format!("{}{tag}", q(&format!("*={}", ctx.image_with_tag(""))));
            let verify = if scaled {
                std::iter::once(rollout.clone())
                    .chain(exec_health(&deployment))
                    .collect()
            } else {
                healthy(&deployment)
            };
            Commands {
                commands: no_surge
                    .iter()
                    .cloned()
                    .chain([sh(&["kubectl -n", &ns, "set image", &dep, &image])])
                    .chain(finish.iter().cloned())
                    .collect(),
                verify,
                rollback: vec![sh(&["kubectl -n", &ns, "rollout undo", &dep])],
                manual: false,
            }
        }
        Action::Upgrade => Commands {
            commands: no_surge
                .iter()
                .cloned()
                .chain([sh(&[
                    "kubectl apply -f",
                    &ctx.next_manifests(),
                    "-l",
                    &q(&ctx.pod_selector()),
                ])])
                .chain(finish.iter().cloned())
                .collect(),
            verify: if scaled {
                std::iter::once(rollout.clone())
                    .chain(exec_health(&deployment))
                    .collect()
            } else {
                healthy(&deployment)
            },
            rollback: vec![sh(&["kubectl -n", &ns, "rollout undo", &dep])],
            manual: false,
        },
        Action::Deploy => {
            let target_dir = format!(
                "{}/repository/deployment/server/synapse-configs/default/api/",
                ctx.product_home(HOME)
            );
            let selector = ctx.pod_selector();
            let copy = format!(
                "for pod in $(kubectl -n {ns} get pod -l {} -o name); do kubectl -n {ns} cp -c wso2am \"${{FIXED_ARTIFACT:?path of the fixed API artifact}}\" \"${{pod#pod/}}\":{}; done",
                q(&selector),
                q(&target_dir)
            );
            let remove = format!(
                "for pod in $(kubectl -n {ns} get pod -l {} -o name); do kubectl -n {ns} exec \"${{pod#pod/}}\" -c wso2am -- rm -f {}\"$(basename \"${{FIXED_ARTIFACT:?}}\")\"; done",
                q(&selector),
                q(&target_dir)
            );
            Commands {
                commands: vec![copy],
                verify: exec_health(&deployment),
                rollback: vec![remove],
                manual: false,
            }
        }
        // A node of an active-passive pair is tested whether it serves or
        // stands by: healthy, not necessarily ready.
        Action::Test => Commands {
            commands: exec_health(&deployment),
            verify: if ap {
                healthy(&deployment)
            } else {
                vec![ready]
            },
            rollback: Vec::new(),
            manual: false,
        },
        Action::StartNode => Commands {
            commands: vec![sh(&[
                "kubectl -n",
                &ns,
                "scale",
                &dep,
                &format!("--replicas={replicas}"),
            ])],
            verify: vec![rollout],
            rollback: vec![sh(&["kubectl -n", &ns, "scale", &dep, "--replicas=0"])],
            manual: false,
        },
        Action::StopSync | Action::StartSync => Commands {
            commands: vec![
                "echo 'the nodes share one ReadWriteMany volume: nothing to stop or start'"
                    .to_string(),
            ],
            ..Commands::default()
        },
        _ => Commands::default(),
    }
}

// ------------------------------------------------------------ Compose

fn compose(ctx: &StepContext, action: Action) -> Commands {
    let Some(cluster) = ctx.cluster else {
        return Commands::default();
    };
    let file = q(&ctx.compose_file());
    let node = ctx.node.unwrap_or("");
    let major = ctx.input.deployment.major;
    let temp = node == cluster.surge.name;
    let service = node.to_string();
    let svc = q(&service);
    let health: Vec<String> = health_probes(Some(cluster), major)
        .into_iter()
        .map(|probe| sh(&["docker compose -f", &file, "exec -T", &svc, probe]))
        .collect();
    let lb = |verb: &str| -> String {
        if ctx.fronted() {
            let script = format!(
                "compose/{}/scripts/lb.sh",
                ctx.site.map(|s| s.name.as_str()).unwrap_or("")
            );
            sh(&[&q(&script), verb, &q(&ctx.fqdn(node))])
        } else {
            format!(
                "echo {}",
                q(&format!(
                    "no load balancer fronts {}: its clients fail over by themselves",
                    cluster.name
                ))
            )
        }
    };
    match action {
        // The temporary node is a service of its own, in profile `surge`.
        Action::AddNode if temp => Commands {
            commands: std::iter::once(sh(&[
                "docker compose -f",
                &file,
                "--profile surge up -d --wait --no-deps",
                &svc,
            ]))
            .chain(ctx.fronted().then(|| lb("add")))
            .collect(),
            verify: health.clone(),
            rollback: ctx
                .fronted()
                .then(|| lb("remove"))
                .into_iter()
                .chain([sh(&[
                    "docker compose -f",
                    &file,
                    "--profile surge rm -f -s",
                    &svc,
                ])])
                .collect(),
            manual: false,
        },
        Action::RemoveNode if temp => Commands {
            commands: ctx
                .fronted()
                .then(|| lb("remove"))
                .into_iter()
                .chain([sh(&[
                    "docker compose -f",
                    &file,
                    "--profile surge rm -f -s",
                    &svc,
                ])])
                .collect(),
            verify: vec![sh(&[
                "docker compose -f",
                &file,
                "--profile surge ps -a",
                &svc,
            ])],
            rollback: vec![sh(&[
                "docker compose -f",
                &file,
                "--profile surge up -d --wait --no-deps",
                &svc,
            ])],
            manual: false,
        },
        Action::AddNode => Commands {
            commands: vec![sh(&[
                "docker compose -f",
                &file,
                "up -d --wait --no-deps",
                &svc,
            ])],
            verify: health.clone(),
            rollback: vec![sh(&["docker compose -f", &file, "stop", &svc])],
            manual: false,
        },
        Action::RemoveNode => Commands {
            commands: vec![sh(&["docker compose -f", &file, "stop", &svc])],
            verify: vec![sh(&["docker compose -f", &file, "ps -a", &svc])],
            rollback: vec![sh(&[
                "docker compose -f",
                &file,
                "up -d --wait --no-deps",
                &svc,
            ])],
            manual: false,
        },
        Action::Drain => Commands {
            commands: vec![lb("drain")],
            verify: Vec::new(),
            rollback: vec![lb("undrain")],
            manual: false,
        },
        Action::Undrain => Commands {
            commands: vec![lb("undrain")],
            verify: Vec::new(),
            rollback: vec![lb("drain")],
            manual: false,
        },
        Action::Patch => {
            let tag = match ctx.to_version() {
                Some(v) => q(&v),
                None => "\"${PATCH_TAG:?set PATCH_TAG to the patched image tag}\"".to_string(),
            };
            let current = cluster
                .image
                .rsplit_once(':')
                .map(|(_, t)| t.to_string())
                .unwrap_or_default();
            Commands {
                commands: vec![sh(&[
                    &format!("{}={tag}", crate::deployment::layout::TAG_VARIABLE),
                    "docker compose -f",
                    &file,
                    "up -d --wait --no-deps --force-recreate",
                    &svc,
                ])],
                verify: health,
                rollback: vec![sh(&[
                    &format!(
                        "{}={}",
                        crate::deployment::layout::TAG_VARIABLE,
                        q(&current)
                    ),
                    "docker compose -f",
                    &file,
                    "up -d --wait --no-deps --force-recreate",
                    &svc,
                ])],
                manual: false,
            }
        }
        Action::Upgrade => {
            let next = format!(
                "\"${{NEXT_BUILD:?folder of topoc build for the new version}}\"/{}",
                ctx.compose_file()
            );
            Commands {
                commands: vec![sh(&[
                    "docker compose -f",
                    &next,
                    "up -d --wait --no-deps --force-recreate",
                    &svc,
                ])],
                verify: health,
                rollback: vec![sh(&[
                    "docker compose -f",
                    &file,
                    "up -d --wait --no-deps --force-recreate",
                    &svc,
                ])],
                manual: false,
            }
        }
        Action::Deploy => {
            let dir = format!(
                "{}/repository/deployment/server/synapse-configs/default/api/",
                ctx.product_home(HOME)
            );
            Commands {
                commands: vec![sh(&[
                    "docker compose -f",
                    &file,
                    "cp \"${FIXED_ARTIFACT:?path of the fixed API artifact}\"",
                    &q(&format!("{service}:{dir}")),
                ])],
                verify: health,
                rollback: vec![format!(
                    "docker compose -f {file} exec -T {svc} rm -f {}\"$(basename \"${{FIXED_ARTIFACT:?}}\")\"",
                    q(&dir)
                )],
                manual: false,
            }
        }
        Action::Test => Commands {
            commands: health,
            verify: vec![sh(&["docker compose -f", &file, "ps", &svc])],
            rollback: Vec::new(),
            manual: false,
        },
        Action::StartNode => Commands {
            commands: vec![sh(&[
                "docker compose -f",
                &file,
                "--profile failover up -d --wait --no-deps",
                &svc,
            ])],
            verify: health,
            rollback: vec![sh(&[
                "docker compose -f",
                &file,
                "--profile failover stop",
                &svc,
            ])],
            manual: false,
        },
        Action::StopSync | Action::StartSync => Commands {
            commands: vec![
                "echo 'the nodes share one volume: nothing to stop or start'".to_string(),
            ],
            ..Commands::default()
        },
        _ => Commands::default(),
    }
}

// ------------------------------------------------------------ Puppet

fn puppet(ctx: &StepContext, action: Action) -> Commands {
    let Some(cluster) = ctx.cluster else {
        return Commands::default();
    };
    let node = ctx.node.unwrap_or("");
    let temp = node == cluster.surge.name;
    let host = ctx.fqdn(node);
    let h = q(&host);
    let major = ctx.input.deployment.major;
    let health: Vec<String> = health_probes(Some(cluster), major)
        .into_iter()
        .map(|probe| sh(&["ssh", &h, &q(probe)]))
        .collect();
    let lb = |verb: &str| -> String {
        if ctx.fronted() {
            sh(&[
                "ssh",
                &q(&ctx.lb_host()),
                "sudo /usr/local/bin/apim-lb",
                verb,
                &q(&host),
            ])
        } else {
            format!(
                "echo {}",
                q(&format!(
                    "no load balancer fronts {}: its clients fail over by themselves",
                    cluster.name
                ))
            )
        }
    };
    let home = ctx.product_home(HOSTS_BASE);
    let agent = agent_test(&h);
    let service = |verb: &str| sh(&["ssh", &h, "sudo systemctl", verb, "wso2am"]);
    let manager = cluster
        .nodes
        .iter()
        .find(|n| n.manager)
        .map(|n| n.fqdn.clone())
        .unwrap_or_else(|| host.clone());
    match action {
        // The temporary node's host has its own node definition in
        // site.pp; between runbooks its agent stays disabled.
        Action::AddNode if temp => Commands {
            commands: [
                sh(&["ssh", &h, "sudo puppet agent --enable"]),
                agent.clone(),
            ]
            .into_iter()
            // On a version upgrade the temporary node stays at the current
            // version: its agent holds off once it is set up.
            .chain(
                (ctx.kind() == Some(UpgradeKind::VersionUpgrade))
                    .then(|| agent_disable(&h, "temporary node: stays at the current version")),
            )
            .chain(ctx.fronted().then(|| lb("add")))
            .collect(),
            verify: health,
            rollback: ctx
                .fronted()
                .then(|| lb("remove"))
                .into_iter()
                .chain([
                    agent_disable(&h, "temporary node removed"),
                    sh(&["ssh", &h, "sudo systemctl disable --now wso2am"]),
                ])
                .collect(),
            manual: false,
        },
        Action::RemoveNode if temp => Commands {
            commands: ctx
                .fronted()
                .then(|| lb("remove"))
                .into_iter()
                .chain([
                    agent_disable(&h, "temporary node removed"),
                    sh(&["ssh", &h, "sudo systemctl disable --now wso2am"]),
                ])
                .collect(),
            verify: vec![sh(&["ssh", &h, "systemctl is-active wso2am || true"])],
            rollback: vec![
                sh(&["ssh", &h, "sudo puppet agent --enable"]),
                agent.clone(),
            ],
            manual: false,
        },
        Action::AddNode => Commands {
            commands: vec![agent.clone()],
            verify: health,
            rollback: vec![service("stop")],
            manual: false,
        },
        Action::RemoveNode => Commands {
            commands: vec![sh(&["ssh", &h, "sudo systemctl disable --now wso2am"])],
            verify: vec![sh(&["ssh", &h, "systemctl is-active wso2am || true"])],
            rollback: vec![service("start")],
            manual: false,
        },
        Action::Drain => Commands {
            commands: vec![lb("drain")],
            verify: Vec::new(),
            rollback: vec![lb("undrain")],
            manual: false,
        },
        Action::Undrain => Commands {
            commands: vec![lb("undrain")],
            verify: Vec::new(),
            rollback: vec![lb("drain")],
            manual: false,
        },
        // `restart = false`: a patch that takes effect in place.
        Action::Patch if ctx.input.upgrade.is_some_and(|u| !u.restarts()) => Commands {
            commands: vec![wso2update(&h, &home, "--no-console")],
            verify: health.clone(),
            rollback: vec![wso2update(&h, &home, "--revert")],
            manual: false,
        },
        Action::Patch => Commands {
            commands: vec![
                service("stop"),
                wso2update(&h, &home, "--no-console"),
                service("start"),
            ],
            verify: health,
            rollback: vec![
                service("stop"),
                wso2update(&h, &home, "--revert"),
                service("start"),
            ],
            manual: false,
        },
        Action::Upgrade => Commands {
            commands: agent_upgrade(&h),
            verify: health,
            rollback: vec![
                "echo 'put the current build back on the Puppet server'".to_string(),
                agent,
            ],
            manual: false,
        },
        Action::Deploy => {
            let dir = format!("{home}/repository/deployment/server/synapse-configs/default/api/");
            Commands {
                commands: vec![
                    sh(&[
                        "scp \"${FIXED_ARTIFACT:?path of the fixed API artifact}\"",
                        &q(&format!("{host}:/tmp/")),
                    ]),
                    format!(
                        "ssh {h} sudo install -o wso2carbon -g wso2carbon -m 0644 {} {}",
                        "\"/tmp/$(basename \"${FIXED_ARTIFACT:?}\")\"",
                        q(&dir)
                    ),
                ],
                verify: health,
                rollback: vec![format!(
                    "ssh {h} sudo rm -f {}\"$(basename \"${{FIXED_ARTIFACT:?}}\")\"",
                    q(&dir)
                )],
                manual: false,
            }
        }
        Action::Test => Commands {
            commands: health,
            verify: vec![sh(&["ssh", &h, "systemctl is-active wso2am"])],
            rollback: Vec::new(),
            manual: false,
        },
        // A standby site's Hiera says `apim::running: false`: the agent
        // would stop the node again at its next run, so it holds off
        // until Hiera says the site runs.
        Action::StartNode => Commands {
            commands: vec![
                agent_disable(
                    &h,
                    "failover: set apim::running to true in the Hiera data of this site, then enable the agent",
                ),
                sh(&["ssh", &h, "sudo systemctl enable --now wso2am"]),
            ],
            verify: health,
            rollback: vec![
                service("stop"),
                sh(&["ssh", &h, "sudo puppet agent --enable"]),
            ],
            manual: false,
        },
        Action::StopSync => Commands {
            commands: vec![sh(&[
                "ssh",
                &q(&manager),
                "sudo systemctl stop apim-rsync.timer",
            ])],
            verify: vec![sh(&[
                "ssh",
                &q(&manager),
                "systemctl is-active apim-rsync.timer || true",
            ])],
            rollback: vec![sh(&[
                "ssh",
                &q(&manager),
                "sudo systemctl start apim-rsync.timer",
            ])],
            manual: false,
        },
        Action::StartSync => Commands {
            commands: vec![
                sh(&[
                    "ssh",
                    &q(&manager),
                    "sudo systemctl start apim-rsync.service",
                ]),
                sh(&["ssh", &q(&manager), "sudo systemctl start apim-rsync.timer"]),
            ],
            verify: vec![sh(&[
                "ssh",
                &q(&manager),
                "systemctl is-active apim-rsync.timer",
            ])],
            rollback: vec![sh(&[
                "ssh",
                &q(&manager),
                "sudo systemctl stop apim-rsync.timer",
            ])],
            manual: false,
        },
        _ => Commands::default(),
    }
}

// ------------------------------------------------------------ databases

/// The database a step acts on: the first it names.
fn step_database<'a>(ctx: &'a StepContext, draft: &Draft) -> Option<&'a DatabasePlan> {
    step_sources(ctx, draft).into_iter().next()
}

/// Every database a step names, in the step's order.
fn step_sources<'a>(ctx: &'a StepContext, draft: &Draft) -> Vec<&'a DatabasePlan> {
    let all: Vec<&DatabasePlan> = ctx
        .input
        .deployment
        .sites
        .iter()
        .flat_map(|s| s.clusters.iter())
        .flat_map(|c| c.databases.iter())
        .collect();
    draft
        .databases
        .iter()
        .filter_map(|name| all.iter().copied().find(|db| &db.name == name))
        .collect()
}

/// Before the migration client runs: it, and the new build the nodes
/// will run, must use the databases the runbook prepared (the migrated
/// copies on a version upgrade, the new deployment's server on a
/// migration), never the live ones.
fn migration_guards(ctx: &StepContext, draft: &Draft, to: &str, migration: bool) -> Vec<String> {
    let conf = "\"${MIGRATION_HOME:?}\"/repository/conf/deployment.toml";
    if migration {
        return vec![format!(
            "grep -qF -- \"${{NEW_DB_HOST:?}}\" {conf} || {{ echo {} >&2; false; }}",
            q("the migration client's deployment.toml must point at NEW_DB_HOST")
        )];
    }
    let mut guards = Vec::new();
    for db in step_sources(ctx, draft) {
        let copy = copy_name(db, to);
        guards.push(format!(
            "grep -qF -- {} {conf} || {{ echo {} >&2; false; }}",
            q(&copy),
            q(&format!(
                "the migration client's deployment.toml must use the copy {copy}, not {}",
                db.database
            ))
        ));
        guards.push(format!(
            "grep -rqF -- {} \"${{NEXT_BUILD:?folder of topoc build for the new version}}\" || {{ echo {} >&2; false; }}",
            q(&copy),
            q(&format!(
                "the new build must use the copy {copy}: set database = \"{copy}\" in the topology at {to} and build it again"
            ))
        ));
    }
    guards
}

fn client_env(db: &DatabasePlan) -> String {
    let var = match db.engine {
        Engine::Mysql => "MYSQL_PWD",
        Engine::Postgres => "PGPASSWORD",
        Engine::Mssql => "SQLCMDPASSWORD",
        Engine::Oracle => "ORACLE_PWD",
    };
    format!("{var}=\"${{{}:?}}\"", db.password.env)
}

fn copy_name(db: &DatabasePlan, to: &str) -> String {
    format!("{}_{}", db.database, to.replace('.', "_"))
}

fn database(ctx: &StepContext, draft: &Draft) -> Commands {
    let Some(db) = step_database(ctx, draft) else {
        return Commands {
            commands: vec![format!("echo {}", q(&draft.title))],
            ..Commands::default()
        };
    };
    let env = client_env(db);
    let (host, port, user, name) = (
        q(&db.host),
        db.port.to_string(),
        q(&db.user),
        q(&db.database),
    );
    let to = ctx.to_version().unwrap_or_default();
    let copy = q(&copy_name(db, &to));
    let dump_file = format!("\"${{DUMP_DIR:-dumps}}\"/{}", db.name);
    let from = ctx.input.deployment.version.clone();
    let migration = ctx.kind() == Some(UpgradeKind::Migration);
    let restore_host = if migration {
        "\"${NEW_DB_HOST:?database host of the new deployment}\"".to_string()
    } else {
        host.clone()
    };
    let restore_name = if migration {
        name.clone()
    } else {
        copy.clone()
    };
    // A replica of a migrated database: replication brings the primary's
    // migrated copy (same name) to the replica's server; wait for it.
    let source = step_sources(ctx, draft)
        .into_iter()
        .find(|other| other.name != db.name);
    if let (Action::Restore, Some(source)) = (draft.action, source) {
        let copy = q(&copy_name(source, &to));
        let (probe, what) = match db.engine {
            Engine::Mysql => (
                format!("{env} mysqlshow --host={host} --port={port} --user={user} {copy}"),
                "MySQL",
            ),
            Engine::Postgres => (
                format!(
                    "{env} psql --host={host} --port={port} --username={user} --dbname={copy} --command='SELECT 1'"
                ),
                "PostgreSQL",
            ),
            Engine::Mssql => (
                format!("{env} sqlcmd -S {host},{port} -U {user} -C -d {copy} -Q 'SELECT 1'"),
                "SQL Server",
            ),
            Engine::Oracle => {
                return Commands {
                    commands: vec![format!(
                        "echo {}",
                        q(&format!(
                            "check with the engine's own tools that replication brought {} to the server of {}",
                            copy_name(source, &to),
                            db.name
                        ))
                    )],
                    ..Commands::default()
                };
            }
        };
        return Commands {
            commands: vec![
                format!(
                    "echo {}",
                    q(&format!(
                        "waiting up to 15 minutes for {what} replication to bring {} to the server of {}",
                        copy_name(source, &to),
                        db.name
                    ))
                ),
                format!("for _ in $(seq 90); do {probe} >/dev/null 2>&1 && break; sleep 10; done"),
            ],
            verify: vec![probe],
            rollback: Vec::new(),
            manual: false,
        };
    }
    match (draft.action, db.engine) {
        (Action::Dump, Engine::Mysql) => Commands {
            commands: vec![
                "mkdir -p \"${DUMP_DIR:-dumps}\"".to_string(),
                format!("{env} mysqldump --single-transaction --routines --set-gtid-purged=OFF --host={host} --port={port} --user={user} {name} > {dump_file}.sql"),
            ],
            verify: vec![format!("test -s {dump_file}.sql")],
            rollback: Vec::new(), manual: false,
        },
        (Action::Dump, Engine::Postgres) => Commands {
            commands: vec![
                "mkdir -p \"${DUMP_DIR:-dumps}\"".to_string(),
                format!("{env} pg_dump --host={host} --port={port} --username={user} --format=custom --file={dump_file}.dump {name}"),
            ],
            verify: vec![format!("test -s {dump_file}.dump")],
            rollback: Vec::new(), manual: false,
        },
        // SQL Server: a BACPAC exported and imported by sqlpackage, on the
        // machine running the runbook (a BACKUP would land on the server).
        (Action::Dump, Engine::Mssql) => Commands {
            commands: vec![
                "mkdir -p \"${DUMP_DIR:-dumps}\"".to_string(),
                format!(
                    "sqlpackage /Action:Export /SourceServerName:{host},{port} /SourceDatabaseName:{name} /SourceUser:{user} /SourcePassword:\"${{{}:?}}\" /SourceTrustServerCertificate:True /TargetFile:{dump_file}.bacpac",
                    db.password.env
                ),
            ],
            verify: vec![format!("test -s {dump_file}.bacpac")],
            rollback: Vec::new(), manual: false,
        },
        // The password goes into a parameter file only the operator can
        // read, removed when the export ends: never onto a command line.
        (Action::Dump, Engine::Oracle) => Commands {
            commands: vec![format!(
                "( umask 077 && parfile=$(mktemp) && trap 'rm -f \"$parfile\"' EXIT && printf 'userid=%s/\"%s\"@%s\\n' {user} \"${{{}:?}}\" {} >\"$parfile\" && expdp parfile=\"$parfile\" schemas={user} directory=DATA_PUMP_DIR dumpfile={} )",
                db.password.env,
                q(&format!("//{}:{}/{}", db.host, db.port, db.database)),
                q(&format!("{}.dmp", db.name))
            )],
            verify: Vec::new(),
            rollback: Vec::new(), manual: false,
        },
        (Action::Restore, Engine::Mysql) => Commands {
            commands: vec![
                format!("{env} mysqladmin --host={restore_host} --port={port} --user={user} create {restore_name}"),
                format!("{env} mysql --host={restore_host} --port={port} --user={user} {restore_name} < {dump_file}.sql"),
            ],
            verify: vec![format!("{env} mysqlshow --host={restore_host} --port={port} --user={user} {restore_name}")],
            rollback: vec![format!("{env} mysqladmin --force --host={restore_host} --port={port} --user={user} drop {restore_name}")], manual: false,
        },
        (Action::Restore, Engine::Postgres) => Commands {
            commands: vec![
                format!("{env} createdb --host={restore_host} --port={port} --username={user} {restore_name}"),
                format!("{env} pg_restore --host={restore_host} --port={port} --username={user} --dbname={restore_name} {dump_file}.dump"),
            ],
            verify: vec![format!("{env} psql --host={restore_host} --port={port} --username={user} --dbname={restore_name} --command='SELECT 1'")],
            rollback: vec![format!("{env} dropdb --host={restore_host} --port={port} --username={user} {restore_name}")], manual: false,
        },
        (Action::Restore, Engine::Mssql) => {
            let raw_name = if migration { db.database.clone() } else { copy_name(db, &to) };
            let sqlcmd = format!("{env} sqlcmd -S {restore_host},{port} -U {user} -C");
            Commands {
                commands: vec![format!(
                    "sqlpackage /Action:Import /TargetServerName:{restore_host},{port} /TargetDatabaseName:{restore_name} /TargetUser:{user} /TargetPassword:\"${{{}:?}}\" /TargetTrustServerCertificate:True /SourceFile:{dump_file}.bacpac",
                    db.password.env
                )],
                verify: vec![format!("{sqlcmd} -d {restore_name} -Q 'SELECT 1'")],
                rollback: vec![format!(
                    "{sqlcmd} -Q {}",
                    q(&format!("DROP DATABASE [{}]", raw_name.replace(']', "]]")))
                )], manual: false,
            }
        }
        (Action::Restore, _) => Commands {
            commands: vec![format!("echo {}", q(&format!("restore {} with the engine's own tools into {}", db.name, copy_name(db, &to))))],
            ..Commands::default()
        },
        (Action::MigrateDb, _) => Commands {
            commands: migration_guards(ctx, draft, &to, migration)
                .into_iter()
                .chain([format!(
                    "\"${{MIGRATION_HOME:?folder of the {to} product with the migration resources}}\"/bin/api-manager.sh -Dmigrate -DmigrateFromVersion={} -DmigratedVersion={}",
                    q(&from),
                    q(&to)
                )])
                .collect(),
            verify: vec![format!("echo {}", q(&format!("check the migration log for errors before any {to} node starts")))],
            rollback: vec![format!("echo {}", q(&{
                let names: Vec<&str> = step_sources(ctx, draft).iter().map(|d| d.name.as_str()).collect();
                if migration {
                    format!("drop the migrated {} in the new deployment and restore from the dumps again", names.join(", "))
                } else {
                    format!("drop the migrated copies of {} and restore them from the dumps again", names.join(", "))
                }
            }))], manual: false,
        },
        (Action::TokenSync, Engine::Mysql) if ctx.input.upgrade.is_some_and(|u| u.token_sync_mode() == crate::model::TokenSync::OneWay) => Commands {
            commands: vec![format!(
                "{env} mysqldump --no-create-info --replace --set-gtid-purged=OFF --host={host} --port={port} --user={user} --where=\"TIME_CREATED >= '${{WINDOW_START:?}}'\" {name} IDN_OAUTH2_ACCESS_TOKEN | {env} mysql --host=\"${{NEW_DB_HOST:?}}\" --port={port} --user={user} {name}"
            )],
            verify: Vec::new(),
            rollback: Vec::new(), manual: false,
        },
        (Action::TokenSync, Engine::Postgres) if ctx.input.upgrade.is_some_and(|u| u.token_sync_mode() == crate::model::TokenSync::OneWay) => Commands {
            commands: vec![format!(
                "{env} psql --host={host} --port={port} --username={user} --dbname={name} --command=\"\\\\copy (SELECT * FROM idn_oauth2_access_token WHERE time_created >= '${{WINDOW_START:?}}') TO STDOUT\" | {env} psql --host=\"${{NEW_DB_HOST:?}}\" --port={port} --username={user} --dbname={name} --command='\\copy idn_oauth2_access_token FROM STDIN'"
            )],
            verify: Vec::new(),
            rollback: Vec::new(), manual: false,
        },
        (Action::TokenSync, _) => Commands {
            commands: vec!["\"${TOKEN_SYNC:?command that keeps access tokens in step between the deployments}\" start".to_string()],
            verify: Vec::new(),
            rollback: vec!["\"${TOKEN_SYNC:?}\" stop".to_string()], manual: false,
        },
        (Action::PromoteDb, Engine::Mysql) => Commands {
            commands: vec![format!("{env} mysql --host={host} --port={port} --user={user} --execute='STOP REPLICA; RESET REPLICA ALL; SET GLOBAL read_only = OFF'")],
            verify: vec![format!("{env} mysql --host={host} --port={port} --user={user} --execute='SELECT @@global.read_only'")],
            rollback: Vec::new(), manual: false,
        },
        (Action::PromoteDb, Engine::Postgres) => Commands {
            commands: vec![format!("{env} psql --host={host} --port={port} --username={user} --dbname={name} --command='SELECT pg_promote()'")],
            verify: vec![format!("{env} psql --host={host} --port={port} --username={user} --dbname={name} --command='SELECT pg_is_in_recovery()'")],
            rollback: Vec::new(), manual: false,
        },
        (Action::PromoteDb, _) => Commands {
            commands: vec![format!("echo {}", q(&format!("promote {} to primary with the engine's own tools", db.name)))],
            ..Commands::default()
        },
        _ => Commands::default(),
    }
}

// ------------------------------------------------------------ portals, DNS, new deployment

/// The load balancers in front of the portals of the step's site.
/// For each, the name of its portal route (the Ingress) and its host name.
fn portal_hosts(ctx: &StepContext) -> Vec<(String, String)> {
    let Some(site) = ctx.site else {
        return Vec::new();
    };
    site.load_balancers
        .iter()
        .filter_map(|lb| {
            let route = lb
                .routes(site)
                .into_iter()
                .find(|r| r.kind == crate::deployment::RouteKind::Portal)?;
            Some((route.name, lb.hostname.clone()))
        })
        .collect()
}

fn portals(ctx: &StepContext, read_only: bool) -> Commands {
    let verb = if read_only { "read-only" } else { "read-write" };
    let undo = if read_only { "read-write" } else { "read-only" };
    let hosts = portal_hosts(ctx);
    if hosts.is_empty() {
        return Commands {
            commands: vec![format!(
                "echo {}",
                q(&format!(
                    "no load balancer fronts the portals: make the Publisher and DevPortal {verb} at their entry point"
                ))
            )],
            ..Commands::default()
        };
    }
    let site = ctx.site.map(|s| s.name.clone()).unwrap_or_default();
    let ns = q(&ctx.namespace());
    let mut out = Commands::default();
    // After a migration the portals open on the new deployment; the
    // current one stays read-only (its databases are no longer the ones
    // in use).
    let next = (!read_only && ctx.kind() == Some(UpgradeKind::Migration))
        .then_some("\"${NEXT_BUILD:?folder of topoc build for the new deployment}\"/");
    for (label, hostname) in hosts {
        // A write is refused (403) while read-only, answered otherwise.
        out.verify.push(if read_only {
            format!("test \"$(curl -s -o /dev/null -w '%{{http_code}}' -X POST https://{hostname}/publisher/)\" = 403")
        } else {
            format!("code=$(curl -s -o /dev/null -w '%{{http_code}}' -X POST https://{hostname}/publisher/); [ \"$code\" != 403 ] && [ \"$code\" != 000 ]")
        });
        if let Some(next) = next {
            let (command, rollback) = match ctx.input.target {
                Target::Kubernetes => {
                    let file =
                        format!("{next}{}", q(&format!("kubernetes/{site}/30-ingress.yaml")));
                    (
                        sh(&[
                            "kubectl annotate -f",
                            &file,
                            "nginx.ingress.kubernetes.io/auth-url-",
                        ]),
                        String::new(),
                    )
                }
                Target::Compose => {
                    // The new project's load balancer waits on no node:
                    // it starts here, once every node runs.
                    let start = sh(&[
                        "docker compose -f",
                        &format!("{next}{}", q(&format!("compose/{site}/compose.yaml"))),
                        "up -d --wait --no-deps load-balancer",
                    ]);
                    if !out.commands.contains(&start) {
                        out.commands.push(start);
                    }
                    (
                        sh(&[
                            &format!("{next}{}", q(&format!("compose/{site}/scripts/lb.sh"))),
                            "read-write",
                            &q(&hostname),
                        ]),
                        String::new(),
                    )
                }
                Target::Puppet => (
                    format!(
                        "echo {}",
                        q(&format!(
                            "the new deployment's load balancer for {hostname} was never made read-only: nothing to undo"
                        ))
                    ),
                    String::new(),
                ),
            };
            out.commands.push(command);
            if !rollback.is_empty() {
                out.rollback.push(rollback);
            }
            continue;
        }
        let (command, rollback) = match ctx.input.target {
            // The portal route asks the read-only gate of each request
            // (`auth-url`, which a default ingress-nginx allows); the gate
            // runs only while it is needed.
            Target::Kubernetes => {
                let gate = q(&format!(
                    "deployment/{}",
                    crate::deployment::layout::READ_ONLY_GATE
                ));
                let url = ctx.site.map(Site::read_only_gate_url).unwrap_or_default();
                let set = format!(
                    "{} && {} && {}",
                    sh(&["kubectl -n", &ns, "scale", &gate, "--replicas=2"]),
                    sh(&["kubectl -n", &ns, "rollout status", &gate, "--timeout=5m"]),
                    sh(&[
                        "kubectl -n",
                        &ns,
                        "annotate ingress",
                        &q(&label),
                        &q(&format!("nginx.ingress.kubernetes.io/auth-url={url}")),
                        "--overwrite",
                    ])
                );
                let clear = format!(
                    "{} && {}",
                    sh(&[
                        "kubectl -n",
                        &ns,
                        "annotate ingress",
                        &q(&label),
                        "nginx.ingress.kubernetes.io/auth-url-",
                    ]),
                    sh(&["kubectl -n", &ns, "scale", &gate, "--replicas=0"])
                );
                if read_only {
                    (set, clear)
                } else {
                    (clear, set)
                }
            }
            Target::Compose => {
                let script = q(&format!("compose/{site}/scripts/lb.sh"));
                (
                    sh(&[&script, verb, &q(&hostname)]),
                    sh(&[&script, undo, &q(&hostname)]),
                )
            }
            Target::Puppet => {
                let lb = q(&ctx.lb_host());
                (
                    sh(&[
                        "ssh",
                        &lb,
                        "sudo /usr/local/bin/apim-lb",
                        verb,
                        &q(&hostname),
                    ]),
                    sh(&[
                        "ssh",
                        &lb,
                        "sudo /usr/local/bin/apim-lb",
                        undo,
                        &q(&hostname),
                    ]),
                )
            }
        };
        out.commands.push(command);
        out.rollback.push(rollback);
    }
    out
}

fn public_hosts(ctx: &StepContext) -> Vec<String> {
    let deployment = ctx.input.deployment;
    let primary = deployment
        .sites
        .iter()
        .find(|s| s.role == crate::model::Role::Primary);
    let mut hosts: Vec<String> = primary
        .map(|s| {
            s.load_balancers
                .iter()
                .map(|lb| lb.hostname.clone())
                .collect()
        })
        .unwrap_or_default();
    if hosts.is_empty() {
        hosts = primary
            .map(|s| {
                s.clusters
                    .iter()
                    .map(|c| format!("{}.{}", c.label, s.domain))
                    .collect()
            })
            .unwrap_or_default();
    }
    hosts
}

fn dns(ctx: &StepContext, draft: &Draft) -> Commands {
    let percent = draft
        .title
        .split_whitespace()
        .find_map(|w| w.strip_suffix('%'))
        .map(str::to_string);
    let failover = ctx.kind().is_none();
    let mut out = Commands::default();
    let targets: Vec<String> = if failover {
        ctx.site
            .map(|s| s.load_balancers.iter().map(|lb| q(&lb.hostname)).collect())
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    for (i, host) in public_hosts(ctx).iter().enumerate() {
        // A site with copies of the primary's load balancers uses the same
        // host names: the switch points them at the site's own address.
        let target = targets
            .get(i)
            .filter(|target| **target != q(host))
            .cloned()
            .unwrap_or_else(|| "\"${NEW_ENDPOINT:?host name to switch to}\"".to_string());
        let mut command = format!(
            "\"${{TRAFFIC_SWITCH:?command that points a host name at a target}}\" {} {target}",
            q(host)
        );
        if let Some(p) = &percent {
            command.push(' ');
            command.push_str(&q(p));
        }
        out.commands.push(command);
        out.verify.push(format!("getent hosts {}", q(host)));
        out.rollback.push(format!(
            "\"${{TRAFFIC_SWITCH:?}}\" {} \"${{OLD_ENDPOINT:?host name to switch back to}}\"",
            q(host)
        ));
    }
    out
}

fn new_deployment(ctx: &StepContext, draft: &Draft) -> Commands {
    let site = ctx.site.map(|s| s.name.clone()).unwrap_or_default();
    let label = draft
        .title
        .strip_prefix("Start ")
        .and_then(|t| t.split_whitespace().next())
        .unwrap_or("")
        .to_string();
    let rank = ctx
        .site
        .and_then(|s| s.cluster(&label))
        .map(|c| c.start_rank)
        .unwrap_or(2);
    let next = "\"${NEXT_BUILD:?folder of topoc build for the new deployment}\"";
    // The new deployment runs beside the current one: it must not take
    // over the current namespace or Compose project.
    let apart = |file: &str, key: &str| {
        format!(
            "test \"$(grep -m1 {key} {current})\" != \"$(grep -m1 {key} {next}/{current})\" || {{ echo {} >&2; false; }}",
            q(
                "the new deployment must not reuse the current namespace or project: give the new topology another name"
            ),
            key = q(key),
            current = q(file),
        )
    };
    let mut commands = Vec::new();
    let command = match ctx.input.target {
        Target::Kubernetes => {
            commands.push(apart(
                &format!("kubernetes/{site}/00-namespace.yaml"),
                "^  name:",
            ));
            // Its namespace, storage, artifact sync and Ingresses (the
            // Secret is the operator's, as for any build).
            commands.push(format!(
                "for f in {next}/{}/[013]*.yaml; do if [ -e \"$f\" ]; then kubectl apply -f \"$f\"; fi; done",
                q(&format!("kubernetes/{site}"))
            ));
            format!(
                "kubectl apply -f {next}/{}",
                q(&format!("kubernetes/{site}/2{rank}-{label}.yaml"))
            )
        }
        Target::Compose => {
            commands.push(apart(&format!("compose/{site}/compose.yaml"), "^name:"));
            let services: Vec<String> = ctx
                .site
                .and_then(|s| s.cluster(&label))
                .map(|c| c.nodes.iter().map(|n| q(&n.name)).collect())
                .unwrap_or_default();
            format!(
                "docker compose -f {next}/{} up -d --wait {}",
                q(&format!("compose/{site}/compose.yaml")),
                services.join(" ")
            )
        }
        Target::Puppet => {
            "echo 'run puppet agent --test on the hosts of the new deployment (NEXT_BUILD/puppet)'"
                .to_string()
        }
    };
    commands.push(command);
    Commands {
        commands,
        ..Commands::default()
    }
}

fn general_test(ctx: &StepContext, draft: &Draft) -> Commands {
    if draft.title.starts_with("Rehearse") {
        return Commands {
            commands: vec![
                "echo 'rehearse every step below on a restored backup before the real window'"
                    .to_string(),
            ],
            ..Commands::default()
        };
    }
    let verify: Vec<String> = public_hosts(ctx)
        .iter()
        .map(|h| {
            format!(
                "curl -fsS -o /dev/null --resolve {}:443:\"$(getent hosts \"${{NEW_ENDPOINT:?}}\" | cut -d' ' -f1)\" https://{}/services/Version",
                q(h),
                q(h)
            )
        })
        .collect();
    Commands {
        commands: verify.clone(),
        verify,
        rollback: Vec::new(),
        manual: false,
    }
}
