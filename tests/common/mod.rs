//! Helpers shared by the integration tests.
#![allow(dead_code)]

use serde_json::Value;
use topoc::emit::Artifacts;

/// Parse back every generated YAML file (all its documents), every
/// deployment.toml and the TOML inside ConfigMaps and Hiera data. Panics
/// naming the file that does not parse.
pub fn parse_back(artifacts: &Artifacts) -> Vec<(String, Value)> {
    let mut parsed = Vec::new();
    for (path, content) in artifacts.iter() {
        if path.ends_with(".yaml") {
            let docs: Vec<Value> = serde_saphyr::from_multiple(content)
                .unwrap_or_else(|e| panic!("{path} is not YAML: {e}\n{content}"));
            assert!(!docs.is_empty(), "{path} is empty");
            for doc in &docs {
                let embedded = doc["data"]["deployment.toml"]
                    .as_str()
                    .or_else(|| doc["apim::deployment_toml"].as_str());
                if let Some(toml) = embedded {
                    toml.parse::<toml::Table>().unwrap_or_else(|e| {
                        panic!("{path}: deployment.toml is not TOML: {e}\n{toml}")
                    });
                }
                parsed.push((path.to_string(), doc.clone()));
            }
        }
        if path.ends_with(".toml") {
            let table: toml::Table = content
                .parse()
                .unwrap_or_else(|e| panic!("{path} is not TOML: {e}\n{content}"));
            parsed.push((path.to_string(), serde_json::to_value(table).unwrap()));
        }
    }
    parsed
}

/// A string as a `.topo` string literal.
pub fn topo_string(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
