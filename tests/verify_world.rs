//! Every verification of every runbook can fail, and passes once its step
//! ran: each step's `verify` is run by bash (`bash -euo pipefail -c`),
//! exactly as pasted, in a fake world that stands for the system before
//! the step (the step's verification must exit non-zero), then the step's
//! `commands` run there and every `verify` must exit 0. The runbooks are
//! every upgrade, failover and the bootstrap of `examples/*.topo`, for the
//! three targets, from the planner (each checked to be what `topoc plan
//! --format json` prints); the database steps (dump, restore, migrate-db,
//! token-sync, promote-db, create-db, load-schema, a replica's start-sync)
//! and manual steps are left out: they need real database servers, or an
//! operator. What main's runbooks cannot show is listed in [`KNOWN`], with
//! why; an entry that no longer matches a step fails the test.
//!
//! # The world
//!
//! A world is a folder: the build of the topology (`out/`, the folder the
//! commands run in), the build at the upgrade's version when it has one
//! (`NEXT_BUILD`, `next/`: the topology at `to_version`; for a migration
//! also under another name and domain, so the new deployment is another
//! namespace, project and set of hosts), the operator's files beside
//! `out/` (secrets, drivers, keystores, certificates, the Hiera secrets),
//! a Puppet server's environments folder (`PUPPET_ENVIRONMENT`), and
//! `state/`, what the stand-in programs on `PATH` read and change. `PATH`
//! holds only those programs and a list of real tools (coreutils, grep,
//! awk, sed, rsync, ...): a program the runbooks call that the world does
//! not model is not found.
//!
//! The stand-ins (`tests/world/`, bash) answer from the state as the real
//! tools would for the subset the runbooks use, in the output formats the
//! runbooks parse, and fail the way the real ones fail:
//!
//! - `kubectl`: namespaces, objects applied from manifests (what the test
//!   read from each manifest is cataloged by the file's SHA-256: labels;
//!   a Deployment's replicas, container images, template, strategy, the
//!   Secrets its pods need, the ConfigMap naming the serving node of a
//!   pair; a Service's selector; an Ingress's annotations and rules), with
//!   `apply` (a three-way merge of selectors and annotations), `diff`,
//!   `delete`, `get` (the jsonpaths the runbooks use), `scale`, `set
//!   image`, `patch`, `label`, `annotate`, `rollout status|undo`, `exec`
//!   (curl, `test -s`, `rm -f` in a pod), `cp`, `create secret --dry-run
//!   -o yaml`. Pods, their readiness and EndpointSlices follow at once.
//! - `docker`: `compose` projects (`up`, `stop`, `rm`, `ps -q`, `ps
//!   --format '{{.Image}}'`, `config --images`, `pull`, `exec`, `cp`,
//!   `${VAR:-default}` in images, profiles, `depends_on`, bind mounts that
//!   must exist), `image inspect`, `build`, `push`, `manifest inspect`,
//!   `login`, and a registry.
//! - `ssh HOST COMMAND` runs COMMAND in bash over the host's own root and
//!   state (`remote.sh`: `systemctl`, `puppet agent` and `puppet config`,
//!   `curl` to localhost, `pgrep -f` of the JVM, `wso2update_linux`,
//!   `sudo`, and file tools over the host's root); `scp` copies there.
//!   The Puppet agent applies its node's Hiera data from the environment
//!   it is set to, as the generated module does (see `remote.sh`).
//! - `curl` on this machine reaches a load balancer host name through the
//!   world's DNS (`getent ahosts` answers from the same records): nginx of
//!   a Compose project or a Puppet host, with the nginx.conf as `lb.sh`
//!   left it (the real generated `lb.sh`, run as pasted on Compose and as
//!   `sudo /usr/local/bin/apim-lb` on the load balancer host, with
//!   `LB_RELOAD=:`), or the ingress controller of a namespace.
//! - `traffic-switch` is the operator's `TRAFFIC_SWITCH`; `seq` counts to
//!   two at most and `sleep` returns at once: nothing in the world changes
//!   while a check waits, so a third try answers as the second did.
//!
//! What the world cannot model faithfully, and so does not: time (a
//! rollout replaces every pod at once, an image pulls at once); a node's
//! software beyond its image, update level and product home (a health
//! check answers unless the node is marked hung); init containers waiting
//! for databases and other clusters (the databases are not here); nginx
//! beyond the generated configuration's upstreams, TLS servers, locations
//! and lb.sh's read-only marks; ownership of files on hosts; DNS TTLs.
//!
//! # The steps
//!
//! Before the runbook, the world is as built and deployed: the bootstrap's
//! `prepare` commands, then every manifest applied (a standby site's with
//! `replicas: 0`, its Ingresses left for the failover), every running
//! site's Compose project up, every host's Puppet agent run (a temporary
//! node's disabled); for a migration, the new deployment's own `prepare`
//! commands (its namespaces' Secrets) and every version's packs on every
//! host. The bootstrap starts from the operator's files alone. Then each
//! step in order:
//!
//! - A step that changes the system: its verifications run first, in the
//!   world as the runbook's earlier steps left it; the verification must
//!   fail (one of its lines at least; a health check beside the state the
//!   step changes may pass) and none may change the world. Then its commands run (each must
//!   exit 0) and every verification must pass.
//! - A step that only checks (a test, or a later step of a rollout that
//!   only waits for pods): what it checks is broken first (the node, the
//!   Deployment's pods or the new deployment's address marked hung: the
//!   process runs, nothing answers); one verification at least must fail.
//!   Then, unbroken, its commands and verifications must pass.
//! - A database or manual step is skipped; a step without verification
//!   only runs its commands.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use topoc::Checked;
use topoc::deployment::{Deployment, Shape, Site};
use topoc::diagnostics::SeverityConfig;
use topoc::emit::{self, Artifacts};
use topoc::load::DiskFs;
use topoc::model::{UpgradeId, UpgradeKind};
use topoc::plan::{self, Action, Plan, Step, Target};

const TARGETS: [Target; 3] = [Target::Kubernetes, Target::Compose, Target::Puppet];

/// The stand-ins, run from `PATH`.
const FAKES: &[&str] = &[
    "kubectl",
    "docker",
    "ssh",
    "scp",
    "curl",
    "getent",
    "traffic-switch",
    "seq",
    "sleep",
];

/// Sourced by the stand-ins.
const SOURCED: &[&str] = &["lib.sh", "remote.sh"];

/// The real programs on the world's `PATH`.
const TOOLS: &[&str] = &[
    "bash",
    "sh",
    "cat",
    "grep",
    "awk",
    "sed",
    "mkdir",
    "cp",
    "rm",
    "mv",
    "head",
    "tail",
    "xargs",
    "basename",
    "dirname",
    "find",
    "ls",
    "mktemp",
    "rsync",
    "sort",
    "tr",
    "cut",
    "wc",
    "tee",
    "env",
    "true",
    "false",
    "chmod",
    "ln",
    "touch",
    "cmp",
    "sha256sum",
    "date",
    "printf",
    "readlink",
    "realpath",
    "install",
];

/// How many commands the worlds ran, and for how long in all.
static RUNS: AtomicU64 = AtomicU64::new(0);
static RUN_NANOS: AtomicU64 = AtomicU64::new(0);

/// The values the runbooks' variables get.
const PATCH_TAG: &str = "patch-999";
const FIXED_TAG: &str = "fixed-999";
const NEW_ENDPOINT: &str = "new-endpoint.world.example";
const OLD_ENDPOINT: &str = "old-endpoint.world.example";

/// A real program, found on this machine's `PATH`.
fn real(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
        .or_else(|| {
            ["/usr/bin", "/bin"]
                .iter()
                .map(|d| Path::new(d).join(program))
                .find(|p| p.is_file())
        })
}

fn write(path: &Path, content: impl AsRef<[u8]>) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(path, content).unwrap();
}

/// Lines, each ended by a newline (the stand-ins' files).
fn lines<I: IntoIterator<Item = S>, S: AsRef<str>>(items: I) -> String {
    items
        .into_iter()
        .map(|s| format!("{}\n", s.as_ref()))
        .collect()
}

fn sha(bytes: &[u8]) -> String {
    emit::output::sha256_hex(bytes)
}

/// A map of strings (labels, a selector) as `k=v` lines.
fn pairs(value: &Value) -> String {
    lines(
        value
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default())),
    )
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The image references of a catalog, to put in the registry.
#[derive(Default)]
struct Images {
    all: BTreeSet<String>,
}

/// The repository of an image reference (what precedes its tag).
fn repository(image: &str) -> &str {
    match image.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => repo,
        _ => image,
    }
}

/// What the stand-ins know of a Kubernetes manifest.
fn catalog_kubernetes(dir: &Path, content: &str, images: &mut Images) {
    let docs: Vec<Value> = serde_saphyr::from_multiple(content).expect("a manifest parses");
    for (n, doc) in docs.iter().filter(|d| !d.is_null()).enumerate() {
        let o = dir.join("objects").join(format!("{n:03}"));
        let kind = text(&doc["kind"]);
        let meta = &doc["metadata"];
        write(&o.join("kind"), lines([&kind]));
        write(&o.join("name"), lines([text(&meta["name"])]));
        write(&o.join("namespace"), lines([text(&meta["namespace"])]));
        write(&o.join("labels"), pairs(&meta["labels"]));
        write(&o.join("digest"), lines([sha(doc.to_string().as_bytes())]));
        let spec = &doc["spec"];
        match kind.as_str() {
            "Deployment" => {
                let template = &spec["template"];
                let pod = &template["spec"];
                let replicas = spec["replicas"].as_u64().unwrap_or(1);
                write(&o.join("replicas"), lines([replicas.to_string()]));
                let mut image_lines = Vec::new();
                let mut stripped = template.clone();
                for (key, prefix) in [("initContainers", "init:"), ("containers", "")] {
                    for c in pod[key].as_array().into_iter().flatten() {
                        let image = text(&c["image"]);
                        images.all.insert(image.clone());
                        image_lines.push(format!("{prefix}{}={image}", text(&c["name"])));
                    }
                    for c in stripped["spec"][key].as_array_mut().into_iter().flatten() {
                        c["image"] = Value::Null;
                    }
                }
                write(&o.join("images"), lines(&image_lines));
                // The artifact sync's mode (push or pull), from its command.
                let sync = pod["containers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|c| c["name"] == "artifact-sync")
                    .map(|c| sync_mode(&c["command"]))
                    .unwrap_or_default();
                write(&o.join("sync"), lines([sync]));
                write(
                    &o.join("tbase"),
                    lines([sha(stripped.to_string().as_bytes())]),
                );
                let tlabels = &template["metadata"]["labels"];
                write(&o.join("tlabels"), pairs(tlabels));
                write(&o.join("node"), lines([text(&tlabels["topoc/node"])]));
                let strategy = &spec["strategy"];
                let strategy = if strategy["type"].as_str() == Some("Recreate") {
                    "Recreate".to_string()
                } else {
                    let rolling = &strategy["rollingUpdate"];
                    let value = |v: &Value| match v {
                        Value::Null => "25%".to_string(),
                        v => text(v),
                    };
                    format!(
                        "RollingUpdate {} {}",
                        value(&rolling["maxSurge"]),
                        value(&rolling["maxUnavailable"])
                    )
                };
                write(&o.join("strategy"), lines([strategy]));
                let mut needs = BTreeSet::new();
                let mut serving = String::new();
                for volume in pod["volumes"].as_array().into_iter().flatten() {
                    if let Some(secret) = volume["secret"]["secretName"].as_str() {
                        needs.insert(secret.to_string());
                    }
                    for source in volume["projected"]["sources"]
                        .as_array()
                        .into_iter()
                        .flatten()
                    {
                        if let Some(secret) = source["secret"]["name"].as_str() {
                            needs.insert(secret.to_string());
                        }
                    }
                    if let Some(cm) = volume["configMap"]["name"].as_str() {
                        let mounted = pod["containers"].as_array().into_iter().flatten().any(|c| {
                            c["volumeMounts"].as_array().into_iter().flatten().any(|m| {
                                m["name"] == volume["name"]
                                    && m["mountPath"].as_str()
                                        == Some(topoc::deployment::layout::SERVING_DIR)
                            })
                        });
                        if mounted {
                            serving = cm.to_string();
                        }
                    }
                }
                for key in ["initContainers", "containers"] {
                    for c in pod[key].as_array().into_iter().flatten() {
                        for env in c["env"].as_array().into_iter().flatten() {
                            if let Some(secret) = env["valueFrom"]["secretKeyRef"]["name"].as_str()
                            {
                                needs.insert(secret.to_string());
                            }
                        }
                        for from in c["envFrom"].as_array().into_iter().flatten() {
                            if let Some(secret) = from["secretRef"]["name"].as_str() {
                                needs.insert(secret.to_string());
                            }
                        }
                    }
                }
                for pull in pod["imagePullSecrets"].as_array().into_iter().flatten() {
                    if let Some(secret) = pull["name"].as_str() {
                        needs.insert(secret.to_string());
                    }
                }
                write(&o.join("needs"), lines(&needs));
                write(&o.join("serving_cm"), lines([serving]));
            }
            "Service" => write(&o.join("selector"), pairs(&spec["selector"])),
            "ConfigMap" => {
                if let Some(node) = doc["data"]["node"].as_str() {
                    write(&o.join("data/node"), lines([node]));
                }
            }
            "Ingress" => {
                std::fs::create_dir_all(o.join("annotations")).unwrap();
                for (key, value) in meta["annotations"].as_object().into_iter().flatten() {
                    write(
                        &o.join("annotations").join(key.replace('/', "~")),
                        lines([text(value)]),
                    );
                }
                let mut rules = Vec::new();
                for rule in spec["rules"].as_array().into_iter().flatten() {
                    for path in rule["http"]["paths"].as_array().into_iter().flatten() {
                        rules.push(format!(
                            "{} {} {}",
                            text(&rule["host"]),
                            text(&path["path"]),
                            text(&path["backend"]["service"]["name"])
                        ));
                    }
                }
                write(&o.join("rules"), lines(&rules));
            }
            _ => {}
        }
    }
}

/// What the stand-ins know of a Compose file; the bind sources it needs.
fn catalog_compose(dir: &Path, content: &str, images: &mut Images) -> Vec<String> {
    let doc: Value = serde_saphyr::from_str(content).expect("a compose file parses");
    write(&dir.join("name"), lines([text(&doc["name"])]));
    let mut binds = Vec::new();
    for (name, service) in doc["services"].as_object().into_iter().flatten() {
        let s = dir.join("services").join(name);
        let image = text(&service["image"]);
        images.all.insert(default_interpolation(&image));
        write(&s.join("image"), lines([&image]));
        let profiles: Vec<String> = service["profiles"]
            .as_array()
            .into_iter()
            .flatten()
            .map(text)
            .collect();
        write(&s.join("profiles"), lines([profiles.join(" ")]));
        write(&s.join("sync"), lines([sync_mode(&service["command"])]));
        let depends: Vec<String> = match &service["depends_on"] {
            Value::Array(items) => items.iter().map(text).collect(),
            Value::Object(map) => map.keys().cloned().collect(),
            _ => Vec::new(),
        };
        write(&s.join("depends"), lines(&depends));
        let mut aliases = Vec::new();
        for network in service["networks"].as_object().into_iter().flatten() {
            aliases.extend(
                network.1["aliases"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(text),
            );
        }
        write(&s.join("aliases"), lines(&aliases));
        let sources: Vec<String> = service["volumes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|v| v["type"].as_str() == Some("bind"))
            .map(|v| text(&v["source"]))
            .collect();
        binds.extend(sources.iter().cloned());
        write(&s.join("binds"), lines(&sources));
    }
    binds
}

/// The mode of an artifact sync's command line (`... artifact-sync.sh
/// push`): push, pull, or empty for any other command.
fn sync_mode(command: &Value) -> String {
    let words: Vec<&str> = command
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    words
        .iter()
        .position(|w| w.ends_with("/artifact-sync.sh"))
        .and_then(|at| words.get(at + 1))
        .map(|mode| mode.to_string())
        .unwrap_or_default()
}

/// An image of a Compose file with its variables' defaults.
fn default_interpolation(image: &str) -> String {
    let mut out = String::new();
    let mut rest = image;
    while let Some(at) = rest.find("${") {
        out.push_str(&rest[..at]);
        let end = rest[at..]
            .find('}')
            .map(|e| at + e)
            .unwrap_or(rest.len() - 1);
        let inner = &rest[at + 2..end];
        if let Some((_, default)) = inner.split_once(":-") {
            out.push_str(default);
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// What the stand-in Puppet agent knows of a node's Hiera data.
fn catalog_puppet_node(dir: &Path, content: &str) {
    let doc: Value = serde_saphyr::from_str(content).expect("Hiera data parses");
    if let Some(config) = doc["apim::load_balancer::config"].as_str() {
        write(&dir.join("kind"), "lb\n");
        write(&dir.join("nginx.conf"), config);
        let running = doc["apim::load_balancer::running"]
            .as_bool()
            .unwrap_or(true);
        write(&dir.join("running"), lines([running.to_string()]));
        return;
    }
    write(&dir.join("kind"), "node\n");
    write(
        &dir.join("product_dir"),
        lines([text(&doc["apim::product_dir"])]),
    );
    write(&dir.join("version"), lines([text(&doc["apim::version"])]));
    let running = doc["apim::running"].as_bool().unwrap_or(true);
    write(&dir.join("running"), lines([running.to_string()]));
    let list = |key: &str| -> Vec<String> {
        doc[key]
            .as_array()
            .into_iter()
            .flatten()
            .map(text)
            .collect()
    };
    write(&dir.join("drivers"), lines(list("apim::drivers")));
    write(
        &dir.join("artifact_sync"),
        lines([doc["apim::artifact_sync"].as_str().unwrap_or("none")]),
    );
    write(&dir.join("security"), lines(list("apim::security_files")));
    let env = serde_json::json!([
        doc["apim::secret_envs"],
        doc["apim::heap_mib"],
        doc["apim::java_home"]
    ]);
    write(
        &dir.join("envdigest"),
        lines([sha(env.to_string().as_bytes())]),
    );
}

/// A build of a topology for every target but the runbooks.
fn render(checked: &Checked) -> Artifacts {
    topoc::build::render(
        checked,
        &[
            emit::Target::Kubernetes,
            emit::Target::Compose,
            emit::Target::Puppet,
        ],
        None,
    )
    .expect("the topology builds")
}

/// The topology at an upgrade's version, as the operator writes it for
/// `NEXT_BUILD`: a migration's new deployment has another name and its
/// datacenters other domains (other namespaces, projects and hosts).
fn next_topology(checked: &Checked, upgrade: usize) -> Option<Checked> {
    let u = &checked.topology.upgrades[upgrade];
    let version = u.to_version.clone()?;
    let mut next = checked.clone();
    let t = &mut next.topology;
    t.version = Some(version);
    if u.kind() == Some(UpgradeKind::Migration) {
        t.name = format!("{}next", t.name);
        for dc in &mut t.datacenters {
            dc.domain = format!("next.{}", dc.domain);
        }
    }
    Some(next)
}

/// A runbook to run, with what its world needs.
struct Runbook {
    /// `topology: runbook`, for messages.
    label: String,
    /// The runbook's `topoc plan` arguments (`--upgrade NAME`, ...).
    cli: Vec<String>,
    plan: Plan,
    bootstrap: bool,
    /// The build at the upgrade's version, and its deployment.
    next: Option<(Artifacts, Deployment)>,
    migration: bool,
    /// The datacenter a failover moves to.
    failover_to: Option<String>,
    /// A migration's new deployment prepared by the operator as its own
    /// bootstrap does (the Secrets of its namespaces): run in `next/`.
    next_prepare: Vec<String>,
}

struct Topology {
    path: String,
    checked: Checked,
    deployment: Deployment,
    artifacts: Artifacts,
}

fn load(path: &str) -> Topology {
    let checked =
        topoc::check_path(Path::new(path), &DiskFs, &SeverityConfig::default()).expect("loads");
    assert!(!checked.has_errors(), "{path} has errors");
    let deployment = topoc::deployment::plan(&checked.topology);
    let artifacts = render(&checked);
    Topology {
        path: path.to_string(),
        checked,
        deployment,
        artifacts,
    }
}

fn runbooks(t: &Topology, target: Target) -> Vec<Runbook> {
    let topology = &t.checked.topology;
    let d = &t.deployment;
    let mut out = Vec::new();
    for i in 0..topology.upgrades.len() {
        let migration = topology.upgrades[i].kind() == Some(UpgradeKind::Migration);
        let mut next_prepare = Vec::new();
        let next = next_topology(&t.checked, i).map(|next| {
            let deployment = topoc::deployment::plan(&next.topology);
            if migration {
                next_prepare = prepare_commands(&next.topology, &deployment, target);
            }
            (render(&next), deployment)
        });
        out.push(Runbook {
            label: format!(
                "{} {} --upgrade {}",
                t.path,
                target.name(),
                topology.upgrades[i].name
            ),
            cli: vec!["--upgrade".into(), topology.upgrades[i].name.clone()],
            plan: plan::plan_upgrade(topology, d, UpgradeId(i), target),
            bootstrap: false,
            next,
            migration,
            failover_to: None,
            next_prepare,
        });
    }
    for site in &d.sites {
        if let Some(p) = plan::plan_failover(topology, d, &site.name, target) {
            out.push(Runbook {
                label: format!("{} {} --failover {}", t.path, target.name(), site.name),
                cli: vec!["--failover".into(), site.name.clone()],
                plan: p,
                bootstrap: false,
                next: None,
                migration: false,
                failover_to: Some(site.name.clone()),
                next_prepare: Vec::new(),
            });
        }
    }
    out.push(Runbook {
        label: format!("{} {} --bootstrap", t.path, target.name()),
        cli: vec!["--bootstrap".into()],
        plan: plan::plan_bootstrap(topology, d, target),
        bootstrap: true,
        next: None,
        migration: false,
        failover_to: None,
        next_prepare: Vec::new(),
    });
    out
}

/// A world: its folder and the environment every command runs in.
struct World {
    /// Removed with the world, unless VERIFY_WORLD_KEEP is set.
    _dir: Option<tempfile::TempDir>,
    root: PathBuf,
    /// The update level of the packs on the hosts.
    level: u64,
    env: BTreeMap<String, String>,
    bash: PathBuf,
    timeout: PathBuf,
    target: Target,
    catalogs: Catalogs,
}

/// The images and bind sources of a cataloged file.
type Found = (Vec<String>, Vec<String>);

/// What the stand-ins read of the builds' files, by content (the same
/// file in every world is read once): `catalog/` of every world.
#[derive(Clone)]
struct Catalogs {
    dir: PathBuf,
    /// Removes `dir` with the last world, unless VERIFY_WORLD_KEEP is set.
    _guard: Option<Arc<tempfile::TempDir>>,
    /// By content: its images and bind sources.
    done: Arc<Mutex<BTreeMap<String, Found>>>,
}

/// The address of a datacenter's load balancers: `10.<deployment>.<site>.1`.
fn address(deployment: usize, site: usize) -> String {
    format!("10.{}.{}.1", 100 + deployment, site)
}

impl World {
    fn new(t: &Topology, runbook: &Runbook, target: Target, catalogs: &Catalogs) -> World {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let dir = if std::env::var_os("VERIFY_WORLD_KEEP").is_some() {
            let _ = dir.keep();
            None
        } else {
            Some(dir)
        };
        let bash = real("bash").expect("bash");
        let timeout = real("timeout").expect("timeout");
        let mut world = World {
            _dir: dir,
            root,
            level: t
                .checked
                .topology
                .update_level
                .as_ref()
                .map(|l| l.value)
                .unwrap_or(0),
            env: BTreeMap::new(),
            bash,
            timeout,
            target,
            catalogs: catalogs.clone(),
        };
        #[cfg(unix)]
        std::os::unix::fs::symlink(&catalogs.dir, world.root.join("catalog")).unwrap();
        world.programs();
        let mut images = Images::default();
        let mut binds = Vec::new();
        world.build("out", &t.artifacts, &mut images, &mut binds);
        let mut deployments = vec![&t.deployment];
        if let Some((next, deployment)) = &runbook.next {
            world.build("next", next, &mut images, &mut binds);
            if runbook.migration {
                deployments.push(deployment);
            }
        }
        world.operator_files(&deployments, &binds);
        world.packs_everywhere();
        let next = runbook.next.as_ref().map(|(_, d)| d);
        world.registry(&images, &t.deployment, next, runbook.bootstrap);
        world.names(&deployments, target, runbook);
        let w = &world.root;
        std::fs::create_dir_all(w.join("puppetserver/environments/production")).unwrap();
        std::fs::create_dir_all(w.join("tmp")).unwrap();
        std::fs::create_dir_all(w.join("home")).unwrap();
        write(
            &w.join("fixed/BookingAPI_v1.0.0.xml"),
            "<api name=\"BookingAPI\"/>\n",
        );
        let vars = [
            ("WORLD", w.display().to_string()),
            ("PATH", w.join("bin").display().to_string()),
            ("HOME", w.join("home").display().to_string()),
            ("TMPDIR", w.join("tmp").display().to_string()),
            ("LANG", "C".to_string()),
            ("LB_RELOAD", ":".to_string()),
            ("PATCH_TAG", PATCH_TAG.to_string()),
            ("FIXED_TAG", FIXED_TAG.to_string()),
            ("NEXT_BUILD", w.join("next").display().to_string()),
            (
                "FIXED_ARTIFACT",
                w.join("fixed/BookingAPI_v1.0.0.xml").display().to_string(),
            ),
            ("DUMP_DIR", w.join("dumps").display().to_string()),
            ("WSO2_UPDATES_USERNAME", "operator@example.com".to_string()),
            ("WSO2_UPDATES_PASSWORD", "update-password".to_string()),
            ("NEW_ENDPOINT", NEW_ENDPOINT.to_string()),
            ("OLD_ENDPOINT", OLD_ENDPOINT.to_string()),
            (
                "TRAFFIC_SWITCH",
                w.join("bin/traffic-switch").display().to_string(),
            ),
            (
                "PUPPET_ENVIRONMENT",
                w.join("puppetserver/environments/production")
                    .display()
                    .to_string(),
            ),
            ("REGISTRY_USER", "robot".to_string()),
            ("REGISTRY_PASSWORD", "registry-password".to_string()),
        ];
        for (k, v) in vars {
            world.env.insert(k.to_string(), v);
        }
        world
    }

    /// The stand-ins and the real tools, on the world's `PATH`.
    fn programs(&self) {
        let fakes = self.root.join("fakes");
        let bin = self.root.join("bin");
        std::fs::create_dir_all(&fakes).unwrap();
        std::fs::create_dir_all(&bin).unwrap();
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/world");
        for name in FAKES.iter().chain(SOURCED) {
            let target = fakes.join(name);
            std::fs::copy(source.join(name), &target).unwrap();
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
        }
        #[cfg(unix)]
        {
            for name in FAKES {
                std::os::unix::fs::symlink(fakes.join(name), bin.join(name)).unwrap();
            }
            for tool in TOOLS {
                if let Some(path) = real(tool) {
                    std::os::unix::fs::symlink(path, bin.join(tool)).unwrap();
                }
            }
        }
    }

    /// A build written under `folder` (the files of the world's target
    /// and those of no target), its files cataloged.
    fn build(
        &self,
        folder: &str,
        artifacts: &Artifacts,
        images: &mut Images,
        binds: &mut Vec<String>,
    ) {
        let others: Vec<&str> = ["kubernetes/", "compose/", "puppet/"]
            .into_iter()
            .filter(|p| !p.starts_with(self.target.name()))
            .collect();
        for (path, content) in artifacts.iter() {
            if path.starts_with("runbooks/") || others.iter().any(|o| path.starts_with(o)) {
                continue;
            }
            let file = self.root.join(folder).join(path);
            write(&file, content);
            #[cfg(unix)]
            if path.ends_with(".sh") {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
            let hash = sha(content.as_bytes());
            let catalog = self.catalogs.dir.join(&hash);
            let mut done = self.catalogs.done.lock().unwrap();
            let known = done.get(&hash).cloned();
            if path.starts_with("kubernetes/") && path.ends_with(".yaml") {
                let found = known.unwrap_or_else(|| {
                    let mut found = Images::default();
                    catalog_kubernetes(&catalog, content, &mut found);
                    (found.all.into_iter().collect(), Vec::new())
                });
                images.all.extend(found.0.iter().cloned());
                done.insert(hash, found);
            } else if path.starts_with("compose/") && path.ends_with("/compose.yaml") {
                let found = known.unwrap_or_else(|| {
                    let mut found = Images::default();
                    let sources = catalog_compose(&catalog, content, &mut found);
                    (found.all.into_iter().collect(), sources)
                });
                images.all.extend(found.0.iter().cloned());
                let dir = Path::new(folder).join(path);
                let dir = dir.parent().unwrap();
                for source in &found.1 {
                    binds.push(dir.join(source).display().to_string());
                }
                done.insert(hash, found);
            } else if path.starts_with("puppet/data/nodes/") {
                if known.is_none() {
                    catalog_puppet_node(&catalog, content);
                    done.insert(hash, Default::default());
                }
                drop(done);
                let host = path
                    .trim_start_matches("puppet/data/nodes/")
                    .trim_end_matches(".yaml");
                self.host(host, &catalog);
            }
        }
    }

    /// A Puppet-managed host, with what the operator put in its packs.
    fn host(&self, fqdn: &str, catalog: &Path) {
        let root = self.root.join("hosts").join(fqdn).join("root");
        std::fs::create_dir_all(root.join("tmp")).unwrap();
        std::fs::create_dir_all(self.root.join("hosts").join(fqdn).join("state")).unwrap();
        let read = |name: &str| std::fs::read_to_string(catalog.join(name)).unwrap_or_default();
        if read("kind").trim() != "node" {
            return;
        }
        let packs = root.join("opt/wso2/packs");
        let level = Some(self.level).filter(|&l| l > 0);
        let pack = topoc::deployment::layout::host_pack(read("product_dir").trim(), level);
        write(
            &root.join(pack.trim_start_matches('/')),
            format!("update-level: {}\n", self.level),
        );
        for driver in read("drivers").lines() {
            write(&packs.join("lib").join(driver), "a JDBC driver\n");
        }
        for store in read("security").lines() {
            write(&packs.join("security").join(store), "a keystore\n");
        }
    }

    /// The operator stages every version's packs on every host: the
    /// checks of a new version's packs name the hosts that run now.
    fn packs_everywhere(&self) {
        let hosts = self.root.join("hosts");
        let Ok(entries) = std::fs::read_dir(&hosts) else {
            return;
        };
        let hosts: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        let mut packs: BTreeSet<(String, Vec<u8>)> = BTreeSet::new();
        for host in &hosts {
            let dir = host.join("root/opt/wso2/packs");
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.ends_with(".zip") {
                    packs.insert((name, std::fs::read(entry.path()).unwrap()));
                }
            }
        }
        for host in &hosts {
            let dir = host.join("root/opt/wso2/packs");
            if !dir.is_dir() {
                continue;
            }
            for (name, content) in &packs {
                if !dir.join(name).exists() {
                    write(&dir.join(name), content);
                }
            }
        }
    }

    /// What the operator keeps beside the output folder.
    fn operator_files(&self, deployments: &[&Deployment], binds: &[String]) {
        for d in deployments {
            let files = self.root.join("out").join(d.operator_files_from_output());
            let mut secrets: BTreeSet<&str> = d.secrets.iter().map(|s| s.name.as_str()).collect();
            for site in &d.sites {
                secrets.extend(site.secrets.iter().map(|s| s.name.as_str()));
            }
            if let Some(login) = &d.registry_login {
                secrets.insert(&login.name);
            }
            for secret in secrets {
                write(&files.join("secrets").join(secret), "a secret\n");
            }
            for driver in &d.drivers {
                write(&files.join("lib").join(driver), "a JDBC driver\n");
            }
            for store in d.keystores.supplied() {
                write(&files.join("security").join(&store.file), "a keystore\n");
            }
            write(
                &files.join("puppet/secrets.yaml"),
                "---\n\"apim::secrets\": {}\n",
            );
        }
        // Certificates and the like the Compose files mount from there.
        for bind in binds {
            let path = self.root.join(bind);
            let normal: PathBuf = path.components().fold(PathBuf::new(), |mut p, c| {
                match c {
                    std::path::Component::ParentDir => {
                        p.pop();
                    }
                    c => p.push(c),
                }
                p
            });
            if normal.starts_with(self.root.join("operator-files")) && !normal.exists() {
                write(&normal, "an operator's file\n");
            }
        }
    }

    /// The registry: every image the builds name, the patched and fixed
    /// tags of each repository; a bootstrap's images built from the
    /// drivers are not pushed yet.
    fn registry(
        &self,
        images: &Images,
        d: &Deployment,
        next: Option<&Deployment>,
        bootstrap: bool,
    ) {
        let mut all: BTreeSet<String> = images.all.clone();
        for image in &images.all {
            all.insert(format!("{}:{PATCH_TAG}", repository(image)));
            all.insert(format!("{}:{FIXED_TAG}", repository(image)));
        }
        for built in &d.built_images {
            all.insert(built.from.clone());
            if bootstrap {
                all.remove(&built.tag);
            }
        }
        for built in next.iter().flat_map(|d| &d.built_images) {
            all.insert(built.from.clone());
        }
        for image in all {
            write(&self.state().join("registry").join(enc(&image)), "1\n");
        }
    }

    /// DNS records and what listens at each address.
    fn names(&self, deployments: &[&Deployment], target: Target, runbook: &Runbook) {
        let state = self.state();
        let mut records: BTreeMap<String, String> = BTreeMap::new();
        for (n, d) in deployments.iter().enumerate() {
            let mut order: Vec<(usize, &Site)> = d.sites.iter().enumerate().collect();
            order.sort_by_key(|(_, s)| s.role != topoc::model::Role::Primary);
            for (i, site) in order {
                let addr = address(n, i);
                let listener = match target {
                    Target::Kubernetes => format!("k8s {}", site.namespace),
                    Target::Compose => format!("compose {}", site.namespace),
                    Target::Puppet => format!("host {}", site.lb_host()),
                };
                write(&state.join("addr").join(&addr), lines([listener]));
                write(
                    &state.join("k8s/controller").join(&site.namespace),
                    lines([&addr]),
                );
                for lb in &site.load_balancers {
                    records.entry(lb.hostname.clone()).or_insert(addr.clone());
                }
                for (j, cluster) in site.clusters.iter().enumerate() {
                    let name = topoc::deployment::config::cluster_address(
                        site,
                        cluster,
                        topoc::deployment::Network::Hosts,
                    );
                    records
                        .entry(name)
                        .or_insert(format!("10.{}.{i}.{}", 110 + n, j + 10));
                }
                let primary = site.role == topoc::model::Role::Primary;
                if primary && n == 0 {
                    records.insert(OLD_ENDPOINT.to_string(), addr.clone());
                }
                let new = if runbook.migration {
                    primary && n == 1
                } else {
                    runbook.failover_to.as_deref() == Some(site.name.as_str())
                };
                if new {
                    records.insert(NEW_ENDPOINT.to_string(), addr.clone());
                }
            }
        }
        for (name, addr) in records {
            write(&state.join("dns").join(enc(&name)), lines([addr]));
        }
    }

    fn state(&self) -> PathBuf {
        self.root.join("state")
    }

    /// Run a command as pasted; its exit status and output.
    fn run(&self, command: &str) -> Outcome {
        self.run_in("out", command)
    }

    /// Run a command as pasted in a folder of the world.
    fn run_in(&self, folder: &str, command: &str) -> Outcome {
        let mut bash = Command::new(&self.timeout);
        bash.arg("120")
            .arg(&self.bash)
            .args(["-euo", "pipefail", "-c"])
            .arg(command)
            .current_dir(self.root.join(folder))
            .env_clear()
            .envs(&self.env)
            .stdin(Stdio::null());
        for name in required_variables(command) {
            if !self.env.contains_key(&name) {
                bash.env(&name, format!("value-of-{name}"));
            }
        }
        let started = Instant::now();
        let output = bash.output().expect("bash runs");
        RUNS.fetch_add(1, Ordering::Relaxed);
        RUN_NANOS.fetch_add(
            u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        Outcome {
            status: output.status.code().unwrap_or(-1),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        }
    }

    /// A digest of everything the stand-ins keep, to tell a change.
    fn digest(&self) -> u64 {
        let mut hasher = DefaultHasher::new();
        for dir in [
            "state",
            "hosts",
            "out/compose",
            "next/compose",
            "puppetserver",
        ] {
            digest_dir(&self.root.join(dir), &mut hasher);
        }
        hasher.finish()
    }

    /// Mark names hung; a host name of the world's DNS marks its address.
    fn mark_hung(&self, names: &[String]) {
        for name in names {
            let record = self.state().join("dns").join(enc(name));
            let name = match std::fs::read_to_string(record) {
                Ok(addr) if name == NEW_ENDPOINT => addr.trim().to_string(),
                _ => name.clone(),
            };
            write(&self.state().join("hung").join(name), "1\n");
        }
    }

    fn unmark_hung(&self) {
        let _ = std::fs::remove_dir_all(self.state().join("hung"));
    }
}

fn digest_dir(dir: &Path, hasher: &mut DefaultHasher) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        path.hash(hasher);
        if path.is_dir() && !path.is_symlink() {
            digest_dir(&path, hasher);
        } else if let Ok(bytes) = std::fs::read(&path) {
            bytes.hash(hasher);
        }
    }
}

/// The stand-ins' file name of an image or host name.
fn enc(s: &str) -> String {
    s.replace('%', "%25")
        .replace('/', "%2F")
        .replace(':', "%3A")
}

struct Outcome {
    status: i32,
    output: String,
}

/// The variables a command stops on when unset: `${NAME:?...}`.
fn required_variables(command: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = command;
    while let Some(at) = rest.find("${") {
        let name: String = rest[at + 2..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.insert(name);
        }
        rest = &rest[at + 2..];
    }
    out
}

fn database_step(step: &Step) -> bool {
    matches!(
        step.action,
        Action::Dump
            | Action::Restore
            | Action::MigrateDb
            | Action::TokenSync
            | Action::PromoteDb
            | Action::CreateDb
            | Action::LoadSchema
    ) || (matches!(step.action, Action::StartSync | Action::FenceDb) && !step.databases.is_empty())
}

/// What a check step checks, to break: names the stand-ins mark hung.
/// `None` for a step that changes the system.
fn checked_by(step: &Step, d: &Deployment, target: Target) -> Option<Vec<String>> {
    let site = step
        .datacenter
        .as_deref()
        .and_then(|name| d.sites.iter().find(|s| s.name == name));
    let cluster = site.and_then(|s| {
        step.cluster
            .as_deref()
            .and_then(|name| s.clusters.iter().find(|c| c.name == name))
    });
    let node = cluster.and_then(|c| step.node.as_deref().and_then(|n| c.node(n)));
    let scaled = target == Target::Kubernetes && cluster.is_some_and(|c| c.shape == Shape::Scaled);
    match step.action {
        Action::Test => match (cluster, node) {
            (Some(cluster), Some(node)) => {
                let mut names = vec![node.name.clone(), node.fqdn.clone()];
                if scaled {
                    names.push(cluster.label.clone());
                }
                Some(names)
            }
            // The test of a cluster's preview (a Kubernetes Deployment of
            // its own, before a rollout): the preview's pods.
            (Some(cluster), None) if target == Target::Kubernetes => {
                Some(vec![topoc::model::naming::preview_name(&cluster.name)])
            }
            // The end-to-end test of a new deployment: its address.
            _ => Some(vec![NEW_ENDPOINT.to_string()]),
        },
        // The artifact sync of a Kubernetes gateway runs in its pods: the
        // step waits for its first push.
        Action::StartSync if target == Target::Kubernetes && step.databases.is_empty() => {
            Some(vec!["artifact-sync".to_string()])
        }
        // A later step of a rollout only waits for its pods.
        Action::Patch | Action::Upgrade | Action::Deploy if scaled => {
            let cluster = cluster?;
            let first = cluster.nodes.first().map(|n| n.name.as_str());
            if step.node.as_deref() != first {
                Some(vec![cluster.label.clone()])
            } else {
                None
            }
        }
        _ => None,
    }
}

/// A verification of main's runbooks found unable to fail (or a step found
/// unable to run) in the world, with why: the test excuses the steps it
/// matches, says how many, and fails when an entry matches no step (it
/// was fixed: take it out).
struct Known {
    target: Target,
    action: Action,
    /// Unable to run rather than unable to fail.
    command_fails: bool,
    why: &'static str,
    /// The step, the step before it (among those the test runs).
    matches: fn(&Step, Option<&Step>) -> bool,
}

fn any_verify(step: &Step, needle: &str) -> bool {
    step.verify.iter().any(|v| v.contains(needle))
}

const KNOWN: &[Known] = &[
    Known {
        target: Target::Kubernetes,
        action: Action::StartNode,
        command_fails: false,
        why: "a scaled cluster's nodes share one Deployment: the step of its second node repeats the first node's command (`kubectl scale ... --replicas=N`) and verification, which the first step already made true",
        matches: |s, prev| prev.is_some_and(|p| p.commands == s.commands && p.verify == s.verify),
    },
    Known {
        target: Target::Kubernetes,
        action: Action::Patch,
        command_fails: false,
        why: "a scaled cluster of a standby datacenter (0 replicas) shares one Deployment: the step of its second node repeats the first node's `kubectl set image` and verification, which the first step already made true (with no pods, nothing is left to wait for)",
        matches: |s, prev| prev.is_some_and(|p| p.commands == s.commands && p.verify == s.verify),
    },
    Known {
        target: Target::Compose,
        action: Action::Patch,
        command_fails: false,
        why: "patching a node of a standby datacenter (not running) checks `docker image inspect IMAGE:PATCH_TAG` and that the node does not run: the image is already there, pulled by an earlier step for another node of the same image (one Docker engine runs the runbook's commands), so nothing checks what the standby node will start with",
        matches: |s, _| any_verify(s, "--profile failover ps -q"),
    },
    Known {
        target: Target::Kubernetes,
        action: Action::ReadWrite,
        command_fails: false,
        why: "a migration's read-write step takes the read-only annotation off the new deployment's Ingress, which never had it (the read-only step annotated the current deployment's): the new deployment accepts writes before the step",
        matches: |s, _| {
            s.commands
                .iter()
                .any(|c| c.contains("NEXT_BUILD") && c.contains("auth-url-"))
        },
    },
    Known {
        target: Target::Compose,
        action: Action::Test,
        command_fails: true,
        why: "a migration's end-to-end test of the new deployment: no step starts the new deployment's load balancer (the new deployment's steps start its clusters' services only), so nothing listens at NEW_ENDPOINT",
        matches: |s, _| {
            s.cluster.is_none() && s.commands.iter().any(|c| c.contains("NEW_ENDPOINT"))
        },
    },
    Known {
        target: Target::Puppet,
        action: Action::Test,
        command_fails: true,
        why: "a migration's end-to-end test of the new deployment: no step runs the Puppet agent on the new deployment's load balancer host (the new deployment's steps run it on its clusters' hosts only), so nothing listens at NEW_ENDPOINT",
        matches: |s, _| {
            s.cluster.is_none() && s.commands.iter().any(|c| c.contains("NEW_ENDPOINT"))
        },
    },
];

/// The known finding a step matches.
fn known(target: Target, step: &Step, prev: Option<&Step>, command_fails: bool) -> Option<usize> {
    KNOWN.iter().position(|k| {
        k.target == target
            && k.action == step.action
            && k.command_fails == command_fails
            && (k.matches)(step, prev)
    })
}

/// Counts of what the test checked.
#[derive(Default)]
struct Tally {
    /// Steps whose verification was shown to fail and then to pass, by
    /// target and action.
    by_action: BTreeMap<(&'static str, &'static str), usize>,
    /// Steps matched by each known finding.
    known: BTreeMap<usize, Vec<String>>,
    /// Verification lines that pass before their step while another line
    /// of the same step fails (the step's verification fails as a whole).
    lines_passing_before: BTreeMap<(&'static str, &'static str), BTreeSet<String>>,
    skipped_database: usize,
    skipped_manual: usize,
    without_verify: usize,
    problems: Vec<String>,
}

fn short(text: &str) -> String {
    let text = text.trim();
    if text.len() > 1500 {
        let mut end = 1500;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}...", &text[..end])
    } else {
        text.to_string()
    }
}

/// The runbook is the one `topoc plan --format json` prints: the same
/// steps, actions, commands and verifications.
fn same_as_cli(t: &Topology, runbook: &Runbook, target: Target) -> Result<(), String> {
    let output = Command::new(env!("CARGO_BIN_EXE_topoc"))
        .arg("plan")
        .arg(&t.path)
        .args(&runbook.cli)
        .args(["--for", target.name(), "--format", "json"])
        .output()
        .expect("topoc runs");
    let json: Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("`topoc plan` printed no JSON ({e})"))?;
    let steps = json["steps"].as_array().cloned().unwrap_or_default();
    if steps.len() != runbook.plan.steps.len() {
        return Err(format!(
            "`topoc plan` has {} steps, the plan {}",
            steps.len(),
            runbook.plan.steps.len()
        ));
    }
    for (json, step) in steps.iter().zip(&runbook.plan.steps) {
        let strings = |key: &str| -> Vec<String> {
            json[key]
                .as_array()
                .into_iter()
                .flatten()
                .map(text)
                .collect()
        };
        let same = json["n"].as_u64() == Some(step.n as u64)
            && json["action"].as_str() == Some(step.action.name())
            && json["manual"].as_bool().unwrap_or(false) == step.manual
            && strings("commands") == step.commands
            && strings("verify") == step.verify;
        if !same {
            return Err(format!("step {} differs from `topoc plan`'s", step.n));
        }
    }
    Ok(())
}

/// The commands of a bootstrap's `prepare` steps (files checked, Secrets
/// created, images built).
fn prepare_commands(
    topology: &topoc::model::Topology,
    d: &Deployment,
    target: Target,
) -> Vec<String> {
    plan::plan_bootstrap(topology, d, target)
        .steps
        .iter()
        .filter(|s| s.action == Action::Prepare)
        .flat_map(|s| s.commands.clone())
        .collect()
}

/// The world as built and deployed, before an upgrade or a failover.
fn deploy(world: &World, t: &Topology, runbook: &Runbook, target: Target) -> Result<(), String> {
    for command in &runbook.next_prepare {
        let outcome = world.run_in("next", command);
        if outcome.status != 0 {
            return Err(format!(
                "preparing the new deployment: `{command}` exited {}:\n{}",
                outcome.status,
                short(&outcome.output)
            ));
        }
    }
    let mut commands = prepare_commands(&t.checked.topology, &t.deployment, target);
    let d = &t.deployment;
    match target {
        Target::Kubernetes => {
            for site in &d.sites {
                if site.running() {
                    commands.push(format!("kubectl apply -f kubernetes/{}/", site.name));
                } else {
                    // A standby's Ingresses are applied on failover (its
                    // step's rollback deletes them).
                    commands.push(format!(
                        "for f in kubernetes/{}/*.yaml; do [ \"$f\" = {} ] || kubectl apply -f \"$f\"; done",
                        site.name,
                        site.kubernetes_file(topoc::deployment::layout::manifests::INGRESS)
                    ));
                }
            }
        }
        Target::Compose => {
            for site in d.sites.iter().filter(|s| s.running()) {
                commands.push(format!(
                    "docker compose -f {} up -d --wait",
                    site.compose_file()
                ));
            }
        }
        Target::Puppet => {
            let surge: BTreeSet<&str> = d
                .sites
                .iter()
                .flat_map(|s| s.clusters.iter())
                .map(|c| c.surge.fqdn.as_str())
                .collect();
            for (path, _) in t.artifacts.iter() {
                let Some(host) = path
                    .strip_prefix("puppet/data/nodes/")
                    .and_then(|h| h.strip_suffix(".yaml"))
                else {
                    continue;
                };
                commands.push(if surge.contains(host) {
                    format!("ssh {host} 'sudo puppet agent --disable \"temporary node removed\"'")
                } else {
                    format!("ssh {host} 'sudo puppet agent --test' || test $? -eq 2")
                });
            }
        }
    }
    for command in commands {
        let outcome = world.run(&command);
        if outcome.status != 0 {
            return Err(format!(
                "deploying: `{command}` exited {}:\n{}",
                outcome.status,
                short(&outcome.output)
            ));
        }
    }
    Ok(())
}

fn walk(
    t: &Topology,
    runbook: &Runbook,
    target: Target,
    catalogs: &Catalogs,
    tally: &Mutex<Tally>,
) {
    let world = World::new(t, runbook, target, catalogs);
    if world._dir.is_none() {
        eprintln!("{}: {}", runbook.label, world.root.display());
    }
    let problem = |message: String| {
        tally
            .lock()
            .unwrap()
            .problems
            .push(format!("{}: {message}", runbook.label));
    };
    let found = |k: usize, at: &str| {
        tally
            .lock()
            .unwrap()
            .known
            .entry(k)
            .or_default()
            .push(format!("{}: {at}", runbook.label));
    };
    if let Err(e) = same_as_cli(t, runbook, target) {
        problem(e);
        return;
    }
    if !runbook.bootstrap
        && let Err(e) = deploy(&world, t, runbook, target)
    {
        problem(e);
        return;
    }
    let deployment = match (&runbook.next, runbook.migration) {
        (Some((_, next)), true) => Some(next),
        _ => None,
    };
    let mut prev: Option<&Step> = None;
    for step in &runbook.plan.steps {
        let at = format!("step {} ({}, {})", step.n, step.action.name(), step.title);
        if step.manual {
            tally.lock().unwrap().skipped_manual += 1;
            continue;
        }
        if database_step(step) {
            tally.lock().unwrap().skipped_database += 1;
            continue;
        }
        let before_prev = prev.replace(step);
        let d = deployment
            .filter(|_| step.starts.is_some())
            .unwrap_or(&t.deployment);
        let mut excused = None;
        if !step.verify.is_empty() {
            let check = checked_by(step, d, target);
            if let Some(names) = &check {
                world.mark_hung(names);
            }
            let before = world.digest();
            let outcomes: Vec<Outcome> = step.verify.iter().map(|v| world.run(v)).collect();
            if world.digest() != before {
                problem(format!("{at}: a verification changed the world"));
            }
            world.unmark_hung();
            if outcomes.iter().all(|o| o.status == 0) {
                match known(target, step, before_prev, false) {
                    Some(k) => excused = Some(k),
                    None => problem(format!(
                        "{at}: every verification passed {} the step:\n{}",
                        if check.is_some() {
                            "with what it checks broken, before"
                        } else {
                            "before"
                        },
                        step.verify.join("\n")
                    )),
                }
            } else {
                let mut tally = tally.lock().unwrap();
                let lines = tally
                    .lines_passing_before
                    .entry((target.name(), step.action.name()))
                    .or_default();
                for (verify, outcome) in step.verify.iter().zip(&outcomes) {
                    if outcome.status == 0 {
                        lines.insert(verify.clone());
                    }
                }
            }
        }
        for command in &step.commands {
            let outcome = world.run(command);
            if outcome.status != 0 {
                match known(target, step, before_prev, true) {
                    Some(k) => found(k, &at),
                    None => problem(format!(
                        "{at}: `{command}` exited {}:\n{}",
                        outcome.status,
                        short(&outcome.output)
                    )),
                }
                return;
            }
        }
        if step.verify.is_empty() {
            tally.lock().unwrap().without_verify += 1;
            continue;
        }
        let mut passed = true;
        for verify in &step.verify {
            let outcome = world.run(verify);
            if outcome.status != 0 {
                passed = false;
                problem(format!(
                    "{at}: after the step `{verify}` exited {}:\n{}",
                    outcome.status,
                    short(&outcome.output)
                ));
            }
        }
        if !passed {
            return;
        }
        if let Some(k) = excused {
            found(k, &at);
            continue;
        }
        *tally
            .lock()
            .unwrap()
            .by_action
            .entry((target.name(), step.action.name()))
            .or_default() += 1;
    }
}

#[test]
fn every_verification_fails_before_its_step_and_passes_after_it() {
    if real("timeout").is_none() || real("rsync").is_none() || real("bash").is_none() {
        panic!("the fake world needs bash, timeout and rsync");
    }
    let started = Instant::now();
    let mut paths: Vec<String> = std::fs::read_dir("examples")
        .unwrap()
        .map(|e| e.unwrap().path().to_string_lossy().into_owned())
        .filter(|p| p.ends_with(".topo"))
        .collect();
    paths.sort();
    let topologies: Vec<Topology> = paths.iter().map(|p| load(p)).collect();
    let mut work: Vec<(&Topology, Runbook, Target)> = Vec::new();
    for t in &topologies {
        for target in TARGETS {
            for runbook in runbooks(t, target) {
                work.push((t, runbook, target));
            }
        }
    }
    // To look into one runbook's world: VERIFY_WORLD_ONLY=<part of its
    // label> VERIFY_WORLD_KEEP=1 keeps its folder.
    let only = std::env::var("VERIFY_WORLD_ONLY").ok();
    let filtered = only.is_some();
    if let Some(only) = only {
        work.retain(|(_, runbook, _)| runbook.label.contains(&only));
    }
    // The longest runbooks first, so the workers end together.
    work.sort_by_key(|(_, runbook, _)| std::cmp::Reverse(runbook.plan.steps.len()));
    let tally = Mutex::new(Tally::default());
    let catalog_dir = tempfile::tempdir().unwrap();
    let catalogs = Catalogs {
        dir: catalog_dir.path().to_path_buf(),
        _guard: if std::env::var_os("VERIFY_WORLD_KEEP").is_some() {
            let _ = catalog_dir.keep();
            None
        } else {
            Some(Arc::new(catalog_dir))
        },
        done: Default::default(),
    };
    let queue = Mutex::new(work.iter());
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .map(|n| n * 2)
        .unwrap_or(4)
        .clamp(2, 8);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let Some((t, runbook, target)) = queue.lock().unwrap().next() else {
                        break;
                    };
                    walk(t, runbook, *target, &catalogs, &tally);
                }
            });
        }
    });
    eprintln!(
        "{} commands run by bash in {:?} ({:?} in all)",
        RUNS.load(Ordering::Relaxed),
        Duration::from_nanos(RUN_NANOS.load(Ordering::Relaxed)),
        started.elapsed()
    );
    let tally = tally.into_inner().unwrap();
    let mut per_target: BTreeMap<&str, usize> = BTreeMap::new();
    eprintln!("verifications shown to fail before their step and to pass after it:");
    for ((target, action), n) in &tally.by_action {
        *per_target.entry(target).or_default() += n;
        eprintln!("  {target} {action}: {n}");
    }
    eprintln!(
        "in all {per_target:?}; database steps skipped: {}, manual: {}, without a verification: {}",
        tally.skipped_database, tally.skipped_manual, tally.without_verify
    );
    eprintln!(
        "verification lines that pass before their step beside one that fails (a health check beside the state the step changes), distinct lines:"
    );
    for ((target, action), lines) in &tally.lines_passing_before {
        if lines.is_empty() {
            continue;
        }
        eprintln!("  {target} {action}: {}", lines.len());
        if std::env::var_os("VERIFY_WORLD_LINES").is_some() {
            for line in lines {
                eprintln!("    {line}");
            }
        }
    }
    let mut problems = tally.problems;
    for (k, entry) in KNOWN.iter().enumerate() {
        let steps = tally.known.get(&k).map(Vec::as_slice).unwrap_or_default();
        eprintln!(
            "known, {} {} ({} steps): {}",
            entry.target.name(),
            entry.action.name(),
            steps.len(),
            entry.why
        );
        for step in steps {
            eprintln!("    {step}");
        }
        if steps.is_empty() && !filtered {
            problems.push(format!(
                "the known finding `{}` matches no step: remove it",
                entry.why
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n\n{}",
        problems.len(),
        problems.join("\n\n")
    );
    for target in TARGETS {
        assert!(
            per_target.get(target.name()).copied().unwrap_or(0) > 50 || filtered,
            "{per_target:?}"
        );
    }
}
