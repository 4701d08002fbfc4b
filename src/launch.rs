//! Wiring a session together: the tools (a bundle's, or a live environment's), the brain,
//! the policy, the blob store and the recorder, so `main` and the tests start
//! investigations the same way.

use crate::brain::{Brain, IncidentBrief};
use crate::bundle::Bundle;
use crate::engine::gate::{Approver, Policy};
use crate::engine::{Engine, EngineConfig, EngineHandle};
use crate::event::{Budget, IncidentInfo, Origin};
use crate::session::{BlobStore, Recorder, RecordingHealth, SessionLock, new_session_id};
use crate::tools::Registry;
use crate::tools::demo::{DemoEnv, demo_registry};
use crate::tools::live::LiveEnv;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

/// What the investigation looks at (one per session, so its size does not matter).
#[allow(clippy::large_enum_variant)]
pub enum Source {
    /// An incident bundle (or the embedded demo), with simulated kubectl and psql.
    Bundle(Box<Bundle>),
    /// Real systems, connected with [`crate::tools::live::connect`].
    Live {
        env: LiveEnv,
        alert: String,
        /// When the alert fired, when it said (a payload's start); else the session's start.
        fired_at: Option<chrono::DateTime<chrono::Utc>>,
    },
}

impl Source {
    /// The environment the session acts in, as `[[trusted]]` rules name it: the
    /// `[environments.NAME]`, or `demo` for the demo and bundles (simulated tools).
    pub fn environment(&self) -> &str {
        match self {
            Source::Bundle(_) => "demo",
            Source::Live { env, .. } => &env.name,
        }
    }
}

pub struct SessionSetup {
    pub source: Source,
    pub brain: Box<dyn Brain>,
    pub budget: Budget,
    pub policy: Policy,
    pub approver: Approver,
    pub exit_when_idle: bool,
    /// Who is at the keyboard (recorded with each decision).
    pub user: String,
    /// Applied to everything recorded, shown or sent to a model.
    pub redactor: std::sync::Arc<crate::redact::Redactor>,
}

pub struct Launched {
    pub engine: Engine,
    pub handle: EngineHandle,
    pub session_file: PathBuf,
    /// Finishes when the engine has ended and every event is on disk.
    pub recorder: JoinHandle<std::io::Result<()>>,
    pub blobs: BlobStore,
}

/// The engineer's name for the record: `$USER`, else "engineer".
pub fn current_user() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| "engineer".into())
}

pub fn launch(setup: SessionSetup, data_dir: &Path) -> std::io::Result<Launched> {
    let session_file = new_session_file(data_dir);
    let blobs = BlobStore::new(data_dir.join("blobs"));
    start(setup, blobs, session_file, None, None)
}

fn new_session_file(data_dir: &Path) -> PathBuf {
    let now = chrono::Utc::now();
    data_dir
        .join("sessions")
        .join(now.format("%Y-%m-%d").to_string())
        .join(format!("{}.jsonl", new_session_id(now)))
}

/// A recorded session to start a new one from (`hunch fork`).
pub struct Fork {
    /// The parent session's file.
    pub parent: PathBuf,
    /// The parent's last call the fork keeps.
    pub at: String,
    /// The parent's events up to and including that call's end.
    pub events: Vec<crate::event::Event>,
    /// With `--replay-tools`: the parent's answers, which the fork's tools give instead
    /// of reaching any system.
    pub replay: Option<Vec<crate::tools::replay::RecordedAnswer>>,
}

/// Start a new session from a recorded one: its file begins with the parent's events
/// up to the fork point, then says it was forked, then goes on with this setup's brain.
pub fn launch_forked(
    setup: SessionSetup,
    data_dir: &Path,
    fork: Fork,
) -> std::io::Result<Launched> {
    let session_file = new_session_file(data_dir);
    let blobs = BlobStore::new(data_dir.join("blobs"));
    start(
        setup,
        blobs,
        session_file,
        Some(Continuation::Fork(fork)),
        None,
    )
}

/// How a session that does not start fresh begins.
enum Continuation {
    Resume(Vec<crate::event::Event>),
    Fork(Fork),
}

/// A recorded session to continue: its file, which the resumed run appends to, the
/// events it holds, and the lock that makes this process its only writer (taken before
/// anything else is done with it: [`SessionLock::acquire`]).
pub struct Resume {
    pub file: PathBuf,
    pub events: Vec<crate::event::Event>,
    pub lock: SessionLock,
}

/// Continue a recorded session (`hunch resume`): the engine starts from its events and
/// appends to the same file.
pub fn launch_resumed(setup: SessionSetup, resume: Resume) -> std::io::Result<Launched> {
    end_with_newline(&resume.file)?;
    let blobs = crate::session::blob_store_for(&resume.file);
    start(
        setup,
        blobs,
        resume.file,
        Some(Continuation::Resume(resume.events)),
        Some(resume.lock),
    )
}

/// A file cut mid-line (the process was killed while writing) gets its newline, so the
/// next event starts a line of its own and the torn one stays a readable warning.
fn end_with_newline(file: &Path) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom, Write};
    use std::os::unix::fs::OpenOptionsExt;
    let mut handle = std::fs::OpenOptions::new()
        .read(true)
        .append(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(file)?;
    if handle.metadata()?.len() == 0 {
        return Ok(());
    }
    handle.seek(SeekFrom::End(-1))?;
    let mut last = [0u8];
    handle.read_exact(&mut last)?;
    if last[0] != b'\n' {
        handle.write_all(b"\n")?;
    }
    Ok(())
}

fn start(
    setup: SessionSetup,
    blobs: BlobStore,
    session_file: PathBuf,
    continuation: Option<Continuation>,
    lock: Option<SessionLock>,
) -> std::io::Result<Launched> {
    let now = chrono::Utc::now();
    let mut recorder = Recorder::create(&session_file)?;
    // Held by the recorder thread: the file has one writer for as long as it is written.
    let lock = match lock {
        Some(lock) => lock,
        None => SessionLock::acquire(&session_file, &setup.user).map_err(std::io::Error::other)?,
    };
    let (info, brief, tools) = describe(setup.source, now);
    let mut config = EngineConfig {
        incident: info,
        brief,
        brain: setup.brain,
        tools,
        policy: setup.policy,
        approver: setup.approver,
        blobs: blobs.clone(),
        exit_when_idle: setup.exit_when_idle,
        budget: setup.budget,
        redactor: setup.redactor,
    };
    let (mut engine, handle) = match continuation {
        None => Engine::new(config, &setup.user),
        Some(Continuation::Resume(events)) => Engine::resume(config, &setup.user, &events),
        Some(Continuation::Fork(fork)) => {
            if let Some(answers) = fork.replay {
                config.tools = crate::tools::replay::replaying(&config.tools, answers);
            }
            // The fork's file holds its history: the parent's events come first.
            for event in &fork.events {
                recorder.record(event)?;
            }
            let parent = fork.parent.display().to_string();
            Engine::fork(config, &setup.user, &fork.events, &parent, &fork.at)
        }
    };
    let health = RecordingHealth::default();
    engine.watch_recording(health.clone());
    let mut events = engine.subscribe();
    let recorder = std::thread::Builder::new()
        .name("recorder".into())
        .spawn(move || {
            let _lock = lock;
            while let Some(event) = events.blocking_recv() {
                if let Err(e) = recorder.record(&event) {
                    tracing::error!(error = %e, path = %recorder.path().display(), "session file write failed");
                    health.fail(format!("{}: {e}", recorder.path().display()));
                    return Err(e);
                }
            }
            Ok(())
        })?;
    Ok(Launched {
        engine,
        handle,
        session_file,
        recorder,
        blobs,
    })
}

/// What the session log and the brain are told about the incident, and the tools.
fn describe(
    source: Source,
    now: chrono::DateTime<chrono::Utc>,
) -> (IncidentInfo, IncidentBrief, Registry) {
    match source {
        Source::Bundle(bundle) => {
            let bundle = bundle.sanitized();
            let incident = &bundle.incident;
            let origin = match &bundle.dir {
                Some(dir) => Origin::Bundle {
                    path: dir.display().to_string(),
                    alert: incident.alert.clone(),
                },
                None => Origin::Demo,
            };
            let info = IncidentInfo {
                title: incident.title.clone(),
                alert: incident.alert.clone(),
                environment: incident.environment.clone(),
                simulated: true,
                origin,
                fired_at: Some(incident.fired_at),
            };
            // No declared calls and a trace file: the graph the spans show.
            let (calls, calls_note) = bundle.call_graph();
            let brief = IncidentBrief {
                title: incident.title.clone(),
                alert: incident.alert.clone(),
                fired_at: Some(incident.fired_at),
                namespace: incident.namespace.clone(),
                services: crate::bundle::traces::with_callers(incident.components(), &calls),
                calls,
                calls_note,
            };
            let env = DemoEnv::new(bundle);
            (info, brief, demo_registry(&env))
        }
        Source::Live {
            env,
            alert,
            fired_at,
        } => {
            // The alert bounds the onset only when it says when it began (its payload's
            // start, or a time in its text): the moment someone typed `--alert` can be
            // long after the page.
            let says_when = fired_at.is_some()
                || crate::analysis::rank::alert_since(&alert, now.timestamp()).is_some();
            let fired_at = fired_at.unwrap_or(now);
            if says_when {
                env.anchor_onset(&alert, fired_at.timestamp());
            }
            let title: String = alert.chars().take(80).collect();
            let info = IncidentInfo {
                title: title.clone(),
                alert: alert.clone(),
                environment: env.name.clone(),
                simulated: false,
                origin: Origin::Env {
                    name: env.name.clone(),
                    alert: alert.clone(),
                },
                fired_at: Some(fired_at),
            };
            let brief = IncidentBrief {
                title,
                alert,
                fired_at: Some(fired_at),
                namespace: env.namespace.clone(),
                services: env.services.clone(),
                calls: env.calls.clone(),
                calls_note: env.calls_note.as_deref().map(String::from),
            };
            (info, brief, env.tools)
        }
    }
}
