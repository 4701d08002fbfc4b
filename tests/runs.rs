//! Agreement across runs (`--runs N`) and follow-up questions, against a real HTTP server
//! on a loopback port that speaks the OpenAI streaming dialect. The server answers from
//! what each request carries — its `seed` (which run it is), the calls the model already
//! made, the tools it is offered — so parallel runs each get their own scripted course:
//! runs 1 and 2 conclude the payments deploy, run 3 the orders database.

mod common;

use axum::body::Bytes;
use axum::response::Response;
use hunch::brain::llm::{Dialect, Endpoint, LlmBrain, Sample};
use hunch::engine::gate::{Approver, Policy};
use hunch::event::{AnsweredBy, EventKind, HypothesisStatus, State};
use hunch::runs::{RunBrain, Runs, run_all};
use hunch::session::read_session;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const DEPLOY: &str = "payments deploy 2.14.0 holds database sessions idle in transaction";
const DATABASE: &str = "orders-db is saturated by a reindex job";

/// What the server was asked: each request's seed, temperature and offered tools.
#[derive(Default, Clone)]
struct Seen {
    requests: Vec<Value>,
}

struct ModelServer {
    base_url: String,
    seen: Arc<Mutex<Seen>>,
}

fn sse(chunks: &[Value]) -> Response {
    let mut body = String::new();
    for chunk in chunks {
        body.push_str(&format!("data: {chunk}\n\n"));
    }
    body.push_str("data: [DONE]\n\n");
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(axum::body::Body::from(body))
        .unwrap()
}

fn text(t: &str) -> Value {
    json!({"choices": [{"index": 0, "delta": {"content": t}}]})
}

fn call(name: &str, args: &Value) -> Vec<Value> {
    vec![
        json!({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": format!("call_{name}"), "type": "function", "function": {"name": name, "arguments": args.to_string()}}]}}]}),
        json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}),
    ]
}

/// The names of the calls the model made so far in this conversation.
fn made(request: &Value) -> Vec<String> {
    request["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["role"] == "assistant")
        .flat_map(|m| m["tool_calls"].as_array().cloned().unwrap_or_default())
        .filter_map(|c| c["function"]["name"].as_str().map(String::from))
        .collect()
}

fn hypothesis(statement: &str, status: &str, confidence: f64) -> Value {
    json!({"statement": statement, "status": status, "confidence": confidence, "evidence": ["c1", "c2"]})
}

/// The next reply for `request`: the board, then the conclusion, each by the run's seed;
/// a follow-up question gets an `answer` citing a real call and one that never was.
fn reply(request: &Value) -> Response {
    let offered: Vec<&str> = request["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["function"]["name"].as_str())
        .collect();
    if offered == ["answer"] {
        let asked = request["messages"]
            .as_array()
            .and_then(|m| m.last())
            .cloned();
        if asked.is_some_and(|m| m["content"].as_str().unwrap_or("").contains("the weather")) {
            let args = json!({"answer": "It was sunny.", "evidence": []});
            return sse(&call("answer", &args));
        }
        let args = json!({"answer": "Because c1 shows payments_p99_ms moving first; c99 too.", "evidence": ["c1", "c99"]});
        return sse(&call("answer", &args));
    }
    let seed = request["seed"].as_u64().unwrap_or(1);
    if seed >= 4 {
        // A model that only talks: it is nudged, then handed over.
        return sse(&[
            text("The incident seems to be about latency."),
            json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
        ]);
    }
    let made = made(request);
    let deploy_wins = seed != 3;
    if made.is_empty() {
        // A run from scratch (no snapshot to fork from) reads the metrics first.
        return sse(&call("metrics_rank", &json!({"top": 5})));
    }
    if !made.iter().any(|m| m == "update_hypotheses") {
        let board = if deploy_wins {
            vec![
                hypothesis(DEPLOY, "confirmed", 0.9),
                hypothesis(
                    DATABASE,
                    if seed == 1 { "refuted" } else { "supported" },
                    0.3,
                ),
            ]
        } else {
            vec![
                hypothesis(DATABASE, "confirmed", 0.7),
                hypothesis(DEPLOY, "refuted", 0.2),
            ]
        };
        let mut chunks = vec![text("Reading the snapshot. ")];
        chunks.extend(call("update_hypotheses", &json!({"hypotheses": board})));
        return sse(&chunks);
    }
    if !made.iter().any(|m| m == "conclude") {
        let cause = if deploy_wins { DEPLOY } else { DATABASE };
        let args = json!({"root_cause": cause, "confidence": 0.8, "evidence": ["c1", "c2"], "follow_ups": ["pin the release"]});
        return sse(&call("conclude", &args));
    }
    sse(&[
        text("Done."),
        json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
    ])
}

impl ModelServer {
    async fn start() -> ModelServer {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let shared = seen.clone();
        let handler = axum::routing::post(move |body: Bytes| {
            let seen = shared.clone();
            async move {
                let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                seen.lock().unwrap().requests.push(request.clone());
                reply(&request)
            }
        });
        let app = axum::Router::new().route("/v1/chat/completions", handler);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        ModelServer {
            base_url: format!("http://{addr}/v1"),
            seen,
        }
    }

    fn endpoint(&self) -> Endpoint {
        Endpoint {
            provider: "openai".into(),
            dialect: Dialect::OpenAi,
            base_url: self.base_url.clone(),
            model: "gpt-test".into(),
            api_key: None,
            api_key_env: None,
            headers: Vec::new(),
            connect_timeout: Duration::from_secs(2),
            stall_timeout: Duration::from_secs(5),
            reply_timeout: Duration::from_secs(20),
            max_retries: 1,
            price_per_mtok: None,
            context_window: Some(128_000),
        }
    }

    fn requests(&self) -> Vec<Value> {
        self.seen.lock().unwrap().requests.clone()
    }
}

fn three_runs(server: &ModelServer) -> Runs {
    runs_with_seeds(server, 1..=3)
}

fn runs_with_seeds(server: &ModelServer, seeds: std::ops::RangeInclusive<u64>) -> Runs {
    let endpoint = server.endpoint();
    let brains = seeds
        .map(|seed| RunBrain {
            brain: Box::new(
                LlmBrain::new(endpoint.clone(), Default::default())
                    .unwrap()
                    .with_sample(Sample {
                        seed,
                        temperature: 0.7,
                    }),
            ),
            seed: Some(seed),
            temperature: Some(0.7),
        })
        .collect();
    Runs {
        brains,
        parallel: 3,
        source: Box::new(|| {
            Ok(hunch::launch::Source::Bundle(Box::new(
                hunch::bundle::Bundle::demo(),
            )))
        }),
        budget: Default::default(),
        policy: Policy::Ask,
        approver: Approver::Nobody,
        user: "dana".into(),
        redactor: Default::default(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_runs_from_one_snapshot_agree_two_to_one_on_the_deploy() {
    let server = ModelServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut shown = Vec::new();
    let done = tokio::time::timeout(
        Duration::from_secs(60),
        run_all(three_runs(&server), dir.path(), |e| shown.push(e.clone())),
    )
    .await
    .expect("the runs ended in time")
    .unwrap();

    // One snapshot, taken once, without the model: each run is a fork of it.
    let group = read_session(&done.session_file).unwrap();
    assert_eq!(group.events, shown, "what was shown is what was recorded");
    let snapshot_calls: Vec<String> = done.state.calls.iter().map(|c| c.id.clone()).collect();
    assert!(
        done.state.calls.iter().any(|c| c.tool == "metrics_rank"),
        "{snapshot_calls:?}"
    );
    assert_eq!(done.runs.len(), 3);
    for run in &done.runs {
        let log = read_session(std::path::Path::new(&run.session)).unwrap();
        let forked = log.events.iter().any(|e| matches!(&e.kind, EventKind::SessionForked { parent, .. } if *parent == done.session_file.display().to_string()));
        assert!(forked, "run {} is a fork of the snapshot", run.run);
        let state = State::from_events(&log.events);
        assert!(state.conclusion.is_some(), "run {} concluded", run.run);
        for id in &snapshot_calls {
            assert_eq!(
                state.call(id).map(|c| &c.output),
                done.state.call(id).map(|c| &c.output),
                "run {} starts from the same evidence ({id})",
                run.run
            );
        }
    }
    // Each run sampled the model with its own seed.
    let mut seeds: Vec<u64> = server
        .requests()
        .iter()
        .filter_map(|r| r["seed"].as_u64())
        .collect();
    seeds.sort();
    seeds.dedup();
    assert_eq!(seeds, vec![1, 2, 3]);
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r["temperature"].as_f64() == Some(0.7f32 as f64))
    );

    // The board counts the runs; the conclusion says the agreement.
    let agreement = done.state.agreement.as_ref().expect("runs compared");
    assert_eq!((agreement.runs, agreement.concluded), (3, 3));
    let deploy = &agreement.hypotheses[0];
    assert!(deploy.hypothesis.statement.contains("payments deploy"));
    assert_eq!(deploy.concluded_in, vec![1, 2]);
    assert_eq!(deploy.refuted_in, vec![3]);
    let database = &agreement.hypotheses[1];
    assert_eq!(database.concluded_in, vec![3]);
    assert_eq!(database.refuted_in, vec![1]);
    let board = &done.state.hypotheses;
    assert_eq!(board.len(), 2, "{board:#?}");
    let top = done.state.ranked_hypotheses()[0];
    assert_eq!(board[top].status, HypothesisStatus::Confirmed);
    assert!(
        board[top]
            .statement
            .ends_with("[concluded in 2 of 3 runs, supported in 2, refuted in 1]"),
        "{}",
        board[top].statement
    );
    let conclusion = done.state.conclusion.as_ref().unwrap();
    assert!(
        conclusion
            .root_cause
            .starts_with(&format!("Concluded in 2 of 3 runs: {DEPLOY}")),
        "{}",
        conclusion.root_cause
    );
    assert!(
        conclusion
            .evidence
            .iter()
            .all(|id| snapshot_calls.contains(id))
    );
    assert_eq!(done.state.run_outcomes.len(), 3);

    // The headless lines (what `replay --headless` prints) show each run and the agreement.
    let mut printed = Vec::new();
    let mut printer = hunch::headless::Printer::new(&mut printed, false);
    for event in &group.events {
        printer.print(&hunch::sanitize::clean_event(event)).unwrap();
    }
    let printed = String::from_utf8(printed).unwrap();
    for n in 1..=3 {
        assert!(
            printed.contains(&format!(
                "run {n} of 3 (openai:gpt-test, seed {n}, temperature 0.7) concluded"
            )),
            "{printed}"
        );
    }
    assert!(
        printed.contains("== agreement: 3 of 3 runs concluded =="),
        "{printed}"
    );
    assert!(printed.contains("concluded in 2 of 3 runs"), "{printed}");

    // The export tells each run and the agreement.
    let draft = hunch::postmortem::draft(&group.events).markdown(None);
    assert!(draft.contains("\n## Runs\n"), "{draft}");
    for run in &done.runs {
        assert!(draft.contains(&run.session), "{draft}");
    }
    assert!(draft.contains("3 of 3 runs concluded"), "{draft}");
    assert!(
        draft.contains("Concluded in 2 of 3 runs: payments deploy"),
        "the conclusion states the agreement: {draft}"
    );
}

#[tokio::test]
async fn a_follow_up_question_is_answered_by_the_model_citing_only_real_calls() {
    let server = ModelServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let brain = LlmBrain::new(server.endpoint(), Default::default()).unwrap();
    let setup = hunch::launch::SessionSetup {
        source: hunch::launch::Source::Bundle(Box::new(hunch::bundle::Bundle::demo())),
        brain: Box::new(brain),
        policy: Policy::Ask,
        approver: Approver::Nobody,
        exit_when_idle: true,
        budget: Default::default(),
        user: "dana".into(),
        redactor: Default::default(),
    };
    let launched = hunch::launch::launch(setup, dir.path()).unwrap();
    let mut engine = launched.engine;
    let mut events = engine.subscribe();
    launched.handle.send(hunch::engine::Command::Ask(
        "why the payments deploy?".into(),
    ));
    launched
        .handle
        .send(hunch::engine::Command::Ask("how was the weather?".into()));
    let state = tokio::time::timeout(Duration::from_secs(30), engine.run())
        .await
        .expect("ended in time");
    drop(launched.handle);
    launched.recorder.join().unwrap().unwrap();
    let mut kinds = Vec::new();
    while let Ok(event) = events.try_recv() {
        kinds.push(event.kind);
    }
    let concluded = kinds
        .iter()
        .position(|k| matches!(k, EventKind::Concluded { .. }))
        .expect("concluded");
    let answered = kinds
        .iter()
        .position(|k| matches!(k, EventKind::Answered { .. }))
        .expect("answered");
    assert!(answered > concluded, "answered once the brain was idle");
    let follow_up = &state.follow_ups[0];
    assert_eq!(follow_up.question, "why the payments deploy?");
    assert_eq!(follow_up.by, "dana");
    let answer = follow_up.answers.first().expect("an answer");
    assert_eq!(answer.source, AnsweredBy::Model);
    assert_eq!(answer.brain, "openai:gpt-test");
    assert!(answer.text.contains("payments_p99_ms"), "{}", answer.text);
    assert_eq!(
        answer.evidence,
        vec!["c1"],
        "c99 is no call of this session"
    );
    assert_eq!(follow_up.answers.len(), 1);
    // An answer that cites nothing gets the record's beside it, said to be the record's.
    let weather = &state.follow_ups[1];
    assert_eq!(weather.answers.len(), 2, "{weather:#?}");
    assert_eq!(weather.answers[0].source, AnsweredBy::Model);
    assert!(weather.answers[0].evidence.is_empty());
    assert_eq!(weather.answers[1].source, AnsweredBy::Record);
    assert!(
        weather.answers[1]
            .text
            .starts_with("The model cited no call of this session; what the record holds:"),
        "{}",
        weather.answers[1].text
    );
    // The model was offered only the answer tool, and asked the question after the record.
    let asked = server
        .requests()
        .into_iter()
        .find(|r| r["tools"][0]["function"]["name"] == "answer")
        .expect("the question was sent");
    assert_eq!(asked["tools"].as_array().unwrap().len(), 1);
    assert_eq!(asked["tool_choice"]["function"]["name"], "answer");
    let last = asked["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert!(
        last["content"]
            .as_str()
            .unwrap()
            .contains("why the payments deploy?")
    );
    assert!(
        asked["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["role"] == "tool"),
        "the whole record goes with it"
    );
}

#[tokio::test]
async fn without_a_model_the_answer_is_read_from_the_record_and_says_so() {
    let outcome = common::run_demo_with(
        Policy::Ask,
        Approver::Human,
        |handle| {
            handle.send(hunch::engine::Command::Ask(
                "what happened to payments?".into(),
            ))
        },
        common::approve_everything,
    )
    .await;
    let state = &outcome.state;
    assert!(state.conclusion.is_some());
    let answer = state.follow_ups[0].answers.first().expect("answered");
    assert_eq!(answer.source, AnsweredBy::Record);
    assert_eq!(answer.brain, "offline");
    assert!(
        answer.text.starts_with("The investigation concluded"),
        "{}",
        answer.text
    );
    assert!(answer.text.contains("without a model"), "{}", answer.text);
    assert!(!answer.evidence.is_empty());
    for id in &answer.evidence {
        assert!(state.call(id).is_some(), "{id} is a call of the record");
    }
    let draft = hunch::postmortem::draft(&outcome.events).markdown(None);
    assert!(
        draft.contains("## Follow-up questions\n\n- **alice** asked: what happened to payments?"),
        "{draft}"
    );
    assert!(draft.contains(&answer.citation()), "{draft}");
    // It cites the calls that speak of payments.
    let payments: Vec<&str> = state
        .calls
        .iter()
        .filter(|c| c.command.contains("payments"))
        .map(|c| c.id.as_str())
        .collect();
    assert!(
        answer
            .evidence
            .iter()
            .any(|id| payments.contains(&id.as_str())),
        "{:?} vs {payments:?}",
        answer.evidence
    );
}

/// Run the real binary with its own data dirs and the model server as `openai`.
fn hunch(dir: &std::path::Path, base_url: &str, args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hunch"))
        .args(args)
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_STATE_HOME", dir.join("state"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env("OPENAI_BASE_URL", base_url)
        .env("OPENAI_API_KEY", "sk-test")
        .env("USER", "erin")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_runs_3_headless_then_replay_and_ask_through_the_binary() {
    let server = ModelServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (path, base) = (dir.path().to_path_buf(), server.base_url.clone());
    let run = move |args: &[&str]| {
        let (path, base) = (path.clone(), base.clone());
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            hunch(&path, &base, &args)
        })
    };
    let args = [
        "demo",
        "--runs",
        "3",
        "--model",
        "openai:gpt-test",
        "--headless",
    ];
    let (ok, out, err) = run(&args).await.unwrap();
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("3 runs go on from here"), "{out}");
    assert!(
        out.contains("== agreement: 3 of 3 runs concluded =="),
        "{out}"
    );
    assert!(
        out.contains(&format!("Concluded in 2 of 3 runs: {DEPLOY}")),
        "{out}"
    );
    let session = err
        .lines()
        .find_map(|l| l.strip_prefix("session: "))
        .expect("the group's session is named")
        .to_string();
    let session = session.as_str();
    let runs: Vec<&str> = err.lines().filter(|l| l.starts_with("run ")).collect();
    assert_eq!(runs.len(), 3, "{err}");

    let (ok, replayed, err) = run(&["replay", session, "--headless"]).await.unwrap();
    assert!(ok, "{err}");
    for n in 1..=3 {
        let line = format!("run {n} of 3 (openai:gpt-test, seed {n}, temperature 0.7) concluded");
        assert!(replayed.contains(&line), "{replayed}");
    }
    // Each of two runs grounded the deploy at 60% (two tools cited): 1.2 over 3 runs.
    assert!(
        replayed
            .contains("H1 confirmed 40% · concluded in 2 of 3 runs, supported in 2, refuted in 1"),
        "{replayed}"
    );

    // Without `--model` the answer is read from the record: the model a session file
    // names is never taken from it (a forged file must not choose where the record goes).
    let (ok, asked, err) = run(&["ask", session, "what was concluded?"]).await.unwrap();
    assert!(ok, "{asked}\n{err}");
    assert!(!asked.contains("== answer (openai:gpt-test) =="), "{asked}");
    assert!(err.contains("--model openai:gpt-test"), "{err}");
    // A follow-up question goes to the model named and is added to the record.
    let (ok, asked, err) = run(&[
        "ask",
        session,
        "why the payments deploy?",
        "--model",
        "openai:gpt-test",
    ])
    .await
    .unwrap();
    assert!(ok, "{asked}\n{err}");
    assert!(
        asked.contains("erin asked: why the payments deploy?"),
        "{asked}"
    );
    assert!(asked.contains("== answer (openai:gpt-test) =="), "{asked}");
    assert!(asked.contains("[cites c1]"), "{asked}");
    let (_, replayed, _) = run(&["replay", session, "--headless"]).await.unwrap();
    assert!(
        replayed.contains("== answer (openai:gpt-test) =="),
        "{replayed}"
    );
}

/// Type `text` into the app, then enter.
fn type_line(app: &mut hunch::tui::app::App, text: &str) {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    for c in text.chars() {
        app.on_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    }
    app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
}

#[test]
fn after_the_conclusion_the_steer_box_asks_a_follow_up_question() {
    use hunch::tui::app::{App, Mode};
    let recorded = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/demo-session.jsonl"
    );
    let events = read_session(std::path::Path::new(recorded)).unwrap().events;
    let app_with = |events: &[hunch::event::Event]| {
        let (handle, commands) = hunch::engine::EngineHandle::channel("alice");
        let mut app = App::new(
            State::new(),
            Mode::Live(handle),
            hunch::tui::keymap::Keymap::default_keymap(),
            hunch::tui::theme::Theme::default_theme(),
        );
        for event in events {
            app.apply(event);
        }
        (app, commands)
    };
    let concluded = events
        .iter()
        .position(|e| matches!(e.kind, EventKind::Concluded { .. }))
        .unwrap();

    let (mut app, mut commands) = app_with(&events[..concluded]);
    type_line(&mut app, "slook at orders-db");
    let sent = commands.try_recv().unwrap().command;
    assert!(
        matches!(&sent, hunch::engine::Command::Steer(t) if t == "look at orders-db"),
        "{sent:?}"
    );

    let (mut app, mut commands) = app_with(&events);
    app.on_key(crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Char('s'),
        crossterm::event::KeyModifiers::NONE,
    ));
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(100, 30)).unwrap();
    terminal
        .draw(|frame| hunch::tui::view::draw(frame, &mut app))
        .unwrap();
    let screen: String = terminal
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect();
    assert!(screen.contains("Ask a follow-up question"), "{screen}");
    type_line(&mut app, "why payments?");
    let sent = commands.try_recv().unwrap().command;
    assert!(
        matches!(&sent, hunch::engine::Command::Ask(t) if t == "why payments?"),
        "{sent:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hand_over_in_a_run_is_said_in_the_agreement() {
    let server = ModelServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let done = tokio::time::timeout(
        Duration::from_secs(60),
        run_all(runs_with_seeds(&server, 4..=5), dir.path(), |_| {}),
    )
    .await
    .expect("the runs ended in time")
    .unwrap();
    let handed: Vec<bool> = done
        .state
        .run_outcomes
        .iter()
        .map(|o| o.handed_over)
        .collect();
    assert_eq!(handed, vec![true, true]);
    let conclusion = done
        .state
        .conclusion
        .as_ref()
        .expect("the pipeline concluded");
    assert!(
        conclusion.root_cause.starts_with(
            "Concluded in 2 of 2 runs (2 by the offline evidence pipeline after the model made no progress): "
        ),
        "{}",
        conclusion.root_cause
    );
    let agreement = done.state.agreement.as_ref().unwrap();
    assert_eq!(agreement.hypotheses[0].handed_over_in, vec![1, 2]);
}
