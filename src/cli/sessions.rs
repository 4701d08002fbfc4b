//! `hunch sessions`: the recorded sessions, newest first, a line each (with its state,
//! whether another terminal can attach, its parent when forked and its root cause).

use anyhow::Result;
use hunch::config::Paths;

/// Print the sessions under the sessions dir.
pub(super) fn list(paths: &Paths) -> Result<()> {
    use std::io::Write;
    let sessions = hunch::session::list_sessions(&paths.sessions_dir())?;
    let mut out = std::io::stdout().lock();
    if sessions.is_empty() {
        writeln!(out, "no sessions yet in {}", paths.sessions_dir().display())?;
    }
    for s in sessions {
        let warn = match s.warnings {
            0 => String::new(),
            1 => "  (1 damaged line)".to_string(),
            n => format!("  ({n} damaged lines)"),
        };
        let cause = s
            .root_cause
            .as_deref()
            .map(|c| {
                format!(
                    "\n    root cause: {}",
                    c.chars().take(160).collect::<String>()
                )
            })
            .unwrap_or_default();
        let parent = s
            .parent
            .as_ref()
            .map(|(parent, at)| format!("\n    fork of {parent} after {at}"))
            .unwrap_or_default();
        writeln!(
            out,
            "{}  {:<32}  {:<10} {:>3} steps  {:<14}  {}{warn}{parent}{cause}",
            s.started,
            s.title,
            s.brain,
            s.steps,
            if s.concluded {
                "concluded".to_string()
            } else if s.state == hunch::session::SessionState::Running
                && hunch::attach::attachable(&s.path)
            {
                "running·attach".to_string()
            } else {
                s.state.label()
            },
            s.path.display()
        )?;
    }
    Ok(())
}
