//! The CI integrations shipped with the repository: the GitHub Action
//! (`action.yml`) and the pre-commit hooks (`.pre-commit-hooks.yaml`) parse,
//! their shell steps are valid bash, and every topoc command and option
//! they run exists.

use std::process::Command;

use serde_json::Value;

fn topoc(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_topoc"))
        .args(args)
        .output()
        .expect("topoc runs")
}

/// The options of a topoc subcommand, from its `--help`.
fn options(subcommand: &str) -> String {
    String::from_utf8(topoc(&[subcommand, "--help"]).stdout).unwrap()
}

/// Every `topoc SUB --option` in a script names a subcommand and options
/// it has.
fn assert_topoc_calls_exist(script: &str) {
    for line in script.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        for (i, word) in words.iter().enumerate() {
            if *word != "topoc" {
                continue;
            }
            let Some(sub) = words.get(i + 1) else {
                continue;
            };
            let help = options(sub);
            assert!(!help.is_empty(), "`topoc {sub}` is no subcommand: {line}");
            for option in words[i + 2..]
                .iter()
                .take_while(|w| !w.starts_with(['>', '|']))
            {
                if option.starts_with("--") {
                    assert!(
                        help.contains(option),
                        "`topoc {sub}` has no {option}: {line}"
                    );
                }
            }
        }
    }
}

fn bash_parses(script: &str) {
    let out = Command::new("bash")
        .args(["-n", "-c", script])
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "{}\n{script}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_action_runs_commands_that_exist() {
    let text = std::fs::read_to_string("action.yml").unwrap();
    let action: Value = serde_saphyr::from_str(&text).unwrap();
    assert_eq!(action["runs"]["using"], "composite");
    for input in ["path", "out", "for", "comment"] {
        assert!(action["inputs"][input].is_object(), "input {input}");
    }
    let steps = action["runs"]["steps"].as_array().unwrap();
    let mut scripts = 0;
    for step in steps {
        let Some(run) = step["run"].as_str() else {
            assert!(step["uses"].is_string(), "{step}");
            continue;
        };
        assert_eq!(step["shell"], "bash", "{step}");
        // GitHub fills in ${{ ... }} before bash runs the script.
        assert!(
            !run.contains("${{"),
            "inputs reach scripts through env: {run}"
        );
        bash_parses(run);
        assert_topoc_calls_exist(run);
        scripts += 1;
    }
    assert!(scripts >= 5);
    let plan = steps
        .iter()
        .find(|s| s["id"] == "plan")
        .expect("the plan step");
    assert!(plan["run"].as_str().unwrap().contains("--since \"$BASE\""));
}

#[test]
fn the_pre_commit_hooks_run_on_a_clean_example() {
    let text = std::fs::read_to_string(".pre-commit-hooks.yaml").unwrap();
    let hooks: Vec<Value> = serde_saphyr::from_str(&text).unwrap();
    let ids: Vec<&str> = hooks.iter().map(|h| h["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["topoc-fmt", "topoc-fmt-check", "topoc-check"]);
    for hook in &hooks {
        assert_eq!(hook["files"], "\\.topo$");
        let entry = hook["entry"].as_str().unwrap();
        let words: Vec<&str> = entry.split_whitespace().collect();
        assert_eq!(words[0], "topoc");
        assert_topoc_calls_exist(entry);
        // pre-commit passes the staged files after the entry's words.
        if words.contains(&"--check") || words[1] == "check" {
            let mut args: Vec<&str> = words[1..].to_vec();
            args.push("examples/distributed-4.x.topo");
            let out = topoc(&args);
            assert_eq!(out.status.code(), Some(0), "{entry}: {:?}", out);
        }
    }
}
