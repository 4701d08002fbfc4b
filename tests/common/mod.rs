//! Helpers shared by the integration tests: run the demo investigation with a scripted
//! engineer answering prompts, and read back what was recorded.
#![allow(dead_code)]

use hunch::bundle::Bundle;
use hunch::engine::gate::{Approver, Policy};
use hunch::engine::{Command, EngineHandle};
use hunch::event::{Event, EventKind, State};
use hunch::launch::{SessionSetup, launch};
use hunch::session::read_session;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub struct Outcome {
    pub events: Vec<Event>,
    pub state: State,
    pub session_file: PathBuf,
    pub file_text: String,
    _dir: tempfile::TempDir,
}

impl Outcome {
    pub fn commands(&self) -> Vec<String> {
        self.state.calls.iter().map(|c| c.command.clone()).collect()
    }

    pub fn position(&self, wanted: impl Fn(&EventKind) -> bool) -> Option<usize> {
        self.events.iter().position(|e| wanted(&e.kind))
    }
}

/// Run the embedded demo; `engineer` sees every event (and the state so far) and may answer.
pub async fn run_demo(
    policy: Policy,
    approver: Approver,
    engineer: impl FnMut(&Event, &State, &EngineHandle),
) -> Outcome {
    run_demo_with(policy, approver, |_| {}, engineer).await
}

/// Like [`run_demo`], with commands queued before the engine starts.
pub async fn run_demo_with(
    policy: Policy,
    approver: Approver,
    before: impl FnOnce(&EngineHandle),
    mut engineer: impl FnMut(&Event, &State, &EngineHandle),
) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let setup = SessionSetup {
        source: hunch::launch::Source::Bundle(Box::new(Bundle::demo())),
        brain: Box::new(hunch::brain::offline::OfflineBrain::new(Duration::ZERO)),
        policy,
        approver,
        exit_when_idle: true,
        budget: Default::default(),
        user: "alice".into(),
        redactor: Default::default(),
    };
    let launched = launch(setup, dir.path()).unwrap();
    let mut engine = launched.engine;
    let mut rx = engine.subscribe();
    let handle = launched.handle.clone();
    before(&handle);
    let task = tokio::spawn(engine.run());
    let mut events = Vec::new();
    let mut state = State::new();
    let run = async {
        while let Some(event) = rx.recv().await {
            state.apply(&event);
            engineer(&event, &state, &handle);
            events.push(event);
        }
    };
    tokio::time::timeout(Duration::from_secs(30), run)
        .await
        .expect("the investigation finished in time");
    task.await.unwrap();
    drop(launched.handle);
    drop(handle);
    launched.recorder.join().unwrap().unwrap();
    let file_text = std::fs::read_to_string(&launched.session_file).unwrap();
    let log = read_session(&launched.session_file).unwrap();
    assert!(log.warnings.is_empty(), "{:?}", log.warnings);
    assert_eq!(
        log.events, events,
        "the session file holds exactly the events the bus carried"
    );
    Outcome {
        events,
        state,
        session_file: launched.session_file,
        file_text,
        _dir: dir,
    }
}

pub const SECRET: &str = "hunter2-d3mo-PASSWORD";

/// An engineer who types the secret when asked and approves everything.
pub fn approve_everything(event: &Event, _: &State, handle: &EngineHandle) {
    match &event.kind {
        EventKind::CredentialRequested { id, .. } => handle.send(Command::SupplyCredential {
            id: id.clone(),
            secret: hunch::tools::Secret::new(SECRET.into()),
        }),
        EventKind::ApprovalRequested { id, .. } => handle.send(Command::Approve {
            id: id.clone(),
            approval: hunch::engine::Approval::Once,
        }),
        _ => {}
    }
}

/// Run the real binary with its data, state and config dirs under `dir` (as `user`, when
/// given) and `stdin` as its input: whether it succeeded, its stdout and its stderr.
pub fn hunch_in(
    dir: &Path,
    user: Option<&str>,
    args: &[&str],
    stdin: &[u8],
) -> (bool, String, String) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut command = Command::new(env!("CARGO_BIN_EXE_hunch"));
    command
        .args(args)
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(user) = user {
        command.env("USER", user);
    }
    let mut child = command.spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
