//! Upgrade plans: every upgrade kind on every HA mode (snapshots of the
//! JSON and Markdown runbooks), a property test that the plan of every
//! generated topology free of other errors is safe when it may add a
//! temporary node, and the unsafe and invalid cases on the command line.

use std::path::Path;
use std::process::{Command, Output};

use proptest::prelude::*;
use serde_json::Value;
use topoc::diagnostics::{Severity, SeverityConfig};
use topoc::load::DiskFs;
use topoc::model::UpgradeId;
use topoc::plan::{self, Target};
use topoc::text::templates::Templates;

const KINDS: &[&str] = &["service-update", "patch", "version-upgrade", "migration"];
const MODES: &[&str] = &["active-active", "active-passive", "none"];

/// What a generated topology looks like.
#[derive(Debug, Clone)]
struct Shape {
    ha: &'static str,
    control_nodes: u32,
    gateway_nodes: u32,
    node_capacity: u32,
    peak: u32,
    degraded: u32,
    kind: &'static str,
    surge: bool,
    read_only_site: bool,
    dr_site: bool,
}

fn upgrade_block(kind: &str, surge: bool) -> String {
    let body = match kind {
        "service-update" => "  clusters = [control_plane]\n".to_string(),
        "patch" => "  restart = true\n".to_string(),
        "version-upgrade" => "  to_version = \"4.3.0\"\n".to_string(),
        _ => "  to_version = \"4.5.0\"\n  read_only_window = 2h\n  token_sync = two-way\n  cutover = gradual\n"
            .to_string(),
    };
    format!(
        "upgrade planned {{\n  kind = {kind}\n{body}  surge = {surge}\n  window = \"Sun 01:00-05:00 UTC\"\n}}\n"
    )
}

fn datacenter(name: &str, role: &str, s: &Shape) -> String {
    let ha = if s.control_nodes == 1 { "none" } else { s.ha };
    let gw_ha = if s.gateway_nodes == 1 { "none" } else { s.ha };
    let gw_ha = if gw_ha == "active-passive" && s.gateway_nodes != 2 {
        "active-active"
    } else {
        gw_ha
    };
    let ha = if ha == "active-passive" && s.control_nodes != 2 {
        "active-active"
    } else {
        ha
    };
    format!(
        r#"datacenter {name} {{
  role = {role}
  domain = "{name}.example"

  datasource apim_db {{
    purpose = apim
    engine = mysql
    host = "db.{name}.example"
    database = "apim_db"
  }}

  datasource shared_db {{
    purpose = shared
    engine = mysql
    host = "db.{name}.example"
    database = "shared_db"
  }}

  cluster control_plane {{
    profile = control-plane
    nodes = {cn}
    ha = {ha}
    node_capacity = {cap}rps
    datasources = [apim_db, shared_db]
  }}

  cluster gateway {{
    profile = gateway-worker
    nodes = {gn}
    ha = {gw_ha}
    node_capacity = {cap}rps
    key_manager = control_plane
    datasources = [shared_db]
  }}
}}
"#,
        cn = s.control_nodes,
        gn = s.gateway_nodes,
        cap = s.node_capacity,
    )
}

fn topology(s: &Shape) -> String {
    let mut text = format!(
        "topology generated {{\n  version = \"4.2.0\"\n  peak_load = {}rps\n  degraded_capacity = {}%\n}}\n\n",
        s.peak, s.degraded
    );
    text.push_str(&datacenter("primary", "primary", s));
    if s.read_only_site {
        text.push_str(&datacenter("mirror", "read-only", s));
    }
    if s.dr_site {
        text.push_str(&datacenter("standby", "disaster-recovery", s));
    }
    text.push('\n');
    text.push_str(&upgrade_block(s.kind, s.surge));
    text
}

fn check(text: &str) -> topoc::Checked {
    topoc::check_text(
        Path::new("generated.topo"),
        text,
        &DiskFs,
        &SeverityConfig::default(),
    )
}

fn plans(checked: &topoc::Checked, target: Target) -> Vec<plan::Plan> {
    let t = &checked.topology;
    let d = topoc::deployment::plan(t);
    (0..t.upgrades.len())
        .map(|i| plan::plan_upgrade(t, &d, UpgradeId(i), target))
        .collect()
}

fn errors(checked: &topoc::Checked) -> Vec<String> {
    checked
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| format!("{}: {}", d.code, d.message))
        .collect()
}

/// `text` checked, which must have no error.
fn clean(text: &str) -> topoc::Checked {
    let checked = check(text);
    assert!(errors(&checked).is_empty(), "{:?}", errors(&checked));
    checked
}

/// A bundled example with `blocks` (upgrades) appended, checked clean.
fn example_with(example: &str, blocks: &str) -> topoc::Checked {
    let text = std::fs::read_to_string(example).unwrap();
    clean(&format!("{text}{blocks}"))
}

/// The shape of the snapshot matrix: two nodes per cluster (one for `none`),
/// each able to carry the floor alone.
fn matrix_shape(kind: &'static str, ha: &'static str) -> Shape {
    let nodes = if ha == "none" { 1 } else { 2 };
    Shape {
        ha,
        control_nodes: nodes,
        gateway_nodes: nodes,
        node_capacity: 1000,
        peak: 1000,
        degraded: 50,
        kind,
        surge: true,
        read_only_site: false,
        dr_site: false,
    }
}

#[test]
fn every_upgrade_kind_on_every_ha_mode() {
    let templates = Templates::new(None).unwrap();
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots/plan");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        for kind in KINDS {
            for ha in MODES {
                let text = topology(&matrix_shape(kind, ha));
                let checked = check(&text);
                let errors = errors(&checked);
                // A single node has no redundancy: only the lints about it.
                assert!(
                    errors.is_empty(),
                    "{kind} on {ha} does not check clean: {errors:?}\n{text}"
                );
                let d = topoc::deployment::plan(&checked.topology);
                let plan =
                    plan::plan_upgrade(&checked.topology, &d, UpgradeId(0), Target::Kubernetes);
                assert!(plan.safe, "{kind} on {ha} is unsafe: {:?}", plan.violations);
                let name = format!("{kind}_{ha}");
                insta::assert_snapshot!(format!("{name}_json"), plan::render::json(&plan));
                insta::assert_snapshot!(
                    format!("{name}_markdown"),
                    plan::render::markdown(&plan, &checked.topology, &d, &templates).unwrap()
                );
            }
        }
    });
}

/// The rules of the runbooks, whatever the snapshot says.
fn assert_rules(plan: &plan::Plan, shape: &Shape) {
    let actions: Vec<&str> = plan.steps.iter().map(|s| action(s)).collect();
    // Numbered in order, dependencies point backwards.
    for (i, step) in plan.steps.iter().enumerate() {
        assert_eq!(step.n, i + 1);
        assert!(
            step.after.iter().all(|&a| a < step.n),
            "step {} depends on a later step",
            step.n
        );
    }
    let first = |a: &str| actions.iter().position(|x| *x == a);
    let last = |a: &str| actions.iter().rposition(|x| *x == a);
    match shape.kind {
        "version-upgrade" => {
            // The databases migrate once, by one run of the migration
            // client after both (apim and shared) are restored, before any
            // new-version node runs.
            let migrate = first("migrate-db").expect("a migrate-db step");
            assert_eq!(
                actions.iter().filter(|a| **a == "migrate-db").count(),
                1,
                "one migration run"
            );
            assert_eq!(actions.iter().filter(|a| **a == "restore").count(), 2);
            assert!(last("restore").unwrap() < migrate);
            // The migration client and the new build are checked to use
            // the copies before anything migrates.
            let commands = &plan.steps[migrate].commands;
            let run = commands
                .iter()
                .position(|c| c.contains("-Dmigrate"))
                .expect("the migration client runs");
            for copy in ["apim_db_", "shared_db_"] {
                assert!(
                    commands[..run]
                        .iter()
                        .any(|c| c.contains("NEXT_BUILD") && c.contains(copy)),
                    "{commands:?}"
                );
            }
            if let Some(upgrade) = first("upgrade") {
                assert!(migrate < upgrade);
            }
        }
        "migration" => {
            let read_only = first("read-only").expect("read-only");
            let dump = first("dump").expect("dump");
            let restore = first("restore").expect("restore");
            let switch = first("dns-switch").expect("dns-switch");
            let read_write = last("read-write").expect("read-write");
            assert!(read_only < dump && dump < restore && restore < switch && switch < read_write);
            // Tokens are copied (one-way) or kept in step (two-way) by a
            // real command on the apim database, not left as a note.
            // The new deployment starts beside the current one, never in
            // its namespace or project, and the portals open there only.
            let start = &plan.steps[first("start-node").expect("start-node")];
            assert!(
                start.starts.is_some(),
                "the step names the cluster it starts"
            );
            assert!(!start.manual, "{:?}", start.commands);
            let next = "\"${NEXT_BUILD:?";
            let target = plan.target;
            let started = start.commands.iter().any(|c| match target {
                Target::Kubernetes => c.starts_with(&format!("kubectl apply -f {next}")),
                Target::Compose => {
                    c.starts_with(&format!("docker compose -f {next}"))
                        && c.contains(" up -d --wait ")
                }
                Target::Puppet => {
                    c.contains("sudo puppet config set environment")
                        && c.contains("sudo puppet agent --test")
                }
            });
            assert!(started, "{target:?}: {:?}", start.commands);
            assert!(!start.verify.is_empty());
            let opened = &plan.steps[read_write];
            // Without a load balancer in front of the portals the
            // operator opens them; otherwise the new deployment's do.
            assert!(opened.manual || !opened.verify.is_empty());
            assert!(
                opened.manual
                    || opened
                        .commands
                        .iter()
                        .all(|c| c.contains("NEXT_BUILD") && !c.starts_with("echo")),
                "{:?}",
                opened.commands
            );
            let sync = &plan.steps[first("token-sync").expect("token-sync")];
            assert!(
                sync.commands.iter().all(|c| !c.starts_with("echo")),
                "{:?}",
                sync.commands
            );
        }
        "patch" => {
            assert!(first("patch").is_some());
        }
        _ => assert!(first("deploy").is_some()),
    }
    // A temporary node is removed again, and only when surge allows it.
    // A preview (one pod of a scaled cluster's change, on Kubernetes)
    // is one too.
    let added = actions
        .iter()
        .filter(|a| **a == "add-node" || **a == "preview")
        .count();
    let removed = actions.iter().filter(|a| **a == "remove-node").count();
    assert_eq!(added, removed, "every temporary node is removed");
    if !shape.surge {
        assert_eq!(added, 0, "surge = false forbids the extra node");
    }
    // Primary datacenter before read-only ones.
    let sites: Vec<&str> = plan
        .steps
        .iter()
        .filter(|s| matches!(action(s), "patch" | "upgrade" | "deploy"))
        .filter_map(|s| s.datacenter.as_deref())
        .collect();
    if let (Some(p), Some(m)) = (
        sites.iter().rposition(|s| *s == "primary"),
        sites.iter().position(|s| *s == "mirror"),
    ) {
        assert!(p < m, "the primary datacenter goes first: {sites:?}");
    }
}

/// On Kubernetes the pods of a scaled cluster (one Deployment with
/// replicas) carry no node label: its steps may neither point the Service
/// at one node nor copy into one pod; the rolling update changes them.
fn kubernetes_pods_are_addressable(checked: &topoc::Checked, plan: &plan::Plan) -> bool {
    let d = topoc::deployment::plan(&checked.topology);
    plan.steps.iter().all(|step| {
        let scaled = d
            .sites
            .iter()
            .filter(|s| step.datacenter.as_deref() == Some(s.name.as_str()))
            .flat_map(|s| &s.clusters)
            .any(|c| {
                step.cluster.as_deref() == Some(c.name.as_str())
                    && c.shape == topoc::deployment::Shape::Scaled
            });
        !scaled
            || step
                .commands
                .iter()
                .chain(&step.rollback)
                .flat_map(|c| kubectl_calls(c))
                .all(|call| call.first() != Some(&"cp") && call[..] != ["patch", "service"][..])
    })
}

/// The subcommands of every `kubectl` a command runs: the words after
/// `kubectl` and its `-n NAMESPACE`, up to the first that takes an
/// argument, e.g. `["patch", "service"]`.
fn kubectl_calls(command: &str) -> Vec<Vec<&str>> {
    let words: Vec<&str> = command.split_whitespace().collect();
    let mut calls = Vec::new();
    for (i, word) in words.iter().enumerate() {
        if !word.ends_with("kubectl") {
            continue;
        }
        let mut rest = &words[i + 1..];
        if rest.first() == Some(&"-n") {
            rest = rest.get(2..).unwrap_or(&[]);
        }
        calls.push(
            rest.iter()
                .take(2)
                .copied()
                .take_while(|w| w.chars().all(|c| c.is_ascii_lowercase()))
                .collect(),
        );
    }
    calls
}

#[test]
fn kubectl_calls_are_found_after_the_namespace() {
    assert_eq!(
        kubectl_calls("for pod in $(x); do kubectl -n 'ns' cp -c wso2am a b; done"),
        vec![vec!["cp"]]
    );
    assert_eq!(
        kubectl_calls("kubectl -n ns patch service 'gw' -p '{}'"),
        vec![vec!["patch", "service"]]
    );
}

/// Every dump file a step reads (`< "${DUMP_DIR:-dumps}"/x.sql`, or
/// pg_restore's argument) was written by an earlier step.
fn dumps_are_written_before_read(plan: &plan::Plan) -> bool {
    const DIR: &str = "\"${DUMP_DIR:-dumps}\"/";
    let mut written: Vec<String> = Vec::new();
    for step in &plan.steps {
        for command in &step.commands {
            let files: Vec<&str> = command
                .match_indices(DIR)
                .map(|(i, _)| {
                    let rest = &command[i + DIR.len()..];
                    rest.split(|c: char| c.is_whitespace() || c == '\'' || c == '"')
                        .next()
                        .unwrap_or("")
                })
                .collect();
            let writes = command.contains(" > ")
                || command.contains(">\"${DUMP_DIR")
                || command.contains("--file=")
                || command.contains("/TargetFile:");
            for file in files {
                if writes {
                    written.push(file.to_string());
                } else if !written.iter().any(|w| w == file) {
                    return false;
                }
            }
        }
    }
    true
}

fn action(step: &plan::Step) -> &'static str {
    step.action.name()
}

fn shapes() -> impl Strategy<Value = Shape> {
    (
        prop::sample::select(MODES.to_vec()),
        1u32..5,
        1u32..6,
        prop::sample::select(vec![400u32, 600, 1000, 2500]),
        prop::sample::select(vec![500u32, 1000, 2000, 4000]),
        prop::sample::select(vec![50u32, 75, 100]),
        prop::sample::select(KINDS.to_vec()),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(ha, cn, gn, cap, peak, degraded, kind, surge, ro, dr)| Shape {
                ha,
                control_nodes: cn,
                gateway_nodes: gn,
                node_capacity: cap,
                peak,
                degraded,
                kind,
                surge,
                read_only_site: ro,
                dr_site: dr,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// A topology whose only possible error is UP001: with `surge = true`
    /// its plan is always safe; with `surge = false` `topoc check` reports
    /// UP001 exactly when the plan is unsafe. Every plan keeps the rules
    /// and is the same on every target and on every run.
    #[test]
    fn plans_of_clean_topologies_are_safe(shape in shapes()) {
        let text = topology(&shape);
        let checked = check(&text);
        let other: Vec<String> = errors(&checked).into_iter().filter(|e| !e.starts_with("UP001")).collect();
        prop_assume!(other.is_empty());
        let up001 = checked.diagnostics.iter().any(|d| d.code == "UP001");
        for target in [Target::Kubernetes, Target::Compose, Target::Puppet] {
            let plans = plans(&checked, target);
            prop_assert_eq!(plans.len(), 1);
            let plan = &plans[0];
            if shape.surge {
                prop_assert!(plan.safe, "unsafe with surge: {:?}\n{}", plan.violations, text);
            }
            prop_assert_eq!(up001, !plan.safe, "check and plan disagree\n{}", text);
            assert_rules(plan, &shape);
            // Deterministic.
            let again = &self::plans(&checked, target)[0];
            prop_assert_eq!(plan::render::json(plan), plan::render::json(again));
            // Every step on a node has commands to run.
            for step in &plan.steps {
                if step.node.is_some() && step.action.name() != "test" {
                    prop_assert!(!step.commands.is_empty(), "step {} has no commands", step.n);
                }
            }
            if target == Target::Kubernetes {
                prop_assert!(kubernetes_pods_are_addressable(&checked, plan), "{}", text);
            }
            prop_assert!(dumps_are_written_before_read(plan), "{}", text);
        }
    }
}

// ------------------------------------------------------------ command line

fn topoc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_topoc"))
        .args(args)
        .output()
        .expect("topoc runs")
}

fn write_temp(text: &str) -> tempfile::NamedTempFile {
    let file = tempfile::Builder::new().suffix(".topo").tempfile().unwrap();
    std::fs::write(file.path(), text).unwrap();
    file
}

#[test]
fn unsafe_plan_exits_1_with_up001() {
    let path = "tests/fixtures/lints/UP001.topo";
    let out = topoc(&["plan", path, "--upgrade", "monthly_patch"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("UP001") && stderr.contains("step 1"),
        "{stderr}"
    );
    // The runbook still says what breaks, in both formats.
    let json = topoc(&[
        "plan",
        path,
        "--upgrade",
        "monthly_patch",
        "--format",
        "json",
    ]);
    assert_eq!(json.status.code(), Some(1));
    let value: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["safe"], false);
    assert!(!value["violations"].as_array().unwrap().is_empty());
    // `topoc check` reports it too, and `topoc build` refuses.
    let check = topoc(&["check", path, "--format", "json"]);
    assert_eq!(check.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&check.stdout).contains("\"UP001\""));
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let build = topoc(&["build", path, "--out", out_dir.to_str().unwrap()]);
    assert_eq!(build.status.code(), Some(1));
    assert!(!out_dir.exists());
}

#[test]
fn invalid_upgrades_get_diagnostics_not_plans() {
    let base = topology(&matrix_shape("patch", "active-active"));
    let base = &base[..base.find("upgrade planned").unwrap()];
    let cases = [
        (
            "upgrade u {\n  kind = patch\n  clusters = [no_such_cluster]\n}\n",
            "E00",
        ),
        (
            "upgrade u {\n  kind = version-upgrade\n  to_version = \"4.1.0\"\n}\n",
            "UP005",
        ),
        (
            "upgrade u {\n  kind = migration\n  to_version = \"4.5.0\"\n  read_only_window = 1h\n  token_sync = one-way\n  cutover = gradual\n}\n",
            "UP002",
        ),
        (
            "upgrade u {\n  kind = migration\n  to_version = \"4.5.0\"\n  token_sync = two-way\n}\n",
            "UP003",
        ),
        ("upgrade u {\n  kind = version-upgrade\n}\n", "UP006"),
    ];
    for (block, code) in cases {
        let file = write_temp(&format!("{base}{block}"));
        let out = topoc(&["plan", file.path().to_str().unwrap(), "--upgrade", "u"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{code}: {stderr}");
        assert!(out.stdout.is_empty(), "{code}: a plan was printed");
        assert!(stderr.contains(code), "{code} not reported: {stderr}");
        assert!(stderr.contains("no plan was made"), "{stderr}");
    }
}

#[test]
fn unknown_upgrade_and_failover_names_are_usage_errors() {
    let path = "examples/upgrades.topo";
    let out = topoc(&["plan", path, "--upgrade", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("monthly_patch"),
        "lists the upgrades: {stderr}"
    );
    let out = topoc(&["plan", path, "--failover", "dublin"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn failover_runbook_states_the_unavailability() {
    let out = topoc(&[
        "plan",
        "examples/multi-datacenter.topo",
        "--failover",
        "singapore",
        "--format",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let value: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        value["unavailability"]
            .as_str()
            .is_some_and(|u| !u.is_empty())
    );
    let actions: Vec<&str> = value["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["action"].as_str().unwrap())
        .collect();
    let promote = actions
        .iter()
        .position(|a| *a == "promote-db")
        .expect("promote-db");
    let start = actions
        .iter()
        .position(|a| *a == "start-node")
        .expect("start-node");
    let switch = actions
        .iter()
        .position(|a| *a == "dns-switch")
        .expect("dns-switch");
    assert!(promote < start && start < switch, "{actions:?}");
    // london's replicas follow singapore's promoted databases.
    let follows: Vec<&Value> = value["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["action"] == "start-sync" && s["datacenter"] == "london")
        .collect();
    assert_eq!(follows.len(), 2, "apim and shared replicas");
    assert!(follows.iter().all(|s| {
        s["commands"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c.as_str().unwrap().contains("CHANGE REPLICATION SOURCE"))
    }));
    // The lost primary is fenced before anything is promoted.
    let fence = actions
        .iter()
        .position(|a| *a == "fence-db")
        .expect("fence-db");
    assert!(fence < promote, "{actions:?}");
    // singapore takes over publishing API artifacts for london, before
    // the DNS switch.
    let push = value["steps"]
        .as_array()
        .unwrap()
        .iter()
        .position(|s| {
            s["title"]
                .as_str()
                .unwrap()
                .starts_with("Push API artifacts from singapore")
        })
        .expect("the artifact push");
    assert!(start < push && push < switch, "{actions:?}");
    assert!(
        value["steps"][push]["verify"][0]
            .as_str()
            .unwrap()
            .contains("artifact-sync push: pushed")
    );
    // The copies of the primary's load balancers start before the switch.
    let titles: Vec<&str> = value["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["title"].as_str().unwrap())
        .collect();
    let lbs = titles
        .iter()
        .position(|t| t.starts_with("Start the load balancers"))
        .expect("the load balancers start");
    assert!(lbs < switch, "{titles:?}");
    // The copies of the primary's clusters include its control plane.
    assert!(
        !value["unavailability"]
            .as_str()
            .unwrap()
            .contains("no control plane")
    );
}

/// A disaster-recovery site with clusters of its own but no control plane
/// serves APIs after a failover; its runbook says what it cannot do.
#[test]
fn failover_to_a_site_without_control_plane_says_what_is_missing() {
    let example = std::fs::read_to_string("examples/multi-datacenter.topo").unwrap();
    // singapore gets gateways of its own (with their key and traffic
    // managers) instead of copies of every primary cluster.
    let own = r#"
  datasource apim_db_sg { replica_of = apim_db
    host = "mysql.singapore.telco.example" }
  datasource shared_db_sg { replica_of = shared_db
    host = "mysql.singapore.telco.example" }
  cluster km_sg { profile = key-manager
    nodes = 2
    ha = active-active
    node_capacity = 1500rps
    datasources = [apim_db_sg, shared_db_sg] }
  cluster tm_sg { profile = traffic-manager
    nodes = 2
    ha = active-active
    node_capacity = 1500rps
    datasources = [apim_db_sg, shared_db_sg] }
  cluster gw_sg { profile = gateway-worker
    nodes = 2
    ha = active-active
    node_capacity = 1500rps
    key_manager = km_sg
    traffic_manager = tm_sg
    datasources = [shared_db_sg] }
"#;
    let at = example.find("datacenter singapore {").unwrap();
    let body = at + example[at..].find('\n').unwrap() + 1;
    let checked = clean(&format!("{}{own}{}", &example[..body], &example[body..]));
    let d = topoc::deployment::plan(&checked.topology);
    let plan = plan::plan_failover(&checked.topology, &d, "singapore", Target::Kubernetes)
        .expect("a failover runbook");
    let unavailability = plan.unavailability.unwrap();
    assert!(
        unavailability.contains("no control plane"),
        "{unavailability}"
    );
}

/// Names and strings with shell metacharacters stay quoted words in every
/// command of every target.
#[test]
fn hostile_names_never_become_executable() {
    let checked = topoc::check_path(
        Path::new("tests/fixtures/build/hostile.topo"),
        &DiskFs,
        &SeverityConfig::default(),
    )
    .unwrap();
    assert!(errors(&checked).is_empty(), "{:?}", errors(&checked));
    for target in [Target::Kubernetes, Target::Compose, Target::Puppet] {
        for plan in plans(&checked, target) {
            for step in &plan.steps {
                for command in step
                    .commands
                    .iter()
                    .chain(&step.verify)
                    .chain(&step.rollback)
                {
                    for word in ["$(touch", "`touch"] {
                        if let Some(at) = command.find(word) {
                            // Only inside single quotes.
                            let before = &command[..at];
                            assert_eq!(
                                before.matches('\'').count() % 2,
                                1,
                                "{word} outside single quotes in: {command}"
                            );
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn built_runbooks_match_the_plan_command() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let build = topoc(&[
        "build",
        "examples/upgrades.topo",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(
        build.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&build.stderr)
    );
    for name in ["fix_booking_api", "monthly_patch", "to_4_3", "to_4_5"] {
        let md = std::fs::read_to_string(out_dir.join(format!("runbooks/{name}.md"))).unwrap();
        let json = std::fs::read_to_string(out_dir.join(format!("runbooks/{name}.json"))).unwrap();
        let plan_md = topoc(&["plan", "examples/upgrades.topo", "--upgrade", name]);
        let plan_json = topoc(&[
            "plan",
            "examples/upgrades.topo",
            "--upgrade",
            name,
            "--format",
            "json",
        ]);
        assert_eq!(md.as_bytes(), plan_md.stdout.as_slice(), "{name}.md");
        assert_eq!(json.as_bytes(), plan_json.stdout.as_slice(), "{name}.json");
    }
}

/// APIM 3.x shares the deployment folder (one volume on Compose and
/// Kubernetes, NFS anywhere): a service update deploys once, from the
/// manager node, and tests every node; Puppet hosts that sync by rsync stop
/// the sync to the first node instead (rule 6).
#[test]
fn service_update_on_a_shared_deployment_folder_deploys_once() {
    let checked = example_with(
        "examples/all-in-one-3.2.topo",
        "\nupgrade fix {\n  kind = service-update\n  clusters = [apim]\n}\n",
    );
    let manager = checked.topology.clusters[0].manager_node().unwrap_or(1);
    for target in [Target::Kubernetes, Target::Compose, Target::Puppet] {
        let plan = &plans(&checked, target)[0];
        assert!(plan.safe);
        let actions: Vec<&str> = plan.steps.iter().map(action).collect();
        if target == Target::Puppet {
            assert!(actions.contains(&"stop-sync") && actions.contains(&"start-sync"));
            continue;
        }
        assert_eq!(actions, ["deploy", "test", "test"], "{target:?}");
        assert_eq!(
            plan.steps[0].node.as_deref(),
            Some(format!("apim-{manager}").as_str())
        );
        let commands = plan.steps[0].commands.join("\n");
        assert!(commands.contains("FIXED_ARTIFACT"), "{commands}");
    }
}

/// A version upgrade across datacenters: the replicas of the read-only and
/// disaster-recovery datacenters get the migrated copy through replication
/// (the runbook waits for it), and no step reads a dump no step wrote.
#[test]
fn version_upgrade_across_datacenters_reads_only_dumps_it_wrote() {
    let checked = example_with(
        "examples/multi-datacenter.topo",
        "\nupgrade next {\n  kind = version-upgrade\n  to_version = \"4.3.0\"\n}\n",
    );
    for target in [Target::Kubernetes, Target::Compose, Target::Puppet] {
        let plans = plans(&checked, target);
        let plan = plans.iter().find(|p| p.upgrade == "next").unwrap();
        assert!(plan.safe, "{:?}", plan.violations);
        assert!(dumps_are_written_before_read(plan));
        let waits: Vec<&plan::Step> = plan
            .steps
            .iter()
            .filter(|s| s.title.starts_with("Wait for replica"))
            .collect();
        assert_eq!(
            waits.len(),
            4,
            "two databases, two datacenters with replicas"
        );
        assert!(waits.iter().all(|s| s.verify[0].contains("_4_3_0")));
    }
}

#[test]
fn database_steps_act_on_the_databases_they_name() {
    // Datasource names that are also words of the steps' titles.
    let text = r#"
topology words {
  product = wso2-apim
  version = "4.2.0"
  peak_load = 100rps
}
datacenter main {
  role = primary
  domain = "words.example"
  datasource database {
    purpose = apim
    engine = postgres
    host = "pg.words.example"
    database = "apim"
    user = "wso2"
    password = secret("apim-pw")
  }
  datasource copy {
    purpose = shared
    engine = mssql
    host = "mssql.words.example"
    database = "shared"
    user = "wso2"
    password = secret("shared-pw")
  }
  cluster apim {
    profile = all-in-one
    nodes = 2
    ha = active-active
    node_capacity = 100rps
    datasources = [database, copy]
  }
}
upgrade next {
  kind = version-upgrade
  to_version = "4.3.0"
}
upgrade move {
  kind = migration
  to_version = "4.3.0"
  read_only_window = 1h
  token_sync = one-way
}
"#;
    let checked = clean(text);
    for target in [Target::Kubernetes, Target::Compose, Target::Puppet] {
        for plan in plans(&checked, target) {
            assert!(plan.safe, "{:?}", plan.violations);
            assert!(dumps_are_written_before_read(&plan), "{}", plan.upgrade);
            for step in &plan.steps {
                let commands = step.commands.join("\n");
                let names_copy = step.title == "Dump database copy"
                    || step.title.starts_with("Restore copy ")
                    || step.title.starts_with("Restore the dump of copy ");
                let expected = match (action(step), names_copy) {
                    ("dump", false) => "pg_dump",
                    ("dump", true) => "sqlpackage /Action:Export",
                    ("restore", false) => "pg_restore",
                    ("restore", true) => "sqlpackage /Action:Import",
                    ("token-sync", _) => "IDN_OAUTH2_ACCESS_TOKEN_SCOPE",
                    _ => continue,
                };
                assert!(
                    commands.contains(expected),
                    "{}: step {} `{}` runs {commands}",
                    plan.upgrade,
                    step.n,
                    step.title
                );
            }
            let migrations: Vec<&plan::Step> = plan
                .steps
                .iter()
                .filter(|s| action(s) == "migrate-db")
                .collect();
            assert_eq!(migrations.len(), 1, "one run of the migration client");
        }
    }
}

/// A change to a cold standby site puts the new image or build in place
/// and starts nothing there: its databases are read-only replicas.
#[test]
fn standby_sites_are_changed_without_starting() {
    let checked = example_with(
        "examples/multi-datacenter.topo",
        "\nupgrade fix {\n  kind = service-update\n}\nupgrade next {\n  kind = version-upgrade\n  to_version = \"4.3.0\"\n}\n",
    );
    for target in [Target::Kubernetes, Target::Compose, Target::Puppet] {
        for plan in plans(&checked, target) {
            let standby: Vec<&plan::Step> = plan
                .steps
                .iter()
                .filter(|s| s.title.contains("(standby datacenter, not running)"))
                .collect();
            // A fixed service reaches a standby node with the artifacts
            // when it starts, but for a scaled cluster's pods on
            // Kubernetes, whose image carries it.
            if plan.upgrade == "fix" && target != Target::Kubernetes {
                assert!(standby.is_empty(), "{target:?}: {}", standby[0].title);
            } else {
                assert!(!standby.is_empty(), "{target:?} {}", plan.upgrade);
            }
            for step in standby {
                for command in step.commands.iter().chain(&step.verify) {
                    for starts in [
                        " up ",
                        "systemctl start",
                        "enable --now",
                        "rollout status",
                        " exec ",
                        "--replicas=",
                    ] {
                        assert!(
                            !command.contains(starts),
                            "{} {:?}: step {} `{}` runs {command}",
                            plan.upgrade,
                            target,
                            step.n,
                            step.title
                        );
                    }
                }
            }
        }
    }
}

/// `restart = false` applies a patch in place on Puppet hosts; a container
/// changes its image only by restarting, so there the patch rolls.
#[test]
fn a_patch_without_restart_restarts_only_containers() {
    let checked = example_with(
        "examples/upgrades.topo",
        "\nupgrade hot {\n  kind = patch\n  restart = false\n}\n",
    );
    for target in [Target::Kubernetes, Target::Compose, Target::Puppet] {
        let plans = plans(&checked, target);
        let plan = plans.iter().find(|p| p.upgrade == "hot").unwrap();
        assert!(plan.safe, "{:?}", plan.violations);
        let patches: Vec<&plan::Step> =
            plan.steps.iter().filter(|s| action(s) == "patch").collect();
        assert!(!patches.is_empty());
        for step in patches {
            let in_place = step.title.contains("(no restart)");
            assert_eq!(
                in_place,
                target == Target::Puppet,
                "{:?}: {}",
                target,
                step.title
            );
            if in_place {
                assert!(
                    step.commands.iter().all(|c| !c.contains("systemctl")),
                    "{:?}",
                    step.commands
                );
            }
        }
    }
}

/// ssh hands the remote shell one string: a remote command with a quoted
/// argument travels as one quoted word, so the remote shell sees the
/// quotes. Run locally, the word re-parses to the intended arguments.
#[test]
fn remote_commands_keep_their_quoting_through_ssh() {
    let out = topoc(&[
        "plan",
        "examples/multi-datacenter.topo",
        "--failover",
        "singapore",
        "--for",
        "puppet",
        "--format",
        "json",
    ]);
    let value: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut checked = 0;
    for step in value["steps"].as_array().unwrap() {
        for command in step["commands"].as_array().unwrap() {
            let command = command.as_str().unwrap();
            if !command.contains("agent --disable") {
                continue;
            }
            // What the remote shell receives: ssh's arguments after the
            // host, joined by spaces; it must parse to the message as one
            // argument.
            let script = format!(
                "ssh() {{ shift; sh -c \"set -- $*; printf '%s\\n' \\\"\\$#\\\" \\\"\\$5\\\"\" x; }}; {command}"
            );
            let run = Command::new("sh").arg("-c").arg(&script).output().unwrap();
            let stdout = String::from_utf8_lossy(&run.stdout);
            let mut lines = stdout.lines();
            assert_eq!(lines.next(), Some("5"), "{command}: {stdout}");
            assert!(
                lines.next().is_some_and(|m| m.starts_with("failover: ")),
                "{command}"
            );
            checked += 1;
        }
    }
    assert!(checked > 0);
}

/// Adding a new service (the source notes): deployed from the manager node
/// only where file sharing carries it, on every node where nothing shares
/// the API folder; the read-only datacenters wait for the artifact server;
/// every node is tested before the service is exposed, by hand.
#[test]
fn a_new_service_is_deployed_once_carried_tested_then_exposed() {
    let shared = example_with(
        "examples/all-in-one-3.2.topo",
        "\nupgrade new_api {\n  kind = add-service\n}\n",
    );
    let across = example_with(
        "examples/multi-datacenter.topo",
        "\nupgrade new_api {\n  kind = add-service\n}\n",
    );
    for target in [Target::Kubernetes, Target::Compose, Target::Puppet] {
        let plan = plans(&shared, target)
            .into_iter()
            .find(|p| p.upgrade == "new_api")
            .unwrap();
        assert!(plan.safe, "{:?}", plan.violations);
        let deploys: Vec<&plan::Step> = plan
            .steps
            .iter()
            .filter(|s| action(s) == "deploy")
            .collect();
        assert_eq!(deploys.len(), 1, "{target:?}: from the manager only");
        assert_eq!(deploys[0].node.as_deref(), Some("apim-1"));
        assert!(
            deploys[0]
                .commands
                .iter()
                .any(|c| c.contains("NEW_ARTIFACT"))
        );
        let expose = plan.steps.last().unwrap();
        assert_eq!(action(expose), "expose");
        assert!(expose.manual);
        // Every node is tested before the service is exposed.
        let tested: Vec<&str> = plan
            .steps
            .iter()
            .filter(|s| action(s) == "test")
            .filter_map(|s| s.node.as_deref())
            .collect();
        assert_eq!(tested, ["apim-1", "apim-2"], "{target:?}");

        let plan = plans(&across, target)
            .into_iter()
            .find(|p| p.upgrade == "new_api")
            .unwrap();
        let deployed: Vec<usize> = plan
            .steps
            .iter()
            .filter(|s| action(s) == "deploy")
            .map(|s| s.n)
            .collect();
        assert!(!deployed.is_empty());
        assert!(
            plan.steps
                .iter()
                .filter(|s| action(s) == "deploy")
                .all(|s| s.datacenter.as_deref() == Some("colombo")),
            "only the primary deploys"
        );
        let waits: Vec<&plan::Step> = plan
            .steps
            .iter()
            .filter(|s| action(s) == "await-sync")
            .collect();
        assert!(!waits.is_empty());
        for wait in &waits {
            assert_eq!(wait.datacenter.as_deref(), Some("london"));
            assert!(wait.n > *deployed.iter().max().unwrap());
            assert!(!wait.verify.is_empty());
        }
        let expose = plan.steps.last().unwrap();
        assert_eq!(action(expose), "expose");
        assert!(plan.steps.iter().all(|s| s.n <= expose.n));
    }
}

/// Every command, verification and rollback of every upgrade kind on every
/// HA mode, for every target, passes shellcheck: operators paste them into
/// bash. (`.ci/run` checks the examples' runbooks the same way; this finds
/// a quoting mistake in `cargo test`.)
#[test]
fn every_runbook_line_passes_shellcheck() {
    let mut script = String::from("#!/usr/bin/env bash\nset -euo pipefail\n");
    let mut count = 0;
    for kind in KINDS {
        for ha in MODES {
            let checked = check(&topology(&matrix_shape(kind, ha)));
            for target in [Target::Kubernetes, Target::Compose, Target::Puppet] {
                for plan in plans(&checked, target) {
                    for step in &plan.steps {
                        count += 1;
                        script.push_str(&format!(
                            "\n# {kind} {ha} {} step {}: {}\nstep_{count}() {{\n",
                            target.name(),
                            step.n,
                            step.title.replace('\n', " "),
                        ));
                        for line in step
                            .commands
                            .iter()
                            .chain(&step.verify)
                            .chain(&step.rollback)
                        {
                            script.push_str(line);
                            script.push('\n');
                        }
                        script.push_str(":\n}\n");
                    }
                }
            }
        }
    }
    assert!(count > 100, "{count} steps");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runbooks.sh");
    std::fs::write(&path, &script).unwrap();
    let out = Command::new("shellcheck")
        .args(["-s", "bash", "-S", "warning"])
        .arg(&path)
        .output()
        .expect("shellcheck is installed (apt-get install shellcheck)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
