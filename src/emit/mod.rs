//! Emitters: thin projections of the deployment model into deployable
//! artifacts, and the atomic, deterministic writing of them.

pub mod compose;
pub mod escape;
pub mod kubernetes;
pub mod output;
pub mod puppet;
pub mod templates;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

pub use output::{OutputError, diff, write};
use std::sync::Mutex;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::Checked;
use crate::deployment::config::node_config;
use crate::deployment::{ClusterPlan, Deployment, Network, NodePlan, Site};
use templates::{TemplateError, Templates};

/// What `topoc build` can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    Kubernetes,
    Compose,
    Puppet,
    Runbook,
}

impl Target {
    pub const ALL: [Target; 4] = [
        Target::Kubernetes,
        Target::Compose,
        Target::Puppet,
        Target::Runbook,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Target::Kubernetes => "kubernetes",
            Target::Compose => "compose",
            Target::Puppet => "puppet",
            Target::Runbook => "runbook",
        }
    }

    pub fn parse(text: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.name() == text)
    }
}

/// Generated files by path (relative, `/`-separated), in sorted order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Artifacts {
    files: BTreeMap<String, String>,
}

impl Artifacts {
    pub fn insert(&mut self, path: impl Into<String>, content: String) {
        self.files.insert(path.into(), content);
    }

    pub fn get(&self, path: &str) -> Option<&str> {
        self.files.get(path).map(String::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.files.iter().map(|(p, c)| (p.as_str(), c.as_str()))
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }
}

#[derive(Debug)]
pub enum BuildError {
    /// The topology has errors; nothing is built.
    Invalid {
        errors: usize,
    },
    Template(TemplateError),
    /// An emitter could not express a value safely, or a serializer failed.
    Emit(String),
    Io {
        path: PathBuf,
        error: io::Error,
    },
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::Invalid { errors } => write!(
                f,
                "the topology has {errors} error{}; nothing was built",
                if *errors == 1 { "" } else { "s" }
            ),
            BuildError::Template(e) => write!(f, "{e}"),
            BuildError::Emit(message) => write!(f, "{message}"),
            BuildError::Io { path, error } => write!(f, "{}: {error}", path.display()),
        }
    }
}

impl std::error::Error for BuildError {}

impl From<TemplateError> for BuildError {
    fn from(e: TemplateError) -> BuildError {
        BuildError::Template(e)
    }
}

/// What every emitter works from.
pub struct Context<'a> {
    pub deployment: &'a Deployment,
    pub templates: &'a Templates,
    /// The artifact pull/push script, rendered once.
    pub sync_script: String,
    /// The load balancer controls of the runbooks, rendered once.
    pub lb_script: String,
    /// Rendered deployment.toml by (site, node, network): the Compose and
    /// Puppet targets share the host-network configuration of every node.
    configs: Mutex<HashMap<(String, String, Network), String>>,
}

impl Context<'_> {
    /// deployment.toml of a node, for a network (rendered once).
    pub fn render_config(
        &self,
        site: &Site,
        cluster: &ClusterPlan,
        node: &NodePlan,
        net: Network,
    ) -> Result<String, BuildError> {
        let key = (site.name.clone(), node.name.clone(), net);
        if let Some(text) = self
            .configs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
        {
            return Ok(text.clone());
        }
        let config = node_config(self.deployment, site, cluster, node, net);
        let text = self.templates.render("wso2/deployment.toml.j2", &config)?;
        self.configs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, text.clone());
        Ok(text)
    }
}

/// A file a node needs besides deployment.toml, by its path under the
/// product folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductFile {
    /// E.g. `repository/deployment/server/eventpublishers/x.xml`.
    pub path: String,
    /// Its file name: unique among a node's files (a ConfigMap key).
    pub name: String,
    pub content: String,
}

#[derive(Serialize)]
struct RelayJndi<'a> {
    target: &'a crate::deployment::RelayTarget,
    broker: String,
}

#[derive(Serialize)]
struct RelayPublisher {
    name: String,
    stream: &'static str,
    topic: &'static str,
    jndi: String,
}

impl Context<'_> {
    /// The files a node of `cluster` needs besides deployment.toml: for
    /// each event hub node it relays to, the connection to its broker (a
    /// template WSO2's config mapper renders with the node's credentials)
    /// and one event publisher per relayed stream.
    pub fn product_files(&self, cluster: &ClusterPlan) -> Result<Vec<ProductFile>, BuildError> {
        let mut files = Vec::new();
        for target in &cluster.relay_to {
            let stem = target.stem();
            let jndi_name = format!("jndi-{stem}.properties");
            files.push(ProductFile {
                path: format!("repository/resources/conf/templates/repository/conf/{jndi_name}.j2"),
                name: format!("{jndi_name}.j2"),
                content: self.templates.render(
                    "wso2/relay-jndi.properties.j2",
                    &RelayJndi {
                        target,
                        broker: target.broker(),
                    },
                )?,
            });
            for stream in crate::deployment::RelayedStream::ALL {
                let name = format!("{stem}-{}", stream.name());
                files.push(ProductFile {
                    path: format!("repository/deployment/server/eventpublishers/{name}.xml"),
                    name: format!("{name}.xml"),
                    content: self.templates.render(
                        "wso2/relay-publisher.xml.j2",
                        &RelayPublisher {
                            name,
                            stream: stream.stream(),
                            topic: stream.topic(),
                            jndi: format!("repository/conf/{jndi_name}"),
                        },
                    )?,
                });
            }
        }
        Ok(files)
    }
}

/// Everything one datacenter contributes.
struct SiteOutput {
    index: usize,
    files: Artifacts,
    puppet_nodes: Vec<puppet::SiteNode>,
}

fn emit_site(
    ctx: &Context,
    targets: &BTreeSet<Target>,
    index: usize,
    site: &Site,
) -> Result<SiteOutput, BuildError> {
    let mut files = Artifacts::default();
    let mut puppet_nodes = Vec::new();
    for target in targets {
        match target {
            Target::Kubernetes => kubernetes::emit_site(ctx, site, &mut files)?,
            Target::Compose => compose::emit_site(ctx, site, &mut files)?,
            Target::Puppet => puppet_nodes = puppet::emit_site(ctx, site, &mut files)?,
            Target::Runbook => {}
        }
    }
    Ok(SiteOutput {
        index,
        files,
        puppet_nodes,
    })
}

/// Emit every site, spread over the machine's cores; the result does not
/// depend on how the work was spread.
fn emit_sites(ctx: &Context, targets: &BTreeSet<Target>) -> Result<Vec<SiteOutput>, BuildError> {
    let sites = &ctx.deployment.sites;
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, sites.len().max(1));
    let mut outputs: Vec<SiteOutput> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|worker| {
                scope.spawn(move || -> Result<Vec<SiteOutput>, BuildError> {
                    sites
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| i % workers == worker)
                        .map(|(i, site)| emit_site(ctx, targets, i, site))
                        .collect()
                })
            })
            .collect();
        let mut all = Vec::new();
        for handle in handles {
            let result = handle
                .join()
                .map_err(|_| BuildError::Emit("an emitter thread panicked".to_string()))?;
            all.extend(result?);
        }
        Ok::<_, BuildError>(all)
    })?;
    outputs.sort_by_key(|o| o.index);
    Ok(outputs)
}

/// `sha256:<hex>` of a text, for config checksum annotations.
pub fn checksum(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

#[derive(Serialize)]
struct ReadmeContext<'a> {
    deployment: &'a Deployment,
    targets: Vec<&'static str>,
    secret_name: String,
    sites: Vec<ReadmeSite<'a>>,
    /// The Markdown runbooks written, by path.
    runbooks: Vec<&'a str>,
}

#[derive(Serialize)]
struct ReadmeSite<'a> {
    name: &'a str,
    namespace: &'a str,
    running: bool,
    records: Vec<(String, String)>,
    /// A read-only site: how long after a change in the primary it serves
    /// it (Markdown).
    freshness: Option<String>,
    /// Its event hub nodes the control planes of other sites relay to:
    /// node, broker address.
    relay_endpoints: Vec<(String, String)>,
    /// The datacenters whose control planes relay to it (Markdown).
    relayed_from: Vec<String>,
}

/// Render every artifact of the chosen targets (nothing is written).
pub fn render(
    checked: &Checked,
    targets: &[Target],
    templates_dir: Option<&Path>,
) -> Result<Artifacts, BuildError> {
    let errors = checked
        .diagnostics
        .iter()
        .filter(|d| d.severity == crate::diagnostics::Severity::Error)
        .count();
    if errors > 0 {
        return Err(BuildError::Invalid { errors });
    }
    let deployment = crate::deployment::plan(&checked.topology);
    if deployment.major < 3 && targets.iter().any(|t| *t != Target::Runbook) {
        return Err(BuildError::Emit(format!(
            "APIM {} is configured by XML files (master-datasources.xml, api-manager.xml, axis2.xml) that topoc does not write; the deployment.toml it writes is read by APIM 3.0 and later. Build for a 3.x or 4.x version, or only the runbooks (--target runbook)",
            deployment.version
        )));
    }
    let templates = Templates::new(templates_dir)?;
    let sync_script = templates.render("scripts/artifact-sync.sh.j2", &deployment)?;
    let lb_script = templates.render("scripts/lb.sh.j2", &deployment)?;
    let ctx = Context {
        deployment: &deployment,
        templates: &templates,
        sync_script,
        lb_script,
        configs: Mutex::new(HashMap::new()),
    };
    let mut out = Artifacts::default();
    let targets: BTreeSet<Target> = targets.iter().copied().collect();
    let mut puppet_nodes = Vec::new();
    for site in emit_sites(&ctx, &targets)? {
        out.files.extend(site.files.files);
        puppet_nodes.extend(site.puppet_nodes);
    }
    if targets.contains(&Target::Puppet) {
        puppet::emit_common(&ctx, puppet_nodes, &mut out)?;
    }
    if targets.contains(&Target::Kubernetes) {
        for image in &deployment.built_images {
            out.insert(
                image.dockerfile.clone(),
                kubernetes::dockerfile(&deployment, image),
            );
        }
    }
    if targets.contains(&Target::Runbook) {
        runbooks(
            &checked.topology,
            &deployment,
            &templates,
            &targets,
            &mut out,
        )?;
    }
    // The dependency graph, for reviewers: `dot -Tsvg graph.dot`, or the
    // Mermaid flowchart pasted into a pull request.
    out.insert(
        "graph.dot",
        crate::graph::to_dot(&checked.topology, &checked.graph),
    );
    out.insert(
        "graph.mmd",
        crate::graph::to_mermaid(&checked.topology, &checked.graph),
    );
    let runbooks: Vec<String> = out
        .files
        .keys()
        .filter(|path| path.starts_with("runbooks/") && path.ends_with(".md"))
        .cloned()
        .collect();
    let readme = ReadmeContext {
        runbooks: runbooks.iter().map(String::as_str).collect(),
        deployment: &deployment,
        targets: targets.iter().map(|t| t.name()).collect(),
        secret_name: kubernetes::secret_name(&deployment),
        sites: deployment
            .sites
            .iter()
            .map(|site| {
                let targets: Vec<&crate::deployment::RelayTarget> = deployment
                    .sites
                    .iter()
                    .flat_map(|s| s.clusters.iter())
                    .flat_map(|c| c.relay_to.iter())
                    .filter(|t| t.datacenter == site.name)
                    .collect();
                let mut relay_endpoints: Vec<(String, String)> = targets
                    .iter()
                    .map(|t| (t.node.clone(), format!("{}:5672", t.host)))
                    .collect();
                relay_endpoints.sort();
                relay_endpoints.dedup();
                ReadmeSite {
                    name: &site.name,
                    namespace: &site.namespace,
                    running: site.running(),
                    records: dns_records(site),
                    freshness: site.freshness.as_ref().map(|f| f.bound(&site.name)),
                    relay_endpoints,
                    relayed_from: deployment
                        .sites
                        .iter()
                        .filter(|s| {
                            s.clusters
                                .iter()
                                .any(|c| c.relay_to.iter().any(|t| t.datacenter == site.name))
                        })
                        .map(|s| match s.role {
                            crate::model::Role::Primary => format!("`{}`", s.name),
                            _ => format!("`{}` (once it takes over on failover)", s.name),
                        })
                        .collect(),
                }
            })
            .collect(),
    };
    out.insert(
        "README.md",
        templates.render("build/README.md.j2", &readme)?,
    );
    let manifest = output::manifest(&out);
    out.insert(output::MANIFEST, manifest);
    Ok(out)
}

/// The platform the built runbooks drive: the first deployment target
/// built (Kubernetes, then Compose, then Puppet), Kubernetes when none is.
pub fn runbook_target(targets: &BTreeSet<Target>) -> crate::plan::Target {
    if targets.contains(&Target::Kubernetes) {
        crate::plan::Target::Kubernetes
    } else if targets.contains(&Target::Compose) {
        crate::plan::Target::Compose
    } else if targets.contains(&Target::Puppet) {
        crate::plan::Target::Puppet
    } else {
        crate::plan::Target::Kubernetes
    }
}

/// `runbooks/<upgrade>.md` and `.json` for every upgrade block, and
/// `runbooks/failover/<datacenter>.md` and `.json` for every
/// disaster-recovery datacenter.
fn runbooks(
    topology: &crate::model::Topology,
    deployment: &Deployment,
    templates: &Templates,
    targets: &BTreeSet<Target>,
    out: &mut Artifacts,
) -> Result<(), BuildError> {
    use crate::plan;
    let target = runbook_target(targets);
    let mut plans = Vec::new();
    for (i, upgrade) in topology.upgrades.iter().enumerate() {
        let plan = plan::plan_upgrade(topology, deployment, crate::model::UpgradeId(i), target);
        plans.push((format!("runbooks/{}", upgrade.name), plan));
    }
    for site in &deployment.sites {
        if let Some(plan) = plan::plan_failover(topology, deployment, &site.name, target) {
            plans.push((format!("runbooks/failover/{}", site.name), plan));
        }
    }
    // The first deployment (deployment.toml is read from APIM 3.0 on: the
    // earlier versions are not built, nor bootstrapped).
    if deployment.major >= 3 {
        plans.push((
            "runbooks/bootstrap".to_string(),
            plan::plan_bootstrap(topology, deployment, target),
        ));
    }
    for (stem, plan) in plans {
        out.insert(
            format!("{stem}.md"),
            plan::render::markdown(&plan, topology, deployment, templates)?,
        );
        out.insert(format!("{stem}.json"), plan::render::json(&plan));
    }
    Ok(())
}

/// The host names the Puppet-managed hosts need in DNS: each node, and
/// each cluster (pointing at its load balancer or active node).
pub fn dns_records(site: &Site) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for cluster in site.start_order() {
        out.push((
            format!("{}.{}", cluster.label, site.domain),
            match cluster.ha {
                crate::model::HaMode::ActivePassive => {
                    format!("the active node of `{}`", cluster.name)
                }
                _ => format!("every node of `{}`", cluster.name),
            },
        ));
        for node in &cluster.nodes {
            out.push((node.fqdn.clone(), format!("node {}", node.name)));
        }
    }
    out
}
