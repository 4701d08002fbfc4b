//! `hunch ask SESSION "QUESTION"`: a follow-up question about a recorded investigation.
//! The brain is given the whole record and the question; the question and its answer
//! (with the calls it cites) are appended to the session, so `replay` and `export` show
//! them. The investigation does not go on and no tool runs.
//!
//! The brain is `--model` when given, else none: then the answer is read from the record
//! (the conclusion, the hypotheses and the calls that share the question's words) and
//! says so. The model a session names is never taken from the file: a session file can
//! be forged, and the record must not go to a provider the engineer did not choose for
//! this question (a hosted one, for a session investigated with a local model).

use super::resume::recorded_session;
use super::session_file;
use anyhow::{Result, bail};
use hunch::brain::Brain;
use hunch::brain::llm::LlmBrain;
use hunch::brain::llm::providers::resolve;
use hunch::brain::offline::OfflineBrain;
use hunch::config::{Config, Paths};
use hunch::engine::gate::Approver;
use hunch::launch::{Resume, SessionSetup, launch_resumed};
use hunch::redact::Redactor;
use hunch::tools::live::Reach;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(clap::Args)]
pub(super) struct AskArgs {
    /// A session file or id (see `hunch sessions`).
    session: PathBuf,
    /// The question, in your words.
    question: String,
    /// Ask this model (provider:model); default: the model the session was investigated
    /// with, else none (the answer is read from the record).
    #[arg(long, value_name = "PROVIDER:MODEL")]
    model: Option<String>,
    /// Print JSON lines (the question's and the answer's events).
    #[arg(long)]
    json: bool,
    /// Who is asking, in the record (default: $USER).
    #[arg(long = "as", value_name = "NAME")]
    as_user: Option<String>,
}

/// `hunch ask`: the question answered and appended to the session, under its lock.
pub(super) fn ask(args: AskArgs, config: &Config, paths: &Paths) -> Result<()> {
    if args.question.trim().is_empty() {
        bail!("the question is empty");
    }
    let file = session_file(args.session, paths)?;
    // The question is appended to the file named: never to one a link planted there
    // points at (another user's session, a file of the user's).
    if std::fs::symlink_metadata(&file).is_ok_and(|m| m.file_type().is_symlink()) {
        bail!(
            "{} is a symbolic link: ask about the session file itself",
            file.display()
        );
    }
    // One writer per session: a running investigation takes its questions in its own
    // terminal (`s` after the conclusion) or through `hunch attach`.
    let (lock, user) = super::lock_session(&file, args.as_user)?;
    let runtime = tokio::runtime::Runtime::new()?;
    // No tool runs for a question: nothing is reached, not even to set up.
    let (source, events) = recorded_session(&file, config, paths, &runtime, Reach::Nothing)?;
    let recorded_brain = hunch::event::State::from_events(&events).session.brain;
    let redactor = Arc::new(Redactor::new(&config.redaction_patterns)?);
    let brain = brain_for(args.model.as_deref(), &recorded_brain, config, &redactor)?;
    let policy = config.policy_for(source.environment());
    let setup = SessionSetup {
        source,
        brain,
        budget: Default::default(),
        policy,
        approver: Approver::Nobody,
        exit_when_idle: true,
        user: user.clone(),
        redactor,
    };
    let launched = launch_resumed(setup, Resume { file, events, lock })?;
    let mut engine = launched.engine;
    let mut events = engine.subscribe();
    let state = runtime.block_on(engine.ask_once(args.question, &user));
    drop(launched.handle);
    let mut printer = hunch::headless::Printer::new(std::io::stdout().lock(), args.json);
    while let Ok(event) = events.try_recv() {
        printer.print(&event)?;
    }
    match launched.recorder.join() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => bail!("the answer could not be recorded: {e}"),
        Err(_) => bail!("the recorder stopped unexpectedly; the answer may not be recorded"),
    }
    if state.follow_ups.last().is_none_or(|f| f.answers.is_empty()) {
        bail!("the question was not answered");
    }
    Ok(())
}

/// The brain that answers: `--model`, else none (the answer is read from the record);
/// `recorded` is the model the session names, offered in a hint only.
fn brain_for(
    model: Option<&str>,
    recorded: &str,
    config: &Config,
    redactor: &Arc<Redactor>,
) -> Result<Box<dyn Brain>> {
    let env = |var: &str| std::env::var(var).ok();
    let Some(spec) = model else {
        let named = recorded.split('×').next().unwrap_or_default();
        if named.contains(':') {
            let named = hunch::sanitize::for_display(named);
            note!("answering from the record; to ask the session's model: --model {named}");
        }
        return Ok(Box::new(OfflineBrain::new(Duration::ZERO)));
    };
    let endpoint = resolve(spec, &config.providers, env)?;
    Ok(Box::new(LlmBrain::new(endpoint, redactor.clone())?))
}
