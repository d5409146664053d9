"""The HTTP surface over plain httpx: health, version, routes, providers, the OpenAPI document,
the deprecated `/v1/openai/v1` aliases, SSE framing and the client version check."""

from __future__ import annotations

import json

import openai


def test_health(http):
    r = http.get("/v1/health")
    assert r.status_code == 200
    assert r.json() == {"status": "OK"}


def test_version(http):
    r = http.get("/v1/version")
    assert r.status_code == 200
    body = r.json()
    assert isinstance(body.get("version"), str)
    assert body["version"].split(".")[:2] == ["0", "3"], body


def test_inspect_routes(http):
    r = http.get("/v1/inspect/routes")
    assert r.status_code == 200
    data = r.json()["data"]
    assert all({"route", "method", "provider_types"} <= set(d) for d in data)
    pairs = {(d["route"], d["method"]) for d in data}
    assert ("/v1/chat/completions", "POST") in pairs
    assert ("/v1/chat/completions", "GET") in pairs
    assert ("/v1/models", "GET") in pairs
    assert ("/v1/inspect/routes", "GET") in pairs
    assert len(pairs) == len(data), "one entry per (route, method)"


def test_providers_list_shape(http):
    r = http.get("/v1/providers")
    assert r.status_code == 200
    data = r.json()["data"]
    mock = next(p for p in data if p["provider_id"] == "mock")
    assert mock["api"] == "inference"
    assert mock["provider_type"] == "remote::openai"
    assert mock["config"]["api_key"] == "********"
    assert isinstance(mock["health"], dict)
    vllm = next(p for p in data if p["provider_id"] == "vllm")
    assert vllm["config"]["api_token"] == "********", vllm["config"]


def test_openapi_document(http):
    r = http.get("/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    assert str(doc.get("openapi", "")).startswith("3.")
    assert "/v1/chat/completions" in doc["paths"]
    assert "post" in doc["paths"]["/v1/chat/completions"]
    assert "/v1/models" in doc["paths"]


def test_openai_alias_models_list_shape(stack, http):
    body = http.get("/v1/openai/v1/models").json()
    assert body.get("object", "list") == "list"
    entry = next(m for m in body["data"] if m["id"] == "mock/mock-llm")
    assert entry["object"] == "model"
    assert isinstance(entry["created"], int)
    assert entry["owned_by"] == "llama_stack"

    client = openai.OpenAI(base_url=f"{stack.url}/v1/openai/v1", api_key="unused", max_retries=0, timeout=30)
    ids = {m.id for m in client.models.list()}
    assert {"mock/mock-llm", "mock/mock-embed", "vllm/mock-llm"} <= ids, sorted(ids)


def test_openai_alias_completions_and_embeddings(stack):
    client = openai.OpenAI(base_url=f"{stack.url}/v1/openai/v1", api_key="unused", max_retries=0, timeout=30)
    assert client.completions.create(model="mock/mock-llm", prompt="alias", max_tokens=5).choices[0].text
    assert len(client.embeddings.create(model="mock/mock-embed", input="alias").data[0].embedding) == 384


def test_sse_framing(http):
    """0.3.5 streams only `data: <json>` events, with no `event:` lines and no `[DONE]`."""
    req = {"model": "mock/mock-llm", "messages": [{"role": "user", "content": "sse framing"}], "stream": True}
    with http.stream("POST", "/v1/chat/completions", json=req) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in r.iter_lines()]
    events = [line for line in lines if line]
    assert events
    assert all(line.startswith("data: ") for line in events), events
    assert "data: [DONE]" not in events
    for line in events:
        json.loads(line[len("data: "):])


def test_client_version_check(http):
    ok = http.get("/v1/models", headers={"X-LlamaStack-Client-Version": "0.3.5"})
    assert ok.status_code == 200
    old = http.get("/v1/models", headers={"X-LlamaStack-Client-Version": "0.2.23"})
    assert old.status_code == 426, old.text


def test_concurrent_requests(stack):
    """A burst of concurrent chats all succeed (no store lock contention surfacing as errors)."""
    from concurrent.futures import ThreadPoolExecutor

    client = openai.OpenAI(base_url=f"{stack.url}/v1", api_key="unused", max_retries=0, timeout=30)

    def one(i: int) -> str:
        r = client.chat.completions.create(model="mock/mock-llm", messages=[{"role": "user", "content": f"burst {i}"}])
        return r.choices[0].message.content

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(one, range(64)))
    assert all(f"burst {i}" in a for i, a in enumerate(answers))
