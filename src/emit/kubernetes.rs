//! Kubernetes manifests, per datacenter, from typed objects (k8s-openapi)
//! serialized as YAML.
//!
//! Per HA-paired node: its own Deployment, Service and ConfigMap (the two
//! instances name each other); stateless clusters: one Deployment with
//! replicas, rolled with `maxUnavailable: 0`. Every workload has probes,
//! resources, a non-root security context, anti-affinity and topology
//! spread, a PodDisruptionBudget whose selector matches its pods, a config
//! checksum annotation, init containers that wait for what it depends on,
//! and Secret references for every password (the Secret is created by the
//! operator).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    Deployment as K8sDeployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment,
};
use k8s_openapi::api::core::v1::Affinity;
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMap, ConfigMapVolumeSource, Container, ContainerPort, EmptyDirVolumeSource,
    EnvVar, EnvVarSource, ExecAction, HTTPGetAction, KeyToPath, Lifecycle, LifecycleHandler,
    LocalObjectReference, NFSVolumeSource, Namespace, ObjectFieldSelector, PersistentVolume,
    PersistentVolumeClaim, PersistentVolumeClaimSpec, PersistentVolumeClaimVolumeSource,
    PersistentVolumeSpec, PodAffinityTerm, PodAntiAffinity, PodSecurityContext, PodSpec,
    PodTemplateSpec, Probe, ResourceRequirements, SeccompProfile, SecretKeySelector,
    SecretVolumeSource, SecurityContext, Service, ServicePort, ServiceSpec, TCPSocketAction,
    TopologySpreadConstraint, Volume, VolumeMount, VolumeResourceRequirements,
    WeightedPodAffinityTerm,
};
use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule,
    IngressServiceBackend, IngressSpec, IngressTLS, ServiceBackendPort,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Serialize;

use super::{Artifacts, BuildError, Context, ProductFile, checksum};
use crate::deployment::*;

use crate::deployment::layout::{
    DEPLOYMENT_TOML, GATE_HEALTH, GATE_PORT, Health, IMAGE_BASE as HOME, LIVENESS, PRODUCT_SERVICE,
    READ_ONLY_GATE, SECURITY_FOLDER, SERVING_DIR, SHARED_FOLDERS_3X, SyncMode, in_config_volume,
    labels, manifests, ports, sync,
};

type Labels = BTreeMap<String, String>;

fn yaml<T: Serialize>(object: &T) -> Result<String, BuildError> {
    serde_saphyr::to_string(object)
        .map_err(|e| BuildError::Emit(format!("YAML serialization failed: {e}")))
}

/// Several objects as one multi-document YAML file.
fn documents(objects: Vec<String>) -> String {
    let mut out = String::new();
    for (i, doc) in objects.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(doc);
        if !doc.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// Kubernetes expands `$(VAR)` in commands, arguments and environment
/// values; `$$` is a literal `$`.
fn literal(text: &str) -> String {
    text.replace('$', "$$")
}

fn meta(name: &str, namespace: Option<&str>, labels: &Labels) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_string()),
        namespace: namespace.map(str::to_string),
        labels: Some(labels.clone()),
        ..ObjectMeta::default()
    }
}

/// `2` -> "2", `0.5` -> "500m".
fn cpu_quantity(cores: f64) -> Quantity {
    if cores.fract() == 0.0 {
        Quantity(format!("{}", cores as u64))
    } else {
        Quantity(format!("{}m", (cores * 1000.0).round() as u64))
    }
}

/// Bytes as `4Gi`, `512Mi`, `64Ki` or bytes.
pub fn memory_quantity(bytes: u64) -> Quantity {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "Gi"), (1 << 20, "Mi"), (1 << 10, "Ki")];
    for (size, unit) in UNITS {
        if bytes >= size && bytes.is_multiple_of(size) {
            return Quantity(format!("{}{unit}", bytes / size));
        }
    }
    Quantity(bytes.to_string())
}

fn resources(cpu: f64, memory: u64, request_share: f64) -> ResourceRequirements {
    let requests = BTreeMap::from([
        ("cpu".to_string(), cpu_quantity(cpu * request_share)),
        ("memory".to_string(), memory_quantity(memory)),
    ]);
    let limits = BTreeMap::from([
        ("cpu".to_string(), cpu_quantity(cpu)),
        ("memory".to_string(), memory_quantity(memory)),
    ]);
    ResourceRequirements {
        requests: Some(requests),
        limits: Some(limits),
        ..ResourceRequirements::default()
    }
}

fn container_security(uid: RunAs) -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        run_as_non_root: Some(true),
        run_as_user: Some(i64::from(uid.user)),
        run_as_group: Some(i64::from(uid.group)),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".to_string()]),
            ..Capabilities::default()
        }),
        ..SecurityContext::default()
    }
}

fn http_probe(health: Health, period: i32, failures: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(health.path.to_string()),
            port: IntOrString::Int(i32::from(health.port)),
            scheme: Some(if health.https { "HTTPS" } else { "HTTP" }.to_string()),
            ..HTTPGetAction::default()
        }),
        period_seconds: Some(period),
        timeout_seconds: Some(5),
        failure_threshold: Some(failures),
        ..Probe::default()
    }
}

fn exec_probe(command: &[&str], period: i32) -> Probe {
    Probe {
        exec: Some(ExecAction {
            command: Some(command.iter().map(|s| s.to_string()).collect()),
        }),
        period_seconds: Some(period),
        timeout_seconds: Some(5),
        failure_threshold: Some(3),
        ..Probe::default()
    }
}

/// Labels shared by every object of a cluster.
fn cluster_labels(ctx: &Context, site: &Site, cluster: &ClusterPlan) -> Labels {
    BTreeMap::from([
        ("app.kubernetes.io/name".to_string(), "wso2am".to_string()),
        (
            "app.kubernetes.io/instance".to_string(),
            ctx.deployment.label.clone(),
        ),
        (
            "app.kubernetes.io/component".to_string(),
            cluster.profile.name().to_string(),
        ),
        (
            "app.kubernetes.io/version".to_string(),
            ctx.deployment.version.clone(),
        ),
        (
            "app.kubernetes.io/managed-by".to_string(),
            "topoc".to_string(),
        ),
        (labels::DATACENTER.to_string(), site.label.clone()),
        (labels::CLUSTER.to_string(), cluster.label.clone()),
    ])
}

fn selector(labels: &Labels) -> LabelSelector {
    LabelSelector {
        match_labels: Some(labels.clone()),
        ..LabelSelector::default()
    }
}

/// The Dockerfile of an image the pods run: WSO2's product image with the
/// JDBC drivers added, built from the drivers' folder beside the output.
pub fn dockerfile(d: &Deployment, image: &BuiltImage) -> String {
    let mut out = format!(
        "# The image the Kubernetes manifests of topology {} run: WSO2's product\n\
         # image with the JDBC drivers the datasources need (no WSO2 image ships one).\n\
         # Build and push it from the output folder, with the drivers in\n\
         # ../{}/lib/ beside it:\n\
         #\n\
         #   docker build -t {tag} -f {} ../{}/lib\n\
         #   docker push {tag}\n\
         #\n\
         # A patch builds it FROM the patched product image:\n\
         # --build-arg WSO2AM_IMAGE=<the product image of the new update level>.\n\
         ARG WSO2AM_IMAGE={}\n\
         FROM ${{WSO2AM_IMAGE}}\n",
        d.topology,
        d.operator_files,
        image.dockerfile,
        d.operator_files,
        image.from,
        tag = image.tag,
    );
    if !image.drivers.is_empty() {
        out.push_str(&format!(
            "COPY --chown={}:{} {} {}/\n",
            image.run_as.user,
            image.run_as.group,
            image.drivers.join(" "),
            image.lib
        ));
    }
    out
}

/// Does a load balancer of the site route to the portals?
fn has_portal_route(site: &Site) -> bool {
    site.load_balancers
        .iter()
        .any(|lb| lb.routes(site).iter().any(|r| r.kind == RouteKind::Portal))
}

/// The gate's nginx.conf: writes are refused (403), except logins and token
/// requests; reads pass. ingress-nginx sends the request's method and URL
/// in `X-Original-Method` and `X-Original-URL`.
const GATE_CONFIG: &str = r#"# The read-only gate of the portals (topoc): asked by the ingress for each
# portal request while the runbooks keep the Publisher and DevPortal
# read-only.
worker_processes 1;
pid /tmp/nginx.pid;
error_log /dev/stderr warn;
events {
    worker_connections 256;
}
http {
    access_log off;
    client_body_temp_path /tmp/client;
    proxy_temp_path /tmp/proxy;
    fastcgi_temp_path /tmp/fastcgi;
    uwsgi_temp_path /tmp/uwsgi;
    scgi_temp_path /tmp/scgi;
    map $http_x_original_method $write {
        default 1;
        GET 0;
        HEAD 0;
        OPTIONS 0;
    }
    map $http_x_original_url $login {
        default 0;
        "~^[a-z]+://[^/]+/(oauth2|oidc|commonauth|authenticationendpoint|logincontext)([/?]|$)" 1;
    }
    server {
        listen 8080;
        location = /healthz {
            return 200;
        }
        location / {
            if ($login) {
                return 200;
            }
            if ($write) {
                return 403;
            }
            return 200;
        }
    }
}
"#;

/// The nginx image's own unprivileged user.
const NGINX_USER: RunAs = RunAs {
    user: 101,
    group: 101,
};

/// The gate's nginx, its configuration from its ConfigMap.
fn gate_container(image: String) -> Container {
    Container {
        name: "nginx".to_string(),
        image: Some(image),
        image_pull_policy: Some("IfNotPresent".to_string()),
        command: Some(vec![
            "nginx".to_string(),
            "-c".to_string(),
            "/etc/topoc/gate/nginx.conf".to_string(),
            "-g".to_string(),
            "daemon off;".to_string(),
        ]),
        ports: Some(vec![ContainerPort {
            name: Some("http".to_string()),
            container_port: i32::from(GATE_PORT),
            protocol: Some("TCP".to_string()),
            ..ContainerPort::default()
        }]),
        resources: Some(resources(0.2, 64 << 20, 0.5)),
        security_context: Some(container_security(NGINX_USER)),
        readiness_probe: Some(http_probe(GATE_HEALTH, 5, 3)),
        liveness_probe: Some(http_probe(GATE_HEALTH, 10, 3)),
        volume_mounts: Some(vec![
            VolumeMount {
                name: "config".to_string(),
                mount_path: "/etc/topoc/gate".to_string(),
                read_only: Some(true),
                ..VolumeMount::default()
            },
            VolumeMount {
                name: "tmp".to_string(),
                mount_path: "/tmp".to_string(),
                ..VolumeMount::default()
            },
        ]),
        ..Container::default()
    }
}

/// The gate's Deployment: no replicas until a runbook needs it.
fn gate_deployment(
    d: &Deployment,
    site: &Site,
    labels: &Labels,
    pods: &Labels,
) -> Result<String, BuildError> {
    yaml(&K8sDeployment {
        metadata: meta(READ_ONLY_GATE, Some(&site.namespace), labels),
        spec: DeploymentSpec {
            replicas: Some(0),
            selector: selector(pods),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(labels.clone()),
                    annotations: Some(BTreeMap::from([(
                        "checksum/config".to_string(),
                        checksum(GATE_CONFIG),
                    )])),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    security_context: Some(pod_security(NGINX_USER, false)),
                    containers: vec![gate_container(d.nginx_image())],
                    affinity: Some(anti_affinity(&selector(pods))),
                    topology_spread_constraints: Some(zone_spread(selector(pods))),
                    image_pull_secrets: pull_secrets(d),
                    volumes: Some(vec![
                        Volume {
                            name: "config".to_string(),
                            config_map: Some(ConfigMapVolumeSource {
                                name: READ_ONLY_GATE.to_string(),
                                ..ConfigMapVolumeSource::default()
                            }),
                            ..Volume::default()
                        },
                        Volume {
                            name: "tmp".to_string(),
                            empty_dir: Some(EmptyDirVolumeSource::default()),
                            ..Volume::default()
                        },
                    ]),
                    ..PodSpec::default()
                }),
            },
            ..DeploymentSpec::default()
        },
        ..K8sDeployment::default()
    })
}

/// The gate: its configuration, a Deployment (no replicas until a runbook
/// needs it), a Service and a disruption budget.
fn read_only_gate(ctx: &Context, site: &Site) -> Result<String, BuildError> {
    let d = ctx.deployment;
    let labels = BTreeMap::from([
        (
            "app.kubernetes.io/managed-by".to_string(),
            "topoc".to_string(),
        ),
        ("app.kubernetes.io/instance".to_string(), d.label.clone()),
        (labels::DATACENTER.to_string(), site.label.clone()),
        (labels::GATE.to_string(), READ_ONLY_GATE.to_string()),
    ]);
    let pods = BTreeMap::from([(labels::GATE.to_string(), READ_ONLY_GATE.to_string())]);
    let config = yaml(&ConfigMap {
        metadata: meta(READ_ONLY_GATE, Some(&site.namespace), &labels),
        data: Some(BTreeMap::from([(
            "nginx.conf".to_string(),
            GATE_CONFIG.to_string(),
        )])),
        ..ConfigMap::default()
    })?;
    let deployment = gate_deployment(d, site, &labels, &pods)?;
    let service = service(
        READ_ONLY_GATE,
        site,
        &labels,
        &pods,
        vec![ServicePort {
            name: Some("http".to_string()),
            port: i32::from(GATE_PORT),
            target_port: Some(IntOrString::String("http".to_string())),
            protocol: Some("TCP".to_string()),
            ..ServicePort::default()
        }],
    )?;
    // Its two pods on two nodes, one of them at least while a node drains.
    let budget = yaml(&PodDisruptionBudget {
        metadata: meta(READ_ONLY_GATE, Some(&site.namespace), &labels),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(selector(&pods)),
            ..PodDisruptionBudgetSpec::default()
        }),
        ..PodDisruptionBudget::default()
    })?;
    Ok(documents(vec![config, deployment, service, budget]))
}

/// The manifests of one datacenter.
pub fn emit_site(ctx: &Context, site: &Site, out: &mut Artifacts) -> Result<(), BuildError> {
    out.insert(
        site.kubernetes_file(manifests::NAMESPACE),
        namespace(ctx, site)?,
    );
    if let Some(storage) = storage(site)? {
        out.insert(site.kubernetes_file(manifests::STORAGE), storage);
    }
    if needs_sync_script(site) {
        out.insert(
            site.kubernetes_file(manifests::ARTIFACT_SYNC),
            sync_script(ctx, site)?,
        );
    }
    for cluster in site.start_order() {
        let file = site.kubernetes_manifest(cluster);
        out.insert(file, cluster_objects(ctx, site, cluster)?);
    }
    if let Some(ingress) = ingresses(site)? {
        out.insert(site.kubernetes_file(manifests::INGRESS), ingress);
    }
    if has_portal_route(site) {
        out.insert(
            site.kubernetes_file(manifests::READ_ONLY_GATE),
            read_only_gate(ctx, site)?,
        );
    }
    Ok(())
}

fn namespace(ctx: &Context, site: &Site) -> Result<String, BuildError> {
    let labels = BTreeMap::from([
        (
            "app.kubernetes.io/part-of".to_string(),
            ctx.deployment.label.clone(),
        ),
        (labels::DATACENTER.to_string(), site.label.clone()),
        (labels::ROLE.to_string(), site.role.name().to_string()),
        (
            "pod-security.kubernetes.io/enforce".to_string(),
            "restricted".to_string(),
        ),
    ]);
    yaml(&Namespace {
        metadata: meta(&site.namespace, None, &labels),
        ..Namespace::default()
    })
}

/// The shares the site's clusters mount: a ReadWriteMany claim of the
/// share's `storage_class`, or else, for NFS, a PersistentVolume of its
/// export bound to the claim (an rsync share names no volume: FS004).
fn storage(site: &Site) -> Result<Option<String>, BuildError> {
    let mut docs = Vec::new();
    for share in &site.shares {
        if !site
            .clusters
            .iter()
            .any(|c| c.share.as_deref() == Some(share.label.as_str()))
        {
            continue;
        }
        let labels = BTreeMap::from([
            (labels::DATACENTER.to_string(), site.label.clone()),
            (labels::SHARE.to_string(), share.label.clone()),
        ]);
        let size = BTreeMap::from([("storage".to_string(), Quantity("10Gi".to_string()))]);
        let mut claim = PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteMany".to_string()]),
            resources: Some(VolumeResourceRequirements {
                requests: Some(size.clone()),
                ..VolumeResourceRequirements::default()
            }),
            ..PersistentVolumeClaimSpec::default()
        };
        if let Some(class) = &share.storage_class {
            claim.storage_class_name = Some(class.clone());
        } else if share.method == crate::model::ShareMethod::Nfs {
            let pv_name = format!("{}-{}", site.namespace, share.label);
            docs.push(yaml(&PersistentVolume {
                metadata: meta(&pv_name, None, &labels),
                spec: Some(PersistentVolumeSpec {
                    access_modes: Some(vec!["ReadWriteMany".to_string()]),
                    capacity: Some(size),
                    persistent_volume_reclaim_policy: Some("Retain".to_string()),
                    storage_class_name: Some(String::new()),
                    mount_options: Some(vec!["hard".to_string(), "nfsvers=4.1".to_string()]),
                    nfs: Some(NFSVolumeSource {
                        server: share.server.clone().unwrap_or_default(),
                        path: share.path.clone().unwrap_or_default(),
                        read_only: Some(false),
                    }),
                    ..PersistentVolumeSpec::default()
                }),
                ..PersistentVolume::default()
            })?);
            claim.storage_class_name = Some(String::new());
            claim.volume_name = Some(pv_name);
        }
        docs.push(yaml(&PersistentVolumeClaim {
            metadata: meta(&share.label, Some(&site.namespace), &labels),
            spec: Some(claim),
            ..PersistentVolumeClaim::default()
        })?);
    }
    Ok((!docs.is_empty()).then(|| documents(docs)))
}

/// Does any workload of the site pull or push artifacts?
fn needs_sync_script(site: &Site) -> bool {
    site.clusters
        .iter()
        .any(|c| site.artifact_sync(c).is_some())
}

fn sync_script(ctx: &Context, site: &Site) -> Result<String, BuildError> {
    let labels = BTreeMap::from([
        (
            "app.kubernetes.io/managed-by".to_string(),
            "topoc".to_string(),
        ),
        (labels::DATACENTER.to_string(), site.label.clone()),
    ]);
    yaml(&ConfigMap {
        metadata: meta(sync::CONFIG, Some(&site.namespace), &labels),
        data: Some(BTreeMap::from([(
            sync::SCRIPT_FILE.to_string(),
            ctx.sync_script.clone(),
        )])),
        ..ConfigMap::default()
    })
}

/// The Service ports of a cluster's nodes, by the names of their
/// container ports.
fn service_ports(cluster: &ClusterPlan) -> Vec<ServicePort> {
    cluster
        .ports
        .iter()
        .map(|p| ServicePort {
            name: Some(p.name.clone()),
            port: i32::from(p.port),
            target_port: Some(IntOrString::String(p.name.clone())),
            protocol: Some("TCP".to_string()),
            ..ServicePort::default()
        })
        .collect()
}

/// The objects of a cluster: per node of a pair, or once for a scaled
/// cluster, its configuration and Deployment; its Services; its
/// disruption budget.
fn cluster_objects(
    ctx: &Context,
    site: &Site,
    cluster: &ClusterPlan,
) -> Result<String, BuildError> {
    let labels = cluster_labels(ctx, site, cluster);
    let selector_labels = BTreeMap::from([(labels::CLUSTER.to_string(), cluster.label.clone())]);
    let files = ctx.product_files(cluster)?;
    let mut docs = match cluster.shape {
        Shape::Paired => paired_nodes(ctx, site, cluster, &labels, &files)?,
        Shape::Scaled => {
            let node = &cluster.nodes[0];
            let config = ctx.render_config(site, cluster, node, Network::Kubernetes)?;
            let config_name = ClusterPlan::config_map_name(&cluster.label);
            vec![
                config_map(&config_name, site, &labels, &config, &files)?,
                workload(
                    ctx,
                    &Workload {
                        site,
                        cluster,
                        node: None,
                        name: &cluster.label,
                        labels: &labels,
                        pod_selector: &selector_labels,
                        config_name: &config_name,
                        config: &config,
                        files: &files,
                        replicas: if site.running() {
                            cluster.nodes.len() as i32
                        } else {
                            0
                        },
                        serving: None,
                    },
                )?,
            ]
        }
    };
    // The cluster's own Service selects every node: traffic goes to the
    // ready ones, which for an active-passive pair is the serving node, or
    // its standby once it is lost.
    docs.push(service(
        &cluster.label,
        site,
        &labels,
        &selector_labels,
        service_ports(cluster),
    )?);
    docs.push(disruption_budget(site, cluster, &labels, &selector_labels)?);
    Ok(documents(docs))
}

/// The nodes of a pair, each its own ConfigMap, Deployment and Service,
/// then the temporary node the upgrade runbooks start (`replicas: 0` until
/// then); first, for an active-passive pair, the ConfigMap naming the
/// serving node, which the standby's readiness follows (see
/// `standby_readiness`).
fn paired_nodes(
    ctx: &Context,
    site: &Site,
    cluster: &ClusterPlan,
    labels: &Labels,
    files: &[ProductFile],
) -> Result<Vec<String>, BuildError> {
    let mut docs = Vec::new();
    let standby = cluster.ha == crate::model::HaMode::ActivePassive;
    let serving = standby.then(|| cluster.serving_config());
    if let (Some(name), Some(active)) = (&serving, cluster.active_nodes().next()) {
        docs.push(yaml(&ConfigMap {
            metadata: meta(name, Some(&site.namespace), labels),
            data: Some(BTreeMap::from([("node".to_string(), active.name.clone())])),
            ..ConfigMap::default()
        })?);
    }
    for node in cluster.nodes.iter().chain([&cluster.surge]) {
        let surge = node.name == cluster.surge.name;
        let mut node_labels = labels.clone();
        node_labels.insert(labels::NODE.to_string(), node.name.clone());
        node_labels.insert(labels::ROLE.to_string(), node.role.name().to_string());
        let config = ctx.render_config(site, cluster, node, Network::Kubernetes)?;
        let config_name = ClusterPlan::config_map_name(&node.name);
        docs.push(config_map(
            &config_name,
            site,
            &node_labels,
            &config,
            files,
        )?);
        let pod_selector = BTreeMap::from([
            (labels::CLUSTER.to_string(), cluster.label.clone()),
            (labels::NODE.to_string(), node.name.clone()),
        ]);
        docs.push(workload(
            ctx,
            &Workload {
                site,
                cluster,
                node: Some(node),
                name: &node.name,
                labels: &node_labels,
                pod_selector: &pod_selector,
                config_name: &config_name,
                config: &config,
                files,
                replicas: if surge || !site.running() { 0 } else { 1 },
                serving: serving.as_deref(),
            },
        )?);
        // A node's own address, which its peer's deployment.toml names:
        // published whether the pod is ready or not, so a standby still
        // receives its peer's events.
        docs.push(node_service(
            &node.name,
            site,
            &node_labels,
            &pod_selector,
            service_ports(cluster),
        )?);
    }
    Ok(docs)
}

/// An active-passive pair: the serving node is the one ready pod, and it
/// may not be evicted while it is (a standby, never ready while the
/// serving node is healthy, always may). Other clusters keep their floor.
fn disruption_budget(
    site: &Site,
    cluster: &ClusterPlan,
    labels: &Labels,
    pods: &Labels,
) -> Result<String, BuildError> {
    let budget = if cluster.ha == crate::model::HaMode::ActivePassive {
        PodDisruptionBudgetSpec {
            min_available: Some(IntOrString::Int(1)),
            unhealthy_pod_eviction_policy: Some("AlwaysAllow".to_string()),
            selector: Some(selector(pods)),
            ..PodDisruptionBudgetSpec::default()
        }
    } else {
        PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(cluster.max_unavailable as i32)),
            selector: Some(selector(pods)),
            ..PodDisruptionBudgetSpec::default()
        }
    };
    yaml(&PodDisruptionBudget {
        metadata: meta(&cluster.label, Some(&site.namespace), labels),
        spec: Some(budget),
        ..PodDisruptionBudget::default()
    })
}

/// The readiness of a node of an active-passive pair: ready when it is
/// healthy and either it is the serving node (the ConfigMap at
/// [`SERVING_DIR`] names it) or the serving node is not healthy. So the
/// cluster Service, which selects every node, sends the traffic to the
/// serving node, and to its standbys the moment it is lost; when it is
/// back, the traffic returns to it. The serving node's health is asked of
/// its own Service, which publishes it ready or not.
fn standby_readiness(site: &Site, cluster: &ClusterPlan, major: u32) -> Probe {
    let own = cluster.readiness(major).local_url();
    let serving = LIVENESS.url(&site.service_address("$serving"));
    let script = format!(
        "curl -fsk -o /dev/null --max-time 3 {own} || exit 1; \
         read -r serving < {SERVING_DIR}/node || [ -n \"$serving\" ] || exit 1; \
         [ \"$serving\" = \"$TOPOC_NODE\" ] && exit 0; \
         ! curl -fsk -o /dev/null --max-time 3 \"{serving}\""
    );
    Probe {
        exec: Some(ExecAction {
            command: Some(vec!["bash".to_string(), "-c".to_string(), script]),
        }),
        period_seconds: Some(5),
        timeout_seconds: Some(8),
        failure_threshold: Some(1),
        success_threshold: Some(1),
        ..Probe::default()
    }
}

/// A node's deployment.toml and the other files it needs
/// ([`Context::product_files`]), one key each.
fn config_map(
    name: &str,
    site: &Site,
    labels: &Labels,
    config: &str,
    files: &[ProductFile],
) -> Result<String, BuildError> {
    let mut data = BTreeMap::from([("deployment.toml".to_string(), config.to_string())]);
    for file in files {
        data.insert(file.name.clone(), file.content.clone());
    }
    yaml(&ConfigMap {
        metadata: meta(name, Some(&site.namespace), labels),
        data: Some(data),
        ..ConfigMap::default()
    })
}

/// A node's own Service, published whether its pod is ready or not.
fn node_service(
    name: &str,
    site: &Site,
    labels: &Labels,
    pods: &Labels,
    ports: Vec<ServicePort>,
) -> Result<String, BuildError> {
    yaml(&Service {
        metadata: meta(name, Some(&site.namespace), labels),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".to_string()),
            selector: Some(pods.clone()),
            ports: Some(ports),
            publish_not_ready_addresses: Some(true),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    })
}

fn service(
    name: &str,
    site: &Site,
    labels: &Labels,
    pods: &Labels,
    ports: Vec<ServicePort>,
) -> Result<String, BuildError> {
    yaml(&Service {
        metadata: meta(name, Some(&site.namespace), labels),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".to_string()),
            selector: Some(pods.clone()),
            ports: Some(ports),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    })
}

/// A wait for `host:port` that cannot be subverted by the host name: the
/// values are positional parameters of the script, never spliced into it.
/// It runs in the node's own image (bash's `/dev/tcp`: the product images
/// have no netcat), so a pod needs no image but its own.
fn wait_container(
    name: &str,
    cluster: &ClusterPlan,
    host: &str,
    port: u16,
    uid: RunAs,
) -> Container {
    Container {
        name: name.to_string(),
        image: Some(cluster.k8s_image.clone()),
        image_pull_policy: Some(cluster.pull_policy().to_string()),
        command: Some(vec![
            "bash".to_string(),
            "-c".to_string(),
            literal(
                "until (exec 3<>\"/dev/tcp/$0/$1\") 2>/dev/null; do echo \"waiting for $0:$1\"; sleep 5; done",
            ),
            literal(host),
            port.to_string(),
        ]),
        resources: Some(resources(0.1, 64 << 20, 0.1)),
        security_context: Some(container_security(uid)),
        ..Container::default()
    }
}

/// One Deployment of a cluster: a node of a pair, or the replicas of a
/// scaled cluster.
struct Workload<'a> {
    site: &'a Site,
    cluster: &'a ClusterPlan,
    /// The node of a pair; `None` for a scaled cluster's replicas.
    node: Option<&'a NodePlan>,
    name: &'a str,
    labels: &'a Labels,
    pod_selector: &'a Labels,
    /// The ConfigMap of its deployment.toml and files.
    config_name: &'a str,
    config: &'a str,
    files: &'a [ProductFile],
    replicas: i32,
    /// The ConfigMap naming the serving node, for a node of an
    /// active-passive pair.
    serving: Option<&'a str>,
}

/// What a pod is put together from, besides its product container: the
/// volumes, the product container's mounts, the init containers and the
/// sidecars, each in the order they are added.
#[derive(Default)]
struct PodParts {
    volumes: Vec<Volume>,
    mounts: Vec<VolumeMount>,
    init: Vec<Container>,
    sidecars: Vec<Container>,
}

impl PodParts {
    /// `volume` mounted at `target` in the product container, first seeded
    /// with the image's own content of `target` (an init container copies
    /// it when the volume is empty), so that the mount hides no default.
    fn seeded_volume(&mut self, volume: Volume, cluster: &ClusterPlan, target: &str, uid: RunAs) {
        let name = volume.name.clone();
        self.volumes.push(volume);
        let mut seed = seed_container(&format!("seed-{name}"), cluster, target, "/seed", uid);
        seed.volume_mounts = Some(vec![VolumeMount {
            name: name.clone(),
            mount_path: "/seed".to_string(),
            ..VolumeMount::default()
        }]);
        self.init.push(seed);
        self.mounts.push(VolumeMount {
            name,
            mount_path: target.to_string(),
            ..VolumeMount::default()
        });
    }

    /// The node's deployment.toml and other files, key by key from its
    /// ConfigMap into the config volume (the image's entrypoint copies the
    /// config volume over the product), then the operator's keystore and
    /// truststore, file by file from their Secret.
    fn config_files(&mut self, d: &Deployment, config_name: &str, files: &[ProductFile]) {
        let mut items = vec![KeyToPath {
            key: "deployment.toml".to_string(),
            path: "deployment.toml".to_string(),
            ..KeyToPath::default()
        }];
        self.mounts.push(VolumeMount {
            name: "config".to_string(),
            mount_path: in_config_volume(DEPLOYMENT_TOML),
            sub_path: Some("deployment.toml".to_string()),
            read_only: Some(true),
            ..VolumeMount::default()
        });
        for file in files {
            items.push(KeyToPath {
                key: file.name.clone(),
                path: file.name.clone(),
                ..KeyToPath::default()
            });
            self.mounts.push(VolumeMount {
                name: "config".to_string(),
                mount_path: in_config_volume(&file.path),
                sub_path: Some(file.name.clone()),
                read_only: Some(true),
                ..VolumeMount::default()
            });
        }
        self.volumes.push(Volume {
            name: "config".to_string(),
            config_map: Some(ConfigMapVolumeSource {
                name: config_name.to_string(),
                items: Some(items),
                ..ConfigMapVolumeSource::default()
            }),
            ..Volume::default()
        });
        let stores = d.keystores.supplied();
        if stores.is_empty() {
            return;
        }
        self.volumes.push(Volume {
            name: "keystores".to_string(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(d.keystore_secret_name()),
                items: Some(
                    stores
                        .iter()
                        .map(|store| KeyToPath {
                            key: store.file.clone(),
                            path: store.file.clone(),
                            ..KeyToPath::default()
                        })
                        .collect(),
                ),
                default_mode: Some(0o440),
                ..SecretVolumeSource::default()
            }),
            ..Volume::default()
        });
        for store in &stores {
            self.mounts.push(VolumeMount {
                name: "keystores".to_string(),
                mount_path: in_config_volume(&format!("{SECURITY_FOLDER}/{}", store.file)),
                sub_path: Some(store.file.clone()),
                read_only: Some(true),
                ..VolumeMount::default()
            });
        }
    }

    /// Start order: wait for the databases first, then for the clusters
    /// this one calls.
    fn start_waits(&mut self, site: &Site, cluster: &ClusterPlan, uid: RunAs) {
        for db in &cluster.databases {
            self.init.push(wait_container(
                &format!("wait-{}", crate::model::naming::dns_label(&db.name)),
                cluster,
                &db.host,
                db.port,
                uid,
            ));
        }
        for dependency in &cluster.depends_on {
            if let Some(dep) = site.cluster(dependency) {
                self.init.push(wait_container(
                    &format!("wait-{}", dep.label),
                    cluster,
                    &site.service_address(&dep.label),
                    dep.main_port(),
                    uid,
                ));
            }
        }
    }

    /// The cluster's file share, seeded with the image's content. APIM
    /// 3.x nodes share what WSO2 shares, the gateways' synapse-configs and
    /// the traffic managers' executionplans, each a folder of the volume;
    /// the rest of the deployment folder (webapps among it) stays the
    /// image's own.
    fn file_share(&mut self, cluster: &ClusterPlan, share: &str, major: u32, uid: RunAs) {
        let target = cluster.share_mount(HOME, major);
        let volume = Volume {
            name: "share".to_string(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: share.to_string(),
                ..PersistentVolumeClaimVolumeSource::default()
            }),
            ..Volume::default()
        };
        if major >= 4 {
            self.seeded_volume(volume, cluster, &target, uid);
            return;
        }
        self.volumes.push(volume);
        let mut seed = seed_container("seed-share", cluster, &target, "/seed", uid);
        seed.command = Some(vec![
            "sh".to_string(),
            "-c".to_string(),
            literal(&format!(
                "for folder in {}; do mkdir -p \"$1/$folder\" && if [ -d \"$0/$folder\" ] && [ -z \"$(ls -A \"$1/$folder\")\" ]; then cp -R \"$0/$folder\"/. \"$1/$folder\"/; fi || exit 1; done",
                SHARED_FOLDERS_3X.join(" ")
            )),
            literal(&target),
            "/seed".to_string(),
        ]);
        seed.volume_mounts = Some(vec![VolumeMount {
            name: "share".to_string(),
            mount_path: "/seed".to_string(),
            ..VolumeMount::default()
        }]);
        self.init.push(seed);
        for folder in SHARED_FOLDERS_3X {
            self.mounts.push(VolumeMount {
                name: "share".to_string(),
                mount_path: format!("{target}/{folder}"),
                sub_path: Some(folder.to_string()),
                ..VolumeMount::default()
            });
        }
    }

    /// The artifact sync sidecar and its volumes. A file share that holds
    /// the API folder already (APIM 3.x shares the deployment folder) is
    /// what the sync reads and writes: a volume of its own would hide the
    /// share's copy from the product.
    fn artifact_sync(
        &mut self,
        d: &Deployment,
        cluster: &ClusterPlan,
        mode: SyncMode,
        source: &ArtifactSync,
    ) {
        let uid = d.run_as;
        let target = cluster.api_folder(HOME);
        let in_share = cluster.share.as_ref().and_then(|_| {
            let share_target = cluster.share_mount(HOME, d.major);
            target
                .strip_prefix(&format!("{share_target}/"))
                .map(str::to_string)
        });
        self.volumes.push(Volume {
            name: sync::CONFIG.to_string(),
            config_map: Some(ConfigMapVolumeSource {
                name: sync::CONFIG.to_string(),
                default_mode: Some(0o555),
                ..ConfigMapVolumeSource::default()
            }),
            ..Volume::default()
        });
        let (volume, sub_path) = match in_share {
            Some(sub_path) => ("share", Some(sub_path)),
            None => {
                let volume = Volume {
                    name: "artifacts".to_string(),
                    empty_dir: Some(EmptyDirVolumeSource::default()),
                    ..Volume::default()
                };
                self.seeded_volume(volume, cluster, &target, uid);
                ("artifacts", None)
            }
        };
        self.sidecars.push(sync_container(
            mode.name(),
            source,
            cluster,
            uid,
            volume,
            sub_path,
            &d.secret_name(),
        ));
    }

    /// The ConfigMap that names the serving node of an active-passive pair,
    /// where the standby readiness reads it.
    fn serving(&mut self, name: &str) {
        self.volumes.push(Volume {
            name: "serving".to_string(),
            config_map: Some(ConfigMapVolumeSource {
                name: name.to_string(),
                ..ConfigMapVolumeSource::default()
            }),
            ..Volume::default()
        });
        self.mounts.push(VolumeMount {
            name: "serving".to_string(),
            mount_path: SERVING_DIR.to_string(),
            read_only: Some(true),
            ..VolumeMount::default()
        });
    }
}

/// The product container's environment: its pod's IP, the heap, the
/// profile the image's entrypoint prepares, every password from the
/// topology's Secret, and the node's name for the standby readiness.
fn product_env(
    d: &Deployment,
    cluster: &ClusterPlan,
    node: Option<&NodePlan>,
    start: &ImageStart,
) -> Vec<EnvVar> {
    let mut env = vec![
        EnvVar {
            name: "NODE_IP".to_string(),
            value_from: Some(EnvVarSource {
                field_ref: Some(ObjectFieldSelector {
                    field_path: "status.podIP".to_string(),
                    ..ObjectFieldSelector::default()
                }),
                ..EnvVarSource::default()
            }),
            ..EnvVar::default()
        },
        EnvVar {
            name: "JVM_MEM_OPTS".to_string(),
            value: Some(format!("-Xms{0}m -Xmx{0}m", cluster.heap_mib())),
            ..EnvVar::default()
        },
    ];
    if let Some(profile) = &start.profile_name {
        env.push(EnvVar {
            name: "PROFILE_NAME".to_string(),
            value: Some(profile.clone()),
            ..EnvVar::default()
        });
    }
    for secret in d.node_secrets(cluster) {
        env.push(EnvVar {
            name: secret.env.clone(),
            value_from: Some(EnvVarSource {
                secret_key_ref: Some(SecretKeySelector {
                    name: d.secret_name(),
                    key: secret.name.clone(),
                    ..SecretKeySelector::default()
                }),
                ..EnvVarSource::default()
            }),
            ..EnvVar::default()
        });
    }
    if let Some(node) = node {
        env.push(EnvVar {
            name: "TOPOC_NODE".to_string(),
            value: Some(node.name.clone()),
            ..EnvVar::default()
        });
    }
    env
}

/// The product container: its ports, resources, non-root security
/// context, probes (started once HTTPS listens, live while the liveness
/// endpoint answers, ready by `readiness`) and a pause before it stops,
/// so that the Service stops sending it requests first.
fn product_container(
    cluster: &ClusterPlan,
    uid: RunAs,
    start: ImageStart,
    env: Vec<EnvVar>,
    readiness: Probe,
    mounts: Vec<VolumeMount>,
) -> Container {
    Container {
        name: PRODUCT_SERVICE.to_string(),
        image: Some(cluster.k8s_image.clone()),
        image_pull_policy: Some(cluster.pull_policy().to_string()),
        args: (!start.args.is_empty()).then_some(start.args),
        env: Some(env),
        ports: Some(
            cluster
                .ports
                .iter()
                .map(|p| ContainerPort {
                    name: Some(p.name.clone()),
                    container_port: i32::from(p.port),
                    protocol: Some("TCP".to_string()),
                    ..ContainerPort::default()
                })
                .collect(),
        ),
        resources: Some(resources(cluster.cpu, cluster.memory_bytes, 1.0)),
        security_context: Some(container_security(uid)),
        startup_probe: Some(Probe {
            tcp_socket: Some(TCPSocketAction {
                port: IntOrString::Int(i32::from(ports::HTTPS)),
                ..TCPSocketAction::default()
            }),
            period_seconds: Some(10),
            failure_threshold: Some(60),
            ..Probe::default()
        }),
        liveness_probe: Some(http_probe(LIVENESS, 10, 3)),
        readiness_probe: Some(readiness),
        lifecycle: Some(Lifecycle {
            pre_stop: Some(LifecycleHandler {
                exec: Some(ExecAction {
                    command: Some(vec!["sleep".to_string(), "15".to_string()]),
                }),
                ..LifecycleHandler::default()
            }),
            ..Lifecycle::default()
        }),
        volume_mounts: Some(mounts),
        ..Container::default()
    }
}

/// The pod's security context: the product's user, non-root, the runtime's
/// default seccomp profile; `fs_group` for pods whose volumes the user
/// writes.
fn pod_security(uid: RunAs, fs_group: bool) -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(i64::from(uid.user)),
        run_as_group: Some(i64::from(uid.group)),
        fs_group: fs_group.then_some(i64::from(uid.group)),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".to_string(),
            ..SeccompProfile::default()
        }),
        ..PodSecurityContext::default()
    }
}

/// Pods of one selector preferably on different nodes...
fn anti_affinity(pods: &LabelSelector) -> Affinity {
    Affinity {
        pod_anti_affinity: Some(PodAntiAffinity {
            preferred_during_scheduling_ignored_during_execution: Some(vec![
                WeightedPodAffinityTerm {
                    weight: 100,
                    pod_affinity_term: PodAffinityTerm {
                        label_selector: Some(pods.clone()),
                        topology_key: "kubernetes.io/hostname".to_string(),
                        ..PodAffinityTerm::default()
                    },
                },
            ]),
            ..PodAntiAffinity::default()
        }),
        ..Affinity::default()
    }
}

/// ...and spread over the zones.
fn zone_spread(pods: LabelSelector) -> Vec<TopologySpreadConstraint> {
    vec![TopologySpreadConstraint {
        max_skew: 1,
        topology_key: "topology.kubernetes.io/zone".to_string(),
        when_unsatisfiable: "ScheduleAnyway".to_string(),
        label_selector: Some(pods),
        ..TopologySpreadConstraint::default()
    }]
}

/// The registry credentials the pods pull with, when the topology has
/// some.
fn pull_secrets(d: &Deployment) -> Option<Vec<LocalObjectReference>> {
    d.registry_login.as_ref().map(|login| {
        vec![LocalObjectReference {
            name: login.name.clone(),
        }]
    })
}

/// A node of a pair is one identity (its peer names it): its old pod stops
/// before the new one starts. Replicas roll with a surge pod, never below
/// their count.
fn strategy(paired: bool) -> DeploymentStrategy {
    if paired {
        DeploymentStrategy {
            type_: Some("Recreate".to_string()),
            rolling_update: None,
        }
    } else {
        DeploymentStrategy {
            type_: Some("RollingUpdate".to_string()),
            rolling_update: Some(RollingUpdateDeployment {
                max_surge: Some(IntOrString::Int(1)),
                max_unavailable: Some(IntOrString::Int(0)),
            }),
        }
    }
}

/// The Deployment of a workload: its pod (config, keystores, waits, file
/// share, artifact sync, the product container), with checksums of what
/// it reads so that a change rolls it.
fn workload(ctx: &Context, w: &Workload) -> Result<String, BuildError> {
    let d = ctx.deployment;
    let (site, cluster) = (w.site, w.cluster);
    let uid = d.run_as;
    let mut parts = PodParts::default();
    parts.config_files(d, w.config_name, w.files);
    parts.start_waits(site, cluster, uid);
    if let Some(share) = &cluster.share {
        parts.file_share(cluster, share, d.major, uid);
    }
    // A paired cluster pushes from its manager node only.
    let sync = site.node_artifact_sync(cluster, w.node);
    if let Some((mode, source)) = sync {
        parts.artifact_sync(d, cluster, mode, source);
    }
    let start = cluster.image_start();
    let env = product_env(d, cluster, w.node, &start);
    let readiness = match w.serving {
        Some(_) => standby_readiness(site, cluster, d.major),
        None => http_probe(cluster.readiness(d.major), 10, 3),
    };
    if let Some(name) = w.serving {
        parts.serving(name);
    }
    let PodParts {
        volumes,
        mounts,
        init,
        sidecars,
    } = parts;
    let mut containers = vec![product_container(
        cluster, uid, start, env, readiness, mounts,
    )];
    containers.extend(sidecars);

    let spread_selector = selector(&BTreeMap::from([(
        labels::CLUSTER.to_string(),
        cluster.label.clone(),
    )]));
    let pod = PodSpec {
        security_context: Some(pod_security(uid, true)),
        affinity: Some(anti_affinity(&spread_selector)),
        topology_spread_constraints: Some(zone_spread(spread_selector)),
        termination_grace_period_seconds: Some(60),
        init_containers: Some(init).filter(|i| !i.is_empty()),
        image_pull_secrets: pull_secrets(d),
        containers,
        volumes: Some(volumes),
        ..PodSpec::default()
    };
    let config_text: String = std::iter::once(w.config)
        .chain(w.files.iter().map(|f| f.content.as_str()))
        .collect();
    let mut annotations = BTreeMap::from([("checksum/config".to_string(), checksum(&config_text))]);
    if sync.is_some() {
        annotations.insert(
            "checksum/artifact-sync".to_string(),
            checksum(&ctx.sync_script),
        );
    }
    let mut deployment_labels = w.labels.clone();
    deployment_labels.remove(labels::ROLE);
    yaml(&K8sDeployment {
        metadata: meta(w.name, Some(&site.namespace), &deployment_labels),
        spec: DeploymentSpec {
            replicas: Some(w.replicas),
            selector: selector(w.pod_selector),
            strategy: Some(strategy(w.node.is_some())),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(w.labels.clone()),
                    annotations: Some(annotations),
                    ..ObjectMeta::default()
                }),
                spec: Some(pod),
            },
            ..DeploymentSpec::default()
        },
        ..K8sDeployment::default()
    })
}

/// Copy the image's own content of `source` into an empty volume, so that
/// mounting the volume does not hide the product's defaults.
fn seed_container(
    name: &str,
    cluster: &ClusterPlan,
    source: &str,
    target: &str,
    uid: RunAs,
) -> Container {
    Container {
        name: name.to_string(),
        image: Some(cluster.k8s_image.clone()),
        image_pull_policy: Some(cluster.pull_policy().to_string()),
        command: Some(vec![
            "sh".to_string(),
            "-c".to_string(),
            literal(
                "if [ -d \"$0\" ] && [ -z \"$(ls -A \"$1\")\" ]; then cp -R \"$0\"/. \"$1\"/; fi",
            ),
            literal(source),
            literal(target),
        ]),
        resources: Some(resources(0.2, 128 << 20, 0.5)),
        security_context: Some(container_security(uid)),
        ..Container::default()
    }
}

/// The sidecar that pushes or pulls the API artifacts; the server's
/// credentials, when it has some, come from the key of the topology's
/// Secret (`secrets`) named after them.
fn sync_container(
    mode: &str,
    source: &ArtifactSync,
    cluster: &ClusterPlan,
    uid: RunAs,
    volume: &str,
    sub_path: Option<String>,
    secrets: &str,
) -> Container {
    let env = |name: &str, value: String| EnvVar {
        name: name.to_string(),
        value: Some(literal(&value)),
        ..EnvVar::default()
    };
    let mut vars = vec![
        env("ARTIFACT_URL", source.url.clone()),
        env("ARTIFACT_DIR", sync::ARTIFACTS.to_string()),
        env("ARTIFACT_INTERVAL", source.interval_seconds.to_string()),
        env("ARTIFACT_STATE", sync::STATE.to_string()),
    ];
    if let Some(credentials) = &source.credentials {
        vars.push(EnvVar {
            name: credentials.env.clone(),
            value_from: Some(EnvVarSource {
                secret_key_ref: Some(SecretKeySelector {
                    name: secrets.to_string(),
                    key: credentials.name.clone(),
                    ..SecretKeySelector::default()
                }),
                ..EnvVarSource::default()
            }),
            ..EnvVar::default()
        });
    }
    let health = exec_probe(&["sh", sync::SCRIPT, "health"], 30);
    Container {
        name: sync::CONFIG.to_string(),
        image: Some(cluster.k8s_image.clone()),
        image_pull_policy: Some(cluster.pull_policy().to_string()),
        command: Some(vec![
            "sh".to_string(),
            sync::SCRIPT.to_string(),
            mode.to_string(),
        ]),
        env: Some(vars),
        resources: Some(resources(0.2, 64 << 20, 0.25)),
        security_context: Some(container_security(uid)),
        liveness_probe: Some(health.clone()),
        readiness_probe: Some(health),
        volume_mounts: Some(vec![
            VolumeMount {
                name: volume.to_string(),
                mount_path: sync::ARTIFACTS.to_string(),
                sub_path,
                ..VolumeMount::default()
            },
            VolumeMount {
                name: sync::CONFIG.to_string(),
                mount_path: sync::MOUNT.to_string(),
                read_only: Some(true),
                ..VolumeMount::default()
            },
        ]),
        ..Container::default()
    }
}

/// One Ingress per load balancer route (ingress-nginx; Ingresses of one
/// host merge): API traffic to the gateways without affinity, the portals
/// and management console on their paths with cookie affinity, a key
/// manager's paths; TLS from a Secret `<load balancer>-tls` the operator
/// creates. A route to several clusters goes to the first one's Service.
fn ingresses(site: &Site) -> Result<Option<String>, BuildError> {
    let mut docs = Vec::new();
    for lb in &site.load_balancers {
        for route in &lb.routes(site) {
            let Some(first) = route.clusters.first() else {
                continue;
            };
            let mut annotations = BTreeMap::from([(
                "nginx.ingress.kubernetes.io/backend-protocol".to_string(),
                "HTTPS".to_string(),
            )]);
            if route.affinity {
                annotations.insert(
                    "nginx.ingress.kubernetes.io/affinity".to_string(),
                    "cookie".to_string(),
                );
                annotations.insert(
                    "nginx.ingress.kubernetes.io/session-cookie-name".to_string(),
                    "route".to_string(),
                );
            }
            let labels = BTreeMap::from([
                (
                    "app.kubernetes.io/managed-by".to_string(),
                    "topoc".to_string(),
                ),
                (labels::DATACENTER.to_string(), site.label.clone()),
                (labels::LOAD_BALANCER.to_string(), lb.label.clone()),
            ]);
            let mut metadata = meta(&route.name, Some(&site.namespace), &labels);
            metadata.annotations = Some(annotations);
            let backend = IngressBackend {
                service: Some(IngressServiceBackend {
                    name: first.label.clone(),
                    port: Some(ServiceBackendPort {
                        number: Some(i32::from(route.port)),
                        ..ServiceBackendPort::default()
                    }),
                }),
                ..IngressBackend::default()
            };
            docs.push(yaml(&Ingress {
                metadata,
                spec: Some(IngressSpec {
                    ingress_class_name: Some("nginx".to_string()),
                    tls: Some(vec![IngressTLS {
                        hosts: Some(vec![lb.hostname.clone()]),
                        secret_name: Some(lb.tls_secret()),
                    }]),
                    rules: Some(vec![IngressRule {
                        host: Some(lb.hostname.clone()),
                        http: Some(HTTPIngressRuleValue {
                            paths: route
                                .paths
                                .iter()
                                .map(|path| HTTPIngressPath {
                                    path: Some((*path).to_string()),
                                    path_type: "Prefix".to_string(),
                                    backend: backend.clone(),
                                })
                                .collect(),
                        }),
                    }]),
                    ..IngressSpec::default()
                }),
                ..Ingress::default()
            })?);
        }
    }
    Ok((!docs.is_empty()).then(|| documents(docs)))
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::emit::Target;
    use crate::emit::testing::{PAIR, deployment, file, get, render, yaml_documents};

    /// The objects of a manifest by kind and name.
    fn objects(text: &str) -> BTreeMap<(String, String), Value> {
        let mut out = BTreeMap::new();
        for doc in yaml_documents(text) {
            let key = (
                doc["kind"].as_str().expect("a kind").to_string(),
                doc["metadata"]["name"]
                    .as_str()
                    .expect("a name")
                    .to_string(),
            );
            assert!(out.insert(key.clone(), doc).is_none(), "{key:?} twice");
        }
        out
    }

    fn object<'a>(
        objects: &'a BTreeMap<(String, String), Value>,
        kind: &str,
        name: &str,
    ) -> &'a Value {
        objects
            .get(&(kind.to_string(), name.to_string()))
            .unwrap_or_else(|| panic!("no {kind} {name} among {:?}", objects.keys()))
    }

    fn container<'a>(deployment: &'a Value, name: &str) -> &'a Value {
        deployment["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no container {name}"))
    }

    #[test]
    fn a_hot_standby_pair_recreates_its_pods_and_follows_the_serving_node() {
        let artifacts = render(&deployment(PAIR), &[Target::Kubernetes]);
        let cp = objects(get(&artifacts, "kubernetes/main/21-cp.yaml"));
        assert_eq!(
            object(&cp, "ConfigMap", "cp-serving")["data"]["node"],
            "cp-1",
            "the active node serves first"
        );
        for (name, replicas) in [("cp-1", 1), ("cp-2", 1), ("cp-surge", 0)] {
            let workload = object(&cp, "Deployment", name);
            assert_eq!(workload["spec"]["replicas"], replicas, "{name}");
            assert_eq!(workload["spec"]["strategy"]["type"], "Recreate", "{name}");
            assert!(workload["spec"]["strategy"]["rollingUpdate"].is_null());
            let product = container(workload, PRODUCT_SERVICE);
            let probe = &product["readinessProbe"];
            assert!(probe["httpGet"].is_null(), "{name}: {probe}");
            let command = probe["exec"]["command"].as_array().unwrap();
            assert_eq!(command[0], "bash", "{name}");
            let script = command[2].as_str().unwrap();
            assert!(script.contains(&format!("{SERVING_DIR}/node")), "{script}");
            assert!(script.contains("$TOPOC_NODE"), "{script}");
            assert!(script.contains(&LIVENESS.local_url()), "{script}");
            let env = product["env"].as_array().unwrap();
            assert!(
                env.iter()
                    .any(|e| e["name"] == "TOPOC_NODE" && e["value"] == name),
                "{name}: {env:?}"
            );
            // Its own Service publishes it ready or not, for its peer.
            let own = object(&cp, "Service", name);
            assert_eq!(own["spec"]["publishNotReadyAddresses"], true);
            assert_eq!(own["spec"]["selector"][labels::NODE], name);
        }
        let budget = object(&cp, "PodDisruptionBudget", "cp");
        assert_eq!(budget["spec"]["minAvailable"], 1);
        assert_eq!(budget["spec"]["unhealthyPodEvictionPolicy"], "AlwaysAllow");
        assert!(budget["spec"]["maxUnavailable"].is_null());
    }

    #[test]
    fn replicas_roll_with_a_surge_pod_and_are_ready_once_their_apis_are_loaded() {
        let artifacts = render(&deployment(PAIR), &[Target::Kubernetes]);
        let gw = objects(get(&artifacts, "kubernetes/main/24-gw.yaml"));
        let workload = object(&gw, "Deployment", "gw");
        assert_eq!(workload["spec"]["replicas"], 2);
        let strategy = &workload["spec"]["strategy"];
        assert_eq!(strategy["type"], "RollingUpdate");
        assert_eq!(strategy["rollingUpdate"]["maxSurge"], 1);
        assert_eq!(strategy["rollingUpdate"]["maxUnavailable"], 0);
        let product = container(workload, PRODUCT_SERVICE);
        let ready = &product["readinessProbe"]["httpGet"];
        assert_eq!(ready["path"], layout::GATEWAY_READY.path);
        assert_eq!(ready["port"], ports::HTTPS);
        assert_eq!(ready["scheme"], "HTTPS");
        assert_eq!(product["livenessProbe"]["httpGet"]["path"], LIVENESS.path);
        assert_eq!(product["startupProbe"]["tcpSocket"]["port"], ports::HTTPS);
        // It waits for its database and for the control plane it calls.
        let init: Vec<&str> = workload["spec"]["template"]["spec"]["initContainers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(init, ["wait-shared-db", "wait-cp"]);
        // The budget and the Service select the pods the Deployment makes.
        let pods = &workload["spec"]["template"]["metadata"]["labels"];
        for selector in [
            &object(&gw, "PodDisruptionBudget", "gw")["spec"]["selector"]["matchLabels"],
            &object(&gw, "Service", "gw")["spec"]["selector"],
            &workload["spec"]["selector"]["matchLabels"],
        ] {
            let selector = selector.as_object().unwrap();
            assert!(!selector.is_empty());
            for (key, value) in selector {
                assert_eq!(&pods[key], value, "{key}");
            }
        }
        assert_eq!(
            object(&gw, "PodDisruptionBudget", "gw")["spec"]["maxUnavailable"],
            1
        );
    }

    #[test]
    fn every_pod_runs_as_its_images_user_without_privileges() {
        for example in [
            "examples/all-in-one-3.2.topo",
            "examples/distributed-4.x.topo",
            "examples/multi-datacenter.topo",
        ] {
            let d = file(example);
            let artifacts = render(&d, &[Target::Kubernetes]);
            let mut deployments = 0;
            for (path, text) in artifacts.iter().filter(|(p, _)| p.ends_with(".yaml")) {
                for doc in yaml_documents(text) {
                    if doc["kind"] != "Deployment" {
                        continue;
                    }
                    deployments += 1;
                    let pod = &doc["spec"]["template"]["spec"];
                    assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{path}");
                    assert_eq!(
                        pod["securityContext"]["seccompProfile"]["type"],
                        "RuntimeDefault"
                    );
                    let containers = pod["containers"].as_array().unwrap().iter();
                    let init = pod["initContainers"].as_array().into_iter().flatten();
                    for c in containers.chain(init) {
                        let security = &c["securityContext"];
                        assert_eq!(security["allowPrivilegeEscalation"], false, "{path}");
                        assert_eq!(security["runAsNonRoot"], true, "{path}");
                        assert_eq!(security["capabilities"]["drop"][0], "ALL", "{path}");
                        assert!(c["resources"]["limits"]["memory"].is_string(), "{path}");
                    }
                    if doc["metadata"]["name"] != READ_ONLY_GATE {
                        assert_eq!(pod["securityContext"]["runAsUser"], d.run_as.user);
                        assert_eq!(pod["securityContext"]["fsGroup"], d.run_as.group);
                    }
                }
            }
            assert!(deployments > 0, "{example}");
        }
    }

    #[test]
    fn a_standby_datacenter_runs_nothing_until_its_failover() {
        let d = file("examples/multi-datacenter.topo");
        let artifacts = render(&d, &[Target::Kubernetes]);
        let mut seen = 0;
        for (path, text) in artifacts
            .iter()
            .filter(|(p, _)| p.starts_with("kubernetes/singapore/2"))
        {
            for doc in yaml_documents(text) {
                if doc["kind"] == "Deployment" {
                    seen += 1;
                    assert_eq!(doc["spec"]["replicas"], 0, "{path}");
                }
            }
        }
        assert!(seen > 0);
        let namespace = yaml_documents(get(&artifacts, "kubernetes/singapore/00-namespace.yaml"));
        assert_eq!(
            namespace[0]["metadata"]["labels"][labels::ROLE],
            "disaster-recovery"
        );
    }

    #[test]
    fn ingresses_route_apis_without_affinity_and_portals_with_it() {
        let artifacts = render(&deployment(PAIR), &[Target::Kubernetes]);
        let ingresses = objects(get(&artifacts, "kubernetes/main/30-ingress.yaml"));
        let api = object(&ingresses, "Ingress", "edge-lb");
        let annotations = api["metadata"]["annotations"].as_object().unwrap();
        assert!(!annotations.contains_key("nginx.ingress.kubernetes.io/affinity"));
        let rule = &api["spec"]["rules"][0];
        assert_eq!(rule["host"], "edge-lb.apim.shop.example");
        assert_eq!(rule["http"]["paths"][0]["path"], "/");
        let backend = &rule["http"]["paths"][0]["backend"]["service"];
        assert_eq!(backend["name"], "gw");
        assert_eq!(backend["port"]["number"], ports::GATEWAY_HTTPS);
        assert_eq!(api["spec"]["tls"][0]["secretName"], "edge-lb-tls");
        let portal = object(&ingresses, "Ingress", "edge-lb-portal");
        assert_eq!(
            portal["metadata"]["annotations"]["nginx.ingress.kubernetes.io/affinity"],
            "cookie"
        );
        let paths: Vec<&str> = portal["spec"]["rules"][0]["http"]["paths"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["path"].as_str().unwrap())
            .collect();
        assert!(
            paths.contains(&"/publisher") && !paths.contains(&"/"),
            "{paths:?}"
        );
        // The portals have a read-only gate, off until a runbook needs it.
        let gate = objects(get(&artifacts, "kubernetes/main/31-read-only-gate.yaml"));
        assert_eq!(
            object(&gate, "Deployment", READ_ONLY_GATE)["spec"]["replicas"],
            0
        );
        assert_eq!(
            object(&gate, "Service", READ_ONLY_GATE)["spec"]["ports"][0]["port"],
            GATE_PORT
        );
    }

    #[test]
    fn kubernetes_expands_no_variable_of_a_literal_argument() {
        assert_eq!(literal("a$(B)$$c"), "a$$(B)$$$$c");
        let container = wait_container(
            "wait-x",
            &deployment(PAIR).sites[0].clusters[0],
            "$(touch /tmp/x).example",
            3306,
            RunAs { user: 1, group: 1 },
        );
        let command = container.command.unwrap();
        assert_eq!(command[3], "$$(touch /tmp/x).example");
        assert_eq!(command[4], "3306");
        // The host is an argument of the script, never part of it.
        assert!(!command[2].contains("touch"));
    }

    #[test]
    fn quantities_are_written_in_their_largest_whole_unit() {
        assert_eq!(memory_quantity(4 << 30).0, "4Gi");
        assert_eq!(memory_quantity(1536 << 20).0, "1536Mi");
        assert_eq!(memory_quantity(64 << 10).0, "64Ki");
        assert_eq!(memory_quantity(1000).0, "1000");
        assert_eq!(cpu_quantity(2.0).0, "2");
        assert_eq!(cpu_quantity(0.5).0, "500m");
        assert_eq!(cpu_quantity(0.25 * 0.2).0, "50m");
    }

    #[test]
    fn the_dockerfile_adds_the_drivers_as_the_products_user() {
        let d = file("examples/distributed-4.x.topo");
        let image = &d.built_images[0];
        let text = dockerfile(&d, image);
        let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            lines,
            [
                format!("ARG WSO2AM_IMAGE={}", image.from).as_str(),
                "FROM ${WSO2AM_IMAGE}",
                format!(
                    "COPY --chown={0}:{0} postgresql-42.7.4.jar {1}/",
                    d.run_as.user, image.lib
                )
                .as_str(),
            ]
        );
        assert!(text.contains(&format!("docker build -t {} ", image.tag)));
    }
}
