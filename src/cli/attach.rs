//! `hunch attach`: join a running investigation from another terminal — events come from
//! following its session file, commands go over the socket it serves; a credential is
//! never sent from here.

use super::replay::{local_notice, spawn_follower};
use super::{Look, LookOptions, look, require_terminal, session_file};
use anyhow::{Context, Result, bail};
use hunch::config::{Config, Paths};
use hunch::launch::current_user;
use hunch::session::blob_store_for;
use hunch::tui::app::{App, Mode};
use std::path::PathBuf;

#[derive(clap::Args)]
pub(super) struct AttachArgs {
    /// A session file or id (see `hunch sessions`); default: the newest running session
    /// that can be attached to.
    session: Option<PathBuf>,
    /// Only watch: nothing you press is sent.
    #[arg(long)]
    watch: bool,
    /// Who you are in the record (default: $USER).
    #[arg(long = "as", value_name = "NAME")]
    as_user: Option<String>,
    #[command(flatten)]
    look: LookOptions,
}

/// `hunch attach`: as `--as` (or $USER), to the session named by id or path, or else the
/// newest attachable one.
pub(super) fn attach_command(args: AttachArgs, config: &Config, paths: &Paths) -> Result<()> {
    let AttachArgs {
        session,
        watch,
        as_user,
        look: look_options,
    } = args;
    let session = session.map(|s| session_file(s, paths)).transpose()?;
    let look = look(look_options, config, paths)?;
    let user = as_user
        .filter(|name| !name.trim().is_empty())
        .unwrap_or_else(current_user);
    attach(session, watch, &user, look, paths)
}

/// The newest session that is running and serves attachers.
fn newest_attachable(paths: &Paths) -> Result<PathBuf> {
    let sessions = hunch::session::list_sessions(&paths.sessions_dir())?;
    sessions
        .into_iter()
        .find(|s| {
            s.state == hunch::session::SessionState::Running && hunch::attach::attachable(&s.path)
        })
        .map(|s| s.path)
        .with_context(|| {
            format!(
                "no running session to attach to in {} (start one with `hunch demo` or `hunch investigate`, or name a session file)",
                paths.sessions_dir().display()
            )
        })
}

/// `hunch attach`: follow the session file for events, send commands over the socket.
fn attach(
    session: Option<PathBuf>,
    watch: bool,
    user: &str,
    look: Look,
    paths: &Paths,
) -> Result<()> {
    use hunch::protocol::{Command, EngineHandle, Hello, RemoteCommand};
    use tokio::io::AsyncWriteExt;
    require_terminal(
        "hunch attach",
        "`hunch replay --follow --headless FILE` prints a running session as lines",
    )?;
    let file = match session {
        Some(file) => file,
        None => newest_attachable(paths)?,
    };
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let mut stream = match hunch::attach::connect(&file).await {
            Ok(stream) => stream,
            Err(e) if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
            {
                bail!(
                    "no hunch is serving {} (it has ended, or runs on another machine); `hunch replay` shows it",
                    file.display()
                )
            }
            Err(e) => bail!("can't attach to {}: {e}", file.display()),
        };
        let hello = serde_json::to_string(&Hello {
            user: user.to_string(),
            watch,
        })? + "\n";
        stream.write_all(hello.as_bytes()).await?;
        let mut follower = hunch::session::Follower::new(&file);
        let first = follower
            .poll()
            .with_context(|| format!("reading the session file {}", file.display()))?;
        let state = hunch::event::State::from_events(
            first.events.iter().map(hunch::sanitize::clean_event).collect::<Vec<_>>().iter(),
        );
        let (events_tx, events_rx) = tokio::sync::mpsc::unbounded_channel();
        let (handle, mut commands) = EngineHandle::channel(user);
        let (host, mut stream) = stream.into_split();
        spawn_host_watch(host, &file, events_tx.clone());
        let notices = events_tx.clone();
        tokio::spawn(async move {
            while let Some(envelope) = commands.recv().await {
                let remote = RemoteCommand::of(&envelope.command);
                let refusal = match (&envelope.command, remote) {
                    (Command::Quit, _) => return,
                    (_, Some(_)) if watch => {
                        Some("watching (--watch): nothing you press is sent".to_string())
                    }
                    (_, Some(command)) => {
                        let line = serde_json::to_string(&command).unwrap_or_default() + "\n";
                        stream.write_all(line.as_bytes()).await.err().map(|e| {
                            format!("the investigation no longer takes commands ({e})")
                        })
                    }
                    (_, None) => Some(
                        "the credential is typed on the terminal that asked for it: a secret never crosses to another terminal".to_string(),
                    ),
                };
                if let Some(text) = refusal {
                    let _ = notices.send(local_notice(text));
                }
            }
        });
        spawn_follower(&file, follower, events_tx);
        let mut app = App::new(state, Mode::Live(handle), look.keymap, look.theme);
        app.attached = true;
        app.blobs = Some(blob_store_for(&file));
        app.session_file = Some(file.clone());
        // A decision already waiting keeps its keys in the hint bar (the status bar
        // says who is attached and the file); a watcher has no keys to lose.
        if watch {
            app.flash = Some(format!("watching {} as {user}", file.display()));
        } else if app.decision().is_none() {
            app.flash = Some(format!("attached to {} as {user}", file.display()));
        }
        hunch::tui::run(&mut app, Some(events_rx))
            .await
            .context("the terminal UI failed")
    })?;
    Ok(())
}

/// When the hunch serving the session goes away (its socket closes) without the session
/// file saying it ended (it was killed or crashed), say so on this terminal and end the
/// session here: its decisions close and nothing more is offered that could not arrive.
fn spawn_host_watch(
    mut host: tokio::net::unix::OwnedReadHalf,
    file: &std::path::Path,
    events: tokio::sync::mpsc::UnboundedSender<hunch::event::Event>,
) {
    use tokio::io::AsyncReadExt;
    let file = file.to_path_buf();
    tokio::spawn(async move {
        let mut buf = [0u8; 1024];
        while matches!(host.read(&mut buf).await, Ok(n) if n > 0) {}
        // A host that quits writes its end first; the follower brings it.
        tokio::time::sleep(HOST_GONE_GRACE).await;
        let mut follower = hunch::session::Follower::new(&file);
        if follower.poll().is_err() || follower.ended() {
            return;
        }
        let _ = events.send(local_notice(format!(
            "the hunch running this investigation stopped without ending it (killed or crashed): nothing you press reaches it; `hunch resume {}` goes on with it",
            file.display()
        )));
        let _ = events.send(hunch::event::Event {
            kind: hunch::event::EventKind::SessionEnded {
                reason: "its hunch stopped".into(),
            },
            ..local_notice(String::new())
        });
    });
}

/// How long after the host's socket closes its session file is read for its end.
const HOST_GONE_GRACE: std::time::Duration = std::time::Duration::from_secs(1);
