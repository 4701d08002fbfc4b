//! `hunch attach`: a second terminal joins a running investigation.
//!
//! Events need no server: the attached terminal follows the session file, which is the
//! one memory (a terminal that falls behind catches up from it, and a slow one slows
//! nobody). Commands go the other way over a Unix socket the running hunch serves in a
//! private directory, `$XDG_RUNTIME_DIR/hunch/` (else `$TMPDIR/hunch-<uid>/`): one JSON
//! line saying who is attaching ([`Hello`]), then one [`RemoteCommand`] per line (at most
//! [`MAX_LINE`] bytes), each sent to the engine as that engineer's. The server tells the
//! engine when a terminal comes and goes ([`Command::Attached`], [`Command::Detached`]),
//! so the record says who was there; it never writes an event itself. A credential never
//! crosses the socket, and an attached terminal cannot end the session. The first
//! decision on a pending approval wins: the engine ignores a decision for a call that no
//! longer waits.
//!
//! Same user only, checked at both ends and never through a link: the directory must be
//! a real directory of this user with mode 0700 (it is made so, atomically; one that
//! someone else prepared is an error, never "fixed" with a chmod that could follow a
//! link), the socket must be this user's, and each end checks the other's uid on the
//! connection itself. The server survives failed accepts, and removes only the socket it
//! bound.

use crate::protocol::{Command, EngineHandle, Hello, RemoteCommand};
use std::ffi::OsString;
use std::io;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

/// The longest line an attached terminal may send (a command is a few hundred bytes); a
/// longer one closes that terminal's connection instead of growing a buffer.
pub const MAX_LINE: usize = 64 * 1024;

/// How long the server waits after a failed accept (too many open files) before it
/// accepts again.
const ACCEPT_BACKOFF: std::time::Duration = std::time::Duration::from_millis(200);

/// This process's effective user id: the owner its directory and sockets must have.
fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// The private directory the sockets live in: `$XDG_RUNTIME_DIR/hunch`, or without it
/// `<temp dir>/hunch-<euid>`. [`serve`] makes it (mode 0700) and both ends check it.
pub fn socket_dir() -> PathBuf {
    socket_dir_from(
        std::env::var_os("XDG_RUNTIME_DIR"),
        &std::env::temp_dir(),
        euid(),
    )
}

fn socket_dir_from(runtime: Option<OsString>, temp: &Path, uid: u32) -> PathBuf {
    match runtime.map(PathBuf::from).filter(|dir| dir.is_absolute()) {
        Some(runtime) => runtime.join("hunch"),
        None => temp.join(format!("hunch-{uid}")),
    }
}

/// Where the socket of the session recorded in `session_file` lives.
pub fn socket_path(session_file: &Path) -> PathBuf {
    socket_in(&socket_dir(), session_file)
}

fn socket_in(dir: &Path, session_file: &Path) -> PathBuf {
    let stem = session_file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "session".into());
    dir.join(format!("{stem}.sock"))
}

fn refused(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::PermissionDenied, what)
}

/// Check, without following a link, that `dir` is a directory of user `uid` that only
/// they can enter (mode 0700). Nothing is changed: a directory someone else prepared
/// (a link to elsewhere, another owner, a looser mode) is an error to act on.
fn check_private(dir: &Path, uid: u32) -> io::Result<()> {
    let meta = std::fs::symlink_metadata(dir)?;
    let shown = dir.display();
    if meta.file_type().is_symlink() {
        return Err(refused(format!(
            "{shown} is a symbolic link, not a directory of its own: hunch keeps its sockets only in a private directory (remove the link)"
        )));
    }
    if !meta.is_dir() {
        return Err(refused(format!("{shown} is not a directory (remove it)")));
    }
    if meta.uid() != uid {
        return Err(refused(format!(
            "{shown} belongs to uid {}, not to you (uid {uid}): its sockets can't be trusted (remove it, or set XDG_RUNTIME_DIR)",
            meta.uid()
        )));
    }
    let mode = meta.mode() & 0o777;
    if mode != 0o700 {
        return Err(refused(format!(
            "{shown} has mode {mode:04o}, not 0700: other users could reach its sockets (`chmod 700 {shown}`, or remove it)"
        )));
    }
    Ok(())
}

/// Make the private directory (mode 0700 from the start, never changed afterwards) if
/// it isn't there, then check it as [`check_private`] does.
fn make_private(dir: &Path, uid: u32) -> io::Result<()> {
    match std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
    {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    check_private(dir, uid)
}

/// Check, without following a link, that `path` is a socket of user `uid`.
fn check_socket(path: &Path, uid: u32) -> io::Result<()> {
    let meta = std::fs::symlink_metadata(path)?;
    if !meta.file_type().is_socket() {
        return Err(refused(format!("{} is not a socket", path.display())));
    }
    if meta.uid() != uid {
        return Err(refused(format!(
            "the socket {} belongs to uid {}, not to you (uid {uid}): not connecting",
            path.display(),
            meta.uid()
        )));
    }
    Ok(())
}

/// The socket a running session serves; removed when dropped, if it is still the one
/// this server bound (never another process's).
pub struct Server {
    path: PathBuf,
    /// Device and inode of the socket this server bound.
    bound: (u64, u64),
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
        let ours = std::fs::symlink_metadata(&self.path)
            .is_ok_and(|meta| (meta.dev(), meta.ino()) == self.bound);
        if ours {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Serve attachers for the session recorded in `session_file`, sending their commands
/// to `handle` under their names. Call inside a tokio runtime.
pub fn serve(session_file: &Path, handle: EngineHandle) -> io::Result<Server> {
    serve_in(&socket_dir(), session_file, handle)
}

fn serve_in(dir: &Path, session_file: &Path, handle: EngineHandle) -> io::Result<Server> {
    let uid = euid();
    make_private(dir, uid)?;
    let path = socket_in(dir, session_file);
    match std::fs::symlink_metadata(&path) {
        // One that answers is a live hunch's; one that doesn't was left by a process
        // that was killed, and goes.
        Ok(_) if std::os::unix::net::UnixStream::connect(&path).is_ok() => {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!(
                    "another hunch already serves this session at {}",
                    path.display()
                ),
            ));
        }
        Ok(_) => std::fs::remove_file(&path)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let listener = UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    let meta = std::fs::symlink_metadata(&path)?;
    let bound = (meta.dev(), meta.ino());
    let task = tokio::spawn(async move {
        // Relays live in the set, so stopping the server stops them (and drops their
        // handles: the engine's end never waits on an attached terminal).
        let mut relays = tokio::task::JoinSet::new();
        loop {
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                // Out of file descriptors, an aborted connection: this one is lost, the
                // next ones are still served.
                Err(e) => {
                    tracing::warn!(error = %e, "accepting an attach failed; accepting again shortly");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            };
            let same_user = stream.peer_cred().is_ok_and(|cred| cred.uid() == uid);
            if !same_user {
                tracing::warn!("refused an attach from another user");
                continue;
            }
            relays.spawn(relay(stream, handle.clone()));
            while relays.try_join_next().is_some() {}
        }
    });
    Ok(Server { path, bound, task })
}

/// One line read by [`read_line`].
#[derive(Debug, PartialEq)]
enum Line {
    /// A line, without its newline (the last one may have none).
    Text(Vec<u8>),
    /// Longer than the limit: the rest of it was not read.
    TooLong,
    End,
}

/// The next line of `reader`, holding at most `max` bytes of it.
async fn read_line<R: AsyncBufRead + Unpin>(reader: &mut R, max: usize) -> io::Result<Line> {
    let mut line = Vec::new();
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(if line.is_empty() {
                Line::End
            } else {
                Line::Text(line)
            });
        }
        let (taken, complete) = match available.iter().position(|&b| b == b'\n') {
            Some(newline) => (newline, true),
            None => (available.len(), false),
        };
        if line.len() + taken > max {
            return Ok(Line::TooLong);
        }
        line.extend_from_slice(&available[..taken]);
        reader.consume(taken + usize::from(complete));
        if complete {
            return Ok(Line::Text(line));
        }
    }
}

/// One attached terminal: its hello, then its commands, until it goes away (or sends a
/// line longer than [`MAX_LINE`], which closes it).
async fn relay(stream: UnixStream, handle: EngineHandle) {
    let (reader, mut writer) = stream.into_split();
    let mut reader = BufReader::new(reader);
    let Some(hello) = next_line(&mut reader, &mut writer).await else {
        return;
    };
    let Ok(hello) = serde_json::from_slice::<Hello>(&hello) else {
        tracing::warn!("an attacher sent no valid hello; closed");
        return;
    };
    let user = crate::sanitize::for_display(&hello.user);
    tracing::info!(%user, watch = hello.watch, "attached");
    // The engine records the coming and the going, like everything else in the log.
    handle.send_as(&user, Command::Attached { watch: hello.watch });
    while let Some(line) = next_line(&mut reader, &mut writer).await {
        if hello.watch {
            continue;
        }
        match serde_json::from_slice::<RemoteCommand>(&line) {
            Ok(command) => handle.send_as(&user, command.into_command()),
            Err(e) => tracing::warn!(error = %e, "an attacher sent an unknown command"),
        }
    }
    tracing::info!(%user, "detached");
    handle.send_as(&user, Command::Detached);
}

/// An attacher's next line; `None` when it is gone or sent too long a line (it is told
/// why before it is closed).
async fn next_line(
    reader: &mut BufReader<tokio::net::unix::OwnedReadHalf>,
    writer: &mut tokio::net::unix::OwnedWriteHalf,
) -> Option<Vec<u8>> {
    match read_line(reader, MAX_LINE).await {
        Ok(Line::Text(line)) => Some(line),
        Ok(Line::TooLong) => {
            tracing::warn!(max = MAX_LINE, "an attacher sent an overlong line; closed");
            let message = serde_json::json!({
                "error": format!("a line longer than {MAX_LINE} bytes: closed")
            });
            let _ = writer.write_all(format!("{message}\n").as_bytes()).await;
            None
        }
        Ok(Line::End) | Err(_) => None,
    }
}

/// Connect to the hunch serving `session_file`, once its directory and its socket are
/// found to be this user's and the process behind it runs as this user.
pub async fn connect(session_file: &Path) -> io::Result<UnixStream> {
    connect_in(&socket_dir(), session_file).await
}

async fn connect_in(dir: &Path, session_file: &Path) -> io::Result<UnixStream> {
    let uid = euid();
    check_private(dir, uid)?;
    let path = socket_in(dir, session_file);
    check_socket(&path, uid)?;
    let stream = UnixStream::connect(&path).await?;
    let server = stream.peer_cred()?.uid();
    if server != uid {
        return Err(refused(format!(
            "the hunch behind {} runs as uid {server}, not as you (uid {uid}): not attaching",
            path.display()
        )));
    }
    Ok(stream)
}

/// Whether a running session can be attached to: its socket is in the private
/// directory, is this user's, and answers (one left by a killed process does not).
pub fn attachable(session_file: &Path) -> bool {
    let (dir, uid) = (socket_dir(), euid());
    let path = socket_in(&dir, session_file);
    check_private(&dir, uid).is_ok()
        && check_socket(&path, uid).is_ok()
        && std::os::unix::net::UnixStream::connect(&path).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Approval;
    use tokio::io::AsyncWriteExt;

    /// A runtime dir of its own (never the process's environment, which tests share).
    fn runtime() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let sockets = socket_dir_from(Some(dir.path().into()), Path::new("/tmp"), euid());
        (dir, sockets)
    }

    fn hello(user: &str, watch: bool) -> String {
        serde_json::to_string(&Hello {
            user: user.into(),
            watch,
        })
        .unwrap()
            + "\n"
    }

    async fn received(
        commands: &mut tokio::sync::mpsc::UnboundedReceiver<crate::protocol::Envelope>,
    ) -> Vec<crate::protocol::Envelope> {
        let mut got = Vec::new();
        while let Ok(Some(envelope)) =
            tokio::time::timeout(std::time::Duration::from_millis(300), commands.recv()).await
        {
            got.push(envelope);
        }
        got
    }

    async fn attached(watch: bool, lines: &[&str]) -> Vec<crate::protocol::Envelope> {
        let (_runtime, sockets) = runtime();
        let session = Path::new("/data/sessions/s1.jsonl");
        let (handle, mut commands) = EngineHandle::channel("alice");
        let server = serve_in(&sockets, session, handle).unwrap();
        let path = socket_in(&sockets, session);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "only this user may connect");
        let dir_mode = std::fs::metadata(&sockets).unwrap().permissions().mode();
        assert_eq!(dir_mode & 0o777, 0o700, "a private directory");
        let mut stream = connect_in(&sockets, session).await.unwrap();
        stream
            .write_all(hello("bob", watch).as_bytes())
            .await
            .unwrap();
        for line in lines {
            stream
                .write_all(format!("{line}\n").as_bytes())
                .await
                .unwrap();
        }
        drop(stream);
        let got = received(&mut commands).await;
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
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(got.iter().all(|envelope| envelope.by == "bob"), "{got:?}");
        assert!(matches!(&got[1].command, Command::Approve { id, .. } if id == "c8"));
        let watched = attached(true, &lines).await;
        assert_eq!(watched.len(), 2, "only the coming and going: {watched:?}");
        assert!(matches!(
            watched[0].command,
            Command::Attached { watch: true }
        ));
    }

    /// The server tells the engine who came and who left; the engine records it (the
    /// attach code writes no event of its own).
    #[tokio::test]
    async fn attaching_and_leaving_are_sent_to_the_engine_as_that_engineers() {
        let got = attached(false, &[]).await;
        let seen: Vec<(&str, &Command)> = got
            .iter()
            .map(|envelope| (envelope.by.as_str(), &envelope.command))
            .collect();
        assert!(
            matches!(
                &seen[..],
                [
                    ("bob", Command::Attached { watch: false }),
                    ("bob", Command::Detached)
                ]
            ),
            "{got:?}"
        );
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

    fn approve_line(id: &str) -> String {
        serde_json::to_string(&RemoteCommand::Approve {
            id: id.into(),
            approval: Approval::Once,
        })
        .unwrap()
            + "\n"
    }

    #[tokio::test]
    async fn lines_are_read_whole_up_to_the_limit_and_no_further() {
        let mut input: &[u8] = b"one\n\ntwo\nlast";
        let mut lines = Vec::new();
        loop {
            match read_line(&mut input, 8).await.unwrap() {
                Line::End => break,
                line => lines.push(line),
            }
        }
        let text = |t: &str| Line::Text(t.as_bytes().to_vec());
        assert_eq!(lines, [text("one"), text(""), text("two"), text("last")]);
        // Exactly the limit is a line; one byte more is not, newline or not, and what
        // follows it is never buffered.
        let mut input: &[u8] = b"12345678\n123456789\n";
        assert_eq!(read_line(&mut input, 8).await.unwrap(), text("12345678"));
        assert_eq!(read_line(&mut input, 8).await.unwrap(), Line::TooLong);
        let endless = tokio::io::repeat(b'x');
        let mut endless = BufReader::with_capacity(1024, endless);
        assert_eq!(
            read_line(&mut endless, MAX_LINE).await.unwrap(),
            Line::TooLong
        );
    }

    /// A peer that sends a huge line without a newline is told why and closed; the server
    /// still takes the next terminal and its commands.
    #[tokio::test]
    async fn an_overlong_line_closes_that_peer_and_the_next_one_is_served() {
        use tokio::io::AsyncReadExt;
        let (_runtime, sockets) = runtime();
        let session = Path::new("s2.jsonl");
        let (handle, mut commands) = EngineHandle::channel("alice");
        let _server = serve_in(&sockets, session, handle).unwrap();
        let mut flood = connect_in(&sockets, session).await.unwrap();
        flood
            .write_all(hello("mallory", false).as_bytes())
            .await
            .unwrap();
        let chunk = vec![b'x'; 16 * 1024];
        // The server stops reading past the limit: writing fails or stalls once the
        // socket's buffers are full, and the peer is closed.
        let flooding = async {
            for _ in 0..(4 * MAX_LINE / chunk.len()) {
                if flood.write_all(&chunk).await.is_err() {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), flooding).await;
        let mut answer = Vec::new();
        let reading = async {
            let mut buf = [0u8; 4096];
            // The end, or a reset (the server closed with the flood still unread).
            while let Ok(n @ 1..) = flood.read(&mut buf).await {
                answer.extend_from_slice(&buf[..n]);
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(5), reading)
            .await
            .expect("the flooding peer is closed");
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.contains("longer than 65536 bytes"), "{answer:?}");
        let mut pair = connect_in(&sockets, session).await.unwrap();
        pair.write_all(hello("bob", false).as_bytes())
            .await
            .unwrap();
        pair.write_all(approve_line("c8").as_bytes()).await.unwrap();
        let got = received(&mut commands).await;
        let approvals: Vec<&str> = got
            .iter()
            .filter(|envelope| matches!(envelope.command, Command::Approve { .. }))
            .map(|envelope| envelope.by.as_str())
            .collect();
        assert_eq!(approvals, ["bob"], "{got:?}");
        assert!(
            got.iter()
                .any(|e| e.by == "mallory" && matches!(e.command, Command::Detached)),
            "the closed peer left: {got:?}"
        );
    }

    #[test]
    fn without_a_runtime_dir_the_sockets_go_in_a_private_temp_dir() {
        let temp = Path::new("/tmp");
        assert_eq!(
            socket_dir_from(None, temp, 1000),
            Path::new("/tmp/hunch-1000")
        );
        assert_eq!(
            socket_dir_from(Some("relative".into()), temp, 1000),
            Path::new("/tmp/hunch-1000")
        );
        assert_eq!(
            socket_dir_from(Some("/run/user/1000".into()), temp, 1000),
            Path::new("/run/user/1000/hunch")
        );
    }

    /// Another user created the directory first, as a link to one of theirs: hunch
    /// neither serves nor connects there, and never changes the link's target.
    #[tokio::test]
    async fn a_socket_dir_that_is_a_link_is_refused_and_its_target_untouched() {
        let (runtime, sockets) = runtime();
        let target = runtime.path().join("theirs");
        std::fs::create_dir(&target).unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::symlink(&target, &sockets).unwrap();
        let session = Path::new("s3.jsonl");
        let (handle, _commands) = EngineHandle::channel("alice");
        let error = serve_in(&sockets, session, handle).err().expect("refused");
        assert!(error.to_string().contains("symbolic link"), "{error}");
        let mode = std::fs::metadata(&target).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755, "the target was not chmodded");
        assert!(std::fs::read_dir(&target).unwrap().next().is_none());
        // A socket bound there by someone else is not connected to.
        let _planted = std::os::unix::net::UnixListener::bind(socket_in(&target, session));
        let error = connect_in(&sockets, session).await.expect_err("refused");
        assert!(error.to_string().contains("symbolic link"), "{error}");
    }

    #[tokio::test]
    async fn a_socket_dir_others_can_enter_is_refused_not_chmodded() {
        let (_runtime, sockets) = runtime();
        std::fs::create_dir_all(&sockets).unwrap();
        std::fs::set_permissions(&sockets, std::fs::Permissions::from_mode(0o755)).unwrap();
        let session = Path::new("s4.jsonl");
        let (handle, _commands) = EngineHandle::channel("alice");
        let error = serve_in(&sockets, session, handle).err().expect("refused");
        assert!(error.to_string().contains("mode 0755, not 0700"), "{error}");
        let mode = std::fs::metadata(&sockets).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755, "left as it was");
        let error = connect_in(&sockets, session).await.expect_err("refused");
        assert!(error.to_string().contains("mode 0755"), "{error}");
        // Another user's directory, and another user's socket, are refused too.
        assert!(check_private(&sockets, euid() + 1).is_err());
        std::fs::set_permissions(&sockets, std::fs::Permissions::from_mode(0o700)).unwrap();
        let path = socket_in(&sockets, session);
        let _listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        assert!(check_socket(&path, euid()).is_ok());
        let error = check_socket(&path, euid() + 1).unwrap_err();
        assert!(error.to_string().contains("not connecting"), "{error}");
    }

    /// A socket left by a killed process is replaced; a live one is not taken over, and
    /// a server removes only the socket it bound.
    #[tokio::test]
    async fn a_stale_socket_is_replaced_and_only_ones_own_is_removed() {
        let (_runtime, sockets) = runtime();
        let session = Path::new("s5.jsonl");
        let path = socket_in(&sockets, session);
        make_private(&sockets, euid()).unwrap();
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        assert!(path.exists(), "a killed process leaves its socket");
        let (handle, _commands) = EngineHandle::channel("alice");
        let first = serve_in(&sockets, session, handle.clone()).unwrap();
        let error = serve_in(&sockets, session, handle.clone())
            .err()
            .expect("a live socket is not taken over");
        assert_eq!(error.kind(), io::ErrorKind::AddrInUse, "{error}");
        // Someone replaced the socket meanwhile: dropping the first server leaves theirs.
        std::fs::remove_file(&path).unwrap();
        let _theirs = std::os::unix::net::UnixListener::bind(&path).unwrap();
        drop(first);
        assert!(path.exists(), "not ours to remove");
    }
}
