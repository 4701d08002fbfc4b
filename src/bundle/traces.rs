//! A bundle's traces: `traces.jsonl` (OTLP/JSON, one export request per line, as the
//! OpenTelemetry Collector's file exporter writes it) or `traces.json` (a Jaeger JSON
//! export).
//!
//! Loading a bundle only notes which file is there: spans are streamed from it each time
//! a digest or the call graph is wanted, so a bundle with millions of spans costs no
//! memory until then, and only the digest's bounded aggregates while it runs (see
//! [`crate::analysis::traces`]). The file readers here are the only I/O of the trace
//! layer; the CLI reads standard input through them too.

use super::Bundle;
use crate::analysis::traces::{Digester, TraceError, TraceFormat};
use crate::protocol::digest::{GraphEdge, TraceReport};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum TraceFileError {
    #[error("{}: {error}", .file.display())]
    Io {
        file: PathBuf,
        error: std::io::Error,
    },
    #[error("{}: {error}", .file.display())]
    Parse { file: PathBuf, error: TraceError },
}

/// A trace file and its format.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceFile {
    pub path: PathBuf,
    pub format: TraceFormat,
}

impl TraceFile {
    /// The bundle's trace file, if it has one (`traces.jsonl` first).
    pub fn find(dir: &Path) -> Option<TraceFile> {
        [
            ("traces.jsonl", TraceFormat::Otlp),
            ("traces.json", TraceFormat::Jaeger),
        ]
        .into_iter()
        .map(|(name, format)| TraceFile {
            path: dir.join(name),
            format,
        })
        .find(|f| f.path.is_file())
    }

    /// A file named on the command line (`-` for standard input): a Jaeger export when
    /// its first non-blank character opens an object whose first key is `data`,
    /// otherwise OTLP lines; the name decides when it ends in `.jsonl` or `.json`.
    pub fn named(path: &Path) -> Result<TraceFile, TraceFileError> {
        let format = match path.extension().and_then(|e| e.to_str()) {
            Some("jsonl") => TraceFormat::Otlp,
            Some("json") => sniff(path)?,
            _ if path == Path::new("-") => TraceFormat::Otlp,
            _ => sniff(path)?,
        };
        Ok(TraceFile {
            path: path.to_path_buf(),
            format,
        })
    }

    fn name(&self) -> String {
        self.path.file_name().map_or_else(
            || self.path.display().to_string(),
            |n| n.to_string_lossy().into(),
        )
    }

    fn io(&self, error: std::io::Error) -> TraceFileError {
        TraceFileError::Io {
            file: self.path.clone(),
            error,
        }
    }

    fn open(&self) -> Result<Box<dyn Read>, TraceFileError> {
        if self.path == Path::new("-") {
            return Ok(Box::new(std::io::stdin().lock()));
        }
        let file = std::fs::File::open(&self.path).map_err(|e| self.io(e))?;
        Ok(Box::new(file))
    }

    /// Stream every span of the file into `digester`.
    pub fn feed(&self, digester: &mut Digester) -> Result<(), TraceFileError> {
        let parse = |error| TraceFileError::Parse {
            file: self.path.clone(),
            error,
        };
        let mut reader = BufReader::with_capacity(1 << 16, self.open()?);
        match self.format {
            TraceFormat::Jaeger => {
                let mut bytes = Vec::new();
                reader.read_to_end(&mut bytes).map_err(|e| self.io(e))?;
                digester
                    .jaeger_document(&String::from_utf8_lossy(&bytes))
                    .map_err(parse)
            }
            TraceFormat::Otlp => {
                let mut line = Vec::new();
                loop {
                    line.clear();
                    if reader
                        .read_until(b'\n', &mut line)
                        .map_err(|e| self.io(e))?
                        == 0
                    {
                        return Ok(());
                    }
                    while matches!(line.last(), Some(b'\n' | b'\r')) {
                        line.pop();
                    }
                    // Valid UTF-8 is the rule; only a line with a bad byte is copied.
                    match std::str::from_utf8(&line) {
                        Ok(text) => digester.otlp_line(text),
                        Err(_) => digester.otlp_line(&String::from_utf8_lossy(&line)),
                    }
                    .map_err(parse)?;
                }
            }
        }
    }

    /// The digest of this file, after `baseline`'s spans when given; `onset` in unix
    /// nanoseconds.
    pub fn digest(
        &self,
        baseline: Option<&TraceFile>,
        onset: Option<i64>,
    ) -> Result<TraceReport, TraceFileError> {
        let mut digester = Digester::new(onset, baseline.is_some());
        if let Some(normal) = baseline {
            digester.set_baseline(true);
            normal.feed(&mut digester)?;
            digester.set_baseline(false);
        }
        self.feed(&mut digester)?;
        Ok(digester.finish())
    }

    /// The caller → callee pairs the spans show, most calls first.
    pub fn graph(&self) -> Result<Vec<GraphEdge>, TraceFileError> {
        let mut digester = Digester::new(None, false);
        self.feed(&mut digester)?;
        Ok(digester.finish_graph())
    }
}

/// Whether a `.json` file (or one with no telling name) is a Jaeger export.
fn sniff(path: &Path) -> Result<TraceFormat, TraceFileError> {
    let io = |error| TraceFileError::Io {
        file: path.to_path_buf(),
        error,
    };
    let mut head = [0u8; 512];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .map_err(io)?;
    let text = String::from_utf8_lossy(&head[..n]);
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    Ok(if compact.starts_with("{\"data\"") {
        TraceFormat::Jaeger
    } else {
        TraceFormat::Otlp
    })
}

/// A graph edge list as `caller,callee` CSV (header first), the format `metrics rank
/// --graph` and an environment's `graph =` read. A comma or line break inside a name
/// would break the format, so it becomes `_`.
pub fn edges_csv(edges: &[GraphEdge]) -> String {
    let clean = |s: &str| s.replace([',', '\n', '\r'], "_");
    let mut out = String::from("caller,callee\n");
    for e in edges {
        out.push_str(&format!("{},{}\n", clean(&e.caller), clean(&e.callee)));
    }
    out
}

/// `components` with every service a call names that it lacks, as an `app` (a derived
/// graph can name services `incident.toml` never listed).
pub fn with_callers(
    mut components: Vec<(String, String)>,
    calls: &[(String, String)],
) -> Vec<(String, String)> {
    for name in calls.iter().flat_map(|(a, b)| [a, b]) {
        if !components.iter().any(|(n, _)| n == name) {
            components.push((name.clone(), "app".into()));
        }
    }
    components
}

impl Bundle {
    /// The call graph the investigation walks, and where it came from when it was not
    /// declared: the `[[services]] calls` of `incident.toml`, or — when no service
    /// declares any and the bundle has traces — the pairs the spans show (with the
    /// nodes and topics it declares), and a note saying so.
    pub fn call_graph(&self) -> (Vec<(String, String)>, Option<String>) {
        let mut edges = self.incident.call_edges();
        let declared = self.incident.services.iter().any(|s| !s.calls.is_empty());
        let Some(traces) = self.traces.as_ref().filter(|_| !declared) else {
            return (edges, None);
        };
        match traces.graph() {
            Ok(derived) => {
                let n = derived.len();
                for e in derived {
                    let pair = (e.caller, e.callee);
                    if !edges.contains(&pair) {
                        edges.push(pair);
                    }
                }
                let note = format!(
                    "no call graph is declared in incident.toml: using the {n} caller → callee pairs the spans in {} show",
                    traces.name()
                );
                (edges, Some(note))
            }
            Err(e) => (
                edges,
                Some(format!(
                    "no call graph is declared, and none could be derived: {e}"
                )),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> PathBuf {
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
            .join("tests/fixtures/traces")
            .join(name)
    }

    #[test]
    fn files_are_found_by_name_and_sniffed_by_content() {
        let jaeger = TraceFile::named(&fixture("small.jaeger.json")).unwrap();
        assert_eq!(jaeger.format, TraceFormat::Jaeger);
        let otlp = TraceFile::named(&fixture("small.otlp.jsonl")).unwrap();
        assert_eq!(otlp.format, TraceFormat::Otlp);
        assert_eq!(jaeger.graph().unwrap(), otlp.graph().unwrap());
        let csv = edges_csv(&otlp.graph().unwrap());
        assert_eq!(
            crate::analysis::topology::parse_edges(&csv).unwrap().len(),
            3
        );
        assert!(csv.starts_with("caller,callee\nweb,checkout\n"), "{csv}");
    }

    #[test]
    fn a_bundle_without_declared_calls_uses_the_graph_its_spans_show() {
        let dir = tempfile::tempdir().unwrap();
        Bundle::write_demo(dir.path()).unwrap();
        std::fs::copy(fixture("small.otlp.jsonl"), dir.path().join("traces.jsonl")).unwrap();
        let declared = Bundle::load(dir.path()).unwrap();
        assert!(declared.traces.is_some());
        let (calls, note) = declared.call_graph();
        assert_eq!((calls, note), (declared.incident.call_edges(), None));
        let incident = std::fs::read_to_string(dir.path().join("incident.toml")).unwrap();
        let undeclared: String = incident
            .lines()
            .filter(|l| !l.trim_start().starts_with("calls"))
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(dir.path().join("incident.toml"), undeclared).unwrap();
        let bundle = Bundle::load(dir.path()).unwrap();
        let (calls, note) = bundle.call_graph();
        assert!(
            calls.contains(&("web".into(), "checkout".into())),
            "{calls:?}"
        );
        assert!(
            note.unwrap()
                .contains("3 caller → callee pairs the spans in traces.jsonl")
        );
    }
}
