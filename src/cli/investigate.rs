//! `hunch demo` and `hunch investigate`, and the run they share with `resume` and `fork`:
//! the brain and budget chosen from the options, the session launched (new, resumed or
//! forked), then the TUI or the headless printer until it ends, and a concluded session
//! learned.

use super::learn::learn_from;
use super::{Look, LookOptions, RunOptions, look, require_terminal};
use anyhow::{Context, Result, bail};
use hunch::brain::Brain;
use hunch::brain::llm::Endpoint;
use hunch::brain::llm::LlmBrain;
use hunch::brain::llm::providers::resolve;
use hunch::brain::offline::OfflineBrain;
use hunch::bundle::Bundle;
use hunch::config::{Config, Paths};
use hunch::engine::gate::Approver;
use hunch::event::Budget;
use hunch::launch::{SessionSetup, Source, current_user, launch};
use hunch::redact::Redactor;
use hunch::tools::live::Reach;
use hunch::tui::app::{App, Mode};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(clap::Args)]
pub(super) struct DemoArgs {
    #[command(flatten)]
    run: RunOptions,
    #[command(flatten)]
    look: LookOptions,
    /// Investigate this bundle directory instead of the embedded incident.
    #[arg(long)]
    bundle: Option<PathBuf>,
    /// Write the embedded demo bundle to this new (or empty) directory and exit.
    #[arg(long, value_name = "DIR", conflicts_with = "bundle")]
    write_bundle: Option<PathBuf>,
}

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["env", "bundle"])))]
pub(super) struct InvestigateArgs {
    #[command(flatten)]
    run: RunOptions,
    #[command(flatten)]
    look: LookOptions,
    /// An `[environments.NAME]` from config.toml: Prometheus, Loki, kubectl, PostgreSQL, MCP.
    #[arg(long)]
    env: Option<String>,
    /// The incident bundle to investigate.
    #[arg(long)]
    bundle: Option<PathBuf>,
    /// What the pager said (required with --env unless --alert-file; overrides the
    /// bundle's incident.toml). A time ("since 23:19", "at 02:10 UTC") and the services
    /// it names are read from it.
    #[arg(long, conflicts_with = "alert_file")]
    alert: Option<String>,
    /// The alert as it arrived, `-` for stdin: an Alertmanager or Grafana webhook
    /// body, a Prometheus /api/v1/alerts answer or a PagerDuty v3 webhook.
    #[arg(long, value_name = "FILE")]
    alert_file: Option<PathBuf>,
    /// Which firing alert of the payload to investigate (default: the first).
    #[arg(long, value_name = "N", requires = "alert_file")]
    alert_index: Option<usize>,
}

/// `hunch demo`: the embedded incident (or `--bundle`), or `--write-bundle` to write it out.
pub(super) fn demo(args: DemoArgs, config: &Config, paths: &Paths) -> Result<()> {
    let DemoArgs {
        run,
        look: look_options,
        bundle,
        write_bundle,
    } = args;
    if let Some(dir) = write_bundle {
        ensure_new_directory(&dir)?;
        Bundle::write_demo(&dir)
            .with_context(|| format!("writing the demo bundle to {}", dir.display()))?;
        println!("wrote the demo bundle to {}", dir.display());
        return Ok(());
    }
    let bundle = match bundle {
        // On a screen, a splash says how far loading has got.
        Some(dir) => hunch::tui::splash::load_bundle(&dir, !run.headless)
            .with_context(|| format!("loading the bundle {}", dir.display()))?,
        None => Bundle::demo(),
    };
    let runtime = tokio::runtime::Runtime::new()?;
    investigate(
        Source::Bundle(Box::new(bundle)),
        &runtime,
        run,
        config,
        paths,
        look_options,
        None,
    )
}

/// `hunch investigate`: a live environment (`--env`) or a bundle, with the alert given.
pub(super) fn investigate_incident(
    args: InvestigateArgs,
    config: &Config,
    paths: &Paths,
) -> Result<()> {
    let InvestigateArgs {
        run,
        look: look_options,
        env,
        bundle,
        alert,
        alert_file,
        alert_index,
    } = args;
    let runtime = tokio::runtime::Runtime::new()?;
    let given = hunch::alert::start::given(alert, alert_file.as_deref(), alert_index)?;
    let mut source = match (env, bundle) {
        (Some(name), _) => {
            if given.is_none() {
                bail!("--env needs --alert \"what the pager said\" or --alert-file");
            }
            live_source(
                &name,
                String::new(),
                config,
                paths,
                &runtime,
                Reach::Systems,
            )?
        }
        (None, Some(dir)) => Source::Bundle(Box::new(
            hunch::tui::splash::load_bundle(&dir, !run.headless)
                .with_context(|| format!("loading the bundle {}", dir.display()))?,
        )),
        (None, None) => bail!("give --env NAME or --bundle DIR"),
    };
    if let Some(given) = given
        && let Some(said) = hunch::alert::start::apply(&mut source, given)?
    {
        note!("alert {said}");
    }
    investigate(source, &runtime, run, config, paths, look_options, None)
}

/// `--write-bundle` never overwrites: the directory must be new or empty.
/// The model `spec` names, resolved from the configured providers, with its price in
/// the budget; `--max-cost` needs that price.
pub(super) fn model_endpoint(
    spec: &str,
    config: &Config,
    run: &RunOptions,
    budget: &mut Budget,
) -> Result<Endpoint> {
    let endpoint = resolve(spec, &config.providers, |var| std::env::var(var).ok())?;
    budget.price_per_mtok = endpoint.price_per_mtok;
    if run.max_cost.is_some() && budget.price_per_mtok.is_none() {
        bail!(
            "--max-cost needs the provider's price: set price_input_per_mtok and price_output_per_mtok in [providers.{}]",
            endpoint.provider
        );
    }
    Ok(endpoint)
}

fn ensure_new_directory(dir: &Path) -> Result<()> {
    let occupied = std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some());
    if occupied {
        bail!(
            "{} already exists and is not empty; nothing was written (choose a new directory, so no edited file is overwritten)",
            dir.display()
        );
    }
    Ok(())
}

/// A live environment from config.toml, connected (or with [`Reach::Nothing`] only set up).
pub(super) fn live_source(
    name: &str,
    alert: String,
    config: &Config,
    paths: &Paths,
    runtime: &tokio::runtime::Runtime,
    reach: Reach,
) -> Result<Source> {
    let Some(env_config) = config.environments.get(name) else {
        let known: Vec<&str> = config.environments.keys().map(String::as_str).collect();
        bail!(
            "no [environments.{name}] in {}; {}",
            paths.config_file().display(),
            if known.is_empty() {
                "add one (see the README, \"Investigating live systems\")".to_string()
            } else {
                format!("known: {}", known.join(", "))
            }
        );
    };
    let env = runtime
        .block_on(hunch::tools::live::connect_learning(
            name,
            env_config,
            reach,
            hunch::knowledge::learn::learned(&paths.data_dir),
        ))
        .with_context(|| format!("setting up environment {name}"))?;
    for warning in &env.warnings {
        note!("warning: {warning}");
        tracing::warn!(%warning, environment = %name, "environment check");
    }
    Ok(Source::Live {
        env,
        alert,
        fired_at: None,
    })
}

/// How a session that does not start fresh begins.
pub(super) enum Begin {
    Resume(hunch::launch::Resume),
    Fork(hunch::launch::Fork),
}

/// Run an investigation from `source` with the brain, budget and screen the options ask for.
pub(super) fn investigate(
    source: Source,
    runtime: &tokio::runtime::Runtime,
    run: RunOptions,
    config: &Config,
    paths: &Paths,
    look_options: LookOptions,
    begin: Option<Begin>,
) -> Result<()> {
    if !run.headless {
        require_terminal(
            "the investigation TUI",
            "for line output run it with --headless (add --json for JSON lines)",
        )?;
    }
    let mut budget = run.budget();
    let redactor = std::sync::Arc::new(Redactor::new(&config.redaction_patterns)?);
    let brain: Box<dyn Brain> = match &run.model {
        Some(spec) => {
            let endpoint = model_endpoint(spec, config, &run, &mut budget)?;
            Box::new(LlmBrain::new(endpoint, redactor.clone())?)
        }
        None => {
            let pace = run.pace.unwrap_or(if run.headless { 0 } else { 40 });
            Box::new(OfflineBrain::new(Duration::from_millis(pace)))
        }
    };
    let mut source = source;
    if let Source::Bundle(bundle) = &mut source {
        // What earlier investigations learned is searched with the bundle's own incidents.
        bundle
            .past_incidents
            .extend(hunch::knowledge::learn::learned(&paths.data_dir));
    }
    // `--runs 1` is one investigation; `--runs 0` is refused with the other bad counts.
    if let Some(count) = run.runs.filter(|n| *n != 1) {
        if begin.is_some() {
            bail!("--runs starts new investigations from one snapshot: not with resume or fork");
        }
        return super::runs::investigate_runs(
            source,
            count,
            runtime,
            run,
            config,
            paths,
            look_options,
        );
    }
    let policy = config.policy_for(source.environment());
    let setup = SessionSetup {
        source,
        brain,
        budget,
        policy,
        approver: if run.approve_all {
            Approver::ApproveAll
        } else if run.headless {
            Approver::Nobody
        } else {
            Approver::Human
        },
        exit_when_idle: run.headless,
        user: run
            .as_user
            .clone()
            .filter(|name| !name.trim().is_empty())
            .unwrap_or_else(current_user),
        redactor,
    };
    if run.headless {
        run_headless(setup, runtime, paths, run.json, begin)
    } else {
        let look = look(look_options, config, paths)?;
        run_live(setup, runtime, paths, look, begin)
    }
}

/// Start the session: a new one, or the recorded one continued. Returns it with the
/// state the screen starts from (what the recording already shows).
fn start_session(
    setup: SessionSetup,
    paths: &Paths,
    begin: Option<Begin>,
) -> Result<(hunch::launch::Launched, hunch::event::State)> {
    let mut state = hunch::event::State::new();
    let mut show = |events: &[hunch::event::Event]| {
        for event in events {
            state.apply(&hunch::sanitize::clean_event(event));
        }
    };
    let launched = match begin {
        None => launch(setup, &paths.data_dir).context("creating the session file")?,
        Some(Begin::Resume(resume)) => {
            show(&resume.events);
            let file = resume.file.display().to_string();
            hunch::launch::launch_resumed(setup, resume)
                .with_context(|| format!("reopening the session file {file}"))?
        }
        Some(Begin::Fork(fork)) => {
            show(&fork.events);
            hunch::launch::launch_forked(setup, &paths.data_dir, fork)
                .context("creating the forked session's file")?
        }
    };
    Ok((launched, state))
}

/// The TUI over a launched session; the engine is given 5 s to end after it closes.
fn run_live(
    setup: SessionSetup,
    runtime: &tokio::runtime::Runtime,
    paths: &Paths,
    look: Look,
    begin: Option<Begin>,
) -> Result<()> {
    let redactor = setup.redactor.clone();
    let (launched, state) = start_session(setup, paths, begin)?;
    let session_file = launched.session_file.clone();
    let hints = runtime.block_on(async {
        let mut engine = launched.engine;
        let events = engine.subscribe();
        let engine_task = tokio::spawn(engine.run());
        let server = hunch::attach::serve(&session_file, launched.handle.clone());
        let mut app = App::new(state, Mode::Live(launched.handle), look.keymap, look.theme);
        app.session_file = Some(session_file.clone());
        app.blobs = Some(launched.blobs);
        if let Err(e) = &server {
            tracing::warn!(error = %e, "no attach socket");
            app.flash = Some(format!("other terminals can't attach: {e}"));
        }
        let result = hunch::tui::run(&mut app, Some(events)).await;
        drop(server);
        let hints = app.exit_hints();
        drop(app);
        // The engine ends once its handle is gone (quit was sent or the TUI closed).
        let abort = engine_task.abort_handle();
        if tokio::time::timeout(Duration::from_secs(5), engine_task)
            .await
            .is_err()
        {
            abort.abort();
        }
        result.context("the terminal UI failed")?;
        anyhow::Ok(hints)
    })?;
    match launched.recorder.join() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => note!("warning: the session file is incomplete: {e}"),
        Err(_) => {
            note!("warning: the recorder stopped unexpectedly; the session file may be incomplete")
        }
    }
    for line in hints {
        println!("{line}");
    }
    learn_from(&session_file, paths, &redactor);
    Ok(())
}

/// The headless printer over a launched session until the engine ends; it fails when
/// nothing was concluded.
fn run_headless(
    setup: SessionSetup,
    runtime: &tokio::runtime::Runtime,
    paths: &Paths,
    json: bool,
    begin: Option<Begin>,
) -> Result<()> {
    let redactor = setup.redactor.clone();
    let (launched, _) = start_session(setup, paths, begin)?;
    let session_file = launched.session_file.clone();
    let socket_for = session_file.clone();
    let recorder = launched.recorder;
    let concluded = runtime.block_on(async move {
        let mut engine = launched.engine;
        let mut events = engine.subscribe();
        let run = tokio::spawn(engine.run());
        let server = hunch::attach::serve(&socket_for, launched.handle.clone());
        if let Err(e) = &server {
            note!("warning: other terminals can't attach: {e}");
        }
        let mut printer = hunch::headless::Printer::new(std::io::stdout().lock(), json);
        // A reader that stops early (`| head -1`) ends the printing, not the
        // investigation: it runs on and is recorded in full.
        let mut reader_gone = false;
        while let Some(event) = events.recv().await {
            if reader_gone {
                continue;
            }
            match printer.print(&event) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => reader_gone = true,
                result => result?,
            }
        }
        let state = run.await?;
        drop(server);
        drop(launched.handle);
        anyhow::Ok(state.conclusion.is_some())
    })?;
    // Every event is on disk before the process ends.
    match recorder.join() {
        Ok(Ok(())) => {}
        Ok(Err(e)) => bail!("the session file is incomplete: {e}"),
        Err(_) => bail!("the recorder stopped unexpectedly; the session file may be incomplete"),
    }
    note!("session: {}", session_file.display());
    learn_from(&session_file, paths, &redactor);
    if !concluded {
        bail!("the investigation ended without a conclusion");
    }
    Ok(())
}
