//! The `hunch` command line: the clap types and the dispatch to one module per
//! subcommand, with the few helpers several of them share (the look of the TUI, a session
//! named by id or path, the terminal check).
//!
//! Errors here get context for the person at the terminal (anyhow); logs go to a file in
//! the state dir, never to the terminal the TUI draws on. A new subcommand is a variant of
//! [`Commands`], its arguments and its code in a module of its own, and one arm in [`run`].

/// `eprintln!` that never panics: a note on stderr for the person at the terminal, left
/// unsaid when stderr is a pipe its reader closed (`hunch … 2>&1 | head`), as stdout's
/// output is.
macro_rules! note {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod ask;
mod attach;
mod export;
mod investigate;
mod learn;
mod logs;
mod logs_cluster;
mod metrics;
mod models;
mod replay;
mod resume;
mod runs;
mod sessions;
mod traces;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use hunch::config::{Config, Paths};
use hunch::redact::Redactor;
use hunch::tui::keymap::Keymap;
use hunch::tui::theme::Theme;
use std::path::PathBuf;

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
    /// Run N investigations of the incident from one snapshot (the model sampled with
    /// seeds 1..N) and compare them: the board says in how many runs each hypothesis was
    /// concluded, the conclusion states the agreement. Unattended: risky calls are denied
    /// unless --approve-all.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=i64::from(hunch::runs::MAX_RUNS)))]
    runs: Option<u32>,
    /// With --runs: at most this many runs at once (default: all).
    #[arg(long, value_name = "K", requires = "runs")]
    parallel: Option<usize>,
}

impl RunOptions {
    /// The limits the command line sets (the price per token comes from the model).
    fn budget(&self) -> hunch::event::Budget {
        hunch::event::Budget {
            max_steps: self.max_steps,
            max_tokens: self.max_tokens,
            max_seconds: self.max_minutes.map(|m| m * 60),
            max_cost: self.max_cost,
            price_per_mtok: None,
        }
    }
}

#[derive(Subcommand)]
enum Commands {
    /// Investigate the built-in demo incident (no LLM, no servers needed).
    Demo(investigate::DemoArgs),
    /// Investigate an incident: live systems from config.toml (`--env`), or a bundle
    /// directory (`--bundle`, see the README's bundle format).
    Investigate(investigate::InvestigateArgs),
    /// Replay a recorded session exactly as the engineer saw it.
    Replay(replay::ReplayArgs),
    /// Continue a quit or crashed investigation from its session file: the brain is told
    /// everything recorded, a call that was waiting for approval is asked again, one that
    /// was running is shown as interrupted and never re-run.
    Resume(resume::ResumeArgs),
    /// Start a new session from a recorded one, up to one of its calls, and go on with
    /// another brain (or the same): the brain is told the recording up to there.
    Fork(resume::ForkArgs),
    /// A postmortem draft of a recorded session: summary, timeline (who did what),
    /// hypotheses and how they changed, the evidence, every action and who allowed it,
    /// credentials used (never their values), follow-ups; with -o FILE.md, an SVG chart
    /// of the series behind the conclusion is written beside it.
    Export(export::ExportArgs),
    /// Join a running investigation from another terminal (two plain terminals, tmux, or
    /// ssh to the same machine): see it live, laid out for this terminal, and approve,
    /// deny, edit, steer or pause as yourself. Credentials are typed only on the terminal
    /// that asked for them.
    Attach(attach::AttachArgs),
    /// Add a concluded session to the knowledge base as a past incident (done on
    /// conclusion; this is for older sessions).
    Learn(learn::LearnArgs),
    /// Receive alerts (Alertmanager, Grafana, PagerDuty webhooks) and open one as an
    /// investigation.
    Watch(hunch::watch::WatchArgs),
    /// List recorded sessions, newest first.
    Sessions,
    /// Log analysis: fold lines into templates.
    #[command(subcommand)]
    Logs(logs::LogsCommand),
    /// Metric analysis: which series changed, and which service is the likely cause.
    #[command(subcommand)]
    Metrics(metrics::MetricsCommand),
    /// Trace analysis: the call graph, the slow edge and the service that got slower.
    #[command(subcommand)]
    Traces(traces::TracesCommand),
    /// Show the model providers (presets and config.toml) and check that each answers.
    Models(models::ModelsArgs),
    /// Ask a follow-up question about a recorded investigation: the brain reads the whole
    /// record and answers citing its calls; the question and the answer are added to the
    /// session (no tool runs).
    Ask(ask::AskArgs),
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

/// The theme and keymap a TUI command opens with.
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

/// The TUI draws on a terminal; without one it says so before anything is recorded.
fn require_terminal(what: &str, instead: &str) -> Result<()> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        bail!("{what} needs a terminal (stdin and stdout); {instead}");
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

/// Unix seconds as RFC 3339; row numbers (from joined files) as they are.
fn show_time(t: i64) -> String {
    match chrono::DateTime::from_timestamp(t, 0) {
        Some(time) if t > 1_000_000_000 => time.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        _ => format!("row {t}"),
    }
}

/// Parse the command line, set up logging and the config, and run the subcommand.
pub fn run() -> Result<()> {
    let cli = Cli::parse();
    // Every HTTP client (reqwest brings no TLS crypto provider of its own) uses ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let paths = Paths::discover()?;
    init_logging(&paths)?;
    let config = Config::load(&paths.config_file())?;
    match cli.command {
        Commands::Demo(args) => investigate::demo(args, &config, &paths),
        Commands::Investigate(args) => investigate::investigate_incident(args, &config, &paths),
        Commands::Resume(args) => resume::resume(args, &config, &paths),
        Commands::Fork(args) => resume::fork(args, &config, &paths),
        Commands::Replay(args) => replay::replay(args, &config, &paths),
        Commands::Models(args) => models::list_models(args, &config),
        Commands::Logs(command) => logs::logs(command),
        Commands::Metrics(command) => metrics::metrics(command),
        Commands::Traces(command) => traces::run(command),
        Commands::Export(args) => export::export_command(args, &config, &paths),
        Commands::Attach(args) => attach::attach_command(args, &config, &paths),
        Commands::Learn(args) => learn::learn_command(args, &config, &paths),
        Commands::Watch(args) => {
            let redactor = Redactor::new(&config.redaction_patterns)?;
            hunch::watch::run(args, &paths, redactor)
        }
        Commands::Sessions => sessions::list(&paths),
        Commands::Ask(args) => ask::ask(args, &config, &paths),
    }
}

/// Take a session's one-writer lock as `as_user` (or the login name), refusing a
/// session file that does not exist with a plain message.
pub(crate) fn lock_session(
    file: &std::path::Path,
    as_user: Option<String>,
) -> Result<(hunch::session::SessionLock, String)> {
    let user = as_user
        .filter(|name| !name.trim().is_empty())
        .unwrap_or_else(hunch::launch::current_user);
    match hunch::session::SessionLock::acquire(file, &user) {
        Err(hunch::session::LockError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            bail!("no session file {}", file.display())
        }
        lock => Ok((lock?, user)),
    }
}
