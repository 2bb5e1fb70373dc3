//! HA and safety audit of the generated Kubernetes manifests, per
//! datacenter, on every example and on the hostile fixture: probes,
//! resources, non-root, pinned images, disruption budgets that select pods
//! (and pods that have one), spread, Services that reach a container port,
//! config checksums, and no plain-text password in a ConfigMap.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use topoc::diagnostics::SeverityConfig;
use topoc::emit::Target;
use topoc::load::DiskFs;

fn selects(selector: &Value, labels: &Value) -> bool {
    let Some(wanted) = selector["matchLabels"].as_object() else {
        return false;
    };
    !wanted.is_empty() && wanted.iter().all(|(k, v)| &labels[k] == v)
}

fn audit(docs: &[Value]) -> Vec<String> {
    let mut findings = Vec::new();
    let workloads: Vec<&Value> = docs.iter().filter(|d| d["kind"] == "Deployment").collect();
    let pdbs: Vec<&Value> = docs
        .iter()
        .filter(|d| d["kind"] == "PodDisruptionBudget")
        .collect();
    let name = |d: &Value| {
        format!(
            "{}/{}",
            d["kind"].as_str().unwrap_or("?"),
            d["metadata"]["name"].as_str().unwrap_or("?")
        )
    };
    for w in &workloads {
        let template = &w["spec"]["template"];
        let labels = &template["metadata"]["labels"];
        let pod = &template["spec"];
        for c in pod["containers"].as_array().into_iter().flatten() {
            let cname = c["name"].as_str().unwrap_or("?");
            if c["readinessProbe"].is_null() || c["livenessProbe"].is_null() {
                findings.push(format!("{}: {cname} lacks a probe", name(w)));
            }
            for kind in ["requests", "limits"] {
                for r in ["cpu", "memory"] {
                    if c["resources"][kind][r].is_null() {
                        findings.push(format!("{}: {cname} has no {kind}.{r}", name(w)));
                    }
                }
            }
            if c["securityContext"]["runAsNonRoot"] != true
                && pod["securityContext"]["runAsNonRoot"] != true
            {
                findings.push(format!("{}: {cname} may run as root", name(w)));
            }
            if c["securityContext"]["allowPrivilegeEscalation"] != false {
                findings.push(format!("{}: {cname} allows privilege escalation", name(w)));
            }
            let image = c["image"].as_str().unwrap_or("");
            let tag = image
                .rsplit('/')
                .next()
                .unwrap_or("")
                .split_once(':')
                .map(|(_, t)| t)
                .unwrap_or("");
            if tag.is_empty() || tag == "latest" {
                findings.push(format!(
                    "{}: {cname} image {image} has no fixed tag",
                    name(w)
                ));
            }
        }
        if !pdbs.iter().any(|p| selects(&p["spec"]["selector"], labels)) {
            findings.push(format!(
                "{}: no PodDisruptionBudget selects its pods",
                name(w)
            ));
        }
        if pod["affinity"]["podAntiAffinity"].is_null()
            && pod["topologySpreadConstraints"].is_null()
        {
            findings.push(format!("{}: no anti-affinity or spread", name(w)));
        }
        let mounts_config_map = pod["volumes"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|v| !v["configMap"].is_null());
        let has_checksum = template["metadata"]["annotations"]
            .as_object()
            .is_some_and(|a| a.keys().any(|k| k.starts_with("checksum/")));
        if mounts_config_map && !has_checksum {
            findings.push(format!(
                "{}: mounts a ConfigMap without a checksum annotation",
                name(w)
            ));
        }
    }
    for p in &pdbs {
        if !workloads.iter().any(|w| {
            selects(
                &p["spec"]["selector"],
                &w["spec"]["template"]["metadata"]["labels"],
            )
        }) {
            findings.push(format!("{}: selects no pods", name(p)));
        }
    }
    for s in docs.iter().filter(|d| d["kind"] == "Service") {
        let selector = &s["spec"]["selector"];
        let hits: Vec<&Value> = workloads
            .iter()
            .filter(|w| {
                let labels = &w["spec"]["template"]["metadata"]["labels"];
                selector
                    .as_object()
                    .is_some_and(|sel| !sel.is_empty() && sel.iter().all(|(k, v)| &labels[k] == v))
            })
            .map(|w| &w["spec"]["template"]["spec"])
            .collect();
        if hits.is_empty() {
            findings.push(format!("{}: selector matches no pod template", name(s)));
        }
        for port in s["spec"]["ports"].as_array().into_iter().flatten() {
            let target = &port["targetPort"];
            let found = hits.iter().any(|pod| {
                pod["containers"].as_array().into_iter().flatten().any(|c| {
                    c["ports"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|cp| &cp["containerPort"] == target || &cp["name"] == target)
                })
            });
            if !found {
                findings.push(format!(
                    "{}: targetPort {target} is on no selected container",
                    name(s)
                ));
            }
        }
    }
    for cm in docs.iter().filter(|d| d["kind"] == "ConfigMap") {
        for (key, value) in cm["data"].as_object().into_iter().flatten() {
            for line in value.as_str().unwrap_or("").lines() {
                let line = line.trim();
                let Some((k, v)) = line.split_once('=') else {
                    continue;
                };
                let v = v.trim();
                // `${admin.password}` names the realm's admin, which the
                // server resolves from `[super_admin]`.
                if k.trim().ends_with("password")
                    && !(v.starts_with("\"$env{")
                        || v.starts_with("\"$secret{")
                        || v == "\"${admin.password}\"")
                {
                    findings.push(format!(
                        "{}: {key} holds a plain-text password: {line}",
                        name(cm)
                    ));
                }
            }
        }
    }
    findings
}

#[test]
fn every_datacenter_of_every_example_passes_the_audit() {
    let mut topologies: Vec<String> = std::fs::read_dir("examples")
        .unwrap()
        .flatten()
        .map(|e| e.path().to_string_lossy().into_owned())
        .filter(|p| p.ends_with(".topo"))
        .collect();
    topologies.push("tests/fixtures/build/hostile.topo".to_string());
    topologies.sort();
    for topology in topologies {
        let checked =
            topoc::check_path(Path::new(&topology), &DiskFs, &SeverityConfig::default()).unwrap();
        let artifacts = topoc::build::render(&checked, &[Target::Kubernetes], None).unwrap();
        let mut by_datacenter: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for (path, doc) in common::parse_back(&artifacts) {
            if let Some(dc) = path
                .strip_prefix("kubernetes/")
                .and_then(|p| p.split('/').next())
            {
                by_datacenter.entry(dc.to_string()).or_default().push(doc);
            }
        }
        assert!(!by_datacenter.is_empty(), "{topology}");
        for (dc, docs) in by_datacenter {
            assert!(
                docs.iter().any(|d| d["kind"] == "Deployment"),
                "{topology}/{dc} has workloads"
            );
            let findings = audit(&docs);
            assert!(
                findings.is_empty(),
                "{topology} datacenter {dc}:\n{}",
                findings.join("\n")
            );
        }
    }
}

#[test]
fn the_audit_finds_what_it_looks_for() {
    // A workload without probes, resources or a PDB, and a ConfigMap with a
    // plain password: every rule must fire.
    let docs: Vec<Value> = vec![
        serde_json::json!({"kind": "Deployment", "metadata": {"name": "bad"}, "spec": {"template": {
            "metadata": {"labels": {"a": "b"}},
            "spec": {"containers": [{"name": "c", "image": "x:latest"}], "volumes": [{"configMap": {"name": "m"}}]}}}}),
        serde_json::json!({"kind": "ConfigMap", "metadata": {"name": "m"}, "data": {"deployment.toml": "password = \"hunter2\""}}),
        serde_json::json!({"kind": "PodDisruptionBudget", "metadata": {"name": "p"}, "spec": {"selector": {"matchLabels": {"x": "y"}}}}),
    ];
    let findings = audit(&docs);
    for expected in [
        "probe",
        "requests.cpu",
        "root",
        "escalation",
        "fixed tag",
        "no PodDisruptionBudget",
        "spread",
        "checksum",
        "selects no pods",
        "plain-text",
    ] {
        assert!(
            findings.iter().any(|f| f.contains(expected)),
            "{expected}: {findings:#?}"
        );
    }
}
