//! The RAG bench's synthetic corpus: deterministic English-like text with topics, so that
//! bag-of-words embeddings (the mock's) cluster the way real documents do, and queries made of
//! a topic's words have true nearest neighbours that an approximate index can miss.

use std::fmt::Write as _;

/// Distinct words in the vocabulary.
const VOCABULARY: usize = 20_000;
/// Topics; each has its own word list.
const TOPICS: usize = 500;
const WORDS_PER_TOPIC: usize = 200;
/// Share of a chunk's words drawn from its topic (the rest from the whole vocabulary).
const TOPIC_SHARE: f64 = 0.5;

const SYLLABLES: [&str; 32] = [
    "ka", "lo", "mi", "ne", "ru", "sa", "te", "vo", "bri", "dan", "el", "for", "gus", "hal", "is", "jor", "ken", "lum",
    "mar", "nor", "ost", "pel", "qua", "ris", "sol", "tor", "ul", "ven", "wic", "xan", "yel", "zor",
];

/// A small deterministic generator (xorshift64*).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// Zipf-distributed ranks in `0..n` (exponent 1), by inverse CDF over precomputed sums.
#[derive(Debug, Clone)]
struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    fn new(n: usize) -> Self {
        let mut total = 0.0;
        let cumulative = (0..n)
            .map(|r| {
                total += 1.0 / (r as f64 + 1.0);
                total
            })
            .collect();
        Zipf { cumulative }
    }

    fn sample(&self, rng: &mut Rng) -> usize {
        let total = self.cumulative.last().copied().unwrap_or(1.0);
        let x = rng.unit() * total;
        self.cumulative.partition_point(|c| *c < x).min(self.cumulative.len().saturating_sub(1))
    }
}

/// Words, topics and their distributions.
#[derive(Debug, Clone)]
pub struct Corpus {
    words: Vec<String>,
    topics: Vec<Vec<usize>>,
    global: Zipf,
    topical: Zipf,
}

impl Default for Corpus {
    fn default() -> Self {
        Self::new()
    }
}

impl Corpus {
    pub fn new() -> Self {
        let words = (0..VOCABULARY).map(word).collect();
        let mut rng = Rng::new(7);
        let topics = (0..TOPICS).map(|_| (0..WORDS_PER_TOPIC).map(|_| rng.below(VOCABULARY)).collect()).collect();
        Corpus { words, topics, global: Zipf::new(VOCABULARY), topical: Zipf::new(WORDS_PER_TOPIC) }
    }

    fn push_word(&self, out: &mut String, topic: usize, rng: &mut Rng) {
        let index = if rng.unit() < TOPIC_SHARE {
            self.topics[topic % TOPICS][self.topical.sample(rng)]
        } else {
            self.global.sample(rng)
        };
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&self.words[index]);
    }

    /// `n` words about `topic`, as one sentence-free run of text.
    pub fn passage(&self, topic: usize, n: usize, rng: &mut Rng) -> String {
        let mut out = String::with_capacity(n * 8);
        for _ in 0..n {
            self.push_word(&mut out, topic, rng);
        }
        out
    }

    /// A document: paragraphs of `words_per_paragraph` words, each about one topic.
    pub fn document(&self, paragraphs: usize, words_per_paragraph: usize, rng: &mut Rng) -> String {
        let mut out = String::new();
        for _ in 0..paragraphs {
            let topic = rng.below(TOPICS);
            let _ = writeln!(out, "{}.\n", self.passage(topic, words_per_paragraph, rng));
        }
        out
    }

    /// A search query: a few of a topic's frequent words.
    pub fn query(&self, rng: &mut Rng) -> String {
        let topic = rng.below(TOPICS);
        let n = 3 + rng.below(4);
        let words: Vec<&str> = (0..n).map(|_| self.words[self.topics[topic][self.topical.sample(rng) % 40]].as_str()).collect();
        words.join(" ")
    }

    pub fn topics(&self) -> usize {
        TOPICS
    }
}

/// The `i`-th vocabulary word: `i` written in base 32 with syllables as digits.
fn word(i: usize) -> String {
    let mut n = i + SYLLABLES.len();
    let mut out = String::new();
    while n > 0 {
        out.push_str(SYLLABLES[n % SYLLABLES.len()]);
        n /= SYLLABLES.len();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_distinct_and_text_is_deterministic() {
        let all: std::collections::HashSet<String> = (0..VOCABULARY).map(word).collect();
        assert_eq!(all.len(), VOCABULARY);
        let c = Corpus::new();
        let a = c.passage(3, 20, &mut Rng::new(1));
        assert_eq!(a, c.passage(3, 20, &mut Rng::new(1)));
        assert_eq!(a.split(' ').count(), 20);
        let q = c.query(&mut Rng::new(2));
        assert!((3..=6).contains(&q.split(' ').count()), "{q}");
    }

    #[test]
    fn zipf_favours_low_ranks() {
        let z = Zipf::new(100);
        let mut rng = Rng::new(3);
        let low = (0..10_000).filter(|_| z.sample(&mut rng) < 10).count();
        assert!(low > 4_500, "{low}");
    }
}
