//! Drawing: the transcript, the hypothesis board, the status bar and the overlays.
//!
//! Everything is drawn from `State` plus the app's view state; nothing here changes the
//! investigation. The transcript is the one part that can grow large (100k events), so
//! each entry's wrapped, highlighted lines are cached by (revision, width, view flags),
//! and a frame renders only the entries that reach the screen, walking up from the
//! bottom: a frame costs what is visible, not what was recorded.

use super::app::{App, Button, DecisionInput, Mode, Overlay, Pane};
use super::highlight::highlight;
use super::keymap::{Action, Context};
use super::theme::Theme;
use crate::event::{
    CallOutcome, CallStatus, Decision, Entry, HypothesisStatus, Pending, Risk, State, ToolCall,
};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use std::collections::HashSet;
use unicode_width::UnicodeWidthStr;

const SPINNER: &[&str] = &["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
/// Output lines a collapsed tool cell shows.
const COLLAPSED_LINES: usize = 3;

/// Per-entry rendered lines, reused across frames until the entry or the width changes.
#[derive(Default)]
pub struct TranscriptCache {
    width: u16,
    entries: Vec<Option<(CacheKey, Vec<Line<'static>>)>>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
struct CacheKey {
    revision: u64,
    expanded: bool,
    selected: bool,
    frame: u64,
}

/// What rendering an entry depends on besides the entry itself.
struct EntryView<'a> {
    theme: &'a Theme,
    expanded: &'a HashSet<usize>,
    selected: Option<usize>,
    tick: u64,
    now: chrono::DateTime<chrono::Utc>,
}

impl<'a> EntryView<'a> {
    fn of(app: &'a App) -> EntryView<'a> {
        EntryView {
            theme: &app.theme,
            expanded: &app.expanded,
            selected: app.selected_call,
            tick: app.tick,
            now: app.now,
        }
    }
}

impl TranscriptCache {
    fn lines(
        &mut self,
        state: &State,
        index: usize,
        width: u16,
        view: &EntryView,
    ) -> &[Line<'static>] {
        if self.width != width {
            self.entries.clear();
            self.width = width;
        }
        if self.entries.len() < state.transcript.len() {
            self.entries.resize_with(state.transcript.len(), || None);
        }
        let (expanded, selected, running) = match state.transcript[index] {
            Entry::Tool(call) => (
                view.expanded.contains(&call),
                view.selected == Some(call),
                state.calls[call].status == CallStatus::Running,
            ),
            _ => (false, false, false),
        };
        let key = CacheKey {
            revision: state.entry_revisions[index],
            expanded,
            selected,
            frame: if running { view.tick } else { 0 },
        };
        let slot = &mut self.entries[index];
        if slot.as_ref().is_none_or(|(k, _)| *k != key) {
            *slot = Some((key, render_entry(state, index, width as usize, view)));
        }
        &slot.as_ref().expect("just filled").1
    }

    /// How many transcript lines lie below the start of `entry` (to scroll it into view).
    pub fn lines_below(&mut self, app: &App, entry: usize) -> usize {
        let view = EntryView::of(app);
        let width = self.width.max(20);
        let total: usize = (entry..app.state.transcript.len())
            .map(|i| self.lines(&app.state, i, width, &view).len())
            .sum();
        total.saturating_sub(app.transcript_height.saturating_sub(2))
    }
}

fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(8);
    let mut out = Vec::new();
    for line in text.lines() {
        if line.is_empty() {
            out.push(String::new());
            continue;
        }
        out.extend(
            textwrap::wrap(line, width)
                .into_iter()
                .map(|c| c.into_owned()),
        );
    }
    if out.is_empty() {
        out.push(String::new());
    }
    out
}

fn prefixed(text: &str, width: usize, first: &str, rest: &str, style: Style) -> Vec<Line<'static>> {
    let inner = width.saturating_sub(first.width().max(rest.width()));
    wrap(text, inner)
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            Line::from(vec![
                Span::styled(if i == 0 { first } else { rest }.to_string(), style),
                Span::styled(l, style),
            ])
        })
        .collect()
}

fn truncate(text: &str, width: usize) -> String {
    if text.width() <= width {
        return text.to_string();
    }
    let mut out = String::new();
    for c in text.chars() {
        if out.width() + unicode_width::UnicodeWidthChar::width(c).unwrap_or(0) + 1 > width {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

fn status_of(call: &ToolCall, view: &EntryView) -> (String, &'static str, String) {
    let duration = |ms: u64| {
        if ms >= 1000 {
            format!("{:.1}s", ms as f64 / 1000.0)
        } else {
            format!("{ms}ms")
        }
    };
    match call.status {
        CallStatus::Proposed => ("·".into(), "muted", "proposed".into()),
        CallStatus::AwaitingApproval => ("?".into(), "tool.pending", "awaiting approval".into()),
        CallStatus::AwaitingCredential => {
            ("?".into(), "tool.pending", "awaiting credential".into())
        }
        CallStatus::Running => {
            let elapsed = call
                .started_at
                .map(|s| (view.now - s).num_milliseconds().max(0) as u64)
                .unwrap_or(0);
            (
                SPINNER[(view.tick % SPINNER.len() as u64) as usize].into(),
                "tool.running",
                format!("running {}", duration(elapsed)),
            )
        }
        CallStatus::Finished(CallOutcome::Ok) => (
            "✓".into(),
            "tool.ok",
            duration(call.duration_ms.unwrap_or(0)),
        ),
        CallStatus::Finished(CallOutcome::Failed) => (
            "✗".into(),
            "tool.failed",
            format!("failed {}", duration(call.duration_ms.unwrap_or(0))),
        ),
        CallStatus::Finished(CallOutcome::Denied) => ("⊘".into(), "tool.denied", "denied".into()),
        CallStatus::Finished(CallOutcome::Cancelled) => ("◌".into(), "muted", "cancelled".into()),
    }
}

fn risk_role(risk: Risk) -> &'static str {
    match risk {
        Risk::ReadOnly => "approval.risk.low",
        Risk::NeedsCredentials | Risk::ReadsSecrets => "approval.risk.medium",
        Risk::Mutating | Risk::Destructive | Risk::Unknown => "approval.risk.high",
    }
}

fn render_call(state: &State, index: usize, width: usize, view: &EntryView) -> Vec<Line<'static>> {
    let theme = view.theme;
    let call = &state.calls[index];
    let (icon, role, status) = status_of(call, view);
    let mut lines = vec![Line::default()];
    let id_style = if view.selected == Some(index) {
        theme.style("selection")
    } else {
        theme.style("muted")
    };
    // Commands of command-line tools start with the tool's name already (`kubectl get …`).
    let rest = call
        .command
        .strip_prefix(call.tool.as_str())
        .map(str::trim_start)
        .unwrap_or(&call.command);
    let fixed = 2 + call.id.width() + 1 + call.tool.width() + 1 + status.width() + 3;
    let command = truncate(rest, width.saturating_sub(fixed).max(10));
    lines.push(Line::from(vec![
        Span::styled(format!("{icon} "), theme.style(role)),
        Span::styled(call.id.clone(), id_style),
        Span::raw(" "),
        Span::styled(call.tool.clone(), theme.style("tool.header")),
        Span::raw(if command.is_empty() { "" } else { " " }),
        Span::raw(command),
        Span::styled(format!(" · {status}"), theme.style(role)),
    ]));
    let expanded = view.expanded.contains(&index);
    if call.risk != Risk::ReadOnly || expanded {
        let why = if call.rationale.is_empty() {
            String::new()
        } else {
            format!(" · {}", call.rationale)
        };
        lines.extend(prefixed(
            &format!("risk {}{why}", call.risk.label()),
            width,
            "  ",
            "  ",
            theme.style(risk_role(call.risk)),
        ));
    }
    if let Some((decision, by)) = &call.decision {
        let text = match decision {
            Decision::ApprovedOnce => format!("approved once by {by}"),
            Decision::ApprovedForSession { scope } => {
                format!("approved for the session by {by} ({})", scope.describe())
            }
            Decision::Edited { command, .. } => format!("edited and approved by {by}: {command}"),
            Decision::Denied { reason } => format!("denied by {by}: {reason}"),
        };
        let role = if decision.is_approval() {
            "human"
        } else {
            "tool.denied"
        };
        lines.extend(prefixed(&text, width, "  ✎ ", "    ", theme.style(role)));
    }
    if let Some(by) = &call.credential_by {
        lines.push(Line::styled(
            format!("  ✎ credential typed by {by} (not recorded)"),
            theme.style("human"),
        ));
    }
    if let Some(error) = &call.error
        && !matches!(call.decision, Some((Decision::Denied { .. }, _)))
    {
        let role = if call.status == CallStatus::Finished(CallOutcome::Denied) {
            "tool.denied"
        } else {
            "tool.failed"
        };
        lines.extend(prefixed(error, width, "  ✗ ", "    ", theme.style(role)));
    }
    if let Some(output) = &call.output
        && !output.preview.is_empty()
    {
        let digest = match &output.raw {
            Some(raw) if output.digest.is_empty() => {
                format!("digest of {} raw lines (v: pager)", raw.lines)
            }
            Some(raw) => format!(
                "{} · digest of {} raw lines (v: pager)",
                output.digest, raw.lines
            ),
            None => output.digest.clone(),
        };
        if !digest.is_empty() {
            lines.extend(prefixed(
                &digest,
                width,
                "  ↳ ",
                "    ",
                theme.style("muted"),
            ));
        }
        let highlighted = highlight(&output.preview, &output.language, theme);
        let shown = if expanded {
            highlighted.len()
        } else {
            COLLAPSED_LINES.min(highlighted.len())
        };
        let gutter = theme.style("border");
        for line in highlighted.into_iter().take(shown) {
            let mut spans = vec![Span::styled("  │ ", gutter)];
            let mut budget = width.saturating_sub(4);
            for span in line.spans {
                if budget == 0 {
                    break;
                }
                let text = truncate(&span.content, budget);
                budget = budget.saturating_sub(text.width());
                spans.push(Span::styled(text, span.style));
            }
            lines.push(Line::from(spans));
        }
        let hidden = output.lines.saturating_sub(shown as u64);
        if hidden > 0 {
            let what = if expanded {
                format!(
                    "{} in the full output (v: pager)",
                    crate::text::plural(hidden, "more line")
                )
            } else {
                format!(
                    "{} (enter: expand, v: pager)",
                    crate::text::plural(hidden, "more line")
                )
            };
            lines.push(Line::styled(format!("  ╰ {what}"), theme.style("muted")));
        }
    }
    lines
}

fn render_entry(state: &State, index: usize, width: usize, view: &EntryView) -> Vec<Line<'static>> {
    let theme = view.theme;
    match &state.transcript[index] {
        Entry::Reasoning(text) => prefixed(
            text.trim_end(),
            width,
            "  ",
            "  ",
            theme.style("agent.reasoning"),
        ),
        Entry::Message(text) => {
            let mut lines = vec![Line::default()];
            lines.extend(prefixed(
                text.trim_end(),
                width,
                "● ",
                "  ",
                theme.style("agent.message"),
            ));
            lines
        }
        Entry::Tool(call) => render_call(state, *call, width, view),
        Entry::Human(text) => prefixed(text, width, "✎ ", "  ", theme.style("human")),
        Entry::Notice(text) => prefixed(text, width, "  · ", "    ", theme.style("notice")),
        Entry::Error(text) => prefixed(text, width, "! ", "  ", theme.style("error")),
        Entry::Board(text) => prefixed(text, width, "  ◆ ", "    ", theme.style("muted")),
        Entry::Conclusion => {
            let Some(c) = &state.conclusion else {
                return Vec::new();
            };
            let mut lines = vec![Line::default()];
            let title = format!("━━ Conclusion · {:.0}% confidence ━━", c.confidence * 100.0);
            lines.push(Line::styled(title, theme.style("conclusion")));
            lines.extend(prefixed(
                &c.root_cause,
                width,
                "  ",
                "  ",
                theme.style("text").add_modifier(Modifier::BOLD),
            ));
            if c.evidence.is_empty() {
                lines.push(Line::styled(
                    "  evidence: none cited (uncited claim)",
                    theme.style("error"),
                ));
            } else {
                lines.extend(prefixed(
                    &c.evidence.join(", "),
                    width,
                    "  evidence: ",
                    "            ",
                    theme.style("muted"),
                ));
            }
            for f in &c.follow_ups {
                lines.extend(prefixed(f, width, "  • ", "    ", theme.style("text")));
            }
            lines
        }
    }
}

/// The board's lines, and the line where each hypothesis (in ranked order) starts.
fn board_lines(app: &App, width: usize) -> (Vec<Line<'static>>, Vec<usize>) {
    let theme = &app.theme;
    let order = app.state.ranked_hypotheses();
    if order.is_empty() {
        return (
            vec![Line::styled("no hypotheses yet", theme.style("muted"))],
            Vec::new(),
        );
    }
    let mut lines = Vec::new();
    let mut starts = Vec::new();
    for (rank, &i) in order.iter().enumerate() {
        starts.push(lines.len());
        let h = &app.state.hypotheses[i];
        let role = format!("hypothesis.{}", h.status.label());
        let filled = (h.confidence * 10.0).round() as usize;
        let bar = format!(
            "{}{}",
            "█".repeat(filled.min(10)),
            "░".repeat(10 - filled.min(10))
        );
        let selected =
            app.focus == Pane::Board && app.state.rank_of(app.board_selected.as_deref()) == rank;
        let head_style = if selected {
            theme.style("selection")
        } else {
            theme.style("title")
        };
        let mut marks = String::new();
        if h.author == crate::event::Author::Human {
            marks.push('✎');
        }
        if h.pinned {
            marks.push('*');
        }
        // A refuted hypothesis is ruled out: no confidence, no bar (the brain's last
        // estimate would read as a live one).
        let (confidence, bar) = if h.status == HypothesisStatus::Refuted {
            ("   –  ".to_string(), "─".repeat(10))
        } else {
            (format!(" {:>3.0}% ", h.confidence * 100.0), bar)
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{}{marks}", h.id), head_style),
            Span::styled(format!(" {:<9}", h.status.label()), theme.style(&role)),
            Span::styled(confidence, theme.style("text")),
            Span::styled(bar, theme.style(&role)),
            Span::styled(format!(" {} ev", h.evidence.len()), theme.style("muted")),
        ]));
        let statement_style = if h.status == HypothesisStatus::Refuted {
            theme.style("hypothesis.refuted")
        } else {
            theme.style("text")
        };
        lines.extend(prefixed(&h.statement, width, "  ", "  ", statement_style));
        if !h.evidence.is_empty() {
            lines.extend(prefixed(
                &h.evidence.join(" "),
                width,
                "  ↳ ",
                "    ",
                theme.style("muted"),
            ));
        }
    }
    (lines, starts)
}

/// Fixed keys of a text field or a dialog (their handlers read these keys directly).
fn fixed_hints(app: &App, pairs: &[(&str, &str)]) -> Line<'static> {
    let mut spans = Vec::new();
    for (key, does) in pairs {
        spans.push(Span::styled(
            format!(" {key}"),
            app.theme.style("status.key"),
        ));
        spans.push(Span::styled(format!(" {does} "), app.theme.style("muted")));
    }
    Line::from(spans)
}

/// The keys of what is on top now: a text field being typed into, a dialog, an overlay,
/// the pending decision, or the panes, never those of a mode that is not active.
fn hints(app: &App) -> Line<'static> {
    match app.overlays.last() {
        Some(Overlay::ConfirmQuit) => {
            return fixed_hints(app, &[("y/q/enter", "quit"), ("any other key", "stay")]);
        }
        Some(Overlay::Help { .. }) => {
            return fixed_hints(
                app,
                &[
                    ("j/k", "scroll"),
                    ("pgdn/pgup", "page"),
                    ("esc/q/?", "close"),
                ],
            );
        }
        Some(Overlay::Steer(_)) => {
            return fixed_hints(app, &[("enter", "send to the agent"), ("esc", "cancel")]);
        }
        Some(Overlay::Editor(editor)) if editor.editing.is_some() => {
            return fixed_hints(app, &[("enter", "save"), ("esc", "cancel")]);
        }
        Some(Overlay::Pager(pager)) if pager.searching.is_some() => {
            return fixed_hints(app, &[("enter", "find"), ("esc", "cancel")]);
        }
        _ => {}
    }
    let live_decision = !app.is_replay() && app.overlays.is_empty();
    if live_decision
        && let Some(input) = app
            .decision
            .as_ref()
            .filter(|d| !d.hidden)
            .and_then(|d| d.input.as_ref())
    {
        let send = match input {
            DecisionInput::DenyReason(_) => "deny with this reason",
            DecisionInput::EditCommand(_) => "approve the edited command",
        };
        return fixed_hints(app, &[("enter", send), ("esc", "back to the choices")]);
    }
    if live_decision
        && app.decision.as_ref().is_some_and(|d| !d.hidden)
        && matches!(app.state.pending.first(), Some(Pending::Credential { .. }))
    {
        if app.attached {
            let quit = app
                .keymap
                .hint(Context::Global, Action::Quit)
                .unwrap_or_else(|| "ctrl-c".into());
            return fixed_hints(app, &[("esc", "set aside"), (quit.as_str(), "detach")]);
        }
        return fixed_hints(
            app,
            &[("enter", "submit the credential"), ("esc", "refuse")],
        );
    }
    let context = app.context();
    let mut pairs: Vec<(Context, Action)> = match context {
        Context::Approval => [
            Action::ApproveOnce,
            Action::ApproveSession,
            Action::EditThenApprove,
            Action::Deny,
            Action::Review,
        ]
        .into_iter()
        .filter(|&a| a != Action::ApproveSession || app.session_scope_offered())
        .map(|a| (Context::Approval, a))
        .collect(),
        Context::Editor => [
            Action::EditStatement,
            Action::AddHypothesis,
            Action::Reject,
            Action::Confirm,
            Action::TogglePin,
            Action::Close,
        ]
        .map(|a| (Context::Editor, a))
        .to_vec(),
        Context::Pager => [Action::Search, Action::NextMatch, Action::Close]
            .map(|a| (Context::Pager, a))
            .to_vec(),
        _ => Vec::new(),
    };
    if matches!(
        context,
        Context::Transcript | Context::Board | Context::Approval | Context::Global
    ) {
        if app.is_replay() {
            pairs.extend(
                [
                    Action::PlayPause,
                    Action::Step,
                    Action::SpeedUp,
                    Action::NextDecision,
                    Action::Help,
                    Action::Quit,
                ]
                .map(|a| (Context::Replay, a)),
            );
        } else {
            pairs.extend(
                [
                    Action::PauseResume,
                    Action::EditHypotheses,
                    Action::Steer,
                    Action::Help,
                    Action::Quit,
                ]
                .map(|a| (Context::Global, a))
                .into_iter()
                .filter(|&(_, a)| a != Action::PauseResume || app.agent_running()),
            );
        }
        if context == Context::Transcript {
            pairs.insert(0, (Context::Transcript, Action::ToggleOutput));
            pairs.insert(0, (Context::Transcript, Action::SelectNextCall));
        }
    }
    let mut spans = Vec::new();
    for (ctx, action) in pairs {
        if let Some(key) = app.keymap.hint(ctx, action) {
            spans.push(Span::styled(
                format!(" {key}"),
                app.theme.style("status.key"),
            ));
            spans.push(Span::styled(
                format!(" {} ", action.name()),
                app.theme.style("muted"),
            ));
        }
    }
    Line::from(spans)
}

fn status_line(app: &App, width: usize) -> Line<'static> {
    let theme = &app.theme;
    let state = &app.state;
    let bar = theme.style("status.bar");
    let mut spans = vec![Span::styled(" hunch ", theme.style("title").patch(bar))];
    if let Mode::Replay(replay) = &app.mode {
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
    if state.session.incident.simulated {
        spans.push(Span::styled(
            " demo environment ",
            theme.style("status.demo"),
        ));
    }
    let started = state.session.started_at;
    let clock = match (&app.mode, started) {
        (Mode::Replay(_), Some(s)) => state.last_ts.map(|t| t - s),
        (Mode::Live(_), Some(s)) => Some(if state.ended.is_some() || state.conclusion.is_some() {
            state.last_ts.unwrap_or(app.now) - s
        } else {
            app.now - s
        }),
        _ => None,
    };
    let elapsed = clock
        .map(|d| format!("{:02}:{:02}", d.num_minutes(), d.num_seconds() % 60))
        .unwrap_or_else(|| "--:--".into());
    let mut info = format!(
        " {} · policy {} · {elapsed} · step {}",
        if state.session.brain.is_empty() {
            "…"
        } else {
            &state.session.brain
        },
        state.session.policy,
        state.steps()
    );
    info.push_str(&budget_text(state));
    if state.errors > 0 {
        info.push_str(&format!(" · {} errors", state.errors));
    }
    spans.push(Span::styled(info, bar));
    if state.paused {
        spans.push(Span::styled(" PAUSED ", theme.style("status.paused")));
    }
    if state.conclusion.is_some() {
        spans.push(Span::styled(
            " concluded",
            theme.style("conclusion").patch(bar),
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
    let used: usize = spans.iter().map(|s| s.content.width()).sum();
    if let Some(file) = &app.session_file {
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

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width
        .min(area.width.saturating_sub(2))
        .max(10.min(area.width));
    let height = height
        .min(area.height.saturating_sub(2))
        .max(3.min(area.height));
    Rect {
        x: area.x + (area.width.saturating_sub(width)) / 2,
        y: area.y + (area.height.saturating_sub(height)) / 2,
        width,
        height,
    }
}

/// The help overlay laid out for the screen: one column, or two side by side when the
/// screen is wide enough, each line already wrapped so the scroll range is exact.
pub(crate) struct HelpLayout {
    rect: Rect,
    columns: Vec<Vec<Line<'static>>>,
    /// Rows of text that fit inside the border.
    height: usize,
}

impl HelpLayout {
    fn rows(&self) -> usize {
        self.columns.iter().map(Vec::len).max().unwrap_or(0)
    }

    pub(crate) fn max_scroll(&self) -> usize {
        self.rows().saturating_sub(self.height)
    }
}

pub(crate) fn help_layout(app: &App, area: Rect) -> HelpLayout {
    let theme = &app.theme;
    let two = area.width >= 168;
    let rect = centered(
        area,
        if two {
            area.width.saturating_sub(4)
        } else {
            120
        },
        area.height.saturating_sub(2),
    );
    let inner = Block::default().borders(Borders::ALL).inner(rect);
    let count = if two { 2 } else { 1 };
    let width = (inner.width / count).saturating_sub(1) as usize;
    let mut sections: Vec<Vec<Line<'static>>> = Vec::new();
    for (context, entries) in app.keymap.listing() {
        if entries.iter().all(|(_, keys)| keys.is_empty()) {
            continue;
        }
        let mut lines = vec![Line::styled(
            format!("[{}]", context.name()),
            theme.style("title"),
        )];
        for (action, keys) in entries {
            if keys.is_empty() {
                continue;
            }
            let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
            let keys = format!("  {:<16}", keys.join(" "));
            let name = format!("{:<22}", action.name());
            if width >= 64 {
                let indent = keys.chars().count() + name.chars().count();
                let mut help = wrap(action.help(), width.saturating_sub(indent)).into_iter();
                lines.push(Line::from(vec![
                    Span::styled(keys, theme.style("status.key")),
                    Span::styled(name, theme.style("text")),
                    Span::styled(help.next().unwrap_or_default(), theme.style("muted")),
                ]));
                lines.extend(help.map(|rest| {
                    Line::styled(
                        format!("{}{rest}", " ".repeat(indent)),
                        theme.style("muted"),
                    )
                }));
            } else {
                lines.push(Line::from(vec![
                    Span::styled(keys, theme.style("status.key")),
                    Span::styled(name, theme.style("text")),
                ]));
                lines.extend(prefixed(
                    action.help(),
                    width,
                    "    ",
                    "    ",
                    theme.style("muted"),
                ));
            }
        }
        sections.push(lines);
    }
    let mut columns = vec![Vec::new(); count as usize];
    let total: usize = sections.iter().map(Vec::len).sum();
    for section in sections {
        let column = if count == 2 && columns[0].len() >= total.div_ceil(2) {
            1
        } else {
            0
        };
        if !columns[column].is_empty() {
            columns[column].push(Line::default());
        }
        columns[column].extend(section);
    }
    HelpLayout {
        rect,
        columns,
        height: inner.height as usize,
    }
}

fn overlay_block(title: String, style: Style) -> Block<'static> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(style)
        .title(Span::styled(title, style.add_modifier(Modifier::BOLD)))
}

fn labelled(
    label: &str,
    text: &str,
    width: usize,
    style: Style,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let pad = format!("{label:<10}");
    let inner = width.saturating_sub(pad.width());
    wrap(text, inner)
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            let head = if i == 0 {
                Span::styled(pad.clone(), theme.style("muted"))
            } else {
                Span::raw(" ".repeat(pad.width()))
            };
            Line::from(vec![head, Span::styled(l, style)])
        })
        .collect()
}

/// Clear `rect`, draw an overlay's border and title there, and return the inside.
fn open_overlay(frame: &mut Frame, rect: Rect, title: String, style: Style) -> Rect {
    frame.render_widget(Clear, rect);
    let block = overlay_block(title, style);
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    inner
}

/// A text field with a focused border and an optional title.
fn draw_field(
    frame: &mut Frame,
    field: &ratatui_textarea::TextArea<'static>,
    title: &str,
    area: Rect,
    theme: &Theme,
) {
    let mut boxed = field.clone();
    boxed.set_block(
        Block::default()
            .borders(Borders::ALL)
            .border_style(theme.style("border.focus"))
            .title(title.to_string()),
    );
    frame.render_widget(&boxed, area);
}

/// The approval or credential overlay: a body that scrolls (page-up/page-down) with an
/// indicator of what is hidden, and a footer (buttons, the input field) that is always
/// on screen, so every word of what will run can be read at any size. `r` hides it to
/// review the transcript and the pager, and brings it back.
fn draw_decision(frame: &mut Frame, app: &App, area: Rect) {
    let Some(pending) = app.state.pending.first() else {
        return;
    };
    let theme = &app.theme;
    let call = &app.state.calls[pending.call()];
    let ui = app.decision.as_ref();
    if ui.is_some_and(|u| u.hidden) {
        return draw_hidden_decision(frame, app, area, call);
    }
    let width = area.width.saturating_sub(4).min(84);
    let inner_w = width.saturating_sub(2) as usize;
    let (body, footer, input, title, style) = match pending {
        Pending::Approval {
            reason,
            scope,
            preview,
            ..
        } => {
            let (body, footer) = approval_lines(
                app,
                call,
                reason,
                scope.as_ref(),
                preview.as_deref(),
                inner_w,
            );
            let input = ui.and_then(|u| u.input.as_ref()).map(|i| match i {
                DecisionInput::DenyReason(a) | DecisionInput::EditCommand(a) => a,
            });
            let title = format!(
                " Approval needed · {} {} · {} ",
                call.id,
                call.tool,
                call.risk.label()
            );
            (
                body,
                footer,
                input,
                title,
                theme.style(risk_role(call.risk)),
            )
        }
        Pending::Credential { target, prompt, .. } => {
            let (body, mut footer) = credential_lines(app, call, target, prompt, inner_w);
            let title = format!(" Credential needed · {} {} ", call.id, call.tool);
            let input = ui.map(|u| &u.credential).filter(|_| !app.attached);
            if app.attached {
                footer.push(Line::styled(
                    truncate(
                        "typed on the terminal that asked for it: a secret never crosses to this one",
                        inner_w,
                    ),
                    theme.style("muted"),
                ));
            }
            (
                body,
                footer,
                input,
                title,
                theme.style("approval.risk.medium"),
            )
        }
    };
    let input_rows: u16 = if input.is_some() { 3 } else { 0 };
    let footer_rows = footer.len() as u16 + input_rows;
    let wanted = body.len() as u16 + footer_rows + 2;
    let rect = centered(area, width, wanted);
    let inner = open_overlay(frame, rect, title, style);
    let body_rows = inner.height.saturating_sub(footer_rows) as usize;
    // When the body overflows, its last row says what is hidden.
    let overflow = body.len() > body_rows;
    let content_rows = if overflow {
        body_rows.saturating_sub(1)
    } else {
        body_rows
    };
    let scroll = ui
        .map(|u| u.scroll)
        .unwrap_or(0)
        .min(body.len().saturating_sub(content_rows));
    let hidden_below = body.len().saturating_sub(scroll + content_rows);
    let mut shown: Vec<Line> = body.into_iter().skip(scroll).take(content_rows).collect();
    if overflow && body_rows > 0 {
        let key = |action| {
            app.keymap
                .hint(Context::Approval, action)
                .unwrap_or_default()
        };
        let note = match (scroll, hidden_below) {
            (_, 0) => format!(
                "↑ {} above ({})",
                crate::text::plural(scroll, "more line"),
                key(Action::PageUp)
            ),
            (0, below) => format!(
                "↓ {} ({})",
                crate::text::plural(below, "more line"),
                key(Action::PageDown)
            ),
            (above, below) => format!(
                "↑ {above} above · ↓ {below} below ({}/{})",
                key(Action::PageUp),
                key(Action::PageDown)
            ),
        };
        shown.push(Line::styled(note, theme.style("tool.pending")));
    }
    frame.render_widget(Paragraph::new(shown), inner);
    let footer_area = Rect {
        y: inner.y + inner.height.saturating_sub(footer_rows),
        height: footer_rows.min(inner.height),
        ..inner
    };
    frame.render_widget(Paragraph::new(footer), footer_area);
    if let Some(field) = input {
        let field_area = Rect {
            y: inner.y + inner.height.saturating_sub(input_rows),
            height: input_rows.min(inner.height),
            ..inner
        };
        draw_field(frame, field, "", field_area, theme);
    }
}

/// While the engineer reviews the transcript, the pending decision is one line that
/// says how to come back to it.
fn draw_hidden_decision(frame: &mut Frame, app: &App, area: Rect, call: &crate::event::ToolCall) {
    let key = app
        .keymap
        .hint(Context::Approval, Action::Review)
        .unwrap_or_default();
    let text = format!(
        " ⚠ {} {} waits for your decision · {key}: back to it ",
        call.id, call.tool
    );
    let rect = Rect {
        y: area.y + area.height.saturating_sub(1),
        height: 1.min(area.height),
        ..area
    };
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(truncate(&text, rect.width as usize)).style(app.theme.style("tool.pending")),
        rect,
    );
}

/// The approval's body (everything about the call) and its footer (the buttons, and
/// the label of the input field when one is open).
fn approval_lines(
    app: &App,
    call: &crate::event::ToolCall,
    reason: &str,
    scope: Option<&crate::event::SessionScope>,
    preview: Option<&str>,
    inner_w: usize,
) -> (Vec<Line<'static>>, Vec<Line<'static>>) {
    let theme = &app.theme;
    let mut lines = Vec::new();
    let language = if call.tool == "psql" { "sql" } else { "shell" };
    let command: Vec<Line> = highlight(
        &wrap(&call.command, inner_w.saturating_sub(10)).join("\n"),
        language,
        theme,
    );
    for (i, l) in command.into_iter().enumerate() {
        let mut spans = vec![if i == 0 {
            Span::styled(format!("{:<10}", "Will run"), theme.style("muted"))
        } else {
            Span::raw(" ".repeat(10))
        }];
        spans.extend(l.spans);
        lines.push(Line::from(spans));
    }
    let text = theme.style("text");
    lines.extend(labelled("Target", &call.target, inner_w, text, theme));
    let risk_style = theme.style(risk_role(call.risk));
    let risk = match call.risk {
        Risk::Destructive => "destructive: cannot be undone by another call; asked every time",
        Risk::ReadsSecrets => "reads-secrets: its output holds credentials",
        other => other.label(),
    };
    lines.extend(labelled("Risk", risk, inner_w, risk_style, theme));
    lines.extend(labelled("Why", reason, inner_w, text, theme));
    if let Some(p) = preview {
        lines.extend(labelled("Preview", p, inner_w, theme.style("muted"), theme));
    }
    let session = match scope {
        Some(scope) => format!("\"approve for session\" covers {}", scope.describe()),
        None if call.risk == Risk::Destructive => {
            "\"approve for session\" is not offered: a destructive call is asked every time".into()
        }
        None => "\"approve for session\" is not offered: this call is not one statement or command of known risk".into(),
    };
    lines.extend(labelled(
        "Session",
        &session,
        inner_w,
        theme.style("muted"),
        theme,
    ));
    let ui = app.decision.as_ref();
    let focus = ui.map(|u| u.focus);
    let mut buttons = Vec::new();
    for button in Button::ALL {
        let key = app
            .keymap
            .hint(Context::Approval, button.action())
            .unwrap_or_default();
        let label = match button {
            Button::ApproveOnce => "approve once",
            Button::ApproveSession => "for session",
            Button::EditThenApprove => "edit, approve",
            Button::Deny => "deny",
        };
        let style = if focus == Some(button) {
            theme.style("button.focus")
        } else if button == Button::ApproveSession && scope.is_none() {
            // Not offered for this call (the Session line says why): shown, but dimmed.
            theme.style("muted")
        } else {
            theme.style("button")
        };
        buttons.push(Span::styled(format!("[{key}] {label}"), style));
        buttons.push(Span::raw(" "));
    }
    // Buttons wrap onto as many rows as the width needs; none is ever cut away.
    let mut footer = vec![Line::default()];
    let mut row: Vec<Span<'static>> = Vec::new();
    let mut row_width = 0;
    for span in buttons {
        let w = span.content.width();
        if row_width + w > inner_w && !row.is_empty() {
            footer.push(Line::from(std::mem::take(&mut row)));
            row_width = 0;
        }
        row_width += w;
        row.push(span);
    }
    footer.push(Line::from(row));
    let input_label = ui.and_then(|u| u.input.as_ref()).map(|i| match i {
        DecisionInput::DenyReason(_) => "Reason for the agent (enter: deny · esc: back)",
        DecisionInput::EditCommand(_) => "Edit the command (enter: approve it · esc: back)",
    });
    if let Some(label) = input_label {
        footer.push(Line::styled(truncate(label, inner_w), theme.style("title")));
    }
    (lines, footer)
}

/// The credential prompt's body (the whole call it is for) and footer (the prompt).
fn credential_lines(
    app: &App,
    call: &crate::event::ToolCall,
    target: &str,
    prompt: &str,
    inner_w: usize,
) -> (Vec<Line<'static>>, Vec<Line<'static>>) {
    let theme = &app.theme;
    let mut lines = Vec::new();
    lines.extend(labelled(
        "Target",
        target,
        inner_w,
        theme.style("text"),
        theme,
    ));
    lines.extend(labelled(
        "For",
        &call.command,
        inner_w,
        theme.style("muted"),
        theme,
    ));
    lines.extend(labelled(
        "Why",
        &call.rationale,
        inner_w,
        theme.style("text"),
        theme,
    ));
    lines.extend(prefixed(
        "Goes only to this one call. Never shown, recorded, logged or sent to the agent.",
        inner_w,
        "",
        "",
        theme.style("muted"),
    ));
    let mut footer = vec![
        Line::default(),
        Line::styled(truncate(prompt, inner_w), theme.style("title")),
    ];
    let typed = app
        .decision
        .as_ref()
        .map_or(0, |d| d.credential.lines().join("").chars().count());
    if (1..crate::redact::MIN_SCRUBBED_CREDENTIAL).contains(&typed) {
        let warning = format!(
            "Shorter than {} characters: it will not be scrubbed from the call's output.",
            crate::redact::MIN_SCRUBBED_CREDENTIAL
        );
        footer.push(Line::styled(
            truncate(&warning, inner_w),
            theme.style("muted"),
        ));
    }
    (lines, footer)
}

fn draw_overlay(frame: &mut Frame, app: &App, overlay: &Overlay, area: Rect) {
    let theme = &app.theme;
    match overlay {
        Overlay::ConfirmQuit => {
            let what = app
                .quit_would_interrupt()
                .unwrap_or_else(|| "nothing is waiting".into());
            let width = area.width.saturating_sub(4).min(64);
            let text = format!("Quit now? {what}. The session is saved; `hunch replay` shows it.");
            let mut lines = prefixed(
                &text,
                width.saturating_sub(2) as usize,
                "",
                "",
                theme.style("text"),
            );
            lines.push(Line::default());
            lines.push(Line::styled(
                "y/q/enter: quit · any other key: stay",
                theme.style("title"),
            ));
            let rect = centered(area, width, lines.len() as u16 + 2);
            let inner = open_overlay(frame, rect, " Quit? ".into(), theme.style("tool.pending"));
            frame.render_widget(Paragraph::new(lines), inner);
        }
        Overlay::Help { scroll } => {
            let help = help_layout(app, area);
            let scroll = (*scroll).min(help.max_scroll());
            frame.render_widget(Clear, help.rect);
            let title = format!(" Keys · keymap {} · esc closes ", app.keymap.name);
            let mut block = overlay_block(title, theme.style("border.focus"));
            let below = help.rows().saturating_sub(scroll + help.height);
            let more = match (scroll, below) {
                (0, 0) => None,
                (0, below) => Some(format!(" ↓ {below} more · j/k or pgdn/pgup scroll ")),
                (above, 0) => Some(format!(" ↑ {above} above · k or pgup scrolls back ")),
                (above, below) => Some(format!(
                    " ↑ {above} above · ↓ {below} more · j/k or pgdn/pgup scroll "
                )),
            };
            if let Some(more) = more {
                block = block.title_bottom(Span::styled(more, theme.style("title")));
            }
            let inner = block.inner(help.rect);
            frame.render_widget(block, help.rect);
            let columns = help.columns.len() as u32;
            let areas = Layout::horizontal((0..columns).map(|_| Constraint::Ratio(1, columns)))
                .split(inner);
            for (column, rect) in help.columns.into_iter().zip(areas.iter()) {
                let lines: Vec<Line> = column.into_iter().skip(scroll).take(help.height).collect();
                frame.render_widget(Paragraph::new(lines), *rect);
            }
        }
        Overlay::Steer(area_widget) => {
            let rect = centered(area, 76, 7);
            let inner = open_overlay(
                frame,
                rect,
                " Tell the agent (enter sends · esc cancels) ".into(),
                theme.style("border.focus"),
            );
            frame.render_widget(area_widget, inner);
        }
        Overlay::Editor(editor) => {
            let rect = centered(area, 96, area.height.saturating_sub(2));
            let inner = open_overlay(
                frame,
                rect,
                " Hypotheses · your edits are authoritative for the agent ".into(),
                theme.style("border.focus"),
            );
            let width = inner.width as usize;
            let mut lines = Vec::new();
            let selected_index = app.state.rank_of(editor.selected.as_deref());
            let order = app.state.ranked_hypotheses();
            for (i, h) in order.iter().map(|&i| (i, &app.state.hypotheses[i])) {
                let i = order.iter().position(|&o| o == i).unwrap_or(0);
                let role = format!("hypothesis.{}", h.status.label());
                let marker = if i == selected_index { "▶ " } else { "  " };
                let who = if h.author == crate::event::Author::Human {
                    " ✎"
                } else {
                    ""
                };
                let pin = if h.pinned { " pinned" } else { "" };
                let head = format!("{marker}{}{who} {}{pin}", h.id, h.standing());
                let head_style = if i == selected_index {
                    theme.style("selection")
                } else {
                    theme.style(&role)
                };
                lines.push(Line::styled(head, head_style));
                lines.extend(prefixed(
                    &h.statement,
                    width,
                    "    ",
                    "    ",
                    theme.style("text"),
                ));
            }
            if app.state.hypotheses.is_empty() {
                lines.push(Line::styled(
                    "The board is empty. Press a to add a hypothesis.",
                    theme.style("muted"),
                ));
            }
            let editing_rows = if editor.editing.is_some() { 5 } else { 0 };
            let list_area = Rect {
                height: inner.height.saturating_sub(editing_rows + 1),
                ..inner
            };
            frame.render_widget(Paragraph::new(lines), list_area);
            let footer = Rect {
                y: inner.y + inner.height.saturating_sub(1),
                height: 1.min(inner.height),
                ..inner
            };
            frame.render_widget(Paragraph::new(hints(app)), footer);
            if let Some((id, text)) = &editor.editing {
                let field = Rect {
                    y: inner.y + inner.height.saturating_sub(editing_rows + 1),
                    height: editing_rows.min(inner.height),
                    ..inner
                };
                let title = match id {
                    Some(id) => format!(" Edit {id} (enter saves · esc cancels) "),
                    None => " New hypothesis (enter adds · esc cancels) ".to_string(),
                };
                draw_field(frame, text, &title, field, theme);
            }
        }
        Overlay::Pager(pager) => {
            let rect = area;
            frame.render_widget(Clear, rect);
            let matches = if pager.query.is_empty() {
                String::new()
            } else {
                format!(" · /{}: {} matches", pager.query, pager.matches.len())
            };
            let title = format!(
                " {} · line {}/{}{matches} ",
                truncate(&pager.title, rect.width as usize / 2),
                pager.scroll + 1,
                pager.lines.len()
            );
            let block = overlay_block(title, theme.style("border.focus"));
            let inner = block.inner(rect);
            frame.render_widget(block, rect);
            let body_height =
                inner
                    .height
                    .saturating_sub(if pager.searching.is_some() { 3 } else { 0 })
                    as usize;
            let number_width = pager.lines.len().to_string().len();
            let visible: Vec<&String> = pager
                .lines
                .iter()
                .skip(pager.scroll)
                .take(body_height)
                .collect();
            let highlighted = if pager.query.is_empty() {
                highlight(
                    &visible
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join("\n"),
                    &pager.language,
                    theme,
                )
            } else {
                visible
                    .iter()
                    .map(|l| search_line(l, &pager.query, theme))
                    .collect()
            };
            let lines: Vec<Line> = highlighted
                .into_iter()
                .enumerate()
                .map(|(i, l)| {
                    let mut spans = vec![Span::styled(
                        format!("{:>number_width$} ", pager.scroll + i + 1),
                        theme.style("muted"),
                    )];
                    spans.extend(l.spans);
                    Line::from(spans)
                })
                .collect();
            frame.render_widget(Paragraph::new(lines), inner);
            if let Some(search) = &pager.searching {
                let field = Rect {
                    y: inner.y + inner.height.saturating_sub(3),
                    height: 3.min(inner.height),
                    ..inner
                };
                draw_field(frame, search, " / search ", field, theme);
            }
        }
    }
}

fn search_line(line: &str, query: &str, theme: &Theme) -> Line<'static> {
    let lower = line.to_lowercase();
    let needle = query.to_lowercase();
    if needle.is_empty() || lower.len() != line.len() {
        return Line::from(line.to_string());
    }
    let mut spans = Vec::new();
    let mut last = 0;
    for (pos, _) in lower.match_indices(&needle) {
        spans.push(Span::raw(line[last..pos].to_string()));
        spans.push(Span::styled(
            line[pos..pos + needle.len()].to_string(),
            theme.style("search.match"),
        ));
        last = pos + needle.len();
    }
    spans.push(Span::raw(line[last..].to_string()));
    Line::from(spans)
}

fn draw_transcript(frame: &mut Frame, app: &mut App, area: Rect, cache: &mut TranscriptCache) {
    let focused = app.focus == Pane::Transcript;
    let border = if focused {
        app.theme.style("border.focus")
    } else {
        app.theme.style("border")
    };
    let inner = Block::default().borders(Borders::ALL).inner(area);
    let height = inner.height as usize;
    app.transcript_height = height;
    let view = EntryView::of(app);
    // `scroll` may be anything (scroll-to-top asks for "as far as there is"): clamp it
    // once the transcript's real length is known, never allocate by it, and only then
    // say how far up the view is.
    let need = height.saturating_add(app.scroll);
    let mut reversed: Vec<Line<'static>> = Vec::new();
    let mut index = app.state.transcript.len();
    while index > 0 && reversed.len() < need {
        index -= 1;
        reversed.extend(
            cache
                .lines(&app.state, index, inner.width, &view)
                .iter()
                .rev()
                .cloned(),
        );
    }
    let max_scroll = reversed.len().saturating_sub(height);
    if index == 0 && app.scroll > max_scroll {
        app.scroll = max_scroll;
    }
    let title = if app.scroll > 0 {
        format!(" transcript · ↑{} (G follows) ", app.scroll)
    } else {
        " transcript ".to_string()
    };
    pane(frame, area, title, border, &app.theme);
    let start = app.scroll.min(reversed.len());
    let mut visible: Vec<Line> = reversed.into_iter().skip(start).take(height).collect();
    visible.reverse();
    frame.render_widget(Paragraph::new(visible), inner);
}

/// A bordered pane with a title; the area inside it.
fn pane(frame: &mut Frame, area: Rect, title: String, border: Style, theme: &Theme) -> Rect {
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(border)
        .title(Span::styled(title, theme.style("title")));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    inner
}

/// The board, scrolled so the selected hypothesis is in view, with what is hidden above
/// and below counted in its title.
fn draw_board(frame: &mut Frame, app: &App, area: Rect, border: Style) {
    let inner_width = area.width.saturating_sub(2) as usize;
    let height = area.height.saturating_sub(2) as usize;
    let (lines, starts) = board_lines(app, inner_width);
    let selected = app
        .state
        .rank_of(app.board_selected.as_deref())
        .min(starts.len().saturating_sub(1));
    let start = starts.get(selected).copied().unwrap_or(0);
    let end = starts.get(selected + 1).copied().unwrap_or(lines.len());
    // Stateless: the selected hypothesis ends at the bottom edge when it fits, starts at
    // the top edge when it does not.
    let offset = start
        .min(end.saturating_sub(height))
        .min(lines.len().saturating_sub(height));
    let above = starts.iter().filter(|&&s| s < offset).count();
    let below = starts.iter().filter(|&&s| s >= offset + height).count();
    let mut title = format!(" hypotheses ({}) ", app.state.hypotheses.len());
    if above > 0 {
        title.push_str(&format!("↑{above} "));
    }
    if below > 0 {
        title.push_str(&format!("↓{below} more "));
    }
    let inner = pane(frame, area, title, border, &app.theme);
    let visible: Vec<Line> = lines.into_iter().skip(offset).take(height).collect();
    frame.render_widget(Paragraph::new(visible), inner);
}

/// The pager and the help scroll no further than their last line shows at the bottom:
/// the keys ask for "as far as there is", the screen's size says how far that is.
fn clamp_overlay_scroll(app: &mut App, main: Rect) {
    let help_max = match app.overlays.last() {
        Some(Overlay::Help { .. }) => help_layout(app, main).max_scroll(),
        _ => 0,
    };
    match app.overlays.last_mut() {
        Some(Overlay::Help { scroll }) => *scroll = (*scroll).min(help_max),
        Some(Overlay::Pager(pager)) => {
            let searching = if pager.searching.is_some() { 3 } else { 0 };
            pager.height = (main.height.saturating_sub(2 + searching) as usize).max(1);
            pager.scroll = pager.scroll.min(pager.max_scroll());
        }
        _ => {}
    }
}

/// Draw the whole screen.
pub fn draw(frame: &mut Frame, app: &mut App) {
    let area = frame.area();
    let [main, status] = Layout::vertical([Constraint::Min(3), Constraint::Length(2)]).areas(area);
    let wide = main.width >= 100;
    let (transcript_area, board_area) = if wide {
        let board_width = (main.width * 35 / 100).clamp(34, 60);
        let [t, b] =
            Layout::horizontal([Constraint::Min(40), Constraint::Length(board_width)]).areas(main);
        (t, b)
    } else {
        let wanted = board_lines(app, main.width.saturating_sub(2) as usize)
            .0
            .len() as u16
            + 2;
        let board_height = wanted.min(main.height / 3).max(3);
        let [b, t] =
            Layout::vertical([Constraint::Length(board_height), Constraint::Min(3)]).areas(main);
        (t, b)
    };
    let mut cache = std::mem::take(&mut app.cache);
    draw_transcript(frame, app, transcript_area, &mut cache);
    app.cache = cache;
    let border = if app.focus == Pane::Board {
        app.theme.style("border.focus")
    } else {
        app.theme.style("border")
    };
    draw_board(frame, app, board_area, border);
    let [line1, line2] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(status);
    frame.render_widget(
        Paragraph::new(status_line(app, area.width as usize)).style(app.theme.style("status.bar")),
        line1,
    );
    match &app.flash {
        Some(text) => frame.render_widget(
            Paragraph::new(truncate(&format!(" {text}"), area.width as usize))
                .style(app.theme.style("tool.pending")),
            line2,
        ),
        None => frame.render_widget(Paragraph::new(hints(app)), line2),
    }
    if !app.state.pending.is_empty() {
        draw_decision(frame, app, main);
    }
    clamp_overlay_scroll(app, main);
    for overlay in &app.overlays {
        draw_overlay(frame, app, overlay, main);
    }
}
