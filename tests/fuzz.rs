//! A bounded, mutation-based fuzzer of the parser, the checker (every
//! lint and the upgrade simulator), the renderers, the formatter and the
//! language server. It starts from every `.topo` file of the repository and
//! mutates them the way editors, generators and attackers do: bytes
//! flipped, inserted and deleted, lines duplicated and swapped, fragments
//! of other files spliced in, line breaks turned into lone CRs, lines
//! pushed past column 65,536, numbers made huge.
//!
//! One command runs it (`cargo fuzz-topoc`, an alias for
//! `cargo test --release --test fuzz -- --ignored --nocapture`);
//! `TOPOC_FUZZ_SECONDS` sets how long (default 60) and `TOPOC_FUZZ_SEED`
//! the seed. An input that panics is written to `target/fuzz-crashes/`
//! and the run fails. `cargo test` runs a short, fixed-seed round.

use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lsp_server::{Connection, Message, Notification, Request, RequestId};
use topoc::diagnostics::{SeverityConfig, human, json, sarif};
use topoc::load::{self, FileSystem};

/// A small, seeded random number generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Every `.topo` file of the repository: the corpus.
fn corpus() -> Vec<Vec<u8>> {
    let mut files = Vec::new();
    let mut stack = vec![PathBuf::from("examples"), PathBuf::from("tests/fixtures")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "topo") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
        .into_iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

const FRAGMENTS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "=",
    ",",
    "\"",
    "\\",
    "#",
    "\n",
    "\r",
    "\r\n",
    "\t",
    "secret(",
    ")",
    "import \"",
    "1e400rps",
    "99999999999999999999999",
    "0.0000001%",
    "-1",
    "\u{0}",
    "\u{feff}",
    "\u{1F600}",
    "\u{e9}",
    "\"\\u{110000}\"",
    "\"\\u{",
    "rps",
    "GiB",
    "ha = ",
    "nodes = ",
    "cluster x {",
    "datacenter y {",
    "upgrade z {",
    "replica_of = ",
    "fronts = [",
];

/// One mutation of `input`, drawing on the corpus for splices.
fn mutate(rng: &mut Rng, input: &[u8], corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(10) {
            0 => {
                if !out.is_empty() {
                    let i = rng.below(out.len());
                    out[i] ^= 1 << rng.below(8);
                }
            }
            1 => {
                let end = (at + rng.below(40)).min(out.len());
                out.drain(at..end);
            }
            2 => {
                let fragment = FRAGMENTS[rng.below(FRAGMENTS.len())];
                out.splice(at..at, fragment.bytes());
            }
            3 => {
                let other = &corpus[rng.below(corpus.len())];
                let start = rng.below(other.len() + 1);
                let end = (start + rng.below(400)).min(other.len());
                out.splice(at..at, other[start..end].iter().copied());
            }
            4 => {
                // A line duplicated or moved.
                let text = String::from_utf8_lossy(&out).into_owned();
                let mut lines: Vec<&str> = text.split('\n').collect();
                if lines.len() > 1 {
                    let i = rng.below(lines.len());
                    let j = rng.below(lines.len());
                    if rng.below(2) == 0 {
                        let line = lines[i];
                        lines.insert(j, line);
                    } else {
                        lines.swap(i, j);
                    }
                }
                out = lines.join("\n").into_bytes();
            }
            5 => {
                out = String::from_utf8_lossy(&out)
                    .replace('\n', "\r")
                    .into_bytes();
            }
            6 => {
                let padding = " ".repeat(65_000 + rng.below(2_000));
                out.splice(at..at, padding.bytes().chain(*b"bogus = 1 "));
            }
            7 => {
                let digits: String = (0..1 + rng.below(60))
                    .map(|_| char::from(b'0' + rng.below(10) as u8))
                    .collect();
                out.splice(at..at, digits.bytes());
            }
            8 => {
                let byte = rng.below(256) as u8;
                out.insert(at, byte);
            }
            _ => {
                // Truncated.
                out.truncate(at);
            }
        }
    }
    out
}

/// An in-memory file system: `main.topo` and an `other.topo` it may import.
struct MemFs(Vec<(PathBuf, Vec<u8>)>);

impl FileSystem for MemFs {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let key = load::normalize(path);
        self.0
            .iter()
            .find(|(p, _)| *p == key)
            .map(|(_, b)| b.clone())
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

/// Parse, check, render every format, format (twice: idempotent) and plan.
fn check_one(input: &[u8], other: &[u8]) {
    let fs = MemFs(vec![
        (PathBuf::from("main.topo"), input.to_vec()),
        (PathBuf::from("other.topo"), other.to_vec()),
    ]);
    let loaded = load::load(Path::new("main.topo"), &fs).expect("main.topo exists");
    let checked = topoc::check_loaded(loaded, &SeverityConfig::default());
    let report = checked.report();
    let _ = human::render(&[report], human::Style::default());
    let _ = json::render(&[report]);
    let _ = sarif::render(&[report]);
    for d in &checked.diagnostics {
        let file = checked.sources.get(d.span.file);
        assert!(d.span.end as usize <= file.text.len(), "{d:?}");
    }
    if let Ok(formatted) = topoc::format_source(Path::new("main.topo"), input.to_vec()) {
        let again = topoc::format_source(Path::new("main.topo"), formatted.clone().into_bytes())
            .expect("formatted text parses");
        assert_eq!(again, formatted, "fmt is idempotent");
    }
    if !checked.has_errors() {
        let t = &checked.topology;
        let d = topoc::deployment::plan(t);
        for i in 0..t.upgrades.len() {
            let _ = topoc::plan::plan_upgrade(
                t,
                &d,
                topoc::model::UpgradeId(i),
                topoc::plan::Target::Puppet,
            );
        }
        let _ = topoc::build::render(&checked, &topoc::emit::Target::ALL, None);
    }
}

/// A language server fed mutated documents; its thread ends on a panic.
struct Server {
    client: Connection,
    thread: Option<std::thread::JoinHandle<()>>,
    next: i32,
}

impl Server {
    fn start() -> Server {
        let (server, client) = Connection::memory();
        let thread = std::thread::spawn(move || {
            let _ = topoc::lsp::serve(&server);
        });
        let mut s = Server {
            client,
            thread: Some(thread),
            next: 0,
        };
        s.request("initialize", serde_json::json!({ "capabilities": {} }));
        s.notify("initialized", serde_json::json!({}));
        s
    }

    fn notify(&self, method: &str, params: serde_json::Value) {
        let _ = self
            .client
            .sender
            .send(Message::Notification(Notification::new(
                method.into(),
                params,
            )));
    }

    /// Send a request; false when the server is gone (it panicked).
    fn request(&mut self, method: &str, params: serde_json::Value) -> bool {
        self.next += 1;
        let id = RequestId::from(self.next);
        let sent = self.client.sender.send(Message::Request(Request::new(
            id.clone(),
            method.into(),
            params,
        )));
        if sent.is_err() {
            return false;
        }
        loop {
            match self.client.receiver.recv_timeout(Duration::from_secs(20)) {
                Ok(Message::Response(r)) if r.id == id => return true,
                Ok(_) => continue,
                Err(_) => return false,
            }
        }
    }

    /// Open, change and query a document; false when the server died.
    fn feed(&mut self, rng: &mut Rng, text: &str, edited: &str) -> bool {
        let uri = "file:///fuzz/main.topo";
        self.notify(
            "textDocument/didOpen",
            serde_json::json!({"textDocument": {"uri": uri, "languageId": "topo", "version": 1, "text": text}}),
        );
        self.notify(
            "textDocument/didChange",
            serde_json::json!({"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": edited}]}),
        );
        let lines = edited.split(['\n', '\r']).count() as u64;
        for method in [
            "textDocument/hover",
            "textDocument/completion",
            "textDocument/definition",
            "textDocument/references",
            "textDocument/prepareRename",
        ] {
            let position = serde_json::json!({
                "line": rng.next() % (lines + 2),
                "character": rng.next() % 120,
            });
            let mut params =
                serde_json::json!({"textDocument": {"uri": uri}, "position": position});
            if method == "textDocument/references" {
                params["context"] = serde_json::json!({"includeDeclaration": true});
            }
            if !self.request(method, params) {
                return false;
            }
        }
        let rename = serde_json::json!({"textDocument": {"uri": uri}, "position": {"line": 0, "character": 10}, "newName": "renamed"});
        let ok = self.request("textDocument/rename", rename)
            && self.request(
                "textDocument/formatting",
                serde_json::json!({"textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": true}}),
            )
            && self.request(
                "textDocument/documentSymbol",
                serde_json::json!({"textDocument": {"uri": uri}}),
            );
        self.notify(
            "textDocument/didClose",
            serde_json::json!({"textDocument": {"uri": uri}}),
        );
        ok
    }

    fn stop(mut self) {
        self.request("shutdown", serde_json::Value::Null);
        self.notify("exit", serde_json::Value::Null);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Outcome {
    inputs: u64,
    crashes: Vec<PathBuf>,
}

fn fuzz(seed: u64, budget: Duration, max_inputs: u64) -> Outcome {
    let corpus = corpus();
    let mut rng = Rng(seed.max(1));
    let started = Instant::now();
    let mut crashes = Vec::new();
    let mut inputs = 0;
    let mut server = Server::start();
    let crash_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("../fuzz-crashes");
    // The panics are reported by the run, not printed one by one.
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    while started.elapsed() < budget && inputs < max_inputs {
        let pick = rng.below(corpus.len());
        let input = mutate(&mut rng, &corpus[pick], &corpus);
        let pick = rng.below(corpus.len());
        let other = mutate(&mut rng, &corpus[pick], &corpus);
        inputs += 1;
        let checked = catch_unwind(AssertUnwindSafe(|| check_one(&input, &other)));
        let text = String::from_utf8_lossy(&input).into_owned();
        let edited = String::from_utf8_lossy(&mutate(&mut rng, &input, &corpus)).into_owned();
        let served = server.feed(&mut rng, &text, &edited);
        if checked.is_err() || !served {
            std::fs::create_dir_all(&crash_dir).unwrap();
            let path = crash_dir.join(format!("crash-{seed}-{inputs}.topo"));
            std::fs::write(&path, &input).unwrap();
            if !served {
                std::fs::write(path.with_extension("edited.topo"), edited.as_bytes()).unwrap();
                server = Server::start();
            }
            crashes.push(path);
        }
    }
    std::panic::set_hook(quiet);
    server.stop();
    Outcome { inputs, crashes }
}

fn report(outcome: &Outcome, seed: u64, elapsed: Duration) {
    eprintln!(
        "fuzz: seed {seed}: {} inputs in {:.0?}, {} panics",
        outcome.inputs,
        elapsed,
        outcome.crashes.len()
    );
    for crash in &outcome.crashes {
        eprintln!("  {}", crash.display());
    }
}

/// The short round of `cargo test`: a fixed seed, a few hundred inputs.
#[test]
fn a_short_fuzzing_round_finds_no_panic() {
    let started = Instant::now();
    let outcome = fuzz(20261201, Duration::from_secs(120), 300);
    report(&outcome, 20261201, started.elapsed());
    assert!(
        outcome.crashes.is_empty(),
        "inputs that panic: {:?}",
        outcome.crashes
    );
    assert_eq!(outcome.inputs, 300);
}

/// The long run: `cargo fuzz-topoc` (`TOPOC_FUZZ_SECONDS`, `TOPOC_FUZZ_SEED`).
#[test]
#[ignore = "run with `cargo fuzz-topoc`"]
fn fuzz_for_a_while() {
    let seconds = std::env::var("TOPOC_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let seed = std::env::var("TOPOC_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
    let started = Instant::now();
    let outcome = fuzz(seed, Duration::from_secs(seconds), u64::MAX);
    report(&outcome, seed, started.elapsed());
    assert!(
        outcome.crashes.is_empty(),
        "inputs that panic: {:?}",
        outcome.crashes
    );
}
