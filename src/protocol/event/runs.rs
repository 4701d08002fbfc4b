//! What the log says about N runs of one incident (`--runs N`) and about follow-up
//! questions: the typed payloads of their events, and how the board shows them.
//!
//! A runs group is one session (the *snapshot*: the evidence every run starts from) whose
//! log goes on after the snapshot with one [`RunInfo`] per run (each run is a fork of the
//! snapshot, in a session file of its own), then what each run ended with, then the
//! [`Agreement`]: every hypothesis with the runs that concluded, supported or refuted it.
//! The board of the group is that agreement, so the replay, the headless printer and the
//! export show it through the same reducer as everything else. Nothing here is parsed
//! back from text: the counts are fields, the sentences are made from them.

use super::{Conclusion, Hypothesis, HypothesisStatus};
use serde::{Deserialize, Serialize};

/// One of the N runs: its number, its brain and where its own session is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// 1-based.
    pub run: u32,
    pub of: u32,
    /// The brain's name (`openai:gpt-5.1`, `offline`).
    pub brain: String,
    /// The sample it draws, when the brain samples (seed and temperature sent to the model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    /// The run's own session file (a fork of the snapshot).
    pub session: String,
}

impl RunInfo {
    /// `run 2 of 5 (openai:gpt-5.1, seed 2)`.
    pub fn label(&self) -> String {
        let sample = match (self.seed, self.temperature) {
            (Some(seed), Some(t)) => format!(", seed {seed}, temperature {t}"),
            (Some(seed), None) => format!(", seed {seed}"),
            (None, Some(t)) => format!(", temperature {t}"),
            (None, None) => String::new(),
        };
        format!("run {} of {} ({}{sample})", self.run, self.of, self.brain)
    }
}

/// What one run ended with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunOutcome {
    pub run: RunInfo,
    /// Why its session ended (`concluded`, `brain idle`, a budget).
    pub ended: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conclusion: Option<Conclusion>,
    /// Its board when it ended.
    #[serde(default)]
    pub board: Vec<Hypothesis>,
    /// The id of the board's hypothesis its conclusion concludes, when one does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concluded: Option<String>,
    /// The model made no progress and the offline evidence pipeline concluded for it.
    #[serde(default)]
    pub handed_over: bool,
}

impl RunOutcome {
    /// ` after a hand-over to the offline pipeline`, when the model did not conclude.
    pub fn by_whom(&self) -> &'static str {
        if self.handed_over {
            " after a hand-over to the offline pipeline"
        } else {
            ""
        }
    }
}

/// One hypothesis across the runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agreed {
    /// As the first run that had it wrote it, with the group's id, the status most runs
    /// gave it and the confidence summed over the runs that held it, divided by all runs.
    pub hypothesis: Hypothesis,
    /// The runs (numbers) whose conclusion is this hypothesis.
    #[serde(default)]
    pub concluded_in: Vec<u32>,
    /// Those of them in which the offline pipeline concluded, after a hand-over.
    #[serde(default)]
    pub handed_over_in: Vec<u32>,
    /// The runs whose board held it supported or confirmed.
    #[serde(default)]
    pub supported_in: Vec<u32>,
    /// The runs whose board held it refuted.
    #[serde(default)]
    pub refuted_in: Vec<u32>,
    /// Its id on each run's board: (run, id there).
    #[serde(default)]
    pub ids: Vec<(u32, String)>,
}

impl Agreed {
    /// In words: `concluded in 3 of 5 runs, supported in 4`.
    pub fn describe(&self, runs: u32) -> String {
        let mut parts = Vec::new();
        if !self.concluded_in.is_empty() {
            let handed = match self.handed_over_in.len() {
                0 => String::new(),
                n => format!(" ({n} by the offline pipeline after a hand-over)"),
            };
            parts.push(format!(
                "concluded in {} of {runs} runs{handed}",
                self.concluded_in.len()
            ));
        }
        if !self.supported_in.is_empty() {
            parts.push(if parts.is_empty() {
                format!("supported in {} of {runs} runs", self.supported_in.len())
            } else {
                format!("supported in {}", self.supported_in.len())
            });
        }
        if !self.refuted_in.is_empty() {
            parts.push(if parts.is_empty() {
                format!("refuted in {} of {runs} runs", self.refuted_in.len())
            } else {
                format!("refuted in {}", self.refuted_in.len())
            });
        }
        if parts.is_empty() {
            parts.push(format!("open in {} of {runs} runs", self.ids.len()));
        }
        parts.join(", ")
    }

    /// The hypothesis as the group's board shows it: its statement followed by the
    /// agreement, so every reader of the board (screen, lines, export) says it.
    pub fn on_board(&self, runs: u32) -> Hypothesis {
        let mut shown = self.hypothesis.clone();
        shown.statement = format!("{} [{}]", shown.statement, self.describe(runs));
        shown
    }
}

/// The runs compared.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Agreement {
    pub runs: u32,
    /// Runs that reached a conclusion.
    pub concluded: u32,
    /// Most concluded first.
    pub hypotheses: Vec<Agreed>,
}

impl Agreement {
    /// The hypothesis most runs concluded, when more than half of all runs did.
    pub fn majority(&self) -> Option<&Agreed> {
        self.hypotheses
            .iter()
            .max_by_key(|a| a.concluded_in.len())
            .filter(|a| a.concluded_in.len() * 2 > self.runs as usize)
    }
}

/// Where an answer to a follow-up question came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnsweredBy {
    /// A model read the record and answered.
    Model,
    /// No model: the answer was read from the record (the board, the conclusion, the
    /// calls whose words match the question).
    Record,
}

/// A follow-up question and, once given, its answers: the brain's, and the record's
/// beside it when a model's answer cited nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct FollowUp {
    pub question: String,
    pub by: String,
    pub answers: Vec<Answer>,
}

/// An answer to a follow-up question, citing calls of the record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    pub text: String,
    /// Ids of tool calls of this session the answer rests on (only ones that exist).
    #[serde(default)]
    pub evidence: Vec<String>,
    pub source: AnsweredBy,
    /// The brain that answered (`openai:gpt-5.1`, `offline`).
    pub brain: String,
}

impl Answer {
    /// `[cites c1, c4]`, `[uncited]`.
    pub fn citation(&self) -> String {
        if self.evidence.is_empty() {
            "[uncited]".into()
        } else {
            format!("[cites {}]", self.evidence.join(", "))
        }
    }
}

/// The status most of `statuses` have; a tie goes to the stronger one.
pub fn most_common_status(statuses: &[HypothesisStatus]) -> HypothesisStatus {
    let strength = |s: HypothesisStatus| match s {
        HypothesisStatus::Confirmed => 3,
        HypothesisStatus::Supported => 2,
        HypothesisStatus::Open => 1,
        HypothesisStatus::Refuted => 0,
    };
    let mut best = (0, HypothesisStatus::Open);
    for &status in statuses {
        let count = statuses.iter().filter(|s| **s == status).count();
        if count > best.0 || (count == best.0 && strength(status) > strength(best.1)) {
            best = (count, status);
        }
    }
    best.1
}

/// Words too common to say what a statement or a question is about.
const STOPWORDS: &[&str] = &[
    "the", "and", "for", "was", "were", "why", "what", "which", "who", "how", "did", "does", "not",
    "this", "that", "with", "from", "are", "its", "been", "there", "they", "you", "can", "could",
    "would", "should", "about", "any", "also", "when", "where", "than", "then", "into", "have",
    "has", "had", "caused", "cause", "root",
];

/// The words of `text` that say what it is about (lower-case, 3 characters or more,
/// sorted, once each): what follow-up questions and the runs' hypotheses are compared by.
pub fn content_words(text: &str) -> Vec<String> {
    let mut words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric() && c != '_' && c != '-' && c != '.')
        .map(|w| w.trim_matches(|c| c == '-' || c == '.').to_lowercase())
        .filter(|w| w.chars().count() >= 3 && !STOPWORDS.contains(&w.as_str()))
        .collect();
    words.sort();
    words.dedup();
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_keep_the_words_that_matter() {
        assert_eq!(
            content_words("Why was the payments deploy v2.14.0 rolled back?"),
            vec!["back", "deploy", "payments", "rolled", "v2.14.0"]
        );
    }

    #[test]
    fn the_status_most_runs_gave_wins_and_a_tie_goes_to_the_stronger() {
        use HypothesisStatus::*;
        assert_eq!(most_common_status(&[Supported, Refuted, Refuted]), Refuted);
        assert_eq!(most_common_status(&[Supported, Confirmed]), Confirmed);
        assert_eq!(most_common_status(&[]), Open);
    }
}
