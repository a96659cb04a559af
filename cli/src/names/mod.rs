//! Every name and contract two layers of the generated platform must agree
//! on, derived here and nowhere else: Terraform, the Helm chart, ArgoCD, the
//! workflows, `deploy` and `push` all read them from [`Names`] (templates
//! through their contexts). A name computed twice is a name that can
//! disagree — that is how the IRSA subject once missed the ServiceAccount.
//!
//! What lives here: the chart's directory and release, namespaces, object
//! and ServiceAccount names, IRSA roles with their trust subjects, ECR host
//! and repositories, Kubernetes Secret names and the AWS secrets they come
//! from, database roles, the ingress path (load balancer, target group,
//! gateway Service and ports), Prometheus' identity, GitHub roles and the
//! ArgoCD objects. Cross-layer *policy* (which workload talks to which)
//! lives with it, in [`Names::links`].

use crate::config::model::{Environment, Service};
use crate::config::model::{OidcSubject, ServiceKind};
use crate::config::{Config, model::SecretRef};

mod aws;
mod ci;
mod paths;

pub use paths::*;

/// The chart's name: the platform's chart, whatever the project is called.
pub const CHART_NAME: &str = "myhealth";
/// Where the chart lives in the generated tree.
/// The chart's version (and the images' tag); defined with the config,
/// whose release records are judged against it.
pub use crate::config::model::CHART_VERSION;
pub const CHART_DIR: &str = "helm/myhealth";
/// The branch pull requests merge into and the applies run from (the
/// workflows' triggers, the plan role's trust of post-merge plans).
pub const MAIN_BRANCH: &str = "main";
/// The tag prefix of images a release record pins ([`Names::release_tag`]).
pub const RELEASE_TAG_PREFIX: &str = "release-";
/// Where the generated tree is committed, relative to the project root.
pub const GENERATED_DIR: &str = "generated";

/// Namespaces of the platform add-ons.
pub const ISTIO_NAMESPACE: &str = "istio-system";
pub const MONITORING_NAMESPACE: &str = "monitoring";
pub const EXTERNAL_SECRETS_NAMESPACE: &str = "external-secrets";
pub const KUBE_SYSTEM: &str = "kube-system";
/// How long `deploy` waits for ArgoCD to sync a release and report it healthy (at least).
pub const ARGOCD_SYNC_TIMEOUT_SECONDS: u64 = 600;
pub const ARGOCD_NAMESPACE: &str = "argocd";

/// The istio/gateway chart's release: its Service, its Deployment's `istio` label.
pub const GATEWAY_RELEASE: &str = "istio-ingressgateway";
/// The label the Gateway object selects the ingress pods by.
pub const GATEWAY_SELECTOR: (&str, &str) = ("istio", "ingressgateway");
/// The gateway Service's HTTP port and the pod port behind it (the istio/gateway
/// chart's defaults, set explicitly in its values so nothing depends on them).
pub const GATEWAY_HTTP_PORT: u16 = 80;
pub const GATEWAY_HTTP_TARGET_PORT: u16 = 8080;
pub const GATEWAY_STATUS_PORT: u16 = 15021;

/// kube-prometheus-stack's release: the `release` label its Prometheus selects
/// monitors and rules by, and the prefix of its objects.
pub const PROMETHEUS_RELEASE: &str = "kube-prometheus-stack";
/// Where Prometheus finds the Istio workload certificate it scrapes with (STRICT mTLS).
pub const PROMETHEUS_CERTS_DIR: &str = "/etc/prom-certs";

/// The External Secrets operator's ServiceAccount (its chart's `serviceAccount.name`).
pub const EXTERNAL_SECRETS_SA: &str = "external-secrets";
pub const CLUSTER_AUTOSCALER_SA: &str = "cluster-autoscaler";
pub const LBC_SA: &str = "aws-load-balancer-controller";
/// The EBS CSI driver's controller (the EKS add-on names it).
pub const EBS_CSI_SA: &str = "ebs-csi-controller-sa";

/// The database job that runs as the master user: migrations, roles, grants.
pub const DB_INIT: &str = "db-init";
/// The read-only role Grafana's datasource logs in as.
pub const GRAFANA_DB_ROLE: &str = "grafana_reader";

/// The services the repository bundles, by the part they play.
pub const COLLECTOR: &str = "oura-collector";
pub const PROCESSOR: &str = "data-processor";
pub const API: &str = "api-service";

/// Object names are DNS labels: 63 characters at most.
fn label(s: String) -> String {
    let mut s = s;
    s.truncate(63);
    s.trim_end_matches('-').to_string()
}

/// An IAM role a Kubernetes ServiceAccount assumes through the cluster's OIDC
/// provider (IRSA): one role per binding, trusted for exactly one subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IrsaBinding {
    /// Key in the Terraform's `service_account_roles` (role name suffix).
    pub key: String,
    pub namespace: String,
    pub service_account: String,
    pub role_name: String,
    pub role_arn: String,
}

/// The platform's secrets, by their key in `[secrets]`: description, and
/// whether myhealthctl generates the value (the others are set by the operator).
pub const PLATFORM_SECRETS: [(&str, &str, bool); 6] = [
    ("oura_client", "Oura OAuth client id and secret (set by the operator)", false),
    ("oura_refresh_token", "Oura OAuth refresh token (rotated by oura-collector)", false),
    ("jwt_signing_key", "Key that signs the API's JWTs (generated)", true),
    ("api_password_hash", "Argon2 hash of the API user's password (set by the operator)", false),
    ("grafana_admin", "Grafana admin password (generated)", true),
    ("grafana_db", "Password of Grafana's read-only database role (generated)", true),
];

/// A secret the environment's Terraform creates (its name, never its value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedSecret {
    /// Key in the Terraform's `secrets` map.
    pub key: String,
    pub name: String,
    pub description: String,
    pub generate: bool,
}

/// The log groups an environment's Terraform creates (or RDS for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogGroup {
    Cluster,
    FlowLogs,
    ApiAccess,
    Postgres,
    PostgresUpgrade,
}

impl LogGroup {
    pub const ALL: [LogGroup; 5] =
        [LogGroup::Cluster, LogGroup::FlowLogs, LogGroup::ApiAccess, LogGroup::Postgres, LogGroup::PostgresUpgrade];
}

/// The KMS aliases of an environment's keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KmsAlias {
    Logs,
    Secrets,
    ClusterSecrets,
}

impl KmsAlias {
    pub const ALL: [KmsAlias; 3] = [KmsAlias::Logs, KmsAlias::Secrets, KmsAlias::ClusterSecrets];
}

/// The roles an environment hands to AWS services.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceRole {
    Cluster,
    Node,
    FlowLogs,
    RdsMonitoring,
}

impl ServiceRole {
    pub const ALL: [ServiceRole; 4] =
        [ServiceRole::Cluster, ServiceRole::Node, ServiceRole::FlowLogs, ServiceRole::RdsMonitoring];
}

/// The AWS roles GitHub Actions assumes in an environment (the access root creates them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum GithubRole {
    /// Read what planning needs: this environment's state and resources (no secret, no lock).
    Plan,
    /// Apply this environment's Terraform root (its resources and state only).
    Apply,
    /// Release: push and copy this environment's images, have ArgoCD sync it.
    Release,
}

impl GithubRole {
    pub const ALL: [GithubRole; 3] = [GithubRole::Plan, GithubRole::Apply, GithubRole::Release];
    pub fn suffix(self) -> &'static str {
        match self {
            GithubRole::Plan => "plan",
            GithubRole::Apply => "apply",
            GithubRole::Release => "release",
        }
    }
    /// The GitHub environments whose jobs assume it.
    pub fn environments(self) -> &'static [GithubEnvironment] {
        match self {
            GithubRole::Plan => &[GithubEnvironment::Plan],
            GithubRole::Apply => &[GithubEnvironment::Infra, GithubEnvironment::Replan],
            GithubRole::Release => &[GithubEnvironment::Release],
        }
    }
}

/// The GitHub environments of one of ours, by the jobs that run in them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum GithubEnvironment {
    /// `<env>-plan`: plans (pull requests, after the merge) and drift checks; no reviewers.
    Plan,
    /// `<env>-infra`: the apply of the reviewed plan (reviewers where approval is required).
    Infra,
    /// `<env>-replan`: the apply of a plan other than the reviewed one (reviewers always).
    Replan,
    /// `<env>`: the release of images (reviewers where approval is required).
    Release,
}

impl GithubEnvironment {
    pub const ALL: [GithubEnvironment; 4] =
        [GithubEnvironment::Plan, GithubEnvironment::Infra, GithubEnvironment::Replan, GithubEnvironment::Release];
}

/// How the `sub` claim of the repository's OIDC tokens begins
/// (`repo:OWNER@OWNER_ID/REPO@REPO_ID` or `repo:OWNER/REPO`, GitHub's OIDC reference).
pub fn github_subject_prefix(cfg: &Config) -> String {
    let p = &cfg.project;
    match (p.oidc_subject.value, &p.github_owner_id, &p.github_repo_id) {
        (OidcSubject::Immutable, Some(o), Some(r)) => {
            format!("repo:{}@{}/{}@{}", p.github_owner.value, o.value, p.github_repo.value, r.value)
        }
        // Validation refuses immutable without ids; name-only otherwise.
        _ => format!("repo:{}/{}", p.github_owner.value, p.github_repo.value),
    }
}

/// The ARN of an IAM role (also of a retired environment's, which has no model).
pub fn iam_role_arn(account: &str, role_name: &str) -> String {
    format!("arn:aws:iam::{account}:role/{role_name}")
}

/// What a workload may reach and be reached by (NetworkPolicies and Istio
/// AuthorizationPolicies are both rendered from this).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Links {
    /// Requests from the ingress path (the gateway, or the load balancer when Istio is off).
    pub from_ingress: bool,
    /// Workloads (by service name) that call this one.
    pub from_services: Vec<String>,
    /// Any workload of the namespace may call it (services not bundled here).
    pub from_namespace: bool,
    /// Prometheus scrapes `/metrics`.
    pub metrics: bool,
    /// It talks to PostgreSQL.
    pub database: bool,
    /// It calls these services.
    pub to_services: Vec<String>,
    /// HTTPS out of the cluster (Oura, AWS APIs).
    pub https: bool,
}

/// The names of one environment.
pub struct Names<'a> {
    pub cfg: &'a Config,
    pub env: &'a Environment,
}

impl<'a> Names<'a> {
    pub fn of(cfg: &'a Config, env: &'a Environment) -> Self {
        Names { cfg, env }
    }

    pub fn project(&self) -> &str {
        &self.cfg.project.name.value
    }
    pub fn environment(&self) -> &str {
        &self.env.name.value
    }
    pub fn account(&self) -> &str {
        &self.env.aws.account_id.value
    }
    pub fn region(&self) -> &str {
        &self.env.aws.region.value
    }
    pub fn cluster(&self) -> &str {
        &self.env.eks.cluster_name.value
    }

    /// `<project>-<environment>`: the prefix of the environment's AWS resources
    /// (VPC, database, load balancer, GitHub roles, SSM parameter).
    pub fn prefix(&self) -> String {
        format!("{}-{}", self.project(), self.environment())
    }

    // --- Kubernetes -------------------------------------------------------

    /// The namespace the services run in.
    pub fn namespace(&self) -> String {
        self.project().to_string()
    }
    /// The Helm release of the chart (ArgoCD's `releaseName`, `deploy`'s release).
    pub fn release(&self) -> String {
        self.project().to_string()
    }
    /// A workload's objects (Deployment or CronJob, Service, ServiceAccount, HPA, PDB).
    pub fn workload(&self, service: &str) -> String {
        label(format!("{}-{service}", self.release()))
    }
    /// Objects of the release that belong to no one workload (Gateway, PeerAuthentication, rules).
    pub fn release_object(&self, what: &str) -> String {
        label(format!("{}-{what}", self.release()))
    }
    pub fn service_account(&self, service: &str) -> String {
        self.workload(service)
    }
    /// The in-cluster URL of a deployment's Service.
    pub fn service_url(&self, service: &str) -> Option<String> {
        let s =
            self.env.services.iter().find(|s| s.name.value == service && s.kind.value == ServiceKind::Deployment)?;
        Some(format!("http://{}.{}.svc:{}", self.workload(service), self.namespace(), s.port.value))
    }
    /// Labels of the services' namespace: Pod Security `restricted`, and sidecar
    /// injection when Istio is on (ArgoCD's `managedNamespaceMetadata` and `deploy`'s namespace).
    pub fn namespace_labels(&self) -> std::collections::BTreeMap<String, String> {
        let mut l: std::collections::BTreeMap<String, String> = ["enforce", "audit", "warn"]
            .iter()
            .map(|m| (format!("pod-security.kubernetes.io/{m}"), "restricted".to_string()))
            .collect();
        if self.env.istio.enabled.value {
            l.insert("istio-injection".into(), "enabled".into());
        }
        l
    }
    /// Grafana's namespace, when the chart writes its datasource, dashboards and admin login there.
    pub fn grafana_namespace(&self) -> Option<&'static str> {
        (self.env.monitoring.enabled.value && self.env.monitoring.grafana.value).then_some(MONITORING_NAMESPACE)
    }
    /// Prometheus' ServiceAccount (kube-prometheus-stack names it after its release).
    pub fn prometheus_service_account(&self) -> String {
        format!("{PROMETHEUS_RELEASE}-prometheus")
    }

    // --- the chart in the repository ----------------------------------------

    /// The chart directory, relative to the project root (ArgoCD's source path).
    pub fn chart_path(&self) -> String {
        format!("{GENERATED_DIR}/{CHART_DIR}")
    }
    /// This environment's values file, relative to the generated tree.
    pub fn values_file(&self) -> String {
        env_path(ENV_VALUES, self.environment())
    }
    /// The values file relative to the chart directory (ArgoCD `valueFiles`):
    /// the chart directory and the values file share their parent.
    pub fn values_file_from_chart(&self) -> String {
        let parent = CHART_DIR.rsplit_once('/').map_or("", |(p, _)| p);
        let file = self.values_file();
        format!("../{}", file.strip_prefix(&format!("{parent}/")).unwrap_or(&file))
    }

    // --- ArgoCD ------------------------------------------------------------

    pub fn argocd_app(&self) -> String {
        self.prefix()
    }
    pub fn argocd_project(&self) -> String {
        self.prefix()
    }
    pub fn argocd_platform_project(&self) -> String {
        format!("{}-platform", self.prefix())
    }
    /// The app of apps: syncs `generated/argocd/<env>/`.
    pub fn argocd_root_app(&self) -> String {
        format!("{}-root", self.prefix())
    }
    pub fn argocd_dir(&self) -> String {
        format!("{GENERATED_DIR}/argocd/{}", self.environment())
    }
    /// ArgoCD's repository Secret (its credential for a private repository)
    /// and the SecretStore beside it in ArgoCD's namespace.
    pub fn argocd_repository_secret(&self) -> String {
        format!("{}-repository", self.project())
    }
    pub fn argocd_secret_store(&self) -> String {
        format!("{}-secrets-manager", self.project())
    }
    /// The Role the release job's Kubernetes group is bound to in ArgoCD's namespace.
    pub fn release_role(&self) -> String {
        format!("{}-release", self.project())
    }
    pub fn repo_url(&self) -> String {
        format!("https://github.com/{}/{}.git", self.cfg.project.github_owner.value, self.cfg.project.github_repo.value)
    }

    // --- who talks to whom ---------------------------------------------------

    /// The network and mesh policy of a service, decided here once.
    pub fn links(&self, s: &Service) -> Links {
        let name = s.name.value.as_str();
        let deployed = |n: &str| self.env.services.iter().any(|x| x.name.value == n);
        match name {
            API => Links { from_ingress: true, metrics: true, database: true, https: true, ..Links::default() },
            PROCESSOR => Links {
                from_services: if deployed(COLLECTOR) { vec![COLLECTOR.into()] } else { vec![] },
                metrics: true,
                database: true,
                https: true,
                ..Links::default()
            },
            COLLECTOR => Links {
                to_services: if deployed(PROCESSOR) { vec![PROCESSOR.into()] } else { vec![] },
                https: true,
                ..Links::default()
            },
            // A service this repository does not bundle: reachable from the
            // namespace on its port, HTTPS out; no database, no scrape.
            _ => Links { from_namespace: s.kind.value == ServiceKind::Deployment, https: true, ..Links::default() },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::Source;

    fn cfg(text: &str) -> Config {
        crate::config::load(Source { name: "t.toml".into(), text: text.into() }).unwrap()
    }

    const BASE: &str = r#"
[project]
name = "acme-health"
domain = "acme.test"
api_host = "api.acme.test"
github = { owner = "acme", repo = "health", owner_id = 11, repo_id = 22 }
[defaults.aws]
region = "eu-west-1"
account_id = "210987654321"
[defaults.services.oura-collector]
kind = "cronjob"
schedule = "*/5 * * * *"
[defaults.services.data-processor]
kind = "deployment"
[defaults.services.api-service]
kind = "deployment"
[environments.dev]
"#;

    #[test]
    fn irsa_subjects_name_the_service_accounts_the_chart_creates() {
        let c = cfg(BASE);
        let n = Names::of(&c, &c.environments[0]);
        let collector = n.irsa_for(COLLECTOR).unwrap();
        assert_eq!(collector.service_account, n.service_account(COLLECTOR));
        assert_eq!(
            (collector.namespace.as_str(), collector.service_account.as_str()),
            ("acme-health", "acme-health-oura-collector")
        );
        assert_eq!(collector.role_arn, "arn:aws:iam::210987654321:role/acme-health-dev-oura-collector");
        assert!(n.irsa_for(DB_INIT).is_some() && n.irsa_for(API).is_some() && n.irsa_for(PROCESSOR).is_some());
    }

    #[test]
    fn the_chart_directory_does_not_depend_on_the_project() {
        let c = cfg(BASE);
        let n = Names::of(&c, &c.environments[0]);
        assert_eq!(n.chart_path(), "generated/helm/myhealth");
        assert_eq!(n.release(), "acme-health");
    }

    #[test]
    fn load_balancer_names_fit_aws_limits() {
        let c = cfg(&BASE
            .replace("acme-health", "a-long-project-name1")
            .replace("[environments.dev]", "[environments.production-east]"));
        let n = Names::of(&c, &c.environments[0]);
        assert!(n.load_balancer().len() <= 32 && !n.load_balancer().ends_with('-'), "{}", n.load_balancer());
    }
}
