//! LLM brains: any OpenAI-compatible server (OpenAI, Ollama, vLLM, llama.cpp, LM Studio,
//! OpenRouter, DeepSeek, Azure-style endpoints) and Anthropic.
//!
//! One turn is one streamed request. The conversation is rebuilt from the session history
//! every turn ([`conversation`]), so a human edit or a denial is simply part of what the
//! model reads next. Streamed chunks go through the dialect's assembler (quirks live
//! there) and come out as the same [`BrainItem`]s the offline brain produces: the engine
//! can't tell the brains apart, and neither can the gate.
//!
//! Failures are the normal case: 429 and 5xx and connection errors are retried with
//! exponential backoff (`backon`, honouring `Retry-After`), each retry shown on screen; a
//! stream that stalls, breaks or closes early ends the turn with a clear error, keeping
//! the text already streamed (recorded as partial) and running none of its half-received
//! tool calls; a malformed chunk is skipped and reported.
//!
//! Weak models are the normal case too ([`steward`]): calls a model writes in its text are
//! read ([`textcalls`]) and checked by the engine like native ones; a turn that adds no
//! evidence is a strike, answered with a nudge (and a required tool), and after three the
//! offline brain's plan drives the session, said on screen. Every request is fitted to the
//! model's window ([`budget`]), and the confidence of a model's board and conclusion calls
//! is grounded in what they cite ([`grounding`]).

mod anthropic;
pub mod budget;
pub mod conversation;
mod grounding;
pub mod openai;
pub mod providers;
mod redact;
mod steward;
pub mod textcalls;
mod think;

use super::{Brain, BrainContext, BrainError, BrainItem, HistoryItem};
use backon::BackoffBuilder;
use eventsource_stream::Eventsource;
use futures::StreamExt;
use futures::stream::BoxStream;
use reqwest::StatusCode;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Which wire format a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// OpenAI Chat Completions: `<base_url>/chat/completions`, `Authorization: Bearer`.
    OpenAi,
    /// Anthropic Messages: `<base_url>/v1/messages`, `x-api-key`, `anthropic-version`.
    Anthropic,
}

/// Where and how to reach a model.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The preset or configured provider name (`openai`, `ollama`, …).
    pub provider: String,
    pub dialect: Dialect,
    /// e.g. `https://api.openai.com/v1` (OpenAI dialect) or `https://api.anthropic.com`.
    pub base_url: String,
    pub model: String,
    pub api_key: Option<String>,
    /// The variable the key comes from, named in error messages.
    pub api_key_env: Option<String>,
    pub headers: Vec<(String, String)>,
    pub connect_timeout: Duration,
    /// The longest silence allowed: before the response headers, and between two
    /// chunks of a stream.
    pub stall_timeout: Duration,
    /// The longest a whole reply may take, from sending the request to its last chunk.
    pub reply_timeout: Duration,
    pub max_retries: usize,
    /// Dollars per million (input, output) tokens, when configured.
    pub price_per_mtok: Option<(f64, f64)>,
    /// The model's context window in tokens, when configured; otherwise the server's
    /// declared one, else [`budget::default_window`].
    pub context_window: Option<u64>,
}

impl Endpoint {
    pub fn label(&self) -> String {
        format!("{}:{}", self.provider, self.model)
    }
}

#[derive(Clone)]
pub struct LlmBrain {
    endpoint: Arc<Endpoint>,
    client: reqwest::Client,
    redactor: Arc<crate::redact::Redactor>,
    course: Arc<std::sync::Mutex<Course>>,
    sample: Option<Sample>,
}

/// How one of several runs samples the model (`--runs N`): sent with every request, so
/// runs of the same incident draw different answers from the same evidence.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// OpenAI-style servers only (llama.cpp, vLLM, Ollama and OpenAI take it).
    pub seed: u64,
    pub temperature: f32,
}

/// How the model is doing, carried from turn to turn (see [`steward`]).
#[derive(Debug, Clone, Default)]
struct Course {
    /// Idle, invalid or looping turns in a row.
    strikes: u32,
    /// The verdict behind the last strike.
    last: Option<steward::Verdict>,
    /// How much of the history the previous turn had seen.
    seen: usize,
    /// The offline evidence pipeline drives the session from here on: the length of the
    /// history when it took over.
    handed_over: Option<usize>,
    /// The model's window, once known (configured, declared by the server, or named in
    /// its error); `None` before the first turn asked.
    window: Option<u64>,
    /// The compaction step the last request needed (said on screen when it grows).
    step: usize,
    /// The last turn's calls were made under a required tool (after a nudge): their
    /// progress is the steward's, not the model's, and clears no strike.
    forced: bool,
}

impl LlmBrain {
    pub fn new(
        endpoint: Endpoint,
        redactor: Arc<crate::redact::Redactor>,
    ) -> Result<LlmBrain, BrainError> {
        // reqwest is built without a TLS backend of its own: it uses the ring provider
        // (a no-op once installed).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .connect_timeout(endpoint.connect_timeout)
            .build()
            .map_err(|e| BrainError::Failed(format!("cannot create the HTTP client: {e}")))?;
        Ok(LlmBrain {
            endpoint: Arc::new(endpoint),
            client,
            redactor,
            course: Arc::default(),
            sample: None,
        })
    }

    /// This brain with every request sampled as `sample` says.
    pub fn with_sample(mut self, sample: Sample) -> LlmBrain {
        self.sample = Some(sample);
        self
    }
}

impl Brain for LlmBrain {
    fn name(&self) -> String {
        self.endpoint.label()
    }

    fn turn(&mut self, context: BrainContext) -> BoxStream<'static, Result<BrainItem, BrainError>> {
        let brain = self.clone();
        on_its_own_task(move |sink| async move {
            steered_turn(&brain.talk(), &brain.course, &context, &sink).await
        })
    }

    fn answer(
        &mut self,
        context: BrainContext,
        question: &str,
    ) -> BoxStream<'static, Result<BrainItem, BrainError>> {
        let brain = self.clone();
        let question = question.to_string();
        on_its_own_task(move |sink| async move {
            answer_turn(&brain.talk(), &brain.course, &context, &question, &sink).await
        })
    }
}

impl LlmBrain {
    /// What one request needs of this brain.
    fn talk(&self) -> Talk<'_> {
        Talk {
            client: &self.client,
            endpoint: &self.endpoint,
            redactor: &self.redactor,
            sample: self.sample,
        }
    }
}

/// A turn run on a task of its own, its items streamed as they come; an error that ends
/// it is the stream's last item.
fn on_its_own_task<Turn, Run>(turn: Turn) -> BoxStream<'static, Result<BrainItem, BrainError>>
where
    Turn: FnOnce(Sink) -> Run,
    Run: std::future::Future<Output = Result<(), BrainError>> + Send + 'static,
{
    let (tx, rx) = mpsc::unbounded_channel();
    let run = turn(Sink(tx.clone()));
    tokio::spawn(async move {
        if let Err(e) = run.await {
            let _ = tx.send(Err(e));
        }
    });
    futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    })
    .boxed()
}

/// What the model is asked after the record when the engineer asks a follow-up question.
fn follow_up_prompt(question: &str) -> String {
    format!(
        "Follow-up question from the engineer, after the investigation: {question}\n\nAnswer from the record above only; do not investigate further. Call `{}` with your answer and the ids of the tool calls (c1, c2, …) it rests on. If the record does not tell, say so.",
        super::ANSWER
    )
}

/// A follow-up question: one request with the whole record, the question and only the
/// `answer` tool (required on OpenAI-style servers); an answer written as text is kept
/// as text (the engine reads the call ids it names).
async fn answer_turn(
    talk: &Talk<'_>,
    course: &std::sync::Mutex<Course>,
    ctx: &BrainContext,
    question: &str,
    sink: &Sink,
) -> Result<(), BrainError> {
    let mut state = course.lock().map(|c| c.clone()).unwrap_or_default();
    if state.window.is_none() {
        state.window = Some(window_of(talk).await);
    }
    let prompt = follow_up_prompt(question);
    let asked = Asked {
        extra: &[],
        nudge: Some(&prompt),
        forced: Some(super::ANSWER),
    };
    let reply = run_turn(talk, ctx, &asked, &mut state, sink).await?;
    let calls = if reply.calls.is_empty() {
        textcalls::extract(&reply.text, &[super::ANSWER])
    } else {
        reply.calls
    };
    if let Some(call) = calls.into_iter().find(|c| c.tool == super::ANSWER) {
        sink.send(BrainItem::Call(call))?;
    }
    if let Ok(mut shared) = course.lock() {
        shared.window = state.window;
    }
    Ok(())
}

/// Sends items to the engine; a closed channel means the turn was interrupted.
struct Sink(mpsc::UnboundedSender<Result<BrainItem, BrainError>>);

impl Sink {
    fn send(&self, item: BrainItem) -> Result<(), BrainError> {
        self.0
            .send(Ok(item))
            .map_err(|_| BrainError::Failed("the turn was interrupted".into()))
    }
}

fn describe_status(status: StatusCode, body: &str, endpoint: &Endpoint) -> String {
    let detail = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| body.chars().take(200).collect());
    match status.as_u16() {
        401 | 403 => {
            let key = match &endpoint.api_key_env {
                Some(var) if endpoint.api_key.is_some() => format!("check the key in ${var}"),
                Some(var) => format!("${var} is not set"),
                None => "this provider has no API key configured".into(),
            };
            format!(
                "{} {status} from {}: {key} ({detail})",
                endpoint.provider, endpoint.base_url
            )
        }
        404 => format!(
            "{} answered 404 for model `{}` at {}: {detail} (is the model name right? is the base URL the API root, e.g. …/v1?)",
            endpoint.provider, endpoint.model, endpoint.base_url
        ),
        _ => format!("{} {status}: {detail}", endpoint.provider),
    }
}

/// An error with its causes ("… : connection refused"), as people need to read it.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| Duration::from_secs_f64(s.min(120.0)))
}

/// Send the request, retrying what is worth retrying; returns the streaming response.
async fn connect(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    body: &Value,
    sink: &Sink,
    delays: &mut impl Iterator<Item = Duration>,
) -> Result<reqwest::Response, BrainError> {
    let base = endpoint.base_url.trim_end_matches('/');
    let url = match endpoint.dialect {
        Dialect::OpenAi => format!("{base}/chat/completions"),
        Dialect::Anthropic => format!("{base}/v1/messages"),
    };
    loop {
        let mut request = client.post(&url).json(body);
        request = match (endpoint.dialect, &endpoint.api_key) {
            (Dialect::OpenAi, Some(key)) => request.bearer_auth(key),
            (Dialect::Anthropic, key) => {
                let request = request.header("anthropic-version", "2023-06-01");
                match key {
                    Some(key) => request.header("x-api-key", key),
                    None => request,
                }
            }
            (Dialect::OpenAi, None) => request,
        };
        for (name, value) in &endpoint.headers {
            request = request.header(name, value);
        }
        let sent = tokio::time::timeout(endpoint.stall_timeout, request.send()).await;
        let (message, wait) = match sent {
            Err(_) => (
                format!(
                    "{} at {url} sent no response within {}s",
                    endpoint.provider,
                    endpoint.stall_timeout.as_secs_f64()
                ),
                None,
            ),
            Ok(sent) => match sent {
                Ok(response) if response.status().is_success() => return Ok(response),
                Ok(response) => {
                    let status = response.status();
                    let wait = retry_after(response.headers());
                    let text = response.text().await.unwrap_or_default();
                    let message = describe_status(status, &text, endpoint);
                    if status != StatusCode::TOO_MANY_REQUESTS && !status.is_server_error() {
                        return Err(BrainError::Failed(message));
                    }
                    (message, wait)
                }
                Err(e) if e.is_connect() || e.is_timeout() => (
                    format!(
                        "cannot reach {} at {url}: {}",
                        endpoint.provider,
                        error_chain(&e)
                    ),
                    None,
                ),
                Err(e) => {
                    return Err(BrainError::Failed(format!(
                        "request to {url} failed: {}",
                        error_chain(&e)
                    )));
                }
            },
        };
        let Some(backoff) = delays.next() else {
            return Err(BrainError::Failed(format!(
                "{message} (gave up after {} retries)",
                endpoint.max_retries
            )));
        };
        let delay = wait.unwrap_or(backoff);
        sink.send(BrainItem::Problem {
            message: format!("{message}; retrying in {:.1}s", delay.as_secs_f64()),
            retrying: true,
        })?;
        tokio::time::sleep(delay).await;
    }
}

/// Collect the visible text of a reply (where calls written as text are looked for).
fn keep_text(text: &mut String, delta: &openai::Delta) {
    if let openai::Delta::Text(t) = delta {
        text.push_str(t);
    }
}

fn item_of(delta: openai::Delta) -> BrainItem {
    match delta {
        openai::Delta::Reasoning(t) => BrainItem::Reasoning(t),
        openai::Delta::Text(t) => BrainItem::Message(t),
        openai::Delta::Usage { input, output } => BrainItem::Usage { input, output },
        openai::Delta::Opaque(v) => BrainItem::Opaque(v),
    }
}

/// An error the server reported mid-stream, in its dialect's terms.
#[derive(Debug, thiserror::Error)]
enum StreamError {
    #[error(transparent)]
    OpenAi(#[from] openai::StreamError),
    #[error(transparent)]
    Anthropic(#[from] anthropic::StreamError),
}

/// The dialect's assembler behind one interface.
enum Assembler {
    OpenAi(openai::Assembler),
    Anthropic(anthropic::Assembler),
}

impl Assembler {
    fn feed(&mut self, event: &str, chunk: &Value) -> Result<Vec<openai::Delta>, StreamError> {
        Ok(match self {
            Assembler::OpenAi(a) => a.feed(chunk)?,
            Assembler::Anthropic(a) => a.feed(event, chunk)?,
        })
    }

    fn finish_text(&mut self) -> Vec<openai::Delta> {
        match self {
            Assembler::OpenAi(a) => a.finish_text(),
            Assembler::Anthropic(_) => Vec::new(),
        }
    }

    /// Whether the server said the reply is complete.
    fn complete(&self, saw_done: bool) -> bool {
        match self {
            Assembler::OpenAi(a) => saw_done || a.finish_reason.is_some(),
            Assembler::Anthropic(a) => a.stopped,
        }
    }

    fn calls(&self) -> Vec<super::ProposedCall> {
        match self {
            Assembler::OpenAi(a) => a.calls(),
            Assembler::Anthropic(a) => a.calls(),
        }
    }
}

/// How reading one reply ended, when it did not end well.
enum Cut {
    /// The stream stalled, broke, closed early or the server reported an error in it:
    /// worth asking again.
    Retryable(String),
    /// The engine is gone, or the request itself can't succeed.
    Fatal(BrainError),
}

impl From<BrainError> for Cut {
    fn from(e: BrainError) -> Cut {
        Cut::Fatal(e)
    }
}

/// What talking to the model needs.
struct Talk<'a> {
    client: &'a reqwest::Client,
    endpoint: &'a Endpoint,
    redactor: &'a crate::redact::Redactor,
    sample: Option<Sample>,
}

/// What one complete reply held.
#[derive(Debug, Default)]
struct Collected {
    text: String,
    calls: Vec<super::ProposedCall>,
}

/// One turn under the [`steward`]: judge what the previous turn added, nudge after a
/// strike (suggesting, and on OpenAI-style servers requiring, the tool the evidence
/// pipeline would call next), read calls the model wrote in its text, re-ask an idle
/// model within the turn, and after [`steward::HANDOVER_AFTER`] strikes let the offline
/// brain's plan make the turn.
async fn steered_turn(
    talk: &Talk<'_>,
    course: &std::sync::Mutex<Course>,
    ctx: &BrainContext,
    sink: &Sink,
) -> Result<(), BrainError> {
    let mut state = course.lock().map(|c| c.clone()).unwrap_or_default();
    let seen = state.seen.min(ctx.history.len());
    let verdict = if seen == ctx.history.len() {
        steward::Verdict::Neutral
    } else {
        steward::judge(&ctx.history[..seen], &ctx.history[seen..])
    };
    match verdict {
        // Progress made under a required tool clears no strike, and the next turn is
        // the model's own, without a nudge.
        steward::Verdict::Progress if state.forced => state.last = None,
        steward::Verdict::Progress | steward::Verdict::Human => {
            state.strikes = 0;
            state.last = None;
        }
        v if v.strikes() => {
            state.strikes += 1;
            state.last = Some(v);
        }
        _ => {}
    }
    state.seen = ctx.history.len();
    if state.window.is_none() {
        state.window = Some(window_of(talk).await);
    }
    // A text answer to the engineer (a steer, an edit) or after the conclusion is an
    // answer, not idling.
    let may_just_talk = verdict == steward::Verdict::Human
        || ctx
            .history
            .iter()
            .any(|h| matches!(h, HistoryItem::Concluded { .. }));
    let result = converse(talk, &mut state, ctx, may_just_talk, sink).await;
    if let Ok(mut shared) = course.lock() {
        *shared = state;
    }
    result
}

async fn converse(
    talk: &Talk<'_>,
    state: &mut Course,
    ctx: &BrainContext,
    may_just_talk: bool,
    sink: &Sink,
) -> Result<(), BrainError> {
    let names: Vec<&str> = ctx.tools.iter().map(|t| t.name.as_str()).collect();
    let label = talk.endpoint.label();
    let mut extra: Vec<conversation::Turn> = Vec::new();
    loop {
        if state.handed_over.is_none() && state.strikes >= steward::HANDOVER_AFTER {
            state.handed_over = Some(ctx.history.len());
            sink.send(BrainItem::Notice(steward::handover_notice(
                &label,
                state.strikes,
            )))?;
            sink.send(BrainItem::HandedOver)?;
        }
        if let Some(at) = state.handed_over {
            return offline_turn(&label, steward::offline_plan(ctx, at), sink);
        }
        let nudge = match state.last.filter(|_| state.strikes > 0) {
            Some(verdict) => {
                let next = steward::suggestion(ctx);
                let text = steward::nudge(ctx, verdict, state.strikes, next.as_ref());
                sink.send(BrainItem::Notice(format!(
                    "{label} nudged (strike {} of {}): {}",
                    state.strikes,
                    steward::HANDOVER_AFTER,
                    match &next {
                        Some(call) => format!("suggested {} next", call.tool),
                        None => "reminded of the tools it may call".into(),
                    }
                )))?;
                Some((text, next.map(|c| c.tool)))
            }
            None => None,
        };
        let (nudge_text, forced) = match &nudge {
            Some((text, tool)) => (Some(text.as_str()), tool.as_deref()),
            None => (None, None),
        };
        let asked = Asked {
            extra: &extra,
            nudge: nudge_text,
            forced,
        };
        let reply = match run_turn(talk, ctx, &asked, state, sink).await {
            Err(BrainError::Failed(message)) => {
                // A server that names its window in a "too long" error is asked again
                // once, within that window.
                match budget::window_in_error(&message).filter(|n| Some(*n) < state.window) {
                    Some(window) => {
                        sink.send(BrainItem::Notice(format!(
                            "{label} has a context window of {window} tokens; the request is fitted to it and sent again"
                        )))?;
                        state.window = Some(window);
                        run_turn(talk, ctx, &asked, state, sink).await?
                    }
                    None => return Err(BrainError::Failed(message)),
                }
            }
            other => other?,
        };
        let calls = if reply.calls.is_empty() {
            textcalls::extract(&reply.text, &names)
        } else {
            reply.calls
        };
        if !calls.is_empty() {
            state.forced = forced.is_some();
            for call in calls {
                sink.send(BrainItem::Call(grounding::ground(call, &ctx.history)))?;
            }
            return Ok(());
        }
        if may_just_talk && extra.is_empty() {
            return Ok(());
        }
        // Idle: a strike, and asked again within this turn.
        state.strikes += 1;
        state.last = Some(steward::Verdict::Idle);
        if let Some(text) = nudge_text {
            extra.push(conversation::Turn::User(text.to_string()));
        }
        extra.push(conversation::Turn::Assistant(conversation::Message {
            text: reply.text,
            ..conversation::Message::default()
        }));
    }
}

/// A turn of the offline brain after the hand-over, said to be its own.
fn offline_turn(model: &str, plan: super::offline::Plan, sink: &Sink) -> Result<(), BrainError> {
    if !plan.reasoning.is_empty() {
        sink.send(BrainItem::Reasoning(plan.reasoning))?;
    }
    if plan.calls.iter().any(|c| c.tool == super::CONCLUDE) {
        sink.send(BrainItem::Notice(steward::concluded_by_offline(model)))?;
    }
    if !plan.message.is_empty() {
        sink.send(BrainItem::Message(plan.message))?;
    }
    for call in plan.calls {
        sink.send(BrainItem::Call(call))?;
    }
    Ok(())
}

/// Add a user turn, merged into the last one when that is a user turn too.
fn push_user(turns: &mut Vec<conversation::Turn>, text: &str) {
    match turns.last_mut() {
        Some(conversation::Turn::User(last)) => {
            last.push_str("\n\n");
            last.push_str(text);
        }
        _ => turns.push(conversation::Turn::User(text.to_string())),
    }
}

/// The model's window: configured, else declared by the server, else the default.
async fn window_of(talk: &Talk<'_>) -> u64 {
    let endpoint = talk.endpoint;
    if let Some(window) = endpoint.context_window {
        return window;
    }
    if endpoint.dialect == Dialect::Anthropic {
        return budget::default_window(&endpoint.provider);
    }
    let base = endpoint.base_url.trim_end_matches('/');
    let root = base.strip_suffix("/v1").unwrap_or(base);
    for url in [format!("{base}/models"), format!("{root}/props")] {
        let wait = endpoint.stall_timeout.min(Duration::from_secs(5));
        let mut request = talk.client.get(&url).timeout(wait);
        if let (Dialect::OpenAi, Some(key)) = (endpoint.dialect, &endpoint.api_key) {
            request = request.bearer_auth(key);
        }
        let Ok(response) = request.send().await else {
            continue;
        };
        if let Ok(answer) = response.json::<Value>().await
            && let Some(window) = budget::declared_window(&answer, &endpoint.model)
        {
            return window;
        }
    }
    budget::default_window(&endpoint.provider)
}

/// What one request adds to the conversation rebuilt from the history.
struct Asked<'a> {
    /// This turn's earlier idle replies and the nudges that followed them.
    extra: &'a [conversation::Turn],
    nudge: Option<&'a str>,
    /// The tool the model must call (after a strike).
    forced: Option<&'a str>,
}

/// The request body for `turns`, compacted until it fits the window (see [`budget`]);
/// a compaction deeper than the last request's is said on screen.
fn fitted_body(
    endpoint: &Endpoint,
    context: &BrainContext,
    turns: &[conversation::Turn],
    state: &mut Course,
    sink: &Sink,
) -> Result<Value, BrainError> {
    let window = state
        .window
        .unwrap_or_else(|| budget::default_window(&endpoint.provider));
    let short_tools = budget::compact_tools(&context.tools);
    let body_of = |turns: &[conversation::Turn], step: usize| {
        let tools = if step >= budget::TOOLS_COMPACT_FROM {
            &short_tools
        } else {
            &context.tools
        };
        match endpoint.dialect {
            Dialect::OpenAi => openai::request_body(&endpoint.model, turns, tools),
            Dialect::Anthropic => anthropic::request_body(&endpoint.model, turns, tools),
        }
    };
    let full = body_of(turns, 0);
    let full_bytes = full.to_string().len();
    if !budget::over_threshold(full_bytes, window) {
        state.step = 0;
        return Ok(full);
    }
    let mut chosen = None;
    for step in 1..=budget::STEPS {
        let (compacted, report) = budget::compact(turns, step);
        let body = body_of(&compacted, step);
        let bytes = body.to_string().len();
        let done = !budget::over_threshold(bytes, window) || step == budget::STEPS;
        if budget::fits(bytes, window) && (done || chosen.is_none()) {
            chosen = Some((step, body, bytes, report));
        }
        if done && chosen.as_ref().is_some_and(|c| c.0 == step) {
            break;
        }
    }
    let Some((step, body, bytes, report)) = chosen else {
        return Err(BrainError::Failed(format!(
            "the request can't fit {}'s context window of {window} tokens even compacted (the tools and the incident alone are about {} tokens); raise the server's context size (llama.cpp: --n_ctx) or set context_window in [providers.{}]",
            endpoint.label(),
            budget::tokens(
                body_of(&budget::compact(turns, budget::STEPS).0, budget::STEPS)
                    .to_string()
                    .len()
            ),
            endpoint.provider
        )));
    };
    if step > state.step {
        sink.send(BrainItem::Notice(format!(
            "context budget: the request would be ~{} tokens of {}'s {window}; {} old outputs replaced by their digests, {} earlier messages summarised{} → ~{} tokens (full outputs stay in the session: read_output)",
            budget::tokens(full_bytes),
            endpoint.label(),
            report.digested,
            report.summarised,
            if step >= budget::TOOLS_COMPACT_FROM {
                ", tool descriptions shortened"
            } else {
                ""
            },
            budget::tokens(bytes)
        )))?;
    }
    state.step = step;
    Ok(body)
}

/// Sample this request as one run of several: a seed (OpenAI-style servers) and a
/// temperature.
fn apply_sample(body: &mut Value, dialect: Dialect, sample: Sample) {
    body["temperature"] = serde_json::json!(sample.temperature);
    if dialect == Dialect::OpenAi {
        body["seed"] = serde_json::json!(sample.seed);
    }
}

/// Make the model call `tool` this turn (OpenAI-style servers; others are only told).
fn force_tool(body: &mut Value, dialect: Dialect, tool: &str) {
    if dialect == Dialect::OpenAi {
        body["tool_choice"] = serde_json::json!({"type": "function", "function": {"name": tool}});
    }
}

/// One request: send it, stream the reply. A reply cut mid-stream is asked for again
/// (bounded, with backoff, each retry on screen) before the turn fails; the engine drops
/// the partial text of a cut attempt.
async fn run_turn(
    talk: &Talk<'_>,
    context: &BrainContext,
    asked: &Asked<'_>,
    state: &mut Course,
    sink: &Sink,
) -> Result<Collected, BrainError> {
    let (client, endpoint) = (talk.client, talk.endpoint);
    let mut turns = conversation::build(context);
    for turn in asked.extra {
        match turn {
            conversation::Turn::User(text) => push_user(&mut turns, text),
            other => turns.push(other.clone()),
        }
    }
    if let Some(text) = asked.nudge {
        push_user(&mut turns, text);
    }
    let redacted = redact::redact_turns(&mut turns, talk.redactor);
    sink.send(BrainItem::Redacted(redacted as u64))?;
    let mut body = fitted_body(endpoint, context, &turns, state, sink)?;
    if let Some(tool) = asked.forced {
        force_tool(&mut body, endpoint.dialect, tool);
    }
    if let Some(sample) = talk.sample {
        apply_sample(&mut body, endpoint.dialect, sample);
    }
    let mut delays = backon::ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(500))
        .with_max_delay(Duration::from_secs(30))
        .with_max_times(endpoint.max_retries)
        .with_jitter()
        .build();
    loop {
        let attempt = tokio::time::timeout(
            endpoint.reply_timeout,
            one_reply(client, endpoint, &body, sink, &mut delays),
        )
        .await
        .unwrap_or_else(|_| {
            Err(Cut::Retryable(format!(
                "the reply took longer than {}s",
                endpoint.reply_timeout.as_secs_f64()
            )))
        });
        let message = match attempt {
            Ok(collected) => return Ok(collected),
            Err(Cut::Fatal(e)) => return Err(e),
            Err(Cut::Retryable(message)) => message,
        };
        let Some(delay) = delays.next() else {
            return Err(BrainError::Failed(format!(
                "{message}; gave up after {} retries. The text so far is kept as partial and no tool call from this reply runs",
                endpoint.max_retries
            )));
        };
        sink.send(BrainItem::Retry {
            message: format!("{message}; asking again in {:.1}s", delay.as_secs_f64()),
        })?;
        tokio::time::sleep(delay).await;
    }
}

fn new_assembler(dialect: Dialect) -> Assembler {
    match dialect {
        Dialect::OpenAi => Assembler::OpenAi(openai::Assembler::default()),
        Dialect::Anthropic => Assembler::Anthropic(anthropic::Assembler::default()),
    }
}

/// One request and its streamed reply.
async fn one_reply(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    body: &Value,
    sink: &Sink,
    delays: &mut impl Iterator<Item = Duration>,
) -> Result<Collected, Cut> {
    let response = connect(client, endpoint, body, sink, delays).await?;
    let mut assembler = new_assembler(endpoint.dialect);
    let mut events = response.bytes_stream().eventsource();
    let mut chunks = 0usize;
    let mut done = false;
    let mut text = String::new();
    let cut = |what: String, chunks: usize| Cut::Retryable(format!("{what} after {chunks} chunks"));
    loop {
        let next = match tokio::time::timeout(endpoint.stall_timeout, events.next()).await {
            Err(_) => {
                return Err(cut(
                    format!(
                        "the stream stalled (no data for {}s)",
                        endpoint.stall_timeout.as_secs_f64()
                    ),
                    chunks,
                ));
            }
            Ok(next) => next,
        };
        let event = match next {
            None => break,
            Some(Err(e)) => {
                return Err(cut(
                    format!("the stream broke ({})", error_chain(&e)),
                    chunks,
                ));
            }
            Some(Ok(event)) => event,
        };
        let data = event.data.trim();
        if data == "[DONE]" {
            done = true;
            break;
        }
        if data.is_empty() {
            continue;
        }
        chunks += 1;
        let chunk: Value = match serde_json::from_str(data) {
            Ok(chunk) => chunk,
            Err(e) => {
                let shown: String = data.chars().take(80).collect();
                sink.send(BrainItem::Problem {
                    message: format!("skipped a malformed chunk ({e}): {shown}"),
                    retrying: false,
                })?;
                continue;
            }
        };
        let deltas = assembler.feed(&event.event, &chunk).map_err(|m| {
            cut(
                format!("the server reported an error mid-stream: {m}"),
                chunks,
            )
        })?;
        for delta in deltas {
            keep_text(&mut text, &delta);
            sink.send(item_of(delta))?;
        }
        if matches!(&assembler, Assembler::Anthropic(a) if a.stopped) {
            break;
        }
    }
    for delta in assembler.finish_text() {
        keep_text(&mut text, &delta);
        sink.send(item_of(delta))?;
    }
    if !assembler.complete(done) {
        return Err(cut("the connection closed mid-stream".into(), chunks));
    }
    Ok(Collected {
        text,
        calls: assembler.calls(),
    })
}
