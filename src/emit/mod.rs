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

/// What the emitters' unit tests build from: deployments of topologies
/// ([`crate::deployment::testing`]) and their artifacts.
#[cfg(test)]
pub(crate) mod testing {
    use std::collections::BTreeSet;

    use super::{Artifacts, Target, render_targets};
    use crate::deployment::Deployment;
    pub use crate::deployment::testing::{PAIR, deployment, file};
    use crate::text::templates::Templates;

    /// The artifacts of some targets, with the bundled templates.
    pub fn render(d: &Deployment, targets: &[Target]) -> Artifacts {
        let templates = Templates::new(None).expect("the bundled templates load");
        let targets: BTreeSet<Target> = targets.iter().copied().collect();
        render_targets(d, &templates, &targets).expect("the targets render")
    }

    /// Every document of a YAML file, as JSON values.
    pub fn yaml_documents(text: &str) -> Vec<serde_json::Value> {
        serde_saphyr::from_multiple(text).unwrap_or_else(|e| panic!("not YAML: {e}\n{text}"))
    }

    /// The one document of a YAML file.
    pub fn yaml(text: &str) -> serde_json::Value {
        serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("not YAML: {e}\n{text}"))
    }

    /// The file at `path`, which the artifacts must hold.
    pub fn get<'a>(artifacts: &'a Artifacts, path: &str) -> &'a str {
        artifacts.get(path).unwrap_or_else(|| {
            panic!(
                "no {path} among {:?}",
                artifacts.paths().collect::<Vec<_>>()
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    #[test]
    fn targets_are_named_and_parsed_back() {
        for target in Target::ALL {
            assert_eq!(Target::parse(target.name()), Some(target));
        }
        assert_eq!(Target::parse("helm"), None);
    }

    #[test]
    fn checksums_are_the_sha256_of_the_text() {
        assert_eq!(
            checksum(""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_ne!(checksum("a"), checksum("b"));
    }

    #[test]
    fn only_the_chosen_targets_are_rendered() {
        let d = deployment(PAIR);
        let compose = render(&d, &[Target::Compose]);
        assert!(
            compose.paths().all(|p| p.starts_with("compose/")),
            "{:?}",
            compose.paths().collect::<Vec<_>>()
        );
        let kubernetes = render(&d, &[Target::Kubernetes]);
        assert!(
            kubernetes
                .paths()
                .all(|p| p.starts_with("kubernetes/") || p.starts_with("docker/"))
        );
        // The Kubernetes pods run the product image with the drivers added.
        assert!(kubernetes.get("docker/wso2am/Dockerfile").is_some());
        let puppet = render(&d, &[Target::Puppet]);
        assert!(puppet.paths().all(|p| p.starts_with("puppet/")));
        assert!(render(&d, &[Target::Runbook]).is_empty());
    }

    #[test]
    fn a_relaying_control_plane_gets_a_broker_connection_and_a_publisher_per_stream() {
        let d = file("examples/multi-datacenter.topo");
        let templates = Templates::new(None).unwrap();
        let ctx = Context {
            deployment: &d,
            templates: &templates,
            sync_script: String::new(),
            lb_script: String::new(),
            configs: Mutex::new(HashMap::new()),
        };
        let colombo = d.sites.iter().find(|s| s.name == "colombo").unwrap();
        let cp = colombo.cluster("control-plane").unwrap();
        assert!(!cp.relay_to.is_empty());
        let files = ctx.product_files(cp).unwrap();
        let per_target = 1 + crate::deployment::RelayedStream::ALL.len();
        assert_eq!(files.len(), cp.relay_to.len() * per_target);
        // File names are ConfigMap keys: unique.
        let names: BTreeSet<&str> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names.len(), files.len());
        for file in &files {
            assert!(file.path.ends_with(&file.name), "{}", file.path);
            assert!(!file.content.is_empty(), "{}", file.path);
        }
        // A gateway relays nothing.
        let gateway = colombo.cluster("gateway").unwrap();
        assert!(ctx.product_files(gateway).unwrap().is_empty());
    }
}
