//! Metric tables at size, and metrics files as `hunch metrics` reads them.
//!
//! At size: sizing a table's columns from its file before they are filled (one
//! allocation per column, no doubling), and ranking a wide table a slice of series at a
//! time — the analysis copies each series it is given (its values without gaps and their
//! own times), so that copy is bounded by the slice, never the whole table.
//! [`MetricTable::rank_in`] and [`MetricTable::onset_in`] give what [`rank::rank_in`]
//! gives for the whole table: the onset from every series' vote, then every series
//! scored at that one onset.
//!
//! As files ([`MetricFile`]): a `time,<series>,…` CSV, or one whose header spans several
//! rows as pandas writes multi-level columns (the PetShop dataset: node, metric,
//! statistic, then a row naming the time index). A file is anyone's: it is read only
//! when it is a regular file of bounded size ([`read_text_file`]), every name is made
//! safe to print (no control sequences, one line), and a row that does not fit its
//! header is refused with its line and what to do — never padded, cut or guessed.

use super::MetricTable;
use crate::analysis::rank::{self, OnsetWindow, Ranking};
use crate::{sanitize, text};
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Series handed to the analysis at once: 256 × 1,440 rows cost about 9 MB of copies.
const SLICE: usize = 256;

/// How many rows a CSV of `input` can hold at most: its newlines (a quoted cell may hold
/// one, so this only ever counts too many). Read at the speed of the page cache.
pub(crate) fn line_count(mut input: impl Read) -> std::io::Result<usize> {
    let mut buffer = vec![0u8; 1 << 20];
    let mut lines = 0;
    loop {
        let read = match input.read(&mut buffer) {
            Ok(0) => return Ok(lines),
            Ok(read) => read,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        lines += memchr::memchr_iter(b'\n', &buffer[..read]).count();
    }
}

impl MetricTable {
    /// `(name, values)` pairs of the columns `keep` accepts, copied: what the analysis
    /// functions take, for a few series.
    pub fn named_series_where(&self, keep: impl Fn(&str) -> bool) -> Vec<(String, Vec<f64>)> {
        self.columns
            .iter()
            .zip(&self.values)
            .filter(|(name, _)| keep(name))
            .map(|(name, values)| (name.clone(), values.clone()))
            .collect()
    }

    /// The table's series, [`SLICE`] at a time.
    fn slices(&self) -> impl Iterator<Item = Vec<(String, Vec<f64>)>> + '_ {
        (0..self.columns.len()).step_by(SLICE).map(|start| {
            let end = (start + SLICE).min(self.columns.len());
            self.columns[start..end]
                .iter()
                .cloned()
                .zip(self.values[start..end].iter().cloned())
                .collect()
        })
    }

    /// The onset [`rank::rank_in`] finds in the whole table (the median of the votes of
    /// the series that shifted strongly, inside `window` when it is known), with only a
    /// slice of series copied at a time.
    pub fn onset_in(&self, window: Option<OnsetWindow>) -> i64 {
        let mut votes: Vec<f64> = Vec::new();
        for slice in self.slices() {
            let voted = rank::change_votes(&self.times, &slice);
            votes.extend(
                voted
                    .into_iter()
                    .filter(|&t| window.is_none_or(|w| w.contains(t as i64))),
            );
        }
        if !votes.is_empty() {
            return rank::median(&mut votes) as i64;
        }
        match window {
            // What the analysis falls back to: mid-table without a window, else the
            // window's end less one sample.
            None => self
                .times
                .get(self.times.len() / 2)
                .copied()
                .unwrap_or_default(),
            Some(window) => {
                let step = match self.times.as_slice() {
                    [.., a, b] => (b - a).max(1),
                    _ => 60,
                };
                (window.until - step).max(window.from)
            }
        }
    }

    /// [`rank::rank_in`] of every series of the table, in bounded memory: the onset from
    /// [`MetricTable::onset_in`], then each slice ranked at it, most shifted first.
    pub fn rank_in(&self, window: Option<OnsetWindow>) -> Ranking {
        let onset = self.onset_in(window);
        let mut shifts = Vec::with_capacity(self.columns.len());
        for slice in self.slices() {
            shifts.extend(rank::rank(&self.times, &slice, Some(onset)).shifts);
        }
        shifts.sort_by(|a, b| {
            b.score
                .abs()
                .total_cmp(&a.score.abs())
                .then(a.series.cmp(&b.series))
        });
        Ranking { onset, shifts }
    }
}

/// The largest metrics file [`MetricFile::read`] takes: the table it becomes, and the
/// copies the ranking makes, are a few times its size.
pub const MAX_METRIC_FILE_BYTES: u64 = 256 << 20;
/// Header rows a multi-level header may have (pandas writes one per level: a handful).
const MAX_HEADER_ROWS: usize = 32;
/// Columns a metrics file may have: every series is copied and scored.
const MAX_COLUMNS: usize = 100_000;
/// How much of a cell an error message shows.
const SHOWN_CHARS: usize = 60;

/// Why a file could not be read as text.
#[derive(Debug, thiserror::Error)]
pub enum TextFileError {
    #[error("{}: {error}", file.display())]
    Io {
        file: PathBuf,
        error: std::io::Error,
    },
    #[error("{}: a {kind}, not a regular file: save the data to a file and give that", file.display())]
    NotAFile { file: PathBuf, kind: &'static str },
    #[error("{}: larger than {} MiB: cut it to what is needed (the hours around the incident)", file.display(), limit >> 20)]
    TooLarge { file: PathBuf, limit: u64 },
    #[error("{}: not UTF-8 text (byte {offset} is not): save it as UTF-8 CSV", file.display())]
    NotUtf8 { file: PathBuf, offset: usize },
}

/// A regular file's text, `limit` bytes at most. A FIFO, a device (`/dev/zero`), a
/// socket or a directory is refused before it is opened (opening a FIFO waits for a
/// writer; a device never ends), and no more than `limit + 1` bytes are ever read.
pub fn read_text_file(path: &Path, limit: u64) -> Result<String, TextFileError> {
    let io = |error| TextFileError::Io {
        file: path.to_path_buf(),
        error,
    };
    let check = |meta: std::fs::Metadata| {
        if !meta.is_file() {
            return Err(TextFileError::NotAFile {
                file: path.to_path_buf(),
                kind: kind_of(&meta.file_type()),
            });
        }
        if meta.len() > limit {
            return Err(TextFileError::TooLarge {
                file: path.to_path_buf(),
                limit,
            });
        }
        Ok(())
    };
    check(std::fs::metadata(path).map_err(io)?)?;
    let file = std::fs::File::open(path).map_err(io)?;
    check(file.metadata().map_err(io)?)?;
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(TextFileError::TooLarge {
            file: path.to_path_buf(),
            limit,
        });
    }
    String::from_utf8(bytes).map_err(|e| TextFileError::NotUtf8 {
        file: path.to_path_buf(),
        offset: e.utf8_error().valid_up_to(),
    })
}

/// What a file that is not a regular one is, in words.
fn kind_of(kind: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "FIFO (named pipe)";
        }
        if kind.is_char_device() || kind.is_block_device() {
            return "device";
        }
        if kind.is_socket() {
            return "socket";
        }
    }
    if kind.is_dir() {
        "directory"
    } else {
        "special file"
    }
}

/// What is wrong with a metrics file's layout, at one line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LayoutError {
    #[error("no header: the first row must name the columns (`time,<series>,…`)")]
    NoHeader,
    #[error(
        "the first column must be `time`, not `{found}` (or the header spans several rows, as pandas writes multi-level columns)"
    )]
    FirstColumnNotTime { found: String },
    #[error(
        "more than {limit} header rows and still no row that starts with a time: the first column must hold the sample times (unix seconds or RFC 3339)"
    )]
    TooManyHeaderRows { limit: usize },
    #[error("{count} columns, more than the {limit} read: keep the series you need")]
    TooManyColumns { count: usize, limit: usize },
    #[error(
        "{cells} cells where the header has {expected}: every row needs one cell per column (an empty cell for a missing value); is the file cut short?"
    )]
    Width { cells: usize, expected: usize },
    #[error("column {column} has no name in any header row: name it or delete the column")]
    Unnamed { column: usize },
    #[error(
        "column {column} (`{name}`) has an empty first header row, which names its service: fill it in"
    )]
    NoService { column: usize, name: String },
    #[error("columns {first} and {second} are both `{name}`: give each series its own name")]
    Duplicate {
        name: String,
        first: usize,
        second: usize,
    },
    #[error(
        "`{cell}` is not a time (unix seconds or RFC 3339): the first column holds the sample times"
    )]
    NotATime { cell: String },
    #[error(
        "column `{column}`: `{cell}` is not a number (leave the cell empty for a missing value)"
    )]
    NotANumber { column: String, cell: String },
    #[error("times must increase from row to row: sort the rows by time and drop repeated ones")]
    TimeNotAfter,
    #[error("no data: expected a header (`time,<series>,…`) and at least one row")]
    NoData,
    #[error("{0}")]
    Csv(String),
}

/// Why a metrics file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum MetricFileError {
    #[error(transparent)]
    File(#[from] TextFileError),
    #[error("{file}:{line}: {error}")]
    Layout {
        file: String,
        line: u64,
        error: LayoutError,
    },
}

/// A metrics file read whole: its table, and each column's service when a multi-row
/// header names it (the first header row's cell, kept whole: such names hold `_` of
/// their own, `petInfo_AWS::DynamoDB::Table`).
#[derive(Debug, Clone, Default)]
pub struct MetricFile {
    pub table: MetricTable,
    pub services: BTreeMap<String, String>,
}

/// A cell as an error message shows it: on one line, cleaned, and cut short.
fn shown(cell: &str) -> String {
    text::clip(&sanitize::one_line(cell), SHOWN_CHARS)
}

/// A first cell that starts a row of data: a time, or a number that fails as one
/// (`1e300`) — a level name in a header is a word.
fn starts_data(first: &str) -> bool {
    crate::parse_time(first).is_some() || first.parse::<f64>().is_ok()
}

/// The row naming the time index (pandas writes it under a multi-level header): its
/// first cell and nothing else.
fn names_the_index(record: &csv::StringRecord) -> bool {
    record.get(0).is_some_and(|c| !c.is_empty()) && record.iter().skip(1).all(str::is_empty)
}

/// The column names (time first excluded) and each column's service, from the header
/// rows; `multi` when they are the levels of a multi-level header.
fn column_names(
    header: &[csv::StringRecord],
    multi: bool,
) -> Result<(Vec<String>, BTreeMap<String, String>), LayoutError> {
    let width = header.first().map_or(0, csv::StringRecord::len);
    if width > MAX_COLUMNS + 1 {
        return Err(LayoutError::TooManyColumns {
            count: width - 1,
            limit: MAX_COLUMNS,
        });
    }
    let mut names = Vec::with_capacity(width.saturating_sub(1));
    let mut services = BTreeMap::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for column in 1..width {
        let parts: Vec<String> = header
            .iter()
            .map(|row| sanitize::one_line(row.get(column).unwrap_or_default()))
            .collect();
        let name = parts
            .iter()
            .filter(|p| !p.is_empty())
            .cloned()
            .collect::<Vec<_>>()
            .join("_");
        if name.is_empty() {
            return Err(LayoutError::Unnamed { column: column + 1 });
        }
        if multi {
            if parts[0].is_empty() {
                return Err(LayoutError::NoService {
                    column: column + 1,
                    name,
                });
            }
            services.insert(name.clone(), parts[0].clone());
        }
        if let Some(first) = seen.insert(name.clone(), column + 1) {
            return Err(LayoutError::Duplicate {
                name,
                first,
                second: column + 1,
            });
        }
        names.push(name);
    }
    Ok((names, services))
}

impl MetricFile {
    /// A metrics file from disk: a regular file of at most [`MAX_METRIC_FILE_BYTES`],
    /// UTF-8, laid out as [`MetricFile::parse`] reads.
    pub fn read(path: &Path) -> Result<MetricFile, MetricFileError> {
        let text = read_text_file(path, MAX_METRIC_FILE_BYTES)?;
        MetricFile::parse(&text, &path.display().to_string())
    }

    /// A metrics CSV: a `time` header then one column per series, or a header of several
    /// rows (pandas' multi-level columns: each column's name is its levels joined by
    /// `_`, `<node>_<metric>_<statistic>`, and its service the first level), optionally
    /// followed by a row naming the time index. Times are unix seconds (integer or
    /// fractional) or RFC 3339 and must increase; an empty cell is a missing value.
    /// Errors name the file, the line and what to do.
    pub fn parse(text: &str, file: &str) -> Result<MetricFile, MetricFileError> {
        let at = |line: u64, error: LayoutError| MetricFileError::Layout {
            file: file.to_string(),
            line,
            error,
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let mut record = csv::StringRecord::new();
        let mut read = |record: &mut csv::StringRecord| -> Result<Option<u64>, MetricFileError> {
            match reader.read_record(record) {
                Ok(true) => Ok(Some(record.position().map_or(0, |p| p.line()))),
                Ok(false) => Ok(None),
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line());
                    Err(at(line, LayoutError::Csv(e.to_string())))
                }
            }
        };
        // The header rows: up to the first row that starts with a time, or past the row
        // naming the time index.
        let mut header: Vec<csv::StringRecord> = Vec::new();
        let mut index_row = false;
        let mut line = read(&mut record)?;
        while let Some(n) = line {
            let first = record.get(0).unwrap_or_default();
            if starts_data(first) {
                break;
            }
            if header.len() == MAX_HEADER_ROWS {
                return Err(at(
                    n,
                    LayoutError::TooManyHeaderRows {
                        limit: MAX_HEADER_ROWS,
                    },
                ));
            }
            if !header.is_empty() && names_the_index(&record) {
                index_row = true;
                line = read(&mut record)?;
                break;
            }
            let plain = header.is_empty() && first.eq_ignore_ascii_case("time");
            if let Some(expected) = header.first().map(csv::StringRecord::len)
                && record.len() != expected
            {
                let cells = record.len();
                return Err(at(n, LayoutError::Width { cells, expected }));
            }
            header.push(record.clone());
            line = read(&mut record)?;
            if plain {
                break;
            }
        }
        let header_line = line.unwrap_or(header.len() as u64 + 1);
        if header.is_empty() {
            let error = if line.is_none() {
                LayoutError::NoData
            } else {
                LayoutError::NoHeader
            };
            return Err(at(1, error));
        }
        let multi = header.len() > 1;
        let first = header[0].get(0).unwrap_or_default();
        if !multi && !index_row && !first.eq_ignore_ascii_case("time") {
            let found = shown(first);
            return Err(at(1, LayoutError::FirstColumnNotTime { found }));
        }
        let (columns, services) =
            column_names(&header, multi).map_err(|e| at(header.len() as u64, e))?;
        let mut table = MetricTable {
            values: vec![Vec::new(); columns.len()],
            columns,
            ..MetricTable::default()
        };
        while let Some(n) = line {
            table.push_row(&record).map_err(|e| at(n, e))?;
            line = read(&mut record)?;
        }
        if table.times.is_empty() || table.columns.is_empty() {
            return Err(at(header_line, LayoutError::NoData));
        }
        Ok(MetricFile { table, services })
    }
}

impl MetricTable {
    /// One row of a metrics file appended: its time (after the last) and a value per
    /// column, NaN for an empty cell.
    fn push_row(&mut self, record: &csv::StringRecord) -> Result<(), LayoutError> {
        let expected = self.columns.len() + 1;
        if record.len() != expected {
            let cells = record.len();
            return Err(LayoutError::Width { cells, expected });
        }
        let cell = &record[0];
        let time = crate::parse_time(cell)
            .ok_or_else(|| LayoutError::NotATime { cell: shown(cell) })?
            .timestamp();
        if self.times.last().is_some_and(|&last| time <= last) {
            return Err(LayoutError::TimeNotAfter);
        }
        for (c, cell) in record.iter().skip(1).enumerate() {
            let value = if cell.is_empty() {
                f64::NAN
            } else {
                cell.parse().map_err(|_| LayoutError::NotANumber {
                    column: self.columns[c].clone(),
                    cell: shown(cell),
                })?
            };
            self.values[c].push(value);
        }
        self.times.push(time);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Bundle;

    /// A table wider than a slice: the demo's series, then noise, then the demo's again
    /// under other names (so votes come from more than one slice).
    fn wide() -> MetricTable {
        let demo = Bundle::demo().metrics;
        let mut table = MetricTable {
            times: demo.times.clone(),
            ..MetricTable::default()
        };
        let mut rng = 7u64;
        for n in 0..2 * SLICE {
            let values = demo
                .times
                .iter()
                .map(|_| {
                    rng = rng
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    100.0 + (rng >> 58) as f64
                })
                .collect();
            table.columns.push(format!("noise{}_x_{n}", n % 9));
            table.values.push(values);
        }
        for (copy, (name, values)) in demo.columns.iter().zip(&demo.values).enumerate() {
            table.columns.insert(copy, name.clone());
            table.values.insert(copy, values.clone());
            table.columns.push(format!("late{copy}_{name}"));
            table.values.push(values.clone());
        }
        table
    }

    #[test]
    fn slices_rank_as_the_whole_table_does() {
        let table = wide();
        assert!(table.columns.len() > 2 * SLICE);
        let fired = Bundle::demo().incident.fired_at.timestamp();
        let windows = [None, Some(OnsetWindow::of_alert(fired, None))];
        for window in windows {
            let whole = rank::rank_in(&table.times, &table.named_series(), window);
            assert_eq!(table.rank_in(window), whole, "window {window:?}");
            assert_eq!(table.onset_in(window), whole.onset);
        }
        // No votes at all: the same fallbacks.
        let flat = MetricTable {
            times: table.times.clone(),
            columns: vec!["a_x".into()],
            values: vec![vec![1.0; table.times.len()]],
            cut: None,
        };
        for window in windows {
            let whole = rank::rank_in(&flat.times, &flat.named_series(), window);
            assert_eq!(flat.rank_in(window), whole);
        }
    }

    #[test]
    fn lines_are_counted_across_reads() {
        let text = "time,a\n".repeat(300_000);
        assert_eq!(line_count(text.as_bytes()).unwrap(), 300_000);
        assert_eq!(line_count(&b"no newline"[..]).unwrap(), 0);
    }

    /// The PetShop layout: node, metric, statistic, the row naming the time index, then
    /// float unix times.
    const PETSHOP: &str = "microservice,PetSite,petInfo_AWS::DynamoDB::Table\n\
                           metric,latency,availability\n\
                           statistic,Average,Average\n\
                           unix_timestamp,,\n\
                           1700000000.0,0.1,99.9\n\
                           1700000300.0,0.2,\n";

    fn layout_error(text: &str) -> (u64, LayoutError) {
        match MetricFile::parse(text, "m.csv") {
            Err(MetricFileError::Layout { line, error, .. }) => (line, error),
            other => panic!("{text:?}: {other:?}"),
        }
    }

    #[test]
    fn multi_row_headers_are_flattened_with_each_columns_service() {
        let file = MetricFile::parse(PETSHOP, "m.csv").unwrap();
        assert_eq!(
            file.table.columns,
            [
                "PetSite_latency_Average",
                "petInfo_AWS::DynamoDB::Table_availability_Average"
            ]
        );
        assert_eq!(
            file.services["petInfo_AWS::DynamoDB::Table_availability_Average"],
            "petInfo_AWS::DynamoDB::Table"
        );
        assert_eq!(file.table.times, [1_700_000_000, 1_700_000_300]);
        assert!(file.table.values[1][1].is_nan(), "an empty cell is missing");
        let plain = MetricFile::parse("time,a_x\n1700000000,1\n", "m.csv").unwrap();
        assert_eq!(plain.table.columns, ["a_x"]);
        assert!(plain.services.is_empty());
    }

    #[test]
    fn rows_that_do_not_fit_the_header_are_refused_at_their_line() {
        let wide = PETSHOP.replace("1700000300.0,0.2,", "1700000300.0,0.2,1,2");
        assert_eq!(
            layout_error(&wide),
            (
                6,
                LayoutError::Width {
                    cells: 4,
                    expected: 3
                }
            )
        );
        let cut = &PETSHOP[..PETSHOP.len() - 5];
        assert_eq!(layout_error(cut).0, 6, "a file cut short");
        let short_header = PETSHOP.replace("metric,latency,availability", "metric,latency");
        assert!(matches!(
            layout_error(&short_header),
            (2, LayoutError::Width { .. })
        ));
        let backwards = PETSHOP.replace("1700000300.0", "1699999999.0");
        assert_eq!(layout_error(&backwards), (6, LayoutError::TimeNotAfter));
    }

    #[test]
    fn headers_that_name_no_series_or_one_twice_are_refused() {
        let twice = PETSHOP
            .replace("petInfo_AWS::DynamoDB::Table", "PetSite")
            .replace("metric,latency,availability", "metric,latency,latency");
        assert!(matches!(
            layout_error(&twice).1,
            LayoutError::Duplicate {
                first: 2,
                second: 3,
                ..
            }
        ));
        // `x_y` + `z` and `x` + `y_z` flatten alike.
        let joined = "n,x_y,x\nm,z,y_z\nt,,\n1700000000,1,2\n";
        assert!(matches!(
            layout_error(joined).1,
            LayoutError::Duplicate { .. }
        ));
        let no_service = PETSHOP.replace(",petInfo_AWS::DynamoDB::Table", ",");
        assert!(matches!(
            layout_error(&no_service).1,
            LayoutError::NoService { column: 3, .. }
        ));
        let unnamed = "n,a,\nm,x,\nt,,\n1700000000,1,2\n";
        assert_eq!(layout_error(unnamed).1, LayoutError::Unnamed { column: 3 });
    }

    #[test]
    fn a_header_that_never_ends_or_a_time_that_is_no_time_is_refused() {
        let endless = "n,a\n".repeat(10_000) + "1700000000,1\n";
        assert_eq!(
            layout_error(&endless),
            (
                33,
                LayoutError::TooManyHeaderRows {
                    limit: MAX_HEADER_ROWS
                }
            )
        );
        // A first row whose time is out of range is data, not one more header row.
        let huge = PETSHOP.replace("1700000000.0", "1e300");
        assert!(matches!(
            layout_error(&huge),
            (5, LayoutError::NotATime { .. })
        ));
        let after_index = PETSHOP.replace("1700000300.0", "garbage");
        assert!(matches!(
            layout_error(&after_index),
            (6, LayoutError::NotATime { .. })
        ));
        assert_eq!(layout_error("").1, LayoutError::NoData);
        assert_eq!(
            layout_error(&PETSHOP[..PETSHOP.find("1700").unwrap()]).1,
            LayoutError::NoData
        );
    }

    #[test]
    fn names_and_quoted_cells_are_made_safe_to_print() {
        let hostile = PETSHOP
            .replace(
                "PetSite",
                "\u{1b}]0;pwned\u{7}\u{1b}[31mPet\u{0}Site\u{202e}",
            )
            .replace("1700000300.0,0.2,", "1700000300.0,\u{1b}[2J0.2,");
        let (_, error) = layout_error(&hostile);
        let LayoutError::NotANumber { column, cell } = &error else {
            panic!("{error:?}");
        };
        assert_eq!(column, "PetSite_latency_Average");
        assert_eq!(cell, "0.2");
        let long = format!("time,a\n{},1\n", "9".repeat(100) + "x");
        let message = layout_error(&long).1.to_string();
        assert!(message.len() < 200 && message.contains('…'), "{message}");
        let quoted = "n,\"a\nb\"\nm,x\nt,\n1700000000,1\n";
        let file = MetricFile::parse(quoted, "m.csv").unwrap();
        assert_eq!(file.table.columns, ["a b_x"]);
    }

    #[test]
    fn only_regular_files_of_bounded_size_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.csv");
        std::fs::write(&path, "x".repeat(100)).unwrap();
        assert!(matches!(
            read_text_file(&path, 99),
            Err(TextFileError::TooLarge { .. })
        ));
        assert_eq!(read_text_file(&path, 100).unwrap().len(), 100);
        assert!(matches!(
            read_text_file(dir.path(), 100),
            Err(TextFileError::NotAFile {
                kind: "directory",
                ..
            })
        ));
        assert!(matches!(
            read_text_file(Path::new("/dev/zero"), 100),
            Err(TextFileError::NotAFile { kind: "device", .. })
        ));
        std::fs::write(&path, b"time,a\n\xff").unwrap();
        assert!(matches!(
            read_text_file(&path, 100),
            Err(TextFileError::NotUtf8 { offset: 7, .. })
        ));
    }
}
