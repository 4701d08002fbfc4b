//! The `hunch` binary: the entry point. The command line lives in [`cli`], one module per
//! subcommand; this file only turns its result into an exit code.

mod cli;

/// Exit codes and messages: an error is printed with its causes; output that was cut off
/// by its reader (`hunch sessions | head -2`) ends quietly, as with any Unix tool.
fn main() -> std::process::ExitCode {
    match cli::run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            use std::io::Write as _;
            // Said if anyone still reads stderr; a closed pipe does not turn it into a panic.
            let _ = writeln!(std::io::stderr(), "Error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    use std::io::ErrorKind::BrokenPipe;
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == BrokenPipe)
            // JSON written straight to stdout fails as a serde_json error around it.
            || cause
                .downcast_ref::<serde_json::Error>()
                .is_some_and(|e| e.io_error_kind() == Some(BrokenPipe))
    })
}
