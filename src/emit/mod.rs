//! Emitters: thin projections of the deployment model into deployable
//! artifacts, and the atomic, deterministic writing of them.

pub mod compose;
pub mod kubernetes;
pub mod nginx;
pub mod output;
pub mod puppet;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::io;
use std::path::PathBuf;

pub use output::{OutputError, diff, write};
use std::sync::Mutex;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::deployment::config::node_config;
use crate::deployment::{ClusterPlan, Deployment, Network, NodePlan, Site};
use crate::text::templates::{TemplateError, Templates};

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

/// Render the deployment artifacts of the chosen targets (Kubernetes,
/// Compose, Puppet) from the deployment model: nothing of the runbooks,
/// the graph or the README, which [`crate::build`] adds.
pub fn render_targets(
    deployment: &Deployment,
    templates: &Templates,
    targets: &BTreeSet<Target>,
) -> Result<Artifacts, BuildError> {
    let sync_script = templates.render("scripts/artifact-sync.sh.j2", deployment)?;
    let lb_script = templates.render("scripts/lb.sh.j2", deployment)?;
    let ctx = Context {
        deployment,
        templates,
        sync_script,
        lb_script,
        configs: Mutex::new(HashMap::new()),
    };
    let mut out = Artifacts::default();
    let mut puppet_nodes = Vec::new();
    for site in emit_sites(&ctx, targets)? {
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
                kubernetes::dockerfile(deployment, image),
            );
        }
    }
    Ok(out)
}
