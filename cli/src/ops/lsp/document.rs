//! The server's state of one open document — its text and version, the
//! project it is the config of, what its last check found, and what hover
//! loaded and computed for this version — and the options every check
//! runs with.

use std::collections::HashMap;
use std::path::PathBuf;

use lsp_types::Url;

use super::diagnose;
use crate::args::PolicyArgs;
use crate::config::Config;
use crate::project::Project;
use crate::render::Templates;

/// What the server checks documents with: the command line's templates and policies.
pub struct Options {
    pub templates: Templates,
    pub policy: PolicyArgs,
    /// Hover names the Kubernetes objects a key changes, rendering the
    /// chart with Helm (as `explain --manifests`; seconds, not milliseconds).
    pub manifests: bool,
}

/// One open document: its text as the editor holds it, and what the last
/// check found (the quick fixes are read back from it).
pub struct Document {
    pub text: String,
    pub version: i32,
    pub project: Project,
    pub diagnostics: Vec<diagnose::Found>,
    /// The config of this version, loaded for hover on first use (`None`: not yet).
    pub config: Option<Option<Config>>,
    /// Hover texts of this version, by key: what a key drives is rendered once.
    pub hovers: HashMap<String, String>,
}

impl Document {
    /// Whether this is a myhealthctl config: named `myhealth.toml`, or with
    /// a `[project]` and an `[environments.…]` table. An editor may attach
    /// the server to every TOML file (Helix, VS Code); `Cargo.toml` is not
    /// ours to judge.
    pub fn ours(&self) -> bool {
        let named = self.project.config_path.file_name().is_some_and(|n| n == crate::config::DEFAULT_FILE);
        let header = |h: &str| self.text.lines().any(|l| l.trim_start().starts_with(h));
        named || (header("[project]") && header("[environments."))
    }

    pub fn new(uri: &Url, text: String, version: i32) -> Document {
        Document {
            project: project_of(uri),
            text,
            version,
            diagnostics: Vec::new(),
            config: None,
            hovers: HashMap::new(),
        }
    }

    /// Load the config of this text, for hover, once per version: as
    /// `validate` loads it, or — while it has errors — typed and resolved
    /// without the rules (`load_historic`), so hover still works on a
    /// config being fixed.
    pub fn load(&mut self) {
        if self.config.is_none() {
            let source = crate::diagnostics::Source { name: self.project.display.clone(), text: self.text.clone() };
            let loaded = crate::config::load_for(source.clone(), crate::config::Mode::Read)
                .or_else(|_| crate::config::load_historic(source))
                .ok();
            self.config = Some(loaded);
        }
    }
}

/// The project a document belongs to: the file itself as the config (its
/// directory the project's root, for `policy/`); an unsaved buffer is
/// taken as `myhealth.toml` in the working directory.
fn project_of(uri: &Url) -> Project {
    let cwd = std::env::current_dir().unwrap_or_default();
    let path = uri.to_file_path().unwrap_or_else(|_| cwd.join(crate::config::DEFAULT_FILE));
    let display = path.strip_prefix(&cwd).unwrap_or(&path).to_string_lossy().into_owned();
    let root = path.parent().map(PathBuf::from).unwrap_or(cwd);
    Project { config_path: path, display, root, color: false }
}
