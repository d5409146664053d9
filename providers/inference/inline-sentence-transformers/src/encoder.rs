//! [`Encoder`]: one loaded model (tokenizer + [`Bert`] + its sentence-transformers pipeline)
//! and the synchronous work of embedding: tokenize, plan length-sorted batches, run a batch,
//! pool, normalise. Everything here blocks; the provider calls it off the async runtime.

use std::path::{Path, PathBuf};

use tokenizers::{Tokenizer, TruncationParams};

use crate::bert::{Bert, BertConfig};
use crate::pipeline::Pipeline;
use crate::pooling;

/// Why a model could not be loaded or run; the provider maps it to an error kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodeError(pub String);

impl std::fmt::Display for EncodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for EncodeError {}

type Result<T> = std::result::Result<T, EncodeError>;

/// One input after tokenizing: ids and type ids, special tokens included, already truncated
/// to the model's `max_seq_length`; no padding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tokenized {
    pub ids: Vec<u32>,
    pub type_ids: Vec<u32>,
}

/// A loaded sentence-transformers model.
pub struct Encoder {
    dir: PathBuf,
    tokenizer: Tokenizer,
    model: Bert,
    pipeline: Pipeline,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder").field("dir", &self.dir).field("pipeline", &self.pipeline).finish_non_exhaustive()
    }
}

impl Encoder {
    /// Loads the model in `dir`: `config.json` (a BERT), the sentence-transformers pipeline,
    /// `tokenizer.json` (its padding and truncation replaced by ours) and `model.safetensors`.
    pub fn load(dir: &Path) -> Result<Encoder> {
        let file = |name: &str| dir.join(name);
        let read_err = |name: &str, e: std::io::Error| EncodeError(format!("cannot read {}: {e}", file(name).display()));
        let config_text = std::fs::read_to_string(file("config.json")).map_err(|e| read_err("config.json", e))?;
        let config: BertConfig = serde_json::from_str(&config_text)
            .map_err(|e| EncodeError(format!("{}: not a BERT config ({e})", file("config.json").display())))?;
        config.check().map_err(|e| EncodeError(format!("{}: {e}", dir.display())))?;
        let pipeline = Pipeline::read(dir, config.hidden_size, config.max_position_embeddings)
            .map_err(|e| EncodeError(format!("{}: {e}", dir.display())))?;

        let mut tokenizer = Tokenizer::from_file(file("tokenizer.json"))
            .map_err(|e| EncodeError(format!("{}: {e}", file("tokenizer.json").display())))?;
        // The packaged tokenizer.json pads and truncates to a fixed 128. Nothing is padded
        // here (sequences are packed), and inputs are cut at max_seq_length as
        // sentence-transformers cuts them.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams { max_length: pipeline.max_seq_length, ..TruncationParams::default() }))
            .map_err(|e| EncodeError(format!("tokenizer truncation: {e}")))?;

        // Read whole: the weights are converted into the encoder's own buffers, so a mapping
        // would be copied just the same.
        let weights = std::fs::read(file("model.safetensors")).map_err(|e| read_err("model.safetensors", e))?;
        let model = Bert::load(config, &weights).map_err(|e| EncodeError(format!("{}: {e}", dir.display())))?;
        Ok(Encoder { dir: dir.to_path_buf(), tokenizer, model, pipeline })
    }

    /// The directory the model was loaded from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The sentence vector's length.
    pub fn dimension(&self) -> usize {
        self.pipeline.dimension(self.model.config().hidden_size)
    }

    /// The pipeline read from the model's sentence-transformers files.
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// Tokenizes every input (in parallel), truncated to `max_seq_length`.
    pub fn tokenize(&self, texts: &[String]) -> Result<Vec<Tokenized>> {
        let inputs: Vec<String> =
            if self.pipeline.do_lower_case { texts.iter().map(|t| t.to_lowercase()).collect() } else { texts.to_vec() };
        let encodings = self.tokenizer.encode_batch(inputs, true).map_err(|e| EncodeError(format!("tokenizing: {e}")))?;
        Ok(encodings.into_iter().map(|e| Tokenized { ids: e.get_ids().to_vec(), type_ids: e.get_type_ids().to_vec() }).collect())
    }

    /// Embeds one batch: runs the model over the inputs packed together, pools each and
    /// (when the pipeline says so) normalises. One vector per input, in the batch's order.
    pub fn embed(&self, batch: &[&Tokenized]) -> Result<Vec<Vec<f32>>> {
        let seqs: Vec<(&[u32], &[u32])> = batch.iter().map(|t| (t.ids.as_slice(), t.type_ids.as_slice())).collect();
        let hidden = self.model.forward(&seqs).map_err(|e| EncodeError(format!("running the model: {e}")))?;
        let h = self.model.config().hidden_size;
        let mut at = 0;
        Ok(batch
            .iter()
            .map(|t| {
                let rows = &hidden[at * h..(at + t.ids.len()) * h];
                at += t.ids.len();
                let mut v = pooling::pool(rows, h, &self.pipeline.pooling);
                if self.pipeline.normalize {
                    pooling::normalize(&mut v);
                }
                v
            })
            .collect())
    }

    /// Embeds every input, `batch_size` at a time in length order, in the caller's order.
    /// The synchronous whole of what the provider does piecewise (benchmarks, parity tests).
    pub fn encode(&self, texts: &[String], batch_size: usize) -> Result<Vec<Vec<f32>>> {
        let tokens = self.tokenize(texts)?;
        let lengths: Vec<usize> = tokens.iter().map(|t| t.ids.len()).collect();
        let mut out = vec![Vec::new(); texts.len()];
        for batch in plan_batches(&lengths, batch_size) {
            let refs: Vec<&Tokenized> = batch.iter().map(|&i| &tokens[i]).collect();
            for (i, v) in batch.iter().zip(self.embed(&refs)?) {
                out[*i] = v;
            }
        }
        Ok(out)
    }
}

/// Splits inputs of the given token `lengths` into batches of at most `batch_size` inputs (at
/// least one) of similar length, longest first: sequences are packed without padding, so
/// this keeps batch sizes in tokens even and a long input from straggling in a short batch.
/// Each batch lists input positions; together they hold every position exactly once.
pub fn plan_batches(lengths: &[usize], batch_size: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(lengths[i]));
    order.chunks(batch_size.max(1)).map(<[usize]>::to_vec).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_length_sorted_and_cover_every_input_once() {
        let lengths = [3, 10, 1, 7, 10, 2, 5];
        let plan = plan_batches(&lengths, 3);
        assert_eq!(plan, [vec![1, 4, 3], vec![6, 0, 5], vec![2]]);
        let mut seen: Vec<usize> = plan.concat();
        seen.sort_unstable();
        assert_eq!(seen, (0..lengths.len()).collect::<Vec<_>>());
        assert_eq!(plan_batches(&[], 4), Vec::<Vec<usize>>::new());
        assert_eq!(plan_batches(&[1, 2], 0), [vec![1], vec![0]]);
    }

    #[test]
    fn a_missing_directory_names_the_file() {
        let err = Encoder::load(Path::new("/nonexistent/model")).unwrap_err();
        assert!(err.0.contains("/nonexistent/model/config.json"), "{err}");
    }
}
