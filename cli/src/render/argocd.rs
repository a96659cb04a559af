//! The ArgoCD context of `argocd/{env}/`: ArgoCD's own pinned install, the
//! app of apps, the AppProjects, the chart's Application and the platform
//! add-ons at the versions pinned in `[argocd]` — each add-on's values
//! written here, from [`crate::names`], so the ServiceAccounts the add-ons
//! create are the ones the Terraform's IRSA roles trust.

use serde::Serialize;
use serde_json::{Value as Json, json};

use crate::config::Config;
use crate::config::model::Environment;
use crate::names::{self, Names};

#[derive(Serialize)]
struct Context {
    environment: String,
    /// ArgoCD's own version (the install manifest is taken from that tag).
    argocd_version: String,
    argocd_namespace: &'static str,
    repo_url: String,
    target_revision: String,
    auto_sync: bool,
    /// The chart's Application is rendered (else `deploy` installs the release with Helm).
    manage_release: bool,
    root: RootApp,
    chart_app: ChartApp,
    projects: Projects,
    addons: Vec<Addon>,
    /// ArgoCD's credential for a private repository, from Secrets Manager.
    repository: Option<Repository>,
    /// What the release job (its role's Kubernetes group) may do here.
    release_access: ReleaseAccess,
}

#[derive(Serialize)]
struct Repository {
    secret: String,
    store: String,
    region: String,
    /// The secret reference (name or ARN) holding the credential's JSON.
    credential: String,
    refresh_interval: &'static str,
}

#[derive(Serialize)]
struct ReleaseAccess {
    role: String,
    group: String,
    /// The Applications it may read and sync (the chart's).
    application: String,
}

#[derive(Serialize)]
struct RootApp {
    name: String,
    project: String,
    path: String,
}

#[derive(Serialize)]
struct ChartApp {
    name: String,
    project: String,
    path: String,
    /// Synced automatically: `auto_sync`, once the environment has a release
    /// record — before it no image the chart would pull exists, so nothing
    /// syncs it until the first release does.
    auto_sync: bool,
    release: String,
    values_file: String,
    namespace: String,
    namespace_labels: std::collections::BTreeMap<String, String>,
}

#[derive(Serialize)]
struct Projects {
    services: String,
    platform: String,
    /// Where the chart writes: its namespace, Grafana's, the gateway's (the TargetGroupBinding).
    service_namespaces: Vec<String>,
    /// Where the add-ons write, plus ArgoCD's own namespace (the app of apps).
    platform_namespaces: Vec<String>,
    platform_repos: Vec<String>,
}

/// A platform add-on: one Application of an upstream chart.
#[derive(Serialize)]
struct Addon {
    name: String,
    repo: String,
    chart: String,
    version: String,
    namespace: String,
    /// The chart's values (`helm.valuesObject`, emitted as YAML by serde).
    values: Json,
    /// Fields a controller of the add-on changes at run time (webhook CA
    /// bundles, failure policies, generated certificates): not drift.
    ignore_differences: Vec<Json>,
}

fn webhook_ignores(kind: &str, name: &str, failure_policy: bool) -> Json {
    let mut paths = vec![".webhooks[]?.clientConfig.caBundle"];
    if failure_policy {
        paths.push(".webhooks[]?.failurePolicy");
    }
    json!({ "group": "admissionregistration.k8s.io", "kind": kind, "name": name, "jqPathExpressions": paths })
}

fn addon(name: &str, repo: &str, chart: &str, version: &str, namespace: &str, values: Json) -> Addon {
    Addon {
        name: name.into(),
        repo: repo.into(),
        chart: chart.into(),
        version: version.into(),
        namespace: namespace.into(),
        values,
        ignore_differences: Vec::new(),
    }
}

fn irsa_sa(n: &Names<'_>, key: &str) -> Json {
    let b = n.irsa_for(key).expect("every add-on with AWS access has an IRSA binding");
    json!({ "name": b.service_account, "annotations": { "eks.amazonaws.com/role-arn": b.role_arn } })
}

/// kube-prometheus-stack's Grafana: admin login from the Secret the chart
/// fills; datasources and dashboards from labelled objects in its own
/// namespace only (the chart puts them there).
fn grafana_values(n: &Names<'_>) -> Json {
    if !n.env.monitoring.grafana.value {
        return json!({ "enabled": false });
    }
    json!({
        "enabled": true,
        "admin": { "existingSecret": n.grafana_admin_secret(), "userKey": "admin-user", "passwordKey": "admin-password" },
        "sidecar": {
            "dashboards": { "enabled": true, "label": "grafana_dashboard", "labelValue": "1" },
            "datasources": { "enabled": true, "label": "grafana_datasource", "labelValue": "1" },
        },
    })
}

/// Prometheus gets the Istio workload certificate from a sidecar that
/// intercepts nothing (Istio's documented setup for Prometheus under STRICT
/// mTLS), so it scrapes the meshed pods over mutual TLS as its own identity.
fn prometheus_values(env: &Environment) -> Json {
    let mut spec = json!({
        "retention": env.monitoring.prometheus_retention.value,
        "scrapeInterval": env.monitoring.scrape_interval.value,
    });
    if env.istio.enabled.value {
        let out = "/etc/istio-output-certs";
        spec["podMetadata"] = json!({
            "labels": { "sidecar.istio.io/inject": "true" },
            "annotations": {
                "traffic.sidecar.istio.io/includeInboundPorts": "",
                "traffic.sidecar.istio.io/includeOutboundIPRanges": "",
                "proxy.istio.io/config": format!("proxyMetadata:\n  OUTPUT_CERTS: {out}\n"),
                "sidecar.istio.io/userVolumeMount": format!("[{{\"name\": \"istio-certs\", \"mountPath\": \"{out}\"}}]"),
            },
        });
        spec["volumes"] = json!([{ "name": "istio-certs", "emptyDir": { "medium": "Memory" } }]);
        spec["volumeMounts"] = json!([{ "name": "istio-certs", "mountPath": names::PROMETHEUS_CERTS_DIR }]);
    }
    json!({ "prometheusSpec": spec })
}

pub fn context(cfg: &Config, env: &Environment) -> minijinja::Value {
    let n = Names::of(cfg, env);
    let a = &env.argocd;
    let istio_repo = "https://istio-release.storage.googleapis.com/charts";
    let mut addons = vec![
        addon(
            "external-secrets",
            "https://charts.external-secrets.io",
            "external-secrets",
            &a.charts.external_secrets.value,
            names::EXTERNAL_SECRETS_NAMESPACE,
            json!({ "installCRDs": true, "serviceAccount": irsa_sa(&n, "external-secrets") }),
        ),
        addon(
            "metrics-server",
            "https://kubernetes-sigs.github.io/metrics-server/",
            "metrics-server",
            &a.charts.metrics_server.value,
            names::KUBE_SYSTEM,
            json!({}),
        ),
        addon(
            "cluster-autoscaler",
            "https://kubernetes.github.io/autoscaler",
            "cluster-autoscaler",
            &a.charts.cluster_autoscaler.value,
            names::KUBE_SYSTEM,
            json!({ "autoDiscovery": { "clusterName": n.cluster() }, "awsRegion": env.aws.region.value,
                    "rbac": { "serviceAccount": irsa_sa(&n, "cluster-autoscaler") } }),
        ),
    ];
    // Registers the ingress pods in the Terraform's target group (a
    // TargetGroupBinding in the chart) and nothing else: no Service or
    // Ingress of its own, so no load balancer appears that the config does
    // not declare. The nodes' metadata service is out of reach of pods
    // (hop limit 1): region and VPC are given (the VPC by its Name tag).
    let mut lbc = addon(
        "aws-load-balancer-controller",
        "https://aws.github.io/eks-charts",
        "aws-load-balancer-controller",
        &a.charts.aws_load_balancer_controller.value,
        names::KUBE_SYSTEM,
        json!({
            "clusterName": n.cluster(),
            "region": env.aws.region.value,
            "vpcTags": { "Name": n.prefix() },
            "serviceAccount": irsa_sa(&n, "aws-load-balancer-controller"),
            "enableServiceMutatorWebhook": false,
            "createIngressClassResource": false,
            "ingressClassParams": { "create": false },
        }),
    );
    lbc.ignore_differences = vec![
        webhook_ignores("MutatingWebhookConfiguration", "aws-load-balancer-webhook", false),
        webhook_ignores("ValidatingWebhookConfiguration", "aws-load-balancer-webhook", false),
        json!({ "kind": "Secret", "name": "aws-load-balancer-tls", "namespace": names::KUBE_SYSTEM, "jsonPointers": ["/data"] }),
    ];
    addons.push(lbc);
    if env.istio.enabled.value {
        let mut base =
            addon("istio-base", istio_repo, "base", &a.charts.istio.value, names::ISTIO_NAMESPACE, json!({}));
        // istiod patches the validator's failure policy and CA bundle once it runs.
        base.ignore_differences =
            vec![webhook_ignores("ValidatingWebhookConfiguration", "istiod-default-validator", true)];
        addons.push(base);
        // The CNI plugin sets up the sidecar's traffic redirection, so injected
        // pods need no NET_ADMIN init container and pass Pod Security `restricted`.
        addons.push(addon("istio-cni", istio_repo, "cni", &a.charts.istio.value, names::ISTIO_NAMESPACE, json!({})));
        let mut istiod = addon(
            "istiod",
            istio_repo,
            "istiod",
            &a.charts.istio.value,
            names::ISTIO_NAMESPACE,
            // Native sidecars (Kubernetes sidecar containers): a meshed Job —
            // the collector's runs, db-init — ends when its container does.
            json!({ "pilot": { "cni": { "enabled": true }, "env": { "ENABLE_NATIVE_SIDECARS": "true" } } }),
        );
        istiod.ignore_differences = vec![
            webhook_ignores(
                "ValidatingWebhookConfiguration",
                &format!("istio-validator-{}", names::ISTIO_NAMESPACE),
                true,
            ),
            webhook_ignores("MutatingWebhookConfiguration", "istio-sidecar-injector", false),
        ];
        addons.push(istiod);
        // Reached only through the internal load balancer's target group: a
        // ClusterIP Service (the chart's default LoadBalancer would open a
        // second, internet-facing entry that bypasses API Gateway).
        addons.push(addon(
            names::GATEWAY_RELEASE,
            istio_repo,
            "gateway",
            &a.charts.istio.value,
            names::ISTIO_NAMESPACE,
            json!({
                "labels": { names::GATEWAY_SELECTOR.0: names::GATEWAY_SELECTOR.1 },
                "service": {
                    "type": "ClusterIP",
                    "ports": [
                        { "name": "status-port", "port": names::GATEWAY_STATUS_PORT, "targetPort": names::GATEWAY_STATUS_PORT, "protocol": "TCP" },
                        { "name": "http2", "port": names::GATEWAY_HTTP_PORT, "targetPort": names::GATEWAY_HTTP_TARGET_PORT, "protocol": "TCP" },
                    ],
                },
            }),
        ));
    }
    if env.monitoring.enabled.value {
        addons.push(addon(
            names::PROMETHEUS_RELEASE,
            "https://prometheus-community.github.io/helm-charts",
            "kube-prometheus-stack",
            &a.charts.kube_prometheus_stack.value,
            names::MONITORING_NAMESPACE,
            json!({ "prometheus": prometheus_values(env), "grafana": grafana_values(&n) }),
        ));
    }

    let mut service_namespaces = vec![n.namespace()];
    service_namespaces.extend(n.grafana_namespace().map(String::from));
    let (tgb_ns, _, _) = n.ingress_backend();
    if !service_namespaces.contains(&tgb_ns) {
        service_namespaces.push(tgb_ns);
    }
    let mut platform_namespaces: Vec<String> = Vec::new();
    for ns in addons.iter().map(|a| a.namespace.clone()).chain([names::ARGOCD_NAMESPACE.to_string()]) {
        if !platform_namespaces.contains(&ns) {
            platform_namespaces.push(ns);
        }
    }
    let mut platform_repos: Vec<String> = Vec::new();
    for r in addons.iter().map(|a| a.repo.clone()).chain([n.repo_url()]) {
        if !platform_repos.contains(&r) {
            platform_repos.push(r);
        }
    }
    minijinja::Value::from(minijinja::value::Serde(Context {
        environment: n.environment().to_string(),
        argocd_version: a.version.value.clone(),
        argocd_namespace: names::ARGOCD_NAMESPACE,
        repo_url: n.repo_url(),
        target_revision: a.target_revision.value.clone(),
        auto_sync: a.auto_sync.value,
        manage_release: a.manage_release.value,
        root: RootApp { name: n.argocd_root_app(), project: n.argocd_platform_project(), path: n.argocd_dir() },
        chart_app: ChartApp {
            name: n.argocd_app(),
            project: n.argocd_project(),
            path: n.chart_path(),
            auto_sync: a.auto_sync.value && env.release.is_some(),
            release: n.release(),
            values_file: n.values_file_from_chart(),
            namespace: n.namespace(),
            namespace_labels: n.namespace_labels(),
        },
        projects: Projects {
            services: n.argocd_project(),
            platform: n.argocd_platform_project(),
            service_namespaces,
            platform_namespaces,
            platform_repos,
        },
        addons,
        repository: a.repository_credential.as_ref().map(|r| Repository {
            secret: n.argocd_repository_secret(),
            store: n.argocd_secret_store(),
            region: env.aws.region.value.clone(),
            credential: r.value.0.clone(),
            refresh_interval: super::policy::SECRETS_REFRESH,
        }),
        release_access: ReleaseAccess {
            role: n.release_role(),
            group: n.release_kubernetes_group(),
            application: n.argocd_app(),
        },
    }))
}
