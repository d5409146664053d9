//! The sentence-transformers pipeline a model directory declares: `modules.json` (Transformer →
//! Pooling → optional Normalize), `<pooling>/config.json` (which pooling modes) and
//! `sentence_bert_config.json` (`max_seq_length`, `do_lower_case`). Anything else is refused
//! when the model loads, so a model is never run with a pipeline other than its own.

use std::path::Path;

use serde::Deserialize;

/// A pooling mode of sentence-transformers' `Pooling` module; several are concatenated in
/// this order (theirs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolingMode {
    /// The first token's (`[CLS]`) vector.
    Cls,
    /// The element-wise maximum over the real tokens.
    Max,
    /// The mean over the real tokens.
    Mean,
    /// The sum over the real tokens divided by the square root of their count.
    MeanSqrtLen,
}

/// How a model turns token vectors into one sentence vector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pipeline {
    /// Non-empty, in concatenation order.
    pub pooling: Vec<PoolingMode>,
    /// A `Normalize` module follows pooling (L2, so cosine = dot product).
    pub normalize: bool,
    /// Inputs are cut to this many tokens, special tokens included.
    pub max_seq_length: usize,
    /// Inputs are lower-cased before tokenizing.
    pub do_lower_case: bool,
}

impl Pipeline {
    /// The sentence vector's length for token vectors of `hidden_size`.
    pub fn dimension(&self, hidden_size: usize) -> usize {
        hidden_size * self.pooling.len()
    }

    /// Reads the pipeline of the model in `dir`, whose transformer has `hidden_size` and
    /// `max_position_embeddings`. Without `modules.json` (a plain checkpoint), mean pooling
    /// without normalisation, as sentence-transformers does for such a model.
    pub fn read(dir: &Path, hidden_size: usize, max_position_embeddings: usize) -> Result<Pipeline, String> {
        let (pooling, normalize) = match read_optional(&dir.join("modules.json"))? {
            Some(text) => read_modules(dir, &parse_modules(&text)?, hidden_size)?,
            None => (vec![PoolingMode::Mean], false),
        };
        let sbert: SbertConfig = match read_optional(&dir.join("sentence_bert_config.json"))? {
            Some(text) => serde_json::from_str(&text).map_err(|e| format!("sentence_bert_config.json: {e}"))?,
            None => SbertConfig::default(),
        };
        let max_seq_length = sbert.max_seq_length.unwrap_or(max_position_embeddings).min(max_position_embeddings);
        if max_seq_length < 2 {
            return Err(format!("sentence_bert_config.json: max_seq_length {max_seq_length} leaves no room for text"));
        }
        Ok(Pipeline { pooling, normalize, max_seq_length, do_lower_case: sbert.do_lower_case })
    }
}

/// Checks the module chain and reads the pooling modes and whether a Normalize follows.
fn read_modules(dir: &Path, modules: &[Module], hidden_size: usize) -> Result<(Vec<PoolingMode>, bool), String> {
    let mut pooling = None;
    let mut normalize = false;
    for (i, m) in modules.iter().enumerate() {
        match (i, m.kind.as_str()) {
            (0, "Transformer") if m.path.is_empty() => {}
            (0, "Transformer") => {
                return Err(format!(
                    "modules.json: the Transformer module lives in '{}'; only one at the top level is supported",
                    m.path
                ));
            }
            (1, "Pooling") if !m.path.is_empty() => {
                let config = dir.join(&m.path).join("config.json");
                let text = read_optional(&config)?.ok_or_else(|| format!("{}/config.json is missing", m.path))?;
                pooling = Some(parse_pooling(&text, hidden_size)?);
            }
            (2, "Normalize") => normalize = true,
            (_, kind) => {
                return Err(format!(
                    "modules.json: module {i} is '{kind}' in '{}'; only Transformer, Pooling and an optional Normalize are supported",
                    m.path
                ));
            }
        }
    }
    let pooling = pooling.ok_or("modules.json: no Pooling module follows the Transformer")?;
    Ok((pooling, normalize))
}

fn read_optional(path: &Path) -> Result<Option<String>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

struct Module {
    /// The class name without its package (`sentence_transformers.models.Pooling` → `Pooling`).
    kind: String,
    path: String,
}

#[derive(Deserialize)]
struct RawModule {
    #[serde(default)]
    idx: Option<usize>,
    #[serde(default)]
    path: String,
    #[serde(rename = "type")]
    kind: String,
}

fn parse_modules(text: &str) -> Result<Vec<Module>, String> {
    let mut raw: Vec<RawModule> = serde_json::from_str(text).map_err(|e| format!("modules.json: {e}"))?;
    raw.sort_by_key(|m| m.idx);
    Ok(raw.into_iter().map(|m| Module { kind: m.kind.rsplit('.').next().unwrap_or_default().to_owned(), path: m.path }).collect())
}

/// `1_Pooling/config.json`; unknown keys (e.g. `include_prompt`) are ignored.
#[derive(Deserialize)]
struct PoolingConfig {
    #[serde(default)]
    word_embedding_dimension: Option<usize>,
    #[serde(default)]
    pooling_mode_cls_token: bool,
    #[serde(default)]
    pooling_mode_max_tokens: bool,
    #[serde(default)]
    pooling_mode_mean_tokens: bool,
    #[serde(default)]
    pooling_mode_mean_sqrt_len_tokens: bool,
    #[serde(default)]
    pooling_mode_weightedmean_tokens: bool,
    #[serde(default)]
    pooling_mode_lasttoken: bool,
}

fn parse_pooling(text: &str, hidden_size: usize) -> Result<Vec<PoolingMode>, String> {
    let c: PoolingConfig = serde_json::from_str(text).map_err(|e| format!("pooling config.json: {e}"))?;
    if let Some(dim) = c.word_embedding_dimension
        && dim != hidden_size
    {
        return Err(format!(
            "pooling config.json: word_embedding_dimension {dim} differs from the transformer's hidden_size {hidden_size}"
        ));
    }
    if c.pooling_mode_weightedmean_tokens || c.pooling_mode_lasttoken {
        return Err(
            "pooling config.json: weighted-mean and last-token pooling are not supported (cls, max, mean, mean_sqrt_len are)"
                .into(),
        );
    }
    let modes: Vec<PoolingMode> = [
        (c.pooling_mode_cls_token, PoolingMode::Cls),
        (c.pooling_mode_max_tokens, PoolingMode::Max),
        (c.pooling_mode_mean_tokens, PoolingMode::Mean),
        (c.pooling_mode_mean_sqrt_len_tokens, PoolingMode::MeanSqrtLen),
    ]
    .into_iter()
    .filter_map(|(on, mode)| on.then_some(mode))
    .collect();
    if modes.is_empty() {
        return Err("pooling config.json: no pooling mode is switched on".into());
    }
    Ok(modes)
}

#[derive(Deserialize, Default)]
struct SbertConfig {
    #[serde(default)]
    max_seq_length: Option<usize>,
    #[serde(default)]
    do_lower_case: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINILM_MODULES: &str = r#"[
      {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
      {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
      {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}]"#;
    const MEAN: &str = r#"{"word_embedding_dimension": 384, "pooling_mode_cls_token": false,
      "pooling_mode_mean_tokens": true, "pooling_mode_max_tokens": false, "pooling_mode_mean_sqrt_len_tokens": false}"#;

    fn model_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = tmp.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        tmp
    }

    #[test]
    fn all_minilm_l6_v2_reads_as_mean_pooled_normalised_256() {
        let dir = model_dir(&[
            ("modules.json", MINILM_MODULES),
            ("1_Pooling/config.json", MEAN),
            ("sentence_bert_config.json", r#"{"max_seq_length": 256, "do_lower_case": false}"#),
        ]);
        let p = Pipeline::read(dir.path(), 384, 512).unwrap();
        assert_eq!(p, Pipeline { pooling: vec![PoolingMode::Mean], normalize: true, max_seq_length: 256, do_lower_case: false });
        assert_eq!(p.dimension(384), 384);
    }

    #[test]
    fn cls_without_normalize_and_concatenated_modes() {
        let modules = r#"[{"idx": 0, "path": "", "type": "sentence_transformers.models.Transformer"},
                          {"idx": 1, "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]"#;
        let cls = r#"{"word_embedding_dimension": 8, "pooling_mode_cls_token": true, "include_prompt": true}"#;
        let dir = model_dir(&[("modules.json", modules), ("1_Pooling/config.json", cls)]);
        let p = Pipeline::read(dir.path(), 8, 512).unwrap();
        assert_eq!((p.pooling.as_slice(), p.normalize, p.max_seq_length), ([PoolingMode::Cls].as_slice(), false, 512));

        let both = r#"{"pooling_mode_mean_tokens": true, "pooling_mode_cls_token": true, "pooling_mode_max_tokens": true}"#;
        let dir = model_dir(&[("modules.json", modules), ("1_Pooling/config.json", both)]);
        let p = Pipeline::read(dir.path(), 8, 128).unwrap();
        assert_eq!(p.pooling, [PoolingMode::Cls, PoolingMode::Max, PoolingMode::Mean]);
        assert_eq!(p.dimension(8), 24);
    }

    #[test]
    fn plain_checkpoint_is_mean_pooled_and_max_seq_length_is_capped() {
        let dir = model_dir(&[]);
        let p = Pipeline::read(dir.path(), 8, 128).unwrap();
        assert_eq!(p, Pipeline { pooling: vec![PoolingMode::Mean], normalize: false, max_seq_length: 128, do_lower_case: false });
        let dir = model_dir(&[("sentence_bert_config.json", r#"{"max_seq_length": 4096, "do_lower_case": true}"#)]);
        let p = Pipeline::read(dir.path(), 8, 512).unwrap();
        assert_eq!((p.max_seq_length, p.do_lower_case), (512, true));
    }

    #[test]
    fn unsupported_pipelines_are_refused_with_a_reason() {
        let dense = r#"[{"idx": 0, "path": "", "type": "sentence_transformers.models.Transformer"},
                        {"idx": 1, "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
                        {"idx": 2, "path": "2_Dense", "type": "sentence_transformers.models.Dense"}]"#;
        let cases: [(&[(&str, &str)], &str); 5] = [
            (&[("modules.json", dense), ("1_Pooling/config.json", MEAN)], "Dense"),
            (&[("modules.json", MINILM_MODULES)], "1_Pooling/config.json is missing"),
            (&[("modules.json", MINILM_MODULES), ("1_Pooling/config.json", r#"{"pooling_mode_lasttoken": true}"#)], "last-token"),
            (
                &[
                    ("modules.json", MINILM_MODULES),
                    ("1_Pooling/config.json", r#"{"word_embedding_dimension": 768, "pooling_mode_mean_tokens": true}"#),
                ],
                "768",
            ),
            (&[("modules.json", "{not json")], "modules.json"),
        ];
        for (files, needle) in cases {
            let dir = model_dir(files);
            let err = Pipeline::read(dir.path(), 384, 512).unwrap_err();
            assert!(err.contains(needle), "{err:?} lacks {needle:?}");
        }
        let dir =
            model_dir(&[("1_Pooling/config.json", r#"{"pooling_mode_mean_tokens": false}"#), ("modules.json", MINILM_MODULES)]);
        assert!(Pipeline::read(dir.path(), 384, 512).unwrap_err().contains("no pooling mode"));
    }
}
