//! A request's `prompt` (OpenAI's reusable prompts): the stored template, from the prompts API,
//! rendered with the request's variables into the text the model reads first, before the
//! request's own instructions. Every variable must be one the prompt declares and every
//! placeholder must get a value, else the request is a 400 before any event.

use std::collections::BTreeMap;

use lls_api_agents::ResponsePrompt;
use lls_api_common::{Error, RequestContext, Result};
use lls_api_prompts::template::{name_list, render, variables_used};
use serde_json::{Value, json};

use super::Engine;

/// What a prompt puts before the request: its rendered text (none when the template is
/// empty) and, for image variables, the images (chat content parts) the model is shown after
/// the input.
pub struct RenderedPrompt {
    pub text: Option<String>,
    pub images: Vec<Value>,
}

fn invalid(message: impl Into<String>, param: &str) -> Error {
    Error::invalid(message).with_param(param)
}

/// A variable's value: its text, and the image it stands for.
fn variable(prompt_id: &str, name: &str, value: &Value) -> Result<(String, Option<Value>)> {
    let param = "prompt.variables";
    let part = match value {
        Value::String(text) => return Ok((text.clone(), None)),
        Value::Object(part) => part,
        other => {
            return Err(invalid(
                format!(
                    "variable '{name}' of prompt {prompt_id} must be a string or an input_text or input_image part, got {other}"
                ),
                param,
            ));
        }
    };
    match part.get("type").and_then(Value::as_str) {
        Some("input_text") => match part.get("text") {
            Some(Value::String(text)) => Ok((text.clone(), None)),
            _ => Err(invalid(
                format!(
                    "variable '{name}' of prompt {prompt_id}: an input_text part needs a 'text' string"
                ),
                param,
            )),
        },
        Some("input_image") => {
            let url = part.get("image_url").and_then(Value::as_str).ok_or_else(|| {
                invalid(format!("variable '{name}' of prompt {prompt_id}: an input_image part needs an 'image_url'"), param)
            })?;
            let detail = part.get("detail").and_then(Value::as_str).unwrap_or("auto");
            // The text says where the image goes; the model sees the image after the input.
            Ok((
                format!("[Image: {name}]"),
                Some(json!({"type": "image_url", "image_url": {"url": url, "detail": detail}})),
            ))
        }
        Some(other) => Err(invalid(
            format!(
                "variable '{name}' of prompt {prompt_id}: parts of type '{other}' are not supported (strings, input_text and input_image are)"
            ),
            param,
        )),
        None => Err(invalid(
            format!("variable '{name}' of prompt {prompt_id}: a part needs a 'type'"),
            param,
        )),
    }
}

/// `prompt.version`: a whole number of at least 1, or absent (the default version).
fn version(prompt: &ResponsePrompt) -> Result<Option<i64>> {
    let Some(text) = &prompt.version else {
        return Ok(None);
    };
    match text.trim().parse::<i64>() {
        Ok(v) if v >= 1 => Ok(Some(v)),
        _ => Err(invalid(
            format!("'prompt.version' must be a version number of at least 1, got '{text}'"),
            "prompt.version",
        )),
    }
}

impl Engine {
    /// The stored prompt (its given version, else its default) rendered with the variables.
    pub(crate) async fn render_prompt(
        &self,
        ctx: &RequestContext,
        prompt: &ResponsePrompt,
    ) -> Result<RenderedPrompt> {
        let prompts = self.deps.prompts.as_ref().ok_or_else(|| {
            invalid(
                "'prompt' needs the prompts API, which this stack does not serve",
                "prompt",
            )
        })?;
        let stored = prompts.get(ctx, &prompt.id, version(prompt)?).await?;
        let id = &stored.prompt_id;
        let mut values = BTreeMap::new();
        let mut images = Vec::new();
        for (name, value) in prompt.variables.iter().flatten() {
            if !stored.variables.iter().any(|v| v == name) {
                return Err(invalid(
                    format!(
                        "Variable {name} not found in prompt {id} (it declares {})",
                        name_list(stored.variables.iter().map(String::as_str))
                    ),
                    "prompt.variables",
                ));
            }
            let (text, image) = variable(id, name, value)?;
            values.insert(name.clone(), text);
            images.extend(image);
        }
        let template = stored.prompt.unwrap_or_default();
        let missing: Vec<&str> = variables_used(&template)
            .into_iter()
            .filter(|name| !values.contains_key(*name))
            .collect();
        if !missing.is_empty() {
            return Err(invalid(
                format!(
                    "Prompt {id} needs values for its variables {}",
                    name_list(missing)
                ),
                "prompt.variables",
            ));
        }
        Ok(RenderedPrompt {
            text: (!template.is_empty()).then(|| render(&template, &values)),
            images,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::sync::{Arc, Mutex};

    use async_trait::async_trait;
    use futures::StreamExt;
    use lls_api_agents::{ResponseObject, Responses};
    use lls_api_common::{ErrorKind, Tasks};
    use lls_api_inference::{
        Answer, ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, ChatMessage,
        Completion, CompletionRequest, EmbeddingsRequest, EmbeddingsResponse, Inference, Output,
    };
    use lls_api_prompts::{
        CreatePromptRequest, ListPromptsResponse, Prompt, Prompts, UpdatePromptRequest,
    };

    use super::*;
    use crate::engine::Deps;
    use crate::{MetaReference, ResponsesStore};

    /// The test kit's chat model, keeping the messages of every call.
    struct Recording {
        model: Arc<dyn Inference>,
        seen: Mutex<Vec<Vec<ChatMessage>>>,
    }

    #[async_trait]
    impl Inference for Recording {
        async fn chat_completion(
            &self,
            ctx: &RequestContext,
            request: ChatCompletionRequest,
        ) -> Result<Output<ChatCompletion, ChatCompletionChunk>> {
            self.seen.lock().unwrap().push(request.messages.clone());
            self.model.chat_completion(ctx, request).await
        }
        async fn completion(
            &self,
            ctx: &RequestContext,
            request: CompletionRequest,
        ) -> Result<Output<Completion, Completion>> {
            self.model.completion(ctx, request).await
        }
        async fn embeddings(
            &self,
            ctx: &RequestContext,
            request: EmbeddingsRequest,
        ) -> Result<Answer<EmbeddingsResponse>> {
            self.model.embeddings(ctx, request).await
        }
    }

    /// Stored prompts in memory: the versions of one prompt; the default is the one marked.
    struct Stored(Vec<Prompt>);

    #[async_trait]
    impl Prompts for Stored {
        async fn get(
            &self,
            _: &RequestContext,
            prompt_id: &str,
            version: Option<i64>,
        ) -> Result<Prompt> {
            lls_api_prompts::template::check_prompt_id(prompt_id)?;
            self.0
                .iter()
                .find(|p| {
                    p.prompt_id == prompt_id && version.map_or(p.is_default, |v| p.version == v)
                })
                .cloned()
                .ok_or_else(|| Error::not_found(format!("Prompt {prompt_id} not found")))
        }
        // The engine only reads.
        async fn list(&self, _: &RequestContext) -> Result<ListPromptsResponse> {
            Err(Error::unsupported("read-only double"))
        }
        async fn list_versions(&self, _: &RequestContext, _: &str) -> Result<ListPromptsResponse> {
            Err(Error::unsupported("read-only double"))
        }
        async fn create(&self, _: &RequestContext, _: CreatePromptRequest) -> Result<Prompt> {
            Err(Error::unsupported("read-only double"))
        }
        async fn update(
            &self,
            _: &RequestContext,
            _: &str,
            _: UpdatePromptRequest,
        ) -> Result<Prompt> {
            Err(Error::unsupported("read-only double"))
        }
        async fn delete(&self, _: &RequestContext, _: &str) -> Result<()> {
            Err(Error::unsupported("read-only double"))
        }
        async fn set_default_version(&self, _: &RequestContext, _: &str, _: i64) -> Result<Prompt> {
            Err(Error::unsupported("read-only double"))
        }
    }

    fn id() -> String {
        format!("pmpt_{}", "ab".repeat(24))
    }

    fn stored_version(version: i64, text: &str, variables: &[&str], is_default: bool) -> Prompt {
        Prompt {
            prompt: Some(text.into()),
            version,
            prompt_id: id(),
            variables: variables.iter().map(|v| (*v).to_owned()).collect(),
            is_default,
        }
    }

    struct Setup {
        provider: MetaReference,
        model: Arc<Recording>,
    }

    async fn setup(prompts: Option<Arc<dyn Prompts>>) -> Setup {
        let model = Arc::new(Recording {
            model: lls_testkit::fake_chat::inference(),
            seen: Mutex::new(Vec::new()),
        });
        let deps = Deps {
            inference: model.clone(),
            tools: None,
            vector_stores: None,
            safety: None,
            conversations: None,
            prompts,
        };
        let store = Arc::new(
            ResponsesStore::open(lls_testkit::stores::memory_sql().await.unwrap())
                .await
                .unwrap(),
        );
        Setup {
            provider: MetaReference::new(Engine::new(deps, store, Tasks::new())),
            model,
        }
    }

    async fn templates() -> Setup {
        setup(Some(Arc::new(Stored(vec![
            stored_version(
                1,
                "You are {{ role }} in {{city}}.",
                &["role", "city"],
                true,
            ),
            stored_version(
                2,
                "Answer as {{ role }}; unused {{ role }}.",
                &["role", "tone"],
                false,
            ),
            stored_version(3, "", &[], false),
        ]))))
        .await
    }

    async fn respond(p: &MetaReference, body: Value) -> Result<ResponseObject> {
        let events: Vec<_> = p
            .create_response(
                &RequestContext::default(),
                serde_json::from_value(body).unwrap(),
            )
            .await?
            .collect()
            .await;
        Ok(events
            .last()
            .and_then(|e| e.event.terminal_response())
            .cloned()
            .expect("a terminal event"))
    }

    fn texts(messages: &[ChatMessage]) -> Vec<(String, String)> {
        messages
            .iter()
            .map(|m| {
                let role = serde_json::to_value(m.role)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned();
                (
                    role,
                    m.content.as_ref().map(|c| c.to_text()).unwrap_or_default(),
                )
            })
            .collect()
    }

    fn pair(role: &str, text: &str) -> (String, String) {
        (role.to_owned(), text.to_owned())
    }

    #[tokio::test]
    async fn the_rendered_prompt_is_read_before_the_instructions() {
        let s = templates().await;
        let prompt = json!({"id": id(), "variables": {"role": "a guide", "city": {"type": "input_text", "text": "Paris"}}});
        let r = respond(
            &s.provider,
            json!({"model": "fake-llm", "input": "Where to?", "instructions": "Be brief.", "prompt": prompt}),
        )
        .await
        .unwrap();
        assert_eq!(r.status, "completed");
        // Echoed as sent (OpenAI's shape: `version` null when not given).
        let mut echoed = prompt.clone();
        echoed["version"] = Value::Null;
        assert_eq!(serde_json::to_value(&r.prompt).unwrap(), echoed);
        assert_eq!(r.instructions.as_deref(), Some("Be brief."));
        let seen = s.model.seen.lock().unwrap().clone();
        assert_eq!(
            texts(&seen[0]),
            [
                pair("system", "You are a guide in Paris."),
                pair("system", "Be brief."),
                pair("user", "Where to?")
            ]
        );
    }

    #[tokio::test]
    async fn a_version_a_prompt_alone_and_images() {
        let s = templates().await;
        // Version 2 by number or text; `tone` is declared but unused; no input at all.
        respond(&s.provider, json!({"model": "fake-llm", "prompt": {"id": id(), "version": 2, "variables": {"role": "a poet", "tone": "dry"}}}))
            .await
            .unwrap();
        respond(
            &s.provider,
            json!({"model": "fake-llm", "input": "hi", "prompt": {"id": id(), "version": "3"}}),
        )
        .await
        .unwrap();
        let image = json!({"type": "input_image", "image_url": "https://example.com/a.png"});
        respond(
            &s.provider,
            json!({"model": "fake-llm", "input": "Look", "prompt": {"id": id(), "variables": {"role": image, "city": "Rome"}}}),
        )
        .await
        .unwrap();
        let seen = s.model.seen.lock().unwrap().clone();
        assert_eq!(
            texts(&seen[0]),
            [pair("system", "Answer as a poet; unused a poet.")]
        );
        // An empty template adds nothing.
        assert_eq!(texts(&seen[1]), [pair("user", "hi")]);
        assert_eq!(
            texts(&seen[2])[..2],
            [
                pair("system", "You are [Image: role] in Rome."),
                pair("user", "Look")
            ]
        );
        let shown = serde_json::to_value(seen[2][2].content.as_ref().unwrap()).unwrap();
        assert_eq!(shown[0]["image_url"]["url"], "https://example.com/a.png");
    }

    #[tokio::test]
    async fn bad_prompts_are_client_errors_before_any_event() {
        let s = templates().await;
        let kind =
            |r: Result<ResponseObject>| r.err().map(|e| (e.kind(), e.param().map(str::to_owned)));
        let call = |prompt: Value| json!({"model": "fake-llm", "input": "x", "prompt": prompt});
        let invalid = |param: &str| Some((ErrorKind::InvalidRequest, Some(param.to_owned())));
        let all = json!({"role": "r", "city": "c"});
        // A variable the prompt does not declare; one it uses left out; a value of no kind.
        let mut extra = all.clone();
        extra["planet"] = json!("Mars");
        assert_eq!(
            kind(respond(&s.provider, call(json!({"id": id(), "variables": extra}))).await),
            invalid("prompt.variables")
        );
        assert_eq!(
            kind(
                respond(
                    &s.provider,
                    call(json!({"id": id(), "variables": {"role": "r"}}))
                )
                .await
            ),
            invalid("prompt.variables")
        );
        assert_eq!(
            kind(respond(&s.provider, call(json!({"id": id()}))).await),
            invalid("prompt.variables")
        );
        assert_eq!(
            kind(
                respond(
                    &s.provider,
                    call(json!({"id": id(), "variables": {"role": 1, "city": "c"}}))
                )
                .await
            ),
            invalid("prompt.variables")
        );
        assert_eq!(
            kind(
                respond(
                    &s.provider,
                    call(json!({"id": id(), "version": "0", "variables": all}))
                )
                .await
            ),
            invalid("prompt.version")
        );
        assert_eq!(
            kind(
                respond(
                    &s.provider,
                    call(json!({"id": id(), "version": "9", "variables": all}))
                )
                .await
            )
            .map(|k| k.0),
            Some(ErrorKind::NotFound)
        );
        assert_eq!(
            kind(respond(&s.provider, call(json!({"id": "nope", "variables": all}))).await)
                .map(|k| k.0),
            Some(ErrorKind::InvalidRequest)
        );
        assert!(
            s.model.seen.lock().unwrap().is_empty(),
            "the model was called"
        );
        // Without the prompts API, a prompt cannot be used.
        let bare = setup(None).await;
        assert_eq!(
            kind(respond(&bare.provider, call(json!({"id": id(), "variables": all}))).await),
            invalid("prompt")
        );
    }

    #[test]
    fn variables_are_strings_text_or_images() {
        assert_eq!(
            variable("p", "a", &json!("x")).unwrap(),
            ("x".to_owned(), None)
        );
        assert_eq!(
            variable("p", "a", &json!({"type": "input_text", "text": "y"})).unwrap(),
            ("y".to_owned(), None)
        );
        let (text, image) = variable(
            "p",
            "pic",
            &json!({"type": "input_image", "image_url": "https://x/i.png"}),
        )
        .unwrap();
        assert_eq!(text, "[Image: pic]");
        assert_eq!(
            image.unwrap()["image_url"],
            json!({"url": "https://x/i.png", "detail": "auto"})
        );
        for bad in [
            json!(3),
            json!({"type": "input_text"}),
            json!({"type": "input_image", "file_id": "file-1"}),
            json!({"type": "input_file", "file_id": "file-1"}),
            json!({"text": "no type"}),
        ] {
            let e = variable("p", "a", &bad).unwrap_err();
            assert_eq!(e.param(), Some("prompt.variables"), "{bad}");
        }
    }

    #[test]
    fn versions_are_numbers_from_one() {
        let p = |v: Option<&str>| ResponsePrompt {
            id: "pmpt_x".into(),
            version: v.map(str::to_owned),
            variables: None,
        };
        assert_eq!(version(&p(None)).unwrap(), None);
        assert_eq!(version(&p(Some("2"))).unwrap(), Some(2));
        for bad in ["0", "-1", "two", ""] {
            assert_eq!(
                version(&p(Some(bad))).unwrap_err().param(),
                Some("prompt.version")
            );
        }
    }
}
