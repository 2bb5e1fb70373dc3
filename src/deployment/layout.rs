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

/// The folder of a product's deployed APIs, under its home.
pub const API_FOLDER: &str = "repository/deployment/server/synapse-configs/default";

/// The folders of the deployment folder that APIM 3.x nodes share (as
/// WSO2's charts do): the gateways' APIs and the traffic managers'
/// throttling policies.
pub const SHARED_FOLDERS_3X: [&str; 2] = ["synapse-configs", "executionplans"];

/// The environment variable that overrides the product image's tag in a
/// Compose file (the runbooks' patch of one service).
pub const TAG_VARIABLE: &str = "WSO2AM_TAG";

/// The Kubernetes labels every emitter and command selects by.
pub mod labels {
    pub const DATACENTER: &str = "topoc/datacenter";
    pub const CLUSTER: &str = "topoc/cluster";
    pub const NODE: &str = "topoc/node";
    pub const ROLE: &str = "topoc/role";
    pub const SHARE: &str = "topoc/share";
    pub const GATE: &str = "topoc/gate";
    pub const LOAD_BALANCER: &str = "topoc/load-balancer";
    /// Set by a runbook on the pods that keep serving while one node of a
    /// pair is drained: the cluster's Service then selects only them.
    pub const ROUTE: &str = "topoc/route";
}

/// The read-only gate of a datacenter's portals (Kubernetes): what the
/// runbooks' portal step asks, through ingress-nginx's `auth-url`, whether a
/// request may pass.
pub const READ_ONLY_GATE: &str = "read-only-gate";

/// The gate's port.
pub const GATE_PORT: u16 = 8080;

/// The name of the product's container, in a pod and as a Compose
/// service's main process.
pub const PRODUCT_CONTAINER: &str = "wso2am";

/// A datacenter's Kubernetes manifests other than its clusters', by file
/// name, in the order they are applied.
pub mod manifests {
    pub const NAMESPACE: &str = "00-namespace.yaml";
    pub const STORAGE: &str = "10-storage.yaml";
    pub const ARTIFACT_SYNC: &str = "15-artifact-sync.yaml";
    pub const INGRESS: &str = "30-ingress.yaml";
    pub const READ_ONLY_GATE: &str = "31-read-only-gate.yaml";
}

/// The systemd unit a Puppet host runs the product as.
pub const PRODUCT_UNIT: &str = "wso2am";

/// The folder on a Puppet host where the operator puts the packs, drivers
/// and keystores the agent installs.
pub const HOST_PACKS: &str = "/opt/wso2/packs";

/// The load balancer controls a Puppet-managed load balancer host holds
/// (the Compose projects' `scripts/lb.sh`).
pub const HOST_LB_SCRIPT: &str = "/usr/local/bin/apim-lb";

/// The Compose service of a datacenter's load balancer.
pub const LB_SERVICE: &str = "load-balancer";

/// Where the serving ConfigMap is mounted in a node of an active-passive
/// pair (Kubernetes).
pub const SERVING_DIR: &str = "/etc/topoc/serving";

/// A health endpoint of a node, on the node itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Health {
    pub https: bool,
    pub port: u16,
    pub path: &'static str,
}

impl Health {
    /// `http://localhost:9763/services/Version`
    pub fn local_url(&self) -> String {
        self.url("localhost")
    }

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
    port: 9763,
    path: "/services/Version",
};

/// An APIM 4.x gateway answers here once it has loaded its APIs.
pub const GATEWAY_READY: Health = Health {
    https: true,
    port: 9443,
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
}

impl ClusterPlan {
    /// Where a file share is mounted under the product home at `base`: the
    /// deployment folder in APIM 3.x (artifacts live on the file system),
    /// tenants in 4.x.
    pub fn share_mount(&self, base: &str, major: u32) -> String {
        let home = self.product_home(base);
        if major >= 4 {
            format!("{home}/repository/tenants")
        } else {
            format!("{home}/repository/deployment/server")
        }
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

    pub fn compose_file(&self) -> String {
        format!("{}/compose.yaml", self.compose_dir())
    }

    /// The load balancer controls of the Compose runbooks.
    pub fn lb_script(&self) -> String {
        format!("{}/scripts/lb.sh", self.compose_dir())
    }

    /// The Puppet-managed load balancer host of the datacenter.
    pub fn lb_host(&self) -> String {
        format!("load-balancer.{}", self.domain)
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

/// A Puppet node's Hiera data.
pub fn puppet_node_data(fqdn: &str) -> String {
    format!("puppet/data/nodes/{fqdn}.yaml")
}
