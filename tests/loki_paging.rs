//! Reading a long Loki window in pages, against the Loki stand-in (`tests/servers/loki.rs`,
//! which honours `start`, `end`, `limit` and `direction` as Loki does): every line once,
//! lines that share one instant across a page boundary included, and a cap that says
//! where it stopped.

mod servers;

use hunch::tools::live::loki::LokiClient;
use servers::loki::Loki;
use std::collections::BTreeMap;
use std::time::Duration;

const START: i64 = 1_800_000_000;
const SECOND: i128 = 1_000_000_000;

/// 12,000 lines four a second, with the 20 lines around the first page boundary (5,000)
/// at one instant.
fn lines() -> Vec<(i128, String)> {
    (0..12_000i128)
        .map(|i| {
            let at = if (4_990..5_010).contains(&i) {
                4_990
            } else {
                i
            };
            (
                START as i128 * SECOND + at * SECOND / 4,
                format!("request {i} served"),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_long_window_is_read_in_pages_and_a_cap_says_where_it_cut() {
    let loki = Loki::start().await;
    let labels: BTreeMap<String, String> = [("service".to_string(), "api".to_string())].into();
    loki.push(&[(labels, lines())]).await;
    let client = LokiClient::new(&loki.url, Duration::from_secs(10)).unwrap();
    let window = (START, START + 3_600);

    let all = client
        .query_pages("{service=\"api\"}", window, 5_000, 100_000)
        .await
        .unwrap();
    let read: Vec<&str> = all.streams[0]
        .entries
        .iter()
        .map(|e| e.1.as_str())
        .collect();
    assert_eq!(all.lines, 12_000);
    assert_eq!(read.len(), 12_000, "every line once");
    let mut numbers: Vec<u32> = read
        .iter()
        .map(|l| l.split(' ').nth(1).unwrap().parse().unwrap())
        .collect();
    numbers.sort_unstable();
    numbers.dedup();
    assert_eq!(numbers.len(), 12_000);
    assert_eq!((all.pages, all.cut_at), (3, None));
    assert!(all.cut_note().is_none());

    let cut = client
        .query_pages("{service=\"api\"}", window, 5_000, 6_000)
        .await
        .unwrap();
    assert_eq!(cut.pages, 2);
    assert!((6_000..12_000).contains(&cut.lines), "{}", cut.lines);
    // What was read is the start of the window, without a gap or a repeat.
    let mut read: Vec<u32> = cut.streams[0]
        .entries
        .iter()
        .map(|e| e.1.split(' ').nth(1).unwrap().parse().unwrap())
        .collect();
    read.sort_unstable();
    assert!(read.iter().copied().eq(0..cut.lines as u32));
    let last = cut.streams[0].entries.iter().map(|e| e.0).max().unwrap();
    assert_eq!(cut.cut_at, Some(last.div_euclid(SECOND as i64)));
    let note = cut.cut_note().unwrap();
    assert!(
        note.contains(&format!("cut at {} lines in 2 pages", cut.lines)),
        "{note}"
    );
}
