//! A build: every artifact of a checked topology. The targets' files come
//! from the emitters ([`emit`]), the runbooks from the planner ([`plan`]),
//! the pictures from the graph; this module puts them together with the
//! output folder's README and manifest. The emitters and the planner know
//! nothing of each other.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Serialize;

use crate::Checked;
use crate::deployment::{Deployment, Site};
use crate::emit::{self, Artifacts, BuildError, Target};
use crate::plan;
use crate::text::templates::Templates;

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
    let targets: BTreeSet<Target> = targets.iter().copied().collect();
    let mut out = emit::render_targets(&deployment, &templates, &targets)?;
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
        .paths()
        .filter(|path| path.starts_with("runbooks/") && path.ends_with(".md"))
        .map(str::to_string)
        .collect();
    let readme = ReadmeContext {
        runbooks: runbooks.iter().map(String::as_str).collect(),
        deployment: &deployment,
        targets: targets.iter().map(|t| t.name()).collect(),
        secret_name: deployment.secret_name(),
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
                    .map(|t| {
                        (
                            t.node.clone(),
                            format!("{}:{}", t.host, crate::deployment::layout::ports::JMS),
                        )
                    })
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
    let manifest = emit::output::manifest(&out);
    out.insert(emit::output::MANIFEST, manifest);
    Ok(out)
}

/// The platform the built runbooks drive: the first deployment target
/// built (Kubernetes, then Compose, then Puppet), Kubernetes when none is.
pub fn runbook_target(targets: &BTreeSet<Target>) -> plan::Target {
    if targets.contains(&Target::Kubernetes) {
        plan::Target::Kubernetes
    } else if targets.contains(&Target::Compose) {
        plan::Target::Compose
    } else if targets.contains(&Target::Puppet) {
        plan::Target::Puppet
    } else {
        plan::Target::Kubernetes
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
            site.cluster_host(cluster),
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
