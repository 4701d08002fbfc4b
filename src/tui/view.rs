//! Drawing the whole screen: the transcript and the board (side by side when wide, the
//! board above when narrow), the status bar, the hint bar (or the flash), then the stack
//! of layers bottom to top. Each part draws itself; this only lays them out. Nothing here
//! changes the investigation.

use super::app::{App, Mode, Pane};
use super::board::{self, BoardView};
use super::status::{self, StatusView};
use super::transcript::{self, Look};
use super::widgets::{hint_line, truncate};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::Paragraph;

/// Draw the whole screen.
pub fn draw(frame: &mut Frame, app: &mut App) {
    let area = frame.area();
    let [main, status] = Layout::vertical([Constraint::Min(3), Constraint::Length(2)]).areas(area);
    let (transcript_area, board_area) = panes(app, main);
    let look = Look {
        theme: &app.theme,
        tick: app.tick,
        now: app.now,
        focused: app.focus == Pane::Transcript,
    };
    transcript::draw(
        frame,
        transcript_area,
        &app.state,
        &mut app.transcript,
        look,
    );
    board::draw(frame, board_area, &app.state, board_view(app));
    let (cx, decision, layers) = app.stack_mut();
    if let Some(decision) = decision {
        decision.draw(frame, main, &cx);
    }
    for layer in layers.iter_mut() {
        layer.draw(frame, main, &cx);
    }
    // The bars last: a layer's hints may depend on what it just laid out (help says
    // nothing of scrolling when everything fit).
    draw_bars(frame, app, status, area.width as usize);
}

fn board_view(app: &App) -> BoardView<'_> {
    BoardView {
        selected: app.board_selected.as_deref(),
        focused: app.focus == Pane::Board,
        theme: &app.theme,
    }
}

/// The transcript's and the board's areas.
fn panes(app: &App, main: Rect) -> (Rect, Rect) {
    if main.width >= 100 {
        let board_width = (main.width * 35 / 100).clamp(34, 60);
        let [t, b] =
            Layout::horizontal([Constraint::Min(40), Constraint::Length(board_width)]).areas(main);
        (t, b)
    } else {
        let wanted = board::lines(
            &app.state,
            board_view(app),
            main.width.saturating_sub(2) as usize,
        )
        .0
        .len() as u16
            + 2;
        let board_height = wanted.min(main.height / 3).max(3);
        let [b, t] =
            Layout::vertical([Constraint::Length(board_height), Constraint::Min(3)]).areas(main);
        (t, b)
    }
}

/// The status bar, and under it the flash or the keys of what is on top.
fn draw_bars(frame: &mut Frame, app: &App, area: Rect, width: usize) {
    let [line1, line2] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(area);
    let view = StatusView {
        theme: &app.theme,
        replay: match &app.mode {
            Mode::Replay(replay) => Some(replay),
            Mode::Live(_) => None,
        },
        now: app.now,
        session_file: app.session_file.as_deref(),
    };
    frame.render_widget(
        Paragraph::new(status::line(&app.state, view, width)).style(app.theme.style("status.bar")),
        line1,
    );
    let bottom = match &app.flash {
        Some(text) => Paragraph::new(truncate(&format!(" {text}"), width))
            .style(app.theme.style("tool.pending")),
        None => Paragraph::new(hint_line(&app.hints(), &app.theme, line2.width)),
    };
    frame.render_widget(bottom, line2);
}
