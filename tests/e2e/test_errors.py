"""Error answers as clients see them: OpenAI error JSON the `openai` SDK understands (with a
`detail` string for `llama_stack_client`), the right status for each mistake, and backend
failures turned into gateway errors that name the provider."""

from __future__ import annotations

import json

import openai
import pytest

LLM = "mock/mock-llm"


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def error_message(r) -> str:
    """The message of an error body: OpenAI's `error.message`, else FastAPI's `detail`."""
    body = r.json()
    if isinstance(body.get("error"), dict) and body["error"].get("message"):
        return body["error"]["message"]
    return str(body.get("detail", ""))


def test_unknown_model_is_404(openai_client):
    with pytest.raises(openai.NotFoundError) as e:
        openai_client.chat.completions.create(model="nope/nope", messages=user("hi"))
    assert e.value.status_code == 404
    assert "nope/nope" in e.value.message


def test_unknown_model_without_provider_prefix_is_404(openai_client):
    with pytest.raises(openai.NotFoundError):
        openai_client.chat.completions.create(model="just-a-name", messages=user("hi"))


def test_unknown_model_stream_is_404_before_streaming(openai_client):
    with pytest.raises(openai.NotFoundError):
        list(openai_client.chat.completions.create(model="nope/nope", messages=user("hi"), stream=True))


def test_empty_messages_is_400(openai_client, http):
    with pytest.raises(openai.BadRequestError) as e:
        openai_client.chat.completions.create(model=LLM, messages=[])
    assert e.value.status_code == 400
    assert isinstance(e.value.body, dict) and e.value.body.get("message"), e.value.body

    r = http.post("/v1/chat/completions", json={"model": LLM, "messages": []})
    assert r.status_code == 400
    body = r.json()
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], body


def test_missing_messages_is_400(http):
    r = http.post("/v1/chat/completions", json={"model": LLM})
    assert r.status_code == 400
    assert "messages" in error_message(r)


def test_wrong_field_type_is_400(http):
    r = http.post("/v1/chat/completions", json={"model": LLM, "messages": user("x"), "temperature": "hot"})
    assert r.status_code == 400
    assert "temperature" in error_message(r)


def test_bad_role_is_400(http):
    r = http.post("/v1/chat/completions", json={"model": LLM, "messages": [{"role": "wizard", "content": "x"}]})
    assert r.status_code == 400


def test_bad_json_is_400(http):
    r = http.post("/v1/chat/completions", content=b'{"model": "mock/mock-llm", "messages": [', headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert error_message(r)


def test_empty_body_is_400(http):
    r = http.post("/v1/chat/completions", content=b"", headers={"content-type": "application/json"})
    assert r.status_code == 400


def test_tool_choice_without_tools_is_400(openai_client):
    with pytest.raises(openai.BadRequestError):
        openai_client.chat.completions.create(model=LLM, messages=user("x"), tool_choice="auto")


def test_embeddings_with_llm_model_is_400(openai_client):
    # 0.3.5 answers 500 here; a client mistake deserves a 4xx.
    with pytest.raises(openai.BadRequestError):
        openai_client.embeddings.create(model=LLM, input="x")


def test_chat_with_embedding_model_is_400(openai_client):
    with pytest.raises(openai.BadRequestError):
        openai_client.chat.completions.create(model="mock/mock-embed", messages=user("x"))


def test_wrong_method_is_405(http):
    r = http.delete("/v1/chat/completions")
    assert r.status_code == 405
    r = http.put("/v1/health")
    assert r.status_code == 405


def test_unknown_route_is_404(http):
    r = http.get("/v1/no-such-route")
    assert r.status_code == 404
    assert error_message(r)
    r = http.post("/v2/chat/completions", json={})
    assert r.status_code == 404


def test_error_body_satisfies_both_sdks(http):
    """Both the OpenAI `error` object and FastAPI's `detail` are present."""
    r = http.post("/v1/chat/completions", json={"model": "nope/nope", "messages": user("x")})
    assert r.status_code == 404
    body = r.json()
    assert "nope/nope" in body["error"]["message"]
    assert "nope/nope" in str(body.get("detail")), body


def test_backend_500_is_502_naming_the_provider(openai_client):
    with pytest.raises(openai.APIStatusError) as e:
        openai_client.chat.completions.create(model="mock/error-500", messages=user("fail please"))
    assert e.value.status_code == 502, e.value
    assert "mock" in e.value.message, e.value.message


def test_backend_500_stream_is_502_before_streaming(openai_client):
    with pytest.raises(openai.APIStatusError) as e:
        list(openai_client.chat.completions.create(model="mock/error-500", messages=user("x"), stream=True))
    assert e.value.status_code == 502


def test_backend_500_through_vllm(openai_client):
    with pytest.raises(openai.APIStatusError) as e:
        openai_client.chat.completions.create(model="vllm/error-500", messages=user("x"))
    assert e.value.status_code == 502
    assert "vllm" in e.value.message, e.value.message


def test_backend_429_is_429(openai_client):
    with pytest.raises(openai.RateLimitError):
        openai_client.chat.completions.create(model="mock/error-429", messages=user("x"))


def test_backend_503_is_503(openai_client):
    with pytest.raises(openai.APIStatusError) as e:
        openai_client.chat.completions.create(model="mock/error-503", messages=user("x"))
    assert e.value.status_code == 503


def test_backend_garbage_is_502(openai_client):
    with pytest.raises(openai.APIStatusError) as e:
        openai_client.chat.completions.create(model="mock/garbage", messages=user("x"))
    assert e.value.status_code == 502


def test_backend_embeddings_failure_is_502(openai_client):
    with pytest.raises(openai.APIStatusError) as e:
        openai_client.embeddings.create(model="mock/error-500", input="x")
    # Unregistered ids fall back to the provider as an LLM; either a type error (400) or the
    # backend failure (502) is acceptable, a 500 is not.
    assert e.value.status_code in (400, 502), e.value


def test_midstream_error_ends_with_an_error_event(openai_client, http):
    """A stream that fails after it started ends with one `data: {"error": {...}}` event."""
    req = {"model": "mock/midstream-error", "messages": user("x"), "stream": True}
    with http.stream("POST", "/v1/chat/completions", json=req) as r:
        assert r.status_code == 200
        events = [json.loads(line[len("data: "):]) for line in r.iter_lines() if line.startswith("data: ")]
    assert len(events) >= 2
    assert all("error" not in e for e in events[:-1])
    last = events[-1]
    assert isinstance(last.get("error"), dict) and last["error"].get("message"), last

    received = []
    with pytest.raises(openai.APIError):
        for ch in openai_client.chat.completions.create(model="mock/midstream-error", messages=user("x"), stream=True):
            received.append(ch)
    assert received, "chunks before the failure are delivered"


def test_empty_backend_stream_is_clean(openai_client):
    """A backend stream with no chunks at all: an empty stream or a clean error, never a hang."""
    try:
        chunks = list(openai_client.chat.completions.create(model="mock/empty-stream", messages=user("x"), stream=True, timeout=20))
    except openai.APIStatusError as e:
        assert 400 <= e.status_code < 600
    else:
        assert all(not ch.choices or not ch.choices[0].delta.content for ch in chunks)


def test_llama_stack_client_sees_detail(ls_client):
    import llama_stack_client

    with pytest.raises(llama_stack_client.NotFoundError) as e:
        ls_client.chat.completions.create(model="nope/nope", messages=user("x"))
    assert "nope/nope" in str(e.value)
