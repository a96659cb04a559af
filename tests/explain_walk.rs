//! `explain` and `envs --provenance` over every key of the default config
//! and every fixture: each setting `envs --provenance --json` lists, each
//! element of a list in the form diagnostics print (`…instance_types.0`),
//! each table above them, every quoted dotted key also as a shell leaves it
//! (quotes stripped). Each is explained (`explain KEY… --env ENV --json`,
//! every key of an environment in one run) and must agree with provenance:
//! the winning layer, file, line and column; every file:line:column quoted
//! is a line of the file holding that value; a variable a changed tfvars
//! line sets is "(unused)" only if no `.tf` file of its root reads it;
//! what a setting drives is tracked unless it is derived; and nothing
//! printed quotes a line that is not in the file.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Instant;

use common::{CONFIGS, cmd, root};
use serde_json::Value;

fn run_json(args: &[&str]) -> (Value, String) {
    let out = cmd().args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "myhealthctl {}: {stderr}", args.join(" "));
    (serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{}: {e}", args.join(" "))), stderr)
}

/// Every source line a diagnostic quotes (`12 | text`) is that line of the file.
fn quotes_only_the_file(stderr: &str, text: &str, what: &str) {
    let lines: Vec<&str> = text.lines().collect();
    for l in stderr.lines() {
        let Some((n, rest)) = l.split_once(" | ") else { continue };
        let Ok(n) = n.trim().parse::<usize>() else { continue };
        assert_eq!(
            lines.get(n - 1).copied(),
            Some(rest),
            "{what}: quotes line {n} as `{rest}`, which is not the file's"
        );
    }
}

/// The segments of a key path as the file spells them (enough of TOML's
/// dotted keys for the key paths myhealthctl prints).
fn segments(key: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = key;
    while !rest.is_empty() {
        if let Some(q) = rest.strip_prefix('"') {
            let end = q.find('"').unwrap();
            out.push(q[..end].to_string());
            rest = q[end + 1..].strip_prefix('.').unwrap_or(&q[end + 1..]);
        } else {
            let end = rest.find('.').unwrap_or(rest.len());
            out.push(rest[..end].to_string());
            rest = rest.get(end + 1..).unwrap_or("");
        }
    }
    out
}

fn join(segments: &[String]) -> String {
    segments
        .iter()
        .map(|s| {
            if s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                s.clone()
            } else {
                format!("\"{s}\"")
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// `file:line:column` quoted for `value`: a line of the file whose text at
/// that column is the value.
fn at_is_in_the_file(at: &str, value: &Value, text: &str, key: &str) {
    let (file_line, column) = at.rsplit_once(':').unwrap();
    let line: usize = file_line.rsplit_once(':').unwrap().1.parse().unwrap();
    let column: usize = column.parse().unwrap();
    let l = text.lines().nth(line - 1).unwrap_or_else(|| panic!("{key}: line {line} is past the end of the file"));
    let from: String = l.chars().skip(column - 1).collect();
    let starts = match value {
        Value::String(s) => from.starts_with(&value.to_string()) || from.starts_with(&format!("'{s}'")),
        Value::Array(_) => from.starts_with('['),
        Value::Object(_) => from.starts_with('{'),
        v => from.starts_with(&v.to_string()),
    };
    assert!(starts, "{key}: {at} is `{l}`, which does not hold {value} at column {column}");
}

/// Whether `text` reads `var.<name>` (word-bounded).
fn reads_var(text: &str, name: &str) -> bool {
    let needle = format!("var.{name}");
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    text.match_indices(&needle).any(|(i, _)| {
        !text[..i].chars().next_back().is_some_and(|c| ident(c) || c == '.')
            && !text[i + needle.len()..].chars().next().is_some_and(ident)
    })
}

/// The `.tf` text of the root `tfvars` (a path in the rendered tree) feeds.
fn root_text(out: &Path, tfvars: &str) -> String {
    let dir = match tfvars.rsplit_once('/').unwrap() {
        (_, "bootstrap.tfvars") => "terraform/bootstrap".to_string(),
        (d, _) => d.to_string(),
    };
    let mut all = String::new();
    for e in std::fs::read_dir(out.join(&dir)).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "tf") {
            all.push_str(&std::fs::read_to_string(p).unwrap());
        }
    }
    all
}

#[test]
fn every_key_of_every_config_is_explained_where_provenance_says() {
    let started = Instant::now();
    let all = std::env::var_os("EXPLAIN_WALK_ALL").is_some();
    // The configs side by side (each is a sequence of processes).
    let counts: Vec<String> = std::thread::scope(|s| {
        let walks: Vec<_> = CONFIGS.iter().map(|(name, config)| s.spawn(move || walk(name, config, all))).collect();
        walks.into_iter().map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    });
    eprintln!("explained {} in {:.1}s", counts.join(", "), started.elapsed().as_secs_f64());
}

/// Walk one config (see the top of the file); what it explained, and how long it took.
fn walk(name: &str, config: &str, all: bool) -> String {
    {
        let t0 = Instant::now();
        let text = std::fs::read_to_string(root().join(config)).unwrap();
        let out = tempfile::tempdir().unwrap();
        cmd().args(["render", "--config", config, "--out"]).arg(out.path()).assert().success();
        let (provenance, stderr) = run_json(&["envs", "--provenance", "--json", "--config", config]);
        quotes_only_the_file(&stderr, &text, config);
        let (mut explained, mut sampled, mut settings_total) = (0, 0, 0);
        let envs = provenance.as_array().unwrap();
        let first: BTreeMap<&str, &Value> =
            envs[0]["settings"].as_array().unwrap().iter().map(|s| (s["key"].as_str().unwrap(), &s["value"])).collect();
        for (e, env) in envs.iter().enumerate() {
            let env_name = env["environment"].as_str().unwrap();
            let settings: BTreeMap<String, &Value> = env["settings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| (s["key"].as_str().unwrap().to_string(), s))
                .collect();
            settings_total += settings.len();
            // What to ask: every setting, every element of a list, every table, and every
            // quoted key as a shell leaves it — in the first environment; in the others
            // (each key is a render), the settings their own table sets or whose value
            // differs from the first environment's and every seventh of the rest, unless
            // EXPLAIN_WALK_ALL is set.
            let mut asked: Vec<String> = Vec::new();
            let mut tables = BTreeSet::new();
            for (i, (key, s)) in settings.iter().enumerate() {
                let own = s["layer"] == "environment" || first.get(key.as_str()) != Some(&&s["value"]);
                if !(e == 0 || own || i % 7 == 0 || all) {
                    continue;
                }
                asked.push(key.clone());
                for i in 0..s["value"].as_array().map_or(0, Vec::len) {
                    asked.push(format!("{key}.{i}"));
                }
                let segs = segments(key);
                assert_eq!(join(&segs), *key, "{config} {env_name}: `{key}` is not written as diagnostics write it");
                for n in 1..segs.len() {
                    tables.insert(join(&segs[..n]));
                }
                sampled += 1;
                if key.contains('"') {
                    asked.push(segs.join("."));
                }
            }
            asked.extend(tables.iter().cloned());
            let mut args = vec!["explain"];
            args.extend(asked.iter().map(String::as_str));
            args.extend(["--env", env_name, "--json", "--config", config]);
            let (x, stderr) = run_json(&args);
            quotes_only_the_file(&stderr, &text, config);
            let x = x.as_array().unwrap();
            assert_eq!(x.len(), asked.len(), "{config} {env_name}: one explanation per key asked");
            for (asked, x) in asked.iter().zip(x) {
                let key = x["key"].as_str().unwrap();
                let what = format!("{config} {env_name} `{asked}`");
                assert_eq!(x["environment"], env_name, "{what}");
                match x["kind"].as_str().unwrap() {
                    "table" => {
                        assert!(tables.contains(key), "{what}: explained as table `{key}`");
                        let under: Vec<&Value> = settings
                            .iter()
                            .filter(|(k, _)| k.starts_with(&format!("{key}.")))
                            .map(|(_, s)| *s)
                            .collect();
                        assert_eq!(x["settings"].as_array().unwrap().iter().collect::<Vec<_>>(), under, "{what}");
                    }
                    "setting" => {
                        let p = &x["provenance"];
                        // The setting itself, or the list an element is part of.
                        let (list, element) = match settings.get(key) {
                            Some(s) => (*s, false),
                            None => (settings[key.rsplit_once('.').unwrap().0], true),
                        };
                        if element {
                            assert_eq!(
                                x["value"],
                                list["value"][key.rsplit_once('.').unwrap().1.parse::<usize>().unwrap()],
                                "{what}"
                            );
                            assert_eq!(p["layer"], list["layer"], "{what}: an element comes from where its list does");
                        } else {
                            assert_eq!(p, list, "{what}: explain's provenance is envs --provenance's");
                            assert_eq!(x["value"], list["value"], "{what}");
                        }
                        // The chain: its winner is the provenance, every place quoted is in the file.
                        let chain = x["chain"].as_array().unwrap();
                        let winners: Vec<&Value> = chain.iter().filter(|s| s["wins"] == true).collect();
                        assert_eq!(winners.len(), 1, "{what}: one winner in {chain:?}");
                        let layer = match p["layer"].as_str().unwrap() {
                            "built-in" => "built-in".to_string(),
                            "defaults" => "[defaults]".to_string(),
                            _ => format!("[environments.{env_name}]"),
                        };
                        assert_eq!(winners[0]["layer"], layer.as_str(), "{what}");
                        match p["file"].as_str() {
                            Some(f) => assert_eq!(
                                winners[0]["at"].as_str().unwrap(),
                                format!("{f}:{}:{}", p["line"], p["column"]),
                                "{what}"
                            ),
                            None => assert!(winners[0]["at"].is_null(), "{what}"),
                        }
                        for s in chain {
                            if let Some(at) = s["at"].as_str().filter(|_| !s["value"].is_null()) {
                                at_is_in_the_file(at, &s["value"], &text, &what);
                            }
                        }
                        if let Some(l) = p["line"].as_u64() {
                            at_is_in_the_file(
                                &format!("{config}:{l}:{}", p["column"]),
                                &winners[0]["value"],
                                &text,
                                &what,
                            );
                        }
                        // Forward: tracked, unless derived; a variable read in its root is never unused.
                        match x["untracked"].as_str() {
                            None => assert!(!x["probe"].is_null(), "{what}"),
                            Some(why) => {
                                assert!(
                                    p["layer"] == "built-in" && why.contains("is derived"),
                                    "{what}: not tracked: {why}"
                                )
                            }
                        }
                        for l in x["lands"].as_array().unwrap() {
                            let file = l["file"].as_str().unwrap();
                            for t in l["terraform"].as_array().unwrap() {
                                let t = t.as_str().unwrap();
                                if let Some(var) = t.strip_prefix("var.").and_then(|v| v.strip_suffix(" → (unused)"))
                                {
                                    assert!(
                                        !reads_var(&root_text(out.path(), file), var),
                                        "{what}: {file}: `{t}`, yet its root reads it"
                                    );
                                }
                            }
                        }
                    }
                    k => panic!("{what}: kind {k}"),
                }
                explained += 1;
            }
        }
        format!(
            "{name}: {sampled} of {settings_total} settings, {explained} keys in {:.1}s",
            t0.elapsed().as_secs_f64()
        )
    }
}

/// The key paths diagnostics print, explain accepts: a quoted dotted key
/// (`labels."myhealth.io/pool"`) that a diagnostic names is the key
/// explain and `envs --provenance` print.
#[test]
fn diagnostics_explain_and_provenance_spell_a_dotted_key_alike() {
    let p = common::TempProject::new(&root().join("tests/fixtures/multi-region.toml"));
    p.edit("labels = { \"acme.example/pool\" = \"system\" }", "labels = { \"acme.example/pool\" = \"not valid!\" }");
    let out = cmd().args(["validate", "--json", "--config"]).arg(p.config()).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let key = v["error"]["problems"][0]["key"].as_str().unwrap().to_string();
    assert_eq!(key, "defaults.eks.node_groups.system.labels.\"acme.example/pool\"");
    let key = key.strip_prefix("defaults.").unwrap();
    let (prov, _) =
        run_json(&["envs", "--provenance", "--json", "--env", "dev", "--config", "tests/fixtures/multi-region.toml"]);
    assert!(prov[0]["settings"].as_array().unwrap().iter().any(|s| s["key"] == key && s["line"] == 33), "{prov:#}");
    let (x, _) = run_json(&["explain", key, "--env", "dev", "--json", "--config", "tests/fixtures/multi-region.toml"]);
    assert_eq!((x[0]["key"].as_str(), x[0]["provenance"]["line"].as_u64()), (Some(key), Some(33)));
    // The full form a diagnostic notes is explained too.
    let (x, _) = run_json(&[
        "explain",
        "environments.prod.eks.node_groups.system.taints.0.effect",
        "--json",
        "--config",
        "tests/fixtures/multi-region.toml",
    ]);
    assert_eq!((x.as_array().unwrap().len(), x[0]["environment"].as_str()), (1, Some("prod")));
}

/// A whole table is explained by its settings; a misspelt one is corrected
/// to the table, not to some setting inside another.
#[test]
fn a_table_is_explained_and_a_misspelt_one_corrected() {
    let out = cmd().args(["explain", "eks.node_groups.general", "--env", "prod"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let toml = std::fs::read_to_string(root().join("myhealth.toml")).unwrap();
    let line = toml.lines().position(|l| l == "capacity_type = \"ON_DEMAND\"").unwrap() + 1;
    assert!(text.starts_with("eks.node_groups.general in `prod` is a table of"), "{text}");
    assert!(
        text.contains(&format!(
            "eks.node_groups.general.capacity_type = \"ON_DEMAND\"   ([environments.prod]   myhealth.toml:{line}:17)"
        )),
        "{text}"
    );
    for (asked, meant) in [("eks.node_groups.genral", "eks.node_groups.general"), ("rdss", "rds")] {
        let out = cmd().args(["explain", asked, "--env", "prod"]).output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.contains(&format!("did you mean `{meant}`?")), "{asked}: {stderr}");
    }
}
