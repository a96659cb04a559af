//! The argument types several commands share (global flags, the render and
//! tree options, terraform's pass-through flags, output formats). A leaf:
//! the clap tree (`cli`), the commands and the project context read these,
//! and this module reads nothing of ours.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

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

impl ColorChoice {
    /// Whether to colour what goes to stderr: `auto` is off for a
    /// non-terminal, a non-empty `NO_COLOR` (no-color.org: an empty one does
    /// not count) and `TERM=dumb`.
    pub fn enabled(self) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
                    && std::io::stderr().is_terminal()
            }
        }
    }

    /// The choice on a command line clap has not parsed yet (`--color X`,
    /// `--color=X`), so that clap's own help and errors follow it too.
    pub fn from_args(args: &[std::ffi::OsString]) -> ColorChoice {
        let args: Vec<String> = args.iter().map(|a| a.to_string_lossy().into_owned()).collect();
        let value = args.iter().enumerate().find_map(|(i, a)| match a.strip_prefix("--color=") {
            Some(v) => Some(v.to_string()),
            None if a == "--color" => args.get(i + 1).cloned(),
            None => None,
        });
        match value.as_deref() {
            Some("always") => ColorChoice::Always,
            Some("never") => ColorChoice::Never,
            _ => ColorChoice::Auto,
        }
    }
}

/// Options shared by the commands that render.
#[derive(Args, Debug, Clone, Default)]
pub struct RenderArgs {
    /// Only these environments (repeatable) [default: all]
    #[arg(long = "env", short = 'e', value_name = "NAME")]
    pub envs: Vec<String>,
    #[command(flatten)]
    pub tree: TreeArgs,
}

/// Where the rendered output is and which templates make it: the options of
/// the commands that act on one environment's rendered output (`plan`,
/// `deploy`, `destroy`; their positional ENV is the environment), and part
/// of [`RenderArgs`].
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
        RenderArgs { envs: vec![env.to_string()], tree: self.clone() }
    }
}

/// What `terraform init` gets passed through (`plan`, `deploy`, `destroy`).
#[derive(Args, Debug, Default, Clone)]
pub struct InitArgs {
    /// Passed to `terraform init -plugin-dir` (a provider mirror; repeatable)
    #[arg(long, value_name = "DIR")]
    pub plugin_dir: Vec<PathBuf>,
    /// Passed to `terraform init -backend-config` (e.g. an endpoint; repeatable)
    #[arg(long, value_name = "KEY=VALUE")]
    pub backend_config: Vec<String>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Format {
    /// For people
    #[default]
    Text,
    /// For a pull-request comment
    Markdown,
    /// Machine-readable summary
    Json,
}

/// Which Rego policies `validate` and `render` evaluate (`crate::policy`), with conftest's flags.
#[derive(Args, Debug, Clone, Default)]
pub struct PolicyArgs {
    /// Directory of Rego policies (`*.rego`) and their data (`*.json`, `*.yaml`) [default: `policy/` beside the config, when it exists]
    #[arg(long = "policy", env = "MYHEALTH_POLICY", value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Evaluate the rules of this package (repeatable) [default: `main`, as conftest]
    #[arg(long = "namespace", value_name = "PACKAGE")]
    pub namespaces: Vec<String>,
    /// Evaluate the rules of every package
    #[arg(long)]
    pub all_namespaces: bool,
    /// Rego syntax of the policies: `v1` (`deny contains msg if`) or `v0` (`deny[msg] {`), as conftest's flag
    #[arg(long, value_enum, default_value_t = RegoVersion::V1, value_name = "VERSION")]
    pub rego_version: RegoVersion,
}

/// Rego's two syntaxes.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RegoVersion {
    V0,
    #[default]
    V1,
}

impl PolicyArgs {
    pub fn options(&self) -> crate::policy::Options {
        let mut o = crate::policy::Options {
            all_namespaces: self.all_namespaces,
            rego_v0: self.rego_version == RegoVersion::V0,
            builtins: true,
            ..Default::default()
        };
        if !self.namespaces.is_empty() {
            o.namespaces = self.namespaces.clone();
        }
        o
    }
}
