//! The configuration of one node: the data its deployment.toml is rendered
//! from (`targets/wso2/deployment.toml.j2`). Addresses depend on the network
//! (host names, or Kubernetes Services); everything else is the same for
//! every target.

use serde::Serialize;

use super::layout::ports;
use super::*;

/// A node's admin services: `https://<address>:9443/services/`.
fn services_url(address: &str) -> String {
    format!("https://{address}:{}/services/", ports::HTTPS)
}

/// An event hub's (or traffic manager's) JMS broker: `tcp://<address>:5672`.
fn broker_url(address: &str) -> String {
    format!("tcp://{address}:{}", ports::JMS)
}

/// A traffic manager's binary event receiver: `tcp://<address>:9611`.
fn receiver_url(address: &str) -> String {
    format!("tcp://{address}:{}", ports::BINARY)
}

/// A traffic manager's binary receiver's authentication: `ssl://<address>:9711`.
fn receiver_auth_url(address: &str) -> String {
    format!("ssl://{address}:{}", ports::BINARY_SSL)
}

/// Everything deployment.toml says about one node.
#[derive(Debug, Clone, Serialize)]
pub struct NodeConfig {
    /// What the file is for, for its header comment.
    pub describes: String,
    /// The product's major version (3 or 4), which decides the file's sections.
    pub major: u32,
    /// The product version, e.g. `4.2.0`.
    pub version: String,
    /// The host name the node builds its URLs with: the cluster's public host
    /// name when it has one, else the node's own address.
    pub hostname: String,
    /// The `server_role` WSO2 keys the node's profile settings on.
    pub server_role: String,
    /// The super admin's user name.
    pub admin_username: String,
    /// `$env{...}`: never the password itself.
    pub admin_password: String,
    /// The `[database.apim_db]` and `[database.shared_db]` sections.
    pub databases: Vec<DatabaseConfig>,
    /// `$env{...}`: never the password itself.
    pub keystore_password: String,
    /// The keystore and truststore files (the same on every node).
    pub keystore: StoreConfig,
    /// The truststore file.
    pub truststore: StoreConfig,
    /// The alias of the keystore's private key.
    pub keystore_alias: String,
    /// APIM 4.x: the symmetric encryption key (identical on every node).
    pub encryption_key: Option<String>,
    /// The admin services of the key manager this node validates tokens with,
    /// when another cluster is its key manager.
    pub key_manager_url: Option<String>,
    /// APIM 4.x: the event hub this node publishes to and listens on; `None`
    /// on 3.x and when the node has no event hub.
    pub event_hub: Option<EventHubConfig>,
    /// Where throttling events go and decisions come from; `None` when the node
    /// has no traffic manager.
    pub throttling: Option<ThrottlingConfig>,
    /// The gateway environments a portal node deploys APIs to
    /// (`[[apim.gateway.environment]]`); empty on other nodes.
    pub gateway_environments: Vec<GatewayEnvironment>,
    /// Where the token revocation listener announces revoked tokens
    /// (`[[event_listener]] token_revocation`): control planes, all-in-one
    /// nodes and key managers.
    pub revocation_notify: Option<String>,
    /// The self sign-up handler that gives DevPortal users their
    /// subscriber role (`[[event_handler]] userPostSelfRegistration`).
    pub self_signup_handler: bool,
    /// All-in-one 4.x: the `[apim.key_manager]` switch that makes API keys
    /// honour subscriptions, as WSO2's own all-in-one sets it (its name
    /// changed in 4.4).
    pub api_key_setting: Option<String>,
    /// APIM 4.x gateways: which APIs they pull.
    pub gateway_labels: Vec<String>,
    /// APIM 3.x HA pairs: Hazelcast well-known-address clustering.
    pub clustering: Option<ClusteringConfig>,
    /// The portal URL when a load balancer fronts the portals.
    pub devportal_url: Option<String>,
    /// Kubernetes: the pod's IP, from the environment.
    pub node_ip_from_env: bool,
    /// The node is reached through a load balancer on 443 (and 80): the
    /// URLs it builds for redirects and callbacks use those ports.
    pub behind_load_balancer: bool,
}

/// A keystore or truststore as deployment.toml names it.
#[derive(Debug, Clone, Serialize)]
pub struct StoreConfig {
    /// The file name under the security folder.
    pub file_name: String,
    /// The store's type (`JKS`, `PKCS12`).
    #[serde(rename = "type")]
    pub kind: String,
    /// `$env{...}`: never the password itself.
    pub password: String,
}

impl StoreConfig {
    fn of(store: &StoreFile) -> StoreConfig {
        StoreConfig {
            file_name: store.file.clone(),
            kind: store.kind.name().to_string(),
            password: store.password.reference(),
        }
    }
}

/// One `[database.*]` section.
#[derive(Debug, Clone, Serialize)]
pub struct DatabaseConfig {
    /// `apim_db` or `shared_db`.
    pub section: String,
    /// WSO2's database type (`postgre`, `mysql`, `mssql`, `oracle`, ...).
    #[serde(rename = "type")]
    pub kind: String,
    /// As WSO2 reads it: its config mapper pastes `url` and `username`
    /// unescaped into master-datasources.xml, so their XML characters are
    /// written as entities (DS004 refuses what no escaping carries).
    pub url: String,
    /// The database user, XML characters written as entities (as `url`).
    pub username: String,
    /// `$env{...}`: never the password itself.
    pub password: String,
    /// The JDBC driver's class name.
    pub driver: String,
    /// The query the pool validates connections with.
    pub validation_query: String,
}

/// The `[apim.event_hub]` section.
#[derive(Debug, Clone, Serialize)]
pub struct EventHubConfig {
    /// The event hub's admin services.
    pub service_url: String,
    /// The JMS brokers the node listens to for events.
    pub listening_endpoints: Vec<String>,
    /// The other control plane of an HA pair.
    pub duplicate_urls: Vec<String>,
    /// A control plane publishes events to every control plane node.
    pub publish_groups: Vec<UrlGroup>,
    /// A read-only site: how long after an event was sent the node acts on
    /// it (milliseconds), so that the replicas have the change it
    /// announces.
    pub waiting_time_ms: Option<u64>,
}

/// The `[apim.throttling]` section.
#[derive(Debug, Clone, Serialize)]
pub struct ThrottlingConfig {
    /// The traffic manager's admin services; `None` on a traffic manager
    /// itself.
    pub service_url: Option<String>,
    /// The JMS brokers the node takes throttling decisions from.
    pub decision_endpoints: Vec<String>,
    /// One group per traffic manager: every traffic manager receives every
    /// event.
    pub url_groups: Vec<UrlGroup>,
    /// The other traffic manager of an HA pair.
    pub duplicate_urls: Vec<String>,
}

/// A group of event receivers (`[[apim.throttling.url_group]]`,
/// `[[apim.event_hub.publish.url_group]]`).
#[derive(Debug, Clone, Serialize)]
pub struct UrlGroup {
    /// The receivers' binary endpoints.
    pub urls: Vec<String>,
    /// The receivers' authentication endpoints (over TLS).
    pub auth_urls: Vec<String>,
    /// How events are spread over the group's receivers.
    #[serde(rename = "type")]
    pub kind: UrlGroupKind,
}

/// A gateway environment a portal node deploys APIs to
/// (`[[apim.gateway.environment]]`): its internal and public endpoints.
#[derive(Debug, Clone, Serialize)]
pub struct GatewayEnvironment {
    /// The environment's name, which APIM 4.x gateways pull APIs by.
    pub name: String,
    /// The gateways' admin services.
    pub service_url: String,
    /// The HTTP URL API consumers call.
    pub http_endpoint: String,
    /// The HTTPS URL API consumers call.
    pub https_endpoint: String,
    /// The WebSocket URL API consumers call.
    pub ws_endpoint: String,
    /// The secure WebSocket URL API consumers call.
    pub wss_endpoint: String,
}

/// APIM 3.x Hazelcast clustering of an HA pair (well-known-address members).
#[derive(Debug, Clone, Serialize)]
pub struct ClusteringConfig {
    /// This node's own address.
    pub local_member_host: String,
    /// Every member of the pair as `address:port`.
    pub members: Vec<String>,
}

/// Where a node is reached.
pub fn node_address(site: &Site, cluster: &ClusterPlan, node: &NodePlan, net: Network) -> String {
    match net {
        Network::Hosts => node.fqdn.clone(),
        Network::Kubernetes => match cluster.shape {
            Shape::Paired => site.service_address(&node.name),
            Shape::Scaled => site.service_address(&cluster.label),
        },
    }
}

/// Where a cluster is reached as a whole (every node of an active-active
/// cluster, the active node of an active-passive pair).
pub fn cluster_address(site: &Site, cluster: &ClusterPlan, net: Network) -> String {
    match net {
        Network::Hosts => site.cluster_host(cluster),
        Network::Kubernetes => site.service_address(&cluster.label),
    }
}

/// Where artifacts (APIs, throttling policies) are deployed to a cluster:
/// its rsync manager on hosts that share files by rsync, else the cluster.
fn deploy_address(d: &Deployment, site: &Site, cluster: &ClusterPlan, net: Network) -> String {
    match cluster.rsync_manager(site, d.major) {
        Some(manager) if net == Network::Hosts => node_address(site, cluster, manager, net),
        _ => cluster_address(site, cluster, net),
    }
}

/// The gateway environment name of a gateway cluster: `Default` when the
/// site has one gateway cluster, else the cluster's label.
pub fn gateway_environment_name(site: &Site, cluster: &ClusterPlan) -> String {
    let gateways = site
        .clusters
        .iter()
        .filter(|c| c.profile.runs_gateway())
        .count();
    if gateways <= 1 {
        "Default".to_string()
    } else {
        cluster.label.clone()
    }
}

/// The `server_role` WSO2 keys a node's profile settings on
/// (`infer.json`). The 4.5 split distributions know `default` only, which
/// their shipped deployment.toml files carry (product-apim v4.5.0
/// `api-control-plane`, `gateway`, `traffic-manager`); before 4.5 the
/// profile names the role, and a 4.x key manager is a control plane
/// (`api-key-manager-node.toml` of 4.3 and 4.4 says so too).
fn server_role(cluster: &ClusterPlan, major: u32) -> &'static str {
    if cluster.split_distribution {
        return "default";
    }
    match (cluster.profile, major >= 4) {
        (Profile::AllInOne, _) => "default",
        (Profile::ControlPlane, true) => "control-plane",
        (Profile::ControlPlane, false) => "default",
        (Profile::GatewayWorker, _) => "gateway-worker",
        (Profile::TrafficManager, _) => "traffic-manager",
        (Profile::KeyManager, true) => "control-plane",
        (Profile::KeyManager, false) => "api-key-manager",
    }
}

/// What the parts of a node's configuration are computed from.
#[derive(Clone, Copy)]
struct Inputs<'a> {
    d: &'a Deployment,
    site: &'a Site,
    cluster: &'a ClusterPlan,
    node: &'a NodePlan,
    net: Network,
}

impl<'a> Inputs<'a> {
    /// A cluster of the node's site, by label.
    fn other(&self, label: &Option<String>) -> Option<&'a ClusterPlan> {
        label.as_ref().and_then(|l| self.site.cluster(l))
    }

    /// Where the other node of the node's pair is reached.
    fn peer_address(&self) -> Option<String> {
        let peer = self.node.peer.as_ref()?;
        let peer_node = self.cluster.nodes.iter().find(|n| n.name == *peer)?;
        Some(node_address(self.site, self.cluster, peer_node, self.net))
    }
}

/// The event hub the node listens to (APIM 4.x): its own broker on a node
/// that is its own event hub, else every node of the hub.
fn event_hub(n: Inputs) -> Option<EventHubConfig> {
    let Inputs {
        d,
        site,
        cluster,
        net,
        ..
    } = n;
    n.other(&cluster.event_hub)
        .filter(|_| d.major >= 4)
        .map(|hub| {
            let own = std::ptr::eq(hub, cluster);
            // A control plane (or all-in-one) pair is one event hub: each
            // node hands its events to the other and publishes to both.
            let portal_pair = own && cluster.serves_portals();
            EventHubConfig {
                service_url: services_url(&cluster_address(site, hub, net)),
                listening_endpoints: if own {
                    vec![broker_url("localhost")]
                } else {
                    hub.nodes
                        .iter()
                        .map(|n| broker_url(&node_address(site, hub, n, net)))
                        .collect()
                },
                duplicate_urls: if portal_pair {
                    n.peer_address()
                        .map(|p| vec![broker_url(&p)])
                        .unwrap_or_default()
                } else {
                    Vec::new()
                },
                publish_groups: if portal_pair {
                    hub.nodes
                        .iter()
                        .map(|n| {
                            let address = node_address(site, hub, n, net);
                            UrlGroup {
                                urls: vec![receiver_url(&address)],
                                auth_urls: vec![receiver_auth_url(&address)],
                                kind: UrlGroupKind::Loadbalance,
                            }
                        })
                        .collect()
                } else {
                    Vec::new()
                },
                waiting_time_ms: site
                    .freshness
                    .as_ref()
                    .filter(|f| matches!(f.kind, FreshnessKind::Relayed { .. }))
                    .map(|f| f.lag_millis),
            }
        })
}

/// Where the node sends throttle events and hears throttle decisions: a
/// traffic manager's peer, or the traffic manager a gateway, control plane
/// or all-in-one node uses (its own, on an all-in-one node).
fn throttling(n: Inputs) -> Option<ThrottlingConfig> {
    let Inputs {
        d,
        site,
        cluster,
        net,
        ..
    } = n;
    match cluster.profile {
        Profile::TrafficManager => Some(ThrottlingConfig {
            service_url: None,
            decision_endpoints: Vec::new(),
            url_groups: Vec::new(),
            duplicate_urls: n
                .peer_address()
                .map(|p| vec![broker_url(&p)])
                .unwrap_or_default(),
        }),
        Profile::GatewayWorker | Profile::AllInOne | Profile::ControlPlane => {
            let tm = if cluster.profile == Profile::AllInOne {
                Some(cluster)
            } else {
                n.other(&cluster.traffic_manager)
                    .filter(|tm| !std::ptr::eq(*tm, cluster))
            };
            // An all-in-one node listens for decisions on its own broker and
            // hands its events to its peer's.
            let all_in_one = cluster.profile == Profile::AllInOne;
            // The policy deployer writes execution plans through this URL.
            tm.map(|tm| ThrottlingConfig {
                service_url: Some(services_url(&deploy_address(d, site, tm, net))),
                decision_endpoints: if all_in_one {
                    vec![broker_url("localhost")]
                } else {
                    tm.decision_nodes(net)
                        .into_iter()
                        .map(|n| broker_url(&node_address(site, tm, n, net)))
                        .collect()
                },
                url_groups: tm
                    .throttle_groups(net)
                    .into_iter()
                    .map(|group| {
                        let addresses: Vec<String> = group
                            .nodes
                            .iter()
                            .map(|n| node_address(site, tm, n, net))
                            .collect();
                        UrlGroup {
                            urls: addresses.iter().map(|a| receiver_url(a)).collect(),
                            auth_urls: addresses.iter().map(|a| receiver_auth_url(a)).collect(),
                            kind: group.kind,
                        }
                    })
                    .collect(),
                duplicate_urls: if all_in_one {
                    n.peer_address()
                        .map(|p| vec![broker_url(&p)])
                        .unwrap_or_default()
                } else {
                    Vec::new()
                },
            })
        }
        _ => None,
    }
}

/// The gateway environments a portal node deploys APIs to (an all-in-one
/// node's own): their internal and public endpoints.
fn gateway_environments(n: Inputs) -> Vec<GatewayEnvironment> {
    let Inputs {
        d,
        site,
        cluster,
        net,
        ..
    } = n;
    let gateway_clusters: Vec<&ClusterPlan> = if cluster.profile == Profile::AllInOne {
        vec![cluster]
    } else if cluster.serves_portals() {
        cluster
            .gateways
            .iter()
            .filter_map(|g| site.cluster(g))
            .collect()
    } else {
        Vec::new()
    };
    gateway_clusters
        .iter()
        .map(|gw| {
            // APIM 3.x deploys an API through this URL.
            let internal = cluster_address(site, gw, net);
            let deploy_to = deploy_address(d, site, gw, net);
            // Behind a load balancer, API traffic takes its standard ports
            // (80 and 443) and WebSocket traffic the gateways' own ports,
            // where the load balancer listens too; without one, clients
            // reach the gateways' ports directly.
            let (public, http, https) = match &gw.public_hostname {
                Some(host) => (host.clone(), String::new(), String::new()),
                None => (
                    internal.clone(),
                    format!(":{}", ports::GATEWAY_HTTP),
                    format!(":{}", ports::GATEWAY_HTTPS),
                ),
            };
            GatewayEnvironment {
                name: gateway_environment_name(site, gw),
                service_url: services_url(&deploy_to),
                http_endpoint: format!("http://{public}{http}"),
                https_endpoint: format!("https://{public}{https}"),
                ws_endpoint: format!("ws://{public}:{WS_PORT}"),
                wss_endpoint: format!("wss://{public}:{WSS_PORT}"),
            }
        })
        .collect()
}

/// The configuration of `node` of `cluster` (for a scaled cluster on
/// Kubernetes, every replica shares the configuration of node 1).
pub fn node_config(
    d: &Deployment,
    site: &Site,
    cluster: &ClusterPlan,
    node: &NodePlan,
    net: Network,
) -> NodeConfig {
    let self_address = node_address(site, cluster, node, net);
    let hostname = cluster
        .public_hostname
        .clone()
        .unwrap_or_else(|| self_address.clone());
    let databases = cluster
        .databases
        .iter()
        .map(|db| DatabaseConfig {
            section: db.section().to_string(),
            kind: db.wso2_type().to_string(),
            url: crate::text::escape::xml_entities(&db.jdbc_url()),
            username: crate::text::escape::xml_entities(&db.user),
            password: db.password.reference(),
            driver: db.driver().to_string(),
            validation_query: db.validation_query().to_string(),
        })
        .collect();

    let inputs = Inputs {
        d,
        site,
        cluster,
        node,
        net,
    };
    let other = |label: &Option<String>| inputs.other(label);

    let key_manager_url = match cluster.profile {
        Profile::GatewayWorker | Profile::ControlPlane => other(&cluster.key_manager)
            .filter(|km| !std::ptr::eq(*km, cluster))
            .map(|km| services_url(&cluster_address(site, km, net))),
        _ => None,
    };

    let event_hub = event_hub(inputs);

    let throttling = throttling(inputs);
    let revocation_notify = other(&cluster.notifies).map(|target| {
        if std::ptr::eq(target, cluster) {
            "https://localhost:${mgt.transport.https.port}/internal/data/v1/notify".to_string()
        } else {
            format!(
                "https://{}:{}/internal/data/v1/notify",
                cluster_address(site, target, net),
                ports::HTTPS
            )
        }
    });
    let self_signup_handler = matches!(
        cluster.profile,
        Profile::AllInOne | Profile::ControlPlane | Profile::KeyManager
    );
    let api_key_setting = (cluster.profile == Profile::AllInOne && d.major == 4).then(|| {
        if d.minor >= 4 {
            "enable_lightweight_apikey_generation".to_string()
        } else {
            "enable_apikey_subscription_validation".to_string()
        }
    });

    let gateway_environments = gateway_environments(inputs);
    let gateway_labels = if d.major >= 4 && cluster.profile.runs_gateway() {
        vec![gateway_environment_name(site, cluster)]
    } else {
        Vec::new()
    };
    let clustering = (d.major < 4 && cluster.shape == Shape::Paired && cluster.nodes.len() > 1)
        .then(|| ClusteringConfig {
            local_member_host: self_address.clone(),
            members: cluster
                .nodes
                .iter()
                .map(|n| {
                    format!(
                        "{}:{}",
                        node_address(site, cluster, n, net),
                        ports::HAZELCAST
                    )
                })
                .collect(),
        });
    let devportal_url = cluster
        .serves_portals()
        .then(|| {
            cluster
                .public_hostname
                .as_ref()
                .map(|h| format!("https://{h}/devportal"))
        })
        .flatten();

    NodeConfig {
        describes: format!(
            "{} (node {} of cluster `{}`, {}, datacenter `{}`), WSO2 API Manager {}",
            node.name, node.index, cluster.name, cluster.profile, site.name, d.version
        ),
        major: d.major,
        version: d.version.clone(),
        hostname,
        server_role: server_role(cluster, d.major).to_string(),
        admin_username: "admin".to_string(),
        admin_password: d.admin_password.reference(),
        databases,
        keystore_password: d.keystore_password.reference(),
        keystore: StoreConfig::of(&d.keystores.keystore),
        truststore: StoreConfig::of(&d.keystores.truststore),
        keystore_alias: d.keystores.alias.clone(),
        encryption_key: d.encryption_key.as_ref().map(SecretEnv::reference),
        key_manager_url,
        event_hub,
        throttling,
        gateway_environments,
        revocation_notify,
        self_signup_handler,
        api_key_setting,
        gateway_labels,
        clustering,
        devportal_url,
        node_ip_from_env: net == Network::Kubernetes,
        behind_load_balancer: cluster.public_hostname.is_some(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deployment::testing::{PAIR, deployment, file};
    use crate::text::templates::Templates;

    /// deployment.toml of a node, rendered and parsed back.
    fn toml_of(d: &Deployment, site: &str, node: &str, net: Network) -> toml::Table {
        let site = d.sites.iter().find(|s| s.name == site).expect(site);
        let (cluster, node) = site
            .clusters
            .iter()
            .find_map(|c| Some((c, c.node(node)?)))
            .unwrap_or_else(|| panic!("no node {node}"));
        let config = node_config(d, site, cluster, node, net);
        let text = Templates::new(None)
            .unwrap()
            .render("wso2/deployment.toml.j2", &config)
            .unwrap();
        text.parse()
            .unwrap_or_else(|e| panic!("{} is not TOML: {e}\n{text}", node.name))
    }

    fn strings(value: &toml::Value) -> Vec<&str> {
        value
            .as_array()
            .unwrap_or_else(|| panic!("not an array: {value}"))
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect()
    }

    #[test]
    fn a_gateway_reaches_its_control_plane_by_host_or_by_service() {
        let d = deployment(PAIR);
        let hosts = toml_of(&d, "main", "gw-1", Network::Hosts);
        assert_eq!(
            hosts["server"]["hostname"].as_str(),
            Some("edge-lb.apim.shop.example")
        );
        assert_eq!(
            hosts["server"]["server_role"].as_str(),
            Some("gateway-worker")
        );
        assert_eq!(
            hosts["apim"]["key_manager"]["service_url"].as_str(),
            Some("https://cp.apim.shop.example:9443/services/")
        );
        assert_eq!(
            strings(&hosts["apim"]["event_hub"]["event_listening_endpoints"]),
            [
                "tcp://cp-1.apim.shop.example:5672",
                "tcp://cp-2.apim.shop.example:5672"
            ]
        );
        let pods = toml_of(&d, "main", "gw-1", Network::Kubernetes);
        assert_eq!(
            pods["apim"]["key_manager"]["service_url"].as_str(),
            Some("https://cp.shop-main.svc:9443/services/")
        );
        assert_eq!(
            strings(&pods["apim"]["event_hub"]["event_listening_endpoints"]),
            [
                "tcp://cp-1.shop-main.svc:5672",
                "tcp://cp-2.shop-main.svc:5672"
            ]
        );
    }

    #[test]
    fn throttle_events_go_to_every_traffic_manager_node_with_the_temporary_one_standing_in() {
        let d = deployment(PAIR);
        let gw = toml_of(&d, "main", "gw-1", Network::Hosts);
        let throttling = &gw["apim"]["throttling"];
        assert_eq!(
            strings(&throttling["throttle_decision_endpoints"]),
            [
                "tcp://cp-1.apim.shop.example:5672",
                "tcp://cp-2.apim.shop.example:5672",
                "tcp://cp-surge.apim.shop.example:5672"
            ]
        );
        let groups = throttling["url_group"].as_array().unwrap();
        assert_eq!(groups.len(), 2, "one group per node");
        for (group, node) in groups.iter().zip(["cp-1", "cp-2"]) {
            assert_eq!(group["type"].as_str(), Some("failover"));
            assert_eq!(
                strings(&group["traffic_manager_urls"]),
                [
                    format!("tcp://{node}.apim.shop.example:9611"),
                    "tcp://cp-surge.apim.shop.example:9611".to_string()
                ]
            );
            assert_eq!(
                strings(&group["traffic_manager_auth_urls"])[0],
                format!("ssl://{node}.apim.shop.example:9711")
            );
        }
    }

    #[test]
    fn the_nodes_of_a_control_plane_pair_hand_each_other_their_events() {
        let d = deployment(PAIR);
        for (node, peer) in [("cp-1", "cp-2"), ("cp-2", "cp-1")] {
            let config = toml_of(&d, "main", node, Network::Hosts);
            let hub = &config["apim"]["event_hub"];
            assert_eq!(
                strings(&hub["event_listening_endpoints"]),
                ["tcp://localhost:5672"],
                "{node} is its own event hub"
            );
            assert_eq!(
                strings(&hub["event_duplicate_url"]),
                [format!("tcp://{peer}.apim.shop.example:5672")],
                "{node}"
            );
            assert_eq!(
                config["server"]["server_role"].as_str(),
                Some("control-plane")
            );
        }
    }

    #[test]
    fn every_password_is_an_environment_reference() {
        let d = file("tests/fixtures/build/hostile.topo");
        let config = toml_of(&d, "on", "null-1", Network::Hosts);
        let mut passwords = Vec::new();
        fn walk<'a>(value: &'a toml::Value, key: &str, out: &mut Vec<&'a str>) {
            match value {
                toml::Value::Table(table) => {
                    for (k, v) in table {
                        walk(v, k, out);
                    }
                }
                toml::Value::Array(items) => {
                    for item in items {
                        walk(item, key, out);
                    }
                }
                toml::Value::String(s) if key.ends_with("password") => out.push(s),
                _ => {}
            }
        }
        let whole = toml::Value::Table(config.clone());
        walk(&whole, "", &mut passwords);
        assert!(passwords.len() > 3, "{passwords:?}");
        for password in passwords {
            assert!(
                password.starts_with("$env{")
                    || password.starts_with("${admin.")
                    || password == "$ref{super_admin.password}",
                "{password}"
            );
        }
        // A user name WSO2 pastes into XML keeps its characters as entities.
        let users: Vec<&str> = config["database"]
            .as_table()
            .unwrap()
            .values()
            .filter_map(|db| db["username"].as_str())
            .collect();
        assert!(users.contains(&"$(touch /tmp/topoc-pwned)"), "{users:?}");
    }

    #[test]
    fn apim_3_pairs_cluster_by_well_known_addresses() {
        let d = file("examples/all-in-one-3.2.topo");
        let site = &d.sites[0];
        let cluster = &site.clusters[0];
        let config = node_config(&d, site, cluster, &cluster.nodes[0], Network::Hosts);
        let clustering = config.clustering.expect("a 3.x pair clusters");
        assert_eq!(clustering.local_member_host, cluster.nodes[0].fqdn);
        let members: Vec<String> = cluster
            .nodes
            .iter()
            .map(|n| format!("{}:{}", n.fqdn, ports::HAZELCAST))
            .collect();
        assert_eq!(clustering.members, members);
        // 4.x nodes do not.
        let d = deployment(PAIR);
        let site = &d.sites[0];
        let cp = &site.clusters[0];
        assert!(
            node_config(&d, site, cp, &cp.nodes[0], Network::Hosts)
                .clustering
                .is_none()
        );
    }

    #[test]
    fn the_server_role_follows_the_profile_and_the_version() {
        let d = file("examples/upgrades.topo");
        for site in &d.sites {
            for cluster in &site.clusters {
                let role = server_role(cluster, d.major);
                if cluster.split_distribution || cluster.profile == Profile::AllInOne {
                    assert_eq!(role, "default");
                } else {
                    assert_ne!(role, "default", "{}", cluster.name);
                }
            }
        }
    }
}
