//! Every environment applied against an AWS emulator, each by the roles
//! GitHub Actions would assume, and every call each role made judged by an
//! IAM evaluator (docs/testing.md, "The IAM test bed").
//!
//! Two fixtures on one `moto_server` (over TLS, a throwaway certificate):
//! `moto.toml` — dev, staging and prod in ONE account, as the default config
//! lays them out — and `moto-accounts.toml` — one account each. Per account
//! an administrator applies the bootstrap (state bucket and key); per
//! environment the access root (its GitHub roles and the boundary of the
//! roles its apply creates). Then, for every environment at once, with
//! credentials of web-identity sessions of its own roles:
//! `myhealthctl plan` (plan role) and `apply` (apply role, which also writes
//! the generated secrets), the release job's AWS calls (release role), a
//! second plan that must be empty. For dev of the one-account fixture, as
//! before: a refused fingerprint and a declined deploy apply nothing, drift
//! is clean and then names three changes made by hand, and `destroy`.
//!
//! moto does not evaluate IAM: it records (its request recorder). The
//! judge is `@cloud-copilot/iam-simulate` (tests/iam/judge.cjs) over the
//! roles' real policies as moto holds them after the applies, the calls
//! decoded with botocore's models and mapped to IAM by AWS's Service
//! Authorization Reference (tests/iam/calls.py): every call a role made is
//! allowed; a table of calls no role may make (another environment's
//! resources, secret values, state and locks not its own, leaving the
//! boundary) is denied; and each workflow job's OIDC subject — derived
//! from the generated workflow's trigger and `environment:` by GitHub's
//! documented rules, in the format the config selects — is accepted by
//! exactly the role the job assumes and refused by every other.
//!
//! moto's gaps are handled here, in the open, never in the generated code
//! (docs/testing.md lists each).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use common::{cmd, require_tool, root};

/// The venv's Python (boto3, botocore, moto) — tests/run installs it.
fn python() -> PathBuf {
    let py = root().join(".venv/bin/python");
    if py.exists() { py } else { "python3".into() }
}

/// moto_server for the duration of the test, recording every request.
struct Moto {
    child: Child,
    port: u16,
    cert: PathBuf,
    recording: PathBuf,
}

impl Moto {
    fn start(dir: &Path) -> Moto {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        let ok = Command::new(require_tool("openssl"))
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"])
            .args(["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout"])
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(ok.success(), "openssl could not make a certificate");
        let recording = dir.join("recording.jsonl");
        let log = std::fs::File::create(dir.join("moto.log")).unwrap();
        let child = Command::new(python())
            .arg(root().join("tests/iam/moto_server.py"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string(), "-c"])
            .arg(&cert)
            .arg("-k")
            .arg(&key)
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .env("MOTO_ENABLE_RECORDING", "True")
            .env("MOTO_RECORDER_FILEPATH", &recording)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto_server did not start on port {port}");
            std::thread::sleep(Duration::from_millis(200));
        }
        Moto { child, port, cert, recording }
    }

    fn endpoint(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// What terraform (and myhealthctl running it) needs to talk to the
    /// emulator, as `creds` (an administrator of the default account when none).
    fn env(&self, rc: &Path, creds: Option<&Creds>) -> Vec<(String, std::ffi::OsString)> {
        let mut v: Vec<(String, std::ffi::OsString)> = vec![
            ("TF_CLI_CONFIG_FILE".into(), rc.into()),
            ("CHECKPOINT_DISABLE".into(), "1".into()),
            ("AWS_REGION".into(), "us-east-1".into()),
            ("AWS_DEFAULT_REGION".into(), "us-east-1".into()),
            ("AWS_ENDPOINT_URL".into(), self.endpoint().into()),
            ("AWS_CA_BUNDLE".into(), self.cert.clone().into()),
            ("AWS_PAGER".into(), "".into()),
            // The generated secrets go through the AWS CLI (the venv's `aws`).
            (
                "PATH".into(),
                format!("{}:{}", root().join(".venv/bin").display(), std::env::var("PATH").unwrap()).into(),
            ),
        ];
        match creds {
            Some(c) => v.extend(c.0.iter().map(|(k, val)| (k.clone(), val.into()))),
            None => v.extend([
                ("AWS_ACCESS_KEY_ID".into(), "testing".into()),
                ("AWS_SECRET_ACCESS_KEY".into(), "testing".into()),
            ]),
        }
        v
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The test's directory: removed afterwards, or kept to look at.
enum Work {
    Temp(tempfile::TempDir),
    Kept(PathBuf),
}

impl Work {
    fn path(&self) -> &Path {
        match self {
            Work::Temp(t) => t.path(),
            Work::Kept(p) => p,
        }
    }
}

/// A session's credentials (AWS_ACCESS_KEY_ID, …).
#[derive(Clone, Debug)]
struct Creds(BTreeMap<String, String>);

impl Creds {
    fn key(&self) -> &str {
        &self.0["AWS_ACCESS_KEY_ID"]
    }
}

/// `tests/iam/bed.py ARGS` against moto, as the default account's administrator.
fn bed(moto: &Moto, rc: &Path, args: &[&str]) -> Value {
    let out = Command::new(python())
        .arg(root().join("tests/iam/bed.py"))
        .args(args)
        .envs(moto.env(rc, None))
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .output()
        .unwrap();
    assert!(out.status.success(), "bed.py {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("bed.py {args:?}: {e}"))
}

fn creds(v: Value) -> Creds {
    Creds(v.as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string())).collect())
}

/// Runs terraform against moto; returns (exit code, combined output).
fn terraform(dir: &Path, moto: &Moto, rc: &Path, creds: Option<&Creds>, args: &[&str]) -> (i32, String) {
    let out = Command::new(require_tool("terraform"))
        .args(args)
        .arg("-no-color")
        .current_dir(dir)
        .env("TF_IN_AUTOMATION", "1")
        .envs(moto.env(rc, creds))
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

fn ok(dir: &Path, moto: &Moto, rc: &Path, creds: Option<&Creds>, args: &[&str]) -> String {
    let (code, text) = terraform(dir, moto, rc, creds, args);
    assert_eq!(code, 0, "terraform {args:?} in {} failed:\n{text}", dir.display());
    text
}

/// `myhealthctl` with the same environment terraform gets.
fn myhealthctl(moto: &Moto, rc: &Path, creds: &Creds, args: &[&str], stdin: &str) -> std::process::Output {
    let mut c = cmd();
    c.args(args).envs(moto.env(rc, Some(creds))).env_remove("AWS_PROFILE").write_stdin(stdin.to_string());
    c.output().unwrap()
}

fn text(o: &std::process::Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}
/// The provider talks to the emulator: path-style S3 (no per-bucket DNS).
const PROVIDER_OVERRIDE: &str = r#"provider "aws" {
  s3_use_path_style           = true
  skip_credentials_validation = true
  skip_metadata_api_check     = true
}
"#;

/// Attributes moto does not report back after creating them: without these
/// the second plan would "restore" them forever. Nothing else is ignored.
const EKS_OVERRIDE: &str = r#"resource "aws_eks_cluster" "this" {
  lifecycle {
    ignore_changes = [access_config]
  }
}

resource "aws_eks_node_group" "this" {
  lifecycle {
    ignore_changes = [scaling_config[0].desired_size, remote_access, update_config, launch_template]
  }
}

resource "aws_launch_template" "node" {
  lifecycle {
    ignore_changes = [tag_specifications]
  }
}
"#;

const RDS_OVERRIDE: &str = r#"resource "aws_db_parameter_group" "this" {
  lifecycle {
    ignore_changes = [parameter]
  }
}

resource "aws_vpc_security_group_ingress_rule" "postgres" {
  lifecycle {
    ignore_changes = [description]
  }
}
"#;

/// moto does not report the description of a rule that references another
/// security group (the load balancer's, the VPC link's, the nodes').
const API_GATEWAY_OVERRIDE: &str = r#"resource "aws_vpc_security_group_egress_rule" "link_to_lb" {
  lifecycle {
    ignore_changes = [description]
  }
}

resource "aws_vpc_security_group_ingress_rule" "lb_from_link" {
  lifecycle {
    ignore_changes = [description]
  }
}

resource "aws_vpc_security_group_egress_rule" "lb_to_targets" {
  lifecycle {
    ignore_changes = [description]
  }
}

resource "aws_vpc_security_group_ingress_rule" "targets_from_lb" {
  lifecycle {
    ignore_changes = [description]
  }
}
"#;

/// moto has no EKS access-entry API: the release role's way into the
/// cluster is not created here (its Kubernetes side is held by tests/helm.rs).
const EKS_ACCESS_OVERRIDE: &str = r#"
resource "aws_eks_access_entry" "release" {
  count = 0
}
"#;

/// The backend settings of the S3 backend in moto.
fn backend_config(moto: &Moto) -> Vec<String> {
    [
        format!("endpoints={{s3=\"{}\"}}", moto.endpoint()),
        "use_path_style=true".into(),
        "skip_credentials_validation=true".into(),
        "skip_requesting_account_id=true".into(),
    ]
    .to_vec()
}

/// A fixture: what it is called here, its file, its environments and their accounts.
type Fixture = (&'static str, &'static str, [(&'static str, &'static str); 3]);

/// One environment of a fixture and the sessions of its roles.
#[derive(Clone, Debug)]
struct Env {
    fixture: &'static str,
    config: &'static str,
    out: PathBuf,
    name: String,
    account: String,
    plan: Option<Creds>,
    apply: Option<Creds>,
    release: Option<Creds>,
}

impl Env {
    fn role(&self, kind: &str) -> String {
        format!("arn:aws:iam::{}:role/myhealth-{}-github-{kind}", self.account, self.name)
    }
    fn args<'a>(&'a self, cmd: &'a str, extra: &[&'a str]) -> Vec<String> {
        let mut v: Vec<String> =
            vec![cmd.into(), self.name.clone(), "--config".into(), self.config.into(), "--out".into()];
        v.push(self.out.display().to_string());
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    }
}

/// Render `config` into `out` with the emulator's override files.
fn render(config: &str, out: &Path, envs: &[String]) {
    cmd().args(["render", "--config", config, "--out"]).arg(out).assert().success();
    let tf = out.join("terraform");
    std::fs::write(tf.join("modules/eks/moto_override.tf"), format!("{EKS_OVERRIDE}{EKS_ACCESS_OVERRIDE}")).unwrap();
    std::fs::write(tf.join("modules/rds/moto_override.tf"), RDS_OVERRIDE).unwrap();
    std::fs::write(tf.join("modules/api-gateway/moto_override.tf"), API_GATEWAY_OVERRIDE).unwrap();
    std::fs::write(tf.join("bootstrap/moto_override.tf"), PROVIDER_OVERRIDE).unwrap();
    for e in envs {
        std::fs::write(tf.join(format!("envs/{e}/moto_override.tf")), PROVIDER_OVERRIDE).unwrap();
        std::fs::write(tf.join(format!("access/{e}/moto_override.tf")), PROVIDER_OVERRIDE).unwrap();
    }
}

/// An account's state bucket and key, by its administrator: the bootstrap
/// root with the environment's inputs, its local state per account.
fn bootstrap(moto: &Moto, rc: &Path, e: &Env, admin: &Creds) {
    let boot = e.out.join("terraform/bootstrap");
    // Local state, one per account, outside the generated tree.
    let state = format!("-state={}/bootstrap-{}.tfstate", e.out.parent().unwrap().display(), e.account);
    let vars = format!("-var-file=../envs/{}/bootstrap.tfvars", e.name);
    let applied = ok(&boot, moto, rc, Some(admin), &["apply", "-auto-approve", "-input=false", &state, &vars]);
    assert!(applied.contains("aws_s3_bucket.state: Creation complete"), "{applied}");
    assert!(applied.contains("aws_kms_alias.state: Creation complete"), "the state key has its alias: {applied}");
    // moto evaluates the DenyInsecureTransport statement as matching even over TLS.
    ok(
        &boot,
        moto,
        rc,
        Some(admin),
        &["destroy", "-auto-approve", "-input=false", &state, &vars, "-target=aws_s3_bucket_policy.state"],
    );
}

/// The environment's GitHub roles and boundary, by its account's administrator.
fn access(moto: &Moto, rc: &Path, e: &Env, admin: &Creds) {
    let dir = e.out.join(format!("terraform/access/{}", e.name));
    let mut init = vec!["init".to_string(), "-input=false".into()];
    init.extend(backend_config(moto).iter().map(|b| format!("-backend-config={b}")));
    let init: Vec<&str> = init.iter().map(String::as_str).collect();
    ok(&dir, moto, rc, Some(admin), &init);
    let applied = ok(&dir, moto, rc, Some(admin), &["apply", "-auto-approve", "-input=false"]);
    assert!(applied.contains("module.github_oidc.aws_iam_role.this[\"apply\"]: Creation complete"), "{applied}");
}

/// The services the recorded calls may touch (catalog.cjs dumps AWS's
/// Service Authorization Reference for them).
const IAM_SERVICES: [&str; 18] = [
    "acm",
    "apigateway",
    "autoscaling",
    "budgets",
    "cloudfront",
    "ec2",
    "ecr",
    "eks",
    "elasticloadbalancing",
    "iam",
    "kms",
    "logs",
    "rds",
    "route53",
    "s3",
    "secretsmanager",
    "ssm",
    "sts",
];

fn node(args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
    let dir = root().join("tests/iam");
    assert!(
        dir.join("node_modules/@cloud-copilot/iam-simulate").is_dir(),
        "the IAM judge is not installed: tests/run installs it (`npm ci` in tests/iam)"
    );
    let mut c = Command::new(require_tool("node"));
    c.args(args).current_dir(&dir).stdout(Stdio::piped()).stderr(Stdio::piped());
    c.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    let mut child = c.spawn().unwrap();
    if let Some(input) = stdin {
        use std::io::Write;
        let mut s = child.stdin.take().unwrap();
        s.write_all(input).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "node {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// The project identity of a fixture, as the OIDC subjects name it — read
/// from the file, not from myhealthctl: GitHub's rule, applied independently.
fn subject_prefix(config: &str) -> String {
    let doc: toml::Table = toml::from_str(&std::fs::read_to_string(root().join(config)).unwrap()).unwrap();
    let gh = &doc["project"]["github"];
    let s = |k: &str| gh.get(k).map(|v| v.to_string().trim_matches('"').to_string());
    let (owner, repo) = (s("owner").unwrap(), s("repo").unwrap());
    match (s("oidc_subject").as_deref(), s("owner_id"), s("repo_id")) {
        (Some("name"), _, _) => format!("repo:{owner}/{repo}"),
        (_, Some(o), Some(r)) => format!("repo:{owner}@{o}/{repo}@{r}"),
        _ => panic!("{config}: the immutable subject needs both ids"),
    }
}

/// Every job of the rendered workflows that assumes a role, with the
/// subjects GitHub would put in its token (GitHub's OIDC reference: a job
/// with an environment is named by it whatever the event; a pull request
/// without one is `pull_request`; anything else its ref — here `main`).
fn oidc_jobs(workflows: &Path, prefix: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for f in std::fs::read_dir(workflows).unwrap() {
        let path = f.unwrap().path();
        let w: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        let events: Vec<String> = match &w["on"] {
            Value::Object(m) => m.keys().cloned().collect(),
            Value::String(s) => vec![s.clone()],
            Value::Array(a) => a.iter().map(|e| e.as_str().unwrap().to_string()).collect(),
            other => panic!("{file}: `on` is {other}"),
        };
        for (job, j) in w["jobs"].as_object().unwrap() {
            let Some(role) = j["steps"]
                .as_array()
                .unwrap()
                .iter()
                .find_map(|s| s["with"]["role-to-assume"].as_str().map(str::to_string))
            else {
                continue;
            };
            // (role, environment) per run of the job: the PR's plan matrix
            // comes from the `affected` job's table of plan roles.
            let runs: Vec<(String, Option<String>)> = if role.contains("matrix.") {
                let roles: Value = w["jobs"]["affected"]["steps"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find_map(|s| s["env"]["ROLES"].as_str())
                    .map(|r| serde_json::from_str(r).unwrap())
                    .unwrap_or_else(|| panic!("{file}/{job}: a matrix role without the roles table"));
                roles
                    .as_object()
                    .unwrap()
                    .values()
                    .map(|r| {
                        let env = j["environment"].as_str().map(|e| {
                            assert_eq!(e, "${{ matrix.github_environment }}", "{file}/{job}");
                            r["github_environment"].as_str().unwrap().to_string()
                        });
                        (r["role"].as_str().unwrap().to_string(), env)
                    })
                    .collect()
            } else {
                vec![(role, j["environment"].as_str().map(str::to_string))]
            };
            let only = j["if"].as_str().and_then(|c| {
                c.split("github.event_name == '").nth(1).map(|r| r.split('\'').next().unwrap().to_string())
            });
            for event in events.iter().filter(|e| only.as_ref().is_none_or(|o| o == *e)) {
                for (role, env) in &runs {
                    let sub = match (env, event.as_str()) {
                        (Some(env), _) => format!("{prefix}:environment:{env}"),
                        (None, "pull_request") => format!("{prefix}:pull_request"),
                        (None, _) => format!("{prefix}:ref:refs/heads/main"),
                    };
                    out.push((format!("{file}/{job} on {event}"), sub, role.clone()));
                }
            }
        }
    }
    assert!(!out.is_empty(), "no job assumes a role in {}", workflows.display());
    out
}

/// What the release jobs push and pull through the registry API (from the
/// rendered deploy.yml and build.yml), by role.
fn registry_jobs(workflows: &Path) -> Vec<Value> {
    let arn = |registry: &str, repo: &str| {
        let (account, rest) = registry.split_once(".dkr.ecr.").unwrap();
        let region = rest.split('.').next().unwrap();
        format!("arn:aws:ecr:{region}:{account}:repository/{repo}")
    };
    let deploy: Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(workflows.join("deploy.yml")).unwrap()).unwrap();
    let mut out = Vec::new();
    let mut first: Option<Vec<String>> = None;
    for (job, j) in deploy["jobs"].as_object().unwrap() {
        if !job.starts_with("release-") {
            continue;
        }
        let steps = j["steps"].as_array().unwrap();
        let role = steps.iter().find_map(|s| s["with"]["role-to-assume"].as_str()).unwrap();
        let env = steps.iter().find(|s| s["env"]["REPOS"].is_string()).unwrap()["env"].clone();
        let repos: BTreeMap<String, String> = serde_json::from_str(env["REPOS"].as_str().unwrap()).unwrap();
        let from: BTreeMap<String, String> = serde_json::from_str(env["FROM_REPOS"].as_str().unwrap()).unwrap();
        let (to_reg, from_reg) = (env["TO_REGISTRY"].as_str().unwrap(), env["FROM_REGISTRY"].as_str().unwrap());
        let push: Vec<String> = repos.values().map(|r| arn(to_reg, r)).collect();
        let pull: Vec<String> = if to_reg == from_reg && repos == from {
            push.clone()
        } else {
            from.values().map(|r| arn(from_reg, r)).collect()
        };
        if repos == from {
            first = Some(push.clone());
        }
        out.push(json!({ "principal": role, "push": push, "pull": pull }));
    }
    let build: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(workflows.join("build.yml")).unwrap()).unwrap();
    let role = build["jobs"]["release"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|s| s["with"]["role-to-assume"].as_str())
        .unwrap();
    out.push(json!({ "principal": role, "push": first.expect("the first environment's release job"), "pull": [] }));
    out
}

/// The resource of `oracle` with `prefix` (an EC2 id, an ARN) tagged `Environment = env`.
fn tagged(oracle: &Value, prefix: &str, env: &str) -> String {
    oracle["tags"]
        .as_object()
        .unwrap()
        .iter()
        .find(|(id, t)| id.starts_with(prefix) && t["Environment"] == env)
        .map(|(id, _)| id.clone())
        .unwrap_or_else(|| panic!("no {prefix}… of {env} in moto"))
}

/// A call no role of this kind may make, whatever it does otherwise.
fn forbidden(principal: &str, action: &str, resource: &str, ctx: Value, why: &str, oracle: &Value) -> Value {
    let account = principal.split(':').nth(4).unwrap();
    let mut context =
        json!({ "aws:PrincipalArn": principal, "aws:PrincipalAccount": account, "aws:SecureTransport": "true" });
    let tags = oracle["tags"].get(resource).or_else(|| oracle["tags"].get(resource.rsplit('/').next().unwrap()));
    for (k, v) in tags.and_then(Value::as_object).into_iter().flatten() {
        context[format!("aws:ResourceTag/{k}")] = v.clone();
    }
    for (k, v) in ctx.as_object().unwrap() {
        context[k] = v.clone();
    }
    json!({ "principal": principal, "account": account, "action": action, "resource": resource, "context": context, "why": why })
}

/// The table of calls the generated roles must never be allowed (docs/security.md).
fn forbidden_calls(e: &BTreeMap<&str, &Env>, oracle: &Value, policies: &Value) -> Vec<Value> {
    let (dev, prod) = (e["dev"], e["prod"]);
    let secret = |env: &Env, key: &str| {
        let name = format!("myhealth/{}/{key}", env.name);
        let name = if env.name == "dev" { name } else { format!("myhealth-{}/{key}", env.name) };
        let at = format!("{}/{name}", env.account);
        oracle["secrets"][&at].as_str().unwrap_or_else(|| panic!("no secret {at}")).to_string()
    };
    let bucket = |env: &Env| format!("arn:aws:s3:::myhealth-tfstate-{}", env.account);
    let state = |env: &Env| format!("{}/myhealth/{}/terraform.tfstate", bucket(env), env.name);
    let key_of = |arn: &str| oracle["secret_keys"][arn].as_str().unwrap().to_string();
    let ours = json!({});
    let workload = policies["principals"]
        .as_object()
        .unwrap()
        .keys()
        .find(|r| r.ends_with(&format!("{}:role/myhealth-{}-external-secrets", dev.account, dev.name)))
        .expect("the dev External Secrets role")
        .clone();
    let f = |p: &str, a: &str, r: &str, c: Value, why: &str| forbidden(p, a, r, c, why, oracle);
    let (dapply, dplan, drelease) = (dev.role("apply"), dev.role("plan"), dev.role("release"));
    let prod_vpc = format!("arn:aws:ec2:us-east-1:{}:vpc/{}", prod.account, tagged(oracle, "vpc-", "prod"));
    let dev_vpc = format!("arn:aws:ec2:us-east-1:{}:vpc/{}", dev.account, tagged(oracle, "vpc-", "dev"));
    vec![
        // The apply role of dev is dev's: nothing of prod, nothing of its own access.
        f(
            &dapply,
            "rds:DeleteDBInstance",
            &format!("arn:aws:rds:us-east-1:{}:db:myhealth-prod", prod.account),
            ours.clone(),
            "dev's apply deletes prod's database",
        ),
        f(&dapply, "ec2:DeleteVpc", &prod_vpc, ours.clone(), "dev's apply deletes prod's VPC"),
        f(
            &dapply,
            "ec2:CreateTags",
            &prod_vpc,
            json!({ "aws:RequestTag/Environment": "dev", "aws:TagKeys": ["Environment"] }),
            "dev's apply claims prod's VPC by retagging it",
        ),
        f(
            &dapply,
            "ecr:DeleteRepository",
            &format!("arn:aws:ecr:us-east-1:{}:repository/myhealth-prod/api-service", prod.account),
            ours.clone(),
            "dev's apply deletes prod's images",
        ),
        f(&dapply, "s3:PutObject", &state(prod), ours.clone(), "dev's apply writes prod's state"),
        f(
            &dapply,
            "s3:DeleteObject",
            &format!("{}.tflock", state(prod)),
            ours.clone(),
            "dev's apply removes prod's state lock",
        ),
        f(
            &dapply,
            "s3:GetObject",
            &format!("{}/myhealth/{}/access.tfstate", bucket(dev), dev.name),
            ours.clone(),
            "dev's apply reads the state of its own roles",
        ),
        f(&dapply, "iam:PutRolePolicy", &dapply, ours.clone(), "dev's apply widens its own permissions"),
        f(
            &dapply,
            "iam:CreateRole",
            &format!("arn:aws:iam::{}:role/myhealth-dev-escape", dev.account),
            json!({ "aws:RequestTag/Environment": "dev", "aws:TagKeys": ["Environment"] }),
            "dev's apply creates a role outside the boundary",
        ),
        f(
            &dapply,
            "iam:AttachRolePolicy",
            &workload,
            json!({ "iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess" }),
            "dev's apply makes one of its roles an administrator",
        ),
        f(&dapply, "iam:DeleteRolePermissionsBoundary", &workload, ours.clone(), "dev's apply lifts a role's boundary"),
        f(
            &dapply,
            "secretsmanager:GetSecretValue",
            &secret(dev, "api/jwt-signing-key"),
            ours.clone(),
            "dev's apply reads a secret value",
        ),
        // A pull request's plan role reads what planning needs, and no secret, and takes no lock.
        f(
            &dplan,
            "secretsmanager:GetSecretValue",
            &secret(dev, "api/jwt-signing-key"),
            ours.clone(),
            "a pull request reads the JWT signing key",
        ),
        f(
            &dplan,
            "kms:Decrypt",
            &key_of(&secret(dev, "api/jwt-signing-key")),
            json!({ "kms:ViaService": "secretsmanager.us-east-1.amazonaws.com", "kms:EncryptionContext:SecretARN": secret(dev, "api/jwt-signing-key") }),
            "a pull request decrypts a secret",
        ),
        f(
            &dplan,
            "s3:PutObject",
            &format!("{}.tflock", state(dev)),
            ours.clone(),
            "a pull request takes the state lock",
        ),
        f(
            &dplan,
            "s3:DeleteObject",
            &format!("{}.tflock", state(dev)),
            ours.clone(),
            "a pull request deletes the state lock",
        ),
        f(&dplan, "s3:PutObject", &state(dev), ours.clone(), "a pull request writes the state"),
        f(&dplan, "s3:GetObject", &state(prod), ours.clone(), "dev's plan reads prod's state"),
        f(
            &dplan,
            "ssm:GetParameter",
            &format!("arn:aws:ssm:us-east-1:{}:parameter/myhealth-prod/database", prod.account),
            ours.clone(),
            "dev's plan reads prod's parameter",
        ),
        f(&dplan, "ec2:DeleteVpc", &dev_vpc, ours.clone(), "a plan changes something"),
        // The release role pushes dev's images and finds its cluster, nothing more.
        f(
            &drelease,
            "ecr:PutImage",
            &format!("arn:aws:ecr:us-east-1:{}:repository/myhealth-prod/api-service", prod.account),
            ours.clone(),
            "dev's release pushes into prod",
        ),
        f(
            &drelease,
            "ecr:DeleteRepository",
            &format!("arn:aws:ecr:us-east-1:{}:repository/myhealth-dev/api-service", dev.account),
            ours.clone(),
            "a release deletes a repository",
        ),
        f(
            &drelease,
            "eks:DescribeCluster",
            &format!("arn:aws:eks:us-east-1:{}:cluster/myhealth-prod", prod.account),
            ours.clone(),
            "dev's release reaches prod's cluster",
        ),
        f(&drelease, "s3:GetObject", &state(dev), ours.clone(), "a release reads the state"),
        // A workload's role, whatever policy it were given, stays in its boundary.
        f(
            &workload,
            "iam:CreateRole",
            &format!("arn:aws:iam::{}:role/anything", dev.account),
            ours.clone(),
            "a workload creates a role",
        ),
        f(
            &workload,
            "secretsmanager:GetSecretValue",
            &secret(prod, "api/jwt-signing-key"),
            ours.clone(),
            "a dev workload reads prod's secret",
        ),
    ]
}

#[test]
fn every_environment_applies_with_its_own_roles_and_iam_allows_exactly_that() {
    let work = tempfile::tempdir().unwrap();
    // MYHEALTHCTL_TEST_KEEP=1 keeps the work directory (the recording, the
    // judge's inputs) for a look after a failure.
    let work = if std::env::var_os("MYHEALTHCTL_TEST_KEEP").is_some() {
        let kept = work.keep();
        eprintln!("work directory kept: {}", kept.display());
        Work::Kept(kept)
    } else {
        Work::Temp(work)
    };
    let moto = Moto::start(work.path());
    let rc = work.path().join("terraform.rc");
    let mirror = std::env::var("MYHEALTH_TF_PLUGIN_MIRROR").unwrap_or_else(|_| "/opt/tf-plugins".into());
    std::fs::create_dir_all(work.path().join("plugin-cache")).unwrap();
    std::fs::write(
        &rc,
        format!(
            "plugin_cache_dir = \"{}\"\nprovider_installation {{\n  filesystem_mirror {{\n    path    = \"{mirror}\"\n    include = [\"registry.terraform.io/hashicorp/*\"]\n  }}\n  direct {{\n    exclude = [\"registry.terraform.io/hashicorp/*\"]\n  }}\n}}\n",
            work.path().join("plugin-cache").display()
        ),
    )
    .unwrap();

    // Both fixtures: every environment, in one account and in one each.
    let fixtures: [Fixture; 2] = [
        (
            "one account",
            "tests/fixtures/moto.toml",
            [("dev", "123456789012"), ("staging", "123456789012"), ("prod", "123456789012")],
        ),
        (
            "one account each",
            "tests/fixtures/moto-accounts.toml",
            [("dev", "111111111111"), ("staging", "222222222222"), ("prod", "333333333333")],
        ),
    ];
    let mut envs: Vec<Env> = Vec::new();
    for (i, (fixture, config, list)) in fixtures.iter().enumerate() {
        let out = work.path().join(format!("generated-{i}"));
        render(config, &out, &list.iter().map(|(e, _)| e.to_string()).collect::<Vec<_>>());
        for (name, account) in list {
            envs.push(Env {
                fixture,
                config,
                out: out.clone(),
                name: name.to_string(),
                account: account.to_string(),
                plan: None,
                apply: None,
                release: None,
            });
        }
    }
    // Per account its administrator: the state bucket (bootstrap, the
    // accounts at once), then each environment's GitHub roles (access root).
    let mut admins: BTreeMap<String, Creds> = BTreeMap::new();
    let mut firsts: Vec<&Env> = Vec::new();
    for e in &envs {
        if !admins.contains_key(&e.account) {
            admins.insert(e.account.clone(), creds(bed(&moto, &rc, &["admin", &e.account])));
            firsts.push(e);
        }
    }
    for out in firsts.iter().map(|e| e.out.clone()).collect::<BTreeSet<_>>() {
        ok(&out.join("terraform/bootstrap"), &moto, &rc, None, &["init", "-input=false"]);
    }
    std::thread::scope(|s| {
        for e in &firsts {
            let (moto, rc, admin) = (&moto, &rc, &admins[&e.account]);
            s.spawn(move || bootstrap(moto, rc, e, admin));
        }
    });
    for e in &envs {
        access(&moto, &rc, e, &admins[&e.account]);
    }
    // Each job's session of its own role (moto issues them without judging
    // the token: the judge below holds the trust policies to GitHub's subjects).
    let mut keys: BTreeMap<String, String> = BTreeMap::new();
    for e in &mut envs {
        for kind in ["plan", "apply", "release"] {
            let c = creds(bed(&moto, &rc, &["assume", &e.role(kind), &format!("github-{kind}")]));
            keys.insert(c.key().to_string(), e.role(kind));
            match kind {
                "plan" => e.plan = Some(c),
                "apply" => e.apply = Some(c),
                _ => e.release = Some(c),
            }
        }
    }
    let backend: Vec<String> =
        backend_config(&moto).iter().flat_map(|b| ["--backend-config".to_string(), b.clone()]).collect();
    let backend: Vec<&str> = backend.iter().map(String::as_str).collect();

    // Plans, one after the other (each runs `terraform init`, which shares
    // the plugin cache), by the plan role.
    let mut fingerprints: BTreeMap<(String, String), String> = BTreeMap::new();
    for e in &envs {
        let mut args = e.args("plan", &["--json", "--detailed-exitcode"]);
        args.extend(backend.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let planned = myhealthctl(&moto, &rc, e.plan.as_ref().unwrap(), &args, "");
        assert_eq!(planned.status.code(), Some(1), "{} {}: plan → 1 (changes)\n{}", e.fixture, e.name, text(&planned));
        let summary: Value = serde_json::from_slice(&planned.stdout).unwrap();
        assert!(summary["add"].as_u64().unwrap() > 60, "{summary:#}");
        assert_eq!((summary["change"].as_u64(), summary["destroy"].as_u64()), (Some(0), Some(0)), "{summary:#}");
        assert_eq!(summary["stateful_losses"], json!([]));
        fingerprints
            .insert((e.fixture.to_string(), e.name.clone()), summary["fingerprint"].as_str().unwrap().to_string());
    }

    // dev, one account: a fingerprint other than the plan's applies nothing,
    // nor does a declined deploy.
    let dev = envs.iter().find(|e| e.fixture == "one account" && e.name == "dev").unwrap().clone();
    let dev_apply = dev.apply.as_ref().unwrap();
    {
        let mut args = dev.args("apply", &["--expect-fingerprint", "sha256:0"]);
        args.extend(backend.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let refused = myhealthctl(&moto, &rc, dev_apply, &args, "");
        let fp = &fingerprints[&("one account".to_string(), "dev".to_string())];
        assert_eq!(refused.status.code(), Some(3), "{}", text(&refused));
        assert!(
            text(&refused).contains(&format!("not applied: the saved plan is {fp}, not the approved sha256:0")),
            "{}",
            text(&refused)
        );
        let mut args = dev.args("deploy", &["--skip-app"]);
        args.extend(backend.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let declined = myhealthctl(&moto, &rc, dev_apply, &args, "no\n");
        assert_eq!(declined.status.code(), Some(3), "{}", text(&declined));
        assert!(
            text(&declined).contains("apply this plan to `dev`? type `yes`") && text(&declined).contains("not applied")
        );
        let dir = dev.out.join("terraform/envs/dev");
        let (_, listed) = terraform(&dir, &moto, &rc, Some(dev_apply), &["state", "list"]);
        assert!(!listed.contains("module."), "a refused apply changed the infrastructure:\n{listed}");
        // The deploy planned again: plan once more for the apply below, with
        // the plan policies of tests/policy/plan (input 3: `terraform show
        // -json` of this plan and dev's cost), as the plan role.
        let policies = root().join("tests/policy/plan");
        let mut args = dev.args("plan", &["--json", "--policy", policies.to_str().unwrap()]);
        args.extend(backend.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let planned = myhealthctl(&moto, &rc, dev.plan.as_ref().unwrap(), &args, "");
        let summary: Value = serde_json::from_slice(&planned.stdout).unwrap();
        let said = String::from_utf8_lossy(&planned.stderr);
        let creates = summary["add"].as_u64().unwrap();
        assert!(
            said.contains(&format!("warning: `dev`: the plan creates {creates} resources (estimated $"))
                && said.contains("policy rule `main.warn_creates`")
                && !said.contains("deny_database_delete"),
            "the plan policy's finding, with the plan's own count:\n{said}"
        );
        fingerprints.insert(("one account".into(), "dev".into()), summary["fingerprint"].as_str().unwrap().to_string());
    }

    // Every environment's apply at once, each by its apply role, exactly the
    // fingerprint planned (as terraform-apply.yml runs it).
    let started = Instant::now();
    std::thread::scope(|s| {
        let handles: Vec<_> = envs
            .iter()
            .map(|e| {
                let (moto, rc, backend, fp) =
                    (&moto, &rc, &backend, fingerprints[&(e.fixture.to_string(), e.name.clone())].clone());
                s.spawn(move || {
                    let mut args = e.args("apply", &["--expect-fingerprint", &fp]);
                    args.extend(backend.iter().map(|s| s.to_string()));
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    let applied = myhealthctl(moto, rc, e.apply.as_ref().unwrap(), &args, "");
                    assert!(applied.status.success(), "{} {}: apply\n{}", e.fixture, e.name, text(&applied));
                    let t = text(&applied);
                    for s in ["api/jwt-signing-key", "grafana/admin", "grafana/database"] {
                        assert!(
                            t.contains("generated a value for `") && t.contains(s),
                            "{}: {s} got no value:\n{t}",
                            e.name
                        );
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
    });
    eprintln!("six environments applied in {} s", started.elapsed().as_secs());

    // The release job's own AWS calls, by the release role.
    for e in &envs {
        let out = Command::new(python())
            .arg(root().join("tests/iam/bed.py"))
            .args(["release", &format!("myhealth-{}", e.name)])
            .envs(moto.env(&rc, e.release.as_ref()))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }

    // Idempotent: a second plan of each has nothing to do.
    for e in &envs {
        let mut args = e.args("plan", &[]);
        args.extend(backend.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let again = myhealthctl(&moto, &rc, e.plan.as_ref().unwrap(), &args, "");
        assert_eq!(
            again.status.code(),
            Some(0),
            "{} {}: the second plan wants changes\n{}",
            e.fixture,
            e.name,
            text(&again)
        );
        assert!(text(&again).contains(&format!("plan for `{}`: no changes", e.name)), "{}", text(&again));
    }
    // Applying again writes no secret twice.
    {
        let mut args = dev.args("apply", &["--yes"]);
        args.extend(backend.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let again = myhealthctl(&moto, &rc, dev_apply, &args, "");
        assert!(again.status.success() && !text(&again).contains("generated a value"), "{}", text(&again));
        let dir = dev.out.join("terraform/envs/dev");
        let state = ok(&dir, &moto, &rc, Some(dev_apply), &["state", "pull"]);
        assert!(!state.contains("aws_secretsmanager_secret_version"), "no secret value is Terraform's");
    }

    // `doctor ENV --aws` as terraform-apply.yml runs it: with the plan role,
    // each environment's roles exist and trust exactly its jobs' subjects.
    for e in &envs {
        let args = ["doctor", e.name.as_str(), "--aws", "--config", e.config];
        let out = myhealthctl(&moto, &rc, e.plan.as_ref().unwrap(), &args, "");
        assert_eq!(out.status.code(), Some(0), "{} {}: doctor\n{}", e.fixture, e.name, text(&out));
    }

    drift_of_dev(&moto, &rc, &dev, &backend);

    // What moto holds now: the judge's inputs (before dev is destroyed,
    // whose calls are judged against the resources they touched).
    let accounts: Vec<String> = admins.keys().cloned().collect();
    let mut args = vec!["oracle"];
    args.extend(accounts.iter().map(String::as_str));
    let oracle = bed(&moto, &rc, &args);
    args[0] = "policies";
    let policies = bed(&moto, &rc, &args);

    // A role whose trust drifted from the access root (changed by hand):
    // doctor names it, with the fix.
    let edit = r#"
import boto3, json, os
iam = boto3.client("iam", endpoint_url=os.environ["AWS_ENDPOINT_URL"], verify=os.environ["AWS_CA_BUNDLE"])
doc = json.loads(json.dumps(iam.get_role(RoleName="myhealth-staging-github-apply")["Role"]["AssumeRolePolicyDocument"]))
doc["Statement"][0]["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"] = "repo:example/myhealth:environment:staging"
iam.update_assume_role_policy(RoleName="myhealth-staging-github-apply", PolicyDocument=json.dumps(doc))
"#;
    let changed = Command::new(python()).arg("-c").arg(edit).envs(moto.env(&rc, None)).output().unwrap();
    assert!(changed.status.success(), "{}", String::from_utf8_lossy(&changed.stderr));
    let staging = envs.iter().find(|e| e.fixture == "one account" && e.name == "staging").unwrap();
    let args = ["doctor", "staging", "--aws", "--config", staging.config];
    let out = myhealthctl(&moto, &rc, staging.plan.as_ref().unwrap(), &args, "");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("role `myhealth-staging-github-apply`")
            && text(&out).contains("terraform -chdir=generated/terraform/access/staging apply"),
        "{}",
        text(&out)
    );

    destroy_dev(&moto, &rc, &dev);
    retire_staging(&moto, &rc, staging, work.path());

    judge(&moto, &envs, &keys, &oracle, &policies, work.path());
}

/// Drift of dev (one account), by its plan role: the baseline moto reports,
/// then three changes made by hand, each named with its attribute, state
/// and live value and the config key that owns it.
fn drift_of_dev(moto: &Moto, rc: &Path, dev: &Env, backend: &[&str]) {
    let mut drift_args = dev.args("drift", &["--json"]);
    drift_args.extend(backend.iter().map(|s| s.to_string()));
    let drift_args: Vec<&str> = drift_args.iter().map(String::as_str).collect();
    let plan = dev.plan.as_ref().unwrap();
    // Right after the apply moto already reports some attributes other than
    // the provider wrote (emulator gaps, listed in the test's output): that
    // baseline is what the three changes below must add to.
    let clean = myhealthctl(moto, rc, plan, &drift_args, "");
    assert!(matches!(clean.status.code(), Some(0 | 1)), "{}", text(&clean));
    let baseline: Value = serde_json::from_slice(&clean.stdout).unwrap();
    let paths = |r: &Value| -> Vec<String> {
        r["resources"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|x| {
                let addr = x["address"].as_str().unwrap().to_string();
                x["attributes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(move |a| format!("{addr} {}", a["path"].as_str().unwrap()))
            })
            .collect()
    };
    eprintln!("moto's drift right after the apply (the baseline): {:?}", paths(&baseline));
    let boto = r#"
import boto3, os
kw = dict(endpoint_url=os.environ["AWS_ENDPOINT_URL"], verify=os.environ["AWS_CA_BUNDLE"], region_name="us-east-1")
rds, ec2 = boto3.client("rds", **kw), boto3.client("ec2", **kw)
rds.modify_db_instance(DBInstanceIdentifier="myhealth-dev", BackupRetentionPeriod=1, ApplyImmediately=True)
vpc = ec2.describe_vpcs(Filters=[{"Name": "tag:Environment", "Values": ["dev"]}])["Vpcs"][0]["VpcId"]
ec2.create_tags(Resources=[vpc], Tags=[{"Key": "Environment", "Value": "changed-by-hand"}])
sg = [g for g in ec2.describe_security_groups()["SecurityGroups"] if g["GroupName"] == "myhealth-dev-db"][0]["GroupId"]
ec2.authorize_security_group_ingress(GroupId=sg, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
"#;
    let changed = Command::new(python()).arg("-c").arg(boto).envs(moto.env(rc, None)).output().unwrap();
    assert!(changed.status.success(), "{}", String::from_utf8_lossy(&changed.stderr));
    let drifted = myhealthctl(moto, rc, plan, &drift_args, "");
    assert_eq!(drifted.status.code(), Some(1), "drift → 1\n{}", text(&drifted));
    let report: Value = serde_json::from_slice(&drifted.stdout).unwrap();
    for p in [
        "module.rds.aws_db_instance.this backup_retention_period",
        "module.networking.aws_vpc.this tags_all.Environment",
    ] {
        assert!(!paths(&baseline).contains(&p.to_string()), "`{p}` drifted before the change: {baseline:#}");
    }
    let attr = |addr_part: &str, path: &str| -> Value {
        report["resources"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["address"].as_str().unwrap().contains(addr_part))
            .flat_map(|r| r["attributes"].as_array().unwrap().iter().cloned())
            .find(|a| a["path"] == path)
            .unwrap_or_else(|| panic!("no drift of `{path}` in `{addr_part}`: {report:#}"))
    };
    let retention = attr("module.rds.aws_db_instance.this", "backup_retention_period");
    assert_eq!((retention["state"].as_u64(), retention["live"].as_u64()), (Some(7), Some(1)), "{retention}");
    assert_eq!(retention["key"], "rds.backup_retention_days");
    let tag = attr("module.networking.aws_vpc.this", "tags_all.Environment");
    assert_eq!((tag["state"].as_str(), tag["live"].as_str()), (Some("dev"), Some("changed-by-hand")));
    assert_eq!(tag["key"], "[environments.dev] (its name)");
    let before = baseline["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["address"] == "module.rds.aws_security_group.this")
        .map(|r| r.to_string())
        .unwrap_or_default();
    assert!(!before.contains("0.0.0.0/0"), "{before}");
    let rule = attr("module.rds.aws_security_group.this", "ingress");
    assert!(
        rule["live"].to_string().contains("0.0.0.0/0") && !rule["state"].to_string().contains("0.0.0.0/0"),
        "{rule}"
    );
    assert!(rule["key"].is_null(), "no key owns a rule added by hand: {rule}");
    // Put the VPC's tag back: what the environment owns is found by it.
    let undo = r#"
import boto3, os
ec2 = boto3.client("ec2", endpoint_url=os.environ["AWS_ENDPOINT_URL"], verify=os.environ["AWS_CA_BUNDLE"], region_name="us-east-1")
vpc = ec2.describe_vpcs(Filters=[{"Name": "tag:Environment", "Values": ["changed-by-hand"]}])["Vpcs"][0]["VpcId"]
ec2.create_tags(Resources=[vpc], Tags=[{"Key": "Environment", "Value": "dev"}])
"#;
    let undone = Command::new(python()).arg("-c").arg(undo).envs(moto.env(rc, None)).output().unwrap();
    assert!(undone.status.success(), "{}", String::from_utf8_lossy(&undone.stderr));
}

/// `myhealthctl destroy` of dev (one account) by its apply role: the wrong
/// name destroys nothing; `--yes` all of it, the stateful resources called out first.
fn destroy_dev(moto: &Moto, rc: &Path, dev: &Env) {
    let apply = dev.apply.as_ref().unwrap();
    let dir = dev.out.join("terraform/envs/dev");
    let created = ok(&dir, moto, rc, Some(apply), &["state", "list"])
        .lines()
        .filter(|l| !l.starts_with("data.") && !l.contains(".data."))
        .count();
    let args = dev.args("destroy", &[]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let refused = myhealthctl(moto, rc, apply, &args, "staging\n");
    assert_eq!(refused.status.code(), Some(3), "{}", text(&refused));
    assert!(text(&refused).contains("not destroyed: `staging` is not `dev`"));
    let args = dev.args("destroy", &["--yes"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let destroyed = myhealthctl(moto, rc, apply, &args, "");
    let out = String::from_utf8_lossy(&destroyed.stdout);
    assert!(destroyed.status.success(), "{}", text(&destroyed));
    let listed: usize = out
        .split("to destroy (")
        .nth(1)
        .and_then(|r| r.split(')').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no destroy count: {out}"));
    assert!(listed >= created, "{listed} to destroy, {created} created");
    assert!(out.contains("!! module.rds.aws_db_instance.this"), "the database is called out: {out}");
    assert!(out.contains(&format!("{listed} destroyed")), "{out}");
}

/// Staging (one account) removed from the config: `render` refuses to drop
/// its roots, `render --retire staging` keeps them marked, and `destroy
/// staging`, by staging's apply role, destroys what its state holds and
/// removes its root; the access root stays, marked, for its administrator.
fn retire_staging(moto: &Moto, rc: &Path, staging: &Env, work: &Path) {
    let apply = staging.apply.as_ref().unwrap();
    let fixture = std::fs::read_to_string(common::root().join(staging.config)).unwrap();
    let without = common::without_environment(&fixture, "staging");
    assert!(without.lines().count() < fixture.lines().count(), "the fixture has staging tables");
    let config = work.join("without-staging.toml");
    std::fs::write(&config, &fixture).unwrap();
    let config = config.display().to_string();
    // A copy of the fixture's output (the state is in the bucket): the
    // judge still reads every job of the original workflows.
    let copy = work.join("retired-out");
    let cp = Command::new("cp").arg("-a").arg(&staging.out).arg(&copy).status().unwrap();
    assert!(cp.success());
    let out = copy.display().to_string();
    let args = |more: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = more.iter().map(|s| s.to_string()).collect();
        v.extend(["--config".to_string(), config.clone(), "--out".into(), out.clone()]);
        v
    };
    let run = |more: &[&str], stdin: &str| {
        let a = args(more);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        myhealthctl(moto, rc, apply, &a, stdin)
    };
    // The base of the pull request that retires staging: the config with it.
    let git = |a: &[&str]| common::git_in(work, a);
    git(&["init", "-q", "-b", "main"]);
    std::fs::write(work.join(".gitignore"), ".terraform/\n.terraform.lock.hcl\n*.tfplan\n").unwrap();
    git(&["add", "without-staging.toml", "retired-out"]);
    git(&["commit", "-q", "-m", "base"]);
    std::fs::write(work.join("without-staging.toml"), &without).unwrap();
    let refused = run(&["render"], "");
    assert_eq!(refused.status.code(), Some(3), "{}", text(&refused));
    let retired = run(&["render", "--retire", "staging"], "");
    assert!(retired.status.success(), "{}", text(&retired));
    git(&["add", "-A", "without-staging.toml", "retired-out"]);
    git(&["commit", "-q", "-m", "retire staging"]);
    let root = copy.join("terraform/envs/staging");
    assert!(root.join("RETIRED.md").is_file() && root.join("main.tf").is_file());
    let created = ok(&root, moto, rc, Some(apply), &["state", "list"])
        .lines()
        .filter(|l| !l.starts_with("data.") && !l.contains(".data."))
        .count();
    assert!(created > 20, "staging holds {created} resources");
    // The PR plans its destroy with staging's plan role (pr.yml's matrix row,
    // from the kept access root), and the review says what retiring takes.
    let a = args(&["plan", "staging", "--json"]);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    let planned = myhealthctl(moto, rc, staging.plan.as_ref().unwrap(), &a, "");
    assert!(planned.status.success(), "{}", text(&planned));
    let summary: Value = serde_json::from_slice(&planned.stdout).unwrap();
    let destroyed = summary["destroy"].as_u64().unwrap() + summary["replace"].as_u64().unwrap();
    assert!(destroyed as usize >= created, "{destroyed} to destroy, {created} in the state");
    std::fs::create_dir_all(work.join("plans")).unwrap();
    std::fs::write(work.join("plans/staging.json"), &planned.stdout).unwrap();
    let plans = work.join("plans").display().to_string();
    let review = run(&["diff", "--base", "HEAD~1", "--format", "markdown", "--plans", &plans], "");
    let md = String::from_utf8_lossy(&review.stdout);
    assert!(
        md.contains(&format!("- retires `staging`: {destroyed} resources destroyed, -$")),
        "the review says what retiring staging takes:\n{md}\n{}",
        String::from_utf8_lossy(&review.stderr)
    );
    let destroyed = run(&["destroy", "staging", "--yes"], "");
    let said = String::from_utf8_lossy(&destroyed.stdout);
    assert!(destroyed.status.success(), "{}", text(&destroyed));
    assert!(said.contains("destroyed"), "{said}");
    assert!(!root.exists(), "the retired root is removed once destroyed");
    assert!(copy.join("terraform/access/staging/RETIRED.md").is_file(), "the access root stays for its admin");
    let again = run(&["render"], "");
    assert!(again.status.success(), "{}", text(&again));
}

/// What the judge said: recorded calls it refused (not tolerated), calls
/// of the forbidden table it allowed, job tokens accepted or refused wrongly.
struct Verdicts {
    denied: Vec<String>,
    allowed: Vec<String>,
    tokens: Vec<String>,
}

fn verdicts(policies: &Value, recorded: &[Value], refused: &[Value], tokens: &[(Value, bool)]) -> Verdicts {
    let mut requests: Vec<Value> = recorded.to_vec();
    requests.extend(refused.iter().cloned());
    requests.extend(tokens.iter().map(|(r, _)| r.clone()));
    let input = json!({ "policies": policies["policies"], "principals": policies["principals"], "requests": requests });
    let answers: Vec<Value> =
        serde_json::from_slice(&node(&["judge.cjs"], Some(&serde_json::to_vec(&input).unwrap()))).unwrap();
    let verdict: BTreeMap<String, &Value> =
        answers.iter().map(|v| (v["id"].as_str().unwrap().to_string(), v)).collect();
    let decision = |id: &Value| verdict[id.as_str().unwrap()]["decision"].as_str().unwrap().to_string();
    let mut denied: BTreeSet<String> = BTreeSet::new();
    for r in recorded {
        let d = decision(&r["id"]);
        if d != "Allowed" && r.get("tolerated").is_none() {
            denied.insert(format!(
                "{} {} on {} ({}): {d} {}",
                r["principal"].as_str().unwrap().rsplit('/').next().unwrap(),
                r["action"],
                r["resource"],
                r["origin"],
                verdict[r["id"].as_str().unwrap()]["detail"]
            ));
        }
    }
    let allowed = refused
        .iter()
        .filter(|r| decision(&r["id"]) == "Allowed")
        .map(|r| format!("{} ({} {} on {})", r["why"], r["principal"], r["action"], r["resource"]))
        .collect();
    let tokens = tokens
        .iter()
        .filter_map(|(r, want)| {
            let got = decision(&r["id"]) == "Allowed";
            (got != *want).then(|| {
                format!("{}: {}", r["why"], if got { "accepted, but it is not the job's role" } else { "refused" })
            })
        })
        .collect();
    Verdicts { denied: denied.into_iter().collect(), allowed, tokens }
}

/// The IAM judge over everything the roles did, the calls none may make,
/// and the OIDC subjects of every workflow job.
fn judge(moto: &Moto, envs: &[Env], keys: &BTreeMap<String, String>, oracle: &Value, policies: &Value, dir: &Path) {
    let write = |name: &str, v: &Value| {
        let p = dir.join(name);
        std::fs::write(&p, serde_json::to_vec(v).unwrap()).unwrap();
        p
    };
    let catalog = node(&[&["catalog.cjs"][..], &IAM_SERVICES[..]].concat(), None);
    let catalog_file = dir.join("catalog.json");
    std::fs::write(&catalog_file, catalog).unwrap();
    let registry: Vec<Value> = envs
        .iter()
        .map(|e| e.out.join("workflows"))
        .collect::<BTreeSet<_>>()
        .iter()
        .flat_map(|w| registry_jobs(w))
        .collect();
    let out = Command::new(python())
        .arg(root().join("tests/iam/calls.py"))
        .arg("decode")
        .arg(&moto.recording)
        .arg(write("keys.json", &json!(keys)))
        .arg(write("oracle.json", oracle))
        .arg(&catalog_file)
        .arg(write("registry.json", &json!(registry)))
        .output()
        .unwrap();
    assert!(out.status.success(), "calls.py: {}", String::from_utf8_lossy(&out.stderr));
    let decoded: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(decoded["errors"], json!([]), "calls the test bed cannot map to IAM");
    let mut recorded: Vec<Value> = decoded["requests"].as_array().unwrap().clone();
    // Every role, every kind of call: the recording is whole.
    for e in envs {
        for kind in ["plan", "apply", "release"] {
            let role = e.role(kind);
            assert!(recorded.iter().any(|r| r["principal"] == role), "no call of {role} was recorded");
        }
    }
    assert!(recorded.len() > 2000, "only {} calls recorded", recorded.len());
    let resource_policy = |arn: &str| policies["resources"].get(arn).cloned().unwrap_or(Value::Null);
    for r in &mut recorded {
        r["resource_policy"] = resource_policy(r["resource"].as_str().unwrap());
    }

    // The calls no role may make.
    let mut refused: Vec<Value> = Vec::new();
    for fixture in ["one account", "one account each"] {
        let by_name: BTreeMap<&str, &Env> =
            envs.iter().filter(|e| e.fixture == fixture).map(|e| (e.name.as_str(), e)).collect();
        refused.extend(forbidden_calls(&by_name, oracle, policies));
    }
    for (i, r) in refused.iter_mut().enumerate() {
        r["id"] = json!(format!("forbidden.{i}"));
        r["resource_policy"] = resource_policy(r["resource"].as_str().unwrap());
    }

    // OIDC: each job's token is accepted by exactly its role.
    let mut tokens: Vec<(Value, bool)> = Vec::new();
    for (config, out) in envs.iter().map(|e| (e.config, e.out.clone())).collect::<BTreeSet<_>>() {
        let prefix = subject_prefix(config);
        let roles: Vec<String> = envs
            .iter()
            .filter(|e| e.config == config)
            .flat_map(|e| ["plan", "apply", "release"].map(|k| e.role(k)))
            .collect();
        let jobs = oidc_jobs(&out.join("workflows"), &prefix);
        // The name-only subject a repository created since 2026-07-15 never gets.
        let mut subjects: Vec<(String, String, Option<String>)> =
            jobs.iter().map(|(job, sub, role)| (job.clone(), sub.clone(), Some(role.clone()))).collect();
        if prefix.contains('@') {
            let legacy = prefix.split('@').next().unwrap().to_string()
                + "/"
                + prefix.rsplit('/').next().unwrap().split('@').next().unwrap();
            subjects.push(("a token in the name-only format".into(), format!("{legacy}:environment:dev-plan"), None));
        }
        subjects.push(("a pull request without an environment".into(), format!("{prefix}:pull_request"), None));
        for (job, sub, want) in subjects {
            for role in &roles {
                let account = role.split(':').nth(4).unwrap();
                let provider = format!("arn:aws:iam::{account}:oidc-provider/token.actions.githubusercontent.com");
                let id = format!("oidc.{}", tokens.len());
                let req = json!({
                    "id": id, "principal": provider, "account": account, "action": "sts:AssumeRoleWithWebIdentity",
                    "resource": role, "resource_policy": resource_policy(role),
                    "context": { "token.actions.githubusercontent.com:sub": sub, "token.actions.githubusercontent.com:aud": "sts.amazonaws.com" },
                    "why": format!("{job} ({sub}) assumes {role}"),
                });
                tokens.push((req, want.as_deref() == Some(role.as_str())));
            }
        }
    }

    std::fs::write(dir.join("policies.json"), serde_json::to_vec(policies).unwrap()).unwrap();
    let v = verdicts(policies, &recorded, &refused, &tokens);
    assert!(v.denied.is_empty(), "calls the roles made that IAM would refuse:\n{}", v.denied.join("\n"));
    assert!(v.allowed.is_empty(), "calls no role may make, allowed:\n{}", v.allowed.join("\n"));
    assert!(v.tokens.is_empty(), "OIDC subjects:\n{}", v.tokens.join("\n"));

    // Each check can fail: the same judge over the same calls, with one
    // role's real policy broken at a time.
    let apply = "arn:aws:iam::123456789012:role/myhealth-dev-github-apply#inline:permissions";
    let trust = "arn:aws:iam::123456789012:role/myhealth-dev-github-plan#trust";
    let mutate = |f: &dyn Fn(&mut Value)| {
        let mut p = policies.clone();
        f(&mut p["policies"]);
        verdicts(&p, &recorded, &refused, &tokens)
    };
    let narrower = mutate(&|p| p[apply]["Statement"].as_array_mut().unwrap().retain(|s| s["Sid"] != "Ec2Create"));
    assert!(
        narrower.denied.iter().any(|d| d.contains("ec2:CreateVpc")),
        "dev's apply without its EC2 creates must fail the judge: {:#?}",
        narrower.denied
    );
    let wider = mutate(&|p| {
        p[apply]["Statement"].as_array_mut().unwrap().push(json!({ "Effect": "Allow", "Action": "*", "Resource": "*" }))
    });
    assert!(
        wider.allowed.iter().any(|a| a.contains("dev's apply deletes prod's database")),
        "dev's apply as an administrator must fail the table: {:#?}",
        wider.allowed
    );
    let trusting = mutate(&|p| {
        for st in p[trust]["Statement"].as_array_mut().unwrap() {
            st["Condition"] = json!({ "StringLike": { "token.actions.githubusercontent.com:sub": "repo:*" } });
        }
    });
    assert!(
        trusting.tokens.iter().any(|t| t.contains("accepted, but it is not the job's role")),
        "a plan role trusting any subject of any repository must fail the OIDC check"
    );
    let accepted = tokens.iter().filter(|(_, w)| *w).count();
    let _ = moto;
    eprintln!(
        "IAM judge: {} recorded calls allowed, {} forbidden calls refused, {} job tokens each accepted by exactly its role",
        recorded.len(),
        refused.len(),
        accepted
    );
}
