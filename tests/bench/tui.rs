//! Benchmark: events/s through the reducer and frame render time with a 100k-event
//! transcript at 200x60. Each figure is a median of repeated runs and is printed beside a
//! baseline measured in the same process:
//!
//! - reducer vs. parsing the same events from JSONL (what reading a session costs anyway);
//! - a frame over 100k events vs. a frame over 100 events (a frame should cost what is
//!   visible, not what was recorded), warm and while text is streaming.
//!
//! Run: `cargo bench --bench tui`

use chrono::{TimeZone, Utc};
use hunch::engine::EngineHandle;
use hunch::event::*;
use hunch::tui::app::{App, Mode};
use hunch::tui::keymap::Keymap;
use hunch::tui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::json;
use std::time::{Duration, Instant};

fn synthetic_session(events: usize) -> Vec<Event> {
    let mut out = Vec::with_capacity(events);
    let mut seq = 0;
    let mut push = |out: &mut Vec<Event>, kind: EventKind| {
        out.push(Event {
            seq,
            ts: Utc
                .timestamp_millis_opt(1_764_000_000_000 + seq as i64 * 40)
                .unwrap(),
            kind,
        });
        seq += 1;
    };
    push(
        &mut out,
        EventKind::SessionStarted {
            incident: IncidentInfo {
                title: "bench".into(),
                alert: "p99".into(),
                environment: "bench".into(),
                simulated: true,
                ..IncidentInfo::default()
            },
            brain: "offline".into(),
            policy: "ask".into(),
            budget: Default::default(),
        },
    );
    let mut call = 0;
    while out.len() < events {
        for word in [
            "The series ",
            "shifted together ",
            "at 02:08:45, ",
            "so the onset ",
            "is there.\n",
        ] {
            push(&mut out, EventKind::ReasoningDelta { text: word.into() });
        }
        call += 1;
        let id = format!("c{call}");
        push(
            &mut out,
            EventKind::ToolCallProposed {
                id: id.clone(),
                tool: "kubectl".into(),
                args: json!({"command": "kubectl get pods -n shop"}),
                command: "kubectl get pods -n shop".into(),
                target: "cluster".into(),
                risk: Risk::ReadOnly,
                rationale: "look".into(),
            },
        );
        push(
            &mut out,
            EventKind::ToolCallStarted {
                id: id.clone(),
                command: "kubectl get pods -n shop".into(),
            },
        );
        let preview = (0..12)
            .map(|i| format!("payments-5fbb{i:02}   1/1   Running   0   payments:2.14.0"))
            .collect::<Vec<_>>()
            .join("\n");
        push(
            &mut out,
            EventKind::ToolCallFinished {
                id,
                outcome: CallOutcome::Ok,
                duration_ms: 7,
                output: OutputRef {
                    preview,
                    bytes: 600,
                    lines: 12,
                    blob: None,
                    language: "shell".into(),
                    digest: "12 pods".into(),
                    raw: None,
                },
                error: None,
            },
        );
        push(
            &mut out,
            EventKind::MessageDelta {
                text: "Checked the pods; ".into(),
            },
        );
        push(
            &mut out,
            EventKind::MessageDelta {
                text: "all running.\n".into(),
            },
        );
    }
    out.truncate(events);
    out
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn app_for(events: &[Event]) -> App {
    let (handle, _rx) = EngineHandle::channel("bench");
    let mut app = App::new(
        State::new(),
        Mode::Live(handle),
        Keymap::default_keymap(),
        Theme::default_theme(),
    );
    for e in events {
        app.state.apply(e);
    }
    app.now = app.state.last_ts.unwrap();
    app
}

fn frame_time(
    app: &mut App,
    terminal: &mut Terminal<TestBackend>,
    frames: usize,
    stream: bool,
) -> Duration {
    let mut samples = Vec::with_capacity(frames);
    let last = app.state.last_ts.unwrap();
    for i in 0..frames {
        if stream {
            app.state.apply(&Event {
                seq: 10_000_000 + i as u64,
                ts: last,
                kind: EventKind::ReasoningDelta {
                    text: "more streamed text ".into(),
                },
            });
        }
        let start = Instant::now();
        terminal.draw(|f| hunch::tui::view::draw(f, app)).unwrap();
        samples.push(start.elapsed());
    }
    median(samples)
}

fn main() {
    const EVENTS: usize = 100_000;
    let events = synthetic_session(EVENTS);
    let lines: Vec<String> = events
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();

    let mut reduce = Vec::new();
    let mut parse = Vec::new();
    for _ in 0..7 {
        let start = Instant::now();
        let parsed: Vec<Event> = lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        parse.push(start.elapsed());
        let start = Instant::now();
        let state = State::from_events(&parsed);
        reduce.push(start.elapsed());
        assert_eq!(state.events as usize, EVENTS);
    }
    let (reduce, parse) = (median(reduce), median(parse));
    let per_sec = |d: Duration| EVENTS as f64 / d.as_secs_f64();

    let mut big = app_for(&events);
    let mut small = app_for(&events[..100]);
    let mut terminal = Terminal::new(TestBackend::new(200, 60)).unwrap();
    let cold_start = Instant::now();
    terminal
        .draw(|f| hunch::tui::view::draw(f, &mut big))
        .unwrap();
    let cold = cold_start.elapsed();
    let big_warm = frame_time(&mut big, &mut terminal, 200, false);
    let big_stream = frame_time(&mut big, &mut terminal, 200, true);
    let mut small_terminal = Terminal::new(TestBackend::new(200, 60)).unwrap();
    let small_warm = frame_time(&mut small, &mut small_terminal, 200, false);
    let small_stream = frame_time(&mut small, &mut small_terminal, 200, true);

    println!(
        "hunch TUI benchmark · {EVENTS} events · transcript of {} entries · 200x60 · medians",
        big.state.transcript.len()
    );
    println!(
        "{:<44} {:>14} {:>14} {:>8}",
        "what", "hunch", "baseline", "ratio"
    );
    println!(
        "{:<44} {:>12.2}M/s {:>12.2}M/s {:>7.1}x",
        "reducer events/s vs parsing them from JSONL",
        per_sec(reduce) / 1e6,
        per_sec(parse) / 1e6,
        per_sec(reduce) / per_sec(parse)
    );
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{:<44} {:>12.3}ms {:>12.3}ms {:>7.2}x",
        "frame, 100k events vs 100 events (warm)",
        ms(big_warm),
        ms(small_warm),
        ms(big_warm) / ms(small_warm)
    );
    println!(
        "{:<44} {:>12.3}ms {:>12.3}ms {:>7.2}x",
        "frame while streaming, 100k vs 100 events",
        ms(big_stream),
        ms(small_stream),
        ms(big_stream) / ms(small_stream)
    );
    println!(
        "{:<44} {:>12.3}ms {:>14} {:>8}",
        "first frame over 100k events (cold cache)",
        ms(cold),
        "",
        ""
    );
}
