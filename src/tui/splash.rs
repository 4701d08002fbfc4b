//! The screen while a bundle loads, before the investigation's screen opens: a box that
//! names the bundle, the file being read and how far (a gauge), so a large bundle never
//! leaves a blank terminal. Without a terminal, or in a headless run, loading reports on
//! standard error instead ([`crate::bundle::logs::stderr_progress`]).

use crate::bundle::logs::Progress;
use crate::bundle::{Bundle, BundleError};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Stylize;
use ratatui::text::Line;
use ratatui::widgets::{Block, Gauge, Paragraph};
use std::path::Path;
use std::time::{Duration, Instant};

/// How often the splash is redrawn while a file is read.
const REDRAW: Duration = Duration::from_millis(50);

/// Load the bundle in `dir`: on a screen (`screen`, and standard output a terminal) with
/// the splash drawn as it loads; else reporting on standard error. The terminal is
/// restored before it returns, whatever the outcome.
pub fn load_bundle(dir: &Path, screen: bool) -> Result<Bundle, BundleError> {
    use std::io::IsTerminal;
    if !screen || !std::io::stdout().is_terminal() {
        return Bundle::load_reporting(dir);
    }
    let name = dir.display().to_string();
    let mut terminal = ratatui::init();
    let _ = terminal.draw(|frame| draw(frame, &name, None));
    let mut last_draw: Option<Instant> = None;
    let mut progress = |p: Progress| {
        if last_draw.is_none_or(|t| t.elapsed() >= REDRAW) || p.done() {
            // A splash that can't be drawn is no reason to stop loading.
            let _ = terminal.draw(|frame| draw(frame, &name, Some(&p)));
            last_draw = Some(Instant::now());
        }
    };
    let loaded = Bundle::load_with_progress(dir, &mut progress);
    ratatui::restore();
    loaded
}

/// The splash: the bundle's name, then the file being read and a gauge of how far.
pub fn draw(frame: &mut Frame, bundle: &str, progress: Option<&Progress>) {
    let area = centered(frame.area(), 72, 5);
    let block = Block::bordered().title(" hunch · loading the bundle ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [name, reading, gauge] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .spacing(0)
    .areas(inner.inner(ratatui::layout::Margin::new(1, 0)));
    let shown = crate::sanitize::for_display(bundle);
    frame.render_widget(Paragraph::new(Line::from(shown).bold()), name);
    let (text, ratio) = match progress {
        Some(p) => (p.reading(), p.bytes as f64 / p.total.max(1) as f64),
        None => ("reading incident.toml, events, runbooks …".to_string(), 0.0),
    };
    frame.render_widget(Paragraph::new(text).dim(), reading);
    frame.render_widget(Gauge::default().ratio(ratio.clamp(0.0, 1.0)), gauge);
}

/// A `width` × `height` box in the middle of `area` (smaller when `area` is).
fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    fn screen(progress: Option<&Progress>) -> String {
        let mut terminal = Terminal::new(TestBackend::new(90, 12)).unwrap();
        terminal
            .draw(|f| draw(f, "/srv/incidents/checkout\u{1b}[2J", progress))
            .unwrap();
        terminal
            .backend()
            .buffer()
            .content()
            .chunks(90)
            .map(|row| row.iter().map(|c| c.symbol()).collect::<String>() + "\n")
            .collect()
    }

    #[test]
    fn the_splash_says_what_is_read_and_how_far() {
        let p = Progress {
            file: "logs.log",
            bytes: 72 << 20,
            total: 256 << 20,
            records: 615_178,
            unit: "records",
        };
        let text = screen(Some(&p));
        assert!(text.contains("hunch · loading the bundle"), "{text}");
        assert!(text.contains("/srv/incidents/checkout"), "{text}");
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(
            text.contains("reading logs.log: 72 of 256 MB (28%), 615178 records"),
            "{text}"
        );
        assert!(text.contains("28%"), "the gauge: {text}");
        let before = screen(None);
        assert!(before.contains("reading incident.toml"), "{before}");
    }
}
