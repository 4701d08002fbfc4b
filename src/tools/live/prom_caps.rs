//! What a Prometheus range query may cost: at most [`CAPS`] series and points are kept,
//! the answer is read into typed series one at a time (never whole as a JSON tree, which
//! costs ten times its text, nor a series past the caps point by point: reading costs
//! what is kept), and a body over [`MAX_BODY_BYTES`] is refused. What the caps left out
//! is counted, so the digest can say what it saw. Answers read whole as a tree (instant
//! queries, series, labels, metadata) are refused over [`MAX_TREE_BYTES`].

use super::prometheus::PromSeries;
use crate::ToolError;
use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::collections::BTreeMap;
use std::fmt;

/// How much of a range answer is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    /// Series kept; later ones are counted, not kept.
    pub series: usize,
    /// Points kept over all the series; a series that would go past it is not kept.
    pub points: usize,
}

/// The caps of the digest tools and the `prometheus` tool: 5,000 series, two million
/// points (about 32 MB of samples; the default step gives a series about 240 points).
pub const CAPS: Caps = Caps {
    series: 5_000,
    points: 2_000_000,
};

/// The largest answer read: past it the query is refused, and the error says to narrow it.
pub(crate) const MAX_BODY_BYTES: usize = 256 << 20;

/// The largest answer read whole as a JSON tree (an instant query, series, labels,
/// metadata): such a tree costs about ten times its text, so its cap is lower.
pub(crate) const MAX_TREE_BYTES: usize = 64 << 20;

/// The series of a range answer the caps kept, and what they left out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RangeAnswer {
    pub series: Vec<PromSeries>,
    /// Series the server answered, kept or not.
    pub seen: usize,
    /// Points the server answered, kept or not.
    pub points_seen: usize,
}

impl RangeAnswer {
    /// Points kept.
    pub fn points(&self) -> usize {
        self.series.iter().map(|s| s.points.len()).sum()
    }

    /// What the caps left out, in words, when they cut: `prometheus answered 12000
    /// series (2880000 points): kept the first 5000 (the cap: 5000 series, 2000000
    /// points)`.
    pub fn cut_note(&self, caps: Caps) -> Option<String> {
        (self.series.len() < self.seen).then(|| {
            format!(
                "prometheus answered {} series ({} points): kept the first {} ({} points; the cap: {} series, {} points)",
                self.seen,
                self.points_seen,
                self.series.len(),
                self.points(),
                caps.series,
                caps.points
            )
        })
    }

    /// `other`'s series after these, within what `caps` leaves.
    pub fn absorb(&mut self, other: RangeAnswer, caps: Caps) {
        self.seen += other.seen;
        self.points_seen += other.points_seen;
        let mut points = self.points();
        for s in other.series {
            if self.series.len() < caps.series && points + s.points.len() <= caps.points {
                points += s.points.len();
                self.series.push(s);
            }
        }
    }
}

/// A Prometheus answer to a range query, read with `caps`: `Ok` with the kept series,
/// or the server's own error (`errorType`, `error`); `None` when it is not an answer.
pub fn parse_range(body: &[u8], caps: Caps) -> Option<Result<RangeAnswer, ToolError>> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let envelope = EnvelopeSeed(caps).deserialize(&mut de).ok()?;
    match envelope.status.as_deref() {
        Some("success") => Some(Ok(envelope.answer.unwrap_or_default())),
        Some("error") => Some(Err(ToolError::Failed(format!(
            "prometheus {}: {}",
            envelope.error_type.as_deref().unwrap_or("error"),
            envelope.error.as_deref().unwrap_or("no message")
        )))),
        _ => None,
    }
}

/// A sample's value: a string as Prometheus writes it (`"1.5"`, `"+Inf"`, `"NaN"`), or a
/// number as some compatible servers do; anything else is NaN.
struct Sample(f64);

impl<'de> Deserialize<'de> for Sample {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Sample, D::Error> {
        d.deserialize_any(SampleVisitor)
    }
}

struct SampleVisitor;

impl<'de> Visitor<'de> for SampleVisitor {
    type Value = Sample;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a sample value")
    }
    fn visit_str<E>(self, v: &str) -> Result<Sample, E> {
        Ok(Sample(match v {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or(f64::NAN),
        }))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Sample, E> {
        Ok(Sample(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Sample, E> {
        Ok(Sample(v as f64))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Sample, E> {
        Ok(Sample(v as f64))
    }
    fn visit_unit<E>(self) -> Result<Sample, E> {
        Ok(Sample(f64::NAN))
    }
}

/// One series as the answer spells it (`{"metric": {…}, "values": [[t, "v"], …]}`),
/// with at most `room` points held: every point is counted, and a series longer than
/// `room` (which the caps will not keep) holds none, however long it is.
struct SeriesSeed {
    room: usize,
}

/// A series read by [`SeriesSeed`]: its points when it fits, and how many it has.
struct RawSeries {
    labels: BTreeMap<String, String>,
    points: Vec<(i64, f64)>,
    count: usize,
}

impl<'de> DeserializeSeed<'de> for SeriesSeed {
    type Value = RawSeries;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<RawSeries, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for SeriesSeed {
    type Value = RawSeries;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a series")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawSeries, A::Error> {
        let mut series = RawSeries {
            labels: BTreeMap::new(),
            points: Vec::new(),
            count: 0,
        };
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "metric" => series.labels = map.next_value()?,
                "values" => {
                    (series.points, series.count) = map.next_value_seed(ValuesSeed(self.room))?
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(series)
    }
}

/// `values`: the points, while there are at most `.0` of them, and their count.
struct ValuesSeed(usize);

impl<'de> DeserializeSeed<'de> for ValuesSeed {
    type Value = (Vec<(i64, f64)>, usize);
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ValuesSeed {
    type Value = (Vec<(i64, f64)>, usize);
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of [time, value] points")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let (mut points, mut count) = (Vec::new(), 0);
        while let Some((t, Sample(v))) = seq.next_element::<(f64, Sample)>()? {
            count += 1;
            if count <= self.0 {
                points.push((t as i64, v));
            } else if !points.is_empty() {
                points = Vec::new();
            }
        }
        Ok((points, count))
    }
}

#[derive(Default)]
struct Envelope {
    status: Option<String>,
    error_type: Option<String>,
    error: Option<String>,
    answer: Option<RangeAnswer>,
}

struct EnvelopeSeed(Caps);

impl<'de> DeserializeSeed<'de> for EnvelopeSeed {
    type Value = Envelope;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Envelope, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EnvelopeSeed {
    type Value = Envelope;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Prometheus answer")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Envelope, A::Error> {
        let mut envelope = Envelope::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "status" => envelope.status = map.next_value()?,
                "errorType" => envelope.error_type = map.next_value()?,
                "error" => envelope.error = map.next_value()?,
                "data" => envelope.answer = map.next_value_seed(DataSeed(self.0))?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(envelope)
    }
}

/// `data`: its `result`, read series by series; `null` is no answer.
struct DataSeed(Caps);

impl<'de> DeserializeSeed<'de> for DataSeed {
    type Value = Option<RangeAnswer>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<RangeAnswer>, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for DataSeed {
    type Value = Option<RangeAnswer>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a range query's data")
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut answer = RangeAnswer::default();
        while let Some(key) = map.next_key::<String>()? {
            if key == "result" {
                answer = map.next_value_seed(ResultSeed(self.0))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Some(answer))
    }
}

/// `result`: each series kept while the caps allow, every one counted.
struct ResultSeed(Caps);

impl<'de> DeserializeSeed<'de> for ResultSeed {
    type Value = RangeAnswer;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<RangeAnswer, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ResultSeed {
    type Value = RangeAnswer;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of series")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RangeAnswer, A::Error> {
        let caps = self.0;
        let (mut answer, mut points) = (RangeAnswer::default(), 0);
        loop {
            let room = if answer.series.len() < caps.series {
                caps.points - points
            } else {
                0
            };
            let Some(raw) = seq.next_element_seed(SeriesSeed { room })? else {
                break;
            };
            answer.seen += 1;
            answer.points_seen += raw.count;
            if answer.series.len() < caps.series && raw.count <= room {
                points += raw.count;
                answer.series.push(PromSeries {
                    labels: raw.labels,
                    points: raw.points,
                });
            }
        }
        Ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(series: usize, points: usize) -> String {
        let one = |i: usize| {
            let values: Vec<String> = (0..points)
                .map(|p| format!("[{}.5,\"{}\"]", 1000 + p * 15, i + p))
                .collect();
            format!(
                r#"{{"metric":{{"__name__":"up","pod":"p{i}"}},"values":[{}]}}"#,
                values.join(",")
            )
        };
        let all: Vec<String> = (0..series).map(one).collect();
        format!(
            r#"{{"status":"success","data":{{"resultType":"matrix","result":[{}]}},"warnings":["x"]}}"#,
            all.join(",")
        )
    }

    #[test]
    fn series_past_the_caps_are_counted_not_kept() {
        let caps = Caps {
            series: 3,
            points: 1000,
        };
        let read = parse_range(answer(5, 4).as_bytes(), caps).unwrap().unwrap();
        assert_eq!((read.series.len(), read.seen, read.points_seen), (3, 5, 20));
        assert_eq!(read.series[2].labels["pod"], "p2");
        assert_eq!(read.series[0].points[1], (1015, 1.0));
        let note = read.cut_note(caps).unwrap();
        assert!(
            note.starts_with("prometheus answered 5 series (20 points): kept the first 3"),
            "{note}"
        );
        let by_points = Caps {
            series: 100,
            points: 9,
        };
        let read = parse_range(answer(5, 4).as_bytes(), by_points)
            .unwrap()
            .unwrap();
        assert_eq!(read.series.len(), 2, "a third series would pass 9 points");
        let whole = parse_range(answer(2, 4).as_bytes(), caps).unwrap().unwrap();
        assert_eq!(whole.cut_note(caps), None);
    }

    #[test]
    fn errors_and_other_answers_are_told_apart() {
        let error = r#"{"status":"error","errorType":"bad_data","error":"parse error"}"#;
        let err = parse_range(error.as_bytes(), CAPS).unwrap().unwrap_err();
        assert_eq!(err.to_string(), "prometheus bad_data: parse error");
        assert!(parse_range(b"<html>502</html>", CAPS).is_none());
        let empty = r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#;
        assert_eq!(
            parse_range(empty.as_bytes(), CAPS).unwrap().unwrap().seen,
            0
        );
    }

    #[test]
    fn answers_absorbed_keep_within_the_caps() {
        let caps = Caps {
            series: 4,
            points: 1000,
        };
        let mut all = parse_range(answer(3, 2).as_bytes(), caps).unwrap().unwrap();
        all.absorb(
            parse_range(answer(3, 2).as_bytes(), caps).unwrap().unwrap(),
            caps,
        );
        assert_eq!((all.series.len(), all.seen, all.points_seen), (4, 6, 12));
    }
}
