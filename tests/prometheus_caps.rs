//! Prometheus answers past the caps, against a real Prometheus (Debian package, history
//! loaded with promtool): a fleet of more series than a range query keeps is cut at the
//! cap, and `metrics_rank` and the `prometheus` tool say what the server answered and
//! what was kept.

mod servers;

use hunch::tools::live::prom_caps::CAPS;
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
