//! `stop` sequences over streamed text: text that may be the start of a stop sequence is held
//! back until the next piece shows whether it is one, so no stop sequence is ever sent.

/// Cuts a stream of text pieces at the first stop sequence.
#[derive(Debug, Default)]
pub struct StopFilter {
    stops: Vec<String>,
    held: String,
    stopped: bool,
}

impl StopFilter {
    pub fn new(stops: Vec<String>) -> Self {
        StopFilter {
            stops: stops.into_iter().filter(|s| !s.is_empty()).collect(),
            held: String::new(),
            stopped: false,
        }
    }

    /// Adds `piece`; returns the text that can be sent now, and whether a stop sequence ended it.
    pub fn push(&mut self, piece: &str) -> (String, bool) {
        if self.stopped {
            return (String::new(), true);
        }
        self.held.push_str(piece);
        if let Some(at) = self
            .stops
            .iter()
            .filter_map(|s| self.held.find(s.as_str()))
            .min()
        {
            self.stopped = true;
            let out = self.held[..at].to_owned();
            self.held.clear();
            return (out, true);
        }
        let keep = self.longest_stop_prefix_suffix();
        let cut = self.held.len() - keep;
        let out = self.held[..cut].to_owned();
        self.held.drain(..cut);
        (out, false)
    }

    /// What is held back, at the end of the answer.
    pub fn flush(&mut self) -> String {
        std::mem::take(&mut self.held)
    }

    /// The length of the longest end of `held` that begins some stop sequence.
    fn longest_stop_prefix_suffix(&self) -> usize {
        let held = &self.held;
        (1..=held.len())
            .rev()
            .filter(|&n| held.is_char_boundary(held.len() - n))
            .find(|&n| {
                let tail = &held[held.len() - n..];
                self.stops
                    .iter()
                    .any(|s| s.len() > n && s.starts_with(tail))
            })
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(stops: &[&str], pieces: &[&str]) -> (String, bool) {
        let mut f = StopFilter::new(stops.iter().map(|s| s.to_string()).collect());
        let mut out = String::new();
        for p in pieces {
            let (text, stopped) = f.push(p);
            out.push_str(&text);
            if stopped {
                return (out, true);
            }
        }
        out.push_str(&f.flush());
        (out, false)
    }

    #[test]
    fn stops_across_pieces_and_never_sends_the_stop() {
        assert_eq!(
            run(&["END"], &["one two E", "N", "D three"]),
            ("one two ".into(), true)
        );
        assert_eq!(
            run(&["\n\n", "."], &["Hi", " there", ". More"]),
            ("Hi there".into(), true)
        );
        assert_eq!(run(&["END"], &["one E", "ND"]), ("one ".into(), true));
    }

    #[test]
    fn held_text_comes_back_when_it_was_no_stop() {
        assert_eq!(run(&["END"], &["one E", "nd"]), ("one End".into(), false));
        assert_eq!(run(&["END"], &["one E"]), ("one E".into(), false));
        assert_eq!(run(&[], &["a", "b"]), ("ab".into(), false));
        assert_eq!(run(&[""], &["a"]), ("a".into(), false));
        assert_eq!(run(&["€x"], &["a€", "y"]), ("a€y".into(), false));
    }

    #[test]
    fn nothing_is_held_that_cannot_start_a_stop() {
        let mut f = StopFilter::new(vec!["END".into()]);
        assert_eq!(f.push("abc"), ("abc".into(), false));
        assert_eq!(f.push("xE"), ("x".into(), false));
    }
}
