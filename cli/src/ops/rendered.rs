//! The rendered platform as policy subjects (input 2 of `docs/policy.md`):
//! every Kubernetes object of each environment — the chart as the real Helm
//! renders it with the environment's values, and the ArgoCD manifests —,
//! every Terraform root's variables, every workflow. Each keeps the
//! generated file it came from, so a finding points at that file's line.
//! Only the categories some policy reads are built: Helm runs only for a
//! policy that reads Kubernetes objects.

use std::path::Path;

use anyhow::{Context, bail};
use serde_json::{Map, Value};

use crate::config::Config;
use crate::names::{self, Names};
use crate::ops::manifests::{self, Release};
use crate::policy::input::{TerraformInput, WorkflowInput};
use crate::policy::subject::{Category, Format, Origin, Subject};
use crate::tree::{Tree, WORKFLOWS};

/// How the repository names the rendered files: `generated/…` (as given by
/// `generated`, relative to the working directory) and the workflows directory.
pub struct Shown<'a> {
    pub generated: &'a str,
    pub workflows: &'a str,
}

impl Shown<'_> {
    fn path(&self, tree_path: &str) -> String {
        match tree_path.strip_prefix(WORKFLOWS) {
            Some(f) => format!("{}/{f}", self.workflows.trim_end_matches('/')),
            None => format!("{}/{tree_path}", self.generated.trim_end_matches('/')),
        }
    }

    /// The tree's path of a file as shown (the inverse of `path`).
    fn tree_path(&self, shown: &str) -> Option<String> {
        let under = |dir: &str| shown.strip_prefix(dir.trim_end_matches('/')).and_then(|r| r.strip_prefix('/'));
        match under(self.workflows) {
            Some(f) => Some(format!("{WORKFLOWS}{f}")),
            None => under(self.generated).map(str::to_string),
        }
    }
}

/// The config key behind a line of the rendered platform, for findings
/// about generated files (`policy::findings::Driver`): the file as shown
/// mapped back to the tree, the line tracked back through the render
/// (`explain::driver`); what every environment shares is tracked in the first.
pub struct LineDriver<'a> {
    pub cfg: &'a Config,
    /// The config's source and its name as shown.
    pub text: &'a str,
    pub display: &'a str,
    pub tree: &'a Tree,
    pub shown: Shown<'a>,
    pub render: &'a dyn Fn(&Config) -> anyhow::Result<Tree>,
}

impl LineDriver<'_> {
    pub fn drive(&self, env: &str, file: &str, line: usize) -> Option<(String, String)> {
        let env = match env {
            "" => self.cfg.environments.first()?.name.value.clone(),
            e => e.to_string(),
        };
        let tree_path = self.shown.tree_path(file)?;
        let key = crate::ops::explain::driver::driving_key(
            self.cfg,
            self.text,
            self.display,
            &env,
            self.tree,
            &tree_path,
            line,
            self.render,
        )?;
        Some((env, key))
    }
}

/// The subjects of `tree` (the render of `cfg`) in the categories `wanted` says.
pub fn subjects(
    cfg: &Config,
    tree: &Tree,
    shown: &Shown<'_>,
    wanted: &dyn Fn(Category) -> bool,
) -> anyhow::Result<Vec<Subject>> {
    let mut out = Vec::new();
    if wanted(Category::Terraform) {
        out.extend(terraform(tree, shown)?);
    }
    if wanted(Category::Workflow) {
        out.extend(workflows(tree, shown)?);
    }
    if wanted(Category::Kubernetes) {
        out.extend(argocd(tree, shown)?);
        out.extend(chart(cfg, tree, shown)?);
    }
    // Grouped by environment (the workflows, of none, first), so each
    // environment's context is laid once.
    out.sort_by(|a, b| a.environment.cmp(&b.environment));
    Ok(out)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Each root's `*.tfvars`, parsed.
fn terraform(tree: &Tree, shown: &Shown<'_>) -> anyhow::Result<Vec<Subject>> {
    let mut out = Vec::new();
    for (path, bytes) in tree.iter().filter(|(p, _)| p.starts_with("terraform/") && p.ends_with(".tfvars")) {
        let body = text(bytes);
        let variables: Map<String, Value> =
            hcl::from_str(&body).with_context(|| format!("rendered `{path}` does not parse as HCL"))?;
        let file = shown.path(path);
        let root = file.rsplit_once('/').map_or(file.as_str(), |(d, _)| d).to_string();
        let environment = crate::render::env_of_path(path);
        let input = TerraformInput {
            kind: "terraform".into(),
            environment: environment.clone(),
            root,
            file: file.clone(),
            variables,
        };
        out.push(Subject {
            category: Category::Terraform,
            environment,
            input: serde_json::to_value(input)?,
            origin: Origin::File { name: file, text: body, format: Format::Hcl, under: Some("variables"), lines: None },
        });
    }
    Ok(out)
}

/// Each workflow, parsed.
fn workflows(tree: &Tree, shown: &Shown<'_>) -> anyhow::Result<Vec<Subject>> {
    let mut out = Vec::new();
    for (path, bytes) in
        tree.iter().filter(|(p, _)| p.starts_with(WORKFLOWS) && (p.ends_with(".yml") || p.ends_with(".yaml")))
    {
        let body = text(bytes);
        let workflow: Value =
            serde_yaml_ng::from_str(&body).with_context(|| format!("rendered `{path}` does not parse as YAML"))?;
        let file = shown.path(path);
        let input = WorkflowInput { kind: "workflow".into(), file: file.clone(), workflow };
        out.push(Subject {
            category: Category::Workflow,
            environment: None,
            input: serde_json::to_value(input)?,
            origin: Origin::File { name: file, text: body, format: Format::Yaml, under: Some("workflow"), lines: None },
        });
    }
    Ok(out)
}

/// The documents of a YAML stream with the lines each spans (0-based, end exclusive).
fn documents(body: &str) -> Vec<(std::ops::Range<usize>, &str)> {
    let lines: Vec<(usize, &str)> = body
        .split_inclusive('\n')
        .scan(0, |at, l| {
            let start = *at;
            *at += l.len();
            Some((start, l))
        })
        .collect();
    let mut out = Vec::new();
    let mut first = 0;
    for i in 0..=lines.len() {
        let boundary = i == lines.len() || lines[i].1.trim_end() == "---";
        if boundary {
            if i > first {
                let (start, end) = (lines[first].0, lines[i - 1].0 + lines[i - 1].1.len());
                out.push((first..i, &body[start..end]));
            }
            first = i + 1;
        }
    }
    out
}

/// A Kubernetes object (it has `apiVersion` and `kind`) of a document, its secret data hidden.
fn object(doc: &str) -> Option<Value> {
    let mut v: serde_yaml_ng::Value = serde_yaml_ng::from_str(doc).ok()?;
    if v.get("apiVersion").is_none() || v.get("kind").is_none() {
        return None;
    }
    manifests::hide_secret_data(&mut v);
    serde_json::to_value(v).ok()
}

/// The ArgoCD manifests of each environment.
fn argocd(tree: &Tree, shown: &Shown<'_>) -> anyhow::Result<Vec<Subject>> {
    let mut out = Vec::new();
    for (path, bytes) in tree.iter().filter(|(p, _)| p.starts_with("argocd/") && p.ends_with(".yaml")) {
        let body = text(bytes);
        let file = shown.path(path);
        for (lines, doc) in documents(&body) {
            let Some(input) = object(doc) else { continue };
            out.push(Subject {
                category: Category::Kubernetes,
                environment: crate::render::env_of_path(path),
                input,
                origin: Origin::File {
                    name: file.clone(),
                    text: body.clone(),
                    format: Format::Yaml,
                    under: None,
                    lines: Some(lines),
                },
            });
        }
    }
    Ok(out)
}

/// The chart of each environment as Helm renders it with its values; each
/// object keeps the chart template it came from (Helm's `# Source:` line).
fn chart(cfg: &Config, tree: &Tree, shown: &Shown<'_>) -> anyhow::Result<Vec<Subject>> {
    let scratch = tempfile::tempdir()?;
    manifests::write_helm(tree, scratch.path())?;
    let chart = scratch.path().join(names::CHART_DIR);
    let chart_name =
        Path::new(names::CHART_DIR).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut out = Vec::new();
    for e in &cfg.environments {
        let n = Names::of(cfg, e);
        let (name, namespace) = (n.release(), n.namespace());
        let release = Release {
            chart: &chart,
            name: &name,
            namespace: &namespace,
            values: vec![scratch.path().join(n.values_file())],
        };
        let helm = manifests::template_command(&release);
        let done = helm.output().with_context(|| {
            format!("a policy reads Kubernetes objects, and rendering them needs Helm: cannot run `{}` (install Helm, set MYHEALTHCTL_HELM, or give the policy `input_kinds` without \"kubernetes\")", helm.program())
        })?;
        if !done.status.success() {
            bail!("`{helm}` failed:\n{}", String::from_utf8_lossy(&done.stderr));
        }
        let stdout = text(&done.stdout);
        // Helm names a template once, above its first object: the objects after it come from it too.
        let mut source = "";
        for (_, doc) in documents(&stdout) {
            if let Some(s) = doc.lines().find_map(|l| l.strip_prefix("# Source: ")) {
                source = s.trim();
            }
            let Some(input) = object(doc) else { continue };
            // `myhealth/templates/x.yaml` is `helm/myhealth/templates/x.yaml` of the tree.
            let tree_path = source
                .strip_prefix(&format!("{chart_name}/"))
                .map(|rest| format!("{}/{rest}", names::CHART_DIR))
                .unwrap_or_default();
            let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
            let ns =
                Some(s(&input["metadata"]["namespace"])).filter(|x| !x.is_empty()).unwrap_or_else(|| namespace.clone());
            let object = format!("{} {ns}/{}", s(&input["kind"]), s(&input["metadata"]["name"]));
            let template = tree.get(&tree_path).map(|b| text(b)).unwrap_or_default();
            out.push(Subject {
                category: Category::Kubernetes,
                environment: Some(e.name.value.clone()),
                input,
                origin: Origin::Template { name: shown.path(&tree_path), text: template, object },
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_keep_their_lines() {
        let d = documents("a: 1\n---\nkind: X\napiVersion: v1\n---\n---\nb: 2");
        let got: Vec<(std::ops::Range<usize>, &str)> = d;
        assert_eq!(got, vec![(0..1, "a: 1\n"), (2..4, "kind: X\napiVersion: v1\n"), (6..7, "b: 2")]);
    }
}
