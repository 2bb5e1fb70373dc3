//! The one schema table: every block kind, where it may appear, its
//! attributes with their types, allowed values, defaults and one-line docs.
//!
//! Lowering, "did you mean" hints, the language server (completion, hover)
//! and the README's reference are all driven by [`BLOCKS`]. Adding an
//! attribute is one edit here plus the field that carries it in the model.

use serde::Serialize;

/// The kinds of block a topology is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockKind {
    /// `topology`: the deployment as a whole, exactly one per topology.
    Topology,
    /// `datacenter`: a site, primary, read-only or disaster recovery.
    Datacenter,
    /// `datasource`: an external database the nodes of a datacenter use.
    Datasource,
    /// `file_share`: how the nodes of a cluster share deployed files.
    FileShare,
    /// `artifact_server`: where the primary publishes API artifacts for
    /// read-only datacenters to pull.
    ArtifactServer,
    /// `cluster`: a group of nodes running one WSO2 profile.
    Cluster,
    /// `load_balancer`: a load balancer in front of clusters.
    LoadBalancer,
    /// `upgrade`: an intended change, planned as a runbook.
    Upgrade,
}

impl BlockKind {
    /// Every block kind, in declaration order.
    pub const ALL: [BlockKind; 8] = [
        BlockKind::Topology,
        BlockKind::Datacenter,
        BlockKind::Datasource,
        BlockKind::FileShare,
        BlockKind::ArtifactServer,
        BlockKind::Cluster,
        BlockKind::LoadBalancer,
        BlockKind::Upgrade,
    ];

    /// The keyword that opens the block.
    pub fn keyword(self) -> &'static str {
        match self {
            BlockKind::Topology => "topology",
            BlockKind::Datacenter => "datacenter",
            BlockKind::Datasource => "datasource",
            BlockKind::FileShare => "file_share",
            BlockKind::ArtifactServer => "artifact_server",
            BlockKind::Cluster => "cluster",
            BlockKind::LoadBalancer => "load_balancer",
            BlockKind::Upgrade => "upgrade",
        }
    }

    /// How the kind is named in prose ("file share").
    pub fn noun(self) -> &'static str {
        match self {
            BlockKind::FileShare => "file share",
            BlockKind::ArtifactServer => "artifact server",
            BlockKind::LoadBalancer => "load balancer",
            other => other.keyword(),
        }
    }

    /// The block kind opened by `keyword`, or `None` when no block has it.
    pub fn from_keyword(keyword: &str) -> Option<BlockKind> {
        BlockKind::ALL.into_iter().find(|k| k.keyword() == keyword)
    }

    /// The kind's entry in [`BLOCKS`].
    pub fn schema(self) -> &'static BlockSchema {
        BLOCKS
            .iter()
            .find(|b| b.kind == self)
            .expect("every block kind has a schema entry")
    }
}

/// Where a block may appear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// At the top level of a file.
    TopLevel,
    /// Nested inside a `datacenter` block.
    InDatacenter,
}

/// One allowed value of an enumeration.
#[derive(Debug, Clone, Copy)]
pub struct EnumValue {
    /// The value as written in a topology: `active-passive`.
    pub name: &'static str,
    /// What the value means, for hover text and the reference.
    pub doc: &'static str,
}

/// The type of an attribute's value.
#[derive(Debug, Clone, Copy)]
pub enum Type {
    /// One of a fixed set of identifiers.
    Enum(&'static [EnumValue]),
    /// A quoted string.
    String,
    /// A whole number within bounds.
    Int {
        /// The smallest value allowed.
        min: u64,
        /// The largest value allowed.
        max: u64,
    },
    /// A plain decimal number.
    Number,
    /// `true` or `false`.
    Bool,
    /// Requests per second: `1200rps`.
    Rps,
    /// A percentage: `75%`.
    Percent,
    /// A multiplier written as a percentage of at least 100%: `150%`.
    Factor,
    /// A fixed offset from UTC, as a string: `"UTC+05:30"`.
    UtcOffset,
    /// `ms`, `s`, `min`, `h`, `d`.
    Duration,
    /// `KiB`, `MiB`, `GiB`.
    Size,
    /// `secret("name")`.
    Secret,
    /// A dotted version string: `"4.2.0"`.
    Version,
    /// The name of a block of this kind.
    Ref(BlockKind),
    /// A list of names of blocks of this kind.
    RefList(BlockKind),
    /// A list of quoted strings.
    StringList,
    /// A list of diagnostic codes as strings: `["HA004"]`.
    CodeList,
    /// A host name, domain name or IP address, as a string.
    Host,
    /// A list of host names.
    HostList,
    /// An absolute file system path, as a string.
    Path,
    /// An `http://` or `https://` URL, as a string.
    Url,
    /// A container image registry prefix, as a string.
    Registry,
    /// A container image reference (`registry/name:tag` or `@sha256:...`).
    Image,
    /// A file name (no folder), as a string.
    FileName,
    /// A Kubernetes object name (a DNS-1123 subdomain), as a string.
    K8sName,
    /// `passive` or a node index (1-based).
    Manager,
}

impl Type {
    /// How the type is named in messages and in the reference.
    pub fn describe(&self) -> String {
        match self {
            Type::Enum(values) => {
                let names: Vec<_> = values.iter().map(|v| format!("`{}`", v.name)).collect();
                format!("one of {}", names.join(", "))
            }
            Type::String => "a string".into(),
            Type::Int { min, max } => format!("a whole number from {min} to {max}"),
            Type::Number => "a number".into(),
            Type::Bool => "`true` or `false`".into(),
            Type::Rps => "requests per second, e.g. `1200rps`".into(),
            Type::Percent => "a percentage, e.g. `75%`".into(),
            Type::Factor => "a percentage of at least 100%, e.g. `150%`".into(),
            Type::UtcOffset => {
                "a UTC offset as a string, e.g. `\"UTC\"` or `\"UTC+05:30\"`".into()
            }
            Type::Duration => "a duration, e.g. `30s`, `5min`, `3h`".into(),
            Type::Size => "a size, e.g. `512MiB`, `4GiB`".into(),
            Type::Secret => "`secret(\"name\")`".into(),
            Type::Version => "a version string, e.g. `\"4.2.0\"`".into(),
            Type::Ref(kind) => format!("the name of a {}", kind.noun()),
            Type::RefList(kind) => format!("a list of {} names", kind.noun()),
            Type::StringList => "a list of strings".into(),
            Type::CodeList => "a list of diagnostic codes, e.g. `[\"HA004\"]`".into(),
            Type::Host => {
                "a host name or IP address as a string, e.g. `\"db.colombo.internal\"`".into()
            }
            Type::HostList => "a list of host names as strings".into(),
            Type::Path => "an absolute path as a string, e.g. `\"/exports/apim\"`".into(),
            Type::Url => "an http(s) URL as a string".into(),
            Type::Registry => {
                "an image registry prefix as a string, e.g. `\"registry.example.com/wso2\"`".into()
            }
            Type::Image => {
                "an image reference as a string, e.g. `\"registry.example.com/wso2/wso2am:4.2.0.12\"`".into()
            }
            Type::FileName => "a file name as a string, e.g. `\"mysql-connector-j-8.4.0.jar\"`".into(),
            Type::K8sName => "a Kubernetes object name as a string, e.g. `\"efs-sc\"`".into(),
            Type::Manager => "`passive` or a node number".into(),
        }
    }

    /// Short type name for the reference table.
    pub fn short(&self) -> String {
        match self {
            Type::Enum(values) => values
                .iter()
                .map(|v| v.name)
                .collect::<Vec<_>>()
                .join(" \\| "),
            Type::String => "string".into(),
            Type::Int { .. } => "int".into(),
            Type::Number => "number".into(),
            Type::Bool => "bool".into(),
            Type::Rps => "rps".into(),
            Type::Percent => "percent".into(),
            Type::Factor => "percent (100% or more)".into(),
            Type::UtcOffset => "UTC offset".into(),
            Type::Duration => "duration".into(),
            Type::Size => "size".into(),
            Type::Secret => "secret".into(),
            Type::Version => "version".into(),
            Type::Ref(kind) => kind.keyword().into(),
            Type::RefList(kind) => format!("list of {}", kind.keyword()),
            Type::StringList => "list of string".into(),
            Type::CodeList => "list of code".into(),
            Type::Host => "host".into(),
            Type::HostList => "list of host".into(),
            Type::Path => "path".into(),
            Type::Url => "url".into(),
            Type::Registry => "registry".into(),
            Type::Image => "image".into(),
            Type::FileName => "file name".into(),
            Type::K8sName => "name".into(),
            Type::Manager => "passive \\| int".into(),
        }
    }

    /// The values completion offers for the type: an enumeration's values,
    /// `true` and `false`, or `passive`; none for other types.
    pub fn enum_values(&self) -> &'static [EnumValue] {
        match self {
            Type::Enum(values) => values,
            Type::Bool => BOOL_VALUES,
            Type::Manager => MANAGER_VALUES,
            _ => &[],
        }
    }
}

/// Whether an attribute must be given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Required {
    /// The attribute may be left out.
    No,
    /// The attribute must be given (reported missing otherwise).
    Yes,
    /// Required under a condition that lowering checks; the text says when.
    When(&'static str),
}

/// The schema of one attribute of a block.
#[derive(Debug, Clone, Copy)]
pub struct AttrSchema {
    /// The attribute's key: `peak_load`.
    pub name: &'static str,
    /// The type its value must have.
    pub ty: Type,
    /// Whether it must be given.
    pub required: Required,
    /// The default, as the reference shows it.
    pub default: Option<&'static str>,
    /// One sentence on its meaning, for hover text and the reference.
    pub doc: &'static str,
}

/// The schema of one block kind: where it goes and what it holds.
#[derive(Debug, Clone, Copy)]
pub struct BlockSchema {
    /// The kind of block described.
    pub kind: BlockKind,
    /// Where blocks of this kind may appear.
    pub placement: Placement,
    /// What a block of this kind stands for, for hover text and the
    /// reference.
    pub doc: &'static str,
    /// Its attributes, in the order the reference lists them.
    pub attrs: &'static [AttrSchema],
}

impl BlockSchema {
    /// The schema of the attribute called `name`, or `None` when the block
    /// has no such attribute.
    pub fn attr(&self, name: &str) -> Option<&'static AttrSchema> {
        self.attrs.iter().find(|a| a.name == name)
    }

    /// Block kinds that may be nested in this one.
    pub fn children(&self) -> Vec<BlockKind> {
        match self.kind {
            BlockKind::Datacenter => BLOCKS
                .iter()
                .filter(|b| b.placement == Placement::InDatacenter)
                .map(|b| b.kind)
                .collect(),
            _ => Vec::new(),
        }
    }
}

macro_rules! values {
    ($($name:literal => $doc:literal),* $(,)?) => {
        &[$(EnumValue { name: $name, doc: $doc }),*]
    };
}

macro_rules! attr {
    ($name:literal, $ty:expr, $req:expr, $default:expr, $doc:literal) => {
        AttrSchema {
            name: $name,
            ty: $ty,
            required: $req,
            default: $default,
            doc: $doc,
        }
    };
}

/// The values of a [`Type::Bool`] attribute.
pub const BOOL_VALUES: &[EnumValue] = values!["true" => "yes", "false" => "no"];
/// The keyword a [`Type::Manager`] attribute takes besides a node number.
pub const MANAGER_VALUES: &[EnumValue] =
    values!["passive" => "the passive node of an active-passive pair deploys artifacts"];

/// The values of the topology's `product`.
pub const PRODUCTS: &[EnumValue] = values!["wso2-apim" => "WSO2 API Manager"];
/// The values of a datacenter's `role`.
pub const DC_ROLES: &[EnumValue] = values![
    "primary" => "the master datacenter: read-write databases, Publisher, DevPortal, key manager, gateways",
    "read-only" => "gateways and key managers on replicated databases; artifacts pulled from the artifact server",
    "disaster-recovery" => "a standby copy of the primary, started when the primary is lost",
];
/// The values of a datacenter's `standby`.
pub const DC_STANDBY: &[EnumValue] = values![
    "hot" => "running and ready to take traffic at once",
    "warm" => "provisioned but stopped; started on failover",
    "cold" => "not running; built and started on failover (a window of unavailability)",
];
/// The values of a datasource's `purpose`.
pub const PURPOSES: &[EnumValue] = values![
    "apim" => "WSO2AM_DB: APIs, subscriptions, tokens ([database.apim_db])",
    "shared" => "WSO2SHARED_DB: registry and user store ([database.shared_db])",
];
/// The values of a datasource's `engine`.
pub const ENGINES: &[EnumValue] = values![
    "mysql" => "MySQL 8 (default port 3306)",
    "mariadb" => "MariaDB (default port 3306): the nodes use it as MySQL (WSO2's MySQL scripts, driver and URL); the runbooks use MariaDB's own commands",
    "postgres" => "PostgreSQL (default port 5432)",
    "mssql" => "Microsoft SQL Server (default port 1433)",
    "oracle" => "Oracle (default port 1521)",
];
/// The values of a datasource's `access`.
pub const ACCESS: &[EnumValue] = values![
    "read-write" => "the nodes write to it",
    "read-only" => "a replica the nodes only read",
];
/// The values of a file share's `method`.
pub const SHARE_METHODS: &[EnumValue] = values![
    "nfs" => "a shared NFS export mounted on every node (first choice)",
    "rsync" => "the manager node pushes its files to the others on an interval",
    "none" => "no file sharing",
];
/// The values of a cluster's `profile`.
pub const PROFILES: &[EnumValue] = values![
    "all-in-one" => "every component in one JVM",
    "control-plane" => "Publisher, DevPortal, Admin, key manager and event hub",
    "gateway-worker" => "API traffic",
    "key-manager" => "token issue and validation only",
    "traffic-manager" => "throttling decisions",
];
/// The values of a cluster's `ha`.
pub const HA_MODES: &[EnumValue] = values![
    "active-active" => "every node takes traffic",
    "active-passive" => "one node takes traffic, its pair stands by",
    "none" => "no redundancy",
];
/// The values of a cluster's `standby`.
pub const CLUSTER_STANDBY: &[EnumValue] = values![
    "hot" => "the passive node runs and is ready to take traffic",
    "cold" => "the passive node is stopped",
];
/// The values of a load balancer's `kind`.
pub const LB_KINDS: &[EnumValue] = values!["nginx" => "an nginx reverse proxy"];
/// The values of an upgrade's `kind`.
pub const UPGRADE_KINDS: &[EnumValue] = values![
    "service-update" => "redeploy a fixed service (API artifacts) without a server restart",
    "patch" => "apply a server patch, one node at a time",
    "version-upgrade" => "move the servers to a new version in place, migrating the databases",
    "migration" => "move to a new deployment with a read-only window, a dump and a cutover",
    "add-service" => "deploy a new service (API) from the manager node only, wait until every node and datacenter has it, test, then expose it to consumers",
];
/// The values of an upgrade's `token_sync`.
pub const TOKEN_SYNC: &[EnumValue] = values![
    "one-way" => "copy tokens issued during the window from the old deployment to the new",
    "two-way" => "keep tokens in step both ways (needed for a gradual cutover)",
];
/// The values of an upgrade's `cutover`.
pub const CUTOVERS: &[EnumValue] = values![
    "dns" => "switch DNS to the new deployment at once",
    "gradual" => "shift traffic gradually (needs two-way token sync)",
];

/// The schema of every block kind, in the order the reference lists them.
pub static BLOCKS: &[BlockSchema] = &[
    BlockSchema {
        kind: BlockKind::Topology,
        placement: Placement::TopLevel,
        doc: "The deployment as a whole: product, version and load. Exactly one per topology.",
        attrs: &[
            attr!(
                "product",
                Type::Enum(PRODUCTS),
                Required::No,
                Some("wso2-apim"),
                "The product deployed."
            ),
            attr!(
                "version",
                Type::Version,
                Required::Yes,
                None,
                "The product version running today, e.g. \"4.2.0\"."
            ),
            attr!(
                "peak_load",
                Type::Rps,
                Required::No,
                None,
                "The peak API traffic the deployment must serve."
            ),
            attr!(
                "degraded_capacity",
                Type::Percent,
                Required::No,
                Some("75%"),
                "Share of the peak that must still be served with one node down."
            ),
            attr!(
                "registry",
                Type::Registry,
                Required::No,
                Some("docker.wso2.com"),
                "Container image registry prefix: the product images, the images built for Kubernetes and (when given) the helper images come from here."
            ),
            attr!(
                "update_level",
                Type::Int {
                    min: 0,
                    max: 1_000_000
                },
                Required::No,
                None,
                "The WSO2 update level every node runs: images are tagged `<version>.<update_level>`, so every node runs the same one (ST001 without it)."
            ),
            attr!(
                "registry_login",
                Type::Secret,
                Required::No,
                None,
                "Pull credentials of a private registry: the Kubernetes docker-registry Secret of this name (imagePullSecrets); `docker login` for Compose."
            ),
            attr!(
                "run_as_user",
                Type::Int {
                    min: 1,
                    max: 2_147_483_647
                },
                Required::No,
                Some("802 up to 4.2, 10001 from 4.3"),
                "The user id the product runs as: the product image's own user (set it for a custom image)."
            ),
            attr!(
                "run_as_group",
                Type::Int {
                    min: 1,
                    max: 2_147_483_647
                },
                Required::No,
                Some("802 up to 4.2, 10001 from 4.3"),
                "The group id the product runs as."
            ),
            attr!(
                "keystore",
                Type::FileName,
                Required::No,
                Some("WSO2's bundled wso2carbon.jks"),
                "The keystore (`.jks` or `.p12`) in `operator-files/<topology>/security/` that every node and datacenter signs tokens and serves TLS with (ST003 without it)."
            ),
            attr!(
                "keystore_alias",
                Type::String,
                Required::No,
                Some("wso2carbon"),
                "The alias of the private key in the keystore."
            ),
            attr!(
                "truststore",
                Type::FileName,
                Required::No,
                Some("WSO2's bundled client-truststore.jks"),
                "The truststore (`.jks` or `.p12`) in `operator-files/<topology>/security/`."
            ),
            attr!(
                "truststore_password",
                Type::Secret,
                Required::No,
                Some("secret(\"apim-truststore-password\")"),
                "Password of the truststore."
            ),
            attr!(
                "admin_password",
                Type::Secret,
                Required::No,
                Some("secret(\"apim-admin-password\")"),
                "The super admin's password."
            ),
            attr!(
                "keystore_password",
                Type::Secret,
                Required::No,
                Some("secret(\"apim-keystore-password\")"),
                "Password of the keystore and of its key (identical on every node)."
            ),
            attr!(
                "encryption_key",
                Type::Secret,
                Required::No,
                Some("secret(\"apim-encryption-key\")"),
                "The symmetric encryption key (identical on every node and datacenter)."
            ),
            attr!(
                "allow",
                Type::CodeList,
                Required::No,
                None,
                "Diagnostic codes silenced for this topology, e.g. [\"HA004\"]."
            ),
            attr!(
                "deny",
                Type::CodeList,
                Required::No,
                None,
                "Diagnostic codes raised to errors for this topology."
            ),
            attr!(
                "time_zone",
                Type::UtcOffset,
                Required::No,
                Some("UTC"),
                "The zone an upgrade's `window` is read in when it names none, and `topoc window` proposes windows in: a fixed UTC offset (no daylight saving time)."
            ),
            attr!(
                "traffic_safety",
                Type::Factor,
                Required::No,
                Some("150%"),
                "Given traffic (`--traffic`), what a plan holds each cluster to: the highest rate observed in the upgrade's window times this, at most `degraded_capacity` x `peak_load`."
            ),
        ],
    },
    BlockSchema {
        kind: BlockKind::ArtifactServer,
        placement: Placement::TopLevel,
        doc: "Where the primary datacenter publishes API artifacts for read-only datacenters to pull.",
        attrs: &[
            attr!(
                "url",
                Type::Url,
                Required::Yes,
                None,
                "Base URL of the artifact store."
            ),
            attr!(
                "poll",
                Type::Duration,
                Required::No,
                Some("1min"),
                "How often read-only datacenters pull."
            ),
            attr!(
                "credentials",
                Type::Secret,
                Required::No,
                None,
                "The secret holding `user:password` for the server (HTTP basic authentication on every push and pull); without it the server must accept unauthenticated PUT and GET."
            ),
        ],
    },
    BlockSchema {
        kind: BlockKind::Datacenter,
        placement: Placement::TopLevel,
        doc: "A site: primary, read-only or disaster recovery.",
        attrs: &[
            attr!(
                "role",
                Type::Enum(DC_ROLES),
                Required::Yes,
                None,
                "What the datacenter does."
            ),
            attr!(
                "region",
                Type::String,
                Required::No,
                None,
                "Cloud region or site name."
            ),
            attr!(
                "domain",
                Type::Host,
                Required::No,
                Some("<datacenter>.internal"),
                "DNS domain of its hosts: node 2 of cluster `gateway` is `gateway-2.<domain>`."
            ),
            attr!(
                "replicates",
                Type::Ref(BlockKind::Datacenter),
                Required::When("for read-only and disaster-recovery datacenters"),
                None,
                "The datacenter its databases replicate from."
            ),
            attr!(
                "artifact_source",
                Type::Ref(BlockKind::ArtifactServer),
                Required::When("for read-only datacenters"),
                None,
                "The artifact server it pulls API artifacts from (read-only and disaster-recovery datacenters)."
            ),
            attr!(
                "standby",
                Type::Enum(DC_STANDBY),
                Required::No,
                Some("cold"),
                "How a disaster-recovery datacenter stands by."
            ),
            attr!(
                "recovery_time",
                Type::Duration,
                Required::When("for cold and warm standby"),
                None,
                "How long a failover to this datacenter takes."
            ),
            attr!(
                "replication_lag",
                Type::Duration,
                Required::No,
                Some("10s"),
                "How far its database replicas may lag the primary (read-only datacenters): its nodes wait this long before acting on an event relayed from the primary."
            ),
            attr!(
                "time_zone",
                Type::UtcOffset,
                Required::No,
                Some("the topology's"),
                "Its local time, a fixed UTC offset: `topoc window` shows each proposed window in it."
            ),
        ],
    },
    BlockSchema {
        kind: BlockKind::Datasource,
        placement: Placement::InDatacenter,
        doc: "An external database the nodes of this datacenter use.",
        attrs: &[
            attr!(
                "purpose",
                Type::Enum(PURPOSES),
                Required::When("unless `replica_of` is set"),
                Some("from `replica_of`"),
                "Which WSO2 database it holds."
            ),
            attr!(
                "engine",
                Type::Enum(ENGINES),
                Required::When("unless `replica_of` is set"),
                Some("from `replica_of`"),
                "The database engine."
            ),
            attr!(
                "host",
                Type::Host,
                Required::Yes,
                None,
                "Host name of the database server."
            ),
            attr!(
                "port",
                Type::Int { min: 1, max: 65535 },
                Required::No,
                Some("the engine's port"),
                "TCP port of the database server."
            ),
            attr!(
                "database",
                Type::String,
                Required::When("unless `replica_of` is set"),
                Some("from `replica_of`"),
                "Database (schema) name."
            ),
            attr!(
                "user",
                Type::String,
                Required::No,
                Some("from `replica_of`, else `apim`"),
                "User the nodes connect as."
            ),
            attr!(
                "password",
                Type::Secret,
                Required::No,
                Some("from `replica_of`, else secret(\"<name>-password\")"),
                "The user's password, held outside the topology."
            ),
            attr!(
                "access",
                Type::Enum(ACCESS),
                Required::No,
                Some("read-only with `replica_of`, else read-write"),
                "Whether the nodes write to it."
            ),
            attr!(
                "replica_of",
                Type::Ref(BlockKind::Datasource),
                Required::No,
                None,
                "The datasource (in the replicated datacenter) it is a replica of."
            ),
            attr!(
                "admin_user",
                Type::String,
                Required::No,
                Some("root, postgres, sa or system, by engine"),
                "The server administrator the runbooks' database steps (create, promote, re-point) use."
            ),
            attr!(
                "admin_password",
                Type::Secret,
                Required::No,
                Some("secret(\"<name>-admin-password\")"),
                "The administrator's password, held outside the topology (the runbooks read it; the nodes never do)."
            ),
            attr!(
                "replication_user",
                Type::String,
                Required::No,
                Some("from `replica_of`, else `replicator`"),
                "The replication role its replicas connect as (PostgreSQL: LOGIN REPLICATION; MySQL and MariaDB: REPLICATION SLAVE): a failover re-points the other replicas at the promoted one with it."
            ),
            attr!(
                "replication_password",
                Type::Secret,
                Required::No,
                Some(
                    "from `replica_of`, else secret(\"<name>-replication-password\") of the datasource replicated"
                ),
                "The replication role's password, held outside the topology (the runbooks read it; the nodes never do)."
            ),
            attr!(
                "driver",
                Type::FileName,
                Required::When("unless `replica_of` is set (ST002)"),
                Some("from `replica_of`"),
                "The JDBC driver jar of its engine, in `operator-files/<topology>/lib/`: no WSO2 image or pack ships one."
            ),
        ],
    },
    BlockSchema {
        kind: BlockKind::FileShare,
        placement: Placement::InDatacenter,
        doc: "How the nodes of a cluster share deployed files.",
        attrs: &[
            attr!(
                "method",
                Type::Enum(SHARE_METHODS),
                Required::Yes,
                None,
                "How files are shared."
            ),
            attr!(
                "server",
                Type::Host,
                Required::When("for nfs"),
                None,
                "The NFS server."
            ),
            attr!(
                "path",
                Type::Path,
                Required::When("for nfs"),
                None,
                "The exported path."
            ),
            attr!(
                "interval",
                Type::Duration,
                Required::No,
                Some("1min"),
                "How often rsync runs (whole minutes)."
            ),
            attr!(
                "storage_class",
                Type::K8sName,
                Required::No,
                None,
                "Kubernetes: the StorageClass of its ReadWriteMany claims, instead of an NFS volume of `server` and `path` (FS004 when neither is given)."
            ),
        ],
    },
    BlockSchema {
        kind: BlockKind::Cluster,
        placement: Placement::InDatacenter,
        doc: "A group of nodes running one WSO2 profile, with its HA mode.",
        attrs: &[
            attr!(
                "profile",
                Type::Enum(PROFILES),
                Required::Yes,
                None,
                "The WSO2 profile every node runs."
            ),
            attr!(
                "nodes",
                Type::Int { min: 1, max: 1000 },
                Required::Yes,
                None,
                "How many nodes."
            ),
            attr!(
                "ha",
                Type::Enum(HA_MODES),
                Required::When("when nodes > 1"),
                Some("none for one node"),
                "The HA mode."
            ),
            attr!(
                "standby",
                Type::Enum(CLUSTER_STANDBY),
                Required::No,
                Some("hot"),
                "How the passive node of an active-passive pair stands by."
            ),
            attr!(
                "node_capacity",
                Type::Rps,
                Required::No,
                None,
                "What one node serves."
            ),
            attr!(
                "peak_load",
                Type::Rps,
                Required::No,
                Some("the topology's"),
                "The peak this cluster must serve."
            ),
            attr!(
                "manager",
                Type::Manager,
                Required::When("for multi-node clusters sharing files by rsync"),
                Some("passive, or node 1"),
                "The one node that deploys artifacts; the others are read-only."
            ),
            attr!(
                "datasources",
                Type::RefList(BlockKind::Datasource),
                Required::No,
                None,
                "The datasources its nodes use."
            ),
            attr!(
                "file_share",
                Type::Ref(BlockKind::FileShare),
                Required::No,
                None,
                "The file share its nodes use."
            ),
            attr!(
                "key_manager",
                Type::Ref(BlockKind::Cluster),
                Required::No,
                None,
                "The cluster that validates tokens for it."
            ),
            attr!(
                "traffic_manager",
                Type::Ref(BlockKind::Cluster),
                Required::No,
                None,
                "The cluster that makes its throttling decisions."
            ),
            attr!(
                "cpu",
                Type::Number,
                Required::No,
                Some("by profile"),
                "CPU cores per node."
            ),
            attr!(
                "memory",
                Type::Size,
                Required::No,
                Some("by profile"),
                "Memory per node."
            ),
            attr!(
                "hosts",
                Type::HostList,
                Required::No,
                None,
                "Existing host names, one per node, instead of the derived ones."
            ),
            attr!(
                "image",
                Type::Image,
                Required::No,
                Some("the product image of its profile"),
                "A custom image its nodes run (on Kubernetes it must carry the JDBC drivers), tagged or by digest."
            ),
        ],
    },
    BlockSchema {
        kind: BlockKind::LoadBalancer,
        placement: Placement::InDatacenter,
        doc: "A load balancer in front of clusters (passive nodes become backup upstreams).",
        attrs: &[
            attr!(
                "kind",
                Type::Enum(LB_KINDS),
                Required::No,
                Some("nginx"),
                "The load balancer implementation."
            ),
            attr!(
                "hostname",
                Type::Host,
                Required::No,
                Some("<name>.<domain>"),
                "The host name clients use."
            ),
            attr!(
                "fronts",
                Type::RefList(BlockKind::Cluster),
                Required::Yes,
                None,
                "The clusters of its datacenter behind it: API traffic to gateways (`/`), portals and console on their paths."
            ),
        ],
    },
    BlockSchema {
        kind: BlockKind::Upgrade,
        placement: Placement::TopLevel,
        doc: "An intended change, turned into a simulated runbook by `topoc plan`.",
        attrs: &[
            attr!(
                "kind",
                Type::Enum(UPGRADE_KINDS),
                Required::Yes,
                None,
                "What kind of change."
            ),
            attr!(
                "clusters",
                Type::RefList(BlockKind::Cluster),
                Required::No,
                Some("every cluster"),
                "The clusters it changes."
            ),
            attr!(
                "to_version",
                Type::Version,
                Required::When("for version-upgrade and migration"),
                None,
                "The target version."
            ),
            attr!(
                "restart",
                Type::Bool,
                Required::No,
                Some("true"),
                "Whether the patch needs a server restart."
            ),
            attr!(
                "read_only_window",
                Type::Duration,
                Required::When("for migration"),
                None,
                "How long the portals stay read-only."
            ),
            attr!(
                "token_sync",
                Type::Enum(TOKEN_SYNC),
                Required::No,
                Some("one-way"),
                "How tokens issued during a migration reach the new deployment."
            ),
            attr!(
                "cutover",
                Type::Enum(CUTOVERS),
                Required::No,
                Some("dns"),
                "How traffic moves to the new deployment."
            ),
            attr!(
                "window",
                Type::String,
                Required::No,
                None,
                "The maintenance window: a weekday, a time range and a UTC offset, e.g. \"Sun 01:00-04:00 UTC\" (in the topology's `time_zone` when it names none; without a weekday, any day)."
            ),
            attr!(
                "surge",
                Type::Bool,
                Required::No,
                Some("true"),
                "Whether the plan may add a temporary extra node."
            ),
        ],
    },
];

/// The closest candidate to `name` (edit distance), if close enough to be
/// a plausible typo.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1) + 1;
    candidates
        .into_iter()
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, c)| *d <= limit && *d < c.chars().count())
        .min_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)))
        .map(|(_, c)| c)
}

/// Levenshtein distance with adjacent transpositions, treating `-` and `_`
/// as the same character (a common slip in this language).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let norm = |c: char| {
        if c == '-' {
            '_'
        } else {
            c.to_ascii_lowercase()
        }
    };
    let a: Vec<char> = a.chars().map(norm).collect();
    let b: Vec<char> = b.chars().map(norm).collect();
    if a.len().abs_diff(b.len()) > 8 {
        return a.len().max(b.len());
    }
    let mut prev2 = vec![0usize; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0usize; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(prev2[j - 2] + 1);
            }
            cur[j] = best;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The language reference as Markdown, generated from [`BLOCKS`] (the
/// README embeds it; a test keeps the two in step).
pub fn reference_markdown() -> String {
    let mut out = String::new();
    for block in BLOCKS {
        let place = match block.placement {
            Placement::TopLevel => "top level",
            Placement::InDatacenter => "inside a `datacenter`",
        };
        out.push_str(&format!(
            "#### `{} NAME` ({place})\n\n{}\n\n",
            block.kind.keyword(),
            block.doc
        ));
        out.push_str(
            "| attribute | type | required | default | meaning |\n|---|---|---|---|---|\n",
        );
        for attr in block.attrs {
            let required = match attr.required {
                Required::Yes => "yes".to_string(),
                Required::No => "".to_string(),
                Required::When(when) => when.to_string(),
            };
            let default = attr.default.map(|d| format!("`{d}`")).unwrap_or_default();
            out.push_str(&format!(
                "| `{}` | {} | {} | {} | {} |\n",
                attr.name,
                attr.ty.short(),
                required,
                default,
                attr.doc.replace('|', "\\|")
            ));
        }
        out.push('\n');
    }
    out
}

/// What each profile runs and needs, from the predicates the lints and the
/// deployment use (`Profile::needed_purposes` for DS001, `is_writer` for
/// DC003, `is_paired` for HA007, `runs_gateway` for FS001, `runs_*` for
/// the key manager and traffic manager a gateway is given).
pub fn profiles_markdown() -> String {
    use crate::model::types::{Profile, Purpose};
    let mut out = String::from(
        "| profile | runs | datasources it needs (DS001) | where (DC003) | HA nodes (HA007) | also needs |\n|---|---|---|---|---|---|\n",
    );
    for &profile in Profile::ALL {
        let runs = PROFILES
            .iter()
            .find(|v| v.name == profile.name())
            .map(|v| v.doc)
            .unwrap_or_default();
        let datasources: Vec<String> = profile
            .needed_purposes()
            .iter()
            .map(|p| match p {
                Purpose::Apim => "`purpose = apim` (WSO2AM_DB)".to_string(),
                Purpose::Shared => "`purpose = shared` (WSO2SHARED_DB)".to_string(),
            })
            .collect();
        let place = if profile.is_writer() {
            "the primary datacenter only"
        } else {
            "any datacenter"
        };
        let nodes = if profile.is_paired() {
            "exactly 2 (a pair)"
        } else {
            "any number (active-active)"
        };
        let mut also: Vec<String> = Vec::new();
        if profile.runs_gateway() && !profile.runs_key_manager() {
            also.push("a key manager in its datacenter (`key_manager`, or its datacenter's one cluster that runs one)".into());
        }
        if profile.runs_gateway() && !profile.runs_traffic_manager() {
            also.push("a traffic manager in its datacenter (`traffic_manager`, or its datacenter's one cluster that runs one)".into());
        }
        if profile.runs_gateway() {
            also.push("a `file_share` before APIM 4.0 with more than one node (FS001)".into());
        }
        out.push_str(&format!(
            "| `{}` | {runs} | {} | {place} | {nodes} | {} |\n",
            profile.name(),
            datasources.join(", "),
            if also.is_empty() {
                "".to_string()
            } else {
                also.join("; ")
            }
        ));
    }
    out
}

/// Every attribute that has a default: what leaving it out means.
pub fn defaults_markdown() -> String {
    let mut out = String::from("| attribute | when left out |\n|---|---|\n");
    for block in BLOCKS {
        for attr in block.attrs {
            if let Some(default) = attr.default {
                let default = default.replace('|', "\\|");
                // Values as code, descriptions ("the topology's") as text.
                let shown = if default.contains('`') || default.contains(' ') {
                    default
                } else {
                    format!("`{default}`")
                };
                out.push_str(&format!(
                    "| `{}.{}` | {shown} |\n",
                    block.kind.keyword(),
                    attr.name,
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_one_schema() {
        for kind in BlockKind::ALL {
            assert_eq!(BLOCKS.iter().filter(|b| b.kind == kind).count(), 1);
            assert_eq!(BlockKind::from_keyword(kind.keyword()), Some(kind));
        }
    }

    #[test]
    fn attribute_names_are_unique_per_block() {
        for block in BLOCKS {
            let mut names: Vec<_> = block.attrs.iter().map(|a| a.name).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), block.attrs.len(), "{:?}", block.kind);
        }
    }

    #[test]
    fn suggestions() {
        assert_eq!(did_you_mean("node", ["nodes", "ha"]), Some("nodes"));
        assert_eq!(
            did_you_mean("clustr", ["cluster", "datacenter"]),
            Some("cluster")
        );
        assert_eq!(
            did_you_mean("key-manager", ["key_manager"]),
            Some("key_manager")
        );
        assert_eq!(did_you_mean("xyz", ["cluster"]), None);
        assert_eq!(edit_distance("ab", "ba"), 1);
    }
}
