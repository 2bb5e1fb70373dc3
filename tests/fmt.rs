//! `topoc fmt`: snapshots of messy input, the command line, and the
//! properties: formatting is idempotent, never changes what the topology
//! means, and keeps every comment in order.

use std::path::Path;
use std::process::{Command, Output};

use proptest::prelude::*;
use topoc::model::schema::{BLOCKS, BlockKind, Placement, Type};
use topoc::source::FileId;
use topoc::syntax::{self, format::format};

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

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The lowered topology (serialized: spans are skipped) and the
/// diagnostics lowering reported, without their positions.
fn meaning(source: &str) -> (String, Vec<String>) {
    let ast = syntax::parse(source);
    assert!(ast.errors.is_empty(), "{:?}\n{source}", ast.errors);
    let mut diagnostics = Vec::new();
    let topology = topoc::model::lower::lower(&[(FileId(0), &ast)], &mut diagnostics);
    let json = serde_json::to_string(&topology).expect("topology serializes");
    let messages = diagnostics
        .iter()
        .map(|d| format!("{} {}", d.code, d.message))
        .collect();
    (json, messages)
}

fn comments(source: &str) -> Vec<String> {
    syntax::parse(source)
        .comments
        .iter()
        .map(|c| c.text.trim_end().to_string())
        .collect()
}

/// The three properties, on one input.
fn assert_formats_well(source: &str) -> String {
    let formatted = format(source).unwrap_or_else(|e| panic!("{e:?}\n{source}"));
    let again = format(&formatted).expect("formatted text parses");
    assert_eq!(again, formatted, "not idempotent; input:\n{source}");
    assert_eq!(
        meaning(&formatted),
        meaning(source),
        "meaning changed; input:\n{source}\nformatted:\n{formatted}"
    );
    assert_eq!(
        comments(&formatted),
        comments(source),
        "comments changed; input:\n{source}\nformatted:\n{formatted}"
    );
    formatted
}

// ------------------------------------------------------------ snapshots

#[test]
fn messy_input_snapshots() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots/fmt");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        for name in ["messy", "comments", "values"] {
            let path = format!("tests/fixtures/fmt/{name}.topo");
            let source = std::fs::read_to_string(&path).expect("fixture");
            let formatted = assert_formats_well(&source);
            assert_ne!(formatted, source, "{name} is meant to be messy");
            insta::assert_snapshot!(name, formatted);
        }
    });
}

#[test]
fn examples_are_formatted_and_keep_their_meaning() {
    for entry in std::fs::read_dir("examples").expect("examples") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "topo") {
            let source = std::fs::read_to_string(&path).expect("example");
            let formatted = assert_formats_well(&source);
            assert_eq!(formatted, source, "{} is not formatted", path.display());
        }
    }
}

// ------------------------------------------------------------ command line

#[test]
fn check_passes_on_every_example() {
    let output = topoc(&["fmt", "--check", "examples"]);
    assert_eq!(code(&output), 0, "{}", text(&output.stderr));
    assert!(output.stdout.is_empty());
}

#[test]
fn check_prints_a_diff_and_fails_without_writing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("a.topo");
    let messy = "topology t {\nversion=\"4.2.0\"\n}\n";
    std::fs::write(&file, messy).expect("write");
    let output = topoc(&["fmt", "--check", file.to_str().expect("utf-8 path")]);
    assert_eq!(code(&output), 1);
    let diff = text(&output.stdout);
    assert!(diff.contains("-version=\"4.2.0\""), "{diff}");
    assert!(diff.contains("+  version = \"4.2.0\""), "{diff}");
    assert!(text(&output.stderr).contains("1 file not formatted"));
    assert_eq!(std::fs::read_to_string(&file).expect("read"), messy);
}

#[test]
fn fmt_rewrites_files_and_folders_in_place() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("sites")).expect("mkdir");
    let a = dir.path().join("a.topo");
    let b = dir.path().join("sites/b.topo");
    std::fs::write(&a, "topology t { version = \"4.2.0\" }").expect("write");
    std::fs::write(&b, "datacenter d {role=primary}").expect("write");
    let output = topoc(&["fmt", dir.path().to_str().expect("utf-8 path")]);
    assert_eq!(code(&output), 0, "{}", text(&output.stderr));
    assert_eq!(
        std::fs::read_to_string(&a).expect("read"),
        "topology t {\n  version = \"4.2.0\"\n}\n"
    );
    assert_eq!(
        std::fs::read_to_string(&b).expect("read"),
        "datacenter d {\n  role = primary\n}\n"
    );
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("formatted") && stderr.contains("b.topo"),
        "{stderr}"
    );
    // A second run has nothing to do.
    let again = topoc(&["fmt", "--check", dir.path().to_str().expect("utf-8 path")]);
    assert_eq!(code(&again), 0);
    // No temporary file is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn syntax_errors_are_reported_and_the_file_left_alone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("broken.topo");
    let broken = "topology t {\n  version = \n}\n";
    std::fs::write(&file, broken).expect("write");
    let output = topoc(&["fmt", file.to_str().expect("utf-8 path")]);
    assert_eq!(code(&output), 1);
    let stderr = text(&output.stderr);
    assert!(stderr.contains("E001"), "{stderr}");
    assert!(stderr.contains("expected a value after `=`"), "{stderr}");
    assert!(stderr.contains("fix the syntax errors first"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&file).expect("read"), broken);

    std::fs::write(&file, b"topology t {}\n\xff\n").expect("write");
    let output = topoc(&["fmt", file.to_str().expect("utf-8 path")]);
    assert_eq!(code(&output), 1);
    assert!(text(&output.stderr).contains("not valid UTF-8"));
}

#[test]
fn missing_paths_are_usage_errors() {
    let output = topoc(&["fmt", "no/such/file.topo"]);
    assert_eq!(code(&output), 2);
    assert!(text(&output.stderr).contains("no/such/file.topo"));
    let empty = tempfile::tempdir().expect("temp dir");
    let output = topoc(&["fmt", empty.path().to_str().expect("utf-8 path")]);
    assert_eq!(code(&output), 2);
    assert!(text(&output.stderr).contains("no .topo files"));
    assert_eq!(code(&topoc(&["fmt"])), 2);
    assert!(Path::new("examples").is_dir());
}

// ------------------------------------------------------------ properties

/// A small deterministic generator (xorshift), seeded by proptest.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

const STRINGS: &[&str] = &[
    "\"plain\"",
    "\"with \\\"quotes\\\" and \\\\ backslash\"",
    "\"#not a comment {braces} [brackets] <angles>\"",
    "\"tab\\there\\nnewline\"",
    "\"\\u{1F600} \\u{e9}t\\u{E9}\"",
    "\"\u{e9}t\u{e9} \u{4e16}\"",
    "\"\"",
    "\"4.2.0\"",
];

const CODES: &[&str] = &["\"HA004\"", "\"DC006\"", "\"HA005\"", "\"UP001\""];

fn names(kind: BlockKind) -> &'static [&'static str] {
    match kind {
        BlockKind::Topology => &["acme", "t"],
        BlockKind::Datacenter => &["colombo", "london", "dc-3"],
        BlockKind::Datasource => &["apim_db", "shared_db", "replica"],
        BlockKind::FileShare => &["share", "rsync_share"],
        BlockKind::ArtifactServer => &["artifacts", "mirror"],
        BlockKind::Cluster => &["gateway", "control_plane", "km", "tm"],
        BlockKind::LoadBalancer => &["api", "edge"],
        BlockKind::Upgrade => &["patch", "move"],
    }
}

/// Writes a topology with random layout: every place the grammar allows
/// whitespace gets some, sometimes with line breaks, blank lines and
/// comments.
struct Messy {
    rng: Rng,
    out: String,
    comments: usize,
}

impl Messy {
    /// Whitespace that may hold line breaks and comments; possibly none.
    fn gap(&mut self) {
        match self.rng.below(10) {
            0..=2 => {}
            3 => self.out.push(' '),
            4 => self.out.push_str("\n  "),
            5 => self.out.push_str("\n\n\n\t"),
            6 => self.out.push_str("\r\n"),
            7 => self.out.push_str("\t "),
            _ => self.comment(),
        }
    }

    /// Whitespace that separates tokens: at least one character.
    fn separator(&mut self) {
        match self.rng.below(6) {
            0 => self.out.push(' '),
            1 => self.out.push('\n'),
            2 => self.out.push_str("\n\n"),
            3 => self.out.push_str("   \t"),
            _ => self.comment(),
        }
    }

    /// Spaces or tabs only (around `=`).
    fn spaces(&mut self) {
        let choice = self.rng.pick(&["", " ", " ", "   ", "\t"]);
        self.out.push_str(choice);
    }

    fn comment(&mut self) {
        self.comments += 1;
        let before = self.rng.pick(&["", " ", "\n", "\n\n  "]);
        let body = self.rng.pick(&[
            " plain",
            "no space",
            " with \"quotes\" { [ = # and more",
            "",
            " trailing spaces   ",
            " \u{e9}t\u{e9}",
        ]);
        self.out
            .push_str(&format!("{before}# c{}{body}\n", self.comments));
    }

    fn value(&mut self, ty: Type, depth: usize) {
        match ty {
            Type::Enum(values) => {
                let value = values[self.rng.below(values.len())].name;
                self.out.push_str(value);
            }
            Type::Int { min, max } => {
                let n = min + self.rng.next() % (max.min(min + 5) - min + 1);
                self.out.push_str(&n.to_string());
            }
            Type::Number => {
                let n = self.rng.pick(&["2", "0.5", "1.25", "4"]);
                self.out.push_str(n);
            }
            Type::Bool => {
                let b = self.rng.pick(&["true", "false"]);
                self.out.push_str(b);
            }
            Type::Rps => {
                let n = self.rng.pick(&["800rps", "1000rps", "1200.5rps", "1rps"]);
                self.out.push_str(n);
            }
            Type::Percent => {
                let n = self.rng.pick(&["75%", "50%", "100%", "12.5%"]);
                self.out.push_str(n);
            }
            Type::Duration => {
                let n = self.rng.pick(&["30s", "5min", "3h", "1d", "250ms"]);
                self.out.push_str(n);
            }
            Type::Size => {
                let n = self.rng.pick(&["512MiB", "4GiB", "1024KiB"]);
                self.out.push_str(n);
            }
            Type::Secret => {
                self.out.push_str("secret");
                self.spaces();
                self.out.push('(');
                self.gap();
                let name = self.rng.pick(&["\"apim-db-password\"", "\"k.v_1\""]);
                self.out.push_str(name);
                self.gap();
                self.out.push(')');
            }
            Type::Version => {
                let v = self.rng.pick(&["\"4.2.0\"", "\"3.2.0\"", "\"4.3\""]);
                self.out.push_str(v);
            }
            Type::Ref(kind) => {
                let name = self.rng.pick(names(kind));
                self.out.push_str(name);
            }
            Type::RefList(kind) => {
                let count = self.rng.below(5);
                let items: Vec<String> = (0..count)
                    .map(|_| self.rng.pick(names(kind)).to_string())
                    .collect();
                self.list(&items, depth);
            }
            Type::CodeList => {
                let count = self.rng.below(3);
                let items: Vec<String> = (0..count)
                    .map(|_| self.rng.pick(CODES).to_string())
                    .collect();
                self.list(&items, depth);
            }
            Type::Manager => {
                let m = self.rng.pick(&["passive", "1", "2"]);
                self.out.push_str(m);
            }
            Type::StringList => {
                let count = self.rng.below(4);
                let items: Vec<String> = (0..count)
                    .map(|_| self.rng.pick(STRINGS).to_string())
                    .collect();
                self.list(&items, depth);
            }
            // Strings, and any string-like type.
            _ => {
                let s = self.rng.pick(STRINGS);
                self.out.push_str(s);
            }
        }
    }

    fn list(&mut self, items: &[String], depth: usize) {
        self.out.push('[');
        self.gap();
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.gap();
                self.out.push(',');
                self.gap();
            }
            self.out.push_str(item);
        }
        if !items.is_empty() && self.rng.chance(40) {
            self.gap();
            self.out.push(',');
        }
        self.gap();
        self.out.push(']');
        let _ = depth;
    }

    fn block(&mut self, kind: BlockKind, depth: usize) {
        self.out.push_str(kind.keyword());
        self.separator();
        let name = self.rng.pick(names(kind));
        self.out.push_str(name);
        self.gap();
        self.out.push('{');
        let schema = kind.schema();
        let mut attrs: Vec<_> = schema.attrs.iter().collect();
        // A random subset in a random order.
        for i in (1..attrs.len()).rev() {
            let j = self.rng.below(i + 1);
            attrs.swap(i, j);
        }
        let count = self.rng.below(attrs.len() + 1);
        let children = schema.children();
        let mut first = true;
        for attr in attrs.into_iter().take(count) {
            if first {
                self.gap();
                first = false;
            } else {
                self.separator();
            }
            self.out.push_str(attr.name);
            self.spaces();
            self.out.push('=');
            self.spaces();
            self.value(attr.ty, depth + 1);
            if !children.is_empty() && self.rng.chance(30) {
                self.separator();
                let child = self.rng.pick(&children);
                self.block(child, depth + 1);
            }
        }
        if !children.is_empty() {
            for _ in 0..self.rng.below(4) {
                self.separator();
                let child = self.rng.pick(&children);
                self.block(child, depth + 1);
            }
        }
        self.gap();
        self.out.push('}');
    }

    fn file(&mut self) {
        self.gap();
        if self.rng.chance(30) {
            self.out.push_str("import \"other.topo\"");
            self.separator();
        }
        let top: Vec<BlockKind> = BLOCKS
            .iter()
            .filter(|b| b.placement == Placement::TopLevel)
            .map(|b| b.kind)
            .collect();
        self.block(BlockKind::Topology, 0);
        for _ in 0..self.rng.below(6) {
            self.separator();
            let kind = self.rng.pick(&top);
            self.block(kind, 0);
        }
        self.gap();
    }
}

fn messy_topology() -> impl Strategy<Value = String> {
    any::<u64>().prop_map(|seed| {
        let mut messy = Messy {
            rng: Rng(seed | 1),
            out: String::new(),
            comments: 0,
        };
        messy.file();
        messy.out
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn fmt_is_idempotent_keeps_meaning_and_comments(source in messy_topology()) {
        assert_formats_well(&source);
    }

    #[test]
    fn formatted_lines_have_no_trailing_space_and_two_space_indents(source in messy_topology()) {
        let formatted = assert_formats_well(&source);
        for line in formatted.lines() {
            prop_assert!(!line.ends_with([' ', '\t']), "{line:?}");
            let indent = line.len() - line.trim_start_matches(' ').len();
            prop_assert!(indent % 2 == 0, "{line:?}");
            prop_assert!(!line.starts_with('\t'), "{line:?}");
        }
        prop_assert!(!formatted.contains("\n\n\n"));
        prop_assert!(!formatted.contains('\r'));
    }
}
