//! `myhealthctl lsp` driven by a real LSP client (pygls' `LanguageClient`,
//! `tests/lsp/client.py`, pinned in `tests/requirements.txt`): initialize,
//! open, change, hover, completion, definition, code action, shutdown and
//! exit, over the default config and a fixture, with exact ranges and
//! texts. Diagnostics are held to `validate --json`'s problems for the same
//! text; malformed messages, bad params, positions past the end and a
//! config that does not parse must leave the server answering.

mod common;

use std::io::Write as _;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

/// Run the client over `steps`; its results, one per step, after the
/// initialize result (first) and before the exit code (last).
fn session(steps: Value) -> Vec<Value> {
    session_with(&[], steps)
}

/// [`session`] of `myhealthctl lsp ARGS…`, with the suite's venv first on
/// `PATH` and the Helm shim (`tests/helm/helm`) for `--manifests`.
fn session_with(args: &[&str], steps: Value) -> Vec<Value> {
    let root = common::root();
    let venv = root.join(".venv/bin/python");
    let python = if venv.exists() { venv } else { "python3".into() };
    let mut child = Command::new(python)
        .arg(root.join("tests/lsp/client.py"))
        .args([env!("CARGO_BIN_EXE_myhealthctl"), "lsp"])
        .args(args)
        .current_dir(&root)
        .env("PATH", format!("{}:{}", root.join(".venv/bin").display(), std::env::var("PATH").unwrap_or_default()))
        .env("MYHEALTHCTL_HELM", root.join("tests/helm/helm"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 with pygls and lsprotocol (tests/requirements.txt; tests/run installs them)");
    child.stdin.take().unwrap().write_all(steps.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the client failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let results: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(results.last(), Some(&json!({"exit_code": 0})), "shutdown, then exit 0");
    results[1..results.len() - 1].to_vec()
}

fn uri(path: &std::path::Path) -> String {
    format!("file://{}", path.display())
}

/// The (0-based) line and column of the first `needle` in `text`, after `after`.
fn pos(text: &str, after: &str, needle: &str) -> (usize, usize) {
    let from = text.find(after).unwrap_or_else(|| panic!("no `{after}`"));
    let at = from + text[from..].find(needle).unwrap_or_else(|| panic!("no `{needle}` after `{after}`"));
    let line = text[..at].matches('\n').count();
    let col = at - text[..at].rfind('\n').map_or(0, |i| i + 1);
    (line, col)
}

fn range(l: usize, c: usize, l2: usize, c2: usize) -> Value {
    json!({"start": {"line": l, "character": c}, "end": {"line": l2, "character": c2}})
}

fn at(u: &str, op: &str, (line, character): (usize, usize)) -> Value {
    json!({"op": op, "uri": u, "line": line, "character": character})
}

/// `validate --json`'s problems for `text` as a project's config, as
/// (message, 1-based line, column, help): what the diagnostics must say.
fn validate(text: &str) -> Vec<(String, u64, u64, Option<String>)> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("myhealth.toml");
    std::fs::write(&file, text).unwrap();
    let out = common::cmd().args(["validate", "--json", "--config"]).arg(&file).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let problems = v.get("warnings").or_else(|| v["error"].get("problems")).cloned().unwrap_or_default();
    problems
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let help = p["help"].as_str().map(str::to_string);
            (
                p["message"].as_str().unwrap().to_string(),
                p["line"].as_u64().unwrap(),
                p["column"].as_u64().unwrap(),
                help,
            )
        })
        .collect()
}

/// The diagnostics as (message, 1-based line and column of the start, help).
fn said(diags: &Value) -> Vec<(String, u64, u64, Option<String>)> {
    diags
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let s = &d["range"]["start"];
            let help = d["data"]["help"].as_str().map(str::to_string);
            (
                d["message"].as_str().unwrap().to_string(),
                s["line"].as_u64().unwrap() + 1,
                s["character"].as_u64().unwrap() + 1,
                help,
            )
        })
        .collect()
}

#[test]
fn the_default_config_hovers_completes_navigates_and_fixes() {
    let path = common::root().join("myhealth.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let u = uri(&path);
    let prod_class = pos(&text, "[environments.prod.rds]", "instance_class");
    let default_class = pos(&text, "[defaults.rds]", "instance_class");
    let default_value = pos(&text, "[defaults.rds]", "\"db.t3.micro\"");
    let prod_value = pos(&text, "[environments.prod.rds]", "\"db.r6g.large\"");
    let typo = text.replace("vpc_endpoints = false", "vpc_endpoint = false");
    let typo_at = pos(&typo, "[defaults.network]", "vpc_endpoint");
    let under_rds = pos(&text, "[defaults.rds]", "engine_version");
    let r = session(json!([
        {"op": "open", "uri": u, "text": text},
        at(&u, "hover", (prod_class.0, prod_class.1 + 3)),
        at(&u, "definition", prod_class),
        at(&u, "definition", default_class),
        at(&u, "completion", under_rds),
        {"op": "change", "uri": u, "text": typo},
        at(&u, "code_action", (typo_at.0, typo_at.1 + 2)),
        {"op": "change", "uri": u, "text": format!("{text}[environments.prod.eks.node_groups.general]\ncapacity_type = \n[environments.\n")},
        at(&u, "completion", (text.lines().count() + 1, 16)),
        at(&u, "completion", (text.lines().count() + 2, 14)),
    ]));

    // Diagnostics: what validate says of the same text, at its place.
    assert_eq!(said(&r[0]), validate(&text));
    let account = pos(&text, "[defaults.aws]", "\"123456789012\"");
    assert_eq!(r[0][0]["range"], range(account.0, account.1, account.0, account.1 + 14));
    assert_eq!(r[0][0]["severity"], 2);
    // The environment that inherits the [defaults] value, then the help.
    let prod = pos(&text, "[environments.prod", "prod");
    assert_eq!(
        r[0][0]["relatedInformation"],
        json!([
            {"location": {"uri": u, "range": range(prod.0, prod.1, prod.0, prod.1 + 4)}, "message": "`prod` inherits this value from `[defaults]`"},
            {"location": {"uri": u, "range": range(account.0, account.1, account.0, account.1 + 14)}, "message": "help: set `aws.account_id` under `[environments.prod]` to the real account"},
        ])
    );

    // Hover: every environment's value, its layer and line, the default,
    // the description, and what explain says it drives and costs.
    let hover = r[1]["contents"]["value"].as_str().unwrap();
    let line = |p: (usize, usize)| p.0 + 1;
    for row in [
        format!("| `dev` | `\"db.t3.micro\"` | [defaults] myhealth.toml:{} |", line(default_class)),
        format!("| `staging` | `\"db.t3.micro\"` | [defaults] myhealth.toml:{} |", line(default_class)),
        format!("| `prod` | `\"db.r6g.large\"` | [environments.prod] myhealth.toml:{} |", line(prod_class)),
    ] {
        assert!(hover.contains(&row), "{row}\nnot in\n{hover}");
    }
    for part in [
        "**`rds.instance_class`** (string)\n\nInstance class, one AWS lists for RDS for PostgreSQL, e.g. `db.t3.micro`.",
        "Built-in default: `\"db.t3.micro\"`",
        "terraform/envs/prod/terraform.tfvars line",
        "terraform: var.db_instance_class → module \"rds\" instance_class",
        "RDS: db.r6g.large PostgreSQL multi-AZ",
        "a month (40%) depends on it",
    ] {
        assert!(hover.contains(part), "{part}\nnot in\n{hover}");
    }

    // Definition: prod's key → the [defaults] value it overrides, and back.
    let value_range = |p: (usize, usize), len: usize| range(p.0, p.1, p.0, p.1 + len);
    assert_eq!(r[2], json!({"uri": u, "range": value_range(default_value, 13)}));
    assert_eq!(r[3], json!({"uri": u, "range": value_range(prod_value, 14)}));

    // Completion of keys in [defaults.rds], with type and default.
    let items = r[4].as_array().unwrap();
    let class = items.iter().find(|i| i["label"] == "instance_class").expect("instance_class offered");
    assert_eq!(class["detail"], "string");
    assert!(class["documentation"]["value"].as_str().unwrap().ends_with("Built-in default: `\"db.t3.micro\"`"));
    assert!(items.iter().any(|i| i["label"] == "multi_az"));

    // An unknown key: validate's error at the key, and its fix.
    let d = &r[5][0];
    assert_eq!(d["message"], "unknown key `vpc_endpoint` in `defaults.network`");
    assert_eq!(d["range"], range(typo_at.0, 0, typo_at.0, 12));
    assert_eq!(d["data"]["help"], "did you mean `vpc_endpoints`?");
    assert_eq!(said(&r[5]), validate(&typo));
    let action = &r[6][0];
    assert_eq!(action["title"], "Replace with `vpc_endpoints`");
    assert_eq!(action["kind"], "quickfix");
    assert_eq!(
        action["edit"]["changes"][&u],
        json!([{"range": range(typo_at.0, 0, typo_at.0, 12), "newText": "vpc_endpoints"}])
    );

    // A half-typed value and header still complete (the text does not parse).
    assert!(r[7].as_array().is_some_and(|d| d[0]["message"].as_str().unwrap().starts_with("invalid TOML")), "{}", r[7]);
    let labels =
        |v: &Value| v.as_array().unwrap().iter().map(|i| i["label"].as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!(labels(&r[8]), ["\"SPOT\"", "\"ON_DEMAND\""]);
    assert_eq!(labels(&r[9]), ["dev", "prod", "staging"]);
}

#[test]
fn a_fixture_reports_what_validate_reports_and_did_you_mean_fixes_a_value() {
    let path = common::root().join("tests/fixtures/extra-env-service.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let u = uri(&path);
    let wrong = text.replacen("instance_class = \"db.t3.micro\"", "instance_class = \"db.t3.micor\"", 1);
    let wrong_at = pos(&wrong, "[defaults.rds]", "\"db.t3.micor\"");
    let dup = text.replacen("[defaults.rds]\n", "[defaults.rds]\nmulti_az = true\n", 1);
    let dup_first = pos(&dup, "[defaults.rds]", "multi_az");
    let dup_again = pos(&dup, "multi_az = false", "multi_az");
    let notifier = pos(&dup, "[defaults.services.notifier]", "notifier");
    let host_bits = text.replacen("vpc_cidr = \"10.0.0.0/16\"", "vpc_cidr = \"10.0.0.1/16\"", 1);
    let cidr = pos(&host_bits, "[defaults.network]", "\"10.0.0.1/16\"");
    let region = text.replacen("region = \"us-east-1\"", "region = \"us-east-7\"", 1);
    let r = session(json!([
        {"op": "open", "uri": u, "text": text},
        at(&u, "hover", pos(&text, "[defaults.services.notifier]", "port")),
        {"op": "change", "uri": u, "text": wrong},
        at(&u, "code_action", wrong_at),
        {"op": "change", "uri": u, "text": dup},
        at(&u, "completion", (notifier.0, notifier.1)),
        {"op": "change", "uri": u, "text": host_bits},
        at(&u, "code_action", cidr),
        {"op": "change", "uri": u, "text": region},
    ]));
    assert_eq!(said(&r[0]), validate(&text));
    assert_eq!(r[0].as_array().unwrap().len(), 2, "{}", r[0]);

    let hover = r[1]["contents"]["value"].as_str().unwrap();
    assert!(hover.starts_with("**`services.notifier.port`** (whole number)"), "{hover}");
    for env in ["dev", "staging", "qa", "prod"] {
        assert!(hover.contains(&format!("| `{env}` |")), "{env} in {hover}");
    }

    // A value that is nearly a listed one: the error at the value, the
    // did-you-mean as help, and the quick fix writing the suggestion.
    let d = &r[2][0];
    assert_eq!(d["message"], "`db.t3.micor` is not an RDS for PostgreSQL instance class");
    assert_eq!(d["range"], range(wrong_at.0, wrong_at.1, wrong_at.0, wrong_at.1 + 13));
    assert_eq!(said(&r[2]), validate(&wrong));
    let help = d["data"]["help"].as_str().unwrap();
    let suggested = help.strip_prefix("did you mean `").and_then(|h| h.strip_suffix("`?")).expect(help);
    let edit = &r[3][0]["edit"]["changes"][&u][0];
    assert_eq!(edit["newText"], format!("\"{suggested}\""));
    assert_eq!(edit["range"], d["range"]);

    // A key set twice: the second place, and the first as related information.
    let d = &r[4][0];
    assert_eq!(d["message"].as_str().unwrap(), "invalid TOML: duplicate key");
    assert_eq!(d["range"]["start"]["line"], dup_again.0);
    assert_eq!(d["relatedInformation"][0]["message"], "first set here");
    assert_eq!(d["relatedInformation"][0]["location"]["range"]["start"], json!({"line": dup_first.0, "character": 0}));
    assert_eq!(said(&r[4]), validate(&dup));
    // Names of services written in any layer.
    let labels: Vec<&str> = r[5].as_array().unwrap().iter().map(|i| i["label"].as_str().unwrap()).collect();
    assert!(labels.contains(&"notifier") && labels.contains(&"api-service"), "{labels:?}");

    // Host bits in a CIDR: the exact network as the fix.
    assert_eq!(said(&r[6]), validate(&host_bits));
    assert_eq!(r[6][0]["message"], "`10.0.0.1/16` has host bits set");
    let edit = &r[7][0]["edit"]["changes"][&u][0];
    assert_eq!(edit["range"], range(cidr.0, cidr.1, cidr.0, cidr.1 + 13));
    assert_eq!(edit["newText"], "\"10.0.0.0/16\"");

    // A [defaults] value every environment inherits: one diagnostic, each
    // environment named where the file names it.
    assert_eq!(said(&r[8]), validate(&region));
    let d = &r[8][0];
    assert_eq!(d["message"], "`us-east-7` is not an AWS region");
    let inherits: Vec<(String, Value)> = d["relatedInformation"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["message"].as_str().unwrap().ends_with("inherits this value from `[defaults]`"))
        .map(|i| (i["message"].as_str().unwrap().to_string(), i["location"]["range"]["start"].clone()))
        .collect();
    let named = |env: &str| {
        let (line, character) = pos(&region, &format!("[environments.{env}"), env);
        (format!("`{env}` inherits this value from `[defaults]`"), json!({"line": line, "character": character}))
    };
    assert_eq!(inherits, ["dev", "staging", "qa", "prod"].map(named));
}

#[test]
fn malformed_input_and_odd_text_never_end_the_session() {
    let path = common::root().join("myhealth.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let u = uri(&path);
    let r = session(json!([
        {"op": "open", "uri": u, "text": "[[[ not toml\u{0}\r\n= \"𝄞\"\n"},
        at(&u, "hover", (0, 2)),
        at(&u, "completion", (99, 99)),
        at(&u, "definition", (1, 1)),
        {"op": "raw", "bytes": "Content-Length: 9\r\n\r\nnot json!"},
        {"op": "raw", "bytes": "Content-Length: 2\r\n\r\n{}"},
        // A body that is not UTF-8, and a length no one could allocate.
        {"op": "raw", "hex": "436f6e74656e742d4c656e6774683a20320d0a0d0affa0"},
        {"op": "raw", "bytes": "Content-Length: 999999999999999\r\n\r\n"},
        {"op": "request", "method": "textDocument/hover", "params": {"textDocument": 7}},
        {"op": "request", "method": "myhealth/unknown", "params": {}},
        {"op": "change", "uri": u, "text": text},
        at(&u, "hover", (9999, 0)),
        at(&u, "hover", pos(&text, "[defaults.rds]", "multi_az")),
        // Another TOML file the editor attaches the server to: not ours to judge.
        {"op": "open", "uri": "file:///tmp/elsewhere/Cargo.toml", "text": "[package]\nname = \"x\"\n"},
        at("file:///tmp/elsewhere/Cargo.toml", "hover", (1, 1)),
    ]));
    let d = &r[0][0];
    assert!(d["message"].as_str().unwrap().starts_with("invalid TOML"), "{d}");
    assert_eq!(r[1], Value::Null, "no hover in a file that does not parse");
    assert_eq!(r[8]["error"]["code"], -32602, "invalid params: {}", r[8]);
    assert_eq!(r[9]["error"]["code"], -32601, "method not found: {}", r[9]);
    assert_eq!(said(&r[10]), validate(&text), "after it all, the server still checks");
    assert_eq!(r[11], Value::Null, "a position past the end names nothing");
    assert!(r[12]["contents"]["value"].as_str().unwrap().starts_with("**`rds.multi_az`** (boolean)"), "{}", r[12]);
    assert_eq!(r[13], json!([]), "no diagnostics for a TOML file that is not a config");
    assert_eq!(r[14], Value::Null);
}

#[test]
fn with_manifests_hover_names_the_kubernetes_objects_a_key_changes() {
    let path = common::root().join("myhealth.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let u = uri(&path);
    let at_key = pos(&text, "[defaults.services.api-service]", "RUST_LOG");
    let r = session_with(&["--manifests"], json!([{"op": "open", "uri": u, "text": text}, at(&u, "hover", at_key)]));
    let hover = r[1]["contents"]["value"].as_str().unwrap();
    assert!(hover.starts_with("**`services.api-service.env.RUST_LOG`**"), "{hover}");
    assert_eq!(hover.matches("Kubernetes objects: Deployment myhealth/myhealth-api-service\n").count(), 3, "{hover}");
    assert_eq!(hover.matches("cost: no part of the estimate depends on it").count(), 3, "{hover}");
}
