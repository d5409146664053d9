//! A BERT encoder for CPU inference, built for sentence embedding: the sequences of a batch
//! are packed back to back with no padding (every layer but attention works token by token,
//! and attention runs per sequence), matrix products go to `gemm` (candle's own matmul, with
//! AVX2/AVX-512 kernels picked at run time) and the rest is fused, row-parallel Rust on rayon.
//! It computes what Hugging Face's `BertModel` computes; `tests/parity.rs` holds it to that.

use rayon::prelude::*;
use safetensors::{Dtype, SafeTensors};
use serde::Deserialize;

/// The `config.json` fields a BERT needs; others are ignored.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BertConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    #[serde(default = "default_act")]
    pub hidden_act: String,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    pub max_position_embeddings: usize,
    #[serde(default = "default_type_vocab")]
    pub type_vocab_size: usize,
    #[serde(default)]
    pub pad_token_id: u32,
    #[serde(default)]
    pub position_embedding_type: Option<String>,
    #[serde(default)]
    pub model_type: Option<String>,
}

fn default_act() -> String {
    "gelu".into()
}
fn default_eps() -> f64 {
    1e-12
}
fn default_type_vocab() -> usize {
    2
}

/// The activation between the feed-forward layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Activation {
    /// `gelu`: x·Φ(x) with the exact error function.
    Gelu,
    /// `gelu_new`, `gelu_pytorch_tanh`, `gelu_fast`: the tanh approximation.
    GeluTanh,
    Relu,
}

impl BertConfig {
    /// Refuses what this encoder would compute differently from `BertModel`.
    pub fn check(&self) -> Result<(), String> {
        if let Some(t) = self.model_type.as_deref().filter(|t| *t != "bert") {
            return Err(format!("config.json: model_type '{t}' is not supported (BERT-family models are)"));
        }
        if let Some(p) = self.position_embedding_type.as_deref().filter(|p| *p != "absolute") {
            return Err(format!("config.json: position_embedding_type '{p}' is not supported (absolute is)"));
        }
        if self.num_attention_heads == 0 || !self.hidden_size.is_multiple_of(self.num_attention_heads) {
            return Err(format!(
                "config.json: hidden_size {} is not a multiple of num_attention_heads {}",
                self.hidden_size, self.num_attention_heads
            ));
        }
        if self.hidden_size == 0 || self.intermediate_size == 0 || self.max_position_embeddings == 0 {
            return Err("config.json: hidden_size, intermediate_size and max_position_embeddings must be positive".into());
        }
        self.activation().map(|_| ())
    }

    fn activation(&self) -> Result<Activation, String> {
        match self.hidden_act.as_str() {
            "gelu" => Ok(Activation::Gelu),
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Ok(Activation::GeluTanh),
            "relu" => Ok(Activation::Relu),
            other => Err(format!("config.json: hidden_act '{other}' is not supported (gelu, gelu_new, relu are)")),
        }
    }
}

/// `y = x·Wᵀ + b` with PyTorch's `[out, in]` weight layout, used as is (gemm takes strides).
#[derive(Debug)]
struct Linear {
    weight: Vec<f32>,
    bias: Vec<f32>,
    n_in: usize,
    n_out: usize,
}

#[derive(Debug)]
struct LayerNorm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
    eps: f32,
}

#[derive(Debug)]
struct Layer {
    /// Query, key and value fused into one `[3·hidden, hidden]` product.
    qkv: Linear,
    attn_out: Linear,
    attn_norm: LayerNorm,
    up: Linear,
    down: Linear,
    out_norm: LayerNorm,
}

/// A loaded BERT encoder (weights as f32, owned).
#[derive(Debug)]
pub struct Bert {
    config: BertConfig,
    activation: Activation,
    word: Vec<f32>,
    position: Vec<f32>,
    token_type: Vec<f32>,
    embed_norm: LayerNorm,
    layers: Vec<Layer>,
}

/// Rows handed to one rayon task in element-wise passes: enough work to beat the hand-off.
const ROWS_PER_TASK: usize = 16;

impl Bert {
    /// Builds the encoder from `config` and the bytes of a `model.safetensors` (f32, f16 or
    /// bf16; with or without a `bert.` prefix on the tensor names).
    pub fn load(config: BertConfig, safetensors: &[u8]) -> Result<Bert, String> {
        config.check()?;
        let st = SafeTensors::deserialize(safetensors).map_err(|e| format!("model.safetensors: {e}"))?;
        let prefix = if st.names().iter().any(|n| n.starts_with("bert.embeddings.")) { "bert." } else { "" };
        let weights = Weights { st, prefix };
        let (h, i) = (config.hidden_size, config.intermediate_size);
        let eps = config.layer_norm_eps as f32;
        let embed_norm = weights.layer_norm("embeddings.LayerNorm", h, eps)?;
        let layers = (0..config.num_hidden_layers)
            .map(|l| {
                let p = format!("encoder.layer.{l}");
                let (q, k, v) = (
                    weights.linear(&format!("{p}.attention.self.query"), h, h)?,
                    weights.linear(&format!("{p}.attention.self.key"), h, h)?,
                    weights.linear(&format!("{p}.attention.self.value"), h, h)?,
                );
                let qkv = Linear {
                    weight: [q.weight, k.weight, v.weight].concat(),
                    bias: [q.bias, k.bias, v.bias].concat(),
                    n_in: h,
                    n_out: 3 * h,
                };
                Ok(Layer {
                    qkv,
                    attn_out: weights.linear(&format!("{p}.attention.output.dense"), h, h)?,
                    attn_norm: weights.layer_norm(&format!("{p}.attention.output.LayerNorm"), h, eps)?,
                    up: weights.linear(&format!("{p}.intermediate.dense"), h, i)?,
                    down: weights.linear(&format!("{p}.output.dense"), i, h)?,
                    out_norm: weights.layer_norm(&format!("{p}.output.LayerNorm"), h, eps)?,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Bert {
            activation: config.activation()?,
            word: weights.tensor("embeddings.word_embeddings.weight", &[config.vocab_size, h])?,
            position: weights.tensor("embeddings.position_embeddings.weight", &[config.max_position_embeddings, h])?,
            token_type: weights.tensor("embeddings.token_type_embeddings.weight", &[config.type_vocab_size, h])?,
            embed_norm,
            layers,
            config,
        })
    }

    pub fn config(&self) -> &BertConfig {
        &self.config
    }

    /// Runs the sequences (token ids, token type ids) and returns the last hidden states of
    /// every token, packed: sequence after sequence, `hidden_size` floats per token.
    pub fn forward(&self, seqs: &[(&[u32], &[u32])]) -> Result<Vec<f32>, String> {
        let h = self.config.hidden_size;
        let lengths: Vec<usize> = seqs.iter().map(|(ids, _)| ids.len()).collect();
        let tokens: usize = lengths.iter().sum();
        if let Some(n) = lengths.iter().find(|n| **n > self.config.max_position_embeddings) {
            return Err(format!(
                "a sequence of {n} tokens exceeds max_position_embeddings {}",
                self.config.max_position_embeddings
            ));
        }
        let mut x = vec![0.0_f32; tokens * h];
        self.embed(seqs, &mut x)?;
        let mut qkv = vec![0.0_f32; tokens * 3 * h];
        let mut ctx = vec![0.0_f32; tokens * h];
        let mut mid = vec![0.0_f32; tokens * h];
        let mut inter = vec![0.0_f32; tokens * self.config.intermediate_size];
        for layer in &self.layers {
            linear(&layer.qkv, &x, &mut qkv, None)?;
            self.attention(&qkv, &lengths, &mut ctx)?;
            linear(&layer.attn_out, &ctx, &mut mid, Some(&x))?;
            layer_norm_rows(&layer.attn_norm, &mut mid);
            linear(&layer.up, &mid, &mut inter, None)?;
            activate(self.activation, &mut inter);
            linear(&layer.down, &inter, &mut x, Some(&mid))?;
            layer_norm_rows(&layer.out_norm, &mut x);
        }
        Ok(x)
    }

    /// Word + position + token-type embeddings, then LayerNorm, into `x`.
    fn embed(&self, seqs: &[(&[u32], &[u32])], x: &mut [f32]) -> Result<(), String> {
        let h = self.config.hidden_size;
        let mut rows = x.chunks_exact_mut(h);
        for (ids, types) in seqs {
            for (pos, (&id, row)) in ids.iter().zip(rows.by_ref()).enumerate() {
                let tt = types.get(pos).copied().unwrap_or(0) as usize;
                let (id, pos) = (id as usize, pos);
                if id >= self.config.vocab_size || tt >= self.config.type_vocab_size {
                    return Err(format!("token id {id} or type id {tt} is outside the model's vocabulary"));
                }
                let (w, p, t) = (&self.word[id * h..][..h], &self.position[pos * h..][..h], &self.token_type[tt * h..][..h]);
                for (((o, w), p), t) in row.iter_mut().zip(w).zip(p).zip(t) {
                    *o = w + p + t;
                }
            }
        }
        layer_norm_rows(&self.embed_norm, x);
        Ok(())
    }

    /// Multi-head self-attention of each sequence over itself (no mask: nothing is padding),
    /// one rayon task per sequence; `qkv` rows are `[q | k | v]`, `ctx` gets the heads side by side.
    fn attention(&self, qkv: &[f32], lengths: &[usize], ctx: &mut [f32]) -> Result<(), String> {
        let h = self.config.hidden_size;
        let heads = self.config.num_attention_heads;
        let d = h / heads;
        let scale = 1.0 / (d as f32).sqrt();
        let mut jobs = Vec::with_capacity(lengths.len());
        let (mut rest_ctx, mut rest_qkv) = (ctx, qkv);
        for &n in lengths {
            let (c, tail) = rest_ctx.split_at_mut(n * h);
            let (q, qtail) = rest_qkv.split_at(n * 3 * h);
            jobs.push((n, q, c));
            (rest_ctx, rest_qkv) = (tail, qtail);
        }
        jobs.into_par_iter().try_for_each(|(n, qkv, ctx)| {
            let mut scores = vec![0.0_f32; n * n];
            for head in 0..heads {
                let q = &qkv[head * d..];
                let k = &qkv[h + head * d..];
                let v = &qkv[2 * h + head * d..];
                // scores = scale · Q·Kᵀ  (Kᵀ read through strides)
                matmul(&mut scores, n, q, 3 * h, (k, 1, 3 * h), (n, n, d), false, scale, Threads::One)?;
                scores.chunks_exact_mut(n).for_each(softmax);
                // ctx[:, head] = P·V
                matmul(&mut ctx[head * d..], h, &scores, n, (v, 3 * h, 1), (n, d, n), false, 1.0, Threads::One)?;
            }
            Ok(())
        })
    }
}

/// Tensors by name, converted to f32.
struct Weights<'a> {
    st: SafeTensors<'a>,
    prefix: &'static str,
}

impl Weights<'_> {
    fn tensor(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, String> {
        let full = format!("{}{name}", self.prefix);
        let t = self.st.tensor(&full).map_err(|_| format!("model.safetensors has no tensor {full}"))?;
        if t.shape() != shape {
            return Err(format!("model.safetensors: {full} has shape {:?}, config.json implies {shape:?}", t.shape()));
        }
        let bytes = t.data();
        Ok(match t.dtype() {
            Dtype::F32 => bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
            Dtype::F16 => bytes.chunks_exact(2).map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32()).collect(),
            Dtype::BF16 => bytes.chunks_exact(2).map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32()).collect(),
            other => return Err(format!("model.safetensors: {full} is {other:?}; f32, f16 and bf16 are supported")),
        })
    }

    fn linear(&self, name: &str, n_in: usize, n_out: usize) -> Result<Linear, String> {
        Ok(Linear {
            weight: self.tensor(&format!("{name}.weight"), &[n_out, n_in])?,
            bias: self.tensor(&format!("{name}.bias"), &[n_out])?,
            n_in,
            n_out,
        })
    }

    /// Newer checkpoints say `weight`/`bias`, older ones `gamma`/`beta`.
    fn layer_norm(&self, name: &str, h: usize, eps: f32) -> Result<LayerNorm, String> {
        let gamma = self.tensor(&format!("{name}.weight"), &[h]).or_else(|_| self.tensor(&format!("{name}.gamma"), &[h]))?;
        let beta = self.tensor(&format!("{name}.bias"), &[h]).or_else(|_| self.tensor(&format!("{name}.beta"), &[h]))?;
        Ok(LayerNorm { gamma, beta, eps })
    }
}

/// `out = x·Wᵀ + b (+ residual)`, row-parallel bias fill then one gemm on every core.
fn linear(l: &Linear, x: &[f32], out: &mut [f32], residual: Option<&[f32]>) -> Result<(), String> {
    let rows = x.len() / l.n_in;
    out.par_chunks_mut(l.n_out * ROWS_PER_TASK).enumerate().for_each(|(c, chunk)| {
        for (r, row) in chunk.chunks_exact_mut(l.n_out).enumerate() {
            row.copy_from_slice(&l.bias);
            if let Some(res) = residual {
                let at = (c * ROWS_PER_TASK + r) * l.n_out;
                row.iter_mut().zip(&res[at..at + l.n_out]).for_each(|(o, r)| *o += r);
            }
        }
    });
    matmul(out, l.n_out, x, l.n_in, (&l.weight, 1, l.n_in), (rows, l.n_out, l.n_in), true, 1.0, Threads::All)
}

/// LayerNorm of every `gamma.len()`-wide row, in place.
fn layer_norm_rows(norm: &LayerNorm, x: &mut [f32]) {
    let h = norm.gamma.len();
    x.par_chunks_mut(h * ROWS_PER_TASK).for_each(|chunk| {
        for row in chunk.chunks_exact_mut(h) {
            let mean = sum(row) / h as f32;
            row.iter_mut().for_each(|v| *v -= mean);
            let var = row.iter().map(|v| v * v).sum::<f32>() / h as f32;
            let inv = 1.0 / (var + norm.eps).sqrt();
            for ((v, g), b) in row.iter_mut().zip(&norm.gamma).zip(&norm.beta) {
                *v = *v * inv * g + b;
            }
        }
    });
}

/// A sum in eight lanes, which the compiler vectorises (a plain fold must stay sequential).
fn sum(v: &[f32]) -> f32 {
    let mut lanes = [0.0_f32; 8];
    let chunks = v.chunks_exact(8);
    let tail: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        lanes.iter_mut().zip(c).for_each(|(l, x)| *l += x);
    }
    lanes.iter().sum::<f32>() + tail
}

fn softmax(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut total = 0.0;
    for v in row.iter_mut() {
        *v = (*v - max).exp();
        total += *v;
    }
    row.iter_mut().for_each(|v| *v /= total);
}

fn activate(act: Activation, x: &mut [f32]) {
    x.par_chunks_mut(4096).for_each(|chunk| match act {
        Activation::Gelu => chunk.iter_mut().for_each(|v| *v = gelu(*v)),
        Activation::GeluTanh => chunk.iter_mut().for_each(|v| {
            let u = 0.797_884_6 * (*v + 0.044_715 * *v * *v * *v);
            *v = 0.5 * *v * (1.0 + u.tanh());
        }),
        Activation::Relu => chunk.iter_mut().for_each(|v| *v = v.max(0.0)),
    });
}

/// `x·Φ(x) = x/2·(1 + erf(x/√2))`.
#[inline]
fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// The error function as a rational function of x² on [-4, 4] (erf is ±1 to f32 precision
/// beyond), branch-free so loops over it vectorise; absolute error below 1e-6.
#[inline]
pub fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = -2.726_142_3e-10_f32;
    for c in [2.770_681_4e-8, -2.101_024e-6, -5.692_506_4e-5, -7.349_906_3e-4, -2.954_6e-3, -1.609_603_3e-2] {
        p = p * x2 + c;
    }
    let mut q = -1.456_607_2e-5_f32;
    for c in [-2.133_740_6e-4, -1.682_827e-3, -7.373_329_2e-3, -1.426_474e-2] {
        q = q * x2 + c;
    }
    x * p / q
}

/// How many threads one product may use.
#[derive(Debug, Clone, Copy)]
enum Threads {
    One,
    All,
}

/// `dst (+)= scale · lhs · rhs` for an `m×k` row-major `lhs` (row stride `lhs_rs`), a `k×n`
/// `rhs` given as (data, row stride, column stride), and an `m×n` row-major `dst` (row
/// stride `dst_rs`). With `accumulate`, dst keeps its values and the product is added.
/// Every index gemm will touch is checked first, so a bad shape is an error, never a wild read.
#[allow(clippy::too_many_arguments)]
#[allow(unsafe_code)]
fn matmul(
    dst: &mut [f32],
    dst_rs: usize,
    lhs: &[f32],
    lhs_rs: usize,
    (rhs, rhs_rs, rhs_cs): (&[f32], usize, usize),
    (m, n, k): (usize, usize, usize),
    accumulate: bool,
    scale: f32,
    threads: Threads,
) -> Result<(), String> {
    if m == 0 || n == 0 {
        return Ok(());
    }
    let last = |rows: usize, rs: usize, cols: usize, cs: usize| (rows - 1) * rs + (cols - 1) * cs;
    let fits = k > 0
        && n <= dst_rs
        && k <= lhs_rs
        && last(m, dst_rs, n, 1) < dst.len()
        && last(m, lhs_rs, k, 1) < lhs.len()
        && last(k, rhs_rs, n, rhs_cs) < rhs.len();
    let stride = |s: usize| isize::try_from(s).map_err(|_| format!("stride {s} overflows"));
    if !fits {
        return Err(format!("matmul shapes do not fit their buffers: m={m} n={n} k={k}"));
    }
    let (dst_rs, lhs_rs, rhs_rs, rhs_cs) = (stride(dst_rs)?, stride(lhs_rs)?, stride(rhs_rs)?, stride(rhs_cs)?);
    let parallelism = match threads {
        Threads::One => gemm::Parallelism::None,
        Threads::All => match rayon::current_num_threads() {
            0 | 1 => gemm::Parallelism::None,
            t => gemm::Parallelism::Rayon(t),
        },
    };
    // SAFETY: the checks above keep every element gemm reads (lhs, rhs) or writes (dst)
    // inside its slice; dst rows do not overlap (n <= dst_rs), and dst is borrowed mutably
    // while lhs and rhs are shared borrows, so no two of them alias.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            dst_rs,
            accumulate,
            lhs.as_ptr(),
            1,
            lhs_rs,
            rhs.as_ptr(),
            rhs_cs,
            rhs_rs,
            1.0,
            scale,
            false,
            false,
            false,
            parallelism,
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// erf in f64 by its Maclaurin series (exact enough on [-4, 4] for a 1e-6 check).
    fn erf_ref(x: f64) -> f64 {
        let (mut term, mut total) = (x, x);
        for n in 1..200 {
            term *= -x * x / n as f64;
            total += term / (2 * n + 1) as f64;
        }
        total * 2.0 / std::f64::consts::PI.sqrt()
    }

    #[test]
    fn erf_is_accurate_everywhere() {
        let mut worst = 0.0_f64;
        for i in -6000..=6000 {
            let x = i as f64 / 1000.0;
            let want = if x.abs() > 5.0 { x.signum() } else { erf_ref(x) };
            worst = worst.max((f64::from(erf(x as f32)) - want).abs());
        }
        assert!(worst < 1e-6, "worst erf error {worst}");
        assert!((erf_ref(1.0) - 0.842_700_792_949_715).abs() < 1e-12);
        assert_eq!(gelu(0.0), 0.0);
        assert!(gelu(-10.0).abs() < 1e-5 && (gelu(10.0) - 10.0).abs() < 1e-5);
        assert!((gelu(1.0) - 0.841_344_7).abs() < 1e-6);
    }

    #[test]
    fn matmul_multiplies_and_accumulates_through_strides() {
        // [1 2; 3 4] · [5 6; 7 8] = [19 22; 43 50]; rhs given transposed via its strides.
        let lhs = [1.0, 2.0, 3.0, 4.0];
        let rhs_t = [5.0, 7.0, 6.0, 8.0];
        let mut dst = [1.0; 4];
        matmul(&mut dst, 2, &lhs, 2, (&rhs_t, 1, 2), (2, 2, 2), true, 1.0, Threads::All).unwrap();
        assert_eq!(dst, [20.0, 23.0, 44.0, 51.0]);
        matmul(&mut dst, 2, &lhs, 2, (&rhs_t, 1, 2), (2, 2, 2), false, 0.5, Threads::One).unwrap();
        assert_eq!(dst, [9.5, 11.0, 21.5, 25.0]);
        // Shapes that overrun a buffer are refused.
        assert!(matmul(&mut dst, 2, &lhs, 2, (&rhs_t, 1, 2), (3, 2, 2), false, 1.0, Threads::One).is_err());
        assert!(matmul(&mut dst, 2, &lhs, 2, (&rhs_t, 2, 2), (2, 2, 2), false, 1.0, Threads::One).is_err());
    }

    #[test]
    fn softmax_layer_norm_and_sum() {
        let mut row = [1.0_f32, 2.0, 3.0];
        softmax(&mut row);
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6 && row[2] > row[1] && row[1] > row[0]);
        let norm = LayerNorm { gamma: vec![2.0; 4], beta: vec![1.0; 4], eps: 0.0 };
        let mut x = [1.0_f32, 2.0, 3.0, 4.0, 5.0, 5.0, 5.0, 5.0];
        layer_norm_rows(&norm, &mut x[..4]);
        let s = 1.25_f32.sqrt();
        let want = [-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s].map(|v| v * 2.0 + 1.0);
        assert!(x[..4].iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-6), "{x:?}");
        assert_eq!(sum(&(1..=19).map(|v| v as f32).collect::<Vec<_>>()), 190.0);
    }

    #[test]
    fn configs_it_would_get_wrong_are_refused() {
        let base: BertConfig = serde_json::from_value(serde_json::json!({
            "vocab_size": 10, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2,
            "intermediate_size": 16, "max_position_embeddings": 16, "model_type": "bert"
        }))
        .unwrap();
        assert!(base.check().is_ok());
        for (field, value) in [("model_type", "nomic_bert"), ("position_embedding_type", "relative_key"), ("hidden_act", "silu")]
        {
            let mut c = base.clone();
            match field {
                "model_type" => c.model_type = Some(value.into()),
                "position_embedding_type" => c.position_embedding_type = Some(value.into()),
                _ => c.hidden_act = value.into(),
            }
            let err = c.check().unwrap_err();
            assert!(err.contains(value), "{err}");
        }
        let c = BertConfig { num_attention_heads: 3, ..base };
        assert!(c.check().unwrap_err().contains("multiple"));
    }
}
