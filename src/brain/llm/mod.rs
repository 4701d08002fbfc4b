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

pub mod anthropic;
pub mod conversation;
pub mod openai;
pub mod providers;
pub mod redact;
mod think;

use super::{Brain, BrainContext, BrainError, BrainItem};
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
}

impl Endpoint {
    pub fn label(&self) -> String {
        format!("{}:{}", self.provider, self.model)
    }
}

pub struct LlmBrain {
    endpoint: Arc<Endpoint>,
    client: reqwest::Client,
    redactor: Arc<crate::redact::Redactor>,
}

impl LlmBrain {
    pub fn new(
        endpoint: Endpoint,
        redactor: Arc<crate::redact::Redactor>,
    ) -> Result<LlmBrain, BrainError> {
        let client = reqwest::Client::builder()
            .connect_timeout(endpoint.connect_timeout)
            .build()
            .map_err(|e| BrainError::Failed(format!("cannot create the HTTP client: {e}")))?;
        Ok(LlmBrain {
            endpoint: Arc::new(endpoint),
            client,
            redactor,
        })
    }
}

impl Brain for LlmBrain {
    fn name(&self) -> String {
        self.endpoint.label()
    }

    fn turn(&mut self, context: BrainContext) -> BoxStream<'static, Result<BrainItem, BrainError>> {
        let (tx, rx) = mpsc::unbounded_channel();
        let endpoint = self.endpoint.clone();
        let client = self.client.clone();
        let redactor = self.redactor.clone();
        tokio::spawn(async move {
            let sink = Sink(tx.clone());
            if let Err(e) = run_turn(&client, &endpoint, &redactor, &context, &sink).await {
                let _ = tx.send(Err(e));
            }
        });
        futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        })
        .boxed()
    }
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
pub fn error_chain(error: &dyn std::error::Error) -> String {
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

fn item_of(delta: openai::Delta) -> BrainItem {
    match delta {
        openai::Delta::Reasoning(t) => BrainItem::Reasoning(t),
        openai::Delta::Text(t) => BrainItem::Message(t),
        openai::Delta::Usage { input, output } => BrainItem::Usage { input, output },
        openai::Delta::Opaque(v) => BrainItem::Opaque(v),
    }
}

/// The dialect's assembler behind one interface.
enum Assembler {
    OpenAi(openai::Assembler),
    Anthropic(anthropic::Assembler),
}

impl Assembler {
    fn feed(&mut self, event: &str, chunk: &Value) -> Result<Vec<openai::Delta>, String> {
        match self {
            Assembler::OpenAi(a) => a.feed(chunk),
            Assembler::Anthropic(a) => a.feed(event, chunk),
        }
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

/// One turn: send the request, stream the reply. A reply cut mid-stream is asked for
/// again (bounded, with backoff, each retry on screen) before the turn fails; the engine
/// drops the partial text of a cut attempt.
async fn run_turn(
    client: &reqwest::Client,
    endpoint: &Endpoint,
    redactor: &crate::redact::Redactor,
    context: &BrainContext,
    sink: &Sink,
) -> Result<(), BrainError> {
    let mut turns = conversation::build(context);
    let redacted = redact::redact_turns(&mut turns, redactor);
    sink.send(BrainItem::Redacted(redacted as u64))?;
    let body = match endpoint.dialect {
        Dialect::OpenAi => openai::request_body(&endpoint.model, &turns, &context.tools),
        Dialect::Anthropic => anthropic::request_body(&endpoint.model, &turns, &context.tools),
    };
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
            Ok(()) => return Ok(()),
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
) -> Result<(), Cut> {
    let response = connect(client, endpoint, body, sink, delays).await?;
    let mut assembler = new_assembler(endpoint.dialect);
    let mut events = response.bytes_stream().eventsource();
    let mut chunks = 0usize;
    let mut done = false;
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
            sink.send(item_of(delta))?;
        }
        if matches!(&assembler, Assembler::Anthropic(a) if a.stopped) {
            break;
        }
    }
    for delta in assembler.finish_text() {
        sink.send(item_of(delta))?;
    }
    if !assembler.complete(done) {
        return Err(cut("the connection closed mid-stream".into(), chunks));
    }
    for call in assembler.calls() {
        sink.send(BrainItem::Call(call))?;
    }
    Ok(())
}
