//! Puppet: `manifests/site.pp` with a node definition per instance, a
//! module `apim` with a class per profile and EPP templates, and Hiera data
//! per node. deployment.toml is rendered by topoc (the same text as the
//! other targets use) and carried as Hiera data; passwords are never in the
//! generated files: the operator provides them under `apim::secrets` in an
//! encrypted Hiera layer, and Puppet writes them to a root-only environment
//! file.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::{Artifacts, BuildError, Context};
use crate::deployment::*;
use crate::model::{Profile, schema};
use crate::text::escape::hiera_text;

use crate::deployment::layout::{HOSTS_BASE, HOSTS_USER, puppet, puppet_node_data, share_subdir};

#[derive(Serialize)]
struct SiteNodeView<'a> {
    certname: &'a str,
    class: &'a str,
    describes: &'a str,
}

#[derive(Serialize)]
struct SiteContext<'a> {
    topology: &'a str,
    version: &'a str,
    nodes: Vec<SiteNodeView<'a>>,
}

/// Hiera data of one WSO2 node: the parameters of class `apim`.
#[derive(Serialize)]
struct NodeData {
    #[serde(rename = "apim::node_name")]
    node_name: String,
    #[serde(rename = "apim::cluster")]
    cluster: String,
    #[serde(rename = "apim::datacenter")]
    datacenter: String,
    #[serde(rename = "apim::version")]
    version: String,
    #[serde(rename = "apim::product_dir")]
    product_dir: String,
    #[serde(rename = "apim::launcher")]
    launcher: String,
    #[serde(rename = "apim::profile_arg")]
    profile_arg: String,
    #[serde(rename = "apim::profile_setup")]
    profile_setup: String,
    #[serde(rename = "apim::uid")]
    uid: u32,
    #[serde(rename = "apim::gid")]
    gid: u32,
    #[serde(rename = "apim::heap_mib")]
    heap_mib: u64,
    #[serde(rename = "apim::java_version")]
    java_version: u32,
    #[serde(rename = "apim::drivers")]
    drivers: Vec<String>,
    #[serde(rename = "apim::security_files")]
    security_files: Vec<String>,
    #[serde(rename = "apim::running")]
    running: bool,
    #[serde(rename = "apim::secret_envs")]
    secret_envs: BTreeMap<String, String>,
    #[serde(rename = "apim::share_method")]
    share_method: String,
    #[serde(rename = "apim::share_subdir")]
    share_subdir: String,
    #[serde(rename = "apim::nfs_device")]
    nfs_device: String,
    #[serde(rename = "apim::share_unit")]
    share_unit: String,
    #[serde(rename = "apim::share_manager")]
    share_manager: bool,
    #[serde(rename = "apim::rsync_peers")]
    rsync_peers: Vec<String>,
    #[serde(rename = "apim::rsync_interval")]
    rsync_interval: u64,
    #[serde(rename = "apim::artifact_sync")]
    artifact_sync: String,
    #[serde(rename = "apim::artifact_env")]
    artifact_env: String,
    /// The secret (under `apim::secrets`) holding the artifact server's
    /// `user:password`; absent when it takes none.
    #[serde(
        rename = "apim::artifact_credentials",
        skip_serializing_if = "String::is_empty"
    )]
    artifact_credentials: String,
    #[serde(rename = "apim::deployment_toml")]
    deployment_toml: String,
    #[serde(rename = "apim::product_files")]
    product_files: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct LoadBalancerData {
    #[serde(rename = "apim::load_balancer::config")]
    config: String,
    #[serde(rename = "apim::load_balancer::running")]
    running: bool,
}

/// Hiera interpolates `%{...}` in every string: escape all of them.
fn hiera_escape(value: Value) -> Value {
    match value {
        Value::String(s) => Value::String(hiera_text(&s)),
        Value::Array(items) => Value::Array(items.into_iter().map(hiera_escape).collect()),
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, hiera_escape(v))).collect())
        }
        other => other,
    }
}

fn hiera_yaml(data: &impl Serialize, header: &str) -> Result<String, BuildError> {
    let value =
        serde_json::to_value(data).map_err(|e| BuildError::Emit(format!("Hiera data: {e}")))?;
    let yaml = serde_saphyr::to_string(&hiera_escape(value))
        .map_err(|e| BuildError::Emit(format!("Hiera YAML: {e}")))?;
    let comment: String = header.lines().map(|l| format!("# {l}\n")).collect();
    Ok(format!("---\n{comment}{yaml}"))
}

/// `systemd-escape --path`: the unit name of a mount point.
pub fn systemd_path_unit(path: &str, suffix: &str) -> String {
    let trimmed = path.trim_matches('/');
    let mut out = String::new();
    for (i, c) in trimmed.chars().enumerate() {
        match c {
            '/' => out.push('-'),
            c if c.is_ascii_alphanumeric() || c == '_' || c == ':' => out.push(c),
            '.' if i > 0 => out.push('.'),
            c => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("\\x{b:02x}"));
                }
            }
        }
    }
    format!("{out}.{suffix}")
}

/// A value in a systemd EnvironmentFile: double-quoted, `\` and `"` escaped.
fn systemd_env_value(value: &str) -> String {
    let escaped = value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n");
    format!("\"{escaped}\"")
}

/// A Puppet node definition, collected per site for site.pp.
pub struct SiteNode {
    certname: String,
    class: String,
    describes: String,
    owner: String,
}

/// The Hiera data of one datacenter's nodes; returns their node
/// definitions for site.pp.
pub fn emit_site(
    ctx: &Context,
    site: &Site,
    out: &mut Artifacts,
) -> Result<Vec<SiteNode>, BuildError> {
    let d = ctx.deployment;
    let mut site_nodes = Vec::new();
    for cluster in site.start_order() {
        let product_files: BTreeMap<String, String> = ctx
            .product_files(cluster)?
            .into_iter()
            .map(|f| (f.path, f.content))
            .collect();
        // The nodes, then the host of the temporary node the upgrade
        // runbooks add (it runs only while a runbook needs it).
        for node in cluster.nodes.iter().chain([&cluster.surge]) {
            let config = ctx.render_config(site, cluster, node, Network::Hosts)?;
            let data = node_data(d, site, cluster, node, config, &product_files);
            let header = format!(
                "Hiera data of {} (node {} of cluster `{}`, datacenter `{}`), generated by topoc.\nPasswords are not here: see apim::secrets in secrets.yaml.",
                node.fqdn, node.index, cluster.name, site.name
            );
            out.insert(puppet_node_data(&node.fqdn), hiera_yaml(&data, &header)?);
            site_nodes.push(site_node(site, cluster, node));
        }
    }
    if !site.load_balancers.is_empty() {
        site_nodes.push(load_balancer(ctx, site, out)?);
    }
    Ok(site_nodes)
}

/// The parameters of class `apim` for one node: its product and how it
/// starts, its user, secrets' variables, file share (NFS mount or rsync
/// peers), artifact sync and configuration.
fn node_data(
    d: &Deployment,
    site: &Site,
    cluster: &ClusterPlan,
    node: &NodePlan,
    config: String,
    product_files: &BTreeMap<String, String>,
) -> NodeData {
    let secrets = d.node_secrets(cluster);
    let share = cluster
        .share
        .as_ref()
        .and_then(|s| site.shares.iter().find(|sh| sh.label == *s));
    let subdir = share.map(|_| share_subdir(d.major)).unwrap_or("");
    let mount = format!("{}/{subdir}", cluster.product_home(HOSTS_BASE));
    let sync = site.node_artifact_sync(cluster, Some(node));
    NodeData {
        node_name: node.name.clone(),
        cluster: cluster.name.clone(),
        datacenter: site.name.clone(),
        version: d.version.clone(),
        product_dir: cluster.product_dir.clone(),
        launcher: cluster.launcher.clone(),
        profile_arg: cluster
            .profile_arg
            .as_ref()
            .map(|p| format!("-Dprofile={p}"))
            .unwrap_or_default(),
        profile_setup: cluster.profile_setup.clone().unwrap_or_default(),
        uid: d.run_as.user,
        gid: d.run_as.group,
        heap_mib: cluster.heap_mib(),
        java_version: d.java_version,
        drivers: cluster.drivers.clone(),
        security_files: d
            .keystores
            .supplied()
            .iter()
            .map(|s| s.file.clone())
            .collect(),
        running: site.running(),
        secret_envs: secrets
            .iter()
            .map(|s| (s.env.clone(), s.name.clone()))
            .collect(),
        share_method: share
            .map(|s| s.method.name().to_string())
            .unwrap_or_else(|| "none".into()),
        share_subdir: subdir.to_string(),
        nfs_device: share
            .filter(|s| s.method == crate::model::ShareMethod::Nfs)
            .map(|s| {
                format!(
                    "{}:{}",
                    s.server.clone().unwrap_or_default(),
                    s.path.clone().unwrap_or_default()
                )
            })
            .unwrap_or_default(),
        share_unit: share
            .filter(|s| s.method == crate::model::ShareMethod::Nfs)
            .map(|_| systemd_path_unit(&mount, "mount"))
            .unwrap_or_default(),
        share_manager: node.manager,
        rsync_peers: if share.is_some_and(|s| s.method == crate::model::ShareMethod::Rsync)
            && node.manager
        {
            // The temporary node of the runbooks takes traffic
            // too: it gets the files whenever it is up.
            cluster
                .nodes
                .iter()
                .filter(|n| n.name != node.name)
                .map(|n| n.fqdn.clone())
                .chain([format!("?{}", cluster.surge.fqdn)])
                .collect()
        } else {
            Vec::new()
        },
        rsync_interval: share.map(|s| s.interval_minutes).unwrap_or(1),
        artifact_sync: sync
            .map(|(mode, _)| mode.name().to_string())
            .unwrap_or_else(|| "none".into()),
        artifact_env: sync
            .map(|(_, source)| {
                format!(
                    "ARTIFACT_URL={}\nARTIFACT_INTERVAL={}\n",
                    systemd_env_value(&source.url),
                    source.interval_seconds
                )
            })
            .unwrap_or_default(),
        artifact_credentials: sync
            .and_then(|(_, source)| source.credentials.as_ref())
            .map(|c| c.name.clone())
            .unwrap_or_default(),
        deployment_toml: config,
        product_files: product_files.clone(),
    }
}

/// The node definition of a node in site.pp.
fn site_node(site: &Site, cluster: &ClusterPlan, node: &NodePlan) -> SiteNode {
    let surge = node.name == cluster.surge.name;
    SiteNode {
        owner: format!("node {} of datacenter `{}`", node.name, site.name),
        certname: node.fqdn.clone(),
        class: format!(
            "apim::profile::{}",
            crate::model::naming::puppet_name(cluster.profile.name())
        ),
        describes: format!(
            "{}: node {} of cluster `{}` ({}, {}), datacenter `{}`",
            node.name,
            node.index,
            cluster.name,
            cluster.profile,
            if surge {
                "temporary node of the upgrade runbooks"
            } else {
                node.role.name()
            },
            site.name
        ),
    }
}

/// The datacenter's load balancer host: its Hiera data (the nginx.conf of
/// its load balancers) and its node definition.
fn load_balancer(ctx: &Context, site: &Site, out: &mut Artifacts) -> Result<SiteNode, BuildError> {
    let certname = site.lb_host();
    let data = LoadBalancerData {
        config: super::nginx::config(ctx, site)?,
        running: site.running(),
    };
    let header = format!(
        "Hiera data of {certname}, the load balancer of datacenter `{}`.",
        site.name
    );
    out.insert(puppet_node_data(&certname), hiera_yaml(&data, &header)?);
    Ok(SiteNode {
        owner: format!("the load balancer of datacenter `{}`", site.name),
        certname,
        class: "apim::load_balancer".to_string(),
        describes: format!(
            "the load balancer of datacenter `{}` ({})",
            site.name,
            site.load_balancers
                .iter()
                .map(|l| l.hostname.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    })
}

/// site.pp, Hiera configuration and the `apim` module, shared by all sites.
pub fn emit_common(
    ctx: &Context,
    nodes: Vec<SiteNode>,
    out: &mut Artifacts,
) -> Result<(), BuildError> {
    let d = ctx.deployment;
    let mut certnames: BTreeMap<&str, &str> = BTreeMap::new();
    for node in &nodes {
        if let Some(first) = certnames.insert(&node.certname, &node.owner) {
            return Err(BuildError::Emit(format!(
                "{} and {first} would both be the Puppet node `{}`: give their datacenters different `domain`s",
                node.owner, node.certname
            )));
        }
    }
    let site_nodes: Vec<SiteNodeView> = nodes
        .iter()
        .map(|n| SiteNodeView {
            certname: &n.certname,
            class: &n.class,
            describes: &n.describes,
        })
        .collect();
    let site_pp = ctx.templates.render(
        "puppet/site.pp.j2",
        &SiteContext {
            topology: &d.topology,
            version: &d.version,
            nodes: site_nodes,
        },
    )?;
    out.insert(puppet::SITE, site_pp);
    out.insert(
        puppet::HIERA,
        ctx.templates
            .render("puppet/hiera.yaml.j2", ctx.deployment)?,
    );
    let common = serde_json::json!({
        "lookup_options": { "apim::secrets": { "convert_to": "Sensitive" } },
        "apim::pack_url": "",
        "apim::user": HOSTS_USER,
    });
    out.insert(
        puppet::COMMON_DATA,
        hiera_yaml(&common, "Common Hiera data, generated by topoc.")?,
    );

    let module = puppet::MODULE;
    for (template, file) in [
        ("puppet/apim/init.pp.j2", "manifests/init.pp"),
        ("puppet/apim/install.pp.j2", "manifests/install.pp"),
        ("puppet/apim/config.pp.j2", "manifests/config.pp"),
        ("puppet/apim/service.pp.j2", "manifests/service.pp"),
        ("puppet/apim/share_nfs.pp.j2", "manifests/share/nfs.pp"),
        ("puppet/apim/share_rsync.pp.j2", "manifests/share/rsync.pp"),
        (
            "puppet/apim/artifact_sync.pp.j2",
            "manifests/artifact_sync.pp",
        ),
        (
            "puppet/apim/load_balancer.pp.j2",
            "manifests/load_balancer.pp",
        ),
        (
            "puppet/apim/deployment.toml.epp.j2",
            "templates/deployment.toml.epp",
        ),
        (
            "puppet/apim/environment.epp.j2",
            "templates/environment.epp",
        ),
        (
            "puppet/apim/wso2am.service.epp.j2",
            "templates/wso2am.service.epp",
        ),
        ("puppet/apim/apim-rsync.sh.j2", "files/apim-rsync.sh"),
        ("scripts/lb.sh.j2", "files/apim-lb.sh"),
    ] {
        out.insert(
            format!("{module}/{file}"),
            ctx.templates.render(template, d)?,
        );
    }
    out.insert(
        format!("{module}/files/artifact-sync.sh"),
        ctx.sync_script.clone(),
    );
    for profile in Profile::ALL {
        let doc = schema::PROFILES
            .iter()
            .find(|v| v.name == profile.name())
            .map(|v| v.doc)
            .unwrap_or("");
        let context = serde_json::json!({ "profile": profile.name(), "doc": doc });
        let name = crate::model::naming::puppet_name(profile.name());
        out.insert(
            format!("{module}/manifests/profile/{name}.pp"),
            ctx.templates
                .render("puppet/apim/profile.pp.j2", &context)?,
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn systemd_unit_names_escape_like_systemd() {
        assert_eq!(
            systemd_path_unit(
                "/opt/wso2/wso2am-3.2.0/repository/deployment/server",
                "mount"
            ),
            "opt-wso2-wso2am\\x2d3.2.0-repository-deployment-server.mount"
        );
        assert_eq!(systemd_env_value("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }
}
