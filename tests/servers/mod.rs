//! Real servers for the integration tests, started on free loopback ports in temp dirs
//! and stopped when dropped: Prometheus (history loaded with `promtool tsdb
//! create-blocks-from openmetrics`, or scraping live targets), PostgreSQL (a temp cluster
//! made with `initdb`, run as the `postgres` user when the tests run as root, with
//! pg_stat_statements) and `prometheus-postgres-exporter` in front of it.
//!
//! A missing server binary skips the test with a message, unless `HUNCH_REQUIRE_SERVERS=1`
//! (set by `.ci/run`), which makes it a failure.
//!
//! Loki is the exception: Debian's `loki` package is an unrelated genetics program and
//! Grafana Loki is not packaged, so [`loki`] is a stand-in that speaks Loki's push and
//! query_range HTTP API (its JSON shapes, nanosecond timestamps, `limit`/`direction`,
//! and its plain-text 400 answers to a bad LogQL selector).

#![allow(dead_code)]

pub mod llamacpp;
pub mod loki;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Whether a missing server fails the test (CI) instead of skipping it.
pub fn required() -> bool {
    std::env::var("HUNCH_REQUIRE_SERVERS").is_ok_and(|v| v == "1")
}

/// Skip (or, under `HUNCH_REQUIRE_SERVERS=1`, fail) because something is missing.
pub fn missing<T>(what: &str) -> Option<T> {
    if required() {
        panic!("{what} is missing and HUNCH_REQUIRE_SERVERS=1");
    }
    eprintln!("skipping: {what} is missing (set HUNCH_REQUIRE_SERVERS=1 to fail instead)");
    None
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn find_binary(candidates: &[&str]) -> Option<PathBuf> {
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .or_else(|| {
            let name = Path::new(candidates[0]).file_name()?;
            std::env::var_os("PATH").and_then(|path| {
                std::env::split_paths(&path)
                    .map(|d| d.join(name))
                    .find(|p| p.is_file())
            })
        })
}

fn wait_until(what: &str, timeout: Duration, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(
            start.elapsed() < timeout,
            "{what} did not start within {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn http_ok(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let Ok(mut stream) = std::net::TcpStream::connect(host) else {
        return false;
    };
    use std::io::{Read, Write};
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if write!(stream, "GET /{path} HTTP/1.0\r\nHost: {host}\r\n\r\n").is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.") && &head[9..12] == b"200"
}

/// A kubeconfig whose only context, `context`, points at a closed loopback port: kubectl
/// runs for real and every request it makes is refused.
pub fn unreachable_kubeconfig(dir: &Path, context: &str) -> PathBuf {
    let path = dir.join("kubeconfig");
    let port = free_port();
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: {context}\n  cluster:\n    server: https://127.0.0.1:{port}\ncontexts:\n- name: {context}\n  context:\n    cluster: {context}\n    user: {context}\nusers:\n- name: {context}\n  user: {{}}\ncurrent-context: {context}\n"
        ),
    )
    .unwrap();
    path
}

pub struct Prometheus {
    child: Child,
    pub url: String,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// Start Prometheus with the samples of an OpenMetrics text as its history.
    pub fn start(openmetrics: &str) -> Option<Prometheus> {
        let (Some(prometheus), Some(promtool)) = (
            find_binary(&["/usr/bin/prometheus"]),
            find_binary(&["/usr/bin/promtool"]),
        ) else {
            return missing("prometheus/promtool (Debian package `prometheus`)");
        };
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let input = dir.path().join("history.om");
        std::fs::write(&input, openmetrics).unwrap();
        let out = Command::new(promtool)
            .args(["tsdb", "create-blocks-from", "openmetrics"])
            .arg(&input)
            .arg(&data)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "promtool: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(Prometheus::launch(
            &prometheus,
            dir,
            "global:\n  scrape_interval: 15s\n",
        ))
    }

    /// Start Prometheus with no history, scraping each `(address, service)` target every
    /// `interval_seconds`, its series labelled `service="<service>"`.
    pub fn scraping(targets: &[(&str, &str)], interval_seconds: u64) -> Option<Prometheus> {
        let Some(prometheus) = find_binary(&["/usr/bin/prometheus"]) else {
            return missing("prometheus (Debian package `prometheus`)");
        };
        let mut config = format!(
            "global:\n  scrape_interval: {interval_seconds}s\n  scrape_timeout: {interval_seconds}s\nscrape_configs:\n"
        );
        for (i, (address, service)) in targets.iter().enumerate() {
            config.push_str(&format!(
                "  - job_name: target{i}\n    static_configs:\n      - targets: ['{address}']\n        labels:\n          service: '{service}'\n"
            ));
        }
        Some(Prometheus::launch(
            &prometheus,
            tempfile::tempdir().unwrap(),
            &config,
        ))
    }

    fn launch(binary: &Path, dir: tempfile::TempDir, config_text: &str) -> Prometheus {
        let config = dir.path().join("prometheus.yml");
        std::fs::write(&config, config_text).unwrap();
        let data = dir.path().join("data");
        let port = free_port();
        let child = Command::new(binary)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("prometheus.log")).unwrap())
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        wait_until("prometheus", Duration::from_secs(60), || {
            http_ok(&format!("{url}/-/ready"))
        });
        Prometheus {
            child,
            url,
            _dir: dir,
        }
    }
}

/// `prometheus-postgres-exporter` (Debian package) exporting one database of a
/// [`Postgres`] on a loopback port.
pub struct PostgresExporter {
    child: Child,
    /// `127.0.0.1:<port>`, for a scrape target.
    pub address: String,
}

impl PostgresExporter {
    pub fn start(pg: &Postgres, db: &str) -> Option<PostgresExporter> {
        let Some(binary) = find_binary(&["/usr/bin/prometheus-postgres-exporter"]) else {
            return missing(
                "prometheus-postgres-exporter (Debian package `prometheus-postgres-exporter`)",
            );
        };
        let port = free_port();
        let address = format!("127.0.0.1:{port}");
        let child = Command::new(binary)
            .arg(format!("--web.listen-address={address}"))
            .env(
                "DATA_SOURCE_NAME",
                format!(
                    "postgresql://postgres:{}@127.0.0.1:{}/{db}?sslmode=disable",
                    pg.password, pg.port
                ),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_until("postgres exporter", Duration::from_secs(30), || {
            http_ok(&format!("http://{address}/metrics"))
        });
        Some(PostgresExporter { child, address })
    }
}

impl Drop for PostgresExporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Postgres {
    child: Child,
    pub port: u16,
    pub password: String,
    _dir: tempfile::TempDir,
}

/// The uid and gid of the `postgres` user, when running as root (initdb refuses root).
fn postgres_user() -> Option<(u32, u32)> {
    let id = |args: &[&str]| -> Option<u32> {
        let out = Command::new("id").args(args).output().ok()?;
        String::from_utf8(out.stdout).ok()?.trim().parse().ok()
    };
    if id(&["-u"])? != 0 {
        return None;
    }
    Some((id(&["-u", "postgres"])?, id(&["-g", "postgres"])?))
}

impl Postgres {
    /// A fresh cluster with password (SCRAM) authentication on loopback, the
    /// `pg_stat_statements` library loaded, and a database `shop`.
    pub fn start() -> Option<Postgres> {
        let bin = [
            "/usr/lib/postgresql/17/bin",
            "/usr/lib/postgresql/16/bin",
            "/usr/lib/postgresql/15/bin",
        ]
        .iter()
        .map(PathBuf::from)
        .find(|d| d.join("postgres").is_file() && d.join("initdb").is_file());
        let Some(bin) = bin else {
            return missing("the PostgreSQL server (Debian package `postgresql`)");
        };
        use std::os::unix::process::CommandExt;
        let dir = tempfile::tempdir().unwrap();
        let owner = postgres_user();
        let as_owner = |command: &mut Command| {
            if let Some((uid, gid)) = owner {
                command.uid(uid).gid(gid);
            }
        };
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).unwrap();
        }
        let password = "hunch-test-pw".to_string();
        let pwfile = dir.path().join("pw");
        std::fs::write(&pwfile, &password).unwrap();
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(&pwfile, Some(uid), Some(gid)).unwrap();
        }
        let data = dir.path().join("data");
        let mut initdb = Command::new(bin.join("initdb"));
        initdb
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "--auth=scram-sha-256",
                "--no-sync",
                "-E",
                "UTF8",
            ])
            .arg(format!("--pwfile={}", pwfile.display()))
            .current_dir(dir.path());
        as_owner(&mut initdb);
        let out = initdb.output().unwrap();
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let mut server = Command::new(bin.join("postgres"));
        server
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1"])
            .arg("-c")
            .arg(format!("unix_socket_directories={}", dir.path().display()))
            .args([
                "-c",
                "shared_preload_libraries=pg_stat_statements",
                "-c",
                "fsync=off",
            ])
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("postgres.log")).unwrap());
        as_owner(&mut server);
        let child = server.spawn().unwrap();
        wait_until("postgres", Duration::from_secs(60), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        Some(Postgres {
            child,
            port,
            password,
            _dir: dir,
        })
    }

    /// A connection URL without the password.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Connect as the superuser, for setting up the test.
    pub async fn connect(&self, db: &str, application: &str) -> tokio_postgres::Client {
        let mut config: tokio_postgres::Config = self.url(db).parse().unwrap();
        config
            .password(&self.password)
            .application_name(application);
        let start = Instant::now();
        loop {
            match config.connect(tokio_postgres::NoTls).await {
                Ok((client, connection)) => {
                    tokio::spawn(async move {
                        let _ = connection.await;
                    });
                    return client;
                }
                Err(e) if start.elapsed() < Duration::from_secs(30) => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("connecting to the test postgres: {e}"),
            }
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // SIGQUIT: immediate shutdown, the cluster is thrown away anyway.
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGQUIT,
        );
        let _ = self.child.wait();
    }
}
