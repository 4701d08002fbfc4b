//! The `hunch watch` screen: the queue of alerts that arrived (firing ones to open,
//! resolved ones marked and dimmed), where it listens, and the last things that happened
//! (a refused payload, an investigation opened). A pure function of [`WatchScreen`]; the
//! loop that feeds it lives in `hunch::watch`.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Modifier, Style, Stylize};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, List, ListItem, ListState, Paragraph};

/// One alert as the queue shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchRow {
    pub firing: bool,
    pub name: String,
    pub service: String,
    pub since: String,
    pub source: String,
}

/// What the watch screen shows.
#[derive(Debug, Clone, Default)]
pub struct WatchScreen {
    pub listening: String,
    pub rows: Vec<WatchRow>,
    pub selected: usize,
    /// The last lines of what happened, newest last.
    pub notes: Vec<String>,
}

/// Outside text (an alert's name, its labels) as one line of the screen: cleaned of
/// escape sequences, and a line break in it a space, so a name cannot draw a row of
/// its own that looks like another alert in the queue.
fn one_line(text: &str) -> String {
    crate::sanitize::for_display(text).replace('\n', " ")
}

pub fn draw(frame: &mut Frame, screen: &WatchScreen) {
    let [top, list, notes, keys] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(5),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::from(" hunch watch ").bold().reversed(),
            Span::from(format!(" {}", screen.listening)),
        ])),
        top,
    );
    let items: Vec<ListItem> = screen
        .rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let status = if row.firing { "firing  " } else { "resolved" };
            let line = format!(
                "{:>3} {status}  {}  {}  {}  [{}]",
                i + 1,
                row.name,
                row.service,
                row.since,
                row.source
            );
            let style = if row.firing {
                Style::default()
            } else {
                Style::default().add_modifier(Modifier::DIM)
            };
            ListItem::new(one_line(&line)).style(style)
        })
        .collect();
    let title = format!(
        " alerts ({} firing) ",
        screen.rows.iter().filter(|r| r.firing).count()
    );
    let empty = screen.rows.is_empty();
    let mut state = ListState::default().with_selected((!empty).then_some(screen.selected));
    frame.render_stateful_widget(
        List::new(items)
            .block(Block::bordered().title(title))
            .highlight_symbol("▶ ")
            .highlight_style(Style::default().add_modifier(Modifier::REVERSED)),
        list,
        &mut state,
    );
    if empty {
        let inner = list.inner(ratatui::layout::Margin::new(2, 1));
        frame.render_widget(Paragraph::new("waiting for alerts…").dim(), inner);
    }
    let shown: Vec<Line> = screen
        .notes
        .iter()
        .rev()
        .take(3)
        .rev()
        .map(|n| Line::from(one_line(n)))
        .collect();
    frame.render_widget(
        Paragraph::new(shown).block(Block::bordered().title(" what happened ")),
        notes,
    );
    frame.render_widget(
        Paragraph::new(" ↑/↓ select  enter open as an investigation  q quit").dim(),
        keys,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    #[test]
    fn the_queue_shows_firing_and_resolved_alerts() {
        let screen = WatchScreen {
            listening: "listening on 127.0.0.1:9095".into(),
            rows: vec![
                WatchRow {
                    firing: true,
                    name: "CheckoutLatencyHigh".into(),
                    service: "checkout".into(),
                    since: "since 02:10:00".into(),
                    source: "Alertmanager".into(),
                },
                WatchRow {
                    firing: false,
                    name: "CartPodRestarting".into(),
                    service: "cart".into(),
                    since: "since 01:50:00".into(),
                    source: "Alertmanager".into(),
                },
            ],
            selected: 0,
            notes: vec!["refused a payload (400): not JSON".into()],
        };
        let mut terminal = Terminal::new(TestBackend::new(80, 14)).unwrap();
        terminal.draw(|f| draw(f, &screen)).unwrap();
        let text: String = terminal
            .backend()
            .buffer()
            .content()
            .chunks(80)
            .map(|row| row.iter().map(|c| c.symbol()).collect::<String>() + "\n")
            .collect();
        assert!(text.contains("alerts (1 firing)"), "{text}");
        assert!(
            text.contains("▶   1 firing    CheckoutLatencyHigh  checkout"),
            "{text}"
        );
        assert!(text.contains("2 resolved  CartPodRestarting"), "{text}");
        assert!(text.contains("refused a payload (400)"), "{text}");
    }

    #[test]
    fn an_alert_name_cannot_draw_a_row_of_its_own() {
        let forged = "Harmless\n  2 firing    DiskFull  payments  since 02:00:00  [Alertmanager]";
        let screen = WatchScreen {
            listening: "listening on 127.0.0.1:9095".into(),
            rows: vec![WatchRow {
                firing: true,
                name: format!("{forged}\u{1b}[2J"),
                service: "checkout".into(),
                since: String::new(),
                source: "Alertmanager".into(),
            }],
            selected: 0,
            notes: vec![format!("  1  firing    {forged}")],
        };
        let mut terminal = Terminal::new(TestBackend::new(160, 14)).unwrap();
        terminal.draw(|f| draw(f, &screen)).unwrap();
        let text: String = terminal
            .backend()
            .buffer()
            .content()
            .chunks(160)
            .map(|row| row.iter().map(|c| c.symbol()).collect::<String>() + "\n")
            .collect();
        for line in text.lines().filter(|l| l.contains("DiskFull")) {
            assert!(line.contains("Harmless"), "{text}");
        }
        assert!(!text.contains('\u{1b}'), "{text}");
    }
}
