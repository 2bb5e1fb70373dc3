//! Every node configured as WSO2 configures it: what the built
//! deployment.toml files carry, parsed back, against what WSO2's own
//! configuration for each version and profile carries.

use std::path::Path;

use toml::Value;
use topoc::diagnostics::SeverityConfig;
use topoc::emit::{self, Artifacts, Target};
use topoc::load::DiskFs;

fn render(path: &str) -> Artifacts {
    let checked =
        topoc::check_path(Path::new(path), &DiskFs, &SeverityConfig::default()).expect("loads");
    assert!(!checked.has_errors(), "{path} has errors");
    emit::render(&checked, &Target::ALL, None).expect("builds")
}

fn render_text(name: &str, text: &str) -> Artifacts {
    let checked = topoc::check_text(Path::new(name), text, &DiskFs, &SeverityConfig::default());
    assert!(!checked.has_errors(), "{name}: {:#?}", checked.diagnostics);
    emit::render(&checked, &Target::ALL, None).expect("builds")
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
