//! The `hunch` command line: `demo`, `investigate`, `replay`, `sessions`.
//!
//! Errors here get context for the person at the terminal (anyhow); logs go to a file in
//! the state dir, never to the terminal the TUI draws on.

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use hunch::brain::Brain;
use hunch::brain::llm::LlmBrain;
use hunch::brain::llm::providers::resolve;
use hunch::brain::offline::OfflineBrain;
use hunch::bundle::Bundle;
use hunch::config::{Config, Paths};
use hunch::engine::gate::Approver;
use hunch::event::{Budget, Origin};
use hunch::launch::{SessionSetup, Source, current_user, launch};
use hunch::redact::Redactor;
use hunch::session::{blob_store_for, read_session};
use hunch::tools::live::Reach;
use hunch::tui::app::{App, Mode};
use hunch::tui::keymap::Keymap;
use hunch::tui::replay::Replay;
use hunch::tui::theme::Theme;

mod logs_cli;
mod traces_cli;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "hunch",
    version,
    about = "An AI agent investigates a production incident alongside the engineer on call"
)]
struct Cli {
    #[command(subcommand)]
    command: Commands,
}

/// How the TUI looks and which keys it takes (only the commands that open it).
#[derive(clap::Args, Clone, Default)]
struct LookOptions {
    /// Colour theme: dark, light, high-contrast, or one in the config dir's themes/.
    #[arg(long)]
    theme: Option<String>,
    /// Keymap: default, vim, or one in the config dir's keymaps/.
    #[arg(long)]
    keymap: Option<String>,
}

#[derive(Subcommand)]
enum LogsCommand {
    /// Templates with counts, where they were first and last seen, and bursts; streams, so
    /// a log of any size fits (`-` reads stdin).
    Digest {
        file: PathBuf,
        /// Mark templates that don't occur in this earlier log as new.
        #[arg(long)]
        baseline: Option<PathBuf>,
        /// Only lines at or after this time: RFC 3339, or an age like 30m, 2h, 1d.
        #[arg(long)]
        since: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// One cluster id per input line, in order (reads stdin).
    Cluster {
        /// Print each line's template after its id, separated by a tab.
        #[arg(long)]
        templates: bool,
    },
}

#[derive(Subcommand)]
enum MetricsCommand {
    /// The series that changed when the fault began, and where (drops constant and unchanged series).
    Sift {
        /// A CSV: a `time` column, then one column per series.
        file: PathBuf,
        /// Print JSON: the onset, the kept series with their shifts, and what was dropped.
        #[arg(long)]
        json: bool,
    },
    /// Suspects, most likely first, from metrics before and during an incident (the fault
    /// time is found from the data).
    Rank {
        /// Metrics from before the incident (CSV: a `time` column, one column per series).
        #[arg(long, value_name = "FILE")]
        normal: PathBuf,
        /// Metrics from during the incident, same columns.
        #[arg(long, value_name = "FILE")]
        anomalous: PathBuf,
        /// Rank services (one per line) instead of series.
        #[arg(long, value_parser = ["series", "service"], default_value = "series")]
        by: String,
        /// How to read a series' service from its name: the first capture group of this
        /// regex, or its whole match. Default: the part before the first `_`
        /// (`carts-db_cpu` is `carts-db`). A series it does not match is its own service.
        #[arg(long, value_name = "REGEX")]
        service_regex: Option<String>,
        /// The call graph: a CSV with a `caller,callee` header and one edge per line. The
        /// service ranking then walks it: an anomalous callee that moved comparably
        /// explains its callers, so the cause comes before its symptoms (needs --by service).
        #[arg(long, value_name = "EDGES.csv")]
        graph: Option<PathBuf>,
        /// The alerting service: with --graph, causes on the paths below it come first.
        #[arg(long, value_name = "SERVICE", requires = "graph")]
        target: Option<String>,
        /// What the alerting service's alert is about (latency, errors or availability):
        /// its own moves of that kind are the symptom, not a cause (needs --target).
        #[arg(long, value_name = "KIND", requires = "target")]
        target_metric: Option<hunch::analysis::harm::Signal>,
        /// Print JSON: name, score and service of each row.
        #[arg(long)]
        json: bool,
    },
}

/// How an investigation runs: shared by `demo` and `investigate`.
#[derive(clap::Args)]
struct RunOptions {
    /// Print events as lines instead of opening the TUI; risky calls are denied ("no approver").
    #[arg(long)]
    headless: bool,
    /// With --headless: print JSON lines.
    #[arg(long, requires = "headless")]
    json: bool,
    /// With --headless: approve every risky call instead of denying it.
    #[arg(long, requires = "headless")]
    approve_all: bool,
    /// Drive the investigation with a model: provider:model, e.g. openai:gpt-5.1,
    /// ollama:qwen3:14b. Without it, the offline brain runs (no LLM).
    #[arg(long, value_name = "PROVIDER:MODEL")]
    model: Option<String>,
    /// Milliseconds between streamed chunks of the offline brain's text (default 40 in the TUI, 0 headless).
    #[arg(long, value_name = "MS")]
    pace: Option<u64>,
    /// Stop after this many tool calls.
    #[arg(long, value_name = "N")]
    max_steps: Option<u32>,
    /// Stop after the model has used this many tokens (input + output).
    #[arg(long, value_name = "N")]
    max_tokens: Option<u64>,
    /// Stop after this much wall time.
    #[arg(long, value_name = "MINUTES")]
    max_minutes: Option<u64>,
    /// Stop after this many dollars, when the provider's price is configured.
    #[arg(long, value_name = "DOLLARS")]
    max_cost: Option<f64>,
    /// Who you are in the record: your approvals, denials, edits, steering and
    /// credentials are recorded under this name (default: $USER).
    #[arg(long = "as", value_name = "NAME")]
    as_user: Option<String>,
}

#[derive(Subcommand)]
enum Commands {
    /// Investigate the built-in demo incident (no LLM, no servers needed).
    Demo {
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
    },
    /// Investigate an incident: live systems from config.toml (`--env`), or a bundle
    /// directory (`--bundle`, see the README's bundle format).
    #[command(group(clap::ArgGroup::new("source").required(true).args(["env", "bundle"])))]
    Investigate {
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
    },
    /// Replay a recorded session exactly as the engineer saw it.
    Replay {
        /// A session file (see `hunch sessions`).
        file: PathBuf,
        /// Print the session as lines (as `--headless` prints a live run) instead of
        /// opening the replay viewer.
        #[arg(long)]
        headless: bool,
        /// With --headless: print JSON lines, one event each.
        #[arg(long, requires = "headless")]
        json: bool,
        /// Keep up with a session that is still being written (as `tail -f` does), until
        /// it ends or you quit.
        #[arg(long)]
        follow: bool,
        #[command(flatten)]
        look: LookOptions,
    },
    /// Continue a quit or crashed investigation from its session file: the brain is told
    /// everything recorded, a call that was waiting for approval is asked again, one that
    /// was running is shown as interrupted and never re-run.
    Resume {
        /// A session file (see `hunch sessions`).
        file: PathBuf,
        #[command(flatten)]
        run: RunOptions,
        #[command(flatten)]
        look: LookOptions,
    },
    /// Start a new session from a recorded one, up to one of its calls, and go on with
    /// another brain (or the same): the brain is told the recording up to there.
    Fork {
        /// The parent session file (see `hunch sessions`).
        file: PathBuf,
        /// The parent's last call to keep, e.g. c3 (the fork starts after its result).
        #[arg(long, value_name = "CALL")]
        at: String,
        /// Answer the fork's tool calls from the parent's recorded outputs (same tool, same
        /// arguments); any other call fails, and nothing reaches a real system.
        #[arg(long)]
        replay_tools: bool,
        #[command(flatten)]
        run: RunOptions,
        #[command(flatten)]
        look: LookOptions,
    },
    /// A postmortem draft of a recorded session: summary, timeline (who did what),
    /// hypotheses and how they changed, the evidence, every action and who allowed it,
    /// credentials used (never their values), follow-ups; with -o FILE.md, an SVG chart
    /// of the series behind the conclusion is written beside it.
    Export {
        /// A session file (see `hunch sessions`).
        file: PathBuf,
        /// md: Markdown and the chart beside it; html: one self-contained page; json.
        #[arg(long, value_parser = ["md", "json", "html"], default_value = "md")]
        format: String,
        /// Write here instead of to stdout (the chart goes beside it, as .svg).
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Overwrite FILE (and its chart) if it exists.
        #[arg(long, requires = "output")]
        force: bool,
    },
    /// Join a running investigation from another terminal (two plain terminals, tmux, or
    /// ssh to the same machine): see it live, laid out for this terminal, and approve,
    /// deny, edit, steer or pause as yourself. Credentials are typed only on the terminal
    /// that asked for them.
    Attach {
        /// A session file; default: the newest running session that can be attached to.
        session: Option<PathBuf>,
        /// Only watch: nothing you press is sent.
        #[arg(long)]
        watch: bool,
        /// Who you are in the record (default: $USER).
        #[arg(long = "as", value_name = "NAME")]
        as_user: Option<String>,
        #[command(flatten)]
        look: LookOptions,
    },
    /// Add a concluded session to the knowledge base as a past incident (done on
    /// conclusion; this is for older sessions).
    Learn {
        /// A session file (see `hunch sessions`).
        file: PathBuf,
    },
    /// Receive alerts (Alertmanager, Grafana, PagerDuty webhooks) and open one as an
    /// investigation.
    Watch(hunch::watch::WatchArgs),
    /// List recorded sessions, newest first.
    Sessions,
    /// Log analysis: fold lines into templates.
    #[command(subcommand)]
    Logs(LogsCommand),
    /// Metric analysis: which series changed, and which service is the likely cause.
    #[command(subcommand)]
    Metrics(MetricsCommand),
    /// Trace analysis: the call graph, the slow edge and the service that got slower.
    #[command(subcommand)]
    Traces(traces_cli::TracesCommand),
    /// Show the model providers (presets and config.toml) and check that each answers.
    Models {
        /// Only list them; don't contact any endpoint.
        #[arg(long)]
        offline: bool,
    },
}

fn init_logging(paths: &Paths) -> Result<()> {
    std::fs::create_dir_all(&paths.state_dir)
        .with_context(|| format!("creating {}", paths.state_dir.display()))?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(paths.log_file())
        .with_context(|| format!("opening the log file {}", paths.log_file().display()))?;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HUNCH_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::sync::Mutex::new(file))
        .with_ansi(false)
        .init();
    Ok(())
}

struct Look {
    theme: Theme,
    keymap: Keymap,
}

fn look(options: LookOptions, config: &Config, paths: &Paths) -> Result<Look> {
    let theme_name = options
        .theme
        .or(config.theme.clone())
        .unwrap_or_else(|| "dark".into());
    let keymap_name = options
        .keymap
        .or(config.keymap.clone())
        .unwrap_or_else(|| "default".into());
    Ok(Look {
        theme: Theme::load(&theme_name, Some(&paths.config_dir))?,
        keymap: Keymap::load(&keymap_name, Some(&paths.config_dir))?,
    })
}

/// Exit codes and messages: an error is printed with its causes; output that was cut off
/// by its reader (`hunch sessions | head -2`) ends quietly, as with any Unix tool.
fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) if is_broken_pipe(&e) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    use std::io::ErrorKind::BrokenPipe;
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == BrokenPipe)
            // JSON written straight to stdout fails as a serde_json error around it.
            || cause
                .downcast_ref::<serde_json::Error>()
                .is_some_and(|e| e.io_error_kind() == Some(BrokenPipe))
    })
}

/// The TUI draws on a terminal; without one it says so before anything is recorded.
fn require_terminal(what: &str, instead: &str) -> Result<()> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        bail!("{what} needs a terminal (stdin and stdout); {instead}");
    }
    Ok(())
}

/// `--write-bundle` never overwrites: the directory must be new or empty.
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

/// A session named on the command line: a file, or the id of one under the sessions dir
/// (as `hunch sessions` lists it), or a start of an id that only one session has.
fn session_file(arg: PathBuf, paths: &Paths) -> Result<PathBuf> {
    let is_path = arg.exists() || arg.components().count() > 1;
    if is_path {
        return Ok(arg);
    }
    let query = arg.to_string_lossy();
    Ok(hunch::session::SessionSummary::find_file(
        &paths.sessions_dir(),
        &query,
    )?)
}

/// A concluded session is a finished record: resuming it would append to it.
fn refuse_concluded(file: &Path, paths: &Paths) -> Result<()> {
    let log = read_session(file)
        .with_context(|| format!("reading the session file {}", file.display()))?;
    let state = hunch::event::State::from_events(&log.events);
    if state.conclusion.is_none() {
        return Ok(());
    }
    // Its id when that names it, else its path.
    let id = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|id| session_file(PathBuf::from(id), paths).ok().as_deref() == Some(file))
        .unwrap_or_else(|| file.display().to_string());
    let at = state
        .calls
        .iter()
        .rev()
        .find(|c| c.output.is_some())
        .map_or("CALL".to_string(), |c| c.id.clone());
    bail!(
        "{} has concluded: resuming would append to a finished record. To go on from it, start a new session: hunch fork {id} --at {at}",
        file.display(),
    )
}

fn run() -> Result<()> {
    let cli = Cli::parse();
    let paths = Paths::discover()?;
    init_logging(&paths)?;
    let config = Config::load(&paths.config_file())?;
    match cli.command {
        Commands::Demo {
            run,
            look: look_options,
            bundle,
            write_bundle,
        } => {
            if let Some(dir) = write_bundle {
                ensure_new_directory(&dir)?;
                Bundle::write_demo(&dir)
                    .with_context(|| format!("writing the demo bundle to {}", dir.display()))?;
                println!("wrote the demo bundle to {}", dir.display());
                return Ok(());
            }
            let bundle = match bundle {
                Some(dir) => Bundle::load_reporting(&dir)
                    .with_context(|| format!("loading the bundle {}", dir.display()))?,
                None => Bundle::demo(),
            };
            let runtime = tokio::runtime::Runtime::new()?;
            investigate(
                Source::Bundle(Box::new(bundle)),
                &runtime,
                run,
                &config,
                &paths,
                look_options,
                None,
            )
        }
        Commands::Investigate {
            run,
            look: look_options,
            env,
            bundle,
            alert,
            alert_file,
            alert_index,
        } => {
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
                        &config,
                        &paths,
                        &runtime,
                        Reach::Systems,
                    )?
                }
                (None, Some(dir)) => Source::Bundle(Box::new(
                    Bundle::load_reporting(&dir)
                        .with_context(|| format!("loading the bundle {}", dir.display()))?,
                )),
                (None, None) => bail!("give --env NAME or --bundle DIR"),
            };
            if let Some(given) = given
                && let Some(said) = hunch::alert::start::apply(&mut source, given)?
            {
                eprintln!("alert {said}");
            }
            investigate(source, &runtime, run, &config, &paths, look_options, None)
        }
        Commands::Resume {
            file,
            run,
            look: look_options,
        } => {
            let file = session_file(file, &paths)?;
            // One writer per session: refused before anything is read, connected or written.
            let user = run
                .as_user
                .clone()
                .filter(|name| !name.trim().is_empty())
                .unwrap_or_else(current_user);
            let lock = match hunch::session::SessionLock::acquire(&file, &user) {
                Err(hunch::session::LockError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound =>
                {
                    bail!("no session file {}", file.display())
                }
                lock => lock?,
            };
            refuse_concluded(&file, &paths)?;
            let runtime = tokio::runtime::Runtime::new()?;
            let (source, events) =
                recorded_session(&file, &config, &paths, &runtime, Reach::Systems)?;
            let resume = hunch::launch::Resume { file, events, lock };
            investigate(
                source,
                &runtime,
                run,
                &config,
                &paths,
                look_options,
                Some(Begin::Resume(resume)),
            )
        }
        Commands::Fork {
            file,
            at,
            replay_tools,
            run,
            look: look_options,
        } => {
            let file = session_file(file, &paths)?;
            let runtime = tokio::runtime::Runtime::new()?;
            // Tools that answer from the recording reach nothing, not even to set up.
            let reach = if replay_tools {
                Reach::Nothing
            } else {
                Reach::Systems
            };
            let (source, events) = recorded_session(&file, &config, &paths, &runtime, reach)?;
            let fork = fork_of(&file, events, at, replay_tools)?;
            investigate(
                source,
                &runtime,
                run,
                &config,
                &paths,
                look_options,
                Some(Begin::Fork(fork)),
            )
        }
        Commands::Replay {
            file,
            headless: true,
            json,
            follow,
            ..
        } => {
            let file = session_file(file, &paths)?;
            if follow {
                follow_session(&file, json)
            } else {
                print_session(&file, json)
            }
        }
        Commands::Replay {
            file,
            follow,
            look: look_options,
            ..
        } => {
            let file = session_file(file, &paths)?;
            let look = look(look_options, &config, &paths)?;
            run_replay(&file, look, follow)
        }
        Commands::Models { offline } => list_models(&config, offline),
        Commands::Logs(command) => logs(command),
        Commands::Metrics(command) => metrics(command),
        Commands::Traces(command) => traces_cli::run(command),
        Commands::Export {
            file,
            format,
            output,
            force,
        } => export(
            &session_file(file, &paths)?,
            &format,
            output.as_deref(),
            force,
            &config,
        ),
        Commands::Attach {
            session,
            watch,
            as_user,
            look: look_options,
        } => {
            let look = look(look_options, &config, &paths)?;
            let user = as_user
                .filter(|name| !name.trim().is_empty())
                .unwrap_or_else(current_user);
            attach(session, watch, &user, look, &paths)
        }
        Commands::Learn { file } => {
            let redactor = Redactor::new(&config.redaction_patterns)?;
            let session = session_file(file, &paths)?;
            let path = hunch::knowledge::learn::learn(&session, &paths.data_dir, &redactor)?;
            say_learned(&session, &path);
            Ok(())
        }
        Commands::Watch(args) => {
            let redactor = Redactor::new(&config.redaction_patterns)?;
            hunch::watch::run(args, &paths, redactor)
        }
        Commands::Sessions => {
            use std::io::Write;
            let sessions = hunch::session::list_sessions(&paths.sessions_dir())?;
            let mut out = std::io::stdout().lock();
            if sessions.is_empty() {
                writeln!(out, "no sessions yet in {}", paths.sessions_dir().display())?;
            }
            for s in sessions {
                let warn = match s.warnings {
                    0 => String::new(),
                    1 => "  (1 damaged line)".to_string(),
                    n => format!("  ({n} damaged lines)"),
                };
                let cause = s
                    .root_cause
                    .as_deref()
                    .map(|c| {
                        format!(
                            "\n    root cause: {}",
                            c.chars().take(160).collect::<String>()
                        )
                    })
                    .unwrap_or_default();
                let parent = s
                    .parent
                    .as_ref()
                    .map(|(parent, at)| format!("\n    fork of {parent} after {at}"))
                    .unwrap_or_default();
                writeln!(
                    out,
                    "{}  {:<32}  {:<10} {:>3} steps  {:<14}  {}{warn}{parent}{cause}",
                    s.started,
                    s.title,
                    s.brain,
                    s.steps,
                    if s.concluded {
                        "concluded".to_string()
                    } else if s.state == hunch::session::SessionState::Running
                        && hunch::attach::attachable(&s.path)
                    {
                        "running·attach".to_string()
                    } else {
                        s.state.label()
                    },
                    s.path.display()
                )?;
            }
            Ok(())
        }
    }
}

/// A live environment from config.toml, connected (or with [`Reach::Nothing`] only set up).
fn live_source(
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
        eprintln!("warning: {warning}");
        tracing::warn!(%warning, environment = %name, "environment check");
    }
    Ok(Source::Live {
        env,
        alert,
        fired_at: None,
    })
}

/// How a session that does not start fresh begins.
enum Begin {
    Resume(hunch::launch::Resume),
    Fork(hunch::launch::Fork),
}

/// A recorded session's events, and its incident connected again from where the
/// recording says it came from.
fn recorded_session(
    file: &Path,
    config: &Config,
    paths: &Paths,
    runtime: &tokio::runtime::Runtime,
    reach: Reach,
) -> Result<(Source, Vec<hunch::event::Event>)> {
    let log = read_session(file)
        .with_context(|| format!("reading the session file {}", file.display()))?;
    for w in &log.warnings {
        eprintln!("warning: {}: {w}", file.display());
    }
    let origin = log
        .events
        .iter()
        .find_map(|e| match &e.kind {
            hunch::event::EventKind::SessionStarted { incident, .. } => {
                Some(incident.origin.clone())
            }
            _ => None,
        })
        .with_context(|| format!("{} holds no session start to resume from", file.display()))?;
    let source = match origin {
        Origin::Demo => Source::Bundle(Box::new(Bundle::demo())),
        Origin::Bundle { path, alert } => {
            let mut bundle = Bundle::load_reporting(Path::new(&path))
                .with_context(|| format!("loading the session's bundle {path}"))?;
            bundle.incident.alert = alert;
            Source::Bundle(Box::new(bundle))
        }
        Origin::Env { name, alert } => live_source(&name, alert, config, paths, runtime, reach)?,
        Origin::Unknown => bail!(
            "{} was recorded before sessions noted where their incident came from, so it can't be resumed; replay it with `hunch replay`",
            file.display()
        ),
    };
    Ok((source, log.events))
}

/// The parent's events up to the end of call `at`, and with `--replay-tools` its
/// recorded answers.
fn fork_of(
    file: &Path,
    mut events: Vec<hunch::event::Event>,
    at: String,
    replay_tools: bool,
) -> Result<hunch::launch::Fork> {
    use hunch::event::EventKind;
    let finished = |e: &hunch::event::Event| matches!(&e.kind, EventKind::ToolCallFinished { id, .. } if *id == at);
    let Some(end) = events.iter().position(finished) else {
        let calls: Vec<&str> = events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::ToolCallFinished { id, .. } => Some(id.as_str()),
                _ => None,
            })
            .collect();
        bail!(
            "{} has no finished call {at}; its calls are {}",
            file.display(),
            if calls.is_empty() {
                "none".to_string()
            } else {
                calls.join(", ")
            }
        );
    };
    let blobs = hunch::session::blob_store_for(file);
    let replay = replay_tools.then(|| recorded_answers(&events, &blobs));
    events.truncate(end + 1);
    Ok(hunch::launch::Fork {
        parent: file.to_path_buf(),
        at,
        events,
        replay,
    })
}

/// Every successful tool call of a recorded session, with its whole output.
fn recorded_answers(
    events: &[hunch::event::Event],
    blobs: &hunch::session::BlobStore,
) -> Vec<hunch::tools::replay::RecordedAnswer> {
    use hunch::brain::HistoryItem;
    let history = hunch::engine::history::HistoryFold::of(events, blobs);
    history
        .items()
        .iter()
        .filter_map(|item| match item {
            HistoryItem::ToolResult {
                id,
                tool,
                args,
                outcome: hunch::event::CallOutcome::Ok,
                output,
                raw,
                ..
            } if id.starts_with('c') => Some(hunch::tools::replay::RecordedAnswer {
                id: id.clone(),
                tool: tool.clone(),
                args: args.clone(),
                text: output.clone(),
                raw: raw.as_ref().and_then(|r| blobs.get(&r.blob).ok()),
            }),
            _ => None,
        })
        .collect()
}

fn investigate(
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
    let mut budget = Budget {
        max_steps: run.max_steps,
        max_tokens: run.max_tokens,
        max_seconds: run.max_minutes.map(|m| m * 60),
        max_cost: run.max_cost,
        price_per_mtok: None,
    };
    let redactor = std::sync::Arc::new(Redactor::new(&config.redaction_patterns)?);
    let brain: Box<dyn Brain> = match &run.model {
        Some(spec) => {
            let endpoint = resolve(spec, &config.providers, |var| std::env::var(var).ok())
                .map_err(anyhow::Error::msg)?;
            budget.price_per_mtok = endpoint.price_per_mtok;
            if run.max_cost.is_some() && budget.price_per_mtok.is_none() {
                bail!(
                    "--max-cost needs the provider's price: set price_input_per_mtok and price_output_per_mtok in [providers.{}]",
                    endpoint.provider
                );
            }
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

/// The longest line kept whole; the rest of a longer line is skipped, not buffered.
const MAX_LINE: usize = 64 * 1024;

/// Call `each` with every line of a file (or stdin for `-`), one at a time, without
/// holding the file: `\r\n` is handled, invalid UTF-8 replaced, and a line longer than
/// [`MAX_LINE`] cut there.
fn for_each_line(path: &Path, mut each: impl FnMut(&str)) -> Result<()> {
    use std::io::{BufRead, BufReader, Read};
    let input: Box<dyn Read> = if path == Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?)
    };
    let mut reader = BufReader::with_capacity(1 << 16, input);
    let mut line = Vec::with_capacity(256);
    loop {
        line.clear();
        let n = (&mut reader)
            .take(MAX_LINE as u64)
            .read_until(b'\n', &mut line)
            .with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            return Ok(());
        }
        if line.last() != Some(&b'\n') && n == MAX_LINE {
            // Skip the rest of the overlong line without keeping it.
            let mut rest = Vec::new();
            while (&mut reader)
                .take(MAX_LINE as u64)
                .read_until(b'\n', &mut rest)?
                == MAX_LINE
                && rest.last() != Some(&b'\n')
            {
                rest.clear();
            }
        }
        while matches!(line.last(), Some(b'\n' | b'\r')) {
            line.pop();
        }
        each(&String::from_utf8_lossy(&line));
    }
}

/// `--since`: RFC 3339, or an age (`90s`, `30m`, `2h`, `1d`) before now, as unix seconds.
fn parse_since(text: &str) -> Result<i64> {
    if let Some(t) = hunch::bundle::parse_time(text) {
        return Ok(t.timestamp());
    }
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => 0,
    };
    match number.parse::<i64>() {
        Ok(n) if seconds > 0 && n >= 0 => Ok(chrono::Utc::now().timestamp() - n * seconds),
        _ => bail!("--since {text}: expected an RFC 3339 time or an age like 30m, 2h, 1d"),
    }
}

fn logs(command: LogsCommand) -> Result<()> {
    use hunch::analysis::templates::{Digest, leading_time};
    use std::io::Write;
    // Buffered: `cluster` prints a line per input line, and stdout flushes every line.
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match command {
        LogsCommand::Cluster { templates } => logs_cli::cluster(templates, MAX_LINE)?,
        LogsCommand::Digest {
            file,
            baseline,
            since,
            json,
        } => {
            let since = since.as_deref().map(parse_since).transpose()?;
            let mut digest = Digest::default();
            if let Some(baseline) = baseline {
                for_each_line(&baseline, |line| digest.add_baseline(line))?;
            }
            let (mut last_time, mut skipped) = (None, 0usize);
            for_each_line(&file, |line| {
                // A line without a time (a stack trace, a continuation) belongs to the last one.
                let time = leading_time(line).or(last_time);
                last_time = time;
                if since.is_some_and(|s| time.is_some_and(|t| t < s)) {
                    skipped += 1;
                } else {
                    digest.add(line, time);
                }
            })?;
            let lines = digest.lines();
            let rows = digest.finish();
            if json {
                serde_json::to_writer_pretty(&mut out, &rows)?;
                writeln!(out)?;
            } else {
                let skipped = if skipped > 0 {
                    format!(
                        " ({} skipped)",
                        hunch::text::plural(skipped, "earlier line")
                    )
                } else {
                    String::new()
                };
                writeln!(
                    out,
                    "{} → {}{skipped}",
                    hunch::text::plural(lines, "line"),
                    hunch::text::plural(rows.len(), "template")
                )?;
                for r in rows {
                    let new = if r.new { "NEW " } else { "" };
                    let burst = r
                        .burst
                        .map(|b| {
                            format!(
                                "BURST {}/min at {} (usually {}/min) ",
                                b.count,
                                show_time(b.minute),
                                b.median_per_minute
                            )
                        })
                        .unwrap_or_default();
                    let shown = hunch::sanitize::for_display(&r.template);
                    writeln!(
                        out,
                        "{:>7}  lines {}-{}  {new}{burst}{shown}",
                        r.count, r.first_line, r.last_line
                    )?;
                }
            }
        }
    }
    out.flush().context("writing the output")?;
    Ok(())
}

fn read_table(path: &Path) -> Result<hunch::bundle::MetricTable> {
    let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let text = String::from_utf8(text).map_err(|e| {
        anyhow::anyhow!(
            "{}: not UTF-8 text (byte {})",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })?;
    let table = hunch::bundle::MetricTable::parse(&text, &path.display().to_string())?;
    if table.columns.is_empty() || table.times.is_empty() {
        bail!(
            "{}: no data: expected a header `time,<series>,…` and at least one row",
            path.display()
        );
    }
    Ok(table)
}

/// Unix seconds as RFC 3339; row numbers (from joined files) as they are.
fn show_time(t: i64) -> String {
    match chrono::DateTime::from_timestamp(t, 0) {
        Some(time) if t > 1_000_000_000 => time.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        _ => format!("row {t}"),
    }
}

fn metrics(command: MetricsCommand) -> Result<()> {
    use hunch::analysis::rank::sift;
    use hunch::bundle::{MetricTable, service_of};
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match command {
        MetricsCommand::Sift { file, json } => {
            let table = read_table(&file)?;
            let sifted = sift(&table.times, &table.named_series(), None);
            if json {
                let kept: Vec<serde_json::Value> = sifted
                    .kept
                    .iter()
                    .map(|s| serde_json::json!({"series": s.series, "score": s.score, "before": s.before, "after": s.after, "changed_at": s.changed_at}))
                    .collect();
                let doc = serde_json::json!({"onset": sifted.onset, "kept": kept, "constant": sifted.constant, "unchanged": sifted.unchanged});
                serde_json::to_writer_pretty(&mut out, &doc)?;
                writeln!(out)?;
            } else {
                let total = sifted.kept.len() + sifted.constant.len() + sifted.unchanged.len();
                writeln!(
                    out,
                    "onset at {} · kept {} of {total} series ({} constant, {} unchanged dropped)",
                    show_time(sifted.onset),
                    sifted.kept.len(),
                    sifted.constant.len(),
                    sifted.unchanged.len()
                )?;
                for s in &sifted.kept {
                    writeln!(
                        out,
                        "{:>8.1}  {:<32} {:.3} → {:.3}  changed at {}",
                        s.score,
                        s.series,
                        s.before,
                        s.after,
                        show_time(s.changed_at)
                    )?;
                }
            }
        }
        MetricsCommand::Rank {
            normal,
            anomalous,
            by,
            service_regex,
            graph,
            target,
            target_metric,
            json,
        } => {
            if graph.is_some() && by != "service" {
                bail!("--graph ranks services: add --by service");
            }
            let edges = match &graph {
                Some(path) => {
                    let text = std::fs::read_to_string(path)
                        .with_context(|| format!("reading {}", path.display()))?;
                    hunch::analysis::topology::parse_edges(&text)
                        .with_context(|| format!("{}", path.display()))?
                }
                None => Vec::new(),
            };
            let pattern = service_regex
                .as_deref()
                .map(regex::Regex::new)
                .transpose()
                .context("--service-regex is not a valid regex")?;
            let service = |series: &str| -> String {
                match &pattern {
                    Some(pattern) => pattern
                        .captures(series)
                        .and_then(|c| c.get(1).or_else(|| c.get(0)))
                        .map_or(series, |m| m.as_str())
                        .to_string(),
                    None => service_of(series).to_string(),
                }
            };
            let (normal, anomalous) = (read_table(&normal)?, read_table(&anomalous)?);
            let table = MetricTable::concat_rows(&normal, &anomalous);
            // The fault began where the anomalous rows begin: the onset is sought there,
            // from a row before to half the anomalous rows after, five minutes at most.
            // (The joined table counts rows, not seconds.)
            let window = (!anomalous.times.is_empty()).then(|| {
                let step = match anomalous.times.as_slice() {
                    [a, b, ..] => (b - a).max(1),
                    _ => 60,
                };
                let first = normal.times.len() as i64;
                let last = first + anomalous.times.len() as i64 - 1;
                hunch::analysis::rank::OnsetWindow::after_split(first, last, 1, step)
            });
            let ranking =
                hunch::analysis::rank::rank_in(&table.times, &table.named_series(), window);
            let alerted: Vec<hunch::analysis::harm::Signal> = target_metric.into_iter().collect();
            let paging = hunch::analysis::harm::Paging {
                service: target.as_deref(),
                alerted: &alerted,
            };
            let rows: Vec<(String, f64)> = if by == "service" {
                let moves = hunch::analysis::harm::services_by_harm(&ranking, service, paging);
                if graph.is_some() {
                    if let Some(target) = target
                        .as_deref()
                        .filter(|t| !edges.iter().any(|(a, b)| a == t || b == t))
                    {
                        eprintln!(
                            "warning: --target {target} is in no edge of the graph: nothing is below it, so it orders nothing"
                        );
                    }
                    hunch::analysis::topology::along_the_graph(&moves, &edges, target.as_deref())
                } else {
                    moves.into_iter().map(|m| (m.service, m.score)).collect()
                }
            } else {
                ranking
                    .shifts
                    .iter()
                    .map(|s| (s.series.clone(), s.score.abs()))
                    .collect()
            };
            if json {
                let rows: Vec<serde_json::Value> = rows
                    .iter()
                    .map(|(name, score)| {
                        let service = if by == "service" {
                            name.clone()
                        } else {
                            service(name)
                        };
                        serde_json::json!({"name": name, "score": score, "service": service})
                    })
                    .collect();
                serde_json::to_writer_pretty(&mut out, &rows)?;
                writeln!(out)?;
            } else if by == "service" {
                for (name, _) in rows {
                    writeln!(out, "{name}")?;
                }
            } else {
                for (name, score) in rows {
                    writeln!(out, "{score:>10.1}  {name}")?;
                }
            }
        }
    }
    Ok(())
}

fn list_models(config: &Config, offline: bool) -> Result<()> {
    use hunch::brain::llm::providers::{all_providers, check};
    let env = |var: &str| std::env::var(var).ok();
    let endpoints: Vec<_> = all_providers(&config.providers)
        .into_iter()
        .map(|name| {
            (
                name.clone(),
                resolve(&format!("{name}:-"), &config.providers, env),
            )
        })
        .collect();
    let verdicts: Vec<String> = if offline {
        vec![String::new(); endpoints.len()]
    } else {
        let runtime = tokio::runtime::Runtime::new()?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(4))
            .build()?;
        runtime.block_on(futures::future::join_all(endpoints.iter().map(|(_, e)| {
            let client = client.clone();
            async move {
                match e {
                    Ok(endpoint) => match check(&client, endpoint).await {
                        Ok(ok) => format!("ok, {ok}"),
                        Err(e) => format!("fails: {e}"),
                    },
                    Err(e) => format!("misconfigured: {e}"),
                }
            }
        })))
    };
    println!(
        "{:<12} {:<10} {:<40} {:<28} check",
        "provider", "dialect", "base url", "key"
    );
    for ((name, endpoint), verdict) in endpoints.iter().zip(verdicts) {
        match endpoint {
            Ok(e) => {
                let key = match (&e.api_key_env, &e.api_key) {
                    (None, _) => "none needed".to_string(),
                    (Some(var), Some(_)) => format!("${var} set"),
                    (Some(var), None) => format!("${var} NOT set"),
                };
                let dialect = format!("{:?}", e.dialect).to_lowercase();
                println!(
                    "{name:<12} {dialect:<10} {:<40} {key:<28} {verdict}",
                    e.base_url
                );
            }
            Err(e) => println!("{name:<12} {e}"),
        }
    }
    println!(
        "\nUse one with --model PROVIDER:MODEL, e.g. --model ollama:qwen3:14b; add or override providers in [providers.NAME] of config.toml."
    );
    Ok(())
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
        Ok(Err(e)) => eprintln!("warning: the session file is incomplete: {e}"),
        Err(_) => eprintln!(
            "warning: the recorder stopped unexpectedly; the session file may be incomplete"
        ),
    }
    for line in hints {
        println!("{line}");
    }
    learn_from(&session_file, paths, &redactor);
    Ok(())
}

/// A concluded session becomes a past incident the next investigation can find — when
/// a person took part (edited the board, steered, typed a credential or decided an
/// approval). A conclusion no one looked at is unverified: learned, a wrong one would be
/// recalled as evidence next time and repeat itself. `hunch learn SESSION` adds it.
fn learn_from(session_file: &Path, paths: &Paths, redactor: &Redactor) {
    use hunch::event::EventKind;
    let Ok(log) = hunch::session::read_session(session_file) else {
        return;
    };
    let a_person_took_part = log.events.iter().any(|e| match &e.kind {
        EventKind::HypothesisEdited { .. }
        | EventKind::Steering { .. }
        | EventKind::CredentialSupplied { .. } => true,
        EventKind::ApprovalDecided { by, .. } => hunch::event::decided_by_a_person(by),
        _ => false,
    });
    if !a_person_took_part {
        if log
            .events
            .iter()
            .any(|e| matches!(e.kind, EventKind::Concluded { .. }))
        {
            eprintln!(
                "not learned: no one took part in this conclusion; `hunch learn {}` adds it to the past incidents",
                session_file.display()
            );
        }
        return;
    }
    match hunch::knowledge::learn::learn(session_file, &paths.data_dir, redactor) {
        Ok(path) => say_learned(session_file, &path),
        Err(hunch::knowledge::learn::LearnError::NotConcluded(_)) => {}
        Err(e) => eprintln!("warning: not learned: {e}"),
    }
}

/// Where a session was learned: its own file, or the one that already tells the same
/// story (the same incident investigated again is not learned twice).
fn say_learned(session: &Path, learned: &Path) {
    if learned.file_stem() == session.file_stem() {
        eprintln!("learned: {}", learned.display());
    } else {
        eprintln!(
            "already learned: the same story is in {} (not written again)",
            learned.display()
        );
    }
}

/// The newest session that is running and serves attachers.
fn newest_attachable(paths: &Paths) -> Result<PathBuf> {
    let sessions = hunch::session::list_sessions(&paths.sessions_dir())?;
    sessions
        .into_iter()
        .find(|s| {
            s.state == hunch::session::SessionState::Running && hunch::attach::attachable(&s.path)
        })
        .map(|s| s.path)
        .with_context(|| {
            format!(
                "no running session to attach to in {} (start one with `hunch demo` or `hunch investigate`, or name a session file)",
                paths.sessions_dir().display()
            )
        })
}

/// A notice shown only on this terminal (never recorded).
fn local_notice(text: String) -> hunch::event::Event {
    hunch::event::Event {
        seq: u64::MAX,
        ts: chrono::Utc::now(),
        kind: hunch::event::EventKind::Notice { text },
    }
}

/// `hunch attach`: follow the session file for events, send commands over the socket.
fn attach(
    session: Option<PathBuf>,
    watch: bool,
    user: &str,
    look: Look,
    paths: &Paths,
) -> Result<()> {
    use hunch::protocol::{Command, EngineHandle, Hello, RemoteCommand};
    use tokio::io::AsyncWriteExt;
    require_terminal(
        "hunch attach",
        "`hunch replay --follow --headless FILE` prints a running session as lines",
    )?;
    let file = match session {
        Some(file) => file,
        None => newest_attachable(paths)?,
    };
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let mut stream = match hunch::attach::connect(&file).await {
            Ok(stream) => stream,
            Err(e) if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
            {
                bail!(
                    "no hunch is serving {} (it has ended, or runs on another machine); `hunch replay` shows it",
                    file.display()
                )
            }
            Err(e) => bail!("can't attach to {}: {e}", file.display()),
        };
        let hello = serde_json::to_string(&Hello {
            user: user.to_string(),
            watch,
        })? + "\n";
        stream.write_all(hello.as_bytes()).await?;
        let mut follower = hunch::session::Follower::new(&file);
        let first = follower
            .poll()
            .with_context(|| format!("reading the session file {}", file.display()))?;
        let state = hunch::event::State::from_events(
            first.events.iter().map(hunch::sanitize::clean_event).collect::<Vec<_>>().iter(),
        );
        let (events_tx, events_rx) = tokio::sync::mpsc::unbounded_channel();
        let (handle, mut commands) = EngineHandle::channel(user);
        let notices = events_tx.clone();
        tokio::spawn(async move {
            while let Some(envelope) = commands.recv().await {
                let remote = RemoteCommand::of(&envelope.command);
                let refusal = match (&envelope.command, remote) {
                    (Command::Quit, _) => return,
                    (_, Some(_)) if watch => {
                        Some("watching (--watch): nothing you press is sent".to_string())
                    }
                    (_, Some(command)) => {
                        let line = serde_json::to_string(&command).unwrap_or_default() + "\n";
                        stream.write_all(line.as_bytes()).await.err().map(|e| {
                            format!("the investigation no longer takes commands ({e})")
                        })
                    }
                    (_, None) => Some(
                        "the credential is typed on the terminal that asked for it: a secret never crosses to another terminal".to_string(),
                    ),
                };
                if let Some(text) = refusal {
                    let _ = notices.send(local_notice(text));
                }
            }
        });
        spawn_follower(&file, follower, events_tx);
        let mut app = App::new(state, Mode::Live(handle), look.keymap, look.theme);
        app.attached = true;
        app.blobs = Some(blob_store_for(&file));
        app.session_file = Some(file.clone());
        app.flash = Some(if watch {
            format!("watching {} as {user}", file.display())
        } else {
            format!("attached to {} as {user}", file.display())
        });
        hunch::tui::run(&mut app, Some(events_rx))
            .await
            .context("the terminal UI failed")
    })?;
    Ok(())
}

/// `hunch export`: the postmortem draft, cleaned and redacted like everything else —
/// the record is redacted before the draft is made, serialized or escaped.
fn export(
    file: &Path,
    format: &str,
    output: Option<&Path>,
    force: bool,
    config: &Config,
) -> Result<()> {
    use hunch::postmortem;
    let log = read_session(file)
        .with_context(|| format!("reading the session file {}", file.display()))?;
    for w in &log.warnings {
        eprintln!("warning: {}: {w}", file.display());
    }
    if log.events.is_empty() {
        bail!("{} holds no hunch events", file.display());
    }
    let redactor = Redactor::new(&config.redaction_patterns)?;
    let events = postmortem::redacted_events(&log.events, &redactor);
    let (mut draft, svg) = postmortem::prepare(&events, &blob_store_for(file), &redactor);
    let chart = output
        .filter(|_| format == "md")
        .zip(svg.clone())
        .map(|(out, svg)| (chart_path(out), svg));
    let text = match format {
        "json" => {
            draft.chart_svg = svg;
            serde_json::to_string_pretty(&draft)? + "\n"
        }
        "html" => draft.html(svg.as_deref()),
        _ => {
            let chart_name = chart
                .as_ref()
                .and_then(|(path, _)| path.file_name())
                .map(|n| n.to_string_lossy().into_owned());
            draft.markdown(chart_name.as_deref())
        }
    };
    let Some(out) = output else {
        use std::io::Write;
        std::io::stdout().lock().write_all(text.as_bytes())?;
        return Ok(());
    };
    let mut files = vec![(out.to_path_buf(), text)];
    files.extend(chart);
    if !force
        && let Some((taken, _)) = files
            .iter()
            .find(|(path, _)| path.symlink_metadata().is_ok())
    {
        bail!(
            "{} already exists: nothing was written (--force overwrites it)",
            taken.display()
        );
    }
    for (path, content) in files {
        write_export(&path, &content, force)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// The chart's file beside the draft: `report.md` → `report.svg` (`report.chart.svg` when
/// the draft itself is an .svg, so one never replaces the other).
fn chart_path(draft: &Path) -> PathBuf {
    if draft.extension().is_some_and(|e| e == "svg") {
        draft.with_extension("chart.svg")
    } else {
        draft.with_extension("svg")
    }
}

/// Write an export file; without `force`, only as a new file (never over an existing one,
/// even one that appeared since it was checked).
fn write_export(path: &Path, content: &str, force: bool) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(content.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

/// How often a followed session file is read for what was appended.
const FOLLOW_POLL: std::time::Duration = std::time::Duration::from_millis(200);

/// `hunch replay --follow --headless`: the headless printer over a session as it is
/// written, until it ends.
fn follow_session(file: &Path, json: bool) -> Result<()> {
    let mut follower = hunch::session::Follower::new(file);
    let mut printer = hunch::headless::Printer::new(std::io::stdout().lock(), json);
    loop {
        let appended = follower
            .poll()
            .with_context(|| format!("following the session file {}", file.display()))?;
        for w in &appended.warnings {
            eprintln!("warning: {}: {w}", file.display());
        }
        for event in &appended.events {
            printer.print(&hunch::sanitize::clean_event(event))?;
        }
        if follower.ended() {
            return Ok(());
        }
        std::thread::sleep(FOLLOW_POLL);
    }
}

/// Send what is appended to a followed session file to a viewer (replay or attach),
/// cleaned, until the session ends or the viewer closes; a failure is said on its screen.
fn spawn_follower(
    file: &Path,
    mut follower: hunch::session::Follower,
    sender: tokio::sync::mpsc::UnboundedSender<hunch::event::Event>,
) {
    let file = file.to_path_buf();
    tokio::spawn(async move {
        while !follower.ended() {
            tokio::time::sleep(FOLLOW_POLL).await;
            match follower.poll() {
                Ok(appended) => {
                    for event in appended.events {
                        if sender.send(hunch::sanitize::clean_event(&event)).is_err() {
                            return;
                        }
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, file = %file.display(), "following stopped");
                    let _ = sender.send(local_notice(format!("following stopped: {e}")));
                    return;
                }
            }
        }
    });
}

fn run_replay(file: &Path, look: Look, follow: bool) -> Result<()> {
    let mut follower = hunch::session::Follower::new(file);
    let log = if follow {
        let appended = follower
            .poll()
            .with_context(|| format!("reading the session file {}", file.display()))?;
        hunch::session::SessionLog {
            events: appended.events,
            warnings: appended.warnings,
        }
    } else {
        read_session(file)
            .with_context(|| format!("reading the session file {}", file.display()))?
    };
    if log.events.is_empty() {
        bail!(
            "{} holds no hunch events{}",
            file.display(),
            log.warnings
                .first()
                .map(|w| format!(" ({w})"))
                .unwrap_or_default()
        );
    }
    require_terminal(
        "the replay viewer",
        "`hunch replay --headless FILE` prints it as lines (add --json for JSON lines)",
    )?;
    let warnings: Vec<String> = log.warnings.iter().map(|w| w.to_string()).collect();
    for w in &warnings {
        eprintln!("warning: {}: {w}", file.display());
    }
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let mut replay = Replay::new(log.events, warnings.clone());
        let mut state = hunch::event::State::new();
        replay.restart(&mut state);
        let appended = follow.then(|| {
            // Caught up at once; what is written next plays as it comes.
            replay.follow_from_end(&mut state);
            let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
            spawn_follower(file, follower, sender);
            receiver
        });
        let mut app = App::new(state, Mode::Replay(replay), look.keymap, look.theme);
        app.session_file = Some(file.to_path_buf());
        app.blobs = Some(blob_store_for(file));
        app.sync_decision();
        hunch::tui::run(&mut app, appended)
            .await
            .context("the terminal UI failed")
    })?;
    for w in &warnings {
        eprintln!("warning: {}: {w}", file.display());
    }
    Ok(())
}

/// `hunch replay --headless`: a recorded session through the headless printer, every
/// string cleaned again (older files may hold raw escapes).
/// The session as headless lines, streamed: each event is printed as it is read.
fn print_session(file: &Path, json: bool) -> Result<()> {
    let mut printer = hunch::headless::Printer::new(std::io::stdout().lock(), json);
    let (mut events, mut printed) = (0usize, Ok(()));
    let warnings = hunch::session::each_event(file, &mut |event| {
        events += 1;
        if printed.is_ok() {
            printed = printer.print(&hunch::sanitize::clean_event(&event));
        }
    })
    .with_context(|| format!("reading the session file {}", file.display()))?;
    printed?;
    for w in &warnings {
        eprintln!("warning: {}: {w}", file.display());
    }
    if events == 0 {
        bail!("{} holds no hunch events", file.display());
    }
    Ok(())
}

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
            eprintln!("warning: other terminals can't attach: {e}");
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
    eprintln!("session: {}", session_file.display());
    learn_from(&session_file, paths, &redactor);
    if !concluded {
        bail!("the investigation ended without a conclusion");
    }
    Ok(())
}
