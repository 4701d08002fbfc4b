//! How N runs of one incident agree (self-consistency, as RCAgent and D-Bot use it): the
//! hypotheses of every run's board are matched across runs, each counted in how many
//! runs it was concluded, supported or refuted, and the group concludes what more than
//! half of the runs concluded — or says there was no agreement.
//!
//! Pure: outcomes in, an [`Agreement`] out. Two hypotheses of different runs are the
//! same when the brain gave them the same key (`deploy:payments`), or when most of the
//! words of the shorter statement are in the other (ids like H2 mean nothing across runs).

use crate::event::{
    Agreed, Agreement, Author, Conclusion, Hypothesis, HypothesisStatus, RunOutcome, content_words,
    most_common_status,
};

/// The share of the shorter statement's words the other must hold to be the same.
const SAME_WORDS: f64 = 0.6;
/// The share of a hypothesis's words a conclusion must hold to conclude it.
const CONCLUDES_WORDS: f64 = 0.5;

/// How much of the shorter word list is in the other.
fn overlap(a: &[String], b: &[String]) -> f64 {
    let shorter = a.len().min(b.len());
    if shorter == 0 {
        return 0.0;
    }
    let shared = a.iter().filter(|w| b.contains(w)).count();
    shared as f64 / shorter as f64
}

fn same(a: &Hypothesis, b: &Hypothesis) -> bool {
    match (&a.key, &b.key) {
        (Some(x), Some(y)) if x == y => true,
        _ => overlap(&content_words(&a.statement), &content_words(&b.statement)) >= SAME_WORDS,
    }
}

/// The hypothesis of `board` a run's conclusion concludes: the one it confirmed, else
/// the one whose words the root cause holds most of.
pub fn concluded_hypothesis(board: &[Hypothesis], conclusion: &Conclusion) -> Option<String> {
    let confirmed: Vec<&Hypothesis> = board
        .iter()
        .filter(|h| h.status == HypothesisStatus::Confirmed)
        .collect();
    if let [only] = confirmed.as_slice() {
        return Some(only.id.clone());
    }
    let cause = content_words(&conclusion.root_cause);
    let candidates = if confirmed.is_empty() {
        board.iter().collect()
    } else {
        confirmed
    };
    candidates
        .into_iter()
        .filter(|h| h.status != HypothesisStatus::Refuted)
        .map(|h| {
            let words = content_words(&h.statement);
            let held = words.iter().filter(|w| cause.contains(w)).count();
            (held as f64 / words.len().max(1) as f64, h)
        })
        .filter(|(share, _)| *share >= CONCLUDES_WORDS)
        .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.id.cmp(&a.1.id)))
        .map(|(_, h)| h.id.clone())
}

/// One hypothesis being gathered across runs.
struct Gathered {
    first: Hypothesis,
    held: Vec<(u32, Hypothesis)>,
    concluded_in: Vec<u32>,
    handed_over_in: Vec<u32>,
    /// The root cause of the first run that concluded it.
    conclusion: Option<Conclusion>,
}

impl Gathered {
    fn new(first: Hypothesis) -> Gathered {
        Gathered {
            first,
            held: Vec::new(),
            concluded_in: Vec::new(),
            handed_over_in: Vec::new(),
            conclusion: None,
        }
    }

    fn holds(&self, run: u32) -> bool {
        self.held.iter().any(|(r, _)| *r == run)
    }
}

/// The runs compared. `shared_calls` are the ids of the snapshot's calls (the only
/// evidence every run has in common); evidence outside them is dropped from the group's
/// board, since a call id after the snapshot names a different call in each run.
pub fn compare(outcomes: &[RunOutcome], runs: u32, shared_calls: &[String]) -> Agreement {
    let mut gathered: Vec<Gathered> = Vec::new();
    for outcome in outcomes {
        let run = outcome.run.run;
        for h in &outcome.board {
            let at = gathered
                .iter()
                .position(|g| !g.holds(run) && same(&g.first, h))
                .unwrap_or_else(|| {
                    gathered.push(Gathered::new(h.clone()));
                    gathered.len() - 1
                });
            gathered[at].held.push((run, h.clone()));
        }
        let Some(conclusion) = &outcome.conclusion else {
            continue;
        };
        let on_board = outcome.concluded.as_deref().and_then(|id| {
            gathered
                .iter()
                .position(|g| g.held.iter().any(|(r, h)| *r == run && h.id == id))
        });
        let at = on_board.unwrap_or_else(|| {
            let stated = Hypothesis {
                id: String::new(),
                statement: conclusion.root_cause.clone(),
                status: HypothesisStatus::Confirmed,
                confidence: conclusion.confidence,
                evidence: conclusion.evidence.clone(),
                key: None,
                author: Author::Brain,
                pinned: false,
            };
            match gathered.iter().position(|g| same(&g.first, &stated)) {
                Some(at) => at,
                None => {
                    gathered.push(Gathered::new(stated.clone()));
                    let at = gathered.len() - 1;
                    gathered[at].held.push((run, stated));
                    at
                }
            }
        });
        gathered[at].concluded_in.push(run);
        if outcome.handed_over {
            gathered[at].handed_over_in.push(run);
        }
        gathered[at]
            .conclusion
            .get_or_insert_with(|| conclusion.clone());
    }
    let mut agreed: Vec<Agreed> = gathered
        .into_iter()
        .map(|g| agreed(g, runs, shared_calls))
        .collect();
    agreed.sort_by(|a, b| {
        b.concluded_in
            .len()
            .cmp(&a.concluded_in.len())
            .then(b.supported_in.len().cmp(&a.supported_in.len()))
            .then(b.hypothesis.confidence.total_cmp(&a.hypothesis.confidence))
    });
    for (n, a) in agreed.iter_mut().enumerate() {
        a.hypothesis.id = format!("H{}", n + 1);
    }
    Agreement {
        runs,
        concluded: outcomes.iter().filter(|o| o.conclusion.is_some()).count() as u32,
        hypotheses: agreed,
    }
}

fn agreed(g: Gathered, runs: u32, shared_calls: &[String]) -> Agreed {
    let statuses: Vec<HypothesisStatus> = g.held.iter().map(|(_, h)| h.status).collect();
    let runs_with = |wanted: &dyn Fn(HypothesisStatus) -> bool| -> Vec<u32> {
        let mut list: Vec<u32> = g
            .held
            .iter()
            .filter(|(_, h)| wanted(h.status))
            .map(|(r, _)| *r)
            .collect();
        list.sort();
        list.dedup();
        list
    };
    let supported_in =
        runs_with(&|s| matches!(s, HypothesisStatus::Supported | HypothesisStatus::Confirmed));
    let refuted_in = runs_with(&|s| s == HypothesisStatus::Refuted);
    // Confidence over all runs: a hypothesis only one run in five believed is weak.
    let believed: f32 = g
        .held
        .iter()
        .filter(|(_, h)| h.status != HypothesisStatus::Refuted)
        .map(|(_, h)| h.confidence)
        .sum();
    let mut evidence: Vec<String> = Vec::new();
    for (_, h) in &g.held {
        for id in &h.evidence {
            if shared_calls.contains(id) && !evidence.contains(id) {
                evidence.push(id.clone());
            }
        }
    }
    let mut concluded_in = g.concluded_in;
    concluded_in.sort();
    concluded_in.dedup();
    let mut handed_over_in = g.handed_over_in;
    handed_over_in.sort();
    handed_over_in.dedup();
    let status = if concluded_in.len() * 2 > runs as usize {
        HypothesisStatus::Confirmed
    } else {
        match most_common_status(&statuses) {
            // Confirmed by a minority of runs is supported, not confirmed, for the group.
            HypothesisStatus::Confirmed => HypothesisStatus::Supported,
            other => other,
        }
    };
    Agreed {
        hypothesis: Hypothesis {
            status,
            confidence: (believed / runs.max(1) as f32).clamp(0.0, 1.0),
            evidence,
            author: Author::Brain,
            pinned: false,
            ..g.first
        },
        concluded_in,
        handed_over_in,
        supported_in,
        refuted_in,
        ids: g.held.iter().map(|(r, h)| (*r, h.id.clone())).collect(),
    }
}

/// The group's conclusion: what more than half of the runs concluded, its confidence
/// scaled by the share of runs that concluded it; without a majority, "no agreement"
/// with the candidates. `None` when no run concluded.
pub fn group_conclusion(
    agreement: &Agreement,
    outcomes: &[RunOutcome],
    shared_calls: &[String],
) -> Option<Conclusion> {
    if agreement.concluded == 0 {
        return None;
    }
    let runs = agreement.runs;
    let of_runs = |a: &Agreed| -> Vec<&Conclusion> {
        outcomes
            .iter()
            .filter(|o| a.concluded_in.contains(&o.run.run))
            .filter_map(|o| o.conclusion.as_ref())
            .collect()
    };
    let shared = |conclusions: &[&Conclusion]| -> Vec<String> {
        let mut ids: Vec<String> = Vec::new();
        for c in conclusions {
            for id in &c.evidence {
                if shared_calls.contains(id) && !ids.contains(id) {
                    ids.push(id.clone());
                }
            }
        }
        ids
    };
    let mean = |conclusions: &[&Conclusion]| {
        conclusions.iter().map(|c| c.confidence).sum::<f32>() / conclusions.len().max(1) as f32
    };
    if let Some(majority) = agreement.majority() {
        let conclusions = of_runs(majority);
        let first = conclusions.first()?;
        let share = majority.concluded_in.len() as f32 / runs as f32;
        return Some(Conclusion {
            root_cause: format!(
                "Concluded in {} of {runs} runs{}: {}",
                majority.concluded_in.len(),
                match majority.handed_over_in.len() {
                    0 => String::new(),
                    n => format!(
                        " ({n} by the offline evidence pipeline after the model made no progress)"
                    ),
                },
                first.root_cause
            ),
            confidence: mean(&conclusions) * share,
            evidence: shared(&conclusions),
            follow_ups: first.follow_ups.clone(),
        });
    }
    let candidates: Vec<String> = agreement
        .hypotheses
        .iter()
        .filter(|a| !a.concluded_in.is_empty())
        .map(|a| {
            format!(
                "{} ({} of {runs} runs)",
                a.hypothesis.statement,
                a.concluded_in.len()
            )
        })
        .collect();
    let lead = agreement
        .hypotheses
        .iter()
        .find(|a| !a.concluded_in.is_empty())?;
    let conclusions = of_runs(lead);
    Some(Conclusion {
        root_cause: format!(
            "Inconclusive: no agreement across {runs} runs ({} concluded); they concluded {}",
            agreement.concluded,
            candidates.join("; ")
        ),
        confidence: mean(&conclusions) * lead.concluded_in.len() as f32 / runs as f32,
        evidence: shared(&conclusions),
        follow_ups: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::RunInfo;

    fn h(id: &str, statement: &str, status: HypothesisStatus, confidence: f32) -> Hypothesis {
        Hypothesis {
            id: id.into(),
            statement: statement.into(),
            status,
            confidence,
            evidence: vec!["c1".into(), "c9".into()],
            key: None,
            author: Author::Brain,
            pinned: false,
        }
    }

    fn outcome(run: u32, board: Vec<Hypothesis>, cause: Option<&str>) -> RunOutcome {
        let conclusion = cause.map(|c| Conclusion {
            root_cause: c.into(),
            confidence: 0.8,
            evidence: vec!["c1".into(), "c7".into()],
            follow_ups: vec!["pin the release".into()],
        });
        let concluded = conclusion
            .as_ref()
            .and_then(|c| concluded_hypothesis(&board, c));
        RunOutcome {
            run: RunInfo {
                run,
                of: 3,
                brain: "test".into(),
                seed: Some(run as u64),
                temperature: None,
                session: format!("run{run}.jsonl"),
            },
            ended: "concluded".into(),
            conclusion,
            board,
            concluded,
            handed_over: run == 2,
        }
    }

    const DEPLOY: &str = "The payments deploy 2.14.0 holds database sessions idle";
    const DB: &str = "orders-db is saturated by a reindex job";

    #[test]
    fn two_of_three_runs_concluding_the_deploy_conclude_it_for_the_group() {
        use HypothesisStatus::*;
        let outcomes = vec![
            outcome(
                1,
                vec![h("H1", DEPLOY, Confirmed, 0.8), h("H2", DB, Refuted, 0.1)],
                Some("payments deploy 2.14.0 holds sessions idle in transaction"),
            ),
            outcome(
                2,
                vec![
                    h("H2", DB, Supported, 0.5),
                    h(
                        "H1",
                        "payments deploy 2.14.0 holds database sessions",
                        Confirmed,
                        0.7,
                    ),
                ],
                Some("the payments deploy 2.14.0"),
            ),
            outcome(
                3,
                vec![h("H1", DB, Confirmed, 0.6)],
                Some("orders-db saturated by the reindex job"),
            ),
        ];
        let shared = vec!["c1".to_string(), "c2".to_string()];
        let agreement = compare(&outcomes, 3, &shared);
        assert_eq!(agreement.concluded, 3);
        let deploy = &agreement.hypotheses[0];
        assert_eq!(deploy.concluded_in, vec![1, 2], "{agreement:#?}");
        assert_eq!(deploy.supported_in, vec![1, 2]);
        assert_eq!(deploy.hypothesis.id, "H1");
        assert_eq!(deploy.hypothesis.status, Confirmed);
        assert_eq!(deploy.hypothesis.evidence, vec!["c1"], "only shared calls");
        assert!((deploy.hypothesis.confidence - 0.5).abs() < 1e-6);
        let db = &agreement.hypotheses[1];
        assert_eq!(db.concluded_in, vec![3]);
        assert_eq!(db.refuted_in, vec![1]);
        assert_eq!(
            db.describe(3),
            "concluded in 1 of 3 runs, supported in 2, refuted in 1"
        );
        let conclusion = group_conclusion(&agreement, &outcomes, &shared).unwrap();
        assert!(
            conclusion
                .root_cause
                .starts_with("Concluded in 2 of 3 runs (1 by the offline evidence pipeline after the model made no progress): payments deploy"),
            "{}",
            conclusion.root_cause
        );
        assert_eq!(conclusion.evidence, vec!["c1"]);
        assert!((conclusion.confidence - 0.8 * 2.0 / 3.0).abs() < 1e-6);
        // Run 2's conclusion was the offline pipeline's, after a hand-over: said so.
        assert_eq!(deploy.handed_over_in, vec![2]);
        assert!(
            deploy.describe(3).starts_with(
                "concluded in 2 of 3 runs (1 by the offline pipeline after a hand-over)"
            ),
            "{}",
            deploy.describe(3)
        );
    }

    #[test]
    fn runs_that_disagree_leave_the_group_inconclusive() {
        use HypothesisStatus::*;
        let outcomes = vec![
            outcome(1, vec![h("H1", DEPLOY, Confirmed, 0.8)], Some(DEPLOY)),
            outcome(2, vec![h("H1", DB, Confirmed, 0.6)], Some(DB)),
            outcome(3, vec![], None),
        ];
        let agreement = compare(&outcomes, 3, &[]);
        assert_eq!(agreement.concluded, 2);
        assert!(agreement.majority().is_none());
        let conclusion = group_conclusion(&agreement, &outcomes, &[]).unwrap();
        assert!(
            conclusion
                .root_cause
                .starts_with("Inconclusive: no agreement across 3 runs"),
            "{}",
            conclusion.root_cause
        );
        assert!(conclusion.confidence < 0.3);
        assert!(group_conclusion(&compare(&outcomes[2..], 3, &[]), &outcomes[2..], &[]).is_none());
    }

    #[test]
    fn a_conclusion_found_on_no_board_is_counted_as_its_own() {
        let outcomes = vec![
            outcome(1, vec![], Some(DEPLOY)),
            outcome(
                2,
                vec![],
                Some("payments deploy 2.14.0 holds database sessions idle"),
            ),
        ];
        let agreement = compare(&outcomes, 2, &[]);
        assert_eq!(agreement.hypotheses.len(), 1, "{agreement:#?}");
        assert_eq!(agreement.hypotheses[0].concluded_in, vec![1, 2]);
    }
}
