//! `--runs N`: N investigations of the same incident from one snapshot, compared.
//!
//! The group is a session of its own. Its brain takes the *snapshot* — the evidence the
//! offline pipeline reads first (metrics, changes, traces, logs), read-only — and stops.
//! Each run is then a fork of that snapshot (`hunch fork`, in a session file of its own)
//! driven by its own brain: the same model sampled with another seed, or another brain.
//! The runs go on in parallel, at most `parallel` at a time (a local server queues what
//! it can't serve at once). As each ends, the group records what it concluded and its
//! board ([`EventKind::RunFinished`]); when all have ended, it records the agreement
//! ([`agreement`]) as its board and concludes what more than half the runs concluded,
//! saying in how many.
//!
//! [`EventKind::RunFinished`]: crate::event::EventKind::RunFinished

pub mod agreement;

use crate::brain::offline;
use crate::brain::{Brain, BrainContext, BrainError, BrainItem, HistoryItem};
use crate::engine::gate::{Approver, Policy};
use crate::event::{Budget, CallStatus, Event, RunInfo, RunOutcome, State};
use crate::launch::{Fork, SessionSetup, Source, launch, launch_forked};
use crate::protocol::digest::{CHANGE_EVENTS, LOGS_DIGEST, METRICS_RANK, TRACES_DIGEST};
use futures::StreamExt;
use futures::stream::BoxStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What can keep the runs from starting.
#[derive(Debug, thiserror::Error)]
pub enum RunsError {
    #[error("--runs needs at least 2 runs (got {0})")]
    TooFew(u32),
    #[error(
        "--runs takes at most {MAX_RUNS} runs (got {0}): each holds its session file open from the start"
    )]
    TooMany(u32),
    #[error("creating a session file: {0}")]
    Session(#[from] std::io::Error),
    #[error("setting up the incident for a run: {0}")]
    Source(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The most runs of one incident: every run's session is created (and held open) before
/// the first starts, so a count in the thousands would run out of file descriptors
/// half-way and leave hundreds of sessions behind.
pub const MAX_RUNS: u32 = 100;

/// Whether `count` runs can be started: 2 to [`MAX_RUNS`].
pub fn check_count(count: u32) -> Result<(), RunsError> {
    match count {
        0 | 1 => Err(RunsError::TooFew(count)),
        n if n > MAX_RUNS => Err(RunsError::TooMany(n)),
        _ => Ok(()),
    }
}

/// One run's brain and the sample it draws.
pub struct RunBrain {
    pub brain: Box<dyn Brain>,
    pub seed: Option<u64>,
    pub temperature: Option<f32>,
}

/// A fresh source for each session (the snapshot and each run).
pub type SourceFactory =
    Box<dyn FnMut() -> Result<Source, Box<dyn std::error::Error + Send + Sync>> + Send>;
/// N runs of one incident.
pub struct Runs {
    /// One brain per run, in run order.
    pub brains: Vec<RunBrain>,
    /// At most this many run at once (at least 1).
    pub parallel: usize,
    pub source: SourceFactory,
    pub budget: Budget,
    pub policy: Policy,
    /// Runs have no one at a keyboard: [`Approver::Human`] is taken as
    /// [`Approver::Nobody`] (risky calls are denied unless approve-all).
    pub approver: Approver,
    pub user: String,
    pub redactor: Arc<crate::redact::Redactor>,
}

/// What the runs left: the group's session and final state, and each run's session.
pub struct RunsDone {
    pub session_file: PathBuf,
    pub state: State,
    pub runs: Vec<RunInfo>,
}

/// The evidence tools the snapshot reads, as the offline pipeline first calls them.
const SNAPSHOT_TOOLS: &[&str] = &[METRICS_RANK, CHANGE_EVENTS, TRACES_DIGEST, LOGS_DIGEST];

/// The group's brain: the offline pipeline's evidence calls, then nothing (the runs go on
/// from there).
struct SnapshotBrain {
    name: String,
}

impl Brain for SnapshotBrain {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn turn(&mut self, context: BrainContext) -> BoxStream<'static, Result<BrainItem, BrainError>> {
        let plan = offline::plan(&context);
        let evidence_only = !plan.calls.is_empty()
            && plan
                .calls
                .iter()
                .all(|c| SNAPSHOT_TOOLS.contains(&c.tool.as_str()));
        let mut items = Vec::new();
        if evidence_only {
            if !context
                .history
                .iter()
                .any(|h| matches!(h, HistoryItem::ToolResult { .. }))
            {
                items.push(BrainItem::Reasoning(
                    "The snapshot every run starts from: the same evidence for each.\n".into(),
                ));
            }
            items.extend(plan.calls.into_iter().map(BrainItem::Call));
        }
        futures::stream::iter(items.into_iter().map(Ok)).boxed()
    }
}

/// Run the snapshot, the runs from it, and compare them. `shown` gets every event of the
/// group's session as it is recorded (the headless printer).
pub async fn run_all(
    mut runs: Runs,
    data_dir: &Path,
    mut shown: impl FnMut(&Event),
) -> Result<RunsDone, RunsError> {
    let count = u32::try_from(runs.brains.len()).unwrap_or(u32::MAX);
    check_count(count)?;
    let approver = match runs.approver {
        Approver::Human => Approver::Nobody,
        other => other,
    };
    let brains = std::mem::take(&mut runs.brains);
    let name = format!("{}×{count}", brains[0].brain.name());
    let setup = SessionSetup {
        source: (runs.source)().map_err(RunsError::Source)?,
        brain: Box::new(SnapshotBrain { name }),
        budget: runs.budget,
        policy: runs.policy.clone(),
        approver,
        exit_when_idle: true,
        user: runs.user.clone(),
        redactor: runs.redactor.clone(),
    };
    let group = launch(setup, data_dir)?;
    let (mut engine, group_handle) = (group.engine, group.handle);
    let mut events = engine.subscribe();
    engine.run_open().await;
    let mut snapshot = Vec::new();
    while let Ok(event) = events.try_recv() {
        shown(&event);
        snapshot.push(event);
    }
    let at = last_finished_call(engine.state()).unwrap_or_else(|| "the start".into());
    let shared_calls: Vec<String> = engine.state().calls.iter().map(|c| c.id.clone()).collect();

    let mut planned = Vec::new();
    for (n, run_brain) in (1u32..).zip(brains) {
        let setup = SessionSetup {
            source: (runs.source)().map_err(RunsError::Source)?,
            brain: run_brain.brain,
            budget: runs.budget,
            policy: runs.policy.clone(),
            approver,
            exit_when_idle: true,
            user: runs.user.clone(),
            redactor: runs.redactor.clone(),
        };
        let brain_name = setup.brain.name();
        let fork = Fork {
            parent: group.session_file.clone(),
            at: at.clone(),
            events: snapshot.clone(),
            replay: None,
        };
        let launched = launch_forked(setup, data_dir, fork)?;
        let info = RunInfo {
            run: n,
            of: count,
            brain: brain_name,
            seed: run_brain.seed,
            temperature: run_brain.temperature,
            session: launched.session_file.display().to_string(),
        };
        planned.push((info, launched));
    }
    let infos: Vec<RunInfo> = planned.iter().map(|(info, _)| info.clone()).collect();
    engine.record_runs_started(at, infos.clone());
    while let Ok(event) = events.try_recv() {
        shown(&event);
    }

    let mut going = futures::stream::iter(planned.into_iter().map(|(info, launched)| async move {
        let handle = launched.handle;
        let state = launched.engine.run().await;
        drop(handle);
        let recorded = tokio::task::spawn_blocking(move || launched.recorder.join()).await;
        if !matches!(recorded, Ok(Ok(Ok(())))) {
            tracing::warn!(session = %info.session, "a run's session file may be incomplete");
        }
        outcome_of(info, &state)
    }))
    .buffer_unordered(runs.parallel.max(1));
    let mut outcomes = Vec::new();
    while let Some(outcome) = going.next().await {
        engine.record_run(outcome.clone());
        while let Ok(event) = events.try_recv() {
            shown(&event);
        }
        outcomes.push(outcome);
    }
    outcomes.sort_by_key(|o| o.run.run);

    let agreement = agreement::compare(&outcomes, count, &shared_calls);
    let conclusion = agreement::group_conclusion(&agreement, &outcomes, &shared_calls);
    let reason = match &conclusion {
        Some(_) => format!("{} runs compared", count),
        None => format!("{} runs compared: none concluded", count),
    };
    let state = engine.finish_runs(agreement, conclusion, reason);
    while let Some(event) = events.recv().await {
        shown(&event);
    }
    drop(group_handle);
    let recorder = group.recorder;
    match tokio::task::spawn_blocking(move || recorder.join()).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => return Err(RunsError::Session(e)),
        _ => {
            return Err(RunsError::Session(std::io::Error::other(
                "the recorder stopped unexpectedly",
            )));
        }
    }
    Ok(RunsDone {
        session_file: group.session_file,
        state,
        runs: infos,
    })
}

/// The id of the last call of the snapshot that finished.
fn last_finished_call(state: &State) -> Option<String> {
    state
        .calls
        .iter()
        .rev()
        .find(|c| matches!(c.status, CallStatus::Finished(_)))
        .map(|c| c.id.clone())
}

/// What a run ended with, from its final state.
fn outcome_of(run: RunInfo, state: &State) -> RunOutcome {
    let concluded = state
        .conclusion
        .as_ref()
        .and_then(|c| agreement::concluded_hypothesis(&state.hypotheses, c));
    RunOutcome {
        run,
        ended: state.ended.clone().unwrap_or_else(|| "ended".into()),
        conclusion: state.conclusion.clone(),
        board: state.hypotheses.clone(),
        concluded,
        handed_over: state.handed_over.is_some(),
    }
}
