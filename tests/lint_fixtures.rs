//! One failing fixture per diagnostic code: the fixture must produce its
//! code, and its rendered human report and JSON are snapshots.

use std::path::Path;

use topoc::diagnostics::{SeverityConfig, human, json};
use topoc::lints;
use topoc::load::DiskFs;

/// Codes whose fixtures live with the feature that reports them.
const ELSEWHERE: &[&str] = &[];

fn check_fixture(code: &str) -> topoc::Checked {
    let path = format!("tests/fixtures/lints/{code}.topo");
    assert!(Path::new(&path).exists(), "no fixture for {code}: {path}");
    topoc::check_path(Path::new(&path), &DiskFs, &SeverityConfig::default()).expect("fixture loads")
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
                checked
                    .diagnostics
                    .iter()
                    .map(|d| d.code)
                    .collect::<Vec<_>>()
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
