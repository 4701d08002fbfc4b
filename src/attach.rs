//! `hunch attach`: a second terminal joins a running investigation.
//!
//! Events need no server: the attached terminal follows the session file, which is the
//! one memory (a terminal that falls behind catches up from it, and a slow one slows
//! nobody). Commands go the other way over a Unix socket the running hunch serves under
//! `$XDG_RUNTIME_DIR/hunch/` (mode 0600, the same user only): one JSON line saying who
//! is attaching ([`Hello`]), then one [`RemoteCommand`] per line, each sent to the engine
//! as that engineer's. A credential never crosses the socket, and an attached terminal
//! cannot end the session. The first decision on a pending approval wins: the engine
//! ignores a decision for a call that no longer waits.

use crate::protocol::{EngineHandle, Hello, RemoteCommand};
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

/// Where the socket of the session recorded in `session_file` lives.
pub fn socket_path(session_file: &Path) -> PathBuf {
    let runtime = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|dir| dir.is_absolute())
        .unwrap_or_else(|| std::env::temp_dir().join(format!("hunch-{}", user_id())));
    let stem = session_file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "session".into());
    runtime.join("hunch").join(format!("{stem}.sock"))
}

/// This process's user id, read from a file it just created (no libc call needed).
fn user_id() -> u32 {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(0)
}

/// The socket a running session serves; removed when dropped.
pub struct Server {
    path: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Serve attachers for the session recorded in `session_file`, sending their commands
/// to `handle` under their names. Call inside a tokio runtime.
pub fn serve(session_file: &Path, handle: EngineHandle) -> io::Result<Server> {
    let path = socket_path(session_file);
    let dir = path.parent().expect("a socket path has a directory");
    std::fs::create_dir_all(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    let owner = std::fs::metadata(&path)?.uid();
    let task = tokio::spawn(async move {
        // Relays live in the set, so stopping the server stops them (and drops their
        // handles: the engine's end never waits on an attached terminal).
        let mut relays = tokio::task::JoinSet::new();
        while let Ok((stream, _)) = listener.accept().await {
            let same_user = stream.peer_cred().is_ok_and(|cred| cred.uid() == owner);
            if !same_user {
                tracing::warn!("refused an attach from another user");
                continue;
            }
            relays.spawn(relay(stream, handle.clone()));
            while relays.try_join_next().is_some() {}
        }
    });
    Ok(Server { path, task })
}

/// One attached terminal: its hello, then its commands, until it goes away.
async fn relay(stream: UnixStream, handle: EngineHandle) {
    let mut lines = BufReader::new(stream).lines();
    let hello = match lines.next_line().await {
        Ok(Some(line)) => serde_json::from_str::<Hello>(&line),
        _ => return,
    };
    let Ok(hello) = hello else {
        tracing::warn!("an attacher sent no valid hello; closed");
        return;
    };
    let user = crate::sanitize::for_display(&hello.user);
    tracing::info!(%user, watch = hello.watch, "attached");
    while let Ok(Some(line)) = lines.next_line().await {
        if hello.watch {
            continue;
        }
        match serde_json::from_str::<RemoteCommand>(&line) {
            Ok(command) => handle.send_as(&user, command.into_command()),
            Err(e) => tracing::warn!(error = %e, "an attacher sent an unknown command"),
        }
    }
    tracing::info!(%user, "detached");
}

/// Whether a running session can be attached to: its socket is there.
pub fn attachable(session_file: &Path) -> bool {
    socket_path(session_file).exists()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Approval, Command};
    use tokio::io::AsyncWriteExt;

    async fn attached(watch: bool, lines: &[&str]) -> Vec<crate::protocol::Envelope> {
        let dir = tempfile::tempdir().unwrap();
        // SAFETY: tests in this module are the only ones reading XDG_RUNTIME_DIR, and set
        // it to the same kind of value.
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", dir.path()) };
        let session = dir.path().join("s1.jsonl");
        let (handle, mut commands) = EngineHandle::channel("alice");
        let server = serve(&session, handle).unwrap();
        let path = socket_path(&session);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "only this user may connect");
        let mut stream = UnixStream::connect(&path).await.unwrap();
        let hello = serde_json::to_string(&Hello {
            user: "bob".into(),
            watch,
        })
        .unwrap();
        stream
            .write_all(format!("{hello}\n").as_bytes())
            .await
            .unwrap();
        for line in lines {
            stream
                .write_all(format!("{line}\n").as_bytes())
                .await
                .unwrap();
        }
        drop(stream);
        let mut got = Vec::new();
        while let Ok(Some(envelope)) =
            tokio::time::timeout(std::time::Duration::from_millis(300), commands.recv()).await
        {
            got.push(envelope);
        }
        drop(server);
        assert!(!path.exists(), "the socket goes with the server");
        got
    }

    #[tokio::test]
    async fn commands_arrive_as_the_attached_engineers_and_watchers_send_none() {
        let approve = serde_json::to_string(&RemoteCommand::Approve {
            id: "c8".into(),
            approval: Approval::Once,
        })
        .unwrap();
        let lines = [
            approve.as_str(),
            "not json",
            r#"{"command":"supply_credential","id":"c5","secret":"x"}"#,
        ];
        let got = attached(false, &lines).await;
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].by, "bob");
        assert!(matches!(&got[0].command, Command::Approve { id, .. } if id == "c8"));
        assert!(attached(true, &lines).await.is_empty());
    }

    #[test]
    fn a_credential_and_quitting_never_cross_the_socket() {
        let secret = Command::SupplyCredential {
            id: "c5".into(),
            secret: crate::protocol::Secret::new("pw".into()),
        };
        assert_eq!(RemoteCommand::of(&secret), None);
        assert_eq!(RemoteCommand::of(&Command::Quit), None);
        let steer = RemoteCommand::of(&Command::Steer("look at the db".into())).unwrap();
        let json = serde_json::to_string(&steer).unwrap();
        assert_eq!(serde_json::from_str::<RemoteCommand>(&json).unwrap(), steer);
    }
}
