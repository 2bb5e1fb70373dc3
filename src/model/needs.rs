//! What each profile needs from the other clusters of its datacenter, and
//! which profiles can play each of those roles: the one table that the
//! deployment's wiring, the DC008 and DC009 checks and the README's table
//! all read.

use serde::Serialize;

use super::{Profile, Purpose, Role};

/// A role another cluster of the same datacenter plays for a cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Need {
    /// Validates tokens and subscriptions (`[apim.key_manager]`).
    KeyManager,
    /// Counts requests and decides throttling (`[apim.throttling]`).
    TrafficManager,
    /// Serves the internal data API and the broker that announces new
    /// APIs, subscriptions, keys, revocations and policies
    /// (`[apim.event_hub]`, APIM 4.x).
    EventHub,
}

impl Need {
    /// Every need, in the order the deployment wires them and the README's table
    /// lists them.
    pub const ALL: [Need; 3] = [Need::KeyManager, Need::TrafficManager, Need::EventHub];

    /// The role as prose writes it, in lower case: "key manager".
    pub fn name(self) -> &'static str {
        match self {
            Need::KeyManager => "key manager",
            Need::TrafficManager => "traffic manager",
            Need::EventHub => "event hub",
        }
    }

    /// "a key manager", "an event hub".
    pub fn with_article(self) -> String {
        let name = self.name();
        let article = if name.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        format!("{article} {name}")
    }

    /// The cluster attribute that names the cluster playing it, where the
    /// topology can name one.
    pub fn attribute(self) -> Option<&'static str> {
        match self {
            Need::KeyManager => Some("key_manager"),
            Need::TrafficManager => Some("traffic_manager"),
            Need::EventHub => None,
        }
    }

    /// What a cluster of `profile` without it loses.
    pub fn without(self, profile: Profile) -> &'static str {
        match (self, profile) {
            (Need::KeyManager, _) => "no token or subscription is validated",
            (Need::TrafficManager, Profile::KeyManager) => {
                "the tokens it revokes are announced to no gateway"
            }
            (Need::TrafficManager, _) => "no throttling limit is enforced",
            (Need::EventHub, _) => {
                "new APIs, subscriptions, keys, revocations and policies never reach it"
            }
        }
    }
}

impl Profile {
    /// The roles other clusters of its datacenter play for a node of this
    /// profile (control planes and all-in-one nodes play them for
    /// themselves).
    pub fn needs(self, major: u32) -> &'static [Need] {
        match (self, major >= 4) {
            (Profile::GatewayWorker, true) => {
                &[Need::KeyManager, Need::TrafficManager, Need::EventHub]
            }
            (Profile::GatewayWorker, false) => &[Need::KeyManager, Need::TrafficManager],
            // A key manager announces revocations through the event hub
            // (4.x), or through a traffic manager's broker (3.x).
            (Profile::KeyManager, true) => &[Need::EventHub],
            (Profile::KeyManager, false) => &[Need::TrafficManager],
            (Profile::TrafficManager, true) => &[Need::EventHub],
            _ => &[],
        }
    }
}

/// The profiles that can play `need` for a cluster in a datacenter of
/// `role`, in order of preference. A read-only datacenter has no control
/// plane (DC003): its traffic managers, which serve WSO2's internal data
/// API and run a broker, are its event hub.
pub fn providers(need: Need, role: Role) -> &'static [Profile] {
    match need {
        Need::KeyManager => &[
            Profile::KeyManager,
            Profile::ControlPlane,
            Profile::AllInOne,
        ],
        Need::TrafficManager => &[
            Profile::TrafficManager,
            Profile::ControlPlane,
            Profile::AllInOne,
        ],
        Need::EventHub => match role {
            Role::Primary => &[Profile::ControlPlane, Profile::AllInOne],
            Role::ReadOnly => &[Profile::TrafficManager],
            Role::DisasterRecovery => &[
                Profile::ControlPlane,
                Profile::AllInOne,
                Profile::TrafficManager,
            ],
        },
    }
}

/// What a read-only datacenter without an event hub serves of the changes
/// made in the primary (APIM 4.x gateways load subscriptions, keys and
/// policies once at start and then learn of changes only through events;
/// only a missing subscription or key is looked up again, on the request
/// that needs it).
pub const UNRELAYED: &str = "its nodes see the primary's changes only when they restart: until then a new subscription or key is found once replicated, on the request that needs it, but changed or removed subscriptions, keys, APIs and policies are never seen, and revoked JWT access tokens stay valid until they expire (1h by default)";

/// The profiles that may run in a datacenter of `role` (DC003 keeps the
/// writers in the primary).
pub fn runs_in(profile: Profile, role: Role) -> bool {
    role == Role::Primary || !profile.is_writer()
}

fn profile_list(profiles: &[Profile], role: Role) -> String {
    profiles
        .iter()
        .filter(|p| runs_in(**p, role))
        .map(|p| format!("`{p}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What each profile needs, by datacenter role, as a Markdown table (the
/// README embeds it; a test keeps the two in step).
pub fn needs_markdown() -> String {
    let mut out = String::from(
        "| profile | needs | in a primary datacenter, from | in a read-only datacenter, from | if missing (DC008) |\n|---|---|---|---|---|\n",
    );
    for profile in Profile::ALL {
        let v4 = profile.needs(4);
        let v3 = profile.needs(3);
        let mut needs: Vec<Need> = v4.iter().chain(v3).copied().collect();
        needs.sort();
        needs.dedup();
        for need in needs {
            let versions = match (v3.contains(&need), v4.contains(&need)) {
                (true, true) => "",
                (false, true) => " (4.x)",
                _ => " (3.x)",
            };
            let named = need
                .attribute()
                .map(|a| format!(" (or the one its `{a}` names)"))
                .unwrap_or_default();
            let read_only = if need == Need::EventHub {
                " (DC009 in a read-only datacenter)"
            } else {
                ""
            };
            out.push_str(&format!(
                "| `{profile}` | {}{versions} | {}{named} | {}{named} | {}{read_only} |\n",
                need.name(),
                profile_list(providers(need, Role::Primary), Role::Primary),
                profile_list(providers(need, Role::ReadOnly), Role::ReadOnly),
                need.without(*profile)
            ));
        }
        let purposes: Vec<String> = profile
            .needed_purposes()
            .iter()
            .map(|p: &Purpose| format!("`{p}`"))
            .collect();
        out.push_str(&format!(
            "| `{profile}` | datasources {} | its own datacenter's | replicas in its datacenter | it falls back to an unshared H2 database (DS001) |\n",
            purposes.join(" and ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_only_datacenter_has_an_event_hub_without_a_control_plane() {
        for profile in providers(Need::EventHub, Role::ReadOnly) {
            assert!(!profile.is_writer(), "{profile} cannot run in read-only");
        }
        assert!(Profile::GatewayWorker.needs(4).contains(&Need::EventHub));
        assert!(!Profile::GatewayWorker.needs(3).contains(&Need::EventHub));
        assert!(Profile::ControlPlane.needs(4).is_empty());
    }
}
