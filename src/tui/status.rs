//! The status bar: a widget over `&State` and how the session is run (live or replayed,
//! the clock, the session file).

use super::replay::Replay;
use super::theme::Theme;
use super::widgets::truncate;
use crate::event::State;
use chrono::{DateTime, Utc};
use ratatui::text::{Line, Span};
use std::path::Path;
use unicode_width::UnicodeWidthStr;

/// What the status bar shows besides the state.
#[derive(Clone, Copy)]
pub(crate) struct StatusView<'a> {
    pub theme: &'a Theme,
    /// The replay and where it is, when this is one.
    pub replay: Option<&'a Replay>,
    /// The clock a live session's elapsed time counts against.
    pub now: DateTime<Utc>,
    pub session_file: Option<&'a Path>,
}

/// The status bar: who investigates what, how far, what it cost, who is attached.
pub(crate) fn line(state: &State, view: StatusView, width: usize) -> Line<'static> {
    let theme = view.theme;
    let bar = theme.style("status.bar");
    let mut spans = vec![Span::styled(" hunch ", theme.style("title").patch(bar))];
    if let Some(replay) = view.replay {
        let (at, total) = replay.position();
        let play = if replay.playing() { "▶" } else { "⏸" };
        spans.push(Span::styled(
            format!(" REPLAY {play} {}x {at}/{total} ", replay.speed()),
            theme.style("status.paused"),
        ));
        if !replay.warnings.is_empty() {
            let n = replay.warnings.len();
            spans.push(Span::styled(
                format!(
                    " ⚠ {n} damaged line{} skipped ",
                    if n == 1 { "" } else { "s" }
                ),
                theme.style("error"),
            ));
        }
    }
    let tail = tail_spans(state, theme);
    let tail_width: usize = tail.iter().map(|s| s.content.width()).sum();
    let head_width: usize = spans.iter().map(|s| s.content.width()).sum();
    // On a narrow terminal the state's end and who is attached keep their room: the
    // brain and the policy go first, then the demo badge shortens.
    let full = info_text(state, view, true);
    let demo = if state.session.incident.simulated {
        DEMO.width()
    } else {
        0
    };
    let narrow = head_width + demo + full.width() + tail_width > width;
    if state.session.incident.simulated {
        let badge = if narrow { " demo " } else { DEMO };
        spans.push(Span::styled(badge, theme.style("status.demo")));
    }
    let info = if narrow {
        info_text(state, view, false)
    } else {
        full
    };
    spans.push(Span::styled(info, bar));
    spans.extend(tail);
    let used: usize = spans.iter().map(|s| s.content.width()).sum();
    if let Some(file) = view.session_file {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let full = file.display().to_string();
        let room = width.saturating_sub(used + 3);
        let shown = if full.width() <= room {
            full
        } else {
            truncate(&name, room)
        };
        if room > 8 {
            spans.push(Span::styled(
                format!(" · {shown}"),
                theme.style("muted").patch(bar),
            ));
        }
    }
    Line::from(spans).style(bar)
}

/// The demo badge at full width.
const DEMO: &str = " demo environment ";

/// The brain (when `with_brain`), the policy, the clock, the steps and the budget.
fn info_text(state: &State, view: StatusView, with_brain: bool) -> String {
    let started = state.session.started_at;
    let clock = match (view.replay, started) {
        (Some(_), Some(s)) => state.last_ts.map(|t| t - s),
        (None, Some(s)) => Some(state.settled_at.unwrap_or(view.now) - s),
        _ => None,
    };
    let elapsed = clock
        .map(|d| format!("{:02}:{:02}", d.num_minutes(), d.num_seconds() % 60))
        .unwrap_or_else(|| "--:--".into());
    let mut info = if with_brain {
        format!(
            " {} · policy {} · {elapsed} · step {}",
            if state.session.brain.is_empty() {
                "…"
            } else {
                &state.session.brain
            },
            state.session.policy,
            state.steps()
        )
    } else {
        format!(" {elapsed} · step {}", state.steps())
    };
    info.push_str(&budget_text(state));
    if state.errors > 0 {
        info.push_str(&format!(" · {} errors", state.errors));
    }
    info
}

/// Paused, concluded or ended, and who is attached.
fn tail_spans(state: &State, theme: &Theme) -> Vec<Span<'static>> {
    let bar = theme.style("status.bar");
    let mut spans = Vec::new();
    if state.paused {
        spans.push(Span::styled(" PAUSED ", theme.style("status.paused")));
    }
    if state.conclusion.is_some() {
        spans.push(Span::styled(
            " concluded",
            theme.style("conclusion").patch(bar),
        ));
    } else if let Some(reason) = &state.ended {
        // An attached terminal learns here that the host has gone.
        spans.push(Span::styled(
            format!(" ended: {}", crate::sanitize::for_display(reason)),
            theme.style("status.paused"),
        ));
    }
    if !state.attached.is_empty() {
        let mut names: Vec<&str> = Vec::new();
        for name in &state.attached {
            if !names.contains(&name.as_str()) {
                names.push(name);
            }
        }
        spans.push(Span::styled(
            format!(" · {} attached", names.join(", ")),
            theme.style("title").patch(bar),
        ));
    }
    spans
}

/// Step limit, tokens, cost and redactions, for the status bar (empty when not in use).
fn budget_text(state: &State) -> String {
    let budget = &state.session.budget;
    let mut out = String::new();
    if let Some(max) = budget.max_steps {
        out.push_str(&format!("/{max}"));
    }
    let tokens = state.input_tokens + state.output_tokens;
    let short = |n: u64| {
        if n >= 10_000 {
            format!("{:.1}k", n as f64 / 1000.0)
        } else {
            n.to_string()
        }
    };
    if tokens > 0 || budget.max_tokens.is_some() {
        out.push_str(&format!(" · {} tok", short(tokens)));
        if let Some(max) = budget.max_tokens {
            out.push_str(&format!("/{}", short(max)));
        }
    }
    if let Some(cost) = budget.cost(state.input_tokens, state.output_tokens) {
        out.push_str(&format!(" · ${cost:.2}"));
        if let Some(max) = budget.max_cost {
            out.push_str(&format!("/${max:.2}"));
        }
    }
    if state.redacted > 0 {
        out.push_str(&format!(" · {} redacted", state.redacted));
    }
    out
}
