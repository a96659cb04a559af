//! `explain`: where a setting of one environment comes from and what it
//! drives. Backward: the built-in default, `[defaults]` and
//! `[environments.<env>]`, each with its file:line, the winner marked.
//! Forward, by tracking the value through a render rather than searching
//! the output for it: the key is set to a different value in a copy of the
//! config (`toml_edit`), both configs are rendered, and what differs is
//! where the value lands — files and line numbers, the Terraform blocks and
//! attributes those lines belong to, the Kubernetes objects of the chart
//! (with Helm, `ops::manifests`), and the cost items that move (the key's
//! share of the estimate).

use std::collections::BTreeMap;

use anyhow::{anyhow, bail};
use serde::Serialize;
use serde_json::Value;

use crate::config::Config;
use crate::config::doc::{Doc, key_path, parse_key_path};
use crate::config::keys::{self, Chain, Cover, Found, Layer, Provenance};
use crate::config::model::Environment;
use crate::cost::{Assumptions, estimate};
use crate::tree::Tree;

/// One source in a key's chain.
#[derive(Debug, Clone, Serialize)]
pub struct Source {
    /// `built-in`, `[defaults]`, `[environments.<env>]`.
    pub layer: String,
    /// `file:line:column`, for the two layers of the file.
    pub at: Option<String>,
    pub value: Option<Value>,
    pub wins: bool,
}

/// Where a changed value lands in one generated file.
#[derive(Debug, Clone, Serialize)]
pub struct Landing {
    pub file: String,
    /// Line numbers in the file as rendered now.
    pub lines: Vec<usize>,
    /// For Terraform: `block attribute` for each line that sits in a block
    /// (`module "rds" instance_class`), or the variable a tfvars line sets
    /// with the blocks that read it.
    pub terraform: Vec<String>,
}

/// The explanation of one setting in one environment.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    pub environment: String,
    pub key: String,
    pub value: Value,
    /// Where the value comes from: the same record `envs --provenance` prints.
    pub provenance: Provenance,
    pub chain: Vec<Source>,
    pub lands: Vec<Landing>,
    /// `Kind namespace/name` of the chart's objects it changes (`None`: not rendered).
    pub kubernetes: Option<Vec<String>>,
    /// The cost items it moves (`service: detail`) and their current sum.
    pub cost_items: Vec<String>,
    pub cost_usd: f64,
    pub total_usd: f64,
    /// The value the forward half was tracked with (`None`: not tracked).
    pub probe: Option<Value>,
    /// Why the forward half was not tracked, when it was not.
    pub untracked: Option<String>,
}

/// The explanation of a table in one environment: its settings, each with
/// where it comes from (`explain` one of them for what it drives).
#[derive(Debug, Clone, Serialize)]
pub struct TableExplanation {
    pub environment: String,
    pub key: String,
    pub settings: Vec<Provenance>,
}

/// What `explain` says about one key path in one environment.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Explained {
    Setting(Box<Explanation>),
    Table(TableExplanation),
}

pub mod driver;
mod edit;
mod lands;
mod text;

pub use edit::set;
use edit::{probes, replace_in};
use lands::{changed_lines, hcl_places, root_of, tfvar_readers};

/// Renders the chart of two trees and names the objects that differ, per environment.
pub type ObjectsFn<'a> = &'a dyn Fn(&Config, &Config, &Tree, &Tree) -> anyhow::Result<BTreeMap<String, Vec<String>>>;

/// The chart's objects that differ between two renders, per environment,
/// as the real Helm renders them (`ops::manifests`): `explain --manifests`
/// and the language server's hover with `lsp --manifests`.
pub fn chart_objects(a: &Config, b: &Config, x: &Tree, y: &Tree) -> anyhow::Result<BTreeMap<String, Vec<String>>> {
    crate::ops::manifests::release_changes(Some(a), b, x, y)
        .map(|m| m.into_iter().map(|(e, v)| (e, v.into_iter().map(|o| o.object).collect())).collect())
}

/// A key path as asked, resolved: the settings it names and in which
/// environments. `environments.<env>.KEY` (the form diagnostics print) is
/// `KEY` of `<env>`; `defaults.KEY` is `KEY`.
struct Asked<'a> {
    key: String,
    envs: Vec<&'a Environment>,
}

fn asked<'a>(key: &str, envs: &[&'a Environment], only_env: bool) -> anyhow::Result<Asked<'a>> {
    let segments = parse_key_path(key).unwrap_or_default();
    let (key, envs) = match segments.as_slice() {
        [first, env, rest @ ..] if first == "environments" && !rest.is_empty() => {
            let Some(e) = envs.iter().find(|e| &e.name.value == env) else {
                bail!(
                    "`{key}` names environment `{env}`, which {}",
                    if only_env { "--env leaves out" } else { "the config does not have" }
                );
            };
            (key_path(rest), vec![*e])
        }
        [first, rest @ ..] if first == "defaults" && !rest.is_empty() => (key_path(rest), envs.to_vec()),
        _ => (key.to_string(), envs.to_vec()),
    };
    Ok(Asked { key, envs })
}

/// Explain each of `keys` for every environment of `envs` that has it
/// (`only_env`: `envs` is what `--env` chose). `render` renders a config;
/// `helm` renders the chart objects of two trees (None: not asked).
#[allow(clippy::too_many_arguments)]
pub fn explain(
    cfg: &Config,
    text: &str,
    display: &str,
    keys_asked: &[String],
    envs: &[&Environment],
    only_env: bool,
    render: &dyn Fn(&Config) -> anyhow::Result<Tree>,
    helm: Option<ObjectsFn<'_>>,
) -> anyhow::Result<Vec<Explained>> {
    let doc = Doc::parse(text).map_err(|_| anyhow!("`{display}` does not parse"))?;
    let flat: BTreeMap<&str, BTreeMap<String, Value>> =
        envs.iter().map(|e| (e.name.value.as_str(), keys::flatten(e))).collect();
    // Every key resolved first: a wrong one is refused before anything renders.
    let mut jobs: Vec<(&Environment, Found)> = Vec::new();
    for key in keys_asked {
        let a = asked(key, envs, only_env)?;
        let found: Vec<(&Environment, Found)> =
            a.envs.iter().filter_map(|e| keys::find(&flat[e.name.value.as_str()], &a.key).map(|f| (*e, f))).collect();
        if found.is_empty() {
            let mut all: Vec<String> = a.envs.iter().flat_map(|e| keys::names(&flat[e.name.value.as_str()])).collect();
            all.sort();
            all.dedup();
            let within = match a.envs.as_slice() {
                [e] if only_env || a.key != *key => format!(" in `{}`", e.name.value),
                _ => String::new(),
            };
            match keys::nearest(&a.key, &all) {
                Some(n) => bail!("no setting `{}`{within}\n  = help: did you mean `{n}`?", a.key),
                None => bail!(
                    "no setting `{}`{within}\n  = help: `myhealthctl envs --provenance` lists every setting",
                    a.key
                ),
            }
        }
        jobs.extend(found);
    }
    let a = Assumptions::default();
    let now = match jobs.iter().any(|(_, f)| matches!(f, Found::Setting { .. })) {
        true => render(cfg)?,
        false => Tree::new(),
    };
    let now = &now;
    let mut out = Vec::new();
    for (e, found) in jobs {
        let env = e.name.value.as_str();
        let (key, value) = match found {
            Found::Table { key, keys } => {
                let settings =
                    keys.iter().map(|k| Provenance::of(&doc, text, display, env, k, &flat[env][k])).collect();
                out.push(Explained::Table(TableExplanation { environment: env.to_string(), key, settings }));
                continue;
            }
            Found::Setting { key, value } => (key, value),
        };
        let segments = parse_key_path(&key).map_err(|e| anyhow!("`{key}`: {e}"))?;
        // Backward: each layer of the file that bears on it, and the built-in.
        let chain = Chain::of(&doc, text, env, &segments);
        let (winner, _) = chain.winner();
        let mut sources = vec![Source {
            layer: Layer::BuiltIn.table(env),
            at: None,
            value: (winner == Layer::BuiltIn).then(|| value.clone()),
            wins: winner == Layer::BuiltIn,
        }];
        for (layer, cover) in [(Layer::Defaults, &chain.defaults), (Layer::Environment, &chain.environment)] {
            let (setting, raw) = match cover {
                Some(Cover::Sets(s)) => (s, text.get(s.span.clone())),
                // It sets the enclosing list, which does not hold the key.
                Some(Cover::Replaces(s)) => (s, None),
                None => continue,
            };
            sources.push(Source {
                layer: layer.table(env),
                at: Some(format!("{display}:{}:{}", setting.line, setting.column)),
                value: raw
                    .and_then(|r| toml::from_str::<toml::Value>(&format!("v = {r}")).ok())
                    .and_then(|t| serde_json::to_value(&t["v"]).ok()),
                wins: winner == layer,
            });
        }
        let provenance = Provenance::of(&doc, text, display, env, &key, &value);
        // Forward: render with another value and compare.
        let tracked = track(text, display, env, &flat[env], &key, &segments, &value, render);
        let (probe_value, probed, varied) = match tracked {
            Ok(t) => t,
            Err(why) => {
                out.push(Explained::Setting(Box::new(Explanation {
                    environment: env.to_string(),
                    key,
                    value,
                    provenance,
                    chain: sources,
                    lands: Vec::new(),
                    kubernetes: None,
                    cost_items: Vec::new(),
                    cost_usd: 0.0,
                    total_usd: estimate(e, &a).total_usd,
                    probe: None,
                    untracked: Some(why),
                })));
                continue;
            }
        };
        let mut lands = Vec::new();
        for (file, bytes) in now {
            let other = varied.get(file).map(Vec::as_slice).unwrap_or(&[]);
            if other == bytes.as_slice() {
                continue;
            }
            let lines = changed_lines(bytes, other);
            let text_now = String::from_utf8_lossy(bytes);
            let terraform = if file.ends_with(".tfvars") {
                tfvar_readers(&text_now, &root_of(now, file), &lines)
            } else if file.ends_with(".tf") {
                hcl_places(&text_now, &lines)
            } else {
                Vec::new()
            };
            lands.push(Landing { file: file.clone(), lines, terraform });
        }
        // A file only the varied render has.
        for file in varied.keys().filter(|f| !now.contains_key(*f)) {
            lands.push(Landing { file: file.clone(), lines: Vec::new(), terraform: Vec::new() });
        }
        let kubernetes = match helm {
            Some(h) => Some(h(cfg, &probed, now, &varied)?.remove(env).unwrap_or_default()),
            None => None,
        };
        let (before, after) = (estimate(e, &a), probed.env(env).map(|p| estimate(p, &a)));
        let mut cost_items = Vec::new();
        let mut cost_usd = 0.0;
        if let Some(after) = &after {
            for item in &before.items {
                let moved = !after
                    .items
                    .iter()
                    .any(|x| x.service == item.service && x.detail == item.detail && x.monthly_usd == item.monthly_usd);
                if moved {
                    cost_items.push(format!(
                        "{}: {} ({})",
                        item.service,
                        item.detail,
                        crate::cost::usd(item.monthly_usd)
                    ));
                    cost_usd += item.monthly_usd;
                }
            }
        }
        out.push(Explained::Setting(Box::new(Explanation {
            environment: env.to_string(),
            key,
            value,
            provenance,
            chain: sources,
            lands,
            kubernetes,
            cost_items,
            cost_usd,
            total_usd: before.total_usd,
            probe: Some(probe_value),
            untracked: None,
        })));
    }
    Ok(out)
}

/// The config with `key` of `env` varied — the first probe that loads and
/// renders — and its render; or why none does. What is said never quotes
/// the varied text: its lines are not the file's.
#[allow(clippy::too_many_arguments)]
fn track(
    text: &str,
    display: &str,
    env: &str,
    flat: &BTreeMap<String, Value>,
    key: &str,
    segments: &[String],
    value: &Value,
    render: &dyn Fn(&Config) -> anyhow::Result<Tree>,
) -> Result<(Value, Config, Tree), String> {
    let Some(schema) = keys::schema_at(segments) else {
        return Err(format!("`{key}` is derived from other settings, not a key of `{display}`: explain those"));
    };
    let candidates = probes(value, Some(schema));
    if candidates.is_empty() {
        return Err(format!("explain cannot vary {value}: explain the settings inside it"));
    }
    let mut why = String::new();
    // An element of a list setting (`…instance_types.0`): the whole list,
    // as the environment has it, with the element varied.
    let list = (!flat.contains_key(key))
        .then(|| (1..segments.len()).rev().find(|n| flat.get(&key_path(&segments[..*n])).is_some_and(Value::is_array)))
        .flatten();
    for p in candidates {
        let (at, to) = match list {
            Some(n) => {
                let mut whole = flat[&key_path(&segments[..n])].clone();
                replace_in(&mut whole, &segments[n..], p.clone());
                (key_path(&segments[..n]), whole)
            }
            None => (key.to_string(), p.clone()),
        };
        let varied = match set(text, env, &at, &to) {
            Ok(t) => t,
            Err(e) => {
                why = format!("it cannot be set to {p}: {e}");
                continue;
            }
        };
        let loaded = crate::config::load_historic(crate::diagnostics::Source { text: varied, name: display.into() });
        let probed = match loaded {
            Ok(c) => c,
            Err(r) => {
                let first = r
                    .diagnostics
                    .first()
                    .map_or("invalid configuration".into(), |d| crate::credentials::mask_credentials(&d.message));
                why = format!("set to {p}, the config does not load ({first})");
                continue;
            }
        };
        match render(&probed) {
            Ok(tree) => return Ok((p, probed, tree)),
            Err(e) => why = format!("set to {p}, the config does not render ({e})"),
        }
    }
    Err(why)
}

#[cfg(test)]
mod tests {
    use super::*;
    use edit::bumped;

    fn fixture(path: &str) -> (String, Config) {
        let text = std::fs::read_to_string(format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        let cfg = crate::config::load(crate::diagnostics::Source { name: path.into(), text: text.clone() }).unwrap();
        (text, cfg)
    }

    /// `explain` as the command runs it, without Helm.
    fn run(path: &str, keys: &[&str], env: &str) -> anyhow::Result<Vec<Explained>> {
        let (text, cfg) = fixture(path);
        let templates = crate::render::Templates::embedded();
        let opts = crate::render::Options { only_envs: Vec::new(), config_name: path.into() };
        let render = |c: &Config| crate::render::render(c, &templates, &opts);
        let envs = vec![cfg.env(env).unwrap()];
        let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        explain(&cfg, &text, path, &keys, &envs, true, &render, None)
    }

    fn setting(x: &Explained) -> &Explanation {
        match x {
            Explained::Setting(x) => x,
            Explained::Table(t) => panic!("{} is a table", t.key),
        }
    }

    #[test]
    fn a_key_that_drives_nothing_says_so_and_values_are_varied_by_type() {
        let x = Explained::Setting(Box::new(Explanation {
            environment: "dev".into(),
            key: "a.b".into(),
            value: Value::from(1),
            provenance: Provenance {
                key: "a.b".into(),
                value: Value::from(1),
                layer: Layer::BuiltIn,
                file: None,
                line: None,
                column: None,
                path: None,
            },
            chain: vec![Source { layer: "built-in".into(), at: None, value: Some(Value::from(1)), wins: true }],
            lands: vec![],
            kubernetes: Some(vec![]),
            cost_items: vec![],
            cost_usd: 0.0,
            total_usd: 10.0,
            probe: Some(Value::from(2)),
            untracked: None,
        }));
        assert!(x.to_string().contains("drives nothing"), "{}", x.to_string());
        assert_eq!(probes(&Value::Bool(true), None), [Value::Bool(false)]);
        assert_eq!(probes(&Value::from(2), None), [Value::from(3), Value::from(1)]);
        assert_eq!(probes(&Value::from("x"), None), [Value::from("x-probe")]);
        assert_eq!(probes(&Value::from("1.33"), None), [Value::from("1.33-probe"), Value::from("1.34")]);
        assert_eq!(bumped("10.0.0.0/16").as_deref(), Some("10.0.0.0/17"));
        assert_eq!(bumped("a09b").as_deref(), Some("a10b"));
        assert!(probes(&Value::Null, None).is_empty());
        let effect = keys::schema_at(&["eks", "node_groups", "g", "taints", "0", "effect"]).unwrap();
        assert_eq!(probes(&Value::from("NO_SCHEDULE"), Some(effect)), [Value::from("PREFER_NO_SCHEDULE")]);
        let t = set("[environments.dev]\neks = { cluster_name = \"c\" }\n", "dev", "eks.version", &Value::from("1.33"))
            .unwrap();
        let v: toml::Value = toml::from_str(&t).unwrap();
        assert_eq!(v["environments"]["dev"]["eks"]["version"].as_str(), Some("1.33"));
        assert_eq!(v["environments"]["dev"]["eks"]["cluster_name"].as_str(), Some("c"));
        assert_eq!(changed_lines(b"a\nb\nc\n", b"a\nB\nc\n"), [2]);
        // A line only added is placed after the line it follows, in the file as it is now.
        assert_eq!(changed_lines(b"a\nb\nc\n", b"x\ny\na\nb\nz\nc\n"), [1, 2]);
    }

    /// Bug (#23): whether a line reads `var.X` was decided by the character
    /// at a fixed column instead of the one after the match, so aligned
    /// arguments (`enable_vpc_endpoints     = var.vpc_endpoints`) were
    /// "(unused)".
    #[test]
    fn a_variable_read_by_an_aligned_argument_is_used() {
        let main = "module \"networking\" {\n  enable_vpc_endpoints     = var.vpc_endpoints\n}\n\nmodule \"budget\" {\n  limit_usd      = var.budget_limit_usd\n  other          = var.budget_limit_usd_x\n}\n";
        let root = [("main.tf", main.to_string())];
        let tfvars = "vpc_endpoints = false\nbudget_limit_usd = 250.0\nnobody = 1\n";
        assert_eq!(
            tfvar_readers(tfvars, &root, &[1, 2, 3]),
            [
                "var.vpc_endpoints → module \"networking\" enable_vpc_endpoints",
                "var.budget_limit_usd → module \"budget\" limit_usd",
                "var.nobody → (unused)",
            ]
        );
        let providers = [("providers.tf", "provider \"aws\" {\n  region = var.region\n}\n".to_string())];
        assert_eq!(
            tfvar_readers("region = \"x\"\n", &providers, &[1]),
            ["var.region → provider \"aws\" region (providers.tf)"]
        );
    }

    /// Bug (#23): the dotted label key was split at its dots when varied, so
    /// the varied config did not load and the error quoted the varied
    /// config's lines, which are not in the file.
    #[test]
    fn a_quoted_label_key_is_varied_in_place() {
        let text = "[defaults.eks.node_groups.general]\nlabels = { \"myhealth.io/pool\" = \"general\" }\n";
        let t = set(text, "dev", "eks.node_groups.general.labels.\"myhealth.io/pool\"", &Value::from("x")).unwrap();
        let v: toml::Value = toml::from_str(&t).unwrap();
        assert_eq!(
            v["environments"]["dev"]["eks"]["node_groups"]["general"]["labels"]["myhealth.io/pool"].as_str(),
            Some("x")
        );
        let x = run("myhealth.toml", &["eks.node_groups.general.labels.\"myhealth.io/pool\""], "prod").unwrap();
        let x = setting(&x[0]);
        assert_eq!(x.untracked, None);
        assert_eq!(x.provenance.layer, Layer::Defaults);
        assert!(x.lands.iter().any(|l| l.file == "terraform/envs/prod/terraform.tfvars"), "{:?}", x.lands);
    }

    /// Bug (#23): a list element, an enumerated value and a list of tables
    /// (taints) could not be explained; an element is varied by writing
    /// the whole list the environment reads.
    #[test]
    fn list_elements_enumerations_and_lists_of_tables_are_explained() {
        let t = set(
            "[defaults.eks.node_groups.g]\ntaints = [{ key = \"a\", effect = \"NO_SCHEDULE\" }]\n",
            "dev",
            "eks.node_groups.g.taints.0.effect",
            &Value::from("NO_EXECUTE"),
        )
        .unwrap();
        let v: toml::Value = toml::from_str(&t).unwrap();
        let taint = &v["environments"]["dev"]["eks"]["node_groups"]["g"]["taints"][0];
        assert_eq!((taint["key"].as_str(), taint["effect"].as_str()), (Some("a"), Some("NO_EXECUTE")));
        let x = run(
            "tests/fixtures/multi-region.toml",
            &[
                "eks.node_groups.system.taints.0.effect",
                "eks.node_groups.workers.instance_types.1",
                "eks.node_groups.system.capacity_type",
                "eks.node_groups.system.taints",
            ],
            "dev",
        )
        .unwrap();
        for x in &x[..3] {
            let x = setting(x);
            assert_eq!(x.untracked, None, "{}", x.key);
            assert!(
                x.lands.iter().any(|l| l.file == "terraform/envs/dev/terraform.tfvars"),
                "{}: {:?}",
                x.key,
                x.lands
            );
        }
        assert_eq!(setting(&x[1]).value, "m5.large");
        assert_eq!(setting(&x[1]).provenance.line, Some(37));
        let Explained::Table(t) = &x[3] else { panic!("taints is a table of its elements") };
        assert_eq!(
            t.settings.iter().map(|p| (p.key.as_str(), p.line)).collect::<Vec<_>>(),
            [
                ("eks.node_groups.system.taints.0.effect", Some(34)),
                ("eks.node_groups.system.taints.0.key", Some(34)),
                ("eks.node_groups.system.taints.0.value", Some(34))
            ]
        );
    }

    /// Bug (#23): `explain rds` got a did-you-mean naming a setting; a table
    /// is explained by its settings, and a wrong table name is near the table.
    #[test]
    fn a_table_lists_its_settings_and_a_wrong_one_is_corrected_to_a_table() {
        let x = run("myhealth.toml", &["rds", "environments.prod.eks.node_groups.general"], "prod").unwrap();
        let Explained::Table(rds) = &x[0] else { panic!("rds is a table") };
        let class = rds.settings.iter().find(|p| p.key == "rds.instance_class").unwrap();
        assert_eq!((class.layer, class.value.as_str()), (Layer::Environment, Some("db.r6g.large")));
        assert!(matches!(&x[1], Explained::Table(t) if t.key == "eks.node_groups.general"));
        let e = run("myhealth.toml", &["eks.node_groups.genral"], "prod").unwrap_err().to_string();
        assert!(e.contains("did you mean `eks.node_groups.general`?"), "{e}");
    }
}
