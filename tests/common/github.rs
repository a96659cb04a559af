//! The GitHub stand-in (tests/github/github-server, built from GitHub's REST
//! description) on 127.0.0.1: a repository's settings from a state file and,
//! given a bare repository, its pull requests opened and merged there.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::root;

/// The token it takes (GH_TOKEN).
pub const TOKEN: &str = "github-stand-in-token";

pub struct GitHub {
    child: Child,
    pub url: String,
}

impl GitHub {
    /// Serving the repositories of `state` (JSON; read at every request) and,
    /// with `git_dir`, the pull requests of that bare repository.
    pub fn start(state: &Path, git_dir: Option<&Path>) -> GitHub {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let py = root().join(".venv/bin/python");
        let mut c = Command::new(if py.exists() { py } else { "python3".into() });
        c.arg(root().join("tests/github/github-server"));
        c.args(["--port", &port.to_string(), "--token", TOKEN, "--state"]).arg(state);
        if let Some(g) = git_dir {
            c.arg("--git-dir").arg(g);
        }
        let child = c.stdout(Stdio::null()).spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the GitHub stand-in did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        GitHub { child, url: format!("http://127.0.0.1:{port}") }
    }

    /// A request as a reviewer's client makes it (`curl`, the token, an
    /// empty JSON body): its status and JSON body.
    pub fn call(&self, method: &str, path: &str) -> (u16, Value) {
        let out = Command::new("curl")
            .args(["-s", "-w", "\n%{http_code}", "-X", method, "-H", &format!("Authorization: Bearer {TOKEN}")])
            .args(["-H", "Content-Type: application/json", "-d", "{}"])
            .arg(format!("{}{path}", self.url))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let (body, code) = text.rsplit_once('\n').unwrap();
        (code.parse().unwrap(), serde_json::from_str(body).unwrap_or(Value::Null))
    }
}

impl Drop for GitHub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
