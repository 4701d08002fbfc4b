//! No key can crash the App: random sequences of every bound key in every context, typed
//! text, special keys, resizes and every overlay opened on the stack (help, steer, the
//! editor, the pager, the quit dialog, seek, over the approval and the credential prompt),
//! while a real recorded session streams in (thinking, tool calls, an approval, a
//! credential prompt, the conclusion), live and in replay, drawn after every step at
//! 200x60, 80x24, 60x20 and 40x12. The stack stays shallow, and every hint the bar shows
//! is a key that can be pressed there.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use hunch::engine::EngineHandle;
use hunch::event::{Event, State};
use hunch::session::read_session;
use hunch::tui::app::{App, Mode};
use hunch::tui::keymap::{Action, Key, Keymap};
use hunch::tui::replay::Replay;
use hunch::tui::theme::Theme;
use proptest::prelude::*;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn fixture() -> Vec<Event> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/demo-session.jsonl");
    read_session(&path).unwrap().events
}

/// Every key bound anywhere in the default and vim keymaps, plus keys nothing binds.
fn all_keys() -> Vec<KeyEvent> {
    let mut keys = Vec::new();
    for keymap in [Keymap::default_keymap(), Keymap::load("vim", None).unwrap()] {
        for entries in keymap.listing().values() {
            for (_, bound) in entries {
                keys.extend(bound.iter().map(|k| k.event()));
            }
        }
    }
    let plain = [
        KeyCode::Esc,
        KeyCode::Enter,
        KeyCode::Tab,
        KeyCode::BackTab,
        KeyCode::Backspace,
        KeyCode::Delete,
        KeyCode::Up,
        KeyCode::Down,
        KeyCode::Left,
        KeyCode::Right,
        KeyCode::Home,
        KeyCode::End,
        KeyCode::PageUp,
        KeyCode::PageDown,
        KeyCode::F(2),
        KeyCode::Char('é'),
        KeyCode::Char('語'),
        KeyCode::Char('Z'),
        KeyCode::Char('\u{1b}'),
    ];
    keys.extend(plain.iter().map(|&c| KeyEvent::new(c, KeyModifiers::NONE)));
    keys.push(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    keys.push(KeyEvent::new(KeyCode::Char('x'), KeyModifiers::ALT));
    keys.sort_by_key(|k| format!("{k:?}"));
    keys.dedup();
    keys
}

#[derive(Debug, Clone)]
enum Step {
    Key(usize),
    Text(String),
    /// Feed the next recorded events (live) or let the replay run on.
    Events(usize),
    Resize(u16, u16),
    /// Open an overlay the way its key does.
    Open(usize),
}

/// What opens each overlay (the decision layers come from the session's events).
const OPENERS: &[Action] = &[
    Action::Help,
    Action::Steer,
    Action::EditHypotheses,
    Action::OpenEditor,
    Action::OpenPager,
    Action::Quit,
    Action::SeekCall,
];

const SIZES: &[(u16, u16)] = &[(200, 60), (80, 24), (60, 20), (40, 12)];

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => (0usize..10_000).prop_map(Step::Key),
        1 => "[a-z /é]{0,6}".prop_map(Step::Text),
        3 => (1usize..40).prop_map(Step::Events),
        1 => prop::sample::select(SIZES).prop_map(|(w, h)| Step::Resize(w, h)),
        2 => (0..OPENERS.len()).prop_map(Step::Open),
    ]
}

fn draw(terminal: &mut Terminal<TestBackend>, app: &mut App) {
    terminal
        .draw(|f| hunch::tui::view::draw(f, app))
        .expect("every frame draws");
}

/// The first key bound to `action` where the panes read keys.
fn opener_key(keymap: Keymap, action: Action) -> Option<KeyEvent> {
    use hunch::tui::keymap::Context;
    [
        Context::Global,
        Context::Transcript,
        Context::Board,
        Context::Replay,
    ]
    .into_iter()
    .find_map(|c| keymap.keys(c, action).first().map(Key::event))
}

/// What must hold between any two keys: the stack is a few layers deep at most (an
/// overlay never opens itself again), and each hint names keys that exist.
fn check(app: &App) {
    let stack = app.stack();
    assert!(stack.len() <= 4, "{stack:?}");
    let mut names = stack.clone();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), stack.len(), "a layer twice: {stack:?}");
    for hint in app.hints() {
        assert!(!hint.does.is_empty(), "{hint:?}");
        if hint.key != "any other key" && Key::parse(&hint.key).is_err() {
            for key in hint.key.split('/') {
                assert!(Key::parse(key).is_ok(), "hint {hint:?} names no key");
            }
        }
    }
}

fn run(steps: &[Step], replay: bool, size: (u16, u16)) {
    let keys = all_keys();
    let events = fixture();
    let (handle, _commands) = EngineHandle::channel("alice");
    let mode = if replay {
        Mode::Replay(Replay::new(events.clone(), Vec::new()))
    } else {
        Mode::Live(handle)
    };
    let mut app = App::new(
        State::new(),
        mode,
        Keymap::default_keymap(),
        Theme::default_theme(),
    );
    let mut fed = 0;
    let mut terminal = Terminal::new(TestBackend::new(size.0, size.1)).unwrap();
    for step in steps {
        match step {
            Step::Key(i) => app.on_key(keys[i % keys.len()]),
            Step::Text(text) => {
                for c in text.chars() {
                    app.on_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
                }
            }
            Step::Events(n) if !replay => {
                for event in events.iter().skip(fed).take(*n) {
                    app.apply(event);
                }
                fed = (fed + n).min(events.len());
            }
            Step::Events(n) => {
                for _ in 0..*n {
                    app.on_action(hunch::tui::keymap::Action::Step);
                }
            }
            Step::Resize(w, h) => terminal.backend_mut().resize(*w, *h),
            // The opener's own key, through the stack like any key.
            Step::Open(i) => {
                if let Some(key) = opener_key(app.keymap.clone(), OPENERS[i % OPENERS.len()]) {
                    app.on_key(key);
                }
            }
        }
        if app.quit {
            return;
        }
        check(&app);
        draw(&mut terminal, &mut app);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn no_key_sequence_crashes_the_live_app(
        steps in prop::collection::vec(step(), 1..120),
        size in prop::sample::select(SIZES),
    ) {
        run(&steps, false, size);
    }

    #[test]
    fn no_key_sequence_crashes_the_replay(
        steps in prop::collection::vec(step(), 1..120),
        size in prop::sample::select(SIZES),
    ) {
        run(&steps, true, size);
    }
}

/// The crash this test was written for: scroll to the top, live and in replay.
#[test]
fn scroll_to_top_draws() {
    let g = all_keys()
        .iter()
        .position(|k| k.code == KeyCode::Char('g') && k.modifiers == KeyModifiers::NONE)
        .unwrap();
    for replay in [false, true] {
        run(
            &[Step::Events(200), Step::Key(g), Step::Key(g)],
            replay,
            (80, 24),
        );
    }
}

/// Every overlay opens on top of the stack and its own close key (read from its keymap
/// context) takes it off again, over the approval and over the credential prompt, live;
/// the hint bar names that key while it is open.
#[test]
fn every_overlay_opens_and_closes_through_the_stack() {
    let events = fixture();
    let keymap = Keymap::default_keymap();
    let at = |kind: &str| {
        events
            .iter()
            .position(|e| serde_json::to_value(&e.kind).unwrap()["type"] == kind)
            .unwrap()
            + 1
    };
    for until in [
        at("approval_requested"),
        at("credential_requested"),
        events.len(),
    ] {
        for &opener in OPENERS {
            let (handle, _commands) = EngineHandle::channel("alice");
            let replay = opener == Action::SeekCall;
            let mode = if replay {
                Mode::Replay(Replay::new(events.clone(), Vec::new()))
            } else {
                Mode::Live(handle)
            };
            let mut app = App::new(State::new(), mode, keymap.clone(), Theme::default_theme());
            if replay {
                for _ in 0..until {
                    app.on_action(Action::Step);
                }
            } else {
                events[..until].iter().for_each(|e| app.apply(e));
            }
            let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
            draw(&mut terminal, &mut app);
            let below = app.stack();
            app.on_action(opener);
            let stack = app.stack();
            if stack == below {
                // Nothing to open here (no output for the pager, nothing to interrupt).
                continue;
            }
            assert_eq!(stack.len(), below.len() + 1, "{opener:?}: {stack:?}");
            draw(&mut terminal, &mut app);
            check(&app);
            let hints: Vec<String> = app.hints().iter().map(|h| h.key.clone()).collect();
            let close = ["close", "cancel", "stay"]
                .iter()
                .filter_map(|name| Action::from_name(name))
                .find_map(|action| keymap.hint(app.context(), action))
                .unwrap_or_else(|| panic!("{stack:?}: no close key"));
            assert!(
                hints
                    .iter()
                    .any(|h| h == &close || h.split('/').any(|k| k == close))
                    || app.context() == hunch::tui::keymap::Context::QuitDialog,
                "{stack:?}: the hint bar {hints:?} does not say {close}"
            );
            app.on_key(Key::parse(&close).unwrap().event());
            assert_eq!(app.stack(), below, "{opener:?} closed by {close}");
            assert!(!app.quit);
        }
    }
}
