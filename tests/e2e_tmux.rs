//! The real binary, driven the way a person drives it: inside tmux, keys sent with
//! `send-keys`, the screen read back with `capture-pane` (polled with a timeout).
//! Each test runs its own tmux server (`-L`) and its own data, config and state dirs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
    dirs: tempfile::TempDir,
    screens: Vec<String>,
}

impl Tmux {
    fn start(name: &str, args: &str) -> Tmux {
        assert!(
            Command::new("tmux")
                .arg("-V")
                .output()
                .is_ok_and(|o| o.status.success()),
            "tmux is required for the end-to-end tests (apt-get install tmux)"
        );
        let dirs = tempfile::tempdir().unwrap();
        let tmux = Tmux {
            socket: format!("hunch-e2e-{name}-{}", std::process::id()),
            dirs,
            screens: Vec::new(),
        };
        tmux.open("main", args);
        tmux
    }

    fn env(&self) -> String {
        let d = self.dirs.path().display();
        format!(
            "env XDG_DATA_HOME={d}/data XDG_CONFIG_HOME={d}/config XDG_STATE_HOME={d}/state XDG_RUNTIME_DIR={d}/run USER=alice TERM=xterm-256color"
        )
    }

    fn open(&self, window: &str, args: &str) {
        let bin = env!("CARGO_BIN_EXE_hunch");
        let command = format!(
            "{} {bin} {args}; echo HUNCH-EXITED-$?; sleep 600",
            self.env()
        );
        let mut cmd = Command::new("tmux");
        cmd.args(["-L", &self.socket]);
        if window == "main" {
            cmd.args([
                "new-session",
                "-d",
                "-s",
                "e2e",
                "-n",
                window,
                "-x",
                "120",
                "-y",
                "36",
                &command,
            ]);
        } else {
            cmd.args(["new-window", "-t", "e2e", "-n", window, &command]);
        }
        assert!(cmd.status().unwrap().success());
    }

    fn keys(&self, window: &str, keys: &[&str]) {
        let target = target_of(window);
        let status = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "-t", &target])
            .args(keys)
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn resize(&self, window: &str, width: u16, height: u16) {
        let target = target_of(window);
        let (w, h) = (width.to_string(), height.to_string());
        let status = Command::new("tmux")
            .args([
                "-L",
                &self.socket,
                "resize-window",
                "-t",
                &target,
                "-x",
                &w,
                "-y",
                &h,
            ])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn literal(&self, window: &str, text: &str) {
        let target = target_of(window);
        let status = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "-l", "-t", &target, text])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn screen(&mut self, window: &str) -> String {
        let target = target_of(window);
        let out = Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-t", &target])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        self.screens.push(text.clone());
        text
    }

    /// Poll the screen until it contains `text`; panic with the last screen after `secs`.
    fn wait_for(&mut self, window: &str, text: &str, secs: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let screen = self.screen(window);
            if screen.contains(text) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {text:?}; the screen was:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A tmux session of its own size on the same server (another engineer's terminal),
    /// running hunch with `args`; its windows are addressed as `name:0`.
    fn open_terminal(&self, name: &str, width: u16, height: u16, args: &str) {
        let bin = env!("CARGO_BIN_EXE_hunch");
        let command = format!(
            "{} {bin} {args}; echo HUNCH-EXITED-$?; sleep 600",
            self.env()
        );
        let (w, h) = (width.to_string(), height.to_string());
        let status = Command::new("tmux")
            .args([
                "-L",
                &self.socket,
                "new-session",
                "-d",
                "-s",
                name,
                "-x",
                &w,
                "-y",
                &h,
            ])
            .arg(&command)
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Kill the hunch running in a pane (the pane's shell stays), as a crash would. The
    /// pane's shell is the parent of hunch (env execs it): exactly that child is killed.
    fn kill_hunch(&self, window: &str) {
        let target = target_of(window);
        let shell = Command::new("tmux")
            .args([
                "-L",
                &self.socket,
                "display-message",
                "-p",
                "-t",
                &target,
                "#{pane_pid}",
            ])
            .output()
            .unwrap();
        let shell = String::from_utf8_lossy(&shell.stdout).trim().to_string();
        let child = Command::new("pgrep").args(["-P", &shell]).output().unwrap();
        let pid = String::from_utf8_lossy(&child.stdout)
            .lines()
            .next()
            .expect("hunch runs under the pane's shell")
            .to_string();
        assert!(
            Command::new("kill")
                .args(["-KILL", &pid])
                .status()
                .unwrap()
                .success()
        );
    }

    fn data(&self) -> PathBuf {
        self.dirs.path().join("data/hunch")
    }

    /// Run hunch outside tmux with the same dirs (another command of the same user):
    /// whether it succeeded, its stdout and its stderr.
    fn run(&self, args: &[&str]) -> (bool, String, String) {
        let d = self.dirs.path();
        let out = Command::new(env!("CARGO_BIN_EXE_hunch"))
            .args(args)
            .env("XDG_DATA_HOME", d.join("data"))
            .env("XDG_CONFIG_HOME", d.join("config"))
            .env("XDG_STATE_HOME", d.join("state"))
            .env("XDG_RUNTIME_DIR", d.join("run"))
            .env("USER", "alice")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// A window of the main session by name, or any target given whole (`pair:0`).
fn target_of(window: &str) -> String {
    if window.contains(':') {
        window.to_string()
    } else {
        format!("e2e:{window}")
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

fn session_path(screen: &str) -> PathBuf {
    let line = screen
        .lines()
        .find(|l| l.starts_with("session saved: "))
        .expect("the session path is printed on exit");
    PathBuf::from(line.trim_start_matches("session saved: ").trim())
}

fn event_types(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p))
            } else {
                out.push(p)
            }
        }
    }
    out
}

/// The transcript and board region: everything but the two status lines.
fn body(screen: &str) -> String {
    let lines: Vec<&str> = screen.lines().collect();
    lines[..lines.len().saturating_sub(2)].join("\n")
}

const SECRET: &str = "S3cret-e2e-Passw0rd";

#[test]
fn a_full_investigation_then_its_replay() {
    let mut t = Tmux::start("full", "demo --pace 2");
    t.wait_for("main", "Credential needed", 30);
    t.literal("main", SECRET);
    t.wait_for("main", "•••••••••••••••••••", 5);
    t.keys("main", &["Enter"]);
    let approval = t.wait_for("main", "Approval needed", 30);
    assert!(approval.contains("kubectl rollout undo deployment/payments -n shop"));
    // Edit the deploy hypothesis (H3) while the approval waits.
    t.keys("main", &["h"]);
    t.wait_for("main", "your edits are authoritative", 10);
    // The editor lists the board's order: the leading H3 first.
    t.keys("main", &["e"]);
    t.wait_for("main", "Edit H3", 10);
    t.keys("main", &["C-j"]);
    t.literal(
        "main",
        "payments 2.14.0 leaves DB transactions open on the capture retry path",
    );
    t.keys("main", &["Enter"]);
    t.wait_for("main", "H3 ✎ supported", 10);
    assert!(
        t.screen("main").contains("PAUSED"),
        "the editor paused the agent"
    );
    t.keys("main", &["Escape"]);
    t.wait_for("main", "Approval needed", 10);
    let deadline = Instant::now() + Duration::from_secs(10);
    while t.screen("main").contains("PAUSED") {
        assert!(
            Instant::now() < deadline,
            "closing the editor resumes the agent"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    t.keys("main", &["y"]);
    let live = t.wait_for("main", "━━ Conclusion", 30);
    assert!(live.contains("concluded"));
    let conclusion_text = t.wait_for("main", "capture retry path", 5);
    assert!(conclusion_text.contains("Conclusion"));
    let live_final = t.screen("main");
    // A smaller client (or a resized window) gets the narrow layout: board above transcript.
    t.resize("main", 80, 24);
    let narrow = t.wait_for("main", "┌ hypotheses", 10);
    assert!(
        narrow.lines().next().unwrap().starts_with("┌ hypotheses"),
        "{narrow}"
    );
    assert!(narrow.lines().all(|l| l.chars().count() <= 80));
    t.resize("main", 120, 36);
    t.keys("main", &["q"]);
    let exited = t.wait_for("main", "HUNCH-EXITED-0", 15);
    let path = session_path(&exited);
    assert!(
        path.starts_with(t.data().join("sessions")),
        "{}",
        path.display()
    );

    let types = event_types(&path);
    let first = |name: &str| {
        types
            .iter()
            .position(|t| t == name)
            .unwrap_or_else(|| panic!("no {name} in {types:?}"))
    };
    assert!(first("credential_requested") < first("credential_supplied"));
    assert!(first("credential_supplied") < first("approval_requested"));
    assert!(first("approval_requested") < first("hypothesis_edited"));
    assert!(first("hypothesis_edited") < first("approval_decided"));
    assert!(first("approval_decided") < first("concluded"));
    assert_eq!(types.last().map(String::as_str), Some("session_ended"));
    // The secret is nowhere: not in the session, blobs, log, or on any screen we saw.
    for file in files_under(t.dirs.path()) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(SECRET),
            "the secret leaked into {}",
            file.display()
        );
    }
    assert!(t.dirs.path().join("state/hunch/hunch.log").exists());
    assert!(
        t.screens.iter().all(|s| !s.contains(SECRET)),
        "the secret was drawn on screen"
    );

    // The replay reaches the same final screen.
    t.open("replay", &format!("replay {}", path.display()));
    t.wait_for("replay", "REPLAY", 10);
    t.keys("replay", &["C-e"]);
    t.wait_for("replay", "━━ Conclusion", 10);
    std::thread::sleep(Duration::from_millis(300));
    let replayed = t.screen("replay");
    assert_eq!(
        body(&replayed),
        body(&live_final),
        "replay final screen differs:\n{replayed}\n--- live ---\n{live_final}"
    );
    t.keys("replay", &["q"]);
    t.wait_for("replay", "HUNCH-EXITED-0", 10);

    // `hunch sessions` lists it.
    t.open("list", "sessions");
    let listed = t.wait_for("list", "HUNCH-EXITED-0", 10);
    assert!(
        listed.contains("checkout p99 latency above 2s") && listed.contains("concluded"),
        "{listed}"
    );
}

#[test]
fn a_denial_reason_changes_what_the_agent_does_next() {
    let mut t = Tmux::start("deny", "demo --pace 2");
    t.wait_for("main", "Credential needed", 30);
    t.literal("main", "pw");
    t.keys("main", &["Enter"]);
    t.wait_for("main", "Approval needed", 30);
    // Focus starts on deny for a destructive call: Enter opens the reason field.
    t.keys("main", &["Enter"]);
    t.wait_for("main", "Reason for the agent", 5);
    t.literal(
        "main",
        "no rollback: 2.14.0 carries a PCI fix; clear the stuck DB sessions instead",
    );
    t.keys("main", &["Enter"]);
    let next = t.wait_for("main", "Approval needed · c9 psql", 30);
    assert!(next.contains("pg_terminate_backend"), "{next}");
    // Quitting while c9 waits asks first.
    t.keys("main", &["q"]);
    t.wait_for("main", "Quit now? c9 waits for your decision", 10);
    t.keys("main", &["y"]);
    let exited = t.wait_for("main", "HUNCH-EXITED-0", 15);
    let log = hunch::session::read_session(&session_path(&exited)).unwrap();
    let state = hunch::event::State::from_events(&log.events);
    let said = state.transcript.iter().any(|e| matches!(e, hunch::event::Entry::Reasoning(t) if t.contains("`kubectl rollout undo deployment/payments -n shop` was not run (denied") && t.contains("PCI fix") && t.contains("Taking that into account")));
    assert!(
        said,
        "the agent quotes the reason and re-plans: {:?}",
        state.transcript
    );
}

#[test]
fn a_killed_session_replays_up_to_its_last_complete_event() {
    let mut t = Tmux::start("kill", "demo --pace 30");
    t.wait_for("main", "metrics_rank", 30);
    t.kill_hunch("main");
    t.wait_for("main", "HUNCH-EXITED-137", 10);
    let path = files_under(&t.data().join("sessions"))
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .unwrap();
    // Simulate the torn write a kill mid-line leaves.
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("{\"seq\":99999,\"ts\":\"2026-11-");
    std::fs::write(&path, text).unwrap();
    t.keys("main", &["C-c"]);
    t.open("replay", &format!("replay {}", path.display()));
    t.wait_for("replay", "REPLAY", 10);
    t.keys("replay", &["C-e"]);
    t.wait_for("replay", "metrics_rank", 10);
    t.keys("replay", &["q"]);
    let after = t.wait_for("replay", "HUNCH-EXITED-0", 10);
    assert!(after.contains("last line is incomplete"), "{after}");
}

#[test]
fn headless_json_concludes_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hunch"))
        .args(["demo", "--headless", "--json"])
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .env("XDG_STATE_HOME", dir.path().join("state"))
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let events: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(events.iter().any(|e| e["type"] == "concluded"));
    assert!(events.iter().any(|e| {
        e["type"] == "approval_decided"
            && e["reason"]
                .as_str()
                .is_some_and(|r| r.starts_with("no approver"))
    }));
}

#[test]
fn a_broken_config_is_named_and_nothing_starts() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("config/hunch")).unwrap();
    std::fs::write(
        dir.path().join("config/hunch/config.toml"),
        "theme = \"dark\"\npolicy = \"sometimes\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hunch"))
        .args(["demo", "--headless"])
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .env("XDG_STATE_HOME", dir.path().join("state"))
        .env("XDG_CONFIG_HOME", dir.path().join("config"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("config.toml:2:") && stderr.contains("read-only"),
        "{stderr}"
    );
}

#[test]
fn every_scroll_key_and_a_small_window_in_the_real_binary() {
    let mut t = Tmux::start("keys", "demo --pace 2");
    t.wait_for("main", "Credential needed", 30);
    t.literal("main", "pw");
    t.keys("main", &["Enter"]);
    t.wait_for("main", "Approval needed", 30);
    // Set the approval aside, then scroll to the top and back: this used to panic.
    t.keys("main", &["r"]);
    t.wait_for("main", "waits for your decision", 10);
    t.keys("main", &["g", "Home", "k", "PageUp", "G", "End"]);
    t.wait_for("main", "waits for your decision", 10);
    t.resize("main", 60, 20);
    t.keys("main", &["r"]);
    let small = t.wait_for("main", "[n] deny", 10);
    assert!(small.contains("[y] approve once"), "{small}");
    t.resize("main", 120, 36);
    t.keys("main", &["q"]);
    t.wait_for("main", "Quit now?", 10);
    t.keys("main", &["y"]);
    let exited = t.wait_for("main", "HUNCH-EXITED-0", 15);
    let path = session_path(&exited);
    t.open("replay", &format!("replay {}", path.display()));
    t.wait_for("replay", "REPLAY", 10);
    t.keys("replay", &["C-e", "g", "Home", "G"]);
    std::thread::sleep(Duration::from_millis(300));
    t.keys("replay", &["q"]);
    t.wait_for("replay", "HUNCH-EXITED-0", 10);
}

#[test]
fn without_a_terminal_or_with_a_closed_pipe_nothing_breaks() {
    let dirs = tempfile::tempdir().unwrap();
    let d = dirs.path();
    let run = |shell: &str| {
        let out = Command::new("bash")
            .args(["-c", shell])
            .env("XDG_DATA_HOME", d.join("data"))
            .env("XDG_CONFIG_HOME", d.join("config"))
            .env("XDG_STATE_HOME", d.join("state"))
            .env("HUNCH", env!("CARGO_BIN_EXE_hunch"))
            .output()
            .unwrap();
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (_, err) = run("$HUNCH demo </dev/null >/dev/null; echo rc=$?");
    assert!(
        err.contains("needs a terminal") && err.contains("--headless"),
        "{err}"
    );
    assert!(
        !d.join("data/hunch/sessions").exists(),
        "no empty session is left behind"
    );
    let (out, err) = run("$HUNCH demo --headless | head -1; echo rc=${PIPESTATUS[0]}");
    assert!(out.ends_with("rc=0\n"), "{out} {err}");
    assert!(
        !err.contains("Broken pipe") && !err.contains("panicked"),
        "{err}"
    );
    // Stderr into the same closed pipe: its closing notes ("session: …") are left unsaid,
    // not a panic (exit 101 before).
    let (out, err) = run("$HUNCH demo --headless 2>&1 | head -1; echo rc=${PIPESTATUS[0]}");
    assert!(out.ends_with("rc=0\n"), "{out} {err}");
    let sessions = d.join("data/hunch/sessions");
    let file = files_under(&sessions)
        .pop()
        .expect("the session was recorded");
    let types = event_types(&file);
    assert_eq!(types.last().map(String::as_str), Some("session_ended"));
    let log = hunch::session::read_session(&file).unwrap();
    let state = hunch::event::State::from_events(&log.events);
    assert_eq!(
        state.ended.as_deref(),
        Some("concluded"),
        "not \"engineer quit\""
    );
    run("$HUNCH demo --headless >/dev/null 2>&1; $HUNCH demo --headless >/dev/null 2>&1");
    let (out, err) = run("$HUNCH sessions | head -1; echo rc=${PIPESTATUS[0]}");
    assert!(
        out.ends_with("rc=0\n") && !err.contains("Broken pipe"),
        "{out} {err}"
    );
    let (out, err) = run(
        "for i in $(seq 1 50000); do echo \"conn from 10.0.0.$((i % 200)) port $i\"; done | $HUNCH logs cluster | head -1; echo rc=${PIPESTATUS[1]}",
    );
    assert!(
        out.ends_with("rc=0\n") && !err.contains("Broken pipe"),
        "{out} {err}"
    );
    let (_, err) = run(&format!(
        "$HUNCH replay {} </dev/null >/dev/null; echo rc=$?",
        file.display()
    ));
    assert!(err.contains("needs a terminal"), "{err}");
    let bundle = d.join("bundle");
    run(&format!("$HUNCH demo --write-bundle {}", bundle.display()));
    std::fs::write(bundle.join("incident.toml"), "edited").unwrap();
    let (_, err) = run(&format!("$HUNCH demo --write-bundle {}", bundle.display()));
    assert!(err.contains("not empty; nothing was written"), "{err}");
    assert_eq!(
        std::fs::read_to_string(bundle.join("incident.toml")).unwrap(),
        "edited"
    );
    let (_, err) = run("$HUNCH sessions --theme dark");
    assert!(err.contains("unexpected argument '--theme'"), "{err}");
}

#[test]
fn replay_follow_plays_what_is_appended_to_a_session_file() {
    let fixture = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/demo-session.jsonl"
    ))
    .unwrap();
    let lines: Vec<&str> = fixture.lines().collect();
    let dirs = tempfile::tempdir().unwrap();
    let path = dirs.path().join("live.jsonl");
    std::fs::write(&path, lines[..60].join("\n") + "\n").unwrap();
    let mut t = Tmux::start("follow", &format!("replay --follow {}", path.display()));
    t.wait_for("main", "60/60", 10);
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    use std::io::Write;
    for line in &lines[60..] {
        writeln!(file, "{line}").unwrap();
    }
    file.flush().unwrap();
    t.wait_for("main", &format!("/{}", lines.len()), 10);
    for _ in 0..5 {
        t.keys("main", &["+"]);
    }
    t.wait_for("main", &format!("{0}/{0}", lines.len()), 60);
    t.keys("main", &["q"]);
    t.wait_for("main", "HUNCH-EXITED-0", 10);
}

/// Two engineers: one runs the demo in a 120x36 terminal, another attaches from an
/// 80x24 one and approves as bob; a third only watches and cannot decide, and dies
/// mid-stream without harm. The record says bob approved. The host sees bob come, leave
/// during the credential prompt (which he can't answer, and which holds nobody), and
/// come back.
#[test]
fn a_second_terminal_attaches_and_approves_as_another_engineer() {
    let mut t = Tmux::start("attach", "demo --pace 2");
    t.wait_for("main", "Credential needed", 30);
    t.open_terminal("glance", 100, 30, "attach --as bob");
    t.wait_for("glance:0", "Credential needed", 10);
    t.wait_for("main", "bob attached", 10);
    t.keys("glance:0", &["q"]);
    t.wait_for("glance:0", "HUNCH-EXITED-0", 10);
    t.wait_for("main", "bob left", 10);
    t.open_terminal("pair", 80, 24, "attach --as bob");
    t.open_terminal("watcher", 100, 30, "attach --watch --as carol");
    // Attached during the credential prompt: its keys, not a greeting, in the hint bar.
    let pair = t.wait_for("pair:0", "esc set aside  q detach  ? help", 10);
    assert!(pair.contains("bob attached"), "{pair}");
    // Nothing is typed there: `?` opens the help, and esc comes back to the prompt.
    t.keys("pair:0", &["?"]);
    t.wait_for("pair:0", "Keys · keymap default", 10);
    t.keys("pair:0", &["Escape"]);
    t.wait_for("pair:0", "esc set aside  q detach  ? help", 10);
    t.wait_for("watcher:0", "watching", 10);
    // The credential is typed where it was asked for.
    t.literal("main", SECRET);
    t.keys("main", &["Enter"]);
    t.wait_for("main", "Approval needed", 30);
    let pair = t.wait_for("pair:0", "Approval needed", 10);
    assert!(
        pair.lines().all(|l| l.chars().count() <= 80),
        "laid out for 80 columns"
    );
    t.wait_for("watcher:0", "Approval needed", 10);
    // The watcher presses approve: nothing is sent.
    t.keys("watcher:0", &["y"]);
    t.wait_for("watcher:0", "nothing you press is sent", 10);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        t.screen("main").contains("Approval needed"),
        "the watcher decided nothing"
    );
    // The watcher's terminal dies; the investigation goes on.
    t.kill_hunch("watcher:0");
    t.wait_for("watcher:0", "HUNCH-EXITED-137", 10);
    // Bob approves from his terminal; the first terminal moves on to the conclusion.
    t.keys("pair:0", &["y"]);
    t.wait_for("main", "━━ Conclusion", 30);
    t.wait_for("pair:0", "concluded", 15);
    t.keys("main", &["q"]);
    let exited = t.wait_for("main", "HUNCH-EXITED-0", 15);
    let path = session_path(&exited);
    let text = std::fs::read_to_string(&path).unwrap();
    let decided: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["type"] == "approval_decided")
        .collect();
    assert_eq!(decided.len(), 1, "{decided:?}");
    assert_eq!(decided[0]["by"], "bob");
    let presence: Vec<String> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["type"] == "attached" || e["type"] == "detached")
        .map(|e| {
            format!(
                "{} {}",
                e["by"].as_str().unwrap(),
                e["type"].as_str().unwrap()
            )
        })
        .collect();
    // Bob's own comings and goings, in order (carol's may interleave with his second
    // attach: the two terminals open at the same moment).
    let bob: Vec<&String> = presence.iter().filter(|p| p.starts_with("bob ")).collect();
    assert_eq!(
        bob[..3],
        ["bob attached", "bob detached", "bob attached"],
        "{presence:?}"
    );
    assert!(
        presence.contains(&"carol attached".to_string())
            && presence.contains(&"carol detached".to_string()),
        "{presence:?}"
    );
    assert!(
        text.lines()
            .any(|l| l.contains("credential_supplied") && l.contains("\"by\":\"alice\"")),
        "the credential was typed by alice, on her terminal"
    );
    assert!(!text.contains(SECRET));
}

/// The usual case: someone is called over ("come look at this") while an approval
/// already waits. Bob attaches then, presses `y`, and the first terminal moves on with
/// the decision recorded as his.
#[test]
fn attaching_while_an_approval_waits_and_approving_from_there() {
    let mut t = Tmux::start("late", "demo --pace 2");
    t.wait_for("main", "Credential needed", 30);
    t.literal("main", SECRET);
    t.keys("main", &["Enter"]);
    t.wait_for("main", "Approval needed", 30);
    t.open_terminal("pair", 100, 30, "attach --as bob");
    // The decision's keys, not a greeting, in the hint bar of the terminal just attached.
    let pair = t.wait_for("pair:0", "Approval needed", 10);
    let hints = pair.lines().last().unwrap_or_default();
    assert!(hints.contains("y approve-once"), "{pair}");
    t.wait_for("pair:0", "bob attached", 10);
    t.keys("pair:0", &["y"]);
    t.wait_for("main", "━━ Conclusion", 30);
    t.keys("main", &["q"]);
    let exited = t.wait_for("main", "HUNCH-EXITED-0", 15);
    let text = std::fs::read_to_string(session_path(&exited)).unwrap();
    let decided: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["type"] == "approval_decided")
        .collect();
    assert_eq!(decided.len(), 1, "{decided:?}");
    assert_eq!(decided[0]["by"], "bob");
}

/// One writer per session: `hunch resume` of a session that is running is refused with
/// who writes it and how to join, and touches nothing. `hunch sessions` says it runs and
/// can be attached to while its process lives, and no longer once it was killed.
#[test]
fn a_running_session_has_one_writer_and_a_killed_one_is_not_listed_as_running() {
    let mut t = Tmux::start("writer", "demo --pace 2");
    t.wait_for("main", "Credential needed", 30);
    let files: Vec<PathBuf> = files_under(&t.data().join("sessions"))
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let file = &files[0];
    let before = std::fs::read(file).unwrap();
    let (ok, out, err) = t.run(&["resume", file.to_str().unwrap(), "--headless"]);
    assert!(!ok, "{out}");
    assert!(
        err.contains(&format!(
            "session {} is being written by pid",
            file.display()
        )) && err.contains("(user alice)")
            && err.contains(&format!("hunch attach {}", file.display())),
        "{err}"
    );
    assert_eq!(
        std::fs::read(file).unwrap(),
        before,
        "the file is untouched"
    );
    let (ok, listing, err) = t.run(&["sessions"]);
    assert!(ok, "{err}");
    assert!(listing.contains("running·attach"), "{listing}");
    // The first terminal still works, and still serves attachers.
    t.literal("main", SECRET);
    t.keys("main", &["Enter"]);
    t.wait_for("main", "Approval needed", 30);
    t.kill_hunch("main");
    t.wait_for("main", "HUNCH-EXITED-137", 10);
    let (ok, listing, err) = t.run(&["sessions"]);
    assert!(ok, "{err}");
    assert!(
        !listing.contains("running") && listing.contains("interrupted"),
        "{listing}"
    );
}

/// The first terminal is killed while a second is attached at 60x20 and an approval
/// waits: the attached terminal says so (its overlay closes, its status bar says the
/// session ended, with room for it on a narrow screen) instead of offering keys whose
/// commands can no longer arrive.
#[test]
fn an_attached_terminal_is_told_when_the_first_one_is_killed() {
    let mut t = Tmux::start("host-gone", "demo --pace 2");
    t.wait_for("main", "Credential needed", 30);
    t.literal("main", SECRET);
    t.keys("main", &["Enter"]);
    t.wait_for("main", "Approval needed", 30);
    t.open_terminal("pair", 60, 20, "attach --as bob");
    t.wait_for("pair:0", "Approval needed", 10);
    let pair = t.wait_for("pair:0", "bob attached", 10);
    let status = pair.lines().rev().nth(1).unwrap_or_default();
    assert!(
        status.contains("bob attached"),
        "60 columns name who is attached in the status bar:\n{pair}"
    );
    t.kill_hunch("main");
    t.wait_for("main", "HUNCH-EXITED-137", 10);
    let pair = t.wait_for("pair:0", "ended: its hunch stopped", 10);
    assert!(!pair.contains("Approval needed"), "{pair}");
    assert!(pair.contains("without ending it"), "{pair}");
    let status = pair.lines().rev().nth(1).unwrap_or_default();
    assert!(
        !status.contains("attached"),
        "nobody stays attached:\n{pair}"
    );
    t.keys("pair:0", &["q"]);
    t.wait_for("pair:0", "HUNCH-EXITED-0", 10);
}

/// The number after the transcript title's `↑` ("transcript · ↑54 (G follows)").
fn scrolled_up(screen: &str) -> usize {
    let line = screen
        .lines()
        .find(|l| l.contains("(G follows)"))
        .unwrap_or_else(|| panic!("no scroll indicator:\n{screen}"));
    let after = line.split('↑').nth(1).expect("an ↑");
    after
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or_else(|_| panic!("no number after ↑: {line}"))
}

/// Where the replay is, from the status bar ("REPLAY ⏸ 1x 194/195").
fn replay_at(screen: &str) -> usize {
    let after = screen.split("1x ").nth(1).expect("a replay position");
    after
        .split('/')
        .next()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no position:\n{screen}"))
}

/// Issue 27 #6 and #9 in the real binary: `g`/`Home`/`PageUp` at the top show how far up
/// the transcript really goes and no further; help fits at 200x60 and says it scrolls at
/// 80x24; a replay steps back (`left`) and seeks to a call (`:` c3).
#[test]
fn clamped_scrolling_help_and_a_replay_that_steps_back_and_seeks() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/demo-session.jsonl");
    let mut t = Tmux::start("seek", &format!("replay {}", fixture.display()));
    t.wait_for("main", "REPLAY", 10);
    t.keys("main", &["C-e"]);
    let end = t.wait_for("main", "concluded", 10);
    let last = replay_at(&end);
    t.keys("main", &["g"]);
    let top = scrolled_up(&t.wait_for("main", "(G follows)", 10));
    assert!(top > 0 && top < 2000, "↑{top}");
    t.keys("main", &["PageUp", "PageUp", "Home", "k"]);
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(scrolled_up(&t.screen("main")), top, "clamped at the top");
    t.keys("main", &["G"]);
    std::thread::sleep(Duration::from_millis(300));
    assert!(!t.screen("main").contains("(G follows)"));

    t.keys("main", &["Left"]);
    std::thread::sleep(Duration::from_millis(300));
    assert!(replay_at(&t.screen("main")) < last, "a step back");
    t.keys("main", &[":"]);
    t.wait_for("main", "Go to call", 10);
    t.literal("main", "c3");
    t.keys("main", &["Enter"]);
    std::thread::sleep(Duration::from_millis(400));
    let seeked = t.screen("main");
    assert!(
        replay_at(&seeked) < last / 2 && !seeked.contains("concluded"),
        "{seeked}"
    );
    assert!(seeked.contains("c3"), "{seeked}");

    t.resize("main", 200, 60);
    t.keys("main", &["?"]);
    let wide = t.wait_for("main", "Keys · keymap default", 10);
    assert!(
        !wide.contains("more ·"),
        "everything fits at 200x60:\n{wide}"
    );
    t.resize("main", 80, 24);
    t.wait_for("main", "more ·", 10);
    // Apart: an escape followed at once by `q` reads as alt-q.
    t.keys("main", &["Escape"]);
    std::thread::sleep(Duration::from_millis(300));
    t.keys("main", &["q"]);
    t.wait_for("main", "HUNCH-EXITED-0", 10);
}
