//! The language server, in process over `Connection::memory()`: the
//! handshake, diagnostics on open and change, hover, definition,
//! references, completion, document symbols, formatting and rename, on
//! single files, a file with syntax errors and a topology split across
//! imports. One test drives the `topoc lsp` binary over stdio.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::JoinHandle;
use std::time::Duration;

use lsp_server::{Connection, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, Initialized,
    Notification as _, PublishDiagnostics,
};
use lsp_types::request::{
    Completion, DocumentSymbolRequest, Formatting, GotoDefinition, HoverRequest, Initialize,
    PrepareRenameRequest, References, Rename, Request as _, Shutdown,
};
use lsp_types::*;
use serde_json::Value;

/// Long enough for a slow machine; only guards against a hang.
const PATIENCE: Duration = Duration::from_secs(60);

fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn uri(path: &Path) -> Uri {
    topoc::lsp::convert::path_to_uri(path).expect("a file URI")
}

struct Client {
    connection: Connection,
    server: Option<JoinHandle<Result<topoc::lsp::Ending, String>>>,
    next_id: i32,
    /// Diagnostics published and not yet looked at, in order.
    published: Vec<PublishDiagnosticsParams>,
    /// The version of each document last sent (`None` once closed).
    versions: std::collections::HashMap<Uri, Option<i32>>,
    capabilities: ServerCapabilities,
}

impl Client {
    fn start(folder: Option<&Path>, snippets: bool) -> Client {
        let (server_side, client_side) = Connection::memory();
        let server =
            std::thread::spawn(move || topoc::lsp::serve(&server_side).map_err(|e| e.to_string()));
        let mut client = Client {
            connection: client_side,
            server: Some(server),
            next_id: 0,
            published: Vec::new(),
            versions: std::collections::HashMap::new(),
            capabilities: ServerCapabilities::default(),
        };
        let capabilities = ClientCapabilities {
            text_document: Some(TextDocumentClientCapabilities {
                completion: Some(CompletionClientCapabilities {
                    completion_item: Some(CompletionItemCapability {
                        snippet_support: Some(snippets),
                        ..CompletionItemCapability::default()
                    }),
                    ..CompletionClientCapabilities::default()
                }),
                ..TextDocumentClientCapabilities::default()
            }),
            ..ClientCapabilities::default()
        };
        let params = InitializeParams {
            capabilities,
            workspace_folders: folder.map(|f| {
                vec![WorkspaceFolder {
                    uri: uri(f),
                    name: "topologies".into(),
                }]
            }),
            ..InitializeParams::default()
        };
        let result: InitializeResult = client
            .request::<Initialize>(params)
            .expect("initialize succeeds");
        client.capabilities = result.capabilities;
        client.notify::<Initialized>(InitializedParams {});
        client
    }

    fn notify<N: lsp_types::notification::Notification>(&mut self, params: N::Params) {
        let message = Notification::new(N::METHOD.into(), params);
        self.connection
            .sender
            .send(message.into())
            .expect("server listens");
    }

    fn receive(&mut self) -> Message {
        self.connection
            .receiver
            .recv_timeout(PATIENCE)
            .expect("the server answers")
    }

    fn keep(&mut self, notification: Notification) {
        if notification.method == PublishDiagnostics::METHOD {
            let params: PublishDiagnosticsParams =
                serde_json::from_value(notification.params).expect("publish params");
            self.published.push(params);
        }
    }

    fn raw_request(&mut self, method: &str, params: Value) -> Response {
        self.next_id += 1;
        let id = RequestId::from(self.next_id);
        let request = Request::new(id.clone(), method.into(), params);
        self.connection
            .sender
            .send(request.into())
            .expect("server listens");
        loop {
            match self.receive() {
                Message::Response(response) if response.id == id => return response,
                Message::Notification(n) => self.keep(n),
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    fn request<R: lsp_types::request::Request>(
        &mut self,
        params: R::Params,
    ) -> Result<R::Result, lsp_server::ResponseError> {
        let response = self.raw_request(
            R::METHOD,
            serde_json::to_value(params).expect("params serialize"),
        );
        response
            .response_result
            .map(|result| serde_json::from_value(result).expect("result parses"))
    }

    /// The diagnostics published for the version of `uri` last sent
    /// (waiting for them); earlier publications are skipped.
    fn diagnostics(&mut self, uri: &Uri) -> Vec<Diagnostic> {
        let version = self.versions.get(uri).copied().flatten();
        loop {
            if let Some(i) = self
                .published
                .iter()
                .position(|p| &p.uri == uri && p.version == version)
            {
                let found = self.published.remove(i);
                self.published.retain(|p| &p.uri != uri);
                return found.diagnostics;
            }
            match self.receive() {
                Message::Notification(n) => self.keep(n),
                other => panic!("unexpected {other:?}"),
            }
        }
    }

    /// The diagnostics last published for `uri` among those received
    /// (publications of other documents' checks included), without waiting.
    fn diagnostics_now(&mut self, uri: &Uri) -> Option<Vec<Diagnostic>> {
        while let Ok(message) = self.connection.receiver.try_recv() {
            match message {
                Message::Notification(n) => self.keep(n),
                other => panic!("unexpected {other:?}"),
            }
        }
        self.published
            .iter()
            .rev()
            .find(|p| &p.uri == uri)
            .map(|p| p.diagnostics.clone())
    }

    fn close(&mut self, uri: &Uri) {
        self.versions.insert(uri.clone(), None);
        self.notify::<DidCloseTextDocument>(DidCloseTextDocumentParams {
            text_document: TextDocumentIdentifier::new(uri.clone()),
        });
    }

    fn open(&mut self, path: &Path, text: &str) -> Uri {
        let uri = uri(path);
        self.versions.insert(uri.clone(), Some(1));
        self.notify::<DidOpenTextDocument>(DidOpenTextDocumentParams {
            text_document: TextDocumentItem::new(uri.clone(), "topo".into(), 1, text.into()),
        });
        uri
    }

    fn open_file(&mut self, path: &Path) -> Uri {
        let text = std::fs::read_to_string(path).expect("fixture");
        self.open(path, &text)
    }

    fn change(&mut self, uri: &Uri, version: i32, text: &str) {
        self.versions.insert(uri.clone(), Some(version));
        self.notify::<DidChangeTextDocument>(DidChangeTextDocumentParams {
            text_document: VersionedTextDocumentIdentifier::new(uri.clone(), version),
            content_changes: vec![TextDocumentContentChangeEvent {
                range: None,
                range_length: None,
                text: text.into(),
            }],
        });
    }

    fn position(uri: &Uri, line: u32, character: u32) -> TextDocumentPositionParams {
        TextDocumentPositionParams::new(
            TextDocumentIdentifier::new(uri.clone()),
            Position::new(line, character),
        )
    }

    fn hover(&mut self, uri: &Uri, line: u32, character: u32) -> Option<String> {
        let hover = self
            .request::<HoverRequest>(HoverParams {
                text_document_position_params: Self::position(uri, line, character),
                work_done_progress_params: WorkDoneProgressParams::default(),
            })
            .expect("hover answers")?;
        match hover.contents {
            HoverContents::Markup(markup) => Some(markup.value),
            other => panic!("markup expected, got {other:?}"),
        }
    }

    fn complete(&mut self, uri: &Uri, line: u32, character: u32) -> Vec<CompletionItem> {
        let response = self
            .request::<Completion>(CompletionParams {
                text_document_position: Self::position(uri, line, character),
                work_done_progress_params: WorkDoneProgressParams::default(),
                partial_result_params: PartialResultParams::default(),
                context: None,
            })
            .expect("completion answers");
        match response {
            Some(CompletionResponse::Array(items)) => items,
            Some(CompletionResponse::List(list)) => list.items,
            None => Vec::new(),
        }
    }

    fn definition(&mut self, uri: &Uri, line: u32, character: u32) -> Option<Location> {
        let response = self
            .request::<GotoDefinition>(GotoDefinitionParams {
                text_document_position_params: Self::position(uri, line, character),
                work_done_progress_params: WorkDoneProgressParams::default(),
                partial_result_params: PartialResultParams::default(),
            })
            .expect("definition answers")?;
        match response {
            GotoDefinitionResponse::Scalar(location) => Some(location),
            other => panic!("one location expected, got {other:?}"),
        }
    }

    fn shutdown(mut self) {
        self.request::<Shutdown>(()).expect("shutdown");
        self.notify::<lsp_types::notification::Exit>(());
        let server = self.server.take().expect("server thread");
        let ending = server
            .join()
            .expect("server thread ends")
            .expect("server ends cleanly");
        assert_eq!(ending, topoc::lsp::Ending::Clean);
    }
}

fn labels(items: &[CompletionItem]) -> Vec<String> {
    items.iter().map(|i| i.label.clone()).collect()
}

/// Line and UTF-16 column of the first `needle` (plus `delta` characters).
fn find(text: &str, needle: &str, delta: usize) -> (u32, u32) {
    let offset = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} in text"))
        + delta;
    let line_start = text[..offset].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let line = text[..offset].matches('\n').count() as u32;
    let column: usize = text[line_start..offset].chars().map(char::len_utf16).sum();
    (line, column as u32)
}

// ------------------------------------------------------------ handshake

#[test]
fn initialize_announces_every_capability() {
    let client = Client::start(None, false);
    let c = &client.capabilities;
    assert_eq!(c.position_encoding, Some(PositionEncodingKind::UTF16));
    assert_eq!(
        c.text_document_sync,
        Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::FULL))
    );
    assert!(c.hover_provider.is_some());
    assert!(c.completion_provider.is_some());
    assert_eq!(c.definition_provider, Some(OneOf::Left(true)));
    assert_eq!(c.references_provider, Some(OneOf::Left(true)));
    assert_eq!(c.document_symbol_provider, Some(OneOf::Left(true)));
    assert_eq!(c.document_formatting_provider, Some(OneOf::Left(true)));
    assert!(matches!(
        &c.rename_provider,
        Some(OneOf::Right(RenameOptions {
            prepare_provider: Some(true),
            ..
        }))
    ));
    client.shutdown();
}

#[test]
fn unknown_requests_get_an_error_not_a_crash() {
    let mut client = Client::start(None, false);
    let response = client.raw_request("textDocument/unknownThing", Value::Null);
    assert!(response.response_result.is_err());
    let response = client.raw_request(HoverRequest::METHOD, serde_json::json!({"bad": 1}));
    assert_eq!(
        response.response_result.err().map(|e| e.code),
        Some(lsp_server::ErrorCode::InvalidParams as i32)
    );
    // Requests about documents never opened answer with nothing.
    let unknown = uri(Path::new("/nowhere/x.topo"));
    assert_eq!(client.hover(&unknown, 0, 0), None);
    client.shutdown();
}

#[test]
fn exit_without_shutdown_is_not_a_clean_end_and_requests_after_shutdown_are_refused() {
    let mut client = Client::start(None, false);
    client.notify::<lsp_types::notification::Exit>(());
    let ending = client.server.take().unwrap().join().unwrap().unwrap();
    assert_eq!(ending, topoc::lsp::Ending::ExitWithoutShutdown);

    let mut client = Client::start(None, false);
    client.request::<Shutdown>(()).expect("shutdown");
    let response = client.raw_request(HoverRequest::METHOD, Value::Null);
    assert_eq!(
        response.response_result.err().map(|e| e.code),
        Some(lsp_server::ErrorCode::InvalidRequest as i32)
    );
    client.notify::<lsp_types::notification::Exit>(());
    let ending = client.server.take().unwrap().join().unwrap().unwrap();
    assert_eq!(ending, topoc::lsp::Ending::Clean);
}

/// `topoc lsp` as an editor starts it, fed `input` on stdin: its exit
/// status and the JSON of every frame it wrote.
fn lsp_process(input: &[u8]) -> (Option<i32>, Vec<Value>) {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_topoc"))
        .arg("lsp")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("topoc lsp starts");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let output = child.wait_with_output().expect("topoc lsp ends");
    feeder.join().unwrap();
    let mut frames = Vec::new();
    let mut rest = output.stdout.as_slice();
    while let Some(start) = rest.windows(4).position(|w| w == b"\r\n\r\n") {
        let header = String::from_utf8_lossy(&rest[..start]).to_string();
        let length: usize = header
            .trim()
            .strip_prefix("Content-Length: ")
            .and_then(|n| n.parse().ok())
            .expect("a Content-Length header");
        let body = &rest[start + 4..start + 4 + length];
        frames.push(serde_json::from_slice(body).expect("JSON"));
        rest = &rest[start + 4 + length..];
    }
    (output.status.code(), frames)
}

fn framed(content: &str) -> Vec<u8> {
    format!("Content-Length: {}\r\n\r\n{content}", content.len()).into_bytes()
}

const INITIALIZE: &str =
    r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}"#;
const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#;
const SHUTDOWN: &str = r#"{"jsonrpc":"2.0","id":2,"method":"shutdown"}"#;
const EXIT: &str = r#"{"jsonrpc":"2.0","method":"exit"}"#;

#[test]
fn the_stdio_server_answers_malformed_input_and_goes_on() {
    let mut input = framed(INITIALIZE);
    input.extend(framed(INITIALIZED));
    input.extend(framed("{this is not json"));
    input.extend(b"no header here\r\n\r\n");
    input.extend(framed(SHUTDOWN));
    input.extend(framed(EXIT));
    let (status, frames) = lsp_process(&input);
    assert_eq!(status, Some(0), "{frames:#?}");
    let errors: Vec<i64> = frames
        .iter()
        .filter_map(|f| f["error"]["code"].as_i64())
        .collect();
    assert_eq!(errors, [-32700, -32700], "{frames:#?}");
    assert!(
        frames
            .iter()
            .any(|f| f["id"] == 1 && f["result"]["capabilities"].is_object())
    );
    assert!(frames.iter().any(|f| f["id"] == 2 && f["result"].is_null()));
}

#[test]
fn the_stdio_server_refuses_a_huge_frame_and_exits_1_without_shutdown() {
    let mut input = framed(INITIALIZE);
    input.extend(b"Content-Length: 9223372036854775807\r\n\r\n{}");
    let (status, frames) = lsp_process(&input);
    assert_eq!(status, Some(1), "{frames:#?}");
    assert!(
        frames
            .iter()
            .any(|f| f["error"]["code"] == -32600 && f["id"].is_null()),
        "{frames:#?}"
    );
    let mut input = framed(INITIALIZE);
    input.extend(framed(EXIT));
    assert_eq!(lsp_process(&input).0, Some(1));
}

// ------------------------------------------------------------ diagnostics

#[test]
fn diagnostics_on_open_and_change_with_severities_and_related_information() {
    let mut client = Client::start(None, false);
    let path = fixture("tests/fixtures/lints/HA001.topo");
    let text = std::fs::read_to_string(&path).expect("fixture");
    let uri = client.open(&path, &text);
    let diagnostics = client.diagnostics(&uri);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    let d = &diagnostics[0];
    assert_eq!(d.code, Some(NumberOrString::String("HA001".into())));
    assert_eq!(d.severity, Some(DiagnosticSeverity::ERROR));
    assert_eq!(d.source.as_deref(), Some("topoc"));
    assert!(
        d.message.contains("500rps") && d.message.contains("help:"),
        "{}",
        d.message
    );
    assert_eq!(d.range.start.line, find(&text, "nodes = 2", 0).0);
    let related = d.related_information.as_ref().expect("related information");
    assert!(
        related.iter().any(|r| r.location.uri == uri
            && r.location.range.start.line == find(&text, "peak_load", 0).0)
    );

    // Fixing the capacity on the next keystroke clears the diagnostic.
    let fixed = text.replace("node_capacity = 500rps", "node_capacity = 800rps");
    client.change(&uri, 2, &fixed);
    assert_eq!(client.diagnostics(&uri), Vec::new());

    // A warning and an info.
    let warning = fixed.replace(
        "cluster gateway {\n    profile = gateway-worker\n    nodes = 2",
        "cluster gateway {\n    profile = gateway-worker\n    nodes = 1",
    );
    client.change(&uri, 3, &warning);
    let diagnostics = client.diagnostics(&uri);
    let severities: Vec<_> = diagnostics
        .iter()
        .map(|d| (d.code.clone(), d.severity))
        .collect();
    assert!(
        severities.contains(&(
            Some(NumberOrString::String("HA004".into())),
            Some(DiagnosticSeverity::WARNING)
        )),
        "{severities:?}"
    );
    let info_path = fixture("tests/fixtures/lints/DC006.topo");
    let info_uri = client.open_file(&info_path);
    let infos = client.diagnostics(&info_uri);
    assert!(
        infos
            .iter()
            .any(|d| d.severity == Some(DiagnosticSeverity::INFORMATION)),
        "{infos:#?}"
    );
    client.shutdown();
}

#[test]
fn lone_crs_are_line_breaks_and_ranges_never_cover_a_cr() {
    let mut client = Client::start(None, false);
    // The attribute after the comment is on a line of its own, as the
    // editor shows it: its error is on line 2 (0-based).
    let path = Path::new("/tmp/topoc-lsp-cr/lone.topo");
    let uri = client.open(
        path,
        "topology t {\r  version = \"4.2.0\" # patched\r  bogus = 1\r}\r",
    );
    let diagnostics = client.diagnostics(&uri);
    let bogus = diagnostics
        .iter()
        .find(|d| d.message.contains("bogus"))
        .unwrap_or_else(|| panic!("{diagnostics:#?}"));
    assert_eq!(bogus.range.start, Position::new(2, 2));
    assert_eq!(bogus.range.end, Position::new(2, 7));
    // On CRLF lines an error at the end of a line ends at its last
    // character, before the `\r`.
    let crlf = client.open(
        Path::new("/tmp/topoc-lsp-cr/crlf.topo"),
        "topology t {\r\n  version =\r\n}\r\n",
    );
    let diagnostics = client.diagnostics(&crlf);
    assert!(!diagnostics.is_empty());
    for d in &diagnostics {
        if d.range.start.line == 1 {
            assert!(d.range.end <= Position::new(1, 11), "{d:#?}");
        }
    }
    client.shutdown();
}

#[test]
fn every_code_of_the_fixtures_reaches_the_editor() {
    let mut client = Client::start(None, false);
    for lint in topoc::lints::all() {
        let path = fixture(&format!("tests/fixtures/lints/{}.topo", lint.code));
        if !path.exists() {
            continue; // UP001 lives with the planner
        }
        if lint.example_traffic().is_some() {
            continue; // read only with traffic (`check --traffic`)
        }
        let uri = client.open_file(&path);
        let codes: Vec<_> = client
            .diagnostics(&uri)
            .into_iter()
            .filter_map(|d| d.code)
            .collect();
        assert!(
            codes.contains(&NumberOrString::String(lint.code.into())),
            "{}: {codes:?}",
            lint.code
        );
        client.close(&uri);
        // Closing clears what was published.
        assert_eq!(client.diagnostics(&uri), Vec::new(), "{}", lint.code);
    }
    client.shutdown();
}

#[test]
fn a_file_with_syntax_errors_still_gets_diagnostics_and_completion() {
    let mut client = Client::start(None, false);
    let path = fixture("tests/fixtures/recovery/three_errors.topo");
    let text = std::fs::read_to_string(&path).expect("fixture");
    let uri = client.open(&path, &text);
    let diagnostics = client.diagnostics(&uri);
    let codes: Vec<String> = diagnostics
        .iter()
        .filter_map(|d| match &d.code {
            Some(NumberOrString::String(code)) => Some(code.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        codes.iter().filter(|c| *c == "E001").count(),
        3,
        "{codes:?}"
    );
    assert!(codes.contains(&"HA004".to_string()), "{codes:?}");

    // Completion in the valid part after the errors: a new line in
    // `cluster single` offers the attributes it has not got.
    let (line, _) = find(&text, "    nodes = 1", 0);
    let edited = text.replace("    nodes = 1\n", "    nodes = 1\n    \n");
    client.change(&uri, 2, &edited);
    let _ = client.diagnostics(&uri);
    let names = labels(&client.complete(&uri, line + 1, 4));
    assert!(names.contains(&"ha".to_string()), "{names:?}");
    assert!(names.contains(&"node_capacity".to_string()), "{names:?}");
    assert!(!names.contains(&"nodes".to_string()), "{names:?}");
    assert!(!names.contains(&"profile".to_string()), "{names:?}");

    // While typing a value (itself a syntax error until it is written).
    let typing = text.replace("    nodes = 1\n", "    nodes = 1\n    ha = \n");
    client.change(&uri, 3, &typing);
    let _ = client.diagnostics(&uri);
    let values = labels(&client.complete(&uri, line + 1, 9));
    assert_eq!(values, ["active-active", "active-passive", "none"]);
    // And a reference inside the unclosed list of the third error.
    let (list_line, list_col) = find(&text, "datasources = [shared_db,", 15);
    let refs = labels(&client.complete(&uri, list_line, list_col));
    assert_eq!(refs, ["shared_db"]);
    let (list_line, list_col) = find(&text, "datasources = [shared_db,", 25);
    let refs = labels(&client.complete(&uri, list_line, list_col));
    assert_eq!(refs, Vec::<String>::new(), "shared_db is listed already");
    client.shutdown();
}

#[test]
fn a_new_unsaved_buffer_is_checked_too() {
    let mut client = Client::start(None, true);
    let text =
        std::fs::read_to_string(fixture("tests/fixtures/lints/HA001.topo")).expect("fixture");
    let uri: Uri = "untitled:Untitled-1".parse().expect("a URI");
    client.versions.insert(uri.clone(), Some(1));
    client.notify::<DidOpenTextDocument>(DidOpenTextDocumentParams {
        text_document: TextDocumentItem::new(uri.clone(), "topo".into(), 1, text.clone()),
    });
    let codes: Vec<_> = client
        .diagnostics(&uri)
        .into_iter()
        .filter_map(|d| d.code)
        .collect();
    assert_eq!(codes, [NumberOrString::String("HA001".into())]);
    let (line, col) = find(&text, "[apim_db, shared_db]", 3);
    let location = client.definition(&uri, line, col).expect("definition");
    assert_eq!(location.uri, uri);
    // An enumeration attribute offers its values with the snippet.
    let edited = text.replace("    ha = active-active\n", "    \n");
    client.change(&uri, 2, &edited);
    let _ = client.diagnostics(&uri);
    let (line, _) = find(&edited, "    nodes = 2\n    \n", 0);
    let items = client.complete(&uri, line + 1, 4);
    let ha = items.iter().find(|i| i.label == "ha").expect("ha");
    match &ha.text_edit {
        Some(CompletionTextEdit::Edit(edit)) => {
            assert_eq!(
                edit.new_text,
                "ha = ${1|active-active,active-passive,none|}"
            )
        }
        other => panic!("{other:?}"),
    }
    client.close(&uri);
    assert_eq!(
        client.diagnostics(&uri),
        Vec::new(),
        "cleared under its own URI"
    );
    client.shutdown();
}

// ------------------------------------------------------------ hover

#[test]
fn hover_shows_schema_docs_resolved_names_and_lint_explanations() {
    let mut client = Client::start(None, false);
    let path = fixture("tests/fixtures/lints/HA001.topo");
    let text = std::fs::read_to_string(&path).expect("fixture");
    let uri = client.open(&path, &text);
    let _ = client.diagnostics(&uri);

    let (line, col) = find(&text, "node_capacity", 2);
    let doc = client.hover(&uri, line, col).expect("hover on a key");
    assert!(
        doc.contains("`node_capacity`") && doc.contains("What one node serves."),
        "{doc}"
    );
    assert!(doc.contains("requests per second"), "{doc}");

    let (line, col) = find(&text, "cluster gateway", 2);
    let doc = client
        .hover(&uri, line, col)
        .expect("hover on a block kind");
    assert!(
        doc.contains("A group of nodes running one WSO2 profile"),
        "{doc}"
    );

    let (line, col) = find(&text, "active-passive", 3);
    let doc = client
        .hover(&uri, line, col)
        .expect("hover on an enum value");
    assert!(
        doc.contains("one node takes traffic, its pair stands by"),
        "{doc}"
    );

    let (line, col) = find(&text, "[apim_db, shared_db]", 3);
    let doc = client.hover(&uri, line, col).expect("hover on a reference");
    assert!(
        doc.contains("**datasource `apim_db`** in datacenter `colombo`"),
        "{doc}"
    );
    assert!(
        doc.contains("mysql apim") && doc.contains("db.colombo.internal:3306"),
        "{doc}"
    );

    // On the diagnostic's range: the lint's explanation.
    let (line, col) = find(&text, "nodes = 2", 1);
    let doc = client
        .hover(&uri, line, col)
        .expect("hover on a diagnostic");
    assert!(doc.contains("**HA001** (error)"), "{doc}");
    let explanation = topoc::lints::find("HA001").expect("HA001").explanation;
    assert!(doc.contains(explanation.trim()), "{doc}");
    assert!(doc.contains("How many nodes."), "and the key's doc: {doc}");

    assert_eq!(
        client.hover(&uri, 0, 0),
        None,
        "nothing to say in a comment"
    );
    client.shutdown();
}

// ------------------------------------------------------------ navigation

#[test]
fn definition_and_references_within_a_file() {
    let mut client = Client::start(None, false);
    let path = fixture("examples/multi-datacenter.topo");
    let text = std::fs::read_to_string(&path).expect("example");
    let uri = client.open(&path, &text);
    assert_eq!(client.diagnostics(&uri), Vec::new());

    let (line, col) = find(&text, "key_manager = control_plane", 16);
    let location = client.definition(&uri, line, col).expect("definition");
    assert_eq!(location.uri, uri);
    let (decl_line, decl_col) = find(&text, "cluster control_plane", 8);
    assert_eq!(location.range.start, Position::new(decl_line, decl_col));
    assert_eq!(location.range.end, Position::new(decl_line, decl_col + 13));

    // From the declaration, every use; with and without it.
    let references = |client: &mut Client, include_declaration: bool| {
        client
            .request::<References>(ReferenceParams {
                text_document_position: Client::position(&uri, decl_line, decl_col),
                work_done_progress_params: WorkDoneProgressParams::default(),
                partial_result_params: PartialResultParams::default(),
                context: ReferenceContext {
                    include_declaration,
                },
            })
            .expect("references answer")
            .expect("some references")
    };
    let with = references(&mut client, true);
    let without = references(&mut client, false);
    // The gateways' `key_manager` and the portal load balancer's `fronts`.
    assert_eq!(with.len(), 3, "{with:#?}");
    assert_eq!(without.len(), 2);
    assert!(without.iter().any(|r| r.range.start.line == line));

    // Names in lists, replicas and datacenters resolve too.
    for (needle, delta, target) in [
        ("[apim_db_london,", 1, "datasource apim_db_london"),
        ("replica_of = apim_db\n", 13, "datasource apim_db "),
        ("replicates = colombo", 13, "datacenter colombo"),
        (
            "artifact_source = artifacts",
            18,
            "artifact_server artifacts",
        ),
    ] {
        let (line, col) = find(&text, needle, delta);
        let location = client.definition(&uri, line, col).expect(needle);
        let (target_line, _) = find(&text, target, 0);
        assert_eq!(location.range.start.line, target_line, "{needle}");
    }
    // Not a name: no definition.
    let (line, col) = find(&text, "profile = control-plane", 2);
    assert_eq!(client.definition(&uri, line, col), None);
    client.shutdown();
}

#[test]
fn a_topology_split_across_imports() {
    let folder = fixture("tests/fixtures/imports");
    let mut client = Client::start(Some(&folder), false);
    let upgrades = folder.join("upgrades.topo");
    let colombo = folder.join("sites/colombo.topo");
    let upgrades_text = std::fs::read_to_string(&upgrades).expect("fixture");
    let colombo_text = std::fs::read_to_string(&colombo).expect("fixture");

    // Opened alone, the imported file is checked as part of main.topo (the
    // workspace folder says who imports it): no "no topology" error.
    let colombo_uri = client.open(&colombo, &colombo_text);
    assert_eq!(client.diagnostics(&colombo_uri), Vec::new());
    let upgrades_uri = client.open(&upgrades, &upgrades_text);
    assert_eq!(client.diagnostics(&upgrades_uri), Vec::new());

    // Definition across an import.
    let (line, col) = find(&upgrades_text, "[gateway,", 2);
    let location = client
        .definition(&upgrades_uri, line, col)
        .expect("definition");
    assert_eq!(location.uri, colombo_uri);
    let (decl_line, decl_col) = find(&colombo_text, "cluster gateway", 8);
    assert_eq!(location.range.start, Position::new(decl_line, decl_col));
    // The import path leads to the file.
    let (line, col) = find(&upgrades_text, "sites/colombo", 3);
    let location = client.definition(&upgrades_uri, line, col).expect("import");
    assert_eq!(location.uri, colombo_uri);

    // References from the declaring file reach the importing one.
    let (line, col) = find(&colombo_text, "cluster control_plane", 9);
    let locations = client
        .request::<References>(ReferenceParams {
            text_document_position: Client::position(&colombo_uri, line, col),
            work_done_progress_params: WorkDoneProgressParams::default(),
            partial_result_params: PartialResultParams::default(),
            context: ReferenceContext {
                include_declaration: false,
            },
        })
        .expect("references")
        .expect("some");
    let files: Vec<&Uri> = locations.iter().map(|l| &l.uri).collect();
    assert!(
        files.contains(&&upgrades_uri) && files.contains(&&colombo_uri),
        "{files:?}"
    );

    // Completion of a reference offers the names declared in the other file.
    let edited = upgrades_text.replace("  kind = patch\n", "  kind = patch\n  clusters = [\n");
    let edited = edited.replace("  clusters = [gateway, control_plane]\n", "");
    client.change(&upgrades_uri, 2, &edited);
    let _ = client.diagnostics(&upgrades_uri);
    let (line, _) = find(&edited, "clusters = [", 0);
    let names = labels(&client.complete(&upgrades_uri, line, 14));
    assert_eq!(names, ["control_plane", "gateway"]);

    // An error in the imported file is published for it, from the topology
    // of the importing files.
    let broken = colombo_text.replace("key_manager = control_plane", "key_manager = control_plan");
    client.change(&colombo_uri, 2, &broken);
    let diagnostics = client.diagnostics(&colombo_uri);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    assert_eq!(
        diagnostics[0].code,
        Some(NumberOrString::String("E005".into()))
    );
    client.shutdown();
}

/// `examples/multi-datacenter.topo` split as people split a topology
/// without imports: the topology and artifact server in one file, each
/// datacenter in `sites/<name>.topo`, the upgrades in another. Returns the
/// paths written, in the folder's order.
fn split_example(folder: &Path) -> Vec<PathBuf> {
    let text = std::fs::read_to_string(fixture("examples/multi-datacenter.topo")).expect("example");
    let mut chunks: Vec<(String, String)> = vec![("topology.topo".into(), String::new())];
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("datacenter ") {
            let name = rest.split_whitespace().next().expect("a name");
            chunks.push((format!("sites/{name}.topo"), String::new()));
        } else if line.starts_with("upgrade ") {
            chunks.push(("upgrades.topo".into(), String::new()));
        }
        let chunk = &mut chunks.last_mut().expect("a chunk").1;
        chunk.push_str(line);
        chunk.push('\n');
    }
    std::fs::create_dir_all(folder.join("sites")).expect("mkdir");
    let mut paths = Vec::new();
    for (name, text) in chunks {
        let path = folder.join(name);
        std::fs::write(&path, text).expect("write");
        paths.push(path);
    }
    assert_eq!(paths.len(), 5, "{paths:?}");
    paths
}

/// What `topoc check DIR` reports for one of its files: code and message.
fn cli_diagnostics(folder: &Path, file: &Path) -> Vec<(String, String)> {
    let checked = topoc::check_path(
        folder,
        &topoc::load::DiskFs,
        &topoc::diagnostics::SeverityConfig::default(),
    )
    .expect("the folder loads");
    checked
        .diagnostics
        .iter()
        .filter(|d| checked.sources.get(d.span.file).path == file)
        .map(|d| (d.code.to_string(), d.message.clone()))
        .collect()
}

fn editor_diagnostics(diagnostics: &[Diagnostic]) -> Vec<(String, String)> {
    diagnostics
        .iter()
        .map(|d| {
            let code = match &d.code {
                Some(NumberOrString::String(code)) => code.clone(),
                other => panic!("{other:?}"),
            };
            // The editor shows the help line after the message.
            let message = d.message.split("\nhelp: ").next().unwrap_or("").to_string();
            (code, message)
        })
        .collect()
}

/// A topology split over a folder's files without imports is checked in
/// the editor as `topoc check DIR` checks it: the same diagnostics, file by
/// file, and names resolve across the files.
#[test]
fn a_folder_without_imports_is_one_topology_as_topoc_check_dir_reads_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let folder = dir.path().join("deploy");
    let files = split_example(&folder);
    let london = folder.join("sites/london.topo");
    let colombo = folder.join("sites/colombo.topo");
    // The workspace folder is above the topology's folder.
    let mut client = Client::start(Some(dir.path()), false);
    for file in &files {
        let uri = client.open_file(file);
        assert_eq!(
            editor_diagnostics(&client.diagnostics(&uri)),
            cli_diagnostics(&folder, file),
            "{}",
            file.display()
        );
    }
    let london_uri = uri(&london);
    let london_text = std::fs::read_to_string(&london).expect("split");
    // Opening the other files of the folder published london's again.
    assert_eq!(client.diagnostics_now(&london_uri), Some(Vec::new()));

    // `replicates = colombo` leads to the other file.
    let (line, col) = find(&london_text, "replicates = colombo", 14);
    let location = client
        .definition(&london_uri, line, col)
        .expect("definition");
    assert_eq!(location.uri, uri(&colombo));
    let hover = client.hover(&london_uri, line, col).expect("hover");
    assert!(hover.contains("datacenter"), "{hover}");

    // A typo is the E005 that names it, as on the command line; and the
    // CLI agrees once the file is saved.
    let typo = london_text.replacen("replicates = colombo", "replicates = colmbo", 1);
    client.change(&london_uri, 2, &typo);
    let found = editor_diagnostics(&client.diagnostics(&london_uri));
    assert_eq!(
        found,
        [(
            "E005".to_string(),
            "no datacenter named `colmbo`".to_string()
        )]
    );
    std::fs::write(&london, &typo).expect("save");
    assert_eq!(found, cli_diagnostics(&folder, &london));
    client.shutdown();
}

/// A folder of separate topologies (like `examples/`) is not one topology:
/// each file is checked on its own, as `topoc check FILE` checks it; a
/// file in a folder that `topoc check DIR` skips is checked on its own too.
#[test]
fn a_folder_of_several_topologies_checks_each_file_alone() {
    let dir = tempfile::tempdir().expect("temp dir");
    for name in ["HA001", "HA004"] {
        std::fs::copy(
            fixture(&format!("tests/fixtures/lints/{name}.topo")),
            dir.path().join(format!("{name}.topo")),
        )
        .expect("copy");
    }
    let hidden = dir.path().join(".drafts");
    std::fs::create_dir(&hidden).expect("mkdir");
    std::fs::write(
        hidden.join("site.topo"),
        "datacenter d {\n  role = primary\n}\n",
    )
    .expect("write");
    let mut client = Client::start(Some(dir.path()), false);
    let codes = |client: &mut Client, path: &Path| -> Vec<String> {
        let uri = client.open_file(path);
        editor_diagnostics(&client.diagnostics(&uri))
            .into_iter()
            .map(|(code, _)| code)
            .collect()
    };
    assert_eq!(
        codes(&mut client, &dir.path().join("HA001.topo")),
        ["HA001"]
    );
    assert_eq!(
        codes(&mut client, &dir.path().join("HA004.topo")),
        ["HA004"]
    );
    assert_eq!(codes(&mut client, &hidden.join("site.topo")), ["E004"]);
    client.shutdown();
}

#[test]
fn rename_across_files_and_its_refusals() {
    let folder = fixture("tests/fixtures/imports");
    let mut client = Client::start(Some(&folder), false);
    let colombo = folder.join("sites/colombo.topo");
    let colombo_text = std::fs::read_to_string(&colombo).expect("fixture");
    let colombo_uri = client.open(&colombo, &colombo_text);
    let _ = client.diagnostics(&colombo_uri);
    let upgrades_uri = uri(&folder.join("upgrades.topo"));

    let (line, col) = find(&colombo_text, "key_manager = control_plane", 15);
    let range = client
        .request::<PrepareRenameRequest>(Client::position(&colombo_uri, line, col))
        .expect("prepare rename")
        .expect("a name is here");
    assert_eq!(
        range,
        PrepareRenameResponse::Range(Range::new(Position::new(line, 18), Position::new(line, 31)))
    );
    let (kw_line, kw_col) = find(&colombo_text, "profile", 1);
    assert_eq!(
        client
            .request::<PrepareRenameRequest>(Client::position(&colombo_uri, kw_line, kw_col))
            .expect("prepare rename"),
        None
    );

    let rename = |client: &mut Client, new_name: &str| {
        client.request::<Rename>(RenameParams {
            text_document_position: Client::position(&colombo_uri, line, col),
            new_name: new_name.into(),
            work_done_progress_params: WorkDoneProgressParams::default(),
        })
    };
    let edit = rename(&mut client, "publisher")
        .expect("rename")
        .expect("an edit");
    // By URI text (the protocol's map is keyed by `Uri`).
    let changes: std::collections::BTreeMap<String, Vec<TextEdit>> = edit
        .changes
        .expect("changes")
        .into_iter()
        .map(|(uri, edits)| (uri.as_str().to_string(), edits))
        .collect();
    assert_eq!(changes.len(), 2);
    let in_colombo = &changes[colombo_uri.as_str()];
    let in_upgrades = &changes[upgrades_uri.as_str()];
    assert_eq!(in_colombo.len(), 2, "the declaration and key_manager");
    assert_eq!(in_upgrades.len(), 1, "the upgrade's cluster list");
    assert!(
        in_colombo
            .iter()
            .chain(in_upgrades)
            .all(|e| e.new_text == "publisher")
    );

    for bad in ["Publisher", "2nd", "has space", ""] {
        let error = rename(&mut client, bad).expect_err(bad);
        assert!(
            error.message.contains("not a valid name"),
            "{}",
            error.message
        );
    }
    let error = rename(&mut client, "gateway").expect_err("taken");
    assert!(
        error.message.contains("already exists"),
        "{}",
        error.message
    );
    client.shutdown();
}

// ------------------------------------------------------------ completion

#[test]
fn completion_of_kinds_attributes_values_and_names() {
    let mut client = Client::start(None, true);
    let path = fixture("examples/multi-datacenter.topo");
    let text = std::fs::read_to_string(&path).expect("example");
    let uri = client.open(&path, &text);
    let _ = client.diagnostics(&uri);

    // The top level: block kinds that go there, with snippets.
    let items = client.complete(&uri, find(&text, "topology telco", 0).0, 0);
    let names = labels(&items);
    for kind in [
        "topology",
        "datacenter",
        "artifact_server",
        "upgrade",
        "import",
    ] {
        assert!(names.contains(&kind.to_string()), "{names:?}");
    }
    assert!(!names.contains(&"cluster".to_string()), "{names:?}");
    let datacenter = items
        .iter()
        .find(|i| i.label == "datacenter")
        .expect("datacenter");
    assert_eq!(
        datacenter.insert_text_format,
        Some(InsertTextFormat::SNIPPET)
    );
    match &datacenter.text_edit {
        Some(CompletionTextEdit::Edit(edit)) => {
            assert_eq!(edit.new_text, "datacenter ${1:name} {\n\t$0\n}")
        }
        other => panic!("{other:?}"),
    }

    // In a datacenter: its attributes not given yet, and its child blocks.
    let edited = text.replace("  role = primary\n", "  role = primary\n  \n");
    client.change(&uri, 2, &edited);
    let _ = client.diagnostics(&uri);
    let (line, _) = find(&edited, "  role = primary\n", 0);
    let names = labels(&client.complete(&uri, line + 1, 2));
    for expected in [
        "replicates",
        "standby",
        "recovery_time",
        "cluster",
        "datasource",
    ] {
        assert!(
            names.contains(&expected.to_string()),
            "{expected}: {names:?}"
        );
    }
    for given in ["role", "region", "domain", "topology"] {
        assert!(!names.contains(&given.to_string()), "{given}: {names:?}");
    }

    // After `key =`: enumeration values, names of the right kind (not the
    // cluster itself), and inside a list the names not listed yet.
    let typing = text.replace(
        "    traffic_manager = traffic_manager\n    datasources = [shared_db]\n",
        "    traffic_manager = \n    datasources = [shared_db, ]\n",
    );
    assert_ne!(typing, text);
    client.change(&uri, 3, &typing);
    let _ = client.diagnostics(&uri);
    let (line, col) = find(&typing, "    traffic_manager = \n", 22);
    let items = client.complete(&uri, line, col);
    assert_eq!(
        labels(&items),
        [
            "control_plane",
            "traffic_manager",
            "key_manager",
            "traffic_manager_london",
            "gateway_london"
        ]
    );
    assert_eq!(items[0].detail.as_deref(), Some("cluster in colombo"));
    let (line, col) = find(&typing, "[shared_db, ]", 12);
    assert_eq!(
        labels(&client.complete(&uri, line, col)),
        [
            "apim_db",
            "apim_db_london",
            "shared_db_london",
            "apim_db_dr",
            "shared_db_dr"
        ]
    );
    let (line, col) = find(&typing, "ha = active-active", 5);
    let values = labels(&client.complete(&uri, line, col));
    assert_eq!(values, ["active-active", "active-passive", "none"]);
    // The replaced range is the word being typed (`act` of `active-active`).
    let partial = typing.replacen("    ha = active-active\n", "    ha = act\n", 1);
    client.change(&uri, 4, &partial);
    let _ = client.diagnostics(&uri);
    let (line, col) = find(&partial, "ha = act\n", 8);
    let items = client.complete(&uri, line, col);
    match &items[0].text_edit {
        Some(CompletionTextEdit::Edit(edit)) => {
            assert_eq!(
                edit.range,
                Range::new(Position::new(line, col - 3), Position::new(line, col))
            );
            assert_eq!(edit.new_text, "active-active");
        }
        other => panic!("{other:?}"),
    }
    // Nothing inside strings and comments.
    let (line, col) = find(&text, "ap-south-1", 3);
    assert!(client.complete(&uri, line, col).is_empty());
    client.shutdown();
}

// ------------------------------------------------------------ symbols, formatting

#[test]
fn document_symbols_are_the_block_tree() {
    let mut client = Client::start(None, false);
    let path = fixture("examples/multi-datacenter.topo");
    let uri = client.open_file(&path);
    let _ = client.diagnostics(&uri);
    let response = client
        .request::<DocumentSymbolRequest>(DocumentSymbolParams {
            text_document: TextDocumentIdentifier::new(uri.clone()),
            work_done_progress_params: WorkDoneProgressParams::default(),
            partial_result_params: PartialResultParams::default(),
        })
        .expect("symbols")
        .expect("some symbols");
    let DocumentSymbolResponse::Nested(symbols) = response else {
        panic!("nested symbols expected");
    };
    let top: Vec<(&str, SymbolKind)> = symbols.iter().map(|s| (s.name.as_str(), s.kind)).collect();
    assert_eq!(
        top,
        [
            ("telco", SymbolKind::PACKAGE),
            ("artifacts", SymbolKind::MODULE),
            ("colombo", SymbolKind::NAMESPACE),
            ("london", SymbolKind::NAMESPACE),
            ("singapore", SymbolKind::NAMESPACE),
            ("quarterly_patch", SymbolKind::EVENT),
        ]
    );
    let colombo: Vec<&str> = symbols[2]
        .children
        .as_ref()
        .expect("children")
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(
        colombo,
        [
            "apim_db",
            "shared_db",
            "control_plane",
            "traffic_manager",
            "gateway",
            "api",
            "portal"
        ]
    );
    assert_eq!(symbols[2].detail.as_deref(), Some("datacenter"));
    client.shutdown();
}

#[test]
fn formatting_the_document() {
    let mut client = Client::start(None, false);
    let path = fixture("tests/fixtures/fmt/messy.topo");
    let text = std::fs::read_to_string(&path).expect("fixture");
    let uri = client.open(&path, &text);
    let _ = client.diagnostics(&uri);
    let format = |client: &mut Client| {
        client
            .request::<Formatting>(DocumentFormattingParams {
                text_document: TextDocumentIdentifier::new(uri.clone()),
                options: FormattingOptions {
                    tab_size: 2,
                    insert_spaces: true,
                    ..FormattingOptions::default()
                },
                work_done_progress_params: WorkDoneProgressParams::default(),
            })
            .expect("formatting answers")
    };
    let edits = format(&mut client).expect("edits");
    assert_eq!(edits.len(), 1);
    let expected = topoc::syntax::format::format(&text).expect("formats");
    assert_eq!(edits[0].new_text, expected);
    assert_eq!(edits[0].range.start, Position::new(0, 0));
    let lines = text.lines().count() as u32;
    assert_eq!(edits[0].range.end.line, lines);

    client.change(&uri, 2, &expected);
    let _ = client.diagnostics(&uri);
    assert_eq!(format(&mut client), Some(Vec::new()), "already formatted");

    client.change(&uri, 3, "topology t {\n  version = \n}\n");
    let _ = client.diagnostics(&uri);
    assert_eq!(format(&mut client), None, "syntax errors: no edits");
    client.shutdown();
}

#[test]
fn positions_are_utf16() {
    let mut client = Client::start(None, false);
    let path = fixture("tests/fixtures/lsp-utf16.topo");
    // Two attributes on one line, after a four-byte character (two UTF-16
    // units): the reference and the diagnostic are found where the editor
    // counts.
    let text = "topology t {\n  version = \"4.2.0\"\n}\ndatacenter d {\n  role = primary\n  cluster cp {\n    profile = control-plane\n    nodes = 1\n  }\n  cluster gw {\n    profile = gateway-worker\n    nodes = 1\n    region = \"\u{1F600}\" key_manager = cp\n  }\n}\n";
    let uri = client.open(&path, text);
    let diagnostics = client.diagnostics(&uri);
    let unknown = diagnostics
        .iter()
        .find(|d| d.message.contains("unknown attribute `region`"))
        .expect("E002 for region");
    assert_eq!(unknown.range.start, Position::new(12, 4));
    let (line, col) = find(text, "key_manager = cp", 14);
    assert_eq!(col, 32, "the emoji counts as two units");
    let location = client.definition(&uri, line, col).expect("definition");
    assert_eq!(location.range.start, Position::new(5, 10));
    let doc = client.hover(&uri, line, col).expect("hover");
    assert!(doc.contains("**cluster `cp`**"), "{doc}");
    // And positions sent back after the emoji are counted the same way.
    let locations = client
        .request::<References>(ReferenceParams {
            text_document_position: Client::position(&uri, 5, 10),
            work_done_progress_params: WorkDoneProgressParams::default(),
            partial_result_params: PartialResultParams::default(),
            context: ReferenceContext {
                include_declaration: false,
            },
        })
        .expect("references")
        .expect("some");
    assert_eq!(
        locations[0].range,
        Range::new(Position::new(line, 32), Position::new(line, 34))
    );
    client.shutdown();
}

// ------------------------------------------------------------ the binary

fn frame(body: &Value) -> Vec<u8> {
    let text = body.to_string();
    format!("Content-Length: {}\r\n\r\n{text}", text.len()).into_bytes()
}

fn read_frame(reader: &mut impl BufRead) -> Value {
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).expect("header");
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some(value) = header.strip_prefix("Content-Length: ") {
            length = value.parse().expect("length");
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).expect("body");
    serde_json::from_slice(&body).expect("JSON body")
}

#[test]
fn topoc_lsp_speaks_over_stdio() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_topoc"))
        .arg("lsp")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("topoc lsp starts");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let path = fixture("tests/fixtures/lints/HA004.topo");
    let text = std::fs::read_to_string(&path).expect("fixture");
    let messages = [
        serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}}),
        serde_json::json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
        serde_json::json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {"uri": uri(&path).as_str(), "languageId": "topo", "version": 1, "text": text}}}),
    ];
    for message in &messages {
        stdin.write_all(&frame(message)).expect("write");
    }
    stdin.flush().expect("flush");
    let initialized = read_frame(&mut stdout);
    assert_eq!(initialized["id"], 1);
    assert_eq!(initialized["result"]["serverInfo"]["name"], "topoc");
    let published = read_frame(&mut stdout);
    assert_eq!(published["method"], "textDocument/publishDiagnostics");
    assert_eq!(published["params"]["diagnostics"][0]["code"], "HA004");
    assert_eq!(published["params"]["diagnostics"][0]["severity"], 2);
    stdin
        .write_all(&frame(
            &serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}),
        ))
        .expect("write");
    stdin
        .write_all(&frame(
            &serde_json::json!({"jsonrpc": "2.0", "method": "exit"}),
        ))
        .expect("write");
    stdin.flush().expect("flush");
    let shutdown = read_frame(&mut stdout);
    assert_eq!(shutdown["id"], 2);
    drop(stdin);
    let status = child.wait().expect("topoc lsp exits");
    assert!(status.success(), "{status:?}");
}

// ------------------------------------------------------------ no panics

mod no_panic {
    use super::*;
    use proptest::prelude::*;
    use topoc::diagnostics::SeverityConfig;
    use topoc::lsp::{completion, hover, navigation, workspace::Workspace};

    fn word() -> impl Strategy<Value = String> {
        let words: Vec<String> = [
            "topology",
            "datacenter",
            "cluster",
            "datasource",
            "upgrade",
            "gw",
            "cp",
            "db",
            "key_manager",
            "datasources",
            "clusters",
            "nodes",
            "ha",
            "role",
            "primary",
            "=",
            "{",
            "}",
            "[",
            "]",
            ",",
            "\n",
            "\n",
            " ",
            "\"\u{1F600}\"",
            "\"x",
            "# c\n",
            "2",
            "800rps",
            "secret(\"a\")",
            "import \"nowhere.topo\"",
            "\u{e9}",
            "@",
            "replica_of",
        ]
        .map(String::from)
        .to_vec();
        prop::sample::select(words)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

        /// Every feature at every offset of arbitrary token soups answers
        /// without panicking.
        #[test]
        fn features_never_panic(tokens in prop::collection::vec(word(), 0..80), name in "[a-zA-Z_ -]{0,6}") {
            let text = tokens.join(" ");
            let path = fixture("tests/fixtures/no-panic.topo");
            let uri = super::uri(&path);
            let mut workspace = Workspace::new(SeverityConfig::default());
            let _ = workspace.set_document(uri.clone(), 1, text.clone());
            let key = topoc::lsp::workspace::key_of(&uri).expect("key");
            let (analysis, file) = workspace.analysis_of(&key).expect("analysed");
            let source = analysis.source(file);
            let mut offsets: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
            offsets.push(text.len());
            for offset in offsets {
                let _ = hover::hover(analysis, file, offset);
                let _ = completion::complete(analysis, file, offset, true);
                let _ = navigation::definition(&workspace, analysis, file, offset);
                let _ = navigation::references(&workspace, analysis, file, offset, true);
                let _ = navigation::prepare_rename(analysis, file, offset);
                let _ = navigation::rename(&workspace, analysis, file, offset, &name);
            }
            let symbols = navigation::document_symbols(analysis.ast(file), source);
            prop_assert!(symbols.len() <= text.len());
        }
    }
}
