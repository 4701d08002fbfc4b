//! `hunch fork --replay-tools`: every tool answers from a recorded session instead of
//! the systems it would reach, so another brain can be tried on a past incident without
//! touching production. A call the recording holds (same tool, same arguments) gets its
//! recorded output; any other call fails and says why. Risk, preview and session scope
//! still come from the real tool, so the gate asks exactly what it would have asked.

use super::{
    Call, CallPreview, CredentialSpec, Registry, Secret, Tool, ToolError, ToolOutput, ToolSpec,
};
use crate::event::{Risk, SessionScope};
use futures::future::BoxFuture;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// One successful call of the recorded session.
#[derive(Debug, Clone)]
pub struct RecordedAnswer {
    /// The call's id in the recorded session (`c3`).
    pub id: String,
    pub tool: String,
    pub args: Value,
    /// Its whole output, and the raw data behind its digest.
    pub text: String,
    pub raw: Option<String>,
}

type Answers = HashMap<(String, String), RecordedAnswer>;

/// `registry` with each tool answering from `recorded`.
pub fn replaying(registry: &Registry, recorded: Vec<RecordedAnswer>) -> Registry {
    let mut answers: Answers = HashMap::new();
    for answer in recorded {
        // The latest answer to a call wins, as the session last saw it.
        answers.insert((answer.tool.clone(), key(&answer.args)), answer);
    }
    let answers = Arc::new(answers);
    Registry::new(
        registry
            .tools()
            .map(|inner| {
                Arc::new(ReplayTool {
                    spec: inner.spec(),
                    inner: inner.clone(),
                    answers: answers.clone(),
                }) as Arc<dyn Tool>
            })
            .collect(),
    )
}

/// Arguments compared as their JSON text (object keys sorted).
fn key(args: &Value) -> String {
    args.to_string()
}

struct ReplayTool {
    /// The inner tool's spec, built once.
    spec: ToolSpec,
    inner: Arc<dyn Tool>,
    answers: Arc<Answers>,
}

/// A call as the inner tool parsed it (its risk, preview and scope are the real ones),
/// answered from the record.
struct ReplayCall<'a> {
    inner: Box<dyn Call + 'a>,
    answer: Result<ToolOutput, ToolError>,
}

impl Call for ReplayCall<'_> {
    fn risk(&self) -> Risk {
        self.inner.risk()
    }

    /// Nothing is connected to, so no secret is asked for.
    fn credential(&self) -> Option<CredentialSpec> {
        None
    }

    fn preview(&self) -> CallPreview {
        self.inner.preview()
    }

    fn session_scope(&self, risk: Risk) -> Option<SessionScope> {
        self.inner.session_scope(risk)
    }

    /// A dry run may reach the server (`kubectl --dry-run=server`): none is made.
    fn dry_run(&self) -> BoxFuture<'_, Option<String>> {
        Box::pin(std::future::ready(None))
    }

    fn run<'a>(
        &'a self,
        _secret: Option<&'a Secret>,
    ) -> BoxFuture<'a, Result<ToolOutput, ToolError>> {
        Box::pin(std::future::ready(self.answer.clone()))
    }
}

impl Tool for ReplayTool {
    fn spec(&self) -> ToolSpec {
        self.spec.clone()
    }

    fn prepare<'a>(&'a self, args: &Value) -> Result<Box<dyn Call + 'a>, ToolError> {
        let inner = self.inner.prepare(args)?;
        let name = &self.spec.name;
        let answer = match self.answers.get(&(name.clone(), key(args))) {
            Some(answer) => Ok(ToolOutput {
                text: answer.text.clone(),
                language: "",
                digest: format!("replayed: the recorded output of {}", answer.id),
                raw: answer.raw.clone(),
                display: None,
            }),
            None => Err(ToolError::Failed(format!(
                "--replay-tools: the recorded session never made this {name} call, so there is no output to replay (nothing was run)"
            ))),
        };
        Ok(Box::new(ReplayCall { inner, answer }))
    }

    fn args_from_command(&self, command: &str, original: &Value) -> Result<Value, ToolError> {
        self.inner.args_from_command(command, original)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::{DemoEnv, demo_registry};
    use serde_json::json;

    #[tokio::test]
    async fn recorded_calls_are_answered_and_others_run_nothing() {
        let env = DemoEnv::new(crate::bundle::Bundle::demo());
        let registry = replaying(
            &demo_registry(&env),
            vec![RecordedAnswer {
                id: "c7".into(),
                tool: "kubectl".into(),
                args: json!({"command": "kubectl get pods -n shop"}),
                text: "NAME READY\npayments-1 1/1".into(),
                raw: None,
            }],
        );
        let kubectl = registry.get("kubectl").unwrap();
        let recorded = json!({"command": "kubectl get pods -n shop"});
        let output = kubectl.run(&recorded, None).await.unwrap();
        assert_eq!(output.text, "NAME READY\npayments-1 1/1");
        assert!(output.digest.contains("c7"));
        let undo = json!({"command": "kubectl rollout undo deployment/payments -n shop"});
        assert_eq!(
            kubectl.classify(&undo),
            Risk::Mutating,
            "the gate still sees the risk"
        );
        let error = kubectl.run(&undo, None).await.unwrap_err();
        assert!(error.to_string().contains("never made this kubectl call"));
    }
}
