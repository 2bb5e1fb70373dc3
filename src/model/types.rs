//! Value types of the model: enumerations, versions, quantities.

use std::cmp::Ordering;
use std::fmt;

use serde::Serialize;

use super::schema;

/// Declares a Rust enum whose spellings are the schema's enumeration values.
macro_rules! spelled_enum {
    ($(#[$meta:meta])* $name:ident, $values:path, {
        $($(#[$vmeta:meta])* $variant:ident = $text:literal),* $(,)?
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),*
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];
            /// The spelling the language and the schema use for this value.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text),*
                }
            }
            /// The value spelled `text`, or `None` when the schema has no such value.
            pub fn from_name(text: &str) -> Option<$name> {
                match text {
                    $($text => Some($name::$variant),)*
                    _ => None,
                }
            }
            /// The schema's values, to check that both agree.
            pub fn schema_values() -> &'static [schema::EnumValue] {
                $values
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

spelled_enum!(
    /// The product a topology deploys (`product`).
    Product, schema::PRODUCTS, {
    /// `wso2-apim`: WSO2 API Manager.
    WsoApim = "wso2-apim",
});

spelled_enum!(
    /// The role of a datacenter.
    Role, schema::DC_ROLES, {
    /// `primary`: the master datacenter, with the read-write databases, the
    /// portals, the key manager and gateways.
    Primary = "primary",
    /// `read-only`: gateways and key managers on replicated databases, with
    /// artifacts pulled from an artifact server.
    ReadOnly = "read-only",
    /// `disaster-recovery`: a standby copy of the primary, started when the
    /// primary is lost.
    DisasterRecovery = "disaster-recovery",
});

spelled_enum!(
    /// How a disaster-recovery datacenter stands by (its `standby`).
    DcStandby, schema::DC_STANDBY, {
    /// `hot`: running and ready to take traffic at once.
    Hot = "hot",
    /// `warm`: provisioned but stopped; started on failover.
    Warm = "warm",
    /// `cold`: not running; built and started on failover, with a window of
    /// unavailability.
    Cold = "cold",
});

spelled_enum!(
    /// Which WSO2 database a datasource holds.
    Purpose, schema::PURPOSES, {
    /// `apim`: WSO2AM_DB, with APIs, subscriptions and tokens
    /// (`[database.apim_db]`).
    Apim = "apim",
    /// `shared`: WSO2SHARED_DB, with the registry and the user store
    /// (`[database.shared_db]`).
    Shared = "shared",
});

spelled_enum!(
    /// The database engine of a datasource (`engine`).
    Engine, schema::ENGINES, {
    /// `mysql`: MySQL 8.
    Mysql = "mysql",
    /// `mariadb`: MariaDB, which the nodes use as MySQL and the runbooks
    /// drive with its own commands.
    Mariadb = "mariadb",
    /// `postgres`: PostgreSQL.
    Postgres = "postgres",
    /// `mssql`: Microsoft SQL Server.
    Mssql = "mssql",
    /// `oracle`: Oracle Database.
    Oracle = "oracle",
});

impl Engine {
    /// The port the engine's server listens on unless a datasource gives one.
    pub fn default_port(self) -> u16 {
        match self {
            Engine::Mysql | Engine::Mariadb => 3306,
            Engine::Postgres => 5432,
            Engine::Mssql => 1433,
            Engine::Oracle => 1521,
        }
    }
}

spelled_enum!(
    /// Whether the nodes write to a datasource (`access`).
    Access, schema::ACCESS, {
    /// `read-write`: the nodes write to it.
    ReadWrite = "read-write",
    /// `read-only`: a replica the nodes only read.
    ReadOnly = "read-only",
});

spelled_enum!(
    /// How a file share shares deployed files between nodes (`method`).
    ShareMethod, schema::SHARE_METHODS, {
    /// `nfs`: a shared NFS export mounted on every node.
    Nfs = "nfs",
    /// `rsync`: the manager node pushes its files to the others on an
    /// interval.
    Rsync = "rsync",
    /// `none`: no file sharing.
    None = "none",
});

spelled_enum!(
    /// The WSO2 profile a cluster's nodes run.
    Profile, schema::PROFILES, {
    /// `all-in-one`: every component in one JVM.
    AllInOne = "all-in-one",
    /// `control-plane`: Publisher, DevPortal, Admin, key manager and event
    /// hub.
    ControlPlane = "control-plane",
    /// `gateway-worker`: serves API traffic.
    GatewayWorker = "gateway-worker",
    /// `key-manager`: issues and validates tokens only.
    KeyManager = "key-manager",
    /// `traffic-manager`: makes throttling decisions.
    TrafficManager = "traffic-manager",
});

impl Profile {
    /// Profiles that write to the databases and publish APIs: they belong in
    /// the primary datacenter only.
    pub fn is_writer(self) -> bool {
        matches!(self, Profile::AllInOne | Profile::ControlPlane)
    }

    /// Profiles that WSO2 pairs as exactly two named instances in HA.
    pub fn is_paired(self) -> bool {
        matches!(
            self,
            Profile::AllInOne | Profile::ControlPlane | Profile::TrafficManager
        )
    }

    /// Whether a node of this profile serves as a key manager (validates tokens
    /// and subscriptions).
    pub fn runs_key_manager(self) -> bool {
        matches!(
            self,
            Profile::AllInOne | Profile::ControlPlane | Profile::KeyManager
        )
    }

    /// Whether a node of this profile counts requests and decides throttling.
    pub fn runs_traffic_manager(self) -> bool {
        matches!(
            self,
            Profile::AllInOne | Profile::ControlPlane | Profile::TrafficManager
        )
    }

    /// Whether a node of this profile serves API traffic as a gateway.
    pub fn runs_gateway(self) -> bool {
        matches!(self, Profile::AllInOne | Profile::GatewayWorker)
    }

    /// The logical databases a node of this profile needs (domain.md §2).
    pub fn needed_purposes(self) -> &'static [Purpose] {
        match self {
            Profile::GatewayWorker => &[Purpose::Shared],
            _ => &[Purpose::Apim, Purpose::Shared],
        }
    }

    /// Start order: databases come first (rank 0), then control planes,
    /// key managers, traffic managers, gateways.
    pub fn start_rank(self) -> u8 {
        match self {
            Profile::AllInOne | Profile::ControlPlane => 1,
            Profile::KeyManager => 2,
            Profile::TrafficManager => 3,
            Profile::GatewayWorker => 4,
        }
    }
}

spelled_enum!(
    /// The HA mode of a cluster.
    HaMode, schema::HA_MODES, {
    /// `active-active`: every node takes traffic.
    ActiveActive = "active-active",
    /// `active-passive`: one node takes traffic while its pair stands by.
    ActivePassive = "active-passive",
    /// `none`: no redundancy.
    None = "none",
});

spelled_enum!(
    /// How the passive node of an active-passive pair stands by (the
    /// cluster's `standby`).
    ClusterStandby, schema::CLUSTER_STANDBY, {
    /// `hot`: the passive node runs and is ready to take traffic.
    Hot = "hot",
    /// `cold`: the passive node is stopped.
    Cold = "cold",
});

spelled_enum!(
    /// The implementation of a load balancer (`kind`).
    LbKind, schema::LB_KINDS, {
    /// `nginx`: an nginx reverse proxy.
    Nginx = "nginx",
});

spelled_enum!(
    /// What kind of change an upgrade makes (`kind`).
    UpgradeKind, schema::UPGRADE_KINDS, {
    /// `service-update`: redeploys a fixed service (API artifacts) without a
    /// server restart.
    ServiceUpdate = "service-update",
    /// `patch`: applies a server patch, one node at a time.
    Patch = "patch",
    /// `version-upgrade`: moves the servers to a new version in place,
    /// migrating the databases.
    VersionUpgrade = "version-upgrade",
    /// `migration`: moves to a new deployment with a read-only window, a
    /// dump and a cutover.
    Migration = "migration",
    /// `add-service`: deploys a new service (API) from the manager node,
    /// waits until every node and datacenter has it, tests it, then exposes
    /// it to consumers.
    AddService = "add-service",
});

spelled_enum!(
    /// How tokens issued during a migration reach the new deployment
    /// (`token_sync`).
    TokenSync, schema::TOKEN_SYNC, {
    /// `one-way`: copies tokens issued during the window from the old
    /// deployment to the new.
    OneWay = "one-way",
    /// `two-way`: keeps tokens in step both ways, as a gradual cutover needs.
    TwoWay = "two-way",
});

spelled_enum!(
    /// How traffic moves to the new deployment of a migration (`cutover`).
    Cutover, schema::CUTOVERS, {
    /// `dns`: switches DNS to the new deployment at once.
    Dns = "dns",
    /// `gradual`: shifts traffic gradually (needs two-way token sync).
    Gradual = "gradual",
});

/// Who deploys artifacts in a cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Manager {
    /// The passive node of an active-passive pair.
    Passive,
    /// Node numbers (1-based); more than one is an error (HA006).
    Nodes(Vec<u32>),
}

/// A dotted numeric version such as `4.2.0`.
#[derive(Debug, Clone, Eq, Serialize)]
pub struct Version {
    /// The numbers between the dots, one to four of them.
    pub parts: Vec<u32>,
    /// The version as written, which `Display` prints back.
    pub text: String,
}

impl Version {
    /// Parses one to four dot-separated numbers (at most 32 characters), or
    /// `None`; `4.2` equals `4.2.0` when compared.
    pub fn parse(text: &str) -> Option<Version> {
        if text.is_empty() || text.len() > 32 {
            return None;
        }
        let parts: Option<Vec<u32>> = text
            .split('.')
            .map(|p| {
                if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                    None
                } else {
                    p.parse().ok()
                }
            })
            .collect();
        let parts = parts?;
        (parts.len() <= 4).then(|| Version {
            parts,
            text: text.to_string(),
        })
    }

    /// The first number: 4 for `4.2.0`.
    pub fn major(&self) -> u32 {
        self.parts[0]
    }

    /// The major.minor pair (e.g. 3.2 for "3.2.0").
    pub fn minor(&self) -> (u32, u32) {
        (self.parts[0], self.parts.get(1).copied().unwrap_or(0))
    }

    fn padded(&self) -> [u32; 4] {
        let mut out = [0; 4];
        out[..self.parts.len()].copy_from_slice(&self.parts);
        out
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.padded() == other.padded()
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.padded().cmp(&other.padded())
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A duration in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Duration {
    /// The length in milliseconds.
    pub millis: u64,
}

impl Duration {
    /// Whole seconds, rounded down.
    pub fn seconds(self) -> u64 {
        self.millis / 1000
    }

    /// Whole minutes, rounded up, at least one.
    pub fn minutes_ceil(self) -> u64 {
        self.millis.div_ceil(60_000).max(1)
    }

    /// Human form: `3h`, `90min`, `45s`, `250ms`, `2d`.
    pub fn human(self) -> String {
        let ms = self.millis;
        const UNITS: [(u64, &str); 5] = [
            (86_400_000, "d"),
            (3_600_000, "h"),
            (60_000, "min"),
            (1000, "s"),
            (1, "ms"),
        ];
        for (size, unit) in UNITS {
            if ms >= size && ms.is_multiple_of(size) {
                return format!("{}{unit}", ms / size);
            }
        }
        format!("{ms}ms")
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.human())
    }
}

/// Format a number without a trailing `.0` (1200 not 1200.0; 0.5 stays).
pub fn format_number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        let text = format!("{value:.3}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// The units a quantity may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// `%`: a percentage.
    Percent,
    /// `rps`: requests per second.
    Rps,
    /// `ms`: milliseconds.
    Millis,
    /// `s`: seconds.
    Seconds,
    /// `min`: minutes.
    Minutes,
    /// `h`: hours.
    Hours,
    /// `d`: days.
    Days,
    /// `KiB`: kibibytes (1024 bytes).
    KiB,
    /// `MiB`: mebibytes.
    MiB,
    /// `GiB`: gibibytes.
    GiB,
}

impl Unit {
    /// The unit spelled `text` after a number (`%`, `rps`, `ms`, `s`, `min`, `h`,
    /// `d`, `KiB`, `MiB`, `GiB`), or `None`.
    pub fn parse(text: &str) -> Option<Unit> {
        Some(match text {
            "%" => Unit::Percent,
            "rps" => Unit::Rps,
            "ms" => Unit::Millis,
            "s" => Unit::Seconds,
            "min" => Unit::Minutes,
            "h" => Unit::Hours,
            "d" => Unit::Days,
            "KiB" => Unit::KiB,
            "MiB" => Unit::MiB,
            "GiB" => Unit::GiB,
            _ => return None,
        })
    }

    /// What kind of quantity this unit makes, for messages.
    pub fn class(self) -> &'static str {
        match self {
            Unit::Percent => "a percentage",
            Unit::Rps => "a rate in requests per second",
            Unit::Millis | Unit::Seconds | Unit::Minutes | Unit::Hours | Unit::Days => "a duration",
            Unit::KiB | Unit::MiB | Unit::GiB => "a size",
        }
    }

    /// Milliseconds per unit for durations.
    pub fn millis(self) -> Option<u64> {
        Some(match self {
            Unit::Millis => 1,
            Unit::Seconds => 1000,
            Unit::Minutes => 60_000,
            Unit::Hours => 3_600_000,
            Unit::Days => 86_400_000,
            _ => return None,
        })
    }

    /// Bytes per unit for sizes.
    pub fn bytes(self) -> Option<u64> {
        Some(match self {
            Unit::KiB => 1 << 10,
            Unit::MiB => 1 << 20,
            Unit::GiB => 1 << 30,
            _ => return None,
        })
    }
}

/// A help line for a unit that does not exist, naming the one meant.
pub fn unit_hint(unit: &str) -> String {
    let suggestion = match unit {
        "m" => "`m` is ambiguous: write `min` for minutes or `MiB` for mebibytes",
        "M" | "Mi" | "MB" | "mb" | "mib" => "write `MiB` (mebibytes)",
        "G" | "Gi" | "GB" | "gb" | "gib" => "write `GiB` (gibibytes)",
        "K" | "Ki" | "KB" | "kb" | "k" | "kib" => "write `KiB` (kibibytes)",
        "sec" | "secs" | "second" | "seconds" | "S" => "write `s` for seconds",
        "mins" | "minute" | "minutes" => "write `min` for minutes",
        "hr" | "hrs" | "hour" | "hours" | "H" => "write `h` for hours",
        "day" | "days" | "D" => "write `d` for days",
        "rp" | "qps" | "tps" | "req" | "RPS" => "write `rps` (requests per second)",
        _ => "",
    };
    let units = "the units are % rps ms s min h d KiB MiB GiB";
    if suggestion.is_empty() {
        units.to_string()
    } else {
        format!("{suggestion}; {units}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agree(names: Vec<&'static str>, values: &[schema::EnumValue]) {
        let schema: Vec<_> = values.iter().map(|v| v.name).collect();
        assert_eq!(names, schema);
    }

    #[test]
    fn rust_enums_agree_with_the_schema() {
        agree(
            Role::ALL.iter().map(|v| v.name()).collect(),
            Role::schema_values(),
        );
        agree(
            Profile::ALL.iter().map(|v| v.name()).collect(),
            Profile::schema_values(),
        );
        agree(
            HaMode::ALL.iter().map(|v| v.name()).collect(),
            HaMode::schema_values(),
        );
        agree(
            Engine::ALL.iter().map(|v| v.name()).collect(),
            Engine::schema_values(),
        );
        agree(
            Purpose::ALL.iter().map(|v| v.name()).collect(),
            Purpose::schema_values(),
        );
        agree(
            Access::ALL.iter().map(|v| v.name()).collect(),
            Access::schema_values(),
        );
        agree(
            ShareMethod::ALL.iter().map(|v| v.name()).collect(),
            ShareMethod::schema_values(),
        );
        agree(
            DcStandby::ALL.iter().map(|v| v.name()).collect(),
            DcStandby::schema_values(),
        );
        agree(
            ClusterStandby::ALL.iter().map(|v| v.name()).collect(),
            ClusterStandby::schema_values(),
        );
        agree(
            UpgradeKind::ALL.iter().map(|v| v.name()).collect(),
            UpgradeKind::schema_values(),
        );
        agree(
            TokenSync::ALL.iter().map(|v| v.name()).collect(),
            TokenSync::schema_values(),
        );
        agree(
            Cutover::ALL.iter().map(|v| v.name()).collect(),
            Cutover::schema_values(),
        );
        agree(
            LbKind::ALL.iter().map(|v| v.name()).collect(),
            LbKind::schema_values(),
        );
        agree(
            Product::ALL.iter().map(|v| v.name()).collect(),
            Product::schema_values(),
        );
    }

    #[test]
    fn versions_compare_numerically() {
        let v = |s| Version::parse(s).unwrap();
        assert!(v("4.10.0") > v("4.2.0"));
        assert_eq!(v("4.2"), v("4.2.0"));
        assert!(v("3.2.0") < v("4.0.0"));
        assert!(Version::parse("4.2.x").is_none());
        assert!(Version::parse("").is_none());
        assert!(Version::parse("99999999999").is_none());
    }

    #[test]
    fn durations_print_in_their_largest_unit() {
        assert_eq!(
            Duration {
                millis: 3 * 3_600_000
            }
            .human(),
            "3h"
        );
        assert_eq!(
            Duration {
                millis: 90 * 60_000
            }
            .human(),
            "90min"
        );
        assert_eq!(Duration { millis: 1500 }.human(), "1500ms");
        assert_eq!(format_number(1200.0), "1200");
        assert_eq!(format_number(0.5), "0.5");
    }
}
