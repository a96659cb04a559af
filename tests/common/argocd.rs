//! The ArgoCD stand-in (tests/argocd/argocd-server) on 127.0.0.1, for the
//! tests of `deploy`, `status` and `doctor`: one Application of a bare
//! repository, public or private (what the git host accepts, and the
//! directory of the argocd namespace's Secrets ArgoCD reads credentials from).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::root;

/// The token the stand-in takes (ARGOCD_AUTH_TOKEN).
pub const TOKEN: &str = "argocd-stand-in-token";

/// The password the git host accepts for a private repository (user `reader`).
pub const REPO_PASSWORD: &str = "read-only-token-of-the-repository";

pub struct ArgoCd {
    child: Child,
    pub url: String,
    pub log: PathBuf,
    /// Digests listed here run Degraded.
    pub sick: PathBuf,
    /// The argocd namespace's Secrets (for a private repository).
    pub secrets: PathBuf,
    _dir: tempfile::TempDir,
}

impl ArgoCd {
    /// `application` (a path in `repo`) of the public repository `repo`.
    pub fn start(repo: &Path, application: &str) -> ArgoCd {
        Self::spawn(repo, application, false)
    }

    /// The same of a private repository: ArgoCD reads it only with a
    /// repository Secret in `secrets` the git host accepts.
    pub fn start_private(repo: &Path, application: &str) -> ArgoCd {
        Self::spawn(repo, application, true)
    }

    fn spawn(repo: &Path, application: &str, private: bool) -> ArgoCd {
        let dir = tempfile::tempdir().unwrap();
        let port_file = dir.path().join("port");
        let (log, sick, secrets) =
            (dir.path().join("requests.log"), dir.path().join("sick"), dir.path().join("secrets"));
        std::fs::create_dir(&secrets).unwrap();
        let mut c = Command::new(root().join("tests/argocd/argocd-server"));
        c.arg("--repo").arg(repo).args(["--application", application, "--token", TOKEN]);
        c.arg("--port-file").arg(&port_file).arg("--log").arg(&log).arg("--sick").arg(&sick);
        if private {
            c.args(["--private", &format!("reader:{REPO_PASSWORD}")]).arg("--secrets").arg(&secrets);
        }
        let child = c
            .stdin(Stdio::null())
            .spawn()
            .expect("the argocd-server stand-in (python3 with PyYAML and helm-python-sdk: tests/run installs them)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !port_file.exists() {
            assert!(Instant::now() < deadline, "the argocd-server stand-in did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        let url = format!("http://127.0.0.1:{}", std::fs::read_to_string(&port_file).unwrap().trim());
        ArgoCd { child, url, log, sick, secrets, _dir: dir }
    }

    /// Every request it was sent, as it logged them.
    pub fn requests(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// Put the repository Secret External Secrets makes of `project`'s
    /// rendered ExternalSecret (`generated/argocd/dev/repository.yaml`) into
    /// the argocd namespace: its target's name, its namespace, its template's
    /// labels and data, merged with the keys of the Secrets Manager secret it
    /// extracts (`credential`).
    pub fn store_repository_secret(&self, project: &Path, credential: &Value) {
        let text = std::fs::read_to_string(project.join("generated/argocd/dev/repository.yaml")).unwrap();
        let docs: Vec<Value> = serde_yaml_ng::Deserializer::from_str(&text)
            .map(|d| serde::Deserialize::deserialize(d).unwrap())
            .filter(|d: &Value| !d.is_null())
            .collect();
        let es = docs.iter().find(|d| d["kind"] == "ExternalSecret").expect("an ExternalSecret of the repository");
        let template = &es["spec"]["target"]["template"];
        let mut data = template["data"].as_object().unwrap().clone();
        data.extend(credential.as_object().unwrap().clone());
        let secret = json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": es["spec"]["target"]["name"],
                "namespace": es["metadata"]["namespace"],
                "labels": template["metadata"]["labels"],
            },
            "stringData": data,
        });
        std::fs::write(self.secrets.join("repository.yaml"), serde_yaml_ng::to_string(&secret).unwrap()).unwrap();
    }

    /// The credential revoked: no repository Secret.
    pub fn remove_repository_secret(&self) {
        let _ = std::fs::remove_file(self.secrets.join("repository.yaml"));
    }
}

impl Drop for ArgoCd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
