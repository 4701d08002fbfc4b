//! The export's chart, opened in a real browser: a headless Chromium screenshot of the
//! SVG, and of the same SVG with one kind of text taken out (the title, the time axis,
//! the y scales, the onset's label, the change labels). When a screenshot without some
//! text equals the full one, that text was drawn outside the canvas (or not at all).
//! Needs `chromium` (`apt-get install chromium`); skips without it unless
//! `HUNCH_REQUIRE_SERVERS=1`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find_map(|name| {
            let out = Command::new("sh")
                .args(["-c", &format!("command -v {name}")])
                .output()
                .ok()?;
            out.status
                .success()
                .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
        })
}

/// A screenshot of `svg` as Chromium draws it, as PNG bytes.
fn screenshot(browser: &Path, dir: &Path, name: &str, svg: &str) -> Vec<u8> {
    let file = dir.join(format!("{name}.svg"));
    let png = dir.join(format!("{name}.png"));
    std::fs::write(&file, svg).unwrap();
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=960,900",
        ])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", file.display()))
        .output()
        .unwrap();
    std::fs::read(&png)
        .unwrap_or_else(|_| panic!("no screenshot: {}", String::from_utf8_lossy(&out.stderr)))
}

/// The chart without the `<text>` elements `pick` selects.
fn without(svg: &str, pick: impl Fn(&str) -> bool) -> String {
    let pattern = regex::Regex::new(r"<text[^>]*>[^<]*(?:<!--title-->)?[^<]*</text>").unwrap();
    pattern
        .replace_all(svg, |c: &regex::Captures| {
            if pick(&c[0]) {
                String::new()
            } else {
                c[0].to_string()
            }
        })
        .into_owned()
}

#[test]
fn the_chart_reads_in_a_browser_with_its_text_inside_the_canvas() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("HUNCH_REQUIRE_SERVERS").is_none(),
            "chromium is required (apt-get install chromium)"
        );
        eprintln!("skipped: no chromium (apt-get install chromium)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| common::hunch_in(dir.path(), None, args, b"");
    let (ok, _, err) = run(&["demo", "--headless", "--approve-all"]);
    assert!(ok, "{err}");
    let session = err
        .lines()
        .find_map(|l| l.strip_prefix("session: "))
        .unwrap();
    let report = dir.path().join("report.md");
    let (ok, _, err) = run(&["export", session, "-o", report.to_str().unwrap()]);
    assert!(ok, "{err}");
    let svg = std::fs::read_to_string(dir.path().join("report.svg")).unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("well-formed SVG");
    let texts: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .collect();
    assert!(
        texts
            .iter()
            .any(|t| t.contains("the series behind the conclusion")),
        "a title: {texts:?}"
    );
    assert!(texts.contains(&"time (UTC)"), "{texts:?}");
    assert!(texts.contains(&"onset"), "{texts:?}");

    let shots = dir.path().join("shots");
    std::fs::create_dir_all(&shots).unwrap();
    let full = screenshot(&browser, &shots, "full", &svg);
    let blank = screenshot(&browser, &shots, "blank", &without(&svg, |_| true));
    assert_ne!(full, blank, "the text draws inside the canvas");
    type Pick = Box<dyn Fn(&str) -> bool>;
    let parts: [(&str, Pick); 5] = [
        ("title", Box::new(|t: &str| t.contains("font-size=\"15\""))),
        (
            "time axis",
            Box::new(|t: &str| t.contains("text-anchor=\"middle\"") && t.contains(":")),
        ),
        (
            "y scales",
            Box::new(|t: &str| t.contains("text-anchor=\"end\"") && !t.contains("time (UTC)")),
        ),
        ("onset", Box::new(|t: &str| t.contains("#d62728"))),
        ("changes", Box::new(|t: &str| t.contains("#555555"))),
    ];
    for (name, pick) in parts {
        let rest = without(&svg, pick);
        assert_ne!(rest, svg, "the chart has {name} text");
        let shot = screenshot(&browser, &shots, name, &rest);
        assert_ne!(shot, full, "the {name} text is drawn inside the canvas");
    }
}
