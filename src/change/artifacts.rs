//! The artifacts both sides of a change build, compared: the files that
//! are added, removed or changed per target (for the review), and, per
//! cluster, whether what its nodes run changes (their Kubernetes objects,
//! Compose service and configuration files, Puppet Hiera data). Images are
//! compared without their tags: a new update level is a patch of every
//! node, reported as such.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::Checked;
use crate::deployment::layout::puppet_node_data;
use crate::emit::{Artifacts, BuildError, Target};

/// The targets a change is reviewed on.
pub const TARGETS: [Target; 3] = [Target::Kubernetes, Target::Compose, Target::Puppet];

/// How a file of the build changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileChange {
    Added,
    Removed,
    Changed,
}

/// One file of a target's build that the change adds, removes or changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArtifactChange {
    pub target: &'static str,
    pub path: String,
    pub change: FileChange,
}

fn target_name(path: &str) -> Option<&'static str> {
    match path.split('/').next()? {
        "kubernetes" | "docker" => Some("kubernetes"),
        "compose" => Some("compose"),
        "puppet" => Some("puppet"),
        _ => None,
    }
}

fn build(checked: &Checked) -> Result<Artifacts, BuildError> {
    crate::build::render(checked, &TARGETS, None)
}

/// The files of the targets that differ between the two builds, by target
/// and path.
pub fn changed_files(old: &Checked, new: &Checked) -> Result<Vec<ArtifactChange>, BuildError> {
    let (old, new) = (build(old)?, build(new)?);
    let mut out = Vec::new();
    for (path, content) in new.iter() {
        let Some(target) = target_name(path) else {
            continue;
        };
        let change = match old.get(path) {
            None => FileChange::Added,
            Some(before) if before != content => FileChange::Changed,
            Some(_) => continue,
        };
        out.push(ArtifactChange {
            target,
            path: path.to_string(),
            change,
        });
    }
    for path in old.paths() {
        if let Some(target) = target_name(path)
            && new.get(path).is_none()
        {
            out.push(ArtifactChange {
                target,
                path: path.to_string(),
                change: FileChange::Removed,
            });
        }
    }
    out.sort_by(|a, b| (a.target, &a.path).cmp(&(b.target, &b.path)));
    Ok(out)
}

/// What a cluster's nodes run, per part (`kubernetes Deployment gateway`,
/// `compose service gateway-1`, ...), as canonical text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fingerprint {
    parts: BTreeMap<String, String>,
}

impl Fingerprint {
    /// The parts present on both sides that differ.
    pub fn changed_in(&self, other: &Fingerprint) -> Vec<String> {
        self.parts
            .iter()
            .filter(|(part, text)| other.parts.get(*part).is_some_and(|t| t != *text))
            .map(|(part, _)| part.clone())
            .collect()
    }
}

/// An image reference without its tag or digest.
fn untagged(image: &str) -> String {
    let image = image.split('@').next().unwrap_or(image);
    match image.rsplit_once(':') {
        Some((repository, tag)) if !tag.contains('/') => repository.to_string(),
        _ => image.to_string(),
    }
}

/// A value with every `image` untagged, a Deployment's replica count and
/// every `checksum/...` annotation left out (they follow from the rest).
fn canonical(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(image)) = map.get_mut("image") {
                *image = untagged(image);
            }
            map.remove("replicas");
            if let Some(Value::Object(annotations)) = map.get_mut("annotations") {
                annotations.retain(|k, _| !k.starts_with("checksum/"));
            }
            for v in map.values_mut() {
                canonical(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(canonical),
        _ => {}
    }
}

fn documents(text: &str) -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(text)
        .unwrap_or_default()
        .into_iter()
        .collect()
}

/// Every cluster's fingerprint, by datacenter and cluster name.
pub fn cluster_fingerprints(
    checked: &Checked,
) -> Result<BTreeMap<(String, String), Fingerprint>, BuildError> {
    let built = build(checked)?;
    let deployment = crate::deployment::plan(&checked.topology);
    let mut out = BTreeMap::new();
    let common = built.get("puppet/data/common.yaml").unwrap_or_default();
    for site in &deployment.sites {
        let compose: Value = built
            .get(&site.compose_file())
            .map(|text| documents(text).into_iter().next().unwrap_or(Value::Null))
            .unwrap_or(Value::Null);
        for cluster in &site.clusters {
            let mut print = Fingerprint::default();
            if let Some(text) = built.get(&site.kubernetes_manifest(cluster)) {
                for mut doc in documents(text) {
                    canonical(&mut doc);
                    let kind = doc["kind"].as_str().unwrap_or("object").to_string();
                    // What the pods run; a budget or a Service follows
                    // from the node count, not from a node's configuration.
                    if !matches!(kind.as_str(), "Deployment" | "ConfigMap") {
                        continue;
                    }
                    let name = doc["metadata"]["name"].as_str().unwrap_or("").to_string();
                    print
                        .parts
                        .insert(format!("kubernetes {kind} {name}"), doc.to_string());
                }
            }
            for node in &cluster.nodes {
                let mut service = compose["services"][&node.name].clone();
                if !service.is_null() {
                    canonical(&mut service);
                    print.parts.insert(
                        format!("compose service {}", node.name),
                        service.to_string(),
                    );
                }
                let config = format!("{}/config/{}/", site.compose_dir(), node.name);
                let files: String = built
                    .iter()
                    .filter(|(path, _)| path.starts_with(&config))
                    .map(|(path, text)| format!("{path}\n{text}\n"))
                    .collect();
                if !files.is_empty() {
                    print
                        .parts
                        .insert(format!("compose configuration of {}", node.name), files);
                }
                if let Some(data) = built.get(&puppet_node_data(&node.fqdn)) {
                    let mut value = documents(data).into_iter().next().unwrap_or(Value::Null);
                    canonical(&mut value);
                    print.parts.insert(
                        format!("puppet data of {}", node.fqdn),
                        format!("{value}\n{common}"),
                    );
                }
            }
            out.insert((site.name.clone(), cluster.name.clone()), print);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_lose_their_tags_and_replicas_their_count() {
        let mut value: Value = serde_json::json!({
            "spec": {"replicas": 3, "template": {"metadata": {"annotations": {"checksum/config": "x", "keep": "y"}},
            "spec": {"containers": [{"image": "registry:5000/wso2/wso2am:4.2.0.12"}]}}}
        });
        canonical(&mut value);
        assert_eq!(
            value,
            serde_json::json!({
                "spec": {"template": {"metadata": {"annotations": {"keep": "y"}},
                "spec": {"containers": [{"image": "registry:5000/wso2/wso2am"}]}}}
            })
        );
        assert_eq!(untagged("wso2/wso2am@sha256:abc"), "wso2/wso2am");
    }
}
