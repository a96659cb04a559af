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

impl IrsaBinding {
    /// The `sub` claim STS must see: the only identity the role trusts.
    pub fn subject(&self) -> String {
        format!("system:serviceaccount:{}:{}", self.namespace, self.service_account)
    }
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

/// A Kubernetes Secret the chart has External Secrets write, and where each key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct K8sSecret {
    pub name: String,
    pub namespace: String,
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
    /// The mesh identity of a workload (Istio AuthorizationPolicy principals).
    pub fn principal(&self, namespace: &str, service_account: &str) -> String {
        format!("cluster.local/ns/{namespace}/sa/{service_account}")
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
        format!("helm/values-{}.yaml", self.environment())
    }
    /// The values file relative to the chart directory (ArgoCD `valueFiles`).
    pub fn values_file_from_chart(&self) -> String {
        format!("../values-{}.yaml", self.environment())
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

    // --- images ------------------------------------------------------------

    pub fn ecr_host(&self) -> String {
        format!("{}.dkr.ecr.{}.amazonaws.com", self.account(), self.region())
    }
    /// An image repository, relative to the registry (ECR's repository name):
    /// `<project>-<env>/<service>`, one set per environment, because ECR names
    /// are unique per registry and several environments may share an account
    /// (and so that an environment's roles can be scoped to its own images).
    pub fn ecr_repository(&self, service: &str) -> String {
        format!("{}/{service}", self.prefix())
    }
    /// The prefix of this environment's repositories (an IAM resource pattern ends in it).
    pub fn ecr_repository_prefix(&self) -> String {
        format!("{}/", self.prefix())
    }
    /// The ARN pattern of this environment's repositories.
    pub fn ecr_repositories_arn(&self) -> String {
        format!("arn:aws:ecr:{}:{}:repository/{}*", self.region(), self.account(), self.ecr_repository_prefix())
    }
    /// Where this environment's released images come from: the first
    /// environment's registry (build.yml pushes there; every later one copies
    /// the recorded digests from it). `None` for the first itself.
    pub fn release_source(&self) -> Option<Names<'a>> {
        let first = self.cfg.environments.first()?;
        (first.name.value != self.env.name.value).then(|| Names::of(self.cfg, first))
    }
    /// Release roles of the environments in other accounts that copy images
    /// from this one (its repositories' policy lets them pull).
    pub fn ecr_pull_principals(&self) -> Vec<String> {
        self.cfg
            .environments
            .iter()
            .map(|e| Names::of(self.cfg, e))
            .filter(|n| n.release_source().is_some_and(|src| src.environment() == self.environment()))
            .filter(|n| n.account() != self.account())
            .map(|n| n.github_role(GithubRole::Release))
            .collect()
    }
    /// The tag an image carries once a release record pins it (ECR's
    /// lifecycle policy never expires it): `release-<first 12 hex of the digest>`.
    pub fn release_tag(digest: &str) -> String {
        let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
        format!("{RELEASE_TAG_PREFIX}{}", &hex[..hex.len().min(12)])
    }

    // --- IAM ---------------------------------------------------------------

    pub fn role_arn(&self, role_name: &str) -> String {
        iam_role_arn(self.account(), role_name)
    }

    fn binding(&self, key: &str, namespace: &str, service_account: &str) -> IrsaBinding {
        let role_name = format!("{}-{key}", self.cluster());
        IrsaBinding {
            key: key.to_string(),
            namespace: namespace.to_string(),
            service_account: service_account.to_string(),
            role_arn: self.role_arn(&role_name),
            role_name,
        }
    }

    /// Every IRSA role of the environment, with the one subject it trusts.
    /// (The EBS CSI add-on's role is the eks module's own, see [`Names::ebs_csi`].)
    pub fn irsa(&self) -> Vec<IrsaBinding> {
        let ns = self.namespace();
        let mut out = vec![
            self.binding("external-secrets", EXTERNAL_SECRETS_NAMESPACE, EXTERNAL_SECRETS_SA),
            self.binding("cluster-autoscaler", KUBE_SYSTEM, CLUSTER_AUTOSCALER_SA),
            self.binding("aws-load-balancer-controller", KUBE_SYSTEM, LBC_SA),
        ];
        if self.db_services().next().is_some() {
            out.push(self.binding(DB_INIT, &ns, &self.service_account(DB_INIT)));
        }
        for s in &self.env.services {
            if self.service_needs_role(s) {
                out.push(self.binding(&s.name.value, &ns, &self.service_account(&s.name.value)));
            }
        }
        out
    }

    pub fn irsa_for(&self, key: &str) -> Option<IrsaBinding> {
        self.irsa().into_iter().find(|b| b.key == key)
    }

    pub fn ebs_csi(&self) -> IrsaBinding {
        self.binding("ebs-csi", KUBE_SYSTEM, EBS_CSI_SA)
    }

    /// A service gets an AWS role when it reads its tokens (the collector) or
    /// logs in to the database with IAM (the processor and the API).
    fn service_needs_role(&self, s: &Service) -> bool {
        s.name.value == COLLECTOR || self.db_role(&s.name.value).is_some()
    }

    // --- database ----------------------------------------------------------

    /// The bundled services that use PostgreSQL, each as its own role.
    pub fn db_services(&self) -> impl Iterator<Item = &Service> {
        self.env
            .services
            .iter()
            .filter(|s| s.kind.value == ServiceKind::Deployment && [PROCESSOR, API].contains(&s.name.value.as_str()))
    }
    /// The PostgreSQL role a service logs in as (IAM authentication), if it uses the database.
    pub fn db_role(&self, service: &str) -> Option<String> {
        self.db_services().any(|s| s.name.value == service).then(|| service.replace('-', "_"))
    }
    /// Whether the role may write (the processor owns the tables; the API reads).
    pub fn db_role_writes(&self, service: &str) -> bool {
        service == PROCESSOR
    }
    pub fn db_instance(&self) -> String {
        self.prefix()
    }
    /// The SSM parameter with the connection (host, port, dbname, master user, master secret ARN).
    pub fn db_parameter(&self) -> String {
        format!("/{}/database", self.prefix())
    }

    // --- secrets -----------------------------------------------------------

    /// A Kubernetes Secret of the release (written by an ExternalSecret).
    pub fn k8s_secret(&self, what: &str) -> String {
        self.release_object(what)
    }
    /// Database connection of the services (host, port, name, sslmode; no password: IAM).
    pub fn database_secret(&self) -> String {
        self.k8s_secret("database")
    }
    pub fn api_secret(&self) -> String {
        self.k8s_secret("api")
    }
    pub fn oura_secret(&self) -> String {
        self.k8s_secret("oura-client")
    }
    pub fn reader_secret(&self) -> String {
        self.k8s_secret("database-reader")
    }
    pub fn grafana_datasource_secret(&self) -> String {
        self.k8s_secret("grafana-datasource")
    }
    /// A service's `secret_env` (one Secret per service).
    pub fn service_env_secret(&self, service: &str) -> String {
        self.k8s_secret(&format!("{service}-env"))
    }
    pub fn grafana_admin_secret(&self) -> String {
        format!("{}-grafana-admin", self.project())
    }
    /// The SecretStores of a namespace.
    pub fn secrets_manager_store(&self) -> String {
        self.release_object("secrets-manager")
    }
    pub fn parameter_store(&self) -> String {
        self.release_object("parameter-store")
    }

    /// Every secret reference of a service's `secret_env`, with the Terraform key it is created under.
    pub fn service_secret_refs(&self, s: &'a Service) -> Vec<(String, &'a SecretRef)> {
        s.secret_env
            .iter()
            .map(|(var, r)| (format!("{}_{}", s.name.value.replace('-', "_"), var.value.to_lowercase()), &r.value))
            .collect()
    }

    /// Every secret the environment's Terraform creates (by name; references
    /// by ARN live elsewhere), in a stable order: the platform's, then each
    /// service's `secret_env`. `generate`: myhealthctl writes its value after
    /// an apply (`ops::secrets`); the others are the operator's to set.
    pub fn created_secrets(&self) -> Vec<CreatedSecret> {
        let mut out: Vec<CreatedSecret> = self
            .env
            .secrets
            .all()
            .into_iter()
            .filter(|(_, r)| !r.value.is_arn())
            .map(|(key, r)| {
                // By key, never by position: a reordered list cannot give a secret another's description.
                let (_, description, generate) = PLATFORM_SECRETS
                    .iter()
                    .find(|(k, _, _)| *k == key)
                    .expect("every secret of the model is described");
                CreatedSecret {
                    key: key.to_string(),
                    name: r.value.0.clone(),
                    description: description.to_string(),
                    generate: *generate,
                }
            })
            .collect();
        for s in &self.env.services {
            for (key, r) in self.service_secret_refs(s) {
                if !r.is_arn() {
                    let description = format!("{} of {} (set by the operator)", key, s.name.value);
                    out.push(CreatedSecret { key, name: r.0.clone(), description, generate: false });
                }
            }
        }
        if let Some(r) = self.env.argocd.repository_credential.as_ref().filter(|r| !r.value.is_arn()) {
            out.push(CreatedSecret {
                key: "argocd_repository".into(),
                name: r.value.0.clone(),
                description: "ArgoCD's read credential for this repository (set by the operator)".into(),
                generate: false,
            });
        }
        out
    }
    /// Secrets referenced by ARN (created elsewhere), sorted.
    pub fn external_secret_arns(&self) -> Vec<String> {
        let mut arns: Vec<String> =
            self.env.secrets.all().iter().filter(|(_, r)| r.value.is_arn()).map(|(_, r)| r.value.0.clone()).collect();
        for s in &self.env.services {
            arns.extend(self.service_secret_refs(s).into_iter().filter(|(_, r)| r.is_arn()).map(|(_, r)| r.0.clone()));
        }
        arns.extend(
            self.env.argocd.repository_credential.iter().filter(|r| r.value.is_arn()).map(|r| r.value.0.clone()),
        );
        arns.sort();
        arns.dedup();
        arns
    }

    // --- ingress -----------------------------------------------------------

    /// The internal load balancer and its target group (32 characters at most).
    pub fn load_balancer(&self) -> String {
        let mut n = format!("{}-ingress", self.prefix());
        n.truncate(32);
        n.trim_end_matches('-').to_string()
    }
    pub fn target_group(&self) -> String {
        self.load_balancer()
    }
    /// Where the load balancer's targets are registered from: (namespace, Service, Service port).
    pub fn ingress_backend(&self) -> (String, String, u16) {
        if self.env.istio.enabled.value {
            (ISTIO_NAMESPACE.into(), GATEWAY_RELEASE.into(), GATEWAY_HTTP_PORT)
        } else {
            let port = self.env.services.iter().find(|s| s.name.value == API).map_or(8080, |s| s.port.value);
            (self.namespace(), self.workload(API), port)
        }
    }
    /// The pod port the target group sends to (targets are pod IPs).
    pub fn ingress_target_port(&self) -> u16 {
        if self.env.istio.enabled.value { GATEWAY_HTTP_TARGET_PORT } else { self.ingress_backend().2 }
    }
    /// TLS between API Gateway and the load balancer: with a custom domain, its
    /// ACM certificate serves the load balancer's listener too.
    pub fn backend_tls(&self) -> bool {
        self.env.api_gateway.custom_domain.value
    }
    /// The load balancer's listener port (what the VPC link's security group allows).
    pub fn ingress_listener_port(&self) -> u16 {
        if self.backend_tls() { 443 } else { 80 }
    }
    /// This environment's API host (`api_gateway.host`): its custom domain, certificate and smoke test.
    pub fn api_host(&self) -> String {
        self.env.api_gateway.host.value.clone()
    }

    // --- AWS names the access root scopes the apply to --------------------------

    /// CloudWatch log groups the environment's Terraform creates (RDS creates
    /// its exports' groups itself, under its identifier): the apply may
    /// manage exactly these.
    pub fn log_group(&self, which: LogGroup) -> String {
        match which {
            LogGroup::Cluster => format!("/aws/eks/{}/cluster", self.cluster()),
            LogGroup::FlowLogs => format!("/aws/vpc/{}/flow-logs", self.prefix()),
            LogGroup::ApiAccess => format!("/aws/apigateway/{}/access", self.prefix()),
            LogGroup::Postgres => format!("/aws/rds/instance/{}/postgresql", self.db_instance()),
            LogGroup::PostgresUpgrade => format!("/aws/rds/instance/{}/upgrade", self.db_instance()),
        }
    }
    /// KMS aliases of the environment's keys.
    pub fn kms_alias(&self, which: KmsAlias) -> String {
        match which {
            KmsAlias::Logs => format!("alias/{}-logs", self.prefix()),
            KmsAlias::Secrets => format!("alias/{}-secrets", self.prefix()),
            KmsAlias::ClusterSecrets => format!("alias/{}-eks-secrets", self.cluster()),
        }
    }
    /// Roles the environment hands to AWS services (the apply may pass only these).
    pub fn service_role(&self, which: ServiceRole) -> String {
        match which {
            ServiceRole::Cluster => format!("{}-cluster", self.cluster()),
            ServiceRole::Node => format!("{}-node", self.cluster()),
            ServiceRole::FlowLogs => format!("{}-vpc-flow-logs", self.prefix()),
            ServiceRole::RdsMonitoring => format!("{}-rds-monitoring", self.db_instance()),
        }
    }
    /// The Kubernetes group the release role acts as in the cluster (its
    /// access entry): bound to ArgoCD's Applications, nothing else.
    pub fn release_kubernetes_group(&self) -> String {
        format!("{}-release", self.project())
    }
    /// The permissions boundary every role the apply creates carries.
    pub fn permissions_boundary(&self) -> String {
        format!("{}-workloads-boundary", self.prefix())
    }
    pub fn permissions_boundary_arn(&self) -> String {
        format!("arn:aws:iam::{}:policy/{}", self.account(), self.permissions_boundary())
    }
    /// The monthly AWS Budget.
    pub fn budget(&self) -> String {
        format!("{}-monthly", self.prefix())
    }
    /// The frontend's bucket (S3 names are global: the account makes it unique).
    pub fn frontend_bucket(&self) -> String {
        format!("{}-frontend-{}", self.prefix(), self.account())
    }

    // --- Terraform state ---------------------------------------------------

    /// The environment's state object (the backend writes it; the apply role locks it).
    pub fn state_key(&self) -> String {
        format!("{}/{}/terraform.tfstate", self.project(), self.environment())
    }
    /// The access root's state object (an administrator's; no GitHub role reads it).
    pub fn access_state_key(&self) -> String {
        format!("{}/{}/access.tfstate", self.project(), self.environment())
    }
    /// The alias of the key the state is encrypted with (the bootstrap creates
    /// it; the backends name it, so S3 does not fall back to its own key).
    pub fn state_kms_alias(&self) -> String {
        format!("alias/{}", self.env.terraform.state_bucket.value)
    }

    // --- CI ----------------------------------------------------------------

    /// A GitHub role of this environment: `<project>-<env>-github-<kind>`.
    pub fn github_role_name(&self, role: GithubRole) -> String {
        format!("{}-github-{}", self.prefix(), role.suffix())
    }
    pub fn github_role(&self, role: GithubRole) -> String {
        self.role_arn(&self.github_role_name(role))
    }
    /// The GitHub environment a kind of job runs in: the only thing in the
    /// token GitHub issues that tells one job from another, so each role
    /// trusts its own (docs/security.md, "Who may assume what").
    pub fn github_environment(&self, e: GithubEnvironment) -> String {
        let env = self.environment();
        match e {
            GithubEnvironment::Plan => format!("{env}-plan"),
            GithubEnvironment::Infra => format!("{env}-infra"),
            GithubEnvironment::Replan => format!("{env}-replan"),
            GithubEnvironment::Release => env.to_string(),
        }
    }
    /// `repo:OWNER@OWNER_ID/REPO@REPO_ID` (immutable) or `repo:OWNER/REPO`:
    /// how the `sub` claim of this repository's tokens begins.
    pub fn github_subject_prefix(&self) -> String {
        github_subject_prefix(self.cfg)
    }
    /// The `sub` of a job that runs in `environment` (GitHub's rule: a job
    /// with an environment is named by it, whatever the event).
    pub fn github_subject(&self, e: GithubEnvironment) -> String {
        format!("{}:environment:{}", self.github_subject_prefix(), self.github_environment(e))
    }
    /// The subjects a role trusts: those of the GitHub environments whose jobs assume it.
    pub fn github_trusted_subjects(&self, role: GithubRole) -> Vec<String> {
        role.environments().iter().map(|e| self.github_subject(*e)).collect()
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
        assert_eq!(collector.subject(), "system:serviceaccount:acme-health:acme-health-oura-collector");
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
