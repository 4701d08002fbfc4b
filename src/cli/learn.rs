//! `hunch learn`, and learning on conclusion: a concluded session written as a past
//! incident the next investigation can find — on its own only when a person took part.

use super::session_file;
use anyhow::Result;
use hunch::config::{Config, Paths};
use hunch::redact::Redactor;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub(super) struct LearnArgs {
    /// A session file (see `hunch sessions`).
    file: PathBuf,
}

/// `hunch learn`: the session added to the past incidents, whoever took part.
pub(super) fn learn_command(args: LearnArgs, config: &Config, paths: &Paths) -> Result<()> {
    let redactor = Redactor::new(&config.redaction_patterns)?;
    let session = session_file(args.file, paths)?;
    let path = hunch::knowledge::learn::learn(&session, &paths.data_dir, &redactor)?;
    say_learned(&session, &path);
    Ok(())
}

/// A concluded session becomes a past incident the next investigation can find — when
/// a person took part (edited the board, steered, typed a credential or decided an
/// approval). A conclusion no one looked at is unverified: learned, a wrong one would be
/// recalled as evidence next time and repeat itself. `hunch learn SESSION` adds it.
pub(super) fn learn_from(session_file: &Path, paths: &Paths, redactor: &Redactor) {
    use hunch::event::EventKind;
    // Streamed: only two facts are needed from the record.
    let (mut a_person_took_part, mut concluded) = (false, false);
    let read = hunch::session::each_event(session_file, &mut |e| {
        a_person_took_part |= match &e.kind {
            EventKind::HypothesisEdited { .. }
            | EventKind::Steering { .. }
            | EventKind::CredentialSupplied { .. } => true,
            EventKind::ApprovalDecided { by, .. } => hunch::event::decided_by_a_person(by),
            _ => false,
        };
        concluded |= matches!(e.kind, EventKind::Concluded { .. });
    });
    if read.is_err() {
        return;
    }
    if !a_person_took_part {
        if concluded {
            note!(
                "not learned: no one took part in this conclusion; `hunch learn {}` adds it to the past incidents",
                session_file.display()
            );
        }
        return;
    }
    match hunch::knowledge::learn::learn(session_file, &paths.data_dir, redactor) {
        Ok(path) => say_learned(session_file, &path),
        Err(hunch::knowledge::learn::LearnError::NotConcluded(_)) => {}
        Err(e) => note!("warning: not learned: {e}"),
    }
}

/// Where a session was learned: its own file, or the one that already tells the same
/// story (the same incident investigated again is not learned twice).
fn say_learned(session: &Path, learned: &Path) {
    if learned.file_stem() == session.file_stem() {
        note!("learned: {}", learned.display());
    } else {
        note!(
            "already learned: the same story is in {} (not written again)",
            learned.display()
        );
    }
}
