"""The native Llama Stack surface through the real `llama_stack_client` 0.3.5 SDK: models
(native shape, register/get/unregister), inspect, providers, and inference via that SDK."""

from __future__ import annotations

import uuid

import llama_stack_client
import pytest


def by_id(models) -> dict:
    return {m.identifier: m for m in models}


def test_models_list_native_shape(ls_client, http):
    models = by_id(ls_client.models.list())
    llm = models.get("mock/mock-llm")
    assert llm is not None, sorted(models)
    assert llm.provider_id == "mock"
    assert llm.provider_resource_id == "mock-llm"
    assert llm.api_model_type == "llm"
    assert llm.type == "model"

    embed = models.get("mock/mock-embed")
    assert embed is not None, sorted(models)
    assert embed.api_model_type == "embedding"
    assert embed.provider_id == "mock"
    assert embed.metadata.get("embedding_dimension") == 384

    vllm = models.get("vllm/mock-llm")
    assert vllm is not None and vllm.provider_id == "vllm", sorted(models)

    # The wire shape: 0.3.5's {"data": [Model]} with OpenAI's list fields beside it (so the
    # openai SDK reads the same answer; test_client_defaults.py).
    body = http.get("/v1/models").json()
    assert set(body) == {"data", "object"}, body.keys()
    raw = next(m for m in body["data"] if m["identifier"] == "mock/mock-llm")
    assert {"identifier", "provider_resource_id", "provider_id", "type", "metadata", "model_type"} <= set(raw), raw
    assert (raw["id"], raw["object"], raw["owned_by"]) == ("mock/mock-llm", "model", "llama_stack"), raw


def test_model_register_get_unregister(ls_client, openai_client):
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    m = ls_client.models.register(model_id=name, provider_id="mock", model_type="llm", metadata={"owner": "e2e"})
    ident = f"mock/{name}"
    assert m.identifier == ident
    assert m.provider_id == "mock"
    assert m.provider_resource_id == name
    assert m.api_model_type == "llm"

    got = ls_client.models.retrieve(ident)
    assert got.identifier == ident
    assert got.metadata.get("owner") == "e2e"
    assert ident in by_id(ls_client.models.list())

    # The registered model serves inference.
    r = openai_client.chat.completions.create(model=ident, messages=[{"role": "user", "content": "registered?"}])
    assert r.model == ident and r.choices[0].message.content

    ls_client.models.unregister(ident)
    with pytest.raises(llama_stack_client.NotFoundError):
        ls_client.models.retrieve(ident)
    assert ident not in by_id(ls_client.models.list())


def test_model_register_with_provider_model_id(ls_client):
    name = f"alias-{uuid.uuid4().hex[:8]}"
    m = ls_client.models.register(model_id=name, provider_id="vllm", provider_model_id="mock-llm-variant", model_type="llm")
    try:
        # 0.3.5: the identifier is provider_id/(provider_model_id or model_id).
        assert m.identifier == "vllm/mock-llm-variant"
        assert m.provider_resource_id == "mock-llm-variant"
    finally:
        ls_client.models.unregister(m.identifier)


def test_model_register_embedding_needs_dimension(ls_client):
    with pytest.raises(llama_stack_client.BadRequestError):
        ls_client.models.register(model_id=f"emb-{uuid.uuid4().hex[:6]}", provider_id="mock", model_type="embedding")


def test_model_register_unknown_provider(ls_client):
    with pytest.raises(llama_stack_client.APIStatusError) as e:
        ls_client.models.register(model_id="x", provider_id="no-such-provider", model_type="llm")
    assert 400 <= e.value.status_code < 500


def test_model_retrieve_missing(ls_client):
    with pytest.raises(llama_stack_client.NotFoundError) as e:
        ls_client.models.retrieve("nope/nope")
    assert "nope/nope" in str(e.value)


def test_unregister_missing_model(ls_client):
    with pytest.raises(llama_stack_client.NotFoundError):
        ls_client.models.unregister("nope/never-registered")


def test_health_and_version(ls_client):
    assert ls_client.inspect.health().status == "OK"
    v = ls_client.inspect.version().version
    assert v.split(".")[:2] == ["0", "3"], v


def test_routes(ls_client):
    routes = ls_client.routes.list()
    pairs = {(r.route, r.method) for r in routes}
    for expected in [
        ("/v1/chat/completions", "POST"),
        ("/v1/completions", "POST"),
        ("/v1/embeddings", "POST"),
        ("/v1/models", "GET"),
        ("/v1/health", "GET"),
    ]:
        assert expected in pairs, sorted(pairs)
    chat = next(r for r in routes if (r.route, r.method) == ("/v1/chat/completions", "POST"))
    # Every inference provider is listed on every inference route, as 0.3.5 does.
    assert set(chat.provider_types) == {"remote::openai", "remote::vllm", "inline::sentence-transformers", "inline::llama-cpp"}, chat.provider_types


def test_providers(ls_client):
    providers = {p.provider_id: p for p in ls_client.providers.list()}
    assert {"mock", "vllm"} <= set(providers), sorted(providers)
    mock = providers["mock"]
    assert mock.api == "inference"
    assert mock.provider_type == "remote::openai"
    assert mock.config["api_key"] == "********", mock.config
    assert mock.config["base_url"].startswith("http://127.0.0.1:")
    assert providers["vllm"].provider_type == "remote::vllm"
    one = ls_client.providers.retrieve("mock")
    assert one.provider_id == "mock" and one.config["api_key"] == "********"


def test_providers_never_show_secrets(http):
    for path in ("/v1/providers", "/v1/providers/mock", "/v1/providers/vllm"):
        text = http.get(path).text
        assert "mock-key" not in text and "mock-vllm-token" not in text, (path, text)


def test_provider_missing(ls_client):
    with pytest.raises(llama_stack_client.APIStatusError) as e:
        ls_client.providers.retrieve("nope")
    assert e.value.status_code in (400, 404)


def test_chat_via_llama_stack_client(ls_client):
    r = ls_client.chat.completions.create(model="mock/mock-llm", messages=[{"role": "user", "content": "native sdk"}])
    assert r.choices[0].message.content and "native sdk" in r.choices[0].message.content

    chunks = list(
        ls_client.chat.completions.create(
            model="mock/mock-llm", messages=[{"role": "user", "content": "native sdk"}], stream=True
        )
    )
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert text == r.choices[0].message.content


def test_completion_via_llama_stack_client(ls_client):
    r = ls_client.completions.create(model="mock/mock-llm", prompt="native", max_tokens=20)
    assert r.choices[0].text


def test_embeddings_via_llama_stack_client(ls_client):
    r = ls_client.embeddings.create(model="mock/mock-embed", input=["a", "b"])
    assert len(r.data) == 2 and all(len(d.embedding) == 384 for d in r.data)


def test_stored_chat_via_llama_stack_client(ls_client):
    from conftest import eventually

    r = ls_client.chat.completions.create(model="mock/mock-llm", messages=[{"role": "user", "content": "store me natively"}])
    got = eventually(lambda: ls_client.chat.completions.retrieve(r.id))
    assert got.id == r.id
    assert got.input_messages[0].content == "store me natively"
    listed = ls_client.chat.completions.list(limit=100)
    assert r.id in {c.id for c in listed.data}
