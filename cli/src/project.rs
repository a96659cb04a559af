//! The project a command works on: where its config is (flag, environment
//! or discovery), where the rendered output, the workflows and the build
//! records live, and the one place an environment name given on the command
//! line is resolved (`Project::environment`, `Project::target`): an unknown
//! name is a usage error with a did-you-mean, and what is passed on from
//! there is the resolved environment, never the name.

use std::path::{Path, PathBuf};

use anyhow::bail;

use crate::args::{Global, RenderArgs, TreeArgs};
use crate::config::model::Environment;
use crate::config::{self, Config};
use crate::diagnostics::{Report, Severity, Source};
use crate::render::{self, Templates};

/// Where things are, for commands working on a project.
pub struct Project {
    pub config_path: PathBuf,
    /// The config path as shown in messages.
    pub display: String,
    pub root: PathBuf,
    pub color: bool,
}

/// One environment, resolved once: the model, and where its rendered output is.
pub struct Target<'c> {
    pub cfg: &'c Config,
    pub env: &'c Environment,
    /// The render options narrowed to this environment (for the drift gate).
    pub render: RenderArgs,
    /// Its Terraform root in the generated tree.
    pub tf_dir: PathBuf,
    /// The generated tree.
    pub out: PathBuf,
}

impl Target<'_> {
    pub fn name(&self) -> &str {
        &self.env.name.value
    }
}

/// The project's workflows directory (`[defaults.ci]`, else the first environment's).
pub fn workflows_dir(cfg: &Config) -> String {
    cfg.defaults
        .as_ref()
        .or(cfg.environments.first())
        .map(|e| e.ci.workflows_dir.value.clone())
        .unwrap_or_else(|| ".github/workflows".into())
}

impl Project {
    /// Locate the config (flag, env or discovery).
    pub fn locate(global: &Global) -> anyhow::Result<Self> {
        let cwd = std::env::current_dir()?;
        let config_path = match &global.config {
            // A directory names the project: its `myhealth.toml`.
            Some(p) if p.is_dir() => {
                let file = p.join(config::DEFAULT_FILE);
                if !file.is_file() {
                    bail!(
                        "`{}` is a directory with no `{}`\n  = help: pass the config file itself (`--config FILE`), or run `myhealthctl init {}`",
                        p.display(),
                        config::DEFAULT_FILE,
                        p.display()
                    );
                }
                file
            }
            Some(p) => p.clone(),
            None => config::discover(&cwd).ok_or_else(|| {
                anyhow::anyhow!(
                    "no `{}` in `{}` or any parent directory\n  = help: run `myhealthctl init` to write one, or pass `--config FILE`",
                    config::DEFAULT_FILE,
                    cwd.display()
                )
            })?,
        };
        let abs = if config_path.is_absolute() { config_path.clone() } else { cwd.join(&config_path) };
        let display = abs.strip_prefix(&cwd).map(Path::to_path_buf).unwrap_or_else(|_| config_path.clone());
        let root = abs.parent().map(Path::to_path_buf).unwrap_or_else(|| cwd.clone());
        Ok(Project {
            display: display.to_string_lossy().into_owned(),
            config_path: abs,
            root,
            color: global.color.enabled(),
        })
    }

    /// The config, for a command that changes things: any error refuses it.
    pub fn load(&self) -> anyhow::Result<Config> {
        config::load_file(&self.config_path, &self.display, config::Mode::Change)
    }

    /// The config, for a command that only reads: an error that blocks only
    /// changes (a production budget overrun) is a warning, printed here.
    pub fn read(&self) -> anyhow::Result<Config> {
        let cfg = config::load_file(&self.config_path, &self.display, config::Mode::Read)?;
        if let Some(w) = cfg.warnings.as_ref().filter(|w| w.diagnostics.iter().any(|d| d.blocks_changes)) {
            let blocking = crate::diagnostics::Report {
                diagnostics: w.diagnostics.iter().filter(|d| d.blocks_changes).cloned().collect(),
                source: w.source.clone(),
            };
            crate::output::eprint(&blocking.render(self.color));
        }
        Ok(cfg)
    }

    /// The findings of the built-in policy rules and the project's Rego
    /// policies over `cfg` and, when a policy reads it, over the rendered
    /// platform (`tree` renders it: called only then), with the config's
    /// warnings: an error among them fails the command as an invalid config
    /// does; the warnings come back to be shown. A built-in rule's error
    /// reads as a config check's did (sorted by position; the config's
    /// warnings left out, as loading does when it refuses); the user's
    /// findings follow in the order found.
    pub fn policy_check(
        &self,
        cfg: &Config,
        args: &crate::args::PolicyArgs,
        tree: impl FnOnce() -> anyhow::Result<crate::tree::Tree>,
    ) -> anyhow::Result<Option<Report>> {
        let text = std::fs::read_to_string(&self.config_path)?;
        self.policy_check_text(cfg, args, text, tree)
    }

    /// [`Project::policy_check`] of `cfg` loaded from `text` (the language
    /// server's unsaved buffer rather than the file).
    pub fn policy_check_text(
        &self,
        cfg: &Config,
        args: &crate::args::PolicyArgs,
        text: String,
        tree: impl FnOnce() -> anyhow::Result<crate::tree::Tree>,
    ) -> anyhow::Result<Option<Report>> {
        let warnings = cfg.warnings.clone();
        let dir = crate::policy::locate(args.dir.as_deref(), &self.root)?;
        let source = Source { name: self.display.clone(), text };
        let mut policies = match crate::policy::load_for(dir.as_deref(), args.options(), cfg)? {
            Ok(p) => p,
            Err(wrong) => return Err(Report { source, diagnostics: config::tidy(wrong) }.into()),
        };
        let found = if policies.wants_rendered() {
            let tree = tree()?;
            let rendered = self.rendered_subjects(cfg, &tree, &|c| policies.wants(c))?;
            let (templates, opts) =
                (self.templates(&TreeArgs::default())?, self.render_options(cfg, &RenderArgs::default())?);
            let render = |c: &Config| render::render(c, &templates, &opts);
            let (generated, workflows) = self.shown_dirs(cfg);
            let driver = crate::ops::rendered::LineDriver {
                cfg,
                text: &source.text,
                display: &self.display,
                tree: &tree,
                shown: crate::ops::rendered::Shown { generated: &generated, workflows: &workflows },
                render: &render,
            };
            let drive = |e: &str, f: &str, l: usize| driver.drive(e, f, l);
            crate::policy::check(&mut policies, &source, cfg, rendered, Some(&drive))?
        } else {
            crate::policy::check(&mut policies, &source, cfg, Vec::new(), None)?
        };
        if found.builtin.is_empty() && found.user.is_empty() {
            return Ok(warnings);
        }
        let mut diagnostics = if found.builtin.iter().any(|d| d.severity == Severity::Error) {
            config::tidy(found.builtin)
        } else {
            let mut all = warnings.map(|w| w.diagnostics).unwrap_or_default();
            all.extend(found.builtin);
            config::tidy(all)
        };
        diagnostics.extend(found.user);
        let report = Report { source, diagnostics };
        if report.diagnostics.iter().any(|d| d.severity == Severity::Error) {
            return Err(report.into());
        }
        Ok(Some(report))
    }

    /// The findings of the project's plan policies (those that read
    /// `plan`) over the plan of `env` saved as `plan_file` in `dir`: its
    /// `terraform show -json` (one more Terraform run, only when such a
    /// policy exists) and the environment's cost. A deny fails the command
    /// as an invalid config does; the warnings come back to be shown.
    pub fn plan_policy_check(
        &self,
        cfg: &Config,
        args: &crate::args::PolicyArgs,
        env: &str,
        dir: &Path,
        plan_file: &str,
    ) -> anyhow::Result<Option<Report>> {
        use crate::policy::subject::{Category, Origin, Subject};
        // The built-in rules read the config only: without a directory, no plan policy.
        let Some(policies_dir) = crate::policy::locate(args.dir.as_deref(), &self.root)? else { return Ok(None) };
        let Ok(mut policies) = crate::policy::load_for(Some(&policies_dir), args.options(), cfg)? else {
            return Ok(None); // a wrong `[policy] disable` is `validate`'s to report
        };
        if !policies.wants(Category::Plan) {
            return Ok(None);
        }
        let plan: serde_json::Value = serde_json::from_str(&crate::ops::terraform::show_json(dir, env, plan_file)?)
            .map_err(|e| anyhow::anyhow!("`terraform show -json` of `{plan_file}` is not JSON: {e}"))?;
        let file = self.shown(&dir.join(plan_file));
        let cost = match cfg.env(env) {
            Some(e) => crate::policy::input::Cost {
                monthly_usd: crate::cost::estimate(e, &crate::cost::Assumptions::default()).total_usd,
                budget_usd: e.budget.as_ref().map(|b| b.monthly_usd.value),
            },
            // A retired environment: nothing left to run.
            None => crate::policy::input::Cost { monthly_usd: 0.0, budget_usd: None },
        };
        let input = crate::policy::input::PlanInput {
            kind: "plan".into(),
            environment: env.into(),
            file: file.clone(),
            plan,
            cost,
        };
        let subject = Subject {
            category: Category::Plan,
            environment: Some(env.into()),
            input: serde_json::to_value(input)?,
            origin: Origin::Plan { name: file },
        };
        let text = std::fs::read_to_string(&self.config_path)?;
        let source = Source { name: self.display.clone(), text };
        let found = crate::policy::check_only(&mut policies, &source, cfg, &[subject])?;
        if found.is_empty() {
            return Ok(None);
        }
        let report = Report { source, diagnostics: found };
        if report.diagnostics.iter().any(|d| d.severity == Severity::Error) {
            return Err(report.into());
        }
        Ok(Some(report))
    }

    /// The rendered platform `tree` (of `cfg`) as policy subjects of the
    /// categories `wanted` says, named as the repository holds its files.
    pub fn rendered_subjects(
        &self,
        cfg: &Config,
        tree: &crate::tree::Tree,
        wanted: &dyn Fn(crate::policy::subject::Category) -> bool,
    ) -> anyhow::Result<Vec<crate::policy::subject::Subject>> {
        let (generated, workflows) = self.shown_dirs(cfg);
        let shown = crate::ops::rendered::Shown { generated: &generated, workflows: &workflows };
        crate::ops::rendered::subjects(cfg, tree, &shown, wanted)
    }

    /// The generated tree and the workflows directory, as messages name them.
    fn shown_dirs(&self, cfg: &Config) -> (String, String) {
        (self.shown(&self.out_dir(&TreeArgs::default())), self.shown(&self.root.join(workflows_dir(cfg))))
    }

    /// `path` as messages name it: relative to the working directory when under it.
    pub fn shown(&self, path: &Path) -> String {
        let cwd = std::env::current_dir().unwrap_or_default();
        path.strip_prefix(&cwd).unwrap_or(path).to_string_lossy().into_owned()
    }

    /// The config file's name, written into generated headers.
    pub fn config_name(&self) -> String {
        self.config_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| config::DEFAULT_FILE.into())
    }

    pub fn out_dir(&self, args: &TreeArgs) -> PathBuf {
        args.out.clone().unwrap_or_else(|| self.root.join("generated"))
    }

    /// Where a render lands (see [`crate::tree::Outputs`]).
    pub fn outputs(&self, cfg: &Config, args: &TreeArgs) -> crate::tree::Outputs {
        let workflows = match (&args.workflows_out, &args.out) {
            (Some(dir), _) => Some(dir.clone()),
            (None, Some(_)) => None,
            (None, None) => Some(self.root.join(workflows_dir(cfg))),
        };
        crate::tree::Outputs { generated: self.out_dir(args), workflows }
    }

    pub fn templates(&self, args: &TreeArgs) -> anyhow::Result<Templates> {
        match &args.templates {
            Some(dir) => Templates::with_overrides(dir),
            None => Ok(Templates::embedded()),
        }
    }

    /// The environment called `name`, or a usage error naming the closest one.
    pub fn environment<'c>(&self, cfg: &'c Config, name: &str) -> anyhow::Result<&'c Environment> {
        if let Some(e) = cfg.env(name) {
            return Ok(e);
        }
        let names = cfg.env_names();
        let hint = names
            .iter()
            .max_by(|a, b| strsim::jaro_winkler(name, a).total_cmp(&strsim::jaro_winkler(name, b)))
            .filter(|n| strsim::jaro_winkler(name, n) > 0.7)
            .map(|n| format!("did you mean `{n}`?"))
            .unwrap_or_else(|| {
                format!("environments: {}", names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", "))
            });
        bail!("no environment `{name}` in `{}`\n  = help: {hint}", self.display)
    }

    /// The environments `names` (all when empty), each checked.
    pub fn environments<'c>(&self, cfg: &'c Config, names: &[String]) -> anyhow::Result<Vec<&'c Environment>> {
        for n in names {
            self.environment(cfg, n)?;
        }
        Ok(cfg.environments.iter().filter(|e| names.is_empty() || names.contains(&e.name.value)).collect())
    }

    /// The one environment a command acts on, and its rendered output.
    pub fn target<'c>(&self, cfg: &'c Config, name: &str, tree: &TreeArgs) -> anyhow::Result<Target<'c>> {
        let env = self.environment(cfg, name)?;
        let out = self.out_dir(tree);
        Ok(Target { cfg, env, render: tree.for_env(name), tf_dir: self.tf_root(tree, name), out })
    }

    /// An environment's Terraform root in the generated tree (a retired
    /// environment's too: it has no model, only this).
    pub fn tf_root(&self, tree: &TreeArgs, name: &str) -> PathBuf {
        self.out_dir(tree).join(crate::names::env_path(crate::names::ENV_ROOT, name).trim_end_matches('/'))
    }

    /// Check `--env` names against the config and build render options.
    pub fn render_options(&self, cfg: &Config, args: &RenderArgs) -> anyhow::Result<render::Options> {
        self.environments(cfg, &args.envs)?;
        Ok(render::Options { only_envs: args.envs.clone(), config_name: self.config_name() })
    }

    /// Cargo's target directory (`CARGO_TARGET_DIR`, else `target/` of the project).
    pub fn cargo_target_dir(&self) -> PathBuf {
        std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .map(|t| self.root.join(t))
            .unwrap_or_else(|| self.root.join("target"))
    }

    /// Where `build`, `push` and `deploy` keep their records and work files:
    /// `MYHEALTHCTL_WORK_DIR`, else cargo's target directory.
    pub fn work_dir(&self) -> PathBuf {
        std::env::var_os("MYHEALTHCTL_WORK_DIR")
            .map(PathBuf::from)
            .map(|t| self.root.join(t))
            .unwrap_or_else(|| self.cargo_target_dir())
    }

    /// The images `build` writes and the records `push` and `deploy` read.
    pub fn images_dir(&self) -> PathBuf {
        self.work_dir().join("images")
    }

    /// A service is bundled when this repository has its crate.
    pub fn is_bundled(&self, service: &str) -> bool {
        self.root.join("services").join(service).join("Cargo.toml").is_file()
    }

    /// The bundled services of the config, in its order.
    pub fn bundled(&self, cfg: &Config) -> Vec<String> {
        cfg.service_names().into_iter().filter(|s| self.is_bundled(s)).collect()
    }
}
