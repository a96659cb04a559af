//! Render benchmark: median wall time of a full render (parse → validate →
//! render → atomic write) for the default config and a synthetic
//! 100-environment config, against the floor of a plain recursive copy of
//! the same output tree measured in the same run. Also the whole command
//! as a process against `cp -r` as a process.
//!
//! Run: `cargo bench -p myhealthctl --bench render`. Goals (issue #2):
//! default ≤ 20 ms and ≤ 3× the copy floor; 100 environments ≤ 0.5 s.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use myhealthctl::diagnostics::Source;
use myhealthctl::render::{self, Options, Templates};
use myhealthctl::tree::{self, Tree};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time<F: FnMut(usize)>(iters: usize, mut f: F) -> Duration {
    f(usize::MAX); // warm-up
    median(
        (0..iters)
            .map(|i| {
                let t = Instant::now();
                f(i);
                t.elapsed()
            })
            .collect(),
    )
}

fn render_once(text: &str, out: &Path) -> Tree {
    let cfg = myhealthctl::config::load(Source {
        name: "bench.toml".into(),
        text: text.to_string(),
    })
    .expect("valid config");
    let opts = Options {
        only_envs: vec![],
        config_name: "bench.toml".into(),
    };
    let t = render::render(&cfg, &Templates::embedded(), &opts).expect("renders");
    tree::write_atomic(out, &t).expect("writes");
    t
}

fn copy_tree(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dst.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), to).unwrap();
        }
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn bench(name: &str, text: &str, iters: usize, goal_ms: f64) {
    let scratch = tempfile::tempdir().unwrap();
    let src = scratch.path().join("src");
    let t = render_once(text, &src);
    let bytes: usize = t.values().map(Vec::len).sum();

    let lib = time(iters, |i| {
        render_once(text, &scratch.path().join(format!("r{i}")));
    });
    let copy = time(iters, |i| {
        copy_tree(&src, &scratch.path().join(format!("c{i}")))
    });

    // The same comparison as whole processes: the CLI against `cp -r`.
    let cfg = scratch.path().join("myhealth.toml");
    std::fs::write(&cfg, text).unwrap();
    let bin = env!("CARGO_BIN_EXE_myhealthctl");
    let proc_render = time(iters.min(30), |i| {
        let out = scratch.path().join(format!("p{i}"));
        let s = Command::new(bin)
            .arg("render")
            .arg("--config")
            .arg(&cfg)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap();
        assert!(s.status.success());
    });
    let proc_copy = time(iters.min(30), |i| {
        let s = Command::new("cp")
            .arg("-r")
            .arg(&src)
            .arg(scratch.path().join(format!("q{i}")))
            .status()
            .unwrap();
        assert!(s.success());
    });

    let ratio = lib.as_secs_f64() / copy.as_secs_f64();
    let pratio = proc_render.as_secs_f64() / proc_copy.as_secs_f64();
    let ok = lib.as_secs_f64() * 1e3 <= goal_ms;
    println!("{name}: {} files, {} KiB", t.len(), bytes / 1024);
    println!(
        "  render (library: parse, validate, render, atomic write)  {:>10}  (median of {iters})",
        ms(lib)
    );
    println!(
        "  copy floor (recursive copy of the same tree)            {:>10}",
        ms(copy)
    );
    println!("  ratio render / copy                                     {ratio:>9.2}x");
    println!(
        "  myhealthctl render process                              {:>10}  (median of {})",
        ms(proc_render),
        iters.min(30)
    );
    println!(
        "  cp -r process                                           {:>10}",
        ms(proc_copy)
    );
    println!("  ratio process / cp -r                                   {pratio:>9.2}x");
    println!(
        "  goal: ≤ {goal_ms} ms → {}",
        if ok { "met" } else { "NOT met" }
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs it once, quickly.
    let quick = !std::env::args().any(|a| a == "--bench");
    let iters = if quick { 3 } else { 200 };
    let default =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../myhealth.toml"))
            .unwrap();
    bench(
        "default myhealth.toml (3 environments)",
        &default,
        iters,
        20.0,
    );
    bench(
        "synthetic, 100 environments",
        &myhealthctl::synthetic::config_with_envs(100),
        if quick { 2 } else { 30 },
        500.0,
    );
}
