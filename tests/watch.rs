//! `hunch watch`: the real binary receives real HTTP POSTs on a loopback port: firing
//! alerts join the queue and are recorded, a resolved one is marked, a bad payload gets
//! a 4xx and a line on screen and the receiver keeps going, and with a secret set a POST
//! without it is refused.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

struct Watch {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
    port: u16,
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn watch(dir: &std::path::Path, secret: Option<&str>) -> Watch {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hunch"));
    command
        .args(["watch", "--listen", "127.0.0.1:0", "--headless"])
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env_remove("HUNCH_WATCH_SECRET")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(secret) = secret {
        command.env("HUNCH_WATCH_SECRET", secret);
    }
    let mut child = command.spawn().unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in out.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let first = lines
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("watch says where it listens");
    let port = first
        .split_whitespace()
        .nth(2)
        .and_then(|a| a.rsplit(':').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("{first}"));
    Watch { child, lines, port }
}

impl Watch {
    fn next_line(&self) -> String {
        self.lines
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("a line on screen")
    }
}

/// POST `body` with the given extra header line; the status code and body.
fn post(port: u16, body: &str, header: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{header}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let code = answer
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap();
    (code, answer)
}

fn payload(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/alerts/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[test]
fn alerts_posted_on_loopback_are_queued_recorded_and_resolved() {
    let dir = tempfile::tempdir().unwrap();
    let w = watch(dir.path(), None);
    let (code, _) = post(w.port, &payload("alertmanager"), "");
    assert_eq!(code, 200);
    let lines = [w.next_line(), w.next_line(), w.next_line()];
    assert!(
        lines[0].starts_with("  1  firing    CheckoutLatencyHigh"),
        "{lines:?}"
    );
    assert!(
        lines[1].contains("resolved  CartPodRestarting (not in the queue)"),
        "{lines:?}"
    );
    assert!(
        lines[2].starts_with("  2  firing    PaymentsErrorRate"),
        "{lines:?}"
    );

    let (code, answer) = post(w.port, "{\"hello\": 1}", "");
    assert_eq!(code, 400, "{answer}");
    assert!(
        w.next_line()
            .contains("refused a payload (400): not an alert payload")
    );

    // Still there: a Grafana notification, then the checkout alert resolved.
    assert_eq!(post(w.port, &payload("grafana"), "").0, 200);
    assert!(w.next_line().starts_with("  3  firing    Checkout p99"));
    let resolved = payload("alertmanager").replacen("\"status\": \"firing\",\n      \"labels\": {\n        \"alertname\": \"CheckoutLatencyHigh\"", "\"status\": \"resolved\",\n      \"labels\": {\n        \"alertname\": \"CheckoutLatencyHigh\"", 1);
    assert_ne!(resolved, payload("alertmanager"));
    assert_eq!(post(w.port, &resolved, "").0, 200);
    assert!(
        w.next_line()
            .starts_with("  1  resolved  CheckoutLatencyHigh")
    );

    // Every alert recorded; each queued one as a payload `--alert-file` reads.
    let alerts = dir.path().join("data/hunch/alerts");
    let received = std::fs::read_to_string(alerts.join("received.jsonl")).unwrap();
    assert_eq!(received.lines().count(), 3 + 1 + 3);
    let saved = std::fs::read_dir(&alerts)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "json")
        })
        .count();
    assert_eq!(saved, 3);
}

#[test]
fn with_a_secret_a_post_without_it_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let w = watch(dir.path(), Some("s3cret-token"));
    assert_eq!(post(w.port, &payload("pagerduty"), "").0, 401);
    assert!(w.next_line().contains("without the secret (401)"));
    assert_eq!(
        post(
            w.port,
            &payload("pagerduty"),
            "Authorization: Bearer wrong\r\n"
        )
        .0,
        401
    );
    let _ = w.next_line();
    assert_eq!(
        post(
            w.port,
            &payload("pagerduty"),
            "Authorization: Bearer s3cret-token\r\n"
        )
        .0,
        200
    );
    assert!(
        w.next_line()
            .contains("firing    checkout p99 latency above 2s")
    );
}

#[test]
fn watch_refuses_to_listen_beyond_loopback_unless_told() {
    let out = Command::new(env!("CARGO_BIN_EXE_hunch"))
        .args(["watch", "--listen", "0.0.0.0:0", "--headless"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--allow-remote"));
}

/// A tmux server of the test's own, killed when dropped.
struct TmuxServer(String);

impl TmuxServer {
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.0])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn wait_for(&self, target: &str, text: &str) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let screen = self.run(&["capture-pane", "-p", "-t", target]);
            if screen.contains(text) {
                return screen;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for {text:?} in {target}:\n{screen}"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

impl Drop for TmuxServer {
    fn drop(&mut self) {
        self.run(&["kill-server"]);
    }
}

/// The screen inside tmux: the alert POSTed shows in the queue, and enter on the
/// second one opens it as an investigation in a new tmux window, with that alert.
#[test]
fn enter_opens_the_selected_alert_in_a_new_tmux_window() {
    assert!(
        Command::new("tmux")
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success()),
        "tmux is required (apt-get install tmux)"
    );
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let bundle = format!("{d}/bundle");
    let out = Command::new(env!("CARGO_BIN_EXE_hunch"))
        .args(["demo", "--write-bundle", &bundle])
        .env("XDG_DATA_HOME", format!("{d}/data"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let command = format!(
        "env XDG_DATA_HOME={d}/data XDG_CONFIG_HOME={d}/config XDG_STATE_HOME={d}/state XDG_RUNTIME_DIR={d}/run TERM=xterm-256color {} watch --listen 127.0.0.1:{port} --bundle {bundle}; sleep 600",
        env!("CARGO_BIN_EXE_hunch")
    );
    let tmux = TmuxServer(format!("hunch-watch-{}", std::process::id()));
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "w",
        "-n",
        "watch",
        "-x",
        "120",
        "-y",
        "30",
        &command,
    ]);
    tmux.wait_for("w:watch", &format!("listening on 127.0.0.1:{port}"));
    assert_eq!(post(port, &payload("alertmanager"), "").0, 200);
    tmux.wait_for("w:watch", "alerts (2 firing)");
    let screen = tmux.wait_for("w:watch", "PaymentsErrorRate");
    assert!(screen.contains("CheckoutLatencyHigh"), "{screen}");
    tmux.run(&["send-keys", "-t", "w:watch", "Down"]);
    tmux.run(&["send-keys", "-t", "w:watch", "Enter"]);
    tmux.wait_for("w:watch", "opened ");
    let windows = tmux.run(&["list-windows", "-t", "w", "-F", "#{window_name}"]);
    assert!(windows.lines().any(|w| w == "hunch"), "{windows}");
    tmux.wait_for("w:hunch", "payments error rate above 2%");
}
