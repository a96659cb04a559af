//! The module dependency graph of an environment, read from its rendered
//! root `main.tf` (so it always matches what Terraform will see): module B
//! depends on module A when B's block refers to `module.A`, directly or
//! through a data source, resource or local value of the root.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::OnceLock;

use regex::Regex;

/// Edges `from → to` meaning "`to` depends on `from`", over module names.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Graph {
    pub modules: BTreeSet<String>,
    pub edges: BTreeSet<(String, String)>,
}

fn re(cell: &'static OnceLock<Regex>, p: &str) -> &'static Regex {
    crate::pattern::re(cell, p)
}

/// Parse the top-level blocks of `terraform fmt`-formatted HCL: a block
/// opens at column 0 and closes with `}` at column 0.
pub fn from_main_tf(text: &str) -> Graph {
    static HEAD: OnceLock<Regex> = OnceLock::new();
    static REF: OnceLock<Regex> = OnceLock::new();
    static LOCAL: OnceLock<Regex> = OnceLock::new();
    let head = re(&HEAD, r#"^(module|data|resource) "([A-Za-z0-9_-]+)"(?: "([A-Za-z0-9_-]+)")? \{"#);
    let refs =
        re(&REF, r"\b(module\.[a-z0-9_]+|data\.[a-z0-9_]+\.[a-z0-9_]+|aws_[a-z0-9_]+\.[a-z0-9_]+|local\.[a-z0-9_]+)\b");
    // A value of a `locals` block starts at its indentation: `  name = …`.
    let local = re(&LOCAL, r"^  ([a-z0-9_]+) += ");
    let mut in_locals = false;

    // Block id (`module.eks`, `data.aws_iam_policy_document.x`, `aws_kms_key.logs`) → ids it refers to.
    let mut blocks: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if line == "locals {" {
            in_locals = true;
            current = None;
            continue;
        }
        if in_locals {
            if line == "}" {
                in_locals = false;
                current = None;
                continue;
            }
            if let Some(c) = local.captures(line) {
                let id = format!("local.{}", &c[1]);
                blocks.entry(id.clone()).or_default();
                current = Some(id);
            }
        }
        if let (false, Some(c)) = (in_locals, head.captures(line)) {
            let id = match (&c[1], c.get(3)) {
                ("module", _) => format!("module.{}", &c[2]),
                ("data", Some(n)) => format!("data.{}.{}", &c[2], n.as_str()),
                (_, Some(n)) => format!("{}.{}", &c[2], n.as_str()),
                _ => continue,
            };
            blocks.entry(id.clone()).or_default();
            current = Some(id);
        } else if line == "}" {
            current = None;
        } else if let Some(id) = &current {
            let found: Vec<String> = refs.captures_iter(line).map(|m| m[1].to_string()).filter(|r| r != id).collect();
            blocks.get_mut(id).expect("block registered").extend(found);
        }
    }

    // The modules each block reaches, following data sources and resources.
    fn reach(
        id: &str,
        blocks: &BTreeMap<String, BTreeSet<String>>,
        seen: &mut BTreeSet<String>,
        out: &mut BTreeSet<String>,
    ) {
        for r in blocks.get(id).into_iter().flatten() {
            if !seen.insert(r.clone()) {
                continue;
            }
            match r.strip_prefix("module.") {
                Some(m) => {
                    out.insert(m.to_string());
                }
                None => reach(r, blocks, seen, out),
            }
        }
    }
    let mut g = Graph::default();
    for id in blocks.keys() {
        if let Some(m) = id.strip_prefix("module.") {
            g.modules.insert(m.to_string());
            let mut deps = BTreeSet::new();
            reach(id, &blocks, &mut BTreeSet::new(), &mut deps);
            for d in deps {
                if d != m {
                    g.edges.insert((d, m.to_string()));
                }
            }
        }
    }
    g
}

impl Graph {
    pub fn mermaid(&self, title: &str) -> String {
        let mut s = format!("---\ntitle: {title}\n---\ngraph LR\n");
        for m in &self.modules {
            let _ = writeln!(s, "  {}[\"{m}\"]", id(m));
        }
        for (a, b) in &self.edges {
            let _ = writeln!(s, "  {} --> {}", id(a), id(b));
        }
        s
    }

    pub fn dot(&self, title: &str) -> String {
        let mut s = format!("digraph \"{title}\" {{\n  rankdir=LR;\n  node [shape=box];\n");
        for m in &self.modules {
            let _ = writeln!(s, "  \"{m}\";");
        }
        for (a, b) in &self.edges {
            let _ = writeln!(s, "  \"{a}\" -> \"{b}\";");
        }
        s.push_str("}\n");
        s
    }
}

fn id(m: &str) -> String {
    m.replace('-', "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_data_sources_between_modules() {
        let tf = "module \"a\" {\n  x = 1\n}\n\ndata \"aws_iam_policy_document\" \"p\" {\n  r = module.a.arn\n}\n\nlocals {\n  policies = {\n    x = data.aws_iam_policy_document.p.json\n  }\n  other = 1\n}\n\nmodule \"b\" {\n  p = local.policies[\"x\"]\n  y = module.c.id\n}\n\nmodule \"c\" {\n}\n";
        let g = from_main_tf(tf);
        assert_eq!(g.modules.iter().cloned().collect::<Vec<_>>(), vec!["a", "b", "c"]);
        assert_eq!(g.edges, BTreeSet::from([("a".into(), "b".into()), ("c".into(), "b".into())]));
        assert!(g.mermaid("t").contains("  a --> b\n"));
    }
}
