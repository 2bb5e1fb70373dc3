//! `topoc plan PATH --since REV` and `--from OLD`: each scenario commits a
//! topology to a temporary git repository, changes the working tree, and
//! checks the changes found, the runbook step by step, and its
//! simulation; CH001's explanation is checked here too (its example is a
//! pair of topologies, before and after).

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn topoc(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_topoc"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("topoc runs")
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .status()
        .expect("git runs");
    assert!(status.success(), "git {args:?}");
}

/// A repository holding `before` as `t.topo`, committed, with `after` in
/// the working tree.
fn repository(before: &str, after: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q"]);
    std::fs::write(dir.path().join("t.topo"), before).unwrap();
    git(dir.path(), &["add", "t.topo"]);
    git(dir.path(), &["commit", "-q", "-m", "before"]);
    std::fs::write(dir.path().join("t.topo"), after).unwrap();
    dir
}

fn example(name: &str) -> String {
    std::fs::read_to_string(format!("examples/{name}.topo")).unwrap()
}

/// `text` with `from` replaced by `to` once (it must be there).
fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "no `{from}`");
    text.replacen(from, to, 1)
}

struct Run {
    code: Option<i32>,
    plan: Value,
    stderr: String,
}

fn plan_since(dir: &Path, target: &str) -> Run {
    let out = topoc(
        dir,
        &[
            "plan", "t.topo", "--since", "HEAD", "--for", target, "--format", "json",
        ],
    );
    Run {
        code: out.status.code(),
        plan: serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn kinds(plan: &Value) -> Vec<String> {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap().to_string())
        .collect()
}

fn steps(plan: &Value) -> Vec<(String, String)> {
    plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["action"].as_str().unwrap().to_string(),
                s["title"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn position(plan: &Value, action: &str, title_has: &str) -> usize {
    steps(plan)
        .iter()
        .position(|(a, t)| a == action && t.contains(title_has))
        .unwrap_or_else(|| panic!("no {action} step about {title_has}: {:?}", steps(plan)))
}

const TARGETS: [&str; 3] = ["kubernetes", "compose", "puppet"];

#[test]
fn no_change_is_no_step() {
    let text = example("distributed-4.x");
    let repo = repository(&text, &text);
    for target in TARGETS {
        let run = plan_since(repo.path(), target);
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        assert!(kinds(&run.plan).is_empty());
        assert!(steps(&run.plan).is_empty());
        assert_eq!(run.plan["safe"], true);
    }
}

#[test]
fn scale_out_starts_and_tests_new_nodes_before_they_take_traffic() {
    let before = example("distributed-4.x");
    let after = edit(
        &before,
        "    profile = gateway-worker\n    nodes = 3",
        "    profile = gateway-worker\n    nodes = 5",
    );
    let repo = repository(&before, &after);
    for target in TARGETS {
        let run = plan_since(repo.path(), target);
        assert_eq!(run.code, Some(0), "{target}: {}", run.stderr);
        assert_eq!(kinds(&run.plan), ["scale-out"], "{target}");
        let change = &run.plan["changes"][0];
        assert_eq!(
            (change["from"].as_str(), change["to"].as_str()),
            (Some("3"), Some("5"))
        );
        assert_eq!(change["span"]["line"].as_u64(), Some(87));
        for node in ["gateway-4", "gateway-5"] {
            let start = position(&run.plan, "start-node", node);
            let test = position(&run.plan, "test", node);
            let route = position(&run.plan, "undrain", "Route the traffic");
            assert!(
                start < test && test < route,
                "{target}: {:?}",
                steps(&run.plan)
            );
            // Until the routes are the commit's, the new node serves
            // nothing.
            let serving = &run.plan["steps"][test]["serving"];
            assert!(
                !serving.as_array().unwrap().iter().any(|n| n == node),
                "{target}: {node} serves before the routes"
            );
        }
        assert_eq!(run.plan["safe"], true);
        // The files of every target that change.
        let files: Vec<&str> = run.plan["artifacts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["path"].as_str().unwrap())
            .collect();
        assert!(files.contains(&"compose/frankfurt/config/gateway-4/deployment.toml"));
        assert!(files.contains(&"kubernetes/frankfurt/24-gateway.yaml"));
    }
}

#[test]
fn a_scale_in_below_the_floor_the_commit_leaves_is_unsafe_and_names_the_step() {
    // Before: four gateways of 700rps for a 2000rps peak (floor 1500rps).
    // After: two, for a 900rps peak: the new topology is sound, but until
    // the commit is made the old traffic is what there is.
    let before = edit(
        &edit(
            &example("distributed-4.x"),
            "    profile = gateway-worker\n    nodes = 3",
            "    profile = gateway-worker\n    nodes = 4",
        ),
        "    node_capacity = 800rps\n    key_manager",
        "    node_capacity = 700rps\n    key_manager",
    );
    let after = edit(
        &edit(
            &before,
            "    profile = gateway-worker\n    nodes = 4",
            "    profile = gateway-worker\n    nodes = 2",
        ),
        "peak_load = 2000rps",
        "peak_load = 900rps",
    );
    let repo = repository(&before, &after);
    for target in TARGETS {
        let run = plan_since(repo.path(), target);
        assert_eq!(run.code, Some(1), "{target}");
        assert_eq!(run.plan["safe"], false);
        let violation = &run.plan["violations"][0];
        let step = violation["step"].as_u64().unwrap() as usize;
        assert!(
            run.plan["steps"][step - 1]["title"]
                .as_str()
                .unwrap()
                .starts_with("Route the traffic"),
            "{target}: {violation}"
        );
        assert!(run.stderr.contains("error[UP001]: step"), "{}", run.stderr);
    }
}

#[test]
fn a_new_update_level_patches_every_node_and_a_version_bump_upgrades() {
    let before = example("distributed-4.x");
    let patched = edit(&before, "update_level = 92", "update_level = 95");
    let repo = repository(&before, &patched);
    for target in TARGETS {
        let run = plan_since(repo.path(), target);
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        assert_eq!(kinds(&run.plan), ["patch"]);
        let reconfigured = steps(&run.plan)
            .iter()
            .filter(|(a, _)| a == "reconfigure")
            .count();
        assert!(
            reconfigured >= 7,
            "{target}: every node: {:?}",
            steps(&run.plan)
        );
    }
    // On Puppet the nodes run the update tool and the level is checked.
    let run = plan_since(repo.path(), "puppet");
    let step = &run.plan["steps"][position(&run.plan, "reconfigure", "gateway-1")];
    assert!(
        step["verify"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v.as_str().unwrap().contains("update-level")),
        "{step}"
    );

    let upgraded = edit(&before, "version = \"4.2.0\"", "version = \"4.3.0\"");
    let repo = repository(&before, &upgraded);
    let run = plan_since(repo.path(), "kubernetes");
    assert_eq!(kinds(&run.plan), ["version-upgrade"]);
    let migrate = position(&run.plan, "migrate-db", "migration");
    let first_upgrade = position(&run.plan, "upgrade", "");
    assert!(migrate < first_upgrade);

    // With another change it is refused: a version change goes alone.
    let both = edit(
        &upgraded,
        "    profile = gateway-worker\n    nodes = 3",
        "    profile = gateway-worker\n    nodes = 4",
    );
    let repo = repository(&before, &both);
    let run = plan_since(repo.path(), "kubernetes");
    assert_eq!(run.code, Some(1));
    assert!(kinds(&run.plan).contains(&"unsupported".to_string()));
    assert!(run.stderr.contains("CH001"), "{}", run.stderr);
    assert!(steps(&run.plan).is_empty());
}

#[test]
fn an_added_cluster_starts_and_is_routed_after_its_test_a_config_change_rolls() {
    let before = example("distributed-4.x");
    let added = edit(
        &before,
        "  load_balancer",
        "  cluster partner_gateway {\n    profile = gateway-worker\n    nodes = 2\n    ha = active-active\n    node_capacity = 800rps\n    peak_load = 500rps\n    key_manager = control_plane\n    traffic_manager = traffic_manager\n    datasources = [shared_db]\n  }\n\n  load_balancer",
    );
    let repo = repository(&before, &added);
    for target in TARGETS {
        let run = plan_since(repo.path(), target);
        assert_eq!(run.code, Some(0), "{target}: {}", run.stderr);
        assert!(
            kinds(&run.plan).contains(&"add-cluster".to_string()),
            "{:?}",
            kinds(&run.plan)
        );
        let start = position(&run.plan, "start-node", "partner-gateway-1");
        let test = position(&run.plan, "test", "partner-gateway-1");
        assert!(start < test);
    }
    let changed = edit(
        &before,
        "    memory = 4GiB\n  }\n\n  # Gateways",
        "    memory = 6GiB\n  }\n\n  # Gateways",
    );
    let repo = repository(&before, &changed);
    for target in TARGETS {
        let run = plan_since(repo.path(), target);
        assert_eq!(kinds(&run.plan), ["config-change"], "{target}");
        assert_eq!(run.plan["changes"][0]["cluster"], "traffic_manager");
        assert!(
            steps(&run.plan)
                .iter()
                .any(|(a, t)| a == "reconfigure" && t.contains("traffic-manager-1"))
        );
        assert!(
            !steps(&run.plan)
                .iter()
                .any(|(_, t)| t.contains("gateway-1")),
            "only the changed cluster rolls"
        );
    }
}

#[test]
fn a_datacenter_added_opens_after_its_tests_and_one_removed_leaves_dns_first() {
    let with = example("multi-datacenter");
    let start = with.find("datacenter london {").unwrap();
    let end = start + with[start..].find("\n}\n").unwrap() + 3;
    let without = format!("{}{}", &with[..start], &with[end..]);
    let repo = repository(&without, &with);
    for target in TARGETS {
        let run = plan_since(repo.path(), target);
        assert_eq!(run.code, Some(0), "{target}: {}", run.stderr);
        assert!(kinds(&run.plan).contains(&"add-datacenter".to_string()));
        let prepare = position(&run.plan, "prepare", "london");
        let replica = position(&run.plan, "start-sync", "apim_db_london");
        let tested = position(&run.plan, "test", "gateway-london");
        let open = position(&run.plan, "open-traffic", "london");
        assert!(
            prepare < replica && replica < tested && tested < open,
            "{target}"
        );
        assert_eq!(run.plan["safe"], true);
    }
    let repo = repository(&with, &without);
    for target in TARGETS {
        let run = plan_since(repo.path(), target);
        assert_eq!(run.code, Some(0), "{target}: {}", run.stderr);
        assert!(kinds(&run.plan).contains(&"remove-datacenter".to_string()));
        let dns = position(&run.plan, "dns-switch", "london");
        let stop = position(&run.plan, "remove-node", "gateway-london-1");
        assert!(dns < stop);
    }
}

#[test]
fn from_compares_with_another_file_and_markdown_is_a_review_comment() {
    let before = example("distributed-4.x");
    let after = edit(
        &before,
        "    profile = gateway-worker\n    nodes = 3",
        "    profile = gateway-worker\n    nodes = 4",
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("old.topo"), &before).unwrap();
    std::fs::write(dir.path().join("t.topo"), &after).unwrap();
    let out = topoc(
        dir.path(),
        &["plan", "t.topo", "--from", "old.topo", "--for", "compose"],
    );
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("## What this change does\n"), "{text}");
    assert!(
        text.contains("| scale-out | `frankfurt` | `gateway` | `3` | `4` | `t.topo:87` |"),
        "{text}"
    );
    assert!(
        text.contains("<details><summary>compose: 1 added"),
        "{text}"
    );
    assert!(text.contains("# Runbook: change (change)"));
}

#[test]
fn a_revision_or_path_that_is_not_there_is_a_usage_error() {
    let text = example("distributed-4.x");
    let repo = repository(&text, &text);
    let out = topoc(
        repo.path(),
        &["plan", "t.topo", "--since", "no-such-revision"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a commit"));
    let out = topoc(repo.path(), &["plan", "t.topo", "--since", "--upgrade"]);
    assert_ne!(out.status.code(), Some(0));
    let out = topoc(repo.path(), &["plan", "t.topo", "--from", "missing.topo"]);
    assert_eq!(out.status.code(), Some(2));
    let plain = tempfile::tempdir().unwrap();
    std::fs::write(plain.path().join("t.topo"), &text).unwrap();
    let out = topoc(plain.path(), &["plan", "t.topo", "--since", "HEAD"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not in a git repository"));
}

/// CH001's example is a commit that moves a datasource: it produces CH001
/// and no runbook; its fix (the copy declared as a datasource of its own,
/// the cluster pointed at it) is a configuration change.
#[test]
fn ch001_example_moves_a_datasource_and_its_fix_does_not() {
    let lint = topoc::lints::all()
        .iter()
        .find(|l| l.code == "CH001")
        .expect("CH001");
    for (block, fires) in [
        (lint.example().unwrap(), true),
        (lint.fixed_example().unwrap(), false),
    ] {
        let (before, after) = block
            .split_once("# after.topo\n")
            .expect("before and after");
        let before = before.trim_start_matches("# before.topo\n");
        let repo = repository(before, after);
        let run = plan_since(repo.path(), "kubernetes");
        assert_eq!(run.stderr.contains("CH001"), fires, "{}", run.stderr);
        assert_eq!(run.code, Some(if fires { 1 } else { 0 }), "{}", run.stderr);
        if !fires {
            assert_eq!(kinds(&run.plan), ["config-change"]);
            assert!(!steps(&run.plan).is_empty());
        }
    }
}
