//! Where things are, said once: the files of the output folder, the
//! product's folders in an image and on a host, the Kubernetes names and
//! labels, the health endpoints. The emitters write what these name; the
//! planner's commands act on what these name. Two of them disagreeing is
//! impossible by construction.

use super::{ClusterPlan, Deployment, NodePlan, Site};

/// The folder beside the output folder where the operator keeps the files
/// the build references but never writes, one subfolder per topology.
pub const OPERATOR_FILES: &str = "operator-files";

/// Where the product images install the product: the home of their user.
pub const IMAGE_BASE: &str = "/home/wso2carbon";

/// Where WSO2's images copy configuration from at start-up: everything
/// under it is copied over the product home.
pub const CONFIG_VOLUME: &str = "/home/wso2carbon/wso2-config-volume";

/// Where the Puppet hosts install the product, and keep its packs.
pub const HOSTS_BASE: &str = "/opt/wso2";

/// The service user on Puppet hosts (the one WSO2's images create).
pub const HOSTS_USER: &str = "wso2carbon";

/// The product image's entrypoint, which copies [`CONFIG_VOLUME`] over the
/// product home and starts it.
pub const IMAGE_ENTRYPOINT: &str = "/home/wso2carbon/docker-entrypoint.sh";

/// The name of the product's container (Kubernetes) and of its systemd
/// unit (Puppet hosts).
pub const PRODUCT_SERVICE: &str = "wso2am";

/// The folder of a product's deployed APIs, under its home.
pub const API_FOLDER: &str = "repository/deployment/server/synapse-configs/default";

/// deployment.toml, under the product home.
pub const DEPLOYMENT_TOML: &str = "repository/conf/deployment.toml";

/// The keystores and truststores, under the product home.
pub const SECURITY_FOLDER: &str = "repository/resources/security";

/// The JDBC drivers (and other jars), under the product home.
pub const LIB_FOLDER: &str = "repository/components/lib";

/// Where a file of the product home (`repository/...`) goes in the image's
/// config volume, to be copied over the product at start.
pub fn in_config_volume(path: &str) -> String {
    format!("{CONFIG_VOLUME}/{path}")
}

/// What a file share holds, under the product home: the deployment folder
/// in APIM 3.x (artifacts live on the file system), tenants in 4.x.
pub fn share_subdir(major: u32) -> &'static str {
    if major >= 4 {
        "repository/tenants"
    } else {
        "repository/deployment/server"
    }
}

/// The folders of the deployment folder that APIM 3.x nodes share (as
/// WSO2's charts do): the gateways' APIs and the traffic managers'
/// throttling policies.
pub const SHARED_FOLDERS_3X: [&str; 2] = ["synapse-configs", "executionplans"];

/// The environment variable that overrides the product image's tag in a
/// Compose file (the runbooks' patch of one service).
pub const TAG_VARIABLE: &str = "WSO2AM_TAG";

/// The ports of a product node.
pub mod ports {
    /// The management console, portals and admin services (HTTPS).
    pub const HTTPS: u16 = 9443;
    /// The servlet port (HTTP): the liveness endpoint.
    pub const HTTP: u16 = 9763;
    /// The gateways' API traffic (HTTPS).
    pub const GATEWAY_HTTPS: u16 = 8243;
    /// The gateways' API traffic (HTTP).
    pub const GATEWAY_HTTP: u16 = 8280;
    /// The gateways' secure WebSocket port (`wss_endpoint`).
    pub const WSS: u16 = 8099;
    /// The gateways' plain WebSocket port (`ws_endpoint`).
    pub const WS: u16 = 9099;
    /// The gateways' WebSub ports (HTTPS, HTTP).
    pub const WEBSUB_HTTPS: u16 = 8021;
    /// The gateways' WebSub port (HTTP).
    pub const WEBSUB_HTTP: u16 = 9021;
    /// The traffic managers' event receivers (binary, and binary over TLS).
    pub const BINARY: u16 = 9611;
    /// The traffic managers' event receiver over TLS.
    pub const BINARY_SSL: u16 = 9711;
    /// The event hub's JMS broker.
    pub const JMS: u16 = 5672;
    /// APIM 3.x Hazelcast clustering.
    pub const HAZELCAST: u16 = 4000;
}

/// A host and port as a URL writes them: an IPv6 address in brackets.
pub fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The artifact sync's files and folders, in its container (Kubernetes,
/// Compose).
pub mod sync {
    /// The ConfigMap holding the script (Kubernetes), and the volume that
    /// mounts it.
    pub const CONFIG: &str = "artifact-sync";
    /// The script's file name.
    pub const SCRIPT_FILE: &str = "artifact-sync.sh";
    /// Where the script is mounted.
    pub const MOUNT: &str = "/opt/topoc";
    /// The script, as the container runs it.
    pub const SCRIPT: &str = "/opt/topoc/artifact-sync.sh";
    /// The API folder, as the sync sees it.
    pub const ARTIFACTS: &str = "/artifacts";
    /// The sync's own state.
    pub const STATE: &str = "/tmp/artifact-sync";
}

/// The manifests of a datacenter besides its clusters', in apply order.
pub mod manifests {
    /// The datacenter's Namespace.
    pub const NAMESPACE: &str = "00-namespace.yaml";
    /// The storage of the datacenter's file shares that a cluster uses.
    pub const STORAGE: &str = "10-storage.yaml";
    /// The ConfigMap of the artifact sync script, when a cluster syncs
    /// artifacts.
    pub const ARTIFACT_SYNC: &str = "15-artifact-sync.yaml";
    /// The Ingress of the datacenter's load balancers.
    pub const INGRESS: &str = "30-ingress.yaml";
    /// The portals' read-only gate, when a portal is routed.
    pub const READ_ONLY_GATE: &str = "31-read-only-gate.yaml";
}

/// Files of a datacenter's Compose project, relative to its folder.
pub mod compose {
    /// The Compose file.
    pub const FILE: &str = "compose.yaml";
    /// The load balancer's nginx configuration.
    pub const NGINX: &str = "nginx/nginx.conf";
    /// The load balancer controls the runbooks call.
    pub const LB_SCRIPT: &str = "scripts/lb.sh";
    /// The artifact pull/push script.
    pub const SYNC_SCRIPT: &str = "scripts/artifact-sync.sh";
}

/// The Kubernetes labels every emitter and command selects by.
pub mod labels {
    /// The datacenter, by its label.
    pub const DATACENTER: &str = "topoc/datacenter";
    /// The cluster, by its label.
    pub const CLUSTER: &str = "topoc/cluster";
    /// The node, by its name.
    pub const NODE: &str = "topoc/node";
    /// The datacenter's role (on its Namespace) or the node's (on its pods).
    pub const ROLE: &str = "topoc/role";
    /// The file share, by its label.
    pub const SHARE: &str = "topoc/share";
    /// The read-only gate's objects.
    pub const GATE: &str = "topoc/gate";
    /// The load balancer, by its label.
    pub const LOAD_BALANCER: &str = "topoc/load-balancer";
    /// Set by a runbook on the pods that keep serving while one node of a
    /// pair is drained: the cluster's Service then selects only them.
    pub const ROUTE: &str = "topoc/route";
    /// The pods of a scaled cluster's preview (its new version, tested
    /// before the rollout), which no Service selects: the value is the
    /// cluster's label.
    pub const PREVIEW: &str = "topoc/preview";

    /// A label selector as `kubectl -l` takes it: `topoc/node=gateway-1`.
    pub fn selector(key: &str, value: &str) -> String {
        format!("{key}={value}")
    }
}

/// The read-only gate of a datacenter's portals (Kubernetes): what the
/// runbooks' portal step asks, through ingress-nginx's `auth-url`, whether a
/// request may pass.
pub const READ_ONLY_GATE: &str = "read-only-gate";

/// The gate's port.
pub const GATE_PORT: u16 = 8080;

/// The systemd unit a Puppet host runs the product as.
pub const PRODUCT_UNIT: &str = "wso2am";

/// The folder on a Puppet host where the operator puts the packs, drivers
/// and keystores the agent installs.
pub const HOST_PACKS: &str = "/opt/wso2/packs";

/// The product pack a Puppet host unpacks, in [`HOST_PACKS`]: the pack as
/// WSO2 ships it (`wso2am-4.2.0.zip`), or, with an update level, the pack
/// updated to it once (`wso2am-4.2.0.12.zip`).
pub fn host_pack(product_dir: &str, update_level: Option<u64>) -> String {
    match update_level {
        Some(level) => format!("{HOST_PACKS}/{product_dir}.{level}.zip"),
        None => format!("{HOST_PACKS}/{product_dir}.zip"),
    }
}

/// The load balancer controls a Puppet-managed load balancer host holds
/// (the Compose projects' `scripts/lb.sh`).
pub const HOST_LB_SCRIPT: &str = "/usr/local/bin/apim-lb";

/// The Compose service of a datacenter's load balancer.
pub const LB_SERVICE: &str = "load-balancer";
/// The gate's health endpoint.
pub const GATE_HEALTH: Health = Health {
    https: false,
    port: GATE_PORT,
    path: "/healthz",
};

/// Where the serving ConfigMap is mounted in a node of an active-passive
/// pair (Kubernetes).
pub const SERVING_DIR: &str = "/etc/topoc/serving";

/// A health endpoint of a node, on the node itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Health {
    /// Whether the endpoint is served over HTTPS.
    pub https: bool,
    /// The port it is served on.
    pub port: u16,
    /// The request path, from `/`.
    pub path: &'static str,
}

impl Health {
    /// `http://localhost:9763/services/Version`
    pub fn local_url(&self) -> String {
        self.url("localhost")
    }

    /// The endpoint's URL on a host:
    /// `http://gateway-1.example:9763/services/Version`.
    pub fn url(&self, host: &str) -> String {
        format!(
            "{}://{host}:{}{}",
            if self.https { "https" } else { "http" },
            self.port,
            self.path
        )
    }
}

/// Every node answers here while it lives (WSO2's liveness endpoint).
pub const LIVENESS: Health = Health {
    https: false,
    port: ports::HTTP,
    path: "/services/Version",
};

/// An APIM 4.x gateway answers here once it has loaded its APIs.
pub const GATEWAY_READY: Health = Health {
    https: true,
    port: ports::HTTPS,
    path: "/api/am/gateway/v2/server-startup-healthcheck",
};

impl ClusterPlan {
    /// When a node of the cluster is ready to serve: its gateway's startup
    /// check (APIM 4.x gateways), else its liveness.
    pub fn readiness(&self, major: u32) -> Health {
        if self.profile == crate::model::Profile::GatewayWorker && major >= 4 {
            GATEWAY_READY
        } else {
            LIVENESS
        }
    }

    /// Every health check of a node: liveness, then readiness when it
    /// differs.
    pub fn health_checks(&self, major: u32) -> Vec<Health> {
        let ready = self.readiness(major);
        if ready == LIVENESS {
            vec![LIVENESS]
        } else {
            vec![LIVENESS, ready]
        }
    }

    /// The folder of the deployed APIs of a node whose product home is
    /// under `base`: what the artifact sync pulls into or pushes from.
    pub fn api_folder(&self, base: &str) -> String {
        format!("{}/{API_FOLDER}", self.product_home(base))
    }

    /// The pods of a node (`kubectl -l`): the node's own on a pair, where
    /// each node is a Deployment; every replica's on a scaled cluster,
    /// whose nodes are one Deployment.
    pub fn pod_selector(&self, node: &str) -> String {
        match self.shape {
            super::Shape::Scaled => labels::selector(labels::CLUSTER, &self.label),
            super::Shape::Paired => labels::selector(labels::NODE, node),
        }
    }

    /// The preview Deployment of a scaled cluster (Kubernetes): one pod of
    /// the new version, outside the cluster's Service, which a runbook
    /// tests before the rollout.
    pub fn preview_name(&self) -> String {
        crate::model::naming::preview_name(&self.name)
    }

    /// The pods of the cluster's preview (`kubectl -l`).
    pub fn preview_selector(&self) -> String {
        labels::selector(labels::PREVIEW, &self.label)
    }

    /// The name of the ConfigMap that says which node of an active-passive
    /// pair serves (Kubernetes).
    pub fn serving_config(&self) -> String {
        format!("{}-serving", self.label)
    }

    /// The node of this cluster named `name` (its temporary node too).
    pub fn node(&self, name: &str) -> Option<&NodePlan> {
        self.nodes
            .iter()
            .chain([&self.surge])
            .find(|n| n.name == name)
    }
}

/// What a cluster's nodes do with the artifact server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// A read-only (or standby) datacenter's gateways pull the published
    /// archive.
    Pull,
    /// The primary's first gateway cluster publishes it.
    Push,
}

impl SyncMode {
    /// The argument of `artifact-sync.sh`.
    pub fn name(self) -> &'static str {
        match self {
            SyncMode::Pull => "pull",
            SyncMode::Push => "push",
        }
    }
}

impl Site {
    /// Whether a cluster pulls or pushes API artifacts, and where: read-only
    /// gateways pull; the primary's first gateway-capable cluster pushes
    /// when read-only datacenters pull.
    pub fn artifact_sync(&self, cluster: &ClusterPlan) -> Option<(SyncMode, &super::ArtifactSync)> {
        if cluster.pulls_artifacts {
            return self.artifact_pull.as_ref().map(|s| (SyncMode::Pull, s));
        }
        let push = self.artifact_push.as_ref()?;
        let pusher = self
            .start_order()
            .into_iter()
            .find(|c| c.profile.runs_gateway())?;
        (pusher.label == cluster.label).then_some((SyncMode::Push, push))
    }

    /// Whether a node runs the artifact sync of its cluster
    /// ([`Site::artifact_sync`]): every replica of a scaled cluster (`node`
    /// is `None` for them on Kubernetes, where they are one workload),
    /// every node that pulls, and a paired cluster's manager node when it
    /// pushes.
    pub fn node_artifact_sync(
        &self,
        cluster: &ClusterPlan,
        node: Option<&NodePlan>,
    ) -> Option<(SyncMode, &super::ArtifactSync)> {
        self.artifact_sync(cluster).filter(|_| {
            cluster.shape == super::Shape::Scaled
                || cluster.pulls_artifacts
                || node.is_none_or(|n| n.manager)
        })
    }
}

impl ClusterPlan {
    /// Where a file share is mounted under the product home at `base`: the
    /// deployment folder in APIM 3.x (artifacts live on the file system),
    /// tenants in 4.x.
    pub fn share_mount(&self, base: &str, major: u32) -> String {
        format!("{}/{}", self.product_home(base), share_subdir(major))
    }

    /// The ConfigMap of a workload's deployment.toml and files (Kubernetes):
    /// a node's, or a scaled cluster's.
    pub fn config_map_name(workload: &str) -> String {
        format!("{workload}-config")
    }
}

impl super::LoadBalancerPlan {
    /// The Secret holding the TLS certificate of the load balancer's host
    /// (Kubernetes; the operator creates it).
    pub fn tls_secret(&self) -> String {
        format!("{}-tls", self.label)
    }
}

impl Deployment {
    /// The secrets a cluster's nodes read.
    pub fn node_secrets(&self, cluster: &ClusterPlan) -> Vec<super::SecretEnv> {
        let mut out = vec![
            self.admin_password.clone(),
            self.keystore_password.clone(),
            self.keystores.truststore.password.clone(),
        ];
        out.extend(self.encryption_key.clone());
        out.extend(cluster.databases.iter().map(|db| db.password.clone()));
        out.sort();
        out.dedup();
        out
    }

    /// The Kubernetes Secret every password comes from (the operator's).
    pub fn secret_name(&self) -> String {
        format!("{}-secrets", self.label)
    }

    /// The Kubernetes Secret holding the operator's keystore and truststore
    /// files (keys are the file names).
    pub fn keystore_secret_name(&self) -> String {
        format!("{}-keystores", self.label)
    }

    /// The operator's folder as seen from the output folder.
    pub fn operator_files_from_output(&self) -> String {
        format!("../{}", self.operator_files)
    }
}

impl Site {
    /// Whether one of the datacenter's load balancers fronts the cluster.
    pub fn fronts(&self, cluster: &ClusterPlan) -> bool {
        self.load_balancers
            .iter()
            .any(|lb| lb.fronts.contains(&cluster.label))
    }

    /// A datacenter's Kubernetes manifests.
    pub fn kubernetes_dir(&self) -> String {
        format!("kubernetes/{}", self.name)
    }

    /// The manifest of a cluster, named to apply in start order.
    pub fn kubernetes_manifest(&self, cluster: &ClusterPlan) -> String {
        format!(
            "{}/2{}-{}.yaml",
            self.kubernetes_dir(),
            cluster.start_rank,
            cluster.label
        )
    }

    /// Another of the datacenter's manifests (`00-namespace.yaml`, ...).
    pub fn kubernetes_file(&self, file: &str) -> String {
        format!("{}/{file}", self.kubernetes_dir())
    }

    /// A datacenter's Compose project.
    pub fn compose_dir(&self) -> String {
        format!("compose/{}", self.name)
    }

    /// The datacenter's Compose file.
    pub fn compose_file(&self) -> String {
        self.compose_path(compose::FILE)
    }

    /// A file of the datacenter's Compose project ([`compose`]).
    pub fn compose_path(&self, file: &str) -> String {
        format!("{}/{file}", self.compose_dir())
    }

    /// A file of a node's configuration in the Compose project, by its
    /// path under the product home (`deployment.toml` for the node's).
    pub fn compose_config(&self, node: &str, path: &str) -> String {
        self.compose_path(&format!("config/{node}/{path}"))
    }

    /// The load balancer controls of the Compose runbooks.
    pub fn lb_script(&self) -> String {
        self.compose_path(compose::LB_SCRIPT)
    }

    /// The Puppet-managed load balancer host of the datacenter.
    pub fn lb_host(&self) -> String {
        crate::model::naming::load_balancer_host(&self.domain)
    }

    /// The address of a cluster as a whole on hosts:
    /// `<cluster>.<domain>` (a DNS record the operator keeps).
    pub fn cluster_host(&self, cluster: &ClusterPlan) -> String {
        crate::model::naming::host_name(&cluster.label, &self.domain)
    }

    /// The read-only gate's address, for the `auth-url` annotation.
    pub fn read_only_gate_url(&self) -> String {
        format!(
            "http://{READ_ONLY_GATE}.{}.svc.cluster.local:{GATE_PORT}/",
            self.namespace
        )
    }
}

/// The Puppet environment a topology's build at `version` is staged in
/// for an upgrade: `<topology>_<version>` with `_` for every other
/// character (Puppet's environment names are `[a-z0-9_]+`).
pub fn puppet_environment(topology_label: &str, version: &str) -> String {
    format!("{topology_label}_{version}")
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '_' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            _ => '_',
        })
        .collect()
}

/// A node's file in its Compose project, as the project mounts it:
/// `./config/<node>/<path>`.
pub fn compose_config_source(node: &str, path: &str) -> String {
    format!("./config/{node}/{path}")
}

/// The Puppet code and data shared by every datacenter.
pub mod puppet {
    /// The node definitions.
    pub const SITE: &str = "puppet/manifests/site.pp";
    /// The Hiera configuration (the hierarchy of data files).
    pub const HIERA: &str = "puppet/hiera.yaml";
    /// Hiera data every node reads.
    pub const COMMON_DATA: &str = "puppet/data/common.yaml";
    /// The `apim` module.
    pub const MODULE: &str = "puppet/modules/apim";
}

/// A Puppet node's Hiera data.
pub fn puppet_node_data(fqdn: &str) -> String {
    format!("puppet/data/nodes/{fqdn}.yaml")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_image_paths_are_under_the_images_home() {
        for path in [CONFIG_VOLUME, IMAGE_ENTRYPOINT] {
            let rest = path.strip_prefix(IMAGE_BASE).expect(path);
            assert!(rest.starts_with('/') && rest.len() > 1, "{path}");
        }
        assert_eq!(
            in_config_volume(DEPLOYMENT_TOML),
            "/home/wso2carbon/wso2-config-volume/repository/conf/deployment.toml"
        );
        // An APIM 3.x share holds the API folder (in its first shared
        // folder), which the artifact sync then reads in the share; a 4.x
        // share does not.
        let in_share = API_FOLDER
            .strip_prefix(share_subdir(3))
            .and_then(|rest| rest.strip_prefix('/'))
            .expect("the 3.x share holds the API folder");
        assert!(in_share.starts_with(&format!("{}/", SHARED_FOLDERS_3X[0])));
        assert!(!API_FOLDER.starts_with(share_subdir(4)));
        assert!(sync::SCRIPT.starts_with(sync::MOUNT));
        assert!(sync::SCRIPT.ends_with(sync::SCRIPT_FILE));
    }

    #[test]
    fn pods_are_selected_by_node_on_a_pair_and_by_cluster_on_replicas() {
        let d = crate::deployment::testing::deployment(crate::deployment::testing::PAIR);
        let site = &d.sites[0];
        let cp = site.cluster("cp").unwrap();
        assert_eq!(cp.pod_selector("cp-2"), "topoc/node=cp-2");
        let gw = site.cluster("gw").unwrap();
        assert_eq!(gw.pod_selector("gw-2"), "topoc/cluster=gw");
        assert_eq!(site.kubernetes_manifest(cp), "kubernetes/main/21-cp.yaml");
        assert_eq!(
            site.compose_config("cp-1", "deployment.toml"),
            "compose/main/config/cp-1/deployment.toml"
        );
        assert_eq!(site.lb_host(), "load-balancer.apim.shop.example");
        assert_eq!(site.cluster_host(gw), "gw.apim.shop.example");
    }

    #[test]
    fn the_primarys_first_gateways_push_and_read_only_gateways_pull() {
        let d = crate::deployment::testing::file("examples/multi-datacenter.topo");
        let site = |name: &str| d.sites.iter().find(|s| s.name == name).unwrap();
        let colombo = site("colombo");
        let mode = |site: &Site, cluster: &str, node: Option<&NodePlan>| {
            site.node_artifact_sync(site.cluster(cluster).unwrap(), node)
                .map(|(mode, _)| mode)
        };
        assert_eq!(mode(colombo, "gateway", None), Some(SyncMode::Push));
        let cp = colombo.cluster("control-plane").unwrap();
        assert_eq!(mode(colombo, "control-plane", Some(&cp.nodes[0])), None);
        let london = site("london");
        let gateway = london.cluster("gateway-london").unwrap();
        for node in gateway.nodes.iter().chain([&gateway.surge]) {
            assert_eq!(
                mode(london, "gateway-london", Some(node)),
                Some(SyncMode::Pull)
            );
        }
    }

    #[test]
    fn health_urls_and_addresses() {
        assert_eq!(
            LIVENESS.local_url(),
            "http://localhost:9763/services/Version"
        );
        assert_eq!(
            GATEWAY_READY.url("gw.ns.svc"),
            "https://gw.ns.svc:9443/api/am/gateway/v2/server-startup-healthcheck"
        );
        assert_eq!(host_port("db.example", 5432), "db.example:5432");
        assert_eq!(host_port("fd00::1", 5672), "[fd00::1]:5672");
        assert_eq!(host_port("[fd00::1]", 5672), "[fd00::1]:5672");
    }
}
