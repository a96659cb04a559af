//! The Kubernetes objects an environment's release consists of, rendered by
//! the real Helm (`helm template`, the program in `MYHEALTHCTL_HELM`, else
//! `helm` on PATH) from a chart and that environment's values, and what a
//! change does to them: objects added, changed and removed by kind and name,
//! then each changed object's YAML diff. A Secret's data is never shown:
//! its values are replaced before anything is compared or printed (a change
//! of them is reported, not what they are).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Serialize;
use serde_yaml_ng::Value;

use crate::process::Process;

/// One rendered object.
#[derive(Debug, Clone)]
pub struct Object {
    /// `Kind namespace/name`.
    pub id: String,
    pub yaml: String,
    /// A Secret whose data differs only in its hidden values still counts as changed.
    pub secret_digest: Option<String>,
}

/// What to render: the chart, the release, its namespace, the values files in order.
pub struct Release<'a> {
    pub chart: &'a Path,
    pub name: &'a str,
    pub namespace: &'a str,
    pub values: Vec<PathBuf>,
}

/// The Helm program used.
pub fn helm_program() -> String {
    std::env::var("MYHEALTHCTL_HELM").unwrap_or_else(|_| "helm".into())
}

/// `helm template NAME CHART --namespace NS --values F…`.
pub fn template_command(r: &Release<'_>) -> Process {
    let mut v = Process::new(helm_program()).args([
        "template".into(),
        r.name.into(),
        r.chart.display().to_string(),
        "--namespace".into(),
        r.namespace.to_string(),
    ]);
    for f in &r.values {
        v = v.args(["--values".into(), f.display().to_string()]);
    }
    v
}

/// Render `r` and split Helm's output into objects.
pub fn render(r: &Release<'_>) -> anyhow::Result<Vec<Object>> {
    let helm = template_command(r);
    let out = helm
        .output()
        .with_context(|| format!("cannot run `{}` (install Helm, or set MYHEALTHCTL_HELM)", helm.program()))?;
    if !out.status.success() {
        bail!("`{helm}` failed:\n{}", String::from_utf8_lossy(&out.stderr));
    }
    objects(&String::from_utf8_lossy(&out.stdout), r.namespace)
}

/// The objects of a multi-document YAML stream (`default_ns` for those without one).
pub fn objects(text: &str, default_ns: &str) -> anyhow::Result<Vec<Object>> {
    let mut out = Vec::new();
    for doc in serde_yaml_ng::Deserializer::from_str(text) {
        let mut v = Value::deserialize(doc).context("Helm printed YAML that does not parse")?;
        if v.is_null() {
            continue;
        }
        let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let kind = s(&v["kind"]);
        let ns = match s(&v["metadata"]["namespace"]) {
            n if n.is_empty() => default_ns.to_string(),
            n => n,
        };
        let id = format!("{kind} {ns}/{}", s(&v["metadata"]["name"]));
        let secret_digest = (kind == "Secret").then(|| hide_secret_data(&mut v));
        out.push(Object { id, yaml: serde_yaml_ng::to_string(&v)?, secret_digest });
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

use serde::Deserialize as _;

/// Replace every value of a Secret's `data`/`stringData` with a placeholder;
/// returns a digest of the hidden values, kept only to tell "changed" apart.
pub fn hide_secret_data(v: &mut Value) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for field in ["data", "stringData"] {
        if let Some(m) = v.get_mut(field).and_then(Value::as_mapping_mut) {
            for (k, val) in m.iter_mut() {
                h.update(serde_yaml_ng::to_string(k).unwrap_or_default());
                h.update(serde_yaml_ng::to_string(val).unwrap_or_default());
                *val = Value::String("(hidden)".into());
            }
        }
    }
    format!("{:x}", h.finalize())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Added,
    Changed,
    Removed,
}

/// One object a change touches.
#[derive(Debug, Clone, Serialize)]
pub struct ObjectChange {
    pub change: Change,
    /// `Kind namespace/name`.
    pub object: String,
    /// The YAML diff (empty for a Secret whose hidden data alone changed).
    #[serde(skip)]
    pub diff: String,
}

/// What differs between two renders of a release.
pub fn compare(old: &[Object], new: &[Object]) -> Vec<ObjectChange> {
    fn index(v: &[Object]) -> BTreeMap<String, &Object> {
        v.iter().map(|o| (o.id.clone(), o)).collect()
    }
    let (a, b) = (index(old), index(new));
    let mut ids: Vec<&String> = a.keys().chain(b.keys()).collect();
    ids.sort();
    ids.dedup();
    let mut out = Vec::new();
    for id in ids {
        let (o, n) = (a.get(id), b.get(id));
        let change = match (o, n) {
            (None, Some(_)) => Change::Added,
            (Some(_), None) => Change::Removed,
            (Some(x), Some(y)) if x.yaml != y.yaml || x.secret_digest != y.secret_digest => Change::Changed,
            _ => continue,
        };
        let (ot, nt) = (o.map(|x| x.yaml.as_str()).unwrap_or(""), n.map(|x| x.yaml.as_str()).unwrap_or(""));
        let diff = similar::TextDiff::from_lines(ot, nt).unified_diff().context_radius(3).header(id, id).to_string();
        out.push(ObjectChange { change, object: id.clone(), diff });
    }
    out
}

/// The Helm part of `tree` (the chart and each environment's values)
/// written under `dir`, for `helm template` to read.
pub fn write_helm(tree: &crate::tree::Tree, dir: &Path) -> anyhow::Result<()> {
    for (path, bytes) in tree.iter().filter(|(p, _)| p.starts_with("helm/")) {
        let dest = dir.join(path);
        std::fs::create_dir_all(dest.parent().expect("a file has a directory"))?;
        std::fs::write(dest, bytes)?;
    }
    Ok(())
}

/// What a change does to every environment's release: the chart and values
/// of `old` (the tree committed at the base) and `new` (rendered now), each
/// rendered by Helm with that side's release name and namespace. An
/// environment only one side has is all added or all removed.
pub fn release_changes(
    base: Option<&crate::config::Config>,
    head: &crate::config::Config,
    old: &crate::tree::Tree,
    new: &crate::tree::Tree,
) -> anyhow::Result<BTreeMap<String, Vec<ObjectChange>>> {
    let scratch = tempfile::tempdir()?;
    let (a, b) = (scratch.path().join("base"), scratch.path().join("head"));
    write_helm(old, &a)?;
    write_helm(new, &b)?;
    let side = |dir: &Path, cfg: Option<&crate::config::Config>, env: &str| -> anyhow::Result<Vec<Object>> {
        let Some(cfg) = cfg else { return Ok(Vec::new()) };
        let Some(e) = cfg.env(env) else { return Ok(Vec::new()) };
        let n = crate::names::Names::of(cfg, e);
        let (chart, values) = (dir.join(crate::names::CHART_DIR), dir.join(n.values_file()));
        if !chart.join("Chart.yaml").is_file() || !values.is_file() {
            return Ok(Vec::new());
        }
        let (name, namespace) = (n.release(), n.namespace());
        render(&Release { chart: &chart, name: &name, namespace: &namespace, values: vec![values] })
    };
    let mut envs: Vec<String> = head.env_names();
    for n in base.map(|c| c.env_names()).unwrap_or_default() {
        if !envs.contains(&n) {
            envs.push(n);
        }
    }
    let mut out = BTreeMap::new();
    for env in envs {
        let before = side(&a, base.or(Some(head)), &env)?;
        let after = side(&b, Some(head), &env)?;
        out.insert(env, compare(&before, &after));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_by_kind_and_name_secret_data_hidden() {
        let old = objects(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {x: '1'}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: other}\ndata: {password: c2VjcmV0}\n",
            "myhealth",
        )
        .unwrap();
        let new = objects(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {x: '2'}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: other}\ndata: {password: bmV3c2VjcmV0}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: b}\n",
            "myhealth",
        )
        .unwrap();
        let ch = compare(&old, &new);
        let seen: Vec<(Change, &str)> = ch.iter().map(|c| (c.change, c.object.as_str())).collect();
        assert_eq!(
            seen,
            [
                (Change::Changed, "ConfigMap myhealth/a"),
                (Change::Changed, "Secret other/s"),
                (Change::Added, "Service myhealth/b")
            ]
        );
        for c in &ch {
            assert!(!c.diff.contains("c2VjcmV0") && !c.diff.contains("bmV3c2VjcmV0"), "{}", c.diff);
        }
        assert!(ch[0].diff.contains("-  x: '1'") && ch[0].diff.contains("+  x: '2'"), "{}", ch[0].diff);
    }
}
