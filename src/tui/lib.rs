//! The terminal UI: one loop, one reducer, screens as layers on a stack.
//!
//! Screens: the transcript, the board and the status bar are widgets over `State` and a
//! small view state (`transcript`, `board`, `status`); every overlay is one file
//! implementing [`layer::Layer`] (`approval`, `credential`, `editor`, `help`,
//! `pager`, `steer`, `confirm_quit`, `seek`); [`app`] routes keys to the top layer
//! and [`view`] lays the screen out.
//!
//! Terminal input, engine events and timers meet in one `tokio::select!`. Engine events
//! are folded into the app's `State` by the same reducer the recorder's readers use; keys
//! become actions (see [`keymap`]) and actions become engine commands. The screen is
//! redrawn only when something changed, at most once per frame interval, so a burst of
//! streamed text costs one frame and an idle session costs no CPU: timers run only while
//! something on screen moves (a spinner, the live clock, a playing replay).
//!
//! The terminal is restored on exit and on panic (`ratatui::init` installs the hook).
//! Mouse capture stays off so tmux selection and scrolling keep working.

// The crates this one stands on, under the names its modules use (`crate::event`, …).
use hunch_bundle as bundle;
use hunch_protocol as protocol;
use hunch_protocol::{event, redact, sanitize, text};
use hunch_session as session;

pub mod app;
mod approval;
mod board;
mod confirm_quit;
mod credential;
mod decision;
mod decision_box;
mod editor;
mod help;
mod highlight;
pub mod keymap;
mod layer;
mod pager;
pub mod replay;
mod seek;
pub mod splash;
mod status;
mod steer;
pub mod theme;
mod transcript;
pub mod view;
pub mod watch_view;
mod widgets;

use app::{App, Mode};
use crossterm::event::{Event as TermEvent, EventStream};
use futures::StreamExt;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

const FRAME: Duration = Duration::from_millis(16);
const SPINNER_TICK: Duration = Duration::from_millis(100);
const CLOCK_TICK: Duration = Duration::from_secs(1);

/// Run the TUI until the engineer quits. `events` is the engine's bus (None in replay).
pub async fn run(
    app: &mut App,
    mut events: Option<mpsc::UnboundedReceiver<crate::event::Event>>,
) -> std::io::Result<()> {
    let mut terminal = ratatui::init();
    let result = event_loop(&mut terminal, app, &mut events).await;
    ratatui::restore();
    result
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    app: &mut App,
    events: &mut Option<mpsc::UnboundedReceiver<crate::event::Event>>,
) -> std::io::Result<()> {
    let mut input = EventStream::new();
    let mut dirty = true;
    let mut last_draw = Instant::now() - FRAME;
    let mut engine_open = events.is_some();
    loop {
        if app.quit {
            return Ok(());
        }
        let now = Instant::now();
        if dirty && now >= last_draw + FRAME {
            app.now = chrono::Utc::now();
            terminal.draw(|frame| view::draw(frame, app))?;
            last_draw = now;
            dirty = false;
        }
        let tick = if app.running_spinner() {
            Some(SPINNER_TICK)
        } else if app.animating() {
            Some(CLOCK_TICK)
        } else {
            None
        };
        let replay_due = match &mut app.mode {
            Mode::Replay(replay) => replay.next_due(now),
            Mode::Live(_) => None,
        };
        let wake = [
            dirty.then_some(last_draw + FRAME),
            tick.map(|t| now + t),
            replay_due,
        ]
        .into_iter()
        .flatten()
        .min();
        tokio::select! {
            key = input.next() => match key {
                Some(Ok(TermEvent::Key(key))) => { app.on_key(key); dirty = true; }
                Some(Ok(TermEvent::Resize(_, _))) => dirty = true,
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            },
            event = async { events.as_mut().expect("checked").recv().await }, if engine_open => match event {
                Some(event) => {
                    app.apply(&event);
                    // Coalesce: fold everything already queued before the next frame.
                    if let Some(rx) = events.as_mut() {
                        while let Ok(more) = rx.try_recv() {
                            app.apply(&more);
                        }
                    }
                    dirty = true;
                }
                None => { engine_open = false; dirty = true; }
            },
            _ = tokio::time::sleep_until(wake.unwrap_or(now + Duration::from_secs(3600)).into()), if wake.is_some() => {
                if let Mode::Replay(replay) = &mut app.mode {
                    let mut state = std::mem::take(&mut app.state);
                    replay.advance(&mut state, Instant::now());
                    app.state = state;
                    app.sync_decision();
                }
                if tick.is_some() {
                    app.tick += 1;
                }
                dirty = true;
            }
        }
    }
}
