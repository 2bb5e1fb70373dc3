//! Every runbook command, as an operator pastes it, run by bash in a world
//! where no program exists: bash's `command_not_found_handle` records each
//! program a command would run with its arguments. Nothing a topology names
//! may run (the hostile fixtures' `touch` never appears), and each hostile
//! value reaches its program as one argument, intact.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use topoc::diagnostics::SeverityConfig;
use topoc::load::DiskFs;
use topoc::model::UpgradeId;
use topoc::plan::{self, Target};

const TARGETS: [Target; 3] = [Target::Kubernetes, Target::Compose, Target::Puppet];

/// Every plan of a topology (its upgrades and failovers) for a target.
fn plans(path: &str, target: Target) -> Vec<plan::Plan> {
    let checked =
        topoc::check_path(Path::new(path), &DiskFs, &SeverityConfig::default()).expect("loads");
    assert!(!checked.has_errors(), "{path} has errors");
    let t = &checked.topology;
    let d = topoc::deployment::plan(t);
    let mut out: Vec<plan::Plan> = (0..t.upgrades.len())
        .map(|i| plan::plan_upgrade(t, &d, UpgradeId(i), target))
        .collect();
    out.extend(
        d.sites
            .iter()
            .filter_map(|s| plan::plan_failover(t, &d, &s.name, target)),
    );
    out
}

/// One program run: its name and arguments.
type Run = Vec<String>;

/// Run `command` in bash, in `dir`, with every `${NAME:?...}` it reads set;
/// the programs it would run, in order. Only `mktemp` exists (its files go
/// to `dir/tmp`, and stay: `rm` is recorded, not run).
fn run(command: &str, dir: &Path) -> Vec<Run> {
    let log = dir.join("runs.log");
    let _ = std::fs::remove_file(&log);
    let bin = dir.join("bin");
    if !bin.exists() {
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(dir.join("tmp")).unwrap();
        let real = ["/usr/bin/mktemp", "/bin/mktemp"]
            .iter()
            .map(Path::new)
            .find(|p| p.exists())
            .expect("mktemp exists");
        #[cfg(unix)]
        std::os::unix::fs::symlink(real, bin.join("mktemp")).unwrap();
    }
    let script = format!(
        "command_not_found_handle() {{ {{ printf '%s\\x1f' \"$@\"; printf '\\x1e'; }} >>{log}; return 0; }}\n{command}\n",
        log = topoc::text::escape::shell_word(&log.to_string_lossy()),
    );
    let mut bash = Command::new(if Path::new("/bin/bash").exists() {
        "/bin/bash"
    } else {
        "/usr/bin/bash"
    });
    bash.arg("-c").arg(&script).current_dir(dir).env_clear();
    bash.env("PATH", &bin)
        .env("HOME", dir)
        .env("TMPDIR", dir.join("tmp"));
    for name in required_variables(command) {
        bash.env(&name, format!("value-of-{name}"));
    }
    let output = bash.output().expect("bash runs");
    assert!(
        !String::from_utf8_lossy(&output.stderr).contains("syntax error"),
        "{command}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    text.split('\x1e')
        .filter(|r| !r.is_empty())
        .map(|r| {
            r.split('\x1f')
                .filter(|a| !a.is_empty())
                .map(str::to_string)
                .collect()
        })
        .collect()
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

fn every_command(plan: &plan::Plan) -> impl Iterator<Item = &String> {
    plan.steps
        .iter()
        .flat_map(|s| s.commands.iter().chain(&s.verify).chain(&s.rollback))
}

#[test]
fn nothing_a_topology_names_ever_runs() {
    let dir = tempfile::tempdir().unwrap();
    let mut topologies: Vec<String> = std::fs::read_dir("examples")
        .unwrap()
        .map(|e| e.unwrap().path().to_string_lossy().into_owned())
        .filter(|p| p.ends_with(".topo"))
        .collect();
    topologies.sort();
    topologies.push("tests/fixtures/build/hostile.topo".into());
    topologies.push("tests/fixtures/build/hostile-engines.topo".into());
    let mut commands = 0;
    for path in &topologies {
        for target in TARGETS {
            for plan in plans(path, target) {
                for command in every_command(&plan) {
                    commands += 1;
                    for program in run(command, dir.path()) {
                        assert_ne!(
                            program.first().map(String::as_str),
                            Some("touch"),
                            "{path} {}: {command}",
                            plan.upgrade
                        );
                    }
                }
            }
        }
    }
    assert!(commands > 500, "{commands}");
    assert!(!Path::new("/tmp/topoc-pwned").exists());
}

#[test]
fn hostile_database_names_reach_each_program_as_one_argument() {
    const ORACLE_USER: &str = "o'ra\"cle$(touch /tmp/topoc-pwned)";
    const ORACLE_DB: &str = "x`touch /tmp/topoc-pwned`y'$(touch /tmp/topoc-pwned)\"";
    const MSSQL_DB: &str = "]; DROP DATABASE x; -- $(touch /tmp/topoc-pwned) `tick`";
    const MSSQL_USER: &str = "sa'; $(touch /tmp/topoc-pwned)";
    let dir = tempfile::tempdir().unwrap();
    for target in TARGETS {
        let mut seen: BTreeSet<String> = BTreeSet::new();
        for plan in plans("tests/fixtures/build/hostile-engines.topo", target) {
            for command in every_command(&plan) {
                for program in run(command, dir.path()) {
                    let name = program[0].as_str();
                    let args = &program[1..];
                    match name {
                        "expdp" => {
                            assert!(args.contains(&format!("schemas={ORACLE_USER}")), "{args:?}");
                            // The password is in the parameter file, not
                            // on the command line.
                            assert!(!args.iter().any(|a| a.contains("value-of-")), "{args:?}");
                            seen.insert(name.to_string());
                        }
                        "sqlpackage" => {
                            assert!(
                                args.iter().any(|a| a.starts_with("/SourceDatabaseName:")
                                    && a.ends_with(MSSQL_DB)
                                    || a.starts_with("/TargetDatabaseName:")
                                        && a.contains(MSSQL_DB)),
                                "{args:?}"
                            );
                            assert!(
                                args.contains(&format!("/SourceUser:{MSSQL_USER}"))
                                    || args.contains(&format!("/TargetUser:{MSSQL_USER}")),
                                "{args:?}"
                            );
                            seen.insert(name.to_string());
                        }
                        "rm" if command.contains("expdp") => {
                            let parfile = args.last().expect("a file");
                            let text = std::fs::read_to_string(parfile).unwrap();
                            assert_eq!(
                                text,
                                format!(
                                    "userid={ORACLE_USER}/\"value-of-ORACLE_PASSWORD\"@//oracle.yes.example:1521/{ORACLE_DB}\n"
                                )
                            );
                            seen.insert("parfile".to_string());
                        }
                        "sqlcmd" => {
                            let user = args.iter().position(|a| a == "-U").map(|i| &args[i + 1]);
                            assert_eq!(user.map(String::as_str), Some(MSSQL_USER), "{args:?}");
                            seen.insert(name.to_string());
                        }
                        _ => {}
                    }
                }
            }
        }
        assert!(seen.contains("expdp"), "{target:?}: {seen:?}");
        assert!(seen.contains("sqlpackage"), "{target:?}: {seen:?}");
        assert!(seen.contains("parfile"), "{target:?}: {seen:?}");
    }
}
