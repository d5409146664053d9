"""The RAG path end to end with the real `openai` SDK and `llama-stack-client`: upload files,
index them in a vector store with real in-process embeddings (`inline::sentence-transformers`,
all-MiniLM-L6-v2), search, and find everything again after a restart. Runs once per vector_io
provider (faiss, sqlite-vec) and storage flavour (SQLite, PostgreSQL)."""

from __future__ import annotations

import uuid

import openai
import pytest
from llama_stack_client import LlamaStackClient

from conftest import CLIENT_TIMEOUT_S

EMBEDDING_MODEL = "sentence-transformers/all-MiniLM-L6-v2"

DOCS = {
    "volcanoes.txt": (
        "Volcanoes form where magma from the Earth's mantle reaches the surface. "
        "Eruptions release lava, ash and gases such as sulfur dioxide."
    ),
    "baking.md": (
        "# Sourdough bread\n\nMix flour, water and a ripe starter. Let the dough rise overnight, "
        "shape the loaf and bake it in a very hot oven until the crust is dark brown."
    ),
    "football.html": (
        "<html><head><style>p {color: red}</style><script>var x = 1;</script></head>"
        "<body><h1>Football</h1><p>The goalkeeper dived and saved the penalty kick in the final minute of the match.</p></body></html>"
    ),
}


@pytest.fixture(params=["faiss", "sqlite-vec", "pgvector"])
def provider_id(request, storage) -> str:
    if request.param == "pgvector" and storage.name != "postgres":
        pytest.skip("remote::pgvector is configured in the postgres flavour (run-postgres.yaml), which runs it")
    return request.param


def oa_client(server) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0, timeout=120)


def upload_docs(client: openai.OpenAI) -> dict[str, str]:
    """Uploads DOCS; returns filename -> file id."""
    ids = {}
    for name, text in DOCS.items():
        f = client.files.create(file=(name, text.encode()), purpose="assistants")
        assert f.filename == name and f.bytes == len(text.encode())
        ids[name] = f.id
    return ids


def make_store(client: openai.OpenAI, provider_id: str, file_ids: list[str]):
    return client.vector_stores.create(
        name=f"docs-{uuid.uuid4().hex[:6]}",
        file_ids=file_ids,
        extra_body={"provider_id": provider_id, "embedding_model": EMBEDDING_MODEL},
    )


def top_file(client: openai.OpenAI, store_id: str, query: str, **kw) -> str:
    page = client.vector_stores.search(vector_store_id=store_id, query=query, **kw)
    assert page.data, f"no results for {query!r}"
    return page.data[0].file_id


def test_upload_index_search(stack, provider_id):
    client = oa_client(stack)
    ids = upload_docs(client)
    store = make_store(client, provider_id, list(ids.values()))
    assert store.file_counts.completed == 3 and store.file_counts.failed == 0
    assert store.metadata.get("provider_id") == provider_id

    # Real embeddings: each question finds its document without sharing its key words.
    assert top_file(client, store.id, "Which mountains erupt molten rock?") == ids["volcanoes.txt"]
    assert top_file(client, store.id, "How do I make bread at home?") == ids["baking.md"]
    assert top_file(client, store.id, "Who stopped the shot at the end of the game?") == ids["football.html"]

    page = client.vector_stores.search(vector_store_id=store.id, query="bread", max_num_results=1)
    assert len(page.data) == 1
    hit = page.data[0]
    assert hit.filename == "baking.md" and hit.content[0].type == "text" and "starter" in hit.content[0].text
    assert hit.attributes["document_id"] == ids["baking.md"]

    # HTML is indexed as readable text: no markup, no script.
    content = client.vector_stores.files.content(vector_store_id=store.id, file_id=ids["football.html"])
    # 0.3.5 answers {file_id, filename, attributes, content: [...]} here, not OpenAI's page.
    body = content.to_dict()
    text = " ".join(c["text"] for c in (body.get("data") or body.get("content") or []))
    assert "goalkeeper" in text and "<p>" not in text and "var x" not in text

    files = client.vector_stores.files.list(vector_store_id=store.id)
    assert {f.id for f in files.data} == set(ids.values())
    assert all(f.status == "completed" for f in files.data)

    # Removing a file removes its chunks from search.
    client.vector_stores.files.delete(vector_store_id=store.id, file_id=ids["volcanoes.txt"])
    page = client.vector_stores.search(vector_store_id=store.id, query="volcano lava eruption", max_num_results=10)
    assert ids["volcanoes.txt"] not in {d.file_id for d in page.data}
    assert client.vector_stores.retrieve(store.id).file_counts.total == 2

    assert client.vector_stores.delete(store.id).deleted
    # 0.3.5 answers an unknown store with a 400 naming it (upstream's tests depend on that).
    with pytest.raises(openai.BadRequestError, match=store.id):
        client.vector_stores.retrieve(store.id)


def test_attributes_filter_search(stack, provider_id):
    client = oa_client(stack)
    store = make_store(client, provider_id, [])
    for name, team in [("a.txt", "red"), ("b.txt", "blue")]:
        f = client.files.create(file=(name, f"The {team} team trains every morning at the stadium.".encode()), purpose="assistants")
        vf = client.vector_stores.files.create(vector_store_id=store.id, file_id=f.id, attributes={"team": team, "year": 2024})
        assert vf.status == "completed", vf.last_error
    page = client.vector_stores.search(
        vector_store_id=store.id,
        query="team training",
        filters={"type": "and", "filters": [{"type": "eq", "key": "team", "value": "blue"}, {"type": "gte", "key": "year", "value": 2020}]},
    )
    assert [d.filename for d in page.data] == ["b.txt"]
    assert page.data[0].attributes["team"] == "blue"


def test_bad_file_fails_alone(stack, provider_id):
    client = oa_client(stack)
    good = client.files.create(file=("good.txt", b"Penguins live in the southern hemisphere."), purpose="assistants")
    bad = client.files.create(file=("image.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR garbage"), purpose="assistants")
    store = make_store(client, provider_id, [])
    vf_bad = client.vector_stores.files.create(vector_store_id=store.id, file_id=bad.id)
    vf_good = client.vector_stores.files.create(vector_store_id=store.id, file_id=good.id)
    assert vf_bad.status == "failed" and vf_bad.last_error and vf_bad.last_error.message
    assert vf_good.status == "completed"
    counts = client.vector_stores.retrieve(store.id).file_counts
    assert (counts.completed, counts.failed, counts.total) == (1, 1, 2)
    assert top_file(client, store.id, "Where do penguins live?") == good.id


def test_keyword_and_hybrid_search(stack):
    """sqlite-vec answers keyword and hybrid searches."""
    client = oa_client(stack)
    ids = upload_docs(client)
    store = make_store(client, "sqlite-vec", list(ids.values()))
    assert top_file(client, store.id, "goalkeeper penalty", extra_body={"search_mode": "keyword"}) == ids["football.html"]
    assert top_file(client, store.id, "sourdough starter", extra_body={"search_mode": "hybrid"}) == ids["baking.md"]
    with pytest.raises(openai.BadRequestError):
        client.vector_stores.search(vector_store_id=store.id, query="x", extra_body={"search_mode": "fuzzy"})


def test_llama_stack_client_vector_io(stack, provider_id):
    """Native vector-io insert/query through llama-stack-client."""
    ls = LlamaStackClient(base_url=stack.url, max_retries=0, timeout=CLIENT_TIMEOUT_S)
    store = ls.vector_stores.create(name="native", extra_body={"provider_id": provider_id, "embedding_model": EMBEDDING_MODEL})
    ls.vector_io.insert(
        vector_db_id=store.id,
        chunks=[
            {"content": "The capital of France is Paris.", "metadata": {"document_id": "geo-1"}},
            {"content": "Photosynthesis turns light into chemical energy.", "metadata": {"document_id": "bio-1"}},
        ],
    )
    r = ls.vector_io.query(vector_db_id=store.id, query="What is France's capital city?", params={"max_chunks": 1})
    assert len(r.chunks) == 1 and r.chunks[0].metadata["document_id"] == "geo-1"
    assert len(r.scores) == 1


def test_index_survives_restart(storage, start_stack, provider_id):
    state = storage.new_state()
    first = start_stack(state)
    client = oa_client(first)
    ids = upload_docs(client)
    store = make_store(client, provider_id, list(ids.values()))
    before = client.vector_stores.search(vector_store_id=store.id, query="molten rock from the mantle")
    assert first.stop() == 0, f"graceful shutdown exits 0; log:\n{first.tail()}"

    second = start_stack(state)
    client = oa_client(second)
    assert client.vector_stores.retrieve(store.id).file_counts.completed == 3
    after = client.vector_stores.search(vector_store_id=store.id, query="molten rock from the mantle")
    assert [d.file_id for d in after.data] == [d.file_id for d in before.data]
    assert after.data[0].file_id == ids["volcanoes.txt"]
    assert client.files.content(ids["baking.md"]).read() == DOCS["baking.md"].encode()
