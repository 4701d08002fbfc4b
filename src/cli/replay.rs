//! `hunch replay`: a recorded session in the replay viewer, or as headless lines; with
//! `--follow`, kept up with as it is written. The follower that feeds a viewer what is
//! appended to a session file is shared with `hunch attach`.

use super::{Look, LookOptions, look, require_terminal, session_file};
use anyhow::{Context, Result, bail};
use hunch::config::{Config, Paths};
use hunch::session::{blob_store_for, read_session};
use hunch::tui::app::{App, Mode};
use hunch::tui::replay::Replay;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub(super) struct ReplayArgs {
    /// A session file (see `hunch sessions`).
    file: PathBuf,
    /// Print the session as lines (as `--headless` prints a live run) instead of
    /// opening the replay viewer.
    #[arg(long)]
    headless: bool,
    /// With --headless: print JSON lines, one event each.
    #[arg(long, requires = "headless")]
    json: bool,
    /// Keep up with a session that is still being written (as `tail -f` does), until
    /// it ends or you quit.
    #[arg(long)]
    follow: bool,
    #[command(flatten)]
    look: LookOptions,
}

/// `hunch replay`: the viewer, or with `--headless` the printer, over a session.
pub(super) fn replay(args: ReplayArgs, config: &Config, paths: &Paths) -> Result<()> {
    let ReplayArgs {
        file,
        headless,
        json,
        follow,
        look: look_options,
    } = args;
    let file = session_file(file, paths)?;
    if headless {
        if follow {
            follow_session(&file, json)
        } else {
            print_session(&file, json)
        }
    } else {
        let look = look(look_options, config, paths)?;
        run_replay(&file, look, follow)
    }
}

/// How often a followed session file is read for what was appended.
const FOLLOW_POLL: std::time::Duration = std::time::Duration::from_millis(200);

/// `hunch replay --follow --headless`: the headless printer over a session as it is
/// written, until it ends.
fn follow_session(file: &Path, json: bool) -> Result<()> {
    let mut follower = hunch::session::Follower::new(file);
    let mut printer = hunch::headless::Printer::new(std::io::stdout().lock(), json);
    loop {
        let appended = follower
            .poll()
            .with_context(|| format!("following the session file {}", file.display()))?;
        for w in &appended.warnings {
            note!("warning: {}: {w}", file.display());
        }
        for event in &appended.events {
            printer.print(&hunch::sanitize::clean_event(event))?;
        }
        if follower.ended() {
            return Ok(());
        }
        std::thread::sleep(FOLLOW_POLL);
    }
}

/// A notice shown only on this terminal (never recorded).
pub(super) fn local_notice(text: String) -> hunch::event::Event {
    hunch::event::Event {
        seq: u64::MAX,
        ts: chrono::Utc::now(),
        kind: hunch::event::EventKind::Notice { text },
    }
}

/// Send what is appended to a followed session file to a viewer (replay or attach),
/// cleaned, until the session ends or the viewer closes; a failure is said on its screen.
pub(super) fn spawn_follower(
    file: &Path,
    mut follower: hunch::session::Follower,
    sender: tokio::sync::mpsc::UnboundedSender<hunch::event::Event>,
) {
    let file = file.to_path_buf();
    tokio::spawn(async move {
        while !follower.ended() {
            tokio::time::sleep(FOLLOW_POLL).await;
            match follower.poll() {
                Ok(appended) => {
                    for event in appended.events {
                        if sender.send(hunch::sanitize::clean_event(&event)).is_err() {
                            return;
                        }
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, file = %file.display(), "following stopped");
                    let _ = sender.send(local_notice(format!("following stopped: {e}")));
                    return;
                }
            }
        }
    });
}

/// The replay viewer; with `follow`, caught up at once and then played as it is written.
pub(super) fn run_replay(file: &Path, look: Look, follow: bool) -> Result<()> {
    let mut follower = hunch::session::Follower::new(file);
    let log = if follow {
        let appended = follower
            .poll()
            .with_context(|| format!("reading the session file {}", file.display()))?;
        hunch::session::SessionLog {
            events: appended.events,
            warnings: appended.warnings,
        }
    } else {
        read_session(file)
            .with_context(|| format!("reading the session file {}", file.display()))?
    };
    if log.events.is_empty() {
        bail!(
            "{} holds no hunch events{}",
            file.display(),
            log.warnings
                .first()
                .map(|w| format!(" ({w})"))
                .unwrap_or_default()
        );
    }
    require_terminal(
        "the replay viewer",
        "`hunch replay --headless FILE` prints it as lines (add --json for JSON lines)",
    )?;
    let warnings: Vec<String> = log.warnings.iter().map(|w| w.to_string()).collect();
    for w in &warnings {
        note!("warning: {}: {w}", file.display());
    }
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let mut replay = Replay::new(log.events, warnings.clone());
        let mut state = hunch::event::State::new();
        replay.restart(&mut state);
        let appended = follow.then(|| {
            // Caught up at once; what is written next plays as it comes.
            replay.follow_from_end(&mut state);
            let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
            spawn_follower(file, follower, sender);
            receiver
        });
        let mut app = App::new(state, Mode::Replay(replay), look.keymap, look.theme);
        app.session_file = Some(file.to_path_buf());
        app.blobs = Some(blob_store_for(file));
        app.sync_decision();
        hunch::tui::run(&mut app, appended)
            .await
            .context("the terminal UI failed")
    })?;
    for w in &warnings {
        note!("warning: {}: {w}", file.display());
    }
    Ok(())
}

/// `hunch replay --headless`: a recorded session through the headless printer, every
/// string cleaned again (older files may hold raw escapes).
/// The session as headless lines, streamed: each event is printed as it is read.
fn print_session(file: &Path, json: bool) -> Result<()> {
    let mut printer = hunch::headless::Printer::new(std::io::stdout().lock(), json);
    let (mut events, mut printed) = (0usize, Ok(()));
    let warnings = hunch::session::each_event(file, &mut |event| {
        events += 1;
        if printed.is_ok() {
            printed = printer.print(&hunch::sanitize::clean_event(&event));
        }
    })
    .with_context(|| format!("reading the session file {}", file.display()))?;
    printed?;
    for w in &warnings {
        note!("warning: {}: {w}", file.display());
    }
    if events == 0 {
        bail!("{} holds no hunch events", file.display());
    }
    Ok(())
}
