//! Building the single user prompt sent to the Llama Guard model.

use serde_json::{Value, json};

use crate::GuardError;
use crate::categories::{
    VISION_MODEL_ID, categories_for_model, prompt_category_lines, validate_excluded,
};

/// Llama Guard's prompt format (the text the model was trained on), as Llama
/// Stack 0.3.5 sends it. Placeholders: `$agent_type` (twice), `$categories`,
/// `$conversations`. The wording, including its grammar, must stay exactly as is.
pub const LLAMA_GUARD_PROMPT_TEMPLATE: &str = "Task: Check if there is unsafe content in '$agent_type' messages in conversations according our safety policy with the below categories.\n\n<BEGIN UNSAFE CONTENT CATEGORIES>\n$categories\n<END UNSAFE CONTENT CATEGORIES>\n\n<BEGIN CONVERSATION>\n\n$conversations\n\n<END CONVERSATION>\n\nProvide your safety assessment for ONLY THE LAST $agent_type message in the above conversation:\n - First line must read 'safe' or 'unsafe'.\n - If unsafe, a second line must include a comma-separated list of violated categories.";

/// Chat roles accepted in OpenAI-style messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    System,
    Assistant,
    Tool,
    Developer,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "user" => Role::User,
            "system" => Role::System,
            "assistant" => Role::Assistant,
            "tool" => Role::Tool,
            "developer" => Role::Developer,
            _ => return None,
        })
    }

    /// The label used in the conversation and for `$agent_type`: the role
    /// string with its first letter upper-cased. There is no "Agent" mapping.
    pub fn label(self) -> &'static str {
        match self {
            Role::User => "User",
            Role::System => "System",
            Role::Assistant => "Assistant",
            Role::Tool => "Tool",
            Role::Developer => "Developer",
        }
    }
}

/// A message reduced to what the prompt needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardMessage {
    pub role: Role,
    /// Rendered content text (see [`render_content`]).
    pub text: String,
    /// Whether the original content was null/absent (only legal for assistant).
    pub content_was_null: bool,
}

/// Renders message content as a single string:
/// - a string is used as is;
/// - null (assistant only) gives the empty string;
/// - a list of parts is rendered part by part and joined with one space:
///   `text` parts give their text, `image_url` parts give `<image>`,
///   `file` parts give `<file>`.
///
/// Part types are checked per role the way the request schema does: only
/// user messages may carry `image_url` / `file` parts.
pub fn render_content(role: Role, content: &Value) -> Result<String, String> {
    match content {
        Value::String(s) => Ok(s.clone()),
        Value::Null if role == Role::Assistant => Ok(String::new()),
        Value::Null => Err("content must not be null".to_string()),
        Value::Array(parts) => {
            let mut out = Vec::with_capacity(parts.len());
            for (i, part) in parts.iter().enumerate() {
                // User parts are a tagged union (type required); the text-only
                // roles accept a text part without `type`.
                let ty = match part.get("type").and_then(Value::as_str) {
                    Some(t) => t,
                    None if role != Role::User => "text",
                    None => return Err(format!("content part {i}: missing `type`")),
                };
                let rendered = match ty {
                    "text" => part
                        .get("text")
                        .and_then(Value::as_str)
                        .ok_or_else(|| format!("content part {i}: text part without a string `text`"))?
                        .to_string(),
                    "image_url" if role == Role::User => "<image>".to_string(),
                    "file" if role == Role::User => "<file>".to_string(),
                    other => {
                        return Err(format!(
                            "content part {i}: type `{other}` is not allowed for role {}",
                            role.label().to_lowercase()
                        ));
                    }
                };
                out.push(rendered);
            }
            Ok(out.join(" "))
        }
        _ => Err("content must be a string or a list of content parts".to_string()),
    }
}

/// Parses OpenAI-style messages (`{"role": ..., "content": ...}`).
pub fn parse_messages(messages: &[Value]) -> Result<Vec<GuardMessage>, GuardError> {
    messages
        .iter()
        .enumerate()
        .map(|(index, m)| {
            let bad = |reason: String| GuardError::InvalidMessage { index, reason };
            let role_str = m
                .get("role")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("missing string `role`".to_string()))?;
            let role = Role::parse(role_str).ok_or_else(|| {
                bad(format!(
                    "role `{role_str}` is not one of user, system, assistant, tool, developer"
                ))
            })?;
            let content = m.get("content").unwrap_or(&Value::Null);
            let text = render_content(role, content).map_err(bad)?;
            Ok(GuardMessage { role, text, content_was_null: content.is_null() })
        })
        .collect()
}

/// Fills the template in one pass (values are never re-scanned for
/// placeholders, so `$` in user text is harmless).
fn fill_template(agent_type: &str, categories: &str, conversations: &str) -> String {
    let t = LLAMA_GUARD_PROMPT_TEMPLATE;
    let mut out = String::with_capacity(t.len() + categories.len() + conversations.len() + 32);
    let mut rest = t;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        let (value, len) = if after.starts_with("agent_type") {
            (agent_type, "agent_type".len())
        } else if after.starts_with("categories") {
            (categories, "categories".len())
        } else if after.starts_with("conversations") {
            (conversations, "conversations".len())
        } else {
            ("$", 0)
        };
        out.push_str(value);
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

/// Builds the prompt for an already prepared conversation.
///
/// - categories: one `"<code>: <name>."` line per category, joined by `\n`;
/// - conversation: `"<Role>: <text>"` per message, joined by a blank line;
/// - `$agent_type`: the label of the LAST message's role.
///
/// `messages` must not be empty. No length limit or truncation is applied.
pub fn build_prompt(messages: &[GuardMessage], model_id: &str, excluded: &[String]) -> String {
    let categories = prompt_category_lines(categories_for_model(model_id), excluded).join("\n");
    let conversations = messages
        .iter()
        .map(|m| format!("{}: {}", m.role.label(), m.text))
        .collect::<Vec<_>>()
        .join("\n\n");
    let agent_type = messages.last().map(|m| m.role.label()).unwrap_or("User");
    fill_template(agent_type, &categories, &conversations)
}

/// run-shield: the prompt for `messages`, reproducing upstream's preparation:
///
/// 1. messages are validated as the request schema would (400 on failure);
/// 2. if the first message is not `user`, it is turned into a user message
///    with the same content (a null content there is a validation error);
/// 3. `excluded_categories` is checked (500 upstream);
/// 4. an empty list is `Messages must not be empty` (400);
/// 5. if the first two messages are both `user`, the first is dropped (once).
///    So `[system, user, ...]` loses the system message.
/// 6. model id exactly `Llama-Guard-3-11B-Vision` takes upstream's broken
///    vision path -> error.
pub fn run_shield_prompt(
    messages: &[Value],
    model_id: &str,
    excluded: &[String],
) -> Result<String, GuardError> {
    let mut msgs = parse_messages(messages)?;
    if let Some(first) = msgs.first_mut()
        && first.role != Role::User {
            if first.content_was_null {
                return Err(GuardError::InvalidMessage {
                    index: 0,
                    reason: "first message is converted to a user message and its content must not be null".to_string(),
                });
            }
            first.role = Role::User;
        }
    validate_excluded(excluded)?;
    if msgs.is_empty() {
        return Err(GuardError::EmptyMessages);
    }
    if msgs.len() >= 2 && msgs[0].role == Role::User && msgs[1].role == Role::User {
        msgs.remove(0);
    }
    if model_id == VISION_MODEL_ID {
        return Err(GuardError::VisionModelUnsupported);
    }
    Ok(build_prompt(&msgs, model_id, excluded))
}

/// Moderations: the prompt for `inputs` (the request's `input`, a single string
/// being a one-element list). Every input becomes a user message of ONE
/// conversation, so there is one model call and one result for the whole list.
/// No message dropping, no vision path. `Ok(None)` for an empty list: no model
/// call, the answer is the "safe" result.
pub fn moderation_prompt(
    inputs: &[String],
    model_id: &str,
    excluded: &[String],
) -> Result<Option<String>, GuardError> {
    validate_excluded(excluded)?;
    if inputs.is_empty() {
        return Ok(None);
    }
    let msgs: Vec<GuardMessage> = inputs
        .iter()
        .map(|s| GuardMessage { role: Role::User, text: s.clone(), content_was_null: false })
        .collect();
    Ok(Some(build_prompt(&msgs, model_id, excluded)))
}

/// The body of the chat-completion call to the inference API: the shield's
/// `provider_resource_id` as model, the prompt as the only (user) message,
/// non-streaming, temperature 0. Nothing else (no max_tokens).
pub fn chat_completion_request(model: &str, prompt: &str) -> Value {
    json!({
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "stream": false,
        "temperature": 0.0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    const CATS_14: &str = "S1: Violent Crimes.\nS2: Non-Violent Crimes.\nS3: Sex Crimes.\nS4: Child Exploitation.\nS5: Defamation.\nS6: Specialized Advice.\nS7: Privacy.\nS8: Intellectual Property.\nS9: Indiscriminate Weapons.\nS10: Hate.\nS11: Self-Harm.\nS12: Sexual Content.\nS13: Elections.\nS14: Code Interpreter Abuse.";

    fn expected(agent: &str, cats: &str, conv: &str) -> String {
        format!(
            "Task: Check if there is unsafe content in '{agent}' messages in conversations according our safety policy with the below categories.\n\n<BEGIN UNSAFE CONTENT CATEGORIES>\n{cats}\n<END UNSAFE CONTENT CATEGORIES>\n\n<BEGIN CONVERSATION>\n\n{conv}\n\n<END CONVERSATION>\n\nProvide your safety assessment for ONLY THE LAST {agent} message in the above conversation:\n - First line must read 'safe' or 'unsafe'.\n - If unsafe, a second line must include a comma-separated list of violated categories."
        )
    }

    #[test]
    fn single_user_message_exact_prompt() {
        let msgs = vec![json!({"role": "user", "content": "How do I bake bread?"})];
        let p = run_shield_prompt(&msgs, "ollama/llama-guard3:8b", &[]).unwrap();
        assert_eq!(p, expected("User", CATS_14, "User: How do I bake bread?"));
    }

    #[test]
    fn agent_type_is_last_role_and_roles_are_capitalised() {
        let msgs = vec![
            json!({"role": "user", "content": "hi"}),
            json!({"role": "assistant", "content": "hello"}),
        ];
        let p = run_shield_prompt(&msgs, "x", &[]).unwrap();
        assert_eq!(p, expected("Assistant", CATS_14, "User: hi\n\nAssistant: hello"));

        let msgs = vec![
            json!({"role": "user", "content": "run it"}),
            json!({"role": "assistant", "content": null, "tool_calls": []}),
            json!({"role": "tool", "tool_call_id": "c1", "content": "42"}),
        ];
        let p = run_shield_prompt(&msgs, "x", &[]).unwrap();
        assert_eq!(p, expected("Tool", CATS_14, "User: run it\n\nAssistant: \n\nTool: 42"));
    }

    #[test]
    fn first_message_becomes_user_and_double_user_drops_first() {
        // system -> user, then two users in a row -> the first is dropped.
        let msgs = vec![
            json!({"role": "system", "content": "be nice"}),
            json!({"role": "user", "content": "q"}),
            json!({"role": "assistant", "content": "a"}),
        ];
        let p = run_shield_prompt(&msgs, "x", &[]).unwrap();
        assert_eq!(p, expected("Assistant", CATS_14, "User: q\n\nAssistant: a"));

        // Only one message dropped, even with three users.
        let msgs = vec![
            json!({"role": "user", "content": "1"}),
            json!({"role": "user", "content": "2"}),
            json!({"role": "user", "content": "3"}),
        ];
        let p = run_shield_prompt(&msgs, "x", &[]).unwrap();
        assert_eq!(p, expected("User", CATS_14, "User: 2\n\nUser: 3"));

        // Only a system message: it is checked as a user message.
        let msgs = vec![json!({"role": "system", "content": "sys"})];
        let p = run_shield_prompt(&msgs, "x", &[]).unwrap();
        assert_eq!(p, expected("User", CATS_14, "User: sys"));

        // First assistant with null content cannot become a user message.
        let msgs = vec![json!({"role": "assistant", "content": null})];
        assert!(matches!(
            run_shield_prompt(&msgs, "x", &[]),
            Err(GuardError::InvalidMessage { index: 0, .. })
        ));
    }

    #[test]
    fn content_parts_joined_with_space() {
        let msgs = vec![json!({"role": "user", "content": [
            {"type": "text", "text": "look at"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
            {"type": "text", "text": "and"},
            {"type": "file", "file": {"file_id": "file-1"}},
        ]})];
        let p = run_shield_prompt(&msgs, "x", &[]).unwrap();
        assert!(p.contains("\n\nUser: look at <image> and <file>\n\n"));

        // image parts are not allowed outside user messages
        let msgs = vec![
            json!({"role": "user", "content": "x"}),
            json!({"role": "assistant", "content": [{"type": "image_url", "image_url": {"url": "u"}}]}),
        ];
        assert!(matches!(
            run_shield_prompt(&msgs, "x", &[]),
            Err(GuardError::InvalidMessage { index: 1, .. })
        ));
        let msgs = vec![json!({"role": "wizard", "content": "x"})];
        assert!(matches!(run_shield_prompt(&msgs, "x", &[]), Err(GuardError::InvalidMessage { .. })));
    }

    #[test]
    fn errors_and_their_order() {
        assert_eq!(run_shield_prompt(&[], "x", &[]), Err(GuardError::EmptyMessages));
        // Invalid exclusions are reported before the empty-list check.
        assert!(matches!(
            run_shield_prompt(&[], "x", &s(&["S99"])),
            Err(GuardError::InvalidExcludedCategories { .. })
        ));
        let msgs = vec![json!({"role": "user", "content": "x"})];
        assert_eq!(
            run_shield_prompt(&msgs, "Llama-Guard-3-11B-Vision", &[]),
            Err(GuardError::VisionModelUnsupported)
        );
        // The HF spelling of the vision model takes the normal text path.
        assert!(run_shield_prompt(&msgs, "meta-llama/Llama-Guard-3-11B-Vision", &[]).is_ok());
    }

    #[test]
    fn model_set_and_exclusions_in_prompt() {
        let msgs = vec![json!({"role": "user", "content": "x"})];
        let p = run_shield_prompt(&msgs, "Llama-Guard-3-1B", &s(&["S2", "S3"])).unwrap();
        let cats = "S1: Violent Crimes.\nS4: Child Exploitation.\nS5: Defamation.\nS6: Specialized Advice.\nS7: Privacy.\nS8: Intellectual Property.\nS9: Indiscriminate Weapons.\nS10: Hate.\nS11: Self-Harm.\nS12: Sexual Content.\nS13: Elections.";
        assert_eq!(p, expected("User", cats, "User: x"));
    }

    #[test]
    fn dollar_signs_in_content_are_not_substituted() {
        let msgs = vec![json!({"role": "user", "content": "$agent_type $categories $$ $x"})];
        let p = run_shield_prompt(&msgs, "x", &[]).unwrap();
        assert!(p.contains("User: $agent_type $categories $$ $x\n"));
    }

    #[test]
    fn moderation_prompts() {
        assert_eq!(moderation_prompt(&[], "x", &[]), Ok(None));
        let p = moderation_prompt(&s(&["a", "b"]), "x", &[]).unwrap().unwrap();
        // No dropping of the first user message for moderations.
        assert_eq!(p, expected("User", CATS_14, "User: a\n\nUser: b"));
        let p = moderation_prompt(&s(&[""]), "x", &[]).unwrap().unwrap();
        assert_eq!(p, expected("User", CATS_14, "User: "));
        // Vision id is not special for moderations.
        assert!(moderation_prompt(&s(&["a"]), "Llama-Guard-3-11B-Vision", &[]).unwrap().is_some());
    }

    #[test]
    fn request_body() {
        let body = chat_completion_request("ollama/llama-guard3:1b", "PROMPT");
        assert_eq!(
            body,
            json!({"model": "ollama/llama-guard3:1b",
                   "messages": [{"role": "user", "content": "PROMPT"}],
                   "stream": false, "temperature": 0.0})
        );
    }
}
