//! The Helm chart through the real Helm (the Helm v4 Go SDK in the
//! `helm-python-sdk` wheel, driven by `tests/helm/render.py`): lint clean,
//! every environment of the default config and of each fixture renders, the
//! rendered objects pass `kubernetes-validate --strict` for the cluster
//! version in the config, a values file that breaks the schema is refused by
//! Helm with the schema's message, and the default config's manifests are
//! snapshotted per environment.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{cmd, require_tool, root};
use serde::Deserialize;

const CONFIGS: [(&str, &str); 4] = [
    ("default", "myhealth.toml"),
    ("minimal", "tests/fixtures/minimal.toml"),
    ("multi_region", "tests/fixtures/multi-region.toml"),
    ("moto", "tests/fixtures/moto.toml"),
];

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
    let generated = generate("myhealth.toml");
    let chart = generated.path().join("helm/myhealth");
    for (_, version) in environments(generated.path()) {
        let out = driver(&["lint".as_ref(), chart.as_os_str(), version.as_ref()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["total_charts_linted"], 1);
        assert_eq!(report["errors"], serde_json::json!([]), "{report}");
        let serious: Vec<&serde_json::Value> =
            report["messages"].as_array().unwrap().iter().filter(|m| m["severity"].as_u64() >= Some(2)).collect();
        assert!(serious.is_empty(), "lint warnings or errors for Kubernetes {version}: {serious:#?}");
    }
}

#[test]
fn every_environment_renders_and_is_valid_kubernetes() {
    let validate = require_tool("kubernetes-validate");
    for (name, config) in CONFIGS {
        let generated = generate(config);
        let chart = generated.path().join("helm/myhealth");
        let envs = environments(generated.path());
        assert!(!envs.is_empty(), "{name}: no values files");
        for (env, version) in envs {
            let values = generated.path().join(format!("helm/values-{env}.yaml"));
            let out_dir = generated.path().join(format!("rendered/{env}"));
            let out = driver(&["render".as_ref(), chart.as_os_str(), values.as_os_str(), out_dir.as_os_str()]);
            assert!(out.status.success(), "{name}/{env}: Helm refused: {}", String::from_utf8_lossy(&out.stderr));
            let files: Vec<PathBuf> =
                walk(&out_dir).into_iter().filter(|p| p.extension().is_some_and(|e| e == "yaml")).collect();
            assert!(files.len() >= 2, "{name}/{env}: too little rendered: {files:?}");
            let out = Command::new(&validate)
                .args(["--strict", "--quiet", "--kubernetes-version", &format!("{version}.0")])
                .args(&files)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{name}/{env}: kubernetes-validate {version}:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            check_objects(&format!("{name}/{env}"), &out_dir);
            if name == "default" {
                let text: String = manifests(&out_dir).into_iter().map(|(p, t)| format!("# ---- {p}\n{t}\n")).collect();
                insta::assert_snapshot!(format!("helm_{env}"), text);
            }
        }
    }
}

#[test]
fn helm_refuses_values_that_break_the_schema() {
    let generated = generate("myhealth.toml");
    let chart = generated.path().join("helm/myhealth");
    let good = std::fs::read_to_string(generated.path().join("helm/values-dev.yaml")).unwrap();
    for (from, to, message) in [
        ("schedule: '*/5 * * * *'", "schedule: every five minutes", "/ouraCollector/schedule"),
        ("  replicas: 2\n", "  replicas: 0\n", "minimum: got 0, want 1"),
        ("awsAccountId: '123456789012'", "awsAccountId: '1234'", "/global/awsAccountId"),
        ("global:\n", "global:\n  typo: true\n", "additional properties 'typo' not allowed"),
        ("  image: myhealth/api-service\n", "  image: myhealth/api-service\n  digest: latest\n", "/apiService/digest"),
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

/// checkov (offline, kubernetes framework) over the prod release: nothing
/// failed, and every suppression is documented in docs/security.md.
#[test]
fn prod_release_is_clean_under_checkov() {
    let generated = generate("myhealth.toml");
    let chart = generated.path().join("helm/myhealth");
    let values = generated.path().join("helm/values-prod.yaml");
    let out_dir = generated.path().join("rendered/prod");
    let out = driver(&["render".as_ref(), chart.as_os_str(), values.as_os_str(), out_dir.as_os_str()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (report, failed) = common::checkov(&out_dir, "kubernetes");
    assert_eq!(report["summary"]["failed"], 0, "checkov failed checks in prod: {failed:#?}");
    assert!(report["summary"]["passed"].as_u64().unwrap_or(0) > 200, "scanned too little: {}", report["summary"]);
    let doc = std::fs::read_to_string(root().join("docs/security.md")).unwrap();
    for c in report["results"]["skipped_checks"].as_array().into_iter().flatten() {
        let id = c["check_id"].as_str().unwrap();
        assert!(doc.contains(id), "{id} is suppressed in the chart but not listed in docs/security.md");
    }
}

/// Required paths of the custom resources the chart renders (kubernetes-validate
/// only knows built-in kinds): (apiVersion, kind, paths that must hold a value;
/// `*` walks every item of a list).
const CUSTOM: &[(&str, &str, &[&str])] = &[
    ("external-secrets.io/v1", "SecretStore", &["spec.provider.aws.service", "spec.provider.aws.region"]),
    (
        "external-secrets.io/v1",
        "ExternalSecret",
        &["spec.refreshInterval", "spec.secretStoreRef.name", "spec.target.name", "spec.target.creationPolicy"],
    ),
    ("security.istio.io/v1", "PeerAuthentication", &["spec.mtls.mode"]),
    (
        "argoproj.io/v1alpha1",
        "Application",
        &[
            "metadata.namespace",
            "spec.project",
            "spec.source.repoURL",
            "spec.source.targetRevision",
            "spec.destination.server",
            "spec.destination.namespace",
        ],
    ),
    (
        "argoproj.io/v1alpha1",
        "AppProject",
        &["metadata.namespace", "spec.sourceRepos", "spec.destinations.*.server", "spec.destinations.*.namespace"],
    ),
    (
        "networking.istio.io/v1",
        "Gateway",
        &["spec.selector", "spec.servers.*.port.number", "spec.servers.*.hosts", "spec.servers.*.tls.credentialName"],
    ),
    (
        "networking.istio.io/v1",
        "VirtualService",
        &["spec.hosts", "spec.gateways", "spec.http.*.route.*.destination.host"],
    ),
    ("networking.istio.io/v1", "DestinationRule", &["spec.host"]),
    ("security.istio.io/v1", "AuthorizationPolicy", &["spec.selector.matchLabels", "spec.action", "spec.rules"]),
    (
        "monitoring.coreos.com/v1",
        "ServiceMonitor",
        &["spec.selector.matchLabels", "spec.endpoints.*.port", "metadata.labels.release"],
    ),
    (
        "monitoring.coreos.com/v1",
        "PrometheusRule",
        &["spec.groups.*.name", "spec.groups.*.rules.*.alert", "spec.groups.*.rules.*.expr", "metadata.labels.release"],
    ),
];

const BUILTIN: &[&str] = &["v1", "apps/v1", "batch/v1", "autoscaling/v2", "policy/v1", "networking.k8s.io/v1"];

fn lookup<'a>(v: &'a serde_yaml_ng::Value, path: &[&str]) -> Vec<&'a serde_yaml_ng::Value> {
    let Some((first, rest)) = path.split_first() else { return vec![v] };
    match (*first, v) {
        ("*", serde_yaml_ng::Value::Sequence(items)) => items.iter().flat_map(|i| lookup(i, rest)).collect(),
        ("*", _) => vec![],
        (key, _) => v.get(key).map(|c| lookup(c, rest)).unwrap_or_default(),
    }
}

/// Every object is of a known kind; custom resources have their required
/// fields; what they point at (Services, labels) exists in the release.
fn check_objects(what: &str, dir: &Path) {
    let mut docs = Vec::new();
    for (path, text) in manifests(dir) {
        for doc in serde_yaml_ng::Deserializer::from_str(&text) {
            let v = serde_yaml_ng::Value::deserialize(doc).unwrap_or_else(|e| panic!("{what}: {path}: {e}"));
            if !v.is_null() {
                docs.push((path.clone(), v));
            }
        }
    }
    let field = |v: &serde_yaml_ng::Value, k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
    let services: Vec<(String, serde_yaml_ng::Value)> = docs
        .iter()
        .filter(|(_, v)| field(v, "kind") == "Service")
        .map(|(_, v)| (v["metadata"]["name"].as_str().unwrap().to_string(), v["metadata"]["labels"].clone()))
        .collect();
    // Objects are named within their namespace.
    let named = |kind: &str, name_at: &[&str]| -> Vec<(String, String)> {
        docs.iter()
            .filter(|(_, d)| field(d, "kind") == kind)
            .map(|(_, d)| {
                let name = lookup(d, name_at).first().and_then(|n| n.as_str()).unwrap_or("").to_string();
                (field(&d["metadata"], "namespace"), name)
            })
            .collect()
    };
    // Every Secret a workload reads is one an ExternalSecret writes in its namespace.
    let written = named("ExternalSecret", &["spec", "target", "name"]);
    let stores = named("SecretStore", &["metadata", "name"]);
    for (path, d) in &docs {
        for r in lookup(d, &["spec", "template", "spec", "containers", "*", "envFrom", "*", "secretRef", "name"])
            .into_iter()
            .chain(lookup(
                d,
                &[
                    "spec",
                    "jobTemplate",
                    "spec",
                    "template",
                    "spec",
                    "containers",
                    "*",
                    "envFrom",
                    "*",
                    "secretRef",
                    "name",
                ],
            ))
        {
            let r = (field(&d["metadata"], "namespace"), r.as_str().unwrap().to_string());
            assert!(written.contains(&r), "{what}: {path} reads Secret {r:?}, which no ExternalSecret writes");
        }
    }
    for (path, v) in &docs {
        let (api, kind) = (field(v, "apiVersion"), field(v, "kind"));
        if BUILTIN.contains(&api.as_str()) {
            continue;
        }
        let (_, _, required) = CUSTOM
            .iter()
            .find(|(a, k, _)| *a == api && *k == kind)
            .unwrap_or_else(|| panic!("{what}: {path}: unknown kind {api}/{kind}"));
        for req in *required {
            let found = lookup(v, &req.split('.').collect::<Vec<_>>());
            assert!(!found.is_empty() && found.iter().all(|f| !f.is_null()), "{what}: {path}: {kind} lacks `{req}`");
        }
        match kind.as_str() {
            "VirtualService" | "DestinationRule" => {
                let hosts = if kind == "DestinationRule" {
                    lookup(v, &["spec", "host"])
                } else {
                    lookup(v, &["spec", "http", "*", "route", "*", "destination", "host"])
                };
                for h in hosts {
                    let h = h.as_str().unwrap();
                    assert!(
                        services.iter().any(|(n, _)| n == h),
                        "{what}: {kind} points at `{h}`, which is no Service"
                    );
                }
            }
            "ExternalSecret" => {
                let refs = lookup(v, &["spec", "secretStoreRef", "name"])
                    .into_iter()
                    .chain(lookup(v, &["spec", "data", "*", "sourceRef", "storeRef", "name"]))
                    .chain(lookup(v, &["spec", "dataFrom", "*", "sourceRef", "storeRef", "name"]));
                for r in refs {
                    let r = (field(&v["metadata"], "namespace"), r.as_str().unwrap().to_string());
                    assert!(stores.contains(&r), "{what}: {path}: ExternalSecret uses no such store {r:?}");
                }
            }
            "ServiceMonitor" => {
                let sel = v["spec"]["selector"]["matchLabels"].as_mapping().unwrap();
                assert!(
                    services.iter().any(|(_, labels)| sel.iter().all(|(k, val)| labels.get(k) == Some(val))),
                    "{what}: a ServiceMonitor selects no Service"
                );
            }
            _ => {}
        }
    }
}

/// ArgoCD: per environment an AppProject pair and Applications whose fields
/// are complete, whose projects exist, whose chart path and values file exist
/// in the generated tree, pinned add-on versions, and automated sync (with
/// self-heal) everywhere but production.
#[test]
fn argocd_applications_point_at_what_exists() {
    let generated = generate("myhealth.toml");
    for (env, _) in environments(generated.path()) {
        let dir = generated.path().join(format!("argocd/{env}"));
        check_objects(&format!("argocd/{env}"), &dir);
        let mut projects = Vec::new();
        let mut apps = Vec::new();
        for (_, text) in manifests(&dir) {
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
        assert!(apps.len() >= 5, "{env}: the chart and the add-ons");
        for app in &apps {
            let name = app["metadata"]["name"].as_str().unwrap();
            assert!(
                projects.iter().any(|p| p == app["spec"]["project"].as_str().unwrap()),
                "{env}/{name}: no such project"
            );
            let source = &app["spec"]["source"];
            if let Some(path) = source["path"].as_str() {
                let chart = generated.path().join(path.strip_prefix("generated/").expect("under generated/"));
                assert!(chart.join("Chart.yaml").is_file(), "{env}/{name}: {path} is no chart");
                for f in source["helm"]["valueFiles"].as_sequence().unwrap() {
                    assert!(chart.join(f.as_str().unwrap()).is_file(), "{env}/{name}: values file {f:?} missing");
                }
            } else {
                let version = source["targetRevision"].as_str().unwrap();
                assert!(
                    version.split('.').count() == 3 && version.split('.').all(|p| p.parse::<u32>().is_ok()),
                    "{env}/{name}: `{version}` is not pinned"
                );
                serde_yaml_ng::from_str::<serde_yaml_ng::Value>(source["helm"]["values"].as_str().unwrap())
                    .unwrap_or_else(|e| panic!("{env}/{name}: values are not YAML: {e}"));
            }
            let automated = &app["spec"]["syncPolicy"]["automated"];
            if env == "prod" {
                assert!(automated.is_null(), "{env}/{name}: production syncs manually");
            } else {
                assert_eq!(automated["selfHeal"], serde_yaml_ng::Value::Bool(true), "{env}/{name}");
            }
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
    let generated = generate("myhealth.toml");
    let chart = generated.path().join("helm/myhealth");
    let s = |v: &serde_yaml_ng::Value| v.as_str().unwrap_or_default().to_string();
    for (env, _) in environments(generated.path()) {
        let values = generated.path().join(format!("helm/values-{env}.yaml"));
        let out_dir = generated.path().join(format!("rendered/{env}"));
        let out = driver(&["render".as_ref(), chart.as_os_str(), values.as_os_str(), out_dir.as_os_str()]);
        assert!(out.status.success(), "{env}: {}", String::from_utf8_lossy(&out.stderr));
        let objects = documents(&out_dir);
        let argocd = documents(&generated.path().join(format!("argocd/{env}")));
        let kps = argocd
            .iter()
            .find(|a| a["metadata"]["name"] == "kube-prometheus-stack")
            .unwrap_or_else(|| panic!("{env}: no kube-prometheus-stack"));
        let addon: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(&s(&kps["spec"]["source"]["helm"]["values"])).unwrap();
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
        assert_eq!(dashboards.len(), 2, "{env}: the Oura overview and service health dashboards in `{ns}`");

        // The datasource: found by the sidecar, with the uid the panels name.
        let (label, value) = sidecar("datasources");
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

        // The role it logs in as is the one data-processor creates.
        let reader = objects
            .iter()
            .find(|o| {
                o["kind"] == "ExternalSecret" && !o["spec"]["target"]["template"]["data"]["DB_READER_USER"].is_null()
            })
            .unwrap_or_else(|| panic!("{env}: nothing gives data-processor DB_READER_*"));
        assert_eq!(s(&reader["spec"]["target"]["template"]["data"]["DB_READER_USER"]), s(&ds["user"]), "{env}");
        let processor = objects
            .iter()
            .find(|o| o["kind"] == "Deployment" && s(&o["metadata"]["name"]).ends_with("data-processor"))
            .unwrap();
        let reads: Vec<String> =
            lookup(processor, &["spec", "template", "spec", "containers", "*", "envFrom", "*", "secretRef", "name"])
                .into_iter()
                .map(s)
                .collect();
        assert!(reads.contains(&s(&reader["spec"]["target"]["name"])), "{env}: data-processor does not read {reads:?}");

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
}

/// The digests `deploy` writes into its release values pin every workload's
/// image (`registry/repository@sha256:…`); without them the tag is used.
#[test]
fn release_values_with_digests_pin_the_images() {
    let generated = generate("myhealth.toml");
    let chart = generated.path().join("helm/myhealth");
    let images = |values: &Path| -> Vec<String> {
        let out_dir = generated.path().join("out");
        let _ = std::fs::remove_dir_all(&out_dir);
        let out = driver(&["render".as_ref(), chart.as_os_str(), values.as_os_str(), out_dir.as_os_str()]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
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
    let dev = generated.path().join("helm/values-dev.yaml");
    let registry = "123456789012.dkr.ecr.us-east-1.amazonaws.com/myhealth";
    assert_eq!(
        images(&dev),
        ["api-service", "data-processor", "oura-collector"].map(|s| format!("{registry}/{s}:0.1.0")),
        "without digests: the tag"
    );
    // The values layered as `helm upgrade --values values-dev.yaml --values images.yaml` merges them.
    let mut merged: serde_yaml_ng::Value = serde_yaml_ng::from_str(&std::fs::read_to_string(&dev).unwrap()).unwrap();
    let digest = |n: u8| format!("sha256:{}", format!("{n:02x}").repeat(32));
    for (key, n) in [("apiService", 1), ("dataProcessor", 2), ("ouraCollector", 3)] {
        merged[key]["digest"] = digest(n).into();
    }
    merged["global"]["imageTag"] = "3f2a9c1d0b7e".into();
    let with = generated.path().join("with-digests.yaml");
    std::fs::write(&with, serde_yaml_ng::to_string(&merged).unwrap()).unwrap();
    assert_eq!(
        images(&with),
        [("api-service", 1), ("data-processor", 2), ("oura-collector", 3)]
            .map(|(s, n)| format!("{registry}/{s}@{}", digest(n)))
    );
}
