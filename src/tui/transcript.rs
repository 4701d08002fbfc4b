//! The transcript: a widget over `&State` and a small view state ([`TranscriptView`]:
//! scroll, the selected call, expanded outputs, and the per-entry line cache).
//!
//! The transcript is the one part that can grow large (100k events), so each entry's
//! wrapped, highlighted lines are cached by (revision, width, view flags), and a frame
//! renders only the entries that reach the screen, walking up from the bottom: a frame
//! costs what is visible, not what was recorded.

use super::highlight::highlight;
use super::theme::Theme;
use super::widgets::{pane, prefixed, risk_role, truncate};
use crate::event::{CallOutcome, CallStatus, Decision, Entry, Risk, State, ToolCall};
use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use std::collections::HashSet;
use unicode_width::UnicodeWidthStr;

const SPINNER: &[&str] = &["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
/// Output lines a collapsed tool cell shows.
const COLLAPSED_LINES: usize = 3;

/// What only the screen keeps about the transcript.
pub struct TranscriptView {
    /// Lines scrolled up from the bottom; 0 follows the stream.
    pub scroll: usize,
    pub selected_call: Option<usize>,
    pub expanded: HashSet<usize>,
    /// Rows inside the border at the last draw, for paging.
    pub height: usize,
    cache: TranscriptCache,
}

impl Default for TranscriptView {
    fn default() -> TranscriptView {
        TranscriptView {
            scroll: 0,
            selected_call: None,
            expanded: HashSet::new(),
            height: 20,
            cache: TranscriptCache::default(),
        }
    }
}

/// How the transcript looks this frame besides its own view state.
#[derive(Clone, Copy)]
pub(crate) struct Look<'a> {
    pub theme: &'a Theme,
    /// Spinner frame.
    pub tick: u64,
    /// The clock running calls count against.
    pub now: DateTime<Utc>,
    pub focused: bool,
}

/// Per-entry rendered lines, reused across frames until the entry or the width changes.
#[derive(Default)]
struct TranscriptCache {
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
    now: DateTime<Utc>,
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
}

impl TranscriptView {
    /// How many transcript lines lie below the start of `entry` (to scroll it into view).
    pub(crate) fn lines_below(&mut self, state: &State, entry: usize, look: Look) -> usize {
        let TranscriptView {
            cache,
            expanded,
            selected_call,
            height,
            ..
        } = self;
        let view = EntryView {
            theme: look.theme,
            expanded,
            selected: *selected_call,
            tick: look.tick,
            now: look.now,
        };
        let width = cache.width.max(20);
        let total: usize = (entry..state.transcript.len())
            .map(|i| cache.lines(state, i, width, &view).len())
            .sum();
        total.saturating_sub(height.saturating_sub(2))
    }

    /// A replay that jumps back has fewer calls than a moment ago: a selection that
    /// points past them is dropped, never indexed.
    pub(crate) fn forget_calls_from(&mut self, calls: usize) {
        if self.selected_call.is_some_and(|i| i >= calls) {
            self.selected_call = None;
        }
        self.expanded.retain(|&i| i < calls);
    }
}

/// Draw the transcript pane; `view.scroll` is clamped to what there is and
/// `view.height` kept for paging.
pub(crate) fn draw(
    frame: &mut Frame,
    area: Rect,
    state: &State,
    view: &mut TranscriptView,
    look: Look,
) {
    let border = if look.focused {
        look.theme.style("border.focus")
    } else {
        look.theme.style("border")
    };
    let inner = Block::default().borders(Borders::ALL).inner(area);
    let height = inner.height as usize;
    view.height = height;
    let TranscriptView {
        cache,
        expanded,
        selected_call,
        scroll,
        ..
    } = view;
    let entries = EntryView {
        theme: look.theme,
        expanded,
        selected: *selected_call,
        tick: look.tick,
        now: look.now,
    };
    // `scroll` may be anything (scroll-to-top asks for "as far as there is"): clamp it
    // once the transcript's real length is known, never allocate by it, and only then
    // say how far up the view is.
    let need = height.saturating_add(*scroll);
    let mut reversed: Vec<Line<'static>> = Vec::new();
    let mut index = state.transcript.len();
    while index > 0 && reversed.len() < need {
        index -= 1;
        reversed.extend(
            cache
                .lines(state, index, inner.width, &entries)
                .iter()
                .rev()
                .cloned(),
        );
    }
    let max_scroll = reversed.len().saturating_sub(height);
    if index == 0 && *scroll > max_scroll {
        *scroll = max_scroll;
    }
    let title = if *scroll > 0 {
        format!(" transcript · ↑{} (G follows) ", scroll)
    } else {
        " transcript ".to_string()
    };
    pane(frame, area, title, border, look.theme);
    let start = (*scroll).min(reversed.len());
    let mut visible: Vec<Line> = reversed.into_iter().skip(start).take(height).collect();
    visible.reverse();
    frame.render_widget(Paragraph::new(visible), inner);
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
            // What the engineers' decisions leave open, as the export says it.
            for f in &state.follow_ups_still_open(&c.follow_ups) {
                lines.extend(prefixed(f, width, "  • ", "    ", theme.style("text")));
            }
            lines
        }
    }
}
