//! What the services' tests share: a throwaway PostgreSQL cluster (`initdb`
//! into a temporary directory, `pg_ctl start` on a free port of 127.0.0.1,
//! stopped and deleted on drop; binaries from `PG_BIN` or
//! `/usr/lib/postgresql/15/bin`), a router served through the services' own
//! connection loop, a service binary started as the chart starts it, slow
//! clients (slowloris) over raw TCP, the venv's Python tools, moto.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;

pub struct TempPostgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    pub port: u16,
    /// Server settings given at start (`-c name=value`), kept for restarts.
    settings: String,
}

impl TempPostgres {
    pub fn start() -> TempPostgres {
        Self::start_with(&[])
    }

    /// Started with extra server settings, e.g. `[("log_statement", "all")]`.
    pub fn start_with(settings: &[(&str, &str)]) -> TempPostgres {
        let settings: String = settings.iter().map(|(k, v)| format!(" -c {k}={v}")).collect();
        let bin = std::env::var_os("PG_BIN").map(PathBuf::from).unwrap_or_else(|| "/usr/lib/postgresql/15/bin".into());
        assert!(bin.join("initdb").is_file(), "no initdb in {} (set PG_BIN)", bin.display());
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        let run = |cmd: &mut Command| {
            let out = cmd.output().expect("run a PostgreSQL tool");
            assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
        };
        // initdb refuses to run as root: use the `postgres` user when we are root.
        let as_root = is_root();
        let wrap = |tool: &str| -> Command {
            if as_root {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(bin.join(tool));
                c
            } else {
                Command::new(bin.join(tool))
            }
        };
        if as_root {
            run(Command::new("chown").args(["-R", "postgres"]).arg(dir.path()));
        }
        run(wrap("initdb").args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "-D"]).arg(&data));
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let opts = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off{settings}",
            dir.path().display()
        );
        run(wrap("pg_ctl")
            .args(["-w", "-D"])
            .arg(&data)
            .args(["-o", &opts, "-l"])
            .arg(dir.path().join("pg.log"))
            .arg("start"));
        TempPostgres { dir, bin, port, settings }
    }

    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Create a fresh database and return its URL.
    pub async fn database(&self, name: &str) -> String {
        use sqlx::Executor;
        let admin = sqlx::PgPool::connect(&self.url("postgres")).await.expect("connect to postgres");
        admin.execute(format!("CREATE DATABASE \"{name}\"").as_str()).await.expect("create database");
        admin.close().await;
        self.url(name)
    }

    /// Make `role` log in over TCP with its password (everyone else stays
    /// trusted): prepends a `scram-sha-256` line to pg_hba.conf and reloads.
    pub fn require_password(&self, role: &str) {
        let hba = self.dir.path().join("data/pg_hba.conf");
        let old = std::fs::read_to_string(&hba).expect("read pg_hba.conf");
        std::fs::write(&hba, format!("host all {role} 127.0.0.1/32 scram-sha-256\n{old}")).expect("write pg_hba.conf");
        self.ctl(&["reload"]);
    }

    /// Everything the server has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pg.log")).unwrap_or_default()
    }

    /// Stop the server (to test outages); `restart` brings it back on the same port.
    pub fn stop(&self) {
        self.ctl(&["-m", "fast", "stop"]);
    }

    pub fn restart(&self) {
        let opts = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off{}",
            self.port,
            self.dir.path().display(),
            self.settings
        );
        self.ctl(&["-o", &opts, "-l", &self.dir.path().join("pg.log").to_string_lossy(), "start"]);
    }

    fn ctl(&self, args: &[&str]) {
        let data = self.dir.path().join("data");
        let root = is_root();
        let mut c = if root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(self.bin.join("pg_ctl"));
            c
        } else {
            Command::new(self.bin.join("pg_ctl"))
        };
        let out = c.args(["-w", "-D"]).arg(&data).args(args).output().expect("pg_ctl");
        assert!(out.status.success(), "pg_ctl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

fn is_root() -> bool {
    // Without libc: the effective uid is in /proc/self/status ("Uid: real effective ...").
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("Uid:")).and_then(|l| l.split_whitespace().nth(2)).map(|u| u == "0")
        })
        .unwrap_or(false)
}

impl Drop for TempPostgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = if is_root() {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(self.bin.join("pg_ctl"))
                .args(["-m", "immediate", "-D"])
                .arg(&data)
                .arg("stop")
                .output()
        } else {
            Command::new(self.bin.join("pg_ctl")).args(["-m", "immediate", "-D"]).arg(&data).arg("stop").output()
        };
    }
}

/// Serve `router` on a free port of 127.0.0.1 for the rest of the test,
/// through the services' own connection loop (`http::serve`) with its
/// default timeouts.
pub async fn serve(router: axum::Router) -> std::net::SocketAddr {
    serve_with(router, crate::http::Timeouts::default()).await
}

/// The same, with other timeouts.
pub async fn serve_with(router: axum::Router, timeouts: crate::http::Timeouts) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a local port");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        crate::http::serve_until(listener, router, timeouts, std::future::pending()).await.expect("test server")
    });
    addr
}

/// A Python tool from the test venv (`tests/run` installs it into `.venv/`):
/// missing is a failure under CI and a skip (None) elsewhere.
pub fn python_tool(name: &str) -> Option<std::path::PathBuf> {
    let venv = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin").join(name);
    let on_path =
        std::env::var_os("PATH").and_then(|p| std::env::split_paths(&p).map(|d| d.join(name)).find(|p| p.is_file()));
    let found = on_path.or_else(|| venv.is_file().then_some(venv));
    if found.is_none() {
        assert!(std::env::var_os("CI").is_none(), "`{name}` missing: run the suite with `tests/run`");
        eprintln!("skipping: `{name}` not installed (run `tests/run`)");
    }
    found
}

/// An emulated AWS (`moto_server`, plain HTTP on 127.0.0.1), stopped on drop.
pub struct Moto {
    child: std::process::Child,
    pub endpoint: String,
}

impl Moto {
    pub fn start() -> Option<Moto> {
        let tool = python_tool("moto_server")?;
        let port = std::net::TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
        let child = std::process::Command::new(tool)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start moto_server");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "moto_server did not start on port {port}");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Some(Moto { child, endpoint: format!("http://127.0.0.1:{port}") })
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A service binary running on a free port of 127.0.0.1, started from the
/// environment only (as the chart starts it), killed on drop.
pub struct Binary {
    child: std::process::Child,
    pub addr: std::net::SocketAddr,
}

impl Binary {
    /// Start `path` with `env` (plus `PORT`) and wait until `/health` answers.
    pub async fn start(path: &str, env: &[(&str, &str)]) -> Binary {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = std::process::Command::new(path)
            .env_clear()
            .envs(env.iter().copied())
            .env("PORT", port.to_string())
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {path}: {e}"));
        let addr: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
        let b = Binary { child, addr };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            if let Ok(mut s) = tokio::net::TcpStream::connect(addr).await {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let _ = s.write_all(b"GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").await;
                let mut answer = String::new();
                if s.read_to_string(&mut answer).await.is_ok() && answer.starts_with("HTTP/1.1 200") {
                    return b;
                }
            }
            assert!(std::time::Instant::now() < deadline, "{path} did not answer /health on {addr}");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How a slow client behaves.
#[derive(Clone, Copy, Debug)]
pub enum Slow {
    /// A request line and a first header, then one more header byte every interval.
    Headers,
    /// Complete headers announcing a body, its first byte, then nothing.
    StalledBody,
    /// Complete headers announcing a body, then one body byte every interval.
    TricklingBody,
}

/// What one slow client saw.
#[derive(Debug)]
pub struct SlowOutcome {
    /// When the server closed the connection (from the connect), if it did
    /// before the client gave up.
    pub closed_after: Option<std::time::Duration>,
    /// Whatever the server answered before closing.
    pub answer: String,
}

/// `n` slow clients at once against `addr` (a `POST` to `path` for the
/// body kinds), each sending one byte every `every` until the server closes
/// its connection or `give_up` passes.
pub async fn slow_clients(
    addr: std::net::SocketAddr,
    path: &str,
    n: usize,
    how: Slow,
    every: std::time::Duration,
    give_up: std::time::Duration,
) -> Vec<SlowOutcome> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let head = match how {
        Slow::Headers => format!("GET {path} HTTP/1.1\r\nHost: t\r\nX-Slow: "),
        Slow::StalledBody | Slow::TricklingBody => format!(
            "POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{{"
        ),
    };
    let clients: Vec<_> = (0..n)
        .map(|_| {
            let head = head.clone();
            tokio::spawn(async move {
                let start = std::time::Instant::now();
                let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
                s.write_all(head.as_bytes()).await.expect("send the head");
                let (mut answer, mut buf) = (Vec::new(), [0u8; 4096]);
                let mut tick = tokio::time::interval(every);
                tick.tick().await;
                let closed_after = loop {
                    if start.elapsed() > give_up {
                        break None;
                    }
                    tokio::select! {
                        r = s.read(&mut buf) => match r {
                            Ok(0) | Err(_) => break Some(start.elapsed()),
                            Ok(k) => answer.extend_from_slice(&buf[..k]),
                        },
                        _ = tick.tick() => {
                            let byte: &[u8] = match how { Slow::Headers => b"a", _ => b" " };
                            if !matches!(how, Slow::StalledBody) && s.write_all(byte).await.is_err() {
                                break Some(start.elapsed());
                            }
                        }
                    }
                };
                SlowOutcome { closed_after, answer: String::from_utf8_lossy(&answer).into_owned() }
            })
        })
        .collect();
    let mut out = Vec::with_capacity(n);
    for c in clients {
        out.push(c.await.expect("a slow client"));
    }
    out
}
