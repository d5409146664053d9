//! Hashed bag-of-words embeddings: the one deterministic embedding of the mock server and the fake
//! provider. Texts that share words land close together, which is what vector-store tests need.

/// The dimension used when neither the request nor the config names one.
pub const DEFAULT_DIMENSION: usize = 384;

/// The lower-cased alphanumeric words of `text` ("Paris?" and "paris" are the same word).
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
}

/// How many tokens the mock counts for `text`: its whitespace-separated words.
pub fn token_count(text: &str) -> usize {
    text.split_whitespace().count()
}

/// The embedding of `text`: each word adds ±1 to a hashed bucket; the result has unit length.
pub fn embed_text(text: &str, dimension: usize) -> Vec<f32> {
    embed_features(words(text).map(|w| fnv1a(w.as_bytes())), dimension)
}

/// The embedding of a token array: each token id is a "word".
pub fn embed_tokens(tokens: &[i64], dimension: usize) -> Vec<f32> {
    embed_features(tokens.iter().map(|t| fnv1a(&t.to_le_bytes())), dimension)
}

/// 64-bit FNV-1a: stable across platforms and releases, unlike `DefaultHasher`.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn embed_features(hashes: impl Iterator<Item = u64>, dimension: usize) -> Vec<f32> {
    let dimension = dimension.max(1);
    let mut v = vec![0.0_f32; dimension];
    let mut any = false;
    for h in hashes {
        any = true;
        // The sign comes from bits the bucket index does not use, so collisions tend to cancel.
        let sign = if (h >> 63) == 0 { 1.0 } else { -1.0 };
        v[(h % dimension as u64) as usize] += sign;
    }
    if !any {
        // An empty text still gets a unit vector, as real models give one.
        v[0] = 1.0;
        return v;
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    } else {
        v[0] = 1.0;
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dot(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn unit_length_and_deterministic() {
        let a = embed_text("The quick brown fox", 64);
        assert_eq!(a.len(), 64);
        assert!((dot(&a, &a) - 1.0).abs() < 1e-5);
        assert_eq!(a, embed_text("the QUICK brown fox!", 64));
        assert!((dot(&embed_text("", 8), &embed_text("", 8)) - 1.0).abs() < 1e-5);
    }

    #[test]
    fn shared_words_are_closer() {
        let q = embed_text("capital of France", 384);
        let near = embed_text("Paris is the capital of France", 384);
        let far = embed_text("bananas grow on trees", 384);
        assert!(dot(&q, &near) > dot(&q, &far));
    }

    #[test]
    fn tokens_embed_too() {
        let v = embed_tokens(&[1, 2, 3], 16);
        assert!((dot(&v, &v) - 1.0).abs() < 1e-5);
        assert_ne!(v, embed_tokens(&[4, 5, 6], 16));
    }
}
