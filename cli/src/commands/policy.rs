//! `myhealthctl policy test [DIR]`: run the policies' own `test_*` rules
//! (as `opa test`); exit 0 all pass, 1 some fail, 2 an error.
//! `policy input ENV`: the `input` a config policy sees for an environment
//! (as `conftest parse`); `policy schema`: that input's JSON Schema;
//! `policy builtin`: the built-in rules, which the config disables.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::args::{Global, RegoVersion};
use crate::exit::Outcome;
use crate::policy::{self, test::Verdict};
use crate::project::Project;

#[derive(Args, Debug)]
pub struct PolicyCmd {
    #[command(subcommand)]
    pub action: PolicyAction,
}

#[derive(Subcommand, Debug)]
pub enum PolicyAction {
    /// Run every `test_*` rule of every package: PASS/FAIL per test
    #[command(
        after_help = "Exit codes: 0 every test passed; 1 some failed; 2 an error (a policy that does not parse, a test that errors).\n\nExamples:\n  myhealthctl policy test\n  myhealthctl policy test policy/ --json\n  myhealthctl policy test legacy-policies --rego-version v0"
    )]
    Test(TestArgs),
    /// Print the JSON Schema of a policy's `input` of one kind
    #[command(
        after_help = "Examples:\n  myhealthctl policy schema > docs/policy-input.schema.json\n  myhealthctl policy schema terraform > docs/policy-input-terraform.schema.json"
    )]
    Schema {
        /// The input: config, kubernetes, terraform, workflow or plan
        #[arg(value_name = "KIND", default_value = "config", value_parser = clap::builder::PossibleValuesParser::new(["config", "kubernetes", "terraform", "workflow", "plan"]))]
        kind: String,
    },
    /// Print the `input` a policy sees for an environment (as `conftest parse`): the config's, or a JSON array of the rendered platform's of one kind
    #[command(
        after_help = "Examples:\n  myhealthctl policy input prod\n  myhealthctl policy input dev | jq .sources\n  myhealthctl policy input prod --kind kubernetes | jq '.[] | select(.kind == \"Deployment\")'"
    )]
    Input {
        /// The environment
        #[arg(value_name = "ENV")]
        env: String,
        /// Which input: config, kubernetes, terraform or workflow (a plan's is made by `plan`)
        #[arg(long, value_name = "KIND", default_value = "config", value_parser = clap::builder::PossibleValuesParser::new(["config", "kubernetes", "terraform", "workflow"]))]
        kind: String,
    },
    /// List the built-in rules, each marked when `[policy] disable` turns it off (`--source`: their Rego)
    #[command(
        after_help = "Examples:\n  myhealthctl policy builtin\n  myhealthctl policy builtin --source > policy/production.rego   # to override them"
    )]
    Builtin {
        /// Print the built-in modules' Rego instead
        #[arg(long)]
        source: bool,
    },
}

#[derive(Args, Debug)]
pub struct TestArgs {
    /// Directory of Rego policies and tests [default: `policy/` beside the config, else `./policy`]
    pub dir: Option<PathBuf>,
    /// Rego syntax of the policies, as conftest's flag
    #[arg(long, value_enum, default_value_t = RegoVersion::V1, value_name = "VERSION")]
    pub rego_version: RegoVersion,
    /// Print the results as JSON
    #[arg(long)]
    pub json: bool,
}

impl PolicyCmd {
    pub fn json(&self) -> bool {
        match &self.action {
            PolicyAction::Test(t) => t.json,
            PolicyAction::Schema { .. } | PolicyAction::Input { .. } | PolicyAction::Builtin { .. } => false,
        }
    }

    pub fn run(self, g: &Global) -> anyhow::Result<Outcome> {
        let t = match self.action {
            PolicyAction::Test(t) => t,
            PolicyAction::Schema { kind } => {
                let kind = policy::subject::Category::parse(&kind).unwrap_or(policy::subject::Category::Config);
                crate::outln!("{}", serde_json::to_string_pretty(&policy::input::schema_of(kind))?);
                return Ok(Outcome::Ok);
            }
            PolicyAction::Input { env, kind } => {
                let p = Project::locate(g)?;
                let cfg = p.read()?;
                let e = p.environment(&cfg, &env)?;
                let kind = policy::subject::Category::parse(&kind).unwrap_or(policy::subject::Category::Config);
                if kind != policy::subject::Category::Config {
                    let args = crate::args::RenderArgs::default();
                    let tree = crate::render::render(&cfg, &p.templates(&args.tree)?, &p.render_options(&cfg, &args)?)?;
                    let inputs: Vec<serde_json::Value> = p
                        .rendered_subjects(&cfg, &tree, &|c| c == kind)?
                        .into_iter()
                        .filter(|s| s.environment.as_deref().is_none_or(|x| x == env))
                        .map(|s| s.input)
                        .collect();
                    crate::outln!("{}", serde_json::to_string_pretty(&inputs)?);
                    return Ok(Outcome::Ok);
                }
                let text = std::fs::read_to_string(&p.config_path)?;
                let doc = crate::config::doc::Doc::parse(&text)
                    .map_err(|_| anyhow::anyhow!("`{}` does not parse", p.display))?;
                let input = policy::input::config(&doc, &text, &p.display, e);
                crate::outln!("{}", serde_json::to_string_pretty(&input)?);
                return Ok(Outcome::Ok);
            }
            PolicyAction::Builtin { source } => return builtin(g, source),
        };
        let dir = match t.dir {
            Some(d) => d,
            None => Project::locate(g)
                .map_or_else(|_| PathBuf::from(policy::DEFAULT_DIR), |p| p.root.join(policy::DEFAULT_DIR)),
        };
        let dir = policy::locate(Some(&dir), &dir)?.unwrap_or(dir);
        let options = policy::Options { rego_v0: t.rego_version == RegoVersion::V0, ..Default::default() };
        let mut loaded = policy::load(Some(&dir), options)?;
        let report = policy::test::run(&mut loaded);
        if t.json {
            crate::outln!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            crate::outln!("{report}");
        }
        let errors = report.count(Verdict::Error);
        if errors > 0 {
            anyhow::bail!("{errors} policy test(s) failed with an error");
        }
        Ok(if report.count(Verdict::Fail) > 0 { Outcome::Differs } else { Outcome::Ok })
    }
}

/// `policy builtin`: each built-in rule's name, and where the config (when
/// there is one) disables it; or the modules' Rego.
fn builtin(g: &Global, source: bool) -> anyhow::Result<Outcome> {
    if source {
        for m in policy::builtin::MODULES {
            crate::outln!("# {} ({})\n{}", m.package, m.file, m.source);
        }
        return Ok(Outcome::Ok);
    }
    let disabled = match Project::locate(g) {
        Ok(p) => {
            let cfg = p.read()?;
            let text = std::fs::read_to_string(&p.config_path)?;
            policy::disabled_rules(&cfg, &text)
                .into_iter()
                .map(|d| (d.rule, format!("{}:{}", p.display, d.line)))
                .collect()
        }
        Err(_) => Vec::new(),
    };
    for name in policy::disable::rule_names() {
        match disabled.iter().find(|(r, _)| *r == name) {
            Some((_, at)) => crate::outln!("{name}  disabled ({at})"),
            None => crate::outln!("{name}"),
        }
    }
    Ok(Outcome::Ok)
}
