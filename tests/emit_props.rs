//! Property tests: arbitrary names and strings go through every emitter and
//! come back intact from the generated YAML, TOML, Puppet and shell.

mod common;

use std::path::Path;
use std::process::Command;

use proptest::prelude::*;
use topoc::diagnostics::SeverityConfig;
use topoc::emit::Target;
use topoc::load::DiskFs;
use topoc::text::escape::{puppet_string, shell_word, toml_string};

/// Undo Puppet's single-quoted string escapes (`\\` and `\'`).
fn puppet_unquote(text: &str) -> String {
    let inner = &text[1..text.len() - 1];
    let mut out = String::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && matches!(chars.peek(), Some('\\') | Some('\'')) {
            out.push(chars.next().unwrap());
        } else {
            out.push(c);
        }
    }
    out
}

/// Identifiers that YAML and other formats treat specially.
/// What an XML parser reads from text with the predefined entities.
fn xml_unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "yes", "no", "on", "off", "null", "true", "false", "y", "n", "nan", "inf", "x0x1f"
        ])
        .prop_map(String::from),
        "[a-z][a-z0-9_]{0,12}",
    ]
}

fn topology(names: &[String], database: &str, user: &str, region: &str, window: &str) -> String {
    let s = common::topo_string;
    let control_plane = format!("{}_cp", names[3]);
    let gateway = format!("{}_gw", names[3]);
    format!(
        r#"topology {t} {{
  version = "4.2.0"
  peak_load = 1000rps
  allow = ["DS004"]
}}
datacenter {dc} {{
  role = primary
  region = {region}
  domain = "apim.example.com"
  datasource {a}_db {{ purpose = apim engine = mysql host = "db.example.com" database = {database} user = {user} }}
  datasource {a}_shared {{ purpose = shared engine = postgres host = "db.example.com" database = {database} user = {user} }}
  cluster {c} {{
    profile = control-plane
    nodes = 2
    ha = active-passive
    node_capacity = 1000rps
    datasources = [{a}_db, {a}_shared]
  }}
  cluster {g} {{
    profile = gateway-worker
    nodes = 2
    ha = active-active
    node_capacity = 800rps
    datasources = [{a}_shared]
  }}
  load_balancer {a} {{ fronts = [{g}] }}
}}
upgrade {a} {{ kind = patch window = {window} }}
"#,
        t = names[0],
        dc = names[1],
        a = names[2],
        c = control_plane,
        g = gateway,
        region = s(region),
        database = s(database),
        user = s(user),
        window = s(window),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_survive_every_target(
        names in prop::collection::vec(name(), 4),
        database in "\\PC{0,40}",
        user in "\\PC{0,40}",
        region in "\\PC{0,40}",
        window in "\\PC{0,40}",
    ) {
        let text = topology(&names, &database, &user, &region, &window);
        let checked = topoc::check_text(Path::new("p.topo"), &text, &DiskFs, &SeverityConfig::default());
        prop_assume!(!checked.has_errors());
        let artifacts = topoc::build::render(&checked, &Target::ALL, None).expect("builds");
        let parsed = common::parse_back(&artifacts);
        prop_assert!(!parsed.is_empty());
        // The user name comes back intact from every deployment.toml, as
        // WSO2's XML reads it (its XML characters as entities; DS004, which
        // refuses what no escaping carries, is allowed here).
        let mut seen = 0;
        for (path, value) in &parsed {
            if path.ends_with("deployment.toml") {
                let written = value["database"]["shared_db"]["username"].as_str().unwrap_or_default();
                prop_assert_eq!(xml_unescape(written), user.as_str());
                seen += 1;
            }
        }
        prop_assert!(seen >= 4);
    }

    #[test]
    fn toml_strings_round_trip(value in "\\PC*") {
        let table: toml::Table = format!("k = {}", toml_string(&value)).parse().unwrap();
        prop_assert_eq!(table["k"].as_str(), Some(value.as_str()));
    }

    #[test]
    fn yaml_strings_round_trip(key in "\\PC{0,20}", value in "\\PC*") {
        let map = std::collections::BTreeMap::from([(key.clone(), value.clone())]);
        let yaml = serde_saphyr::to_string(&map).unwrap();
        let back: std::collections::BTreeMap<String, String> = serde_saphyr::from_str(&yaml).unwrap();
        prop_assert_eq!(back, map);
    }

    #[test]
    fn puppet_strings_round_trip(value in "\\PC*") {
        prop_assert_eq!(puppet_unquote(&puppet_string(&value)), value);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// A shell word is never expanded: the real shell prints it back as is.
    #[test]
    fn shell_words_are_never_expanded(value in "[^\\x00]{0,40}") {
        let script = format!("printf %s {}", shell_word(&value));
        let output = Command::new("sh").arg("-c").arg(&script).output().expect("sh runs");
        prop_assert!(output.status.success());
        prop_assert_eq!(String::from_utf8_lossy(&output.stdout), value.as_str());
    }
}
