//! Release records: what each environment runs, pinned by digest, kept in
//! `myhealth.toml` as `[environments.<env>.release]` (the commit the images
//! were built from, the chart version, a digest per service). Written — with
//! the file's comments and layout kept (`toml_edit`) — by `push --record`,
//! `promote` and `deploy`, then rendered so the environment's values pull
//! each image by digest; read by `status` and `promote`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use serde::Serialize;

use crate::config::model::Environment;
use crate::project::Project;
use crate::registry::Pushed;

/// One environment's record, as plain values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Record {
    pub commit: String,
    pub chart: String,
    /// Service → `sha256:…`.
    pub images: BTreeMap<String, String>,
}

impl Record {
    /// The record `env` carries in the config, if any.
    pub fn of(env: &Environment) -> Option<Record> {
        env.release.as_ref().map(|r| Record {
            commit: r.commit.value.clone(),
            chart: r.chart.value.clone(),
            images: r.images.iter().map(|(s, d)| (s.value.clone(), d.value.clone())).collect(),
        })
    }

    /// The record of images just pushed, built from `commit`: over the
    /// environment's previous record, so a partial push (`--only`) keeps
    /// the other services' digests.
    /// Images that did not change keep the record as it is, commit included
    /// (a later commit built the same images: the release did not move).
    pub fn pushed(previous: Option<Record>, pushed: &[Pushed], commit: String) -> Record {
        let mut images = previous.as_ref().map(|r| r.images.clone()).unwrap_or_default();
        for x in pushed {
            images.insert(x.service.clone(), x.digest.clone());
        }
        let next = Record { commit, chart: crate::names::CHART_VERSION.to_string(), images };
        match previous {
            Some(p) if p.images == next.images && p.chart == next.chart => p,
            _ => next,
        }
    }
}

/// What changes from `old` to `new`, one line per key (`key: old → new`).
pub fn changes(old: Option<&Record>, new: &Record) -> Vec<String> {
    let none = "(none)".to_string();
    let mut out = Vec::new();
    let mut line = |key: String, a: Option<&String>, b: Option<&String>| {
        if a != b {
            out.push(format!("{key}: {} → {}", short(a.unwrap_or(&none)), short(b.unwrap_or(&none))));
        }
    };
    line("commit".into(), old.map(|r| &r.commit), Some(&new.commit));
    line("chart".into(), old.map(|r| &r.chart), Some(&new.chart));
    let services: std::collections::BTreeSet<&String> =
        old.iter().flat_map(|r| r.images.keys()).chain(new.images.keys()).collect();
    for s in services {
        line(format!("images.{s}"), old.and_then(|r| r.images.get(s)), new.images.get(s));
    }
    out
}

/// A digest or commit shortened for a table (`sha256:0123456789ab`).
pub fn short(v: &str) -> String {
    match v.strip_prefix("sha256:") {
        Some(hex) if hex.len() > 12 => format!("sha256:{}", &hex[..12]),
        _ if v.len() == 40 && v.bytes().all(|b| b.is_ascii_hexdigit()) => v[..12].to_string(),
        _ => v.to_string(),
    }
}

/// `text` (a `myhealth.toml`) with `env`'s release set to `record`, every
/// other byte kept.
pub fn write_into(text: &str, env: &str, record: &Record) -> anyhow::Result<String> {
    use toml_edit::{DocumentMut, Item, Table, value};
    let mut doc: DocumentMut = text.parse().context("the config is not valid TOML")?;
    let envs =
        doc.get_mut("environments").and_then(Item::as_table_like_mut).context("the config has no `[environments]`")?;
    let Some(e) = envs.get_mut(env).and_then(Item::as_table_like_mut) else {
        bail!("the config has no `[environments.{env}]`");
    };
    let mut images = Table::new();
    for (service, digest) in &record.images {
        images.insert(service, value(digest.as_str()));
    }
    let mut release = Table::new();
    release.decor_mut().set_prefix(format!(
        "\n# What `{env}` runs, pinned by digest: written by myhealthctl (push --record, promote, deploy).\n"
    ));
    release.insert("commit", value(record.commit.as_str()));
    release.insert("chart", value(record.chart.as_str()));
    release.insert("images", Item::Table(images));
    e.insert("release", Item::Table(release));
    Ok(doc.to_string())
}

/// Write `record` as `env`'s release into the project's config (atomically:
/// a temporary file renamed over it), check that the result still loads,
/// and return the new text.
pub fn record(p: &Project, env: &str, record: &Record) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(&p.config_path).with_context(|| format!("cannot read `{}`", p.display))?;
    let next = write_into(&text, env, record)?;
    // Refused before anything is written if the record does not validate.
    crate::config::load(crate::diagnostics::Source { text: next.clone(), name: p.display.clone() })
        .map_err(|r| anyhow::anyhow!("the release record does not validate:\n{}", r.render(false)))?;
    let dir = p.config_path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, next.as_bytes())?;
    tmp.persist(&p.config_path).map_err(|e| e.error).with_context(|| format!("cannot write `{}`", p.display))?;
    Ok(next)
}

/// Render the project's tree again from its (just written) config, as
/// `render` does with the same tree options: the new record reaches the
/// environment's values. Returns the config as loaded and the files changed.
pub fn rerender(p: &Project, tree: &crate::args::TreeArgs) -> anyhow::Result<(crate::config::Config, usize)> {
    let cfg = p.load()?;
    let args = crate::args::RenderArgs { envs: vec![], tree: tree.clone() };
    let opts = p.render_options(&cfg, &args)?;
    let fresh = crate::render::render(&cfg, &p.templates(tree)?, &opts)?;
    let outputs = p.outputs(&cfg, tree);
    let changed = crate::changes::compare(&outputs.read()?, &fresh).len();
    outputs.write(fresh, false)?;
    Ok((cfg, changed))
}

/// The commit the images are built from: `HEAD`, refused when the services'
/// sources differ from it (the record would name a commit that did not
/// build them).
pub fn build_commit(root: &Path) -> anyhow::Result<String> {
    let commit =
        crate::git::run(root, &["rev-parse", "HEAD"]).context("a release records the commit it was built from")?;
    let dirty = crate::git::run(root, &["status", "--porcelain", "--", "services", "Cargo.lock", "Cargo.toml"])?;
    if !dirty.is_empty() {
        bail!(
            "the services differ from the commit `{}`; commit them first, so the release names the commit that built it:\n{dirty}",
            short(&commit)
        );
    }
    Ok(commit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_written_into_the_config_keeping_the_rest() {
        let text =
            "# mine\n[project]\nname = \"x\" # keep\n\n[environments.dev]\nproduction = false\n\n[environments.prod]\n";
        let r = Record {
            commit: "a".repeat(40),
            chart: "0.1.0".into(),
            images: [("api-service".to_string(), format!("sha256:{}", "b".repeat(64)))].into(),
        };
        let out = write_into(text, "dev", &r).unwrap();
        assert!(out.starts_with("# mine\n[project]\nname = \"x\" # keep\n"), "{out}");
        let v: toml::Value = toml::from_str(&out).unwrap();
        assert_eq!(v["environments"]["dev"]["release"]["commit"].as_str(), Some(r.commit.as_str()));
        assert_eq!(
            v["environments"]["dev"]["release"]["images"]["api-service"].as_str(),
            r.images.get("api-service").map(|s| s.as_str())
        );
        assert!(v["environments"]["prod"].get("release").is_none());
        // Written again: the same text (a second record replaces the first).
        assert_eq!(write_into(&out, "dev", &r).unwrap(), out);
        assert!(write_into(text, "qa", &r).is_err());
        let mut newer = r.clone();
        newer.images.insert("data-processor".into(), format!("sha256:{}", "c".repeat(64)));
        assert_eq!(changes(Some(&r), &newer), ["images.data-processor: (none) → sha256:cccccccccccc"]);
    }
}
