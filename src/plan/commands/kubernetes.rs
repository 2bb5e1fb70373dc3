//! Kubernetes: `kubectl` in each datacenter's namespace. A node of a pair
//! is a Deployment of its own (Recreate); a scaled cluster is one
//! Deployment whose rolling update changes its pods one at a time. A node
//! is drained by narrowing the cluster's Service to the pods that keep
//! serving (a label the runbook sets on them); an active-passive pair
//! moves its traffic by naming its serving node in a ConfigMap, which the
//! nodes' readiness follows.

use super::{
    Commands, Ctx, Unresolved, next_build, output_is, probes, q, repository, sh, unsupported, until,
};
use crate::deployment::layout::{self, PRODUCT_SERVICE, labels, manifests};
use crate::deployment::{ClusterPlan, NodeRole, Shape, Site};
use crate::model::HaMode;
use crate::plan::{Action, Effect};

/// `kubectl -n NS ARGS...` (`ns` is a shell word).
fn kubectl(ns: &str, args: &[&str]) -> String {
    format!("kubectl -n {ns} {}", args.join(" "))
}

/// The jsonpath of the product container's image in a Deployment.
fn image_path() -> String {
    format!("{{.spec.template.spec.containers[?(@.name==\"{PRODUCT_SERVICE}\")].image}}")
}

/// The Deployment, Service and pods one node step acts on.
struct Workload<'a> {
    ctx: &'a Ctx<'a>,
    site: &'a Site,
    cluster: &'a ClusterPlan,
    /// The step's node.
    node: &'a str,
    /// The namespace, a shell word.
    ns: String,
    /// The Deployment the node lives in: its own (a node of a pair, and
    /// the pair's temporary node) or the cluster's (replicas).
    deployment: String,
    scaled: bool,
    /// The cluster's preview Deployment, whose pods no Service selects.
    preview: bool,
}

impl<'a> Workload<'a> {
    fn new(ctx: &'a Ctx<'a>) -> Result<Self, Unresolved> {
        let (site, cluster, node) = (ctx.site()?, ctx.cluster()?, ctx.node()?);
        let scaled = cluster.shape == Shape::Scaled;
        Ok(Workload {
            ctx,
            site,
            cluster,
            node: &node.name,
            ns: q(&site.namespace),
            deployment: if scaled {
                cluster.label.clone()
            } else {
                node.name.clone()
            },
            scaled,
            preview: false,
        })
    }

    /// The preview Deployment of the step's scaled cluster: one pod.
    fn preview(ctx: &'a Ctx<'a>) -> Result<Self, Unresolved> {
        let (site, cluster) = (ctx.site()?, ctx.cluster()?);
        let first = cluster
            .nodes
            .first()
            .ok_or_else(|| Unresolved(format!("cluster `{}` has no node", cluster.name)))?;
        Ok(Workload {
            ctx,
            site,
            cluster,
            node: &first.name,
            ns: q(&site.namespace),
            deployment: cluster.preview_name(),
            scaled: false,
            preview: true,
        })
    }

    fn kubectl(&self, args: &[&str]) -> String {
        kubectl(&self.ns, args)
    }

    /// `deployment/NAME`, a shell word.
    fn dep(&self) -> String {
        q(&format!("deployment/{}", self.deployment))
    }

    /// The replicas of the Deployment the runbook keeps.
    fn replicas(&self) -> usize {
        if self.scaled {
            self.cluster.nodes.len()
        } else {
            1
        }
    }

    fn scale(&self, replicas: usize) -> String {
        self.kubectl(&["scale", &self.dep(), &format!("--replicas={replicas}")])
    }

    /// A field of the Deployment, as a command's output.
    fn field(&self, path: &str) -> String {
        self.kubectl(&["get", &self.dep(), "-o", &q(&format!("jsonpath={path}"))])
    }

    /// The Deployment's field reaches `value` within 15 minutes.
    fn field_becomes(&self, path: &str, value: &str, failure: &str) -> String {
        until(&output_is(&self.field(path), value), 90, 10, failure)
    }

    /// The pods of the step: its node's, or the cluster's when the
    /// cluster is one Deployment with replicas.
    fn selector(&self) -> String {
        if self.preview {
            return self.cluster.preview_selector();
        }
        self.cluster.pod_selector(self.node)
    }

    /// The Deployment runs `expected` (a shell word) in its pods' template.
    fn image_is(&self, expected: &str) -> String {
        output_is(&self.field(&image_path()), expected)
    }

    /// The image of the cluster with another tag (a shell word or a
    /// variable): the one its pods run, built with the JDBC drivers.
    fn image_with(&self, tag: &str) -> String {
        format!(
            "{}{tag}",
            q(&format!("{}:", repository(&self.cluster.k8s_image)))
        )
    }

    /// The node's Deployment rolled out its one pod, which answers its
    /// health checks (not necessarily ready: the standby of an
    /// active-passive pair is ready only when it serves).
    fn healthy(&self, name: &str) -> Vec<String> {
        let dep = q(&format!("deployment/{name}"));
        let field =
            |path: &str| self.kubectl(&["get", &dep, "-o", &q(&format!("jsonpath={path}"))]);
        let checks: Vec<String> = probes(self.cluster, self.ctx.major())
            .iter()
            .map(|p| self.kubectl(&["exec", &dep, "-c", PRODUCT_SERVICE, "--", p]))
            .collect();
        vec![
            until(
                &format!(
                    "{} && {}",
                    output_is(&field("{.status.updatedReplicas}"), "1"),
                    output_is(&field("{.status.replicas}"), "1")
                ),
                90,
                10,
                &format!("{name} did not roll out its new pod in 15 minutes"),
            ),
            until(
                &checks.join(" && "),
                90,
                10,
                &format!("{name} did not become healthy in 15 minutes"),
            ),
        ]
    }

    /// Every pod of the step answers its health checks.
    fn every_pod_healthy(&self) -> String {
        let checks: Vec<String> = probes(self.cluster, self.ctx.major())
            .iter()
            .map(|p| {
                format!(
                    "kubectl -n {} exec \"${{pod#pod/}}\" -c {PRODUCT_SERVICE} -- {p}",
                    self.ns
                )
            })
            .collect();
        format!(
            "( pods=$({}) && test -n \"$pods\" && for pod in $pods; do {} || exit 1; done )",
            self.kubectl(&["get pod -l", &q(&self.selector()), "-o name"]),
            checks.join(" && ")
        )
    }

    /// The ready addresses behind the cluster's Service include (or
    /// exclude) a node's pod, within 5 minutes. grep reads every address
    /// (no `-q`): under `pipefail`, a `grep -q` that stops at the first
    /// match can leave kubectl writing to a closed pipe, and the pipeline
    /// fails although the address is there.
    fn serves(&self, name: &str, serving: bool) -> String {
        let ns = &self.ns;
        let found = format!(
            "test -n \"$(kubectl -n {ns} get endpointslices -l {} -o jsonpath='{{range .items[*].endpoints[?(@.conditions.ready==true)]}}{{.addresses[0]}}{{\"\\n\"}}{{end}}' | grep -xF \"$ip\")\"",
            q(&format!(
                "kubernetes.io/service-name={}",
                self.cluster.label
            ))
        );
        let ip = self.kubectl(&[
            "get pod -l",
            &q(&format!("{}={name}", labels::NODE)),
            "-o",
            &q("jsonpath={.items[0].status.podIP}"),
        ]);
        format!(
            "( ip=$({ip}) && test -n \"$ip\" && {} )",
            until(
                &format!("{}{found}", if serving { "" } else { "! " }),
                60,
                5,
                &if serving {
                    format!("{name} does not take traffic")
                } else {
                    format!("{name} still takes traffic")
                },
            )
        )
    }

    /// Which node of an active-passive pair serves: its ConfigMap.
    fn designate(&self, name: &str) -> String {
        self.kubectl(&[
            "patch configmap",
            &q(&self.cluster.serving_config()),
            "-p",
            &q(&format!("{{\"data\":{{\"node\":\"{name}\"}}}}")),
        ])
    }

    /// The cluster's Service routes only to the pods that run now but the
    /// node's: they are labelled, and the Service selects the label.
    fn route_around(&self, name: &str) -> Vec<String> {
        vec![
            self.kubectl(&[
                "label pod -l",
                &q(&format!(
                    "{}={},{}!={name}",
                    labels::CLUSTER,
                    self.cluster.label,
                    labels::NODE
                )),
                &q(&format!("{}=on", labels::ROUTE)),
                "--overwrite",
            ]),
            self.kubectl(&[
                "patch service",
                &q(&self.cluster.label),
                "-p",
                &q(&format!(
                    "{{\"spec\":{{\"selector\":{{\"{}\":\"on\"}}}}}}",
                    labels::ROUTE
                )),
            ]),
        ]
    }

    /// The cluster's Service routes to every pod of the cluster again.
    fn route_all(&self) -> Vec<String> {
        vec![
            self.kubectl(&[
                "patch service",
                &q(&self.cluster.label),
                "--type=json -p",
                &q(&format!(
                    "[{{\"op\":\"remove\",\"path\":\"/spec/selector/{}\"}}]",
                    labels::ROUTE.replace('/', "~1")
                )),
            ]),
            self.kubectl(&[
                "label pod -l",
                &q(&format!("{}={}", labels::CLUSTER, self.cluster.label)),
                &format!("{}-", q(labels::ROUTE)),
            ]),
        ]
    }

    /// The rolling update of a Deployment without surge may not add a pod:
    /// it stops the old one first; with `(1, 0)` the built strategy is back.
    fn strategy(&self, max_surge: u8, max_unavailable: u8) -> String {
        self.kubectl(&[
            "patch",
            &self.dep(),
            "-p",
            &q(&format!(
                "{{\"spec\":{{\"strategy\":{{\"rollingUpdate\":{{\"maxSurge\":{max_surge},\"maxUnavailable\":{max_unavailable}}}}}}}}}"
            )),
        ])
    }

    fn rollout_status(&self) -> String {
        self.kubectl(&["rollout status", &self.dep(), "--timeout=15m"])
    }

    fn rollout_undo(&self) -> String {
        self.kubectl(&["rollout undo", &self.dep()])
    }

    /// The new version's manifest of the step's cluster, applied to the
    /// step's pods.
    fn apply_next(&self) -> String {
        sh(&[
            "kubectl apply -f",
            &next_build(&self.site.kubernetes_manifest(self.cluster)),
            "-l",
            &q(&self.selector()),
        ])
    }

    /// The live objects of the step's pods are those of the new version's
    /// manifest (`kubectl diff` exits 1 on a difference).
    fn matches_next(&self) -> String {
        sh(&[
            "kubectl diff -f",
            &next_build(&self.site.kubernetes_manifest(self.cluster)),
            "-l",
            &q(&self.selector()),
            ">/dev/null",
        ])
    }

    /// At least `count` of the Deployment's pods run the image of its
    /// template and are ready, within 15 minutes.
    fn replaced(&self, count: usize) -> String {
        let pods = self.kubectl(&[
            "get pod -l",
            &q(&self.selector()),
            "-o",
            &q(&format!(
                "jsonpath={{range .items[*]}}{{.spec.containers[?(@.name==\"{PRODUCT_SERVICE}\")].image}} {{.status.conditions[?(@.type==\"Ready\")].status}}{{\"\\n\"}}{{end}}"
            )),
        ]);
        format!(
            "( image=$({}) && test -n \"$image\" && {} )",
            self.field(&image_path()),
            until(
                &format!("[ \"$({pods} | grep -cxF \"$image True\")\" -ge {count} ]"),
                90,
                10,
                &format!(
                    "fewer than {count} pods of {} run the new image and are ready",
                    self.deployment
                ),
            )
        )
    }

    /// A fixed service is in the API folder of every pod of the step.
    fn artifact_in_pods(&self) -> String {
        let folder = format!("{}/api", self.cluster.api_folder(layout::IMAGE_BASE));
        format!(
            "( pods=$({}) && test -n \"$pods\" && for pod in $pods; do kubectl -n {} exec \"${{pod#pod/}}\" -c {PRODUCT_SERVICE} -- test -s {} || exit 1; done )",
            self.kubectl(&["get pod -l", &q(&self.selector()), "-o name"]),
            self.ns,
            self.ctx.artifact().in_folder(&folder)
        )
    }
}

/// The commands of a step on one node (or, for a scaled cluster, on its
/// rollout).
pub(super) fn node(ctx: &Ctx, action: Action) -> Result<Commands, Unresolved> {
    let w = Workload::new(ctx)?;
    let ap = w.cluster.ha == HaMode::ActivePassive;
    let switch = matches!(ctx.draft.effect, Effect::Switch { .. });
    Ok(match action {
        // The temporary node of a pair is a Deployment of its own.
        Action::AddNode if !w.scaled => {
            Commands::run(vec![w.scale(1)], w.healthy(&w.deployment), vec![w.scale(0)])
        }
        Action::RemoveNode if !w.scaled => Commands::run(
            vec![w.scale(0)],
            vec![until(
                &format!(
                    "test -z \"$({})\"",
                    w.kubectl(&["get pod -l", &q(&w.selector()), "-o name"])
                ),
                30,
                10,
                &format!("{} still has a pod", w.deployment),
            )],
            vec![w.scale(1)],
        ),
        Action::AddNode => Commands::run(
            vec![w.scale(w.replicas() + 1)],
            vec![w.field_becomes(
                "{.status.readyReplicas}",
                &(w.replicas() + 1).to_string(),
                &format!("{} did not get its extra pod ready", w.deployment),
            )],
            vec![w.scale(w.replicas())],
        ),
        Action::RemoveNode => Commands::run(
            vec![w.scale(w.replicas())],
            vec![w.field_becomes(
                "{.status.replicas}",
                &w.replicas().to_string(),
                &format!("{} still runs its extra pod", w.deployment),
            )],
            vec![w.scale(w.replicas() + 1)],
        ),
        // An active-passive pair moves its traffic by naming the serving
        // node: the other's readiness follows.
        Action::Undrain if switch => {
            let from = ctx.peer().unwrap_or(w.node);
            Commands::run(
                vec![w.designate(w.node)],
                vec![w.serves(w.node, true), w.serves(from, false)],
                vec![w.designate(from)],
            )
        }
        Action::Drain if !ap => Commands::run(
            w.route_around(w.node),
            vec![w.serves(w.node, false)],
            w.route_all(),
        ),
        Action::Undrain if !ap => Commands::run(
            w.route_all(),
            vec![w.serves(w.node, true)],
            w.route_around(w.node),
        ),
        // A new service is copied into the pods (of the manager, where the
        // folder is shared), never rolled out.
        Action::Deploy if ctx.kind() == Some(crate::model::UpgradeKind::AddService) => {
            copy_artifact(
                &w,
                crate::plan::generate::shared_deployment_folder(ctx.input, w.site, w.cluster),
            )
        }
        Action::Patch | Action::Upgrade | Action::Reconfigure | Action::Deploy if w.scaled => {
            rollout_step(&w, action)
        }
        // A shared deployment folder (APIM 3.x): one copy reaches every
        // node.
        Action::Deploy
            if crate::plan::generate::shared_deployment_folder(ctx.input, w.site, w.cluster) =>
        {
            copy_artifact(&w, true)
        }
        Action::Deploy => copy_artifact(&w, false),
        Action::Patch => {
            let expected = w.image_with(&ctx.new_tag(action));
            // Every container of the pod runs the node's image.
            let all = format!(
                "{}{}",
                q(&format!("*={}:", repository(&w.cluster.k8s_image))),
                ctx.new_tag(action)
            );
            Commands::run(
                vec![w.kubectl(&["set image", &w.dep(), &all])],
                std::iter::once(w.image_is(&expected))
                    .chain(w.healthy(&w.deployment))
                    .collect(),
                vec![w.rollout_undo()],
            )
        }
        // A node moves to the new build's manifest: a new version, or a
        // commit's configuration.
        Action::Upgrade | Action::Reconfigure => Commands::run(
            vec![w.apply_next()],
            std::iter::once(w.matches_next())
                .chain(w.healthy(&w.deployment))
                .collect(),
            vec![w.rollout_undo()],
        ),
        // A node of an active-passive pair is tested whether it serves or
        // stands by: healthy, not necessarily ready.
        Action::Test => {
            let verify = if w.scaled {
                vec![w.every_pod_healthy()]
            } else if ap {
                w.healthy(&w.deployment)
            } else {
                vec![until(
                    &output_is(
                        &w.kubectl(&[
                            "get pod -l",
                            &q(&w.selector()),
                            "-o",
                            &q("jsonpath={.items[0].status.conditions[?(@.type==\"Ready\")].status}"),
                        ]),
                        "True",
                    ),
                    90,
                    10,
                    &format!("{} is not ready", w.node),
                )]
            };
            Commands::run(
                probes(w.cluster, ctx.major())
                    .iter()
                    .map(|p| w.kubectl(&["exec", &w.dep(), "-c", PRODUCT_SERVICE, "--", p]))
                    .collect(),
                verify,
                Vec::new(),
            )
        }
        // A failover: the standby site's node starts (a standby of a pair
        // stands by, healthy but not ready).
        Action::StartNode => {
            let passive = ctx.node.is_some_and(|n| n.role == NodeRole::Passive);
            let verify = if passive {
                w.healthy(&w.deployment)
            } else {
                vec![w.field_becomes(
                    "{.status.readyReplicas}",
                    &w.replicas().to_string(),
                    &format!("{} did not become ready", w.deployment),
                )]
            };
            Commands::run(vec![w.scale(w.replicas())], verify, vec![w.scale(0)])
        }
        _ => return Err(unsupported(ctx, action)),
    })
}

/// The preview of a scaled cluster (`Detail::Preview`): one pod of the
/// change, outside the cluster's Service, started, tested and stopped
/// before the rollout. A new build's preview objects (its ConfigMap and
/// Deployment, `topoc/preview`) are applied alone; the template the pod
/// runs is then the build's (its configuration checksum and images).
pub(super) fn preview(ctx: &Ctx, change: Action) -> Result<Commands, Unresolved> {
    let w = Workload::preview(ctx)?;
    let gone = until(
        &format!(
            "test -z \"$({})\"",
            w.kubectl(&["get pod -l", &q(&w.selector()), "-o name"])
        ),
        30,
        10,
        &format!("{} still has a pod", w.deployment),
    );
    Ok(match ctx.draft.action {
        Action::Preview => {
            let (put, matches) = match change {
                Action::Upgrade | Action::Reconfigure => {
                    let template = q(
                        "jsonpath={.spec.template.metadata.annotations.checksum/config}{.spec.template.spec.containers[*].image}",
                    );
                    let next = next_build(&w.site.kubernetes_manifest(w.cluster));
                    (
                        w.apply_next(),
                        format!(
                            "test \"$({})\" = \"$({})\"",
                            w.kubectl(&["get", &w.dep(), "-o", &template]),
                            sh(&[
                                "kubectl create --dry-run=client -f",
                                &next,
                                "-l",
                                &q(&w.selector()),
                                "-o",
                                &template,
                            ])
                        ),
                    )
                }
                _ => {
                    let tag = ctx.new_tag(change);
                    let all = format!(
                        "{}{tag}",
                        q(&format!("*={}:", repository(&w.cluster.k8s_image)))
                    );
                    (
                        w.kubectl(&["set image", &w.dep(), &all]),
                        w.image_is(&w.image_with(&tag)),
                    )
                }
            };
            Commands::run(
                vec![put, w.scale(1)],
                std::iter::once(matches)
                    .chain(w.healthy(&w.deployment))
                    .collect(),
                vec![w.scale(0)],
            )
        }
        Action::Test => Commands::run(
            probes(w.cluster, ctx.major())
                .iter()
                .map(|p| w.kubectl(&["exec", &w.dep(), "-c", PRODUCT_SERVICE, "--", p]))
                .collect(),
            w.healthy(&w.deployment),
            Vec::new(),
        ),
        Action::RemoveNode => Commands::run(vec![w.scale(0)], vec![gone], vec![w.scale(1)]),
        action => return Err(unsupported(ctx, action)),
    })
}

/// A scaled cluster is one rollout: the step of its first pod starts it
/// (without surge, after letting the rollout stop a pod first); the
/// step of each next pod waits for it to be replaced; the last one waits
/// for the rollout to finish and puts the built strategy back.
fn rollout_step(w: &Workload, action: Action) -> Commands {
    let position = w
        .cluster
        .nodes
        .iter()
        .position(|n| n.name == w.node)
        .unwrap_or(0);
    let last = position + 1 == w.cluster.nodes.len();
    let surge = w.ctx.input.upgrade.is_none_or(|u| u.surge);
    let mut commands = Vec::new();
    if position == 0 {
        if !surge {
            commands.push(w.strategy(0, 1));
        }
        commands.push(match action {
            Action::Upgrade | Action::Reconfigure => w.apply_next(),
            _ => w.kubectl(&[
                "set image",
                &w.dep(),
                &format!(
                    "{}{}",
                    q(&format!("*={}:", repository(&w.cluster.k8s_image))),
                    w.ctx.new_tag(action)
                ),
            ]),
        });
    } else {
        commands.push(w.replaced(position + 1));
    }
    let mut verify = vec![match action {
        Action::Upgrade | Action::Reconfigure => w.matches_next(),
        _ => w.image_is(&w.image_with(&w.ctx.new_tag(action))),
    }];
    verify.push(w.replaced(position + 1));
    if last {
        commands.push(w.rollout_status());
        if !surge {
            commands.push(w.strategy(1, 0));
            verify.push(output_is(
                &w.field("{.spec.strategy.rollingUpdate.maxUnavailable}"),
                "0",
            ));
        }
        verify.push(w.every_pod_healthy());
    }
    Commands::run(commands, verify, vec![w.rollout_undo()])
}

/// The fixed service copied into the API folder: of the first pod when the
/// cluster shares it, of every pod of the step otherwise.
fn copy_artifact(w: &Workload, shared: bool) -> Commands {
    let folder = format!("{}/api/", w.cluster.api_folder(layout::IMAGE_BASE));
    let pods = w.kubectl(&["get pod -l", &q(&w.selector()), "-o name"]);
    let pods = if shared {
        format!("{pods} | head -n 1")
    } else {
        pods
    };
    let copy = format!(
        "for pod in $({pods}); do kubectl -n {} cp -c {PRODUCT_SERVICE} {} \"${{pod#pod/}}\":{} || exit 1; done",
        w.ns,
        w.ctx.artifact().given(),
        q(&folder)
    );
    let remove = format!(
        "for pod in $({pods}); do kubectl -n {} exec \"${{pod#pod/}}\" -c {PRODUCT_SERVICE} -- rm -f {}; done",
        w.ns,
        w.ctx.artifact().in_folder(folder.trim_end_matches('/'))
    );
    Commands::run(
        vec![format!("( {copy} )")],
        vec![w.artifact_in_pods(), w.every_pod_healthy()],
        vec![remove],
    )
}

/// A change to a node of a cold or warm standby site: nothing runs there
/// and nothing may start (its databases are read-only replicas). The new
/// image or manifest is put in place for the failover, the node stays
/// down.
pub(super) fn offline(ctx: &Ctx, action: Action) -> Result<Commands, Unresolved> {
    let w = Workload::new(ctx)?;
    let stopped = output_is(&w.field("{.spec.replicas}"), "0");
    Ok(match action {
        Action::Upgrade | Action::Reconfigure => Commands::run(
            vec![w.apply_next()],
            vec![w.matches_next(), stopped],
            vec![w.rollout_undo()],
        ),
        Action::Patch | Action::Deploy if action == Action::Patch || w.scaled => {
            let all = format!(
                "{}{}",
                q(&format!(
                    "{PRODUCT_SERVICE}={}:",
                    repository(&w.cluster.k8s_image)
                )),
                ctx.new_tag(action)
            );
            Commands::run(
                vec![w.kubectl(&["set image", &w.dep(), &all])],
                vec![w.image_is(&w.image_with(&ctx.new_tag(action))), stopped],
                vec![w.rollout_undo()],
            )
        }
        _ => return Err(unsupported(ctx, action)),
    })
}

/// The Ingresses of a site have an address from the ingress controller
/// (none before they are applied), within 5 minutes.
fn ingresses_addressed(site: &Site) -> String {
    until(
        &format!(
            "test -n \"$({})\"",
            kubectl(
                &q(&site.namespace),
                &[
                    "get ingress -o",
                    &q("jsonpath={.items[*].status.loadBalancer.ingress[*]}")
                ]
            )
        ),
        30,
        10,
        &format!("the Ingresses of {} have no address", site.name),
    )
}

/// A standby site's Ingresses, applied on failover: its ingress
/// controller gives them an address.
pub(super) fn start_load_balancers(ctx: &Ctx) -> Result<Commands, Unresolved> {
    let site = ctx.site()?;
    let file = q(&site.kubernetes_file(manifests::INGRESS));
    Ok(Commands::run(
        vec![sh(&["kubectl apply -f", &file])],
        vec![ingresses_addressed(site)],
        vec![sh(&["kubectl delete -f", &file])],
    ))
}

/// The portal route of a load balancer made read-only, or read-write
/// again: it asks the read-only gate of each request (`auth-url`, which a
/// default ingress-nginx allows); the gate runs only while it is needed.
/// Returns the command and its undo.
pub(super) fn portal_mode(site: &Site, route: &str, read_only: bool) -> (String, String) {
    let ns = q(&site.namespace);
    let gate = q(&format!("deployment/{}", layout::READ_ONLY_GATE));
    let set = format!(
        "{} && {} && {}",
        kubectl(&ns, &["scale", &gate, "--replicas=2"]),
        kubectl(&ns, &["rollout status", &gate, "--timeout=5m"]),
        kubectl(
            &ns,
            &[
                "annotate ingress",
                &q(route),
                &q(&format!(
                    "nginx.ingress.kubernetes.io/auth-url={}",
                    site.read_only_gate_url()
                )),
                "--overwrite",
            ]
        )
    );
    let clear = format!(
        "{} && {}",
        kubectl(
            &ns,
            &[
                "annotate ingress",
                &q(route),
                "nginx.ingress.kubernetes.io/auth-url-"
            ]
        ),
        kubectl(&ns, &["scale", &gate, "--replicas=0"])
    );
    if read_only {
        (set, clear)
    } else {
        (clear, set)
    }
}

/// After a migration, the new deployment's portals open: its Ingress
/// loses the read-only gate it was built with.
pub(super) fn open_next_portals(site: &Site) -> String {
    sh(&[
        "kubectl annotate -f",
        &next_build(&site.kubernetes_file(manifests::INGRESS)),
        "nginx.ingress.kubernetes.io/auth-url-",
    ])
}

/// A cluster of the new deployment starts beside the current one (a
/// migration): its namespace, storage, artifact sync and Ingresses, then
/// its own manifest.
pub(super) fn new_deployment(ctx: &Ctx, cluster: &ClusterPlan) -> Result<Commands, Unresolved> {
    let site = ctx.site()?;
    let namespace = site.kubernetes_file(manifests::NAMESPACE);
    let manifest = next_build(&site.kubernetes_manifest(cluster));
    let mut verify = vec![sh(&["kubectl diff -f", &manifest, ">/dev/null"])];
    if cluster.shape == Shape::Scaled {
        verify.push(sh(&[
            "kubectl rollout status -f",
            &manifest,
            "--timeout=15m",
        ]));
    }
    Ok(Commands::run(
        vec![
            super::site::apart(&namespace, "^  name:"),
            format!(
                "for f in {}/[013]*.yaml; do if [ -e \"$f\" ]; then kubectl apply -f \"$f\" || exit 1; fi; done",
                next_build(&site.kubernetes_dir())
            ),
            sh(&["kubectl apply -f", &manifest]),
        ],
        verify,
        vec![sh(&["kubectl delete -f", &manifest])],
    ))
}

/// The first deployment's files: built images pushed, each datacenter's
/// namespace, Secrets, storage and artifact sync.
pub(super) fn prepare(ctx: &Ctx) -> Result<Commands, Unresolved> {
    let d = ctx.input.deployment;
    let files = d.operator_files_from_output();
    let mut out = Commands::run(
        vec![super::operator_files_check(ctx)],
        Vec::new(),
        Vec::new(),
    );
    for image in &d.built_images {
        out.commands.push(format!(
            "docker build --build-arg WSO2AM_IMAGE={} -t {} -f {} {} && docker push {}",
            q(&image.from),
            q(&image.tag),
            q(&image.dockerfile),
            q(&format!("{files}/lib")),
            q(&image.tag)
        ));
        out.verify.push(format!(
            "docker manifest inspect {} >/dev/null",
            q(&image.tag)
        ));
    }
    for site in &d.sites {
        let ns = q(&site.namespace);
        out.commands.push(sh(&[
            "kubectl apply -f",
            &q(&site.kubernetes_file(manifests::NAMESPACE)),
        ]));
        let secrets: Vec<String> = site
            .secrets
            .iter()
            .map(|s| {
                format!(
                    "--from-file={}",
                    q(&format!("{}={files}/secrets/{}", s.name, s.name))
                )
            })
            .collect();
        let secret = d.secret_name();
        out.commands.push(format!(
            "kubectl -n {ns} create secret generic {} {} --dry-run=client -o yaml | kubectl apply -f -",
            q(&secret),
            secrets.join(" ")
        ));
        out.verify.push(kubectl(&ns, &["get secret", &q(&secret)]));
        let stores = d.keystores.supplied();
        if !stores.is_empty() {
            let keystores = d.keystore_secret_name();
            let from: Vec<String> = stores
                .iter()
                .map(|s| {
                    format!(
                        "--from-file={}",
                        q(&format!("{}={files}/security/{}", s.file, s.file))
                    )
                })
                .collect();
            out.commands.push(format!(
                "kubectl -n {ns} create secret generic {} {} --dry-run=client -o yaml | kubectl apply -f -",
                q(&keystores),
                from.join(" ")
            ));
            out.verify
                .push(kubectl(&ns, &["get secret", &q(&keystores)]));
        }
        if let Some(login) = &d.registry_login {
            out.commands.push(format!(
                "kubectl -n {ns} create secret docker-registry {} --docker-server={} --docker-username=\"${{REGISTRY_USER:?user of the image registry}}\" --docker-password=\"${{REGISTRY_PASSWORD:?password of the image registry}}\" --dry-run=client -o yaml | kubectl apply -f -",
                q(&login.name),
                q(d.registry.split('/').next().unwrap_or(&d.registry))
            ));
            out.verify
                .push(kubectl(&ns, &["get secret", &q(&login.name)]));
        }
        for file in [manifests::STORAGE, manifests::ARTIFACT_SYNC] {
            out.commands.push(format!(
                "if [ -f {0} ]; then kubectl apply -f {0}; fi",
                q(&site.kubernetes_file(file))
            ));
        }
    }
    Ok(out)
}

/// A cluster of the first deployment starts: its manifest is applied and
/// its nodes answer (a pair's nodes are healthy; only the serving one is
/// ready).
pub(super) fn start_cluster(ctx: &Ctx) -> Result<Commands, Unresolved> {
    let (site, cluster) = (ctx.site()?, ctx.cluster()?);
    let ns = q(&site.namespace);
    let manifest = q(&site.kubernetes_manifest(cluster));
    let verify = match cluster.shape {
        Shape::Scaled => vec![kubectl(
            &ns,
            &[
                "rollout status",
                &q(&format!("deployment/{}", cluster.label)),
                "--timeout=15m",
            ],
        )],
        Shape::Paired => cluster
            .nodes
            .iter()
            .map(|node| {
                let dep = q(&format!("deployment/{}", node.name));
                let checks: Vec<String> = probes(cluster, ctx.major())
                    .iter()
                    .map(|p| kubectl(&ns, &["exec", &dep, "-c", PRODUCT_SERVICE, "--", p]))
                    .collect();
                until(
                    &checks.join(" && "),
                    90,
                    10,
                    &format!("{} did not become healthy in 15 minutes", node.name),
                )
            })
            .collect(),
    };
    Ok(Commands::run(
        vec![sh(&["kubectl apply -f", &manifest])],
        verify,
        vec![sh(&["kubectl delete -f", &manifest])],
    ))
}

/// Traffic reaches a datacenter: its Ingresses and read-only gate.
/// The checks that a site's traffic is open: the load balancers' host
/// names answer, and, first, its Ingresses (when the build has them) have
/// an address. The host names answer even before: the ingress
/// controller's default backend says 404. The Ingresses' address says
/// they were applied.
fn open_traffic_checks(site: &Site) -> Commands {
    let mut out = super::site::open_traffic_checks(site);
    if !site.load_balancers.is_empty() {
        out.verify.insert(
            0,
            format!(
                "{{ [ ! -f {} ] || {}; }}",
                q(&site.kubernetes_file(manifests::INGRESS)),
                ingresses_addressed(site)
            ),
        );
    }
    out
}

pub(super) fn open_traffic(ctx: &Ctx) -> Result<Commands, Unresolved> {
    let site = ctx.site()?;
    let mut out = open_traffic_checks(site);
    for file in [manifests::INGRESS, manifests::READ_ONLY_GATE] {
        out.commands.push(format!(
            "if [ -f {0} ]; then kubectl apply -f {0}; fi",
            q(&site.kubernetes_file(file))
        ));
    }
    Ok(out)
}

/// The nodes of the step's cluster a commit adds, before the step's node
/// (by name), and the replica count before the commit.
fn joined_before(ctx: &Ctx, w: &Workload) -> (usize, usize) {
    let Some(change) = ctx.input.change else {
        return (0, w.cluster.nodes.len());
    };
    let site = &w.site.name;
    let old = w
        .cluster
        .nodes
        .iter()
        .filter(|n| !change.is_new(site, &n.name))
        .count();
    let earlier = w
        .cluster
        .nodes
        .iter()
        .take_while(|n| n.name != w.node)
        .filter(|n| change.is_new(site, &n.name))
        .count();
    (earlier, old)
}

/// The cluster's Service routes only to the pods that run now: they are
/// labelled, and the Service selects the label (new pods stay out until
/// the commit's routes).
fn route_existing(w: &Workload) -> Vec<String> {
    vec![
        w.kubectl(&[
            "label pod -l",
            &q(&format!("{}={}", labels::CLUSTER, w.cluster.label)),
            &q(&format!("{}=on", labels::ROUTE)),
            "--overwrite",
        ]),
        w.kubectl(&[
            "patch service",
            &q(&w.cluster.label),
            "-p",
            &q(&format!(
                "{{\"spec\":{{\"selector\":{{\"{}\":\"on\"}}}}}}",
                labels::ROUTE
            )),
        ]),
    ]
}

/// A node a commit adds starts: a pod more for a cluster of replicas (the
/// pods that ran before keep the traffic), the new build's manifest for a
/// new pair.
pub(super) fn join(ctx: &Ctx) -> Result<Commands, Unresolved> {
    let w = Workload::new(ctx)?;
    let (earlier, old) = joined_before(ctx, &w);
    if w.scaled {
        let replicas = old + earlier + 1;
        let mut commands = if earlier == 0 && old > 0 {
            route_existing(&w)
        } else {
            Vec::new()
        };
        commands.push(w.scale(replicas));
        return Ok(Commands::run(
            commands,
            vec![w.field_becomes(
                "{.status.readyReplicas}",
                &replicas.to_string(),
                &format!("{} did not get its new pod ready", w.deployment),
            )],
            vec![w.scale(replicas - 1)],
        ));
    }
    let manifest = next_build(&w.site.kubernetes_manifest(w.cluster));
    let first = earlier == 0;
    let mut commands = Vec::new();
    if first {
        commands.push(sh(&["kubectl apply -f", &manifest]));
    }
    Ok(Commands::run(
        commands,
        std::iter::once(sh(&["kubectl diff -f", &manifest, ">/dev/null"]))
            .chain(w.healthy(&w.deployment))
            .collect(),
        if first {
            vec![sh(&["kubectl delete -f", &manifest])]
        } else {
            Vec::new()
        },
    ))
}

/// A node a commit removes stops: a pod less for a cluster of replicas,
/// its Deployment for a node of a pair; the cluster's last node takes the
/// cluster's objects with it when the commit removes the cluster.
pub(super) fn leave(ctx: &Ctx) -> Result<Commands, Unresolved> {
    let w = Workload::new(ctx)?;
    let change = ctx
        .input
        .change
        .ok_or_else(|| unsupported(ctx, Action::RemoveNode))?;
    let site = &w.site.name;
    let kept = w
        .cluster
        .nodes
        .iter()
        .filter(|n| !change.is_removed(site, &n.name))
        .count();
    let removed_before = w
        .cluster
        .nodes
        .iter()
        .take_while(|n| n.name != w.node)
        .filter(|n| change.is_removed(site, &n.name))
        .count();
    let removed = w
        .cluster
        .nodes
        .iter()
        .filter(|n| change.is_removed(site, &n.name))
        .count();
    let last = removed_before + 1 == removed;
    let manifest = q(&w.site.kubernetes_manifest(w.cluster));
    if w.scaled {
        let replicas = w.cluster.nodes.len() - removed_before - 1;
        let mut commands = vec![w.scale(replicas)];
        let mut verify = vec![w.field_becomes(
            "{.status.replicas}",
            &replicas.to_string(),
            &format!("{} still runs the pod it gives up", w.deployment),
        )];
        if kept == 0 && last {
            commands.push(sh(&["kubectl delete -f", &manifest]));
            verify = vec![format!(
                "test -z \"$({})\"",
                w.kubectl(&["get", &w.dep(), "--ignore-not-found -o name"])
            )];
        }
        return Ok(Commands::run(commands, verify, vec![w.scale(replicas + 1)]));
    }
    let mut commands = vec![w.kubectl(&["delete", &w.dep()])];
    if kept == 0 && last {
        commands.push(sh(&["kubectl delete --ignore-not-found -f", &manifest]));
    }
    Ok(Commands::run(
        commands,
        vec![format!(
            "test -z \"$({})\"",
            w.kubectl(&["get", &w.dep(), "--ignore-not-found -o name"])
        )],
        vec![sh(&["kubectl apply -f", &manifest])],
    ))
}

/// A datacenter takes the commit's routes: the Services of clusters that
/// gained pods route to all of them again, and its Ingresses are the new
/// build's.
pub(super) fn route(ctx: &Ctx) -> Result<Commands, Unresolved> {
    let site = ctx.site()?;
    let change = ctx.input.change;
    let ns = q(&site.namespace);
    let mut out = Commands::default();
    for cluster in &site.clusters {
        let grew = cluster.shape == Shape::Scaled
            && change.is_some_and(|c| {
                cluster.nodes.iter().any(|n| c.is_new(&site.name, &n.name))
                    && cluster.nodes.iter().any(|n| !c.is_new(&site.name, &n.name))
            });
        if !grew {
            continue;
        }
        out.commands.extend([
            kubectl(
                &ns,
                &[
                    "patch service",
                    &q(&cluster.label),
                    "--type=json -p",
                    &q(&format!(
                        "[{{\"op\":\"remove\",\"path\":\"/spec/selector/{}\"}}]",
                        labels::ROUTE.replace('/', "~1")
                    )),
                ],
            ),
            kubectl(
                &ns,
                &[
                    "label pod -l",
                    &q(&format!("{}={}", labels::CLUSTER, cluster.label)),
                    &format!("{}-", q(labels::ROUTE)),
                ],
            ),
        ]);
        out.verify.push(format!(
            "! {} | grep -qF {}",
            kubectl(
                &ns,
                &[
                    "get service",
                    &q(&cluster.label),
                    "-o",
                    &q("jsonpath={.spec.selector}")
                ]
            ),
            q(labels::ROUTE)
        ));
    }
    let ingress = next_build(&site.kubernetes_file(manifests::INGRESS));
    out.commands.push(format!(
        "if [ -f {ingress} ]; then kubectl apply -f {ingress}; fi"
    ));
    out.verify.push(format!(
        "if [ -f {ingress} ]; then kubectl diff -f {ingress} >/dev/null; fi"
    ));
    Ok(out)
}

/// A datacenter new in a commit: its namespace, Secrets, storage and
/// artifact sync, from the commit's build.
pub(super) fn prepare_site(ctx: &Ctx) -> Result<Commands, Unresolved> {
    let site = ctx.site()?;
    let d = ctx.input.deployment;
    let files = d.operator_files_from_output();
    let ns = q(&site.namespace);
    let mut out = Commands::run(
        vec![super::operator_files_check(ctx)],
        Vec::new(),
        Vec::new(),
    );
    out.commands.push(sh(&[
        "kubectl apply -f",
        &next_build(&site.kubernetes_file(manifests::NAMESPACE)),
    ]));
    let secrets: Vec<String> = site
        .secrets
        .iter()
        .map(|s| {
            format!(
                "--from-file={}",
                q(&format!("{}={files}/secrets/{}", s.name, s.name))
            )
        })
        .collect();
    let secret = d.secret_name();
    out.commands.push(format!(
        "kubectl -n {ns} create secret generic {} {} --dry-run=client -o yaml | kubectl apply -f -",
        q(&secret),
        secrets.join(" ")
    ));
    out.verify.push(kubectl(&ns, &["get secret", &q(&secret)]));
    for file in [manifests::STORAGE, manifests::ARTIFACT_SYNC] {
        let path = next_build(&site.kubernetes_file(file));
        out.commands.push(format!(
            "if [ -f {path} ]; then kubectl apply -f {path}; fi"
        ));
    }
    Ok(out)
}

/// A datacenter new in a commit opens: its Ingresses and read-only gate.
pub(super) fn open_new_site(ctx: &Ctx) -> Result<Commands, Unresolved> {
    let site = ctx.site()?;
    let mut out = open_traffic_checks(site);
    for file in [manifests::INGRESS, manifests::READ_ONLY_GATE] {
        let path = next_build(&site.kubernetes_file(file));
        out.commands.push(format!(
            "if [ -f {path} ]; then kubectl apply -f {path}; fi"
        ));
    }
    Ok(out)
}

/// A new service reached the step's pods (every pod of a cluster of
/// replicas), within `bound` seconds.
pub(super) fn await_service(ctx: &Ctx, bound: u64) -> Result<Commands, Unresolved> {
    let w = Workload::new(ctx)?;
    let check = w.artifact_in_pods();
    Ok(Commands::run(
        vec![until(
            &format!("{{ {check}; }} 2>/dev/null"),
            super::tries_for(bound),
            10,
            &format!("the new service did not reach {}", w.deployment),
        )],
        vec![check],
        Vec::new(),
    ))
}

/// The new service answers on every pod of the step.
pub(super) fn test_service(ctx: &Ctx) -> Result<Commands, Unresolved> {
    let w = Workload::new(ctx)?;
    let probe = format!(
        "( pods=$({}) && test -n \"$pods\" && for pod in $pods; do kubectl -n {} exec \"${{pod#pod/}}\" -c {PRODUCT_SERVICE} -- env NEW_API_CONTEXT=\"${{NEW_API_CONTEXT:?context of the new API, e.g. /orders/1.0}}\" bash -c {} || exit 1; done )",
        w.kubectl(&["get pod -l", &q(&w.selector()), "-o name"]),
        w.ns,
        q(&super::service_probe())
    );
    Ok(Commands::run(
        vec![w.every_pod_healthy()],
        vec![probe],
        Vec::new(),
    ))
}
