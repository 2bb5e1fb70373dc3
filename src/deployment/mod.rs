//! The deployment model, computed once from a checked topology: every site
//! (datacenter), every cluster and node instance with its stable name, its
//! peer, the datasources and file share it sees, its key manager, traffic
//! manager and event hub, and the configuration it needs. Emitters only
//! translate this model into their formats; they never re-derive topology
//! facts.

pub mod config;
pub mod layout;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::naming::{cluster_label, dns_label, env_name, node_name};
use crate::model::*;

/// How nodes reach each other: by host name (Puppet-managed hosts, and
/// Docker Compose, whose network aliases carry the same names) or through
/// Kubernetes Services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Network {
    /// By host name: Puppet-managed hosts, and Docker Compose's network aliases.
    Hosts,
    /// Through Kubernetes Services in each site's namespace.
    Kubernetes,
}

/// The deployment model of a topology: its sites and what every node
/// needs, computed once by [`plan`] for the emitters and the runbooks.
#[derive(Debug, Clone, Serialize)]
pub struct Deployment {
    /// The topology's name, as written.
    pub topology: String,
    /// DNS label of the topology name.
    pub label: String,
    /// The product version every node runs, e.g. `4.2.0`.
    pub version: String,
    /// The product's major version (3 or 4), which decides profiles, ports
    /// and configuration sections.
    pub major: u32,
    /// The product's minor version, e.g. 2 for `4.2.0`.
    pub minor: u32,
    /// The WSO2 update level the nodes run (`update_level`, above 0), or
    /// `None` when the topology does not pin one.
    pub update_level: Option<u64>,
    /// The registry the product images come from, without a trailing `/`.
    pub registry: String,
    /// The datacenters that have a role, in the topology's order.
    pub sites: Vec<Site>,
    /// Every secret any node needs, with the environment variable that
    /// carries it.
    pub secrets: Vec<SecretEnv>,
    /// The super admin's password.
    pub admin_password: SecretEnv,
    /// The password of the keystore and of its private key.
    pub keystore_password: SecretEnv,
    /// APIM 4.x only.
    pub encryption_key: Option<SecretEnv>,
    /// The folder of the files the operator supplies (secrets, TLS
    /// certificates, keystores, JDBC drivers), relative to the folder that
    /// holds the output folder: `operator-files/<topology>`. The build
    /// never writes there.
    pub operator_files: String,
    /// The user and group the product runs as.
    pub run_as: RunAs,
    /// The Java major version the product runs on (hosts install it).
    pub java_version: u32,
    /// The secret naming the registry's pull credentials, if any.
    pub registry_login: Option<SecretEnv>,
    /// Where the helper images (nginx) come from: the topology's registry
    /// when it names one, else their public registry.
    pub helper_registry: Option<String>,
    /// The keystore and truststore every node uses.
    pub keystores: Keystores,
    /// Every JDBC driver jar the nodes need (in `operator-files/.../lib/`).
    pub drivers: Vec<String>,
    /// The images built for Kubernetes: each product image with the JDBC
    /// drivers added (`docker/<image>/Dockerfile`).
    pub built_images: Vec<BuiltImage>,
}

/// nginx, the one helper image (Compose load balancers, the Kubernetes
/// read-only gate).
pub const NGINX_IMAGE: &str = "nginx:1.27.3-alpine";

impl Deployment {
    /// The nginx image: from the topology's registry when it names one
    /// (mirror it there under the same name), else Docker Hub's.
    pub fn nginx_image(&self) -> String {
        match &self.helper_registry {
            Some(registry) => format!("{registry}/{NGINX_IMAGE}"),
            None => NGINX_IMAGE.to_string(),
        }
    }
}

/// The user and group the product runs as: the product image's own (802
/// up to APIM 4.2, 10001 from 4.3, as WSO2's Dockerfiles create them),
/// unless the topology says otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RunAs {
    /// The user id.
    pub user: u32,
    /// The group id.
    pub group: u32,
}

impl RunAs {
    /// The image's user for a version.
    pub fn of_version(version: &Version) -> RunAs {
        let (major, minor) = version.minor();
        let id = if (major, minor) >= (4, 3) { 10001 } else { 802 };
        RunAs {
            user: id,
            group: id,
        }
    }
}

/// The Java a version runs on, as WSO2's images ship it: 11 up to 4.1, 17
/// for 4.2 and 4.3, 21 from 4.4 (wso2/docker-apim Dockerfiles).
pub fn java_version(version: &Version) -> u32 {
    match version.minor() {
        (major, minor) if (major, minor) >= (4, 4) => 21,
        (major, minor) if (major, minor) >= (4, 2) => 17,
        _ => 11,
    }
}

/// A keystore or truststore file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoreFile {
    /// The file name, in `repository/resources/security/`.
    pub file: String,
    /// From the file name.
    pub kind: StoreKind,
    /// Whether the operator supplies it (else it is WSO2's bundled one).
    pub supplied: bool,
    /// The secret holding the store's password.
    pub password: SecretEnv,
}

/// The format of a keystore or truststore.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum StoreKind {
    /// A Java KeyStore: any file not named `.p12` or `.pfx`.
    #[serde(rename = "JKS")]
    Jks,
    /// PKCS #12: a `.p12` or `.pfx` file.
    #[serde(rename = "PKCS12")]
    Pkcs12,
}

impl StoreKind {
    /// As deployment.toml's `type` names it.
    pub fn name(self) -> &'static str {
        match self {
            StoreKind::Jks => "JKS",
            StoreKind::Pkcs12 => "PKCS12",
        }
    }

    /// `.p12` and `.pfx` files are PKCS #12, anything else JKS.
    pub fn of_file(file: &str) -> StoreKind {
        let lower = file.to_ascii_lowercase();
        if lower.ends_with(".p12") || lower.ends_with(".pfx") {
            StoreKind::Pkcs12
        } else {
            StoreKind::Jks
        }
    }
}

impl StoreFile {
    fn new(given: Option<&str>, bundled: &str, password: SecretEnv) -> StoreFile {
        let file = given.unwrap_or(bundled).to_string();
        StoreFile {
            kind: StoreKind::of_file(&file),
            supplied: given.is_some(),
            file,
            password,
        }
    }
}

/// The keystore (primary, TLS and internal) and truststore of every node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Keystores {
    /// The keystore (primary, TLS and internal).
    pub keystore: StoreFile,
    /// The alias of the private key.
    pub alias: String,
    /// The truststore of the certificates the nodes trust.
    pub truststore: StoreFile,
}

impl Keystores {
    /// The files the operator supplies.
    pub fn supplied(&self) -> Vec<&StoreFile> {
        [&self.keystore, &self.truststore]
            .into_iter()
            .filter(|s| s.supplied)
            .collect()
    }
}

/// A product image with the JDBC drivers added, for Kubernetes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuiltImage {
    /// `docker/<name>/Dockerfile` in the output.
    pub dockerfile: String,
    /// The product image it starts from.
    pub from: String,
    /// What it is tagged and pushed as (what the pods run).
    pub tag: String,
    /// Where the drivers go.
    pub lib: String,
    /// The JDBC driver jars it adds, by file name.
    pub drivers: Vec<String>,
    /// The user and group that own the added drivers.
    pub run_as: RunAs,
}

/// A secret the topology names, and the environment variable the nodes
/// read it from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct SecretEnv {
    /// The secret's name, as given in `secret("...")`.
    pub name: String,
    /// The environment variable the nodes read it from.
    pub env: String,
}

impl SecretEnv {
    /// `$env{APIM_DB_PASSWORD}`: how deployment.toml refers to it.
    pub fn reference(&self) -> String {
        format!("$env{{{}}}", self.env)
    }
}

/// Whether a site's nodes run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SiteState {
    /// Serving traffic (primary, read-only, hot disaster recovery).
    Serving,
    /// A warm or cold disaster-recovery site: provisioned, not running.
    Standby,
}

/// One datacenter as deployed.
#[derive(Debug, Clone, Serialize)]
pub struct Site {
    /// The datacenter's name, as written in the topology.
    pub name: String,
    /// DNS label of the datacenter's name (the `topoc/datacenter` label).
    pub label: String,
    /// The Kubernetes namespace: `<topology>-<datacenter>`.
    pub namespace: String,
    /// What the datacenter does: primary, read-only or disaster recovery.
    pub role: Role,
    /// The DNS domain of its hosts: node 2 of cluster `gateway` is
    /// `gateway-2.<domain>`.
    pub domain: String,
    /// The cloud region or site name, when the topology gives one.
    pub region: Option<String>,
    /// Whether its nodes run or stand by.
    pub state: SiteState,
    /// How a disaster-recovery site stands by (hot, warm or cold); `None` for
    /// the other roles.
    pub standby: Option<DcStandby>,
    /// How long a failover to this site takes (its `recovery_time`, in human
    /// form such as `30min`), when given.
    pub recovery_time: Option<String>,
    /// For a disaster-recovery site that copies the primary's clusters.
    pub copies: Option<String>,
    /// Its clusters, in start order.
    pub clusters: Vec<ClusterPlan>,
    /// Its file shares.
    pub shares: Vec<SharePlan>,
    /// Its load balancers (on a site that copies the primary and has none of
    /// its own, copies of the primary's under the same host names).
    pub load_balancers: Vec<LoadBalancerPlan>,
    /// Read-only sites pull published artifacts from here.
    pub artifact_pull: Option<ArtifactSync>,
    /// The primary pushes published artifacts here (when read-only sites
    /// exist).
    pub artifact_push: Option<ArtifactSync>,
    /// Secrets the nodes of this site need.
    pub secrets: Vec<SecretEnv>,
    /// A read-only site (APIM 4.x): how it learns of the changes made in
    /// the primary.
    pub freshness: Option<Freshness>,
}

/// How a read-only site learns of the changes made in the primary (new
/// APIs, subscriptions, application keys, revocations, throttling
/// policies) without calling it on any request.
#[derive(Debug, Clone, Serialize)]
pub struct Freshness {
    /// The primary datacenter.
    pub primary: String,
    /// Whether an event hub here receives the primary's events, or nothing
    /// does.
    pub kind: FreshnessKind,
    /// The replicas' lag the nodes wait for before acting on an event.
    pub lag_millis: u64,
    /// How often its gateways pull API artifacts.
    pub artifact_poll_seconds: Option<u64>,
}

/// How the changes made in the primary reach a read-only site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum FreshnessKind {
    /// The control planes of the primary relay every event they announce
    /// to this site's event hub, which reads the replicas.
    Relayed {
        /// The cluster that is the site's event hub.
        hub: String,
    },
    /// No cluster here can be its event hub: nothing announces the
    /// primary's changes.
    AtRestart,
}

impl Freshness {
    /// How long after a change in the primary the site serves it: stated
    /// in `out/README.md` and in the runbooks.
    pub fn bound(&self, site: &str) -> String {
        let lag = crate::model::Duration {
            millis: self.lag_millis,
        }
        .human();
        match &self.kind {
            FreshnessKind::Relayed { hub } => {
                let artifacts = self
                    .artifact_poll_seconds
                    .map(|s| {
                        format!(
                            " API artifacts also arrive through the artifact server, pulled every {}.",
                            crate::model::Duration { millis: s * 1000 }.human()
                        )
                    })
                    .unwrap_or_default();
                format!(
                    "`{site}` serves a change made in `{primary}` (an API, subscription, application key, token revocation or throttling policy) about {lag} after it is made: the control planes of `{primary}` relay every event they announce to the event hub of `{site}` (`{hub}`, which reads the replicas), and the nodes of `{site}` act on an event {lag} (its `replication_lag`) after it was sent, once the replicas have the change, or as soon as it arrives if the link is slower.{artifacts} An event sent while the link or the event hub is down is lost: that change is served only after the nodes of `{site}` restart.",
                    primary = self.primary
                )
            }
            FreshnessKind::AtRestart => format!(
                "`{site}` has no traffic manager to be its event hub, so nothing announces the changes made in `{}` there: {}.",
                self.primary,
                crate::model::UNRELAYED
            ),
        }
    }
}

/// One event hub node of a read-only site that a control plane of the
/// primary relays its events to (reached by its host name from the other
/// datacenter, on the broker port 5672).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RelayTarget {
    /// The read-only datacenter's name.
    pub datacenter: String,
    /// The event hub node's instance name.
    pub node: String,
    /// The node's host name, as the primary's datacenter reaches it.
    pub host: String,
}

impl RelayTarget {
    /// The stem of the relay's files: `relay-<datacenter>-<node>`.
    pub fn stem(&self) -> String {
        format!("relay-{}-{}", dns_label(&self.datacenter), self.node)
    }

    /// The node's broker, as WSO2's JNDI broker lists name one.
    pub fn broker(&self) -> String {
        format!(
            "tcp://{}",
            layout::host_port(&self.host, layout::ports::JMS)
        )
    }
}

/// The event streams a control plane relays, each with the JMS topic its
/// own publishers announce it on (product-apim's `eventpublishers/`, and
/// docs-apim's multi-DC pattern 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RelayedStream {
    /// API, application, subscription and policy notifications.
    Notification,
    /// Revoked tokens.
    TokenRevocation,
    /// Key manager changes.
    KeyManager,
    /// Blocking conditions, on the throttle data topic.
    Blocking,
    /// WebSub (async webhooks) subscription requests.
    AsyncWebhooks,
}

impl RelayedStream {
    /// Every relayed stream, in the order the relay's publishers are written.
    pub const ALL: [RelayedStream; 5] = [
        RelayedStream::Notification,
        RelayedStream::TokenRevocation,
        RelayedStream::KeyManager,
        RelayedStream::Blocking,
        RelayedStream::AsyncWebhooks,
    ];

    /// The stream's short name, the last part of its relay publisher's file
    /// name (`relay-<datacenter>-<node>-<name>`).
    pub fn name(self) -> &'static str {
        match self {
            RelayedStream::Notification => "notification",
            RelayedStream::TokenRevocation => "token-revocation",
            RelayedStream::KeyManager => "key-manager",
            RelayedStream::Blocking => "blocking",
            RelayedStream::AsyncWebhooks => "async-webhooks",
        }
    }

    /// The WSO2 event stream the relay publisher reads.
    pub fn stream(self) -> &'static str {
        match self {
            RelayedStream::Notification => "org.wso2.apimgt.notification.stream",
            RelayedStream::TokenRevocation => "org.wso2.apimgt.token.revocation.stream",
            RelayedStream::KeyManager => "org.wso2.apimgt.keymgt.stream",
            RelayedStream::Blocking => "org.wso2.blocking.request.stream",
            RelayedStream::AsyncWebhooks => "org.wso2.apimgt.webhooks.request.stream",
        }
    }

    /// The JMS topic the stream is announced on, which the relay publishes to
    /// on the event hub node's broker.
    pub fn topic(self) -> &'static str {
        match self {
            RelayedStream::Notification => "notification",
            RelayedStream::TokenRevocation => "tokenRevocation",
            RelayedStream::KeyManager => "keyManager",
            RelayedStream::Blocking => "throttleData",
            RelayedStream::AsyncWebhooks => "asyncWebhooksData",
        }
    }
}

impl Site {
    /// Whether the site's nodes run (it serves traffic) rather than stand by.
    pub fn running(&self) -> bool {
        self.state == SiteState::Serving
    }

    /// The cluster of this site with this label.
    pub fn cluster(&self, label: &str) -> Option<&ClusterPlan> {
        self.clusters.iter().find(|c| c.label == label)
    }

    /// Clusters in start order: control planes, key managers, traffic
    /// managers, gateways; dependencies before dependents.
    pub fn start_order(&self) -> Vec<&ClusterPlan> {
        // `plan` keeps the clusters in start order.
        self.clusters.iter().collect()
    }

    /// The Kubernetes Service address of a name in this site's namespace.
    pub fn service_address(&self, name: &str) -> String {
        format!("{name}.{}.svc", self.namespace)
    }
}

/// How published API artifacts pass through an artifact server: read-only
/// sites pull them, the primary (or a disaster-recovery site that took
/// over) pushes them.
#[derive(Debug, Clone, Serialize)]
pub struct ArtifactSync {
    /// The artifact server's name in the topology.
    pub server: String,
    /// The server's base URL.
    pub url: String,
    /// How often read-only sites pull, in seconds (at least 1).
    pub interval_seconds: u64,
    /// The secret holding `user:password` for the server, and the variable
    /// the sync process reads it from.
    pub credentials: Option<SecretEnv>,
}

/// The variable the artifact sync reads the server's credentials from
/// (`ARTIFACT_CREDENTIALS_FILE` names a file holding them instead).
pub const ARTIFACT_CREDENTIALS_ENV: &str = "ARTIFACT_CREDENTIALS";

impl ArtifactSync {
    fn of(server: &crate::model::ArtifactServer) -> ArtifactSync {
        ArtifactSync {
            server: server.name.clone(),
            url: server.url.clone().unwrap_or_default(),
            interval_seconds: server.poll.seconds().max(1),
            credentials: server.credentials.as_ref().map(|c| SecretEnv {
                name: c.name.clone(),
                env: ARTIFACT_CREDENTIALS_ENV.to_string(),
            }),
        }
    }
}

/// How the nodes of a cluster are laid out as workloads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    /// Each node is its own instance with its own configuration (HA pairs:
    /// they name each other, and an active-passive pair is switched by
    /// moving traffic from one to the other).
    Paired,
    /// Stateless nodes scaled as replicas of one workload.
    Scaled,
}

/// Whether a node takes traffic or stands by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeRole {
    /// Takes traffic (every node of an active-active cluster, node 1 of an
    /// active-passive pair).
    Active,
    /// The hot standby of an active-passive pair.
    Passive,
}

impl NodeRole {
    /// As the `topoc/role` label and the Puppet node descriptions say it.
    pub fn name(self) -> &'static str {
        match self {
            NodeRole::Active => "active",
            NodeRole::Passive => "passive",
        }
    }
}

/// One node instance of a cluster.
#[derive(Debug, Clone, Serialize)]
pub struct NodePlan {
    /// `gateway-2`: the stable instance name.
    pub name: String,
    /// 1-based.
    pub index: u32,
    /// The host name (`gateway-2.<domain>`, or the one given in `hosts`).
    pub fqdn: String,
    /// Whether it takes traffic or stands by.
    pub role: NodeRole,
    /// The other instance of an HA pair.
    pub peer: Option<String>,
    /// Deploys artifacts; the others are read-only.
    pub manager: bool,
}

/// A named port a node listens on.
#[derive(Debug, Clone, Serialize)]
pub struct PortSpec {
    /// At most 15 characters (a Kubernetes port name).
    pub name: String,
    /// The port number.
    pub port: u16,
}

/// A datasource the nodes of a cluster use (on a disaster-recovery copy,
/// the replica in its own datacenter).
#[derive(Debug, Clone, Serialize)]
pub struct DatabasePlan {
    /// The datasource's name in the topology.
    pub name: String,
    /// Which WSO2 database it holds: `apim` (WSO2AM_DB) or `shared`
    /// (WSO2SHARED_DB).
    pub purpose: Purpose,
    /// The database engine.
    pub engine: Engine,
    /// The database server's host name.
    pub host: String,
    /// The database server's TCP port.
    pub port: u16,
    /// The database (schema) name.
    pub database: String,
    /// The user the nodes connect as.
    pub user: String,
    /// The secret holding the user's password.
    pub password: SecretEnv,
    /// Whether the nodes only read it (a replica).
    pub read_only: bool,
    /// The JDBC driver jar.
    pub driver: Option<String>,
}

impl DatabasePlan {
    /// The deployment.toml section: `apim_db` or `shared_db`.
    pub fn section(&self) -> &'static str {
        match self.purpose {
            Purpose::Apim => "apim_db",
            Purpose::Shared => "shared_db",
        }
    }

    /// WSO2's name for the engine in deployment.toml.
    pub fn wso2_type(&self) -> &'static str {
        match self.engine {
            // WSO2 configures MariaDB as MySQL ("Changing to MariaDB").
            Engine::Mysql | Engine::Mariadb => "mysql",
            Engine::Postgres => "postgre",
            Engine::Mssql => "mssql",
            Engine::Oracle => "oracle",
        }
    }

    /// The engine's JDBC driver class.
    pub fn driver(&self) -> &'static str {
        match self.engine {
            Engine::Mysql | Engine::Mariadb => "com.mysql.cj.jdbc.Driver",
            Engine::Postgres => "org.postgresql.Driver",
            Engine::Mssql => "com.microsoft.sqlserver.jdbc.SQLServerDriver",
            Engine::Oracle => "oracle.jdbc.OracleDriver",
        }
    }

    /// The query the connection pool validates connections with.
    pub fn validation_query(&self) -> &'static str {
        match self.engine {
            Engine::Oracle => "SELECT 1 FROM DUAL",
            _ => "SELECT 1",
        }
    }

    /// The JDBC URL of the database, for the engine.
    pub fn jdbc_url(&self) -> String {
        let address = layout::host_port(&self.host, self.port);
        let db = &self.database;
        match self.engine {
            Engine::Mysql | Engine::Mariadb => format!("jdbc:mysql://{address}/{db}"),
            Engine::Postgres => format!("jdbc:postgresql://{address}/{db}"),
            Engine::Mssql => format!("jdbc:sqlserver://{address};databaseName={db}"),
            Engine::Oracle => format!("jdbc:oracle:thin:@//{address}/{db}"),
        }
    }
}

/// A file share as the nodes of a datacenter use it.
#[derive(Debug, Clone, Serialize)]
pub struct SharePlan {
    /// Its name in the topology.
    pub name: String,
    /// DNS label of its name, by which clusters name it
    /// ([`ClusterPlan::share`]).
    pub label: String,
    /// How files are shared: NFS, rsync or not at all.
    pub method: ShareMethod,
    /// The NFS server, when the method is NFS.
    pub server: Option<String>,
    /// The path the NFS server exports.
    pub path: Option<String>,
    /// How often rsync runs, in whole minutes (at least 1).
    pub interval_minutes: u64,
    /// Kubernetes: the StorageClass of its ReadWriteMany claims.
    pub storage_class: Option<String>,
}

/// The gateways' secure WebSocket port (`wss_endpoint`).
pub const WSS_PORT: u16 = layout::ports::WSS;
/// The gateways' plain WebSocket port (`ws_endpoint`).
pub const WS_PORT: u16 = layout::ports::WS;

/// A load balancer in front of clusters of its datacenter.
#[derive(Debug, Clone, Serialize)]
pub struct LoadBalancerPlan {
    /// Its name in the topology.
    pub name: String,
    /// `<name>-lb`: its service and host name.
    pub label: String,
    /// The host name clients use: the one given, else `<label>.<domain>`.
    pub hostname: String,
    /// The labels of the clusters behind it.
    pub fronts: Vec<String>,
}

/// What a load balancer route carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RouteKind {
    /// API traffic, to the gateways.
    Api,
    /// The portals, the management console and their APIs.
    Portal,
    /// A key manager's token and key manager paths.
    KeyManager,
    /// Anything else a cluster serves on its main port.
    Service,
}

impl RouteKind {
    /// Names the route's upstream and Ingress.
    pub fn name(self) -> &'static str {
        match self {
            RouteKind::Api => "api",
            RouteKind::Portal => "portal",
            RouteKind::KeyManager => "key-manager",
            RouteKind::Service => "service",
        }
    }
}

/// Where a load balancer sends requests: the clusters behind some paths.
#[derive(Debug, Clone)]
pub struct LbRoute<'a> {
    /// What the route carries.
    pub kind: RouteKind,
    /// The name of its nginx upstream and Ingress: the load balancer's
    /// own for the catch-all first route, `<load balancer>-<kind>` for
    /// the others.
    pub name: String,
    /// Path prefixes; `/` is everything the other routes do not take.
    pub paths: &'static [&'static str],
    /// The port of the clusters' nodes.
    pub port: u16,
    /// The clusters behind the route.
    pub clusters: Vec<&'a ClusterPlan>,
    /// Session affinity: the management console and portals need it, API
    /// traffic does not.
    pub affinity: bool,
}

/// The paths of the management console, the portals, their REST APIs and
/// login, served on 9443 by control-plane and all-in-one nodes.
const PORTAL_PATHS: &[&str] = &[
    "/publisher",
    "/devportal",
    "/admin",
    "/carbon",
    "/api/am",
    "/api/identity",
    "/oauth2",
    "/oidc",
    "/commonauth",
    "/authenticationendpoint",
    "/logincontext",
    "/keymanager-operations",
    "/services",
    "/scim2",
    "/.well-known",
];

/// The paths a key manager serves (token, login, key manager API).
const KEY_MANAGER_PATHS: &[&str] = &[
    "/oauth2",
    "/oidc",
    "/commonauth",
    "/authenticationendpoint",
    "/logincontext",
    "/keymanager-operations",
    "/api/identity",
    "/scim2",
    "/.well-known",
];

impl LoadBalancerPlan {
    /// The routes of this load balancer in `site`, the catch-all `/`
    /// first: API traffic to the gateways (8243) when it fronts any, the
    /// portals and management console on their own paths (9443), and a
    /// key manager's paths to the key managers it fronts.
    pub fn routes<'a>(&self, site: &'a Site) -> Vec<LbRoute<'a>> {
        let fronted: Vec<&ClusterPlan> =
            self.fronts.iter().filter_map(|f| site.cluster(f)).collect();
        let of = |keep: &dyn Fn(&ClusterPlan) -> bool| -> Vec<&'a ClusterPlan> {
            fronted.iter().copied().filter(|c| keep(c)).collect()
        };
        let gateways = of(&|c| c.profile.runs_gateway());
        let portals = of(&|c| c.serves_portals());
        let key_managers = of(&|c| c.profile == Profile::KeyManager);
        let others = of(&|c| {
            !(c.profile.runs_gateway() || c.serves_portals() || c.profile == Profile::KeyManager)
        });
        let mut routes = Vec::new();
        if !gateways.is_empty() {
            routes.push(LbRoute {
                name: String::new(),
                kind: RouteKind::Api,
                paths: &["/"],
                port: layout::ports::GATEWAY_HTTPS,
                clusters: gateways,
                affinity: false,
            });
        }
        if !portals.is_empty() {
            routes.push(LbRoute {
                name: String::new(),
                kind: RouteKind::Portal,
                paths: PORTAL_PATHS,
                port: layout::ports::HTTPS,
                clusters: portals,
                affinity: true,
            });
        }
        if !key_managers.is_empty() {
            routes.push(LbRoute {
                name: String::new(),
                kind: RouteKind::KeyManager,
                paths: KEY_MANAGER_PATHS,
                port: layout::ports::HTTPS,
                clusters: key_managers,
                affinity: false,
            });
        }
        if !others.is_empty() {
            let port = others[0].main_port();
            routes.push(LbRoute {
                name: String::new(),
                kind: RouteKind::Service,
                paths: &["/"],
                port,
                clusters: others,
                affinity: false,
            });
        }
        // The first route takes everything (`/`); a key manager's paths
        // are its own, not the portals'.
        if let Some(first) = routes.first_mut() {
            first.paths = &["/"];
        }
        let key_manager_paths = routes
            .iter()
            .any(|r| r.kind == RouteKind::KeyManager && r.paths != ["/"]);
        let mut seen_default = false;
        routes.retain(|r| {
            let default = r.paths == ["/"];
            let keep = !(default && seen_default);
            seen_default |= default;
            keep
        });
        if key_manager_paths {
            for route in &mut routes {
                if route.kind == RouteKind::Portal && route.paths != ["/"] {
                    route.paths = PORTAL_ONLY_PATHS;
                }
            }
        }
        for (i, route) in routes.iter_mut().enumerate() {
            route.name = if i == 0 {
                self.label.clone()
            } else {
                format!("{}-{}", self.label, route.kind.name())
            };
        }
        routes
    }
}

/// [`PORTAL_PATHS`] without those of a key manager.
const PORTAL_ONLY_PATHS: &[&str] = &[
    "/publisher",
    "/devportal",
    "/admin",
    "/carbon",
    "/api/am",
    "/services",
];

/// One cluster as deployed: its nodes, image, resources, ports,
/// datasources and the clusters it talks to.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterPlan {
    /// The cluster's name, as written in the topology.
    pub name: String,
    /// DNS label of its name: the stem of its node names, Services and
    /// workloads.
    pub label: String,
    /// The WSO2 profile every node runs.
    pub profile: Profile,
    /// The HA mode.
    pub ha: HaMode,
    /// How its nodes are laid out as workloads.
    pub shape: Shape,
    /// Its nodes, node 1 first.
    pub nodes: Vec<NodePlan>,
    /// The temporary node an upgrade may add (`<cluster>-surge`): a passive
    /// standby of an active-passive pair, an extra node otherwise. It runs
    /// only while a runbook needs it.
    pub surge: NodePlan,
    /// What one node serves, in requests per second, when the topology says.
    pub node_capacity: Option<f64>,
    /// The peak load the cluster must serve, in requests per second: its own
    /// `peak_load`, else the topology's.
    pub peak_rps: Option<f64>,
    /// `degraded_capacity x peak_load`.
    pub required_rps: Option<f64>,
    /// How many nodes may be down at once and still leave the required
    /// capacity (at least 1).
    pub max_unavailable: u32,
    /// CPU cores per node: the cluster's `cpu`, else the profile's default.
    pub cpu: f64,
    /// Memory per node, in bytes: the cluster's `memory`, else the profile's
    /// default.
    pub memory_bytes: u64,
    /// The product image (or the custom image the topology names).
    pub image: String,
    /// What the Kubernetes pods run: the custom image, or the product image
    /// built with the JDBC drivers ([`BuiltImage`]).
    pub k8s_image: String,
    /// Whether `image` always names the same image: a digest, an update
    /// level above 0, or a custom image's tag. WSO2 moves a version's own
    /// tag and the `.0` update tag as updates come out.
    pub image_pinned: bool,
    /// Whether the image is the topology's own (`image`), not WSO2's.
    pub custom_image: bool,
    /// The JDBC drivers its nodes need, by file name.
    pub drivers: Vec<String>,
    /// The product folder in the image or on the host, e.g. `wso2am-4.2.0`.
    pub product_dir: String,
    /// The start script under the product folder.
    pub launcher: String,
    /// The `-Dprofile=...` the node starts with, where its product runs
    /// several profiles.
    pub profile_arg: Option<String>,
    /// The profile `bin/profileSetup.sh` prepares the product for once,
    /// before its first start ([`Launch::profile_setup`]).
    pub profile_setup: Option<String>,
    /// The node runs one of the 4.5 split distributions, whose settings
    /// are keyed on `server_role = "default"` only.
    pub split_distribution: bool,
    /// The ports its nodes listen on, by profile.
    pub ports: Vec<PortSpec>,
    /// The datasources its nodes use.
    pub databases: Vec<DatabasePlan>,
    /// The label of the file share its nodes use, if any (none when the
    /// share's method is `none`).
    pub share: Option<String>,
    /// Node number of the manager.
    pub manager: Option<u32>,
    /// The label of the cluster that validates its tokens: the one the
    /// topology names, else the first of the site that plays that role.
    pub key_manager: Option<String>,
    /// The label of the cluster that makes its throttling decisions, found
    /// as [`ClusterPlan::key_manager`] is.
    pub traffic_manager: Option<String>,
    /// The cluster whose event hub the nodes listen to (APIM 4.x): a
    /// control plane or all-in-one cluster is its own, as are a read-only
    /// site's traffic managers.
    pub event_hub: Option<String>,
    /// The cluster whose `/internal/data/v1/notify` announces the tokens
    /// this cluster revokes (its own on a control plane or all-in-one).
    pub notifies: Option<String>,
    /// Gateway clusters a control plane or all-in-one deploys APIs to.
    pub gateways: Vec<String>,
    /// A control plane (or all-in-one) of the primary, or a copy of one on
    /// a disaster-recovery site: the event hub nodes of read-only sites it
    /// relays its events to.
    pub relay_to: Vec<RelayTarget>,
    /// Clusters of the same site that must be up before this one starts.
    pub depends_on: Vec<String>,
    /// Its place in the start order, by profile: control planes and
    /// all-in-one 1, key managers 2, traffic managers 3, gateways 4.
    pub start_rank: u8,
    /// The public host name of the load balancer in front, if any.
    pub public_hostname: Option<String>,
    /// Read-only nodes pull published artifacts from the artifact server.
    pub pulls_artifacts: bool,
}

impl ClusterPlan {
    /// The port clients use (the gateway's HTTPS port, else management).
    pub fn main_port(&self) -> u16 {
        match self.profile {
            Profile::GatewayWorker => layout::ports::GATEWAY_HTTPS,
            Profile::TrafficManager => layout::ports::BINARY,
            _ => layout::ports::HTTPS,
        }
    }

    /// Whether the management console and portals run here (they need
    /// cookie affinity behind a load balancer; API traffic does not).
    pub fn serves_portals(&self) -> bool {
        matches!(self.profile, Profile::AllInOne | Profile::ControlPlane)
    }

    /// The nodes that take traffic: all but the passive node of a pair.
    pub fn active_nodes(&self) -> impl Iterator<Item = &NodePlan> {
        self.nodes.iter().filter(|n| n.role == NodeRole::Active)
    }

    /// The directory of the product installation under `base`.
    pub fn product_home(&self, base: &str) -> String {
        format!("{base}/{}", self.product_dir)
    }

    /// The product image (what Compose runs, and what the Kubernetes
    /// image is built from), parsed ([`ClusterPlan::image`]).
    pub fn image_ref(&self) -> crate::model::naming::ImageRef<'_> {
        crate::model::naming::ImageRef::parse(&self.image)
    }

    /// The image the Kubernetes pods run, parsed ([`ClusterPlan::k8s_image`]).
    pub fn k8s_image_ref(&self) -> crate::model::naming::ImageRef<'_> {
        crate::model::naming::ImageRef::parse(&self.k8s_image)
    }

    /// Whether the temporary node of a runbook has an address of its own:
    /// a Compose service or Puppet host, or on Kubernetes the Deployment
    /// and Service of a pair's temporary node.
    pub fn surge_is_a_node(&self, net: Network) -> bool {
        net == Network::Hosts || self.shape == Shape::Paired
    }

    /// How Kubernetes pulls the image: once per node when it is pinned,
    /// at every start when the tag may move.
    pub fn pull_policy(&self) -> &'static str {
        if self.image_pinned {
            "IfNotPresent"
        } else {
            "Always"
        }
    }

    /// The node artifacts must be deployed on: with APIM 3.x nodes that
    /// share their files by rsync, only the manager's files reach the
    /// others (its `rsync --delete` removes the rest), so APIs and
    /// throttling policies (Siddhi execution plans) land on the manager.
    pub fn rsync_manager<'a>(&'a self, site: &Site, major: u32) -> Option<&'a NodePlan> {
        if major >= 4 {
            return None;
        }
        let share = self.share.as_ref()?;
        site.shares
            .iter()
            .find(|s| s.label == *share && s.method == ShareMethod::Rsync)?;
        self.nodes.iter().find(|n| n.manager)
    }

    /// Who receives the throttle events of the clusters this traffic
    /// manager (or all-in-one) cluster serves: one group per node, so
    /// that every node counts every request. Where the temporary node of
    /// an upgrade is a node of its own (a Compose service, a Puppet host),
    /// it is every group's failover receiver: it counts in place of a node
    /// that is down, while it stands in. The nodes of a pair have it on
    /// Kubernetes too (a Deployment and Service of its own); replicas have
    /// the rolling update's surge pod, behind the cluster's Service.
    pub fn throttle_groups(&self, net: Network) -> Vec<ThrottleGroup<'_>> {
        let surge = self.surge_is_a_node(net).then_some(&self.surge);
        self.nodes
            .iter()
            .map(|node| ThrottleGroup {
                nodes: std::iter::once(node).chain(surge).collect(),
                kind: if surge.is_some() {
                    UrlGroupKind::Failover
                } else {
                    UrlGroupKind::Loadbalance
                },
            })
            .collect()
    }

    /// Where gateways listen for this traffic manager cluster's throttle
    /// decisions, in failover order: every node, then the temporary node
    /// where it is a node of its own.
    pub fn decision_nodes(&self, net: Network) -> Vec<&NodePlan> {
        let surge = self.surge_is_a_node(net).then_some(&self.surge);
        self.nodes.iter().chain(surge).collect()
    }

    /// How WSO2's product image starts a node: with `PROFILE_NAME` set its
    /// entrypoint runs the profile setup and starts the profile's launcher
    /// itself (docker-apim `apim` 4.3.x/4.4.x, `apim-acp` 4.5.x), so the
    /// arguments carry no `-Dprofile`; otherwise they carry the runtime
    /// profile.
    pub fn image_start(&self) -> ImageStart {
        match &self.profile_setup {
            Some(profile) => ImageStart {
                profile_name: Some(profile.clone()),
                args: Vec::new(),
            },
            None => ImageStart {
                profile_name: None,
                args: self
                    .profile_arg
                    .iter()
                    .map(|p| format!("-Dprofile={p}"))
                    .collect(),
            },
        }
    }

    /// The heap for the JVM: three quarters of the memory, in MiB.
    pub fn heap_mib(&self) -> u64 {
        (self.memory_bytes / (1024 * 1024)) * 3 / 4
    }
}

/// How the receivers of one URL group share its events (WSO2's
/// `url_group` `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UrlGroupKind {
    /// Each event goes to one of them, in turn.
    Loadbalance,
    /// Each event goes to the first one that is up.
    Failover,
}

/// The traffic manager nodes of one throttle URL group.
#[derive(Debug, Clone)]
pub struct ThrottleGroup<'a> {
    /// Its receivers: one node, then the temporary node where that is a
    /// failover receiver.
    pub nodes: Vec<&'a NodePlan>,
    /// How the receivers share the group's events.
    pub kind: UrlGroupKind,
}

/// The environment and arguments a node's container starts with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageStart {
    /// `PROFILE_NAME` for the image's entrypoint.
    pub profile_name: Option<String>,
    /// The arguments after the start script: `-Dprofile=...`, or none.
    pub args: Vec<String>,
}

/// Build the deployment model. The topology must be free of errors (the
/// build refuses otherwise); what is still missing falls back to safe
/// defaults rather than panicking.
pub fn plan(t: &Topology) -> Deployment {
    let version = t
        .version
        .as_ref()
        .map(|v| v.value.clone())
        .unwrap_or_else(|| Version::parse("4.2.0").expect("a valid version"));
    let major = version.major();
    let label = dns_label(&t.name);

    let mut secret_names: Vec<String> = vec![
        t.admin_password.name.clone(),
        t.keystore_password.name.clone(),
        t.truststore_password.name.clone(),
    ];
    if major >= 4 {
        secret_names.push(t.encryption_key.name.clone());
    }
    secret_names.extend(t.datasources.iter().map(|d| d.password.name.clone()));
    secret_names.sort();
    secret_names.dedup();
    let secrets = assign_env_names(&secret_names);
    let env_of = |name: &str| -> SecretEnv {
        secrets
            .iter()
            .find(|s| s.name == name)
            .cloned()
            .unwrap_or_else(|| SecretEnv {
                name: name.to_string(),
                env: env_name(name),
            })
    };

    let mut sites: Vec<Site> = t
        .dc_ids()
        .filter_map(|dc_id| site_plan(t, dc_id, &label, &version, &env_of))
        .collect();
    keep_read_only_sites_in_step(t, &mut sites, major);
    let run_as = RunAs::of_version(&version);
    let run_as = RunAs {
        user: t.run_as_user.as_ref().map_or(run_as.user, |u| u.value),
        group: t.run_as_group.as_ref().map_or(run_as.group, |g| g.value),
    };
    let keystores = Keystores {
        keystore: StoreFile::new(
            t.keystore.as_ref().map(|k| k.value.as_str()),
            "wso2carbon.jks",
            env_of(&t.keystore_password.name),
        ),
        alias: t.keystore_alias.clone(),
        truststore: StoreFile::new(
            t.truststore.as_ref().map(|k| k.value.as_str()),
            "client-truststore.jks",
            env_of(&t.truststore_password.name),
        ),
    };
    let mut drivers: Vec<String> = sites
        .iter()
        .flat_map(|s: &Site| s.clusters.iter())
        .flat_map(|c| c.drivers.iter().cloned())
        .collect();
    drivers.sort();
    drivers.dedup();
    let built_images = built_images(&sites, &drivers, run_as);
    let admin_password = env_of(&t.admin_password.name);
    let keystore_password = env_of(&t.keystore_password.name);
    let encryption_key = (major >= 4).then(|| env_of(&t.encryption_key.name));
    let registry_login = t.registry_login.as_ref().map(|s| env_of(&s.name));
    // The artifact servers' credentials, for the sites that push or pull.
    let mut secrets = secrets;
    for site in &sites {
        for sync in [&site.artifact_pull, &site.artifact_push]
            .into_iter()
            .flatten()
        {
            secrets.extend(sync.credentials.clone());
        }
    }
    secrets.sort();
    secrets.dedup();
    Deployment {
        run_as,
        update_level: t.update_level.as_ref().map(|l| l.value).filter(|&l| l > 0),
        java_version: java_version(&version),
        registry_login,
        helper_registry: t
            .registry_given
            .then(|| t.registry.trim_end_matches('/').to_string()),
        keystores,
        drivers,
        built_images,
        topology: t.name.clone(),
        version: version.to_string(),
        major,
        minor: version.minor().1,
        registry: t.registry.trim_end_matches('/').to_string(),
        sites,
        admin_password,
        keystore_password,
        encryption_key,
        secrets,
        operator_files: format!("{}/{label}", layout::OPERATOR_FILES),
        label,
    }
}

/// One datacenter as deployed (none for a datacenter without a role): its
/// clusters (the primary's copies on a disaster-recovery site that mirrors
/// it) linked and in start order, its shares, load balancers, artifact
/// sync and the secrets its nodes read. `label` is the topology's.
fn site_plan(
    t: &Topology,
    dc_id: DcId,
    label: &str,
    version: &Version,
    env_of: &dyn Fn(&str) -> SecretEnv,
) -> Option<Site> {
    let major = version.major();
    let dc = t.dc(dc_id);
    let role = dc.role()?;
    let copies = if dc.mirrors_primary() {
        t.primary()
    } else {
        None
    };
    let cluster_ids: Vec<ClusterId> = match copies {
        Some(primary) => t.dc(primary).clusters.clone(),
        None => dc.clusters.clone(),
    };
    let state = if role == Role::DisasterRecovery && dc.standby_mode() != DcStandby::Hot {
        SiteState::Standby
    } else {
        SiteState::Serving
    };
    let domain = dc.domain.clone();
    let mut clusters = Vec::new();
    let mut planned = Vec::new();
    for &cid in &cluster_ids {
        let c = t.cluster(cid);
        let Some(profile) = c.profile() else { continue };
        clusters.push(cluster_plan(
            t,
            dc_id,
            c,
            profile,
            copies.is_some(),
            &domain,
            version,
            env_of,
        ));
        planned.push(cid);
    }
    link_clusters(t, &mut clusters, &planned, role, major);
    clusters.sort_by(|a, b| (a.start_rank, &a.label).cmp(&(b.start_rank, &b.label)));
    // A site standing by with copies of the primary's clusters has copies
    // of its load balancers too, under the same host names: the failover
    // points those names at this site.
    let lb_ids = match copies {
        Some(primary) if dc.load_balancers.is_empty() => &t.dc(primary).load_balancers,
        _ => &dc.load_balancers,
    };
    let load_balancers = load_balancer_plans(t, lb_ids, &domain);
    for lb in &load_balancers {
        for front in &lb.fronts {
            if let Some(c) = clusters.iter_mut().find(|c| c.label == *front) {
                c.public_hostname.get_or_insert(lb.hostname.clone());
            }
        }
    }
    let artifact_pull = dc
        .artifact_source
        .as_ref()
        .filter(|_| role != Role::Primary)
        .map(|a| ArtifactSync::of(&t.artifact_servers[a.value.0]));
    if artifact_pull.is_some() {
        for c in &mut clusters {
            c.pulls_artifacts = c.profile == Profile::GatewayWorker;
        }
    }
    // The primary pushes; so does a disaster-recovery site that runs only
    // once it has taken over (warm or cold): its nodes start on a failover,
    // and the read-only datacenters go on pulling what it publishes.
    let takes_over = role == Role::DisasterRecovery && state == SiteState::Standby;
    let artifact_push = (role == Role::Primary || takes_over)
        .then(|| {
            t.datacenters
                .iter()
                .filter(|d| d.role().is_some_and(|r| r != Role::Primary))
                .find_map(|d| d.artifact_source.as_ref())
        })
        .flatten()
        .map(|a| ArtifactSync::of(&t.artifact_servers[a.value.0]));
    let mut site_secrets: Vec<SecretEnv> = vec![
        env_of(&t.admin_password.name),
        env_of(&t.keystore_password.name),
        env_of(&t.truststore_password.name),
    ];
    if major >= 4 {
        site_secrets.push(env_of(&t.encryption_key.name));
    }
    for c in &clusters {
        site_secrets.extend(c.databases.iter().map(|d| d.password.clone()));
    }
    for sync in [&artifact_pull, &artifact_push].into_iter().flatten() {
        site_secrets.extend(sync.credentials.clone());
    }
    site_secrets.sort();
    site_secrets.dedup();
    let dc_label = dns_label(&dc.name);
    Some(Site {
        name: dc.name.clone(),
        namespace: format!("{label}-{dc_label}")
            .chars()
            .take(63)
            .collect::<String>()
            .trim_end_matches('-')
            .to_string(),
        label: dc_label,
        role,
        domain,
        region: dc.region.clone(),
        state,
        standby: (role == Role::DisasterRecovery).then(|| dc.standby_mode()),
        recovery_time: dc.recovery_time.as_ref().map(|r| r.value.human()),
        copies: copies.map(|p| t.dc(p).name.clone()),
        clusters,
        shares: share_plans(t, &dc.file_shares),
        load_balancers,
        artifact_pull,
        artifact_push,
        secrets: site_secrets,
        freshness: None,
    })
}

/// A datacenter's file shares.
fn share_plans(t: &Topology, shares: &[FsId]) -> Vec<SharePlan> {
    shares
        .iter()
        .map(|&fs| {
            let share = t.file_share(fs);
            SharePlan {
                name: share.name.clone(),
                label: dns_label(&share.name),
                method: share.method(),
                server: share.server.clone(),
                path: share.path.clone(),
                interval_minutes: share.interval.minutes_ceil(),
                storage_class: share.storage_class.clone(),
            }
        })
        .collect()
}

/// A datacenter's load balancers, each on its host name (the one given,
/// else `<name>-lb.<domain>`) in front of the clusters it fronts.
fn load_balancer_plans(t: &Topology, ids: &[LbId], domain: &str) -> Vec<LoadBalancerPlan> {
    ids.iter()
        .map(|&lb| {
            let lb = &t.load_balancers[lb.0];
            let label = crate::model::naming::load_balancer_label(&lb.name);
            LoadBalancerPlan {
                name: lb.name.clone(),
                hostname: lb
                    .hostname
                    .clone()
                    .unwrap_or_else(|| crate::model::naming::host_name(&label, domain)),
                label,
                fronts: lb
                    .fronts
                    .iter()
                    .map(|c| cluster_label(&t.cluster(c.value).name))
                    .collect(),
            }
        })
        .collect()
}

/// The images built for Kubernetes, one per product image the clusters
/// run (custom images are the topology's own): the product image with
/// every JDBC driver added.
fn built_images(sites: &[Site], drivers: &[String], run_as: RunAs) -> Vec<BuiltImage> {
    let mut built_images: Vec<BuiltImage> = Vec::new();
    for cluster in sites.iter().flat_map(|s| s.clusters.iter()) {
        if cluster.custom_image || built_images.iter().any(|b| b.tag == cluster.k8s_image) {
            continue;
        }
        let name = cluster.image_ref().name();
        built_images.push(BuiltImage {
            dockerfile: format!("docker/{name}/Dockerfile"),
            from: cluster.image.clone(),
            tag: cluster.k8s_image.clone(),
            lib: format!(
                "{}/{}",
                cluster.product_home(layout::IMAGE_BASE),
                layout::LIB_FOLDER
            ),
            drivers: drivers.to_vec(),
            run_as,
        });
    }
    built_images.sort_by(|a, b| a.dockerfile.cmp(&b.dockerfile));
    built_images
}

/// A read-only site (APIM 4.x) has its own event hub, which reads its
/// replicas and which the primary's control planes (and their copies on a
/// disaster-recovery site, which take over on failover) relay their events
/// to, one way: nothing in the read-only site calls the primary. Its nodes
/// wait for the replicas before acting on an event.
fn keep_read_only_sites_in_step(t: &Topology, sites: &mut [Site], major: u32) {
    if major < 4 {
        return;
    }
    let Some(primary) = t.primary().map(|p| t.dc(p).name.clone()) else {
        return;
    };
    let mut targets = Vec::new();
    for site in sites.iter_mut().filter(|s| s.role == Role::ReadOnly) {
        let lag_millis = t
            .datacenters
            .iter()
            .find(|d| d.name == site.name)
            .map(|d| d.replication_lag.millis)
            .unwrap_or(10_000);
        // Every cluster of the site names the same event hub.
        let hub = site
            .clusters
            .iter()
            .find_map(|c| c.event_hub.as_ref())
            .and_then(|label| site.cluster(label));
        if let Some(hub) = hub {
            targets.extend(hub.nodes.iter().map(|n| RelayTarget {
                datacenter: site.name.clone(),
                node: n.name.clone(),
                host: n.fqdn.clone(),
            }));
        }
        site.freshness = Some(Freshness {
            primary: primary.clone(),
            kind: match hub {
                Some(hub) => FreshnessKind::Relayed {
                    hub: hub.name.clone(),
                },
                None => FreshnessKind::AtRestart,
            },
            lag_millis,
            artifact_poll_seconds: site.artifact_pull.as_ref().map(|a| a.interval_seconds),
        });
    }
    for site in sites
        .iter_mut()
        .filter(|s| s.role == Role::Primary || s.copies.is_some())
    {
        for cluster in site.clusters.iter_mut().filter(|c| c.serves_portals()) {
            cluster.relay_to = targets.clone();
        }
    }
}

/// Environment variable names for secrets, made unique deterministically.
fn assign_env_names(names: &[String]) -> Vec<SecretEnv> {
    let mut taken: BTreeMap<String, usize> = BTreeMap::new();
    names
        .iter()
        .map(|name| {
            let base = env_name(name);
            let count = taken.entry(base.clone()).or_insert(0);
            *count += 1;
            let env = if *count == 1 {
                base
            } else {
                format!("{base}_{count}")
            };
            SecretEnv {
                name: name.clone(),
                env,
            }
        })
        .collect()
}

/// How the nodes of a profile run their product.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Launch {
    /// The image (and product folder) name, e.g. `wso2am-acp`.
    pub image: &'static str,
    /// The start script under the product folder.
    pub launcher: &'static str,
    /// The `-Dprofile=...` the server starts with.
    pub profile_arg: Option<&'static str>,
    /// The profile `bin/profileSetup.sh` prepares the product for, once,
    /// before its first start (it removes the webapps the profile does not
    /// serve). WSO2's images do it when `PROFILE_NAME` names the profile.
    pub profile_setup: Option<&'static str>,
}

/// How each version runs a profile. APIM 4.5 ships separate distributions
/// (API Control Plane, Universal Gateway, Traffic Manager); a key manager
/// is the control plane prepared once for its `key-manager` profile and
/// started with `bin/key-manager.sh` (docker-apim 4.5.x `apim-acp`
/// entrypoint, helm-apim 4.5.x `distributed/key-manager`). Before it, one
/// product runs each profile with `-Dprofile`: 4.3 and 4.4 prepare a key
/// manager for `api-key-manager-node` and start it on that profile
/// (helm-apim 4.3.x/4.4.x); 4.0 to 4.2 have no key manager profile but a
/// deprecated one, so a key manager runs the control-plane profile; 3.x
/// runs `gateway-worker`, `api-key-manager`, `traffic-manager`.
pub fn product(profile: Profile, version: &Version) -> Launch {
    let (major, minor) = version.minor();
    let launch = |image, launcher, profile_arg, profile_setup| Launch {
        image,
        launcher,
        profile_arg,
        profile_setup,
    };
    if major > 4 || (major == 4 && minor >= 5) {
        match profile {
            Profile::AllInOne => launch("wso2am", "bin/api-manager.sh", None, None),
            Profile::ControlPlane => launch("wso2am-acp", "bin/api-cp.sh", None, None),
            Profile::KeyManager => launch(
                "wso2am-acp",
                "bin/key-manager.sh",
                None,
                Some("key-manager"),
            ),
            Profile::GatewayWorker => launch("wso2am-universal-gw", "bin/gateway.sh", None, None),
            Profile::TrafficManager => launch("wso2am-tm", "bin/traffic-manager.sh", None, None),
        }
    } else if major == 4 {
        let (profile_arg, profile_setup) = match profile {
            Profile::AllInOne => (None, None),
            Profile::KeyManager if minor >= 3 => {
                (Some("api-key-manager-node"), Some("api-key-manager-node"))
            }
            Profile::ControlPlane | Profile::KeyManager => (Some("control-plane"), None),
            Profile::GatewayWorker => (Some("gateway-worker"), None),
            Profile::TrafficManager => (Some("traffic-manager"), None),
        };
        launch("wso2am", "bin/api-manager.sh", profile_arg, profile_setup)
    } else {
        let profile_arg = match profile {
            Profile::AllInOne | Profile::ControlPlane => None,
            Profile::GatewayWorker => Some("gateway-worker"),
            Profile::KeyManager => Some("api-key-manager"),
            Profile::TrafficManager => Some("traffic-manager"),
        };
        launch("wso2am", "bin/wso2server.sh", profile_arg, None)
    }
}

/// Whether a version ships each profile as its own distribution (4.5 on).
pub fn split_distributions(version: &Version) -> bool {
    let (major, minor) = version.minor();
    major > 4 || (major == 4 && minor >= 5)
}

fn ports(profile: Profile, major: u32) -> Vec<PortSpec> {
    let port = |name: &str, port: u16| PortSpec {
        name: name.to_string(),
        port,
    };
    use layout::ports::*;
    let mut out = vec![port("https", HTTPS), port("http", HTTP)];
    if profile.runs_gateway() {
        out.extend([
            port("gw-https", GATEWAY_HTTPS),
            port("gw-http", GATEWAY_HTTP),
            port("wss", WSS),
            port("ws", WS),
            port("websub-https", WEBSUB_HTTPS),
            port("websub-http", WEBSUB_HTTP),
        ]);
    }
    // The event receivers and the broker of the traffic managers (and of
    // the nodes that are their own).
    if matches!(
        profile,
        Profile::AllInOne | Profile::ControlPlane | Profile::TrafficManager
    ) {
        out.extend([
            port("binary", BINARY),
            port("binary-ssl", BINARY_SSL),
            port("jms", JMS),
        ]);
    }
    if major < 4 && profile.is_paired() {
        out.push(port("hazelcast", HAZELCAST));
    }
    out
}

/// Default resources per profile, when the cluster does not say.
fn default_resources(profile: Profile) -> (f64, u64) {
    const GIB: u64 = 1 << 30;
    match profile {
        Profile::AllInOne | Profile::ControlPlane => (2.0, 4 * GIB),
        Profile::GatewayWorker => (2.0, 2 * GIB),
        Profile::KeyManager | Profile::TrafficManager => (1.0, 2 * GIB),
    }
}

/// The images of a cluster: the product image of its profile tagged with
/// the update level (or the topology's own image), and what Kubernetes
/// runs.
struct ClusterImages {
    product: String,
    kubernetes: String,
    pinned: bool,
    custom: bool,
}

impl ClusterImages {
    fn of(t: &Topology, c: &Cluster, image_name: &str, version: &Version) -> ClusterImages {
        if let Some(image) = &c.image {
            let pinned = crate::model::naming::ImageRef::parse(&image.value).pinned();
            return ClusterImages {
                product: image.value.clone(),
                kubernetes: image.value.clone(),
                pinned,
                custom: true,
            };
        }
        let level = t.update_level.as_ref().map(|l| l.value);
        let tag = product_tag(version, level);
        let registry = t.registry.trim_end_matches('/');
        ClusterImages {
            product: format!("{registry}/{image_name}:{tag}"),
            kubernetes: built_image_tag(registry, &dns_label(&t.name), image_name, &tag),
            pinned: level.is_some_and(|l| l > 0),
            custom: false,
        }
    }
}

/// WSO2's image tag of a version at an update level: `4.2.0.12`.
pub fn product_tag(version: &Version, update_level: Option<u64>) -> String {
    match update_level {
        Some(level) => format!("{version}.{level}"),
        None => version.to_string(),
    }
}

/// The tag of the image built for Kubernetes from a product image.
fn built_image_tag(registry: &str, topology: &str, image_name: &str, tag: &str) -> String {
    format!("{registry}/{topology}-{image_name}:{tag}")
}

/// The nodes of a cluster: `<cluster>-<i>` on the host given in `hosts`
/// (a disaster-recovery copy takes its own domain's) or
/// `<cluster>-<i>.<domain>`; node 2 of an active-passive pair is the
/// standby; the two nodes of a pair name each other.
fn node_plans(c: &Cluster, shape: Shape, copy: bool, domain: &str) -> Vec<NodePlan> {
    let (ha, count) = (c.ha_mode(), c.node_count());
    let manager = c.manager_node();
    let names: Vec<String> = (1..=count).map(|i| node_name(&c.name, i)).collect();
    (1..=count)
        .map(|i| {
            let name = names[(i - 1) as usize].clone();
            let given = if copy {
                None
            } else {
                c.hosts
                    .as_ref()
                    .and_then(|h| h.value.get((i - 1) as usize).cloned())
            };
            let role = if ha == HaMode::ActivePassive && i == 2 {
                NodeRole::Passive
            } else {
                NodeRole::Active
            };
            let peer = (shape == Shape::Paired && count == 2)
                .then(|| names[if i == 1 { 1 } else { 0 }].clone());
            NodePlan {
                fqdn: given.unwrap_or_else(|| crate::model::naming::node_host(&c.name, i, domain)),
                name,
                index: i,
                role,
                peer,
                manager: manager == Some(i),
            }
        })
        .collect()
}

/// The datasources a cluster's nodes use: on a disaster-recovery copy,
/// the replicas in its own datacenter.
fn database_plans(
    t: &Topology,
    site: DcId,
    c: &Cluster,
    copy: bool,
    env_of: &dyn Fn(&str) -> SecretEnv,
) -> Vec<DatabasePlan> {
    c.datasources
        .iter()
        .filter_map(|d| {
            let id = if copy {
                t.replica_in(site, d.value)?
            } else {
                d.value
            };
            let ds = t.datasource(id);
            Some(DatabasePlan {
                name: ds.name.clone(),
                purpose: ds.purpose?,
                engine: ds.engine.unwrap_or(Engine::Mysql),
                host: ds.host.clone().unwrap_or_default(),
                port: ds.port,
                database: ds.database.clone().unwrap_or_default(),
                user: ds.user.clone(),
                password: env_of(&ds.password.name),
                read_only: ds.access.value == Access::ReadOnly,
                driver: ds.driver.as_ref().map(|d| d.value.clone()),
            })
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn cluster_plan(
    t: &Topology,
    site: DcId,
    c: &Cluster,
    profile: Profile,
    copy: bool,
    domain: &str,
    version: &Version,
    env_of: &dyn Fn(&str) -> SecretEnv,
) -> ClusterPlan {
    let ha = c.ha_mode();
    let count = c.node_count();
    let label = cluster_label(&c.name);
    let shape = if ha == HaMode::ActivePassive || (profile.is_paired() && count > 1) {
        Shape::Paired
    } else {
        Shape::Scaled
    };
    let manager = c.manager_node();
    let nodes = node_plans(c, shape, copy, domain);
    let databases = database_plans(t, site, c, copy, env_of);
    let share = c
        .file_share
        .as_ref()
        .and_then(|fs| {
            if copy {
                t.mirror_file_share(site, fs.value)
            } else {
                Some(fs.value)
            }
        })
        .map(|fs| t.file_share(fs))
        .filter(|fs| fs.method() != ShareMethod::None)
        .map(|fs| dns_label(&fs.name));
    let (default_cpu, default_memory) = default_resources(profile);
    let node_capacity = c.node_capacity.as_ref().map(|n| n.value);
    let required_rps = t.required_capacity(c);
    let max_unavailable = match (node_capacity, required_rps) {
        (Some(cap), Some(required)) if cap > 0.0 => {
            let needed = (required / cap).ceil() as u32;
            count.saturating_sub(needed).max(1)
        }
        _ => 1,
    };
    let launch = product(profile, version);
    let image_name = launch.image;
    let images = ClusterImages::of(t, c, image_name, version);
    let mut drivers: Vec<String> = databases
        .iter()
        .filter_map(|d: &DatabasePlan| d.driver.clone())
        .collect();
    drivers.sort();
    drivers.dedup();
    let surge_name = crate::model::naming::surge_name(&c.name);
    let surge = NodePlan {
        fqdn: crate::model::naming::surge_host(&c.name, domain),
        name: surge_name,
        index: count + 1,
        role: if ha == HaMode::ActivePassive {
            NodeRole::Passive
        } else {
            NodeRole::Active
        },
        peer: None,
        manager: false,
    };
    ClusterPlan {
        name: c.name.clone(),
        surge,
        label,
        profile,
        ha,
        shape,
        nodes,
        node_capacity,
        peak_rps: t.cluster_peak(c),
        required_rps,
        max_unavailable,
        cpu: c.cpu.as_ref().map(|v| v.value).unwrap_or(default_cpu),
        memory_bytes: c.memory.as_ref().map(|v| v.value).unwrap_or(default_memory),
        image: images.product.clone(),
        k8s_image: images.kubernetes,
        image_pinned: images.pinned,
        custom_image: images.custom,
        drivers,
        product_dir: format!("{image_name}-{version}"),
        launcher: launch.launcher.to_string(),
        profile_arg: launch.profile_arg.map(str::to_string),
        profile_setup: launch.profile_setup.map(str::to_string),
        split_distribution: split_distributions(version),
        ports: ports(profile, version.major()),
        databases,
        share,
        manager,
        key_manager: None,
        traffic_manager: None,
        event_hub: None,
        notifies: None,
        gateways: Vec::new(),
        relay_to: Vec::new(),
        depends_on: Vec::new(),
        start_rank: profile.start_rank(),
        public_hostname: None,
        pulls_artifacts: false,
    }
}

/// Who each cluster talks to: its key manager, traffic manager, event hub,
/// where it announces revocations and (for control planes) the gateways
/// it deploys to. Each is the cluster named in the topology, or else the
/// first cluster of the site whose profile plays that role there
/// ([`providers`]), by what the profile needs ([`Profile::needs`]).
fn link_clusters(
    t: &Topology,
    clusters: &mut [ClusterPlan],
    ids: &[ClusterId],
    role: Role,
    major: u32,
) {
    let label_of = |id: ClusterId| cluster_label(&t.cluster(id).name);
    let present: Vec<(String, Profile)> = clusters
        .iter()
        .map(|c| (c.label.clone(), c.profile))
        .collect();
    let ranks: Vec<(String, u8)> = clusters
        .iter()
        .map(|c| (c.label.clone(), c.start_rank))
        .collect();
    let present_rank = |label: &str| ranks.iter().find(|(l, _)| l == label).map(|(_, r)| *r);
    let find = |prefer: &[Profile], exclude: &str| -> Option<String> {
        prefer.iter().find_map(|wanted| {
            present
                .iter()
                .find(|(l, p)| p == wanted && l != exclude)
                .map(|(l, _)| l.clone())
        })
    };
    for (index, plan) in clusters.iter_mut().enumerate() {
        let cluster = ids.get(index).map(|&id| t.cluster(id));
        let named = |get: fn(&Cluster) -> Option<ClusterId>| cluster.and_then(get).map(label_of);
        let profile = plan.profile;
        let own = plan.label.clone();
        for &need in profile.needs(major) {
            match need {
                Need::KeyManager => {
                    plan.key_manager = named(|c| c.key_manager.as_ref().map(|k| k.value))
                        .or_else(|| find(providers(need, role), &own));
                }
                Need::TrafficManager => {
                    plan.traffic_manager = named(|c| c.traffic_manager.as_ref().map(|k| k.value))
                        .or_else(|| find(providers(need, role), &own));
                }
                // A read-only site's traffic managers are their own event
                // hub.
                Need::EventHub => plan.event_hub = find(providers(need, role), ""),
            }
        }
        if plan.serves_portals() && major >= 4 {
            plan.event_hub = Some(own.clone());
        }
        // A control plane with key managers or traffic managers of their
        // own beside it hands them key management and throttling (its
        // policies reach them; APIM 3.x also issues keys there).
        if profile == Profile::ControlPlane {
            plan.key_manager = named(|c| c.key_manager.as_ref().map(|k| k.value))
                .or_else(|| find(&[Profile::KeyManager], &own));
            plan.traffic_manager = named(|c| c.traffic_manager.as_ref().map(|k| k.value))
                .or_else(|| find(&[Profile::TrafficManager], &own));
        }
        // Revoked tokens are announced through `/internal/data/v1/notify`:
        // on a control plane or all-in-one node its own; a key manager
        // calls its event hub (4.x) or traffic manager (3.x), whose broker
        // the gateways listen to.
        plan.notifies = match profile {
            Profile::AllInOne | Profile::ControlPlane => Some(own.clone()),
            Profile::KeyManager if major >= 4 => plan.event_hub.clone(),
            Profile::KeyManager => plan.traffic_manager.clone(),
            _ => None,
        };
        if plan.serves_portals() {
            plan.gateways = present
                .iter()
                .filter(|(l, p)| *p == Profile::GatewayWorker && *l != own)
                .map(|(l, _)| l.clone())
                .collect();
        }
        // A cluster waits only for clusters earlier in the start order, so
        // the waits can never form a cycle.
        let rank = plan.start_rank;
        let mut depends: Vec<String> = [&plan.event_hub, &plan.key_manager, &plan.traffic_manager]
            .into_iter()
            .flatten()
            .filter(|l| **l != own)
            .filter(|l| present_rank(l).is_some_and(|r| r < rank))
            .cloned()
            .collect();
        depends.sort();
        depends.dedup();
        plan.depends_on = depends;
    }
}

/// Deployments the unit tests start from: of an example, or of a small
/// topology written in the test.
#[cfg(test)]
pub(crate) mod testing {
    use std::path::Path;

    use super::Deployment;
    use crate::diagnostics::SeverityConfig;
    use crate::load::DiskFs;

    /// A small 4.2 topology in one datacenter: an active-passive control
    /// plane pair (hot standby), two gateways, one load balancer in front
    /// of both.
    pub const PAIR: &str = r#"
topology shop {
  product = wso2-apim
  version = "4.2.0"
  peak_load = 100rps
}

datacenter main {
  role = primary
  domain = "apim.shop.example"

  datasource apim_db {
    purpose = apim
    engine = mysql
    host = "db.shop.example"
    database = "apim"
    user = "apim"
    password = secret("apim-db-password")
  }

  datasource shared_db {
    purpose = shared
    engine = mysql
    host = "db.shop.example"
    database = "shared"
    user = "apim"
    password = secret("shared-db-password")
  }

  cluster cp {
    profile = control-plane
    nodes = 2
    ha = active-passive
    standby = hot
    datasources = [apim_db, shared_db]
  }

  cluster gw {
    profile = gateway-worker
    nodes = 2
    ha = active-active
    datasources = [shared_db]
  }

  load_balancer edge {
    fronts = [gw, cp]
  }
}
"#;

    /// The deployment model of a topology's text, which must have no
    /// errors.
    pub fn deployment(text: &str) -> Deployment {
        let checked = crate::check_text(
            Path::new("test.topo"),
            text,
            &DiskFs,
            &SeverityConfig::default(),
        );
        let errors: Vec<_> = checked
            .diagnostics
            .iter()
            .filter(|d| d.severity == crate::diagnostics::Severity::Error)
            .map(|d| d.message.clone())
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
        crate::deployment::plan(&checked.topology)
    }

    /// The deployment model of a file (an example, a fixture).
    pub fn file(path: &str) -> Deployment {
        let text = std::fs::read_to_string(path).expect(path);
        deployment(&text)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn each_version_runs_the_distribution_it_ships() {
        let v = |text: &str| Version::parse(text).unwrap();
        let run = |profile, version| {
            let l = product(profile, &v(version));
            (l.image, l.launcher, l.profile_arg, l.profile_setup)
        };
        assert_eq!(
            run(Profile::GatewayWorker, "4.5.0"),
            ("wso2am-universal-gw", "bin/gateway.sh", None, None)
        );
        // Prepared once, then started without a runtime profile.
        assert_eq!(
            run(Profile::KeyManager, "4.5.0"),
            (
                "wso2am-acp",
                "bin/key-manager.sh",
                None,
                Some("key-manager")
            )
        );
        assert_eq!(
            run(Profile::KeyManager, "4.4.0"),
            (
                "wso2am",
                "bin/api-manager.sh",
                Some("api-key-manager-node"),
                Some("api-key-manager-node")
            )
        );
        assert_eq!(
            run(Profile::KeyManager, "4.2.0"),
            ("wso2am", "bin/api-manager.sh", Some("control-plane"), None)
        );
        assert_eq!(
            run(Profile::GatewayWorker, "4.2.0"),
            ("wso2am", "bin/api-manager.sh", Some("gateway-worker"), None)
        );
        assert_eq!(
            run(Profile::ControlPlane, "4.4.0"),
            ("wso2am", "bin/api-manager.sh", Some("control-plane"), None)
        );
        assert_eq!(
            run(Profile::AllInOne, "4.2.0"),
            ("wso2am", "bin/api-manager.sh", None, None)
        );
        assert_eq!(
            run(Profile::KeyManager, "3.2.0"),
            ("wso2am", "bin/wso2server.sh", Some("api-key-manager"), None)
        );
    }

    use super::*;
    use crate::diagnostics::SeverityConfig;
    use crate::load::DiskFs;

    fn deployment(path: &str) -> Deployment {
        let checked =
            crate::check_path(path.as_ref(), &DiskFs, &SeverityConfig::default()).unwrap();
        assert!(!checked.has_errors());
        plan(&checked.topology)
    }

    #[test]
    fn pairs_name_each_other_and_gateways_scale() {
        let d = deployment("examples/distributed-4.x.topo");
        let site = &d.sites[0];
        assert_eq!(site.namespace, "payments-frankfurt");
        let cp = site.cluster("control-plane").unwrap();
        assert_eq!(cp.shape, Shape::Paired);
        assert_eq!(cp.nodes[0].peer.as_deref(), Some("control-plane-2"));
        assert_eq!(cp.nodes[1].role, NodeRole::Passive);
        assert!(cp.nodes[1].manager, "the passive node is the manager");
        assert_eq!(cp.gateways, ["gateway"]);
        let gw = site.cluster("gateway").unwrap();
        assert_eq!(gw.shape, Shape::Scaled);
        assert_eq!(gw.nodes.len(), 3);
        assert_eq!(gw.nodes[1].fqdn, "gateway-2.apim.payments.example");
        assert_eq!(gw.key_manager.as_deref(), Some("control-plane"));
        assert_eq!(gw.traffic_manager.as_deref(), Some("traffic-manager"));
        assert_eq!(gw.depends_on, ["control-plane", "traffic-manager"]);
        // 3 x 800rps, 1500rps required: one node may be down.
        assert_eq!(gw.max_unavailable, 1);
        assert_eq!(gw.image, "registry.payments.example/wso2/wso2am:4.2.0.92");
        assert_eq!(gw.public_hostname.as_deref(), Some("api.payments.example"));
        let names: Vec<_> = site.start_order().iter().map(|c| c.label.clone()).collect();
        assert_eq!(names, ["control-plane", "traffic-manager", "gateway"]);
    }

    #[test]
    fn disaster_recovery_copies_the_primary_on_replicas() {
        let d = deployment("examples/multi-datacenter.topo");
        let dr = d.sites.iter().find(|s| s.name == "singapore").unwrap();
        assert_eq!(dr.state, SiteState::Standby);
        assert_eq!(dr.copies.as_deref(), Some("colombo"));
        let cp = dr.cluster("control-plane").unwrap();
        assert_eq!(
            cp.nodes[0].fqdn,
            "control-plane-1.singapore.apim.telco.example"
        );
        let hosts: Vec<_> = cp.databases.iter().map(|d| d.host.as_str()).collect();
        assert_eq!(
            hosts,
            [
                "mysql.singapore.telco.example",
                "mysql.singapore.telco.example"
            ]
        );
        let london = d.sites.iter().find(|s| s.name == "london").unwrap();
        assert!(london.artifact_pull.is_some());
        assert!(london.cluster("gateway-london").unwrap().pulls_artifacts);
        let colombo = d.sites.iter().find(|s| s.name == "colombo").unwrap();
        assert!(colombo.artifact_push.is_some());
    }

    #[test]
    fn a_disaster_recovery_datacenter_with_an_artifact_source_pulls() {
        let example = std::fs::read_to_string("examples/multi-datacenter.topo").unwrap();
        let text = example.replacen(
            "  standby = cold\n",
            "  standby = hot\n  artifact_source = artifacts\n",
            1,
        );
        assert_ne!(text, example);
        let checked = crate::check_text(
            "dr.topo".as_ref(),
            &text,
            &DiskFs,
            &SeverityConfig::default(),
        );
        assert!(!checked.has_errors());
        let d = plan(&checked.topology);
        let singapore = d.sites.iter().find(|s| s.name == "singapore").unwrap();
        assert!(singapore.artifact_pull.is_some());
        assert!(singapore.cluster("gateway").unwrap().pulls_artifacts);
    }

    #[test]
    fn the_product_runs_as_its_images_user_for_the_version() {
        let v = |text: &str| Version::parse(text).unwrap();
        for (version, id) in [
            ("3.2.0", 802),
            ("4.0.0", 802),
            ("4.2.0", 802),
            ("4.3.0", 10001),
            ("4.5.0", 10001),
        ] {
            assert_eq!(
                RunAs::of_version(&v(version)),
                RunAs {
                    user: id,
                    group: id
                },
                "{version}"
            );
        }
        let example = std::fs::read_to_string("examples/distributed-4.x.topo").unwrap();
        let text = example.replacen(
            "  version = \"4.2.0\"\n",
            "  version = \"4.2.0\"\n  run_as_user = 1234\n  run_as_group = 5678\n",
            1,
        );
        assert_ne!(text, example);
        let checked = crate::check_text(
            "u.topo".as_ref(),
            &text,
            &DiskFs,
            &SeverityConfig::default(),
        );
        assert!(!checked.has_errors());
        assert_eq!(
            plan(&checked.topology).run_as,
            RunAs {
                user: 1234,
                group: 5678
            }
        );
    }

    #[test]
    fn images_are_tagged_with_the_update_level_and_pinned_by_it() {
        let example = std::fs::read_to_string("examples/distributed-4.x.topo").unwrap();
        let with = |extra: &str| {
            let text = example.replacen("  update_level = 92\n", extra, 1);
            assert_ne!(text, example);
            let checked = crate::check_text(
                "u.topo".as_ref(),
                &text,
                &DiskFs,
                &SeverityConfig::default(),
            );
            assert!(!checked.has_errors());
            plan(&checked.topology)
        };
        let d = with("  update_level = 12\n");
        let gw = d.sites[0].cluster("gateway").unwrap();
        assert!(gw.image.ends_with("/wso2am:4.2.0.12"), "{}", gw.image);
        assert!(gw.image_pinned);
        assert_eq!(gw.pull_policy(), "IfNotPresent");
        assert!(
            gw.k8s_image.ends_with("/payments-wso2am:4.2.0.12"),
            "{}",
            gw.k8s_image
        );
        assert_eq!(d.built_images.len(), 1);
        assert_eq!(d.built_images[0].from, gw.image);
        let d = with("  update_level = 0\n");
        let gw = d.sites[0].cluster("gateway").unwrap();
        assert!(!gw.image_pinned);
        assert_eq!(gw.pull_policy(), "Always");
    }

    #[test]
    fn secrets_become_environment_variables() {
        let d = deployment("examples/all-in-one-3.2.topo");
        let envs: Vec<_> = d.secrets.iter().map(|s| s.env.as_str()).collect();
        assert_eq!(
            envs,
            [
                "APIM_ADMIN_PASSWORD",
                "APIM_DB_PASSWORD",
                "APIM_KEYSTORE_PASSWORD",
                "APIM_TRUSTSTORE_PASSWORD",
                "SHARED_DB_PASSWORD"
            ]
        );
        let apim = d.sites[0].cluster("apim").unwrap();
        assert_eq!(apim.profile_arg, None);
        assert_eq!(
            d.run_as,
            RunAs {
                user: 802,
                group: 802
            }
        );
        assert_eq!(apim.share.as_deref(), Some("deployment"));
        assert_eq!(apim.manager, Some(1));
        assert!(apim.ports.iter().any(|p| p.name == "hazelcast"));
        assert_eq!(
            assign_env_names(&["a-b".into(), "a.b".into()])
                .iter()
                .map(|s| s.env.clone())
                .collect::<Vec<_>>(),
            ["A_B", "A_B_2"]
        );
    }
}
