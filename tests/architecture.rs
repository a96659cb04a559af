//! The shape of `cli/src`, checked rather than described: the module graph
//! (who refers to whom through `crate::`, `super::`, imported module names
//! and child modules) has no cycle; commands never refer to one another;
//! the lower layers (config, render, the operations) never refer to the
//! commands or the clap tree. `docs/architecture.md` draws these layers.
//!
//! References are read from the token stream of each file (so paths inside
//! macros such as `json!` count too), test modules left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::str::FromStr;

use proc_macro2::{Delimiter, TokenStream, TokenTree};

/// Module path (`config::doc`; the library's root, `lib.rs`, is ""; the
/// binary's, `main.rs`, is "main": each file under its own key) → source text.
fn modules(src: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let rel = p.strip_prefix(src).unwrap().with_extension("");
                let mut parts: Vec<String> = rel.components().map(|c| c.as_os_str().to_string_lossy().into()).collect();
                if parts.len() == 1 && parts[0] == "main" {
                    // The binary's root: a crate of its own, never the library's.
                } else if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
                    parts.pop();
                }
                out.insert(parts.join("::"), std::fs::read_to_string(&p).unwrap());
            }
        }
    }
    out
}

/// Token trees with `#[cfg(test)] mod … { … }` removed.
fn without_tests(ts: TokenStream) -> Vec<TokenTree> {
    let toks: Vec<TokenTree> = ts.into_iter().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if let (TokenTree::Punct(p), Some(TokenTree::Group(g))) = (&toks[i], toks.get(i + 1)) {
            if p.as_char() == '#'
                && g.delimiter() == Delimiter::Bracket
                && g.stream().to_string().replace(' ', "") == "cfg(test)"
            {
                // Skip the attribute and the item it marks, up to its body or `;`.
                let mut j = i + 2;
                while j < toks.len() {
                    match &toks[j] {
                        TokenTree::Group(g) if g.delimiter() == Delimiter::Brace => break,
                        TokenTree::Punct(p) if p.as_char() == ';' => break,
                        _ => j += 1,
                    }
                }
                i = j + 1;
                continue;
            }
        }
        out.push(toks[i].clone());
        i += 1;
    }
    out
}

/// Every path in `toks`: `a::b::c` sequences of identifiers (with `use`
/// groups expanded), recursing into groups.
fn paths(toks: &[TokenTree], out: &mut Vec<Vec<String>>) {
    let mut i = 0;
    while i < toks.len() {
        match &toks[i] {
            TokenTree::Group(g) => {
                let inner: Vec<TokenTree> = without_tests(g.stream());
                paths(&inner, out);
                i += 1;
            }
            // `pub(super)`, `pub(crate)`: a visibility, not a reference.
            TokenTree::Ident(id) if id == "pub" => {
                i += match toks.get(i + 1) {
                    Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis => 2,
                    _ => 1,
                };
            }
            TokenTree::Ident(id) => {
                let (next, found) = path_at(toks, i, vec![id.to_string()]);
                out.extend(found);
                i = next;
            }
            _ => i += 1,
        }
    }
}

/// Read a path starting at the identifier at `i` (already in `prefix`);
/// returns the index after it and the paths (several for `a::{b, c::d}`).
fn path_at(toks: &[TokenTree], i: usize, prefix: Vec<String>) -> (usize, Vec<Vec<String>>) {
    let mut path = prefix;
    let mut j = i + 1;
    loop {
        let sep = matches!((toks.get(j), toks.get(j + 1)), (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b))) if a.as_char() == ':' && b.as_char() == ':');
        if !sep {
            return (j, vec![path]);
        }
        match toks.get(j + 2) {
            Some(TokenTree::Ident(id)) => {
                path.push(id.to_string());
                j += 3;
            }
            Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace => {
                // A `use` group: each comma-separated part continues the prefix.
                let inner: Vec<TokenTree> = g.stream().into_iter().collect();
                let mut all = Vec::new();
                for part in inner.split(|t| matches!(t, TokenTree::Punct(p) if p.as_char() == ',')) {
                    match part.first() {
                        Some(TokenTree::Ident(id)) => {
                            let mut p = path.clone();
                            p.push(id.to_string());
                            all.extend(path_at(part, 0, p).1);
                        }
                        _ => all.push(path.clone()),
                    }
                }
                return (j + 3, all);
            }
            _ => return (j, vec![path]),
        }
    }
}

/// The module graph: module → modules it refers to (itself and the crate root left out).
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mods = modules(src);
    let known: BTreeSet<String> = mods.keys().cloned().collect();
    let mut edges = BTreeMap::new();
    for (m, text) in &mods {
        let toks = without_tests(TokenStream::from_str(text).unwrap_or_else(|e| panic!("{m}: {e}")));
        let mut found = Vec::new();
        paths(&toks, &mut found);
        let here: Vec<String> = if m.is_empty() { vec![] } else { m.split("::").map(String::from).collect() };
        let resolve = |segs: &[String], aliases: &BTreeMap<String, Vec<String>>| -> Option<String> {
            let (mut full, rest): (Vec<String>, &[String]) = match segs.first().map(String::as_str) {
                Some("crate") => (vec![], &segs[1..]),
                Some("super") => {
                    let mut base = here.clone();
                    base.pop();
                    let mut rest = &segs[1..];
                    while rest.first().map(String::as_str) == Some("super") {
                        base.pop();
                        rest = &rest[1..];
                    }
                    (base, rest)
                }
                Some("self") => (here.clone(), &segs[1..]),
                Some(first) if aliases.contains_key(first) => (aliases[first].clone(), &segs[1..]),
                Some(first) if segs.len() > 1 => {
                    // A child module named by its bare name.
                    let mut child = here.clone();
                    child.push(first.to_string());
                    if !known.contains(&child.join("::")) {
                        return None;
                    }
                    (child, &segs[1..])
                }
                _ => return None,
            };
            full.extend(rest.iter().filter(|s| *s != "self").cloned());
            (0..=full.len()).rev().map(|k| full[..k].join("::")).find(|c| known.contains(c))
        };
        // Names a `use` brings in that are modules (`use crate::config::doc;`, `use super::plan::{self, …}`).
        let mut aliases = BTreeMap::new();
        for p in &found {
            let mut p = p.clone();
            if p.last().map(String::as_str) == Some("self") {
                p.pop();
            }
            if let Some(target) = resolve(&p, &BTreeMap::new()) {
                if p.len() > 1 && target.rsplit("::").next() == p.last().map(String::as_str) {
                    aliases.insert(p.last().unwrap().clone(), target.split("::").map(String::from).collect());
                }
            }
        }
        let set: BTreeSet<String> =
            found.iter().filter_map(|p| resolve(p, &aliases)).filter(|t| t != m && !t.is_empty()).collect();
        edges.insert(m.clone(), set);
    }
    edges
}

/// Strongly connected components with more than one module (Tarjan).
fn cycles(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct T<'a> {
        g: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        let n = t.index.len();
        t.index.insert(v, n);
        t.low.insert(v, n);
        t.stack.push(v);
        t.on.insert(v);
        for w in t.g.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !t.index.contains_key(w) {
                visit(t, w);
                let l = t.low[v].min(t.low[w]);
                t.low.insert(v, l);
            } else if t.on.contains(w) {
                let l = t.low[v].min(t.index[w]);
                t.low.insert(v, l);
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            loop {
                let w = t.stack.pop().unwrap();
                t.on.remove(w);
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.out.push(comp);
            }
        }
    }
    let mut t = T { g, index: BTreeMap::new(), low: BTreeMap::new(), stack: vec![], on: BTreeSet::new(), out: vec![] };
    for v in g.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    t.out
}

fn src() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn the_module_graph_has_no_cycle() {
    let g = graph(&src());
    let c = cycles(&g);
    assert!(c.is_empty(), "import cycles in cli/src: {c:#?}");
}

/// References against the layers in the module graph `g`.
fn wrong_references(g: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let layer = |m: &str| m.split("::").next().unwrap_or_default().to_string();
    let mut wrong = Vec::new();
    for (m, targets) in g {
        for t in targets {
            let (from, to) = (layer(m), layer(t));
            // Commands are thin: none refers to another.
            if from == "commands" && to == "commands" && m != "commands" && t != "commands" {
                wrong.push(format!("{m} → {t}"));
            }
            // Below the commands nothing refers up to them or to the clap tree
            // (the library's root only re-exports `cli::run` for `main.rs`).
            let root_runs_cli = m.is_empty() && t == "cli";
            if !["cli", "commands", "main"].contains(&from.as_str())
                && ["cli", "commands"].contains(&to.as_str())
                && !root_runs_cli
            {
                wrong.push(format!("{} → {t}", if m.is_empty() { "lib.rs" } else { m }));
            }
            // The model and the renderer know nothing of the operations.
            if ["config", "render", "names", "diagnostics", "tree"].contains(&from.as_str()) && to == "ops" {
                wrong.push(format!("{m} → {t}"));
            }
        }
    }
    wrong
}

#[test]
fn layers_refer_only_downwards() {
    let g = graph(&src());
    assert!(g.contains_key("") && g.contains_key("main"), "lib.rs and main.rs each under its own key: {:?}", g.keys());
    let wrong = wrong_references(&g);
    assert!(wrong.is_empty(), "references against the layers: {wrong:#?}");
}

/// `lib.rs` is read under its own key: a violation planted there is found,
/// whatever order the directory lists `lib.rs` and `main.rs` in.
#[test]
fn a_violation_in_lib_rs_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path();
    std::fs::create_dir_all(s.join("commands")).unwrap();
    std::fs::write(s.join("main.rs"), "fn main() { myhealthctl::run() }").unwrap();
    std::fs::write(s.join("cli.rs"), "pub fn run() {}").unwrap();
    std::fs::write(s.join("commands/mod.rs"), "pub mod x;").unwrap();
    std::fs::write(s.join("commands/x.rs"), "pub fn run() {}").unwrap();
    std::fs::write(
        s.join("lib.rs"),
        "mod cli; mod commands;\npub use cli::run;\npub fn y() { crate::commands::x::run() }",
    )
    .unwrap();
    let g = graph(s);
    assert_eq!(wrong_references(&g), vec!["lib.rs → commands::x".to_string()], "{g:#?}");
    std::fs::write(s.join("lib.rs"), "mod cli; mod commands;\npub use cli::run;").unwrap();
    assert!(wrong_references(&graph(s)).is_empty(), "re-exporting `cli::run` is the root's job");
}

/// The checks above can fail: a planted cycle and a command calling another are found.
#[test]
fn the_checks_find_a_planted_cycle() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path();
    std::fs::create_dir_all(s.join("commands")).unwrap();
    std::fs::write(s.join("lib.rs"), "pub mod a; pub mod b; pub mod commands;").unwrap();
    std::fs::write(s.join("a.rs"), "use crate::b;\npub fn f() { b::g() }").unwrap();
    std::fs::write(s.join("b.rs"), "pub fn g() { let _ = serde_json::json!({ \"x\": crate::a::f() }); }").unwrap();
    std::fs::write(s.join("commands/mod.rs"), "pub mod x; pub mod y;").unwrap();
    std::fs::write(s.join("commands/x.rs"), "use super::y::{self, Y};\npub fn run() { y::run() }").unwrap();
    std::fs::write(
        s.join("commands/y.rs"),
        "pub(super) struct Y; pub fn run() {}\n#[cfg(test)]\nmod tests { use super::super::x; }",
    )
    .unwrap();
    let g = graph(s);
    assert_eq!(cycles(&g), vec![vec!["a".to_string(), "b".to_string()]], "{g:#?}");
    assert!(g["commands::x"].contains("commands::y"), "{g:#?}");
    assert!(!g["commands::y"].contains("commands::x"), "test modules are left out: {g:#?}");
    assert!(!g["commands::y"].contains("commands"), "`pub(super)` is no reference: {g:#?}");
}
