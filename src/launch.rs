//! Wiring a session together: the bundle's tools, the brain, the policy, the blob store
//! and the recorder, so `main` and the tests start investigations the same way.

use crate::brain::{Brain, IncidentBrief};
use crate::bundle::Bundle;
use crate::engine::gate::{Approver, Policy};
use crate::engine::{Engine, EngineConfig, EngineHandle};
use crate::event::{Budget, IncidentInfo};
use crate::session::{BlobStore, Recorder, new_session_id};
use crate::tools::demo::{DemoEnv, demo_registry};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

pub struct SessionSetup {
    pub bundle: Bundle,
    pub brain: Box<dyn Brain>,
    pub budget: Budget,
    pub policy: Policy,
    pub approver: Approver,
    pub exit_when_idle: bool,
    /// Who is at the keyboard (recorded with each decision).
    pub user: String,
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
    let incident = &setup.bundle.incident;
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
        services: incident
            .services
            .iter()
            .map(|s| (s.name.clone(), s.kind.clone()))
            .collect(),
    };
    let env = DemoEnv::new(setup.bundle);
    let config = EngineConfig {
        incident: info,
        brief,
        brain: setup.brain,
        tools: demo_registry(&env),
        policy: setup.policy,
        approver: setup.approver,
        blobs: blobs.clone(),
        exit_when_idle: setup.exit_when_idle,
        budget: setup.budget,
    };
    let (mut engine, handle) = Engine::new(config, &setup.user);
    let mut events = engine.subscribe();
    let recorder = std::thread::Builder::new()
        .name("recorder".into())
        .spawn(move || {
            while let Some(event) = events.blocking_recv() {
                if let Err(e) = recorder.record(&event) {
                    tracing::error!(error = %e, path = %recorder.path().display(), "session file write failed");
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
