//! Arbitrary text appended to one string value of the config (the default
//! config plus an extra CI job, a taint and a secret_env): the config is
//! refused, or it renders and every generated file keeps the clean
//! render's structure (tests/common/shape.rs: parsed by format, values
//! reduced to their types). A value that becomes structure is a crash.
#![no_main]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use myhealthctl::Source;
use myhealthctl::{Options, Templates, render};

#[path = "../../../tests/common/shape.rs"]
mod shape;

struct Base {
    doc: toml::Value,
    paths: Vec<Vec<String>>,
    clean: BTreeMap<String, Vec<u8>>,
}

fn templates() -> &'static Templates {
    static T: OnceLock<Templates> = OnceLock::new();
    T.get_or_init(Templates::embedded)
}

fn opts() -> Options {
    Options { only_envs: vec![], config_name: "myhealth.toml".into() }
}

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

fn base() -> &'static Base {
    static B: OnceLock<Base> = OnceLock::new();
    B.get_or_init(|| {
        let text = include_str!("../../../myhealth.toml").replace(
            "labels = { \"myhealth.io/pool\" = \"general\" }",
            "labels = { \"myhealth.io/pool\" = \"general\" }\ntaints = [{ key = \"dedicated\", value = \"general\", effect = \"NO_SCHEDULE\" }]",
        ) + "\n[defaults.ci.extra_jobs.docs]\nrun = \"mdbook build docs\"\nneeds = [\"test\"]\n\n[defaults.services.api-service.secret_env]\nSENTRY_DSN = \"myhealth/api/sentry\"\n";
        let doc: toml::Value = toml::from_str(&text).unwrap();
        let cfg = myhealthctl::load_config(Source { name: "myhealth.toml".into(), text }).unwrap();
        let clean = render(&cfg, templates(), &opts()).unwrap();
        let mut paths = Vec::new();
        strings(&doc, &mut Vec::new(), &mut paths);
        Base { doc, paths, clean }
    })
}

fuzz_target!(|data: &[u8]| {
    let b = base();
    let Some((&pick, rest)) = data.split_first() else { return };
    let Ok(payload) = std::str::from_utf8(rest) else { return };
    let path = &b.paths[pick as usize % b.paths.len()];
    let mut doc = b.doc.clone();
    let slot = path.iter().fold(&mut doc, |v, p| match v {
        toml::Value::Table(t) => t.get_mut(p).unwrap(),
        toml::Value::Array(a) => &mut a[p.parse::<usize>().unwrap()],
        _ => unreachable!(),
    });
    *slot = toml::Value::String(format!("{}{payload}", slot.as_str().unwrap()));
    let Ok(text) = toml::to_string(&doc) else { return };
    match myhealthctl::load_config(Source { name: "myhealth.toml".into(), text }) {
        Err(report) => {
            let shown = report.render(false);
            assert!(!shown.chars().any(|c| c.is_control() && c != '\n'), "a raw control character in:\n{shown}");
        }
        Ok(cfg) => {
            let tree = render(&cfg, templates(), &opts()).expect("a config that validates must render");
            let problems = shape::differing_shapes(&b.clean, &tree, &|_| false);
            assert!(problems.is_empty(), "`{}` += {payload:?}: {problems:?}", path.join("."));
        }
    }
});
