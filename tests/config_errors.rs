//! The bad-config corpus: every file under `tests/config-errors/` must be
//! refused with exit code 2 and exactly the diagnostic in its snapshot.

mod common;

#[test]
fn every_bad_config_gives_its_exact_diagnostic() {
    let mut count = 0;
    insta::glob!("config-errors/*.toml", |path| {
        count += 1;
        let rel = path.strip_prefix(common::root()).unwrap();
        let out = common::cmd().args(["validate", "--config"]).arg(rel).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{} must fail with exit code 2", rel.display());
        assert!(out.stdout.is_empty(), "errors go to stderr only");
        let stderr = String::from_utf8(out.stderr).unwrap();
        // Never echo a credential back.
        for needle in [
            "hunter2",
            "AKIAIOSFODNN7EXAMPLE",
            "eyJhbGciOiJIUzI1NiJ9",
            "changeme",
            "MIIEow",
            "Z4x9QmN2vB8kL1pR7tY3",
            "github_pat_11ABCDEFG",
            "bPxRfiCYEXAMPLEKEY",
            "1234567890123-AbCd",
            "sk_live_51Hq",
            "lQOYBGExample",
            "b3BlbnNzaC1rZXktdjEA",
            "AIzaSyD4Example",
            "ZXhhbXBsZS1iZWFyZXI",
            "S3cretPassw0rd",
        ] {
            assert!(!stderr.contains(needle), "{} leaked `{needle}`", rel.display());
        }
        // Nothing reaches the terminal raw: no control character but the line breaks.
        assert!(!stderr.chars().any(|c| c.is_control() && c != '\n'), "{}: a raw control character", rel.display());
        // The same refusal as JSON: every credential masked there too.
        let json = common::cmd().args(["validate", "--json", "--config"]).arg(rel).output().unwrap();
        let json_text = String::from_utf8(json.stdout).unwrap();
        for needle in ["AKIAIOSFODNN7EXAMPLE", "bPxRfiCYEXAMPLEKEY", "S3cretPassw0rd", "sk_live_51Hq"] {
            assert!(!json_text.contains(needle), "{} leaked `{needle}` in --json", rel.display());
        }
        insta::assert_snapshot!(stderr);
    });
    assert!(count >= 30, "the corpus must hold at least 30 bad configs, found {count}");
}

#[test]
fn errors_are_reported_as_json_with_positions() {
    let out = common::cmd()
        .args([
            "validate",
            "--json",
            "--config",
            "tests/config-errors/19-node-group-min-above-desired-in-override.toml",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], false, "validate says so beside the envelope: {v}");
    let v = &v["error"];
    assert_eq!((v["kind"].as_str(), v["exit_code"].as_u64()), (Some("error"), Some(2)));
    let p = &v["problems"][0];
    assert_eq!(p["line"], 17);
    assert_eq!(p["column"], 12);
    assert_eq!(p["key"], "environments.staging.eks.node_groups.general.min_size");
}

#[test]
fn several_problems_are_all_reported_in_file_order() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("two.toml");
    std::fs::write(
        &cfg,
        "[project]\nname = \"x\"\ndomain = \"example.com\"\ngithub = { owner = \"o\", repo = \"r\", owner_id = 1, repo_id = 2 }\n\n[defaults.aws]\naccount_id = \"1\"\n\n[defaults.eks]\nversion = \"1.2\"\n\n[environments.dev]\n",
    )
    .unwrap();
    let out = common::cmd_in(dir.path()).args(["validate", "-c", "two.toml"]).output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let a = stderr.find("12-digit").expect("account id error");
    let b = stderr.find("EKS does not support").expect("version error");
    assert!(a < b, "{stderr}");
    assert!(stderr.ends_with("error: 2 problems in `two.toml`\n"), "{stderr}");
}
