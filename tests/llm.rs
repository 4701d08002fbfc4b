//! The LLM brain against a real HTTP server (axum on a loopback port) that streams
//! scripted Server-Sent Events the way OpenAI-compatible servers do, cut into small
//! pieces at awkward byte boundaries (inside UTF-8 characters and JSON strings), with
//! keep-alive comments — and every fault a real server produces.

mod common;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use hunch::brain::llm::{Dialect, Endpoint, LlmBrain};
use hunch::engine::gate::{Approver, Policy};
use hunch::engine::{Approval, Command, HypothesisEdit};
use hunch::event::{CallOutcome, CallStatus, Event, EventKind, HypothesisStatus, State};
use hunch::launch::{SessionSetup, launch};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One scripted HTTP reply.
#[derive(Clone)]
struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
    /// Bytes per piece of the streamed body.
    piece: usize,
    /// Sleep this long after sending this many bytes (a stall).
    stall: Option<(usize, Duration)>,
    /// Break the connection after this many bytes.
    cut: Option<usize>,
}

impl Reply {
    fn sse(chunks: &[Value]) -> Reply {
        let mut body = String::from(": keep-alive\n\n");
        for c in chunks {
            body.push_str(&format!("data: {c}\n\n"));
        }
        body.push_str("data: [DONE]\n\n");
        Reply {
            status: 200,
            headers: vec![("content-type", "text/event-stream".into())],
            body: body.into_bytes(),
            piece: 5,
            stall: None,
            cut: None,
        }
    }

    /// Anthropic's stream: named events, no `[DONE]`.
    fn anthropic(events: &[(&str, Value)]) -> Reply {
        let body: String = events
            .iter()
            .map(|(name, data)| format!("event: {name}\ndata: {data}\n\n"))
            .collect();
        Reply {
            status: 200,
            headers: vec![("content-type", "text/event-stream".into())],
            body: body.into_bytes(),
            piece: 6,
            stall: None,
            cut: None,
        }
    }

    fn raw(status: u16, body: &str) -> Reply {
        Reply {
            status,
            headers: vec![("content-type", "application/json".into())],
            body: body.as_bytes().to_vec(),
            piece: 1 << 20,
            stall: None,
            cut: None,
        }
    }
}

#[derive(Default)]
struct Script {
    replies: VecDeque<Reply>,
    requests: Vec<(HeaderMap, Value)>,
}

struct ModelServer {
    base_url: String,
    script: Arc<Mutex<Script>>,
}

impl ModelServer {
    async fn start(replies: Vec<Reply>) -> ModelServer {
        let script = Arc::new(Mutex::new(Script {
            replies: replies.into(),
            requests: Vec::new(),
        }));
        let shared = script.clone();
        let handler = axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let script = shared.clone();
            async move {
                let reply = {
                    let mut s = script.lock().unwrap();
                    s.requests.push((
                        headers,
                        serde_json::from_slice(&body).unwrap_or(Value::Null),
                    ));
                    s.replies.pop_front()
                };
                respond(reply.unwrap_or_else(|| {
                    Reply::raw(500, r#"{"error":{"message":"script exhausted"}}"#)
                }))
            }
        });
        let models = axum::routing::get(|headers: HeaderMap| async move {
            let bearer = headers
                .get("authorization")
                .is_some_and(|v| v == "Bearer sk-test-key");
            let anthropic = headers.get("x-api-key").is_some_and(|v| v == "sk-ant-test")
                && headers.contains_key("anthropic-version");
            if bearer || anthropic {
                respond(Reply::raw(
                    200,
                    r#"{"data":[{"id":"gpt-test"},{"id":"claude-test"}]}"#,
                ))
            } else {
                respond(Reply::raw(401, r#"{"error":{"message":"missing key"}}"#))
            }
        });
        let app = axum::Router::new()
            .route("/v1/chat/completions", handler.clone())
            .route("/v1/messages", handler)
            .route("/v1/models", models);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        ModelServer {
            base_url: format!("http://{addr}/v1"),
            script,
        }
    }

    fn requests(&self) -> Vec<(HeaderMap, Value)> {
        self.script.lock().unwrap().requests.clone()
    }

    fn endpoint(&self) -> Endpoint {
        Endpoint {
            provider: "openai".into(),
            dialect: Dialect::OpenAi,
            base_url: self.base_url.clone(),
            model: "gpt-test".into(),
            api_key: Some("sk-test-key".into()),
            api_key_env: Some("OPENAI_API_KEY".into()),
            headers: vec![("x-extra".into(), "yes".into())],
            connect_timeout: Duration::from_secs(2),
            stall_timeout: Duration::from_millis(700),
            reply_timeout: Duration::from_secs(20),
            max_retries: 2,
            price_per_mtok: Some((2.0, 8.0)),
            context_window: None,
        }
    }
}

fn respond(reply: Reply) -> Response {
    let pieces: Vec<Vec<u8>> = reply
        .body
        .chunks(reply.piece.max(1))
        .map(<[u8]>::to_vec)
        .collect();
    let stall = reply.stall;
    let cut = reply.cut;
    let stream = futures::stream::unfold(
        (pieces.into_iter(), 0usize),
        move |(mut pieces, sent)| async move {
            let piece = pieces.next()?;
            if let Some((at, pause)) = stall
                && sent >= at
                && sent < at + piece.len()
            {
                tokio::time::sleep(pause).await;
            }
            if cut.is_some_and(|c| sent >= c) {
                return Some((
                    Err(std::io::Error::other("connection reset")),
                    (pieces, sent),
                ));
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
            let len = piece.len();
            Some((
                Ok::<_, std::io::Error>(Bytes::from(piece)),
                (pieces, sent + len),
            ))
        },
    );
    let mut builder = Response::builder().status(StatusCode::from_u16(reply.status).unwrap());
    for (k, v) in reply.headers {
        builder = builder.header(k, v);
    }
    builder.body(Body::from_stream(stream)).unwrap()
}

fn text(t: &str) -> Value {
    json!({"choices": [{"index": 0, "delta": {"content": t}}]})
}

fn call(index: u64, id: &str, name: &str, args: &str) -> Value {
    json!({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": index, "id": id, "type": "function", "function": {"name": name, "arguments": args}}]}}]})
}

fn fragment(index: u64, args: &str) -> Value {
    json!({"choices": [{"index": 0, "delta": {"tool_calls": [{"index": index, "function": {"arguments": args}}]}}]})
}

fn finish(reason: &str) -> Value {
    json!({"choices": [{"index": 0, "delta": {}, "finish_reason": reason}]})
}

fn usage(input: u64, output: u64) -> Value {
    json!({"choices": [], "usage": {"prompt_tokens": input, "completion_tokens": output, "total_tokens": input + output}})
}

fn conclude_reply(evidence: &[&str]) -> Reply {
    let args = json!({"root_cause": "payments 2.14.0 leaves transactions open", "confidence": 0.8, "evidence": evidence, "follow_ups": ["fix the retry path"]}).to_string();
    Reply::sse(&[
        text("Concluding."),
        call(0, "call_9", "conclude", &args),
        finish("tool_calls"),
    ])
}

struct Run {
    events: Vec<Event>,
    state: State,
    file_text: String,
}

/// Run the demo bundle with the LLM brain against the server; `engineer` answers prompts.
async fn run_demo(
    server: &ModelServer,
    engineer: impl FnMut(&Event, &State, &hunch::engine::EngineHandle),
) -> Run {
    run_with(server.endpoint(), engineer).await
}

async fn run_with(
    endpoint: Endpoint,
    engineer: impl FnMut(&Event, &State, &hunch::engine::EngineHandle),
) -> Run {
    run_full(
        endpoint,
        hunch::bundle::Bundle::demo(),
        Default::default(),
        engineer,
    )
    .await
}

async fn run_full(
    endpoint: Endpoint,
    bundle: hunch::bundle::Bundle,
    budget: hunch::event::Budget,
    mut engineer: impl FnMut(&Event, &State, &hunch::engine::EngineHandle),
) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let setup = SessionSetup {
        source: hunch::launch::Source::Bundle(Box::new(bundle)),
        brain: Box::new(LlmBrain::new(endpoint, Default::default()).unwrap()),
        policy: Policy::Ask,
        approver: Approver::Human,
        exit_when_idle: true,
        budget,
        user: "dana".into(),
        redactor: Default::default(),
    };
    let launched = launch(setup, dir.path()).unwrap();
    let mut engine = launched.engine;
    let mut rx = engine.subscribe();
    let handle = launched.handle.clone();
    let task = tokio::spawn(engine.run());
    let mut events = Vec::new();
    let mut state = State::new();
    let collect = async {
        while let Some(event) = rx.recv().await {
            state.apply(&event);
            engineer(&event, &state, &handle);
            events.push(event);
        }
    };
    tokio::time::timeout(Duration::from_secs(30), collect)
        .await
        .expect("the run ended in time");
    task.await.unwrap();
    drop(launched.handle);
    drop(handle);
    launched.recorder.join().unwrap().unwrap();
    let file_text = std::fs::read_to_string(&launched.session_file).unwrap();
    Run {
        events,
        state,
        file_text,
    }
}

/// All streamed text of one kind, joined.
fn streamed(run: &Run, reasoning: bool) -> String {
    run.events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ReasoningDelta { text } if reasoning => Some(text.as_str()),
            EventKind::MessageDelta { text } if !reasoning => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

fn messages(request: &Value) -> Vec<Value> {
    request["messages"].as_array().cloned().unwrap_or_default()
}

fn errors(run: &Run) -> Vec<(String, bool)> {
    run.events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Error {
                source,
                message,
                retried,
            } if source == "brain" => Some((message.clone(), *retried)),
            _ => None,
        })
        .collect()
}

fn approve(event: &Event, _: &State, handle: &hunch::engine::EngineHandle) {
    if let EventKind::ApprovalRequested { id, .. } = &event.kind {
        handle.send(Command::Approve {
            id: id.clone(),
            approval: Approval::Once,
        });
    }
}

#[tokio::test]
async fn a_scripted_model_investigates_the_demo_through_the_real_client_gate_and_recorder() {
    let hypotheses = json!({"hypotheses": [{"statement": "payments 2.14.0 deploy caused it", "status": "supported", "confidence": 0.8, "evidence": ["c1", "c2"]}]}).to_string();
    let (h1, h2) = hypotheses.split_at(hypotheses.len() / 2);
    let server = ModelServer::start(vec![
        Reply::sse(&[
            text("Looking at the data → "),
            text("first. Ünïcode ✓"),
            call(0, "call_1", "metrics_rank", "{\"to"),
            fragment(0, "p\": 5}"),
            call(1, "call_2", "change_events", ""),
            finish("tool_calls"),
            usage(120, 30),
        ]),
        Reply::sse(&[
            text("The payments deploy lines up with the onset."),
            call(0, "call_3", "update_hypotheses", h1),
            fragment(0, h2),
            call(
                1,
                "call_4",
                "kubectl",
                "{\"command\": \"kubectl rollout undo deployment/payments -n shop\"}",
            ),
            finish("tool_calls"),
            usage(400, 60),
        ]),
        conclude_reply(&["c1", "c2", "c3"]),
    ])
    .await;
    let run = run_demo(&server, approve).await;

    let conclusion = run.state.conclusion.clone().expect("concluded");
    assert_eq!(conclusion.evidence, ["c1", "c2", "c3"]);
    assert_eq!(run.state.session.brain, "openai:gpt-test");
    assert_eq!(
        run.state
            .calls
            .iter()
            .map(|c| c.tool.as_str())
            .collect::<Vec<_>>(),
        ["metrics_rank", "change_events", "kubectl"]
    );
    assert_eq!(run.state.calls[0].args, json!({"top": 5}));
    assert!(
        matches!(run.state.calls[2].decision, Some((hunch::event::Decision::ApprovedOnce, ref by)) if by == "dana"),
        "the gate stopped the model's rollback"
    );
    assert_eq!(run.state.hypotheses[0].evidence, ["c1", "c2"]);
    assert_eq!((run.state.input_tokens, run.state.output_tokens), (520, 90));
    let text = streamed(&run, false);
    assert!(
        text.starts_with("Looking at the data → first. Ünïcode ✓The payments deploy"),
        "{text}"
    );
    assert!(
        run.events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::MessageDelta { .. }))
            .count()
            > 3,
        "text streamed in pieces"
    );
    assert!(run.file_text.contains("\"type\":\"concluded\""));

    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    let (headers, first) = &requests[0];
    assert_eq!(headers["authorization"], "Bearer sk-test-key");
    assert_eq!(headers["x-extra"], "yes");
    assert_eq!(first["model"], "gpt-test");
    assert!(first["stream"].as_bool().unwrap());
    let tool_names: Vec<&str> = first["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap())
        .collect();
    assert!(
        tool_names.contains(&"kubectl")
            && tool_names.contains(&"update_hypotheses")
            && tool_names.contains(&"conclude")
    );
    // The second request answers both calls of the first, under the engine's ids.
    let second = messages(&requests[1].1);
    let assistant = second.iter().find(|m| m["role"] == "assistant").unwrap();
    assert_eq!(assistant["tool_calls"][0]["id"], "c1");
    assert_eq!(
        assistant["tool_calls"][0]["function"]["arguments"],
        "{\"top\":5}"
    );
    let tool_messages: Vec<&Value> = second.iter().filter(|m| m["role"] == "tool").collect();
    assert_eq!(tool_messages.len(), 2);
    assert!(
        tool_messages[0]["content"]
            .as_str()
            .unwrap()
            .contains("\"onset\"")
    );
    // The third carries the approved rollback's real output and the board.
    let third = serde_json::to_string(&requests[2].1).unwrap();
    assert!(
        third.contains("rolled back (now running payments:2.13.4)"),
        "{third}"
    );
    assert!(third.contains("board updated: H1"));
    // The board's confidence comes from the evidence cited (two tools), the model's own
    // number is kept as its own.
    assert!(
        third.contains(
            "H1 supported 60%: payments 2.14.0 deploy caused it (model said 80%) evidence: c1, c2"
        ),
        "{third}"
    );
}

#[tokio::test]
async fn an_edit_during_the_run_is_in_the_next_request() {
    let hypotheses = json!({"hypotheses": [{"statement": "payments deploy", "status": "supported", "confidence": 0.7, "evidence": []}]}).to_string();
    let server = ModelServer::start(vec![
        Reply::sse(&[
            call(0, "a", "update_hypotheses", &hypotheses),
            call(
                1,
                "b",
                "kubectl",
                "{\"command\": \"kubectl rollout undo deployment/payments -n shop\"}",
            ),
            finish("tool_calls"),
        ]),
        conclude_reply(&[]),
    ])
    .await;
    let run = run_demo(&server, |event, state, handle| {
        if let EventKind::ApprovalRequested { id, .. } = &event.kind {
            let h = state.hypotheses[0].id.clone();
            handle.send(Command::EditHypothesis(HypothesisEdit {
                id: Some(h),
                status: Some(HypothesisStatus::Refuted),
                ..HypothesisEdit::default()
            }));
            handle.send(Command::Deny {
                id: id.clone(),
                reason: "not the deploy; look at the database".into(),
            });
        }
    })
    .await;
    let requests = server.requests();
    let last = serde_json::to_string(&requests.last().unwrap().1).unwrap();
    // An uncited claim is marked and carries no confidence; the model's number is its own.
    assert!(last.contains("The engineer edited the board (authoritative): H1 refuted 0% [engineer]: [uncited] payments deploy (model said 70%)"), "{last}");
    assert!(last.contains("denied: not the deploy; look at the database"));
    assert!(
        run.state.conclusion.unwrap().evidence.is_empty(),
        "an uncited conclusion stays uncited"
    );
}

#[tokio::test]
async fn ollama_style_whole_arguments_parallel_calls_and_reasoning_fields() {
    let server = ModelServer::start(vec![
        Reply::sse(&[
            json!({"choices": [{"delta": {"reasoning": "vLLM/Ollama reasoning. "}}]}),
            json!({"choices": [{"delta": {"reasoning_content": "DeepSeek reasoning. "}}]}),
            text("<think>inline thoughts ✓</think>Visible."),
            json!({"choices": [{"delta": {"tool_calls": [{"index": 0, "id": "x1", "function": {"name": "metrics_rank", "arguments": {"top": 3}}}]}}]}),
            json!({"choices": [{"delta": {"tool_calls": [{"index": 0, "id": "x2", "function": {"name": "change_events", "arguments": {}}}]}}]}),
            finish("stop"),
        ]),
        conclude_reply(&["c1"]),
    ])
    .await;
    let run = run_demo(&server, approve).await;
    assert_eq!(
        run.state.calls.len(),
        2,
        "a tool turn although finish_reason was stop"
    );
    assert_eq!(run.state.calls[0].args, json!({"top": 3}));
    let reasoning = streamed(&run, true);
    assert!(
        reasoning.contains("vLLM/Ollama reasoning. DeepSeek reasoning. inline thoughts ✓"),
        "{reasoning}"
    );
    // Reasoning goes back with the assistant message (DeepSeek's thinking mode needs it).
    let second = messages(&server.requests()[1].1);
    let assistant = second.iter().find(|m| m["role"] == "assistant").unwrap();
    assert!(
        assistant["reasoning_content"]
            .as_str()
            .unwrap()
            .contains("DeepSeek reasoning.")
    );
}

#[tokio::test]
async fn a_bad_call_goes_back_to_the_model_as_an_error_it_can_correct() {
    let server = ModelServer::start(vec![
        Reply::sse(&[
            call(0, "a", "kubectl", "{\"command\": kubectl get"),
            call(1, "b", "no_such_tool", "{}"),
            call(2, "c", "kubectl", "{\"cmd\": \"x\"}"),
            call(3, "d", "update_hypotheses", "{\"hypotheses\": [{\"statement\": \"x\", \"status\": \"maybe\", \"confidence\": 0.5}]}"),
            finish("tool_calls"),
        ]),
        conclude_reply(&[]),
    ])
    .await;
    let run = run_demo(&server, approve).await;
    let errors: Vec<String> = run
        .state
        .calls
        .iter()
        .map(|c| c.error.clone().unwrap_or_default())
        .collect();
    assert!(
        errors[0].contains("arguments must be a JSON object"),
        "{errors:?}"
    );
    assert_eq!(errors[1], "unknown tool `no_such_tool`");
    assert!(
        errors[2].contains("invalid arguments for `kubectl`"),
        "{errors:?}"
    );
    assert!(
        run.state
            .calls
            .iter()
            .all(|c| c.status == CallStatus::Finished(CallOutcome::Failed))
    );
    let second = serde_json::to_string(&server.requests()[1].1).unwrap();
    assert!(second.contains("error: unknown tool `no_such_tool`"));
    assert!(
        second
            .contains("error: invalid arguments for `update_hypotheses`: unknown variant `maybe`"),
        "{second}"
    );
    assert!(run.state.hypotheses.is_empty());
    assert!(run.state.conclusion.is_some(), "the session goes on");
}

#[tokio::test]
async fn unauthorized_names_the_key_variable_and_is_not_retried() {
    let server = ModelServer::start(vec![Reply::raw(
        401,
        r#"{"error":{"message":"Incorrect API key provided"}}"#,
    )])
    .await;
    let run = run_demo(&server, approve).await;
    let errors = errors(&run);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].0.contains("401")
            && errors[0].0.contains("$OPENAI_API_KEY")
            && errors[0].0.contains("Incorrect API key"),
        "{errors:?}"
    );
    assert_eq!(server.requests().len(), 1);
    assert_eq!(run.state.ended.as_deref(), Some("brain failed"));
}

#[tokio::test]
async fn model_not_found_says_which_model() {
    let server = ModelServer::start(vec![Reply::raw(
        404,
        r#"{"error":{"message":"The model `gpt-test` does not exist"}}"#,
    )])
    .await;
    let run = run_demo(&server, approve).await;
    let errors = errors(&run);
    assert!(
        errors[0].0.contains("404 for model `gpt-test`"),
        "{errors:?}"
    );
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_retried_and_shown() {
    let mut limited = Reply::raw(429, r#"{"error":{"message":"Rate limit reached"}}"#);
    limited.headers.push(("retry-after", "0".into()));
    let server = ModelServer::start(vec![
        limited,
        Reply::raw(503, "upstream overloaded"),
        conclude_reply(&[]),
    ])
    .await;
    let run = run_demo(&server, approve).await;
    let errors = errors(&run);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].0.contains("429") && errors[0].0.contains("retrying in 0.0s") && errors[0].1);
    assert!(
        errors[1].0.contains("503") && errors[1].0.contains("upstream overloaded") && errors[1].1
    );
    assert!(run.state.conclusion.is_some());
}

#[tokio::test]
async fn giving_up_after_retries_is_a_clear_error() {
    let server = ModelServer::start(vec![
        Reply::raw(500, "boom"),
        Reply::raw(500, "boom"),
        Reply::raw(500, "boom"),
    ])
    .await;
    let run = run_demo(&server, approve).await;
    let errors = errors(&run);
    assert!(
        errors.last().unwrap().0.contains("gave up after 2 retries"),
        "{errors:?}"
    );
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn a_server_that_never_answers_fails_in_bounded_time_with_a_clear_message() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    // Accepts every connection, reads nothing, answers nothing.
    let _held = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let server = ModelServer::start(vec![]).await;
    let endpoint = Endpoint {
        base_url: format!("http://{address}/v1"),
        ..server.endpoint()
    };
    let started = std::time::Instant::now();
    let run = run_with(endpoint, approve).await;
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    let errors = errors(&run);
    assert!(
        errors[0].0.contains("sent no response within 0.7s") && errors[0].1,
        "{errors:?}"
    );
    assert!(
        errors.last().unwrap().0.contains("gave up after 2 retries"),
        "{errors:?}"
    );
    assert_eq!(run.state.ended.as_deref(), Some("brain failed"));
}

fn stalled_reply() -> Reply {
    let mut reply = Reply::sse(&[
        text("Partial thought that "),
        text("never ends"),
        call(0, "a", "metrics_rank", "{}"),
        finish("tool_calls"),
    ]);
    let stall_at = reply.body.len() / 2;
    reply.stall = Some((stall_at, Duration::from_secs(3)));
    reply
}

#[tokio::test]
async fn a_stall_mid_stream_is_asked_again_and_the_cut_reply_runs_nothing() {
    let server = ModelServer::start(vec![stalled_reply(), conclude_reply(&[])]).await;
    let run = run_demo(&server, approve).await;
    let errors = errors(&run);
    assert!(
        errors[0].0.contains("stalled") && errors[0].0.contains("asking again") && errors[0].1,
        "{errors:?}"
    );
    assert!(run.state.calls.is_empty(), "no half-received call runs");
    assert!(
        run.file_text.contains("Partial"),
        "the partial text is recorded"
    );
    assert!(run.state.conclusion.is_some(), "the retry's reply is used");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn a_stream_cut_every_time_gives_up_with_a_clear_error() {
    let server = ModelServer::start(vec![stalled_reply(), stalled_reply(), stalled_reply()]).await;
    let run = run_demo(&server, approve).await;
    let errors = errors(&run);
    assert_eq!(errors.iter().filter(|e| e.1).count(), 2, "{errors:?}");
    let last = &errors.last().unwrap().0;
    assert!(
        last.contains("gave up after 2 retries") && last.contains("partial"),
        "{errors:?}"
    );
    assert!(run.state.calls.is_empty());
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn a_disconnect_mid_stream_is_reported() {
    let mut reply = Reply::sse(&[
        text("Starting to look "),
        text("at the metrics"),
        call(0, "a", "metrics_rank", "{}"),
        finish("tool_calls"),
    ]);
    reply.cut = Some(reply.body.len() / 2);
    let server = ModelServer::start(vec![reply]).await;
    let run = run_demo(&server, approve).await;
    let errors = errors(&run);
    assert!(
        errors[0].0.contains("the stream broke") || errors[0].0.contains("closed mid-stream"),
        "{errors:?}"
    );
    assert!(run.state.calls.is_empty());
}

#[tokio::test]
async fn a_stream_that_ends_without_finishing_is_reported() {
    let body = format!(
        "data: {}\n\ndata: {}\n\n",
        text("half"),
        call(0, "a", "metrics_rank", "{\"top\"")
    );
    let reply = Reply {
        status: 200,
        headers: vec![("content-type", "text/event-stream".into())],
        body: body.into_bytes(),
        piece: 3,
        stall: None,
        cut: None,
    };
    let server = ModelServer::start(vec![reply]).await;
    let run = run_demo(&server, approve).await;
    assert!(errors(&run)[0].0.contains("closed mid-stream"));
    assert!(run.state.calls.is_empty());
}

#[tokio::test]
async fn a_malformed_chunk_is_skipped_and_an_error_chunk_ends_the_turn() {
    let mut reply = Reply::sse(&[
        text("ok "),
        text("still ok"),
        call(
            0,
            "x",
            "conclude",
            "{\"root_cause\": \"r\", \"confidence\": 0.5, \"evidence\": []}",
        ),
        finish("tool_calls"),
    ]);
    let body = String::from_utf8(reply.body).unwrap().replacen(
        "data: {",
        "data: {not json}\n\ndata: {",
        2,
    );
    reply.body = body.into_bytes();
    let server = ModelServer::start(vec![reply]).await;
    let run = run_demo(&server, approve).await;
    let problems = errors(&run);
    assert!(
        problems
            .iter()
            .any(|(m, retried)| m.contains("skipped a malformed chunk") && !retried),
        "{problems:?}"
    );
    assert!(run.state.conclusion.is_some());

    let server = ModelServer::start(vec![Reply::sse(&[
        text("thinking"),
        json!({"error": {"message": "Overloaded", "type": "overloaded_error"}}),
    ])])
    .await;
    let overloaded = run_demo(&server, approve).await;
    assert!(
        errors(&overloaded)[0]
            .0
            .contains("error mid-stream: Overloaded")
    );
}

#[tokio::test]
async fn an_unreachable_server_is_retried_then_named() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let server = ModelServer {
        base_url: format!("http://127.0.0.1:{port}/v1"),
        script: Arc::new(Mutex::new(Script::default())),
    };
    let run = run_demo(&server, approve).await;
    let errors = errors(&run);
    assert_eq!(
        errors.iter().filter(|(_, retried)| *retried).count(),
        2,
        "{errors:?}"
    );
    assert!(
        errors.last().unwrap().0.contains("cannot reach openai"),
        "{errors:?}"
    );
}

fn anthropic_endpoint(server: &ModelServer) -> Endpoint {
    Endpoint {
        provider: "anthropic".into(),
        dialect: Dialect::Anthropic,
        base_url: server.base_url.trim_end_matches("/v1").to_string(),
        model: "claude-test".into(),
        api_key: Some("sk-ant-test".into()),
        api_key_env: Some("ANTHROPIC_API_KEY".into()),
        ..server.endpoint()
    }
}

fn block(index: u64, content: Value) -> (&'static str, Value) {
    (
        "content_block_start",
        json!({"type": "content_block_start", "index": index, "content_block": content}),
    )
}

fn delta(index: u64, delta: Value) -> (&'static str, Value) {
    (
        "content_block_delta",
        json!({"type": "content_block_delta", "index": index, "delta": delta}),
    )
}

fn stop(index: u64) -> (&'static str, Value) {
    (
        "content_block_stop",
        json!({"type": "content_block_stop", "index": index}),
    )
}

fn message_end(reason: &str) -> [(&'static str, Value); 2] {
    [
        (
            "message_delta",
            json!({"type": "message_delta", "delta": {"stop_reason": reason}, "usage": {"output_tokens": 42}}),
        ),
        ("message_stop", json!({"type": "message_stop"})),
    ]
}

#[tokio::test]
async fn anthropic_tool_use_thinking_signatures_and_merged_user_turns() {
    let mut first = vec![
        (
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_1", "usage": {"input_tokens": 300}}}),
        ),
        block(0, json!({"type": "thinking", "thinking": ""})),
        delta(
            0,
            json!({"type": "thinking_delta", "thinking": "Check the metrics → first."}),
        ),
        delta(
            0,
            json!({"type": "signature_delta", "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3h"}),
        ),
        stop(0),
        ("ping", json!({"type": "ping"})),
        block(1, json!({"type": "text", "text": ""})),
        delta(
            1,
            json!({"type": "text_delta", "text": "Ranking the series."}),
        ),
        stop(1),
        block(
            2,
            json!({"type": "tool_use", "id": "toolu_01", "name": "metrics_rank", "input": {}}),
        ),
        delta(
            2,
            json!({"type": "input_json_delta", "partial_json": "{\"to"}),
        ),
        delta(
            2,
            json!({"type": "input_json_delta", "partial_json": "p\": 4}"}),
        ),
        stop(2),
    ];
    first.extend(message_end("tool_use"));
    let conclude =
        json!({"root_cause": "payments", "confidence": 0.7, "evidence": ["c1"]}).to_string();
    let mut second = vec![
        block(
            0,
            json!({"type": "tool_use", "id": "toolu_02", "name": "conclude", "input": {}}),
        ),
        delta(
            0,
            json!({"type": "input_json_delta", "partial_json": conclude}),
        ),
        stop(0),
    ];
    second.extend(message_end("tool_use"));
    let server =
        ModelServer::start(vec![Reply::anthropic(&first), Reply::anthropic(&second)]).await;
    let run = run_with(anthropic_endpoint(&server), approve).await;
    assert_eq!(run.state.session.brain, "anthropic:claude-test");
    assert_eq!(run.state.calls[0].args, json!({"top": 4}));
    assert_eq!(run.state.conclusion.as_ref().unwrap().evidence, ["c1"]);
    assert_eq!((run.state.input_tokens, run.state.output_tokens), (300, 84));
    let reasoning = streamed(&run, true);
    assert_eq!(reasoning, "Check the metrics → first.");
    assert!(
        !run.file_text.contains("EqQBCgIYAhIM1gbcDa9GJwZA2b3h"),
        "signatures are not recorded"
    );

    let requests = server.requests();
    let (headers, first_body) = &requests[0];
    assert_eq!(headers["x-api-key"], "sk-ant-test");
    assert_eq!(headers["anthropic-version"], "2023-06-01");
    assert!(
        first_body["system"]
            .as_str()
            .unwrap()
            .starts_with("You are hunch")
    );
    assert_eq!(first_body["tools"][0]["input_schema"]["type"], "object");
    let second_body = &requests[1].1;
    let messages = second_body["messages"].as_array().unwrap();
    let roles: Vec<&str> = messages
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles,
        ["user", "assistant", "user"],
        "user turns are merged so roles alternate"
    );
    let assistant = &messages[1]["content"];
    assert_eq!(
        assistant[0],
        json!({"type": "thinking", "thinking": "Check the metrics → first.", "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3h"}),
        "thinking goes back unchanged"
    );
    assert_eq!(
        assistant[2],
        json!({"type": "tool_use", "id": "c1", "name": "metrics_rank", "input": {"top": 4}})
    );
    let user = messages[2]["content"].as_array().unwrap();
    assert_eq!(user[0]["type"], "tool_result");
    assert_eq!(user[0]["tool_use_id"], "c1");
    assert!(
        user.last().unwrap()["text"]
            .as_str()
            .unwrap()
            .contains("The board")
    );
}

#[tokio::test]
async fn anthropic_error_event_mid_stream_with_http_200() {
    let server = ModelServer::start(vec![Reply::anthropic(&[
        ("message_start", json!({"type": "message_start", "message": {"usage": {"input_tokens": 10}}})),
        block(0, json!({"type": "text", "text": ""})),
        delta(0, json!({"type": "text_delta", "text": "Starting"})),
        ("error", json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})),
    ])])
    .await;
    let run = run_with(anthropic_endpoint(&server), approve).await;
    let errors = errors(&run);
    assert!(
        errors[0].0.contains("overloaded_error: Overloaded") && errors[0].1,
        "retried like a 5xx: {errors:?}"
    );
    assert!(run.file_text.contains("Starting"));
}

#[tokio::test]
async fn secrets_in_tool_output_are_redacted_before_the_next_request() {
    let mut bundle = hunch::bundle::Bundle::demo();
    bundle.logs.push(hunch::bundle::LogLine {
        ts: chrono::DateTime::parse_from_rfc3339("2026-11-24T02:31:00Z").unwrap().into(),
        level: "ERROR".into(),
        service: "payments".into(),
        message: "pool reconnect to postgres://payments:hunter2pw@orders-db:5432/shop failed; api_key=sk-live-abcdefghijklmnopqrst".into(),
    });
    bundle.logs.push(hunch::bundle::LogLine {
        ts: chrono::DateTime::parse_from_rfc3339("2026-11-24T02:31:01Z")
            .unwrap()
            .into(),
        level: "ERROR".into(),
        service: "payments".into(),
        message: "\u{1b}]0;owned\u{7}loaded wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY \u{202e}ok"
            .into(),
    });
    bundle.events.push(hunch::bundle::ChangeEvent {
        time: chrono::DateTime::parse_from_rfc3339("2026-11-24T02:30:00Z")
            .unwrap()
            .into(),
        kind: "config".into(),
        service: "payments".into(),
        detail: "set aws_secret_access_key=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789/+ab".into(),
        ..Default::default()
    });
    bundle.incident.title.push_str(" \u{1b}[2J\u{202e}");
    let server = ModelServer::start(vec![
        Reply::sse(&[
            call(
                0,
                "a",
                "kubectl",
                "{\"command\": \"kubectl logs deploy/payments -n shop --tail 2\"}",
            ),
            finish("tool_calls"),
        ]),
        conclude_reply(&["c1"]),
    ])
    .await;
    let run = run_full(server.endpoint(), bundle, Default::default(), approve).await;
    assert!(
        run.state.calls[0]
            .output
            .as_ref()
            .unwrap()
            .preview
            .contains("postgres://payments:[redacted:password]@orders-db"),
        "the screen and the session file show what was redacted, never the secret"
    );
    assert!(!run.file_text.contains("hunter2pw"));
    let second = serde_json::to_string(&server.requests()[1].1).unwrap();
    assert!(
        !second.contains("hunter2pw") && !second.contains("sk-live-abcdefghijklmnopqrst"),
        "{second}"
    );
    assert!(second.contains("postgres://payments:[redacted:password]@orders-db"));
    for (_, request) in server.requests() {
        let text = serde_json::to_string(&request).unwrap();
        for bad in [
            "wJalrXUtnFEMI",
            "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
            "\\u001b",
            "\\u0007",
            "\u{202e}",
        ] {
            assert!(!text.contains(bad), "a model request holds {bad:?}: {text}");
        }
    }
    assert!(run.state.redacted >= 2, "{}", run.state.redacted);
}

#[tokio::test]
async fn a_token_budget_stops_the_run_with_a_clear_message() {
    let server = ModelServer::start(vec![
        Reply::sse(&[
            text("Looking."),
            call(0, "a", "metrics_rank", "{}"),
            finish("tool_calls"),
            usage(450, 100),
        ]),
        conclude_reply(&["c1"]),
    ])
    .await;
    let budget = hunch::event::Budget {
        max_tokens: Some(500),
        price_per_mtok: Some((2.0, 8.0)),
        ..Default::default()
    };
    let run = run_full(
        server.endpoint(),
        hunch::bundle::Bundle::demo(),
        budget,
        approve,
    )
    .await;
    assert_eq!(
        run.state.ended.as_deref(),
        Some("budget reached: 550 of 500 tokens used (--max-tokens)")
    );
    assert!(run.state.conclusion.is_none());
    assert_eq!(
        server.requests().len(),
        1,
        "no request after the budget is used up"
    );
    assert_eq!(
        run.state
            .session
            .budget
            .cost(run.state.input_tokens, run.state.output_tokens),
        Some(0.0017)
    );
}

#[tokio::test]
async fn models_check_reports_what_each_endpoint_says() {
    use hunch::brain::llm::providers::check;
    let server = ModelServer::start(vec![]).await;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    assert_eq!(
        check(&client, &server.endpoint()).await.unwrap(),
        "answers: 2 models (gpt-test, claude-test…)"
    );
    assert_eq!(
        check(&client, &anthropic_endpoint(&server)).await.unwrap(),
        "answers: 2 models (gpt-test, claude-test…)"
    );
    let keyless = Endpoint {
        api_key: None,
        ..server.endpoint()
    };
    assert_eq!(
        check(&client, &keyless).await.unwrap_err().to_string(),
        "401 Unauthorized ($OPENAI_API_KEY is not set) missing key"
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = Endpoint {
        base_url: format!("http://127.0.0.1:{port}/v1"),
        ..server.endpoint()
    };
    let err = check(&client, &down).await.unwrap_err().to_string();
    assert!(
        err.starts_with("unreachable:") && err.to_lowercase().contains("connection refused"),
        "{err}"
    );
}

/// The engineer approves risky calls and types a password when asked.
fn approve_and_supply(event: &Event, state: &State, handle: &hunch::engine::EngineHandle) {
    if let EventKind::CredentialRequested { id, .. } = &event.kind {
        handle.send(Command::SupplyCredential {
            id: id.clone(),
            secret: hunch::tools::Secret::new("demo-password".into()),
        });
    }
    approve(event, state, handle);
}

fn notices(run: &Run) -> Vec<String> {
    run.events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Notice { text } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn calls_written_in_the_text_run_like_native_ones() {
    let conclude = json!({"name": "conclude", "arguments": {"root_cause": "payments 2.14.0 holds sessions", "confidence": 0.7, "evidence": ["c1", "c2"]}});
    let server = ModelServer::start(vec![
        Reply::sse(&[
            text("Let me rank the metrics.\n```json\n{\"name\": \"metrics_rank\", "),
            text("\"arguments\": {\"top\": 5}}\n```"),
            finish("stop"),
        ]),
        Reply::sse(&[
            text("<tool_call>{\"name\": \"change_events\", \"arguments\": {}}</tool_call>"),
            finish("stop"),
        ]),
        Reply::sse(&[text("Bad: metrics_rank(top=\"many\")"), finish("stop")]),
        Reply::sse(&[text(&format!("Done. {conclude}")), finish("stop")]),
    ])
    .await;
    let run = run_demo(&server, approve).await;
    let calls: Vec<(&str, CallOutcome)> = run
        .state
        .calls
        .iter()
        .map(|c| {
            let outcome = match c.status {
                CallStatus::Finished(outcome) => outcome,
                _ => CallOutcome::Cancelled,
            };
            (c.tool.as_str(), outcome)
        })
        .collect();
    assert_eq!(
        calls,
        [
            ("metrics_rank", CallOutcome::Ok),
            ("change_events", CallOutcome::Ok),
            ("metrics_rank", CallOutcome::Failed),
        ],
        "a call written as text is schema-checked like a native one"
    );
    assert_eq!(run.state.calls[0].args, json!({"top": 5}));
    assert!(
        run.state.calls[0].rationale.contains("```json block"),
        "{}",
        run.state.calls[0].rationale
    );
    let conclusion = run.state.conclusion.clone().expect("concluded");
    assert_eq!(conclusion.evidence, ["c1", "c2"]);
    // The rejected call went back to the model as an error it could correct.
    let fourth = serde_json::to_string(&server.requests()[3].1).unwrap();
    assert!(
        fourth.contains("invalid arguments for `metrics_rank`"),
        "{fourth}"
    );
}

#[tokio::test]
async fn an_idle_model_is_nudged_then_the_offline_brain_carries_the_investigation() {
    let chat = || {
        Reply::sse(&[
            text("The checkout service seems slow. I would look at the database."),
            finish("stop"),
        ])
    };
    let server = ModelServer::start(vec![chat(), chat(), chat(), chat()]).await;
    let run = run_demo(&server, approve_and_supply).await;

    let requests = server.requests();
    assert_eq!(
        requests.len(),
        3,
        "asked three times, then the offline brain took over"
    );
    assert!(requests[0].1.get("tool_choice").is_none());
    let nudged = messages(&requests[1].1);
    let last = nudged.last().unwrap();
    assert_eq!(last["role"], "user");
    let nudge = last["content"].as_str().unwrap();
    assert!(nudge.contains("strike 1 of 3"), "{nudge}");
    assert!(nudge.contains("Tools you may call:"), "{nudge}");
    assert!(nudge.contains("- metrics_rank:"), "{nudge}");
    assert!(nudge.contains("Suggested next step: call "), "{nudge}");
    assert!(
        nudged.iter().any(
            |m| m["role"] == "assistant" && m["content"].as_str().unwrap().contains("database")
        ),
        "the idle answer is part of the conversation"
    );
    let forced = &requests[1].1["tool_choice"]["function"]["name"];
    assert!(
        forced.is_string(),
        "the suggested tool is required: {forced}"
    );
    assert!(
        messages(&requests[2].1).last().unwrap()["content"]
            .as_str()
            .unwrap()
            .contains("strike 2 of 3")
    );

    let notices = notices(&run);
    assert!(
        notices
            .iter()
            .any(|n| n.starts_with("Hand-over: openai:gpt-test made no progress in 3 turns")),
        "{notices:?}"
    );
    assert!(
        notices
            .iter()
            .any(|n| n.contains("This conclusion is the offline evidence pipeline's")),
        "{notices:?}"
    );
    let conclusion = run
        .state
        .conclusion
        .clone()
        .expect("the investigation concluded");
    assert!(!conclusion.evidence.is_empty(), "{conclusion:?}");
    assert!(
        run.state.calls.iter().any(|c| c.tool == "metrics_rank"),
        "the offline pipeline took its snapshot"
    );
    assert!(
        streamed(&run, false).contains("I would look at the database"),
        "the model's text is kept as commentary"
    );
    assert_eq!(run.state.session.brain, "openai:gpt-test");
}

#[tokio::test]
async fn a_model_that_repeats_itself_is_nudged_and_handed_over() {
    let same = || Reply::sse(&[call(0, "x", "change_events", "{}"), finish("tool_calls")]);
    let server = ModelServer::start(vec![same(), same(), same(), same(), same()]).await;
    let run = run_demo(&server, approve_and_supply).await;
    let requests = server.requests();
    assert!(requests.len() <= 4, "{} requests", requests.len());
    let text = serde_json::to_string(&requests[2].1).unwrap();
    assert!(text.contains("strike"), "{text}");
    assert!(
        notices(&run).iter().any(|n| n.starts_with("Hand-over:")),
        "{:?}",
        notices(&run)
    );
    // The pipeline took its own snapshot, reusing the model's identical call rather than
    // asking it again, and reached the demo's root cause.
    let ok_change_events = run
        .state
        .calls
        .iter()
        .filter(|c| c.tool == "change_events" && c.status == CallStatus::Finished(CallOutcome::Ok))
        .count();
    assert_eq!(ok_change_events, 1);
    let conclusion = run.state.conclusion.clone().expect("concluded");
    assert!(
        conclusion.root_cause.contains("payments"),
        "{}",
        conclusion.root_cause
    );
}

/// A unique tool output of about 5.7 KB (under the 6 KB an output is cut to): what a long session's `read_output` pages bring.
fn page(turn: usize) -> String {
    (0..60)
        .map(|l| format!("2026-11-25T02:{:02}:{:02}Z ERROR payments turn {turn} line {l}: connection pool exhausted waiting 5000ms\n", turn % 60, l % 60))
        .collect()
}

#[tokio::test]
async fn a_200_turn_session_never_sends_more_than_the_window() {
    use hunch::brain::{Brain, BrainContext, BrainItem, HistoryItem};
    const WINDOW: u64 = 8192;
    const TURNS: usize = 200;
    let replies = (1..=TURNS)
        .map(|i| {
            let args = json!({"id": "c1", "start_line": i * 80, "end_line": i * 80 + 80});
            Reply::sse(&[
                text(&format!("Reading page {i}.")),
                call(0, "x", "read_output", &args.to_string()),
                finish("tool_calls"),
            ])
        })
        .collect();
    let server = ModelServer::start(replies).await;
    let endpoint = Endpoint {
        provider: "llamacpp".into(),
        context_window: Some(WINDOW),
        ..server.endpoint()
    };
    let mut brain = LlmBrain::new(endpoint, Default::default()).unwrap();
    let env = hunch::tools::demo::DemoEnv::new(hunch::bundle::Bundle::demo());
    let mut tools = hunch::tools::demo::demo_registry(&env).specs();
    tools.extend(hunch::brain::engine_tool_specs());
    for t in &tools {
        eprintln!(
            "TOOLSIZE {} {} {}",
            t.name,
            t.description.len(),
            t.parameters.to_string().len()
        );
    }
    let mut history: Vec<HistoryItem> = Vec::new();
    let mut notices = Vec::new();
    let mut uncompacted = 0;
    for turn in 1..=TURNS {
        let ctx = BrainContext {
            incident: hunch::brain::IncidentBrief {
                title: "checkout p99 above 2s".into(),
                alert: "checkout p99 > 2s since 02:10".into(),
                ..Default::default()
            },
            tools: tools.clone(),
            history: history.clone(),
            board: vec![],
            turn: turn as u32,
        };
        uncompacted = hunch::brain::llm::openai::request_body(
            "gpt-test",
            &hunch::brain::llm::conversation::build(&ctx),
            &ctx.tools,
        )
        .to_string()
        .len();
        let items: Vec<_> = futures::StreamExt::collect(brain.turn(ctx)).await;
        let mut said = String::new();
        let mut called = None;
        for item in items {
            match item.expect("the turn succeeded") {
                BrainItem::Message(t) => said.push_str(&t),
                BrainItem::Call(c) => called = Some(c),
                BrainItem::Notice(n) => notices.push(n),
                _ => {}
            }
        }
        let called = called.expect("every turn makes a call");
        assert_eq!(called.tool, "read_output", "turn {turn}: no hand-over");
        history.push(HistoryItem::Said {
            reasoning: String::new(),
            text: said,
            opaque: vec![],
        });
        history.push(HistoryItem::ToolResult {
            id: format!("c{turn}"),
            tool: called.tool,
            args: called.args,
            command: "read_output".into(),
            outcome: CallOutcome::Ok,
            output: page(turn),
            error: None,
            raw: None,
        });
    }
    let requests = server.requests();
    assert_eq!(requests.len(), TURNS);
    let sizes: Vec<usize> = requests
        .iter()
        .map(|(_, body)| serde_json::to_vec(body).unwrap().len())
        .collect();
    let largest = *sizes.iter().max().unwrap();
    let budget = hunch::brain::llm::budget::request_budget(WINDOW);
    let bytes_per_token = hunch::brain::llm::budget::BYTES_PER_TOKEN;
    println!(
        "200 turns: largest request {largest} bytes (~{} tokens; budget {budget} of a {WINDOW}-token window); the last request uncompacted would be {uncompacted} bytes (~{} tokens)",
        largest.div_ceil(bytes_per_token),
        uncompacted.div_ceil(bytes_per_token)
    );
    assert!(
        largest.div_ceil(bytes_per_token) as u64 <= budget,
        "largest request {largest} bytes"
    );
    assert!(
        uncompacted > 20 * largest / 2,
        "the session really outgrew the window ({uncompacted} bytes uncompacted)"
    );
    let last = serde_json::to_string(&requests[TURNS - 1].1).unwrap();
    assert!(last.contains("Summary of the"), "older turns summarised");
    assert!(
        last.contains(&format!("turn {} line 59", TURNS - 1)),
        "the newest output is kept whole"
    );
    assert!(
        notices.iter().any(|n| n.starts_with("context budget:")),
        "{notices:?}"
    );
}
