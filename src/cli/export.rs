//! `hunch export`: a session's postmortem draft as Markdown (with its chart beside it),
//! one HTML page or JSON, to stdout or to a file that is never overwritten unasked.

use super::session_file;
use anyhow::{Context, Result, bail};
use hunch::config::{Config, Paths};
use hunch::redact::Redactor;
use hunch::session::blob_store_for;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub(super) struct ExportArgs {
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
}

/// `hunch export`: the draft of the session named by id or path.
pub(super) fn export_command(args: ExportArgs, config: &Config, paths: &Paths) -> Result<()> {
    export(
        &session_file(args.file, paths)?,
        &args.format,
        args.output.as_deref(),
        args.force,
        config,
    )
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
    let redactor = Redactor::new(&config.redaction_patterns)?;
    // Streamed: each event redacted as it is read, the model's streamed text left behind.
    let log = postmortem::read_for_draft(file, &redactor)
        .with_context(|| format!("reading the session file {}", file.display()))?;
    for w in &log.warnings {
        note!("warning: {}: {w}", file.display());
    }
    if log.read == 0 {
        bail!("{} holds no hunch events", file.display());
    }
    let (mut draft, svg) = postmortem::prepare(&log.events, &blob_store_for(file), &redactor);
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
        note!("wrote {}", path.display());
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
