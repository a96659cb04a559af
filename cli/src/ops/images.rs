//! The images of the bundled services: the one `cargo build` command line
//! that compiles them all (built here, shown by `deploy --dry-run`, run as
//! built), the OCI layouts written from its binaries (`crate::image`), the
//! push of exactly the planned references (`crate::registry`), and the
//! records `build` and `push` leave for `push` and `deploy` in the work
//! directory (`Project::work_dir`).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Serialize;

use crate::config::Config;
use crate::config::model::Environment;
use crate::image::{self, Built};
use crate::process::Process;
use crate::project::Project;
use crate::registry::{self, Pushed};

/// The cargo profile of the images' binaries (`[profile.dist]` of the
/// workspace: thin LTO, one codegen unit) — not `release`, which stays lean
/// so that building the CLI itself is quick.
pub const PROFILE: &str = "dist";

/// `cargo build` of every bundled service in one run: cargo unifies
/// features per invocation, so building one alone could link different code
/// and give another digest for the same commit.
///
/// Run from the project root. Variables cargo sets for the crate *it* is
/// running (`OUT_DIR`, `CARGO_PKG_NAME`, `CARGO_MANIFEST_DIR`, …, present
/// when myhealthctl itself runs under `cargo run` or a test) are removed:
/// ring's build script, for one, is fingerprinted with `OUT_DIR`, and a
/// build that saw one would be redone — minutes of ring, rustls, sqlx and
/// the AWS SDK — by the next plain `myhealthctl build` or `deploy`.
pub fn cargo_command(p: &Project, cfg: &Config) -> Process {
    let mut cargo = Process::new("cargo").args(["build", "--profile", PROFILE, "--locked"]).cwd(&p.root);
    for s in p.bundled(cfg) {
        cargo = cargo.args(["-p".into(), s]);
    }
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        if k == "OUT_DIR"
            || ["CARGO_PKG_", "CARGO_MANIFEST_", "CARGO_BIN_", "CARGO_CRATE_", "CARGO_PRIMARY_", "CARGO_TARGET_TMPDIR"]
                .iter()
                .any(|pre| k.starts_with(pre))
        {
            cargo = cargo.env_remove(k.as_ref());
        }
    }
    cargo
}

/// The images' tag: the commit's first 12 hex digits, `-dirty` with uncommitted changes.
pub fn tag(root: &Path) -> String {
    let (revision, _, dirty) = crate::git::head(root).unwrap_or(("unknown".into(), 0, false));
    let short = &revision[..revision.len().min(12)];
    if dirty { format!("{short}-dirty") } else { short.to_string() }
}

/// Replace `path` whole or not at all: a reader (a concurrent `push`) never
/// sees a half-written record.
pub fn write_record(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().context("a record path has a directory")?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, bytes)?;
    tmp.persist(path).with_context(|| format!("cannot write `{}`", path.display()))?;
    Ok(())
}

/// Run `cargo` (a [`cargo_command`]), its output the user's to watch.
pub fn compile(cargo: &Process) -> anyhow::Result<()> {
    eprintln!("== {cargo}");
    cargo.run_inherited()?;
    Ok(())
}

/// Write the images of `services` from the binaries [`compile`] left, and
/// record them in `images.json` (beside those of services built earlier).
pub fn package(
    p: &Project,
    cfg: &Config,
    services: &[String],
    ca_bundle: &Path,
    out: &Path,
) -> anyhow::Result<Vec<Built>> {
    let (revision, commit_time, _) = crate::git::head(&p.root).unwrap_or(("unknown".into(), 0, false));
    // SOURCE_DATE_EPOCH (reproducible-builds.org) overrides the commit's time.
    let epoch = std::env::var("SOURCE_DATE_EPOCH").ok().and_then(|s| s.parse().ok()).unwrap_or(commit_time);
    let tag = tag(&p.root);
    let source = format!("https://github.com/{}/{}", cfg.project.github_owner.value, cfg.project.github_repo.value);
    let mut built = Vec::new();
    for s in services {
        let binary = p.cargo_target_dir().join(PROFILE).join(s);
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
    let record = out.join("images.json");
    let mut all: Vec<Built> =
        std::fs::read(&record).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
    all.retain(|old| !built.iter().any(|b| b.service == old.service) && old.layout.join("index.json").is_file());
    all.extend(built.iter().cloned());
    all.sort_by(|a, b| a.service.cmp(&b.service));
    write_record(&record, &serde_json::to_vec_pretty(&all)?)?;
    Ok(built)
}

/// The images `build` recorded.
pub fn built_images(p: &Project) -> anyhow::Result<Vec<Built>> {
    let bytes = std::fs::read(p.images_dir().join("images.json"))
        .context("no images built yet: run `myhealthctl build` first")?;
    Ok(serde_json::from_slice(&bytes)?)
}

/// One image to push, decided before anything is pushed.
#[derive(Debug, Clone, Serialize)]
pub struct PushImage {
    pub service: String,
    /// `<registry>/<project>-<env>/<service>` (`names::ecr_repository`).
    pub repository: String,
    pub tag: String,
}

/// Where the images go for `env`: its ECR (or `registry`), each
/// `(service, tag)` under the tag it is (or is about to be) built with.
pub fn push_plan(
    cfg: &Config,
    env: &Environment,
    images: &[(String, String)],
    registry: Option<&str>,
) -> (String, Vec<PushImage>) {
    let names = crate::names::Names::of(cfg, env);
    let host = registry.map(str::to_string).unwrap_or_else(|| names.ecr_host());
    let images = images
        .iter()
        .map(|(s, tag)| PushImage {
            service: s.clone(),
            repository: format!("{host}/{}", names.ecr_repository(s)),
            tag: tag.clone(),
        })
        .collect();
    (host, images)
}

/// Push exactly `images` (each must have been built with its planned tag)
/// and record what was pushed in `pushed-<env>.json` for `deploy`.
pub fn push(p: &Project, env: &Environment, host: &str, images: &[PushImage]) -> anyhow::Result<Vec<Pushed>> {
    let built = built_images(p)?;
    let auth = registry::credentials(host)?;
    let mut pushed = Vec::new();
    for i in images {
        let b = built
            .iter()
            .find(|b| b.service == i.service)
            .with_context(|| format!("no image of `{}` was built: run `myhealthctl build {}`", i.service, i.service))?;
        if b.tag != i.tag {
            bail!(
                "the image of `{}` was built as `{}`, not `{}`: run `myhealthctl build {}` again",
                i.service,
                b.tag,
                i.tag,
                i.service
            );
        }
        pushed.push(registry::push(&b.layout, &b.service, &i.repository, &i.tag, &auth)?);
    }
    write_record(&pushed_record(p, env), &serde_json::to_vec_pretty(&pushed)?)?;
    Ok(pushed)
}

/// Tag each pushed image `release-<digest>` too, once a release record pins
/// it: ECR's lifecycle policy never expires that prefix, so a recorded
/// digest outlives `ecr.keep_last` newer pushes. Manifests only (the blobs
/// are there).
pub fn pin_release(p: &Project, host: &str, pushed: &[Pushed]) -> anyhow::Result<()> {
    let built = built_images(p)?;
    let auth = registry::credentials(host)?;
    for x in pushed {
        let b = built.iter().find(|b| b.service == x.service).context("a pushed image was built")?;
        registry::push(&b.layout, &b.service, &x.repository, &crate::names::Names::release_tag(&x.digest), &auth)?;
    }
    Ok(())
}

/// The record of the last push for `env`.
pub fn pushed_record(p: &Project, env: &Environment) -> PathBuf {
    p.images_dir().join(format!("pushed-{}.json", env.name.value))
}
