//! `topoc build`: the full output of every example (snapshots), generated
//! artifacts parsed back, determinism, `--check`, atomic writes, and
//! hostile names and strings.

mod common;

use std::path::{Path, PathBuf};

use common::parse_back;
use std::process::{Command, Output};

use serde_json::Value;
use topoc::diagnostics::SeverityConfig;
use topoc::emit::{Artifacts, Target};
use topoc::load::DiskFs;

fn topoc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_topoc"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("topoc runs")
}

fn code(output: &Output) -> i32 {
    output.status.code().expect("exit code")
}

/// `topoc build EXAMPLE --out <temp>/out [ARGS...]`, which must succeed:
/// the folder (kept alive by the returned guard) and the output path.
fn build_example(example: &str, args: &[&str]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut command = vec!["build", example, "--out", out.to_str().unwrap()];
    command.extend_from_slice(args);
    let built = topoc(&command);
    assert_eq!(
        code(&built),
        0,
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    (dir, out)
}

/// Runs the `lb.sh` of a Compose site on its nginx.conf (no reload) and
/// returns the edited configuration.
fn lb_script(site: &Path) -> impl Fn(&str, &str) -> String + '_ {
    move |verb, name| {
        let conf_path = site.join("nginx/nginx.conf");
        let status = Command::new("sh")
            .arg(site.join("scripts/lb.sh"))
            .args([verb, name])
            .env("LB_CONF", &conf_path)
            .env("LB_RELOAD", "true")
            .status()
            .unwrap();
        assert!(status.success(), "lb.sh {verb} {name}");
        std::fs::read_to_string(&conf_path).unwrap()
    }
}

fn examples() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir("examples")
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "topo"))
        .collect();
    out.sort();
    out
}

fn render(path: &Path) -> Artifacts {
    let checked = topoc::check_path(path, &DiskFs, &SeverityConfig::default()).expect("loads");
    topoc::build::render(&checked, &Target::ALL, None).expect("builds")
}

/// A generated YAML file of one document, parsed back.
fn yaml(artifacts: &Artifacts, path: &str) -> Value {
    let content = artifacts.get(path).unwrap_or_else(|| panic!("no {path}"));
    serde_saphyr::from_str(content).unwrap_or_else(|e| panic!("{path} is not YAML: {e}"))
}

/// Every document of a generated YAML file, parsed back.
fn yaml_docs(artifacts: &Artifacts, path: &str) -> Vec<Value> {
    let content = artifacts.get(path).unwrap_or_else(|| panic!("no {path}"));
    serde_saphyr::from_multiple(content).unwrap_or_else(|e| panic!("{path} is not YAML: {e}"))
}

/// A generated TOML file, parsed back.
fn toml_file(artifacts: &Artifacts, path: &str) -> toml::Table {
    let content = artifacts.get(path).unwrap_or_else(|| panic!("no {path}"));
    content
        .parse()
        .unwrap_or_else(|e| panic!("{path} is not TOML: {e}"))
}

/// The document of `kind` named `name`.
fn named<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

/// Every container (and init container) of a Deployment's pod.
fn containers(deployment: &Value) -> Vec<&Value> {
    let pod = &deployment["spec"]["template"]["spec"];
    pod["containers"]
        .as_array()
        .into_iter()
        .chain(pod["initContainers"].as_array())
        .flatten()
        .collect()
}

/// What Hiera makes of a string: `%{literal('%')}` is a `%`; any other
/// `%{...}` would be interpolated, which the build must never leave.
fn hiera_interpolate(text: &str) -> String {
    const LITERAL: &str = "%{literal('%')}";
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("%{") {
        out.push_str(&rest[..at]);
        assert!(
            rest[at..].starts_with(LITERAL),
            "Hiera would interpolate {:?}",
            &rest[at..rest.len().min(at + 30)]
        );
        out.push('%');
        rest = &rest[at + LITERAL.len()..];
    }
    out.push_str(rest);
    out
}

/// Every string in a parsed document.
fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().flat_map(strings).collect(),
        Value::Object(map) => map
            .iter()
            .flat_map(|(k, v)| std::iter::once(k.as_str()).chain(strings(v)))
            .collect(),
        _ => Vec::new(),
    }
}

#[test]
fn full_output_of_every_example() {
    // One snapshot per file, small enough to review; a file no longer
    // written leaves a snapshot nothing reads (`cargo insta test
    // --unreferenced=reject` finds it).
    for example in examples() {
        let artifacts = render(&example);
        parse_back(&artifacts);
        let name = example.file_stem().unwrap().to_string_lossy().into_owned();
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path(format!("snapshots/build/{name}"));
        settings.set_prepend_module_to_snapshot(false);
        settings.set_omit_expression(true);
        settings.bind(|| {
            for (path, content) in artifacts.iter() {
                // The manifest is the hashes of the rest: checked on its own.
                if path == topoc::emit::output::MANIFEST {
                    continue;
                }
                for (part, text) in snapshot_parts(path, content) {
                    insta::assert_snapshot!(part, text);
                }
            }
        });
    }
}

/// The snapshots of one built file, each small enough to review: a
/// Kubernetes manifest per object (`<file>__<Kind>-<name>`), a Compose
/// file per service (`<file>__service-<name>`, the rest under the file's
/// own name), any other file whole. Put back together in order, the parts
/// are the file.
fn snapshot_parts(path: &str, content: &str) -> Vec<(String, String)> {
    let file = path.replace('/', "__");
    let parts = if path.starts_with("kubernetes/") && path.ends_with(".yaml") {
        manifest_objects(&file, content)
    } else if path.starts_with("compose/") && path.ends_with("/compose.yaml") {
        compose_services(&file, content)
    } else {
        vec![(file, content.to_string())]
    };
    let mut names: Vec<&str> = parts.iter().map(|(name, _)| name.as_str()).collect();
    names.sort();
    let count = names.len();
    names.dedup();
    assert_eq!(names.len(), count, "{path}: two parts share a name");
    parts
}

/// The documents of a multi-document manifest (separated by `---` lines),
/// each named by its kind and `metadata.name`.
fn manifest_objects(file: &str, content: &str) -> Vec<(String, String)> {
    let mut docs = vec![String::new()];
    for line in content.split_inclusive('\n') {
        if line == "---\n" {
            docs.push(String::new());
        } else {
            docs.last_mut().unwrap().push_str(line);
        }
    }
    assert_eq!(
        docs.join("---\n"),
        content,
        "{file}: the objects are the file"
    );
    docs.into_iter()
        .map(|doc| {
            let object: Value = serde_saphyr::from_str(&doc)
                .unwrap_or_else(|e| panic!("{file}: an object is not YAML: {e}\n{doc}"));
            let kind = object["kind"].as_str().expect("a kind");
            let name = object["metadata"]["name"].as_str().expect("a name");
            (format!("{file}__{kind}-{name}"), doc)
        })
        .collect()
}

/// A Compose file's services, one part each, and the rest of the file
/// (its name, networks, volumes and secrets) under the file's own name.
fn compose_services(file: &str, content: &str) -> Vec<(String, String)> {
    let mut rest = String::new();
    let mut services: Vec<(String, String)> = Vec::new();
    let mut in_services = false;
    for line in content.split_inclusive('\n') {
        if !line.starts_with(' ') {
            in_services = line == "services:\n";
            rest.push_str(line);
        } else if in_services && !line.starts_with("   ") && line.trim_end().ends_with(':') {
            let name = line.trim().trim_end_matches(':');
            services.push((format!("{file}__service-{name}"), line.to_string()));
        } else if in_services {
            services.last_mut().expect("a service").1.push_str(line);
        } else {
            rest.push_str(line);
        }
    }
    let head = content.find("services:\n").expect("services") + "services:\n".len();
    let joined: String = services.iter().map(|(_, text)| text.as_str()).collect();
    assert_eq!(
        format!("{}{joined}{}", &rest[..head], &rest[head..]),
        content,
        "{file}: the services and the rest are the file"
    );
    let mut parts = vec![(file.to_string(), rest)];
    parts.extend(services);
    parts
}

#[test]
fn layout_follows_the_contract() {
    let artifacts = render(Path::new("examples/multi-datacenter.topo"));
    for dc in ["colombo", "london", "singapore"] {
        assert!(
            artifacts
                .get(&format!("compose/{dc}/compose.yaml"))
                .is_some(),
            "{dc}"
        );
        assert!(
            artifacts
                .paths()
                .any(|p| p.starts_with(&format!("kubernetes/{dc}/"))),
            "{dc}"
        );
    }
    assert!(artifacts.get("puppet/manifests/site.pp").is_some());
    assert!(
        artifacts
            .paths()
            .any(|p| p.starts_with("puppet/modules/apim/manifests/"))
    );
    assert!(
        artifacts
            .paths()
            .any(|p| p.starts_with("puppet/data/nodes/"))
    );
}

#[test]
fn no_secret_value_and_no_plain_password_reaches_any_file() {
    for example in examples() {
        let artifacts = render(&example);
        for (path, content) in artifacts.iter() {
            for line in content.lines() {
                let trimmed = line.trim_start();
                if let Some(value) = trimmed
                    .strip_prefix("password = ")
                    .or_else(|| trimmed.strip_prefix("key_password = "))
                {
                    // `${admin.password}` is the realm's admin, resolved
                    // by the server itself.
                    assert!(
                        value.starts_with("\"$env{") || value == "\"${admin.password}\"",
                        "{path}: a password that is not an $env{{}} reference: {line}"
                    );
                }
            }
        }
    }
}

#[test]
fn ha_pairs_are_two_instances_and_gateways_scale() {
    let artifacts = render(Path::new("examples/distributed-4.x.topo"));
    let docs = parse_back(&artifacts);
    let deployments: Vec<&Value> = docs
        .iter()
        .map(|(_, d)| d)
        .filter(|d| d["kind"] == "Deployment")
        .collect();
    let names: Vec<&str> = deployments
        .iter()
        .map(|d| d["metadata"]["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"control-plane-1") && names.contains(&"control-plane-2"),
        "{names:?}"
    );
    let gateway = deployments
        .iter()
        .find(|d| d["metadata"]["name"] == "gateway")
        .unwrap();
    assert_eq!(gateway["spec"]["replicas"], 3);
    assert_eq!(
        gateway["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"],
        0
    );
    // Each control plane names the other in event_duplicate_url.
    let cp1 = artifacts
        .get("compose/frankfurt/config/control-plane-1/deployment.toml")
        .unwrap();
    let table: toml::Table = cp1.parse().unwrap();
    let duplicate = &table["apim"]["event_hub"]["event_duplicate_url"];
    assert_eq!(
        duplicate.as_array().unwrap()[0].as_str(),
        Some("tcp://control-plane-2.apim.payments.example:5672")
    );
    // Every PodDisruptionBudget selects some pod template.
    for (_, pdb) in docs
        .iter()
        .filter(|(_, d)| d["kind"] == "PodDisruptionBudget")
    {
        let selector = pdb["spec"]["selector"]["matchLabels"].as_object().unwrap();
        assert!(
            deployments.iter().any(|d| {
                let labels = &d["spec"]["template"]["metadata"]["labels"];
                selector.iter().all(|(k, v)| &labels[k] == v)
            }),
            "{pdb}"
        );
    }
}

#[test]
fn builds_are_deterministic_to_the_byte() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    let b = dir.path().join("b");
    for out in [&a, &b] {
        let output = topoc(&[
            "build",
            "examples/multi-datacenter.topo",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(
            code(&output),
            0,
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let read = |root: &Path| {
        let mut files = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    files.push((
                        path.strip_prefix(root).unwrap().to_path_buf(),
                        std::fs::read(&path).unwrap(),
                    ));
                }
            }
        }
        files.sort();
        files
    };
    assert_eq!(read(&a), read(&b));
}

#[test]
fn check_reports_stale_output_with_a_diff() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let out_arg = out.to_str().unwrap();
    let example = "examples/distributed-4.x.topo";
    // Nothing built yet: stale, in one line rather than every file's content.
    let nothing = topoc(&["build", example, "--out", out_arg, "--check"]);
    assert_eq!(code(&nothing), 1);
    assert!(!out.exists(), "--check writes nothing");
    let report = String::from_utf8_lossy(&nothing.stdout);
    assert_eq!(report.lines().count(), 1, "{report}");
    assert!(
        report.starts_with(&format!("{out_arg} does not exist: the build would write ")),
        "{report}"
    );
    assert_eq!(code(&topoc(&["build", example, "--out", out_arg])), 0);
    let fresh = topoc(&["build", example, "--out", out_arg, "--check"]);
    assert_eq!(
        code(&fresh),
        0,
        "{}",
        String::from_utf8_lossy(&fresh.stdout)
    );
    // Change a file the build wrote: a diff against a file that is still
    // as the build wrote it.
    let readme = out.join("README.md");
    let written = std::fs::read_to_string(&readme).unwrap();
    let manifest = std::fs::read_to_string(out.join(".topoc-manifest")).unwrap();
    assert!(manifest.contains("  README.md\n"), "{manifest}");
    let other = topoc(&[
        "build",
        "examples/upgrades.topo",
        "--out",
        out_arg,
        "--check",
    ]);
    assert_eq!(code(&other), 1);
    let diff = String::from_utf8_lossy(&other.stdout);
    assert!(
        diff.contains("--- a/README.md") && diff.contains("+++ b/README.md"),
        "{diff}"
    );
    // Edit a file by hand: stale, the file is named and its content not shown.
    let file = out.join("compose/frankfurt/compose.yaml");
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str("# edited by hand\n");
    std::fs::write(&file, text).unwrap();
    let stale = topoc(&["build", example, "--out", out_arg, "--check"]);
    assert_eq!(code(&stale), 1);
    let diff = String::from_utf8_lossy(&stale.stdout);
    assert!(
        diff.contains("changed since topoc wrote them")
            && diff.contains("  compose/frankfurt/compose.yaml\n")
            && !diff.contains("edited by hand"),
        "{diff}"
    );
    // A file the build would not write: named, never shown (it may be a
    // secret), and the rebuild refuses to delete it.
    std::fs::write(out.join("extra.txt"), "hunter2").unwrap();
    std::fs::remove_file(&file).unwrap();
    let stale = topoc(&["build", example, "--out", out_arg, "--check"]);
    let diff = String::from_utf8_lossy(&stale.stdout);
    assert!(
        diff.contains("  extra.txt\n")
            && diff.contains("1 file missing")
            && diff.contains("  compose/frankfurt/compose.yaml\n")
            && !diff.contains("hunter2"),
        "{diff}"
    );
    let refused = topoc(&["build", example, "--out", out_arg]);
    assert_eq!(code(&refused), 2);
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains("extra.txt") && !message.contains("hunter2"),
        "{message}"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("extra.txt")).unwrap(),
        "hunter2"
    );
    assert_eq!(std::fs::read_to_string(&readme).unwrap(), written);
    // A half-built folder names the first missing files and counts the rest.
    std::fs::remove_file(out.join("extra.txt")).unwrap();
    std::fs::remove_dir_all(out.join("kubernetes")).unwrap();
    std::fs::remove_dir_all(out.join("puppet")).unwrap();
    let stale = topoc(&["build", example, "--out", out_arg, "--check"]);
    let diff = String::from_utf8_lossy(&stale.stdout);
    assert!(diff.contains("  ... and "), "{diff}");
    assert!(diff.lines().count() < 40, "{diff}");
}

#[test]
fn the_build_never_replaces_the_current_folder_or_the_sources() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site.topo");
    std::fs::copy("examples/distributed-4.x.topo", &site).unwrap();
    let build_in = |out: &str, force: bool| {
        let mut args = vec!["build", "site.topo", "--out", out];
        if force {
            args.push("--force");
        }
        Command::new(env!("CARGO_BIN_EXE_topoc"))
            .args(&args)
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    for out in [".", "..", dir.path().to_str().unwrap()] {
        let refused = build_in(out, true);
        assert_eq!(code(&refused), 2, "{out}");
        let message = String::from_utf8_lossy(&refused.stderr);
        assert!(message.contains("current folder"), "{out}: {message}");
        assert!(site.exists());
    }
    // A folder holding the sources, named from elsewhere.
    let refused = topoc(&[
        "build",
        site.to_str().unwrap(),
        "--out",
        dir.path().to_str().unwrap(),
        "--force",
    ]);
    assert_eq!(code(&refused), 2);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("holds the topology's source"));
    assert!(site.exists());
    // Into a folder of its own: fine, and again.
    assert_eq!(code(&build_in("out", false)), 0);
    assert_eq!(code(&build_in("out", false)), 0);
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(
        names,
        ["out", "site.topo"],
        "nothing is left beside the output"
    );
}

#[test]
fn a_failed_build_leaves_the_output_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("marker"), "before").unwrap();
    let out_arg = out.to_str().unwrap();
    // A topology with errors: refused.
    let refused = topoc(&["build", "tests/fixtures/lints/HA001.topo", "--out", out_arg]);
    assert_eq!(code(&refused), 1);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("nothing was built"));
    // A broken template override: refused.
    let templates = dir.path().join("templates/wso2");
    std::fs::create_dir_all(&templates).unwrap();
    std::fs::write(templates.join("deployment.toml.j2"), "{{ no_such_value }}").unwrap();
    let broken = topoc(&[
        "build",
        "examples/distributed-4.x.topo",
        "--out",
        out_arg,
        "--templates",
        dir.path().join("templates").to_str().unwrap(),
    ]);
    assert_eq!(
        code(&broken),
        2,
        "{}",
        String::from_utf8_lossy(&broken.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(out.join("marker")).unwrap(),
        "before"
    );
    assert_eq!(
        std::fs::read_dir(&out).unwrap().count(),
        1,
        "nothing was added"
    );
    // No staging folders are left behind.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // A good build does not replace a folder holding a file of someone
    // else's: it names it.
    let refused = topoc(&["build", "examples/distributed-4.x.topo", "--out", out_arg]);
    assert_eq!(code(&refused), 2);
    assert!(String::from_utf8_lossy(&refused.stderr).contains("marker"));
    assert!(out.join("marker").exists());
    // Told to, it replaces the folder: the marker is gone.
    assert_eq!(
        code(&topoc(&[
            "build",
            "examples/distributed-4.x.topo",
            "--out",
            out_arg,
            "--force"
        ])),
        0
    );
    assert!(!out.join("marker").exists());
    assert!(out.join("compose/frankfurt/compose.yaml").exists());
}

#[test]
fn template_overrides_replace_one_file_and_unknown_ones_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let templates = dir.path().join("templates");
    std::fs::create_dir_all(templates.join("wso2")).unwrap();
    let original = std::fs::read_to_string("targets/wso2/deployment.toml.j2").unwrap();
    std::fs::write(
        templates.join("wso2/deployment.toml.j2"),
        format!("{original}\n[apim.analytics]\nenable = false\n"),
    )
    .unwrap();
    let checked = topoc::check_path(
        Path::new("examples/distributed-4.x.topo"),
        &DiskFs,
        &SeverityConfig::default(),
    )
    .unwrap();
    let artifacts = topoc::build::render(&checked, &[Target::Compose], Some(&templates)).unwrap();
    let config = toml_file(
        &artifacts,
        "compose/frankfurt/config/gateway-1/deployment.toml",
    );
    assert_eq!(config["apim"]["analytics"]["enable"].as_bool(), Some(false));
    std::fs::write(templates.join("unknown.j2"), "x").unwrap();
    assert!(topoc::build::render(&checked, &[Target::Compose], Some(&templates)).is_err());
}

#[test]
fn targets_can_be_chosen() {
    let checked = topoc::check_path(
        Path::new("examples/upgrades.topo"),
        &DiskFs,
        &SeverityConfig::default(),
    )
    .unwrap();
    let artifacts = topoc::build::render(&checked, &[Target::Kubernetes], None).unwrap();
    // The manifests and the Dockerfiles of the images they run.
    assert!(
        artifacts
            .paths()
            .all(|p| p.starts_with("kubernetes/") || p.starts_with("docker/") || !p.contains('/'))
    );
    let output = topoc(&[
        "build",
        "examples/upgrades.topo",
        "--out",
        "/dev/null/x",
        "--target",
        "nonsense",
    ]);
    assert_eq!(code(&output), 2);
}

/// The hostile fixture: names such as `yes`, `on`, `null`, strings with
/// `: `, `#`, quotes, backslashes, `$(...)` and backticks.
#[test]
fn hostile_names_and_strings_come_out_quoted_and_intact() {
    let artifacts = render(Path::new("tests/fixtures/build/hostile.topo"));
    let docs = parse_back(&artifacts);
    let database = "q'u\"o\\te `tick` $(touch /tmp/topoc-pwned) # x";
    let user = "$(touch /tmp/topoc-pwned)";
    // deployment.toml (Compose and Puppet hosts) parses back to the exact strings.
    let config: toml::Table = artifacts
        .get("compose/on/config/null-1/deployment.toml")
        .unwrap()
        .parse()
        .unwrap();
    let apim_db = &config["database"]["apim_db"];
    // WSO2 pastes the URL into master-datasources.xml: its XML characters
    // are entities, read back as they were (DS004, allowed here, says no
    // JDBC URL carries this name).
    let as_xml = database.replace('\'', "&apos;").replace('"', "&quot;");
    assert!(apim_db["url"].as_str().unwrap().ends_with(&as_xml));
    assert_eq!(apim_db["username"].as_str(), Some(user));
    // Kubernetes labels and names built from `yes`, `on`, `null` are strings.
    let namespaces: Vec<&Value> = docs
        .iter()
        .filter(|(_, d)| d["kind"] == "Namespace")
        .map(|(_, d)| &d["metadata"]["name"])
        .collect();
    assert_eq!(namespaces, ["yes-off", "yes-on"]);
    let cp = docs
        .iter()
        .find(|(_, d)| d["kind"] == "Deployment" && d["metadata"]["name"] == "null-1")
        .unwrap();
    assert_eq!(cp.1["metadata"]["labels"]["topoc/cluster"], "null");
    // Compose: `$` is escaped against interpolation.
    let compose: Value =
        serde_saphyr::from_str(artifacts.get("compose/off/compose.yaml").unwrap()).unwrap();
    let url = compose["services"]["gw-1-artifact-sync"]["environment"]["ARTIFACT_URL"]
        .as_str()
        .unwrap();
    assert_eq!(
        url,
        "https://artifacts.example/apim$$(touch/tmp/topoc-pwned)"
    );
    // Hiera: `%{` cannot interpolate. Hiera interpolates every string of
    // the node's data; what it makes of them, deployment.toml included,
    // parses back to the exact users.
    let hiera = yaml(&artifacts, "puppet/data/nodes/null-1.on.example.yaml");
    for text in strings(&hiera) {
        hiera_interpolate(text);
    }
    let config: toml::Table = hiera_interpolate(hiera["apim::deployment_toml"].as_str().unwrap())
        .parse()
        .unwrap();
    assert_eq!(
        config["database"]["apim_db"]["username"].as_str(),
        Some(user)
    );
    assert_eq!(
        config["database"]["shared_db"]["username"].as_str(),
        Some("${HOME}%{::fqdn}")
    );
}

/// The load balancer of an all-in-one pair routes API traffic to the
/// gateway port and the portals to 9443 (nginx and Ingress alike), and the
/// generated `lb.sh` edits every upstream and location of it: drain and
/// undrain a host, read-only and read-write, add and remove the temporary
/// node, ending where it began.
#[test]
fn load_balancer_routes_and_lb_script_cover_every_upstream() {
    let (_dir, out) = build_example("examples/all-in-one-3.2.topo", &[]);
    let site = out.join("compose/main");
    let conf_path = site.join("nginx/nginx.conf");
    let original = std::fs::read_to_string(&conf_path).unwrap();
    assert!(original.contains("server \"apim-1.apim.bookshop.example:8243\""));
    assert!(original.contains("server \"apim-1.apim.bookshop.example:9443\""));
    let locations = original.matches("location ").count();
    assert!(locations > 5, "{original}");
    let ingress = std::fs::read_to_string(out.join("kubernetes/main/30-ingress.yaml")).unwrap();
    let routes: Vec<(String, String, u64)> = serde_saphyr::from_multiple::<Value>(&ingress)
        .unwrap()
        .iter()
        .filter(|d| d["kind"] == "Ingress")
        .flat_map(|d| d["spec"]["rules"].as_array().unwrap().clone())
        .flat_map(|rule| {
            let host = rule["host"].as_str().unwrap().to_string();
            rule["http"]["paths"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    (
                        host.clone(),
                        p["path"].as_str().unwrap().to_string(),
                        p["backend"]["service"]["port"]["number"].as_u64().unwrap(),
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let route = |path: &str| {
        routes
            .iter()
            .find(|(host, p, _)| host == "api.bookshop.example" && p == path)
            .map(|(_, _, port)| *port)
    };
    assert_eq!(route("/"), Some(8243), "{routes:?}");
    assert_eq!(route("/publisher"), Some(9443), "{routes:?}");
    // WebSocket APIs: the load balancer listens on the gateways' own ports
    // and passes the upgrade on; the advertised endpoints are the ones it
    // serves (443 for API calls, 8099 and 9099 for WebSockets).
    assert!(original.contains("server \"apim-2.apim.bookshop.example:8099\""));
    assert!(original.contains("server \"apim-2.apim.bookshop.example:9099\""));
    assert!(original.contains("listen 8099 ssl;") && original.contains("listen 9099;"));
    assert_eq!(
        original
            .matches("proxy_set_header Upgrade $http_upgrade;")
            .count(),
        2
    );
    let toml: toml::Table = std::fs::read_to_string(site.join("config/apim-1/deployment.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let environment = &toml["apim"]["gateway"]["environment"][0];
    for (key, endpoint) in [
        ("https_endpoint", "https://api.bookshop.example"),
        ("http_endpoint", "http://api.bookshop.example"),
        ("wss_endpoint", "wss://api.bookshop.example:8099"),
        ("ws_endpoint", "ws://api.bookshop.example:9099"),
    ] {
        assert_eq!(environment[key].as_str(), Some(endpoint), "{key}");
    }
    let compose: Value =
        serde_saphyr::from_str(&std::fs::read_to_string(site.join("compose.yaml")).unwrap())
            .unwrap();
    let ports = compose["services"]["load-balancer"]["ports"]
        .as_array()
        .unwrap();
    for port in ["8099:8099", "9099:9099"] {
        assert!(ports.iter().any(|p| p == port), "{port} in {ports:?}");
    }

    let lb = lb_script(&site);
    let host = "apim-1.apim.bookshop.example";
    let drained = lb("drain", host);
    // API, portal, wss and ws upstreams.
    assert_eq!(drained.matches(" down;").count(), 4, "{drained}");
    assert_eq!(lb("undrain", host), original);
    let read_only = lb("read-only", "api.bookshop.example");
    let portal_locations = original.matches("# topoc portal").count();
    assert!(portal_locations > 0 && portal_locations < locations);
    assert_eq!(
        read_only
            .matches("if ($topoc_read_only) { return 403; }")
            .count(),
        portal_locations,
        "every portal location refuses writes"
    );
    // API traffic (the catch-all location) keeps its writes.
    let api = &read_only[read_only.find("location \"/\" {").unwrap()..];
    let api = &api[..api.find('}').unwrap()];
    assert!(!api.contains("topoc_read_only"), "{api}");
    assert_eq!(lb("read-write", "api.bookshop.example"), original);
    let surge = "apim-surge.apim.bookshop.example";
    let added = lb("add", surge);
    assert_eq!(added.matches("# topoc surge added").count(), 4, "{added}");
    assert_eq!(lb("remove", surge), original);
}

/// APIM 2.x reads XML configuration, not deployment.toml: the build says
/// so instead of writing files the product would ignore.
#[test]
fn a_version_before_3_is_not_built_into_deployment_toml() {
    let example = std::fs::read_to_string("examples/all-in-one-3.2.topo").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let topology = dir.path().join("old.topo");
    std::fs::write(
        &topology,
        example.replace("version = \"3.2.0\"", "version = \"2.6.0\""),
    )
    .unwrap();
    let out = dir.path().join("out");
    let built = topoc(&[
        "build",
        topology.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code(&built), 1);
    let stderr = String::from_utf8_lossy(&built.stderr);
    assert!(
        stderr.contains("APIM 2.6.0") && stderr.contains("deployment.toml"),
        "{stderr}"
    );
    assert!(!out.exists());
    let runbooks = topoc(&[
        "build",
        topology.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--target",
        "runbook",
    ]);
    assert_eq!(
        code(&runbooks),
        0,
        "{}",
        String::from_utf8_lossy(&runbooks.stderr)
    );
}

/// The passive node of an active-passive pair is a `backup` upstream:
/// `lb.sh drain` leaves it standing by (draining it would leave the pair
/// without a standby in nginx), `drain` of the active node still marks it
/// down, and `undrain` puts both back as built.
#[test]
fn draining_a_backup_server_keeps_the_standby() {
    let (_dir, out) = build_example("examples/distributed-4.x.topo", &["--target", "compose"]);
    let site = out.join("compose/frankfurt");
    let conf_path = site.join("nginx/nginx.conf");
    let original = std::fs::read_to_string(&conf_path).unwrap();
    let lb = lb_script(&site);
    let passive = "control-plane-2.apim.payments.example";
    assert!(original.contains(&format!(
        "server \"{passive}:9443\" max_fails=3 fail_timeout=10s backup;"
    )));
    assert_eq!(lb("drain", passive), original, "a standing-by backup stays");
    let active = "control-plane-1.apim.payments.example";
    let drained = lb("drain", active);
    assert!(drained.contains(&format!(
        "server \"{active}:9443\" max_fails=3 fail_timeout=10s down;"
    )));
    assert_eq!(lb("undrain", active), original);
}

/// The cross-datacenter artifact sync never lets a node that has just
/// started (holding only default artifacts) wipe what the other
/// datacenters serve: a push waits for the folder to settle and refuses to
/// shrink the published set below half; a pull keeps what it has when the
/// published archive is empty.
#[test]
fn artifact_sync_never_wipes_the_published_artifacts() {
    let (dir, out) = build_example("examples/multi-datacenter.topo", &["--target", "compose"]);
    let script = out.join("compose/colombo/scripts/artifact-sync.sh");
    let published = dir.path().join("published");
    std::fs::create_dir_all(&published).unwrap();
    let folder = |name: &str, files: usize| {
        let path = dir.path().join(name);
        std::fs::create_dir_all(&path).unwrap();
        for i in 0..files {
            std::fs::write(
                path.join(format!("api-{i}.xml")),
                format!("<api n=\"{i}\"/>"),
            )
            .unwrap();
        }
        path
    };
    let run = |mode: &str, folder: &Path, state: &str| {
        let status = Command::new("sh")
            .arg(&script)
            .arg(mode)
            .env("ARTIFACT_URL", format!("file://{}", published.display()))
            .env("ARTIFACT_DIR", folder)
            .env("ARTIFACT_STATE", dir.path().join(state))
            .env("ARTIFACT_ONCE", "1")
            .status()
            .unwrap();
        assert!(status.success(), "artifact-sync.sh {mode}");
    };
    let archive = published.join("artifacts.tar.gz");
    let full = folder("full", 4);
    run("push", &full, "state-full");
    assert!(!archive.exists(), "the first round only notes the folder");
    run("push", &full, "state-full");
    let pushed = std::fs::read(&archive).unwrap();
    // A node that just started with one default file.
    let fresh = folder("fresh", 1);
    run("push", &fresh, "state-fresh");
    run("push", &fresh, "state-fresh");
    assert_eq!(
        std::fs::read(&archive).unwrap(),
        pushed,
        "the published set stays"
    );
    // A pull brings the four files; an empty archive changes nothing.
    let replica = folder("replica", 0);
    run("pull", &replica, "state-replica");
    assert_eq!(std::fs::read_dir(&replica).unwrap().count(), 4);
    let empty = folder("empty", 0);
    let status = Command::new("tar")
        .args(["-czf"])
        .arg(&archive)
        .arg("-C")
        .arg(&empty)
        .arg(".")
        .status()
        .unwrap();
    assert!(status.success());
    run("pull", &replica, "state-replica");
    assert_eq!(std::fs::read_dir(&replica).unwrap().count(), 4);
}

/// APIM 3.x publishes an API through the gateway environment's service
/// URL; with rsync file sharing only the manager's files reach the other
/// nodes, so the URL names the manager.
#[test]
fn apis_land_on_the_rsync_manager() {
    let artifacts = render(Path::new("examples/all-in-one-3.2.topo"));
    for node in ["apim-1", "apim-2"] {
        let toml = toml_file(
            &artifacts,
            &format!("compose/main/config/{node}/deployment.toml"),
        );
        let environments = toml["apim"]["gateway"]["environment"].as_array().unwrap();
        assert!(!environments.is_empty(), "{node}");
        for environment in environments {
            assert_eq!(
                environment["service_url"].as_str(),
                Some("https://apim-1.apim.bookshop.example:9443/services/"),
                "{node}: {environment}"
            );
        }
    }
}

/// APIM 3.x shares the deployment folder: the artifact sync of a primary
/// gateway reads the shared API folder itself, never a volume of its own
/// mounted over it (which would hide what the other nodes deploy).
#[test]
fn artifact_sync_uses_the_shared_deployment_folder() {
    let artifacts = render(Path::new("tests/fixtures/build/distributed-3.2.topo"));
    let compose: Value =
        serde_saphyr::from_str(artifacts.get("compose/paris/compose.yaml").unwrap()).unwrap();
    let sync = &compose["services"]["gw-1-artifact-sync"];
    assert_eq!(
        sync["environment"]["ARTIFACT_DIR"],
        "/artifacts/synapse-configs/default"
    );
    assert!(compose["volumes"].get("gw-1-synapse").is_none());
    let k8s = yaml_docs(&artifacts, "kubernetes/paris/24-gw.yaml");
    let deployment = named(&k8s, "Deployment", "gw");
    let sync = containers(deployment)
        .into_iter()
        .find(|c| c["name"] == "artifact-sync")
        .expect("the artifact sync");
    let folder = sync["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["mountPath"] == "/artifacts")
        .expect("the synced folder");
    assert_eq!(folder["name"], "share");
    assert_eq!(folder["subPath"], "synapse-configs/default");
    let pod = &deployment["spec"]["template"]["spec"];
    assert!(
        pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["name"] != "artifacts"),
        "{pod}"
    );
    for container in containers(deployment) {
        for mount in container["volumeMounts"].as_array().into_iter().flatten() {
            assert_ne!(mount["name"], "artifacts", "{}", container["name"]);
        }
    }
}

/// A control plane beside a traffic-manager cluster (and, on 3.x, a
/// key-manager cluster) hands them throttling and key management.
#[test]
fn a_control_plane_uses_the_key_and_traffic_managers_beside_it() {
    let artifacts = render(Path::new("tests/fixtures/build/distributed-3.2.topo"));
    let toml = toml_file(
        &artifacts,
        "compose/paris/config/control-plane-1/deployment.toml",
    );
    assert_eq!(
        toml["apim"]["key_manager"]["service_url"].as_str(),
        Some("https://km.paris.retail.example:9443/services/")
    );
    let throttling = &toml["apim"]["throttling"];
    assert_eq!(
        throttling["service_url"].as_str(),
        Some("https://tm.paris.retail.example:9443/services/")
    );
    let decisions = throttling["throttle_decision_endpoints"]
        .as_array()
        .unwrap();
    assert!(
        decisions
            .iter()
            .any(|e| e.as_str() == Some("tcp://tm-1.paris.retail.example:5672")),
        "{decisions:?}"
    );
}

/// Base64 (RFC 4648, with padding), for an `Authorization: Basic` header.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, b| (n << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// An artifact server on 127.0.0.1 that takes GET and PUT of one archive
/// and answers 401 without the expected basic credentials. Serves until
/// the returned flag is set (each request on its own connection).
/// What the test artifact server holds: the last archive PUT to it.
type Stored = std::sync::Arc<std::sync::Mutex<Option<Vec<u8>>>>;

fn artifact_server(
    credentials: &str,
) -> (
    String,
    Stored,
    std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}/apim", listener.local_addr().unwrap());
    let stored: Stored = Arc::new(Mutex::new(None));
    let stop = Arc::new(AtomicBool::new(false));
    let expected = format!("Basic {}", base64(credentials.as_bytes()));
    let (store, done) = (stored.clone(), stop.clone());
    std::thread::spawn(move || {
        while !done.load(Ordering::Relaxed) {
            let Ok((stream, _)) = listener.accept() else {
                std::thread::sleep(std::time::Duration::from_millis(5));
                continue;
            };
            stream.set_nonblocking(false).unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            reader.read_line(&mut request).unwrap();
            let mut headers = Vec::new();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line.trim().is_empty() {
                    break;
                }
                let (name, value) = line.split_once(':').unwrap();
                headers.push((name.to_ascii_lowercase(), value.trim().to_string()));
            }
            let header = |name: &str| {
                headers
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
            };
            let mut stream = stream;
            let reply = |stream: &mut std::net::TcpStream, status: &str, body: &[u8]| {
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                stream.write_all(head.as_bytes()).unwrap();
                stream.write_all(body).unwrap();
            };
            if header("authorization").as_deref() != Some(expected.as_str()) {
                reply(&mut stream, "401 Unauthorized", b"");
                continue;
            }
            let method = request.split_whitespace().next().unwrap_or("").to_string();
            match method.as_str() {
                "GET" => match store.lock().unwrap().clone() {
                    Some(body) => reply(&mut stream, "200 OK", &body),
                    None => reply(&mut stream, "404 Not Found", b""),
                },
                "PUT" => {
                    if header("expect").is_some() {
                        stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").unwrap();
                    }
                    let length: usize = header("content-length").unwrap().parse().unwrap();
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).unwrap();
                    *store.lock().unwrap() = Some(body);
                    reply(&mut stream, "201 Created", b"");
                }
                _ => reply(&mut stream, "405 Method Not Allowed", b""),
            }
        }
    });
    (url, stored, stop)
}

/// With `credentials` on the artifact server, every target hands the
/// secret to the sync (Kubernetes Secret key, Compose secret, Puppet's
/// root-only environment file), and the script authenticates its GETs and
/// PUTs with it through a curl config file: never on a command line.
#[test]
fn artifact_sync_authenticates_without_showing_the_credentials() {
    let artifacts = render(Path::new("examples/multi-datacenter.topo"));
    let k8s = yaml_docs(&artifacts, "kubernetes/london/24-gateway-london.yaml");
    let sync = containers(named(&k8s, "Deployment", "gateway-london"))
        .into_iter()
        .find(|c| c["name"] == "artifact-sync")
        .expect("the artifact sync");
    let credentials = sync["env"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["name"] == "ARTIFACT_CREDENTIALS")
        .expect("ARTIFACT_CREDENTIALS");
    assert_eq!(
        credentials["valueFrom"],
        serde_json::json!({
            "secretKeyRef": {"key": "artifact-sync-credentials", "name": "telco-secrets"}
        })
    );
    let compose: Value =
        serde_saphyr::from_str(artifacts.get("compose/colombo/compose.yaml").unwrap()).unwrap();
    let sync = &compose["services"]["gateway-1-artifact-sync"];
    assert_eq!(
        sync["environment"]["ARTIFACT_CREDENTIALS_FILE"],
        "/run/secrets/artifact-sync-credentials"
    );
    assert_eq!(sync["secrets"][0], "artifact-sync-credentials");
    assert_eq!(
        compose["secrets"]["artifact-sync-credentials"]["file"],
        "./secrets/artifact-sync-credentials"
    );
    let hiera = yaml(
        &artifacts,
        "puppet/data/nodes/gateway-london-1.london.apim.telco.example.yaml",
    );
    assert_eq!(
        hiera["apim::artifact_credentials"],
        "artifact-sync-credentials"
    );
    let readme = artifacts.get("README.md").unwrap();
    assert!(
        readme.contains("| `artifact-sync-credentials` | `ARTIFACT_CREDENTIALS` |"),
        "{readme}"
    );

    // The script against a server that wants basic authentication, with a
    // password that needs quoting; curl's command lines are recorded.
    let password = "pa\"ss\\word $x";
    let credentials = format!("sync:{password}");
    let (url, stored, stop) = artifact_server(&credentials);
    let (dir, out) = build_example("examples/multi-datacenter.topo", &["--target", "compose"]);
    let script = out.join("compose/colombo/scripts/artifact-sync.sh");
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let log = dir.path().join("curl-argv.log");
    let real = String::from_utf8(
        Command::new("sh")
            .args(["-c", "command -v curl"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    std::fs::write(
        bin.join("curl"),
        format!(
            "#!/bin/sh\nprintf '%s\\n' \"$*\" >>'{}'\nexec '{}' \"$@\"\n",
            log.display(),
            real.trim()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(bin.join("curl"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let folder = dir.path().join("apis");
    std::fs::create_dir(&folder).unwrap();
    for i in 0..3 {
        std::fs::write(folder.join(format!("api-{i}.xml")), "<api/>").unwrap();
    }
    let run = |mode: &str, folder: &Path, state: &str, env: (&str, &str)| {
        let output = Command::new("sh")
            .arg(&script)
            .arg(mode)
            .env("PATH", &path)
            .env("ARTIFACT_URL", &url)
            .env("ARTIFACT_DIR", folder)
            .env("ARTIFACT_STATE", dir.path().join(state))
            .env("ARTIFACT_ONCE", "1")
            .env(env.0, env.1)
            .output()
            .unwrap();
        assert!(output.status.success(), "artifact-sync.sh {mode}");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let secret_file = dir.path().join("artifact-sync-credentials");
    std::fs::write(&secret_file, format!("{credentials}\n")).unwrap();
    // Wrong credentials: refused, nothing published.
    run(
        "push",
        &folder,
        "state-wrong",
        ("ARTIFACT_CREDENTIALS", "sync:bad-pw-Qx7"),
    );
    let refused = run(
        "push",
        &folder,
        "state-wrong",
        ("ARTIFACT_CREDENTIALS", "sync:bad-pw-Qx7"),
    );
    assert!(
        refused.contains("refuses the credentials (HTTP 401)"),
        "{refused}"
    );
    assert!(stored.lock().unwrap().is_none());
    // From the environment (Kubernetes, Puppet), then from a file (Compose).
    run(
        "push",
        &folder,
        "state-push",
        ("ARTIFACT_CREDENTIALS", &credentials),
    );
    let pushed = run(
        "push",
        &folder,
        "state-push",
        ("ARTIFACT_CREDENTIALS", &credentials),
    );
    assert!(pushed.contains("pushed"), "{pushed}");
    assert!(stored.lock().unwrap().is_some(), "the archive was PUT");
    let replica = dir.path().join("replica");
    std::fs::create_dir(&replica).unwrap();
    let secret_arg = secret_file.to_str().unwrap();
    let pulled = run(
        "pull",
        &replica,
        "state-pull",
        ("ARTIFACT_CREDENTIALS_FILE", secret_arg),
    );
    assert!(pulled.contains("pulled"), "{pulled}");
    assert_eq!(std::fs::read_dir(&replica).unwrap().count(), 3);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);

    let argv = std::fs::read_to_string(&log).unwrap();
    assert!(argv.lines().count() >= 5, "{argv}");
    assert!(
        !argv.contains("pa\"ss") && !argv.contains("Qx7"),
        "a password on curl's command line: {argv}"
    );
    let conf = dir.path().join("state-push/curl.conf");
    let mode = std::fs::metadata(&conf).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the curl config is the user's alone");
}
