//! Raw layer → resolved model: apply the built-in defaults (some derived
//! from other values, e.g. the state bucket from project and account) and
//! report values that are required but missing.

use ipnet::Ipv4Net;

use super::model::*;
use super::raw::*;
use super::span::{Sp, Span};
use crate::diagnostics::Diagnostic;

fn or<T>(v: Option<Sp<T>>, default: T) -> Sp<T> {
    v.unwrap_or_else(|| Sp::builtin(default))
}

fn or_else<T>(v: Option<Sp<T>>, default: impl FnOnce() -> T) -> Sp<T> {
    v.unwrap_or_else(|| Sp::builtin(default()))
}

fn strings(v: &[&str]) -> Vec<Sp<String>> {
    v.iter().map(|s| Sp::builtin(s.to_string())).collect()
}

/// Resolve `[project]`. `at` is where to point when a required key is missing.
pub fn project(raw: RawProject, at: Span, out: &mut Vec<Diagnostic>) -> Option<Project> {
    let mut missing = |key: &str, example: &str| {
        out.push(
            Diagnostic::error(format!("missing `project.{key}`"))
                .at(Some(at.clone()))
                .key(format!("project.{key}"))
                .label("in this table")
                .help(format!("add `{key} = {example}` to `[project]`")),
        );
    };
    let (owner, repo, owner_id, repo_id, oidc_subject) = match raw.github {
        Some(g) => (g.owner, g.repo, g.owner_id, g.repo_id, g.oidc_subject),
        None => (None, None, None, None, None),
    };
    if raw.name.is_none() {
        missing("name", "\"myhealth\"");
    }
    if raw.domain.is_none() {
        missing("domain", "\"example.com\"");
    }
    if owner.is_none() {
        missing("github.owner", "\"your-github-user\"");
    }
    if repo.is_none() {
        missing("github.repo", "\"myhealth\"");
    }
    let oidc_subject = or(oidc_subject, OidcSubject::Immutable);
    // GitHub's immutable subject names the owner and the repository by id:
    // without them no trust policy could match what GitHub issues.
    if oidc_subject.value == OidcSubject::Immutable {
        for (id, key, what) in [(&owner_id, "owner_id", ".owner.id"), (&repo_id, "repo_id", ".id")] {
            if id.is_none() {
                let (o, r) = (
                    owner.as_ref().map_or("OWNER", |o| o.value.as_str()),
                    repo.as_ref().map_or("REPO", |r| r.value.as_str()),
                );
                out.push(
                    Diagnostic::error(format!("missing `project.github.{key}`: the OIDC subjects GitHub issues name the repository by id"))
                        .at(oidc_subject.span.clone().or_else(|| owner.as_ref().and_then(|o| o.span.clone())).or(Some(at.clone())))
                        .key(format!("project.github.{key}"))
                        .label("the immutable subject format (`repo:OWNER@OWNER_ID/REPO@REPO_ID:…`)")
                        .help(format!(
                            "add `{key} = <the id>` to `github` (`gh api repos/{o}/{r} --jq {what}`), or `oidc_subject = \"name\"` for a repository created before 2026-07-15 that has not opted in to immutable subjects"
                        )),
                );
            }
        }
    }
    let (name, domain, github_owner, github_repo) = (raw.name?, raw.domain?, owner?, repo?);
    let api_host = or_else(raw.api_host, || format!("api.{}.{}", name.value, domain.value));
    Some(Project {
        name,
        domain,
        api_host,
        github_owner,
        github_repo,
        github_owner_id: owner_id,
        github_repo_id: repo_id,
        oidc_subject,
    })
}

/// Resolve one environment from its merged raw settings; `first`: it comes
/// first in the promotion order (a change of the chart reaches it first).
pub fn environment(
    p: &Project,
    name: Sp<String>,
    raw: RawSettings,
    first: bool,
    out: &mut Vec<Diagnostic>,
) -> Option<Environment> {
    let aws_raw = raw.aws.unwrap_or_default();
    let region = or(aws_raw.region, "us-east-1".into());
    let Some(account_id) = aws_raw.account_id else {
        out.push(
            Diagnostic::error(format!("missing `aws.account_id` for environment `{}`", name.value))
                .at(name.span.clone())
                .key(format!("environments.{}.aws.account_id", name.value))
                .label("this environment has no AWS account")
                .help("set `account_id = \"123456789012\"` in `[defaults.aws]` or in this environment's `aws` table"),
        );
        return None;
    };
    let aws = Aws { region, account_id };

    let tf = raw.terraform.unwrap_or_default();
    let terraform = Terraform {
        state_bucket: or_else(tf.state_bucket, || format!("{}-tfstate-{}", p.name.value, aws.account_id.value)),
        state_region: or_else(tf.state_region, || aws.region.value.clone()),
    };

    let network = network(&aws.region.value, raw.network);
    let eks = eks(p, &name.value, raw.eks);
    let rds = rds(p, raw.rds);

    let e = raw.ecr.unwrap_or_default();
    let ecr = Ecr {
        image_tag_mutability: or(e.image_tag_mutability, TagMutability::Immutable),
        keep_last: or(e.keep_last, 30),
        scan_on_push: or(e.scan_on_push, true),
    };

    let production = or_else(raw.production, || matches!(name.value.as_str(), "prod" | "production"));
    let g = raw.api_gateway.unwrap_or_default();
    // Production is served on the project's hosts; every other environment
    // on its own, below them.
    let (host, origin) = match production.value {
        true => (p.api_host.value.clone(), p.domain.value.clone()),
        false => (format!("{}.{}", name.value, p.api_host.value), format!("{}.{}", name.value, p.domain.value)),
    };
    let api_gateway = ApiGateway {
        host: or(g.host, host),
        cors_allow_origins: or_else(g.cors_allow_origins, || vec![Sp::builtin(format!("https://{origin}"))]),
        throttling_rate_limit: or(g.throttling_rate_limit, 50),
        throttling_burst_limit: or(g.throttling_burst_limit, 100),
        custom_domain: or(g.custom_domain, false),
        access_log_retention_days: or(g.access_log_retention_days, 30),
    };

    let services = raw.services.unwrap_or_default().into_iter().map(|(n, s)| service(n, s)).collect();

    let s = raw.secrets.unwrap_or_default();
    let sref = |v: Option<Sp<SecretRef>>, path: &str| {
        or_else(v, || SecretRef(format!("{}/{}/{path}", p.name.value, name.value)))
    };
    let secrets = Secrets {
        oura_client: sref(s.oura_client, "oura/client"),
        oura_refresh_token: sref(s.oura_refresh_token, "oura/refresh-token"),
        jwt_signing_key: sref(s.jwt_signing_key, "api/jwt-signing-key"),
        api_password_hash: sref(s.api_password_hash, "api/password-hash"),
        grafana_admin: sref(s.grafana_admin, "grafana/admin"),
        grafana_db: sref(s.grafana_db, "grafana/database"),
    };

    let m = raw.monitoring.unwrap_or_default();
    let monitoring = Monitoring {
        enabled: or(m.enabled, true),
        prometheus_retention: or(m.prometheus_retention, "15d".into()),
        scrape_interval: or(m.scrape_interval, "30s".into()),
        grafana: or(m.grafana, true),
        alerts: or(m.alerts, true),
    };

    let i = raw.istio.unwrap_or_default();
    let istio = Istio { enabled: or(i.enabled, true), mtls_mode: or(i.mtls_mode, MtlsMode::Strict) };

    let c = raw.ci.unwrap_or_default();
    let runs_on = or(c.runs_on, "ubuntu-24.04".into());
    let release_runs_on = c.release_runs_on.unwrap_or_else(|| Sp::builtin(vec![runs_on.clone()]));
    let ci = Ci {
        workflows_dir: or(c.workflows_dir, ".github/workflows".into()),
        pin_actions: or(c.pin_actions, true),
        runs_on,
        release_runs_on,
        require_approval: or(c.require_approval, false),
        extra_jobs: c
            .extra_jobs
            .unwrap_or_default()
            .into_iter()
            .map(|(id, j)| CiJob {
                id,
                run: j.run,
                needs: j.needs.unwrap_or_default(),
                timeout_minutes: or(j.timeout_minutes, 15),
            })
            .collect(),
    };

    let f = raw.frontend.unwrap_or_default();
    let frontend = Frontend { enabled: or(f.enabled, false), price_class: or(f.price_class, "PriceClass_100".into()) };
    let a = raw.argocd.unwrap_or_default();
    let ch = a.charts.unwrap_or_default();
    let argocd = Argocd {
        target_revision: or(a.target_revision, "main".into()),
        // Every environment follows the same branch, so a chart change would
        // reach all that sync by themselves at once: only the first does;
        // the others are synced by their release job, in promotion order.
        auto_sync: or(a.auto_sync, first && !production.value),
        charts: AddonCharts {
            istio: or(ch.istio, "1.27.3".into()),
            external_secrets: or(ch.external_secrets, "0.20.4".into()),
            kube_prometheus_stack: or(ch.kube_prometheus_stack, "79.5.0".into()),
            metrics_server: or(ch.metrics_server, "3.13.0".into()),
            cluster_autoscaler: or(ch.cluster_autoscaler, "9.52.1".into()),
            aws_load_balancer_controller: or(ch.aws_load_balancer_controller, "3.5.0".into()),
        },
        version: or(a.version, "3.5.1".into()),
        manage_release: or(a.manage_release, true),
        repository_credential: a.repository_credential,
        release_by: or(a.release_by, ReleaseBy::PullRequest),
    };
    let budget = raw.budget.map(|b| Budget {
        monthly_usd: b.monthly_usd,
        warn_percent: or(b.warn_percent, 80),
        notify_emails: b.notify_emails.map(|v| v.value).unwrap_or_default(),
        sns_topic_arns: b.sns_topic_arns.map(|v| v.value).unwrap_or_default(),
    });
    let release =
        raw.release.map(|r| Release { commit: r.commit, chart: r.chart, images: r.images.into_iter().collect() });

    Some(Environment {
        name,
        production,
        frontend,
        argocd,
        release,
        budget,
        aws,
        terraform,
        network,
        eks,
        rds,
        ecr,
        api_gateway,
        services,
        secrets,
        monitoring,
        istio,
        ci,
    })
}

/// Subnets default to the first `az_count` /+4 blocks of the VPC (public)
/// and the blocks from the middle of it (private), so a bare `vpc_cidr` is enough.
fn network(region: &str, raw: Option<RawNetwork>) -> Network {
    let n = raw.unwrap_or_default();
    let vpc_cidr = or(n.vpc_cidr, "10.0.0.0/16".into());
    let az_count = or(n.az_count, 2);
    let derived = |offset: usize| -> Vec<Sp<String>> {
        let Ok(net) = vpc_cidr.value.parse::<Ipv4Net>() else {
            return Vec::new();
        };
        let Ok(blocks) = net.subnets((net.prefix_len() + 4).min(28)) else {
            return Vec::new();
        };
        blocks.skip(offset).take(az_count.value as usize).map(|b| Sp::builtin(b.to_string())).collect()
    };
    let azs = or_else(n.azs, || {
        (0..az_count.value).map(|i| Sp::builtin(format!("{region}{}", (b'a' + i) as char))).collect()
    });
    Network {
        azs,
        public_subnets: or_else(n.public_subnets, || derived(0)),
        private_subnets: or_else(n.private_subnets, || derived(8)),
        vpc_cidr,
        az_count,
        nat: or(n.nat, NatMode::Single),
        vpc_endpoints: or(n.vpc_endpoints, true),
        flow_logs_retention_days: or(n.flow_logs_retention_days, 30),
    }
}

fn eks(p: &Project, env: &str, raw: Option<RawEks>) -> Eks {
    let e = raw.unwrap_or_default();
    let a = e.addons.unwrap_or_default();
    let mut node_groups: Vec<NodeGroup> =
        e.node_groups.unwrap_or_default().into_iter().map(|(n, g)| node_group(n, g)).collect();
    if node_groups.is_empty() {
        node_groups.push(node_group(Sp::builtin("general".into()), RawNodeGroup::default()));
    }
    Eks {
        cluster_name: or_else(e.cluster_name, || format!("{}-{env}", p.name.value)),
        version: or(e.version, "1.33".into()),
        endpoint_public_access: or(e.endpoint_public_access, true),
        endpoint_private_access: or(e.endpoint_private_access, true),
        public_access_cidrs: or_else(e.public_access_cidrs, || strings(&["0.0.0.0/0"])),
        log_retention_days: or(e.log_retention_days, 30),
        log_types: or_else(e.log_types, || strings(&["api", "audit", "authenticator"])),
        addons: Addons {
            vpc_cni: or(a.vpc_cni, true),
            coredns: or(a.coredns, true),
            kube_proxy: or(a.kube_proxy, true),
            ebs_csi: or(a.ebs_csi, true),
        },
        node_groups,
    }
}

fn node_group(name: Sp<String>, g: RawNodeGroup) -> NodeGroup {
    let min_size = or(g.min_size, 1);
    let desired_size = or_else(g.desired_size, || min_size.value.max(2));
    let max_size = or_else(g.max_size, || desired_size.value.max(3));
    NodeGroup {
        name,
        instance_types: or_else(g.instance_types, || strings(&["t3.medium"])),
        capacity_type: or(g.capacity_type, CapacityType::OnDemand),
        min_size,
        desired_size,
        max_size,
        disk_size_gb: or(g.disk_size_gb, 20),
        max_unavailable: or(g.max_unavailable, 1),
        labels: g.labels.unwrap_or_default().into_iter().collect(),
        taints: g
            .taints
            .unwrap_or_default()
            .into_iter()
            .map(|t| Taint { key: t.key, value: t.value, effect: t.effect })
            .collect(),
    }
}

fn rds(p: &Project, raw: Option<RawRds>) -> Rds {
    let r = raw.unwrap_or_default();
    let ident = p.name.value.replace('-', "_");
    let allocated = or(r.allocated_storage_gb, 20);
    let instance_class = or(r.instance_class, "db.t3.micro".to_string());
    // Performance Insights is on wherever RDS offers it (not on micro/small classes).
    let pi_default = ![".micro", ".small"].iter().any(|s| instance_class.value.ends_with(s));
    Rds {
        engine_version: or(r.engine_version, "16".into()),
        auto_minor_version_upgrade: or(r.auto_minor_version_upgrade, true),
        instance_class,
        max_allocated_storage_gb: or_else(r.max_allocated_storage_gb, || allocated.value.max(100)),
        allocated_storage_gb: allocated,
        multi_az: or(r.multi_az, false),
        deletion_protection: or(r.deletion_protection, false),
        backup_retention_days: or(r.backup_retention_days, 7),
        backup_window: or(r.backup_window, "03:00-04:00".into()),
        maintenance_window: or(r.maintenance_window, "sun:04:30-sun:05:30".into()),
        database_name: or_else(r.database_name, || ident.clone()),
        master_username: or_else(r.master_username, || format!("{ident}_admin")),
        performance_insights: or(r.performance_insights, pi_default),
    }
}

fn service(name: Sp<String>, s: RawService) -> Service {
    let a = s.autoscaling.unwrap_or_default();
    let r = s.resources.unwrap_or_default();
    let replicas = or(s.replicas, 1);
    let min_replicas = or_else(a.min_replicas, || replicas.value);
    let max_replicas = or_else(a.max_replicas, || min_replicas.value.max(3));
    Service {
        name,
        kind: or(s.kind, ServiceKind::Deployment),
        schedule: s.schedule,
        replicas,
        port: or(s.port, 8080),
        autoscaling: Autoscaling {
            enabled: or(a.enabled, false),
            min_replicas,
            max_replicas,
            target_cpu_percent: or(a.target_cpu_percent, 70),
        },
        resources: Resources {
            cpu_request: or(r.cpu_request, "100m".into()),
            cpu_limit: or(r.cpu_limit, "500m".into()),
            memory_request: or(r.memory_request, "128Mi".into()),
            memory_limit: or(r.memory_limit, "256Mi".into()),
        },
        env: s.env.unwrap_or_default().into_iter().collect(),
        secret_env: s.secret_env.unwrap_or_default().into_iter().collect(),
    }
}
