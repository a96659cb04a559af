//! `myhealthctl build [SERVICE…]`: compile the bundled services in release
//! mode and write a reproducible OCI image layout per service under
//! `target/images/<service>/` — no container daemon involved (`image`).
//! Prints each image's digest and size; `target/images/images.json` lists
//! them for `push`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use clap::Args;

use crate::cli::{Global, Outcome, Project};
use crate::image::{self, Built};

#[derive(Args, Debug)]
pub struct BuildCmd {
    /// Services to build [default: every service in the config]
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,
    /// CA certificates to put in the images
    #[arg(long, value_name = "FILE", default_value = "/etc/ssl/certs/ca-certificates.crt")]
    pub ca_bundle: PathBuf,
    /// Print the built images as JSON
    #[arg(long)]
    pub json: bool,
}

/// Where images are written, and the record `push` reads.
pub fn images_dir(root: &Path) -> PathBuf {
    target_dir(root).join("images")
}

pub fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).map(|t| root.join(t)).unwrap_or_else(|| root.join("target"))
}

/// A service is bundled when this repository has its crate.
pub fn is_bundled(root: &Path, service: &str) -> bool {
    root.join("services").join(service).join("Cargo.toml").is_file()
}

impl BuildCmd {
    pub fn run(self, g: &Global) -> anyhow::Result<Outcome> {
        let p = Project::locate(g)?;
        let cfg = p.load()?;
        let all = cfg.service_names();
        for s in &self.services {
            if !all.contains(s) {
                bail!(
                    "`{s}` is not a service of `{}`; services: {}",
                    p.display,
                    all.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                );
            }
        }
        let services = if self.services.is_empty() { all } else { self.services.clone() };
        for s in &services {
            if !is_bundled(&p.root, s) {
                bail!("service `{s}` is not bundled: there is no crate `services/{s}/` to build");
            }
        }
        let built = build(&p, &cfg, &services, &self.ca_bundle)?;
        if self.json {
            crate::outln!("{}", serde_json::to_string_pretty(&built)?);
        } else {
            for b in &built {
                crate::outln!(
                    "{:<16} {}  {:>6.1} MiB  {}",
                    b.service,
                    b.digest,
                    b.size as f64 / 1048576.0,
                    b.layout.display()
                );
            }
        }
        Ok(Outcome::Ok)
    }
}

/// Replace `path` whole or not at all: a reader (a concurrent `push`) never
/// sees a half-written record.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().context("a record path has a directory")?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, bytes)?;
    tmp.persist(path).with_context(|| format!("cannot write `{}`", path.display()))?;
    Ok(())
}

/// The images' tag: the commit's first 12 hex digits, `-dirty` with uncommitted changes.
pub fn tag(root: &Path) -> String {
    let (revision, _, dirty) = crate::git::head(root).unwrap_or(("unknown".into(), 0, false));
    let short = &revision[..revision.len().min(12)];
    if dirty { format!("{short}-dirty") } else { short.to_string() }
}

/// Compile the bundled services and write the images of `services`;
/// records them in `images.json`.
pub fn build(
    p: &Project,
    cfg: &crate::config::Config,
    services: &[String],
    ca_bundle: &Path,
) -> anyhow::Result<Vec<Built>> {
    // Always every bundled service in one cargo run: cargo unifies features
    // per invocation, so building one alone could link different code and
    // give another digest for the same commit.
    let bundled: Vec<String> = cfg.service_names().into_iter().filter(|s| is_bundled(&p.root, s)).collect();
    let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cargo.current_dir(&p.root).args(["build", "--release", "--locked"]);
    for s in &bundled {
        cargo.args(["-p", s]);
    }
    eprintln!("== cargo build --release {}", bundled.join(" "));
    let status = cargo.status().context("cannot run `cargo`")?;
    if !status.success() {
        bail!("`cargo build --release` failed for {}", services.join(", "));
    }
    let (revision, commit_time, _) = crate::git::head(&p.root).unwrap_or(("unknown".into(), 0, false));
    // SOURCE_DATE_EPOCH (reproducible-builds.org) overrides the commit's time.
    let epoch = std::env::var("SOURCE_DATE_EPOCH").ok().and_then(|s| s.parse().ok()).unwrap_or(commit_time);
    let tag = tag(&p.root);
    let source = format!("https://github.com/{}/{}", cfg.project.github_owner.value, cfg.project.github_repo.value);
    let out = images_dir(&p.root);
    let mut built = Vec::new();
    for s in services {
        let binary = target_dir(&p.root).join("release").join(s);
        let spec = image::Spec {
            service: s,
            binary: &binary,
            ca_bundle,
            source: &source,
            revision: &revision,
            epoch,
            tag: &tag,
        };
        built.push(image::build(&spec, &out.join(s))?);
    }
    // The record keeps images built earlier of services not rebuilt now.
    let record = out.join("images.json");
    let mut all: Vec<Built> =
        std::fs::read(&record).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
    all.retain(|old| !built.iter().any(|b| b.service == old.service) && old.layout.join("index.json").is_file());
    all.extend(built.iter().cloned());
    all.sort_by(|a, b| a.service.cmp(&b.service));
    write_atomic(&record, &serde_json::to_vec_pretty(&all)?)?;
    Ok(built)
}
