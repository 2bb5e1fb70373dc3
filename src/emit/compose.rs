//! Docker Compose, per datacenter: `compose.yaml` (compose specification,
//! current keys) with a service per node, health checks, `depends_on` in
//! start order, each node's deployment.toml mounted, named volumes for file
//! shares, compose secrets for passwords and an nginx load balancer
//! (passive nodes as `backup` upstreams).

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Artifacts, BuildError, Context, ProductFile};
use crate::deployment::config::cluster_address;
use crate::deployment::*;
use crate::model::ShareMethod;

use crate::deployment::layout::{
    DEPLOYMENT_TOML, IMAGE_BASE as HOME, IMAGE_ENTRYPOINT, LIB_FOLDER, SECURITY_FOLDER, SyncMode,
    compose, compose_config_source, in_config_volume, sync,
};
use crate::model::naming::{ImageRef, LOAD_BALANCER};

const NETWORK: &str = "apim";

#[derive(Serialize)]
struct ComposeFile {
    name: String,
    services: BTreeMap<String, ComposeService>,
    networks: BTreeMap<String, NetworkDef>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    volumes: BTreeMap<String, VolumeDef>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    secrets: BTreeMap<String, SecretDef>,
}

#[derive(Serialize, Default)]
struct ComposeService {
    image: String,
    /// `always` for an image whose tag WSO2 may move, so that every node
    /// starts the same image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pull_policy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<String>,
    hostname: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    profiles: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    entrypoint: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    command: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    environment: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    secrets: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ports: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    volumes: Vec<Mount>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    depends_on: BTreeMap<String, DependsOn>,
    #[serde(skip_serializing_if = "Option::is_none")]
    healthcheck: Option<Healthcheck>,
    networks: BTreeMap<String, NetworkAttachment>,
    restart: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    deploy: Option<Deploy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stop_grace_period: Option<String>,
}

#[derive(Serialize)]
struct Mount {
    #[serde(rename = "type")]
    kind: MountKind,
    source: String,
    target: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    read_only: bool,
    /// A folder of a named volume.
    #[serde(skip_serializing_if = "Option::is_none")]
    volume: Option<VolumeOptions>,
}

#[derive(Serialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum MountKind {
    /// A file or folder of the project (or the operator's folder).
    Bind,
    /// A named volume.
    Volume,
}

#[derive(Serialize)]
struct VolumeOptions {
    subpath: String,
}

#[derive(Serialize)]
struct DependsOn {
    condition: Condition,
}

/// When a service that another depends on is far enough along.
#[derive(Serialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum Condition {
    /// Its health check passes.
    ServiceHealthy,
    /// It has started.
    ServiceStarted,
}

#[derive(Serialize)]
struct Healthcheck {
    test: Vec<String>,
    interval: String,
    timeout: String,
    retries: u32,
    start_period: String,
}

#[derive(Serialize)]
struct NetworkAttachment {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    aliases: Vec<String>,
}

#[derive(Serialize)]
struct Deploy {
    resources: Resources,
}

#[derive(Serialize)]
struct Resources {
    limits: Limits,
}

#[derive(Serialize)]
struct Limits {
    cpus: String,
    memory: String,
}

#[derive(Serialize)]
struct NetworkDef {
    driver: String,
}

#[derive(Serialize, Default)]
struct VolumeDef {
    #[serde(skip_serializing_if = "Option::is_none")]
    driver: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    driver_opts: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct SecretDef {
    file: String,
}

/// The operator's folder as the project at `compose/<datacenter>/` reaches
/// it: beside the output folder.
fn operator_files(d: &Deployment) -> String {
    format!("../../../{}", d.operator_files)
}

fn memory(bytes: u64) -> String {
    if bytes.is_multiple_of(1 << 30) {
        format!("{}g", bytes >> 30)
    } else if bytes.is_multiple_of(1 << 20) {
        format!("{}m", bytes >> 20)
    } else {
        format!("{bytes}b")
    }
}

fn cpus(cores: f64) -> String {
    crate::model::format_number(cores)
}

/// The entrypoint that turns compose secrets (files under /run/secrets)
/// into the environment variables deployment.toml reads, then starts the
/// product. Secret and variable names are from a safe alphabet.
fn entrypoint(secrets: &[SecretEnv]) -> Vec<String> {
    let mut script = String::from("set -eu; ");
    for secret in secrets {
        script.push_str(&format!(
            "{}=\"$(cat /run/secrets/{})\"; export {}; ",
            secret.env, secret.name, secret.env
        ));
    }
    script.push_str(&format!("exec {IMAGE_ENTRYPOINT} \"$@\""));
    vec![
        "/bin/sh".to_string(),
        "-c".to_string(),
        script,
        "wso2am".to_string(),
    ]
}

/// What a datacenter's Compose file collects while its services are
/// added.
#[derive(Default)]
struct Project {
    services: BTreeMap<String, ComposeService>,
    volumes: BTreeMap<String, VolumeDef>,
    secrets: BTreeMap<String, SecretDef>,
    /// Some service runs the artifact sync script.
    needs_sync_script: bool,
}

/// The Compose project of one datacenter.
pub fn emit_site(ctx: &Context, site: &Site, out: &mut Artifacts) -> Result<(), BuildError> {
    // A standby datacenter's services start only with the failover
    // profile.
    let standby: Vec<String> = if site.running() {
        Vec::new()
    } else {
        vec!["failover".to_string()]
    };
    let mut project = Project::default();
    for cluster in site.start_order() {
        project.add_cluster(ctx, site, cluster, &standby, out)?;
    }
    if project.needs_sync_script {
        out.insert(
            site.compose_path(compose::SYNC_SCRIPT),
            ctx.sync_script.clone(),
        );
    }
    if !site.load_balancers.is_empty() {
        let nginx = super::nginx::config(ctx, site)?;
        out.insert(site.compose_path(compose::NGINX), nginx);
        out.insert(site.lb_script(), ctx.lb_script.clone());
        project.services.insert(
            LOAD_BALANCER.to_string(),
            load_balancer_service(ctx.deployment, site, &standby),
        );
    }
    out.insert(site.compose_file(), compose_yaml(site, project)?);
    Ok(())
}

impl Project {
    /// A cluster's nodes, then the temporary node the upgrade runbooks
    /// start (profile `surge`: `docker compose up` leaves it alone), with
    /// the secrets and share they use.
    fn add_cluster(
        &mut self,
        ctx: &Context,
        site: &Site,
        cluster: &ClusterPlan,
        standby: &[String],
        out: &mut Artifacts,
    ) -> Result<(), BuildError> {
        let d = ctx.deployment;
        for secret in &d.node_secrets(cluster) {
            self.secrets.insert(
                secret.name.clone(),
                SecretDef {
                    file: format!("{}/secrets/{}", operator_files(d), secret.name),
                },
            );
        }
        let share = cluster
            .share
            .as_ref()
            .and_then(|s| site.shares.iter().find(|sh| sh.label == *s));
        if let Some(share) = share {
            self.volumes
                .insert(share.label.clone(), share_volume(share));
        }
        let files = ctx.product_files(cluster)?;
        for node in cluster.nodes.iter().chain([&cluster.surge]) {
            let surge = node.name == cluster.surge.name;
            let profiles: Vec<String> = if surge {
                vec!["surge".to_string()]
            } else {
                standby.to_vec()
            };
            let config = ctx.render_config(site, cluster, node, Network::Hosts)?;
            out.insert(site.compose_config(&node.name, "deployment.toml"), config);
            for file in &files {
                out.insert(
                    site.compose_config(&node.name, &file.path),
                    file.content.clone(),
                );
            }
            let mut mounts = product_mounts(d, cluster, node, &files, share);
            if let Some(sync) = site.node_artifact_sync(cluster, Some(node)) {
                mounts.extend(self.artifact_sync(d, cluster, node, share, &profiles, sync));
            }
            self.services.insert(
                node.name.clone(),
                product_service(d, site, cluster, node, profiles, mounts),
            );
        }
        Ok(())
    }

    /// The artifact sync service of a node, beside it in the node's own
    /// image: it reads and writes the node's API folder, through the file
    /// share when the share holds that folder (APIM 3.x shares the
    /// deployment folder), else through a volume of the node's own, which
    /// the node then mounts (returned).
    fn artifact_sync(
        &mut self,
        d: &Deployment,
        cluster: &ClusterPlan,
        node: &NodePlan,
        share: Option<&SharePlan>,
        profiles: &[String],
        (mode, source): (SyncMode, &ArtifactSync),
    ) -> Option<Mount> {
        self.needs_sync_script = true;
        let mut mount = None;
        let target = cluster.api_folder(HOME);
        let share_target = cluster.share_mount(HOME, d.major);
        let in_share = share.and_then(|share| {
            let rest = target.strip_prefix(&format!("{share_target}/"))?;
            Some((share.label.clone(), format!("{}/{rest}", sync::ARTIFACTS)))
        });
        let (volume, dir) = match in_share {
            Some(found) => found,
            None => {
                let volume = format!("{}-synapse", node.name);
                self.volumes.insert(volume.clone(), VolumeDef::default());
                mount = Some(Mount {
                    kind: MountKind::Volume,
                    source: volume.clone(),
                    target,
                    read_only: false,
                    volume: None,
                });
                (volume, sync::ARTIFACTS.to_string())
            }
        };
        if let Some(credentials) = &source.credentials {
            self.secrets.insert(
                credentials.name.clone(),
                SecretDef {
                    file: format!("./secrets/{}", credentials.name),
                },
            );
        }
        self.services.insert(
            format!("{}-artifact-sync", node.name),
            sync_service(
                d,
                cluster,
                node,
                mode.name(),
                source,
                &volume,
                &dir,
                profiles,
            ),
        );
        mount
    }
}

/// A bind mount of a file (or folder) the service only reads.
fn read_only_bind(source: String, target: String) -> Mount {
    Mount {
        kind: MountKind::Bind,
        source,
        target,
        read_only: true,
        volume: None,
    }
}

/// What a node mounts: its deployment.toml and other files into the
/// config volume (the image's entrypoint copies it over the product), the
/// operator's keystore and truststore (the same files on every node), the
/// JDBC drivers (no WSO2 image ships one), and its cluster's file share.
fn product_mounts(
    d: &Deployment,
    cluster: &ClusterPlan,
    node: &NodePlan,
    files: &[ProductFile],
    share: Option<&SharePlan>,
) -> Vec<Mount> {
    let mut mounts = vec![read_only_bind(
        compose_config_source(&node.name, "deployment.toml"),
        in_config_volume(DEPLOYMENT_TOML),
    )];
    for file in files {
        mounts.push(read_only_bind(
            compose_config_source(&node.name, &file.path),
            in_config_volume(&file.path),
        ));
    }
    for store in d.keystores.supplied() {
        mounts.push(read_only_bind(
            format!("{}/security/{}", operator_files(d), store.file),
            in_config_volume(&format!("{SECURITY_FOLDER}/{}", store.file)),
        ));
    }
    for driver in &cluster.drivers {
        mounts.push(read_only_bind(
            format!("{}/lib/{driver}", operator_files(d)),
            in_config_volume(&format!("{LIB_FOLDER}/{driver}")),
        ));
    }
    let Some(share) = share else {
        return mounts;
    };
    let target = cluster.share_mount(HOME, d.major);
    if d.major >= 4 {
        mounts.push(Mount {
            kind: MountKind::Volume,
            source: share.label.clone(),
            target,
            read_only: false,
            volume: None,
        });
    } else {
        // APIM 3.x shares what WSO2 shares; the image keeps the rest of
        // its deployment folder (webapps).
        for folder in crate::deployment::layout::SHARED_FOLDERS_3X {
            mounts.push(Mount {
                kind: MountKind::Volume,
                source: share.label.clone(),
                target: format!("{target}/{folder}"),
                read_only: false,
                volume: Some(VolumeOptions {
                    subpath: folder.to_string(),
                }),
            });
        }
    }
    mounts
}

/// A node's service: the product image as its own user, the entrypoint
/// that reads the secrets, the network aliases its peers and clients use
/// (an active node also answers for its cluster), the nodes it waits for,
/// its health check and resources.
fn product_service(
    d: &Deployment,
    site: &Site,
    cluster: &ClusterPlan,
    node: &NodePlan,
    profiles: Vec<String>,
    mounts: Vec<Mount>,
) -> ComposeService {
    let cluster_secrets = d.node_secrets(cluster);
    let mut aliases = vec![node.fqdn.clone()];
    if node.role == NodeRole::Active {
        aliases.push(cluster_address(site, cluster, Network::Hosts));
    }
    let mut depends_on = BTreeMap::new();
    for dependency in &cluster.depends_on {
        if let Some(dep) = site.cluster(dependency) {
            for dep_node in &dep.nodes {
                depends_on.insert(
                    dep_node.name.clone(),
                    DependsOn {
                        condition: Condition::ServiceHealthy,
                    },
                );
            }
        }
    }
    let mut environment = BTreeMap::from([(
        "JVM_MEM_OPTS".to_string(),
        format!("-Xms{0}m -Xmx{0}m", cluster.heap_mib()),
    )]);
    environment.insert("NODE_NAME".to_string(), node.name.clone());
    let start = cluster.image_start();
    if let Some(profile) = start.profile_name {
        environment.insert("PROFILE_NAME".to_string(), profile);
    }
    ComposeService {
        image: cluster.image.clone(),
        pull_policy: pull_policy(cluster),
        user: Some(user(d)),
        hostname: node.name.clone(),
        profiles,
        entrypoint: entrypoint(&cluster_secrets),
        command: start.args,
        environment,
        secrets: cluster_secrets.iter().map(|s| s.name.clone()).collect(),
        ports: Vec::new(),
        volumes: mounts,
        depends_on,
        // The readiness endpoint of the Kubernetes probe, with curl (the
        // product images keep it; they remove netcat).
        healthcheck: Some(Healthcheck {
            test: vec![
                "CMD".into(),
                "curl".into(),
                "-fsSk".into(),
                "-o".into(),
                "/dev/null".into(),
                cluster.readiness(d.major).local_url(),
            ],
            interval: "10s".to_string(),
            timeout: "5s".to_string(),
            retries: 30,
            start_period: "180s".to_string(),
        }),
        networks: BTreeMap::from([(NETWORK.to_string(), NetworkAttachment { aliases })]),
        restart: "unless-stopped".to_string(),
        deploy: Some(Deploy {
            resources: Resources {
                limits: Limits {
                    cpus: cpus(cluster.cpu),
                    memory: memory(cluster.memory_bytes),
                },
            },
        }),
        stop_grace_period: Some("60s".to_string()),
    }
}

/// The datacenter's nginx, in front of the clusters its load balancers
/// front (it waits for their nodes), on the load balancers' host names;
/// the gateways' WebSocket ports too when it fronts gateways.
fn load_balancer_service(d: &Deployment, site: &Site, standby: &[String]) -> ComposeService {
    let mut depends_on = BTreeMap::new();
    for lb in &site.load_balancers {
        for cluster in lb.fronts.iter().filter_map(|f| site.cluster(f)) {
            for node in &cluster.nodes {
                depends_on.insert(
                    node.name.clone(),
                    DependsOn {
                        condition: Condition::ServiceHealthy,
                    },
                );
            }
        }
    }
    let mut ports = vec!["80:80".to_string(), "443:443".to_string()];
    let fronts_gateways = site.load_balancers.iter().any(|lb| {
        lb.routes(site)
            .iter()
            .any(|route| route.kind == RouteKind::Api)
    });
    if fronts_gateways {
        ports.extend([WSS_PORT, WS_PORT].map(|p| format!("{p}:{p}")));
    }
    ComposeService {
        image: d.nginx_image(),
        hostname: LOAD_BALANCER.to_string(),
        profiles: standby.to_vec(),
        ports,
        volumes: vec![
            read_only_bind(
                format!("./{}", compose::NGINX),
                "/etc/nginx/nginx.conf".to_string(),
            ),
            read_only_bind(
                format!("{}/tls", operator_files(d)),
                "/etc/nginx/tls".to_string(),
            ),
        ],
        depends_on,
        healthcheck: Some(Healthcheck {
            test: vec!["CMD".into(), "nginx".into(), "-t".into()],
            interval: "30s".to_string(),
            timeout: "5s".to_string(),
            retries: 3,
            start_period: "10s".to_string(),
        }),
        networks: BTreeMap::from([(
            NETWORK.to_string(),
            NetworkAttachment {
                aliases: site
                    .load_balancers
                    .iter()
                    .map(|lb| lb.hostname.clone())
                    .collect(),
            },
        )]),
        restart: "unless-stopped".to_string(),
        ..ComposeService::default()
    }
}

/// The compose.yaml text: every string escaped for Compose's
/// interpolation, then the product image's tag made a variable with the
/// topology's version as default: the patch runbooks recreate one node at
/// a time with `WSO2AM_TAG=<patched tag> docker compose up ... <node>`.
fn compose_yaml(site: &Site, project: Project) -> Result<String, BuildError> {
    let file = ComposeFile {
        name: site.namespace.clone(),
        services: project.services,
        networks: BTreeMap::from([(
            NETWORK.to_string(),
            NetworkDef {
                driver: "bridge".to_string(),
            },
        )]),
        volumes: project.volumes,
        secrets: project.secrets,
    };
    let value =
        serde_json::to_value(&file).map_err(|e| BuildError::Emit(format!("compose file: {e}")))?;
    let mut value = escape_interpolation(value);
    if let Some(services) = value.get_mut("services").and_then(|s| s.as_object_mut()) {
        for cluster in &site.clusters {
            for node in cluster.nodes.iter().chain([&cluster.surge]) {
                if let Some(image) = services
                    .get_mut(&node.name)
                    .and_then(|s| s.get_mut("image"))
                {
                    *image = serde_json::Value::String(tagged_image(&cluster.image));
                }
            }
        }
    }
    serde_saphyr::to_string(&value).map_err(|e| BuildError::Emit(format!("compose YAML: {e}")))
}

fn share_volume(share: &SharePlan) -> VolumeDef {
    match share.method {
        ShareMethod::Nfs => VolumeDef {
            driver: Some("local".to_string()),
            driver_opts: BTreeMap::from([
                ("type".to_string(), "nfs".to_string()),
                (
                    "o".to_string(),
                    format!(
                        "addr={},rw,hard,nfsvers=4.1",
                        share.server.clone().unwrap_or_default()
                    ),
                ),
                (
                    "device".to_string(),
                    format!(":{}", share.path.clone().unwrap_or_default()),
                ),
            ]),
        },
        _ => VolumeDef::default(),
    }
}

/// The user the product runs as, `uid:gid`.
fn user(d: &Deployment) -> String {
    format!("{}:{}", d.run_as.user, d.run_as.group)
}

fn pull_policy(cluster: &ClusterPlan) -> Option<String> {
    (!cluster.image_pinned).then(|| "always".to_string())
}

/// The artifact sync runs in the node's own image (it has curl and tar).
#[allow(clippy::too_many_arguments)]
fn sync_service(
    d: &Deployment,
    cluster: &ClusterPlan,
    node: &NodePlan,
    mode: &str,
    source: &ArtifactSync,
    volume: &str,
    dir: &str,
    profiles: &[String],
) -> ComposeService {
    ComposeService {
        image: cluster.image.clone(),
        pull_policy: pull_policy(cluster),
        user: Some(user(d)),
        entrypoint: vec!["sh".to_string()],
        hostname: format!("{}-artifact-sync", node.name),
        profiles: profiles.to_vec(),
        command: vec![sync::SCRIPT.to_string(), mode.to_string()],
        environment: {
            let mut environment = BTreeMap::from([
                ("ARTIFACT_URL".to_string(), source.url.clone()),
                ("ARTIFACT_DIR".to_string(), dir.to_string()),
                (
                    "ARTIFACT_INTERVAL".to_string(),
                    source.interval_seconds.to_string(),
                ),
                ("ARTIFACT_STATE".to_string(), sync::STATE.to_string()),
            ]);
            // The credentials are a Compose secret: a file, never a value.
            if let Some(credentials) = &source.credentials {
                environment.insert(
                    format!("{}_FILE", credentials.env),
                    format!("/run/secrets/{}", credentials.name),
                );
            }
            environment
        },
        secrets: source.credentials.iter().map(|c| c.name.clone()).collect(),
        volumes: vec![
            Mount {
                kind: MountKind::Volume,
                source: volume.to_string(),
                target: sync::ARTIFACTS.to_string(),
                read_only: false,
                volume: None,
            },
            Mount {
                kind: MountKind::Bind,
                source: format!("./{}", compose::SYNC_SCRIPT),
                target: sync::SCRIPT.to_string(),
                read_only: true,
                volume: None,
            },
        ],
        // The node creates (and seeds) the volume first.
        depends_on: BTreeMap::from([(
            node.name.clone(),
            DependsOn {
                condition: Condition::ServiceStarted,
            },
        )]),
        healthcheck: Some(Healthcheck {
            test: vec![
                "CMD".into(),
                "sh".into(),
                sync::SCRIPT.into(),
                "health".into(),
            ],
            interval: "30s".to_string(),
            timeout: "5s".to_string(),
            retries: 3,
            start_period: "30s".to_string(),
        }),
        networks: BTreeMap::from([(
            NETWORK.to_string(),
            NetworkAttachment {
                aliases: Vec::new(),
            },
        )]),
        restart: "unless-stopped".to_string(),
        ..ComposeService::default()
    }
}

use crate::deployment::layout::TAG_VARIABLE;

/// `repository:${WSO2AM_TAG:-tag}`, the rest escaped for interpolation.
fn tagged_image(image: &str) -> String {
    let image = ImageRef::parse(image);
    // A digest names one image: nothing to override.
    if image.digest.is_some() {
        return image.to_string().replace('$', "$$");
    }
    format!(
        "{}:${{{TAG_VARIABLE}:-{}}}",
        image.repository.replace('$', "$$"),
        image.tag_or_latest().replace('$', "$$").replace('}', "")
    )
}

/// Compose interpolates `$VAR` and `${VAR}` in every string of the file; a
/// literal `$` is written `$$`.
fn escape_interpolation(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(s) => Value::String(s.replace('$', "$$")),
        Value::Array(items) => Value::Array(items.into_iter().map(escape_interpolation).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, escape_interpolation(v)))
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::emit::Target;
    use crate::emit::testing::{PAIR, deployment, file, get, render, yaml};

    fn compose(d: &Deployment, site: &str) -> Value {
        let artifacts = render(d, &[Target::Compose]);
        yaml(get(&artifacts, &format!("compose/{site}/compose.yaml")))
    }

    #[test]
    fn every_product_service_runs_as_the_images_user_and_checks_its_readiness() {
        let d = deployment(PAIR);
        let file = compose(&d, "main");
        let services = file["services"].as_object().unwrap();
        let user = format!("{}:{}", d.run_as.user, d.run_as.group);
        for name in ["cp-1", "cp-2", "cp-surge", "gw-1", "gw-2", "gw-surge"] {
            let service = &services[name];
            assert_eq!(service["user"], user.as_str(), "{name}");
            assert_eq!(service["hostname"], name);
            assert_eq!(service["restart"], "unless-stopped");
            let test = service["healthcheck"]["test"].as_array().unwrap();
            assert_eq!(
                test[..2],
                [Value::from("CMD"), Value::from("curl")],
                "{name}"
            );
            let url = test.last().unwrap().as_str().unwrap();
            let expected = if name.starts_with("gw") {
                layout::GATEWAY_READY.local_url()
            } else {
                layout::LIVENESS.local_url()
            };
            assert_eq!(url, expected, "{name}");
            // deployment.toml is mounted read-only into the config volume.
            let config = &service["volumes"][0];
            assert_eq!(config["type"], "bind");
            assert_eq!(config["source"], format!("./config/{name}/deployment.toml"));
            assert_eq!(config["target"], in_config_volume(DEPLOYMENT_TOML));
            assert_eq!(config["read_only"], true);
        }
        // The load balancer is nginx, not the product.
        assert!(services[LOAD_BALANCER]["user"].is_null());
        assert_eq!(services[LOAD_BALANCER]["image"], d.nginx_image());
    }

    #[test]
    fn the_active_node_answers_for_its_cluster_and_dependents_wait_for_health() {
        let file = compose(&deployment(PAIR), "main");
        let services = &file["services"];
        let aliases = |name: &str| -> Vec<String> {
            services[name]["networks"][NETWORK]["aliases"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(
            aliases("cp-1"),
            ["cp-1.apim.shop.example", "cp.apim.shop.example"]
        );
        assert_eq!(aliases("cp-2"), ["cp-2.apim.shop.example"]);
        // The gateways call the control plane (their key manager).
        for gateway in ["gw-1", "gw-2"] {
            let depends = services[gateway]["depends_on"].as_object().unwrap();
            assert_eq!(
                depends.keys().collect::<Vec<_>>(),
                ["cp-1", "cp-2"],
                "{gateway}"
            );
            assert!(
                depends
                    .values()
                    .all(|d| d["condition"] == "service_healthy")
            );
        }
        // Only the upgrade runbooks start the temporary nodes.
        assert_eq!(services["cp-surge"]["profiles"][0], "surge");
        assert!(services["cp-1"]["profiles"].is_null());
        assert_eq!(
            services[LOAD_BALANCER]["networks"][NETWORK]["aliases"][0],
            "edge-lb.apim.shop.example"
        );
        let ports = services[LOAD_BALANCER]["ports"].as_array().unwrap();
        assert!(ports.contains(&Value::from(format!("{WSS_PORT}:{WSS_PORT}"))));
    }

    #[test]
    fn a_standby_datacenter_starts_only_with_the_failover_profile() {
        let d = file("examples/multi-datacenter.topo");
        let file = compose(&d, "singapore");
        for (name, service) in file["services"].as_object().unwrap() {
            let profiles = service["profiles"].as_array().unwrap();
            let expected = if name.ends_with("-surge") || name.contains("-surge-") {
                "surge"
            } else {
                "failover"
            };
            assert_eq!(profiles, &[Value::from(expected)], "{name}");
        }
        let running = compose(&d, "colombo");
        assert!(running["services"]["control-plane-1"]["profiles"].is_null());
    }

    #[test]
    fn the_product_tag_is_a_variable_that_keeps_registry_ports_and_digests() {
        assert_eq!(
            tagged_image("registry.example:5000/wso2/wso2am:4.2.0.7"),
            "registry.example:5000/wso2/wso2am:${WSO2AM_TAG:-4.2.0.7}"
        );
        assert_eq!(
            tagged_image("registry.example:5000/wso2/wso2am"),
            "registry.example:5000/wso2/wso2am:${WSO2AM_TAG:-latest}"
        );
        let digest = format!("wso2am@sha256:{}", "0".repeat(64));
        assert_eq!(tagged_image(&digest), digest, "a digest is not retagged");
        // What is not the variable is escaped for interpolation.
        assert_eq!(tagged_image("r/$x:1"), "r/$$x:${WSO2AM_TAG:-1}");
        let file = compose(&file("tests/fixtures/build/hostile.topo"), "on");
        let image = file["services"]["null-1"]["image"].as_str().unwrap();
        assert_eq!(
            image,
            "registry.example:5000/wso2/wso2am:${WSO2AM_TAG:-4.2.0.7}"
        );
    }

    #[test]
    fn every_literal_dollar_is_escaped_for_compose() {
        let value = serde_json::json!({"a": ["$HOME", {"b": "${X}"}], "n": 1});
        assert_eq!(
            escape_interpolation(value),
            serde_json::json!({"a": ["$$HOME", {"b": "$${X}"}], "n": 1})
        );
        // The entrypoint's command substitutions reach the shell intact.
        let file = compose(&deployment(PAIR), "main");
        let script = file["services"]["cp-1"]["entrypoint"][2].as_str().unwrap();
        assert!(
            script.contains("=\"$$(cat /run/secrets/apim-db-password)\""),
            "{script}"
        );
        assert!(
            script.ends_with(&format!("exec {IMAGE_ENTRYPOINT} \"$$@\"")),
            "{script}"
        );
    }

    #[test]
    fn artifact_sync_runs_beside_the_gateways_that_pull_or_push() {
        let d = file("examples/multi-datacenter.topo");
        let london = compose(&d, "london");
        let services = london["services"].as_object().unwrap();
        let syncs: Vec<&String> = services
            .keys()
            .filter(|n| n.ends_with("-artifact-sync"))
            .collect();
        assert!(!syncs.is_empty());
        for name in syncs {
            let sync = &services[name];
            assert_eq!(sync["command"][0], sync::SCRIPT);
            assert_eq!(sync["command"][1], SyncMode::Pull.name(), "{name}");
            let node = name.trim_end_matches("-artifact-sync");
            assert_eq!(sync["depends_on"][node]["condition"], "service_started");
            // It shares the node's API folder through a named volume.
            let volume = sync["volumes"][0]["source"].as_str().unwrap();
            let product = services[node]["volumes"].as_array().unwrap();
            assert!(
                product.iter().any(|m| m["source"] == volume
                    && m["type"] == "volume"
                    && m["target"].as_str().unwrap().ends_with(layout::API_FOLDER)),
                "{name}"
            );
            assert!(london["volumes"][volume].is_object(), "{volume}");
        }
    }

    #[test]
    fn memory_and_cpus_are_written_as_compose_reads_them() {
        assert_eq!(memory(4 << 30), "4g");
        assert_eq!(memory(1536 << 20), "1536m");
        assert_eq!(memory(1000), "1000b");
        assert_eq!(cpus(0.5), "0.5");
        assert_eq!(cpus(2.0), "2");
    }
}
