//! The `shell` tool, and running a child process with a time limit and a cap on output.
//!
//! The command line is judged by [`shell_risk`](super::super::shell_risk) before it runs;
//! it then runs under `bash` in its own process group, so a timeout or a cancelled call
//! (the engineer quitting, the session ending) kills the whole pipeline, not just the
//! shell. Output past the cap is counted and dropped, never buffered.

use super::super::{
    CallPreview, Secret, ToolError, ToolOutput, ToolSpec, TypedTool, parse_args, schema_of,
    shell_risk,
};
use crate::event::{Risk, SessionScope};
use futures::future::BoxFuture;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

/// Bytes of stdout (and of stderr) kept from one command.
pub(super) const OUTPUT_CAP: usize = 256 * 1024;

/// What a finished child left behind.
pub(super) struct Captured {
    pub success: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// Bytes dropped past [`OUTPUT_CAP`], stdout and stderr together.
    pub dropped: usize,
}

/// Kills the child's whole process group when dropped: on timeout, and when the engine
/// drops the call's future because the session ended.
struct GroupGuard(Option<u32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.0.take() {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

async fn read_capped(mut from: impl AsyncRead + Unpin) -> (Vec<u8>, usize) {
    let mut kept = Vec::new();
    let mut dropped = 0;
    let mut buf = [0u8; 8192];
    loop {
        match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = OUTPUT_CAP.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
                dropped += n.saturating_sub(room);
            }
        }
    }
    (kept, dropped)
}

/// Run a command to completion within `timeout`, stdin closed, output capped.
pub(super) async fn run_capped(
    mut command: Command,
    what: &str,
    timeout: Duration,
) -> Result<Captured, ToolError> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = command.spawn().map_err(|e| {
        ToolError::Failed(if e.kind() == std::io::ErrorKind::NotFound {
            format!("{what} is not installed or not on PATH")
        } else {
            format!("starting {what}: {e}")
        })
    })?;
    let mut guard = GroupGuard(child.id());
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    let work = async {
        let ((out, out_dropped), (err, err_dropped), status) =
            tokio::join!(read_capped(stdout), read_capped(stderr), child.wait());
        (out, err, out_dropped + err_dropped, status)
    };
    let (out, err, dropped, status) = tokio::time::timeout(timeout, work).await.map_err(|_| {
        ToolError::Failed(format!(
            "{what} did not finish within {}s and was killed",
            timeout.as_secs()
        ))
    })?;
    let status = status.map_err(|e| ToolError::Failed(format!("waiting for {what}: {e}")))?;
    guard.0 = None;
    Ok(Captured {
        success: status.success(),
        code: status.code(),
        stdout: String::from_utf8_lossy(&out).into_owned(),
        stderr: String::from_utf8_lossy(&err).into_owned(),
        dropped,
    })
}

/// Arguments of `shell`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ShellArgs {
    /// A bash command line. Pipes of read-only programs run at once; anything that writes,
    /// deletes, substitutes or is unknown waits for the engineer's approval.
    command: String,
}

pub(super) struct Shell {
    timeout: Duration,
}

impl Shell {
    pub(super) fn new(timeout: Duration) -> Shell {
        Shell { timeout }
    }
}

impl TypedTool for Shell {
    type Args = ShellArgs;

    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: "shell".into(),
            description: "Run a bash command line on the engineer's machine (time-limited, output capped). Read-only programs and pipes of them run at once; anything else waits for approval.".into(),
            parameters: schema_of::<ShellArgs>(),
        }
    }

    fn parse(&self, args: &Value) -> Result<ShellArgs, ToolError> {
        parse_args(args)
    }

    fn classify(&self, args: &ShellArgs) -> Risk {
        shell_risk::classify_on_this_machine(&args.command)
    }

    fn preview(&self, args: &ShellArgs) -> CallPreview {
        CallPreview {
            command: args.command.clone(),
            target: "this machine".into(),
        }
    }

    fn session_scope(&self, args: &ShellArgs, risk: Risk) -> Option<SessionScope> {
        // A shell line is approved for the session only verbatim: a shared prefix says
        // nothing about what follows it.
        crate::scope::exact("shell", &args.command, risk)
    }

    fn args_from_command(&self, command: &str, _original: &Value) -> Result<Value, ToolError> {
        Ok(json!({ "command": command }))
    }

    fn run<'a>(
        &'a self,
        args: &'a ShellArgs,
        _: Option<&'a Secret>,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let mut child = Command::new("bash");
            child.args(["--noprofile", "--norc", "-c", &args.command]);
            let captured = run_capped(child, "bash", self.timeout).await?;
            let mut text = captured.stdout;
            if !captured.stderr.trim().is_empty() {
                text.push_str(&format!("\n[stderr]\n{}", captured.stderr));
            }
            if captured.dropped > 0 {
                text.push_str(&format!(
                    "\n[{} bytes past the {} KiB cap were dropped]",
                    captured.dropped,
                    OUTPUT_CAP / 1024
                ));
            }
            let lines = text.lines().count();
            match captured.code {
                Some(0) => Ok(ToolOutput {
                    text,
                    language: "log",
                    digest: format!("exit 0 · {lines} lines"),
                    raw: None,
                    display: None,
                }),
                code => Err(ToolError::Failed(format!(
                    "exit {} · {}",
                    code.map(|c| c.to_string())
                        .unwrap_or_else(|| "by signal".into()),
                    text.lines()
                        .rev()
                        .take(5)
                        .collect::<Vec<_>>()
                        .into_iter()
                        .rev()
                        .collect::<Vec<_>>()
                        .join(" / ")
                ))),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn output_is_capped_and_runaways_are_killed() {
        let shell = crate::typed(Shell::new(Duration::from_secs(2)));
        let out = shell
            .run(&json!({"command": "yes hunch | head -c 600000"}), None)
            .await
            .unwrap();
        assert!(out.text.len() < OUTPUT_CAP + 200, "{}", out.text.len());
        assert!(out.text.contains("bytes past the 256 KiB cap were dropped"));
        let started = std::time::Instant::now();
        let err = shell
            .run(&json!({"command": "sleep 30 | cat"}), None)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("killed"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));
        let failed = shell
            .run(&json!({"command": "ls /definitely/not/here"}), None)
            .await
            .unwrap_err();
        assert!(failed.to_string().starts_with("exit 2"), "{failed}");
    }
}
