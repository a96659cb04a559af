//! The pull-request review (`diff --base REV --format markdown`): it leads
//! with what changed in `myhealth.toml` (key, environments, before → after,
//! the line), then per environment the files, the Kubernetes objects the real
//! Helm renders on both sides, the cost and the plan; identical hunks across
//! environments are shown once with every environment they apply to; and a
//! change too large for one GitHub comment keeps its summary, names what it
//! left out and writes everything to the full report.

mod common;

use common::{TempProject, cmd_in, root};

/// Helm's CLI over the real Helm SDK (no `helm` binary here).
fn helm() -> String {
    root().join("tests/helm/helm").display().to_string()
}

fn git_project(config: &str) -> TempProject {
    let p = TempProject::new(&root().join(config));
    p.git(&["init", "-q", "-b", "main"]);
    cmd_in(p.path()).arg("render").assert().success();
    p.commit_all("initial render");
    p
}

fn review(p: &TempProject, extra: &[&str]) -> (String, String) {
    let full = p.path().join("full.md");
    let out = cmd_in(p.path())
        .args(["diff", "--base", "HEAD", "--format", "markdown", "--full"])
        .arg(&full)
        .args(extra)
        .env("MYHEALTHCTL_HELM", helm())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (String::from_utf8(out.stdout).unwrap(), std::fs::read_to_string(full).unwrap())
}

#[test]
fn the_comment_leads_with_the_config_change_and_shows_each_hunk_once() {
    let p = git_project("myhealth.toml");
    p.edit(
        "[environments.prod.rds]\ninstance_class = \"db.r6g.large\"",
        "[environments.prod.rds]\ninstance_class = \"db.r6g.xlarge\"",
    );
    p.edit("scrape_interval = \"30s\"", "scrape_interval = \"15s\"");
    let text = std::fs::read_to_string(p.config()).unwrap();
    let line = |needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let (md, full) = review(&p, &["--manifests"]);

    assert!(md.starts_with("<!-- myhealthctl-diff -->\n### Review against `HEAD`\n"), "{md}");
    // First what the author changed, at its line, once per distinct change.
    let config = md.find("#### What changed in `myhealth.toml`").expect("the config section");
    assert!(config < md.find("#### Per environment").unwrap(), "{md}");
    assert!(
        md.contains(&format!(
            "| `prod` | `rds.instance_class` | `db.r6g.large` | `db.r6g.xlarge` | `myhealth.toml:{}` (`environments.prod.rds.instance_class`) |",
            line("db.r6g.xlarge")
        )),
        "{md}"
    );
    assert!(
        md.contains(&format!(
            "| `dev`, `staging`, `prod` | `monitoring.scrape_interval` | `30s` | `15s` | `myhealth.toml:{}` (`defaults.monitoring.scrape_interval`) |",
            line("scrape_interval")
        )),
        "{md}"
    );
    // Per environment: files, objects (rendered by Helm), cost.
    for env in ["dev", "staging", "prod"] {
        let row =
            md.lines().find(|l| l.starts_with(&format!("| `{env}` | +"))).unwrap_or_else(|| panic!("{env}: {md}"));
        assert!(!row.contains("not rendered") && row.contains("~"), "{env}: {row}");
    }
    let prod = md.lines().find(|l| l.starts_with("| `prod` | +")).unwrap();
    assert!(prod.contains(" → ") && prod.contains("(+$"), "the database's cost rises: {prod}");
    // The objects: the ServiceMonitors' interval, in every environment.
    assert!(md.contains("<details><summary>Kubernetes objects of <code>dev</code>, <code>staging</code>, <code>prod</code>: 0 added, 2 changed"), "{md}");
    assert!(md.contains("| changed | `ServiceMonitor myhealth/"), "{md}");
    assert!(md.contains("+  - interval: 15s") || md.contains("+    interval: 15s"), "{md}");
    // The values change is one hunk for all three environments.
    assert!(md.contains("**`helm/values-<env>.yaml`** — changed in `dev`, `prod`, `staging`"), "{md}");
    assert!(md.contains("all of `dev`, `prod`, `staging`:") || md.contains("all of `dev`, `staging`, `prod`:"), "{md}");
    assert!(md.chars().count() <= 60_000);
    assert_eq!(md, full, "everything fit: the comment is the full report");
    // Nothing secret on the way: the secret references are names; no credential-shaped text.
    assert!(!md.contains("«redacted»"), "{md}");
}

/// A synthetic history too large for one comment: 40 environments, a change
/// to `[defaults]` that rewrites every one's files.
#[test]
fn a_change_too_large_keeps_its_summary_and_names_what_it_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("synthetic.toml");
    std::fs::write(&config, myhealthctl::config_with_envs(40)).unwrap();
    let p = git_project(config.to_str().unwrap());
    let text = std::fs::read_to_string(p.config()).unwrap();
    std::fs::write(
        p.config(),
        text.replace("min_size = 2\ndesired_size = 2\nmax_size = 10", "min_size = 3\ndesired_size = 3\nmax_size = 12")
            .replace("region = \"us-east-1\"", "region = \"us-west-2\""),
    )
    .unwrap();
    let (md, full) = review(&p, &["--details-url", "https://github.com/example/synthetic/actions/runs/1"]);
    let n = md.chars().count();
    assert!(n <= 60_000, "{n} characters");
    assert!(full.chars().count() > 65_536, "the synthetic change is large enough: {}", full.chars().count());
    // The summary survived whole: every environment's row, every changed key.
    for i in 0..40 {
        assert!(md.contains(&format!("| `env{i:03}` | +")), "env{i:03} lost from the summary");
    }
    assert!(md.contains("| `eks.node_groups.general.min_size` | `2` | `3` |"), "{}", &md[..4000.min(md.len())]);
    // What did not fit is named, and where to read it.
    assert!(
        md.contains("detail section(s) did not fit in this comment (60000 characters at most)"),
        "{}",
        &md[n.saturating_sub(3000)..]
    );
    assert!(md.contains("The full report: https://github.com/example/synthetic/actions/runs/1"));
    // The full report has every section the comment left out.
    assert!(full.starts_with(&md[..md.find("#### Per environment").unwrap()]));
    let omitted = md.matches("rendered `").count();
    assert!(omitted > 0 && full.matches("**`").count() > md.matches("**`").count());
}

/// The "Policies" section: per environment the findings a change brings,
/// fixes and leaves, each new or fixed one with its rule and the line it
/// points at (a config key's, or a generated file's for the rendered platform).
#[test]
fn the_policies_section_counts_new_fixed_and_remaining_findings() {
    let p = git_project("myhealth.toml");
    std::fs::create_dir_all(p.path().join("policy")).unwrap();
    std::fs::write(
        p.path().join("policy/review.rego"),
        r#"package main

input_kinds := {"config", "workflow"}

warn_interval contains {"msg": sprintf("scrapes every %s", [input.settings.monitoring.scrape_interval]), "key": "monitoring.scrape_interval"} if {
	input.kind == "config"
	input.environment != "staging"
}

warn_release contains {"msg": sprintf("job `%s` writes contents", [name]), "path": sprintf("workflow.jobs.%s.permissions.contents", [name])} if {
	input.kind == "workflow"
	some name, job in input.workflow.jobs
	job.permissions.contents == "write"
}
"#,
    )
    .unwrap();
    p.commit_all("policies");
    p.edit("scrape_interval = \"30s\"", "scrape_interval = \"15s\"");
    // A built-in rule turned off: the review says so, at its line.
    let mut text = std::fs::read_to_string(p.config()).unwrap();
    text.push_str("\n[policy]\ndisable = [\"myhealth.builtin.production.deny_nat_per_az\"]\n");
    std::fs::write(p.config(), &text).unwrap();
    let disable_line = text.lines().count();
    let line = text.lines().position(|l| l.contains("scrape_interval")).unwrap() + 1;
    let (md, full) = review(&p, &[]);
    let section = &md[md.find("#### Policies").expect("the policies section")..];
    let section = &section[..section.find("<details>").unwrap_or(section.len())];
    for env in ["dev", "prod"] {
        assert!(section.contains(&format!("| `{env}` | 1 | 1 | 0 |")), "{section}");
        assert!(
            section.contains(&format!(
                "- new: ⚠️ warn in `{env}`: scrapes every 15s (`main.warn_interval` at `myhealth.toml:{line}`)"
            )),
            "{section}"
        );
        assert!(
            section.contains(&format!("- fixed: ⚠️ warn in `{env}`: scrapes every 30s (`main.warn_interval`")),
            "{section}"
        );
    }
    assert!(!section.contains("`staging`"), "staging has no finding: {section}");
    assert!(
        section.contains(&format!(
            "- ⚠️ built-in rule `myhealth.builtin.production.deny_nat_per_az` **disabled by this change** (`myhealth.toml:{disable_line}`)"
        )),
        "{section}"
    );
    // The workflows' finding is every environment's, unchanged: counted, listed in the details.
    let remaining = section.lines().find(|l| l.starts_with("| every environment |")).expect(section);
    assert!(remaining.ends_with("| 0 | 0 | 2 |"), "{remaining}");
    assert!(
        full.contains("- remaining: ⚠️ warn in every environment: job `release` writes contents (`main.warn_release` at `.github/workflows/build.yml:"),
        "{full}"
    );
}
