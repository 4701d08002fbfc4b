//! `hunch resume` and `hunch fork`: a recorded session read back, its incident connected
//! again from where the recording says it came from, and the run continued — in the same
//! file (resume, one writer, never a concluded one) or in a new one from a call (fork).

use super::investigate::{Begin, investigate, live_source};
use super::{LookOptions, RunOptions, session_file};
use anyhow::{Context, Result, bail};
use hunch::bundle::Bundle;
use hunch::config::{Config, Paths};
use hunch::event::Origin;
use hunch::launch::Source;
use hunch::session::read_session;
use hunch::tools::live::Reach;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub(super) struct ResumeArgs {
    /// A session file (see `hunch sessions`).
    file: PathBuf,
    #[command(flatten)]
    run: RunOptions,
    #[command(flatten)]
    look: LookOptions,
}

#[derive(clap::Args)]
pub(super) struct ForkArgs {
    /// The parent session file (see `hunch sessions`).
    file: PathBuf,
    /// The parent's last call to keep, e.g. c3 (the fork starts after its result).
    #[arg(long, value_name = "CALL")]
    at: String,
    /// Answer the fork's tool calls from the parent's recorded outputs (same tool, same
    /// arguments); any other call fails, and nothing reaches a real system.
    #[arg(long)]
    replay_tools: bool,
    #[command(flatten)]
    run: RunOptions,
    #[command(flatten)]
    look: LookOptions,
}

/// `hunch resume`: the session continued in its own file, under its lock.
pub(super) fn resume(args: ResumeArgs, config: &Config, paths: &Paths) -> Result<()> {
    let ResumeArgs {
        file,
        run,
        look: look_options,
    } = args;
    let file = session_file(file, paths)?;
    // One writer per session: refused before anything is read, connected or written.
    let (lock, _) = super::lock_session(&file, run.as_user.clone())?;
    refuse_concluded(&file, paths)?;
    let runtime = tokio::runtime::Runtime::new()?;
    let (source, events) = recorded_session(&file, config, paths, &runtime, Reach::Systems)?;
    let resume = hunch::launch::Resume { file, events, lock };
    investigate(
        source,
        &runtime,
        run,
        config,
        paths,
        look_options,
        Some(Begin::Resume(resume)),
    )
}

/// `hunch fork`: a new session from the parent's events up to `--at`.
pub(super) fn fork(args: ForkArgs, config: &Config, paths: &Paths) -> Result<()> {
    let ForkArgs {
        file,
        at,
        replay_tools,
        run,
        look: look_options,
    } = args;
    let file = session_file(file, paths)?;
    let runtime = tokio::runtime::Runtime::new()?;
    // Tools that answer from the recording reach nothing, not even to set up.
    let reach = if replay_tools {
        Reach::Nothing
    } else {
        Reach::Systems
    };
    let (source, events) = recorded_session(&file, config, paths, &runtime, reach)?;
    let fork = fork_of(&file, events, at, replay_tools)?;
    investigate(
        source,
        &runtime,
        run,
        config,
        paths,
        look_options,
        Some(Begin::Fork(fork)),
    )
}

/// A concluded session is a finished record: resuming it would append to it.
fn refuse_concluded(file: &Path, paths: &Paths) -> Result<()> {
    let log = read_session(file)
        .with_context(|| format!("reading the session file {}", file.display()))?;
    let state = hunch::event::State::from_events(&log.events);
    if state.conclusion.is_none() {
        return Ok(());
    }
    // Its id when that names it, else its path.
    let id = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|id| session_file(PathBuf::from(id), paths).ok().as_deref() == Some(file))
        .unwrap_or_else(|| file.display().to_string());
    let at = state
        .calls
        .iter()
        .rev()
        .find(|c| c.output.is_some())
        .map_or("CALL".to_string(), |c| c.id.clone());
    bail!(
        "{} has concluded: resuming would append to a finished record. To go on from it, start a new session: hunch fork {id} --at {at}",
        file.display(),
    )
}

/// A recorded session's events, and its incident connected again from where the
/// recording says it came from.
pub(super) fn recorded_session(
    file: &Path,
    config: &Config,
    paths: &Paths,
    runtime: &tokio::runtime::Runtime,
    reach: Reach,
) -> Result<(Source, Vec<hunch::event::Event>)> {
    let log = read_session(file)
        .with_context(|| format!("reading the session file {}", file.display()))?;
    for w in &log.warnings {
        note!("warning: {}: {w}", file.display());
    }
    let origin = log
        .events
        .iter()
        .find_map(|e| match &e.kind {
            hunch::event::EventKind::SessionStarted { incident, .. } => {
                Some(incident.origin.clone())
            }
            _ => None,
        })
        .with_context(|| {
            format!(
                "{} holds no session start: it is not a hunch session, or its first line is damaged",
                file.display()
            )
        })?;
    let source = match origin {
        Origin::Demo => Source::Bundle(Box::new(Bundle::demo())),
        Origin::Bundle { path, alert } => {
            let mut bundle = Bundle::load_reporting(Path::new(&path))
                .with_context(|| format!("loading the session's bundle {path}"))?;
            bundle.incident.alert = alert;
            Source::Bundle(Box::new(bundle))
        }
        Origin::Env { name, alert } => live_source(&name, alert, config, paths, runtime, reach)?,
        Origin::Unknown => bail!(
            "{} was recorded before sessions noted where their incident came from, so it can't be resumed; replay it with `hunch replay`",
            file.display()
        ),
    };
    Ok((source, log.events))
}

/// The parent's events up to the end of call `at`, and with `--replay-tools` its
/// recorded answers.
fn fork_of(
    file: &Path,
    mut events: Vec<hunch::event::Event>,
    at: String,
    replay_tools: bool,
) -> Result<hunch::launch::Fork> {
    use hunch::event::EventKind;
    let finished = |e: &hunch::event::Event| matches!(&e.kind, EventKind::ToolCallFinished { id, .. } if *id == at);
    let Some(end) = events.iter().position(finished) else {
        let calls: Vec<&str> = events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::ToolCallFinished { id, .. } => Some(id.as_str()),
                _ => None,
            })
            .collect();
        bail!(
            "{} has no finished call {at}; its calls are {}",
            file.display(),
            if calls.is_empty() {
                "none".to_string()
            } else {
                calls.join(", ")
            }
        );
    };
    let blobs = hunch::session::blob_store_for(file);
    let replay = replay_tools.then(|| recorded_answers(&events, &blobs));
    events.truncate(end + 1);
    Ok(hunch::launch::Fork {
        parent: file.to_path_buf(),
        at,
        events,
        replay,
    })
}

/// Every successful tool call of a recorded session, with its whole output.
fn recorded_answers(
    events: &[hunch::event::Event],
    blobs: &hunch::session::BlobStore,
) -> Vec<hunch::tools::replay::RecordedAnswer> {
    use hunch::brain::HistoryItem;
    let history = hunch::engine::history::HistoryFold::of(events, blobs);
    history
        .items()
        .iter()
        .filter_map(|item| match item {
            HistoryItem::ToolResult {
                id,
                tool,
                args,
                outcome: hunch::event::CallOutcome::Ok,
                output,
                raw,
                ..
            } if id.starts_with('c') => Some(hunch::tools::replay::RecordedAnswer {
                id: id.clone(),
                tool: tool.clone(),
                args: args.clone(),
                text: output.clone(),
                raw: raw.as_ref().and_then(|r| blobs.get(&r.blob).ok()),
            }),
            _ => None,
        })
        .collect()
}
