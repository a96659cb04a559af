//! `myhealthctl build [SERVICE…]`: compile the bundled services (one cargo
//! run, the `dist` profile) and write a reproducible OCI image layout per
//! service under `target/images/<service>/` — no container daemon involved
//! (`ops::images`). Prints each image's digest and size;
//! `target/images/images.json` lists them for `push`.

use std::path::PathBuf;

use anyhow::bail;
use clap::Args;

use crate::args::Global;
use crate::exit::Outcome;
use crate::ops::images;
use crate::project::Project;

#[derive(Args, Debug)]
pub struct BuildCmd {
    /// Services to build [default: every service in the config]
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,
    /// CA certificates to put in the images
    #[arg(long, value_name = "FILE", default_value = "/etc/ssl/certs/ca-certificates.crt")]
    pub ca_bundle: PathBuf,
    /// Print the built images as JSON
    #[arg(long)]
    pub json: bool,
}

impl BuildCmd {
    pub fn run(self, g: &Global) -> anyhow::Result<Outcome> {
        let p = Project::locate(g)?;
        let cfg = p.read()?;
        let all = cfg.service_names();
        for s in &self.services {
            if !all.contains(s) {
                bail!(
                    "`{s}` is not a service of `{}`; services: {}",
                    p.display,
                    all.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                );
            }
        }
        let services = if self.services.is_empty() { all } else { self.services.clone() };
        for s in &services {
            if !p.is_bundled(s) {
                bail!("service `{s}` is not bundled: there is no crate `services/{s}/` to build");
            }
        }
        images::compile(&images::cargo_command(&p, &cfg))?;
        let built = images::package(&p, &cfg, &services, &self.ca_bundle, &p.images_dir())?;
        if self.json {
            crate::outln!("{}", serde_json::to_string_pretty(&built)?);
        } else {
            for b in &built {
                crate::outln!(
                    "{:<16} {}  {:>6.1} MiB  {}",
                    b.service,
                    b.digest,
                    b.size as f64 / 1048576.0,
                    b.layout.display()
                );
            }
        }
        Ok(Outcome::Ok)
    }
}
