//! Every diagnostic code, shown to fire and shown not to:
//!
//! - `tests/fixtures/lints/CODE.topo` fails: it produces CODE, and its
//!   rendered human report and JSON are snapshots (`snapshots/lints/`).
//! - `tests/fixtures/lints/pass/CODE.topo` is its near miss: a topology just
//!   on the right side of the rule (exactly two nodes where a pair is
//!   needed, a capacity exactly at the floor, the exception the rule makes),
//!   which must not produce CODE. Its first lines say what the near miss is.
//!   It produces nothing at all: a code it would raise besides (a warning
//!   that is not the point) is named in the topology's `allow`, as the
//!   failing fixtures do, but CODE itself never is. Files it imports live in
//!   `pass/CODE/`.
//! - the explanation `topoc explain CODE` prints: its `## Example` is a
//!   complete topology that produces CODE and no other code, and its
//!   `## Use instead` one that produces nothing. Both are checked as
//!   `topoc check` checks a file. An example of several files begins each
//!   at a `# name.topo` line, the first file being the one checked.
//!
//! Every code of [`lints::all`] has all three; a missing one fails.

use std::collections::BTreeSet;
use std::path::Path;

use topoc::diagnostics::{SeverityConfig, human, json};
use topoc::lints;
use topoc::load::DiskFs;

/// Codes whose fixtures live with the feature that reports them: CH001
/// compares two topologies (`plan --since`), so its example is a pair and
/// `tests/change.rs` checks it.
const ELSEWHERE: &[&str] = &["CH001"];

/// Codes whose fix is to accept what they report: the fixed example names
/// the code in `allow`, with a comment saying why. DC006 is information
/// (throttle limits are per datacenter), not a mistake to correct.
const FIXED_BY_ALLOWING: &[&str] = &["DC006"];

fn check_file(path: &Path) -> topoc::Checked {
    topoc::check_path(path, &DiskFs, &SeverityConfig::default())
        .unwrap_or_else(|e| panic!("{} loads: {e}", path.display()))
}

fn codes(checked: &topoc::Checked) -> Vec<&'static str> {
    checked.diagnostics.iter().map(|d| d.code).collect()
}

fn check_fixture(code: &str) -> topoc::Checked {
    let path = format!("tests/fixtures/lints/{code}.topo");
    assert!(Path::new(&path).exists(), "no fixture for {code}: {path}");
    check_file(Path::new(&path))
}

#[test]
fn every_code_has_a_failing_fixture_with_snapshots() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots/lints");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        for lint in lints::all() {
            if ELSEWHERE.contains(&lint.code) {
                continue;
            }
            let checked = check_fixture(lint.code);
            let fired: Vec<_> = checked
                .diagnostics
                .iter()
                .filter(|d| d.code == lint.code)
                .collect();
            assert!(
                !fired.is_empty(),
                "{} fixture does not produce {}: {:?}",
                lint.code,
                lint.code,
                codes(&checked)
            );
            for d in &fired {
                assert!(
                    d.help.is_some(),
                    "{}: every diagnostic has a help line",
                    d.code
                );
            }
            let report = checked.report();
            let text = human::render(&[report], human::Style::default());
            insta::assert_snapshot!(format!("{}_human", lint.code), text);
            let json = json::render(&[report]);
            insta::assert_snapshot!(format!("{}_json", lint.code), json);
        }
    });
}

#[test]
fn every_code_has_a_near_miss_that_does_not_fire() {
    let mut problems = Vec::new();
    for lint in lints::all() {
        if ELSEWHERE.contains(&lint.code) {
            continue;
        }
        let path = format!("tests/fixtures/lints/pass/{}.topo", lint.code);
        if !Path::new(&path).exists() {
            problems.push(format!("{}: no near miss ({path})", lint.code));
            continue;
        }
        let checked = check_file(Path::new(&path));
        if !checked.diagnostics.is_empty() {
            problems.push(format!(
                "{path} produces {:?}; a near miss produces nothing (allow what is not its point)",
                codes(&checked)
            ));
        }
        if checked.allowed.contains_key(lint.code)
            || checked.topology.allow.iter().any(|c| c.value == lint.code)
        {
            problems.push(format!("{path} allows {} itself", lint.code));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_near_miss_names_a_code() {
    let known: BTreeSet<&str> = lints::all().iter().map(|l| l.code).collect();
    for entry in std::fs::read_dir("tests/fixtures/lints/pass").expect("pass fixtures") {
        let path = entry.expect("entry").path();
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        assert!(
            known.contains(stem),
            "{} is named after no diagnostic code",
            path.display()
        );
        if path.is_dir() {
            continue; // the files a near miss imports
        }
        assert_eq!(
            path.extension().and_then(|e| e.to_str()),
            Some("topo"),
            "{}",
            path.display()
        );
    }
}

/// The files of an example: one `example.topo`, or, when the first line is
/// `# name.topo`, one file from each such line to the next.
fn example_files(text: &str) -> Vec<(String, String)> {
    fn file_name(line: &str) -> Option<&str> {
        line.strip_prefix("# ")
            .filter(|name| name.ends_with(".topo") && !name.contains(char::is_whitespace))
    }
    if text.lines().next().and_then(file_name).is_none() {
        return vec![("example.topo".to_string(), text.to_string())];
    }
    let mut files: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        match (file_name(line), files.last_mut()) {
            (Some(name), _) => files.push((name.to_string(), String::new())),
            (None, Some((_, content))) => {
                content.push_str(line);
                content.push('\n');
            }
            (None, None) => unreachable!("the first line names a file"),
        }
    }
    files
}

/// Check an example as `topoc check` checks the file it was saved to.
fn check_example(text: &str) -> topoc::Checked {
    let dir = tempfile::tempdir().expect("temporary folder");
    let files = example_files(text);
    for (name, content) in &files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("folder");
        std::fs::write(&path, content).expect("example written");
    }
    check_file(&dir.path().join(&files[0].0))
}

#[test]
fn every_explanation_example_produces_its_code_and_its_fix_nothing() {
    let mut problems = Vec::new();
    for lint in lints::all() {
        let code = lint.code;
        if ELSEWHERE.contains(&code) {
            continue;
        }
        let (Some(example), Some(fixed)) = (lint.example(), lint.fixed_example()) else {
            problems.push(format!("{code}: the explanation lacks an example or a fix"));
            continue;
        };
        let found = codes(&check_example(example));
        if !found.contains(&code) {
            problems.push(format!(
                "{code}: its example does not produce it, only {found:?}"
            ));
        } else if let Some(other) = found.iter().find(|c| **c != code) {
            problems.push(format!(
                "{code}: its example also produces {other} ({found:?})"
            ));
        }
        let checked = check_example(fixed);
        if !checked.diagnostics.is_empty() {
            problems.push(format!(
                "{code}: its fixed example produces {:?}",
                codes(&checked)
            ));
        }
        let allows = checked.allowed.contains_key(code)
            || checked.topology.allow.iter().any(|c| c.value == code);
        if allows && !FIXED_BY_ALLOWING.contains(&code) {
            problems.push(format!(
                "{code}: its fixed example only silences it with `allow`"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn an_example_of_several_files_is_split_at_its_name_lines() {
    let files = example_files("# a.topo\nimport \"b.topo\"\n# b.topo\ntopology t {}\n");
    assert_eq!(
        files,
        vec![
            ("a.topo".to_string(), "import \"b.topo\"\n".to_string()),
            ("b.topo".to_string(), "topology t {}\n".to_string()),
        ]
    );
    let one = example_files("# a comment\ntopology t {}\n");
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].0, "example.topo");
}
