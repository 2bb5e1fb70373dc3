//! Nothing the user writes may panic: arbitrary bytes and arbitrary token
//! soups go through the loader, parser, lowering, graph and every lint.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use topoc::diagnostics::{SeverityConfig, human, json};
use topoc::load::{self, FileSystem};
use topoc::model::schema::BLOCKS;

/// An in-memory file system: `main.topo` plus whatever it imports.
struct MemFs(HashMap<PathBuf, Vec<u8>>);

impl FileSystem for MemFs {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.0
            .get(&load::normalize(path))
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "not found"))
    }
    fn is_dir(&self, _: &Path) -> bool {
        false
    }
    fn topo_files(&self, _: &Path) -> io::Result<Vec<PathBuf>> {
        Ok(Vec::new())
    }
    fn key(&self, path: &Path) -> PathBuf {
        load::normalize(path)
    }
}

fn run(main: Vec<u8>, other: Vec<u8>) {
    let fs = MemFs(HashMap::from([
        (PathBuf::from("main.topo"), main),
        (PathBuf::from("other.topo"), other),
    ]));
    let loaded = load::load(Path::new("main.topo"), &fs).expect("main.topo exists");
    let checked = topoc::check_loaded(loaded, &SeverityConfig::default());
    // Rendering must not panic either, and every span must be in range.
    let report = checked.report();
    let _ = human::render(&[report], human::Style::default());
    let _ = json::render(&[report]);
    for d in &checked.diagnostics {
        let file = checked.sources.get(d.span.file);
        assert!(d.span.end as usize <= file.text.len(), "{d:?}");
        assert!(file.text.is_char_boundary(d.span.start as usize), "{d:?}");
    }
}

/// Tokens of the language, and some that are not.
fn token() -> impl Strategy<Value = String> {
    let mut words: Vec<String> = Vec::new();
    for block in BLOCKS {
        words.push(block.kind.keyword().to_string());
        for attr in block.attrs {
            words.push(attr.name.to_string());
            for value in attr.ty.enum_values() {
                words.push(value.name.to_string());
            }
        }
    }
    words.extend(
        [
            "{",
            "}",
            "{",
            "}",
            "[",
            "]",
            "=",
            "=",
            "=",
            ",",
            "(",
            ")",
            "\n",
            "\n",
            "secret",
            "import",
            "\"other.topo\"",
            "\"main.topo\"",
            "\"4.2.0\"",
            "\"3.2\"",
            "\"x\"",
            "\"\\u{1F600}\"",
            "\"\\q\"",
            "\"open",
            "# c\n",
            "1",
            "2",
            "0",
            "1000rps",
            "75%",
            "3h",
            "1min",
            "4GiB",
            "5m",
            "1e9",
            "99999999999999999999",
            "0.5",
            "4.2.0",
            "@",
            "\u{e9}",
            "-",
            "\t",
            "\r\n",
            "\r",
            "1e400rps",
            "18446744073709551616",
            "340282366920938463463374607431768211456GiB",
            "a",
            "b",
            "HA004",
            "\"HA004\"",
            "\"E001\"",
        ]
        .map(String::from),
    );
    prop::sample::select(words)
}

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(token(), 0..300).prop_map(|tokens| tokens.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(main in prop::collection::vec(any::<u8>(), 0..2000), other in prop::collection::vec(any::<u8>(), 0..200)) {
        run(main, other);
    }

    #[test]
    fn token_soups_never_panic(main in soup(), other in soup()) {
        run(main.into_bytes(), other.into_bytes());
    }

    #[test]
    fn arbitrary_text_never_panics(main in "\\PC{0,400}") {
        run(main.into_bytes(), Vec::new());
    }
}

/// Generated topologies that are structurally valid but with random
/// numbers and references: every lint runs on them.
fn structured() -> impl Strategy<Value = String> {
    let cluster = (
        prop::sample::select(vec![
            "all-in-one",
            "control-plane",
            "gateway-worker",
            "key-manager",
            "traffic-manager",
        ]),
        0u32..5,
        prop::sample::select(vec!["active-active", "active-passive", "none"]),
        prop::sample::select(vec!["hot", "cold"]),
        0u32..3000,
        prop::sample::select(vec!["c0", "c1", "c2", "c3"]),
        prop::sample::select(vec!["[d0]", "[d1]", "[d0, d1]", "[]", "[d2]"]),
        prop::sample::select(vec!["passive", "1", "2", "[1, 2]", "3"]),
    );
    let dc = (
        prop::sample::select(vec!["primary", "read-only", "disaster-recovery"]),
        prop::sample::select(vec!["x0", "x1", "x2"]),
        prop::collection::vec(cluster, 0..4),
        prop::sample::select(vec!["cold", "warm", "hot"]),
    );
    (
        prop::collection::vec(dc, 1..4),
        prop::sample::select(vec!["3.2.0", "4.2.0", "4.0"]),
        prop::sample::select(vec!["service-update", "patch", "version-upgrade", "migration"]),
        prop::sample::select(vec!["\"4.1.0\"", "\"4.3.0\"", "\"5\""]),
    )
        .prop_map(|(dcs, version, kind, to_version)| {
            let mut text = format!("topology t {{ version = \"{version}\" peak_load = 1000rps }}\n");
            text.push_str("artifact_server a { url = \"https://a\" }\n");
            let mut cluster_index = 0;
            for (i, (role, replicates, clusters, standby)) in dcs.into_iter().enumerate() {
                text.push_str(&format!(
                    "datacenter x{i} {{\n role = {role}\n replicates = {replicates}\n artifact_source = a\n standby = {standby}\n recovery_time = 1h\n"
                ));
                text.push_str(&format!(
                    " datasource d{} {{ purpose = apim engine = mysql host = \"h\" database = \"a\" }}\n",
                    i * 2
                ));
                text.push_str(&format!(
                    " datasource d{} {{ replica_of = d0 host = \"h\" }}\n",
                    i * 2 + 1
                ));
                text.push_str(&format!(" file_share f{i} {{ method = rsync }}\n"));
                for (profile, nodes, ha, cstandby, cap, km, dss, manager) in clusters {
                    text.push_str(&format!(
                        " cluster c{cluster_index} {{ profile = {profile} nodes = {nodes} ha = {ha} standby = {cstandby} node_capacity = {cap}rps key_manager = {km} traffic_manager = {km} datasources = {dss} manager = {manager} file_share = f{i} }}\n"
                    ));
                    cluster_index += 1;
                }
                text.push_str("}\n");
            }
            text.push_str(&format!(
                "upgrade u {{ kind = {kind} to_version = {to_version} clusters = [c0, c1] read_only_window = 1h cutover = gradual }}\n"
            ));
            text
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn structured_topologies_never_panic(text in structured()) {
        run(text.into_bytes(), Vec::new());
    }
}

/// The bundled examples, each changed in a way editors and generators
/// produce: lone CRs for line breaks, a line pushed past column 65,536, a
/// number far out of range.
fn mutated_example() -> impl Strategy<Value = String> {
    let mut examples: Vec<String> = std::fs::read_dir("examples")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "topo"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    examples.sort();
    (
        prop::sample::select(examples),
        0usize..4,
        any::<prop::sample::Index>(),
        prop::sample::select(vec![
            "99999999999999999999999",
            "1e400rps",
            "184467440737095516160GiB",
            "-1",
            "0.0000000000000000000001%",
        ]),
    )
        .prop_map(|(text, mutation, at, number)| {
            let lines: Vec<&str> = text.lines().collect();
            let line = at.index(lines.len().max(1));
            match mutation {
                0 => text.replace('\n', "\r"),
                1 => {
                    let mut out = lines.clone();
                    // Something to report past column 65,536.
                    let padded = format!("{}bogus = 1 {}", " ".repeat(70_000), lines[line]);
                    out[line] = &padded;
                    out.join("\n")
                }
                2 => {
                    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
                    if let Some((key, _)) = out[line].split_once(" = ") {
                        out[line] = format!("{key} = {number}");
                    }
                    out.join("\n")
                }
                _ => text.replace("\n", "\r\n").replacen("\r\n", "\r", 3),
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn long_lines_lone_crs_and_huge_numbers_never_panic(text in mutated_example()) {
        run(text.into_bytes(), Vec::new());
    }
}
