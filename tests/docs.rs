//! The README's generated sections agree with the schema table and the lint
//! registry; the grammar agrees with the lexer. Run with `UPDATE_README=1`
//! to rewrite the README sections after a schema change.

use topoc::model::types::Unit;

fn section(readme: &str, name: &str) -> (usize, usize) {
    let start_marker = format!("<!-- {name}:start -->\n");
    let end_marker = format!("<!-- {name}:end -->");
    let start = readme
        .find(&start_marker)
        .unwrap_or_else(|| panic!("README lacks {start_marker}"))
        + start_marker.len();
    let end = readme[start..]
        .find(&end_marker)
        .unwrap_or_else(|| panic!("README lacks {end_marker}"))
        + start;
    (start, end)
}

/// Tests run in parallel; updates read and write the same file.
static README_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn check_section(name: &str, expected: &str) {
    let _guard = README_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let readme = std::fs::read_to_string("README.md").expect("README.md");
    let (start, end) = section(&readme, name);
    if readme[start..end] != *expected {
        if std::env::var_os("UPDATE_README").is_some() {
            let updated = format!("{}{}{}", &readme[..start], expected, &readme[end..]);
            std::fs::write("README.md", updated).expect("write README.md");
        } else {
            panic!(
                "README section `{name}` is out of date; run `UPDATE_README=1 cargo test --test docs`"
            );
        }
    }
}

#[test]
fn readme_language_reference_is_generated_from_the_schema() {
    check_section("reference", &topoc::model::schema::reference_markdown());
}

#[test]
fn readme_says_what_each_profile_needs_and_every_default() {
    check_section("profiles", &topoc::model::schema::profiles_markdown());
    check_section("defaults", &topoc::model::schema::defaults_markdown());
}

#[test]
fn readme_says_what_each_profile_needs() {
    check_section("needs", &topoc::model::needs::needs_markdown());
}

#[test]
fn readme_lists_every_diagnostic_code() {
    check_section("codes", &topoc::lints::catalog_markdown());
}

#[test]
fn grammar_units_are_the_lexer_units() {
    let grammar = std::fs::read_to_string("grammar/topo.ebnf").expect("grammar");
    let rule_start = grammar.find("unit            =").expect("unit rule");
    let rule = &grammar[rule_start..];
    let rule = &rule[..rule.find(';').expect("rule end")];
    let units: Vec<&str> = rule
        .split('"')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, s)| s)
        .collect();
    assert_eq!(units.len(), 10, "{units:?}");
    for unit in units {
        assert!(
            Unit::parse(unit).is_some(),
            "grammar unit {unit} is not lexed"
        );
    }
    assert!(Unit::parse("m").is_none(), "`m` is not a unit");
}

#[test]
fn grammar_names_every_block_kind_only_through_the_schema() {
    // The grammar is kind-agnostic: every block kind parses with the same
    // rule, and the schema decides which kinds exist.
    for kind in topoc::model::BlockKind::ALL {
        let text = format!("{} x {{ }}", kind.keyword());
        let ast = topoc::syntax::parse(&text);
        assert!(ast.errors.is_empty(), "{text}");
    }
}

/// Every enumeration value of the schema (booleans apart).
fn schema_enum_values() -> std::collections::BTreeSet<String> {
    topoc::model::BLOCKS
        .iter()
        .flat_map(|b| b.attrs.iter())
        .flat_map(|a| a.ty.enum_values().iter())
        .map(|v| v.name.to_string())
        .filter(|v| v != "true" && v != "false")
        .collect()
}

fn schema_kinds() -> std::collections::BTreeSet<String> {
    topoc::model::BlockKind::ALL
        .iter()
        .map(|k| k.keyword().to_string())
        .collect()
}

/// The words of the first `(?:a|b|c)` or `(a|b|c)` group after `marker`.
fn alternation(pattern: &str, marker: &str) -> std::collections::BTreeSet<String> {
    let start = pattern
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} in {pattern}"))
        + marker.len();
    let end = pattern[start..].find(')').expect("group end") + start;
    pattern[start..end].split('|').map(str::to_string).collect()
}

#[test]
fn textmate_grammar_knows_the_schema() {
    let text = std::fs::read_to_string("grammar/topo.tmLanguage.json").expect("grammar");
    let grammar: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(grammar["scopeName"], "source.topo");
    let repository = &grammar["repository"];
    let header = repository["block-header"]["match"]
        .as_str()
        .expect("header");
    assert_eq!(alternation(header, "(?:("), schema_kinds());
    let values = repository["enum-value"]["match"].as_str().expect("values");
    assert_eq!(alternation(values, "(?:"), schema_enum_values());
}

/// The quoted words of the `#any-of?`/`#not-any-of?` predicate on `capture`.
fn predicate_words(query: &str, predicate: &str) -> std::collections::BTreeSet<String> {
    let start = query
        .find(predicate)
        .unwrap_or_else(|| panic!("{predicate}"))
        + predicate.len();
    let end = query[start..].find(')').expect("predicate end") + start;
    query[start..end]
        .split('"')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, w)| w.to_string())
        .collect()
}

#[test]
fn tree_sitter_highlights_know_the_schema() {
    let query = std::fs::read_to_string("grammar/tree-sitter-topo/queries/highlights.scm")
        .expect("highlights");
    assert_eq!(
        predicate_words(&query, "(#any-of? @keyword"),
        schema_kinds()
    );
    assert_eq!(
        predicate_words(&query, "(#not-any-of? @type"),
        schema_kinds()
    );
    assert_eq!(
        predicate_words(&query, "(#any-of? @constant"),
        schema_enum_values()
    );
    let mut with_booleans = schema_enum_values();
    with_booleans.extend(["true".to_string(), "false".to_string()]);
    assert_eq!(
        predicate_words(&query, "(#not-any-of? @variable"),
        with_booleans
    );
}

#[test]
fn the_vscode_extension_ships_the_grammar() {
    let source = std::fs::read_to_string("grammar/topo.tmLanguage.json").expect("grammar");
    let shipped =
        std::fs::read_to_string("editors/vscode/syntaxes/topo.tmLanguage.json").expect("copy");
    assert_eq!(
        shipped, source,
        "copy grammar/topo.tmLanguage.json to editors/vscode/syntaxes/"
    );
}

#[test]
fn helix_highlights_are_the_highlights_with_helix_names() {
    let neovim = std::fs::read_to_string("grammar/tree-sitter-topo/queries/highlights.scm")
        .expect("highlights");
    let helix = std::fs::read_to_string("grammar/tree-sitter-topo/queries/helix/highlights.scm")
        .expect("helix highlights");
    let body = helix
        .split_once("\n\n")
        .map(|(_, body)| body)
        .expect("a header, then the queries");
    let mut mapped = neovim.clone();
    for (from, to) in [
        ("@keyword.import", "@keyword.control.import"),
        ("@module", "@namespace"),
        ("@property", "@variable.other.member"),
        ("@string.escape", "@constant.character.escape"),
        ("@number", "@constant.numeric"),
        ("@boolean", "@constant.builtin.boolean"),
    ] {
        mapped = mapped.replace(&format!("{from})"), &format!("{to})"));
        mapped = mapped.replace(&format!("{from}\n"), &format!("{to}\n"));
        mapped = mapped.replace(&format!("{from} "), &format!("{to} "));
    }
    assert_eq!(body, mapped);
}

#[test]
fn readme_sections_appear_once() {
    let readme = std::fs::read_to_string("README.md").expect("README.md");
    let mut headings: Vec<&str> = readme.lines().filter(|l| l.starts_with("## ")).collect();
    let count = headings.len();
    headings.sort_unstable();
    headings.dedup();
    assert_eq!(headings.len(), count, "a README section appears twice");
}

/// The step outline of a runbook, as the README's worked examples show it.
fn plan_outline(
    path: &str,
    upgrade: Option<&str>,
    failover: Option<&str>,
    target: topoc::plan::Target,
) -> String {
    use topoc::plan;
    let checked = topoc::check_path(
        std::path::Path::new(path),
        &topoc::load::DiskFs,
        &topoc::diagnostics::SeverityConfig::default(),
    )
    .expect("example loads");
    let t = &checked.topology;
    let d = topoc::deployment::plan(t);
    let plan = match (upgrade, failover) {
        (Some(name), _) => {
            let i = t
                .upgrades
                .iter()
                .position(|u| u.name == name)
                .expect("upgrade");
            plan::plan_upgrade(t, &d, topoc::model::UpgradeId(i), target)
        }
        (None, Some(dc)) => plan::plan_failover(t, &d, dc, target).expect("failover"),
        (None, None) => unreachable!(),
    };
    assert!(plan.safe, "{path}: the worked example is unsafe");
    let mut out = format!(
        "```text\n# the steps of `topoc plan {path} {} --for {}`, with the capacity serving after each\n",
        match (upgrade, failover) {
            (Some(name), _) => format!("--upgrade {name}"),
            (_, Some(dc)) => format!("--failover {dc}"),
            _ => unreachable!(),
        },
        target.name()
    );
    for step in &plan.steps {
        let capacity = match (step.capacity_rps, step.required_rps) {
            (Some(c), Some(r)) => format!("  [{c} of {r} rps]"),
            _ => String::new(),
        };
        out.push_str(&format!(
            "{:>2}. {:<11} {}{capacity}\n",
            step.n,
            step.action.name(),
            step.title
        ));
    }
    out.push_str("```\n");
    out
}

#[test]
fn readme_worked_examples_are_the_plans_of_the_examples() {
    use topoc::plan::Target;
    for name in ["fix_booking_api", "monthly_patch", "to_4_3", "to_4_5"] {
        check_section(
            &format!("plan-{name}"),
            &plan_outline(
                "examples/upgrades.topo",
                Some(name),
                None,
                Target::Kubernetes,
            ),
        );
    }
    check_section(
        "plan-monthly_patch-compose",
        &plan_outline(
            "examples/upgrades.topo",
            Some("monthly_patch"),
            None,
            Target::Compose,
        ),
    );
    check_section(
        "plan-failover",
        &plan_outline(
            "examples/multi-datacenter.topo",
            None,
            Some("singapore"),
            Target::Kubernetes,
        ),
    );
}

/// The README's picture (`docs/multi-datacenter.svg`, rendered with
/// `topoc graph examples/multi-datacenter.topo | dot -Tsvg`) draws the
/// example as it is today: the same nodes and the same edges.
#[test]
fn readme_picture_is_the_current_graph_of_its_example() {
    let checked = topoc::check_path(
        std::path::Path::new("examples/multi-datacenter.topo"),
        &topoc::load::DiskFs,
        &topoc::diagnostics::SeverityConfig::default(),
    )
    .expect("loads");
    let dot = topoc::graph::to_dot(&checked.topology, &checked.graph);
    let mut expected = Vec::new();
    for line in dot.lines().map(str::trim) {
        let quoted: Vec<&str> = line.split('"').collect();
        if line.starts_with('"') && quoted.len() > 3 && quoted[2] == " -> " {
            expected.push(format!("{}->{}", quoted[1], quoted[3]));
        } else if line.starts_with('"') && quoted.len() > 2 && quoted[2].starts_with(" [") {
            expected.push(quoted[1].to_string());
        }
    }
    let svg =
        std::fs::read_to_string("docs/multi-datacenter.svg").expect("docs/multi-datacenter.svg");
    let mut drawn: Vec<String> = svg
        .split("<title>")
        .skip(1)
        .filter_map(|rest| rest.split_once("</title>").map(|(title, _)| title))
        .map(|title| title.replace("&#45;&gt;", "->"))
        .filter(|title| title.contains(':') && !title.starts_with("cluster_"))
        .collect();
    expected.sort();
    drawn.sort();
    assert!(!expected.is_empty());
    assert_eq!(
        drawn, expected,
        "re-render the picture: topoc graph examples/multi-datacenter.topo | dot -Tsvg > docs/multi-datacenter.svg"
    );
}

/// `1.89`, `1.89.0` and `1.89.1` as numbers to compare (a missing patch is
/// 0).
fn rust_version(text: &str) -> (u64, u64, u64) {
    let mut parts = text.split('.').map(|p| {
        p.parse::<u64>()
            .unwrap_or_else(|_| panic!("rust-version {text}"))
    });
    let major = parts.next().unwrap_or(0);
    let minor = parts.next().unwrap_or(0);
    let patch = parts.next().unwrap_or(0);
    (major, minor, patch)
}

/// `rust-version` in Cargo.toml is the real minimum: the newest
/// `rust-version` that a locked dependency declares (on any platform, dev
/// and build dependencies included), and what the README asks for.
#[test]
fn rust_version_is_the_newest_of_the_locked_dependencies() {
    let output = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked"])
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let packages = metadata["packages"].as_array().expect("packages");
    let ours = packages
        .iter()
        .find(|p| p["name"] == "topoc" && p["source"].is_null())
        .expect("the topoc package");
    let declared = ours["rust_version"]
        .as_str()
        .expect("topoc declares rust-version");
    let (needed, by) = packages
        .iter()
        .filter(|p| !p["source"].is_null())
        .filter_map(|p| {
            let version = p["rust_version"].as_str()?;
            Some((
                rust_version(version),
                format!("{} {}", p["name"], p["version"]),
            ))
        })
        .max()
        .expect("some dependency declares a rust-version");
    assert_eq!(
        rust_version(declared),
        needed,
        "Cargo.toml says rust-version = {declared}, but {by} needs {}.{}: set it to the newest one",
        needed.0,
        needed.1
    );
    let readme = std::fs::read_to_string("README.md").expect("README.md");
    let (major, minor, _) = needed;
    assert!(
        readme.contains(&format!("With a Rust toolchain ({major}.{minor} or newer)")),
        "the README's Install section names another toolchain than {major}.{minor}"
    );
    assert!(
        readme.contains("cargo install --locked --path .")
            && !readme.contains("cargo install --path ."),
        "the README installs without --locked"
    );
}

/// The README's change example is what `plan --from` prints (up to the
/// runbook, which the upgrade examples show).
#[test]
fn readme_change_example_is_the_plan_of_the_fixture() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_topoc"))
        .args([
            "plan",
            "tests/fixtures/change/after.topo",
            "--from",
            "tests/fixtures/change/before.topo",
            "--for",
            "compose",
        ])
        .output()
        .expect("topoc runs");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let head = &text[..text.find("\n# Runbook").expect("a runbook follows")];
    check_section(
        "change-example",
        &format!("```markdown\n{}\n```\n", head.trim_end()),
    );
}
