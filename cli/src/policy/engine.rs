//! The engine: `regorus` loaded with the policy directory's `*.rego` and
//! data files, the rules found in them, conftest's rule names and
//! namespaces, and one rule evaluated over an input.

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use regex::Regex;

use crate::policy::builtin;
use crate::policy::subject::Category;

/// The policy directory when none is given: `policy/` beside the config.
pub const DEFAULT_DIR: &str = "policy";

/// conftest's default namespace: the package whose rules are evaluated.
pub const DEFAULT_NAMESPACE: &str = "main";

/// How long one evaluation may run before it is stopped: a policy that
/// loops (a huge comprehension) ends in a clear error instead of hanging
/// `validate`.
pub const EXECUTION_LIMIT: Duration = Duration::from_secs(10);

/// Which packages count, and which Rego dialect the files are in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Packages whose `deny`/`violation`/`warn` rules are evaluated
    /// (conftest's `--namespace`, exact package names).
    pub namespaces: Vec<String>,
    /// Every package (conftest's `--all-namespaces`).
    pub all_namespaces: bool,
    /// Rego v0 syntax (`deny[msg] { … }`), as conftest's `--rego-version v0`;
    /// v1 (`deny contains msg if { … }`) otherwise.
    pub rego_v0: bool,
    /// The built-in rules (`policy::builtin`) loaded before the user's and
    /// evaluated whatever the namespaces: what `validate` and `render` do;
    /// `policy test` and a plain load leave them out.
    pub builtins: bool,
    /// Built-in rules not evaluated, by qualified name (`[policy] disable`).
    pub disabled: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            namespaces: vec![DEFAULT_NAMESPACE.into()],
            all_namespaces: false,
            rego_v0: false,
            builtins: false,
            disabled: Vec::new(),
        }
    }
}

impl Options {
    fn covers(&self, rule: &Rule) -> bool {
        // A built-in module's package, or a user's module replacing it: evaluated whatever the namespaces.
        if builtin::is_builtin(&rule.file) || builtin::is_builtin_package(&rule.package) {
            return self.builtins && !self.disabled.contains(&rule.qualified());
        }
        self.all_namespaces || self.namespaces.contains(&rule.package)
    }
}

/// One rule of a loaded policy: where it is, for notes and test output.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rule {
    /// The package without `data.`, e.g. `main` or `myhealth.prod`.
    pub package: String,
    pub name: String,
    /// The policy file as given (relative to the working directory when it can be).
    pub file: String,
    pub line: u32,
}

impl Rule {
    /// `package.rule`, as findings name it.
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.package, self.name)
    }
    fn query(&self) -> String {
        format!("data.{}.{}", self.package, self.name)
    }
}

/// The policies of one directory, parsed, with their data.
pub struct Policies {
    engine: regorus::Engine,
    /// Every rule of every file, in file order (a rule with several bodies once).
    pub rules: Vec<Rule>,
    pub options: Options,
    /// The data files, kept to be laid under each environment's context (`in_context`).
    data: Vec<regorus::Value>,
    /// What each package reads, by its `input_kinds`; a package without one reads every input.
    kinds: BTreeMap<String, BTreeSet<Category>>,
    /// The packages that read production environments only (`input_environments := "production"`).
    production_only: BTreeSet<String>,
}

impl std::fmt::Debug for Policies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policies").field("rules", &self.rules).field("options", &self.options).finish()
    }
}

/// The files of `dir` with one of `exts`, recursively, in a stable order;
/// hidden entries (`.git`) skipped.
fn files(dir: &Path, exts: &[&str]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries =
            std::fs::read_dir(&d).with_context(|| format!("cannot read policy directory `{}`", d.display()))?;
        for e in entries {
            let p = e?.path();
            if p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| exts.iter().any(|e| x == *e)) {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// `p` as messages name it: relative to the working directory when under it.
fn shown(p: &Path) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    p.strip_prefix(&cwd).unwrap_or(p).to_string_lossy().into_owned()
}

/// A fresh engine with the evaluation limit: what every load starts from.
pub(crate) fn fresh() -> regorus::Engine {
    let mut engine = regorus::Engine::new();
    engine.set_execution_timer_config(regorus::utils::limits::ExecutionTimerConfig {
        limit: EXECUTION_LIMIT,
        check_interval: NonZeroU32::new(1000).expect("non-zero"),
    });
    engine
}

/// Add the built-in modules (`policy::builtin`) but `except` (packages a user module replaces) to `engine`.
pub(crate) fn add_builtins(engine: &mut regorus::Engine, except: &[String]) -> anyhow::Result<()> {
    for m in builtin::MODULES.iter().filter(|m| !except.iter().any(|p| p == m.package)) {
        engine.set_rego_v0(false);
        engine
            .add_policy(m.file.to_string(), m.source.to_string())
            .map_err(|e| anyhow!("built-in policy `{}` does not parse: {e}", m.file))?;
    }
    Ok(())
}

/// The engine holding every built-in module, analysed, and their rules:
/// made once per process (each load clones it).
pub(crate) fn prepared() -> anyhow::Result<&'static (regorus::Engine, Vec<Rule>)> {
    static P: OnceLock<Result<(regorus::Engine, Vec<Rule>), String>> = OnceLock::new();
    P.get_or_init(|| {
        let mut engine = fresh();
        add_builtins(&mut engine, &[]).map_err(|e| e.to_string())?;
        let rules = rules(&engine).map_err(|e| e.to_string())?;
        // Analysed now, so a clone evaluates at once (a query that names nothing is fine).
        if let Some(r) = rules.first() {
            engine.set_input(regorus::Value::new_object());
            engine.eval_rule(format!("data.{}.{}", r.package, r.name)).map_err(|e| e.to_string())?;
        }
        Ok((engine, rules))
    })
    .as_ref()
    .map_err(|e| anyhow!("{e}"))
}

/// Load the built-in rules (unless `options.builtins` is off) and every
/// `*.rego` under `dir` (when given) and every `*.json`/`*.yaml`/`*.yml`
/// as `data` (merged at its root, as conftest's `--data`). A policy that
/// does not parse is an error naming its file, line and column. A user
/// module declaring a built-in module's package replaces that module.
pub fn load(dir: Option<&Path>, options: Options) -> anyhow::Result<Policies> {
    let mut sources = Vec::new();
    for file in dir.map(|d| files(d, &["rego"])).transpose()?.unwrap_or_default() {
        let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read `{}`", file.display()))?;
        sources.push((shown(&file), text));
    }
    let user = |engine: &mut regorus::Engine| -> anyhow::Result<()> {
        engine.set_rego_v0(options.rego_v0);
        for (name, text) in &sources {
            // regorus's message already names the file, line and column, with the source line and a caret.
            engine
                .add_policy(name.clone(), text.clone())
                .map_err(|e| anyhow!("policy `{name}` does not parse: {e}"))?;
        }
        Ok(())
    };
    let (mut engine, rules) = if !options.builtins {
        let mut engine = fresh();
        user(&mut engine)?;
        let rules = rules(&engine)?;
        (engine, rules)
    } else if sources.is_empty() {
        let (engine, rules) = prepared()?;
        (engine.clone(), rules.clone())
    } else {
        // The user's packages first, to know which built-in modules they replace.
        let mut scratch = fresh();
        user(&mut scratch)?;
        let packages: Vec<String> =
            scratch.get_packages()?.into_iter().map(|p| p.strip_prefix("data.").unwrap_or(&p).to_string()).collect();
        let mut engine = if packages.iter().any(|p| builtin::is_builtin_package(p)) {
            let mut engine = fresh();
            add_builtins(&mut engine, &packages)?;
            engine
        } else {
            prepared()?.0.clone()
        };
        user(&mut engine)?;
        let rules = rules(&engine)?;
        (engine, rules)
    };
    let mut data = Vec::new();
    for file in dir.map(|d| files(d, &["json", "yaml", "yml"])).transpose()?.unwrap_or_default() {
        let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read `{}`", file.display()))?;
        let name = shown(&file);
        let value: serde_json::Value = if file.extension().is_some_and(|x| x == "json") {
            serde_json::from_str(&text).map_err(|e| anyhow!("data file `{name}` is not JSON: {e}"))?
        } else {
            serde_yaml_ng::from_str(&text).map_err(|e| anyhow!("data file `{name}` is not YAML: {e}"))?
        };
        if !value.is_object() {
            bail!("data file `{name}` is not an object: conftest merges data files at the root of `data`");
        }
        let value: regorus::Value = value.into();
        engine.add_data(value.clone()).map_err(|e| anyhow!("data file `{name}` conflicts with other data: {e}"))?;
        data.push(value);
    }
    let mut p = Policies { engine, rules, options, data, kinds: BTreeMap::new(), production_only: BTreeSet::new() };
    p.kinds = p.input_kinds()?;
    p.production_only = p.input_environments()?;
    Ok(p)
}

/// The rules of the loaded modules, from regorus's syntax tree: a rule that
/// is never defined (its body false) is still there, so `policy test` can
/// report it as failed, as `opa test` does.
pub(crate) fn rules(engine: &regorus::Engine) -> anyhow::Result<Vec<Rule>> {
    let ast: serde_json::Value = serde_json::from_str(&engine.get_ast_as_json()?)?;
    let mut out: Vec<Rule> = Vec::new();
    for m in ast.as_array().into_iter().flatten() {
        let file = m["source"]["file"].as_str().unwrap_or_default().to_string();
        let package = head_path(&m["ast"]["package"]["refr"]).join(".");
        for rule in m["ast"]["rules"].as_array().into_iter().flatten() {
            // Only `name … { }` rules: functions (`f(x)`) and defaults are no findings and no tests.
            let Some(spec) = rule.get("Spec") else { continue };
            let Some(head) = spec["head"].get("Compr").or_else(|| spec["head"].get("Set")) else { continue };
            let Some(name) = head_path(&head["refr"]).first().cloned() else { continue };
            let line = u32::try_from(spec["span"]["line"].as_u64().unwrap_or(0)).unwrap_or(0);
            if !out.iter().any(|r| r.package == package && r.name == name) {
                out.push(Rule { package: package.clone(), name, file: file.clone(), line });
            }
        }
    }
    Ok(out)
}

/// The names of a reference (`a.b.c`, `a["b"]`) in regorus's tree, leftmost first.
fn head_path(e: &serde_json::Value) -> Vec<String> {
    if let Some(v) = e.get("Var") {
        return v["value"].as_str().map(|s| vec![s.to_string()]).unwrap_or_default();
    }
    if let Some(d) = e.get("RefDot") {
        let mut p = head_path(&d["refr"]);
        if let Some(f) = d["field"].as_array().and_then(|f| f.get(1)).and_then(|v| v.as_str()) {
            p.push(f.to_string());
        }
        return p;
    }
    if let Some(b) = e.get("RefBrack") {
        let mut p = head_path(&b["refr"]);
        if let Some(s) = b["index"].get("String").and_then(|s| s["value"].as_str()) {
            p.push(s.to_string());
        }
        return p;
    }
    Vec::new()
}

/// conftest's rule names: `deny`, `violation`, `warn`, each optionally
/// followed by `_<suffix>`.
fn kind_of(name: &str) -> Option<Level> {
    static R: OnceLock<Regex> = OnceLock::new();
    let caps = crate::pattern::re(&R, r"^(deny|violation|warn)(_[A-Za-z0-9_]+)?$").captures(name)?;
    Some(if &caps[1] == "warn" { Level::Warn } else { Level::Deny })
}

/// The rule a package names the inputs it reads with (`input_kinds := {"config"}`).
pub const INPUT_KINDS: &str = "input_kinds";

/// The rule a package names the environments it reads with
/// (`input_environments := "production"`; `"all"`, the default).
pub const INPUT_ENVIRONMENTS: &str = "input_environments";

impl Policies {
    /// Each package's `input_kinds`: a set (or one string) of category names.
    fn input_kinds(&mut self) -> anyhow::Result<BTreeMap<String, BTreeSet<Category>>> {
        let mut out = BTreeMap::new();
        let declared: Vec<Rule> = self.rules.iter().filter(|r| r.name == INPUT_KINDS).cloned().collect();
        for rule in declared {
            let Some(v) = self.eval(&rule, None)? else { continue };
            let names: Vec<serde_json::Value> = match v {
                serde_json::Value::Array(a) => a,
                other => vec![other],
            };
            let mut kinds = BTreeSet::new();
            for n in names {
                let known = n.as_str().and_then(Category::parse);
                let Some(c) = known else {
                    bail!(
                        "policy `{}` ({}:{}) names input kind {n}, which is not one of {}\n  = help: `input_kinds` is a set of {}",
                        rule.qualified(),
                        rule.file,
                        rule.line,
                        Category::ALL.map(|c| format!("`{c}`")).join(", "),
                        Category::ALL.map(|c| format!("\"{c}\"")).join(", "),
                    );
                };
                kinds.insert(c);
            }
            out.insert(rule.package.clone(), kinds);
        }
        Ok(out)
    }

    /// The packages whose `input_environments` is `"production"`.
    fn input_environments(&mut self) -> anyhow::Result<BTreeSet<String>> {
        let mut out = BTreeSet::new();
        let declared: Vec<Rule> = self.rules.iter().filter(|r| r.name == INPUT_ENVIRONMENTS).cloned().collect();
        for rule in declared {
            match self.eval(&rule, None)?.as_ref().and_then(serde_json::Value::as_str) {
                Some("production") => {
                    out.insert(rule.package.clone());
                }
                Some("all") | None => {}
                Some(other) => bail!(
                    "policy `{}` ({}:{}) names environments \"{other}\"\n  = help: `input_environments` is \"production\" or \"all\"",
                    rule.qualified(),
                    rule.file,
                    rule.line
                ),
            }
        }
        Ok(out)
    }

    /// Whether `package` reads the inputs of an environment that is (or is not) `production`.
    pub fn reads_environment(&self, package: &str, production: bool) -> bool {
        production || !self.production_only.contains(package)
    }

    /// Whether any rule that makes findings reads the config of an environment that is (or is not) `production`.
    pub fn reads_config_of(&self, production: bool) -> bool {
        self.finding_rules()
            .iter()
            .any(|(r, _)| self.reads(&r.package, Category::Config) && self.reads_environment(&r.package, production))
    }

    /// Whether any rule that makes findings reads the rendered platform
    /// (which must then be rendered, with Helm for Kubernetes objects).
    pub fn wants_rendered(&self) -> bool {
        Category::ALL.into_iter().any(|c| c.rendered() && self.wants(c))
    }

    /// Whether `package` reads inputs of `category`.
    pub fn reads(&self, package: &str, category: Category) -> bool {
        self.kinds.get(package).is_none_or(|k| k.contains(&category))
    }

    /// Whether any rule that makes findings reads `category`: a render
    /// that only such a rule needs (Helm, for Kubernetes objects) is skipped otherwise.
    pub fn wants(&self, category: Category) -> bool {
        self.finding_rules().iter().any(|(r, _)| self.reads(&r.package, category))
    }

    /// Whether a rule of the user's (not a built-in one) reads the config:
    /// only then does its input carry `sources`.
    pub fn user_reads_config(&self) -> bool {
        self.finding_rules()
            .iter()
            .any(|(r, _)| !builtin::is_builtin(&r.file) && self.reads(&r.package, Category::Config))
    }

    /// Lay `data.myhealth` — the environment the next inputs are about, and
    /// whether it is production — over the data files: a Kubernetes object
    /// or a workflow does not say which environment it belongs to.
    pub(crate) fn in_context(&mut self, environment: Option<(&str, bool)>) -> anyhow::Result<()> {
        self.engine.clear_data();
        for d in &self.data {
            self.engine.add_data(d.clone()).map_err(|e| anyhow!("policy data conflict: {e}"))?;
        }
        let ctx = match environment {
            Some((name, production)) => {
                serde_json::json!({"myhealth": {"environment": name, "production": production}})
            }
            None => serde_json::json!({"myhealth": {}}),
        };
        self.engine.add_data(ctx.into()).map_err(|e| anyhow!("policy data has its own `myhealth` document: {e}"))?;
        Ok(())
    }

    /// Policies of an engine already loaded, with its rules.
    #[cfg(test)]
    pub(crate) fn from_parts(engine: regorus::Engine, rules: Vec<Rule>, options: Options) -> Policies {
        Policies { engine, rules, options, data: Vec::new(), kinds: BTreeMap::new(), production_only: BTreeSet::new() }
    }

    /// The rules that make findings, in the namespaces the options cover.
    pub fn finding_rules(&self) -> Vec<(Rule, Level)> {
        self.rules
            .iter()
            .filter(|r| self.options.covers(r))
            .filter_map(|r| kind_of(&r.name).map(|k| (r.clone(), k)))
            .collect()
    }

    /// Make `input` the one the next evaluations see (`None`: undefined):
    /// converted once, however many rules then read it.
    pub(crate) fn set_input(&mut self, input: Option<serde_json::Value>) {
        self.engine.set_input(input.map_or(regorus::Value::Undefined, Into::into));
    }

    /// The value of `rule` for the input set last (`Undefined` when no body
    /// holds); an evaluation error names the rule and its file.
    pub(crate) fn eval_set(&mut self, rule: &Rule) -> anyhow::Result<Option<serde_json::Value>> {
        let v = self
            .engine
            .eval_rule(rule.query())
            .map_err(|e| anyhow!("policy rule `{}` ({}:{}) failed: {e}", rule.qualified(), rule.file, rule.line))?;
        if v == regorus::Value::Undefined {
            return Ok(None);
        }
        Ok(Some(serde_json::to_value(&v)?))
    }

    /// Every rule of `package` for the input set last, in one evaluation
    /// (rules they share — `why`, `env` — evaluated once): by rule name,
    /// those not defined left out. An error names the package.
    pub(crate) fn eval_package(&mut self, package: &str) -> anyhow::Result<serde_json::Map<String, serde_json::Value>> {
        let results = self
            .engine
            .eval_query(format!("data.{package}"), false)
            .map_err(|e| anyhow!("policy package `{package}` failed: {e}"))?;
        let value = results.result.into_iter().next().and_then(|r| r.expressions.into_iter().next()).map(|e| e.value);
        match value.map(|v| serde_json::to_value(&v)).transpose()? {
            Some(serde_json::Value::Object(m)) => Ok(m),
            _ => Ok(serde_json::Map::new()),
        }
    }

    /// Whether `package` has `test_*` rules (evaluating it whole would run them).
    pub(crate) fn has_tests(&self, package: &str) -> bool {
        self.rules.iter().any(|r| r.package == package && r.name.starts_with("test_"))
    }

    /// The value of `rule` for `input` (`Undefined` when no body holds).
    pub(crate) fn eval(
        &mut self,
        rule: &Rule,
        input: Option<&serde_json::Value>,
    ) -> anyhow::Result<Option<serde_json::Value>> {
        self.set_input(input.cloned());
        self.eval_set(rule)
    }
}

/// What a rule's kind makes of its findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// `deny`, `violation`: an error; the command fails.
    Deny,
    /// `warn`: a warning; the command goes on.
    Warn,
}
