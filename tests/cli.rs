//! The command line, run as a user runs it: exit codes, formats, bad input.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

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

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            stderr(output)
        )
    })
}

fn codes(report: &Value) -> Vec<String> {
    report["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .map(|d| d["code"].as_str().expect("code").to_string())
        .collect()
}

fn examples() -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir("examples")
        .expect("examples folder")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "topo"))
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    out.sort();
    assert!(out.len() >= 4, "at least four examples");
    out
}

#[test]
fn every_example_checks_clean() {
    for example in examples() {
        let output = topoc(&["check", &example, "--format", "json", "--deny", "warnings"]);
        let report = json(&output);
        assert_eq!(codes(&report), Vec::<String>::new(), "{example}");
        assert_eq!(code(&output), 0, "{example}");
    }
}

#[test]
fn human_output_on_success_names_the_topology() {
    let output = topoc(&["check", "examples/distributed-4.x.topo"]);
    assert_eq!(code(&output), 0);
    assert!(
        stderr(&output).contains("ok (topology `payments`"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn json_contract_fields() {
    let output = topoc(&[
        "check",
        "tests/fixtures/lints/HA001.topo",
        "--format",
        "json",
    ]);
    assert_eq!(code(&output), 1);
    let report = json(&output);
    let d = &report["diagnostics"][0];
    for field in [
        "code",
        "severity",
        "message",
        "help",
        "file",
        "line",
        "column",
        "end_line",
        "end_column",
        "related",
    ] {
        assert!(d.get(field).is_some(), "missing {field}");
    }
    assert_eq!(d["code"], "HA001");
    assert_eq!(d["severity"], "error");
    assert_eq!(d["line"], 27);
    assert_eq!(report["summary"]["errors"], 1);
    assert!(d["message"].as_str().unwrap().contains("500rps"));
    assert!(d["message"].as_str().unwrap().contains("750rps"));
}

#[test]
fn parser_recovers_three_syntax_errors() {
    let output = topoc(&[
        "check",
        "tests/fixtures/recovery/three_errors.topo",
        "--format",
        "json",
    ]);
    assert_eq!(code(&output), 1);
    let report = json(&output);
    let all = codes(&report);
    assert_eq!(all.iter().filter(|c| *c == "E001").count(), 3, "{all:?}");
    // The rest of the tree was still read and checked: the lone traffic
    // manager after the errors is reported.
    assert!(all.contains(&"HA004".to_string()), "{all:?}");
    let lines: Vec<u64> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "E001")
        .map(|d| d["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [4, 14, 24]);
}

#[test]
fn imports_are_read_once_and_resolve_across_files() {
    let output = topoc(&[
        "check",
        "tests/fixtures/imports/main.topo",
        "--format",
        "json",
    ]);
    assert_eq!(codes(&json(&output)), Vec::<String>::new());
    assert_eq!(code(&output), 0);
}

#[test]
fn import_cycles_and_self_imports_are_e007() {
    for file in ["cycle_a.topo", "self.topo"] {
        let path = format!("tests/fixtures/imports/{file}");
        let output = topoc(&["check", &path, "--format", "json"]);
        assert_eq!(code(&output), 1, "{file}");
        let report = json(&output);
        assert!(
            codes(&report).contains(&"E007".to_string()),
            "{file}: {report}"
        );
        let message = report["diagnostics"][0]["message"].as_str().unwrap();
        assert!(message.contains("import cycle"), "{message}");
    }
}

#[test]
fn imports_are_relative_topo_files() {
    let (output, _dir) =
        check_bytes(b"import \"/etc/passwd\"\nimport \"notes.txt\"\nimport \"missing.topo\"\n");
    assert_eq!(code(&output), 1);
    let report = json(&output);
    let messages: Vec<&str> = report["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["code"] == "E007")
        .map(|d| d["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert_eq!(
        messages[..2],
        [
            "cannot import `/etc/passwd`: the path is absolute",
            "cannot import `notes.txt`: not a `.topo` file",
        ]
    );
    assert!(messages[2].ends_with("missing.topo`: no such file"));
    // Nothing of the refused files is read, let alone quoted.
    assert!(!String::from_utf8_lossy(&output.stdout).contains("root:"));
}

#[test]
fn a_folder_is_one_topology() {
    let output = topoc(&["check", "tests/fixtures/imports", "--format", "json"]);
    // cycle_a, self and main each declare a topology: one folder, one topology.
    let report = json(&output);
    assert!(codes(&report).contains(&"E006".to_string()));
    assert_eq!(code(&output), 1);
}

#[test]
fn deny_and_allow() {
    let fixture = "tests/fixtures/lints/HA004.topo";
    let plain = topoc(&["check", fixture, "--format", "json"]);
    assert_eq!(code(&plain), 0, "a warning alone passes");
    assert_eq!(json(&plain)["summary"]["warnings"], 1);

    let denied = topoc(&["check", fixture, "--format", "json", "--deny", "HA004"]);
    assert_eq!(code(&denied), 1);
    assert_eq!(json(&denied)["diagnostics"][0]["severity"], "error");

    let warnings = topoc(&["check", fixture, "--deny", "warnings"]);
    assert_eq!(code(&warnings), 1);

    let allowed = topoc(&["check", fixture, "--format", "json", "--allow", "ha004"]);
    assert_eq!(code(&allowed), 0);
    assert_eq!(codes(&json(&allowed)), Vec::<String>::new());

    // An error can be allowed too (a deliberate choice)...
    let allowed_error = topoc(&[
        "check",
        "tests/fixtures/lints/HA001.topo",
        "--allow",
        "HA001",
    ]);
    assert_eq!(code(&allowed_error), 0);
    // ...but not a language error, nor an unknown code.
    assert_eq!(code(&topoc(&["check", fixture, "--allow", "E001"])), 2);
    assert_eq!(code(&topoc(&["check", fixture, "--allow", "SEC001"])), 2);
    let unknown = topoc(&["check", fixture, "--deny", "XX001"]);
    assert_eq!(code(&unknown), 2);
    assert!(stderr(&unknown).contains("unknown diagnostic code"));
}

#[test]
fn the_topology_allow_list_is_honoured_and_the_command_line_wins() {
    let example = "examples/multi-datacenter.topo";
    let output = topoc(&["check", example, "--format", "json", "--deny", "HA005"]);
    assert_eq!(code(&output), 1);
    assert_eq!(codes(&json(&output)), ["HA005"]);
}

#[test]
fn sarif_parses_back_as_sarif_2_1_0() {
    let output = topoc(&[
        "check",
        "tests/fixtures/lints/HA001.topo",
        "tests/fixtures/lints/DC001.topo",
        "--format",
        "sarif",
    ]);
    assert_eq!(code(&output), 1);
    let sarif: serde_sarif::sarif::Sarif =
        serde_json::from_slice(&output.stdout).expect("valid SARIF");
    let value = serde_json::to_value(&sarif).unwrap();
    assert_eq!(value["version"], "2.1.0");
    let run = &value["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "topoc");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), topoc::lints::all().len());
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    for result in results {
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
        let region = &result["locations"][0]["physicalLocation"]["region"];
        assert!(region["startLine"].as_u64().unwrap() >= 1);
    }
}

#[test]
fn explain_known_and_unknown_codes() {
    let output = topoc(&["explain", "HA001"]);
    assert_eq!(code(&output), 0);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("## Example") && text.contains("## Use instead"));
    // The examples shown are the ones tests/lint_fixtures.rs checks.
    let lint = topoc::lints::find("HA001").unwrap();
    for example in [lint.example(), lint.fixed_example()] {
        assert!(text.contains(example.expect("an example")), "{text}");
    }

    let unknown = topoc(&["explain", "HA999"]);
    assert_eq!(code(&unknown), 2);
    let err = stderr(&unknown);
    for lint in topoc::lints::all() {
        assert!(err.contains(lint.code), "the list names {}", lint.code);
    }
}

#[test]
fn completions_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let output = topoc(&["completions", shell]);
        assert_eq!(code(&output), 0);
        assert!(String::from_utf8_lossy(&output.stdout).contains("topoc"));
    }
}

#[test]
fn usage_and_io_errors_exit_2() {
    assert_eq!(code(&topoc(&["check"])), 2);
    assert_eq!(code(&topoc(&["frobnicate"])), 2);
    let missing = topoc(&["check", "no/such/file.topo"]);
    assert_eq!(code(&missing), 2);
    assert!(stderr(&missing).contains("no/such/file.topo"));
    let dir = tempfile::tempdir().unwrap();
    let empty_dir = topoc(&["check", dir.path().to_str().unwrap()]);
    assert_eq!(code(&empty_dir), 2);
    assert!(stderr(&empty_dir).contains("no .topo files"));
}

/// Write a file into a temporary folder and check it.
fn check_bytes(bytes: &[u8]) -> (Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("input.topo");
    std::fs::write(&path, bytes).unwrap();
    (
        topoc(&["check", path.to_str().unwrap(), "--format", "json"]),
        dir,
    )
}

#[test]
fn bad_input_gets_diagnostics_never_a_panic() {
    let nested = "a b {".repeat(50_000);
    let huge_list = format!(
        "topology t {{ version = \"4.2.0\" allow = {} }}",
        "[".repeat(50_000)
    );
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("invalid utf-8", b"topology t {\n  version = \"\xff\xfe\"\n}\n".to_vec(), "E001"),
        ("empty file", Vec::new(), "E004"),
        ("only a comment", b"# nothing here\n".to_vec(), "E004"),
        ("deep nesting", nested.into_bytes(), "E001"),
        ("deep list", huge_list.into_bytes(), "E001"),
        ("unterminated string", b"topology t { version = \"4.2.0 }".to_vec(), "E001"),
        (
            "huge number",
            b"topology t { version = \"4.2.0\" }\ndatacenter d { role = primary cluster c { profile = gateway-worker nodes = 99999999999999999999999999 } }".to_vec(),
            "E003",
        ),
        (
            "unit on the wrong attribute",
            b"topology t { version = \"4.2.0\" peak_load = 3h }".to_vec(),
            "E003",
        ),
        ("ambiguous unit", b"topology t { version = \"4.2.0\" peak_load = 5m }".to_vec(), "E003"),
        ("nul bytes", b"topology\0t { }".to_vec(), "E001"),
    ];
    for (name, bytes, expected) in cases {
        let (output, _dir) = check_bytes(&bytes);
        assert_eq!(code(&output), 1, "{name}: {}", stderr(&output));
        let report = json(&output);
        assert!(
            codes(&report).contains(&expected.to_string()),
            "{name}: {report}"
        );
        for d in report["diagnostics"].as_array().unwrap() {
            assert!(
                d["line"].as_u64().unwrap() >= 1,
                "{name}: every diagnostic has a position"
            );
        }
    }
}

#[test]
fn a_100_mb_file_is_refused_quickly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.topo");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(100 * 1024 * 1024).unwrap();
    let output = topoc(&["check", path.to_str().unwrap()]);
    assert_eq!(code(&output), 2);
    assert!(stderr(&output).contains("big.topo"));
    assert!(stderr(&output).contains("MiB"));
}

#[test]
fn diagnostics_are_identical_across_runs() {
    let a = topoc(&[
        "check",
        "tests/fixtures/lints/DS002.topo",
        "--format",
        "json",
    ]);
    let b = topoc(&[
        "check",
        "tests/fixtures/lints/DS002.topo",
        "--format",
        "json",
    ]);
    assert_eq!(a.stdout, b.stdout);
    assert!(Path::new("tests/fixtures/lints/DS002.topo").exists());
}

/// E006 for generated names: every host name (given in `hosts` or derived
/// from the datacenter's `domain`) and every object name names one thing.
#[test]
fn generated_host_and_object_names_never_clash() {
    fn codes_of(text: &str) -> Vec<String> {
        let checked = topoc::check_text(
            std::path::Path::new("names.topo"),
            text,
            &topoc::load::DiskFs,
            &topoc::diagnostics::SeverityConfig::default(),
        );
        checked
            .diagnostics
            .iter()
            .map(|d| format!("{}: {}", d.code, d.message))
            .collect()
    }
    let topology = |gateway_extra: &str, more: &str| {
        format!(
            r#"topology t {{
  version = "4.2.0"
  peak_load = 100rps
}}
datacenter d {{
  role = primary
  domain = "d.example"
  datasource db {{
    purpose = shared
    engine = mysql
    host = "db.d.example"
    database = "shared"
  }}
  cluster gw {{
    profile = gateway-worker
    nodes = 2
    ha = active-active
    node_capacity = 100rps
    datasources = [db]
{gateway_extra}  }}
{more}}}
"#
        )
    };
    let clean = codes_of(&topology("", ""));
    assert!(clean.iter().all(|c| !c.starts_with("E006")), "{clean:?}");
    let cases = [
        // A given host equal to the cluster's own address.
        (
            "    hosts = [\"gw-a.d.example\", \"GW.d.example\"]\n",
            "",
            "node 2 of cluster `gw` and the address of cluster `gw` would both be the host `gw.d.example`",
        ),
        // The same host given twice.
        (
            "    hosts = [\"gw-a.d.example\", \"gw-a.d.example\"]\n",
            "",
            "node 2 of cluster `gw` and node 1 of cluster `gw` would both be the host `gw-a.d.example`",
        ),
        // A given host equal to another cluster's derived node name.
        (
            "    hosts = [\"other-1.d.example\", \"gw-b.d.example\"]\n",
            "  cluster other {\n    profile = gateway-worker\n    nodes = 1\n    node_capacity = 100rps\n    datasources = [db]\n  }\n",
            "would both be the host `other-1.d.example`",
        ),
        // A cluster named like another one's temporary node.
        (
            "",
            "  cluster gw_surge {\n    profile = gateway-worker\n    nodes = 1\n    node_capacity = 100rps\n    datasources = [db]\n  }\n",
            "cluster `gw_surge` and the temporary node of cluster `gw` would both be named `gw-surge`",
        ),
    ];
    for (extra, more, expected) in cases {
        let codes = codes_of(&topology(extra, more));
        assert!(
            codes
                .iter()
                .any(|c| c.starts_with("E006") && c.contains(expected)),
            "expected E006 with {expected:?}, got {codes:?}"
        );
    }
}

/// DS002 when a datacenter that replicates nothing holds a replica of
/// another datacenter's datasource (not a follow-on of DC007).
#[test]
fn a_replica_needs_its_datacenter_to_replicate() {
    let example = std::fs::read_to_string("examples/multi-datacenter.topo").unwrap();
    let at = example.find("  cluster control_plane {").unwrap();
    let text = format!(
        "{}  datasource reports_db {{\n    replica_of = apim_db_london\n    host = \"reports.colombo.example\"\n  }}\n\n{}",
        &example[..at],
        &example[at..]
    );
    let checked = topoc::check_text(
        std::path::Path::new("multi.topo"),
        &text,
        &topoc::load::DiskFs,
        &topoc::diagnostics::SeverityConfig::default(),
    );
    let ds002: Vec<_> = checked
        .diagnostics
        .iter()
        .filter(|d| d.code == "DS002")
        .collect();
    assert_eq!(ds002.len(), 1, "{:?}", checked.diagnostics);
    assert!(
        ds002[0]
            .message
            .contains("but datacenter `colombo` replicates no datacenter"),
        "{}",
        ds002[0].message
    );
    // A read-only datacenter without `replicates` is DC007 alone.
    let without = example.replacen("  replicates = colombo\n", "", 1);
    let checked = topoc::check_text(
        std::path::Path::new("multi.topo"),
        &without,
        &topoc::load::DiskFs,
        &topoc::diagnostics::SeverityConfig::default(),
    );
    let codes: Vec<_> = checked.diagnostics.iter().map(|d| d.code).collect();
    assert!(
        codes.contains(&"DC007") && !codes.contains(&"DS002"),
        "{codes:?}"
    );
}

/// DC002 for a load balancer that fronts a cluster of another datacenter.
#[test]
fn a_load_balancer_fronts_its_own_datacenter() {
    let example = std::fs::read_to_string("examples/multi-datacenter.topo").unwrap();
    let text = example.replacen("fronts = [gateway_london]", "fronts = [gateway]", 1);
    assert_ne!(text, example);
    let checked = topoc::check_text(
        std::path::Path::new("multi.topo"),
        &text,
        &topoc::load::DiskFs,
        &topoc::diagnostics::SeverityConfig::default(),
    );
    let messages: Vec<_> = checked
        .diagnostics
        .iter()
        .map(|d| format!("{}: {}", d.code, d.message))
        .collect();
    assert_eq!(
        messages,
        [
            "DC002: load balancer `api_london` of datacenter `london` fronts cluster `gateway` of datacenter `colombo`"
        ]
    );
}

/// A value given but rejected (E003) is not also reported missing
/// (HA009, UP006).
#[test]
fn a_rejected_value_is_not_also_missing() {
    let example = std::fs::read_to_string("examples/upgrades.topo").unwrap();
    let text = example
        .replacen("to_version = \"4.3.0\"", "to_version = \"four\"", 1)
        .replacen(
            "node_capacity = 800rps",
            "node_capacity = 99999999999999999999999rps",
            1,
        );
    let checked = topoc::check_text(
        std::path::Path::new("upgrades.topo"),
        &text,
        &topoc::load::DiskFs,
        &topoc::diagnostics::SeverityConfig::default(),
    );
    let codes: Vec<_> = checked.diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(codes, ["E003", "E003"]);
}

/// FS002 when a disaster-recovery datacenter runs copies of the primary's
/// clusters that share files, but has no file share for them.
#[test]
fn copies_in_a_disaster_recovery_datacenter_need_a_file_share() {
    let example = std::fs::read_to_string("examples/all-in-one-3.2.topo").unwrap();
    let dr = r#"
datacenter standby {
  role = disaster-recovery
  domain = "standby.bookshop.example"
  replicates = main
  standby = cold
  recovery_time = 2h
  datasource apim_db_dr {
    replica_of = apim_db
    host = "db.standby.bookshop.example"
  }
  datasource shared_db_dr {
    replica_of = shared_db
    host = "db.standby.bookshop.example"
  }
"#;
    let check = |text: &str| {
        topoc::check_text(
            std::path::Path::new("dr.topo"),
            text,
            &topoc::load::DiskFs,
            &topoc::diagnostics::SeverityConfig::default(),
        )
        .diagnostics
        .iter()
        .filter(|d| d.code == "FS002")
        .map(|d| d.message.clone())
        .collect::<Vec<_>>()
    };
    let without = check(&format!("{example}{dr}}}\n"));
    assert_eq!(without.len(), 1, "{without:?}");
    assert!(
        without[0].contains("`standby` has no rsync file share"),
        "{without:?}"
    );
    let with = check(&format!(
        "{example}{dr}  file_share deployment_dr {{\n    method = rsync\n  }}\n}}\n"
    ));
    assert!(with.is_empty(), "{with:?}");
}

/// An `ok` never hides what `allow` silenced, from the command line or the
/// topology; a folder is reported under its own name.
#[test]
fn the_ok_line_counts_the_allowed_diagnostics() {
    let allowed_error = topoc(&[
        "check",
        "tests/fixtures/lints/HA001.topo",
        "--allow",
        "HA001",
    ]);
    assert_eq!(code(&allowed_error), 0);
    assert!(
        stderr(&allowed_error).contains(
            "tests/fixtures/lints/HA001.topo: ok (topology `acme`: 1 datacenter, 2 clusters, 0 upgrades; 6 allowed: HA001, ST001, ST002 (2), ST003, ST004)"
        ),
        "{}",
        stderr(&allowed_error)
    );
    let topology_allows = topoc(&["check", "examples/multi-datacenter.topo"]);
    assert!(
        stderr(&topology_allows).contains("; 2 allowed: DC006, HA005)"),
        "{}",
        stderr(&topology_allows)
    );
    let nothing_allowed = topoc(&["check", "examples/distributed-4.x.topo"]);
    assert!(
        !stderr(&nothing_allowed).contains("allowed"),
        "{}",
        stderr(&nothing_allowed)
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        "tests/fixtures/lints/HA004.topo",
        dir.path().join("site.topo"),
    )
    .unwrap();
    let folder = topoc(&["check", dir.path().to_str().unwrap(), "--allow", "HA004"]);
    assert!(
        stderr(&folder).contains(&format!("{}: ok (topology", dir.path().display()))
            && stderr(&folder).contains("; 6 allowed: HA004, ST001, ST002 (2), ST003, ST004)"),
        "{}",
        stderr(&folder)
    );
}

/// A file that is not a `.topo` file is a usage error naming it, not a
/// topology full of syntax errors.
#[test]
fn a_file_that_is_not_a_topo_file_is_refused() {
    for command in [
        vec!["check", "README.md"],
        vec!["fmt", "--check", "README.md"],
        vec!["graph", "README.md"],
        vec!["plan", "README.md", "--upgrade", "x"],
        vec!["build", "README.md", "--out", "/nonexistent/out"],
    ] {
        let output = topoc(&command);
        assert_eq!(code(&output), 2, "{command:?}");
        assert_eq!(
            stderr(&output).trim(),
            "error: README.md: not a .topo file (give .topo files or folders of them)",
            "{command:?}"
        );
    }
    // A missing path keeps its own message.
    let missing = topoc(&["check", "no/such/file.txt"]);
    assert_eq!(code(&missing), 2);
    assert!(
        stderr(&missing).contains("no such file"),
        "{}",
        stderr(&missing)
    );
}

#[test]
fn completions_help_says_where_each_shell_loads_them_from() {
    let output = topoc(&["completions", "--help"]);
    assert_eq!(code(&output), 0);
    let help = String::from_utf8_lossy(&output.stdout);
    for path in [
        "~/.local/share/bash-completion/completions/topoc",
        "~/.zfunc/_topoc",
        "~/.config/fish/completions/topoc.fish",
    ] {
        assert!(help.contains(path), "{help}");
    }
    let readme = std::fs::read_to_string("README.md").unwrap();
    for path in [
        "~/.local/share/bash-completion/completions/topoc",
        "~/.zfunc/_topoc",
        "~/.config/fish/completions/topoc.fish",
    ] {
        assert!(readme.contains(path), "the README names {path}");
    }
}

/// Started by hand on a terminal, the language server says what it is
/// (on stderr) and waits; Ctrl-D (end of input before any client spoke)
/// ends it quietly. Through a pipe, as editors start it, it says nothing.
#[test]
fn topoc_lsp_on_a_terminal_says_it_waits_for_an_editor() {
    let piped = Command::new(env!("CARGO_BIN_EXE_topoc"))
        .arg("lsp")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("topoc lsp runs");
    assert_eq!(code(&piped), 0, "{}", stderr(&piped));
    assert_eq!(stderr(&piped), "");
    assert!(piped.stdout.is_empty());
    // util-linux `script` gives the command a terminal.
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped the terminal half: no `script` command");
        return;
    }
    let command = format!("{} lsp", env!("CARGO_BIN_EXE_topoc"));
    let on_terminal = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("script runs");
    let shown = String::from_utf8_lossy(&on_terminal.stdout);
    assert!(
        shown.contains(
            "topoc lsp: the language server, waiting for an editor to speak LSP on stdin and stdout"
        ),
        "{shown}"
    );
    assert_eq!(code(&on_terminal), 0, "{shown}");
}

#[test]
fn templates_export_writes_what_build_templates_reads() {
    let dir = tempfile::tempdir().unwrap();
    let templates = dir.path().join("templates");
    let templates_arg = templates.to_str().unwrap();
    let export = topoc(&["templates", "export", templates_arg]);
    assert_eq!(code(&export), 0, "{}", stderr(&export));
    for (name, text) in topoc::text::templates::EMBEDDED {
        assert_eq!(
            std::fs::read_to_string(templates.join(name)).unwrap(),
            *text,
            "{name}"
        );
    }
    // The exported templates build exactly what the embedded ones build.
    let out = dir.path().join("out");
    let example = "examples/distributed-4.x.topo";
    let built = topoc(&["build", example, "--out", out.to_str().unwrap()]);
    assert_eq!(code(&built), 0, "{}", stderr(&built));
    assert!(
        stderr(&built).contains("README.md lists the secrets and DNS names to create"),
        "{}",
        stderr(&built)
    );
    let same = topoc(&[
        "build",
        example,
        "--out",
        out.to_str().unwrap(),
        "--templates",
        templates_arg,
        "--check",
    ]);
    assert_eq!(code(&same), 0, "{}", stderr(&same));

    // An edited template is kept: a second export refuses to overwrite.
    let edited = templates.join("wso2/deployment.toml.j2");
    std::fs::write(&edited, "# mine\n").unwrap();
    let again = topoc(&["templates", "export", templates_arg]);
    assert_eq!(code(&again), 2);
    assert!(stderr(&again).contains("--force"), "{}", stderr(&again));
    assert_eq!(std::fs::read_to_string(&edited).unwrap(), "# mine\n");
    let forced = topoc(&["templates", "export", templates_arg, "--force"]);
    assert_eq!(code(&forced), 0);
    assert_ne!(std::fs::read_to_string(&edited).unwrap(), "# mine\n");
}

/// A reference written with a typo is one E005 naming it, not also DC004
/// or DC007 claiming the attribute is missing; a misspelt attribute is
/// one E002. Left out, the attribute is still reported missing.
#[test]
fn an_unresolved_reference_is_not_also_missing() {
    let example = std::fs::read_to_string("examples/multi-datacenter.topo").unwrap();
    let check = |text: &str| {
        topoc::check_text(
            std::path::Path::new("typo.topo"),
            text,
            &topoc::load::DiskFs,
            &topoc::diagnostics::SeverityConfig::default(),
        )
        .diagnostics
        .iter()
        .map(|d| format!("{} {}", d.code, d.message))
        .collect::<Vec<_>>()
    };
    let typos = example
        .replace("replicates = colombo", "replicates = colmbo")
        .replace("artifact_source = artifacts", "artifact_source = artifact");
    assert_eq!(
        check(&typos),
        [
            "E005 no datacenter named `colmbo`",
            "E005 no artifact server named `artifact`",
            "E005 no datacenter named `colmbo`",
        ]
    );
    let misspelt = example.replacen("replicates = colombo", "replicate = colombo", 1);
    let found = check(&misspelt);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("E002 "), "{found:?}");
    let left_out = example
        .replacen("  replicates = colombo\n", "", 1)
        .replacen("  artifact_source = artifacts\n", "", 1);
    let found = check(&left_out);
    assert!(
        found
            .iter()
            .any(|d| d.starts_with("DC007 read-only datacenter `london` does not say"))
            && found.iter().any(|d| d.starts_with("DC004 ")),
        "{found:?}"
    );
}

/// An artifact server's credentials are a secret: a plain string is SEC001,
/// as for a password; `secret("...")` checks clean.
#[test]
fn artifact_server_credentials_are_a_secret() {
    let example = std::fs::read_to_string("examples/multi-datacenter.topo").unwrap();
    let check = |text: &str| {
        topoc::check_text(
            std::path::Path::new("credentials.topo"),
            text,
            &topoc::load::DiskFs,
            &topoc::diagnostics::SeverityConfig::default(),
        )
        .diagnostics
        .iter()
        .map(|d| d.code)
        .collect::<Vec<_>>()
    };
    assert!(example.contains("credentials = secret(\"artifact-sync-credentials\")"));
    assert_eq!(check(&example), Vec::<&str>::new());
    let plain = example.replace(
        "credentials = secret(\"artifact-sync-credentials\")",
        "credentials = \"sync:hunter2\"",
    );
    assert_eq!(check(&plain), ["SEC001"]);
}
