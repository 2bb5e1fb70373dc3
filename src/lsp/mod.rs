//! The language server (`topoc lsp`): the protocol over stdio, answered
//! with the same library calls as the command line.
//!
//! One synchronous loop: every change re-checks the topologies holding the
//! document (a check of a 1,000-line file takes about a millisecond), so
//! every answer is computed from the current text. Documents are synced
//! whole; positions are UTF-16 as the protocol requires.

pub mod completion;
pub mod convert;
pub mod hover;
pub mod index;
pub mod locate;
pub mod navigation;
pub mod transport;
pub mod workspace;

use std::error::Error;

use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, Notification as _,
    PublishDiagnostics,
};
use lsp_types::request::{
    Completion, DocumentSymbolRequest, Formatting, GotoDefinition, HoverRequest,
    PrepareRenameRequest, References, Rename, Request as _,
};
use lsp_types::{
    CompletionOptions, CompletionResponse, DidChangeTextDocumentParams, DidCloseTextDocumentParams,
    DidOpenTextDocumentParams, DocumentFormattingParams, DocumentSymbolParams,
    DocumentSymbolResponse, GotoDefinitionParams, GotoDefinitionResponse, HoverParams,
    HoverProviderCapability, InitializeParams, OneOf, Position, PositionEncodingKind,
    PrepareRenameResponse, ReferenceParams, RenameOptions, RenameParams, ServerCapabilities,
    ServerInfo, TextDocumentPositionParams, TextDocumentSyncCapability, TextDocumentSyncKind,
    TextEdit, Uri, WorkDoneProgressOptions,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::diagnostics::SeverityConfig;
use crate::source::FileId;
use workspace::{Analysis, Workspace, key_of};

/// Any error the server loop may end with.
pub type BoxError = Box<dyn Error + Send + Sync>;

/// How a session with a client ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// `shutdown`, then `exit`: the protocol's clean end (exit status 0).
    Clean,
    /// `exit` without `shutdown` (exit status 1, as the protocol says).
    ExitWithoutShutdown,
    /// The client closed the stream without `exit` (exit status 1).
    Disconnected,
    /// The stream closed before any client spoke (exit status 0).
    Unused,
}

/// Serve the protocol on stdin and stdout until the client exits.
pub fn run_stdio() -> Result<Ending, BoxError> {
    let (connection, threads) =
        transport::connection(std::io::BufReader::new(std::io::stdin()), std::io::stdout());
    let ending = serve(&connection);
    // What the server sent before it stopped still reaches the client.
    drop(connection);
    threads.join_writer()?;
    ending
}

/// What the server can do.
pub fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        position_encoding: Some(PositionEncodingKind::UTF16),
        text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::FULL)),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec!["=".into(), "[".into(), ",".into()]),
            ..CompletionOptions::default()
        }),
        definition_provider: Some(OneOf::Left(true)),
        references_provider: Some(OneOf::Left(true)),
        document_symbol_provider: Some(OneOf::Left(true)),
        document_formatting_provider: Some(OneOf::Left(true)),
        rename_provider: Some(OneOf::Right(RenameOptions {
            prepare_provider: Some(true),
            work_done_progress_options: WorkDoneProgressOptions::default(),
        })),
        ..ServerCapabilities::default()
    }
}

/// Run the protocol on a connection: the initialize handshake, then
/// requests and notifications until `exit`. After `shutdown`, requests are
/// refused (`InvalidRequest`), as the protocol says.
pub fn serve(connection: &Connection) -> Result<Ending, BoxError> {
    let disconnected = |error: lsp_server::ProtocolError| -> Result<Ending, BoxError> {
        if error.channel_is_disconnected() {
            Ok(Ending::Disconnected)
        } else {
            Err(error.into())
        }
    };
    let (id, params) = match connection.initialize_start() {
        Ok(started) => started,
        // Input closed before any client spoke (Ctrl-D in a terminal):
        // nothing was served, nothing went wrong.
        Err(error) if error.channel_is_disconnected() => return Ok(Ending::Unused),
        Err(error) => return disconnected(error),
    };
    let params: InitializeParams = match serde_json::from_value(params) {
        Ok(params) => params,
        Err(error) => {
            let response = Response::new_err(
                id,
                ErrorCode::InvalidParams as i32,
                format!("invalid initialize parameters: {error}"),
            );
            connection.sender.send(response.into())?;
            return Err(error.into());
        }
    };
    let result = serde_json::json!({
        "capabilities": capabilities(),
        "serverInfo": ServerInfo {
            name: "topoc".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
        },
    });
    // `initialized` is not waited for: it carries nothing, and an `exit`
    // in its place ends the session like any other.
    connection
        .sender
        .send(Response::new_ok(id, result).into())?;
    let mut server = Server::new(&params);
    let mut shut_down = false;
    for message in &connection.receiver {
        match message {
            Message::Request(request) => {
                let response = if shut_down {
                    Response::new_err(
                        request.id,
                        ErrorCode::InvalidRequest as i32,
                        "the server is shut down; only `exit` is expected".to_string(),
                    )
                } else if request.method == lsp_types::request::Shutdown::METHOD {
                    shut_down = true;
                    Response::new_ok(request.id, ())
                } else {
                    server.request(request)
                };
                connection.sender.send(response.into())?;
            }
            Message::Notification(notification) => {
                if notification.method == lsp_types::notification::Exit::METHOD {
                    return Ok(if shut_down {
                        Ending::Clean
                    } else {
                        Ending::ExitWithoutShutdown
                    });
                }
                if shut_down {
                    continue;
                }
                for params in server.notification(notification) {
                    let publish = Notification::new(PublishDiagnostics::METHOD.into(), params);
                    connection.sender.send(publish.into())?;
                }
            }
            Message::Response(_) => {}
        }
    }
    Ok(Ending::Disconnected)
}

struct Server {
    workspace: Workspace,
    snippets: bool,
}

/// A request's failure: its error code and message.
type Failure = (ErrorCode, String);

fn parse<P: DeserializeOwned>(params: serde_json::Value) -> Result<P, Failure> {
    serde_json::from_value(params)
        .map_err(|e| (ErrorCode::InvalidParams, format!("invalid parameters: {e}")))
}

impl Server {
    fn new(params: &InitializeParams) -> Server {
        let mut workspace = Workspace::new(SeverityConfig::default());
        #[allow(deprecated)] // `root_uri`, for clients without workspace folders
        let folders: Vec<Uri> = match &params.workspace_folders {
            Some(folders) => folders.iter().map(|f| f.uri.clone()).collect(),
            None => params.root_uri.iter().cloned().collect(),
        };
        for folder in folders {
            if let Some(path) = convert::uri_to_path(&folder) {
                workspace.scan_folder(&path);
            }
        }
        let snippets = params
            .capabilities
            .text_document
            .as_ref()
            .and_then(|t| t.completion.as_ref())
            .and_then(|c| c.completion_item.as_ref())
            .and_then(|i| i.snippet_support)
            .unwrap_or(false);
        Server {
            workspace,
            snippets,
        }
    }

    fn notification(
        &mut self,
        notification: Notification,
    ) -> Vec<lsp_types::PublishDiagnosticsParams> {
        let Notification { method, params } = notification;
        match method.as_str() {
            DidOpenTextDocument::METHOD => match parse::<DidOpenTextDocumentParams>(params) {
                Ok(p) => self.workspace.set_document(
                    p.text_document.uri,
                    p.text_document.version,
                    p.text_document.text,
                ),
                Err(_) => Vec::new(),
            },
            DidChangeTextDocument::METHOD => match parse::<DidChangeTextDocumentParams>(params) {
                Ok(p) => {
                    let uri = p.text_document.uri;
                    let Some(document) = self.workspace.document(&uri) else {
                        return Vec::new();
                    };
                    let mut text = document.file.text.clone();
                    for change in p.content_changes {
                        match change.range {
                            None => text = change.text,
                            Some(range) => {
                                let file = crate::source::SourceFile::new(
                                    FileId(0),
                                    Default::default(),
                                    text.clone(),
                                );
                                let start = convert::offset(&file, range.start);
                                let end = convert::offset(&file, range.end).max(start);
                                text.replace_range(start..end, &change.text);
                            }
                        }
                    }
                    self.workspace
                        .set_document(uri, p.text_document.version, text)
                }
                Err(_) => Vec::new(),
            },
            DidCloseTextDocument::METHOD => match parse::<DidCloseTextDocumentParams>(params) {
                Ok(p) => self.workspace.close_document(&p.text_document.uri),
                Err(_) => Vec::new(),
            },
            _ => Vec::new(),
        }
    }

    fn request(&mut self, request: Request) -> Response {
        let Request { id, method, params } = request;
        let result = match method.as_str() {
            HoverRequest::METHOD => self.hover(parse(params)),
            Completion::METHOD => self.completion(parse(params)),
            GotoDefinition::METHOD => self.definition(parse(params)),
            References::METHOD => self.references(parse(params)),
            DocumentSymbolRequest::METHOD => self.symbols(parse(params)),
            Formatting::METHOD => self.formatting(parse(params)),
            PrepareRenameRequest::METHOD => self.prepare_rename(parse(params)),
            Rename::METHOD => self.rename(parse(params)),
            _ => Err((
                ErrorCode::MethodNotFound,
                format!("topoc does not answer `{method}`"),
            )),
        };
        respond(id, result)
    }

    /// The analysis, file and offset a position points at.
    fn at(&self, uri: &Uri, position: Position) -> Option<(&Analysis, FileId, usize)> {
        let key = key_of(uri)?;
        let document = self.workspace.document(uri)?;
        let offset = convert::offset(&document.file, position);
        let (analysis, file) = self.workspace.analysis_of(&key)?;
        Some((analysis, file, offset))
    }

    fn hover(&self, params: Result<HoverParams, Failure>) -> Result<serde_json::Value, Failure> {
        let p = params?.text_document_position_params;
        let hover = self
            .at(&p.text_document.uri, p.position)
            .and_then(|(a, f, o)| hover::hover(a, f, o));
        to_json(hover)
    }

    fn completion(
        &self,
        params: Result<lsp_types::CompletionParams, Failure>,
    ) -> Result<serde_json::Value, Failure> {
        let p = params?.text_document_position;
        let items = self
            .at(&p.text_document.uri, p.position)
            .map(|(a, f, o)| completion::complete(a, f, o, self.snippets))
            .unwrap_or_default();
        to_json(CompletionResponse::Array(items))
    }

    fn definition(
        &self,
        params: Result<GotoDefinitionParams, Failure>,
    ) -> Result<serde_json::Value, Failure> {
        let p = params?.text_document_position_params;
        let location = self
            .at(&p.text_document.uri, p.position)
            .and_then(|(a, f, o)| navigation::definition(&self.workspace, a, f, o));
        to_json(location.map(GotoDefinitionResponse::Scalar))
    }

    fn references(
        &self,
        params: Result<ReferenceParams, Failure>,
    ) -> Result<serde_json::Value, Failure> {
        let p = params?;
        let position = p.text_document_position;
        let locations = self
            .at(&position.text_document.uri, position.position)
            .and_then(|(a, f, o)| {
                navigation::references(&self.workspace, a, f, o, p.context.include_declaration)
            });
        to_json(locations)
    }

    fn symbols(
        &self,
        params: Result<DocumentSymbolParams, Failure>,
    ) -> Result<serde_json::Value, Failure> {
        let uri = params?.text_document.uri;
        let symbols = key_of(&uri)
            .and_then(|key| self.workspace.analysis_of(&key))
            .map(|(a, f)| navigation::document_symbols(a.ast(f), a.source(f)));
        to_json(symbols.map(DocumentSymbolResponse::Nested))
    }

    /// The whole document in the canonical layout; no edits when it has
    /// syntax errors (the formatter never guesses).
    fn formatting(
        &self,
        params: Result<DocumentFormattingParams, Failure>,
    ) -> Result<serde_json::Value, Failure> {
        let uri = params?.text_document.uri;
        let Some(document) = self.workspace.document(&uri) else {
            return to_json(None::<Vec<TextEdit>>);
        };
        let text = &document.file.text;
        let edits = match crate::syntax::format::format(text) {
            Ok(formatted) if formatted == *text => Some(Vec::new()),
            Ok(formatted) => Some(vec![TextEdit {
                range: convert::range(&document.file, 0..text.len()),
                new_text: formatted,
            }]),
            Err(_) => None,
        };
        to_json(edits)
    }

    fn prepare_rename(
        &self,
        params: Result<TextDocumentPositionParams, Failure>,
    ) -> Result<serde_json::Value, Failure> {
        let p = params?;
        let range = self
            .at(&p.text_document.uri, p.position)
            .and_then(|(a, f, o)| navigation::prepare_rename(a, f, o));
        to_json(range.map(PrepareRenameResponse::Range))
    }

    fn rename(&self, params: Result<RenameParams, Failure>) -> Result<serde_json::Value, Failure> {
        let p = params?;
        let position = p.text_document_position;
        let Some((analysis, file, offset)) =
            self.at(&position.text_document.uri, position.position)
        else {
            return Err((ErrorCode::RequestFailed, "the document is not open".into()));
        };
        navigation::rename(&self.workspace, analysis, file, offset, &p.new_name)
            .map_err(|message| (ErrorCode::RequestFailed, message))
            .and_then(to_json)
    }
}

fn to_json<T: Serialize>(value: T) -> Result<serde_json::Value, Failure> {
    serde_json::to_value(value).map_err(|e| (ErrorCode::InternalError, e.to_string()))
}

fn respond(id: RequestId, result: Result<serde_json::Value, Failure>) -> Response {
    match result {
        Ok(value) => Response::new_ok(id, value),
        Err((code, message)) => Response::new_err(id, code as i32, message),
    }
}
