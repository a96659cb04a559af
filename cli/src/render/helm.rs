//! The Helm chart's values, typed: `values.yaml` (from `[defaults]`),
//! `values-<env>.yaml` (one per environment) and `values.schema.json` all
//! come from [`Values`], so the schema Helm enforces is exactly the shape
//! myhealthctl writes — and a hand-edited values file that strays from it is
//! refused by Helm itself.
//!
//! The chart derives no name of its own: every object name, ServiceAccount,
//! Secret, role ARN, port and peer is computed by [`crate::names`] and
//! arrives here as a value, so the chart and the Terraform cannot disagree.

use std::collections::BTreeMap;

use serde::Serialize;

use super::policy;
use crate::config::Config;
use crate::config::model::ServiceKind;
use crate::config::model::{Environment, Service, spelling};
use crate::names::{self, Names};

mod values;
pub use values::*;

fn resources(s: &Service) -> Resources {
    let r = &s.resources;
    Resources {
        requests: Quantities { cpu: r.cpu_request.value.clone(), memory: r.memory_request.value.clone() },
        limits: Quantities { cpu: r.cpu_limit.value.clone(), memory: r.memory_limit.value.clone() },
    }
}

fn small_resources() -> Resources {
    Resources {
        requests: Quantities { cpu: "50m".into(), memory: "64Mi".into() },
        limits: Quantities { cpu: "200m".into(), memory: "128Mi".into() },
    }
}

/// The CIDR blocks of a list of subnets.
fn cidrs(v: &[crate::config::span::Sp<String>]) -> Vec<String> {
    v.iter().map(|c| c.value.clone()).collect()
}

/// Proxies between the client and api-service that append to
/// `X-Forwarded-For`: API Gateway always, Istio's ingress gateway when on
/// (the load balancer forwards TCP and adds nothing).
pub fn trusted_proxy_hops(env: &Environment) -> u32 {
    1 + u32::from(env.istio.enabled.value)
}

fn peer(n: &Names<'_>, service: &str) -> Peer {
    let port = n.env.services.iter().find(|s| s.name.value == service && s.kind.value == ServiceKind::Deployment);
    Peer {
        component: service.to_string(),
        service_account: n.service_account(service),
        port: port.map(|s| s.port.value),
    }
}

fn workload(n: &Names<'_>, s: &Service) -> Workload {
    let name = s.name.value.as_str();
    let l = n.links(s);
    let mut env: BTreeMap<String, String> = s.env.iter().map(|(k, v)| (k.value.clone(), v.value.clone())).collect();
    let mut env_from = Vec::new();
    let region = n.env.aws.region.value.clone();
    if let Some(role) = n.db_role(name) {
        env_from.push(n.database_secret());
        env.insert("DB_USER".into(), role);
        // db-init migrates, as the master user, before every rollout: the
        // services' roles cannot change the schema.
        env.insert("DB_MIGRATE".into(), "false".into());
        // A token per connection from the pod's IAM role: no password to rotate.
        env.insert("DB_IAM_AUTH".into(), "true".into());
        env.insert("AWS_REGION".into(), region.clone());
    }
    if s.kind.value == ServiceKind::Deployment {
        env.insert("HEADER_READ_TIMEOUT_SECONDS".into(), policy::HEADER_READ_TIMEOUT_SECONDS.to_string());
    }
    match name {
        names::API => {
            env_from.push(n.api_secret());
            let cors: Vec<&str> = n.env.api_gateway.cors_allow_origins.value.iter().map(|o| o.value.as_str()).collect();
            env.insert("CORS_ALLOWED_ORIGINS".into(), cors.join(","));
            env.insert("RATE_LIMIT_PER_SECOND".into(), policy::API_RATE_LIMIT_PER_SECOND.to_string());
            env.insert("RATE_LIMIT_BURST".into(), policy::API_RATE_LIMIT_BURST.to_string());
            env.insert("TRUSTED_PROXY_HOPS".into(), trusted_proxy_hops(n.env).to_string());
            // Without the mesh the load balancer connects from the private
            // subnets: only from there is `X-Forwarded-For` believed. (With
            // it, the sidecar on 127.0.0.6: the service's default.)
            if !n.env.istio.enabled.value {
                env.insert("TRUSTED_PROXIES".into(), cidrs(&n.env.network.private_subnets.value).join(","));
            }
        }
        names::COLLECTOR => {
            env_from.push(n.oura_secret());
            if let Some(url) = n.service_url(names::PROCESSOR) {
                env.insert("PROCESSOR_URL".into(), url);
            }
            env.insert("OURA_TOKEN_SECRET_ID".into(), n.env.secrets.oura_refresh_token.value.0.clone());
            env.insert("AWS_REGION".into(), region.clone());
        }
        _ => {}
    }
    if !s.secret_env.is_empty() {
        env_from.push(n.service_env_secret(name));
    }
    let deployment = (s.kind.value == ServiceKind::Deployment).then(|| {
        let a = &s.autoscaling;
        let min = if a.enabled.value { a.min_replicas.value } else { s.replicas.value };
        let spread = if n.env.production.value { "DoNotSchedule" } else { "ScheduleAnyway" };
        env.insert("PORT".into(), s.port.value.to_string());
        DeploymentSpec {
            replicas: s.replicas.value,
            port: s.port.value,
            autoscaling: Autoscaling {
                enabled: a.enabled.value,
                min_replicas: a.min_replicas.value,
                max_replicas: a.max_replicas.value,
                target_cpu_percent: a.target_cpu_percent.value,
            },
            // One pod at a time: a drain never takes two of three api pods.
            max_unavailable: (min > 1).then_some(1),
            zone_spread: spread.into(),
            host_spread: "ScheduleAnyway".into(),
            probes: Probes {
                liveness_path: "/health".into(),
                readiness_path: "/ready".into(),
                readiness_period_seconds: policy::READINESS_PERIOD_SECONDS,
                readiness_failures: policy::READINESS_FAILURES,
                timeout_seconds: policy::PROBE_TIMEOUT_SECONDS,
            },
        }
    });
    let cron_job = (s.kind.value == ServiceKind::Cronjob).then(|| CronJobSpec {
        schedule: s.schedule.as_ref().map_or(policy::DEFAULT_SCHEDULE.into(), |x| x.value.clone()),
        backoff_limit: policy::COLLECTOR_BACKOFF_LIMIT,
        active_deadline_seconds: policy::COLLECTOR_DEADLINE_SECONDS,
        successful_jobs_history_limit: policy::COLLECTOR_SUCCESSFUL_HISTORY,
        failed_jobs_history_limit: policy::COLLECTOR_FAILED_HISTORY,
        fail_job_on_exit_codes: if name == names::COLLECTOR {
            vec![policy::COLLECTOR_PARTIAL_EXIT, policy::COLLECTOR_NEEDS_USER_EXIT]
        } else {
            vec![]
        },
    });
    Workload {
        name: n.workload(name),
        component: name.to_string(),
        image: n.ecr_repository(name),
        digest: None,
        service_account: ServiceAccount {
            name: n.service_account(name),
            role_arn: n.irsa_for(name).map(|b| b.role_arn),
        },
        resources: resources(s),
        env,
        env_from,
        links: Links {
            from_ingress: l.from_ingress,
            from_workloads: l.from_services.iter().map(|p| peer(n, p)).collect(),
            from_namespace: l.from_namespace,
            metrics: l.metrics,
            database: l.database,
            to_workloads: l.to_services.iter().map(|p| peer(n, p)).collect(),
            https: l.https,
        },
        deployment,
        cron_job,
    }
}

fn db_init(n: &Names<'_>) -> DbInit {
    let roles: Vec<String> = n
        .db_services()
        .filter_map(|s| {
            let role = n.db_role(&s.name.value)?;
            Some(format!("{role}={}", if n.db_role_writes(&s.name.value) { "write" } else { "read" }))
        })
        .collect();
    let binding = n.irsa_for(names::DB_INIT);
    let mut env = BTreeMap::from([
        ("AWS_REGION".to_string(), n.env.aws.region.value.clone()),
        ("DB_PARAMETER".to_string(), n.db_parameter()),
        ("DB_ROLES".to_string(), roles.join(",")),
        ("DB_SSLMODE".to_string(), policy::DB_SSLMODE.to_string()),
    ]);
    if n.grafana_namespace().is_some() {
        env.insert("DB_READER_USER".into(), names::GRAFANA_DB_ROLE.into());
        env.insert("DB_READER_SECRET_ID".into(), n.env.secrets.grafana_db.value.0.clone());
    }
    DbInit {
        enabled: binding.is_some(),
        name: n.workload(names::DB_INIT),
        image_from: names::PROCESSOR.into(),
        service_account: ServiceAccount {
            name: n.service_account(names::DB_INIT),
            role_arn: binding.map(|b| b.role_arn),
        },
        env,
        resources: small_resources(),
    }
}

/// The values of one environment.
pub fn values(cfg: &Config, env: &Environment) -> Values {
    let n = Names::of(cfg, env);
    let api = env.services.iter().any(|s| s.name.value == names::API && s.kind.value == ServiceKind::Deployment);
    let (tgb_namespace, tgb_service, tgb_port) = n.ingress_backend();
    let collector =
        env.services.iter().find(|s| s.name.value == names::COLLECTOR && s.kind.value == ServiceKind::Cronjob);
    let istio = env.istio.enabled.value;
    Values {
        global: Global {
            project: n.project().to_string(),
            environment: n.environment().to_string(),
            production: env.production.value,
            aws_account_id: env.aws.account_id.value.clone(),
            aws_region: env.aws.region.value.clone(),
            image_registry: n.ecr_host(),
            image_tag: names::CHART_VERSION.into(),
            release: env
                .release
                .as_ref()
                .map(|r| ReleaseInfo { commit: r.commit.value.clone(), chart: r.chart.value.clone() }),
        },
        services: env
            .services
            .iter()
            .map(|s| {
                let mut w = workload(&n, s);
                // Pinned by the release record: the chart pulls it by digest.
                w.digest = env.release.as_ref().and_then(|r| r.digest(&s.name.value)).map(String::from);
                (s.name.value.clone(), w)
            })
            .collect(),
        db_init: db_init(&n),
        ingress: Ingress {
            enabled: api,
            target_group_binding: TargetGroupBinding {
                name: n.release_object("ingress"),
                namespace: tgb_namespace,
                target_group_name: n.target_group(),
                service_name: tgb_service,
                service_port: tgb_port,
            },
            gateway_name: n.release_object("gateway"),
            gateway_port: names::GATEWAY_HTTP_PORT,
        },
        network_policies: NetworkPolicies {
            enabled: true,
            load_balancer_cidrs: cidrs(&env.network.private_subnets.value),
            database_cidrs: cidrs(&env.network.private_subnets.value),
            istio,
            istio_namespace: names::ISTIO_NAMESPACE.into(),
            monitoring_namespace: names::MONITORING_NAMESPACE.into(),
        },
        istio: Istio {
            enabled: istio,
            mtls_mode: spelling(&env.istio.mtls_mode.value),
            namespace: names::ISTIO_NAMESPACE.into(),
            gateway_selector: BTreeMap::from([(
                names::GATEWAY_SELECTOR.0.to_string(),
                names::GATEWAY_SELECTOR.1.to_string(),
            )]),
            idle_timeout: format!("{}s", policy::MESH_IDLE_TIMEOUT_SECONDS),
        },
        external_secrets: ExternalSecrets {
            enabled: true,
            refresh_interval: policy::SECRETS_REFRESH.into(),
            secrets_manager_store: n.secrets_manager_store(),
            parameter_store: n.parameter_store(),
            database_parameter: n.db_parameter(),
            database_sslmode: policy::DB_SSLMODE.into(),
            database_secret: n.database_secret(),
            api_secret: n.api_secret(),
            oura_secret: n.oura_secret(),
            oura_client: env.secrets.oura_client.value.0.clone(),
            jwt_signing_key: env.secrets.jwt_signing_key.value.0.clone(),
            api_password_hash: env.secrets.api_password_hash.value.0.clone(),
            grafana_admin: env.secrets.grafana_admin.value.0.clone(),
            grafana_database: env.secrets.grafana_db.value.0.clone(),
            service_secrets: env
                .services
                .iter()
                .filter(|s| !s.secret_env.is_empty())
                .map(|s| ServiceSecret {
                    name: n.service_env_secret(&s.name.value),
                    data: s.secret_env.iter().map(|(k, r)| (k.value.clone(), r.value.0.clone())).collect(),
                })
                .collect(),
        },
        monitoring: Monitoring {
            enabled: env.monitoring.enabled.value,
            namespace: names::MONITORING_NAMESPACE.into(),
            prometheus_release: names::PROMETHEUS_RELEASE.into(),
            prometheus_service_account: n.prometheus_service_account(),
            scrape_interval: env.monitoring.scrape_interval.value.clone(),
            scrape_scheme: if istio { "https" } else { "http" }.into(),
            scrape_certs_dir: names::PROMETHEUS_CERTS_DIR.into(),
            alerts: env.monitoring.alerts.value,
            grafana: Grafana {
                enabled: env.monitoring.grafana.value,
                namespace: names::MONITORING_NAMESPACE.into(),
                database_user: names::GRAFANA_DB_ROLE.into(),
                admin_secret: n.grafana_admin_secret(),
                datasource_secret: n.grafana_datasource_secret(),
            },
            error_rate_percent: policy::ALERT_ERROR_RATE_PERCENT,
            p95_latency_seconds: policy::ALERT_P95_LATENCY_SECONDS,
            collector_stale_minutes: policy::ALERT_COLLECTOR_STALE_MINUTES,
            collector_cron_job: collector.map(|c| n.workload(&c.name.value)),
        },
    }
}

/// `values.schema.json`: the JSON Schema of [`Values`].
pub fn schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Values)).expect("schema serialises")
}

/// Context of `helm/values-{env}.yaml`.
#[derive(Serialize)]
struct EnvValuesContext {
    values: Values,
}

/// Context of `helm/values-{env}.yaml`: the environment's values.
pub fn env_context(cfg: &Config, env: &Environment) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(EnvValuesContext { values: values(cfg, env) }))
}

/// The chart's metadata.
#[derive(Serialize)]
struct ChartMeta {
    name: &'static str,
    version: &'static str,
    app_version: &'static str,
    kube_version: String,
}

#[derive(Serialize)]
struct ChartContext {
    chart: ChartMeta,
    values: Values,
    schema: serde_json::Value,
}

/// Context of `helm/myhealth/`: the chart's metadata, its default values
/// (`[defaults]` on its own, else the first environment) and its schema.
pub fn chart_context(cfg: &Config) -> minijinja::Value {
    let base = cfg.defaults.as_ref().or(cfg.environments.first()).expect("at least one environment");
    let kube = cfg.environments.iter().map(|e| e.eks.version.value.clone()).min().unwrap_or_default();
    minijinja::Value::from(minijinja::value::Serde(ChartContext {
        chart: ChartMeta {
            name: names::CHART_NAME,
            version: names::CHART_VERSION,
            app_version: names::CHART_VERSION,
            kube_version: format!(">={kube}.0-0"),
        },
        values: values(cfg, base),
        schema: schema(),
    }))
}

#[cfg(test)]
mod tests {
    /// `values.schema.json`'s pattern for `istio.mtlsMode` (a literal in
    /// [`super::Istio`]) admits exactly the modes `myhealth.toml` spells.
    #[test]
    fn the_mtls_mode_pattern_is_the_configs_spellings() {
        let modes = crate::config::keys::choices(
            &serde_json::to_value(schemars::schema_for!(crate::config::model::MtlsMode)).unwrap(),
        );
        assert!(!modes.is_empty());
        let schema = super::schema();
        let pattern = schema["$defs"]["Istio"]["properties"]["mtlsMode"]["pattern"].as_str().unwrap();
        assert_eq!(pattern, format!("^({})$", modes.join("|")));
    }
}
