//! What the language server does on every keystroke, on a 1,000-line
//! document: the check alone, and a whole `didChange` answered with
//! `publishDiagnostics` by a server running in process.

use std::hint::black_box;
use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use lsp_server::{Connection, Message, Notification, Request, RequestId};
use lsp_types::notification::{
    DidChangeTextDocument, DidOpenTextDocument, Exit, Initialized, Notification as _,
    PublishDiagnostics,
};
use lsp_types::request::{Initialize, Request as _, Shutdown};
use lsp_types::{
    DidChangeTextDocumentParams, DidOpenTextDocumentParams, InitializeParams,
    TextDocumentContentChangeEvent, TextDocumentItem, VersionedTextDocumentIdentifier,
};
use topoc::diagnostics::SeverityConfig;
use topoc::load::DiskFs;

/// A generated topology of about 1,000 lines (one datacenter, gateway
/// clusters to fill).
fn document() -> String {
    let text = topoc::generate::large_topology(1, 92);
    let lines = text.lines().count();
    assert!((950..=1050).contains(&lines), "{lines} lines");
    text
}

fn receive(connection: &Connection) -> Message {
    connection
        .receiver
        .recv_timeout(Duration::from_secs(60))
        .expect("the server answers")
}

fn keystroke(c: &mut Criterion) {
    let text = document();
    let path = Path::new("/bench/keystroke.topo");
    let mut group = c.benchmark_group("lsp");
    group.sample_size(50);
    group.bench_function("check 1000 lines", |b| {
        b.iter(|| topoc::check_text(path, black_box(&text), &DiskFs, &SeverityConfig::default()))
    });

    // didChange -> publishDiagnostics through the whole server.
    let (server_side, client) = Connection::memory();
    let server =
        std::thread::spawn(move || topoc::lsp::serve(&server_side).map_err(|e| e.to_string()));
    let initialize = Request::new(
        RequestId::from(1),
        Initialize::METHOD.into(),
        InitializeParams::default(),
    );
    client.sender.send(initialize.into()).expect("send");
    let _ = receive(&client);
    let notify = |method: &str, params: serde_json::Value| {
        client
            .sender
            .send(Notification::new(method.into(), params).into())
            .expect("send");
    };
    notify(Initialized::METHOD, serde_json::json!({}));
    let uri = topoc::lsp::convert::path_to_uri(path).expect("uri");
    let open = DidOpenTextDocumentParams {
        text_document: TextDocumentItem::new(uri.clone(), "topo".into(), 1, text.clone()),
    };
    notify(
        DidOpenTextDocument::METHOD,
        serde_json::to_value(open).expect("json"),
    );
    let _ = receive(&client);
    let mut version = 1;
    group.bench_function("didChange to publishDiagnostics, 1000 lines", |b| {
        b.iter(|| {
            version += 1;
            let change = DidChangeTextDocumentParams {
                text_document: VersionedTextDocumentIdentifier::new(uri.clone(), version),
                content_changes: vec![TextDocumentContentChangeEvent {
                    range: None,
                    range_length: None,
                    text: text.clone(),
                }],
            };
            notify(
                DidChangeTextDocument::METHOD,
                serde_json::to_value(change).expect("json"),
            );
            match receive(&client) {
                Message::Notification(n) if n.method == PublishDiagnostics::METHOD => n,
                other => panic!("unexpected {other:?}"),
            }
        })
    });
    group.finish();
    let shutdown = Request::new(RequestId::from(2), Shutdown::METHOD.into(), ());
    client.sender.send(shutdown.into()).expect("send");
    let _ = receive(&client);
    notify(Exit::METHOD, serde_json::Value::Null);
    server.join().expect("server thread").expect("server ends");
}

criterion_group!(benches, keystroke);
criterion_main!(benches);
