//! What a node needs to start and stay up, read back from the built files
//! of every target: the image's own user, pinned images, JDBC drivers,
//! the operator's keystores, a JDK on Puppet hosts, a standby that takes
//! over, one pod per node identity, a read-only gate without snippets,
//! APIM 3.x sharing only what WSO2 shares, and the first deployment as a
//! runbook.

mod common;

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use topoc::diagnostics::SeverityConfig;
use topoc::emit::{Artifacts, Target};
use topoc::load::DiskFs;
use topoc::plan;

fn checked(text: &str) -> topoc::Checked {
    let checked = topoc::check_text(
        Path::new("starts.topo"),
        text,
        &DiskFs,
        &SeverityConfig::default(),
    );
    assert!(!checked.has_errors(), "{:#?}", checked.diagnostics);
    checked
}

fn example(name: &str) -> String {
    std::fs::read_to_string(format!("examples/{name}.topo")).unwrap()
}

fn build(text: &str) -> Artifacts {
    topoc::build::render(&checked(text), &Target::ALL, None).expect("builds")
}

/// Every YAML document of a file.
fn docs(artifacts: &Artifacts, path: &str) -> Vec<Value> {
    let text = artifacts
        .get(path)
        .unwrap_or_else(|| panic!("{path} is not built"));
    serde_saphyr::from_multiple(text).unwrap()
}

fn of_kind<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d["kind"] == kind).collect()
}

fn named<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

fn yaml(artifacts: &Artifacts, path: &str) -> Value {
    serde_saphyr::from_str(artifacts.get(path).unwrap()).unwrap()
}

#[test]
fn the_product_runs_as_the_images_user_of_its_version_on_every_target() {
    for (from, to, id) in [("4.2.0", "4.2.0", 802), ("4.2.0", "4.3.0", 10001)] {
        let text = example("upgrades").replacen(
            &format!("version = \"{from}\""),
            &format!("version = \"{to}\""),
            1,
        );
        let text = text.replace("to_version = \"4.3.0\"", "to_version = \"4.4.0\"");
        let a = build(&text);
        let k8s = docs(&a, "kubernetes/dublin/21-control-plane.yaml");
        for deployment in of_kind(&k8s, "Deployment") {
            let pod = &deployment["spec"]["template"]["spec"];
            assert_eq!(pod["securityContext"]["runAsUser"], id, "{to}");
            assert_eq!(pod["securityContext"]["runAsGroup"], id, "{to}");
            assert_eq!(pod["securityContext"]["fsGroup"], id, "{to}");
            for container in pod["containers"].as_array().unwrap() {
                assert_eq!(container["securityContext"]["runAsUser"], id);
            }
        }
        let compose = yaml(&a, "compose/dublin/compose.yaml");
        assert_eq!(
            compose["services"]["control-plane-1"]["user"],
            format!("{id}:{id}")
        );
        let hiera = yaml(
            &a,
            "puppet/data/nodes/control-plane-1.apim.travel.example.yaml",
        );
        assert_eq!(hiera["apim::uid"], id);
        assert_eq!(hiera["apim::gid"], id);
    }
    // A custom image's own user.
    let text = example("upgrades").replacen(
        "  update_level = 92\n",
        "  update_level = 92\n  run_as_user = 4242\n  run_as_group = 4343\n",
        1,
    );
    let a = build(&text);
    let k8s = docs(&a, "kubernetes/dublin/24-gateway.yaml");
    let pod = &named(&k8s, "Deployment", "gateway")["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsUser"], 4242);
    assert_eq!(pod["securityContext"]["fsGroup"], 4343);
    let compose = yaml(&a, "compose/dublin/compose.yaml");
    assert_eq!(compose["services"]["gateway-1"]["user"], "4242:4343");
}

#[test]
fn no_floating_tag_is_pulled_once_and_every_image_comes_from_the_registry() {
    for name in [
        "all-in-one-3.2",
        "distributed-4.x",
        "multi-datacenter",
        "upgrades",
    ] {
        let a = build(&example(name));
        let registry = checked(&example(name)).topology.registry.clone();
        for (path, content) in a.iter() {
            if !path.starts_with("kubernetes/") {
                continue;
            }
            for doc in serde_saphyr::from_multiple::<Value>(content).unwrap() {
                let pod = &doc["spec"]["template"]["spec"];
                for container in pod["containers"]
                    .as_array()
                    .into_iter()
                    .chain(pod["initContainers"].as_array())
                    .flatten()
                {
                    let image = container["image"].as_str().unwrap();
                    assert!(image.starts_with(&registry), "{path}: {image}");
                    let policy = container["imagePullPolicy"].as_str().unwrap_or("");
                    let pinned = image.contains("@sha256:")
                        || image.rsplit_once(':').is_some_and(|(_, tag)| {
                            tag.split('.').count() == 4 && !tag.ends_with(".0")
                        });
                    if policy == "IfNotPresent" {
                        assert!(
                            pinned || image.contains("/nginx:"),
                            "{path}: {image} floats"
                        );
                    }
                }
            }
        }
    }
    // Without an update level: pulled at every start, and ST001 says why.
    let text = example("upgrades").replacen("  update_level = 92\n", "", 1);
    let c = topoc::check_text(
        Path::new("x.topo"),
        &text,
        &DiskFs,
        &SeverityConfig::default(),
    );
    assert!(c.diagnostics.iter().any(|d| d.code == "ST001"));
    let a = topoc::build::render(&c, &[Target::Kubernetes], None).unwrap();
    let k8s = docs(&a, "kubernetes/dublin/24-gateway.yaml");
    let pod = &named(&k8s, "Deployment", "gateway")["spec"]["template"]["spec"];
    assert_eq!(pod["containers"][0]["imagePullPolicy"], "Always");
    // A private registry's login: every pod pulls with it; Compose says
    // how to log in.
    let text = example("upgrades").replacen(
        "  update_level = 92\n",
        "  update_level = 92\n  registry_login = secret(\"registry-login\")\n",
        1,
    );
    let a = build(&text);
    for path in [
        "kubernetes/dublin/21-control-plane.yaml",
        "kubernetes/dublin/24-gateway.yaml",
        "kubernetes/dublin/31-read-only-gate.yaml",
    ] {
        for deployment in of_kind(&docs(&a, path), "Deployment") {
            assert_eq!(
                deployment["spec"]["template"]["spec"]["imagePullSecrets"][0]["name"],
                "registry-login",
                "{path}"
            );
        }
    }
    let bootstrap = plan_json(&text, plan::Target::Compose);
    assert!(
        commands(&bootstrap)
            .iter()
            .any(|c| c.contains("docker login") && c.contains("--password-stdin")),
        "{bootstrap:#}"
    );
}

#[test]
fn jdbc_drivers_reach_the_product_lib_folder_on_every_target() {
    let a = build(&example("distributed-4.x"));
    let jar = "postgresql-42.7.4.jar";
    // Kubernetes runs the product image built with the driver.
    let dockerfile = a.get("docker/wso2am/Dockerfile").unwrap();
    let lines: Vec<&str> = dockerfile.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(
        lines,
        [
            "ARG WSO2AM_IMAGE=registry.payments.example/wso2/wso2am:4.2.0.92",
            "FROM ${WSO2AM_IMAGE}",
            "COPY --chown=802:802 postgresql-42.7.4.jar /home/wso2carbon/wso2am-4.2.0/repository/components/lib/",
        ]
    );
    let k8s = docs(&a, "kubernetes/frankfurt/24-gateway.yaml");
    let pod = &named(&k8s, "Deployment", "gateway")["spec"]["template"]["spec"];
    assert_eq!(
        pod["containers"][0]["image"],
        "registry.payments.example/wso2/payments-wso2am:4.2.0.92"
    );
    // Compose mounts the operator's jar into the config volume.
    let compose = yaml(&a, "compose/frankfurt/compose.yaml");
    let mounts = compose["services"]["gateway-1"]["volumes"]
        .as_array()
        .unwrap();
    assert!(mounts.iter().any(|m| {
        m["source"] == format!("../../../operator-files/payments/lib/{jar}")
            && m["target"]
                == format!("/home/wso2carbon/wso2-config-volume/repository/components/lib/{jar}")
            && m["read_only"] == true
    }));
    // Puppet installs it from the packs folder.
    let hiera = yaml(&a, "puppet/data/nodes/gateway-1.apim.payments.example.yaml");
    assert_eq!(hiera["apim::drivers"], serde_json::json!([jar]));
    let install = a.get("puppet/modules/apim/manifests/install.pp").unwrap();
    assert!(install.contains("\"${apim::install_base}/packs/lib/${jar}\""));
    assert!(install.contains("\"${apim::product_home}/repository/components/lib/${jar}\""));
}

#[test]
fn the_operators_keystores_are_placed_on_every_node() {
    let a = build(&example("multi-datacenter"));
    for (path, toml) in [
        (
            "compose/london/config/gateway-london-1/deployment.toml",
            a.get("compose/london/config/gateway-london-1/deployment.toml")
                .unwrap()
                .to_string(),
        ),
        (
            "compose/colombo/config/control-plane-1/deployment.toml",
            a.get("compose/colombo/config/control-plane-1/deployment.toml")
                .unwrap()
                .to_string(),
        ),
    ] {
        let table: toml::Table = toml.parse().unwrap();
        let tls = &table["keystore"]["tls"];
        assert_eq!(tls["file_name"].as_str(), Some("apim.p12"), "{path}");
        assert_eq!(tls["type"].as_str(), Some("PKCS12"), "{path}");
        assert_eq!(
            tls["password"].as_str(),
            Some("$env{APIM_KEYSTORE_PASSWORD}"),
            "{path}"
        );
        assert_eq!(
            table["truststore"]["password"].as_str(),
            Some("$env{APIM_TRUSTSTORE_PASSWORD}")
        );
    }
    let k8s = docs(&a, "kubernetes/london/24-gateway-london.yaml");
    let pod = &named(&k8s, "Deployment", "gateway-london")["spec"]["template"]["spec"];
    let volume = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "keystores")
        .expect("the keystore Secret");
    assert_eq!(volume["secret"]["secretName"], "telco-keystores");
    let mounted: Vec<&str> = pod["containers"][0]["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["name"] == "keystores")
        .map(|m| m["mountPath"].as_str().unwrap())
        .collect();
    assert_eq!(
        mounted,
        [
            "/home/wso2carbon/wso2-config-volume/repository/resources/security/apim.p12",
            "/home/wso2carbon/wso2-config-volume/repository/resources/security/client-truststore.p12"
        ]
    );
    let compose = yaml(&a, "compose/london/compose.yaml");
    let mounts = compose["services"]["gateway-london-1"]["volumes"]
        .as_array()
        .unwrap();
    assert!(
        mounts
            .iter()
            .any(|m| m["source"] == "../../../operator-files/telco/security/apim.p12")
    );
    let hiera = yaml(
        &a,
        "puppet/data/nodes/gateway-london-1.london.apim.telco.example.yaml",
    );
    assert_eq!(
        hiera["apim::security_files"],
        serde_json::json!(["apim.p12", "client-truststore.p12"])
    );
    // Without a keystore: the bundled one, and ST003.
    let text = example("multi-datacenter")
        .replacen("  keystore = \"apim.p12\"\n", "", 1)
        .replacen("  truststore = \"client-truststore.p12\"\n", "", 1);
    let c = topoc::check_text(
        Path::new("x.topo"),
        &text,
        &DiskFs,
        &SeverityConfig::default(),
    );
    assert!(c.diagnostics.iter().any(|d| d.code == "ST003"));
    let a = topoc::build::render(&c, &[Target::Compose], None).unwrap();
    let toml: toml::Table = a
        .get("compose/london/config/gateway-london-1/deployment.toml")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        toml["keystore"]["tls"]["file_name"].as_str(),
        Some("wso2carbon.jks")
    );
    let compose = yaml(&a, "compose/london/compose.yaml");
    assert!(
        !compose["services"]["gateway-london-1"]["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["target"].as_str().unwrap().contains("/security/"))
    );
}

#[test]
fn puppet_hosts_get_a_jdk_java_home_and_the_tools_the_manifests_use() {
    let a = build(&example("upgrades"));
    let hiera = yaml(&a, "puppet/data/nodes/gateway-1.apim.travel.example.yaml");
    assert_eq!(hiera["apim::java_version"], 17);
    let install = a.get("puppet/modules/apim/manifests/install.pp").unwrap();
    assert!(install.contains("\"openjdk-${apim::java_version}-jre-headless\""));
    assert!(install.contains("package { ['unzip', 'curl']:"));
    assert!(install.contains("exec \"$@\""));
    let unit = a
        .get("puppet/modules/apim/templates/wso2am.service.epp")
        .unwrap();
    assert!(unit.contains("ExecStart=<%= $install_base %>/apim-start <%= $product_home %>"));
    // The wrapper finds JAVA_HOME from the java on the PATH.
    let script: String = install
        .split("content => @(START),\n")
        .nth(1)
        .and_then(|rest| rest.split("      | START").next())
        .unwrap()
        .lines()
        .map(|l| l.strip_prefix("      ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n");
    let dir = tempfile::tempdir().unwrap();
    let jdk = dir.path().join("jdk/bin");
    std::fs::create_dir_all(&jdk).unwrap();
    std::fs::write(jdk.join("java"), "#!/bin/sh\n").unwrap();
    let start = dir.path().join("apim-start");
    std::fs::write(&start, &script).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(jdk.join("java"), std::fs::Permissions::from_mode(0o755)).unwrap();
        let out = Command::new("/bin/sh")
            .arg(&start)
            .arg("sh")
            .arg("-c")
            .arg("echo \"$JAVA_HOME\"")
            .env("PATH", format!("{}:/usr/bin:/bin", jdk.display()))
            .env_remove("JAVA_HOME")
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            dir.path()
                .join("jdk")
                .canonicalize()
                .unwrap()
                .to_string_lossy()
        );
        let none = Command::new("/bin/sh")
            .arg(&start)
            .arg("true")
            .env("PATH", "/nonexistent")
            .env_remove("JAVA_HOME")
            .output()
            .unwrap();
        assert!(!none.status.success());
        assert!(String::from_utf8_lossy(&none.stderr).contains("no java"));
    }
}

/// Run the readiness probe of a node of an active-passive pair in bash,
/// with `curl` answering for the hosts that are healthy.
fn readiness(script: &str, serving_file: &Path, me: &str, healthy: &[&str]) -> bool {
    let dir = serving_file.parent().unwrap().join("bin");
    std::fs::create_dir_all(&dir).unwrap();
    let healthy_list = healthy.join(" ");
    let curl = format!(
        "#!/bin/sh\nfor arg in \"$@\"; do url=$arg; done\nfor host in {healthy_list}; do case \"$url\" in *\"$host\"*) exit 0;; esac; done\nexit 7\n"
    );
    let curl_path = dir.join("curl");
    std::fs::write(&curl_path, curl).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&curl_path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let script = script.replace(
        topoc::deployment::layout::SERVING_DIR,
        &serving_file.parent().unwrap().to_string_lossy(),
    );
    Command::new("bash")
        .arg("-c")
        .arg(script)
        .env("PATH", format!("{}:/usr/bin:/bin", dir.display()))
        .env("TOPOC_NODE", me)
        .status()
        .unwrap()
        .success()
}

#[test]
fn a_hot_standby_takes_over_on_kubernetes_and_the_active_node_is_protected() {
    let a = build(&example("upgrades"));
    let k8s = docs(&a, "kubernetes/dublin/21-control-plane.yaml");
    // The cluster Service selects every node; readiness decides.
    let service = named(&k8s, "Service", "control-plane");
    assert_eq!(
        service["spec"]["selector"],
        serde_json::json!({"topoc/cluster": "control-plane"})
    );
    for node in ["control-plane-1", "control-plane-2", "control-plane-surge"] {
        assert_eq!(
            named(&k8s, "Service", node)["spec"]["publishNotReadyAddresses"],
            true
        );
        let deployment = named(&k8s, "Deployment", node);
        assert_eq!(deployment["spec"]["strategy"]["type"], "Recreate");
    }
    assert_eq!(
        named(&k8s, "Deployment", "control-plane-surge")["spec"]["replicas"],
        0
    );
    let serving = named(&k8s, "ConfigMap", "control-plane-serving");
    assert_eq!(serving["data"]["node"], "control-plane-1");
    let budget = of_kind(&k8s, "PodDisruptionBudget")[0];
    assert_eq!(budget["spec"]["minAvailable"], 1);
    assert_eq!(budget["spec"]["unhealthyPodEvictionPolicy"], "AlwaysAllow");
    // The readiness probe, run: the serving node is ready when healthy;
    // its standby only when the serving node is not.
    let pod = &named(&k8s, "Deployment", "control-plane-2")["spec"]["template"]["spec"];
    let command = pod["containers"][0]["readinessProbe"]["exec"]["command"]
        .as_array()
        .unwrap();
    let script = command[2].as_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("serving/node");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, "control-plane-1").unwrap();
    let both = ["localhost", "control-plane-1."];
    assert!(readiness(script, &file, "control-plane-1", &both));
    assert!(!readiness(script, &file, "control-plane-2", &both));
    assert!(readiness(script, &file, "control-plane-2", &["localhost"]));
    assert!(!readiness(script, &file, "control-plane-2", &[]));
    // The runbooks move the serving node.
    std::fs::write(&file, "control-plane-2").unwrap();
    assert!(readiness(script, &file, "control-plane-2", &both));
    // Active-active replicas keep their rolling update.
    let gateway = docs(&a, "kubernetes/dublin/24-gateway.yaml");
    let deployment = named(&gateway, "Deployment", "gateway");
    assert_eq!(deployment["spec"]["strategy"]["type"], "RollingUpdate");
    assert_eq!(
        deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"],
        0
    );
}

#[test]
fn the_read_only_portals_need_no_snippet_on_kubernetes() {
    let a = build(&example("upgrades"));
    let gate = docs(&a, "kubernetes/dublin/31-read-only-gate.yaml");
    let deployment = named(&gate, "Deployment", "read-only-gate");
    assert_eq!(deployment["spec"]["replicas"], 0);
    assert_eq!(
        deployment["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.travel.example/wso2/nginx:1.27.3-alpine"
    );
    assert!(
        named(&gate, "ConfigMap", "read-only-gate")["data"]["nginx.conf"]
            .as_str()
            .unwrap()
            .contains("$http_x_original_method")
    );
    named(&gate, "Service", "read-only-gate");
    named(&gate, "PodDisruptionBudget", "read-only-gate");
    for (path, content) in a.iter() {
        assert!(!content.contains("snippet"), "{path} uses a snippet");
    }
    let c = checked(&example("upgrades"));
    let d = topoc::deployment::plan(&c.topology);
    let index = c
        .topology
        .upgrades
        .iter()
        .position(|u| u.name == "to_4_3")
        .unwrap();
    let plan = plan::plan_upgrade(
        &c.topology,
        &d,
        topoc::model::UpgradeId(index),
        plan::Target::Kubernetes,
    );
    let read_only = plan
        .steps
        .iter()
        .find(|s| s.action == plan::Action::ReadOnly)
        .unwrap();
    assert!(
        read_only.commands[0].contains("nginx.ingress.kubernetes.io/auth-url=http://read-only-gate.travel-dublin.svc.cluster.local:8080/"),
        "{:?}",
        read_only.commands
    );
    // The gate's configuration is valid nginx, where nginx is installed.
    let nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    if let Some(nginx) = nginx {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("nginx.conf");
        std::fs::write(
            &conf,
            named(&gate, "ConfigMap", "read-only-gate")["data"]["nginx.conf"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        let out = Command::new(nginx)
            .args(["-t", "-q", "-p"])
            .arg(dir.path())
            .arg("-c")
            .arg(&conf)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn apim_3_shares_only_synapse_configs_and_executionplans_on_a_named_storage_class() {
    let a = build(&example("all-in-one-3.2"));
    let storage = docs(&a, "kubernetes/main/10-storage.yaml");
    let claim = of_kind(&storage, "PersistentVolumeClaim")[0];
    assert_eq!(claim["spec"]["storageClassName"], "efs-sc");
    assert_eq!(claim["spec"]["accessModes"][0], "ReadWriteMany");
    let k8s = docs(&a, "kubernetes/main/21-apim.yaml");
    let pod = &named(&k8s, "Deployment", "apim-1")["spec"]["template"]["spec"];
    let shared: Vec<(&str, &str)> = pod["containers"][0]["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["name"] == "share")
        .map(|m| {
            (
                m["mountPath"].as_str().unwrap(),
                m["subPath"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        shared,
        [
            (
                "/home/wso2carbon/wso2am-3.2.0/repository/deployment/server/synapse-configs",
                "synapse-configs"
            ),
            (
                "/home/wso2carbon/wso2am-3.2.0/repository/deployment/server/executionplans",
                "executionplans"
            )
        ]
    );
    let compose = yaml(&a, "compose/main/compose.yaml");
    let subpaths: Vec<&str> = compose["services"]["apim-1"]["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["volume"]["subpath"].as_str())
        .collect();
    assert_eq!(subpaths, ["synapse-configs", "executionplans"]);
}

fn plan_json(text: &str, target: plan::Target) -> Value {
    let c = checked(text);
    let d = topoc::deployment::plan(&c.topology);
    serde_json::from_str(&plan::render::json(&plan::plan_bootstrap(
        &c.topology,
        &d,
        target,
    )))
    .unwrap()
}

fn commands(plan: &Value) -> Vec<String> {
    plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["commands"].as_array().unwrap().iter())
        .map(|c| c.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_first_deployment_is_a_simulated_runbook_in_dependency_order() {
    for target in [
        plan::Target::Kubernetes,
        plan::Target::Compose,
        plan::Target::Puppet,
    ] {
        let p = plan_json(&example("multi-datacenter"), target);
        assert_eq!(p["kind"], "bootstrap");
        assert_eq!(p["safe"], true, "{target:?}");
        let steps = p["steps"].as_array().unwrap();
        let index = |pred: &dyn Fn(&Value) -> bool| {
            steps
                .iter()
                .position(pred)
                .unwrap_or_else(|| panic!("{target:?}: no such step"))
        };
        let prepare = index(&|s| s["action"] == "prepare");
        let created = index(&|s| s["action"] == "create-db");
        let loaded = index(&|s| s["action"] == "load-schema");
        let replica = index(&|s| s["action"] == "start-sync");
        let control_plane =
            index(&|s| s["action"] == "start-node" && s["cluster"] == "control_plane");
        let gateway = index(&|s| s["action"] == "start-node" && s["cluster"] == "gateway");
        let colombo = index(&|s| s["action"] == "open-traffic" && s["datacenter"] == "colombo");
        let london_km = index(&|s| s["action"] == "start-node" && s["cluster"] == "key_manager");
        assert!(prepare < created && created < loaded && loaded < replica);
        assert!(loaded < control_plane && control_plane < gateway && gateway < colombo);
        assert!(colombo < london_km);
        // The replicas of the other datacenters are the DBA's: marked, and
        // verified.
        assert_eq!(steps[replica]["manual"], true);
        assert!(!steps[replica]["verify"].as_array().unwrap().is_empty());
        // The cold standby site is left to its failover runbook.
        assert!(
            !steps
                .iter()
                .any(|s| s["datacenter"] == "singapore" && s["action"] == "start-node")
        );
        // Traffic opens only once the datacenter's clusters serve their floor.
        let opened = &steps[colombo];
        assert!(opened.get("cluster").is_none());
        for step in &steps[..colombo] {
            if let (Some(capacity), Some(required)) =
                (step["capacity_rps"].as_f64(), step["required_rps"].as_f64())
            {
                assert!(capacity >= required || step["action"] != "open-traffic");
            }
        }
    }
    // The product's own schema scripts, per engine.
    let mysql = commands(&plan_json(&example("upgrades"), plan::Target::Compose));
    assert!(
        mysql
            .iter()
            .any(|c| c.contains("/dbscripts/apimgt/mysql.sql"))
    );
    assert!(mysql.iter().any(|c| c.contains("/dbscripts/mysql.sql")));
    let postgres = commands(&plan_json(
        &example("distributed-4.x"),
        plan::Target::Kubernetes,
    ));
    assert!(
        postgres
            .iter()
            .any(|c| c.contains("/dbscripts/apimgt/postgresql.sql"))
    );
    assert!(
        postgres
            .iter()
            .any(|c| c.contains("docker build --build-arg WSO2AM_IMAGE="))
    );
}

#[test]
fn plan_bootstrap_on_the_command_line_and_in_the_build() {
    let out = Command::new(env!("CARGO_BIN_EXE_topoc"))
        .args([
            "plan",
            "examples/upgrades.topo",
            "--bootstrap",
            "--for",
            "puppet",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("# Runbook: bootstrap (bootstrap)"),
        "{text}"
    );
    assert!(text.contains("PUPPET_ENVIRONMENT"), "{text}");
    let a = build(&example("upgrades"));
    assert!(a.get("runbooks/bootstrap.md").is_some());
    let json: Value = serde_json::from_str(a.get("runbooks/bootstrap.json").unwrap()).unwrap();
    assert_eq!(json["for"], "kubernetes");
}
