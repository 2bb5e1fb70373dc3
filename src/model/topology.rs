//! The resolved, typed topology. Every object remembers the span it came
//! from; references are resolved to indices (a dangling reference was
//! reported as E005 and is simply absent here).

use serde::Serialize;

use super::types::*;
use crate::source::Span;

/// A value with the span of the attribute that gave it (`key = value`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where the value is written (a block's header for a default that
    /// diagnostics must still point at).
    #[serde(skip)]
    pub span: Span,
}

impl<T> Spanned<T> {
    /// `value`, given at `span`.
    pub fn new(value: T, span: Span) -> Spanned<T> {
        Spanned { value, span }
    }
}

macro_rules! id_type {
    ($($(#[$meta:meta])* $name:ident),* $(,)?) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        pub struct $name(pub usize);
    )*};
}

id_type!(
    /// Index into [`Topology::datacenters`].
    DcId,
    /// Index into [`Topology::datasources`].
    DsId,
    /// Index into [`Topology::file_shares`].
    FsId,
    /// Index into [`Topology::artifact_servers`].
    ArtifactId,
    /// Index into [`Topology::clusters`].
    ClusterId,
    /// Index into [`Topology::load_balancers`].
    LbId,
    /// Index into [`Topology::upgrades`].
    UpgradeId,
);

/// The name of a secret held outside the topology: `secret("name")`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecretRef {
    /// The secret's name: `apim-admin-password`.
    pub name: String,
    /// Where it was given; `None` for a default.
    #[serde(skip)]
    pub span: Option<Span>,
}

/// A whole deployment: the `topology` block's settings and every block
/// of the files lowered together.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Topology {
    /// The name in `topology NAME` (empty when there is no topology block).
    pub name: String,
    /// The name in `topology NAME` (or the start of the first file when
    /// there is no topology block).
    #[serde(skip)]
    pub span: Span,
    /// `product`: the product deployed (WSO2 API Manager).
    pub product: Product,
    /// `version`: the product version running today.
    pub version: Option<Spanned<Version>>,
    /// `peak_load`: the requests per second the deployment must serve at
    /// its peak.
    pub peak_load: Option<Spanned<f64>>,
    /// A fraction (0.75 for `75%`).
    pub degraded_capacity: Spanned<f64>,
    /// `registry`: the container image registry prefix the images come
    /// from (`docker.wso2.com` when unset).
    pub registry: String,
    /// Whether `registry` was given (helper images come from it then).
    pub registry_given: bool,
    /// `update_level`: the WSO2 update level every node runs, which images
    /// are tagged with (`<version>.<update_level>`).
    pub update_level: Option<Spanned<u64>>,
    /// `registry_login`: the secret holding the pull credentials of a
    /// private registry.
    pub registry_login: Option<SecretRef>,
    /// `run_as_user`: the user id the product runs as; the product image's
    /// own (802 up to 4.2, 10001 from 4.3) when unset.
    pub run_as_user: Option<Spanned<u32>>,
    /// `run_as_group`: the group id the product runs as; the product
    /// image's own (802 up to 4.2, 10001 from 4.3) when unset.
    pub run_as_group: Option<Spanned<u32>>,
    /// `admin_password`: the super admin's password
    /// (`secret("apim-admin-password")` when unset).
    pub admin_password: SecretRef,
    /// `keystore_password`: the password of the keystore and of its key
    /// (`secret("apim-keystore-password")` when unset).
    pub keystore_password: SecretRef,
    /// The operator's keystore file; `None`: WSO2's bundled one.
    pub keystore: Option<Spanned<String>>,
    /// `keystore_alias`: the alias of the private key in the keystore
    /// (`wso2carbon` when unset).
    pub keystore_alias: String,
    /// The operator's truststore file; `None`: WSO2's bundled one.
    pub truststore: Option<Spanned<String>>,
    /// `truststore_password`: the password of the truststore
    /// (`secret("apim-truststore-password")` when unset).
    pub truststore_password: SecretRef,
    /// `encryption_key`: the symmetric encryption key, identical on every
    /// node (`secret("apim-encryption-key")` when unset).
    pub encryption_key: SecretRef,
    /// `allow`: the diagnostic codes silenced for this topology.
    pub allow: Vec<Spanned<String>>,
    /// `deny`: the diagnostic codes raised to errors for this topology.
    pub deny: Vec<Spanned<String>>,
    /// The zone windows are read in when they name none (default UTC).
    pub time_zone: crate::traffic::time::UtcOffset,
    /// Given traffic, what a plan holds a cluster to: the highest rate
    /// observed in its window times this (1.5 for `150%`).
    pub traffic_safety: Spanned<f64>,
    /// The `datacenter` blocks, indexed by [`DcId`].
    pub datacenters: Vec<Datacenter>,
    /// The `datasource` blocks of every datacenter, indexed by [`DsId`].
    pub datasources: Vec<Datasource>,
    /// The `file_share` blocks of every datacenter, indexed by [`FsId`].
    pub file_shares: Vec<FileShare>,
    /// The `artifact_server` blocks, indexed by [`ArtifactId`].
    pub artifact_servers: Vec<ArtifactServer>,
    /// The `cluster` blocks of every datacenter, indexed by [`ClusterId`].
    pub clusters: Vec<Cluster>,
    /// The `load_balancer` blocks of every datacenter, indexed by [`LbId`].
    pub load_balancers: Vec<LoadBalancer>,
    /// The `upgrade` blocks, indexed by [`UpgradeId`].
    pub upgrades: Vec<Upgrade>,
}

/// A `datacenter` block: a site and the blocks nested in it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Datacenter {
    /// The name in `datacenter NAME`.
    pub name: String,
    #[serde(skip)]
    /// Where the block's header is written.
    pub span: Span,
    /// `role`: what the datacenter does; `None` when missing or misspelt.
    pub role: Option<Spanned<Role>>,
    /// `region`: the cloud region or site name.
    pub region: Option<String>,
    /// `domain`: the DNS domain of its hosts (`<datacenter>.internal` when
    /// unset).
    pub domain: String,
    /// `replicates`: the datacenter its databases replicate from.
    pub replicates: Option<Spanned<DcId>>,
    /// `artifact_source`: the artifact server it pulls API artifacts from.
    pub artifact_source: Option<Spanned<ArtifactId>>,
    /// `standby`: how a disaster-recovery datacenter stands by, as written.
    pub standby: Option<Spanned<DcStandby>>,
    /// `recovery_time`: how long a failover to this datacenter takes.
    pub recovery_time: Option<Spanned<Duration>>,
    /// How far its replicas may lag the primary.
    pub replication_lag: Duration,
    /// Its local time: its own `time_zone`, else the topology's.
    pub time_zone: crate::traffic::time::UtcOffset,
    /// Its clusters, in the order they are declared.
    pub clusters: Vec<ClusterId>,
    /// Its datasources, in the order they are declared.
    pub datasources: Vec<DsId>,
    /// Its file shares, in the order they are declared.
    pub file_shares: Vec<FsId>,
    /// Its load balancers, in the order they are declared.
    pub load_balancers: Vec<LbId>,
    /// Attributes written but rejected, naming nothing that exists (E005)
    /// or misspelt (E002): a language error already reports them, so they
    /// are not also reported missing.
    #[serde(skip)]
    pub rejected: Vec<&'static str>,
}

impl Datacenter {
    /// Its `role`, when one is given and valid.
    pub fn role(&self) -> Option<Role> {
        self.role.as_ref().map(|r| r.value)
    }

    /// The standby mode of a disaster-recovery site (default cold).
    pub fn standby_mode(&self) -> DcStandby {
        self.standby
            .as_ref()
            .map(|s| s.value)
            .unwrap_or(DcStandby::Cold)
    }

    /// A disaster-recovery datacenter with no clusters of its own stands by
    /// with copies of the primary's clusters.
    pub fn mirrors_primary(&self) -> bool {
        self.role() == Some(Role::DisasterRecovery) && self.clusters.is_empty()
    }
}

/// A `datasource` block: an external database, with what a replica
/// inherits from the datasource it replicates filled in.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Datasource {
    /// The name in `datasource NAME`.
    pub name: String,
    /// Where the block's header is written.
    #[serde(skip)]
    pub span: Span,
    /// The datacenter it is declared in.
    pub datacenter: DcId,
    /// Own or inherited from `replica_of`.
    pub purpose: Option<Purpose>,
    /// `engine`: the database engine, own or inherited from `replica_of`.
    pub engine: Option<Engine>,
    /// `host`: the host name of the database server.
    pub host: Option<String>,
    /// `port`: the TCP port of the database server; the engine's default
    /// port when unset.
    pub port: u16,
    /// `database`: the database (schema) name, own or inherited from
    /// `replica_of`.
    pub database: Option<String>,
    /// Where its own `database` is written (not inherited).
    #[serde(skip)]
    pub database_span: Option<Span>,
    /// `user`: the user the nodes connect as, own or inherited from
    /// `replica_of` (`apim` when neither gives one).
    pub user: String,
    /// Where its own `user` is written (not inherited).
    #[serde(skip)]
    pub user_span: Option<Span>,
    /// `password`: the user's password, own or inherited from `replica_of`
    /// (`secret("<name>-password")` of the chain's original when unset).
    pub password: SecretRef,
    /// `access`: whether the nodes write to it (read-only for a replica,
    /// read-write otherwise, when unset).
    pub access: Spanned<Access>,
    /// `replica_of`: the datasource it is a replica of.
    pub replica_of: Option<Spanned<DsId>>,
    /// The JDBC driver jar: own or inherited from `replica_of`.
    pub driver: Option<Spanned<String>>,
    /// The server's administrator, for the runbooks' database steps.
    pub admin_user: String,
    /// `admin_password`: the administrator's password, which the runbooks
    /// read (`secret("<name>-admin-password")` when unset).
    pub admin_password: SecretRef,
    /// The replication role its replicas connect as: own or inherited
    /// from `replica_of` (a failover re-points replicas with it).
    pub replication_user: String,
    /// `replication_password`: the replication role's password, own or
    /// inherited from `replica_of`.
    pub replication_password: SecretRef,
}

/// A `file_share` block: how the nodes of a cluster share deployed files.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileShare {
    /// The name in `file_share NAME`.
    pub name: String,
    /// Where the block's header is written.
    #[serde(skip)]
    pub span: Span,
    /// The datacenter it is declared in.
    pub datacenter: DcId,
    /// `method`: how files are shared, as written.
    pub method: Option<Spanned<ShareMethod>>,
    /// `server`: the NFS server.
    pub server: Option<String>,
    /// `path`: the exported path on the NFS server.
    pub path: Option<String>,
    /// `interval`: how often rsync runs (one minute when unset).
    pub interval: Duration,
    /// Kubernetes: the StorageClass of its claims.
    pub storage_class: Option<String>,
}

impl FileShare {
    /// Its `method`, `none` when not given.
    pub fn method(&self) -> ShareMethod {
        self.method
            .as_ref()
            .map(|m| m.value)
            .unwrap_or(ShareMethod::None)
    }
}

/// An `artifact_server` block: where the primary datacenter publishes API
/// artifacts for read-only datacenters to pull.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArtifactServer {
    /// The name in `artifact_server NAME`.
    pub name: String,
    /// Where the block's header is written.
    #[serde(skip)]
    pub span: Span,
    /// `url`: the base URL of the artifact store.
    pub url: Option<String>,
    /// `poll`: how often read-only datacenters pull (one minute when unset).
    pub poll: Duration,
    /// `user:password` for HTTP basic authentication.
    pub credentials: Option<SecretRef>,
}

/// A `cluster` block: a group of nodes running one WSO2 profile.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cluster {
    /// The name in `cluster NAME`.
    pub name: String,
    /// Where the block's header is written.
    #[serde(skip)]
    pub span: Span,
    /// The datacenter it is declared in.
    pub datacenter: DcId,
    /// `profile`: the WSO2 profile every node runs.
    pub profile: Option<Spanned<Profile>>,
    /// `nodes`: how many nodes the cluster has.
    pub nodes: Option<Spanned<u32>>,
    /// Given, or `none` for a one-node cluster.
    pub ha: Option<Spanned<HaMode>>,
    /// `standby`: how the passive node of an active-passive pair stands
    /// by, as written.
    pub standby: Option<Spanned<ClusterStandby>>,
    /// `node_capacity`: the requests per second one node serves.
    pub node_capacity: Option<Spanned<f64>>,
    /// `peak_load`: the requests per second the cluster must carry; the
    /// topology's when unset ([`Topology::cluster_peak`]).
    pub peak_load: Option<Spanned<f64>>,
    /// `manager`: the one node that deploys artifacts, as written
    /// ([`Cluster::manager_node`] applies the default).
    pub manager: Option<Spanned<Manager>>,
    /// `datasources`: the datasources its nodes use.
    pub datasources: Vec<Spanned<DsId>>,
    /// `file_share`: the file share its nodes use.
    pub file_share: Option<Spanned<FsId>>,
    /// `key_manager`: the cluster that validates tokens for it.
    pub key_manager: Option<Spanned<ClusterId>>,
    /// `traffic_manager`: the cluster that makes its throttling decisions.
    pub traffic_manager: Option<Spanned<ClusterId>>,
    /// `cpu`: CPU cores per node; the profile's default when unset.
    pub cpu: Option<Spanned<f64>>,
    /// `memory`: memory per node, in bytes; the profile's default when
    /// unset.
    pub memory: Option<Spanned<u64>>,
    /// `hosts`: existing host names, one per node in node order, instead
    /// of the derived ones.
    pub hosts: Option<Spanned<Vec<String>>>,
    /// A custom image its nodes run.
    pub image: Option<Spanned<String>>,
}

impl Cluster {
    /// Its `profile`, when one is given and valid.
    pub fn profile(&self) -> Option<Profile> {
        self.profile.as_ref().map(|p| p.value)
    }

    /// Its number of nodes, 1 when `nodes` is not given.
    pub fn node_count(&self) -> u32 {
        self.nodes.as_ref().map(|n| n.value).unwrap_or(1)
    }

    /// Its HA mode, `none` when `ha` is not given.
    pub fn ha_mode(&self) -> HaMode {
        self.ha.as_ref().map(|h| h.value).unwrap_or(HaMode::None)
    }

    /// The standby of an active-passive pair (default hot).
    pub fn standby_mode(&self) -> ClusterStandby {
        self.standby
            .as_ref()
            .map(|s| s.value)
            .unwrap_or(ClusterStandby::Hot)
    }

    /// The span the cluster's HA facts are best pointed at: the `ha`
    /// attribute if given, else the name.
    pub fn ha_span(&self) -> Span {
        self.ha.as_ref().map(|h| h.span).unwrap_or(self.span)
    }

    /// The node (1-based) that deploys artifacts, when exactly one is
    /// named or implied: the passive node of an active-passive pair (node 2),
    /// the named node, or node 1 when nothing is said.
    pub fn manager_node(&self) -> Option<u32> {
        match self.manager.as_ref().map(|m| &m.value) {
            Some(Manager::Passive) => (self.ha_mode() == HaMode::ActivePassive).then_some(2),
            Some(Manager::Nodes(nodes)) if nodes.len() == 1 => {
                (nodes[0] >= 1 && nodes[0] <= self.node_count()).then_some(nodes[0])
            }
            Some(Manager::Nodes(_)) => None,
            None if self.ha_mode() == HaMode::ActivePassive => Some(2),
            None => Some(1),
        }
    }
}

/// A `load_balancer` block: a load balancer in front of clusters of its
/// datacenter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoadBalancer {
    /// The name in `load_balancer NAME`.
    pub name: String,
    /// Where the block's header is written.
    #[serde(skip)]
    pub span: Span,
    /// The datacenter it is declared in.
    pub datacenter: DcId,
    /// `kind`: the load balancer implementation.
    pub kind: LbKind,
    /// `hostname`: the host name clients use.
    pub hostname: Option<String>,
    /// `fronts`: the clusters of its datacenter behind it.
    pub fronts: Vec<Spanned<ClusterId>>,
}

/// An `upgrade` block: an intended change, which `topoc plan` turns into a
/// simulated runbook.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Upgrade {
    /// The name in `upgrade NAME`.
    pub name: String,
    /// Where the block's header is written.
    #[serde(skip)]
    pub span: Span,
    /// `kind`: what kind of change it is.
    pub kind: Option<Spanned<UpgradeKind>>,
    /// `None`: every cluster.
    pub clusters: Option<Spanned<Vec<Spanned<ClusterId>>>>,
    /// `to_version`: the version a version upgrade or migration moves to.
    pub to_version: Option<Spanned<Version>>,
    /// `restart`: whether the patch needs a server restart, as written.
    pub restart: Option<Spanned<bool>>,
    /// `read_only_window`: how long the portals stay read-only during a
    /// migration.
    pub read_only_window: Option<Spanned<Duration>>,
    /// `token_sync`: how tokens issued during a migration reach the new
    /// deployment, as written.
    pub token_sync: Option<Spanned<TokenSync>>,
    /// `cutover`: how traffic moves to the new deployment, as written.
    pub cutover: Option<Spanned<Cutover>>,
    /// `window`: the maintenance window as written, e.g.
    /// `Sun 01:00-04:00 UTC`.
    pub window: Option<String>,
    /// Where `window` is written.
    #[serde(skip)]
    pub window_span: Option<Span>,
    /// `surge`: whether the plan may add a temporary extra node (true when
    /// unset).
    pub surge: bool,
}

impl Upgrade {
    /// The length of the upgrade's maintenance window, when its `window`
    /// says `HH:MM-HH:MM` somewhere.
    pub fn window_minutes(&self) -> Option<u32> {
        self.window.as_deref().and_then(window_minutes)
    }

    /// Its `kind`, when one is given and valid.
    pub fn kind(&self) -> Option<UpgradeKind> {
        self.kind.as_ref().map(|k| k.value)
    }

    /// Whether the change restarts the servers: its `restart`, true when
    /// not given.
    pub fn restarts(&self) -> bool {
        self.restart.as_ref().map(|r| r.value).unwrap_or(true)
    }

    /// Its `token_sync`, `one-way` when not given.
    pub fn token_sync_mode(&self) -> TokenSync {
        self.token_sync
            .as_ref()
            .map(|t| t.value)
            .unwrap_or(TokenSync::OneWay)
    }

    /// Its `cutover`, `dns` when not given.
    pub fn cutover_mode(&self) -> Cutover {
        self.cutover
            .as_ref()
            .map(|c| c.value)
            .unwrap_or(Cutover::Dns)
    }
}

impl Topology {
    /// The datacenter `id`.
    pub fn dc(&self, id: DcId) -> &Datacenter {
        &self.datacenters[id.0]
    }

    /// The cluster `id`.
    pub fn cluster(&self, id: ClusterId) -> &Cluster {
        &self.clusters[id.0]
    }

    /// The datasource `id`.
    pub fn datasource(&self, id: DsId) -> &Datasource {
        &self.datasources[id.0]
    }

    /// The file share `id`.
    pub fn file_share(&self, id: FsId) -> &FileShare {
        &self.file_shares[id.0]
    }

    /// The ids of every cluster, in declaration order.
    pub fn cluster_ids(&self) -> impl Iterator<Item = ClusterId> + '_ {
        (0..self.clusters.len()).map(ClusterId)
    }

    /// The ids of every datacenter, in declaration order.
    pub fn dc_ids(&self) -> impl Iterator<Item = DcId> + '_ {
        (0..self.datacenters.len()).map(DcId)
    }

    /// The first datacenter whose `role` is `primary`, if any.
    pub fn primary(&self) -> Option<DcId> {
        self.dc_ids()
            .find(|&id| self.dc(id).role() == Some(Role::Primary))
    }

    /// The peak load a cluster must serve: its own, else the topology's.
    pub fn cluster_peak(&self, cluster: &Cluster) -> Option<f64> {
        cluster
            .peak_load
            .as_ref()
            .or(self.peak_load.as_ref())
            .map(|p| p.value)
    }

    /// What must still be served with one node down: `degraded_capacity x
    /// peak_load`.
    pub fn required_capacity(&self, cluster: &Cluster) -> Option<f64> {
        self.cluster_peak(cluster)
            .map(|peak| peak * self.degraded_capacity.value)
    }

    /// The clusters an upgrade changes (every cluster when it names none).
    pub fn upgrade_clusters(&self, upgrade: &Upgrade) -> Vec<ClusterId> {
        match &upgrade.clusters {
            Some(list) => list.value.iter().map(|c| c.value).collect(),
            None => self.cluster_ids().collect(),
        }
    }

    /// The datasource a replica chain ends at (the writable original).
    pub fn replica_root(&self, mut id: DsId) -> DsId {
        let mut steps = 0;
        while let Some(next) = &self.datasource(id).replica_of {
            id = next.value;
            steps += 1;
            if steps > self.datasources.len() {
                break; // a cycle (E008 reported)
            }
        }
        id
    }

    /// The datasource of `dc` that replicates `ds` (directly or through a
    /// chain), or `ds` itself when it is in `dc`.
    pub fn replica_in(&self, dc: DcId, ds: DsId) -> Option<DsId> {
        let root = self.replica_root(ds);
        self.dc(dc)
            .datasources
            .iter()
            .copied()
            .find(|&d| self.replica_root(d) == root)
    }

    /// The file share of `dc` that stands in for `fs` in a copy of the
    /// primary: the one with the same method.
    pub fn mirror_file_share(&self, dc: DcId, fs: FsId) -> Option<FsId> {
        let method = self.file_share(fs).method();
        self.dc(dc)
            .file_shares
            .iter()
            .copied()
            .find(|&f| self.file_share(f).method() == method)
    }
}

/// The length of a window written as `... HH:MM-HH:MM ...` (past midnight
/// when the end comes before the start), in minutes. A weekly window as
/// the traffic analysis places it (`Sat 23:00 - Sun 02:00 UTC`) is measured
/// the same way it is placed.
pub fn window_minutes(window: &str) -> Option<u32> {
    if let Ok(weekly) = crate::traffic::time::WeeklyWindow::parse(window) {
        return Some(weekly.minutes);
    }
    let bytes = window.as_bytes();
    let time = |at: usize| -> Option<(u32, usize)> {
        let rest = &window[at..];
        let colon = rest.find(':')?;
        let hours: u32 = rest[..colon].parse().ok()?;
        let minutes: u32 = rest.get(colon + 1..colon + 3)?.parse().ok()?;
        (hours < 24 && minutes < 60).then_some((hours * 60 + minutes, at + colon + 3))
    };
    for start in 0..bytes.len() {
        if !bytes[start].is_ascii_digit() || (start > 0 && bytes[start - 1].is_ascii_digit()) {
            continue;
        }
        let Some((from, end)) = time(start) else {
            continue;
        };
        let rest = window[end..].trim_start();
        let Some(rest) = rest.strip_prefix('-') else {
            continue;
        };
        let at = window.len() - rest.trim_start().len();
        if let Some((to, _)) = time(at) {
            let length = if to > from {
                to - from
            } else {
                to + 24 * 60 - from
            };
            return Some(length);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::window_minutes;

    #[test]
    fn windows_are_measured() {
        assert_eq!(window_minutes("Sun 01:00-04:00 UTC"), Some(180));
        assert_eq!(window_minutes("Sat 22:00 - 02:30 UTC"), Some(270));
        assert_eq!(window_minutes("2:00-3:15"), Some(75));
        assert_eq!(window_minutes("Sat 23:00 - Sun 02:00 UTC"), Some(180));
        assert_eq!(window_minutes("Sun 01:00-04:00 CEST"), Some(180));
        assert_eq!(window_minutes("whenever"), None);
        assert_eq!(window_minutes("25:00-26:00"), None);
    }
}
