//! The command-line definition (clap) and `run`, the binary's entry point:
//! parse, route to the command, turn its result into the exit code
//! (`crate::exit`).

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use crate::args::Global;
use crate::commands;
use crate::exit::Outcome;

const AFTER_HELP: &str = "\
Exit codes (every command):
  0    success: nothing differs, nothing refused
  1    a difference was found: diff, render --check, drift, plan --detailed-exitcode,
       promote --check, doctor, status, push --verify-record, diff --budget-gate
  2    an error: invalid config, bad arguments, an unknown environment, a failed tool
  3    refused before changing anything (more): generated/ out of date, not approved,
       not the approved plan, a release pull request not merged in time
  130  interrupted (143: SIGTERM), the write in progress finished or undone
  With --json (or --format json) a failure is {\"error\": {kind, exit_code, message, problems}} on stdout.

Examples:
  myhealthctl render                    # render every environment into generated/
  myhealthctl diff                      # is generated/ up to date? (CI gate)
  myhealthctl diff --base HEAD~1        # what did the last commit do to the output?
  myhealthctl envs --json               # resolved values per environment";

/// Render the myHealth platform (Terraform, Helm, CI, monitoring) from one typed `myhealth.toml`.
#[derive(Parser, Debug)]
#[command(name = "myhealthctl", version, about, after_help = AFTER_HELP, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
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
        after_help = "Exit codes: 0 planned (with or without changes; with --detailed-exitcode, 1 when there are changes); 2 an error (the plan failed); 3 refused (generated/ out of date).\n\nExamples:\n  myhealthctl plan dev\n  myhealthctl plan dev --detailed-exitcode || [ $? -eq 1 ]   # 1: there are changes\n  myhealthctl plan prod --format markdown >> comment.md\n  myhealthctl plan dev --json --plugin-dir /opt/tf-plugins"
    )]
    Plan(commands::plan::PlanCmd),
    /// Apply exactly the plan `plan` saved, after the drift gate (and only if it is the approved one, with `--expect-fingerprint`)
    #[command(
        after_help = "Exit codes: 0 applied (or nothing to apply); 2 an error; 3 refused (generated/ out of date, another fingerprint, not approved).\n\nExamples:\n  myhealthctl plan dev && myhealthctl apply dev\n  myhealthctl apply prod --expect-fingerprint \"$FINGERPRINT\"   # CI: the plan the PR reviewed"
    )]
    Apply(commands::apply::ApplyCmd),
    /// Build, push, apply the infrastructure and roll out the release of an environment, then smoke-test it
    #[command(
        after_help = "Steps: drift check → build → terraform plan → approval → apply → push → release values (digests) → kubeconfig → namespace → helm upgrade --install (rolled back on failure) → smoke test of /health (rolled back on failure).\n\nExamples:\n  myhealthctl deploy dev --dry-run        # the ordered steps and exact commands, nothing run\n  myhealthctl deploy dev\n  myhealthctl deploy dev --only api-service --skip-infra\n  myhealthctl deploy prod --yes           # production is never applied unattended without --yes"
    )]
    Deploy(commands::deploy::DeployCmd),
    /// Has the live platform drifted from the code? Terraform's refresh-only plan per resource and attribute, the owning config key, ArgoCD's sync
    #[command(
        after_help = "Exit codes: 0 no drift; 1 the live platform drifted; 2 an error (terraform failed, ArgoCD unreachable); 3 refused (generated/ out of date, so the owning keys cannot be named).\n\nExamples:\n  myhealthctl drift prod\n  myhealthctl drift dev --json\n  myhealthctl drift staging --format markdown > issue.md   # the scheduled workflow's issue body"
    )]
    Drift(commands::drift::DriftCmd),
    /// Check what the delivery path rests on outside the repository: GitHub's settings, the AWS roles' trust, ArgoCD's access
    #[command(
        after_help = "Read-only. Each finding comes with its exact fix (a `gh api` command, a setting).\nExit codes: 0 nothing to fix; 1 something to fix (or nothing could be read: it fails closed); 2 an error.\nGitHub: GH_TOKEN or GITHUB_TOKEN (read access to Administration, Environments, Actions), GITHUB_API_URL.\n\nExamples:\n  GH_TOKEN=$(gh auth token) myhealthctl doctor --github\n  myhealthctl doctor dev --aws               # with the credentials of dev's plan role\n  myhealthctl doctor --json"
    )]
    Doctor(commands::doctor::DoctorCmd),
    /// Where a setting comes from, and the files, Terraform, Kubernetes objects and cost it drives
    #[command(
        after_help = "Examples:\n  myhealthctl explain rds.instance_class --env prod\n  myhealthctl explain eks.node_groups.general.desired_size --json\n  myhealthctl explain services.api-service.port --manifests"
    )]
    Explain(commands::explain::ExplainCmd),
    /// Copy one environment's release record (digests, chart, commit) to the next, show what changes there, write it for a PR
    #[command(
        after_help = "Exit codes: 0 promoted (or nothing to change); 1 with --check, the promotion would change TO; 2 an error.\n\nExamples:\n  myhealthctl promote dev staging          # writes myhealth.toml and generated/: commit, open a PR\n  myhealthctl promote staging prod --check"
    )]
    Promote(commands::promote::PromoteCmd),
    /// What each environment runs (its release record) and, where its ArgoCD is reachable, what is live
    #[command(
        after_help = "Exit codes: 0; 1 when what is live is not synced, not healthy or not the recorded images; 2 an error.\n\nExamples:\n  myhealthctl status\n  ARGOCD_SERVER=https://127.0.0.1:8080 ARGOCD_AUTH_TOKEN=… myhealthctl status dev --argocd-insecure"
    )]
    Status(commands::status::StatusCmd),
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
        after_help = "Policies: the Rego policies in `policy/` beside the config (or --policy DIR) run after the built-in checks; a `deny` is an error, a `warn` a warning (docs/policy.md).\n\nExamples:\n  myhealthctl validate\n  myhealthctl validate --config ./myhealth.toml\n  myhealthctl validate --json\n  myhealthctl validate --policy policy/ --all-namespaces"
    )]
    Validate(commands::validate::ValidateCmd),
    /// Test the Rego policies `validate` and `render` evaluate
    #[command(
        after_help = "Policies are `*.rego` files in `policy/` beside the config (`validate --policy DIR`); see docs/policy.md.\n\nExamples:\n  myhealthctl policy test\n  myhealthctl policy test policy/ --json"
    )]
    Policy(commands::policy::PolicyCmd),
    /// Print the resolved settings of each environment
    #[command(
        after_help = "Examples:\n  myhealthctl envs\n  myhealthctl envs --json | jq '.[] | .name'\n  myhealthctl envs --env prod --json"
    )]
    Envs(commands::envs::EnvsCmd),
    /// Print the module dependency graph of an environment
    #[command(
        after_help = "Examples:\n  myhealthctl graph dev\n  myhealthctl graph prod --format dot > prod.dot   # dot -Tsvg prod.dot > prod.svg\n  myhealthctl graph dev --json | jq -r '.edges[] | \"\\(.from) -> \\(.to)\"'"
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
    /// Serve the language server of myhealth.toml on stdin/stdout (diagnostics, hover, completion, definition, quick fixes)
    #[command(
        after_help = "Editors start it; see docs/editors.md for VS Code, Neovim, Helix and Zed.\n\nExamples:\n  myhealthctl lsp\n  myhealthctl lsp --policy policy/"
    )]
    Lsp(commands::lsp::LspCmd),
    /// Print shell completions
    #[command(
        after_help = "Examples:\n  myhealthctl completions bash > ~/.local/share/bash-completion/completions/myhealthctl\n  myhealthctl completions zsh > ~/.zfunc/_myhealthctl   # with fpath+=~/.zfunc in ~/.zshrc\n  myhealthctl completions fish > ~/.config/fish/completions/myhealthctl.fish"
    )]
    Completions(commands::completions::CompletionsCmd),
}

impl Command {
    /// Whether the command prints JSON: then its failures are the JSON
    /// envelope on stdout (`exit::Envelope`), with these fields beside it.
    fn json_failure(&self) -> Option<serde_json::Map<String, serde_json::Value>> {
        use crate::args::Format;
        let json = match self {
            Command::Render(c) => c.json,
            Command::Validate(c) => {
                // `valid` sits at the top in both outcomes.
                return c.json.then(|| serde_json::Map::from_iter([("valid".to_string(), false.into())]));
            }
            Command::Envs(c) => c.json,
            Command::Policy(c) => c.json(),
            Command::Cost(c) => c.json,
            Command::Build(c) => c.json,
            Command::Push(c) => c.json,
            Command::Affected(c) => c.json,
            Command::Deploy(c) => c.json,
            Command::Doctor(c) => c.json,
            Command::Explain(c) => c.json,
            Command::Promote(c) => c.json,
            Command::Status(c) => c.json,
            Command::Apply(c) => c.json,
            Command::Destroy(c) => c.json,
            Command::Graph(c) => c.json || c.format == commands::graph::GraphFormat::Json,
            Command::Drift(c) => c.json || c.format == Format::Json,
            Command::Plan(c) => c.json || c.format == Format::Json,
            Command::Diff(c) => c.json || c.format == Format::Json,
            Command::Schema(_) | Command::Init(_) | Command::Completions(_) | Command::Lsp(_) => false,
        };
        json.then(serde_json::Map::new)
    }

    fn run(self, g: &Global) -> anyhow::Result<Outcome> {
        match self {
            Command::Render(c) => c.run(g),
            Command::Diff(c) => c.run(g),
            Command::Affected(c) => c.run(g),
            Command::Build(c) => c.run(g),
            Command::Push(c) => c.run(g),
            Command::Plan(c) => c.run(g),
            Command::Apply(c) => c.run(g),
            Command::Destroy(c) => c.run(g),
            Command::Promote(c) => c.run(g),
            Command::Explain(c) => c.run(g),
            Command::Drift(c) => c.run(g),
            Command::Doctor(c) => c.run(g),
            Command::Status(c) => c.run(g),
            Command::Deploy(c) => c.run(g),
            Command::Validate(c) => c.run(g),
            Command::Envs(c) => c.run(g),
            Command::Policy(c) => c.run(g),
            Command::Graph(c) => c.run(g),
            Command::Cost(c) => c.run(g),
            Command::Schema(c) => c.run(),
            Command::Init(c) => c.run(),
            Command::Lsp(c) => c.run(),
            Command::Completions(c) => c.run(g, Cli::command()),
        }
    }
}

/// Entry point of the binary.
pub fn run() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // clap's help and errors follow `--color`, `NO_COLOR` and `TERM` as ours do.
    let color = match crate::args::ColorChoice::from_args(&args).enabled() {
        true => clap::ColorChoice::Always,
        false => clap::ColorChoice::Never,
    };
    let parsed = Cli::command()
        .color(color)
        .try_get_matches_from(&args)
        .and_then(|m| <Cli as clap::FromArgMatches>::from_arg_matches(&m));
    let cli = match parsed {
        Ok(c) => c,
        Err(e) if !e.use_stderr() => {
            // `--help`, `--version`: not an error.
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            if asks_for_json(args.iter().skip(1).cloned()) {
                crate::exit::Envelope::usage(&e.render().to_string()).print(serde_json::Map::new());
            } else {
                let _ = e.print();
            }
            return ExitCode::from(crate::exit::ExitStatus::Error.code());
        }
    };
    let shown = match cli.command.json_failure() {
        Some(extra) => crate::exit::Shown::Json(extra),
        None => crate::exit::Shown::Text { color: cli.global.color.enabled() },
    };
    crate::exit::finish(cli.command.run(&cli.global), shown)
}

/// Whether a command line clap refused asked for JSON (`--json`,
/// `--format json`, `--format=json`): its usage error is then JSON too.
fn asks_for_json(args: impl Iterator<Item = std::ffi::OsString>) -> bool {
    let args: Vec<String> = args.map(|a| a.to_string_lossy().into_owned()).collect();
    args.iter().enumerate().any(|(i, a)| {
        a == "--json" || a == "--format=json" || (a == "--format" && args.get(i + 1).is_some_and(|f| f == "json"))
    })
}
