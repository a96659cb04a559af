//! Policy benchmark: what the built-in policy rules (Rego, evaluated by
//! `regorus` over each environment's config input) add to `validate`.
//! Median wall time of `validate`'s work in the library — load and check
//! the config, render it in memory — with the built-ins off (the floor,
//! measured in the same run) and on, for the default config and a
//! synthetic 100-environment config (a third of them production).
//!
//! Run: `cargo bench -p myhealthctl --bench policy`. Goal (issue #26): the
//! built-ins add ≤ 20 % to `validate`'s time.

use std::path::Path;
use std::time::{Duration, Instant};

use myhealthctl::{Options, Source, Templates, load_config, policy_findings, render};

/// The overhead the built-ins may add, as a fraction of `validate`'s time.
const GOAL: f64 = 0.20;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Median of `iters` timed runs of `f`, after one warm-up.
fn time(iters: usize, mut f: impl FnMut()) -> Duration {
    f();
    median(
        (0..iters)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect(),
    )
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// `validate`'s work on `text`, the built-in rules on or off: the findings.
fn validate(text: &str, templates: &Templates, builtins: bool) -> usize {
    let source = Source { name: "bench.toml".into(), text: text.to_string() };
    let cfg = load_config(source.clone()).unwrap_or_else(|r| panic!("not a valid config: {:?}", r.diagnostics.first()));
    let opts = Options { only_envs: vec![], config_name: "bench.toml".into() };
    render(&cfg, templates, &opts).expect("renders");
    policy_findings(&source, &cfg, None, builtins).expect("policies evaluate")
}

fn bench(name: &str, text: &str, iters: usize) {
    let templates = Templates::embedded();
    assert_eq!(validate(text, &templates, true), 0, "{name}: the built-ins find nothing on a valid config");
    // Interleaved, so a slow patch of the machine weighs on both sides alike.
    let (mut off, mut on) = (Vec::new(), Vec::new());
    for _ in 0..iters {
        off.push(time(1, || {
            validate(text, &templates, false);
        }));
        on.push(time(1, || {
            validate(text, &templates, true);
        }));
    }
    let (off, on) = (median(off), median(on));
    let source = Source { name: "bench.toml".into(), text: text.to_string() };
    let cfg = load_config(source.clone()).unwrap();
    let load = time(iters, || {
        load_config(source.clone()).unwrap();
    });
    let policies = time(iters, || {
        policy_findings(&source, &cfg, None, true).unwrap();
    });
    let overhead = on.as_secs_f64() / off.as_secs_f64() - 1.0;
    println!("{name}");
    println!(
        "  validate, built-ins off (the floor: load, check, render in memory) {:>10}  (median of {iters})",
        ms(off)
    );
    println!("  validate, built-ins on                                             {:>10}", ms(on));
    println!("    of which: load and check {} · built-in policies alone {}", ms(load), ms(policies));
    println!(
        "  overhead of the built-ins                                          {:>9.1} %  (against load alone: {:.1} %)",
        overhead * 100.0,
        policies.as_secs_f64() / load.as_secs_f64() * 100.0
    );
    if cfg!(debug_assertions) || iters < 10 {
        println!("  goal ≤ {:.0} %: not judged (smoke run of a debug build; `cargo bench` measures it)", GOAL * 100.0);
    } else {
        println!("  goal ≤ {:.0} %: {}", GOAL * 100.0, if overhead <= GOAL { "met" } else { "NOT met" });
    }
}

/// `n` environments of the synthetic config, every third one production
/// (and set up as production must be, so the built-ins find nothing).
fn synthetic(n: usize) -> String {
    let text = myhealthctl::config_with_envs(n);
    let mut out = String::new();
    let mut production = false;
    for line in text.lines() {
        if let Some(i) = line.strip_prefix("[environments.env").and_then(|l| l.strip_suffix(']')) {
            production = i.parse::<usize>().is_ok_and(|i| i % 3 == 2);
            out.push_str(&format!("{line}\n"));
            if production {
                out.push_str(&format!(
                    "production = true\napi_gateway = {{ host = \"env{i}.api.example.com\" }}\neks = {{ log_types = [\"api\", \"audit\", \"authenticator\", \"controllerManager\", \"scheduler\"], public_access_cidrs = [\"81.2.69.0/24\"] }}\nci = {{ release_runs_on = [\"self-hosted\", \"env{i}\"] }}\n"
                ));
            }
        } else if production && line.starts_with("network = {") {
            out.push_str(&line.replace(" }", ", nat = \"per_az\" }\n"));
        } else {
            out.push_str(&format!("{line}\n"));
        }
    }
    out
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs it once, quickly.
    let quick = !std::env::args().any(|a| a == "--bench");
    let default = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../myhealth.toml")).unwrap();
    bench("default myhealth.toml (3 environments, 1 production)", &default, if quick { 3 } else { 100 });
    bench("synthetic, 100 environments (33 production)", &synthetic(100), if quick { 2 } else { 20 });
}
