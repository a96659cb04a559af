//! The values of the secrets the platform generates (the API's JWT signing
//! key, Grafana's admin and reader passwords): written by `apply` after
//! Terraform, as the apply role, into each generated secret that has no
//! value yet — never by Terraform. A Terraform-managed secret version is
//! read back on every refresh (`GetSecretValue`), so every plan would need
//! to decrypt every secret; here the apply role may write a value but never
//! read one, and the plan role sees only names (docs/security.md).
//!
//! Through the AWS CLI (as the ECR login is): its credential chain is the
//! one the workflows configure. A value travels only on the CLI's stdin —
//! never an argument, a file or a log line.

use anyhow::{Context, bail};
use serde::Serialize;

use crate::config::Config;
use crate::config::model::Environment;
use crate::names::Names;
use crate::process::Process;

/// Length of a generated value: 64 letters and digits (≈ 381 bits).
const LENGTH: usize = 64;

/// What became of one generated secret.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Seeded {
    pub secret: String,
    /// A value was written now (`false`: it had one).
    pub written: bool,
}

/// Give every generated secret of `env` that has no current value one.
pub fn seed(cfg: &Config, env: &Environment) -> anyhow::Result<Vec<Seeded>> {
    let n = Names::of(cfg, env);
    let region = &env.aws.region.value;
    let mut out = Vec::new();
    for s in n.created_secrets().into_iter().filter(|s| s.generate) {
        let written = if has_value(&s.name, region)? {
            false
        } else {
            put(&s.name, region, &random_value()?)?;
            true
        };
        out.push(Seeded { secret: s.name, written });
    }
    Ok(out)
}

/// Whether the secret has a current version (`DescribeSecret`: the stages of
/// its versions; no value is read).
fn has_value(name: &str, region: &str) -> anyhow::Result<bool> {
    let out = aws()
        .args(["secretsmanager", "describe-secret", "--secret-id", name, "--region", region, "--output", "json"])
        .output()
        .context("cannot run the AWS CLI (`aws`): install it to write the generated secrets")?;
    if !out.status.success() {
        bail!("cannot describe the secret `{name}`: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("`aws secretsmanager describe-secret` printed no JSON")?;
    Ok(v["VersionIdsToStages"].as_object().is_some_and(|m| {
        m.values().any(|stages| stages.as_array().is_some_and(|a| a.iter().any(|s| s == "AWSCURRENT")))
    }))
}

fn put(name: &str, region: &str, value: &str) -> anyhow::Result<()> {
    let out = aws()
        .args(["secretsmanager", "put-secret-value", "--secret-id", name, "--region", region, "--output", "json"])
        // The value on stdin: never in the process list, a file or a printed command.
        .args(["--secret-string", "file:///dev/stdin"])
        .output_with_stdin(value.as_bytes())
        .context("cannot run the AWS CLI (`aws`): install it to write the generated secrets")?;
    if !out.status.success() {
        bail!("cannot write the value of `{name}`: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

fn aws() -> Process {
    // No pager: the output is read, not shown.
    Process::new("aws").env("AWS_PAGER", "")
}

/// `LENGTH` letters and digits from the OS's random source (rejection
/// sampling: every character equally likely).
fn random_value() -> anyhow::Result<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(LENGTH);
    let mut buf = [0u8; 128];
    while out.len() < LENGTH {
        getrandom::fill(&mut buf).map_err(|e| anyhow::anyhow!("no random source: {e}"))?;
        for b in buf {
            // 248 = 4 × 62: the bytes above it would favour the first letters.
            if b < 248 && out.len() < LENGTH {
                out.push(ALPHABET[(b % 62) as usize] as char);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn values_are_long_alphanumeric_and_differ() {
        let (a, b) = (super::random_value().unwrap(), super::random_value().unwrap());
        assert_eq!(a.len(), super::LENGTH);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()), "{a}");
        assert_ne!(a, b);
    }
}
