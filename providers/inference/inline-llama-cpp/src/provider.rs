//! [`LlamaCppProvider`]: chat and completions from a GGUF model run in-process. The model
//! loads once (on the first request, or at startup with `load: startup`) on its own worker
//! thread ([`crate::engine`]); requests queue for it and never wait on the async runtime.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::{self, BoxStream};
use lls_api_common::{BuildContext, Error, ErrorKind, HealthStatus, RequestContext, Result};
use lls_api_inference::{
    Answer, AssistantMessage, ChatChoice, ChatCompletion, ChatCompletionChunk,
    ChatCompletionRequest,
};
use lls_api_inference::{
    Capabilities, ChunkChoice, Completion, CompletionChoice, CompletionRequest, Delta,
};
use lls_api_inference::{
    EmbeddingsRequest, EmbeddingsResponse, FunctionCallDelta, Inference, InferenceProvider, Output,
};
use lls_api_inference::{Prompt, ResponseFormat, Role, Stop, ToolCallDelta, ToolChoice};
use lls_api_models::ProviderModel;
use serde_json::Map;
use tokio::sync::{OnceCell, mpsc};

use crate::engine::{Engine, EngineParams, Job, Refused, Sampling};
use crate::generate::{
    Choice, Generated, Piece, new_id, split_tool_calls, unix_nanos, unix_seconds, usage,
};
use crate::template::ChatTemplate;
use crate::{LlamaCppConfig, Load, PROVIDER_TYPE};

/// What installs the models the starter distribution names.
pub const INSTALL_HINT: &str = "run `bash scripts/models.sh` to install the GGUF models, or point config.model_path at a GGUF file";

/// The most choices (`n`) one request may ask for.
const MAX_N: u32 = 8;

/// ChatML, for GGUF files without a chat template.
const CHATML: &str = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + (message['content'] or '') + '<|im_end|>\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

/// `inline::llama-cpp`.
#[derive(Debug)]
pub struct LlamaCppProvider {
    provider_id: String,
    config: LlamaCppConfig,
    model_id: String,
    path: PathBuf,
    /// Empty until the model loads; a failed load leaves it empty, so installing the file
    /// later needs no restart.
    loaded: OnceCell<Arc<Loaded>>,
}

#[derive(Debug)]
struct Loaded {
    engine: Engine,
    template: ChatTemplate,
}

impl LlamaCppProvider {
    /// A provider for `config`'s model. Loads nothing.
    pub fn new(provider_id: &str, config: LlamaCppConfig) -> Self {
        LlamaCppProvider {
            provider_id: provider_id.to_owned(),
            model_id: config.model_id(),
            path: config.resolved_path(),
            config,
            loaded: OnceCell::new(),
        }
    }

    /// The registry's entry point; with `load: startup` the model loads here.
    pub async fn build(
        ctx: BuildContext,
        config: LlamaCppConfig,
    ) -> Result<Arc<dyn InferenceProvider>> {
        let provider = Self::new(&ctx.provider_id, config);
        if provider.config.load == Load::Startup {
            provider.loaded().await?;
        }
        Ok(Arc::new(provider))
    }

    /// The id the model is listed and requested under.
    pub fn model_id(&self) -> &str {
        &self.model_id
    }

    /// Tokens generated since the model loaded, all requests together (0 before it loads).
    pub fn tokens_generated(&self) -> u64 {
        self.loaded.get().map_or(0, |l| {
            l.engine
                .generated
                .load(std::sync::atomic::Ordering::Relaxed)
        })
    }

    async fn loaded(&self) -> Result<Arc<Loaded>> {
        self.loaded.get_or_try_init(|| self.load()).await.cloned()
    }

    async fn load(&self) -> Result<Arc<Loaded>> {
        if !self.path.is_file() {
            return Err(self.missing());
        }
        let params = EngineParams {
            context_length: self.config.context_length,
            sequences: self.config.max_concurrent_sequences,
            threads: self.config.threads(),
            queue: self.config.max_queued_requests,
        };
        tracing::info!(provider_id = %self.provider_id, path = %self.path.display(), "loading GGUF model");
        let path = self.path.clone();
        let engine = tokio::task::spawn_blocking(move || Engine::start(path, params))
            .await
            .map_err(|e| Error::internal(format!("loading the model stopped: {e}")))?
            .map_err(|e| {
                Error::new(ErrorKind::UpstreamUnavailable, e).with_provider(&self.provider_id)
            })?;
        let template = match engine
            .info
            .chat_template
            .as_deref()
            .map(|t| ChatTemplate::new(t, &engine.info.bos_token, &engine.info.eos_token))
        {
            Some(Ok(t)) => t,
            other => {
                let why = match other {
                    Some(Err(e)) => e,
                    _ => "the GGUF file has no tokenizer.chat_template".to_owned(),
                };
                tracing::warn!(provider_id = %self.provider_id, "{why}; using ChatML");
                ChatTemplate::new(CHATML, &engine.info.bos_token, &engine.info.eos_token)
                    .map_err(Error::internal)?
            }
        };
        Ok(Arc::new(Loaded { engine, template }))
    }

    fn missing(&self) -> Error {
        Error::new(
            ErrorKind::UpstreamUnavailable,
            format!(
                "the model file {} of '{}' is not installed; {INSTALL_HINT}",
                self.path.display(),
                self.model_id
            ),
        )
        .with_provider(&self.provider_id)
    }

    fn check_model(&self, model: &str) -> Result<()> {
        if model == self.model_id {
            return Ok(());
        }
        Err(Error::not_found(format!(
            "model '{model}' is not served by provider '{}' ({PROVIDER_TYPE}), which serves '{}'",
            self.provider_id, self.model_id
        ))
        .with_param("model")
        .with_provider(&self.provider_id))
    }

    /// Queues `n` generations of `prompt` and waits for each to start.
    async fn start(
        &self,
        loaded: &Loaded,
        prompt: String,
        add_special: bool,
        settings: &Settings,
    ) -> Result<Vec<Choice>> {
        let mut receivers = Vec::new();
        for i in 0..settings.n {
            let (events, rx) = mpsc::unbounded_channel();
            let sampling = Sampling {
                seed: settings.seed.wrapping_add(i),
                ..settings.sampling
            };
            let job = Job {
                prompt: prompt.clone(),
                add_special,
                sampling,
                max_tokens: settings.max_tokens,
                stop: settings.stop.clone(),
                grammar: settings.grammar.clone(),
                events,
            };
            loaded.engine.submit(job).map_err(|r| self.refused(r))?;
            receivers.push(rx);
        }
        let mut choices = Vec::new();
        for (i, rx) in receivers.into_iter().enumerate() {
            choices.push(Choice::begin(i as u32, rx, &self.provider_id).await?);
        }
        Ok(choices)
    }

    fn refused(&self, r: Refused) -> Error {
        let message = match r {
            Refused::Full => format!(
                "provider '{}' is busy: {} requests are running and {} are waiting; retry in a few seconds",
                self.provider_id,
                self.config.max_concurrent_sequences,
                self.config.max_queued_requests
            ),
            Refused::Stopped => format!(
                "provider '{}': the llama.cpp worker has stopped",
                self.provider_id
            ),
        };
        Error::new(ErrorKind::UpstreamUnavailable, message).with_provider(&self.provider_id)
    }
}

/// A request's generation settings.
#[derive(Debug, Clone)]
struct Settings {
    n: u32,
    max_tokens: u32,
    stop: Vec<String>,
    sampling: Sampling,
    seed: u32,
    grammar: Option<String>,
}

impl Settings {
    fn new(
        config: &LlamaCppConfig,
        n: Option<u32>,
        max_tokens: Option<u32>,
        stop: Option<&Stop>,
        temperature: Option<f64>,
        top_p: Option<f64>,
        seed: Option<i64>,
    ) -> Result<Self> {
        let n = n.unwrap_or(1);
        if n > MAX_N {
            return Err(
                Error::invalid(format!("'n' must be at most {MAX_N} for this provider"))
                    .with_param("n"),
            );
        }
        if max_tokens == Some(0) {
            return Err(Error::invalid("'max_tokens' must be at least 1").with_param("max_tokens"));
        }
        let stop = match stop {
            None => Vec::new(),
            Some(Stop::One(s)) => vec![s.clone()],
            Some(Stop::Many(v)) => v.clone(),
        };
        // OpenAI's defaults: temperature 1, top_p 1; 0 means greedy.
        let seed = seed
            .map(|s| s as u32)
            .unwrap_or_else(|| unix_nanos() as u32);
        Ok(Settings {
            n,
            max_tokens: max_tokens.unwrap_or(config.max_tokens),
            stop,
            sampling: Sampling {
                temperature: temperature.unwrap_or(1.0) as f32,
                top_p: top_p.unwrap_or(1.0) as f32,
                seed,
            },
            seed,
            grammar: None,
        })
    }
}

/// The tool names a chat request offers when the model may call them, and the grammar that
/// forces a call when `tool_choice` is `required` or names a function.
fn offered_tools(request: &ChatCompletionRequest) -> Result<(Option<Vec<String>>, Option<String>)> {
    let tools = match request.tools.as_ref().filter(|t| !t.is_empty()) {
        Some(t) => t,
        None => return Ok((None, None)),
    };
    let names = || Some(tools.iter().map(|t| t.function.name.clone()).collect());
    let forced: Vec<&lls_api_inference::Tool> = match &request.tool_choice {
        Some(ToolChoice::Mode(m)) if m == "none" => return Ok((None, None)),
        None => return Ok((names(), None)),
        Some(ToolChoice::Mode(m)) if m == "auto" => return Ok((names(), None)),
        Some(ToolChoice::Mode(_)) => tools.iter().collect(),
        Some(ToolChoice::Named(named)) => {
            let name = named
                .get("function")
                .and_then(|f| f.get("name"))
                .and_then(serde_json::Value::as_str);
            let chosen: Vec<_> = tools
                .iter()
                .filter(|t| Some(t.function.name.as_str()) == name)
                .collect();
            if chosen.is_empty() {
                return Err(Error::invalid(format!(
                    "tool_choice names function {}, which is not among 'tools'",
                    name.unwrap_or("(none)")
                ))
                .with_param("tool_choice"));
            }
            chosen
        }
    };
    let spec: Vec<(&str, Option<&serde_json::Value>)> = forced
        .iter()
        .map(|t| (t.function.name.as_str(), t.function.parameters.as_ref()))
        .collect();
    let grammar = crate::grammar::tool_call(&spec);
    Ok((
        Some(forced.iter().map(|t| t.function.name.clone()).collect()),
        Some(grammar),
    ))
}

/// The grammar `response_format` asks for.
fn response_grammar(format: Option<&ResponseFormat>) -> Option<String> {
    match format? {
        ResponseFormat::Text => None,
        ResponseFormat::JsonObject => Some(crate::grammar::json_object()),
        ResponseFormat::JsonSchema { json_schema } => Some(match &json_schema.schema {
            Some(schema) => crate::grammar::json_schema(schema),
            None => crate::grammar::json_object(),
        }),
    }
}

#[async_trait]
impl Inference for LlamaCppProvider {
    async fn chat_completion(
        &self,
        _ctx: &RequestContext,
        request: ChatCompletionRequest,
    ) -> Result<Output<ChatCompletion, ChatCompletionChunk>> {
        request.validate()?;
        self.check_model(&request.model)?;
        if request.logprobs == Some(true) {
            return Err(
                Error::unsupported(format!("{PROVIDER_TYPE} does not return logprobs"))
                    .with_param("logprobs"),
            );
        }
        let (tools, tool_grammar) = offered_tools(&request)?;
        let mut settings = Settings::new(
            &self.config,
            request.n,
            request.max_completion_tokens.or(request.max_tokens),
            request.stop.as_ref(),
            request.temperature,
            request.top_p,
            request.seed,
        )?;
        // A forced tool call wins over response_format: the answer is the call.
        let loaded = self.loaded().await?;
        let tool_grammar = tool_grammar.map(|g| {
            if loaded.template.wants_tool_call_tags() {
                crate::grammar::in_tool_call_tags(&g)
            } else {
                g
            }
        });
        // No tool may be called (none offered, or tool_choice none; the router drops the tools
        // of the latter) but earlier turns hold calls: the answer may not be one. Small models
        // imitate the calls (or the results) before them otherwise, as text.
        let history_has_calls = request.messages.iter().any(|m| {
            m.role == Role::Tool || m.tool_calls.as_ref().is_some_and(|c| !c.is_empty())
        });
        let no_call = tools.is_none() && history_has_calls;
        settings.grammar = tool_grammar
            .or_else(|| response_grammar(request.response_format.as_ref()))
            .or_else(|| no_call.then(crate::grammar::no_tool_call));
        let offered = if tools.is_some() {
            request.tools.as_deref()
        } else {
            None
        };
        if let (Some(_), Some(marker)) = (offered, loaded.template.tool_result_marker()) {
            settings.stop.push(marker.to_owned());
        }
        let prompt = loaded
            .template
            .render(&request.messages, offered)
            .map_err(|e| Error::invalid(e).with_param("messages"))?;
        let choices = self.start(&loaded, prompt, false, &settings).await?;
        let (id, created) = (new_id("chatcmpl"), unix_seconds());
        if request.is_stream() {
            let head = ChunkHead {
                id,
                created,
                model: request.model.clone(),
            };
            return Ok(Output::Stream(chat_stream(
                choices,
                head,
                tools,
                request.include_usage(),
                self.provider_id.clone(),
            )));
        }
        let mut generated = Vec::new();
        for c in choices {
            generated.push(c.collect(&self.provider_id).await?);
        }
        Ok(Output::Complete(Answer::Typed(chat_completion(
            generated,
            id,
            created,
            request.model,
            tools.as_deref(),
        ))))
    }

    async fn completion(
        &self,
        _ctx: &RequestContext,
        request: CompletionRequest,
    ) -> Result<Output<Completion, Completion>> {
        request.validate()?;
        self.check_model(&request.model)?;
        let prompt = match &request.prompt {
            Prompt::Text(t) => t.clone(),
            Prompt::Texts(v) if v.len() == 1 => v[0].clone(),
            _ => {
                return Err(Error::unsupported(format!(
                    "{PROVIDER_TYPE} takes one text prompt, not several or token ids"
                ))
                .with_param("prompt"));
            }
        };
        if request.suffix.is_some() {
            return Err(
                Error::unsupported(format!("{PROVIDER_TYPE} does not support 'suffix'"))
                    .with_param("suffix"),
            );
        }
        if request.logprobs.is_some_and(|l| {
            !matches!(
                l,
                lls_api_inference::Logprobs::Flag(false) | lls_api_inference::Logprobs::Count(0)
            )
        }) {
            return Err(
                Error::unsupported(format!("{PROVIDER_TYPE} does not return logprobs"))
                    .with_param("logprobs"),
            );
        }
        let settings = Settings::new(
            &self.config,
            request.n,
            request.max_tokens,
            request.stop.as_ref(),
            request.temperature,
            request.top_p,
            request.seed,
        )?;
        let loaded = self.loaded().await?;
        let echo = request.echo.unwrap_or(false).then(|| prompt.clone());
        let choices = self.start(&loaded, prompt, true, &settings).await?;
        let (id, created) = (new_id("cmpl"), unix_seconds());
        let include_usage = request
            .stream_options
            .as_ref()
            .and_then(|o| o.include_usage)
            .unwrap_or(false);
        let head = ChunkHead {
            id,
            created,
            model: request.model.clone(),
        };
        if request.is_stream() {
            return Ok(Output::Stream(completion_stream(
                choices,
                head,
                echo,
                include_usage,
                self.provider_id.clone(),
            )));
        }
        let mut out = Vec::new();
        let (mut prompt_tokens, mut completion_tokens) = (0, 0);
        for c in choices {
            let g = c.collect(&self.provider_id).await?;
            prompt_tokens = g.prompt_tokens;
            completion_tokens += g.completion_tokens;
            let text = match &echo {
                Some(p) => format!("{p}{}", g.text),
                None => g.text,
            };
            out.push(completion_choice(g.index, text, Some(g.finish.as_str())));
        }
        let mut c = head.completion(out);
        c.usage = Some(usage(prompt_tokens, completion_tokens));
        Ok(Output::Complete(Answer::Typed(c)))
    }

    async fn embeddings(
        &self,
        _ctx: &RequestContext,
        request: EmbeddingsRequest,
    ) -> Result<Answer<EmbeddingsResponse>> {
        Err(Error::unsupported(format!(
            "provider '{}' ({PROVIDER_TYPE}) serves chat models only; '{}' cannot be used for embeddings",
            self.provider_id, request.model
        ))
        .with_param("model")
        .with_provider(&self.provider_id))
    }
}

#[async_trait]
impl InferenceProvider for LlamaCppProvider {
    /// The configured model, once its file is installed: a server whose run.yaml names this
    /// provider offers the model only where the file is (requests for it without the file,
    /// e.g. registered by hand, fail with a 503 saying how to install it).
    async fn list_models(&self) -> Result<Vec<ProviderModel>> {
        if self.loaded.initialized() || self.path.is_file() {
            return Ok(vec![ProviderModel::llm(self.model_id.clone())]);
        }
        tracing::warn!(provider_id = %self.provider_id, path = %self.path.display(),
            "not listing the model: its file is missing; {INSTALL_HINT}");
        Ok(Vec::new())
    }

    /// Chat (streamed or not; tool calls parsed from the text, or forced by a grammar;
    /// structured output by grammar) and completions; no embeddings or logprobs.
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            tools: true,
            structured_output: true,
            completions: true,
            ..Capabilities::chat_only()
        }
    }

    async fn health(&self) -> HealthStatus {
        if self.loaded.initialized() || self.path.is_file() {
            HealthStatus::ok()
        } else {
            HealthStatus::error(self.missing().message().to_owned())
        }
    }
}

/// What every chunk of one answer repeats.
struct ChunkHead {
    id: String,
    created: i64,
    model: String,
}

impl ChunkHead {
    fn chunk(&self, choices: Vec<ChunkChoice>) -> ChatCompletionChunk {
        ChatCompletionChunk {
            id: self.id.clone(),
            object: "chat.completion.chunk".into(),
            created: self.created,
            model: self.model.clone(),
            choices,
            usage: None,
            extra: Map::new(),
        }
    }

    fn completion(&self, choices: Vec<CompletionChoice>) -> Completion {
        Completion {
            id: self.id.clone(),
            object: "text_completion".into(),
            created: self.created,
            model: self.model.clone(),
            choices,
            usage: None,
            extra: Map::new(),
        }
    }
}

fn chat_completion(
    generated: Vec<Generated>,
    id: String,
    created: i64,
    model: String,
    tools: Option<&[String]>,
) -> ChatCompletion {
    let prompt_tokens = generated.first().map_or(0, |g| g.prompt_tokens);
    let completion_tokens = generated.iter().map(|g| g.completion_tokens).sum();
    let choices = generated
        .into_iter()
        .map(|g| {
            let (content, tool_calls) = split_tool_calls(g.text, tools);
            let finish = if tool_calls.is_some() {
                "tool_calls"
            } else {
                g.finish.as_str()
            };
            ChatChoice {
                index: g.index,
                message: AssistantMessage {
                    role: "assistant".into(),
                    content,
                    tool_calls,
                    ..Default::default()
                },
                finish_reason: Some(finish.into()),
                logprobs: None,
                extra: Map::new(),
            }
        })
        .collect();
    ChatCompletion {
        id,
        object: "chat.completion".into(),
        created,
        model,
        choices,
        usage: Some(usage(prompt_tokens, completion_tokens)),
        extra: Map::new(),
    }
}

fn delta_choice(index: u32, delta: Delta, finish: Option<&str>) -> ChunkChoice {
    ChunkChoice {
        index,
        delta,
        finish_reason: finish.map(str::to_owned),
        logprobs: None,
        extra: Map::new(),
    }
}

fn completion_choice(index: u32, text: String, finish: Option<&str>) -> CompletionChoice {
    CompletionChoice {
        index,
        text,
        finish_reason: finish.map(str::to_owned),
        logprobs: None,
        extra: Map::new(),
    }
}

/// Merges the choices' pieces; the error of any ends the whole stream.
fn merged(choices: Vec<Choice>, provider_id: String) -> BoxStream<'static, Piece> {
    stream::select_all(choices.into_iter().map(|c| c.pieces(provider_id.clone()))).boxed()
}

/// Chat chunks as OpenAI streams them: a role delta per choice, content deltas (with tools
/// offered, the text is held to the end and sent as tool-call deltas when it is a call), a
/// last chunk per choice with its finish reason, and the usage chunk when asked for.
fn chat_stream(
    choices: Vec<Choice>,
    head: ChunkHead,
    tools: Option<Vec<String>>,
    include_usage: bool,
    provider_id: String,
) -> BoxStream<'static, Result<Answer<ChatCompletionChunk>>> {
    let n = choices.len();
    let roles: Vec<ChunkChoice> = (0..n as u32)
        .map(|i| {
            delta_choice(
                i,
                Delta {
                    role: Some("assistant".into()),
                    content: Some(String::new()),
                    ..Default::default()
                },
                None,
            )
        })
        .collect();
    let first = stream::iter(roles.into_iter().map(Piece2::Chunk));
    struct State {
        pieces: BoxStream<'static, Piece>,
        held: Vec<String>,
        tools: Option<Vec<String>>,
        prompt_tokens: u32,
        completion_tokens: u32,
        ended: bool,
    }
    let state = State {
        pieces: merged(choices, provider_id),
        held: vec![String::new(); n],
        tools,
        prompt_tokens: 0,
        completion_tokens: 0,
        ended: false,
    };
    let rest = stream::unfold(state, move |mut st| async move {
        if st.ended {
            return None;
        }
        let out = match st.pieces.next().await {
            Some(Piece::Text(i, t)) if st.tools.is_some() => {
                st.held[i as usize].push_str(&t);
                Vec::new()
            }
            Some(Piece::Text(i, t)) => vec![Piece2::Chunk(delta_choice(
                i,
                Delta {
                    content: Some(t),
                    ..Default::default()
                },
                None,
            ))],
            Some(Piece::Done {
                index,
                finish,
                prompt_tokens,
                completion_tokens,
            }) => {
                st.prompt_tokens = prompt_tokens;
                st.completion_tokens += completion_tokens;
                let mut out = Vec::new();
                let mut finish = finish.as_str();
                if st.tools.is_some() {
                    let text = std::mem::take(&mut st.held[index as usize]);
                    match split_tool_calls(text, st.tools.as_deref()) {
                        (_, Some(calls)) => {
                            finish = "tool_calls";
                            let deltas = calls
                                .into_iter()
                                .enumerate()
                                .map(|(i, c)| ToolCallDelta {
                                    index: i as u32,
                                    id: Some(c.id),
                                    kind: Some(c.kind),
                                    function: Some(FunctionCallDelta {
                                        name: Some(c.function.name),
                                        arguments: Some(c.function.arguments),
                                    }),
                                })
                                .collect();
                            out.push(Piece2::Chunk(delta_choice(
                                index,
                                Delta {
                                    tool_calls: Some(deltas),
                                    ..Default::default()
                                },
                                None,
                            )));
                        }
                        (Some(text), None) if !text.is_empty() => {
                            out.push(Piece2::Chunk(delta_choice(
                                index,
                                Delta {
                                    content: Some(text),
                                    ..Default::default()
                                },
                                None,
                            )));
                        }
                        _ => {}
                    }
                }
                out.push(Piece2::Chunk(delta_choice(
                    index,
                    Delta::default(),
                    Some(finish),
                )));
                out
            }
            Some(Piece::Failed(e)) => {
                st.ended = true;
                vec![Piece2::Failed(e)]
            }
            None => {
                st.ended = true;
                if include_usage {
                    vec![Piece2::Usage(st.prompt_tokens, st.completion_tokens)]
                } else {
                    Vec::new()
                }
            }
        };
        Some((stream::iter(out), st))
    })
    .flatten();
    answers(first.chain(rest), move |choices, usage| {
        let mut chunk = head.chunk(choices);
        chunk.usage = usage;
        chunk
    })
}

/// A stream item before it is a chunk.
enum Piece2<C> {
    Chunk(C),
    Usage(u32, u32),
    Failed(Error),
}

/// The streamed answers of `pieces`: one per choice piece, one carrying the usage, the failure
/// as an error. `frame` builds an answer from its choices and usage.
fn answers<C, T>(
    pieces: impl futures::Stream<Item = Piece2<C>> + Send + 'static,
    frame: impl Fn(Vec<C>, Option<lls_api_inference::Usage>) -> T + Send + 'static,
) -> BoxStream<'static, Result<Answer<T>>>
where
    C: Send + 'static,
    T: Send + 'static,
{
    pieces
        .map(move |p| match p {
            Piece2::Chunk(c) => Ok(Answer::Typed(frame(vec![c], None))),
            Piece2::Usage(p, c) => Ok(Answer::Typed(frame(Vec::new(), Some(usage(p, c))))),
            Piece2::Failed(e) => Err(e),
        })
        .boxed()
}

/// Completion chunks: text pieces (the prompt first with `echo`), a last chunk per choice with
/// its finish reason, and the usage chunk when asked for.
fn completion_stream(
    choices: Vec<Choice>,
    head: ChunkHead,
    echo: Option<String>,
    include_usage: bool,
    provider_id: String,
) -> BoxStream<'static, Result<Answer<Completion>>> {
    let n = choices.len() as u32;
    let echoes: Vec<Piece2<CompletionChoice>> = match echo {
        Some(p) => (0..n)
            .map(|i| Piece2::Chunk(completion_choice(i, p.clone(), None)))
            .collect(),
        None => Vec::new(),
    };
    let rest = stream::unfold(
        (merged(choices, provider_id), 0u32, 0u32, false),
        move |(mut pieces, mut pt, mut ct, ended)| async move {
            if ended {
                return None;
            }
            let (out, ended) = match pieces.next().await {
                Some(Piece::Text(i, t)) => {
                    (vec![Piece2::Chunk(completion_choice(i, t, None))], false)
                }
                Some(Piece::Done {
                    index,
                    finish,
                    prompt_tokens,
                    completion_tokens,
                }) => {
                    pt = prompt_tokens;
                    ct += completion_tokens;
                    (
                        vec![Piece2::Chunk(completion_choice(
                            index,
                            String::new(),
                            Some(finish.as_str()),
                        ))],
                        false,
                    )
                }
                Some(Piece::Failed(e)) => (vec![Piece2::Failed(e)], true),
                None => (
                    if include_usage {
                        vec![Piece2::Usage(pt, ct)]
                    } else {
                        Vec::new()
                    },
                    true,
                ),
            };
            Some((stream::iter(out), (pieces, pt, ct, ended)))
        },
    )
    .flatten();
    answers(stream::iter(echoes).chain(rest), move |choices, usage| {
        let mut chunk = head.completion(choices);
        chunk.usage = usage;
        chunk
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn nowhere() -> LlamaCppProvider {
        LlamaCppProvider::new(
            "llama-cpp",
            LlamaCppConfig::for_path("/nonexistent/dir/tiny-q4_0.gguf"),
        )
    }

    #[tokio::test]
    async fn a_missing_file_is_a_503_naming_the_path_and_the_script() {
        let p = nowhere();
        assert_eq!(p.model_id(), "tiny");
        let req: ChatCompletionRequest = serde_json::from_value(
            json!({"model": "tiny", "messages": [{"role": "user", "content": "hi"}]}),
        )
        .unwrap();
        let err = p
            .chat_completion(&RequestContext::default(), req)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UpstreamUnavailable);
        assert!(
            err.message().contains("/nonexistent/dir/tiny-q4_0.gguf"),
            "{err}"
        );
        assert!(err.message().contains("bash scripts/models.sh"), "{err}");
        assert_eq!(p.list_models().await.unwrap(), []);
        assert_ne!(p.health().await, HealthStatus::ok());
    }

    #[tokio::test]
    async fn what_it_cannot_do_is_a_client_error_before_loading() {
        let p = nowhere();
        for (body, param) in [
            (
                json!({"model": "other", "messages": [{"role": "user", "content": "hi"}]}),
                "model",
            ),
            (
                json!({"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "logprobs": true}),
                "logprobs",
            ),
            (
                json!({"model": "tiny", "messages": [{"role": "user", "content": "hi"}], "n": 9}),
                "n",
            ),
            (
                json!({"model": "tiny", "messages": [{"role": "user", "content": "hi"}],
                "tool_choice": {"type": "function", "function": {"name": "g"}},
                "tools": [{"type": "function", "function": {"name": "f"}}]}),
                "tool_choice",
            ),
        ] {
            let req: ChatCompletionRequest = serde_json::from_value(body.clone()).unwrap();
            let err = p
                .chat_completion(&RequestContext::default(), req)
                .await
                .unwrap_err();
            assert!(
                matches!(
                    err.kind(),
                    ErrorKind::NotFound | ErrorKind::Unsupported | ErrorKind::InvalidRequest
                ),
                "{body}: {err:?}"
            );
            assert_eq!(err.param(), Some(param), "{body}");
        }
        let req: EmbeddingsRequest =
            serde_json::from_value(json!({"model": "tiny", "input": "x"})).unwrap();
        assert_eq!(
            p.embeddings(&RequestContext::default(), req)
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::Unsupported
        );
    }
}
