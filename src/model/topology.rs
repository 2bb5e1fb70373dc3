//! The resolved, typed topology. Every object remembers the span it came
//! from; references are resolved to indices (a dangling reference was
//! reported as E005 and is simply absent here).

use serde::Serialize;

use super::types::*;
use crate::source::Span;

/// A value with the span of the attribute that gave it (`key = value`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spanned<T> {
    pub value: T,
    #[serde(skip)]
    pub span: Span,
}

impl<T> Spanned<T> {
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
    pub name: String,
    /// Where it was given; `None` for a default.
    #[serde(skip)]
    pub span: Option<Span>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Topology {
    pub name: String,
    /// The name in `topology NAME` (or the start of the first file when
    /// there is no topology block).
    #[serde(skip)]
    pub span: Span,
    pub product: Product,
    pub version: Option<Spanned<Version>>,
    pub peak_load: Option<Spanned<f64>>,
    /// A fraction (0.75 for `75%`).
    pub degraded_capacity: Spanned<f64>,
    pub registry: String,
    /// Whether `registry` was given (helper images come from it then).
    pub registry_given: bool,
    pub update_level: Option<Spanned<u64>>,
    pub registry_login: Option<SecretRef>,
    pub run_as_user: Option<Spanned<u32>>,
    pub run_as_group: Option<Spanned<u32>>,
    pub admin_password: SecretRef,
    pub keystore_password: SecretRef,
    /// The operator's keystore file; `None`: WSO2's bundled one.
    pub keystore: Option<Spanned<String>>,
    pub keystore_alias: String,
    /// The operator's truststore file; `None`: WSO2's bundled one.
    pub truststore: Option<Spanned<String>>,
    pub truststore_password: SecretRef,
    pub encryption_key: SecretRef,
    pub allow: Vec<Spanned<String>>,
    pub deny: Vec<Spanned<String>>,
    /// The zone windows are read in when they name none (default UTC).
    pub time_zone: crate::traffic::time::UtcOffset,
    /// Given traffic, what a plan holds a cluster to: the highest rate
    /// observed in its window times this (1.5 for `150%`).
    pub traffic_safety: Spanned<f64>,
    pub datacenters: Vec<Datacenter>,
    pub datasources: Vec<Datasource>,
    pub file_shares: Vec<FileShare>,
    pub artifact_servers: Vec<ArtifactServer>,
    pub clusters: Vec<Cluster>,
    pub load_balancers: Vec<LoadBalancer>,
    pub upgrades: Vec<Upgrade>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Datacenter {
    pub name: String,
    #[serde(skip)]
    pub span: Span,
    pub role: Option<Spanned<Role>>,
    pub region: Option<String>,
    pub domain: String,
    pub replicates: Option<Spanned<DcId>>,
    pub artifact_source: Option<Spanned<ArtifactId>>,
    pub standby: Option<Spanned<DcStandby>>,
    pub recovery_time: Option<Spanned<Duration>>,
    /// How far its replicas may lag the primary.
    pub replication_lag: Duration,
    /// Its local time: its own `time_zone`, else the topology's.
    pub time_zone: crate::traffic::time::UtcOffset,
    pub clusters: Vec<ClusterId>,
    pub datasources: Vec<DsId>,
    pub file_shares: Vec<FsId>,
    pub load_balancers: Vec<LbId>,
    /// Attributes written but rejected, naming nothing that exists (E005)
    /// or misspelt (E002): a language error already reports them, so they
    /// are not also reported missing.
    #[serde(skip)]
    pub rejected: Vec<&'static str>,
}

impl Datacenter {
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

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Datasource {
    pub name: String,
    #[serde(skip)]
    pub span: Span,
    pub datacenter: DcId,
    /// Own or inherited from `replica_of`.
    pub purpose: Option<Purpose>,
    pub engine: Option<Engine>,
    pub host: Option<String>,
    pub port: u16,
    pub database: Option<String>,
    /// Where its own `database` is written (not inherited).
    #[serde(skip)]
    pub database_span: Option<Span>,
    pub user: String,
    /// Where its own `user` is written (not inherited).
    #[serde(skip)]
    pub user_span: Option<Span>,
    pub password: SecretRef,
    pub access: Spanned<Access>,
    pub replica_of: Option<Spanned<DsId>>,
    /// The JDBC driver jar: own or inherited from `replica_of`.
    pub driver: Option<Spanned<String>>,
    /// The server's administrator, for the runbooks' database steps.
    pub admin_user: String,
    pub admin_password: SecretRef,
    /// The replication role its replicas connect as: own or inherited
    /// from `replica_of` (a failover re-points replicas with it).
    pub replication_user: String,
    pub replication_password: SecretRef,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileShare {
    pub name: String,
    #[serde(skip)]
    pub span: Span,
    pub datacenter: DcId,
    pub method: Option<Spanned<ShareMethod>>,
    pub server: Option<String>,
    pub path: Option<String>,
    pub interval: Duration,
    /// Kubernetes: the StorageClass of its claims.
    pub storage_class: Option<String>,
}

impl FileShare {
    pub fn method(&self) -> ShareMethod {
        self.method
            .as_ref()
            .map(|m| m.value)
            .unwrap_or(ShareMethod::None)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArtifactServer {
    pub name: String,
    #[serde(skip)]
    pub span: Span,
    pub url: Option<String>,
    pub poll: Duration,
    /// `user:password` for HTTP basic authentication.
    pub credentials: Option<SecretRef>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cluster {
    pub name: String,
    #[serde(skip)]
    pub span: Span,
    pub datacenter: DcId,
    pub profile: Option<Spanned<Profile>>,
    pub nodes: Option<Spanned<u32>>,
    /// Given, or `none` for a one-node cluster.
    pub ha: Option<Spanned<HaMode>>,
    pub standby: Option<Spanned<ClusterStandby>>,
    pub node_capacity: Option<Spanned<f64>>,
    pub peak_load: Option<Spanned<f64>>,
    pub manager: Option<Spanned<Manager>>,
    pub datasources: Vec<Spanned<DsId>>,
    pub file_share: Option<Spanned<FsId>>,
    pub key_manager: Option<Spanned<ClusterId>>,
    pub traffic_manager: Option<Spanned<ClusterId>>,
    pub cpu: Option<Spanned<f64>>,
    /// Bytes.
    pub memory: Option<Spanned<u64>>,
    pub hosts: Option<Spanned<Vec<String>>>,
    /// A custom image its nodes run.
    pub image: Option<Spanned<String>>,
}

impl Cluster {
    pub fn profile(&self) -> Option<Profile> {
        self.profile.as_ref().map(|p| p.value)
    }

    pub fn node_count(&self) -> u32 {
        self.nodes.as_ref().map(|n| n.value).unwrap_or(1)
    }

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

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoadBalancer {
    pub name: String,
    #[serde(skip)]
    pub span: Span,
    pub datacenter: DcId,
    pub kind: LbKind,
    pub hostname: Option<String>,
    pub fronts: Vec<Spanned<ClusterId>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Upgrade {
    pub name: String,
    #[serde(skip)]
    pub span: Span,
    pub kind: Option<Spanned<UpgradeKind>>,
    /// `None`: every cluster.
    pub clusters: Option<Spanned<Vec<Spanned<ClusterId>>>>,
    pub to_version: Option<Spanned<Version>>,
    pub restart: Option<Spanned<bool>>,
    pub read_only_window: Option<Spanned<Duration>>,
    pub token_sync: Option<Spanned<TokenSync>>,
    pub cutover: Option<Spanned<Cutover>>,
    pub window: Option<String>,
    /// Where `window` is written.
    #[serde(skip)]
    pub window_span: Option<Span>,
    pub surge: bool,
}

impl Upgrade {
    /// The length of the upgrade's maintenance window, when its `window`
    /// says `HH:MM-HH:MM` somewhere.
    pub fn window_minutes(&self) -> Option<u32> {
        self.window.as_deref().and_then(window_minutes)
    }

    pub fn kind(&self) -> Option<UpgradeKind> {
        self.kind.as_ref().map(|k| k.value)
    }

    pub fn restarts(&self) -> bool {
        self.restart.as_ref().map(|r| r.value).unwrap_or(true)
    }

    pub fn token_sync_mode(&self) -> TokenSync {
        self.token_sync
            .as_ref()
            .map(|t| t.value)
            .unwrap_or(TokenSync::OneWay)
    }

    pub fn cutover_mode(&self) -> Cutover {
        self.cutover
            .as_ref()
            .map(|c| c.value)
            .unwrap_or(Cutover::Dns)
    }
}

impl Topology {
    pub fn dc(&self, id: DcId) -> &Datacenter {
        &self.datacenters[id.0]
    }

    pub fn cluster(&self, id: ClusterId) -> &Cluster {
        &self.clusters[id.0]
    }

    pub fn datasource(&self, id: DsId) -> &Datasource {
        &self.datasources[id.0]
    }

    pub fn file_share(&self, id: FsId) -> &FileShare {
        &self.file_shares[id.0]
    }

    pub fn cluster_ids(&self) -> impl Iterator<Item = ClusterId> + '_ {
        (0..self.clusters.len()).map(ClusterId)
    }

    pub fn dc_ids(&self) -> impl Iterator<Item = DcId> + '_ {
        (0..self.datacenters.len()).map(DcId)
    }

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
