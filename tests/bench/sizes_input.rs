//! Inputs at real sizes, generated deterministically from the embedded demo incident (so
//! nothing is stored): shared by the sizes benchmark and the size tests.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The demo bundle with `series` series × `rows` rows in its `metrics.csv`: the demo's
/// series at six samples a row (the demo's hour at six times its resolution, so the
/// incident is where it was), then noise series of made-up services.
pub fn metrics_bundle(dir: &Path, series: usize, rows: usize) -> PathBuf {
    let bundle = dir.join(format!("metrics-{series}x{rows}"));
    hunch::bundle::Bundle::write_demo(&bundle).unwrap();
    let demo = hunch::bundle::Bundle::demo().metrics;
    let step = (demo.times[1] - demo.times[0]) as f64 / 6.0;
    let mut file = std::io::BufWriter::with_capacity(
        1 << 20,
        std::fs::File::create(bundle.join("metrics.csv")).unwrap(),
    );
    let noise = series.saturating_sub(demo.columns.len());
    let mut header = String::from("time");
    for column in &demo.columns {
        header.push_str(&format!(",\"{}\"", column.replace('"', "\"\"")));
    }
    for n in 0..noise {
        header.push_str(&format!(",svc{}_noise_{}", n % 200, n / 200));
    }
    writeln!(file, "{header}").unwrap();
    let mut rng = 20u64;
    for r in 0..rows {
        let source = r / 6;
        let time = demo.times[0] as f64 + r as f64 * step;
        let mut line = format!("{time:.1}");
        for values in &demo.values {
            let v = values[source.min(values.len() - 1)];
            if v.is_finite() {
                line.push_str(&format!(",{v}"));
            } else {
                line.push(',');
            }
        }
        for _ in 0..noise {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            line.push_str(&format!(",{}", 100 + (rng >> 58)));
        }
        writeln!(file, "{line}").unwrap();
    }
    file.flush().unwrap();
    bundle
}

/// The session file `hunch` recorded under `data_dir` (its `XDG_DATA_HOME`).
pub fn recorded_session(data_dir: &Path) -> PathBuf {
    let sessions = data_dir.join("hunch/sessions");
    let day = std::fs::read_dir(&sessions)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::read_dir(day)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .unwrap()
}

/// The session `recorded` grown to about `events` events at `out`: its start, then
/// streamed reasoning text (in paragraphs, as a model writes it), then the rest of the
/// recording, renumbered.
pub fn grown_session(recorded: &Path, out: &Path, events: u64) {
    let text = std::fs::read_to_string(recorded).unwrap();
    let mut lines = text.lines();
    let mut file = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(out).unwrap());
    let mut seq = 0u64;
    let mut write = |file: &mut std::io::BufWriter<std::fs::File>, mut event: serde_json::Value| {
        event["seq"] = seq.into();
        seq += 1;
        serde_json::to_writer(&mut *file, &event).unwrap();
        file.write_all(b"\n").unwrap();
    };
    let start: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    let ts = start["ts"].clone();
    write(&mut file, start);
    let rest: Vec<&str> = lines.collect();
    for n in 0..events.saturating_sub(rest.len() as u64 + 1) {
        // Model text comes with its paragraphs: a newline every eighth delta.
        let end = if n % 8 == 7 { "\n" } else { " " };
        let text = format!("Reading the evidence, step {n}: the p99 of checkout moved.{end}");
        write(
            &mut file,
            serde_json::json!({"seq": 0, "ts": ts, "type": "reasoning_delta", "text": text}),
        );
    }
    for line in rest {
        write(&mut file, serde_json::from_str(line).unwrap());
    }
    file.flush().unwrap();
}
