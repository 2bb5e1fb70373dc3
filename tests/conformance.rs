//! Every node configured as WSO2 configures it: what the built
//! deployment.toml files carry, parsed back, against what WSO2's own
//! configuration for each version and profile carries.

use std::path::Path;

use toml::Value;
use topoc::diagnostics::SeverityConfig;
use topoc::emit::{Artifacts, Target};
use topoc::load::DiskFs;

fn render(path: &str) -> Artifacts {
    let checked =
        topoc::check_path(Path::new(path), &DiskFs, &SeverityConfig::default()).expect("loads");
    assert!(!checked.has_errors(), "{path} has errors");
    topoc::build::render(&checked, &Target::ALL, None).expect("builds")
}

fn render_text(name: &str, text: &str) -> Artifacts {
    let checked = topoc::check_text(Path::new(name), text, &DiskFs, &SeverityConfig::default());
    assert!(!checked.has_errors(), "{name}: {:#?}", checked.diagnostics);
    topoc::build::render(&checked, &Target::ALL, None).expect("builds")
}

/// The Compose deployment.toml of a node, parsed.
fn node_toml(artifacts: &Artifacts, site: &str, node: &str) -> toml::Table {
    let path = format!("compose/{site}/config/{node}/deployment.toml");
    artifacts
        .get(&path)
        .unwrap_or_else(|| panic!("no {path}"))
        .parse()
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn get<'a>(table: &'a toml::Table, dotted: &str) -> Option<&'a Value> {
    let mut parts = dotted.split('.');
    let mut value = table.get(parts.next()?)?;
    for part in parts {
        value = value.get(part)?;
    }
    Some(value)
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn listener(table: &toml::Table) -> Option<&toml::Table> {
    get(table, "event_listener")?
        .as_array()?
        .iter()
        .filter_map(Value::as_table)
        .find(|l| l.get("id").and_then(Value::as_str) == Some("token_revocation"))
}

/// APIM 3.2's config mapper (1.0.2) leaves `$env{...}` unresolved inside
/// arrays of tables: the gateway environment names the realm's admin the
/// way WSO2's own 3.2 configuration does.
#[test]
fn gateway_environments_use_the_realm_admin() {
    let artifacts = render("examples/all-in-one-3.2.topo");
    for node in ["apim-1", "apim-2", "apim-surge"] {
        let toml = node_toml(&artifacts, "main", node);
        let environments = get(&toml, "apim.gateway.environment")
            .and_then(Value::as_array)
            .expect("gateway environments");
        for environment in environments {
            assert_eq!(environment["username"].as_str(), Some("${admin.username}"));
            assert_eq!(environment["password"].as_str(), Some("${admin.password}"));
        }
    }
}

/// Control planes, all-in-one nodes and key managers announce revoked
/// tokens (`ApimOauthEventInterceptor`) and give self-signed-up users
/// their role (`userPostSelfRegistration`); a control plane notifies
/// itself, a key manager its event hub.
#[test]
fn revocations_are_announced_and_sign_ups_get_their_role() {
    let artifacts = render("examples/multi-datacenter.topo");
    let cases = [
        (
            "colombo",
            "control-plane-1",
            "https://localhost:${mgt.transport.https.port}/internal/data/v1/notify",
        ),
        (
            "london",
            "key-manager-1",
            "https://traffic-manager-london.london.apim.telco.example:9443/internal/data/v1/notify",
        ),
    ];
    for (site, node, endpoint) in cases {
        let toml = node_toml(&artifacts, site, node);
        let listener = listener(&toml).unwrap_or_else(|| panic!("{node}: no listener"));
        assert_eq!(
            listener["name"].as_str(),
            Some("org.wso2.is.notification.ApimOauthEventInterceptor")
        );
        let properties = listener["properties"].as_table().unwrap();
        assert_eq!(
            properties["notification_endpoint"].as_str(),
            Some(endpoint),
            "{node}"
        );
        assert_eq!(properties["password"].as_str(), Some("${admin.password}"));
        let handlers = get(&toml, "event_handler")
            .and_then(Value::as_array)
            .unwrap();
        assert_eq!(
            handlers[0]["name"].as_str(),
            Some("userPostSelfRegistration")
        );
        assert_eq!(strings(handlers[0].get("subscriptions")), ["POST_ADD_USER"]);
    }
    for (site, node) in [("colombo", "gateway-1"), ("colombo", "traffic-manager-1")] {
        let toml = node_toml(&artifacts, site, node);
        assert!(listener(&toml).is_none(), "{node}");
        assert!(get(&toml, "event_handler").is_none(), "{node}");
    }
}

/// An all-in-one pair listens for throttle decisions on its own broker and
/// hands its events to its peer's (helm-apim's HA all-in-one); both nodes
/// count every request.
#[test]
fn all_in_one_pairs_name_each_other() {
    let artifacts = render("examples/all-in-one-3.2.topo");
    for (node, peer) in [("apim-1", "apim-2"), ("apim-2", "apim-1")] {
        let toml = node_toml(&artifacts, "main", node);
        assert_eq!(
            strings(get(&toml, "apim.throttling.event_duplicate_url")),
            [format!("tcp://{peer}.apim.bookshop.example:5672")]
        );
        assert_eq!(
            strings(get(&toml, "apim.throttling.throttle_decision_endpoints")),
            ["tcp://localhost:5672"]
        );
    }
}

/// The encryption key is used only by the symmetric crypto provider.
#[test]
fn the_encryption_key_is_symmetric() {
    let artifacts = render("examples/distributed-4.x.topo");
    let toml = node_toml(&artifacts, "frankfurt", "gateway-1");
    assert_eq!(
        get(&toml, "encryption.type").and_then(Value::as_str),
        Some("symmetric")
    );
    assert_eq!(
        get(&toml, "encryption.key").and_then(Value::as_str),
        Some("$env{APIM_ENCRYPTION_KEY}")
    );
}

fn all_in_one_at(version: &str) -> String {
    let example = std::fs::read_to_string("examples/all-in-one-3.2.topo").unwrap();
    let text = example
        .replace("version = \"3.2.0\"", &format!("version = \"{version}\""))
        .replace(
            "  file_share deployment {\n    method = rsync\n    interval = 1min\n  }\n",
            "",
        )
        .replace("    file_share = deployment\n", "")
        .replace("    manager = 1\n", "");
    assert_ne!(text, example);
    text
}

/// A 4.x all-in-one validates API keys against subscriptions, with the
/// switch of its version: `enable_apikey_subscription_validation` up to
/// 4.3, `enable_lightweight_apikey_generation` from 4.4.
#[test]
fn all_in_one_api_keys_honour_subscriptions() {
    for (version, key) in [
        ("4.2.0", "enable_apikey_subscription_validation"),
        ("4.3.0", "enable_apikey_subscription_validation"),
        ("4.5.0", "enable_lightweight_apikey_generation"),
    ] {
        let artifacts = render_text("aio.topo", &all_in_one_at(version));
        let toml = node_toml(&artifacts, "main", "apim-1");
        let key_manager = get(&toml, "apim.key_manager").and_then(Value::as_table);
        assert_eq!(
            key_manager
                .and_then(|k| k.get(key))
                .and_then(Value::as_bool),
            Some(true),
            "{version}: {key_manager:?}"
        );
        assert_eq!(key_manager.map(|k| k.len()), Some(1), "{version}");
    }
    let artifacts = render("examples/all-in-one-3.2.topo");
    let toml = node_toml(&artifacts, "main", "apim-1");
    assert!(get(&toml, "apim.key_manager").is_none());
}

fn multi_datacenter_at(version: &str) -> Artifacts {
    let example = std::fs::read_to_string("examples/multi-datacenter.topo").unwrap();
    let text = example.replace("version = \"4.2.0\"", &format!("version = \"{version}\""));
    assert_ne!(text, example);
    render_text("multi-datacenter.topo", &text)
}

fn yaml_docs(artifacts: &Artifacts, path: &str) -> Vec<serde_json::Value> {
    serde_saphyr::from_multiple(artifacts.get(path).unwrap_or_else(|| panic!("no {path}")))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn hiera(artifacts: &Artifacts, host: &str) -> serde_json::Value {
    let path = format!("puppet/data/nodes/{host}.yaml");
    serde_saphyr::from_str(artifacts.get(&path).unwrap_or_else(|| panic!("no {path}")))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The main container of a Kubernetes Deployment: its environment by name
/// and its arguments.
fn container(doc: &serde_json::Value) -> (Vec<(String, String)>, Vec<String>) {
    let main = &doc["spec"]["template"]["spec"]["containers"][0];
    let env = main["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_string(),
                e["value"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let args = main["args"]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    (env, args)
}

/// The 4.5 split distributions key their settings on `server_role =
/// "default"` only (their infer.json and shipped deployment.toml files).
#[test]
fn the_4_5_distributions_run_as_default() {
    let artifacts = multi_datacenter_at("4.5.0");
    for (site, node) in [
        ("colombo", "control-plane-1"),
        ("colombo", "gateway-1"),
        ("colombo", "traffic-manager-1"),
        ("london", "key-manager-1"),
    ] {
        let toml = node_toml(&artifacts, site, node);
        assert_eq!(
            get(&toml, "server.server_role").and_then(Value::as_str),
            Some("default"),
            "{node}"
        );
    }
    let artifacts = multi_datacenter_at("4.4.0");
    let toml = node_toml(&artifacts, "london", "key-manager-1");
    assert_eq!(
        get(&toml, "server.server_role").and_then(Value::as_str),
        Some("control-plane")
    );
}

/// A 4.5 key manager is the control plane prepared once with
/// `profileSetup.sh -Dprofile=key-manager` and started with
/// `key-manager.sh`, never with a runtime `-Dprofile` (the ACP has no such
/// OSGi profile): `PROFILE_NAME` for WSO2's image, which does both, and a
/// one-time setup before `bin/key-manager.sh` on Puppet hosts. 4.3 and 4.4
/// prepare and start `api-key-manager-node`.
#[test]
fn key_managers_start_as_wso2_starts_them() {
    for (version, profile, launcher, profile_arg) in [
        ("4.5.0", "key-manager", "bin/key-manager.sh", ""),
        (
            "4.3.0",
            "api-key-manager-node",
            "bin/api-manager.sh",
            "-Dprofile=api-key-manager-node",
        ),
    ] {
        let artifacts = multi_datacenter_at(version);
        let docs = yaml_docs(&artifacts, "kubernetes/london/22-key-manager.yaml");
        let deployment = docs
            .iter()
            .find(|d| d["kind"] == "Deployment")
            .expect("a Deployment");
        let (env, args) = container(deployment);
        assert!(
            env.contains(&("PROFILE_NAME".to_string(), profile.to_string())),
            "{version}: {env:?}"
        );
        assert!(args.is_empty(), "{version}: {args:?}");

        let compose = yaml_docs(&artifacts, "compose/london/compose.yaml");
        let service = &compose[0]["services"]["key-manager-1"];
        assert_eq!(service["environment"]["PROFILE_NAME"], profile, "{version}");
        assert!(
            service["command"].as_array().is_none_or(|c| c.is_empty()),
            "{version}: {}",
            service["command"]
        );

        let node = hiera(&artifacts, "key-manager-1.london.apim.telco.example");
        assert_eq!(node["apim::profile_setup"], profile, "{version}");
        assert_eq!(node["apim::launcher"], launcher, "{version}");
        assert_eq!(node["apim::profile_arg"], profile_arg, "{version}");
        let all = artifacts.iter().map(|(_, c)| c).collect::<String>();
        assert!(!all.contains("-Dprofile=key-manager"), "{version}");
    }
    // The other profiles keep their runtime profile (4.2 has no key
    // manager profile of its own: the control plane's).
    let artifacts = render("examples/multi-datacenter.topo");
    let node = hiera(&artifacts, "key-manager-1.london.apim.telco.example");
    assert_eq!(node["apim::profile_setup"], "");
    assert_eq!(node["apim::profile_arg"], "-Dprofile=control-plane");
}

/// APIM 3.x with rsync: the manager's `rsync --delete` removes what the
/// other nodes wrote, so throttling policies (Siddhi execution plans) are
/// deployed on the manager, like APIs.
#[test]
fn policies_are_deployed_on_the_rsync_manager() {
    let artifacts = render("examples/all-in-one-3.2.topo");
    for host in [
        "apim-1.apim.bookshop.example",
        "apim-2.apim.bookshop.example",
        "apim-surge.apim.bookshop.example",
    ] {
        let node = hiera(&artifacts, host);
        assert_eq!(node["apim::share_method"], "rsync");
        let toml: toml::Table = node["apim::deployment_toml"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let manager = "https://apim-1.apim.bookshop.example:9443/services/";
        assert_eq!(
            get(&toml, "apim.throttling.service_url").and_then(Value::as_str),
            Some(manager),
            "{host}"
        );
        let environments = get(&toml, "apim.gateway.environment")
            .and_then(Value::as_array)
            .unwrap();
        assert_eq!(environments[0]["service_url"].as_str(), Some(manager));
    }
}

/// The temporary traffic manager of a runbook is every URL group's
/// failover receiver and the last decision endpoint where it is a node of
/// its own (Compose, Puppet), so it counts requests and decides while it
/// stands in; on Kubernetes the surge pod sits behind the node's Service.
#[test]
fn the_temporary_traffic_manager_stands_in_for_throttling() {
    let artifacts = render("examples/distributed-4.x.topo");
    let surge = "traffic-manager-surge.apim.payments.example";
    let toml = node_toml(&artifacts, "frankfurt", "gateway-1");
    let groups = get(&toml, "apim.throttling.url_group")
        .and_then(Value::as_array)
        .unwrap();
    assert_eq!(groups.len(), 2);
    for (i, group) in groups.iter().enumerate() {
        assert_eq!(group["type"].as_str(), Some("failover"));
        assert_eq!(
            strings(group.get("traffic_manager_urls")),
            [
                format!("tcp://traffic-manager-{}.apim.payments.example:9611", i + 1),
                format!("tcp://{surge}:9611")
            ]
        );
        assert_eq!(
            strings(group.get("traffic_manager_auth_urls")).last(),
            Some(&format!("ssl://{surge}:9711"))
        );
    }
    assert_eq!(
        strings(get(&toml, "apim.throttling.throttle_decision_endpoints")).last(),
        Some(&format!("tcp://{surge}:5672"))
    );

    let docs = yaml_docs(&artifacts, "kubernetes/frankfurt/24-gateway.yaml");
    let config = docs
        .iter()
        .find_map(|d| d["data"]["deployment.toml"].as_str())
        .unwrap();
    let toml: toml::Table = config.parse().unwrap();
    let groups = get(&toml, "apim.throttling.url_group")
        .and_then(Value::as_array)
        .unwrap();
    // On Kubernetes the traffic manager pair's temporary node is a
    // Deployment and Service of its own: it stands in the same way.
    let surge = "traffic-manager-surge.payments-frankfurt.svc";
    for (i, group) in groups.iter().enumerate() {
        assert_eq!(group["type"].as_str(), Some("failover"));
        assert_eq!(
            strings(group.get("traffic_manager_urls")),
            [
                format!(
                    "tcp://traffic-manager-{}.payments-frankfurt.svc:9611",
                    i + 1
                ),
                format!("tcp://{surge}:9611")
            ]
        );
    }
}

const LONDON_HUB: [&str; 2] = [
    "traffic-manager-london-1.london.apim.telco.example",
    "traffic-manager-london-2.london.apim.telco.example",
];

/// What a relay's files say: for each event hub node, the broker of its
/// JNDI connection (a config mapper template that takes the admin's
/// credentials from deployment.toml) and the streams relayed to it.
fn relay_wiring(files: &[(String, String)]) -> Vec<(String, Vec<String>)> {
    let mut wiring = Vec::new();
    for (path, content) in files {
        let Some(name) = path
            .strip_prefix("repository/resources/conf/templates/repository/conf/")
            .and_then(|n| n.strip_suffix(".properties.j2"))
        else {
            continue;
        };
        let line = content
            .lines()
            .find_map(|l| l.strip_prefix("connectionfactory.TopicConnectionFactory = "))
            .unwrap_or_else(|| panic!("{path}: no connection factory"));
        assert!(
            line.starts_with("amqp://{{super_admin.username}}:{{super_admin.password}}@"),
            "{path}: {line}"
        );
        let broker = line
            .split("brokerlist='")
            .nth(1)
            .and_then(|b| b.split('?').next())
            .unwrap()
            .to_string();
        // Every publisher that names this connection, read from its XML.
        let jndi = format!("repository/conf/{name}.properties");
        let mut topics = Vec::new();
        for (path, content) in files {
            if !path.starts_with("repository/deployment/server/eventpublishers/") {
                continue;
            }
            let property = |key: &str| {
                let open = format!("<property name=\"{key}\">");
                let start = content.find(&open).map(|i| i + open.len())?;
                let end = content[start..].find("</property>")? + start;
                Some(content[start..end].to_string())
            };
            assert!(content.starts_with("<?xml version=\"1.0\""), "{path}");
            if property("java.naming.provider.url").as_deref() == Some(jndi.as_str()) {
                topics.push(property("transport.jms.Destination").unwrap());
            }
        }
        topics.sort();
        wiring.push((broker, topics));
    }
    wiring.sort();
    wiring
}

fn relayed_topics() -> Vec<String> {
    let mut topics: Vec<String> = [
        "notification",
        "tokenRevocation",
        "keyManager",
        "throttleData",
        "asyncWebhooksData",
    ]
    .iter()
    .map(|t| t.to_string())
    .collect();
    topics.sort();
    topics
}

fn expected_relay() -> Vec<(String, Vec<String>)> {
    LONDON_HUB
        .iter()
        .map(|h| (format!("tcp://{h}:5672"), relayed_topics()))
        .collect()
}

/// A read-only datacenter's traffic managers are its event hub: its
/// gateways and key managers listen to their brokers and the traffic
/// managers to their own; every node waits `replication_lag` before
/// acting on an event.
#[test]
fn a_read_only_datacenter_listens_to_its_own_event_hub() {
    let artifacts = render("examples/multi-datacenter.topo");
    let hub = "https://traffic-manager-london.london.apim.telco.example:9443/services/";
    let brokers: Vec<String> = LONDON_HUB
        .iter()
        .map(|h| format!("tcp://{h}:5672"))
        .collect();
    for node in ["gateway-london-1", "key-manager-1"] {
        let toml = node_toml(&artifacts, "london", node);
        assert_eq!(
            get(&toml, "apim.event_hub.service_url").and_then(Value::as_str),
            Some(hub),
            "{node}"
        );
        assert_eq!(
            strings(get(&toml, "apim.event_hub.event_listening_endpoints")),
            brokers,
            "{node}"
        );
        assert_eq!(
            get(&toml, "apim.event_hub.event_waiting_time").and_then(Value::as_integer),
            Some(10_000)
        );
    }
    let toml = node_toml(&artifacts, "london", "traffic-manager-london-1");
    assert_eq!(
        strings(get(&toml, "apim.event_hub.event_listening_endpoints")),
        ["tcp://localhost:5672"]
    );
    assert!(get(&toml, "apim.event_hub.event_duplicate_url").is_none());
    // The primary's own nodes act on events at once.
    let toml = node_toml(&artifacts, "colombo", "gateway-1");
    assert!(get(&toml, "apim.event_hub.event_waiting_time").is_none());
}

/// The primary's control planes (and their copies on the
/// disaster-recovery site) relay every event stream to each broker of
/// london's event hub: Compose mounts the files into the config volume.
#[test]
fn compose_relays_from_the_primary_control_planes() {
    let artifacts = render("examples/multi-datacenter.topo");
    for (site, node) in [
        ("colombo", "control-plane-1"),
        ("colombo", "control-plane-2"),
        ("singapore", "control-plane-1"),
    ] {
        let prefix = format!("compose/{site}/config/{node}/");
        let files: Vec<(String, String)> = artifacts
            .iter()
            .filter_map(|(path, content)| {
                let rest = path.strip_prefix(&prefix)?;
                (rest != "deployment.toml").then(|| (rest.to_string(), content.to_string()))
            })
            .collect();
        assert_eq!(relay_wiring(&files), expected_relay(), "{site}/{node}");
        let compose = yaml_docs(&artifacts, &format!("compose/{site}/compose.yaml"));
        let mounts = compose[0]["services"][node]["volumes"].as_array().unwrap();
        for (path, _) in &files {
            assert!(
                mounts.iter().any(|m| {
                    m["source"] == format!("./config/{node}/{path}")
                        && m["target"] == format!("/home/wso2carbon/wso2-config-volume/{path}")
                        && m["read_only"] == true
                }),
                "{site}/{node}: {path} is not mounted"
            );
        }
    }
    // Nothing else relays.
    for (path, _) in artifacts.iter() {
        if path.contains("/eventpublishers/") {
            assert!(path.contains("/control-plane-"), "{path}");
        }
    }
}

/// Kubernetes: the relay's files are keys of the control plane's
/// ConfigMap, each mounted at its path in the config volume.
#[test]
fn kubernetes_relays_from_the_primary_control_planes() {
    let artifacts = render("examples/multi-datacenter.topo");
    let docs = yaml_docs(&artifacts, "kubernetes/colombo/21-control-plane.yaml");
    for node in ["control-plane-1", "control-plane-2"] {
        let config = docs
            .iter()
            .find(|d| d["kind"] == "ConfigMap" && d["metadata"]["name"] == format!("{node}-config"))
            .unwrap();
        let deployment = docs
            .iter()
            .find(|d| d["kind"] == "Deployment" && d["metadata"]["name"] == node)
            .unwrap();
        let pod = &deployment["spec"]["template"]["spec"];
        let items = pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == "config")
            .unwrap()["configMap"]["items"]
            .as_array()
            .unwrap()
            .clone();
        let mounts = pod["containers"][0]["volumeMounts"].as_array().unwrap();
        let mut files = Vec::new();
        for (key, content) in config["data"].as_object().unwrap() {
            if key == "deployment.toml" {
                continue;
            }
            assert!(items.iter().any(|i| i["key"] == *key && i["path"] == *key));
            let mount = mounts
                .iter()
                .find(|m| m["subPath"] == *key)
                .unwrap_or_else(|| panic!("{node}: {key} is not mounted"));
            let path = mount["mountPath"]
                .as_str()
                .unwrap()
                .strip_prefix("/home/wso2carbon/wso2-config-volume/")
                .unwrap()
                .to_string();
            files.push((path, content.as_str().unwrap().to_string()));
        }
        assert_eq!(relay_wiring(&files), expected_relay(), "{node}");
    }
}

/// Puppet: the relay's files are Hiera data of the control plane's host,
/// written under the product folder.
#[test]
fn puppet_relays_from_the_primary_control_planes() {
    let artifacts = render("examples/multi-datacenter.topo");
    for host in [
        "control-plane-1.colombo.apim.telco.example",
        "control-plane-2.colombo.apim.telco.example",
        "control-plane-1.singapore.apim.telco.example",
    ] {
        let node = hiera(&artifacts, host);
        let files: Vec<(String, String)> = node["apim::product_files"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        assert_eq!(relay_wiring(&files), expected_relay(), "{host}");
    }
    let gateway = hiera(&artifacts, "gateway-1.colombo.apim.telco.example");
    assert_eq!(gateway["apim::product_files"], serde_json::json!({}));
    let config = artifacts
        .get("puppet/modules/apim/manifests/config.pp")
        .unwrap();
    assert!(config.contains("$apim::product_files.each |$path, $content|"));
}

/// The bound is stated where the operator reads it.
#[test]
fn the_staleness_bound_is_stated() {
    let artifacts = render("examples/multi-datacenter.topo");
    let readme = artifacts.get("README.md").unwrap();
    assert!(
        readme.contains("`london` serves a change made in `colombo`"),
        "{readme}"
    );
    for host in LONDON_HUB {
        assert!(readme.contains(&format!("`{host}:5672`")), "{host}");
    }
    let runbook = artifacts.get("runbooks/quarterly_patch.md").unwrap();
    assert!(runbook.contains("## Read-only datacenters"));
    assert!(runbook.contains("about 10s after it is made"));
    let failover = artifacts.get("runbooks/failover/singapore.md").unwrap();
    assert!(failover.contains("the control planes of `singapore` relay in place of `colombo`'s"));
}

/// WSO2 pastes a datasource's user into master-datasources.xml unescaped:
/// its XML characters are written as entities, which the XML parser reads
/// back as they were.
#[test]
fn datasource_users_reach_the_xml_as_wso2_reads_them() {
    let example = std::fs::read_to_string("examples/distributed-4.x.topo").unwrap();
    let text = example.replacen("user = \"apim\"", "user = \"apim&<ops>\"", 1);
    assert_ne!(text, example);
    let artifacts = render_text("users.topo", &text);
    let toml = node_toml(&artifacts, "frankfurt", "control-plane-1");
    let databases = get(&toml, "database").and_then(Value::as_table).unwrap();
    let users: Vec<&str> = databases
        .values()
        .filter_map(|db| db["username"].as_str())
        .collect();
    assert!(users.contains(&"apim&amp;&lt;ops&gt;"), "{users:?}");
}

/// The secrets' alphabet is stated where the secrets are listed.
#[test]
fn the_secret_alphabet_is_stated() {
    let artifacts = render("examples/all-in-one-3.2.topo");
    let readme = artifacts.get("README.md").unwrap();
    assert!(readme.contains("(`[A-Za-z0-9._~-]`)"), "{readme}");
}
