//! Language server benchmark (issue #27): the time from a change of the
//! default `myhealth.toml` to its diagnostics, as an editor sees it — the
//! `myhealthctl lsp` process, `didChange` written to its stdin, the
//! `publishDiagnostics` of that version read from its stdout (framing by
//! `lsp-server`, the crate the server uses) — against the floor of a plain
//! `validate` in-process (parse, check, render; no policies) measured in the
//! same run. The server does that same check plus the project's Rego
//! policies (`policy/`), and the protocol around it.
//!
//! Run: `cargo bench -p myhealthctl --bench lsp`. Goal: ≤ 100 ms a change.

use std::io::{BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use lsp_server::{Message, Notification, Request, RequestId};
use serde_json::{Value, json};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

struct Server {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Server {
    fn start(root: &std::path::Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_myhealthctl"))
            .arg("lsp")
            .current_dir(root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("myhealthctl lsp starts");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Server { child, stdin, stdout }
    }

    fn send(&mut self, m: Message) {
        m.write(&mut self.stdin).unwrap();
        self.stdin.flush().unwrap();
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(Message::Notification(Notification::new(method.into(), params)));
    }

    fn read(&mut self) -> Message {
        Message::read(&mut self.stdout).unwrap().expect("the server answers")
    }

    /// Read until the diagnostics of `version` of `uri`; how many there were.
    fn diagnostics(&mut self, uri: &str, version: i32) -> usize {
        loop {
            if let Message::Notification(n) = self.read() {
                if n.method == "textDocument/publishDiagnostics"
                    && n.params["uri"] == uri
                    && n.params["version"] == version
                {
                    return n.params["diagnostics"].as_array().map_or(0, Vec::len);
                }
            }
        }
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs it once, quickly.
    let quick = !std::env::args().any(|a| a == "--bench");
    let iters = if quick { 3 } else { 100 };
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
    let path = root.join("myhealth.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let uri = format!("file://{}", path.display());

    // The floor: validate's check in-process (load, every built-in check, render).
    let opts = myhealthctl::Options { only_envs: vec![], config_name: "myhealth.toml".into() };
    let templates = myhealthctl::Templates::embedded();
    let validate = || {
        let source = myhealthctl::Source { name: "myhealth.toml".into(), text: text.clone() };
        let cfg = myhealthctl::load_config(source).expect("the default config is valid");
        myhealthctl::render(&cfg, &templates, &opts).unwrap()
    };
    validate();
    let floor = median(
        (0..iters)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(validate());
                t.elapsed()
            })
            .collect(),
    );

    let mut s = Server::start(&root);
    s.send(Message::Request(Request::new(RequestId::from(1), "initialize".into(), json!({"capabilities": {}}))));
    let _ = s.read();
    s.notify("initialized", json!({}));
    s.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "toml", "version": 1, "text": text}}),
    );
    let found = s.diagnostics(&uri, 1);
    let mut times = Vec::with_capacity(iters);
    for i in 0..iters {
        let version = i as i32 + 2;
        // A comment typed at the end: the whole config is checked again.
        let changed = format!("{text}# edit {i}\n");
        let t = Instant::now();
        s.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": changed}]}),
        );
        assert_eq!(s.diagnostics(&uri, version), found, "the same findings after a comment");
        times.push(t.elapsed());
    }
    // Hover on `rds.instance_class` of prod: the first after a change runs
    // `explain` (two renders per environment), the next is kept.
    let line = text[..text.find("[environments.prod.rds]").unwrap()].lines().count() + 1;
    let hover = |s: &mut Server, id: i32| {
        let at = json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": 3}});
        let t = Instant::now();
        s.send(Message::Request(Request::new(RequestId::from(id), "textDocument/hover".into(), at)));
        loop {
            if let Message::Response(r) = s.read() {
                assert!(
                    r.result.is_some_and(|v| v.to_string().contains("What it drives")),
                    "hover of rds.instance_class"
                );
                return t.elapsed();
            }
        }
    };
    let (mut cold, mut warm) = (Vec::new(), Vec::new());
    for i in 0..iters.min(20) {
        let version = (iters + i) as i32 + 2;
        s.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": format!("{text}# hover {i}\n")}]}),
        );
        s.diagnostics(&uri, version);
        cold.push(hover(&mut s, 100 + 2 * i as i32));
        warm.push(hover(&mut s, 101 + 2 * i as i32));
    }
    s.send(Message::Request(Request::new(RequestId::from(2), "shutdown".into(), Value::Null)));
    let _ = s.read();
    s.notify("exit", Value::Null);
    let _ = s.child.wait();

    let change = median(times);
    let ratio = change.as_secs_f64() / floor.as_secs_f64();
    println!("myhealthctl lsp, default myhealth.toml ({found} diagnostics)");
    println!("  didChange → publishDiagnostics (the server process)   {:>10}  (median of {iters})", ms(change));
    println!("  floor: validate in-process (load, checks, render)      {:>10}  (median of {iters})", ms(floor));
    println!("  ratio                                                 {ratio:>9.2}×");
    let n = cold.len();
    println!("  hover rds.instance_class, first after a change (explain) {:>8}  (median of {n})", ms(median(cold)));
    println!("  hover rds.instance_class, again                        {:>10}  (median of {n})", ms(median(warm)));
    if cfg!(debug_assertions) || quick {
        println!("  (unoptimised or quick run: no goal checked)");
    } else {
        let ok = change.as_secs_f64() * 1000.0 <= 100.0;
        println!("  goal ≤ 100 ms: {}", if ok { "met" } else { "MISSED" });
    }
}
