//! The AWS names of an environment: ECR hosts and repositories, IAM roles
//! (IRSA bindings, service roles), the database, Secrets Manager secrets and
//! the Kubernetes Secrets they become, the ingress path, the names the access
//! root scopes the apply role to, and the Terraform state.

use super::*;

impl<'a> Names<'a> {
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
}
