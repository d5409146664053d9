"""Inference through the real `openai` SDK: chat (plain, streamed, tools, JSON schema, n),
legacy completions with integer logprobs, embeddings (float and base64), both providers."""

from __future__ import annotations

import base64
import json
import struct

import openai
import pytest

LLM = "mock/mock-llm"
VLLM_LLM = "vllm/mock-llm"
EMBED = "mock/mock-embed"
EMBED_DIM = 384

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather of a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City name"}},
            "required": ["city"],
        },
    },
}


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


# --------------------------------------------------------------------------- chat


@pytest.mark.parametrize("model", [LLM, VLLM_LLM])
def test_chat_non_stream(openai_client, model):
    r = openai_client.chat.completions.create(model=model, messages=user("Tell me about penguins"))
    assert r.object == "chat.completion"
    assert r.model == model, "the router reports the model id the client sent"
    assert r.id
    assert len(r.choices) == 1
    c = r.choices[0]
    assert c.index == 0
    assert c.finish_reason == "stop"
    assert c.message.role == "assistant"
    assert c.message.content and "penguins" in c.message.content, c.message.content
    assert not c.message.tool_calls
    assert r.usage is not None and r.usage.prompt_tokens > 0 and r.usage.completion_tokens > 0


@pytest.mark.parametrize("model", [LLM, VLLM_LLM])
def test_chat_stream_matches_non_stream(openai_client, model):
    messages = user("Describe the ocean")
    whole = openai_client.chat.completions.create(model=model, messages=messages).choices[0].message.content
    chunks = list(openai_client.chat.completions.create(model=model, messages=messages, stream=True))
    assert chunks, "no chunks"
    assert all(ch.object == "chat.completion.chunk" for ch in chunks)
    assert all(ch.model == model for ch in chunks), [ch.model for ch in chunks]
    assert len({ch.id for ch in chunks}) == 1, "one id across the stream"
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert text, "concatenated deltas are empty"
    assert text == whole
    finishes = [ch.choices[0].finish_reason for ch in chunks if ch.choices and ch.choices[0].finish_reason]
    assert finishes == ["stop"]
    assert all(ch.usage is None for ch in chunks), "usage only when asked for"


def test_chat_stream_include_usage(openai_client):
    chunks = list(
        openai_client.chat.completions.create(
            model=LLM, messages=user("Count to three"), stream=True, stream_options={"include_usage": True}
        )
    )
    with_usage = [ch for ch in chunks if ch.usage is not None]
    assert len(with_usage) == 1, f"expected one usage chunk, got {len(with_usage)}"
    u = with_usage[0].usage
    assert u.prompt_tokens > 0 and u.completion_tokens > 0
    assert u.total_tokens == u.prompt_tokens + u.completion_tokens
    assert chunks[-1].usage is not None, "the usage chunk comes last"
    assert "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)


def test_chat_tool_calls(openai_client):
    r = openai_client.chat.completions.create(
        model=LLM, messages=user("What is the weather in Paris?"), tools=[WEATHER_TOOL]
    )
    c = r.choices[0]
    assert c.finish_reason == "tool_calls"
    assert c.message.tool_calls, c.message
    call = c.message.tool_calls[0]
    assert call.type == "function"
    assert call.id
    assert call.function.name == "get_weather"
    args = json.loads(call.function.arguments)
    assert isinstance(args, dict) and isinstance(args.get("city"), str), args

    # Second turn: the tool result goes back, the model answers from it.
    followup = openai_client.chat.completions.create(
        model=LLM,
        messages=[
            *user("What is the weather in Paris?"),
            {"role": "assistant", "content": None, "tool_calls": [call.model_dump()]},
            {"role": "tool", "tool_call_id": call.id, "content": "sunny, 21 C"},
        ],
        tools=[WEATHER_TOOL],
        tool_choice="none",
    )
    answer = followup.choices[0].message.content
    assert followup.choices[0].finish_reason == "stop"
    assert answer and "sunny, 21 C" in answer, answer


def test_chat_tool_calls_stream(openai_client):
    chunks = list(
        openai_client.chat.completions.create(
            model=LLM, messages=user("What is the weather in Rome?"), tools=[WEATHER_TOOL], stream=True
        )
    )
    name, arguments, ids = "", "", set()
    for ch in chunks:
        for choice in ch.choices:
            for tc in choice.delta.tool_calls or []:
                assert tc.index == 0
                if tc.id:
                    ids.add(tc.id)
                if tc.function and tc.function.name:
                    name += tc.function.name
                if tc.function and tc.function.arguments:
                    arguments += tc.function.arguments
    assert name == "get_weather"
    assert len(ids) == 1
    assert isinstance(json.loads(arguments), dict), arguments
    finishes = [c.finish_reason for ch in chunks for c in ch.choices if c.finish_reason]
    assert finishes == ["tool_calls"]


def test_chat_response_format_json_schema(openai_client):
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}, "tags": {"type": "array", "items": {"type": "string"}}},
        "required": ["name", "age"],
        "additionalProperties": False,
    }
    r = openai_client.chat.completions.create(
        model=LLM,
        messages=user("Invent a person"),
        response_format={"type": "json_schema", "json_schema": {"name": "person", "schema": schema, "strict": True}},
    )
    doc = json.loads(r.choices[0].message.content)
    assert isinstance(doc["name"], str)
    assert isinstance(doc["age"], int)


def test_chat_n_2(openai_client):
    r = openai_client.chat.completions.create(model=LLM, messages=user("Say hi"), n=2)
    assert [c.index for c in r.choices] == [0, 1]
    assert all(c.message.content for c in r.choices)


def test_chat_extra_body_is_accepted(openai_client):
    # Unknown keys are the OpenAI "extra_body" and are passed on, not rejected.
    r = openai_client.chat.completions.create(
        model=LLM, messages=user("hello there"), temperature=0.2, max_tokens=50, seed=7, extra_body={"top_k": 3}
    )
    assert r.choices[0].message.content


def test_chat_provider_data_header(openai_client):
    r = openai_client.chat.completions.create(
        model=LLM,
        messages=user("Is provider data accepted?"),
        extra_headers={"X-LlamaStack-Provider-Data": json.dumps({"openai_api_key": "x"})},
    )
    assert r.choices[0].message.content


def test_chat_malformed_provider_data_header_is_not_a_server_error(http):
    # 0.3.5 logs a provider-data header that is not JSON and carries on without it.
    r = http.post(
        "/v1/chat/completions",
        json={"model": LLM, "messages": user("bad header")},
        headers={"X-LlamaStack-Provider-Data": "{not json"},
    )
    assert r.status_code in (200, 400), r.text


def test_chat_unregistered_model_falls_back_to_provider(openai_client):
    """`mock/<anything>` is not registered; 0.3.5 routes it to provider `mock` anyway. Whatever the
    backend makes of it must come back as an answer or a clean HTTP error, never a hang."""
    try:
        r = openai_client.chat.completions.create(model="mock/some-unlisted-model", messages=user("fallback?"), timeout=20)
    except openai.APIStatusError as e:
        assert 400 <= e.status_code < 600
        assert isinstance(e.body, dict) and e.body.get("message"), e.body
    else:
        assert r.model == "mock/some-unlisted-model"
        assert r.choices[0].message.content


def test_chat_through_openai_v1_alias(stack):
    client = openai.OpenAI(base_url=f"{stack.url}/v1/openai/v1", api_key="unused", max_retries=0, timeout=30)
    r = client.chat.completions.create(model=LLM, messages=user("via the alias"))
    assert "via the alias" in r.choices[0].message.content


# --------------------------------------------------------------------------- completions


@pytest.mark.parametrize("model", [LLM, VLLM_LLM])
def test_completion_non_stream_logprobs(openai_client, model):
    r = openai_client.completions.create(model=model, prompt="Once upon a time", max_tokens=30, logprobs=2)
    assert r.object == "text_completion"
    assert r.model == model
    c = r.choices[0]
    assert c.text
    assert c.finish_reason in ("stop", "length")
    lp = c.logprobs
    assert lp is not None, "logprobs=2 must give logprobs"
    assert lp.tokens and len(lp.tokens) == len(lp.token_logprobs) == len(lp.top_logprobs)
    assert "".join(lp.tokens) == c.text
    assert all(isinstance(x, float) and x <= 0 for x in lp.token_logprobs)
    assert all(1 <= len(alts) <= 2 for alts in lp.top_logprobs), lp.top_logprobs


def test_completion_stream_logprobs(openai_client):
    prompt = "The quick brown fox"
    whole = openai_client.completions.create(model=LLM, prompt=prompt, max_tokens=30).choices[0].text
    chunks = list(openai_client.completions.create(model=LLM, prompt=prompt, max_tokens=30, logprobs=2, stream=True))
    assert chunks
    text = "".join(ch.choices[0].text for ch in chunks if ch.choices)
    assert text == whole
    tokens = [t for ch in chunks if ch.choices and ch.choices[0].logprobs for t in ch.choices[0].logprobs.tokens or []]
    assert "".join(tokens) == text, "each streamed piece carries its logprobs"
    assert all(ch.model == LLM for ch in chunks)


def test_completion_without_logprobs(openai_client):
    r = openai_client.completions.create(model=LLM, prompt="plain", max_tokens=10)
    assert r.choices[0].text
    assert r.choices[0].logprobs is None


# --------------------------------------------------------------------------- embeddings


def floats_of(b64: str) -> list[float]:
    raw = base64.b64decode(b64)
    assert len(raw) % 4 == 0
    return list(struct.unpack(f"<{len(raw) // 4}f", raw))


def test_embeddings_float(openai_client):
    r = openai_client.embeddings.create(model=EMBED, input=["hello world", "another text"], encoding_format="float")
    assert r.object == "list"
    assert [d.index for d in r.data] == [0, 1]
    for d in r.data:
        assert d.object == "embedding"
        assert isinstance(d.embedding, list) and len(d.embedding) == EMBED_DIM
        assert all(isinstance(x, float) for x in d.embedding)
    assert r.data[0].embedding != r.data[1].embedding
    assert r.usage.prompt_tokens > 0


def test_embeddings_base64_decodes_to_the_floats(openai_client):
    text = "the same text, twice"
    floats = openai_client.embeddings.create(model=EMBED, input=text, encoding_format="float").data[0].embedding
    raw = openai_client.embeddings.create(model=EMBED, input=text, encoding_format="base64").data[0].embedding
    assert isinstance(raw, str), "explicit base64 comes back as a string"
    decoded = floats_of(raw)
    assert len(decoded) == EMBED_DIM
    assert decoded == pytest.approx(floats, abs=1e-6)


def test_embeddings_sdk_default(openai_client):
    # Without encoding_format the SDK asks for base64 and decodes it itself.
    r = openai_client.embeddings.create(model=EMBED, input="default encoding")
    assert len(r.data[0].embedding) == EMBED_DIM
    assert all(isinstance(x, float) for x in r.data[0].embedding)


def test_embeddings_are_deterministic(openai_client):
    a = openai_client.embeddings.create(model=EMBED, input="stable", encoding_format="float").data[0].embedding
    b = openai_client.embeddings.create(model=EMBED, input="stable", encoding_format="float").data[0].embedding
    assert a == b


def test_embeddings_dimensions_pass_through(openai_client):
    r = openai_client.embeddings.create(model=EMBED, input="shorter", encoding_format="float", dimensions=64)
    assert len(r.data[0].embedding) == 64


def test_embeddings_empty_input_is_400(openai_client):
    with pytest.raises(openai.BadRequestError):
        openai_client.embeddings.create(model=EMBED, input=[], encoding_format="float")


def test_completion_prompt_list(openai_client):
    r = openai_client.completions.create(model=LLM, prompt=["first prompt", "second prompt"], max_tokens=20)
    assert [c.index for c in r.choices] == [0, 1]
    assert "first prompt" in r.choices[0].text and "second prompt" in r.choices[1].text
