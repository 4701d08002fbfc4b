//! The hypothesis board: a widget over `&State` and the selected hypothesis (by id, so
//! the selection follows the hypothesis, not the row, when the board re-sorts).

use super::theme::Theme;
use super::widgets::{pane, prefixed};
use crate::event::{Author, HypothesisStatus, State};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// What the board shows besides the state.
#[derive(Clone, Copy)]
pub(crate) struct BoardView<'a> {
    /// The selected hypothesis by id; None: the top row.
    pub selected: Option<&'a str>,
    pub focused: bool,
    pub theme: &'a Theme,
}

/// The board's lines, and the line where each hypothesis (in ranked order) starts.
pub(crate) fn lines(
    state: &State,
    view: BoardView,
    width: usize,
) -> (Vec<Line<'static>>, Vec<usize>) {
    let theme = view.theme;
    let order = state.ranked_hypotheses();
    if order.is_empty() {
        return (
            vec![Line::styled("no hypotheses yet", theme.style("muted"))],
            Vec::new(),
        );
    }
    let selected_rank = state.rank_of(view.selected);
    let mut lines = Vec::new();
    let mut starts = Vec::new();
    for (rank, &i) in order.iter().enumerate() {
        starts.push(lines.len());
        let h = &state.hypotheses[i];
        let role = format!("hypothesis.{}", h.status.label());
        let filled = (h.confidence * 10.0).round() as usize;
        let bar = format!(
            "{}{}",
            "█".repeat(filled.min(10)),
            "░".repeat(10 - filled.min(10))
        );
        let head_style = if view.focused && selected_rank == rank {
            theme.style("selection")
        } else {
            theme.style("title")
        };
        let mut marks = String::new();
        if h.author == Author::Human {
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

/// The board, scrolled so the selected hypothesis is in view, with what is hidden above
/// and below counted in its title.
pub(crate) fn draw(frame: &mut Frame, area: Rect, state: &State, view: BoardView) {
    let theme = view.theme;
    let border = if view.focused {
        theme.style("border.focus")
    } else {
        theme.style("border")
    };
    let inner_width = area.width.saturating_sub(2) as usize;
    let height = area.height.saturating_sub(2) as usize;
    let (lines, starts) = lines(state, view, inner_width);
    let selected = state
        .rank_of(view.selected)
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
    let mut title = format!(" hypotheses ({}) ", state.hypotheses.len());
    if above > 0 {
        title.push_str(&format!("↑{above} "));
    }
    if below > 0 {
        title.push_str(&format!("↓{below} more "));
    }
    let inner = pane(frame, area, title, border, theme);
    let visible: Vec<Line> = lines.into_iter().skip(offset).take(height).collect();
    frame.render_widget(Paragraph::new(visible), inner);
}
