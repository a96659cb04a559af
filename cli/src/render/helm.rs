//! The Helm chart's values, typed: `values.yaml` (from `[defaults]`),
//! `values-<env>.yaml` (one per environment) and `values.schema.json` all
//! come from [`Values`], so the schema Helm enforces is exactly the shape
//! myhealthctl writes — and a hand-edited values file that strays from it is
//! refused by Helm itself.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;

use crate::config::Config;
use crate::config::model::{Environment, Service};
use crate::config::raw::ServiceKind;
use crate::config::span::Sp;

/// Everything the chart's templates read.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Values {
    pub global: Global,
    pub data_processor: Workload,
    pub api_service: ApiService,
    pub oura_collector: Collector,
    pub network_policies: NetworkPolicies,
    pub istio: Istio,
    pub monitoring: Monitoring,
    pub external_secrets: ExternalSecrets,
}

/// External Secrets: the Kubernetes Secrets the services read, from AWS.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExternalSecrets {
    pub enabled: bool,
    /// How often AWS is re-read (a rotated value reaches the pods' next start).
    #[schemars(regex(pattern = r"^[0-9]+(s|m|h)$"))]
    pub refresh_interval: String,
    /// SSM parameter with the database connection (host, port, dbname, username), written by the Terraform.
    pub database_parameter: String,
    /// The DB instance; RDS tags its managed master secret with this ARN.
    pub database_instance_arn: String,
    /// `sslmode` of the services' connections (RDS forces TLS).
    #[schemars(regex(pattern = "^(require|verify-ca|verify-full)$"))]
    pub database_sslmode: String,
    /// Secrets Manager names (references, never values).
    pub oura_client: String,
    pub jwt_signing_key: String,
    pub api_password_hash: String,
    pub grafana_admin: String,
    pub grafana_database: String,
}

/// Istio routing and mesh security.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Istio {
    pub enabled: bool,
    /// The API's public host name.
    pub host: String,
    /// Kubernetes TLS secret (in the gateway's namespace) holding the host's certificate.
    pub tls_credential_name: String,
    /// Peer authentication mode of the namespace.
    #[schemars(regex(pattern = "^(STRICT|PERMISSIVE)$"))]
    pub mtls_mode: String,
}

/// Prometheus Operator objects and Grafana dashboards.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Monitoring {
    pub enabled: bool,
    /// The `release` label kube-prometheus-stack selects its monitors and rules by.
    pub prometheus_release: String,
    #[schemars(regex(pattern = r"^[0-9]+(s|m)$"))]
    pub scrape_interval: String,
    pub alerts: bool,
    pub grafana: Grafana,
    /// Alert thresholds.
    pub error_rate_percent: f64,
    pub p95_latency_seconds: f64,
    /// The collector's last success may be this old before it alerts.
    pub collector_stale_minutes: u32,
}

/// What the chart gives kube-prometheus-stack's Grafana. All of it lives in
/// Grafana's own namespace, so its sidecars need no cluster-wide read.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Grafana {
    /// Provision the PostgreSQL datasource, the dashboards and the admin secret.
    pub enabled: bool,
    /// Grafana's namespace (kube-prometheus-stack's).
    pub namespace: String,
    /// Read-only database role the datasource logs in as; data-processor creates it.
    #[schemars(regex(pattern = "^[a-z_][a-z0-9_]{0,62}$"))]
    pub database_user: String,
    /// Kubernetes Secret (`admin-user`, `admin-password`) Grafana's admin login comes from.
    pub admin_secret: String,
}

/// Default deny, then explicit allows.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NetworkPolicies {
    pub enabled: bool,
    /// The VPC: where the load balancer's traffic comes from when Istio is off.
    pub vpc_cidr: String,
    /// Where PostgreSQL lives (the private subnets).
    pub database_cidrs: Vec<String>,
    /// Istio is on: traffic enters through its ingress gateway, sidecars talk to istiod.
    pub istio: bool,
    pub istio_namespace: String,
    /// Prometheus scrapes from here.
    pub monitoring_namespace: String,
}

/// Shared by every object of the release.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Global {
    /// Project name (also the namespace the services run in).
    #[schemars(regex(pattern = r"^[a-z][a-z0-9-]{0,39}$"))]
    pub project: String,
    /// Environment name.
    #[schemars(regex(pattern = r"^[a-z][a-z0-9-]{0,29}$"))]
    pub environment: String,
    /// Production policy applies.
    pub production: bool,
    /// AWS account of the environment (12 digits).
    #[schemars(regex(pattern = r"^[0-9]{12}$"))]
    pub aws_account_id: String,
    pub aws_region: String,
    /// EKS cluster name; IRSA role names derive from it.
    pub cluster_name: String,
    /// Container registry (ECR) host.
    pub image_registry: String,
    /// Image tag of every service without a digest (`deploy` sets the built one).
    pub image_tag: String,
}

/// CPU and memory, as Kubernetes quantities.
#[derive(Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    pub requests: Quantities,
    pub limits: Quantities,
}

#[derive(Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Quantities {
    #[schemars(regex(pattern = r"^[0-9]+(\.[0-9]+)?m?$"))]
    pub cpu: String,
    #[schemars(regex(pattern = r"^[0-9]+(Ki|Mi|Gi|Ti|k|M|G|T)?$"))]
    pub memory: String,
}

/// A long-running service: Deployment, Service, HPA, PodDisruptionBudget.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Workload {
    pub enabled: bool,
    /// Image repository under the registry.
    pub image: String,
    /// Image digest: when set, the image is pulled by digest, not tag (`deploy` sets it).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^sha256:[0-9a-f]{64}$"))]
    pub digest: Option<String>,
    /// Replicas when autoscaling is off.
    #[schemars(range(min = 1, max = 100))]
    pub replicas: u32,
    #[schemars(range(min = 1024, max = 65535))]
    pub port: u16,
    pub autoscaling: Autoscaling,
    pub resources: Resources,
    /// Plain environment variables (never secrets).
    pub env: BTreeMap<String, String>,
}

#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Autoscaling {
    pub enabled: bool,
    #[schemars(range(min = 1, max = 100))]
    pub min_replicas: u32,
    #[schemars(range(min = 1, max = 100))]
    pub max_replicas: u32,
    #[schemars(range(min = 1, max = 100))]
    pub target_cpu_percent: u32,
}

/// The api-service: a workload plus its HTTP policy.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApiService {
    #[serde(flatten)]
    pub workload: Workload,
    /// Browser origins allowed by CORS.
    pub cors_allowed_origins: Vec<String>,
    /// Requests per second per client on the data routes.
    #[schemars(range(min = 1))]
    pub rate_limit_per_second: u32,
    #[schemars(range(min = 1))]
    pub rate_limit_burst: u32,
    /// Proxies in front that append to X-Forwarded-For (the Istio gateway).
    pub trusted_proxy_hops: u32,
}

/// The oura-collector CronJob.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Collector {
    pub enabled: bool,
    pub image: String,
    /// Image digest: when set, the image is pulled by digest, not tag (`deploy` sets it).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^sha256:[0-9a-f]{64}$"))]
    pub digest: Option<String>,
    /// Five-field cron schedule.
    #[schemars(regex(pattern = r"^\S+ \S+ \S+ \S+ \S+$"))]
    pub schedule: String,
    #[schemars(range(min = 0, max = 10))]
    pub backoff_limit: u32,
    /// A run taking longer is killed (and counts as failed).
    #[schemars(range(min = 30))]
    pub active_deadline_seconds: u32,
    pub successful_jobs_history_limit: u32,
    pub failed_jobs_history_limit: u32,
    pub resources: Resources,
    pub env: BTreeMap<String, String>,
    /// IAM role of its service account (IRSA): may read and write the token secret.
    pub role_arn: String,
    /// The Secrets Manager secret holding the rotating Oura tokens.
    pub token_secret_id: String,
}

fn resources(s: &Service) -> Resources {
    let r = &s.resources;
    Resources {
        requests: Quantities { cpu: r.cpu_request.value.clone(), memory: r.memory_request.value.clone() },
        limits: Quantities { cpu: r.cpu_limit.value.clone(), memory: r.memory_limit.value.clone() },
    }
}

fn env_vars(s: &Service) -> BTreeMap<String, String> {
    s.env.iter().map(|(k, v)| (k.value.clone(), v.value.clone())).collect()
}

fn workload(cfg: &Config, env: &Environment, name: &str) -> Workload {
    let image = format!("{}/{name}", cfg.project.name.value);
    match env.services.iter().find(|s| s.name.value == name && s.kind.value == ServiceKind::Deployment) {
        Some(s) => Workload {
            enabled: true,
            image,
            digest: None,
            replicas: s.replicas.value,
            port: s.port.value,
            autoscaling: Autoscaling {
                enabled: s.autoscaling.enabled.value,
                min_replicas: s.autoscaling.min_replicas.value,
                max_replicas: s.autoscaling.max_replicas.value,
                target_cpu_percent: s.autoscaling.target_cpu_percent.value,
            },
            resources: resources(s),
            env: env_vars(s),
        },
        None => Workload {
            enabled: false,
            image,
            digest: None,
            replicas: 1,
            port: 8080,
            autoscaling: Autoscaling { enabled: false, min_replicas: 1, max_replicas: 1, target_cpu_percent: 80 },
            resources: Resources {
                requests: Quantities { cpu: "50m".into(), memory: "64Mi".into() },
                limits: Quantities { cpu: "200m".into(), memory: "128Mi".into() },
            },
            env: BTreeMap::new(),
        },
    }
}

/// The values of one environment.
pub fn values(cfg: &Config, env: &Environment) -> Values {
    let account = &env.aws.account_id.value;
    let region = &env.aws.region.value;
    let cluster = &env.eks.cluster_name.value;
    let collector =
        env.services.iter().find(|s| s.name.value == "oura-collector" && s.kind.value == ServiceKind::Cronjob);
    Values {
        global: Global {
            project: cfg.project.name.value.clone(),
            environment: env.name.value.clone(),
            production: env.production.value,
            aws_account_id: account.clone(),
            aws_region: region.clone(),
            cluster_name: cluster.clone(),
            image_registry: format!("{account}.dkr.ecr.{region}.amazonaws.com"),
            image_tag: env!("CARGO_PKG_VERSION").into(),
        },
        data_processor: workload(cfg, env, "data-processor"),
        api_service: ApiService {
            workload: workload(cfg, env, "api-service"),
            cors_allowed_origins: env.api_gateway.cors_allow_origins.value.iter().map(|o| o.value.clone()).collect(),
            rate_limit_per_second: 20,
            rate_limit_burst: 40,
            trusted_proxy_hops: if env.istio.enabled.value { 1 } else { 0 },
        },
        oura_collector: Collector {
            enabled: collector.is_some(),
            image: format!("{}/oura-collector", cfg.project.name.value),
            digest: None,
            schedule: collector.and_then(|c| c.schedule.as_ref()).map_or("*/5 * * * *".into(), |s| s.value.clone()),
            backoff_limit: 2,
            active_deadline_seconds: 240,
            successful_jobs_history_limit: 3,
            failed_jobs_history_limit: 5,
            resources: collector.map_or_else(
                || Resources {
                    requests: Quantities { cpu: "50m".into(), memory: "64Mi".into() },
                    limits: Quantities { cpu: "200m".into(), memory: "128Mi".into() },
                },
                resources,
            ),
            env: collector.map(env_vars).unwrap_or_default(),
            // Matches the Terraform's IRSA role `${cluster_name}-oura-collector`.
            role_arn: format!("arn:aws:iam::{account}:role/{cluster}-oura-collector"),
            token_secret_id: env.secrets.oura_refresh_token.value.0.clone(),
        },
        network_policies: NetworkPolicies {
            enabled: true,
            vpc_cidr: env.network.vpc_cidr.value.clone(),
            database_cidrs: env.network.private_subnets.value.iter().map(|c| c.value.clone()).collect(),
            istio: env.istio.enabled.value,
            istio_namespace: "istio-system".into(),
            monitoring_namespace: MONITORING_NAMESPACE.into(),
        },
        istio: Istio {
            enabled: env.istio.enabled.value,
            host: cfg.project.api_host.value.clone(),
            tls_credential_name: format!("{}-api-tls", cfg.project.name.value),
            mtls_mode: serde_json::to_value(env.istio.mtls_mode.value)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_else(|| "STRICT".into()),
        },
        external_secrets: ExternalSecrets {
            enabled: true,
            refresh_interval: "1h".into(),
            database_parameter: format!("/{}-{}/database", cfg.project.name.value, env.name.value),
            database_instance_arn: format!(
                "arn:aws:rds:{region}:{account}:db:{}-{}",
                cfg.project.name.value, env.name.value
            ),
            database_sslmode: "require".into(),
            oura_client: env.secrets.oura_client.value.0.clone(),
            jwt_signing_key: env.secrets.jwt_signing_key.value.0.clone(),
            api_password_hash: env.secrets.api_password_hash.value.0.clone(),
            grafana_admin: env.secrets.grafana_admin.value.0.clone(),
            grafana_database: env.secrets.grafana_db.value.0.clone(),
        },
        monitoring: Monitoring {
            enabled: env.monitoring.enabled.value,
            prometheus_release: "kube-prometheus-stack".into(),
            scrape_interval: env.monitoring.scrape_interval.value.clone(),
            alerts: env.monitoring.alerts.value,
            grafana: Grafana {
                enabled: env.monitoring.grafana.value,
                namespace: MONITORING_NAMESPACE.into(),
                database_user: "grafana_reader".into(),
                admin_secret: grafana_admin_secret(cfg),
            },
            error_rate_percent: 5.0,
            p95_latency_seconds: 1.0,
            collector_stale_minutes: 30,
        },
    }
}

/// Where kube-prometheus-stack runs.
pub const MONITORING_NAMESPACE: &str = "monitoring";

/// The Secret the chart fills and kube-prometheus-stack's Grafana logs its admin in with.
fn grafana_admin_secret(cfg: &Config) -> String {
    format!("{}-grafana-admin", cfg.project.name.value)
}

/// `values.schema.json`: the JSON Schema of [`Values`].
pub fn schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Values)).expect("schema serialises")
}

/// Context of `helm/values-{env}.yaml`.
pub fn env_context(cfg: &Config, env: &Environment) -> minijinja::Value {
    super::ctx(serde_json::json!({ "values": values(cfg, env) }))
}

/// Context of `helm/myhealth/`: the chart's metadata, its default values
/// (`[defaults]` on its own, else the first environment) and its schema.
pub fn chart_context(cfg: &Config) -> minijinja::Value {
    let base = cfg.defaults.as_ref().or(cfg.environments.first()).expect("at least one environment");
    let kube = cfg.environments.iter().map(|e| e.eks.version.value.clone()).min().unwrap_or_default();
    super::ctx(serde_json::json!({
        "chart": {
            "name": cfg.project.name.value,
            "version": env!("CARGO_PKG_VERSION"),
            "app_version": env!("CARGO_PKG_VERSION"),
            "kube_version": format!(">={kube}.0-0"),
        },
        "values": values(cfg, base),
        "schema": schema(),
    }))
}

/// kube-prometheus-stack's Grafana: admin login from the Secret the chart
/// fills; datasources and dashboards from labelled objects in its own
/// namespace only (the chart puts them there).
fn grafana_addon_values(cfg: &Config, env: &Environment) -> serde_json::Value {
    if !env.monitoring.grafana.value {
        return serde_json::json!({ "enabled": false });
    }
    serde_json::json!({
        "enabled": true,
        "admin": { "existingSecret": grafana_admin_secret(cfg), "userKey": "admin-user", "passwordKey": "admin-password" },
        "sidecar": {
            "dashboards": { "enabled": true, "label": "grafana_dashboard", "labelValue": "1" },
            "datasources": { "enabled": true, "label": "grafana_datasource", "labelValue": "1" },
        },
    })
}

/// Context of `argocd/{env}/`: the chart's Application and the platform add-ons.
pub fn argocd_context(cfg: &Config, env: &Environment) -> minijinja::Value {
    let a = &env.argocd;
    let role =
        |name: &str| format!("arn:aws:iam::{}:role/{}-{name}", env.aws.account_id.value, env.eks.cluster_name.value);
    let addon = |name: &str,
                 repo: &str,
                 chart: &str,
                 version: &Sp<String>,
                 namespace: &str,
                 values: serde_json::Value| {
        serde_json::json!({ "name": name, "repo": repo, "chart": chart, "version": version.value, "namespace": namespace,
                            "values": serde_yaml_ng::to_string(&values).expect("YAML").trim_end() })
    };
    let istio_repo = "https://istio-release.storage.googleapis.com/charts";
    let mut addons = vec![
        addon(
            "external-secrets",
            "https://charts.external-secrets.io",
            "external-secrets",
            &a.charts.external_secrets,
            "external-secrets",
            serde_json::json!({ "installCRDs": true, "serviceAccount": { "name": "external-secrets", "annotations": { "eks.amazonaws.com/role-arn": role("external-secrets") } } }),
        ),
        addon(
            "metrics-server",
            "https://kubernetes-sigs.github.io/metrics-server/",
            "metrics-server",
            &a.charts.metrics_server,
            "kube-system",
            serde_json::json!({}),
        ),
        addon(
            "cluster-autoscaler",
            "https://kubernetes.github.io/autoscaler",
            "cluster-autoscaler",
            &a.charts.cluster_autoscaler,
            "kube-system",
            serde_json::json!({ "autoDiscovery": { "clusterName": env.eks.cluster_name.value }, "awsRegion": env.aws.region.value,
                                  "rbac": { "serviceAccount": { "name": "cluster-autoscaler", "annotations": { "eks.amazonaws.com/role-arn": role("cluster-autoscaler") } } } }),
        ),
    ];
    if env.istio.enabled.value {
        addons.push(addon("istio-base", istio_repo, "base", &a.charts.istio, "istio-system", serde_json::json!({})));
        // The CNI plugin sets up the sidecar's traffic redirection, so injected
        // pods need no NET_ADMIN init container and pass Pod Security `restricted`.
        addons.push(addon("istio-cni", istio_repo, "cni", &a.charts.istio, "istio-system", serde_json::json!({})));
        addons.push(addon(
            "istiod",
            istio_repo,
            "istiod",
            &a.charts.istio,
            "istio-system",
            serde_json::json!({ "pilot": { "cni": { "enabled": true } } }),
        ));
        addons.push(addon(
            "istio-ingressgateway",
            istio_repo,
            "gateway",
            &a.charts.istio,
            "istio-system",
            serde_json::json!({ "labels": { "istio": "ingressgateway" } }),
        ));
    }
    if env.monitoring.enabled.value {
        addons.push(addon("kube-prometheus-stack", "https://prometheus-community.github.io/helm-charts", "kube-prometheus-stack",
                          &a.charts.kube_prometheus_stack, MONITORING_NAMESPACE,
                          serde_json::json!({ "prometheus": { "prometheusSpec": { "retention": env.monitoring.prometheus_retention.value,
                                                                                   "scrapeInterval": env.monitoring.scrape_interval.value } },
                                              "grafana": grafana_addon_values(cfg, env) })));
    }
    super::ctx(serde_json::json!({
        "project": cfg.project.name.value,
        "environment": env.name.value,
        "namespace": cfg.project.name.value,
        "repo_url": format!("https://github.com/{}/{}.git", cfg.project.github_owner.value, cfg.project.github_repo.value),
        "target_revision": a.target_revision.value,
        "auto_sync": a.auto_sync.value,
        "istio": env.istio.enabled.value,
        // The chart also writes Grafana's datasource, dashboards and admin secret there.
        "grafana_namespace": (env.monitoring.enabled.value && env.monitoring.grafana.value).then_some(MONITORING_NAMESPACE),
        "addons": addons,
    }))
}
