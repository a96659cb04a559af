//! `myhealthctl lsp`: the language server of `myhealth.toml`, over stdio
//! (`lsp-server`'s framing and message types, `lsp-types`' protocol types).
//! It owns the session — the open documents, the loop, which request goes
//! where — and computes nothing itself: diagnostics are what `validate`
//! reports (`ops::validate::check`, `diagnose.rs`), hover is what
//! `envs --provenance` and `explain` compute (`hover.rs`), completion and
//! navigation read the config's JSON Schema and the document
//! (`complete.rs`, `navigate.rs`). Logs go to stderr; stdout is the protocol.

mod complete;
mod diagnose;
mod document;
mod hover;
mod navigate;
mod schema;
mod text;

use std::collections::{BTreeSet, HashMap};
use std::io::{BufReader, Write as _};

use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::{Diagnostic as LspDiagnostic, Url};
use serde_json::{Value, json};

use document::Document;
pub use document::Options;

/// Serve one client on stdin/stdout until it says `exit` or goes away.
pub fn serve(options: Options) -> anyhow::Result<()> {
    let (conn, writer) = stdio();
    let (id, _params) = conn.initialize_start().map_err(|e| {
        anyhow::anyhow!(
            "no LSP session: {e} before `initialize`\n  = help: an editor starts `myhealthctl lsp` (docs/editors.md)"
        )
    })?;
    conn.initialize_finish(id, json!({ "capabilities": capabilities(), "serverInfo": { "name": "myhealthctl", "version": env!("CARGO_PKG_VERSION") } }))?;
    log("initialized");
    let mut server = Server { conn, options, docs: HashMap::new(), dirty: BTreeSet::new() };
    let result = server.run();
    drop(server);
    let _ = writer.join();
    result
}

fn capabilities() -> Value {
    json!({
        "textDocumentSync": { "openClose": true, "change": 1, "save": { "includeText": false } },
        "hoverProvider": true,
        "completionProvider": { "triggerCharacters": [".", "[", "=", " ", "\""] },
        "definitionProvider": true,
        "codeActionProvider": { "codeActionKinds": ["quickfix"] },
    })
}

/// stdin and stdout as a connection. `lsp-server` frames and parses each
/// message; a payload that is not JSON-RPC is logged and skipped (its
/// `Content-Length` was read, so the stream stays in step) rather than
/// ending the session, as `Connection::stdio` would.
fn stdio() -> (Connection, std::thread::JoinHandle<()>) {
    let (server, client) = Connection::memory();
    let Connection { sender: to_server, receiver: from_server } = client;
    std::thread::spawn(move || {
        let mut input = Bounded(BufReader::new(std::io::stdin().lock()));
        loop {
            match Message::read(&mut input) {
                Ok(Some(m)) => {
                    if to_server.send(m).is_err() {
                        return;
                    }
                }
                Ok(None) => return,
                Err(e) if e.kind() == std::io::ErrorKind::InvalidData => log(&format!("skipped a message: {e}")),
                Err(e) => {
                    log(&format!("stdin: {e}"));
                    return;
                }
            }
        }
    });
    let writer = std::thread::spawn(move || {
        let mut out = std::io::stdout().lock();
        for m in from_server {
            if m.write(&mut out).and_then(|()| out.flush()).is_err() {
                return;
            }
        }
    });
    (server, writer)
}

/// The most a message may announce: `lsp-server` allocates the
/// `Content-Length` it reads before reading the body, so a header claiming
/// terabytes would end the process; a config is kilobytes.
const MAX_MESSAGE: usize = 64 << 20;

/// stdin, refusing a `Content-Length` over [`MAX_MESSAGE`] as malformed
/// (lsp-server reads each header line through `read_line`).
struct Bounded<R>(R);

impl<R: std::io::Read> std::io::Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}

impl<R: std::io::BufRead> std::io::BufRead for Bounded<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.0.fill_buf()
    }
    fn consume(&mut self, n: usize) {
        self.0.consume(n)
    }
    fn read_line(&mut self, buf: &mut String) -> std::io::Result<usize> {
        let n = self.0.read_line(buf)?;
        let announced = buf
            .split_once(':')
            .filter(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.trim().parse::<u128>().ok());
        if announced.is_some_and(|len| len > MAX_MESSAGE as u128) {
            let e = format!("a message of {} bytes announced (at most {MAX_MESSAGE})", announced.unwrap_or_default());
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, e));
        }
        Ok(n)
    }
}

fn log(what: &str) {
    crate::output::eprint(&format!("myhealthctl lsp: {what}\n"));
}

struct Server {
    conn: Connection,
    options: Options,
    docs: HashMap<Url, Document>,
    /// Documents changed since their diagnostics were last published.
    dirty: BTreeSet<Url>,
}

/// A request's answer: its result, or a JSON-RPC error (code, message).
type Answer = Result<Value, (ErrorCode, String)>;

impl Server {
    fn run(&mut self) -> anyhow::Result<()> {
        loop {
            // Changes that arrive together are checked once: diagnostics
            // wait until no message is pending.
            let msg = match self.conn.receiver.try_recv() {
                Ok(m) => m,
                Err(_) => {
                    self.publish_dirty();
                    match self.conn.receiver.recv() {
                        Ok(m) => m,
                        Err(_) => return Ok(()),
                    }
                }
            };
            match msg {
                Message::Request(req) => {
                    if req.method == "shutdown" {
                        self.reply(req.id, Ok(Value::Null));
                        return self.await_exit();
                    }
                    let id = req.id.clone();
                    let answer = guarded(|| self.request(req));
                    self.reply(id, answer);
                }
                // `exit` without `shutdown` first: the protocol asks for a failing exit code.
                Message::Notification(n) if n.method == "exit" => anyhow::bail!("`exit` before `shutdown`"),
                Message::Notification(n) => {
                    let method = n.method.clone();
                    if let Err((_, e)) = guarded(|| self.notification(n).map(|()| Value::Null)) {
                        log(&format!("{method}: {e}"));
                    }
                }
                Message::Response(_) => {}
            }
        }
    }

    /// After `shutdown`: only `exit` ends the session; requests are refused.
    fn await_exit(&mut self) -> anyhow::Result<()> {
        for msg in self.conn.receiver.clone() {
            match msg {
                Message::Notification(n) if n.method == "exit" => return Ok(()),
                Message::Request(r) => {
                    self.reply(r.id, Err((ErrorCode::InvalidRequest, "the server is shutting down".into())))
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn reply(&self, id: RequestId, answer: Answer) {
        let response = match answer {
            Ok(v) => Response::new_ok(id, v),
            Err((code, message)) => Response::new_err(id, code as i32, message),
        };
        let _ = self.conn.sender.send(Message::Response(response));
    }

    fn request(&mut self, req: Request) -> Answer {
        match req.method.as_str() {
            "textDocument/hover" => {
                let p: lsp_types::HoverParams = params(req.params)?;
                let at = p.text_document_position_params;
                let Some(doc) = self.docs.get_mut(&at.text_document.uri).filter(|d| d.ours()) else {
                    return Ok(Value::Null);
                };
                Ok(to_json(hover::hover(doc, at.position, &self.options)))
            }
            "textDocument/completion" => {
                let p: lsp_types::CompletionParams = params(req.params)?;
                let at = p.text_document_position;
                let Some(doc) = self.docs.get(&at.text_document.uri).filter(|d| d.ours()) else {
                    return Ok(Value::Null);
                };
                Ok(to_json(complete::complete(&doc.text, at.position)))
            }
            "textDocument/definition" => {
                let p: lsp_types::GotoDefinitionParams = params(req.params)?;
                let at = p.text_document_position_params;
                let Some(doc) = self.docs.get(&at.text_document.uri).filter(|d| d.ours()) else {
                    return Ok(Value::Null);
                };
                Ok(to_json(navigate::definition(&at.text_document.uri, &doc.text, at.position)))
            }
            "textDocument/codeAction" => {
                let p: lsp_types::CodeActionParams = params(req.params)?;
                let Some(doc) = self.docs.get(&p.text_document.uri) else { return Ok(Value::Null) };
                Ok(to_json(diagnose::actions(&p.text_document.uri, &doc.diagnostics, p.range)))
            }
            m => Err((ErrorCode::MethodNotFound, format!("`{m}` is not supported"))),
        }
    }

    fn notification(&mut self, n: Notification) -> Result<(), (ErrorCode, String)> {
        match n.method.as_str() {
            "textDocument/didOpen" => {
                let p: lsp_types::DidOpenTextDocumentParams = params(n.params)?;
                let d = p.text_document;
                self.docs.insert(d.uri.clone(), Document::new(&d.uri, d.text, d.version));
                self.dirty.insert(d.uri);
            }
            "textDocument/didChange" => {
                let p: lsp_types::DidChangeTextDocumentParams = params(n.params)?;
                let uri = p.text_document.uri;
                let Some(doc) = self.docs.get_mut(&uri) else { return Ok(()) };
                // Full sync: the last change is the whole text.
                if let Some(c) = p.content_changes.into_iter().last() {
                    *doc = Document {
                        diagnostics: std::mem::take(&mut doc.diagnostics),
                        ..Document::new(&uri, c.text, p.text_document.version)
                    };
                    self.dirty.insert(uri);
                }
            }
            "textDocument/didClose" => {
                let p: lsp_types::DidCloseTextDocumentParams = params(n.params)?;
                self.docs.remove(&p.text_document.uri);
                self.dirty.remove(&p.text_document.uri);
                self.publish(&p.text_document.uri, Vec::new(), None);
            }
            _ => {}
        }
        Ok(())
    }

    /// Check every changed document and publish what was found.
    fn publish_dirty(&mut self) {
        for uri in std::mem::take(&mut self.dirty) {
            let Some(doc) = self.docs.get_mut(&uri) else { continue };
            if !doc.ours() {
                let version = doc.version;
                self.publish(&uri, Vec::new(), Some(version));
                continue;
            }
            let o = &self.options;
            let found = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                diagnose::check(&doc.project, &doc.text, &o.templates, &o.policy)
            }))
            .unwrap_or_else(|_| vec![diagnose::Found::internal()]);
            let diagnostics = found.iter().map(|f| f.to_lsp(&uri)).collect();
            doc.diagnostics = found;
            let version = doc.version;
            self.publish(&uri, diagnostics, Some(version));
        }
    }

    fn publish(&self, uri: &Url, diagnostics: Vec<LspDiagnostic>, version: Option<i32>) {
        let p = lsp_types::PublishDiagnosticsParams { uri: uri.clone(), diagnostics, version };
        let n = Notification::new("textDocument/publishDiagnostics".into(), p);
        let _ = self.conn.sender.send(Message::Notification(n));
    }
}

fn params<P: serde::de::DeserializeOwned>(v: Value) -> Result<P, (ErrorCode, String)> {
    serde_json::from_value(v).map_err(|e| (ErrorCode::InvalidParams, format!("invalid params: {e}")))
}

fn to_json<T: serde::Serialize>(x: T) -> Value {
    serde_json::to_value(x).unwrap_or(Value::Null)
}

/// Run a handler so that a bug in it is an error answer, not the end of
/// the session (the editor would lose every feature at once).
fn guarded(f: impl FnOnce() -> Answer) -> Answer {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err((ErrorCode::InternalError, "internal error (logged on stderr)".into())))
}
