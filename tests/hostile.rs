//! No config value can become structure. Every string value of the default
//! config and of the extra-environment fixture, in turn, is given hostile
//! text — YAML, HCL, JSON and shell metacharacters, flow syntax, template
//! delimiters of every engine involved, newlines, carriage returns, NUL,
//! ESC, Unicode line separators. Each such config is either refused (exit 2
//! style: a diagnostic at the value, which never contains the control
//! character raw) or rendered — and then every generated file is parsed by
//! its format and its structure must equal the clean render's: only values
//! may change.

mod common;

use common::shape::differing_shapes;
use myhealthctl::Source;
use myhealthctl::{Options, Templates, render};

/// Text that would become structure if pasted: one string of
/// metacharacters, and the line-breaking and control characters alone.
const PAYLOADS: &[&str] = &[
    "\"'\\: #x {a: b} [c, d] &e *f !g |h >i %j @k `l` ${m} %{n} {{o}} {%p%} [[q]] [%r%] $(s) ; t && u",
    "\n    container: docker.io/attacker/img:latest",
    "\rpermissions: write-all",
    "\u{0}nul",
    "\u{1b}[31mred",
    "\u{2028}line\u{2029}para",
    "\u{85}next",
    "- item\n---\nkind: Secret",
];

fn strings(v: &toml::Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match v {
        toml::Value::String(_) => out.push(path.clone()),
        toml::Value::Table(t) => {
            for (k, v) in t {
                path.push(k.clone());
                strings(v, path, out);
                path.pop();
            }
        }
        toml::Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                path.push(i.to_string());
                strings(v, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

fn at<'a>(v: &'a mut toml::Value, path: &[String]) -> &'a mut toml::Value {
    path.iter().fold(v, |v, p| match v {
        toml::Value::Table(t) => t.get_mut(p).unwrap(),
        toml::Value::Array(a) => &mut a[p.parse::<usize>().unwrap()],
        _ => unreachable!(),
    })
}

#[test]
fn no_config_value_becomes_structure() {
    let templates = Templates::embedded();
    let opts = Options { only_envs: vec![], config_name: "myhealth.toml".into() };
    let mut cases = 0;
    let (mut refused, mut rendered) = (0, 0);
    let mut problems = Vec::new();
    for file in ["myhealth.toml", "tests/fixtures/extra-env-service.toml", "+jobs"] {
        // `+jobs`: the default config with what it lacks: an extra CI job (a
        // script is the one multi-line value), a taint, a secret_env.
        let text = match file {
            "+jobs" => std::fs::read_to_string(common::root().join("myhealth.toml")).unwrap().replace(
                "labels = { \"myhealth.io/pool\" = \"general\" }",
                "labels = { \"myhealth.io/pool\" = \"general\" }\ntaints = [{ key = \"dedicated\", value = \"general\", effect = \"NO_SCHEDULE\" }]",
            ) + "\n[defaults.ci.extra_jobs.docs]\nrun = \"mdbook build docs\"\nneeds = [\"test\"]\n\n[defaults.services.api-service.secret_env]\nSENTRY_DSN = \"myhealth/api/sentry\"\n",
            f => std::fs::read_to_string(common::root().join(f)).unwrap(),
        };
        let doc: toml::Value = toml::from_str(&text).unwrap();
        let clean_cfg = myhealthctl::load_config(Source { name: file.into(), text: text.clone() }).unwrap();
        let clean = render(&clean_cfg, &templates, &opts).unwrap();
        let mut paths = Vec::new();
        strings(&doc, &mut Vec::new(), &mut paths);
        assert!(paths.len() > 100, "{file}: only {} string values?", paths.len());
        for path in &paths {
            for payload in PAYLOADS {
                cases += 1;
                let mut d = doc.clone();
                let slot = at(&mut d, path);
                let value = format!("{}{payload}", slot.as_str().unwrap());
                *slot = toml::Value::String(value);
                let hostile = toml::to_string(&d).unwrap();
                // As diagnostics name it (`labels."myhealth.io/pool"`).
                let key = myhealthctl::key_path(path);
                match myhealthctl::load_config(Source { name: file.into(), text: hostile }) {
                    Err(report) => {
                        refused += 1;
                        // Refused at the value, by its key.
                        if !report.diagnostics.iter().any(|d| {
                            d.span.is_some()
                                && d.key.as_deref().is_some_and(|k| k.starts_with(&key) || key.starts_with(k))
                        }) {
                            problems.push(format!(
                                "{file} `{key}`: refused, but no diagnostic points at it: {}",
                                report.render(false)
                            ));
                        }
                        let shown = report.render(false);
                        if shown.chars().any(|c| c.is_control() && c != '\n') {
                            problems.push(format!("{file} `{key}`: the diagnostic prints a control character raw"));
                        }
                    }
                    Ok(cfg) => match render(&cfg, &templates, &opts) {
                        Err(e) => problems.push(format!("{file} `{key}` validated but does not render: {e}")),
                        Ok(tree) => {
                            rendered += 1;
                            if std::env::var_os("HOSTILE_SHOW").is_some() {
                                eprintln!("rendered: {file} {key} {payload:?}");
                            }
                            for p in differing_shapes(&clean, &tree, &|_| false) {
                                problems.push(format!("{file} `{key}` += {payload:?}: {p}"));
                            }
                        }
                    },
                }
            }
        }
    }
    eprintln!("{cases} hostile configs: {refused} refused, {rendered} rendered with the clean structure");
    assert!(refused > 0 && rendered > 0, "the test exercised only one side");
    problems.sort();
    problems.dedup();
    assert!(problems.is_empty(), "{} values became structure:\n  {}", problems.len(), problems.join("\n  "));
}
