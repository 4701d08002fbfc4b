//! The `hunch` command line: demo, replay, sessions.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use hunch::bundle::Bundle;
use hunch::config::{Config, Paths};
use hunch::engine::gate::Approver;
use hunch::launch::{SessionSetup, current_user, launch};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser)]
#[command(name = "hunch", version, about = "An AI agent investigates a production incident alongside the engineer on call")]
struct Cli {
    #[command(subcommand)]
    command: Commands,
}

#[derive(Subcommand)]
enum Commands {
    /// Investigate the built-in demo incident (no LLM, no servers needed).
    Demo {
        /// Print events as lines instead of opening the TUI; risky calls are denied ("no approver").
        #[arg(long)]
        headless: bool,
        /// With --headless: print JSON lines.
        #[arg(long, requires = "headless")]
        json: bool,
        /// With --headless: approve every risky call instead of denying it.
        #[arg(long, requires = "headless")]
        approve_all: bool,
        /// Investigate this bundle directory instead of the embedded incident.
        #[arg(long)]
        bundle: Option<PathBuf>,
        /// Write the embedded demo bundle to this directory and exit.
        #[arg(long, value_name = "DIR", conflicts_with_all = ["headless", "bundle"])]
        write_bundle: Option<PathBuf>,
        /// Milliseconds between streamed chunks of the agent's text.
        #[arg(long, value_name = "MS")]
        pace: Option<u64>,
    },
    /// List recorded sessions, newest first.
    Sessions,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let paths = Paths::discover()?;
    let config = Config::load(&paths.config_file())?;
    match cli.command {
        Commands::Demo { headless, json, approve_all, bundle, write_bundle, pace } => {
            if let Some(dir) = write_bundle {
                Bundle::write_demo(&dir).with_context(|| format!("writing the demo bundle to {}", dir.display()))?;
                println!("wrote the demo bundle to {}", dir.display());
                return Ok(());
            }
            let bundle = match bundle {
                Some(dir) => Bundle::load(&dir).with_context(|| format!("loading the bundle {}", dir.display()))?,
                None => Bundle::demo(),
            };
            let default_pace = if headless { 0 } else { 40 };
            let setup = SessionSetup {
                bundle,
                policy: config.policy.clone(),
                approver: if approve_all { Approver::ApproveAll } else if headless { Approver::Nobody } else { Approver::Human },
                exit_when_idle: headless,
                pace: Duration::from_millis(pace.unwrap_or(default_pace)),
                user: current_user(),
            };
            run_headless(setup, &paths, json)
        }
        Commands::Sessions => {
            let sessions = hunch::session::list_sessions(&paths.sessions_dir())?;
            if sessions.is_empty() {
                println!("no sessions yet in {}", paths.sessions_dir().display());
            }
            for s in sessions {
                println!(
                    "{}  {:<40}  {:>4} steps  {}  {}",
                    s.started,
                    s.title,
                    s.steps,
                    if s.concluded { "concluded" } else { "open     " },
                    s.path.display()
                );
            }
            Ok(())
        }
    }
}

fn run_headless(setup: SessionSetup, paths: &Paths, json: bool) -> Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    let launched = launch(setup, &paths.data_dir).context("creating the session file")?;
    let session_file = launched.session_file.clone();
    let concluded = runtime.block_on(async move {
        let mut engine = launched.engine;
        let mut events = engine.subscribe();
        let run = tokio::spawn(engine.run());
        let mut printer = hunch::headless::Printer::new(std::io::stdout().lock(), json);
        while let Some(event) = events.recv().await {
            printer.print(&event)?;
        }
        let state = run.await?;
        drop(launched.handle);
        anyhow::Ok(state.conclusion.is_some())
    })?;
    eprintln!("session: {}", session_file.display());
    if !concluded {
        anyhow::bail!("the investigation ended without a conclusion");
    }
    Ok(())
}
