//! `hunch watch`: a webhook receiver for what pages. Alertmanager, Grafana and PagerDuty
//! POST their notifications here; every alert is recorded (the payload under
//! `$XDG_DATA_HOME/hunch/alerts/`, one typed line per alert in `received.jsonl`), firing
//! ones join a queue on screen, a resolved one is marked in place, and enter opens the
//! selected alert as an investigation (`hunch investigate --alert-file …`): in a new tmux
//! window when inside tmux, else in this terminal, back to the queue after.
//!
//! A payload that is not an alert gets a 4xx and a line on screen, never a crash. It
//! listens on loopback unless `--allow-remote` (which needs the secret); with `HUNCH_WATCH_SECRET` set, a POST
//! must carry it (`Authorization: Bearer …` or `X-Hunch-Secret: …`) or gets 401 (compared
//! in constant time). A body over [`MAX_BODY`] gets 413; a connection lives at most
//! [`CONNECTION_LIFETIME`] (a client trickling its request is cut off) and at most
//! [`MAX_CONNECTIONS`] are served at once. Secrets in a payload are
//! redacted before it is recorded, and what is recorded is the engineer's alone (a
//! `0700` directory, `0600` files, never written through a symlink).

use crate::alert::{self, Alert, Status};
use crate::config::Paths;
use crate::redact::Redactor;
use crate::tui::watch_view::{WatchRow, WatchScreen};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, clap::Args)]
pub struct WatchArgs {
    /// Where to listen (port 0 picks a free one; the line `listening on …` says which).
    #[arg(long, default_value = "127.0.0.1:9095")]
    pub listen: SocketAddr,
    /// Allow listening on an address other than loopback.
    #[arg(long)]
    pub allow_remote: bool,
    /// Open alerts against this `[environments.NAME]`.
    #[arg(long, conflicts_with = "bundle")]
    pub env: Option<String>,
    /// Open alerts against this incident bundle.
    #[arg(long)]
    pub bundle: Option<PathBuf>,
    /// Print what arrives, one line each, instead of the screen.
    #[arg(long)]
    pub headless: bool,
}

/// One alert in the queue: the payload it came in, and which firing alert of it it is.
struct Queued {
    alert: Alert,
    file: PathBuf,
    firing_index: usize,
}

struct Shared {
    queue: Mutex<Vec<Queued>>,
    /// What happened, newest last (the screen shows the last few).
    notes: Mutex<Vec<String>>,
    /// Wakes the screen when the queue or the notes change.
    changed: tokio::sync::Notify,
    /// Print each line (`--headless`) instead of drawing the screen.
    headless: bool,
    dir: PathBuf,
    secret: Option<String>,
    /// Applied to every payload before it is recorded or queued.
    redactor: Redactor,
    /// Payloads accepted so far (numbers their files).
    payloads: std::sync::atomic::AtomicUsize,
}

impl Shared {
    /// Something happened: a line for the screen (or stdout, headless).
    fn say(&self, line: &str) {
        if self.headless {
            say(line);
        }
        if let Ok(mut notes) = self.notes.lock() {
            notes.push(line.to_string());
            let excess = notes.len().saturating_sub(50);
            notes.drain(..excess);
        }
        self.changed.notify_one();
    }

    fn screen(&self, listening: &str, selected: usize) -> WatchScreen {
        let rows = self
            .queue
            .lock()
            .map(|q| q.iter().map(|q| row(&q.alert)).collect())
            .unwrap_or_default();
        WatchScreen {
            listening: listening.to_string(),
            rows,
            selected,
            notes: self.notes.lock().map(|n| n.clone()).unwrap_or_default(),
        }
    }
}

fn row(alert: &Alert) -> WatchRow {
    WatchRow {
        firing: alert.status == Status::Firing,
        name: alert.name.clone(),
        service: alert.service().unwrap_or("").to_string(),
        since: alert
            .starts_at
            .map(|t| t.format("since %H:%M:%S").to_string())
            .unwrap_or_default(),
        source: alert.format.label().to_string(),
    }
}

/// The secret a POST must carry, from `HUNCH_WATCH_SECRET` (never a flag: `ps` shows flags).
const SECRET_ENV: &str = "HUNCH_WATCH_SECRET";

/// The most alerts the queue holds: past this a firing alert is recorded but not queued
/// (a flood of payloads must not grow memory and the screen without end).
pub const MAX_QUEUE: usize = 500;

/// The largest body a POST may carry: a notification is kilobytes; more gets 413.
pub const MAX_BODY: usize = 1024 * 1024;

pub fn run(args: WatchArgs, paths: &Paths, redactor: Redactor) -> anyhow::Result<()> {
    if !args.listen.ip().is_loopback() && !args.allow_remote {
        anyhow::bail!(
            "{} is not a loopback address: add --allow-remote (and set {SECRET_ENV}) to listen there",
            args.listen
        );
    }
    let secret = std::env::var(SECRET_ENV).ok().filter(|s| !s.is_empty());
    if !args.listen.ip().is_loopback() && secret.is_none() {
        anyhow::bail!(
            "listening on {} without {SECRET_ENV} would queue whatever anyone who can reach it sends: set {SECRET_ENV}",
            args.listen
        );
    }
    if !args.headless && !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        anyhow::bail!("the watch screen needs a terminal; add --headless for lines");
    }
    let dir = paths.data_dir.join("alerts");
    private_dir(&dir)?;
    let shared = Arc::new(Shared {
        queue: Mutex::new(Vec::new()),
        notes: Mutex::new(Vec::new()),
        changed: tokio::sync::Notify::new(),
        headless: args.headless,
        dir,
        secret,
        redactor,
        payloads: Default::default(),
    });
    let runtime = tokio::runtime::Runtime::new()?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(args.listen))
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot listen on {}: {e} (another `hunch watch`, or another program, may hold it: pick another with --listen 127.0.0.1:PORT)",
                args.listen
            )
        })?;
    let address = listener.local_addr()?;
    let listener = Guarded {
        inner: listener,
        slots: Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS)),
    };
    let listening = format!(
        "listening on {address} (POST alerts to http://{address}/){}",
        if shared.secret.is_some() {
            "; a secret is required"
        } else {
            "; no secret: any local user can POST (set HUNCH_WATCH_SECRET)"
        }
    );
    let app = axum::Router::new()
        .route("/", axum::routing::post(receive))
        .route("/alerts", axum::routing::post(receive))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(shared.clone());
    runtime.spawn(async move { axum::serve(listener, app).await });
    if args.headless {
        say(&listening);
        runtime.block_on(async { tokio::signal::ctrl_c().await })?;
        return Ok(());
    }
    runtime.block_on(screen_loop(&args, &shared, &listening))
}

/// The queue on screen until `q`: arrows select, enter opens the selected alert.
async fn screen_loop(args: &WatchArgs, shared: &Shared, listening: &str) -> anyhow::Result<()> {
    use crossterm::event::{Event, EventStream, KeyCode, KeyEventKind};
    use futures::StreamExt;
    let mut terminal = ratatui::init();
    let mut keys = EventStream::new();
    let mut selected = 0usize;
    let result = loop {
        let screen = shared.screen(listening, selected);
        if let Err(e) = terminal.draw(|f| crate::tui::watch_view::draw(f, &screen)) {
            break Err(e.into());
        }
        let key = tokio::select! {
            _ = shared.changed.notified() => continue,
            key = keys.next() => key,
        };
        let key = match key {
            None => break Ok(()),
            Some(Ok(Event::Key(key))) if key.kind == KeyEventKind::Press => key,
            Some(_) => continue,
        };
        let last = screen.rows.len().saturating_sub(1);
        match key.code {
            KeyCode::Char('q') | KeyCode::Esc => break Ok(()),
            KeyCode::Down | KeyCode::Char('j') => selected = (selected + 1).min(last),
            KeyCode::Up | KeyCode::Char('k') => selected = selected.saturating_sub(1),
            KeyCode::Enter | KeyCode::Char('o') => {
                let picked = shared
                    .queue
                    .lock()
                    .ok()
                    .and_then(|q| q.get(selected).map(|q| (q.file.clone(), q.firing_index)));
                let Some((file, index)) = picked else {
                    continue;
                };
                let in_tmux = std::env::var_os("TMUX").is_some();
                if !in_tmux {
                    ratatui::restore();
                }
                let said = open(args, &file, index);
                if !in_tmux {
                    terminal = ratatui::init();
                }
                shared.say(&said);
            }
            _ => {}
        }
    };
    ratatui::restore();
    result
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    // One line each: an alert's name with a line break in it prints no line of its own.
    let line = crate::sanitize::for_display(line).replace('\n', " ");
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Open one recorded alert as an investigation; what happened, in words.
fn open(args: &WatchArgs, file: &std::path::Path, index: usize) -> String {
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("hunch"));
    let mut command: Vec<String> = vec![exe.display().to_string(), "investigate".into()];
    match (&args.env, &args.bundle) {
        (Some(env), _) => command.extend(["--env".into(), env.clone()]),
        (None, Some(bundle)) => {
            let bundle = std::fs::canonicalize(bundle).unwrap_or_else(|_| bundle.clone());
            command.extend(["--bundle".into(), bundle.display().to_string()])
        }
        (None, None) => return "give watch --env NAME or --bundle DIR to open alerts".into(),
    }
    command.extend([
        "--alert-file".into(),
        file.display().to_string(),
        "--alert-index".into(),
        index.to_string(),
    ]);
    let status = if std::env::var_os("TMUX").is_some() {
        // The new window starts from tmux's environment, not this one: the directories
        // hunch reads and writes go with it, and the working directory.
        let mut tmux = std::process::Command::new("tmux");
        tmux.args(["new-window", "-n", "hunch"]);
        if let Ok(dir) = std::env::current_dir() {
            tmux.arg("-c").arg(dir);
        }
        for var in [
            "XDG_DATA_HOME",
            "XDG_CONFIG_HOME",
            "XDG_STATE_HOME",
            "XDG_RUNTIME_DIR",
        ] {
            if let Ok(value) = std::env::var(var) {
                tmux.args(["-e", &format!("{var}={value}")]);
            }
        }
        tmux.arg(shell_line(&command)).status()
    } else {
        std::process::Command::new(&command[0])
            .args(&command[1..])
            .status()
    };
    match status {
        Ok(_) => format!("opened {} as an investigation", file.display()),
        Err(e) => format!("could not open the investigation: {e}"),
    }
}

/// The command as the one shell line `tmux new-window` runs: every word quoted, so a
/// path or an environment name with shell syntax in it stays one word. (Nothing from
/// a payload is in it: the alert is opened by its recorded file and index.)
fn shell_line(command: &[String]) -> String {
    shell_words::join(command)
}

fn authorized(shared: &Shared, headers: &HeaderMap) -> bool {
    let Some(secret) = &shared.secret else {
        return true;
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let given = header("x-hunch-secret")
        .or_else(|| header("authorization").and_then(|v| v.strip_prefix("Bearer ")));
    given.is_some_and(|g| same_secret(g, secret))
}

/// Whether `given` is `secret`, in time that tells nothing about how much of it matched:
/// both are hashed (so lengths differ in nothing) and every byte of the digests compared.
fn same_secret(given: &str, secret: &str) -> bool {
    use sha2::{Digest, Sha256};
    let (a, b) = (Sha256::digest(given), Sha256::digest(secret));
    a.iter().zip(b.iter()).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// The payload with every string in it (keys too) redacted; a body that is not JSON
/// is left for `alert::parse` to refuse.
fn redacted(redactor: &Redactor, body: &str) -> String {
    let Ok(mut value) = serde_json::from_str::<serde_json::Value>(body) else {
        return body.to_string();
    };
    crate::sanitize::each_string(&mut value, &mut |s| *s = redactor.redact(s).0);
    serde_json::to_string(&value).unwrap_or_else(|_| body.to_string())
}

/// Create `dir` (and its parents) and make it the engineer's alone.
fn private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

/// Open a record file for writing: `0600`, never through a symlink (`O_NOFOLLOW`);
/// `fresh` refuses a file already there.
fn private_file(path: &std::path::Path, fresh: bool) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.mode(0o600).custom_flags(libc::O_NOFOLLOW);
    if fresh {
        options.write(true).create_new(true);
    } else {
        options.append(true).create(true);
    }
    options.open(path)
}

async fn receive(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> (StatusCode, String) {
    if !authorized(&shared, &headers) {
        shared.say("refused a POST without the secret (401)");
        return (
            StatusCode::UNAUTHORIZED,
            "the secret is missing or wrong\n".into(),
        );
    }
    let body = match read_body(&headers, body).await {
        Ok(body) => body,
        Err((status, why)) => {
            shared.say(&format!("refused a payload ({}): {why}", status.as_u16()));
            return (status, format!("{why}\n"));
        }
    };
    let body = redacted(&shared.redactor, &body);
    let alerts = match alert::parse(&body) {
        Ok(alerts) => alerts,
        Err(e) => {
            shared.say(&format!("refused a payload (400): {e}"));
            return (StatusCode::BAD_REQUEST, format!("{e}\n"));
        }
    };
    match record(&shared, &body, alerts) {
        Ok(n) => (StatusCode::OK, format!("{n} alerts received\n")),
        Err(e) => {
            // The reason (a local path) is for the screen, not for whoever sent it.
            shared.say(&format!("could not record a payload (500): {e}"));
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "could not record the payload\n".into(),
            )
        }
    }
}

/// How long one connection may stay open: a notification takes milliseconds; a client
/// that trickles its headers or its body (slow loris) is cut off after this.
pub const CONNECTION_LIFETIME: std::time::Duration = std::time::Duration::from_secs(10);

/// Connections served at once; more wait in the kernel's backlog until one ends.
pub const MAX_CONNECTIONS: usize = 64;

/// The TCP listener, handing out connections that end at [`CONNECTION_LIFETIME`], at
/// most [`MAX_CONNECTIONS`] at a time.
struct Guarded {
    inner: tokio::net::TcpListener,
    slots: Arc<tokio::sync::Semaphore>,
}

impl axum::serve::Listener for Guarded {
    type Io = Deadlined;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Deadlined, SocketAddr) {
        let slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let (io, address) = axum::serve::Listener::accept(&mut self.inner).await;
        let deadline = Box::pin(tokio::time::sleep(CONNECTION_LIFETIME));
        (
            Deadlined {
                io,
                deadline,
                _slot: slot,
            },
            address,
        )
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// A connection that fails every read and write once its deadline has passed (its slot
/// is given back when it is dropped).
struct Deadlined {
    io: tokio::net::TcpStream,
    deadline: std::pin::Pin<Box<tokio::time::Sleep>>,
    _slot: tokio::sync::OwnedSemaphorePermit,
}

impl Deadlined {
    /// Whether the deadline passed (and, when not, wake the task when it does).
    fn expired(&mut self, cx: &mut std::task::Context<'_>) -> Option<std::io::Error> {
        use std::future::Future;
        self.deadline.as_mut().poll(cx).is_ready().then(|| {
            std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the connection outlived its deadline",
            )
        })
    }
}

impl tokio::io::AsyncRead for Deadlined {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        if let Some(e) = self.expired(cx) {
            return std::task::Poll::Ready(Err(e));
        }
        std::pin::Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl tokio::io::AsyncWrite for Deadlined {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        if let Some(e) = self.expired(cx) {
            return std::task::Poll::Ready(Err(e));
        }
        std::pin::Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// The body as text: refused from its `Content-Length` alone when that is over
/// [`MAX_BODY`] (before a byte is read), and when the bytes that come are.
async fn read_body(
    headers: &HeaderMap,
    body: axum::body::Body,
) -> Result<String, (StatusCode, String)> {
    let too_large = || {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is over {} KiB", MAX_BODY / 1024),
        )
    };
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return Err(too_large());
    }
    let bytes = axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the body could not be read whole (over {} KiB, or the connection ended)",
                MAX_BODY / 1024
            ),
        )
    })?;
    String::from_utf8(bytes.to_vec())
        .map_err(|_| (StatusCode::BAD_REQUEST, "the body is not UTF-8".to_string()))
}

/// Record a payload and its alerts, queue the firing ones, mark the resolved ones.
fn record(shared: &Shared, body: &str, alerts: Vec<Alert>) -> std::io::Result<usize> {
    let mut queue = shared
        .queue
        .lock()
        .map_err(|_| std::io::Error::other("the queue's lock was poisoned"))?;
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3f");
    let count = alerts.len();
    let mut log = private_file(&shared.dir.join("received.jsonl"), false)?;
    // Every accepted payload is kept as it came, for `--alert-file` (with the alert's
    // `--alert-index`).
    let n = shared
        .payloads
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let file = shared.dir.join(format!("{stamp}-{n}.json"));
    private_file(&file, true)?.write_all(body.as_bytes())?;
    let mut firing = 0;
    for alert in alerts {
        writeln!(
            log,
            "{}",
            serde_json::to_string(&alert).map_err(std::io::Error::other)?
        )?;
        let known = queue.iter_mut().position(|q| {
            q.alert.name == alert.name && q.alert.key.is_some() && q.alert.key == alert.key
        });
        if alert.status == Status::Resolved {
            match known {
                Some(n) => {
                    queue[n].alert.status = Status::Resolved;
                    shared.say(&format!("{:>3}  resolved  {}", n + 1, queue[n].alert.name));
                }
                None => shared.say(&format!(
                    "       resolved  {} (not in the queue)",
                    alert.name
                )),
            }
            continue;
        }
        firing += 1;
        if known.is_some() {
            continue;
        }
        if queue.len() >= MAX_QUEUE {
            shared.say(&format!(
                "       queue full ({MAX_QUEUE}): {} recorded, not queued",
                alert.name
            ));
            continue;
        }
        let index = queue.len() + 1;
        shared.say(&format!(
            "{index:>3}  firing    {}  [{}]",
            alert.brief(),
            alert.format.label()
        ));
        queue.push(Queued {
            alert,
            file: file.clone(),
            firing_index: firing - 1,
        });
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tmux_line_runs_exactly_the_words_given() {
        let dir = tempfile::tempdir().unwrap();
        let proof = dir.path().join("pwned");
        let words: Vec<String> = [
            "printf",
            "%s\\n",
            &format!("$(touch {})", proof.display()),
            &format!("`touch {}`; touch {}", proof.display(), proof.display()),
            "it's \"quoted\" \\ $HOME | & > <",
            "--env",
            "prod\nnext line",
        ]
        .iter()
        .map(|w| w.to_string())
        .collect();
        let out = std::process::Command::new("sh")
            .args(["-c", &shell_line(&words)])
            .output()
            .unwrap();
        let printed = String::from_utf8(out.stdout).unwrap();
        let expected: String = words[2..].iter().map(|w| format!("{w}\n")).collect();
        assert_eq!(printed, expected);
        assert!(!proof.exists());
    }

    #[test]
    fn a_flood_of_alerts_is_recorded_but_the_queue_stays_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let shared = Shared {
            queue: Mutex::new(Vec::new()),
            notes: Mutex::new(Vec::new()),
            changed: tokio::sync::Notify::new(),
            headless: false,
            dir: dir.path().to_path_buf(),
            secret: None,
            redactor: Redactor::default(),
            payloads: Default::default(),
        };
        let alerts: Vec<serde_json::Value> = (0..MAX_QUEUE + 100)
            .map(|n| {
                serde_json::json!({"status": "firing", "labels": {"alertname": format!("A{n}")},
                    "fingerprint": format!("f{n}")})
            })
            .collect();
        let body = serde_json::json!({ "alerts": alerts }).to_string();
        let parsed = alert::parse(&body).unwrap();
        assert_eq!(record(&shared, &body, parsed).unwrap(), MAX_QUEUE + 100);
        assert_eq!(shared.queue.lock().unwrap().len(), MAX_QUEUE);
        let log = std::fs::read_to_string(dir.path().join("received.jsonl")).unwrap();
        assert_eq!(
            log.lines().count(),
            MAX_QUEUE + 100,
            "every alert is recorded"
        );
        assert_eq!(
            shared.notes.lock().unwrap().len(),
            50,
            "the notes stay bounded"
        );
    }

    #[test]
    fn the_secret_is_compared_whole() {
        assert!(same_secret("s3cret", "s3cret"));
        for wrong in ["", "s3cre", "s3cret ", "S3cret", "s3cret\0"] {
            assert!(!same_secret(wrong, "s3cret"), "{wrong:?}");
        }
    }
}
