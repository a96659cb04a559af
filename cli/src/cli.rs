//! Command-line interface: argument definitions, the shared project context
//! every command gets, error printing and exit codes.
//!
//! Exit codes: 0 ok; 1 a check or diff found a difference; 2 an error
//! (bad config, bad arguments, a failed tool).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::commands;
use crate::config::{self, Config};
use crate::diagnostics::Report;
use crate::render::{self, Templates};

const AFTER_HELP: &str = "\
Exit codes:
  0  success
  1  a check or diff found a difference (e.g. `diff`, `render --check`)
  2  an error: invalid config, bad arguments, a failed tool
  `plan`, once a plan ran, follows terraform's -detailed-exitcode: 0 no changes,
     2 changes, 1 the plan failed (usage and config errors still exit 2, drift 1)
  `deploy`/`destroy`: 1 also when refused (drift, or the plan not approved)

Examples:
  myhealthctl render                    render every environment into generated/
  myhealthctl diff                      is generated/ up to date? (CI gate)
  myhealthctl diff --base origin/main   what does my change do to the output?
  myhealthctl envs --json               resolved values per environment";

/// Render the myHealth platform (Terraform, Helm, CI, monitoring) from one typed `myhealth.toml`.
#[derive(Parser, Debug)]
#[command(name = "myhealthctl", version, about, after_help = AFTER_HELP, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Config file [default: `myhealth.toml` in this or the nearest parent directory]
    #[arg(long, short = 'c', global = true, env = "MYHEALTH_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Colour diagnostics and diffs
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Options shared by the commands that render.
#[derive(Args, Debug, Clone, Default)]
pub struct RenderArgs {
    /// Only these environments (repeatable) [default: all]
    #[arg(long = "env", short = 'e', value_name = "NAME")]
    pub envs: Vec<String>,
    /// Lay the templates in DIR over the built-in ones (same relative paths)
    #[arg(long, env = "MYHEALTH_TEMPLATES", value_name = "DIR")]
    pub templates: Option<PathBuf>,
    /// The generated tree [default: `generated/` beside the config]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Where the GitHub workflows go [default: `ci.workflows_dir` beside the config; with `--out DIR`, `DIR/workflows/`]
    #[arg(long, value_name = "DIR")]
    pub workflows_out: Option<PathBuf>,
}

/// The tree options of the commands that act on one environment's rendered
/// output (`plan`, `deploy`, `destroy`): like [`RenderArgs`] without `--env`
/// (their positional ENV is the one environment).
#[derive(Args, Debug, Clone, Default)]
pub struct TreeArgs {
    /// Lay the templates in DIR over the built-in ones (same relative paths)
    #[arg(long, env = "MYHEALTH_TEMPLATES", value_name = "DIR")]
    pub templates: Option<PathBuf>,
    /// The generated tree [default: `generated/` beside the config]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Where the GitHub workflows go [default: `ci.workflows_dir` beside the config; with `--out DIR`, `DIR/workflows/`]
    #[arg(long, value_name = "DIR")]
    pub workflows_out: Option<PathBuf>,
}

impl TreeArgs {
    /// The render options narrowed to `env`.
    pub fn for_env(&self, env: &str) -> RenderArgs {
        RenderArgs {
            envs: vec![env.to_string()],
            templates: self.templates.clone(),
            out: self.out.clone(),
            workflows_out: self.workflows_out.clone(),
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Render the config into the generated tree (atomically)
    #[command(
        after_help = "Examples:\n  myhealthctl render\n  myhealthctl render --env dev\n  myhealthctl render --out /tmp/preview\n  myhealthctl render --check        # exit 1 if generated/ is stale"
    )]
    Render(commands::render::RenderCmd),
    /// Show what differs: generated/ vs a fresh render, or the render at a git revision vs now
    #[command(
        after_help = "Examples:\n  myhealthctl diff                          # drift gate: exit 1 if generated/ is stale\n  myhealthctl diff --base HEAD~1            # what the last commit did to the output\n  myhealthctl diff --base origin/main --stat\n  myhealthctl diff --base \"$BASE_SHA\" --format markdown > comment.md"
    )]
    Diff(commands::diff::DiffCmd),
    /// List the environments whose rendered output differs from a git revision
    #[command(
        after_help = "Examples:\n  myhealthctl affected --base origin/main\n  myhealthctl affected --base \"$BASE_SHA\" --json | jq -r '.environments[] | select(.terraform) | .name'"
    )]
    Affected(commands::affected::AffectedCmd),
    /// Build the bundled services and their OCI images (no container daemon)
    #[command(
        after_help = "Examples:\n  myhealthctl build                      # every service, images in target/images/<service>/\n  myhealthctl build api-service --json"
    )]
    Build(commands::build::BuildCmd),
    /// Terraform plan of an environment, summarised (refused while generated/ has drifted)
    #[command(
        after_help = "Exit codes, once a plan ran (terraform's -detailed-exitcode): 0 no changes, 2 changes, 1 the plan failed.\nBefore that, as every command: 2 usage or config error, 1 drift.\n\nExamples:\n  myhealthctl plan dev\n  myhealthctl plan prod --format markdown >> comment.md\n  myhealthctl plan dev --json --plugin-dir /opt/tf-plugins"
    )]
    Plan(commands::plan::PlanCmd),
    /// Build, push, apply the infrastructure and roll out the release of an environment, then smoke-test it
    #[command(
        after_help = "Steps: drift check → build → terraform plan → approval → apply → push → release values (digests) → kubeconfig → namespace → helm upgrade --install (rolled back on failure) → smoke test of /health (rolled back on failure).\n\nExamples:\n  myhealthctl deploy dev --dry-run        # the ordered steps and exact commands, nothing run\n  myhealthctl deploy dev\n  myhealthctl deploy dev --only api-service --skip-infra\n  myhealthctl deploy prod --yes           # production is never applied unattended without --yes"
    )]
    Deploy(commands::deploy::DeployCmd),
    /// Destroy an environment's infrastructure, after typing its name (or `--yes`)
    #[command(
        after_help = "Examples:\n  myhealthctl destroy dev\n  myhealthctl destroy dev --yes   # no question asked: for scripts"
    )]
    Destroy(commands::destroy::DestroyCmd),
    /// Push the built images to an environment's registry and record their digests
    #[command(
        after_help = "Examples:\n  myhealthctl push dev                   # to dev's ECR (AWS CLI login or a Docker credential helper)\n  myhealthctl push dev api-service --registry 127.0.0.1:5000"
    )]
    Push(commands::push::PushCmd),
    /// Check the config and that it renders, without writing anything
    #[command(
        after_help = "Examples:\n  myhealthctl validate\n  myhealthctl validate --config tests/fixtures/minimal.toml\n  myhealthctl validate --json"
    )]
    Validate(commands::validate::ValidateCmd),
    /// Print the resolved settings of each environment
    #[command(
        after_help = "Examples:\n  myhealthctl envs\n  myhealthctl envs --json | jq '.[] | .name'\n  myhealthctl envs --env prod --json"
    )]
    Envs(commands::envs::EnvsCmd),
    /// Print the module dependency graph of an environment
    #[command(
        after_help = "Examples:\n  myhealthctl graph dev\n  myhealthctl graph prod --format dot | dot -Tsvg > prod.svg"
    )]
    Graph(commands::graph::GraphCmd),
    /// Estimate the monthly AWS cost of each environment
    #[command(
        after_help = "Examples:\n  myhealthctl cost\n  myhealthctl cost prod --json\n  myhealthctl cost dev --requests 5"
    )]
    Cost(commands::cost::CostCmd),
    /// Print the JSON Schema of myhealth.toml
    #[command(
        after_help = "Examples:\n  myhealthctl schema > docs/myhealth.schema.json\n  myhealthctl schema --format markdown > docs/config.md"
    )]
    Schema(commands::schema::SchemaCmd),
    /// Write a commented starter myhealth.toml
    #[command(after_help = "Examples:\n  myhealthctl init\n  myhealthctl init path/to/myhealth.toml --force")]
    Init(commands::init::InitCmd),
    /// Print shell completions
    #[command(
        after_help = "Examples:\n  myhealthctl completions bash > /etc/bash_completion.d/myhealthctl\n  myhealthctl completions zsh > \"${fpath[1]}/_myhealthctl\"\n  myhealthctl completions fish > ~/.config/fish/completions/myhealthctl.fish"
    )]
    Completions(commands::completions::CompletionsCmd),
}

/// What a command reports back: success, or "found a difference".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Differs,
    /// `plan`: there are changes (terraform's `-detailed-exitcode` 2).
    Changes,
    /// `plan`: failed, the error already printed (terraform's 1, not our usual 2,
    /// which would read as "changes").
    Failed,
}

/// Where things are, for commands working on a project.
pub struct Project {
    pub config_path: PathBuf,
    /// The config path as shown in messages.
    pub display: String,
    pub root: PathBuf,
    pub color: bool,
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
            color: use_color(global.color),
        })
    }

    pub fn load(&self) -> anyhow::Result<Config> {
        config::load_file(&self.config_path, &self.display)
    }

    /// The config file's name, written into generated headers.
    pub fn config_name(&self) -> String {
        self.config_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| config::DEFAULT_FILE.into())
    }

    pub fn out_dir(&self, args: &RenderArgs) -> PathBuf {
        args.out.clone().unwrap_or_else(|| self.root.join("generated"))
    }

    /// Where a render lands (see [`crate::tree::Outputs`]).
    pub fn outputs(&self, cfg: &Config, args: &RenderArgs) -> crate::tree::Outputs {
        let workflows = match (&args.workflows_out, &args.out) {
            (Some(dir), _) => Some(dir.clone()),
            (None, Some(_)) => None,
            (None, None) => Some(self.root.join(workflows_dir(cfg))),
        };
        crate::tree::Outputs { generated: self.out_dir(args), workflows }
    }

    pub fn templates(&self, args: &RenderArgs) -> anyhow::Result<Templates> {
        match &args.templates {
            Some(dir) => Templates::with_overrides(dir),
            None => Ok(Templates::embedded()),
        }
    }

    /// Check `--env` names against the config and build render options.
    pub fn render_options(&self, cfg: &Config, args: &RenderArgs) -> anyhow::Result<render::Options> {
        for e in &args.envs {
            if cfg.env(e).is_none() {
                let names = cfg.env_names();
                let hint = names
                    .iter()
                    .max_by(|a, b| strsim::jaro_winkler(e, a).total_cmp(&strsim::jaro_winkler(e, b)))
                    .filter(|n| strsim::jaro_winkler(e, n) > 0.7)
                    .map(|n| format!("did you mean `{n}`?"))
                    .unwrap_or_else(|| {
                        format!(
                            "environments: {}",
                            names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                        )
                    });
                anyhow::bail!("no environment `{e}` in `{}`\n  = help: {hint}", self.display);
            }
        }
        Ok(render::Options { only_envs: args.envs.clone(), config_name: self.config_name() })
    }
}

pub fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal(),
    }
}

/// Entry point of the binary.
pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let color = use_color(cli.global.color);
    let json = commands::wants_json(&cli.command);
    match commands::dispatch(cli) {
        Ok(Outcome::Ok) => ExitCode::SUCCESS,
        Ok(Outcome::Differs) | Ok(Outcome::Failed) => ExitCode::from(1),
        Ok(Outcome::Changes) => ExitCode::from(2),
        // A reader that went away (`| head`) is not an error.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) if json => {
            // A JSON consumer gets JSON: the error as an object on stdout, nothing on stderr.
            let v = match e.downcast_ref::<Report>() {
                Some(r) => serde_json::json!({ "error": crate::commands::validate::report_json(r) }),
                None => {
                    serde_json::json!({ "error": { "message": crate::config::doc::mask_credentials(&format_chain(&e)) } })
                }
            };
            use std::io::Write as _;
            let _ = writeln!(std::io::stdout(), "{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            ExitCode::from(2)
        }
        Err(e) => {
            print_error(&e, color);
            ExitCode::from(2)
        }
    }
}

/// An error as every command prints it: a config diagnostic, or `error: …` with its causes.
pub fn print_error(e: &anyhow::Error, color: bool) {
    match e.downcast_ref::<Report>() {
        Some(report) => eprint!("{}", report.render(color)),
        None => eprintln!("error: {}", crate::config::doc::mask_credentials(&format_chain(e))),
    }
}

fn format_chain(e: &anyhow::Error) -> String {
    let mut s = e.to_string();
    for cause in e.chain().skip(1) {
        s.push_str(&format!(": {cause}"));
    }
    s
}
