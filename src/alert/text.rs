//! Plain alert text, read as well as it can be: the time it gives ("since 23:19",
//! "at 02:10 UTC", "started 02:10:05") and the known services it names, matched
//! tolerantly ("orders API" is `orders-api`, "Payments" is `payments`). What was
//! understood is said back ([`Reading::said`]) so the engineer sees how hunch read it.

use chrono::{DateTime, Utc};

/// What a text was read as.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reading {
    /// When the text says the problem began, on the day before `now` at the latest.
    pub since: Option<DateTime<Utc>>,
    /// Known services the text names, in the order it names them.
    pub services: Vec<String>,
}

impl Reading {
    /// What was understood, in words (`None` when nothing was).
    pub fn said(&self) -> Option<String> {
        let mut parts = Vec::new();
        if !self.services.is_empty() {
            parts.push(format!("service {}", self.services.join(", ")));
        }
        if let Some(since) = self.since {
            parts.push(format!("since {}", since.format("%H:%M:%S UTC (%Y-%m-%d)")));
        }
        (!parts.is_empty()).then(|| format!("read as: {}", parts.join("; ")))
    }
}

/// Read `text` against the services the environment knows, at `now`.
pub fn read(text: &str, services: &[String], now: DateTime<Utc>) -> Reading {
    Reading {
        since: time_in(text, now),
        services: services_in(text, services),
    }
}

/// The time a text gives with `since`, `at`, `from` or `started` (a clock time, UTC),
/// on the day of `now` (the day before when that would be after `now`).
pub fn time_in(text: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let pattern = regex::Regex::new(
        r"(?i)\b(?:since|at|from|started(?:\s+at)?|starting)\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*(utc|z|gmt)?\b",
    )
    .expect("the pattern compiles");
    let caps = pattern.captures(text)?;
    let number = |i: usize| {
        caps.get(i)
            .map_or(Some(0), |m| m.as_str().parse::<i64>().ok())
    };
    let (h, m, s) = (number(1)?, number(2)?, number(3)?);
    if h > 23 || m > 59 || s > 59 {
        return None;
    }
    let now_s = now.timestamp();
    let day = now_s - now_s.rem_euclid(86_400);
    let at = day + h * 3600 + m * 60 + s;
    DateTime::from_timestamp(if at > now_s { at - 86_400 } else { at }, 0)
}

/// Words of a text, lowercased, a plural `s` dropped, for tolerant comparison.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let w = w.to_lowercase();
            match w.strip_suffix('s') {
                Some(stem) if stem.len() >= 3 => stem.to_string(),
                _ => w,
            }
        })
        .collect()
}

/// The known services a text names: a service's words (`orders-api` → orders, api)
/// appearing together in the text, in any case, separated by anything, or glued.
pub fn services_in(text: &str, services: &[String]) -> Vec<String> {
    let text_words = words(text);
    let raw_words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    let glued: Vec<String> = raw_words.windows(2).map(|w| w.concat()).collect();
    let mut found: Vec<(usize, String)> = services
        .iter()
        .filter_map(|service| {
            let parts = words(service);
            if parts.is_empty() {
                return None;
            }
            let at = text_words
                .windows(parts.len())
                .position(|w| w == parts.as_slice())
                .or_else(|| {
                    // Glued (`OrdersDB`, `ordersapi`): compared whole, unstemmed.
                    let whole: String = service
                        .chars()
                        .filter(|c| c.is_alphanumeric())
                        .collect::<String>()
                        .to_lowercase();
                    raw_words
                        .iter()
                        .position(|w| *w == whole)
                        .or_else(|| glued.iter().position(|w| *w == whole))
                })?;
            Some((at, service.clone()))
        })
        .collect();
    // A service whose words are inside a longer named one (`orders` in `orders-api`
    // at the same place) is the longer one.
    let all = found.clone();
    found.retain(|(at, s)| {
        !all.iter()
            .any(|(at2, other)| other != s && at == at2 && other.len() > s.len())
    });
    found.sort();
    found.into_iter().map(|(_, s)| s).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn a_clock_time_is_the_latest_one_before_now() {
        let now = at("2026-11-25T00:40:00Z");
        assert_eq!(
            time_in("orders API p99 above 2 s since 23:19", now),
            Some(at("2026-11-24T23:19:00Z"))
        );
        assert_eq!(
            time_in("errors at 00:10 UTC", now),
            Some(at("2026-11-25T00:10:00Z"))
        );
        assert_eq!(time_in("p99 above 2 s", now), None);
        assert_eq!(time_in("since 25:10", now), None);
    }

    #[test]
    fn services_are_matched_tolerantly() {
        let services: Vec<String> = ["orders-api", "orders", "payments", "orders-db"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            services_in("orders API p99 above 2 s since 23:19", &services),
            ["orders-api"]
        );
        assert_eq!(
            services_in("Payment errors; OrdersDB saturated", &services),
            ["payments", "orders-db"]
        );
        assert!(services_in("checkout slow", &services).is_empty());
    }
}
