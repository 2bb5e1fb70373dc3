//! Emitters: thin projections of the deployment model into deployable
//! artifacts, and the atomic, deterministic writing of them.

pub mod compose;
pub mod escape;
pub mod kubernetes;
pub mod puppet;
pub mod templates;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
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
            .map(|site| ReadmeSite {
                name: &site.name,
                namespace: &site.namespace,
                running: site.running(),
                records: dns_records(site),
            })
            .collect(),
    };
    out.insert(
        "README.md",
        templates.render("build/README.md.j2", &readme)?,
    );
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
    for (stem, plan) in plans {
        out.insert(
            format!("{stem}.md"),
            plan::render::markdown(&plan, deployment, templates)?,
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

/// Write the artifacts to `out` atomically: into a temporary folder beside
/// it, then swapped in by renames. A failure leaves `out` as it was.
pub fn write_atomic(out: &Path, artifacts: &Artifacts) -> Result<(), BuildError> {
    let io_error = |path: &Path| {
        let path = path.to_path_buf();
        move |error: io::Error| BuildError::Io { path, error }
    };
    if out.exists() && !out.is_dir() {
        return Err(BuildError::Io {
            path: out.to_path_buf(),
            error: io::Error::other("exists and is not a folder"),
        });
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(io_error(&parent))?;
    let staging = tempfile::Builder::new()
        .prefix(".topoc-build-")
        .tempdir_in(&parent)
        .map_err(io_error(&parent))?;
    let mut created: BTreeSet<PathBuf> = BTreeSet::new();
    for (path, content) in artifacts.iter() {
        let target = staging.path().join(path);
        if let Some(dir) = target.parent()
            && !created.contains(dir)
        {
            std::fs::create_dir_all(dir).map_err(io_error(dir))?;
            created.insert(dir.to_path_buf());
        }
        std::fs::write(&target, content).map_err(io_error(&target))?;
        #[cfg(unix)]
        if path.ends_with(".sh") {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755))
                .map_err(io_error(&target))?;
        }
    }
    let staged = staging.keep();
    if out.exists() {
        let name = out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let old = parent.join(format!(".{name}.old-{}", std::process::id()));
        if let Err(error) = std::fs::rename(out, &old) {
            let _ = std::fs::remove_dir_all(&staged);
            return Err(BuildError::Io {
                path: out.to_path_buf(),
                error,
            });
        }
        if let Err(error) = std::fs::rename(&staged, out) {
            // Put the old output back.
            let _ = std::fs::rename(&old, out);
            let _ = std::fs::remove_dir_all(&staged);
            return Err(BuildError::Io {
                path: out.to_path_buf(),
                error,
            });
        }
        let _ = std::fs::remove_dir_all(&old);
    } else if let Err(error) = std::fs::rename(&staged, out) {
        let _ = std::fs::remove_dir_all(&staged);
        return Err(BuildError::Io {
            path: out.to_path_buf(),
            error,
        });
    }
    Ok(())
}

/// At most this many missing files are named; the count says the rest.
const MISSING_NAMED: usize = 20;

/// Compare `out` with what would be written. Returns a unified diff of the
/// files that differ (and of those that would be removed), the names of
/// the files missing from `out` (not their whole content: a missing or
/// half-built folder is a list, not thousands of added lines) and a count
/// of each, or `None` when up to date.
pub fn diff(out: &Path, artifacts: &Artifacts) -> Result<Option<String>, BuildError> {
    let mut existing: BTreeMap<String, String> = BTreeMap::new();
    if out.is_dir() {
        let mut stack = vec![out.to_path_buf()];
        while let Some(dir) = stack.pop() {
            let entries = std::fs::read_dir(&dir).map_err(|error| BuildError::Io {
                path: dir.clone(),
                error,
            })?;
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let relative = path
                        .strip_prefix(out)
                        .unwrap_or(&path)
                        .to_string_lossy()
                        .replace('\\', "/");
                    let bytes = std::fs::read(&path).map_err(|error| BuildError::Io {
                        path: path.clone(),
                        error,
                    })?;
                    existing.insert(relative, String::from_utf8_lossy(&bytes).into_owned());
                }
            }
        }
    }
    let mut report = String::new();
    let paths: BTreeSet<&str> = existing
        .keys()
        .map(String::as_str)
        .chain(artifacts.paths())
        .collect();
    let (mut missing, mut differ, mut extra) = (Vec::new(), 0usize, 0usize);
    for path in paths {
        let old = existing.get(path).map(String::as_str);
        let new = artifacts.get(path);
        if old == new {
            continue;
        }
        match (old, new) {
            (None, _) => {
                missing.push(path);
                continue;
            }
            (_, None) => extra += 1,
            _ => differ += 1,
        }
        let diff = similar::TextDiff::from_lines(old.unwrap_or(""), new.unwrap_or(""));
        let (a, b) = match (old, new) {
            (None, _) => ("/dev/null".to_string(), format!("b/{path}")),
            (_, None) => (format!("a/{path}"), "/dev/null".to_string()),
            _ => (format!("a/{path}"), format!("b/{path}")),
        };
        let text = diff
            .unified_diff()
            .context_radius(3)
            .header(&a, &b)
            .to_string();
        if text.is_empty() {
            // An empty file, added or removed: no line to show.
            report.push_str(&format!("--- {a}\n+++ {b}\n(empty file)\n"));
        } else {
            report.push_str(&text);
        }
        if !report.ends_with('\n') {
            report.push('\n');
        }
    }
    if existing.is_empty() && !missing.is_empty() {
        report.push_str(&format!(
            "{} is {}: the build writes {} files\n",
            out.display(),
            if out.exists() { "empty" } else { "missing" },
            missing.len()
        ));
        return Ok(Some(report));
    }
    if !missing.is_empty() {
        report.push_str(&format!("missing from {}:\n", out.display()));
        for path in missing.iter().take(MISSING_NAMED) {
            report.push_str(&format!("  {path}\n"));
        }
        if missing.len() > MISSING_NAMED {
            report.push_str(&format!(
                "  ... and {} more\n",
                missing.len() - MISSING_NAMED
            ));
        }
    }
    if report.is_empty() {
        return Ok(None);
    }
    report.push_str(&format!(
        "{}: {} files missing, {differ} changed, {extra} not written by the build\n",
        out.display(),
        missing.len(),
    ));
    Ok(Some(report))
}
