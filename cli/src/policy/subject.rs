//! Subjects: what a policy is evaluated over — one `input` document, its
//! category (which of the three inputs it belongs to), the environment it
//! is about, and where it came from, so a finding about it can be pointed
//! back at a line: a config key's line, or a line of a generated file.
//! Which categories a package reads is its own choice (`input_kinds`,
//! `engine::Policies::reads`); the shapes are documented in
//! `docs/policy.md` with a JSON Schema each (`input::schemas`).

use std::fmt;

use serde::Serialize;
use serde_json::Value;

/// The categories of input, as a package's `input_kinds` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    /// Input 1: one environment of the resolved config (`input.kind == "config"`).
    Config,
    /// Input 2: a Kubernetes object of an environment, as Helm renders the
    /// chart or as the ArgoCD manifests hold it — the object itself, as
    /// conftest gives a manifest (`input.kind == "Deployment"` …).
    Kubernetes,
    /// Input 2: a Terraform root's variables (`input.kind == "terraform"`).
    Terraform,
    /// Input 2: a GitHub workflow (`input.kind == "workflow"`).
    Workflow,
    /// Input 3: an environment's plan, `terraform show -json` and its cost (`input.kind == "plan"`).
    Plan,
}

impl Category {
    pub const ALL: [Category; 5] =
        [Category::Config, Category::Kubernetes, Category::Terraform, Category::Workflow, Category::Plan];

    pub fn name(self) -> &'static str {
        match self {
            Category::Config => "config",
            Category::Kubernetes => "kubernetes",
            Category::Terraform => "terraform",
            Category::Workflow => "workflow",
            Category::Plan => "plan",
        }
    }

    pub fn parse(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.name() == s)
    }

    /// Whether it comes from the rendered platform (input 2).
    pub fn rendered(self) -> bool {
        matches!(self, Category::Kubernetes | Category::Terraform | Category::Workflow)
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a file's text is laid out, for finding the line of a path in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `terraform.tfvars`: `name = value`, objects in braces.
    Hcl,
    Yaml,
}

/// Where a subject came from.
#[derive(Debug, Clone)]
pub enum Origin {
    /// The config: a finding's `key` is a key of the environment.
    Config,
    /// A generated file (named as the repository holds it): a finding's
    /// `path` (below `under`, the part of the input that is the file) is
    /// looked up in its text — in `lines` of it (0-based, end exclusive)
    /// when the input is one document of a multi-document YAML file.
    File {
        name: String,
        text: String,
        format: Format,
        under: Option<&'static str>,
        lines: Option<std::ops::Range<usize>>,
    },
    /// A Kubernetes object Helm rendered from a chart template of the
    /// generated tree (`name`, its text `text`); `object` is `Kind ns/name`.
    Template { name: String, text: String, object: String },
    /// A plan file given to `plan`/`diff`.
    Plan { name: String },
}

/// One input document and where it came from.
#[derive(Debug, Clone)]
pub struct Subject {
    pub category: Category,
    /// The environment it is about (`None`: the workflows, which every environment shares).
    pub environment: Option<String>,
    pub input: Value,
    pub origin: Origin,
}

/// The 1-based line of `path` (dotted, list items by index) in `text`:
/// each segment is looked for below the line of the one before it, deeper
/// indented (a YAML key `seg:`, a list item `- ` by count, an HCL
/// attribute `seg =` or block `seg {`). Where a segment cannot be found,
/// the line of the deepest one that was (the path's nearest enclosing
/// line); `None` when not even the first was.
pub fn line_of(text: &str, format: Format, path: &[String]) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let indent = |l: &str| l.len() - l.trim_start().len();
    // A YAML list item's keys sit two deeper than its dash.
    let keyed = |l: &str| if l.trim_start().starts_with("- ") { indent(l) + 2 } else { indent(l) };
    let blank = |l: &str| l.trim().is_empty() || l.trim_start().starts_with('#');
    let (mut found, mut from, mut base): (Option<usize>, usize, Option<usize>) = (None, 0, None);
    for seg in path {
        // The block below the last hit: lines deeper than it (the whole file at first).
        let end = base.map_or(lines.len(), |b| {
            let start = if found == Some(from) { from + 1 } else { from };
            // A key's list may sit at the key's own indentation (`key:\n- item`).
            let item_of_key = found != Some(from);
            (start..lines.len())
                .find(|&j| {
                    let l = lines[j];
                    !blank(l)
                        && (indent(l) < b || (indent(l) == b && !(item_of_key && l.trim_start().starts_with("- "))))
                })
                .unwrap_or(lines.len())
        });
        let scope: Vec<usize> = (from..end).filter(|&i| !blank(lines[i])).collect();
        let hit = if let Ok(n) = seg.parse::<usize>() {
            let dash =
                scope.iter().copied().find(|&i| lines[i].trim_start().starts_with("- ")).map(|i| indent(lines[i]));
            scope
                .iter()
                .copied()
                .filter(|&i| lines[i].trim_start().starts_with("- ") && Some(indent(lines[i])) == dash)
                .nth(n)
        } else {
            let child = scope.first().map(|&i| keyed(lines[i]));
            scope.iter().copied().find(|&i| {
                let body = lines[i].trim_start().trim_start_matches("- ");
                let quoted =
                    body.strip_prefix('"').and_then(|r| r.strip_prefix(seg.as_str())).and_then(|r| r.strip_prefix('"'));
                let rest = quoted.or_else(|| body.strip_prefix(seg.as_str())).map(str::trim_start);
                Some(keyed(lines[i])) == child
                    && match format {
                        Format::Yaml => rest.is_some_and(|r| r.starts_with(':')),
                        Format::Hcl => rest.is_some_and(|r| r.starts_with('=') || r.starts_with('{')),
                    }
            })
        };
        let Some(i) = hit else { break };
        found = Some(i);
        if seg.parse::<usize>().is_ok() {
            // The item's own line holds its first key.
            base = Some(indent(lines[i]));
            from = i;
        } else {
            base = Some(keyed(lines[i]));
            from = i + 1;
        }
    }
    found.map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Vec<String> {
        s.split('.').map(str::to_string).collect()
    }

    #[test]
    fn yaml_paths_resolve_to_their_line() {
        let y = "a: 1\nspec:\n  template:\n    spec:\n      containers:\n        - name: x\n          image: a\n        - name: y\n          image: b\n  other: 2\n";
        assert_eq!(line_of(y, Format::Yaml, &p("spec.template.spec.containers.1.image")), Some(9));
        assert_eq!(line_of(y, Format::Yaml, &p("spec.template.spec.containers.0.image")), Some(7));
        assert_eq!(line_of(y, Format::Yaml, &p("spec.other")), Some(10));
        // The nearest enclosing line when the leaf is not written.
        assert_eq!(line_of(y, Format::Yaml, &p("spec.template.nope")), Some(3));
        assert_eq!(line_of(y, Format::Yaml, &p("nope")), None);
    }

    #[test]
    fn hcl_paths_resolve_to_their_line() {
        let h = "region = \"us-east-1\"\nnode_groups = {\n  general = {\n    min_size = 1\n  }\n}\nmin_size = 3\n";
        assert_eq!(line_of(h, Format::Hcl, &p("node_groups.general.min_size")), Some(4));
        assert_eq!(line_of(h, Format::Hcl, &p("min_size")), Some(7));
        assert_eq!(line_of(h, Format::Hcl, &p("region")), Some(1));
    }
}
