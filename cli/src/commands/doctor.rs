//! `myhealthctl doctor [ENV]… [--github] [--aws] [--argocd-server URL]`:
//! the settings outside the repository the generated delivery path rests
//! on, checked read-only, each finding with its fix (`ops::doctor`). Exit 1
//! on any finding: terraform-apply.yml runs it first, so an apply fails
//! closed on a misconfigured repository.

use clap::Args;

use crate::args::Global;
use crate::exit::Outcome;
use crate::ops::{argocd, doctor, github};
use crate::project::Project;

#[derive(Args, Debug)]
pub struct DoctorCmd {
    /// Environments to check [default: all]
    #[arg(value_name = "ENV")]
    pub envs: Vec<String>,
    /// Check GitHub's settings (the default when no area is named)
    #[arg(long)]
    pub github: bool,
    /// Check the environments' GitHub roles in AWS (the AWS CLI's credentials)
    #[arg(long)]
    pub aws: bool,
    /// Check ArgoCD can read the repository (its API; token in ARGOCD_AUTH_TOKEN)
    #[arg(long, value_name = "URL", env = "ARGOCD_SERVER")]
    pub argocd_server: Option<String>,
    /// Accept argocd-server's self-signed certificate
    #[arg(long, env = "ARGOCD_INSECURE")]
    pub argocd_insecure: bool,
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
}

impl DoctorCmd {
    pub fn run(self, g: &Global) -> anyhow::Result<Outcome> {
        let p = Project::locate(g)?;
        let cfg = p.read()?;
        let envs = if self.envs.is_empty() {
            cfg.environments.iter().collect::<Vec<_>>()
        } else {
            self.envs.iter().map(|n| p.environment(&cfg, n)).collect::<anyhow::Result<Vec<_>>>()?
        };
        let mut report = doctor::Report::default();
        let everything = !self.github && !self.aws && self.argocd_server.is_none();
        if self.github || everything {
            doctor::github(&cfg, &envs, &github::GitHub::from_env()?, &mut report);
        }
        if self.aws {
            doctor::aws(&cfg, &envs, &mut report);
        }
        if let Some(server) = &self.argocd_server {
            doctor::argocd(&cfg, &argocd::Client::new(server, self.argocd_insecure)?, &mut report);
        }
        if self.json {
            crate::outln!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            crate::out!("{report}");
        }
        Ok(if report.findings.is_empty() { Outcome::Ok } else { Outcome::Differs })
    }
}
