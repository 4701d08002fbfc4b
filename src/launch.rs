//! Wiring a session together: the tools (a bundle's, or a live environment's), the brain,
//! the policy, the blob store and the recorder, so `main` and the tests start
//! investigations the same way.

use crate::brain::{Brain, IncidentBrief};
use crate::bundle::Bundle;
use crate::engine::gate::{Approver, Policy};
use crate::engine::{Engine, EngineConfig, EngineHandle};
use crate::event::{Budget, IncidentInfo};
use crate::session::{BlobStore, Recorder, RecordingHealth, new_session_id};
use crate::tools::Registry;
use crate::tools::demo::{DemoEnv, demo_registry};
use crate::tools::live::LiveEnv;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

/// What the investigation looks at.
pub enum Source {
    /// An incident bundle (or the embedded demo), with simulated kubectl and psql.
    Bundle(Box<Bundle>),
    /// Real systems, connected with [`crate::tools::live::connect`].
    Live { env: LiveEnv, alert: String },
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
    let now = chrono::Utc::now();
    let session_file = data_dir
        .join("sessions")
        .join(now.format("%Y-%m-%d").to_string())
        .join(format!("{}.jsonl", new_session_id(now)));
    let blobs = BlobStore::new(data_dir.join("blobs"));
    let mut recorder = Recorder::create(&session_file)?;
    let (info, brief, tools) = describe(setup.source, now);
    let config = EngineConfig {
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
    let (mut engine, handle) = Engine::new(config, &setup.user);
    let health = RecordingHealth::default();
    engine.watch_recording(health.clone());
    let mut events = engine.subscribe();
    let recorder = std::thread::Builder::new()
        .name("recorder".into())
        .spawn(move || {
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

/// The bundle's services, and the nodes they run on as services of kind `node` (a
/// node's series are named after it, like a service's).
fn services_and_nodes(services: &[crate::bundle::ServiceSpec]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = services
        .iter()
        .map(|s| (s.name.clone(), s.kind.clone()))
        .collect();
    for node in services.iter().filter_map(|s| s.node.as_ref()) {
        if !out.iter().any(|(name, _)| name == node) {
            out.push((node.clone(), "node".into()));
        }
    }
    out
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
            let info = IncidentInfo {
                title: incident.title.clone(),
                alert: incident.alert.clone(),
                environment: incident.environment.clone(),
                simulated: true,
            };
            let brief = IncidentBrief {
                title: incident.title.clone(),
                alert: incident.alert.clone(),
                fired_at: Some(incident.fired_at),
                namespace: incident.namespace.clone(),
                services: services_and_nodes(&incident.services),
                calls: incident
                    .services
                    .iter()
                    .flat_map(|s| {
                        s.calls
                            .iter()
                            .chain(s.node.as_ref())
                            .map(|c| (s.name.clone(), c.clone()))
                    })
                    .collect(),
            };
            let env = DemoEnv::new(bundle);
            (info, brief, demo_registry(&env))
        }
        Source::Live { env, alert } => {
            let title: String = alert.chars().take(80).collect();
            let info = IncidentInfo {
                title: title.clone(),
                alert: alert.clone(),
                environment: env.name.clone(),
                simulated: false,
            };
            let brief = IncidentBrief {
                title,
                alert,
                fired_at: Some(now),
                namespace: env.namespace.clone(),
                services: env.services.clone(),
                calls: Vec::new(),
            };
            (info, brief, env.tools)
        }
    }
}
