//! `traces_digest`: the trace layer as a read-only digest tool, over whatever traces the
//! [`Telemetry`] source has — a bundle's trace file, or Jaeger or Tempo live.
//!
//! The output is the typed [`TraceReport`] as JSON, like every digest tool's: the offline
//! brain reads it back as the same type. People and models read the compact report
//! ([`render`]: the call graph, the calls and services that moved with their numbers
//! before → after, what started failing or vanished, the slowest trace's critical path as
//! a waterfall): it is the output's display text, what the screen shows, and what an LLM
//! brain is sent; the one-line digest is its [`headline`].

use super::telemetry::Telemetry;
use super::{
    CallPreview, Secret, ToolError, ToolOutput, ToolSpec, TypedTool, parse_args, schema_of,
};
use crate::analysis::traces::render::{headline, render};
use crate::analysis::traces::report::filter;
use crate::event::{Risk, SessionScope};
use crate::protocol::digest::{self, TraceReport, TracesArgs};
use futures::future::BoxFuture;
use serde_json::Value;
use std::sync::Arc;

pub(crate) struct TracesDigest(pub Arc<dyn Telemetry>);

/// The onset argument in unix nanoseconds.
fn onset_ns(onset: Option<&str>) -> Result<Option<i64>, ToolError> {
    onset
        .map(|s| {
            crate::bundle::parse_time(s)
                .and_then(|t| t.timestamp_nanos_opt())
                .ok_or_else(|| {
                    ToolError::InvalidArguments(format!(
                        "`onset`: `{s}` is neither RFC 3339 nor unix seconds"
                    ))
                })
        })
        .transpose()
}

/// The report as the tool's output: the typed report as JSON for the brains, the compact
/// report (the waterfall of the slowest trace included) for the screen, its headline as
/// the digest.
pub(crate) fn output(report: &TraceReport) -> ToolOutput {
    ToolOutput {
        text: serde_json::to_string_pretty(report).unwrap_or_default(),
        language: "json",
        digest: headline(report),
        raw: None,
        display: Some(render(report)),
    }
}

impl TypedTool for TracesDigest {
    type Args = TracesArgs;

    fn spec(&self) -> ToolSpec {
        ToolSpec {
            name: digest::TRACES_DIGEST.into(),
            description: "Digest the traces (spans) of the incident: the service call graph with call counts; per call (caller → callee, operation) latency p50/p90/p99 and errors before vs after the onset, and the caller's wait beyond the callee (network); each service's own time per call (minus time waiting on others), so the service that got slower stands out from its callers; operations that started failing or vanished; the critical path of the slowest traces. The onset defaults to where latencies shifted most.".into(),
            parameters: schema_of::<TracesArgs>(),
        }
    }

    fn parse(&self, args: &Value) -> Result<TracesArgs, ToolError> {
        let parsed: TracesArgs = parse_args(args)?;
        onset_ns(parsed.onset.as_deref())?;
        Ok(parsed)
    }

    fn classify(&self, _args: &TracesArgs) -> Risk {
        Risk::ReadOnly
    }

    fn preview(&self, args: &TracesArgs) -> CallPreview {
        let mut command = digest::TRACES_DIGEST.to_string();
        if let Some(s) = &args.service {
            command.push_str(&format!(" service={s}"));
        }
        if let Some(o) = &args.onset {
            command.push_str(&format!(" onset={o}"));
        }
        CallPreview {
            command,
            target: self.0.origin(),
        }
    }

    fn session_scope(&self, args: &TracesArgs, risk: Risk) -> Option<SessionScope> {
        super::scope::exact(digest::TRACES_DIGEST, &self.preview(args).command, risk)
    }

    fn args_from_command(&self, command: &str, _original: &Value) -> Result<Value, ToolError> {
        let words =
            shell_words::split(command).map_err(|e| ToolError::InvalidArguments(e.to_string()))?;
        let mut map = serde_json::Map::new();
        for word in words.iter().filter(|w| *w != digest::TRACES_DIGEST) {
            let (k, v) = word.split_once('=').ok_or_else(|| {
                ToolError::InvalidArguments(format!("expected key=value, got `{word}`"))
            })?;
            map.insert(k.to_string(), Value::String(v.to_string()));
        }
        Ok(Value::Object(map))
    }

    fn run<'a>(
        &'a self,
        args: &'a TracesArgs,
        _: Option<&'a Secret>,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(async move {
            let onset = onset_ns(args.onset.as_deref())?;
            let service = args.service.as_deref();
            let mut report = self.0.traces(service, onset).await?;
            if report.spans == 0 {
                return Err(ToolError::Failed(format!(
                    "no spans in {}{}",
                    self.0.origin(),
                    service.map_or(String::new(), |s| format!(" for service `{s}`"))
                )));
            }
            if let Some(service) = service {
                filter(&mut report, service);
            }
            Ok(output(&report))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tool;
    use crate::bundle::Bundle;
    use crate::knowledge::KnowledgeBase;
    use crate::telemetry::{BundleTelemetry, digest_tools};
    use serde_json::json;

    fn bundle_with_traces() -> (tempfile::TempDir, Bundle) {
        let dir = tempfile::tempdir().unwrap();
        Bundle::write_demo(dir.path()).unwrap();
        let fixture = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
            .join("tests/fixtures/traces/small.otlp.jsonl");
        std::fs::copy(fixture, dir.path().join("traces.jsonl")).unwrap();
        let bundle = Bundle::load(dir.path()).unwrap();
        (dir, bundle)
    }

    fn tool(bundle: &Bundle) -> Option<Arc<dyn Tool>> {
        let source: Arc<dyn Telemetry> = Arc::new(BundleTelemetry::of(bundle));
        digest_tools(source, Arc::new(KnowledgeBase::new(&[], &[])))
            .into_iter()
            .find(|t| t.spec().name == digest::TRACES_DIGEST)
    }

    #[tokio::test]
    async fn a_bundle_with_traces_gets_the_tool_and_the_report_is_typed_json() {
        assert!(tool(&Bundle::demo()).is_none(), "no traces, no tool");
        let (_dir, bundle) = bundle_with_traces();
        let tool = tool(&bundle).expect("traces_digest");
        assert_eq!(tool.classify(&json!({})), Risk::ReadOnly);
        let out = tool.run(&json!({"onset": "1"}), None).await.unwrap();
        let report: TraceReport = serde_json::from_str(&out.text).unwrap();
        assert_eq!(report.spans, 11);
        let text = crate::analysis::traces::render::render(&report);
        assert!(
            text.contains("call graph (most calls first): web → checkout ×2"),
            "{text}"
        );
        assert!(text.contains("critical path of trace"), "{text}");
        let only = tool.run(&json!({"service": "reco"}), None).await.unwrap();
        let report: TraceReport = serde_json::from_str(&only.text).unwrap();
        assert_eq!(report.graph.len(), 1);
        let bad = tool.run(&json!({"onset": "soon"}), None).await.unwrap_err();
        assert!(
            bad.to_string()
                .contains("neither RFC 3339 nor unix seconds"),
            "{bad}"
        );
        let preview = tool.preview(&json!({"service": "web"})).unwrap();
        assert_eq!(preview.command, "traces_digest service=web");
        let back = tool
            .args_from_command(&preview.command, &json!({}))
            .unwrap();
        assert_eq!(back, json!({"service": "web"}));
    }
}
