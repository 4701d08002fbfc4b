//! Splitting `<think>…</think>` out of streamed content (Qwen, DeepSeek-R1 distills and
//! others put their reasoning inline). Tags can be split across chunks, so a possible
//! partial tag at the end of a chunk is held back until the next chunk decides it.

const OPEN: &str = "<think>";
const CLOSE: &str = "</think>";

#[derive(Debug, Default)]
pub(super) struct ThinkSplitter {
    inside: bool,
    held: String,
}

/// A piece of content and whether it was inside a think block.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Piece {
    Reasoning(String),
    Text(String),
}

impl ThinkSplitter {
    pub(super) fn feed(&mut self, chunk: &str) -> Vec<Piece> {
        let mut text = std::mem::take(&mut self.held);
        text.push_str(chunk);
        let mut out = Vec::new();
        loop {
            let tag = if self.inside { CLOSE } else { OPEN };
            if let Some(pos) = text.find(tag) {
                self.push(&mut out, &text[..pos]);
                text = text[pos + tag.len()..].to_string();
                self.inside = !self.inside;
                continue;
            }
            // Hold back a suffix that could be the start of the tag.
            let keep = (1..tag.len())
                .rev()
                .find(|&n| text.ends_with(&tag[..n]))
                .unwrap_or(0);
            let split = text.len() - keep;
            self.push(&mut out, &text[..split]);
            self.held = text[split..].to_string();
            return out;
        }
    }

    pub(super) fn finish(&mut self) -> Vec<Piece> {
        let mut out = Vec::new();
        let held = std::mem::take(&mut self.held);
        self.push(&mut out, &held);
        out
    }

    fn push(&self, out: &mut Vec<Piece>, text: &str) {
        if text.is_empty() {
            return;
        }
        out.push(if self.inside {
            Piece::Reasoning(text.into())
        } else {
            Piece::Text(text.into())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_split_across_chunks() {
        let mut s = ThinkSplitter::default();
        let mut all = Vec::new();
        for chunk in [
            "<thi",
            "nk>plan: check ",
            "db</th",
            "ink>The answer",
            " is <b>x</b>",
        ] {
            all.extend(s.feed(chunk));
        }
        all.extend(s.finish());
        let reasoning: String = all
            .iter()
            .filter_map(|p| {
                if let Piece::Reasoning(t) = p {
                    Some(t.as_str())
                } else {
                    None
                }
            })
            .collect();
        let text: String = all
            .iter()
            .filter_map(|p| {
                if let Piece::Text(t) = p {
                    Some(t.as_str())
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(reasoning, "plan: check db");
        assert_eq!(text, "The answer is <b>x</b>");
    }
}
