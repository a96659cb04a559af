//! Pushing the built OCI layouts to a registry (OCI distribution API through
//! `oci-client`), with the credentials users already have: a Docker
//! credential helper or `auths` entry in `~/.docker/config.json`, else for
//! ECR the AWS CLI's `aws ecr get-login-password`, else anonymous. Registries
//! on 127.0.0.1/localhost are spoken to over plain HTTP (test registries).

use std::path::Path;

use anyhow::{Context, Result, bail};
use base64::Engine;
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};

use crate::process::Process;

const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// One pushed image.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Pushed {
    pub service: String,
    /// `registry/repository`, without tag or digest.
    pub repository: String,
    pub tag: String,
    pub digest: String,
    /// The tag was already there with this digest: nothing was uploaded.
    pub already_present: bool,
}

fn is_local(host: &str) -> bool {
    let h = host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host);
    h == "127.0.0.1" || h == "localhost" || h == "[::1]"
}

/// The region of an ECR registry host (`<account>.dkr.ecr.<region>.amazonaws.com`).
fn ecr_region(host: &str) -> Option<&str> {
    let rest = host.split_once(".dkr.ecr.")?.1;
    rest.strip_suffix(".amazonaws.com").or_else(|| rest.strip_suffix(".amazonaws.com.cn"))
}

/// Docker's `config.json` (`$DOCKER_CONFIG`, else `~/.docker/`), if there is one.
fn docker_config() -> Option<String> {
    let dir = std::env::var_os("DOCKER_CONFIG")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".docker")));
    dir.and_then(|d| std::fs::read_to_string(d.join("config.json")).ok())
}

/// Whether [`credentials`] has somewhere to find them for `host` without
/// asking anything: a local registry, one that is not ECR (anonymous), a
/// Docker helper or `auths` entry, or the AWS CLI on PATH for ECR.
pub fn has_credentials(host: &str, aws_cli: bool) -> bool {
    let docker = docker_config().and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok()).is_some_and(|c| {
        !c["credHelpers"][host].is_null() || !c["credsStore"].is_null() || !c["auths"][host].is_null()
    });
    is_local(host) || docker || ecr_region(host).is_none() || aws_cli
}

/// Credentials for `host`, the way `docker push` would find them, then ECR's login password.
pub fn credentials(host: &str) -> Result<RegistryAuth> {
    if let Some(text) = docker_config() {
        let cfg: serde_json::Value = serde_json::from_str(&text).context("`~/.docker/config.json` is not JSON")?;
        let helper = cfg["credHelpers"][host].as_str().or(cfg["credsStore"].as_str());
        if let Some(helper) = helper {
            if let Some(auth) = from_helper(helper, host)? {
                return Ok(auth);
            }
        }
        if let Some(encoded) = cfg["auths"][host]["auth"].as_str() {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .context("an `auths` entry of `~/.docker/config.json` is not base64")?;
            let text = String::from_utf8(decoded).context("an `auths` entry is not UTF-8")?;
            let (user, pass) = text.split_once(':').context("an `auths` entry is not `user:password`")?;
            return Ok(RegistryAuth::Basic(user.to_string(), pass.to_string()));
        }
    }
    if let Some(region) = ecr_region(host) {
        // The password comes on stdout, never in the printed command.
        let login = Process::new("aws").args(["ecr", "get-login-password", "--region", region]);
        let out = login.output().context(
            "cannot run `aws ecr get-login-password` (install the AWS CLI, or configure a Docker credential helper)",
        )?;
        if !out.status.success() {
            bail!("`{login}` failed: are you logged in to AWS?\n{}", String::from_utf8_lossy(&out.stderr).trim());
        }
        return Ok(RegistryAuth::Basic("AWS".into(), String::from_utf8_lossy(&out.stdout).trim().to_string()));
    }
    Ok(RegistryAuth::Anonymous)
}

/// `docker-credential-<helper> get`: the protocol Docker's helpers speak.
fn from_helper(helper: &str, host: &str) -> Result<Option<RegistryAuth>> {
    let program = format!("docker-credential-{helper}");
    let out = match Process::new(&program).arg("get").output_with_stdin(host.as_bytes()) {
        Ok(out) => out,
        Err(e) if e.not_started() => {
            bail!("`~/.docker/config.json` names the credential helper `{program}`, which is not on PATH")
        }
        Err(e) => return Err(e.into()),
    };
    if !out.status.success() {
        // "credentials not found": fall through to the other sources.
        return Ok(None);
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).context("the credential helper printed no JSON")?;
    match (v["Username"].as_str(), v["Secret"].as_str()) {
        (Some("<token>"), Some(token)) => Ok(Some(RegistryAuth::Bearer(token.to_string()))),
        (Some(user), Some(secret)) => Ok(Some(RegistryAuth::Basic(user.to_string(), secret.to_string()))),
        _ => Ok(None),
    }
}

/// Push the OCI layout at `layout` (as written by `image::build`) to
/// `repository:tag`. The manifest goes up byte for byte, so the registry's
/// digest is the one `build` printed. An immutable tag that already names
/// this digest is left alone; one naming another digest is an error.
pub fn push(layout: &Path, service: &str, repository: &str, tag: &str, auth: &RegistryAuth) -> Result<Pushed> {
    let index: serde_json::Value = serde_json::from_slice(
        &std::fs::read(layout.join("index.json"))
            .with_context(|| format!("no image at `{}`: run `myhealthctl build` first", layout.display()))?,
    )?;
    let digest = index["manifests"][0]["digest"].as_str().context("index.json names no manifest")?.to_string();
    let blob = |d: &str| -> Result<Vec<u8>> {
        let p = layout.join("blobs/sha256").join(d.trim_start_matches("sha256:"));
        std::fs::read(&p).with_context(|| format!("missing blob `{}`", p.display()))
    };
    let manifest_bytes = blob(&digest)?;
    let manifest: serde_json::Value = serde_json::from_slice(&manifest_bytes)?;
    let mut blobs: Vec<String> = vec![manifest["config"]["digest"].as_str().context("manifest has no config")?.into()];
    for l in manifest["layers"].as_array().into_iter().flatten() {
        blobs.push(l["digest"].as_str().context("a layer has no digest")?.into());
    }

    let reference: Reference =
        format!("{repository}:{tag}").parse().with_context(|| format!("`{repository}:{tag}` is no image reference"))?;
    let host = reference.resolve_registry().to_string();
    let protocol = if is_local(&host) { ClientProtocol::Http } else { ClientProtocol::Https };
    let client = Client::new(ClientConfig { protocol, ..Default::default() });
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        client.auth(&reference, auth, RegistryOperation::Push).await.with_context(|| format!("cannot log in to `{host}`"))?;
        match client.fetch_manifest_digest(&reference, auth).await {
            Ok(existing) if existing == digest => {
                return Ok(Pushed {
                    service: service.into(),
                    repository: repository.into(),
                    tag: tag.into(),
                    digest: digest.clone(),
                    already_present: true,
                });
            }
            Ok(existing) => bail!(
                "`{repository}:{tag}` already names another image ({existing}); tags are immutable — commit your changes and build again"
            ),
            Err(_) => {}
        }
        for d in &blobs {
            if !client.blob_exists(&reference, d).await.unwrap_or(false) {
                client.push_blob(&reference, blob(d)?, d).await.with_context(|| format!("cannot upload {d} to `{host}`"))?;
            }
        }
        client
            .push_manifest_raw(&reference, manifest_bytes.clone(), http::HeaderValue::from_static(MANIFEST))
            .await
            .with_context(|| format!("cannot push the manifest of `{repository}:{tag}`"))?;
        Ok(Pushed { service: service.into(), repository: repository.into(), tag: tag.into(), digest, already_present: false })
    })
}
