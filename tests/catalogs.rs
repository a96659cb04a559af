//! Catalogs, not typos (#23): regions, EC2 instance types and RDS classes
//! are held to AWS's published lists (`cli/assets/aws-catalog.toml`, made
//! from the pinned botocore and cfn-lint data — checked here against them);
//! everything the repository itself uses is listed; and `cost` never drops
//! an item silently — an unpriced one is named in text, JSON, the review's
//! markdown and text, and the budget gate fails on it; an estimate says
//! whose prices it uses.

mod common;

use std::process::Command;

use common::{TempProject, cmd_in, root};
use myhealthctl::aws_catalog as catalog;
use predicates::prelude::*;
use predicates::str::contains;

/// The asset is exactly what its generator makes of the pinned packages,
/// and names the versions `tests/requirements.txt` pins.
#[test]
fn the_catalogue_is_what_its_pinned_sources_give() {
    let venv = root().join(".venv/bin/python");
    let py = if venv.exists() { venv } else { "python3".into() };
    let out = Command::new(&py).arg(root().join("cli/assets/aws-catalog.py")).arg("--check").output().unwrap();
    assert!(
        out.status.success(),
        "{}{}\n(run the suite through tests/run, which installs the pinned botocore and cfn-lint into .venv/)",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let pins = std::fs::read_to_string(root().join("tests/requirements.txt")).unwrap();
    for s in &catalog().sources {
        let (package, version) = s.split_once(' ').unwrap();
        let pinned = match package {
            // awscli pins botocore exactly; its version is the venv's.
            "botocore" => pins.contains("awscli==1.36.40") && version == "1.35.99",
            _ => pins.lines().any(|l| l == format!("{package}=={version}")),
        };
        assert!(pinned, "`{s}` is not what tests/requirements.txt pins");
    }
}

/// Values the docs and tests show as mistakes.
const KNOWN_TYPOS: &[&str] = &["t3.lrage", "db.r6g.lage", "us-east-9", "x9z.mega", "db.r6g.large-probe"];

/// Every instance type, class and region the default config, the fixtures,
/// `init`'s starter and the docs name is in the catalogue.
#[test]
fn everything_the_repository_uses_is_listed() {
    let mut files =
        vec![root().join("myhealth.toml"), root().join("cli/assets/starter.toml"), root().join("README.md")];
    for dir in ["tests/fixtures", "docs"] {
        for e in std::fs::read_dir(root().join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "toml" || x == "md") {
                files.push(p);
            }
        }
    }
    let itype = regex::Regex::new(
        r"\b(?:db\.)?[a-z][a-z0-9-]*\.(?:nano|micro|small|medium|large|[0-9]*xlarge|metal)(?:[a-z0-9-]*)\b",
    )
    .unwrap();
    let region = regex::Regex::new(r"\b((?:us|eu|ap|sa|ca|me|af|il|mx|cn)-(?:gov-)?[a-z]+-[0-9]+)[a-z]?\b").unwrap();
    let c = catalog();
    let mut seen = std::collections::BTreeSet::new();
    let mut bad = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for (n, line) in text.lines().enumerate() {
            let at = format!("{}:{}", f.strip_prefix(root()).unwrap().display(), n + 1);
            for m in itype.find_iter(line) {
                let t = m.as_str();
                let ok = if t.starts_with("db.") { c.is_rds_postgres_class(t) } else { c.is_ec2_instance_type(t) };
                if !ok && !KNOWN_TYPOS.contains(&t) {
                    bad.push(format!("{at}: `{t}`"));
                }
                seen.insert(t.to_string());
            }
            for m in region.captures_iter(line) {
                let r = &m[1];
                if c.partition(r).is_none() && !KNOWN_TYPOS.contains(&r) {
                    bad.push(format!("{at}: `{r}`"));
                }
                seen.insert(r.to_string());
            }
        }
    }
    assert!(bad.is_empty(), "not in cli/assets/aws-catalog.toml:\n{}", bad.join("\n"));
    // The scan finds what is there (it cannot pass by finding nothing).
    for t in [
        "t3.medium",
        "t3.large",
        "m6i.large",
        "db.t3.micro",
        "db.r6g.large",
        "db.t4g.small",
        "us-east-1",
        "eu-central-1",
    ] {
        assert!(seen.contains(t), "the scan missed `{t}`");
    }
}

/// A config whose dev runs one node group of `t3.nano` (AWS lists it, the
/// price table has no price for it) under a budget.
fn unpriced_project() -> TempProject {
    let p = TempProject::new(&root().join("tests/fixtures/minimal.toml"));
    p.edit(
        "[environments.dev]\n",
        "[defaults.budget]\nmonthly_usd = 1000\nnotify_emails = [\"ops@example.org\"]\n\n[environments.dev]\n",
    );
    p.git(&["init", "-q", "-b", "main"]);
    cmd_in(p.path()).arg("render").assert().success();
    p.commit_all("base");
    let text = std::fs::read_to_string(p.config()).unwrap();
    std::fs::write(
        p.config(),
        format!("{text}eks = {{ node_groups = {{ general = {{ instance_types = [\"t3.nano\"] }} }} }}\n"),
    )
    .unwrap();
    p
}

#[test]
fn an_unpriced_item_is_visible_in_every_cost_output() {
    let p = unpriced_project();
    let line = std::fs::read_to_string(p.config()).unwrap().lines().count();

    // validate: valid (AWS lists it), with a warning at the value.
    cmd_in(p.path()).arg("validate").assert().success().stderr(
        contains("warning: `t3.nano` has no price in myhealthctl's table: the cost estimate of `dev` leaves it out")
            .and(contains(format!("myhealth.toml:{line}:")))
            .and(contains("show `at least` the priced items and name this one; its budget cannot be checked in full")),
    );

    // cost, text: the total is a lower bound, the item is a line, and why.
    cmd_in(p.path()).args(["cost", "dev"]).assert().success().stdout(
        contains("dev: at least $")
            .and(contains("/ month (1 item unpriced)"))
            .and(contains("node group `general`: 2× t3.nano on-demand"))
            .and(contains("unpriced\n"))
            .and(contains(
                "unpriced: EC2 node group `general`: 2× t3.nano on-demand — no price for `t3.nano` in the table (us-east-1 list prices as of 2026-11-01); not in the total",
            )),
    );

    // cost, JSON.
    let out = cmd_in(p.path()).args(["cost", "--json"]).output().unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let dev = &v["environments"][0];
    assert_eq!(dev["complete"], false);
    assert_eq!(dev["unpriced"][0]["service"], "EC2");
    assert_eq!(dev["unpriced"][0]["name"], "t3.nano");
    assert_eq!(dev["unpriced"][0]["detail"], "node group `general`: 2× t3.nano on-demand");
    assert!(dev["items"].as_array().unwrap().iter().all(|i| i["service"] != "EC2"), "{dev}");

    // The review, markdown: the cost row says `at least`, a warning names it,
    // the budget is not reported as checked.
    let review = cmd_in(p.path()).args(["diff", "--base", "HEAD", "--format", "markdown"]).output().unwrap();
    assert_eq!(review.status.code(), Some(0), "{}", String::from_utf8_lossy(&review.stderr));
    let md = String::from_utf8(review.stdout).unwrap();
    assert!(md.contains("→ at least $"), "{md}");
    assert!(md.contains("Monthly costs are estimates at us-east-1 list prices as of 2026-11-01"), "{md}");
    assert!(md.contains("> Unpriced in `dev`: `t3.nano` — the table has no price for it"), "{md}");
    assert!(md.contains("❌ **cannot be checked**: no price for `t3.nano`"), "{md}");
    assert!(md.contains("This change brings `t3.nano` into `dev`"), "{md}");
    assert!(md.contains("| ≥ "), "the share is a lower bound: {md}");

    // The review, JSON and text.
    let json = cmd_in(p.path()).args(["diff", "--base", "HEAD", "--format", "json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["cost"][0]["unpriced"], serde_json::json!(["t3.nano"]), "{v}");
    assert_eq!(v["budgets"][0]["unpriced_added"], serde_json::json!(["t3.nano"]), "{v}");
    cmd_in(p.path()).args(["diff", "--base", "HEAD"]).assert().code(0).stdout(
        contains("cost of `dev`: $")
            .and(contains(" → at least $"))
            .and(contains("cost of `dev`: unpriced: no price for `t3.nano`"))
            .and(contains("budget of `dev`: not checked in full")),
    );

    // The budget gate fails the check: it cannot say the change fits.
    cmd_in(p.path())
        .args(["diff", "--base", "HEAD", "--format", "markdown", "--budget-gate"])
        .assert()
        .code(1)
        .stderr(contains("the budget cannot be checked: `dev` (`t3.nano`)"));
}

#[test]
fn an_estimate_says_whose_prices_it_uses() {
    let p = TempProject::new(&root().join("tests/fixtures/multi-region.toml"));
    let out = cmd_in(p.path()).args(["cost"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("priced at us-east-1's list prices: `eu-west-1`'s differ"), "{text}");
    assert!(text.contains("priced at us-east-1's list prices: `eu-central-1`'s differ"), "{text}");
    assert!(text.ends_with("\n") && text.contains("\nlist prices of us-east-1 as of 2026-11-01"), "{text}");
    let out = cmd_in(p.path()).args(["cost", "--json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for e in v["environments"].as_array().unwrap() {
        assert_eq!(e["price_region"], "us-east-1");
        assert!(e["region"] == "eu-west-1" || e["region"] == "eu-central-1", "{e}");
    }
}
