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
    use serde_json::Value;

    use super::*;
    use crate::emit::Target;
    use crate::emit::testing::{PAIR, deployment, file, get, render, yaml};

    /// The `node '<certname>' {` lines of site.pp.
    fn node_definitions(site_pp: &str) -> Vec<&str> {
        site_pp
            .lines()
            .filter_map(|l| l.strip_prefix("node ")?.strip_suffix(" {"))
            .collect()
    }

    #[test]
    fn site_pp_quotes_every_certname_and_names_a_class_per_profile() {
        let d = file("tests/fixtures/build/hostile.topo");
        let artifacts = render(&d, &[Target::Puppet]);
        let site_pp = get(&artifacts, layout::puppet::SITE);
        let nodes = node_definitions(site_pp);
        assert!(nodes.contains(&"'null-1.on.example'"), "{nodes:?}");
        for node in &nodes {
            assert!(
                *node == "default" || (node.starts_with('\'') && node.ends_with('\'')),
                "{node}"
            );
            if *node != "default" {
                let certname = node.trim_matches('\'');
                assert!(!certname.contains('\''), "{certname}");
                // Every node defined has its Hiera data.
                assert!(
                    artifacts.get(&puppet_node_data(certname)).is_some(),
                    "{certname}"
                );
            }
        }
        assert!(site_pp.contains("  include apim::profile::control_plane\n"));
        // One class per profile in the module, named as site.pp includes it.
        for profile in Profile::ALL {
            let name = crate::model::naming::puppet_name(profile.name());
            get(
                &artifacts,
                &format!("{}/manifests/profile/{name}.pp", layout::puppet::MODULE),
            );
        }
    }

    #[test]
    fn hiera_data_keeps_yaml_words_strings_and_escapes_interpolation() {
        let d = file("tests/fixtures/build/hostile.topo");
        let artifacts = render(&d, &[Target::Puppet]);
        let data = yaml(get(&artifacts, &puppet_node_data("null-1.on.example")));
        // `null`, `on`: strings, not YAML's null and true.
        assert_eq!(data["apim::cluster"], "null");
        assert_eq!(data["apim::datacenter"], "on");
        assert_eq!(data["apim::running"], true);
        assert_eq!(data["apim::uid"], d.run_as.user);
        // Hiera would interpolate `%{...}`: every `%` is a literal one.
        let toml = data["apim::deployment_toml"].as_str().unwrap();
        assert!(toml.contains("%{literal('%')}{::fqdn}"));
        let unescaped = toml.replace("%{literal('%')}", "%");
        let table: toml::Table = unescaped.parse().expect("deployment.toml is TOML");
        let users: Vec<&str> = table["database"]
            .as_table()
            .unwrap()
            .values()
            .filter_map(|db| db.get("username")?.as_str())
            .collect();
        assert!(users.contains(&"${HOME}%{::fqdn}"), "{users:?}");
        // Passwords are variables of the root-only environment file.
        let envs = data["apim::secret_envs"].as_object().unwrap();
        assert_eq!(envs["ON"], "on");
        assert!(!get(&artifacts, &puppet_node_data("null-1.on.example")).contains("password: "));
    }

    #[test]
    fn the_nfs_share_is_a_mount_unit_under_the_hosts_product_home() {
        let d = file("tests/fixtures/build/hostile.topo");
        let artifacts = render(&d, &[Target::Puppet]);
        let data = yaml(get(&artifacts, &puppet_node_data("null-1.on.example")));
        assert_eq!(data["apim::share_method"], "nfs");
        assert_eq!(data["apim::nfs_device"], "nfs.on.example:/exports/a:b=c,d");
        let cluster = d.sites[0].cluster("null").unwrap();
        let mount = format!(
            "{}/{}",
            cluster.product_home(HOSTS_BASE),
            share_subdir(d.major)
        );
        assert_eq!(data["apim::share_unit"], systemd_path_unit(&mount, "mount"));
        assert_eq!(data["apim::share_subdir"], share_subdir(d.major));
    }

    #[test]
    fn the_rsync_manager_sends_its_files_to_every_other_node_and_the_temporary_one() {
        let d = file("examples/all-in-one-3.2.topo");
        let artifacts = render(&d, &[Target::Puppet]);
        let site = &d.sites[0];
        let cluster = &site.clusters[0];
        let manager = cluster.nodes.iter().find(|n| n.manager).expect("a manager");
        let data = yaml(get(&artifacts, &puppet_node_data(&manager.fqdn)));
        assert_eq!(data["apim::share_method"], "rsync");
        let mut expected: Vec<Value> = cluster
            .nodes
            .iter()
            .filter(|n| n.name != manager.name)
            .map(|n| Value::from(n.fqdn.clone()))
            .collect();
        expected.push(Value::from(format!("?{}", cluster.surge.fqdn)));
        assert_eq!(data["apim::rsync_peers"].as_array().unwrap(), &expected);
        for other in cluster.nodes.iter().filter(|n| !n.manager) {
            let data = yaml(get(&artifacts, &puppet_node_data(&other.fqdn)));
            assert_eq!(data["apim::rsync_peers"], Value::Array(Vec::new()));
        }
    }

    #[test]
    fn the_load_balancer_host_carries_the_sites_nginx_conf() {
        let d = deployment(PAIR);
        let artifacts = render(&d, &[Target::Puppet]);
        let host = d.sites[0].lb_host();
        assert_eq!(host, "load-balancer.apim.shop.example");
        let data = yaml(get(&artifacts, &puppet_node_data(&host)));
        let config = data["apim::load_balancer::config"].as_str().unwrap();
        assert!(config.contains("upstream edge-lb-portal {"), "{config}");
        assert!(
            node_definitions(get(&artifacts, layout::puppet::SITE))
                .contains(&"'load-balancer.apim.shop.example'")
        );
        let common = yaml(get(&artifacts, layout::puppet::COMMON_DATA));
        assert_eq!(common["apim::user"], HOSTS_USER);
    }

    #[test]
    fn two_nodes_on_one_certname_are_refused() {
        let d = deployment(PAIR);
        let templates = crate::text::templates::Templates::new(None).unwrap();
        let ctx = Context {
            deployment: &d,
            templates: &templates,
            sync_script: String::new(),
            lb_script: String::new(),
            configs: Default::default(),
        };
        let node = |owner: &str| SiteNode {
            certname: "cp-1.apim.shop.example".to_string(),
            class: "apim::profile::control_plane".to_string(),
            describes: String::new(),
            owner: owner.to_string(),
        };
        let mut out = Artifacts::default();
        let error = emit_common(&ctx, vec![node("node a"), node("node b")], &mut out)
            .expect_err("one certname, two nodes");
        let message = error.to_string();
        assert!(message.contains("node b and node a"), "{message}");
        assert!(message.contains("different `domain`s"), "{message}");
        assert!(out.is_empty());
    }

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
