//! `build` and `push` against a real registry: the bundled services are
//! built into OCI layouts without a container daemon, built twice to the
//! same digests, pushed to Debian's `docker-registry` on 127.0.0.1, pulled
//! back and inspected with `skopeo` (user, entrypoint, labels, digest), and
//! the pulled layer is complete: the binary starts with only the libraries
//! the image carries. Then `deploy dev --skip-infra --skip-build` of those
//! images, in throwaway projects, both ways:
//! - with Helm (`argocd.manage_release = false`), through STAND-INS for
//!   `helm` and `kubectl` (scripts that record their arguments; no cluster
//!   here) and for the API endpoint (a local `/health`): the release gets
//!   the registry's digests, a failed smoke test rolls it back, `--only`
//!   works, and every command a run issues is exactly one its
//!   `--dry-run --json` listed;
//! - through ArgoCD (the default), against a git remote and the STAND-IN
//!   argocd-server (tests/argocd/argocd-server: ArgoCD's API and its
//!   auto-sync rule, rendering the chart at the synced commit with the real
//!   Helm SDK): the release record is committed, pushed and synced; the live
//!   images are the recorded digests (`status`); a release ArgoCD reports
//!   degraded is reverted and the previous one synced.
//!
//! The records (`images/`, `deploy/`) go to a throwaway work directory
//! (`MYHEALTHCTL_WORK_DIR`): the suite leaves the project's `target/images`
//! and `target/deploy` pointing at nothing of the test's.

mod common;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::argocd::{ArgoCd, REPO_PASSWORD, TOKEN};
use common::github::{self, GitHub};
use common::{require_tool, root};

/// The work directory of every myhealthctl run here.
fn work() -> &'static Path {
    static W: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    W.get_or_init(|| tempfile::tempdir().unwrap()).path()
}

fn cmd() -> assert_cmd::Command {
    let mut c = common::cmd();
    c.env("MYHEALTHCTL_WORK_DIR", work());
    c
}

/// `docker-registry` on a free port of 127.0.0.1, storage in a temp dir.
struct Registry {
    child: Child,
    host: String,
    _dir: tempfile::TempDir,
}

impl Registry {
    fn start() -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
                dir.path().join("data").display()
            ),
        )
        .unwrap();
        let child = Command::new(require_tool("docker-registry"))
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "docker-registry did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Registry { child, host: format!("127.0.0.1:{port}"), _dir: dir }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn json(args: &[&str]) -> serde_json::Value {
    let out = cmd().args(args).output().unwrap();
    assert!(out.status.success(), "myhealthctl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn skopeo(args: &[&str]) -> String {
    let out = Command::new(require_tool("skopeo")).args(args).output().unwrap();
    assert!(out.status.success(), "skopeo {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Unpack a gzipped layer tar into `dest`.
fn unpack(layer: &Path, dest: &Path) {
    let file = std::fs::File::open(layer).unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    archive.set_preserve_permissions(true);
    archive.unpack(dest).unwrap();
}

fn find(dir: &Path, name_starts: &str) -> Option<PathBuf> {
    for e in std::fs::read_dir(dir).ok()? {
        let p = e.ok()?.path();
        if p.is_dir() {
            if let Some(f) = find(&p, name_starts) {
                return Some(f);
            }
        } else if p.file_name()?.to_string_lossy().starts_with(name_starts) {
            return Some(p);
        }
    }
    None
}

#[test]
fn images_are_reproducible_pushed_complete_and_deployed() {
    let first = json(&["build", "--json"]);
    let second = json(&["build", "--json"]);
    let digests = |v: &serde_json::Value| -> Vec<(String, String)> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|b| (b["service"].as_str().unwrap().into(), b["digest"].as_str().unwrap().into()))
            .collect()
    };
    assert_eq!(digests(&first).len(), 3, "{first:#}");
    assert_eq!(digests(&first), digests(&second), "two builds of the same binaries differ");
    for b in first.as_array().unwrap() {
        let size = b["size"].as_u64().unwrap();
        assert!(size < 20 * 1024 * 1024, "{} is {size} bytes (goal: under 20 MiB)", b["service"]);
    }

    let registry = Registry::start();
    let pushed = json(&["push", "dev", "--registry", &registry.host, "--json"]);
    let source = "https://github.com/eric-n/myhealth";
    let revision =
        String::from_utf8(Command::new("git").args(["rev-parse", "HEAD"]).current_dir(root()).output().unwrap().stdout)
            .unwrap();
    let pulls = tempfile::tempdir().unwrap();
    for (p, b) in pushed.as_array().unwrap().iter().zip(first.as_array().unwrap()) {
        let service = b["service"].as_str().unwrap();
        assert_eq!(p["digest"], b["digest"], "{service}: the registry's digest is the built one");
        assert_eq!(p["repository"], format!("{}/myhealth-dev/{service}", registry.host));
        let reference = format!("docker://{}:{}", p["repository"].as_str().unwrap(), p["tag"].as_str().unwrap());
        let inspect: serde_json::Value =
            serde_json::from_str(&skopeo(&["inspect", "--tls-verify=false", &reference])).unwrap();
        assert_eq!(inspect["Digest"], b["digest"], "{service}");
        let config: serde_json::Value =
            serde_json::from_str(&skopeo(&["inspect", "--tls-verify=false", "--config", &reference])).unwrap();
        let c = &config["config"];
        assert_eq!(c["User"], "65532:65532", "{service}: non-root");
        assert_eq!(c["Entrypoint"], serde_json::json!([format!("/usr/local/bin/{service}")]));
        assert_eq!(c["Labels"]["org.opencontainers.image.source"], source);
        assert_eq!(c["Labels"]["org.opencontainers.image.revision"], revision.trim());
        assert_eq!(config["os"], "linux");

        // Pull it back and start the binary with only what the image holds.
        let pulled = pulls.path().join(service);
        skopeo(&["copy", "--src-tls-verify=false", &reference, &format!("dir:{}", pulled.display())]);
        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(pulled.join("manifest.json")).unwrap()).unwrap();
        let layer = manifest["layers"][0]["digest"].as_str().unwrap().trim_start_matches("sha256:").to_string();
        let rootfs = pulls.path().join(format!("{service}-rootfs"));
        unpack(&pulled.join(layer), &rootfs);
        assert!(rootfs.join("etc/ssl/certs/ca-certificates.crt").is_file(), "{service}: CA certificates");
        assert!(std::fs::read_to_string(rootfs.join("etc/passwd")).unwrap().contains(":65532:65532:"));
        let loader = find(&rootfs, "ld-linux").unwrap_or_else(|| panic!("{service}: no dynamic loader in the image"));
        let libdir = find(&rootfs, "libc.so").unwrap().parent().unwrap().to_path_buf();
        let out = Command::new(&loader)
            .arg("--inhibit-cache")
            .arg("--library-path")
            .arg(&libdir)
            .arg(rootfs.join(format!("usr/local/bin/{service}")))
            .arg("--version")
            .env_clear()
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{service} does not start from its image: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(service),
            "{service}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    // Pushing again uploads nothing: the tags already name these digests.
    let again = json(&["push", "dev", "--registry", &registry.host, "--json"]);
    assert!(again.as_array().unwrap().iter().all(|p| p["already_present"] == true), "{again:#}");
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(work().join("images/pushed-dev.json")).unwrap()).unwrap();
    assert_eq!(record, again, "push records what it pushed for deploy");

    deploy_rolls_out_the_pushed_digests(&registry);
    deploy_through_argocd_commits_syncs_and_reverts(&registry, &first);
    deploy_through_a_pull_request(&registry, &first);
}

/// `deploy dev` where the branch ArgoCD follows is protected (the default,
/// `argocd.release_by = "pull_request"`): the record goes on a branch of
/// its own and into a pull request (GitHub's API), the working tree is put
/// back as it was, nothing is pushed to `main`; the deploy waits until a
/// reviewer merges it, then ArgoCD syncs the merge and the deploy judges it.
/// A pull request nobody merges in `--timeout` stops the deploy (exit 1),
/// saying so, with nothing else changed.
fn deploy_through_a_pull_request(registry: &Registry, built: &serde_json::Value) {
    // A private repository: ArgoCD reads it with the credential External
    // Secrets writes from the rendered ExternalSecret.
    let (p, remote) = project(|p| {
        p.edit("[defaults.argocd]\n", "[defaults.argocd]\nrepository_credential = \"myhealth/argocd-repository\"\n")
    });
    let argocd = ArgoCd::start_private(remote.path(), "generated/argocd/dev/application.yaml");
    argocd.store_repository_secret(p.path(), &serde_json::json!({ "username": "reader", "password": REPO_PASSWORD }));
    let state = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(state.path(), r#"{"repos": {}}"#).unwrap();
    let github = GitHub::start(state.path(), Some(remote.path()));
    let health = Health::start("200 OK");
    let git = |args: &[&str]| -> String {
        let out = Command::new("git").args(args).current_dir(p.path()).output().unwrap();
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let remote_main = || {
        let out = Command::new("git")
            .args(["--git-dir", &remote.path().display().to_string(), "rev-parse", "main"])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let digest = |service: &str| -> String {
        built.as_array().unwrap().iter().find(|x| x["service"] == service).unwrap()["digest"].as_str().unwrap().into()
    };
    // What dev runs before: a release of other digests.
    let built_from = git(&["rev-parse", "HEAD"]);
    let fake = |c: char| format!("sha256:{}", c.to_string().repeat(64));
    let text = std::fs::read_to_string(p.config()).unwrap();
    std::fs::write(
        p.config(),
        format!(
            "{text}\n[environments.dev.release]\ncommit = \"{built_from}\"\nchart = \"0.1.0\"\n[environments.dev.release.images]\napi-service = \"{}\"\ndata-processor = \"{}\"\noura-collector = \"{}\"\n",
            fake('1'), fake('2'), fake('3')
        ),
    )
    .unwrap();
    assert!(cmd().current_dir(p.path()).arg("render").output().unwrap().status.success());
    p.commit_all("the previous release");
    p.git(&["push", "-q", "origin", "main"]);
    let previous = git(&["rev-parse", "HEAD"]);
    let deploy = |timeout: &str| {
        let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("myhealthctl"));
        c.current_dir(p.path())
            .args(["deploy", "dev", "--skip-infra", "--skip-build", "--registry", &registry.host])
            .args([
                "--argocd-server",
                &argocd.url,
                "--endpoint",
                &health.url,
                "--smoke-timeout",
                "3",
                "--timeout",
                timeout,
            ])
            .env("MYHEALTHCTL_WORK_DIR", work())
            .env("ARGOCD_AUTH_TOKEN", TOKEN)
            .env("GITHUB_API_URL", &github.url)
            .env("GH_TOKEN", github::TOKEN)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .env("NO_COLOR", "1");
        c
    };

    // 0. The remote refuses the release branch: the deploy fails (2) and
    //    puts the work tree back — on `main`, clean, no release branch left.
    let hook = remote.path().join("hooks/pre-receive");
    std::fs::write(&hook, "#!/bin/sh\necho 'refused by a test hook' >&2\nexit 1\n").unwrap();
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let out = deploy("60s").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("putting the work tree back"), "{stderr}");
    assert_eq!(git(&["rev-parse", "--abbrev-ref", "HEAD"]), "main");
    assert_eq!(git(&["rev-parse", "HEAD"]), previous);
    assert_eq!(git(&["status", "--porcelain"]), "", "the work tree is as it was");
    assert_eq!(git(&["branch", "--list", "release/*"]), "", "the unpushed release branch is gone");
    std::fs::remove_file(&hook).unwrap();

    // 1. Nobody merges it within the timeout: the deploy stops, refused
    //    (3), naming the pull request; main and the working tree are as before.
    let out = deploy("3s").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("the release pull request #1") && stderr.contains("waits for a review"), "{stderr}");
    assert_eq!(remote_main(), previous, "nothing was pushed to the protected branch");
    assert_eq!(git(&["rev-parse", "HEAD"]), previous, "the working tree is back where it was");
    assert_eq!(git(&["status", "--porcelain"]), "");
    let (code, pr) = github.call("GET", "/repos/eric-n/myhealth/pulls/1");
    assert_eq!((code, pr["state"].as_str(), pr["base"]["ref"].as_str()), (200, Some("open"), Some("main")), "{pr}");
    let branch = pr["head"]["ref"].as_str().unwrap().to_string();
    assert!(branch.starts_with("release/dev-"), "{pr}");
    assert_eq!(github.call("PUT", "/repos/eric-n/myhealth/pulls/1/merge").0, 200);

    // 2. Again (the same images: the same branch would be made, so a new
    //    record first), this time merged by a reviewer while it waits: ArgoCD
    //    syncs the merge commit (or later) and the deploy judges it.
    p.git(&["pull", "-q", "origin", "main"]);
    p.edit(&format!("api-service = \"{}\"", digest("api-service")), &format!("api-service = \"{}\"", fake('4')));
    assert!(cmd().current_dir(p.path()).arg("render").output().unwrap().status.success());
    p.commit_all("api-service back to an older image");
    p.git(&["push", "-q", "origin", "main"]);
    let before = git(&["rev-parse", "HEAD"]);
    // A reviewer merges pull request `n` once the deploy has opened it.
    let merge_when_opened = |n: u32| -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (code, pr) = github.call("GET", &format!("/repos/eric-n/myhealth/pulls/{n}"));
            if code == 200 {
                assert_eq!(pr["base"]["ref"], "main", "{pr}");
                break;
            }
            assert!(Instant::now() < deadline, "no pull request #{n} was opened");
            std::thread::sleep(Duration::from_millis(200));
        }
        let (code, merged) = github.call("PUT", &format!("/repos/eric-n/myhealth/pulls/{n}/merge"));
        assert_eq!(code, 200, "{merged}");
        merged
    };
    let child = deploy("60s").stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let merged = merge_when_opened(2);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("deployed `dev`"), "{stderr}");
    let merge = merged["sha"].as_str().unwrap();
    assert_eq!(remote_main(), merge, "the release arrived on main through the pull request only");
    assert_eq!(git(&["rev-parse", "HEAD"]), before, "the working tree is back where it was");
    let status = cmd()
        .current_dir(p.path())
        .args(["status", "dev", "--json", "--argocd-server", &argocd.url])
        .env("ARGOCD_AUTH_TOKEN", TOKEN)
        .output()
        .unwrap();
    let st: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(st[0]["live"]["application"]["synced"].as_str(), Some(merge), "{st:#}");
    // What runs is the release record the pull request carried (the images just pushed).
    let shown = Command::new("git")
        .args(["--git-dir", &remote.path().display().to_string(), "show", &format!("{merge}:myhealth.toml")])
        .output()
        .unwrap();
    let cfg: toml::Value = toml::from_str(&String::from_utf8_lossy(&shown.stdout)).unwrap();
    assert_eq!(
        cfg["environments"]["dev"]["release"]["images"]["api-service"].as_str(),
        Some(digest("api-service").as_str())
    );

    // 3. The credential is revoked (its Secret gone): ArgoCD cannot read the
    //    repository, so the merged release cannot be compared, let alone
    //    synced — the deploy says so at once (not after its sync timeout),
    //    naming the setting, and proposes the release's revert.
    argocd.remove_repository_secret();
    p.git(&["pull", "-q", "origin", "main"]);
    p.edit(&format!("api-service = \"{}\"", digest("api-service")), &format!("api-service = \"{}\"", fake('5')));
    assert!(cmd().current_dir(p.path()).arg("render").output().unwrap().status.success());
    p.commit_all("api-service back to an older image again");
    p.git(&["push", "-q", "origin", "main"]);
    let started = Instant::now();
    let child = deploy("60s").stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    merge_when_opened(3);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("authentication required") && stderr.contains("argocd.repository_credential"), "{stderr}");
    assert!(stderr.contains("pull request #4"), "the revert is proposed: {stderr}");
    assert!(started.elapsed() < Duration::from_secs(120), "failed at once, not after the sync timeout");
    assert!(!stderr.contains(REPO_PASSWORD));
}

/// A throwaway project of the default config (services marked bundled by
/// their manifests; the images are the ones built above), rendered,
/// committed in a git repository with a bare remote `origin` on `main`.
fn project(edit: impl FnOnce(&common::TempProject)) -> (common::TempProject, tempfile::TempDir) {
    let p = common::TempProject::new(&root().join("myhealth.toml"));
    for s in ["api-service", "data-processor", "oura-collector"] {
        let dir = p.path().join("services").join(s);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(root().join("services").join(s).join("Cargo.toml"), dir.join("Cargo.toml")).unwrap();
    }
    edit(&p);
    let out = cmd().current_dir(p.path()).arg("render").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let remote = tempfile::tempdir().unwrap();
    let bare = remote.path().display().to_string();
    p.git(&["init", "-q", "--bare", "-b", "main", &bare]);
    p.git(&["init", "-q", "-b", "main"]);
    p.commit_all("the project");
    p.git(&["remote", "add", "origin", &bare]);
    p.git(&["push", "-q", "origin", "main"]);
    (p, remote)
}

/// A STAND-IN for `helm` and `kubectl` (there is no Kubernetes API server
/// here): a script that only appends its name and arguments to `$STAND_IN_LOG`
/// and succeeds. What it records is what a real Helm would have been asked.
const STAND_IN: &str = "#!/bin/sh\n# stand-in for helm/kubectl: records its arguments, does nothing else\nprintf '%s\\n' \"$(basename \"$0\") $*\" >> \"$STAND_IN_LOG\"\n";

/// Not a stand-in: the real cargo, its command line recorded on the way.
const RECORDING_CARGO: &str =
    "#!/bin/sh\nprintf '%s\\n' \"cargo $*\" >> \"$STAND_IN_LOG\"\nexec \"$REAL_CARGO\" \"$@\"\n";

/// The commands a run of `dry` (a `deploy --dry-run --json`) issues, in
/// order: the probes made while planning, then each step's command line
/// (the smoke test's rollback when it fails).
fn listed_commands(dry: &serde_json::Value, smoke_fails: bool) -> Vec<String> {
    let line =
        |a: &serde_json::Value| a.as_array().unwrap().iter().map(|x| x.as_str().unwrap()).collect::<Vec<_>>().join(" ");
    let mut out: Vec<String> = dry["probes"].as_array().unwrap().iter().map(|p| line(&p["argv"])).collect();
    for s in dry["steps"].as_array().unwrap() {
        match s["step"].as_str().unwrap() {
            "build" | "terraform_init" | "terraform_plan" | "terraform_apply" | "kubeconfig" | "namespace" | "helm" => {
                out.push(line(&s["argv"]))
            }
            "smoke" => {
                if !s["endpoint_argv"].is_null() {
                    out.push(line(&s["endpoint_argv"]));
                }
                if smoke_fails {
                    assert_eq!(s["rollback"]["by"], "helm", "{s}");
                    out.push(line(&s["rollback"]["argv"]));
                }
            }
            _ => {}
        }
    }
    out
}

/// A stand-in for the environment's API endpoint: answers `GET /health` with
/// `status` and counts the requests.
struct Health {
    url: String,
    hits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Health {
    fn start(status: &'static str) -> Health {
        use std::io::{Read, Write};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = hits.clone();
        std::thread::spawn(move || {
            for mut conn in listener.incoming().flatten() {
                let mut buf = [0u8; 2048];
                let n = conn.read(&mut buf).unwrap_or(0);
                if String::from_utf8_lossy(&buf[..n]).starts_with("GET /health ") {
                    counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
                let _ = conn.write_all(
                    format!("HTTP/1.1 {status}\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok").as_bytes(),
                );
            }
        });
        Health { url, hits }
    }
    fn hits(&self) -> usize {
        self.hits.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// `deploy dev` end to end but for the cluster: build, push to the registry
/// on 127.0.0.1, the digests into the release values, the namespace and the
/// Helm release through the stand-ins, the smoke test against a local
/// endpoint; a failing smoke test rolls the release back; `--only`.
fn deploy_rolls_out_the_pushed_digests(registry: &Registry) {
    use std::os::unix::fs::PermissionsExt;
    let bin = tempfile::tempdir().unwrap();
    for (tool, script) in [("helm", STAND_IN), ("kubectl", STAND_IN), ("cargo", RECORDING_CARGO)] {
        let f = bin.path().join(tool);
        std::fs::write(&f, script).unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let log = bin.path().join("calls.log");
    let path = format!("{}:{}", bin.path().display(), std::env::var("PATH").unwrap());
    let (p, _remote) = project(|p| {
        let text = std::fs::read_to_string(p.config()).unwrap();
        std::fs::write(p.config(), format!("{text}\n[environments.dev.argocd]\nmanage_release = false\n")).unwrap();
    });
    let deploy = |health: &Health, extra: &[&str]| {
        let mut args = vec![
            "deploy",
            "dev",
            "--skip-infra",
            "--skip-build",
            "--registry",
            &registry.host,
            "--kube-context",
            "stand-in",
            "--endpoint",
            &health.url,
            "--smoke-timeout",
            "3",
        ];
        args.extend_from_slice(extra);
        let run = |more: &[&str]| {
            let _ = std::fs::remove_file(&log);
            let out = cmd()
                .current_dir(p.path())
                .args(&args)
                .args(more)
                .env("PATH", &path)
                .env("STAND_IN_LOG", &log)
                .env("REAL_CARGO", env!("CARGO"))
                .output()
                .unwrap();
            let calls = std::fs::read_to_string(&log).unwrap_or_default();
            (out, calls.lines().map(str::to_string).collect::<Vec<_>>())
        };
        let (listing, _) = run(&["--dry-run", "--json"]);
        assert!(listing.status.success(), "{}", String::from_utf8_lossy(&listing.stderr));
        let dry: serde_json::Value = serde_json::from_slice(&listing.stdout).unwrap();
        let (out, calls) = run(&[]);
        // What is shown is what runs: every command, byte for byte, in order.
        assert_eq!(
            calls,
            listed_commands(&dry, !out.status.success()),
            "the run issued other commands than its dry run listed"
        );
        (out, calls)
    };
    let r = p.path().display();
    let w = work().display();
    let deploy_dir = work().join("deploy/dev");
    let helm_upgrade = format!(
        "helm upgrade --install myhealth {r}/generated/helm/myhealth --namespace myhealth --values {r}/generated/helm/values-dev.yaml --values {w}/deploy/dev/images.yaml"
    );

    // 1. Everything healthy.
    let health = Health::start("200 OK");
    let (out, calls) = deploy(&health, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("deployed `dev`"));
    assert_eq!(
        calls,
        [
            "helm version --short".to_string(),
            "kubectl config get-contexts stand-in -o name".to_string(),
            format!(
                "kubectl --context stand-in apply --server-side --field-manager=myhealthctl -f {w}/deploy/dev/namespace.yaml"
            ),
            format!("{helm_upgrade} --atomic --wait --timeout 10m --kube-context stand-in"),
        ]
    );
    assert!(health.hits() >= 1, "the smoke test never asked /health");
    let values: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(deploy_dir.join("images.yaml")).unwrap()).unwrap();
    assert_eq!(values["global"]["imageRegistry"].as_str(), Some(registry.host.as_str()));
    let tag = values["global"]["imageTag"].as_str().unwrap().to_string();
    for service in ["api-service", "data-processor", "oura-collector"] {
        // The digest in the release is the one the registry serves under the tag.
        let reference = format!("docker://{}/myhealth-dev/{service}:{tag}", registry.host);
        let inspect: serde_json::Value =
            serde_json::from_str(&skopeo(&["inspect", "--tls-verify=false", &reference])).unwrap();
        assert_eq!(values["services"][service]["digest"].as_str(), inspect["Digest"].as_str(), "{service}");
    }
    let ns_text = std::fs::read_to_string(deploy_dir.join("namespace.yaml")).unwrap();
    let docs: Vec<serde_yaml_ng::Value> = serde_yaml_ng::Deserializer::from_str(&ns_text)
        .map(|d| <serde_yaml_ng::Value as serde::Deserialize>::deserialize(d).unwrap())
        .collect();
    // The services' namespace, then Grafana's (the chart writes its dashboards there).
    assert_eq!(docs.len(), 2, "{ns_text}");
    assert_eq!(docs[1]["metadata"]["name"].as_str(), Some("monitoring"));
    let ns = &docs[0];
    assert_eq!(ns["metadata"]["name"].as_str(), Some("myhealth"));
    assert_eq!(ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"].as_str(), Some("restricted"));
    assert_eq!(ns["metadata"]["labels"]["istio-injection"].as_str(), Some("enabled"));

    // 2. The release comes up but /health fails: rolled back, and said so.
    let sick = Health::start("503 Service Unavailable");
    let (out, calls) = deploy(&sick, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("answered 503"), "{stderr}");
    assert!(stderr.contains("failed its smoke test; the release was rolled back"), "{stderr}");
    assert!(sick.hits() >= 2, "the smoke test retries");
    assert_eq!(
        calls.last().map(String::as_str),
        Some("helm rollback myhealth --namespace myhealth --wait --timeout 10m --kube-context stand-in")
    );

    // 3. `--only`: one service's digest; the others keep their release's.
    let (out, calls) = deploy(&health, &["--only", "api-service"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        calls.last().unwrap(),
        &format!("{helm_upgrade} --reset-then-reuse-values --atomic --wait --timeout 10m --kube-context stand-in")
    );
    let values: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(deploy_dir.join("images.yaml")).unwrap()).unwrap();
    assert!(values["services"]["api-service"]["digest"].as_str().unwrap().starts_with("sha256:"));
    assert!(
        values["services"].get("data-processor").is_none() && values["global"].get("imageTag").is_none(),
        "{values:?}"
    );

    // 4. `--timeout` bounds the whole run: a sick release whose smoke test
    //    would retry for 60 s is judged within the 2 s left of the run, and
    //    rolled back (or, out of time sooner, never rolled out).
    let sick = Health::start("503 Service Unavailable");
    let started = Instant::now();
    let out = cmd()
        .current_dir(p.path())
        .args(["deploy", "dev", "--skip-infra", "--skip-build", "--registry", &registry.host])
        .args(["--kube-context", "stand-in", "--endpoint", &sick.url, "--smoke-timeout", "60", "--timeout", "2s"])
        .env("PATH", &path)
        .env("STAND_IN_LOG", &log)
        .env("REAL_CARGO", env!("CARGO"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(20), "the run took {:?}: {stderr}", started.elapsed());
    assert!(stderr.contains("rolled back") || stderr.contains("ran out of its `--timeout`"), "{stderr}");
}

/// `deploy dev` where ArgoCD manages the release: the pushed digests become
/// dev's release record, committed and pushed to the branch the Application
/// follows, ArgoCD syncs it (without a revision of its own: the stand-in
/// refuses one while auto-sync is on, as ArgoCD does) and the deploy waits
/// until the Application is synced at that commit and healthy; what runs is
/// the recorded digests. A release ArgoCD reports degraded is reverted —
/// the revert pushed and synced — and the deploy says so.
fn deploy_through_argocd_commits_syncs_and_reverts(registry: &Registry, built: &serde_json::Value) {
    // The branch ArgoCD follows is not protected here: the release is pushed.
    let (p, remote) =
        project(|p| p.edit("target_revision = \"main\"", "target_revision = \"main\"\nrelease_by = \"push\""));
    let argocd = ArgoCd::start(remote.path(), "generated/argocd/dev/application.yaml");
    let health = Health::start("200 OK");
    let git = |args: &[&str]| -> String {
        let out = Command::new("git").args(args).current_dir(p.path()).output().unwrap();
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let remote_head = || {
        let out = Command::new("git")
            .args(["--git-dir", &remote.path().display().to_string(), "rev-parse", "main"])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let deploy = |extra: &[&str]| {
        cmd()
            .current_dir(p.path())
            .args(["deploy", "dev", "--skip-infra", "--skip-build", "--registry", &registry.host])
            .args(["--argocd-server", &argocd.url, "--endpoint", &health.url, "--smoke-timeout", "3"])
            .args(extra)
            .env("ARGOCD_AUTH_TOKEN", TOKEN)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .unwrap()
    };
    // The built digests are the pushed ones (checked above).
    let digest = |service: &str| -> String {
        built.as_array().unwrap().iter().find(|x| x["service"] == service).unwrap()["digest"].as_str().unwrap().into()
    };
    let built_from = git(&["rev-parse", "HEAD"]);

    // The dry run lists the GitOps steps, no Helm.
    let dry = deploy(&["--dry-run", "--json"]);
    assert!(dry.status.success(), "{}", String::from_utf8_lossy(&dry.stderr));
    let dry: serde_json::Value = serde_json::from_slice(&dry.stdout).unwrap();
    assert_eq!(dry["through"], "argocd");
    let kinds: Vec<&str> = dry["steps"].as_array().unwrap().iter().map(|s| s["step"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["drift", "push", "record", "commit", "git_push", "sync", "smoke"]);

    // 1. A previous release of other digests is what dev runs; then the
    //    deploy: recorded, committed, pushed, synced, healthy, smoke-tested.
    let fake = |c: char| format!("sha256:{}", c.to_string().repeat(64));
    let text = std::fs::read_to_string(p.config()).unwrap();
    std::fs::write(
        p.config(),
        format!(
            "{text}\n[environments.dev.release]\ncommit = \"{built_from}\"\nchart = \"0.1.0\"\n[environments.dev.release.images]\napi-service = \"{}\"\ndata-processor = \"{}\"\noura-collector = \"{}\"\n",
            fake('1'), fake('2'), fake('3')
        ),
    )
    .unwrap();
    assert!(cmd().current_dir(p.path()).arg("render").output().unwrap().status.success());
    p.commit_all("the previous release");
    p.git(&["push", "-q", "origin", "main"]);
    let previous = git(&["rev-parse", "HEAD"]);
    // A teammate's commit lands on main right after the release is pushed,
    // before ArgoCD syncs: ArgoCD syncs the branch head, which contains the
    // release, and the deploy must take that for its release.
    let hook = remote.path().join("hooks/post-receive");
    std::fs::write(
        &hook,
        "#!/bin/sh\n[ -f \"$GIT_DIR/landed\" ] && exit 0\ntouch \"$GIT_DIR/landed\"\nparent=$(git rev-parse main)\nc=$(GIT_AUTHOR_NAME=x GIT_AUTHOR_EMAIL=x@x GIT_COMMITTER_NAME=x GIT_COMMITTER_EMAIL=x@x git commit-tree \"$parent^{tree}\" -p \"$parent\" -m \"a teammate's commit\")\ngit update-ref refs/heads/main \"$c\" \"$parent\"\n",
    )
    .unwrap();
    let mut perms = std::fs::metadata(&hook).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&hook, perms).unwrap();

    let out = deploy(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("deployed `dev`"), "{stderr}");
    let release = git(&["rev-parse", "HEAD"]);
    assert_ne!(release, previous, "a release commit");
    let landed = remote_head();
    assert_ne!(landed, release, "the teammate's commit landed after the release");
    let parent = Command::new("git")
        .args(["--git-dir", &remote.path().display().to_string(), "rev-parse", &format!("{landed}^")])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&parent.stdout).trim(), release, "pushed to the branch ArgoCD follows");
    std::fs::remove_file(&hook).unwrap();
    p.git(&["pull", "-q", "--ff-only", "origin", "main"]);
    assert_eq!(git(&["log", "-1", "--format=%s", &release]), format!("release dev: the images of {}", &previous[..12]));
    assert_eq!(git(&["status", "--porcelain"]), "", "the release commit holds everything the deploy wrote");
    let cfg: toml::Value = toml::from_str(&std::fs::read_to_string(p.config()).unwrap()).unwrap();
    let rec = &cfg["environments"]["dev"]["release"];
    assert_eq!(rec["commit"].as_str(), Some(previous.as_str()), "the record names the commit that built the images");
    for s in ["api-service", "data-processor", "oura-collector"] {
        assert_eq!(rec["images"][s].as_str(), Some(digest(s).as_str()), "{s}");
    }
    // What ArgoCD runs (rendered from git at the release commit): the recorded digests.
    let status = cmd()
        .current_dir(p.path())
        .args(["status", "dev", "--json", "--argocd-server", &argocd.url])
        .env("ARGOCD_AUTH_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert_eq!(status.status.code(), Some(0), "{}", String::from_utf8_lossy(&status.stderr));
    let st: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let app = &st[0]["live"]["application"];
    assert_eq!((app["sync"].as_str(), app["health"].as_str()), (Some("Synced"), Some("Healthy")), "{st:#}");
    assert_eq!(
        app["revision"].as_str(),
        Some(landed.as_str()),
        "ArgoCD synced the branch head, which holds the release"
    );
    assert_eq!(st[0]["live"]["not_running_recorded"], serde_json::json!([]), "{st:#}");
    // The chart's ExternalSecrets, from ArgoCD's resource tree, synced.
    let secrets = st[0]["live"]["external_secrets"].as_array().unwrap();
    assert!(secrets.iter().any(|s| s["name"] == "myhealth-database"), "{secrets:?}");
    assert!(secrets.iter().all(|s| s["health"] == "Healthy" && s["kind"] == "ExternalSecret"), "{secrets:?}");
    for s in ["api-service", "data-processor", "oura-collector"] {
        let image = format!("123456789012.dkr.ecr.us-east-1.amazonaws.com/myhealth-dev/{s}@{}", digest(s));
        assert!(app["images"].as_array().unwrap().iter().any(|i| i == &image), "{image} not live: {app:#}");
    }
    // Every request carried the token. Auto-sync is on: the refresh starts
    // the sync, so no sync request is sent (it would be refused as "another
    // operation is already in progress"), let alone one naming a revision.
    let requests = argocd.requests();
    assert!(requests.iter().any(|r| r["path"] == "/api/v1/applications/myhealth-dev?refresh=normal"), "{requests:?}");
    assert!(requests.iter().all(|r| r["method"] == "GET"), "{requests:?}");
    assert!(requests.iter().all(|r| r["authorization"] == "bearer"));
    assert!(!stderr.contains(TOKEN) && !String::from_utf8_lossy(&out.stdout).contains(TOKEN));
    // Without the token ArgoCD refuses, and status says why.
    let refused = cmd().current_dir(p.path()).args(["status", "dev", "--argocd-server", &argocd.url]).output().unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("ARGOCD_AUTH_TOKEN"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );

    // 2. The same images again: the record already names them — no commit.
    let out = deploy(&[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(git(&["rev-parse", "HEAD"]), landed, "nothing to commit");

    // 3. A release ArgoCD reports degraded: reverted, the revert pushed and synced.
    p.edit(&format!("api-service = \"{}\"", digest("api-service")), &format!("api-service = \"{}\"", fake('1')));
    assert!(cmd().current_dir(p.path()).arg("render").output().unwrap().status.success());
    p.commit_all("back to the previous api-service");
    p.git(&["push", "-q", "origin", "main"]);
    let before = git(&["rev-parse", "HEAD"]);
    std::fs::write(&argocd.sick, format!("{}\n", digest("api-service"))).unwrap();
    let out = deploy(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("Degraded"), "{stderr}");
    assert!(stderr.contains("the release commit was reverted and ArgoCD synced the previous release"), "{stderr}");
    let head = git(&["rev-parse", "HEAD"]);
    assert_eq!(remote_head(), head, "the revert is pushed");
    assert_eq!(git(&["log", "-1", "--format=%s"]), format!("Revert \"release dev: the images of {}\"", &before[..12]));
    assert!(std::fs::read_to_string(p.config()).unwrap().contains(&format!("api-service = \"{}\"", fake('1'))));
    let st: serde_json::Value = serde_json::from_slice(
        &cmd()
            .current_dir(p.path())
            .args(["status", "dev", "--json", "--argocd-server", &argocd.url])
            .env("ARGOCD_AUTH_TOKEN", TOKEN)
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(st[0]["live"]["application"]["revision"].as_str(), Some(head.as_str()), "{st:#}");
    assert_eq!(st[0]["live"]["application"]["health"], "Healthy", "{st:#}");

    // 4. Synced by hand (as production is): the refresh only compares — the
    //    new commit named, OutOfSync, the last operation still the old one,
    //    which the deploy must not take for the new release — then a sync
    //    request (naming no revision), then the judgement.
    std::fs::remove_file(&argocd.sick).unwrap();
    let text = std::fs::read_to_string(p.config()).unwrap();
    std::fs::write(p.config(), format!("{text}\n[environments.dev.argocd]\nauto_sync = false\n")).unwrap();
    assert!(cmd().current_dir(p.path()).arg("render").output().unwrap().status.success());
    p.commit_all("dev synced by hand");
    p.git(&["push", "-q", "origin", "main"]);
    let before = argocd.requests().len();
    let out = deploy(&[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let requests = argocd.requests();
    let syncs: Vec<&serde_json::Value> = requests[before..].iter().filter(|r| r["method"] == "POST").collect();
    assert_eq!(syncs.len(), 1, "{requests:?}");
    assert_eq!(syncs[0]["path"], "/api/v1/applications/myhealth-dev/sync");
    assert!(!syncs[0]["body"].as_str().unwrap().contains("revision"), "{syncs:?}");
    let release = git(&["rev-parse", "HEAD"]);
    assert_eq!(remote_head(), release);
    let st: serde_json::Value = serde_json::from_slice(
        &cmd()
            .current_dir(p.path())
            .args(["status", "dev", "--json", "--argocd-server", &argocd.url])
            .env("ARGOCD_AUTH_TOKEN", TOKEN)
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(st[0]["live"]["application"]["synced"].as_str(), Some(release.as_str()), "{st:#}");
    assert_eq!(st[0]["live"]["not_running_recorded"], serde_json::json!([]), "{st:#}");
}
