//! Runbooks and past incidents as knowledge the agent can search and follow.
//!
//! Documents are Markdown. A runbook's fenced code blocks tagged `hunch` are steps the
//! agent may run, with attributes saying which tool, which phase (`diagnose`, `mitigate`,
//! `verify`) and which kind of hypothesis they fit (`for=deploy`, `for=resource`):
//!
//! ````text
//! ```hunch tool=kubectl step=mitigate for=deploy
//! kubectl rollout undo deployment/{service} -n {namespace}
//! ```
//! ````
//!
//! `{placeholders}` are bound by the agent from its hypotheses. Search is BM25 over the
//! title, tags and body, from the `bm25` crate (stemming and stop words included).

// The crates this one stands on, under the names its modules use (`crate::event`, …).
use hunch_bundle as bundle;
use hunch_postmortem as postmortem;
use hunch_protocol::{event, redact};
use hunch_session as session;

pub mod learn;

use crate::bundle::Document;
use bm25::{Language, SearchEngineBuilder};
pub use hunch_protocol::knowledge::{Hit, ParsedDoc, Step};

/// Parse one Markdown document: title, `tags:` line, `hunch` steps, follow-up bullets.
pub fn parse_doc(doc: &Document, kind: &str) -> ParsedDoc {
    let mut parsed = ParsedDoc {
        name: doc.name.clone(),
        kind: kind.to_string(),
        title: String::new(),
        tags: Vec::new(),
        steps: Vec::new(),
        follow_ups: Vec::new(),
        summary: String::new(),
        ruled_out: Vec::new(),
    };
    let mut lines = doc.text.lines();
    let mut section = String::new();
    while let Some(line) = lines.next() {
        let trimmed = line.trim();
        if let Some(title) = trimmed.strip_prefix("# ") {
            if parsed.title.is_empty() {
                parsed.title = title.trim().to_string();
            }
        } else if let Some(heading) = trimmed.strip_prefix("## ") {
            section = heading.trim().to_ascii_lowercase();
        } else if let Some(tags) = trimmed.strip_prefix("tags:") {
            parsed.tags = tags
                .split(',')
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect();
        } else if let Some(info) = trimmed.strip_prefix("```") {
            let mut body = Vec::new();
            for inner in lines.by_ref() {
                if inner.trim().starts_with("```") {
                    break;
                }
                body.push(inner);
            }
            let mut words = info.split_whitespace();
            if words.next() == Some("hunch") {
                let mut step = Step {
                    tool: String::new(),
                    phase: "diagnose".into(),
                    fits: String::new(),
                    target: String::new(),
                    body: body.join("\n").trim().to_string(),
                };
                for attr in words {
                    match attr.split_once('=') {
                        Some(("tool", v)) => step.tool = v.into(),
                        Some(("step", v)) => step.phase = v.into(),
                        Some(("for", v)) => step.fits = v.into(),
                        Some(("target", v)) => step.target = v.into(),
                        _ => {}
                    }
                }
                if !step.tool.is_empty() && !step.body.is_empty() {
                    parsed.steps.push(step);
                }
            }
        } else if section == "ruled out" {
            if let Some(item) = trimmed.strip_prefix("- ") {
                parsed.ruled_out.push(item.to_string());
            }
        } else if section.starts_with("follow") {
            if let Some(item) = trimmed.strip_prefix("- ") {
                parsed.follow_ups.push(item.to_string());
            }
        } else if section == "summary" && !trimmed.is_empty() && parsed.summary.len() < 400 {
            if !parsed.summary.is_empty() {
                parsed.summary.push(' ');
            }
            parsed.summary.push_str(trimmed);
        }
    }
    if parsed.title.is_empty() {
        parsed.title = doc.name.clone();
    }
    parsed
}

/// A searchable set of runbooks and past incidents.
pub struct KnowledgeBase {
    docs: Vec<ParsedDoc>,
    engine: bm25::SearchEngine<usize>,
}

impl KnowledgeBase {
    pub fn new(runbooks: &[Document], incidents: &[Document]) -> KnowledgeBase {
        let docs: Vec<ParsedDoc> = runbooks
            .iter()
            .map(|d| parse_doc(d, "runbook"))
            .chain(incidents.iter().map(|d| parse_doc(d, "incident")))
            .collect();
        let texts: Vec<String> = runbooks
            .iter()
            .chain(incidents)
            .zip(&docs)
            .map(|(raw, parsed)| {
                // Title and tags count twice: they say what the document is about.
                format!(
                    "{0} {0} {1} {1} {2}",
                    parsed.title,
                    parsed.tags.join(" "),
                    raw.text
                )
            })
            .collect();
        let documents = texts
            .into_iter()
            .enumerate()
            .map(|(id, contents)| bm25::Document { id, contents });
        let engine =
            SearchEngineBuilder::<usize>::with_documents(Language::English, documents).build();
        KnowledgeBase { docs, engine }
    }

    /// Best matches first; `kind` filters to "runbook" or "incident".
    pub fn search(&self, query: &str, kind: Option<&str>, limit: usize) -> Vec<Hit> {
        self.engine
            .search(query, self.docs.len())
            .into_iter()
            .filter(|r| r.score > 0.0)
            .map(|r| Hit {
                score: (r.score * 100.0).round() / 100.0,
                doc: self.docs[r.document.id].clone(),
            })
            .filter(|h| kind.is_none_or(|k| h.doc.kind == k))
            .take(limit)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::Bundle;

    #[test]
    fn runbook_steps_and_follow_ups_are_parsed() {
        let bundle = Bundle::demo();
        let doc = bundle
            .runbooks
            .iter()
            .find(|d| d.name.contains("postgres"))
            .unwrap();
        let parsed = parse_doc(doc, "runbook");
        assert_eq!(parsed.title, "Postgres connection saturation");
        assert!(parsed.tags.contains(&"idle in transaction".to_string()));
        let phases: Vec<&str> = parsed.steps.iter().map(|s| s.phase.as_str()).collect();
        assert_eq!(phases, ["diagnose", "mitigate", "mitigate", "verify"]);
        assert_eq!(parsed.steps[1].fits, "deploy");
        assert_eq!(parsed.steps[0].target, "{db}");
        assert_eq!(parsed.follow_ups.len(), 2);
    }

    #[test]
    fn search_finds_the_relevant_runbook_first() {
        let bundle = Bundle::demo();
        let kb = KnowledgeBase::new(&bundle.runbooks, &bundle.past_incidents);
        let hits = kb.search("orders-db connections pool timeout", Some("runbook"), 3);
        assert_eq!(hits[0].doc.title, "Postgres connection saturation");
        let hits = kb.search("payments deploy connections rollback", Some("incident"), 3);
        assert!(hits[0].doc.title.starts_with("INC-2041"));
    }
}
