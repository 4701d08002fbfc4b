//! `--runs N` on `demo` and `investigate`: N investigations of the incident from one
//! snapshot, compared ([`hunch::runs`]). With a model each run samples it with its own
//! seed; without one the offline brain is deterministic and its runs agree by
//! construction (said on stderr). Runs have no one at the keyboard: risky calls are
//! denied unless `--approve-all`. Headless, the group's session prints as lines; in a
//! terminal, progress goes to stderr and the group's session then opens in the replay
//! viewer, its board counting the runs.

use super::{LookOptions, RunOptions, look, replay};
use anyhow::{Result, bail};
use hunch::brain::llm::{LlmBrain, Sample};
use hunch::brain::offline::OfflineBrain;
use hunch::config::{Config, Paths};
use hunch::engine::gate::Approver;
use hunch::event::Budget;
use hunch::launch::{Source, current_user};
use hunch::redact::Redactor;
use hunch::runs::{RunBrain, Runs, run_all};
use std::sync::Arc;
use std::time::Duration;

/// The temperature every run samples at: enough for runs to differ where the evidence
/// leaves room, low enough that they still read it.
const TEMPERATURE: f32 = 0.7;

/// Run `count` investigations of `source` and compare them.
pub(super) fn investigate_runs(
    source: Source,
    count: u32,
    runtime: &tokio::runtime::Runtime,
    run: RunOptions,
    config: &Config,
    paths: &Paths,
    look_options: LookOptions,
) -> Result<()> {
    hunch::runs::check_count(count)?;
    let redactor = Arc::new(Redactor::new(&config.redaction_patterns)?);
    let mut budget = run.budget();
    let brains = brains(count, &run, &mut budget, &redactor, config)?;
    let policy = config.policy_for(source.environment());
    let runs = Runs {
        brains,
        parallel: run.parallel.unwrap_or(count as usize),
        source: copies(source),
        budget,
        policy,
        approver: if run.approve_all {
            Approver::ApproveAll
        } else {
            Approver::Nobody
        },
        user: run
            .as_user
            .clone()
            .filter(|name| !name.trim().is_empty())
            .unwrap_or_else(current_user),
        redactor,
    };
    if !run.approve_all {
        note!(
            "{count} runs go on unattended: risky calls are denied (--approve-all approves them)"
        );
    }
    let done = if run.headless {
        let mut printer = hunch::headless::Printer::new(std::io::stdout().lock(), run.json);
        let mut printing = true;
        runtime.block_on(run_all(runs, &paths.data_dir, |event| {
            printing = printing && printer.print(event).is_ok();
        }))?
    } else {
        let mut printer = hunch::headless::Printer::new(std::io::stderr().lock(), false);
        runtime.block_on(run_all(runs, &paths.data_dir, |event| {
            let _ = printer.print(event);
        }))?
    };
    for info in &done.runs {
        note!("{}: {}", info.label(), info.session);
    }
    note!("session: {}", done.session_file.display());
    if !run.headless {
        let look = look(look_options, config, paths)?;
        replay::run_replay(&done.session_file, look, false)?;
    }
    if done.state.conclusion.is_none() {
        bail!("none of the {count} runs concluded");
    }
    Ok(())
}

/// Each run's brain: the model sampled with the run's seed, or the offline brain.
fn brains(
    count: u32,
    run: &RunOptions,
    budget: &mut Budget,
    redactor: &Arc<Redactor>,
    config: &Config,
) -> Result<Vec<RunBrain>> {
    let Some(spec) = &run.model else {
        note!(
            "without --model every run is the offline brain, which is deterministic: the runs will agree by construction"
        );
        return Ok((0..count)
            .map(|_| RunBrain {
                brain: Box::new(OfflineBrain::new(Duration::ZERO)),
                seed: None,
                temperature: None,
            })
            .collect());
    };
    let endpoint = super::investigate::model_endpoint(spec, config, run, budget)?;
    (1..=u64::from(count))
        .map(|seed| {
            let sample = Sample {
                seed,
                temperature: TEMPERATURE,
            };
            let brain = LlmBrain::new(endpoint.clone(), redactor.clone())?.with_sample(sample);
            Ok(RunBrain {
                brain: Box::new(brain),
                seed: Some(seed),
                temperature: Some(TEMPERATURE),
            })
        })
        .collect()
}

/// A fresh copy of `source` for each session: a bundle cloned (each run acts on its own
/// simulated state), a live environment's tools shared.
fn copies(source: Source) -> hunch::runs::SourceFactory {
    Box::new(move || {
        Ok(match &source {
            Source::Bundle(bundle) => Source::Bundle(bundle.clone()),
            Source::Live {
                env,
                alert,
                fired_at,
            } => Source::Live {
                env: env.clone(),
                alert: alert.clone(),
                fired_at: *fired_at,
            },
        })
    })
}
