//! The llama.cpp side: one worker thread owns the model and one context, and decodes every
//! running request together (one llama.cpp sequence each, one batch of one token per sequence
//! per step). Requests reach it through a bounded queue; their text goes back through a
//! channel per request, and a request whose receiver is gone (client disconnected) stops.

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, TrySendError, sync_channel};
use std::sync::{Arc, OnceLock};

use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;
use tokio::sync::{mpsc, oneshot};

use crate::stops::StopFilter;

/// Why a sequence ended, as OpenAI's `finish_reason` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    Stop,
    Length,
}

impl Finish {
    pub fn as_str(self) -> &'static str {
        match self {
            Finish::Stop => "stop",
            Finish::Length => "length",
        }
    }
}

/// What the worker sends back for one request.
#[derive(Debug)]
pub enum Event {
    Text(String),
    Done {
        finish: Finish,
        prompt_tokens: u32,
        completion_tokens: u32,
    },
    /// The request cannot run (prompt too long, decode failure); nothing else follows.
    Failed(Failure),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    PromptTooLong {
        prompt_tokens: usize,
        context_length: u32,
    },
    Decode(String),
    /// The grammar the request asked for does not compile.
    Grammar(String),
}

/// How to pick tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampling {
    /// 0 (or less): greedy.
    pub temperature: f32,
    pub top_p: f32,
    pub seed: u32,
}

/// One generation.
#[derive(Debug)]
pub struct Job {
    pub prompt: String,
    /// Let the tokenizer add BOS (completions); chat templates write their own.
    pub add_special: bool,
    pub sampling: Sampling,
    pub max_tokens: u32,
    pub stop: Vec<String>,
    /// A GBNF grammar (root rule `root`) the answer must follow.
    pub grammar: Option<String>,
    pub events: mpsc::UnboundedSender<Event>,
}

/// What the loaded model tells the provider.
#[derive(Debug, Clone)]
pub struct ModelInfo {
    pub chat_template: Option<String>,
    pub bos_token: String,
    pub eos_token: String,
}

/// How the context is sized and threaded.
#[derive(Debug, Clone, Copy)]
pub struct EngineParams {
    /// Tokens per sequence (prompt and answer).
    pub context_length: u32,
    pub sequences: u32,
    pub threads: u32,
    pub queue: u32,
}

/// The handle to a running worker; dropping it stops the worker when its running requests end.
#[derive(Debug)]
pub struct Engine {
    jobs: SyncSender<Job>,
    pub info: ModelInfo,
    /// Tokens generated so far, all requests together.
    pub generated: Arc<AtomicU64>,
}

/// Why a job was not queued.
#[derive(Debug)]
pub enum Refused {
    Full,
    Stopped,
}

impl Engine {
    /// Loads `path` on a new worker thread (blocking until it is loaded or failed).
    pub fn start(path: PathBuf, params: EngineParams) -> Result<Engine, String> {
        let (jobs, queue) = sync_channel::<Job>(params.queue as usize);
        let (ready_tx, ready_rx) = oneshot::channel();
        let generated = Arc::new(AtomicU64::new(0));
        let counter = generated.clone();
        std::thread::Builder::new()
            .name("llama-cpp".into())
            .spawn(move || worker(&path, params, queue, ready_tx, counter))
            .map_err(|e| format!("cannot start the llama.cpp thread: {e}"))?;
        let info = ready_rx
            .blocking_recv()
            .map_err(|_| "the llama.cpp thread stopped while loading".to_owned())??;
        Ok(Engine {
            jobs,
            info,
            generated,
        })
    }

    /// Queues `job`, or says why not (never blocks).
    pub fn submit(&self, job: Job) -> Result<(), Refused> {
        self.jobs.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => Refused::Full,
            TrySendError::Disconnected(_) => Refused::Stopped,
        })
    }
}

/// llama.cpp's process-wide state, initialised once.
fn backend() -> Result<&'static LlamaBackend, String> {
    static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            llama_cpp_2::send_logs_to_tracing(llama_cpp_2::LogOptions::default());
            LlamaBackend::init().map_err(|e| format!("llama.cpp cannot start: {e}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}

fn worker(
    path: &Path,
    params: EngineParams,
    queue: Receiver<Job>,
    ready: oneshot::Sender<Result<ModelInfo, String>>,
    generated: Arc<AtomicU64>,
) {
    let loaded = backend().and_then(|backend| {
        let model = LlamaModel::load_from_file(backend, path, &LlamaModelParams::default())
            .map_err(|e| format!("llama.cpp cannot load {}: {e}", path.display()))?;
        Ok((backend, model))
    });
    let (backend, model) = match loaded {
        Ok(ok) => ok,
        Err(e) => {
            let _ = ready.send(Err(e));
            return;
        }
    };
    let n_ctx = params.context_length.saturating_mul(params.sequences);
    let ctx_params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(n_ctx))
        .with_n_batch(params.context_length.min(2048))
        .with_n_seq_max(params.sequences)
        .with_n_threads(params.threads as i32)
        .with_n_threads_batch(params.threads as i32);
    let ctx = match model.new_context(backend, ctx_params) {
        Ok(ctx) => ctx,
        Err(e) => {
            let _ = ready.send(Err(format!(
                "llama.cpp cannot make a context of {n_ctx} tokens: {e}"
            )));
            return;
        }
    };
    let info = model_info(&model);
    if ready.send(Ok(info)).is_err() {
        return;
    }
    let mut decoder = Decoder {
        model: &model,
        ctx,
        params,
        running: Vec::new(),
        generated,
    };
    // A panic in a step ends the requests it was running (their channels close: "the worker
    // stopped"), not the worker: the cache is cleared and the queue served on.
    loop {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| decoder.run(&queue))) {
            Ok(()) => return,
            Err(_) => {
                tracing::error!(path = %path.display(), "a llama.cpp step panicked; its requests fail and the worker goes on");
                decoder.running.clear();
                decoder.ctx.clear_kv_cache();
            }
        }
    }
}

fn model_info(model: &LlamaModel) -> ModelInfo {
    let vocab = model.vocab();
    let text =
        |t: LlamaToken| String::from_utf8_lossy(&vocab.token_to_piece(t, true, None)).into_owned();
    ModelInfo {
        chat_template: model.meta_val_str("tokenizer.chat_template").ok(),
        bos_token: text(vocab.bos()),
        eos_token: text(vocab.eos()),
    }
}

/// A running request.
struct Sequence {
    id: i32,
    job: Job,
    sampler: LlamaSampler,
    /// The position of `next` in the sequence.
    pos: i32,
    /// The token to feed in the next step.
    next: LlamaToken,
    prompt_tokens: u32,
    generated: u32,
    /// Bytes of a character split across tokens.
    partial: Vec<u8>,
    stops: StopFilter,
}

struct Decoder<'m> {
    model: &'m LlamaModel,
    ctx: LlamaContext<'m>,
    params: EngineParams,
    running: Vec<Sequence>,
    generated: Arc<AtomicU64>,
}

impl Decoder<'_> {
    fn run(&mut self, queue: &Receiver<Job>) {
        let mut batch = LlamaBatch::new(self.params.sequences as usize, 1);
        loop {
            if !self.admit(queue) {
                return;
            }
            // Requests whose client went away stop here.
            let (gone, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.running)
                .into_iter()
                .partition(|s| s.job.events.is_closed());
            self.running = kept;
            gone.iter().for_each(|s| self.release(s.id));
            if self.running.is_empty() {
                continue;
            }
            batch.clear();
            let mut failed = None;
            for s in &self.running {
                if let Err(e) = batch.add(s.next, s.pos, &[s.id], true) {
                    failed = Some(format!("batch: {e}"));
                    break;
                }
            }
            let result = match failed {
                Some(e) => Err(e),
                None => self
                    .ctx
                    .decode(&mut batch)
                    .map_err(|e| format!("llama.cpp decode failed: {e}")),
            };
            let running = std::mem::take(&mut self.running);
            if let Err(e) = result {
                for s in running {
                    let _ = s.job.events.send(Event::Failed(Failure::Decode(e.clone())));
                    self.release(s.id);
                }
                continue;
            }
            for (i, mut s) in running.into_iter().enumerate() {
                s.pos += 1;
                let token = s.sampler.sample(&self.ctx, i as i32);
                match self.advance(&mut s, token) {
                    None => self.running.push(s),
                    Some(finish) => self.finish(s, finish),
                }
            }
        }
    }

    /// Starts queued jobs while sequences are free; waits for one when nothing runs. False when
    /// the provider is gone and nothing runs.
    fn admit(&mut self, queue: &Receiver<Job>) -> bool {
        while self.running.len() < self.params.sequences as usize {
            let job = if self.running.is_empty() {
                match queue.recv() {
                    Ok(job) => job,
                    Err(_) => return false,
                }
            } else {
                match queue.try_recv() {
                    Ok(job) => job,
                    Err(TryRecvError::Empty | TryRecvError::Disconnected) => return true,
                }
            };
            if job.events.is_closed() {
                continue;
            }
            let id = (0..self.params.sequences as i32)
                .find(|id| self.running.iter().all(|s| s.id != *id))
                .unwrap_or(0);
            self.start(id, job);
        }
        true
    }

    /// Reads the prompt into sequence `id` and samples its first token.
    fn start(&mut self, id: i32, job: Job) {
        let tokens = self
            .model
            .vocab()
            .tokenize(job.prompt.as_bytes(), job.add_special, true);
        let limit = self.params.context_length;
        if tokens.is_empty() || tokens.len() >= limit as usize {
            let failure = if tokens.is_empty() {
                Failure::Decode("the prompt is empty".into())
            } else {
                Failure::PromptTooLong {
                    prompt_tokens: tokens.len(),
                    context_length: limit,
                }
            };
            let _ = job.events.send(Event::Failed(failure));
            return;
        }
        let mut sampler = match sampler(self.model, job.sampling, job.grammar.as_deref()) {
            Ok(s) => s,
            Err(e) => {
                let _ = job.events.send(Event::Failed(Failure::Grammar(e)));
                return;
            }
        };
        self.release(id);
        let n_batch = self.ctx.n_batch().max(1) as usize;
        let mut batch = LlamaBatch::new(n_batch, 1);
        let last = tokens.len() - 1;
        for (chunk_index, chunk) in tokens.chunks(n_batch).enumerate() {
            batch.clear();
            for (j, t) in chunk.iter().enumerate() {
                let pos = chunk_index * n_batch + j;
                if let Err(e) = batch.add(*t, pos as i32, &[id], pos == last) {
                    let _ = job
                        .events
                        .send(Event::Failed(Failure::Decode(format!("batch: {e}"))));
                    return;
                }
            }
            if let Err(e) = self.ctx.decode(&mut batch) {
                let _ = job.events.send(Event::Failed(Failure::Decode(format!(
                    "llama.cpp decode failed: {e}"
                ))));
                self.release(id);
                return;
            }
        }
        let first = sampler.sample(&self.ctx, batch.n_tokens() - 1);
        let stops = StopFilter::new(job.stop.clone());
        let mut s = Sequence {
            id,
            job,
            sampler,
            pos: tokens.len() as i32,
            next: first,
            prompt_tokens: tokens.len() as u32,
            generated: 0,
            partial: Vec::new(),
            stops,
        };
        match self.advance(&mut s, first) {
            None => self.running.push(s),
            Some(finish) => self.finish(s, finish),
        }
    }

    /// Takes `token` as the sequence's next one: sends its text, and says whether that ends it.
    fn advance(&self, s: &mut Sequence, token: LlamaToken) -> Option<Finish> {
        let vocab = self.model.vocab();
        if vocab.is_eog(token) {
            return Some(Finish::Stop);
        }
        s.generated += 1;
        self.generated.fetch_add(1, Ordering::Relaxed);
        s.next = token;
        s.partial.extend(vocab.token_to_piece(token, false, None));
        let text = take_utf8(&mut s.partial);
        let (out, stopped) = s.stops.push(&text);
        if !out.is_empty() && s.job.events.send(Event::Text(out)).is_err() {
            return Some(Finish::Stop);
        }
        if stopped {
            return Some(Finish::Stop);
        }
        let full = s.pos as u32 + 1 >= self.params.context_length;
        (s.generated >= s.job.max_tokens || full).then_some(Finish::Length)
    }

    fn finish(&mut self, mut s: Sequence, finish: Finish) {
        let rest = s.stops.flush();
        if !rest.is_empty() {
            let _ = s.job.events.send(Event::Text(rest));
        }
        let _ = s.job.events.send(Event::Done {
            finish,
            prompt_tokens: s.prompt_tokens,
            completion_tokens: s.generated,
        });
        self.release(s.id);
    }

    /// Forgets sequence `id`'s cache.
    fn release(&mut self, id: i32) {
        let _ = self.ctx.clear_kv_cache_seq(Some(id as u32), None, None);
    }
}

/// Greedy at temperature 0, else top-p, temperature and a seeded draw; after the grammar, when
/// there is one.
fn sampler(model: &LlamaModel, s: Sampling, grammar: Option<&str>) -> Result<LlamaSampler, String> {
    let mut chain = Vec::new();
    if let Some(g) = grammar {
        chain.push(
            LlamaSampler::grammar(model, g, "root")
                .map_err(|e| format!("the grammar does not compile: {e}"))?,
        );
    }
    if s.temperature <= 0.0 {
        chain.push(LlamaSampler::greedy());
    } else {
        chain.extend([
            LlamaSampler::top_p(s.top_p.clamp(0.0, 1.0), 1),
            LlamaSampler::temp(s.temperature),
            LlamaSampler::dist(s.seed),
        ]);
    }
    Ok(LlamaSampler::chain_simple(chain))
}

/// The longest complete UTF-8 prefix of `bytes`, removed from it (invalid bytes become U+FFFD
/// once they cannot start a character any more).
fn take_utf8(bytes: &mut Vec<u8>) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => {
            let s = s.to_owned();
            bytes.clear();
            s
        }
        Err(e) if e.error_len().is_none() => {
            let valid = e.valid_up_to();
            let s = String::from_utf8_lossy(&bytes[..valid]).into_owned();
            bytes.drain(..valid);
            s
        }
        Err(_) => {
            let s = String::from_utf8_lossy(bytes).into_owned();
            bytes.clear();
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_split_across_tokens_wait_for_their_last_byte() {
        let mut b = "a€".as_bytes()[..3].to_vec();
        assert_eq!(take_utf8(&mut b), "a");
        b.extend(&"€".as_bytes()[2..]);
        assert_eq!(take_utf8(&mut b), "€");
        assert!(b.is_empty());
        let mut bad = vec![b'x', 0xff, b'y'];
        assert_eq!(take_utf8(&mut bad), "x\u{fffd}y");
    }
}
