//! Wording helpers shared by everything that prints for a person: the TUI, the headless
//! printer, the CLI and the tools' digests.

/// `1 line`, `2 lines`: the count and the word, in the number that fits.
pub fn plural(count: impl TryInto<u64>, word: &str) -> String {
    let count: u64 = count.try_into().unwrap_or(u64::MAX);
    let word = match (count, word) {
        (1, word) => word.to_string(),
        (_, "series") => "series".into(),
        (_, word)
            if word.ends_with('y')
                && !word[..word.len() - 1].ends_with(['a', 'e', 'i', 'o', 'u']) =>
        {
            format!("{}ies", &word[..word.len() - 1])
        }
        (_, word) => format!("{word}s"),
    };
    format!("{count} {word}")
}

/// `text` whole up to `longest` characters, else cut there (at a character boundary)
/// with `…`: a template or an error can hold a whole serialized object.
pub fn clip(text: &str, longest: usize) -> String {
    match text.char_indices().nth(longest) {
        Some((cut, _)) => format!("{}…", text[..cut].trim_end()),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::plural;

    #[test]
    fn one_is_singular() {
        assert_eq!(plural(1u64, "line"), "1 line");
        assert_eq!(plural(2u64, "line"), "2 lines");
        assert_eq!(plural(0u64, "deploy"), "0 deploys");
        assert_eq!(plural(3u64, "entry"), "3 entries");
        assert_eq!(plural(2u64, "series"), "2 series");
    }
}
