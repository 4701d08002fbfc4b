//! Prometheus answers past the caps, against a real Prometheus (Debian package, history
//! loaded with promtool): a fleet of more series than a range query keeps is cut at the
//! cap, and `metrics_rank` and the `prometheus` tool say what the server answered and
//! what was kept.

mod servers;

use hunch::tools::live::prom_caps::{CAPS, Caps, parse_range};
use hunch::tools::live::{EnvironmentConfig, connect};
use serde_json::{Value, json};
use servers::Prometheus;
use std::fmt::Write as _;

/// Series past the cap.
const EXTRA: usize = 37;
/// Samples 30 s apart over the last 20 minutes.
const SAMPLES: i64 = 40;

/// `CAPS.series + EXTRA` gauges of made-up services, as OpenMetrics text.
fn fleet() -> String {
    let end = chrono::Utc::now().timestamp() - 60;
    let mut text = String::from("# TYPE queue_depth gauge\n");
    for n in 0..CAPS.series + EXTRA {
        for s in 0..SAMPLES {
            let t = end - (SAMPLES - 1 - s) * 30;
            let v = (n % 7) as i64 + s % 3;
            writeln!(
                text,
                "queue_depth{{service=\"svc{}\",pod=\"p{n}\"}} {v} {t}",
                n % 40
            )
            .unwrap();
        }
    }
    text.push_str("# EOF\n");
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_past_the_cap_is_cut_and_the_digest_says_what_it_saw() {
    let Some(prom) = Prometheus::start(&fleet()) else {
        return;
    };
    let config = EnvironmentConfig {
        prometheus: Some(prom.url.clone()),
        window_minutes: Some(30),
        timeout_seconds: Some(30),
        shell: Some(false),
        ..Default::default()
    };
    let env = connect("fleet", &config).await.unwrap();
    let answered = CAPS.series + EXTRA;
    let said = format!(
        "prometheus answered {answered} series (…): kept the first {}",
        CAPS.series
    );
    let (head, tail) = said.split_once(" (…)").unwrap();

    let ranked = env
        .tools
        .get("metrics_rank")
        .expect("metrics_rank")
        .run(&json!({}), None)
        .await
        .unwrap();
    assert!(
        ranked.digest.contains(head) && ranked.digest.contains(tail),
        "{}",
        ranked.digest
    );
    let report: Value = serde_json::from_str(&ranked.text).unwrap();
    assert_eq!(
        report["series_total"], CAPS.series,
        "only the kept are ranked"
    );
    let queried = env
        .tools
        .get("metrics_query")
        .expect("metrics_query")
        .run(&json!({"service": "svc3"}), None)
        .await
        .unwrap();
    assert!(queried.digest.contains(head), "{}", queried.digest);

    let range = env
        .tools
        .get("prometheus")
        .expect("the prometheus tool")
        .run(&json!({"query": "queue_depth", "kind": "range"}), None)
        .await
        .unwrap();
    assert!(range.digest.starts_with(&format!("{} series", CAPS.series)));
    assert!(
        range.digest.contains(head) && range.text.contains(head),
        "{}",
        range.digest
    );
    let samples = hunch::bundle::MetricTable::parse(range.raw.as_deref().unwrap(), "raw").unwrap();
    assert_eq!(samples.columns.len(), CAPS.series);

    // Under the cap, nothing is said.
    let few = env
        .tools
        .get("prometheus")
        .unwrap()
        .run(&json!({"query": "queue_depth{service=\"svc3\"}"}), None)
        .await
        .unwrap();
    assert!(!few.digest.contains("answered"), "{}", few.digest);
}

/// Bytes allocated and not yet freed on this thread, and the most there were: what
/// parsing an answer holds at its peak (other tests' threads are not counted).
struct Counting;

thread_local! {
    static LIVE: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    static PEAK: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

// SAFETY: every call is passed to the system allocator unchanged; only counted.
unsafe impl std::alloc::GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        let _ = LIVE.try_with(|live| {
            live.set(live.get() + layout.size());
            let _ = PEAK.try_with(|peak| peak.set(peak.get().max(live.get())));
        });
        // SAFETY: the caller's layout, as GlobalAlloc::alloc requires.
        unsafe { std::alloc::System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        let _ = LIVE.try_with(|live| live.set(live.get().saturating_sub(layout.size())));
        // SAFETY: `ptr` came from `alloc` above with this layout.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// The most this thread held at once while `f` ran, beyond what it held before.
fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.with(|l| l.get());
    PEAK.with(|p| p.set(base));
    let out = f();
    (out, PEAK.with(|p| p.get()) - base)
}

/// One series of `points` samples, as a range answer spells it.
fn one_series(points: usize) -> String {
    let mut body = String::from(
        r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up"},"values":["#,
    );
    for p in 0..points {
        let sep = if p == 0 { "" } else { "," };
        write!(body, "{sep}[{},\"1\"]", 1_700_000_000 + p).unwrap();
    }
    body.push_str("]}]}}");
    body
}

/// A single series of three million points (a 60 MB answer, under the body cap) with a
/// cap of 1,000 points: it is counted, not kept, and reading it never holds its points —
/// the caps bound what parsing costs, not only what is kept.
#[test]
fn a_huge_single_series_is_counted_without_being_held() {
    let body = one_series(3_000_000);
    let caps = Caps {
        series: 10,
        points: 1_000,
    };
    let (read, peak) = peak_during(|| parse_range(body.as_bytes(), caps).unwrap().unwrap());
    assert_eq!(
        (read.series.len(), read.seen, read.points_seen),
        (0, 1, 3_000_000)
    );
    assert!(
        peak < 8 << 20,
        "parsing held {} MB for a series it did not keep (the answer is {} MB)",
        peak >> 20,
        body.len() >> 20
    );
    // Under the cap the series is kept whole.
    let small = one_series(500);
    let read = parse_range(small.as_bytes(), caps).unwrap().unwrap();
    assert_eq!(read.series[0].points.len(), 500);
    assert_eq!(read.series[0].points[499], (1_700_000_499, 1.0));
}

/// A server on a local port answering every request with `body`, as a Prometheus that
/// says what it likes would.
fn answering(body: String) -> String {
    answering_recorded(body).0
}

/// [`answering`], and the request line of each request it gets.
fn answering_recorded(body: String) -> (String, std::sync::mpsc::Receiver<String>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let line = String::from_utf8_lossy(&request);
            let _ = tx.send(line.lines().next().unwrap_or_default().to_string());
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(body.as_bytes());
        }
    });
    (url, rx)
}

/// Timestamps past what a calendar holds (1e15 s), unordered, NaN, Inf, words, numbers
/// and null as values, and a label with terminal escapes (cleaned where every tool's
/// output is, in the engine): the `prometheus` tool answers, with no panic on a time it
/// can't print.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hostile_range_answer_is_read_without_a_panic() {
    let step: Vec<String> = (0..40)
        .map(|i| {
            let v = if i < 20 { "1" } else { "900" };
            format!("[{},\"{v}\"]", 1_000_000_000_000_000_i64 + i * 15)
        })
        .collect();
    let odd = r#"[5,"NaN"],[3,"+Inf"],[4,"up"],[2,7],[1,null]"#;
    let body = format!(
        r#"{{"status":"success","data":{{"resultType":"matrix","result":[{{"metric":{{"__name__":"up"}},"values":[{}]}},{{"metric":{{"__name__":"up","pod":"\u001b]0;pwned\u0007\u001b[2J"}},"values":[{odd}]}}]}}}}"#,
        step.join(",")
    );
    let config = EnvironmentConfig {
        prometheus: Some(answering(body)),
        window_minutes: Some(30),
        timeout_seconds: Some(10),
        shell: Some(false),
        ..Default::default()
    };
    let env = connect("hostile", &config).await.unwrap();
    let tool = env.tools.get("prometheus").expect("the prometheus tool");
    let out = tool
        .run(&json!({"query": "up", "kind": "range"}), None)
        .await
        .expect("the tool answers");
    assert!(out.digest.starts_with("2 series"), "{}", out.digest);
    // The change is told at the time the server gave, as a number.
    assert!(
        out.text.contains("change t=1000000000000300 1.000→900.000"),
        "{}",
        out.text
    );
    // The odd values are read (NaN, +Inf, a word, a number, null): the series is there.
    assert!(out.text.contains("pwned"), "{}", out.text);
}

/// An instant query answered with 70 MB (every series of a big fleet): read whole as a
/// JSON tree it would cost ten times that, so it is refused past its cap with words
/// that say what to narrow — as a range answer past its own cap is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instant_answer_past_its_cap_is_refused() {
    let one =
        r#"{"metric":{"__name__":"up","pod":"a-pod-with-a-long-name"},"value":[1700000000,"1"]}"#;
    let mut body = String::from(r#"{"status":"success","data":{"resultType":"vector","result":["#);
    let count = (70 << 20) / one.len();
    for n in 0..count {
        body.push_str(if n == 0 { "" } else { "," });
        body.push_str(one);
    }
    body.push_str("]}}");
    let config = EnvironmentConfig {
        prometheus: Some(answering(body)),
        timeout_seconds: Some(30),
        shell: Some(false),
        ..Default::default()
    };
    let env = connect("big", &config).await.unwrap();
    let answer = env
        .tools
        .get("prometheus")
        .unwrap()
        .run(&json!({"query": "up", "kind": "instant"}), None)
        .await;
    let Err(err) = answer else {
        panic!("a 70 MB instant answer was read whole");
    };
    assert!(
        err.to_string()
            .contains("is over 64 MB: not read — narrow the query"),
        "{err}"
    );
}

/// The label the model names for `kind: labels` goes into the URL's path: one with `/`,
/// `..`, `?` or `#` is refused, so a read-only call can't reach another path of the
/// server (or of a gateway in front of it). A label name is letters, digits and `_`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_label_name_cannot_leave_the_label_path() {
    let body = r#"{"status":"success","data":["a","b"]}"#.to_string();
    let (url, requests) = answering_recorded(body);
    let config = EnvironmentConfig {
        prometheus: Some(format!("{url}/prometheus")),
        timeout_seconds: Some(10),
        shell: Some(false),
        ..Default::default()
    };
    let env = connect("labels", &config).await.unwrap();
    let tool = env.tools.get("prometheus").unwrap();
    let labels = |label: &str| json!({"kind": "labels", "label": label});
    while requests.try_recv().is_ok() {}
    for hostile in [
        "../../../admin/tsdb/snapshot",
        "x/../../federate?match[]=up#",
        "job?x=1",
        "..",
    ] {
        let answer = tool.run(&labels(hostile), None).await;
        assert!(answer.is_err(), "{hostile} was sent");
        let sent: Vec<String> = requests.try_iter().collect();
        assert!(sent.is_empty(), "{hostile}: {sent:?}");
    }
    let out = tool.run(&labels("job"), None).await.unwrap();
    assert_eq!(out.digest, "2 values of job");
    let sent: Vec<String> = requests.try_iter().collect();
    assert_eq!(sent, ["GET /prometheus/api/v1/label/job/values HTTP/1.1"]);
}
