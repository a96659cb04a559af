//! The Helm chart through the real Helm (the Helm v4 Go SDK in the
//! `helm-python-sdk` wheel, driven by `tests/helm/render.py`): lint clean,
//! every environment of the default config and of each fixture renders, the
//! built-in objects pass `kubernetes-validate --strict` for the cluster
//! version in the config, every custom resource (the chart's and ArgoCD's)
//! passes the real CRD schema of the pinned add-on version (`tests/crds/`;
//! unknown fields are errors), a values file that breaks the schema is
//! refused by Helm with the schema's message, and the default config's
//! manifests are snapshotted per environment. How the objects refer to each
//! other across layers is `tests/wiring.rs`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{cmd, require_tool, root};
use serde::Deserialize;

use common::CONFIGS;

fn python() -> PathBuf {
    require_tool("python3")
}

fn driver<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> std::process::Output {
    Command::new(python()).arg(root().join("tests/helm/render.py")).args(args).output().unwrap()
}

/// Render a config into a temporary `generated/`.
fn generate(config: &str) -> tempfile::TempDir {
    let out = tempfile::tempdir().unwrap();
    cmd().args(["render", "--config"]).arg(root().join(config)).arg("--out").arg(out.path()).assert().success();
    out
}

/// The environments of a rendered tree and their cluster versions (from the values files).
fn environments(generated: &Path) -> Vec<(String, String)> {
    let mut envs = Vec::new();
    for entry in std::fs::read_dir(generated.join("helm")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if let Some(env) = name.strip_prefix("values-").and_then(|n| n.strip_suffix(".yaml")) {
            let tfvars =
                std::fs::read_to_string(generated.join(format!("terraform/envs/{env}/terraform.tfvars"))).unwrap();
            let version = tfvars
                .lines()
                .find_map(|l| {
                    l.trim()
                        .strip_prefix("cluster_version")
                        .map(|v| v.trim_start_matches([' ', '=']).trim_matches('"').to_string())
                })
                .expect("cluster_version in terraform.tfvars");
            envs.push((env.to_string(), version));
        }
    }
    envs.sort();
    envs
}

/// Every manifest file of a rendered environment, as (path, text).
fn manifests(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = walk(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| (p.strip_prefix(dir).unwrap().display().to_string(), std::fs::read_to_string(&p).unwrap()))
        .collect();
    files.sort();
    files
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out
}

#[test]
fn lint_is_clean() {
    for (name, config) in CONFIGS {
        lint_config(name, config);
    }
}

fn lint_config(name: &str, config: &str) {
    let generated = generate(config);
    let chart = generated.path().join("helm/myhealth");
    for (_, version) in environments(generated.path()) {
        let out = driver(&["lint".as_ref(), chart.as_os_str(), version.as_ref()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["total_charts_linted"], 1);
        assert_eq!(report["errors"], serde_json::json!([]), "{report}");
        let serious: Vec<&serde_json::Value> =
            report["messages"].as_array().unwrap().iter().filter(|m| m["severity"].as_u64() >= Some(2)).collect();
        assert!(serious.is_empty(), "{name}: lint warnings or errors for Kubernetes {version}: {serious:#?}");
    }
}

#[test]
fn every_environment_renders_and_is_valid_kubernetes() {
    let validate = require_tool("kubernetes-validate");
    let crds = common::crd::Crds::load();
    for (name, config) in CONFIGS {
        let platform = common::platform::load(config);
        let versions: std::collections::BTreeMap<String, String> =
            environments(&platform.dir.path().join("generated")).into_iter().collect();
        assert!(!platform.envs.is_empty(), "{name}: no environments");
        for env in &platform.envs {
            let what = format!("{name}/{}", env.name);
            let version = &versions[&env.name];
            let out_dir = platform.dir.path().join(format!("rendered/{}", env.name));
            assert!(env.k8s.len() >= 10, "{what}: too little rendered: {}", env.k8s.len());
            // Built-in kinds: the API server's own schemas for this EKS version.
            let builtin: Vec<PathBuf> = walk(&out_dir)
                .into_iter()
                .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
                .filter(|p| {
                    let text = std::fs::read_to_string(p).unwrap();
                    common::platform::yaml_docs(&text)
                        .iter()
                        .all(|d| BUILTIN.contains(&d["apiVersion"].as_str().unwrap_or("")))
                        && !text.trim().is_empty()
                })
                .collect();
            // The ArgoCD objects of built-in kinds too (the release job's Role and RoleBinding).
            let argocd_builtin = platform.dir.path().join(format!("argocd-builtin-{}.yaml", env.name));
            let docs: Vec<String> = env
                .argocd
                .iter()
                .filter(|o| BUILTIN.contains(&o.v["apiVersion"].as_str().unwrap_or_default()))
                .map(|o| serde_yaml_ng::to_string(&o.v).unwrap())
                .collect();
            std::fs::write(&argocd_builtin, docs.join("---\n")).unwrap();
            let mut files = builtin.clone();
            if !docs.is_empty() {
                files.push(argocd_builtin);
            }
            let out = Command::new(&validate)
                .args(["--strict", "--quiet", "--kubernetes-version", &format!("{version}.0")])
                .args(&files)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{what}: kubernetes-validate {version}:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            // Everything else: the CRDs of the pinned add-ons.
            for o in env.k8s.iter().chain(env.argocd.iter()) {
                let api = o.v["apiVersion"].as_str().unwrap_or_default();
                if BUILTIN.contains(&api) {
                    continue;
                }
                let v = crds.violations(&o.v);
                assert!(v.is_empty(), "{what}: {} breaks its CRD:\n  {}", o.id(), v.join("\n  "));
            }
            if name == "default" {
                let text: String = manifests(&out_dir).into_iter().map(|(p, t)| format!("# ---- {p}\n{t}\n")).collect();
                insta::assert_snapshot!(format!("helm_{}", env.name), text);
            }
        }
    }
}

/// The CRD check itself: a field the schema does not know, or a wrong type,
/// is refused — as the API server would.
#[test]
fn crd_validation_refuses_what_the_api_server_would() {
    let crds = common::crd::Crds::load();
    let good = serde_json::json!({
        "apiVersion": "elbv2.k8s.aws/v1beta1", "kind": "TargetGroupBinding",
        "metadata": { "name": "x", "namespace": "istio-system" },
        "spec": { "targetGroupName": "tg", "targetType": "ip", "serviceRef": { "name": "s", "port": 80 } },
    });
    assert_eq!(crds.violations(&good), Vec::<String>::new());
    let mut unknown = good.clone();
    unknown["spec"]["targetGroup"] = "tg".into();
    assert!(crds.violations(&unknown).iter().any(|v| v.contains("targetGroup")), "{:?}", crds.violations(&unknown));
    let mut wrong = good.clone();
    wrong["spec"]["targetType"] = "pod".into();
    assert!(!crds.violations(&wrong).is_empty());
    let gateway = serde_json::json!({
        "apiVersion": "networking.istio.io/v1", "kind": "Gateway", "metadata": { "name": "g" },
        "spec": { "servers": [{ "port": { "number": 80, "name": "http", "protocol": "HTTP" }, "hosts": ["*"], "tls": { "credentialNme": "x" } }] },
    });
    assert!(crds.violations(&gateway).iter().any(|v| v.contains("credentialNme")), "{:?}", crds.violations(&gateway));
    assert!(!crds.violations(&serde_json::json!({ "apiVersion": "x.io/v1", "kind": "Nope" })).is_empty());
}

#[test]
fn helm_refuses_values_that_break_the_schema() {
    let generated = generate("myhealth.toml");
    let chart = generated.path().join("helm/myhealth");
    let good = std::fs::read_to_string(generated.path().join("helm/values-dev.yaml")).unwrap();
    for (from, to, message) in [
        ("schedule: '*/5 * * * *'", "schedule: every five minutes", "/services/oura-collector/cronJob/schedule"),
        ("      replicas: 2\n", "      replicas: 0\n", "minimum: got 0, want 1"),
        ("awsAccountId: '123456789012'", "awsAccountId: '1234'", "/global/awsAccountId"),
        ("global:\n", "global:\n  typo: true\n", "additional properties 'typo' not allowed"),
        (
            "    image: myhealth-dev/api-service\n",
            "    image: myhealth-dev/api-service\n    digest: latest\n",
            "/services/api-service/digest",
        ),
    ] {
        assert!(good.contains(from), "the dev values no longer contain `{from}`");
        let bad = generated.path().join("bad.yaml");
        std::fs::write(&bad, good.replacen(from, to, 1)).unwrap();
        let out = driver(&["check".as_ref(), chart.as_os_str(), bad.as_os_str()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "Helm accepted `{to}`: {stderr}");
        assert!(stderr.contains("values don't meet the specifications of the schema"), "{stderr}");
        assert!(stderr.contains(message), "`{message}` not in: {stderr}");
    }
}

/// checkov (offline, kubernetes framework) over the release of every
/// production environment of every config, rendered side by side and scanned
/// in one run: nothing failed, and every suppression is documented in
/// docs/security.md.
#[test]
fn production_releases_are_clean_under_checkov() {
    let scan = tempfile::tempdir().unwrap();
    let mut kept = Vec::new();
    for (name, config) in CONFIGS {
        let production = common::production_environments(config);
        if production.is_empty() {
            continue;
        }
        let generated = generate(config);
        let chart = generated.path().join("helm/myhealth");
        for env in production {
            let values = generated.path().join(format!("helm/values-{env}.yaml"));
            let out_dir = scan.path().join(format!("{name}-{env}"));
            let out = driver(&["render".as_ref(), chart.as_os_str(), values.as_os_str(), out_dir.as_os_str()]);
            assert!(out.status.success(), "{name}/{env}: {}", String::from_utf8_lossy(&out.stderr));
            kept.push(format!("{name}-{env}"));
        }
    }
    assert!(kept.len() >= 3, "production releases scanned: {kept:?}");
    let (report, failed) = common::checkov(scan.path(), "kubernetes");
    assert_eq!(report["summary"]["failed"], 0, "checkov failed checks in {kept:?}: {failed:#?}");
    assert!(
        report["summary"]["passed"].as_u64().unwrap_or(0) > 200 * kept.len() as u64,
        "scanned too little: {}",
        report["summary"]
    );
    let doc = std::fs::read_to_string(root().join("docs/security.md")).unwrap();
    for c in report["results"]["skipped_checks"].as_array().into_iter().flatten() {
        let id = c["check_id"].as_str().unwrap();
        assert!(doc.contains(id), "{id} is suppressed in the chart but not listed in docs/security.md");
    }
}

/// API groups of the kinds `kubernetes-validate` knows; the rest are custom resources.
const BUILTIN: &[&str] = &[
    "v1",
    "apps/v1",
    "batch/v1",
    "autoscaling/v2",
    "policy/v1",
    "networking.k8s.io/v1",
    "rbac.authorization.k8s.io/v1",
];

fn lookup<'a>(v: &'a serde_yaml_ng::Value, path: &[&str]) -> Vec<&'a serde_yaml_ng::Value> {
    let Some((first, rest)) = path.split_first() else { return vec![v] };
    match (*first, v) {
        ("*", serde_yaml_ng::Value::Sequence(items)) => items.iter().flat_map(|i| lookup(i, rest)).collect(),
        ("*", _) => vec![],
        (key, _) => v.get(key).map(|c| lookup(c, rest)).unwrap_or_default(),
    }
}

/// ArgoCD per environment: ArgoCD's own install pinned to the configured
/// version, the app of apps, the AppProject pair, and Applications — every
/// one valid under ArgoCD's CRD (tests/helm.rs' main test) — whose add-on
/// charts are pinned, and which sync automatically (with self-heal) exactly
/// where `argocd.auto_sync` says — by default only the first environment,
/// unless it is production, so a chart change reaches the others in
/// promotion order, through their release jobs. What they point at is
/// tests/wiring.rs.
#[test]
fn argocd_applications_are_pinned_and_only_the_first_environment_syncs_by_itself() {
    for (name, config) in CONFIGS {
        argocd_config(name, config);
    }
    let defaults: Vec<(String, bool)> = common::resolved(root().join("myhealth.toml").to_str().unwrap())
        .iter()
        .map(|e| (e["name"].as_str().unwrap().to_string(), e["argocd"]["auto_sync"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        defaults,
        [("dev".to_string(), true), ("staging".to_string(), false), ("prod".to_string(), false)],
        "the default config: dev syncs by itself, staging and prod by their release jobs"
    );
}

fn argocd_config(name: &str, config: &str) {
    let generated = generate(config);
    let resolved = common::resolved(config);
    for (env, _) in environments(generated.path()) {
        let e = resolved.iter().find(|e| e["name"] == env.as_str()).unwrap();
        let env = format!("{name}/{env}");
        let dir = generated.path().join(format!("argocd/{}", e["name"].as_str().unwrap()));
        let install = std::fs::read_to_string(dir.join("install/kustomization.yaml")).unwrap();
        let k: serde_yaml_ng::Value = serde_yaml_ng::from_str(&install).unwrap();
        assert_eq!(k["kind"], serde_yaml_ng::Value::from("Kustomization"), "{env}");
        assert_eq!(
            k["resources"][0].as_str().unwrap(),
            format!(
                "https://raw.githubusercontent.com/argoproj/argo-cd/v{}/manifests/install.yaml",
                e["argocd"]["version"].as_str().unwrap()
            ),
            "{env}: ArgoCD's install is the pinned version's"
        );
        let mut projects = Vec::new();
        let mut apps = Vec::new();
        for (_, text) in manifests(&dir).into_iter().filter(|(p, _)| !p.starts_with("install/")) {
            for doc in serde_yaml_ng::Deserializer::from_str(&text) {
                let v = serde_yaml_ng::Value::deserialize(doc).unwrap();
                match v["kind"].as_str() {
                    Some("AppProject") => projects.push(v["metadata"]["name"].as_str().unwrap().to_string()),
                    Some("Application") => apps.push(v),
                    _ => {}
                }
            }
        }
        assert_eq!(projects.len(), 2, "{env}: {projects:?}");
        assert!(apps.len() >= 6, "{env}: the app of apps, the chart and the add-ons");
        for app in &apps {
            let name = app["metadata"]["name"].as_str().unwrap();
            let source = &app["spec"]["source"];
            if source["chart"].is_string() {
                let version = source["targetRevision"].as_str().unwrap();
                assert!(
                    version.split('.').count() == 3 && version.split('.').all(|p| p.parse::<u32>().is_ok()),
                    "{env}/{name}: `{version}` is not pinned"
                );
            }
            let automated = &app["spec"]["syncPolicy"]["automated"];
            // The chart's own Application waits for a first release: before
            // it no image the chart pulls exists.
            let chart = source["path"].as_str() == Some("generated/helm/myhealth");
            if e["argocd"]["auto_sync"] == true && (!chart || !e["release"].is_null()) {
                assert_eq!(automated["selfHeal"], serde_yaml_ng::Value::Bool(true), "{env}/{name}");
            } else {
                assert!(automated.is_null(), "{env}/{name}: synced by hand or by its release job");
            }
        }
        // What istiod and the load balancer controller change at run time is no drift.
        let istio = e["istio"]["enabled"] == true;
        for (app, kind, object) in [
            ("istio-base", "ValidatingWebhookConfiguration", "istiod-default-validator"),
            ("istiod", "ValidatingWebhookConfiguration", "istio-validator-istio-system"),
            ("aws-load-balancer-controller", "MutatingWebhookConfiguration", "aws-load-balancer-webhook"),
        ] {
            if app.starts_with("istio") && !istio {
                assert!(!apps.iter().any(|a| a["metadata"]["name"] == app), "{env}: {app} without Istio");
                continue;
            }
            let a = apps.iter().find(|a| a["metadata"]["name"] == app).unwrap_or_else(|| panic!("{env}: no {app}"));
            let ignored = a["spec"]["ignoreDifferences"].as_sequence().cloned().unwrap_or_default();
            assert!(
                ignored.iter().any(|i| i["kind"] == kind && i["name"] == object),
                "{env}/{app}: {kind} {object} would stay OutOfSync"
            );
            let options = a["spec"]["syncPolicy"]["syncOptions"].as_sequence().cloned().unwrap_or_default();
            assert!(
                options.iter().any(|o| o == "RespectIgnoreDifferences=true"),
                "{env}/{app}: a sync would put the ignored fields back"
            );
        }
    }
}

/// A template as External Secrets evaluates it (Go text/template + sprig).
fn eso_template(text: &str, data: &serde_json::Value) -> String {
    let dir = tempfile::tempdir().unwrap();
    let (t, d) = (dir.path().join("template"), dir.path().join("data.json"));
    std::fs::write(&t, text).unwrap();
    std::fs::write(&d, data.to_string()).unwrap();
    let out = driver(&["template".as_ref(), t.as_os_str(), d.as_os_str()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// All YAML documents of the files under `dir`.
fn documents(dir: &Path) -> Vec<serde_yaml_ng::Value> {
    manifests(dir)
        .into_iter()
        .flat_map(|(_, text)| {
            serde_yaml_ng::Deserializer::from_str(&text)
                .map(|d| serde_yaml_ng::Value::deserialize(d).unwrap())
                .filter(|v| !v.is_null())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Grafana, wired end to end per environment: kube-prometheus-stack's
/// Grafana (the add-on's values) logs its admin in from a Secret the chart
/// has written in Grafana's namespace; its sidecars' labels are the ones the
/// chart's dashboards and datasource carry, in that namespace; the datasource
/// has the uid every PostgreSQL panel names and logs in as the role the
/// data-processor is told to create; and the services' AppProject may write
/// there.
#[test]
fn grafana_gets_its_admin_datasource_and_dashboards() {
    let mut checked = 0;
    for (name, config) in CONFIGS {
        checked += grafana_config(name, config);
    }
    assert!(checked >= 5, "environments with Grafana checked: {checked}");
}

fn grafana_config(name: &str, config: &str) -> usize {
    let generated = generate(config);
    let chart = generated.path().join("helm/myhealth");
    let s = |v: &serde_yaml_ng::Value| v.as_str().unwrap_or_default().to_string();
    let resolved = common::resolved(config);
    let mut checked = 0;
    for (env, _) in environments(generated.path()) {
        let e = resolved.iter().find(|e| e["name"] == env.as_str()).unwrap();
        if e["monitoring"]["grafana"] != true {
            continue;
        }
        checked += 1;
        let env_dir = env.clone();
        let env = format!("{name}/{env}");
        let values = generated.path().join(format!("helm/values-{env_dir}.yaml"));
        let out_dir = generated.path().join(format!("rendered/{env_dir}"));
        let out = driver(&["render".as_ref(), chart.as_os_str(), values.as_os_str(), out_dir.as_os_str()]);
        assert!(out.status.success(), "{env}: {}", String::from_utf8_lossy(&out.stderr));
        let objects = documents(&out_dir);
        let argocd = documents(&generated.path().join(format!("argocd/{env_dir}")));
        let kps = argocd
            .iter()
            .find(|a| a["metadata"]["name"] == "kube-prometheus-stack")
            .unwrap_or_else(|| panic!("{env}: no kube-prometheus-stack"));
        let addon = &kps["spec"]["source"]["helm"]["valuesObject"];
        let grafana = &addon["grafana"];
        assert_eq!(grafana["enabled"], serde_yaml_ng::Value::Bool(true), "{env}");
        let ns = s(&kps["spec"]["destination"]["namespace"]);
        let in_ns = |kind: &str| -> Vec<&serde_yaml_ng::Value> {
            objects.iter().filter(|o| o["kind"] == kind && s(&o["metadata"]["namespace"]) == ns).collect()
        };

        // Admin login.
        let admin = s(&grafana["admin"]["existingSecret"]);
        let admin_es = in_ns("ExternalSecret")
            .into_iter()
            .find(|e| s(&e["spec"]["target"]["name"]) == admin)
            .unwrap_or_else(|| panic!("{env}: nothing writes Grafana's admin Secret `{admin}` in `{ns}`"));
        for key in ["userKey", "passwordKey"] {
            let k = s(&grafana["admin"][key]);
            assert!(
                !admin_es["spec"]["target"]["template"]["data"][k.as_str()].is_null(),
                "{env}: admin Secret lacks `{k}`"
            );
        }

        // Dashboards: labelled for the sidecar, in Grafana's namespace.
        let sidecar = |what: &str| (s(&grafana["sidecar"][what]["label"]), s(&grafana["sidecar"][what]["labelValue"]));
        assert!(
            grafana["sidecar"]["dashboards"]["searchNamespace"].is_null(),
            "{env}: sidecars stay in their namespace"
        );
        let (label, value) = sidecar("dashboards");
        let dashboards: Vec<&serde_yaml_ng::Value> =
            in_ns("ConfigMap").into_iter().filter(|c| s(&c["metadata"]["labels"][label.as_str()]) == value).collect();
        // Without db-init nothing creates the datasource's role: no
        // datasource then, and no dashboard reading it.
        let db_init = objects.iter().any(|o| o["kind"] == "Job" && s(&o["metadata"]["name"]).ends_with("db-init"));
        let (label, value) = sidecar("datasources");
        if !db_init {
            assert_eq!(dashboards.len(), 1, "{env}: only the service health dashboard without a database reader");
            assert!(
                !in_ns("ExternalSecret")
                    .iter()
                    .any(|e| s(&e["spec"]["target"]["template"]["metadata"]["labels"][label.as_str()]) == value),
                "{env}: a datasource whose role nothing creates"
            );
            continue;
        }
        assert_eq!(dashboards.len(), 2, "{env}: the Oura overview and service health dashboards in `{ns}`");

        // The datasource: found by the sidecar, with the uid the panels name.
        let ds_es = in_ns("ExternalSecret")
            .into_iter()
            .find(|e| s(&e["spec"]["target"]["template"]["metadata"]["labels"][label.as_str()]) == value)
            .unwrap_or_else(|| panic!("{env}: no datasource Secret labelled `{label}: {value}` in `{ns}`"));
        let data = ds_es["spec"]["target"]["template"]["data"].as_mapping().unwrap();
        assert_eq!(data.len(), 1, "{env}: one provisioning file");
        // What External Secrets will write: its template evaluated by Go's
        // text/template + sprig (through Helm) over the shapes AWS returns.
        // The password has characters YAML would otherwise trip on.
        let password = "pa'ss: \"w#rd";
        let file = eso_template(
            &s(data.values().next().unwrap()),
            &serde_json::json!({
                "connection": r#"{"host":"db.internal","port":"5432","dbname":"myhealth","username":"admin"}"#,
                "password": password,
            }),
        );
        let provisioning: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(&file).unwrap_or_else(|e| panic!("{env}: {e}\n{file}"));
        let ds = &provisioning["datasources"][0];
        assert_eq!(s(&ds["url"]), "db.internal:5432", "{env}");
        assert_eq!(s(&ds["jsonData"]["database"]), "myhealth", "{env}");
        assert_eq!(s(&ds["secureJsonData"]["password"]), password, "{env}");
        assert_eq!(provisioning["apiVersion"], serde_yaml_ng::Value::from(1), "{env}");
        assert_eq!(s(&ds["type"]), "grafana-postgresql-datasource", "{env}");
        let uid = s(&ds["uid"]);
        for d in &dashboards {
            for json in d["data"].as_mapping().unwrap().values() {
                let board: serde_json::Value = serde_json::from_str(json.as_str().unwrap()).unwrap();
                for panel in board["panels"].as_array().unwrap() {
                    let source = &panel["datasource"];
                    if source["type"] == "grafana-postgresql-datasource" {
                        assert_eq!(
                            source["uid"],
                            uid.as_str(),
                            "{env}: panel {} names another datasource",
                            panel["title"]
                        );
                    }
                }
            }
        }

        // The role it logs in as is the one db-init creates, with the password
        // the datasource reads (the same Secrets Manager secret).
        let init = objects
            .iter()
            .find(|o| o["kind"] == "Job" && s(&o["metadata"]["name"]).ends_with("db-init"))
            .unwrap_or_else(|| panic!("{env}: no db-init Job"));
        let init_env = &init["spec"]["template"]["spec"]["containers"][0]["env"];
        let var = |n: &str| {
            init_env.as_sequence().unwrap().iter().find(|e| e["name"] == n).map(|e| s(&e["value"])).unwrap_or_default()
        };
        assert_eq!(
            var("DB_READER_USER"),
            s(&ds["user"]),
            "{env}: db-init creates another reader than the datasource's"
        );
        let ds_key = ds_es["spec"]["data"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|d| d["secretKey"] == "password")
            .map(|d| s(&d["remoteRef"]["key"]))
            .unwrap();
        assert_eq!(var("DB_READER_SECRET_ID"), ds_key, "{env}: the reader's password and the datasource's differ");

        // The services' project may write into Grafana's namespace.
        let project = argocd
            .iter()
            .find(|a| a["kind"] == "AppProject" && !s(&a["metadata"]["name"]).ends_with("-platform"))
            .unwrap();
        assert!(
            lookup(project, &["spec", "destinations", "*", "namespace"]).iter().any(|n| s(n) == ns),
            "{env}: the services' AppProject may not write into `{ns}`"
        );
    }
    checked
}

/// The digests `deploy` writes into its release values pin every workload's
/// image (`registry/repository@sha256:…`), db-init's (the processor's image)
/// too; without them the tag is used — for every config's first environment.
#[test]
fn release_values_with_digests_pin_the_images() {
    for (name, config) in CONFIGS {
        digests_config(name, config);
    }
}

fn digests_config(name: &str, config: &str) {
    let generated = generate(config);
    let chart = generated.path().join("helm/myhealth");
    // (image, container) of every workload container.
    let images = |values: &Path| -> Vec<String> {
        let out_dir = generated.path().join("out");
        let _ = std::fs::remove_dir_all(&out_dir);
        let out = driver(&["render".as_ref(), chart.as_os_str(), values.as_os_str(), out_dir.as_os_str()]);
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        let mut v: Vec<String> = documents(&out_dir)
            .iter()
            .flat_map(|d| {
                let mut found = lookup(d, &["spec", "template", "spec", "containers"]);
                found.extend(lookup(d, &["spec", "jobTemplate", "spec", "template", "spec", "containers"]));
                found.into_iter().flat_map(|c| c.as_sequence().cloned().unwrap_or_default())
            })
            .filter_map(|c| c["image"].as_str().map(str::to_string))
            .collect();
        v.sort();
        v
    };
    let (env, _) = environments(generated.path()).into_iter().next().unwrap();
    let first = generated.path().join(format!("helm/values-{env}.yaml"));
    let mut merged: serde_yaml_ng::Value = serde_yaml_ng::from_str(&std::fs::read_to_string(&first).unwrap()).unwrap();
    let registry = merged["global"]["imageRegistry"].as_str().unwrap().to_string();
    let tag = merged["global"]["imageTag"].as_str().map(str::to_string);
    let services: Vec<(String, String)> = merged["services"]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.as_str().unwrap().to_string(), v["image"].as_str().unwrap().to_string()))
        .collect();
    let without = images(&first);
    if services.is_empty() {
        assert!(without.is_empty(), "{name}: images without services: {without:?}");
        return;
    }
    for image in &without {
        let (repo, t) = image.rsplit_once(':').unwrap();
        assert!(repo.starts_with(&format!("{registry}/")), "{name}: {image} is not from {registry}");
        assert!(services.iter().any(|(_, i)| repo.ends_with(&format!("/{i}"))), "{name}: {image} is no service's");
        assert!(!t.starts_with("sha256") && tag.as_deref().is_none_or(|x| x == t), "{name}: {image}: the tag");
    }
    // The values layered as `helm upgrade --values values-<env>.yaml --values images.yaml` merges them.
    let digest = |n: usize| format!("sha256:{}", format!("{:02x}", n + 1).repeat(32));
    for (n, (key, _)) in services.iter().enumerate() {
        merged["services"][key.as_str()]["digest"] = digest(n).into();
    }
    merged["global"]["imageTag"] = "3f2a9c1d0b7e".into();
    let with = generated.path().join("with-digests.yaml");
    std::fs::write(&with, serde_yaml_ng::to_string(&merged).unwrap()).unwrap();
    let pinned = images(&with);
    assert_eq!(pinned.len(), without.len(), "{name}");
    for image in &pinned {
        let (repo, d) = image.split_once('@').unwrap_or_else(|| panic!("{name}: {image} is not pinned by digest"));
        let n = services.iter().position(|(_, i)| repo == format!("{registry}/{i}")).unwrap();
        assert_eq!(d, digest(n), "{name}: {image} carries another service's digest");
    }
}
