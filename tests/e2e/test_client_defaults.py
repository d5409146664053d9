"""Popular clients with their defaults against the real server and the real in-process
embedding model (`inline::sentence-transformers`, all-MiniLM-L6-v2):

- LangChain's `OpenAIEmbeddings` sends cl100k_base token arrays by default
  (`check_embedding_ctx_length=True`); the server decodes them and the model tokenizes the text
  itself, so the vectors are the text's own. Remote providers get the token arrays unchanged.
- Haystack's `OpenAITextEmbedder` / `OpenAIDocumentEmbedder` (text input).
- LlamaIndex's `OpenAIEmbedding` (text input, newlines replaced by spaces, the openai SDK's
  base64 encoding; the model in `model_name=`, since `model=` takes OpenAI's names only), sync
  and async, with nothing fetched from the internet (its NLTK and tiktoken data ship with it).
- `GET /v1/models` items carry OpenAI's `id`/`object`/`created`/`owned_by` beside 0.3.5's fields,
  and a vector store file's content carries OpenAI's page fields beside 0.3.5's: the `openai`
  SDK and `llama-stack-client` both read them."""

from __future__ import annotations

import asyncio
import glob
import hashlib
import ipaddress
import json
import math
import os
import socket
import uuid
from pathlib import Path

import httpx
import openai
import pytest

from conftest import CLIENT_TIMEOUT_S

ST_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
MOCK_EMBED = "mock/mock-embed"

DOCS = [
    "Volcanoes form where magma from the Earth's mantle reaches the surface.",
    "Mix flour, water and a ripe starter, let the dough rise overnight and bake the loaf.",
    "The goalkeeper dived and saved the penalty kick in the final minute of the match.",
]

# tiktoken's cache key for cl100k_base: the sha1 of the URL it downloads the ranks from, and
# the sha256 it checks them against.
CL100K_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
CL100K_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


@pytest.fixture(scope="session")
def tiktoken_cache(tmp_path_factory) -> Path:
    """Python tiktoken downloads cl100k_base's ranks from openaipublic.blob.core.windows.net on
    first use, which this machine cannot reach. The same file (same sha256) ships inside the
    tiktoken-rs crate the server is built with: seed tiktoken's cache with it."""
    cargo_home = os.environ.get("CARGO_HOME", str(Path.home() / ".cargo"))
    found = sorted(glob.glob(f"{cargo_home}/registry/src/*/tiktoken-rs-*/assets/cl100k_base.tiktoken"))
    assert found, f"cl100k_base.tiktoken not found under {cargo_home}/registry/src (build the server first)"
    data = Path(found[-1]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == CL100K_SHA256, found[-1]
    cache = tmp_path_factory.mktemp("tiktoken-cache")
    (cache / hashlib.sha1(CL100K_URL.encode()).hexdigest()).write_bytes(data)
    return cache


@pytest.fixture
def sent_inputs(monkeypatch, tiktoken_cache):
    """An httpx client recording the `input` of every embeddings request, for a client built on
    the openai SDK (the transport is the only thing changed)."""
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tiktoken_cache))
    inputs: list = []

    def record(request: httpx.Request) -> None:
        if request.url.path.endswith("/embeddings"):
            inputs.append(json.loads(request.content)["input"])

    return inputs, record


def text_vectors(openai_client, texts: list[str], model: str = ST_MODEL) -> list[list[float]]:
    r = openai_client.embeddings.create(model=model, input=texts, encoding_format="float")
    return [d.embedding for d in sorted(r.data, key=lambda d: d.index)]


# --------------------------------------------------------------------------- LangChain


def test_langchain_openai_embeddings_defaults_send_tokens_and_get_the_texts_vectors(stack, openai_client, sent_inputs):
    from langchain_openai import OpenAIEmbeddings

    inputs, record = sent_inputs
    embedder = OpenAIEmbeddings(
        model=ST_MODEL,
        base_url=f"{stack.url}/v1",
        api_key="unused",
        max_retries=0,
        http_client=httpx.Client(event_hooks={"request": [record]}, timeout=CLIENT_TIMEOUT_S),
    )
    assert embedder.check_embedding_ctx_length and embedder.tiktoken_enabled, "LangChain's defaults changed"

    docs = embedder.embed_documents(DOCS)
    query = embedder.embed_query("Who stopped the shot at the end of the game?")

    # What went over the wire: token arrays, not text.
    assert len(inputs) == 2, inputs
    assert all(isinstance(lst, list) and lst and all(isinstance(t, int) for t in lst) for batch in inputs for lst in batch), inputs
    assert len(inputs[0]) == len(DOCS)

    # The vectors are the texts' own (what the model gives for the text itself).
    want = text_vectors(openai_client, DOCS)
    assert [len(v) for v in docs] == [384] * 3
    for got, expected in zip(docs, want):
        assert cosine(got, expected) > 0.9999
    ranked = sorted(range(3), key=lambda i: -cosine(query, docs[i]))
    assert ranked[0] == 2, ranked


def test_langchain_splits_a_long_text_into_token_windows_the_server_reads(stack, openai_client, sent_inputs):
    """Past `embedding_ctx_length` tokens LangChain sends the text as several windows (cut
    anywhere, even inside a multi-byte character) and averages their vectors."""
    from langchain_openai import OpenAIEmbeddings

    inputs, record = sent_inputs
    embedder = OpenAIEmbeddings(
        model=ST_MODEL,
        base_url=f"{stack.url}/v1",
        api_key="unused",
        max_retries=0,
        embedding_ctx_length=50,
        http_client=httpx.Client(event_hooks={"request": [record]}, timeout=CLIENT_TIMEOUT_S),
    )
    text = " ".join(["Lava flows 🌋 down the volcano's slopes after the eruption."] * 20)
    [vector] = embedder.embed_documents([text])
    windows = inputs[0]
    assert len(windows) > 3 and all(len(w) <= 50 for w in windows), [len(w) for w in windows]
    assert len(vector) == 384 and abs(sum(x * x for x in vector) - 1.0) < 1e-3
    volcano, bread = text_vectors(openai_client, ["volcano eruption and lava", "baking bread"])
    assert cosine(vector, volcano) > cosine(vector, bread)


def test_langchain_async_embeddings_send_tokens_too(stack, openai_client, sent_inputs):
    from langchain_openai import OpenAIEmbeddings

    inputs, record = sent_inputs

    async def arecord(request: httpx.Request) -> None:
        record(request)

    embedder = OpenAIEmbeddings(
        model=ST_MODEL,
        base_url=f"{stack.url}/v1",
        api_key="unused",
        max_retries=0,
        http_async_client=httpx.AsyncClient(event_hooks={"request": [arecord]}, timeout=CLIENT_TIMEOUT_S),
    )
    docs = asyncio.run(embedder.aembed_documents(DOCS[:2]))
    assert all(isinstance(lst[0], int) for lst in inputs[0]), inputs
    for got, expected in zip(docs, text_vectors(openai_client, DOCS[:2])):
        assert cosine(got, expected) > 0.9999


# --------------------------------------------------------------------------- token arrays


def test_token_ids_outside_cl100k_are_a_400_in_openai_shape(openai_client):
    with pytest.raises(openai.BadRequestError) as e:
        openai_client.embeddings.create(model=ST_MODEL, input=[[15339, 1917], [15339, 999999]])
    assert e.value.status_code == 400
    body = e.value.body
    assert body["param"] == "input" and body["type"] == "invalid_request_error", body
    assert "'input[1][1]' is 999999" in body["message"] and "cl100k_base" in body["message"], body
    with pytest.raises(openai.BadRequestError):
        openai_client.embeddings.create(model=ST_MODEL, input=[-1])


def test_one_token_list_is_one_input(openai_client):
    r = openai_client.embeddings.create(model=ST_MODEL, input=[15339, 1917], encoding_format="float")
    assert len(r.data) == 1
    [want] = text_vectors(openai_client, ["hello world"])
    assert cosine(r.data[0].embedding, want) > 0.9999
    # The model's own tokens are counted: [CLS] hello world [SEP].
    assert r.usage.prompt_tokens == 4


def test_remote_providers_get_token_arrays_unchanged(openai_client, mock_backend):
    """remote::openai passes the ids through: the answer is the backend's own for those ids.
    (remote::vllm sends through the same lls-openai-compat client; it lists every model as an
    llm, as 0.3.5 does, so it has no embedding model here.)"""
    model = MOCK_EMBED
    tokens = [[15339, 1917], [791, 6437, 20474]]
    through = openai_client.embeddings.create(model=model, input=tokens, encoding_format="float")
    direct_client = openai.OpenAI(base_url=mock_backend.url, api_key="unused", max_retries=0, timeout=CLIENT_TIMEOUT_S)
    direct = direct_client.embeddings.create(model="mock-embed", input=tokens, encoding_format="float")
    assert [d.embedding for d in through.data] == [d.embedding for d in direct.data]
    # ... and not the vectors of the decoded text, which the mock embeds differently.
    as_text = text_vectors(openai_client, ["hello world"], model=model)
    assert through.data[0].embedding != as_text[0]
    one = openai_client.embeddings.create(model=model, input=tokens[0], encoding_format="float")
    assert one.data[0].embedding == direct.data[0].embedding


# --------------------------------------------------------------------------- Haystack


@pytest.fixture
def haystack_env(monkeypatch):
    # Haystack sends usage telemetry to PostHog unless told not to.
    monkeypatch.setenv("HAYSTACK_TELEMETRY_ENABLED", "False")


def test_haystack_openai_embedders_with_their_defaults(stack, openai_client, haystack_env):
    from haystack import Document
    from haystack.components.embedders import OpenAIDocumentEmbedder, OpenAITextEmbedder
    from haystack.utils import Secret

    key = Secret.from_token("unused")
    text = OpenAITextEmbedder(api_key=key, model=ST_MODEL, api_base_url=f"{stack.url}/v1").run(text=DOCS[0])
    assert text["meta"]["model"] == ST_MODEL
    [want0, want1, want2] = text_vectors(openai_client, DOCS)
    assert cosine(text["embedding"], want0) > 0.9999

    documents = [Document(content=d) for d in DOCS[1:]]
    out = OpenAIDocumentEmbedder(api_key=key, model=ST_MODEL, api_base_url=f"{stack.url}/v1").run(documents=documents)
    embedded = out["documents"]
    assert [d.content for d in embedded] == DOCS[1:]
    assert cosine(embedded[0].embedding, want1) > 0.9999 and cosine(embedded[1].embedding, want2) > 0.9999
    assert out["meta"]["usage"]["prompt_tokens"] > 0


# --------------------------------------------------------------------------- LlamaIndex


@pytest.fixture
def llama_index_offline(monkeypatch, tmp_path, tiktoken_cache):
    """LlamaIndex with nothing to fetch: its cache in a temp dir, tiktoken's cl100k_base from the
    seeded cache, NLTK's data from the copy llama-index-core ships (NLTK_DATA unset), and every
    connection to an address off this machine refused (and recorded), so a download attempt
    fails the test instead of hanging or skipping. Returns (request bodies, the recorder, the
    connections it refused)."""
    monkeypatch.setenv("LLAMA_INDEX_CACHE_DIR", str(tmp_path / "llama-index-cache"))
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tiktoken_cache))
    monkeypatch.delenv("NLTK_DATA", raising=False)
    refused: list = []
    connect = socket.socket.connect

    def is_local(host: str) -> bool:
        try:
            return ipaddress.ip_address(host.split("%")[0]).is_loopback
        except ValueError:
            return host == "localhost"

    def local_only(sock, address):
        if isinstance(address, tuple) and not is_local(str(address[0])):
            refused.append(address)
            raise OSError(f"test_client_defaults: LlamaIndex tried to reach {address} (off this machine)")
        return connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", local_only)
    bodies: list = []

    def record(request: httpx.Request) -> None:
        if request.url.path.endswith("/embeddings"):
            bodies.append(json.loads(request.content))

    return bodies, record, refused


def test_llama_index_openai_embedding_defaults_send_text_and_get_the_texts_vectors(stack, openai_client, llama_index_offline):
    from llama_index.embeddings.openai import OpenAIEmbedding

    bodies, record, refused = llama_index_offline
    # `model=` takes OpenAI's own model names only; any other name goes in `model_name=`.
    with pytest.raises(ValueError, match="is not a valid OpenAIEmbeddingModelType"):
        OpenAIEmbedding(model=ST_MODEL, api_base=f"{stack.url}/v1", api_key="unused")
    embedder = OpenAIEmbedding(
        model_name=ST_MODEL,
        api_base=f"{stack.url}/v1",
        api_key="unused",
        http_client=httpx.Client(event_hooks={"request": [record]}, timeout=CLIENT_TIMEOUT_S),
    )
    assert (embedder.model_name, embedder.embed_batch_size, embedder.dimensions, embedder.additional_kwargs) == (
        ST_MODEL, 100, None, {},
    ), "LlamaIndex's defaults changed"

    one = embedder.get_text_embedding(DOCS[0])
    query = embedder.get_query_embedding("Who stopped the shot at the end of the game?")
    batch = embedder.get_text_embedding_batch(DOCS)
    newline = embedder.get_text_embedding("Magma rises\nthrough the crust.")

    # What went over the wire: text (newlines turned into spaces), the model in `model_name`, and
    # the openai SDK's default base64 encoding; one request per call (3 texts < embed_batch_size).
    assert [b["input"] for b in bodies] == [
        [DOCS[0]], ["Who stopped the shot at the end of the game?"], DOCS, ["Magma rises through the crust."],
    ], bodies
    assert all(b["model"] == ST_MODEL and b["encoding_format"] == "base64" for b in bodies), bodies
    assert all(set(b) == {"input", "model", "encoding_format"} for b in bodies), bodies

    # The vectors are the ones the openai SDK gets for the same texts.
    want = text_vectors(openai_client, [*DOCS, "Magma rises through the crust."])
    assert [len(v) for v in batch] == [384] * 3
    for got, expected in zip([*batch, newline], want):
        assert cosine(got, expected) > 0.9999
    assert cosine(one, want[0]) > 0.9999
    ranked = sorted(range(3), key=lambda i: -cosine(query, batch[i]))
    assert ranked[0] == 2, ranked
    assert refused == []


def test_llama_index_async_embeddings_with_their_defaults(stack, openai_client, llama_index_offline):
    from llama_index.embeddings.openai import OpenAIEmbedding

    bodies, record, refused = llama_index_offline

    async def arecord(request: httpx.Request) -> None:
        record(request)

    embedder = OpenAIEmbedding(
        model_name=ST_MODEL,
        api_base=f"{stack.url}/v1",
        api_key="unused",
        async_http_client=httpx.AsyncClient(event_hooks={"request": [arecord]}, timeout=CLIENT_TIMEOUT_S),
    )

    async def embed():
        return (
            await embedder.aget_text_embedding(DOCS[0]),
            await embedder.aget_query_embedding("Who stopped the shot at the end of the game?"),
            await embedder.aget_text_embedding_batch(DOCS),
        )

    one, query, batch = asyncio.run(embed())
    assert [b["input"] for b in bodies] == [[DOCS[0]], ["Who stopped the shot at the end of the game?"], DOCS], bodies
    assert all(b["model"] == ST_MODEL for b in bodies), bodies
    want = text_vectors(openai_client, DOCS)
    assert cosine(one, want[0]) > 0.9999
    for got, expected in zip(batch, want):
        assert cosine(got, expected) > 0.9999
    [want_query] = text_vectors(openai_client, ["Who stopped the shot at the end of the game?"])
    assert cosine(query, want_query) > 0.9999
    assert refused == []


# --------------------------------------------------------------------------- models


def test_openai_sdk_lists_and_retrieves_models_with_real_ids(openai_client, ls_client):
    listed = {m.id: m for m in openai_client.models.list()}
    assert None not in listed
    assert {ST_MODEL, MOCK_EMBED, "mock/mock-llm"} <= set(listed), sorted(listed)
    st = listed[ST_MODEL]
    assert (st.object, st.owned_by) == ("model", "llama_stack") and st.created > 1_700_000_000
    # 0.3.5's fields ride along (the SDK keeps unknown fields).
    assert (st.model_type, st.provider_id, st.metadata["embedding_dimension"]) == ("embedding", "sentence-transformers", 384)

    one = openai_client.models.retrieve(ST_MODEL)
    assert (one.id, one.object, one.owned_by) == (ST_MODEL, "model", "llama_stack")

    # llama-stack-client reads the same answers as 0.3.5's models.
    models = {m.identifier: m for m in ls_client.models.list()}
    assert set(models) == set(listed)
    assert (models[ST_MODEL].api_model_type, models[ST_MODEL].provider_resource_id) == ("embedding", "all-MiniLM-L6-v2")
    got = ls_client.models.retrieve(ST_MODEL)
    assert (got.identifier, got.provider_id, got.type) == (ST_MODEL, "sentence-transformers", "model")


# --------------------------------------------------------------------------- vector store file content


def test_vector_store_file_content_reads_in_both_sdks(openai_client, ls_client):
    text = "The lighthouse keeper lit the lamp at dusk so that ships could pass the rocks safely."
    f = openai_client.files.create(file=("lighthouse.txt", text.encode()), purpose="assistants")
    store = openai_client.vector_stores.create(
        name=f"content-{uuid.uuid4().hex[:6]}",
        file_ids=[f.id],
        extra_body={"provider_id": "faiss", "embedding_model": ST_MODEL},
    )
    assert store.file_counts.completed == 1, store.file_counts

    page = openai_client.vector_stores.files.content(f.id, vector_store_id=store.id)
    items = list(page)
    assert items and all(i.type == "text" for i in items), items
    assert "".join(i.text for i in items) == text
    assert page.has_next_page() is False

    contents = ls_client.vector_stores.files.content(f.id, vector_store_id=store.id)
    assert (contents.file_id, contents.filename) == (f.id, "lighthouse.txt")
    assert "".join(c.text for c in contents.content) == text
