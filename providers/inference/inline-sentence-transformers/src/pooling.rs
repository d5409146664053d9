//! Token vectors → one sentence vector, as sentence-transformers' `Pooling` and `Normalize`
//! modules compute it (cls/max/mean/mean-sqrt-len over the real tokens, concatenated; then L2
//! with their 1e-12 floor). Sequences reach here unpadded, so every row counts.

use crate::pipeline::PoolingMode;

/// Pools one sequence: `tokens` holds its rows of `hidden` floats (no padding). The result has
/// `hidden × modes.len()` floats.
pub fn pool(tokens: &[f32], hidden: usize, modes: &[PoolingMode]) -> Vec<f32> {
    let count = tokens.len() / hidden.max(1);
    let rows = || tokens.chunks_exact(hidden.max(1));
    let mut out = Vec::with_capacity(hidden * modes.len());
    for mode in modes {
        match mode {
            PoolingMode::Cls => {
                let first = &tokens[..hidden.min(tokens.len())];
                out.extend_from_slice(first);
                out.resize(out.len() + hidden - first.len(), 0.0);
            }
            PoolingMode::Max => {
                // Upstream sets padding to -1e9 before the max, so no tokens gives -1e9.
                let mut max = vec![if count == 0 { -1e9 } else { f32::NEG_INFINITY }; hidden];
                for row in rows() {
                    max.iter_mut().zip(row).for_each(|(m, x)| *m = m.max(*x));
                }
                out.extend(max);
            }
            PoolingMode::Mean | PoolingMode::MeanSqrtLen => {
                let mut sum = vec![0.0_f32; hidden];
                for row in rows() {
                    sum.iter_mut().zip(row).for_each(|(s, x)| *s += x);
                }
                // Upstream clamps the token count at 1e-9, so no tokens gives zeros, not NaN.
                let n = (count as f32).max(1e-9);
                let div = if *mode == PoolingMode::Mean { n } else { n.sqrt() };
                out.extend(sum.into_iter().map(|s| s / div));
            }
        }
    }
    out
}

/// Scales `v` to unit L2 length; a zero vector stays zero (the norm is floored at 1e-12).
pub fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter_mut().for_each(|x| *x /= norm);
}

#[cfg(test)]
mod tests {
    use super::*;

    // Two token rows of width 2.
    const TOKENS: [f32; 4] = [1.0, -2.0, 3.0, 4.0];

    #[test]
    fn each_mode() {
        assert_eq!(pool(&TOKENS, 2, &[PoolingMode::Mean]), [2.0, 1.0]);
        assert_eq!(pool(&TOKENS, 2, &[PoolingMode::Cls]), [1.0, -2.0]);
        assert_eq!(pool(&TOKENS, 2, &[PoolingMode::Max]), [3.0, 4.0]);
        let s = 2.0_f32.sqrt();
        assert_eq!(pool(&TOKENS, 2, &[PoolingMode::MeanSqrtLen]), [4.0 / s, 2.0 / s]);
    }

    #[test]
    fn modes_concatenate_in_order() {
        let v = pool(&TOKENS, 2, &[PoolingMode::Cls, PoolingMode::Max, PoolingMode::Mean]);
        assert_eq!(v, [1.0, -2.0, 3.0, 4.0, 2.0, 1.0]);
    }

    #[test]
    fn no_tokens_pools_to_finite_values() {
        let v = pool(&[], 2, &[PoolingMode::Mean, PoolingMode::Max]);
        assert_eq!(v, [0.0, 0.0, -1e9, -1e9]);
    }

    #[test]
    fn normalize_gives_unit_length_and_leaves_zero_alone() {
        let mut v = [3.0_f32, 4.0];
        normalize(&mut v);
        assert_eq!(v, [0.6, 0.8]);
        let mut z = [0.0_f32; 3];
        normalize(&mut z);
        assert_eq!(z, [0.0; 3]);
    }
}
