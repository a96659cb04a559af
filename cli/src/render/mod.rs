//! The render engine: templates (embedded from `templates/`, optionally
//! overlaid by `--templates DIR`) + one typed context per output family →
//! an in-memory `Tree`. `.j2` files are rendered with minijinja, anything
//! else is copied behind the generated header (`.j2` only where something is
//! rendered: the Terraform modules' `main/variables/outputs.tf` are static). The one family whose output uses `{{ }}` itself (GitHub's
//! `${{ }}`) uses the bracket syntax `[[ ]]`/`[% %]`; the Helm chart's own Go
//! templates are copied, not rendered.

pub mod argocd;
pub mod ci;
pub mod context;
pub mod hcl;
pub mod helm;
pub mod policy;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context as _, Result, anyhow, bail};
use include_dir::{Dir, include_dir};
use minijinja::syntax::SyntaxConfig;
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};

use crate::config::Config;
use crate::config::model::Environment as Env;
use crate::tree::Tree;

static EMBEDDED: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../templates");

use crate::names::{ACCESS_ROOT, ENV_ARGOCD, ENV_PLACEHOLDER, ENV_ROOT, ENV_VALUES};

/// The template set: relative path → bytes.
#[derive(Clone)]
pub struct Templates {
    files: BTreeMap<String, Cow<'static, [u8]>>,
}

impl Templates {
    /// The templates built into the binary.
    pub fn embedded() -> Self {
        let mut files = BTreeMap::new();
        collect_embedded(&EMBEDDED, &mut files);
        Templates { files }
    }

    /// The built-in templates with `dir` laid over them: a file there
    /// replaces the built-in one of the same path, or adds a new one.
    pub fn with_overrides(dir: &Path) -> Result<Self> {
        if !dir.is_dir() {
            bail!("templates directory `{}` does not exist", dir.display());
        }
        let mut t = Self::embedded();
        for (path, bytes) in crate::tree::read_dir(dir)? {
            t.files.insert(path, Cow::Owned(bytes));
        }
        Ok(t)
    }

    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }
}

fn collect_embedded(dir: &'static Dir<'static>, out: &mut BTreeMap<String, Cow<'static, [u8]>>) {
    for f in dir.files() {
        let p = f.path().to_string_lossy().replace('\\', "/");
        out.insert(p, Cow::Borrowed(f.contents()));
    }
    for d in dir.dirs() {
        collect_embedded(d, out);
    }
}

/// Template delimiters.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Syntax {
    /// `{{ }}`, `{% %}`, `{# #}`.
    Jinja,
    /// `[[ ]]`, `[% %]`, `[# #]`, for outputs that use `{{ }}` themselves.
    Bracket,
}

/// Rendered once per run or once per environment.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Scope {
    Project,
    Environment,
}

type ProjectCtx = fn(&Config) -> Value;
type EnvCtx = fn(&Config, &Env) -> Value;

#[derive(Clone, Copy)]
enum ContextFn {
    Project(ProjectCtx),
    Environment(EnvCtx),
}

/// A family of outputs: every template under `prefix` shares a context type and syntax.
struct Family {
    prefix: &'static str,
    syntax: Syntax,
    context: ContextFn,
}

impl Family {
    fn scope(&self) -> Scope {
        match self.context {
            ContextFn::Project(_) => Scope::Project,
            ContextFn::Environment(_) => Scope::Environment,
        }
    }
}

fn families() -> &'static [Family] {
    use ContextFn::*;
    const F: &[Family] = &[
        Family { prefix: ENV_ROOT, syntax: Syntax::Jinja, context: Environment(context::terraform_env::terraform_env) },
        Family {
            prefix: ACCESS_ROOT,
            syntax: Syntax::Jinja,
            context: Environment(context::terraform_access::terraform_access),
        },
        Family { prefix: "terraform/modules/", syntax: Syntax::Jinja, context: Project(context::terraform_shared) },
        Family { prefix: "terraform/bootstrap/", syntax: Syntax::Jinja, context: Project(context::terraform_shared) },
        Family { prefix: ENV_VALUES, syntax: Syntax::Jinja, context: Environment(helm::env_context) },
        Family { prefix: ENV_ARGOCD, syntax: Syntax::Jinja, context: Environment(argocd::context) },
        Family { prefix: "helm/myhealth/", syntax: Syntax::Jinja, context: Project(helm::chart_context) },
        Family { prefix: "README.md", syntax: Syntax::Jinja, context: Project(context::index) },
        // Written to `ci.workflows_dir`, not under `generated/` (see `tree::WORKFLOWS`).
        Family { prefix: "workflows/", syntax: Syntax::Bracket, context: Project(ci::context) },
    ];
    F
}

/// Which environment a rendered path belongs to, if any (e.g.
/// `terraform/envs/dev/main.tf` → `dev`). Works for paths of environments
/// that no longer exist, so diffs can group removed files too.
pub fn env_of_path(path: &str) -> Option<String> {
    families().iter().filter(|f| f.scope() == Scope::Environment).find_map(|f| {
        let (before, after) = f.prefix.split_once(ENV_PLACEHOLDER)?;
        let rest = path.strip_prefix(before)?;
        // `after` starts with `/` for directory families or is a file suffix.
        let end = if after.is_empty() { rest.len() } else { rest.find(&after[..1])? };
        let name = &rest[..end];
        (!name.is_empty() && !name.contains('/') && rest[end..].starts_with(after.trim_end_matches('/')))
            .then(|| name.to_string())
    })
}

/// A per-environment path with its environment shown as `<env>`
/// (`helm/values-dev.yaml` → `helm/values-<env>.yaml`): how the review
/// names one file of every environment. Other paths are returned as given.
pub fn env_template_of(path: &str, env: &str) -> String {
    families()
        .iter()
        .filter(|f| f.scope() == Scope::Environment)
        .find_map(|f| {
            let rest = path.strip_prefix(&crate::names::env_path(f.prefix, env))?;
            Some(format!("{}{rest}", f.prefix.replace(ENV_PLACEHOLDER, "<env>")))
        })
        .unwrap_or_else(|| path.to_string())
}

/// Options of one render.
#[derive(Default, Clone)]
pub struct Options {
    /// Only these environments (empty = all).
    pub only_envs: Vec<String>,
    /// The config file's name, for the "generated from" header.
    pub config_name: String,
}

/// The header that marks a file as generated, in the comment syntax of its
/// format; `None` for formats without comments (JSON).
pub fn header_for(path: &str, config_name: &str) -> Option<String> {
    let text = format!(
        "{} from {config_name} — do not edit; change {config_name} and run `myhealthctl render`",
        crate::tree::MARK
    );
    let name = path.rsplit('/').next().unwrap_or(path);
    let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    // Helm renders its chart's templates (NOTES.txt too): a template comment
    // keeps the header out of the manifests.
    if path.starts_with("helm/") && path.contains("/templates/") {
        return Some(format!("{{{{- /* {text} */ -}}}}\n"));
    }
    match ext {
        "tf" | "tfvars" | "hcl" | "yml" | "yaml" | "toml" | "sh" | "helmignore" | "txt" | "gitignore" => {
            Some(format!("# {text}\n"))
        }
        "md" => Some(format!("<!-- {text} -->\n")),
        "tpl" => Some(format!("{{{{/* {text} */}}}}\n")),
        _ if name == ".helmignore" || name == ".gitignore" => Some(format!("# {text}\n")),
        _ => None,
    }
}

fn make_env(syntax: Syntax) -> Result<Environment<'static>> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    let mut b = SyntaxConfig::builder();
    if syntax == Syntax::Bracket {
        b.block_delimiters("[%", "%]").variable_delimiters("[[", "]]").comment_delimiters("[#", "#]");
    }
    b.trim_blocks(true).lstrip_blocks(true).keep_trailing_newline(true);
    env.set_syntax(b.build().map_err(|e| anyhow!("template syntax: {e}"))?);
    env.add_filter("yaml", |v: Value| -> Result<String, minijinja::Error> {
        serde_yaml_ng::to_string(&to_json(&v)?)
            .map(|y| y.trim_end().to_string())
            .map_err(|e| minijinja::Error::new(minijinja::ErrorKind::BadSerialization, e.to_string()))
    });
    env.add_filter("hcl", |v: Value, indent: Option<usize>| -> Result<String, minijinja::Error> {
        Ok(hcl::value(&to_json(&v)?, indent.unwrap_or(0)))
    });
    env.add_filter("hcl_attrs", |v: Value, indent: Option<usize>| -> Result<String, minijinja::Error> {
        let json = to_json(&v)?;
        let attrs: Vec<(String, serde_json::Value)> = match json {
            serde_json::Value::Object(m) => m.into_iter().collect(),
            _ => {
                return Err(minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, "hcl_attrs needs a map"));
            }
        };
        Ok(hcl::attrs_body(&attrs, indent.unwrap_or(0)))
    });
    // Attributes whose values are already HCL expressions (strings taken verbatim).
    env.add_filter("hcl_raw_attrs", |v: Value, indent: Option<usize>| -> Result<String, minijinja::Error> {
        let attrs: Vec<(String, String)> = match to_json(&v)? {
            serde_json::Value::Object(m) => m
                .into_iter()
                .map(|(k, v)| (k, v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
                .collect(),
            _ => {
                return Err(minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, "hcl_raw_attrs needs a map"));
            }
        };
        Ok(hcl::raw_attrs(&attrs, indent.unwrap_or(0)).trim_end().to_string())
    });
    Ok(env)
}

fn to_json(v: &Value) -> Result<serde_json::Value, minijinja::Error> {
    serde_json::to_value(v).map_err(|e| minijinja::Error::new(minijinja::ErrorKind::BadSerialization, e.to_string()))
}

/// Render the whole tree for `cfg`.
pub fn render(cfg: &Config, templates: &Templates, opts: &Options) -> Result<Tree> {
    let fams = families();
    let mut envs = [make_env(Syntax::Jinja)?, make_env(Syntax::Bracket)?];
    // Sort templates into families, compile each `.j2` once.
    let mut jobs: Vec<(usize, &str, &[u8])> = Vec::new();
    for (path, bytes) in &templates.files {
        let fam = fams
            .iter()
            .enumerate()
            .filter(|(_, f)| path.starts_with(f.prefix))
            .max_by_key(|(_, f)| f.prefix.len())
            .map(|(i, _)| i)
            .ok_or_else(|| anyhow!("template `{path}` belongs to no output family; see docs/architecture.md"))?;
        if path.ends_with(".j2") {
            let source = std::str::from_utf8(bytes).with_context(|| format!("template `{path}` is not UTF-8"))?;
            let env = &mut envs[(fams[fam].syntax == Syntax::Bracket) as usize];
            env.add_template_owned(path.clone(), source.to_string()).map_err(|e| template_error(path, e))?;
        }
        jobs.push((fam, path, bytes));
    }

    let selected: Vec<&Env> = cfg
        .environments
        .iter()
        .filter(|e| opts.only_envs.is_empty() || opts.only_envs.contains(&e.name.value))
        .collect();
    let mut contexts: BTreeMap<(usize, Option<usize>), Value> = BTreeMap::new();
    let mut tree = Tree::new();
    for (fam, path, bytes) in jobs {
        let family = &fams[fam];
        let targets: Vec<Option<usize>> = match family.scope() {
            Scope::Project => vec![None],
            Scope::Environment => (0..selected.len()).map(Some).collect(),
        };
        for target in targets {
            let dest = match target {
                Some(i) => path.replace(ENV_PLACEHOLDER, &selected[i].name.value),
                None => path.to_string(),
            };
            let contents = match dest.strip_suffix(".j2") {
                Some(d) => {
                    let ctx = contexts.entry((fam, target)).or_insert_with(|| match (family.context, target) {
                        (ContextFn::Project(f), _) => f(cfg),
                        (ContextFn::Environment(f), Some(i)) => f(cfg, selected[i]),
                        (ContextFn::Environment(_), None) => {
                            unreachable!("environment family without environment")
                        }
                    });
                    let env = &envs[(family.syntax == Syntax::Bracket) as usize];
                    let tmpl = env.get_template(path).map_err(|e| template_error(path, e))?;
                    let body = tmpl.render(ctx.clone()).map_err(|e| template_error(path, e))?;
                    // A template that renders to nothing (e.g. no services to
                    // build) produces no file.
                    if body.trim().is_empty() {
                        continue;
                    }
                    let mut text = header_for(d, &opts.config_name).unwrap_or_default();
                    text.push_str(body.trim_end());
                    text.push('\n');
                    (d.to_string(), text.into_bytes())
                }
                // Copied as is, behind the generated header where the format has comments.
                None => match header_for(&dest, &opts.config_name) {
                    Some(h) => (dest, [h.as_bytes(), bytes].concat()),
                    None => (dest, bytes.to_vec()),
                },
            };
            if tree.insert(contents.0.clone(), contents.1).is_some() {
                bail!("two templates render to `{}`", contents.0);
            }
        }
    }
    Ok(tree)
}

fn template_error(path: &str, e: minijinja::Error) -> anyhow::Error {
    let mut msg = format!("template `{path}`");
    if let Some(line) = e.line() {
        msg.push_str(&format!(" line {line}"));
    }
    msg.push_str(&format!(": {}", e.detail().unwrap_or(&e.kind().to_string())));
    if let Some(src) = std::error::Error::source(&e) {
        msg.push_str(&format!(" ({src})"));
    }
    anyhow!(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_of_path_matches_family_patterns() {
        assert_eq!(env_of_path("terraform/envs/dev/main.tf").as_deref(), Some("dev"));
        assert_eq!(env_of_path("terraform/envs/qa-2/x/y.tf").as_deref(), Some("qa-2"));
        assert_eq!(env_of_path("README.md"), None);
        assert_eq!(env_of_path("terraform/modules/eks/main.tf"), None);
    }

    #[test]
    fn headers_follow_comment_syntax() {
        assert!(
            header_for("a/main.tf", "myhealth.toml")
                .unwrap()
                .starts_with("# generated by myhealthctl from myhealth.toml")
        );
        assert!(header_for("README.md", "x.toml").unwrap().starts_with("<!-- "));
        assert!(header_for("t/_helpers.tpl", "x.toml").unwrap().starts_with("{{/* "));
        assert_eq!(header_for("values.schema.json", "x.toml"), None);
    }

    #[test]
    fn bracket_syntax_leaves_braces_alone() {
        let mut env = make_env(Syntax::Bracket).unwrap();
        env.add_template_owned("t", "x: ${{ github.sha }} {{ .Values.a }} [[ name ]]".to_string()).unwrap();
        let out = env.get_template("t").unwrap().render(minijinja::context! { name => "ok" }).unwrap();
        assert_eq!(out, "x: ${{ github.sha }} {{ .Values.a }} ok");
    }

    #[test]
    fn strict_undefined_is_an_error() {
        let mut env = make_env(Syntax::Jinja).unwrap();
        env.add_template_owned("t", "{{ missing }}".to_string()).unwrap();
        let err = env.get_template("t").unwrap().render(minijinja::context! {}).unwrap_err();
        assert_eq!(err.kind(), minijinja::ErrorKind::UndefinedError);
    }
}
