//! `myhealthctl deploy ENV`: the whole way from a commit to a running
//! environment (`ops::deploy`) — through ArgoCD where it manages the
//! release (the release record committed and pushed, the Application
//! synced), else with Helm: the steps are worked out first, then
//! `--dry-run` prints them (`--json`: as data) or a run executes them — the
//! same values, so what is shown is what runs.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::args::{Global, InitArgs, TreeArgs};
use crate::exit::Outcome;
use crate::ops::deploy::{Deploy, Options};
use crate::project::Project;

#[derive(Args, Debug)]
pub struct DeployCmd {
    /// The environment to deploy
    #[arg(value_name = "ENV")]
    pub env: String,
    #[command(flatten)]
    pub args: TreeArgs,
    /// Apply the Terraform plan without asking (required to deploy a production environment unattended)
    #[arg(long)]
    pub yes: bool,
    /// Print the ordered steps and the exact commands, run nothing
    #[arg(long)]
    pub dry_run: bool,
    /// With `--dry-run`: the steps as JSON (each with the command line it runs)
    #[arg(long, requires = "dry_run")]
    pub json: bool,
    /// Push and roll out this service only; the others keep their deployed images (cargo still compiles every bundled service: the digests must not depend on which were asked for)
    #[arg(long, value_name = "SERVICE")]
    pub only: Option<String>,
    /// No Terraform: deploy the application onto the existing infrastructure
    #[arg(long)]
    pub skip_infra: bool,
    /// No compiling: push and deploy the images `myhealthctl build` already wrote
    #[arg(long)]
    pub skip_build: bool,
    /// Infrastructure only: no images, no Helm release, no smoke test
    #[arg(long, conflicts_with_all = ["only", "skip_build", "skip_infra"])]
    pub skip_app: bool,
    /// Push to this registry (`host[:port]`) instead of the environment's ECR
    #[arg(long, value_name = "HOST")]
    pub registry: Option<String>,
    /// Smoke-test this base URL [default: the Terraform output `api_url`, else `https://<api_gateway.host>`]
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Use this kubeconfig context [default: a kubeconfig for the environment's cluster from `aws eks update-kubeconfig`]
    #[arg(long, value_name = "CONTEXT")]
    pub kube_context: Option<String>,
    /// Bounds the whole run: no step starts after it, and every wait (a release pull request's merge, ArgoCD's sync, the smoke test) gets only what is left; Helm's own wait is at most 10m of it
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = helm_duration)]
    pub timeout: String,
    /// How long the smoke test retries `/health` before it counts as failed (seconds)
    #[arg(long, value_name = "SECONDS", default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub smoke_timeout: u64,
    /// ArgoCD's API of the environment's cluster, for environments whose release ArgoCD manages (URL or host; token in `ARGOCD_AUTH_TOKEN`)
    #[arg(long, env = "ARGOCD_SERVER", value_name = "URL")]
    pub argocd_server: Option<String>,
    /// Accept argocd-server's self-signed certificate (behind `kubectl port-forward`)
    #[arg(long, env = "ARGOCD_INSECURE")]
    pub argocd_insecure: bool,
    /// The git remote ArgoCD reads: the release commit is pushed there, to `argocd.target_revision`
    #[arg(long, value_name = "REMOTE", default_value = "origin")]
    pub git_remote: String,
    /// CA certificates to put in the images
    #[arg(long, value_name = "FILE", default_value = "/etc/ssl/certs/ca-certificates.crt")]
    pub ca_bundle: PathBuf,
    #[command(flatten)]
    pub init: InitArgs,
}

/// The longest Helm waits for a release to become ready (its `--timeout`).
const HELM_WAIT_SECONDS: u64 = 600;

/// A duration Helm takes (`90s`, `10m`, `1h`), at most a day.
fn helm_duration(s: &str) -> Result<String, String> {
    seconds(s).map(|_| s.to_string())
}

/// Its seconds.
fn seconds(s: &str) -> Result<u64, String> {
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let secs = match (n.parse::<u64>(), unit) {
        (Ok(n), "s") => n,
        (Ok(n), "m") => n * 60,
        (Ok(n), "h") => n * 3600,
        _ => return Err(format!("`{s}` is not a duration like `90s`, `10m` or `1h`")),
    };
    if !(1..=86_400).contains(&secs) {
        return Err(format!("`{s}` must be between 1s and 24h"));
    }
    Ok(secs)
}

impl DeployCmd {
    pub fn run(self, g: &Global) -> anyhow::Result<Outcome> {
        let p = Project::locate(g)?;
        let cfg = p.load()?;
        let t = p.target(&cfg, &self.env, &self.args)?;
        let options = Options {
            yes: self.yes,
            only: self.only,
            skip_infra: self.skip_infra,
            skip_build: self.skip_build,
            skip_app: self.skip_app,
            registry: self.registry,
            endpoint: self.endpoint,
            kube_context: self.kube_context,
            review_timeout: Duration::from_secs(seconds(&self.timeout).map_err(anyhow::Error::msg)?),
            // Helm waits for readiness at most HELM_WAIT of the run.
            timeout: if seconds(&self.timeout).map_err(anyhow::Error::msg)? <= HELM_WAIT_SECONDS {
                self.timeout
            } else {
                format!("{}m", HELM_WAIT_SECONDS / 60)
            },
            smoke_timeout: Duration::from_secs(self.smoke_timeout),
            ca_bundle: self.ca_bundle,
            init: self.init,
            argocd_server: self.argocd_server,
            argocd_insecure: self.argocd_insecure,
            git_remote: self.git_remote,
        };
        let deploy = Deploy::plan(&p, &t, &options)?;
        match (self.dry_run, self.json) {
            (true, true) => crate::outln!("{}", serde_json::to_string_pretty(&deploy)?),
            (true, false) => crate::out!("{}", deploy.show()),
            _ => return deploy.run(&p, &t),
        }
        Ok(Outcome::Ok)
    }
}
