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
    pub const ALL: [Need; 3] = [Need::KeyManager, Need::TrafficManager, Need::EventHub];

    pub fn name(self) -> &'static str {
        match self {
            Need::KeyManager => "key manager",
            Need::TrafficManager => "traffic manager",
            Need::EventHub => "event hub",
        }
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

    /// What a cluster without it loses.
    pub fn without(self) -> &'static str {
        match self {
            Need::KeyManager => "no token or subscription is validated",
            Need::TrafficManager => "no throttling limit is enforced",
            Need::EventHub => {
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

fn profile_list(profiles: &[Profile]) -> String {
    profiles
        .iter()
        .map(|p| format!("`{p}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What each profile needs, by datacenter role, as a Markdown table (the
/// README embeds it; a test keeps the two in step).
pub fn needs_markdown() -> String {
    let mut out = String::from(
        "| profile | needs | in a primary datacenter, from | in a read-only datacenter, from | if missing |\n|---|---|---|---|---|\n",
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
            out.push_str(&format!(
                "| `{profile}` | {}{versions} | {}{named} | {}{named} | {} |\n",
                need.name(),
                profile_list(providers(need, Role::Primary)),
                profile_list(providers(need, Role::ReadOnly)),
                need.without()
            ));
        }
        let purposes: Vec<String> = profile
            .needed_purposes()
            .iter()
            .map(|p: &Purpose| format!("`{p}`"))
            .collect();
        out.push_str(&format!(
            "| `{profile}` | datasources {} | its own datacenter's | replicas in its datacenter | DS001 |\n",
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
