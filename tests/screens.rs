//! Every screen a user sees, as text snapshots from ratatui's TestBackend, built from a
//! real recorded session (tests/fixtures/demo-session.jsonl) through the real reducer.
//! Keys are pressed through the real keymap, and the commands they send are checked.

use chrono::Duration;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use hunch::engine::{Approval, Command, EngineHandle, Envelope};
use hunch::event::{Author, Decision, Event, EventKind, HypothesisStatus, State};
use hunch::session::read_session;
use hunch::tui::app::{App, Mode};
use hunch::tui::keymap::Keymap;
use hunch::tui::replay::Replay;
use hunch::tui::theme::Theme;
use insta::assert_snapshot;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::sync::mpsc::UnboundedReceiver;

fn fixture() -> Vec<Event> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/demo-session.jsonl");
    read_session(&path).unwrap().events
}

/// The events up to and including the first one `until` accepts.
fn events_until(until: impl Fn(&EventKind) -> bool) -> Vec<Event> {
    let events = fixture();
    let end = events
        .iter()
        .position(|e| until(&e.kind))
        .expect("the fixture has it");
    events[..=end].to_vec()
}

fn live_app(events: &[Event]) -> (App, UnboundedReceiver<Envelope>) {
    let (handle, rx) = EngineHandle::channel("alice");
    let mut app = App::new(
        State::new(),
        Mode::Live(handle),
        Keymap::default_keymap(),
        Theme::default_theme(),
    );
    for e in events {
        app.apply(e);
    }
    app.now = app.state.session.started_at.unwrap() + Duration::seconds(83);
    app.session_file = Some(
        "/home/alice/.local/share/hunch/sessions/2026-11-25/20261125T003814-fdb5.jsonl".into(),
    );
    (app, rx)
}

fn render(app: &mut App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|f| hunch::tui::view::draw(f, app)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..height {
        let line: String = (0..width)
            .map(|x| buffer[(x, y)].symbol().to_string())
            .collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        app.on_key(key(KeyCode::Char(c)));
    }
}

fn sent(rx: &mut UnboundedReceiver<Envelope>) -> Vec<Command> {
    let mut out = Vec::new();
    while let Ok(envelope) = rx.try_recv() {
        assert_eq!(envelope.by, "alice");
        out.push(envelope.command);
    }
    out
}

#[test]
fn main_screen_mid_stream() {
    let (mut app, _rx) = live_app(&events_until(
        |k| matches!(k, EventKind::ToolCallStarted { id, .. } if id == "c3"),
    ));
    assert_snapshot!(render(&mut app, 120, 36));
}

#[test]
fn main_screen_at_80x24() {
    let (mut app, _rx) = live_app(&events_until(
        |k| matches!(k, EventKind::ToolCallFinished { id, .. } if id == "c4"),
    ));
    assert_snapshot!(render(&mut app, 80, 24));
}

#[test]
fn approval_overlay_destructive_kubectl() {
    let (mut app, mut rx) = live_app(&events_until(|k| {
        matches!(k, EventKind::ApprovalRequested { .. })
    }));
    let screen = render(&mut app, 120, 36);
    assert!(screen.contains("kubectl rollout undo deployment/payments -n shop"));
    assert_snapshot!(screen);
    // Focus starts on deny for a destructive call: enter opens the reason, not an approval.
    app.on_key(key(KeyCode::Enter));
    type_text(&mut app, "not during peak");
    assert_snapshot!("approval_overlay_deny_reason", render(&mut app, 120, 36));
    app.on_key(key(KeyCode::Enter));
    assert!(
        matches!(&sent(&mut rx)[..], [Command::Deny { id, reason }] if id == "c8" && reason == "not during peak")
    );
    app.on_key(key(KeyCode::Char('y')));
    assert!(
        matches!(&sent(&mut rx)[..], [Command::Approve { id, approval: Approval::Once }] if id == "c8")
    );
    app.on_key(key(KeyCode::Char('e')));
    // ctrl-j clears back to the start of the line in the text area.
    app.on_key(KeyEvent::new(KeyCode::Char('j'), KeyModifiers::CONTROL));
    type_text(
        &mut app,
        "kubectl rollout restart deployment/payments -n shop",
    );
    app.on_key(key(KeyCode::Enter));
    assert!(
        matches!(&sent(&mut rx)[..], [Command::Approve { approval: Approval::Edited(c), .. }] if c == "kubectl rollout restart deployment/payments -n shop")
    );
}

#[test]
fn credential_prompt_is_masked() {
    let (mut app, mut rx) = live_app(&events_until(|k| {
        matches!(k, EventKind::CredentialRequested { .. })
    }));
    type_text(&mut app, "s3cret-pw");
    let screen = render(&mut app, 120, 36);
    assert!(!screen.contains("s3cret"), "the secret is never drawn");
    assert_snapshot!(screen);
    app.on_key(key(KeyCode::Enter));
    match &sent(&mut rx)[..] {
        [Command::SupplyCredential { id, secret }] => {
            assert_eq!(id, "c5");
            assert_eq!(secret.expose(), "s3cret-pw");
            assert_eq!(format!("{secret:?}"), "Secret(***)");
        }
        other => panic!("{other:?}"),
    }
}

/// Tab in the masked prompt is not typed: `abc<Tab>def` reaches the tool as `abcdef`,
/// never padded with spaces nobody saw.
#[test]
fn tab_is_not_typed_into_a_credential() {
    let (mut app, mut rx) = live_app(&events_until(|k| {
        matches!(k, EventKind::CredentialRequested { .. })
    }));
    type_text(&mut app, "abc");
    app.on_key(key(KeyCode::Tab));
    app.on_key(key(KeyCode::BackTab));
    type_text(&mut app, "def");
    app.on_key(key(KeyCode::Enter));
    match &sent(&mut rx)[..] {
        [Command::SupplyCredential { secret, .. }] => assert_eq!(secret.expose(), "abcdef"),
        other => panic!("{other:?}"),
    }
}

/// A credential too short to be scrubbed from outputs by value says so while it is typed.
#[test]
fn a_short_credential_is_said_not_to_be_scrubbed() {
    let (mut app, _rx) = live_app(&events_until(|k| {
        matches!(k, EventKind::CredentialRequested { .. })
    }));
    let warning = "will not be scrubbed from the call's output";
    assert!(!render(&mut app, 120, 36).contains(warning));
    type_text(&mut app, "abc");
    let screen = render(&mut app, 120, 36);
    assert!(screen.contains("Shorter than 4 characters"), "{screen}");
    assert!(screen.contains(warning), "{screen}");
    type_text(&mut app, "d");
    assert!(!render(&mut app, 120, 36).contains(warning));
}

/// An attached terminal shows the credential prompt but takes no secret: it is typed
/// on the terminal that asked for it.
#[test]
fn an_attached_terminal_takes_no_credential() {
    let (mut app, mut rx) = live_app(&events_until(|k| {
        matches!(k, EventKind::CredentialRequested { .. })
    }));
    app.attached = true;
    app.sync_decision();
    type_text(&mut app, "s3cret-pw");
    app.on_key(key(KeyCode::Enter));
    assert!(
        sent(&mut rx).is_empty(),
        "nothing is sent from an attached terminal"
    );
    let screen = render(&mut app, 100, 30);
    assert!(!screen.contains("s3cret"));
    assert!(
        screen.contains("typed on the terminal that asked for it"),
        "{screen}"
    );
    assert_snapshot!(screen);
}

/// At 60x20 the attached credential prompt says in full why nothing is typed here, the
/// hint bar names its keys with `? help`, and `?` opens the help (nothing is typed, so
/// the key is free); closing the help comes back to the prompt.
#[test]
fn an_attached_credential_prompt_at_60x20_wraps_and_opens_help() {
    let (mut app, mut rx) = attached_app(&events_until(|k| {
        matches!(k, EventKind::CredentialRequested { .. })
    }));
    let screen = render(&mut app, 60, 20);
    assert!(
        screen.contains("never crosses to this one"),
        "wrapped, not cut: {screen}"
    );
    let hints = screen.lines().last().unwrap();
    assert_eq!(hints.trim(), "esc set aside  q detach  ? help", "{screen}");
    assert_snapshot!("attached_credential_60x20", screen);
    app.on_key(key(KeyCode::Char('?')));
    let screen = render(&mut app, 60, 20);
    assert!(screen.contains("Keys · keymap default"), "{screen}");
    app.on_key(key(KeyCode::Esc));
    let screen = render(&mut app, 60, 20);
    assert!(screen.contains("Credential needed"), "{screen}");
    // Set aside, it says where the credential is typed, not that it waits for this one.
    app.on_key(key(KeyCode::Esc));
    let screen = render(&mut app, 200, 60);
    assert!(
        screen.contains("waits for its credential on the terminal that asked"),
        "{screen}"
    );
    assert!(!screen.contains("waits for your decision"), "{screen}");
    assert!(sent(&mut rx).is_empty(), "nothing is sent");
}

#[test]
fn board_after_human_edit() {
    let mut events = events_until(|k| matches!(k, EventKind::ApprovalRequested { .. }));
    let last = events.last().unwrap().clone();
    let (app_state, _) = live_app(&events);
    let mut h = app_state
        .state
        .hypotheses
        .iter()
        .find(|h| h.key.as_deref() == Some("deploy:payments"))
        .unwrap()
        .clone();
    h.status = HypothesisStatus::Refuted;
    h.author = Author::Human;
    h.pinned = true;
    events.push(Event {
        seq: last.seq + 1,
        ts: last.ts,
        kind: EventKind::HypothesisEdited {
            hypothesis: h,
            by: "alice".into(),
        },
    });
    let (mut app, _rx) = live_app(&events);
    app.state.pending.clear();
    app.sync_decision();
    assert_snapshot!(render(&mut app, 120, 36));
}

#[test]
fn hypothesis_editor_pauses_edits_and_resumes() {
    let (mut app, mut rx) = live_app(&events_until(
        |k| matches!(k, EventKind::ToolCallFinished { id, .. } if id == "c4"),
    ));
    app.on_key(key(KeyCode::Char('h')));
    assert!(matches!(&sent(&mut rx)[..], [Command::Pause]));
    // The editor lists the board's order: H3 (supported, leading) first.
    assert_snapshot!(render(&mut app, 100, 30));
    app.on_key(key(KeyCode::Char('r')));
    app.on_key(key(KeyCode::Char('p')));
    let commands = sent(&mut rx);
    assert!(
        matches!(&commands[0], Command::EditHypothesis(e) if e.id.as_deref() == Some("H3") && e.status == Some(HypothesisStatus::Refuted))
    );
    assert!(matches!(&commands[1], Command::EditHypothesis(e) if e.pinned == Some(true)));
    app.on_key(key(KeyCode::Char('a')));
    type_text(&mut app, "cart redis timeouts");
    assert_snapshot!("hypothesis_editor_adding", render(&mut app, 100, 30));
    app.on_key(key(KeyCode::Enter));
    assert!(
        matches!(&sent(&mut rx)[..], [Command::EditHypothesis(e)] if e.id.is_none() && e.statement.as_deref() == Some("cart redis timeouts"))
    );
    app.on_key(key(KeyCode::Esc));
    assert!(matches!(&sent(&mut rx)[..], [Command::Resume]));
}

#[test]
fn enter_on_a_board_row_edits_that_hypothesis() {
    let (mut app, mut rx) = live_app(&events_until(
        |k| matches!(k, EventKind::ToolCallFinished { id, .. } if id == "c4"),
    ));
    app.on_key(key(KeyCode::Tab));
    app.on_key(key(KeyCode::Down));
    let board = render(&mut app, 200, 60);
    let h4_row = board.lines().position(|l| l.contains("H4 open")).unwrap();
    assert!(board.lines().nth(h4_row).unwrap().contains("H4"));
    app.on_key(key(KeyCode::Enter));
    let _ = sent(&mut rx);
    app.on_key(key(KeyCode::Char('r')));
    assert!(
        matches!(&sent(&mut rx)[..], [Command::EditHypothesis(e)] if e.id.as_deref() == Some("H4")),
        "the second row of the board is H4, and so is the editor's"
    );
}

#[test]
fn the_board_scrolls_with_its_selection_at_80x24() {
    let (mut app, _rx) = live_app(&events_until(
        |k| matches!(k, EventKind::ToolCallFinished { id, .. } if id == "c4"),
    ));
    app.on_key(key(KeyCode::Tab));
    for _ in 0..3 {
        app.on_key(key(KeyCode::Down));
    }
    let screen = render(&mut app, 80, 24);
    assert!(
        screen.contains("H2"),
        "the selected last hypothesis is in view"
    );
    assert_snapshot!(screen);
}

#[test]
fn approval_overlay_at_60x20_keeps_its_buttons_and_scrolls() {
    let (mut app, _rx) = live_app(&events_until(|k| {
        matches!(k, EventKind::ApprovalRequested { .. })
    }));
    let screen = render(&mut app, 60, 20);
    assert!(
        screen.contains("[y] approve once") && screen.contains("[n] deny"),
        "{screen}"
    );
    assert!(
        screen.contains("more lines"),
        "what is hidden is counted: {screen}"
    );
    assert_snapshot!("approval_overlay_60x20", screen);
    app.on_key(key(KeyCode::PageDown));
    app.on_key(key(KeyCode::PageDown));
    assert_snapshot!("approval_overlay_60x20_scrolled", render(&mut app, 60, 20));
}

#[test]
fn review_sets_the_approval_aside_and_brings_it_back() {
    let (mut app, mut rx) = live_app(&events_until(|k| {
        matches!(k, EventKind::ApprovalRequested { .. })
    }));
    app.on_key(key(KeyCode::Char('r')));
    app.on_key(key(KeyCode::Char('v')));
    let screen = render(&mut app, 100, 30);
    assert!(screen.contains("waits for your decision"), "{screen}");
    app.on_key(key(KeyCode::Esc));
    app.on_key(key(KeyCode::Char('y')));
    assert!(
        sent(&mut rx).is_empty(),
        "y does not approve while the decision is set aside"
    );
    app.on_key(key(KeyCode::Char('r')));
    app.on_key(key(KeyCode::Char('y')));
    assert!(matches!(&sent(&mut rx)[..], [Command::Approve { .. }]));
}

#[test]
fn quitting_mid_investigation_asks_first() {
    let (mut app, mut rx) = live_app(&events_until(|k| {
        matches!(k, EventKind::ApprovalRequested { .. })
    }));
    app.on_key(key(KeyCode::Char('q')));
    assert!(!app.quit);
    let screen = render(&mut app, 100, 30);
    assert!(
        screen.contains("Quit now? c8 waits for your decision"),
        "{screen}"
    );
    app.on_key(key(KeyCode::Esc));
    assert!(!app.quit && sent(&mut rx).is_empty());
    app.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    app.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert!(app.quit);
    assert!(matches!(&sent(&mut rx)[..], [Command::Quit]));
}

#[test]
fn help_is_generated_from_the_keymap() {
    let (mut app, _rx) = live_app(&events_until(|k| {
        matches!(k, EventKind::TurnStarted { .. })
    }));
    app.on_key(key(KeyCode::Char('?')));
    let screen = render(&mut app, 120, 50);
    assert!(screen.contains("approve-session") && screen.contains("edit-hypotheses"));
    assert_snapshot!(screen);
}

#[test]
fn pager_with_search() {
    let (mut app, _rx) = live_app(&fixture());
    app.transcript.selected_call = Some(0);
    app.on_key(key(KeyCode::Char('v')));
    app.on_key(key(KeyCode::Char('/')));
    type_text(&mut app, "payments");
    app.on_key(key(KeyCode::Enter));
    let screen = render(&mut app, 100, 30);
    assert!(
        screen.contains("line 8/40 · /payments: 4 matches"),
        "{screen}"
    );
    assert_snapshot!(screen);
    app.on_key(key(KeyCode::Char('n')));
    assert!(render(&mut app, 100, 30).contains("line 9/40 · /payments: 4 matches"));
}

#[test]
fn concluded_investigation() {
    let (mut app, _rx) = live_app(&fixture());
    assert_snapshot!(render(&mut app, 120, 40));
}

#[test]
fn expanded_output_and_selection() {
    let (mut app, _rx) = live_app(&events_until(
        |k| matches!(k, EventKind::ToolCallFinished { id, .. } if id == "c6"),
    ));
    app.on_key(key(KeyCode::Char('[')));
    app.on_key(key(KeyCode::Enter));
    assert_snapshot!(render(&mut app, 100, 30));
}

#[test]
fn replay_viewer_at_the_first_approval() {
    let mut replay = Replay::new(fixture(), Vec::new());
    let mut state = State::new();
    replay.restart(&mut state);
    let mut app = App::new(
        state,
        Mode::Replay(replay),
        Keymap::default_keymap(),
        Theme::default_theme(),
    );
    app.sync_decision();
    app.on_key(key(KeyCode::Char('n')));
    app.on_key(key(KeyCode::Char('n')));
    assert!(matches!(
        app.state.pending.first(),
        Some(hunch::event::Pending::Approval { .. })
    ));
    let screen = render(&mut app, 120, 36);
    assert!(screen.contains("REPLAY"));
    assert_snapshot!(screen);
    // Keys that would decide something do nothing in a replay.
    app.on_key(key(KeyCode::Char('y')));
    assert!(!app.state.pending.is_empty());
    app.on_key(KeyEvent::new(KeyCode::Char('e'), KeyModifiers::CONTROL));
    assert!(app.state.conclusion.is_some());
    assert_snapshot!("replay_viewer_at_the_end", render(&mut app, 120, 36));
}

#[test]
fn hostile_text_is_drawn_harmlessly() {
    let (mut app, _rx) = live_app(&events_until(|k| {
        matches!(k, EventKind::TurnStarted { .. })
    }));
    let last = app.state.last_ts.unwrap();
    app.apply(&Event {
        seq: 999,
        ts: last,
        kind: EventKind::ReasoningDelta {
            text: hunch::sanitize::for_display("log says \x1b[2J\x1b]0;owned\x07 ok"),
        },
    });
    let screen = render(&mut app, 80, 24);
    assert!(screen.contains("log says  ok") && !screen.contains('\x1b'));
}

#[test]
fn status_bar_shows_budget_tokens_cost_and_redactions() {
    let ts = fixture()[0].ts;
    let kind = |k: EventKind, seq: u64| Event { seq, ts, kind: k };
    let budget = hunch::event::Budget {
        max_steps: Some(40),
        max_tokens: Some(100_000),
        max_cost: Some(1.0),
        price_per_mtok: Some((3.0, 15.0)),
        ..Default::default()
    };
    let events = vec![
        kind(
            EventKind::SessionStarted {
                incident: Default::default(),
                brain: "anthropic:claude-sonnet-4-5".into(),
                policy: "ask".into(),
                budget,
            },
            0,
        ),
        kind(
            EventKind::Usage {
                input_tokens: 12_000,
                output_tokens: 500,
            },
            1,
        ),
        kind(EventKind::Redacted { count: 2 }, 2),
    ];
    let (mut app, _rx) = live_app(&events);
    let screen = render(&mut app, 140, 12);
    assert!(screen.contains("anthropic:claude-sonnet-4-5 · policy ask · 01:23 · step 0/40 · 12.5k tok/100.0k · $0.04/$1.00 · 2 redacted"), "{screen}");
}

#[test]
fn pager_shows_the_raw_data_behind_a_digest() {
    // The demo's logs_digest call (c3), with the log lines it folded kept in a blob store.
    let dir = tempfile::tempdir().unwrap();
    let store = hunch::session::BlobStore::new(dir.path());
    let raw: String = hunch::bundle::Bundle::demo()
        .logs
        .iter()
        .filter(|l| l.level != "INFO")
        .map(|l| {
            format!(
                "{} {} {} {}\n",
                l.ts.format("%Y-%m-%dT%H:%M:%SZ"),
                l.level,
                l.service,
                l.message
            )
        })
        .collect();
    let blob = store.put(&raw).unwrap();
    let mut events =
        events_until(|k| matches!(k, EventKind::ToolCallFinished { id, .. } if id == "c3"));
    for event in &mut events {
        if let EventKind::ToolCallFinished { id, output, .. } = &mut event.kind
            && id == "c3"
        {
            output.raw = Some(hunch::event::RawRef {
                blob: blob.clone(),
                lines: raw.lines().count() as u64,
                bytes: raw.len() as u64,
            });
        }
    }
    let (mut app, _rx) = live_app(&events);
    app.blobs = Some(store);
    let index = app.state.calls.iter().position(|c| c.id == "c3").unwrap();
    app.transcript.selected_call = Some(index);
    let transcript = render(&mut app, 100, 30);
    assert!(
        transcript.contains("· digest of")
            && transcript.contains(&format!("{} raw lines (v: pager)", raw.lines().count())),
        "{transcript}"
    );
    assert_snapshot!("raw_data_noted_under_the_digest", transcript);
    app.on_key(key(KeyCode::Char('v')));
    app.on_key(key(KeyCode::Char('/')));
    type_text(&mut app, "raw data behind");
    app.on_key(key(KeyCode::Enter));
    let screen = render(&mut app, 100, 30);
    assert!(
        screen.contains("── raw data behind this output:"),
        "{screen}"
    );
    assert!(screen.contains("WARN cart redis: i/o timeout"), "{screen}");
    assert_snapshot!(screen);
}

/// The README's key table is the default keymap's listing (`HUNCH_UPDATE_README=1` rewrites it).
#[test]
fn the_readme_key_table_is_generated_from_the_keymap() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&path).unwrap();
    let begin = readme
        .find("<!-- keys:begin")
        .expect("the README marks its key table");
    let body_start = readme[begin..].find('\n').unwrap() + begin + 1;
    let end = readme.find("<!-- keys:end -->").unwrap();
    let table = Keymap::default_keymap().markdown_table();
    if std::env::var("HUNCH_UPDATE_README").is_ok_and(|v| v == "1") {
        let updated = format!("{}{table}{}", &readme[..body_start], &readme[end..]);
        std::fs::write(&path, updated).unwrap();
        return;
    }
    assert_eq!(
        &readme[body_start..end],
        table,
        "the README's key table is stale: run HUNCH_UPDATE_README=1 cargo test --test screens"
    );
}

/// A damaged session file is replayed as far as it goes, and the screen says what was
/// skipped (it used to be printed before the TUI started and then hidden by it).
#[test]
fn replay_of_a_damaged_session_says_so_on_screen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("damaged.jsonl");
    let source =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/demo-session.jsonl");
    let mut lines: Vec<String> = std::fs::read_to_string(source)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    lines[20] = "{\"seq\": 20, \"type\": \"tool_call_propo".into();
    std::fs::write(&path, lines.join("\n")).unwrap();
    let log = read_session(&path).unwrap();
    let warnings: Vec<String> = log.warnings.iter().map(|w| w.to_string()).collect();
    assert_eq!(warnings.len(), 1);
    let mut replay = Replay::new(log.events, warnings.clone());
    let mut state = State::new();
    replay.restart(&mut state);
    let mut app = App::new(
        state,
        Mode::Replay(replay),
        Keymap::default_keymap(),
        Theme::default_theme(),
    );
    let screen = render(&mut app, 120, 36);
    assert!(screen.contains("1 damaged line skipped"), "{screen}");
    assert!(screen.contains("line 21"), "{screen}");
    assert_snapshot!(screen);
}

/// Issue 27 #6: `g` asks for "as far up as there is"; the title says how far that is,
/// never the request (`↑18446744073709551615`), and page-up at the top stays at the top.
#[test]
fn scroll_to_top_shows_a_clamped_indicator() {
    let (mut app, _rx) = live_app(&fixture());
    render(&mut app, 120, 40);
    app.on_key(key(KeyCode::Char('g')));
    let screen = render(&mut app, 120, 40);
    let top = app.transcript.scroll;
    assert!(
        top > 0 && top < 10_000 && screen.contains(&format!("↑{top} (G follows)")),
        "{screen}"
    );
    assert!(!screen.contains("18446744073709551615"), "{screen}");
    app.on_key(key(KeyCode::PageUp));
    let screen = render(&mut app, 120, 40);
    assert_eq!(app.transcript.scroll, top);
    assert!(screen.contains(&format!("↑{top} (G follows)")), "{screen}");
    app.on_key(key(KeyCode::Home));
    assert!(render(&mut app, 120, 40).contains(&format!("↑{top} (G follows)")));
    assert_snapshot!(screen);
}

/// Issue 27 #6: `G` in the pager shows the last line at the bottom, not alone at the top.
#[test]
fn pager_end_shows_the_last_page() {
    let (mut app, _rx) = live_app(&fixture());
    app.transcript.selected_call = Some(0);
    app.on_key(key(KeyCode::Char('v')));
    render(&mut app, 100, 30);
    app.on_key(key(KeyCode::Char('G')));
    let screen = render(&mut app, 100, 30);
    // 30 rows: 2 for the status, 2 for the border: 26 lines of 40 show, 15 to 40.
    assert!(screen.contains("line 15/40"), "{screen}");
    assert!(screen.contains("│40 "), "{screen}");
    app.on_key(key(KeyCode::Char('j')));
    assert!(render(&mut app, 100, 30).contains("line 15/40"));
    assert_snapshot!(screen);
}

/// `?` opens the help over the pager and over the hypothesis editor (their hint bars say
/// so), listing that screen's keys first; closing the help comes back to it.
#[test]
fn help_opens_over_the_pager_and_the_editor() {
    let (mut app, _rx) = live_app(&fixture());
    app.transcript.selected_call = Some(0);
    app.on_key(key(KeyCode::Char('v')));
    let screen = render(&mut app, 100, 30);
    assert!(
        screen.lines().last().unwrap().contains("? help"),
        "{screen}"
    );
    app.on_key(key(KeyCode::Char('?')));
    let screen = render(&mut app, 100, 30);
    let first = screen.lines().find(|l| l.contains("[")).unwrap_or_default();
    assert!(
        first.contains("[pager]"),
        "the pager's keys first: {screen}"
    );
    app.on_key(key(KeyCode::Esc));
    assert!(render(&mut app, 100, 30).contains("line 1/40"));
    app.on_key(key(KeyCode::Esc));
    app.on_key(key(KeyCode::Char('h')));
    let screen = render(&mut app, 100, 30);
    assert!(
        screen.lines().last().unwrap().contains("? help"),
        "{screen}"
    );
    let narrow = render(&mut app, 80, 24);
    let hints = narrow.lines().last().unwrap();
    assert!(
        hints.contains("esc close") && hints.contains("? help"),
        "at 80 columns how to leave and the help stay: {hints}"
    );
    app.on_key(key(KeyCode::Char('?')));
    let screen = render(&mut app, 100, 30);
    assert!(screen.contains("[editor]"), "{screen}");
    app.on_key(key(KeyCode::Esc));
    assert!(render(&mut app, 100, 30).contains("your edits are authoritative"));
}

/// Issue 27 #6: at 200x60 every key fits (two columns); where it does not, the border
/// says how much more there is and how to scroll to it.
#[test]
fn help_fits_at_200x60_and_says_when_it_scrolls() {
    let (mut app, _rx) = live_app(&events_until(|k| {
        matches!(k, EventKind::TurnStarted { .. })
    }));
    app.on_key(key(KeyCode::Char('?')));
    let wide = render(&mut app, 200, 60);
    for name in [
        "quit",
        "approve-session",
        "next-match",
        "jump-end",
        "toggle-pin",
    ] {
        assert!(wide.contains(name), "{name} missing:\n{wide}");
    }
    assert!(!wide.contains("more ·"), "{wide}");
    // Nothing to scroll, so the hint bar offers none.
    assert!(!wide.contains("j/k scroll"), "{wide}");
    assert_snapshot!("help_at_200x60", wide);
    let small = render(&mut app, 80, 24);
    assert!(
        small.contains("more · j/k or pagedown/pageup scroll"),
        "{small}"
    );
    assert!(small.contains("j/k scroll"), "{small}");
    app.on_key(key(KeyCode::Char('G')));
    let end = render(&mut app, 80, 24);
    assert!(end.contains("above · k or pageup scrolls back"), "{end}");
    // The last key of the listing is on the last page.
    assert!(end.contains("leave the field; nothing is sent"), "{end}");
    assert_snapshot!("help_at_80x24_scrolled_to_the_end", end);
}

fn editor_at_c4() -> (App, UnboundedReceiver<Envelope>) {
    live_app(&events_until(
        |k| matches!(k, EventKind::ToolCallFinished { id, .. } if id == "c4"),
    ))
}

/// What the engine would record for `command`, as the next event.
fn edited(app: &App, command: &Command) -> Event {
    let Command::EditHypothesis(edit) = command else {
        panic!("{command:?}")
    };
    let id = edit.id.clone().expect("an existing hypothesis");
    let mut h = app
        .state
        .hypotheses
        .iter()
        .find(|h| h.id == id)
        .unwrap()
        .clone();
    h.author = Author::Human;
    if let Some(status) = edit.status {
        h.status = status;
    }
    if let Some(pinned) = edit.pinned {
        h.pinned = pinned;
    }
    if let Some(statement) = &edit.statement {
        h.statement = statement.clone();
    }
    Event {
        seq: app.state.events + 1,
        ts: app.state.last_ts.unwrap(),
        kind: EventKind::HypothesisEdited {
            hypothesis: h,
            by: "alice".into(),
        },
    }
}

/// Issue 27 #7: `r` re-sorts the board (a refuted hypothesis sinks); the cursor stays on
/// the one refuted, so `p` pins it, not whichever row moved up under the cursor.
#[test]
fn the_editor_cursor_follows_the_hypothesis_when_the_board_re_sorts() {
    let (mut app, mut rx) = editor_at_c4();
    app.on_key(key(KeyCode::Char('h')));
    let _ = sent(&mut rx);
    app.on_key(key(KeyCode::Char('r')));
    let refute = sent(&mut rx).pop().unwrap();
    assert!(
        matches!(&refute, Command::EditHypothesis(e) if e.id.as_deref() == Some("H3")),
        "{refute:?}"
    );
    let event = edited(&app, &refute);
    app.apply(&event);
    app.on_key(key(KeyCode::Char('p')));
    let pin = sent(&mut rx).pop().unwrap();
    assert!(
        matches!(&pin, Command::EditHypothesis(e) if e.id.as_deref() == Some("H3") && e.pinned == Some(true)),
        "the cursor followed H3 down the list: {pin:?}"
    );
    let screen = render(&mut app, 100, 30);
    assert!(screen.contains("▶ H3 ✎ refuted"), "{screen}");
    assert_snapshot!(screen);
}

/// Issue 27 #7: the board's selection follows the hypothesis, too.
#[test]
fn the_board_selection_follows_the_hypothesis_when_it_re_sorts() {
    let (mut app, mut rx) = editor_at_c4();
    app.on_key(key(KeyCode::Tab));
    app.on_key(key(KeyCode::Down));
    let _ = render(&mut app, 200, 60);
    // The second row now; pinning it moves it to the top.
    let second = app.state.hypotheses[app.state.ranked_hypotheses()[1]]
        .id
        .clone();
    let pin = Command::EditHypothesis(hunch::protocol::HypothesisEdit {
        id: Some(second.clone()),
        pinned: Some(true),
        ..Default::default()
    });
    let event = edited(&app, &pin);
    app.apply(&event);
    app.on_key(key(KeyCode::Enter));
    let _ = sent(&mut rx);
    app.on_key(key(KeyCode::Char('r')));
    assert!(
        matches!(&sent(&mut rx)[..], [Command::EditHypothesis(e)] if e.id.as_deref() == Some(second.as_str())),
        "the editor opens on {second}, the board's selection"
    );
}

/// Issue 27 #7: a refuted hypothesis shows no confidence, and the transcript says what an
/// edit changed.
#[test]
fn refuted_shows_no_confidence_and_edits_say_what_changed() {
    let (mut app, _rx) = editor_at_c4();
    let refute = Command::EditHypothesis(hunch::protocol::HypothesisEdit {
        id: Some("H3".into()),
        status: Some(HypothesisStatus::Refuted),
        ..Default::default()
    });
    let event = edited(&app, &refute);
    app.apply(&event);
    let reword = Command::EditHypothesis(hunch::protocol::HypothesisEdit {
        id: Some("H4".into()),
        statement: Some("orders-db is saturated by payments' idle sessions".into()),
        ..Default::default()
    });
    let event = edited(&app, &reword);
    app.apply(&event);
    let screen = render(&mut app, 200, 60);
    assert!(
        screen.contains("alice refuted H3 (was supported): payments deploy"),
        "{screen}"
    );
    assert!(
        screen
            .contains("alice reworded H4: orders-db is saturated by payments' idle sessions (was:"),
        "{screen}"
    );
    let h3 = screen.lines().find(|l| l.contains("│H3✎ refuted")).unwrap();
    assert!(!h3.contains('%'), "{h3}");
    assert!(!screen.contains("set H"), "{screen}");
    assert_snapshot!(screen);
}

fn hint_line(screen: &str) -> String {
    screen.lines().last().unwrap_or_default().to_string()
}

/// Issue 27 #5: the hint bar describes what is on top: a text field being typed into, the
/// quit dialog, a finished investigation.
#[test]
fn the_hint_bar_follows_the_mode() {
    let (mut app, _rx) = live_app(&events_until(|k| {
        matches!(k, EventKind::ApprovalRequested { .. })
    }));
    assert!(hint_line(&render(&mut app, 120, 36)).contains("y approve-once"));
    app.on_key(key(KeyCode::Char('n')));
    let typing = render(&mut app, 120, 36);
    let hints = hint_line(&typing);
    assert!(
        hints.contains("enter deny with this reason") && !hints.contains("approve-once"),
        "{hints}"
    );
    assert_snapshot!("hints_while_typing_a_deny_reason", typing);
    app.on_key(key(KeyCode::Esc));
    app.on_key(key(KeyCode::Char('e')));
    let hints = hint_line(&render(&mut app, 120, 36));
    assert!(
        hints.contains("enter approve the edited command") && !hints.contains("approve-once"),
        "{hints}"
    );
    app.on_key(key(KeyCode::Esc));
    app.on_key(key(KeyCode::Char('q')));
    let quit = render(&mut app, 120, 36);
    let hints = hint_line(&quit);
    assert!(
        hints.contains("y/q/enter quit") && !hints.contains("pause-resume"),
        "{hints}"
    );
    app.on_key(key(KeyCode::Char('z')));
    app.on_key(key(KeyCode::Char('s')));
    let hints = hint_line(&render(&mut app, 120, 36));
    assert!(
        hints.contains("enter send to the agent") && !hints.contains("pause-resume"),
        "{hints}"
    );
    app.on_key(key(KeyCode::Esc));
    app.state.pending.clear();
    app.sync_decision();
    app.on_key(key(KeyCode::Char('h')));
    app.on_key(key(KeyCode::Char('a')));
    let hints = hint_line(&render(&mut app, 120, 36));
    assert!(
        hints.contains("enter save") && !hints.contains("add-hypothesis"),
        "{hints}"
    );
}

#[test]
fn a_concluded_investigation_offers_no_pause() {
    let (mut app, mut rx) = live_app(&fixture());
    let screen = render(&mut app, 120, 40);
    let hints = hint_line(&screen);
    assert!(
        !hints.contains("pause-resume") && hints.contains("q quit"),
        "{hints}"
    );
    app.on_key(key(KeyCode::Char(' ')));
    assert!(sent(&mut rx).is_empty());
    let screen = render(&mut app, 120, 40);
    assert!(
        hint_line(&screen).contains("the investigation is over: there is nothing to pause"),
        "{screen}"
    );
}

/// A hint bar too narrow for every hint drops whole hints, never one cut mid-word, and
/// keeps `? help`, through which the others are found.
#[test]
fn a_narrow_hint_bar_keeps_whole_hints_and_help() {
    let running =
        events_until(|k| matches!(k, EventKind::ToolCallFinished { id, .. } if id == "c4"));
    let approval = events_until(|k| matches!(k, EventKind::ApprovalRequested { .. }));
    for (events, width, height) in [(&running, 80, 24), (&approval, 60, 20), (&running, 60, 20)] {
        let (mut app, _rx) = live_app(events);
        let all: Vec<String> = app
            .hints()
            .iter()
            .map(|h| format!("{} {}", h.key, h.does))
            .collect();
        let hints = hint_line(&render(&mut app, width, height));
        assert!(hints.contains("? help"), "{width}x{height}: {hints}");
        let shown: Vec<&str> = hints.split("  ").map(str::trim).collect();
        for hint in &shown {
            assert!(
                all.iter().any(|h| h == hint),
                "{width}x{height}: {hint:?} is cut: {hints}"
            );
        }
        assert!(shown.len() > 1, "{width}x{height}: {hints}");
    }
}

/// After the conclusion `s` asks a follow-up question, and its hint says so.
#[test]
fn after_the_conclusion_s_is_hinted_as_a_question() {
    let (mut app, _rx) = live_app(&fixture());
    let hints = hint_line(&render(&mut app, 120, 40));
    assert!(
        hints.contains("s ask-follow-up") && !hints.contains("steer"),
        "{hints}"
    );
    let (mut app, _rx) = live_app(&events_until(
        |k| matches!(k, EventKind::ToolCallFinished { id, .. } if id == "c4"),
    ));
    let hints = hint_line(&render(&mut app, 120, 40));
    assert!(hints.contains("s steer"), "{hints}");
}

/// Issue 27 #5: `a` on a call that offers no session scope says why instead of nothing.
#[test]
fn approve_for_session_without_a_scope_says_why() {
    let mut events = events_until(|k| matches!(k, EventKind::ApprovalRequested { .. }));
    if let Some(EventKind::ApprovalRequested { scope, .. }) = events.last_mut().map(|e| &mut e.kind)
    {
        // As for a call of several statements: nothing a session approval could cover.
        *scope = None;
    }
    let (mut app, mut rx) = live_app(&events);
    assert!(!app.session_scope_offered());
    let before = hint_line(&render(&mut app, 120, 36));
    assert!(!before.contains("approve-session"), "{before}");
    app.on_key(key(KeyCode::Char('a')));
    assert!(sent(&mut rx).is_empty());
    let screen = render(&mut app, 120, 36);
    assert!(
        hint_line(&screen).contains(
            "no approval for the session here: it is not one command of known risk; y approves it once"
        ),
        "{screen}"
    );
    assert_snapshot!(screen);
}

/// A terminal attached as bob (`hunch attach --as bob`), at the end of `events`.
fn attached_app(events: &[Event]) -> (App, UnboundedReceiver<Envelope>) {
    let (handle, rx) = EngineHandle::channel("bob");
    let mut app = App::new(
        State::from_events(events),
        Mode::Live(handle),
        Keymap::default_keymap(),
        Theme::default_theme(),
    );
    app.attached = true;
    app.now = app.state.session.started_at.unwrap() + Duration::seconds(83);
    (app, rx)
}

/// The event that follows `events` in the log.
fn next_event(events: &[Event], kind: EventKind) -> Event {
    let last = events.last().unwrap();
    Event {
        seq: last.seq + 1,
        ts: last.ts + Duration::milliseconds(200),
        kind,
    }
}

/// The host sees who joined: the status bar lists who is attached now, and the
/// transcript says when they came and went.
#[test]
fn status_bar_lists_who_is_attached() {
    let mut events =
        events_until(|k| matches!(k, EventKind::ToolCallStarted { id, .. } if id == "c3"));
    for kind in [
        EventKind::Attached {
            by: "bob".into(),
            watch: false,
        },
        EventKind::Attached {
            by: "carol".into(),
            watch: true,
        },
        EventKind::Detached { by: "carol".into() },
    ] {
        events.push(next_event(&events, kind));
    }
    let (mut app, _rx) = live_app(&events);
    let screen = render(&mut app, 120, 36);
    let status = screen.lines().find(|l| l.contains("policy")).unwrap();
    assert!(status.contains("bob attached"), "{status}");
    assert!(!status.contains("carol"), "carol left: {status}");
    assert!(screen.contains("carol attached to watch"), "{screen}");
    assert!(screen.contains("carol left"), "{screen}");
    assert_snapshot!("status_bar_with_an_attached_engineer", screen);
}

/// On a narrow terminal the status bar keeps who is attached, and an attached terminal
/// keeps that the session ended: the brain and the policy make room for them first.
#[test]
fn a_narrow_status_bar_keeps_who_is_attached_and_the_end() {
    let mut events = events_until(|k| matches!(k, EventKind::ApprovalRequested { .. }));
    events.push(next_event(
        &events,
        EventKind::Attached {
            by: "bob".into(),
            watch: false,
        },
    ));
    let (mut app, _rx) = live_app(&events);
    for width in [60, 80] {
        let screen = render(&mut app, width, 20);
        let status = screen.lines().rev().nth(1).unwrap();
        assert!(
            status.contains("step 7 · bob attached"),
            "{width}: {screen}"
        );
    }
    let wide = render(&mut app, 200, 20);
    assert!(
        wide.contains("offline · policy ask"),
        "a wide screen keeps all: {wide}"
    );
    events.push(next_event(
        &events,
        EventKind::SessionEnded {
            reason: "its hunch stopped".into(),
        },
    ));
    let (mut app, _rx) = attached_app(&events);
    let screen = render(&mut app, 60, 20);
    assert!(screen.contains("ended: its hunch stopped"), "{screen}");
    assert!(
        !screen.contains("Approval needed"),
        "nothing left to decide: {screen}"
    );
    let hints = screen.lines().last().unwrap();
    assert!(
        !hints.contains("steer") && !hints.contains("edit-hypotheses"),
        "nothing is offered that could not arrive: {hints}"
    );
    assert_snapshot!("narrow_status_bar_after_the_host_stopped", screen);
    app.on_key(key(KeyCode::Char('s')));
    let screen = render(&mut app, 60, 20);
    assert!(screen.contains("the investigation has ended"), "{screen}");
}

/// Bob, attached, starts typing a deny reason; alice approves first on her terminal.
/// His overlay closes and the screen says who decided, instead of the reason vanishing.
#[test]
fn an_attached_screen_says_who_decided_first() {
    let mut events = events_until(|k| matches!(k, EventKind::ApprovalRequested { .. }));
    let (mut app, mut rx) = attached_app(&events);
    app.on_key(key(KeyCode::Char('n')));
    type_text(&mut app, "wait, that is the wr");
    assert!(render(&mut app, 100, 30).contains("wait, that is the wr"));
    events.push(next_event(
        &events,
        EventKind::ApprovalDecided {
            id: "c8".into(),
            decision: Decision::ApprovedOnce,
            by: "alice".into(),
        },
    ));
    app.apply(events.last().unwrap());
    let screen = render(&mut app, 100, 30);
    assert!(!screen.contains("Approval needed"), "{screen}");
    assert!(screen.contains("c8 was approved by alice"), "{screen}");
    assert_snapshot!("attached_screen_decided_by_alice", screen);
    assert!(rx.try_recv().is_err(), "bob sent nothing");
    // On the host, a reason being typed when bob denies first is explained too; a
    // decision of one's own closes the overlay without a word.
    let decided = |by: &str, reason: &str| Event {
        kind: EventKind::ApprovalDecided {
            id: "c8".into(),
            decision: Decision::Denied {
                reason: reason.into(),
            },
            by: by.into(),
        },
        ..events.last().unwrap().clone()
    };
    let (mut app, _rx) = live_app(&events[..events.len() - 1]);
    app.on_key(key(KeyCode::Char('n')));
    type_text(&mut app, "hold");
    app.apply(&decided("bob", "not now"));
    assert_eq!(app.flash.as_deref(), Some("c8 was denied by bob"));
    let (mut app, _rx) = live_app(&events[..events.len() - 1]);
    app.on_key(key(KeyCode::Char('n')));
    type_text(&mut app, "hold");
    app.apply(&decided("alice", "hold"));
    assert_eq!(app.flash, None);
}

/// An attached terminal leaves during a credential prompt it can't answer: `esc` sets
/// the prompt aside, the quit keys detach at once (no "c5 stays undecided": it only
/// detaches), also after `F2`.
#[test]
fn an_attached_terminal_leaves_during_a_credential_prompt() {
    let events = events_until(|k| matches!(k, EventKind::CredentialRequested { .. }));
    let hints = |app: &mut App| render(app, 100, 30).lines().last().unwrap().to_string();
    let (mut app, mut rx) = attached_app(&events);
    assert!(hints(&mut app).contains("detach"), "{}", hints(&mut app));
    app.on_key(key(KeyCode::Char('q')));
    assert!(app.quit, "q detaches");
    let quit: Vec<Command> = std::iter::from_fn(|| rx.try_recv().ok())
        .map(|e| e.command)
        .collect();
    assert!(matches!(&quit[..], [Command::Quit]), "{quit:?}");

    let (mut app, _rx) = attached_app(&events);
    app.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
    assert!(app.quit, "ctrl-c detaches");

    let (mut app, _rx) = attached_app(&events);
    app.on_key(key(KeyCode::Esc));
    assert!(app.decision().unwrap().hidden(), "esc sets it aside");
    assert!(!render(&mut app, 100, 30).contains("Credential needed"));
    app.on_key(key(KeyCode::F(2)));
    app.on_key(key(KeyCode::F(2)));
    app.on_key(key(KeyCode::Char('q')));
    assert!(app.quit, "no question: an attached terminal only detaches");
    assert!(app.stack().is_empty());
}

fn replay_app() -> App {
    let mut replay = Replay::new(fixture(), Vec::new());
    let mut state = State::new();
    replay.restart(&mut state);
    App::new(
        state,
        Mode::Replay(replay),
        Keymap::default_keymap(),
        Theme::default_theme(),
    )
}

fn replay_position(app: &App) -> usize {
    match &app.mode {
        Mode::Replay(replay) => replay.position().0,
        Mode::Live(_) => unreachable!("a replay"),
    }
}

/// Issue 27 #9: a replay steps back (`left`) to exactly the state one step earlier, a run
/// of streamed text being one step both ways.
#[test]
fn a_replay_steps_back_to_the_state_one_step_earlier() {
    let mut app = replay_app();
    app.on_key(key(KeyCode::Char(' ')));
    let mut seen = Vec::new();
    for _ in 0..40 {
        seen.push((replay_position(&app), render(&mut app, 100, 30)));
        app.on_key(key(KeyCode::Right));
    }
    for (position, screen) in seen.iter().rev() {
        app.on_key(key(KeyCode::Left));
        assert_eq!(replay_position(&app), *position);
        assert_eq!(render(&mut app, 100, 30), *screen, "at event {position}");
    }
    // At the first event it stays there.
    app.on_key(key(KeyCode::Char(',')));
    assert_eq!(replay_position(&app), 1);
}

/// Issue 27 #9: `:` seeks to a call by its id, forward or back, and selects it.
#[test]
fn a_replay_seeks_to_a_call_by_its_id() {
    let mut app = replay_app();
    app.on_key(key(KeyCode::Char(':')));
    assert_eq!(app.stack(), ["seek"]);
    let asking = render(&mut app, 100, 30);
    assert!(
        hint_line(&asking).contains("enter go to that call"),
        "{asking}"
    );
    type_text(&mut app, "c5");
    app.on_key(key(KeyCode::Enter));
    assert!(app.stack().is_empty());
    let c5 = app.state.call("c5").expect("c5 was played");
    assert!(c5.output.is_some(), "the replay stops after c5 finished");
    assert!(app.state.call("c6").is_none());
    let selected = app
        .transcript
        .selected_call
        .map(|i| app.state.calls[i].id.clone());
    assert_eq!(selected.as_deref(), Some("c5"));
    assert_snapshot!("replay_seeked_to_c5", render(&mut app, 100, 30));
    // Back from the end to an earlier call.
    app.on_key(KeyEvent::new(KeyCode::Char('e'), KeyModifiers::CONTROL));
    assert!(app.state.conclusion.is_some());
    app.on_key(key(KeyCode::Char(':')));
    type_text(&mut app, "c2");
    app.on_key(key(KeyCode::Enter));
    assert!(app.state.conclusion.is_none() && app.state.call("c3").is_none());
    assert_eq!(
        app.transcript
            .selected_call
            .map(|i| app.state.calls[i].id.as_str()),
        Some("c2")
    );
    // An id the session does not have is said, and nothing moves.
    let at = replay_position(&app);
    app.on_key(key(KeyCode::Char(':')));
    type_text(&mut app, "c99");
    app.on_key(key(KeyCode::Enter));
    assert_eq!(replay_position(&app), at);
    assert_eq!(
        app.flash.as_deref(),
        Some("no tool call c99 in this session")
    );
}

/// A key goes to the layer on top of the stack only: over a waiting approval, help takes
/// `y` (it approves nothing) and the steering field takes `yes` as text; once they close,
/// `y` approves.
#[test]
fn a_key_goes_to_the_top_of_the_stack_only() {
    let (mut app, mut rx) = live_app(&events_until(|k| {
        matches!(k, EventKind::ApprovalRequested { .. })
    }));
    assert_eq!(app.stack(), ["approval"]);
    app.on_key(key(KeyCode::Char('?')));
    assert_eq!(app.stack(), ["approval", "help"]);
    let help = render(&mut app, 120, 36);
    // Help opened over the approval lists the approval's keys first.
    let first = help.find("[approval]").expect("approval keys listed");
    assert!(
        first < help.find("[transcript]").unwrap_or(usize::MAX),
        "{help}"
    );
    app.on_key(key(KeyCode::Char('y')));
    assert!(sent(&mut rx).is_empty(), "help took the key");
    app.on_key(key(KeyCode::Esc));
    assert_eq!(app.stack(), ["approval"]);
    app.on_key(key(KeyCode::Char('s')));
    assert_eq!(app.stack(), ["approval", "steer"]);
    type_text(&mut app, "yes");
    app.on_key(key(KeyCode::Enter));
    assert!(
        matches!(&sent(&mut rx)[..], [Command::Steer(text)] if text == "yes"),
        "the text went to the field, not to the approval"
    );
    assert_eq!(app.stack(), ["approval"]);
    app.on_key(key(KeyCode::Char('y')));
    assert!(matches!(
        &sent(&mut rx)[..],
        [Command::Approve {
            approval: Approval::Once,
            ..
        }]
    ));
}

/// The engineer refused the rollback: the conclusion on the screen no longer asks to keep
/// the previous release pinned, as the export already did not (the two disagreed).
#[test]
fn a_refused_rollback_is_not_asked_for_again_on_the_screen() {
    let mut events = events_until(|k| {
        matches!(k, EventKind::ApprovalRequested { id, .. }
            if fixture_command(id).contains("rollout undo"))
    });
    let id = match &events.last().unwrap().kind {
        EventKind::ApprovalRequested { id, .. } => id.clone(),
        _ => unreachable!(),
    };
    events.push(next_event(
        &events,
        EventKind::ApprovalDecided {
            id,
            decision: Decision::Denied {
                reason: "no rollback: 2.14.0 carries a PCI fix".into(),
            },
            by: "alice".into(),
        },
    ));
    events.push(next_event(
        &events,
        EventKind::Concluded {
            conclusion: hunch::event::Conclusion {
                root_cause: "payments deploy 2.14.0 caused the errors".into(),
                confidence: 0.8,
                evidence: vec!["c1".into()],
                follow_ups: vec![
                    "Keep the previous release pinned until the leak is fixed".into(),
                    "Add a readiness check on the payments pool".into(),
                ],
            },
        },
    ));
    let (mut app, _rx) = live_app(&events);
    let screen = render(&mut app, 120, 60);
    assert!(screen.contains("readiness check"), "{screen}");
    assert!(!screen.contains("previous release pinned"), "{screen}");
}

/// The command of a fixture call, by id.
fn fixture_command(id: &str) -> String {
    fixture()
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::ToolCallProposed { id: i, command, .. } if i == id => Some(command.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

/// The host quits while bob is attached: his status bar says the session ended and why,
/// instead of a clock that runs on as if nothing happened.
#[test]
fn an_attached_screen_says_when_the_host_has_gone() {
    let mut events = events_until(|k| matches!(k, EventKind::ApprovalRequested { .. }));
    let (mut app, _rx) = attached_app(&events);
    events.push(next_event(
        &events,
        EventKind::SessionEnded {
            reason: "engineer quit".into(),
        },
    ));
    app.apply(events.last().unwrap());
    let screen = render(&mut app, 120, 30);
    let status = screen.lines().find(|l| l.contains("policy")).unwrap();
    assert!(status.contains("ended: engineer quit"), "{status}");
}

/// On an empty board the editor offers adding, not rewording, refuting, confirming or
/// pinning what is not there.
#[test]
fn the_editor_on_an_empty_board_offers_only_adding() {
    let (mut app, _rx) = live_app(&events_until(|k| {
        matches!(k, EventKind::TurnStarted { .. })
    }));
    assert!(app.state.hypotheses.is_empty());
    app.on_key(key(KeyCode::Char('h')));
    let screen = render(&mut app, 200, 60);
    let hints = screen.lines().last().unwrap().to_string();
    assert!(hints.contains("add"), "{hints}");
    for absent in ["reject", "confirm", "toggle-pin", "edit-statement"] {
        assert!(!hints.contains(absent), "{absent} in {hints}");
    }
}
