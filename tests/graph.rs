//! `topoc graph` and the graph renderers: snapshots, escaping of hostile
//! strings (decoded back from the output), Graphviz rendering of every
//! example, and the command line.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use topoc::diagnostics::SeverityConfig;
use topoc::graph::{to_dot, to_json, to_mermaid};
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

fn check(path: &str) -> topoc::Checked {
    topoc::check_path(Path::new(path), &DiskFs, &SeverityConfig::default()).expect("loads")
}

fn examples() -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir("examples")
        .expect("examples")
        .filter_map(|e| e.ok())
        .map(|e| e.path().to_string_lossy().into_owned())
        .filter(|p| p.ends_with(".topo"))
        .collect();
    out.sort();
    out
}

/// Every string value in a topology that an operator could write, with
/// the characters DOT and Mermaid treat specially.
const HOSTILE: &str = "tests/fixtures/graph/hostile.topo";

fn hostile() -> topoc::Checked {
    check(HOSTILE)
}

/// The DOT quoted strings of a line, decoded; panics on an unterminated
/// string or a quote or backslash outside one.
fn dot_strings(line: &str) -> Vec<String> {
    let mut strings = Vec::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                let mut value = String::new();
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some('"') => value.push('"'),
                            Some('\\') => value.push('\\'),
                            Some('n') => value.push('\n'),
                            other => panic!("escape \\{other:?} in {line}"),
                        },
                        Some(c) => value.push(c),
                        None => panic!("unterminated string in {line}"),
                    }
                }
                strings.push(value);
            }
            '\\' => panic!("backslash outside a string in {line}"),
            _ => {}
        }
    }
    strings
}

#[test]
fn dot_escapes_every_string_and_decodes_back() {
    let checked = hostile();
    assert!(!checked.has_errors(), "{:#?}", checked.diagnostics);
    let dot = to_dot(&checked.topology, &checked.graph);
    let decoded: Vec<String> = dot.lines().flat_map(dot_strings).collect();
    let region = "quote \" backslash \\ hash # braces {} <angle> |pipe| [sq] ;semi %pct \\N \\l";
    let expected = [
        region.to_string(),
        "line\nbreak tab \u{1F600} é".to_string(),
        "end with backslash \\".to_string(),
        "https://a.example/x?q=\"1\"&r=<2>#frag".to_string(),
    ];
    for text in expected {
        assert!(
            decoded.iter().any(|s| s.contains(&text)),
            "{text:?} not found in\n{dot}"
        );
    }
}

/// Text with Mermaid entity codes (`#34;`) taken out.
fn without_entities(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('#') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && after[digits..].starts_with(';') {
            rest = &after[digits + 1..];
        } else {
            out.push('#');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

#[test]
fn mermaid_labels_hold_no_syntax() {
    let checked = hostile();
    let mermaid = to_mermaid(&checked.topology, &checked.graph);
    for line in mermaid.lines().skip(1) {
        let line = line.trim();
        if line == "end" || line.contains("-->") || line.contains("-.->") {
            continue;
        }
        // `id<shape>"label"<shape>` or `subgraph id["label"]`: exactly two
        // quotes, and nothing that ends a label inside them.
        assert_eq!(line.matches('"').count(), 2, "{line}");
        let label = &line[line.find('"').expect("quote") + 1..line.rfind('"').expect("quote")];
        let text = without_entities(&label.replace("<br/>", " "));
        for forbidden in ['[', ']', '{', '}', '|', '<', '>', ';', '#', '\\', '\n'] {
            assert!(!text.contains(forbidden), "{forbidden:?} in {line}");
        }
    }
    // The entity codes decode back to the text.
    assert!(
        mermaid.contains("quote #34; backslash #92; hash #35; braces #123;#125; #60;angle#62;")
    );
    assert!(mermaid.contains("line break tab \u{1F600} é"));
}

#[test]
fn json_is_the_graph() {
    let checked = check("examples/multi-datacenter.topo");
    let json: serde_json::Value =
        serde_json::from_str(&to_json(&checked.topology, &checked.graph)).expect("JSON");
    assert_eq!(json["topology"], "telco");
    let nodes = json["nodes"].as_array().expect("nodes");
    let edges = json["edges"].as_array().expect("edges");
    let ids: Vec<&str> = nodes
        .iter()
        .map(|n| n["id"].as_str().expect("id"))
        .collect();
    for edge in edges {
        for end in ["from", "to"] {
            let id = edge[end].as_str().expect("end");
            assert!(ids.contains(&id), "{id} is not a node");
        }
    }
    let replicates: Vec<_> = edges
        .iter()
        .filter(|e| e["kind"] == "replicates")
        .map(|e| {
            (
                e["from"].as_str().unwrap_or(""),
                e["to"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        replicates,
        [
            ("datacenter:london", "datacenter:colombo"),
            ("datacenter:singapore", "datacenter:colombo")
        ]
    );
    let gateway = nodes
        .iter()
        .find(|n| n["id"] == "cluster:gateway_london")
        .expect("gateway_london");
    assert_eq!(gateway["datacenter"], "london");
    assert!(
        !edges.iter().any(|e| e["kind"] == "located_in"),
        "containment is the datacenter field, not an edge"
    );
}

#[test]
fn renderings_of_an_example() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots/graph");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        let checked = check("examples/distributed-4.x.topo");
        insta::assert_snapshot!("distributed_dot", to_dot(&checked.topology, &checked.graph));
        insta::assert_snapshot!(
            "distributed_mermaid",
            to_mermaid(&checked.topology, &checked.graph)
        );
        insta::assert_snapshot!(
            "distributed_json",
            to_json(&checked.topology, &checked.graph)
        );
    });
}

#[test]
fn output_is_deterministic() {
    let a = check("examples/multi-datacenter.topo");
    let b = check("examples/multi-datacenter.topo");
    assert_eq!(to_dot(&a.topology, &a.graph), to_dot(&b.topology, &b.graph));
    assert_eq!(
        to_mermaid(&a.topology, &a.graph),
        to_mermaid(&b.topology, &b.graph)
    );
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Run a Graphviz tool on DOT text.
fn graphviz(tool: &str, args: &[&str], dot: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(tool)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("graphviz runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(dot.as_bytes())
        .expect("write DOT");
    child.wait_with_output().expect("graphviz finishes")
}

/// Graphviz renders every example and the hostile topology, and finds no
/// cycle in them. Without Graphviz this is skipped, except in CI (`CI` set),
/// where it must run.
#[test]
fn graphviz_renders_every_example() {
    if !have("dot") {
        assert!(
            std::env::var_os("CI").is_none(),
            "Graphviz is required in CI: apt-get install graphviz"
        );
        eprintln!("skipped: Graphviz (dot) is not installed");
        return;
    }
    let mut inputs: Vec<(String, String)> = examples()
        .into_iter()
        .map(|path| {
            let c = check(&path);
            (path, to_dot(&c.topology, &c.graph))
        })
        .collect();
    let h = hostile();
    inputs.push(("hostile".into(), to_dot(&h.topology, &h.graph)));
    for (name, dot) in inputs {
        let svg = graphviz("dot", &["-Tsvg"], &dot);
        assert!(
            svg.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&svg.stderr)
        );
        assert!(String::from_utf8_lossy(&svg.stdout).contains("<svg"));
        assert!(
            svg.stderr.is_empty(),
            "{name}: {}",
            String::from_utf8_lossy(&svg.stderr)
        );
        let acyclic = graphviz("acyclic", &["-n"], &dot);
        assert_eq!(acyclic.status.code(), Some(0), "{name} has a cycle");
    }
}

// ------------------------------------------------------------ command line

#[test]
fn graph_command_formats() {
    let dot = topoc(&["graph", "examples/multi-datacenter.topo"]);
    assert_eq!(code(&dot), 0);
    assert!(String::from_utf8_lossy(&dot.stdout).starts_with("digraph \"telco\" {"));
    assert!(dot.stderr.is_empty());

    let mermaid = topoc(&[
        "graph",
        "examples/multi-datacenter.topo",
        "--format",
        "mermaid",
    ]);
    assert_eq!(code(&mermaid), 0);
    assert!(String::from_utf8_lossy(&mermaid.stdout).starts_with("flowchart LR\n"));

    let json = topoc(&[
        "graph",
        "examples/multi-datacenter.topo",
        "--format",
        "json",
    ]);
    assert_eq!(code(&json), 0);
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(value["topology"], "telco");
}

#[test]
fn graph_of_a_topology_with_errors_is_drawn_and_fails() {
    let output = topoc(&["graph", "tests/fixtures/lints/E008.topo"]);
    assert_eq!(code(&output), 1);
    let dot = String::from_utf8_lossy(&output.stdout);
    assert!(dot.starts_with("digraph"), "{dot}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("E008"), "{stderr}");
    assert!(stderr.contains("the graph shows what could be resolved"));
}

#[test]
fn graph_usage_errors() {
    assert_eq!(code(&topoc(&["graph", "no/such.topo"])), 2);
    assert_eq!(
        code(&topoc(&[
            "graph",
            "examples/multi-datacenter.topo",
            "--format",
            "png"
        ])),
        2
    );
}
